/* hrs_store: see hrs_store.h for the layout. */
#include "hrs_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "hours.pb-c.h"
#include "log.h"
#include "feed.h"
#include "server.h"
#include "store_version.h"

#define S_PACK_MAX 8192

enum {
    DB_PRISONS,
    DB_POLICIES,
    DB_PRISONERS,
    DB_TRANSFERS,
    DB_LEVELS,
    DB_CONTRACTS,
    DB_CONTRACTS_BY_PRISON,
    DB_ALLOCATIONS,
    DB_RECORDS,
    DB_BY_DAY,
    DB_BY_CONTRACT,
    DB_TOTALS,
    DB_CLOSED,
    DB_OUTBOX,
    DB_REQUESTS,
    DB_EMPLOYERS,
    DB_CURSORS,
    DB_QUARANTINE,
    DB_META,
    DB_FEED_META,
    DB_COUNT
};

static const char *const s_db_names[DB_COUNT + 1] = {
    "prisons",     "policies",     "prisoners", "transfers",   "levels",
    "contracts",   "contracts_by_prison",       "allocations", "records",
    "by_day",      "by_contract", "totals",
    "closed_weeks", HRS_DB_OUTBOX, SERVER_REQUESTS_DB,
    "ref_employers", HRS_DB_CURSORS, FEED_QUARANTINE_DB,        STORE_META_DB,
    FEED_META_DB, NULL};

/* Format 2 adds the employers' replica, the invoice feed's cursor and
 * quarantine (created empty by store_open), and publishes the reference
 * facts: a first-release outbox holds none, so the consumers' replicas of
 * prisons, prisoners and contracts would stay empty. Publishing needs the
 * facts module, which sits above this one, so the step only marks the
 * store (S_FACTS_PENDING in the meta database) and hrs_facts_catch_up
 * publishes them all and clears the mark in one later transaction. */
#define S_FACTS_PENDING "publish_facts"

static int s_to_v2(store_t *store, MDB_txn *txn)
{
    return store_put(txn, store_dbi(store, STORE_META_DB), S_FACTS_PENDING,
                     strlen(S_FACTS_PENDING), "1", 1, 0);
}

/* Migrations of the hours store, one row per format (store_version.h):
 * {from, step function, first release writing from + 1, what it changes}. */
static const store_step_t s_steps[] = {
    {1, s_to_v2, "0.2.0", "replica of employers, invoice feed cursor and quarantine; "
                          "publish every prison, prisoner and contract on the feed"},
    {0},
};
static const store_format_t s_format = {"hours", HRS_STORE_FORMAT, s_steps, NULL};

/* Contracts decoded lately, each with the exact bytes it was decoded from:
 * a lookup whose stored value has the same bytes copies the decoded row
 * instead of unpacking again. Keyed by content, so it is right whatever
 * transaction (committed, nested, aborted) the bytes were read in. */
#define S_MEMO_CONTRACTS 16

typedef struct {
    uint8_t *raw;
    size_t len, cap;
    hrs_contract_t k;
} s_contract_memo_t;

struct hrs_store_t {
    store_t *store;
    MDB_dbi dbi[DB_COUNT];
    s_contract_memo_t memo[S_MEMO_CONTRACTS];
    int memo_n, memo_next;
};

hrs_store_t *hrs_store_open(const char *dir, size_t map_size)
{
    hrs_store_t *self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    if (store_version_precheck(dir, &s_format) != 0)
        goto fail;
    self->store = store_open(dir, s_db_names, map_size);
    if (!self->store || store_version_open(self->store, &s_format, dir) != 0)
        goto fail;
    for (int i = 0; i < DB_COUNT; i++)
        self->dbi[i] = store_dbi(self->store, s_db_names[i]);
    return self;
fail:
    if (self) {
        store_destroy(&self->store);
        free(self);
    }
    log_error("hours.store", "cannot open the hours store in %s", dir ? dir : "(null)");
    return NULL;
}

void hrs_store_destroy(hrs_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (int i = 0; i < S_MEMO_CONTRACTS; i++)
        free((*self_p)->memo[i].raw);
    store_destroy(&(*self_p)->store);
    free(*self_p);
    *self_p = NULL;
}

store_t *hrs_store_store(hrs_store_t *self)
{
    return self->store;
}

MDB_dbi hrs_store_outbox_dbi(hrs_store_t *self)
{
    return self->dbi[DB_OUTBOX];
}

uint32_t hrs_store_date_key(int32_t day)
{
    return (uint32_t)day ^ 0x80000000u;
}

static int32_t s_date_from_key(uint32_t k)
{
    return (int32_t)(k ^ 0x80000000u);
}

uint32_t hrs_store_week_key(int32_t day)
{
    return civil_week_key(civil_iso_week(day));
}

/* ---- helpers ------------------------------------------------------------ */

/* A key built piece by piece into a fixed buffer. */
typedef struct {
    uint8_t b[512];
    size_t n;
} s_key_t;

static void s_key_bytes(s_key_t *k, const void *p, size_t n)
{
    if (k->n + n > sizeof k->b)
        n = sizeof k->b - k->n;   /* cannot happen with checked fields */
    memcpy(k->b + k->n, p, n);
    k->n += n;
}

static void s_key_str(s_key_t *k, const char *s)
{
    s_key_bytes(k, s, strlen(s));
}

/* An id followed by NUL, so that a shorter id never prefixes a longer one
 * ("C-1" and "C-10") and the ids still sort in order. */
static void s_key_id(s_key_t *k, const char *s)
{
    s_key_bytes(k, s, strlen(s) + 1);
}

static void s_key_u32(s_key_t *k, uint32_t v)
{
    uint8_t b[4];
    store_be32_put(b, v);
    s_key_bytes(k, b, 4);
}

static void s_key_u8(s_key_t *k, uint8_t v)
{
    s_key_bytes(k, &v, 1);
}

static int s_put(MDB_txn *txn, MDB_dbi dbi, const s_key_t *k, const void *v, size_t vlen)
{
    return store_put(txn, dbi, k->b, k->n, v, vlen, 0);
}

static int s_get(MDB_txn *txn, MDB_dbi dbi, const s_key_t *k, MDB_val *out)
{
    return store_get(txn, dbi, k->b, k->n, out);
}

static int s_del(MDB_txn *txn, MDB_dbi dbi, const s_key_t *k)
{
    MDB_val key = {k->n, (void *)k->b};
    int rc = mdb_del(txn, dbi, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_put_msg(MDB_txn *txn, MDB_dbi dbi, const s_key_t *k, const ProtobufCMessage *m)
{
    uint8_t buf[S_PACK_MAX];
    size_t len = protobuf_c_message_get_packed_size(m);
    if (len > sizeof buf)
        return MDB_BAD_VALSIZE;
    protobuf_c_message_pack(m, buf);
    return s_put(txn, dbi, k, buf, len);
}

static void s_copy(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static void s_copy_n(char *dst, size_t size, const void *src, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The value of the key with the greatest date_key <= date among the keys
 * that start with `prefix` (whose last 4 bytes are the date key). */
static int s_latest_on_or_before(MDB_txn *txn, MDB_dbi dbi, const s_key_t *prefix,
                                 int32_t date, MDB_val *val)
{
    MDB_cursor *cur = NULL;
    s_key_t k = *prefix;
    s_key_u32(&k, hrs_store_date_key(date));
    MDB_val key = {k.n, k.b};
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return rc;
    rc = mdb_cursor_get(cur, &key, val, MDB_SET_RANGE);
    if (rc == 0 && key.mv_size == k.n && memcmp(key.mv_data, k.b, k.n) == 0)
        goto done;   /* exactly on the date */
    if (rc == 0)
        rc = mdb_cursor_get(cur, &key, val, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, &key, val, MDB_LAST);
    if (rc != 0)
        goto done;
    if (key.mv_size != prefix->n + 4 || memcmp(key.mv_data, prefix->b, prefix->n) != 0)
        rc = MDB_NOTFOUND;
done:
    mdb_cursor_close(cur);
    return rc;
}

/* ---- prisons and policies ------------------------------------------------ */

static int s_put_policy_row(hrs_store_t *self, MDB_txn *txn, const char *prison, int32_t from,
                            const hrs_policy_t *p)
{
    s_key_t k = {.n = 0};
    uint8_t v[12];
    s_key_str(&k, prison);
    s_key_u32(&k, hrs_store_date_key(from));
    store_be32_put(v, p->weekly_cap);
    store_be32_put(v + 4, p->daily_cap);
    store_be32_put(v + 8, p->backdate_days);
    return s_put(txn, self->dbi[DB_POLICIES], &k, v, sizeof v);
}

int hrs_store_put_prison(hrs_store_t *self, MDB_txn *txn, const hrs_prison_t *p)
{
    Pay__HoursStoredPrison m = PAY__HOURS_STORED_PRISON__INIT;
    s_key_t k = {.n = 0};
    m.name = (char *)p->name;
    m.regime = (char *)hrs_regime_name(p->regime);
    s_key_str(&k, p->code);
    int rc = s_put_msg(txn, self->dbi[DB_PRISONS], &k, &m.base);
    if (rc != 0)
        return rc;
    return s_put_policy_row(self, txn, p->code, INT32_MIN, &p->policy);
}

int hrs_store_get_prison(hrs_store_t *self, MDB_txn *txn, const char *code, hrs_prison_t *out)
{
    s_key_t k = {.n = 0};
    MDB_val v;
    s_key_str(&k, code);
    int rc = s_get(txn, self->dbi[DB_PRISONS], &k, &v);
    if (rc != 0 || !out)
        return rc;
    Pay__HoursStoredPrison *m = pay__hours_stored_prison__unpack(NULL, v.mv_size, v.mv_data);
    if (!m)
        return MDB_CORRUPTED;
    memset(out, 0, sizeof *out);
    s_copy(out->code, sizeof out->code, code);
    s_copy(out->name, sizeof out->name, m->name);
    if (hrs_regime_parse(m->regime, &out->regime) != 0)
        out->regime = HRS_REGIME_NONE;
    out->policy = hrs_rules_policy_default();
    pay__hours_stored_prison__free_unpacked(m, NULL);
    return 0;
}

int hrs_store_put_policy(hrs_store_t *self, MDB_txn *txn, const hrs_policy_change_t *p)
{
    return s_put_policy_row(self, txn, p->prison, p->from, &p->policy);
}

int hrs_store_policy_on(hrs_store_t *self, MDB_txn *txn, const char *prison, int32_t date,
                        hrs_policy_t *out)
{
    s_key_t k = {.n = 0};
    MDB_val v;
    s_key_str(&k, prison);
    *out = hrs_rules_policy_default();
    int rc = s_latest_on_or_before(txn, self->dbi[DB_POLICIES], &k, date, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (v.mv_size != 12)
        return MDB_CORRUPTED;
    out->weekly_cap = store_be32_get(v.mv_data);
    out->daily_cap = store_be32_get((uint8_t *)v.mv_data + 4);
    out->backdate_days = store_be32_get((uint8_t *)v.mv_data + 8);
    return 0;
}

/* ---- prisoners ---------------------------------------------------------- */

int hrs_store_put_prisoner(hrs_store_t *self, MDB_txn *txn, const hrs_prisoner_t *p)
{
    Pay__HoursStoredPrisoner m = PAY__HOURS_STORED_PRISONER__INIT;
    s_key_t k = {.n = 0};
    m.prison = (char *)p->prison;
    m.has_level = 1;
    m.level = p->level;
    if (p->cleared_on != HRS_NO_DATE) {
        m.has_cleared_on = 1;
        m.cleared_on = p->cleared_on;
    }
    if (p->released_on != HRS_NO_DATE) {
        m.has_released_on = 1;
        m.released_on = p->released_on;
    }
    s_key_str(&k, p->number);
    return s_put_msg(txn, self->dbi[DB_PRISONERS], &k, &m.base);
}

int hrs_store_get_prisoner(hrs_store_t *self, MDB_txn *txn, const char *number,
                           hrs_prisoner_t *out)
{
    s_key_t k = {.n = 0};
    MDB_val v;
    s_key_str(&k, number);
    int rc = s_get(txn, self->dbi[DB_PRISONERS], &k, &v);
    if (rc != 0 || !out)
        return rc;
    Pay__HoursStoredPrisoner *m = pay__hours_stored_prisoner__unpack(NULL, v.mv_size, v.mv_data);
    if (!m)
        return MDB_CORRUPTED;
    memset(out, 0, sizeof *out);
    s_copy(out->number, sizeof out->number, number);
    s_copy(out->prison, sizeof out->prison, m->prison);
    out->level = m->has_level ? m->level : PAY__INCENTIVE_LEVEL__INCENTIVE_UNSPECIFIED;
    out->cleared_on = m->has_cleared_on ? m->cleared_on : HRS_NO_DATE;
    out->released_on = m->has_released_on ? m->released_on : HRS_NO_DATE;
    pay__hours_stored_prisoner__free_unpacked(m, NULL);
    return 0;
}

int hrs_store_put_transfer(hrs_store_t *self, MDB_txn *txn, const hrs_transfer_row_t *t)
{
    s_key_t k = {.n = 0};
    s_key_str(&k, t->prisoner);
    s_key_u32(&k, hrs_store_date_key(t->from));
    return s_put(txn, self->dbi[DB_TRANSFERS], &k, t->prison, 3);
}

int hrs_store_each_transfer(hrs_store_t *self, MDB_txn *txn, const char *prisoner,
                            hrs_store_transfer_fn *fn, void *arg)
{
    s_key_t k = {.n = 0};
    s_key_str(&k, prisoner);
    MDB_cursor *cur = NULL;
    MDB_val key = {k.n, k.b}, v;
    int rc = mdb_cursor_open(txn, self->dbi[DB_TRANSFERS], &cur);
    if (rc != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
        if (key.mv_size != k.n + 4 || memcmp(key.mv_data, k.b, k.n) != 0)
            break;
        char prison[HRS_PRISON_LEN];
        s_copy_n(prison, sizeof prison, v.mv_data, v.mv_size);
        int32_t from = s_date_from_key(store_be32_get((uint8_t *)key.mv_data + k.n));
        if ((rc = fn(from, prison, arg)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int hrs_store_put_level(hrs_store_t *self, MDB_txn *txn, const hrs_level_row_t *l)
{
    s_key_t k = {.n = 0};
    uint8_t v = (uint8_t)l->level;
    s_key_str(&k, l->prisoner);
    s_key_u32(&k, hrs_store_date_key(l->from));
    return s_put(txn, self->dbi[DB_LEVELS], &k, &v, 1);
}

int hrs_store_custody_on(hrs_store_t *self, MDB_txn *txn, const hrs_prisoner_t *p,
                         int32_t date, char out[HRS_PRISON_LEN])
{
    s_key_t k = {.n = 0};
    MDB_val v;
    s_key_str(&k, p->number);
    int rc = s_latest_on_or_before(txn, self->dbi[DB_TRANSFERS], &k, date, &v);
    if (rc == MDB_NOTFOUND) {
        s_copy(out, HRS_PRISON_LEN, p->prison);
        return 0;
    }
    if (rc != 0)
        return rc;
    s_copy_n(out, HRS_PRISON_LEN, v.mv_data, v.mv_size);
    return 0;
}

int hrs_store_level_on(hrs_store_t *self, MDB_txn *txn, const hrs_prisoner_t *p,
                       int32_t date, Pay__IncentiveLevel *out)
{
    s_key_t k = {.n = 0};
    MDB_val v;
    s_key_str(&k, p->number);
    int rc = s_latest_on_or_before(txn, self->dbi[DB_LEVELS], &k, date, &v);
    if (rc == MDB_NOTFOUND) {
        *out = p->level;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (v.mv_size != 1)
        return MDB_CORRUPTED;
    *out = (Pay__IncentiveLevel)((uint8_t *)v.mv_data)[0];
    return 0;
}

int hrs_store_facts_pending(hrs_store_t *self, MDB_txn *txn, bool clear, bool *pending)
{
    MDB_val v;
    MDB_dbi meta = self->dbi[DB_META];
    int rc = store_get(txn, meta, S_FACTS_PENDING, strlen(S_FACTS_PENDING), &v);
    *pending = rc == 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0 || !clear)
        return rc;
    MDB_val k = {strlen(S_FACTS_PENDING), S_FACTS_PENDING};
    return mdb_del(txn, meta, &k, NULL);
}

int hrs_store_each_key(hrs_store_t *self, MDB_txn *txn, hrs_store_entity_t what,
                       hrs_store_key_fn *fn, void *arg)
{
    MDB_dbi dbi = what == HRS_ENTITY_PRISON     ? self->dbi[DB_PRISONS]
                  : what == HRS_ENTITY_PRISONER ? self->dbi[DB_PRISONERS]
                                                : self->dbi[DB_CONTRACTS];
    /* The keys first: fn writes (publishing), and no cursor may walk a
     * database being written. These tables hold reference data only. */
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    char **keys = NULL;
    size_t n = 0, cap = 0;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            char **p = realloc(keys, nc * sizeof *p);
            if (!p) {
                rc = ENOMEM;
                break;
            }
            keys = p;
            cap = nc;
        }
        size_t len = k.mv_size && ((char *)k.mv_data)[k.mv_size - 1] == '\0' ? k.mv_size - 1
                                                                              : k.mv_size;
        if (!(keys[n] = malloc(len + 1))) {
            rc = ENOMEM;
            break;
        }
        memcpy(keys[n], k.mv_data, len);
        keys[n++][len] = '\0';
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = fn(keys[i], arg);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    return rc;
}

/* ---- employers (the invoice feed's replica) ------------------------------ */

int hrs_store_put_employer(hrs_store_t *self, MDB_txn *txn, const char *id, const char *name)
{
    s_key_t k = {.n = 0};
    s_key_str(&k, id);
    return s_put(txn, self->dbi[DB_EMPLOYERS], &k, name ? name : "", name ? strlen(name) : 0);
}

int hrs_store_employer_known(hrs_store_t *self, MDB_txn *txn, const char *id, bool *known)
{
    s_key_t k = {.n = 0};
    MDB_val v;
    *known = false;
    if (!id || !*id)
        return 0;
    s_key_str(&k, id);
    int rc = s_get(txn, self->dbi[DB_EMPLOYERS], &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    *known = rc == 0;
    return rc;
}

MDB_dbi hrs_store_cursor_dbi(hrs_store_t *self)
{
    return self->dbi[DB_CURSORS];
}

/* ---- contracts and allocations ------------------------------------------ */

static int s_index_contract(hrs_store_t *self, MDB_txn *txn, const char *prison, const char *id,
                            bool add)
{
    s_key_t k = {.n = 0};
    s_key_str(&k, prison);
    s_key_str(&k, id);
    if (add)
        return s_put(txn, self->dbi[DB_CONTRACTS_BY_PRISON], &k, "", 0);
    return s_del(txn, self->dbi[DB_CONTRACTS_BY_PRISON], &k);
}

int hrs_store_put_contract(hrs_store_t *self, MDB_txn *txn, const hrs_contract_t *c)
{
    Pay__HoursStoredContract m = PAY__HOURS_STORED_CONTRACT__INIT;
    s_key_t k = {.n = 0};
    hrs_contract_t *old = malloc(sizeof *old);
    int rc;
    if (!old)
        return ENOMEM;
    rc = hrs_store_get_contract(self, txn, c->id, old);
    if (rc == 0 && strcmp(old->prison, c->prison) != 0)
        rc = s_index_contract(self, txn, old->prison, c->id, false);
    else if (rc == MDB_NOTFOUND)
        rc = 0;
    free(old);
    if (rc != 0)
        return rc;
    m.employer = (char *)c->employer;
    m.prison = (char *)c->prison;
    m.activity = (char *)c->activity;
    m.has_work_type = 1;
    m.work_type = c->work_type;
    m.has_start = 1;
    m.start = c->start;
    if (c->end != HRS_NO_DATE) {
        m.has_end = 1;
        m.end = c->end;
    }
    m.has_public_contact = 1;
    m.public_contact = c->public_contact;
    if (c->attested) {
        m.attested_by = (char *)c->attested_by;
        m.has_attested_on = 1;
        m.attested_on = c->attested_on;
        m.attestation_ref = (char *)c->attestation_ref;
    }
    s_key_str(&k, c->id);
    if ((rc = s_put_msg(txn, self->dbi[DB_CONTRACTS], &k, &m.base)) != 0)
        return rc;
    return s_index_contract(self, txn, c->prison, c->id, true);
}

int hrs_store_get_contract(hrs_store_t *self, MDB_txn *txn, const char *id, hrs_contract_t *out)
{
    s_key_t k = {.n = 0};
    MDB_val v;
    s_key_str(&k, id);
    int rc = s_get(txn, self->dbi[DB_CONTRACTS], &k, &v);
    if (rc != 0 || !out)
        return rc;
    for (int i = 0; i < self->memo_n; i++) {
        s_contract_memo_t *e = &self->memo[i];
        if (e->len == v.mv_size && memcmp(e->raw, v.mv_data, v.mv_size) == 0) {
            memcpy(out, &e->k, sizeof *out);
            memset(out->id, 0, sizeof out->id);   /* the value does not hold the id */
            s_copy(out->id, sizeof out->id, id);
            return 0;
        }
    }
    Pay__HoursStoredContract *m = pay__hours_stored_contract__unpack(NULL, v.mv_size, v.mv_data);
    if (!m)
        return MDB_CORRUPTED;
    memset(out, 0, sizeof *out);
    s_copy(out->id, sizeof out->id, id);
    s_copy(out->employer, sizeof out->employer, m->employer);
    s_copy(out->prison, sizeof out->prison, m->prison);
    s_copy(out->activity, sizeof out->activity, m->activity);
    out->work_type = m->work_type;
    out->start = m->start;
    out->end = m->has_end ? m->end : HRS_NO_DATE;
    out->public_contact = m->public_contact;
    out->attested = m->attested_by != NULL;
    s_copy(out->attested_by, sizeof out->attested_by, m->attested_by);
    out->attested_on = m->has_attested_on ? m->attested_on : HRS_NO_DATE;
    s_copy(out->attestation_ref, sizeof out->attestation_ref, m->attestation_ref);
    pay__hours_stored_contract__free_unpacked(m, NULL);
    int slot = self->memo_n < S_MEMO_CONTRACTS ? self->memo_n : self->memo_next;
    s_contract_memo_t *e = &self->memo[slot];
    if (e->cap < v.mv_size) {
        uint8_t *p = realloc(e->raw, v.mv_size);
        if (!p)
            return 0;   /* not remembered; the answer stands */
        e->raw = p;
        e->cap = v.mv_size;
    }
    memcpy(e->raw, v.mv_data, v.mv_size);
    e->len = v.mv_size;
    memcpy(&e->k, out, sizeof *out);
    if (self->memo_n < S_MEMO_CONTRACTS)
        self->memo_n++;
    else
        self->memo_next = (self->memo_next + 1) % S_MEMO_CONTRACTS;
    return 0;
}

int hrs_store_has_outside_contracts(hrs_store_t *self, MDB_txn *txn, const char *prison,
                                    bool *yes)
{
    MDB_cursor *cur = NULL;
    s_key_t k = {.n = 0};
    MDB_val key, val;
    char id[HRS_CONTRACT_LEN];
    hrs_contract_t *c = malloc(sizeof *c);
    int rc;
    *yes = false;
    if (!c)
        return ENOMEM;
    s_key_str(&k, prison);
    key.mv_size = k.n;
    key.mv_data = k.b;
    if ((rc = mdb_cursor_open(txn, self->dbi[DB_CONTRACTS_BY_PRISON], &cur)) != 0)
        goto done;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size <= k.n || memcmp(key.mv_data, k.b, k.n) != 0)
            break;
        s_copy_n(id, sizeof id, (uint8_t *)key.mv_data + k.n, key.mv_size - k.n);
        if ((rc = hrs_store_get_contract(self, txn, id, c)) != 0)
            goto done;
        if (c->work_type == PAY__WORK_TYPE__OUTSIDE) {
            *yes = true;
            break;
        }
    }
    rc = (rc == MDB_NOTFOUND) ? 0 : rc;
done:
    if (cur)
        mdb_cursor_close(cur);
    free(c);
    return rc;
}

static void s_alloc_prefix(s_key_t *k, const char *prisoner, const char *contract)
{
    k->n = 0;
    s_key_str(k, prisoner);
    s_key_id(k, contract);
}

int hrs_store_put_allocation(hrs_store_t *self, MDB_txn *txn, const hrs_allocation_row_t *a)
{
    s_key_t k;
    uint8_t v[8];
    s_alloc_prefix(&k, a->prisoner, a->contract);
    s_key_u32(&k, hrs_store_date_key(a->from));
    store_be32_put(v, hrs_store_date_key(a->to));
    store_be32_put(v + 4, a->pay_band);
    return s_put(txn, self->dbi[DB_ALLOCATIONS], &k, v, sizeof v);
}

int hrs_store_allocation_on(hrs_store_t *self, MDB_txn *txn, const char *prisoner,
                            const char *contract, int32_t date, bool *allocated,
                            uint32_t *band)
{
    MDB_cursor *cur = NULL;
    s_key_t k;
    MDB_val key, val;
    int rc;
    *allocated = false;
    *band = 0;
    s_alloc_prefix(&k, prisoner, contract);
    key.mv_size = k.n;
    key.mv_data = k.b;
    if ((rc = mdb_cursor_open(txn, self->dbi[DB_ALLOCATIONS], &cur)) != 0)
        return rc;
    /* Keys run in `from` order, so the last covering row has the latest
     * from; rows from after the date end the scan. */
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != k.n + 4 || memcmp(key.mv_data, k.b, k.n) != 0 || val.mv_size != 8)
            break;
        int32_t from = s_date_from_key(store_be32_get((uint8_t *)key.mv_data + k.n));
        if (from > date)
            break;
        int32_t to = s_date_from_key(store_be32_get(val.mv_data));
        if (date <= to) {
            *allocated = true;
            *band = store_be32_get((uint8_t *)val.mv_data + 4);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- records ------------------------------------------------------------ */

void hrs_store_state(const hrs_stored_t *s, Pay__RecordState *out, char date[CIVIL_DATE_LEN],
                     char week[CIVIL_WEEK_LEN])
{
    pay__record_state__init(out);
    civil_format_date(s->rec.date, date);
    civil_format_week(civil_iso_week(s->rec.date), week);
    out->record_id = (char *)s->rec.record_id;
    out->prisoner = (char *)s->rec.prisoner;
    out->prison = (char *)s->prison;
    out->employer = (char *)s->employer;
    out->contract = (char *)s->rec.contract;
    out->has_work_type = 1;
    out->work_type = s->work_type;
    out->has_pay_band = 1;
    out->pay_band = s->pay_band;
    out->has_incentive_level = 1;
    out->incentive_level = s->level;
    out->date = date;
    out->week = week;
    out->has_session = 1;
    out->session = s->rec.session;
    out->has_minutes = 1;
    out->minutes = s->rec.minutes;
    out->has_units = 1;
    out->units = s->rec.units;
    out->has_outcome = 1;
    out->outcome = s->rec.outcome;
    out->has_paid_absence = 1;
    out->paid_absence = s->rec.paid_absence;
    out->activity = (char *)s->activity;
}

/* Every string of a RecordState comes from an array of hrs_stored_t or from
 * the date and week buffers; 16 fields of at most 11 bytes of key and
 * length each. */
_Static_assert(sizeof(hrs_stored_t) + CIVIL_DATE_LEN + CIVIL_WEEK_LEN + 16 * 11
                   <= HRS_STATE_PACK_MAX,
               "HRS_STATE_PACK_MAX too small for a RecordState");
/* A stored record: its RecordState plus 8 small fields and recorded_by. */
_Static_assert(11 + HRS_STATE_PACK_MAX + AUTH_NAME_LEN + 9 * 11 <= S_PACK_MAX,
               "S_PACK_MAX too small for a stored record");

size_t hrs_store_pb_len_prefix(uint8_t *out, uint32_t field, size_t len)
{
    size_t n = 0;
    for (uint32_t v = field << 3 | 2;; v >>= 7) {
        out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f)
            break;
    }
    for (uint64_t v = len;; v >>= 7) {
        out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f)
            break;
    }
    return n;
}

size_t hrs_store_pack_state(const hrs_stored_t *s, uint8_t out[HRS_STATE_PACK_MAX])
{
    Pay__RecordState st;
    char date[CIVIL_DATE_LEN], week[CIVIL_WEEK_LEN];
    hrs_store_state(s, &st, date, week);
    return pay__record_state__pack(&st, out);
}

/* The stored record with its RecordState already packed: protobuf-c packs
 * fields in field-number order, so field 1 (state) written first and then
 * the message packed without it gives the same bytes as one pack. */
static int s_put_record_packed(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *s,
                               const uint8_t *state, size_t state_len)
{
    uint8_t buf[S_PACK_MAX];
    Pay__HoursStoredRecord m = PAY__HOURS_STORED_RECORD__INIT;
    s_key_t k = {.n = 0};
    if (state_len > HRS_STATE_PACK_MAX)
        return MDB_BAD_VALSIZE;
    size_t len = hrs_store_pb_len_prefix(buf, 1, state_len);
    memcpy(buf + len, state, state_len);
    len += state_len;
    m.has_voided = 1;
    m.voided = s->voided;
    m.has_amendments = 1;
    m.amendments = s->amendments;
    m.recorded_by = (char *)s->recorded_by;
    m.has_recorded_at = 1;
    m.recorded_at = s->recorded_at;
    m.has_first_minutes = 1;
    m.first_minutes = s->first.minutes;
    m.has_first_units = 1;
    m.first_units = s->first.units;
    m.has_first_outcome = 1;
    m.first_outcome = s->first.outcome;
    m.has_first_paid_absence = 1;
    m.first_paid_absence = s->first.paid_absence;
    len += pay__hours_stored_record__pack(&m, buf + len);
    s_key_str(&k, s->rec.record_id);
    return s_put(txn, self->dbi[DB_RECORDS], &k, buf, len);
}

static int s_put_record(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *s)
{
    uint8_t state[HRS_STATE_PACK_MAX];
    size_t n = hrs_store_pack_state(s, state);
    return s_put_record_packed(self, txn, s, state, n);
}

int hrs_store_get_record(hrs_store_t *self, MDB_txn *txn, const char *record_id,
                         hrs_stored_t *out)
{
    s_key_t k = {.n = 0};
    MDB_val v;
    s_key_str(&k, record_id);
    int rc = s_get(txn, self->dbi[DB_RECORDS], &k, &v);
    if (rc != 0)
        return rc;
    Pay__HoursStoredRecord *m = pay__hours_stored_record__unpack(NULL, v.mv_size, v.mv_data);
    if (!m || !m->state || !m->state->date ||
        civil_parse_date(m->state->date, &out->rec.date) != 0) {
        if (m)
            pay__hours_stored_record__free_unpacked(m, NULL);
        return MDB_CORRUPTED;
    }
    const Pay__RecordState *st = m->state;
    hrs_record_t *r = &out->rec;
    s_copy(r->record_id, sizeof r->record_id, record_id);
    s_copy(r->prisoner, sizeof r->prisoner, st->prisoner);
    s_copy(r->contract, sizeof r->contract, st->contract);
    r->session = st->session;
    r->minutes = st->minutes;
    r->units = st->units;
    r->outcome = st->outcome;
    r->paid_absence = st->paid_absence;
    s_copy(out->prison, sizeof out->prison, st->prison);
    s_copy(out->employer, sizeof out->employer, st->employer);
    s_copy(out->activity, sizeof out->activity, st->activity);
    out->work_type = st->work_type;
    out->pay_band = st->pay_band;
    out->level = st->incentive_level;
    out->voided = m->voided;
    out->amendments = m->amendments;
    s_copy(out->recorded_by, sizeof out->recorded_by, m->recorded_by);
    out->recorded_at = m->recorded_at;
    out->first = *r;
    out->first.minutes = m->first_minutes;
    out->first.units = m->first_units;
    out->first.outcome = m->first_outcome;
    out->first.paid_absence = m->first_paid_absence;
    pay__hours_stored_record__free_unpacked(m, NULL);
    return 0;
}

/* by_day: prisoner . date_key . session . record_id */
static void s_day_key(s_key_t *k, const char *prisoner, int32_t date)
{
    k->n = 0;
    s_key_str(k, prisoner);
    s_key_u32(k, hrs_store_date_key(date));
}

static void s_day_full_key(s_key_t *k, const hrs_record_t *r)
{
    s_day_key(k, r->prisoner, r->date);
    s_key_u8(k, (uint8_t)r->session);
    s_key_str(k, r->record_id);
}

/* Walks the by_day rows of a prisoner from `from` to `to` (inclusive), in
 * key order, calling fn with each row; stops early when fn returns
 * non-zero (and returns that). */
typedef int (s_day_fn)(int32_t date, Pay__Session session, const char *id, size_t idlen,
                       uint32_t minutes, bool live, void *arg);

static int s_scan_days(hrs_store_t *self, MDB_txn *txn, const char *prisoner, int32_t from,
                       int32_t to, s_day_fn *fn, void *arg)
{
    MDB_cursor *cur = NULL;
    s_key_t k;
    MDB_val key, val;
    size_t plen = strlen(prisoner);
    int rc;
    s_day_key(&k, prisoner, from);
    key.mv_size = k.n;
    key.mv_data = k.b;
    if ((rc = mdb_cursor_open(txn, self->dbi[DB_BY_DAY], &cur)) != 0)
        return rc;
    uint32_t to_key = hrs_store_date_key(to);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const uint8_t *p = key.mv_data;
        if (key.mv_size < plen + 5 || memcmp(p, prisoner, plen) != 0)
            break;
        uint32_t dk = store_be32_get(p + plen);
        if (dk > to_key)
            break;
        if (val.mv_size != 5) {
            rc = MDB_CORRUPTED;
            break;
        }
        const uint8_t *v = val.mv_data;
        if ((rc = fn(s_date_from_key(dk), (Pay__Session)p[plen + 4], (const char *)p + plen + 5,
                     key.mv_size - plen - 5, store_be32_get(v), v[4] != 0, arg)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

typedef struct {
    int32_t date;
    Pay__Session session;
    const char *exclude;
    size_t exclude_len;
    hrs_week_facts_t *out;
} s_facts_arg_t;

static int s_facts_row(int32_t date, Pay__Session session, const char *id, size_t idlen,
                       uint32_t minutes, bool live, void *arg)
{
    s_facts_arg_t *a = arg;
    if (!live || (a->exclude && idlen == a->exclude_len && memcmp(id, a->exclude, idlen) == 0))
        return 0;
    a->out->week_minutes += minutes;
    if (date == a->date) {
        a->out->day_minutes += minutes;
        if (session == a->session && !a->out->clash) {
            a->out->clash = true;
            s_copy_n(a->out->clash_id, sizeof a->out->clash_id, id, idlen);
        }
    }
    return 0;
}

static int32_t s_monday(int32_t date)
{
    return date - (civil_weekday(date) - 1);
}

int hrs_store_week_facts(hrs_store_t *self, MDB_txn *txn, const char *prisoner, int32_t date,
                         Pay__Session session, const char *exclude, hrs_week_facts_t *out)
{
    s_facts_arg_t a = {date, session, exclude, exclude ? strlen(exclude) : 0, out};
    int32_t monday = s_monday(date);
    memset(out, 0, sizeof *out);
    return s_scan_days(self, txn, prisoner, monday, monday + 6, s_facts_row, &a);
}

static void s_week_prison_key(s_key_t *k, const char *prison, uint32_t week_key)
{
    k->n = 0;
    s_key_str(k, prison);
    s_key_u32(k, week_key);
}

int hrs_store_totals(hrs_store_t *self, MDB_txn *txn, const char *prison, uint32_t week_key,
                     hrs_totals_t *out)
{
    s_key_t k;
    MDB_val v;
    memset(out, 0, sizeof *out);
    s_week_prison_key(&k, prison, week_key);
    int rc = s_get(txn, self->dbi[DB_TOTALS], &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (v.mv_size != 32)
        return MDB_CORRUPTED;
    const uint8_t *p = v.mv_data;
    out->records = store_be64_get(p);
    out->minutes = store_be64_get(p + 8);
    out->billable_minutes = store_be64_get(p + 16);
    out->billable_units = store_be64_get(p + 24);
    return 0;
}

static int s_totals_write(hrs_store_t *self, MDB_txn *txn, const char *prison, uint32_t wk,
                          int64_t records, int64_t minutes, int64_t bm, int64_t bu)
{
    hrs_totals_t t;
    uint8_t v[32];
    s_key_t k;
    int rc = hrs_store_totals(self, txn, prison, wk, &t);
    if (rc != 0)
        return rc;
    /* Unsigned wrap-around adds a negative delta exactly. */
    t.records += (uint64_t)records;
    t.minutes += (uint64_t)minutes;
    t.billable_minutes += (uint64_t)bm;
    t.billable_units += (uint64_t)bu;
    s_week_prison_key(&k, prison, wk);
    store_be64_put(v, t.records);
    store_be64_put(v + 8, t.minutes);
    store_be64_put(v + 16, t.billable_minutes);
    store_be64_put(v + 24, t.billable_units);
    return s_put(txn, self->dbi[DB_TOTALS], &k, v, sizeof v);
}

int hrs_store_tally_flush(hrs_store_t *self, MDB_txn *txn, hrs_tally_t *tally)
{
    int rc = 0;
    for (int i = 0; i < tally->n && rc == 0; i++)
        rc = s_totals_write(self, txn, tally->row[i].prison, tally->row[i].week_key,
                            tally->row[i].records, tally->row[i].minutes,
                            tally->row[i].billable_minutes, tally->row[i].billable_units);
    tally->n = 0;
    return rc;
}

/* Adds (sign +1) or removes (-1) a record's share of its prison-week
 * totals, in the tally if there is one, else in the store. */
static int s_totals_add(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *s, int sign,
                        hrs_tally_t *tally)
{
    uint32_t wk = hrs_store_week_key(s->rec.date);
    bool billable = s->rec.outcome == PAY__OUTCOME__ATTENDED;
    int64_t m = sign * (int64_t)s->rec.minutes;
    int64_t bm = billable ? m : 0, bu = billable ? sign * (int64_t)s->rec.units : 0;
    if (!tally)
        return s_totals_write(self, txn, s->prison, wk, sign, m, bm, bu);
    int i = 0;
    while (i < tally->n && (tally->row[i].week_key != wk || strcmp(tally->row[i].prison, s->prison) != 0))
        i++;
    if (i == tally->n) {
        if (tally->n == HRS_TALLY_ROWS) {
            int rc = hrs_store_tally_flush(self, txn, tally);
            if (rc != 0)
                return rc;
            i = 0;
        }
        memset(&tally->row[i], 0, sizeof tally->row[i]);
        memcpy(tally->row[i].prison, s->prison, sizeof tally->row[i].prison);
        tally->row[i].week_key = wk;
        tally->n = i + 1;
    }
    tally->row[i].records += sign;
    tally->row[i].minutes += m;
    tally->row[i].billable_minutes += bm;
    tally->row[i].billable_units += bu;
    return 0;
}

static int s_put_day(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *s, bool live)
{
    s_key_t k;
    uint8_t v[5];
    s_day_full_key(&k, &s->rec);
    store_be32_put(v, s->rec.minutes);
    v[4] = live ? 1 : 0;
    return s_put(txn, self->dbi[DB_BY_DAY], &k, v, sizeof v);
}

int hrs_store_insert(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *s, uint64_t seq,
                     hrs_tally_t *tally)
{
    uint8_t state[HRS_STATE_PACK_MAX];
    size_t n = hrs_store_pack_state(s, state);
    return hrs_store_insert_packed(self, txn, s, state, n, seq, tally);
}

int hrs_store_insert_packed(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *s,
                            const uint8_t *state, size_t state_len, uint64_t seq,
                            hrs_tally_t *tally)
{
    s_key_t k;
    int rc;
    if ((rc = s_put_record_packed(self, txn, s, state, state_len)) != 0)
        return rc;
    if ((rc = s_put_day(self, txn, s, true)) != 0)
        return rc;
    uint8_t seqb[8];
    store_be64_put(seqb, seq);
    k.n = 0;
    s_key_id(&k, s->rec.contract);
    s_key_u32(&k, hrs_store_date_key(s->rec.date));
    s_key_bytes(&k, seqb, sizeof seqb);
    if ((rc = s_put(txn, self->dbi[DB_BY_CONTRACT], &k, s->rec.record_id,
                    strlen(s->rec.record_id))) != 0)
        return rc;
    return s_totals_add(self, txn, s, +1, tally);
}

int hrs_store_amend(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *old,
                    const hrs_stored_t *neu)
{
    int rc;
    if ((rc = s_put_record(self, txn, neu)) != 0)
        return rc;
    if ((rc = s_put_day(self, txn, neu, true)) != 0)
        return rc;
    if ((rc = s_totals_add(self, txn, old, -1, NULL)) != 0)
        return rc;
    return s_totals_add(self, txn, neu, +1, NULL);
}

int hrs_store_void(hrs_store_t *self, MDB_txn *txn, const hrs_stored_t *old)
{
    hrs_stored_t *v = malloc(sizeof *v);
    int rc;
    if (!v)
        return ENOMEM;
    *v = *old;
    v->voided = true;
    rc = s_put_record(self, txn, v);
    free(v);
    if (rc != 0)
        return rc;
    if ((rc = s_put_day(self, txn, old, false)) != 0)
        return rc;
    return s_totals_add(self, txn, old, -1, NULL);
}

int hrs_store_is_closed(hrs_store_t *self, MDB_txn *txn, const char *prison,
                        uint32_t week_key, bool *closed)
{
    s_key_t k;
    MDB_val v;
    s_week_prison_key(&k, prison, week_key);
    int rc = s_get(txn, self->dbi[DB_CLOSED], &k, &v);
    *closed = rc == 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int hrs_store_week_closed(hrs_store_t *self, MDB_txn *txn, const char *prison, int32_t date,
                          bool *closed)
{
    return hrs_store_is_closed(self, txn, prison, hrs_store_week_key(date), closed);
}

int hrs_store_close_week(hrs_store_t *self, MDB_txn *txn, const char *prison,
                         uint32_t week_key, const char *closed_by, int64_t closed_at,
                         bool *already)
{
    s_key_t k;
    uint8_t v[8 + AUTH_NAME_LEN];
    size_t n = strlen(closed_by);
    int rc = hrs_store_is_closed(self, txn, prison, week_key, already);
    if (rc != 0 || *already)
        return rc;
    if (n > AUTH_NAME_LEN)
        n = AUTH_NAME_LEN;
    store_be64_put(v, (uint64_t)closed_at);
    memcpy(v + 8, closed_by, n);
    s_week_prison_key(&k, prison, week_key);
    return s_put(txn, self->dbi[DB_CLOSED], &k, v, 8 + n);
}

typedef struct {
    hrs_store_id_fn *fn;
    void *arg;
} s_each_arg_t;

static int s_each_row(int32_t date, Pay__Session session, const char *id, size_t idlen,
                      uint32_t minutes, bool live, void *arg)
{
    s_each_arg_t *a = arg;
    char buf[HRS_RECORD_ID_LEN];
    (void)date;
    (void)session;
    (void)minutes;
    (void)live;
    s_copy_n(buf, sizeof buf, id, idlen);
    return a->fn(buf, a->arg);
}

int hrs_store_each_in_week(hrs_store_t *self, MDB_txn *txn, const char *prisoner,
                           uint32_t week_key, hrs_store_id_fn *fn, void *arg)
{
    s_each_arg_t a = {fn, arg};
    int32_t monday = civil_week_monday(civil_week_from_key(week_key));
    return s_scan_days(self, txn, prisoner, monday, monday + 6, s_each_row, &a);
}

int hrs_store_each_by_contract(hrs_store_t *self, MDB_txn *txn, const char *contract,
                               int32_t from, int32_t to, const uint8_t *after,
                               size_t after_len, uint32_t limit, hrs_store_id_fn *fn,
                               void *arg, bool *more, uint8_t *next, size_t *next_len)
{
    MDB_cursor *cur = NULL;
    s_key_t k = {.n = 0}, start;
    MDB_val key, val;
    char id[HRS_RECORD_ID_LEN];
    uint32_t done = 0, to_key = hrs_store_date_key(to);
    int rc;
    *more = false;
    *next_len = 0;
    s_key_id(&k, contract);
    const size_t plen = k.n;
    start = k;
    if (after && after_len > 0)
        s_key_bytes(&start, after, after_len);
    else
        s_key_u32(&start, hrs_store_date_key(from));
    key.mv_size = start.n;
    key.mv_data = start.b;
    if ((rc = mdb_cursor_open(txn, self->dbi[DB_BY_CONTRACT], &cur)) != 0)
        return rc;
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    /* A page token names the last key already returned: start after it. */
    if (rc == 0 && after_len > 0 && key.mv_size == start.n &&
        memcmp(key.mv_data, start.b, start.n) == 0)
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != plen + 12 || memcmp(key.mv_data, k.b, plen) != 0)
            break;
        const uint8_t *p = (const uint8_t *)key.mv_data + plen;
        uint32_t dk = store_be32_get(p);
        if (dk > to_key || dk < hrs_store_date_key(from))
            break;
        if (done == limit) {
            *more = true;
            break;
        }
        s_copy_n(id, sizeof id, val.mv_data, val.mv_size);
        if ((rc = fn(id, arg)) != 0)
            break;
        done++;
        *next_len = 12;
        memcpy(next, p, 12);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int hrs_store_record_count(hrs_store_t *self, MDB_txn *txn, uint64_t *n)
{
    MDB_stat st;
    int rc = mdb_stat(txn, self->dbi[DB_RECORDS], &st);
    *n = rc == 0 ? st.ms_entries : 0;
    return rc;
}
