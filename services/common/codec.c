/* codec: protobuf-c messages to and from ZeroMQ frames, with a bounded
 * arena allocator for decoding untrusted bytes.
 *
 * The arena hands out 16-byte-aligned pieces of a few growing blocks. Each
 * piece is preceded by a 16-byte header holding the arena pointer, so that
 * codec_free can find the arena from the message alone. The allocator's
 * free is a no-op: everything goes at once when the arena is destroyed. A
 * budget (max_bytes) caps what one decode may take, whatever the frame says
 * about repeated counts or lengths. */
#include "codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "log.h"

#define S_ALIGN 16
#define S_HDR 16
#define S_FIRST_BLOCK 2048
#define S_MAX_BLOCK (256 * 1024)
#define S_MAX_DEPTH 64

typedef struct s_block_t {
    struct s_block_t *next;
    size_t size, used;
    _Alignas(S_ALIGN) unsigned char data[];
} s_block_t;

typedef struct s_arena_t {
    ProtobufCAllocator pa;
    size_t max, used;     /* budget and bytes handed out (headers included) */
    size_t next_block;
    int over_budget;
    s_block_t *head;
} s_arena_t;

static void *s_arena_alloc(void *data, size_t size)
{
    s_arena_t *a = data;
    if (size > a->max)
        goto over;
    size_t need = S_HDR + ((size + S_ALIGN - 1) & ~(size_t)(S_ALIGN - 1));
    if (a->used + need > a->max)
        goto over;
    s_block_t *b = a->head;
    if (!b || b->size - b->used < need) {
        /* Never reserve more than the budget can still give out. */
        size_t room = a->max - a->used;
        size_t bsize = a->next_block < room ? a->next_block : room;
        if (bsize < need)
            bsize = need;
        b = malloc(sizeof *b + bsize);
        if (!b)
            return NULL;
        b->next = a->head;
        b->size = bsize;
        b->used = 0;
        a->head = b;
        if (a->next_block < S_MAX_BLOCK)
            a->next_block *= 2;
    }
    unsigned char *p = b->data + b->used;
    b->used += need;
    a->used += need;
    *(s_arena_t **)p = a;
    return p + S_HDR;
over:
    a->over_budget = 1;
    return NULL;
}

static void s_arena_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;   /* released with the arena */
}

static s_arena_t *s_arena_new(size_t max)
{
    s_arena_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->pa.alloc = s_arena_alloc;
    a->pa.free = s_arena_free;
    a->pa.allocator_data = a;
    a->max = max;
    a->next_block = S_FIRST_BLOCK;
    return a;
}

static void s_arena_destroy(s_arena_t *a)
{
    if (!a)
        return;
    while (a->head) {
        s_block_t *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    free(a);
}

int codec_pack_msg(const ProtobufCMessage *m, zmq_msg_t *out)
{
    if (!m || !protobuf_c_message_check(m)) {
        /* Leave `out` initialised so that the caller's close is harmless. */
        zmq_msg_init(out);
        return -1;
    }
    size_t size = protobuf_c_message_get_packed_size(m);
    if (zmq_msg_init_size(out, size) != 0) {
        zmq_msg_init(out);
        return -1;
    }
    if (protobuf_c_message_pack(m, zmq_msg_data(out)) != size) {
        zmq_msg_close(out);
        zmq_msg_init(out);
        return -1;
    }
    /* Whatever a handler put in a string (a cut message, an echoed value),
     * no reply may carry invalid UTF-8: a strict peer would refuse the
     * whole message. */
    size_t fixed = codec_repair_strings(m->descriptor, zmq_msg_data(out), size);
    if (fixed)
        log_warn("codec.repaired", "%s: %zu bytes of invalid UTF-8 replaced with '?'",
                 m->descriptor->short_name, fixed);
    return 0;
}

/* ---- string fields on the wire -----------------------------------------
 *
 * protobuf-c hands a string field over as a C string: an embedded NUL cuts
 * it short without a word, and it does not check UTF-8. So the wire bytes
 * of every string field (recursively through sub-messages, by the
 * descriptor) are checked before a decoded message is used, and repaired
 * (same length, so the framing stays valid) before one is sent. */

static int s_wire_varint(const uint8_t *b, size_t len, size_t *at, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *at < len; shift += 7) {
        uint8_t c = b[(*at)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Walks the message `b`; for each string field either checks it (repair
 * NULL: returns -1 at the first bad one, naming it in err) or repairs it
 * (adding the bytes replaced to *repair). Returns 0, or -1 for bytes that
 * are not a message. */
static int s_wire_strings(const ProtobufCMessageDescriptor *d, uint8_t *b, size_t len,
                          int depth, size_t *repair, char err[CODEC_ERR_LEN])
{
    size_t at = 0;
    if (depth > S_MAX_DEPTH) {
        if (err)
            snprintf(err, CODEC_ERR_LEN, "message nested deeper than %d", S_MAX_DEPTH);
        return -1;
    }
    while (at < len) {
        uint64_t tag, v;
        if (s_wire_varint(b, len, &at, &tag) != 0)
            goto bad;
        switch (tag & 7) {
        case 0:
            if (s_wire_varint(b, len, &at, &v) != 0)
                goto bad;
            continue;
        case 1:
            if (len - at < 8)
                goto bad;
            at += 8;
            continue;
        case 5:
            if (len - at < 4)
                goto bad;
            at += 4;
            continue;
        case 2:
            break;
        default:
            goto bad;
        }
        if (s_wire_varint(b, len, &at, &v) != 0 || v > len - at)
            goto bad;
        const ProtobufCFieldDescriptor *f =
            tag >> 3 <= UINT32_MAX
                ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3))
                : NULL;
        uint8_t *field = b + at;
        size_t flen = (size_t)v;
        at += flen;
        if (!f)
            continue;   /* an unknown field is never read as a string */
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            if (repair) {
                *repair += ident_utf8_repair(field, flen);
            } else if (!ident_utf8_valid(field, flen)) {
                snprintf(err, CODEC_ERR_LEN, "field %s: not valid UTF-8 (or holds a NUL)",
                         f->name);
                return -1;
            }
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (s_wire_strings(f->descriptor, field, flen, depth + 1, repair, err) != 0)
                return -1;
        }
    }
    return 0;
bad:
    if (err)
        snprintf(err, CODEC_ERR_LEN, "%s: bytes do not decode", d->short_name);
    return -1;
}

int codec_check_strings(const ProtobufCMessageDescriptor *desc, const void *data, size_t len,
                        char err[CODEC_ERR_LEN])
{
    err[0] = '\0';
    /* Checking never writes: the walk only writes when repairing. */
    return s_wire_strings(desc, (uint8_t *)(uintptr_t)data, len, 0, NULL, err);
}

size_t codec_repair_strings(const ProtobufCMessageDescriptor *desc, void *data, size_t len)
{
    size_t fixed = 0;
    s_wire_strings(desc, data, len, 0, &fixed, NULL);
    return fixed;
}

ProtobufCMessage *codec_unpack(const ProtobufCMessageDescriptor *desc, const void *data,
                               size_t len, size_t max_bytes, char err[CODEC_ERR_LEN])
{
    s_arena_t *arena = NULL;
    ProtobufCMessage *m = NULL;
    err[0] = '\0';
    if (!desc || (!data && len > 0)) {
        snprintf(err, CODEC_ERR_LEN, "no descriptor or no data");
        goto fail;
    }
    if (len > (size_t)CODEC_MAX_FRAME) {
        snprintf(err, CODEC_ERR_LEN, "frame of %zu bytes exceeds the limit of %ld", len,
                 CODEC_MAX_FRAME);
        goto fail;
    }
    if (max_bytes == 0)
        max_bytes = 8 * len + 64 * 1024;
    arena = s_arena_new(max_bytes);
    if (!arena) {
        snprintf(err, CODEC_ERR_LEN, "out of memory");
        goto fail;
    }
    m = protobuf_c_message_unpack(desc, &arena->pa, len, data ? data : (const void *)"");
    if (!m) {
        if (arena->over_budget)
            snprintf(err, CODEC_ERR_LEN, "%s of %zu bytes would need more than %zu bytes",
                     desc->short_name, len, max_bytes);
        else
            snprintf(err, CODEC_ERR_LEN, "%zu bytes do not decode as %s", len,
                     desc->short_name);
        goto fail;
    }
    if (codec_check_enums(m, err) != 0 || codec_check_strings(desc, data, len, err) != 0)
        goto fail;
    return m;
fail:
    s_arena_destroy(arena);
    return NULL;
}

void codec_free(ProtobufCMessage **msg_p)
{
    if (!msg_p || !*msg_p)
        return;
    unsigned char *p = (unsigned char *)*msg_p;
    s_arena_destroy(*(s_arena_t **)(p - S_HDR));
    *msg_p = NULL;
}

static int s_enum_ok(const ProtobufCFieldDescriptor *f, int value, char err[CODEC_ERR_LEN])
{
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    if (protobuf_c_enum_descriptor_get_value(ed, value))
        return 0;
    snprintf(err, CODEC_ERR_LEN, "field %s: %d is not a %s value", f->name, value,
             ed->short_name);
    return -1;
}

static int s_check(const ProtobufCMessage *m, int depth, char err[CODEC_ERR_LEN])
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    if (depth > S_MAX_DEPTH) {
        snprintf(err, CODEC_ERR_LEN, "message nested deeper than %d", S_MAX_DEPTH);
        return -1;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_ENUM && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const void *member = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n;
            memcpy(&n, base + f->quantifier_offset, sizeof n);
            if (n == 0)
                continue;
            if (f->type == PROTOBUF_C_TYPE_ENUM) {
                const int *arr = *(const int *const *)member;
                for (size_t j = 0; j < n; j++)
                    if (s_enum_ok(f, arr[j], err) != 0)
                        return -1;
            } else {
                ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)member;
                for (size_t j = 0; j < n; j++)
                    if (arr[j] && s_check(arr[j], depth + 1, err) != 0)
                        return -1;
            }
            continue;
        }
        int present = 1;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which;
            memcpy(&which, base + f->quantifier_offset, sizeof which);
            present = which == f->id;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type == PROTOBUF_C_TYPE_ENUM) {
            protobuf_c_boolean has;
            memcpy(&has, base + f->quantifier_offset, sizeof has);
            present = has != 0;
        }
        if (!present)
            continue;
        if (f->type == PROTOBUF_C_TYPE_ENUM) {
            if (s_enum_ok(f, *(const int *)member, err) != 0)
                return -1;
        } else {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)member;
            if (sub && s_check(sub, depth + 1, err) != 0)
                return -1;
        }
    }
    return 0;
}

int codec_check_enums(const ProtobufCMessage *m, char err[CODEC_ERR_LEN])
{
    err[0] = '\0';
    if (!m) {
        snprintf(err, CODEC_ERR_LEN, "no message");
        return -1;
    }
    return s_check(m, 0, err);
}

int codec_error_reply(zmq_msg_t *out, const char *request_id, Pay__Status status,
                      const char *message)
{
    Pay__ReplyHeader h = PAY__REPLY_HEADER__INIT;
    h.request_id = (char *)request_id;
    h.has_status = 1;
    h.status = status;
    h.message = (char *)message;
    return codec_pack_msg(&h.base, out);
}

const char *codec_status_name(Pay__Status status)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&pay__status__descriptor, (int)status);
    return v ? v->name : "UNKNOWN_STATUS";
}
