/* wage_apply: see wage_apply.h. */
#include "wage_apply.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "codec.h"
#include "ident.h"
#include "log.h"
#include "wage_ref.h"

/* A record as this module needs it, checked once. */
typedef struct {
    const Pay__RecordState *s;
    int32_t date;
    uint32_t week;
    char week_text[CIVIL_WEEK_LEN];
    const uint8_t *raw;          /* `s` as it came on the wire, or NULL */
    size_t raw_len;
} s_rec_t;

/* ---- the wire form of the record state ---------------------------------------
 *
 * The record's line (RecordLine) embeds its RecordState, field 1. Packing
 * it again walks the state twice (size, then bytes); the event already
 * holds those bytes, so they are copied as they are. protobuf-c packs
 * fields in number order and keeps unknown fields, so the result is the
 * same bytes as packing the decoded state (the benchmark's digest checks
 * it). Anything unusual (the field missing or repeated, which protobuf
 * merges) falls back to packing. */

static int s_varint(const uint8_t *b, size_t len, size_t *at, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *at < len; shift += 7) {
        uint8_t c = b[(*at)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* The bytes of the length-delimited field `field`, present exactly once in
 * the message `b`. Returns 0, or -1. */
static int s_wire_field(const uint8_t *b, size_t len, uint32_t field, const uint8_t **out,
                        size_t *out_len)
{
    size_t at = 0;
    int found = 0;
    while (at < len) {
        uint64_t tag, v;
        if (s_varint(b, len, &at, &tag) != 0)
            return -1;
        switch (tag & 7) {
        case 0:
            if (s_varint(b, len, &at, &v) != 0)
                return -1;
            break;
        case 1:
            if (len - at < 8)
                return -1;
            at += 8;
            break;
        case 5:
            if (len - at < 4)
                return -1;
            at += 4;
            break;
        case 2:
            if (s_varint(b, len, &at, &v) != 0 || v > len - at)
                return -1;
            if ((tag >> 3) == field) {
                if (found)
                    return -1;
                found = 1;
                *out = b + at;
                *out_len = (size_t)v;
            }
            at += (size_t)v;
            break;
        default:
            return -1;
        }
    }
    return found ? 0 : -1;
}

/* The wire bytes of the state that `ev` (decoded from `payload`) prices:
 * HoursEvent.recorded (2) .record (1), or .amended (3) .new (2). */
static void s_raw_state(const Pay__HoursEvent *ev, const uint8_t *payload, size_t len,
                        const uint8_t **raw, size_t *raw_len)
{
    const uint8_t *sub;
    size_t sub_len;
    *raw = NULL;
    *raw_len = 0;
    uint32_t outer = ev->kind_case == PAY__HOURS_EVENT__KIND_RECORDED ? 2
                     : ev->kind_case == PAY__HOURS_EVENT__KIND_AMENDED ? 3 : 0;
    if (!outer || s_wire_field(payload, len, outer, &sub, &sub_len) != 0
        || s_wire_field(sub, sub_len, outer == 2 ? 1 : 2, raw, raw_len) != 0) {
        *raw = NULL;
        *raw_len = 0;
    }
}

/* Stores `rl` under its record id; its state is `raw` when given (see
 * above), else rl->state packed. */
static int s_record_put(wage_store_t *ws, MDB_txn *txn, Pay__RecordLine *rl,
                        const uint8_t *raw, size_t raw_len)
{
    const char *id = rl->state->record_id;
    if (!raw)
        return wage_store_put_msg(txn, ws->records, id, strlen(id), &rl->base);
    Pay__RecordState *state = rl->state;
    rl->state = NULL;
    uint8_t hdr[11];
    size_t h = 0;
    hdr[h++] = 0x0a;   /* field 1, length-delimited */
    for (uint64_t n = raw_len; ; n >>= 7) {
        hdr[h++] = (uint8_t)(n & 0x7f) | (n >= 0x80 ? 0x80 : 0);
        if (n < 0x80)
            break;
    }
    size_t rest = protobuf_c_message_get_packed_size(&rl->base);
    MDB_val k = { strlen(id), (void *)id }, v = { h + raw_len + rest, NULL };
    int rc = mdb_put(txn, ws->records, &k, &v, MDB_RESERVE);
    if (rc == 0) {
        uint8_t *p = v.mv_data;
        memcpy(p, hdr, h);
        memcpy(p + h, raw, raw_len);
        protobuf_c_message_pack(&rl->base, p + h + raw_len);
    }
    rl->state = state;
    return rc;
}

/* 0 if the state names a record we can key (prisoner, prison, date, id);
 * pricing problems beyond that become exceptions, not refusals. */
static int s_rec_check(const Pay__RecordState *s, s_rec_t *out)
{
    if (!s || !ident_is_record_id(s->record_id) || !ident_is_prisoner(s->prisoner)
        || !ident_is_prison(s->prison) || !ident_is_contract(s->contract) || !s->date
        || civil_parse_date(s->date, &out->date) != 0 || !s->has_minutes
        || s->minutes < IDENT_MIN_MINUTES || s->minutes > IDENT_MAX_MINUTES
        || s->units > IDENT_MAX_UNITS
        || (s->work_type != PAY__WORK_TYPE__WORKSHOP && s->work_type != PAY__WORK_TYPE__OUTSIDE)
        || s->outcome == PAY__OUTCOME__OUTCOME_UNSPECIFIED)
        return -1;
    civil_week_t w = civil_iso_week(out->date);
    out->s = s;
    out->week = civil_week_key(w);
    civil_format_week(w, out->week_text);
    return 0;
}

static int s_exception_put(wage_store_t *ws, MDB_txn *txn, const s_rec_t *r,
                           const char *kind, const char *detail)
{
    const Pay__RecordState *s = r->s;
    Pay__WageException e = PAY__WAGE_EXCEPTION__INIT;
    e.prison = s->prison;
    e.week = (char *)r->week_text;
    e.kind = (char *)kind;
    e.record_id = s->record_id;
    e.prisoner = s->prisoner;
    e.contract = s->contract;
    e.date = s->date;
    e.has_session = s->has_session;
    e.session = s->session;
    e.has_minutes = s->has_minutes;
    e.minutes = s->minutes;
    e.detail = (char *)detail;
    uint8_t key[WAGE_PW_KEY_LEN + IDENT_RECORD_ID_MAX];
    size_t idlen = strlen(s->record_id);
    wage_key_pw(s->prison, r->week, key);
    memcpy(key + WAGE_PW_KEY_LEN, s->record_id, idlen);
    return wage_store_put_msg(txn, ws->exceptions, key, WAGE_PW_KEY_LEN + idlen, &e.base);
}

static int s_exception_del(wage_store_t *ws, MDB_txn *txn, const s_rec_t *r)
{
    uint8_t key[WAGE_PW_KEY_LEN + IDENT_RECORD_ID_MAX];
    size_t idlen = strlen(r->s->record_id);
    wage_key_pw(r->s->prison, r->week, key);
    memcpy(key + WAGE_PW_KEY_LEN, r->s->record_id, idlen);
    MDB_val k = { WAGE_PW_KEY_LEN + idlen, key };
    int rc = mdb_del(txn, ws->exceptions, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Reads the week aggregate (or starts a fresh one) into *agg. Both live in
 * the store's arena: nothing to free. */
static int s_agg_get(wage_store_t *ws, MDB_txn *txn, const char *prison, uint32_t week,
                     const char *week_text, const char *prisoner,
                     Pay__WeekAggregate **agg)
{
    uint8_t key[WAGE_WEEK_KEY_LEN];
    wage_key_week(prison, week, prisoner, key);
    ProtobufCMessage *m = NULL;
    int rc = wage_store_get_arena(ws, txn, ws->weeks, key, sizeof key,
                                  &pay__week_aggregate__descriptor, &m);
    if (rc == 0) {
        *agg = (Pay__WeekAggregate *)m;
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return rc;
    size_t lp = strlen(prison) + 1, lw = strlen(week_text) + 1, lx = strlen(prisoner) + 1;
    Pay__WeekAggregate *a = ws->arena.pb.alloc(&ws->arena, sizeof *a + lp + lw + lx);
    if (!a)
        return ENOMEM;
    pay__week_aggregate__init(a);
    char *str = (char *)(a + 1);
    a->prison = memcpy(str, prison, lp);
    a->week = memcpy(str + lp, week_text, lw);
    a->prisoner = memcpy(str + lp + lw, prisoner, lx);
    *agg = a;
    return 0;
}

static void s_agg_free(Pay__WeekAggregate **agg)
{
    *agg = NULL;   /* arena memory */
}

static int s_agg_put(wage_store_t *ws, MDB_txn *txn, uint32_t week,
                     Pay__WeekAggregate *a)
{
    uint8_t key[WAGE_WEEK_KEY_LEN];
    wage_key_week(a->prison, week, a->prisoner, key);
    return wage_store_put_msg(txn, ws->weeks, key, sizeof key, &a->base);
}

/* ---- the group's week aggregates ------------------------------------------
 *
 * While a feed group is active (wage_apply_group), the aggregates that the
 * group's records touch are kept here, read from LMDB at most once and
 * written once at the end of the group: a group of 16,384 records touches
 * a few thousand (prisoner, week) rows, where each record used to read and
 * rewrite its row. Nothing reads the weeks database during a group except
 * the week close, which writes this table out first. */

#define S_AGG_SLOTS (1u << 15)          /* power of two */
#define S_AGG_MAX (S_AGG_SLOTS / 2)     /* then written out and emptied */

typedef struct {
    uint8_t key[WAGE_WEEK_KEY_LEN];
    uint32_t week;
    int used;
    Pay__WeekAggregate agg;           /* its strings point at the buffers below */
    char prison[WAGE_PRISON_LEN], week_text[CIVIL_WEEK_LEN], prisoner[WAGE_PRISONER_LEN];
} s_agg_slot_t;

typedef struct {
    size_t n;
    uint32_t used[S_AGG_MAX];         /* slot numbers in use, in insertion order */
    s_agg_slot_t slots[S_AGG_SLOTS];
} s_aggs_t;

static uint32_t s_agg_hash(const uint8_t *k)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < WAGE_WEEK_KEY_LEN; i++)
        h = (h ^ k[i]) * 16777619u;
    return h;
}

static void s_aggs_clear(s_aggs_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        t->slots[t->used[i]].used = 0;
    t->n = 0;
}

static int s_slot_cmp(const void *a, const void *b)
{
    const s_agg_slot_t *x = *(s_agg_slot_t *const *)a, *y = *(s_agg_slot_t *const *)b;
    return memcmp(x->key, y->key, WAGE_WEEK_KEY_LEN);
}

/* Writes every aggregate of the table (in key order, which LMDB likes
 * better) and empties it. */
static int s_aggs_flush(wage_store_t *ws, MDB_txn *txn)
{
    s_aggs_t *t = ws->group.aggs;
    int rc = 0;
    if (!t || t->n == 0)
        return 0;
    s_agg_slot_t **order = malloc(t->n * sizeof *order);
    if (!order)
        return ENOMEM;
    for (size_t i = 0; i < t->n; i++)
        order[i] = &t->slots[t->used[i]];
    qsort(order, t->n, sizeof *order, s_slot_cmp);
    for (size_t i = 0; i < t->n && rc == 0; i++)
        rc = wage_store_put_msg(txn, ws->weeks, order[i]->key, WAGE_WEEK_KEY_LEN,
                                &order[i]->agg.base);
    free(order);
    s_aggs_clear(t);
    return rc;
}

static void s_copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* The aggregate of (prison, week, prisoner) to update in place: from the
 * group's table when a group is active (*cached = 1: the caller must not
 * write it), else read as s_agg_get does (*cached = 0: the caller writes
 * it with s_agg_put). */
static int s_agg_ref(wage_store_t *ws, MDB_txn *txn, const char *prison, uint32_t week,
                     const char *week_text, const char *prisoner, Pay__WeekAggregate **agg,
                     int *cached)
{
    s_aggs_t *t = ws->group.aggs;
    *cached = 0;
    if (!ws->group.active || !t)
        return s_agg_get(ws, txn, prison, week, week_text, prisoner, agg);
    uint8_t key[WAGE_WEEK_KEY_LEN];
    wage_key_week(prison, week, prisoner, key);
    uint32_t h = s_agg_hash(key);
    s_agg_slot_t *slot;
    for (uint32_t i = 0;; i++) {
        slot = &t->slots[(h + i) & (S_AGG_SLOTS - 1)];
        if (!slot->used)
            break;
        if (memcmp(slot->key, key, sizeof key) == 0) {
            *agg = &slot->agg;
            *cached = 1;
            return 0;
        }
    }
    Pay__WeekAggregate *a = NULL;
    int rc = s_agg_get(ws, txn, prison, week, week_text, prisoner, &a);
    if (rc != 0)
        return rc;
    if (a->base.n_unknown_fields > 0 || !a->prison || !a->week || !a->prisoner
        || strlen(a->prison) >= WAGE_PRISON_LEN || strlen(a->week) >= CIVIL_WEEK_LEN
        || strlen(a->prisoner) >= WAGE_PRISONER_LEN) {
        *agg = a;   /* not a row this table can hold as it is: write it directly */
        return 0;
    }
    if (t->n == S_AGG_MAX) {
        if ((rc = s_aggs_flush(ws, txn)) != 0)
            return rc;
        for (uint32_t i = 0;; i++) {   /* the table is empty now */
            slot = &t->slots[(h + i) & (S_AGG_SLOTS - 1)];
            if (!slot->used)
                break;
        }
    }
    memcpy(slot->key, key, sizeof key);
    slot->week = week;
    slot->used = 1;
    slot->agg = *a;   /* scalars and has_ flags; no unknown fields (checked) */
    s_copy_str(slot->prison, sizeof slot->prison, a->prison);
    s_copy_str(slot->week_text, sizeof slot->week_text, a->week);
    s_copy_str(slot->prisoner, sizeof slot->prisoner, a->prisoner);
    slot->agg.prison = slot->prison;
    slot->agg.week = slot->week_text;
    slot->agg.prisoner = slot->prisoner;
    t->used[t->n++] = (uint32_t)(slot - t->slots);
    *agg = &slot->agg;
    *cached = 1;
    return 0;
}

/* Is (prison, week) closed? Remembered for the group: nothing but the week
 * close (which forgets it) writes prison_weeks during a group. */
static int s_week_closed(wage_store_t *ws, MDB_txn *txn, const char *prison, uint32_t week,
                         int *closed)
{
    wage_group_t *g = &ws->group;
    if (!g->active)
        return wage_store_week_closed(ws, txn, prison, week, closed);
    for (size_t i = 0; i < sizeof g->closed_memo / sizeof g->closed_memo[0]; i++)
        if (g->closed_memo[i].valid && g->closed_memo[i].week == week
            && strcmp(g->closed_memo[i].prison, prison) == 0) {
            *closed = g->closed_memo[i].closed;
            return 0;
        }
    int rc = wage_store_week_closed(ws, txn, prison, week, closed);
    if (rc == 0 && strlen(prison) < WAGE_PRISON_LEN) {
        unsigned i = g->memo_next++ % (sizeof g->closed_memo / sizeof g->closed_memo[0]);
        g->closed_memo[i].valid = 1;
        g->closed_memo[i].closed = *closed;
        g->closed_memo[i].week = week;
        memcpy(g->closed_memo[i].prison, prison, strlen(prison) + 1);
    }
    return rc;
}

int wage_apply_group(MDB_txn *txn, feed_group_phase_t phase, void *arg)
{
    wage_store_t *ws = arg;
    int rc = 0;
    switch (phase) {
    case FEED_GROUP_BEGIN:
        if (ws->group.aggs)
            s_aggs_clear(ws->group.aggs);
        else if (!(ws->group.aggs = calloc(1, sizeof(s_aggs_t))))
            return ENOMEM;
        return wage_store_group_begin(ws, txn);
    case FEED_GROUP_END:
        if (!ws->group.active)
            return 0;
        rc = s_aggs_flush(ws, txn);
        if (rc == 0)
            return wage_store_group_end(ws, txn);   /* ends the group */
        break;   /* the transaction is aborted */
    case FEED_GROUP_ABORT:
    default:
        break;
    }
    if (ws->group.aggs)
        s_aggs_clear(ws->group.aggs);
    wage_store_group_abort(ws);
    return rc;
}

/* Adds (sign +1) or removes (sign -1) a record's contribution to its week,
 * `amount` being the line just posted (negative for a reversal). */
static int s_agg_apply(wage_store_t *ws, MDB_txn *txn, const s_rec_t *r, int sign,
                       int64_t amount, int attended_workshop)
{
    const Pay__RecordState *s = r->s;
    Pay__WeekAggregate *a = NULL;
    int cached = 0;
    int rc = s_agg_ref(ws, txn, s->prison, r->week, r->week_text, s->prisoner, &a, &cached);
    if (rc != 0)
        return rc;
    int64_t minutes = (int64_t)s->minutes * sign;
    a->has_sessions = 1;
    a->sessions = (uint32_t)((int64_t)a->sessions + sign);
    a->has_minutes = 1;
    a->minutes += minutes;
    if (s->work_type == PAY__WORK_TYPE__OUTSIDE) {
        a->has_outside_pay = 1;
        a->outside_pay += amount;
        a->has_outside_minutes = 1;
        a->outside_minutes += minutes;
    } else {
        a->has_workshop_pay = 1;
        a->workshop_pay += amount;
    }
    if (attended_workshop) {
        a->has_attended_workshop = 1;
        a->attended_workshop = (uint32_t)((int64_t)a->attended_workshop + sign);
    }
    if (s->outcome == PAY__OUTCOME__ATTENDED) {
        a->has_billable_minutes = 1;
        a->billable_minutes += minutes;
    }
    if (cached)
        return 0;   /* written at the end of the group */
    rc = s_agg_put(ws, txn, r->week, a);
    s_agg_free(&a);
    return rc;
}

/* Posts the exact reversal of the record's stored line and takes the record
 * out of its week. `stored` is the record's RecordLine. */
static int s_reverse(wage_store_t *ws, MDB_txn *txn, uint64_t feed_seq,
                     Pay__RecordLine *stored)
{
    s_rec_t r;
    if (s_rec_check(stored->state, &r) != 0)
        return MDB_CORRUPTED;
    Pay__LedgerLine l = PAY__LEDGER_LINE__INIT;
    l.has_kind = 1;
    l.kind = PAY__LINE_KIND__LINE_REVERSAL;
    l.date = stored->state->date;
    l.week = r.week_text;
    l.prison = stored->state->prison;
    l.prisoner = stored->state->prisoner;
    l.debit = stored->debit;
    l.credit = stored->credit;
    l.has_amount = 1;
    l.amount = -stored->amount;
    l.ref = stored->state->record_id;
    l.has_feed_seq = feed_seq > 0;
    l.feed_seq = feed_seq;
    l.has_reverses = 1;
    l.reverses = stored->line_seq;
    int rc = wage_store_post(ws, txn, &l);
    if (rc != 0)
        return rc;
    if ((rc = s_agg_apply(ws, txn, &r, -1, l.amount, stored->attended_workshop)) != 0)
        return rc;
    return s_exception_del(ws, txn, &r);
}

/* Prices `s` and posts its line; stores it as the record's last line. */
static int s_price_and_post(wage_store_t *ws, MDB_txn *txn, uint64_t feed_seq,
                            const s_rec_t *r)
{
    const Pay__RecordState *s = r->s;
    wage_record_t rec = {
        .work_type = (wage_work_type_t)s->work_type,
        .outcome = (wage_outcome_t)s->outcome,
        .paid_absence = s->paid_absence ? 1 : 0,
        .minutes = s->minutes,
        .units = s->units,
    };
    wage_rate_t rate;
    wage_outside_t out;
    const wage_rate_t *rate_p = NULL;
    const wage_outside_t *out_p = NULL;
    int rc = 0;
    if (s->work_type == PAY__WORK_TYPE__WORKSHOP) {
        rc = wage_store_rate_in_force(ws, txn, s->prison, s->pay_band,
                                      (uint32_t)s->incentive_level, r->date, &rate);
        if (rc == 0)
            rate_p = &rate;
    } else if (s->work_type == PAY__WORK_TYPE__OUTSIDE && s->contract) {
        rc = wage_store_outside_in_force(ws, txn, s->contract, r->date, &out);
        if (rc == 0)
            out_p = &out;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    wage_price_t price;
    int priceable = wage_price_record(&rec, rate_p, out_p, &price) == 0;

    wage_line_t line;
    wage_line_for_price(s->prison, s->prisoner, rec.work_type, price.pence, &line);
    /* No description on pay lines: the text forms derive one from the
     * record id (wage_journal_describe), and snprintf per record showed in
     * the pricing profile. */
    Pay__LedgerLine l = PAY__LEDGER_LINE__INIT;
    l.has_kind = 1;
    l.kind = PAY__LINE_KIND__LINE_PAY;
    l.date = s->date;
    l.week = (char *)r->week_text;
    l.prison = s->prison;
    l.prisoner = s->prisoner;
    l.debit = line.debit;
    l.credit = line.credit;
    l.has_amount = 1;
    l.amount = line.amount;
    l.ref = s->record_id;
    l.has_feed_seq = feed_seq > 0;
    l.feed_seq = feed_seq;
    if ((rc = wage_store_post(ws, txn, &l)) != 0)
        return rc;

    Pay__RecordLine rl = PAY__RECORD_LINE__INIT;
    rl.state = (Pay__RecordState *)s;
    rl.has_live = 1;
    rl.live = 1;
    rl.has_line_seq = 1;
    rl.line_seq = l.seq;
    rl.debit = line.debit;
    rl.credit = line.credit;
    rl.has_amount = 1;
    rl.amount = line.amount;
    rl.has_no_rate = 1;
    rl.no_rate = price.no_rate;
    rl.has_attended_workshop = 1;
    rl.attended_workshop = price.attended_workshop;
    if ((rc = s_record_put(ws, txn, &rl, r->raw, r->raw_len)) != 0)
        return rc;
    if ((rc = s_agg_apply(ws, txn, r, +1, line.amount, price.attended_workshop)) != 0)
        return rc;

    int closed = 0;
    if ((rc = s_week_closed(ws, txn, s->prison, r->week, &closed)) != 0)
        return rc;
    if (!priceable)
        rc = s_exception_put(ws, txn, r, "UNPRICEABLE",
                             "unknown work type or pay out of range; priced at 0");
    else if (price.no_rate)
        rc = s_exception_put(ws, txn, r, "NO_RATE",
                             s->work_type == PAY__WORK_TYPE__OUTSIDE
                                 ? "no outside wage in force"
                                 : "no pay rate for the band and level in force");
    else if (s->outcome == PAY__OUTCOME__REFUSED)
        rc = s_exception_put(ws, txn, r, "REFUSED", "refused session");
    else if (closed)
        rc = s_exception_put(ws, txn, r, "AFTER_CLOSE",
                             "record arrived after its pay week closed");
    if (rc == 0 && closed)
        log_warn("wages.after_close", "record %s for %s %s after the week closed",
                 s->record_id, s->prison, r->week_text);
    return rc;
}

/* Loads the stored line of a record; *stored is NULL if there is none. */
static int s_record_get(wage_store_t *ws, MDB_txn *txn, const char *record_id,
                        Pay__RecordLine **stored)
{
    ProtobufCMessage *m = NULL;
    *stored = NULL;
    int rc = wage_store_get_arena(ws, txn, ws->records, record_id, strlen(record_id),
                                  &pay__record_line__descriptor, &m);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc == 0)
        *stored = (Pay__RecordLine *)m;
    return rc;
}

static int s_mark_void(wage_store_t *ws, MDB_txn *txn, Pay__RecordLine *stored)
{
    stored->has_live = 1;
    stored->live = 0;
    return wage_store_put_msg(txn, ws->records, stored->state->record_id,
                              strlen(stored->state->record_id), &stored->base);
}

/* The prison and week a record state names, for a refusal, where it
 * names them. */
static int s_refuse_rec(feed_refusal_t *why, const Pay__RecordState *s, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));
static int s_refuse_rec(feed_refusal_t *why, const Pay__RecordState *s, const char *fmt, ...)
{
    char week[CIVIL_WEEK_LEN] = "", text[FEED_REASON_LEN];
    int32_t d;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (s && s->date && civil_parse_date(s->date, &d) == 0)
        civil_format_week(civil_iso_week(d), week);
    return feed_refuse(why, s ? s->prison : NULL, week, "%s", text);
}

/* Checks that the hours service told us of the record's prisoner and
 * contract (the facts always come on the feed before a record naming
 * them): a record that names anything else is refused, not priced. */
static int s_refs_known(wage_store_t *ws, MDB_txn *txn, const Pay__RecordState *s,
                        feed_refusal_t *why)
{
    bool known = false;
    wage_contract_ref_t k;
    int rc = wage_ref_prisoner_known(ws, txn, s->prisoner, &known);
    if (rc != 0)
        return rc;
    if (!known)
        return s_refuse_rec(why, s, "record names prisoner %s, unknown to this service",
                            s->prisoner);
    if ((rc = wage_ref_contract(ws, txn, s->contract, &known, &k)) != 0)
        return rc;
    if (!known)
        return s_refuse_rec(why, s, "record names contract %s, unknown to this service",
                            s->contract);
    return 0;
}

/* Recorded or amended: reverse what stands, then price the new state. */
static int s_apply_state(wage_store_t *ws, MDB_txn *txn, uint64_t seq,
                         const Pay__RecordState *s, int amended, const uint8_t *raw,
                         size_t raw_len, feed_refusal_t *why)
{
    s_rec_t r;
    r.raw = raw;
    r.raw_len = raw_len;
    if (s_rec_check(s, &r) != 0)
        return s_refuse_rec(why, s, "%s event with a malformed record state",
                            amended ? "amended" : "recorded");
    int rc = s_refs_known(ws, txn, s, why);
    if (rc != 0)
        return rc;
    Pay__RecordLine *stored = NULL;
    if ((rc = s_record_get(ws, txn, s->record_id, &stored)) != 0)
        return rc;
    if (amended && !(stored && stored->live))
        return s_refuse_rec(why, s, "amendment of record %s, which has no live line here",
                            s->record_id);
    if (!amended && stored && stored->live)
        return s_refuse_rec(why, s, "record %s is already recorded here", s->record_id);
    if (stored && stored->live && (rc = s_reverse(ws, txn, seq, stored)) != 0)
        return rc;
    return s_price_and_post(ws, txn, seq, &r);
}

static int s_apply_void(wage_store_t *ws, MDB_txn *txn, uint64_t seq,
                        const Pay__RecordState *old, feed_refusal_t *why)
{
    if (!old || !ident_is_record_id(old->record_id))
        return s_refuse_rec(why, old, "%s", "void without a valid record id");
    Pay__RecordLine *stored = NULL;
    int rc = s_record_get(ws, txn, old->record_id, &stored);
    if (rc != 0)
        return rc;
    if (!stored || !stored->live)
        return s_refuse_rec(why, old, "void of record %s, which has no live line here",
                            old->record_id);
    rc = s_reverse(ws, txn, seq, stored);
    if (rc == 0)
        rc = s_mark_void(ws, txn, stored);
    return rc;
}

/* Reference facts: validated with the producer's rules, then stored in
 * place of the earlier copy. */
static int s_apply_facts(wage_store_t *ws, MDB_txn *txn, const Pay__HoursEvent *ev,
                         feed_refusal_t *why)
{
    const char *bad = NULL;
    switch (ev->kind_case) {
    case PAY__HOURS_EVENT__KIND_PRISON:
        if ((bad = wage_ref_prison_invalid(ev->prison)) == NULL)
            return wage_ref_put_prison(ws, txn, ev->prison);
        break;
    case PAY__HOURS_EVENT__KIND_PRISONER:
        if ((bad = wage_ref_prisoner_invalid(ev->prisoner)) == NULL)
            return wage_ref_put_prisoner(ws, txn, ev->prisoner);
        break;
    default:
        if ((bad = wage_ref_contract_invalid(ev->contract)) == NULL)
            return wage_ref_put_contract(ws, txn, ev->contract);
        break;
    }
    return feed_refuse(why, NULL, NULL, "%s", bad);
}

/* `raw`: the wire bytes of the state priced (s_raw_state), or NULL. */
static int s_apply_hours_event(wage_store_t *ws, MDB_txn *txn, uint64_t seq,
                               const Pay__HoursEvent *ev, const uint8_t *raw, size_t raw_len,
                               feed_refusal_t *why)
{
    switch (ev->kind_case) {
    case PAY__HOURS_EVENT__KIND_RECORDED:
        return s_apply_state(ws, txn, seq, ev->recorded ? ev->recorded->record : NULL, 0, raw,
                             raw_len, why);
    case PAY__HOURS_EVENT__KIND_AMENDED:
        return s_apply_state(ws, txn, seq, ev->amended ? ev->amended->new_ : NULL, 1, raw,
                             raw_len, why);
    case PAY__HOURS_EVENT__KIND_VOIDED:
        return s_apply_void(ws, txn, seq, ev->voided ? ev->voided->old : NULL, why);
    case PAY__HOURS_EVENT__KIND_WEEK_CLOSED:
        return wage_apply_close(ws, txn, seq, ev->week_closed, why);
    case PAY__HOURS_EVENT__KIND_PRISON:
    case PAY__HOURS_EVENT__KIND_PRISONER:
    case PAY__HOURS_EVENT__KIND_CONTRACT:
        return s_apply_facts(ws, txn, ev, why);
    default:
        /* A kind this release does not know (a newer producer): held until
         * an upgrade that knows it retries it. */
        return feed_refuse(why, NULL, NULL, "an hours event of a kind this release does "
                           "not know");
    }
}

int wage_apply_hours_event(wage_store_t *ws, MDB_txn *txn, uint64_t seq,
                           const Pay__HoursEvent *ev, feed_refusal_t *why)
{
    return s_apply_hours_event(ws, txn, seq, ev, NULL, 0, why);
}

int wage_apply_event(MDB_txn *txn, uint64_t seq, const uint8_t *payload,
                     size_t len, void *arg, feed_refusal_t *why)
{
    wage_store_t *ws = arg;
    char err[CODEC_ERR_LEN];
    /* The producer's rules, checked again: strings (UTF-8, no NUL), then
     * the decode, then the enums. */
    if (codec_check_strings(&pay__hours_event__descriptor, payload, len, err) != 0)
        return feed_refuse(why, NULL, NULL, "undecodable hours event: %s", err);
    /* Everything this event unpacks lives in the arena until the next one. */
    wage_arena_reset(&ws->arena);
    Pay__HoursEvent *ev = pay__hours_event__unpack(&ws->arena.pb, len, payload);
    if (!ev)
        return feed_refuse(why, NULL, NULL, "undecodable hours event of %zu bytes", len);
    if (codec_check_enums(&ev->base, err) != 0)
        return feed_refuse(why, NULL, NULL, "hours event with an unknown value: %s", err);
    const uint8_t *raw;
    size_t raw_len;
    s_raw_state(ev, payload, len, &raw, &raw_len);
    return s_apply_hours_event(ws, txn, seq, ev, raw, raw_len, why);
}

/* ---- the week close ---------------------------------------------------------- */

int wage_apply_deduction_verdict(wage_store_t *ws, MDB_txn *txn, const Pay__Deduction *row,
                                 uint32_t week, wage_deduction_verdict_t *verdict,
                                 char prison[WAGE_PRISON_LEN])
{
    *verdict = WAGE_DEDUCTION_OPEN;
    prison[0] = '\0';
    if (!row || !ident_is_prisoner(row->prisoner))
        return EINVAL;
    int32_t monday = civil_week_monday(civil_week_from_key(week));
    int rc = wage_ref_custody_week(ws, txn, row->prisoner, monday, prison);
    if (rc != 0 || !prison[0])
        return rc;
    int closed = 0;
    if ((rc = wage_store_week_closed(ws, txn, prison, week, &closed)) != 0 || !closed)
        return rc;
    *verdict = WAGE_DEDUCTION_CLOSED;
    uint8_t key[12];
    memcpy(key, row->prisoner, 7);
    store_be32_put(key + 7, week);
    key[11] = (uint8_t)row->kind;
    ProtobufCMessage *m = NULL;
    rc = wage_store_get_msg(txn, ws->deductions, key, sizeof key, &pay__deduction__descriptor,
                            &m);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    const Pay__Deduction *d = (const Pay__Deduction *)m;
    if (d->has_amount == row->has_amount && d->amount == row->amount)
        *verdict = WAGE_DEDUCTION_UNCHANGED;
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int s_deductions_get(wage_store_t *ws, MDB_txn *txn, const char *prisoner,
                            uint32_t week, int64_t out[WAGE_DEDUCTION_KINDS], int *any)
{
    *any = 0;
    for (int k = 0; k < WAGE_DEDUCTION_KINDS; k++) {
        uint8_t key[12];
        memcpy(key, prisoner, 7);
        store_be32_put(key + 7, week);
        key[11] = (uint8_t)(k + 1);
        ProtobufCMessage *m = NULL;
        out[k] = 0;
        int rc = wage_store_get_msg(txn, ws->deductions, key, sizeof key,
                                    &pay__deduction__descriptor, &m);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc != 0)
            return rc;
        out[k] = ((Pay__Deduction *)m)->amount;
        if (out[k] > 0)
            *any = 1;
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return 0;
}

static int s_close_one(wage_store_t *ws, MDB_txn *txn, uint64_t seq, const char *prison,
                       uint32_t week, const char *week_text, int32_t monday,
                       int64_t min_weekly_pay, Pay__WeekAggregate *a)
{
    wage_week_in_t in = { 0 };
    wage_week_out_t out;
    int any = 0, rc;
    in.workshop_pay = a->workshop_pay;
    in.outside_pay = a->outside_pay;
    in.adjustments = a->adjustments;
    in.attended_workshop = a->attended_workshop;
    in.min_weekly_pay = min_weekly_pay;
    if ((rc = s_deductions_get(ws, txn, a->prisoner, week, in.deductions, &any)) != 0)
        return rc;
    if (any && a->outside_pay > 0) {
        char last[WAGE_PRISON_LEN];
        if ((rc = wage_ref_custody_week(ws, txn, a->prisoner, monday, last)) != 0)
            return rc;
        in.deductions_apply = strcmp(last, prison) == 0;
    }
    wage_week_close(&in, &out);

    wage_line_t lines[WAGE_CLOSE_MAX_LINES];
    size_t n = wage_close_lines(prison, a->prisoner, &out, lines);
    char sunday[CIVIL_DATE_LEN], ref[32], desc[96];
    civil_format_date(monday + 6, sunday);
    snprintf(ref, sizeof ref, "close:%s:%s", prison, week_text);
    for (size_t i = 0; i < n; i++) {
        Pay__LedgerLine l = PAY__LEDGER_LINE__INIT;
        l.has_kind = 1;
        switch (lines[i].kind) {
        case WAGE_LINE_TOP_UP:
            l.kind = PAY__LINE_KIND__LINE_TOP_UP;
            snprintf(desc, sizeof desc, "top-up to the minimum weekly pay %s", week_text);
            break;
        case WAGE_LINE_DEDUCTION:
            l.kind = PAY__LINE_KIND__LINE_DEDUCTION;
            snprintf(desc, sizeof desc, "statutory deduction %s %s", lines[i].credit,
                     week_text);
            break;
        default:
            l.kind = PAY__LINE_KIND__LINE_LEVY;
            snprintf(desc, sizeof desc, "Prisoners' Earnings Act levy %s", week_text);
            break;
        }
        l.date = sunday;
        l.week = (char *)week_text;
        l.prison = (char *)prison;
        l.prisoner = a->prisoner;
        l.debit = lines[i].debit;
        l.credit = lines[i].credit;
        l.has_amount = 1;
        l.amount = lines[i].amount;
        l.ref = ref;
        l.description = desc;
        l.has_feed_seq = seq > 0;
        l.feed_seq = seq;
        if ((rc = wage_store_post(ws, txn, &l)) != 0)
            return rc;
    }
    a->has_closed = a->closed = 1;
    a->has_gross = 1;
    a->gross = out.gross;
    a->has_top_up = 1;
    a->top_up = out.top_up;
    a->has_deductions = 1;
    a->deductions = out.deductions_total;
    a->has_levy = 1;
    a->levy = out.levy;
    a->has_net = 1;
    a->net = out.net;
    a->has_net_outside = 1;
    a->net_outside = out.net_outside;
    a->has_income_tax = 1;
    a->income_tax = out.deductions[WAGE_INCOME_TAX];
    a->has_national_insurance = 1;
    a->national_insurance = out.deductions[WAGE_NATIONAL_INSURANCE];
    a->has_court_order = 1;
    a->court_order = out.deductions[WAGE_COURT_ORDER];
    a->has_child_maintenance = 1;
    a->child_maintenance = out.deductions[WAGE_CHILD_MAINTENANCE];
    return s_agg_put(ws, txn, week, a);
}

int wage_apply_close(wage_store_t *ws, MDB_txn *txn, uint64_t seq,
                     const Pay__PayWeekClosed *ev, feed_refusal_t *why)
{
    civil_week_t w;
    if (!ev || !ident_is_prison(ev->prison) || !ev->week
        || civil_parse_week(ev->week, &w) != 0)
        return feed_refuse(why, ev ? ev->prison : NULL, ev ? ev->week : NULL,
                           "malformed PayWeekClosed");
    const char *prison = ev->prison;
    uint32_t week = civil_week_key(w);
    char week_text[CIVIL_WEEK_LEN];
    civil_format_week(w, week_text);
    int32_t monday = civil_week_monday(w);
    int closed = 0, rc;
    /* The close scans the weeks database and writes prison_weeks: the
     * group's aggregates go out first, and what it remembered is dropped. */
    if (ws->group.active) {
        if ((rc = s_aggs_flush(ws, txn)) != 0 || (rc = wage_store_group_flush_index(ws, txn)) != 0)
            return rc;
        memset(ws->group.closed_memo, 0, sizeof ws->group.closed_memo);
    }
    if ((rc = wage_store_week_closed(ws, txn, prison, week, &closed)) != 0)
        return rc;
    if (closed) {
        log_warn("wages.close_again", "%s %s is already closed; nothing to do", prison,
                 week_text);
        return 0;
    }
    wage_policy_t policy;
    if ((rc = wage_store_policy_in_force(ws, txn, prison, monday + 6, &policy)) != 0)
        return rc;

    /* Collect the prisoners first, then write: no cursor over a database
     * that is being written. */
    size_t n = 0, cap = 256;
    char (*prisoners)[WAGE_PRISONER_LEN] = malloc(cap * sizeof *prisoners);
    if (!prisoners)
        return ENOMEM;
    uint8_t pkey[WAGE_PW_KEY_LEN];
    wage_key_pw(prison, week, pkey);
    MDB_cursor *cur = NULL;
    if ((rc = mdb_cursor_open(txn, ws->weeks, &cur)) != 0)
        goto done;
    MDB_val k = { sizeof pkey, pkey }, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != WAGE_WEEK_KEY_LEN || memcmp(k.mv_data, pkey, sizeof pkey) != 0)
            break;
        if (n == cap) {
            cap *= 2;
            void *p = realloc(prisoners, cap * sizeof *prisoners);
            if (!p) {
                rc = ENOMEM;
                break;
            }
            prisoners = p;
        }
        memcpy(prisoners[n], (const uint8_t *)k.mv_data + 7, 7);
        prisoners[n++][7] = '\0';
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto done;
    rc = 0;

    uint64_t records = 0, minutes = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        Pay__WeekAggregate *a = NULL;
        if ((rc = s_agg_get(ws, txn, prison, week, week_text, prisoners[i], &a)) != 0)
            break;
        records += a->sessions;
        minutes += (uint64_t)a->minutes;
        if (a->sessions > 0 || a->adjustments != 0 || a->has_adjustments)
            rc = s_close_one(ws, txn, seq, prison, week, week_text, monday,
                             policy.min_weekly_pay, a);
        s_agg_free(&a);
    }
    if (rc != 0)
        goto done;

    Pay__PrisonWeek pw = PAY__PRISON_WEEK__INIT;
    pw.prison = (char *)prison;
    pw.week = week_text;
    pw.has_closed = pw.closed = 1;
    pw.has_closed_at = ev->has_closed_at;
    pw.closed_at = ev->closed_at;
    pw.closed_by = ev->closed_by;
    pw.has_close_feed_seq = 1;
    pw.close_feed_seq = seq;
    if (ev->has_records || ev->has_minutes) {
        pw.has_captured_known = pw.captured_known = 1;
        pw.has_records_captured = 1;
        pw.records_captured = ev->records;
        pw.has_minutes_captured = 1;
        pw.minutes_captured = ev->minutes;
        pw.has_billable_minutes_captured = 1;
        pw.billable_minutes_captured = ev->billable_minutes;
        if (ev->records != records || ev->minutes != minutes)
            log_error("wages.reconcile", "%s %s: hours closed %llu records / %llu min, "
                      "wages priced %llu / %llu",
                      prison, week_text, (unsigned long long)ev->records,
                      (unsigned long long)ev->minutes, (unsigned long long)records,
                      (unsigned long long)minutes);
    }
    rc = wage_store_put_msg(txn, ws->prison_weeks, pkey, sizeof pkey, &pw.base);
    if (rc == 0)
        log_info("wages.week_closed", "%s %s closed: %zu prisoners, %llu records, %llu min",
                 prison, week_text, n, (unsigned long long)records,
                 (unsigned long long)minutes);
done:
    free(prisoners);
    return rc;
}

int wage_apply_adjustment(wage_store_t *ws, MDB_txn *txn, const Pay__Adjustment *adj,
                          int32_t date)
{
    civil_week_t w;
    if (civil_parse_week(adj->week, &w) != 0)
        return EINVAL;
    uint32_t week = civil_week_key(w);
    char week_text[CIVIL_WEEK_LEN], date_text[CIVIL_DATE_LEN], desc[160];
    civil_format_week(w, week_text);
    civil_format_date(date, date_text);
    snprintf(desc, sizeof desc, "pay adjustment: %.140s", adj->reason ? adj->reason : "");
    wage_line_t line;
    wage_line_for_adjustment(adj->prison, adj->prisoner, adj->amount, &line);
    Pay__LedgerLine l = PAY__LEDGER_LINE__INIT;
    l.has_kind = 1;
    l.kind = PAY__LINE_KIND__LINE_ADJUSTMENT;
    l.date = date_text;
    l.week = week_text;
    l.prison = adj->prison;
    l.prisoner = adj->prisoner;
    l.debit = line.debit;
    l.credit = line.credit;
    l.has_amount = 1;
    l.amount = line.amount;
    l.ref = adj->adjustment_id;
    l.description = desc;
    int rc = wage_store_post(ws, txn, &l);
    if (rc != 0)
        return rc;
    Pay__WeekAggregate *a = NULL;
    if ((rc = s_agg_get(ws, txn, adj->prison, week, week_text, adj->prisoner, &a)) != 0)
        return rc;
    a->has_adjustments = 1;
    a->adjustments += adj->amount;
    rc = s_agg_put(ws, txn, week, a);
    s_agg_free(&a);
    return rc;
}
