/* hrs_store: the hours service's LMDB layout and the lookups its checks need.
 *
 * Why this module exists: the capture checks must never scan all records,
 * so every question they ask ("is there a live record for this prisoner,
 * date and session?", "how many minutes that day, that ISO week?", "what
 * policy, custody, level, allocation was in force on that date?") is one
 * B-tree seek here. Keys are big-endian so that a range scan comes out in
 * date order; a date is stored as its day number with the sign bit flipped
 * (hrs_store_date_key), so that dates before 1970 still sort first.
 *
 * Databases (all in one environment, see HRS_STORE_DBS):
 *   prisons      code                              -> StoredPrison
 *   policies     code . date_key(from)             -> 3 x be32 (weekly, daily, backdate)
 *                (the base policy has from = INT32_MIN)
 *   prisoners    number                            -> StoredPrisoner
 *   transfers    number . date_key(from)           -> prison code (3 bytes)
 *   levels       number . date_key(from)           -> level (1 byte)
 *   contracts    id                                -> StoredContract
 *   contracts_by_prison  prison . id               -> ""
 *   allocations  number . contract . NUL . date_key(from) -> be32 date_key(to) . be32 band
 *   records      record_id                         -> StoredRecord
 *   by_day       number . date_key(date) . session . record_id -> be32 minutes . u8 live
 *                (one seek and a short scan over a prisoner's ISO week
 *                answer the clash check, the daily sum and the weekly sum
 *                together: a week holds at most 21 live records, since a
 *                session holds one; voided records stay, marked, for lists)
 *   by_contract  contract . NUL . date_key . be64 seq -> record_id
 *                (seq is the outbox seq of the HoursRecorded event: new
 *                records of a contract and date append at the end of their
 *                range instead of landing all over a big tree)
 *   totals       prison . be32 week_key            -> 4 x be64 (records, minutes,
 *                billable minutes, billable units), live records
 *   closed_weeks prison . be32 week_key            -> be64 closed_at . closed_by
 *   outbox       be64 seq                          -> packed HoursEvent (feed.h)
 *   ref_employers  id                              -> name: the employers the
 *                invoice feed published (hrs_invfeed.h), for UNKNOWN_EMPLOYER
 *   feed_cursors feed name                         -> be64 cursor (feed.h)
 *   feed_quarantine  invoice-feed events not applied (feed_quarantine.h)
 *   server_requests  (server.h's replay store)
 *   meta             format_version, service, written_by (store_version.h)
 *
 * Every function works inside the caller's transaction and returns 0,
 * MDB_NOTFOUND where it says so, or another LMDB error (MDB_MAP_FULL
 * included, which the caller passes up so that the map grows). Nothing here
 * keeps a pointer into LMDB memory past the call: values are decoded into
 * the caller's structs. */
#ifndef PAY_HRS_STORE_H
#define PAY_HRS_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "civil.h"
#include "hrs_rules.h"
#include "store.h"

#define HRS_DB_OUTBOX "outbox"
#define HRS_DB_CURSORS "feed_cursors"
#define HRS_INVOICE_FEED "invoices"   /* the invoice feed's cursor name */

/* A record as stored: its current values, the state that its events carry,
 * and the content first accepted (for check 2). */
typedef struct {
    hrs_record_t rec;                 /* current (amended) values */
    char prison[HRS_PRISON_LEN];      /* the contract's prison */
    char employer[HRS_EMPLOYER_LEN];
    char activity[HRS_TEXT_LEN];
    Pay__WorkType work_type;
    uint32_t pay_band;
    Pay__IncentiveLevel level;        /* in force on the date */
    bool voided;
    uint32_t amendments;
    char recorded_by[AUTH_NAME_LEN];
    int64_t recorded_at;
    hrs_record_t first;               /* as first accepted */
} hrs_stored_t;

typedef struct {
    uint64_t records, minutes, billable_minutes, billable_units;
} hrs_totals_t;

/* What a prisoner's ISO week holds around one date and session, over live
 * records other than `exclude` (see hrs_store_week_facts). */
typedef struct {
    bool clash;                       /* a live record on the date and session */
    char clash_id[HRS_RECORD_ID_LEN];
    uint64_t day_minutes;
    uint64_t week_minutes;
} hrs_week_facts_t;

/* Changes to the prison-week totals, gathered over a batch and written
 * once (hrs_store_tally_flush), since a batch touches few prison-weeks. */
#define HRS_TALLY_ROWS 16
typedef struct {
    struct {
        char prison[HRS_PRISON_LEN];
        uint32_t week_key;
        int64_t records, minutes, billable_minutes, billable_units;
    } row[HRS_TALLY_ROWS];
    int n;
} hrs_tally_t;

typedef struct hrs_store_t hrs_store_t;

/* The format of the hours store (store_version.h): raise it, and add the
 * step from the old format to s_steps in hrs_store.c, when the layout
 * above or a stored message changes incompatibly. */
#define HRS_STORE_FORMAT 2

/* Opens (creating) the environment in `dir` with every database above,
 * and checks its format (store_version_open: a new store is stamped, an
 * older one migrated, a newer one refused). Returns NULL on failure
 * (logged). */
hrs_store_t *hrs_store_open(const char *dir, size_t map_size);
void hrs_store_destroy(hrs_store_t **self_p);

store_t *hrs_store_store(hrs_store_t *self);
MDB_dbi hrs_store_outbox_dbi(hrs_store_t *self);

/* Order-preserving keys. */
uint32_t hrs_store_date_key(int32_t day);
uint32_t hrs_store_week_key(int32_t day);

/* ---- reference data ---- */

int hrs_store_put_prison(hrs_store_t *self, MDB_txn *txn, const hrs_prison_t *p);
/* MDB_NOTFOUND if unknown. `out` may be NULL to test existence. The base
 * policy is not filled in (see hrs_store_policy_on). */
int hrs_store_get_prison(hrs_store_t *self, MDB_txn *txn, const char *code, hrs_prison_t *out);
int hrs_store_put_policy(hrs_store_t *self, MDB_txn *txn, const hrs_policy_change_t *p);
/* The policy of `prison` in force on `date` (the defaults if none). */
int hrs_store_policy_on(hrs_store_t *self, MDB_txn *txn, const char *prison, int32_t date,
                        hrs_policy_t *out);

int hrs_store_put_prisoner(hrs_store_t *self, MDB_txn *txn, const hrs_prisoner_t *p);
int hrs_store_get_prisoner(hrs_store_t *self, MDB_txn *txn, const char *number,
                           hrs_prisoner_t *out);
int hrs_store_put_transfer(hrs_store_t *self, MDB_txn *txn, const hrs_transfer_row_t *t);
int hrs_store_put_level(hrs_store_t *self, MDB_txn *txn, const hrs_level_row_t *l);
/* Calls fn for each transfer of `prisoner`, in date order, until it
 * returns non-zero (then returns that). */
typedef int (hrs_store_transfer_fn)(int32_t from, const char prison[HRS_PRISON_LEN], void *arg);
int hrs_store_each_transfer(hrs_store_t *self, MDB_txn *txn, const char *prisoner,
                            hrs_store_transfer_fn *fn, void *arg);
/* The prison (copied into out) and level in force on `date`, starting from
 * the prisoner row `p`. */
int hrs_store_custody_on(hrs_store_t *self, MDB_txn *txn, const hrs_prisoner_t *p,
                         int32_t date, char out[HRS_PRISON_LEN]);
int hrs_store_level_on(hrs_store_t *self, MDB_txn *txn, const hrs_prisoner_t *p,
                       int32_t date, Pay__IncentiveLevel *out);

/* Format 2's migration marks the store: the reference facts are still
 * to be published (hrs_facts_catch_up). Sets *pending; with `clear`,
 * removes the mark in txn. */
int hrs_store_facts_pending(hrs_store_t *self, MDB_txn *txn, bool clear, bool *pending);

typedef enum { HRS_ENTITY_PRISON, HRS_ENTITY_PRISONER, HRS_ENTITY_CONTRACT } hrs_store_entity_t;
/* Calls fn with the key (code, number or id) of every stored prison,
 * prisoner or contract, in key order, until it returns non-zero; fn may
 * write in txn. */
typedef int (hrs_store_key_fn)(const char *key, void *arg);
int hrs_store_each_key(hrs_store_t *self, MDB_txn *txn, hrs_store_entity_t what,
                       hrs_store_key_fn *fn, void *arg);

/* The employers learnt from the invoice feed. */
int hrs_store_put_employer(hrs_store_t *self, MDB_txn *txn, const char *id, const char *name);
int hrs_store_employer_known(hrs_store_t *self, MDB_txn *txn, const char *id, bool *known);
/* The database of the invoice feed's consumer cursor (HRS_INVOICE_FEED). */
MDB_dbi hrs_store_cursor_dbi(hrs_store_t *self);

int hrs_store_put_contract(hrs_store_t *self, MDB_txn *txn, const hrs_contract_t *k);
int hrs_store_get_contract(hrs_store_t *self, MDB_txn *txn, const char *id, hrs_contract_t *out);
/* Sets *yes if `prison` has at least one OUTSIDE contract. */
int hrs_store_has_outside_contracts(hrs_store_t *self, MDB_txn *txn, const char *prison,
                                    bool *yes);

int hrs_store_put_allocation(hrs_store_t *self, MDB_txn *txn, const hrs_allocation_row_t *a);
/* Sets *allocated and *band from the allocation of `prisoner` to `contract`
 * that covers `date` with the latest from. */
int hrs_store_allocation_on(hrs_store_t *self, MDB_txn *txn, const char *prisoner,
                            const char *contract, int32_t date, bool *allocated,
                            uint32_t *band);

/* ---- records ---- */

/* MDB_NOTFOUND if no record has that id. */
int hrs_store_get_record(hrs_store_t *self, MDB_txn *txn, const char *record_id,
                         hrs_stored_t *out);
/* Scans the prisoner's ISO week of `date`: the live minutes that day and
 * that week, and whether a live record holds `session` on `date`, leaving
 * out the record `exclude` (NULL: none), which is being amended. */
int hrs_store_week_facts(hrs_store_t *self, MDB_txn *txn, const char *prisoner, int32_t date,
                         Pay__Session session, const char *exclude, hrs_week_facts_t *out);
int hrs_store_week_closed(hrs_store_t *self, MDB_txn *txn, const char *prison, int32_t date,
                          bool *closed);

/* A new live record (its id must not be stored yet): writes the record and
 * its indexes, and counts it in `tally` (flushed by the caller), or in the
 * totals at once if tally is NULL. */
int hrs_store_insert(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *s, uint64_t seq,
                     hrs_tally_t *tally);
/* The same, with `state` the record's RecordState as hrs_store_pack_state
 * packed it (so that a caller that also puts it in an event packs it once). */
int hrs_store_insert_packed(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *s,
                            const uint8_t *state, size_t state_len, uint64_t seq,
                            hrs_tally_t *tally);
/* Replaces the live record `old` with `neu` (same id, prisoner, date,
 * session, contract), moving the totals by the difference. */
int hrs_store_amend(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *old,
                    const hrs_stored_t *neu);
/* Voids the live record `old`: it leaves the sums and totals, and is kept
 * (voided) for idempotency and the lists. */
int hrs_store_void(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *old);
/* Writes the gathered totals and empties the tally. */
int hrs_store_tally_flush(hrs_store_t *self, MDB_txn *txn, hrs_tally_t *tally);

int hrs_store_totals(hrs_store_t *self, MDB_txn *txn, const char *prison, uint32_t week_key,
                     hrs_totals_t *out);
/* Closes a week; *already is set if it was closed before (nothing written). */
int hrs_store_close_week(hrs_store_t *self, MDB_txn *txn, const char *prison,
                         uint32_t week_key, const char *closed_by, int64_t closed_at,
                         bool *already);
int hrs_store_is_closed(hrs_store_t *self, MDB_txn *txn, const char *prison,
                        uint32_t week_key, bool *closed);

/* Calls fn for each record id of the prisoner's ISO week (voided included),
 * in date, session and id order, until fn returns non-zero (then returns
 * that). */
typedef int (hrs_store_id_fn)(const char *record_id, void *arg);
int hrs_store_each_in_week(hrs_store_t *self, MDB_txn *txn, const char *prisoner,
                           uint32_t week_key, hrs_store_id_fn *fn, void *arg);

/* Up to `limit` record ids of `contract` from `from` to `to` (inclusive),
 * in date order and capture order within a date, starting after the
 * position `after` (from an earlier page, `after_len` bytes; 0 to start at
 * `from`). Sets *more and fills `next` (HRS_STORE_POS_MAX bytes) with the
 * position to continue from. */
#define HRS_STORE_POS_MAX 12
int hrs_store_each_by_contract(hrs_store_t *self, MDB_txn *txn, const char *contract,
                               int32_t from, int32_t to, const uint8_t *after,
                               size_t after_len, uint32_t limit, hrs_store_id_fn *fn,
                               void *arg, bool *more, uint8_t *next, size_t *next_len);

/* Records stored (voided included). */
int hrs_store_record_count(hrs_store_t *self, MDB_txn *txn, uint64_t *n);

/* Fills a RecordState from a stored record. The strings point into `s`
 * and into `date`/`week`, which must outlive `out`. */
void hrs_store_state(const hrs_stored_t *s, Pay__RecordState *out, char date[CIVIL_DATE_LEN],
                     char week[CIVIL_WEEK_LEN]);

/* Room for any packed RecordState of an hrs_stored_t (its strings are
 * bounded by the struct's arrays; checked at compile time). */
#define HRS_STATE_PACK_MAX 4096
/* Packs the RecordState of `s` (hrs_store_state) into `out`; returns its
 * length, the bytes protobuf-c gives for it inside any message. */
size_t hrs_store_pack_state(const hrs_stored_t *s, uint8_t out[HRS_STATE_PACK_MAX]);
/* Writes the key (field number, wire type 2) and varint `len` of a
 * length-delimited field; returns the bytes written (at most 11). */
size_t hrs_store_pb_len_prefix(uint8_t *out, uint32_t field, size_t len);

#endif
