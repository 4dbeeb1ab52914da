/* hrs_invfeed: the hours service as a consumer of the invoice feed.
 *
 * Why this module exists: a contract must name a registered employer
 * (UNKNOWN_EMPLOYER), and employers are the invoicing service's. The
 * invoicing service publishes EmployerFacts on its feed; this is the apply
 * step that keeps them in the hours store (ref_employers), in the
 * transaction that moves the feed cursor, exactly once in effect. Issued
 * documents are on the same feed and are not for this service: they pass.
 * An event it cannot apply (does not decode, a kind this release does not
 * know, malformed employer facts) is refused and quarantined by the feed.
 *
 * Memory: nothing is kept past a call. */
#ifndef PAY_HRS_INVFEED_H
#define PAY_HRS_INVFEED_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "feed.h"

/* feed_apply_fn over a packed pay.InvoiceEvent; `arg` is the hrs_store_t. */
int hrs_invfeed_apply(MDB_txn *txn, uint64_t seq, const uint8_t *payload, size_t len,
                      void *arg, feed_refusal_t *why);

#endif
