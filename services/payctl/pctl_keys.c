/* pctl_keys: see pctl_keys.h. */
#include "pctl_keys.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "auth.h"
#include "rows.h"

int pctl_keys_check_grant(const char *role_name, const char *scope, const char *name, char *why,
                          size_t whylen)
{
    auth_role_t role;
    if (!role_name || auth_role_parse(role_name, &role) != 0) {
        snprintf(why, whylen,
                 "unknown role \"%.40s\": one of instructor, governor, industries, finance, "
                 "employer, service",
                 role_name ? role_name : "");
        return -1;
    }
    if (!scope) {
        snprintf(why, whylen, "--scope is required (\"-\" for none)");
        return -1;
    }
    switch (role) {
    case ROLE_INSTRUCTOR:
    case ROLE_GOVERNOR:
        if (!ident_is_prison(scope)) {
            snprintf(why, whylen, "a %s's scope is a prison code like MDI, not \"%.40s\"",
                     role_name, scope);
            return -1;
        }
        break;
    case ROLE_EMPLOYER:
        if (!ident_is_employer(scope)) {
            snprintf(why, whylen, "an employer's scope is an employer id like dhl, not \"%.40s\"",
                     scope);
            return -1;
        }
        break;
    case ROLE_INDUSTRIES:
    case ROLE_FINANCE:
    case ROLE_SERVICE:
    case ROLE_NONE:
        if (strcmp(scope, "-") != 0) {
            snprintf(why, whylen, "role %s works across every prison: its scope is \"-\", not "
                     "\"%.40s\"", role_name, scope);
            return -1;
        }
        break;
    }
    size_t len = name ? strlen(name) : 0;
    if (len < 1 || len >= AUTH_NAME_LEN) {
        snprintf(why, whylen, "--name must be 1 to %d characters", AUTH_NAME_LEN - 1);
        return -1;
    }
    for (const char *p = name; *p; p++)
        if (*p == ':' || *p == '#' || isspace((unsigned char)*p) || !isprint((unsigned char)*p)) {
            snprintf(why, whylen, "--name \"%.64s\" may not hold blanks, control characters, "
                     "'#' or ':'", name);
            return -1;
        }
    return 0;
}

/* A key name is a file name in the keys folder: no '/', not hidden. */
static int s_valid_key_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 64 || s[0] == '.' || s[0] == '-')
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

int pctl_keys_new(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"dir", "DIR", "folder for the key files (default: the keys folder)", NULL},
        {"force", NULL, "overwrite an existing key pair", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    const char *name = pos[0];
    const char *dir = pctl_opt(opts, "dir");
    if (!dir)
        dir = ctx->cfg.keys_dir.value;
    if (!s_valid_key_name(name))
        return pctl_usage_error(ctx, "key name \"%s\" must be 1 to 64 letters, digits, '-', '_' "
                                "or '.', not starting with '.' or '-'", name);

    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || mkdir(dir, 0700) != 0)
            return pctl_fail(ctx, "cannot create folder %s: %s", dir, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        return pctl_fail(ctx, "%s is not a folder", dir);
    }

    char base[PCTL_PATH_LEN], keyfile[PCTL_PATH_LEN + 8], pubfile[PCTL_PATH_LEN + 8];
    if ((size_t)snprintf(base, sizeof base, "%s/%s", dir, name) >= sizeof base)
        return pctl_fail(ctx, "path too long");
    snprintf(keyfile, sizeof keyfile, "%s.key", base);
    snprintf(pubfile, sizeof pubfile, "%s.pub", base);
    if (!pctl_opt(opts, "force") && access(keyfile, F_OK) == 0)
        return pctl_fail(ctx, "%s exists; not overwriting a key (use --force to replace it)",
                         keyfile);

    auth_keypair_t kp;
    if (auth_keypair_new(&kp) != 0)
        return pctl_fail(ctx, "cannot make a CURVE key pair (is libzmq built with CURVE?)");
    if (auth_keypair_save(&kp, base) != 0)
        return pctl_fail(ctx, "cannot write %s and %s: %s", keyfile, pubfile, strerror(errno));
    printf("wrote %s (secret, mode 0600) and %s\npublic key: %s\n", keyfile, pubfile,
           kp.public_z85);
    return PCTL_EXIT_OK;
}

/* The allow-list named by --allow-file, or <keys-dir>/allow.txt. */
static void s_allow_path(const pctl_ctx_t *ctx, const pctl_opt_t *opts, char *out, size_t len)
{
    if (pctl_opt(opts, "allow-file"))
        snprintf(out, len, "%s", pctl_opt(opts, "allow-file"));
    else
        snprintf(out, len, "%s/allow.txt", ctx->cfg.keys_dir.value);
}

/* The services load the allow-list when they start; none re-reads it. */
#define S_RESTART_NOTE "running services apply this on SIGHUP (kill -HUP) or when they restart\n"

int pctl_keys_grant(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"role", "ROLE", "instructor, governor, industries, finance, employer or service", NULL},
        {"scope", "SCOPE", "prison code (instructor, governor), employer id (employer), or -",
         NULL},
        {"name", "NAME", "who holds the key, for logs and records (no blanks)", NULL},
        {"allow-file", "FILE", "the allow-list (default: <keys-dir>/allow.txt)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    char why[256], allow[PCTL_PATH_LEN + 16], err[AUTH_ERR_LEN];
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    const char *role = pctl_opt(opts, "role"), *scope = pctl_opt(opts, "scope"),
               *name = pctl_opt(opts, "name");
    if (!role || !scope || !name)
        return pctl_usage_error(ctx, "--role, --scope and --name are all required");
    if (pctl_keys_check_grant(role, scope, name, why, sizeof why) != 0)
        return pctl_usage_error(ctx, "%s", why);
    s_allow_path(ctx, opts, allow, sizeof allow);

    if (access(pos[0], R_OK) != 0)
        return pctl_fail(ctx, "cannot read %s: %s", pos[0], strerror(errno));
    auth_keypair_t kp;
    if (auth_keypair_load(pos[0], &kp) != 0)
        return pctl_fail(ctx, "%s is not a key file (a line public=<40 Z85 characters>)",
                         pos[0]);
    /* Editing a broken list would hide the breakage until a service
     * refuses to start; say so now instead (auth_allow_file_append
     * refuses it too, but without the line in the message). */
    if (access(allow, F_OK) == 0 && auth_allow_file_check(allow, err) != 0)
        return pctl_fail(ctx, "the allow-list is malformed, fix it first: %s", err);
    auth_role_t r;
    auth_role_parse(role, &r);
    /* Adds the key, or replaces the entry that already lists it. */
    if (auth_allow_file_append(allow, kp.public_z85, r, scope, name) != 0)
        return pctl_fail(ctx, "cannot update %s: %s", allow, strerror(errno));
    printf("granted %s %s to %s (%s) in %s\n", role, scope, name, kp.public_z85, allow);
    printf(S_RESTART_NOTE);
    return PCTL_EXIT_OK;
}

/* A Z85 public key as typed: 40 characters that decode. */
static int s_is_z85_key(const char *s)
{
    uint8_t k[32];
    return strlen(s) == AUTH_Z85_LEN - 1 && zmq_z85_decode(k, s) != NULL;
}

int pctl_keys_revoke(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"allow-file", "FILE", "the allow-list (default: <keys-dir>/allow.txt)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    char allow[PCTL_PATH_LEN + 16], err[AUTH_ERR_LEN];
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    s_allow_path(ctx, opts, allow, sizeof allow);

    /* A key file if there is one by that name, else the key itself. */
    auth_keypair_t kp;
    if (access(pos[0], F_OK) == 0) {
        if (auth_keypair_load(pos[0], &kp) != 0)
            return pctl_fail(ctx, "%s is not a key file (a line public=<40 Z85 characters>)",
                             pos[0]);
    } else if (s_is_z85_key(pos[0])) {
        snprintf(kp.public_z85, sizeof kp.public_z85, "%s", pos[0]);
    } else {
        return pctl_usage_error(ctx, "%s is neither a key file nor a public key "
                                "(40 Z85 characters)", pos[0]);
    }
    if (access(allow, F_OK) != 0)
        return pctl_fail(ctx, "cannot read %s: %s", allow, strerror(errno));
    if (auth_allow_file_check(allow, err) != 0)
        return pctl_fail(ctx, "the allow-list is malformed, fix it first: %s", err);
    rc = auth_allow_file_remove(allow, kp.public_z85);
    if (rc < 0)
        return pctl_fail(ctx, "cannot update %s: %s", allow, strerror(errno));
    if (rc > 0)
        return pctl_fail(ctx, "%s is not in %s; nothing changed", kp.public_z85, allow);
    printf("revoked %s in %s\n", kp.public_z85, allow);
    printf(S_RESTART_NOTE);
    return PCTL_EXIT_OK;
}
