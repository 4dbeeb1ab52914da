/* inv_csv: the invoice-lines export of FORMATS.md.
 *
 *   invoice,line,contract,period,period_start,period_end,original_invoice,
 *   description,quantity,unit,unit_price,net,vat_rate_bp,vat
 *
 * RFC 4180: CRLF line ends, a field quoted when it holds a comma, a quote
 * or a line break, quotes doubled. Money is pounds with two decimals and
 * keeps the stored sign (a credit note's lines are negative). `vat` is the
 * line's share of its rate's VAT (inv_vat_per_line), so the column adds up
 * exactly to the document's VAT total. `unit` is HOURLY or UNIT, the
 * quantity hours to 2 decimals or whole units; `period_start` and
 * `period_end` are the days the line covers; `original_invoice` names the
 * invoice an adjustment line adjusts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "inv_doc.h"
#include "money.h"

static int s_field(inv_buf_t *out, const char *s, int last)
{
    int rc = 0;
    if (strpbrk(s, ",\"\r\n")) {
        rc |= inv_buf_append(out, "\"", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                rc |= inv_buf_append(out, "\"\"", 2);
            else
                rc |= inv_buf_append(out, p, 1);
        }
        rc |= inv_buf_append(out, "\"", 1);
    } else {
        rc |= inv_buf_append(out, s, strlen(s));
    }
    rc |= last ? inv_buf_append(out, "\r\n", 2) : inv_buf_append(out, ",", 1);
    return rc ? -1 : 0;
}

int inv_csv_vat_shares(const inv_doc_t *doc, int64_t *vats)
{
    if (inv_doc_check(doc) != 0)
        return -1;
    size_t n = doc->n_lines;
    int64_t *nets = calloc(n ? n : 1, sizeof *nets);
    uint32_t *bps = calloc(n ? n : 1, sizeof *bps);
    int rc = -1;
    if (nets && bps) {
        for (size_t i = 0; i < n; i++) {
            nets[i] = doc->lines[i].net;
            bps[i] = doc->lines[i].vat_bp;
        }
        rc = inv_vat_per_line(nets, bps, n, vats);
    }
    free(nets);
    free(bps);
    return rc;
}

void inv_csv_line_cells(const inv_doc_t *doc, size_t i, int64_t vat, inv_csv_row_t c)
{
    const inv_line_t *l = &doc->lines[i];
    snprintf(c[0], INV_CSV_CELL_LEN, "%s", doc->number);
    snprintf(c[1], INV_CSV_CELL_LEN, "%zu", i + 1);
    snprintf(c[2], INV_CSV_CELL_LEN, "%s", l->contract);
    snprintf(c[3], INV_CSV_CELL_LEN, "%s", l->period);
    civil_format_date(inv_line_first(l), c[4]);
    civil_format_date(inv_line_last(l), c[5]);
    snprintf(c[6], INV_CSV_CELL_LEN, "%s", l->kind == INV_LINE_ADJUSTMENT ? l->ref_number : "");
    inv_line_description(l, c[7], INV_CSV_CELL_LEN);
    inv_line_quantity_text(l, 1, c[8], INV_CSV_CELL_LEN);
    snprintf(c[9], INV_CSV_CELL_LEN, "%s", l->basis == INV_BASIS_UNIT ? "UNIT" : "HOURLY");
    money_format(l->charge, c[10]);
    money_format(l->net, c[11]);
    snprintf(c[12], INV_CSV_CELL_LEN, "%u", l->vat_bp);
    money_format(vat, c[13]);
}

int inv_csv_render(const inv_doc_t *doc, inv_buf_t *out)
{
    if (inv_doc_check(doc) != 0)
        return -1;
    static const char header[] = INV_CSV_LINES_HEADER "\r\n";
    size_t n = doc->n_lines;
    int64_t *vats = calloc(n ? n : 1, sizeof *vats);
    inv_csv_row_t *row = malloc(sizeof *row);
    int rc = -1;
    if (!vats || !row || inv_csv_vat_shares(doc, vats) != 0)
        goto fail;
    if (inv_buf_append(out, header, sizeof header - 1) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        inv_csv_line_cells(doc, i, vats[i], *row);
        for (int c = 0; c < INV_CSV_LINES_COLS; c++)
            if (s_field(out, (*row)[c], c == INV_CSV_LINES_COLS - 1) != 0)
                goto fail;
    }
    rc = 0;
fail:
    free(vats);
    free(row);
    return rc;
}
