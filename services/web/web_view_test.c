/* web_view_test: a view renders the same data as HTML and JSON, with
 * every value escaped for where it goes. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "web_view.h"

int main(void)
{
    web_view_t *v = web_view_new("Statement <b>");
    TAP_OK(v != NULL, "a view");
    web_view_fact(v, "employer", "Evil <script>alert(1)</script> Ltd");
    web_view_note(v, "error", "refused: %s", "a \"quoted\" & <tag>");
    static const char *const cols[] = {"number", "total"};
    web_table_t *t = web_view_table(v, "docs", "Documents", cols, 2);
    web_table_numeric(t, 1);
    web_table_link(t, 0, "/documents/", ".pdf");
    const char *r1[] = {"INV-000001", "12.50"};
    const char *r2[] = {"x\"><script>", "1.00"};
    web_table_row(t, r1);
    web_table_row(t, r2);
    const char *tot[] = {"TOTAL", "13.50"};
    web_table_totals(t, tot);
    web_view_link(v, "/a?x=1&y=2", "Download <CSV>");
    TAP_EQ_INT((int)web_table_rows(t), 2, "two rows");
    TAP_OK(web_view_ok(v), "no allocation failed");

    web_buf_t h;
    web_buf_init(&h, 0);
    web_view_html(v, &h);
    TAP_OK(h.data && !strstr(h.data, "<script>"), "html: no <script> survives anywhere");
    TAP_OK(strstr(h.data, "<h1>Statement &lt;b&gt;</h1>") != NULL, "html: the title escaped");
    TAP_OK(strstr(h.data, "Evil &lt;script&gt;alert(1)&lt;/script&gt; Ltd") != NULL,
           "html: a fact escaped");
    TAP_OK(strstr(h.data, "a &quot;quoted&quot; &amp; &lt;tag&gt;") != NULL, "html: a note escaped");
    TAP_OK(strstr(h.data, "<a href=\"/documents/INV-000001.pdf\">INV-000001</a>") != NULL,
           "html: a link cell");
    TAP_OK(strstr(h.data, "href=\"/documents/x%22%3E%3Cscript%3E.pdf\">x&quot;&gt;&lt;script&gt;</a>")
               != NULL,
           "html: a hostile cell is URL-encoded in the link and escaped in the text");
    TAP_OK(strstr(h.data, "<td class=\"num\">12.50</td>") != NULL, "html: numeric cells");
    TAP_OK(strstr(h.data, "<tfoot><tr><th>TOTAL</th><th class=\"num\">13.50</th>") != NULL,
           "html: the totals row");
    TAP_OK(strstr(h.data, "href=\"/a?x=1&amp;y=2\">Download &lt;CSV&gt;") != NULL,
           "html: a link's href and text escaped");
    web_buf_release(&h);

    web_buf_t j;
    web_buf_init(&j, 0);
    web_view_json(v, &j);
    TAP_OK(j.data && !strchr(j.data, '<'), "json: no raw < at all");
    TAP_OK(strstr(j.data, "\"facts\":{\"employer\":\"Evil \\u003cscript\\u003ealert(1)"
                          "\\u003c/script\\u003e Ltd\"}") != NULL,
           "json: the fact");
    TAP_OK(strstr(j.data, "\"rows\":[{\"number\":\"INV-000001\",\"total\":\"12.50\"},") != NULL,
           "json: rows as objects keyed by column");
    TAP_OK(strstr(j.data, "\"totals\":{\"number\":\"TOTAL\",\"total\":\"13.50\"}") != NULL,
           "json: the totals");
    TAP_OK(strstr(j.data, "\"notes\":[{\"kind\":\"error\"") != NULL, "json: the note");
    web_buf_release(&j);

    web_buf_t f;
    web_buf_init(&f, 0);
    web_form_begin(&f, "post", "/actions/issue", "tok\"en");
    web_form_input(&f, "text", "employer", "Employer", "\"><script>x", NULL);
    static const char *const opts[] = {"", "PAID"};
    web_form_select(&f, "status", "Status", opts, 2, "PAID");
    web_form_end(&f);
    TAP_OK(!strstr(f.data, "<script>"), "form: values escaped");
    TAP_OK(strstr(f.data, "name=\"csrf\" value=\"tok&quot;en\"") != NULL, "form: the CSRF field");
    TAP_OK(strstr(f.data, "<option value=\"PAID\" selected>PAID</option>") != NULL,
           "form: the selected option");
    web_buf_release(&f);
    web_view_form(v, "<form></form>");
    web_view_destroy(&v);
    TAP_OK(v == NULL, "destroy NULLs the pointer");
    return tap_done();
}
