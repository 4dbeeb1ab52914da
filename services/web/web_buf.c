/* web_buf: see web_buf.h. */
#include "web_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_LIMIT ((size_t)64 << 20)

void web_buf_init(web_buf_t *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit ? limit : S_DEFAULT_LIMIT;
}

void web_buf_release(web_buf_t *b)
{
    free(b->data);
    size_t limit = b->limit;
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

int web_buf_ok(const web_buf_t *b)
{
    return !b->failed;
}

char *web_buf_take(web_buf_t *b, size_t *len)
{
    if (b->failed) {
        web_buf_release(b);
        return NULL;
    }
    if (!b->data) {
        b->data = calloc(1, 1);
        if (!b->data)
            return NULL;
    }
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

static int s_reserve(web_buf_t *b, size_t more)
{
    if (b->failed)
        return -1;
    if (more > b->limit || b->len + more > b->limit) {
        b->failed = 1;
        return -1;
    }
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void web_buf_add(web_buf_t *b, const void *p, size_t n)
{
    if (n == 0 || s_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void web_buf_str(web_buf_t *b, const char *s)
{
    if (s)
        web_buf_add(b, s, strlen(s));
}

void web_buf_printf(web_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        web_buf_add(b, small, (size_t)n);
        return;
    }
    if (s_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t s_utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if ((p[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static const char s_fffd[] = "\xEF\xBF\xBD";

void web_buf_html(web_buf_t *b, const char *s)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char *run = p;
        /* Copy runs of plain characters at once. */
        while (*p >= 0x20 && *p < 0x80 && *p != '&' && *p != '<' && *p != '>' && *p != '"' &&
               *p != '\'' && *p != 0x7F)
            p++;
        web_buf_add(b, run, (size_t)(p - run));
        if (!*p)
            break;
        switch (*p) {
        case '&': web_buf_str(b, "&amp;"); p++; continue;
        case '<': web_buf_str(b, "&lt;"); p++; continue;
        case '>': web_buf_str(b, "&gt;"); p++; continue;
        case '"': web_buf_str(b, "&quot;"); p++; continue;
        case '\'': web_buf_str(b, "&#39;"); p++; continue;
        case '\t': case '\n': web_buf_add(b, p, 1); p++; continue;
        default: break;
        }
        if (*p < 0x20 || *p == 0x7F) {
            web_buf_str(b, s_fffd);
            p++;
            continue;
        }
        size_t n = s_utf8_len(p);
        if (n == 0) {
            web_buf_str(b, s_fffd);
            p++;
        } else {
            web_buf_add(b, p, n);
            p += n;
        }
    }
}

void web_buf_json(web_buf_t *b, const char *s)
{
    if (!s) {
        web_buf_str(b, "null");
        return;
    }
    web_buf_add(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == '"' || *p == '\\') {
            web_buf_add(b, "\\", 1);
            web_buf_add(b, p, 1);
            p++;
        } else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&' || *p == 0x7F) {
            web_buf_printf(b, "\\u%04x", *p);
            p++;
        } else if (*p < 0x80) {
            web_buf_add(b, p, 1);
            p++;
        } else {
            size_t n = s_utf8_len(p);
            if (n == 0) {
                web_buf_str(b, "\\ufffd");
                p++;
            } else {
                web_buf_add(b, p, n);
                p += n;
            }
        }
    }
    web_buf_add(b, "\"", 1);
}

void web_buf_csv(web_buf_t *b, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        web_buf_str(b, s);
        return;
    }
    web_buf_add(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            web_buf_add(b, "\"", 1);
        web_buf_add(b, p, 1);
    }
    web_buf_add(b, "\"", 1);
}

void web_buf_url(web_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            web_buf_add(b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            web_buf_add(b, e, 3);
        }
    }
}

/* ---- forms ---------------------------------------------------------------- */

static int s_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..n) into dst (room for n + 1). Returns the length, or -1. */
static long s_decode(const char *src, size_t n, char *dst, int is_value)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = s_hex((unsigned char)src[i + 1]), l = s_hex((unsigned char)src[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || c == 0x7F || (c < 0x20 && !(is_value && (c == '\t' || c == '\r' || c == '\n'))))
            return -1;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return (long)o;
}

int web_form_parse(web_form_t *f, const char *body, size_t len)
{
    memset(f, 0, sizeof *f);
    /* Each field decodes to at most its own length plus two NULs. */
    if (!(f->mem = malloc(len + 2 * WEB_FORM_MAX_FIELDS + 2)))
        return -1;
    char *out = f->mem;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && body[eq] != '=')
                eq++;
            if (f->n == WEB_FORM_MAX_FIELDS)
                goto fail;
            long nl = s_decode(body + i, eq - i, out, 0);
            if (nl < 0)
                goto fail;
            f->name[f->n] = out;
            out += nl + 1;
            size_t vstart = eq < end ? eq + 1 : end;
            long vl = s_decode(body + vstart, end - vstart, out, 1);
            if (vl < 0)
                goto fail;
            f->value[f->n] = out;
            out += vl + 1;
            f->n++;
        }
        i = end + 1;
    }
    return 0;
fail:
    web_form_release(f);
    return -1;
}

const char *web_form_get(const web_form_t *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->name[i], name) == 0)
            return f->value[i];
    return NULL;
}

void web_form_release(web_form_t *f)
{
    free(f->mem);
    memset(f, 0, sizeof *f);
}

int web_text_ok(const char *s, size_t max)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n > max)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x20 || *p == 0x7F)
            return 0;
        size_t l = s_utf8_len(p);
        if (l == 0)
            return 0;
        p += l;
    }
    return 1;
}
