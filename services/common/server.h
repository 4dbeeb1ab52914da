/* server: a service's API loop: one CURVE ROUTER, group commit, and
 * idempotent replies.
 *
 * The loop polls the ROUTER (plus any sockets and timers the service adds).
 * When requests are ready it drains them without blocking (at most
 * max_batch, for at most max_batch_ms), decodes each one (a bad frame gets a
 * MALFORMED_REQUEST reply at once), then runs ALL the good ones in ONE
 * store_write transaction, each in its own NESTED transaction: a handler
 * that fails has its writes rolled back while its batch-mates keep theirs.
 * One commit, one fsync; only after the commit succeeds are the replies sent
 * (if it fails, every request of the batch gets INTERNAL and nothing
 * changed). Durability is that of one request per commit; the cost of the
 * fsync is shared by the whole batch.
 *
 * Pipelined commit: the commit syncs the data pages and writes LMDB's meta
 * page without syncing it (MDB_NOMETASYNC); a helper thread then syncs it
 * while the loop drains the next batch and runs its handlers. The replies,
 * counters and after-commit hooks of a batch wait until that sync is done,
 * so nothing is acknowledged before it is durable. Timers and watches only
 * run when every committed batch is durable. After-commit hooks may run
 * while the NEXT batch's write transaction is open (uncommitted) in the
 * loop's thread: they may read the store (a read-only transaction sees
 * exactly the committed, durable state, as a feed producer's pump needs)
 * but must not write to it.
 *
 * Idempotency: the answer to every request whose handler kept its writes is
 * stored, in the same nested transaction, in the database
 * SERVER_REQUESTS_DB (which the service must name in store_open), keyed by
 * (caller name, request_id), together with a hash of the request frame. A
 * request that comes again with the same id gets the stored first answer
 * byte for byte, and the handler is not called; the same id with different
 * bytes gets DUPLICATE_CONFLICT. That is what makes the client's blind
 * resend (client.h) safe.
 *
 * Stored answers are kept for replay_ttl_s (default SERVER_REPLAY_TTL_S,
 * 7 days), then pruned: a timer of the loop (every prune_interval_ms)
 * examines at most SERVER_PRUNE_SCAN entries, resuming where the last step
 * stopped, and deletes at most SERVER_PRUNE_BATCH of them in one small
 * write transaction, so pruning never stalls the loop; after a step that
 * deleted something the next one follows within 20 ms, so that pruning
 * keeps up with a busy service. A request resent after its answer was
 * pruned is handled as a new one.
 *
 * Handlers are plain functions, run in the loop's thread. The caller's
 * identity comes from the connection's ZAP User-Id, never from the payload.
 * A handler may run MORE THAN ONCE for one request: after MDB_MAP_FULL the
 * whole batch is rerun in a new transaction with a bigger map, so a handler
 * must have no effect outside its transaction (replies are rebuilt each
 * run; that is handled here).
 *
 * Storage failure is fatal. A commit that fails (anything but MDB_MAP_FULL),
 * a failed fdatasync of the meta page, or any other store_write of the
 * process whose commit fails (a feed consumer's apply, a timer's write)
 * marks the store failed (store.h: it then refuses every read and write),
 * and the loop stops: the requests of the batch in hand are answered
 * RESOURCE_EXHAUSTED (the disk is full) or UNAVAILABLE (anything else),
 * never OK; those still queued get UNAVAILABLE; and server_run returns -1,
 * so that the process exits non-zero and recovers its last durable state
 * on restart. It never carries on: after a failed fsync the page cache may
 * hold pages that will never reach the disk.
 *
 * Answering later (server_call_later): a handler may leave its request to
 * be answered by someone else once the batch is durable, e.g. a backup
 * that runs on a helper thread (backup.h). Such a request's answer is not
 * stored for replay.
 *
 * SIGTERM/SIGINT (unless no_signals) or server_stop: the loop finishes the
 * batch in hand (commit and replies), answers requests still queued with
 * UNAVAILABLE, and server_run returns 0. The handlers are installed for the
 * duration of server_run; one signal-handling server per process (a second
 * one, e.g. in tests, sets no_signals and is stopped with server_stop).
 *
 * Ownership: server_new borrows the zmq context, the store, the auth_t and
 * everything in the config (they must outlive the server); the server owns
 * its socket. Pointers passed to a handler are valid only during the call. */
#ifndef PAY_SERVER_H
#define PAY_SERVER_H

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "auth.h"
#include "codec.h"
#include "store.h"

/* The named database every service using the server must open. */
#define SERVER_REQUESTS_DB "server_requests"

#define SERVER_MAX_BATCH 256        /* requests per batch (default) */
#define SERVER_BATCH_MS 2           /* time spent draining one batch (default) */
#define SERVER_REQUEST_ID_MAX 128   /* longest request_id accepted */
#define SERVER_MAX_WATCHES 16
#define SERVER_MAX_TIMERS 16
#define SERVER_MAX_HOOKS 8
#define SERVER_REPLAY_TTL_S (7L * 24 * 3600)   /* stored answers kept (default) */
#define SERVER_PRUNE_MS 1000        /* a pruning step this often (default) */
#define SERVER_PRUNE_SCAN 1024      /* entries examined per step */
#define SERVER_PRUNE_BATCH 256      /* entries deleted per step */

typedef struct server_t server_t;

/* One request being handled; valid only during the handler call. */
typedef struct server_call_t server_call_t;

/* Handles one request inside `txn`, a nested transaction of the batch.
 * Must answer through server_reply or server_reply_status (no answer means
 * an empty OK reply, or INTERNAL if the handler failed). Returns:
 *   0             keep this request's writes (and store its answer);
 *   MDB_MAP_FULL  the map is full: the whole batch is rerun with a bigger map;
 *   anything else roll back this request's writes only (its reply stands).
 * `request_id` is the request's field 1, non-empty and checked. */
typedef int (server_handler_fn)(void *svc, server_call_t *call,
                                const auth_identity_t *caller,
                                const ProtobufCMessage *request,
                                const char *request_id, MDB_txn *txn);

/* A watch, timer or after-commit hook. The return value is only logged
 * (non-zero: a warning); call server_stop to end the loop. */
typedef int (server_fn)(void *arg);

typedef struct {
    const char *endpoint;           /* e.g. "tcp://0.0.0.0:5550" */
    const auth_keypair_t *keys;     /* server key pair; NULL only with
                                       insecure_plaintext */
    auth_t *auth;                   /* running ZAP handler; required with keys */
    int insecure_plaintext;         /* tests only: no CURVE, anonymous callers */
    const ProtobufCMessageDescriptor *request_desc;
    const ProtobufCMessageDescriptor *reply_desc;
    server_handler_fn *handler;
    void *svc;                      /* first argument of every handler call */
    int max_batch;                  /* 0: SERVER_MAX_BATCH */
    int max_batch_ms;               /* 0: SERVER_BATCH_MS */
    long max_frame;                 /* ZMQ_MAXMSGSIZE; 0: CODEC_MAX_FRAME */
    size_t max_decode_bytes;        /* per request; 0: codec default */
    int no_signals;                 /* 1: do not install SIGTERM/SIGINT handlers */
    int heartbeat_ms;               /* ZMQ_HEARTBEAT_IVL; 0: 1000 */
    int heartbeat_timeout_ms;       /* ZMQ_HEARTBEAT_TIMEOUT/TTL; 0: 3 * ivl */
    int linger_ms;                  /* ZMQ_LINGER at close; 0: 1000; < 0: none */
    long replay_ttl_s;              /* stored answers older than this are pruned;
                                       0: SERVER_REPLAY_TTL_S; < 0: kept forever */
    int prune_interval_ms;          /* 0: SERVER_PRUNE_MS */
} server_config_t;

typedef struct {
    uint64_t requests;      /* frames received */
    uint64_t handled;       /* handler calls whose batch committed */
    uint64_t rolled_back;   /* of those, handlers that returned failure */
    uint64_t replays;       /* answered from a stored first answer */
    uint64_t conflicts;     /* request_id reused with different bytes */
    uint64_t malformed;     /* refused before any handler */
    uint64_t batches;       /* batches that reached store_write */
    uint64_t commits;       /* of those, committed */
    uint64_t errors;        /* failed commits, failed sends, hook failures */
    uint64_t unavailable;   /* refused while stopping */
    uint64_t max_batch;     /* most requests in one batch */
    uint64_t map_retries;   /* batches rerun after MDB_MAP_FULL */
    uint64_t pruned;        /* stored answers deleted for their age */
} server_stats_t;

/* Creates the ROUTER with CURVE (or plaintext if insecure_plaintext),
 * heartbeats, ZMQ_MAXMSGSIZE and ZMQ_LINGER (no ZMQ_ROUTER_HANDOVER), and binds
 * it. The store must hold SERVER_REQUESTS_DB. Returns NULL on failure
 * (logged). */
server_t *server_new(void *zmq_ctx, store_t *store, const server_config_t *cfg);

/* Closes the socket (lingering so that the last replies go out) and frees.
 * Accepts NULL; NULLs *self_p. */
void server_destroy(server_t **self_p);

/* The endpoint actually bound (ZMQ_LAST_ENDPOINT: a wildcard port resolved). */
const char *server_endpoint(server_t *self);

/* Calls fn(arg) whenever `socket` is readable (up to SERVER_MAX_WATCHES). */
int server_watch(server_t *self, void *socket, server_fn *fn, void *arg);
/* Calls fn(arg) about every interval_ms (up to SERVER_MAX_TIMERS). */
int server_every(server_t *self, int interval_ms, server_fn *fn, void *arg);
/* Calls fn(arg) after each committed batch of API requests, once it is
 * durable and its replies are sent (e.g. a feed producer's pump). fn may
 * read the store but must not write to it (see "Pipelined commit"). */
int server_after_commit(server_t *self, server_fn *fn, void *arg);

/* Runs the loop until server_stop or a signal. Returns 0 on a clean stop,
 * -1 on a fatal socket error (e.g. the context was terminated) or a storage
 * failure (see "Storage failure"; store_failed then says which). */
int server_run(server_t *self);

/* Asks the loop to stop after the batch in hand. Safe from any thread and
 * from a signal handler. */
void server_stop(server_t *self);

/* A consistent copy of the counters; safe from any thread. */
void server_stats(server_t *self, server_stats_t *out);

/* ---- inside a handler --------------------------------------------------- */

/* Packs `reply` (the service's Reply type, or a Pay__ReplyHeader) as this
 * request's answer, replacing any earlier one. The reply's request_id is
 * set to the request's if the handler left it unset. Returns 0 or -1. */
int server_reply(server_call_t *call, const ProtobufCMessage *reply);

/* Answers with a bare ReplyHeader {request_id, status, message}. */
int server_reply_status(server_call_t *call, Pay__Status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Declares that this request changed nothing (a query), so its answer is
 * not stored for replay. Without it, the answer of every handler that
 * returns 0 is stored. */
void server_call_readonly(server_call_t *call);

/* The server, e.g. for server_stats in a health handler. */
server_t *server_call_server(server_call_t *call);

/* A request answered later: its routing envelope and request_id. */
typedef struct server_later_t server_later_t;

/* Called exactly once for each server_call_later, in the loop's thread:
 * with `later` once the request's batch is durable (the callee now owns
 * it and must answer it with server_later_reply, from the loop's thread),
 * or with NULL if the request will not be answered later after all (the
 * handler failed, the batch is rerun after MDB_MAP_FULL and the handler
 * asks again, or the batch did not commit: its error answer goes out now). */
typedef void (server_later_fn)(void *arg, server_later_t *later);

/* Inside a handler: answer this request later (see server_later_fn); the
 * handler's own reply, if any, is not sent, and the answer is not stored
 * for replay. Returns 0 or -1 (not inside a handler). */
int server_call_later(server_call_t *call, server_later_fn *fn, void *arg);

/* Answers a request left for later with a ReplyHeader {request_id, status,
 * message}, and frees the handle (*later_p becomes NULL). From the loop's
 * thread only (a watch or timer), while the server lives. Returns 0 or -1
 * (the reply could not be queued; the handle is freed all the same). */
int server_later_reply(server_later_t **later_p, Pay__Status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The cutoff (unix ms) below which stored answers are pruned, for a clock
 * at now_unix_ms and a TTL of ttl_s seconds; 0 (prune nothing) when the
 * TTL reaches back before the epoch or is negative. */
uint64_t server_prune_cutoff_ms(uint64_t now_unix_ms, long ttl_s);

/* ---- without a socket (tests and fuzzing) ------------------------------- */

/* A server with no socket, no sync thread and no signal handlers, for
 * driving the request path directly. Same arguments as server_new; the
 * endpoint, keys, auth and batch settings are ignored. NULL on failure
 * (logged). Free with server_destroy. */
server_t *server_new_detached(store_t *store, const server_config_t *cfg);

/* Runs one request frame from `who` through the path every request of a
 * batch takes: the frame and decode limits, the request_id checks, the
 * replay lookup (a stored first answer, or DUPLICATE_CONFLICT), the handler
 * in a nested transaction of `txn`, and the stored answer. `txn` is the
 * caller's write transaction of the server's store; the caller commits or
 * aborts it. *reply (the packed answer, never empty on success) stays
 * valid until the next call or server_destroy. Returns 0, or an LMDB error
 * after which `txn` must be aborted (MDB_MAP_FULL included). */
int server_run_frame(server_t *self, const auth_identity_t *who, const void *frame, size_t len,
                     MDB_txn *txn, const uint8_t **reply, size_t *reply_len);

#endif
