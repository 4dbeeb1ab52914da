/* web_actions: the finance actions, each in two steps: a form, then a
 * confirmation page that says exactly what will happen, then the action.
 * See web_pages.h.
 *
 * Every step is a POST that carries the session's CSRF token (checked
 * before the handler runs). The confirmation form carries a fresh action
 * id, sent as the request id of the service call: a confirmation
 * submitted twice (a double click, a reload) reaches the service twice
 * with the same id, and the service answers the second from its stored
 * first answer, so the action happens once. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "money.h"
#include "web_pages.h"

typedef struct {
    const char *name, *label, *type, *placeholder;
} s_field_t;

/* The form of step one (also shown again when step two refuses). */
static void s_form(web_req_t *r, web_view_t *v, const char *action, const s_field_t *fields,
                   const char *button)
{
    web_buf_t b;
    web_buf_init(&b, 0);
    web_form_begin(&b, "post", action, r->session.csrf);
    for (const s_field_t *f = fields; f->name; f++)
        web_form_input(&b, f->type, f->name, f->label, web_arg(r, f->name), f->placeholder);
    web_form_submit(&b, button, NULL);
    web_form_end(&b);
    web_view_form(v, b.data);
    web_buf_release(&b);
}

/* The confirmation form: the same fields, hidden, with a new action id. */
static void s_confirm_form(web_req_t *r, web_view_t *v, const char *action,
                           const s_field_t *fields, const char *button)
{
    char id[WEB_TOKEN_LEN + 1];
    web_token_new(id);
    web_buf_t b;
    web_buf_init(&b, 0);
    web_form_begin(&b, "post", action, r->session.csrf);
    for (const s_field_t *f = fields; f->name; f++)
        web_form_hidden(&b, f->name, web_arg(r, f->name));
    web_form_hidden(&b, "action_id", id);
    web_form_hidden(&b, "confirm", "yes");
    web_form_submit(&b, button, "danger");
    web_buf_str(&b, " <a href=\"");
    web_buf_html(&b, action);
    web_buf_str(&b, "\">Cancel</a>");
    web_form_end(&b);
    web_view_form(v, b.data);
    web_buf_release(&b);
}

/* Step 3 needs the action id of step 2's form. Returns the request id to
 * send, or NULL after answering 400. */
static const char *s_action_id(web_req_t *r, char out[48])
{
    const char *id = web_arg(r, "action_id");
    if (!id || strlen(id) != WEB_TOKEN_LEN || strspn(id, "0123456789abcdef") != WEB_TOKEN_LEN) {
        web_fail(r, 400, "the confirmation has no valid action id; start again");
        return NULL;
    }
    snprintf(out, 48, "web-%.32s", id);
    return out;
}

static int s_step(web_req_t *r)
{
    if (!r->is_post)
        return 1;
    const char *c = web_arg(r, "confirm");
    return c && strcmp(c, "yes") == 0 ? 3 : 2;
}

/* ---- close a pay week ------------------------------------------------------------- */

static const s_field_t s_close_fields[] = {
    {"prison", "Prison", "text", "MDI"}, {"week", "Week", "text", "2026-W46"}, {NULL, NULL, NULL, NULL}};

int web_page_close_week(web_req_t *r)
{
    int step = s_step(r);
    const char *prison = web_arg(r, "prison"), *week = web_arg(r, "week");
    if (web_failed(r))
        return 0;
    if (step > 1 && (!prison || !week)) {
        web_view_t *v = web_page(r, "Close a pay week");
        if (v) {
            web_view_note(v, "error", "give the prison and the week");
            s_form(r, v, "/actions/close-week", s_close_fields, "Review");
        }
        r->status = 400;
        return 0;
    }
    if (step == 1) {
        web_view_t *v = web_page(r, "Close a pay week");
        if (v) {
            web_view_note(v, "info", "closing a week computes top-up, deductions and levy, "
                                     "writes the payslips, and refuses any later hours for it");
            s_form(r, v, "/actions/close-week", s_close_fields, "Review");
        }
        return 0;
    }
    if (step == 2) {
        /* What closing will settle: the payroll as it stands. */
        Pay__PayrollQuery pq = PAY__PAYROLL_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest q = PAY__WAGES_REQUEST__INIT;
        page.has_size = 1;
        page.size = 1;
        pq.prison = (char *)prison;
        pq.week = (char *)week;
        pq.page = &page;
        q.body_case = PAY__WAGES_REQUEST__BODY_PAYROLL;
        q.payroll = &pq;
        Pay__WagesReply *rep = web_ask_wages(r, &q);
        if (!rep)
            return web_fail_calls(r);
        web_view_t *v = web_page(r, "Confirm: close a pay week");
        if (v && rep->body_case == PAY__WAGES_REPLY__BODY_PAYROLL) {
            const Pay__PayrollReply *p = rep->payroll;
            char n[16], g[MONEY_TEXT_LEN], m[24];
            snprintf(n, sizeof n, "%u", p->prisoners);
            money_format(p->totals ? p->totals->gross : 0, g);
            snprintf(m, sizeof m, "%" PRId64, p->totals ? p->totals->minutes : 0);
            web_view_fact(v, "prison", prison);
            web_view_fact(v, "week", p->week ? p->week : week);
            web_view_fact(v, "state now", p->closed ? "already closed" : "open");
            web_view_fact(v, "prisoners", n);
            web_view_fact(v, "minutes", m);
            web_view_fact(v, "gross so far", g);
            if (p->closed)
                web_view_note(v, "warn", "this week is already closed: closing it again "
                                         "changes nothing");
        }
        web_reply_free(rep);
        if (v) {
            web_view_note(v, "warn", "closing cannot be undone");
            char label[96];
            snprintf(label, sizeof label, "Close %s %s", prison, week);
            s_confirm_form(r, v, "/actions/close-week", s_close_fields, label);
        }
        return 0;
    }
    char rid[48];
    if (!s_action_id(r, rid))
        return 0;
    Pay__HoursClosePayWeek c = PAY__HOURS_CLOSE_PAY_WEEK__INIT;
    Pay__HoursRequest q = PAY__HOURS_REQUEST__INIT;
    q.request_id = rid;
    c.prison = (char *)prison;
    c.week = (char *)week;
    q.body_case = PAY__HOURS_REQUEST__BODY_CLOSE_PAY_WEEK;
    q.close_pay_week = &c;
    Pay__HoursReply *rep = web_ask_hours(r, &q);
    if (!rep)
        return web_fail_calls(r);
    web_view_t *v = web_page(r, "Pay week closed");
    if (v) {
        web_view_fact(v, "prison", prison);
        web_view_fact(v, "week", week);
        web_view_note(v, "info", "%s", rep->message && *rep->message ? rep->message : "closed");
        web_buf_t href;
        web_buf_init(&href, 0);
        web_buf_str(&href, "/payroll?");
        web_query(&href, "prison", prison, "week", week, NULL);
        web_view_link(v, href.data, "The payroll (the wage service applies the close from the "
                                    "hours feed within moments)");
        web_buf_release(&href);
    }
    web_reply_free(rep);
    return 0;
}

/* ---- issue invoices ------------------------------------------------------------------- */

static const s_field_t s_issue_fields[] = {
    {"employer", "Employer (empty: every employer)", "text", "dhl"},
    {"period", "Period (empty: every ended period)", "text", "2026-W46 or 2026-11"},
    {"issue_date", "Issue date (empty: today)", "date", NULL},
    {NULL, NULL, NULL, NULL}};

int web_page_issue(web_req_t *r)
{
    int step = s_step(r);
    const char *employer = web_arg(r, "employer"), *period = web_arg(r, "period");
    const char *date = web_arg(r, "issue_date");
    if (web_failed(r))
        return 0;
    if (step == 1) {
        web_view_t *v = web_page(r, "Issue invoices");
        if (v) {
            web_view_note(v, "info", "issues the invoices (and credit notes) due for every "
                                     "billing period that has ended, with any late lines");
            s_form(r, v, "/actions/issue", s_issue_fields, "Review");
        }
        return 0;
    }
    if (step == 2) {
        web_view_t *v = web_page(r, "Confirm: issue invoices");
        if (v) {
            char today[11];
            web_today(today);
            web_view_fact(v, "employer", employer ? employer : "every employer");
            web_view_fact(v, "period", period ? period : "every period that has ended");
            web_view_fact(v, "issue date", date ? date : today);
            web_view_note(v, "warn", "issued documents take the next numbers and cannot be "
                                     "withdrawn (only credited)");
            s_confirm_form(r, v, "/actions/issue", s_issue_fields, "Issue now");
        }
        return 0;
    }
    char rid[48];
    if (!s_action_id(r, rid))
        return 0;
    Pay__Issue is = PAY__ISSUE__INIT;
    Pay__InvoicingRequest q = PAY__INVOICING_REQUEST__INIT;
    q.request_id = rid;
    is.employer = (char *)employer;
    is.period = (char *)period;
    is.issue_date = (char *)date;
    q.body_case = PAY__INVOICING_REQUEST__BODY_ISSUE;
    q.issue = &is;
    Pay__InvoicingReply *rep = web_ask_invoicing(r, &q);
    if (!rep)
        return web_fail_calls(r);
    web_view_t *v = web_page(r, "Invoices issued");
    if (v) {
        static const char *const cols[] = {"number", "employer", "period", "issue_date",
                                           "due_date", "net", "vat", "total"};
        web_table_t *t = web_view_table(v, "issued", "Documents issued now", cols, 8);
        for (size_t c = 5; c < 8; c++)
            web_table_numeric(t, c);
        web_table_link(t, 0, "/documents/", "");
        size_t n = rep->issued ? rep->issued->n_documents : 0;
        for (size_t i = 0; i < n; i++) {
            const Pay__DocumentSummary *s = rep->issued->documents[i];
            char net[MONEY_TEXT_LEN], vat[MONEY_TEXT_LEN], total[MONEY_TEXT_LEN];
            money_format(s->net_pence, net);
            money_format(s->vat_pence, vat);
            money_format(s->total_pence, total);
            const char *row[] = {s->number, s->employer, s->period, s->issue_date,
                                 s->due_date, net, vat, total};
            web_table_row(t, row);
        }
        if (n == 0)
            web_view_note(v, "info", "nothing was due: every ended period is invoiced");
    }
    web_reply_free(rep);
    return 0;
}

/* ---- record a payment ------------------------------------------------------------------ */

static const s_field_t s_payment_fields[] = {
    {"number", "Invoice", "text", "INV-000001"},
    {"amount", "Amount (pounds)", "text", "120.00"},
    {"date", "Date received", "date", NULL},
    {"reference", "Reference", "text", "BACS 12345"},
    {NULL, NULL, NULL, NULL}};

int web_page_payment(web_req_t *r)
{
    int step = s_step(r);
    const char *number = web_arg(r, "number"), *amount = web_arg(r, "amount");
    const char *date = web_arg(r, "date"), *reference = web_arg(r, "reference");
    if (web_failed(r))
        return 0;
    if (step == 1) {
        web_view_t *v = web_page(r, "Record a payment");
        if (v)
            s_form(r, v, "/actions/payment", s_payment_fields, "Review");
        return 0;
    }
    int64_t pence;
    if (!number || !amount || !date || money_parse(amount, 0, &pence) != 0 || pence <= 0) {
        web_view_t *v = web_page(r, "Record a payment");
        if (v) {
            web_view_note(v, "error", "give the invoice number, an amount above 0 in pounds "
                                      "(e.g. 120.00) and the date");
            s_form(r, v, "/actions/payment", s_payment_fields, "Review");
        }
        r->status = 400;
        return 0;
    }
    if (step == 2) {
        Pay__GetDocument g = PAY__GET_DOCUMENT__INIT;
        Pay__InvoicingRequest q = PAY__INVOICING_REQUEST__INIT;
        g.number = (char *)number;
        q.body_case = PAY__INVOICING_REQUEST__BODY_GET;
        q.get = &g;
        Pay__InvoicingReply *rep = web_ask_invoicing(r, &q);
        if (!rep)
            return web_fail_calls(r);
        web_view_t *v = web_page(r, "Confirm: record a payment");
        if (v && rep->document && rep->document->info) {
            const Pay__DocumentInfo *i = rep->document->info;
            char total[MONEY_TEXT_LEN], out[MONEY_TEXT_LEN], amt[MONEY_TEXT_LEN];
            money_format(i->summary ? i->summary->total_pence : 0, total);
            money_format(i->outstanding_pence, out);
            money_format(pence, amt);
            web_view_fact(v, "invoice", number);
            web_view_fact(v, "employer", i->summary ? i->summary->employer : "");
            web_view_fact(v, "total", total);
            web_view_fact(v, "outstanding now", out);
            web_view_fact(v, "payment", amt);
            web_view_fact(v, "date", date);
            web_view_fact(v, "reference", reference ? reference : "");
            if (pence > i->outstanding_pence)
                web_view_note(v, "warn", "the payment is more than the outstanding amount");
            s_confirm_form(r, v, "/actions/payment", s_payment_fields, "Record the payment");
        }
        web_reply_free(rep);
        return 0;
    }
    char rid[48];
    if (!s_action_id(r, rid))
        return 0;
    Pay__RecordPayment p = PAY__RECORD_PAYMENT__INIT;
    Pay__InvoicingRequest q = PAY__INVOICING_REQUEST__INIT;
    q.request_id = rid;
    p.number = (char *)number;
    p.amount = (char *)amount;
    p.date = (char *)date;
    p.reference = (char *)reference;
    q.body_case = PAY__INVOICING_REQUEST__BODY_PAYMENT;
    q.payment = &p;
    Pay__InvoicingReply *rep = web_ask_invoicing(r, &q);
    if (!rep)
        return web_fail_calls(r);
    web_view_t *v = web_page(r, "Payment recorded");
    if (v && rep->document && rep->document->info) {
        const Pay__DocumentInfo *i = rep->document->info;
        char paid[MONEY_TEXT_LEN], out[MONEY_TEXT_LEN];
        money_format(i->paid_pence, paid);
        money_format(i->outstanding_pence, out);
        web_view_fact(v, "invoice", number);
        web_view_fact(v, "paid", paid);
        web_view_fact(v, "outstanding", out);
        web_buf_t href;
        web_buf_init(&href, 0);
        web_buf_str(&href, "/documents/");
        web_buf_url(&href, number);
        web_view_link(v, href.data, "The invoice");
        web_buf_release(&href);
    }
    web_reply_free(rep);
    return 0;
}
