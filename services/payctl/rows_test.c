/* rows_test: every kind of FORMATS.md row, good and bad.
 *
 * For each kind: a good row parses to the right values; every required cell
 * emptied is refused naming that column; every optional cell emptied is
 * accepted; a row one cell short or long is refused. Then the particular
 * bad cells: money, booleans, dates, enums, patterns, no trimming. */
#include "rows.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"

typedef struct {
    rows_kind_t kind;
    const char *cells[12];
    const char *optional;   /* space-separated optional columns */
} s_good_t;

static const s_good_t s_good[] = {
    {ROWS_PRISONS, {"MDI", "Moorland", "CLOSED"}, ""},
    {ROWS_PRISONERS, {"A1234BC", "MDI", "STD", "2026-01-05", "2027-03-01"},
     "public_contact_cleared_on released_on"},
    {ROWS_EMPLOYERS,
     {"dhl", "DHL Supply Chain Ltd", "Ocean House, Bracknell", "RG12 1AN", "GB123456789",
      "ap@dhl.example", "WEEKLY", "14", "0088:5012345678900"},
     "vat_number payment_terms_days peppol_endpoint"},
    {ROWS_CONTRACTS,
     {"C-0042", "dhl", "MDI", "Laundry", "WORKSHOP", "2026-01-01", "2026-12-31", "yes",
      "J. Smith", "2025-12-20", "COP-2025-17"},
     "end public_contact"},
    {ROWS_ALLOCATIONS, {"A1234BC", "C-0042", "2026-01-05", "2026-06-30", "3"}, "to"},
    {ROWS_PAY_RATES,
     {"MDI", "3", "ENH", "2026-04-01", "HOURLY", "1.50", "0.25", "10"}, ""},
    {ROWS_OUTSIDE_WAGES, {"C-0043", "2026-04-01", "12.71"}, ""},
    {ROWS_BILLING_TERMS, {"C-0042", "2026-01-01", "UNIT", "0.35", "2000"}, ""},
    {ROWS_DEDUCTIONS, {"A1234BC", "2026-W48", "COURT_ORDER", "5"}, ""},
    {ROWS_TRANSFERS, {"A1234BC", "LEI", "2026-02-01"}, ""},
    {ROWS_INCENTIVE_LEVELS, {"A1234BC", "EN2", "2026-03-01"}, ""},
    {ROWS_HOURS,
     {"mdi-2026-11-23-A1234BC-AM", "A1234BC", "C-0042", "2026-11-23", "AM", "180", "42",
      "SICK", "yes"},
     "units paid_absence"},
};

#define S_NGOOD (sizeof s_good / sizeof *s_good)

static int s_is_optional(const s_good_t *g, const char *col)
{
    char list[128];
    snprintf(list, sizeof list, " %s ", g->optional);
    char word[64];
    snprintf(word, sizeof word, " %s ", col);
    return strstr(list, word) != NULL;
}

static int s_parse(rows_kind_t kind, const char *const *cells, size_t n, rows_error_t *err)
{
    rows_value_t v;
    return rows_parse(kind, cells, n, &v, err);
}

/* Parses the good row of `kind` with cell `col` replaced by `value`. */
static int s_with(rows_kind_t kind, int col, const char *value, rows_error_t *err)
{
    const s_good_t *g = NULL;
    for (size_t i = 0; i < S_NGOOD; i++)
        if (s_good[i].kind == kind)
            g = &s_good[i];
    const char *cells[12];
    size_t n = rows_kind_info(kind)->ncolumns;
    memcpy(cells, g->cells, sizeof cells);
    if (col >= 0)
        cells[col] = value;
    return s_parse(kind, cells, n, err);
}

static void test_every_kind_generic(void)
{
    TAP_EQ_INT(S_NGOOD, ROWS_KIND_COUNT, "a good row for every kind");
    for (size_t k = 0; k < S_NGOOD; k++) {
        const s_good_t *g = &s_good[k];
        const rows_kind_info_t *info = rows_kind_info(g->kind);
        rows_error_t err;
        const char *cells[13];
        memcpy(cells, g->cells, sizeof g->cells);
        int rc = s_parse(g->kind, cells, info->ncolumns, &err);
        TAP_EQ_INT(rc, 0, "%s: good row accepted (%s)", info->name, rc ? err.message : "ok");

        /* A file may leave out the trailing optional columns only. */
        for (size_t k2 = 1; k2 <= info->noptional; k2++)
            TAP_EQ_INT(s_parse(g->kind, cells, info->ncolumns - k2, &err), 0,
                       "%s: without the optional trailing column accepted", info->name);
        size_t short_n = info->ncolumns - info->noptional - 1;
        TAP_EQ_INT(s_parse(g->kind, cells, short_n, &err), -1,
                   "%s: one field short refused", info->name);
        TAP_EQ_STR(err.code, "INVALID_ARGUMENT", "%s: short row code", info->name);
        char want[64];
        snprintf(want, sizeof want, "row has %zu fields, expected %zu", short_n,
                 info->ncolumns - info->noptional);
        TAP_OK(strstr(err.message, want) != NULL, "%s: short row message: %s", info->name,
               err.message);
        cells[info->ncolumns] = "extra";
        TAP_EQ_INT(s_parse(g->kind, cells, info->ncolumns + 1, &err), -1,
                   "%s: one field long refused", info->name);

        for (size_t c = 0; c < info->ncolumns; c++) {
            memcpy(cells, g->cells, sizeof g->cells);
            cells[c] = "";
            rc = s_parse(g->kind, cells, info->ncolumns, &err);
            if (s_is_optional(g, info->columns[c])) {
                TAP_EQ_INT(rc, 0, "%s: empty optional %s accepted", info->name,
                           info->columns[c]);
            } else {
                char prefix[64];
                snprintf(prefix, sizeof prefix, "%s: ", info->columns[c]);
                TAP_OK(rc == -1 && strcmp(err.code, "INVALID_ARGUMENT") == 0 &&
                           strncmp(err.message, prefix, strlen(prefix)) == 0,
                       "%s: empty required %s refused naming it (%s)", info->name,
                       info->columns[c], rc ? err.message : "accepted");
            }
        }
    }
}

static void test_values(void)
{
    rows_value_t v;
    rows_error_t err;
    const char *const *c;

    c = s_good[ROWS_PRISONS].cells;
    TAP_EQ_INT(rows_parse(ROWS_PRISONS, c, 3, &v, &err), 0, "prison parsed");
    TAP_EQ_STR(v.prison.code, "MDI", "prison code");
    TAP_EQ_INT(v.prison.regime, ROWS_REGIME_CLOSED, "prison regime");

    c = s_good[ROWS_PRISONERS].cells;
    rows_parse(ROWS_PRISONERS, c, 5, &v, &err);
    TAP_EQ_INT(v.prisoner.incentive_level, ROWS_LEVEL_STD, "prisoner level");
    TAP_OK(v.prisoner.has_cleared_on && v.prisoner.public_contact_cleared_on ==
                                            civil_from_ymd(2026, 1, 5),
           "prisoner cleared date");
    TAP_OK(v.prisoner.has_released_on, "prisoner release date");

    c = s_good[ROWS_EMPLOYERS].cells;
    rows_parse(ROWS_EMPLOYERS, c, 8, &v, &err);
    TAP_OK(v.employer.peppol_endpoint == NULL, "8 columns: no Peppol endpoint");
    rows_parse(ROWS_EMPLOYERS, c, 9, &v, &err);
    TAP_EQ_STR(v.employer.peppol_endpoint, "0088:5012345678900", "employer Peppol endpoint");
    TAP_EQ_STR(v.employer.vat_number, "GB123456789", "employer VAT number");
    TAP_EQ_INT(v.employer.payment_terms_days, 14, "employer terms");
    TAP_EQ_STR(v.employer.address, "Ocean House, Bracknell", "address with a comma");

    c = s_good[ROWS_CONTRACTS].cells;
    rows_parse(ROWS_CONTRACTS, c, 11, &v, &err);
    TAP_OK(v.contract.public_contact && v.contract.attested && v.contract.has_end,
           "contract flags");

    c = s_good[ROWS_PAY_RATES].cells;
    rows_parse(ROWS_PAY_RATES, c, 8, &v, &err);
    TAP_EQ_INT(v.pay_rate.rate, 150, "rate 1.50 is 150 pence");
    TAP_EQ_INT(v.pay_rate.piece_rate, 25, "piece rate 0.25 is 25 pence");
    TAP_EQ_INT(v.pay_rate.piece_rate_items, 10, "piece rate items");
    TAP_EQ_INT(v.pay_rate.basis, ROWS_RATE_HOURLY, "rate basis");
    TAP_EQ_INT(v.pay_rate.pay_band, 3, "pay band");

    c = s_good[ROWS_OUTSIDE_WAGES].cells;
    rows_parse(ROWS_OUTSIDE_WAGES, c, 3, &v, &err);
    TAP_EQ_INT(v.outside_wage.hourly_wage, 1271, "outside wage 12.71");

    c = s_good[ROWS_BILLING_TERMS].cells;
    rows_parse(ROWS_BILLING_TERMS, c, 5, &v, &err);
    TAP_EQ_INT(v.billing_terms.charge, 35, "charge 0.35");
    TAP_EQ_INT(v.billing_terms.vat_rate_bp, 2000, "vat bp");

    c = s_good[ROWS_DEDUCTIONS].cells;
    rows_parse(ROWS_DEDUCTIONS, c, 4, &v, &err);
    TAP_EQ_INT(v.deduction.amount, 500, "deduction 5 pounds, no decimals");
    TAP_OK(v.deduction.week.year == 2026 && v.deduction.week.week == 48, "deduction week");
    TAP_EQ_INT(v.deduction.kind, ROWS_DED_COURT_ORDER, "deduction kind");

    c = s_good[ROWS_HOURS].cells;
    rows_parse(ROWS_HOURS, c, 9, &v, &err);
    TAP_EQ_INT(v.hours.minutes, 180, "hours minutes");
    TAP_EQ_INT(v.hours.units, 42, "hours units");
    TAP_EQ_INT(v.hours.outcome, ROWS_OUT_SICK, "hours outcome");
    TAP_EQ_INT(v.hours.paid_absence, 1, "hours paid absence");
    TAP_EQ_STR(rows_outcome_name(v.hours.outcome), "SICK", "outcome name");
}

static void test_hours_defaults(void)
{
    rows_value_t v;
    rows_error_t err;
    const char *cells[9];
    memcpy(cells, s_good[ROWS_HOURS].cells, sizeof cells);
    cells[6] = "";
    cells[8] = "";
    TAP_EQ_INT(rows_parse(ROWS_HOURS, cells, 9, &v, &err), 0, "empty units and paid_absence");
    TAP_EQ_INT(v.hours.units, 0, "empty units is 0");
    TAP_EQ_INT(v.hours.paid_absence, 0, "empty paid_absence is no");
    cells[8] = "no";
    rows_parse(ROWS_HOURS, cells, 9, &v, &err);
    TAP_EQ_INT(v.hours.paid_absence, 0, "paid_absence no");
}

typedef struct {
    rows_kind_t kind;
    int col;
    const char *value;
    const char *want;   /* substring of the message; NULL: accepted */
} s_case_t;

static const s_case_t s_cases[] = {
    /* money: 0 to 2 decimals, exact, never negative, never exponent */
    {ROWS_PAY_RATES, 5, "1.234", "rate: \"1.234\" is not an amount"},
    {ROWS_PAY_RATES, 5, "1e3", "rate: \"1e3\" is not an amount"},
    {ROWS_PAY_RATES, 5, "-0.5", "rate: \"-0.5\" is not an amount"},
    {ROWS_PAY_RATES, 5, "1.", "rate: \"1.\""},
    {ROWS_PAY_RATES, 5, " 1.50", "rate: \" 1.50\""},
    {ROWS_PAY_RATES, 5, "£1.50", "rate: "},
    {ROWS_PAY_RATES, 5, "2", NULL},
    {ROWS_PAY_RATES, 5, "2.5", NULL},
    {ROWS_PAY_RATES, 6, "1.234", "piece_rate: \"1.234\""},
    {ROWS_PAY_RATES, 6, "", "piece_rate: empty, a piece rate needs"},
    {ROWS_PAY_RATES, 7, "", "piece_rate_items: empty, a piece rate needs"},
    {ROWS_PAY_RATES, 7, "0", "piece_rate_items: 0 is outside 1"},
    {ROWS_PAY_RATES, 1, "11", "pay_band: 11 is outside 1 to 10"},
    {ROWS_PAY_RATES, 1, "0", "pay_band: 0 is outside"},
    {ROWS_PAY_RATES, 4, "hourly", "basis: \"hourly\" is not one of SESSION, HOURLY"},
    {ROWS_PAY_RATES, 2, "std", "incentive_level: \"std\" is not one of BAS"},
    {ROWS_OUTSIDE_WAGES, 2, "1e3", "hourly_wage: \"1e3\""},
    {ROWS_OUTSIDE_WAGES, 2, "-0.5", "hourly_wage: \"-0.5\""},
    {ROWS_OUTSIDE_WAGES, 2, "12.711", "hourly_wage: \"12.711\""},
    {ROWS_BILLING_TERMS, 3, "1.234", "charge: \"1.234\""},
    {ROWS_BILLING_TERMS, 3, "-0.5", "charge: \"-0.5\""},
    {ROWS_BILLING_TERMS, 4, "10001", "vat_rate_bp: 10001 is outside 0 to 10000"},
    {ROWS_BILLING_TERMS, 4, "20%", "vat_rate_bp: \"20%\" is not a whole number"},
    {ROWS_BILLING_TERMS, 2, "SESSION", "basis: \"SESSION\" is not one of HOURLY, UNIT"},
    {ROWS_DEDUCTIONS, 3, "1e3", "amount: \"1e3\""},
    {ROWS_DEDUCTIONS, 3, "-0.5", "amount: \"-0.5\""},
    {ROWS_DEDUCTIONS, 3, "1.234", "amount: \"1.234\""},
    {ROWS_DEDUCTIONS, 1, "2026-48", "week: \"2026-48\" is not an ISO week"},
    {ROWS_DEDUCTIONS, 1, "2026-W54", "week: \"2026-W54\""},
    {ROWS_DEDUCTIONS, 2, "TAX", "kind: \"TAX\" is not one of INCOME_TAX"},
    /* booleans: yes or no, exactly */
    {ROWS_CONTRACTS, 7, "Yes", "public_contact: \"Yes\" is not yes or no"},
    {ROWS_CONTRACTS, 7, "true", "public_contact: \"true\""},
    {ROWS_CONTRACTS, 7, "no", NULL},
    {ROWS_HOURS, 8, "Yes", "paid_absence: \"Yes\" is not yes or no"},
    {ROWS_HOURS, 8, "YES", "paid_absence: \"YES\""},
    {ROWS_HOURS, 8, "y", "paid_absence: \"y\""},
    /* dates: strict and real */
    {ROWS_HOURS, 3, "2026-02-30", "date: \"2026-02-30\" is not a real date"},
    {ROWS_HOURS, 3, "23/11/2026", "date: \"23/11/2026\""},
    {ROWS_HOURS, 3, "2026-11-23 ", "date: \"2026-11-23 \""},
    {ROWS_HOURS, 3, "2026-1-23", "date: \"2026-1-23\""},
    {ROWS_PRISONERS, 3, "2026-13-01", "public_contact_cleared_on: \"2026-13-01\""},
    {ROWS_PRISONERS, 4, "tomorrow", "released_on: \"tomorrow\""},
    {ROWS_CONTRACTS, 5, "2026-00-10", "start: \"2026-00-10\""},
    {ROWS_CONTRACTS, 6, "2025-12-31", "end: \"2025-12-31\" is before start"},
    {ROWS_CONTRACTS, 9, "2025-02-29", "attested_on: \"2025-02-29\""},
    {ROWS_ALLOCATIONS, 2, "2026-1-5", "from: \"2026-1-5\""},
    {ROWS_ALLOCATIONS, 3, "2026-01-04", "to: \"2026-01-04\" is before from"},
    {ROWS_ALLOCATIONS, 4, "1.5", "pay_band: \"1.5\" is not a whole number"},
    {ROWS_PAY_RATES, 3, "2026-04-31", "effective_from: \"2026-04-31\""},
    {ROWS_OUTSIDE_WAGES, 1, "2026-4-1", "effective_from: \"2026-4-1\""},
    {ROWS_BILLING_TERMS, 1, "20260101", "effective_from: \"20260101\""},
    {ROWS_TRANSFERS, 2, "2026-02-30", "effective_from: \"2026-02-30\""},
    {ROWS_INCENTIVE_LEVELS, 2, "x", "effective_from: \"x\""},
    /* patterns: no trimming, no case folding */
    {ROWS_HOURS, 1, " A1234BC", "prisoner: \" A1234BC\" is not a prisoner number"},
    {ROWS_HOURS, 1, "A1234BC ", "prisoner: \"A1234BC \""},
    {ROWS_HOURS, 1, "a1234bc", "prisoner: \"a1234bc\""},
    {ROWS_HOURS, 2, "c-0042", "contract: \"c-0042\" is not a contract id"},
    {ROWS_HOURS, 2, "C_0042", "contract: \"C_0042\""},
    {ROWS_HOURS, 4, "am", "session: \"am\" is not one of AM, PM, ED"},
    {ROWS_HOURS, 5, "0", "minutes: 0 is outside 1 to 600"},
    {ROWS_HOURS, 5, "601", "minutes: 601 is outside 1 to 600"},
    {ROWS_HOURS, 5, "60.5", "minutes: \"60.5\" is not a whole number"},
    {ROWS_HOURS, 5, "+60", "minutes: \"+60\""},
    {ROWS_HOURS, 5, "600", NULL},
    {ROWS_HOURS, 6, "-1", "units: \"-1\" is not a whole number"},
    {ROWS_HOURS, 6, " 1", "units: \" 1\""},
    {ROWS_HOURS, 6, "0", NULL},
    {ROWS_HOURS, 7, "Attended", "outcome: \"Attended\" is not one of ATTENDED"},
    {ROWS_HOURS, 7, "NOT_REQUIRED", NULL},
    {ROWS_HOURS, 0, "x\tid", "record_id: not 1 to 64 characters"},
    {ROWS_HOURS, 0, "12345678901234567890123456789012345678901234567890123456789012345",
     "record_id: not 1 to 64"},
    {ROWS_HOURS, 0, "1234567890123456789012345678901234567890123456789012345678901234", NULL},
    {ROWS_HOURS, 0, "\xc3\xa9t\xc3\xa9-1", NULL},
    {ROWS_HOURS, 0, "bad\xff", "record_id: not 1 to 64"},
    {ROWS_PRISONS, 0, "MD", "code: \"MD\" is not three capital letters"},
    {ROWS_PRISONS, 0, "mdi", "code: \"mdi\""},
    {ROWS_PRISONS, 2, "Closed", "regime: \"Closed\" is not one of CLOSED, OPEN"},
    {ROWS_PRISONS, 1, "Moor\nland", "name: not UTF-8 text without control characters"},
    {ROWS_PRISONERS, 0, "A12345C", "number: \"A12345C\""},
    {ROWS_PRISONERS, 1, "MDI ", "prison: \"MDI \""},
    {ROWS_EMPLOYERS, 0, "DHL", "id: \"DHL\" is not an employer id"},
    {ROWS_EMPLOYERS, 0, "d", "id: \"d\""},
    {ROWS_EMPLOYERS, 0, "-dhl", "id: \"-dhl\""},
    {ROWS_EMPLOYERS, 4, "GB12345678", "vat_number: \"GB12345678\" is not GB followed by 9"},
    {ROWS_EMPLOYERS, 4, "gb123456789", "vat_number: \"gb123456789\""},
    {ROWS_EMPLOYERS, 5, "nobody", "email: \"nobody\" is not an email address"},
    {ROWS_EMPLOYERS, 6, "weekly", "billing_period: \"weekly\" is not one of WEEKLY, MONTHLY"},
    {ROWS_EMPLOYERS, 7, "30 days", "payment_terms_days: \"30 days\""},
    {ROWS_EMPLOYERS, 8, "5012345678900", "peppol_endpoint: \"5012345678900\" is not scheme:id"},
    {ROWS_EMPLOYERS, 8, "88:5012345678900", "peppol_endpoint: \"88:5012345678900\""},
    {ROWS_EMPLOYERS, 8, "0088:", "peppol_endpoint: \"0088:\""},
    {ROWS_EMPLOYERS, 8, "0088:50 12", "peppol_endpoint: \"0088:50 12\""},
    {ROWS_CONTRACTS, 4, "OFFSITE", "work_type: \"OFFSITE\" is not one of WORKSHOP, OUTSIDE"},
    {ROWS_CONTRACTS, 8, "", "attested_by: empty, an attestation needs"},
    {ROWS_CONTRACTS, 10, "", "attestation_ref: empty, an attestation needs"},
    {ROWS_TRANSFERS, 1, "Lei", "prison: \"Lei\""},
    {ROWS_INCENTIVE_LEVELS, 1, "ENH ", "incentive_level: \"ENH \""},
};

static void test_bad_cells(void)
{
    for (size_t i = 0; i < sizeof s_cases / sizeof *s_cases; i++) {
        const s_case_t *t = &s_cases[i];
        rows_error_t err;
        int rc = s_with(t->kind, t->col, t->value, &err);
        const char *name = rows_kind_info(t->kind)->name;
        char shown[80];   /* the value as a TAP line can carry it */
        size_t j = 0;
        for (const char *q = t->value; *q && j + 3 < sizeof shown; q++) {
            if (*q == '\n' || *q == '\t') {
                shown[j++] = '\\';
                shown[j++] = *q == '\n' ? 'n' : 't';
            } else {
                shown[j++] = *q;
            }
        }
        shown[j] = '\0';
        if (!t->want) {
            TAP_EQ_INT(rc, 0, "%s: %s \"%s\" accepted (%s)", name,
                       rows_kind_info(t->kind)->columns[t->col], shown,
                       rc ? err.message : "ok");
        } else {
            TAP_OK(rc == -1 && err.code && strcmp(err.code, "INVALID_ARGUMENT") == 0 &&
                       strstr(err.message, t->want) != NULL,
                   "%s: %s \"%s\" refused: %s", name, rows_kind_info(t->kind)->columns[t->col],
                   shown, rc ? err.message : "accepted");
        }
    }

    /* No attestation at all is allowed: the contract just cannot get hours. */
    const char *cells[11];
    rows_value_t v;
    rows_error_t err;
    memcpy(cells, s_good[ROWS_CONTRACTS].cells, sizeof cells);
    cells[8] = cells[9] = cells[10] = "";
    TAP_EQ_INT(rows_parse(ROWS_CONTRACTS, cells, 11, &v, &err), 0, "unattested contract parses");
    TAP_EQ_INT(v.contract.attested, 0, "unattested");

    /* Both piece-rate cells empty: no piece rate. */
    const char *rate[8];
    memcpy(rate, s_good[ROWS_PAY_RATES].cells, sizeof rate);
    rate[6] = rate[7] = "";
    TAP_EQ_INT(rows_parse(ROWS_PAY_RATES, rate, 8, &v, &err), 0, "rate without piece rate");
    TAP_EQ_INT(v.pay_rate.has_piece_rate, 0, "no piece rate");

    /* Empty payment terms: the default 30 days. */
    const char *emp[8];
    memcpy(emp, s_good[ROWS_EMPLOYERS].cells, sizeof emp);
    emp[7] = "";
    rows_parse(ROWS_EMPLOYERS, emp, 8, &v, &err);
    TAP_EQ_INT(v.employer.payment_terms_days, 30, "default payment terms 30 days");
    emp[4] = "";
    rows_parse(ROWS_EMPLOYERS, emp, 8, &v, &err);
    TAP_OK(v.employer.vat_number == NULL, "no VAT number is NULL");
}

static void test_kinds(void)
{
    rows_kind_t k;
    TAP_EQ_INT(rows_kind_parse("pay-rates", &k), 0, "pay-rates is a kind");
    TAP_EQ_INT(k, ROWS_PAY_RATES, "pay-rates");
    TAP_EQ_INT(rows_kind_parse("incentive_levels", &k), 0, "underscore form accepted");
    TAP_EQ_INT(k, ROWS_INCENTIVE_LEVELS, "incentive_levels");
    TAP_EQ_INT(rows_kind_parse("Hours", &k), -1, "kind names are case-sensitive");
    TAP_EQ_INT(rows_kind_parse("pay", &k), -1, "prefix is not a kind");
    TAP_EQ_INT(rows_kind_info(ROWS_HOURS)->ncolumns, 9, "hours has 9 columns");
    TAP_EQ_STR(rows_kind_info(ROWS_CONTRACTS)->columns[10], "attestation_ref",
               "contracts' last column");
}

static void test_keys(void)
{
    char key[ROWS_KEY_LEN];
    for (size_t k = 0; k < S_NGOOD; k++) {
        rows_key(s_good[k].kind, s_good[k].cells, rows_kind_info(s_good[k].kind)->ncolumns, key,
                 sizeof key);
        TAP_OK(key[0] != '\0', "%s: key \"%s\"", rows_kind_info(s_good[k].kind)->name, key);
    }
    rows_key(ROWS_ALLOCATIONS, s_good[ROWS_ALLOCATIONS].cells, 5, key, sizeof key);
    TAP_EQ_STR(key, "A1234BC/C-0042/2026-01-05", "allocation key: prisoner, contract, from");
    rows_key(ROWS_PAY_RATES, s_good[ROWS_PAY_RATES].cells, 8, key, sizeof key);
    TAP_EQ_STR(key, "MDI/3/ENH/2026-04-01", "rate key");
    rows_key(ROWS_TRANSFERS, s_good[ROWS_TRANSFERS].cells, 3, key, sizeof key);
    TAP_EQ_STR(key, "A1234BC/2026-02-01", "transfer key: prisoner, effective_from");
    rows_key(ROWS_HOURS, s_good[ROWS_HOURS].cells, 9, key, sizeof key);
    TAP_EQ_STR(key, "mdi-2026-11-23-A1234BC-AM", "hours key: record_id");
    rows_key(ROWS_DEDUCTIONS, s_good[ROWS_DEDUCTIONS].cells, 1, key, sizeof key);
    TAP_EQ_STR(key, "A1234BC//", "a short row: missing cells are empty");
    const char *bad[] = {"r-\xc3"};
    rows_key(ROWS_HOURS, bad, 1, key, sizeof key);
    TAP_EQ_STR(key, "r-?", "invalid UTF-8 in a key is replaced");
    const char *e[] = {"\xc3\xa9\xc3\xa9\xc3\xa9"};
    char small[5];
    rows_key(ROWS_HOURS, e, 1, small, sizeof small);
    TAP_EQ_STR(small, "\xc3\xa9\xc3\xa9", "cut to fit at a character boundary");
    char tiny[4];
    rows_key(ROWS_HOURS, e, 1, tiny, sizeof tiny);
    TAP_EQ_STR(tiny, "\xc3\xa9?", "a character cut in two becomes '?'");
}

int main(void)
{
    test_keys();
    test_every_kind_generic();
    test_values();
    test_hours_defaults();
    test_bad_cells();
    test_kinds();
    return tap_done();
}
