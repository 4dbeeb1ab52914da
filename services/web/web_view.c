/* web_view: see web_view.h. */
#include "web_view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { S_FACT, S_NOTE, S_LINK, S_FORM, S_TABLE } s_kind_t;

struct web_table_t {
    char *name, *caption;
    char **cols;
    size_t ncols;
    unsigned char *numeric;
    char **link_prefix, **link_suffix;
    char **cells;               /* rows * ncols */
    size_t nrows, cap;
    char **totals;
    int *failed;
};

typedef struct {
    s_kind_t kind;
    char *a, *b;
    web_table_t *t;
} s_block_t;

struct web_view_t {
    char *title;
    s_block_t *blocks;
    size_t n, cap;
    int failed;
};

static char *s_dup(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

web_view_t *web_view_new(const char *title)
{
    web_view_t *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->title = s_dup(title ? title : "", &v->failed);
    return v;
}

static void s_table_free(web_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    for (size_t c = 0; c < t->ncols; c++) {
        free(t->cols[c]);
        free(t->link_prefix[c]);
        free(t->link_suffix[c]);
        if (t->totals)
            free(t->totals[c]);
    }
    free(t->cells);
    free(t->cols);
    free(t->link_prefix);
    free(t->link_suffix);
    free(t->numeric);
    free(t->totals);
    free(t->name);
    free(t->caption);
    free(t);
}

void web_view_destroy(web_view_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    web_view_t *v = *self_p;
    for (size_t i = 0; i < v->n; i++) {
        free(v->blocks[i].a);
        free(v->blocks[i].b);
        s_table_free(v->blocks[i].t);
    }
    free(v->blocks);
    free(v->title);
    free(v);
    *self_p = NULL;
}

int web_view_ok(const web_view_t *v)
{
    return v && !v->failed;
}

const char *web_view_title(const web_view_t *v)
{
    return v->title ? v->title : "";
}

static s_block_t *s_block(web_view_t *v, s_kind_t kind)
{
    if (v->failed)
        return NULL;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        s_block_t *b = realloc(v->blocks, cap * sizeof *b);
        if (!b) {
            v->failed = 1;
            return NULL;
        }
        v->blocks = b;
        v->cap = cap;
    }
    s_block_t *b = &v->blocks[v->n++];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    return b;
}

void web_view_fact(web_view_t *v, const char *label, const char *value)
{
    s_block_t *b = s_block(v, S_FACT);
    if (b) {
        b->a = s_dup(label ? label : "", &v->failed);
        b->b = s_dup(value ? value : "", &v->failed);
    }
}

void web_view_note(web_view_t *v, const char *kind, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    s_block_t *b = s_block(v, S_NOTE);
    if (b) {
        b->a = s_dup(kind, &v->failed);
        b->b = s_dup(text, &v->failed);
    }
}

void web_view_link(web_view_t *v, const char *href, const char *text)
{
    s_block_t *b = s_block(v, S_LINK);
    if (b) {
        b->a = s_dup(href, &v->failed);
        b->b = s_dup(text, &v->failed);
    }
}

void web_view_form(web_view_t *v, const char *html)
{
    s_block_t *b = s_block(v, S_FORM);
    if (b)
        b->a = s_dup(html ? html : "", &v->failed);
}

web_table_t *web_view_table(web_view_t *v, const char *name, const char *caption,
                            const char *const *cols, size_t ncols)
{
    s_block_t *b = s_block(v, S_TABLE);
    if (!b)
        return NULL;
    web_table_t *t = calloc(1, sizeof *t);
    if (!t) {
        v->failed = 1;
        return NULL;
    }
    b->t = t;
    t->failed = &v->failed;
    t->ncols = ncols;
    t->name = s_dup(name, &v->failed);
    t->caption = s_dup(caption, &v->failed);
    t->cols = calloc(ncols ? ncols : 1, sizeof *t->cols);
    t->link_prefix = calloc(ncols ? ncols : 1, sizeof *t->link_prefix);
    t->link_suffix = calloc(ncols ? ncols : 1, sizeof *t->link_suffix);
    t->numeric = calloc(ncols ? ncols : 1, 1);
    if (!t->cols || !t->link_prefix || !t->link_suffix || !t->numeric) {
        v->failed = 1;
        t->ncols = 0;
        return t;
    }
    for (size_t c = 0; c < ncols; c++)
        t->cols[c] = s_dup(cols[c], &v->failed);
    return t;
}

void web_table_numeric(web_table_t *t, size_t col)
{
    if (t && col < t->ncols)
        t->numeric[col] = 1;
}

void web_table_link(web_table_t *t, size_t col, const char *prefix, const char *suffix)
{
    if (!t || col >= t->ncols)
        return;
    free(t->link_prefix[col]);
    free(t->link_suffix[col]);
    t->link_prefix[col] = s_dup(prefix ? prefix : "", t->failed);
    t->link_suffix[col] = s_dup(suffix ? suffix : "", t->failed);
}

void web_table_row(web_table_t *t, const char *const *cells)
{
    if (!t || *t->failed || t->ncols == 0)
        return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (!c) {
            *t->failed = 1;
            return;
        }
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++)
        row[c] = s_dup(cells[c] ? cells[c] : "", t->failed);
    t->nrows++;
}

void web_table_totals(web_table_t *t, const char *const *cells)
{
    if (!t || *t->failed || t->ncols == 0)
        return;
    if (!t->totals && !(t->totals = calloc(t->ncols, sizeof *t->totals))) {
        *t->failed = 1;
        return;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        free(t->totals[c]);
        t->totals[c] = s_dup(cells[c] ? cells[c] : "", t->failed);
    }
}

size_t web_table_rows(const web_table_t *t)
{
    return t ? t->nrows : 0;
}

/* ---- HTML ----------------------------------------------------------------- */

static void s_cell_html(web_buf_t *out, const web_table_t *t, size_t c, const char *cell,
                        const char *tag)
{
    web_buf_printf(out, "<%s%s>", tag, t->numeric[c] ? " class=\"num\"" : "");
    if (t->link_prefix[c] && cell[0]) {
        web_buf_str(out, "<a href=\"");
        web_buf_html(out, t->link_prefix[c]);
        web_buf_url(out, cell);
        web_buf_html(out, t->link_suffix[c]);
        web_buf_str(out, "\">");
        web_buf_html(out, cell);
        web_buf_str(out, "</a>");
    } else {
        web_buf_html(out, cell);
    }
    web_buf_printf(out, "</%s>", tag);
}

static void s_table_html(const web_table_t *t, web_buf_t *out)
{
    web_buf_str(out, "<div class=\"scroll\"><table class=\"data\" id=\"");
    web_buf_html(out, t->name);
    web_buf_str(out, "\">");
    if (t->caption && *t->caption) {
        web_buf_str(out, "<caption>");
        web_buf_html(out, t->caption);
        web_buf_printf(out, " <span class=\"count\">(%zu)</span></caption>", t->nrows);
    }
    web_buf_str(out, "<thead><tr>");
    for (size_t c = 0; c < t->ncols; c++) {
        web_buf_printf(out, "<th%s>", t->numeric[c] ? " class=\"num\"" : "");
        web_buf_html(out, t->cols[c]);
        web_buf_str(out, "</th>");
    }
    web_buf_str(out, "</tr></thead><tbody>\n");
    for (size_t r = 0; r < t->nrows; r++) {
        web_buf_str(out, "<tr>");
        for (size_t c = 0; c < t->ncols; c++)
            s_cell_html(out, t, c, t->cells[r * t->ncols + c], "td");
        web_buf_str(out, "</tr>\n");
    }
    if (t->nrows == 0)
        web_buf_printf(out, "<tr><td colspan=\"%zu\" class=\"empty\">nothing to show</td></tr>",
                       t->ncols ? t->ncols : 1);
    web_buf_str(out, "</tbody>");
    if (t->totals) {
        web_buf_str(out, "<tfoot><tr>");
        for (size_t c = 0; c < t->ncols; c++) {
            web_buf_printf(out, "<th%s>", t->numeric[c] ? " class=\"num\"" : "");
            web_buf_html(out, t->totals[c]);
            web_buf_str(out, "</th>");
        }
        web_buf_str(out, "</tr></tfoot>");
    }
    web_buf_str(out, "</table></div>\n");
}

void web_view_html(const web_view_t *v, web_buf_t *out)
{
    web_buf_str(out, "<h1>");
    web_buf_html(out, v->title);
    web_buf_str(out, "</h1>\n");
    int in_facts = 0, in_links = 0;
    for (size_t i = 0; i < v->n; i++) {
        const s_block_t *b = &v->blocks[i];
        if (in_facts && b->kind != S_FACT) {
            web_buf_str(out, "</dl>\n");
            in_facts = 0;
        }
        if (in_links && b->kind != S_LINK) {
            web_buf_str(out, "</ul>\n");
            in_links = 0;
        }
        switch (b->kind) {
        case S_FACT:
            if (!in_facts)
                web_buf_str(out, "<dl class=\"facts\">");
            in_facts = 1;
            web_buf_str(out, "<dt>");
            web_buf_html(out, b->a);
            web_buf_str(out, "</dt><dd>");
            web_buf_html(out, b->b);
            web_buf_str(out, "</dd>");
            break;
        case S_NOTE:
            web_buf_str(out, "<p class=\"note ");
            web_buf_html(out, b->a);
            web_buf_str(out, "\">");
            web_buf_html(out, b->b);
            web_buf_str(out, "</p>\n");
            break;
        case S_LINK:
            if (!in_links)
                web_buf_str(out, "<ul class=\"links\">");
            in_links = 1;
            web_buf_str(out, "<li><a href=\"");
            web_buf_html(out, b->a);
            web_buf_str(out, "\">");
            web_buf_html(out, b->b);
            web_buf_str(out, "</a></li>");
            break;
        case S_FORM:
            web_buf_str(out, b->a);
            break;
        case S_TABLE:
            s_table_html(b->t, out);
            break;
        }
    }
    if (in_facts)
        web_buf_str(out, "</dl>\n");
    if (in_links)
        web_buf_str(out, "</ul>\n");
}

/* ---- JSON ----------------------------------------------------------------- */

static void s_obj(web_buf_t *out, char *const *cols, char *const *cells, size_t n)
{
    web_buf_str(out, "{");
    for (size_t c = 0; c < n; c++) {
        if (c)
            web_buf_str(out, ",");
        web_buf_json(out, cols[c]);
        web_buf_str(out, ":");
        web_buf_json(out, cells[c]);
    }
    web_buf_str(out, "}");
}

void web_view_json(const web_view_t *v, web_buf_t *out)
{
    web_buf_str(out, "{\"title\":");
    web_buf_json(out, v->title);
    const s_kind_t kinds[] = {S_FACT, S_NOTE, S_TABLE, S_LINK};
    const char *names[] = {"facts", "notes", "tables", "links"};
    for (size_t k = 0; k < 4; k++) {
        int object = kinds[k] == S_FACT || kinds[k] == S_TABLE;
        web_buf_printf(out, ",\"%s\":%s", names[k], object ? "{" : "[");
        int first = 1;
        for (size_t i = 0; i < v->n; i++) {
            const s_block_t *b = &v->blocks[i];
            if (b->kind != kinds[k])
                continue;
            if (!first)
                web_buf_str(out, ",");
            first = 0;
            if (b->kind == S_FACT) {
                web_buf_json(out, b->a);
                web_buf_str(out, ":");
                web_buf_json(out, b->b);
            } else if (b->kind == S_NOTE) {
                web_buf_str(out, "{\"kind\":");
                web_buf_json(out, b->a);
                web_buf_str(out, ",\"text\":");
                web_buf_json(out, b->b);
                web_buf_str(out, "}");
            } else if (b->kind == S_LINK) {
                web_buf_str(out, "{\"href\":");
                web_buf_json(out, b->a);
                web_buf_str(out, ",\"text\":");
                web_buf_json(out, b->b);
                web_buf_str(out, "}");
            } else {
                const web_table_t *t = b->t;
                web_buf_json(out, t->name);
                web_buf_str(out, ":{\"columns\":[");
                for (size_t c = 0; c < t->ncols; c++) {
                    if (c)
                        web_buf_str(out, ",");
                    web_buf_json(out, t->cols[c]);
                }
                web_buf_str(out, "],\"rows\":[");
                for (size_t r = 0; r < t->nrows; r++) {
                    if (r)
                        web_buf_str(out, ",");
                    s_obj(out, t->cols, t->cells + r * t->ncols, t->ncols);
                }
                web_buf_str(out, "]");
                if (t->totals) {
                    web_buf_str(out, ",\"totals\":");
                    s_obj(out, t->cols, t->totals, t->ncols);
                }
                web_buf_str(out, "}");
            }
        }
        web_buf_str(out, object ? "}" : "]");
    }
    web_buf_str(out, "}\n");
}

/* ---- forms ------------------------------------------------------------------ */

void web_form_begin(web_buf_t *b, const char *method, const char *action, const char *csrf)
{
    web_buf_str(b, "<form class=\"query\" method=\"");
    web_buf_html(b, method);
    web_buf_str(b, "\" action=\"");
    web_buf_html(b, action);
    web_buf_str(b, "\">");
    if (csrf)
        web_form_hidden(b, "csrf", csrf);
}

void web_form_input(web_buf_t *b, const char *type, const char *name, const char *label,
                    const char *value, const char *placeholder)
{
    web_buf_str(b, "<label>");
    web_buf_html(b, label);
    web_buf_str(b, " <input type=\"");
    web_buf_html(b, type);
    web_buf_str(b, "\" name=\"");
    web_buf_html(b, name);
    web_buf_str(b, "\" value=\"");
    web_buf_html(b, value ? value : "");
    web_buf_str(b, "\"");
    if (placeholder) {
        web_buf_str(b, " placeholder=\"");
        web_buf_html(b, placeholder);
        web_buf_str(b, "\"");
    }
    web_buf_str(b, "></label> ");
}

void web_form_hidden(web_buf_t *b, const char *name, const char *value)
{
    web_buf_str(b, "<input type=\"hidden\" name=\"");
    web_buf_html(b, name);
    web_buf_str(b, "\" value=\"");
    web_buf_html(b, value ? value : "");
    web_buf_str(b, "\">");
}

void web_form_select(web_buf_t *b, const char *name, const char *label,
                     const char *const *options, size_t n, const char *selected)
{
    web_buf_str(b, "<label>");
    web_buf_html(b, label);
    web_buf_str(b, " <select name=\"");
    web_buf_html(b, name);
    web_buf_str(b, "\">");
    for (size_t i = 0; i < n; i++) {
        web_buf_str(b, "<option value=\"");
        web_buf_html(b, options[i]);
        web_buf_str(b, "\"");
        if (selected && strcmp(selected, options[i]) == 0)
            web_buf_str(b, " selected");
        web_buf_str(b, ">");
        web_buf_html(b, options[i][0] ? options[i] : "(any)");
        web_buf_str(b, "</option>");
    }
    web_buf_str(b, "</select></label> ");
}

void web_form_submit(web_buf_t *b, const char *label, const char *cls)
{
    web_buf_str(b, "<button type=\"submit\"");
    if (cls) {
        web_buf_str(b, " class=\"");
        web_buf_html(b, cls);
        web_buf_str(b, "\"");
    }
    web_buf_str(b, ">");
    web_buf_html(b, label);
    web_buf_str(b, "</button>");
}

void web_form_end(web_buf_t *b)
{
    web_buf_str(b, "</form>\n");
}
