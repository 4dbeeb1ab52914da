/* feed_demo_producer: a real feed producer process for the exactly-once
 * test and the feed benchmark.
 *
 * It appends events to the outbox of its own LMDB store until the outbox
 * holds --total events (after a restart it continues from whatever is
 * durable), --rate events per write transaction, while serving the feed.
 * Event seq carries the 8-byte big-endian value(seq) below, so a consumer
 * can check every payload and sum them.
 *
 *   feed_demo_producer --data DIR --endpoint tcp://127.0.0.1:PORT --keys KEYDIR
 *                      [--total N] [--rate PER_TXN] [--pause-ms MS]
 *   feed_demo_producer --data DIR --dump     prints "count=<n> sum=<s> head=<h>"
 *
 * KEYDIR holds producer.key (the server key pair) and allow (the
 * allow-list: consumers' public keys with role service). */
#include "auth.h"
#include "clock.h"
#include "config.h"
#include "feed.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define S_OUTBOX "outbox"

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* The deterministic value of event `seq`. */
static uint64_t s_value(uint64_t seq)
{
    return (seq * 2654435761u) % 1000003u;
}

typedef struct {
    MDB_dbi outbox;
    uint64_t total;
    uint64_t rate;
    uint64_t head;        /* set by the transaction body */
} s_append_t;

/* Appends up to `rate` events, stopping at `total`. Starts from the durable
 * head each time it runs (store_write may rerun it). */
static int s_append(MDB_txn *txn, void *arg)
{
    s_append_t *a = arg;
    uint64_t head = 0, seq = 0;
    uint8_t payload[8];
    int rc = feed_outbox_head(txn, a->outbox, &head);
    if (rc != 0)
        return rc;
    for (uint64_t i = 0; i < a->rate && head < a->total; i++) {
        store_be64_put(payload, s_value(head + 1));
        if ((rc = feed_outbox_append(txn, a->outbox, payload, sizeof payload, &seq)) != 0)
            return rc;
        head = seq;
    }
    a->head = head;
    return 0;
}

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_dump(store_t *store)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t count = 0, sum = 0, head = 0, expect = 1;
    int rc, bad = 0;

    if ((rc = store_read_begin(store, &txn)) != 0)
        goto fail;
    if ((rc = mdb_cursor_open(txn, store_dbi(store, S_OUTBOX), &cur)) != 0)
        goto fail;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || v.mv_size != 8) {
            bad++;
            continue;
        }
        head = store_be64_get(k.mv_data);
        if (head != expect)
            bad++;
        expect = head + 1;
        count++;
        sum += store_be64_get(v.mv_data);
    }
    if (rc != MDB_NOTFOUND)
        goto fail;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    printf("count=%" PRIu64 " sum=%" PRIu64 " head=%" PRIu64 " bad=%d\n", count, sum,
           head, bad);
    return bad ? 1 : 0;
fail:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    fprintf(stderr, "dump: %s\n", mdb_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"data", "FEED_DEMO_DATA", NULL, "LMDB directory", NULL},
        {"endpoint", "FEED_DEMO_ENDPOINT", "tcp://127.0.0.1:5590", "feed endpoint to bind", NULL},
        {"keys", "FEED_DEMO_KEYS", NULL, "directory with producer.key and allow", NULL},
        {"total", NULL, "100000", "events the outbox should hold", NULL},
        {"rate", NULL, "500", "events per write transaction", NULL},
        {"pause-ms", NULL, "0", "pause between append transactions", NULL},
        {"map-mb", NULL, "256", "initial LMDB map size in MiB", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    const char *names[] = {S_OUTBOX, FEED_META_DB, NULL};
    char *args[64];
    int nargs = 0, dump = 0, status = 1, rc;
    long total, rate, pause_ms, map_mb;
    char path[1024], allow[1024];
    store_t *store = NULL;
    void *ctx = NULL;
    auth_t *auth = NULL;
    feed_producer_t *feed = NULL;
    auth_keypair_t keys;

    log_set_service("feed-demo-producer");
    log_init_from_env();
    /* --dump is the one flag without a value. */
    for (int i = 0; i < argc && nargs < 63; i++) {
        if (strcmp(argv[i], "--dump") == 0)
            dump = 1;
        else
            args[nargs++] = argv[i];
    }
    args[nargs] = NULL;
    rc = config_parse(opts, nargs, args, "feed_demo_producer --data DIR "
                      "--endpoint EP --keys KEYDIR [--total N] [--rate PER_TXN] "
                      "[--pause-ms MS] | --data DIR --dump");
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (!config_get(opts, "data")
        || config_get_long(opts, "total", 0, 1000000000L, &total) != 0
        || config_get_long(opts, "rate", 1, 1000000L, &rate) != 0
        || config_get_long(opts, "pause-ms", 0, 60000L, &pause_ms) != 0
        || config_get_long(opts, "map-mb", 1, 1L << 20, &map_mb) != 0) {
        fprintf(stderr, "feed_demo_producer: bad or missing option (try --help)\n");
        return 2;
    }
    store = store_open(config_get(opts, "data"), names, (size_t)map_mb << 20);
    if (!store)
        return 1;
    if (dump) {
        status = s_dump(store);
        store_destroy(&store);
        return status;
    }
    if (!config_get(opts, "keys")) {
        fprintf(stderr, "feed_demo_producer: --keys is required\n");
        goto done;
    }
    snprintf(path, sizeof path, "%s/producer.key", config_get(opts, "keys"));
    snprintf(allow, sizeof allow, "%s/allow", config_get(opts, "keys"));
    if (auth_keypair_load(path, &keys) != 0) {
        log_error("demo.keys", "cannot load %s", path);
        goto done;
    }

    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    ctx = zmq_ctx_new();
    if (!ctx)
        goto done;
    auth = auth_new(ctx, allow);   /* before any bind */
    if (!auth)
        goto done;
    /* After a crash the port may take a moment to come free: retry. */
    for (int i = 0; i < 50 && !feed && !s_stop; i++) {
        feed = feed_producer_new(ctx, store, auth, S_OUTBOX, config_get(opts, "endpoint"),
                                 &keys, NULL);
        if (!feed)
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
    }
    if (!feed)
        goto done;

    s_append_t app = {store_dbi(store, S_OUTBOX), (uint64_t)total, (uint64_t)rate, 0};
    MDB_txn *txn = NULL;
    if (store_read_begin(store, &txn) != 0
        || feed_outbox_head(txn, app.outbox, &app.head) != 0) {
        if (txn)
            mdb_txn_abort(txn);
        goto done;
    }
    mdb_txn_abort(txn);
    log_info("demo.start", "outbox holds %" PRIu64 " of %ld events", app.head, total);
    if (app.head < app.total) {
        printf("append_start_ms=%" PRId64 " head=%" PRIu64 "\n", s_wall_ms(), app.head);
        fflush(stdout);
    }

    int64_t next_append = clock_mono_ms(), next_tick = next_append;
    int done_logged = app.head >= app.total;
    while (!s_stop) {
        int64_t now = clock_mono_ms();
        if (app.head < app.total && now >= next_append) {
            if ((rc = store_write(store, s_append, &app)) != 0) {
                log_error("demo.append", "append failed: %s", mdb_strerror(rc));
                goto done;
            }
            feed_producer_pump(feed);
            next_append = now + pause_ms;
            if (app.head >= app.total && !done_logged) {
                log_info("demo.appended", "outbox holds all %" PRIu64 " events", app.head);
                printf("append_end_ms=%" PRId64 "\n", s_wall_ms());
                fflush(stdout);
                done_logged = 1;
            }
        }
        long timeout = FEED_TICK_MS;
        if (app.head < app.total)
            timeout = next_append > now ? (long)(next_append - now) : 0;
        if (timeout > next_tick - now)
            timeout = next_tick > now ? (long)(next_tick - now) : 0;
        zmq_pollitem_t items[] = {{feed_producer_socket(feed), 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 1, timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_error("demo.poll", "%s", zmq_strerror(errno));
            goto done;
        }
        if (items[0].revents & ZMQ_POLLIN)
            feed_producer_on_readable(feed);
        now = clock_mono_ms();
        if (now >= next_tick) {
            feed_producer_tick(feed);
            next_tick = now + FEED_TICK_MS;
        }
    }
    log_info("demo.stop", "stopping");
    status = 0;
done:
    feed_producer_destroy(&feed);
    auth_destroy(&auth);
    if (ctx)
        zmq_ctx_term(ctx);
    store_destroy(&store);
    return status;
}
