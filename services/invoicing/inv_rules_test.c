/* inv_rules_test: the invoicing rules of DOMAIN.md, exhaustively where the
 * domain is small (hours display, VAT rounding) and by example elsewhere. */
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "inv_rules.h"
#include "money.h"
#include "tap.h"

static int32_t D(const char *s)
{
    int32_t d = 0;
    if (civil_parse_date(s, &d) != 0)
        abort();
    return d;
}

static const char *S(int32_t day)
{
    static char buf[4][CIVIL_DATE_LEN];
    static int k;
    k = (k + 1) % 4;
    civil_format_date(day, buf[k]);
    return buf[k];
}

static void test_periods(void)
{
    inv_period_t p, q;
    TAP_EQ_INT(inv_period_of(INV_PERIOD_WEEKLY, D("2026-11-29"), &p), 0, "weekly period");
    TAP_EQ_STR(p.text, "2026-W48", "Sunday 2026-11-29 is in 2026-W48");
    TAP_EQ_STR(S(p.first), "2026-11-23", "week starts Monday");
    TAP_EQ_STR(S(p.last), "2026-11-29", "week ends Sunday");
    inv_period_of(INV_PERIOD_WEEKLY, D("2026-11-30"), &p);
    TAP_EQ_STR(p.text, "2026-W49", "Monday 2026-11-30 starts 2026-W49");
    inv_period_of(INV_PERIOD_WEEKLY, D("2027-01-01"), &p);
    TAP_EQ_STR(p.text, "2026-W53", "2027-01-01 belongs to ISO year 2026, week 53");
    TAP_EQ_STR(S(p.first), "2026-12-28", "W53 starts 2026-12-28");
    inv_period_of(INV_PERIOD_WEEKLY, D("2025-12-29"), &p);
    TAP_EQ_STR(p.text, "2026-W01", "2025-12-29 is in 2026-W01");
    TAP_EQ_INT(p.key, 1202601, "weekly key");
    TAP_EQ_INT(inv_period_from_key(p.key, &q), 0, "weekly key parses back");
    TAP_EQ_INT(q.first, p.first, "weekly key round trip");

    TAP_EQ_INT(inv_period_of(INV_PERIOD_MONTHLY, D("2026-02-14"), &p), 0, "monthly period");
    TAP_EQ_STR(p.text, "2026-02", "month text");
    TAP_EQ_STR(S(p.first), "2026-02-01", "month first day");
    TAP_EQ_STR(S(p.last), "2026-02-28", "February 2026 has 28 days");
    inv_period_of(INV_PERIOD_MONTHLY, D("2028-02-01"), &p);
    TAP_EQ_STR(S(p.last), "2028-02-29", "February 2028 has 29 days");
    inv_period_of(INV_PERIOD_MONTHLY, D("2026-12-31"), &p);
    TAP_EQ_INT(p.key, 2202612, "monthly key");
    TAP_EQ_INT(inv_period_from_key(p.key, &q), 0, "monthly key parses back");
    TAP_EQ_STR(q.text, "2026-12", "monthly key round trip");
    TAP_EQ_INT(inv_period_from_key(2202613, &q), -1, "month 13 refused");
    TAP_EQ_INT(inv_period_from_key(1202554, &q), -1, "week 54 refused");
    TAP_EQ_INT(inv_period_of((inv_period_kind_t)9, 0, &q), -1, "unknown kind refused");

    /* Every day of two years lies inside its own period, for both kinds. */
    int bad = 0;
    for (int32_t d = D("2025-12-01"); d < D("2028-01-31"); d++) {
        inv_period_of(INV_PERIOD_WEEKLY, d, &p);
        inv_period_of(INV_PERIOD_MONTHLY, d, &q);
        if (d < p.first || d > p.last || p.last - p.first != 6 || civil_weekday(p.first) != 1)
            bad++;
        if (d < q.first || d > q.last)
            bad++;
    }
    TAP_EQ_INT(bad, 0, "every day lies in its week and month");

    inv_period_of(INV_PERIOD_MONTHLY, D("2026-11-10"), &p);
    TAP_EQ_STR(S(inv_tax_point(&p)), "2026-11-30", "tax point is the period's last day");
    TAP_EQ_STR(S(inv_auto_issue_day(&p, 0)), "2026-12-01", "auto issue the day after, by default");
    TAP_EQ_STR(S(inv_auto_issue_day(&p, 3)), "2026-12-04", "auto issue after 3 more days");
    TAP_EQ_STR(S(inv_due_date(D("2026-12-01"), 30)), "2026-12-31", "due date = issue + 30");
    TAP_EQ_STR(S(inv_due_date(D("2026-12-15"), 30)), "2027-01-14", "due date crosses a year");
}

static void test_terms(void)
{
    inv_terms_t t[] = {
        { D("2026-11-16"), INV_BASIS_HOURLY, 900, 2000 },
        { D("2026-01-01"), INV_BASIS_HOURLY, 800, 2000 },
        { D("2026-11-16"), INV_BASIS_UNIT, 25, 0 },     /* same key, later upsert */
    };
    TAP_EQ_INT(inv_terms_in_force(t, 3, D("2025-12-31")), -1, "no terms before the first row (NO_TERMS)");
    TAP_EQ_INT(inv_terms_in_force(t, 3, D("2026-01-01")), 1, "row in force from its own date");
    TAP_EQ_INT(inv_terms_in_force(t, 3, D("2026-11-15")), 1, "earlier row until the day before");
    TAP_EQ_INT(inv_terms_in_force(t, 3, D("2026-11-16")), 2, "latest effective_from wins; later entry for a tie");
    TAP_EQ_INT(inv_terms_in_force(t, 0, D("2026-11-16")), -1, "no rows at all");
}

static void test_pricing(void)
{
    /* The issue's example: three records of 20 minutes at 101p/hour. */
    int64_t on_sum = inv_line_net(INV_BASIS_HOURLY, 101, 20 + 20 + 20, 0);
    int64_t per_record = 3 * inv_line_net(INV_BASIS_HOURLY, 101, 20, 0);
    TAP_EQ_INT(on_sum, 101, "3 x 20 min at 101p/h priced on the sum = 101p");
    TAP_EQ_INT(per_record, 102, "per record it would be 3 x 34p = 102p");
    TAP_EQ_INT(inv_line_net(INV_BASIS_HOURLY, 101, 20, 0), 34, "20 min at 101p/h = 33.67p -> 34p");
    TAP_EQ_INT(inv_line_net(INV_BASIS_HOURLY, 90, 20, 0), 30, "exact: 20 min at 90p/h = 30p");
    TAP_EQ_INT(inv_line_net(INV_BASIS_HOURLY, 3, 10, 0), 1, "half up: 10 min at 3p/h = 0.5p -> 1p");
    TAP_EQ_INT(inv_line_net(INV_BASIS_HOURLY, 3, -10, 0), -1, "negative half: -0.5p -> -1p");
    TAP_EQ_INT(inv_line_net(INV_BASIS_HOURLY, 1250, 2400 * 190, 0), 9500000, "a big month");
    TAP_EQ_INT(inv_line_net(INV_BASIS_UNIT, 25, 999, 12), 300, "UNIT: units x charge, minutes ignored");
    TAP_EQ_INT(inv_line_net(INV_BASIS_UNIT, 25, 0, -4), -100, "UNIT adjustment negative");
    TAP_OK(inv_line_is_empty(INV_BASIS_UNIT, 600, 0), "UNIT line with 0 units is left out");
    TAP_OK(!inv_line_is_empty(INV_BASIS_UNIT, 0, 1), "UNIT line with units is kept");
    TAP_OK(inv_line_is_empty(INV_BASIS_HOURLY, 0, 5), "HOURLY line with 0 minutes is left out");
    TAP_OK(!inv_line_is_empty(INV_BASIS_HOURLY, 1, 0), "HOURLY line with minutes is kept");

    /* Sum pricing equals the exact rational rounded half up, for every
     * total up to 100 hours and a spread of charges. */
    int bad = 0;
    for (int64_t charge = 1; charge <= 2500; charge += 37)
        for (int64_t m = 0; m <= 6000; m++) {
            int64_t net = inv_line_net(INV_BASIS_HOURLY, charge, m, 0);
            /* net is the integer n with |m*charge/60 - n| <= 1/2, ties up */
            int64_t twice = 2 * m * charge;     /* compare 2*60*n against 2*m*charge */
            if (!(120 * net - 60 <= twice && twice < 120 * net + 60))
                bad++;
            if (inv_line_net(INV_BASIS_HOURLY, charge, -m, 0) != -net)
                bad++;
        }
    TAP_EQ_INT(bad, 0, "HOURLY net is round_half_up(minutes*charge/60), symmetric for negatives");
}

static void test_hours_display(void)
{
    char buf[32];
    struct { int64_t m; const char *want; } cases[] = {
        { 60, "1.00" }, { 20, "0.33" }, { 40, "0.67" }, { 50, "0.83" }, { 1, "0.02" },
        { 3, "0.05" }, { 61, "1.02" }, { 90, "1.50" }, { 2400, "40.00" }, { 0, "0.00" },
        { -20, "-0.33" }, { -1, "-0.02" }, { 599, "9.98" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        inv_format_centi(inv_hours_centi(cases[i].m), buf, sizeof buf);
        if (!TAP_OK(strcmp(buf, cases[i].want) == 0, "%lld minutes shown as %s hours",
                    (long long)cases[i].m, cases[i].want))
            TAP_NOTE("got %s", buf);
    }
    int bad = 0;
    for (int64_t m = 0; m <= 100000; m++) {
        int64_t c = inv_hours_centi(m);
        /* c is the nearest hundredth, ties up: |m/60 - c/100| <= 1/200 */
        if (!(6 * c - 3 <= 10 * m && 10 * m < 6 * c + 3))
            bad++;
    }
    TAP_EQ_INT(bad, 0, "hours to 2 decimals rounded half up for 0..100000 minutes");
}

static void test_vat(void)
{
    TAP_EQ_INT(inv_vat_on_sum(101, 2000), 20, "20%% of 101p = 20.2p -> 20p");
    TAP_EQ_INT(inv_vat_on_sum(103, 2000), 21, "20%% of 103p = 20.6p -> 21p");
    TAP_EQ_INT(inv_vat_on_sum(10, 500), 1, "5%% of 10p = 0.5p -> 1p (half up)");
    TAP_EQ_INT(inv_vat_on_sum(-10, 500), -1, "negative sum: on |sum|, negated: -1p");
    TAP_EQ_INT(inv_vat_on_sum(-103, 2000), -21, "-103p at 20%% -> -21p");
    TAP_EQ_INT(inv_vat_on_sum(123456, 0), 0, "zero-rated");

    /* Per rate on the sum of nets, not per line: three lines of 34p at 5%
     * give 5% of 102p = 5.1p -> 5p, not 3 x 2p (1.7p -> 2p). */
    int64_t nets[] = { 34, 34, 34, 1000, -250, 777 };
    uint32_t bps[] = { 500, 500, 500, 2000, 2000, 0 };
    inv_vat_sum_t r[INV_MAX_RATES];
    int k = inv_vat_breakdown(nets, bps, 6, r);
    TAP_EQ_INT(k, 3, "mixed rates: three rates on one invoice");
    TAP_EQ_INT(r[0].vat_bp, 0, "rates ascending: 0");
    TAP_EQ_INT(r[1].vat_bp, 500, "rates ascending: 500");
    TAP_EQ_INT(r[2].vat_bp, 2000, "rates ascending: 2000");
    TAP_EQ_INT(r[0].net, 777, "zero-rated net");
    TAP_EQ_INT(r[0].vat, 0, "zero-rated VAT");
    TAP_EQ_INT(r[1].net, 102, "5%% net is the sum 102p");
    TAP_EQ_INT(r[1].vat, 5, "5%% VAT on the sum: 5p, not 6p");
    TAP_EQ_INT(r[2].net, 750, "20%% net 1000 - 250");
    TAP_EQ_INT(r[2].vat, 150, "20%% VAT 150p");

    int64_t lv[6];
    TAP_EQ_INT(inv_vat_per_line(nets, bps, 6, lv), 0, "per-line VAT shares");
    int64_t s5 = lv[0] + lv[1] + lv[2], s20 = lv[3] + lv[4];
    TAP_EQ_INT(s5, 5, "5%% line shares add up to the rate's VAT");
    TAP_EQ_INT(s20, 150, "20%% line shares add up to the rate's VAT");
    TAP_EQ_INT(lv[5], 0, "zero-rated line VAT");

    int64_t many_n[9];
    uint32_t many_b[9];
    for (int i = 0; i < 9; i++) {
        many_n[i] = 100;
        many_b[i] = 100 + (uint32_t)i;
    }
    TAP_EQ_INT(inv_vat_breakdown(many_n, many_b, 9, r), -1, "more than INV_MAX_RATES refused");
}

static void test_kind_and_numbers(void)
{
    TAP_EQ_INT(inv_doc_kind(-1), INV_KIND_CREDIT_NOTE, "a total below zero is a credit note");
    TAP_EQ_INT(inv_doc_kind(0), INV_KIND_INVOICE, "a zero total is an invoice");
    TAP_EQ_INT(inv_doc_kind(1), INV_KIND_INVOICE, "a positive total is an invoice");

    char buf[INV_NUMBER_LEN];
    inv_kind_t k;
    uint64_t seq;
    TAP_EQ_INT(inv_format_number(INV_KIND_INVOICE, 1, buf, sizeof buf), 0, "format INV");
    TAP_EQ_STR(buf, "INV-000001", "first invoice number");
    inv_format_number(INV_KIND_CREDIT_NOTE, 42, buf, sizeof buf);
    TAP_EQ_STR(buf, "CRN-000042", "credit note number");
    inv_format_number(INV_KIND_INVOICE, 1234567, buf, sizeof buf);
    TAP_EQ_STR(buf, "INV-1234567", "more than 6 digits widen");
    TAP_EQ_INT(inv_format_number(INV_KIND_INVOICE, 0, buf, sizeof buf), -1, "seq 0 refused");
    TAP_EQ_INT(inv_parse_number("CRN-000042", &k, &seq), 0, "parse CRN");
    TAP_OK(k == INV_KIND_CREDIT_NOTE && seq == 42, "parsed CRN-000042");
    TAP_EQ_INT(inv_parse_number("INV-00001", &k, &seq), -1, "short number refused");
    TAP_EQ_INT(inv_parse_number("INV-0000001", &k, &seq), -1, "non-canonical zero padding refused");
    TAP_EQ_INT(inv_parse_number("inv-000001", &k, &seq), -1, "lower case refused");
    TAP_EQ_INT(inv_parse_number("INV-000000", &k, &seq), -1, "zero refused");
    TAP_EQ_INT(inv_parse_number("INV-00000x", &k, &seq), -1, "non-digit refused");
}

static void test_terms_span(void)
{
    inv_period_t nov, w47;
    inv_period_of(INV_PERIOD_MONTHLY, D("2026-11-10"), &nov);
    inv_period_of(INV_PERIOD_WEEKLY, D("2026-11-18"), &w47);
    inv_terms_t t[] = {
        { D("2026-11-16"), INV_BASIS_HOURLY, 560, 2000 },   /* unsorted on purpose */
        { D("2025-01-01"), INV_BASIS_HOURLY, 525, 2000 },
        { D("2026-12-01"), INV_BASIS_HOURLY, 600, 2000 },
    };
    int32_t a, b;
    TAP_EQ_INT(inv_terms_span(t, 3, 1, &nov, &a, &b), 0, "old row covers part of November");
    TAP_OK(a == D("2026-11-01") && b == D("2026-11-15"), "from the 1st to the 15th (%s..%s)", S(a), S(b));
    TAP_EQ_INT(inv_terms_span(t, 3, 0, &nov, &a, &b), 0, "new row covers the rest");
    TAP_OK(a == D("2026-11-16") && b == D("2026-11-30"), "the 16th to the 30th (%s..%s)", S(a), S(b));
    TAP_EQ_INT(inv_terms_span(t, 3, 2, &nov, &a, &b), -1, "December's row covers no day of November");
    TAP_EQ_INT(inv_terms_span(t, 3, 0, &w47, &a, &b), 0, "in week 47 (16th to 22nd)");
    TAP_OK(a == D("2026-11-16") && b == D("2026-11-22"), "the whole week (%s..%s)", S(a), S(b));
    TAP_EQ_INT(inv_terms_span(t, 3, 1, &w47, &a, &b), -1, "the old row ended before the week");
    TAP_EQ_INT(inv_terms_span(t, 3, 3, &nov, &a, &b), -1, "an index out of range");
    for (int32_t day = nov.first; day <= nov.last; day++) {
        long ti = inv_terms_in_force(t, 3, day);
        int inside = ti >= 0 && inv_terms_span(t, 3, (size_t)ti, &nov, &a, &b) == 0
                     && a <= day && day <= b;
        if (!inside) {
            TAP_OK(0, "%s lies in the span of the row in force", S(day));
            return;
        }
    }
    TAP_OK(1, "every day of November lies in the span of the row in force on it");
}

int main(void)
{
    test_terms_span();
    test_periods();
    test_terms();
    test_pricing();
    test_hours_display();
    test_vat();
    test_kind_and_numbers();
    return tap_done();
}
