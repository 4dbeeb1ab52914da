/* civil_test: every day from 1970 to 2100 round-trips, and the ISO-week
 * edge cases (week 1 in December, 53-week years) come out right. */
#include "civil.h"
#include "tap.h"

static int s_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* An independent, deliberately naive date counter to check against. */
static int32_t s_naive_days(int y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int32_t n = 0;
    for (int yy = 1970; yy < y; yy++)
        n += s_leap(yy) ? 366 : 365;
    for (int mm = 1; mm < m; mm++)
        n += mdays[mm - 1] + (mm == 2 && s_leap(y));
    return n + d - 1;
}

static void s_check_week(const char *date, int year, int week)
{
    int32_t d = -1;
    int ok = civil_parse_date(date, &d) == 0;
    civil_week_t w = civil_iso_week(d);
    TAP_OK(ok && w.year == year && w.week == week,
           "%s is %04d-W%02d (got %04d-W%02d)", date, year, week, w.year, w.week);
}

static void s_parse_date_refused(const char *s)
{
    int32_t d = 12345;
    TAP_OK(civil_parse_date(s, &d) == -1 && d == 12345, "date \"%s\" refused", s);
}

static void s_parse_week_refused(const char *s)
{
    civil_week_t w = {7, 7};
    TAP_OK(civil_parse_week(s, &w) == -1 && w.year == 7 && w.week == 7,
           "week \"%s\" refused", s);
}

static void s_parse_month_refused(const char *s)
{
    int y = 7, m = 7;
    TAP_OK(civil_parse_month(s, &y, &m) == -1 && y == 7 && m == 7,
           "month \"%s\" refused", s);
}

int main(void)
{
    /* Round trip of every day 1970-01-01 .. 2100-12-31, counted against a
     * naive walk; one check for the whole sweep, with the first failure. */
    {
        int32_t first = civil_from_ymd(1970, 1, 1);
        int32_t last = civil_from_ymd(2100, 12, 31);
        int bad = 0;
        char why[128] = "";
        int32_t expect = 0;
        int prev_wd = civil_weekday(first) - 1;
        civil_week_t prev_w = civil_iso_week(first - 1);
        for (int y = 1970; y <= 2100 && !bad; y++) {
            for (int m = 1; m <= 12 && !bad; m++) {
                for (int d = 1; d <= 31 && !bad; d++) {
                    if (!civil_valid_ymd(y, m, d))
                        continue;
                    int32_t day = civil_from_ymd(y, m, d);
                    int yy, mm, dd;
                    civil_to_ymd(day, &yy, &mm, &dd);
                    char txt[CIVIL_DATE_LEN];
                    civil_format_date(day, txt);
                    char want[32];
                    snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
                    int32_t back = -1;
                    int wd = civil_weekday(day);
                    civil_week_t w = civil_iso_week(day);
                    if (day != expect)
                        snprintf(why, sizeof why, "%s: from_ymd gave %d, want %d",
                                 want, (int)day, (int)expect);
                    else if (yy != y || mm != m || dd != d)
                        snprintf(why, sizeof why, "%s: to_ymd gave %d-%d-%d",
                                 want, yy, mm, dd);
                    else if (strcmp(txt, want) != 0)
                        snprintf(why, sizeof why, "%s: formatted as %s", want, txt);
                    else if (civil_parse_date(txt, &back) != 0 || back != day)
                        snprintf(why, sizeof why, "%s: parse gave %d", want, (int)back);
                    else if (wd != prev_wd % 7 + 1)
                        snprintf(why, sizeof why, "%s: weekday %d after %d", want,
                                 wd, prev_wd);
                    else if (wd == 1 ? !((w.year == prev_w.year && w.week == prev_w.week + 1)
                                          || (w.year == prev_w.year + 1 && w.week == 1
                                              && prev_w.week == civil_weeks_in_year(prev_w.year)))
                                     : (w.year != prev_w.year || w.week != prev_w.week))
                        snprintf(why, sizeof why, "%s: week %d-W%02d after %d-W%02d",
                                 want, w.year, w.week, prev_w.year, prev_w.week);
                    else if (civil_week_monday(w) != day - (wd - 1))
                        snprintf(why, sizeof why, "%s: week's Monday wrong", want);
                    bad = why[0] != '\0';
                    expect++;
                    prev_wd = wd;
                    prev_w = w;
                }
            }
        }
        TAP_OK(!bad, "every day 1970..2100 round-trips (ymd, text, weekday, "
               "week continuity, Monday) %s", why);
        TAP_EQ_INT(expect, last - first + 1, "the sweep covered every day");
        TAP_EQ_INT(s_naive_days(2100, 12, 31), last, "2100-12-31 by naive count");
    }

    TAP_EQ_INT(civil_from_ymd(1970, 1, 1), 0, "epoch is day 0");
    TAP_EQ_INT(civil_weekday(0), 4, "1970-01-01 was a Thursday");
    TAP_EQ_INT(civil_from_ymd(1969, 12, 31), -1, "the day before the epoch is -1");
    {
        int y, m, d;
        civil_to_ymd(-1, &y, &m, &d);
        TAP_OK(y == 1969 && m == 12 && d == 31, "day -1 is 1969-12-31");
        civil_to_ymd(civil_from_ymd(1, 1, 1), &y, &m, &d);
        TAP_OK(y == 1 && m == 1 && d == 1, "0001-01-01 round-trips");
        civil_to_ymd(civil_from_ymd(9999, 12, 31), &y, &m, &d);
        TAP_OK(y == 9999 && m == 12 && d == 31, "9999-12-31 round-trips");
    }
    TAP_EQ_INT(civil_weekday(civil_from_ymd(2026, 11, 23)), 1, "2026-11-23 is a Monday");
    TAP_EQ_INT(civil_weekday(civil_from_ymd(2026, 11, 29)), 7, "2026-11-29 is a Sunday");

    /* Leap days. */
    TAP_OK(civil_valid_ymd(2024, 2, 29), "2024-02-29 valid");
    TAP_OK(!civil_valid_ymd(2023, 2, 29), "2023-02-29 invalid");
    TAP_OK(!civil_valid_ymd(2100, 2, 29), "2100-02-29 invalid");
    TAP_OK(civil_valid_ymd(2000, 2, 29), "2000-02-29 valid");
    TAP_OK(!civil_valid_ymd(0, 1, 1), "year 0 invalid");
    TAP_OK(!civil_valid_ymd(10000, 1, 1), "year 10000 invalid");
    TAP_OK(!civil_valid_ymd(2026, 4, 31), "2026-04-31 invalid");
    TAP_OK(!civil_valid_ymd(2026, 1, 0), "day 0 invalid");
    {
        int32_t d;
        TAP_OK(civil_parse_date("2024-02-29", &d) == 0, "parse 2024-02-29");
        TAP_OK(civil_parse_date("2000-02-29", &d) == 0, "parse 2000-02-29");
    }
    s_parse_date_refused("2023-02-29");
    s_parse_date_refused("2100-02-29");

    /* Strict date parsing. */
    s_parse_date_refused("2026-1-01");
    s_parse_date_refused("2026-13-01");
    s_parse_date_refused("2026-00-10");
    s_parse_date_refused("2026-02-30");
    s_parse_date_refused("2026-01-00");
    s_parse_date_refused("2026-01-32");
    s_parse_date_refused(" 2026-01-01");
    s_parse_date_refused("2026-01-01 ");
    s_parse_date_refused("2026/01/01");
    s_parse_date_refused("2026-01-1a");
    s_parse_date_refused("+026-01-01");
    s_parse_date_refused("0000-01-01");
    s_parse_date_refused("20260101");
    s_parse_date_refused("");
    s_parse_date_refused("2026-01-01T00:00");
    {
        int32_t d = 1;
        TAP_EQ_INT(civil_parse_date(NULL, &d), -1, "NULL date refused");
    }

    /* ISO weeks: week 1 starting in December, week 53. */
    s_check_week("2024-12-30", 2025, 1);
    s_check_week("2019-12-30", 2020, 1);
    s_check_week("2021-01-03", 2020, 53);
    s_check_week("2021-01-04", 2021, 1);
    s_check_week("2027-01-01", 2026, 53);
    s_check_week("2027-01-03", 2026, 53);
    s_check_week("2027-01-04", 2027, 1);
    s_check_week("2026-11-23", 2026, 48);
    s_check_week("2026-01-01", 2026, 1);
    s_check_week("2025-12-29", 2026, 1);
    s_check_week("2010-01-03", 2009, 53);
    s_check_week("2008-12-29", 2009, 1);
    s_check_week("2016-01-03", 2015, 53);
    s_check_week("2023-01-01", 2022, 52);
    TAP_EQ_INT(civil_weeks_in_year(2020), 53, "2020 has 53 weeks");
    TAP_EQ_INT(civil_weeks_in_year(2026), 53, "2026 has 53 weeks");
    TAP_EQ_INT(civil_weeks_in_year(2025), 52, "2025 has 52 weeks");
    TAP_EQ_INT(civil_weeks_in_year(2024), 52, "2024 has 52 weeks");
    TAP_EQ_INT(civil_weeks_in_year(2015), 53, "2015 has 53 weeks");

    /* weeks_in_year against the rule, and every week's Monday round trip. */
    {
        char why[128] = "";
        int checked = 0;
        for (int y = 1900; y <= 2200 && !why[0]; y++) {
            int jan1 = civil_weekday(civil_from_ymd(y, 1, 1));
            int want = (jan1 == 4 || (s_leap(y) && jan1 == 3)) ? 53 : 52;
            int got = civil_weeks_in_year(y);
            if (got != want) {
                snprintf(why, sizeof why, "%d: %d weeks, rule says %d", y, got, want);
                break;
            }
            for (int wk = 1; wk <= got; wk++) {
                civil_week_t w = {y, wk};
                int32_t mon = civil_week_monday(w);
                civil_week_t back = civil_iso_week(mon);
                civil_week_t sun = civil_iso_week(mon + 6);
                if (civil_weekday(mon) != 1 || back.year != y || back.week != wk
                    || sun.year != y || sun.week != wk) {
                    snprintf(why, sizeof why, "%d-W%02d: Monday maps elsewhere", y, wk);
                    break;
                }
                char txt[CIVIL_WEEK_LEN];
                civil_format_week(w, txt);
                civil_week_t parsed = {0, 0};
                if (civil_parse_week(txt, &parsed) != 0 || parsed.year != y
                    || parsed.week != wk) {
                    snprintf(why, sizeof why, "%s does not parse back", txt);
                    break;
                }
                civil_week_t fk = civil_week_from_key(civil_week_key(w));
                if (fk.year != y || fk.week != wk) {
                    snprintf(why, sizeof why, "%d-W%02d: key round trip", y, wk);
                    break;
                }
                checked++;
            }
        }
        TAP_OK(!why[0], "weeks_in_year matches the Thursday rule and every "
               "week 1900..2200 round-trips via its Monday %s", why);
        TAP_OK(checked > 15000, "checked %d weeks", checked);
    }

    /* Week parsing and formatting. */
    {
        civil_week_t w = {0, 0};
        TAP_OK(civil_parse_week("2026-W48", &w) == 0 && w.year == 2026 && w.week == 48,
               "parse 2026-W48");
        TAP_OK(civil_parse_week("2020-W53", &w) == 0 && w.year == 2020 && w.week == 53,
               "parse 2020-W53");
        TAP_OK(civil_parse_week("2026-W53", &w) == 0 && w.week == 53, "parse 2026-W53");
        TAP_OK(civil_parse_week("2026-W01", &w) == 0 && w.week == 1, "parse 2026-W01");
        char txt[CIVIL_WEEK_LEN];
        civil_week_t f = {2026, 5};
        civil_format_week(f, txt);
        TAP_EQ_STR(txt, "2026-W05", "format 2026-W05");
        TAP_EQ_INT(civil_week_key(f), 202605, "week key 202605");
        civil_week_t w48 = {2026, 48};
        char d[CIVIL_DATE_LEN];
        civil_format_date(civil_week_monday(w48), d);
        TAP_EQ_STR(d, "2026-11-23", "2026-W48 starts on 2026-11-23");
        civil_week_t w1 = {2025, 1};
        civil_format_date(civil_week_monday(w1), d);
        TAP_EQ_STR(d, "2024-12-30", "2025-W01 starts on 2024-12-30");
        TAP_OK(civil_week_key((civil_week_t){2026, 53}) < civil_week_key((civil_week_t){2027, 1}),
               "week keys sort across years");
    }
    s_parse_week_refused("2026-W00");
    s_parse_week_refused("2026-W54");
    s_parse_week_refused("2025-W53");
    s_parse_week_refused("2024-W53");
    s_parse_week_refused("2026-w48");
    s_parse_week_refused("2026W48");
    s_parse_week_refused("2026-W4");
    s_parse_week_refused("2026-W480");
    s_parse_week_refused(" 2026-W48");
    s_parse_week_refused("2026-W48 ");
    s_parse_week_refused("0000-W01");
    s_parse_week_refused("2026-Wx8");
    s_parse_week_refused("");

    /* Months. */
    {
        int y = 0, m = 0;
        TAP_OK(civil_parse_month("2026-11", &y, &m) == 0 && y == 2026 && m == 11,
               "parse 2026-11");
        char txt[CIVIL_MONTH_LEN];
        civil_format_month(2026, 2, txt);
        TAP_EQ_STR(txt, "2026-02", "format 2026-02");
        char d[CIVIL_DATE_LEN];
        civil_format_date(civil_month_first(2026, 2), d);
        TAP_EQ_STR(d, "2026-02-01", "first of 2026-02");
        civil_format_date(civil_month_last(2026, 2), d);
        TAP_EQ_STR(d, "2026-02-28", "last of 2026-02");
        civil_format_date(civil_month_last(2024, 2), d);
        TAP_EQ_STR(d, "2024-02-29", "last of 2024-02");
        civil_format_date(civil_month_last(2026, 12), d);
        TAP_EQ_STR(d, "2026-12-31", "last of 2026-12");
        civil_format_date(civil_month_last(2026, 4), d);
        TAP_EQ_STR(d, "2026-04-30", "last of 2026-04");
        TAP_EQ_INT(civil_month_last(2026, 11) + 1, civil_month_first(2026, 12),
                   "months abut");
    }
    s_parse_month_refused("2026-13");
    s_parse_month_refused("2026-00");
    s_parse_month_refused("2026-1");
    s_parse_month_refused("2026-011");
    s_parse_month_refused("2026/11");
    s_parse_month_refused(" 2026-11");
    s_parse_month_refused("2026-11 ");
    s_parse_month_refused("0000-11");
    s_parse_month_refused("2026-11-01");
    s_parse_month_refused("");

    return tap_done();
}
