/* clock_test: PAY_TODAY pinning, and the UK date across the BST changes. */
#include "civil.h"
#include "clock.h"
#include "tap.h"

#include <stdlib.h>

/* Unix seconds of a UTC civil time. */
static int64_t s_utc(int y, int mo, int d, int h, int mi, int s)
{
    return (int64_t)civil_from_ymd(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static void s_uk(int64_t secs, const char *want, const char *what)
{
    char got[CIVIL_DATE_LEN];
    civil_format_date(clock_uk_date_from_unix(secs), got);
    TAP_EQ_STR(got, want, "%s", what);
}

int main(void)
{
    /* PAY_TODAY. */
    unsetenv("PAY_TODAY");
    TAP_EQ_INT(clock_init_from_env(), 0, "no PAY_TODAY is fine");
    int32_t real = clock_uk_date_from_unix(clock_unix_now());
    int32_t today = clock_today();
    TAP_OK(today == real || today == real + 1, "unpinned today follows the clock");

    setenv("PAY_TODAY", "2026-11-28", 1);
    TAP_EQ_INT(clock_init_from_env(), 0, "PAY_TODAY=2026-11-28 accepted");
    TAP_EQ_INT(clock_today(), civil_from_ymd(2026, 11, 28), "today is pinned");

    static const char *const bad[] = {"2026-02-30", "2026-11-28 ", "28/11/2026",
                                      "yesterday", "1969-12-31", "2026-1-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("PAY_TODAY", bad[i], 1);
        TAP_EQ_INT(clock_init_from_env(), -1, "PAY_TODAY=\"%s\" refused", bad[i]);
        TAP_EQ_INT(clock_today(), civil_from_ymd(2026, 11, 28),
                   "a refused PAY_TODAY leaves the pin alone");
    }
    setenv("PAY_TODAY", "", 1);
    TAP_EQ_INT(clock_init_from_env(), 0, "empty PAY_TODAY counts as unset");
    unsetenv("PAY_TODAY");

    clock_set_today(civil_from_ymd(2024, 2, 29));
    TAP_EQ_INT(clock_today(), civil_from_ymd(2024, 2, 29), "clock_set_today pins");
    clock_set_today(-1);
    today = clock_today();
    real = clock_uk_date_from_unix(clock_unix_now());
    TAP_OK(today == real || today + 1 == real, "a negative day unpins");

    /* BST starts 2026-03-29 01:00 UTC (clocks go 01:00 GMT -> 02:00 BST). */
    s_uk(s_utc(2026, 3, 29, 0, 59, 59), "2026-03-29", "2026-03-29T00:59:59Z is GMT, 03-29");
    s_uk(s_utc(2026, 3, 28, 23, 30, 0), "2026-03-28", "2026-03-28T23:30Z is still GMT, 03-28");
    s_uk(s_utc(2026, 3, 29, 23, 0, 0), "2026-03-30", "2026-03-29T23:00Z is BST, 03-30");
    s_uk(s_utc(2026, 3, 29, 22, 59, 59), "2026-03-29", "2026-03-29T22:59:59Z is BST, 03-29");
    {
        /* One second across the start: the UK wall clock jumps an hour. */
        int64_t t = s_utc(2026, 3, 29, 1, 0, 0);
        TAP_OK(clock_uk_date_from_unix(t - 1) == clock_uk_date_from_unix(t),
               "01:00Z on 03-29 is the same UK date as a second before");
    }
    /* BST ends 2026-10-25 01:00 UTC. */
    s_uk(s_utc(2026, 10, 24, 23, 30, 0), "2026-10-25", "2026-10-24T23:30Z is 10-25 in BST");
    s_uk(s_utc(2026, 10, 24, 22, 59, 59), "2026-10-24", "2026-10-24T22:59:59Z is 10-24");
    s_uk(s_utc(2026, 10, 25, 0, 59, 59), "2026-10-25", "2026-10-25T00:59:59Z is BST 01:59");
    s_uk(s_utc(2026, 10, 25, 23, 30, 0), "2026-10-25", "2026-10-25T23:30Z is 10-25 after BST ends");
    s_uk(s_utc(2026, 10, 26, 0, 0, 0), "2026-10-26", "2026-10-26T00:00Z is GMT midnight");
    /* Summer and winter generally. */
    s_uk(s_utc(2026, 7, 1, 23, 0, 0), "2026-07-02", "July 23:00Z is the next UK day");
    s_uk(s_utc(2026, 12, 31, 23, 59, 59), "2026-12-31", "winter is GMT");
    s_uk(s_utc(2026, 1, 1, 0, 0, 0), "2026-01-01", "new year at GMT midnight");
    /* Other years' last Sundays: 2024-03-31 and 2024-10-27, 2025-03-30 and
     * 2025-10-26. */
    s_uk(s_utc(2024, 3, 31, 0, 59, 59), "2024-03-31", "2024 start, before");
    s_uk(s_utc(2024, 3, 31, 23, 0, 0), "2024-04-01", "2024 start, after");
    s_uk(s_utc(2024, 10, 26, 23, 0, 0), "2024-10-27", "2024 end, before");
    s_uk(s_utc(2024, 10, 27, 23, 0, 0), "2024-10-27", "2024 end, after");
    s_uk(s_utc(2025, 3, 29, 23, 0, 0), "2025-03-29", "2025-03-29 is still GMT");
    s_uk(s_utc(2025, 3, 30, 23, 0, 0), "2025-03-31", "2025-03-30 23:00Z is BST");
    s_uk(s_utc(2025, 10, 26, 23, 0, 0), "2025-10-26", "2025-10-26 23:00Z is GMT");
    s_uk(-1, "1969-12-31", "negative seconds floor to the right day");

    {
        int64_t a = clock_mono_ms();
        int64_t b = clock_mono_ms();
        TAP_OK(a > 0 && b >= a, "monotonic ms does not go back");
        TAP_OK(clock_unix_now() > s_utc(2020, 1, 1, 0, 0, 0), "unix now is plausible");
    }
    return tap_done();
}
