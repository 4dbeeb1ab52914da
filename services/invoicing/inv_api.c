/* inv_api: see inv_api.h. */
#include "backup.h"
#include "inv_api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "clock.h"
#include "feed_quarantine.h"
#include "inv_journal.h"
#include "money.h"

struct inv_arena_block_t {
    inv_arena_block_t *next;
    max_align_t data[];
};

void *inv_reply_alloc(inv_reply_t *r, size_t n)
{
    inv_arena_block_t *b = calloc(1, sizeof *b + n + 1);
    if (!b)
        return NULL;
    b->next = r->arena;
    r->arena = b;
    return b->data;
}

#define s_alloc inv_reply_alloc

char *inv_reply_strdup(inv_reply_t *r, const char *s)
{
    size_t n = strlen(s ? s : "");
    char *p = s_alloc(r, n + 1);
    if (p && n)
        memcpy(p, s, n);
    return p;
}

void inv_reply_free(inv_reply_t *r)
{
    while (r && r->arena) {
        inv_arena_block_t *n = r->arena->next;
        free(r->arena);
        r->arena = n;
    }
}

#define s_strdup inv_reply_strdup

void inv_reply_status(inv_reply_t *r, Pay__Status st, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->reply.has_status = 1;
    r->reply.status = st;
    r->reply.message = s_strdup(r, buf);
}

#define s_status inv_reply_status

static Pay__DocumentSummary *s_summary(inv_reply_t *r, const Pay__StoredDocument *sd)
{
    Pay__DocumentSummary *s = s_alloc(r, sizeof *s);
    char d[CIVIL_DATE_LEN];
    if (!s)
        return NULL;
    pay__document_summary__init(s);
    s->number = s_strdup(r, sd->number);
    s->employer = s_strdup(r, sd->employer);
    civil_format_date(sd->issue_date, d);
    s->issue_date = s_strdup(r, d);
    civil_format_date(sd->tax_point, d);
    s->tax_point = s_strdup(r, d);
    civil_format_date(sd->due_date, d);
    s->due_date = s_strdup(r, d);
    s->has_net_pence = s->has_vat_pence = s->has_total_pence = 1;
    s->net_pence = sd->net_total;
    s->vat_pence = sd->vat_total;
    s->total_pence = sd->total;
    s->period = s_strdup(r, sd->period);
    if (sd->customer && sd->customer->email)
        s->email = s_strdup(r, sd->customer->email);
    return s;
}

Pay__DocumentInfo *inv_reply_doc_info(inv_reply_t *r, const Pay__StoredDocument *sd)
{
    Pay__DocumentInfo *i = s_alloc(r, sizeof *i);
    if (!i)
        return NULL;
    pay__document_info__init(i);
    i->summary = s_summary(r, sd);
    i->has_credit_note = i->has_status = i->has_paid_pence = i->has_outstanding_pence = 1;
    i->credit_note = sd->kind == INV_KIND_CREDIT_NOTE;
    i->status = inv_store_doc_status(sd);
    i->paid_pence = sd->paid;
    i->outstanding_pence = inv_store_doc_outstanding(sd);
    i->has_allocated_pence = 1;
    i->allocated_pence = sd->allocated;
    if (i->credit_note) {
        i->has_unallocated_pence = 1;
        i->unallocated_pence = -sd->total - sd->allocated;
    }
    return i;
}

/* ---- list and overdue ---------------------------------------------------- */

typedef struct {
    inv_reply_t *r;
    Pay__DocumentInfo **items;
    size_t n, cap;
    int overdue;
    int32_t as_of;
} s_list_t;

static int s_list_visit(const Pay__StoredDocument *sd, void *arg)
{
    s_list_t *l = arg;
    /* Credit allocated to an invoice counts as settled, as payments do. */
    if (l->overdue && (inv_store_doc_outstanding(sd) == 0 || sd->due_date >= l->as_of))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        Pay__DocumentInfo **p = realloc(l->items, cap * sizeof *p);
        if (!p)
            return ENOMEM;
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = inv_reply_doc_info(l->r, sd);
    return 0;
}

static int s_list(inv_api_t *api, MDB_txn *txn, inv_reply_t *r, const char *employer,
                  int overdue, int32_t as_of)
{
    s_list_t l = { r, NULL, 0, 0, overdue, as_of };
    int rc = inv_store_each_doc(api->store, txn, employer, s_list_visit, &l);
    if (rc == 0) {
        Pay__DocumentList *dl = s_alloc(r, sizeof *dl);
        Pay__DocumentInfo **items = s_alloc(r, (l.n ? l.n : 1) * sizeof *items);
        if (dl && items) {
            pay__document_list__init(dl);
            if (l.n)   /* l.items is NULL when nothing matched */
                memcpy(items, l.items, l.n * sizeof *items);
            dl->n_documents = l.n;
            dl->documents = items;
            r->reply.documents = dl;
        }
        s_status(r, PAY__STATUS__OK, "%zu documents", l.n);
    }
    free(l.items);
    return rc;
}

/* ---- handlers --------------------------------------------------------------- */

static int s_upserts(inv_api_t *api, MDB_txn *txn, inv_reply_t *r, const Pay__InvoicingRequest *req)
{
    int employers = req->body_case == PAY__INVOICING_REQUEST__BODY_UPSERT_EMPLOYERS;
    size_t n = employers ? req->upsert_employers->n_rows : req->upsert_terms->n_rows;
    Pay__ItemResult **items = s_alloc(r, (n ? n : 1) * sizeof *items);
    size_t ok = 0;
    if (!items)
        return ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char msg[160];
        int rc = 0;
        MDB_txn *row = NULL;
        /* A refused row changes nothing: each row in its own nested txn. */
        if ((rc = mdb_txn_begin(mdb_txn_env(txn), txn, 0, &row)) != 0)
            return rc;
        Pay__Status st = employers
            ? inv_store_upsert_employer(api->store, row, req->upsert_employers->rows[i], msg, sizeof msg, &rc)
            : inv_store_upsert_terms(api->store, row, req->upsert_terms->rows[i], msg, sizeof msg, &rc);
        if (rc != 0) {
            mdb_txn_abort(row);
            return rc;
        }
        if (st == PAY__STATUS__OK) {
            if ((rc = mdb_txn_commit(row)) != 0)
                return rc;
            ok++;
        } else {
            mdb_txn_abort(row);
        }
        Pay__ItemResult *it = s_alloc(r, sizeof *it);
        if (!it)
            return ENOMEM;
        pay__item_result__init(it);
        it->has_index = it->has_status = 1;
        it->index = (uint32_t)i;
        it->status = st;
        it->message = s_strdup(r, msg);
        it->key = s_strdup(r, employers ? req->upsert_employers->rows[i]->id
                                        : req->upsert_terms->rows[i]->contract);
        items[i] = it;
    }
    r->reply.n_items = n;
    r->reply.items = items;
    s_status(r, PAY__STATUS__OK, "%zu of %zu rows accepted", ok, n);
    return 0;
}

static int s_date_or_today(const char *s, int32_t *day)
{
    if (!s || !s[0]) {
        *day = clock_today();
        return 0;
    }
    return civil_parse_date(s, day);
}

static int s_issue(inv_api_t *api, MDB_txn *txn, inv_reply_t *r, const Pay__Issue *is)
{
    inv_issue_opts_t o;
    char missing[256];
    memset(&o, 0, sizeof o);
    o.supplier = &api->supplier;
    if (inv_supplier_missing(&api->supplier, missing, sizeof missing) > 0) {
        s_status(r, PAY__STATUS__FAILED_PRECONDITION,
                 "nothing is issued until the supplier's details are configured: missing %s "
                 "(pay-invoicing --supplier-config FILE, or --supplier-* flags)", missing);
        return -1;
    }
    if (s_date_or_today(is->issue_date, &o.issue_date) != 0) {
        s_status(r, PAY__STATUS__INVALID_ARGUMENT, "issue_date: YYYY-MM-DD");
        return -1;
    }
    if (is->employer && is->employer[0]) {
        int rc;
        MDB_val v;
        o.employer = is->employer;
        rc = store_get(txn, inv_store_dbi(api->store, "employers"), is->employer,
                       strlen(is->employer), &v);
        if (rc == MDB_NOTFOUND) {
            s_status(r, PAY__STATUS__UNKNOWN_EMPLOYER, "no employer %s", is->employer);
            return -1;
        }
        if (rc != 0)
            return rc;
    }
    if (is->period && is->period[0]) {
        civil_week_t w;
        int y, m;
        o.has_period = 1;
        if (civil_parse_week(is->period, &w) == 0)
            inv_period_of(INV_PERIOD_WEEKLY, civil_week_monday(w), &o.period);
        else if (civil_parse_month(is->period, &y, &m) == 0)
            inv_period_of(INV_PERIOD_MONTHLY, civil_month_first(y, m), &o.period);
        else {
            s_status(r, PAY__STATUS__INVALID_ARGUMENT, "period: 2026-W48 or 2026-11");
            return -1;
        }
    }
    inv_issued_t *out = NULL;
    size_t n = 0;
    int rc = inv_store_issue(api->store, txn, &o, &out, &n);
    if (rc != 0) {
        free(out);
        return rc;
    }
    Pay__IssueResult *res = s_alloc(r, sizeof *res);
    Pay__DocumentSummary **docs = s_alloc(r, (n ? n : 1) * sizeof *docs);
    if (!res || !docs) {
        free(out);
        return ENOMEM;
    }
    pay__issue_result__init(res);
    for (size_t i = 0; i < n; i++) {
        Pay__StoredDocument sd = PAY__STORED_DOCUMENT__INIT;
        sd.number = out[i].number;
        sd.employer = out[i].employer;
        sd.issue_date = out[i].issue_date;
        sd.tax_point = out[i].tax_point;
        sd.due_date = out[i].due_date;
        sd.net_total = out[i].net;
        sd.vat_total = out[i].vat;
        sd.total = out[i].total;
        sd.period = out[i].period;
        docs[i] = s_summary(r, &sd);
    }
    res->n_documents = n;
    res->documents = docs;
    r->reply.issued = res;
    s_status(r, PAY__STATUS__OK, "%zu documents issued", n);
    free(out);
    return 0;
}

/* A document issued before its employer registered a Peppol endpoint has
 * none on it: the endpoint registered since is its address on the network
 * (the name, address and VAT number on the document stay as issued). */
static int s_current_endpoint(inv_api_t *api, MDB_txn *txn, inv_doc_t *doc)
{
    MDB_val v;
    int rc = store_get(txn, inv_store_dbi(api->store, "employers"), doc->employer,
                       strlen(doc->employer), &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    Pay__StoredEmployer *e = pay__stored_employer__unpack(NULL, v.mv_size, v.mv_data);
    if (!e)
        return MDB_CORRUPTED;
    if (e->endpoint_scheme && e->endpoint_scheme[0] && e->endpoint_id && e->endpoint_id[0]) {
        snprintf(doc->customer.endpoint_scheme, sizeof doc->customer.endpoint_scheme, "%s",
                 e->endpoint_scheme);
        snprintf(doc->customer.endpoint_id, sizeof doc->customer.endpoint_id, "%s",
                 e->endpoint_id);
    }
    pay__stored_employer__free_unpacked(e, NULL);
    return 0;
}

static int s_get(inv_api_t *api, MDB_txn *txn, inv_reply_t *r, const auth_identity_t *caller,
                 const Pay__GetDocument *g)
{
    int rc = 0;
    inv_kind_t kind;
    uint64_t seq;
    if (!g->number || inv_parse_number(g->number, &kind, &seq) != 0) {
        s_status(r, PAY__STATUS__INVALID_ARGUMENT, "number: INV-000001 or CRN-000001");
        return 0;
    }
    Pay__StoredDocument *sd = inv_store_get_doc(api->store, txn, g->number, &rc);
    if (!sd && rc != MDB_NOTFOUND)
        return rc;
    /* Another employer's document is answered exactly like a missing one. */
    if (!sd || (caller->role == ROLE_EMPLOYER && strcmp(sd->employer, caller->scope) != 0)) {
        s_status(r, PAY__STATUS__NOT_FOUND, "no document %s", g->number);
        if (sd)
            protobuf_c_message_free_unpacked(&sd->base, NULL);
        return 0;
    }
    Pay__DocumentContent *dc = s_alloc(r, sizeof *dc);
    if (!dc) {
        protobuf_c_message_free_unpacked(&sd->base, NULL);
        return ENOMEM;
    }
    pay__document_content__init(dc);
    dc->info = inv_reply_doc_info(r, sd);
    Pay__DocumentFormat fmt = g->has_format ? g->format : PAY__DOCUMENT_FORMAT__FORMAT_UNSPECIFIED;
    if (fmt != PAY__DOCUMENT_FORMAT__FORMAT_UNSPECIFIED) {
        inv_line_t *lines = calloc(sd->n_lines ? sd->n_lines : 1, sizeof *lines);
        inv_doc_t doc;
        inv_buf_t buf = { 0 };
        int bad = !lines;
        if (!bad) {
            inv_store_doc_view(sd, &doc, lines);
            if (fmt == PAY__DOCUMENT_FORMAT__UBL && !inv_ubl_addressable(&doc)) {
                rc = s_current_endpoint(api, txn, &doc);
                if (rc != 0 || !inv_ubl_addressable(&doc)) {
                    free(lines);
                    protobuf_c_message_free_unpacked(&sd->base, NULL);
                    if (rc != 0)
                        return rc;
                    s_status(r, PAY__STATUS__FAILED_PRECONDITION,
                             "%s: no UBL document: employer %s has no Peppol endpoint and no VAT "
                             "number, so it has no electronic address (register its "
                             "peppol_endpoint as scheme:id, or its VAT number); the PDF and CSV "
                             "are available", g->number, doc.employer);
                    return 0;
                }
            }
            bad = fmt == PAY__DOCUMENT_FORMAT__PDF ? inv_pdf_render(&doc, &buf)
                : fmt == PAY__DOCUMENT_FORMAT__CSV ? inv_csv_render(&doc, &buf)
                : inv_ubl_render(&doc, &buf);
        }
        if (!bad) {
            uint8_t *copy = s_alloc(r, buf.len);
            if (copy) {
                memcpy(copy, buf.data, buf.len);
                dc->has_content = dc->has_format = 1;
                dc->content.data = copy;
                dc->content.len = buf.len;
                dc->format = fmt;
                dc->content_type = s_strdup(r, fmt == PAY__DOCUMENT_FORMAT__PDF ? "application/pdf"
                                               : fmt == PAY__DOCUMENT_FORMAT__CSV ? "text/csv"
                                               : "application/xml");
            } else {
                bad = 1;
            }
        }
        inv_buf_free(&buf);
        free(lines);
        if (bad) {
            protobuf_c_message_free_unpacked(&sd->base, NULL);
            s_status(r, PAY__STATUS__INTERNAL, "could not render %s", g->number);
            return 0;
        }
    }
    r->reply.document = dc;
    s_status(r, PAY__STATUS__OK, "%s", sd->number);
    protobuf_c_message_free_unpacked(&sd->base, NULL);
    return 0;
}

static int s_payment(inv_api_t *api, MDB_txn *txn, inv_reply_t *r, const Pay__RecordPayment *p)
{
    int64_t amount;
    int32_t date;
    char msg[160];
    int rc = 0;
    if (!p->number || !p->number[0]) {
        s_status(r, PAY__STATUS__INVALID_ARGUMENT, "number: required");
        return -1;
    }
    if (!p->amount || money_parse(p->amount, 0, &amount) != 0 || amount <= 0) {
        s_status(r, PAY__STATUS__INVALID_ARGUMENT, "amount: pounds above 0, e.g. 12.50");
        return -1;
    }
    if (!p->date || civil_parse_date(p->date, &date) != 0) {
        s_status(r, PAY__STATUS__INVALID_ARGUMENT, "date: YYYY-MM-DD");
        return -1;
    }
    if (p->reference && strlen(p->reference) > 128) {
        s_status(r, PAY__STATUS__INVALID_ARGUMENT, "reference: at most 128 characters");
        return -1;
    }
    Pay__Status st = inv_store_record_payment(api->store, txn, p->number, amount, date,
                                              p->reference, msg, sizeof msg, &rc);
    if (rc != 0)
        return rc;
    s_status(r, st, "%s", msg);
    if (st != PAY__STATUS__OK)
        return -1;
    Pay__StoredDocument *sd = inv_store_get_doc(api->store, txn, p->number, &rc);
    if (sd) {
        Pay__DocumentContent *dc = s_alloc(r, sizeof *dc);
        if (dc) {
            pay__document_content__init(dc);
            dc->info = inv_reply_doc_info(r, sd);
            r->reply.document = dc;
        }
        protobuf_c_message_free_unpacked(&sd->base, NULL);
    }
    return 0;
}

/* An event that could not be applied leaves its prison-week unreconciled;
 * one naming no prison-week leaves every row so. */
typedef struct {
    Pay__Reconciliation *rec;
    uint32_t unplaced;
} s_quarantined_t;

static int s_count_quarantined(const Pay__QuarantinedEvent *ev, void *arg)
{
    s_quarantined_t *q = arg;
    if (!ev->prison || !*ev->prison || !ev->week || !*ev->week) {
        q->unplaced++;
        return 0;
    }
    for (size_t i = 0; i < q->rec->n_rows; i++)
        if (strcmp(q->rec->rows[i]->prison, ev->prison) == 0 &&
            strcmp(q->rec->rows[i]->week, ev->week) == 0) {
            q->rec->rows[i]->has_quarantined = 1;
            q->rec->rows[i]->quarantined++;
        }
    return 0;
}

static int s_reconcile(inv_api_t *api, MDB_txn *txn, inv_reply_t *r, const Pay__Reconcile *q)
{
    inv_recon_t *rows = NULL;
    size_t n = 0;
    if (q->week && q->week[0]) {
        civil_week_t w;
        if (civil_parse_week(q->week, &w) != 0) {
            s_status(r, PAY__STATUS__INVALID_ARGUMENT, "week: 2026-W48");
            return 0;
        }
    }
    int rc = inv_store_reconcile(api->store, txn, q->prison, q->week, &rows, &n);
    if (rc == 0) {
        Pay__Reconciliation *rec = s_alloc(r, sizeof *rec);
        Pay__ReconRow **items = s_alloc(r, (n ? n : 1) * sizeof *items);
        if (rec && items) {
            pay__reconciliation__init(rec);
            for (size_t i = 0; i < n; i++) {
                Pay__ReconRow *row = s_alloc(r, sizeof *row);
                char wk[CIVIL_WEEK_LEN];
                if (!row)
                    break;
                pay__recon_row__init(row);
                row->prison = s_strdup(r, rows[i].prison);
                civil_format_week(civil_week_from_key(rows[i].week_key), wk);
                row->week = s_strdup(r, wk);
                row->has_billable_minutes = row->has_minutes_invoiced = row->has_minutes_pending = 1;
                row->billable_minutes = rows[i].billable;
                row->minutes_invoiced = rows[i].invoiced;
                row->minutes_pending = rows[i].pending;
                items[i] = row;
                rec->n_rows = i + 1;
            }
            rec->rows = items;
            r->reply.reconciliation = rec;
            s_quarantined_t qt = {rec, 0};
            rc = feed_quarantine_each(txn, inv_store_store(api->store), INV_FEED_NAME,
                                      s_count_quarantined, &qt);
            for (size_t i = 0; rc == 0 && qt.unplaced && i < rec->n_rows; i++) {
                rec->rows[i]->has_quarantined = 1;
                rec->rows[i]->quarantined += qt.unplaced;
            }
        }
        s_status(r, PAY__STATUS__OK, "%zu rows", n);
    }
    free(rows);
    return rc;
}

static void *s_pb_alloc(void *data, size_t n)
{
    return s_alloc(data, n);
}

static void s_pb_free(void *data, void *p)
{
    (void)data;
    (void)p;   /* released with the reply's arena */
}

static int s_quarantine(inv_api_t *api, MDB_txn *txn, inv_reply_t *r, const char *feed,
                        int retry, uint64_t seq)
{
    if (feed && *feed && strcmp(feed, INV_FEED_NAME) != 0) {
        s_status(r, PAY__STATUS__INVALID_ARGUMENT, "feed: this service consumes only \"%s\"",
                 INV_FEED_NAME);
        return 0;
    }
    Pay__QuarantineReply *q = s_alloc(r, sizeof *q);
    if (!q)
        return ENOMEM;
    pay__quarantine_reply__init(q);
    ProtobufCAllocator pa = {s_pb_alloc, s_pb_free, r};
    store_t *st = inv_store_store(api->store);
    uint32_t applied = 0, remaining = 0;
    int rc = 0;
    if (retry && (rc = feed_quarantine_retry(txn, st, INV_FEED_NAME, seq, inv_store_apply_event,
                                              api->store, &applied, &remaining)) != 0)
        return rc;
    if ((rc = feed_quarantine_reply(txn, st, INV_FEED_NAME, &pa, q)) != 0)
        return rc;
    q->has_applied = retry;
    q->applied = applied;
    r->reply.quarantine = q;
    s_status(r, PAY__STATUS__OK, "%s%u event(s) quarantined", retry ? "retried; " : "",
             q->remaining);
    return 0;
}

static int s_exceptions(inv_api_t *api, MDB_txn *txn, inv_reply_t *r)
{
    inv_no_terms_t *rows = NULL;
    size_t n = 0;
    int rc = inv_store_no_terms(api->store, txn, &rows, &n);
    if (rc == 0) {
        Pay__ExceptionList *el = s_alloc(r, sizeof *el);
        Pay__NoTermsRow **items = s_alloc(r, (n ? n : 1) * sizeof *items);
        if (el && items) {
            pay__exception_list__init(el);
            for (size_t i = 0; i < n; i++) {
                Pay__NoTermsRow *row = s_alloc(r, sizeof *row);
                char d[CIVIL_DATE_LEN];
                if (!row)
                    break;
                pay__no_terms_row__init(row);
                row->employer = s_strdup(r, rows[i].employer);
                row->contract = s_strdup(r, rows[i].contract);
                row->prison = s_strdup(r, rows[i].prison);
                civil_format_date(rows[i].day, d);
                row->date = s_strdup(r, d);
                row->has_minutes = row->has_units = 1;
                row->minutes = rows[i].minutes;
                row->units = rows[i].units;
                items[i] = row;
                el->n_no_terms = i + 1;
            }
            el->no_terms = items;
            r->reply.exceptions = el;
        }
        s_status(r, PAY__STATUS__OK, "%zu NO_TERMS days", n);
    }
    free(rows);
    return rc;
}

static int s_health(inv_api_t *api, MDB_txn *txn, inv_reply_t *r)
{
    Pay__HealthReply *h = s_alloc(r, sizeof *h);
    if (!h)
        return ENOMEM;
    pay__health_reply__init(h);
    int rc = inv_store_health(api->store, txn, &h->feed_cursor, &h->documents, &h->outbox_head);
    if (rc != 0)
        return rc;
    h->has_feed_cursor = h->has_documents = h->has_outbox_head = 1;
    if ((rc = feed_quarantine_count(txn, inv_store_store(api->store), NULL, &h->quarantined)) != 0)
        return rc;
    h->has_quarantined = 1;
    if (api->consumer) {
        feed_consumer_stats_t st;
        feed_consumer_stats(api->consumer, &st);
        h->has_feed_head = 1;
        h->feed_head = st.head_seq > h->feed_cursor ? st.head_seq : h->feed_cursor;
    }
    r->reply.health = h;
    s_status(r, PAY__STATUS__OK, "ok");
    return 0;
}

/* A compact hot backup, named by the caller, under the service's backup
 * folder: checked here, taken off the loop by the service's handler
 * (backup.h), which answers it once the copy is on disk. */
static int s_backup(inv_api_t *api, inv_reply_t *r, const Pay__InvoicingBackup *b)
{
    char err[BACKUP_ERR_LEN];
    (void)api;
    if (b->dir) {
        s_status(r, PAY__STATUS__INVALID_ARGUMENT, "dir: no longer accepted; a backup is "
                 "given a name and goes under the service's --backup-dir");
        return 0;
    }
    if (backup_name_check(b->name, err) != 0) {
        s_status(r, PAY__STATUS__INVALID_ARGUMENT, "%s", err);
        return 0;
    }
    r->backup = b;
    s_status(r, PAY__STATUS__OK, "backup %s accepted", b->name);
    return 0;
}

int inv_api_handle(inv_api_t *api, const auth_identity_t *caller,
                   const Pay__InvoicingRequest *req, MDB_txn *txn, inv_reply_t *out)
{
    memset(out, 0, sizeof *out);
    pay__invoicing_reply__init(&out->reply);
    auth_role_t role = caller->role;
    int finance = role == ROLE_FINANCE, industries = role == ROLE_INDUSTRIES,
        employer = role == ROLE_EMPLOYER && caller->scope[0];
    out->readonly = 1;
    switch (req->body_case) {
    case PAY__INVOICING_REQUEST__BODY_UPSERT_EMPLOYERS:
    case PAY__INVOICING_REQUEST__BODY_UPSERT_TERMS:
        if (!industries)
            break;
        out->readonly = 0;
        return s_upserts(api, txn, out, req);
    case PAY__INVOICING_REQUEST__BODY_ISSUE:
        if (!finance)
            break;
        out->readonly = 0;
        return s_issue(api, txn, out, req->issue);
    case PAY__INVOICING_REQUEST__BODY_PAYMENT:
        if (!finance)
            break;
        out->readonly = 0;
        return s_payment(api, txn, out, req->payment);
    case PAY__INVOICING_REQUEST__BODY_LIST:
        if (employer)
            return s_list(api, txn, out, caller->scope, 0, 0);
        if (!finance)
            break;
        return s_list(api, txn, out, req->list->employer && req->list->employer[0]
                                         ? req->list->employer : NULL, 0, 0);
    case PAY__INVOICING_REQUEST__BODY_GET:
        /* A service key too: the delivery service (services/mailer)
         * fetches each document it e-mails. */
        if (!finance && !employer && role != ROLE_SERVICE)
            break;
        return s_get(api, txn, out, caller, req->get);
    case PAY__INVOICING_REQUEST__BODY_OVERDUE: {
        int32_t as_of;
        if (!finance)
            break;
        if (s_date_or_today(req->overdue->as_of, &as_of) != 0) {
            s_status(out, PAY__STATUS__INVALID_ARGUMENT, "as_of: YYYY-MM-DD");
            return 0;
        }
        return s_list(api, txn, out, NULL, 1, as_of);
    }
    case PAY__INVOICING_REQUEST__BODY_RECONCILE:
        if (!finance)
            break;
        return s_reconcile(api, txn, out, req->reconcile);
    case PAY__INVOICING_REQUEST__BODY_EXCEPTIONS:
        if (!finance)
            break;
        return s_exceptions(api, txn, out);
    case PAY__INVOICING_REQUEST__BODY_HEALTH:
        /* Operators' view, as in hours and wages: an employer reads its own
         * documents and nothing else. */
        if (role == ROLE_NONE || role == ROLE_EMPLOYER)
            break;
        return s_health(api, txn, out);
    case PAY__INVOICING_REQUEST__BODY_QUARANTINE_LIST:
        if (!finance)
            break;
        return s_quarantine(api, txn, out, req->quarantine_list->feed, 0, 0);
    case PAY__INVOICING_REQUEST__BODY_QUARANTINE_RETRY:
        if (!finance)
            break;
        out->readonly = 0;
        return s_quarantine(api, txn, out, req->quarantine_retry->feed, 1,
                            req->quarantine_retry->has_seq ? req->quarantine_retry->seq : 0);
    case PAY__INVOICING_REQUEST__BODY_BACKUP:
        if (!finance)
            break;
        return s_backup(api, out, req->backup);
    /* Reports (inv_report.c): finance for any employer, an employer for
     * its own; the journal is finance's. */
    case PAY__INVOICING_REQUEST__BODY_STATEMENT:
        if (!finance && !employer)
            break;
        return inv_report_statement(api, txn, out, employer ? caller->scope : NULL,
                                    req->statement);
    case PAY__INVOICING_REQUEST__BODY_LINES:
        if (!finance && !employer)
            break;
        return inv_report_lines(api, txn, out, employer ? caller->scope : NULL, req->lines);
    case PAY__INVOICING_REQUEST__BODY_PENDING:
        if (!finance)
            break;
        return inv_report_pending(api, txn, out, req->pending);
    case PAY__INVOICING_REQUEST__BODY_JOURNAL:
        if (!finance)
            break;
        return inv_report_journal(api, txn, out);
    default:
        s_status(out, PAY__STATUS__INVALID_ARGUMENT, "body: no request body");
        return 0;
    }
    s_status(out, PAY__STATUS__PERMISSION_DENIED, "the %s role may not do this",
             auth_role_name(role));
    return 0;
}
