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
 * It also keeps the replica of the hours service's reference facts
 * (wage_ref.h). An event it cannot apply is refused and quarantined by the
 * feed (feed_quarantine.h), never skipped; only storage errors abort the
 * batch.
 *
 * Ownership: borrows the wage_store_t passed as `arg`; allocates nothing
 * that outlives a call. */
#ifndef PAY_WAGE_APPLY_H
#define PAY_WAGE_APPLY_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "feed.h"
#include "hours_feed.pb-c.h"
#include "wage_store.h"

/* feed_apply_fn over a packed pay.HoursEvent; `arg` is the wage_store_t.
 * Refuses (FEED_REFUSED, so the event is quarantined) what it cannot
 * apply: bytes that do not decode or hold invalid strings, an event kind
 * this release does not know, a record state the shared rules (ident.h)
 * call malformed, a record naming a prisoner or contract the feed never
 * told of, an amendment or void of a record with no live line, a
 * malformed week close or reference fact. Each refusal is decided before
 * anything is written. */
int wage_apply_event(MDB_txn *txn, uint64_t seq, const uint8_t *payload,
                     size_t len, void *arg, feed_refusal_t *why);

/* feed_group_fn to pass with wage_apply_event (feed_consumer_opts_t.group):
 * the group's week aggregates and balance deltas are kept in memory and
 * written once at FEED_GROUP_END, before the cursor, in the same
 * transaction (wage_group_t in wage_store.h). Without it every event is
 * written through, as wage_apply_hours_event does. */
int wage_apply_group(MDB_txn *txn, feed_group_phase_t phase, void *arg);

/* The same for a decoded event (tests, the benchmark producer); `why`
 * may be NULL. */
int wage_apply_hours_event(wage_store_t *ws, MDB_txn *txn, uint64_t seq,
                           const Pay__HoursEvent *ev, feed_refusal_t *why);

/* Closes (prison, week): top-up, deductions, levy and payslip for every
 * prisoner with records or adjustments there. Idempotent: a closed week
 * is left as it is. `ev` may carry the hours service's totals. */
int wage_apply_close(wage_store_t *ws, MDB_txn *txn, uint64_t seq,
                     const Pay__PayWeekClosed *ev, feed_refusal_t *why);

/* May a statutory deduction `row` for `week` (a civil_week_key) still be
 * recorded? Deductions are applied when the week closes at the prisoner's
 * last prison of custody that week (wage_ref_custody_week): once
 * that prison's week is closed, a deduction recorded for it would be
 * stored but never applied. Sets *verdict:
 *   WAGE_DEDUCTION_OPEN       record it (no live record that week yet, or
 *                             that prison's week is still open);
 *   WAGE_DEDUCTION_UNCHANGED  the week is closed but this very row (same
 *                             kind and amount) is already stored: it was
 *                             applied, sending it again changes nothing;
 *   WAGE_DEDUCTION_CLOSED     refuse it: the week is closed at `prison`.
 * `prison` receives the last prison ("" when none). Reads only; must not
 * be called while a feed event's messages live in the store's arena (it
 * is called from API transactions). Returns 0 or an LMDB error. */
typedef enum {
    WAGE_DEDUCTION_OPEN = 0,
    WAGE_DEDUCTION_UNCHANGED = 1,
    WAGE_DEDUCTION_CLOSED = 2,
} wage_deduction_verdict_t;

int wage_apply_deduction_verdict(wage_store_t *ws, MDB_txn *txn, const Pay__Deduction *row,
                                 uint32_t week, wage_deduction_verdict_t *verdict,
                                 char prison[WAGE_PRISON_LEN]);

/* Posts a pay adjustment (already validated and permitted) as a line of
 * its week: debit prison:X:adjustments, credit the prisoner's spends.
 * `date` is the line's date. */
int wage_apply_adjustment(wage_store_t *ws, MDB_txn *txn, const Pay__Adjustment *adj,
                          int32_t date);

#endif
