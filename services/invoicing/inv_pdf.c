/* inv_pdf: an invoice or credit note as an A4 PDF, drawn with cairo.
 *
 * The page carries every field HMRC requires of a full VAT invoice: the
 * number, the date of issue and the tax point; the supplier's name, address
 * and VAT number; the customer's name and address; per line a description,
 * the quantity, the unit price, the VAT rate and the net amount; the total
 * excluding VAT, the VAT total per rate and overall in sterling, and the
 * total payable. Each line states the days it covers. An invoice says how
 * to pay: the supplier's bank account (name, sort code and account number,
 * or IBAN) and the reference to quote (the invoice number). Long documents
 * run over several pages, each with the document number and the page
 * number on it.
 *
 * Deterministic: cairo would stamp the current time into the PDF's
 * metadata, so the creation and modification dates are set to the issue
 * date; nothing else in the output depends on the clock. */
#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "inv_doc.h"
#include "money.h"

#define PAGE_W 595.276   /* A4 in points */
#define PAGE_H 841.890
#define MARGIN 48.0
#define FONT "DejaVu Sans"
#define BOTTOM (PAGE_H - 90.0)

/* Table columns: left edges, and right edges for right-aligned numbers. */
#define COL_NO 48.0
#define COL_DESC 70.0
#define COL_DESC_W 215.0
#define COL_QTY_R 338.0
#define COL_UNIT 344.0
#define COL_PRICE_R 432.0
#define COL_VAT_R 478.0
#define COL_NET_R (PAGE_W - MARGIN)

typedef struct {
    cairo_t *cr;
    const inv_doc_t *doc;
    int page;
    double y;
} s_pdf_t;

static cairo_status_t s_write(void *closure, const unsigned char *data, unsigned int len)
{
    return inv_buf_append((inv_buf_t *)closure, data, len) == 0
               ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static void s_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static void s_text(cairo_t *cr, double x, double y, const char *s)
{
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, s);
}

static void s_text_right(cairo_t *cr, double xr, double y, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, xr - e.x_advance, y);
    cairo_show_text(cr, s);
}

/* Pounds with a thousands separator and the pound sign: "£1,234.56",
 * "-£0.34". The same text the tests look for. */
static void s_gbp(int64_t pence, char *out, size_t outlen)
{
    char plain[MONEY_TEXT_LEN], grouped[48];
    money_format(pence < 0 ? -pence : pence, plain);
    const char *dot = strchr(plain, '.');
    size_t int_len = (size_t)(dot - plain), k = 0;
    for (size_t i = 0; i < int_len; i++) {
        if (i > 0 && (int_len - i) % 3 == 0)
            grouped[k++] = ',';
        grouped[k++] = plain[i];
    }
    snprintf(grouped + k, sizeof grouped - k, "%s", dot);
    snprintf(out, outlen, "%s\xc2\xa3%s", pence < 0 ? "-" : "", grouped);
}

static void s_date(int32_t day, char out[CIVIL_DATE_LEN])
{
    civil_format_date(day, out);
}

/* Draws `s` word-wrapped into `width` from (x, y); returns the lines used. */
static int s_wrap(cairo_t *cr, double x, double y, double width, double lh, const char *s)
{
    char line[512] = "", trial[512];
    int lines = 0;
    const char *p = s;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t wl = sp ? (size_t)(sp - p) : strlen(p);
        if (line[0])
            snprintf(trial, sizeof trial, "%s %.*s", line, (int)wl, p);
        else
            snprintf(trial, sizeof trial, "%.*s", (int)wl, p);
        cairo_text_extents_t e;
        cairo_text_extents(cr, trial, &e);
        if (e.x_advance > width && line[0]) {
            s_text(cr, x, y + lh * lines, line);
            lines++;
            snprintf(line, sizeof line, "%.*s", (int)wl, p);
        } else {
            memcpy(line, trial, sizeof line);
        }
        p += wl;
        while (*p == ' ')
            p++;
    }
    if (line[0]) {
        s_text(cr, x, y + lh * lines, line);
        lines++;
    }
    return lines;
}

/* Prints an address held as "a, b, c" or "a\nb\nc" one part per line. */
static double s_address(cairo_t *cr, double x, double y, double lh, const inv_party_t *p)
{
    char buf[sizeof p->address];
    snprintf(buf, sizeof buf, "%s", p->address);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        s_text(cr, x, y, tok);
        y += lh;
    }
    if (p->postcode[0]) {
        s_text(cr, x, y, p->postcode);
        y += lh;
    }
    return y;
}

static void s_table_header(s_pdf_t *s)
{
    cairo_t *cr = s->cr;
    cairo_set_source_rgb(cr, 0.90, 0.92, 0.95);
    cairo_rectangle(cr, MARGIN, s->y - 12, PAGE_W - 2 * MARGIN, 18);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    s_font(cr, 8, 1);
    s_text(cr, COL_NO, s->y, "#");
    s_text(cr, COL_DESC, s->y, "Description");
    s_text_right(cr, COL_QTY_R, s->y, "Quantity");
    s_text(cr, COL_UNIT, s->y, "Unit");
    s_text_right(cr, COL_PRICE_R, s->y, "Unit price");
    s_text_right(cr, COL_VAT_R, s->y, "VAT rate");
    s_text_right(cr, COL_NET_R, s->y, "Net");
    s->y += 20;
}

/* Page furniture: the document number and page on every page. */
static void s_footer(s_pdf_t *s)
{
    cairo_t *cr = s->cr;
    char buf[320];
    s_font(cr, 7.5, 0);
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    snprintf(buf, sizeof buf, "%s %s - page %d", s->doc->kind == INV_KIND_CREDIT_NOTE
             ? "Credit note" : "VAT invoice", s->doc->number, s->page);
    s_text_right(cr, PAGE_W - MARGIN, PAGE_H - 30, buf);
    snprintf(buf, sizeof buf, "%s - VAT registration number %s", s->doc->supplier.name,
             s->doc->supplier.vat[0] ? s->doc->supplier.vat : "(none)");
    s_text(cr, MARGIN, PAGE_H - 30, buf);
    cairo_set_source_rgb(cr, 0, 0, 0);
}

static void s_new_page(s_pdf_t *s)
{
    s_footer(s);
    cairo_show_page(s->cr);
    s->page++;
    s->y = MARGIN + 20;
    char buf[64];
    s_font(s->cr, 10, 1);
    snprintf(buf, sizeof buf, "%s (continued)", s->doc->number);
    s_text(s->cr, MARGIN, s->y, buf);
    s->y += 24;
    s_table_header(s);
}

static void s_kv(cairo_t *cr, double x, double xv, double y, const char *k, const char *v)
{
    s_font(cr, 9, 1);
    s_text(cr, x, y, k);
    s_font(cr, 9, 0);
    s_text(cr, xv, y, v);
}

/* The payment box of an invoice: due date, reference, bank details. */
static void s_payment(s_pdf_t *s, const inv_party_t *sup)
{
    cairo_t *cr = s->cr;
    const inv_doc_t *d = s->doc;
    char buf[320], due[CIVIL_DATE_LEN];
    int rows = 4 + (sup->sort_code[0] && sup->account_number[0] ? 2 : 0) + (sup->iban[0] ? 1 : 0);
    if (s->y + 16 + 12.0 * rows > PAGE_H - 60)
        s_new_page(s);
    double top = s->y - 10;
    cairo_set_source_rgb(cr, 0.95, 0.96, 0.98);
    cairo_rectangle(cr, MARGIN, top, PAGE_W - 2 * MARGIN, 14 + 12.0 * rows);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    s_font(cr, 9, 1);
    s_text(cr, MARGIN + 6, s->y + 2, "How to pay");
    s->y += 14;
    s_date(d->due_date, due);
    snprintf(buf, sizeof buf, "By bank transfer by %s, quoting the payment reference %s.",
             due, d->number);
    s_font(cr, 8.5, 0);
    s_text(cr, MARGIN + 6, s->y, buf);
    s->y += 12;
    double kx = MARGIN + 6, vx = MARGIN + 110;
    if (sup->bank_account_name[0]) {
        s_kv(cr, kx, vx, s->y, "Account name", sup->bank_account_name);
        s->y += 12;
    }
    if (sup->sort_code[0] && sup->account_number[0]) {
        snprintf(buf, sizeof buf, "%.2s-%.2s-%.2s", sup->sort_code, sup->sort_code + 2,
                 sup->sort_code + 4);
        s_kv(cr, kx, vx, s->y, "Sort code", buf);
        s->y += 12;
        s_kv(cr, kx, vx, s->y, "Account number", sup->account_number);
        s->y += 12;
    }
    if (sup->iban[0]) {
        s_kv(cr, kx, vx, s->y, "IBAN", sup->iban);
        s->y += 12;
    }
    if (!sup->bank_account_name[0] && !sup->iban[0] && !sup->account_number[0]) {
        s_font(cr, 8.5, 0);
        s_text(cr, kx, s->y, "Bank details: ask the contact below.");
        s->y += 12;
    }
    s_kv(cr, kx, vx, s->y, "Payment reference", d->number);
    s->y += 16;
}

static void s_draw(s_pdf_t *s)
{
    cairo_t *cr = s->cr;
    const inv_doc_t *d = s->doc;
    int sign = inv_doc_sign(d);
    int credit = d->kind == INV_KIND_CREDIT_NOTE;
    char buf[512], a[64], b[64];

    /* Title band. */
    cairo_set_source_rgb(cr, 0.12, 0.23, 0.40);
    cairo_rectangle(cr, 0, 0, PAGE_W, 8);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    s_font(cr, 20, 1);
    s_text(cr, MARGIN, 60, credit ? "CREDIT NOTE" : "VAT INVOICE");

    /* Supplier, top left. */
    double y = 86;
    s_font(cr, 10, 1);
    s_text(cr, MARGIN, y, d->supplier.name);
    y += 13;
    s_font(cr, 9, 0);
    y = s_address(cr, MARGIN, y, 12, &d->supplier);
    snprintf(buf, sizeof buf, "VAT registration number: %s", d->supplier.vat);
    s_text(cr, MARGIN, y, buf);
    y += 12;
    if (d->supplier.email[0]) {
        s_text(cr, MARGIN, y, d->supplier.email);
        y += 12;
    }

    /* Document details, top right. */
    double kx = 340, vx = 430, ky = 86;
    s_kv(cr, kx, vx, ky, credit ? "Credit note no." : "Invoice no.", d->number);
    ky += 13;
    s_date(d->issue_date, a);
    s_kv(cr, kx, vx, ky, "Date of issue", a);
    ky += 13;
    s_date(d->tax_point, a);
    s_kv(cr, kx, vx, ky, "Tax point", a);
    ky += 13;
    s_kv(cr, kx, vx, ky, "Billing period", d->period);
    ky += 13;
    if (!credit) {
        s_date(d->due_date, a);
        s_kv(cr, kx, vx, ky, "Due date", a);
        ky += 13;
        snprintf(buf, sizeof buf, "%u days", d->terms_days);
        s_kv(cr, kx, vx, ky, "Payment terms", buf);
        ky += 13;
    }
    s_kv(cr, kx, vx, ky, "Account", d->employer);
    ky += 13;
    /* The invoices that late and adjustment lines refer to. */
    char refs[128] = "";
    for (size_t i = 0; i < d->n_lines; i++) {
        const char *r = d->lines[i].ref_number;
        if (!r[0] || strstr(refs, r))
            continue;
        size_t used = strlen(refs);
        if (used + strlen(r) + 3 >= sizeof refs)
            break;
        snprintf(refs + used, sizeof refs - used, "%s%s", used ? ", " : "", r);
    }
    if (refs[0]) {
        s_kv(cr, kx, vx, ky, "Adjusts", refs);
        ky += 13;
    }

    /* Customer. */
    y = (y > ky ? y : ky) + 16;
    s_font(cr, 8, 1);
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    s_text(cr, MARGIN, y, credit ? "CREDIT TO" : "INVOICE TO");
    cairo_set_source_rgb(cr, 0, 0, 0);
    y += 14;
    s_font(cr, 10, 1);
    s_text(cr, MARGIN, y, d->customer.name);
    y += 13;
    s_font(cr, 9, 0);
    y = s_address(cr, MARGIN, y, 12, &d->customer);
    if (d->customer.vat[0]) {
        snprintf(buf, sizeof buf, "VAT registration number: %s", d->customer.vat);
        s_text(cr, MARGIN, y, buf);
        y += 12;
    }

    /* Lines. */
    s->y = y + 24;
    s_table_header(s);
    for (size_t i = 0; i < d->n_lines; i++) {
        const inv_line_t *l = &d->lines[i];
        if (s->y > BOTTOM)
            s_new_page(s);
        s_font(cr, 8.5, 0);
        snprintf(buf, sizeof buf, "%zu", i + 1);
        s_text(cr, COL_NO, s->y, buf);
        inv_line_quantity_text(l, sign, a, sizeof a);
        s_text_right(cr, COL_QTY_R, s->y, a);
        s_text(cr, COL_UNIT, s->y, l->basis == INV_BASIS_UNIT ? "units" : "hours");
        s_gbp(l->charge, a, sizeof a);
        snprintf(buf, sizeof buf, "%s%s", a, l->basis == INV_BASIS_UNIT ? "/unit" : "/hour");
        s_text_right(cr, COL_PRICE_R, s->y, buf);
        snprintf(buf, sizeof buf, "%u.%02u%%", l->vat_bp / 100, l->vat_bp % 100);
        s_text_right(cr, COL_VAT_R, s->y, buf);
        s_gbp(sign * l->net, a, sizeof a);
        s_text_right(cr, COL_NET_R, s->y, a);
        inv_line_description(l, buf, sizeof buf);
        int used = s_wrap(cr, COL_DESC, s->y, COL_DESC_W, 11, buf);
        s_date(inv_line_first(l), a);
        s_date(inv_line_last(l), b);
        snprintf(buf, sizeof buf, "%s to %s", a, b);
        s_font(cr, 7.5, 0);
        cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
        s_text(cr, COL_DESC, s->y + 11.0 * used, buf);
        cairo_set_source_rgb(cr, 0, 0, 0);
        used++;
        s->y += 11.0 * used + 5;
        cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
        cairo_set_line_width(cr, 0.5);
        cairo_move_to(cr, MARGIN, s->y - 9);
        cairo_line_to(cr, PAGE_W - MARGIN, s->y - 9);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
    }

    /* VAT summary and totals, kept together on one page. */
    double need = 40 + 13.0 * d->n_rates + 60 + 50;
    if (s->y + need > PAGE_H - 50)
        s_new_page(s);
    s->y += 10;
    double lx = 280;
    s_font(cr, 8, 1);
    s_text(cr, lx, s->y, "VAT summary");
    s->y += 13;
    s_text(cr, lx, s->y, "Rate");
    s_text_right(cr, COL_VAT_R + 8, s->y, "Net");
    s_text_right(cr, COL_NET_R, s->y, "VAT");
    s->y += 12;
    s_font(cr, 8.5, 0);
    for (int j = 0; j < d->n_rates; j++) {
        const inv_vat_sum_t *r = &d->rates[j];
        snprintf(buf, sizeof buf, "%u.%02u%%%s", r->vat_bp / 100, r->vat_bp % 100,
                 r->vat_bp == 0 ? " (zero-rated)" : "");
        s_text(cr, lx, s->y, buf);
        s_gbp(sign * r->net, a, sizeof a);
        s_text_right(cr, COL_VAT_R + 8, s->y, a);
        s_gbp(sign * r->vat, b, sizeof b);
        s_text_right(cr, COL_NET_R, s->y, b);
        s->y += 12;
    }
    s->y += 8;
    cairo_set_line_width(cr, 0.8);
    cairo_move_to(cr, lx, s->y - 9);
    cairo_line_to(cr, PAGE_W - MARGIN, s->y - 9);
    cairo_stroke(cr);
    s_font(cr, 9, 0);
    s_text(cr, lx, s->y + 2, "Total excluding VAT");
    s_gbp(sign * d->net_total, a, sizeof a);
    s_text_right(cr, COL_NET_R, s->y + 2, a);
    s->y += 14;
    s_text(cr, lx, s->y + 2, "VAT total");
    s_gbp(sign * d->vat_total, a, sizeof a);
    s_text_right(cr, COL_NET_R, s->y + 2, a);
    s->y += 18;
    s_font(cr, 11, 1);
    s_text(cr, lx, s->y + 2, credit ? "Total credited (GBP)" : "Total payable (GBP)");
    s_gbp(sign * d->total, a, sizeof a);
    s_text_right(cr, COL_NET_R, s->y + 2, a);
    s->y += 30;

    /* How to pay, and the reference to quote. */
    if (credit) {
        s_font(cr, 8, 0);
        snprintf(buf, sizeof buf, "This credit note reduces the balance of account %s by %s. "
                 "It is allocated to the invoices it adjusts, up to what is outstanding on "
                 "them; the rest stays on the account as credit.", d->employer, a);
        s->y += 11.0 * s_wrap(cr, MARGIN, s->y, PAGE_W - 2 * MARGIN, 11, buf);
    } else {
        s_payment(s, &d->supplier);
    }
    s->y += 6;
    s_font(cr, 8, 0);
    s_wrap(cr, MARGIN, s->y, PAGE_W - 2 * MARGIN, 11,
           "Quantities are aggregated hours or units per contract; no individual's "
           "details are shown.");
    s_footer(s);
}

int inv_pdf_render(const inv_doc_t *doc, inv_buf_t *out)
{
    if (inv_doc_check(doc) != 0)
        return -1;
    int rc = -1;
    cairo_surface_t *surface =
        cairo_pdf_surface_create_for_stream(s_write, out, PAGE_W, PAGE_H);
    cairo_t *cr = NULL;
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
        goto fail;
    char date[CIVIL_DATE_LEN], stamp[32], title[96];
    civil_format_date(doc->issue_date, date);
    snprintf(stamp, sizeof stamp, "%sT00:00:00Z", date);
    snprintf(title, sizeof title, "%s %s", doc->kind == INV_KIND_CREDIT_NOTE
             ? "Credit note" : "VAT invoice", doc->number);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, stamp);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, stamp);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, doc->supplier.name);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "pay-invoicing");
    cr = cairo_create(surface);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        goto fail;
    s_pdf_t s = { cr, doc, 1, 0 };
    s_draw(&s);
    cairo_show_page(cr);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        goto fail;
    cairo_destroy(cr);
    cr = NULL;
    cairo_surface_finish(surface);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
        goto fail;
    rc = 0;
fail:
    if (cr)
        cairo_destroy(cr);
    if (surface)
        cairo_surface_destroy(surface);
    return rc;
}

void inv_pdf_shutdown(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
