/* clock: see clock.h. The pinned day is an atomic so that a test or a
 * signal-free admin path can pin it while other threads read it. */
#include "clock.h"

#include "civil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

static _Atomic int32_t s_pinned = -1;

static int64_t s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Unix seconds at 01:00 UTC on the last Sunday of `month` (31-day months
 * only: March and October), when UK clocks change. */
static int64_t s_change_instant(int year, int month)
{
    int32_t last = civil_from_ymd(year, month, 31);
    int32_t sunday = last - (civil_weekday(last) % 7);
    return (int64_t)sunday * 86400 + 3600;
}

int32_t clock_uk_date_from_unix(int64_t secs)
{
    int y, m, d;
    civil_to_ymd((int32_t)s_floor_div(secs, 86400), &y, &m, &d);
    if (secs >= s_change_instant(y, 3) && secs < s_change_instant(y, 10))
        secs += 3600;
    return (int32_t)s_floor_div(secs, 86400);
}

int32_t clock_today(void)
{
    int32_t pinned = atomic_load(&s_pinned);
    if (pinned >= 0)
        return pinned;
    return clock_uk_date_from_unix(clock_unix_now());
}

void clock_set_today(int32_t day)
{
    atomic_store(&s_pinned, day < 0 ? -1 : day);
}

int clock_init_from_env(void)
{
    const char *v = getenv("PAY_TODAY");
    int32_t day;
    if (!v || !*v)
        return 0;
    if (civil_parse_date(v, &day) != 0 || day < 0)
        return -1;
    clock_set_today(day);
    return 0;
}

int64_t clock_unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
