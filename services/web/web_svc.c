/* web_svc: see web_svc.h. */
#include "web_svc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"

static _Atomic uint64_t s_calls[WEB_SVC_COUNT];
static _Atomic uint64_t s_no_answer[WEB_SVC_COUNT];
static _Atomic uint64_t s_by_status[WEB_SVC_COUNT][64];

const char *web_service_name(web_service_t s)
{
    static const char *const names[] = {"hours", "wages", "invoicing"};
    return (unsigned)s < WEB_SVC_COUNT ? names[s] : "?";
}

void web_calls_init(web_calls_t *c, const web_svc_cfg_t *cfg, const auth_keypair_t *keys)
{
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    c->keys = keys;
}

void web_calls_release(web_calls_t *c)
{
    for (int s = 0; s < WEB_SVC_COUNT; s++)
        client_destroy(&c->client[s]);
}

int web_reply_status(const ProtobufCMessage *m, const char **message)
{
    const ProtobufCFieldDescriptor *st = protobuf_c_message_descriptor_get_field(m->descriptor, 2);
    const ProtobufCFieldDescriptor *msg = protobuf_c_message_descriptor_get_field(m->descriptor, 3);
    if (message)
        *message = msg && msg->type == PROTOBUF_C_TYPE_STRING
                       ? *(char *const *)((const char *)m + msg->offset)
                       : NULL;
    if (!st || st->type != PROTOBUF_C_TYPE_ENUM)
        return PAY__STATUS__INTERNAL;
    return *(const int *)((const char *)m + st->offset);
}

int web_http_status_of(int pay_status)
{
    switch (pay_status) {
    case PAY__STATUS__OK: return 200;
    case PAY__STATUS__PERMISSION_DENIED: return 403;
    case PAY__STATUS__NOT_FOUND:
    case PAY__STATUS__UNKNOWN_PRISONER:
    case PAY__STATUS__UNKNOWN_CONTRACT:
    case PAY__STATUS__UNKNOWN_PRISON:
    case PAY__STATUS__UNKNOWN_EMPLOYER: return 404;
    case PAY__STATUS__INVALID_ARGUMENT:
    case PAY__STATUS__MALFORMED_REQUEST: return 400;
    case PAY__STATUS__UNAVAILABLE: return 503;
    case PAY__STATUS__INTERNAL: return 502;
    default: return 409;
    }
}

ProtobufCMessage *web_calls_send(web_calls_t *c, web_service_t s, const ProtobufCMessage *req,
                                 const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = NULL;
    if ((unsigned)s >= WEB_SVC_COUNT)
        return NULL;
    atomic_fetch_add(&s_calls[s], 1);
    if (!c->client[s]) {
        c->client[s] = client_new(c->cfg->zmq_ctx, c->cfg->endpoint[s], c->keys,
                                  c->cfg->server_public[s], c->cfg->timeout_ms, c->cfg->retries);
        if (!c->client[s]) {
            atomic_fetch_add(&s_no_answer[s], 1);
            c->status = 503;
            c->pay_status = -1;
            snprintf(c->error, sizeof c->error, "cannot connect to the %s service at %s",
                     web_service_name(s), c->cfg->endpoint[s]);
            return NULL;
        }
    }
    if (client_call(c->client[s], req, d, &m) != 0) {
        atomic_fetch_add(&s_no_answer[s], 1);
        c->status = 503;
        c->pay_status = -1;
        if (errno == EINVAL)
            snprintf(c->error, sizeof c->error, "the request to the %s service could not be "
                     "packed", web_service_name(s));
        else
            snprintf(c->error, sizeof c->error,
                     "the %s service did not answer (it may be down, or this login's key may "
                     "no longer be on its allow-list)", web_service_name(s));
        /* A socket that saw no answer may hold a half-done exchange. */
        client_destroy(&c->client[s]);
        return NULL;
    }
    int st = web_reply_status(m, NULL);
    if (st >= 0 && st < 64)
        atomic_fetch_add(&s_by_status[s][st], 1);
    return m;
}

ProtobufCMessage *web_calls_ask(web_calls_t *c, web_service_t s, const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = web_calls_send(c, s, req, d);
    if (!m)
        return NULL;
    const char *text = NULL;
    int st = web_reply_status(m, &text);
    if (st == PAY__STATUS__OK)
        return m;
    c->pay_status = st;
    c->status = web_http_status_of(st);
    snprintf(c->error, sizeof c->error, "the %s service refused: %s: %s", web_service_name(s),
             codec_status_name((Pay__Status)st), text ? text : "");
    codec_free(&m);
    return NULL;
}

void web_svc_counters(web_svc_counters_t *out)
{
    memset(out, 0, sizeof *out);
    for (int s = 0; s < WEB_SVC_COUNT; s++) {
        out->calls[s] = atomic_load(&s_calls[s]);
        out->no_answer[s] = atomic_load(&s_no_answer[s]);
        for (int i = 0; i < 64; i++)
            out->by_status[s][i] = atomic_load(&s_by_status[s][i]);
    }
}

int web_field_u64(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, uint64_t *out)
{
    const char *base = (const char *)m;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return 0;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
        !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        !*(const protobuf_c_boolean *)(base + f->quantifier_offset))
        return 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *out = *(const uint64_t *)(base + f->offset);
        return 1;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t v = *(const int64_t *)(base + f->offset);
        *out = v < 0 ? 0 : (uint64_t)v;
        return 1;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *out = *(const uint32_t *)(base + f->offset);
        return 1;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        int32_t v = *(const int32_t *)(base + f->offset);
        *out = v < 0 ? 0 : (uint64_t)v;
        return 1;
    }
    case PROTOBUF_C_TYPE_BOOL:
        *out = *(const protobuf_c_boolean *)(base + f->offset) ? 1 : 0;
        return 1;
    default:
        return 0;
    }
}
