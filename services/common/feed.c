/* feed: see feed.h.
 *
 * Why the pieces look the way they do:
 * - The producer keeps no queue of its own: what a subscriber is owed is
 *   (next_seq, credit), and the log itself is the queue. A batch is read
 *   from the outbox in a read transaction and packed straight into a zmq
 *   message. ZMQ_ROUTER_MANDATORY makes a full pipe an EAGAIN instead of a
 *   silent drop, so the subscriber's position only moves for what was
 *   really handed to the socket.
 * - A subscription is keyed by a routing id that the producer's ROUTER made
 *   for one connection, and it is served only over that connection: the
 *   consumer sets no ZMQ_ROUTING_ID and the ROUTER has no
 *   ZMQ_ROUTER_HANDOVER, so no later connection can take a live routing id
 *   over, and a restarted consumer is a new connection that subscribes
 *   again. The feed socket's ZAP domain (AUTH_DOMAIN_FEED) admits only
 *   service keys, and every request is checked against the identity that
 *   subscribed on its routing id.
 * - The consumer trusts only its durable cursor. Every batch is judged
 *   against the cursor read inside the write transaction, so stale batches
 *   from an earlier subscription, duplicates after a restart and batches
 *   after a gap are all harmless: the cursor moves by exactly the events
 *   applied in the same transaction.
 * - A Subscribe can cross stale batches on the wire. After one is sent, a
 *   gap does not trigger another until something has been applied, or the
 *   silence timer fires, so a burst of stale batches cannot turn into a
 *   storm of re-subscriptions.
 * - The consumer's DEALER sets ZMQ_IMMEDIATE, so nothing is queued for a
 *   connection that is not up yet; a socket monitor tells it when the
 *   handshake completes (subscribe now) or the peer went away (subscribe
 *   again once it is back). Reconnecting reuses the same socket, so a loop
 *   that watches it never holds a stale pointer. */
#include "feed.h"

#include "clock.h"
#include "codec.h"
#include "feed_quarantine.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ROUTING_ID_MAX 255
#define S_REQUEST_MAX (64 * 1024)     /* a Subscribe or an Ack is tiny */
#define S_LABEL_LEN 64
#define S_GROUP_BATCHES 16            /* consumer: batches per transaction */
#define S_GROUP_ENTRIES 16384         /* ... and entries */

/* ---- Outbox ------------------------------------------------------------ *
 * The outbox's own facts live in FEED_META_DB, keyed by name: "next_seq"
 * (the seq the next append takes), "pruned_through" (every seq up to it is
 * gone) and "ack/<consumer>" (the last seq that registered consumer
 * acknowledged), each a be64. The meta database is found by name from the
 * transaction (mdb_dbi_open of a database the store already has open only
 * looks it up), so the outbox calls keep their (txn, outbox) shape. */

#define S_META_NEXT "next_seq"
#define S_META_PRUNED "pruned_through"
#define S_META_ACK "ack/"

static int s_meta_dbi(MDB_txn *txn, MDB_dbi *dbi)
{
    int rc = mdb_dbi_open(txn, FEED_META_DB, 0, dbi);
    /* Not among the store's databases: a programming error of the owner. */
    return rc == MDB_NOTFOUND || rc == MDB_DBS_FULL ? MDB_INCOMPATIBLE : rc;
}

static int s_meta_get(MDB_txn *txn, MDB_dbi meta, const char *key, uint64_t *v, int *found)
{
    MDB_val val;
    int rc = store_get(txn, meta, key, strlen(key), &val);
    *found = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (val.mv_size != 8)
        return MDB_CORRUPTED;
    *v = store_be64_get(val.mv_data);
    *found = 1;
    return 0;
}

static int s_meta_put(MDB_txn *txn, MDB_dbi meta, const char *key, uint64_t v)
{
    uint8_t b[8];
    store_be64_put(b, v);
    return store_put(txn, meta, key, strlen(key), b, sizeof b, 0);
}

/* The seq the next append takes: stored, or (a store written before it was
 * stored) one past the last key. */
static int s_next_seq(MDB_txn *txn, MDB_dbi outbox, MDB_dbi meta, uint64_t *next)
{
    uint64_t v = 0;
    int found, rc = s_meta_get(txn, meta, S_META_NEXT, &v, &found);
    if (rc != 0)
        return rc;
    if (!found) {
        if ((rc = store_last_u64(txn, outbox, &v)) != 0)
            return rc;
        v++;
    }
    *next = v;
    return 0;
}

int feed_outbox_head(MDB_txn *txn, MDB_dbi outbox, uint64_t *head)
{
    MDB_dbi meta;
    uint64_t next = 0;
    int rc;
    if (!txn || !head)
        return EINVAL;
    if ((rc = s_meta_dbi(txn, &meta)) != 0 || (rc = s_next_seq(txn, outbox, meta, &next)) != 0)
        return rc;
    *head = next - 1;
    return 0;
}

int feed_outbox_first(MDB_txn *txn, MDB_dbi outbox, uint64_t *first)
{
    MDB_dbi meta;
    uint64_t pruned = 0;
    int found, rc;
    (void)outbox;
    if (!txn || !first)
        return EINVAL;
    if ((rc = s_meta_dbi(txn, &meta)) != 0
        || (rc = s_meta_get(txn, meta, S_META_PRUNED, &pruned, &found)) != 0)
        return rc;
    *first = pruned + 1;
    return 0;
}

int feed_outbox_append(MDB_txn *txn, MDB_dbi outbox, const void *payload,
                       size_t len, uint64_t *seq_out)
{
    uint8_t key[8];
    uint64_t seq = 0;
    MDB_dbi meta;
    int rc;

    if (!txn || (!payload && len > 0))
        return EINVAL;
    if (len > FEED_MAX_PAYLOAD)
        return MDB_BAD_VALSIZE;
    /* Read and advanced inside this transaction: a nested transaction
     * that aborts takes its seqs with it, and pruning the outbox to empty
     * never makes the numbering start again. */
    if ((rc = s_meta_dbi(txn, &meta)) != 0 || (rc = s_next_seq(txn, outbox, meta, &seq)) != 0)
        return rc;
    store_be64_put(key, seq);
    /* The key is past every key ever appended; MDB_APPEND skips the search
     * and fills pages completely. */
    rc = store_put(txn, outbox, key, sizeof key, len ? payload : "", len,
                   MDB_APPEND);
    if (rc == 0)
        rc = s_meta_put(txn, meta, S_META_NEXT, seq + 1);
    if (rc == 0 && seq_out)
        *seq_out = seq;
    return rc;
}

int feed_outbox_prune(MDB_txn *txn, MDB_dbi outbox, uint64_t through, size_t max,
                      size_t *deleted)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    MDB_dbi meta;
    uint64_t pruned = 0, last = 0;
    size_t n = 0;
    int found, rc;

    if (deleted)
        *deleted = 0;
    if (!txn)
        return EINVAL;
    if ((rc = s_meta_dbi(txn, &meta)) != 0
        || (rc = s_meta_get(txn, meta, S_META_PRUNED, &pruned, &found)) != 0)
        return rc;
    if (through <= pruned)
        return 0;
    if ((rc = mdb_cursor_open(txn, outbox, &cur)) != 0)
        return rc;
    last = pruned;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < max;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }
        uint64_t seq = store_be64_get(k.mv_data);
        if (seq > through)
            break;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        last = seq;
        n++;
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND || rc == 0) {
        /* Stopped by `max`: only what was deleted is gone. */
        uint64_t upto = n < max ? through : last;
        rc = upto > pruned ? s_meta_put(txn, meta, S_META_PRUNED, upto) : 0;
    }
    if (rc == 0 && deleted)
        *deleted = n;
    return rc;
}

int feed_outbox_ack_read(MDB_txn *txn, const char *consumer, uint64_t *acked)
{
    char key[AUTH_NAME_LEN + 8];
    MDB_dbi meta;
    int found, rc;
    if (!txn || !consumer || !acked)
        return EINVAL;
    *acked = 0;
    snprintf(key, sizeof key, "%s%s", S_META_ACK, consumer);
    if ((rc = s_meta_dbi(txn, &meta)) != 0)
        return rc;
    return s_meta_get(txn, meta, key, acked, &found);
}

static int s_ack_write(MDB_txn *txn, const char *consumer, uint64_t acked)
{
    char key[AUTH_NAME_LEN + 8];
    MDB_dbi meta;
    int rc;
    snprintf(key, sizeof key, "%s%s", S_META_ACK, consumer);
    if ((rc = s_meta_dbi(txn, &meta)) != 0)
        return rc;
    return s_meta_put(txn, meta, key, acked);
}

/* ---- Shared helpers ---------------------------------------------------- */

/* Sends one packed protobuf as a single frame (DEALER) or after a routing
 * id frame (ROUTER). Returns 0, or -1 with errno (EAGAIN when full). */
static int s_send_proto(void *sock, const uint8_t *rid, size_t rid_len,
                        const ProtobufCMessage *m)
{
    zmq_msg_t body;
    if (codec_pack_msg(m, &body) != 0) {
        errno = ENOMEM;
        return -1;
    }
    if (rid) {
        if (zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(&body);
            errno = e;
            return -1;
        }
    }
    /* Once the first frame of a ROUTER message is accepted the rest of it
     * is too (the HWM counts whole messages). */
    if (zmq_msg_send(&body, sock, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&body);
        errno = e;
        return -1;
    }
    return 0;
}

/* Drops the remaining frames of a message whose first frame was read. */
static void s_drain_more(void *sock, zmq_msg_t *last)
{
    while (zmq_msg_more(last)) {
        zmq_msg_close(last);
        zmq_msg_init(last);
        if (zmq_msg_recv(last, sock, 0) < 0)
            break;
    }
}

/* ---- Producer ---------------------------------------------------------- */

typedef struct {
    int used;
    uint8_t rid[S_ROUTING_ID_MAX];
    size_t rid_len;
    auth_identity_t who;             /* the identity (ZAP User-Id) that subscribed */
    char label[S_LABEL_LEN];         /* Subscribe.consumer, for logs */
    uint64_t next_seq;
    uint64_t credit;
    uint64_t acked_seq;
    int64_t last_heard_ms;
    int64_t last_sent_ms;
} s_sub_t;

/* A registered consumer: named by its service key (the allow-list name). */
typedef struct {
    char name[AUTH_NAME_LEN];
    uint64_t acked;          /* highest seq it acknowledged (or subscribed past) */
    uint64_t stored;         /* what FEED_META_DB holds for it */
} s_reg_t;

struct feed_producer_t {
    void *sock;
    store_t *store;
    auth_t *auth;                    /* the current allow-list, per request */
    MDB_dbi outbox;
    char endpoint[256];
    feed_producer_opts_t opts;
    s_reg_t regs[FEED_MAX_CONSUMERS];
    int n_regs;
    uint64_t pruned_through;         /* as stored: seqs up to it are gone */
    int64_t prune_due_ms;
    s_sub_t subs[FEED_MAX_SUBSCRIBERS];
    Pay__FeedEntry *entries;         /* batch_max_entries, reused */
    Pay__FeedEntry **entry_ptrs;
    feed_producer_stats_t stats;
};

static void s_sub_forget(feed_producer_t *self, s_sub_t *sub, const char *why)
{
    log_info("feed.forget", "subscriber %s (%s) forgotten: %s", sub->label,
             sub->who.name, why);
    memset(sub, 0, sizeof *sub);
    if (self->stats.subscribers > 0)
        self->stats.subscribers--;
}

static s_sub_t *s_sub_find(feed_producer_t *self, const uint8_t *rid, size_t len)
{
    for (int i = 0; i < FEED_MAX_SUBSCRIBERS; i++) {
        s_sub_t *s = &self->subs[i];
        if (s->used && s->rid_len == len && memcmp(s->rid, rid, len) == 0)
            return s;
    }
    return NULL;
}

static s_sub_t *s_sub_add(feed_producer_t *self, const uint8_t *rid, size_t len)
{
    for (int i = 0; i < FEED_MAX_SUBSCRIBERS; i++) {
        s_sub_t *s = &self->subs[i];
        if (!s->used) {
            memset(s, 0, sizeof *s);
            s->used = 1;
            memcpy(s->rid, rid, len);
            s->rid_len = len;
            self->stats.subscribers++;
            return s;
        }
    }
    return NULL;
}

feed_producer_t *feed_producer_new(void *zmq_ctx, store_t *store, auth_t *auth,
                                   const char *outbox_db_name,
                                   const char *endpoint,
                                   const auth_keypair_t *server_keys,
                                   const feed_producer_opts_t *opts)
{
    feed_producer_t *self = NULL;
    const char *step = "arguments";
    int one = 1, ms;
    size_t len;

    if (!zmq_ctx || !store || !auth || !outbox_db_name || !endpoint || !server_keys)
        goto fail;
    step = "allocate";
    self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->store = store;
    self->auth = auth;
    if (opts)
        self->opts = *opts;
    if (self->opts.batch_max_entries == 0)
        self->opts.batch_max_entries = FEED_BATCH_MAX_ENTRIES;
    if (self->opts.batch_max_bytes == 0)
        self->opts.batch_max_bytes = FEED_BATCH_MAX_BYTES;
    if (self->opts.max_credit == 0)
        self->opts.max_credit = FEED_MAX_CREDIT;
    if (self->opts.heartbeat_ms <= 0)
        self->opts.heartbeat_ms = FEED_HEARTBEAT_MS;
    if (self->opts.peer_timeout_ms <= 0)
        self->opts.peer_timeout_ms = FEED_PEER_TIMEOUT_MS;
    if (self->opts.sndhwm <= 0)
        self->opts.sndhwm = 64;
    if (self->opts.retain == 0)
        self->opts.retain = FEED_RETAIN;
    if (self->opts.prune_ms <= 0)
        self->opts.prune_ms = FEED_PRUNE_MS;
    if (self->opts.prune_batch == 0)
        self->opts.prune_batch = FEED_PRUNE_BATCH;

    step = "outbox database";
    self->outbox = store_dbi(store, outbox_db_name);
    if (self->outbox == (MDB_dbi)-1)
        goto fail;
    step = "the " FEED_META_DB " database";
    if (store_dbi(store, FEED_META_DB) == (MDB_dbi)-1)
        goto fail;
    step = "registered consumers";
    for (const char *const *c = self->opts.consumers; c && *c; c++) {
        if (!**c || strlen(*c) >= AUTH_NAME_LEN || self->n_regs >= FEED_MAX_CONSUMERS)
            goto fail;
        snprintf(self->regs[self->n_regs++].name, AUTH_NAME_LEN, "%s", *c);
    }
    self->opts.consumers = NULL;   /* borrowed; regs are the copy */
    step = "read the outbox state";
    {
        MDB_txn *txn = NULL;
        uint64_t first = 1;
        int rc = store_read_begin(store, &txn);
        if (rc == 0)
            rc = feed_outbox_first(txn, self->outbox, &first);
        for (int i = 0; rc == 0 && i < self->n_regs; i++) {
            rc = feed_outbox_ack_read(txn, self->regs[i].name, &self->regs[i].acked);
            self->regs[i].stored = self->regs[i].acked;
        }
        if (rc == 0)
            rc = feed_outbox_head(txn, self->outbox, &self->stats.head_seq);
        if (txn)
            mdb_txn_abort(txn);
        if (rc != 0)
            goto fail;
        self->pruned_through = first - 1;
        self->stats.first_seq = first;
    }
    self->prune_due_ms = clock_mono_ms() + self->opts.prune_ms;
    step = "allocate batch";
    self->entries = calloc(self->opts.batch_max_entries, sizeof *self->entries);
    self->entry_ptrs = calloc(self->opts.batch_max_entries, sizeof *self->entry_ptrs);
    if (!self->entries || !self->entry_ptrs)
        goto fail;

    step = "zmq_socket";
    self->sock = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    if (!self->sock)
        goto fail;
    step = "socket options";
    ms = 0;
    if (zmq_setsockopt(self->sock, ZMQ_LINGER, &ms, sizeof ms) != 0
        || zmq_setsockopt(self->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0
        || zmq_setsockopt(self->sock, ZMQ_SNDHWM, &self->opts.sndhwm,
                          sizeof self->opts.sndhwm) != 0)
        goto fail;
    ms = self->opts.heartbeat_ms;
    if (zmq_setsockopt(self->sock, ZMQ_HEARTBEAT_IVL, &ms, sizeof ms) != 0)
        goto fail;
    ms = 3 * self->opts.heartbeat_ms;
    if (zmq_setsockopt(self->sock, ZMQ_HEARTBEAT_TIMEOUT, &ms, sizeof ms) != 0)
        goto fail;
    step = "auth_curve_server";
    if (auth_curve_server(self->sock, server_keys, S_REQUEST_MAX) != 0)
        goto fail;
    /* Only service keys get through the handshake of a feed socket. No
     * ZMQ_ROUTER_HANDOVER: a routing id stays with its connection. */
    step = "feed ZAP domain";
    if (zmq_setsockopt(self->sock, ZMQ_ZAP_DOMAIN, AUTH_DOMAIN_FEED,
                       strlen(AUTH_DOMAIN_FEED)) != 0)
        goto fail;
    step = "zmq_bind";
    if (zmq_bind(self->sock, endpoint) != 0)
        goto fail;
    len = sizeof self->endpoint;
    if (zmq_getsockopt(self->sock, ZMQ_LAST_ENDPOINT, self->endpoint, &len) != 0)
        snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);

    log_info("feed.listen", "feed of '%s' on %s", outbox_db_name, self->endpoint);
    if (self->n_regs == 0)
        log_info("feed.prune", "outbox pruning off: no registered consumers");
    else
        for (int i = 0; i < self->n_regs; i++)
            log_info("feed.prune", "registered consumer %s: acknowledged %" PRIu64
                     "; outbox from seq %" PRIu64 ", keeping at least %" PRIu64 " events",
                     self->regs[i].name, self->regs[i].acked, self->pruned_through + 1,
                     self->opts.retain);
    return self;

fail:
    log_error("feed.producer", "cannot start feed on %s: %s failed: %s",
              endpoint ? endpoint : "(null)", step, zmq_strerror(errno));
    feed_producer_destroy(&self);
    return NULL;
}

void feed_producer_destroy(feed_producer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    feed_producer_t *self = *self_p;
    if (self->sock)
        zmq_close(self->sock);
    free(self->entries);
    free(self->entry_ptrs);
    free(self);
    *self_p = NULL;
}

void *feed_producer_socket(feed_producer_t *self)
{
    return self ? self->sock : NULL;
}

const char *feed_producer_endpoint(feed_producer_t *self)
{
    return self ? self->endpoint : NULL;
}

static uint64_t s_min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static int s_same_identity(const auth_identity_t *a, const auth_identity_t *b)
{
    return a->role == b->role && strcmp(a->scope, b->scope) == 0
           && strcmp(a->name, b->name) == 0;
}

/* A registered consumer's durable position moved to `seq` (an Ack, or a
 * Subscribe from seq + 1): it has applied everything up to it. */
static void s_note_acked(feed_producer_t *self, const auth_identity_t *who, uint64_t seq)
{
    if (seq > self->stats.head_seq)
        seq = self->stats.head_seq;   /* nobody applied what was never sent */
    for (int i = 0; i < self->n_regs; i++)
        if (strcmp(self->regs[i].name, who->name) == 0 && seq > self->regs[i].acked)
            self->regs[i].acked = seq;
}

/* Tells a subscriber that what it asked for is gone, rather than leave a
 * silent gap; an alarm for the operator (logged, counted). */
static void s_send_pruned(feed_producer_t *self, const uint8_t *rid, size_t rid_len,
                          const auth_identity_t *who, uint64_t from)
{
    Pay__FeedPruned pr = PAY__FEED_PRUNED__INIT;
    Pay__FeedMessage fm = PAY__FEED_MESSAGE__INIT;
    char msg[160];
    snprintf(msg, sizeof msg, "seq %" PRIu64 " to %" PRIu64 " were pruned from the outbox; "
             "the oldest held is %" PRIu64, from, self->pruned_through, self->pruned_through + 1);
    pr.has_from_seq = pr.has_first_seq = 1;
    pr.from_seq = from;
    pr.first_seq = self->pruned_through + 1;
    pr.message = msg;
    fm.kind_case = PAY__FEED_MESSAGE__KIND_PRUNED;
    fm.pruned = &pr;
    self->stats.pruned_refusals++;
    log_error("feed.pruned", "subscription of %s from seq %" PRIu64 " refused: %s", who->name,
              from, msg);
    (void)s_send_proto(self->sock, rid, rid_len, &fm.base);
}

static void s_on_subscribe(feed_producer_t *self, const uint8_t *rid,
                           size_t rid_len, const auth_identity_t *who,
                           const Pay__Subscribe *m)
{
    uint64_t from = m->has_from_seq && m->from_seq > 0 ? m->from_seq : 1;
    s_sub_t *sub = s_sub_find(self, rid, rid_len);
    if (from <= self->pruned_through) {
        if (sub)
            s_sub_forget(self, sub, "asked for pruned events");
        s_send_pruned(self, rid, rid_len, who, from);
        return;
    }
    s_note_acked(self, who, from - 1);
    if (sub && !s_same_identity(&sub->who, who)) {
        /* Cannot happen while the connection lives (no handover); if the
         * routing id ever names another peer, nothing of the old
         * subscription carries over to it. */
        s_sub_forget(self, sub, "routing id now used by another identity");
        sub = NULL;
    }
    if (!sub)
        sub = s_sub_add(self, rid, rid_len);
    if (!sub) {
        log_warn("feed.full", "subscription from %s refused: %d subscribers "
                 "already", who->name, FEED_MAX_SUBSCRIBERS);
        return;
    }
    sub->who = *who;
    snprintf(sub->label, sizeof sub->label, "%s",
             m->consumer && m->consumer[0] ? m->consumer : who->name);
    sub->next_seq = m->has_from_seq && m->from_seq > 0 ? m->from_seq : 1;
    sub->credit = s_min_u64(m->has_credit ? m->credit : 0, self->opts.max_credit);
    sub->acked_seq = sub->next_seq - 1;
    sub->last_heard_ms = clock_mono_ms();
    sub->last_sent_ms = sub->last_heard_ms;
    log_info("feed.subscribe", "%s (%s) from seq %" PRIu64 " with credit %" PRIu64,
             sub->label, sub->who.name, sub->next_seq, sub->credit);
}

static void s_on_ack(feed_producer_t *self, const uint8_t *rid, size_t rid_len,
                     const auth_identity_t *who, const Pay__Ack *m)
{
    s_sub_t *sub = s_sub_find(self, rid, rid_len);
    if (!sub) {
        /* Forgotten, or we restarted: the consumer's silence timer will
         * make it subscribe again. */
        log_debug("feed.ack", "ack from unknown subscriber %s ignored", who->name);
        return;
    }
    if (!s_same_identity(&sub->who, who)) {
        /* Another identity on this routing id: never serve it. */
        s_sub_forget(self, sub, "routing id now used by another identity");
        return;
    }
    sub->credit = s_min_u64(sub->credit + (m->has_credit ? m->credit : 0),
                            self->opts.max_credit);
    if (m->has_applied_seq && m->applied_seq > sub->acked_seq)
        sub->acked_seq = m->applied_seq;
    if (m->has_applied_seq)
        s_note_acked(self, who, m->applied_seq);
    sub->last_heard_ms = clock_mono_ms();
}

/* One request: routing id `rid`, body `body`. */
static void s_on_request(feed_producer_t *self, const uint8_t *rid,
                         size_t rid_len, zmq_msg_t *body)
{
    auth_identity_t who;
    char err[CODEC_ERR_LEN];
    Pay__FeedRequest *req = NULL;

    /* The allow-list as it is now: a service key revoked since the
     * connection opened loses its subscription with its next message. */
    if (auth_identity_from_msg(self->auth, body, &who) != 0 || who.role != ROLE_SERVICE) {
        s_sub_t *sub = s_sub_find(self, rid, rid_len);
        self->stats.refused++;
        log_warn("feed.refused", "feed request from %s (role %s) refused: only "
                 "services may subscribe",
                 who.name[0] ? who.name : "unknown", auth_role_name(who.role));
        if (sub)
            s_sub_forget(self, sub, "routing id now used by a non-service");
        return;
    }
    req = (Pay__FeedRequest *)codec_unpack(&pay__feed_request__descriptor,
                                           zmq_msg_data(body), zmq_msg_size(body),
                                           0, err);
    if (!req) {
        log_warn("feed.malformed", "bad feed request from %s: %s", who.name, err);
        return;
    }
    if (req->kind_case == PAY__FEED_REQUEST__KIND_SUBSCRIBE && req->subscribe)
        s_on_subscribe(self, rid, rid_len, &who, req->subscribe);
    else if (req->kind_case == PAY__FEED_REQUEST__KIND_ACK && req->ack)
        s_on_ack(self, rid, rid_len, &who, req->ack);
    else
        log_warn("feed.malformed", "empty feed request from %s", who.name);
    codec_free((ProtobufCMessage **)&req);
}

int feed_producer_on_readable(feed_producer_t *self)
{
    if (!self)
        return -1;
    for (;;) {
        zmq_msg_t rid, body;
        zmq_msg_init(&rid);
        if (zmq_msg_recv(&rid, self->sock, ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(&rid);
            if (e == EAGAIN)
                break;
            if (e == EINTR)
                continue;
            log_error("feed.recv", "feed socket: %s", zmq_strerror(e));
            return -1;
        }
        zmq_msg_init(&body);
        if (!zmq_msg_more(&rid) || zmq_msg_recv(&body, self->sock, 0) < 0) {
            zmq_msg_close(&body);
            zmq_msg_close(&rid);
            continue;
        }
        if (zmq_msg_more(&body))
            s_drain_more(self->sock, &body);   /* not ours: a request is one frame */
        else if (zmq_msg_size(&rid) <= S_ROUTING_ID_MAX)
            s_on_request(self, zmq_msg_data(&rid), zmq_msg_size(&rid), &body);
        zmq_msg_close(&body);
        zmq_msg_close(&rid);
    }
    return feed_producer_pump(self);
}

/* Sends a heartbeat; on a vanished peer forgets the subscriber. */
static void s_send_heartbeat(feed_producer_t *self, s_sub_t *sub, int64_t now)
{
    Pay__FeedHeartbeat hb = PAY__FEED_HEARTBEAT__INIT;
    Pay__FeedMessage fm = PAY__FEED_MESSAGE__INIT;
    hb.has_head_seq = 1;
    hb.head_seq = self->stats.head_seq;
    fm.kind_case = PAY__FEED_MESSAGE__KIND_HEARTBEAT;
    fm.heartbeat = &hb;
    if (s_send_proto(self->sock, sub->rid, sub->rid_len, &fm.base) == 0) {
        sub->last_sent_ms = now;
        self->stats.heartbeats_sent++;
    } else if (errno == EHOSTUNREACH) {
        s_sub_forget(self, sub, "peer disconnected");
    }
}

/* Sends one batch from `cur` to `sub`. Returns the entries sent (0 when
 * nothing could be sent now), or -1 if the subscriber is gone. */
static int s_send_batch(feed_producer_t *self, MDB_cursor *cur, s_sub_t *sub,
                        int64_t now)
{
    Pay__FeedBatch batch = PAY__FEED_BATCH__INIT;
    Pay__FeedMessage fm = PAY__FEED_MESSAGE__INIT;
    uint8_t key[8];
    MDB_val k, v;
    size_t n = 0, bytes = 0;
    uint64_t last = 0;
    uint64_t max = s_min_u64(sub->credit, self->opts.batch_max_entries);
    int rc;

    store_be64_put(key, sub->next_seq);
    k.mv_size = sizeof key;
    k.mv_data = key;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && n < max) {
        if (k.mv_size != 8)
            break;
        /* At least one entry per batch, however big: a payload is at most
         * FEED_MAX_PAYLOAD, which the consumer's MAXMSGSIZE allows. */
        if (n > 0 && bytes + v.mv_size > self->opts.batch_max_bytes)
            break;
        Pay__FeedEntry *e = &self->entries[n];
        pay__feed_entry__init(e);
        e->has_seq = 1;
        e->seq = store_be64_get(k.mv_data);
        e->has_payload = 1;
        e->payload.len = v.mv_size;
        e->payload.data = v.mv_data;
        self->entry_ptrs[n] = e;
        last = e->seq;
        bytes += v.mv_size + 16;
        n++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (n == 0)
        return 0;
    if (self->entries[0].seq != sub->next_seq)
        log_warn("feed.hole", "outbox has no seq %" PRIu64 "; sending from %"
                 PRIu64, sub->next_seq, self->entries[0].seq);
    batch.n_entries = n;
    batch.entries = self->entry_ptrs;
    fm.kind_case = PAY__FEED_MESSAGE__KIND_BATCH;
    fm.batch = &batch;
    if (s_send_proto(self->sock, sub->rid, sub->rid_len, &fm.base) != 0) {
        if (errno == EHOSTUNREACH) {
            s_sub_forget(self, sub, "peer disconnected");
            return -1;
        }
        return 0;   /* EAGAIN: its queue is full; the next pump tries again */
    }
    sub->next_seq = last + 1;
    sub->credit -= n;
    sub->last_sent_ms = now;
    self->stats.batches_sent++;
    self->stats.entries_sent += n;
    return (int)n;
}

int feed_producer_pump(feed_producer_t *self)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    uint64_t head = 0;
    int64_t now;
    int rc, wanted = 0;

    if (!self)
        return EINVAL;
    for (int i = 0; i < FEED_MAX_SUBSCRIBERS; i++)
        if (self->subs[i].used && self->subs[i].credit > 0)
            wanted = 1;
    if (!wanted)
        return 0;
    if ((rc = store_read_begin(self->store, &txn)) != 0)
        goto fail;
    if ((rc = feed_outbox_head(txn, self->outbox, &head)) != 0)
        goto fail;
    self->stats.head_seq = head;
    if ((rc = mdb_cursor_open(txn, self->outbox, &cur)) != 0)
        goto fail;
    now = clock_mono_ms();
    for (int i = 0; i < FEED_MAX_SUBSCRIBERS; i++) {
        s_sub_t *sub = &self->subs[i];
        while (sub->used && sub->credit > 0 && sub->next_seq <= head)
            if (s_send_batch(self, cur, sub, now) <= 0)
                break;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return 0;

fail:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    log_error("feed.pump", "cannot read the outbox: %s", mdb_strerror(rc));
    return rc;
}

typedef struct {
    feed_producer_t *self;
    uint64_t through;
    size_t deleted;
} s_prune_t;

static int s_prune_txn(MDB_txn *txn, void *arg)
{
    s_prune_t *p = arg;
    feed_producer_t *self = p->self;
    int rc;
    p->deleted = 0;
    for (int i = 0; i < self->n_regs; i++)
        if (self->regs[i].acked != self->regs[i].stored
            && (rc = s_ack_write(txn, self->regs[i].name, self->regs[i].acked)) != 0)
            return rc;
    if (p->through > self->pruned_through)
        return feed_outbox_prune(txn, self->outbox, p->through, self->opts.prune_batch,
                                 &p->deleted);
    return 0;
}

uint64_t feed_prune_target(const uint64_t *acked, int n, uint64_t head, uint64_t retain)
{
    if (n <= 0)
        return 0;   /* nobody registered: nobody's needs are known */
    uint64_t floor = head;
    for (int i = 0; i < n; i++)
        if (acked[i] < floor)
            floor = acked[i];
    uint64_t keep_from = head > retain ? head - retain : 0;   /* keep (keep_from, head] */
    return floor < keep_from ? floor : keep_from;
}

/* One bounded pruning step: stores the registered consumers' acknowledged
 * seqs that moved, and deletes what every one of them has acknowledged
 * and that is older than the retention (at most prune_batch entries). */
static void s_prune_step(feed_producer_t *self)
{
    uint64_t acked[FEED_MAX_CONSUMERS];
    int changed = 0;
    for (int i = 0; i < self->n_regs; i++) {
        acked[i] = self->regs[i].acked;
        changed |= self->regs[i].acked != self->regs[i].stored;
    }
    s_prune_t p = {self, feed_prune_target(acked, self->n_regs, self->stats.head_seq,
                                           self->opts.retain), 0};
    if (!changed && p.through <= self->pruned_through)
        return;
    int rc = store_write(self->store, s_prune_txn, &p);
    if (rc != 0) {
        log_error("feed.prune", "pruning the outbox: %s", mdb_strerror(rc));
        return;
    }
    for (int i = 0; i < self->n_regs; i++)
        self->regs[i].stored = acked[i];
    if (p.deleted > 0) {
        MDB_txn *txn = NULL;
        uint64_t first = self->pruned_through + 1;
        if (store_read_begin(self->store, &txn) == 0) {
            if (feed_outbox_first(txn, self->outbox, &first) == 0)
                self->pruned_through = first - 1;
            mdb_txn_abort(txn);
        }
        self->stats.first_seq = self->pruned_through + 1;
        self->stats.pruned += p.deleted;
        log_debug("feed.prune", "pruned %zu events; the outbox starts at seq %" PRIu64,
                  p.deleted, self->pruned_through + 1);
        /* More to do: the next step follows at the next tick. */
        if (self->pruned_through < p.through)
            self->prune_due_ms = 0;
    }
}

int feed_producer_tick(feed_producer_t *self)
{
    MDB_txn *txn = NULL;
    uint64_t head = 0;
    int64_t now;

    if (!self)
        return EINVAL;
    if (self->n_regs > 0 && clock_mono_ms() >= self->prune_due_ms) {
        self->prune_due_ms = clock_mono_ms() + self->opts.prune_ms;
        s_prune_step(self);
    }
    if (self->stats.subscribers == 0)
        return 0;
    if (store_read_begin(self->store, &txn) == 0) {
        if (feed_outbox_head(txn, self->outbox, &head) == 0)
            self->stats.head_seq = head;
        mdb_txn_abort(txn);
    }
    now = clock_mono_ms();
    for (int i = 0; i < FEED_MAX_SUBSCRIBERS; i++) {
        s_sub_t *sub = &self->subs[i];
        if (!sub->used)
            continue;
        if (now - sub->last_heard_ms > self->opts.peer_timeout_ms)
            s_sub_forget(self, sub, "silent for too long");
        else if (now - sub->last_sent_ms >= self->opts.heartbeat_ms)
            s_send_heartbeat(self, sub, now);
    }
    return feed_producer_pump(self);
}

int feed_consumer_names(const char *csv, char *buf, size_t bufsize,
                        const char *names[FEED_MAX_CONSUMERS + 1])
{
    int n = 0;
    names[0] = NULL;
    if (!csv || !*csv)
        return 0;
    if (strlen(csv) >= bufsize)
        return -1;
    memcpy(buf, csv, strlen(csv) + 1);
    for (char *p = buf;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p || strlen(p) >= AUTH_NAME_LEN || n >= FEED_MAX_CONSUMERS)
            return -1;
        names[n++] = p;
        names[n] = NULL;
        if (!comma)
            return n;
        p = comma + 1;
    }
}

void feed_producer_stats(feed_producer_t *self, feed_producer_stats_t *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (self)
        *out = self->stats;
}

/* ---- Consumer: the apply step ------------------------------------------ */

int feed_cursor_read(MDB_txn *txn, MDB_dbi cursor_dbi, const char *feed_name,
                     uint64_t *cursor)
{
    MDB_val v;
    int rc;
    if (!txn || !feed_name || !cursor)
        return EINVAL;
    rc = store_get(txn, cursor_dbi, feed_name, strlen(feed_name), &v);
    if (rc == MDB_NOTFOUND) {
        *cursor = 0;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *cursor = store_be64_get(v.mv_data);
    return 0;
}

typedef struct {
    store_t *store;
    MDB_dbi cursor_dbi;
    const char *feed_name;
    const Pay__FeedBatch *const *batches;
    size_t n_batches;
    feed_apply_fn *apply;
    feed_group_fn *group;
    void *arg;
    feed_batch_result_t *res;
} s_apply_t;

/* The body of the write transaction for one or more batches, in the order
 * received; may run more than once (map growth), so it starts from scratch
 * each time. A gap ends its batch only: a later batch (say, the answer to
 * the Subscribe that the gap caused) may carry on from the cursor. */
static int s_apply_txn(MDB_txn *txn, void *arg)
{
    s_apply_t *a = arg;
    feed_batch_result_t *r = a->res;
    uint64_t cursor = 0, start;
    uint8_t val[8];
    int rc;

    memset(r, 0, sizeof *r);
    for (size_t b = 0; b < a->n_batches; b++)
        for (size_t i = 0; i < a->batches[b]->n_entries; i++) {
            const Pay__FeedEntry *e = a->batches[b]->entries[i];
            if (e && e->has_seq && e->seq > r->max_seq)
                r->max_seq = e->seq;
        }
    if ((rc = feed_cursor_read(txn, a->cursor_dbi, a->feed_name, &cursor)) != 0)
        return rc;
    if (a->group && (rc = a->group(txn, FEED_GROUP_BEGIN, a->arg)) != 0)
        return rc;
    start = cursor;
    for (size_t b = 0; b < a->n_batches; b++) {
        const Pay__FeedBatch *batch = a->batches[b];
        for (size_t i = 0; i < batch->n_entries; i++) {
            const Pay__FeedEntry *e = batch->entries[i];
            uint64_t seq = e && e->has_seq ? e->seq : 0;
            if (seq <= cursor) {
                r->duplicates++;
                continue;
            }
            if (seq != cursor + 1) {
                r->gap = 1;
                break;
            }
            feed_refusal_t why;
            memset(&why, 0, sizeof why);
            const uint8_t *payload = e->has_payload ? e->payload.data : NULL;
            size_t plen = e->has_payload ? e->payload.len : 0;
            rc = a->apply(txn, seq, payload, plen, a->arg, &why);
            if (rc == FEED_REFUSED) {
                /* Never skipped: kept with the reason, the cursor moves on. */
                rc = feed_quarantine_put(txn, a->store, a->feed_name, seq, payload, plen, &why);
                if (rc == 0)
                    r->quarantined++;
            }
            if (rc != 0) {
                r->failed_seq = seq;
                return rc;
            }
            cursor = seq;
            r->applied++;
            r->gap = 0;   /* only a gap after the last progress counts */
        }
    }
    r->cursor = cursor;
    if (a->group && (rc = a->group(txn, FEED_GROUP_END, a->arg)) != 0)
        return rc;
    if (cursor == start)
        return 0;
    store_be64_put(val, cursor);
    return store_put(txn, a->cursor_dbi, a->feed_name, strlen(a->feed_name),
                     val, sizeof val, 0);
}

int feed_batches_apply(store_t *store, MDB_dbi cursor_dbi, const char *feed_name,
                       const Pay__FeedBatch *const *batches, size_t n,
                       feed_apply_fn *apply, void *arg, feed_batch_result_t *res)
{
    return feed_batches_apply_group(store, cursor_dbi, feed_name, batches, n, apply, NULL,
                                    arg, res);
}

int feed_batches_apply_group(store_t *store, MDB_dbi cursor_dbi, const char *feed_name,
                             const Pay__FeedBatch *const *batches, size_t n,
                             feed_apply_fn *apply, feed_group_fn *group, void *arg,
                             feed_batch_result_t *res)
{
    feed_batch_result_t local;
    s_apply_t a;
    int rc;

    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (!store || !feed_name || (!batches && n > 0) || !apply)
        return EINVAL;
    a.store = store;
    a.cursor_dbi = cursor_dbi;
    a.feed_name = feed_name;
    a.batches = batches;
    a.n_batches = n;
    a.apply = apply;
    a.group = group;
    a.arg = arg;
    a.res = res;
    rc = store_write(store, s_apply_txn, &a);
    if (rc != 0) {
        if (group)
            group(NULL, FEED_GROUP_ABORT, arg);
        /* Nothing was written: report only what identifies the failure. */
        uint64_t failed = res->failed_seq, max = res->max_seq;
        memset(res, 0, sizeof *res);
        res->failed_seq = failed;
        res->max_seq = max;
    }
    return rc;
}

int feed_batch_apply(store_t *store, MDB_dbi cursor_dbi, const char *feed_name,
                     const Pay__FeedBatch *batch, feed_apply_fn *apply,
                     void *arg, feed_batch_result_t *res)
{
    if (!batch) {
        if (res)
            memset(res, 0, sizeof *res);
        return EINVAL;
    }
    return feed_batches_apply(store, cursor_dbi, feed_name, &batch, 1, apply, arg, res);
}

/* ---- Consumer: the connection ------------------------------------------ */

struct feed_consumer_t {
    void *ctx;
    void *sock;
    void *mon;                  /* PAIR receiving the DEALER's events */
    store_t *store;
    MDB_dbi cursor_dbi;
    char *feed_name;
    char *endpoint;
    char name[S_LABEL_LEN];
    feed_apply_fn *apply;
    void *arg;
    feed_consumer_opts_t opts;

    int need_subscribe;         /* send a Subscribe as soon as possible */
    int resub_pending;          /* one is out; nothing applied since */
    int64_t retry_at_ms;        /* no Subscribe before this (apply failure) */
    int64_t last_recv_ms;
    int64_t last_send_ms;
    int64_t last_progress_ms;
    int silent_rounds;
    feed_consumer_stats_t stats;
};

/* Makes each monitor endpoint unique, even for consumers made in
 * different threads. */
static atomic_uint s_monitor_serial;

static int s_consumer_send(feed_consumer_t *self, const Pay__FeedRequest *req)
{
    if (s_send_proto(self->sock, NULL, 0, &req->base) != 0)
        return -1;
    self->last_send_ms = clock_mono_ms();
    return 0;
}

/* Subscribes from cursor + 1 if one is due and the connection takes it. */
static void s_consumer_subscribe(feed_consumer_t *self, int64_t now)
{
    Pay__FeedRequest req = PAY__FEED_REQUEST__INIT;
    Pay__Subscribe sub = PAY__SUBSCRIBE__INIT;

    if (!self->need_subscribe || now < self->retry_at_ms)
        return;
    sub.has_from_seq = 1;
    sub.from_seq = self->stats.cursor + 1;
    sub.has_credit = 1;
    sub.credit = self->opts.window;
    sub.consumer = self->name;
    req.kind_case = PAY__FEED_REQUEST__KIND_SUBSCRIBE;
    req.subscribe = &sub;
    if (s_consumer_send(self, &req) != 0)
        return;   /* not connected yet (ZMQ_IMMEDIATE): the handshake event or tick retries */
    self->need_subscribe = 0;
    self->resub_pending = 1;
    self->last_recv_ms = now;       /* give the new subscription a full timeout */
    self->last_progress_ms = now;
    self->stats.subscribes++;
    log_info("feed.subscribe", "%s subscribed from seq %" PRIu64 " with credit %u",
             self->name, sub.from_seq, sub.credit);
}

static void s_consumer_want_subscribe(feed_consumer_t *self, int64_t now)
{
    self->need_subscribe = 1;
    s_consumer_subscribe(self, now);
}

static void s_consumer_ack(feed_consumer_t *self, uint32_t credit)
{
    Pay__FeedRequest req = PAY__FEED_REQUEST__INIT;
    Pay__Ack ack = PAY__ACK__INIT;
    ack.has_applied_seq = 1;
    ack.applied_seq = self->stats.cursor;
    ack.has_credit = 1;
    ack.credit = credit;
    req.kind_case = PAY__FEED_REQUEST__KIND_ACK;
    req.ack = &ack;
    if (s_consumer_send(self, &req) != 0 && credit > 0)
        /* The producer's count of our credit is now wrong: start over. */
        self->need_subscribe = 1;
}

/* Applies the batches gathered from the socket in one transaction. */
static void s_consumer_on_batches(feed_consumer_t *self,
                                  const Pay__FeedBatch *const *batches, size_t n,
                                  int64_t now)
{
    feed_batch_result_t res;
    int rc;

    if (now < self->retry_at_ms)
        return;   /* waiting after a failure; a fresh Subscribe will resend */
    rc = feed_batches_apply_group(self->store, self->cursor_dbi, self->feed_name, batches,
                                  n, self->apply, self->opts.group, self->arg, &res);
    if (res.max_seq > self->stats.head_seq)
        self->stats.head_seq = res.max_seq;
    if (rc != 0) {
        self->stats.apply_failures++;
        log_error("feed.apply_failed", "%s: applying seq %" PRIu64 " failed (%s); "
                  "batch rolled back, retrying from seq %" PRIu64 " in %d ms",
                  self->name, res.failed_seq,
                  rc > 0 || (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE)
                      ? mdb_strerror(rc) : "apply error",
                  self->stats.cursor + 1, self->opts.retry_ms);
        self->retry_at_ms = now + self->opts.retry_ms;
        self->need_subscribe = 1;
        return;
    }
    log_debug("feed.group", "%s: %zu batches in one transaction: %u applied, %u duplicates",
              self->name, n, res.applied, res.duplicates);
    self->stats.cursor = res.cursor;
    self->stats.duplicates += res.duplicates;
    self->stats.quarantined += res.quarantined;
    if (res.applied > 0) {
        self->stats.batches++;
        self->stats.applied += res.applied;
        self->resub_pending = 0;
        self->last_progress_ms = now;
    }
    /* Credit comes back for every entry consumed, applied or skipped as a
     * duplicate: returning only the applied ones would shrink the window
     * after every resend. Entries dropped after a gap are not returned;
     * the Subscribe that follows resets the credit anyway. */
    if (res.applied + res.duplicates > 0)
        s_consumer_ack(self, res.applied + res.duplicates);
    if (res.gap) {
        self->stats.gaps++;
        if (!self->resub_pending) {
            log_info("feed.gap", "%s: gap after seq %" PRIu64 "; re-subscribing",
                     self->name, self->stats.cursor);
            self->need_subscribe = 1;
        }
    }
    s_consumer_subscribe(self, now);
}

/* Decodes one message: a heartbeat is noted at once, a batch is returned
 * (the caller frees it with codec_free), anything else is dropped. */
static Pay__FeedMessage *s_consumer_decode(feed_consumer_t *self, zmq_msg_t *msg,
                                           int64_t now)
{
    char err[CODEC_ERR_LEN];
    size_t len = zmq_msg_size(msg);
    /* Entries decode to a few times their packed size; empty payloads are
     * the worst case. The producer is authenticated, but still bounded. */
    Pay__FeedMessage *fm = (Pay__FeedMessage *)codec_unpack(
        &pay__feed_message__descriptor, zmq_msg_data(msg), len,
        16 * len + 256 * 1024, err);
    if (!fm) {
        log_warn("feed.malformed", "%s: bad feed message: %s", self->name, err);
        return NULL;
    }
    self->last_recv_ms = now;
    self->silent_rounds = 0;
    if (fm->kind_case == PAY__FEED_MESSAGE__KIND_BATCH && fm->batch)
        return fm;
    if (fm->kind_case == PAY__FEED_MESSAGE__KIND_HEARTBEAT && fm->heartbeat
        && fm->heartbeat->has_head_seq)
        self->stats.head_seq = fm->heartbeat->head_seq;
    if (fm->kind_case == PAY__FEED_MESSAGE__KIND_PRUNED && fm->pruned) {
        /* The events we need are gone at the producer: an alarm, never a
         * silent skip. Asked again only after a long pause (an operator
         * may restore the producer's outbox meanwhile). */
        self->stats.pruned++;
        log_error("feed.pruned", "%s: the producer no longer holds seq %" PRIu64
                  " (its oldest is %" PRIu64 "); this consumer cannot go on from its cursor "
                  "%" PRIu64 " without the missing events", self->name,
                  self->stats.cursor + 1, fm->pruned->first_seq, self->stats.cursor);
        self->need_subscribe = 1;
        self->retry_at_ms = now + 10 * self->opts.timeout_ms;
    }
    codec_free((ProtobufCMessage **)&fm);
    return NULL;
}

/* Connection events from the monitor: subscribe on every new handshake. */
static void s_consumer_on_events(feed_consumer_t *self, int64_t now)
{
    for (;;) {
        zmq_msg_t ev;
        uint16_t event = 0;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, self->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        if (zmq_msg_size(&ev) >= 6)
            memcpy(&event, zmq_msg_data(&ev), sizeof event);
        s_drain_more(self->mon, &ev);
        zmq_msg_close(&ev);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            log_info("feed.connected", "%s connected to %s", self->name, self->endpoint);
            s_consumer_want_subscribe(self, now);
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            log_info("feed.disconnected", "%s lost %s", self->name, self->endpoint);
            self->need_subscribe = 1;
        } else if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                            | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) {
            log_warn("feed.handshake", "%s: handshake with %s failed (event 0x%x)",
                     self->name, self->endpoint, event);
        }
    }
}

feed_consumer_t *feed_consumer_new(void *zmq_ctx, store_t *store,
                                   const char *cursor_db_name,
                                   const char *feed_name, const char *endpoint,
                                   const auth_keypair_t *client_keys,
                                   const char *server_public_z85,
                                   feed_apply_fn *apply, void *arg,
                                   const feed_consumer_opts_t *opts)
{
    feed_consumer_t *self = NULL;
    MDB_txn *txn = NULL;
    char mon_ep[96];
    const char *step = "arguments";
    int64_t now;
    int rc = 0, one = 1, ms;

    if (!zmq_ctx || !store || !cursor_db_name || !feed_name || !feed_name[0]
        || !endpoint || !client_keys || !server_public_z85 || !apply)
        goto fail;
    step = "allocate";
    self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->ctx = zmq_ctx;
    self->store = store;
    self->apply = apply;
    self->arg = arg;
    if (opts)
        self->opts = *opts;
    if (self->opts.window == 0)
        self->opts.window = FEED_WINDOW;
    if (self->opts.heartbeat_ms <= 0)
        self->opts.heartbeat_ms = FEED_HEARTBEAT_MS;
    if (self->opts.timeout_ms <= 0)
        self->opts.timeout_ms = FEED_CONSUMER_TIMEOUT_MS;
    if (self->opts.retry_ms <= 0)
        self->opts.retry_ms = FEED_RETRY_MS;
    if (self->opts.name && self->opts.name[0])
        snprintf(self->name, sizeof self->name, "%s", self->opts.name);
    else
        snprintf(self->name, sizeof self->name, "%.8s", client_keys->public_z85);
    self->opts.name = NULL;   /* borrowed; self->name is the copy */
    self->feed_name = strdup(feed_name);
    self->endpoint = strdup(endpoint);
    if (!self->feed_name || !self->endpoint)
        goto fail;

    step = "cursor database";
    self->cursor_dbi = store_dbi(store, cursor_db_name);
    if (self->cursor_dbi == (MDB_dbi)-1)
        goto fail;
    step = "read cursor";
    if ((rc = store_read_begin(store, &txn)) != 0)
        goto fail;
    rc = feed_cursor_read(txn, self->cursor_dbi, feed_name, &self->stats.cursor);
    mdb_txn_abort(txn);
    if (rc != 0)
        goto fail;

    step = "zmq_socket";
    self->sock = zmq_socket(zmq_ctx, ZMQ_DEALER);
    if (!self->sock)
        goto fail;
    step = "socket options";
    /* No ZMQ_ROUTING_ID: the producer's ROUTER names each connection
     * itself, so no peer can present (and take over) ours. A reconnect is
     * a new connection and subscribes again. */
    ms = 0;
    if (zmq_setsockopt(self->sock, ZMQ_LINGER, &ms, sizeof ms) != 0
        || zmq_setsockopt(self->sock, ZMQ_IMMEDIATE, &one, sizeof one) != 0)
        goto fail;
    ms = self->opts.heartbeat_ms;
    if (zmq_setsockopt(self->sock, ZMQ_HEARTBEAT_IVL, &ms, sizeof ms) != 0)
        goto fail;
    ms = self->opts.timeout_ms;
    if (zmq_setsockopt(self->sock, ZMQ_HEARTBEAT_TIMEOUT, &ms, sizeof ms) != 0)
        goto fail;
    step = "auth_curve_client";
    if (auth_curve_client(self->sock, client_keys, server_public_z85,
                          CODEC_MAX_FRAME) != 0)
        goto fail;
    step = "monitor";
    snprintf(mon_ep, sizeof mon_ep, "inproc://feed-monitor-%p-%u", (void *)self,
             atomic_fetch_add(&s_monitor_serial, 1u));
    if (zmq_socket_monitor(self->sock, mon_ep,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
                               | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                               | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                               | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
        goto fail;
    self->mon = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (!self->mon)
        goto fail;
    ms = 0;
    zmq_setsockopt(self->mon, ZMQ_LINGER, &ms, sizeof ms);
    if (zmq_connect(self->mon, mon_ep) != 0)
        goto fail;
    step = "zmq_connect";
    if (zmq_connect(self->sock, endpoint) != 0)
        goto fail;

    now = clock_mono_ms();
    self->last_recv_ms = now;
    self->last_send_ms = now;
    self->last_progress_ms = now;
    self->need_subscribe = 1;
    log_info("feed.consumer", "%s following feed '%s' at %s from seq %" PRIu64,
             self->name, feed_name, endpoint, self->stats.cursor + 1);
    return self;

fail:
    log_error("feed.consumer", "cannot start consumer of %s: %s failed: %s",
              endpoint ? endpoint : "(null)", step,
              rc ? mdb_strerror(rc) : zmq_strerror(errno));
    feed_consumer_destroy(&self);
    return NULL;
}

void feed_consumer_destroy(feed_consumer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    feed_consumer_t *self = *self_p;
    if (self->sock) {
        zmq_socket_monitor(self->sock, NULL, 0);
        zmq_close(self->sock);
    }
    if (self->mon)
        zmq_close(self->mon);
    free(self->feed_name);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

void *feed_consumer_socket(feed_consumer_t *self)
{
    return self ? self->sock : NULL;
}

int feed_consumer_on_readable(feed_consumer_t *self)
{
    Pay__FeedMessage *group[S_GROUP_BATCHES];
    const Pay__FeedBatch *batches[S_GROUP_BATCHES];
    size_t n = 0, entries = 0;
    int rc = 0, drained = 0;

    if (!self)
        return -1;
    s_consumer_on_events(self, clock_mono_ms());
    while (!drained) {
        /* Group commit: the batches already waiting share one transaction
         * (one fsync), bounded in count and entries. */
        n = entries = 0;
        while (n < S_GROUP_BATCHES && entries < S_GROUP_ENTRIES) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, self->sock, ZMQ_DONTWAIT) < 0) {
                int e = errno;
                zmq_msg_close(&msg);
                if (e == EINTR)
                    continue;
                if (e != EAGAIN) {
                    log_error("feed.recv", "%s: %s", self->name, zmq_strerror(e));
                    rc = -1;
                }
                drained = 1;
                break;
            }
            if (zmq_msg_more(&msg)) {
                s_drain_more(self->sock, &msg);   /* a feed message is one frame */
            } else {
                Pay__FeedMessage *fm = s_consumer_decode(self, &msg, clock_mono_ms());
                if (fm) {
                    group[n] = fm;
                    batches[n++] = fm->batch;
                    entries += fm->batch->n_entries;
                }
            }
            zmq_msg_close(&msg);
        }
        if (n > 0)
            s_consumer_on_batches(self, batches, n, clock_mono_ms());
        for (size_t i = 0; i < n; i++)
            codec_free((ProtobufCMessage **)&group[i]);
    }
    return rc;
}

int feed_consumer_tick(feed_consumer_t *self)
{
    int64_t now;
    if (!self)
        return -1;
    now = clock_mono_ms();
    s_consumer_on_events(self, now);
    if (now - self->last_recv_ms > self->opts.timeout_ms) {
        /* Silence: the producer restarted, forgot us, or the path is dead.
         * Subscribe again; if that is met by silence too, reconnect. */
        self->silent_rounds++;
        self->last_recv_ms = now;
        if (self->silent_rounds >= 2) {
            log_warn("feed.reconnect", "%s: nothing from %s for %d ms; reconnecting",
                     self->name, self->endpoint, self->opts.timeout_ms);
            zmq_disconnect(self->sock, self->endpoint);
            if (zmq_connect(self->sock, self->endpoint) != 0)
                log_error("feed.reconnect", "%s: connect %s: %s", self->name,
                          self->endpoint, zmq_strerror(errno));
            self->stats.reconnects++;
            self->silent_rounds = 0;
        } else {
            log_info("feed.silence", "%s: nothing from %s for %d ms; re-subscribing",
                     self->name, self->endpoint, self->opts.timeout_ms);
        }
        self->need_subscribe = 1;
    } else if (self->stats.head_seq > self->stats.cursor
               && now - self->last_progress_ms > self->opts.timeout_ms
               && now >= self->retry_at_ms) {
        /* Heartbeats say there is more, but nothing comes: the producer's
         * idea of our credit has drifted. Start the subscription over. */
        log_info("feed.stalled", "%s: head %" PRIu64 " but cursor %" PRIu64
                 " for %d ms; re-subscribing", self->name, self->stats.head_seq,
                 self->stats.cursor, self->opts.timeout_ms);
        self->last_progress_ms = now;
        self->need_subscribe = 1;
    }
    s_consumer_subscribe(self, now);
    if (now - self->last_send_ms >= self->opts.heartbeat_ms)
        s_consumer_ack(self, 0);   /* keepalive: the producer forgets the silent */
    return 0;
}

uint64_t feed_consumer_cursor(feed_consumer_t *self)
{
    return self ? self->stats.cursor : 0;
}

void feed_consumer_stats(feed_consumer_t *self, feed_consumer_stats_t *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!self)
        return;
    *out = self->stats;
    out->lag = out->head_seq > out->cursor ? out->head_seq - out->cursor : 0;
}

/* ---- In a server loop ---------------------------------------------------- */

static int s_producer_readable_hook(void *self)
{
    return feed_producer_on_readable(self);
}

static int s_producer_pump_hook(void *self)
{
    return feed_producer_pump(self);
}

static int s_producer_tick_hook(void *self)
{
    return feed_producer_tick(self);
}

static int s_consumer_readable_hook(void *self)
{
    return feed_consumer_on_readable(self);
}

static int s_consumer_tick_hook(void *self)
{
    return feed_consumer_tick(self);
}

int feed_producer_attach(feed_producer_t *self, server_t *server)
{
    if (!self || !server
        || server_watch(server, self->sock, s_producer_readable_hook, self) != 0
        || server_every(server, FEED_TICK_MS, s_producer_tick_hook, self) != 0
        || server_after_commit(server, s_producer_pump_hook, self) != 0)
        return -1;
    return 0;
}

int feed_consumer_attach(feed_consumer_t *self, server_t *server)
{
    if (!self || !server
        || server_watch(server, self->sock, s_consumer_readable_hook, self) != 0
        || server_every(server, FEED_TICK_MS, s_consumer_tick_hook, self) != 0)
        return -1;
    return 0;
}
