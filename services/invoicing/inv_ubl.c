/* inv_ubl: an invoice as UBL 2.1 Invoice, a credit note as UBL 2.1
 * CreditNote, following Peppol BIS Billing 3.0 (EN 16931).
 *
 * Written with libxml2's xmlTextWriter so that every element comes out in
 * the order the UBL schemas require and every text is escaped; nothing is
 * pasted together as strings.
 *
 * Choices that the rules force:
 * - Hourly lines state their quantity in minutes (unit code MIN) with the
 *   hourly charge as the price per base quantity of 60 MIN. The line net is
 *   round_half_up(minutes * charge / 60), so quantity * price / base
 *   quantity matches it to within half a penny (PEPPOL-EN16931-R120 allows
 *   two); hours rounded to 2 decimals would not (at £20 an hour the
 *   rounding of the hours alone is worth 10p). The hours are in the line's
 *   note as the PDF shows them.
 * - VAT category S (standard rated, with its percent) for a rate above
 *   zero and Z (zero rated, percent 0) for 0 bp; one TaxSubtotal per rate.
 * - Electronic addresses (inv_peppol_address): the party's Peppol endpoint
 *   if it has one, else its VAT number under EAS scheme 9932 (UK VAT
 *   number). A party with neither has no address on the Peppol network
 *   (EN 16931's "EM" e-mail scheme is not on Peppol's code list, rule
 *   CL008), so no UBL is made for it: the render fails and the API says why.
 * - How to pay (an invoice): PaymentMeans code 30 (credit transfer) with
 *   the document number as the remittance reference (PaymentID) and the
 *   supplier's account as PayeeFinancialAccount: the IBAN if configured,
 *   else the UK sort code and account number as one 14-digit id with the
 *   sort code as the branch id (BR-50, BR-61).
 * - A credit note's amounts are shown as credited (the stored amounts
 *   negated, see inv_doc.h), and it names the invoices it adjusts in
 *   BillingReference. UBL 2.1 CreditNote has no DueDate; the payment terms
 *   note carries what the due date would say. */
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "inv_doc.h"
#include "inv_peppol.h"
#include "money.h"

#define NS_INVOICE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
#define NS_CREDIT "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
#define NS_CAC "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
#define NS_CBC "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
#define CUSTOMIZATION "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
#define PROFILE "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

typedef struct {
    xmlTextWriterPtr w;
    int err;
} s_ubl_t;

#define X(s) ((const xmlChar *)(s))

/* XML 1.0 text as UTF-8: every byte sequence that is not well-formed UTF-8,
 * and every character XML forbids even escaped (C0 controls other than tab,
 * LF and CR; surrogates; U+FFFE and U+FFFF), becomes U+FFFD. The stored
 * strings come from requests, and one stray byte in an employer's name
 * must not make the whole document unreadable to the customer's system.
 * Returns `text` itself when nothing needs replacing, else `buf` (a text
 * too long for it is cut at a character boundary). */
static const char *s_xml_text(const char *text, char *buf, size_t buflen)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t o = 0;
    int changed = 0, full = 0;
    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4 : 0;
        uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
        size_t i = 1;
        for (; n && i < n && (p[i] & 0xC0) == 0x80; i++)
            cp = (cp << 6) | (p[i] & 0x3F);
        int ok = n && i == n
              && !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) && !(n == 4 && cp < 0x10000)
              && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) && cp != 0xFFFE
              && cp != 0xFFFF && !(cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r');
        const unsigned char *from = ok ? p : (const unsigned char *)"\xEF\xBF\xBD";
        size_t len = ok ? n : 3;
        changed |= !ok;
        if (!full && o + len < buflen) {
            memcpy(buf + o, from, len);
            o += len;
        } else {
            full = 1;
        }
        p += ok ? n : (i ? i : 1);
    }
    if (!changed)
        return text;
    buf[o] = 0;
    return buf;
}

static void s_start(s_ubl_t *u, const char *name)
{
    if (xmlTextWriterStartElement(u->w, X(name)) < 0)
        u->err = 1;
}

static void s_end(s_ubl_t *u)
{
    if (xmlTextWriterEndElement(u->w) < 0)
        u->err = 1;
}

static void s_attr(s_ubl_t *u, const char *name, const char *value)
{
    char buf[1024];
    if (xmlTextWriterWriteAttribute(u->w, X(name), X(s_xml_text(value, buf, sizeof buf))) < 0)
        u->err = 1;
}

/* An element with text; an empty text writes nothing (Peppol forbids
 * empty elements, PEPPOL-EN16931-R008). */
static void s_el(s_ubl_t *u, const char *name, const char *text)
{
    if (!text || !text[0])
        return;
    char buf[1024];
    s_start(u, name);
    if (xmlTextWriterWriteString(u->w, X(s_xml_text(text, buf, sizeof buf))) < 0)
        u->err = 1;
    s_end(u);
}

static void s_el_attr(s_ubl_t *u, const char *name, const char *an, const char *av,
                      const char *text)
{
    char buf[1024];
    s_start(u, name);
    s_attr(u, an, av);
    if (xmlTextWriterWriteString(u->w, X(s_xml_text(text, buf, sizeof buf))) < 0)
        u->err = 1;
    s_end(u);
}

static void s_amount(s_ubl_t *u, const char *name, int64_t pence)
{
    char buf[MONEY_TEXT_LEN];
    money_format(pence, buf);
    s_el_attr(u, name, "currencyID", "GBP", buf);
}

static void s_date(s_ubl_t *u, const char *name, int32_t day)
{
    char buf[CIVIL_DATE_LEN];
    civil_format_date(day, buf);
    s_el(u, name, buf);
}

static void s_percent(char *out, size_t outlen, uint32_t bp)
{
    if (bp % 100 == 0)
        snprintf(out, outlen, "%u", bp / 100);
    else
        snprintf(out, outlen, "%u.%02u", bp / 100, bp % 100);
}

static void s_tax_category(s_ubl_t *u, const char *el, uint32_t bp)
{
    char pct[16];
    s_percent(pct, sizeof pct, bp);
    s_start(u, el);
    s_el(u, "cbc:ID", bp > 0 ? "S" : "Z");
    s_el(u, "cbc:Percent", pct);
    s_start(u, "cac:TaxScheme");
    s_el(u, "cbc:ID", "VAT");
    s_end(u);
    s_end(u);
}

/* Splits "a, b, c" (or lines) into street, additional street and city. */
static void s_address(s_ubl_t *u, const inv_party_t *p)
{
    char buf[sizeof p->address], *parts[16];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", p->address);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",\n", &save); t && n < 16; t = strtok_r(NULL, ",\n", &save)) {
        while (*t == ' ')
            t++;
        size_t len = strlen(t);
        while (len > 0 && t[len - 1] == ' ')
            t[--len] = 0;
        if (*t)
            parts[n++] = t;
    }
    char extra[sizeof p->address] = "";
    for (int i = 1; i + 1 < n; i++) {
        size_t used = strlen(extra);
        snprintf(extra + used, sizeof extra - used, "%s%s", used ? ", " : "", parts[i]);
    }
    s_start(u, "cac:PostalAddress");
    if (n >= 1)
        s_el(u, "cbc:StreetName", parts[0]);
    s_el(u, "cbc:AdditionalStreetName", extra);
    if (n >= 2)
        s_el(u, "cbc:CityName", parts[n - 1]);
    s_el(u, "cbc:PostalZone", p->postcode);
    s_start(u, "cac:Country");
    s_el(u, "cbc:IdentificationCode", "GB");
    s_end(u);
    s_end(u);
}

static void s_party(s_ubl_t *u, const char *role, const inv_party_t *p)
{
    s_start(u, role);
    char scheme[INV_PEPPOL_SCHEME_LEN], id[sizeof p->endpoint_id];
    s_start(u, "cac:Party");
    if (inv_peppol_address(p->endpoint_scheme, p->endpoint_id, p->vat, scheme, sizeof scheme,
                           id, sizeof id) == 0)
        s_el_attr(u, "cbc:EndpointID", "schemeID", scheme, id);
    else
        u->err = 1;   /* no electronic address: no UBL (inv_ubl_addressable) */
    s_start(u, "cac:PartyName");
    s_el(u, "cbc:Name", p->name);
    s_end(u);
    s_address(u, p);
    if (p->vat[0]) {
        s_start(u, "cac:PartyTaxScheme");
        s_el(u, "cbc:CompanyID", p->vat);
        s_start(u, "cac:TaxScheme");
        s_el(u, "cbc:ID", "VAT");
        s_end(u);
        s_end(u);
    }
    s_start(u, "cac:PartyLegalEntity");
    s_el(u, "cbc:RegistrationName", p->name);
    s_end(u);
    if (p->email[0]) {
        s_start(u, "cac:Contact");
        s_el(u, "cbc:ElectronicMail", p->email);
        s_end(u);
    }
    s_end(u);
    s_end(u);
}

/* Credit transfer to the supplier's account, quoting the document number. */
static void s_payment_means(s_ubl_t *u, const inv_doc_t *d)
{
    const inv_party_t *s = &d->supplier;
    char id[64];
    int uk = s->sort_code[0] && s->account_number[0];
    if (!s->iban[0] && !uk)
        return;   /* a document issued before payment details existed */
    s_start(u, "cac:PaymentMeans");
    s_start(u, "cbc:PaymentMeansCode");
    s_attr(u, "name", "Credit transfer");
    if (xmlTextWriterWriteString(u->w, X("30")) < 0)
        u->err = 1;
    s_end(u);
    s_el(u, "cbc:PaymentID", d->number);
    s_start(u, "cac:PayeeFinancialAccount");
    if (s->iban[0])
        snprintf(id, sizeof id, "%s", s->iban);
    else
        snprintf(id, sizeof id, "%s%s", s->sort_code, s->account_number);
    s_el(u, "cbc:ID", id);
    s_el(u, "cbc:Name", s->bank_account_name);
    if (!s->iban[0]) {
        s_start(u, "cac:FinancialInstitutionBranch");
        s_el(u, "cbc:ID", s->sort_code);
        s_end(u);
    }
    s_end(u);
    s_end(u);
}

static void s_line(s_ubl_t *u, const inv_doc_t *d, size_t i, int credit)
{
    const inv_line_t *l = &d->lines[i];
    int sign = inv_doc_sign(d);
    char buf[256], qty[32], hours[32];
    s_start(u, credit ? "cac:CreditNoteLine" : "cac:InvoiceLine");
    snprintf(buf, sizeof buf, "%zu", i + 1);
    s_el(u, "cbc:ID", buf);
    if (l->basis == INV_BASIS_HOURLY) {
        inv_line_quantity_text(l, sign, hours, sizeof hours);
        snprintf(buf, sizeof buf, "%s hours", hours);
        s_el(u, "cbc:Note", buf);
        snprintf(qty, sizeof qty, "%lld", (long long)(sign * l->minutes));
    } else {
        snprintf(qty, sizeof qty, "%lld", (long long)(sign * l->units));
    }
    const char *unit = l->basis == INV_BASIS_HOURLY ? "MIN" : "C62";
    s_el_attr(u, credit ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity", "unitCode",
              unit, qty);
    s_amount(u, "cbc:LineExtensionAmount", sign * l->net);
    s_start(u, "cac:InvoicePeriod");
    s_date(u, "cbc:StartDate", inv_line_first(l));
    s_date(u, "cbc:EndDate", inv_line_last(l));
    s_end(u);
    s_start(u, "cac:Item");
    inv_line_description(l, buf, sizeof buf);
    s_el(u, "cbc:Description", buf);
    snprintf(buf, sizeof buf, "%s contract %s", l->basis == INV_BASIS_UNIT
             ? "Units produced," : "Prison labour,", l->contract);
    s_el(u, "cbc:Name", buf);
    s_start(u, "cac:SellersItemIdentification");
    s_el(u, "cbc:ID", l->contract);
    s_end(u);
    s_tax_category(u, "cac:ClassifiedTaxCategory", l->vat_bp);
    s_end(u);
    s_start(u, "cac:Price");
    money_format(l->charge, buf);
    s_el_attr(u, "cbc:PriceAmount", "currencyID", "GBP", buf);
    s_el_attr(u, "cbc:BaseQuantity", "unitCode", unit,
              l->basis == INV_BASIS_HOURLY ? "60" : "1");
    s_end(u);
    s_end(u);
}

static void s_document(s_ubl_t *u, const inv_doc_t *d)
{
    int credit = d->kind == INV_KIND_CREDIT_NOTE;
    int sign = inv_doc_sign(d);
    char buf[256];

    s_start(u, credit ? "CreditNote" : "Invoice");
    s_attr(u, "xmlns", credit ? NS_CREDIT : NS_INVOICE);
    s_attr(u, "xmlns:cac", NS_CAC);
    s_attr(u, "xmlns:cbc", NS_CBC);
    s_el(u, "cbc:CustomizationID", CUSTOMIZATION);
    s_el(u, "cbc:ProfileID", PROFILE);
    s_el(u, "cbc:ID", d->number);
    s_date(u, "cbc:IssueDate", d->issue_date);
    if (credit) {
        s_date(u, "cbc:TaxPointDate", d->tax_point);
        s_el(u, "cbc:CreditNoteTypeCode", "381");
    } else {
        s_date(u, "cbc:DueDate", d->due_date);
        s_el(u, "cbc:InvoiceTypeCode", "380");
    }
    snprintf(buf, sizeof buf, "Billing period %s", d->period);
    s_el(u, "cbc:Note", buf);
    if (!credit)
        s_date(u, "cbc:TaxPointDate", d->tax_point);
    s_el(u, "cbc:DocumentCurrencyCode", "GBP");
    s_el(u, "cbc:BuyerReference", d->employer);

    /* The document period spans every line's period, so that late lines
     * of earlier periods stay inside it (PEPPOL-EN16931-R110/R111). */
    int32_t first = d->period_first, last = d->period_last;
    for (size_t i = 0; i < d->n_lines; i++) {
        if (inv_line_first(&d->lines[i]) < first)
            first = inv_line_first(&d->lines[i]);
        if (inv_line_last(&d->lines[i]) > last)
            last = inv_line_last(&d->lines[i]);
    }
    s_start(u, "cac:InvoicePeriod");
    s_date(u, "cbc:StartDate", first);
    s_date(u, "cbc:EndDate", last);
    s_end(u);

    /* Each original invoice this document adjusts, once, in line order. */
    for (size_t i = 0; i < d->n_lines; i++) {
        const char *ref = d->lines[i].ref_number;
        int seen = !ref[0];
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(d->lines[j].ref_number, ref) == 0;
        if (seen)
            continue;
        s_start(u, "cac:BillingReference");
        s_start(u, "cac:InvoiceDocumentReference");
        s_el(u, "cbc:ID", ref);
        s_end(u);
        s_end(u);
    }

    s_party(u, "cac:AccountingSupplierParty", &d->supplier);
    s_party(u, "cac:AccountingCustomerParty", &d->customer);

    if (!credit)
        s_payment_means(u, d);

    s_start(u, "cac:PaymentTerms");
    if (credit) {
        snprintf(buf, sizeof buf, "Credit to account %s", d->employer);
    } else {
        char due[CIVIL_DATE_LEN];
        civil_format_date(d->due_date, due);
        snprintf(buf, sizeof buf, "Payment due within %u days, by %s", d->terms_days, due);
    }
    s_el(u, "cbc:Note", buf);
    s_end(u);

    s_start(u, "cac:TaxTotal");
    s_amount(u, "cbc:TaxAmount", sign * d->vat_total);
    for (int j = 0; j < d->n_rates; j++) {
        s_start(u, "cac:TaxSubtotal");
        s_amount(u, "cbc:TaxableAmount", sign * d->rates[j].net);
        s_amount(u, "cbc:TaxAmount", sign * d->rates[j].vat);
        s_tax_category(u, "cac:TaxCategory", d->rates[j].vat_bp);
        s_end(u);
    }
    s_end(u);

    s_start(u, "cac:LegalMonetaryTotal");
    s_amount(u, "cbc:LineExtensionAmount", sign * d->net_total);
    s_amount(u, "cbc:TaxExclusiveAmount", sign * d->net_total);
    s_amount(u, "cbc:TaxInclusiveAmount", sign * d->total);
    s_amount(u, "cbc:PayableAmount", sign * d->total);
    s_end(u);

    for (size_t i = 0; i < d->n_lines; i++)
        s_line(u, d, i, credit);
    s_end(u);
}

int inv_ubl_addressable(const inv_doc_t *doc)
{
    char scheme[INV_PEPPOL_SCHEME_LEN], id[sizeof doc->customer.endpoint_id];
    const inv_party_t *c = &doc->customer, *s = &doc->supplier;
    return inv_peppol_address(c->endpoint_scheme, c->endpoint_id, c->vat, scheme,
                              sizeof scheme, id, sizeof id) == 0
           && inv_peppol_address(s->endpoint_scheme, s->endpoint_id, s->vat, scheme,
                                 sizeof scheme, id, sizeof id) == 0;
}

int inv_ubl_render(const inv_doc_t *doc, inv_buf_t *out)
{
    if (inv_doc_check(doc) != 0)
        return -1;
    int rc = -1;
    xmlBufferPtr xb = xmlBufferCreate();
    s_ubl_t u = { NULL, 0 };
    if (!xb)
        goto fail;
    u.w = xmlNewTextWriterMemory(xb, 0);
    if (!u.w)
        goto fail;
    xmlTextWriterSetIndent(u.w, 1);
    xmlTextWriterSetIndentString(u.w, X("  "));
    if (xmlTextWriterStartDocument(u.w, "1.0", "UTF-8", NULL) < 0)
        goto fail;
    s_document(&u, doc);
    if (u.err || xmlTextWriterEndDocument(u.w) < 0)
        goto fail;
    xmlFreeTextWriter(u.w);   /* flushes into xb */
    u.w = NULL;
    if (inv_buf_append(out, xmlBufferContent(xb), (size_t)xmlBufferLength(xb)) != 0)
        goto fail;
    rc = 0;
fail:
    if (u.w)
        xmlFreeTextWriter(u.w);
    if (xb)
        xmlBufferFree(xb);
    return rc;
}
