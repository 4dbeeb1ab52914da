/* inv_supplier_test: the supplier's configuration: every key checked, the
 * file format, and what is missing named. */
#include <string.h>

#include "inv_supplier.h"
#include "tap.h"

int main(void)
{
    inv_supplier_t s;
    char why[320], missing[256];
    memset(&s, 0, sizeof s);
    TAP_EQ_INT(inv_supplier_missing(&s, missing, sizeof missing), 7, "empty: all 7 missing");
    TAP_EQ_STR(missing, "name, address, postcode, vat_number, email, bank_account_name, "
               "sort_code and account_number, or iban", "and named");

    const char *text =
        "# HMPPS Prison Industries\n"
        "name = HMPPS Prison Industries Trading\n"
        "address = 102 Petty France, London\n"
        "postcode = SW1H 9AJ\r\n"
        "\n"
        "vat_number = GB654321987\n"
        "email = invoices@industries.example\n"
        "bank_account_name = HMPPS Prison Industries\n"
        "sort_code = 60-70-80\n"
        "account_number = 1234 5678\n";
    TAP_EQ_INT(inv_supplier_parse(&s, text, why, sizeof why), 0, "a full file parses");
    TAP_EQ_INT(inv_supplier_missing(&s, missing, sizeof missing), 0, "nothing missing");
    TAP_EQ_STR(s.sort_code, "607080", "sort code kept as 6 digits");
    TAP_EQ_STR(s.account_number, "12345678", "account number kept as 8 digits");
    TAP_EQ_STR(s.postcode, "SW1H 9AJ", "CRLF line ends are fine");

    inv_supplier_t t = s;
    TAP_EQ_INT(inv_supplier_set(&t, "sort_code", "", why, sizeof why), 0, "clear the sort code");
    TAP_EQ_INT(inv_supplier_missing(&t, missing, sizeof missing), 1, "then bank details are missing");
    TAP_EQ_INT(inv_supplier_set(&t, "iban", "gb29 nwbk 6016 1331 9268 19", why, sizeof why), 0,
               "an IBAN with spaces, lower case");
    TAP_EQ_STR(t.iban, "GB29NWBK60161331926819", "kept upper case without spaces");
    TAP_EQ_INT(inv_supplier_missing(&t, missing, sizeof missing), 0, "an IBAN will do");

    struct {
        const char *key, *value, *want;
    } bad[] = {
        { "vat_number", "GB12345678", "vat_number" },
        { "vat_number", "123456789", "vat_number" },
        { "sort_code", "60-70-8", "sort_code" },
        { "sort_code", "60-70-8a", "sort_code" },
        { "account_number", "1234567", "account_number" },
        { "iban", "GB29NWBK60161331926818", "iban" },
        { "iban", "GB", "iban" },
        { "email", "invoices", "email" },
        { "email", "a b@c.d", "email" },
        { "peppol_endpoint", "EM:x@y.z", "peppol_endpoint" },
        { "name", "bad\x01name", "name" },
        { "colour", "blue", "unknown key" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        inv_supplier_t u = s;
        why[0] = '\0';
        int rc = inv_supplier_set(&u, bad[i].key, bad[i].value, why, sizeof why);
        TAP_OK(rc == -1 && strstr(why, bad[i].want), "%s = %s refused: %s", bad[i].key,
               bad[i].value, why);
        TAP_OK(memcmp(&u, &s, sizeof u) == 0, "and nothing changed");
    }
    TAP_EQ_INT(inv_supplier_parse(&t, "name = X\nsort_code = 1\n", why, sizeof why), -1,
               "a bad line in a file");
    TAP_OK(strstr(why, "line 2") && strstr(why, "sort_code"), "names its line and key: %s", why);
    TAP_EQ_INT(inv_supplier_parse(&t, "no equals sign\n", why, sizeof why), -1, "no '='");
    TAP_OK(strstr(why, "line 1"), "names its line: %s", why);
    inv_supplier_t v;
    memset(&v, 0, sizeof v);
    TAP_EQ_INT(inv_supplier_parse(&v, "address = Unit 4\\nCanal Wharf\\nLeeds\n", why, sizeof why),
               0, "an address over lines");
    TAP_EQ_STR(v.address, "Unit 4\nCanal Wharf\nLeeds", "with \\n escapes");
    TAP_OK(inv_supplier_iban_ok("GB82WEST12345698765432"), "a valid IBAN");
    TAP_OK(!inv_supplier_iban_ok("GB82WEST12345698765433"), "one digit off");
    return tap_done();
}
