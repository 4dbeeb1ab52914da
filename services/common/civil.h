/* civil: exact civil-date and ISO-week arithmetic, with strict parsing.
 *
 * A date is an int32_t count of days since 1970-01-01 (proleptic Gregorian),
 * so comparisons and differences are plain integer operations. ISO weeks run
 * Monday to Sunday; week 1 is the week holding the year's first Thursday, so
 * it can start in December, and some years have 53 weeks. Nothing here
 * allocates or touches global state. */
#ifndef PAY_CIVIL_H
#define PAY_CIVIL_H

#include <stdint.h>

#define CIVIL_DATE_LEN 11   /* "YYYY-MM-DD" + NUL */
#define CIVIL_WEEK_LEN 9    /* "YYYY-Www" + NUL */
#define CIVIL_MONTH_LEN 8   /* "YYYY-MM" + NUL */

typedef struct {
    int year;   /* ISO week-numbering year, may differ from the calendar year */
    int week;   /* 1..52 or 1..53 */
} civil_week_t;

/* Days since 1970-01-01 for a valid y-m-d (no validation). */
int32_t civil_from_ymd(int year, int month, int day);
void civil_to_ymd(int32_t day, int *year, int *month, int *mday);

/* 1 if y-m-d is a real date with year 1..9999, else 0. */
int civil_valid_ymd(int year, int month, int day);

/* Strict "YYYY-MM-DD": exactly 10 characters, digits where digits belong,
 * a real date. Returns 0 and sets *day, or -1. */
int civil_parse_date(const char *s, int32_t *day);
void civil_format_date(int32_t day, char out[CIVIL_DATE_LEN]);

/* ISO weekday: 1 = Monday .. 7 = Sunday. */
int civil_weekday(int32_t day);

civil_week_t civil_iso_week(int32_t day);
int civil_weeks_in_year(int iso_year);          /* 52 or 53 */
int32_t civil_week_monday(civil_week_t w);      /* first day of the week */

/* Strict "YYYY-Www" (e.g. "2026-W48"), week 01..52/53 existing in that
 * ISO year. Returns 0 or -1. */
int civil_parse_week(const char *s, civil_week_t *w);
void civil_format_week(civil_week_t w, char out[CIVIL_WEEK_LEN]);

/* A week as one sortable integer, year * 100 + week (202648). */
uint32_t civil_week_key(civil_week_t w);
civil_week_t civil_week_from_key(uint32_t key);

/* Strict "YYYY-MM" billing month. Returns 0 or -1. */
int civil_parse_month(const char *s, int *year, int *month);
void civil_format_month(int year, int month, char out[CIVIL_MONTH_LEN]);
int32_t civil_month_first(int year, int month);
int32_t civil_month_last(int year, int month);

#endif
