/* wage_rules: see wage_rules.h. */
#include "wage_rules.h"

#include <stdio.h>
#include <string.h>

#include "money.h"

void wage_policy_default(wage_policy_t *policy)
{
    memset(policy, 0, sizeof *policy);
    policy->effective_from = INT32_MIN;
    policy->min_weekly_pay = 400;
    policy->session_min = 125;
    policy->session_max = 525;
    policy->hourly_min = 30;
    policy->hourly_max = 250;
    policy->piece_max = 800;
}

int wage_outcome_is_paid(wage_outcome_t outcome, int paid_absence)
{
    switch (outcome) {
    case WAGE_ATTENDED:
    case WAGE_NOT_REQUIRED:
    case WAGE_CLASH:
    case WAGE_CANCELLED:
        return 1;
    case WAGE_SICK:
    case WAGE_REST:
    case WAGE_OTHER:
        return paid_absence ? 1 : 0;
    default:
        return 0;
    }
}

const wage_rate_t *wage_rate_select(const wage_rate_t *rows, size_t n,
                                    const char *prison, uint32_t pay_band,
                                    wage_level_t level, int32_t date)
{
    const wage_rate_t *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const wage_rate_t *r = &rows[i];
        if (r->pay_band != pay_band || r->level != level
            || strcmp(r->prison, prison) != 0 || r->effective_from > date)
            continue;
        if (!best || r->effective_from > best->effective_from)
            best = r;
    }
    return best;
}

const wage_outside_t *wage_outside_select(const wage_outside_t *rows, size_t n,
                                          const char *contract, int32_t date)
{
    const wage_outside_t *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const wage_outside_t *r = &rows[i];
        if (strcmp(r->contract, contract) != 0 || r->effective_from > date)
            continue;
        if (!best || r->effective_from > best->effective_from)
            best = r;
    }
    return best;
}

const wage_policy_t *wage_policy_select(const wage_policy_t *rows, size_t n,
                                        int32_t date)
{
    const wage_policy_t *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].effective_from > date)
            continue;
        if (!best || rows[i].effective_from > best->effective_from)
            best = &rows[i];
    }
    return best;
}

static int s_price_workshop(const wage_record_t *rec, const wage_rate_t *rate,
                            int64_t *pence)
{
    int64_t pay;
    if (rate->basis == WAGE_BASIS_HOURLY)
        pay = round_half_up((int64_t)rec->minutes * rate->rate, 60);
    else if (rate->basis == WAGE_BASIS_SESSION)
        pay = rate->rate;
    else
        return -1;
    if (rec->outcome == WAGE_ATTENDED && rate->piece_items > 0) {
        /* floor, as the spec says: part of a batch earns nothing. */
        uint64_t batches = rec->units / rate->piece_items;
        int64_t piece;
        if (batches > (uint64_t)INT64_MAX
            || __builtin_mul_overflow((int64_t)batches, rate->piece_pence, &piece)
            || __builtin_add_overflow(pay, piece, &pay))
            return -1;
    }
    *pence = pay;
    return 0;
}

int wage_price_record(const wage_record_t *rec, const wage_rate_t *rate,
                      const wage_outside_t *outside, wage_price_t *out)
{
    memset(out, 0, sizeof *out);
    if (rec->work_type != WAGE_WORKSHOP && rec->work_type != WAGE_OUTSIDE)
        return -1;
    out->attended_workshop = rec->work_type == WAGE_WORKSHOP
                             && rec->outcome == WAGE_ATTENDED;
    out->paid = wage_outcome_is_paid(rec->outcome, rec->paid_absence);
    if (!out->paid)
        return 0;
    if (rec->work_type == WAGE_WORKSHOP) {
        if (!rate) {
            out->no_rate = 1;
            return 0;
        }
        if (s_price_workshop(rec, rate, &out->pence) != 0) {
            out->pence = 0;
            return -1;
        }
        return 0;
    }
    if (!outside) {
        out->no_rate = 1;
        return 0;
    }
    out->pence = round_half_up((int64_t)rec->minutes * outside->hourly_wage, 60);
    return 0;
}

wage_check_t wage_rate_check(const wage_policy_t *policy, const wage_rate_t *rate)
{
    if (rate->pay_band < 1 || rate->pay_band > 10)
        return WAGE_CHECK_INVALID;
    if (rate->level < WAGE_BAS || rate->level > WAGE_EN2)
        return WAGE_CHECK_INVALID;
    if (rate->piece_pence < 0 || (rate->piece_pence > 0 && rate->piece_items == 0))
        return WAGE_CHECK_INVALID;
    if (rate->basis == WAGE_BASIS_SESSION) {
        if (rate->rate < policy->session_min || rate->rate > policy->session_max)
            return WAGE_CHECK_RATE_OUT_OF_BOUNDS;
    } else if (rate->basis == WAGE_BASIS_HOURLY) {
        if (rate->rate < policy->hourly_min || rate->rate > policy->hourly_max)
            return WAGE_CHECK_RATE_OUT_OF_BOUNDS;
    } else {
        return WAGE_CHECK_INVALID;
    }
    if (rate->piece_items > 0 && rate->piece_pence > policy->piece_max)
        return WAGE_CHECK_RATE_OUT_OF_BOUNDS;
    return WAGE_CHECK_OK;
}

wage_check_t wage_outside_check(int64_t living_wage, const wage_outside_t *row)
{
    if (row->hourly_wage <= 0)
        return WAGE_CHECK_INVALID;
    if (row->hourly_wage < living_wage)
        return WAGE_CHECK_BELOW_LIVING_WAGE;
    return WAGE_CHECK_OK;
}

wage_check_t wage_policy_check(const wage_policy_t *p)
{
    if (p->min_weekly_pay < 0 || p->session_min < 0 || p->hourly_min < 0
        || p->piece_max < 0 || p->session_min > p->session_max
        || p->hourly_min > p->hourly_max)
        return WAGE_CHECK_INVALID;
    return WAGE_CHECK_OK;
}

int64_t wage_levy(int64_t net_outside)
{
    if (net_outside <= WAGE_LEVY_THRESHOLD)
        return 0;
    /* floor(x * 40 / 100), split so that no product can overflow. */
    int64_t x = net_outside - WAGE_LEVY_THRESHOLD;
    return x / 100 * WAGE_LEVY_PERCENT + x % 100 * WAGE_LEVY_PERCENT / 100;
}

void wage_week_close(const wage_week_in_t *in, wage_week_out_t *out)
{
    memset(out, 0, sizeof *out);
    out->gross = in->workshop_pay + in->outside_pay + in->adjustments;
    if (in->attended_workshop > 0 && in->workshop_pay < in->min_weekly_pay)
        out->top_up = in->min_weekly_pay - in->workshop_pay;
    if (in->deductions_apply) {
        /* Capped at the week's OUTSIDE pay; what does not fit is dropped,
         * not carried, and the cap is filled in kind order. */
        int64_t room = in->outside_pay > 0 ? in->outside_pay : 0;
        for (int k = 0; k < WAGE_DEDUCTION_KINDS; k++) {
            int64_t want = in->deductions[k] > 0 ? in->deductions[k] : 0;
            int64_t take = want < room ? want : room;
            out->deductions[k] = take;
            out->deductions_total += take;
            room -= take;
        }
    }
    out->net_outside = in->outside_pay - out->deductions_total;
    out->levy = wage_levy(out->net_outside);
    out->net = out->gross + out->top_up - out->deductions_total - out->levy;
}

/* Account names are built on every priced record: plain copies, not
 * snprintf (which showed up in the pricing profile). Truncated to fit. */
static void s_join3(char *out, const char *a, const char *b, const char *c)
{
    size_t n = 0;
    const char *parts[3] = { a, b, c };
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p && n + 1 < WAGE_ACCOUNT_LEN; p++)
            out[n++] = *p;
    out[n] = '\0';
}

void wage_account_prison_wages(const char *prison, char *out)
{
    s_join3(out, "prison:", prison, ":wages");
}

void wage_account_prison_outside(const char *prison, char *out)
{
    s_join3(out, "prison:", prison, ":outside-wages");
}

void wage_account_prison_adjustments(const char *prison, char *out)
{
    s_join3(out, "prison:", prison, ":adjustments");
}

void wage_account_spends(const char *prisoner, char *out)
{
    s_join3(out, "prisoner:", prisoner, ":spends");
}

const char *wage_account_deduction(wage_deduction_kind_t kind)
{
    switch (kind) {
    case WAGE_INCOME_TAX: return "hmrc:income-tax";
    case WAGE_NATIONAL_INSURANCE: return "hmrc:national-insurance";
    case WAGE_COURT_ORDER: return "court:orders";
    case WAGE_CHILD_MAINTENANCE: return "cms:child-maintenance";
    default: return NULL;
    }
}

const char *wage_deduction_name(wage_deduction_kind_t kind)
{
    switch (kind) {
    case WAGE_INCOME_TAX: return "INCOME_TAX";
    case WAGE_NATIONAL_INSURANCE: return "NATIONAL_INSURANCE";
    case WAGE_COURT_ORDER: return "COURT_ORDER";
    case WAGE_CHILD_MAINTENANCE: return "CHILD_MAINTENANCE";
    default: return NULL;
    }
}

void wage_line_for_price(const char *prison, const char *prisoner,
                         wage_work_type_t work_type, int64_t pence,
                         wage_line_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = WAGE_LINE_PAY;
    if (work_type == WAGE_OUTSIDE)
        wage_account_prison_outside(prison, out->debit);
    else
        wage_account_prison_wages(prison, out->debit);
    wage_account_spends(prisoner, out->credit);
    out->amount = pence;
}

void wage_line_for_adjustment(const char *prison, const char *prisoner,
                              int64_t amount, wage_line_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = WAGE_LINE_ADJUSTMENT;
    wage_account_prison_adjustments(prison, out->debit);
    wage_account_spends(prisoner, out->credit);
    out->amount = amount;
}

void wage_line_reverse(const wage_line_t *line, wage_line_t *out)
{
    *out = *line;
    out->kind = WAGE_LINE_REVERSAL;
    out->amount = -line->amount;
}

size_t wage_close_lines(const char *prison, const char *prisoner,
                        const wage_week_out_t *week,
                        wage_line_t out[WAGE_CLOSE_MAX_LINES])
{
    size_t n = 0;
    char spends[WAGE_ACCOUNT_LEN];
    wage_account_spends(prisoner, spends);
    if (week->top_up != 0) {
        wage_line_t *l = &out[n++];
        memset(l, 0, sizeof *l);
        l->kind = WAGE_LINE_TOP_UP;
        wage_account_prison_wages(prison, l->debit);
        memcpy(l->credit, spends, sizeof spends);
        l->amount = week->top_up;
    }
    for (int k = 0; k < WAGE_DEDUCTION_KINDS; k++) {
        if (week->deductions[k] == 0)
            continue;
        wage_line_t *l = &out[n++];
        memset(l, 0, sizeof *l);
        l->kind = WAGE_LINE_DEDUCTION;
        memcpy(l->debit, spends, sizeof spends);
        snprintf(l->credit, WAGE_ACCOUNT_LEN, "%s",
                 wage_account_deduction((wage_deduction_kind_t)k));
        l->amount = week->deductions[k];
    }
    if (week->levy != 0) {
        wage_line_t *l = &out[n++];
        memset(l, 0, sizeof *l);
        l->kind = WAGE_LINE_LEVY;
        memcpy(l->debit, spends, sizeof spends);
        snprintf(l->credit, WAGE_ACCOUNT_LEN, "%s", WAGE_ACCOUNT_LEVY);
        l->amount = week->levy;
    }
    return n;
}

int64_t wage_line_effect(const wage_line_t *line, const char *account)
{
    int64_t e = 0;
    if (strcmp(line->debit, account) == 0)
        e += line->amount;
    if (strcmp(line->credit, account) == 0)
        e -= line->amount;
    return e;
}

/* ---- custody -------------------------------------------------------------- */

const char *wage_custody_on(const wage_custody_t *c, int32_t day)
{
    if (day >= c->released_on)
        return NULL;
    const char *prison = c->prison;
    int32_t best = INT32_MIN;
    int found = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->transfers[i].from <= day && (!found || c->transfers[i].from >= best)) {
            best = c->transfers[i].from;
            prison = c->transfers[i].prison;
            found = 1;
        }
    return prison;
}

const char *wage_custody_last_in_week(const wage_custody_t *c, int32_t monday)
{
    for (int32_t d = monday + 6; d >= monday; d--) {
        const char *p = wage_custody_on(c, d);
        if (p)
            return p;
    }
    return NULL;
}
