/* inv_doc_test: the three renderers on documents built by hand.
 *
 * - Rendering twice gives identical bytes (PDF, CSV, UBL).
 * - PDF: pdftotext finds the number, the tax point, both VAT numbers, every
 *   line's net and the total, and no prisoner number.
 * - UBL: every invoice and credit note validates against the OASIS UBL 2.1
 *   schemas with xmllint, and meets the EN 16931 / Peppol BIS 3.0 rules
 *   that apply to these documents (checked here with XPath): electronic
 *   addresses with a scheme from the Peppol list, the VAT category per rate,
 *   the sums (line nets = total net, net + VAT = payable), line net =
 *   quantity x price / base quantity within 2p, no empty elements.
 *   Also: PaymentMeans (code 30, the document number as PaymentID, the
 *   supplier's account) on invoices, each line's InvoicePeriod inside the
 *   document's (R110/R111), GLN check digits for scheme 0088 (R040).
 * - PDF: the bank details and the reference to quote; each line's dates.
 * - Lines whose terms row starts or ends inside the period carry those
 *   dates and say so; a customer with no electronic address gets no UBL.
 * - CSV: the invoice-lines header, RFC 4180 quoting, and columns adding up.
 *
 * The tools and the schema folder come from the environment that meson
 * sets (INV_PDFTOTEXT, INV_XMLLINT, INV_UBL_XSD_DIR). */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "civil.h"
#include "inv_doc.h"
#include "inv_peppol.h"
#include "money.h"
#include "tap.h"

static char s_tmpdir[] = "/tmp/inv_doc_test.XXXXXX";

static int32_t D(const char *s)
{
    int32_t d = 0;
    if (civil_parse_date(s, &d) != 0)
        abort();
    return d;
}

static void s_party(inv_party_t *p, const char *name, const char *addr, const char *pc,
                    const char *vat, const char *email)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->address, sizeof p->address, "%s", addr);
    snprintf(p->postcode, sizeof p->postcode, "%s", pc);
    snprintf(p->vat, sizeof p->vat, "%s", vat);
    snprintf(p->email, sizeof p->email, "%s", email);
}

static inv_line_t s_line(inv_line_kind_t kind, const char *contract, const char *prison,
                         inv_period_kind_t pk, const char *day, const char *ref,
                         inv_basis_t basis, int64_t minutes, int64_t units, int64_t charge,
                         uint32_t bp)
{
    inv_line_t l;
    inv_period_t p;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    snprintf(l.contract, sizeof l.contract, "%s", contract);
    snprintf(l.prison, sizeof l.prison, "%s", prison);
    inv_period_of(pk, D(day), &p);
    snprintf(l.period, sizeof l.period, "%s", p.text);
    l.period_first = p.first;
    l.period_last = p.last;
    snprintf(l.ref_number, sizeof l.ref_number, "%s", ref);
    l.basis = basis;
    l.minutes = minutes;
    l.units = units;
    l.charge = charge;
    l.vat_bp = bp;
    l.net = inv_line_net(basis, charge, minutes, units);
    return l;
}

static void s_doc(inv_doc_t *d, const char *number, inv_period_kind_t pk, const char *day,
                  const char *issue, const inv_line_t *lines, size_t n, int customer_vat)
{
    inv_period_t p;
    memset(d, 0, sizeof *d);
    inv_period_of(pk, D(day), &p);
    snprintf(d->number, sizeof d->number, "%s", number);
    snprintf(d->employer, sizeof d->employer, "dhl");
    snprintf(d->period, sizeof d->period, "%s", p.text);
    d->period_first = p.first;
    d->period_last = p.last;
    d->issue_date = D(issue);
    d->tax_point = inv_tax_point(&p);
    d->terms_days = 30;
    d->due_date = inv_due_date(d->issue_date, 30);
    s_party(&d->supplier, "Prison Industries Trading Unit",
            "102 Petty France, London", "SW1H 9AJ", "GB123456789", "billing@industries.example");
    snprintf(d->supplier.bank_account_name, sizeof d->supplier.bank_account_name,
             "Prison Industries Trading Unit");
    snprintf(d->supplier.sort_code, sizeof d->supplier.sort_code, "200000");
    snprintf(d->supplier.account_number, sizeof d->supplier.account_number, "31926819");
    s_party(&d->customer, "DHL Supply Chain Ltd", "Ocean House, The Ring\nBracknell",
            "RG12 1AW", customer_vat ? "GB987654321" : "", "ap@dhl.example");
    if (!customer_vat) {
        snprintf(d->customer.endpoint_scheme, sizeof d->customer.endpoint_scheme, "0060");
        snprintf(d->customer.endpoint_id, sizeof d->customer.endpoint_id, "123456789");
    }
    d->lines = lines;
    d->n_lines = n;
    inv_doc_finish(d);
}

/* ---- helpers: files and tools -------------------------------------- */

static int s_write_file(const char *path, const inv_buf_t *b)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(b->data, 1, b->len, f);
    return fclose(f) == 0 && w == b->len ? 0 : -1;
}

/* Runs argv with stdout to `out_path` (or /dev/null) and stderr to a log.
 * Returns the exit status, or -1. */
static int s_run(char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        FILE *o = freopen(out_path ? out_path : "/dev/null", "w", stdout);
        (void)o;
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

static int s_has_prisoner_number(const char *text)
{
    regex_t re;
    if (regcomp(&re, "[A-Z][0-9]{4}[A-Z]{2}", REG_EXTENDED | REG_NOSUB) != 0)
        return 1;
    int found = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return found;
}

/* "£1,234.56" as the PDF prints it: computed here independently. */
static void s_gbp(int64_t pence, char *out, size_t outlen)
{
    int64_t a = pence < 0 ? -pence : pence;
    char digits[32], grouped[48];
    snprintf(digits, sizeof digits, "%lld", (long long)(a / 100));
    size_t n = strlen(digits), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            grouped[k++] = ',';
        grouped[k++] = digits[i];
    }
    grouped[k] = 0;
    snprintf(out, outlen, "%s\xc2\xa3%s.%02lld", pence < 0 ? "-" : "", grouped,
             (long long)(a % 100));
}

/* ---- determinism ---------------------------------------------------- */

typedef int (render_fn)(const inv_doc_t *, inv_buf_t *);

static void check_deterministic(const inv_doc_t *d, render_fn *fn, const char *what)
{
    inv_buf_t a = { 0 }, b = { 0 };
    int ra = fn(d, &a), rb = fn(d, &b);
    TAP_OK(ra == 0 && rb == 0 && a.len > 0, "%s %s renders", d->number, what);
    TAP_OK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
           "%s %s: rendering twice gives identical bytes (%zu)", d->number, what, a.len);
    inv_buf_free(&a);
    inv_buf_free(&b);
}

/* ---- PDF ------------------------------------------------------------ */

static void check_pdf(const inv_doc_t *d)
{
    inv_buf_t pdf = { 0 };
    char pdf_path[256], txt_path[256], buf[64];
    snprintf(pdf_path, sizeof pdf_path, "%s/%s.pdf", s_tmpdir, d->number);
    snprintf(txt_path, sizeof txt_path, "%s/%s.txt", s_tmpdir, d->number);
    TAP_EQ_INT(inv_pdf_render(d, &pdf), 0, "%s: PDF renders", d->number);
    TAP_OK(pdf.len > 4 && memcmp(pdf.data, "%PDF", 4) == 0, "%s: is a PDF", d->number);
    s_write_file(pdf_path, &pdf);
    inv_buf_free(&pdf);
    char *argv[] = { getenv("INV_PDFTOTEXT"), "-enc", "UTF-8", pdf_path, txt_path, NULL };
    TAP_EQ_INT(argv[0] ? s_run(argv, NULL) : -1, 0, "%s: pdftotext runs", d->number);
    char *text = s_slurp(txt_path);
    TAP_OK(text != NULL, "%s: text extracted", d->number);
    if (!text)
        return;
    int sign = inv_doc_sign(d);
    TAP_OK(strstr(text, d->number) != NULL, "%s: PDF shows the number", d->number);
    civil_format_date(d->tax_point, buf);
    TAP_OK(strstr(text, "Tax point") && strstr(text, buf), "%s: PDF shows tax point %s",
           d->number, buf);
    civil_format_date(d->issue_date, buf);
    TAP_OK(strstr(text, buf) != NULL, "%s: PDF shows date of issue %s", d->number, buf);
    TAP_OK(strstr(text, d->supplier.vat) != NULL, "%s: PDF shows supplier VAT %s",
           d->number, d->supplier.vat);
    if (d->customer.vat[0])
        TAP_OK(strstr(text, d->customer.vat) != NULL, "%s: PDF shows customer VAT %s",
               d->number, d->customer.vat);
    TAP_OK(strstr(text, d->supplier.name) && strstr(text, d->customer.name),
           "%s: PDF shows both names", d->number);
    TAP_OK(strstr(text, d->supplier.postcode) && strstr(text, d->customer.postcode),
           "%s: PDF shows both addresses", d->number);
    int missing = 0;
    for (size_t i = 0; i < d->n_lines; i++) {
        s_gbp(sign * d->lines[i].net, buf, sizeof buf);
        if (!strstr(text, buf)) {
            missing++;
            TAP_NOTE("line %zu net %s not found", i + 1, buf);
        }
        if (!strstr(text, d->lines[i].contract))
            missing++;
    }
    TAP_EQ_INT(missing, 0, "%s: PDF shows every line's net and contract (%zu lines)",
               d->number, d->n_lines);
    s_gbp(sign * d->total, buf, sizeof buf);
    TAP_OK(strstr(text, buf) != NULL, "%s: PDF shows the total %s", d->number, buf);
    s_gbp(sign * d->vat_total, buf, sizeof buf);
    TAP_OK(strstr(text, buf) != NULL, "%s: PDF shows the VAT total %s", d->number, buf);
    if (d->kind == INV_KIND_INVOICE) {
        int ok = strstr(text, "How to pay") && strstr(text, "Payment reference")
                 && strstr(text, d->supplier.bank_account_name);
        if (d->supplier.sort_code[0]) {
            char sc[16];
            snprintf(sc, sizeof sc, "%.2s-%.2s-%.2s", d->supplier.sort_code,
                     d->supplier.sort_code + 2, d->supplier.sort_code + 4);
            ok = ok && strstr(text, sc) && strstr(text, d->supplier.account_number);
        }
        if (d->supplier.iban[0])
            ok = ok && strstr(text, d->supplier.iban);
        snprintf(buf, sizeof buf, "quoting the payment reference %s", d->number);
        TAP_OK(ok && strstr(text, buf), "%s: PDF says how to pay and the reference to quote",
               d->number);
    }
    int no_dates = 0;
    for (size_t i = 0; i < d->n_lines; i++) {
        char a[CIVIL_DATE_LEN], b[CIVIL_DATE_LEN];
        civil_format_date(inv_line_first(&d->lines[i]), a);
        civil_format_date(inv_line_last(&d->lines[i]), b);
        snprintf(buf, sizeof buf, "%s to %s", a, b);
        if (!strstr(text, buf))
            no_dates++;
    }
    TAP_EQ_INT(no_dates, 0, "%s: PDF shows each line's first and last day", d->number);
    TAP_OK(!s_has_prisoner_number(text), "%s: PDF has no prisoner number", d->number);
    free(text);
}

/* The GS1 check digit, computed here as PEPPOL-COMMON-R040 does. */
static int s_gln_ok(const char *id)
{
    size_t n = strlen(id);
    int sum = 0;
    if (n < 2 || strspn(id, "0123456789") != n)
        return 0;
    for (size_t i = 0; i + 1 < n; i++)
        sum += (id[n - 2 - i] - '0') * (i % 2 == 0 ? 3 : 1);
    return (10 - sum % 10) % 10 == id[n - 1] - '0';
}

/* ---- UBL ------------------------------------------------------------ */

static xmlXPathObjectPtr s_xp(xmlXPathContextPtr ctx, const char *expr)
{
    return xmlXPathEvalExpression((const xmlChar *)expr, ctx);
}

static char *s_xs(xmlXPathContextPtr ctx, const char *expr)
{
    xmlXPathObjectPtr o = s_xp(ctx, expr);
    char *s = o ? (char *)xmlXPathCastToString(o) : NULL;
    xmlXPathFreeObject(o);
    return s;
}

static int s_count(xmlXPathContextPtr ctx, const char *expr)
{
    xmlXPathObjectPtr o = s_xp(ctx, expr);
    int n = o && o->nodesetval ? o->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(o);
    return n;
}

/* An amount at `expr` in pence; INT64_MIN if absent or not exact. */
static int64_t s_pence(xmlXPathContextPtr ctx, const char *expr)
{
    char *s = s_xs(ctx, expr);
    int64_t p = INT64_MIN;
    if (!s || money_parse(s, 1, &p) != 0)
        p = INT64_MIN;
    xmlFree(s);
    return p;
}

static int64_t s_node_pence(xmlNodePtr n)
{
    xmlChar *s = xmlNodeGetContent(n);
    int64_t p = INT64_MIN;
    if (!s || money_parse((char *)s, 1, &p) != 0)
        p = INT64_MIN;
    xmlFree(s);
    return p;
}

static int s_in_eas(const char *scheme)
{
    /* The codes this service can emit, all on Peppol's EAS list. */
    static const char *eas[] = { "0060", "0088", "0192", "9932", NULL };
    for (int i = 0; eas[i]; i++)
        if (scheme && strcmp(scheme, eas[i]) == 0)
            return 1;
    return 0;
}

static void check_ubl_rules(const inv_doc_t *d, const inv_buf_t *xml)
{
    int credit = d->kind == INV_KIND_CREDIT_NOTE;
    const char *num = d->number;
    xmlDocPtr doc = xmlReadMemory((const char *)xml->data, (int)xml->len, "ubl.xml", NULL,
                                  XML_PARSE_NONET);
    TAP_OK(doc != NULL, "%s: UBL parses", num);
    if (!doc)
        return;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, (const xmlChar *)"cac",
        (const xmlChar *)"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2");
    xmlXPathRegisterNs(ctx, (const xmlChar *)"cbc",
        (const xmlChar *)"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2");
    xmlXPathRegisterNs(ctx, (const xmlChar *)"inv",
        (const xmlChar *)"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2");
    xmlXPathRegisterNs(ctx, (const xmlChar *)"cn",
        (const xmlChar *)"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2");
    const char *root = credit ? "/cn:CreditNote" : "/inv:Invoice";
    const char *line_el = credit ? "cac:CreditNoteLine" : "cac:InvoiceLine";
    const char *qty_el = credit ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity";
    char q[512];
    char *s;

    TAP_EQ_INT(s_count(ctx, root), 1, "%s: root is %s", num, credit ? "CreditNote" : "Invoice");
    snprintf(q, sizeof q, "string(%s/cbc:CustomizationID)", root);
    s = s_xs(ctx, q);
    TAP_EQ_STR(s, "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
               "%s: CustomizationID (PEPPOL-EN16931-R004)", num);
    xmlFree(s);
    snprintf(q, sizeof q, "string(%s/cbc:ProfileID)", root);
    s = s_xs(ctx, q);
    TAP_EQ_STR(s, "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0", "%s: ProfileID (R001, R007)", num);
    xmlFree(s);
    snprintf(q, sizeof q, "string(%s/%s)", root, credit ? "cbc:CreditNoteTypeCode" : "cbc:InvoiceTypeCode");
    s = s_xs(ctx, q);
    TAP_EQ_STR(s, credit ? "381" : "380", "%s: type code (P0100/P0101)", num);
    xmlFree(s);
    snprintf(q, sizeof q, "%s/cbc:BuyerReference", root);
    TAP_EQ_INT(s_count(ctx, q), 1, "%s: buyer reference (PEPPOL-EN16931-R003)", num);
    snprintf(q, sizeof q, "%s/cbc:Note", root);
    TAP_OK(s_count(ctx, q) <= 1, "%s: at most one document note (R002)", num);
    TAP_EQ_INT(s_count(ctx, "//*[not(*) and not(normalize-space())]"), 0,
               "%s: no empty elements (R008)", num);
    TAP_EQ_INT(s_count(ctx, "//*[@currencyID and @currencyID != 'GBP']"), 0,
               "%s: every amount in GBP (R051)", num);
    snprintf(q, sizeof q, "%s/cbc:TaxPointDate", root);
    s = s_xs(ctx, q);
    char tp[CIVIL_DATE_LEN];
    civil_format_date(d->tax_point, tp);
    TAP_EQ_STR(s, tp, "%s: tax point date", num);
    xmlFree(s);

    /* Electronic addresses (R010, R020, BR-62/BR-63, CL008). */
    const char *parties[] = { "cac:AccountingSupplierParty", "cac:AccountingCustomerParty" };
    for (int i = 0; i < 2; i++) {
        snprintf(q, sizeof q, "string(%s/%s/cac:Party/cbc:EndpointID/@schemeID)", root, parties[i]);
        char *scheme = s_xs(ctx, q);
        snprintf(q, sizeof q, "string(%s/%s/cac:Party/cbc:EndpointID)", root, parties[i]);
        char *id = s_xs(ctx, q);
        TAP_OK(id && id[0] && s_in_eas(scheme),
               "%s: %s electronic address %s:%s with a Peppol EAS scheme", num, parties[i],
               scheme ? scheme : "", id ? id : "");
        if (scheme && strcmp(scheme, "0088") == 0)
            TAP_OK(s_gln_ok(id), "%s: %s GLN %s has a valid check digit (R040)", num,
                   parties[i], id);
        snprintf(q, sizeof q, "string(%s/%s/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName)",
                 root, parties[i]);
        char *name = s_xs(ctx, q);
        TAP_OK(name && name[0], "%s: %s legal name (BR-6/BR-7)", num, parties[i]);
        snprintf(q, sizeof q, "string(%s/%s/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode)",
                 root, parties[i]);
        char *cc = s_xs(ctx, q);
        TAP_EQ_STR(cc, "GB", "%s: %s country code (BR-9/BR-11)", num, parties[i]);
        xmlFree(scheme);
        xmlFree(id);
        xmlFree(name);
        xmlFree(cc);
    }
    snprintf(q, sizeof q, "string(%s/cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme"
             "[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID)", root);
    s = s_xs(ctx, q);
    TAP_EQ_STR(s, d->supplier.vat, "%s: seller VAT identifier (BR-S-02/BR-Z-02)", num);
    xmlFree(s);

    /* How to pay (BR-49, BR-50, BR-61): an invoice says credit transfer to
     * the supplier's account, quoting its number; a credit note is not paid. */
    snprintf(q, sizeof q, "%s/cac:PaymentMeans", root);
    TAP_EQ_INT(s_count(ctx, q), credit ? 0 : 1, "%s: %s", num,
               credit ? "no PaymentMeans on a credit note" : "one PaymentMeans");
    if (!credit) {
        snprintf(q, sizeof q, "string(%s/cac:PaymentMeans/cbc:PaymentMeansCode)", root);
        s = s_xs(ctx, q);
        TAP_EQ_STR(s, "30", "%s: payment means code 30, credit transfer (BR-49)", num);
        xmlFree(s);
        snprintf(q, sizeof q, "string(%s/cac:PaymentMeans/cbc:PaymentID)", root);
        s = s_xs(ctx, q);
        TAP_EQ_STR(s, d->number, "%s: remittance reference is the document number", num);
        xmlFree(s);
        char want[64];
        if (d->supplier.iban[0])
            snprintf(want, sizeof want, "%s", d->supplier.iban);
        else
            snprintf(want, sizeof want, "%s%s", d->supplier.sort_code, d->supplier.account_number);
        snprintf(q, sizeof q, "string(%s/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID)", root);
        s = s_xs(ctx, q);
        TAP_EQ_STR(s, want, "%s: payment account identifier (BR-50, BR-61)", num);
        xmlFree(s);
        snprintf(q, sizeof q, "string(%s/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:Name)", root);
        s = s_xs(ctx, q);
        TAP_EQ_STR(s, d->supplier.bank_account_name, "%s: payment account name (BT-85)", num);
        xmlFree(s);
    }

    /* Line periods inside the document's (PEPPOL-EN16931-R110/R111), each
     * the days its line covers. */
    snprintf(q, sizeof q, "string(%s/cac:InvoicePeriod/cbc:StartDate)", root);
    char *dstart = s_xs(ctx, q);
    snprintf(q, sizeof q, "string(%s/cac:InvoicePeriod/cbc:EndDate)", root);
    char *dend = s_xs(ctx, q);
    int bad_period = 0;
    for (size_t i = 0; i < d->n_lines; i++) {
        char a[CIVIL_DATE_LEN], b[CIVIL_DATE_LEN];
        civil_format_date(inv_line_first(&d->lines[i]), a);
        civil_format_date(inv_line_last(&d->lines[i]), b);
        snprintf(q, sizeof q, "string(%s/%s[%zu]/cac:InvoicePeriod/cbc:StartDate)", root, line_el, i + 1);
        char *ls = s_xs(ctx, q);
        snprintf(q, sizeof q, "string(%s/%s[%zu]/cac:InvoicePeriod/cbc:EndDate)", root, line_el, i + 1);
        char *le = s_xs(ctx, q);
        if (!ls || !le || strcmp(ls, a) != 0 || strcmp(le, b) != 0 || !dstart || !dend
            || strcmp(ls, dstart) < 0 || strcmp(le, dend) > 0)
            bad_period++;
        xmlFree(ls);
        xmlFree(le);
    }
    xmlFree(dstart);
    xmlFree(dend);
    TAP_EQ_INT(bad_period, 0, "%s: each line's period is its days, inside the document's (R110/R111)", num);

    /* Lines: VAT category per rate (BR-S-05, BR-Z-05), R120, sums. */
    snprintf(q, sizeof q, "%s/%s", root, line_el);
    xmlXPathObjectPtr lines = s_xp(ctx, q);
    int nl = lines && lines->nodesetval ? lines->nodesetval->nodeNr : 0;
    TAP_EQ_INT(nl, (int)d->n_lines, "%s: one UBL line per line (BR-16)", num);
    int64_t sum_lines = 0;
    int bad_cat = 0, bad_r120 = 0, bad_neg_price = 0;
    for (int i = 0; i < nl; i++) {
        xmlNodePtr ln = lines->nodesetval->nodeTab[i];
        xmlXPathSetContextNode(ln, ctx);
        int64_t net = s_pence(ctx, "string(cbc:LineExtensionAmount)");
        int64_t price = s_pence(ctx, "string(cac:Price/cbc:PriceAmount)");
        snprintf(q, sizeof q, "number(%s)", qty_el);
        xmlXPathObjectPtr qo = s_xp(ctx, q);
        long long qty = qo ? (long long)xmlXPathCastToNumber(qo) : 0;
        xmlXPathFreeObject(qo);
        qo = s_xp(ctx, "number(cac:Price/cbc:BaseQuantity)");
        long long base = qo ? (long long)xmlXPathCastToNumber(qo) : 1;
        xmlXPathFreeObject(qo);
        /* |net - qty * price / base| <= 0.02, in pence times base */
        long long diff = (long long)net * base - qty * (long long)price;
        if (diff < 0)
            diff = -diff;
        if (diff > 2 * base)
            bad_r120++;
        if (price < 0)
            bad_neg_price++;
        sum_lines += net;
        char *cat = s_xs(ctx, "string(cac:Item/cac:ClassifiedTaxCategory/cbc:ID)");
        char *pct = s_xs(ctx, "string(cac:Item/cac:ClassifiedTaxCategory/cbc:Percent)");
        double p = pct ? atof(pct) : -1;
        if (!cat || !((strcmp(cat, "S") == 0 && p > 0) || (strcmp(cat, "Z") == 0 && p == 0)))
            bad_cat++;
        xmlFree(cat);
        xmlFree(pct);
    }
    xmlXPathFreeObject(lines);
    xmlXPathSetContextNode(xmlDocGetRootElement(doc), ctx);
    TAP_EQ_INT(bad_cat, 0, "%s: each line's VAT category is S with a rate or Z at 0 (BR-S-05/BR-Z-05)", num);
    TAP_EQ_INT(bad_r120, 0, "%s: line net = quantity x price / base quantity within 0.02 (R120)", num);
    TAP_EQ_INT(bad_neg_price, 0, "%s: no negative item price (BR-27)", num);

    snprintf(q, sizeof q, "string(%s/cac:LegalMonetaryTotal/cbc:LineExtensionAmount)", root);
    int64_t lext = s_pence(ctx, q);
    snprintf(q, sizeof q, "string(%s/cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount)", root);
    int64_t excl = s_pence(ctx, q);
    snprintf(q, sizeof q, "string(%s/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount)", root);
    int64_t incl = s_pence(ctx, q);
    snprintf(q, sizeof q, "string(%s/cac:LegalMonetaryTotal/cbc:PayableAmount)", root);
    int64_t payable = s_pence(ctx, q);
    snprintf(q, sizeof q, "string(%s/cac:TaxTotal/cbc:TaxAmount)", root);
    int64_t tax = s_pence(ctx, q);
    TAP_EQ_INT(sum_lines, lext, "%s: sum of line nets = total net (BR-CO-10)", num);
    TAP_EQ_INT(excl, lext, "%s: total without VAT = line total, no allowances (BR-CO-13)", num);
    TAP_EQ_INT(incl, excl + tax, "%s: net + VAT = total with VAT (BR-CO-15)", num);
    TAP_EQ_INT(payable, incl, "%s: amount payable = total with VAT (BR-CO-16)", num);
    TAP_EQ_INT(payable, inv_doc_sign(d) * d->total, "%s: payable is the document total", num);
    TAP_OK(!credit || payable > 0, "%s: a credit note credits a positive amount", num);

    /* Tax breakdown: one subtotal per rate, category by rate, taxable = sum
     * of the line nets at that rate (BR-S-08/BR-Z-08), VAT = taxable x rate
     * (BR-S-09, BR-Z-10), the subtotals add up (BR-CO-14). */
    snprintf(q, sizeof q, "%s/cac:TaxTotal", root);
    TAP_EQ_INT(s_count(ctx, q), 1, "%s: one tax total with subtotals (R053)", num);
    snprintf(q, sizeof q, "%s/cac:TaxTotal/cac:TaxSubtotal", root);
    xmlXPathObjectPtr subs = s_xp(ctx, q);
    int ns = subs && subs->nodesetval ? subs->nodesetval->nodeNr : 0;
    TAP_EQ_INT(ns, d->n_rates, "%s: one tax subtotal per VAT rate", num);
    int64_t sum_tax = 0;
    int bad_sub = 0;
    for (int i = 0; i < ns; i++) {
        xmlXPathSetContextNode(subs->nodesetval->nodeTab[i], ctx);
        int64_t taxable = s_pence(ctx, "string(cbc:TaxableAmount)");
        int64_t vat = s_pence(ctx, "string(cbc:TaxAmount)");
        char *cat = s_xs(ctx, "string(cac:TaxCategory/cbc:ID)");
        char *pct = s_xs(ctx, "string(cac:TaxCategory/cbc:Percent)");
        /* percent as basis points, parsed exactly */
        int64_t bp100 = -1;
        if (pct && money_parse(pct, 0, &bp100) != 0)
            bp100 = -1;
        sum_tax += vat;
        int64_t want = (taxable < 0 ? -1 : 1) *
            (((taxable < 0 ? -taxable : taxable) * bp100 + 5000) / 10000);
        if (bp100 < 0 || vat != want)
            bad_sub++;
        if (!cat || (bp100 > 0 && strcmp(cat, "S") != 0) || (bp100 == 0 && strcmp(cat, "Z") != 0))
            bad_sub++;
        if (bp100 == 0 && vat != 0)
            bad_sub++;
        /* the lines at this category and rate add up to the taxable amount */
        xmlXPathSetContextNode(xmlDocGetRootElement(doc), ctx);
        snprintf(q, sizeof q, "%s/%s[cac:Item/cac:ClassifiedTaxCategory/cbc:ID='%s' and "
                 "number(cac:Item/cac:ClassifiedTaxCategory/cbc:Percent) = %s]/cbc:LineExtensionAmount",
                 root, line_el, cat ? cat : "", pct ? pct : "-1");
        xmlXPathObjectPtr at = s_xp(ctx, q);
        int64_t sum_at = 0;
        for (int k = 0; at && at->nodesetval && k < at->nodesetval->nodeNr; k++)
            sum_at += s_node_pence(at->nodesetval->nodeTab[k]);
        xmlXPathFreeObject(at);
        if (sum_at != taxable)
            bad_sub++;
        xmlFree(cat);
        xmlFree(pct);
    }
    xmlXPathFreeObject(subs);
    xmlXPathSetContextNode(xmlDocGetRootElement(doc), ctx);
    TAP_EQ_INT(bad_sub, 0, "%s: per-rate category, taxable = sum of line nets, VAT = taxable x rate", num);
    TAP_EQ_INT(sum_tax, tax, "%s: VAT total = sum of subtotals (BR-CO-14)", num);
    TAP_OK(!s_has_prisoner_number((const char *)xml->data), "%s: UBL has no prisoner number", num);

    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
}

static void check_ubl(const inv_doc_t *d)
{
    inv_buf_t xml = { 0 };
    char path[256], xsd[512];
    const char *dir = getenv("INV_UBL_XSD_DIR");
    int credit = d->kind == INV_KIND_CREDIT_NOTE;
    TAP_EQ_INT(inv_ubl_render(d, &xml), 0, "%s: UBL renders", d->number);
    snprintf(path, sizeof path, "%s/%s.xml", s_tmpdir, d->number);
    s_write_file(path, &xml);
    snprintf(xsd, sizeof xsd, "%s/maindoc/UBL-%s-2.1.xsd", dir ? dir : ".",
             credit ? "CreditNote" : "Invoice");
    TAP_OK(dir && access(xsd, R_OK) == 0, "UBL schema found at %s", xsd);
    char *argv[] = { getenv("INV_XMLLINT"), "--noout", "--nonet", "--schema", xsd, path, NULL };
    TAP_EQ_INT(argv[0] ? s_run(argv, NULL) : -1, 0, "%s: validates against %s", d->number,
               credit ? "UBL-CreditNote-2.1.xsd" : "UBL-Invoice-2.1.xsd");
    check_ubl_rules(d, &xml);
    inv_buf_free(&xml);
}

/* ---- CSV ------------------------------------------------------------ */

static void check_csv(const inv_doc_t *d)
{
    inv_buf_t csv = { 0 };
    TAP_EQ_INT(inv_csv_render(d, &csv), 0, "%s: CSV renders", d->number);
    const char *t = (const char *)csv.data;
    const char *hdr = "invoice,line,contract,period,period_start,period_end,original_invoice,"
                      "description,quantity,unit,unit_price,net,vat_rate_bp,vat\r\n";
    TAP_OK(t && strncmp(t, hdr, strlen(hdr)) == 0, "%s: CSV header as FORMATS.md", d->number);
    /* Parse the rows back (RFC 4180) and add up net and vat. */
    int rows = 0, bad = 0, bad_cols = 0;
    int64_t sum_net = 0, sum_vat = 0;
    const char *p = t + strlen(hdr);
    while (p && *p) {
        char fields[14][256];
        int nf = 0;
        while (nf < 14) {
            size_t k = 0;
            if (*p == '"') {
                p++;
                while (*p && !(*p == '"' && p[1] != '"')) {
                    if (*p == '"')
                        p++;
                    if (k < 255)
                        fields[nf][k++] = *p;
                    p++;
                }
                if (*p == '"')
                    p++;
            } else {
                while (*p && *p != ',' && *p != '\r')
                    if (k < 255)
                        fields[nf][k++] = *p++;
            }
            fields[nf][k] = 0;
            nf++;
            if (*p == ',') {
                p++;
                continue;
            }
            break;
        }
        if (strncmp(p, "\r\n", 2) != 0)
            bad++;
        p = strncmp(p, "\r\n", 2) == 0 ? p + 2 : NULL;
        if (nf != 14) {
            bad++;
            continue;
        }
        const inv_line_t *l = rows < (int)d->n_lines ? &d->lines[rows] : NULL;
        rows++;
        int64_t net, vat;
        int32_t ps, pe;
        if (strcmp(fields[0], d->number) != 0 || money_parse(fields[11], 1, &net) != 0
            || money_parse(fields[13], 1, &vat) != 0)
            bad++;
        else {
            sum_net += net;
            sum_vat += vat;
        }
        if (!l || civil_parse_date(fields[4], &ps) != 0 || civil_parse_date(fields[5], &pe) != 0
            || ps != inv_line_first(l) || pe != inv_line_last(l)
            || strcmp(fields[9], l->basis == INV_BASIS_UNIT ? "UNIT" : "HOURLY") != 0
            || strcmp(fields[6], l->kind == INV_LINE_ADJUSTMENT ? l->ref_number : "") != 0
            || strcmp(fields[3], l->period) != 0)
            bad_cols++;
    }
    TAP_EQ_INT(bad_cols, 0, "%s: CSV period, dates, original invoice and unit columns", d->number);
    TAP_EQ_INT(bad, 0, "%s: CSV rows parse (14 fields, CRLF)", d->number);
    TAP_EQ_INT(rows, (int)d->n_lines, "%s: one CSV row per line", d->number);
    TAP_EQ_INT(sum_net, d->net_total, "%s: CSV nets add up to the total net", d->number);
    TAP_EQ_INT(sum_vat, d->vat_total, "%s: CSV VAT adds up to the VAT total", d->number);
    TAP_OK(t && !s_has_prisoner_number(t), "%s: CSV has no prisoner number", d->number);
    inv_buf_free(&csv);
}

static void check_all(const inv_doc_t *d)
{
    check_deterministic(d, inv_pdf_render, "PDF");
    check_deterministic(d, inv_csv_render, "CSV");
    check_deterministic(d, inv_ubl_render, "UBL");
    check_pdf(d);
    check_ubl(d);
    check_csv(d);
}

int main(void)
{
    if (!mkdtemp(s_tmpdir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }

    /* 1. A monthly invoice with mixed VAT rates, a late line from an
     *    earlier month and a negative adjustment naming its invoice. */
    inv_line_t a[] = {
        s_line(INV_LINE_PERIOD, "C-0042", "MDI", INV_PERIOD_MONTHLY, "2026-11-10", "",
               INV_BASIS_HOURLY, 20 + 20 + 20, 0, 101, 2000),
        s_line(INV_LINE_PERIOD, "C-0043", "LEI", INV_PERIOD_MONTHLY, "2026-11-10", "",
               INV_BASIS_HOURLY, 125650, 0, 1250, 2000),
        s_line(INV_LINE_PERIOD, "C-0050", "PVI", INV_PERIOD_MONTHLY, "2026-11-10", "",
               INV_BASIS_UNIT, 0, 1200, 25, 500),
        s_line(INV_LINE_PERIOD, "C-0051", "BXI", INV_PERIOD_MONTHLY, "2026-11-10", "",
               INV_BASIS_HOURLY, 50, 0, 2000, 0),
        s_line(INV_LINE_LATE, "C-0042", "MDI", INV_PERIOD_MONTHLY, "2026-10-10", "INV-000003",
               INV_BASIS_HOURLY, 240, 0, 101, 2000),
        s_line(INV_LINE_ADJUSTMENT, "C-0043", "LEI", INV_PERIOD_MONTHLY, "2026-10-10",
               "INV-000003", INV_BASIS_HOURLY, -180, 0, 1250, 2000),
    };
    snprintf(a[0].activity, sizeof a[0].activity, "Laundry");
    inv_doc_t inv;
    s_doc(&inv, "INV-000007", INV_PERIOD_MONTHLY, "2026-11-10", "2026-12-01", a, 6, 1);
    TAP_EQ_INT(inv.kind, INV_KIND_INVOICE, "mixed-rate document is an invoice");
    TAP_EQ_INT(inv.n_rates, 3, "three VAT rates on one invoice");
    TAP_EQ_INT(a[0].net, 101, "line 1 priced on the sum: 101p");
    check_all(&inv);

    /* 2. A weekly document of voids only: a total below zero becomes a
     *    credit note, with lines shown as credited. */
    inv_line_t b[] = {
        s_line(INV_LINE_ADJUSTMENT, "C-0042", "MDI", INV_PERIOD_WEEKLY, "2026-11-18",
               "INV-000005", INV_BASIS_HOURLY, -600, 0, 1050, 2000),
        s_line(INV_LINE_ADJUSTMENT, "C-0050", "PVI", INV_PERIOD_WEEKLY, "2026-11-18",
               "INV-000006", INV_BASIS_UNIT, 0, -40, 25, 0),
        s_line(INV_LINE_LATE, "C-0042", "MDI", INV_PERIOD_WEEKLY, "2026-11-18",
               "INV-000005", INV_BASIS_HOURLY, 20, 0, 1050, 2000),
    };
    inv_doc_t crn;
    s_doc(&crn, "CRN-000001", INV_PERIOD_WEEKLY, "2026-11-25", "2026-11-30", b, 3, 1);
    TAP_EQ_INT(crn.kind, INV_KIND_CREDIT_NOTE, "negative total becomes a credit note");
    TAP_OK(crn.total < 0, "credit note total is below zero as stored");
    check_all(&crn);

    /* 3. A zero-rated invoice to an employer without a VAT number, whose
     *    Peppol address is registered (DUNS), long enough to need pages. */
    inv_line_t c[120];
    for (int i = 0; i < 120; i++) {
        char id[16];
        snprintf(id, sizeof id, "C-%04d", 100 + i);
        c[i] = s_line(INV_LINE_PERIOD, id, "KMI", INV_PERIOD_WEEKLY, "2026-11-18", "",
                      i % 3 ? INV_BASIS_HOURLY : INV_BASIS_UNIT, 37 * i + 5, i + 1,
                      900 + i, 0);
    }
    inv_doc_t big;
    s_doc(&big, "INV-000008", INV_PERIOD_WEEKLY, "2026-11-18", "2026-11-23", c, 120, 0);
    check_all(&big);

    /* 4. A month whose billing terms change on the 16th: two lines of one
     *    contract, each with the days its terms row covers, saying so. */
    inv_line_t m[] = {
        s_line(INV_LINE_PERIOD, "C-0402", "LEI", INV_PERIOD_MONTHLY, "2026-11-10", "",
               INV_BASIS_HOURLY, 900, 0, 525, 2000),
        s_line(INV_LINE_PERIOD, "C-0402", "LEI", INV_PERIOD_MONTHLY, "2026-11-20", "",
               INV_BASIS_HOURLY, 1200, 0, 560, 2000),
        s_line(INV_LINE_PERIOD, "C-0401", "MDI", INV_PERIOD_MONTHLY, "2026-11-20", "",
               INV_BASIS_UNIT, 0, 300, 12, 2000),
    };
    m[0].start = D("2026-11-01");
    m[0].end = D("2026-11-15");
    m[1].start = D("2026-11-16");
    m[1].end = D("2026-11-30");
    char d0[256], d1[256], d2[256];
    inv_line_description(&m[0], d0, sizeof d0);
    inv_line_description(&m[1], d1, sizeof d1);
    inv_line_description(&m[2], d2, sizeof d2);
    TAP_OK(strcmp(d0, d1) != 0, "two terms rows in a month: two different descriptions");
    TAP_OK(strstr(d0, "2026-11-01 to 2026-11-15 (billing terms until 2026-11-15)") != NULL,
           "a line whose terms end mid-month says so: %s", d0);
    TAP_OK(strstr(d1, "2026-11-16 to 2026-11-30 (billing terms from 2026-11-16)") != NULL,
           "a line whose terms start mid-month says so: %s", d1);
    TAP_OK(!strstr(d2, "billing terms") && !inv_line_is_partial(&m[2]),
           "a line covering the whole month says nothing more: %s", d2);
    TAP_OK(inv_line_first(&m[2]) == D("2026-11-01") && inv_line_last(&m[2]) == D("2026-11-30"),
           "a whole-period line's days are the period's first and last");
    inv_doc_t split;
    s_doc(&split, "INV-000009", INV_PERIOD_MONTHLY, "2026-11-10", "2026-12-01", m, 3, 1);
    check_all(&split);

    /* 5. A supplier paid by IBAN, a customer with a GLN endpoint. */
    inv_doc_t gln;
    s_doc(&gln, "INV-000010", INV_PERIOD_WEEKLY, "2026-11-18", "2026-11-23", c, 3, 1);
    gln.supplier.sort_code[0] = gln.supplier.account_number[0] = '\0';
    snprintf(gln.supplier.iban, sizeof gln.supplier.iban, "GB29NWBK60161331926819");
    snprintf(gln.customer.endpoint_scheme, sizeof gln.customer.endpoint_scheme, "0088");
    snprintf(gln.customer.endpoint_id, sizeof gln.customer.endpoint_id, "5012345678900");
    check_all(&gln);

    /* 6. A customer with neither a Peppol endpoint nor a VAT number: no
     *    electronic address, so no UBL; the PDF and CSV still render. */
    inv_doc_t none;
    s_doc(&none, "INV-000011", INV_PERIOD_WEEKLY, "2026-11-18", "2026-11-23", c, 3, 0);
    none.customer.endpoint_scheme[0] = none.customer.endpoint_id[0] = '\0';
    inv_buf_t nb = { 0 };
    TAP_EQ_INT(inv_ubl_addressable(&none), 0, "no endpoint and no VAT number: not addressable");
    TAP_EQ_INT(inv_ubl_render(&none, &nb), -1, "and the UBL renderer refuses");
    inv_buf_free(&nb);
    TAP_EQ_INT(inv_pdf_render(&none, &nb), 0, "its PDF renders");
    inv_buf_free(&nb);
    TAP_EQ_INT(inv_csv_render(&none, &nb), 0, "its CSV renders");
    inv_buf_free(&nb);
    TAP_EQ_INT(inv_ubl_addressable(&big), 1, "a registered endpoint without VAT is addressable");

    /* 5. Text that XML cannot carry (a control character, a byte that is
     *    not UTF-8) comes out as U+FFFD: the UBL stays well-formed and
     *    valid (found by fuzz_inv_doc). */
    inv_doc_t odd;
    s_doc(&odd, "INV-000009", INV_PERIOD_WEEKLY, "2026-11-18", "2026-11-23", a, 2, 1);
    snprintf(odd.customer.name, sizeof odd.customer.name, "DHL\x01 Supply \xff"
             "Chain \xc3\xa9");
    inv_buf_t ox = { 0 };
    char *otext = NULL;
    if (inv_ubl_render(&odd, &ox) == 0 && (otext = calloc(1, ox.len + 1)))
        memcpy(otext, ox.data, ox.len);
    TAP_OK(otext && strstr(otext, "DHL\xEF\xBF\xBD Supply \xEF\xBF\xBD" "Chain \xc3\xa9"),
           "UBL: a control character and a stray byte become U+FFFD, UTF-8 stays");
    free(otext);
    inv_buf_free(&ox);
    check_ubl(&odd);

    /* 6. Figures no renderer can compute with (a net near INT64_MAX, as
     *    only corrupt data could hold) are refused, not wrapped round
     *    (found by fuzz_inv_doc). */
    inv_line_t huge[2] = { a[0], a[1] };
    huge[0].net = INT64_MAX - 10;
    inv_doc_t bad;
    s_doc(&bad, "INV-000010", INV_PERIOD_WEEKLY, "2026-11-18", "2026-11-23", huge, 2, 1);
    inv_buf_t bx = { 0 };
    TAP_EQ_INT(inv_doc_check(&bad), -1, "a net beyond the range is refused");
    TAP_EQ_INT(inv_doc_finish(&bad), -1, "finish refuses it");
    TAP_OK(inv_csv_render(&bad, &bx) == -1 && inv_ubl_render(&bad, &bx) == -1
           && inv_pdf_render(&bad, &bx) == -1 && bx.len == 0,
           "every renderer refuses it and writes nothing");
    huge[0].net = 1000;
    huge[1].net = INV_DOC_AMOUNT_MAX;
    huge[0].vat_bp = huge[1].vat_bp;
    TAP_EQ_INT(inv_doc_check(&bad), -1, "a rate's net beyond the range is refused");
    TAP_EQ_INT(inv_line_net(INV_BASIS_UNIT, 1 << 20, INT64_MAX / 2, INT64_MAX / 2), INT64_MAX,
               "a unit line's product beyond int64 is pinned, not wrapped");
    TAP_EQ_INT(inv_line_net(INV_BASIS_HOURLY, 1 << 20, -(INT64_MAX / 2), 0), INT64_MIN,
               "so is a negative hourly product");
    inv_buf_free(&bx);

    if (getenv("INV_KEEP")) { TAP_NOTE("kept %s", s_tmpdir); return tap_done(); }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_tmpdir);
    if (system(cmd) != 0)
        TAP_NOTE("could not remove %s", s_tmpdir);
    xmlCleanupParser();
    inv_pdf_shutdown();
    return tap_done();
}
