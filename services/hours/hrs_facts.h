/* hrs_facts: the reference facts that the hours service publishes on its
 * feed (PrisonFacts, PrisonerFacts, ContractFacts in hours_feed.proto).
 *
 * Why this module exists: wages and invoicing check rows they own against
 * references the hours service owns (an outside wage's contract, a
 * deduction's prisoner, a terms row's contract, the prison of custody at
 * a week's end). They learn those facts from the feed, so every change to
 * a prison, a prisoner's custody or a contract is published, in the
 * transaction that makes it. Each event is the whole entity as stored
 * after the change, built here from the store, and is published only if
 * it differs from the entity before the change: the same row sent again
 * changes nothing, on the feed either.
 *
 * Memory: the packed buffers returned are malloc'd and owned by the caller
 * (free). Works inside the caller's transaction. */
#ifndef PAY_HRS_FACTS_H
#define PAY_HRS_FACTS_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "hrs_store.h"

typedef enum {
    HRS_FACTS_PRISON = 0,
    HRS_FACTS_PRISONER,
    HRS_FACTS_CONTRACT,
} hrs_facts_kind_t;

/* The packed facts message of the entity `key` of `kind` as stored now, in
 * *out (malloc'd; NULL with *len 0 if there is no such entity). Returns 0
 * or an LMDB error. */
int hrs_facts_pack(hrs_store_t *store, MDB_txn *txn, hrs_facts_kind_t kind, const char *key,
                   uint8_t **out, size_t *len);

/* Appends to the outbox the HoursEvent carrying the facts `after` (from
 * hrs_facts_pack) if they differ from `before` (either may be NULL);
 * `at` is the event's commit time. Sets *emitted. Returns 0 or an LMDB
 * error (MDB_MAP_FULL included). */
int hrs_facts_publish(hrs_store_t *store, MDB_txn *txn, hrs_facts_kind_t kind,
                      const uint8_t *before, size_t blen, const uint8_t *after, size_t alen,
                      uint64_t at, int *emitted);

/* After a migration from the first release (hrs_store_facts_pending):
 * publishes every stored prison, prisoner and contract, and clears the
 * mark, in one write transaction; otherwise does nothing. Call once the
 * store is open, before serving. Sets *published (may be NULL). Returns 0
 * or an LMDB error. */
int hrs_facts_catch_up(hrs_store_t *store, size_t *published);

#endif
