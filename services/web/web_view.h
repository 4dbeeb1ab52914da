/* web_view: what a page shows, independent of how it is sent: a title,
 * facts (label: value), notes (info, warning, error), tables (named
 * columns, rows, an optional totals row, cells that link), links
 * (downloads), and forms. The same view renders as the HTML body of the
 * page and as the JSON of its /api twin, so both always carry the same
 * data.
 *
 * Escaping happens here and only here: every title, fact, note, cell,
 * column name and link text is escaped by the renderer for where it goes
 * (HTML text, attribute, JSON string, URL). The one exception is a form,
 * which is HTML that the page builds with the web_form_* helpers below,
 * which escape every value they are given; forms appear in HTML only.
 *
 * Ownership: the view copies every string it is given and owns its
 * tables; web_view_destroy frees everything. A table pointer is valid
 * until then. Allocation failures mark the view failed (web_view_ok). */
#ifndef PAY_WEB_VIEW_H
#define PAY_WEB_VIEW_H

#include <stddef.h>

#include "web_buf.h"

typedef struct web_view_t web_view_t;
typedef struct web_table_t web_table_t;

web_view_t *web_view_new(const char *title);
void web_view_destroy(web_view_t **self_p);
int web_view_ok(const web_view_t *v);
const char *web_view_title(const web_view_t *v);

void web_view_fact(web_view_t *v, const char *label, const char *value);
/* kind: "info", "warn" or "error". */
void web_view_note(web_view_t *v, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A link (a download, another page); href is built by the page from
 * escaped parts (web_buf_url), text is escaped here. */
void web_view_link(web_view_t *v, const char *href, const char *text);
/* A form (HTML only), built with the web_form_* helpers. */
void web_view_form(web_view_t *v, const char *html);

/* A table named `name` (the JSON key, the HTML id) with a caption. */
web_table_t *web_view_table(web_view_t *v, const char *name, const char *caption,
                            const char *const *cols, size_t ncols);
void web_table_numeric(web_table_t *t, size_t col);
/* Cells of column `col` link to prefix + the cell URL-encoded + suffix. */
void web_table_link(web_table_t *t, size_t col, const char *prefix, const char *suffix);
void web_table_row(web_table_t *t, const char *const *cells);
void web_table_totals(web_table_t *t, const char *const *cells);
size_t web_table_rows(const web_table_t *t);

/* The body of the page (inside <main>), HTML. */
void web_view_html(const web_view_t *v, web_buf_t *out);
/* {"title":..., "facts":{...}, "notes":[...], "tables":{name:{"columns":
 * [...], "rows":[{...}], "totals":{...}}}, "links":[...]} */
void web_view_json(const web_view_t *v, web_buf_t *out);

/* ---- forms (escaping every value) --------------------------------------- */

/* method "get" or "post"; csrf: the session's token, for a post. */
void web_form_begin(web_buf_t *b, const char *method, const char *action, const char *csrf);
void web_form_input(web_buf_t *b, const char *type, const char *name, const char *label,
                    const char *value, const char *placeholder);
void web_form_hidden(web_buf_t *b, const char *name, const char *value);
void web_form_select(web_buf_t *b, const char *name, const char *label,
                     const char *const *options, size_t n, const char *selected);
void web_form_submit(web_buf_t *b, const char *label, const char *cls);
void web_form_end(web_buf_t *b);

#endif
