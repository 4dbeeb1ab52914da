/* inv_peppol: see inv_peppol.h. */
#include "inv_peppol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Electronic Address Scheme codes accepted by Peppol BIS Billing 3.0.15
 * (PEPPOL-EN16931-CL008). "EM" (e-mail) is an EN 16931 code but not a
 * Peppol one, which is why no party falls back to its e-mail address. */
static const char *const s_eas[] = {
    "0002", "0007", "0009", "0037", "0060", "0088", "0096", "0097", "0106", "0130",
    "0135", "0142", "0151", "0183", "0184", "0188", "0190", "0191", "0192", "0193",
    "0195", "0196", "0198", "0199", "0200", "0201", "0202", "0204", "0208", "0209",
    "0210", "0211", "0212", "0213", "0215", "0216", "0218", "0221", "0230", "9901",
    "9910", "9913", "9914", "9915", "9918", "9919", "9920", "9922", "9923", "9924",
    "9925", "9926", "9927", "9928", "9929", "9930", "9931", "9932", "9933", "9934",
    "9935", "9936", "9937", "9938", "9939", "9940", "9941", "9942", "9943", "9944",
    "9945", "9946", "9947", "9948", "9949", "9950", "9951", "9952", "9953", "9957",
    "9959", NULL,
};

int inv_peppol_scheme_known(const char *scheme)
{
    for (size_t i = 0; scheme && s_eas[i]; i++)
        if (strcmp(s_eas[i], scheme) == 0)
            return 1;
    return 0;
}

static int s_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* GS1 check digit: from the right, the data digits weigh 3, 1, 3, ... */
static int s_gln_ok(const char *s)
{
    if (!s_digits(s, 13))
        return 0;
    int sum = 0;
    for (int i = 11, w = 3; i >= 0; i--, w = 4 - w)
        sum += (s[i] - '0') * w;
    return (10 - sum % 10) % 10 == s[12] - '0';
}

/* Norwegian organisation number: weights 2..7 from the right, mod 11. */
static int s_mod11_ok(const char *s)
{
    if (!s_digits(s, 9) || strspn(s, "0") == 9)
        return 0;
    int sum = 0;
    for (int i = 7, k = 0; i >= 0; i--, k++)
        sum += (s[i] - '0') * (k % 6 + 2);
    return (11 - sum % 11) % 11 == s[8] - '0';
}

/* Belgian enterprise number: the last two digits are 97 - (first 8 mod 97). */
static int s_mod97_ok(const char *s)
{
    if (!s_digits(s, 10))
        return 0;
    long first = 0, check = (s[8] - '0') * 10 + (s[9] - '0');
    for (int i = 0; i < 8; i++)
        first = first * 10 + (s[i] - '0');
    return 97 - first % 97 == check;
}

/* Swedish organisation number: Luhn over the first nine digits. */
static int s_luhn10_ok(const char *s)
{
    if (!s_digits(s, 10))
        return 0;
    int sum = 0;
    for (int pos = 1; pos <= 9; pos++) {
        int d = s[9 - pos] - '0';
        sum += pos % 2 ? (d * 2) % 10 + (d * 2) / 10 : d;
    }
    return (10 - sum % 10) % 10 == s[9] - '0';
}

/* Australian Business Number: weighted sum (first digit less one) mod 89. */
static int s_abn_ok(const char *s)
{
    static const int w[11] = { 10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 };
    if (!s_digits(s, 11))
        return 0;
    int sum = 0;
    for (int i = 0; i < 11; i++)
        sum += (s[i] - '0' - (i == 0)) * w[i];
    return sum % 89 == 0;
}

static int s_dk_ok(const char *s)
{
    return strlen(s) == 10 && s[0] == 'D' && s[1] == 'K' && s_digits(s + 2, 8);
}

int inv_peppol_parse(const char *text, char *scheme, char *id, char *why, size_t whylen)
{
    const char *colon = text ? strchr(text, ':') : NULL;
    if (!colon || colon == text) {
        snprintf(why, whylen, "must be scheme:id, e.g. 0088:5012345678900");
        return -1;
    }
    size_t sl = (size_t)(colon - text), il = strlen(colon + 1);
    if (sl >= INV_PEPPOL_SCHEME_LEN) {
        snprintf(why, whylen, "the scheme is a 4-digit EAS code, e.g. 0088 or 9932");
        return -1;
    }
    memcpy(scheme, text, sl);
    scheme[sl] = '\0';
    if (!inv_peppol_scheme_known(scheme)) {
        snprintf(why, whylen, "scheme %s is not on the Peppol EAS code list", scheme);
        return -1;
    }
    if (il == 0 || il > INV_PEPPOL_ID_MAX) {
        snprintf(why, whylen, "the id after %s: must be 1 to %d characters", scheme,
                 INV_PEPPOL_ID_MAX);
        return -1;
    }
    for (const char *p = colon + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '.' || *p == ':' || *p == '_' || *p == '-')) {
            snprintf(why, whylen, "the id may hold letters, digits and . : _ - only");
            return -1;
        }
    memcpy(id, colon + 1, il + 1);
    struct {
        const char *scheme;
        int (*ok)(const char *);
        const char *what;
    } checks[] = {
        { "0088", s_gln_ok, "a GLN of 13 digits with a valid GS1 check digit" },
        { "0192", s_mod11_ok, "a Norwegian organisation number (9 digits, mod 11)" },
        { "0184", s_dk_ok, "DK and 8 digits (a Danish CVR number)" },
        { "0208", s_mod97_ok, "a Belgian enterprise number (10 digits, mod 97)" },
        { "0007", s_luhn10_ok, "a Swedish organisation number (10 digits, Luhn)" },
        { "0151", s_abn_ok, "an Australian Business Number (11 digits)" },
    };
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
        if (strcmp(scheme, checks[i].scheme) == 0 && !checks[i].ok(id)) {
            snprintf(why, whylen, "scheme %s needs %s", scheme, checks[i].what);
            return -1;
        }
    return 0;
}

int inv_peppol_address(const char *endpoint_scheme, const char *endpoint_id, const char *vat,
                       char *scheme, size_t schemelen, char *id, size_t idlen)
{
    if (endpoint_scheme && endpoint_scheme[0] && endpoint_id && endpoint_id[0]) {
        snprintf(scheme, schemelen, "%s", endpoint_scheme);
        snprintf(id, idlen, "%s", endpoint_id);
        return 0;
    }
    if (vat && vat[0]) {
        snprintf(scheme, schemelen, "9932");
        snprintf(id, idlen, "%s", vat);
        return 0;
    }
    return -1;
}
