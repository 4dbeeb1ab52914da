/* server: the API loop with group commit. See server.h for the contract.
 *
 * A batch is an array of calls, reused from batch to batch. Each call keeps
 * the routing envelope as bytes, the payload frame (zero-copy, and the
 * carrier of the ZAP User-Id), the decoded request and a growable reply
 * buffer. The store_write body resets every reply before it runs, because
 * store_write reruns it after MDB_MAP_FULL.
 *
 * Replay records: key = caller name, NUL, request_id; value = 8-byte
 * big-endian unix milliseconds when stored, 16-byte BLAKE2b of the request
 * frame, then the packed reply.
 *
 * Pipelined commit. LMDB's commit is two syncs: fdatasync of the data
 * pages, then the meta page written through an O_DSYNC descriptor. The
 * batch is committed with MDB_NOMETASYNC (data pages synced, meta page
 * written but not synced: a crash before the next sync loses the batch
 * whole, never the database's integrity), and a helper thread then runs
 * the fdatasync that makes the meta page durable, while this thread drains
 * and runs the next batch's handlers in its own (uncommitted) transaction.
 * The committed batch is "pending": its replies, counters and after-commit
 * hooks wait until that fdatasync has returned, so nothing is acknowledged
 * before it is durable, exactly as before. The pending batch is settled as
 * soon as its sync is done (between two handler calls of the next batch,
 * at the end of that batch's handlers and in any case before its commit),
 * and before any timer, watch or stop runs: whenever code other than the
 * handlers runs, every committed transaction is durable, so e.g. a feed
 * producer never publishes an event that a crash could take back. Two sets
 * of calls alternate: one pending, one being filled. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define S_HASH_LEN 16
#define S_VAL_HDR (8 + S_HASH_LEN)
#define S_MAX_ENVELOPE 4          /* frames kept between routing id and payload */
#define S_ENV_FRAME_MAX 255
#define S_KEY_MAX (AUTH_NAME_LEN + 1 + SERVER_REQUEST_ID_MAX)
#define S_SHRINK_REPLY (64 * 1024)    /* bigger reply buffers are not kept */
#define S_PIPELINE_MIN_BYTES (16 * 1024) /* request bytes worth overlapping a sync */
#define S_PRUNE_BUSY_MS 20        /* next pruning step after one that deleted */

typedef enum {
    CALL_READY = 0,   /* decoded, waiting for the transaction */
    CALL_ANSWERED,    /* reply prepared (malformed, conflict, replay, done) */
} s_state_t;

typedef enum {
    OUT_NONE = 0,
    OUT_KEPT,         /* handler returned 0; writes kept */
    OUT_ROLLED_BACK,  /* handler failed, or its commit did */
    OUT_REPLAYED,
    OUT_CONFLICT,
} s_outcome_t;

struct server_call_t {
    server_t *server;
    /* routing envelope: frame 0 is the routing id */
    uint8_t env[S_MAX_ENVELOPE + 1][S_ENV_FRAME_MAX];
    size_t env_len[S_MAX_ENVELOPE + 1];
    int n_env;
    zmq_msg_t payload;
    int has_payload;
    ProtobufCMessage *req;
    const char *request_id;   /* points into req */
    auth_identity_t who;
    s_state_t state;
    s_outcome_t outcome;
    int readonly;
    int in_handler;
    uint8_t hash[S_HASH_LEN];
    uint8_t *reply;
    size_t reply_len, reply_cap;
    server_later_fn *later_fn;   /* server_call_later: answered later */
    void *later_arg;
    server_later_t *later;       /* its handle, between commit and hand-over */
};

struct server_later_t {
    server_t *server;
    uint8_t env[S_MAX_ENVELOPE + 1][S_ENV_FRAME_MAX];
    size_t env_len[S_MAX_ENVELOPE + 1];
    int n_env;
    char request_id[SERVER_REQUEST_ID_MAX + 1];
};

typedef struct {
    void *socket;
    server_fn *fn;
    void *arg;
} s_watch_t;

typedef struct {
    int interval_ms;
    int64_t due_ms;
    server_fn *fn;
    void *arg;
} s_timer_t;

typedef struct {
    server_fn *fn;
    void *arg;
} s_hook_t;

struct server_t {
    void *ctx;
    store_t *store;
    MDB_dbi req_dbi;
    server_config_t cfg;
    void *router;
    char endpoint[256];
    int wake[2];             /* self-pipe: server_stop and signals write here */
    atomic_int stop;
    server_call_t *calls;
    int n_calls;
    s_watch_t watches[SERVER_MAX_WATCHES];
    int n_watches;
    s_timer_t timers[SERVER_MAX_TIMERS];
    int n_timers;
    s_hook_t hooks[SERVER_MAX_HOOKS];
    int n_hooks;
    const ProtobufCFieldDescriptor *req_id_field;
    pthread_mutex_t stats_lock;
    server_stats_t stats;
    /* pipelined commit: calls[0..max_batch) and calls[max_batch..2*max_batch)
     * alternate; cur is the first call of the set being filled */
    int cur;
    int pending;             /* a committed batch awaits its sync */
    int pend_base, pend_n, pend_ready, pend_runs;
    uint64_t pend_malformed;
    int data_fd;             /* the LMDB data file */
    pthread_t syncer;
    int syncer_started;
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cond;
    int sync_requested, sync_quit, sync_result;
    atomic_int sync_done;
    int sync_pipe[2];        /* a byte each time a sync finishes */
    /* pruning of old stored answers */
    int64_t prune_due_ms;
    uint8_t prune_from[S_KEY_MAX];   /* the next step starts at this key */
    size_t prune_from_len;           /* 0: at the first key */
    uint8_t *prune_keys;             /* SERVER_PRUNE_BATCH keys of S_KEY_MAX */
    size_t prune_lens[SERVER_PRUNE_BATCH];
    int prune_n;
    int fatal;               /* the storage error that stops the loop, or 0 */
};

/* ---- signals ------------------------------------------------------------ */

/* One signal-handling server per process: the handler writes to its pipe. */
static volatile sig_atomic_t s_signalled = 0;
static volatile sig_atomic_t s_signal_fd = -1;

static void s_on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    s_signalled = 1;
    int fd = s_signal_fd;
    if (fd >= 0) {
        ssize_t n = write(fd, "s", 1);
        (void)n;
    }
    errno = saved;
}

/* ---- small helpers ------------------------------------------------------ */

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t s_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void s_fatal(server_t *self, int err);

/* Also true once the store has failed, whoever found out (a feed apply, a
 * timer's write, the loop's own commit): nothing may build on it. */
static int s_stopping(server_t *self)
{
    int failed = store_failed(self->store);
    if (failed && !self->fatal)
        s_fatal(self, failed);
    return atomic_load(&self->stop) || (!self->cfg.no_signals && s_signalled);
}

static int s_reply_reserve(server_call_t *call, size_t len)
{
    if (len <= call->reply_cap)
        return 0;
    size_t cap = call->reply_cap ? call->reply_cap : 256;
    while (cap < len)
        cap *= 2;
    uint8_t *p = realloc(call->reply, cap);
    if (!p)
        return -1;
    call->reply = p;
    call->reply_cap = cap;
    return 0;
}

static int s_reply_bytes(server_call_t *call, const void *data, size_t len)
{
    if (s_reply_reserve(call, len ? len : 1) != 0)
        return -1;
    if (len)
        memcpy(call->reply, data, len);
    call->reply_len = len;
    return 0;
}

/* An error answer; falls back to an empty reply if even that cannot pack. */
static void s_reply_error(server_call_t *call, Pay__Status status, const char *message)
{
    zmq_msg_t m;
    if (codec_error_reply(&m, call->request_id, status, message) == 0)
        s_reply_bytes(call, zmq_msg_data(&m), zmq_msg_size(&m));
    else
        call->reply_len = 0;
    zmq_msg_close(&m);
}

/* Appends field 1 (request_id) as a length-delimited string: when decoding
 * a proto2 message the last occurrence of a singular field wins. */
static int s_append_request_id(server_call_t *call)
{
    size_t idlen = strlen(call->request_id);
    uint8_t head[1 + 10];
    size_t h = 0;
    head[h++] = (1 << 3) | 2;
    for (size_t v = idlen;; v >>= 7) {
        head[h++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f)
            break;
    }
    if (s_reply_reserve(call, call->reply_len + h + idlen) != 0)
        return -1;
    memcpy(call->reply + call->reply_len, head, h);
    memcpy(call->reply + call->reply_len + h, call->request_id, idlen);
    call->reply_len += h + idlen;
    return 0;
}

static const char *s_string_field(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    const char *s;
    memcpy(&s, (const char *)m + f->offset, sizeof s);
    return s;
}

static size_t s_replay_key(const server_call_t *call, uint8_t key[S_KEY_MAX])
{
    size_t nlen = strlen(call->who.name), ilen = strlen(call->request_id);
    memcpy(key, call->who.name, nlen);
    key[nlen] = 0;
    memcpy(key + nlen + 1, call->request_id, ilen);
    return nlen + 1 + ilen;
}

/* ---- the sync thread ---------------------------------------------------- */

static void *s_syncer_main(void *arg)
{
    server_t *self = arg;
    pthread_mutex_lock(&self->sync_lock);
    for (;;) {
        while (!self->sync_requested && !self->sync_quit)
            pthread_cond_wait(&self->sync_cond, &self->sync_lock);
        if (!self->sync_requested)
            break;
        self->sync_requested = 0;
        pthread_mutex_unlock(&self->sync_lock);
        int r = fdatasync(self->data_fd) == 0 ? 0 : errno;
        pthread_mutex_lock(&self->sync_lock);
        self->sync_result = r;
        atomic_store(&self->sync_done, 1);
        pthread_cond_broadcast(&self->sync_cond);
        ssize_t w = write(self->sync_pipe[1], "d", 1);
        (void)w;
    }
    pthread_mutex_unlock(&self->sync_lock);
    return NULL;
}

static void s_sync_start(server_t *self)
{
    pthread_mutex_lock(&self->sync_lock);
    atomic_store(&self->sync_done, 0);
    self->sync_result = 0;
    self->sync_requested = 1;
    pthread_cond_broadcast(&self->sync_cond);
    pthread_mutex_unlock(&self->sync_lock);
}

/* Waits for the sync asked for last; returns 0 or the errno of fdatasync. */
static int s_sync_wait(server_t *self)
{
    pthread_mutex_lock(&self->sync_lock);
    while (!atomic_load(&self->sync_done))
        pthread_cond_wait(&self->sync_cond, &self->sync_lock);
    int r = self->sync_result;
    pthread_mutex_unlock(&self->sync_lock);
    return r;
}

/* ---- handler API -------------------------------------------------------- */

int server_reply(server_call_t *call, const ProtobufCMessage *reply)
{
    server_t *self = call->server;
    if (!call->in_handler || !reply)
        return -1;
    if (reply->descriptor != self->cfg.reply_desc
        && reply->descriptor != &pay__reply_header__descriptor) {
        log_error("server.reply", "handler replied with a %s, not a %s",
                  reply->descriptor->name, self->cfg.reply_desc->name);
        return -1;
    }
    if (!protobuf_c_message_check(reply)) {
        log_error("server.reply", "handler replied with an incomplete %s",
                  reply->descriptor->name);
        return -1;
    }
    size_t len = protobuf_c_message_get_packed_size(reply);
    if (len > (size_t)self->cfg.max_frame - SERVER_REQUEST_ID_MAX - 16) {
        log_error("server.reply", "reply of %zu bytes exceeds the frame limit", len);
        return -1;
    }
    if (s_reply_reserve(call, len ? len : 1) != 0)
        return -1;
    protobuf_c_message_pack(reply, call->reply);
    call->reply_len = len;
    /* No reply carries invalid UTF-8, whatever a handler formatted. */
    size_t fixed = codec_repair_strings(reply->descriptor, call->reply, len);
    if (fixed)
        log_warn("server.reply", "%s: %zu bytes of invalid UTF-8 replaced with '?'",
                 reply->descriptor->short_name, fixed);
    const char *rid = s_string_field(
        reply, protobuf_c_message_descriptor_get_field(reply->descriptor, 1));
    if (!rid || strcmp(rid, call->request_id) != 0)
        return s_append_request_id(call);
    return 0;
}

int server_reply_status(server_call_t *call, Pay__Status status, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    Pay__ReplyHeader h = PAY__REPLY_HEADER__INIT;
    h.request_id = (char *)call->request_id;
    h.has_status = 1;
    h.status = status;
    h.message = text;
    return server_reply(call, &h.base);
}

void server_call_readonly(server_call_t *call)
{
    call->readonly = 1;
}

/* Tells the owner of a later answer that it will not be needed after all
 * (a rerun, a rollback, a batch that did not commit). */
static void s_later_cancel(server_call_t *c)
{
    server_later_fn *fn = c->later_fn;
    c->later_fn = NULL;
    if (fn)
        fn(c->later_arg, NULL);
}

int server_call_later(server_call_t *call, server_later_fn *fn, void *arg)
{
    if (!call || !call->in_handler || !fn)
        return -1;
    s_later_cancel(call);   /* asked twice in one run: the last one stands */
    call->later_fn = fn;
    call->later_arg = arg;
    call->readonly = 1;
    return 0;
}

/* The handle for answering `c` later: its envelope and request_id. */
static server_later_t *s_later_new(server_call_t *c)
{
    server_later_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->server = c->server;
    memcpy(l->env, c->env, sizeof l->env);
    memcpy(l->env_len, c->env_len, sizeof l->env_len);
    l->n_env = c->n_env;
    snprintf(l->request_id, sizeof l->request_id, "%s", c->request_id ? c->request_id : "");
    return l;
}

int server_later_reply(server_later_t **later_p, Pay__Status status, const char *fmt, ...)
{
    if (!later_p || !*later_p)
        return -1;
    server_later_t *l = *later_p;
    server_t *self = l->server;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    zmq_msg_t m;
    int rc = codec_error_reply(&m, l->request_id, status, text);
    if (rc == 0) {
        for (int i = 0; rc == 0 && i < l->n_env; i++)
            if (zmq_send(self->router, l->env[i], l->env_len[i], ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
                rc = -1;
        if (rc == 0 && l->n_env > 0 && zmq_msg_send(&m, self->router, ZMQ_DONTWAIT) < 0)
            rc = -1;
    }
    zmq_msg_close(&m);
    if (rc != 0) {
        pthread_mutex_lock(&self->stats_lock);
        self->stats.errors++;
        pthread_mutex_unlock(&self->stats_lock);
    }
    free(l);
    *later_p = NULL;
    return rc;
}

server_t *server_call_server(server_call_t *call)
{
    return call->server;
}

/* ---- construction ------------------------------------------------------- */

static int s_setopt_int(void *sock, int opt, int v)
{
    return zmq_setsockopt(sock, opt, &v, sizeof v);
}

server_t *server_new(void *zmq_ctx, store_t *store, const server_config_t *cfg)
{
    server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->wake[0] = self->wake[1] = -1;
    self->sync_pipe[0] = self->sync_pipe[1] = -1;
    pthread_mutex_init(&self->stats_lock, NULL);
    pthread_mutex_init(&self->sync_lock, NULL);
    pthread_cond_init(&self->sync_cond, NULL);
    if (!zmq_ctx || !store || !cfg || !cfg->endpoint || !cfg->request_desc
        || !cfg->reply_desc || !cfg->handler) {
        log_error("server.config", "context, store, endpoint, descriptors and handler "
                                   "are required");
        goto fail;
    }
    self->ctx = zmq_ctx;
    self->store = store;
    self->cfg = *cfg;
    server_config_t *c = &self->cfg;
    if (c->max_batch <= 0)
        c->max_batch = SERVER_MAX_BATCH;
    if (c->max_batch_ms <= 0)
        c->max_batch_ms = SERVER_BATCH_MS;
    if (c->max_frame <= 0)
        c->max_frame = CODEC_MAX_FRAME;
    if (c->max_frame < 1024)
        c->max_frame = 1024;
    if (c->heartbeat_ms <= 0)
        c->heartbeat_ms = 1000;
    if (c->heartbeat_timeout_ms <= 0)
        c->heartbeat_timeout_ms = 3 * c->heartbeat_ms;
    if (c->linger_ms == 0)
        c->linger_ms = 1000;
    else if (c->linger_ms < 0)
        c->linger_ms = 0;
    if (c->replay_ttl_s == 0)
        c->replay_ttl_s = SERVER_REPLAY_TTL_S;
    if (c->prune_interval_ms <= 0)
        c->prune_interval_ms = SERVER_PRUNE_MS;
    self->prune_due_ms = s_now_ms() + c->prune_interval_ms;
    c->endpoint = NULL;   /* borrowed; only needed here */

    self->req_id_field = protobuf_c_message_descriptor_get_field(cfg->request_desc, 1);
    if (!self->req_id_field || self->req_id_field->type != PROTOBUF_C_TYPE_STRING
        || self->req_id_field->label == PROTOBUF_C_LABEL_REPEATED) {
        log_error("server.config", "%s: field 1 must be the string request_id",
                  cfg->request_desc->name);
        goto fail;
    }
    const ProtobufCFieldDescriptor *rf = protobuf_c_message_descriptor_get_field(cfg->reply_desc, 1);
    const ProtobufCFieldDescriptor *sf = protobuf_c_message_descriptor_get_field(cfg->reply_desc, 2);
    if (!rf || rf->type != PROTOBUF_C_TYPE_STRING || !sf || sf->type != PROTOBUF_C_TYPE_ENUM) {
        log_error("server.config", "%s must start with the ReplyHeader fields",
                  cfg->reply_desc->name);
        goto fail;
    }
    self->req_dbi = store_dbi(store, SERVER_REQUESTS_DB);
    if (self->req_dbi == (MDB_dbi)-1) {
        log_error("server.config", "the store has no \"%s\" database", SERVER_REQUESTS_DB);
        goto fail;
    }
    if (!cfg->insecure_plaintext && (!cfg->keys || !cfg->auth)) {
        log_error("server.config", "CURVE needs the server keys and a running auth_t");
        goto fail;
    }
    if (sodium_init() < 0)
        goto fail;

    self->calls = calloc(2 * (size_t)c->max_batch, sizeof *self->calls);
    self->prune_keys = malloc((size_t)SERVER_PRUNE_BATCH * S_KEY_MAX);
    if (!self->calls || !self->prune_keys)
        goto fail;
    for (int i = 0; i < 2 * c->max_batch; i++)
        self->calls[i].server = self;

    if (pipe(self->wake) != 0) {
        self->wake[0] = self->wake[1] = -1;
        goto fail;
    }
    if (pipe(self->sync_pipe) != 0) {
        self->sync_pipe[0] = self->sync_pipe[1] = -1;
        goto fail;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(self->wake[i], F_SETFL, fcntl(self->wake[i], F_GETFL) | O_NONBLOCK);
        fcntl(self->wake[i], F_SETFD, FD_CLOEXEC);
        fcntl(self->sync_pipe[i], F_SETFL, fcntl(self->sync_pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(self->sync_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    {
        mdb_filehandle_t fd;
        if (mdb_env_get_fd(store_env(store), &fd) != 0)
            goto fail;
        self->data_fd = fd;
    }
    atomic_store(&self->sync_done, 1);
    {
        /* The sync thread takes no signals: they stay with the loop. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int prc = pthread_create(&self->syncer, NULL, s_syncer_main, self);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (prc != 0)
            goto fail;
    }
    self->syncer_started = 1;

    self->router = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    if (!self->router)
        goto fail;
    if (cfg->insecure_plaintext) {
        int64_t maxmsg = c->max_frame;
        zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
        log_warn("server.plaintext", "API socket without CURVE (test setting)");
    } else if (auth_curve_server(self->router, cfg->keys, c->max_frame) != 0) {
        goto fail;
    }
    /* No ZMQ_ROUTER_HANDOVER: clients never choose a routing id, and with
     * handover a peer presenting a live client's id would take its replies. */
    if (s_setopt_int(self->router, ZMQ_HEARTBEAT_IVL, c->heartbeat_ms) != 0
        || s_setopt_int(self->router, ZMQ_HEARTBEAT_TIMEOUT, c->heartbeat_timeout_ms) != 0
        || s_setopt_int(self->router, ZMQ_HEARTBEAT_TTL, c->heartbeat_timeout_ms) != 0
        || s_setopt_int(self->router, ZMQ_LINGER, c->linger_ms) != 0
        || s_setopt_int(self->router, ZMQ_SNDHWM, 10000) != 0
        || s_setopt_int(self->router, ZMQ_RCVHWM, 10000) != 0) {
        log_error("server.socket", "setsockopt: %s", zmq_strerror(errno));
        goto fail;
    }
    if (zmq_bind(self->router, cfg->endpoint) != 0) {
        log_error("server.bind", "cannot bind %s: %s", cfg->endpoint, zmq_strerror(errno));
        goto fail;
    }
    size_t elen = sizeof self->endpoint;
    if (zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, self->endpoint, &elen) != 0)
        snprintf(self->endpoint, sizeof self->endpoint, "%s", cfg->endpoint);
    log_info("server.start", "listening on %s (%s, batch %d / %d ms)", self->endpoint,
             cfg->insecure_plaintext ? "plaintext" : "CURVE", c->max_batch, c->max_batch_ms);
    return self;
fail:
    server_destroy(&self);
    return NULL;
}

void server_destroy(server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    server_t *self = *self_p;
    if (self->syncer_started) {
        pthread_mutex_lock(&self->sync_lock);
        self->sync_quit = 1;
        pthread_cond_broadcast(&self->sync_cond);
        pthread_mutex_unlock(&self->sync_lock);
        pthread_join(self->syncer, NULL);
    }
    if (self->router)
        zmq_close(self->router);
    if (self->calls) {
        for (int i = 0; i < 2 * self->cfg.max_batch; i++) {
            server_call_t *c = &self->calls[i];
            if (c->has_payload)
                zmq_msg_close(&c->payload);
            codec_free(&c->req);
            free(c->reply);
        }
        free(self->calls);
    }
    if (s_signal_fd == self->wake[1])
        s_signal_fd = -1;
    for (int i = 0; i < 2; i++) {
        if (self->wake[i] >= 0)
            close(self->wake[i]);
        if (self->sync_pipe[i] >= 0)
            close(self->sync_pipe[i]);
    }
    pthread_mutex_destroy(&self->stats_lock);
    pthread_mutex_destroy(&self->sync_lock);
    pthread_cond_destroy(&self->sync_cond);
    free(self->prune_keys);
    free(self);
    *self_p = NULL;
}

const char *server_endpoint(server_t *self)
{
    return self->endpoint;
}

int server_watch(server_t *self, void *socket, server_fn *fn, void *arg)
{
    if (!socket || !fn || self->n_watches >= SERVER_MAX_WATCHES)
        return -1;
    self->watches[self->n_watches++] = (s_watch_t){socket, fn, arg};
    return 0;
}

int server_every(server_t *self, int interval_ms, server_fn *fn, void *arg)
{
    if (interval_ms <= 0 || !fn || self->n_timers >= SERVER_MAX_TIMERS)
        return -1;
    self->timers[self->n_timers++] =
        (s_timer_t){interval_ms, s_now_ms() + interval_ms, fn, arg};
    return 0;
}

int server_after_commit(server_t *self, server_fn *fn, void *arg)
{
    if (!fn || self->n_hooks >= SERVER_MAX_HOOKS)
        return -1;
    self->hooks[self->n_hooks++] = (s_hook_t){fn, arg};
    return 0;
}

void server_stop(server_t *self)
{
    atomic_store(&self->stop, 1);
    if (self->wake[1] >= 0) {
        ssize_t n = write(self->wake[1], "x", 1);
        (void)n;
    }
}

void server_stats(server_t *self, server_stats_t *out)
{
    pthread_mutex_lock(&self->stats_lock);
    *out = self->stats;
    pthread_mutex_unlock(&self->stats_lock);
}

/* ---- receiving ---------------------------------------------------------- */

static void s_call_reset(server_call_t *c)
{
    s_later_cancel(c);
    if (c->has_payload)
        zmq_msg_close(&c->payload);
    c->has_payload = 0;
    codec_free(&c->req);
    c->request_id = NULL;
    c->n_env = 0;
    c->state = CALL_READY;
    c->outcome = OUT_NONE;
    c->readonly = 0;
    c->in_handler = 0;
    c->reply_len = 0;
    memset(&c->who, 0, sizeof c->who);
    if (c->reply_cap > S_SHRINK_REPLY) {
        free(c->reply);
        c->reply = NULL;
        c->reply_cap = 0;
    }
}

/* Reads one whole message from the ROUTER without blocking. Returns 1 with
 * the call filled (state READY, or ANSWERED with an error reply), 0 if
 * nothing is waiting, -1 on a socket error. A message whose envelope
 * cannot be kept is dropped whole (returns 1 with n_env == 0). */
static int s_recv_call(server_t *self, server_call_t *c)
{
    int more = 1, nframes = 0, oversized_env = 0;
    s_call_reset(c);
    zmq_msg_init(&c->payload);
    c->has_payload = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, self->router, nframes == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            int err = errno;
            zmq_msg_close(&part);
            if (nframes == 0 && err == EAGAIN)
                return 0;
            errno = err;
            return -1;
        }
        more = zmq_msg_more(&part);
        nframes++;
        if (!more) {
            zmq_msg_move(&c->payload, &part);
        } else if (c->n_env <= S_MAX_ENVELOPE && zmq_msg_size(&part) <= S_ENV_FRAME_MAX) {
            memcpy(c->env[c->n_env], zmq_msg_data(&part), zmq_msg_size(&part));
            c->env_len[c->n_env++] = zmq_msg_size(&part);
        } else {
            oversized_env = 1;
        }
        zmq_msg_close(&part);
    }
    c->state = CALL_ANSWERED;
    if (nframes < 2 || c->n_env == 0)
        return 1;   /* no routing id: nothing to answer */
    if (oversized_env) {
        c->n_env = 1;   /* answer the routing id alone */
        s_reply_error(c, PAY__STATUS__MALFORMED_REQUEST, "too many envelope frames");
        return 1;
    }
    c->state = CALL_READY;
    return 1;
}

/* Decodes and checks a READY call; on refusal it becomes ANSWERED. */
static void s_decode_call(server_t *self, server_call_t *c)
{
    char err[CODEC_ERR_LEN];
    const char *why = NULL;
    size_t len = zmq_msg_size(&c->payload);
    if (!self->cfg.insecure_plaintext) {
        int who = auth_identity_from_msg(self->cfg.auth, &c->payload, &c->who);
        if (who != 0) {
            /* A revoked key (1) on a connection it opened before; no
             * identity at all (-1) cannot happen behind our ZAP handler. */
            s_reply_error(c, PAY__STATUS__PERMISSION_DENIED,
                          who > 0 ? "this key is no longer on the allow-list"
                                  : "no caller identity");
            c->state = CALL_ANSWERED;
            return;
        }
    }
    if (len > (size_t)self->cfg.max_frame) {
        snprintf(err, sizeof err, "frame of %zu bytes exceeds %ld", len, self->cfg.max_frame);
        why = err;
    } else {
        c->req = codec_unpack(self->cfg.request_desc, zmq_msg_data(&c->payload), len,
                              self->cfg.max_decode_bytes, err);
        if (!c->req)
            why = err;
    }
    if (!why) {
        const char *rid = s_string_field(c->req, self->req_id_field);
        size_t rlen = rid ? strlen(rid) : 0;
        if (rlen == 0)
            why = "missing request_id";
        else if (rlen > SERVER_REQUEST_ID_MAX)
            why = "request_id longer than 128 bytes";
        else
            c->request_id = rid;
    }
    if (why) {
        /* The request_id is echoed only once it is known to be sane. */
        c->request_id = NULL;
        s_reply_error(c, PAY__STATUS__MALFORMED_REQUEST, why);
        c->state = CALL_ANSWERED;
        return;
    }
    crypto_generichash(c->hash, S_HASH_LEN, zmq_msg_data(&c->payload), len, NULL, 0);
}

/* ---- the batch ---------------------------------------------------------- */

typedef struct {
    server_t *self;
    int base;      /* first call of the batch in self->calls */
    int n;
    int runs;
} s_batch_t;

static void s_settle(server_t *self);

/* Runs one READY call in a nested transaction of `txn`. Returns 0, or an
 * error that must abort the whole batch (MDB_MAP_FULL included). */
static int s_run_call(server_t *self, server_call_t *c, MDB_txn *txn)
{
    uint8_t key[S_KEY_MAX];
    MDB_val k = {s_replay_key(c, key), key}, v;
    int rc = mdb_get(txn, self->req_dbi, &k, &v);
    if (rc == 0) {
        if (v.mv_size >= S_VAL_HDR
            && memcmp((uint8_t *)v.mv_data + 8, c->hash, S_HASH_LEN) == 0) {
            if (s_reply_bytes(c, (uint8_t *)v.mv_data + S_VAL_HDR, v.mv_size - S_VAL_HDR) != 0)
                return ENOMEM;
            c->outcome = OUT_REPLAYED;
        } else {
            s_reply_error(c, PAY__STATUS__DUPLICATE_CONFLICT,
                          "request_id already used for a different request");
            c->outcome = OUT_CONFLICT;
        }
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return rc;

    MDB_txn *child = NULL;
    rc = mdb_txn_begin(store_env(self->store), txn, 0, &child);
    if (rc != 0)
        return rc;
    c->in_handler = 1;
    int hrc = self->cfg.handler(self->cfg.svc, c, &c->who, c->req, c->request_id, child);
    c->in_handler = 0;
    if (hrc != 0)
        s_later_cancel(c);   /* rolled back: nothing to answer later */
    if (hrc == MDB_MAP_FULL) {
        mdb_txn_abort(child);
        return MDB_MAP_FULL;
    }
    if (hrc != 0) {
        mdb_txn_abort(child);
        c->outcome = OUT_ROLLED_BACK;
        if (c->reply_len == 0)
            s_reply_error(c, PAY__STATUS__INTERNAL, "request failed; nothing was changed");
        return 0;
    }
    if (c->reply_len == 0)
        s_reply_error(c, PAY__STATUS__OK, NULL);
    if (!c->readonly) {
        MDB_val val = {S_VAL_HDR + c->reply_len, NULL};
        rc = mdb_put(child, self->req_dbi, &k, &val, MDB_RESERVE);
        if (rc == 0) {
            store_be64_put(val.mv_data, s_unix_ms());
            memcpy((uint8_t *)val.mv_data + 8, c->hash, S_HASH_LEN);
            memcpy((uint8_t *)val.mv_data + S_VAL_HDR, c->reply, c->reply_len);
        }
    }
    if (rc == 0)
        rc = mdb_txn_commit(child);   /* frees child even on failure */
    else
        mdb_txn_abort(child);
    if (rc == MDB_MAP_FULL)
        return rc;
    if (rc != 0) {
        log_error("server.txn", "request %s: %s", c->request_id, mdb_strerror(rc));
        s_reply_error(c, PAY__STATUS__INTERNAL, "storage error; nothing was changed");
        c->outcome = OUT_ROLLED_BACK;
        return 0;
    }
    c->outcome = OUT_KEPT;
    return 0;
}

static int s_batch_body(MDB_txn *txn, void *arg)
{
    s_batch_t *b = arg;
    server_t *self = b->self;
    server_call_t *calls = &self->calls[b->base];
    b->runs++;
    for (int i = 0; i < b->n; i++) {
        server_call_t *c = &calls[i];
        if (c->state == CALL_READY) {
            s_later_cancel(c);   /* a rerun asks again */
            c->reply_len = 0;
            c->outcome = OUT_NONE;
            c->readonly = 0;
        }
    }
    for (int i = 0; i < b->n; i++) {
        server_call_t *c = &calls[i];
        if (c->state != CALL_READY)
            continue;
        int rc = s_run_call(self, c, txn);
        if (rc != 0)
            return rc;
        /* The previous batch's sync may be done: answer it now. */
        if (self->pending && atomic_load(&self->sync_done))
            s_settle(self);
    }
    /* Before this batch commits, the previous one is durable and answered
     * (its hooks read the store: they see it, not this uncommitted batch). */
    if (self->pending)
        s_settle(self);
    return 0;
}

static int s_send_reply(server_t *self, server_call_t *c)
{
    if (c->n_env == 0)
        return 0;
    for (int i = 0; i < c->n_env; i++)
        if (zmq_send(self->router, c->env[i], c->env_len[i], ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            return -1;
    if (zmq_send(self->router, c->reply ? (void *)c->reply : (void *)"", c->reply_len,
                 ZMQ_DONTWAIT) < 0)
        return -1;
    return 0;
}

/* Counters, replies, call reset and (if committed) the after-commit hooks
 * of the batch of `n` calls from `base`. */
static void s_finish(server_t *self, int base, int n, int ready, uint64_t malformed, int runs,
                     int committed)
{
    server_call_t *calls = &self->calls[base];
    /* Counters first, so that a client holding its reply sees them. */
    pthread_mutex_lock(&self->stats_lock);
    server_stats_t *s = &self->stats;
    s->requests += (uint64_t)n;
    s->malformed += malformed;
    if (ready > 0) {
        s->batches++;
        if ((uint64_t)ready > s->max_batch)
            s->max_batch = (uint64_t)ready;
        if (runs > 1)
            s->map_retries += (uint64_t)(runs - 1);
        if (committed) {
            s->commits++;
        } else {
            s->errors++;
        }
        for (int i = 0; committed && i < n; i++) {
            switch (calls[i].outcome) {
            case OUT_KEPT: s->handled++; break;
            case OUT_ROLLED_BACK: s->handled++; s->rolled_back++; break;
            case OUT_REPLAYED: s->replays++; break;
            case OUT_CONFLICT: s->conflicts++; break;
            default: break;
            }
        }
    }
    pthread_mutex_unlock(&self->stats_lock);

    /* A request to be answered later (server_call_later) gets no reply now,
     * once its batch is durable; otherwise its owner hears it is off. */
    for (int i = 0; i < n; i++) {
        server_call_t *c = &calls[i];
        c->later = NULL;
        if (c->later_fn && committed && c->outcome == OUT_KEPT && !(c->later = s_later_new(c))) {
            s_reply_error(c, PAY__STATUS__INTERNAL, "out of memory");
            s_later_cancel(c);
        }
    }
    uint64_t send_errors = 0;
    for (int i = 0; i < n; i++)
        if (!calls[i].later && s_send_reply(self, &calls[i]) != 0)
            send_errors++;
    for (int i = 0; i < n; i++) {
        server_call_t *c = &calls[i];
        if (c->later) {
            server_later_fn *fn = c->later_fn;
            server_later_t *l = c->later;
            c->later_fn = NULL;
            c->later = NULL;
            fn(c->later_arg, l);
        }
    }
    if (send_errors) {
        pthread_mutex_lock(&self->stats_lock);
        self->stats.errors += send_errors;
        pthread_mutex_unlock(&self->stats_lock);
    }

    for (int i = 0; i < n; i++)
        s_call_reset(&calls[i]);

    if (committed)
        for (int i = 0; i < self->n_hooks; i++)
            if (self->hooks[i].fn(self->hooks[i].arg) != 0) {
                log_warn("server.hook", "after-commit hook %d failed", i);
                pthread_mutex_lock(&self->stats_lock);
                self->stats.errors++;
                pthread_mutex_unlock(&self->stats_lock);
            }
}

/* A storage failure: the store refuses everything from now on, and the
 * loop stops (server_run returns -1) once the batch in hand is answered,
 * never acknowledged. */
static void s_fatal(server_t *self, int err)
{
    store_fail(self->store, err);
    if (!self->fatal) {
        self->fatal = err;
        log_error("server.fatal", "storage failure (%s): stopping without acknowledging "
                  "anything more; a restart recovers the last durable state",
                  mdb_strerror(err));
    }
    atomic_store(&self->stop, 1);
}

/* The answer to the requests of a batch that a storage failure caught: not
 * stored durably, so not acknowledged. Out of space is the operator's to
 * fix (RESOURCE_EXHAUSTED); anything else is UNAVAILABLE, which clients
 * resend as they would after silence, reaching the restarted service (the
 * same request_id: answered from its stored answer if the batch did reach
 * the disk after all, handled afresh if not). */
static void s_reply_fatal(server_call_t *c, int err)
{
    if (err == ENOSPC || err == EDQUOT)
        s_reply_error(c, PAY__STATUS__RESOURCE_EXHAUSTED,
                      "the service's disk is full: not stored; free space, then retry");
    else
        s_reply_error(c, PAY__STATUS__UNAVAILABLE,
                      "storage failure: not stored; the service restarts; retry");
    c->outcome = OUT_NONE;
}

/* Waits for the pending batch's sync, then answers it. If the sync failed,
 * the batch may not be durable and the page cache can no longer be
 * trusted: fatal (see s_fatal); nothing of the batch is acknowledged. */
static void s_settle(server_t *self)
{
    if (!self->pending)
        return;
    int r = s_sync_wait(self);
    char buf[64];
    while (read(self->sync_pipe[0], buf, sizeof buf) > 0) {
    }
    self->pending = 0;
    int committed = 1;
    if (r != 0) {
        log_error("server.commit", "batch of %d requests not made durable: fdatasync: %s",
                  self->pend_ready, strerror(r));
        s_fatal(self, r);
        committed = 0;
        for (int i = 0; i < self->pend_n; i++) {
            server_call_t *c = &self->calls[self->pend_base + i];
            if (c->state == CALL_READY)
                s_reply_fatal(c, r);
        }
    }
    s_finish(self, self->pend_base, self->pend_n, self->pend_ready, self->pend_malformed,
             self->pend_runs, committed);
}

/* Drains, decodes and commits one batch; it is answered once durable (see
 * s_settle). Returns the number of requests taken, or -1 on a socket error. */
static int s_batch(server_t *self)
{
    int n = 0, ready = 0, rc;
    int base = self->cur;
    server_call_t *calls = &self->calls[base];
    int64_t t0 = s_now_us(), limit = (int64_t)self->cfg.max_batch_ms * 1000;
    while (n < self->cfg.max_batch) {
        if (n > 0 && s_now_us() - t0 >= limit)
            break;
        rc = s_recv_call(self, &calls[n]);
        if (rc < 0) {
            if (n == 0)
                return -1;
            break;
        }
        if (rc == 0)
            break;
        n++;
    }
    if (n == 0)
        return 0;

    uint64_t malformed = 0;
    for (int i = 0; i < n; i++) {
        server_call_t *c = &calls[i];
        if (c->state == CALL_READY)
            s_decode_call(self, c);
        if (c->state == CALL_READY)
            ready++;
        else
            malformed++;
    }

    /* The previous batch is answered before this one runs if its sync is
     * done already, or if this batch is light: overlapping the sync with a
     * few small requests gains little, and would split closed-loop clients
     * into two groups, each waiting for the other's commit. */
    if (self->pending) {
        size_t bytes = 0;
        for (int i = 0; i < n; i++)
            if (calls[i].state == CALL_READY)
                bytes += zmq_msg_size(&calls[i].payload);
        if (bytes < S_PIPELINE_MIN_BYTES || atomic_load(&self->sync_done))
            s_settle(self);
    }
    s_batch_t b = {self, base, n, 0};
    if (ready == 0) {
        s_settle(self);
        s_finish(self, base, n, 0, malformed, 0, 0);
        return n;
    }
    MDB_env *env = store_env(self->store);
    mdb_env_set_flags(env, MDB_NOMETASYNC, 1);
    rc = store_write(self->store, s_batch_body, &b);
    mdb_env_set_flags(env, MDB_NOMETASYNC, 0);
    s_settle(self);   /* if the body did not get to it */
    if (rc != 0) {
        int failed = store_failed(self->store);
        log_error("server.commit", "batch of %d requests not committed: %s", ready,
                  mdb_strerror(rc));
        if (failed)
            s_fatal(self, failed);
        for (int i = 0; i < n; i++) {
            server_call_t *c = &calls[i];
            if (c->state != CALL_READY)
                continue;
            if (failed) {
                s_reply_fatal(c, failed);
            } else {
                s_reply_error(c, PAY__STATUS__INTERNAL, "storage error; nothing was changed");
                c->outcome = OUT_NONE;
            }
        }
        s_finish(self, base, n, ready, malformed, b.runs, 0);
        return n;
    }
    /* Committed, the meta page not yet synced: answered once it is. */
    s_sync_start(self);
    self->pending = 1;
    self->pend_base = base;
    self->pend_n = n;
    self->pend_ready = ready;
    self->pend_runs = b.runs;
    self->pend_malformed = malformed;
    self->cur = base == 0 ? self->cfg.max_batch : 0;
    return n;
}

/* While stopping: answer what is already queued with UNAVAILABLE, so that
 * clients retry elsewhere at once instead of waiting out their timeout. */
static void s_refuse_pending(server_t *self)
{
    server_call_t *c = &self->calls[self->cur];
    for (int i = 0; i < 100 * self->cfg.max_batch; i++) {
        int rc = s_recv_call(self, c);
        if (rc <= 0)
            break;
        if (c->state == CALL_READY) {
            char err[CODEC_ERR_LEN];
            c->req = codec_unpack(self->cfg.request_desc, zmq_msg_data(&c->payload),
                                  zmq_msg_size(&c->payload), self->cfg.max_decode_bytes, err);
            const char *rid = c->req ? s_string_field(c->req, self->req_id_field) : NULL;
            c->request_id = rid && strlen(rid) <= SERVER_REQUEST_ID_MAX ? rid : NULL;
            s_reply_error(c, PAY__STATUS__UNAVAILABLE, "shutting down; retry");
        }
        pthread_mutex_lock(&self->stats_lock);
        self->stats.unavailable++;
        self->stats.requests++;
        pthread_mutex_unlock(&self->stats_lock);
        s_send_reply(self, c);
        s_call_reset(c);
    }
}

/* ---- pruning old stored answers ----------------------------------------- */

static int s_prune_body(MDB_txn *txn, void *arg)
{
    server_t *self = arg;
    for (int i = 0; i < self->prune_n; i++) {
        MDB_val k = {self->prune_lens[i], self->prune_keys + (size_t)i * S_KEY_MAX};
        int rc = mdb_del(txn, self->req_dbi, &k, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

/* One bounded step: examines up to SERVER_PRUNE_SCAN entries from where the
 * last step stopped (wrapping at the end) and deletes those stored before
 * now - replay_ttl_s, at most SERVER_PRUNE_BATCH, in one transaction. Runs
 * only when no batch is pending, so its commit is an ordinary durable one. */
static void s_prune_step(server_t *self)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t cutoff = server_prune_cutoff_ms(s_unix_ms(), self->cfg.replay_ttl_s);
    int rc, scanned = 0;
    self->prune_n = 0;
    if (cutoff == 0)
        return;   /* the TTL reaches back before the epoch: nothing is old enough */
    if ((rc = store_read_begin(self->store, &txn)) != 0
        || (rc = mdb_cursor_open(txn, self->req_dbi, &cur)) != 0)
        goto done;
    if (self->prune_from_len > 0) {
        k.mv_size = self->prune_from_len;
        k.mv_data = self->prune_from;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    while (rc == 0 && scanned < SERVER_PRUNE_SCAN && self->prune_n < SERVER_PRUNE_BATCH) {
        scanned++;
        if (v.mv_size >= 8 && k.mv_size <= S_KEY_MAX
            && store_be64_get(v.mv_data) < cutoff) {
            memcpy(self->prune_keys + (size_t)self->prune_n * S_KEY_MAX, k.mv_data, k.mv_size);
            self->prune_lens[self->prune_n++] = k.mv_size;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && k.mv_size <= S_KEY_MAX) {
        memcpy(self->prune_from, k.mv_data, k.mv_size);   /* the next step starts here */
        self->prune_from_len = k.mv_size;
        rc = 0;
    } else {
        self->prune_from_len = 0;   /* at the end: start again from the first */
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
done:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);   /* closed before any write: the map may grow */
    if (rc == 0 && self->prune_n > 0) {
        rc = store_write(self->store, s_prune_body, self);
        if (rc == 0) {
            pthread_mutex_lock(&self->stats_lock);
            self->stats.pruned += (uint64_t)self->prune_n;
            pthread_mutex_unlock(&self->stats_lock);
        }
    }
    if (rc != 0)
        log_warn("server.prune", "pruning stored answers: %s", mdb_strerror(rc));
}

uint64_t server_prune_cutoff_ms(uint64_t now_unix_ms, long ttl_s)
{
    if (ttl_s < 0)
        return 0;
    if ((uint64_t)ttl_s > now_unix_ms / 1000)
        return 0;   /* also keeps ttl_s * 1000 from overflowing */
    return now_unix_ms - (uint64_t)ttl_s * 1000;
}

static void s_prune_maybe(server_t *self)
{
    if (self->cfg.replay_ttl_s < 0)
        return;
    int64_t now = s_now_ms();
    if (now < self->prune_due_ms)
        return;
    s_settle(self);
    s_prune_step(self);
    /* While old entries turn up, keep going at a faster pace (each step is
     * still bounded), so that pruning keeps up with a busy service. */
    int next = self->cfg.prune_interval_ms;
    if (self->prune_n > 0 && next > S_PRUNE_BUSY_MS)
        next = S_PRUNE_BUSY_MS;
    self->prune_due_ms = s_now_ms() + next;
}

/* ---- the loop ----------------------------------------------------------- */

static long s_timeout(server_t *self)
{
    int64_t now = s_now_ms(), next = INT64_MAX;
    if (self->cfg.replay_ttl_s >= 0)
        next = self->prune_due_ms;
    for (int i = 0; i < self->n_timers; i++)
        if (self->timers[i].due_ms < next)
            next = self->timers[i].due_ms;
    if (next == INT64_MAX)
        return -1;
    return next <= now ? 0 : (long)(next - now);
}

static void s_run_timers(server_t *self)
{
    int64_t now = s_now_ms();
    for (int i = 0; i < self->n_timers; i++) {
        s_timer_t *t = &self->timers[i];
        if (t->due_ms > now)
            continue;
        s_settle(self);
        /* Schedule from now: a slow loop skips ticks rather than bunching. */
        t->due_ms = now + t->interval_ms;
        if (t->fn(t->arg) != 0)
            log_warn("server.timer", "timer %d failed", i);
    }
}

int server_run(server_t *self)
{
    struct sigaction sa, old_term, old_int;
    int rc = 0;
    if (!self->cfg.no_signals) {
        s_signalled = 0;
        s_signal_fd = self->wake[1];
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = s_on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;   /* no SA_RESTART: interrupt zmq_poll */
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGINT, &sa, &old_int);
    }

    zmq_pollitem_t items[3 + SERVER_MAX_WATCHES];
    int n_items = 3 + self->n_watches;
    items[0] = (zmq_pollitem_t){self->router, 0, ZMQ_POLLIN, 0};
    items[1] = (zmq_pollitem_t){NULL, self->wake[0], ZMQ_POLLIN, 0};
    items[2] = (zmq_pollitem_t){NULL, self->sync_pipe[0], ZMQ_POLLIN, 0};
    for (int i = 0; i < self->n_watches; i++)
        items[3 + i] = (zmq_pollitem_t){self->watches[i].socket, 0, ZMQ_POLLIN, 0};

    while (!s_stopping(self)) {
        int prc = zmq_poll(items, n_items, s_timeout(self));
        if (prc < 0) {
            if (errno == EINTR)
                continue;
            log_error("server.poll", "zmq_poll: %s", zmq_strerror(errno));
            rc = -1;
            break;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            char buf[64];
            while (read(self->wake[0], buf, sizeof buf) > 0) {
            }
        }
        if (self->pending && atomic_load(&self->sync_done))
            s_settle(self);
        if (s_stopping(self))
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            if (s_batch(self) < 0 && errno == ETERM) {
                rc = -1;
                break;
            }
        }
        /* Watches and timers see only durable commits. */
        for (int i = 0; i < self->n_watches; i++)
            if (items[3 + i].revents & ZMQ_POLLIN) {
                s_settle(self);
                if (self->watches[i].fn(self->watches[i].arg) != 0)
                    log_warn("server.watch", "watch %d failed", i);
            }
        s_run_timers(self);
        s_prune_maybe(self);
    }

    s_settle(self);   /* the batch in hand: answered once durable */
    if (!self->fatal && store_failed(self->store))
        s_fatal(self, store_failed(self->store));
    if (self->fatal)
        rc = -1;
    if (rc == 0 || self->fatal) {
        s_refuse_pending(self);
        server_stats_t st;
        server_stats(self, &st);
        log_info("server.stop", "stopped: %llu requests in %llu commits",
                 (unsigned long long)st.requests, (unsigned long long)st.commits);
    }
    if (!self->cfg.no_signals) {
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
        s_signal_fd = -1;
    }
    return rc;
}

/* ---- without a socket --------------------------------------------------- */

server_t *server_new_detached(store_t *store, const server_config_t *cfg)
{
    server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->wake[0] = self->wake[1] = -1;
    self->sync_pipe[0] = self->sync_pipe[1] = -1;
    pthread_mutex_init(&self->stats_lock, NULL);
    pthread_mutex_init(&self->sync_lock, NULL);
    pthread_cond_init(&self->sync_cond, NULL);
    if (!store || !cfg || !cfg->request_desc || !cfg->reply_desc || !cfg->handler)
        goto fail;
    self->store = store;
    self->cfg = *cfg;
    self->cfg.endpoint = NULL;
    self->cfg.insecure_plaintext = 1;   /* the caller is given, not read from ZAP */
    self->cfg.max_batch = 1;
    if (self->cfg.max_frame <= 0)
        self->cfg.max_frame = CODEC_MAX_FRAME;
    if (self->cfg.max_frame < 1024)
        self->cfg.max_frame = 1024;
    self->req_id_field = protobuf_c_message_descriptor_get_field(cfg->request_desc, 1);
    if (!self->req_id_field || self->req_id_field->type != PROTOBUF_C_TYPE_STRING
        || self->req_id_field->label == PROTOBUF_C_LABEL_REPEATED)
        goto fail;
    self->req_dbi = store_dbi(store, SERVER_REQUESTS_DB);
    if (self->req_dbi == (MDB_dbi)-1 || sodium_init() < 0)
        goto fail;
    self->calls = calloc(2, sizeof *self->calls);
    if (!self->calls)
        goto fail;
    self->calls[0].server = self->calls[1].server = self;
    return self;
fail:
    log_error("server.config", "detached server: store, descriptors, handler and the "
                               "\"%s\" database are required", SERVER_REQUESTS_DB);
    server_destroy(&self);
    return NULL;
}

int server_run_frame(server_t *self, const auth_identity_t *who, const void *frame, size_t len,
                     MDB_txn *txn, const uint8_t **reply, size_t *reply_len)
{
    server_call_t *c = &self->calls[0];
    s_call_reset(c);
    *reply = NULL;
    *reply_len = 0;
    if (zmq_msg_init_size(&c->payload, len) != 0)
        return ENOMEM;
    c->has_payload = 1;
    if (len)
        memcpy(zmq_msg_data(&c->payload), frame, len);
    c->who = *who;
    c->state = CALL_READY;
    s_decode_call(self, c);
    if (c->state == CALL_READY) {
        int rc = s_run_call(self, c, txn);
        if (rc != 0)
            return rc;
    }
    *reply = c->reply;
    *reply_len = c->reply_len;
    return 0;
}
