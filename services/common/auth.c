/* auth: CURVE keys, allow-list files, and the ZAP handler thread.
 *
 * The handler is a REP socket on inproc://zeromq.zap.01, bound in auth_new
 * (in the caller's thread, so that it exists before any server socket binds)
 * and then served by one thread. The thread also polls one end of an inproc
 * PAIR pipe; auth_destroy sends on the other end and joins, so the thread
 * closes its own sockets and nothing outlives the auth_t. If the context is
 * shut down first, zmq_poll fails with ETERM and the thread exits the same
 * way. Any other end of the thread (a poll or reply that fails) is fatal
 * for the process: with no ZAP handler, libzmq 4.3 lets every CURVE client
 * in (ZMQ_ZAP_ENFORCE_DOMAIN is draft-only), so the thread logs and calls
 * _exit at once, with its REP socket still bound so that no handshake
 * completes meanwhile. The allow-list is a plain array under a mutex: lists are small (one
 * entry per device or service) and looked up once per connection. */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7    /* version, id, domain, address, identity, mechanism, key */

typedef struct {
    uint8_t key[32];
    auth_identity_t id;
    int from_file;      /* 1: reloaded with the file; 0: added by auth_allow */
} s_entry_t;

typedef struct {
    s_entry_t *items;
    size_t n, cap;
} s_list_t;

struct auth_t {
    void *ctx;
    void *zap;          /* REP, used only by the thread once it runs */
    void *pipe_main;    /* PAIR, owner side */
    void *pipe_thread;  /* PAIR, thread side */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    s_list_t list;
    char *allow_file;
};

static const char *s_role_names[] = {
    "none", "instructor", "governor", "industries", "finance", "employer", "service",
};

const char *auth_role_name(auth_role_t role)
{
    if ((int)role < 0 || (size_t)role >= sizeof s_role_names / sizeof *s_role_names)
        return "none";
    return s_role_names[role];
}

int auth_role_parse(const char *name, auth_role_t *role)
{
    if (!name)
        return -1;
    for (size_t i = 1; i < sizeof s_role_names / sizeof *s_role_names; i++)
        if (strcmp(name, s_role_names[i]) == 0) {
            *role = (auth_role_t)i;
            return 0;
        }
    return -1;
}

/* ---- keys --------------------------------------------------------------- */

static int s_z85_key(const char *z85, uint8_t key[32])
{
    if (!z85 || strlen(z85) != AUTH_Z85_LEN - 1)
        return -1;
    return zmq_z85_decode(key, z85) ? 0 : -1;
}

int auth_keypair_new(auth_keypair_t *kp)
{
    memset(kp, 0, sizeof *kp);
    if (zmq_curve_keypair(kp->public_z85, kp->secret_z85) != 0) {
        log_error("auth.keypair", "zmq_curve_keypair: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes `text` to `path` through a temporary file and rename, so that a
 * crash never leaves a half-written key. */
static int s_write_file(const char *path, const char *text, mode_t mode)
{
    int rc = -1, fd = -1;
    size_t plen = strlen(path) + 8;
    char *tmp = malloc(plen);
    if (!tmp)
        goto fail;
    snprintf(tmp, plen, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || fchmod(fd, mode) != 0)
        goto fail;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        off += (size_t)n;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    rc = 0;
fail:
    if (rc != 0)
        log_error("auth.keyfile", "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0) {
        close(fd);
    }
    if (rc != 0 && tmp)
        unlink(tmp);
    free(tmp);
    return rc;
}

int auth_keypair_save(const auth_keypair_t *kp, const char *base)
{
    uint8_t k[32];
    char text[2 * AUTH_Z85_LEN + 32];
    size_t blen = strlen(base) + 8;
    char *path = malloc(blen);
    int rc = -1;
    if (!path || s_z85_key(kp->public_z85, k) != 0 || s_z85_key(kp->secret_z85, k) != 0)
        goto fail;
    snprintf(path, blen, "%s.key", base);
    snprintf(text, sizeof text, "public=%s\nsecret=%s\n", kp->public_z85, kp->secret_z85);
    if (s_write_file(path, text, 0600) != 0)
        goto fail;
    snprintf(path, blen, "%s.pub", base);
    snprintf(text, sizeof text, "public=%s\n", kp->public_z85);
    if (s_write_file(path, text, 0644) != 0)
        goto fail;
    rc = 0;
fail:
    free(path);
    return rc;
}

/* Copies the value of "name=<z85>" lines; trailing blanks and CR allowed. */
static int s_key_line(const char *line, const char *name, char out[AUTH_Z85_LEN])
{
    size_t nlen = strlen(name);
    if (strncmp(line, name, nlen) != 0 || line[nlen] != '=')
        return 0;
    const char *v = line + nlen + 1;
    size_t len = strcspn(v, " \t\r\n");
    if (len != AUTH_Z85_LEN - 1)
        return -1;
    memcpy(out, v, len);
    out[len] = '\0';
    return 1;
}

int auth_keypair_load(const char *path, auth_keypair_t *kp)
{
    int rc = -1;
    char line[256];
    uint8_t pub[32], sec[32];
    char derived[AUTH_Z85_LEN];
    FILE *f = fopen(path, "re");
    memset(kp, 0, sizeof *kp);
    if (!f) {
        log_error("auth.keyfile", "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        if (s_key_line(line, "public", kp->public_z85) < 0
            || s_key_line(line, "secret", kp->secret_z85) < 0)
            goto fail;
    }
    if (s_z85_key(kp->public_z85, pub) != 0)
        goto fail;
    if (kp->secret_z85[0]) {
        /* A key file whose halves do not match would fail every handshake
         * with no useful message; catch it here. */
        if (s_z85_key(kp->secret_z85, sec) != 0
            || zmq_curve_public(derived, kp->secret_z85) != 0
            || strcmp(derived, kp->public_z85) != 0)
            goto fail;
    }
    rc = 0;
fail:
    fclose(f);
    if (rc != 0) {
        log_error("auth.keyfile", "%s: not a valid key file", path);
        memset(kp, 0, sizeof *kp);
    }
    return rc;
}

/* ---- allow-list --------------------------------------------------------- */

/* A scope or name may not be empty-by-accident, contain blanks (the file is
 * blank-separated), '#' (comments) or ':' (the User-Id is colon-separated). */
static int s_valid_word(const char *s, size_t maxlen, int allow_empty)
{
    size_t len = strlen(s);
    if (len >= maxlen || (!allow_empty && len == 0))
        return 0;
    for (const char *p = s; *p; p++)
        if (*p == ':' || *p == '#' || isspace((unsigned char)*p) || !isprint((unsigned char)*p))
            return 0;
    return 1;
}

static int s_make_entry(const char *public_z85, auth_role_t role, const char *scope,
                        const char *name, s_entry_t *e, const char **why)
{
    memset(e, 0, sizeof *e);
    if (s_z85_key(public_z85, e->key) != 0) {
        *why = "public key is not 40 characters of Z85";
        return -1;
    }
    if (role == ROLE_NONE || (size_t)role >= sizeof s_role_names / sizeof *s_role_names) {
        *why = "unknown role";
        return -1;
    }
    if (!scope || strcmp(scope, "-") == 0)
        scope = "";
    if (!s_valid_word(scope, AUTH_SCOPE_LEN, 1)) {
        *why = "bad scope (at most 39 characters, no blanks, '#' or ':')";
        return -1;
    }
    if (!name || !s_valid_word(name, AUTH_NAME_LEN, 0)) {
        *why = "bad name (1 to 63 characters, no blanks, '#' or ':')";
        return -1;
    }
    e->id.role = role;
    snprintf(e->id.scope, sizeof e->id.scope, "%s", scope);
    snprintf(e->id.name, sizeof e->id.name, "%s", name);
    return 0;
}

static int s_list_put(s_list_t *list, const s_entry_t *e)
{
    for (size_t i = 0; i < list->n; i++)
        if (memcmp(list->items[i].key, e->key, 32) == 0) {
            list->items[i] = *e;
            return 0;
        }
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        s_entry_t *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return -1;
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n++] = *e;
    return 0;
}

/* Parses one allow-list line (without its newline; tokenised in place).
 * Returns 1 with *e filled for an entry, 0 for a blank or comment line, or
 * -1 with the reason in why. */
static int s_parse_line(char *line, s_entry_t *e, char *why, size_t whylen)
{
    /* '#' is also a Z85 character, so it starts a comment only as the
     * first character of a word, and not when that word is a key. */
    char *save = NULL, *w[5];
    int n = 0;
    uint8_t k[32];
    for (char *t = strtok_r(line, " \t\r\n", &save); t && n < 5;
         t = strtok_r(NULL, " \t\r\n", &save)) {
        if (t[0] == '#' && !(n == 0 && s_z85_key(t, k) == 0))
            break;
        w[n++] = t;
    }
    if (n == 0)
        return 0;
    if (n != 4) {
        snprintf(why, whylen,
                 "expected 4 fields <public-key> <role> <scope|-> <name>, got %d", n);
        return -1;
    }
    auth_role_t role;
    const char *bad = NULL;
    if (auth_role_parse(w[1], &role) != 0) {
        snprintf(why, whylen, "unknown role \"%.40s\"", w[1]);
        return -1;
    }
    if (s_make_entry(w[0], role, w[2], w[3], e, &bad) != 0) {
        snprintf(why, whylen, "%s", bad);
        return -1;
    }
    return 1;
}

#define S_LINE_MAX 512   /* longest allow-list line, newline and NUL included */

/* Parses a whole allow-list from `f` into `list` (entries flagged
 * from_file). On a bad line nothing is kept and err says "path:line:
 * reason". */
static int s_parse_stream(FILE *f, const char *path, s_list_t *list, char err[AUTH_ERR_LEN])
{
    int lineno = 0;
    char line[S_LINE_MAX], why[160];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, AUTH_ERR_LEN, "%s:%d: line too long", path, lineno);
            return -1;
        }
        s_entry_t e;
        int r = s_parse_line(line, &e, why, sizeof why);
        if (r < 0) {
            snprintf(err, AUTH_ERR_LEN, "%s:%d: %s", path, lineno, why);
            return -1;
        }
        if (r == 0)
            continue;
        e.from_file = 1;
        if (s_list_put(list, &e) != 0) {
            snprintf(err, AUTH_ERR_LEN, "%s:%d: out of memory", path, lineno);
            return -1;
        }
    }
    if (ferror(f)) {
        snprintf(err, AUTH_ERR_LEN, "%s: read error", path);
        return -1;
    }
    return 0;
}

static int s_parse_file(const char *path, s_list_t *list, char err[AUTH_ERR_LEN])
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, AUTH_ERR_LEN, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = s_parse_stream(f, path, list, err);
    fclose(f);
    return rc;
}

int auth_allow_file_check(const char *allow_file, char err[AUTH_ERR_LEN])
{
    s_list_t list = {0};
    err[0] = '\0';
    int rc = s_parse_file(allow_file, &list, err);
    free(list.items);
    return rc;
}

/* ---- allow-list file edits ---------------------------------------------
 * Every edit rewrites the whole file through "<file>.tmp" and rename(2), so
 * a reader (a service starting) sees the old list or the new one, never
 * half of either. Writers are serialised by an exclusive flock on the
 * temporary file; since the holder renames that file away, a waiter that
 * gets the lock checks that its descriptor is still the one at the
 * temporary path, and otherwise opens it again. */

/* Opens and locks "<file>.tmp". Returns the descriptor, or -1. */
static int s_tmp_lock(const char *tmp)
{
    for (;;) {
        struct stat held, now;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return -1;
        int rc;
        while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
            ;
        if (rc == 0 && fstat(fd, &held) == 0 && stat(tmp, &now) == 0
            && held.st_dev == now.st_dev && held.st_ino == now.st_ino)
            return fd;
        int e = errno;
        close(fd);
        if (rc != 0) {
            errno = e;
            return -1;
        }
        /* The previous holder renamed it into place: take the new one. */
    }
}

/* Reads all of `path` (NUL-terminated; a missing file reads as empty). */
static int s_read_all(const char *path, char **text, size_t *len, mode_t *mode)
{
    *text = NULL;
    *len = 0;
    *mode = 0644;
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    struct stat st;
    if (fstat(fileno(f), &st) == 0)
        *mode = st.st_mode & 07777;
    size_t cap = 4096;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (*len < cap)
            break;
        char *bigger = realloc(buf, 2 * cap + 1);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int rc = buf && !ferror(f) ? 0 : -1;
    fclose(f);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    buf[*len] = '\0';
    *text = buf;
    return 0;
}

static int s_write_all(int fd, const char *text, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* Makes a rename in the folder of `path` durable. */
static void s_sync_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return;
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, strlen(dir) + 1, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* The one allow-list editor. With `put`, the first line listing put's key
 * becomes that entry (kept byte for byte if it already says the same) or
 * the entry is appended; without, every line listing `key` goes. Other
 * lines listing the key are dropped either way (one key, one line), and
 * every other line, comments included, stays as it was. The file is only
 * rewritten if its text changes. Sets *found to whether the key was
 * listed. Returns 0 or -1 (logged). */
static int s_allow_file_edit(const char *path, const uint8_t key[32], const s_entry_t *put,
                             int *found)
{
    int rc = -1, fd = -1, renamed = 0;
    char *text = NULL, *out = NULL, *tmp = NULL, err[AUTH_ERR_LEN];
    size_t len = 0, olen = 0;
    mode_t mode;
    s_list_t check = {0};
    const char *step = "lock";

    *found = 0;
    size_t tlen = strlen(path) + 8;
    if (!(tmp = malloc(tlen)))
        goto fail;
    snprintf(tmp, tlen, "%s.tmp", path);
    if ((fd = s_tmp_lock(tmp)) < 0)
        goto fail;
    step = "read";
    if (s_read_all(path, &text, &len, &mode) != 0)
        goto fail;
    /* Never rewrite a list that does not parse: the edit would hide the
     * breakage until a service refuses to start. */
    if (len > 0) {
        FILE *f = fmemopen(text, len, "r");
        int bad = !f || s_parse_stream(f, path, &check, err) != 0;
        if (f)
            fclose(f);
        free(check.items);
        if (bad) {
            if (!f)
                snprintf(err, sizeof err, "%s: %s", path, strerror(errno));
            log_error("auth.allow", "not editing a malformed allow-list: %s", err);
            errno = EINVAL;
            goto fail_quiet;
        }
    }

    char line[AUTH_Z85_LEN + 16 + AUTH_SCOPE_LEN + AUTH_NAME_LEN];
    int llen = 0;
    if (put) {
        char z85[AUTH_Z85_LEN];
        zmq_z85_encode(z85, put->key, 32);
        llen = snprintf(line, sizeof line, "%s %s %s %s\n", z85, auth_role_name(put->id.role),
                        put->id.scope[0] ? put->id.scope : "-", put->id.name);
    }
    step = "allocate";
    if (!(out = malloc(len + (size_t)llen + 2)))
        goto fail;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) + 1 : len;
        char copy[S_LINE_MAX + 1];
        size_t n = end - at < S_LINE_MAX ? end - at : S_LINE_MAX;
        memcpy(copy, text + at, n);
        copy[n] = '\0';
        s_entry_t e;
        char why[160];
        int keep = 1;
        if (s_parse_line(copy, &e, why, sizeof why) == 1 && memcmp(e.key, key, 32) == 0) {
            keep = 0;
            if (put && !*found) {
                if (e.id.role == put->id.role && strcmp(e.id.scope, put->id.scope) == 0
                    && strcmp(e.id.name, put->id.name) == 0) {
                    keep = 1;   /* already says this: leave the line alone */
                } else {
                    memcpy(out + olen, line, (size_t)llen);
                    olen += (size_t)llen;
                }
            }
            *found = 1;
        }
        if (keep) {
            memcpy(out + olen, text + at, end - at);
            olen += end - at;
        }
        at = end;
    }
    if (put && !*found) {
        if (olen > 0 && out[olen - 1] != '\n')
            out[olen++] = '\n';
        memcpy(out + olen, line, (size_t)llen);
        olen += (size_t)llen;
    }
    if (olen == len && (len == 0 || memcmp(out, text, len) == 0)) {
        rc = 0;   /* nothing to change: the file is not touched */
        goto fail;
    }
    step = "write";
    if (ftruncate(fd, 0) != 0 || s_write_all(fd, out, olen) != 0 || fchmod(fd, mode) != 0
        || fsync(fd) != 0)
        goto fail;
    step = "rename";
    if (rename(tmp, path) != 0)
        goto fail;
    renamed = 1;
    s_sync_dir(path);
    rc = 0;
fail:
    if (rc != 0)
        log_error("auth.allow", "cannot edit %s: %s failed: %s", path, step, strerror(errno));
fail_quiet:
    if (fd >= 0) {
        int e = errno;
        if (!renamed)
            unlink(tmp);   /* under the lock; a waiter then opens a new one */
        close(fd);         /* releases the lock */
        errno = e;
    }
    free(tmp);
    free(text);
    free(out);
    return rc;
}

int auth_allow_file_append(const char *allow_file, const char *public_z85,
                           auth_role_t role, const char *scope, const char *name)
{
    s_entry_t e;
    const char *why = NULL;
    int found;
    if (s_make_entry(public_z85, role, scope, name, &e, &why) != 0) {
        log_error("auth.allow", "refused allow-list entry: %s", why);
        errno = EINVAL;
        return -1;
    }
    return s_allow_file_edit(allow_file, e.key, &e, &found);
}

int auth_allow_file_remove(const char *allow_file, const char *public_z85)
{
    uint8_t key[32];
    int found;
    if (s_z85_key(public_z85, key) != 0) {
        log_error("auth.allow", "not a public key: 40 characters of Z85");
        errno = EINVAL;
        return -1;
    }
    if (s_allow_file_edit(allow_file, key, NULL, &found) != 0)
        return -1;
    return found ? 0 : 1;
}

/* ---- ZAP handler -------------------------------------------------------- */

static int s_lookup(auth_t *self, const uint8_t key[32], auth_identity_t *out)
{
    int found = -1;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->list.n; i++)
        if (memcmp(self->list.items[i].key, key, 32) == 0) {
            *out = self->list.items[i].id;
            found = 0;
            break;
        }
    pthread_mutex_unlock(&self->lock);
    return found;
}

static int s_send_str(void *sock, const char *s, int more)
{
    return zmq_send(sock, s, strlen(s), more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

/* The handler cannot go on: see the header comment. */
static void s_zap_dead(const char *why, int err)
{
    log_error("auth.zap_dead", "the ZAP handler stopped (%s: %s); exiting, since without "
              "it every CURVE client would be let in", why, zmq_strerror(err));
    _exit(AUTH_EXIT_ZAP_DEAD);
}

/* Receives one ZAP request (all its frames) and answers it. A reply that
 * cannot be sent leaves the REP socket unable to answer the next one. */
static void s_zap_handle(auth_t *self)
{
    zmq_msg_t f[ZAP_FRAMES];
    int nf = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, self->zap, 0) < 0) {
            zmq_msg_close(&part);
            goto done;     /* ETERM; the poll loop will see it again */
        }
        more = zmq_msg_more(&part);
        if (nf < ZAP_FRAMES)
            f[nf++] = part;
        else
            zmq_msg_close(&part);
    }

    const char *code = "400", *text = "not allowed";
    char user_id[AUTH_Z85_LEN] = "";
    auth_identity_t id;
    if (nf < 6 || zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0) {
        code = "500";
        text = "malformed ZAP request";
    } else if (zmq_msg_size(&f[5]) != 5 || memcmp(zmq_msg_data(&f[5]), "CURVE", 5) != 0) {
        text = "only CURVE is accepted";
    } else if (nf < 7 || zmq_msg_size(&f[6]) != 32) {
        text = "no client key";
    } else if (s_lookup(self, zmq_msg_data(&f[6]), &id) != 0) {
        char z85[AUTH_Z85_LEN];
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
        char addr[64];
        size_t alen = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
        memcpy(addr, zmq_msg_data(&f[3]), alen);
        addr[alen] = '\0';
        for (size_t i = 0; i < alen; i++)
            if (!isprint((unsigned char)addr[i]))
                addr[i] = '?';
        log_warn("auth.denied", "unknown client key %s from %s", z85, addr);
        text = "unknown client key";
    } else if (zmq_msg_size(&f[2]) == strlen(AUTH_DOMAIN_FEED)
               && memcmp(zmq_msg_data(&f[2]), AUTH_DOMAIN_FEED, strlen(AUTH_DOMAIN_FEED)) == 0
               && id.role != ROLE_SERVICE) {
        log_warn("auth.denied", "%s (role %s) may not connect to a feed", id.name,
                 auth_role_name(id.role));
        text = "only services may connect to a feed";
    } else {
        code = "200";
        text = "OK";
        /* The key itself, not its role: every message is looked up again
         * in the allow-list as it is when the message arrives
         * (auth_identity_from_msg), so a revoked key stops working on a
         * connection it opened before. */
        zmq_z85_encode(user_id, zmq_msg_data(&f[6]), 32);
    }

    /* Reply: version, request id, status code, status text, user id, metadata. */
    if (s_send_str(self->zap, "1.0", 1) != 0)
        goto done;
    if (nf >= 2) {
        if (zmq_send(self->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE) < 0)
            goto done;
    } else if (s_send_str(self->zap, "", 1) != 0) {
        goto done;
    }
    if (s_send_str(self->zap, code, 1) != 0 || s_send_str(self->zap, text, 1) != 0
        || s_send_str(self->zap, user_id, 1) != 0 || s_send_str(self->zap, "", 0) != 0)
        goto done;
    for (int i = 0; i < nf; i++)
        zmq_msg_close(&f[i]);
    return;
done:
    if (errno != ETERM)
        s_zap_dead("ZAP reply", errno);
    for (int i = 0; i < nf; i++)
        zmq_msg_close(&f[i]);
}

static void *s_zap_thread(void *arg)
{
    auth_t *self = arg;
    zmq_pollitem_t items[2] = {
        {self->zap, 0, ZMQ_POLLIN, 0},
        {self->pipe_thread, 0, ZMQ_POLLIN, 0},
    };
    for (;;) {
        int rc = zmq_poll(items, 2, -1);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ETERM)
                break;  /* the context is shutting down: no handshake can follow */
            s_zap_dead("zmq_poll", errno);
        }
        if (items[1].revents & ZMQ_POLLIN) {
            char cmd[8] = "";
            int n = zmq_recv(self->pipe_thread, cmd, sizeof cmd - 1, ZMQ_DONTWAIT);
            if (n == 4 && memcmp(cmd, "STOP", 4) == 0)
                break;
            if (n < 0 && errno == ETERM)
                break;
            /* auth_test_break_zap, or a pipe that failed: fatal like any
             * other unplanned end of the handler. */
            s_zap_dead("handler thread told to fail", n < 0 ? errno : EPROTO);
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_zap_handle(self);
    }
    zmq_close(self->zap);
    zmq_close(self->pipe_thread);
    self->zap = NULL;
    self->pipe_thread = NULL;
    return NULL;
}

static void s_close_quiet(void *sock)
{
    if (sock) {
        int zero = 0;
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(sock);
    }
}

auth_t *auth_new(void *zmq_ctx, const char *allow_file)
{
    char pipe_ep[64], err[AUTH_ERR_LEN];
    int zero = 0;
    auth_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    self->ctx = zmq_ctx;
    if (allow_file) {
        self->allow_file = strdup(allow_file);
        if (!self->allow_file)
            goto fail;
        if (s_parse_file(allow_file, &self->list, err) != 0) {
            log_error("auth.allow_file", "%s", err);
            goto fail;
        }
    }

    self->zap = zmq_socket(zmq_ctx, ZMQ_REP);
    if (!self->zap)
        goto fail;
    zmq_setsockopt(self->zap, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(self->zap, ZAP_ENDPOINT) != 0) {
        log_error("auth.start", "cannot bind %s: %s", ZAP_ENDPOINT, zmq_strerror(errno));
        goto fail;
    }
    snprintf(pipe_ep, sizeof pipe_ep, "inproc://pay-auth-%p", (void *)self);
    self->pipe_main = zmq_socket(zmq_ctx, ZMQ_PAIR);
    self->pipe_thread = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (!self->pipe_main || !self->pipe_thread)
        goto fail;
    zmq_setsockopt(self->pipe_main, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(self->pipe_thread, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(self->pipe_main, pipe_ep) != 0 || zmq_connect(self->pipe_thread, pipe_ep) != 0)
        goto fail;

    /* The thread must never take the service's SIGTERM: block every signal
     * while creating it so it starts (and stays) with all of them masked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int prc = pthread_create(&self->thread, NULL, s_zap_thread, self);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0)
        goto fail;
    self->thread_started = 1;
    return self;
fail:
    s_close_quiet(self->zap);
    s_close_quiet(self->pipe_main);
    s_close_quiet(self->pipe_thread);
    pthread_mutex_destroy(&self->lock);
    free(self->list.items);
    free(self->allow_file);
    free(self);
    return NULL;
}

void auth_test_break_zap(auth_t *self)
{
    if (self && self->thread_started)
        zmq_send(self->pipe_main, "FAIL", 4, ZMQ_DONTWAIT);
}

void auth_destroy(auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    auth_t *self = *self_p;
    if (self->thread_started) {
        /* If the context is already shut down this send fails with ETERM,
         * but then the thread has left its poll for the same reason. */
        zmq_send(self->pipe_main, "STOP", 4, ZMQ_DONTWAIT);
        pthread_join(self->thread, NULL);
    }
    s_close_quiet(self->pipe_main);
    pthread_mutex_destroy(&self->lock);
    free(self->list.items);
    free(self->allow_file);
    free(self);
    *self_p = NULL;
}

int auth_allow(auth_t *self, const char *public_z85, auth_role_t role, const char *scope,
               const char *name)
{
    s_entry_t e;
    const char *why = NULL;
    if (s_make_entry(public_z85, role, scope, name, &e, &why) != 0) {
        log_error("auth.allow", "refused allow-list entry: %s", why);
        return -1;
    }
    pthread_mutex_lock(&self->lock);
    int rc = s_list_put(&self->list, &e);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int auth_reload(auth_t *self)
{
    char err[AUTH_ERR_LEN];
    s_list_t fresh = {0};
    if (!self->allow_file)
        return 0;
    if (s_parse_file(self->allow_file, &fresh, err) != 0) {
        log_error("auth.allow_file", "reload refused, keeping the old list: %s", err);
        free(fresh.items);
        return -1;
    }
    /* Entries added at run time survive a reload (they win over the file). */
    pthread_mutex_lock(&self->lock);
    int rc = 0;
    for (size_t i = 0; i < self->list.n && rc == 0; i++)
        if (!self->list.items[i].from_file)
            rc = s_list_put(&fresh, &self->list.items[i]);
    if (rc == 0) {
        free(self->list.items);
        self->list = fresh;
    }
    pthread_mutex_unlock(&self->lock);
    if (rc != 0)
        free(fresh.items);
    return rc;
}

size_t auth_allow_count(auth_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->list.n;
    pthread_mutex_unlock(&self->lock);
    return n;
}

/* ---- sockets ------------------------------------------------------------ */

static int s_common_opts(void *sock, long max_msg_size)
{
    int64_t maxmsg = max_msg_size > 0 ? (int64_t)max_msg_size : -1;
    return zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
}

int auth_curve_server(void *sock, const auth_keypair_t *server, long max_msg_size)
{
    uint8_t k[32];
    int one = 1;
    if (!server || s_z85_key(server->secret_z85, k) != 0) {
        log_error("auth.curve", "server socket needs a valid secret key");
        return -1;
    }
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0
        || zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, server->secret_z85, AUTH_Z85_LEN) != 0
        || zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "pay", 3) != 0
        || s_common_opts(sock, max_msg_size) != 0) {
        log_error("auth.curve", "setsockopt: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

int auth_curve_client(void *sock, const auth_keypair_t *client, const char *server_public_z85,
                      long max_msg_size)
{
    uint8_t k[32];
    if (!client || s_z85_key(client->public_z85, k) != 0
        || s_z85_key(client->secret_z85, k) != 0 || s_z85_key(server_public_z85, k) != 0) {
        log_error("auth.curve", "client socket needs valid keys and a server key");
        return -1;
    }
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_public_z85, AUTH_Z85_LEN) != 0
        || zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, client->public_z85, AUTH_Z85_LEN) != 0
        || zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, client->secret_z85, AUTH_Z85_LEN) != 0
        || s_common_opts(sock, max_msg_size) != 0) {
        log_error("auth.curve", "setsockopt: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

int auth_identity_parse(const char *user_id, auth_identity_t *out)
{
    memset(out, 0, sizeof *out);
    if (!user_id)
        return -1;
    const char *c1 = strchr(user_id, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
        return -1;
    char role[16];
    size_t rlen = (size_t)(c1 - user_id), slen = (size_t)(c2 - c1 - 1);
    if (rlen >= sizeof role || slen >= AUTH_SCOPE_LEN || strlen(c2 + 1) >= AUTH_NAME_LEN
        || c2[1] == '\0')
        return -1;
    memcpy(role, user_id, rlen);
    role[rlen] = '\0';
    if (auth_role_parse(role, &out->role) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    memcpy(out->scope, c1 + 1, slen);
    out->scope[slen] = '\0';
    snprintf(out->name, sizeof out->name, "%s", c2 + 1);
    return 0;
}

int auth_identity_from_msg(auth_t *self, zmq_msg_t *msg, auth_identity_t *out)
{
    uint8_t key[32];
    memset(out, 0, sizeof *out);
    const char *uid = zmq_msg_gets(msg, "User-Id");
    if (!self || !uid || strlen(uid) != 40 || !zmq_z85_decode(key, uid))
        return -1;
    return s_lookup(self, key, out) == 0 ? 0 : 1;
}
