/* output: see output.h. */
#include "output.h"

#include <stdlib.h>
#include <string.h>

#include "csv.h"

struct out_table_t {
    size_t ncols;
    char **columns;
    int *numeric;
    char **cells;       /* nrows * ncols, row-major; NULL cells stay NULL */
    size_t nrows;
    size_t cap;         /* rows */
};

int out_format_parse(const char *s, out_format_t *f)
{
    if (!s)
        return -1;
    if (strcmp(s, "table") == 0)
        *f = OUT_TABLE;
    else if (strcmp(s, "csv") == 0)
        *f = OUT_CSV;
    else if (strcmp(s, "json") == 0)
        *f = OUT_JSON;
    else
        return -1;
    return 0;
}

static char *s_dup(const char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen(s) + 1;
    char *d = malloc(len);
    if (d)
        memcpy(d, s, len);
    return d;
}

out_table_t *out_table_new(const char *const *columns, size_t ncols)
{
    out_table_t *self = calloc(1, sizeof *self);
    if (!self || ncols == 0)
        goto fail;
    self->ncols = ncols;
    self->columns = calloc(ncols, sizeof *self->columns);
    self->numeric = calloc(ncols, sizeof *self->numeric);
    if (!self->columns || !self->numeric)
        goto fail;
    for (size_t i = 0; i < ncols; i++)
        if (!(self->columns[i] = s_dup(columns[i] ? columns[i] : "")))
            goto fail;
    return self;
fail:
    out_table_destroy(&self);
    return NULL;
}

void out_table_destroy(out_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    out_table_t *self = *self_p;
    if (self->columns)
        for (size_t i = 0; i < self->ncols; i++)
            free(self->columns[i]);
    for (size_t i = 0; i < self->nrows * self->ncols; i++)
        free(self->cells[i]);
    free(self->columns);
    free(self->numeric);
    free(self->cells);
    free(self);
    *self_p = NULL;
}

void out_table_set_numeric(out_table_t *self, size_t col, int numeric)
{
    if (col < self->ncols)
        self->numeric[col] = numeric;
}

int out_table_add_row(out_table_t *self, const char *const *cells)
{
    if (self->nrows == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        char **grown = realloc(self->cells, cap * self->ncols * sizeof *grown);
        if (!grown)
            return -1;
        self->cells = grown;
        self->cap = cap;
    }
    char **row = self->cells + self->nrows * self->ncols;
    for (size_t i = 0; i < self->ncols; i++) {
        row[i] = NULL;
        if (cells[i] && !(row[i] = s_dup(cells[i]))) {
            for (size_t j = 0; j < i; j++)
                free(row[j]);
            return -1;
        }
    }
    self->nrows++;
    return 0;
}

size_t out_table_nrows(const out_table_t *self)
{
    return self->nrows;
}

size_t out_text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if ((*p & 0xC0) != 0x80)
            w++;
    return w;
}

/* Writes one line of the text table. Padding is held back as a count of
 * pending blanks and written only before the next visible character, so
 * that no line ends in blanks. Control characters in a cell (a line break
 * in an address, say) show as spaces, so that every row stays on one line. */
static int s_table_line(FILE *out, char *const *cells, const size_t *width, const int *numeric,
                        size_t ncols)
{
    size_t pending = 0;
    for (size_t c = 0; c < ncols; c++) {
        const char *s = cells[c] ? cells[c] : "";
        size_t w = out_text_width(s);
        size_t pad = width[c] > w ? width[c] - w : 0;
        if (c > 0)
            pending += 2;
        if (numeric[c])
            pending += pad;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
            for (; pending > 0; pending--)
                if (putc(' ', out) == EOF)
                    return -1;
            if (putc(*p < 0x20 || *p == 0x7f ? ' ' : *p, out) == EOF)
                return -1;
        }
        if (!numeric[c])
            pending += pad;
    }
    return putc('\n', out) == EOF ? -1 : 0;
}

static int s_write_table(const out_table_t *self, FILE *out)
{
    int rc = -1;
    size_t *width = calloc(self->ncols, sizeof *width);
    char **rule = calloc(self->ncols, sizeof *rule);
    if (!width || !rule)
        goto fail;
    for (size_t c = 0; c < self->ncols; c++) {
        width[c] = out_text_width(self->columns[c]);
        for (size_t r = 0; r < self->nrows; r++) {
            size_t w = out_text_width(self->cells[r * self->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
        if (!(rule[c] = malloc(width[c] + 1)))
            goto fail;
        memset(rule[c], '-', width[c]);
        rule[c][width[c]] = '\0';
    }
    if (s_table_line(out, self->columns, width, self->numeric, self->ncols) != 0 ||
        s_table_line(out, rule, width, self->numeric, self->ncols) != 0)
        goto fail;
    for (size_t r = 0; r < self->nrows; r++)
        if (s_table_line(out, self->cells + r * self->ncols, width, self->numeric,
                         self->ncols) != 0)
            goto fail;
    rc = 0;
fail:
    if (rule)
        for (size_t c = 0; c < self->ncols; c++)
            free(rule[c]);
    free(rule);
    free(width);
    return rc;
}

static int s_write_csv(const out_table_t *self, FILE *out)
{
    if (csv_write_row(out, (const char *const *)self->columns, self->ncols) != 0)
        return -1;
    for (size_t r = 0; r < self->nrows; r++)
        if (csv_write_row(out, (const char *const *)self->cells + r * self->ncols,
                          self->ncols) != 0)
            return -1;
    return 0;
}

/* Length of the valid UTF-8 sequence at p (2 to 4), or 0 if invalid. */
static size_t s_utf8_seq(const unsigned char *p)
{
    size_t more;
    unsigned cp;
    if (*p >= 0xC2 && *p <= 0xDF) {
        more = 1;
        cp = *p & 0x1F;
    } else if (*p >= 0xE0 && *p <= 0xEF) {
        more = 2;
        cp = *p & 0x0F;
    } else if (*p >= 0xF0 && *p <= 0xF4) {
        more = 3;
        cp = *p & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i <= more; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((more == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return more + 1;
}

int out_json_string(FILE *out, const char *s)
{
    if (!s)
        return fputs("null", out) < 0 ? -1 : 0;
    if (putc('"', out) == EOF)
        return -1;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int rc;
        if (*p == '"')
            rc = fputs("\\\"", out);
        else if (*p == '\\')
            rc = fputs("\\\\", out);
        else if (*p == '\n')
            rc = fputs("\\n", out);
        else if (*p == '\r')
            rc = fputs("\\r", out);
        else if (*p == '\t')
            rc = fputs("\\t", out);
        else if (*p == '\b')
            rc = fputs("\\b", out);
        else if (*p == '\f')
            rc = fputs("\\f", out);
        else if (*p < 0x20)
            rc = fprintf(out, "\\u%04x", *p);
        else if (*p < 0x80)
            rc = putc(*p, out) == EOF ? -1 : 0;
        else {
            size_t n = s_utf8_seq(p);
            if (n == 0) {
                rc = fputs("\\ufffd", out);
            } else {
                rc = fwrite(p, 1, n, out) == n ? 0 : -1;
                p += n - 1;
            }
        }
        if (rc < 0)
            return -1;
        p++;
    }
    return putc('"', out) == EOF ? -1 : 0;
}

static int s_write_json(const out_table_t *self, FILE *out)
{
    if (self->nrows == 0)
        return fputs("[]\n", out) < 0 ? -1 : 0;
    if (fputs("[\n", out) < 0)
        return -1;
    for (size_t r = 0; r < self->nrows; r++) {
        if (fputs("  {", out) < 0)
            return -1;
        for (size_t c = 0; c < self->ncols; c++) {
            if (c > 0 && fputs(", ", out) < 0)
                return -1;
            if (out_json_string(out, self->columns[c]) != 0 || fputs(": ", out) < 0 ||
                out_json_string(out, self->cells[r * self->ncols + c]) != 0)
                return -1;
        }
        if (fputs(r + 1 < self->nrows ? "},\n" : "}\n", out) < 0)
            return -1;
    }
    return fputs("]\n", out) < 0 ? -1 : 0;
}

int out_table_write(const out_table_t *self, out_format_t f, FILE *out)
{
    int rc;
    switch (f) {
    case OUT_CSV: rc = s_write_csv(self, out); break;
    case OUT_JSON: rc = s_write_json(self, out); break;
    case OUT_TABLE:
    default: rc = s_write_table(self, out); break;
    }
    if (rc == 0 && fflush(out) != 0)
        rc = -1;
    return rc;
}
