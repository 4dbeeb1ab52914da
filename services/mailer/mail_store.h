/* mail_store: pay-mailer's LMDB store: one delivery per document, the queue
 * of deliveries by their next try, the invoice-feed cursor, and the events
 * that could not be read.
 *
 * Layout (named databases):
 *   deliveries  number                    -> pay.Delivery
 *   due         be64(next_try_at) number  -> ""   (PENDING deliveries only)
 *   feed_quarantine  events refused by the apply step (feed_quarantine.h)
 *   meta        "ignored"                 -> be64 (events not for the mailer)
 *   cursor      feed name                 -> be64 (feed.h)
 *   server_requests                          (server.h)
 *
 * Every change of a delivery goes through mail_store_put, which reads the
 * stored record in the same transaction and moves its `due` entry with it,
 * so the queue and the records never disagree.
 *
 * The feed apply step (mail_store_apply_event) runs in the transaction that
 * stores the feed cursor: a document's PENDING delivery exists if and only
 * if the cursor has passed its event, whatever crashes. Events of the kinds
 * it does not know (the feed carries more than documents) are counted as
 * ignored and passed; an event it cannot read (no decode, a document event
 * without a valid number) is quarantined with the reason, counted, logged,
 * and passed: it never stops the feed and is never silently dropped.
 *
 * Ownership: mail_store_open returns a store the caller frees with
 * mail_store_destroy. mail_delivery_t values are copies; nothing returned
 * points into LMDB. */
#ifndef PAY_MAIL_STORE_H
#define PAY_MAIL_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "feed.h"
#include "mail_rules.h"
#include "mailer.pb-c.h"
#include "store.h"

#define MAIL_FEED_NAME "invoices"
#define MAIL_DB_CURSOR "cursor"

typedef struct mail_store_t mail_store_t;

/* Opens (creating) the store in `dir`. Returns NULL on failure (logged). */
mail_store_t *mail_store_open(const char *dir, size_t map_size);
void mail_store_destroy(mail_store_t **self_p);
store_t *mail_store_store(mail_store_t *self);

/* The clock the apply step stamps new deliveries with (Unix ms). Tests may
 * replace it; NULL restores the real clock. */
typedef uint64_t (mail_clock_fn)(void);
void mail_store_set_clock(mail_store_t *self, mail_clock_fn *fn);
uint64_t mail_store_now(const mail_store_t *self);

/* feed_apply_fn over a packed pay.InvoiceEvent; `arg` is the mail_store_t.
 * Returns 0, or an LMDB error (the batch is retried). */
int mail_store_apply_event(MDB_txn *txn, uint64_t seq, const uint8_t *payload, size_t len,
                           void *arg, feed_refusal_t *why);

/* The delivery of `number`. Returns 0, MDB_NOTFOUND, MDB_CORRUPTED or an
 * LMDB error. */
int mail_store_get(mail_store_t *self, MDB_txn *txn, const char *number, mail_delivery_t *out);

/* Writes `d` under its number and moves its `due` entry. Returns 0 or an
 * LMDB error. */
int mail_store_put(mail_store_t *self, MDB_txn *txn, const mail_delivery_t *d);

/* The PENDING delivery with the earliest next_try_at, if that is <= now.
 * Returns 0 (out filled), MDB_NOTFOUND (nothing due), or an error. */
int mail_store_next_due(mail_store_t *self, MDB_txn *txn, uint64_t now, mail_delivery_t *out);

/* Claims the next due delivery (mail_delivery_claim) and stores the claim.
 * Returns 0 (out: the claimed delivery), MDB_NOTFOUND, or an error. */
int mail_store_claim_next(mail_store_t *self, MDB_txn *txn, const mail_policy_t *p,
                          uint64_t now, mail_delivery_t *out);

/* What a finished try reports. */
typedef struct {
    mail_outcome_t outcome;
    const char *text;           /* the relay's answer, or the reason */
    const char *email;          /* the recipient used, or NULL */
    int ubl;                    /* a UBL went with the PDF */
    const char *note;           /* e.g. why there was no UBL; NULL: unchanged */
} mail_try_t;

/* Applies a finished try to the delivery of `number` (mail_delivery_result)
 * and stores it; *out (may be NULL) receives the result. Returns 0,
 * MDB_NOTFOUND, or an error. */
int mail_store_record(mail_store_t *self, MDB_txn *txn, const mail_policy_t *p,
                      const char *number, const mail_try_t *t, uint64_t now,
                      mail_delivery_t *out);

/* Finance's resend (mail_delivery_resend). Returns 0 with *what and *out
 * set (*what MAIL_RESEND_BAD_ADDRESS: nothing changed), MDB_NOTFOUND, or an
 * error. */
int mail_store_resend(mail_store_t *self, MDB_txn *txn, const char *number, const char *to,
                      uint64_t now, mail_resend_t *what, mail_delivery_t *out);

/* Calls fn for every delivery in number order until it returns non-zero
 * (which is returned). Returns 0, that value, or an LMDB error. */
typedef int (mail_each_fn)(const mail_delivery_t *d, void *arg);
int mail_store_each(mail_store_t *self, MDB_txn *txn, mail_each_fn *fn, void *arg);

typedef struct {
    uint64_t pending, sent, failed, quarantined, ignored;
} mail_counts_t;

int mail_store_counts(mail_store_t *self, MDB_txn *txn, mail_counts_t *out);

/* Quarantines an event the mailer could not read. Returns 0 or an error. */

/* The wire form of `d`: `out` points into `d`, which must outlive it. */
void mail_delivery_to_msg(const mail_delivery_t *d, Pay__Delivery *out);

#endif
