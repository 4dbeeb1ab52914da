/* bench_lmdb_put: the raw LMDB ceiling that scripts/bench-feed compares the
 * feed against: one writer putting N 16-byte values under 8-byte big-endian
 * keys, in transactions of --txn puts, each commit fully synced (the same
 * environment flags as store.c: MDB_NOTLS, no MDB_NOSYNC).
 *
 *   bench_lmdb_put --data DIR [--n N] [--txn PUTS] [--append 0|1]
 *
 * Prints "puts=<n> seconds=<s> puts_per_s=<rate>". DIR must be empty or
 * missing; the benchmark's data is left there for the caller to remove. */
#include "config.h"
#include "store.h"

#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"data", NULL, NULL, "empty LMDB directory", NULL},
        {"n", NULL, "1000000", "values to put", NULL},
        {"txn", NULL, "1000", "puts per transaction", NULL},
        {"append", NULL, "0", "1: use MDB_APPEND (keys are ascending)", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    long n, per_txn, append;
    uint8_t key[8], val[16] = {0};
    int rc = config_parse(opts, argc, argv, "bench_lmdb_put --data DIR [--n N] [--txn PUTS]");
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (!config_get(opts, "data")
        || config_get_long(opts, "n", 1, 1000000000L, &n) != 0
        || config_get_long(opts, "txn", 1, 10000000L, &per_txn) != 0
        || config_get_long(opts, "append", 0, 1, &append) != 0) {
        fprintf(stderr, "bench_lmdb_put: bad or missing option (try --help)\n");
        return 2;
    }
    mkdir(config_get(opts, "data"), 0700);
    if ((rc = mdb_env_create(&env)) != 0
        || (rc = mdb_env_set_mapsize(env, (size_t)(n * 64 + (64L << 20)))) != 0
        || (rc = mdb_env_open(env, config_get(opts, "data"), MDB_NOTLS, 0600)) != 0)
        goto fail;
    double t0 = s_now();
    for (long done = 0; done < n;) {
        if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0
            || (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0)
            goto fail;
        for (long i = 0; i < per_txn && done < n; i++, done++) {
            MDB_val k = {sizeof key, key}, v = {sizeof val, val};
            store_be64_put(key, (uint64_t)done + 1);
            store_be64_put(val, (uint64_t)done * 2654435761u);
            if ((rc = mdb_put(txn, dbi, &k, &v, append ? MDB_APPEND : 0)) != 0)
                goto fail;
        }
        rc = mdb_txn_commit(txn);
        txn = NULL;
        if (rc != 0)
            goto fail;
    }
    double secs = s_now() - t0;
    printf("puts=%ld seconds=%.3f puts_per_s=%.0f\n", n, secs, (double)n / secs);
    mdb_env_close(env);
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    fprintf(stderr, "bench_lmdb_put: %s\n", mdb_strerror(rc));
    return 1;
}
