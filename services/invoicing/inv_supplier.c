/* inv_supplier: see inv_supplier.h. */
#include "inv_supplier.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "inv_peppol.h"

const char *const inv_supplier_keys[] = {
    "name", "address", "postcode", "vat_number", "email", "peppol_endpoint",
    "bank_account_name", "sort_code", "account_number", "iban", NULL,
};

/* Printable text without control characters ('\n' allowed in addresses). */
static int s_text_ok(const char *v, size_t max, int newlines)
{
    if (strlen(v) > max)
        return 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 && !(newlines && *p == '\n'))
            return 0;
    return 1;
}

/* Copies the digits of v into out, allowing '-' and ' ' between groups;
 * returns the number of digits, or -1 for any other character or too many. */
static int s_digits_of(const char *v, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p == '-' || *p == ' ')
            continue;
        if (*p < '0' || *p > '9' || n + 1 >= outlen)
            return -1;
        out[n++] = *p;
    }
    out[n] = '\0';
    return (int)n;
}

int inv_supplier_iban_ok(const char *iban)
{
    size_t n = strlen(iban);
    if (n < 15 || n > 34 || !isupper((unsigned char)iban[0]) || !isupper((unsigned char)iban[1])
        || !isdigit((unsigned char)iban[2]) || !isdigit((unsigned char)iban[3]))
        return 0;
    /* Move the first four characters to the end, letters as 10..35, mod 97. */
    unsigned rem = 0;
    for (size_t k = 0; k < n; k++) {
        char c = iban[(k + 4) % n];
        if (isdigit((unsigned char)c))
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        else if (isupper((unsigned char)c))
            rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
        else
            return 0;
    }
    return rem == 1;
}

static int s_vat_ok(const char *v)
{
    if (strlen(v) != 11 || v[0] != 'G' || v[1] != 'B')
        return 0;
    for (int i = 2; i < 11; i++)
        if (!isdigit((unsigned char)v[i]))
            return 0;
    return 1;
}

#define WHY(...) do { snprintf(why, whylen, __VA_ARGS__); return -1; } while (0)
#define COPY(field) snprintf(s->field, sizeof s->field, "%s", value)

int inv_supplier_set(inv_supplier_t *s, const char *key, const char *value, char *why,
                     size_t whylen)
{
    if (!value)
        value = "";
    if (strcmp(key, "name") == 0) {
        if (!s_text_ok(value, sizeof s->name - 1, 0))
            WHY("name: at most %zu characters, no control characters", sizeof s->name - 1);
        COPY(name);
    } else if (strcmp(key, "address") == 0) {
        if (!s_text_ok(value, sizeof s->address - 1, 1))
            WHY("address: at most %zu characters", sizeof s->address - 1);
        COPY(address);
    } else if (strcmp(key, "postcode") == 0) {
        if (!s_text_ok(value, sizeof s->postcode - 1, 0))
            WHY("postcode: at most %zu characters", sizeof s->postcode - 1);
        COPY(postcode);
    } else if (strcmp(key, "vat_number") == 0) {
        if (value[0] && !s_vat_ok(value))
            WHY("vat_number: GB followed by 9 digits, e.g. GB123456789");
        COPY(vat);
    } else if (strcmp(key, "email") == 0) {
        const char *at = strchr(value, '@');
        if (value[0] && (!at || at == value || !at[1] || strpbrk(value, " \t\r\n")
                         || !s_text_ok(value, sizeof s->email - 1, 0)))
            WHY("email: an address like billing@example.org");
        COPY(email);
    } else if (strcmp(key, "peppol_endpoint") == 0) {
        char scheme[INV_PEPPOL_SCHEME_LEN], id[INV_PEPPOL_ID_MAX + 1], w[128];
        if (value[0] && inv_peppol_parse(value, scheme, id, w, sizeof w) != 0)
            WHY("peppol_endpoint: %s", w);
        COPY(endpoint);
    } else if (strcmp(key, "bank_account_name") == 0) {
        if (!s_text_ok(value, sizeof s->bank_account_name - 1, 0))
            WHY("bank_account_name: at most %zu characters", sizeof s->bank_account_name - 1);
        COPY(bank_account_name);
    } else if (strcmp(key, "sort_code") == 0) {
        char d[sizeof s->sort_code];
        if (value[0] && s_digits_of(value, d, sizeof d) != 6)
            WHY("sort_code: 6 digits, e.g. 40-47-84");
        snprintf(s->sort_code, sizeof s->sort_code, "%s", value[0] ? d : "");
    } else if (strcmp(key, "account_number") == 0) {
        char d[sizeof s->account_number];
        if (value[0] && s_digits_of(value, d, sizeof d) != 8)
            WHY("account_number: 8 digits");
        snprintf(s->account_number, sizeof s->account_number, "%s", value[0] ? d : "");
    } else if (strcmp(key, "iban") == 0) {
        char d[sizeof s->iban];
        size_t n = 0;
        for (const char *p = value; *p; p++) {
            if (*p == ' ')
                continue;
            if (n + 1 >= sizeof d)
                WHY("iban: at most 34 characters");
            d[n++] = (char)toupper((unsigned char)*p);
        }
        d[n] = '\0';
        if (n && !inv_supplier_iban_ok(d))
            WHY("iban: not a valid IBAN (country code, check digits, account)");
        snprintf(s->iban, sizeof s->iban, "%s", d);
    } else {
        WHY("unknown key '%s' (known: name, address, postcode, vat_number, email, "
            "peppol_endpoint, bank_account_name, sort_code, account_number, iban)", key);
    }
    return 0;
}

int inv_supplier_parse(inv_supplier_t *s, const char *text, char *why, size_t whylen)
{
    int line = 0;
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char buf[512], w[256];
        line++;
        if (len >= sizeof buf)
            WHY("line %d: longer than %zu characters", line, sizeof buf - 1);
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (len && buf[len - 1] == '\r')
            buf[--len] = '\0';
        p = eol ? eol + 1 : NULL;
        char *t = buf;
        while (*t == ' ' || *t == '\t')
            t++;
        if (!*t || *t == '#')
            continue;
        char *eq = strchr(t, '=');
        if (!eq)
            WHY("line %d: expected key = value", line);
        char *k_end = eq;
        while (k_end > t && (k_end[-1] == ' ' || k_end[-1] == '\t'))
            k_end--;
        *k_end = '\0';
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        /* An address may span lines in the file as "\n" escapes. */
        for (char *q = v; (q = strstr(q, "\\n")) != NULL;) {
            *q = '\n';
            memmove(q + 1, q + 2, strlen(q + 2) + 1);
        }
        if (inv_supplier_set(s, t, v, w, sizeof w) != 0)
            WHY("line %d: %s", line, w);
    }
    return 0;
}

int inv_supplier_missing(const inv_supplier_t *s, char *out, size_t outlen)
{
    const char *missing[8];
    int n = 0;
    if (!s->name[0])
        missing[n++] = "name";
    if (!s->address[0])
        missing[n++] = "address";
    if (!s->postcode[0])
        missing[n++] = "postcode";
    if (!s->vat[0])
        missing[n++] = "vat_number";
    if (!s->email[0])
        missing[n++] = "email";
    if (!s->bank_account_name[0])
        missing[n++] = "bank_account_name";
    if (!s->iban[0] && !(s->sort_code[0] && s->account_number[0]))
        missing[n++] = "sort_code and account_number, or iban";
    size_t used = 0;
    if (outlen)
        out[0] = '\0';
    for (int i = 0; i < n && used < outlen; i++) {
        int w = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", missing[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return n;
}
