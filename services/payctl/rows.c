/* rows: see rows.h. Each parser walks its columns in header order, so the
 * first bad cell from the left is the one reported, as a person reading
 * the row would find it. Messages follow the services' wording
 * ("<column>: \"<cell>\" is not ..."), so that a row refused locally reads
 * the same as one refused by a service. */
#include "rows.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "money.h"

/* ---- layouts ------------------------------------------------------------ */

static const char *const s_prisons_cols[] = {"code", "name", "regime"};
static const char *const s_prisoners_cols[] = {
    "number", "prison", "incentive_level", "public_contact_cleared_on", "released_on"};
static const char *const s_employers_cols[] = {
    "id", "name", "address", "postcode", "vat_number", "email", "billing_period",
    "payment_terms_days", "peppol_endpoint"};
static const char *const s_contracts_cols[] = {
    "id", "employer", "prison", "activity", "work_type", "start", "end", "public_contact",
    "attested_by", "attested_on", "attestation_ref"};
static const char *const s_allocations_cols[] = {"prisoner", "contract", "from", "to",
                                                 "pay_band"};
static const char *const s_pay_rates_cols[] = {
    "prison", "pay_band", "incentive_level", "effective_from", "basis", "rate", "piece_rate",
    "piece_rate_items"};
static const char *const s_outside_wages_cols[] = {"contract", "effective_from",
                                                   "hourly_wage"};
static const char *const s_billing_terms_cols[] = {"contract", "effective_from", "basis",
                                                   "charge", "vat_rate_bp"};
static const char *const s_deductions_cols[] = {"prisoner", "week", "kind", "amount"};
static const char *const s_transfers_cols[] = {"prisoner", "prison", "effective_from"};
static const char *const s_levels_cols[] = {"prisoner", "incentive_level", "effective_from"};
static const char *const s_hours_cols[] = {
    "record_id", "prisoner", "contract", "date", "session", "minutes", "units", "outcome",
    "paid_absence"};

#define S_N(a) (sizeof(a) / sizeof *(a))

static const rows_kind_info_t s_kinds[ROWS_KIND_COUNT] = {
    {ROWS_PRISONS, "prisons", "prisons", s_prisons_cols, S_N(s_prisons_cols)},
    {ROWS_PRISONERS, "prisoners", "prisoners", s_prisoners_cols, S_N(s_prisoners_cols)},
    {ROWS_EMPLOYERS, "employers", "employers", s_employers_cols, S_N(s_employers_cols), 1},
    {ROWS_CONTRACTS, "contracts", "contracts", s_contracts_cols, S_N(s_contracts_cols)},
    {ROWS_ALLOCATIONS, "allocations", "allocations", s_allocations_cols,
     S_N(s_allocations_cols)},
    {ROWS_PAY_RATES, "pay-rates", "pay rates", s_pay_rates_cols, S_N(s_pay_rates_cols)},
    {ROWS_OUTSIDE_WAGES, "outside-wages", "outside wages", s_outside_wages_cols,
     S_N(s_outside_wages_cols)},
    {ROWS_BILLING_TERMS, "billing-terms", "billing terms", s_billing_terms_cols,
     S_N(s_billing_terms_cols)},
    {ROWS_DEDUCTIONS, "deductions", "deductions", s_deductions_cols, S_N(s_deductions_cols)},
    {ROWS_TRANSFERS, "transfers", "transfers", s_transfers_cols, S_N(s_transfers_cols)},
    {ROWS_INCENTIVE_LEVELS, "incentive-levels", "incentive levels", s_levels_cols,
     S_N(s_levels_cols)},
    {ROWS_HOURS, "hours", "hours", s_hours_cols, S_N(s_hours_cols)},
};

const rows_kind_info_t *rows_kind_info(rows_kind_t kind)
{
    if ((int)kind < 0 || kind >= ROWS_KIND_COUNT)
        kind = ROWS_HOURS;   /* a programming error; never NULL */
    return &s_kinds[kind];
}

int rows_kind_parse(const char *name, rows_kind_t *kind)
{
    if (!name)
        return -1;
    for (int k = 0; k < ROWS_KIND_COUNT; k++) {
        const char *want = s_kinds[k].name, *p = name;
        while (*want && (*p == *want || (*p == '_' && *want == '-'))) {
            p++;
            want++;
        }
        if (!*want && !*p) {
            *kind = (rows_kind_t)k;
            return 0;
        }
    }
    return -1;
}

/* ---- enum spellings ----------------------------------------------------- */

static const char *const s_regimes[] = {"CLOSED", "OPEN", NULL};
static const char *const s_levels[] = {"BAS", "ENT", "STD", "ENH", "EN2", NULL};
static const char *const s_periods[] = {"WEEKLY", "MONTHLY", NULL};
static const char *const s_work_types[] = {"WORKSHOP", "OUTSIDE", NULL};
static const char *const s_rate_bases[] = {"SESSION", "HOURLY", NULL};
static const char *const s_charge_bases[] = {"HOURLY", "UNIT", NULL};
static const char *const s_deduction_kinds[] = {"INCOME_TAX", "NATIONAL_INSURANCE",
                                                "COURT_ORDER", "CHILD_MAINTENANCE", NULL};
static const char *const s_sessions[] = {"AM", "PM", "ED", NULL};
static const char *const s_outcomes[] = {"ATTENDED", "SICK", "REST", "OTHER", "NOT_REQUIRED",
                                         "CLASH", "CANCELLED", "REFUSED", "SUSPENDED", NULL};

static const char *s_name(const char *const *names, size_t count, int v)
{
    return v >= 0 && (size_t)v < count ? names[v] : "?";
}

const char *rows_level_name(rows_level_t v)
{
    return s_name(s_levels, S_N(s_levels) - 1, (int)v);
}

const char *rows_session_name(rows_session_t v)
{
    return s_name(s_sessions, S_N(s_sessions) - 1, (int)v);
}

const char *rows_outcome_name(rows_outcome_t v)
{
    return s_name(s_outcomes, S_N(s_outcomes) - 1, (int)v);
}

const char *rows_deduction_kind_name(rows_deduction_kind_t v)
{
    return s_name(s_deduction_kinds, S_N(s_deduction_kinds) - 1, (int)v);
}

/* ---- the cell walker ---------------------------------------------------- */

typedef struct {
    const char *const *cells;
    size_t n;                       /* cells present (trailing optional ones may lack) */
    const char *const *cols;
    rows_error_t *err;
} s_ctx_t;

static int s_fail(s_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_fail(s_ctx_t *c, const char *fmt, ...)
{
    va_list ap;
    char raw[ROWS_ERR_LEN];
    c->err->code = "INVALID_ARGUMENT";
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    /* A cell quoted in the message may hold a line break; a report is one
     * line per row, so control characters are shown escaped. */
    size_t j = 0;
    char *m = c->err->message;
    for (const unsigned char *p = (const unsigned char *)raw; *p && j + 3 < ROWS_ERR_LEN; p++) {
        if (*p >= 0x20 && *p != 0x7f) {
            m[j++] = (char)*p;
        } else {
            m[j++] = '\\';
            m[j++] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : *p == '\t' ? 't' : '?';
        }
    }
    m[j] = '\0';
    return -1;
}

/* Starts a parse: checks the number of cells against the layout. */
static int s_begin(s_ctx_t *c, rows_kind_t kind, const char *const *cells, size_t n,
                   rows_error_t *err)
{
    const rows_kind_info_t *k = rows_kind_info(kind);
    c->cells = cells;
    c->n = n;
    c->cols = k->columns;
    c->err = err;
    err->code = NULL;
    err->message[0] = '\0';
    if (n > k->ncolumns || n + k->noptional < k->ncolumns) {
        if (k->noptional)
            return s_fail(c, "row has %zu fields, expected %zu or %zu (%s)", n,
                          k->ncolumns - k->noptional, k->ncolumns, k->title);
        return s_fail(c, "row has %zu fields, expected %zu (%s)", n, k->ncolumns, k->title);
    }
    return 0;
}

/* A cell beyond the row's end (an optional trailing column the file
 * leaves out) is empty. */
static int s_empty_cell(const s_ctx_t *c, int i)
{
    return (size_t)i >= c->n || c->cells[i][0] == '\0';
}

/* Quoted cell for messages, cut short so that a message always fits. */
#define S_Q "\"%.48s\""

/* A required cell that is an identifier of one of the DOMAIN.md patterns. */
static int s_id(s_ctx_t *c, int i, bool (*valid)(const char *), const char *what,
                const char **out)
{
    const char *s = c->cells[i];
    if (s_empty_cell(c, i))
        return s_fail(c, "%s: empty, need %s", c->cols[i], what);
    if (!valid(s))
        return s_fail(c, "%s: " S_Q " is not %s", c->cols[i], s, what);
    *out = s;
    return 0;
}

#define S_PRISON(c, i, out) s_id(c, i, ident_is_prison, "three capital letters like MDI", out)
#define S_PRISONER(c, i, out) \
    s_id(c, i, ident_is_prisoner, "a prisoner number like A1234BC", out)
#define S_EMPLOYER(c, i, out) s_id(c, i, ident_is_employer, "an employer id like dhl", out)
#define S_CONTRACT(c, i, out) s_id(c, i, ident_is_contract, "a contract id like C-0042", out)

/* Free text: required, valid UTF-8, no control characters. */
static int s_text(s_ctx_t *c, int i, const char **out)
{
    if (s_empty_cell(c, i))
        return s_fail(c, "%s: empty", c->cols[i]);
    if (ident_text_chars(c->cells[i]) < 0)
        return s_fail(c, "%s: not UTF-8 text without control characters", c->cols[i]);
    *out = c->cells[i];
    return 0;
}

static int s_date(s_ctx_t *c, int i, int32_t *out)
{
    if (s_empty_cell(c, i))
        return s_fail(c, "%s: empty, need a date YYYY-MM-DD", c->cols[i]);
    if (civil_parse_date(c->cells[i], out) != 0)
        return s_fail(c, "%s: " S_Q " is not a real date YYYY-MM-DD", c->cols[i], c->cells[i]);
    return 0;
}

static int s_opt_date(s_ctx_t *c, int i, int *has, int32_t *out)
{
    *has = !s_empty_cell(c, i);
    *out = 0;
    return *has ? s_date(c, i, out) : 0;
}

static int s_enum(s_ctx_t *c, int i, const char *const *names, int *out)
{
    char list[160] = "";
    for (int k = 0; names[k]; k++) {
        if (strcmp(c->cells[i], names[k]) == 0) {
            *out = k;
            return 0;
        }
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "", names[k]);
    }
    if (s_empty_cell(c, i))
        return s_fail(c, "%s: empty, need one of %s", c->cols[i], list);
    return s_fail(c, "%s: " S_Q " is not one of %s", c->cols[i], c->cells[i], list);
}

/* yes / no; an empty cell is `empty_value`, or refused when it is -1. */
static int s_bool(s_ctx_t *c, int i, int empty_value, int *out)
{
    const char *s = c->cells[i];
    if (s_empty_cell(c, i) && empty_value >= 0) {
        *out = empty_value;
        return 0;
    }
    if (strcmp(s, "yes") == 0 || strcmp(s, "no") == 0) {
        *out = s[0] == 'y';
        return 0;
    }
    if (s_empty_cell(c, i))
        return s_fail(c, "%s: empty, need yes or no", c->cols[i]);
    return s_fail(c, "%s: " S_Q " is not yes or no", c->cols[i], s);
}

/* Pounds with 0 to 2 decimals, non-negative, exact. */
static int s_money(s_ctx_t *c, int i, int64_t *out)
{
    if (s_empty_cell(c, i))
        return s_fail(c, "%s: empty, need an amount in pounds like 1.50", c->cols[i]);
    if (money_parse(c->cells[i], 0, out) != 0)
        return s_fail(c, "%s: " S_Q " is not an amount in pounds like 1.50 (0 to 2 decimals)",
                      c->cols[i], c->cells[i]);
    return 0;
}

/* A whole number in [min, max]. */
static int s_uint(s_ctx_t *c, int i, uint64_t min, uint64_t max, uint64_t *out)
{
    if (s_empty_cell(c, i))
        return s_fail(c, "%s: empty, need a whole number from %llu to %llu", c->cols[i],
                      (unsigned long long)min, (unsigned long long)max);
    if (parse_uint64(c->cells[i], UINT64_MAX, out) != 0)
        return s_fail(c, "%s: " S_Q " is not a whole number", c->cols[i], c->cells[i]);
    if (*out < min || *out > max)
        return s_fail(c, "%s: %llu is outside %llu to %llu", c->cols[i],
                      (unsigned long long)*out, (unsigned long long)min,
                      (unsigned long long)max);
    return 0;
}

static int s_pay_band(s_ctx_t *c, int i, uint32_t *out)
{
    uint64_t v;
    if (s_uint(c, i, 1, 10, &v) != 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* ---- one parser per kind ------------------------------------------------ */

int rows_parse_prison(const char *const *cells, size_t n, rows_prison_t *out, rows_error_t *err)
{
    s_ctx_t c;
    int v = 0;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_PRISONS, cells, n, err) != 0 || S_PRISON(&c, 0, &out->code) != 0 ||
        s_text(&c, 1, &out->name) != 0 || s_enum(&c, 2, s_regimes, &v) != 0)
        return -1;
    out->regime = (rows_regime_t)v;
    return 0;
}

int rows_parse_prisoner(const char *const *cells, size_t n, rows_prisoner_t *out,
                        rows_error_t *err)
{
    s_ctx_t c;
    int v = 0;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_PRISONERS, cells, n, err) != 0 || S_PRISONER(&c, 0, &out->number) != 0 ||
        S_PRISON(&c, 1, &out->prison) != 0 || s_enum(&c, 2, s_levels, &v) != 0 ||
        s_opt_date(&c, 3, &out->has_cleared_on, &out->public_contact_cleared_on) != 0 ||
        s_opt_date(&c, 4, &out->has_released_on, &out->released_on) != 0)
        return -1;
    out->incentive_level = (rows_level_t)v;
    return 0;
}

int rows_parse_employer(const char *const *cells, size_t n, rows_employer_t *out,
                        rows_error_t *err)
{
    s_ctx_t c;
    int v = 0;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_EMPLOYERS, cells, n, err) != 0 || S_EMPLOYER(&c, 0, &out->id) != 0 ||
        s_text(&c, 1, &out->name) != 0 || s_text(&c, 2, &out->address) != 0 ||
        s_text(&c, 3, &out->postcode) != 0)
        return -1;
    if (!s_empty_cell(&c, 4)) {
        if (!ident_is_vat_number(cells[4]))
            return s_fail(&c, "vat_number: " S_Q " is not GB followed by 9 digits", cells[4]);
        out->vat_number = cells[4];
    }
    if (s_text(&c, 5, &out->email) != 0)
        return -1;
    if (!strchr(out->email, '@'))
        return s_fail(&c, "email: " S_Q " is not an email address", cells[5]);
    if (s_enum(&c, 6, s_periods, &v) != 0)
        return -1;
    out->billing_period = (rows_period_t)v;
    out->payment_terms_days = 30;
    if (!s_empty_cell(&c, 7)) {
        uint64_t days;
        if (s_uint(&c, 7, 0, 365, &days) != 0)
            return -1;
        out->has_payment_terms_days = 1;
        out->payment_terms_days = (uint32_t)days;
    }
    if (!s_empty_cell(&c, 8)) {
        /* scheme:id; invoicing checks the scheme against the EAS code list. */
        const char *e = cells[8], *colon = strchr(e, ':');
        int ok = colon && colon - e == 4 && colon[1] != '\0' && strlen(colon + 1) <= 120;
        for (const char *p = e; ok && p < colon; p++)
            ok = *p >= '0' && *p <= '9';
        for (const char *p = colon ? colon + 1 : e; ok && *p; p++)
            ok = *p > ' ' && *p < 0x7f;
        if (!ok)
            return s_fail(&c, "peppol_endpoint: " S_Q " is not scheme:id, e.g. "
                              "0088:5012345678900", e);
        out->peppol_endpoint = e;
    }
    return 0;
}

int rows_parse_contract(const char *const *cells, size_t n, rows_contract_t *out,
                        rows_error_t *err)
{
    s_ctx_t c;
    int v = 0;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_CONTRACTS, cells, n, err) != 0 || S_CONTRACT(&c, 0, &out->id) != 0 ||
        S_EMPLOYER(&c, 1, &out->employer) != 0 || S_PRISON(&c, 2, &out->prison) != 0 ||
        s_text(&c, 3, &out->activity) != 0 || s_enum(&c, 4, s_work_types, &v) != 0 ||
        s_date(&c, 5, &out->start) != 0 || s_opt_date(&c, 6, &out->has_end, &out->end) != 0)
        return -1;
    out->work_type = (rows_work_type_t)v;
    if (out->has_end && out->end < out->start)
        return s_fail(&c, "end: " S_Q " is before start " S_Q, cells[6], cells[5]);
    if (s_bool(&c, 7, 0, &out->public_contact) != 0)
        return -1;
    int given = !s_empty_cell(&c, 8) + !s_empty_cell(&c, 9) + !s_empty_cell(&c, 10);
    if (given != 0 && given != 3) {
        int missing = s_empty_cell(&c, 8) ? 8 : s_empty_cell(&c, 9) ? 9 : 10;
        return s_fail(&c,
                      "%s: empty, an attestation needs attested_by, attested_on and "
                      "attestation_ref",
                      c.cols[missing]);
    }
    if (given == 3) {
        if (s_text(&c, 8, &out->attested_by) != 0 || s_date(&c, 9, &out->attested_on) != 0 ||
            s_text(&c, 10, &out->attestation_ref) != 0)
            return -1;
        out->attested = 1;
    }
    return 0;
}

int rows_parse_allocation(const char *const *cells, size_t n, rows_allocation_t *out,
                          rows_error_t *err)
{
    s_ctx_t c;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_ALLOCATIONS, cells, n, err) != 0 ||
        S_PRISONER(&c, 0, &out->prisoner) != 0 || S_CONTRACT(&c, 1, &out->contract) != 0 ||
        s_date(&c, 2, &out->from) != 0 || s_opt_date(&c, 3, &out->has_to, &out->to) != 0)
        return -1;
    if (out->has_to && out->to < out->from)
        return s_fail(&c, "to: " S_Q " is before from " S_Q, cells[3], cells[2]);
    return s_pay_band(&c, 4, &out->pay_band);
}

int rows_parse_pay_rate(const char *const *cells, size_t n, rows_pay_rate_t *out,
                        rows_error_t *err)
{
    s_ctx_t c;
    int level = 0, basis = 0;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_PAY_RATES, cells, n, err) != 0 || S_PRISON(&c, 0, &out->prison) != 0 ||
        s_pay_band(&c, 1, &out->pay_band) != 0 || s_enum(&c, 2, s_levels, &level) != 0 ||
        s_date(&c, 3, &out->effective_from) != 0 || s_enum(&c, 4, s_rate_bases, &basis) != 0 ||
        s_money(&c, 5, &out->rate) != 0)
        return -1;
    out->incentive_level = (rows_level_t)level;
    out->basis = (rows_rate_basis_t)basis;
    int given = !s_empty_cell(&c, 6) + !s_empty_cell(&c, 7);
    if (given == 1)
        return s_fail(&c, "%s: empty, a piece rate needs piece_rate and piece_rate_items",
                      c.cols[s_empty_cell(&c, 6) ? 6 : 7]);
    if (given == 2) {
        if (s_money(&c, 6, &out->piece_rate) != 0 ||
            s_uint(&c, 7, 1, UINT32_MAX, &out->piece_rate_items) != 0)
            return -1;
        out->has_piece_rate = 1;
    }
    return 0;
}

int rows_parse_outside_wage(const char *const *cells, size_t n, rows_outside_wage_t *out,
                            rows_error_t *err)
{
    s_ctx_t c;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_OUTSIDE_WAGES, cells, n, err) != 0 ||
        S_CONTRACT(&c, 0, &out->contract) != 0 || s_date(&c, 1, &out->effective_from) != 0 ||
        s_money(&c, 2, &out->hourly_wage) != 0)
        return -1;
    return 0;
}

int rows_parse_billing_terms(const char *const *cells, size_t n, rows_billing_terms_t *out,
                             rows_error_t *err)
{
    s_ctx_t c;
    int basis = 0;
    uint64_t bp = 0;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_BILLING_TERMS, cells, n, err) != 0 ||
        S_CONTRACT(&c, 0, &out->contract) != 0 || s_date(&c, 1, &out->effective_from) != 0 ||
        s_enum(&c, 2, s_charge_bases, &basis) != 0 || s_money(&c, 3, &out->charge) != 0 ||
        s_uint(&c, 4, 0, 10000, &bp) != 0)
        return -1;
    out->basis = (rows_charge_basis_t)basis;
    out->vat_rate_bp = (uint32_t)bp;
    return 0;
}

int rows_parse_deduction(const char *const *cells, size_t n, rows_deduction_t *out,
                         rows_error_t *err)
{
    s_ctx_t c;
    int kind = 0;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_DEDUCTIONS, cells, n, err) != 0 ||
        S_PRISONER(&c, 0, &out->prisoner) != 0)
        return -1;
    if (s_empty_cell(&c, 1))
        return s_fail(&c, "week: empty, need an ISO week like 2026-W48");
    if (civil_parse_week(cells[1], &out->week) != 0)
        return s_fail(&c, "week: " S_Q " is not an ISO week like 2026-W48", cells[1]);
    if (s_enum(&c, 2, s_deduction_kinds, &kind) != 0 || s_money(&c, 3, &out->amount) != 0)
        return -1;
    out->kind = (rows_deduction_kind_t)kind;
    return 0;
}

int rows_parse_transfer(const char *const *cells, size_t n, rows_transfer_t *out,
                        rows_error_t *err)
{
    s_ctx_t c;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_TRANSFERS, cells, n, err) != 0 ||
        S_PRISONER(&c, 0, &out->prisoner) != 0 || S_PRISON(&c, 1, &out->prison) != 0 ||
        s_date(&c, 2, &out->effective_from) != 0)
        return -1;
    return 0;
}

int rows_parse_incentive_level(const char *const *cells, size_t n, rows_incentive_level_t *out,
                               rows_error_t *err)
{
    s_ctx_t c;
    int level = 0;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_INCENTIVE_LEVELS, cells, n, err) != 0 ||
        S_PRISONER(&c, 0, &out->prisoner) != 0 || s_enum(&c, 1, s_levels, &level) != 0 ||
        s_date(&c, 2, &out->effective_from) != 0)
        return -1;
    out->incentive_level = (rows_level_t)level;
    return 0;
}

int rows_parse_hours(const char *const *cells, size_t n, rows_hours_t *out, rows_error_t *err)
{
    s_ctx_t c;
    int session = 0, outcome = 0;
    uint64_t minutes = 0;
    memset(out, 0, sizeof *out);
    if (s_begin(&c, ROWS_HOURS, cells, n, err) != 0)
        return -1;
    if (s_empty_cell(&c, 0))
        return s_fail(&c, "record_id: empty, need 1 to 64 characters");
    long chars = ident_text_chars(cells[0]);
    if (chars < 1 || chars > 64)
        return s_fail(&c, "record_id: not 1 to 64 characters of UTF-8 without control "
                          "characters");
    out->record_id = cells[0];
    if (S_PRISONER(&c, 1, &out->prisoner) != 0 || S_CONTRACT(&c, 2, &out->contract) != 0 ||
        s_date(&c, 3, &out->date) != 0 || s_enum(&c, 4, s_sessions, &session) != 0 ||
        s_uint(&c, 5, 1, 600, &minutes) != 0)
        return -1;
    out->session = (rows_session_t)session;
    out->minutes = (uint32_t)minutes;
    if (!s_empty_cell(&c, 6) && parse_uint64(cells[6], IDENT_MAX_UNITS, &out->units) != 0)
        return s_fail(&c, "units: " S_Q " is not a whole number from 0 to %llu", cells[6],
                      (unsigned long long)IDENT_MAX_UNITS);
    if (s_enum(&c, 7, s_outcomes, &outcome) != 0 || s_bool(&c, 8, 0, &out->paid_absence) != 0)
        return -1;
    out->outcome = (rows_outcome_t)outcome;
    return 0;
}

int rows_parse(rows_kind_t kind, const char *const *cells, size_t n, rows_value_t *out,
               rows_error_t *err)
{
    switch (kind) {
    case ROWS_PRISONS: return rows_parse_prison(cells, n, &out->prison, err);
    case ROWS_PRISONERS: return rows_parse_prisoner(cells, n, &out->prisoner, err);
    case ROWS_EMPLOYERS: return rows_parse_employer(cells, n, &out->employer, err);
    case ROWS_CONTRACTS: return rows_parse_contract(cells, n, &out->contract, err);
    case ROWS_ALLOCATIONS: return rows_parse_allocation(cells, n, &out->allocation, err);
    case ROWS_PAY_RATES: return rows_parse_pay_rate(cells, n, &out->pay_rate, err);
    case ROWS_OUTSIDE_WAGES: return rows_parse_outside_wage(cells, n, &out->outside_wage, err);
    case ROWS_BILLING_TERMS: return rows_parse_billing_terms(cells, n, &out->billing_terms, err);
    case ROWS_DEDUCTIONS: return rows_parse_deduction(cells, n, &out->deduction, err);
    case ROWS_TRANSFERS: return rows_parse_transfer(cells, n, &out->transfer, err);
    case ROWS_INCENTIVE_LEVELS:
        return rows_parse_incentive_level(cells, n, &out->incentive_level, err);
    case ROWS_HOURS: return rows_parse_hours(cells, n, &out->hours, err);
    case ROWS_KIND_COUNT: break;
    }
    err->code = "INVALID_ARGUMENT";
    snprintf(err->message, sizeof err->message, "unknown kind of row");
    return -1;
}

/* ---- row keys ------------------------------------------------------------ */

/* The columns of each kind's upsert key (DOMAIN.md "Upserts are keyed"),
 * by index, ending with -1. */
static const int s_key_cols[ROWS_KIND_COUNT][5] = {
    [ROWS_PRISONS] = {0, -1},
    [ROWS_PRISONERS] = {0, -1},
    [ROWS_EMPLOYERS] = {0, -1},
    [ROWS_CONTRACTS] = {0, -1},
    [ROWS_ALLOCATIONS] = {0, 1, 2, -1},
    [ROWS_PAY_RATES] = {0, 1, 2, 3, -1},
    [ROWS_OUTSIDE_WAGES] = {0, 1, -1},
    [ROWS_BILLING_TERMS] = {0, 1, -1},
    [ROWS_DEDUCTIONS] = {0, 1, 2, -1},
    [ROWS_TRANSFERS] = {0, 2, -1},
    [ROWS_INCENTIVE_LEVELS] = {0, 2, -1},
    [ROWS_HOURS] = {0, -1},
};

void rows_key(rows_kind_t kind, const char *const *cells, size_t n, char *out, size_t cap)
{
    size_t at = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
    if ((unsigned)kind >= ROWS_KIND_COUNT)
        return;
    for (int i = 0; s_key_cols[kind][i] >= 0; i++) {
        size_t col = (size_t)s_key_cols[kind][i];
        const char *cell = col < n && cells[col] ? cells[col] : "";
        int w = snprintf(out + at, cap - at, "%s%s", i ? "/" : "", cell);
        if (w < 0 || (size_t)w >= cap - at) {
            at = strlen(out);   /* cut short: a character may be cut in two */
            break;
        }
        at += (size_t)w;
    }
    ident_utf8_repair(out, at);
}
