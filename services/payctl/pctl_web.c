/* pctl_web: see pctl_web.h. */
#include "pctl_web.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "web_allow.h"
#include "web_keystore.h"

/* <data-dir>/web: --data-dir, else PAY_DATA_DIR, else "data". */
static void s_store_dir(const pctl_opt_t *opts, char out[PCTL_PATH_LEN])
{
    const char *d = pctl_opt(opts, "data-dir");
    if (!d || !*d)
        d = getenv("PAY_DATA_DIR");
    if (!d || !*d)
        d = "data";
    snprintf(out, PCTL_PATH_LEN, "%s/web", d);
}

/* The first line of `path` into pw. Returns 0 or -1 (printed). */
static int s_password_file(const pctl_ctx_t *ctx, const char *path, char *pw, size_t len)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        pctl_fail(ctx, "cannot read the password file %s: %s", path, strerror(errno));
        return -1;
    }
    int ok = fgets(pw, (int)len, f) != NULL;
    fclose(f);
    if (!ok) {
        pctl_fail(ctx, "the password file %s is empty", path);
        return -1;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    return 0;
}

/* Asks on the terminal without echo. Returns 0 or -1. */
static int s_prompt(const char *what, char *pw, size_t len)
{
    FILE *tty = fopen("/dev/tty", "r+e");
    if (!tty)
        return -1;
    struct termios old, quiet;
    int fd = fileno(tty), restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    fprintf(tty, "%s", what);
    fflush(tty);
    int ok = fgets(pw, (int)len, tty) != NULL;
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    fprintf(tty, "\n");
    fclose(tty);
    if (ok)
        pw[strcspn(pw, "\r\n")] = '\0';
    return ok ? 0 : -1;
}

int pctl_web_user_add(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"key", "FILE", "the login's key pair (.key, from 'payctl keys new')", NULL},
        {"password-file", "FILE", "read the password from the first line of FILE", NULL},
        {"data-dir", "DIR", "pay-web's data folder (default $PAY_DATA_DIR or data)", NULL},
        {"replace", NULL, "replace an existing login of that name", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    const char *name = pos[0], *keyfile = pctl_opt(opts, "key");
    if (!web_login_name_ok(name))
        return pctl_usage_error(ctx, "NAME: 1 to 63 of a-z A-Z 0-9 . _ -, starting with a "
                                     "letter or digit");
    if (!keyfile || !*keyfile)
        return pctl_usage_error(ctx, "--key FILE is required");
    auth_keypair_t kp;
    if (auth_keypair_load(keyfile, &kp) != 0)
        return pctl_fail(ctx, "cannot read the key file %s", keyfile);
    if (!kp.secret_z85[0])
        return pctl_fail(ctx, "%s holds no secret key (a .pub file?); give the .key file",
                         keyfile);
    char pw[WEB_PASSWORD_MAX + 2] = "", again[WEB_PASSWORD_MAX + 2] = "";
    int code = PCTL_EXIT_FAIL;
    web_keystore_t *ks = NULL;
    if (pctl_opt(opts, "password-file")) {
        if (s_password_file(ctx, pctl_opt(opts, "password-file"), pw, sizeof pw) != 0)
            goto done;
    } else {
        if (s_prompt("Password for the web login: ", pw, sizeof pw) != 0 ||
            s_prompt("Again: ", again, sizeof again) != 0) {
            pctl_fail(ctx, "no terminal to ask for the password; give --password-file");
            goto done;
        }
        if (strcmp(pw, again) != 0) {
            pctl_fail(ctx, "the two passwords differ");
            goto done;
        }
    }
    size_t plen = strlen(pw);
    if (plen < WEB_PASSWORD_MIN || plen > WEB_PASSWORD_MAX) {
        pctl_fail(ctx, "the password must be %d to %d characters", WEB_PASSWORD_MIN,
                  WEB_PASSWORD_MAX);
        goto done;
    }
    char dir[PCTL_PATH_LEN], err[AUTH_ERR_LEN];
    s_store_dir(opts, dir);
    if (!(ks = web_keystore_open(dir))) {
        pctl_fail(ctx, "cannot open pay-web's store %s", dir);
        goto done;
    }
    int put = web_keystore_put(ks, name, &kp, pw, NULL, pctl_opt(opts, "replace") != NULL, err);
    if (put == 1) {
        pctl_fail(ctx, "the web login %s exists already; give --replace to replace it", name);
        goto done;
    }
    if (put != 0) {
        pctl_fail(ctx, "%s", err);
        goto done;
    }
    /* Say what the services will make of the key. */
    char allow[PCTL_PATH_LEN + 16];
    snprintf(allow, sizeof allow, "%s/allow.txt", ctx->cfg.keys_dir.value);
    auth_identity_t who;
    int found = web_allow_lookup(allow, kp.public_z85, &who, err);
    if (found == 0)
        fprintf(stderr, "payctl: %s: web login %s added to %s (key %s: %s%s%s)\n", ctx->path,
                name, dir, who.name, auth_role_name(who.role), who.scope[0] ? " " : "",
                who.scope);
    else
        fprintf(stderr, "payctl: %s: web login %s added to %s; note: its key is not on %s yet "
                "(grant it with 'payctl keys grant' before it can log in)\n",
                ctx->path, name, dir, allow);
    code = PCTL_EXIT_OK;
done:
    sodium_memzero(pw, sizeof pw);
    sodium_memzero(again, sizeof again);
    sodium_memzero(&kp, sizeof kp);
    web_keystore_destroy(&ks);
    return code;
}

int pctl_web_user_remove(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"data-dir", "DIR", "pay-web's data folder (default $PAY_DATA_DIR or data)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    char dir[PCTL_PATH_LEN];
    s_store_dir(opts, dir);
    web_keystore_t *ks = web_keystore_open(dir);
    if (!ks)
        return pctl_fail(ctx, "cannot open pay-web's store %s", dir);
    int r = web_keystore_remove(ks, pos[0]);
    web_keystore_destroy(&ks);
    if (r < 0)
        return pctl_fail(ctx, "cannot write pay-web's store %s", dir);
    if (r > 0)
        return pctl_fail(ctx, "there is no web login %s", pos[0]);
    fprintf(stderr, "payctl: %s: web login %s removed (its open sessions end at their next "
            "page or idle timeout; revoke its key with 'payctl keys revoke' to stop them at "
            "once)\n", ctx->path, pos[0]);
    return PCTL_EXIT_OK;
}

typedef struct {
    out_table_t *t;
    int ok;
} s_list_t;

static void s_row(const char *name, const char *pub, int64_t at, void *arg)
{
    s_list_t *l = arg;
    char when[32] = "";
    time_t t = (time_t)at;
    struct tm tm;
    if (at > 0 && gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *row[] = {name, pub, when};
    l->ok = l->ok && out_table_add_row(l->t, row) == 0;
}

int pctl_web_user_list(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"data-dir", "DIR", "pay-web's data folder (default $PAY_DATA_DIR or data)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    char dir[PCTL_PATH_LEN];
    s_store_dir(opts, dir);
    static const char *const cols[] = {"login", "public_key", "created"};
    s_list_t l = {out_table_new(cols, 3), 1};
    web_keystore_t *ks = l.t ? web_keystore_open(dir) : NULL;
    int code = PCTL_EXIT_FAIL;
    if (!ks) {
        pctl_fail(ctx, "cannot open pay-web's store %s", dir);
    } else if (web_keystore_each(ks, s_row, &l) != 0 || !l.ok ||
               out_table_write(l.t, ctx->format, stdout) != 0) {
        pctl_fail(ctx, "cannot list %s", dir);
    } else {
        code = PCTL_EXIT_OK;
    }
    web_keystore_destroy(&ks);
    out_table_destroy(&l.t);
    return code;
}
