/* tap.h: the smallest useful test harness, printing TAP (Test Anything
 * Protocol) so that `meson test` counts every check as a subtest.
 *
 *   TAP_OK(cond, "what is being proved, %d", arg);
 *   TAP_EQ_INT(got, want, "name");     prints both values on failure
 *   TAP_EQ_STR(got, want, "name");
 *   return tap_done();                 prints the plan, returns exit code
 *
 * Header-only on purpose: each test program includes it once. */
#ifndef PAY_TAP_H
#define PAY_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n_ = 0;
static int tap_failed_ = 0;

static inline int tap_report_(int ok, const char *file, int line,
                              const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int tap_report_(int ok, const char *file, int line,
                              const char *fmt, ...)
{
    va_list ap;
    tap_n_++;
    if (!ok)
        tap_failed_++;
    printf("%sok %d - ", ok ? "" : "not ", tap_n_);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!ok)
        printf("#   failed at %s:%d\n", file, line);
    fflush(stdout);
    return ok;
}

#define TAP_OK(cond, ...) tap_report_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define TAP_EQ_INT(got, want, ...)                                           \
    do {                                                                     \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);     \
        if (!tap_report_(tap_g_ == tap_w_, __FILE__, __LINE__, __VA_ARGS__)) \
            printf("#   got %lld, want %lld\n", tap_g_, tap_w_);             \
    } while (0)

#define TAP_EQ_STR(got, want, ...)                                           \
    do {                                                                     \
        const char *tap_g_ = (got), *tap_w_ = (want);                        \
        int tap_same_ = tap_g_ && tap_w_ && strcmp(tap_g_, tap_w_) == 0;     \
        if (!tap_report_(tap_same_, __FILE__, __LINE__, __VA_ARGS__))        \
            printf("#   got \"%s\", want \"%s\"\n", tap_g_ ? tap_g_ : "(null)", \
                   tap_w_ ? tap_w_ : "(null)");                              \
    } while (0)

/* Print a diagnostic line that TAP consumers show but do not count. */
#define TAP_NOTE(...) (printf("# "), printf(__VA_ARGS__), printf("\n"), fflush(stdout))

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n_);
    fflush(stdout);
    return tap_failed_ ? 1 : 0;
}

#endif
