/* wage_store: see wage_store.h. */
#include "wage_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "feed.h"
#include "log.h"
#include "server.h"
#include "store_version.h"

static const char *const s_db_names[] = {
    "ledger", "by_prisoner", "balances", "records", "weeks", "prison_weeks",
    "rates", "policies", "outside", "deductions", "adjustments", "exceptions",
    "cursor", SERVER_REQUESTS_DB, "ref_prisons", "ref_prisoners", "ref_contracts",
    FEED_QUARANTINE_DB, STORE_META_DB, NULL,
};

/* Format 2 adds the replica of the hours service's reference facts and
 * the feed quarantine: new databases that store_open creates empty. The
 * replica fills from the facts the hours service publishes when its own
 * store is migrated (hrs_facts_catch_up), which follow on the feed. */
static int s_to_v2(store_t *store, MDB_txn *txn)
{
    (void)store;
    (void)txn;
    return 0;
}

/* Migrations of the wages store, one row per format (store_version.h):
 * {from, step function, first release writing from + 1, what it changes}. */
static const store_step_t s_steps[] = {
    {1, s_to_v2, "0.2.0", "replica of prisons, prisoners and contracts; feed quarantine"},
    {0},
};
static const store_format_t s_format = {"wages", WAGE_STORE_FORMAT, s_steps, NULL};

static void *s_arena_alloc(void *data, size_t size)
{
    wage_arena_t *a = data;
    size = (size + 15) & ~(size_t)15;
    if (a->used + size <= a->cap) {
        void *p = a->buf + a->used;
        a->used += size;
        return p;
    }
    if (a->n_big == a->cap_big) {
        size_t cap = a->cap_big ? a->cap_big * 2 : 16;
        void **big = realloc(a->big, cap * sizeof *big);
        if (!big)
            return NULL;
        a->big = big;
        a->cap_big = cap;
    }
    void *p = malloc(size);
    if (p)
        a->big[a->n_big++] = p;
    return p;
}

static void s_arena_free(void *data, void *p)
{
    (void)data;
    (void)p;   /* released all at once by wage_arena_reset */
}

void wage_arena_reset(wage_arena_t *a)
{
    for (size_t i = 0; i < a->n_big; i++)
        free(a->big[i]);
    a->n_big = 0;
    a->used = 0;
}

void wage_store_cache_clear(wage_store_t *self)
{
    if (self->cache)
        memset(self->cache, 0, WAGE_CACHE_SLOTS * sizeof *self->cache);
}

int wage_store_get_arena(wage_store_t *self, MDB_txn *txn, MDB_dbi dbi, const void *key,
                         size_t klen, const ProtobufCMessageDescriptor *desc,
                         ProtobufCMessage **out)
{
    MDB_val v;
    int rc = store_get(txn, dbi, key, klen, &v);
    if (rc != 0)
        return rc;
    *out = protobuf_c_message_unpack(desc, &self->arena.pb, v.mv_size, v.mv_data);
    return *out ? 0 : MDB_CORRUPTED;
}

wage_store_t *wage_store_new(const char *dir, size_t map_size)
{
    wage_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->arena.cap = 256 * 1024;
    self->arena.buf = malloc(self->arena.cap);
    self->arena.pb.alloc = s_arena_alloc;
    self->arena.pb.free = s_arena_free;
    self->arena.pb.allocator_data = &self->arena;
    self->cache = calloc(WAGE_CACHE_SLOTS, sizeof *self->cache);
    if (!self->arena.buf || !self->cache)
        goto fail;
    if (store_version_precheck(dir, &s_format) != 0)
        goto fail;
    self->store = store_open(dir, s_db_names, map_size ? map_size : (size_t)256 << 20);
    if (!self->store || store_version_open(self->store, &s_format, dir) != 0)
        goto fail;
    self->ledger = store_dbi(self->store, "ledger");
    self->by_prisoner = store_dbi(self->store, "by_prisoner");
    self->balances = store_dbi(self->store, "balances");
    self->records = store_dbi(self->store, "records");
    self->weeks = store_dbi(self->store, "weeks");
    self->prison_weeks = store_dbi(self->store, "prison_weeks");
    self->rates = store_dbi(self->store, "rates");
    self->policies = store_dbi(self->store, "policies");
    self->outside = store_dbi(self->store, "outside");
    self->deductions = store_dbi(self->store, "deductions");
    self->adjustments = store_dbi(self->store, "adjustments");
    self->exceptions = store_dbi(self->store, "exceptions");
    self->cursor = store_dbi(self->store, "cursor");
    self->ref_prisons = store_dbi(self->store, "ref_prisons");
    self->ref_prisoners = store_dbi(self->store, "ref_prisoners");
    self->ref_contracts = store_dbi(self->store, "ref_contracts");
    if (wage_store_set_living(self, "2026-04-01:1271") != 0)
        goto fail;
    return self;
fail:
    wage_store_destroy(&self);
    return NULL;
}

void wage_store_destroy(wage_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_destroy(&(*self_p)->store);
    wage_arena_reset(&(*self_p)->arena);
    free((*self_p)->arena.buf);
    free((*self_p)->arena.big);
    free((*self_p)->cache);
    free((*self_p)->group.deltas);
    free((*self_p)->group.aggs);
    free((*self_p)->group.byp);
    free(*self_p);
    *self_p = NULL;
}

int wage_store_set_living(wage_store_t *self, const char *spec)
{
    wage_living_t rows[WAGE_MAX_LIVING];
    size_t n = 0;
    const char *p = spec;
    while (p && *p) {
        char date[CIVIL_DATE_LEN];
        const char *colon = strchr(p, ':');
        if (!colon || colon - p != 10 || n == WAGE_MAX_LIVING)
            return -1;
        memcpy(date, p, 10);
        date[10] = '\0';
        if (civil_parse_date(date, &rows[n].effective_from) != 0)
            return -1;
        char *end = NULL;
        long long v = strtoll(colon + 1, &end, 10);
        if (end == colon + 1 || v <= 0 || (*end != ',' && *end != '\0'))
            return -1;
        rows[n++].hourly = v;
        p = *end == ',' ? end + 1 : end;
    }
    if (n == 0)
        return -1;
    memcpy(self->living, rows, n * sizeof rows[0]);
    self->n_living = n;
    return 0;
}

int64_t wage_store_living(const wage_store_t *self, int32_t date)
{
    const wage_living_t *best = NULL, *first = NULL;
    for (size_t i = 0; i < self->n_living; i++) {
        const wage_living_t *r = &self->living[i];
        if (!first || r->effective_from < first->effective_from)
            first = r;
        if (r->effective_from <= date && (!best || r->effective_from > best->effective_from))
            best = r;
    }
    return best ? best->hourly : first->hourly;
}

/* ---- keys ---------------------------------------------------------------- */

uint32_t wage_key_date(int32_t date)
{
    return (uint32_t)date ^ 0x80000000u;
}

int32_t wage_key_undate(uint32_t v)
{
    return (int32_t)(v ^ 0x80000000u);
}

void wage_key_week(const char *prison, uint32_t week, const char *prisoner,
                   uint8_t out[WAGE_WEEK_KEY_LEN])
{
    memcpy(out, prison, 3);
    store_be32_put(out + 3, week);
    memcpy(out + 7, prisoner, 7);
}

void wage_key_pw(const char *prison, uint32_t week, uint8_t out[WAGE_PW_KEY_LEN])
{
    memcpy(out, prison, 3);
    store_be32_put(out + 3, week);
}

void wage_key_byp(const char *prisoner, int32_t date, uint64_t seq,
                  uint8_t out[WAGE_BYP_KEY_LEN])
{
    memcpy(out, prisoner, 7);
    store_be32_put(out + 7, wage_key_date(date));
    store_be64_put(out + 11, seq);
}

/* ---- messages -------------------------------------------------------------- */

int wage_store_get_msg(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                       const ProtobufCMessageDescriptor *desc,
                       ProtobufCMessage **out)
{
    MDB_val v;
    int rc = store_get(txn, dbi, key, klen, &v);
    if (rc != 0)
        return rc;
    *out = protobuf_c_message_unpack(desc, NULL, v.mv_size, v.mv_data);
    return *out ? 0 : MDB_CORRUPTED;
}

int wage_store_put_msg(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                       const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    MDB_val k = { klen, (void *)key }, v = { len, NULL };
    int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc != 0)
        return rc;
    protobuf_c_message_pack(m, v.mv_data);
    return 0;
}

int wage_store_get_i64(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                       int64_t *out)
{
    MDB_val v;
    int rc = store_get(txn, dbi, key, klen, &v);
    *out = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *out = (int64_t)store_be64_get(v.mv_data);
    return 0;
}

int wage_store_put_i64(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                       int64_t v)
{
    uint8_t b[8];
    store_be64_put(b, (uint64_t)v);
    return store_put(txn, dbi, key, klen, b, 8, 0);
}

/* ---- the ledger -------------------------------------------------------------- */

int wage_store_ledger_head(wage_store_t *self, MDB_txn *txn, uint64_t *head)
{
    return store_last_u64(txn, self->ledger, head);
}

/* ---- balances: a projection of the ledger, folded in order ---------------- */

#define S_FOLD_SLOTS 8192
#define S_UPTO_KEY "\0upto"   /* not an account name: accounts start with a letter */

typedef struct {
    char account[WAGE_ACCOUNT_LEN];
    int64_t delta;
    int used;
} s_fold_slot_t;

static int s_fold_flush(wage_store_t *self, MDB_txn *txn, s_fold_slot_t *slots,
                        size_t *n_used)
{
    for (size_t i = 0; i < S_FOLD_SLOTS; i++) {
        if (!slots[i].used)
            continue;
        int64_t cur;
        size_t len = strlen(slots[i].account);
        int rc = wage_store_get_i64(txn, self->balances, slots[i].account, len, &cur);
        if (rc == 0)
            rc = wage_store_put_i64(txn, self->balances, slots[i].account, len,
                                    cur + slots[i].delta);
        if (rc != 0)
            return rc;
        slots[i].used = 0;
    }
    *n_used = 0;
    return 0;
}

static int s_fold_add(wage_store_t *self, MDB_txn *txn, s_fold_slot_t *slots, size_t *n_used,
                      const char *account, int64_t delta)
{
    if (*n_used >= S_FOLD_SLOTS / 2) {
        int rc = s_fold_flush(self, txn, slots, n_used);
        if (rc != 0)
            return rc;
    }
    uint32_t h = 2166136261u;
    for (const char *p = account; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    for (uint32_t i = 0;; i++) {
        s_fold_slot_t *s = &slots[(h + i) % S_FOLD_SLOTS];
        if (!s->used) {
            s->used = 1;
            snprintf(s->account, sizeof s->account, "%s", account);
            s->delta = delta;
            (*n_used)++;
            return 0;
        }
        if (strcmp(s->account, account) == 0) {
            s->delta += delta;
            return 0;
        }
    }
}

/* Writes the group's balance deltas and moves the watermark to the head. */
static int s_group_balances_flush(wage_store_t *self, MDB_txn *txn)
{
    wage_group_t *g = &self->group;
    int rc = s_fold_flush(self, txn, g->deltas, &g->n_deltas);
    if (rc == 0 && g->head > g->first_head) {
        rc = wage_store_put_i64(txn, self->balances, S_UPTO_KEY, sizeof S_UPTO_KEY - 1,
                                (int64_t)g->head);
        if (rc == 0)
            g->first_head = g->head;
    }
    return rc;
}

#define S_BYP_ENTRY (WAGE_BYP_KEY_LEN + 8)
#define S_BYP_MAX 65536                 /* entries kept before writing them out */

static int s_byp_cmp(const void *a, const void *b)
{
    return memcmp(a, b, WAGE_BYP_KEY_LEN);
}

int wage_store_group_flush_index(wage_store_t *self, MDB_txn *txn)
{
    wage_group_t *g = &self->group;
    MDB_cursor *cur = NULL;
    if (g->n_byp == 0)
        return 0;
    /* Sorted, through one cursor: LMDB then finds most keys on the leaf page
     * it is already on instead of searching from the root. */
    qsort(g->byp, g->n_byp, S_BYP_ENTRY, s_byp_cmp);
    int rc = mdb_cursor_open(txn, self->by_prisoner, &cur);
    for (size_t i = 0; i < g->n_byp && rc == 0; i++) {
        uint8_t *e = g->byp + i * S_BYP_ENTRY;
        MDB_val k = { WAGE_BYP_KEY_LEN, e }, v = { 8, e + WAGE_BYP_KEY_LEN };
        rc = mdb_cursor_put(cur, &k, &v, 0);
    }
    if (cur)
        mdb_cursor_close(cur);
    g->n_byp = 0;
    return rc;
}

/* Keeps one by_prisoner entry for the end of the group. */
static int s_byp_add(wage_store_t *self, MDB_txn *txn, const uint8_t key[WAGE_BYP_KEY_LEN],
                     int64_t effect)
{
    wage_group_t *g = &self->group;
    if (g->n_byp == S_BYP_MAX) {
        int rc = wage_store_group_flush_index(self, txn);
        if (rc != 0)
            return rc;
    }
    if (g->n_byp == g->cap_byp) {
        size_t cap = g->cap_byp ? g->cap_byp * 2 : 4096;
        uint8_t *p = realloc(g->byp, cap * S_BYP_ENTRY);
        if (!p)
            return ENOMEM;
        g->byp = p;
        g->cap_byp = cap;
    }
    uint8_t *e = g->byp + g->n_byp++ * S_BYP_ENTRY;
    memcpy(e, key, WAGE_BYP_KEY_LEN);
    store_be64_put(e + WAGE_BYP_KEY_LEN, (uint64_t)effect);
    return 0;
}

int wage_store_group_begin(wage_store_t *self, MDB_txn *txn)
{
    wage_group_t *g = &self->group;
    uint64_t upto = 0, head = 0;
    g->active = 0;
    if (!g->deltas && !(g->deltas = calloc(S_FOLD_SLOTS, sizeof(s_fold_slot_t))))
        return ENOMEM;
    /* Lines posted outside a group (adjustments) are folded first, so that
     * the watermark equals the head and the group's deltas continue it. */
    int rc = wage_store_fold_balances(self, txn, &upto);
    if (rc == 0)
        rc = store_last_u64(txn, self->ledger, &head);
    if (rc != 0)
        return rc;
    if (upto != head)
        return MDB_CORRUPTED;   /* a watermark past the ledger's head */
    g->first_head = g->head = head;
    g->n_deltas = 0;
    g->n_byp = 0;
    memset(g->closed_memo, 0, sizeof g->closed_memo);
    g->memo_next = 0;
    g->active = 1;
    return 0;
}

int wage_store_group_end(wage_store_t *self, MDB_txn *txn)
{
    if (!self->group.active)
        return 0;
    int rc = wage_store_group_flush_index(self, txn);
    if (rc == 0)
        rc = s_group_balances_flush(self, txn);
    self->group.active = 0;
    if (rc != 0)
        wage_store_group_abort(self);
    return rc;
}

void wage_store_group_abort(wage_store_t *self)
{
    wage_group_t *g = &self->group;
    g->active = 0;
    if (g->deltas)
        memset(g->deltas, 0, S_FOLD_SLOTS * sizeof(s_fold_slot_t));
    g->n_deltas = 0;
    g->n_byp = 0;
}

int wage_store_fold_balances(wage_store_t *self, MDB_txn *txn, uint64_t *upto_out)
{
    int64_t upto = 0;
    int rc;
    /* Inside a group the lines posted so far are in the deltas: write them
     * first, or they would be counted twice. */
    if (self->group.active && (rc = s_group_balances_flush(self, txn)) != 0)
        return rc;
    rc = wage_store_get_i64(txn, self->balances, S_UPTO_KEY, sizeof S_UPTO_KEY - 1, &upto);
    if (rc != 0)
        return rc;
    uint64_t head = 0;
    if ((rc = store_last_u64(txn, self->ledger, &head)) != 0)
        return rc;
    if (head <= (uint64_t)upto) {
        if (upto_out)
            *upto_out = (uint64_t)upto;
        return 0;
    }
    s_fold_slot_t *slots = calloc(S_FOLD_SLOTS, sizeof *slots);
    size_t n_used = 0;
    MDB_cursor *cur = NULL;
    if (!slots)
        return ENOMEM;
    if ((rc = mdb_cursor_open(txn, self->ledger, &cur)) != 0)
        goto done;
    uint8_t key[8];
    store_be64_put(key, (uint64_t)upto + 1);
    MDB_val k = { 8, key }, v;
    uint64_t last = (uint64_t)upto;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        /* Never called while an event's messages live in the arena. */
        wage_arena_reset(&self->arena);
        Pay__LedgerLine *l = pay__ledger_line__unpack(&self->arena.pb, v.mv_size, v.mv_data);
        if (!l) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (l->amount != 0 && l->debit && l->credit) {
            rc = s_fold_add(self, txn, slots, &n_used, l->debit, l->amount);
            if (rc == 0)
                rc = s_fold_add(self, txn, slots, &n_used, l->credit, -l->amount);
        }
        last = l->seq;
        if (rc != 0)
            break;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto done;
    if ((rc = s_fold_flush(self, txn, slots, &n_used)) != 0)
        goto done;
    rc = wage_store_put_i64(txn, self->balances, S_UPTO_KEY, sizeof S_UPTO_KEY - 1,
                            (int64_t)last);
    if (rc == 0 && upto_out)
        *upto_out = last;
done:
    free(slots);
    return rc;
}

/* ---- packing a ledger line ----------------------------------------------------
 *
 * wage_store_post packs one line per record; protobuf-c's generic packer
 * walks the descriptor twice (size, then bytes) and showed as ~10% of the
 * pricing profile. This writes the same bytes in one pass: fields in number
 * order, an optional scalar when its has_ flag is set, a string when it is
 * not NULL (no field of LedgerLine has a default), varints as protobuf-c
 * writes them (negative int64 and enum values as 10-byte varints).
 * wage_store_test compares the two on lines of every kind. */

static size_t s_pb_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static int s_pb_string(uint8_t *buf, size_t cap, size_t *at, uint32_t field, const char *str)
{
    if (!str)
        return 0;
    size_t len = strlen(str);
    if (len > cap || *at + 2 * 10 + len > cap)
        return -1;
    *at += s_pb_varint(buf + *at, ((uint64_t)field << 3) | 2);
    *at += s_pb_varint(buf + *at, len);
    memcpy(buf + *at, str, len);
    *at += len;
    return 0;
}

static void s_pb_uint(uint8_t *buf, size_t *at, uint32_t field, int has, uint64_t v)
{
    if (!has)
        return;
    *at += s_pb_varint(buf + *at, (uint64_t)field << 3);
    *at += s_pb_varint(buf + *at, v);
}

size_t wage_store_pack_line(const Pay__LedgerLine *l, uint8_t *buf, size_t cap)
{
    size_t at = 0;
    if (l->base.n_unknown_fields > 0 || cap < 160)
        return 0;
    /* Scalars need at most 11 bytes each; strings are checked as they go. */
    s_pb_uint(buf, &at, 1, l->has_seq, l->seq);
    s_pb_uint(buf, &at, 2, l->has_kind, (uint64_t)(int64_t)(int32_t)l->kind);
    if (s_pb_string(buf, cap - 80, &at, 3, l->date) || s_pb_string(buf, cap - 80, &at, 4, l->week)
        || s_pb_string(buf, cap - 80, &at, 5, l->prison)
        || s_pb_string(buf, cap - 80, &at, 6, l->prisoner)
        || s_pb_string(buf, cap - 80, &at, 7, l->debit)
        || s_pb_string(buf, cap - 80, &at, 8, l->credit))
        return 0;
    s_pb_uint(buf, &at, 9, l->has_amount, (uint64_t)l->amount);
    if (s_pb_string(buf, cap - 60, &at, 10, l->ref)
        || s_pb_string(buf, cap - 60, &at, 11, l->description))
        return 0;
    s_pb_uint(buf, &at, 12, l->has_feed_seq, l->feed_seq);
    s_pb_uint(buf, &at, 13, l->has_reverses, l->reverses);
    s_pb_uint(buf, &at, 14, l->has_balance, (uint64_t)l->balance);
    return at;
}

int wage_store_post(wage_store_t *self, MDB_txn *txn, Pay__LedgerLine *line)
{
    wage_group_t *g = &self->group;
    uint64_t head = 0;
    int32_t date;
    int rc = 0;
    if (g->active)
        head = g->head;
    else if ((rc = store_last_u64(txn, self->ledger, &head)) != 0)
        return rc;
    if (!line->date || civil_parse_date(line->date, &date) != 0)
        return EINVAL;
    line->has_seq = 1;
    line->seq = head + 1;
    uint8_t key[8], packed[1024];
    store_be64_put(key, line->seq);
    size_t len = wage_store_pack_line(line, packed, sizeof packed);
    MDB_val k = { 8, key }, v = { len, NULL };
    if (len == 0)
        v.mv_size = protobuf_c_message_get_packed_size(&line->base);
    if ((rc = mdb_put(txn, self->ledger, &k, &v, MDB_RESERVE | MDB_APPEND)) != 0)
        return rc;
    if (len > 0)
        memcpy(v.mv_data, packed, len);
    else
        protobuf_c_message_pack(&line->base, v.mv_data);
    if (g->active) {
        g->head = line->seq;
        /* The balances fold, done here for the group (see s_fold_add). */
        if (line->amount != 0 && line->debit && line->credit) {
            rc = s_fold_add(self, txn, g->deltas, &g->n_deltas, line->debit, line->amount);
            if (rc == 0)
                rc = s_fold_add(self, txn, g->deltas, &g->n_deltas, line->credit,
                                -line->amount);
            if (rc != 0)
                return rc;
        }
    }

    if (line->prisoner && ident_is_prisoner(line->prisoner)) {
        char spends[WAGE_ACCOUNT_LEN];
        wage_account_spends(line->prisoner, spends);
        int64_t effect = 0;
        if (strcmp(line->credit, spends) == 0)
            effect += line->amount;
        if (strcmp(line->debit, spends) == 0)
            effect -= line->amount;
        uint8_t bk[WAGE_BYP_KEY_LEN];
        wage_key_byp(line->prisoner, date, line->seq, bk);
        if (g->active)
            rc = s_byp_add(self, txn, bk, effect);
        else
            rc = wage_store_put_i64(txn, self->by_prisoner, bk, sizeof bk, effect);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- reference data in force ------------------------------------------------ */

/* The last entry with key in [prefix + be32(0), prefix + be32(date)], that
 * is the row with the latest effective_from on or before `date`. */
static int s_latest_on_or_before(MDB_txn *txn, MDB_dbi dbi, const uint8_t *prefix,
                                 size_t plen, int32_t date, MDB_val *out)
{
    uint8_t key[32];
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return rc;
    memcpy(key, prefix, plen);
    /* Seek to the first key after (prefix, date), then step back. */
    uint32_t d = wage_key_date(date);
    int at_end = 0;
    if (d == UINT32_MAX) {
        at_end = 1;
    } else {
        store_be32_put(key + plen, d + 1);
    }
    MDB_val k = { plen + 4, key }, v;
    if (!at_end)
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (at_end || rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    else if (rc == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    if (rc == 0) {
        if (k.mv_size != plen + 4 || memcmp(k.mv_data, prefix, plen) != 0
            || store_be32_get((const uint8_t *)k.mv_data + plen) > d)
            rc = MDB_NOTFOUND;
        else
            *out = v;
    }
    mdb_cursor_close(cur);
    return rc;
}

void wage_rate_from_msg(const Pay__PayRate *m, int32_t eff, wage_rate_t *out)
{
    memset(out, 0, sizeof *out);
    if (m->prison)
        snprintf(out->prison, sizeof out->prison, "%s", m->prison);
    out->pay_band = m->pay_band;
    out->level = (wage_level_t)m->incentive_level;
    out->effective_from = eff;
    out->basis = m->basis == PAY__RATE_BASIS__RATE_SESSION ? WAGE_BASIS_SESSION
                 : m->basis == PAY__RATE_BASIS__RATE_HOURLY ? WAGE_BASIS_HOURLY
                 : WAGE_BASIS_UNSPECIFIED;
    out->rate = m->rate;
    if (m->has_piece_rate_items && m->piece_rate_items > 0) {
        out->piece_pence = m->piece_rate;
        out->piece_items = m->piece_rate_items;
    } else if (m->has_piece_rate && m->piece_rate != 0) {
        out->piece_pence = m->piece_rate;   /* invalid without items; checked */
    }
}

static uint32_t s_hash(const uint8_t *k, size_t n, int outside)
{
    uint32_t h = 2166136261u ^ (uint32_t)outside;
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 16777619u;
    return h;
}

/* The cache slot for (key, outside): found (*hit = 1), or a free slot to
 * fill (*hit = 0), or NULL when the probe window is full (no caching). */
static wage_cache_slot_t *s_slot(wage_store_t *self, const uint8_t *key, size_t klen,
                                 int outside, int *hit)
{
    uint32_t h = s_hash(key, klen, outside);
    for (int i = 0; i < 8; i++) {
        wage_cache_slot_t *s = &self->cache[(h + (uint32_t)i) % WAGE_CACHE_SLOTS];
        if (!s->used) {
            *hit = 0;
            return s;
        }
        if (s->outside == outside && s->klen == klen && memcmp(s->key, key, klen) == 0) {
            *hit = 1;
            return s;
        }
    }
    return NULL;
}

/* Reads every row under `prefix` (prefix + be32 eff keys) into the slot.
 * Returns 0, or -1 if there are more rows than a slot holds. */
static int s_fill(wage_store_t *self, MDB_txn *txn, MDB_dbi dbi, const uint8_t *prefix,
                  size_t plen, int outside, wage_cache_slot_t *slot, int *rc_out)
{
    MDB_cursor *cur = NULL;
    MDB_val k = { plen, (void *)prefix }, v;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    size_t n = 0;
    *rc_out = 0;
    if (rc != 0) {
        *rc_out = rc;
        return -1;
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 4 || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (n == WAGE_CACHE_ROWS) {
            mdb_cursor_close(cur);
            return -1;
        }
        int32_t eff = wage_key_undate(store_be32_get((const uint8_t *)k.mv_data + plen));
        if (!outside) {
            Pay__PayRate *m = pay__pay_rate__unpack(&self->arena.pb, v.mv_size, v.mv_data);
            if (!m) {
                rc = MDB_CORRUPTED;
                break;
            }
            wage_rate_from_msg(m, eff, &slot->rates[n]);
        } else {
            Pay__OutsideWage *m = pay__outside_wage__unpack(&self->arena.pb, v.mv_size,
                                                            v.mv_data);
            if (!m) {
                rc = MDB_CORRUPTED;
                break;
            }
            memset(&slot->wages[n], 0, sizeof slot->wages[n]);
            memcpy(slot->wages[n].contract, prefix, plen < 24 ? plen : 24);
            slot->wages[n].effective_from = eff;
            slot->wages[n].hourly_wage = m->hourly_wage;
        }
        n++;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        *rc_out = rc;
        return -1;
    }
    slot->used = 1;
    slot->outside = outside;
    memcpy(slot->key, prefix, plen);
    slot->klen = plen;
    slot->n = n;
    return 0;
}

int wage_store_rate_in_force(wage_store_t *self, MDB_txn *txn, const char *prison,
                             uint32_t band, uint32_t level, int32_t date,
                             wage_rate_t *out)
{
    uint8_t prefix[5];
    MDB_val v;
    if (band > 255 || level > 255 || !ident_is_prison(prison))
        return MDB_NOTFOUND;
    memcpy(prefix, prison, 3);
    prefix[3] = (uint8_t)band;
    prefix[4] = (uint8_t)level;
    int hit = 0, rc = 0;
    wage_cache_slot_t *slot = s_slot(self, prefix, sizeof prefix, 0, &hit);
    if (slot && (hit || s_fill(self, txn, self->rates, prefix, sizeof prefix, 0, slot, &rc) == 0)) {
        /* The selection itself is the pure rule. */
        const wage_rate_t *r = wage_rate_select(slot->rates, slot->n, prison, band,
                                                (wage_level_t)level, date);
        if (!r)
            return MDB_NOTFOUND;
        *out = *r;
        return 0;
    }
    if (rc != 0)
        return rc;
    rc = s_latest_on_or_before(txn, self->rates, prefix, 5, date, &v);
    if (rc != 0)
        return rc;
    Pay__PayRate *m = pay__pay_rate__unpack(&self->arena.pb, v.mv_size, v.mv_data);
    if (!m)
        return MDB_CORRUPTED;
    int32_t eff = 0;
    if (m->effective_from)
        civil_parse_date(m->effective_from, &eff);
    wage_rate_from_msg(m, eff, out);
    return 0;
}

int wage_store_outside_in_force(wage_store_t *self, MDB_txn *txn,
                                const char *contract, int32_t date,
                                wage_outside_t *out)
{
    uint8_t prefix[24] = { 0 };
    size_t len = strlen(contract);
    MDB_val v;
    if (len > 24)
        return MDB_NOTFOUND;
    memcpy(prefix, contract, len);
    int hit = 0, rc = 0;
    wage_cache_slot_t *slot = s_slot(self, prefix, sizeof prefix, 1, &hit);
    if (slot && (hit || s_fill(self, txn, self->outside, prefix, sizeof prefix, 1, slot, &rc) == 0)) {
        const wage_outside_t *w = wage_outside_select(slot->wages, slot->n, contract, date);
        if (!w)
            return MDB_NOTFOUND;
        *out = *w;
        return 0;
    }
    if (rc != 0)
        return rc;
    rc = s_latest_on_or_before(txn, self->outside, prefix, 24, date, &v);
    if (rc != 0)
        return rc;
    Pay__OutsideWage *m = pay__outside_wage__unpack(&self->arena.pb, v.mv_size, v.mv_data);
    if (!m)
        return MDB_CORRUPTED;
    memset(out, 0, sizeof *out);
    snprintf(out->contract, sizeof out->contract, "%s", contract);
    if (m->effective_from)
        civil_parse_date(m->effective_from, &out->effective_from);
    out->hourly_wage = m->hourly_wage;
    return 0;
}

void wage_policy_from_msg(const Pay__PayPolicy *m, int32_t eff, wage_policy_t *out)
{
    wage_policy_default(out);
    out->effective_from = eff;
    if (m->has_min_weekly_pay) out->min_weekly_pay = m->min_weekly_pay;
    if (m->has_session_min) out->session_min = m->session_min;
    if (m->has_session_max) out->session_max = m->session_max;
    if (m->has_hourly_min) out->hourly_min = m->hourly_min;
    if (m->has_hourly_max) out->hourly_max = m->hourly_max;
    if (m->has_piece_max) out->piece_max = m->piece_max;
}

int wage_store_policy_in_force(wage_store_t *self, MDB_txn *txn,
                               const char *prison, int32_t date,
                               wage_policy_t *out)
{
    MDB_val v;
    int rc = s_latest_on_or_before(txn, self->policies, (const uint8_t *)prison, 3,
                                   date, &v);
    if (rc == MDB_NOTFOUND) {
        wage_policy_default(out);
        return 0;
    }
    if (rc != 0)
        return rc;
    Pay__PayPolicy *m = pay__pay_policy__unpack(NULL, v.mv_size, v.mv_data);
    if (!m)
        return MDB_CORRUPTED;
    int32_t eff = 0;
    if (m->effective_from)
        civil_parse_date(m->effective_from, &eff);
    wage_policy_from_msg(m, eff, out);
    pay__pay_policy__free_unpacked(m, NULL);
    return 0;
}

int wage_store_put_rate(wage_store_t *self, MDB_txn *txn, const Pay__PayRate *row,
                        int32_t eff)
{
    char eff_text[CIVIL_DATE_LEN];
    uint8_t key[9];
    civil_format_date(eff, eff_text);
    Pay__PayRate m = *row;
    m.effective_from = eff_text;
    memcpy(key, row->prison, 3);
    key[3] = (uint8_t)row->pay_band;
    key[4] = (uint8_t)row->incentive_level;
    store_be32_put(key + 5, wage_key_date(eff));
    wage_store_cache_clear(self);
    return wage_store_put_msg(txn, self->rates, key, sizeof key, &m.base);
}

int wage_store_put_policy(wage_store_t *self, MDB_txn *txn, const Pay__PayPolicy *row,
                          int32_t eff)
{
    char eff_text[CIVIL_DATE_LEN];
    uint8_t key[7];
    civil_format_date(eff, eff_text);
    Pay__PayPolicy m = *row;
    m.effective_from = eff_text;
    memcpy(key, row->prison, 3);
    store_be32_put(key + 3, wage_key_date(eff));
    return wage_store_put_msg(txn, self->policies, key, sizeof key, &m.base);
}

int wage_store_put_outside(wage_store_t *self, MDB_txn *txn, const Pay__OutsideWage *row,
                           int32_t eff)
{
    char eff_text[CIVIL_DATE_LEN];
    uint8_t key[28] = { 0 };
    size_t len = strlen(row->contract);
    if (len > 24)
        return EINVAL;
    civil_format_date(eff, eff_text);
    Pay__OutsideWage m = *row;
    m.effective_from = eff_text;
    memcpy(key, row->contract, len);
    store_be32_put(key + 24, wage_key_date(eff));
    wage_store_cache_clear(self);
    return wage_store_put_msg(txn, self->outside, key, sizeof key, &m.base);
}

int wage_store_put_deduction(wage_store_t *self, MDB_txn *txn, const Pay__Deduction *row,
                             uint32_t week)
{
    char week_text[CIVIL_WEEK_LEN];
    uint8_t key[12];
    civil_format_week(civil_week_from_key(week), week_text);
    Pay__Deduction m = *row;
    m.week = week_text;
    memcpy(key, row->prisoner, 7);
    store_be32_put(key + 7, week);
    key[11] = (uint8_t)row->kind;
    return wage_store_put_msg(txn, self->deductions, key, sizeof key, &m.base);
}

int wage_store_week_closed(wage_store_t *self, MDB_txn *txn, const char *prison,
                           uint32_t week, int *closed)
{
    uint8_t key[WAGE_PW_KEY_LEN];
    ProtobufCMessage *m = NULL;
    wage_key_pw(prison, week, key);
    *closed = 0;
    int rc = wage_store_get_msg(txn, self->prison_weeks, key, sizeof key,
                                &pay__prison_week__descriptor, &m);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    *closed = ((Pay__PrisonWeek *)m)->closed;
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

