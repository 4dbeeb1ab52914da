/* civil: see civil.h. Date arithmetic follows Howard Hinnant's
 * days_from_civil / civil_from_days, which are exact for the whole
 * proleptic Gregorian calendar and need no tables or loops. */
#include "civil.h"

/* Floor division and modulo, because C's / and % truncate toward zero and
 * dates before 1970 are negative. */
static int64_t s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t s_floor_mod(int64_t a, int64_t b)
{
    return a - s_floor_div(a, b) * b;
}

static int s_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int s_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    if (month == 2 && s_is_leap(year))
        return 29;
    return days[month - 1];
}

int32_t civil_from_ymd(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = s_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = month > 2 ? month - 3 : month + 9;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

void civil_to_ymd(int32_t day, int *year, int *month, int *mday)
{
    int64_t z = (int64_t)day + 719468;
    int64_t era = s_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    *year = (int)y;
    *month = (int)m;
    *mday = (int)d;
}

int civil_valid_ymd(int year, int month, int day)
{
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1)
        return 0;
    return day <= s_days_in_month(year, month);
}

/* Reads exactly `n` ASCII digits; -1 if any is not a digit. */
static int s_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Writes `v` as exactly `n` zero-padded digits (v is known to fit). */
static void s_put_digits(char *out, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Length of s, but stops looking after `cap` characters, so a long or
 * unterminated-looking input is never scanned further than needed. */
static int s_len_upto(const char *s, int cap)
{
    int n = 0;
    while (n < cap && s[n] != '\0')
        n++;
    return n;
}

int civil_parse_date(const char *s, int32_t *day)
{
    if (!s || s_len_upto(s, 11) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    int y = s_digits(s, 4), m = s_digits(s + 5, 2), d = s_digits(s + 8, 2);
    if (y < 0 || m < 0 || d < 0 || !civil_valid_ymd(y, m, d))
        return -1;
    *day = civil_from_ymd(y, m, d);
    return 0;
}

void civil_format_date(int32_t day, char out[CIVIL_DATE_LEN])
{
    int y, m, d;
    civil_to_ymd(day, &y, &m, &d);
    if (y < 0 || y > 9999) {
        /* Outside what the format can say; never produce a malformed date
         * that a parser might half-accept. */
        s_put_digits(out, 0, 4);
        out[4] = '-';
        s_put_digits(out + 5, 0, 2);
        out[7] = '-';
        s_put_digits(out + 8, 0, 2);
        out[10] = '\0';
        return;
    }
    s_put_digits(out, y, 4);
    out[4] = '-';
    s_put_digits(out + 5, m, 2);
    out[7] = '-';
    s_put_digits(out + 8, d, 2);
    out[10] = '\0';
}

int civil_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday (4). */
    return (int)s_floor_mod((int64_t)day + 3, 7) + 1;
}

civil_week_t civil_iso_week(int32_t day)
{
    /* The ISO year of a day is the calendar year of its week's Thursday. */
    int32_t thursday = day + (4 - civil_weekday(day));
    int y, m, d;
    civil_to_ymd(thursday, &y, &m, &d);
    civil_week_t w = {y, (thursday - civil_from_ymd(y, 1, 1)) / 7 + 1};
    return w;
}

int civil_weeks_in_year(int iso_year)
{
    /* 28 December is always in the last ISO week of its year. */
    return civil_iso_week(civil_from_ymd(iso_year, 12, 28)).week;
}

int32_t civil_week_monday(civil_week_t w)
{
    /* 4 January is always in week 1. */
    int32_t jan4 = civil_from_ymd(w.year, 1, 4);
    int32_t week1 = jan4 - (civil_weekday(jan4) - 1);
    return week1 + (w.week - 1) * 7;
}

int civil_parse_week(const char *s, civil_week_t *w)
{
    if (!s || s_len_upto(s, 9) != 8 || s[4] != '-' || s[5] != 'W')
        return -1;
    int y = s_digits(s, 4), wk = s_digits(s + 6, 2);
    if (y < 1 || wk < 1 || wk > civil_weeks_in_year(y))
        return -1;
    w->year = y;
    w->week = wk;
    return 0;
}

void civil_format_week(civil_week_t w, char out[CIVIL_WEEK_LEN])
{
    int y = (w.year >= 0 && w.year <= 9999) ? w.year : 0;
    int wk = (w.week >= 0 && w.week <= 99) ? w.week : 0;
    s_put_digits(out, y, 4);
    out[4] = '-';
    out[5] = 'W';
    s_put_digits(out + 6, wk, 2);
    out[8] = '\0';
}

uint32_t civil_week_key(civil_week_t w)
{
    return (uint32_t)w.year * 100u + (uint32_t)w.week;
}

civil_week_t civil_week_from_key(uint32_t key)
{
    civil_week_t w = {(int)(key / 100u), (int)(key % 100u)};
    return w;
}

int civil_parse_month(const char *s, int *year, int *month)
{
    if (!s || s_len_upto(s, 8) != 7 || s[4] != '-')
        return -1;
    int y = s_digits(s, 4), m = s_digits(s + 5, 2);
    if (y < 1 || m < 1 || m > 12)
        return -1;
    *year = y;
    *month = m;
    return 0;
}

void civil_format_month(int year, int month, char out[CIVIL_MONTH_LEN])
{
    s_put_digits(out, (year >= 0 && year <= 9999) ? year : 0, 4);
    out[4] = '-';
    s_put_digits(out + 5, (month >= 0 && month <= 99) ? month : 0, 2);
    out[7] = '\0';
}

int32_t civil_month_first(int year, int month)
{
    return civil_from_ymd(year, month, 1);
}

int32_t civil_month_last(int year, int month)
{
    return civil_from_ymd(year, month, s_days_in_month(year, month));
}
