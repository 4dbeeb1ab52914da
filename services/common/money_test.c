/* money_test: exact parsing, two-decimal formatting and half-up rounding. */
#include "money.h"
#include "tap.h"

static void s_accept(const char *s, int neg, int64_t want)
{
    int64_t got = 424242;
    int rc = money_parse(s, neg, &got);
    TAP_OK(rc == 0 && got == want, "\"%s\" (neg %d) -> %" PRId64 " (rc %d, got %" PRId64 ")",
           s, neg, want, rc, got);
}

static void s_refuse(const char *s, int neg)
{
    int64_t got = 424242;
    int rc = money_parse(s, neg, &got);
    TAP_OK(rc == -1 && got == 424242, "\"%s\" (neg %d) refused", s, neg);
}

static void s_format(int64_t pence, const char *want)
{
    char out[MONEY_TEXT_LEN];
    money_format(pence, out);
    TAP_EQ_STR(out, want, "format %" PRId64, pence);
}

int main(void)
{
    s_accept("1", 0, 100);
    s_accept("1.5", 0, 150);
    s_accept("1.50", 0, 150);
    s_accept("1.05", 0, 105);
    s_accept("0", 0, 0);
    s_accept("0.00", 0, 0);
    s_accept("0.01", 0, 1);
    s_accept("12.34", 0, 1234);
    s_accept("01.50", 0, 150);
    s_accept("-0.5", 1, -50);
    s_accept("-0", 1, 0);
    s_accept("-12.34", 1, -1234);
    s_accept("92233720368547758.07", 0, INT64_MAX);
    s_accept("-92233720368547758.08", 1, INT64_MIN);
    s_accept("-92233720368547758.07", 1, -INT64_MAX);

    s_refuse("1.234", 0);
    s_refuse("-0.5", 0);
    s_refuse("-0", 0);
    s_refuse("-0.00", 0);
    s_refuse("1e3", 0);
    s_refuse("", 0);
    s_refuse(" 1", 0);
    s_refuse("1 ", 0);
    s_refuse("+1", 0);
    s_refuse("+1", 1);
    s_refuse("1.", 0);
    s_refuse(".5", 0);
    s_refuse("-.5", 1);
    s_refuse("1,000", 0);
    s_refuse("1.2.3", 0);
    s_refuse("-", 1);
    s_refuse("--1", 1);
    s_refuse("£1", 0);
    s_refuse("1.5x", 0);
    s_refuse("0x10", 0);
    s_refuse("92233720368547758.08", 0);
    s_refuse("-92233720368547758.09", 1);
    s_refuse("92233720368547759", 0);
    s_refuse("99999999999999999999999", 0);
    s_refuse("184467440737095516.16", 0);
    {
        int64_t p = 7;
        TAP_EQ_INT(money_parse(NULL, 0, &p), -1, "NULL refused");
    }

    s_format(0, "0.00");
    s_format(5, "0.05");
    s_format(-5, "-0.05");
    s_format(150, "1.50");
    s_format(-150, "-1.50");
    s_format(100, "1.00");
    s_format(123456789, "1234567.89");
    s_format(INT64_MAX, "92233720368547758.07");
    s_format(INT64_MIN, "-92233720368547758.08");

    /* Format then parse is the identity. */
    {
        static const int64_t vals[] = {0, 1, -1, 99, -99, 100, 101, 123456789,
                                       -987654321, INT64_MAX, INT64_MIN};
        int bad = 0;
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            char out[MONEY_TEXT_LEN];
            int64_t back = 0;
            money_format(vals[i], out);
            if (money_parse(out, 1, &back) != 0 || back != vals[i])
                bad++;
        }
        TAP_EQ_INT(bad, 0, "format/parse round trip");
    }

    TAP_EQ_INT(round_half_up(1, 2), 1, "round_half_up(1,2)");
    TAP_EQ_INT(round_half_up(3, 2), 2, "round_half_up(3,2)");
    TAP_EQ_INT(round_half_up(5, 10), 1, "round_half_up(5,10)");
    TAP_EQ_INT(round_half_up(4, 10), 0, "round_half_up(4,10)");
    TAP_EQ_INT(round_half_up(0, 10), 0, "round_half_up(0,10)");
    TAP_EQ_INT(round_half_up(15, 10), 2, "round_half_up(15,10)");
    TAP_EQ_INT(round_half_up(14, 10), 1, "round_half_up(14,10)");
    TAP_EQ_INT(round_half_up(1, 3), 0, "round_half_up(1,3)");
    TAP_EQ_INT(round_half_up(2, 3), 1, "round_half_up(2,3)");
    TAP_EQ_INT(round_half_up(7, 1), 7, "round_half_up(7,1)");
    TAP_EQ_INT(round_half_up(INT64_MAX, 1), INT64_MAX, "round_half_up(max,1) no overflow");
    TAP_EQ_INT(round_half_up(INT64_MAX, 2), INT64_MAX / 2 + 1, "round_half_up(max,2) no overflow");
    {
        /* Against the spec's formula wherever it cannot overflow. */
        int bad = 0;
        for (int64_t b = 1; b <= 60; b++)
            for (int64_t a = 0; a <= 1000; a++)
                if (round_half_up(a, b) != (a + b / 2) / b)
                    bad++;
        TAP_EQ_INT(bad, 0, "round_half_up equals (a + b/2) / b for a<=1000, b<=60");
    }

    TAP_EQ_INT(round_half_up_signed(-5, 10), -1, "round_half_up_signed(-5,10)");
    TAP_EQ_INT(round_half_up_signed(-4, 10), 0, "round_half_up_signed(-4,10)");
    TAP_EQ_INT(round_half_up_signed(5, 10), 1, "round_half_up_signed(5,10)");
    TAP_EQ_INT(round_half_up_signed(-15, 10), -2, "round_half_up_signed(-15,10)");
    TAP_EQ_INT(round_half_up_signed(0, 10), 0, "round_half_up_signed(0,10)");
    TAP_EQ_INT(round_half_up_signed(INT64_MIN, 1), INT64_MIN, "round_half_up_signed(min,1)");
    TAP_EQ_INT(round_half_up_signed(INT64_MIN, 2), INT64_MIN / 2, "round_half_up_signed(min,2)");
    {
        int bad = 0;
        for (int64_t b = 1; b <= 60; b++)
            for (int64_t a = 0; a <= 1000; a++)
                if (round_half_up_signed(-a, b) != -round_half_up(a, b))
                    bad++;
        TAP_EQ_INT(bad, 0, "signed rounding is the exact negation of unsigned");
    }

    {
        uint64_t v = 9;
        TAP_OK(parse_uint64("0", 10, &v) == 0 && v == 0, "parse_uint64 0");
        TAP_OK(parse_uint64("600", 600, &v) == 0 && v == 600, "parse_uint64 600 <= 600");
        TAP_OK(parse_uint64("007", 600, &v) == 0 && v == 7, "parse_uint64 leading zeros");
        TAP_OK(parse_uint64("18446744073709551615", UINT64_MAX, &v) == 0 && v == UINT64_MAX,
               "parse_uint64 UINT64_MAX");
        v = 9;
        TAP_OK(parse_uint64("601", 600, &v) == -1 && v == 9, "parse_uint64 above max refused");
        TAP_OK(parse_uint64("18446744073709551616", UINT64_MAX, &v) == -1, "parse_uint64 overflow");
        TAP_OK(parse_uint64("99999999999999999999999", UINT64_MAX, &v) == -1, "parse_uint64 long overflow");
        TAP_OK(parse_uint64("", 10, &v) == -1, "parse_uint64 empty");
        TAP_OK(parse_uint64("-1", 10, &v) == -1, "parse_uint64 minus");
        TAP_OK(parse_uint64("+1", 10, &v) == -1, "parse_uint64 plus");
        TAP_OK(parse_uint64(" 1", 10, &v) == -1, "parse_uint64 leading space");
        TAP_OK(parse_uint64("1 ", 10, &v) == -1, "parse_uint64 trailing space");
        TAP_OK(parse_uint64("1.0", 10, &v) == -1, "parse_uint64 decimal");
        TAP_OK(parse_uint64("1e1", 100, &v) == -1, "parse_uint64 exponent");
        TAP_OK(parse_uint64(NULL, 10, &v) == -1, "parse_uint64 NULL");
    }
    return tap_done();
}
