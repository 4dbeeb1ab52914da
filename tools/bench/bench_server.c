/* bench_server: a real service process for scripts/bench-core: the shared
 * server loop (server.h) behind CURVE, with a handler that makes one small
 * durable write per request.
 *
 *   bench_server --data DIR --keys-dir KEYS [--endpoint tcp://127.0.0.1:*]
 *                [--naive] [--max-batch N] [--batch-ms MS] [--plaintext]
 *
 * Each request stores its payload under the next 8-byte big-endian sequence
 * number in the database "records" (read from the database inside the
 * request's nested transaction, so a rerun after MDB_MAP_FULL or a rolled
 * back batch-mate leaves no gap), and the server stores its answer for
 * replay, as every service does. Full sync: a reply means durable.
 *
 * Group commit is the server's default. --naive sets max_batch to 1: one
 * store_write, hence one commit and its fsync, per request, which is the
 * loop that group commit replaces. --plaintext drops CURVE, to measure what
 * CURVE costs (a benchmark setting only; no service offers it).
 *
 * Keys: if KEYS holds no bench_server.key yet, the server makes it, plus a
 * client key pair bench_client.key and the allow-list allow.txt that lets
 * that client in, so that one call sets up a benchmark. bench_client reads
 * bench_client.key and bench_server.pub from the same folder.
 *
 * Once bound it prints "endpoint=<resolved endpoint>" on stdout; on SIGTERM
 * it finishes the batch in hand and prints its counters as one line, with
 * the CPU time it used (user + system, all threads: cpu_s). The
 * LMDB environment lives in DIR/bench/ and is left for the caller. */
#include "auth.h"
#include "benchsvc.pb-c.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define S_RECORDS_DB "records"
#define S_MAX_PAYLOAD 4096
#define S_MAP_SIZE ((size_t)1 << 30)   /* sparse; avoids growth reruns */

typedef struct {
    MDB_dbi records;
} s_bench_t;

static int s_handle(void *svc, server_call_t *call, const auth_identity_t *caller,
                    const ProtobufCMessage *request, const char *request_id, MDB_txn *txn)
{
    s_bench_t *self = svc;
    const Pay__BenchRequest *req = (const Pay__BenchRequest *)request;
    uint8_t key[8];
    uint64_t last = 0;
    (void)caller;
    (void)request_id;
    if (!req->has_payload || req->payload.len > S_MAX_PAYLOAD) {
        server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT,
                            "payload missing or longer than %d bytes", S_MAX_PAYLOAD);
        return 1;
    }
    int rc = store_last_u64(txn, self->records, &last);
    if (rc != 0)
        return rc;
    store_be64_put(key, last + 1);
    rc = store_put(txn, self->records, key, sizeof key, req->payload.data, req->payload.len,
                   MDB_APPEND);
    if (rc != 0)
        return rc;
    Pay__BenchReply rep = PAY__BENCH_REPLY__INIT;
    rep.has_status = 1;
    rep.status = PAY__STATUS__OK;
    return server_reply(call, &rep.base) == 0 ? 0 : 1;
}

static double s_seconds(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static int s_path(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Makes the server and client key pairs and the allow-list, unless the
 * server key is already there. */
static int s_keys_prepare(const char *dir)
{
    char base[PATH_MAX], path[PATH_MAX], allow[PATH_MAX];
    auth_keypair_t server_kp, client_kp;
    int rc = -1;
    if (s_path(path, sizeof path, dir, "bench_server.key") != 0)
        return -1;
    if (access(path, R_OK) == 0)
        return 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        log_error("bench.keys", "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (auth_keypair_new(&server_kp) != 0 || auth_keypair_new(&client_kp) != 0)
        goto done;
    if (s_path(base, sizeof base, dir, "bench_client") != 0
        || auth_keypair_save(&client_kp, base) != 0
        || s_path(allow, sizeof allow, dir, "allow.txt") != 0
        || auth_allow_file_append(allow, client_kp.public_z85, ROLE_SERVICE, "-",
                                  "bench-client") != 0)
        goto done;
    /* The server key last: its presence means the folder is complete. */
    if (s_path(base, sizeof base, dir, "bench_server") != 0
        || auth_keypair_save(&server_kp, base) != 0)
        goto done;
    rc = 0;
done:
    if (rc != 0)
        log_error("bench.keys", "cannot make the benchmark keys in %s", dir);
    memset(&server_kp, 0, sizeof server_kp);
    memset(&client_kp, 0, sizeof client_kp);
    return rc;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"data", NULL, NULL, "data folder (the LMDB environment goes in DIR/bench)", NULL},
        {"keys-dir", NULL, NULL, "key folder (made and filled if empty)", NULL},
        {"endpoint", NULL, "tcp://127.0.0.1:*", "API endpoint to bind", NULL},
        {"naive", NULL, "0", "1: one commit per request (max_batch 1)", NULL},
        {"max-batch", NULL, "0", "requests per batch (0: server default)", NULL},
        {"batch-ms", NULL, "0", "drain time per batch in ms (0: server default)", NULL},
        {"plaintext", NULL, "0", "1: no CURVE (to measure what CURVE costs)", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    const char *usage = "bench_server --data DIR --keys-dir KEYS [--endpoint EP] [--naive] [--plaintext]";
    void *ctx = NULL;
    store_t *store = NULL;
    auth_t *auth = NULL;
    server_t *server = NULL;
    auth_keypair_t keys;
    char path[PATH_MAX];
    long naive, max_batch, batch_ms, plaintext;
    s_bench_t bench;
    server_config_t cfg;
    int status = 1;

    /* "--naive" alone is the documented form; config wants a value. */
    static char naive_on[] = "--naive=1", plaintext_on[] = "--plaintext=1";
    for (int i = 1; i < argc; i++) {
        int bare = i + 1 == argc || strncmp(argv[i + 1], "--", 2) == 0;
        if (bare && strcmp(argv[i], "--naive") == 0)
            argv[i] = naive_on;
        else if (bare && strcmp(argv[i], "--plaintext") == 0)
            argv[i] = plaintext_on;
    }

    log_set_service("bench");
    log_init_from_env();
    int rc = config_parse(opts, argc, argv, usage);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    const char *data = config_get(opts, "data"), *keys_dir = config_get(opts, "keys-dir");
    if (!data || !keys_dir || config_get_long(opts, "naive", 0, 1, &naive) != 0
        || config_get_long(opts, "max-batch", 0, 100000, &max_batch) != 0
        || config_get_long(opts, "batch-ms", 0, 10000, &batch_ms) != 0
        || config_get_long(opts, "plaintext", 0, 1, &plaintext) != 0) {
        fprintf(stderr, "bench_server: bad or missing option (try --help)\n");
        return 2;
    }

    if (mkdir(data, 0700) != 0 && errno != EEXIST) {
        log_error("bench.data", "cannot create %s: %s", data, strerror(errno));
        return 1;
    }
    if (s_keys_prepare(keys_dir) != 0)
        return 1;
    if (s_path(path, sizeof path, keys_dir, "bench_server.key") != 0
        || auth_keypair_load(path, &keys) != 0) {
        log_error("bench.keys", "cannot load %s", path);
        return 1;
    }

    const char *dbs[] = {S_RECORDS_DB, SERVER_REQUESTS_DB, NULL};
    if (s_path(path, sizeof path, data, "bench") != 0
        || !(store = store_open(path, dbs, S_MAP_SIZE)))
        goto done;
    bench.records = store_dbi(store, S_RECORDS_DB);

    ctx = zmq_ctx_new();
    if (!ctx)
        goto done;
    /* The ZAP handler must run before the socket binds. */
    if (!plaintext) {
        if (s_path(path, sizeof path, keys_dir, "allow.txt") != 0
            || !(auth = auth_new(ctx, path)))
            goto done;
    }
    cfg = (server_config_t){
        .endpoint = config_get(opts, "endpoint"),
        .keys = plaintext ? NULL : &keys,
        .auth = auth,
        .insecure_plaintext = (int)plaintext,
        .request_desc = &pay__bench_request__descriptor,
        .reply_desc = &pay__bench_reply__descriptor,
        .handler = s_handle,
        .svc = &bench,
        .max_batch = naive ? 1 : (int)max_batch,
        .max_batch_ms = (int)batch_ms,
    };
    server = server_new(ctx, store, &cfg);
    if (!server)
        goto done;
    printf("endpoint=%s\n", server_endpoint(server));
    fflush(stdout);

    if (server_run(server) == 0) {
        server_stats_t st;
        struct rusage ru;
        server_stats(server, &st);
        getrusage(RUSAGE_SELF, &ru);
        printf("requests=%llu handled=%llu rolled_back=%llu commits=%llu errors=%llu "
               "max_batch=%llu mean_batch=%.1f cpu_s=%.2f\n",
               (unsigned long long)st.requests, (unsigned long long)st.handled,
               (unsigned long long)st.rolled_back, (unsigned long long)st.commits,
               (unsigned long long)st.errors, (unsigned long long)st.max_batch,
               st.commits ? (double)st.handled / (double)st.commits : 0.0,
               s_seconds(&ru.ru_utime) + s_seconds(&ru.ru_stime));
        fflush(stdout);
        status = 0;
    }
done:
    server_destroy(&server);
    auth_destroy(&auth);
    if (ctx)
        zmq_ctx_term(ctx);
    store_destroy(&store);
    memset(&keys, 0, sizeof keys);
    return status;
}
