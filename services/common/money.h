/* money: exact pence arithmetic and the text forms of money.
 *
 * Money is int64_t pence, never floating point. Parsing accepts pounds with
 * 0 to 2 decimals ("1", "1.5", "1.50"), an optional leading '-' only when
 * allowed, and nothing else: no spaces, no '+', no exponent, no thousands
 * separators, no empty string. A point needs digits on both sides, so "1."
 * and ".5" are refused (a spreadsheet never writes them, and accepting them
 * would hide a truncated cell). Leading zeros ("01.50") are accepted: the
 * value is still exact and unambiguous. Nothing here allocates. */
#ifndef PAY_MONEY_H
#define PAY_MONEY_H

#include <stdint.h>

#define MONEY_TEXT_LEN 32

/* Returns 0 and sets *pence, or -1 if `s` is not an exact amount (or is
 * negative and allow_negative is 0, or overflows). "-0" and "-0.00" are
 * refused when negatives are not allowed. */
int money_parse(const char *s, int allow_negative, int64_t *pence);

/* Always exactly two decimals: 150 -> "1.50", -5 -> "-0.05". */
void money_format(int64_t pence, char out[MONEY_TEXT_LEN]);

/* round_half_up(a / b) for a >= 0, b > 0: (a + b/2) / b, computed without
 * overflow for the whole int64 range. b <= 0 is a programming error
 * (asserted); a negative a is passed on to round_half_up_signed. */
int64_t round_half_up(int64_t a, int64_t b);

/* The same rule for a signed a: rounds |a| / b half up, then restores the
 * sign (-0.5 -> -1), as the spec does for negative VAT sums. */
int64_t round_half_up_signed(int64_t a, int64_t b);

/* Strict non-negative decimal integer (minutes, units, counts): digits only,
 * no sign, no spaces, no leading '+', at most `max`. Returns 0 or -1. */
int parse_uint64(const char *s, uint64_t max, uint64_t *out);

#endif
