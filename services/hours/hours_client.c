/* pay-hours-client: a line-oriented client of the hours service, for the
 * process-level tests (Python has no zmq here) and for operators.
 *
 *   pay-hours-client --endpoint EP --key CLIENT.key --server-key hours.pub
 *       Reads one JSON HoursRequest per line on stdin and prints one JSON
 *       line per request: {"reply":{...}} or {"error":"..."}. Keys starting
 *       with '_' are the client's own: "_raw":"<hex>" sends those bytes as
 *       the frame instead of a request (to prove that garbage is answered);
 *       "_timeout_ms" and "_retries" set the Lazy Pirate timeout and resends
 *       from that line on (the socket is then made anew).
 *
 *   pay-hours-client --feed --endpoint FEED_EP --key SERVICE.key
 *                    --server-key hours.pub --data DIR [--idle-ms 1500]
 *       A real feed consumer (feed.h) with its cursor in DIR: prints
 *       {"seq":N,"event":{...}} for each event applied, and exits once the
 *       feed has been silent for idle-ms after catching up.
 *
 * Exit status: 0, 1 on a setup failure, 2 on a usage error. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "feed.h"
#include "hours.pb-c.h"
#include "hrs_json.h"
#include "log.h"
#include "store.h"

static void s_print_error(const char *what)
{
    char esc[512];
    log_json_escape(what, esc, sizeof esc);
    printf("{\"error\":\"%s\"}\n", esc);
    fflush(stdout);
}

static void s_print_reply(ProtobufCMessage *reply)
{
    char *json = hrs_json_from_msg(reply);
    if (!json) {
        s_print_error("out of memory");
        return;
    }
    printf("{\"reply\":%s}\n", json);
    fflush(stdout);
    free(json);
}

static int s_unhex(const char *s, uint8_t *out, size_t *n)
{
    size_t len = strlen(s);
    if (len % 2)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        unsigned v;
        if (sscanf(s + i, "%2x", &v) != 1)
            return -1;
        out[i / 2] = (uint8_t)v;
    }
    *n = len / 2;
    return 0;
}

typedef struct {
    void *ctx;
    const char *endpoint;
    auth_keypair_t keys;
    char server_pub[AUTH_Z85_LEN];
    int timeout_ms, retries;
    client_t *client;
} s_session_t;

static int s_connect(s_session_t *s)
{
    client_destroy(&s->client);
    s->client = client_new(s->ctx, s->endpoint, &s->keys, s->server_pub, s->timeout_ms,
                           s->retries);
    return s->client ? 0 : -1;
}

static void s_line(s_session_t *s, const char *line)
{
    char opt[4096];
    char err[HRS_JSON_ERR_LEN];
    int timeout = s->timeout_ms, retries = s->retries;
    if (hrs_json_get(line, "_timeout_ms", opt, sizeof opt) == 0)
        timeout = atoi(opt);
    if (hrs_json_get(line, "_retries", opt, sizeof opt) == 0)
        retries = atoi(opt);
    if (!s->client || timeout != s->timeout_ms || retries != s->retries) {
        s->timeout_ms = timeout;
        s->retries = retries;
        if (s_connect(s) != 0) {
            s_print_error("cannot make the client");
            return;
        }
    }
    ProtobufCMessage *reply = NULL;
    if (hrs_json_get(line, "_raw", opt, sizeof opt) == 0) {
        uint8_t bytes[2048];
        size_t n = 0;
        if (s_unhex(opt, bytes, &n) != 0) {
            s_print_error("_raw: not a hex string");
            return;
        }
        if (zmq_send(client_socket(s->client), bytes, n, 0) < 0 ||
            client_recv(s->client, &pay__hours_reply__descriptor, s->timeout_ms, &reply) != 0) {
            s_print_error(errno == ETIMEDOUT ? "timeout" : "no reply");
            s_connect(s);
            return;
        }
        s_print_reply(reply);
        codec_free(&reply);
        return;
    }
    ProtobufCMessage *req = hrs_json_to_msg(&pay__hours_request__descriptor, line, err);
    if (!req) {
        s_print_error(err);
        return;
    }
    if (client_call(s->client, req, &pay__hours_reply__descriptor, &reply) != 0)
        s_print_error(errno == ETIMEDOUT ? "timeout" : "no reply");
    else
        s_print_reply(reply);
    codec_free(&reply);
    protobuf_c_message_free_unpacked(req, NULL);
}

/* ---- feed mode ---------------------------------------------------------- */

static int64_t s_last_event_ms;

static int s_apply(MDB_txn *txn, uint64_t seq, const uint8_t *payload, size_t len, void *arg,
                   feed_refusal_t *why)
{
    (void)why;
    (void)txn;
    (void)arg;
    Pay__HoursEvent *ev = pay__hours_event__unpack(NULL, len, payload);
    if (!ev) {
        printf("{\"seq\":%" PRIu64 ",\"error\":\"undecodable event\"}\n", seq);
    } else {
        char *json = hrs_json_from_msg(&ev->base);
        printf("{\"seq\":%" PRIu64 ",\"event\":%s}\n", seq, json ? json : "null");
        free(json);
        pay__hours_event__free_unpacked(ev, NULL);
    }
    fflush(stdout);
    s_last_event_ms = clock_mono_ms();
    return 0;
}

static int s_feed(void *ctx, const char *endpoint, const auth_keypair_t *keys,
                  const char *server_pub, const char *dir, long idle_ms)
{
    const char *names[] = {"cursor", FEED_QUARANTINE_DB, NULL};
    store_t *store = store_open(dir, names, 0);
    feed_consumer_t *c = NULL;
    int rc = 1;
    if (!store)
        return 1;
    feed_consumer_opts_t o = {.name = "hours-client"};
    c = feed_consumer_new(ctx, store, "cursor", "hours", endpoint, keys, server_pub, s_apply,
                          NULL, &o);
    if (!c)
        goto done;
    s_last_event_ms = clock_mono_ms();
    for (;;) {
        zmq_pollitem_t it = {feed_consumer_socket(c), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, FEED_TICK_MS) < 0 && errno != EINTR)
            break;
        if ((it.revents & ZMQ_POLLIN) && feed_consumer_on_readable(c) != 0)
            break;
        feed_consumer_tick(c);
        feed_consumer_stats_t st;
        feed_consumer_stats(c, &st);
        if (clock_mono_ms() - s_last_event_ms > idle_ms && st.cursor >= st.head_seq) {
            rc = 0;
            break;
        }
    }
done:
    feed_consumer_destroy(&c);
    store_destroy(&store);
    return rc;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"endpoint", NULL, "tcp://127.0.0.1:5550", "the hours API (or feed, with --feed)", NULL},
        {"key", NULL, NULL, "this client's key pair file (.key)", NULL},
        {"server-key", NULL, NULL, "the hours service's public key file (hours.pub)", NULL},
        {"timeout-ms", NULL, "2500", "Lazy Pirate timeout per try", NULL},
        {"retries", NULL, "3", "resends after a timeout", NULL},
        {"feed", NULL, NULL, "set to 1: consume the hours feed instead", NULL},
        {"data", NULL, NULL, "feed mode: folder for the consumer's cursor", NULL},
        {"idle-ms", NULL, "1500", "feed mode: exit after this long without events", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    /* "--feed" alone is accepted as "--feed 1". */
    char *args[64];
    int nargs = 0;
    for (int i = 0; i < argc && nargs < 62; i++) {
        args[nargs++] = argv[i];
        if (strcmp(argv[i], "--feed") == 0 && (i + 1 >= argc || argv[i + 1][0] == '-'))
            args[nargs++] = "1";
    }
    log_set_service("hours-client");
    log_init_from_env();
    int prc = config_parse(opts, nargs, args,
                           "pay-hours-client --endpoint EP --key FILE --server-key FILE "
                           "[--feed --data DIR]");
    if (prc == 1)
        return 0;
    long timeout = 0, retries = 0, idle = 0;
    if (prc < 0 || !config_get(opts, "key") || !config_get(opts, "server-key") ||
        config_get_long(opts, "timeout-ms", 1, 3600000, &timeout) != 0 ||
        config_get_long(opts, "retries", 0, 1000, &retries) != 0 ||
        config_get_long(opts, "idle-ms", 1, 3600000, &idle) != 0) {
        fprintf(stderr, "pay-hours-client: --key and --server-key are required\n");
        return 2;
    }
    s_session_t s = {.endpoint = config_get(opts, "endpoint"),
                     .timeout_ms = (int)timeout,
                     .retries = (int)retries};
    auth_keypair_t server;
    if (auth_keypair_load(config_get(opts, "key"), &s.keys) != 0 ||
        auth_keypair_load(config_get(opts, "server-key"), &server) != 0) {
        fprintf(stderr, "pay-hours-client: cannot read the key files\n");
        return 1;
    }
    memcpy(s.server_pub, server.public_z85, sizeof s.server_pub);
    s.ctx = zmq_ctx_new();
    if (!s.ctx)
        return 1;
    int rc = 0;
    if (config_get(opts, "feed")) {
        if (!config_get(opts, "data")) {
            fprintf(stderr, "pay-hours-client: --feed needs --data DIR\n");
            rc = 2;
        } else {
            rc = s_feed(s.ctx, s.endpoint, &s.keys, s.server_pub, config_get(opts, "data"), idle);
        }
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, stdin)) > 0) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
            if (n == 0)
                continue;
            s_line(&s, line);
        }
        free(line);
    }
    client_destroy(&s.client);
    zmq_ctx_term(s.ctx);
    return rc;
}
