/* pctl_wages: see pctl_wages.h. */
#include "pctl_wages.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "csv.h"
#include "hours.pb-c.h"
#include "money.h"
#include "pctl_conn.h"
#include "pctl_import.h"
#include "pctl_invoices.h"
#include "rows.h"
#include "wage_journal.h"
#include "wages.pb-c.h"

#define S_PAGE 1000
#define S_TOKEN_LEN 512

/* ---- helpers ------------------------------------------------------------------ */

/* Sends `req` over `conn`. Returns the OK reply, or NULL after printing why. */
static Pay__WagesReply *s_ask(const pctl_ctx_t *ctx, pctl_conn_t *conn, Pay__WagesRequest *req)
{
    ProtobufCMessage *m = NULL;
    if (pctl_conn_call(conn, &req->base, &pay__wages_reply__descriptor, &m) != 0)
        return NULL;
    Pay__WagesReply *r = (Pay__WagesReply *)m;
    if (r->status != PAY__STATUS__OK) {
        pctl_fail(ctx, "%s: %s", codec_status_name(r->status), r->message ? r->message : "");
        codec_free(&m);
        return NULL;
    }
    return r;
}

static void s_free(Pay__WagesReply **r)
{
    ProtobufCMessage *m = *r ? &(*r)->base : NULL;
    codec_free(&m);
    *r = NULL;
}

/* The next page token of `r` into `token`. Returns 1 if there is another
 * page, 0 at the end, -1 (printed) for a token that would loop. */
static int s_next(const pctl_ctx_t *ctx, const Pay__WagesReply *r, char token[S_TOKEN_LEN])
{
    if (!r->next_page || !*r->next_page)
        return 0;
    if (strlen(r->next_page) >= S_TOKEN_LEN || strcmp(r->next_page, token) == 0) {
        pctl_fail(ctx, "the wages service sent a bad page token");
        return -1;
    }
    snprintf(token, S_TOKEN_LEN, "%s", r->next_page);
    return 1;
}

typedef struct {
    char *d;
    size_t n, cap;
    int failed;
} s_text_t;

static void s_text_add(s_text_t *t, const char *s)
{
    size_t len = strlen(s ? s : "");
    if (t->failed || len == 0)
        return;
    if (t->n + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->n + len + 1)
            cap *= 2;
        char *d = realloc(t->d, cap);
        if (!d) {
            t->failed = 1;
            return;
        }
        t->d = d;
        t->cap = cap;
    }
    memcpy(t->d + t->n, s, len + 1);
    t->n += len;
}

/* Parses CSV text (header first) into a new table whose columns are the
 * header's. Returns NULL after printing why. */
static out_table_t *s_csv_table(const pctl_ctx_t *ctx, const char *text, size_t len)
{
    out_table_t *t = NULL;
    FILE *f = fmemopen((void *)(len ? text : "\n"), len ? len : 1, "r");
    csv_reader_t *rd = f ? csv_reader_new(f, 0, 0) : NULL;
    csv_row_t row;
    if (!rd)
        goto fail;
    if (csv_reader_next(rd, &row) != CSV_ROW)
        goto fail;
    size_t ncols = row.ncells;
    if (!(t = out_table_new((const char *const *)row.cells, ncols)))
        goto fail;
    for (;;) {
        csv_status_t st = csv_reader_next(rd, &row);
        if (st == CSV_EOF)
            break;
        if (st != CSV_ROW || row.ncells != ncols ||
            out_table_add_row(t, (const char *const *)row.cells) != 0)
            goto fail;
    }
    csv_reader_destroy(&rd);
    fclose(f);
    return t;
fail:
    pctl_fail(ctx, "the wages service sent CSV that does not read back");
    out_table_destroy(&t);
    csv_reader_destroy(&rd);
    if (f)
        fclose(f);
    return NULL;
}

static int s_write(const pctl_ctx_t *ctx, out_table_t *t)
{
    int ok = t && out_table_write(t, ctx->format, stdout) == 0;
    return ok ? PCTL_EXIT_OK : pctl_fail(ctx, "cannot write the output");
}

static const char *s_enum(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    return ev ? ev->name : "";
}

/* Prints the per-row answers of a set/post request; exit 1 if any refused. */
static int s_items(const pctl_ctx_t *ctx, const Pay__WagesReply *r, const char *const *keys,
                   size_t n)
{
    static const char *const cols[] = {"key", "status", "message"};
    out_table_t *t = out_table_new(cols, 3);
    int refused = 0, ok = t != NULL;
    if (r->n_items != n) {
        out_table_destroy(&t);
        return pctl_fail(ctx, "the wages service answered %zu rows of %zu", r->n_items, n);
    }
    for (size_t i = 0; ok && i < r->n_items; i++) {
        const Pay__ItemResult *it = r->items[i];
        const char *row[] = {it->key && *it->key ? it->key : keys[i],
                             codec_status_name(it->status), it->message};
        refused += it->status != PAY__STATUS__OK;
        ok = out_table_add_row(t, row) == 0;
    }
    int code = ok ? s_write(ctx, t) : pctl_fail(ctx, "out of memory");
    out_table_destroy(&t);
    return code == PCTL_EXIT_OK && refused ? PCTL_EXIT_FAIL : code;
}

#define S_PARSE(opts, min, max)                                                         \
    const char *pos[2];                                                                 \
    int npos;                                                                           \
    int prc = pctl_args_parse(ctx, argc, argv, opts, pos, min, max, &npos);             \
    if (prc != 0)                                                                       \
        return prc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;                                \
    (void)pos;

static int s_require(pctl_ctx_t *ctx, const pctl_opt_t *opts, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = pctl_opt(opts, names[i]);
        if (!v || !*v)
            return pctl_usage_error(ctx, "--%s is required", names[i]);
    }
    return 0;
}
#define S_REQUIRE(...)                                                                  \
    do {                                                                                \
        const char *const req_[] = {__VA_ARGS__};                                       \
        int rq_ = s_require(ctx, opts, req_, sizeof req_ / sizeof *req_);               \
        if (rq_)                                                                        \
            return rq_;                                                                 \
    } while (0)

/* ---- rates ------------------------------------------------------------------------ */

int pctl_wages_rates_import(pctl_ctx_t *ctx, int argc, char **argv)
{
    /* `wages rates import FILE ...` is `import pay-rates FILE ...`. */
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args)
        return pctl_fail(ctx, "out of memory");
    args[0] = argv[0];
    args[1] = (char *)"pay-rates";
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    int code = pctl_import_run(ctx, argc + 1, args);
    free(args);
    return code;
}

int pctl_wages_rates_list(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {{"prison", "P", "prison code, e.g. MDI", NULL}, {0}};
    S_PARSE(opts, 0, 0);
    S_REQUIRE("prison");
    static const char *const cols[] = {"prison", "pay_band", "incentive_level", "effective_from",
                                       "basis", "rate", "piece_rate", "piece_rate_items"};
    out_table_t *t = out_table_new(cols, 8);
    pctl_conn_t *conn = t ? pctl_conn_new(ctx, PCTL_SVC_WAGES) : NULL;
    char token[S_TOKEN_LEN] = "";
    int code = PCTL_EXIT_FAIL, more = 1;
    if (!conn)
        goto done;
    while (more) {
        Pay__ListRates q = PAY__LIST_RATES__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        q.prison = (char *)pctl_opt(opts, "prison");
        q.page = &page;
        req.body_case = PAY__WAGES_REQUEST__BODY_LIST_RATES;
        req.list_rates = &q;
        Pay__WagesReply *r = s_ask(ctx, conn, &req);
        if (!r)
            goto done;
        int ok = 1;
        for (size_t i = 0; ok && r->body_case == PAY__WAGES_REPLY__BODY_RATES &&
                           i < r->rates->n_rates; i++) {
            const Pay__PayRate *x = r->rates->rates[i];
            char band[16], rate[MONEY_TEXT_LEN], piece[MONEY_TEXT_LEN] = "", items[24] = "";
            snprintf(band, sizeof band, "%u", x->pay_band);
            money_format(x->rate, rate);
            if (x->has_piece_rate_items && x->piece_rate_items) {
                money_format(x->piece_rate, piece);
                snprintf(items, sizeof items, "%" PRIu64, x->piece_rate_items);
            }
            const char *basis = x->basis == PAY__RATE_BASIS__RATE_SESSION  ? "SESSION"
                                : x->basis == PAY__RATE_BASIS__RATE_HOURLY ? "HOURLY"
                                                                           : "";
            const char *row[] = {x->prison, band,
                                 s_enum(&pay__incentive_level__descriptor, x->incentive_level),
                                 x->effective_from, basis, rate, piece, items};
            ok = out_table_add_row(t, row) == 0;
        }
        more = ok ? s_next(ctx, r, token) : -1;
        s_free(&r);
        if (more < 0)
            goto done;
    }
    code = s_write(ctx, t);
done:
    pctl_conn_destroy(&conn);
    out_table_destroy(&t);
    return code;
}

/* ---- ledger and payroll: the service's CSV, every page -------------------------- */

int pctl_wages_ledger(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"prisoner", "X", "prisoner number, e.g. A1234BC", NULL},
        {"from", "D", "first date, inclusive (default: the beginning)", NULL},
        {"to", "D", "last date, inclusive (default: no end)", NULL},
        {0},
    };
    S_PARSE(opts, 0, 0);
    S_REQUIRE("prisoner");
    s_text_t csv = {0};
    char token[S_TOKEN_LEN] = "";
    int code = PCTL_EXIT_FAIL, more = 1;
    int64_t opening = 0;
    out_table_t *t = NULL;
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_WAGES);
    if (!conn)
        goto done;
    for (int first = 1; more; first = 0) {
        Pay__PrisonerLedgerQuery q = PAY__PRISONER_LEDGER_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        q.prisoner = (char *)pctl_opt(opts, "prisoner");
        q.from = (char *)pctl_opt(opts, "from");
        q.to = (char *)pctl_opt(opts, "to");
        q.page = &page;
        q.has_csv = q.csv = 1;
        req.body_case = PAY__WAGES_REQUEST__BODY_PRISONER_LEDGER;
        req.prisoner_ledger = &q;
        Pay__WagesReply *r = s_ask(ctx, conn, &req);
        if (!r)
            goto done;
        if (r->body_case == PAY__WAGES_REPLY__BODY_PRISONER_LEDGER) {
            if (first)
                opening = r->prisoner_ledger->opening_balance;
            s_text_add(&csv, r->prisoner_ledger->csv);
        }
        more = s_next(ctx, r, token);
        s_free(&r);
        if (more < 0)
            goto done;
    }
    if (csv.failed) {
        pctl_fail(ctx, "out of memory");
        goto done;
    }
    if (ctx->format == OUT_CSV) {
        code = (csv.n && fwrite(csv.d, 1, csv.n, stdout) != csv.n) || fflush(stdout) != 0
                   ? pctl_fail(ctx, "cannot write the output")
                   : PCTL_EXIT_OK;
        goto done;
    }
    if (!(t = s_csv_table(ctx, csv.d, csv.n)))
        goto done;
    if (ctx->format == OUT_TABLE) {
        char ob[MONEY_TEXT_LEN];
        money_format(opening, ob);
        printf("opening balance %s\n", ob);
    }
    code = s_write(ctx, t);
done:
    out_table_destroy(&t);
    free(csv.d);
    pctl_conn_destroy(&conn);
    return code;
}

int pctl_wages_payroll(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"prison", "P", "prison code, e.g. MDI", NULL},
        {"week", "W", "ISO week, e.g. 2026-W48", NULL},
        {0},
    };
    S_PARSE(opts, 0, 0);
    S_REQUIRE("prison", "week");
    s_text_t csv = {0};
    char token[S_TOKEN_LEN] = "";
    int code = PCTL_EXIT_FAIL, more = 1, closed = 0, have_totals = 0;
    Pay__PayrollRow tot = PAY__PAYROLL_ROW__INIT;
    char week[32] = "";
    out_table_t *t = NULL;
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_WAGES);
    if (!conn)
        goto done;
    for (int first = 1; more; first = 0) {
        Pay__PayrollQuery q = PAY__PAYROLL_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        q.prison = (char *)pctl_opt(opts, "prison");
        q.week = (char *)pctl_opt(opts, "week");
        q.page = &page;
        q.has_csv = q.csv = 1;
        req.body_case = PAY__WAGES_REQUEST__BODY_PAYROLL;
        req.payroll = &q;
        Pay__WagesReply *r = s_ask(ctx, conn, &req);
        if (!r)
            goto done;
        if (r->body_case == PAY__WAGES_REPLY__BODY_PAYROLL) {
            const Pay__PayrollReply *p = r->payroll;
            if (first) {
                closed = p->closed;
                snprintf(week, sizeof week, "%s", p->week ? p->week : q.week);
                if (p->totals) {
                    tot = *p->totals;
                    tot.prisoner = NULL;
                    have_totals = 1;
                }
            }
            s_text_add(&csv, p->csv);
        }
        more = s_next(ctx, r, token);
        s_free(&r);
        if (more < 0)
            goto done;
    }
    if (csv.failed) {
        pctl_fail(ctx, "out of memory");
        goto done;
    }
    if (ctx->format == OUT_CSV) {
        code = (csv.n && fwrite(csv.d, 1, csv.n, stdout) != csv.n) || fflush(stdout) != 0
                   ? pctl_fail(ctx, "cannot write the output")
                   : PCTL_EXIT_OK;
        goto done;
    }
    if (!(t = s_csv_table(ctx, csv.d, csv.n)))
        goto done;
    for (size_t c = 3; c <= 9; c++)
        out_table_set_numeric(t, c, 1);
    if (have_totals) {
        char s[16], m[24], g[MONEY_TEXT_LEN], u[MONEY_TEXT_LEN], d[MONEY_TEXT_LEN],
            l[MONEY_TEXT_LEN], n[MONEY_TEXT_LEN];
        snprintf(s, sizeof s, "%u", tot.sessions);
        snprintf(m, sizeof m, "%" PRId64, tot.minutes);
        money_format(tot.gross, g);
        money_format(tot.top_up, u);
        money_format(tot.deductions, d);
        money_format(tot.levy, l);
        money_format(tot.net, n);
        const char *row[] = {pctl_opt(opts, "prison"), week, "TOTAL", s, m, g, u, d, l, n};
        if (out_table_add_row(t, row) != 0) {
            pctl_fail(ctx, "out of memory");
            goto done;
        }
    }
    if (ctx->format == OUT_TABLE)
        printf("payroll %s %s (%s)\n", pctl_opt(opts, "prison"), week,
               closed ? "closed" : "open: top-up, deductions and levy come at the close");
    code = s_write(ctx, t);
done:
    out_table_destroy(&t);
    free(csv.d);
    pctl_conn_destroy(&conn);
    return code;
}

/* ---- payslip ------------------------------------------------------------------------ */

/* The prison where the hours service has the prisoner's records in `week`.
 * Returns 0 with prison set, or -1 after printing why. */
static int s_prison_of(pctl_ctx_t *ctx, const char *prisoner, const char *week, char prison[8])
{
    Pay__HoursListByPrisonerWeek l = PAY__HOURS_LIST_BY_PRISONER_WEEK__INIT;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    l.prisoner = (char *)prisoner;
    l.week = (char *)week;
    req.body_case = PAY__HOURS_REQUEST__BODY_LIST_BY_PRISONER_WEEK;
    req.list_by_prisoner_week = &l;
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_HOURS);
    int rc = conn ? pctl_conn_call(conn, &req.base, &pay__hours_reply__descriptor, &m) : -1;
    pctl_conn_destroy(&conn);
    if (rc != 0)
        return -1;
    const Pay__HoursReply *r = (const Pay__HoursReply *)m;
    prison[0] = '\0';
    int many = 0;
    if (r->status != PAY__STATUS__OK) {
        pctl_fail(ctx, "%s: %s", codec_status_name(r->status), r->message ? r->message : "");
        codec_free(&m);
        return -1;
    }
    for (size_t i = 0; i < r->n_records; i++) {
        const Pay__RecordState *s = r->records[i]->state;
        if (!s || !s->prison)
            continue;
        if (!prison[0])
            snprintf(prison, 8, "%s", s->prison);
        else if (strcmp(prison, s->prison) != 0)
            many = 1;
    }
    codec_free(&m);
    if (!prison[0] || many) {
        pctl_fail(ctx, "%s: give --prison (the hours service has %s)", prisoner,
                  many ? "records at more than one prison that week" : "no records that week");
        return -1;
    }
    return 0;
}

int pctl_wages_payslip(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"prisoner", "X", "prisoner number, e.g. A1234BC", NULL},
        {"week", "W", "ISO week, e.g. 2026-W48", NULL},
        {"prison", "P", "the prison (default: where the prisoner's hours are)", NULL},
        {"lines", NULL, "show the payslip's ledger lines instead of its totals", NULL},
        {0},
    };
    S_PARSE(opts, 0, 0);
    S_REQUIRE("prisoner", "week");
    char prison[8];
    if (pctl_opt(opts, "prison"))
        snprintf(prison, sizeof prison, "%s", pctl_opt(opts, "prison"));
    else if (s_prison_of(ctx, pctl_opt(opts, "prisoner"), pctl_opt(opts, "week"), prison) != 0)
        return PCTL_EXIT_FAIL;
    int lines = pctl_opt(opts, "lines") != NULL;
    static const char *const pcols[] = {
        "prison", "week", "prisoner", "closed", "sessions", "minutes", "gross", "top_up",
        "income_tax", "national_insurance", "court_order", "child_maintenance", "deductions",
        "levy", "net"};
    static const char *const lcols[] = {"entry", "date", "kind", "description", "debit_account",
                                        "credit_account", "amount"};
    out_table_t *t = lines ? out_table_new(lcols, 7) : out_table_new(pcols, 15);
    pctl_conn_t *conn = t ? pctl_conn_new(ctx, PCTL_SVC_WAGES) : NULL;
    char token[S_TOKEN_LEN] = "";
    int code = PCTL_EXIT_FAIL, more = 1;
    if (!conn)
        goto done;
    for (int first = 1; more; first = 0) {
        Pay__PayslipQuery q = PAY__PAYSLIP_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        q.prison = prison;
        q.week = (char *)pctl_opt(opts, "week");
        q.prisoner = (char *)pctl_opt(opts, "prisoner");
        q.page = &page;
        req.body_case = PAY__WAGES_REQUEST__BODY_PAYSLIP;
        req.payslip = &q;
        Pay__WagesReply *r = s_ask(ctx, conn, &req);
        if (!r)
            goto done;
        int ok = 1;
        const Pay__PayslipReply *p =
            r->body_case == PAY__WAGES_REPLY__BODY_PAYSLIP ? r->payslip : NULL;
        if (p && first && !lines && p->payslip) {
            const Pay__WeekAggregate *a = p->payslip;
            char v[11][MONEY_TEXT_LEN], s[16], m[24];
            int64_t money[] = {a->gross, a->top_up, a->income_tax, a->national_insurance,
                               a->court_order, a->child_maintenance, a->deductions, a->levy,
                               a->net};
            for (size_t i = 0; i < 9; i++)
                money_format(money[i], v[i]);
            snprintf(s, sizeof s, "%u", a->sessions);
            snprintf(m, sizeof m, "%" PRId64, a->minutes);
            const char *row[] = {a->prison, a->week, a->prisoner, a->closed ? "yes" : "no",
                                 s, m, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
            ok = out_table_add_row(t, row) == 0;
        }
        for (size_t i = 0; p && lines && ok && i < p->n_lines; i++) {
            const Pay__LedgerLine *l = p->lines[i];
            char seq[24], amount[MONEY_TEXT_LEN];
            snprintf(seq, sizeof seq, "%" PRIu64, l->seq);
            money_format(l->amount, amount);
            const char *row[] = {seq, l->date, s_enum(&pay__line_kind__descriptor, l->kind),
                                 l->description && *l->description ? l->description : l->ref,
                                 l->debit, l->credit, amount};
            ok = out_table_add_row(t, row) == 0;
        }
        more = ok ? (lines ? s_next(ctx, r, token) : 0) : -1;
        s_free(&r);
        if (more < 0)
            goto done;
    }
    code = s_write(ctx, t);
done:
    pctl_conn_destroy(&conn);
    out_table_destroy(&t);
    return code;
}

/* ---- exceptions and the hours norm ---------------------------------------------------- */

int pctl_wages_exceptions(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"prison", "P", "prison code, e.g. MDI", NULL},
        {"week", "W", "ISO week (default: every week)", NULL},
        {"kind", "K", "NO_RATE, REFUSED, UNPRICEABLE or AFTER_CLOSE (default: all)", NULL},
        {0},
    };
    S_PARSE(opts, 0, 0);
    S_REQUIRE("prison");
    static const char *const cols[] = {"prison", "week", "kind", "record_id", "prisoner",
                                       "contract", "date", "session", "minutes", "detail"};
    out_table_t *t = out_table_new(cols, 10);
    pctl_conn_t *conn = t ? pctl_conn_new(ctx, PCTL_SVC_WAGES) : NULL;
    char token[S_TOKEN_LEN] = "";
    int code = PCTL_EXIT_FAIL, more = 1;
    if (!conn)
        goto done;
    out_table_set_numeric(t, 8, 1);
    while (more) {
        Pay__ExceptionsQuery q = PAY__EXCEPTIONS_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        q.prison = (char *)pctl_opt(opts, "prison");
        q.week = (char *)pctl_opt(opts, "week");
        q.kind = (char *)pctl_opt(opts, "kind");
        q.page = &page;
        req.body_case = PAY__WAGES_REQUEST__BODY_EXCEPTIONS;
        req.exceptions = &q;
        Pay__WagesReply *r = s_ask(ctx, conn, &req);
        if (!r)
            goto done;
        int ok = 1;
        for (size_t i = 0; ok && r->body_case == PAY__WAGES_REPLY__BODY_EXCEPTIONS &&
                           i < r->exceptions->n_exceptions; i++) {
            const Pay__WageException *e = r->exceptions->exceptions[i];
            char minutes[16];
            snprintf(minutes, sizeof minutes, "%u", e->minutes);
            const char *row[] = {e->prison, e->week, e->kind, e->record_id, e->prisoner,
                                 e->contract, e->date,
                                 e->has_session ? s_enum(&pay__session__descriptor, e->session)
                                                : NULL,
                                 minutes, e->detail};
            ok = out_table_add_row(t, row) == 0;
        }
        more = ok ? s_next(ctx, r, token) : -1;
        s_free(&r);
        if (more < 0)
            goto done;
    }
    code = s_write(ctx, t);
done:
    pctl_conn_destroy(&conn);
    out_table_destroy(&t);
    return code;
}

int pctl_wages_norm(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"prison", "P", "prison code, e.g. MDI", NULL},
        {"week", "W", "ISO week, e.g. 2026-W48", NULL},
        {0},
    };
    S_PARSE(opts, 0, 0);
    S_REQUIRE("prison", "week");
    Pay__HoursNormQuery q = PAY__HOURS_NORM_QUERY__INIT;
    Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
    q.prison = (char *)pctl_opt(opts, "prison");
    q.week = (char *)pctl_opt(opts, "week");
    req.body_case = PAY__WAGES_REQUEST__BODY_HOURS_NORM;
    req.hours_norm = &q;
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_WAGES);
    if (!conn)
        return PCTL_EXIT_FAIL;
    Pay__WagesReply *r = s_ask(ctx, conn, &req);
    pctl_conn_destroy(&conn);
    if (!r)
        return PCTL_EXIT_FAIL;
    int code;
    if (r->body_case != PAY__WAGES_REPLY__BODY_HOURS_NORM) {
        code = pctl_fail(ctx, "the wages service sent no hours norm");
    } else {
        const Pay__HoursNormReply *h = r->hours_norm;
        static const char *const cols[] = {"prison", "week", "working_prisoners",
                                           "total_minutes", "average_hours", "at_40_hours",
                                           "share_at_40_hours"};
        char w[16], m[24], a40[16], share[24];
        snprintf(w, sizeof w, "%u", h->working_prisoners);
        snprintf(m, sizeof m, "%" PRId64, h->total_minutes);
        snprintf(a40, sizeof a40, "%u", h->at_40_hours);
        snprintf(share, sizeof share, "%u.%02u%%", h->share_bp / 100, h->share_bp % 100);
        const char *row[] = {h->prison ? h->prison : q.prison, h->week ? h->week : q.week, w, m,
                             h->average_hours, a40, share};
        out_table_t *t = out_table_new(cols, 7);
        code = t && out_table_add_row(t, row) == 0 ? s_write(ctx, t)
                                                   : pctl_fail(ctx, "out of memory");
        out_table_destroy(&t);
    }
    s_free(&r);
    return code;
}

/* ---- deductions and adjustments (finance) ------------------------------------------- */

int pctl_wages_deductions_add(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"prisoner", "X", "prisoner number", NULL},
        {"week", "W", "ISO week, e.g. 2026-W48", NULL},
        {"kind", "K", "INCOME_TAX, NATIONAL_INSURANCE, COURT_ORDER or CHILD_MAINTENANCE", NULL},
        {"amount", "A", "pounds, e.g. 1.50 (the same key again replaces it)", NULL},
        {0},
    };
    S_PARSE(opts, 0, 0);
    S_REQUIRE("prisoner", "week", "kind", "amount");
    /* The FORMATS.md deductions row, checked exactly as an import checks it. */
    const char *cells[] = {pctl_opt(opts, "prisoner"), pctl_opt(opts, "week"),
                           pctl_opt(opts, "kind"), pctl_opt(opts, "amount")};
    rows_deduction_t d;
    rows_error_t err;
    if (rows_parse_deduction(cells, 4, &d, &err) != 0)
        return pctl_fail(ctx, "%s: %s", err.code, err.message);
    Pay__Deduction m = PAY__DEDUCTION__INIT;
    Pay__Deduction *ms[1] = {&m};
    Pay__SetDeductions s = PAY__SET_DEDUCTIONS__INIT;
    Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
    m.prisoner = (char *)cells[0];
    m.week = (char *)cells[1];
    m.has_kind = m.has_amount = 1;
    m.kind = (Pay__DeductionKind)(d.kind + 1);
    m.amount = d.amount;
    s.n_deductions = 1;
    s.deductions = ms;
    req.body_case = PAY__WAGES_REQUEST__BODY_SET_DEDUCTIONS;
    req.set_deductions = &s;
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_WAGES);
    Pay__WagesReply *r = conn ? s_ask(ctx, conn, &req) : NULL;
    pctl_conn_destroy(&conn);
    if (!r)
        return PCTL_EXIT_FAIL;
    char key[96];
    snprintf(key, sizeof key, "%s/%s/%s", cells[0], cells[1], cells[2]);
    const char *keys[] = {key};
    int code = s_items(ctx, r, keys, 1);
    s_free(&r);
    return code;
}

int pctl_wages_adjustments_add(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"id", "ID", "the adjustment's id (its idempotency key)", NULL},
        {"prisoner", "X", "prisoner number", NULL},
        {"prison", "P", "prison code", NULL},
        {"week", "W", "an open ISO week, e.g. 2026-W48", NULL},
        {"amount", "A", "pounds, positive or negative, not 0, e.g. -2.50", NULL},
        {"reason", "R", "why", NULL},
        {0},
    };
    S_PARSE(opts, 0, 0);
    S_REQUIRE("id", "prisoner", "prison", "week", "amount", "reason");
    int64_t amount;
    if (money_parse(pctl_opt(opts, "amount"), 1, &amount) != 0 || amount == 0)
        return pctl_fail(ctx, "INVALID_ARGUMENT: amount: pounds with up to 2 decimals, not 0, "
                              "e.g. -2.50");
    Pay__Adjustment a = PAY__ADJUSTMENT__INIT;
    Pay__Adjustment *as[1] = {&a};
    Pay__PostAdjustments p = PAY__POST_ADJUSTMENTS__INIT;
    Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
    a.adjustment_id = (char *)pctl_opt(opts, "id");
    a.prisoner = (char *)pctl_opt(opts, "prisoner");
    a.prison = (char *)pctl_opt(opts, "prison");
    a.week = (char *)pctl_opt(opts, "week");
    a.has_amount = 1;
    a.amount = amount;
    a.reason = (char *)pctl_opt(opts, "reason");
    p.n_adjustments = 1;
    p.adjustments = as;
    req.body_case = PAY__WAGES_REQUEST__BODY_POST_ADJUSTMENTS;
    req.post_adjustments = &p;
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_WAGES);
    Pay__WagesReply *r = conn ? s_ask(ctx, conn, &req) : NULL;
    pctl_conn_destroy(&conn);
    if (!r)
        return PCTL_EXIT_FAIL;
    const char *keys[] = {a.adjustment_id};
    int code = s_items(ctx, r, keys, 1);
    s_free(&r);
    return code;
}

/* ---- the hledger journal ----------------------------------------------------------- */

int pctl_wages_export_journal(pctl_ctx_t *ctx, int argc, char **argv)
{
    S_PARSE(NULL, 1, 1);
    const char *file = pos[0];
    s_text_t text = {0};
    wage_text_t journal = {0};
    char token[S_TOKEN_LEN] = "";
    int code = PCTL_EXIT_FAIL, more = 1;
    uint64_t lines = 0;
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_WAGES);
    if (!conn)
        goto done;
    while (more) {
        Pay__JournalQuery q = PAY__JOURNAL_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        page.token = token;
        page.has_size = 1;
        page.size = S_PAGE;
        q.page = &page;
        req.body_case = PAY__WAGES_REQUEST__BODY_JOURNAL;
        req.journal = &q;
        Pay__WagesReply *r = s_ask(ctx, conn, &req);
        if (!r)
            goto done;
        if (r->body_case == PAY__WAGES_REPLY__BODY_JOURNAL) {
            s_text_add(&text, r->journal->text);
            lines += r->journal->lines;
        }
        more = s_next(ctx, r, token);
        s_free(&r);
        if (more < 0)
            goto done;
    }
    /* Sorted by date, with the account directives (wage_journal.h). */
    if (text.failed || wage_journal_finish(text.d ? text.d : "", text.n, &journal) != 0) {
        pctl_fail(ctx, "out of memory");
        goto done;
    }
    if (strcmp(file, "-") == 0) {
        if ((journal.len && fwrite(journal.data, 1, journal.len, stdout) != journal.len)
            || fflush(stdout) != 0) {
            pctl_fail(ctx, "cannot write the output");
            goto done;
        }
    } else {
        if (pctl_write_file(ctx, file, journal.data ? journal.data : "", journal.len) != 0)
            goto done;
        fprintf(stderr, "payctl: %s: wrote %s (%" PRIu64 " ledger lines)\n", ctx->path, file,
                lines);
    }
    code = PCTL_EXIT_OK;
done:
    free(text.d);
    wage_text_free(&journal);
    pctl_conn_destroy(&conn);
    return code;
}
