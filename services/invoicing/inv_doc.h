/* inv_doc: an issued invoice or credit note as a plain struct, and the
 * three renderers that turn it into what an employer receives: PDF
 * (inv_pdf.c, cairo), CSV (inv_csv.c, the invoice-lines layout of
 * FORMATS.md) and UBL 2.1 XML following Peppol BIS Billing 3.0 (inv_ubl.c,
 * libxml2).
 *
 * Every renderer is a pure function of the stored document: no clock, no
 * locale, no store. Rendering the same document twice gives the same bytes
 * (the PDF's creation date is the document's issue date).
 *
 * Signs. Amounts in inv_doc_t are signed from the supplier's side: an
 * invoice's total is >= 0, a credit note's is < 0 (DOMAIN.md: a document
 * whose total is below zero is issued as a credit note). The CSV keeps these
 * signs (it is data for spreadsheets and ledgers). The PDF and the UBL
 * CreditNote present a credit note as what it is, an amount credited, so
 * they show every amount of a credit note negated (positive); a line that
 * adds to the charge inside a credit note then shows as negative.
 *
 * Privacy. A document carries aggregated minutes and units per contract
 * only: the struct has no field for a prisoner, a record or a wage.
 *
 * Ownership: the caller owns the document and its lines array; renderers
 * only read them. Renderers fill an inv_buf_t that the caller frees with
 * inv_buf_free. */
#ifndef PAY_INV_DOC_H
#define PAY_INV_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "inv_rules.h"

typedef struct {
    char name[128];          /* legal name */
    char address[256];       /* postal address, lines separated by ", " or '\n' */
    char postcode[16];
    char vat[16];            /* "GB123456789", or "" when none */
    char email[128];
    /* Peppol electronic address (EAS scheme and id). When empty the UBL
     * renderer uses the VAT number under scheme 9932 (UK VAT). */
    char endpoint_scheme[8];
    char endpoint_id[128];
    /* How to pay the party (the supplier): account name, and a UK sort
     * code (6 digits) and account number (8 digits), or an IBAN, or both. */
    char bank_account_name[128];
    char sort_code[8];
    char account_number[12];
    char iban[40];
} inv_party_t;

typedef enum {
    INV_LINE_PERIOD = 0,     /* a line of the document's own period */
    INV_LINE_LATE = 1,       /* records of an earlier, already invoiced period */
    INV_LINE_ADJUSTMENT = 2, /* amendments or voids of invoiced records */
} inv_line_kind_t;

typedef struct {
    inv_line_kind_t kind;
    char contract[32];
    char prison[8];
    char activity[64];       /* the contract's activity, "" if unknown */
    char period[INV_PERIOD_TEXT_LEN];  /* the period the work was done in */
    int32_t period_first;
    int32_t period_last;
    /* The days the line covers: period_first..period_last, or the part of
     * the period that its billing terms row covers (DOMAIN.md: where terms
     * change inside a period, each line states the dates of its row). */
    int32_t start;
    int32_t end;
    char ref_number[INV_NUMBER_LEN];   /* original invoice, for LATE/ADJUSTMENT; "" otherwise */
    inv_basis_t basis;
    int64_t minutes;         /* HOURLY: minutes on this line (signed) */
    int64_t units;           /* UNIT: units on this line (signed) */
    int64_t charge;          /* unit price: pence per hour or per unit */
    uint32_t vat_bp;
    int64_t net;             /* pence, signed */
} inv_line_t;

typedef struct {
    inv_kind_t kind;
    char number[INV_NUMBER_LEN];
    char employer[40];
    int32_t issue_date;
    int32_t tax_point;
    int32_t due_date;
    uint32_t terms_days;
    char period[INV_PERIOD_TEXT_LEN];  /* the period the document was issued for */
    int32_t period_first;
    int32_t period_last;
    inv_party_t supplier;
    inv_party_t customer;
    const inv_line_t *lines;
    size_t n_lines;
    /* Filled by inv_doc_finish from the lines. */
    int n_rates;
    inv_vat_sum_t rates[INV_MAX_RATES];
    int64_t net_total;
    int64_t vat_total;
    int64_t total;
} inv_doc_t;

/* The ranges every figure of a document must keep, far above any real
 * document, so that no sum or product the renderers compute can overflow:
 * at most INV_DOC_MAX_LINES lines; per line |minutes| and |units| up to
 * INV_DOC_QTY_MAX, a unit price from 0 to INV_DOC_CHARGE_MAX pence, a VAT
 * rate up to 10000 bp (100 %) and |net| up to INV_DOC_AMOUNT_MAX pence
 * (£100,000,000,000), which also bounds the net of each VAT rate. */
#define INV_DOC_MAX_LINES 100000
#define INV_DOC_QTY_MAX 1000000000000LL
#define INV_DOC_CHARGE_MAX 100000000LL
#define INV_DOC_AMOUNT_MAX 10000000000000LL

/* 0 if the document keeps those ranges, else -1. Every renderer refuses a
 * document that does not (a stored document is never like that unless
 * its data is corrupt). */
int inv_doc_check(const inv_doc_t *doc);

/* Computes the VAT breakdown, the totals and the kind from the lines.
 * Returns 0, or -1 if the lines use more than INV_MAX_RATES VAT rates or
 * the document fails inv_doc_check. */
int inv_doc_finish(inv_doc_t *doc);

/* +1 for an invoice, -1 for a credit note: the factor that turns a stored
 * amount into the amount a document shows (see "Signs" above). */
int inv_doc_sign(const inv_doc_t *doc);

/* The line's description as every renderer prints it, e.g.
 * "Prison labour, contract C-0042 (MDI), 2026-11"; a line that covers only
 * part of its period says which days and why ("..., 2026-11, 2026-11-16 to
 * 2026-11-30 (billing terms from 2026-11-16)"); late and adjustment lines
 * end "... - adjustment to INV-000003". */
void inv_line_description(const inv_line_t *line, char *out, size_t outlen);

/* The first and last day the line covers (start and end, or the period's
 * days when they are not set). */
int32_t inv_line_first(const inv_line_t *line);
int32_t inv_line_last(const inv_line_t *line);

/* 1 if the line covers only part of its period (start or end inside it). */
int inv_line_is_partial(const inv_line_t *line);

/* The quantity text: hours to 2 decimals for HOURLY ("1.00"), whole units
 * for UNIT ("12"); multiplied by `sign`. */
void inv_line_quantity_text(const inv_line_t *line, int sign, char *out, size_t outlen);

/* A growable byte buffer for rendered documents. */
typedef struct {
    unsigned char *data;
    size_t len;
    size_t cap;
} inv_buf_t;

int inv_buf_append(inv_buf_t *buf, const void *data, size_t len);
void inv_buf_free(inv_buf_t *buf);

/* A4 PDF with every field of an HMRC full VAT invoice. Returns 0 or -1. */
int inv_pdf_render(const inv_doc_t *doc, inv_buf_t *out);

/* Releases cairo's and fontconfig's process-wide caches (fonts stay cached
 * between renders for speed). Call once at exit, after the last render, so
 * that leak checkers see a clean process. */
void inv_pdf_shutdown(void);

/* CSV: the FORMATS.md invoice-lines header (INV_CSV_LINES_HEADER) and one
 * row per line. Returns 0 or -1. */
#define INV_CSV_LINES_HEADER                                                   \
    "invoice,line,contract,period,period_start,period_end,original_invoice,"   \
    "description,quantity,unit,unit_price,net,vat_rate_bp,vat"
#define INV_CSV_LINES_COLS 14
int inv_csv_render(const inv_doc_t *doc, inv_buf_t *out);

/* The cells of line i of `doc` as the CSV writes them (INV_CSV_LINES_COLS
 * strings), given the line's share of the VAT (from inv_csv_vat_shares).
 * The same cells feed the CSV and the API's line export, so that a row is
 * written in one place. */
#define INV_CSV_CELL_LEN 256
typedef char inv_csv_row_t[INV_CSV_LINES_COLS][INV_CSV_CELL_LEN];
void inv_csv_line_cells(const inv_doc_t *doc, size_t i, int64_t vat, inv_csv_row_t row);

/* Each line's share of the document's VAT (inv_vat_per_line) into vats
 * (n_lines entries). Returns 0 or -1. */
int inv_csv_vat_shares(const inv_doc_t *doc, int64_t *vats);

/* UBL 2.1 Invoice (or CreditNote for a credit note), Peppol BIS Billing
 * 3.0. Returns 0, or -1 on failure; a customer with no electronic address
 * (no Peppol endpoint and no VAT number, inv_ubl_addressable) cannot get
 * one: -1 as well, and the caller says why beforehand. */
int inv_ubl_render(const inv_doc_t *doc, inv_buf_t *out);

/* 1 if the document's customer and supplier both have an electronic
 * address (inv_peppol_address), so that a UBL document can be made. */
int inv_ubl_addressable(const inv_doc_t *doc);

#endif
