/* feed_demo_consumer: a real feed consumer process for the exactly-once
 * test and the feed benchmark.
 *
 * Its apply fn records each event as applied[seq] = value with
 * MDB_NOOVERWRITE, so applying an event twice is DETECTED (logged as
 * demo.duplicate_apply and refused) rather than hidden, checks the value
 * against the producer's formula, and adds it to a running total kept in
 * the same transaction as the feed cursor.
 *
 *   feed_demo_consumer --data DIR --endpoint tcp://127.0.0.1:PORT --keys KEYDIR
 *                      [--name NAME] [--window W] [--exit-at N]
 *   feed_demo_consumer --data DIR --dump
 *       prints "cursor=<c> count=<n> sum=<s> first=<min> last=<max>
 *               gaps=<missing seqs in 1..cursor> total=<running total>
 *               total_count=<running count>"
 *
 * KEYDIR holds consumer.key (this consumer's key pair) and producer.pub. */
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

#define S_FEED "demo"

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static uint64_t s_value(uint64_t seq)
{
    return (seq * 2654435761u) % 1000003u;
}

typedef struct {
    MDB_dbi applied;
    MDB_dbi totals;
} s_demo_t;

static int s_add_total(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t add)
{
    MDB_val v;
    uint8_t buf[8];
    uint64_t cur = 0;
    int rc = store_get(txn, dbi, key, strlen(key), &v);
    if (rc == 0 && v.mv_size == 8)
        cur = store_be64_get(v.mv_data);
    else if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    store_be64_put(buf, cur + add);
    return store_put(txn, dbi, key, strlen(key), buf, sizeof buf, 0);
}

static int s_apply(MDB_txn *txn, uint64_t seq, const uint8_t *payload, size_t len,
                   void *arg, feed_refusal_t *why)
{
    (void)why;
    s_demo_t *d = arg;
    uint8_t key[8];
    uint64_t value;
    int rc;

    if (len != 8) {
        log_error("demo.bad_event", "seq %" PRIu64 ": payload of %zu bytes", seq, len);
        return -1;
    }
    value = store_be64_get(payload);
    if (value != s_value(seq)) {
        log_error("demo.bad_event", "seq %" PRIu64 ": value %" PRIu64 ", want %" PRIu64,
                  seq, value, s_value(seq));
        return -1;
    }
    store_be64_put(key, seq);
    rc = store_put(txn, d->applied, key, sizeof key, payload, len, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        log_error("demo.duplicate_apply", "seq %" PRIu64 " applied twice", seq);
        return rc;
    }
    if (rc != 0)
        return rc;
    if ((rc = s_add_total(txn, d->totals, "sum", value)) != 0)
        return rc;
    return s_add_total(txn, d->totals, "count", 1);
}

static uint64_t s_total(MDB_txn *txn, MDB_dbi dbi, const char *key)
{
    MDB_val v;
    if (store_get(txn, dbi, key, strlen(key), &v) == 0 && v.mv_size == 8)
        return store_be64_get(v.mv_data);
    return 0;
}

static int s_dump(store_t *store)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t cursor = 0, count = 0, sum = 0, first = 0, last = 0, upto = 0;
    int rc;

    if ((rc = store_read_begin(store, &txn)) != 0)
        goto fail;
    if ((rc = feed_cursor_read(txn, store_dbi(store, "cursor"), S_FEED, &cursor)) != 0)
        goto fail;
    if ((rc = mdb_cursor_open(txn, store_dbi(store, "applied"), &cur)) != 0)
        goto fail;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || v.mv_size != 8)
            continue;
        uint64_t seq = store_be64_get(k.mv_data);
        if (count == 0)
            first = seq;
        last = seq;
        count++;
        sum += store_be64_get(v.mv_data);
        if (seq >= 1 && seq <= cursor)
            upto++;
    }
    if (rc != MDB_NOTFOUND)
        goto fail;
    mdb_cursor_close(cur);
    cur = NULL;
    printf("cursor=%" PRIu64 " count=%" PRIu64 " sum=%" PRIu64 " first=%" PRIu64
           " last=%" PRIu64 " gaps=%" PRIu64 " total=%" PRIu64 " total_count=%" PRIu64
           "\n", cursor, count, sum, first, last, cursor - upto,
           s_total(txn, store_dbi(store, "totals"), "sum"),
           s_total(txn, store_dbi(store, "totals"), "count"));
    mdb_txn_abort(txn);
    return 0;
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
        {"endpoint", "FEED_DEMO_ENDPOINT", "tcp://127.0.0.1:5590", "producer's feed endpoint", NULL},
        {"keys", "FEED_DEMO_KEYS", NULL, "directory with consumer.key and producer.pub", NULL},
        {"name", NULL, "demo", "consumer name (routing id and logs)", NULL},
        {"window", NULL, "0", "credit window (0: the feed default)", NULL},
        {"exit-at", NULL, "0", "exit once the cursor reaches this seq (0: never)", NULL},
        {"map-mb", NULL, "256", "initial LMDB map size in MiB", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    const char *names[] = {"cursor", "applied", "totals", FEED_QUARANTINE_DB, NULL};
    char *args[64];
    int nargs = 0, dump = 0, status = 1, rc;
    long window, exit_at, map_mb;
    char path[1024];
    store_t *store = NULL;
    void *ctx = NULL;
    feed_consumer_t *feed = NULL;
    auth_keypair_t keys, server;
    s_demo_t demo;

    log_set_service("feed-demo-consumer");
    log_init_from_env();
    for (int i = 0; i < argc && nargs < 63; i++) {
        if (strcmp(argv[i], "--dump") == 0)
            dump = 1;
        else
            args[nargs++] = argv[i];
    }
    args[nargs] = NULL;
    rc = config_parse(opts, nargs, args, "feed_demo_consumer --data DIR "
                      "--endpoint EP --keys KEYDIR [--name NAME] [--window W] "
                      "[--exit-at N] | --data DIR --dump");
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (!config_get(opts, "data")
        || config_get_long(opts, "window", 0, FEED_MAX_CREDIT, &window) != 0
        || config_get_long(opts, "exit-at", 0, 1000000000L, &exit_at) != 0
        || config_get_long(opts, "map-mb", 1, 1L << 20, &map_mb) != 0) {
        fprintf(stderr, "feed_demo_consumer: bad or missing option (try --help)\n");
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
        fprintf(stderr, "feed_demo_consumer: --keys is required\n");
        goto done;
    }
    snprintf(path, sizeof path, "%s/consumer.key", config_get(opts, "keys"));
    if (auth_keypair_load(path, &keys) != 0) {
        log_error("demo.keys", "cannot load %s", path);
        goto done;
    }
    snprintf(path, sizeof path, "%s/producer.pub", config_get(opts, "keys"));
    if (auth_keypair_load(path, &server) != 0) {
        log_error("demo.keys", "cannot load %s", path);
        goto done;
    }

    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    ctx = zmq_ctx_new();
    if (!ctx)
        goto done;
    demo.applied = store_dbi(store, "applied");
    demo.totals = store_dbi(store, "totals");
    feed_consumer_opts_t fo = {0};
    fo.name = config_get(opts, "name");
    fo.window = (uint32_t)window;
    feed = feed_consumer_new(ctx, store, "cursor", S_FEED, config_get(opts, "endpoint"),
                             &keys, server.public_z85, s_apply, &demo, &fo);
    if (!feed)
        goto done;

    int64_t next_tick = clock_mono_ms();
    while (!s_stop) {
        int64_t now = clock_mono_ms();
        long timeout = next_tick > now ? (long)(next_tick - now) : 0;
        zmq_pollitem_t items[] = {{feed_consumer_socket(feed), 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 1, timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_error("demo.poll", "%s", zmq_strerror(errno));
            goto done;
        }
        if (items[0].revents & ZMQ_POLLIN)
            feed_consumer_on_readable(feed);
        now = clock_mono_ms();
        if (now >= next_tick) {
            feed_consumer_tick(feed);
            next_tick = now + FEED_TICK_MS;
        }
        if (exit_at > 0 && feed_consumer_cursor(feed) >= (uint64_t)exit_at) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            printf("reached_ms=%" PRId64 " cursor=%" PRIu64 "\n",
                   (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                   feed_consumer_cursor(feed));
            fflush(stdout);
            break;
        }
    }
    feed_consumer_stats_t st;
    feed_consumer_stats(feed, &st);
    log_info("demo.stop", "cursor %" PRIu64 ", %" PRIu64 " applied, %" PRIu64
             " duplicates skipped, %" PRIu64 " gaps, %" PRIu64 " subscribes, %"
             PRIu64 " apply failures", st.cursor, st.applied, st.duplicates, st.gaps,
             st.subscribes, st.apply_failures);
    status = 0;
done:
    feed_consumer_destroy(&feed);
    if (ctx)
        zmq_ctx_term(ctx);
    store_destroy(&store);
    return status;
}
