/* auth_test: key files, allow-list parsing, and real CURVE handshakes
 * through the ZAP handler over TCP on 127.0.0.1. */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static char s_dir[] = "/tmp/auth_test.XXXXXX";

static void s_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", s_dir, name);
}

static void s_write(const char *name, const char *text)
{
    char p[256];
    s_path(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

/* Sends "hello" from a DEALER and waits `ms` for it at the ROUTER.
 * Returns 1 if it arrived (and fills *who from the payload frame), 0 if not. */
static auth_t *s_auth;   /* the running handler, for auth_identity_from_msg */

static int s_roundtrip(void *ctx, void *router, const char *endpoint,
                       const auth_keypair_t *ck, const char *server_pub, int ms,
                       auth_identity_t *who, int *id_frame_has_user)
{
    int zero = 0, got = 0;
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    if (ck)
        auth_curve_client(dealer, ck, server_pub, 65536);
    zmq_connect(dealer, endpoint);
    zmq_send(dealer, "hello", 5, ZMQ_DONTWAIT);
    zmq_pollitem_t it = {router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) == 1) {
        zmq_msg_t idf, body;
        zmq_msg_init(&idf);
        zmq_msg_init(&body);
        zmq_msg_recv(&idf, router, 0);
        zmq_msg_recv(&body, router, 0);
        if (who)
            auth_identity_from_msg(s_auth, &body, who);
        if (id_frame_has_user)
            *id_frame_has_user = zmq_msg_gets(&idf, "User-Id") != NULL;
        /* Echo back so the client proves the whole path works. */
        zmq_msg_send(&idf, router, ZMQ_SNDMORE);
        zmq_send(router, "world", 5, 0);
        zmq_msg_close(&body);
        zmq_msg_close(&idf);
        char buf[8];
        zmq_pollitem_t ci = {dealer, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&ci, 1, 2000) == 1 && zmq_recv(dealer, buf, sizeof buf, 0) == 5
            && memcmp(buf, "world", 5) == 0)
            got = 1;
    }
    zmq_close(dealer);
    return got;
}

static void test_keys(void)
{
    auth_keypair_t kp, back, pub;
    char base[200], path[256];
    TAP_EQ_INT(auth_keypair_new(&kp), 0, "keypair_new");
    TAP_EQ_INT((int)strlen(kp.public_z85), 40, "public key is 40 Z85 characters");
    s_path(base, sizeof base, "svc");
    TAP_EQ_INT(auth_keypair_save(&kp, base), 0, "keypair_save");
    snprintf(path, sizeof path, "%s.key", base);
    struct stat st;
    TAP_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, ".key file is mode 0600");
    TAP_EQ_INT(auth_keypair_load(path, &back), 0, "load .key");
    TAP_EQ_STR(back.public_z85, kp.public_z85, ".key public round trip");
    TAP_EQ_STR(back.secret_z85, kp.secret_z85, ".key secret round trip");
    snprintf(path, sizeof path, "%s.pub", base);
    TAP_EQ_INT(auth_keypair_load(path, &pub), 0, "load .pub");
    TAP_EQ_STR(pub.public_z85, kp.public_z85, ".pub public round trip");
    TAP_EQ_STR(pub.secret_z85, "", ".pub has no secret");

    /* A key file whose secret does not belong to its public key. */
    auth_keypair_t other;
    auth_keypair_new(&other);
    char text[200];
    snprintf(text, sizeof text, "public=%s\nsecret=%s\n", kp.public_z85, other.secret_z85);
    s_write("mismatch.key", text);
    s_path(path, sizeof path, "mismatch.key");
    TAP_EQ_INT(auth_keypair_load(path, &back), -1, "mismatched key halves refused");
    s_write("junk.key", "public=not-a-key\n");
    s_path(path, sizeof path, "junk.key");
    TAP_EQ_INT(auth_keypair_load(path, &back), -1, "junk key file refused");
    s_path(path, sizeof path, "missing.key");
    TAP_EQ_INT(auth_keypair_load(path, &back), -1, "missing key file refused");
}

static void test_allow_file(void)
{
    auth_keypair_t a, b;
    char text[1024], path[256], err[AUTH_ERR_LEN];
    auth_keypair_new(&a);
    auth_keypair_new(&b);
    snprintf(text, sizeof text,
             "# allow-list for tests\n"
             "\n"
             "%s instructor MDI mdi-workshop   # trailing comment\n"
             "   %s\tfinance - finance-desk\n",
             a.public_z85, b.public_z85);
    s_write("good.allow", text);
    s_path(path, sizeof path, "good.allow");
    TAP_EQ_INT(auth_allow_file_check(path, err), 0, "good allow-list parses");

    /* Each bad line is "<a valid key> <rest>" unless rest starts the line. */
    struct {
        int with_key;
        const char *rest;
        const char *want;   /* expected fragment of the error */
    } bad[] = {
        {1, "instructor MDI\n", "expected 4 fields"},
        {1, "janitor MDI bob\n", "unknown role"},
        {1, "instructor MD:I bob\n", "bad scope"},
        {1, "instructor MDI a-very-long-name-that-goes-on-and-on-and-on-and-on-and-on-and-on-x\n",
         "bad name"},
        {0, "short-key instructor MDI bob\n", "Z85"},
        {1, "instructor MDI bob extra\n", "expected 4 fields"},
        {1, "instructor MDI bob#1\n", "bad name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[512];
        snprintf(body, sizeof body, "# ok line then a bad one\n%s finance - f\n%s%s%s",
                 b.public_z85, bad[i].with_key ? a.public_z85 : "",
                 bad[i].with_key ? " " : "", bad[i].rest);
        s_write("bad.allow", body);
        s_path(path, sizeof path, "bad.allow");
        int rc = auth_allow_file_check(path, err);
        TAP_EQ_INT(rc, -1, "bad line %zu refused", i);
        TAP_OK(strstr(err, ":3: ") && strstr(err, bad[i].want),
               "error names line 3 and says \"%s\": %s", bad[i].want, err);
    }

    void *ctx = zmq_ctx_new();
    auth_t *auth = auth_new(ctx, path);   /* still the last bad file */
    TAP_OK(auth == NULL, "auth_new refuses a bad allow-list");
    s_path(path, sizeof path, "good.allow");
    auth = auth_new(ctx, path);
    TAP_OK(auth != NULL, "auth_new with the good allow-list");
    if (!auth)
        return;
    TAP_EQ_INT((int)auth_allow_count(auth), 2, "two entries loaded");
    auth_t *second = auth_new(ctx, NULL);
    TAP_OK(second == NULL, "a second ZAP handler in the same context is refused");

    /* Append through the file API, then reload. */
    auth_keypair_t c;
    auth_keypair_new(&c);
    TAP_EQ_INT(auth_allow_file_append(path, c.public_z85, ROLE_EMPLOYER, "E42", "acme"), 0,
               "append an entry");
    TAP_EQ_INT(auth_allow_file_append(path, "bad", ROLE_EMPLOYER, "E42", "acme"), -1,
               "append refuses a bad key");
    TAP_EQ_INT(auth_allow_file_append(path, c.public_z85, ROLE_NONE, "E42", "acme"), -1,
               "append refuses ROLE_NONE");
    TAP_EQ_INT(auth_allow_file_check(path, err), 0, "appended file still parses");
    auth_keypair_t d;
    auth_keypair_new(&d);
    TAP_EQ_INT(auth_allow(auth, d.public_z85, ROLE_SERVICE, "-", "wages"), 0, "auth_allow");
    TAP_EQ_INT(auth_reload(auth), 0, "reload");
    TAP_EQ_INT((int)auth_allow_count(auth), 4, "reload keeps run-time entries and adds new");
    auth_destroy(&auth);
    TAP_OK(auth == NULL, "auth_destroy NULLs the pointer");
    auth_destroy(&auth);
    TAP_EQ_INT(zmq_ctx_term(ctx), 0, "context terminates after auth_destroy");
}

static char *s_slurp(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

static int s_count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Granting a listed key replaces its line; the same grant twice changes
 * nothing; revoking removes it; comments and other lines stay. */
static void test_allow_file_edit(void)
{
    char path[256], tmp[300], want[1024], err[AUTH_ERR_LEN];
    auth_keypair_t a, b, c;
    auth_keypair_new(&a);
    auth_keypair_new(&b);
    auth_keypair_new(&c);
    s_path(path, sizeof path, "edit.allow");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(path);

    TAP_EQ_INT(auth_allow_file_append(path, a.public_z85, ROLE_INSTRUCTOR, "MDI", "alice"), 0,
               "grant a new key to a missing file");
    snprintf(want, sizeof want, "%s instructor MDI alice\n", a.public_z85);
    TAP_EQ_STR(s_slurp(path), want, "the file holds the one line");

    /* A hand-edited file: comments, blank lines, no newline at the end. */
    FILE *f = fopen(path, "w");
    fprintf(f, "# payroll keys\n%s instructor MDI alice   # workshop PC\n\n"
               "%s finance - bob\n# end", a.public_z85, b.public_z85);
    fclose(f);
    chmod(path, 0640);
    TAP_EQ_INT(auth_allow_file_append(path, a.public_z85, ROLE_GOVERNOR, "KMI", "alice2"), 0,
               "grant a listed key again with another role");
    snprintf(want, sizeof want, "# payroll keys\n%s governor KMI alice2\n\n%s finance - bob\n"
             "# end", a.public_z85, b.public_z85);
    TAP_EQ_STR(s_slurp(path), want, "its line is replaced in place; the rest is kept");
    TAP_EQ_INT(s_count(s_slurp(path), a.public_z85), 1, "the key is listed once");
    struct stat st1, st2;
    stat(path, &st1);
    TAP_EQ_INT((int)(st1.st_mode & 0777), 0640, "the file keeps its mode");
    TAP_OK(access(tmp, F_OK) != 0, "no temporary file is left behind");

    TAP_EQ_INT(auth_allow_file_append(path, a.public_z85, ROLE_GOVERNOR, "KMI", "alice2"), 0,
               "the identical grant again");
    stat(path, &st2);
    TAP_OK(st1.st_ino == st2.st_ino && strcmp(s_slurp(path), want) == 0,
           "changes nothing (same file, same text)");
    TAP_OK(access(tmp, F_OK) != 0, "and leaves no temporary file");

    TAP_EQ_INT(auth_allow_file_append(path, c.public_z85, ROLE_SERVICE, "-", "wages"), 0,
               "grant a third key");
    TAP_OK(strstr(s_slurp(path), "# end\n") != NULL,
           "a newline is added before the appended line");
    TAP_EQ_INT(auth_allow_file_check(path, err), 0, "the edited file parses (%s)", err);

    /* Duplicates left by an older payctl collapse into the one entry. */
    f = fopen(path, "a");
    fprintf(f, "%s employer dhl old-1\n%s employer dhl old-2\n", b.public_z85, b.public_z85);
    fclose(f);
    TAP_EQ_INT(auth_allow_file_append(path, b.public_z85, ROLE_EMPLOYER, "tesco", "bob2"), 0,
               "grant over duplicated lines");
    TAP_EQ_INT(s_count(s_slurp(path), b.public_z85), 1, "one line for the key remains");
    TAP_OK(strstr(s_slurp(path), "employer tesco bob2") != NULL, "with the new entry");

    TAP_EQ_INT(auth_allow_file_remove(path, b.public_z85), 0, "revoke a listed key");
    TAP_EQ_INT(s_count(s_slurp(path), b.public_z85), 0, "its line is gone");
    TAP_OK(strstr(s_slurp(path), "# payroll keys\n") && strstr(s_slurp(path), "# end")
               && s_count(s_slurp(path), a.public_z85) == 1
               && s_count(s_slurp(path), c.public_z85) == 1,
           "comments and the other entries stay");
    stat(path, &st1);
    TAP_EQ_INT(auth_allow_file_remove(path, b.public_z85), 1, "revoke it again: not listed");
    stat(path, &st2);
    TAP_OK(st1.st_ino == st2.st_ino, "and the file is not rewritten");
    TAP_EQ_INT(auth_allow_file_remove(path, "short"), -1, "revoke refuses a bad key");

    /* A malformed list is never edited. */
    f = fopen(path, "a");
    fprintf(f, "%s wizard - x\n", b.public_z85);
    fclose(f);
    char before[8192];
    snprintf(before, sizeof before, "%s", s_slurp(path));
    TAP_EQ_INT(auth_allow_file_append(path, b.public_z85, ROLE_FINANCE, "-", "bob"), -1,
               "grant into a malformed file is refused");
    TAP_EQ_INT(auth_allow_file_remove(path, a.public_z85), -1,
               "revoke from a malformed file is refused");
    TAP_EQ_STR(s_slurp(path), before, "the malformed file is untouched");

    /* Concurrent grants of distinct keys all land (none is lost to a
     * read-modify-write race). */
    unlink(path);
    enum { KIDS = 8, EACH = 10 };
    pid_t kids[KIDS];
    for (int k = 0; k < KIDS; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            int bad = 0;
            for (int i = 0; i < EACH; i++) {
                auth_keypair_t kp;
                char name[32];
                snprintf(name, sizeof name, "k%d-%d", k, i);
                bad |= auth_keypair_new(&kp) != 0
                       || auth_allow_file_append(path, kp.public_z85, ROLE_SERVICE, "-",
                                                 name) != 0;
            }
            _exit(bad);
        }
    }
    int kids_ok = 1;
    for (int k = 0; k < KIDS; k++) {
        int status = 1;
        kids_ok &= kids[k] > 0 && waitpid(kids[k], &status, 0) == kids[k]
                   && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    TAP_OK(kids_ok, "%d processes granted %d keys each", KIDS, EACH);
    TAP_EQ_INT(s_count(s_slurp(path), " service - k"), KIDS * EACH,
               "every concurrent grant is in the file");
    TAP_EQ_INT(auth_allow_file_check(path, err), 0, "and the file parses (%s)", err);
    TAP_OK(access(tmp, F_OK) != 0, "no temporary file is left behind");
}

static void test_identity_parse(void)
{
    auth_identity_t id;
    TAP_EQ_INT(auth_identity_parse("governor:MDI:gov1", &id), 0, "parse governor");
    TAP_EQ_INT(id.role, ROLE_GOVERNOR, "role governor");
    TAP_EQ_STR(id.scope, "MDI", "scope MDI");
    TAP_EQ_STR(id.name, "gov1", "name gov1");
    TAP_EQ_INT(auth_identity_parse("finance::desk", &id), 0, "empty scope");
    TAP_EQ_STR(id.scope, "", "scope empty");
    TAP_EQ_INT(auth_identity_parse("wizard:MDI:x", &id), -1, "unknown role refused");
    TAP_EQ_INT(auth_identity_parse("finance:MDI", &id), -1, "missing name refused");
    TAP_EQ_INT(auth_identity_parse("finance:MDI:", &id), -1, "empty name refused");
    TAP_EQ_STR(auth_role_name(ROLE_EMPLOYER), "employer", "role name");
}

static void test_curve(void)
{
    auth_keypair_t server, good, stranger, late, wrong_server;
    char allow[256], endpoint[256];
    int zero = 0;
    auth_keypair_new(&server);
    auth_keypair_new(&good);
    auth_keypair_new(&stranger);
    auth_keypair_new(&late);
    auth_keypair_new(&wrong_server);
    s_path(allow, sizeof allow, "curve.allow");
    unlink(allow);
    auth_allow_file_append(allow, good.public_z85, ROLE_INSTRUCTOR, "MDI", "mdi-workshop");

    void *ctx = zmq_ctx_new();
    auth_t *auth = auth_new(ctx, allow);
    TAP_OK(auth != NULL, "ZAP handler started");
    s_auth = auth;
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    TAP_EQ_INT(auth_curve_server(router, &server, 65536), 0, "curve server options");
    TAP_EQ_INT(zmq_bind(router, "tcp://127.0.0.1:*"), 0, "bind random port");
    size_t elen = sizeof endpoint;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &elen);

    auth_identity_t who;
    memset(&who, 0, sizeof who);
    int idf_user = -1;
    TAP_OK(s_roundtrip(ctx, router, endpoint, &good, server.public_z85, 3000, &who, &idf_user),
           "allow-listed client gets a reply");
    TAP_EQ_INT(who.role, ROLE_INSTRUCTOR, "handler sees the role");
    TAP_EQ_STR(who.scope, "MDI", "handler sees the scope");
    TAP_EQ_STR(who.name, "mdi-workshop", "handler sees the name");
    TAP_NOTE("ROUTER routing-id frame carries User-Id: %s", idf_user ? "yes" : "no");

    TAP_OK(!s_roundtrip(ctx, router, endpoint, &stranger, server.public_z85, 700, NULL, NULL),
           "unknown client key gets nothing");
    TAP_OK(!s_roundtrip(ctx, router, endpoint, &good, wrong_server.public_z85, 700, NULL, NULL),
           "client with the wrong server key gets nothing");
    TAP_OK(!s_roundtrip(ctx, router, endpoint, NULL, NULL, 700, NULL, NULL),
           "plaintext client of a CURVE server gets nothing");

    auth_allow(auth, late.public_z85, ROLE_FINANCE, "-", "finance-desk");
    memset(&who, 0, sizeof who);
    TAP_OK(s_roundtrip(ctx, router, endpoint, &late, server.public_z85, 3000, &who, NULL),
           "key allowed at run time gets in");
    TAP_EQ_INT(who.role, ROLE_FINANCE, "run-time entry role");
    TAP_EQ_STR(who.scope, "", "'-' scope is empty");

    /* A NULL-mechanism socket in the "pay" domain goes through ZAP too and
     * must be refused: only CURVE is accepted. */
    void *plain = zmq_socket(ctx, ZMQ_ROUTER);
    zmq_setsockopt(plain, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(plain, ZMQ_ZAP_DOMAIN, "pay", 3);
    zmq_bind(plain, "tcp://127.0.0.1:*");
    char plain_ep[256];
    elen = sizeof plain_ep;
    zmq_getsockopt(plain, ZMQ_LAST_ENDPOINT, plain_ep, &elen);
    TAP_OK(!s_roundtrip(ctx, plain, plain_ep, NULL, NULL, 700, NULL, NULL),
           "NULL mechanism is refused by the ZAP handler");
    zmq_close(plain);

    auth_keypair_t nokey = {{0}, {0}};
    void *s2 = zmq_socket(ctx, ZMQ_ROUTER);
    TAP_EQ_INT(auth_curve_server(s2, &nokey, 0), -1, "curve server without a key refused");
    TAP_EQ_INT(auth_curve_client(s2, &good, "short", 0), -1, "curve client bad server key");
    zmq_close(s2);

    zmq_close(router);
    auth_destroy(&auth);
    TAP_EQ_INT(zmq_ctx_term(ctx), 0, "context terminates cleanly");
}

/* A context shut down while the handler runs: the thread must still exit. */
static void test_shutdown_order(void)
{
    void *ctx = zmq_ctx_new();
    auth_t *auth = auth_new(ctx, NULL);
    TAP_OK(auth != NULL, "auth with no allow-list");
    zmq_ctx_shutdown(ctx);
    auth_destroy(&auth);
    TAP_EQ_INT(zmq_ctx_term(ctx), 0, "shutdown before auth_destroy is clean");
}

/* Child mode of test_zap_dies: a CURVE server whose ZAP handler fails. The
 * process must exit with AUTH_EXIT_ZAP_DEAD before an unknown key gets in;
 * returning from here at all is the failure. */
static int s_zap_dies_child(void)
{
    auth_keypair_t server, stranger;
    char endpoint[256];
    int zero = 0;
    auth_keypair_new(&server);
    auth_keypair_new(&stranger);
    void *ctx = zmq_ctx_new();
    auth_t *auth = auth_new(ctx, NULL);
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    if (!auth || auth_curve_server(router, &server, 65536) != 0
        || zmq_bind(router, "tcp://127.0.0.1:*") != 0)
        return 3;
    size_t elen = sizeof endpoint;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &elen);
    auth_test_break_zap(auth);
    for (int i = 0; i < 10; i++)
        if (s_roundtrip(ctx, router, endpoint, &stranger, server.public_z85, 500, NULL, NULL)) {
            printf("a stranger got in\n");
            return 4;
        }
    printf("still running\n");
    return 5;
}

/* A ZAP handler thread that dies takes the process with it. */
static void test_zap_dies(void)
{
    char out[4096] = "", self_exe[1024] = "", cmd[1100];
    size_t got = 0;
    ssize_t sl = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (sl > 0)
        self_exe[sl] = '\0';
    snprintf(cmd, sizeof cmd, "'%s' --zap-dies 2>&1", self_exe);
    FILE *p = popen(cmd, "r");
    TAP_OK(p != NULL, "child started");
    if (!p)
        return;
    while (got < sizeof out - 1) {
        size_t n = fread(out + got, 1, sizeof out - 1 - got, p);
        if (n == 0)
            break;
        got += n;
    }
    out[got] = '\0';
    int st = pclose(p);
    TAP_OK(WIFEXITED(st) && WEXITSTATUS(st) == AUTH_EXIT_ZAP_DEAD,
           "a dead ZAP handler makes the process exit %d (status %d)", AUTH_EXIT_ZAP_DEAD,
           WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    TAP_OK(strstr(out, "\"event\":\"auth.zap_dead\"") != NULL,
           "after one JSON log line auth.zap_dead");
    TAP_OK(strstr(out, "a stranger got in") == NULL, "no unknown key got in meanwhile");
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--zap-dies") == 0)
        return s_zap_dies_child();
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_keys();
    test_allow_file();
    test_allow_file_edit();
    test_identity_parse();
    test_curve();
    test_shutdown_order();
    test_zap_dies();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system(cmd) != 0)
        TAP_NOTE("could not remove %s", s_dir);
    return tap_done();
}
