/* feed: durable event feeds between services: at-least-once on the wire,
 * exactly-once in effect.
 *
 * The producer's outbox (a named LMDB database, keys be64(seq), values the
 * packed events) is the durable log: a business handler appends to it in the
 * same write transaction as the business change, so an event exists if and
 * only if its change committed. The next seq is stored (FEED_META_DB), and
 * the log is pruned below what every registered consumer has acknowledged,
 * keeping a retention (feed_producer_opts_t.consumers); a Subscribe from a
 * pruned seq is answered FeedPruned, never with a silent gap. A feed_producer_t serves that log on a CURVE
 * ROUTER: each subscriber (keyed by the routing id of its connection) says
 * Subscribe{from_seq, credit}, and the producer streams FeedBatch messages
 * from the log, never
 * more entries than the credit the subscriber granted, so nothing queues
 * without bound. Idle subscribers get a FeedHeartbeat{head_seq} about every
 * second; subscribers silent for longer than the peer timeout are forgotten.
 *
 * A feed_consumer_t connects with a DEALER and subscribes on every new
 * connection (a restart or a reconnect); the subscription of a connection
 * that is gone is forgotten (the next send finds no peer, or the peer
 * timeout passes). It applies each batch (with any
 * others already waiting: group commit) in ONE store_write transaction that
 * also stores its cursor (last applied seq), so an event's effect and the
 * cursor move together: a duplicate (seq <= cursor) is skipped, the next
 * event (cursor + 1) is applied, and anything after a gap waits for a fresh
 * Subscribe from cursor + 1. After the commit it sends
 * Ack{applied_seq, credit = entries consumed (applied or skipped)}.
 * Silence, a disconnect, a gap or an apply failure all end the same way:
 * subscribe again from the durable cursor. An apply failure (storage)
 * aborts the whole batch and is retried later. An event the consumer
 * cannot apply (its apply fn returns FEED_REFUSED) is quarantined in the
 * same transaction that moves the cursor past it (feed_quarantine.h): an
 * event is never skipped and never silently dropped.
 *
 * Who receives events: batches go only to the connection that subscribed.
 *  - The producer's ZAP domain is AUTH_DOMAIN_FEED: a key without role
 *    `service` cannot even complete the handshake with a feed socket.
 *  - Routing ids are not the peer's to choose: the consumer sets no
 *    ZMQ_ROUTING_ID, so the ROUTER names each connection itself (a fresh
 *    id per connection, told to no peer), and there is no
 *    ZMQ_ROUTER_HANDOVER, so a peer that does present a routing id already
 *    in use is ignored by libzmq and never takes a live connection over.
 *    (Formerly consumers used a stable "<feed>:<name>" id with handover, so
 *    any allow-listed peer presenting it received up to the remaining
 *    credit before its first message could be checked.)
 *  - Every request is checked against its ZAP User-Id: only role `service`;
 *    an Ack or Subscribe whose identity (role, scope, name) differs from
 *    the one that subscribed on that routing id drops the subscription.
 * Residual: once a subscriber's connection closes, its subscription lives
 * until the next send to it fails (EHOSTUNREACH) or the peer timeout; in
 * that window a service key that guessed the dead connection's routing id
 * (the ROUTER's 32-bit counter, from a random start, never disclosed) and
 * presented it could receive one batch.
 *
 * Both ends are single-threaded objects driven by their owner's loop: poll
 * feed_*_socket() for ZMQ_POLLIN and call feed_*_on_readable(), and call
 * feed_*_tick() about every FEED_TICK_MS. A producer's owner also calls
 * feed_producer_pump() after each commit that appended to the outbox. In a
 * server.h loop, feed_*_attach() registers exactly those hooks.
 *
 * Ownership: feed_*_new returns an object the caller frees with
 * feed_*_destroy, which closes its sockets. The zmq context, the store, the
 * key pairs and the apply argument are borrowed: they must outlive the
 * object. Payload pointers passed to an apply fn are valid only during the
 * call. */
#ifndef PAY_FEED_H
#define PAY_FEED_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "common.pb-c.h"
#include "store.h"

/* Defaults; each can be changed through the options structs below. */
#define FEED_BATCH_MAX_ENTRIES 1024          /* entries per FeedBatch */
#define FEED_BATCH_MAX_BYTES (1024 * 1024)   /* payload bytes per FeedBatch */
#define FEED_MAX_PAYLOAD (1024 * 1024)       /* largest single event */
#define FEED_WINDOW 16384                    /* consumer's credit window */
#define FEED_MAX_CREDIT (1u << 20)           /* producer caps any grant */
#define FEED_HEARTBEAT_MS 1000               /* heartbeat / keepalive */
#define FEED_PEER_TIMEOUT_MS 10000           /* producer forgets after */
#define FEED_CONSUMER_TIMEOUT_MS 3000        /* consumer re-subscribes after */
#define FEED_RETRY_MS 1000                   /* after an apply failure */
#define FEED_MAX_SUBSCRIBERS 64
#define FEED_TICK_MS 100                     /* how often to call *_tick */
#define FEED_RETAIN 100000                   /* events always kept in the outbox */
#define FEED_PRUNE_MS 1000                   /* a pruning step this often */
#define FEED_PRUNE_BATCH 10000               /* events deleted per step */
#define FEED_MAX_CONSUMERS 16                /* registered consumers */

/* The database of a producer's store that holds its outbox's own facts:
 * the next seq, how far it was pruned, and each registered consumer's
 * acknowledged seq. Every store with an outbox must name it in store_open
 * (one outbox per store). */
#define FEED_META_DB "feed_meta"

/* ---- Outbox ------------------------------------------------------------ */

/* Appends `payload` to the outbox database `outbox` inside the caller's
 * write transaction `txn`, under the next seq, which is STORED in
 * FEED_META_DB and advanced in the same transaction (a store from before
 * it was stored starts from its last key + 1), and sets *seq_out (may be
 * NULL). Never cached: an aborted (nested) transaction leaves no gap, and
 * an outbox pruned to empty goes on from where it was, never from 1.
 * Returns 0, MDB_BAD_VALSIZE if len > FEED_MAX_PAYLOAD, MDB_INCOMPATIBLE
 * if the store has no FEED_META_DB, or an LMDB error (MDB_MAP_FULL
 * included, for store_write to grow the map). */
int feed_outbox_append(MDB_txn *txn, MDB_dbi outbox, const void *payload,
                       size_t len, uint64_t *seq_out);

/* The last seq ever appended (0 if none), pruned or not. Returns 0 or an
 * LMDB error. */
int feed_outbox_head(MDB_txn *txn, MDB_dbi outbox, uint64_t *head);

/* The oldest seq a subscriber may still ask for (1 until pruned). */
int feed_outbox_first(MDB_txn *txn, MDB_dbi outbox, uint64_t *first);

/* Deletes the outbox entries with seq <= `through`, at most `max` of them,
 * and records how far the outbox is pruned; *deleted (may be NULL) says how
 * many went. Returns 0 or an LMDB error. */
int feed_outbox_prune(MDB_txn *txn, MDB_dbi outbox, uint64_t through, size_t max,
                      size_t *deleted);

/* The acknowledged seq that the producer stored for registered consumer
 * `consumer` (0 if none yet). */
int feed_outbox_ack_read(MDB_txn *txn, const char *consumer, uint64_t *acked);

/* How far a producer may prune: every one of the `n` registered consumers
 * has acknowledged it (acked[i]), and the last `retain` events up to `head`
 * stay. 0 (nothing) if n is 0. Pure. */
uint64_t feed_prune_target(const uint64_t *acked, int n, uint64_t head, uint64_t retain);

/* ---- Producer ---------------------------------------------------------- */

typedef struct feed_producer_t feed_producer_t;

/* Zero fields take the defaults above. */
typedef struct {
    uint32_t batch_max_entries;
    size_t batch_max_bytes;
    uint32_t max_credit;
    int heartbeat_ms;
    int peer_timeout_ms;
    int sndhwm;                 /* messages queued per subscriber; 0: 64 */
    /* Outbox pruning. The registered consumers are named by their service
     * key (the allow-list name the ZAP handler gives their connection); a
     * NULL-terminated list, or NULL: no pruning. The outbox is pruned below
     * the lowest seq that every one of them has acknowledged (a consumer
     * that never connected holds it at 0), keeping at least the last
     * `retain` events. Each one's acknowledged seq is stored in
     * FEED_META_DB by the pruning step, so a restarted producer knows it. */
    const char *const *consumers;
    uint64_t retain;            /* 0: FEED_RETAIN */
    int prune_ms;               /* 0: FEED_PRUNE_MS */
    size_t prune_batch;         /* 0: FEED_PRUNE_BATCH */
} feed_producer_opts_t;

typedef struct {
    uint64_t head_seq;          /* last seq in the outbox at the last pump */
    uint32_t subscribers;
    uint64_t batches_sent;
    uint64_t entries_sent;
    uint64_t heartbeats_sent;
    uint64_t refused;           /* requests from non-service identities */
    uint64_t first_seq;         /* oldest seq still in the outbox */
    uint64_t pruned;            /* events pruned since start */
    uint64_t pruned_refusals;   /* Subscribes from a pruned seq (an alarm) */
} feed_producer_stats_t;

/* Binds a CURVE server ROUTER on `endpoint` with `server_keys`, serving the
 * outbox database `outbox_db_name` of `store` (which must have been opened
 * with that name). The service's auth_t `auth` must already be running in
 * `zmq_ctx`: only identities with role `service` may subscribe, checked
 * against its current allow-list on every Subscribe and Ack. `opts` may
 * be NULL. Returns NULL on failure (logged). */
feed_producer_t *feed_producer_new(void *zmq_ctx, store_t *store, auth_t *auth,
                                   const char *outbox_db_name,
                                   const char *endpoint,
                                   const auth_keypair_t *server_keys,
                                   const feed_producer_opts_t *opts);

/* Closes the socket and frees. Accepts NULL; NULLs *self_p. */
void feed_producer_destroy(feed_producer_t **self_p);

/* The ROUTER, for zmq_poll or server_watch. Do not read from it directly. */
void *feed_producer_socket(feed_producer_t *self);

/* The endpoint actually bound (ZMQ_LAST_ENDPOINT: "tcp://127.0.0.1:*"
 * resolves to the port chosen). Valid for the producer's life. */
const char *feed_producer_endpoint(feed_producer_t *self);

/* Handles every request waiting on the socket (Subscribe resets the
 * subscriber's next seq and credit; Ack adds credit), then pumps. Bad or
 * refused requests are logged and dropped. Returns 0, or -1 on a socket
 * error other than EAGAIN. */
int feed_producer_on_readable(feed_producer_t *self);

/* Sends what each subscriber has credit for, in batches, from one read
 * transaction. A subscriber whose queue is full (SNDHWM) waits for the next
 * pump. Returns 0, or an LMDB error from the read transaction. */
int feed_producer_pump(feed_producer_t *self);

/* Heartbeats idle subscribers, forgets silent ones, and pumps; about every
 * prune_ms, one bounded pruning step (a store_write: call it where a write
 * transaction may run, e.g. a server.h timer). A Subscribe from a seq that
 * was pruned gets FeedPruned instead of events (logged as "feed.pruned"
 * and counted in pruned_refusals): never a silent gap. */
int feed_producer_tick(feed_producer_t *self);

void feed_producer_stats(feed_producer_t *self, feed_producer_stats_t *out);

/* Splits a comma-separated list of consumer names (a service's
 * --feed-consumers flag) into `names` (at most FEED_MAX_CONSUMERS, then a
 * NULL), pointing into `buf` (a copy of `csv`, of `bufsize` bytes). Empty
 * or NULL csv: no names. Returns the count, or -1 (too many, too long, or
 * an empty name). */
int feed_consumer_names(const char *csv, char *buf, size_t bufsize,
                        const char *names[FEED_MAX_CONSUMERS + 1]);

/* ---- Consumer ---------------------------------------------------------- */

/* Why an event could not be applied, for its quarantine entry. `prison`
 * and `week` name its prison-week where the event has one ("" if not), so
 * that the reconciliation of that week turns to MISMATCH. */
#define FEED_REASON_LEN 256
typedef struct {
    char reason[FEED_REASON_LEN];
    char prison[8];
    char week[12];
} feed_refusal_t;

/* The apply fn's answer for an event it cannot apply (malformed, of an
 * unknown kind, naming what the consumer does not know): the event is
 * quarantined (FEED_QUARANTINE_DB, in the same transaction as the cursor)
 * and the feed goes on. Outside the range of LMDB and errno codes. */
#define FEED_REFUSED (-31999)

/* Fills `r` (which may be NULL) and returns FEED_REFUSED: the apply fn's
 * `return feed_refuse(r, prison, week, "...")`. prison/week may be NULL. */
int feed_refuse(feed_refusal_t *r, const char *prison, const char *week, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

/* Applies one event inside the consumer's write transaction. Returns:
 *   0             applied;
 *   FEED_REFUSED  it cannot be applied, with `refusal` filled (feed_refuse):
 *                 the event is quarantined and the cursor moves past it. An
 *                 apply fn must decide this BEFORE it writes anything (load,
 *                 decide, write), since its writes are not rolled back;
 *   anything else abort the whole batch (it is retried later, never
 *                 skipped); MDB_MAP_FULL makes store_write grow the map
 *                 and rerun the batch.
 * `payload` may be NULL when len is 0; it is valid only during the call. */
typedef int feed_apply_fn(MDB_txn *txn, uint64_t seq, const uint8_t *payload,
                          size_t len, void *arg, feed_refusal_t *refusal);

/* Optional hook around each transaction of the consumer's apply step (one
 * group of batches: everything waiting, see feed_consumer_on_readable), so
 * that an apply fn can keep state per transaction, say running totals in
 * memory written once per group instead of once per event. `arg` is the
 * apply fn's argument. Phases:
 *   FEED_GROUP_BEGIN  the transaction starts, before its first event; also
 *                     when it is rerun after map growth, so anything kept
 *                     from an earlier attempt must be dropped here;
 *   FEED_GROUP_END    every event of the group was applied (possibly none:
 *                     all duplicates); the cursor is stored and the
 *                     transaction commits right after, so whatever the
 *                     group's events left in memory must be written now;
 *   FEED_GROUP_ABORT  the transaction was aborted (an apply, END, cursor or
 *                     commit failure); `txn` is NULL; drop the group's
 *                     state. The return value is ignored.
 * A non-zero return from BEGIN or END aborts the transaction like an apply
 * failure (MDB_MAP_FULL: grow the map and rerun from BEGIN). */
typedef enum {
    FEED_GROUP_BEGIN = 1,
    FEED_GROUP_END = 2,
    FEED_GROUP_ABORT = 3,
} feed_group_phase_t;

typedef int feed_group_fn(MDB_txn *txn, feed_group_phase_t phase, void *arg);

/* What one batch did. */
typedef struct {
    uint64_t cursor;            /* last applied seq after the batch */
    uint32_t applied;           /* entries applied (seq == cursor + 1) */
    uint32_t duplicates;        /* entries skipped (seq <= cursor) */
    int gap;                    /* 1 if an entry with seq > cursor + 1 stopped it
                                   (after the last entry applied) */
    uint64_t max_seq;           /* highest seq seen in the batch */
    uint64_t failed_seq;        /* the entry whose apply failed, else 0 */
    uint32_t quarantined;       /* entries refused and quarantined (counted in
                                   applied too: the cursor moved past them) */
} feed_batch_result_t;

/* The cursor of feed `feed_name` in database `cursor_dbi` (0 if none yet).
 * Returns 0 or an LMDB error (MDB_CORRUPTED for a value that is not 8
 * bytes). */
int feed_cursor_read(MDB_txn *txn, MDB_dbi cursor_dbi, const char *feed_name,
                     uint64_t *cursor);

/* The database every consumer's store must open (store_open's names) for
 * the events it could not apply: see feed_quarantine.h. */
#define FEED_QUARANTINE_DB "feed_quarantine"

/* The consumer's apply step without sockets: in ONE store_write
 * transaction, skips duplicates, applies seq == cursor + 1 through `apply`
 * (quarantining what it refuses), stops at a gap, and stores the new
 * cursor. Returns 0 once committed (res
 * filled), or the apply fn's or LMDB's error with nothing written
 * (res->failed_seq names the failing entry). */
int feed_batch_apply(store_t *store, MDB_dbi cursor_dbi, const char *feed_name,
                     const Pay__FeedBatch *batch, feed_apply_fn *apply,
                     void *arg, feed_batch_result_t *res);

/* The same for `n` batches in the order received, in ONE transaction (the
 * consumer's group commit). A gap ends its own batch only; res->gap says
 * whether a gap came after the last event applied. */
int feed_batches_apply(store_t *store, MDB_dbi cursor_dbi, const char *feed_name,
                       const Pay__FeedBatch *const *batches, size_t n,
                       feed_apply_fn *apply, void *arg, feed_batch_result_t *res);

/* feed_batches_apply with a group hook (NULL: none) around the
 * transaction; `arg` goes to both `apply` and `group`. */
int feed_batches_apply_group(store_t *store, MDB_dbi cursor_dbi, const char *feed_name,
                             const Pay__FeedBatch *const *batches, size_t n,
                             feed_apply_fn *apply, feed_group_fn *group, void *arg,
                             feed_batch_result_t *res);

typedef struct feed_consumer_t feed_consumer_t;

/* Zero fields take the defaults above. */
typedef struct {
    const char *name;           /* this consumer, for Subscribe.consumer and
                                   logs; NULL: the first 8 characters of its key */
    uint32_t window;            /* credit granted by Subscribe */
    int heartbeat_ms;           /* keepalive Ack when otherwise silent */
    int timeout_ms;             /* silence before re-subscribing */
    int retry_ms;               /* wait after an apply failure */
    feed_group_fn *group;       /* hook around each apply transaction, with
                                   the apply fn's arg; NULL: none */
} feed_consumer_opts_t;

typedef struct {
    uint64_t cursor;            /* last applied seq (durable) */
    uint64_t head_seq;          /* highest head the producer reported */
    uint64_t lag;               /* head_seq - cursor, or 0 */
    uint64_t batches;           /* batches committed */
    uint64_t applied;
    uint64_t duplicates;
    uint64_t gaps;
    uint64_t apply_failures;
    uint64_t quarantined;       /* events quarantined since start */
    uint64_t subscribes;
    uint64_t reconnects;
    uint64_t pruned;            /* FeedPruned answers: the producer no longer
                                   holds what we need (an alarm) */
} feed_consumer_stats_t;

/* Connects a CURVE client DEALER (keys `client_keys`, server key
 * `server_public_z85`) to `endpoint`, reads the cursor for `feed_name` from
 * database `cursor_db_name` of `store`, and subscribes from cursor + 1.
 * `apply` is called for each new event with `arg`. `opts` may be NULL.
 * Returns NULL on failure (logged). */
feed_consumer_t *feed_consumer_new(void *zmq_ctx, store_t *store,
                                   const char *cursor_db_name,
                                   const char *feed_name, const char *endpoint,
                                   const auth_keypair_t *client_keys,
                                   const char *server_public_z85,
                                   feed_apply_fn *apply, void *arg,
                                   const feed_consumer_opts_t *opts);

/* Closes the sockets and frees. Accepts NULL; NULLs *self_p. */
void feed_consumer_destroy(feed_consumer_t **self_p);

/* The DEALER, for zmq_poll or server_watch. It stays the same socket for
 * the consumer's life (a reconnect reuses it). */
void *feed_consumer_socket(feed_consumer_t *self);

/* Handles every message waiting (applying batches, noting heartbeats).
 * Returns 0, or -1 on a socket error other than EAGAIN. An apply failure
 * is not an error here: it is logged and retried after retry_ms. */
int feed_consumer_on_readable(feed_consumer_t *self);

/* Watches connection events, re-subscribes after silence or a disconnect
 * (reconnecting after repeated silence), and sends keepalives. */
int feed_consumer_tick(feed_consumer_t *self);

/* The last applied seq (durable). */
uint64_t feed_consumer_cursor(feed_consumer_t *self);

void feed_consumer_stats(feed_consumer_t *self, feed_consumer_stats_t *out);

/* ---- In a server loop (server.h) ----------------------------------------- */

typedef struct server_t server_t;

/* Registers the producer with `server`: watch its socket, tick every
 * FEED_TICK_MS, and pump after each committed batch of API requests (the
 * batch that appended to the outbox). Returns 0 or -1 (hook table full). */
int feed_producer_attach(feed_producer_t *self, server_t *server);

/* Registers the consumer with `server`: watch its socket and tick every
 * FEED_TICK_MS. Its batches run in their own store_write transactions
 * between the server's batches. Returns 0 or -1. */
int feed_consumer_attach(feed_consumer_t *self, server_t *server);

#endif
