/* wage_store: the wage service's LMDB schema and the few operations that
 * every writer shares (posting a ledger line, reading a rate in force).
 *
 * Why this module exists: the ledger and its indexes must move together,
 * in the caller's transaction, or the ledger would not balance. Everything
 * that writes a line goes through wage_store_post.
 *
 * Databases (keys big-endian so that scans come out in order; dates are
 * civil days + 2^31 as be32, weeks civil_week_key as be32):
 *   ledger        be64 seq -> LedgerLine (append-only)
 *   by_prisoner   prisoner(7) date(4) seq(8) -> int64 effect on spends
 *                 (credit positive), for statements and running balances
 *   balances      account -> int64 (hledger sign: debits positive), a
 *                 projection of the ledger folded in seq order up to the
 *                 seq stored under the key "\0upto" (wage_store_fold_balances)
 *   records       record_id -> RecordLine (the last line of each record)
 *   weeks         prison(3) week(4) prisoner(7) -> WeekAggregate
 *   prison_weeks  prison(3) week(4) -> PrisonWeek
 *   rates         prison(3) band(1) level(1) eff(4) -> PayRate
 *   policies      prison(3) eff(4) -> PayPolicy
 *   outside       contract(24, NUL padded) eff(4) -> OutsideWage
 *   deductions    prisoner(7) week(4) kind(1) -> Deduction
 *   adjustments   adjustment_id -> Adjustment
 *   exceptions    prison(3) week(4) record_id -> WageException
 *   cursor        feed name -> be64 (feed.h)
 *   feed_quarantine  events the feed could not apply (feed_quarantine.h)
 *   ref_prisons, ref_prisoners, ref_contracts   the hours service's facts
 *                 (wage_ref.h)
 *   server_requests                (server.h)
 *   meta           format_version, service, written_by (store_version.h)
 *
 * Ownership: wage_store_new returns an object owned by the caller, freed by
 * wage_store_destroy. Messages returned by the get helpers are owned by the
 * caller (protobuf_c_message_free_unpacked). */
#ifndef PAY_WAGE_STORE_H
#define PAY_WAGE_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "ident.h"
#include "wage_rules.h"
#include "wages.pb-c.h"

#define WAGE_CURSOR_FEED "hours"
#define WAGE_MAX_LIVING 16

/* One row of the National Living Wage (configured per deployment). */
typedef struct {
    int32_t effective_from;
    int64_t hourly;
} wage_living_t;

/* A bump allocator for protobuf_c_message_unpack on the pricing path:
 * everything one event unpacks lives here until wage_arena_reset, so the
 * hot path makes no malloc/free per message (free is a no-op; anything too
 * big for the buffer is malloc'd and released at reset). */
typedef struct {
    ProtobufCAllocator pb;
    uint8_t *buf;
    size_t cap, used;
    void **big;
    size_t n_big, cap_big;
} wage_arena_t;

void wage_arena_reset(wage_arena_t *a);

/* A read-through cache of the rate rows (and outside-wage rows) of one key,
 * so that pricing does not seek LMDB and unpack a PayRate per record. The
 * whole cache is dropped whenever a rate or outside wage is written: it
 * only ever holds rows read from committed data or from the writer's own
 * transaction, and rates are never written by the pricing transaction. */
#define WAGE_CACHE_SLOTS 512
#define WAGE_CACHE_ROWS 16
typedef struct {
    int used;
    int outside;                   /* 0: rates key, 1: outside-wage key */
    uint8_t key[24];
    size_t klen;
    size_t n;                      /* rows */
    wage_rate_t rates[WAGE_CACHE_ROWS];
    wage_outside_t wages[WAGE_CACHE_ROWS];
} wage_cache_slot_t;

/* State of one transaction of the feed's apply step (wage_apply_group):
 * live only between wage_store_group_begin and _end / _abort. Everywhere
 * else (API transactions, tests calling wage_apply_hours_event) `active`
 * is 0 and everything is read from and written to LMDB directly. While it
 * is active:
 *   - wage_store_post takes the ledger head from `head` instead of seeking
 *     the ledger, keeps the line's by_prisoner entry to write in key order
 *     at the end, and adds each line's amounts to in-memory balance deltas
 *     that wage_store_group_end writes once (with the balances watermark),
 *     so the balances projection is kept current at a few puts per group
 *     instead of being folded from the ledger on the timer;
 *   - wage_apply keeps the week aggregates it touches in `aggs` and writes
 *     each one once, at the end of the group (or before a week close).
 * The transaction is never committed without wage_store_group_end having
 * written all of it, so the effects, the projection and the feed cursor
 * still move together. */
typedef struct {
    int active;
    uint64_t first_head;           /* ledger head (and watermark) at begin */
    uint64_t head;                 /* ledger head, advanced by wage_store_post */
    void *deltas;                  /* balance deltas (wage_store.c) */
    size_t n_deltas;
    void *aggs;                    /* week aggregates (wage_apply.c) */
    uint8_t *byp;                  /* by_prisoner entries to write: key + be64 */
    size_t n_byp, cap_byp;
    struct {
        int valid, closed;
        char prison[WAGE_PRISON_LEN];
        uint32_t week;
    } closed_memo[4];              /* wage_apply: is (prison, week) closed */
    unsigned memo_next;
} wage_group_t;

typedef struct {
    store_t *store;
    MDB_dbi ledger, by_prisoner, balances, records, weeks, prison_weeks;
    MDB_dbi rates, policies, outside, deductions, adjustments, exceptions;
    MDB_dbi cursor;
    MDB_dbi ref_prisons, ref_prisoners, ref_contracts;   /* wage_ref.h */
    wage_living_t living[WAGE_MAX_LIVING];
    size_t n_living;
    wage_arena_t arena;
    wage_cache_slot_t *cache;      /* WAGE_CACHE_SLOTS */
    wage_group_t group;
} wage_store_t;

/* The format of the wages store (store_version.h): raise it, and add the
 * step from the old format to s_steps in wage_store.c, when the layout
 * above or a stored message changes incompatibly. */
#define WAGE_STORE_FORMAT 2

/* Opens the environment in `dir` and checks its format
 * (store_version_open: a new store is stamped, an older one migrated, a
 * newer one refused). Returns NULL on failure (logged). */
wage_store_t *wage_store_new(const char *dir, size_t map_size);
void wage_store_destroy(wage_store_t **self_p);

/* Parses "2026-04-01:1271,2025-04-01:1221" (any order) into the living-wage
 * table. Returns 0 or -1. */
int wage_store_set_living(wage_store_t *self, const char *spec);
/* The living wage in force on `date`; before the first row, the first row. */
int64_t wage_store_living(const wage_store_t *self, int32_t date);

/* ---- keys ---- */
#define WAGE_WEEK_KEY_LEN 14          /* prison week prisoner */
#define WAGE_PW_KEY_LEN 7             /* prison week */
#define WAGE_BYP_KEY_LEN 19           /* prisoner date seq */
void wage_key_week(const char *prison, uint32_t week, const char *prisoner,
                   uint8_t out[WAGE_WEEK_KEY_LEN]);
void wage_key_pw(const char *prison, uint32_t week, uint8_t out[WAGE_PW_KEY_LEN]);
void wage_key_byp(const char *prisoner, int32_t date, uint64_t seq,
                  uint8_t out[WAGE_BYP_KEY_LEN]);
uint32_t wage_key_date(int32_t date);   /* date + 2^31 */
int32_t wage_key_undate(uint32_t v);

/* ---- messages ---- */

/* Drops every cached rate and outside-wage row. */
void wage_store_cache_clear(wage_store_t *self);

/* Gets and unpacks the value at `key` into the arena (no free needed,
 * valid until wage_arena_reset). Returns 0, MDB_NOTFOUND, MDB_CORRUPTED or
 * an LMDB error. */
int wage_store_get_arena(wage_store_t *self, MDB_txn *txn, MDB_dbi dbi, const void *key,
                         size_t klen, const ProtobufCMessageDescriptor *desc,
                         ProtobufCMessage **out);

/* Gets and unpacks the value at `key`. Returns 0 (*out set), MDB_NOTFOUND,
 * MDB_CORRUPTED for a value that does not decode, or an LMDB error. */
int wage_store_get_msg(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                       const ProtobufCMessageDescriptor *desc,
                       ProtobufCMessage **out);
/* Packs `m` straight into the database (MDB_RESERVE). */
int wage_store_put_msg(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                       const ProtobufCMessage *m);

int wage_store_get_i64(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                       int64_t *out);     /* 0 if missing */
int wage_store_put_i64(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                       int64_t v);

/* ---- the ledger ---- */

/* Appends `line` (seq is assigned and written back) and indexes it under
 * its prisoner when it touches the prisoner's spends. `line->date` must be
 * a valid date. Returns 0 or an LMDB error. Account balances are not
 * touched here: see wage_store_fold_balances. */
int wage_store_post(wage_store_t *self, MDB_txn *txn, Pay__LedgerLine *line);

/* Packs `line` into `buf` exactly as protobuf_c_message_pack would, in one
 * pass. Returns the length, or 0 if it does not fit in `cap` or has
 * unknown fields (then pack it with protobuf-c). */
size_t wage_store_pack_line(const Pay__LedgerLine *line, uint8_t *buf, size_t cap);

/* Brings the balances projection up to the ledger's head inside `txn`:
 * every line after the stored watermark adds its amount to the debit
 * account and subtracts it from the credit account, and the watermark moves
 * in the same transaction, so a crash can neither skip nor double a line.
 * Kept off the pricing path (two reads and two writes per line there cost
 * more than the rest of the indexing); the service folds on a timer and
 * before answering a balances query. Sets *upto (may be NULL). */
int wage_store_fold_balances(wage_store_t *self, MDB_txn *txn, uint64_t *upto);

/* The group state above. _begin folds any lines not yet in the balances
 * (posted outside a group, say adjustments) and must be called with no
 * event's messages in the arena; _end writes the balance deltas and moves
 * the watermark (the caller writes its own state first); _abort drops
 * everything (the transaction was aborted). Return 0 or an LMDB error. */
int wage_store_group_begin(wage_store_t *self, MDB_txn *txn);
int wage_store_group_end(wage_store_t *self, MDB_txn *txn);
void wage_store_group_abort(wage_store_t *self);
/* Writes the by_prisoner entries of the group's lines so far (in key order,
 * through one cursor): before anything in the group reads that index. */
int wage_store_group_flush_index(wage_store_t *self, MDB_txn *txn);

/* Number of ledger lines (the last seq). */
int wage_store_ledger_head(wage_store_t *self, MDB_txn *txn, uint64_t *head);

/* ---- reference data in force ---- */

/* The WORKSHOP rate in force: fills *out (prison, band, level, basis, rates)
 * and returns 0, MDB_NOTFOUND, or an LMDB error. */
int wage_store_rate_in_force(wage_store_t *self, MDB_txn *txn, const char *prison,
                             uint32_t band, uint32_t level, int32_t date,
                             wage_rate_t *out);
int wage_store_outside_in_force(wage_store_t *self, MDB_txn *txn,
                                const char *contract, int32_t date,
                                wage_outside_t *out);
/* The policy in force (the defaults when none was set). */
int wage_store_policy_in_force(wage_store_t *self, MDB_txn *txn,
                               const char *prison, int32_t date,
                               wage_policy_t *out);

/* Conversions between the wire rows and the rule structs. */
void wage_rate_from_msg(const Pay__PayRate *m, int32_t eff, wage_rate_t *out);
void wage_policy_from_msg(const Pay__PayPolicy *m, int32_t eff, wage_policy_t *out);

/* Upserts of reference rows, already checked, under their keys (the same
 * key again replaces the row). `eff` / `week` are the parsed dates. */
int wage_store_put_rate(wage_store_t *self, MDB_txn *txn, const Pay__PayRate *row,
                        int32_t eff);
int wage_store_put_policy(wage_store_t *self, MDB_txn *txn, const Pay__PayPolicy *row,
                          int32_t eff);
int wage_store_put_outside(wage_store_t *self, MDB_txn *txn, const Pay__OutsideWage *row,
                           int32_t eff);
int wage_store_put_deduction(wage_store_t *self, MDB_txn *txn, const Pay__Deduction *row,
                             uint32_t week);

/* Is the prison's week closed? Returns 0 with *closed set, or an LMDB error. */
int wage_store_week_closed(wage_store_t *self, MDB_txn *txn, const char *prison,
                           uint32_t week, int *closed);

#endif
