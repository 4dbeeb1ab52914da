/* inv_journal: see inv_journal.h. */
#include "inv_journal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "money.h"

#define ACCOUNT_LEN 96

enum { E_INVOICE = 0, E_CREDIT = 1, E_PAYMENT = 2 };

typedef struct {
    int32_t date;
    int cls;
    uint64_t seq;       /* the document's number in its series, for order */
    size_t idx;         /* into docs or pays */
    size_t sub;         /* payment order */
} s_entry_t;

typedef struct {
    char (*names)[ACCOUNT_LEN];
    char *types;
    size_t n, cap;
    int failed;
} s_accounts_t;

static int s_cmp_entry(const void *a, const void *b)
{
    const s_entry_t *x = a, *y = b;
    if (x->date != y->date)
        return x->date < y->date ? -1 : 1;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->sub < y->sub ? -1 : x->sub > y->sub;
}

static void s_account(s_accounts_t *a, const char *name, char type)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->names[i], name) == 0)
            return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char (*n)[ACCOUNT_LEN] = realloc(a->names, cap * sizeof *n);
        char *t = n ? realloc(a->types, cap) : NULL;
        if (!n || !t) {
            if (n)
                a->names = n;
            a->failed = 1;
            return;
        }
        a->names = n;
        a->types = t;
        a->cap = cap;
    }
    snprintf(a->names[a->n], ACCOUNT_LEN, "%s", name);
    a->types[a->n++] = type;
}

static int s_cmp_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

typedef struct {
    inv_buf_t *out;
    s_accounts_t *acc;
    int failed;
} s_w_t;

static void s_printf(s_w_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_printf(s_w_t *w, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf || inv_buf_append(w->out, buf, (size_t)n) != 0)
        w->failed = 1;
}

static void s_posting(s_w_t *w, const char *account, char type, int64_t pence)
{
    char amount[MONEY_TEXT_LEN];
    if (pence == 0)
        return;
    money_format(pence, amount);
    s_account(w->acc, account, type);
    s_printf(w, "    %-44s  %12s GBP\n", account, amount);
}

/* hledger ends a description at ';' and a transaction at a newline. */
static void s_clean(char *out, size_t outlen, const char *s)
{
    size_t j = 0;
    for (size_t i = 0; s && s[i] && j + 1 < outlen; i++) {
        char c = s[i];
        out[j++] = (c == ';' || c == '\n' || c == '\r' || c == '\t' || c == '|') ? ' ' : c;
    }
    out[j] = '\0';
}

static void s_document(s_w_t *w, const Pay__StoredDocument *d)
{
    char date[CIVIL_DATE_LEN], acct[ACCOUNT_LEN];
    int credit = d->kind == INV_KIND_CREDIT_NOTE;
    civil_format_date(d->issue_date, date);
    s_printf(w, "%s * %s | %s to %s for %s  ; employer:%s\n", date, d->number,
             credit ? "credit note" : "invoice", d->employer, d->period ? d->period : "-",
             d->employer);
    snprintf(acct, sizeof acct, "%s:%s", credit ? "liabilities:customer-credit" : "assets:receivables",
             d->employer);
    s_posting(w, acct, credit ? 'L' : 'A', d->total);
    /* Revenue per contract, in the order the lines first name them. */
    for (size_t i = 0; i < d->n_lines; i++) {
        const char *c = d->lines[i]->contract ? d->lines[i]->contract : "-";
        size_t j;
        for (j = 0; j < i && strcmp(d->lines[j]->contract ? d->lines[j]->contract : "-", c) != 0; j++)
            ;
        if (j < i)
            continue;
        int64_t net = 0;
        for (size_t k = i; k < d->n_lines; k++)
            if (strcmp(d->lines[k]->contract ? d->lines[k]->contract : "-", c) == 0)
                net += d->lines[k]->net;
        snprintf(acct, sizeof acct, "revenue:contracts:%s", c);
        s_posting(w, acct, 'R', -net);
    }
    s_posting(w, "liabilities:vat:output", 'L', -d->vat_total);
    s_printf(w, "\n");
    /* The credit note's allocations, on its date. */
    for (size_t i = 0; credit && i < d->n_allocations; i++) {
        const Pay__StoredAllocation *a = d->allocations[i];
        s_printf(w, "%s * %s | credit allocated to %s  ; employer:%s\n", date, d->number,
                 a->number ? a->number : "-", d->employer);
        snprintf(acct, sizeof acct, "liabilities:customer-credit:%s", d->employer);
        s_posting(w, acct, 'L', a->amount);
        snprintf(acct, sizeof acct, "assets:receivables:%s", d->employer);
        s_posting(w, acct, 'A', -a->amount);
        s_printf(w, "\n");
    }
}

static void s_payment(s_w_t *w, const inv_journal_payment_t *p)
{
    char date[CIVIL_DATE_LEN], acct[ACCOUNT_LEN], ref[140];
    civil_format_date(p->date, date);
    s_clean(ref, sizeof ref, p->reference);
    s_printf(w, "%s * %s | payment from %s  ; employer:%s%s%s\n", date, p->number, p->employer,
             p->employer, ref[0] ? ", ref:" : "", ref);
    s_posting(w, "assets:bank", 'C', p->amount);
    snprintf(acct, sizeof acct, "assets:receivables:%s", p->employer);
    s_posting(w, acct, 'A', -p->amount);
    s_printf(w, "\n");
}

int inv_journal_render(const Pay__StoredDocument *const *docs, size_t n_docs,
                       const inv_journal_payment_t *pays, size_t n_pays, inv_buf_t *out,
                       size_t *n_tx)
{
    int rc = -1;
    size_t n = n_docs + n_pays;
    s_entry_t *e = calloc(n ? n : 1, sizeof *e);
    s_accounts_t acc = { 0 };
    inv_buf_t body = { 0 };
    s_w_t w = { &body, &acc, 0 };
    *n_tx = 0;
    if (!e)
        goto fail;
    for (size_t i = 0; i < n_docs; i++) {
        inv_kind_t kind;
        uint64_t seq = 0;
        inv_parse_number(docs[i]->number ? docs[i]->number : "", &kind, &seq);
        e[i] = (s_entry_t){ docs[i]->issue_date,
                            docs[i]->kind == INV_KIND_CREDIT_NOTE ? E_CREDIT : E_INVOICE, seq,
                            i, 0 };
        *n_tx += 1 + (docs[i]->kind == INV_KIND_CREDIT_NOTE ? docs[i]->n_allocations : 0);
    }
    for (size_t i = 0; i < n_pays; i++) {
        inv_kind_t kind;
        uint64_t seq = 0;
        inv_parse_number(pays[i].number, &kind, &seq);
        e[n_docs + i] = (s_entry_t){ pays[i].date, E_PAYMENT, seq, i, i };
    }
    *n_tx += n_pays;
    qsort(e, n, sizeof *e, s_cmp_entry);
    for (size_t i = 0; i < n; i++) {
        if (e[i].cls == E_PAYMENT)
            s_payment(&w, &pays[e[i].idx]);
        else
            s_document(&w, docs[e[i].idx]);
    }
    if (w.failed || acc.failed)
        goto fail;

    /* Directives first: the commodity, then every account with its type. */
    s_w_t h = { out, &acc, 0 };
    s_printf(&h, "; Invoicing ledger exported by pay-invoicing. Amounts in GBP.\n"
                 "; Receivables per employer, VAT output tax, revenue per contract,\n"
                 "; payments and credit allocations, in date order.\n\n"
                 "commodity 1000.00 GBP\n\n");
    char (*sorted)[ACCOUNT_LEN + 1] = calloc(acc.n ? acc.n : 1, sizeof *sorted);
    if (!sorted)
        goto fail;
    for (size_t i = 0; i < acc.n; i++)
        snprintf(sorted[i], sizeof sorted[i], "%c%s", acc.types[i], acc.names[i]);
    /* Grouped by type (A, C, L, R), by name within a type. */
    qsort(sorted, acc.n, sizeof *sorted, s_cmp_name);
    for (size_t i = 0; i < acc.n; i++)
        s_printf(&h, "account %-44s  ; type: %c\n", sorted[i] + 1, sorted[i][0]);
    free(sorted);
    s_printf(&h, "\n");
    if (h.failed || (body.len && inv_buf_append(out, body.data, body.len) != 0))
        goto fail;
    rc = 0;
fail:
    free(e);
    free(acc.names);
    free(acc.types);
    inv_buf_free(&body);
    return rc;
}
