/* inv_api: the invoicing service's request handlers, without sockets.
 *
 * inv_api_handle answers one decoded InvoicingRequest for an authenticated
 * caller inside a (nested) write transaction, the way server.h runs
 * handlers; main.c only wraps it. Roles (DOMAIN.md):
 *   industries  upserts employers and billing terms;
 *   finance     everything else: issue, payments, all documents, overdue,
 *               reconciliation, exceptions, backups of the store;
 *   employer    lists and downloads its OWN documents only: any other
 *               number is NOT_FOUND, exactly as a number that does not
 *               exist, so nothing leaks;
 *   instructor, governor, service, none: PERMISSION_DENIED (health is open
 *               to every authenticated caller).
 *
 * Ownership: the reply and everything it points to live in an arena owned
 * by the inv_reply_t; inv_reply_free releases it all. */
#ifndef PAY_INV_API_H
#define PAY_INV_API_H

#include <lmdb.h>

#include "auth.h"
#include "feed.h"
#include "inv_store.h"
#include "invoicing.pb-c.h"

typedef struct {
    inv_store_t *store;
    inv_supplier_t supplier;       /* issuing refuses while incomplete */
    uint32_t auto_issue_days;
    feed_consumer_t *consumer;     /* the hours feed's, for health; may be NULL */
} inv_api_t;

typedef struct inv_arena_block_t inv_arena_block_t;

typedef struct {
    Pay__InvoicingReply reply;
    int readonly;                  /* the request changed nothing */
    inv_arena_block_t *arena;
    /* A backup request that passed the role and name checks: the server
     * loop's handler takes it (backup_handle, off the loop) and answers it
     * instead of `reply`. Points into the request. */
    const Pay__InvoicingBackup *backup;
} inv_reply_t;

/* Fills out->reply. Returns 0 to keep the request's writes, or non-zero
 * (an LMDB error, MDB_MAP_FULL included) to roll them back; the reply
 * stands either way. */
int inv_api_handle(inv_api_t *api, const auth_identity_t *caller,
                   const Pay__InvoicingRequest *req, MDB_txn *txn, inv_reply_t *out);

void inv_reply_free(inv_reply_t *r);

/* For the handler modules (inv_api.c, inv_report.c): memory in the reply's
 * arena (zeroed; NULL when out of memory), a copy of a string there, the
 * reply's status and message, and a document's DocumentInfo. */
void *inv_reply_alloc(inv_reply_t *r, size_t n);
char *inv_reply_strdup(inv_reply_t *r, const char *s);
void inv_reply_status(inv_reply_t *r, Pay__Status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
Pay__DocumentInfo *inv_reply_doc_info(inv_reply_t *r, const Pay__StoredDocument *sd);

/* The reports (inv_report.c), each answered into `out` like
 * inv_api_handle. `own` is the employer a caller with the employer role is
 * limited to (NULL for finance). */
int inv_report_statement(inv_api_t *api, MDB_txn *txn, inv_reply_t *out, const char *own,
                         const Pay__Statement *q);
int inv_report_lines(inv_api_t *api, MDB_txn *txn, inv_reply_t *out, const char *own,
                     const Pay__ListLines *q);
int inv_report_pending(inv_api_t *api, MDB_txn *txn, inv_reply_t *out, const Pay__Pending *q);
int inv_report_journal(inv_api_t *api, MDB_txn *txn, inv_reply_t *out);

#endif
