/* pctl_import: see pctl_import.h.
 *
 * A batch owns copies of the cells it sends (the CSV reader reuses its
 * buffer for every record) and the row messages built from them; both are
 * freed once the batch has been answered. Nothing else grows with the file:
 * memory is bounded by one batch, whatever the file's size. */
#include "pctl_import.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "money.h"
#include "csv.h"
#include "hours.pb-c.h"
#include "invoicing.pb-c.h"
#include "client.h"
#include "pctl_conn.h"
#include "pctl_health.h"
#include "wages.pb-c.h"

#define S_DEFAULT_BATCH 500
#define S_MAX_BATCH 5000
#define S_DEFAULT_WINDOW 8
#define S_MAX_WINDOW 64
#define S_PROGRESS_S 10

pctl_service_t pctl_import_service(rows_kind_t kind)
{
    switch (kind) {
    case ROWS_PAY_RATES:
    case ROWS_OUTSIDE_WAGES:
    case ROWS_DEDUCTIONS: return PCTL_SVC_WAGES;
    case ROWS_EMPLOYERS:
    case ROWS_BILLING_TERMS: return PCTL_SVC_INVOICING;
    default: return PCTL_SVC_HOURS;
    }
}

/* ---- request ids ----------------------------------------------------------- */

struct pctl_import_hash_t {
    crypto_generichash_state st;
    rows_kind_t kind;
    unsigned long batch;
};

static void s_hash_str(pctl_import_hash_t *h, const char *s)
{
    /* Length-prefixed, so that ("ab","c") and ("a","bc") differ. */
    unsigned long long len = s ? strlen(s) : 0;
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (unsigned char)(len >> (8 * i));
    crypto_generichash_update(&h->st, lenb, sizeof lenb);
    if (len)
        crypto_generichash_update(&h->st, (const unsigned char *)s, len);
}

pctl_import_hash_t *pctl_import_hash_new(rows_kind_t kind, unsigned long batch,
                                         const char *nonce)
{
    pctl_import_hash_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    char pos[32];
    h->kind = kind;
    h->batch = batch;
    crypto_generichash_init(&h->st, NULL, 0, 16);
    s_hash_str(h, "payctl-import-v1");
    s_hash_str(h, rows_kind_info(kind)->name);
    snprintf(pos, sizeof pos, "%lu", batch);
    s_hash_str(h, pos);
    s_hash_str(h, nonce ? nonce : "");
    return h;
}

void pctl_import_hash_row(pctl_import_hash_t *h, const char *const *cells, size_t ncols,
                          const char *extra)
{
    char n[32];
    snprintf(n, sizeof n, "%zu", ncols);
    s_hash_str(h, n);
    for (size_t i = 0; i < ncols; i++)
        s_hash_str(h, cells[i]);
    s_hash_str(h, extra);
}

void pctl_import_hash_final(pctl_import_hash_t **h_p, char out[PCTL_IMPORT_ID_LEN])
{
    pctl_import_hash_t *h = *h_p;
    unsigned char digest[16];
    char hex[33];
    crypto_generichash_final(&h->st, digest, sizeof digest);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    snprintf(out, PCTL_IMPORT_ID_LEN, "import-%s-%lu-%s", rows_kind_info(h->kind)->name,
             h->batch, hex);
    free(h);
    *h_p = NULL;
}

/* ---- a batch ----------------------------------------------------------------- */

/* A row refused before sending, held so that the report stays in line
 * order with the service's answers for the rows around it. */
typedef struct {
    long line;
    const char *code;           /* a string literal or rows_error_t code */
    char *message;              /* owned */
    char *key;                  /* owned */
} s_local_t;

typedef struct {
    rows_kind_t kind;
    size_t n, cap;
    s_local_t *local;           /* rows refused locally since the last send */
    size_t nlocal;
    long *lines;                /* line of each row */
    char **keys;                /* key of each row (rows_key), owned */
    ProtobufCMessage **msgs;    /* each a heap row message of the kind */
    char **strs;                /* cell copies the messages point to */
    size_t nstrs, capstrs;
    pctl_import_hash_t *hash;
} s_batch_t;

static int s_batch_init(s_batch_t *b, rows_kind_t kind, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->cap = cap;
    b->lines = calloc(cap, sizeof *b->lines);
    b->keys = calloc(cap, sizeof *b->keys);
    b->msgs = calloc(cap, sizeof *b->msgs);
    b->local = calloc(cap, sizeof *b->local);
    b->capstrs = cap * 12;
    b->strs = calloc(b->capstrs, sizeof *b->strs);
    return b->lines && b->keys && b->msgs && b->strs && b->local ? 0 : -1;
}

/* Frees the rows (not the arrays), ready for the next batch. */
static void s_batch_clear(s_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->msgs[i]);
        free(b->keys[i]);
    }
    for (size_t i = 0; i < b->nstrs; i++)
        free(b->strs[i]);
    for (size_t i = 0; i < b->nlocal; i++) {
        free(b->local[i].message);
        free(b->local[i].key);
    }
    b->n = b->nstrs = b->nlocal = 0;
    free(b->hash);
    b->hash = NULL;
}

static void s_batch_free(s_batch_t *b)
{
    s_batch_clear(b);
    free(b->lines);
    free(b->keys);
    free(b->msgs);
    free(b->strs);
    free(b->local);
}

/* A copy of a cell, owned by the batch; NULL for an empty cell (unset). */
static char *s_keep(s_batch_t *b, const char *cell)
{
    if (!cell || !*cell || b->nstrs >= b->capstrs)
        return NULL;
    size_t len = strlen(cell) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    memcpy(s, cell, len);
    b->strs[b->nstrs++] = s;
    return s;
}

/* Builds the row message of one parsed row. Returns NULL when out of
 * memory. */
static ProtobufCMessage *s_build(s_batch_t *b, char **c, const rows_value_t *v)
{
    switch (b->kind) {
    case ROWS_PRISONS: {
        Pay__HoursPrisonRow *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__HoursPrisonRow)PAY__HOURS_PRISON_ROW__INIT;
        m->code = s_keep(b, c[0]);
        m->name = s_keep(b, c[1]);
        m->regime = s_keep(b, c[2]);
        return &m->base;
    }
    case ROWS_PRISONERS: {
        Pay__HoursPrisonerRow *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__HoursPrisonerRow)PAY__HOURS_PRISONER_ROW__INIT;
        m->number = s_keep(b, c[0]);
        m->prison = s_keep(b, c[1]);
        m->incentive_level = s_keep(b, c[2]);
        m->public_contact_cleared_on = s_keep(b, c[3]);
        m->released_on = s_keep(b, c[4]);
        return &m->base;
    }
    case ROWS_EMPLOYERS: {
        Pay__EmployerRow *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__EmployerRow)PAY__EMPLOYER_ROW__INIT;
        m->id = s_keep(b, c[0]);
        m->name = s_keep(b, c[1]);
        m->address = s_keep(b, c[2]);
        m->postcode = s_keep(b, c[3]);
        m->vat_number = s_keep(b, c[4]);
        m->email = s_keep(b, c[5]);
        m->billing_period = s_keep(b, c[6]);
        m->payment_terms_days = s_keep(b, c[7]);
        m->peppol_endpoint = s_keep(b, v->employer.peppol_endpoint);
        return &m->base;
    }
    case ROWS_CONTRACTS: {
        Pay__HoursContractRow *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__HoursContractRow)PAY__HOURS_CONTRACT_ROW__INIT;
        m->id = s_keep(b, c[0]);
        m->employer = s_keep(b, c[1]);
        m->prison = s_keep(b, c[2]);
        m->activity = s_keep(b, c[3]);
        m->work_type = s_keep(b, c[4]);
        m->start = s_keep(b, c[5]);
        m->end = s_keep(b, c[6]);
        m->public_contact = s_keep(b, c[7]);
        m->attested_by = s_keep(b, c[8]);
        m->attested_on = s_keep(b, c[9]);
        m->attestation_ref = s_keep(b, c[10]);
        return &m->base;
    }
    case ROWS_ALLOCATIONS: {
        Pay__HoursAllocationRow *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__HoursAllocationRow)PAY__HOURS_ALLOCATION_ROW__INIT;
        m->prisoner = s_keep(b, c[0]);
        m->contract = s_keep(b, c[1]);
        m->from = s_keep(b, c[2]);
        m->to = s_keep(b, c[3]);
        m->pay_band = s_keep(b, c[4]);
        return &m->base;
    }
    case ROWS_PAY_RATES: {
        const rows_pay_rate_t *r = &v->pay_rate;
        Pay__PayRate *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__PayRate)PAY__PAY_RATE__INIT;
        m->prison = s_keep(b, c[0]);
        m->has_pay_band = 1;
        m->pay_band = r->pay_band;
        m->has_incentive_level = 1;
        m->incentive_level = (Pay__IncentiveLevel)(r->incentive_level + 1);
        m->effective_from = s_keep(b, c[3]);
        m->has_basis = 1;
        m->basis = r->basis == ROWS_RATE_SESSION ? PAY__RATE_BASIS__RATE_SESSION
                                                 : PAY__RATE_BASIS__RATE_HOURLY;
        m->has_rate = 1;
        m->rate = r->rate;
        if (r->has_piece_rate) {
            m->has_piece_rate = m->has_piece_rate_items = 1;
            m->piece_rate = r->piece_rate;
            m->piece_rate_items = r->piece_rate_items;
        }
        return &m->base;
    }
    case ROWS_OUTSIDE_WAGES: {
        Pay__OutsideWage *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__OutsideWage)PAY__OUTSIDE_WAGE__INIT;
        /* No prison: the wage service takes the contract's own prison
         * from the hours feed, never one the client names. */
        m->contract = s_keep(b, c[0]);
        m->effective_from = s_keep(b, c[1]);
        m->has_hourly_wage = 1;
        m->hourly_wage = v->outside_wage.hourly_wage;
        return &m->base;
    }
    case ROWS_BILLING_TERMS: {
        Pay__BillingTermsRow *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__BillingTermsRow)PAY__BILLING_TERMS_ROW__INIT;
        m->contract = s_keep(b, c[0]);
        m->effective_from = s_keep(b, c[1]);
        m->basis = s_keep(b, c[2]);
        m->charge = s_keep(b, c[3]);
        m->vat_rate_bp = s_keep(b, c[4]);
        return &m->base;
    }
    case ROWS_DEDUCTIONS: {
        Pay__Deduction *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__Deduction)PAY__DEDUCTION__INIT;
        m->prisoner = s_keep(b, c[0]);
        m->week = s_keep(b, c[1]);
        m->has_kind = 1;
        m->kind = (Pay__DeductionKind)(v->deduction.kind + 1);
        m->has_amount = 1;
        m->amount = v->deduction.amount;
        return &m->base;
    }
    case ROWS_TRANSFERS: {
        Pay__HoursTransferRow *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__HoursTransferRow)PAY__HOURS_TRANSFER_ROW__INIT;
        m->prisoner = s_keep(b, c[0]);
        m->prison = s_keep(b, c[1]);
        m->effective_from = s_keep(b, c[2]);
        return &m->base;
    }
    case ROWS_INCENTIVE_LEVELS: {
        Pay__HoursIncentiveLevelRow *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__HoursIncentiveLevelRow)PAY__HOURS_INCENTIVE_LEVEL_ROW__INIT;
        m->prisoner = s_keep(b, c[0]);
        m->incentive_level = s_keep(b, c[1]);
        m->effective_from = s_keep(b, c[2]);
        return &m->base;
    }
    case ROWS_HOURS: {
        Pay__HoursRow *m = malloc(sizeof *m);
        if (!m)
            return NULL;
        *m = (Pay__HoursRow)PAY__HOURS_ROW__INIT;
        m->record_id = s_keep(b, c[0]);
        m->prisoner = s_keep(b, c[1]);
        m->contract = s_keep(b, c[2]);
        m->date = s_keep(b, c[3]);
        m->session = s_keep(b, c[4]);
        m->minutes = s_keep(b, c[5]);
        m->units = s_keep(b, c[6]);
        m->outcome = s_keep(b, c[7]);
        m->paid_absence = s_keep(b, c[8]);
        return &m->base;
    }
    case ROWS_KIND_COUNT: break;
    }
    return NULL;
}

/* ---- the import ------------------------------------------------------------ */

typedef struct {
    pctl_ctx_t *ctx;
    const char *file;           /* as named, for messages */
    rows_kind_t kind;
    pctl_conn_t *conn;
    const char *nonce;          /* --rerun */
    out_table_t *rejects;       /* csv / json: collected; table: printed as they come */
    unsigned long batches;      /* batches answered */
    unsigned long sent;         /* batches with rows sent: each one's position in its id */
    long rows, accepted, rejected;
    int tty;
    int progress;               /* a line every S_PROGRESS_S seconds when not on a terminal */
    double t0, last_line;       /* monotonic seconds */
    FILE *f;                    /* for the ETA: the bytes read against the file's size */
    long size;                  /* 0: unknown (a pipe) */
    struct s_slot_t *win;       /* the window: batches in flight, in line order */
    size_t wcap, head, count;
} s_import_t;

static double s_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One rejected row of the report (FORMATS.md: file,line,key,code,message). */
static void s_reject(s_import_t *im, long line, const char *key, const char *code,
                     const char *message)
{
    im->rejected++;
    if (!key)
        key = "";
    if (im->rejects) {
        char l[32];
        snprintf(l, sizeof l, "%ld", line);
        const char *row[] = {im->file, l, key, code, message};
        out_table_add_row(im->rejects, row);
        return;
    }
    if (im->tty)
        fprintf(stderr, "\r\033[K");
    if (key[0])
        printf("line %ld: %s: %s [key %s]\n", line, code, message, key);
    else
        printf("line %ld: %s: %s\n", line, code, message);
}

static void s_progress(s_import_t *im)
{
    if (im->tty) {
        fprintf(stderr, "\r\033[K%s: %ld rows read, %ld accepted, %ld rejected", im->file,
                im->rows, im->accepted, im->rejected);
        return;
    }
    /* A scripted import (stderr a file or a pipe) shows it is alive with
     * a plain line now and then: rate and, when the file's size is known,
     * an estimate of the time left. */
    double now = s_mono();
    if (!im->progress || now - im->last_line < S_PROGRESS_S)
        return;
    im->last_line = now;
    double rate = now > im->t0 ? (double)(im->accepted + im->rejected) / (now - im->t0) : 0;
    fprintf(stderr, "%s: %ld rows read, %ld accepted, %ld rejected, %.0f rows/s", im->file,
            im->rows, im->accepted, im->rejected, rate);
    long at = im->f ? ftell(im->f) : -1;
    if (im->size > 0 && at > 0 && at <= im->size && now > im->t0)
        fprintf(stderr, ", about %.0f s left",
                (double)(im->size - at) / ((double)at / (now - im->t0)));
    fputc('\n', stderr);
}

/* A request and its body, built in place for one batch. */
typedef struct {
    union {
        Pay__HoursRequest h;
        Pay__WagesRequest w;
        Pay__InvoicingRequest i;
    } req;
    union {
        Pay__HoursUpsertPrisons prisons;
        Pay__HoursUpsertPrisoners prisoners;
        Pay__HoursUpsertContracts contracts;
        Pay__HoursUpsertAllocations allocations;
        Pay__HoursUpsertTransfers transfers;
        Pay__HoursUpsertIncentiveLevels levels;
        Pay__SubmitHours hours;
        Pay__SetRates rates;
        Pay__SetOutsideWages wages;
        Pay__SetDeductions deductions;
        Pay__UpsertEmployers employers;
        Pay__UpsertBillingTerms terms;
    } body;
} s_req_t;

/* Sets the count and the typed row array of a body from the batch's
 * messages; the array goes to *arr_out for the caller to free. */
#define S_ROWS(body, nfield, rfield, type, msgs, n)                                   \
    do {                                                                             \
        type **typed_ = malloc((n) * sizeof *typed_);                                \
        if (!typed_)                                                                 \
            return NULL;                                                             \
        for (size_t i_ = 0; i_ < (n); i_++)                                          \
            typed_[i_] = (type *)(void *)(msgs)[i_];                                 \
        (body).nfield = (n);                                                         \
        (body).rfield = typed_;                                                      \
        *arr_out = typed_;                                                           \
    } while (0)

/* Builds the kind's request for the batch in *st. Returns NULL when out of
 * memory. */
static const ProtobufCMessage *s_request(rows_kind_t kind, const s_batch_t *b, void **arr_out,
                                         const char *id, s_req_t *st)
{
    size_t n = b->n;
    ProtobufCMessage **m = b->msgs;
    switch (kind) {
    case ROWS_PRISONS:
    case ROWS_PRISONERS:
    case ROWS_CONTRACTS:
    case ROWS_ALLOCATIONS:
    case ROWS_TRANSFERS:
    case ROWS_INCENTIVE_LEVELS:
    case ROWS_HOURS: {
        Pay__HoursRequest *req = &st->req.h;
        *req = (Pay__HoursRequest)PAY__HOURS_REQUEST__INIT;
        req->request_id = (char *)id;
        if (kind == ROWS_PRISONS) {
            st->body.prisons = (Pay__HoursUpsertPrisons)PAY__HOURS_UPSERT_PRISONS__INIT;
            S_ROWS(st->body.prisons, n_rows, rows, Pay__HoursPrisonRow, m, n);
            req->body_case = PAY__HOURS_REQUEST__BODY_UPSERT_PRISONS;
            req->upsert_prisons = &st->body.prisons;
        } else if (kind == ROWS_PRISONERS) {
            st->body.prisoners = (Pay__HoursUpsertPrisoners)PAY__HOURS_UPSERT_PRISONERS__INIT;
            S_ROWS(st->body.prisoners, n_rows, rows, Pay__HoursPrisonerRow, m, n);
            req->body_case = PAY__HOURS_REQUEST__BODY_UPSERT_PRISONERS;
            req->upsert_prisoners = &st->body.prisoners;
        } else if (kind == ROWS_CONTRACTS) {
            st->body.contracts = (Pay__HoursUpsertContracts)PAY__HOURS_UPSERT_CONTRACTS__INIT;
            S_ROWS(st->body.contracts, n_rows, rows, Pay__HoursContractRow, m, n);
            req->body_case = PAY__HOURS_REQUEST__BODY_UPSERT_CONTRACTS;
            req->upsert_contracts = &st->body.contracts;
        } else if (kind == ROWS_ALLOCATIONS) {
            st->body.allocations = (Pay__HoursUpsertAllocations)PAY__HOURS_UPSERT_ALLOCATIONS__INIT;
            S_ROWS(st->body.allocations, n_rows, rows, Pay__HoursAllocationRow, m, n);
            req->body_case = PAY__HOURS_REQUEST__BODY_UPSERT_ALLOCATIONS;
            req->upsert_allocations = &st->body.allocations;
        } else if (kind == ROWS_TRANSFERS) {
            st->body.transfers = (Pay__HoursUpsertTransfers)PAY__HOURS_UPSERT_TRANSFERS__INIT;
            S_ROWS(st->body.transfers, n_rows, rows, Pay__HoursTransferRow, m, n);
            req->body_case = PAY__HOURS_REQUEST__BODY_UPSERT_TRANSFERS;
            req->upsert_transfers = &st->body.transfers;
        } else if (kind == ROWS_INCENTIVE_LEVELS) {
            st->body.levels = (Pay__HoursUpsertIncentiveLevels)PAY__HOURS_UPSERT_INCENTIVE_LEVELS__INIT;
            S_ROWS(st->body.levels, n_rows, rows, Pay__HoursIncentiveLevelRow, m, n);
            req->body_case = PAY__HOURS_REQUEST__BODY_UPSERT_INCENTIVE_LEVELS;
            req->upsert_incentive_levels = &st->body.levels;
        } else {
            st->body.hours = (Pay__SubmitHours)PAY__SUBMIT_HOURS__INIT;
            S_ROWS(st->body.hours, n_records, records, Pay__HoursRow, m, n);
            req->body_case = PAY__HOURS_REQUEST__BODY_SUBMIT_HOURS;
            req->submit_hours = &st->body.hours;
        }
        return &req->base;
    }
    case ROWS_PAY_RATES:
    case ROWS_OUTSIDE_WAGES:
    case ROWS_DEDUCTIONS: {
        Pay__WagesRequest *req = &st->req.w;
        *req = (Pay__WagesRequest)PAY__WAGES_REQUEST__INIT;
        req->request_id = (char *)id;
        if (kind == ROWS_PAY_RATES) {
            st->body.rates = (Pay__SetRates)PAY__SET_RATES__INIT;
            S_ROWS(st->body.rates, n_rates, rates, Pay__PayRate, m, n);
            req->body_case = PAY__WAGES_REQUEST__BODY_SET_RATES;
            req->set_rates = &st->body.rates;
        } else if (kind == ROWS_OUTSIDE_WAGES) {
            st->body.wages = (Pay__SetOutsideWages)PAY__SET_OUTSIDE_WAGES__INIT;
            S_ROWS(st->body.wages, n_wages, wages, Pay__OutsideWage, m, n);
            req->body_case = PAY__WAGES_REQUEST__BODY_SET_OUTSIDE_WAGES;
            req->set_outside_wages = &st->body.wages;
        } else {
            st->body.deductions = (Pay__SetDeductions)PAY__SET_DEDUCTIONS__INIT;
            S_ROWS(st->body.deductions, n_deductions, deductions, Pay__Deduction, m, n);
            req->body_case = PAY__WAGES_REQUEST__BODY_SET_DEDUCTIONS;
            req->set_deductions = &st->body.deductions;
        }
        return &req->base;
    }
    case ROWS_EMPLOYERS:
    case ROWS_BILLING_TERMS: {
        Pay__InvoicingRequest *req = &st->req.i;
        *req = (Pay__InvoicingRequest)PAY__INVOICING_REQUEST__INIT;
        req->request_id = (char *)id;
        if (kind == ROWS_EMPLOYERS) {
            st->body.employers = (Pay__UpsertEmployers)PAY__UPSERT_EMPLOYERS__INIT;
            S_ROWS(st->body.employers, n_rows, rows, Pay__EmployerRow, m, n);
            req->body_case = PAY__INVOICING_REQUEST__BODY_UPSERT_EMPLOYERS;
            req->upsert_employers = &st->body.employers;
        } else {
            st->body.terms = (Pay__UpsertBillingTerms)PAY__UPSERT_BILLING_TERMS__INIT;
            S_ROWS(st->body.terms, n_rows, rows, Pay__BillingTermsRow, m, n);
            req->body_case = PAY__INVOICING_REQUEST__BODY_UPSERT_TERMS;
            req->upsert_terms = &st->body.terms;
        }
        return &req->base;
    }
    case ROWS_KIND_COUNT: break;
    }
    return NULL;
}

/* The header fields every reply starts with, and its items. */
typedef struct {
    Pay__Status status;
    const char *message;
    size_t n_items;
    Pay__ItemResult **items;
} s_reply_t;

static void s_reply_view(rows_kind_t kind, const ProtobufCMessage *m, s_reply_t *r)
{
    switch (pctl_import_service(kind)) {
    case PCTL_SVC_HOURS: {
        const Pay__HoursReply *h = (const Pay__HoursReply *)m;
        *r = (s_reply_t){h->status, h->message, h->n_items, h->items};
        break;
    }
    case PCTL_SVC_WAGES: {
        const Pay__WagesReply *w = (const Pay__WagesReply *)m;
        *r = (s_reply_t){w->status, w->message, w->n_items, w->items};
        break;
    }
    default: {
        const Pay__InvoicingReply *v = (const Pay__InvoicingReply *)m;
        *r = (s_reply_t){v->status, v->message, v->n_items, v->items};
        break;
    }
    }
}

static const ProtobufCMessageDescriptor *s_reply_desc(rows_kind_t kind)
{
    switch (pctl_import_service(kind)) {
    case PCTL_SVC_HOURS: return &pay__hours_reply__descriptor;
    case PCTL_SVC_WAGES: return &pay__wages_reply__descriptor;
    default: return &pay__invoicing_reply__descriptor;
    }
}

/* Reports the batch's rows in line order: the service's answers
 * (answer[i] for row i; NULL: the whole request's status `all`) merged with
 * the rows refused locally. */
static void s_report(s_import_t *im, s_batch_t *b, const Pay__ItemResult *const *answer,
                     Pay__Status all, const char *all_message)
{
    size_t i = 0, j = 0;
    while (i < b->n || j < b->nlocal) {
        if (j < b->nlocal && (i >= b->n || b->local[j].line < b->lines[i])) {
            s_reject(im, b->local[j].line, b->local[j].key, b->local[j].code,
                     b->local[j].message);
            j++;
            continue;
        }
        const Pay__ItemResult *it = answer ? answer[i] : NULL;
        if (it && it->status == PAY__STATUS__OK)
            im->accepted++;
        else if (it)
            s_reject(im, b->lines[i], b->keys[i], codec_status_name(it->status),
                     it->message ? it->message : "");
        else
            s_reject(im, b->lines[i], b->keys[i], codec_status_name(all), all_message);
        i++;
    }
}

/* ---- the window ------------------------------------------------------------- */

/* One batch of the window: filled, then sent, then answered; reported in
 * line order once every batch before it is reported. */
typedef struct s_slot_t {
    s_batch_t b;
    char id[PCTL_IMPORT_ID_LEN];
    int sent;                   /* its request is out */
    int done;                   /* answered (reply set) or nothing to send */
    ProtobufCMessage *reply;
} s_slot_t;

static s_batch_t *s_cur(s_import_t *im)
{
    return &im->win[(im->head + im->count) % im->wcap].b;
}

/* Packs and sends the slot's request (again, on a resend: the same id, so
 * the service answers a duplicate from its stored first answer). */
static int s_transmit(s_import_t *im, s_slot_t *sl)
{
    s_req_t storage;
    void *arr = NULL;
    const ProtobufCMessage *req = s_request(im->kind, &sl->b, &arr, sl->id, &storage);
    int rc = req ? client_send(pctl_conn_client(im->conn), req, NULL) : -1;
    free(arr);
    if (!req)
        pctl_fail(im->ctx, "out of memory");
    return rc;
}

/* Reports an answered slot and frees its rows. */
static void s_complete(s_import_t *im, s_slot_t *sl)
{
    s_batch_t *b = &sl->b;
    if (!sl->reply) {
        s_report(im, b, NULL, PAY__STATUS__OK, "");
        s_batch_clear(b);
        return;
    }
    const Pay__ItemResult **answer = calloc(b->n, sizeof *answer);
    s_reply_t r;
    s_reply_view(im->kind, sl->reply, &r);
    for (size_t i = 0; answer && i < r.n_items; i++) {
        const Pay__ItemResult *it = r.items[i];
        if (it->has_index && it->index < b->n && !answer[it->index])
            answer[it->index] = it;
    }
    /* A refusal of the whole request (permission, malformed, a server
     * error) leaves rows without an item: each gets the request's answer. */
    s_report(im, b, answer, r.status != PAY__STATUS__OK ? r.status : PAY__STATUS__INTERNAL,
             r.status != PAY__STATUS__OK && r.message ? r.message
                                                      : "the service gave no answer for this row");
    im->batches++;
    s_progress(im);
    free(answer);
    codec_free(&sl->reply);
    s_batch_clear(b);
}

/* Reports the answered slots at the head of the window. */
static void s_drain(s_import_t *im)
{
    while (im->count && im->win[im->head].done) {
        s_slot_t *sl = &im->win[im->head];
        s_complete(im, sl);
        sl->done = sl->sent = 0;
        im->head = (im->head + 1) % im->wcap;
        im->count--;
    }
}

/* Waits for one reply (or a timeout) and files it. On silence for the
 * whole timeout, resends every unanswered batch, at most the connection's
 * retry count in a row. Returns 0, or -1 when the service stays silent. */
static int s_pump(s_import_t *im, int *tries)
{
    client_t *c = pctl_conn_client(im->conn);
    const int timeout = pctl_conn_timeout_ms(im->conn);
    ProtobufCMessage *reply = NULL;
    if (client_recv(c, s_reply_desc(im->kind), timeout, &reply) == 0) {
        s_reply_t r;
        s_reply_view(im->kind, reply, &r);
        const char *rid = client_request_id(reply);
        /* A server shutting down answers UNAVAILABLE: like silence, the
         * batch is sent again once it is back. */
        if (r.status != PAY__STATUS__UNAVAILABLE && rid) {
            for (size_t k = 0; k < im->count; k++) {
                s_slot_t *sl = &im->win[(im->head + k) % im->wcap];
                if (sl->sent && !sl->done && strcmp(sl->id, rid) == 0) {
                    sl->reply = reply;
                    sl->done = 1;
                    reply = NULL;
                    *tries = 0;
                    break;
                }
            }
        }
        codec_free(&reply);  /* a late duplicate, or UNAVAILABLE */
        s_drain(im);
        return 0;
    }
    if (errno != ETIMEDOUT && errno != EAGAIN && errno != EINTR && errno != EPROTO)
        return -1;
    if (errno != ETIMEDOUT)
        return 0;
    if (++*tries > pctl_conn_retries())
        return -1;
    for (size_t k = 0; k < im->count; k++) {
        s_slot_t *sl = &im->win[(im->head + k) % im->wcap];
        if (sl->sent && !sl->done && s_transmit(im, sl) != 0)
            return -1;
    }
    return 0;
}

static void s_silent(s_import_t *im)
{
    const s_slot_t *first = &im->win[im->head];
    if (im->batches)
        pctl_fail(im->ctx, "no answer from %s: stopped at line %ld: the rows before it were "
                  "answered; running the same import again is safe",
                  pctl_conn_name(im->conn), first->b.n ? first->b.lines[0] : 0L);
    else
        pctl_fail(im->ctx, "no answer from %s (is it running, and is payctl's key on its "
                  "allow-list?): stopped: nothing was imported", pctl_conn_name(im->conn));
}

/* Puts the batch being filled into the window (sending it when it has
 * rows) and waits while the window is full. Returns 0, or -1 if the
 * service did not answer (the import stops; re-running it is safe). */
static int s_send(s_import_t *im, s_batch_t *b)
{
    (void)b;
    s_slot_t *sl = &im->win[(im->head + im->count) % im->wcap];
    if (sl->b.n == 0) {
        sl->done = 1;
    } else {
        pctl_import_hash_final(&sl->b.hash, sl->id);
        if (s_transmit(im, sl) != 0) {
            s_silent(im);
            return -1;
        }
        sl->sent = 1;
        im->sent++;
    }
    im->count++;
    s_drain(im);
    int tries = 0;
    while (im->count == im->wcap)
        if (s_pump(im, &tries) != 0) {
            s_silent(im);
            return -1;
        }
    return 0;
}

/* Waits until every batch in the window is answered. */
static int s_flush(s_import_t *im)
{
    int tries = 0;
    while (im->count)
        if (s_pump(im, &tries) != 0) {
            s_silent(im);
            return -1;
        }
    return 0;
}

/* Holds a locally refused row for the report; sends the batch first when
 * the holding space is full, so that memory stays bounded. */
static int s_local_reject(s_import_t *im, s_batch_t *b, long line, const char *key,
                          const char *code, const char *message)
{
    if (b->nlocal == b->cap && s_send(im, b) != 0)
        return -1;
    char *m = strdup(message), *k = strdup(key ? key : "");
    if (!m || !k) {
        free(m);
        free(k);
        pctl_fail(im->ctx, "out of memory");
        return -1;
    }
    b->local[b->nlocal++] = (s_local_t){line, code, m, k};
    return 0;
}

int pctl_import_run(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"batch", "N", "rows per request (default 500, at most 5000)", NULL},
        {"window", "N", "requests in flight at once (default 8, at most 64; 1: one at a time)",
         NULL},
        {"rerun", NULL, "send every row again under new request ids (see --help)", NULL},
        {"wait", "SECONDS", "wait at most this long for the feed the rows depend on to catch "
         "up (default 60; 0: do not wait)", NULL},
        {0},
    };
    const char *pos[2];
    int npos, exit_code = PCTL_EXIT_FAIL;
    s_import_t im = {0};
    FILE *f = NULL;
    csv_reader_t *reader = NULL;
    char nonce[33], err[CSV_ERR_LEN];
    csv_row_t row;
    csv_status_t st;

    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 2, 2, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    im.ctx = ctx;
    im.file = pos[1];
    if (rows_kind_parse(pos[0], &im.kind) != 0)
        return pctl_usage_error(ctx, "unknown kind \"%s\": one of prisons, prisoners, employers, "
                                "contracts, allocations, pay-rates, outside-wages, "
                                "billing-terms, deductions, transfers, incentive-levels, hours",
                                pos[0]);
    uint64_t per_batch = S_DEFAULT_BATCH;
    if (pctl_opt(opts, "batch") &&
        (parse_uint64(pctl_opt(opts, "batch"), S_MAX_BATCH, &per_batch) != 0 || per_batch == 0))
        return pctl_usage_error(ctx, "--batch must be 1 to %d", S_MAX_BATCH);
    uint64_t window = S_DEFAULT_WINDOW;
    if (pctl_opt(opts, "window") &&
        (parse_uint64(pctl_opt(opts, "window"), S_MAX_WINDOW, &window) != 0 || window == 0))
        return pctl_usage_error(ctx, "--window must be 1 to %d", S_MAX_WINDOW);
    uint64_t wait_s = 60;
    if (pctl_opt(opts, "wait") && parse_uint64(pctl_opt(opts, "wait"), 3600, &wait_s) != 0)
        return pctl_usage_error(ctx, "--wait takes seconds, 0 to 3600");
    if (sodium_init() < 0)
        return pctl_fail(ctx, "cannot initialise libsodium");
    if (pctl_opt(opts, "rerun")) {
        unsigned char rnd[16];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(nonce, sizeof nonce, rnd, sizeof rnd);
        im.nonce = nonce;
    }
    f = strcmp(im.file, "-") == 0 ? stdin : fopen(im.file, "re");
    if (!f) {
        pctl_fail(ctx, "cannot open %s: %s", im.file, strerror(errno));
        goto done;
    }
    reader = csv_reader_new(f, 0, 0);
    /* One batch per slot: the window holds at most `window` batches in
     * flight, the last of them being filled. */
    im.wcap = (size_t)window + 1;
    im.win = calloc(im.wcap, sizeof *im.win);
    int ok = reader && im.win;
    for (size_t k = 0; ok && k < im.wcap; k++)
        ok = s_batch_init(&im.win[k].b, im.kind, (size_t)per_batch) == 0;
    if (!ok) {
        pctl_fail(ctx, "out of memory");
        goto done;
    }
    im.t0 = im.last_line = s_mono();
    im.progress = 1;
    im.f = f;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
        im.size = (long)sb.st_size;
    const rows_kind_info_t *info = rows_kind_info(im.kind);
    /* Completely empty lines are not rows (FORMATS.md), before the header too. */
    while ((st = csv_reader_next(reader, &row)) == CSV_ROW && row.blank)
        ;
    if (st == CSV_EOF) {
        pctl_fail(ctx, "%s is empty: expected the header %s,...", im.file, info->columns[0]);
        goto done;
    }
    if (st != CSV_ROW) {
        pctl_fail(ctx, "%s: line %ld: %s", im.file, row.line, csv_reader_error(reader));
        goto done;
    }
    /* A header may leave out the kind's trailing optional columns; every
     * row then has as many fields as the header. */
    size_t ncols = info->ncolumns;
    if (row.ncells < ncols && row.ncells + info->noptional >= ncols)
        ncols = row.ncells;
    if (csv_header_check(&row, info->columns, ncols, err) != 0) {
        pctl_fail(ctx, "%s: line %ld: %s (is this a %s file?)", im.file, row.line, err,
                  info->title);
        goto done;
    }

    /* Rows that name another service's facts wait until its feed has
     * reached the service that judges them (a contract's employer, a terms
     * row's contract, an outside wage's contract). */
    pctl_feed_t dep_feed;
    pctl_service_t dep_consumer;
    if (wait_s > 0 && pctl_health_dependency(im.kind, &dep_feed, &dep_consumer) == 0 &&
        pctl_health_wait_feed(ctx, dep_feed, dep_consumer, (unsigned)wait_s) != 0)
        goto done;
    im.conn = pctl_conn_new(ctx, pctl_import_service(im.kind));
    if (!im.conn)
        goto done;
    im.tty = isatty(STDERR_FILENO);
    if (ctx->format != OUT_TABLE) {
        static const char *const cols[] = {"file", "line", "key", "code", "message"};
        im.rejects = out_table_new(cols, 5);
        if (!im.rejects) {
            pctl_fail(ctx, "out of memory");
            goto done;
        }
        out_table_set_numeric(im.rejects, 1, 1);
    }

    int stopped = 0, fatal = 0;
    char key[ROWS_KEY_LEN];
    while (!stopped && (st = csv_reader_next(reader, &row)) != CSV_EOF) {
        if (st == CSV_ROW && row.blank)
            continue;   /* not a row; its line still counts */
        im.rows++;
        if (st == CSV_FATAL || st == CSV_BAD_ROW) {
            /* After CSV_FATAL the rest of the file cannot be read; what was
             * read still goes. */
            fatal = st == CSV_FATAL;
            if (s_local_reject(&im, s_cur(&im), row.line, "", "INVALID_ARGUMENT",
                               csv_reader_error(reader)) != 0)
                stopped = 1;
            if (fatal)
                break;
            continue;
        }
        const char *const *cells = (const char *const *)row.cells;
        rows_key(im.kind, cells, row.ncells, key, sizeof key);
        rows_value_t v;
        rows_error_t e;
        if (row.ncells != ncols) {
            char msg[ROWS_ERR_LEN];
            snprintf(msg, sizeof msg, "row has %zu fields, expected %zu (%s)", row.ncells, ncols,
                     info->title);
            if (s_local_reject(&im, s_cur(&im), row.line, key, "INVALID_ARGUMENT", msg) != 0)
                stopped = 1;
            continue;
        }
        if (rows_parse(im.kind, cells, row.ncells, &v, &e) != 0) {
            if (s_local_reject(&im, s_cur(&im), row.line, key, e.code, e.message) != 0)
                stopped = 1;
            continue;
        }
        if (!s_cur(&im)->hash &&
            !(s_cur(&im)->hash = pctl_import_hash_new(im.kind, im.sent, im.nonce))) {
            pctl_fail(ctx, "out of memory");
            stopped = 1;
            break;
        }
        ProtobufCMessage *m = s_build(s_cur(&im), row.cells, &v);
        char *kcopy = strdup(key);
        if (!m || !kcopy) {
            free(m);
            free(kcopy);
            pctl_fail(ctx, "out of memory");
            stopped = 1;
            break;
        }
        pctl_import_hash_row(s_cur(&im)->hash, cells, row.ncells, NULL);
        s_cur(&im)->lines[s_cur(&im)->n] = row.line;
        s_cur(&im)->keys[s_cur(&im)->n] = kcopy;
        s_cur(&im)->msgs[s_cur(&im)->n++] = m;
        if (s_cur(&im)->n == s_cur(&im)->cap && s_send(&im, s_cur(&im)) != 0)
            stopped = 1;
    }
    if (!stopped && (s_send(&im, s_cur(&im)) != 0 || s_flush(&im) != 0))
        stopped = 1;
    if (im.tty)
        fprintf(stderr, "\r\033[K");

    if (im.rejects && out_table_write(im.rejects, ctx->format, stdout) != 0)
        pctl_fail(ctx, "cannot write the output");
    FILE *sum = ctx->format == OUT_TABLE ? stdout : stderr;
    fprintf(sum, "%s %s: %ld rows, %ld accepted, %ld rejected%s\n", info->title, im.file, im.rows,
            im.accepted, im.rejected, stopped || fatal ? " (stopped early)" : "");
    if (im.rejected && !im.nonce && !stopped)
        fprintf(sum, "(a re-run sends unchanged rows under the same ids and gets the same "
                     "answers; after fixing a cause outside this file, use --rerun)\n");
    exit_code = stopped || fatal || im.rejected ? PCTL_EXIT_FAIL : PCTL_EXIT_OK;
done:
    for (size_t k = 0; im.win && k < im.wcap; k++) {
        codec_free(&im.win[k].reply);
        s_batch_free(&im.win[k].b);
    }
    free(im.win);
    out_table_destroy(&im.rejects);
    pctl_conn_destroy(&im.conn);
    csv_reader_destroy(&reader);
    if (f && f != stdin)
        fclose(f);
    return exit_code;
}
