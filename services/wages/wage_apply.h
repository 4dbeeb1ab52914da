/* wage_apply: applies hours-feed events to the wage store.
 *
 * Why this module exists: it is the feed consumer's apply step (feed.h's
 * feed_apply_fn), run inside the transaction that also stores the feed
 * cursor, so that a record is priced exactly once however often the event
 * is delivered. It prices each record with wage_rules, posts the ledger
 * lines (an amendment: the exact reversal of the stored line, then the new
 * line; a void: the reversal), keeps the week aggregates and exceptions,
 * and closes a prison's week on PayWeekClosed.
 *
 * An event that cannot be priced (malformed, or an unknown work type) is
 * logged and, where it names a prison and week, listed as an exception;
 * it never stops the feed. Only storage errors abort the batch.
 *
 * Ownership: borrows the wage_store_t passed as `arg`; allocates nothing
 * that outlives a call. */
#ifndef PAY_WAGE_APPLY_H
#define PAY_WAGE_APPLY_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "hours_feed.pb-c.h"
#include "wage_store.h"

/* feed_apply_fn over a packed pay.HoursEvent; `arg` is the wage_store_t. */
int wage_apply_event(MDB_txn *txn, uint64_t seq, const uint8_t *payload,
                     size_t len, void *arg);

/* The same for a decoded event (tests, the benchmark producer). */
int wage_apply_hours_event(wage_store_t *ws, MDB_txn *txn, uint64_t seq,
                           const Pay__HoursEvent *ev);

/* Closes (prison, week): top-up, deductions, levy and payslip for every
 * prisoner with records or adjustments there. Idempotent: a closed week
 * is left as it is. `ev` may carry the hours service's totals. */
int wage_apply_close(wage_store_t *ws, MDB_txn *txn, uint64_t seq,
                     const Pay__PayWeekClosed *ev);

/* Posts a pay adjustment (already validated and permitted) as a line of
 * its week: debit prison:X:adjustments, credit the prisoner's spends.
 * `date` is the line's date. */
int wage_apply_adjustment(wage_store_t *ws, MDB_txn *txn, const Pay__Adjustment *adj,
                          int32_t date);

#endif
