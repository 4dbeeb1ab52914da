/* inv_peppol_test: electronic addresses: the EAS list, "scheme:id" parsing,
 * the check digits Peppol enforces, and the 9932 fallback. */
#include <string.h>

#include "inv_peppol.h"
#include "tap.h"

int main(void)
{
    char scheme[INV_PEPPOL_SCHEME_LEN], id[INV_PEPPOL_ID_MAX + 1], why[160];
    const char *known[] = { "0002", "0060", "0088", "0192", "0208", "9930", "9932", "9957" };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        TAP_OK(inv_peppol_scheme_known(known[i]), "%s is on the EAS list", known[i]);
    const char *unknown[] = { "EM", "0000", "9999", "", "00880", "AQ" };
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        TAP_OK(!inv_peppol_scheme_known(unknown[i]), "'%s' is not", unknown[i]);

    struct {
        const char *text;
        int ok;
        const char *why;
    } cases[] = {
        { "0088:5012345678900", 1, "GLN, valid check digit" },
        { "0088:5012345678901", 0, "GLN, wrong check digit" },
        { "0088:501234567890", 0, "GLN of 12 digits" },
        { "0088:50123456789X0", 0, "GLN with a letter" },
        { "0192:974760673", 1, "Norwegian organisation number" },
        { "0192:974760674", 0, "Norwegian number, wrong check digit" },
        { "0184:DK12345678", 1, "Danish CVR" },
        { "0184:12345678", 0, "Danish CVR without DK" },
        { "0208:0123456749", 1, "Belgian enterprise number" },
        { "0208:0123456748", 0, "Belgian number, wrong check digits" },
        { "0007:5560360793", 1, "Swedish organisation number" },
        { "0007:5560360794", 0, "Swedish number, wrong Luhn digit" },
        { "0151:51824753556", 1, "Australian Business Number" },
        { "0151:51824753557", 0, "ABN, wrong checksum" },
        { "9932:GB123456789", 1, "UK VAT" },
        { "0060:123456789", 1, "DUNS (no check digit in Peppol)" },
        { "EM:ap@example.org", 0, "e-mail scheme" },
        { "5012345678900", 0, "no scheme" },
        { ":5012345678900", 0, "empty scheme" },
        { "0088:", 0, "empty id" },
        { "0060:12 34", 0, "space in the id" },
        { "0060:a;b", 0, "semicolon in the id" },
        { "00088:1", 0, "scheme too long" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        why[0] = '\0';
        int rc = inv_peppol_parse(cases[i].text, scheme, id, why, sizeof why);
        TAP_OK((rc == 0) == cases[i].ok, "%s: %s (%s)%s%s", cases[i].text,
               cases[i].ok ? "accepted" : "refused", cases[i].why, why[0] ? ": " : "", why);
        if (rc != 0)
            TAP_OK(why[0] != '\0', "and says why");
    }
    TAP_EQ_INT(inv_peppol_parse("0088:5012345678900", scheme, id, why, sizeof why), 0, "parse");
    TAP_EQ_STR(scheme, "0088", "scheme part");
    TAP_EQ_STR(id, "5012345678900", "id part");
    inv_peppol_parse("1234:x", scheme, id, why, sizeof why);
    TAP_OK(strstr(why, "1234") && strstr(why, "EAS"), "an unknown scheme is named: %s", why);
    char longid[200];
    memset(longid, '1', sizeof longid);
    memcpy(longid, "0060:", 5);
    longid[5 + INV_PEPPOL_ID_MAX + 1] = '\0';
    TAP_EQ_INT(inv_peppol_parse(longid, scheme, id, why, sizeof why), -1, "an id over 120 characters");

    char s[8], a[64];
    TAP_EQ_INT(inv_peppol_address("0088", "5012345678900", "GB123456789", s, sizeof s, a, sizeof a),
               0, "a registered endpoint is the address");
    TAP_OK(strcmp(s, "0088") == 0 && strcmp(a, "5012345678900") == 0, "even with a VAT number");
    TAP_EQ_INT(inv_peppol_address("", "", "GB123456789", s, sizeof s, a, sizeof a), 0,
               "no endpoint: the VAT number");
    TAP_OK(strcmp(s, "9932") == 0 && strcmp(a, "GB123456789") == 0, "under scheme 9932");
    TAP_EQ_INT(inv_peppol_address("", "", "", s, sizeof s, a, sizeof a), -1,
               "neither: no electronic address");
    TAP_EQ_INT(inv_peppol_address(NULL, NULL, NULL, s, sizeof s, a, sizeof a), -1, "NULLs too");
    return tap_done();
}
