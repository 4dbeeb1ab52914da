/* web_pages: the route table, what the pages share, the finance
 * dashboard and the wage pages (payroll, payslip, ledger, exceptions,
 * hours norm). See web_pages.h. */
#include "web_pages.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "clock.h"
#include "codec.h"
#include "money.h"

#define S_PAGE 1000
#define S_TOKEN_LEN 512

const web_route_t web_routes[] = {
    {"/", WEB_M_GET, WEB_LOGGED_IN, 1, web_page_root},
    {"/login", WEB_M_GET | WEB_M_POST, WEB_PUBLIC, 0, web_page_login},
    {"/logout", WEB_M_POST, WEB_LOGGED_IN, 0, web_page_logout},
    {"/static/", WEB_M_GET, WEB_PUBLIC, 0, web_page_static},
    {"/healthz", WEB_M_GET, WEB_PUBLIC, 0, web_page_health},
    {"/dashboard", WEB_M_GET, WEB_FINANCE, 1, web_page_dashboard},
    {"/payroll", WEB_M_GET, WEB_FINANCE, 1, web_page_payroll},
    {"/payroll.csv", WEB_M_GET, WEB_FINANCE, 0, web_page_payroll_csv},
    {"/payslip", WEB_M_GET, WEB_FINANCE, 1, web_page_payslip},
    {"/ledger", WEB_M_GET, WEB_FINANCE, 1, web_page_ledger},
    {"/ledger.csv", WEB_M_GET, WEB_FINANCE, 0, web_page_ledger_csv},
    {"/exceptions", WEB_M_GET, WEB_FINANCE, 1, web_page_exceptions},
    {"/norm", WEB_M_GET, WEB_FINANCE, 1, web_page_norm},
    {"/invoices", WEB_M_GET, WEB_LOGGED_IN, 1, web_page_invoices},
    {"/invoices.csv", WEB_M_GET, WEB_LOGGED_IN, 0, web_page_invoices_csv},
    {"/documents/", WEB_M_GET, WEB_LOGGED_IN, 1, web_page_document},
    {"/overdue", WEB_M_GET, WEB_FINANCE, 1, web_page_overdue},
    {"/statement", WEB_M_GET, WEB_LOGGED_IN, 1, web_page_statement},
    {"/actions/close-week", WEB_M_GET | WEB_M_POST, WEB_FINANCE, 0, web_page_close_week},
    {"/actions/issue", WEB_M_GET | WEB_M_POST, WEB_FINANCE, 0, web_page_issue},
    {"/actions/payment", WEB_M_GET | WEB_M_POST, WEB_FINANCE, 0, web_page_payment},
    {NULL, 0, 0, 0, NULL},
};

/* ---- shared helpers ------------------------------------------------------------ */

Pay__HoursReply *web_ask_hours(web_req_t *r, Pay__HoursRequest *q)
{
    return (Pay__HoursReply *)web_calls_ask(&r->calls, WEB_SVC_HOURS, &q->base,
                                            &pay__hours_reply__descriptor);
}

Pay__WagesReply *web_ask_wages(web_req_t *r, Pay__WagesRequest *q)
{
    return (Pay__WagesReply *)web_calls_ask(&r->calls, WEB_SVC_WAGES, &q->base,
                                            &pay__wages_reply__descriptor);
}

Pay__InvoicingReply *web_ask_invoicing(web_req_t *r, Pay__InvoicingRequest *q)
{
    return (Pay__InvoicingReply *)web_calls_ask(&r->calls, WEB_SVC_INVOICING, &q->base,
                                                &pay__invoicing_reply__descriptor);
}

void web_reply_free(void *reply)
{
    ProtobufCMessage *m = reply;
    codec_free(&m);
}

int web_failed(const web_req_t *r)
{
    return r->status >= 400;
}

void web_strings_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

char **web_prisons(web_req_t *r, size_t *n)
{
    Pay__HoursListPrisons l = PAY__HOURS_LIST_PRISONS__INIT;
    Pay__HoursRequest q = PAY__HOURS_REQUEST__INIT;
    q.body_case = PAY__HOURS_REQUEST__BODY_LIST_PRISONS;
    q.list_prisons = &l;
    *n = 0;
    Pay__HoursReply *rep = web_ask_hours(r, &q);
    if (!rep)
        return NULL;
    char **v = calloc(rep->n_prisons + 2, sizeof *v);
    int ok = v != NULL;
    if (ok)
        v[(*n)++] = strdup("");   /* "(choose)" */
    for (size_t i = 0; ok && i < rep->n_prisons; i++)
        ok = (v[(*n)++] = strdup(rep->prisons[i] ? rep->prisons[i] : "")) != NULL;
    web_reply_free(rep);
    if (!ok) {
        web_strings_free(v);
        *n = 0;
        return NULL;
    }
    return v;
}

void web_query(web_buf_t *out, ...)
{
    va_list ap;
    va_start(ap, out);
    int first = 1;
    for (;;) {
        const char *name = va_arg(ap, const char *);
        if (!name)
            break;
        const char *value = va_arg(ap, const char *);
        if (!value || !*value)
            continue;
        web_buf_str(out, first ? "" : "&");
        first = 0;
        web_buf_url(out, name);
        web_buf_str(out, "=");
        web_buf_url(out, value);
    }
    va_end(ap);
}

void web_today(char out[11])
{
    civil_format_date(clock_today(), out);
}

static void s_money(int64_t pence, char out[MONEY_TEXT_LEN])
{
    money_format(pence, out);
}

static const char *s_enum(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    return ev ? ev->name : "";
}

/* The form for prison + week (+ more) at the top of a wage page. */
static void s_prison_week_form(web_req_t *r, web_view_t *v, const char *action,
                               const char *prison, const char *week, int week_required)
{
    size_t np = 0;
    char **prisons = web_prisons(r, &np);
    web_buf_t f;
    web_buf_init(&f, 0);
    web_form_begin(&f, "get", action, NULL);
    if (prisons)
        web_form_select(&f, "prison", "Prison", (const char *const *)prisons, np, prison);
    else
        web_form_input(&f, "text", "prison", "Prison", prison, "MDI");
    web_form_input(&f, "text", "week", week_required ? "Week" : "Week (optional)", week,
                   "2026-W46");
    web_form_submit(&f, "Show", NULL);
    web_form_end(&f);
    web_view_form(v, f.data);
    web_buf_release(&f);
    web_strings_free(prisons);
    /* The prison list is a convenience: a page works without it. */
    r->calls.status = 0;
}

/* ---- root, health -------------------------------------------------------------- */

int web_page_root(web_req_t *r)
{
    if (r->session.who.role == ROLE_FINANCE)
        return web_page_dashboard(r);
    web_redirect(r, r->match.api ? "/api/invoices" : "/invoices");
    return 0;
}

int web_page_health(web_req_t *r)
{
    char *ok = strdup("ok\n");
    if (!ok)
        return web_fail(r, 500, "out of memory");
    web_download(r, "text/plain; charset=utf-8", NULL, ok, 3);
    return 0;
}

/* ---- dashboard ----------------------------------------------------------------- */

/* The sum of every integer field whose name says "quarantin..." in a
 * health reply: the services report quarantined feed events there. */
static int s_quarantine(const ProtobufCMessage *m, uint64_t *out)
{
    int found = 0;
    *out = 0;
    if (!m)
        return 0;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        uint64_t v;
        if (strstr(d->fields[i].name, "quarantin") && web_field_u64(m, &d->fields[i], &v)) {
            *out += v;
            found = 1;
        }
    }
    return found;
}

typedef struct {
    int up, consumes, has_cursor, has_head, has_quar;
    uint64_t cursor, head, quar;
    char detail[200];
} s_health_t;

static void s_dashboard_health(web_req_t *r, s_health_t h[WEB_SVC_COUNT], char today[11])
{
    memset(h, 0, WEB_SVC_COUNT * sizeof *h);
    {
        Pay__HoursGetHealth g = PAY__HOURS_GET_HEALTH__INIT;
        Pay__HoursRequest q = PAY__HOURS_REQUEST__INIT;
        q.body_case = PAY__HOURS_REQUEST__BODY_GET_HEALTH;
        q.get_health = &g;
        Pay__HoursReply *rep = web_ask_hours(r, &q);
        if (rep && rep->health) {
            h[0].up = rep->health->ok;
            h[0].has_head = rep->health->has_outbox_head;
            h[0].head = rep->health->outbox_head;
            h[0].has_quar = s_quarantine(&rep->health->base, &h[0].quar);
            if (rep->health->today && strlen(rep->health->today) == 10)
                snprintf(today, 11, "%s", rep->health->today);
            snprintf(h[0].detail, sizeof h[0].detail, "hours feed producer; today %s",
                     rep->health->today ? rep->health->today : "?");
        }
        web_reply_free(rep);
        Pay__HoursGetStats gs = PAY__HOURS_GET_STATS__INIT;
        q.body_case = PAY__HOURS_REQUEST__BODY_GET_STATS;
        q.get_stats = &gs;
        rep = h[0].up ? web_ask_hours(r, &q) : NULL;
        if (rep && rep->stats) {
            size_t n = strlen(h[0].detail);
            snprintf(h[0].detail + n, sizeof h[0].detail - n,
                     "; %" PRIu64 " records, %" PRIu64 " requests in %" PRIu64 " batches",
                     rep->stats->records, rep->stats->requests, rep->stats->batches);
        }
        web_reply_free(rep);
    }
    {
        Pay__WagesHealth g = PAY__WAGES_HEALTH__INIT;
        Pay__WagesRequest q = PAY__WAGES_REQUEST__INIT;
        q.body_case = PAY__WAGES_REQUEST__BODY_HEALTH;
        q.health = &g;
        h[1].consumes = 1;
        Pay__WagesReply *rep = web_ask_wages(r, &q);
        if (rep) {
            h[1].up = 1;
            if (rep->body_case == PAY__WAGES_REPLY__BODY_HEALTH) {
                const Pay__WagesHealthReply *x = rep->health;
                h[1].has_cursor = x->has_cursor;
                h[1].cursor = x->cursor;
                h[1].has_head = x->has_head_seq;
                h[1].head = x->head_seq;
                h[1].has_quar = s_quarantine(&x->base, &h[1].quar);
                snprintf(h[1].detail, sizeof h[1].detail,
                         "%" PRIu64 " ledger lines, %" PRIu64 " records", x->ledger_lines,
                         x->records);
            }
        }
        web_reply_free(rep);
    }
    {
        Pay__Health g = PAY__HEALTH__INIT;
        Pay__InvoicingRequest q = PAY__INVOICING_REQUEST__INIT;
        q.body_case = PAY__INVOICING_REQUEST__BODY_HEALTH;
        q.health = &g;
        h[2].consumes = 1;
        Pay__InvoicingReply *rep = web_ask_invoicing(r, &q);
        if (rep) {
            h[2].up = 1;
            if (rep->health) {
                h[2].has_cursor = rep->health->has_feed_cursor;
                h[2].cursor = rep->health->feed_cursor;
                h[2].has_quar = s_quarantine(&rep->health->base, &h[2].quar);
                snprintf(h[2].detail, sizeof h[2].detail,
                         "%" PRIu64 " documents, invoice feed head %" PRIu64,
                         rep->health->documents, rep->health->outbox_head);
            }
        }
        web_reply_free(rep);
    }
    /* A consumer's lag is measured against the producer's own head. */
    for (int s = 1; s < WEB_SVC_COUNT; s++)
        if (h[s].up && h[0].up && h[0].has_head) {
            h[s].has_head = 1;
            h[s].head = h[0].head;
        }
}

typedef struct {
    char prison[16];
    int64_t priced, inv;
} s_recon_t;

typedef struct {
    s_recon_t *v;
    size_t n, cap;
} s_recon_set_t;

static s_recon_t *s_recon_get(s_recon_set_t *set, const char *prison)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i].prison, prison) == 0)
            return &set->v[i];
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        s_recon_t *p = realloc(set->v, cap * sizeof *p);
        if (!p)
            return NULL;
        set->v = p;
        set->cap = cap;
    }
    s_recon_t *x = &set->v[set->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->prison, sizeof x->prison, "%s", prison);
    return x;
}

/* One week's reconciliation rows, as `payctl reconcile` computes them.
 * Returns the number of MISMATCH rows, or -1 if a service failed. */
static int s_recon_week(web_req_t *r, const char *week, char **prisons, web_table_t *t,
                        web_view_t *v)
{
    s_recon_set_t set = {0};
    int mismatches = 0, rc = -1;
    for (size_t i = 0; prisons && prisons[i]; i++)
        if (prisons[i][0] && !s_recon_get(&set, prisons[i]))
            goto done;
    char token[S_TOKEN_LEN] = "";
    for (;;) {
        Pay__ReconciliationQuery rq = PAY__RECONCILIATION_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest q = PAY__WAGES_REQUEST__INIT;
        rq.week = (char *)week;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        rq.page = &page;
        q.body_case = PAY__WAGES_REQUEST__BODY_RECONCILIATION;
        q.reconciliation = &rq;
        Pay__WagesReply *rep = web_ask_wages(r, &q);
        if (!rep)
            goto done;
        int more = 0;
        if (rep->body_case == PAY__WAGES_REPLY__BODY_RECONCILIATION)
            for (size_t i = 0; i < rep->reconciliation->n_rows; i++) {
                const Pay__ReconciliationRow *row = rep->reconciliation->rows[i];
                s_recon_t *x = row->prison && row->week && strcmp(row->week, week) == 0
                                   ? s_recon_get(&set, row->prison)
                                   : NULL;
                if (x)
                    x->priced += row->minutes_priced;
            }
        if (rep->next_page && *rep->next_page && strlen(rep->next_page) < sizeof token &&
            strcmp(rep->next_page, token) != 0) {
            snprintf(token, sizeof token, "%s", rep->next_page);
            more = 1;
        }
        web_reply_free(rep);
        if (!more)
            break;
    }
    {
        Pay__Reconcile rq = PAY__RECONCILE__INIT;
        Pay__InvoicingRequest q = PAY__INVOICING_REQUEST__INIT;
        rq.week = (char *)week;
        q.body_case = PAY__INVOICING_REQUEST__BODY_RECONCILE;
        q.reconcile = &rq;
        Pay__InvoicingReply *rep = web_ask_invoicing(r, &q);
        if (!rep)
            goto done;
        for (size_t i = 0; rep->reconciliation && i < rep->reconciliation->n_rows; i++) {
            const Pay__ReconRow *row = rep->reconciliation->rows[i];
            s_recon_t *x = row->prison && row->week && strcmp(row->week, week) == 0
                               ? s_recon_get(&set, row->prison)
                               : NULL;
            if (x)
                x->inv += row->minutes_invoiced + row->minutes_pending;
        }
        web_reply_free(rep);
    }
    for (size_t i = 0; i < set.n; i++) {
        s_recon_t *x = &set.v[i];
        Pay__HoursGetWeekTotals wq = PAY__HOURS_GET_WEEK_TOTALS__INIT;
        Pay__HoursRequest q = PAY__HOURS_REQUEST__INIT;
        wq.prison = x->prison;
        wq.week = (char *)week;
        q.body_case = PAY__HOURS_REQUEST__BODY_GET_WEEK_TOTALS;
        q.get_week_totals = &wq;
        Pay__HoursReply *rep = web_ask_hours(r, &q);
        if (!rep)
            goto done;
        int64_t captured = rep->totals ? (int64_t)rep->totals->minutes : 0;
        int64_t billable = rep->totals ? (int64_t)rep->totals->billable_minutes : 0;
        web_reply_free(rep);
        if (!captured && !x->priced && !billable && !x->inv)
            continue;   /* no work that week */
        int ok = captured == x->priced && billable == x->inv;
        char a[24], b[24], c[24], d[24];
        snprintf(a, sizeof a, "%" PRId64, captured);
        snprintf(b, sizeof b, "%" PRId64, x->priced);
        snprintf(c, sizeof c, "%" PRId64, billable);
        snprintf(d, sizeof d, "%" PRId64, x->inv);
        const char *row[] = {x->prison, week, a, b, c, d, ok ? "OK" : "MISMATCH"};
        web_table_row(t, row);
        if (!ok) {
            mismatches++;
            web_view_note(v, "error",
                          "reconciliation alarm: %s %s: %s minutes captured, %s priced; %s "
                          "billable captured, %s invoiced or pending",
                          x->prison, week, a, b, c, d);
        }
    }
    rc = mismatches;
done:
    free(set.v);
    return rc;
}

int web_page_dashboard(web_req_t *r)
{
    char today[11];
    web_today(today);
    s_health_t h[WEB_SVC_COUNT];
    s_dashboard_health(r, h, today);
    web_view_t *v = web_page(r, "Dashboard");
    if (!v)
        return 0;
    web_view_fact(v, "today", today);
    static const char *const cols[] = {"service", "state", "feed", "cursor", "head",
                                       "lag", "quarantined", "detail"};
    web_table_t *t = web_view_table(v, "services", "Services", cols, 8);
    for (size_t c = 3; c <= 6; c++)
        web_table_numeric(t, c);
    int down = 0;
    for (int s = 0; s < WEB_SVC_COUNT; s++) {
        char cursor[24] = "", head[24] = "", lag[24] = "", quar[24] = "";
        if (h[s].up && h[s].has_cursor)
            snprintf(cursor, sizeof cursor, "%" PRIu64, h[s].cursor);
        if (h[s].up && h[s].has_head)
            snprintf(head, sizeof head, "%" PRIu64, h[s].head);
        if (h[s].up && h[s].consumes && h[s].has_cursor && h[s].has_head)
            snprintf(lag, sizeof lag, "%" PRIu64,
                     h[s].head > h[s].cursor ? h[s].head - h[s].cursor : 0);
        if (h[s].up)
            snprintf(quar, sizeof quar, h[s].has_quar ? "%" PRIu64 : "not reported",
                     h[s].quar);
        const char *row[] = {web_service_name((web_service_t)s), h[s].up ? "up" : "down",
                             h[s].consumes ? "hours (consumer)" : "hours (producer)",
                             cursor, head, lag, quar, h[s].up ? h[s].detail : ""};
        web_table_row(t, row);
        down += !h[s].up;
        if (h[s].up && h[s].has_quar && h[s].quar)
            web_view_note(v, "error", "the %s service has %" PRIu64 " quarantined feed event%s",
                          web_service_name((web_service_t)s), h[s].quar,
                          h[s].quar == 1 ? "" : "s");
    }
    if (down)
        web_view_note(v, "error", "%d service%s not answering", down, down == 1 ? " is" : "s are");
    r->calls.status = 0;
    if (down)
        return 0;

    /* Reconciliation of this week and the three before it. */
    int32_t day;
    if (civil_parse_date(today, &day) != 0)
        day = clock_today();
    size_t np = 0;
    char **prisons = web_prisons(r, &np);
    static const char *const rcols[] = {"prison", "week", "minutes_captured", "minutes_priced",
                                        "billable_minutes_captured",
                                        "billable_minutes_invoiced_or_pending", "status"};
    web_table_t *rt = web_view_table(v, "reconciliation", "Reconciliation, recent weeks",
                                     rcols, 7);
    for (size_t c = 2; c <= 5; c++)
        web_table_numeric(rt, c);
    int alarms = 0, failed = 0;
    for (int k = 0; k < 4 && !failed; k++) {
        char week[CIVIL_WEEK_LEN];
        civil_format_week(civil_iso_week(day - 7 * k), week);
        int m = s_recon_week(r, week, prisons, rt, v);
        if (m < 0)
            failed = 1;
        else
            alarms += m;
    }
    web_strings_free(prisons);
    if (failed)
        web_view_note(v, "warn", "the reconciliation is incomplete: %s", r->calls.error);
    else if (!alarms)
        web_view_note(v, "info", "no reconciliation alarms in the last four weeks");
    r->calls.status = 0;
    return 0;
}

/* ---- payroll ---------------------------------------------------------------------- */

typedef struct {
    int closed, have_totals;
    uint32_t prisoners;
    Pay__PayrollRow totals;
    char week[CIVIL_WEEK_LEN + 8];
} s_payroll_t;

/* Every page of the payroll: rows into t (if any), the service's CSV into
 * csv (if any). Returns 0, or -1 with r->calls holding the failure. */
static int s_payroll_fetch(web_req_t *r, const char *prison, const char *week, web_table_t *t,
                           web_buf_t *csv, s_payroll_t *out)
{
    char token[S_TOKEN_LEN] = "";
    memset(out, 0, sizeof *out);
    for (int first = 1;; first = 0) {
        Pay__PayrollQuery pq = PAY__PAYROLL_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest q = PAY__WAGES_REQUEST__INIT;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        pq.prison = (char *)prison;
        pq.week = (char *)week;
        pq.page = &page;
        pq.has_csv = 1;
        pq.csv = csv != NULL;
        q.body_case = PAY__WAGES_REQUEST__BODY_PAYROLL;
        q.payroll = &pq;
        Pay__WagesReply *rep = web_ask_wages(r, &q);
        if (!rep)
            return -1;
        if (rep->body_case == PAY__WAGES_REPLY__BODY_PAYROLL) {
            const Pay__PayrollReply *p = rep->payroll;
            if (first) {
                out->closed = p->closed;
                out->prisoners = p->prisoners;
                snprintf(out->week, sizeof out->week, "%s", p->week ? p->week : week);
                if (p->totals) {
                    out->totals = *p->totals;
                    out->totals.prisoner = NULL;
                    out->have_totals = 1;
                }
            }
            if (csv)
                web_buf_str(csv, p->csv);
            for (size_t i = 0; t && i < p->n_rows; i++) {
                const Pay__PayrollRow *x = p->rows[i];
                char s[16], m[24], g[MONEY_TEXT_LEN], u[MONEY_TEXT_LEN], d[MONEY_TEXT_LEN],
                    l[MONEY_TEXT_LEN], n[MONEY_TEXT_LEN];
                snprintf(s, sizeof s, "%u", x->sessions);
                snprintf(m, sizeof m, "%" PRId64, x->minutes);
                s_money(x->gross, g);
                s_money(x->top_up, u);
                s_money(x->deductions, d);
                s_money(x->levy, l);
                s_money(x->net, n);
                const char *row[] = {x->prisoner, s, m, g, u, d, l, n};
                web_table_row(t, row);
            }
        }
        int more = rep->next_page && *rep->next_page && strlen(rep->next_page) < sizeof token &&
                   strcmp(rep->next_page, token) != 0;
        if (more)
            snprintf(token, sizeof token, "%s", rep->next_page);
        web_reply_free(rep);
        if (!more)
            return 0;
    }
}

int web_page_payroll(web_req_t *r)
{
    const char *prison = web_arg(r, "prison"), *week = web_arg(r, "week");
    if (web_failed(r))
        return 0;
    web_view_t *v = web_page(r, "Payroll");
    if (!v)
        return 0;
    if (!r->match.api)
        s_prison_week_form(r, v, "/payroll", prison, week, 1);
    if (!prison || !week) {
        if (r->match.api)
            return web_fail(r, 400, "give prison and week");
        web_view_note(v, "info", "choose a prison and a pay week");
        return 0;
    }
    static const char *const cols[] = {"prisoner", "sessions", "minutes", "gross", "top_up",
                                       "deductions", "levy", "net"};
    web_table_t *t = web_view_table(v, "payroll", "Prisoners", cols, 8);
    for (size_t c = 1; c < 8; c++)
        web_table_numeric(t, c);
    s_payroll_t p;
    if (s_payroll_fetch(r, prison, week, t, NULL, &p) != 0)
        return web_fail_calls(r);
    web_buf_t suffix;
    web_buf_init(&suffix, 0);
    web_buf_str(&suffix, "&");
    web_query(&suffix, "week", p.week, "prison", prison, NULL);
    web_table_link(t, 0, "/payslip?prisoner=", suffix.data);
    web_buf_release(&suffix);
    if (p.have_totals) {
        char s[16], m[24], g[MONEY_TEXT_LEN], u[MONEY_TEXT_LEN], d[MONEY_TEXT_LEN],
            l[MONEY_TEXT_LEN], n[MONEY_TEXT_LEN];
        snprintf(s, sizeof s, "%u", p.totals.sessions);
        snprintf(m, sizeof m, "%" PRId64, p.totals.minutes);
        s_money(p.totals.gross, g);
        s_money(p.totals.top_up, u);
        s_money(p.totals.deductions, d);
        s_money(p.totals.levy, l);
        s_money(p.totals.net, n);
        const char *row[] = {"TOTAL", s, m, g, u, d, l, n};
        web_table_totals(t, row);
    }
    char count[16];
    snprintf(count, sizeof count, "%u", p.prisoners);
    web_view_fact(v, "prison", prison);
    web_view_fact(v, "week", p.week);
    web_view_fact(v, "state", p.closed ? "closed" : "open: top-up, deductions and levy come at "
                                                    "the close");
    web_view_fact(v, "prisoners", count);
    web_buf_t href;
    web_buf_init(&href, 0);
    web_buf_str(&href, "/payroll.csv?");
    web_query(&href, "prison", prison, "week", p.week, NULL);
    web_view_link(v, href.data, "Download CSV (FORMATS.md payroll export)");
    web_buf_release(&href);
    return 0;
}

int web_page_payroll_csv(web_req_t *r)
{
    const char *prison = web_arg(r, "prison"), *week = web_arg(r, "week");
    if (web_failed(r))
        return 0;
    if (!prison || !week)
        return web_fail(r, 400, "give prison and week");
    web_buf_t csv;
    web_buf_init(&csv, 0);
    s_payroll_t p;
    if (s_payroll_fetch(r, prison, week, NULL, &csv, &p) != 0) {
        web_buf_release(&csv);
        return web_fail_calls(r);
    }
    char name[96];
    snprintf(name, sizeof name, "payroll-%s-%s.csv", prison, p.week);
    size_t len = 0;
    char *data = web_buf_take(&csv, &len);
    if (!data)
        return web_fail(r, 500, "out of memory");
    for (char *c = name; *c; c++)
        if (*c == '"' || *c == '\\' || *c == '/')
            *c = '_';
    web_download(r, "text/csv; charset=utf-8", name, data, len);
    return 0;
}

/* ---- payslip ---------------------------------------------------------------------- */

/* Where the hours service has the prisoner's records that week. */
static int s_prison_of(web_req_t *r, const char *prisoner, const char *week, char prison[16])
{
    Pay__HoursListByPrisonerWeek l = PAY__HOURS_LIST_BY_PRISONER_WEEK__INIT;
    Pay__HoursRequest q = PAY__HOURS_REQUEST__INIT;
    l.prisoner = (char *)prisoner;
    l.week = (char *)week;
    q.body_case = PAY__HOURS_REQUEST__BODY_LIST_BY_PRISONER_WEEK;
    q.list_by_prisoner_week = &l;
    Pay__HoursReply *rep = web_ask_hours(r, &q);
    if (!rep)
        return -1;
    prison[0] = '\0';
    int many = 0;
    for (size_t i = 0; i < rep->n_records; i++) {
        const Pay__RecordState *s = rep->records[i]->state;
        if (!s || !s->prison)
            continue;
        if (!prison[0])
            snprintf(prison, 16, "%s", s->prison);
        else if (strcmp(prison, s->prison) != 0)
            many = 1;
    }
    web_reply_free(rep);
    if (!prison[0] || many) {
        r->calls.status = 404;
        snprintf(r->calls.error, sizeof r->calls.error, "%s: choose the prison (the hours service "
                 "has %s)", prisoner, many ? "records at more than one prison that week"
                                           : "no records that week");
        return -1;
    }
    return 0;
}

int web_page_payslip(web_req_t *r)
{
    const char *prisoner = web_arg(r, "prisoner"), *week = web_arg(r, "week");
    const char *prison = web_arg(r, "prison");
    if (web_failed(r))
        return 0;
    web_view_t *v = web_page(r, "Payslip");
    if (!v)
        return 0;
    if (!r->match.api) {
        web_buf_t f;
        web_buf_init(&f, 0);
        web_form_begin(&f, "get", "/payslip", NULL);
        web_form_input(&f, "text", "prisoner", "Prisoner", prisoner, "A1234BC");
        web_form_input(&f, "text", "week", "Week", week, "2026-W46");
        web_form_input(&f, "text", "prison", "Prison (optional)", prison, "MDI");
        web_form_submit(&f, "Show", NULL);
        web_form_end(&f);
        web_view_form(v, f.data);
        web_buf_release(&f);
    }
    if (!prisoner || !week) {
        if (r->match.api)
            return web_fail(r, 400, "give prisoner and week");
        web_view_note(v, "info", "give a prisoner number and a pay week");
        return 0;
    }
    char where[16];
    if (prison)
        snprintf(where, sizeof where, "%s", prison);
    else if (s_prison_of(r, prisoner, week, where) != 0)
        return web_fail_calls(r);
    static const char *const lcols[] = {"entry", "date", "kind", "description",
                                        "debit_account", "credit_account", "amount"};
    web_table_t *t = NULL;
    char token[S_TOKEN_LEN] = "";
    for (int first = 1;; first = 0) {
        Pay__PayslipQuery pq = PAY__PAYSLIP_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest q = PAY__WAGES_REQUEST__INIT;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        pq.prison = where;
        pq.week = (char *)week;
        pq.prisoner = (char *)prisoner;
        pq.page = &page;
        q.body_case = PAY__WAGES_REQUEST__BODY_PAYSLIP;
        q.payslip = &pq;
        Pay__WagesReply *rep = web_ask_wages(r, &q);
        if (!rep)
            return web_fail_calls(r);
        const Pay__PayslipReply *p =
            rep->body_case == PAY__WAGES_REPLY__BODY_PAYSLIP ? rep->payslip : NULL;
        if (first && p && p->payslip) {
            const Pay__WeekAggregate *a = p->payslip;
            const char *names[] = {"gross", "top_up", "income_tax", "national_insurance",
                                   "court_order", "child_maintenance", "deductions", "levy",
                                   "net"};
            int64_t money[] = {a->gross, a->top_up, a->income_tax, a->national_insurance,
                               a->court_order, a->child_maintenance, a->deductions, a->levy,
                               a->net};
            char s[16], m[24];
            snprintf(s, sizeof s, "%u", a->sessions);
            snprintf(m, sizeof m, "%" PRId64, a->minutes);
            web_view_fact(v, "prisoner", a->prisoner);
            web_view_fact(v, "prison", a->prison);
            web_view_fact(v, "week", a->week);
            web_view_fact(v, "closed", a->closed ? "yes" : "no");
            web_view_fact(v, "sessions", s);
            web_view_fact(v, "minutes", m);
            for (size_t i = 0; i < 9; i++) {
                char x[MONEY_TEXT_LEN];
                s_money(money[i], x);
                web_view_fact(v, names[i], x);
            }
        }
        if (first)
            t = web_view_table(v, "lines", "Ledger lines", lcols, 7);
        web_table_numeric(t, 6);
        for (size_t i = 0; p && i < p->n_lines; i++) {
            const Pay__LedgerLine *l = p->lines[i];
            char seq[24], amount[MONEY_TEXT_LEN];
            snprintf(seq, sizeof seq, "%" PRIu64, l->seq);
            s_money(l->amount, amount);
            const char *row[] = {seq, l->date, s_enum(&pay__line_kind__descriptor, l->kind),
                                 l->description && *l->description ? l->description : l->ref,
                                 l->debit, l->credit, amount};
            web_table_row(t, row);
        }
        int more = rep->next_page && *rep->next_page && strlen(rep->next_page) < sizeof token &&
                   strcmp(rep->next_page, token) != 0;
        if (more)
            snprintf(token, sizeof token, "%s", rep->next_page);
        web_reply_free(rep);
        if (!more)
            break;
    }
    return 0;
}

/* ---- ledger ------------------------------------------------------------------------- */

/* Every page of a prisoner's ledger: lines into t and/or CSV into csv. */
static int s_ledger_fetch(web_req_t *r, const char *prisoner, const char *from, const char *to,
                          web_table_t *t, web_buf_t *csv, int64_t *opening)
{
    char token[S_TOKEN_LEN] = "";
    for (int first = 1;; first = 0) {
        Pay__PrisonerLedgerQuery lq = PAY__PRISONER_LEDGER_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest q = PAY__WAGES_REQUEST__INIT;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        lq.prisoner = (char *)prisoner;
        lq.from = (char *)from;
        lq.to = (char *)to;
        lq.page = &page;
        lq.has_csv = 1;
        lq.csv = csv != NULL;
        q.body_case = PAY__WAGES_REQUEST__BODY_PRISONER_LEDGER;
        q.prisoner_ledger = &lq;
        Pay__WagesReply *rep = web_ask_wages(r, &q);
        if (!rep)
            return -1;
        if (rep->body_case == PAY__WAGES_REPLY__BODY_PRISONER_LEDGER) {
            const Pay__PrisonerLedgerReply *p = rep->prisoner_ledger;
            if (first)
                *opening = p->opening_balance;
            if (csv)
                web_buf_str(csv, p->csv);
            for (size_t i = 0; t && i < p->n_lines; i++) {
                const Pay__LedgerLine *l = p->lines[i];
                char seq[24], amount[MONEY_TEXT_LEN], bal[MONEY_TEXT_LEN];
                snprintf(seq, sizeof seq, "%" PRIu64, l->seq);
                s_money(l->amount, amount);
                s_money(l->balance, bal);
                const char *row[] = {seq, l->date, l->week, l->prison,
                                     s_enum(&pay__line_kind__descriptor, l->kind),
                                     l->description && *l->description ? l->description : l->ref,
                                     amount, bal};
                web_table_row(t, row);
            }
        }
        int more = rep->next_page && *rep->next_page && strlen(rep->next_page) < sizeof token &&
                   strcmp(rep->next_page, token) != 0;
        if (more)
            snprintf(token, sizeof token, "%s", rep->next_page);
        web_reply_free(rep);
        if (!more)
            return 0;
    }
}

int web_page_ledger(web_req_t *r)
{
    const char *prisoner = web_arg(r, "prisoner"), *from = web_arg(r, "from");
    const char *to = web_arg(r, "to");
    if (web_failed(r))
        return 0;
    web_view_t *v = web_page(r, "Prisoner ledger");
    if (!v)
        return 0;
    if (!r->match.api) {
        web_buf_t f;
        web_buf_init(&f, 0);
        web_form_begin(&f, "get", "/ledger", NULL);
        web_form_input(&f, "text", "prisoner", "Prisoner", prisoner, "A1234BC");
        web_form_input(&f, "date", "from", "From", from, NULL);
        web_form_input(&f, "date", "to", "To", to, NULL);
        web_form_submit(&f, "Show", NULL);
        web_form_end(&f);
        web_view_form(v, f.data);
        web_buf_release(&f);
    }
    if (!prisoner) {
        if (r->match.api)
            return web_fail(r, 400, "give prisoner");
        web_view_note(v, "info", "give a prisoner number and, if you like, a date range");
        return 0;
    }
    static const char *const cols[] = {"entry", "date", "week", "prison", "kind",
                                       "description", "amount", "balance"};
    web_table_t *t = web_view_table(v, "ledger", "Ledger lines", cols, 8);
    web_table_numeric(t, 6);
    web_table_numeric(t, 7);
    int64_t opening = 0;
    if (s_ledger_fetch(r, prisoner, from, to, t, NULL, &opening) != 0)
        return web_fail_calls(r);
    char ob[MONEY_TEXT_LEN];
    s_money(opening, ob);
    web_view_fact(v, "prisoner", prisoner);
    web_view_fact(v, "from", from ? from : "the beginning");
    web_view_fact(v, "to", to ? to : "no end");
    web_view_fact(v, "opening balance", ob);
    web_buf_t href;
    web_buf_init(&href, 0);
    web_buf_str(&href, "/ledger.csv?");
    web_query(&href, "prisoner", prisoner, "from", from, "to", to, NULL);
    web_view_link(v, href.data, "Download CSV (FORMATS.md prisoner ledger)");
    web_buf_release(&href);
    return 0;
}

int web_page_ledger_csv(web_req_t *r)
{
    const char *prisoner = web_arg(r, "prisoner"), *from = web_arg(r, "from");
    const char *to = web_arg(r, "to");
    if (web_failed(r))
        return 0;
    if (!prisoner)
        return web_fail(r, 400, "give prisoner");
    web_buf_t csv;
    web_buf_init(&csv, 0);
    int64_t opening;
    if (s_ledger_fetch(r, prisoner, from, to, NULL, &csv, &opening) != 0) {
        web_buf_release(&csv);
        return web_fail_calls(r);
    }
    size_t len;
    char *data = web_buf_take(&csv, &len);
    if (!data)
        return web_fail(r, 500, "out of memory");
    char name[96];
    snprintf(name, sizeof name, "ledger-%s.csv", prisoner);
    for (char *c = name; *c; c++)
        if (*c == '"' || *c == '\\' || *c == '/')
            *c = '_';
    web_download(r, "text/csv; charset=utf-8", name, data, len);
    return 0;
}

/* ---- exceptions and the hours norm ---------------------------------------------------- */

int web_page_exceptions(web_req_t *r)
{
    const char *prison = web_arg(r, "prison"), *week = web_arg(r, "week");
    const char *kind = web_arg(r, "kind");
    if (web_failed(r))
        return 0;
    web_view_t *v = web_page(r, "Exceptions");
    if (!v)
        return 0;
    if (!r->match.api)
        s_prison_week_form(r, v, "/exceptions", prison, week, 0);
    if (!prison) {
        if (r->match.api)
            return web_fail(r, 400, "give prison");
        web_view_note(v, "info", "choose a prison (and a week, or every week)");
        return 0;
    }
    static const char *const cols[] = {"prison", "week", "kind", "record_id", "prisoner",
                                       "contract", "date", "session", "minutes", "detail"};
    web_table_t *t = web_view_table(v, "exceptions", "Wage exceptions (NO_RATE, refused "
                                    "sessions, unpriceable, after close)", cols, 10);
    web_table_numeric(t, 8);
    char token[S_TOKEN_LEN] = "";
    for (;;) {
        Pay__ExceptionsQuery eq = PAY__EXCEPTIONS_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest q = PAY__WAGES_REQUEST__INIT;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        eq.prison = (char *)prison;
        eq.week = (char *)week;
        eq.kind = (char *)kind;
        eq.page = &page;
        q.body_case = PAY__WAGES_REQUEST__BODY_EXCEPTIONS;
        q.exceptions = &eq;
        Pay__WagesReply *rep = web_ask_wages(r, &q);
        if (!rep)
            return web_fail_calls(r);
        for (size_t i = 0; rep->body_case == PAY__WAGES_REPLY__BODY_EXCEPTIONS &&
                           i < rep->exceptions->n_exceptions; i++) {
            const Pay__WageException *e = rep->exceptions->exceptions[i];
            char minutes[16];
            snprintf(minutes, sizeof minutes, "%u", e->minutes);
            const char *row[] = {e->prison, e->week, e->kind, e->record_id, e->prisoner,
                                 e->contract, e->date,
                                 e->has_session ? s_enum(&pay__session__descriptor, e->session)
                                                : "",
                                 minutes, e->detail};
            web_table_row(t, row);
        }
        int more = rep->next_page && *rep->next_page && strlen(rep->next_page) < sizeof token &&
                   strcmp(rep->next_page, token) != 0;
        if (more)
            snprintf(token, sizeof token, "%s", rep->next_page);
        web_reply_free(rep);
        if (!more)
            break;
    }
    /* Billable hours that no billing terms price, from invoicing. */
    Pay__Exceptions ie = PAY__EXCEPTIONS__INIT;
    Pay__InvoicingRequest iq = PAY__INVOICING_REQUEST__INIT;
    iq.body_case = PAY__INVOICING_REQUEST__BODY_EXCEPTIONS;
    iq.exceptions = &ie;
    Pay__InvoicingReply *irep = web_ask_invoicing(r, &iq);
    if (irep) {
        static const char *const ncols[] = {"employer", "contract", "prison", "date", "minutes",
                                            "units"};
        web_table_t *nt = web_view_table(v, "no_terms", "Billable hours without billing terms "
                                         "(NO_TERMS)", ncols, 6);
        web_table_numeric(nt, 4);
        web_table_numeric(nt, 5);
        for (size_t i = 0; irep->exceptions && i < irep->exceptions->n_no_terms; i++) {
            const Pay__NoTermsRow *x = irep->exceptions->no_terms[i];
            if (x->prison && strcmp(x->prison, prison) != 0)
                continue;
            char m[24], u[24];
            snprintf(m, sizeof m, "%" PRId64, x->minutes);
            snprintf(u, sizeof u, "%" PRId64, x->units);
            const char *row[] = {x->employer, x->contract, x->prison, x->date, m, u};
            web_table_row(nt, row);
        }
        web_reply_free(irep);
    } else {
        web_view_note(v, "warn", "%s", r->calls.error);
        r->calls.status = 0;
    }
    return 0;
}

int web_page_norm(web_req_t *r)
{
    const char *prison = web_arg(r, "prison"), *week = web_arg(r, "week");
    if (web_failed(r))
        return 0;
    web_view_t *v = web_page(r, "Hours norm");
    if (!v)
        return 0;
    if (!r->match.api)
        s_prison_week_form(r, v, "/norm", prison, week, 1);
    if (!prison || !week) {
        if (r->match.api)
            return web_fail(r, 400, "give prison and week");
        web_view_note(v, "info", "choose a prison and a week");
        return 0;
    }
    Pay__HoursNormQuery nq = PAY__HOURS_NORM_QUERY__INIT;
    Pay__WagesRequest q = PAY__WAGES_REQUEST__INIT;
    nq.prison = (char *)prison;
    nq.week = (char *)week;
    q.body_case = PAY__WAGES_REQUEST__BODY_HOURS_NORM;
    q.hours_norm = &nq;
    Pay__WagesReply *rep = web_ask_wages(r, &q);
    if (!rep)
        return web_fail_calls(r);
    if (rep->body_case == PAY__WAGES_REPLY__BODY_HOURS_NORM) {
        const Pay__HoursNormReply *h = rep->hours_norm;
        char w[16], m[24], a40[16], share[24];
        snprintf(w, sizeof w, "%u", h->working_prisoners);
        snprintf(m, sizeof m, "%" PRId64, h->total_minutes);
        snprintf(a40, sizeof a40, "%u", h->at_40_hours);
        snprintf(share, sizeof share, "%u.%02u%%", h->share_bp / 100, h->share_bp % 100);
        web_view_fact(v, "prison", h->prison ? h->prison : prison);
        web_view_fact(v, "week", h->week ? h->week : week);
        web_view_fact(v, "working prisoners", w);
        web_view_fact(v, "total minutes", m);
        web_view_fact(v, "average hours", h->average_hours);
        web_view_fact(v, "at 40 hours", a40);
        web_view_fact(v, "share at 40 hours", share);
    } else {
        web_view_note(v, "warn", "the wages service sent no hours norm");
    }
    web_reply_free(rep);
    return 0;
}
