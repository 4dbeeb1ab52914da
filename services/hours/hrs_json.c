/* hrs_json: see hrs_json.h. A small recursive-descent JSON reader that
 * fills the message as it goes (no intermediate tree), and a writer that
 * walks the descriptor. */
#include "hrs_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 32

typedef struct {
    const char *p;
    char *err;
    int depth;
} s_rd_t;

static int s_fail(s_rd_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_fail(s_rd_t *r, const char *fmt, ...)
{
    if (r->err[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, HRS_JSON_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void s_ws(s_rd_t *r)
{
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
        r->p++;
}

static int s_hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0)
            return -1;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

static size_t s_utf8_put(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A JSON string into a malloc'd C string (*len bytes, NUL-terminated). A
 * \u0000 escape is refused: C strings cannot hold it. */
static int s_string(s_rd_t *r, char **out, size_t *len)
{
    s_ws(r);
    if (*r->p != '"')
        return s_fail(r, "expected a string");
    r->p++;
    const char *start = r->p;
    size_t cap = 0;
    while (start[cap] && start[cap] != '"') {
        if (start[cap] == '\\' && start[cap + 1])
            cap++;
        cap++;
    }
    char *s = malloc(cap * 2 + 8);   /* escapes never grow the text by more */
    size_t n = 0;
    if (!s)
        return s_fail(r, "out of memory");
    while (*r->p != '"') {
        unsigned char c = (unsigned char)*r->p;
        if (c == '\0' || c < 0x20) {
            free(s);
            return s_fail(r, "unterminated string or raw control character");
        }
        if (c != '\\') {
            s[n++] = (char)c;
            r->p++;
            continue;
        }
        r->p++;
        char e = *r->p++;
        unsigned cp;
        switch (e) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u':
            if (s_hex4(r->p, &cp) != 0) {
                free(s);
                return s_fail(r, "bad \\u escape");
            }
            r->p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && r->p[0] == '\\' && r->p[1] == 'u') {
                unsigned lo;
                if (s_hex4(r->p + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    r->p += 6;
                }
            }
            if (cp == 0) {
                free(s);
                return s_fail(r, "\\u0000 cannot be carried");
            }
            n += s_utf8_put(cp, s + n);
            break;
        default:
            free(s);
            return s_fail(r, "bad escape");
        }
    }
    r->p++;
    s[n] = '\0';
    *out = s;
    if (len)
        *len = n;
    return 0;
}

/* A JSON number's text (validated loosely: sign, digits, point, exponent). */
static int s_number_text(s_rd_t *r, char *buf, size_t size)
{
    s_ws(r);
    size_t n = 0;
    while ((*r->p == '-' || *r->p == '+' || *r->p == '.' || *r->p == 'e' || *r->p == 'E' ||
            (*r->p >= '0' && *r->p <= '9')) &&
           n + 1 < size)
        buf[n++] = *r->p++;
    buf[n] = '\0';
    return n ? 0 : s_fail(r, "expected a number");
}

static int s_literal(s_rd_t *r, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(r->p, word, n) != 0)
        return -1;
    r->p += n;
    return 0;
}

/* Skips any JSON value (for keys the client handles itself). */
static int s_skip(s_rd_t *r)
{
    char *s;
    char buf[64];
    s_ws(r);
    if (++r->depth > S_MAX_DEPTH)
        return s_fail(r, "nested too deeply");
    int rc = 0;
    if (*r->p == '"') {
        rc = s_string(r, &s, NULL);
        if (rc == 0)
            free(s);
    } else if (*r->p == '{' || *r->p == '[') {
        char close = *r->p == '{' ? '}' : ']';
        bool obj = *r->p == '{';
        r->p++;
        s_ws(r);
        if (*r->p == close) {
            r->p++;
        } else {
            for (;;) {
                if (obj) {
                    if (s_string(r, &s, NULL) != 0)
                        return -1;
                    free(s);
                    s_ws(r);
                    if (*r->p++ != ':')
                        return s_fail(r, "expected ':'");
                }
                if (s_skip(r) != 0)
                    return -1;
                s_ws(r);
                if (*r->p == ',') {
                    r->p++;
                    continue;
                }
                if (*r->p == close) {
                    r->p++;
                    break;
                }
                return s_fail(r, "expected ',' or a closing bracket");
            }
        }
    } else if (s_literal(r, "true") == 0 || s_literal(r, "false") == 0 ||
               s_literal(r, "null") == 0) {
        rc = 0;
    } else {
        rc = s_number_text(r, buf, sizeof buf);
    }
    r->depth--;
    return rc;
}

static int s_object(s_rd_t *r, const ProtobufCMessageDescriptor *desc, ProtobufCMessage *m);

/* Where a repeated field keeps its count and array. */
static size_t *s_count_ptr(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (size_t *)((char *)m + f->quantifier_offset);
}

static void **s_array_ptr(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (void **)((char *)m + f->offset);
}

static size_t s_elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    }
    return 0;
}

static int s_unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        char b[5] = {'0', '0', s[i], s[i + 1], '\0'};
        if (s_hex4(b, &v) != 0)
            return -1;
        out[i / 2] = (uint8_t)v;
    }
    return 0;
}

/* Reads one value of field f into `slot` (which has s_elem_size bytes). */
static int s_value(s_rd_t *r, const ProtobufCFieldDescriptor *f, void *slot)
{
    char buf[64], *end, *s;
    s_ws(r);
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (s_string(r, &s, NULL) != 0)
            return -1;
        *(char **)slot = s;
        return 0;
    case PROTOBUF_C_TYPE_BYTES: {
        size_t n;
        if (s_string(r, &s, &n) != 0)
            return -1;
        ProtobufCBinaryData *bd = slot;
        bd->len = n / 2;
        bd->data = malloc(bd->len + 1);
        if (!bd->data || n % 2 != 0 || s_unhex(s, n, bd->data) != 0) {
            free(s);
            return s_fail(r, "%s: bytes are a hex string", f->name);
        }
        free(s);
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (s_literal(r, "true") == 0)
            *(protobuf_c_boolean *)slot = 1;
        else if (s_literal(r, "false") == 0)
            *(protobuf_c_boolean *)slot = 0;
        else
            return s_fail(r, "%s: expected true or false", f->name);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        if (*r->p == '"') {
            if (s_string(r, &s, NULL) != 0)
                return -1;
            const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
            free(s);
            if (!ev)
                return s_fail(r, "%s: not a name of %s", f->name, ed->name);
            *(int *)slot = ev->value;
            return 0;
        }
        if (s_number_text(r, buf, sizeof buf) != 0)
            return -1;
        *(int *)slot = (int)strtol(buf, NULL, 10);
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *md = f->descriptor;
        ProtobufCMessage *sub = calloc(1, md->sizeof_message);
        if (!sub)
            return s_fail(r, "out of memory");
        md->message_init(sub);
        *(ProtobufCMessage **)slot = sub;
        return s_object(r, md, sub);
    }
    default:
        break;
    }
    if (s_number_text(r, buf, sizeof buf) != 0)
        return -1;
    errno = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(int32_t *)slot = (int32_t)strtol(buf, &end, 10);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *)slot = (uint32_t)strtoul(buf, &end, 10);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(int64_t *)slot = (int64_t)strtoll(buf, &end, 10);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *)slot = (uint64_t)strtoull(buf, &end, 10);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *)slot = strtof(buf, &end);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)slot = strtod(buf, &end);
        break;
    default:
        return s_fail(r, "%s: unsupported type", f->name);
    }
    if (*end != '\0' || errno != 0)
        return s_fail(r, "%s: bad number '%s'", f->name, buf);
    return 0;
}

static int s_field(s_rd_t *r, const ProtobufCFieldDescriptor *f, ProtobufCMessage *m)
{
    char *base = (char *)m;
    s_ws(r);
    if (s_literal(r, "null") == 0)
        return 0;   /* unset */
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (*r->p != '[')
            return s_fail(r, "%s: expected an array", f->name);
        r->p++;
        size_t esz = s_elem_size(f), cap = 0;
        size_t *n = s_count_ptr(m, f);
        void **arr = s_array_ptr(m, f);
        s_ws(r);
        if (*r->p == ']') {
            r->p++;
            return 0;
        }
        for (;;) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                void *na = realloc(*arr, cap * esz);
                if (!na)
                    return s_fail(r, "out of memory");
                *arr = na;
            }
            char *slot = (char *)*arr + *n * esz;
            memset(slot, 0, esz);
            (*n)++;
            if (s_value(r, f, slot) != 0)
                return -1;
            s_ws(r);
            if (*r->p == ',') {
                r->p++;
                continue;
            }
            if (*r->p == ']') {
                r->p++;
                return 0;
            }
            return s_fail(r, "%s: expected ',' or ']'", f->name);
        }
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        /* The case is set before the value, so that whatever the value
         * allocates is freed with the message even if it fails. */
        uint32_t *which = (uint32_t *)(base + f->quantifier_offset);
        if (*which != 0)
            return s_fail(r, "%s: a second member of the same oneof", f->name);
        *which = f->id;
    } else if (((f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) &&
                *(void **)(base + f->offset) != NULL) ||
               (f->type == PROTOBUF_C_TYPE_BYTES &&
                ((ProtobufCBinaryData *)(base + f->offset))->data != NULL)) {
        /* A key given twice would leak the first value. */
        return s_fail(r, "%s: given twice", f->name);
    }
    if (s_value(r, f, base + f->offset) != 0)
        return -1;
    bool has_flag = !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE;
    if (has_flag)
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    return 0;
}

static int s_object(s_rd_t *r, const ProtobufCMessageDescriptor *desc, ProtobufCMessage *m)
{
    s_ws(r);
    if (++r->depth > S_MAX_DEPTH)
        return s_fail(r, "nested too deeply");
    if (*r->p != '{')
        return s_fail(r, "expected an object for %s", desc->name);
    r->p++;
    s_ws(r);
    if (*r->p == '}') {
        r->p++;
        r->depth--;
        return 0;
    }
    for (;;) {
        char *key;
        if (s_string(r, &key, NULL) != 0)
            return -1;
        s_ws(r);
        if (*r->p++ != ':') {
            free(key);
            return s_fail(r, "expected ':'");
        }
        int rc;
        if (key[0] == '_' && r->depth == 1) {
            rc = s_skip(r);
        } else {
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, key);
            if (!f)
                rc = s_fail(r, "%s has no field '%s'", desc->name, key);
            else
                rc = s_field(r, f, m);
        }
        free(key);
        if (rc != 0)
            return -1;
        s_ws(r);
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p == '}') {
            r->p++;
            r->depth--;
            return 0;
        }
        return s_fail(r, "expected ',' or '}'");
    }
}

ProtobufCMessage *hrs_json_to_msg(const ProtobufCMessageDescriptor *desc, const char *text,
                                  char err[HRS_JSON_ERR_LEN])
{
    s_rd_t r = {text, err, 0};
    err[0] = '\0';
    ProtobufCMessage *m = calloc(1, desc->sizeof_message);
    if (!m) {
        snprintf(err, HRS_JSON_ERR_LEN, "out of memory");
        return NULL;
    }
    desc->message_init(m);
    if (s_object(&r, desc, m) != 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    s_ws(&r);
    if (*r.p != '\0') {
        snprintf(err, HRS_JSON_ERR_LEN, "text after the object");
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

/* ---- writer ------------------------------------------------------------- */

typedef struct {
    char *b;
    size_t n, cap;
    int oom;
} s_buf_t;

static void s_put(s_buf_t *w, const char *s, size_t n)
{
    if (w->oom)
        return;
    if (w->n + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + n + 1)
            cap *= 2;
        char *nb = realloc(w->b, cap);
        if (!nb) {
            w->oom = 1;
            return;
        }
        w->b = nb;
        w->cap = cap;
    }
    memcpy(w->b + w->n, s, n);
    w->n += n;
    w->b[w->n] = '\0';
}

static void s_puts(s_buf_t *w, const char *s)
{
    s_put(w, s, strlen(s));
}

static void s_put_str(s_buf_t *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    s_put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            s_put(w, e, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            s_put(w, e, 6);
        } else {
            s_put(w, (const char *)&c, 1);
        }
    }
    s_put(w, "\"", 1);
}

static void s_write_msg(s_buf_t *w, const ProtobufCMessage *m);

static void s_write_value(s_buf_t *w, const ProtobufCFieldDescriptor *f, const void *slot)
{
    char buf[48];
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)slot;
        s_put_str(w, s ? s : "", s ? strlen(s) : 0);
        return;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = slot;
        static const char hex[] = "0123456789abcdef";
        s_put(w, "\"", 1);
        for (size_t i = 0; i < bd->len; i++) {
            char h[2] = {hex[bd->data[i] >> 4], hex[bd->data[i] & 15]};
            s_put(w, h, 2);
        }
        s_put(w, "\"", 1);
        return;
    }
    case PROTOBUF_C_TYPE_BOOL:
        s_puts(w, *(const protobuf_c_boolean *)slot ? "true" : "false");
        return;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)slot;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        if (ev) {
            s_put_str(w, ev->name, strlen(ev->name));
        } else {
            snprintf(buf, sizeof buf, "%d", v);
            s_puts(w, buf);
        }
        return;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        if (sub)
            s_write_msg(w, sub);
        else
            s_puts(w, "null");
        return;
    }
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(buf, sizeof buf, "%" PRId32, *(const int32_t *)slot);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(buf, sizeof buf, "%" PRIu32, *(const uint32_t *)slot);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(buf, sizeof buf, "%" PRId64, *(const int64_t *)slot);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(buf, sizeof buf, "%" PRIu64, *(const uint64_t *)slot);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        snprintf(buf, sizeof buf, "%.9g", (double)*(const float *)slot);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        snprintf(buf, sizeof buf, "%.17g", *(const double *)slot);
        break;
    }
    s_puts(w, buf);
}

static void s_write_msg(s_buf_t *w, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    bool first = true;
    s_put(w, "{", 1);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *slot = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            if (n == 0)
                continue;
            if (!first)
                s_put(w, ",", 1);
            first = false;
            s_put_str(w, f->name, strlen(f->name));
            s_put(w, ":[", 2);
            const char *arr = *(char *const *)slot;
            for (size_t k = 0; k < n; k++) {
                if (k)
                    s_put(w, ",", 1);
                s_write_value(w, f, arr + k * s_elem_size(f));
            }
            s_put(w, "]", 1);
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
        } else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (*(void *const *)slot == NULL)
                continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                   !*(const protobuf_c_boolean *)(base + f->quantifier_offset)) {
            continue;
        }
        if (!first)
            s_put(w, ",", 1);
        first = false;
        s_put_str(w, f->name, strlen(f->name));
        s_put(w, ":", 1);
        s_write_value(w, f, slot);
    }
    s_put(w, "}", 1);
}

char *hrs_json_from_msg(const ProtobufCMessage *m)
{
    s_buf_t w = {NULL, 0, 0, 0};
    s_write_msg(&w, m);
    if (w.oom) {
        free(w.b);
        return NULL;
    }
    return w.b;
}

int hrs_json_get(const char *text, const char *key, char *out, size_t outlen)
{
    char err[HRS_JSON_ERR_LEN] = "";
    s_rd_t r = {text, err, 0};
    s_ws(&r);
    if (*r.p++ != '{')
        return -1;
    for (;;) {
        char *k, *v;
        s_ws(&r);
        if (*r.p == '}')
            return -1;
        if (s_string(&r, &k, NULL) != 0)
            return -1;
        s_ws(&r);
        if (*r.p++ != ':') {
            free(k);
            return -1;
        }
        s_ws(&r);
        bool match = strcmp(k, key) == 0;
        free(k);
        if (match && *r.p == '"') {
            if (s_string(&r, &v, NULL) != 0)
                return -1;
            snprintf(out, outlen, "%s", v);
            free(v);
            return 0;
        }
        if (match && ((*r.p >= '0' && *r.p <= '9') || *r.p == '-')) {
            char buf[64];
            if (s_number_text(&r, buf, sizeof buf) != 0)
                return -1;
            snprintf(out, outlen, "%s", buf);
            return 0;
        }
        if (match)
            return -1;
        if (s_skip(&r) != 0)
            return -1;
        s_ws(&r);
        if (*r.p == ',') {
            r.p++;
            continue;
        }
        return -1;
    }
}
