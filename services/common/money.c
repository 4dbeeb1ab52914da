/* money: see money.h. Everything works on the unsigned magnitude so that
 * INT64_MIN pence can be parsed and printed without signed overflow. */
#include "money.h"

#include <assert.h>

#define S_INT64_MAX_U ((uint64_t)INT64_MAX)
#define S_INT64_MIN_MAG ((uint64_t)INT64_MAX + 1u)

static int s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int money_parse(const char *s, int allow_negative, int64_t *pence)
{
    if (!s || !pence)
        return -1;
    const char *p = s;
    int neg = 0;
    if (*p == '-') {
        if (!allow_negative)
            return -1;
        neg = 1;
        p++;
    }
    /* At least one digit before any point: ".5" is refused. */
    if (!s_is_digit(*p))
        return -1;
    uint64_t whole = 0;
    while (s_is_digit(*p)) {
        uint64_t d = (uint64_t)(*p - '0');
        if (whole > (UINT64_MAX - d) / 10)
            return -1;
        whole = whole * 10 + d;
        p++;
    }
    uint64_t frac = 0;
    if (*p == '.') {
        p++;
        /* One or two digits after the point: "1." and "1.234" are refused. */
        if (!s_is_digit(*p))
            return -1;
        frac = (uint64_t)(*p - '0') * 10;
        p++;
        if (s_is_digit(*p)) {
            frac += (uint64_t)(*p - '0');
            p++;
        }
    }
    if (*p != '\0')
        return -1;
    uint64_t limit = neg ? S_INT64_MIN_MAG : S_INT64_MAX_U;
    if (whole > (limit - frac) / 100)
        return -1;
    uint64_t mag = whole * 100 + frac;
    if (mag > limit)
        return -1;
    if (!neg)
        *pence = (int64_t)mag;
    else if (mag == S_INT64_MIN_MAG)
        *pence = INT64_MIN;
    else
        *pence = -(int64_t)mag;
    return 0;
}

void money_format(int64_t pence, char out[MONEY_TEXT_LEN])
{
    /* Built right to left into a scratch buffer: at most a sign, 17 digits
     * of pounds, the point and two decimals. */
    char tmp[MONEY_TEXT_LEN];
    int i = MONEY_TEXT_LEN - 1;
    uint64_t mag = pence < 0 ? (uint64_t)0 - (uint64_t)pence : (uint64_t)pence;
    tmp[i] = '\0';
    tmp[--i] = (char)('0' + mag % 10);
    mag /= 10;
    tmp[--i] = (char)('0' + mag % 10);
    mag /= 10;
    tmp[--i] = '.';
    do {
        tmp[--i] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag > 0);
    if (pence < 0)
        tmp[--i] = '-';
    int n = 0;
    while (tmp[i] != '\0')
        out[n++] = tmp[i++];
    out[n] = '\0';
}

/* Half up on a magnitude, without ever forming a + b/2 (which could
 * overflow near the top of the range). */
static uint64_t s_round_mag(uint64_t a, uint64_t b)
{
    uint64_t q = a / b, r = a % b;
    return q + (r >= b - b / 2 ? 1u : 0u);
}

int64_t round_half_up(int64_t a, int64_t b)
{
    assert(b > 0);
    if (a < 0)
        return round_half_up_signed(a, b);
    return (int64_t)s_round_mag((uint64_t)a, (uint64_t)b);
}

int64_t round_half_up_signed(int64_t a, int64_t b)
{
    assert(b > 0);
    if (a >= 0)
        return (int64_t)s_round_mag((uint64_t)a, (uint64_t)b);
    uint64_t m = s_round_mag((uint64_t)0 - (uint64_t)a, (uint64_t)b);
    if (m == S_INT64_MIN_MAG)
        return INT64_MIN;
    return -(int64_t)m;
}

int parse_uint64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !out || !s_is_digit(*s))
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!s_is_digit(*p))
            return -1;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}
