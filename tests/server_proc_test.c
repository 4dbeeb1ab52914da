/* server_proc_test: the server loop as a real process (pay-testsvc, given
 * as argv[1]) over CURVE on an ipc endpoint, with its LMDB in a temp dir.
 * Proves: SIGTERM finishes the request in hand, tells the queued ones
 * UNAVAILABLE and exits 0 (and leak-free, since the child runs under ASan
 * too); SIGINT likewise; a call made while the service is down is answered
 * once it is back (Lazy Pirate retry); a stored first answer survives a
 * restart. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "client.h"
#include "codec.h"
#include "tap.h"
#include "testsvc.pb-c.h"

static char s_dir[] = "/tmp/server_proc.XXXXXX";
static const char *s_exe;
static char s_endpoint[256], s_keyfile[256], s_allow[256], s_data[256];
static void *s_ctx;
static auth_keypair_t s_server, s_client;

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static pid_t s_spawn(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(s_exe, s_exe, "--endpoint", s_endpoint, "--data-dir", s_data, "--keys",
              s_keyfile, "--allow", s_allow, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits up to ms for the child; returns its exit status, or -1 (killed). */
static int s_wait(pid_t pid, int ms)
{
    int status;
    for (int waited = 0; waited < ms; waited += 20) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        s_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static client_t *s_client_new(int timeout_ms, int retries)
{
    return client_new(s_ctx, s_endpoint, &s_client, s_server.public_z85, timeout_ms, retries);
}

static int64_t s_incr(client_t *c, const char *rid, const char *key, int *status)
{
    Pay__TestIncr in = PAY__TEST_INCR__INIT;
    Pay__TestRequest r = PAY__TEST_REQUEST__INIT;
    r.request_id = (char *)rid;
    in.key = (char *)key;
    r.body_case = PAY__TEST_REQUEST__BODY_INCR;
    r.incr = &in;
    ProtobufCMessage *m = NULL;
    int64_t count = -1;
    if (status)
        *status = -1;
    if (client_call(c, &r.base, &pay__test_reply__descriptor, &m) == 0) {
        Pay__TestReply *rep = (Pay__TestReply *)m;
        if (rep->has_count)
            count = rep->count;
        if (status)
            *status = (int)rep->status;
    }
    codec_free(&m);
    return count;
}

static int s_ping(client_t *c)
{
    Pay__TestEcho e = PAY__TEST_ECHO__INIT;
    Pay__TestRequest r = PAY__TEST_REQUEST__INIT;
    r.body_case = PAY__TEST_REQUEST__BODY_ECHO;
    r.echo = &e;
    ProtobufCMessage *m = NULL;
    int ok = client_call(c, &r.base, &pay__test_reply__descriptor, &m) == 0
             && ((Pay__TestReply *)m)->status == PAY__STATUS__OK;
    codec_free(&m);
    return ok;
}

typedef struct {
    int delay_ms;
    pid_t pid;
} s_restart_t;

static void *s_restart(void *arg)
{
    s_restart_t *r = arg;
    s_sleep_ms(r->delay_ms);
    r->pid = s_spawn();
    return NULL;
}

static void test_sigterm_drain(pid_t pid)
{
    client_t *slow = s_client_new(3000, 0), *late = s_client_new(3000, 0);
    Pay__TestSleep sl = PAY__TEST_SLEEP__INIT;
    Pay__TestRequest r = PAY__TEST_REQUEST__INIT;
    sl.has_ms = 1;
    sl.ms = 500;
    r.request_id = "slow-1";
    r.body_case = PAY__TEST_REQUEST__BODY_SLEEP;
    r.sleep = &sl;
    client_send(slow, &r.base, NULL);
    s_sleep_ms(150);   /* the sleep is being handled */
    Pay__TestIncr in = PAY__TEST_INCR__INIT;
    Pay__TestRequest q = PAY__TEST_REQUEST__INIT;
    in.key = "queued";
    q.request_id = "queued-1";
    q.body_case = PAY__TEST_REQUEST__BODY_INCR;
    q.incr = &in;
    client_send(late, &q.base, NULL);
    s_sleep_ms(100);
    TAP_EQ_INT(kill(pid, SIGTERM), 0, "SIGTERM sent mid-batch");

    ProtobufCMessage *m = NULL;
    TAP_EQ_INT(client_recv(slow, &pay__test_reply__descriptor, 3000, &m), 0,
               "request in hand answered after SIGTERM");
    TAP_OK(m && ((Pay__TestReply *)m)->status == PAY__STATUS__OK, "with OK");
    codec_free(&m);
    TAP_EQ_INT(client_recv(late, &pay__test_reply__descriptor, 3000, &m), 0,
               "queued request answered");
    TAP_OK(m && ((Pay__TestReply *)m)->status == PAY__STATUS__UNAVAILABLE,
           "with UNAVAILABLE");
    codec_free(&m);
    TAP_EQ_INT(s_wait(pid, 5000), 0, "service exits 0 after SIGTERM");
    client_destroy(&slow);
    client_destroy(&late);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: server_proc_test PATH-TO-pay-testsvc\n");
        return 2;
    }
    s_exe = argv[1];
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        return 1;
    }
    char base[256];
    snprintf(base, sizeof base, "%s/server", s_dir);
    snprintf(s_keyfile, sizeof s_keyfile, "%s/server.key", s_dir);
    snprintf(s_allow, sizeof s_allow, "%s/allow", s_dir);
    snprintf(s_data, sizeof s_data, "%s/data", s_dir);
    snprintf(s_endpoint, sizeof s_endpoint, "ipc://%s/api", s_dir);
    auth_keypair_new(&s_server);
    auth_keypair_new(&s_client);
    TAP_EQ_INT(auth_keypair_save(&s_server, base), 0, "server key files");
    TAP_EQ_INT(auth_allow_file_append(s_allow, s_client.public_z85, ROLE_SERVICE, "-", "tester"),
               0, "allow-list");
    s_ctx = zmq_ctx_new();

    pid_t pid = s_spawn();
    client_t *c = s_client_new(300, 30);
    TAP_OK(s_ping(c), "service answers");
    TAP_EQ_INT(s_incr(c, "r1", "k", NULL), 1, "first increment");
    test_sigterm_drain(pid);

    /* Down now. Call anyway; the service comes back 700 ms later. */
    s_restart_t rs = {700, -1};
    pthread_t th;
    uint64_t retries_before = client_retries(c);
    pthread_create(&th, NULL, s_restart, &rs);
    int64_t n = s_incr(c, "r2", "k", NULL);
    pthread_join(th, NULL);
    pid = rs.pid;
    TAP_EQ_INT(n, 2, "call made while down is answered after the restart");
    TAP_OK(client_retries(c) > retries_before, "client retried (%llu resends)",
           (unsigned long long)(client_retries(c) - retries_before));
    TAP_EQ_INT(s_incr(c, "r1", "k", NULL), 1, "r1 again: the stored first answer");
    TAP_EQ_INT(s_incr(c, "r3", "k", NULL), 3, "r1 was not applied twice");
    TAP_EQ_INT(s_incr(c, "queued-1", "queued", NULL), 1,
               "the request refused at shutdown was never applied");

    TAP_EQ_INT(kill(pid, SIGINT), 0, "SIGINT while idle");
    TAP_EQ_INT(s_wait(pid, 5000), 0, "service exits 0 after SIGINT");

    pid = s_spawn();
    TAP_OK(s_ping(c), "service back again");
    TAP_EQ_INT(kill(pid, SIGTERM), 0, "SIGTERM while idle");
    TAP_EQ_INT(s_wait(pid, 5000), 0, "service exits 0 after idle SIGTERM");

    client_destroy(&c);
    zmq_ctx_term(s_ctx);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system(cmd) != 0)
        TAP_NOTE("could not remove %s", s_dir);
    return tap_done();
}
