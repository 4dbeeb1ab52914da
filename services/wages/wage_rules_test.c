/* wage_rules_test: the wage rules of DOMAIN.md, table by table. */
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "tap.h"
#include "wage_rules.h"

static int32_t s_d(const char *s)
{
    int32_t d = 0;
    if (civil_parse_date(s, &d) != 0)
        abort();
    return d;
}

static void s_test_outcomes(void)
{
    static const struct {
        wage_outcome_t outcome;
        const char *name;
        int paid_without, paid_with;
    } t[] = {
        { WAGE_ATTENDED, "ATTENDED", 1, 1 },
        { WAGE_SICK, "SICK", 0, 1 },
        { WAGE_REST, "REST", 0, 1 },
        { WAGE_OTHER, "OTHER", 0, 1 },
        { WAGE_NOT_REQUIRED, "NOT_REQUIRED", 1, 1 },
        { WAGE_CLASH, "CLASH", 1, 1 },
        { WAGE_CANCELLED, "CANCELLED", 1, 1 },
        { WAGE_REFUSED, "REFUSED", 0, 0 },
        { WAGE_SUSPENDED, "SUSPENDED", 0, 0 },
        { WAGE_OUTCOME_UNSPECIFIED, "UNSPECIFIED", 0, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        TAP_EQ_INT(wage_outcome_is_paid(t[i].outcome, 0), t[i].paid_without,
                   "%s without the paid-absence flag", t[i].name);
        TAP_EQ_INT(wage_outcome_is_paid(t[i].outcome, 1), t[i].paid_with,
                   "%s with the paid-absence flag", t[i].name);
    }
}

typedef struct {
    const char *name;
    wage_work_type_t work_type;
    wage_outcome_t outcome;
    int paid_absence;
    uint32_t minutes;
    uint64_t units;
    int has_rate;
    wage_basis_t basis;
    int64_t rate, piece_pence;
    uint64_t piece_items;
    int64_t outside_wage;          /* 0: none in force */
    int want_rc;
    int64_t want_pence;
    int want_no_rate, want_attended_workshop;
} price_case_t;

static void s_test_pricing(void)
{
    static const price_case_t t[] = {
        /* hourly and round_half_up at the .5 boundary */
        { "hourly 100p, 90 min", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 90, 0,
          1, WAGE_BASIS_HOURLY, 100, 0, 0, 0, 0, 150, 0, 1 },
        { "hourly 30p, 1 min = 0.5 rounds up", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 1, 0,
          1, WAGE_BASIS_HOURLY, 30, 0, 0, 0, 0, 1, 0, 1 },
        { "hourly 30p, 3 min = 1.5 rounds up", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 3, 0,
          1, WAGE_BASIS_HOURLY, 30, 0, 0, 0, 0, 2, 0, 1 },
        { "hourly 29p, 1 min = 0.483 rounds down", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 1, 0,
          1, WAGE_BASIS_HOURLY, 29, 0, 0, 0, 0, 0, 0, 1 },
        { "hourly 31p, 1 min = 0.517 rounds up", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 1, 0,
          1, WAGE_BASIS_HOURLY, 31, 0, 0, 0, 0, 1, 0, 1 },
        { "hourly 250p, 600 min", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 600, 0,
          1, WAGE_BASIS_HOURLY, 250, 0, 0, 0, 0, 2500, 0, 1 },
        /* session: the rate whatever the minutes */
        { "session 250p, 10 min", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 10, 0,
          1, WAGE_BASIS_SESSION, 250, 0, 0, 0, 0, 250, 0, 1 },
        { "session 250p, 600 min", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 600, 0,
          1, WAGE_BASIS_SESSION, 250, 0, 0, 0, 0, 250, 0, 1 },
        /* piece work: floor(units / items) * pence, ATTENDED only */
        { "piece 50p/10, 29 units floors to 2", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 180, 29,
          1, WAGE_BASIS_SESSION, 200, 50, 10, 0, 0, 300, 0, 1 },
        { "piece 50p/10, 30 units", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 180, 30,
          1, WAGE_BASIS_SESSION, 200, 50, 10, 0, 0, 350, 0, 1 },
        { "piece 50p/10, 9 units earns nothing", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 180, 9,
          1, WAGE_BASIS_SESSION, 200, 50, 10, 0, 0, 200, 0, 1 },
        { "piece on hourly basis", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 90, 7,
          1, WAGE_BASIS_HOURLY, 100, 3, 1, 0, 0, 171, 0, 1 },
        { "piece not paid for NOT_REQUIRED", WAGE_WORKSHOP, WAGE_NOT_REQUIRED, 0, 180, 30,
          1, WAGE_BASIS_SESSION, 200, 50, 10, 0, 0, 200, 0, 0 },
        { "piece not paid for paid SICK", WAGE_WORKSHOP, WAGE_SICK, 1, 180, 30,
          1, WAGE_BASIS_SESSION, 200, 50, 10, 0, 0, 200, 0, 0 },
        { "units without a piece rate", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 180, 30,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 200, 0, 1 },
        /* every outcome on a workshop session rate */
        { "SICK unpaid", WAGE_WORKSHOP, WAGE_SICK, 0, 180, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 0, 0, 0 },
        { "SICK paid absence", WAGE_WORKSHOP, WAGE_SICK, 1, 180, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 200, 0, 0 },
        { "REST unpaid", WAGE_WORKSHOP, WAGE_REST, 0, 180, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 0, 0, 0 },
        { "REST paid absence", WAGE_WORKSHOP, WAGE_REST, 1, 180, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 200, 0, 0 },
        { "OTHER unpaid", WAGE_WORKSHOP, WAGE_OTHER, 0, 180, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 0, 0, 0 },
        { "OTHER paid absence (hourly)", WAGE_WORKSHOP, WAGE_OTHER, 1, 120, 0,
          1, WAGE_BASIS_HOURLY, 60, 0, 0, 0, 0, 120, 0, 0 },
        { "NOT_REQUIRED", WAGE_WORKSHOP, WAGE_NOT_REQUIRED, 0, 180, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 200, 0, 0 },
        { "CLASH", WAGE_WORKSHOP, WAGE_CLASH, 0, 180, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 200, 0, 0 },
        { "CANCELLED", WAGE_WORKSHOP, WAGE_CANCELLED, 0, 180, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 200, 0, 0 },
        { "REFUSED even with the flag", WAGE_WORKSHOP, WAGE_REFUSED, 1, 180, 30,
          1, WAGE_BASIS_SESSION, 200, 50, 10, 0, 0, 0, 0, 0 },
        { "SUSPENDED", WAGE_WORKSHOP, WAGE_SUSPENDED, 0, 180, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 0, 0, 0 },
        /* NO_RATE */
        { "ATTENDED with no rate: 0, NO_RATE, still attended", WAGE_WORKSHOP,
          WAGE_ATTENDED, 0, 180, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 },
        { "paid SICK with no rate: NO_RATE", WAGE_WORKSHOP, WAGE_SICK, 1, 180, 0,
          0, 0, 0, 0, 0, 0, 0, 0, 1, 0 },
        { "unpaid SICK with no rate: no exception", WAGE_WORKSHOP, WAGE_SICK, 0, 180, 0,
          0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
        { "REFUSED with no rate: no exception", WAGE_WORKSHOP, WAGE_REFUSED, 0, 180, 0,
          0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
        /* OUTSIDE: the outside wage, round_half_up, never the workshop rate */
        { "outside 1271p, 450 min = 9532.5", WAGE_OUTSIDE, WAGE_ATTENDED, 0, 450, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 1271, 0, 9533, 0, 0 },
        { "outside 1271p, 480 min", WAGE_OUTSIDE, WAGE_ATTENDED, 0, 480, 0,
          0, 0, 0, 0, 0, 1271, 0, 10168, 0, 0 },
        { "outside 1273p, 1 min = 21.2", WAGE_OUTSIDE, WAGE_ATTENDED, 0, 1, 0,
          0, 0, 0, 0, 0, 1273, 0, 21, 0, 0 },
        { "outside 1290p, 1 min = 21.5", WAGE_OUTSIDE, WAGE_ATTENDED, 0, 1, 0,
          0, 0, 0, 0, 0, 1290, 0, 22, 0, 0 },
        { "outside: no piece work", WAGE_OUTSIDE, WAGE_ATTENDED, 0, 60, 100,
          1, WAGE_BASIS_SESSION, 200, 50, 1, 1300, 0, 1300, 0, 0 },
        { "outside paid absence", WAGE_OUTSIDE, WAGE_REST, 1, 60, 0,
          0, 0, 0, 0, 0, 1300, 0, 1300, 0, 0 },
        { "outside unpaid absence", WAGE_OUTSIDE, WAGE_REST, 0, 60, 0,
          0, 0, 0, 0, 0, 1300, 0, 0, 0, 0 },
        { "outside REFUSED", WAGE_OUTSIDE, WAGE_REFUSED, 0, 60, 0,
          0, 0, 0, 0, 0, 1300, 0, 0, 0, 0 },
        { "outside with no wage in force: NO_RATE", WAGE_OUTSIDE, WAGE_ATTENDED, 0, 60, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, 0, 0, 1, 0 },
        /* not priceable */
        { "unknown work type", WAGE_WORK_UNSPECIFIED, WAGE_ATTENDED, 0, 60, 0,
          1, WAGE_BASIS_SESSION, 200, 0, 0, 0, -1, 0, 0, 0 },
        { "piece pay that would overflow", WAGE_WORKSHOP, WAGE_ATTENDED, 0, 60,
          UINT64_MAX, 1, WAGE_BASIS_SESSION, 200, 800, 1, 0, -1, 0, 0, 1 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const price_case_t *c = &t[i];
        wage_record_t rec = { c->work_type, c->outcome, c->paid_absence,
                              c->minutes, c->units };
        wage_rate_t rate = { "MDI", 1, WAGE_STD, 0, c->basis, c->rate,
                             c->piece_pence, c->piece_items };
        wage_outside_t out = { "C-1", 0, c->outside_wage };
        wage_price_t p;
        int rc = wage_price_record(&rec, c->has_rate ? &rate : NULL,
                                   c->outside_wage ? &out : NULL, &p);
        TAP_EQ_INT(rc, c->want_rc, "%s: return code", c->name);
        TAP_EQ_INT(p.pence, c->want_pence, "%s: pence", c->name);
        TAP_EQ_INT(p.no_rate, c->want_no_rate, "%s: NO_RATE", c->name);
        TAP_EQ_INT(p.attended_workshop, c->want_attended_workshop,
                   "%s: counts for the top-up", c->name);
    }
}

static void s_test_rate_dates(void)
{
    wage_rate_t rows[] = {
        { "MDI", 1, WAGE_STD, 0, WAGE_BASIS_HOURLY, 120, 0, 0 },   /* 2026-03-02 */
        { "MDI", 2, WAGE_STD, 0, WAGE_BASIS_HOURLY, 200, 0, 0 },   /* other band */
        { "LEI", 1, WAGE_STD, 0, WAGE_BASIS_HOURLY, 210, 0, 0 },   /* other prison */
        { "MDI", 1, WAGE_ENH, 0, WAGE_BASIS_HOURLY, 220, 0, 0 },   /* other level */
        { "MDI", 1, WAGE_STD, 0, WAGE_BASIS_HOURLY, 100, 0, 0 },   /* 2026-01-05 */
    };
    rows[0].effective_from = s_d("2026-03-02");
    rows[1].effective_from = s_d("2025-01-01");
    rows[2].effective_from = s_d("2025-01-01");
    rows[3].effective_from = s_d("2025-01-01");
    rows[4].effective_from = s_d("2026-01-05");
    static const struct { const char *date; int64_t want; } t[] = {
        { "2026-01-04", -1 },     /* the day before the first row */
        { "2026-01-05", 100 },    /* the day of */
        { "2026-02-10", 100 },
        { "2026-03-01", 100 },    /* the day before the later row */
        { "2026-03-02", 120 },    /* the day of the later row */
        { "2027-06-30", 120 },
    };
    size_t n = sizeof rows / sizeof rows[0];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const wage_rate_t *r = wage_rate_select(rows, n, "MDI", 1, WAGE_STD,
                                                s_d(t[i].date));
        TAP_EQ_INT(r ? r->rate : -1, t[i].want, "MDI band 1 STD rate on %s", t[i].date);
    }
    TAP_OK(wage_rate_select(rows, n, "MDI", 3, WAGE_STD, s_d("2026-06-01")) == NULL,
           "no row for band 3: NULL (NO_RATE)");
    TAP_OK(wage_rate_select(rows, n, "PVI", 1, WAGE_STD, s_d("2026-06-01")) == NULL,
           "no row for PVI: NULL");
    TAP_OK(wage_rate_select(rows, 0, "MDI", 1, WAGE_STD, s_d("2026-06-01")) == NULL,
           "no rows at all: NULL");
    const wage_rate_t *r = wage_rate_select(rows, n, "MDI", 1, WAGE_ENH, s_d("2026-06-01"));
    TAP_EQ_INT(r ? r->rate : -1, 220, "the incentive level selects its own row");

    wage_outside_t w[] = {
        { "C-OUT", 0, 1221 }, { "C-OUT", 0, 1271 }, { "C-OTHER", 0, 1500 },
    };
    w[0].effective_from = s_d("2025-04-01");
    w[1].effective_from = s_d("2026-04-01");
    w[2].effective_from = s_d("2020-01-01");
    static const struct { const char *date; int64_t want; } o[] = {
        { "2025-03-31", -1 }, { "2025-04-01", 1221 }, { "2026-03-31", 1221 },
        { "2026-04-01", 1271 }, { "2026-11-30", 1271 },
    };
    for (size_t i = 0; i < sizeof o / sizeof o[0]; i++) {
        const wage_outside_t *x = wage_outside_select(w, 3, "C-OUT", s_d(o[i].date));
        TAP_EQ_INT(x ? x->hourly_wage : -1, o[i].want, "C-OUT wage on %s", o[i].date);
    }

    wage_policy_t p[2];
    wage_policy_default(&p[0]);
    wage_policy_default(&p[1]);
    p[0].effective_from = s_d("2026-01-01");
    p[1].effective_from = s_d("2026-07-01");
    p[1].min_weekly_pay = 500;
    TAP_OK(wage_policy_select(p, 2, s_d("2025-12-31")) == NULL, "no policy before the first");
    TAP_EQ_INT(wage_policy_select(p, 2, s_d("2026-06-30"))->min_weekly_pay, 400,
               "policy the day before the change");
    TAP_EQ_INT(wage_policy_select(p, 2, s_d("2026-07-01"))->min_weekly_pay, 500,
               "policy on the day of the change");
}

static void s_test_bounds(void)
{
    wage_policy_t def;
    wage_policy_default(&def);
    TAP_EQ_INT(def.min_weekly_pay, 400, "default minimum weekly pay 400p");
    TAP_EQ_INT(wage_policy_check(&def), WAGE_CHECK_OK, "default policy is valid");
    wage_policy_t lei = def;
    lei.session_max = 600;
    lei.piece_max = 1000;
    wage_policy_t bad = def;
    bad.hourly_min = 300;
    TAP_EQ_INT(wage_policy_check(&bad), WAGE_CHECK_INVALID, "min above max is invalid");

    static const struct {
        const char *name;
        int custom;
        uint32_t band;
        wage_level_t level;
        wage_basis_t basis;
        int64_t rate, piece_pence;
        uint64_t piece_items;
        wage_check_t want;
    } t[] = {
        { "session 124p", 0, 1, WAGE_STD, WAGE_BASIS_SESSION, 124, 0, 0, WAGE_CHECK_RATE_OUT_OF_BOUNDS },
        { "session 125p", 0, 1, WAGE_STD, WAGE_BASIS_SESSION, 125, 0, 0, WAGE_CHECK_OK },
        { "session 525p", 0, 1, WAGE_STD, WAGE_BASIS_SESSION, 525, 0, 0, WAGE_CHECK_OK },
        { "session 526p", 0, 1, WAGE_STD, WAGE_BASIS_SESSION, 526, 0, 0, WAGE_CHECK_RATE_OUT_OF_BOUNDS },
        { "hourly 29p", 0, 1, WAGE_STD, WAGE_BASIS_HOURLY, 29, 0, 0, WAGE_CHECK_RATE_OUT_OF_BOUNDS },
        { "hourly 30p", 0, 1, WAGE_STD, WAGE_BASIS_HOURLY, 30, 0, 0, WAGE_CHECK_OK },
        { "hourly 250p", 0, 1, WAGE_STD, WAGE_BASIS_HOURLY, 250, 0, 0, WAGE_CHECK_OK },
        { "hourly 251p", 0, 1, WAGE_STD, WAGE_BASIS_HOURLY, 251, 0, 0, WAGE_CHECK_RATE_OUT_OF_BOUNDS },
        { "hourly 525p is a session-sized rate", 0, 1, WAGE_STD, WAGE_BASIS_HOURLY, 525, 0, 0, WAGE_CHECK_RATE_OUT_OF_BOUNDS },
        { "piece 800p", 0, 1, WAGE_STD, WAGE_BASIS_SESSION, 200, 800, 1, WAGE_CHECK_OK },
        { "piece 801p", 0, 1, WAGE_STD, WAGE_BASIS_SESSION, 200, 801, 1, WAGE_CHECK_RATE_OUT_OF_BOUNDS },
        { "piece 0p per 5", 0, 1, WAGE_STD, WAGE_BASIS_SESSION, 200, 0, 5, WAGE_CHECK_OK },
        { "piece pence without items", 0, 1, WAGE_STD, WAGE_BASIS_SESSION, 200, 10, 0, WAGE_CHECK_INVALID },
        { "negative piece", 0, 1, WAGE_STD, WAGE_BASIS_SESSION, 200, -1, 1, WAGE_CHECK_INVALID },
        { "band 0", 0, 0, WAGE_STD, WAGE_BASIS_SESSION, 200, 0, 0, WAGE_CHECK_INVALID },
        { "band 10", 0, 10, WAGE_STD, WAGE_BASIS_SESSION, 200, 0, 0, WAGE_CHECK_OK },
        { "band 11", 0, 11, WAGE_STD, WAGE_BASIS_SESSION, 200, 0, 0, WAGE_CHECK_INVALID },
        { "unknown level", 0, 1, WAGE_LEVEL_UNSPECIFIED, WAGE_BASIS_SESSION, 200, 0, 0, WAGE_CHECK_INVALID },
        { "unknown basis", 0, 1, WAGE_STD, WAGE_BASIS_UNSPECIFIED, 200, 0, 0, WAGE_CHECK_INVALID },
        { "LEI allows session 600p", 1, 1, WAGE_STD, WAGE_BASIS_SESSION, 600, 0, 0, WAGE_CHECK_OK },
        { "LEI refuses session 601p", 1, 1, WAGE_STD, WAGE_BASIS_SESSION, 601, 0, 0, WAGE_CHECK_RATE_OUT_OF_BOUNDS },
        { "LEI allows piece 1000p", 1, 1, WAGE_STD, WAGE_BASIS_SESSION, 200, 1000, 3, WAGE_CHECK_OK },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        wage_rate_t r = { "MDI", t[i].band, t[i].level, 0, t[i].basis, t[i].rate,
                          t[i].piece_pence, t[i].piece_items };
        TAP_EQ_INT(wage_rate_check(t[i].custom ? &lei : &def, &r), t[i].want,
                   "rate check: %s", t[i].name);
    }

    static const struct { int64_t wage; wage_check_t want; } o[] = {
        { 1270, WAGE_CHECK_BELOW_LIVING_WAGE }, { 1271, WAGE_CHECK_OK },
        { 2000, WAGE_CHECK_OK }, { 0, WAGE_CHECK_INVALID }, { -5, WAGE_CHECK_INVALID },
    };
    for (size_t i = 0; i < sizeof o / sizeof o[0]; i++) {
        wage_outside_t w = { "C-OUT", 0, o[i].wage };
        TAP_EQ_INT(wage_outside_check(WAGE_LIVING_WAGE_DEFAULT, &w), o[i].want,
                   "outside wage %lldp against 1271p", (long long)o[i].wage);
    }
}

static void s_test_levy(void)
{
    static const struct { int64_t net, levy; } t[] = {
        { -500, 0 }, { 0, 0 }, { 1999, 0 }, { 2000, 0 }, { 2001, 0 },
        { 2002, 0 }, { 2003, 1 }, { 2005, 2 }, { 2100, 40 }, { 2500, 200 },
        { 10000, 3200 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        TAP_EQ_INT(wage_levy(t[i].net), t[i].levy, "levy on net outside %lld",
                   (long long)t[i].net);
}

typedef struct {
    const char *name;
    int64_t workshop, outside, adjustments;
    uint32_t attended;
    int apply;
    int64_t ded[WAGE_DEDUCTION_KINDS];
    int64_t want_gross, want_top_up;
    int64_t want_ded[WAGE_DEDUCTION_KINDS];
    int64_t want_levy, want_net;
} close_case_t;

static int64_t s_account_total(const wage_line_t *lines, size_t n, const char *acct)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += wage_line_effect(&lines[i], acct);
    return sum;
}

/* Every line debits and credits the same amount, so the sum of every
 * account's balance is zero; computed over the distinct accounts. */
static int64_t s_ledger_sum(const wage_line_t *lines, size_t n)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        const char *accts[2] = { lines[i].debit, lines[i].credit };
        for (int a = 0; a < 2; a++) {
            int seen = 0;
            for (size_t j = 0; j < i && !seen; j++)
                seen = !strcmp(lines[j].debit, accts[a]) || !strcmp(lines[j].credit, accts[a]);
            if (a == 1 && !strcmp(accts[0], accts[1]))
                seen = 1;
            if (!seen)
                sum += s_account_total(lines, n, accts[a]);
        }
    }
    return sum;
}

static void s_test_close(void)
{
    static const close_case_t t[] = {
        { "workshop 250 with attendance: top-up 150", 250, 0, 0, 1, 1, { 0 },
          250, 150, { 0 }, 0, 400 },
        { "workshop 250, only paid absences: no top-up", 250, 0, 0, 0, 1, { 0 },
          250, 0, { 0 }, 0, 250 },
        { "ATTENDED priced 0 by NO_RATE: top-up 400", 0, 0, 0, 1, 1, { 0 },
          0, 400, { 0 }, 0, 400 },
        { "workshop 400: no top-up", 400, 0, 0, 2, 1, { 0 },
          400, 0, { 0 }, 0, 400 },
        { "workshop 399: top-up 1", 399, 0, 0, 2, 1, { 0 },
          399, 1, { 0 }, 0, 400 },
        { "adjustment counts in gross, not in the top-up base", 300, 0, 50, 1, 1, { 0 },
          350, 100, { 0 }, 0, 450 },
        { "negative adjustment", 500, 0, -120, 1, 1, { 0 },
          380, 0, { 0 }, 0, 380 },
        { "outside 3000, no deductions: levy 400", 0, 3000, 0, 0, 1, { 0 },
          3000, 0, { 0 }, 400, 2600 },
        { "outside 3000, tax 500 lowers the levy to 200", 0, 3000, 0, 0, 1, { 500 },
          3000, 0, { 500 }, 200, 2300 },
        { "outside 2500, tax 500: net_outside 2000, levy 0", 0, 2500, 0, 0, 1, { 500 },
          2500, 0, { 500 }, 0, 2000 },
        { "outside 2003, no deductions: levy 1", 0, 2003, 0, 0, 1, { 0 },
          2003, 0, { 0 }, 1, 2002 },
        { "deductions capped at outside pay, rest dropped", 0, 1000, 0, 0, 1,
          { 600, 0, 700, 300 }, 1000, 0, { 600, 0, 400, 0 }, 0, 0 },
        { "all four kinds under the cap", 0, 5000, 0, 0, 1, { 100, 200, 300, 400 },
          5000, 0, { 100, 200, 300, 400 }, 800, 3200 },
        { "deductions with no outside pay: none applied", 900, 0, 0, 1, 1, { 100 },
          900, 0, { 0 }, 0, 900 },
        { "not the last prison: none applied", 0, 3000, 0, 0, 0, { 500 },
          3000, 0, { 0 }, 400, 2600 },
        { "workshop and outside in one week", 200, 2500, 0, 1, 1, { 0 },
          2700, 200, { 0 }, 200, 2700 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const close_case_t *c = &t[i];
        wage_week_in_t in = { c->workshop, c->outside, c->adjustments, c->attended,
                              c->apply, { c->ded[0], c->ded[1], c->ded[2], c->ded[3] },
                              400 };
        wage_week_out_t out;
        wage_week_close(&in, &out);
        TAP_EQ_INT(out.gross, c->want_gross, "%s: gross", c->name);
        TAP_EQ_INT(out.top_up, c->want_top_up, "%s: top-up", c->name);
        int64_t want_total = 0;
        for (int k = 0; k < WAGE_DEDUCTION_KINDS; k++) {
            TAP_EQ_INT(out.deductions[k], c->want_ded[k], "%s: %s", c->name,
                       wage_deduction_name((wage_deduction_kind_t)k));
            want_total += c->want_ded[k];
        }
        TAP_EQ_INT(out.deductions_total, want_total, "%s: deductions", c->name);
        TAP_EQ_INT(out.levy, c->want_levy, "%s: levy", c->name);
        TAP_EQ_INT(out.net, c->want_net, "%s: net", c->name);
        TAP_EQ_INT(out.net, out.gross + out.top_up - out.deductions_total - out.levy,
                   "%s: net = gross + top_up - deductions - levy", c->name);

        /* The week's lines on the ledger: pay, adjustment, then the close.
         * The prisoner's spends move by exactly the net, and the ledger
         * balances. */
        wage_line_t lines[3 + WAGE_CLOSE_MAX_LINES];
        size_t n = 0;
        wage_line_for_price("MDI", "A1234BC", WAGE_WORKSHOP, c->workshop, &lines[n++]);
        wage_line_for_price("MDI", "A1234BC", WAGE_OUTSIDE, c->outside, &lines[n++]);
        wage_line_for_adjustment("MDI", "A1234BC", c->adjustments, &lines[n++]);
        n += wage_close_lines("MDI", "A1234BC", &out, &lines[n]);
        TAP_EQ_INT(-s_account_total(lines, n, "prisoner:A1234BC:spends"), out.net,
                   "%s: spends credited with net", c->name);
        TAP_EQ_INT(s_account_total(lines, n, "fund:victims-levy"), -out.levy,
                   "%s: levy to the victims' fund", c->name);
        TAP_EQ_INT(s_ledger_sum(lines, n), 0, "%s: ledger balances", c->name);
    }
}

static void s_test_lines(void)
{
    wage_line_t l, r, a;
    wage_line_for_price("MDI", "A1234BC", WAGE_WORKSHOP, 150, &l);
    TAP_EQ_STR(l.debit, "prison:MDI:wages", "workshop pay debits the prison's wages");
    TAP_EQ_STR(l.credit, "prisoner:A1234BC:spends", "and credits the prisoner's spends");
    TAP_EQ_INT(l.kind, WAGE_LINE_PAY, "a pay line");
    wage_line_for_price("KMI", "B2345CD", WAGE_OUTSIDE, 9533, &a);
    TAP_EQ_STR(a.debit, "prison:KMI:outside-wages", "outside pay debits outside wages");

    /* Amendment: the stored line was priced at 150 under last month's rate.
     * The reversal negates the stored line; it never reprices. */
    wage_line_reverse(&l, &r);
    TAP_EQ_INT(r.amount, -150, "reversal is the exact negation");
    TAP_EQ_STR(r.debit, l.debit, "reversal keeps the debit account");
    TAP_EQ_STR(r.credit, l.credit, "reversal keeps the credit account");
    TAP_EQ_INT(r.kind, WAGE_LINE_REVERSAL, "a reversal line");
    wage_line_t amended;
    wage_line_for_price("MDI", "A1234BC", WAGE_WORKSHOP, 180, &amended);
    wage_line_t seq[3] = { l, r, amended };
    TAP_EQ_INT(s_account_total(seq, 2, "prisoner:A1234BC:spends"), 0,
               "line + reversal nets to zero (a void)");
    TAP_EQ_INT(s_account_total(seq, 3, "prisoner:A1234BC:spends"), -180,
               "line + reversal + new line = the new line (an amendment)");
    TAP_EQ_INT(s_ledger_sum(seq, 3), 0, "amendment keeps the ledger balanced");
    wage_line_t z, zr;
    wage_line_for_price("MDI", "A1234BC", WAGE_WORKSHOP, 0, &z);
    wage_line_reverse(&z, &zr);
    TAP_EQ_INT(zr.amount, 0, "a zero line reverses to zero");

    TAP_EQ_STR(wage_account_deduction(WAGE_INCOME_TAX), "hmrc:income-tax", "tax account");
    TAP_EQ_STR(wage_account_deduction(WAGE_NATIONAL_INSURANCE), "hmrc:national-insurance",
               "NI account");
    TAP_EQ_STR(wage_account_deduction(WAGE_COURT_ORDER), "court:orders", "court orders");
    TAP_EQ_STR(wage_account_deduction(WAGE_CHILD_MAINTENANCE), "cms:child-maintenance",
               "child maintenance");

    wage_week_out_t w = { 0 };
    w.top_up = 10;
    w.deductions[WAGE_COURT_ORDER] = 20;
    w.levy = 30;
    wage_line_t cl[WAGE_CLOSE_MAX_LINES];
    size_t n = wage_close_lines("MDI", "A1234BC", &w, cl);
    TAP_EQ_INT(n, 3, "close posts only the non-zero lines");
    TAP_EQ_INT(cl[0].kind, WAGE_LINE_TOP_UP, "top-up first");
    TAP_EQ_STR(cl[1].credit, "court:orders", "then the deduction");
    TAP_EQ_STR(cl[1].debit, "prisoner:A1234BC:spends", "deduction from spends");
    TAP_EQ_STR(cl[2].credit, "fund:victims-levy", "then the levy");
    TAP_EQ_INT(cl[2].amount, 30, "levy amount");
}

/* Custody, proved against a day-by-day reference: for every day of a
 * range, the prison is that of the latest transfer on or before it. */
static void s_test_custody(void)
{
    /* KMI from the start; FDI from Saturday 2026-11-28 (W48); released on
     * 2026-12-10. */
    wage_transfer_t t[] = {{s_d("2026-11-28"), "FDI"}, {s_d("2026-10-01"), "LEI"},
                           {s_d("2026-10-05"), "KMI"}};
    wage_custody_t c = {"MDI", t, 3, s_d("2026-12-10")};
    TAP_EQ_STR(wage_custody_on(&c, s_d("2026-09-30")), "MDI", "the starting prison before any transfer");
    TAP_EQ_STR(wage_custody_on(&c, s_d("2026-10-01")), "LEI", "a transfer takes effect on its date");
    TAP_EQ_STR(wage_custody_on(&c, s_d("2026-10-04")), "LEI", "and lasts until the next");
    TAP_EQ_STR(wage_custody_on(&c, s_d("2026-11-27")), "KMI", "listed out of order: still by date");
    TAP_EQ_STR(wage_custody_on(&c, s_d("2026-11-28")), "FDI", "Saturday's transfer");
    TAP_OK(wage_custody_on(&c, s_d("2026-12-10")) == NULL, "not in custody on the release date");
    TAP_EQ_STR(wage_custody_on(&c, s_d("2026-12-09")), "FDI", "in custody the day before");

    /* The week of the Saturday transfer: the last prison is the new one,
     * whatever the records say (2026-W48: Monday 2026-11-23). */
    TAP_EQ_STR(wage_custody_last_in_week(&c, s_d("2026-11-23")), "FDI",
               "transferred on Saturday: the week's last prison is the new one");
    TAP_EQ_STR(wage_custody_last_in_week(&c, s_d("2026-11-16")), "KMI", "the week before: KMI");
    /* Released on Thursday 2026-12-10: the week's last custody is Wednesday's. */
    TAP_EQ_STR(wage_custody_last_in_week(&c, s_d("2026-12-07")), "FDI",
               "released mid-week: the prison of the last day in custody");
    TAP_OK(wage_custody_last_in_week(&c, s_d("2026-12-14")) == NULL,
           "a week after release: no custody");
    /* Released on a Monday: no day of that week in custody. */
    wage_custody_t m = {"MDI", NULL, 0, s_d("2026-11-23")};
    TAP_OK(wage_custody_last_in_week(&m, s_d("2026-11-23")) == NULL,
           "released on the week's Monday: not in custody that week");
    TAP_EQ_STR(wage_custody_last_in_week(&m, s_d("2026-11-16")), "MDI",
               "the week before release");

    /* Exhaustive: every day of 2026 against a reference scan. */
    int wrong = 0;
    for (int32_t d = s_d("2026-01-01"); d <= s_d("2026-12-31"); d++) {
        const char *want = d >= c.released_on ? NULL : "MDI";
        int32_t best = INT32_MIN;
        for (size_t i = 0; i < 3 && want; i++)
            if (t[i].from <= d && t[i].from > best) {
                best = t[i].from;
                want = t[i].prison;
            }
        const char *got = wage_custody_on(&c, d);
        if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
            wrong++;
    }
    TAP_EQ_INT(wrong, 0, "every day of 2026 agrees with the reference");
}

int main(void)
{
    s_test_custody();
    s_test_outcomes();
    s_test_pricing();
    s_test_rate_dates();
    s_test_bounds();
    s_test_levy();
    s_test_close();
    s_test_lines();
    return tap_done();
}
