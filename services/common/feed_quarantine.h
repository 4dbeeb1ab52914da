/* feed_quarantine: the feed events a consumer could not apply.
 *
 * Why this module exists: ARCHITECTURE.md says a consumer never skips. An
 * event its apply fn refuses (FEED_REFUSED: malformed, of a kind this
 * release does not know, naming a prisoner or contract the consumer never
 * heard of) is neither dropped nor passed over in silence: it is stored
 * here in the SAME transaction that moves the cursor past it, so the feed
 * goes on and nothing is lost. Health counts the entries, reconciliation
 * marks their prison-week MISMATCH, and feed_quarantine_retry applies them
 * again (after a fix, or an upgrade that knows the kind), in seq order,
 * each exactly once: the entry goes in the transaction that applies it.
 *
 * Layout: database FEED_QUARANTINE_DB of the consumer's store, key = feed
 * name, NUL, be64 seq; value = a packed pay.QuarantinedEvent.
 *
 * Every call works inside the caller's transaction and returns 0 or an
 * LMDB error. Events passed to a callback live only during the call. */
#ifndef PAY_FEED_QUARANTINE_H
#define PAY_FEED_QUARANTINE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "common.pb-c.h"
#include "feed.h"
#include "store.h"

/* Stores event `seq` of `feed` with its reason (a write transaction).
 * Replaces an entry with the same key. */
int feed_quarantine_put(MDB_txn *txn, store_t *store, const char *feed, uint64_t seq,
                        const uint8_t *payload, size_t len, const feed_refusal_t *why);

/* Entries held for `feed` (NULL: every feed). */
int feed_quarantine_count(MDB_txn *txn, store_t *store, const char *feed, uint64_t *n);

/* Calls fn for each entry of `feed` (NULL: every feed) in key order until
 * it returns non-zero (then returns that). */
typedef int (feed_quarantine_fn)(const Pay__QuarantinedEvent *ev, void *arg);
int feed_quarantine_each(MDB_txn *txn, store_t *store, const char *feed,
                         feed_quarantine_fn *fn, void *arg);

/* Applies again, in seq order, the entries of `feed` (NULL: every feed;
 * seq 0: every entry, else only that one) through `apply` (the consumer's
 * own apply fn and argument), in the caller's write transaction. An entry
 * applied is deleted; one refused again stays, with the new reason and one
 * more try counted. Sets *applied and *remaining (entries still held for
 * the feed(s) asked about). Returns 0, or an error from `apply` or LMDB
 * (the caller aborts the transaction). `feed` must name the feed the apply
 * fn consumes when entries of several feeds share the store. */
int feed_quarantine_retry(MDB_txn *txn, store_t *store, const char *feed, uint64_t seq,
                          feed_apply_fn *apply, void *arg, uint32_t *applied,
                          uint32_t *remaining);

/* Fills `out` (initialised by the caller) with every entry of `feed`
 * (NULL: every feed), each unpacked with `alloc` (an arena: nothing is
 * freed one by one) into an array also taken from `alloc`; sets
 * out->remaining. Returns 0, ENOMEM or an LMDB error. */
int feed_quarantine_reply(MDB_txn *txn, store_t *store, const char *feed,
                          ProtobufCAllocator *alloc, Pay__QuarantineReply *out);

#endif
