/* fuzz_money_civil: the exact parsers of money (money.h) and of dates,
 * weeks and months (civil.h), with their round trips as the oracle.
 *
 * Input: the first byte picks what the rest is read as (a string for the
 * parsers, or integers for the arithmetic). Every parse that succeeds must
 * format back to a string that parses to the same value (and, for dates,
 * weeks and months, whose text form is unique, to the very same string);
 * rounding is compared with 128-bit arithmetic. A mismatch aborts. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "clock.h"
#include "money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_FAIL(...)                                                                             \
    do {                                                                                        \
        fprintf(stderr, "fuzz_money_civil: " __VA_ARGS__);                                      \
        fputc('\n', stderr);                                                                    \
        abort();                                                                                \
    } while (0)

static void s_money(const char *s)
{
    int64_t p = 0, q = 0, r = 0;
    char out[MONEY_TEXT_LEN];
    int neg_ok = money_parse(s, 1, &p) == 0;
    int pos_ok = money_parse(s, 0, &q) == 0;
    if (pos_ok && (!neg_ok || p != q || q < 0))
        S_FAIL("money \"%s\": %" PRId64 " without sign, %" PRId64 " with", s, q, p);
    if (neg_ok) {
        money_format(p, out);
        if (money_parse(out, 1, &r) != 0 || r != p)
            S_FAIL("money \"%s\" = %" PRId64 " formats as \"%s\"", s, p, out);
        /* Exactly two decimals, no leading zero and no "-0": the text is
         * already in the one form money_format writes. */
        const char *d = strchr(s, '.');
        const char *digits = s[0] == '-' ? s + 1 : s;
        if (d && strlen(d) == 3 && !(digits[0] == '0' && digits[1] != '.') && p != 0
            && strcmp(out, s) != 0)
            S_FAIL("money \"%s\" formats as \"%s\"", s, out);
    }
    uint64_t u = 0, v = 0;
    if (parse_uint64(s, UINT64_MAX, &u) == 0) {
        char t[32];
        snprintf(t, sizeof t, "%" PRIu64, u);
        if (parse_uint64(t, UINT64_MAX, &v) != 0 || u != v)
            S_FAIL("uint \"%s\" = %" PRIu64 " formats as \"%s\"", s, u, t);
        if (s[0] != '0' && strcmp(t, s) != 0)
            S_FAIL("uint \"%s\" formats as \"%s\"", s, t);
        if (u > 0 && parse_uint64(s, u - 1, &v) == 0)
            S_FAIL("uint \"%s\" accepted under a max of %" PRIu64, s, u - 1);
    }
}

static void s_civil(const char *s)
{
    int32_t day;
    if (civil_parse_date(s, &day) == 0) {
        char out[CIVIL_DATE_LEN];
        civil_format_date(day, out);
        if (strcmp(out, s) != 0)
            S_FAIL("date \"%s\" formats as \"%s\"", s, out);
        int y, m, d;
        civil_to_ymd(day, &y, &m, &d);
        if (!civil_valid_ymd(y, m, d) || civil_from_ymd(y, m, d) != day)
            S_FAIL("date \"%s\": day %d is %d-%d-%d", s, (int)day, y, m, d);
        civil_week_t w = civil_iso_week(day);
        int32_t mon = civil_week_monday(w);
        if (w.week < 1 || w.week > civil_weeks_in_year(w.year) || mon > day || day - mon > 6
            || civil_weekday(mon) != 1 || civil_weekday(day) != day - mon + 1)
            S_FAIL("date \"%s\": ISO week %d-W%02d starts on day %d", s, w.year, w.week,
                   (int)mon);
        civil_week_t back = civil_week_from_key(civil_week_key(w));
        if (back.year != w.year || back.week != w.week)
            S_FAIL("date \"%s\": the week key does not round-trip", s);
    }
    civil_week_t w;
    if (civil_parse_week(s, &w) == 0) {
        char out[CIVIL_WEEK_LEN];
        civil_format_week(w, out);
        if (strcmp(out, s) != 0)
            S_FAIL("week \"%s\" formats as \"%s\"", s, out);
        civil_week_t again = civil_iso_week(civil_week_monday(w));
        civil_week_t sunday = civil_iso_week(civil_week_monday(w) + 6);
        if (again.year != w.year || again.week != w.week || sunday.year != w.year
            || sunday.week != w.week)
            S_FAIL("week \"%s\" does not hold its own Monday and Sunday", s);
    }
    int y, m;
    if (civil_parse_month(s, &y, &m) == 0) {
        char out[CIVIL_MONTH_LEN];
        civil_format_month(y, m, out);
        if (strcmp(out, s) != 0)
            S_FAIL("month \"%s\" formats as \"%s\"", s, out);
        int32_t first = civil_month_first(y, m), last = civil_month_last(y, m);
        int fy, fm, fd, ly, lm, ld;
        civil_to_ymd(first, &fy, &fm, &fd);
        civil_to_ymd(last, &ly, &lm, &ld);
        if (fy != y || fm != m || fd != 1 || ly != y || lm != m || last - first < 27
            || last - first > 30 || civil_valid_ymd(y, m, ld + 1))
            S_FAIL("month \"%s\" runs from day %d to day %d", s, (int)first, (int)last);
    }
}

static int64_t s_i64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

static void s_rounding(const uint8_t *p, size_t n)
{
    if (n < 16)
        return;
    int64_t a = s_i64(p), b = s_i64(p + 8);
    if (b <= 0)
        b = b == INT64_MIN ? INT64_MAX : -b;
    if (b == 0)
        b = 1;
    __int128 mag = a < 0 ? -(__int128)a : (__int128)a;
    __int128 want = (mag + b / 2) / b;
    if (a < 0)
        want = -want;
    int64_t got = round_half_up_signed(a, b);
    if ((__int128)got != want)
        S_FAIL("round_half_up_signed(%" PRId64 ", %" PRId64 ") = %" PRId64, a, b, got);
    if (a >= 0 && round_half_up(a, b) != got)
        S_FAIL("round_half_up(%" PRId64 ", %" PRId64 ") differs", a, b);
    /* The UK date of a unix time is the UTC date or the next day (BST). */
    int64_t secs = a % (400LL * 366 * 86400);
    int32_t utc = (int32_t)((secs >= 0 ? secs : secs - 86399) / 86400);
    int32_t uk = clock_uk_date_from_unix(secs);
    if (uk != utc && uk != utc + 1)
        S_FAIL("clock_uk_date_from_unix(%" PRId64 ") = day %d, UTC day %d", secs, (int)uk,
               (int)utc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] == 'R') {
        s_rounding(data + 1, size - 1);
        return 0;
    }
    char s[64];
    size_t n = size - 1 < sizeof s - 1 ? size - 1 : sizeof s - 1;
    memcpy(s, data + 1, n);
    s[n] = 0;
    s_money(s);
    s_civil(s);
    return 0;
}
