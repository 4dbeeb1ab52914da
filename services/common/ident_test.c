/* ident_test: the shared identifier and UTF-8 rules.
 *
 * The UTF-8 check is proved against an independent reference: every
 * sequence of up to 4 bytes drawn from a set of interesting byte values is
 * classified by a decoder written differently from ident.c (code point
 * first, then the canonical encoding compared with the bytes), and the two
 * must agree. */
#include "ident.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"

/* Encodes code point cp as UTF-8 into out; returns its length, or 0 for a
 * value that has no encoding (a surrogate or past U+10FFFF). */
static size_t s_encode(unsigned cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp >= 0xd800 && cp <= 0xdfff)
        return 0;
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp > 0x10ffff)
        return 0;
    out[0] = (unsigned char)(0xf0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Reference: valid iff the bytes split into canonical encodings of
 * non-NUL code points (decode loosely, re-encode, compare). */
static int s_ref_valid(const unsigned char *b, size_t len)
{
    size_t at = 0;
    while (at < len) {
        unsigned c = b[at], cp;
        size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (n == 0 || at + n > len)
            return 0;
        cp = n == 1 ? c : c & (0xff >> (n + 1));
        for (size_t i = 1; i < n; i++) {
            if ((b[at + i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (b[at + i] & 0x3f);
        }
        unsigned char enc[4];
        if (cp == 0 || s_encode(cp, enc) != n || memcmp(enc, b + at, n) != 0)
            return 0;
        at += n;
    }
    return 1;
}

static void s_exhaustive_utf8(void)
{
    static const unsigned char vals[] = {
        0x00, 0x01, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2,
        0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xf8, 0xff};
    const size_t nv = sizeof vals;
    unsigned long tried = 0, disagree = 0, valid = 0;
    unsigned char b[4];
    for (size_t len = 1; len <= 4; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++)
            total *= nv;
        for (size_t k = 0; k < total; k++) {
            size_t x = k;
            for (size_t i = 0; i < len; i++, x /= nv)
                b[i] = vals[x % nv];
            int want = s_ref_valid(b, len);
            int got = ident_utf8_valid(b, len);
            tried++;
            valid += (unsigned long)want;
            if (want != got && disagree++ < 5)
                printf("# disagree on %zu bytes %02x %02x %02x %02x: ref %d got %d\n", len,
                       b[0], len > 1 ? b[1] : 0, len > 2 ? b[2] : 0, len > 3 ? b[3] : 0,
                       want, got);
            /* Repair must always produce valid bytes of the same length,
             * and leave valid input alone. */
            unsigned char r[4];
            memcpy(r, b, len);
            size_t fixed = ident_utf8_repair(r, len);
            if (!ident_utf8_valid(r, len) || (want && (fixed != 0 || memcmp(r, b, len) != 0))) {
                if (disagree++ < 5)
                    printf("# repair failed on %zu bytes\n", len);
            }
        }
    }
    TAP_OK(disagree == 0, "UTF-8 check and repair agree with the reference on %lu sequences "
           "(%lu valid)", tried, valid);
    TAP_OK(valid > 1000 && valid < tried / 2, "the sample holds both kinds (%lu valid)", valid);

    /* Every code point, encoded canonically, is valid, except NUL. */
    unsigned long bad = 0;
    for (unsigned cp = 1; cp <= 0x10ffff; cp++) {
        unsigned char enc[4];
        size_t n = s_encode(cp, enc);
        if (n && !ident_utf8_valid(enc, n))
            bad++;
    }
    TAP_OK(bad == 0, "every scalar value's encoding is valid (%lu refused)", bad);
    TAP_OK(!ident_utf8_valid("a\0b", 3), "an embedded NUL is refused");
    TAP_OK(ident_utf8_valid("", 0), "empty is valid");
    TAP_OK(!ident_utf8_valid("\xed\xa0\x80", 3), "a surrogate is refused");
    TAP_OK(!ident_utf8_valid("\xc0\xaf", 2), "an overlong '/' is refused");
    TAP_OK(!ident_utf8_valid("\xf4\x90\x80\x80", 4), "past U+10FFFF is refused");
    TAP_OK(!ident_utf8_valid("\xc3", 1), "a cut sequence is refused");
    char cut[] = "caf\xc3";
    TAP_EQ_INT((int)ident_utf8_repair(cut, 4), 1, "repair replaces the cut byte");
    TAP_EQ_STR(cut, "caf?", "repaired text");
}

static void s_record_ids(void)
{
    char id[400];
    /* 33 x "é": 33 characters, 66 bytes: within 64 characters. */
    id[0] = '\0';
    for (int i = 0; i < 33; i++)
        strcat(id, "\xc3\xa9");
    TAP_EQ_INT((int)strlen(id), 66, "33 x e-acute is 66 bytes");
    TAP_OK(ident_is_record_id(id), "33 characters of 2 bytes are a record_id");
    /* 64 four-byte characters: 256 bytes, the most a record_id can take. */
    id[0] = '\0';
    for (int i = 0; i < 64; i++)
        strcat(id, "\xf0\x9f\x98\x80");
    TAP_EQ_INT((int)strlen(id), IDENT_RECORD_ID_MAX, "64 x U+1F600 is IDENT_RECORD_ID_MAX bytes");
    TAP_OK(ident_is_record_id(id), "64 four-byte characters are a record_id");
    strcat(id, "a");
    TAP_OK(!ident_is_record_id(id), "65 characters are not");
    memset(id, 'x', 64);
    id[64] = '\0';
    TAP_OK(ident_is_record_id(id), "64 ASCII characters");
    id[64] = 'x';
    id[65] = '\0';
    TAP_OK(!ident_is_record_id(id), "65 ASCII characters are not");
    TAP_OK(!ident_is_record_id(""), "empty is not a record_id");
    TAP_OK(!ident_is_record_id(NULL), "NULL is not a record_id");
    TAP_OK(!ident_is_record_id("r\t1"), "a tab is a control character");
    TAP_OK(!ident_is_record_id("r\x7f"), "DEL is a control character");
    TAP_OK(!ident_is_record_id("r\xc2\x85"), "NEL (C1) is a control character");
    TAP_OK(ident_is_record_id("r\xc2\xa0"), "NBSP is not a control character");
    TAP_OK(!ident_is_record_id("r\xff"), "invalid UTF-8 is not a record_id");
    TAP_OK(ident_is_record_id(" r-1 "), "spaces are kept, never trimmed");
    TAP_EQ_INT((int)ident_text_chars("\xc3\xa9t\xc3\xa9"), 3, "characters counted");
    TAP_EQ_INT((int)ident_text_chars("a\x01"), -1, "control characters refused");
    TAP_OK(ident_is_text("Laundry", 7) && !ident_is_text("Laundry", 6), "text bound");
}

typedef struct {
    const char *s;
    bool ok;
} s_case_t;

static void s_patterns(void)
{
    static const s_case_t prisons[] = {
        {"MDI", 1}, {"LEI", 1}, {"mdi", 0}, {"MD", 0}, {"MDIX", 0}, {"M1I", 0},
        {"", 0}, {" MDI", 0}, {"MDI ", 0}};
    static const s_case_t prisoners[] = {
        {"A1234BC", 1}, {"Z0000ZZ", 1}, {"a1234BC", 0}, {"A123BC", 0}, {"A12345BC", 0},
        {"A1234B", 0}, {"A1234BC ", 0}, {"11234BC", 0}, {"A1234bC", 0}, {"", 0}};
    static const s_case_t employers[] = {
        {"dhl", 1}, {"db", 1}, {"0a", 1}, {"a-", 1}, {"timpson", 1},
        {"abcdefghijklmnopqrstuvwxyz012345", 1},    /* 32 */
        {"abcdefghijklmnopqrstuvwxyz0123456", 0},   /* 33 */
        {"d", 0}, {"-dhl", 0}, {"DHL", 0}, {"dh_l", 0}, {"dh l", 0}, {"", 0}};
    static const s_case_t contracts[] = {
        {"C-0042", 1}, {"C", 1}, {"0", 1}, {"ABCDEFGHIJKLMNOPQRSTUVWX", 1},   /* 24 */
        {"ABCDEFGHIJKLMNOPQRSTUVWXY", 0},   /* 25 */
        {"-C", 0}, {"c-0042", 0}, {"C_1", 0}, {"C 1", 0}, {"", 0}};
    static const s_case_t vats[] = {
        {"GB123456789", 1}, {"GB12345678", 0}, {"GB1234567890", 0}, {"gb123456789", 0},
        {"XI123456789", 0}, {"GB12345678A", 0}, {"", 0}};
    struct {
        const char *name;
        bool (*fn)(const char *);
        const s_case_t *cases;
        size_t n;
    } sets[] = {
        {"prison", ident_is_prison, prisons, sizeof prisons / sizeof *prisons},
        {"prisoner", ident_is_prisoner, prisoners, sizeof prisoners / sizeof *prisoners},
        {"employer", ident_is_employer, employers, sizeof employers / sizeof *employers},
        {"contract", ident_is_contract, contracts, sizeof contracts / sizeof *contracts},
        {"vat", ident_is_vat_number, vats, sizeof vats / sizeof *vats},
    };
    for (size_t s = 0; s < sizeof sets / sizeof *sets; s++) {
        for (size_t i = 0; i < sets[s].n; i++)
            TAP_OK(sets[s].fn(sets[s].cases[i].s) == sets[s].cases[i].ok, "%s \"%s\": %s",
                   sets[s].name, sets[s].cases[i].s, sets[s].cases[i].ok ? "yes" : "no");
        TAP_OK(!sets[s].fn(NULL), "%s NULL refused", sets[s].name);
    }
    /* Exhaustive over single characters in every position of a contract id
     * and an employer id. */
    unsigned long wrong = 0;
    for (int c = 1; c < 256; c++) {
        char k[4] = {'C', (char)c, 'D', 0};
        bool want = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (ident_is_contract(k) != want)
            wrong++;
        char e[4] = {'d', (char)c, 'l', 0};
        want = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (ident_is_employer(e) != want)
            wrong++;
    }
    TAP_OK(wrong == 0, "every byte in the middle of a contract or employer id (%lu wrong)",
           wrong);
}

int main(void)
{
    s_exhaustive_utf8();
    s_record_ids();
    s_patterns();
    return tap_done();
}
