/* inv_report: the invoicing service's read-only reports, answered for
 * inv_api_handle (see inv_api.h):
 *
 *   statement  an employer's statement of account (FORMATS.md layout
 *              date,document,kind,amount,allocated,balance) with its
 *              closing balance, outstanding and unallocated credit;
 *   lines      every line of the documents of a period range, in the
 *              invoice-lines layout (the cells inv_csv writes);
 *   pending    billable work not yet invoiced (WAITING or NO_TERMS);
 *   journal    the invoicing ledger as an hledger journal (inv_journal).
 *
 * Each loads what it needs from the store, computes the report with pure
 * code, and copies the answer into the reply's arena. Nothing is written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "inv_api.h"
#include "inv_journal.h"

/* ---- collecting documents --------------------------------------------------- */

typedef struct {
    Pay__StoredDocument **d;
    size_t n, cap;
} s_docs_t;

/* Keeps a copy of each visited document (the store frees its own). */
static int s_keep(const Pay__StoredDocument *sd, void *arg)
{
    s_docs_t *ds = arg;
    if (ds->n == ds->cap) {
        size_t cap = ds->cap ? ds->cap * 2 : 64;
        Pay__StoredDocument **p = realloc(ds->d, cap * sizeof *p);
        if (!p)
            return ENOMEM;
        ds->d = p;
        ds->cap = cap;
    }
    size_t len = pay__stored_document__get_packed_size(sd);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return ENOMEM;
    pay__stored_document__pack(sd, buf);
    ds->d[ds->n] = pay__stored_document__unpack(NULL, len, buf);
    free(buf);
    if (!ds->d[ds->n])
        return ENOMEM;
    ds->n++;
    return 0;
}

static void s_docs_free(s_docs_t *ds)
{
    for (size_t i = 0; i < ds->n; i++)
        pay__stored_document__free_unpacked(ds->d[i], NULL);
    free(ds->d);
    memset(ds, 0, sizeof *ds);
}

/* ---- statement ------------------------------------------------------------------ */

enum { R_INVOICE = 0, R_CREDIT = 1, R_PAYMENT = 2 };

typedef struct {
    int32_t date;
    int cls;               /* order within a day */
    uint64_t seq;          /* document number in its series */
    size_t sub;            /* 0: the document; 1..: its allocations or payments */
    const char *document;
    const char *kind;
    const char *credit_note;
    int has_amount, has_allocated;
    int64_t amount, allocated;
} s_row_t;

typedef struct {
    s_row_t *r;
    size_t n, cap;
    size_t sub;
    uint64_t seq;
} s_rows_t;

static s_row_t *s_row_add(s_rows_t *rs)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        s_row_t *p = realloc(rs->r, cap * sizeof *p);
        if (!p)
            return NULL;
        rs->r = p;
        rs->cap = cap;
    }
    s_row_t *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static int s_cmp_row(const void *a, const void *b)
{
    const s_row_t *x = a, *y = b;
    if (x->date != y->date)
        return x->date < y->date ? -1 : 1;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->sub < y->sub ? -1 : x->sub > y->sub;
}

typedef struct {
    s_rows_t *rows;
    const char *number;    /* lives in the s_docs_t */
} s_pay_ctx_t;

static int s_pay_row(const char *number, const Pay__StoredPayment *p, void *arg)
{
    s_pay_ctx_t *c = arg;
    (void)number;
    s_row_t *r = s_row_add(c->rows);
    if (!r)
        return ENOMEM;
    r->date = p->date;
    r->cls = R_PAYMENT;
    r->seq = c->rows->seq;
    r->sub = ++c->rows->sub;
    r->document = c->number;
    r->kind = "payment";
    r->has_amount = 1;
    r->amount = -p->amount;
    return 0;
}

int inv_report_statement(inv_api_t *api, MDB_txn *txn, inv_reply_t *out, const char *own,
                         const Pay__Statement *q)
{
    const char *emp = own ? own : q->employer;
    s_docs_t ds = { 0 };
    s_rows_t rs = { 0 };
    int rc;
    if (!emp || !emp[0]) {
        inv_reply_status(out, PAY__STATUS__INVALID_ARGUMENT, "employer: required");
        return 0;
    }
    if (!inv_store_has_employer(api->store, txn, emp, &rc)) {
        if (rc != 0)
            return rc;
        inv_reply_status(out, PAY__STATUS__UNKNOWN_EMPLOYER, "no employer %s", emp);
        return 0;
    }
    if ((rc = inv_store_each_doc(api->store, txn, emp, s_keep, &ds)) != 0)
        goto done;
    int64_t outstanding = 0, unallocated = 0;
    for (size_t i = 0; i < ds.n; i++) {
        const Pay__StoredDocument *d = ds.d[i];
        int credit = d->kind == INV_KIND_CREDIT_NOTE;
        inv_kind_t kind;
        uint64_t seq = 0;
        inv_parse_number(d->number, &kind, &seq);
        s_row_t *r = s_row_add(&rs);
        if (!r) {
            rc = ENOMEM;
            goto done;
        }
        r->date = d->issue_date;
        r->cls = credit ? R_CREDIT : R_INVOICE;
        r->seq = seq;
        r->document = d->number;
        r->kind = credit ? "credit_note" : "invoice";
        r->has_amount = r->has_allocated = 1;
        r->amount = d->total;
        r->allocated = d->allocated;
        if (credit) {
            unallocated += -d->total - d->allocated;
            for (size_t k = 0; k < d->n_allocations; k++) {
                if (!(r = s_row_add(&rs))) {
                    rc = ENOMEM;
                    goto done;
                }
                r->date = d->issue_date;
                r->cls = R_CREDIT;
                r->seq = seq;
                r->sub = k + 1;
                r->document = d->allocations[k]->number;
                r->kind = "allocation";
                r->credit_note = d->number;
                r->has_allocated = 1;
                r->allocated = d->allocations[k]->amount;
            }
        } else {
            outstanding += inv_store_doc_outstanding(d);
            s_pay_ctx_t pc = { &rs, d->number };
            rs.seq = seq;
            rs.sub = 0;
            if ((rc = inv_store_each_payment(api->store, txn, d->number, s_pay_row, &pc)) != 0)
                goto done;
        }
    }
    if (rs.n > 1)
        qsort(rs.r, rs.n, sizeof *rs.r, s_cmp_row);

    Pay__StatementReply *st = inv_reply_alloc(out, sizeof *st);
    Pay__StatementRow **rows = inv_reply_alloc(out, (rs.n ? rs.n : 1) * sizeof *rows);
    if (!st || !rows) {
        rc = ENOMEM;
        goto done;
    }
    pay__statement_reply__init(st);
    int64_t balance = 0;
    for (size_t i = 0; i < rs.n; i++) {
        const s_row_t *x = &rs.r[i];
        Pay__StatementRow *row = inv_reply_alloc(out, sizeof *row);
        char date[CIVIL_DATE_LEN];
        if (!row) {
            rc = ENOMEM;
            goto done;
        }
        pay__statement_row__init(row);
        civil_format_date(x->date, date);
        row->date = inv_reply_strdup(out, date);
        row->document = inv_reply_strdup(out, x->document);
        row->kind = inv_reply_strdup(out, x->kind);
        if (x->credit_note)
            row->credit_note = inv_reply_strdup(out, x->credit_note);
        row->has_amount_pence = x->has_amount;
        row->amount_pence = x->amount;
        row->has_allocated_pence = x->has_allocated;
        row->allocated_pence = x->allocated;
        balance += x->has_amount ? x->amount : 0;
        row->has_balance_pence = 1;
        row->balance_pence = balance;
        rows[i] = row;
    }
    st->employer = inv_reply_strdup(out, emp);
    st->n_rows = rs.n;
    st->rows = rows;
    st->has_balance_pence = st->has_outstanding_pence = st->has_unallocated_pence = 1;
    st->balance_pence = balance;
    st->outstanding_pence = outstanding;
    st->unallocated_pence = unallocated;
    out->reply.statement = st;
    inv_reply_status(out, PAY__STATUS__OK, "%zu rows; balance %lld pence", rs.n,
                     (long long)balance);
done:
    free(rs.r);
    s_docs_free(&ds);
    return rc;
}

/* ---- lines of a period range ------------------------------------------------------ */

/* A week (2026-W48) or a month (2026-11) as its first and last day. */
static int s_period_arg(const char *s, inv_period_t *p)
{
    civil_week_t w;
    int y, m;
    if (s && civil_parse_week(s, &w) == 0)
        return inv_period_of(INV_PERIOD_WEEKLY, civil_week_monday(w), p);
    if (s && civil_parse_month(s, &y, &m) == 0)
        return inv_period_of(INV_PERIOD_MONTHLY, civil_month_first(y, m), p);
    return -1;
}

int inv_report_lines(inv_api_t *api, MDB_txn *txn, inv_reply_t *out, const char *own,
                     const Pay__ListLines *q)
{
    inv_period_t from, to;
    s_docs_t ds = { 0 };
    int rc = 0;
    if (s_period_arg(q->from, &from) != 0) {
        inv_reply_status(out, PAY__STATUS__INVALID_ARGUMENT, "from: a week 2026-W48 or a month 2026-11");
        return 0;
    }
    if (s_period_arg(q->to && q->to[0] ? q->to : q->from, &to) != 0) {
        inv_reply_status(out, PAY__STATUS__INVALID_ARGUMENT, "to: a week 2026-W48 or a month 2026-11");
        return 0;
    }
    if (to.last < from.first) {
        inv_reply_status(out, PAY__STATUS__INVALID_ARGUMENT, "to: must not end before from starts");
        return 0;
    }
    const char *emp = own ? own : (q->employer && q->employer[0] ? q->employer : NULL);
    if ((rc = inv_store_each_doc(api->store, txn, emp, s_keep, &ds)) != 0)
        goto done;
    size_t n = 0, cap = 0;
    Pay__InvoiceLineRow **rows = NULL;
    inv_csv_row_t *cells = malloc(sizeof *cells);
    if (!cells) {
        rc = ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < ds.n && rc == 0; i++) {
        const Pay__StoredDocument *sd = ds.d[i];
        inv_line_t *lines = calloc(sd->n_lines ? sd->n_lines : 1, sizeof *lines);
        int64_t *vats = calloc(sd->n_lines ? sd->n_lines : 1, sizeof *vats);
        inv_doc_t doc;
        if (!lines || !vats) {
            free(lines);
            free(vats);
            rc = ENOMEM;
            break;
        }
        inv_store_doc_view(sd, &doc, lines);
        if (inv_csv_vat_shares(&doc, vats) != 0)
            rc = ENOMEM;
        for (size_t k = 0; rc == 0 && k < doc.n_lines; k++) {
            if (lines[k].period_first < from.first || lines[k].period_first > to.last)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                Pay__InvoiceLineRow **p = realloc(rows, cap * sizeof *p);
                if (!p) {
                    rc = ENOMEM;
                    break;
                }
                rows = p;
            }
            Pay__InvoiceLineRow *row = inv_reply_alloc(out, sizeof *row);
            if (!row) {
                rc = ENOMEM;
                break;
            }
            pay__invoice_line_row__init(row);
            inv_csv_line_cells(&doc, k, vats[k], *cells);
            char **f[INV_CSV_LINES_COLS] = {
                &row->invoice, &row->line, &row->contract, &row->period, &row->period_start,
                &row->period_end, &row->original_invoice, &row->description, &row->quantity,
                &row->unit, &row->unit_price, &row->net, &row->vat_rate_bp, &row->vat,
            };
            for (int c = 0; c < INV_CSV_LINES_COLS; c++)
                *f[c] = inv_reply_strdup(out, (*cells)[c]);
            rows[n++] = row;
        }
        free(lines);
        free(vats);
    }
    free(cells);
    if (rc == 0) {
        Pay__LineList *ll = inv_reply_alloc(out, sizeof *ll);
        Pay__InvoiceLineRow **copy = inv_reply_alloc(out, (n ? n : 1) * sizeof *copy);
        if (ll && copy) {
            pay__line_list__init(ll);
            if (n)
                memcpy(copy, rows, n * sizeof *copy);
            ll->n_rows = n;
            ll->rows = copy;
            out->reply.lines = ll;
            inv_reply_status(out, PAY__STATUS__OK, "%zu lines", n);
        } else {
            rc = ENOMEM;
        }
    }
    free(rows);
done:
    s_docs_free(&ds);
    return rc;
}

/* ---- pending billable lines ----------------------------------------------------------- */

int inv_report_pending(inv_api_t *api, MDB_txn *txn, inv_reply_t *out, const Pay__Pending *q)
{
    inv_pending_t *p = NULL;
    size_t n = 0;
    const char *emp = q->employer && q->employer[0] ? q->employer : NULL;
    int rc = inv_store_pending(api->store, txn, emp, &p, &n);
    if (rc == 0) {
        Pay__PendingList *pl = inv_reply_alloc(out, sizeof *pl);
        Pay__PendingLine **rows = inv_reply_alloc(out, (n ? n : 1) * sizeof *rows);
        if (!pl || !rows) {
            rc = ENOMEM;
            goto done;
        }
        pay__pending_list__init(pl);
        for (size_t i = 0; i < n; i++) {
            Pay__PendingLine *row = inv_reply_alloc(out, sizeof *row);
            char a[CIVIL_DATE_LEN], b[CIVIL_DATE_LEN];
            if (!row) {
                rc = ENOMEM;
                goto done;
            }
            pay__pending_line__init(row);
            civil_format_date(p[i].first, a);
            civil_format_date(p[i].last, b);
            row->employer = inv_reply_strdup(out, p[i].employer);
            row->contract = inv_reply_strdup(out, p[i].contract);
            row->period = inv_reply_strdup(out, p[i].period);
            row->period_start = inv_reply_strdup(out, a);
            row->period_end = inv_reply_strdup(out, b);
            row->has_minutes = row->has_units = 1;
            row->minutes = p[i].minutes;
            row->units = p[i].units;
            row->status = inv_reply_strdup(out, p[i].no_terms ? "NO_TERMS" : "WAITING");
            rows[i] = row;
        }
        pl->n_rows = n;
        pl->rows = rows;
        out->reply.pending = pl;
        inv_reply_status(out, PAY__STATUS__OK, "%zu pending lines", n);
    }
done:
    free(p);
    return rc;
}

/* ---- the journal -------------------------------------------------------------------------- */

typedef struct {
    inv_journal_payment_t *p;
    size_t n, cap;
    const char *employer;
} s_pays_t;

static int s_keep_payment(const char *number, const Pay__StoredPayment *p, void *arg)
{
    s_pays_t *ps = arg;
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        inv_journal_payment_t *q = realloc(ps->p, cap * sizeof *q);
        if (!q)
            return ENOMEM;
        ps->p = q;
        ps->cap = cap;
    }
    inv_journal_payment_t *j = &ps->p[ps->n++];
    memset(j, 0, sizeof *j);
    snprintf(j->number, sizeof j->number, "%s", number);
    snprintf(j->employer, sizeof j->employer, "%s", ps->employer);
    j->date = p->date;
    j->amount = p->amount;
    snprintf(j->reference, sizeof j->reference, "%s", p->reference ? p->reference : "");
    return 0;
}

int inv_report_journal(inv_api_t *api, MDB_txn *txn, inv_reply_t *out)
{
    s_docs_t ds = { 0 };
    s_pays_t ps = { 0 };
    inv_buf_t text = { 0 };
    size_t n_tx = 0;
    int rc = inv_store_each_doc(api->store, txn, NULL, s_keep, &ds);
    for (size_t i = 0; rc == 0 && i < ds.n; i++) {
        if (ds.d[i]->kind == INV_KIND_CREDIT_NOTE)
            continue;
        ps.employer = ds.d[i]->employer;
        rc = inv_store_each_payment(api->store, txn, ds.d[i]->number, s_keep_payment, &ps);
    }
    if (rc == 0 && inv_journal_render((const Pay__StoredDocument *const *)ds.d, ds.n, ps.p, ps.n,
                                      &text, &n_tx) != 0)
        rc = ENOMEM;
    if (rc == 0) {
        Pay__InvoicingJournalReply *j = inv_reply_alloc(out, sizeof *j);
        if (!j) {
            rc = ENOMEM;
        } else {
            pay__invoicing_journal_reply__init(j);
            j->text = inv_reply_strdup(out, text.data ? (const char *)text.data : "");
            j->has_transactions = 1;
            j->transactions = n_tx;
            out->reply.journal = j;
            inv_reply_status(out, PAY__STATUS__OK, "%zu transactions", n_tx);
        }
    }
    inv_buf_free(&text);
    free(ps.p);
    s_docs_free(&ds);
    return rc;
}
