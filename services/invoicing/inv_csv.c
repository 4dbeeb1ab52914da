/* inv_csv: the invoice-lines export of FORMATS.md.
 *
 *   invoice,line,contract,period,description,quantity,unit,unit_price,net,vat_rate_bp,vat
 *
 * RFC 4180: CRLF line ends, a field quoted when it holds a comma, a quote
 * or a line break, quotes doubled. Money is pounds with two decimals and
 * keeps the stored sign (a credit note's lines are negative). `vat` is the
 * line's share of its rate's VAT (inv_vat_per_line), so the column adds up
 * exactly to the document's VAT total. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int inv_csv_render(const inv_doc_t *doc, inv_buf_t *out)
{
    if (inv_doc_check(doc) != 0)
        return -1;
    static const char header[] =
        "invoice,line,contract,period,description,quantity,unit,unit_price,"
        "net,vat_rate_bp,vat\r\n";
    int rc = -1;
    size_t n = doc->n_lines;
    int64_t *nets = calloc(n ? n : 1, sizeof *nets);
    uint32_t *bps = calloc(n ? n : 1, sizeof *bps);
    int64_t *vats = calloc(n ? n : 1, sizeof *vats);
    if (!nets || !bps || !vats)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        nets[i] = doc->lines[i].net;
        bps[i] = doc->lines[i].vat_bp;
    }
    if (inv_vat_per_line(nets, bps, n, vats) != 0)
        goto fail;
    if (inv_buf_append(out, header, sizeof header - 1) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const inv_line_t *l = &doc->lines[i];
        char num[24], desc[256], qty[32], price[MONEY_TEXT_LEN], net[MONEY_TEXT_LEN],
            bp[16], vat[MONEY_TEXT_LEN];
        snprintf(num, sizeof num, "%zu", i + 1);
        inv_line_description(l, desc, sizeof desc);
        inv_line_quantity_text(l, 1, qty, sizeof qty);
        money_format(l->charge, price);
        money_format(l->net, net);
        snprintf(bp, sizeof bp, "%u", l->vat_bp);
        money_format(vats[i], vat);
        if (s_field(out, doc->number, 0) || s_field(out, num, 0)
            || s_field(out, l->contract, 0) || s_field(out, l->period, 0)
            || s_field(out, desc, 0) || s_field(out, qty, 0)
            || s_field(out, l->basis == INV_BASIS_UNIT ? "units" : "hours", 0)
            || s_field(out, price, 0) || s_field(out, net, 0)
            || s_field(out, bp, 0) || s_field(out, vat, 1))
            goto fail;
    }
    rc = 0;
fail:
    free(nets);
    free(bps);
    free(vats);
    return rc;
}
