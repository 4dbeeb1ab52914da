/* bench_client: N concurrent clients against bench_server, each keeping
 * exactly one request in flight (send, wait for the reply, send the next),
 * which is how a service's callers behave: a caller waits for "durable"
 * before it moves on. Reports throughput and latency.
 *
 *   bench_client --endpoint EP --keys-dir KEYS [--clients 64] [--threads 0]
 *                [--seconds 5] [--requests 0] [--payload 16] [--plaintext]
 *
 * Each client is its own CURVE DEALER (client.h) with its own connection
 * and handshake; the clients share one key pair (KEYS/bench_client.key,
 * made by bench_server) since a key pair costs nothing per message. The
 * clients are spread over --threads threads (0: one per core, at most one
 * per client); each thread polls its sockets, so 64 clients do not need 64
 * threads competing with the server for the cores.
 *
 * Before the clock starts every client makes one round trip, so that the
 * CURVE handshakes are not measured. The run ends after --seconds, or once
 * every client has had --requests answers (if not 0); in-flight requests
 * are then waited for and counted. Prints one line:
 *   clients=.. threads=.. requests=.. seconds=.. rps=.. p50_us=.. p99_us=..
 *   max_us=.. errors=.. cpu_s=..
 * (cpu_s: the CPU time of the whole client process, warm-up included) and
 * exits 1 if any request failed (a non-OK status, a wrong request id, or
 * no reply within 10 s). */
#include "auth.h"
#include "benchsvc.pb-c.h"
#include "client.h"
#include "codec.h"
#include "config.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_REPLY_TIMEOUT_MS 10000
#define S_MAX_CLIENTS 4096
#define S_MAX_PAYLOAD 4096

typedef struct {
    client_t *client;
    int index;
    uint64_t seq;               /* requests sent so far */
    int64_t sent_us;            /* when the one in flight was sent */
    int in_flight;
    char want[CLIENT_ID_LEN];
} s_conn_t;

typedef struct {
    pthread_t thread;
    int first, n;               /* its clients: [first, first + n) */
    s_conn_t *conns;
    zmq_pollitem_t *items;
    uint32_t *lat_us;           /* one latency per answered request */
    size_t n_lat, cap_lat;
    uint64_t errors;
    int64_t last_us;            /* when its last answer came */
    int failed;
} s_worker_t;

/* Set before the threads start, read-only after. */
static struct {
    void *ctx;
    const char *endpoint;
    auth_keypair_t keys;
    char server_pub[AUTH_Z85_LEN];
    int curve;
    size_t payload_len;
    uint64_t per_client;        /* 0: until the time is up */
    char tag[24];               /* makes request ids unique per run */
    pthread_barrier_t ready, go;
    int64_t duration_us;
    int64_t t0_us, end_us;      /* written by the barrier's serial thread */
} g;

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int s_send(s_conn_t *c, const char *kind)
{
    uint8_t payload[S_MAX_PAYLOAD] = {0};
    Pay__BenchRequest req = PAY__BENCH_REQUEST__INIT;
    c->seq++;
    snprintf(c->want, sizeof c->want, "%s-%s%d-%" PRIu64, g.tag, kind, c->index, c->seq);
    if (g.payload_len >= 8)
        store_be64_put(payload, c->seq);
    req.request_id = c->want;
    req.has_payload = 1;
    req.payload.data = payload;
    req.payload.len = g.payload_len;
    c->sent_us = s_now_us();
    if (client_send(c->client, &req.base, NULL) != 0)
        return -1;
    c->in_flight = 1;
    return 0;
}

/* Takes the answer waiting on c's socket. Returns 0 for an OK answer to
 * the request in flight, -1 otherwise. */
static int s_take(s_conn_t *c, int timeout_ms)
{
    ProtobufCMessage *m = NULL;
    int rc = -1;
    if (client_recv(c->client, &pay__bench_reply__descriptor, timeout_ms, &m) != 0)
        return -1;
    const Pay__BenchReply *rep = (const Pay__BenchReply *)m;
    c->in_flight = 0;
    if (!rep->request_id || strcmp(rep->request_id, c->want) != 0)
        log_error("bench.reply", "client %d: answer to %s, expected %s", c->index,
                  rep->request_id ? rep->request_id : "(none)", c->want);
    else if (!rep->has_status || rep->status != PAY__STATUS__OK)
        log_error("bench.reply", "client %d: %s: %s", c->index,
                  codec_status_name(rep->has_status ? rep->status : PAY__STATUS__INTERNAL),
                  rep->message ? rep->message : "");
    else
        rc = 0;
    codec_free(&m);
    return rc;
}

static int s_record(s_worker_t *w, int64_t us)
{
    if (w->n_lat == w->cap_lat) {
        size_t cap = w->cap_lat ? 2 * w->cap_lat : 65536;
        uint32_t *p = realloc(w->lat_us, cap * sizeof *p);
        if (!p)
            return -1;
        w->lat_us = p;
        w->cap_lat = cap;
    }
    w->lat_us[w->n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    return 0;
}

/* Connects the worker's clients and makes one round trip on each. */
static int s_warm_up(s_worker_t *w)
{
    for (int i = 0; i < w->n; i++) {
        s_conn_t *c = &w->conns[i];
        c->index = w->first + i;
        c->client = client_new(g.ctx, g.endpoint, g.curve ? &g.keys : NULL,
                               g.curve ? g.server_pub : NULL, S_REPLY_TIMEOUT_MS, 0);
        if (!c->client || s_send(c, "w") != 0)
            return -1;
    }
    for (int i = 0; i < w->n; i++)
        if (s_take(&w->conns[i], S_REPLY_TIMEOUT_MS) != 0)
            return -1;
    for (int i = 0; i < w->n; i++) {
        w->conns[i].seq = 0;
        w->items[i] = (zmq_pollitem_t){client_socket(w->conns[i].client), 0, ZMQ_POLLIN, 0};
    }
    return 0;
}

static void s_run(s_worker_t *w)
{
    int active = 0;
    for (int i = 0; i < w->n; i++) {
        if (s_send(&w->conns[i], "r") != 0) {
            w->errors++;
            continue;
        }
        active++;
    }
    while (active > 0) {
        int64_t now = s_now_us();
        if (now > g.end_us + (int64_t)S_REPLY_TIMEOUT_MS * 1000) {
            log_error("bench.timeout", "%d requests unanswered after %d ms", active,
                      S_REPLY_TIMEOUT_MS);
            w->errors += (uint64_t)active;
            return;
        }
        int rc = zmq_poll(w->items, w->n, 100);
        if (rc < 0 && errno != EINTR) {
            w->errors += (uint64_t)active;
            w->failed = 1;
            return;
        }
        for (int i = 0; rc > 0 && i < w->n; i++) {
            s_conn_t *c = &w->conns[i];
            if (!(w->items[i].revents & ZMQ_POLLIN) || !c->in_flight)
                continue;
            int ok = s_take(c, 0) == 0;
            now = s_now_us();
            if (!ok)
                w->errors++;
            else if (s_record(w, now - c->sent_us) != 0)
                w->failed = 1;
            w->last_us = now;
            active--;
            if (now < g.end_us && (g.per_client == 0 || c->seq < g.per_client)) {
                if (s_send(c, "r") == 0)
                    active++;
                else
                    w->errors++;
            }
        }
    }
}

static void *s_worker(void *arg)
{
    s_worker_t *w = arg;
    w->failed = s_warm_up(w) != 0;
    if (w->failed)
        log_error("bench.warmup", "clients %d..%d did not get through", w->first,
                  w->first + w->n - 1);
    /* Every thread reaches both barriers, failed or not, so none waits forever. */
    if (pthread_barrier_wait(&g.ready) == PTHREAD_BARRIER_SERIAL_THREAD) {
        g.t0_us = s_now_us();
        g.end_us = g.t0_us + g.duration_us;
    }
    pthread_barrier_wait(&g.go);
    if (!w->failed)
        s_run(w);
    for (int i = 0; i < w->n; i++)
        client_destroy(&w->conns[i].client);
    return NULL;
}

static int s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static uint32_t s_percentile(const uint32_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static int s_load_keys(const char *dir)
{
    char path[PATH_MAX];
    auth_keypair_t server;
    int n = snprintf(path, sizeof path, "%s/bench_client.key", dir);
    if (n <= 0 || (size_t)n >= sizeof path || auth_keypair_load(path, &g.keys) != 0)
        goto fail;
    n = snprintf(path, sizeof path, "%s/bench_server.pub", dir);
    if (n <= 0 || (size_t)n >= sizeof path || auth_keypair_load(path, &server) != 0)
        goto fail;
    snprintf(g.server_pub, sizeof g.server_pub, "%s", server.public_z85);
    return 0;
fail:
    log_error("bench.keys", "cannot load %s", path);
    return -1;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"endpoint", NULL, NULL, "the server's endpoint (bench_server prints it)", NULL},
        {"keys-dir", NULL, NULL, "key folder made by bench_server", NULL},
        {"clients", NULL, "64", "concurrent clients, one request in flight each", NULL},
        {"threads", NULL, "0", "client threads (0: one per core, at most --clients)", NULL},
        {"seconds", NULL, "5", "measured duration", NULL},
        {"requests", NULL, "0", "requests per client (0: until the time is up)", NULL},
        {"payload", NULL, "16", "payload bytes per request", NULL},
        {"io-threads", NULL, "1", "ZeroMQ I/O threads", NULL},
        {"plaintext", NULL, "0", "1: no CURVE (server started with --plaintext)", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    const char *usage = "bench_client --endpoint EP --keys-dir KEYS [--clients N] [--seconds S]";
    long clients, threads, seconds, requests, payload, io_threads, plaintext;
    s_worker_t *workers = NULL;
    s_conn_t *conns = NULL;
    zmq_pollitem_t *items = NULL;
    uint32_t *all = NULL;
    int started = 0, status = 1, barriers = 0;

    static char plaintext_on[] = "--plaintext=1";
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--plaintext") == 0
            && (i + 1 == argc || strncmp(argv[i + 1], "--", 2) == 0))
            argv[i] = plaintext_on;

    log_set_service("bench_client");
    log_init_from_env();
    int rc = config_parse(opts, argc, argv, usage);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    g.endpoint = config_get(opts, "endpoint");
    if (!g.endpoint || !config_get(opts, "keys-dir")
        || config_get_long(opts, "clients", 1, S_MAX_CLIENTS, &clients) != 0
        || config_get_long(opts, "threads", 0, S_MAX_CLIENTS, &threads) != 0
        || config_get_long(opts, "seconds", 1, 3600, &seconds) != 0
        || config_get_long(opts, "requests", 0, 1000000000L, &requests) != 0
        || config_get_long(opts, "payload", 0, S_MAX_PAYLOAD, &payload) != 0
        || config_get_long(opts, "io-threads", 1, 64, &io_threads) != 0
        || config_get_long(opts, "plaintext", 0, 1, &plaintext) != 0) {
        fprintf(stderr, "bench_client: bad or missing option (try --help)\n");
        return 2;
    }
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? cores : 1;
    }
    if (threads > clients)
        threads = clients;
    g.curve = !plaintext;
    g.payload_len = (size_t)payload;
    g.per_client = (uint64_t)requests;
    snprintf(g.tag, sizeof g.tag, "%lx%lx", (unsigned long)getpid(),
             (unsigned long)(s_now_us() & 0xffffff));
    if (g.curve && s_load_keys(config_get(opts, "keys-dir")) != 0)
        return 1;

    g.ctx = zmq_ctx_new();
    if (!g.ctx || zmq_ctx_set(g.ctx, ZMQ_IO_THREADS, (int)io_threads) != 0)
        goto done;
    workers = calloc((size_t)threads, sizeof *workers);
    conns = calloc((size_t)clients, sizeof *conns);
    items = calloc((size_t)clients, sizeof *items);
    if (!workers || !conns || !items)
        goto done;
    if (pthread_barrier_init(&g.ready, NULL, (unsigned)threads) != 0)
        goto done;
    if (pthread_barrier_init(&g.go, NULL, (unsigned)threads) != 0) {
        pthread_barrier_destroy(&g.ready);
        goto done;
    }
    barriers = 1;
    g.duration_us = (int64_t)seconds * 1000000;
    for (long t = 0, first = 0; t < threads; t++) {
        s_worker_t *w = &workers[t];
        w->first = (int)first;
        w->n = (int)(clients / threads + (t < clients % threads ? 1 : 0));
        w->conns = conns + first;
        w->items = items + first;
        first += w->n;
    }
    for (; started < threads; started++)
        if (pthread_create(&workers[started].thread, NULL, s_worker, &workers[started]) != 0)
            break;
    if (started < threads) {
        /* The barriers would never open: nothing can run. */
        log_error("bench.threads", "cannot start %ld threads", threads);
        _exit(1);
    }
    for (int t = 0; t < started; t++)
        pthread_join(workers[t].thread, NULL);

    size_t n_all = 0;
    uint64_t errors = 0;
    int64_t last_us = g.t0_us;
    int failed = 0;
    for (int t = 0; t < started; t++) {
        n_all += workers[t].n_lat;
        errors += workers[t].errors;
        failed |= workers[t].failed;
        if (workers[t].last_us > last_us)
            last_us = workers[t].last_us;
    }
    all = malloc((n_all ? n_all : 1) * sizeof *all);
    if (!all)
        goto done;
    for (size_t t = 0, at = 0; t < (size_t)started; t++) {
        if (workers[t].n_lat == 0)
            continue;   /* lat_us is NULL then, which memcpy may not take */
        memcpy(all + at, workers[t].lat_us, workers[t].n_lat * sizeof *all);
        at += workers[t].n_lat;
    }
    qsort(all, n_all, sizeof *all, s_cmp_u32);
    double secs = (double)(last_us - g.t0_us) / 1e6;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("clients=%ld threads=%ld requests=%zu seconds=%.3f rps=%.0f p50_us=%u p99_us=%u "
           "max_us=%u errors=%" PRIu64 " cpu_s=%.2f\n",
           clients, threads, n_all, secs, secs > 0 ? (double)n_all / secs : 0.0,
           s_percentile(all, n_all, 50), s_percentile(all, n_all, 99),
           n_all ? all[n_all - 1] : 0, errors,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
               + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    fflush(stdout);
    status = failed || errors || n_all == 0 ? 1 : 0;
done:
    if (barriers) {
        pthread_barrier_destroy(&g.ready);
        pthread_barrier_destroy(&g.go);
    }
    if (workers)
        for (long t = 0; t < threads; t++)
            free(workers[t].lat_us);
    free(all);
    free(items);
    free(conns);
    free(workers);
    if (g.ctx)
        zmq_ctx_term(g.ctx);
    memset(&g.keys, 0, sizeof g.keys);
    return status;
}
