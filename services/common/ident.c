/* ident: see ident.h. */
#include "ident.h"

#include <string.h>

/* Length of the well-formed UTF-8 sequence at p (at most `left` bytes),
 * with its code point in *cp, or 0 if the bytes there are not one. A NUL
 * is not a sequence. */
static size_t s_seq(const unsigned char *p, size_t left, unsigned *cp)
{
    unsigned c = p[0];
    size_t extra;
    unsigned v;
    if (c == 0)
        return 0;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        extra = 1;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        extra = 2;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        extra = 3;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (left < extra + 1)
        return 0;
    for (size_t i = 1; i <= extra; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if ((extra == 2 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
        (extra == 3 && (v < 0x10000 || v > 0x10ffff)))
        return 0;
    *cp = v;
    return extra + 1;
}

bool ident_utf8_valid(const void *s, size_t len)
{
    const unsigned char *p = s;
    size_t at = 0;
    unsigned cp;
    while (at < len) {
        /* ASCII runs are the common case: skip them a byte at a time
         * without the decoder. */
        if (p[at] >= 0x01 && p[at] < 0x80) {
            at++;
            continue;
        }
        size_t n = s_seq(p + at, len - at, &cp);
        if (n == 0)
            return false;
        at += n;
    }
    return true;
}

size_t ident_utf8_repair(void *s, size_t len)
{
    unsigned char *p = s;
    size_t at = 0, fixed = 0;
    unsigned cp;
    while (at < len) {
        size_t n = s_seq(p + at, len - at, &cp);
        if (n == 0) {
            p[at++] = '?';
            fixed++;
        } else {
            at += n;
        }
    }
    return fixed;
}

long ident_text_chars(const char *s)
{
    if (!s)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    long n = 0;
    unsigned cp;
    while (left > 0) {
        size_t k = s_seq(p, left, &cp);
        if (k == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
            return -1;
        p += k;
        left -= k;
        n++;
    }
    return n;
}

static bool s_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool s_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool s_digit(char c) { return c >= '0' && c <= '9'; }

bool ident_is_prison(const char *s)
{
    return s && s_upper(s[0]) && s_upper(s[1]) && s_upper(s[2]) && s[3] == '\0';
}

bool ident_is_prisoner(const char *s)
{
    return s && s_upper(s[0]) && s_digit(s[1]) && s_digit(s[2]) && s_digit(s[3]) &&
           s_digit(s[4]) && s_upper(s[5]) && s_upper(s[6]) && s[7] == '\0';
}

bool ident_is_employer(const char *s)
{
    if (!s || !(s_lower(s[0]) || s_digit(s[0])))
        return false;
    size_t n = 1;
    for (; s[n]; n++)
        if (n >= IDENT_EMPLOYER_LEN - 1 || !(s_lower(s[n]) || s_digit(s[n]) || s[n] == '-'))
            return false;
    return n >= 2;
}

bool ident_is_contract(const char *s)
{
    if (!s || !(s_upper(s[0]) || s_digit(s[0])))
        return false;
    for (size_t n = 1; s[n]; n++)
        if (n >= IDENT_CONTRACT_LEN - 1 || !(s_upper(s[n]) || s_digit(s[n]) || s[n] == '-'))
            return false;
    return true;
}

bool ident_is_vat_number(const char *s)
{
    if (!s || s[0] != 'G' || s[1] != 'B')
        return false;
    for (int i = 2; i < 11; i++)
        if (!s_digit(s[i]))
            return false;
    return s[11] == '\0';
}

bool ident_is_text(const char *s, int max_chars)
{
    long n = ident_text_chars(s);
    return s && n >= 1 && n <= max_chars;
}

bool ident_is_record_id(const char *s)
{
    return ident_is_text(s, IDENT_RECORD_ID_CHARS);
}
