/* inv_store: the invoicing service's LMDB store and the operations on it
 * that run inside one write transaction: applying hours-feed events,
 * upserting employers and billing terms, issuing documents with gapless
 * numbers, recording payments; and the read-side scans (documents,
 * overdue, reconciliation, NO_TERMS exceptions).
 *
 * Layout (named databases, big-endian integer parts so scans are ordered):
 *   employers    id                                  -> StoredEmployer
 *   terms        contract \0 be32(from)              -> StoredTerms
 *   days         employer \0 contract \0 be32(day)   -> StoredDay (ATTENDED sums)
 *   dirty        employer \0 contract \0 be32(day)   -> ""  (changed since last billed)
 *   groups       employer \0 be32(period) contract \0 be32(terms_from) -> StoredGroup
 *   period_docs  employer \0 be32(period)            -> number of the period's invoice
 *   docs         number                              -> StoredDocument
 *   emp_docs     employer \0 number                  -> ""
 *   counters     "INV" / "CRN" / "PAY"               -> be64(last)
 *   payments     number \0 be64(seq)                 -> StoredPayment
 *   outbox       be64(seq)                           -> InvoiceEvent (the invoice feed)
 *   cursors      feed name                           -> be64 (hours-feed cursor)
 *   server_requests                                  (server.h)
 *   meta           format_version, service, written_by (store_version.h)
 *
 * Why per day and per group rather than per record: a line is priced on
 * the SUM of its records, so what a later document must add or take back
 * is (price of the group's sum now) - (what was billed for it), and the
 * group row remembers the latter and which invoice billed it first. An
 * amendment or a void arrives with the record's old state (HoursAmended,
 * HoursVoided), so subtracting it needs no per-record row, which keeps the
 * feed apply at a few puts per event.
 *
 * Numbers are allocated from `counters` inside the transaction that writes
 * the document, so an aborted or crashed transaction leaves no gap and a
 * number is never reused.
 *
 * Ownership: inv_store_open returns a store the caller frees with
 * inv_store_destroy. Messages returned by the get functions are the
 * caller's to free with protobuf_c_message_free_unpacked. */
#ifndef PAY_INV_STORE_H
#define PAY_INV_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "feed.h"
#include "inv_doc.h"
#include "inv_supplier.h"
#include "invoicing.pb-c.h"
#include "store.h"

#define INV_FEED_NAME "hours"
#define INV_DB_OUTBOX "outbox"
#define INV_DB_CURSORS "cursors"

typedef struct inv_store_t inv_store_t;


/* The format of the invoicing store (store_version.h): raise it, and add
 * the step from the old format to s_steps in inv_store.c, when the layout
 * above or a stored message changes incompatibly. */
#define INV_STORE_FORMAT 2

/* Opens the store in `dir` and checks its format (store_version_open: a
 * new store is stamped, an older one migrated, a newer one refused).
 * Returns NULL on failure (logged). */
inv_store_t *inv_store_open(const char *dir, size_t map_size);
void inv_store_destroy(inv_store_t **self_p);
store_t *inv_store_store(inv_store_t *self);
MDB_dbi inv_store_dbi(inv_store_t *self, const char *name);

/* feed_apply_fn for the hours feed (arg is the inv_store_t). Applies one
 * HoursEvent: ATTENDED minutes and units are added (recorded), moved
 * (amended: old out, new in) or taken out (voided); ContractFacts go to
 * the contract replica (inv_ref.h). An event it cannot apply (does not
 * decode, a kind this release does not know, a malformed record state, a
 * record naming a contract never published) is refused (FEED_REFUSED)
 * before anything is written, and the feed quarantines it: never skipped. */
int inv_store_apply_event(MDB_txn *txn, uint64_t seq, const uint8_t *payload,
                          size_t len, void *arg, feed_refusal_t *why);

/* Row checks and upserts; each returns the status for its ItemResult and
 * fills msg (at least 128 bytes). MDB errors come back as negative values
 * through *rc (0 otherwise). */
Pay__Status inv_store_upsert_employer(inv_store_t *self, MDB_txn *txn,
                                      const Pay__EmployerRow *row, char *msg,
                                      size_t msglen, int *rc);
Pay__Status inv_store_upsert_terms(inv_store_t *self, MDB_txn *txn,
                                   const Pay__BillingTermsRow *row, char *msg,
                                   size_t msglen, int *rc);

typedef struct {
    const char *employer;       /* NULL: every employer */
    int has_period;
    inv_period_t period;        /* only this period, if has_period */
    int32_t issue_date;
    int automatic;              /* 1: only periods due by auto_issue_days;
                                   no document of adjustments alone */
    uint32_t auto_issue_days;
    const inv_supplier_t *supplier;   /* configured: inv_supplier_missing is 0 */
} inv_issue_opts_t;

/* Issues every document due (see Issue in invoicing.proto), appending an
 * InvoiceEvent per document to the outbox in the same transaction. A
 * credit note is allocated to the invoices it adjusts in the same
 * transaction (inv_alloc.h). Each
 * issued document's summary is appended to *out (n_out entries, grown with
 * realloc; the caller frees *out with free, also on failure).
 * Returns 0 or an LMDB error. */
typedef struct {
    char number[INV_NUMBER_LEN];
    char employer[40];
    char period[INV_PERIOD_TEXT_LEN];
    int32_t issue_date, tax_point, due_date;
    int64_t net, vat, total;
    inv_kind_t kind;
} inv_issued_t;

int inv_store_issue(inv_store_t *self, MDB_txn *txn, const inv_issue_opts_t *opts,
                    inv_issued_t **out, size_t *n_out);

/* The stored document `number`, or NULL (*rc = MDB_NOTFOUND or an error). */
Pay__StoredDocument *inv_store_get_doc(inv_store_t *self, MDB_txn *txn,
                                       const char *number, int *rc);

/* Fills `doc` (and `lines`, n entries, owned by the caller) from `sd` for
 * rendering. `lines` must have sd->n_lines entries. Strings point into `sd`
 * or are copied; `doc` is valid while `sd` and `lines` are. */
void inv_store_doc_view(const Pay__StoredDocument *sd, inv_doc_t *doc, inv_line_t *lines);

/* Writes a stored document back (after an allocation). Returns 0 or an
 * LMDB error. */
int inv_store_put_doc(inv_store_t *self, MDB_txn *txn, const Pay__StoredDocument *sd);

/* Payment status of a stored document. */
Pay__PaymentStatus inv_store_doc_status(const Pay__StoredDocument *sd);

/* What is still owed on an invoice: total - paid - allocated credit (0 for
 * a credit note). */
int64_t inv_store_doc_outstanding(const Pay__StoredDocument *sd);

/* Calls fn for each payment recorded against document `number`, in the
 * order they were recorded. */
typedef int (inv_payment_visit_fn)(const char *number, const Pay__StoredPayment *p, void *arg);
int inv_store_each_payment(inv_store_t *self, MDB_txn *txn, const char *number,
                           inv_payment_visit_fn *fn, void *arg);

/* Records a payment; returns the status for the reply (NOT_FOUND,
 * INVALID_ARGUMENT with msg, OK) or sets *rc on an LMDB error. */
Pay__Status inv_store_record_payment(inv_store_t *self, MDB_txn *txn,
                                     const char *number, int64_t amount,
                                     int32_t date, const char *reference,
                                     char *msg, size_t msglen, int *rc);

/* Calls fn for each document of `employer` (NULL: all), in number order. */
typedef int (inv_doc_visit_fn)(const Pay__StoredDocument *sd, void *arg);
int inv_store_each_doc(inv_store_t *self, MDB_txn *txn, const char *employer,
                       inv_doc_visit_fn *fn, void *arg);

/* Reconciliation rows per prison and week (filters may be NULL). */
typedef struct {
    char prison[8];
    uint32_t week_key;
    int64_t billable, invoiced, pending;
} inv_recon_t;
int inv_store_reconcile(inv_store_t *self, MDB_txn *txn, const char *prison,
                        const char *week, inv_recon_t **out, size_t *n_out);

/* Days with billable work and no billing terms in force (NO_TERMS). */
typedef struct {
    char employer[40];
    char contract[32];
    char prison[8];
    int32_t day;
    int64_t minutes, units;
} inv_no_terms_t;
int inv_store_no_terms(inv_store_t *self, MDB_txn *txn, inv_no_terms_t **out,
                       size_t *n_out);

/* Billable work not yet invoiced (FORMATS.md pending billable lines): per
 * employer (NULL: all), contract, period and terms row, the minutes and
 * units not yet on a document, WAITING for the period to be issued (or,
 * for an invoiced period, for the next document) or NO_TERMS. */
typedef struct {
    char employer[40];
    char contract[32];
    char period[INV_PERIOD_TEXT_LEN];
    uint32_t period_key;
    int32_t first, last;        /* the days the line will cover */
    int32_t terms_from;         /* -1 for NO_TERMS */
    int64_t minutes, units;
    int no_terms;
} inv_pending_t;
int inv_store_pending(inv_store_t *self, MDB_txn *txn, const char *employer,
                      inv_pending_t **out, size_t *n_out);

/* 1 if employer `id` exists (*rc = 0), 0 if not; *rc set on an LMDB error. */
int inv_store_has_employer(inv_store_t *self, MDB_txn *txn, const char *id, int *rc);

/* Counts and heads for health. */
int inv_store_health(inv_store_t *self, MDB_txn *txn, uint64_t *cursor,
                     uint64_t *documents, uint64_t *outbox_head);

#endif
