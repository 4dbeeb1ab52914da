/* inv_rules: the invoicing rules of DOMAIN.md ("Invoicing employers") as
 * pure functions over plain values.
 *
 * Billing periods, the billing terms in force on a date, pricing a line on
 * the SUM of its records (never per record), VAT per rate on the sum of the
 * nets, the document kind (a total below zero is a credit note), the due
 * date and the tax point, and the text of document numbers. Nothing here
 * allocates, touches a store or a socket, or reads the clock, so every rule
 * can be tested exhaustively (inv_rules_test.c).
 *
 * Money is int64_t pence, durations int64_t minutes, dates int32_t days
 * since 1970-01-01 (civil.h). Sums may be negative (adjustments). */
#ifndef PAY_INV_RULES_H
#define PAY_INV_RULES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    INV_PERIOD_WEEKLY = 1,   /* ISO week, Monday to Sunday */
    INV_PERIOD_MONTHLY = 2,  /* calendar month */
} inv_period_kind_t;

typedef enum {
    INV_BASIS_HOURLY = 1,    /* pence per prisoner-hour */
    INV_BASIS_UNIT = 2,      /* pence per unit produced */
} inv_basis_t;

typedef enum {
    INV_KIND_INVOICE = 1,
    INV_KIND_CREDIT_NOTE = 2,
} inv_kind_t;

#define INV_PERIOD_TEXT_LEN 12   /* "2026-W48" or "2026-11" + NUL, with room */
#define INV_NUMBER_LEN 16        /* "INV-000001" + NUL, with room */

typedef struct {
    inv_period_kind_t kind;
    int32_t first;                     /* first day, inclusive */
    int32_t last;                      /* last day, inclusive */
    /* One sortable integer naming the period: kind * 1000000 +
     * year * 100 + week-or-month, e.g. 1202648 or 2202611. */
    uint32_t key;
    char text[INV_PERIOD_TEXT_LEN];    /* "2026-W48" or "2026-11" */
} inv_period_t;

/* The billing period of `kind` that contains `day`. Returns 0, or -1 for
 * an unknown kind. */
int inv_period_of(inv_period_kind_t kind, int32_t day, inv_period_t *out);

/* The period named by `key` (as inv_period_t.key). Returns 0 or -1. */
int inv_period_from_key(uint32_t key, inv_period_t *out);

/* One effective-dated billing terms row of a contract. */
typedef struct {
    int32_t effective_from;
    inv_basis_t basis;
    int64_t charge;          /* pence per hour (HOURLY) or per unit (UNIT) */
    uint32_t vat_bp;         /* 2000 = 20 %, 0 = zero-rated */
} inv_terms_t;

/* The row in force on `day`: the one with the latest effective_from on or
 * before `day` (rows need not be sorted; for equal effective_from the later
 * array entry wins, as a later upsert replaces an earlier one). Returns its
 * index, or -1 when none is in force (a NO_TERMS record). */
long inv_terms_in_force(const inv_terms_t *terms, size_t n, int32_t day);

/* The days of `period` that terms row `i` covers: from the later of the
 * period's first day and the row's effective_from, to the earlier of the
 * period's last day and the day before the next row takes over. Returns 0
 * with *first and *last set, or -1 when the row covers no day of the
 * period (or i is out of range). */
int inv_terms_span(const inv_terms_t *terms, size_t n, size_t i, const inv_period_t *period,
                   int32_t *first, int32_t *last);

/* The net of a line priced on its sums:
 *   HOURLY: round_half_up(minutes * charge / 60)
 *   UNIT:   units * charge
 * A negative sum (an adjustment) is rounded on its absolute value and
 * negated. Sums are bounded by the caller (minutes and units below 2^40,
 * charge below 2^20 pence) so that nothing overflows. */
int64_t inv_line_net(inv_basis_t basis, int64_t charge, int64_t minutes,
                     int64_t units);

/* 1 if a line with these sums is left out of a document: a UNIT line with
 * 0 units, or an HOURLY line with 0 minutes. */
int inv_line_is_empty(inv_basis_t basis, int64_t minutes, int64_t units);

/* Minutes shown as hours to 2 decimals, rounded half up (away from zero
 * for a negative quantity), in hundredths of an hour: 20 -> 33 (0.33),
 * 50 -> 83 (0.83), 1 -> 2 (0.02). */
int64_t inv_hours_centi(int64_t minutes);

/* Formats hundredths as "1.50" / "-0.33" into out (at least 32 bytes). */
void inv_format_centi(int64_t centi, char *out, size_t outlen);

/* VAT on the sum of the nets at one rate: round_half_up(sum * bp / 10000),
 * computed on |sum| and negated for a negative sum. */
int64_t inv_vat_on_sum(int64_t sum_net, uint32_t vat_bp);

/* A document whose total (net + VAT) is below zero is a credit note. */
inv_kind_t inv_doc_kind(int64_t total);

/* Due date = issue date + payment terms in days. */
int32_t inv_due_date(int32_t issue, uint32_t terms_days);

/* Tax point = the last day of the period. */
int32_t inv_tax_point(const inv_period_t *period);

/* The first day on which a period is issued automatically: the day after
 * its last day plus `auto_issue_days` further days (default 0). */
int32_t inv_auto_issue_day(const inv_period_t *period, uint32_t auto_issue_days);

/* "INV-000001" / "CRN-000001" (at least 6 digits). Returns 0, or -1 if
 * seq is 0 or out does not have room. */
int inv_format_number(inv_kind_t kind, uint64_t seq, char *out, size_t outlen);

/* Parses a number written by inv_format_number. Returns 0 or -1. */
int inv_parse_number(const char *s, inv_kind_t *kind, uint64_t *seq);

/* Per-rate VAT breakdown of a set of line nets, the way every renderer and
 * the totals use it: rates ascending, one entry per distinct rate. */
typedef struct {
    uint32_t vat_bp;
    int64_t net;             /* sum of the nets at this rate */
    int64_t vat;             /* inv_vat_on_sum(net, vat_bp) */
} inv_vat_sum_t;

#define INV_MAX_RATES 8

/* Groups `n` (net, bp) pairs by rate into out (at most INV_MAX_RATES
 * distinct rates). Returns the number of rates, or -1 if there are more. */
int inv_vat_breakdown(const int64_t *nets, const uint32_t *bps, size_t n,
                      inv_vat_sum_t out[INV_MAX_RATES]);

/* Shares the VAT of each rate out over its lines for the per-line `vat`
 * column of the CSV export, so that the lines add up exactly to the
 * document's VAT: each line gets inv_vat_on_sum(its net), and the rounding
 * difference of a rate goes to its line with the largest absolute net (the
 * first such). line_vat has n entries. Returns 0 or -1 (as breakdown). */
int inv_vat_per_line(const int64_t *nets, const uint32_t *bps, size_t n,
                     int64_t *line_vat);

#endif
