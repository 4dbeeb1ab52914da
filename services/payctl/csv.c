/* csv: see csv.h. A byte-at-a-time state machine: it never needs more than
 * the current record in memory, and after a broken record it keeps the
 * state machine running (without storing) until the record really ends, so
 * that quoted line breaks inside a bad record are not mistaken for the
 * start of the next one. */
#include "csv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    S_FIELD_START,
    S_UNQUOTED,
    S_QUOTED,
    S_QUOTE_SEEN,   /* a quote inside a quoted field: closing, or doubled */
} s_state_t;

struct csv_reader_t {
    FILE *f;
    size_t max_field;
    size_t max_row;
    char *buf;          /* the record's cells, each NUL-terminated */
    size_t len;
    size_t *starts;     /* offset of each cell in buf */
    char **cells;
    size_t ncells;
    size_t cap;
    long line;          /* physical line of the next byte read */
    int started;        /* the BOM check has been done */
    int pending[3];     /* bytes read ahead (BOM check, CR LF) */
    int npending;
    int bad;            /* the current record is refused; err says why */
    char err[CSV_ERR_LEN];
};

csv_reader_t *csv_reader_new(FILE *f, size_t max_field, size_t max_row)
{
    csv_reader_t *self = NULL;
    if (!f)
        goto fail;
    if (max_field == 0)
        max_field = CSV_DEFAULT_MAX_FIELD;
    if (max_row == 0)
        max_row = CSV_DEFAULT_MAX_ROW;
    if (max_field > max_row)
        goto fail;
    self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->f = f;
    self->max_field = max_field;
    self->max_row = max_row;
    self->line = 1;
    self->buf = malloc(max_row);
    self->cap = 16;
    self->starts = malloc(self->cap * sizeof *self->starts);
    self->cells = malloc(self->cap * sizeof *self->cells);
    if (!self->buf || !self->starts || !self->cells)
        goto fail;
    return self;
fail:
    csv_reader_destroy(&self);
    return NULL;
}

void csv_reader_destroy(csv_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    csv_reader_t *self = *self_p;
    free(self->buf);
    free(self->starts);
    free(self->cells);
    free(self);
    *self_p = NULL;
}

const char *csv_reader_error(const csv_reader_t *self)
{
    return self->err;
}

long csv_reader_line(const csv_reader_t *self)
{
    return self->line;
}

static int s_getc(csv_reader_t *self)
{
    if (self->npending > 0) {
        int c = self->pending[0];
        self->npending--;
        memmove(self->pending, self->pending + 1, (size_t)self->npending * sizeof(int));
        return c;
    }
    return getc(self->f);
}

static void s_ungetc(csv_reader_t *self, int c)
{
    memmove(self->pending + 1, self->pending, (size_t)self->npending * sizeof(int));
    self->pending[0] = c;
    self->npending++;
}

/* Skips a UTF-8 byte-order mark at the very start of the stream. */
static void s_skip_bom(csv_reader_t *self)
{
    int c[3], n = 0;
    self->started = 1;
    static const int bom[3] = {0xEF, 0xBB, 0xBF};
    while (n < 3) {
        c[n] = getc(self->f);
        if (c[n] != bom[n]) {
            n++;
            break;
        }
        n++;
    }
    if (n == 3 && c[2] == bom[2])
        return;
    /* Not a BOM: give back what was read, in order. */
    for (int i = n - 1; i >= 0; i--)
        if (c[i] != EOF)
            s_ungetc(self, c[i]);
}

static void s_bad(csv_reader_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void s_bad(csv_reader_t *self, const char *fmt, ...)
{
    if (self->bad)
        return;   /* the first problem of a record is the one reported */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->err, sizeof self->err, fmt, ap);
    va_end(ap);
    self->bad = 1;
}

static void s_append(csv_reader_t *self, int c, size_t field_start)
{
    if (self->bad)
        return;
    if (c == 0) {
        s_bad(self, "field %zu holds a NUL byte", self->ncells + 1);
        return;
    }
    if (self->len - field_start + 1 > self->max_field) {
        s_bad(self, "field %zu is longer than %zu bytes", self->ncells + 1, self->max_field);
        return;
    }
    if (self->len + 2 > self->max_row) {   /* room for this byte and a NUL */
        s_bad(self, "row is longer than %zu bytes", self->max_row);
        return;
    }
    self->buf[self->len++] = (char)c;
}

static void s_end_field(csv_reader_t *self, size_t *field_start)
{
    if (self->bad)
        return;
    if (self->len + 1 > self->max_row) {
        s_bad(self, "row is longer than %zu bytes", self->max_row);
        return;
    }
    if (self->ncells == self->cap) {
        size_t cap = self->cap * 2;
        size_t *starts = realloc(self->starts, cap * sizeof *starts);
        if (starts)
            self->starts = starts;
        char **cells = realloc(self->cells, cap * sizeof *cells);
        if (cells)
            self->cells = cells;
        if (!starts || !cells) {
            s_bad(self, "out of memory");
            return;
        }
        self->cap = cap;
    }
    self->buf[self->len++] = '\0';
    self->starts[self->ncells++] = *field_start;
    *field_start = self->len;
}

/* After '\r': 1 if it was a CRLF line end (LF consumed), 0 for a bare CR. */
static int s_crlf(csv_reader_t *self)
{
    int n = s_getc(self);
    if (n == '\n')
        return 1;
    if (n != EOF)
        s_ungetc(self, n);
    return 0;
}

csv_status_t csv_reader_next(csv_reader_t *self, csv_row_t *row)
{
    s_state_t state = S_FIELD_START;
    size_t field_start = 0;
    int consumed = 0;
    long nchars = 0;
    long quote_line = 0;

    if (!self->started)
        s_skip_bom(self);
    self->len = 0;
    self->ncells = 0;
    self->bad = 0;
    self->err[0] = '\0';
    memset(row, 0, sizeof *row);
    row->line = self->line;

    for (;;) {
        int c = s_getc(self);
        if (c == EOF) {
            if (ferror(self->f)) {
                snprintf(self->err, sizeof self->err, "read error");
                return CSV_FATAL;
            }
            if (state == S_QUOTED) {
                snprintf(self->err, sizeof self->err,
                         "the quote opened on line %ld is not closed at the end of the file",
                         quote_line);
                return CSV_FATAL;
            }
            if (!consumed)
                return CSV_EOF;
            s_end_field(self, &field_start);
            break;   /* the last record had no line end */
        }
        consumed = 1;
        nchars++;
        if (state == S_QUOTED) {
            if (c == '"')
                state = S_QUOTE_SEEN;
            else {
                if (c == '\n')
                    self->line++;
                s_append(self, c, field_start);
            }
            continue;
        }
        if (state == S_QUOTE_SEEN && c == '"') {
            s_append(self, '"', field_start);
            state = S_QUOTED;
            continue;
        }
        /* Outside quotes: S_FIELD_START, S_UNQUOTED or S_QUOTE_SEEN. */
        if (c == ',') {
            s_end_field(self, &field_start);
            state = S_FIELD_START;
            continue;
        }
        if (c == '\n' || (c == '\r' && s_crlf(self))) {
            self->line++;
            row->blank = nchars == 1;   /* nothing before the line end */
            s_end_field(self, &field_start);
            break;
        }
        if (c == '\r') {
            s_bad(self, "field %zu holds a carriage return that is not part of a line end",
                  self->ncells + 1);
            continue;
        }
        if (state == S_FIELD_START && c == '"') {
            state = S_QUOTED;
            quote_line = self->line;
            continue;
        }
        if (state == S_QUOTE_SEEN)
            s_bad(self, "field %zu has text after its closing quote", self->ncells + 1);
        else if (c == '"')
            s_bad(self, "field %zu has a quote but does not start with one", self->ncells + 1);
        s_append(self, c, field_start);
        state = S_UNQUOTED;
    }

    if (self->bad)
        return CSV_BAD_ROW;
    for (size_t i = 0; i < self->ncells; i++)
        self->cells[i] = self->buf + self->starts[i];
    row->cells = self->cells;
    row->ncells = self->ncells;
    return CSV_ROW;
}

int csv_header_check(const csv_row_t *row, const char *const *expected, size_t n,
                     char err[CSV_ERR_LEN])
{
    err[0] = '\0';
    size_t common = row->ncells < n ? row->ncells : n;
    for (size_t i = 0; i < common; i++)
        if (strcmp(row->cells[i], expected[i]) != 0) {
            snprintf(err, CSV_ERR_LEN, "header column %zu is \"%.60s\", expected \"%s\"", i + 1,
                     row->cells[i], expected[i]);
            return -1;
        }
    if (row->ncells < n) {
        snprintf(err, CSV_ERR_LEN, "header has %zu columns, expected %zu: missing \"%s\"",
                 row->ncells, n, expected[row->ncells]);
        return -1;
    }
    if (row->ncells > n) {
        snprintf(err, CSV_ERR_LEN, "header has %zu columns, expected %zu: unexpected \"%.60s\"",
                 row->ncells, n, row->cells[n]);
        return -1;
    }
    return 0;
}

int csv_needs_quotes(const char *s)
{
    return s && strpbrk(s, ",\"\r\n") != NULL;
}

int csv_write_field(FILE *f, const char *s)
{
    if (!s)
        s = "";
    if (!csv_needs_quotes(s))
        return fputs(s, f) < 0 ? -1 : 0;
    if (putc('"', f) == EOF)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p == '"' && putc('"', f) == EOF)
            return -1;
        if (putc(*p, f) == EOF)
            return -1;
    }
    return putc('"', f) == EOF ? -1 : 0;
}

int csv_write_row(FILE *f, const char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && putc(',', f) == EOF)
            return -1;
        if (csv_write_field(f, cells[i]) != 0)
            return -1;
    }
    return fputs("\r\n", f) < 0 ? -1 : 0;
}
