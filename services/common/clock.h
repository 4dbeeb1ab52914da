/* clock: the service's idea of "today" and "now", injectable for tests.
 *
 * "Today" is the civil date in UK local time (Europe/London). Tests and
 * demos pin it with the PAY_TODAY environment variable (YYYY-MM-DD) or
 * clock_set_today(); nothing else in the code calls time() for dates. */
#ifndef PAY_CLOCK_H
#define PAY_CLOCK_H

#include <stdint.h>

/* Days since 1970-01-01 of today in UK local time, or the pinned date. */
int32_t clock_today(void);

/* Pins today (days since epoch); a negative value unpins. */
void clock_set_today(int32_t day);

/* Reads PAY_TODAY if set (an empty value counts as unset, as compose files
 * write it). Returns 0, or -1 if it is set but not a strict YYYY-MM-DD
 * date on or after 1970-01-01, in which case the pin is left unchanged. */
int clock_init_from_env(void);

/* The UK civil date (days since 1970-01-01) at Unix time `secs`. BST
 * (UTC+1) runs from 01:00 UTC on the last Sunday of March to 01:00 UTC on
 * the last Sunday of October (the rule in force since 1996); GMT otherwise.
 * Computed here rather than through localtime_r so that neither the
 * machine's TZ nor its tzdata can change a service's idea of today. */
int32_t clock_uk_date_from_unix(int64_t secs);

/* Unix seconds now (UTC), and a monotonic clock in milliseconds. */
int64_t clock_unix_now(void);
int64_t clock_mono_ms(void);

#endif
