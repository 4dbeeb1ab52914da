/* web_buf: the growable byte buffer every pay-web response is built in,
 * with the encoders that make untrusted text safe for where it goes: HTML
 * text and attribute values, JSON strings, CSV cells, URL query values;
 * and the parser of application/x-www-form-urlencoded bodies.
 *
 * A buffer never fails loudly: after an allocation failure, or once it
 * would pass its limit, it is marked failed and ignores further appends,
 * so a page can be built with plain calls and checked once at the end
 * (web_buf_ok). That is also how a page is bounded: a response that would
 * grow past the limit is refused, never truncated silently.
 *
 * Ownership: a web_buf_t is a value (usually on the stack) that owns its
 * data; web_buf_release frees it. web_buf_take hands the data to the
 * caller. A web_form_t owns one copy of the decoded body; its names and
 * values point into it until web_form_release. */
#ifndef PAY_WEB_BUF_H
#define PAY_WEB_BUF_H

#include <stddef.h>

typedef struct {
    char *data;         /* NUL-terminated when len > 0 */
    size_t len, cap;
    size_t limit;       /* 0: 64 MiB */
    int failed;
} web_buf_t;

void web_buf_init(web_buf_t *b, size_t limit);
void web_buf_release(web_buf_t *b);
/* 1 if every append so far fitted. */
int web_buf_ok(const web_buf_t *b);
/* The data (malloc'd, NUL-terminated, never NULL unless failed) and its
 * length; the buffer is left empty. Returns NULL if the buffer failed. */
char *web_buf_take(web_buf_t *b, size_t *len);

void web_buf_add(web_buf_t *b, const void *p, size_t n);
void web_buf_str(web_buf_t *b, const char *s);               /* NULL: nothing */
void web_buf_printf(web_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Text for HTML (element content or a quoted attribute value): & < > " '
 * become entities; control characters other than tab and newline, and
 * invalid UTF-8 bytes, become U+FFFD. NULL writes nothing. */
void web_buf_html(web_buf_t *b, const char *s);
/* A JSON string literal with its quotes; NULL writes null. Invalid UTF-8
 * bytes become U+FFFD; < > & are written as \u003c \u003e \u0026 so the
 * text is safe even if a browser sniffed it as HTML. */
void web_buf_json(web_buf_t *b, const char *s);
/* One CSV cell (RFC 4180): quoted when it holds , " CR or LF. */
void web_buf_csv(web_buf_t *b, const char *s);
/* Percent-encodes everything but A-Z a-z 0-9 - . _ ~ (a query value or a
 * path segment). */
void web_buf_url(web_buf_t *b, const char *s);

/* ---- form bodies ------------------------------------------------------- */

#define WEB_FORM_MAX_FIELDS 32

typedef struct {
    const char *name[WEB_FORM_MAX_FIELDS];
    const char *value[WEB_FORM_MAX_FIELDS];
    size_t n;
    char *mem;
} web_form_t;

/* Decodes an application/x-www-form-urlencoded body ('+' is a space,
 * %XX a byte). Returns 0, or -1 with the form empty for a malformed body:
 * a bad %-escape, a decoded NUL or control character (other than tab, CR
 * and LF in a value), more than WEB_FORM_MAX_FIELDS fields, or no memory. */
int web_form_parse(web_form_t *f, const char *body, size_t len);
/* The first value of `name`, or NULL. */
const char *web_form_get(const web_form_t *f, const char *name);
void web_form_release(web_form_t *f);

/* 1 if `s` is at most `max` bytes of valid UTF-8 with no control
 * characters: what pay-web accepts as a query or form value. */
int web_text_ok(const char *s, size_t max);

#endif
