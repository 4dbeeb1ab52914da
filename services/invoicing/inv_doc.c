/* inv_doc: see inv_doc.h. */
#include "inv_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"

static int s_in(int64_t v, int64_t max)
{
    return v >= -max && v <= max;
}

int inv_doc_check(const inv_doc_t *doc)
{
    if (doc->n_lines > INV_DOC_MAX_LINES || (doc->n_lines && !doc->lines))
        return -1;
    /* Each rate's net: the lines' nets are bounded, so with at most
     * INV_DOC_MAX_LINES of them these sums cannot overflow. */
    int64_t sums[INV_MAX_RATES + 1];
    uint32_t bps[INV_MAX_RATES + 1];
    int k = 0;
    for (size_t i = 0; i < doc->n_lines; i++) {
        const inv_line_t *l = &doc->lines[i];
        if (!s_in(l->minutes, INV_DOC_QTY_MAX) || !s_in(l->units, INV_DOC_QTY_MAX)
            || l->charge < 0 || l->charge > INV_DOC_CHARGE_MAX || l->vat_bp > 10000
            || !s_in(l->net, INV_DOC_AMOUNT_MAX))
            return -1;
        int j = 0;
        while (j < k && bps[j] != l->vat_bp)
            j++;
        if (j == k) {
            if (k == INV_MAX_RATES)
                return -1;
            bps[k] = l->vat_bp;
            sums[k++] = 0;
        }
        sums[j] += l->net;
    }
    for (int j = 0; j < k; j++)
        if (!s_in(sums[j], INV_DOC_AMOUNT_MAX))
            return -1;
    return 0;
}

int inv_doc_finish(inv_doc_t *doc)
{
    int rc = -1;
    size_t n = doc->n_lines;
    if (inv_doc_check(doc) != 0)
        return -1;
    int64_t *nets = calloc(n ? n : 1, sizeof *nets);
    uint32_t *bps = calloc(n ? n : 1, sizeof *bps);
    if (!nets || !bps)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        nets[i] = doc->lines[i].net;
        bps[i] = doc->lines[i].vat_bp;
    }
    doc->n_rates = inv_vat_breakdown(nets, bps, n, doc->rates);
    if (doc->n_rates < 0)
        goto fail;
    doc->net_total = doc->vat_total = 0;
    for (int j = 0; j < doc->n_rates; j++) {
        doc->net_total += doc->rates[j].net;
        doc->vat_total += doc->rates[j].vat;
    }
    doc->total = doc->net_total + doc->vat_total;
    doc->kind = inv_doc_kind(doc->total);
    rc = 0;
fail:
    free(nets);
    free(bps);
    return rc;
}

int inv_doc_sign(const inv_doc_t *doc)
{
    return doc->kind == INV_KIND_CREDIT_NOTE ? -1 : 1;
}

int32_t inv_line_first(const inv_line_t *line)
{
    return line->start ? line->start : line->period_first;
}

int32_t inv_line_last(const inv_line_t *line)
{
    return line->end ? line->end : line->period_last;
}

int inv_line_is_partial(const inv_line_t *line)
{
    return inv_line_first(line) > line->period_first || inv_line_last(line) < line->period_last;
}

void inv_line_description(const inv_line_t *line, char *out, size_t outlen)
{
    const char *what = line->activity[0] ? line->activity
                       : line->basis == INV_BASIS_UNIT ? "Units produced" : "Prison labour";
    char span[96] = "";
    if (inv_line_is_partial(line)) {
        char a[CIVIL_DATE_LEN], b[CIVIL_DATE_LEN];
        civil_format_date(inv_line_first(line), a);
        civil_format_date(inv_line_last(line), b);
        int from = inv_line_first(line) > line->period_first;
        int until = inv_line_last(line) < line->period_last;
        char why[64];
        if (from && until)
            snprintf(why, sizeof why, "billing terms from %s until %s", a, b);
        else if (from)
            snprintf(why, sizeof why, "billing terms from %s", a);
        else
            snprintf(why, sizeof why, "billing terms until %s", b);
        snprintf(span, sizeof span, ", %s to %s (%s)", a, b, why);
    }
    if (line->kind == INV_LINE_PERIOD || !line->ref_number[0])
        snprintf(out, outlen, "%s, contract %s (%s), %s%s%s", what, line->contract,
                 line->prison, line->period, span,
                 line->kind == INV_LINE_LATE ? " (late records)" :
                 line->kind == INV_LINE_ADJUSTMENT ? " (adjustment)" : "");
    else
        snprintf(out, outlen, "%s, contract %s (%s), %s%s - %s %s", what,
                 line->contract, line->prison, line->period, span,
                 line->kind == INV_LINE_LATE ? "late records after" : "adjustment to",
                 line->ref_number);
}

void inv_line_quantity_text(const inv_line_t *line, int sign, char *out, size_t outlen)
{
    if (line->basis == INV_BASIS_UNIT)
        snprintf(out, outlen, "%lld", (long long)(sign * line->units));
    else
        inv_format_centi(sign * inv_hours_centi(line->minutes), out, outlen);
}

int inv_buf_append(inv_buf_t *buf, const void *data, size_t len)
{
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 4096;
        while (cap < buf->len + len + 1)
            cap *= 2;
        unsigned char *p = realloc(buf->data, cap);
        if (!p)
            return -1;
        buf->data = p;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = 0;   /* handy for text formats; not counted */
    return 0;
}

void inv_buf_free(inv_buf_t *buf)
{
    if (!buf)
        return;
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}
