/* inv_rules: see inv_rules.h. */
#include "inv_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "money.h"

int inv_period_of(inv_period_kind_t kind, int32_t day, inv_period_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    if (kind == INV_PERIOD_WEEKLY) {
        civil_week_t w = civil_iso_week(day);
        out->first = civil_week_monday(w);
        out->last = out->first + 6;
        out->key = 1000000u + civil_week_key(w);
        civil_format_week(w, out->text);
        return 0;
    }
    if (kind == INV_PERIOD_MONTHLY) {
        int y, m, d;
        civil_to_ymd(day, &y, &m, &d);
        out->first = civil_month_first(y, m);
        out->last = civil_month_last(y, m);
        out->key = 2000000u + (uint32_t)(y * 100 + m);
        civil_format_month(y, m, out->text);
        return 0;
    }
    return -1;
}

int inv_period_from_key(uint32_t key, inv_period_t *out)
{
    uint32_t kind = key / 1000000u, rest = key % 1000000u;
    int year = (int)(rest / 100), n = (int)(rest % 100);
    if (year < 1 || year > 9999)
        return -1;
    if (kind == INV_PERIOD_WEEKLY) {
        if (n < 1 || n > civil_weeks_in_year(year))
            return -1;
        civil_week_t w = { year, n };
        return inv_period_of(INV_PERIOD_WEEKLY, civil_week_monday(w), out);
    }
    if (kind == INV_PERIOD_MONTHLY) {
        if (n < 1 || n > 12)
            return -1;
        return inv_period_of(INV_PERIOD_MONTHLY, civil_month_first(year, n), out);
    }
    return -1;
}

long inv_terms_in_force(const inv_terms_t *terms, size_t n, int32_t day)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (terms[i].effective_from > day)
            continue;
        if (best < 0 || terms[i].effective_from >= terms[best].effective_from)
            best = (long)i;
    }
    return best;
}

int64_t inv_line_net(inv_basis_t basis, int64_t charge, int64_t minutes,
                     int64_t units)
{
    /* Products beyond int64 (possible only from absurd stored sums) are
     * pinned to the range's end, which no document accepts
     * (inv_doc_check), instead of wrapping round to a plausible amount. */
    int64_t p;
    if (basis == INV_BASIS_HOURLY) {
        if (__builtin_mul_overflow(minutes, charge, &p))
            return (minutes < 0) != (charge < 0) ? INT64_MIN : INT64_MAX;
        return round_half_up_signed(p, 60);
    }
    if (basis == INV_BASIS_UNIT) {
        if (__builtin_mul_overflow(units, charge, &p))
            return (units < 0) != (charge < 0) ? INT64_MIN : INT64_MAX;
        return p;
    }
    return 0;
}

int inv_line_is_empty(inv_basis_t basis, int64_t minutes, int64_t units)
{
    if (basis == INV_BASIS_UNIT)
        return units == 0;
    return minutes == 0;
}

int64_t inv_hours_centi(int64_t minutes)
{
    return round_half_up_signed(minutes * 100, 60);
}

void inv_format_centi(int64_t centi, char *out, size_t outlen)
{
    /* Hundredths print exactly like pence. */
    char buf[MONEY_TEXT_LEN];
    money_format(centi, buf);
    snprintf(out, outlen, "%s", buf);
}

int64_t inv_vat_on_sum(int64_t sum_net, uint32_t vat_bp)
{
    return round_half_up_signed(sum_net * (int64_t)vat_bp, 10000);
}

inv_kind_t inv_doc_kind(int64_t total)
{
    return total < 0 ? INV_KIND_CREDIT_NOTE : INV_KIND_INVOICE;
}

int32_t inv_due_date(int32_t issue, uint32_t terms_days)
{
    return issue + (int32_t)terms_days;
}

int32_t inv_tax_point(const inv_period_t *period)
{
    return period->last;
}

int32_t inv_auto_issue_day(const inv_period_t *period, uint32_t auto_issue_days)
{
    return period->last + 1 + (int32_t)auto_issue_days;
}

int inv_format_number(inv_kind_t kind, uint64_t seq, char *out, size_t outlen)
{
    const char *prefix = kind == INV_KIND_CREDIT_NOTE ? "CRN" : "INV";
    if (seq == 0 || seq > 999999999ull)
        return -1;
    int n = snprintf(out, outlen, "%s-%06llu", prefix, (unsigned long long)seq);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int inv_parse_number(const char *s, inv_kind_t *kind, uint64_t *seq)
{
    if (!s || strlen(s) < 10 || strlen(s) > 13 || s[3] != '-')
        return -1;
    if (strncmp(s, "INV", 3) == 0)
        *kind = INV_KIND_INVOICE;
    else if (strncmp(s, "CRN", 3) == 0)
        *kind = INV_KIND_CREDIT_NOTE;
    else
        return -1;
    uint64_t v = 0;
    for (const char *p = s + 4; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v == 0)
        return -1;
    /* Only the canonical spelling, so one document has one name. */
    char canon[INV_NUMBER_LEN];
    if (inv_format_number(*kind, v, canon, sizeof canon) != 0 || strcmp(canon, s) != 0)
        return -1;
    *seq = v;
    return 0;
}

int inv_vat_breakdown(const int64_t *nets, const uint32_t *bps, size_t n,
                      inv_vat_sum_t out[INV_MAX_RATES])
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        int j;
        for (j = 0; j < k; j++)
            if (out[j].vat_bp == bps[i])
                break;
        if (j == k) {
            if (k == INV_MAX_RATES)
                return -1;
            /* Keep rates ascending: insertion sort as they arrive. */
            while (j > 0 && out[j - 1].vat_bp > bps[i]) {
                out[j] = out[j - 1];
                j--;
            }
            out[j].vat_bp = bps[i];
            out[j].net = 0;
            k++;
        }
        out[j].net += nets[i];
    }
    for (int j = 0; j < k; j++)
        out[j].vat = inv_vat_on_sum(out[j].net, out[j].vat_bp);
    return k;
}

int inv_vat_per_line(const int64_t *nets, const uint32_t *bps, size_t n,
                     int64_t *line_vat)
{
    inv_vat_sum_t sums[INV_MAX_RATES];
    int k = inv_vat_breakdown(nets, bps, n, sums);
    if (k < 0)
        return -1;
    for (int j = 0; j < k; j++) {
        int64_t shared = 0;
        long big = -1;
        for (size_t i = 0; i < n; i++) {
            if (bps[i] != sums[j].vat_bp)
                continue;
            line_vat[i] = inv_vat_on_sum(nets[i], bps[i]);
            shared += line_vat[i];
            if (big < 0 || llabs(nets[i]) > llabs(nets[big]))
                big = (long)i;
        }
        if (big >= 0)
            line_vat[big] += sums[j].vat - shared;
    }
    return 0;
}

int inv_terms_span(const inv_terms_t *terms, size_t n, size_t i, const inv_period_t *period,
                   int32_t *first, int32_t *last)
{
    if (i >= n)
        return -1;
    int32_t from = terms[i].effective_from, until = period->last;
    for (size_t j = 0; j < n; j++)
        if (terms[j].effective_from > from && terms[j].effective_from - 1 < until)
            until = terms[j].effective_from - 1;
    *first = from > period->first ? from : period->first;
    *last = until;
    return *first <= *last ? 0 : -1;
}
