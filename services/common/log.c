/* log: see log.h.
 *
 * A line is at most S_LINE_MAX bytes, which is PIPE_BUF on Linux: a write
 * of that size to a pipe is atomic, so lines from concurrent threads or
 * processes sharing stderr never interleave. A longer message is cut (never
 * in the middle of an escape or a UTF-8 sequence) and the line says
 * "truncated":true. Bytes that are not valid UTF-8 become U+FFFD so every
 * line stays valid JSON whatever a client sent us. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_LINE_MAX 4096
#define S_MSG_RAW_MAX 4096
#define S_FIELD_MAX 160

static _Atomic int s_level = LOG_INFO;
static const char *_Atomic s_service = NULL;

static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

void log_set_service(const char *name)
{
    atomic_store(&s_service, name);
}

void log_set_level(int level)
{
    if (level < LOG_DEBUG)
        level = LOG_DEBUG;
    if (level > LOG_ERROR)
        level = LOG_ERROR;
    atomic_store(&s_level, level);
}

void log_init_from_env(void)
{
    const char *v = getenv("PAY_LOG_LEVEL");
    if (!v || !*v)
        return;
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
        if (strcmp(v, s_level_names[i]) == 0) {
            log_set_level(i);
            return;
        }
    }
    log_warn("log.config", "PAY_LOG_LEVEL=%s is not debug|info|warn|error; "
             "keeping the current level", v);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if s does not start
 * one (stray continuation, overlong form, surrogate, above U+10FFFF, or cut
 * short by the end of the string). */
static int s_utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    int n;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2; cp = c & 0x1Fu; min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3; cp = c & 0x0Fu; min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4; cp = c & 0x07u; min = 0x10000;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;   /* also catches the NUL terminator */
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Escapes s into out[0..outlen), NUL-terminated. Returns 1 if all of s fit,
 * 0 if it was cut. */
static int s_escape(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = 0;
    if (outlen == 0)
        return *p == '\0';
    while (*p) {
        char piece[8];
        size_t plen = 0;
        int adv = 1;
        unsigned char c = *p;
        switch (c) {
        case '"':  memcpy(piece, "\\\"", 2); plen = 2; break;
        case '\\': memcpy(piece, "\\\\", 2); plen = 2; break;
        case '\n': memcpy(piece, "\\n", 2); plen = 2; break;
        case '\r': memcpy(piece, "\\r", 2); plen = 2; break;
        case '\t': memcpy(piece, "\\t", 2); plen = 2; break;
        case '\b': memcpy(piece, "\\b", 2); plen = 2; break;
        case '\f': memcpy(piece, "\\f", 2); plen = 2; break;
        default:
            if (c < 0x20 || c == 0x7F) {
                memcpy(piece, "\\u00", 4);
                piece[4] = hex[c >> 4];
                piece[5] = hex[c & 0xF];
                plen = 6;
            } else if (c < 0x80) {
                piece[0] = (char)c;
                plen = 1;
            } else {
                adv = s_utf8_len(p);
                if (adv == 0) {
                    memcpy(piece, "\\ufffd", 6);
                    plen = 6;
                    adv = 1;
                } else {
                    memcpy(piece, p, (size_t)adv);
                    plen = (size_t)adv;
                }
            }
        }
        if (n + plen + 1 > outlen) {
            out[n] = '\0';
            return 0;
        }
        memcpy(out + n, piece, plen);
        n += plen;
        p += adv;
    }
    out[n] = '\0';
    return 1;
}

void log_json_escape(const char *s, char *out, unsigned long outlen)
{
    (void)s_escape(s, out, (size_t)outlen);
}

/* Appends the NUL-terminated `s` to line[*n], bounded by S_LINE_MAX. */
static void s_append(char *line, size_t *n, const char *s)
{
    size_t len = strlen(s);
    if (*n + len > S_LINE_MAX)
        len = S_LINE_MAX - *n;
    memcpy(line + *n, s, len);
    *n += len;
}

static void s_write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;     /* nowhere left to report a logging failure */
        }
        buf += w;
        len -= (size_t)w;
    }
}

void log_emit(int level, const char *event, const char *fmt, ...)
{
    if (level < atomic_load(&s_level))
        return;
    if (level < LOG_DEBUG)
        level = LOG_DEBUG;
    if (level > LOG_ERROR)
        level = LOG_ERROR;

    int saved_errno = errno;    /* callers often log then look at errno */
    char ts[64];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(now.tv_nsec / 1000000));

    char raw[S_MSG_RAW_MAX];
    va_list ap;
    va_start(ap, fmt);
    int rawlen = vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    int truncated = rawlen < 0 || (size_t)rawlen >= sizeof raw;
    if (rawlen < 0)
        raw[0] = '\0';

    char line[S_LINE_MAX + 1];
    char field[S_FIELD_MAX];
    size_t n = 0;
    s_append(line, &n, "{\"ts\":\"");
    s_append(line, &n, ts);
    s_append(line, &n, "\",\"level\":\"");
    s_append(line, &n, s_level_names[level]);
    const char *service = atomic_load(&s_service);
    if (service) {
        s_append(line, &n, "\",\"service\":\"");
        s_escape(service, field, sizeof field);
        s_append(line, &n, field);
    }
    s_append(line, &n, "\",\"event\":\"");
    s_escape(event, field, sizeof field);
    s_append(line, &n, field);
    s_append(line, &n, "\",\"msg\":\"");

    /* Whatever room is left, less the tail (closing quote, the truncation
     * flag, the brace and the newline), goes to the message. */
    static const char tail_cut[] = "\",\"truncated\":true}\n";
    static const char tail_ok[] = "\"}\n";
    size_t room = S_LINE_MAX - n - (sizeof tail_cut - 1) + 1;
    if (!s_escape(raw, line + n, room))
        truncated = 1;
    n += strlen(line + n);
    s_append(line, &n, truncated ? tail_cut : tail_ok);

    s_write_all(line, n);
    errno = saved_errno;
}
