/* server_test: the API loop over real CURVE sockets (TCP on 127.0.0.1) and a
 * real LMDB store in a temporary folder, with the toy service of
 * tests/testsvc.h: group commit, malformed and oversize frames, per-request
 * rollback inside a batch, idempotent replay, MDB_MAP_FULL reruns, stop with
 * requests queued, and the client's retry across a server restart. */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "tap.h"
#include "testsvc.h"

static char s_dir[] = "/tmp/server_test.XXXXXX";
static void *s_ctx;
static auth_t *s_auth;
static auth_keypair_t s_server_keys, s_alice, s_bob;
static int s_prune_ms;   /* prune_interval_ms of the next s_start (0: default) */
static long s_ttl_s;     /* replay_ttl_s of the next s_start (0: default) */

typedef struct {
    store_t *store;
    testsvc_t svc;
    server_t *server;
    pthread_t thread;
    int run_rc;
    char endpoint[256];
    void *pull;              /* watched by the loop (server_watch) */
    atomic_int watched, ticks, after_commits;
} s_env_t;

static int s_on_watch(void *arg)
{
    s_env_t *env = arg;
    char buf[16];
    while (zmq_recv(env->pull, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
        atomic_fetch_add(&env->watched, 1);
    return 0;
}

static int s_on_tick(void *arg)
{
    atomic_fetch_add(&((s_env_t *)arg)->ticks, 1);
    return 0;
}

static int s_on_commit(void *arg)
{
    atomic_fetch_add(&((s_env_t *)arg)->after_commits, 1);
    return 0;
}

static void *s_server_thread(void *arg)
{
    s_env_t *env = arg;
    env->run_rc = server_run(env->server);
    return NULL;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Opens a store in s_dir/<name> and starts a server on it in a thread. */
static int s_start(s_env_t *env, const char *name, const char *endpoint, size_t map_size,
                   int plaintext, long max_frame)
{
    char path[256];
    const char *dbs[] = {"kv", SERVER_REQUESTS_DB, NULL};
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    memset(env, 0, sizeof *env);
    env->store = store_open(path, dbs, map_size);
    if (!env->store)
        return -1;
    env->svc.kv = store_dbi(env->store, "kv");
    server_config_t cfg = {
        .endpoint = endpoint,
        .keys = plaintext ? NULL : &s_server_keys,
        .auth = s_auth,
        .insecure_plaintext = plaintext,
        .request_desc = &pay__test_request__descriptor,
        .reply_desc = &pay__test_reply__descriptor,
        .handler = testsvc_handle,
        .svc = &env->svc,
        .max_frame = max_frame,
        .no_signals = 1,
        .linger_ms = 200,
        .prune_interval_ms = s_prune_ms,
        .replay_ttl_s = s_ttl_s,
    };
    env->server = server_new(s_ctx, env->store, &cfg);
    if (!env->server)
        return -1;
    snprintf(env->endpoint, sizeof env->endpoint, "%s", server_endpoint(env->server));
    char inproc[300];
    snprintf(inproc, sizeof inproc, "inproc://watch-%s", name);
    env->pull = zmq_socket(s_ctx, ZMQ_PULL);
    if (zmq_bind(env->pull, inproc) != 0
        || server_watch(env->server, env->pull, s_on_watch, env) != 0
        || server_every(env->server, 20, s_on_tick, env) != 0
        || server_after_commit(env->server, s_on_commit, env) != 0)
        return -1;
    return pthread_create(&env->thread, NULL, s_server_thread, env);
}

static int s_stop(s_env_t *env)
{
    server_stop(env->server);
    pthread_join(env->thread, NULL);
    server_destroy(&env->server);
    store_destroy(&env->store);
    zmq_close(env->pull);
    return env->run_rc;
}

static client_t *s_client(s_env_t *env, const auth_keypair_t *keys)
{
    return client_new(s_ctx, env->endpoint, keys, keys ? s_server_keys.public_z85 : NULL, 3000,
                      2);
}

static Pay__TestReply *s_call(client_t *c, Pay__TestRequest *req)
{
    ProtobufCMessage *rep = NULL;
    if (client_call(c, &req->base, &pay__test_reply__descriptor, &rep) != 0)
        return NULL;
    return (Pay__TestReply *)rep;
}

static void s_free(Pay__TestReply **r)
{
    ProtobufCMessage *m = (ProtobufCMessage *)*r;
    codec_free(&m);
    *r = NULL;
}

/* Request builders (the strings are borrowed). */
static Pay__TestRequest s_req(const char *rid)
{
    Pay__TestRequest r = PAY__TEST_REQUEST__INIT;
    r.request_id = (char *)rid;
    return r;
}

static int64_t s_incr(client_t *c, const char *rid, const char *key, int64_t by, int *status)
{
    Pay__TestIncr in = PAY__TEST_INCR__INIT;
    Pay__TestRequest r = s_req(rid);
    in.key = (char *)key;
    in.has_by = 1;
    in.by = by;
    r.body_case = PAY__TEST_REQUEST__BODY_INCR;
    r.incr = &in;
    Pay__TestReply *rep = s_call(c, &r);
    int64_t count = rep && rep->has_count ? rep->count : -1;
    if (status)
        *status = rep ? (int)rep->status : -1;
    if (rep)
        s_free(&rep);
    return count;
}

/* Returns the status of Get; the value is copied to out. */
static int s_get(client_t *c, const char *key, char *out, size_t outlen)
{
    Pay__TestGet g = PAY__TEST_GET__INIT;
    Pay__TestRequest r = s_req(NULL);
    g.key = (char *)key;
    r.body_case = PAY__TEST_REQUEST__BODY_GET;
    r.get = &g;
    Pay__TestReply *rep = s_call(c, &r);
    int st = rep ? (int)rep->status : -1;
    if (out)
        snprintf(out, outlen, "%s", rep && rep->value ? rep->value : "");
    if (rep)
        s_free(&rep);
    return st;
}

/* Sends a Sleep and gives the server 30 ms to start it, so that whatever
 * is sent next queues up and forms the following batch. */
static int s_send_sleep(client_t *c, unsigned ms)
{
    Pay__TestSleep s = PAY__TEST_SLEEP__INIT;
    Pay__TestRequest r = s_req(NULL);
    s.has_ms = 1;
    s.ms = ms;
    r.body_case = PAY__TEST_REQUEST__BODY_SLEEP;
    r.sleep = &s;
    int rc = client_send(c, &r.base, NULL);
    struct timespec ts = {0, 30 * 1000000L};
    nanosleep(&ts, NULL);
    return rc;
}

static int s_send_put(client_t *c, const char *rid, const char *key, const char *val, int fail)
{
    Pay__TestPut p = PAY__TEST_PUT__INIT;
    Pay__TestRequest r = s_req(rid);
    p.key = (char *)key;
    p.value = (char *)val;
    p.has_fail = fail;
    p.fail = fail;
    r.body_case = PAY__TEST_REQUEST__BODY_PUT;
    r.put = &p;
    return client_send(c, &r.base, NULL);
}

/* A raw CURVE DEALER, to send frames no client would. */
static void *s_raw(s_env_t *env, const auth_keypair_t *keys)
{
    void *s = zmq_socket(s_ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (keys)
        auth_curve_client(s, keys, s_server_keys.public_z85, 0);
    zmq_connect(s, env->endpoint);
    return s;
}

static Pay__TestReply *s_raw_reply(void *s, int ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) != 1)
        return NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    zmq_msg_recv(&m, s, 0);
    char err[CODEC_ERR_LEN];
    ProtobufCMessage *r =
        codec_unpack(&pay__test_reply__descriptor, zmq_msg_data(&m), zmq_msg_size(&m), 0, err);
    zmq_msg_close(&m);
    return (Pay__TestReply *)r;
}

/* A raw DEALER that presents `routing_id`, as no client of ours does. */
static void *s_raw_named(s_env_t *env, const auth_keypair_t *keys, const char *routing_id)
{
    void *s = zmq_socket(s_ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_ROUTING_ID, routing_id, strlen(routing_id));
    auth_curve_client(s, keys, s_server_keys.public_z85, 0);
    zmq_connect(s, env->endpoint);
    return s;
}

static int s_raw_send(void *s, Pay__TestRequest *r)
{
    zmq_msg_t m;
    if (codec_pack_msg(&r->base, &m) != 0)
        return -1;
    int rc = zmq_msg_send(&m, s, 0) < 0 ? -1 : 0;
    if (rc != 0)
        zmq_msg_close(&m);
    return rc;
}

/* Without ZMQ_ROUTER_HANDOVER a second connection that presents a live
 * connection's routing id cannot take over the replies meant for it. */
static void test_no_handover(s_env_t *env)
{
    void *a = s_raw_named(env, &s_alice, "victim");
    Pay__TestSleep sl = PAY__TEST_SLEEP__INIT;
    sl.has_ms = 1;
    sl.ms = 400;
    Pay__TestRequest r = s_req("handover-1");
    r.body_case = PAY__TEST_REQUEST__BODY_SLEEP;
    r.sleep = &sl;
    TAP_OK(s_raw_send(a, &r) == 0, "handover: the first connection sends a slow request");
    s_sleep_ms(100);
    void *b = s_raw_named(env, &s_alice, "victim");
    Pay__TestRequest e = s_req("handover-2");
    Pay__TestEcho echo = PAY__TEST_ECHO__INIT;
    echo.text = "intruder";
    e.body_case = PAY__TEST_REQUEST__BODY_ECHO;
    e.echo = &echo;
    s_raw_send(b, &e);
    Pay__TestReply *ra = s_raw_reply(a, 3000);
    TAP_OK(ra && ra->request_id && strcmp(ra->request_id, "handover-1") == 0,
           "handover: the first connection still gets its own reply");
    Pay__TestReply *rb = s_raw_reply(b, 700);
    TAP_OK(rb == NULL, "handover: the second connection with the same id gets nothing");
    if (ra)
        s_free(&ra);
    if (rb)
        s_free(&rb);
    zmq_close(a);
    zmq_close(b);
}

static void test_basics(s_env_t *env)
{
    client_t *c = s_client(env, &s_alice);
    TAP_OK(c != NULL, "client_new");
    Pay__TestEcho e = PAY__TEST_ECHO__INIT;
    Pay__TestRequest r = s_req("echo-1");
    e.text = "hi";
    r.body_case = PAY__TEST_REQUEST__BODY_ECHO;
    r.echo = &e;
    Pay__TestReply *rep = s_call(c, &r);
    TAP_OK(rep != NULL, "echo answered");
    if (rep) {
        TAP_EQ_INT(rep->status, PAY__STATUS__OK, "echo status OK");
        TAP_EQ_STR(rep->message, "hi", "echo text");
        TAP_EQ_STR(rep->request_id, "echo-1", "reply carries the request_id");
        TAP_EQ_STR(rep->caller, "instructor:MDI:alice", "handler sees the ZAP identity");
        s_free(&rep);
    }
    /* No request_id: the client makes one, the server echoes it. */
    r.request_id = NULL;
    char rid[CLIENT_ID_LEN];
    TAP_EQ_INT(client_send(c, &r.base, rid), 0, "send without request_id");
    ProtobufCMessage *m = NULL;
    TAP_EQ_INT(client_recv(c, &pay__test_reply__descriptor, 3000, &m), 0, "recv");
    TAP_OK(m && strlen(rid) == 32 && client_request_id(m)
               && strcmp(client_request_id(m), rid) == 0,
           "generated request_id %s comes back", rid);
    codec_free(&m);
    TAP_EQ_INT(s_get(c, "nothing-here", NULL, 0), PAY__STATUS__NOT_FOUND, "get missing key");
    client_destroy(&c);
    TAP_OK(c == NULL, "client_destroy NULLs");
}

typedef struct {
    s_env_t *env;
    int id, n, ok;
} s_worker_t;

static void *s_worker(void *arg)
{
    s_worker_t *w = arg;
    client_t *c = s_client(w->env, w->id % 2 ? &s_alice : &s_bob);
    char key[32], rid[64];
    snprintf(key, sizeof key, "worker-%d", w->id);
    for (int i = 0; i < w->n; i++) {
        snprintf(rid, sizeof rid, "w%d-%d", w->id, i);
        if (s_incr(c, rid, key, 1, NULL) == i + 1)
            w->ok++;
    }
    client_destroy(&c);
    return NULL;
}

static void test_group_commit(s_env_t *env)
{
    enum { WORKERS = 16, EACH = 25, ASYNC = 200 };
    server_stats_t before, after;
    server_stats(env->server, &before);
    pthread_t th[WORKERS];
    s_worker_t w[WORKERS];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (s_worker_t){env, i, EACH, 0};
        pthread_create(&th[i], NULL, s_worker, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    server_stats(env->server, &after);
    uint64_t reqs = after.requests - before.requests, commits = after.commits - before.commits;
    TAP_EQ_INT(ok, WORKERS * EACH, "%d concurrent clients: every increment answered in order",
               WORKERS);
    TAP_NOTE("%llu requests in %llu commits (%.1f per commit), %.0f req/s, max batch %llu",
             (unsigned long long)reqs, (unsigned long long)commits,
             commits ? (double)reqs / (double)commits : 0.0, (double)reqs / secs,
             (unsigned long long)after.max_batch);
    TAP_OK(commits < reqs, "fewer commits than requests (group commit)");

    /* Many in flight from one client: queued behind a sleeping request,
     * they must come out as batches of more than one. */
    client_t *c = s_client(env, &s_alice);
    server_stats(env->server, &before);
    s_send_sleep(c, 100);
    char rid[32];
    for (int i = 0; i < ASYNC; i++) {
        snprintf(rid, sizeof rid, "async-%d", i);
        Pay__TestIncr in = PAY__TEST_INCR__INIT;
        Pay__TestRequest r = s_req(rid);
        in.key = "async";
        r.body_case = PAY__TEST_REQUEST__BODY_INCR;
        r.incr = &in;
        client_send(c, &r.base, NULL);
    }
    int got = 0, in_order = 1;
    int64_t last = 0;
    for (int i = 0; i < ASYNC + 1; i++) {
        ProtobufCMessage *m = NULL;
        if (client_recv(c, &pay__test_reply__descriptor, 5000, &m) != 0)
            break;
        Pay__TestReply *rep = (Pay__TestReply *)m;
        if (rep->status == PAY__STATUS__OK)
            got++;
        if (rep->has_count) {
            if (rep->count != last + 1)
                in_order = 0;
            last = rep->count;
        }
        codec_free(&m);
    }
    server_stats(env->server, &after);
    TAP_EQ_INT(got, ASYNC + 1, "all %d async replies arrive", ASYNC + 1);
    TAP_OK(in_order && last == ASYNC, "async increments applied once each, in order");
    TAP_OK(after.max_batch > 1, "stats show a batch of %llu requests",
           (unsigned long long)after.max_batch);
    TAP_OK(after.commits - before.commits < 10, "%d requests took %llu commits", ASYNC + 1,
           (unsigned long long)(after.commits - before.commits));
    client_destroy(&c);
}

static void test_malformed(s_env_t *env)
{
    server_stats_t before, after;
    server_stats(env->server, &before);
    void *raw = s_raw(env, &s_alice);
    zmq_send(raw, "\xff\xff\xff\xff", 4, 0);
    Pay__TestReply *rep = s_raw_reply(raw, 3000);
    TAP_OK(rep && rep->status == PAY__STATUS__MALFORMED_REQUEST,
           "garbage frame gets MALFORMED_REQUEST");
    TAP_NOTE("message: %s", rep && rep->message ? rep->message : "(none)");
    if (rep)
        s_free(&rep);

    /* A request without request_id, packed by hand. */
    Pay__TestRequest r = s_req(NULL);
    Pay__TestEcho e = PAY__TEST_ECHO__INIT;
    r.body_case = PAY__TEST_REQUEST__BODY_ECHO;
    r.echo = &e;
    zmq_msg_t m;
    codec_pack_msg(&r.base, &m);
    zmq_msg_send(&m, raw, 0);
    rep = s_raw_reply(raw, 3000);
    TAP_OK(rep && rep->status == PAY__STATUS__MALFORMED_REQUEST && rep->message
               && strstr(rep->message, "request_id"),
           "missing request_id refused");
    if (rep)
        s_free(&rep);

    /* An enum value the schema does not name. */
    r.request_id = "bad-enum";
    e.has_status = 1;
    e.status = (Pay__Status)99;
    codec_pack_msg(&r.base, &m);
    zmq_msg_send(&m, raw, 0);
    rep = s_raw_reply(raw, 3000);
    TAP_OK(rep && rep->status == PAY__STATUS__MALFORMED_REQUEST && rep->message
               && strstr(rep->message, "99"),
           "unknown enum value refused");
    if (rep)
        s_free(&rep);

    /* Multi-frame request (REQ-style empty delimiter): the envelope comes back. */
    e.status = PAY__STATUS__OK;
    r.request_id = "with-delimiter";
    codec_pack_msg(&r.base, &m);
    zmq_send(raw, "", 0, ZMQ_SNDMORE);
    zmq_msg_send(&m, raw, 0);
    zmq_pollitem_t it = {raw, 0, ZMQ_POLLIN, 0};
    int frames = 0, more = 1;
    if (zmq_poll(&it, 1, 3000) == 1)
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            zmq_msg_recv(&part, raw, 0);
            more = zmq_msg_more(&part);
            frames++;
            zmq_msg_close(&part);
        }
    TAP_EQ_INT(frames, 2, "delimiter frame is echoed before the reply");

    /* The next good request on the same connection succeeds. */
    client_t *c = s_client(env, &s_alice);
    TAP_EQ_INT(s_incr(c, "after-garbage", "g", 1, NULL), 1, "next good request succeeds");
    client_destroy(&c);
    zmq_close(raw);
    server_stats(env->server, &after);
    TAP_EQ_INT((long)(after.malformed - before.malformed), 3, "stats count 3 malformed");
}

static void test_oversize(s_env_t *env)
{
    /* This server runs with max_frame 64 KiB: libzmq drops the connection
     * of a peer that sends more (ZMQ_MAXMSGSIZE); nothing reaches us. */
    void *raw = s_raw(env, &s_alice);
    size_t big = 100 * 1024;
    char *buf = calloc(1, big);
    zmq_send(raw, buf, big, 0);
    Pay__TestReply *rep = s_raw_reply(raw, 500);
    TAP_OK(rep == NULL, "oversize frame gets no reply (connection dropped)");
    if (rep)
        s_free(&rep);
    free(buf);
    zmq_close(raw);
    client_t *c = s_client(env, &s_alice);
    TAP_EQ_INT(s_incr(c, "after-oversize", "o", 1, NULL), 1, "server still serves");
    client_destroy(&c);
}

static void test_rollback(s_env_t *env)
{
    client_t *c = s_client(env, &s_alice);
    server_stats_t before, after;
    server_stats(env->server, &before);
    s_send_sleep(c, 100);   /* the three puts queue up behind it */
    s_send_put(c, "put-a", "a", "1", 0);
    s_send_put(c, "put-b", "b", "2", 1);
    s_send_put(c, "put-c", "c", "3", 0);
    int status[4] = {-1, -1, -1, -1};
    for (int i = 0; i < 4; i++) {
        ProtobufCMessage *m = NULL;
        if (client_recv(c, &pay__test_reply__descriptor, 5000, &m) != 0)
            break;
        const char *rid = client_request_id(m);
        int idx = rid && strncmp(rid, "put-", 4) == 0 ? 1 + (rid[4] - 'a') : 0;
        if (idx >= 0 && idx < 4)
            status[idx] = (int)((Pay__TestReply *)m)->status;
        codec_free(&m);
    }
    server_stats(env->server, &after);
    TAP_EQ_INT((long)(after.batches - before.batches), 2, "sleep, then ONE batch of three puts");
    TAP_EQ_INT(status[1], PAY__STATUS__OK, "put a OK");
    TAP_EQ_INT(status[2], PAY__STATUS__INVALID_ARGUMENT, "put b reports its failure");
    TAP_EQ_INT(status[3], PAY__STATUS__OK, "put c OK");
    char v[32];
    TAP_EQ_INT(s_get(c, "a", v, sizeof v), PAY__STATUS__OK, "a kept");
    TAP_EQ_STR(v, "1", "a's value");
    TAP_EQ_INT(s_get(c, "b", v, sizeof v), PAY__STATUS__NOT_FOUND,
               "b's write was rolled back");
    TAP_EQ_INT(s_get(c, "c", v, sizeof v), PAY__STATUS__OK, "c kept");
    TAP_EQ_INT((long)(after.rolled_back - before.rolled_back), 1, "stats count 1 rollback");
    client_destroy(&c);
}

static void test_replay(s_env_t *env)
{
    client_t *a = s_client(env, &s_alice), *b = s_client(env, &s_bob);
    server_stats_t before, after;
    server_stats(env->server, &before);
    TAP_EQ_INT(s_incr(a, "inc-1", "ctr", 5, NULL), 5, "first increment");
    TAP_EQ_INT(s_incr(a, "inc-1", "ctr", 5, NULL), 5, "same request again: first answer");
    TAP_EQ_INT(s_incr(a, "inc-2", "ctr", 5, NULL), 10, "new request_id increments");
    int st = -1;
    TAP_EQ_INT(s_incr(a, "inc-1", "ctr", 7, &st), -1, "same id, other body: no count");
    TAP_EQ_INT(st, PAY__STATUS__DUPLICATE_CONFLICT, "same id, other body: DUPLICATE_CONFLICT");
    TAP_EQ_INT(s_incr(b, "inc-1", "ctr", 5, NULL), 15, "another caller's inc-1 is its own");

    /* The same bytes twice in ONE batch: the second sees the first's record. */
    s_send_sleep(a, 100);
    Pay__TestIncr in = PAY__TEST_INCR__INIT;
    Pay__TestRequest r = s_req("inc-3");
    in.key = "ctr";
    in.has_by = 1;
    in.by = 1;
    r.body_case = PAY__TEST_REQUEST__BODY_INCR;
    r.incr = &in;
    client_send(a, &r.base, NULL);
    client_send(a, &r.base, NULL);
    int64_t counts[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        ProtobufCMessage *m = NULL;
        if (client_recv(a, &pay__test_reply__descriptor, 5000, &m) != 0)
            break;
        counts[i] = ((Pay__TestReply *)m)->count;
        codec_free(&m);
    }
    TAP_OK(counts[1] == 16 && counts[2] == 16, "duplicate in one batch applied once (%lld %lld)",
           (long long)counts[1], (long long)counts[2]);
    char v[32];
    s_get(a, "ctr", v, sizeof v);
    server_stats(env->server, &after);
    TAP_EQ_INT((long)(after.replays - before.replays), 2, "stats count 2 replays");
    TAP_EQ_INT((long)(after.conflicts - before.conflicts), 1, "stats count 1 conflict");
    client_destroy(&a);
    client_destroy(&b);
}

static void test_map_full(void)
{
    /* A 256 KiB map and 8 puts of 48 KiB in one batch: the batch overflows
     * the map, store_write grows it and reruns the whole body. Plaintext:
     * this also covers the test-only mode (anonymous callers). */
    s_env_t env;
    TAP_EQ_INT(s_start(&env, "mapfull", "tcp://127.0.0.1:*", 256 * 1024, 1, 0), 0,
               "small-map plaintext server");
    client_t *c = s_client(&env, NULL);
    size_t vlen = 48 * 1024;
    char *val = malloc(vlen + 1);
    memset(val, 'v', vlen);
    val[vlen] = '\0';
    s_send_sleep(c, 100);
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "big-%d", i);
        s_send_put(c, NULL, key, val, 0);
    }
    int ok = 0;
    for (int i = 0; i < 9; i++) {
        ProtobufCMessage *m = NULL;
        if (client_recv(c, &pay__test_reply__descriptor, 10000, &m) != 0)
            break;
        if (((Pay__TestReply *)m)->status == PAY__STATUS__OK)
            ok++;
        codec_free(&m);
    }
    server_stats_t st;
    server_stats(env.server, &st);
    TAP_EQ_INT(ok, 9, "every request of the overflowing batch answered OK");
    TAP_OK(st.map_retries >= 1, "batch was rerun after MDB_MAP_FULL (%llu reruns)",
           (unsigned long long)st.map_retries);
    TAP_OK(store_map_size(env.store) > 256 * 1024, "map grew to %zu", store_map_size(env.store));
    char v[8];
    TAP_EQ_INT(s_get(c, "big-7", v, sizeof v), PAY__STATUS__OK, "last value stored");
    Pay__TestEcho e = PAY__TEST_ECHO__INIT;
    Pay__TestRequest r = s_req("anon");
    r.body_case = PAY__TEST_REQUEST__BODY_ECHO;
    r.echo = &e;
    Pay__TestReply *rep = s_call(c, &r);
    TAP_OK(rep && rep->caller && strcmp(rep->caller, "none::") == 0,
           "plaintext callers are anonymous");
    if (rep)
        s_free(&rep);
    free(val);
    client_destroy(&c);
    TAP_EQ_INT(s_stop(&env), 0, "small-map server stops");
}

/* Stored answers: `n` entries named <prefix><i>, stored `age_s` ago. */
typedef struct {
    MDB_dbi dbi;
    const char *prefix;
    int n;
    long age_s;
} s_aged_t;

static int s_put_aged(MDB_txn *txn, void *arg)
{
    s_aged_t *a = arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t at = ((uint64_t)ts.tv_sec - (uint64_t)a->age_s) * 1000;
    for (int i = 0; i < a->n; i++) {
        char key[64];
        int kl = snprintf(key, sizeof key, "alice%c%s%d", 0, a->prefix, i);
        uint8_t val[8 + 16 + 4] = {0};
        store_be64_put(val, at);
        memcpy(val + 24, "ansr", 4);
        int rc = store_put(txn, a->dbi, key, (size_t)kl, val, sizeof val, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int s_has_key(store_t *st, const char *prefix, int i)
{
    char key[64];
    int kl = snprintf(key, sizeof key, "alice%c%s%d", 0, prefix, i);
    MDB_txn *txn;
    MDB_val v;
    if (store_read_begin(st, &txn) != 0)
        return -1;
    int rc = store_get(txn, store_dbi(st, SERVER_REQUESTS_DB), key, (size_t)kl, &v);
    mdb_txn_abort(txn);
    return rc == 0;
}

/* A TTL longer than the clock has run (since 1970) must prune nothing:
 * now - ttl would underflow to a cutoff in the far future, and every
 * stored answer would look old. */
static void test_prune_ttl_beyond_clock(void)
{
    TAP_EQ_INT((long)server_prune_cutoff_ms(5000000, 2000), 3000000, "cutoff: now - ttl");
    TAP_EQ_INT((long)server_prune_cutoff_ms(5000000, 5001), 0, "cutoff: a ttl beyond the clock is 0");
    TAP_EQ_INT((long)server_prune_cutoff_ms(5000000, LONG_MAX), 0, "cutoff: no overflow");
    TAP_EQ_INT((long)server_prune_cutoff_ms(5000000, -1), 0, "cutoff: negative ttl keeps all");
    char path[256];
    const char *dbs[] = {"kv", SERVER_REQUESTS_DB, NULL};
    snprintf(path, sizeof path, "%s/prune-ttl", s_dir);
    store_t *st = store_open(path, dbs, 0);
    s_aged_t old = {store_dbi(st, SERVER_REQUESTS_DB), "ancient-", 50, 30L * 24 * 3600};
    TAP_OK(st && store_write(st, s_put_aged, &old) == 0, "answers stored 30 days ago");
    store_destroy(&st);
    s_env_t env;
    s_prune_ms = 20;
    s_ttl_s = 100L * 366 * 24 * 3600;   /* 100 years: more than the clock has run */
    TAP_EQ_INT(s_start(&env, "prune-ttl", "tcp://127.0.0.1:*", 0, 0, 0), 0,
               "server with a 100-year TTL up");
    s_prune_ms = 0;
    s_ttl_s = 0;
    s_sleep_ms(400);   /* about 20 pruning steps */
    server_stats_t stats = {0};
    server_stats(env.server, &stats);
    TAP_EQ_INT((long)stats.pruned, 0, "a TTL beyond the clock prunes nothing");
    int left = 0;
    for (int i = 0; i < old.n; i++)
        left += s_has_key(env.store, "ancient-", i);
    TAP_EQ_INT(left, 50, "every stored answer is kept");
    TAP_EQ_INT(s_stop(&env), 0, "server stops");
}

/* A store that fails under a running loop (say, a feed consumer's commit
 * in a watch): the loop stops with -1 and answers nothing OK after it. */
static void test_store_failure_stops(void)
{
    s_env_t env;
    TAP_EQ_INT(s_start(&env, "fatal", "tcp://127.0.0.1:*", 0, 0, 0), 0, "server up");
    client_t *c = s_client(&env, &s_alice);
    int status = -1;
    s_incr(c, "before-fail", "fatal-kv", 1, &status);
    TAP_EQ_INT(status, PAY__STATUS__OK, "answered while the store is healthy");
    store_fail(env.store, EIO);
    TAP_EQ_INT(store_failed(env.store), EIO, "the store is failed");
    MDB_txn *txn = NULL;
    TAP_EQ_INT(store_read_begin(env.store, &txn), EIO, "a failed store refuses reads");
    pthread_join(env.thread, NULL);
    TAP_EQ_INT(env.run_rc, -1, "server_run returns -1 after a storage failure");
    status = -1;
    s_incr(c, "after-fail", "fatal-kv", 1, &status);
    TAP_OK(status != PAY__STATUS__OK, "nothing is acknowledged after it (status %d)", status);
    client_destroy(&c);
    server_destroy(&env.server);
    store_destroy(&env.store);
    zmq_close(env.pull);
}

static void test_prune(void)
{
    /* 600 answers stored 8 days ago (more than two steps' worth), 5 stored
     * 6 days ago, then a live request: with the default 7-day age, the
     * old ones go, in bounded steps, and the others stay. */
    char path[256];
    const char *dbs[] = {"kv", SERVER_REQUESTS_DB, NULL};
    snprintf(path, sizeof path, "%s/prune", s_dir);
    store_t *st = store_open(path, dbs, 0);
    s_aged_t old = {store_dbi(st, SERVER_REQUESTS_DB), "old-", 600, 8L * 24 * 3600};
    s_aged_t recent = {old.dbi, "recent-", 5, 6L * 24 * 3600};
    TAP_OK(st && store_write(st, s_put_aged, &old) == 0
               && store_write(st, s_put_aged, &recent) == 0,
           "answers stored 8 and 6 days ago");
    store_destroy(&st);

    s_env_t env;
    s_prune_ms = 20;
    TAP_EQ_INT(s_start(&env, "prune", "tcp://127.0.0.1:*", 0, 0, 0), 0, "pruning server up");
    s_prune_ms = 0;
    client_t *c = s_client(&env, &s_alice);
    int status = -1;
    s_incr(c, "live-0", "pruned-kv", 1, &status);
    TAP_EQ_INT(status, PAY__STATUS__OK, "a live request is answered (and its answer stored)");
    server_stats_t stats = {0};
    for (int i = 0; i < 300; i++) {
        server_stats(env.server, &stats);
        if (stats.pruned >= 600)
            break;
        s_sleep_ms(10);
    }
    TAP_EQ_INT((long)stats.pruned, 600, "the 600 old answers pruned");
    s_sleep_ms(100);   /* a few more steps: nothing else goes */
    server_stats(env.server, &stats);
    TAP_EQ_INT((long)stats.pruned, 600, "and nothing more");
    int64_t v = s_incr(c, "live-0", "pruned-kv", 1, &status);
    TAP_OK(status == PAY__STATUS__OK && v == 1, "the live request's answer still replays");
    client_destroy(&c);
    store_t *store = env.store;
    int old_left = 0, recent_left = 0;
    for (int i = 0; i < old.n; i++)
        old_left += s_has_key(store, "old-", i);
    for (int i = 0; i < recent.n; i++)
        recent_left += s_has_key(store, "recent-", i);
    TAP_EQ_INT(old_left, 0, "no answer older than 7 days is left");
    TAP_EQ_INT(recent_left, 5, "answers younger than 7 days are kept");
    TAP_EQ_INT(s_stop(&env), 0, "pruning server stops");
}

typedef struct {
    s_env_t *env;
    const char *endpoint;
    int rc;
} s_restart_t;

/* Brings the main server back on `endpoint` after 600 ms. */
static void *s_restart_thread(void *arg)
{
    s_restart_t *ra = arg;
    struct timespec ts = {0, 600 * 1000000L};
    nanosleep(&ts, NULL);
    ra->rc = s_start(ra->env, "main", ra->endpoint, 0, 0, 64 * 1024);
    return NULL;
}

static void test_stop_and_restart(s_env_t *env)
{
    char endpoint[256];
    snprintf(endpoint, sizeof endpoint, "%s", env->endpoint);
    client_t *c = s_client(env, &s_alice);
    /* One request being handled, more queued behind it, then stop. */
    s_send_sleep(c, 300);
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    for (int i = 0; i < 5; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "late-%d", i);
        Pay__TestIncr in = PAY__TEST_INCR__INIT;
        Pay__TestRequest r = s_req(rid);
        in.key = "late";
        r.body_case = PAY__TEST_REQUEST__BODY_INCR;
        r.incr = &in;
        client_send(c, &r.base, NULL);
    }
    nanosleep(&ts, NULL);
    server_stop(env->server);
    int ok = 0, unavailable = 0;
    for (int i = 0; i < 6; i++) {
        ProtobufCMessage *m = NULL;
        if (client_recv(c, &pay__test_reply__descriptor, 3000, &m) != 0)
            break;
        int st = (int)((Pay__TestReply *)m)->status;
        ok += st == PAY__STATUS__OK;
        unavailable += st == PAY__STATUS__UNAVAILABLE;
        codec_free(&m);
    }
    pthread_join(env->thread, NULL);
    zmq_close(env->pull);
    TAP_EQ_INT(env->run_rc, 0, "server_run returns 0 after server_stop");
    TAP_EQ_INT(ok, 1, "the request in hand was finished and answered");
    TAP_EQ_INT(unavailable, 5, "queued requests were told UNAVAILABLE");
    server_stats_t st;
    server_stats(env->server, &st);
    TAP_EQ_INT((long)st.unavailable, 5, "stats count 5 unavailable");
    server_destroy(&env->server);
    store_destroy(&env->store);
    client_destroy(&c);

    /* Down: a call now must retry until the server is back on the same
     * endpoint, then get its answer; the stored answers survived. */
    c = client_new(s_ctx, endpoint, &s_alice, s_server_keys.public_z85, 250, 20);
    s_restart_t ra = {env, endpoint, -1};
    pthread_t th;
    pthread_create(&th, NULL, s_restart_thread, &ra);
    int64_t count = s_incr(c, "late-0", "late", 1, NULL);
    pthread_join(th, NULL);
    TAP_EQ_INT(ra.rc, 0, "server restarted on the same endpoint");
    TAP_EQ_INT(count, 1, "call made while the server was down is answered");
    TAP_OK(client_retries(c) >= 1, "client retried %llu times",
           (unsigned long long)client_retries(c));
    TAP_EQ_INT(s_incr(c, "inc-1", "ctr", 5, NULL), 5, "replay survives a restart");
    client_destroy(&c);
}

static void test_hooks(s_env_t *env)
{
    char inproc[300];
    snprintf(inproc, sizeof inproc, "inproc://watch-%s", "main");
    void *push = zmq_socket(s_ctx, ZMQ_PUSH);
    zmq_connect(push, inproc);
    for (int i = 0; i < 3; i++)
        zmq_send(push, "ev", 2, 0);
    for (int i = 0; i < 100 && atomic_load(&env->watched) < 3; i++)
        s_sleep_ms(10);
    TAP_EQ_INT(atomic_load(&env->watched), 3, "server_watch: 3 messages seen in the loop");
    int t0 = atomic_load(&env->ticks);
    s_sleep_ms(200);
    int dt = atomic_load(&env->ticks) - t0;
    TAP_OK(dt >= 4 && dt <= 12, "server_every(20 ms): %d ticks in 200 ms", dt);
    client_t *c = s_client(env, &s_alice);
    s_incr(c, "hook-1", "hook", 1, NULL);
    s_sleep_ms(50);
    server_stats_t st;
    server_stats(env->server, &st);
    TAP_EQ_INT((long)atomic_load(&env->after_commits), (long)st.commits,
               "server_after_commit: once per commit (%llu)", (unsigned long long)st.commits);
    client_destroy(&c);
    zmq_close(push);
}

static void test_config_errors(void)
{
    char path[256];
    const char *dbs[] = {"kv", NULL};
    snprintf(path, sizeof path, "%s/noreq", s_dir);
    store_t *store = store_open(path, dbs, 0);
    testsvc_t svc = {store_dbi(store, "kv")};
    server_config_t cfg = {
        .endpoint = "tcp://127.0.0.1:*",
        .keys = &s_server_keys,
        .auth = s_auth,
        .request_desc = &pay__test_request__descriptor,
        .reply_desc = &pay__test_reply__descriptor,
        .handler = testsvc_handle,
        .svc = &svc,
        .no_signals = 1,
    };
    server_t *s = server_new(s_ctx, store, &cfg);
    TAP_OK(s == NULL, "store without server_requests refused");
    server_destroy(&s);
    store_destroy(&store);

    const char *dbs2[] = {"kv", SERVER_REQUESTS_DB, NULL};
    snprintf(path, sizeof path, "%s/cfg", s_dir);
    store = store_open(path, dbs2, 0);
    cfg.auth = NULL;
    s = server_new(s_ctx, store, &cfg);
    TAP_OK(s == NULL, "CURVE without a running auth_t refused");
    cfg.auth = s_auth;
    cfg.request_desc = &pay__test_sleep__descriptor;  /* field 1 is a uint32 */
    s = server_new(s_ctx, store, &cfg);
    TAP_OK(s == NULL, "request type without request_id refused");
    server_destroy(&s);
    cfg.request_desc = &pay__test_request__descriptor;
    cfg.reply_desc = &pay__test_put__descriptor;      /* not a ReplyHeader */
    s = server_new(s_ctx, store, &cfg);
    TAP_OK(s == NULL, "reply type without the ReplyHeader fields refused");
    server_destroy(&s);
    cfg.reply_desc = &pay__test_reply__descriptor;
    s = server_new(s_ctx, store, &cfg);
    TAP_OK(s != NULL, "the same config with all parts is accepted");
    server_destroy(&s);
    store_destroy(&store);
}

/* The request path without a socket (server_new_detached and
 * server_run_frame, what the fuzz harnesses drive): decode limits and the
 * request_id check answer MALFORMED_REQUEST, a handled request is stored
 * for replay in the caller's transaction, the same id with other bytes is
 * a conflict, and the caller's identity reaches the handler. */
static void test_detached(void)
{
    char path[256];
    const char *dbs[] = {"kv", SERVER_REQUESTS_DB, NULL};
    snprintf(path, sizeof path, "%s/detached", s_dir);
    store_t *st = store_open(path, dbs, 0);
    testsvc_t svc = {0};
    svc.kv = st ? store_dbi(st, "kv") : 0;
    server_config_t cfg = {
        .request_desc = &pay__test_request__descriptor,
        .reply_desc = &pay__test_reply__descriptor,
        .handler = testsvc_handle,
        .svc = &svc,
    };
    server_t *srv = st ? server_new_detached(st, &cfg) : NULL;
    TAP_OK(srv != NULL, "detached: a server without a socket");
    if (!srv) {
        store_destroy(&st);
        return;
    }
    auth_identity_t who = {ROLE_FINANCE, "", "bob"};
    MDB_txn *txn = NULL;
    mdb_txn_begin(store_env(st), NULL, 0, &txn);
    const uint8_t *rep;
    size_t rlen;
    Pay__TestReply *r;

    static const uint8_t junk[] = {0xff, 0xff, 0xff};
    int rc = server_run_frame(srv, &who, junk, sizeof junk, txn, &rep, &rlen);
    r = rc == 0 ? pay__test_reply__unpack(NULL, rlen, rep) : NULL;
    TAP_OK(r && r->status == PAY__STATUS__MALFORMED_REQUEST,
           "detached: bytes that do not decode are MALFORMED_REQUEST");
    pay__test_reply__free_unpacked(r, NULL);

    Pay__TestRequest req = s_req("");
    uint8_t frame[256], frame2[256];
    size_t n = pay__test_request__pack(&req, frame);
    rc = server_run_frame(srv, &who, frame, n, txn, &rep, &rlen);
    r = rc == 0 ? pay__test_reply__unpack(NULL, rlen, rep) : NULL;
    TAP_OK(r && r->status == PAY__STATUS__MALFORMED_REQUEST && r->message
           && strstr(r->message, "request_id"), "detached: a request without an id is refused");
    pay__test_reply__free_unpacked(r, NULL);

    Pay__TestIncr in = PAY__TEST_INCR__INIT;
    in.key = "k";
    in.has_by = 1;
    in.by = 5;
    req = s_req("d-1");
    req.body_case = PAY__TEST_REQUEST__BODY_INCR;
    req.incr = &in;
    n = pay__test_request__pack(&req, frame);
    int64_t counts[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        rc = server_run_frame(srv, &who, frame, n, txn, &rep, &rlen);
        r = rc == 0 ? pay__test_reply__unpack(NULL, rlen, rep) : NULL;
        counts[i] = r && r->has_count ? r->count : -1;
        if (i == 0)
            TAP_OK(r && r->caller && strcmp(r->caller, "finance::bob") == 0,
                   "detached: the handler sees the given caller (%s)",
                   r && r->caller ? r->caller : "none");
        pay__test_reply__free_unpacked(r, NULL);
    }
    TAP_OK(counts[0] == 5 && counts[1] == 5,
           "detached: the same request again gets the stored answer (%lld, %lld)",
           (long long)counts[0], (long long)counts[1]);
    in.by = 6;
    size_t n2 = pay__test_request__pack(&req, frame2);
    rc = server_run_frame(srv, &who, frame2, n2, txn, &rep, &rlen);
    r = rc == 0 ? pay__test_reply__unpack(NULL, rlen, rep) : NULL;
    TAP_OK(r && r->status == PAY__STATUS__DUPLICATE_CONFLICT,
           "detached: the same id with other bytes is DUPLICATE_CONFLICT");
    pay__test_reply__free_unpacked(r, NULL);
    mdb_txn_abort(txn);

    /* Aborted: nothing was kept, so the request runs afresh. */
    mdb_txn_begin(store_env(st), NULL, 0, &txn);
    rc = server_run_frame(srv, &who, frame2, n2, txn, &rep, &rlen);
    r = rc == 0 ? pay__test_reply__unpack(NULL, rlen, rep) : NULL;
    TAP_OK(r && r->has_count && r->count == 6,
           "detached: after the caller aborts, nothing of it is left");
    pay__test_reply__free_unpacked(r, NULL);
    mdb_txn_abort(txn);
    server_destroy(&srv);
    store_destroy(&st);
}

int main(void)
{
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        return 1;
    }
    char allow[256];
    snprintf(allow, sizeof allow, "%s/allow", s_dir);
    auth_keypair_new(&s_server_keys);
    auth_keypair_new(&s_alice);
    auth_keypair_new(&s_bob);
    auth_allow_file_append(allow, s_alice.public_z85, ROLE_INSTRUCTOR, "MDI", "alice");
    auth_allow_file_append(allow, s_bob.public_z85, ROLE_FINANCE, "-", "bob");
    s_ctx = zmq_ctx_new();
    s_auth = auth_new(s_ctx, allow);
    TAP_OK(s_auth != NULL, "auth running");

    s_env_t env;
    TAP_EQ_INT(s_start(&env, "main", "tcp://127.0.0.1:*", 0, 0, 64 * 1024), 0, "server up");
    test_basics(&env);
    test_hooks(&env);
    test_group_commit(&env);
    test_malformed(&env);
    test_oversize(&env);
    test_no_handover(&env);
    test_rollback(&env);
    test_replay(&env);
    test_map_full();
    test_prune();
    test_prune_ttl_beyond_clock();
    test_store_failure_stops();
    test_stop_and_restart(&env);
    TAP_EQ_INT(s_stop(&env), 0, "restarted server stops");
    test_config_errors();
    test_detached();

    auth_destroy(&s_auth);
    TAP_EQ_INT(zmq_ctx_term(s_ctx), 0, "context terminates");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system(cmd) != 0)
        TAP_NOTE("could not remove %s", s_dir);
    return tap_done();
}
