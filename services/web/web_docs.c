/* web_docs: invoices and credit notes (list, one document with its
 * downloads), overdue invoices and statements of account. See
 * web_pages.h.
 *
 * Both roles use these pages. An employer's key makes the invoicing
 * service answer with that employer's documents only (and NOT_FOUND for
 * any other), so a page never filters by employer for safety, only for
 * convenience. The pages show documents, amounts and dates: nothing here
 * carries pay rates, wages or prisoner numbers.
 *
 * The invoicing API has no statement-of-account request yet: the
 * statement page is composed from the document list (each document's
 * total, paid and outstanding amounts), which gives balances but not the
 * dates of individual payments. */
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "money.h"
#include "web_pages.h"

static const char *s_status_name(const Pay__DocumentInfo *i)
{
    if (!i->has_status)
        return "";
    switch (i->status) {
    case PAY__PAYMENT_STATUS__ISSUED: return "ISSUED";
    case PAY__PAYMENT_STATUS__PART_PAID: return "PART_PAID";
    case PAY__PAYMENT_STATUS__PAID: return "PAID";
    case PAY__PAYMENT_STATUS__CREDIT: return "CREDIT";
    default: return "?";
    }
}

static const char *const s_doc_cols[] = {
    "number", "kind", "employer", "period", "issue_date", "tax_point", "due_date",
    "net", "vat", "total", "paid", "outstanding", "status"};
#define S_NCOLS (sizeof s_doc_cols / sizeof *s_doc_cols)

typedef struct {
    char net[MONEY_TEXT_LEN], vat[MONEY_TEXT_LEN], total[MONEY_TEXT_LEN];
    char paid[MONEY_TEXT_LEN], outstanding[MONEY_TEXT_LEN];
    const char *cells[S_NCOLS];
} s_doc_row_t;

static const Pay__DocumentSummary s_empty = PAY__DOCUMENT_SUMMARY__INIT;

static void s_doc_row(const Pay__DocumentInfo *i, s_doc_row_t *x)
{
    const Pay__DocumentSummary *s = i->summary ? i->summary : &s_empty;
    money_format(s->net_pence, x->net);
    money_format(s->vat_pence, x->vat);
    money_format(s->total_pence, x->total);
    money_format(i->paid_pence, x->paid);
    money_format(i->outstanding_pence, x->outstanding);
    const char *cells[S_NCOLS] = {s->number, i->credit_note ? "credit note" : "invoice",
                                  s->employer, s->period, s->issue_date, s->tax_point,
                                  s->due_date, x->net, x->vat, x->total, x->paid,
                                  x->outstanding, s_status_name(i)};
    memcpy(x->cells, cells, sizeof cells);
}

static web_table_t *s_doc_table(web_view_t *v, const char *name, const char *caption)
{
    web_table_t *t = web_view_table(v, name, caption, s_doc_cols, S_NCOLS);
    for (size_t c = 7; c <= 11; c++)
        web_table_numeric(t, c);
    web_table_link(t, 0, "/documents/", "");
    return t;
}

/* ListDocuments for `employer` (NULL: all that the key may see). */
static Pay__InvoicingReply *s_list(web_req_t *r, const char *employer)
{
    Pay__ListDocuments l = PAY__LIST_DOCUMENTS__INIT;
    Pay__InvoicingRequest q = PAY__INVOICING_REQUEST__INIT;
    l.employer = (char *)employer;
    q.body_case = PAY__INVOICING_REQUEST__BODY_LIST;
    q.list = &l;
    return web_ask_invoicing(r, &q);
}

typedef struct {
    const char *employer, *period, *status, *kind;
} s_filter_t;

static int s_filter_ok(const s_filter_t *f, const Pay__DocumentInfo *i)
{
    const Pay__DocumentSummary *s = i->summary ? i->summary : &s_empty;
    if (f->employer && (!s->employer || strcmp(f->employer, s->employer) != 0))
        return 0;
    if (f->period && (!s->period || strcmp(f->period, s->period) != 0))
        return 0;
    if (f->status && strcmp(f->status, s_status_name(i)) != 0)
        return 0;
    if (f->kind && strcmp(f->kind, i->credit_note ? "credit" : "invoice") != 0)
        return 0;
    return 1;
}

static int s_read_filter(web_req_t *r, s_filter_t *f)
{
    memset(f, 0, sizeof *f);
    /* An employer sees its own documents whatever it asks for. */
    f->employer = r->session.who.role == ROLE_FINANCE ? web_arg(r, "employer") : NULL;
    f->period = web_arg(r, "period");
    f->status = web_arg(r, "status");
    f->kind = web_arg(r, "kind");
    return web_failed(r) ? -1 : 0;
}

int web_page_invoices(web_req_t *r)
{
    s_filter_t f;
    if (s_read_filter(r, &f) != 0)
        return 0;
    Pay__InvoicingReply *rep = s_list(r, f.employer);
    if (!rep)
        return web_fail_calls(r);
    web_view_t *v = web_page(r, r->session.who.role == ROLE_FINANCE
                                    ? "Invoices and credit notes"
                                    : "Your invoices and credit notes");
    if (!v) {
        web_reply_free(rep);
        return 0;
    }
    if (!r->match.api) {
        web_buf_t b;
        web_buf_init(&b, 0);
        web_form_begin(&b, "get", "/invoices", NULL);
        if (r->session.who.role == ROLE_FINANCE)
            web_form_input(&b, "text", "employer", "Employer", f.employer, "dhl");
        web_form_input(&b, "text", "period", "Period", f.period, "2026-W46 or 2026-11");
        static const char *const statuses[] = {"", "ISSUED", "PART_PAID", "PAID", "CREDIT"};
        web_form_select(&b, "status", "Status", statuses, 5, f.status);
        static const char *const kinds[] = {"", "invoice", "credit"};
        web_form_select(&b, "kind", "Kind", kinds, 3, f.kind);
        web_form_submit(&b, "Filter", NULL);
        web_form_end(&b);
        web_view_form(v, b.data);
        web_buf_release(&b);
    }
    web_table_t *t = s_doc_table(v, "documents", "Documents");
    size_t n = rep->documents ? rep->documents->n_documents : 0;
    int64_t total = 0, outstanding = 0;
    for (size_t i = 0; i < n; i++) {
        const Pay__DocumentInfo *d = rep->documents->documents[i];
        if (!s_filter_ok(&f, d))
            continue;
        s_doc_row_t x;
        s_doc_row(d, &x);
        web_table_row(t, x.cells);
        total += d->summary ? (d->credit_note ? -d->summary->total_pence : d->summary->total_pence)
                            : 0;
        outstanding += d->outstanding_pence;
    }
    web_reply_free(rep);
    char a[MONEY_TEXT_LEN], b[MONEY_TEXT_LEN];
    money_format(total, a);
    money_format(outstanding, b);
    web_view_fact(v, "invoiced less credited", a);
    web_view_fact(v, "outstanding", b);
    web_buf_t href;
    web_buf_init(&href, 0);
    web_buf_str(&href, "/invoices.csv?");
    web_query(&href, "employer", f.employer, "period", f.period, "status", f.status, "kind",
              f.kind, NULL);
    web_view_link(v, href.data, "Download this list as CSV");
    web_buf_release(&href);
    return 0;
}

int web_page_invoices_csv(web_req_t *r)
{
    s_filter_t f;
    if (s_read_filter(r, &f) != 0)
        return 0;
    Pay__InvoicingReply *rep = s_list(r, f.employer);
    if (!rep)
        return web_fail_calls(r);
    web_buf_t csv;
    web_buf_init(&csv, 0);
    for (size_t c = 0; c < S_NCOLS; c++) {
        web_buf_str(&csv, c ? "," : "");
        web_buf_csv(&csv, s_doc_cols[c]);
    }
    web_buf_str(&csv, "\n");
    size_t n = rep->documents ? rep->documents->n_documents : 0;
    for (size_t i = 0; i < n; i++) {
        const Pay__DocumentInfo *d = rep->documents->documents[i];
        if (!s_filter_ok(&f, d))
            continue;
        s_doc_row_t x;
        s_doc_row(d, &x);
        for (size_t c = 0; c < S_NCOLS; c++) {
            web_buf_str(&csv, c ? "," : "");
            web_buf_csv(&csv, x.cells[c]);
        }
        web_buf_str(&csv, "\n");
    }
    web_reply_free(rep);
    size_t len;
    char *data = web_buf_take(&csv, &len);
    if (!data)
        return web_fail(r, 500, "out of memory");
    web_download(r, "text/csv; charset=utf-8", "documents.csv", data, len);
    return 0;
}

/* ---- one document ------------------------------------------------------------------ */

static Pay__InvoicingReply *s_get(web_req_t *r, const char *number, Pay__DocumentFormat fmt)
{
    Pay__GetDocument g = PAY__GET_DOCUMENT__INIT;
    Pay__InvoicingRequest q = PAY__INVOICING_REQUEST__INIT;
    g.number = (char *)number;
    if (fmt != PAY__DOCUMENT_FORMAT__FORMAT_UNSPECIFIED) {
        g.has_format = 1;
        g.format = fmt;
    }
    q.body_case = PAY__INVOICING_REQUEST__BODY_GET;
    q.get = &g;
    Pay__InvoicingReply *rep = web_ask_invoicing(r, &q);
    if (rep && (!rep->document || !rep->document->info ||
                (fmt != PAY__DOCUMENT_FORMAT__FORMAT_UNSPECIFIED && !rep->document->has_content))) {
        web_reply_free(rep);
        r->calls.status = 502;
        snprintf(r->calls.error, sizeof r->calls.error, "the invoicing service sent no "
                 "document %s", number);
        return NULL;
    }
    return rep;
}

/* The text of an XPath expression over the UBL document, or "". */
static void s_xpath(xmlXPathContextPtr ctx, const char *expr, char *out, size_t outlen)
{
    out[0] = '\0';
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    if (o && o->type == XPATH_STRING && o->stringval)
        snprintf(out, outlen, "%s", (const char *)o->stringval);
    xmlXPathFreeObject(o);
}

/* The supplier and customer as the document's UBL names them. */
static void s_parties(web_req_t *r, web_view_t *v, const char *number, char *customer_name,
                      size_t cn_len)
{
    Pay__InvoicingReply *rep = s_get(r, number, PAY__DOCUMENT_FORMAT__UBL);
    if (!rep) {
        web_view_note(v, "warn", "the parties are not shown: %s", r->calls.error);
        r->calls.status = 0;
        return;
    }
    const ProtobufCBinaryData *c = &rep->document->content;
    xmlDocPtr doc = c->len < (1u << 24)
                        ? xmlReadMemory((const char *)c->data, (int)c->len, "document.xml", "UTF-8",
                                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                        : NULL;
    xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
    if (ctx) {
        xmlXPathRegisterNs(ctx, (const xmlChar *)"cac",
                           (const xmlChar *)"urn:oasis:names:specification:ubl:schema:xsd:"
                                            "CommonAggregateComponents-2");
        xmlXPathRegisterNs(ctx, (const xmlChar *)"cbc",
                           (const xmlChar *)"urn:oasis:names:specification:ubl:schema:xsd:"
                                            "CommonBasicComponents-2");
        static const struct {
            const char *label, *path;
        } parties[] = {{"supplier", "cac:AccountingSupplierParty"},
                       {"customer", "cac:AccountingCustomerParty"}};
        for (size_t i = 0; i < 2; i++) {
            char expr[256], name[256], street[256], postcode[64], vat[64], email[128];
            snprintf(expr, sizeof expr,
                     "string(/*/%s/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName)",
                     parties[i].path);
            s_xpath(ctx, expr, name, sizeof name);
            if (!name[0]) {
                snprintf(expr, sizeof expr, "string(/*/%s/cac:Party/cac:PartyName/cbc:Name)",
                         parties[i].path);
                s_xpath(ctx, expr, name, sizeof name);
            }
            snprintf(expr, sizeof expr,
                     "string(/*/%s/cac:Party/cac:PostalAddress/cbc:StreetName)", parties[i].path);
            s_xpath(ctx, expr, street, sizeof street);
            snprintf(expr, sizeof expr,
                     "string(/*/%s/cac:Party/cac:PostalAddress/cbc:PostalZone)", parties[i].path);
            s_xpath(ctx, expr, postcode, sizeof postcode);
            snprintf(expr, sizeof expr,
                     "string(/*/%s/cac:Party/cac:PartyTaxScheme/cbc:CompanyID)", parties[i].path);
            s_xpath(ctx, expr, vat, sizeof vat);
            snprintf(expr, sizeof expr,
                     "string(/*/%s/cac:Party/cac:Contact/cbc:ElectronicMail)", parties[i].path);
            s_xpath(ctx, expr, email, sizeof email);
            char label[64], text[900];
            snprintf(label, sizeof label, "%s", parties[i].label);
            snprintf(text, sizeof text, "%s%s%s%s%s%s%s%s%s", name, street[0] ? ", " : "",
                     street, postcode[0] ? ", " : "", postcode, vat[0] ? "; VAT " : "", vat,
                     email[0] ? "; " : "", email);
            web_view_fact(v, label, text);
            if (i == 1 && customer_name)
                snprintf(customer_name, cn_len, "%s", name);
        }
    } else {
        web_view_note(v, "warn", "the document's UBL did not parse; parties not shown");
    }
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    web_reply_free(rep);
}

/* Parses CSV text into a new table of `v` whose columns are its header. */
static void s_csv_table(web_view_t *v, const char *name, const char *caption, const char *text,
                        size_t len)
{
    enum { MAXC = 32 };
    char *cells[MAXC];
    const char *cols[MAXC];
    size_t ncols = 0, n = 0;
    web_table_t *t = NULL;
    web_buf_t cell[MAXC];
    for (size_t i = 0; i < MAXC; i++)
        web_buf_init(&cell[i], 1 << 16);
    size_t i = 0;
    while (i < len) {
        /* One record. */
        n = 0;
        int end = 0;
        while (!end && n < MAXC) {
            web_buf_t *b = &cell[n];
            b->len = 0;
            if (b->data)
                b->data[0] = '\0';
            if (i < len && text[i] == '"') {
                i++;
                while (i < len) {
                    if (text[i] == '"' && i + 1 < len && text[i + 1] == '"') {
                        web_buf_add(b, "\"", 1);
                        i += 2;
                    } else if (text[i] == '"') {
                        i++;
                        break;
                    } else {
                        web_buf_add(b, &text[i++], 1);
                    }
                }
            }
            while (i < len && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
                web_buf_add(b, &text[i++], 1);
            n++;
            if (i >= len) {
                end = 1;
            } else if (text[i] == ',') {
                i++;
            } else {
                if (text[i] == '\r')
                    i++;
                if (i < len && text[i] == '\n')
                    i++;
                end = 1;
            }
        }
        for (size_t c = 0; c < n; c++)
            cells[c] = cell[c].data ? cell[c].data : "";
        if (!t) {
            ncols = n;
            for (size_t c = 0; c < n; c++)
                cols[c] = cells[c];
            t = web_view_table(v, name, caption, cols, ncols);
            continue;
        }
        if (n == 1 && !cells[0][0])
            continue;
        const char *row[MAXC];
        for (size_t c = 0; c < ncols; c++)
            row[c] = c < n ? cells[c] : "";
        web_table_row(t, row);
    }
    for (size_t c = 0; c < MAXC; c++)
        web_buf_release(&cell[c]);
}

int web_page_document(web_req_t *r)
{
    char number[WEB_PARAM_LEN];
    snprintf(number, sizeof number, "%s", r->match.param);
    Pay__DocumentFormat fmt = PAY__DOCUMENT_FORMAT__FORMAT_UNSPECIFIED;
    const char *ext = "", *type = "";
    size_t n = strlen(number);
    static const struct {
        const char *ext, *type;
        Pay__DocumentFormat fmt;
    } fmts[] = {{".pdf", "application/pdf", PAY__DOCUMENT_FORMAT__PDF},
                {".csv", "text/csv; charset=utf-8", PAY__DOCUMENT_FORMAT__CSV},
                {".xml", "application/xml", PAY__DOCUMENT_FORMAT__UBL}};
    for (size_t i = 0; i < 3; i++)
        if (n > 4 && strcmp(number + n - 4, fmts[i].ext) == 0) {
            fmt = fmts[i].fmt;
            ext = fmts[i].ext;
            type = fmts[i].type;
            number[n - 4] = '\0';
        }
    if (fmt != PAY__DOCUMENT_FORMAT__FORMAT_UNSPECIFIED && r->match.api)
        return web_fail(r, 404, "downloads are under /documents/, not /api");
    Pay__InvoicingReply *rep = s_get(r, number, fmt);
    if (!rep)
        return web_fail_calls(r);
    if (fmt != PAY__DOCUMENT_FORMAT__FORMAT_UNSPECIFIED) {
        const ProtobufCBinaryData *c = &rep->document->content;
        char *data = malloc(c->len ? c->len : 1);
        if (!data) {
            web_reply_free(rep);
            return web_fail(r, 500, "out of memory");
        }
        memcpy(data, c->data, c->len);
        char fname[WEB_PARAM_LEN + 8];
        snprintf(fname, sizeof fname, "%s%s", number, ext);
        web_download(r, type, fname, data, c->len);
        web_reply_free(rep);
        return 0;
    }
    const Pay__DocumentInfo *info = rep->document->info;
    web_view_t *v = web_page(r, info->credit_note ? "Credit note" : "Invoice");
    if (!v) {
        web_reply_free(rep);
        return 0;
    }
    s_doc_row_t x;
    s_doc_row(info, &x);
    for (size_t c = 0; c < S_NCOLS; c++)
        web_view_fact(v, s_doc_cols[c], x.cells[c]);
    web_reply_free(rep);
    s_parties(r, v, number, NULL, 0);
    static const struct {
        const char *ext, *text;
    } links[] = {{".pdf", "Download PDF"}, {".csv", "Download CSV (invoice lines)"},
                 {".xml", "Download UBL 2.1 (Peppol BIS 3.0)"}};
    for (size_t i = 0; i < 3; i++) {
        web_buf_t href;
        web_buf_init(&href, 0);
        web_buf_str(&href, "/documents/");
        web_buf_url(&href, number);
        web_buf_str(&href, links[i].ext);
        web_view_link(v, href.data, links[i].text);
        web_buf_release(&href);
    }
    Pay__InvoicingReply *lines = s_get(r, number, PAY__DOCUMENT_FORMAT__CSV);
    if (lines) {
        s_csv_table(v, "lines", "Lines", (const char *)lines->document->content.data,
                    lines->document->content.len);
        web_reply_free(lines);
    } else {
        web_view_note(v, "warn", "the lines are not shown: %s", r->calls.error);
        r->calls.status = 0;
    }
    return 0;
}

/* ---- overdue --------------------------------------------------------------------- */

int web_page_overdue(web_req_t *r)
{
    const char *as_of = web_arg(r, "as_of");
    if (web_failed(r))
        return 0;
    Pay__Overdue o = PAY__OVERDUE__INIT;
    Pay__InvoicingRequest q = PAY__INVOICING_REQUEST__INIT;
    o.as_of = (char *)as_of;
    q.body_case = PAY__INVOICING_REQUEST__BODY_OVERDUE;
    q.overdue = &o;
    Pay__InvoicingReply *rep = web_ask_invoicing(r, &q);
    if (!rep)
        return web_fail_calls(r);
    web_view_t *v = web_page(r, "Overdue invoices");
    if (!v) {
        web_reply_free(rep);
        return 0;
    }
    if (!r->match.api) {
        web_buf_t b;
        web_buf_init(&b, 0);
        web_form_begin(&b, "get", "/overdue", NULL);
        web_form_input(&b, "date", "as_of", "Due before", as_of, NULL);
        web_form_submit(&b, "Show", NULL);
        web_form_end(&b);
        web_view_form(v, b.data);
        web_buf_release(&b);
    }
    char today[11];
    web_today(today);
    web_view_fact(v, "as of", as_of ? as_of : today);
    web_table_t *t = s_doc_table(v, "overdue", "Unpaid past their due date");
    int64_t sum = 0;
    for (size_t i = 0; rep->documents && i < rep->documents->n_documents; i++) {
        s_doc_row_t x;
        s_doc_row(rep->documents->documents[i], &x);
        web_table_row(t, x.cells);
        sum += rep->documents->documents[i]->outstanding_pence;
    }
    web_reply_free(rep);
    char s[MONEY_TEXT_LEN];
    money_format(sum, s);
    web_view_fact(v, "overdue outstanding", s);
    return 0;
}

/* ---- statements of account --------------------------------------------------------- */

typedef struct {
    char employer[48];
    size_t docs;
    int64_t invoiced, credited, paid, outstanding, overdue;
} s_account_t;

static void s_account_add(s_account_t *a, const Pay__DocumentInfo *d, int32_t today)
{
    const Pay__DocumentSummary *s = d->summary ? d->summary : &s_empty;
    a->docs++;
    if (d->credit_note)
        a->credited += s->total_pence;
    else
        a->invoiced += s->total_pence;
    a->paid += d->paid_pence;
    a->outstanding += d->outstanding_pence;
    int32_t due;
    if (!d->credit_note && s->due_date && civil_parse_date(s->due_date, &due) == 0 &&
        due < today)
        a->overdue += d->outstanding_pence;
}

int web_page_statement(web_req_t *r)
{
    const char *employer = r->session.who.role == ROLE_FINANCE ? web_arg(r, "employer")
                                                                : r->session.who.scope;
    if (web_failed(r))
        return 0;
    Pay__InvoicingReply *rep = s_list(r, employer);
    if (!rep)
        return web_fail_calls(r);
    web_view_t *v = web_page(r, employer ? "Statement of account" : "Statements of account");
    if (!v) {
        web_reply_free(rep);
        return 0;
    }
    char today_s[11];
    web_today(today_s);
    int32_t today = 0;
    civil_parse_date(today_s, &today);
    size_t n = rep->documents ? rep->documents->n_documents : 0;
    if (!employer) {
        /* Finance without an employer: every employer's balance. */
        if (!r->match.api) {
            web_buf_t b;
            web_buf_init(&b, 0);
            web_form_begin(&b, "get", "/statement", NULL);
            web_form_input(&b, "text", "employer", "Employer", NULL, "dhl");
            web_form_submit(&b, "Show statement", NULL);
            web_form_end(&b);
            web_view_form(v, b.data);
            web_buf_release(&b);
        }
        s_account_t *acc = calloc(n ? n : 1, sizeof *acc);
        size_t na = 0;
        for (size_t i = 0; acc && i < n; i++) {
            const Pay__DocumentInfo *d = rep->documents->documents[i];
            const char *e = d->summary && d->summary->employer ? d->summary->employer : "";
            size_t k = 0;
            while (k < na && strcmp(acc[k].employer, e) != 0)
                k++;
            if (k == na)
                snprintf(acc[na++].employer, sizeof acc->employer, "%s", e);
            s_account_add(&acc[k], d, today);
        }
        static const char *const cols[] = {"employer", "documents", "invoiced", "credited",
                                           "paid", "outstanding", "overdue"};
        web_table_t *t = web_view_table(v, "accounts", "Balances by employer", cols, 7);
        for (size_t c = 1; c < 7; c++)
            web_table_numeric(t, c);
        web_table_link(t, 0, "/statement?employer=", "");
        for (size_t k = 0; k < na; k++) {
            char d[16], a[MONEY_TEXT_LEN], b[MONEY_TEXT_LEN], c[MONEY_TEXT_LEN],
                o[MONEY_TEXT_LEN], ov[MONEY_TEXT_LEN];
            snprintf(d, sizeof d, "%zu", acc[k].docs);
            money_format(acc[k].invoiced, a);
            money_format(acc[k].credited, b);
            money_format(acc[k].paid, c);
            money_format(acc[k].outstanding, o);
            money_format(acc[k].overdue, ov);
            const char *row[] = {acc[k].employer, d, a, b, c, o, ov};
            web_table_row(t, row);
        }
        free(acc);
        web_reply_free(rep);
        return 0;
    }
    s_account_t a;
    memset(&a, 0, sizeof a);
    snprintf(a.employer, sizeof a.employer, "%s", employer);
    static const char *const cols[] = {"date", "document", "kind", "period", "due_date",
                                       "charge", "credit", "paid", "outstanding", "balance"};
    web_table_t *t = web_view_table(v, "statement", "Documents, oldest first", cols, 10);
    for (size_t c = 5; c < 10; c++)
        web_table_numeric(t, c);
    web_table_link(t, 1, "/documents/", "");
    int64_t balance = 0;
    const char *latest = NULL;
    for (size_t i = 0; i < n; i++) {
        const Pay__DocumentInfo *d = rep->documents->documents[i];
        const Pay__DocumentSummary *s = d->summary ? d->summary : &s_empty;
        if (s->employer && strcmp(s->employer, employer) != 0)
            continue;
        s_account_add(&a, d, today);
        balance += d->credit_note ? -s->total_pence : s->total_pence - d->paid_pence;
        char charge[MONEY_TEXT_LEN] = "", credit[MONEY_TEXT_LEN] = "", paid[MONEY_TEXT_LEN],
             out[MONEY_TEXT_LEN], bal[MONEY_TEXT_LEN];
        money_format(s->total_pence, d->credit_note ? credit : charge);
        money_format(d->paid_pence, paid);
        money_format(d->outstanding_pence, out);
        money_format(balance, bal);
        const char *row[] = {s->issue_date, s->number, d->credit_note ? "credit note" : "invoice",
                             s->period, s->due_date, charge, credit, paid, out, bal};
        web_table_row(t, row);
        latest = s->number;
    }
    char d[16], inv[MONEY_TEXT_LEN], cred[MONEY_TEXT_LEN], paid[MONEY_TEXT_LEN],
        out[MONEY_TEXT_LEN], ov[MONEY_TEXT_LEN], bal[MONEY_TEXT_LEN];
    snprintf(d, sizeof d, "%zu", a.docs);
    money_format(a.invoiced, inv);
    money_format(a.credited, cred);
    money_format(a.paid, paid);
    money_format(a.outstanding, out);
    money_format(a.overdue, ov);
    money_format(balance, bal);
    web_view_fact(v, "employer", employer);
    web_view_fact(v, "as of", today_s);
    web_view_fact(v, "documents", d);
    web_view_fact(v, "invoiced", inv);
    web_view_fact(v, "credited", cred);
    web_view_fact(v, "paid", paid);
    web_view_fact(v, "balance (invoiced - credited - paid)", bal);
    web_view_fact(v, "outstanding on invoices", out);
    web_view_fact(v, "overdue", ov);
    char latest_no[WEB_PARAM_LEN] = "";
    if (latest)
        snprintf(latest_no, sizeof latest_no, "%s", latest);
    web_reply_free(rep);
    if (latest_no[0])
        s_parties(r, v, latest_no, NULL, 0);
    web_view_note(v, "info", "composed from the invoice list: payments appear as each "
                             "document's paid amount, not as dated entries");
    return 0;
}
