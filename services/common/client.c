/* client: Lazy Pirate over a CURVE DEALER. See client.h.
 *
 * The last request is kept packed, so a retry resends the identical bytes:
 * same request_id, same hash at the server, hence the stored first answer
 * rather than a DUPLICATE_CONFLICT. A retry uses a fresh socket because a
 * DEALER whose peer vanished may hold the old request in its queue and
 * deliver it later, after the new one. */
#include "client.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct client_t {
    void *ctx;
    char *endpoint;
    auth_keypair_t keys;
    char server_pub[AUTH_Z85_LEN];
    int curve;
    int timeout_ms;
    int retries;
    void *sock;
    uint64_t n_retries;
    uint8_t *buf;            /* the last packed request */
    size_t len, cap;
    char want[CLIENT_ID_LEN];
};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static const char *s_string_field(const ProtobufCMessage *m, unsigned id)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(m->descriptor, id);
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    const char *s;
    memcpy(&s, (const char *)m + f->offset, sizeof s);
    return s;
}

/* The reply's status (field 2), or -1 if it has none. */
static int s_status(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(m->descriptor, 2);
    if (!f || f->type != PROTOBUF_C_TYPE_ENUM || f->label == PROTOBUF_C_LABEL_REPEATED)
        return -1;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
        protobuf_c_boolean has;
        memcpy(&has, (const char *)m + f->quantifier_offset, sizeof has);
        if (!has)
            return -1;
    }
    int v;
    memcpy(&v, (const char *)m + f->offset, sizeof v);
    return v;
}

const char *client_request_id(const ProtobufCMessage *m)
{
    return m ? s_string_field(m, 1) : NULL;
}

static int s_setopt_int(void *sock, int opt, int v)
{
    return zmq_setsockopt(sock, opt, &v, sizeof v);
}

static int s_open(client_t *self)
{
    void *s = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!s)
        goto fail;
    int64_t maxmsg = CODEC_MAX_FRAME;
    if (s_setopt_int(s, ZMQ_LINGER, 0) != 0
        || s_setopt_int(s, ZMQ_SNDTIMEO, self->timeout_ms) != 0
        || s_setopt_int(s, ZMQ_HEARTBEAT_IVL, 1000) != 0
        || s_setopt_int(s, ZMQ_HEARTBEAT_TIMEOUT, 3000) != 0
        || s_setopt_int(s, ZMQ_HEARTBEAT_TTL, 3000) != 0
        || s_setopt_int(s, ZMQ_SNDHWM, 100000) != 0
        || s_setopt_int(s, ZMQ_RCVHWM, 100000) != 0
        || zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0)
        goto fail;
    if (self->curve
        && auth_curve_client(s, &self->keys, self->server_pub, CODEC_MAX_FRAME) != 0)
        goto fail;
    if (zmq_connect(s, self->endpoint) != 0) {
        log_error("client.connect", "cannot connect to %s: %s", self->endpoint,
                  zmq_strerror(errno));
        goto fail;
    }
    self->sock = s;
    return 0;
fail:
    if (s)
        zmq_close(s);
    return -1;
}

client_t *client_new(void *zmq_ctx, const char *endpoint, const auth_keypair_t *keys,
                     const char *server_public_z85, int timeout_ms, int retries)
{
    client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!zmq_ctx || !endpoint || (!keys != !server_public_z85)) {
        log_error("client.config", "context and endpoint required; keys and server key "
                                   "go together");
        goto fail;
    }
    if (sodium_init() < 0)
        goto fail;
    self->ctx = zmq_ctx;
    self->endpoint = strdup(endpoint);
    if (!self->endpoint)
        goto fail;
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : 2500;
    self->retries = retries >= 0 ? retries : 3;
    if (keys) {
        self->keys = *keys;
        snprintf(self->server_pub, sizeof self->server_pub, "%s", server_public_z85);
        self->curve = 1;
    }
    if (s_open(self) != 0)
        goto fail;
    return self;
fail:
    client_destroy(&self);
    return NULL;
}

void client_destroy(client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    client_t *self = *self_p;
    if (self->sock)
        zmq_close(self->sock);
    sodium_memzero(&self->keys, sizeof self->keys);
    free(self->endpoint);
    free(self->buf);
    free(self);
    *self_p = NULL;
}

uint64_t client_retries(const client_t *self)
{
    return self->n_retries;
}

void *client_socket(client_t *self)
{
    return self->sock;
}

/* Packs `req` into self->buf, generating a request_id if it has none, and
 * records it in self->want. */
static int s_pack(client_t *self, const ProtobufCMessage *req)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(req->descriptor, 1);
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || !protobuf_c_message_check(req)) {
        errno = EINVAL;
        return -1;
    }
    const char *rid = s_string_field(req, 1);
    char gen[33];
    if (!rid || !rid[0]) {
        uint8_t raw[16];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(gen, sizeof gen, raw, sizeof raw);
        rid = gen;
    }
    size_t idlen = strlen(rid);
    if (idlen >= CLIENT_ID_LEN) {
        errno = EINVAL;
        return -1;
    }
    size_t size = protobuf_c_message_get_packed_size(req);
    size_t need = size + (rid == gen ? 2 + idlen : 0);
    if (need > self->cap) {
        uint8_t *p = realloc(self->buf, need);
        if (!p) {
            errno = ENOMEM;
            return -1;
        }
        self->buf = p;
        self->cap = need;
    }
    protobuf_c_message_pack(req, self->buf);
    self->len = size;
    if (rid == gen) {
        /* Field 1, length-delimited; 32 characters fit a one-byte length. */
        self->buf[self->len++] = (1 << 3) | 2;
        self->buf[self->len++] = (uint8_t)idlen;
        memcpy(self->buf + self->len, gen, idlen);
        self->len += idlen;
    }
    memcpy(self->want, rid, idlen + 1);
    return 0;
}

/* Receives one message (its last frame is the reply) and decodes it. */
static int s_recv_reply(client_t *self, const ProtobufCMessageDescriptor *reply_desc,
                        ProtobufCMessage **out)
{
    zmq_msg_t part;
    zmq_msg_init(&part);
    int more = 1;
    while (more) {
        zmq_msg_close(&part);
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, self->sock, 0) < 0) {
            zmq_msg_close(&part);
            return -1;
        }
        more = zmq_msg_more(&part);
    }
    char err[CODEC_ERR_LEN];
    *out = codec_unpack(reply_desc, zmq_msg_data(&part), zmq_msg_size(&part), 0, err);
    zmq_msg_close(&part);
    if (!*out) {
        log_warn("client.reply", "reply from %s refused: %s", self->endpoint, err);
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int client_call(client_t *self, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply_out)
{
    *reply_out = NULL;
    if (!req || !reply_desc || s_pack(self, req) != 0) {
        errno = EINVAL;
        return -1;
    }
    ProtobufCMessage *unavailable = NULL;
    for (int attempt = 0; attempt <= self->retries; attempt++) {
        if (attempt > 0) {
            zmq_close(self->sock);
            self->sock = NULL;
            if (s_open(self) != 0)
                break;
            self->n_retries++;
            log_info("client.retry", "request %s to %s: attempt %d", self->want,
                     self->endpoint, attempt + 1);
        }
        if (zmq_send(self->sock, self->buf, self->len, 0) < 0)
            continue;   /* send queue full for timeout_ms: try a fresh socket */
        int64_t deadline = s_now_ms() + self->timeout_ms;
        for (;;) {
            int64_t left = deadline - s_now_ms();
            if (left <= 0)
                break;
            zmq_pollitem_t it = {self->sock, 0, ZMQ_POLLIN, 0};
            int rc = zmq_poll(&it, 1, (long)left);
            if (rc < 0 && errno != EINTR)
                goto fail;
            if (rc <= 0)
                continue;
            ProtobufCMessage *reply = NULL;
            if (s_recv_reply(self, reply_desc, &reply) != 0)
                continue;
            const char *rid = client_request_id(reply);
            if (rid && strcmp(rid, self->want) != 0) {
                codec_free(&reply);   /* a late answer to an earlier request */
                continue;
            }
            if (s_status(reply) == PAY__STATUS__UNAVAILABLE) {
                codec_free(&unavailable);
                unavailable = reply;
                s_sleep_ms(self->timeout_ms < 200 ? self->timeout_ms : 200);
                break;
            }
            codec_free(&unavailable);
            *reply_out = reply;
            return 0;
        }
    }
    if (unavailable) {
        /* The server kept saying it is stopping: that is an answer. */
        *reply_out = unavailable;
        return 0;
    }
fail:
    codec_free(&unavailable);
    errno = ETIMEDOUT;
    return -1;
}

int client_send(client_t *self, const ProtobufCMessage *req, char request_id_out[CLIENT_ID_LEN])
{
    if (!req || s_pack(self, req) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (zmq_send(self->sock, self->buf, self->len, 0) < 0)
        return -1;
    if (request_id_out)
        memcpy(request_id_out, self->want, strlen(self->want) + 1);
    return 0;
}

int client_recv(client_t *self, const ProtobufCMessageDescriptor *reply_desc, int timeout_ms,
                ProtobufCMessage **reply_out)
{
    *reply_out = NULL;
    zmq_pollitem_t it = {self->sock, 0, ZMQ_POLLIN, 0};
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : s_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = timeout_ms < 0 ? -1 : deadline - s_now_ms();
        if (timeout_ms >= 0 && left < 0)
            left = 0;
        int rc = zmq_poll(&it, 1, (long)left);
        if (rc < 0 && errno == EINTR && left != 0)
            continue;
        if (rc <= 0) {
            if (rc == 0)
                errno = ETIMEDOUT;
            return -1;
        }
        return s_recv_reply(self, reply_desc, reply_out);
    }
}
