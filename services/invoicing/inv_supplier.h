/* inv_supplier: the supplier's identity and payment details, as configured
 * per deployment (DOMAIN.md "Invoicing employers": legal name, address, VAT
 * number, contact e-mail; bank account name, and sort code and account
 * number or IBAN).
 *
 * Nothing has a default: an invoice with a made-up VAT number or bank
 * account is worse than none, so issuing refuses while anything required is
 * missing (inv_supplier_missing names what). Each value is checked when it
 * is set, so a malformed one (a sort code of 5 digits, an IBAN whose check
 * digits are wrong) is refused at start with a message that names it.
 *
 * The configuration file (pay-invoicing --supplier-config FILE) holds one
 * `key = value` per line; blank lines and lines starting with '#' are
 * ignored; the keys are those of inv_supplier_set. Flags and environment
 * variables override the file.
 *
 * Pure: the struct is plain values that the caller owns; parsing a file's
 * text allocates nothing. */
#ifndef PAY_INV_SUPPLIER_H
#define PAY_INV_SUPPLIER_H

#include <stddef.h>

typedef struct {
    char name[128];            /* legal name */
    char address[256];         /* "street, town" or lines separated by '\n' */
    char postcode[16];
    char vat[16];              /* GB and 9 digits */
    char email[128];
    char endpoint[136];        /* Peppol "scheme:id"; "" = 9932:<vat> */
    char bank_account_name[128];
    char sort_code[8];         /* 6 digits, stored without separators */
    char account_number[12];   /* 8 digits */
    char iban[40];             /* stored without spaces, upper case */
} inv_supplier_t;

/* The keys, in the order help texts list them. */
extern const char *const inv_supplier_keys[];

/* Sets the field named `key` (name, address, postcode, vat_number, email,
 * peppol_endpoint, bank_account_name, sort_code, account_number, iban) to
 * `value`, after checking it. An empty value clears the field. Returns 0,
 * or -1 with a sentence in why that names the key. */
int inv_supplier_set(inv_supplier_t *s, const char *key, const char *value, char *why,
                     size_t whylen);

/* Applies the `key = value` lines of a configuration file's text. Returns
 * 0, or -1 with why naming the line ("line 3: sort_code: ..."). */
int inv_supplier_parse(inv_supplier_t *s, const char *text, char *why, size_t whylen);

/* The required details that are missing, as a comma-separated list of keys
 * in `out` (e.g. "vat_number, sort_code and account_number or iban");
 * returns how many are missing (0: the supplier is configured). */
int inv_supplier_missing(const inv_supplier_t *s, char *out, size_t outlen);

/* 1 if `iban` (without spaces, upper case) has valid ISO 13616 check
 * digits. */
int inv_supplier_iban_ok(const char *iban);

#endif
