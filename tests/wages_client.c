/* wages_client: a small command-line client of the wage service's API, for
 * the process tests (Python drives it) and the benchmark.
 *
 *   wages_client --endpoint EP --server-pub FILE --key FILE [--timeout MS]
 *                [--request-id ID] CMD ARGS...
 *
 * --request-id sends the (first) request with that id, so a test can play
 * a client's resend of the same request.
 *
 * The first output line is always "status=<STATUS> message=<text>"; then
 * one line per item or row, as "word key=value ...". Exit status: 0 when
 * the reply status is OK, 3 when it is not, 1 when no reply came, 2 for a
 * usage error. Commands:
 *   health
 *   set-rates CSV             prison,pay_band,incentive_level,effective_from,basis,rate,piece_rate,piece_rate_items
 *   set-policy PRISON DATE MIN_WEEKLY_PENCE [SESSION_MIN SESSION_MAX HOURLY_MIN HOURLY_MAX PIECE_MAX]
 *   set-outside PRISON CSV    contract,effective_from,hourly_wage
 *   set-deductions CSV        prisoner,week,kind,amount
 *   adjust ID PRISONER PRISON WEEK PENCE REASON
 *   payroll PRISON WEEK [PAGE_SIZE]        every page; rows then "total"
 *   payroll-csv PRISON WEEK [PAGE_SIZE]    the CSV export, every page
 *   payslip PRISON WEEK PRISONER
 *   ledger PRISONER [FROM [TO [PAGE_SIZE]]]
 *   ledger-csv PRISONER [FROM [TO]]
 *   exceptions PRISON [WEEK [KIND]]
 *   norm PRISON WEEK
 *   balances [PREFIX [PAGE_SIZE]]
 *   recon [PRISON [WEEK]]
 *   journal FILE [PAGE_SIZE]
 *   list-rates PRISON
 *   backup DIR
 *   time-payroll PRISON WEEK N   runs the payroll query N times (page 1000), prints timings */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "client.h"
#include "clock.h"
#include "codec.h"
#include "log.h"
#include "money.h"
#include "wages.pb-c.h"

static client_t *s_client;
static unsigned s_counter;
static const char *s_request_id;   /* --request-id: the first request's id */

static Pay__WagesReply *s_call(Pay__WagesRequest *req)
{
    char id[64];
    if (s_request_id && s_counter++ == 0)
        snprintf(id, sizeof id, "%s", s_request_id);
    else
        snprintf(id, sizeof id, "cli-%ld-%u-%ld", (long)clock_unix_now(), ++s_counter,
                 (long)clock_mono_ms());
    req->request_id = id;
    ProtobufCMessage *reply = NULL;
    if (client_call(s_client, &req->base, &pay__wages_reply__descriptor, &reply) != 0) {
        printf("status=NO_REPLY message=%s\n", strerror(errno));
        exit(1);
    }
    return (Pay__WagesReply *)reply;
}

/* Prints the status line; returns 1 if OK. */
static int s_status(const Pay__WagesReply *r, int print)
{
    if (print || r->status != PAY__STATUS__OK)
        printf("status=%s message=%s\n", codec_status_name(r->status),
               r->message ? r->message : "");
    return r->status == PAY__STATUS__OK;
}

static void s_free(Pay__WagesReply **r)
{
    codec_free((ProtobufCMessage **)r);
}

static int s_items(Pay__WagesReply *r)
{
    int ok = s_status(r, 1);
    for (size_t i = 0; i < r->n_items; i++)
        printf("item index=%u status=%s key=%s message=%s\n", r->items[i]->index,
               codec_status_name(r->items[i]->status), r->items[i]->key ? r->items[i]->key : "",
               r->items[i]->message ? r->items[i]->message : "");
    s_free(&r);
    return ok ? 0 : 3;
}

/* Splits a CSV line without quotes into at most `max` fields (empty kept). */
static int s_split(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line;
    while (n < max) {
        f[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

typedef struct {
    char **lines;
    size_t n;
} s_rows_t;

static int s_read_rows(const char *path, s_rows_t *rows)
{
    FILE *f = fopen(path, "r");
    char buf[1024];
    int first = 1;
    if (!f)
        return -1;
    while (fgets(buf, sizeof buf, f)) {
        if (first) {   /* the header */
            first = 0;
            continue;
        }
        if (buf[0] == '\n' || buf[0] == '\0')
            continue;
        char **p = realloc(rows->lines, (rows->n + 1) * sizeof *p);
        if (!p)
            break;
        rows->lines = p;
        rows->lines[rows->n++] = strdup(buf);
    }
    fclose(f);
    return 0;
}

static Pay__IncentiveLevel s_level(const char *s)
{
    static const char *const n[] = { "", "BAS", "ENT", "STD", "ENH", "EN2" };
    for (int i = 1; i < 6; i++)
        if (strcmp(s, n[i]) == 0)
            return (Pay__IncentiveLevel)i;
    return PAY__INCENTIVE_LEVEL__INCENTIVE_UNSPECIFIED;
}

static int64_t s_money(const char *s)
{
    int64_t p = 0;
    if (money_parse(s, 1, &p) != 0)
        return -999999;
    return p;
}

static int s_set_rates(const char *path)
{
    s_rows_t rows = { 0 };
    if (s_read_rows(path, &rows) != 0)
        return 2;
    Pay__PayRate *r = calloc(rows.n + 1, sizeof *r);
    Pay__PayRate **rp = calloc(rows.n + 1, sizeof *rp);
    for (size_t i = 0; i < rows.n; i++) {
        char *f[8] = { 0 };
        int nf = s_split(rows.lines[i], f, 8);
        pay__pay_rate__init(&r[i]);
        rp[i] = &r[i];
        if (nf < 6)
            continue;
        r[i].prison = f[0];
        r[i].has_pay_band = 1;
        r[i].pay_band = (uint32_t)atoi(f[1]);
        r[i].has_incentive_level = 1;
        r[i].incentive_level = s_level(f[2]);
        r[i].effective_from = f[3];
        r[i].has_basis = 1;
        r[i].basis = strcmp(f[4], "SESSION") == 0 ? PAY__RATE_BASIS__RATE_SESSION
                     : strcmp(f[4], "HOURLY") == 0 ? PAY__RATE_BASIS__RATE_HOURLY
                     : PAY__RATE_BASIS__RATE_BASIS_UNSPECIFIED;
        r[i].has_rate = 1;
        r[i].rate = s_money(f[5]);
        if (nf >= 8 && f[6][0] && f[7][0]) {
            r[i].has_piece_rate = r[i].has_piece_rate_items = 1;
            r[i].piece_rate = s_money(f[6]);
            r[i].piece_rate_items = strtoull(f[7], NULL, 10);
        }
    }
    Pay__SetRates b = PAY__SET_RATES__INIT;
    b.n_rates = rows.n;
    b.rates = rp;
    Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
    req.body_case = PAY__WAGES_REQUEST__BODY_SET_RATES;
    req.set_rates = &b;
    int rc = s_items(s_call(&req));
    for (size_t i = 0; i < rows.n; i++)
        free(rows.lines[i]);
    free(rows.lines);
    free(r);
    free(rp);
    return rc;
}

static int s_set_outside(const char *prison, const char *path)
{
    s_rows_t rows = { 0 };
    if (s_read_rows(path, &rows) != 0)
        return 2;
    Pay__OutsideWage *w = calloc(rows.n + 1, sizeof *w);
    Pay__OutsideWage **wp = calloc(rows.n + 1, sizeof *wp);
    for (size_t i = 0; i < rows.n; i++) {
        char *f[3] = { 0 };
        int nf = s_split(rows.lines[i], f, 3);
        pay__outside_wage__init(&w[i]);
        wp[i] = &w[i];
        w[i].prison = (char *)prison;
        if (nf < 3)
            continue;
        w[i].contract = f[0];
        w[i].effective_from = f[1];
        w[i].has_hourly_wage = 1;
        w[i].hourly_wage = s_money(f[2]);
    }
    Pay__SetOutsideWages b = PAY__SET_OUTSIDE_WAGES__INIT;
    b.n_wages = rows.n;
    b.wages = wp;
    Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
    req.body_case = PAY__WAGES_REQUEST__BODY_SET_OUTSIDE_WAGES;
    req.set_outside_wages = &b;
    int rc = s_items(s_call(&req));
    for (size_t i = 0; i < rows.n; i++)
        free(rows.lines[i]);
    free(rows.lines);
    free(w);
    free(wp);
    return rc;
}

static int s_set_deductions(const char *path)
{
    static const char *const kinds[] = { "", "INCOME_TAX", "NATIONAL_INSURANCE",
                                         "COURT_ORDER", "CHILD_MAINTENANCE" };
    s_rows_t rows = { 0 };
    if (s_read_rows(path, &rows) != 0)
        return 2;
    Pay__Deduction *d = calloc(rows.n + 1, sizeof *d);
    Pay__Deduction **dp = calloc(rows.n + 1, sizeof *dp);
    for (size_t i = 0; i < rows.n; i++) {
        char *f[4] = { 0 };
        int nf = s_split(rows.lines[i], f, 4);
        pay__deduction__init(&d[i]);
        dp[i] = &d[i];
        if (nf < 4)
            continue;
        d[i].prisoner = f[0];
        d[i].week = f[1];
        d[i].has_kind = 1;
        for (int k = 1; k < 5; k++)
            if (strcmp(f[2], kinds[k]) == 0)
                d[i].kind = (Pay__DeductionKind)k;
        d[i].has_amount = 1;
        d[i].amount = s_money(f[3]);
    }
    Pay__SetDeductions b = PAY__SET_DEDUCTIONS__INIT;
    b.n_deductions = rows.n;
    b.deductions = dp;
    Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
    req.body_case = PAY__WAGES_REQUEST__BODY_SET_DEDUCTIONS;
    req.set_deductions = &b;
    int rc = s_items(s_call(&req));
    for (size_t i = 0; i < rows.n; i++)
        free(rows.lines[i]);
    free(rows.lines);
    free(d);
    free(dp);
    return rc;
}

static void s_print_line(const Pay__LedgerLine *l)
{
    printf("line seq=%llu date=%s week=%s kind=%d prison=%s debit=%s credit=%s amount=%lld "
           "balance=%lld ref=%s\n",
           (unsigned long long)l->seq, l->date ? l->date : "", l->week ? l->week : "",
           (int)l->kind, l->prison ? l->prison : "", l->debit ? l->debit : "",
           l->credit ? l->credit : "", (long long)l->amount, (long long)l->balance,
           l->ref ? l->ref : "");
}

static void s_print_row(const char *word, const Pay__PayrollRow *r)
{
    printf("%s prisoner=%s sessions=%u minutes=%lld gross=%lld top_up=%lld deductions=%lld "
           "levy=%lld net=%lld\n",
           word, r->prisoner ? r->prisoner : "", r->sessions, (long long)r->minutes,
           (long long)r->gross, (long long)r->top_up, (long long)r->deductions,
           (long long)r->levy, (long long)r->net);
}

static Pay__WagesPage *s_page(Pay__WagesPage *pg, const char *token, uint32_t size)
{
    pay__wages_page__init(pg);
    pg->token = (char *)token;
    pg->has_size = size > 0;
    pg->size = size;
    return pg;
}

static int s_payroll(const char *prison, const char *week, uint32_t size, int csv, int times)
{
    char *token = NULL;
    int pages = 0, first = 1;
    int64_t t0 = 0, best = INT64_MAX, total_ms = 0;
    for (int rep = 0; rep < (times ? times : 1); rep++) {
        free(token);
        token = NULL;
        pages = 0;
        first = 1;
        t0 = clock_mono_ms();
        do {
            Pay__WagesPage pg;
            Pay__PayrollQuery q = PAY__PAYROLL_QUERY__INIT;
            q.prison = (char *)prison;
            q.week = (char *)week;
            q.page = s_page(&pg, token, size);
            q.has_csv = 1;
            q.csv = csv;
            Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
            req.body_case = PAY__WAGES_REQUEST__BODY_PAYROLL;
            req.payroll = &q;
            Pay__WagesReply *r = s_call(&req);
            if (!s_status(r, first && !times && !csv)) {
                s_free(&r);
                free(token);
                return 3;
            }
            first = 0;
            pages++;
            Pay__PayrollReply *p = r->payroll;
            if (!times) {
                if (csv)
                    fputs(p && p->csv ? p->csv : "", stdout);
                else
                    for (size_t i = 0; p && i < p->n_rows; i++)
                        s_print_row("row", p->rows[i]);
            }
            free(token);
            token = r->next_page && *r->next_page ? strdup(r->next_page) : NULL;
            if (!token && !times && !csv && p) {
                s_print_row("total", p->totals);
                printf("summary closed=%d prisoners=%u pages=%d\n", p->closed, p->prisoners,
                       pages);
            }
            s_free(&r);
        } while (token);
        int64_t ms = clock_mono_ms() - t0;
        total_ms += ms;
        if (ms < best)
            best = ms;
    }
    if (times)
        printf("timing runs=%d best_ms=%lld mean_ms=%.2f pages=%d\n", times, (long long)best,
               (double)total_ms / times, pages);
    return 0;
}

static int s_ledger(const char *prisoner, const char *from, const char *to, uint32_t size,
                    int csv)
{
    char *token = NULL;
    int first = 1;
    do {
        Pay__WagesPage pg;
        Pay__PrisonerLedgerQuery q = PAY__PRISONER_LEDGER_QUERY__INIT;
        q.prisoner = (char *)prisoner;
        q.from = (char *)from;
        q.to = (char *)to;
        q.page = s_page(&pg, token, size);
        q.has_csv = 1;
        q.csv = csv;
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        req.body_case = PAY__WAGES_REQUEST__BODY_PRISONER_LEDGER;
        req.prisoner_ledger = &q;
        Pay__WagesReply *r = s_call(&req);
        if (!s_status(r, first && !csv)) {
            s_free(&r);
            free(token);
            return 3;
        }
        Pay__PrisonerLedgerReply *p = r->prisoner_ledger;
        if (first && !csv)
            printf("opening balance=%lld\n", (long long)p->opening_balance);
        first = 0;
        if (csv)
            fputs(p->csv ? p->csv : "", stdout);
        else
            for (size_t i = 0; i < p->n_lines; i++)
                s_print_line(p->lines[i]);
        free(token);
        token = r->next_page && *r->next_page ? strdup(r->next_page) : NULL;
        s_free(&r);
    } while (token);
    return 0;
}

static int s_journal(const char *path, uint32_t size)
{
    FILE *f = fopen(path, "w");
    char *token = NULL;
    uint64_t lines = 0;
    int pages = 0;
    if (!f)
        return 2;
    do {
        Pay__WagesPage pg;
        Pay__JournalQuery q = PAY__JOURNAL_QUERY__INIT;
        q.page = s_page(&pg, token, size);
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        req.body_case = PAY__WAGES_REQUEST__BODY_JOURNAL;
        req.journal = &q;
        Pay__WagesReply *r = s_call(&req);
        if (!s_status(r, 0)) {
            s_free(&r);
            fclose(f);
            free(token);
            return 3;
        }
        fputs(r->journal && r->journal->text ? r->journal->text : "", f);
        lines += r->journal ? r->journal->lines : 0;
        pages++;
        free(token);
        token = r->next_page && *r->next_page ? strdup(r->next_page) : NULL;
        s_free(&r);
    } while (token);
    fclose(f);
    printf("status=OK message=journal\njournal lines=%llu pages=%d\n",
           (unsigned long long)lines, pages);
    return 0;
}

int main(int argc, char **argv)
{
    const char *endpoint = NULL, *server_pub = NULL, *key = NULL;
    int timeout = 5000, i = 1;
    log_set_service("wages-client");
    log_init_from_env();
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--endpoint") == 0)
            endpoint = argv[i + 1];
        else if (strcmp(argv[i], "--server-pub") == 0)
            server_pub = argv[i + 1];
        else if (strcmp(argv[i], "--key") == 0)
            key = argv[i + 1];
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--request-id") == 0)
            s_request_id = argv[i + 1];
        else
            break;
    }
    if (!endpoint || !server_pub || !key || i >= argc) {
        fprintf(stderr, "usage: wages_client --endpoint EP --server-pub FILE --key FILE CMD ...\n");
        return 2;
    }
    const char *cmd = argv[i];
    char **a = argv + i + 1;
    int na = argc - i - 1;
    auth_keypair_t me, server;
    if (auth_keypair_load(key, &me) != 0 || auth_keypair_load(server_pub, &server) != 0) {
        fprintf(stderr, "wages_client: cannot load keys\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    s_client = client_new(ctx, endpoint, &me, server.public_z85, timeout, 3);
    if (!s_client)
        return 1;
    int rc = 2;
    Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
    Pay__WagesPage pg;
    if (strcmp(cmd, "health") == 0) {
        Pay__WagesHealth h = PAY__WAGES_HEALTH__INIT;
        req.body_case = PAY__WAGES_REQUEST__BODY_HEALTH;
        req.health = &h;
        Pay__WagesReply *r = s_call(&req);
        rc = s_status(r, 1) ? 0 : 3;
        if (r->health)
            printf("health cursor=%llu head=%llu lines=%llu records=%llu\n",
                   (unsigned long long)r->health->cursor, (unsigned long long)r->health->head_seq,
                   (unsigned long long)r->health->ledger_lines,
                   (unsigned long long)r->health->records);
        s_free(&r);
    } else if (strcmp(cmd, "set-rates") == 0 && na == 1) {
        rc = s_set_rates(a[0]);
    } else if (strcmp(cmd, "set-policy") == 0 && (na == 3 || na == 8)) {
        Pay__PayPolicy p = PAY__PAY_POLICY__INIT;
        Pay__PayPolicy *pp = &p;
        p.prison = a[0];
        p.effective_from = a[1];
        p.has_min_weekly_pay = 1;
        p.min_weekly_pay = atoll(a[2]);
        if (na == 8) {
            p.has_session_min = p.has_session_max = p.has_hourly_min = 1;
            p.has_hourly_max = p.has_piece_max = 1;
            p.session_min = atoll(a[3]);
            p.session_max = atoll(a[4]);
            p.hourly_min = atoll(a[5]);
            p.hourly_max = atoll(a[6]);
            p.piece_max = atoll(a[7]);
        }
        Pay__SetPolicies b = PAY__SET_POLICIES__INIT;
        b.n_policies = 1;
        b.policies = &pp;
        req.body_case = PAY__WAGES_REQUEST__BODY_SET_POLICIES;
        req.set_policies = &b;
        rc = s_items(s_call(&req));
    } else if (strcmp(cmd, "set-outside") == 0 && na == 2) {
        rc = s_set_outside(a[0], a[1]);
    } else if (strcmp(cmd, "set-deductions") == 0 && na == 1) {
        rc = s_set_deductions(a[0]);
    } else if (strcmp(cmd, "adjust") == 0 && na == 6) {
        Pay__Adjustment adj = PAY__ADJUSTMENT__INIT;
        Pay__Adjustment *ap = &adj;
        adj.adjustment_id = a[0];
        adj.prisoner = a[1];
        adj.prison = a[2];
        adj.week = a[3];
        adj.has_amount = 1;
        adj.amount = atoll(a[4]);
        adj.reason = a[5];
        Pay__PostAdjustments b = PAY__POST_ADJUSTMENTS__INIT;
        b.n_adjustments = 1;
        b.adjustments = &ap;
        req.body_case = PAY__WAGES_REQUEST__BODY_POST_ADJUSTMENTS;
        req.post_adjustments = &b;
        rc = s_items(s_call(&req));
    } else if ((strcmp(cmd, "payroll") == 0 || strcmp(cmd, "payroll-csv") == 0) && na >= 2) {
        rc = s_payroll(a[0], a[1], na > 2 ? (uint32_t)atoi(a[2]) : 0,
                       strcmp(cmd, "payroll-csv") == 0, 0);
    } else if (strcmp(cmd, "time-payroll") == 0 && na == 3) {
        rc = s_payroll(a[0], a[1], 1000, 0, atoi(a[2]));
    } else if (strcmp(cmd, "payslip") == 0 && na == 3) {
        Pay__PayslipQuery q = PAY__PAYSLIP_QUERY__INIT;
        q.prison = a[0];
        q.week = a[1];
        q.prisoner = a[2];
        q.page = s_page(&pg, NULL, 1000);
        req.body_case = PAY__WAGES_REQUEST__BODY_PAYSLIP;
        req.payslip = &q;
        Pay__WagesReply *r = s_call(&req);
        rc = s_status(r, 1) ? 0 : 3;
        if (r->payslip && r->payslip->payslip) {
            Pay__WeekAggregate *p = r->payslip->payslip;
            printf("payslip closed=%d sessions=%u minutes=%lld gross=%lld top_up=%lld "
                   "deductions=%lld levy=%lld net=%lld\n",
                   p->closed, p->sessions, (long long)p->minutes, (long long)p->gross,
                   (long long)p->top_up, (long long)p->deductions, (long long)p->levy,
                   (long long)p->net);
            for (size_t k = 0; k < r->payslip->n_lines; k++)
                s_print_line(r->payslip->lines[k]);
        }
        s_free(&r);
    } else if ((strcmp(cmd, "ledger") == 0 || strcmp(cmd, "ledger-csv") == 0) && na >= 1) {
        rc = s_ledger(a[0], na > 1 ? a[1] : NULL, na > 2 ? a[2] : NULL,
                      na > 3 ? (uint32_t)atoi(a[3]) : 0, strcmp(cmd, "ledger-csv") == 0);
    } else if (strcmp(cmd, "exceptions") == 0 && na >= 1) {
        char *token = NULL;
        rc = 0;
        printf("status=OK message=exceptions\n");
        do {
            Pay__ExceptionsQuery q = PAY__EXCEPTIONS_QUERY__INIT;
            q.prison = a[0];
            q.week = na > 1 ? a[1] : NULL;
            q.kind = na > 2 ? a[2] : NULL;
            q.page = s_page(&pg, token, 0);
            req.body_case = PAY__WAGES_REQUEST__BODY_EXCEPTIONS;
            req.exceptions = &q;
            Pay__WagesReply *r = s_call(&req);
            if (!s_status(r, 0)) {
                rc = 3;
                s_free(&r);
                break;
            }
            for (size_t k = 0; k < r->exceptions->n_exceptions; k++) {
                Pay__WageException *e = r->exceptions->exceptions[k];
                printf("exception kind=%s record=%s prisoner=%s week=%s\n", e->kind,
                       e->record_id, e->prisoner, e->week);
            }
            free(token);
            token = r->next_page && *r->next_page ? strdup(r->next_page) : NULL;
            s_free(&r);
        } while (token);
        free(token);
    } else if (strcmp(cmd, "norm") == 0 && na == 2) {
        Pay__HoursNormQuery q = PAY__HOURS_NORM_QUERY__INIT;
        q.prison = a[0];
        q.week = a[1];
        req.body_case = PAY__WAGES_REQUEST__BODY_HOURS_NORM;
        req.hours_norm = &q;
        Pay__WagesReply *r = s_call(&req);
        rc = s_status(r, 1) ? 0 : 3;
        if (r->hours_norm)
            printf("norm working=%u total_minutes=%lld average_hours=%s at_40=%u share_bp=%u\n",
                   r->hours_norm->working_prisoners, (long long)r->hours_norm->total_minutes,
                   r->hours_norm->average_hours, r->hours_norm->at_40_hours,
                   r->hours_norm->share_bp);
        s_free(&r);
    } else if (strcmp(cmd, "balances") == 0) {
        char *token = NULL;
        int64_t total = 0;
        size_t n = 0;
        rc = 0;
        printf("status=OK message=balances\n");
        do {
            Pay__BalancesQuery q = PAY__BALANCES_QUERY__INIT;
            q.prefix = na > 0 ? a[0] : NULL;
            q.page = s_page(&pg, token, na > 1 ? (uint32_t)atoi(a[1]) : 0);
            req.body_case = PAY__WAGES_REQUEST__BODY_BALANCES;
            req.balances = &q;
            Pay__WagesReply *r = s_call(&req);
            if (!s_status(r, 0)) {
                rc = 3;
                s_free(&r);
                break;
            }
            for (size_t k = 0; k < r->balances->n_balances; k++) {
                printf("balance account=%s amount=%lld\n", r->balances->balances[k]->account,
                       (long long)r->balances->balances[k]->balance);
                total += r->balances->balances[k]->balance;
                n++;
            }
            free(token);
            token = r->next_page && *r->next_page ? strdup(r->next_page) : NULL;
            s_free(&r);
        } while (token);
        free(token);
        printf("total accounts=%zu sum=%lld\n", n, (long long)total);
    } else if (strcmp(cmd, "recon") == 0) {
        char *token = NULL;
        rc = 0;
        printf("status=OK message=recon\n");
        do {
            Pay__ReconciliationQuery q = PAY__RECONCILIATION_QUERY__INIT;
            q.prison = na > 0 ? a[0] : NULL;
            q.week = na > 1 ? a[1] : NULL;
            q.page = s_page(&pg, token, 0);
            req.body_case = PAY__WAGES_REQUEST__BODY_RECONCILIATION;
            req.reconciliation = &q;
            Pay__WagesReply *r = s_call(&req);
            if (!s_status(r, 0)) {
                rc = 3;
                s_free(&r);
                break;
            }
            for (size_t k = 0; k < r->reconciliation->n_rows; k++) {
                Pay__ReconciliationRow *x = r->reconciliation->rows[k];
                printf("recon prison=%s week=%s records=%u minutes_priced=%lld "
                       "billable_minutes=%lld closed=%d minutes_captured=%lld status=%s\n",
                       x->prison, x->week, x->records, (long long)x->minutes_priced,
                       (long long)x->billable_minutes, x->closed,
                       (long long)x->minutes_captured, x->status ? x->status : "");
            }
            free(token);
            token = r->next_page && *r->next_page ? strdup(r->next_page) : NULL;
            s_free(&r);
        } while (token);
        free(token);
    } else if (strcmp(cmd, "journal") == 0 && na >= 1) {
        rc = s_journal(a[0], na > 1 ? (uint32_t)atoi(a[1]) : 1000);
    } else if (strcmp(cmd, "list-rates") == 0 && na == 1) {
        Pay__ListRates q = PAY__LIST_RATES__INIT;
        q.prison = a[0];
        q.page = s_page(&pg, NULL, 1000);
        req.body_case = PAY__WAGES_REQUEST__BODY_LIST_RATES;
        req.list_rates = &q;
        Pay__WagesReply *r = s_call(&req);
        rc = s_status(r, 1) ? 0 : 3;
        for (size_t k = 0; r->rates && k < r->rates->n_rates; k++) {
            Pay__PayRate *x = r->rates->rates[k];
            printf("rate prison=%s band=%u level=%d from=%s basis=%d rate=%lld piece=%lld/%llu\n",
                   x->prison, x->pay_band, (int)x->incentive_level, x->effective_from,
                   (int)x->basis, (long long)x->rate, (long long)x->piece_rate,
                   (unsigned long long)x->piece_rate_items);
        }
        for (size_t k = 0; r->rates && k < r->rates->n_policies; k++)
            printf("policy prison=%s from=%s min_weekly=%lld\n", r->rates->policies[k]->prison,
                   r->rates->policies[k]->effective_from,
                   (long long)r->rates->policies[k]->min_weekly_pay);
        s_free(&r);
    } else if (strcmp(cmd, "backup") == 0 && na == 1) {
        Pay__WagesBackup b = PAY__WAGES_BACKUP__INIT;
        b.name = a[0];
        req.body_case = PAY__WAGES_REQUEST__BODY_BACKUP;
        req.backup = &b;
        Pay__WagesReply *r = s_call(&req);
        rc = s_status(r, 1) ? 0 : 3;
        s_free(&r);
    } else {
        fprintf(stderr, "wages_client: unknown command or wrong arguments: %s\n", cmd);
    }
    client_destroy(&s_client);
    zmq_ctx_term(ctx);
    return rc;
}
