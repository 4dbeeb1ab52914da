/* inv_store: see inv_store.h. */
#include "inv_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "feed.h"
#include "codec.h"
#include "hours_feed.pb-c.h"
#include "ident.h"
#include "inv_ref.h"
#include "inv_alloc.h"
#include "inv_peppol.h"
#include "invoice_feed.pb-c.h"
#include "log.h"
#include "money.h"
#include "server.h"
#include "store_version.h"

struct inv_store_t {
    store_t *store;
    MDB_dbi employers, terms, days, dirty, groups, period_docs, docs, emp_docs,
        counters, payments, outbox, cursors;
};

#define KEY_MAX 160
#define MAX_TERMS 64
#define MAX_CHARGE (1 << 20)         /* pence per hour or unit: £10,485.76 */
#define MAX_SUM ((int64_t)1 << 40)   /* minutes or units of one day */

static const char *const s_db_names[] = {
    "employers", "terms", "days", "dirty", "groups", "period_docs", "docs",
    "emp_docs", "counters", "payments", INV_DB_OUTBOX, INV_DB_CURSORS,
    SERVER_REQUESTS_DB, INV_DB_REF_CONTRACTS, FEED_QUARANTINE_DB, STORE_META_DB,
    FEED_META_DB, NULL,
};

static int s_publish_employer(inv_store_t *self, MDB_txn *txn, const char *id,
                              const char *name);

/* Format 2 adds the contracts' replica and the feed quarantine (new
 * databases, created empty by store_open) and publishes every employer on
 * the invoice feed: the hours service now refuses a contract for an
 * employer it was never told of, and a first-release outbox holds none. */
static int s_to_v2(store_t *store, MDB_txn *txn)
{
    inv_store_t view = {0};
    view.store = store;
    view.employers = store_dbi(store, "employers");
    view.outbox = store_dbi(store, INV_DB_OUTBOX);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, view.employers, &cur);
    if (rc != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Pay__StoredEmployer *e = pay__stored_employer__unpack(NULL, v.mv_size, v.mv_data);
        if (!e) {
            rc = MDB_CORRUPTED;
            break;
        }
        char id[IDENT_EMPLOYER_LEN];
        snprintf(id, sizeof id, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
        rc = s_publish_employer(&view, txn, id, e->name ? e->name : "");
        pay__stored_employer__free_unpacked(e, NULL);
        if (rc != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Migrations of the invoicing store, one row per format (store_version.h):
 * {from, step function, first release writing from + 1, what it changes}. */
static const store_step_t s_steps[] = {
    {1, s_to_v2, "0.2.0", "replica of contracts, feed quarantine; publish every employer"},
    {0},
};
static const store_format_t s_format = {"invoicing", INV_STORE_FORMAT, s_steps, NULL};

inv_store_t *inv_store_open(const char *dir, size_t map_size)
{
    inv_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store_version_precheck(dir, &s_format) == 0
                      ? store_open(dir, s_db_names, map_size) : NULL;
    if (!self->store || store_version_open(self->store, &s_format, dir) != 0) {
        store_destroy(&self->store);
        free(self);
        return NULL;
    }
    self->employers = store_dbi(self->store, "employers");
    self->terms = store_dbi(self->store, "terms");
    self->days = store_dbi(self->store, "days");
    self->dirty = store_dbi(self->store, "dirty");
    self->groups = store_dbi(self->store, "groups");
    self->period_docs = store_dbi(self->store, "period_docs");
    self->docs = store_dbi(self->store, "docs");
    self->emp_docs = store_dbi(self->store, "emp_docs");
    self->counters = store_dbi(self->store, "counters");
    self->payments = store_dbi(self->store, "payments");
    self->outbox = store_dbi(self->store, INV_DB_OUTBOX);
    self->cursors = store_dbi(self->store, INV_DB_CURSORS);
    return self;
}

void inv_store_destroy(inv_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_destroy(&(*self_p)->store);
    free(*self_p);
    *self_p = NULL;
}

store_t *inv_store_store(inv_store_t *self)
{
    return self->store;
}

MDB_dbi inv_store_dbi(inv_store_t *self, const char *name)
{
    return store_dbi(self->store, name);
}

/* ---- keys and values ---------------------------------------------------- */

/* Appends a string with its NUL terminator; returns the new length or 0. */
static size_t s_k_str(uint8_t *k, size_t at, const char *s)
{
    size_t n = strlen(s) + 1;
    if (at + n > KEY_MAX)
        return 0;
    memcpy(k + at, s, n);
    return at + n;
}

static size_t s_k_u32(uint8_t *k, size_t at, uint32_t v)
{
    if (!at || at + 4 > KEY_MAX)
        return 0;
    store_be32_put(k + at, v);
    return at + 4;
}

static size_t s_day_key(uint8_t *k, const char *emp, const char *contract, int32_t day)
{
    size_t n = s_k_str(k, 0, emp);
    n = n ? s_k_str(k, n, contract) : 0;
    return s_k_u32(k, n, (uint32_t)day);
}

static size_t s_group_key(uint8_t *k, const char *emp, uint32_t pkey, const char *contract,
                          int32_t terms_from)
{
    size_t n = s_k_str(k, 0, emp);
    n = s_k_u32(k, n, pkey);
    n = n ? s_k_str(k, n, contract) : 0;
    return s_k_u32(k, n, (uint32_t)terms_from);
}

/* Packs `m` straight into LMDB's page with MDB_RESERVE. */
static int s_put_msg(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                     const ProtobufCMessage *m)
{
    MDB_val k = { klen, (void *)key }, v = { protobuf_c_message_get_packed_size(m), NULL };
    int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc == 0)
        protobuf_c_message_pack(m, v.mv_data);
    return rc;
}

static void *s_get_msg(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                       const ProtobufCMessageDescriptor *desc, int *rc)
{
    MDB_val v;
    *rc = store_get(txn, dbi, key, klen, &v);
    if (*rc != 0)
        return NULL;
    void *m = protobuf_c_message_unpack(desc, NULL, v.mv_size, v.mv_data);
    if (!m)
        *rc = MDB_CORRUPTED;
    return m;
}

#define S_FREE(m) do { if (m) protobuf_c_message_free_unpacked((ProtobufCMessage *)(m), NULL); } while (0)

static int s_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
    MDB_val k = { klen, (void *)key };
    int rc = mdb_del(txn, dbi, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- the hours feed ------------------------------------------------------ */

/* The shared rules (ident.h) for a record state: what the producer
 * checked, checked again, so that a record is never billed on a guess. */
static int s_state_ok(const Pay__RecordState *r, int32_t *day)
{
    return r && ident_is_record_id(r->record_id) && ident_is_prisoner(r->prisoner) &&
           ident_is_prison(r->prison) && ident_is_employer(r->employer) &&
           ident_is_contract(r->contract) && r->date && civil_parse_date(r->date, day) == 0 &&
           r->has_minutes && r->minutes >= IDENT_MIN_MINUTES && r->minutes <= IDENT_MAX_MINUTES &&
           r->units <= IDENT_MAX_UNITS && r->has_outcome &&
           r->outcome != PAY__OUTCOME__OUTCOME_UNSPECIFIED;
}

/* Checks a record state before anything is written: malformed, or naming
 * a contract the hours feed never told of, is refused. */
static int s_check_state(inv_store_t *self, MDB_txn *txn, const Pay__RecordState *r,
                         feed_refusal_t *why)
{
    int32_t day;
    char week[CIVIL_WEEK_LEN] = "";
    if (r && r->date && civil_parse_date(r->date, &day) == 0)
        civil_format_week(civil_iso_week(day), week);
    if (!s_state_ok(r, &day))
        return feed_refuse(why, r ? r->prison : NULL, week, "malformed record state %s",
                           r && r->record_id ? r->record_id : "?");
    bool known = false;
    int rc = inv_ref_contract(self, txn, r->contract, &known, NULL);
    if (rc != 0)
        return rc;
    if (!known)
        return feed_refuse(why, r->prison, week, "record %s names contract %s, unknown to this "
                           "service", r->record_id, r->contract);
    return 0;
}
/* Adds `sign` times a record's ATTENDED minutes and units to its day. */
static int s_apply_state(inv_store_t *self, MDB_txn *txn, const Pay__RecordState *r, int sign)
{
    int32_t day;
    if (!r || !r->has_outcome || r->outcome != PAY__OUTCOME__ATTENDED)
        return 0;   /* only ATTENDED records are billable */
    if (civil_parse_date(r->date, &day) != 0)
        return EINVAL;   /* checked by s_check_state before */
    uint8_t k[KEY_MAX];
    size_t kl = s_day_key(k, r->employer, r->contract, day);
    int rc;
    Pay__StoredDay *d = s_get_msg(txn, self->days, k, kl, &pay__stored_day__descriptor, &rc);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    Pay__StoredDay fresh = PAY__STORED_DAY__INIT;
    Pay__StoredDay *use = d ? d : &fresh;
    /* A day whose sums already differ from what was billed has its dirty
     * key already: one put saved per event on a busy day. */
    int was_dirty = d && (d->minutes != d->minutes_invoiced || d->units != d->units_invoiced);
    use->has_minutes = use->has_units = 1;
    use->minutes += sign * (int64_t)r->minutes;
    use->units += sign * (int64_t)(r->units < (uint64_t)MAX_SUM ? r->units : 0);
    /* The contract's prison and activity, as the latest event says. */
    char *old_prison = use->prison, *old_activity = use->activity;
    if (r->prison && r->prison[0] && strlen(r->prison) < 8)
        use->prison = r->prison;
    if (r->activity && r->activity[0] && strlen(r->activity) < IDENT_TEXT_LEN)
        use->activity = r->activity;
    rc = s_put_msg(txn, self->days, k, kl, &use->base);
    use->prison = old_prison;
    use->activity = old_activity;
    S_FREE(d);
    if (rc == 0 && !was_dirty) {
        MDB_val kk = { kl, k }, vv = { 0, (void *)"" };
        rc = mdb_put(txn, self->dirty, &kk, &vv, 0);
    }
    return rc;
}

int inv_store_apply_event(MDB_txn *txn, uint64_t seq, const uint8_t *payload,
                          size_t len, void *arg, feed_refusal_t *why)
{
    inv_store_t *self = arg;
    char err[CODEC_ERR_LEN];
    int rc = 0;
    (void)seq;
    if (codec_check_strings(&pay__hours_event__descriptor, payload, len, err) != 0)
        return feed_refuse(why, NULL, NULL, "undecodable hours event: %s", err);
    Pay__HoursEvent *ev = pay__hours_event__unpack(NULL, len, payload);
    if (!ev)
        return feed_refuse(why, NULL, NULL, "undecodable hours event of %zu bytes", len);
    if (codec_check_enums(&ev->base, err) != 0) {
        rc = feed_refuse(why, NULL, NULL, "hours event with an unknown value: %s", err);
        goto done;
    }
    /* Load and decide first: a refusal writes nothing. */
    switch (ev->kind_case) {
    case PAY__HOURS_EVENT__KIND_RECORDED:
        if ((rc = s_check_state(self, txn, ev->recorded->record, why)) == 0)
            rc = s_apply_state(self, txn, ev->recorded->record, +1);
        break;
    case PAY__HOURS_EVENT__KIND_AMENDED:
        if ((rc = s_check_state(self, txn, ev->amended->old, why)) == 0 &&
            (rc = s_check_state(self, txn, ev->amended->new_, why)) == 0 &&
            (rc = s_apply_state(self, txn, ev->amended->old, -1)) == 0)
            rc = s_apply_state(self, txn, ev->amended->new_, +1);
        break;
    case PAY__HOURS_EVENT__KIND_VOIDED:
        if ((rc = s_check_state(self, txn, ev->voided->old, why)) == 0)
            rc = s_apply_state(self, txn, ev->voided->old, -1);
        break;
    case PAY__HOURS_EVENT__KIND_CONTRACT: {
        const char *bad = inv_ref_contract_invalid(ev->contract);
        rc = bad ? feed_refuse(why, NULL, NULL, "%s", bad)
                 : inv_ref_put_contract(self, txn, ev->contract);
        break;
    }
    case PAY__HOURS_EVENT__KIND_WEEK_CLOSED:
    case PAY__HOURS_EVENT__KIND_PRISON:
    case PAY__HOURS_EVENT__KIND_PRISONER:
        break;   /* known kinds with nothing to bill */
    default:
        rc = feed_refuse(why, NULL, NULL, "an hours event of a kind this release does not know");
        break;
    }
done:
    pay__hours_event__free_unpacked(ev, NULL);
    return rc;
}

/* ---- reference data ------------------------------------------------------ */

static int s_employer_id_ok(const char *s)
{
    return ident_is_employer(s);
}

static int s_contract_id_ok(const char *s)
{
    return ident_is_contract(s);
}

static int s_vat_ok(const char *s)
{
    return ident_is_vat_number(s);
}

static int s_text_ok(const char *s, size_t max)
{
    if (!s || strlen(s) > max)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 && *p != '\n')
            return 0;
    return 1;
}

/* Appends EmployerFacts {id, name} to the invoice feed's outbox. */
static int s_publish_employer(inv_store_t *self, MDB_txn *txn, const char *id,
                              const char *name)
{
    Pay__EmployerFacts f = PAY__EMPLOYER_FACTS__INIT;
    Pay__InvoiceEvent ev = PAY__INVOICE_EVENT__INIT;
    f.id = (char *)id;
    f.name = (char *)name;
    ev.has_at = 1;
    ev.at = (uint64_t)time(NULL);
    ev.kind_case = PAY__INVOICE_EVENT__KIND_EMPLOYER;
    ev.employer = &f;
    size_t len = pay__invoice_event__get_packed_size(&ev);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return ENOMEM;
    pay__invoice_event__pack(&ev, buf);
    int rc = feed_outbox_append(txn, self->outbox, buf, len, NULL);
    free(buf);
    return rc;
}

#define BAD(field) do { snprintf(msg, msglen, "%s", field); return PAY__STATUS__INVALID_ARGUMENT; } while (0)

Pay__Status inv_store_upsert_employer(inv_store_t *self, MDB_txn *txn,
                                      const Pay__EmployerRow *row, char *msg,
                                      size_t msglen, int *rc)
{
    Pay__StoredEmployer e = PAY__STORED_EMPLOYER__INIT;
    char scheme[INV_PEPPOL_SCHEME_LEN] = "", endpoint[INV_PEPPOL_ID_MAX + 1] = "";
    uint64_t days = 30;
    *rc = 0;
    if (!s_employer_id_ok(row->id))
        BAD("id: must match ^[a-z0-9][a-z0-9-]{1,31}$");
    if (!row->name || !row->name[0] || !s_text_ok(row->name, 127))
        BAD("name: 1 to 127 characters");
    if (!s_text_ok(row->address ? row->address : "", 255))
        BAD("address: at most 255 characters");
    if (!s_text_ok(row->postcode ? row->postcode : "", 15))
        BAD("postcode: at most 15 characters");
    if (row->vat_number && row->vat_number[0] && !s_vat_ok(row->vat_number))
        BAD("vat_number: GB followed by 9 digits, or empty");
    if (!row->email || !strchr(row->email, '@') || !s_text_ok(row->email, 127))
        BAD("email: an address with @");
    if (row->billing_period && strcmp(row->billing_period, "WEEKLY") == 0)
        e.period_kind = INV_PERIOD_WEEKLY;
    else if (row->billing_period && strcmp(row->billing_period, "MONTHLY") == 0)
        e.period_kind = INV_PERIOD_MONTHLY;
    else
        BAD("billing_period: WEEKLY or MONTHLY");
    if (row->payment_terms_days && row->payment_terms_days[0]
        && parse_uint64(row->payment_terms_days, 365, &days) != 0)
        BAD("payment_terms_days: 0 to 365");
    if (row->peppol_endpoint && row->peppol_endpoint[0]) {
        char why[128];
        if (inv_peppol_parse(row->peppol_endpoint, scheme, endpoint, why, sizeof why) != 0) {
            snprintf(msg, msglen, "peppol_endpoint: %s", why);
            return PAY__STATUS__INVALID_ARGUMENT;
        }
    }
    e.id = row->id;
    e.name = row->name;
    e.address = row->address ? row->address : "";
    e.postcode = row->postcode ? row->postcode : "";
    e.vat_number = row->vat_number ? row->vat_number : "";
    e.email = row->email;
    e.has_period_kind = e.has_terms_days = 1;
    e.terms_days = (uint32_t)days;
    e.endpoint_scheme = scheme;
    e.endpoint_id = endpoint;
    /* The hours service learns employers from the invoice feed: a new
     * employer, or a new name, is published in the same transaction. */
    int was = 0, renamed = 0;
    Pay__StoredEmployer *old = s_get_msg(txn, self->employers, row->id, strlen(row->id),
                                         &pay__stored_employer__descriptor, rc);
    if (*rc != 0 && *rc != MDB_NOTFOUND)
        return PAY__STATUS__INTERNAL;
    was = old != NULL;
    renamed = old && strcmp(old->name ? old->name : "", e.name) != 0;
    S_FREE(old);
    *rc = s_put_msg(txn, self->employers, row->id, strlen(row->id), &e.base);
    if (*rc == 0 && (!was || renamed))
        *rc = s_publish_employer(self, txn, row->id, e.name);
    snprintf(msg, msglen, "employer %s", row->id);
    return PAY__STATUS__OK;
}

Pay__Status inv_store_upsert_terms(inv_store_t *self, MDB_txn *txn,
                                   const Pay__BillingTermsRow *row, char *msg,
                                   size_t msglen, int *rc)
{
    Pay__StoredTerms t = PAY__STORED_TERMS__INIT;
    int32_t from;
    int64_t charge;
    uint64_t bp;
    *rc = 0;
    if (!s_contract_id_ok(row->contract))
        BAD("contract: must match ^[A-Z0-9][A-Z0-9-]{0,23}$");
    if (!row->effective_from || civil_parse_date(row->effective_from, &from) != 0)
        BAD("effective_from: YYYY-MM-DD");
    if (row->basis && strcmp(row->basis, "HOURLY") == 0)
        t.basis = INV_BASIS_HOURLY;
    else if (row->basis && strcmp(row->basis, "UNIT") == 0)
        t.basis = INV_BASIS_UNIT;
    else
        BAD("basis: HOURLY or UNIT");
    if (!row->charge || money_parse(row->charge, 0, &charge) != 0 || charge >= MAX_CHARGE)
        BAD("charge: pounds with up to 2 decimals, below 10485.76");
    if (!row->vat_rate_bp || parse_uint64(row->vat_rate_bp, 10000, &bp) != 0)
        BAD("vat_rate_bp: 0 to 10000");
    /* The contract must be one the hours service published. */
    bool known = false;
    if ((*rc = inv_ref_contract(self, txn, row->contract, &known, NULL)) != 0)
        return PAY__STATUS__INTERNAL;
    if (!known) {
        snprintf(msg, msglen, "contract: %s is not a known contract", row->contract);
        return PAY__STATUS__UNKNOWN_CONTRACT;
    }
    t.has_basis = t.has_charge = t.has_vat_bp = 1;
    t.charge = charge;
    t.vat_bp = (uint32_t)bp;
    uint8_t k[KEY_MAX];
    size_t kl = s_k_u32(k, s_k_str(k, 0, row->contract), (uint32_t)from);
    *rc = s_put_msg(txn, self->terms, k, kl, &t.base);
    snprintf(msg, msglen, "terms %s from %s", row->contract, row->effective_from);
    return PAY__STATUS__OK;
}

/* ---- reading helpers ------------------------------------------------------ */

typedef struct {
    char contract[32];
    size_t n;
    inv_terms_t rows[MAX_TERMS];
} s_terms_t;

static int s_load_terms(inv_store_t *self, MDB_txn *txn, const char *contract, s_terms_t *out)
{
    MDB_cursor *cur = NULL;
    uint8_t k[KEY_MAX];
    size_t kl = s_k_str(k, 0, contract);
    MDB_val key = { kl, k }, val;
    int rc = mdb_cursor_open(txn, self->terms, &cur);
    snprintf(out->contract, sizeof out->contract, "%s", contract);
    out->n = 0;
    if (rc != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != kl + 4 || memcmp(key.mv_data, k, kl) != 0)
            break;
        Pay__StoredTerms *t = pay__stored_terms__unpack(NULL, val.mv_size, val.mv_data);
        if (!t) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (out->n < MAX_TERMS) {
            inv_terms_t *r = &out->rows[out->n++];
            r->effective_from = (int32_t)store_be32_get((uint8_t *)key.mv_data + kl);
            r->basis = (inv_basis_t)t->basis;
            r->charge = t->charge;
            r->vat_bp = t->vat_bp;
        }
        pay__stored_terms__free_unpacked(t, NULL);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* A tiny cache of terms per contract for one operation. */
typedef struct {
    s_terms_t *items;
    size_t n, cap;
} s_terms_cache_t;

static const s_terms_t *s_terms(inv_store_t *self, MDB_txn *txn, s_terms_cache_t *c,
                                const char *contract, int *rc)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->items[i].contract, contract) == 0)
            return &c->items[i];
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        s_terms_t *p = realloc(c->items, cap * sizeof *p);
        if (!p) {
            *rc = ENOMEM;
            return NULL;
        }
        c->items = p;
        c->cap = cap;
    }
    *rc = s_load_terms(self, txn, contract, &c->items[c->n]);
    return *rc ? NULL : &c->items[c->n++];
}

/* Splits a days/dirty key into its parts; returns 0 or -1. */
static int s_split_day_key(const MDB_val *key, const char **emp, const char **contract,
                           int32_t *day)
{
    const char *k = key->mv_data;
    size_t n = key->mv_size;
    const char *z1 = memchr(k, 0, n);
    if (!z1)
        return -1;
    const char *z2 = memchr(z1 + 1, 0, n - (size_t)(z1 + 1 - k));
    if (!z2 || (size_t)(z2 + 1 - k) + 4 != n)
        return -1;
    *emp = k;
    *contract = z1 + 1;
    *day = (int32_t)store_be32_get((const uint8_t *)z2 + 1);
    return 0;
}

static Pay__StoredEmployer *s_employer(inv_store_t *self, MDB_txn *txn, const char *id, int *rc)
{
    return s_get_msg(txn, self->employers, id, strlen(id), &pay__stored_employer__descriptor, rc);
}

/* ---- issuing --------------------------------------------------------------- */

typedef struct {
    inv_period_t period;
    char contract[32];
    inv_terms_t terms;
    int billed_period;             /* the period already has an invoice */
    char period_doc[INV_NUMBER_LEN];
    /* filled by s_group_sum */
    int64_t minutes, units;
    char prison[8];
    char activity[64];
    Pay__StoredGroup *prior;       /* NULL: never billed */
    int eligible;
    inv_line_t line;
    int has_line;
} s_group_t;

typedef struct {
    s_group_t *g;
    size_t n, cap;
} s_groups_t;

static s_group_t *s_group_find_or_add(s_groups_t *gs, const inv_period_t *p, const char *contract,
                                      const inv_terms_t *t)
{
    for (size_t i = 0; i < gs->n; i++)
        if (gs->g[i].period.key == p->key && gs->g[i].terms.effective_from == t->effective_from
            && strcmp(gs->g[i].contract, contract) == 0)
            return &gs->g[i];
    if (gs->n == gs->cap) {
        size_t cap = gs->cap ? gs->cap * 2 : 16;
        s_group_t *q = realloc(gs->g, cap * sizeof *q);
        if (!q)
            return NULL;
        gs->g = q;
        gs->cap = cap;
    }
    s_group_t *g = &gs->g[gs->n++];
    memset(g, 0, sizeof *g);
    g->period = *p;
    snprintf(g->contract, sizeof g->contract, "%s", contract);
    g->terms = *t;
    return g;
}

/* Marks one day invoiced (its current sums billed) and clears its dirty key. */
static int s_settle_day(inv_store_t *self, MDB_txn *txn, const uint8_t *k, size_t kl)
{
    int rc;
    Pay__StoredDay *d = s_get_msg(txn, self->days, k, kl, &pay__stored_day__descriptor, &rc);
    if (!d)
        return rc;
    d->minutes_invoiced = d->minutes;
    d->units_invoiced = d->units;
    d->has_minutes_invoiced = d->has_units_invoiced = 1;
    rc = s_put_msg(txn, self->days, k, kl, &d->base);
    pay__stored_day__free_unpacked(d, NULL);
    return rc ? rc : s_del(txn, self->dirty, k, kl);
}

/* Sums the group's days (those of its period whose terms row is its own).
 * If `settle` is set, instead marks them invoiced and clears their dirty
 * keys (after the scan: no writes under an open cursor of the same db). */
static int s_group_walk(inv_store_t *self, MDB_txn *txn, const char *emp, s_group_t *g,
                        const s_terms_t *terms, int settle)
{
    MDB_cursor *cur = NULL;
    uint8_t k[KEY_MAX];
    size_t kl = s_day_key(k, emp, g->contract, g->period.first);
    size_t prefix = kl - 4;
    MDB_val key = { kl, k }, val;
    int32_t *days = NULL;
    size_t n_days = 0;
    int rc = mdb_cursor_open(txn, self->days, &cur);
    if (rc != 0)
        return rc;
    if (settle)
        days = calloc((size_t)(g->period.last - g->period.first + 1), sizeof *days);
    else
        g->minutes = g->units = 0;
    if (settle && !days) {
        mdb_cursor_close(cur);
        return ENOMEM;
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != kl || memcmp(key.mv_data, k, prefix) != 0)
            break;
        int32_t day = (int32_t)store_be32_get((uint8_t *)key.mv_data + prefix);
        if (day > g->period.last)
            break;
        long ti = inv_terms_in_force(terms->rows, terms->n, day);
        if (ti < 0 || terms->rows[ti].effective_from != g->terms.effective_from)
            continue;
        if (settle) {
            days[n_days++] = day;
            continue;
        }
        Pay__StoredDay *d = pay__stored_day__unpack(NULL, val.mv_size, val.mv_data);
        if (!d) {
            rc = MDB_CORRUPTED;
            break;
        }
        g->minutes += d->minutes;
        g->units += d->units;
        if (d->prison)
            snprintf(g->prison, sizeof g->prison, "%s", d->prison);
        if (d->activity)
            snprintf(g->activity, sizeof g->activity, "%s", d->activity);
        pay__stored_day__free_unpacked(d, NULL);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    for (size_t i = 0; rc == 0 && i < n_days; i++) {
        store_be32_put(k + prefix, (uint32_t)days[i]);
        rc = s_settle_day(self, txn, k, kl);
    }
    free(days);
    return rc;
}

static int s_next_number(inv_store_t *self, MDB_txn *txn, inv_kind_t kind, char *out)
{
    const char *name = kind == INV_KIND_CREDIT_NOTE ? "CRN" : "INV";
    MDB_val v;
    uint64_t last = 0;
    int rc = store_get(txn, self->counters, name, 3, &v);
    if (rc == 0 && v.mv_size == 8)
        last = store_be64_get(v.mv_data);
    else if (rc != MDB_NOTFOUND)
        return rc ? rc : MDB_CORRUPTED;
    uint8_t b[8];
    store_be64_put(b, last + 1);
    if ((rc = store_put(txn, self->counters, name, 3, b, 8, 0)) != 0)
        return rc;
    return inv_format_number(kind, last + 1, out, INV_NUMBER_LEN) == 0 ? 0 : MDB_BAD_VALSIZE;
}

static void s_party_in(Pay__StoredParty *p, const char *name, const char *address,
                       const char *postcode, const char *vat, const char *email,
                       const char *scheme, const char *id)
{
    /* Payment details are the supplier's only: s_issue_doc sets them. */
    p->name = (char *)(name ? name : "");
    p->address = (char *)(address ? address : "");
    p->postcode = (char *)(postcode ? postcode : "");
    p->vat = (char *)(vat ? vat : "");
    p->email = (char *)(email ? email : "");
    p->endpoint_scheme = (char *)(scheme ? scheme : "");
    p->endpoint_id = (char *)(id ? id : "");
}

/* Writes one document made of the groups in `idx` (n of them). */
static int s_issue_doc(inv_store_t *self, MDB_txn *txn, const inv_issue_opts_t *o,
                       const Pay__StoredEmployer *emp, s_groups_t *gs, size_t *idx, size_t n,
                       const inv_period_t *period, int new_period, s_terms_cache_t *tc,
                       inv_issued_t **out, size_t *n_out)
{
    int rc = 0;
    inv_line_t *lines = calloc(n ? n : 1, sizeof *lines);
    Pay__StoredLine *sl = calloc(n ? n : 1, sizeof *sl);
    Pay__StoredLine **slp = calloc(n ? n : 1, sizeof *slp);
    uint8_t *payload = NULL;
    size_t nl = 0;
    inv_alloc_t alloc = { 0 };
    if (!lines || !sl || !slp) {
        rc = ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        if (gs->g[idx[i]].has_line)
            lines[nl++] = gs->g[idx[i]].line;
    inv_doc_t doc;
    memset(&doc, 0, sizeof doc);
    doc.lines = lines;
    doc.n_lines = nl;
    if (nl > 0 && inv_doc_finish(&doc) != 0) {
        rc = MDB_BAD_VALSIZE;
        goto fail;
    }
    char number[INV_NUMBER_LEN] = "";
    if (nl > 0 && (rc = s_next_number(self, txn, doc.kind, number)) != 0)
        goto fail;

    /* Settle every group, with or without a line, so that nothing is billed
     * twice and its days stop being pending. */
    for (size_t i = 0; i < n; i++) {
        s_group_t *g = &gs->g[idx[i]];
        int rc2 = 0;
        const s_terms_t *terms = s_terms(self, txn, tc, g->contract, &rc2);
        if (!terms) {
            rc = rc2;
            goto fail;
        }
        if ((rc = s_group_walk(self, txn, emp->id, g, terms, 1)) != 0)
            goto fail;
        if (!g->has_line && !g->prior)
            continue;   /* nothing billed, nothing to remember */
        Pay__StoredGroup sg = PAY__STORED_GROUP__INIT;
        sg.has_minutes = sg.has_units = sg.has_net = 1;
        sg.minutes = g->minutes;
        sg.units = g->units;
        sg.net = inv_line_net(g->terms.basis, g->terms.charge, g->minutes, g->units);
        sg.first_number = g->prior && g->prior->first_number && g->prior->first_number[0]
                              ? g->prior->first_number : number;
        sg.last_number = g->has_line ? number
                         : (g->prior && g->prior->last_number ? g->prior->last_number : "");
        uint8_t k[KEY_MAX];
        size_t kl = s_group_key(k, emp->id, g->period.key, g->contract, g->terms.effective_from);
        if ((rc = s_put_msg(txn, self->groups, k, kl, &sg.base)) != 0)
            goto fail;
    }
    if (nl == 0)
        goto done;

    Pay__StoredDocument sd = PAY__STORED_DOCUMENT__INIT;
    Pay__StoredParty sup = PAY__STORED_PARTY__INIT, cus = PAY__STORED_PARTY__INIT;
    const inv_supplier_t *s = o->supplier;
    char sup_scheme[INV_PEPPOL_SCHEME_LEN] = "", sup_id[INV_PEPPOL_ID_MAX + 1] = "", why[128];
    if (s->endpoint[0] && inv_peppol_parse(s->endpoint, sup_scheme, sup_id, why, sizeof why) != 0)
        sup_scheme[0] = sup_id[0] = '\0';   /* checked at start; 9932:<vat> then */
    s_party_in(&sup, s->name, s->address, s->postcode, s->vat, s->email, sup_scheme, sup_id);
    sup.bank_account_name = (char *)s->bank_account_name;
    sup.sort_code = (char *)s->sort_code;
    sup.account_number = (char *)s->account_number;
    sup.iban = (char *)s->iban;
    s_party_in(&cus, emp->name, emp->address, emp->postcode, emp->vat_number, emp->email,
               emp->endpoint_scheme, emp->endpoint_id);
    sd.number = number;
    sd.has_kind = sd.has_issue_date = sd.has_tax_point = sd.has_due_date = 1;
    sd.has_terms_days = sd.has_period_first = sd.has_period_last = 1;
    sd.has_net_total = sd.has_vat_total = sd.has_total = sd.has_paid = 1;
    sd.kind = doc.kind;
    sd.employer = emp->id;
    sd.issue_date = o->issue_date;
    sd.tax_point = inv_tax_point(period);
    sd.terms_days = emp->terms_days;
    sd.due_date = inv_due_date(o->issue_date, emp->terms_days);
    sd.period = (char *)period->text;
    sd.period_first = period->first;
    sd.period_last = period->last;
    sd.supplier = &sup;
    sd.customer = &cus;
    sd.net_total = doc.net_total;
    sd.vat_total = doc.vat_total;
    sd.total = doc.total;
    sd.n_lines = nl;
    sd.lines = slp;
    for (size_t i = 0; i < nl; i++) {
        Pay__StoredLine *l = &sl[i];
        const inv_line_t *src = &lines[i];
        pay__stored_line__init(l);
        l->has_kind = l->has_period_first = l->has_period_last = l->has_basis = 1;
        l->has_minutes = l->has_units = l->has_charge = l->has_vat_bp = l->has_net = 1;
        l->kind = src->kind;
        l->contract = (char *)src->contract;
        l->prison = (char *)src->prison;
        l->activity = (char *)src->activity;
        l->period = (char *)src->period;
        l->period_first = src->period_first;
        l->period_last = src->period_last;
        l->ref_number = (char *)src->ref_number;
        l->basis = src->basis;
        l->minutes = src->minutes;
        l->units = src->units;
        l->charge = src->charge;
        l->vat_bp = src->vat_bp;
        l->net = src->net;
        l->has_start = l->has_end = 1;
        l->start = inv_line_first(src);
        l->end = inv_line_last(src);
        slp[i] = l;
    }
    sd.has_allocated = 1;
    if (doc.kind == INV_KIND_CREDIT_NOTE
        && (rc = inv_alloc_credit_note(self, txn, &sd, lines, nl, &alloc)) != 0)
        goto fail;
    if ((rc = s_put_msg(txn, self->docs, number, strlen(number), &sd.base)) != 0)
        goto fail;
    uint8_t k[KEY_MAX];
    size_t kl = s_k_str(k, s_k_str(k, 0, emp->id), number);
    if ((rc = store_put(txn, self->emp_docs, k, kl, "", 0, 0)) != 0)
        goto fail;
    if (new_period) {
        kl = s_k_u32(k, s_k_str(k, 0, emp->id), period->key);
        if ((rc = store_put(txn, self->period_docs, k, kl, number, strlen(number), MDB_NOOVERWRITE)) != 0
            && rc != MDB_KEYEXIST)
            goto fail;
        rc = 0;
    }

    /* The invoice feed. */
    Pay__DocumentSummary ds = PAY__DOCUMENT_SUMMARY__INIT;
    char issue[CIVIL_DATE_LEN], tp[CIVIL_DATE_LEN], due[CIVIL_DATE_LEN];
    civil_format_date(sd.issue_date, issue);
    civil_format_date(sd.tax_point, tp);
    civil_format_date(sd.due_date, due);
    ds.number = number;
    ds.employer = emp->id;
    ds.issue_date = issue;
    ds.tax_point = tp;
    ds.due_date = due;
    ds.has_net_pence = ds.has_vat_pence = ds.has_total_pence = 1;
    ds.net_pence = doc.net_total;
    ds.vat_pence = doc.vat_total;
    ds.total_pence = doc.total;
    ds.period = (char *)period->text;
    /* The recipient, for the delivery service (services/mailer). */
    ds.email = cus.email;
    Pay__InvoiceIssued ii = PAY__INVOICE_ISSUED__INIT;
    Pay__CreditNoteIssued ci = PAY__CREDIT_NOTE_ISSUED__INIT;
    Pay__InvoiceEvent ev = PAY__INVOICE_EVENT__INIT;
    ev.has_at = 1;
    ev.at = (uint64_t)o->issue_date * 86400u;
    if (doc.kind == INV_KIND_CREDIT_NOTE) {
        ci.document = &ds;
        ev.kind_case = PAY__INVOICE_EVENT__KIND_CREDIT_NOTE;
        ev.credit_note = &ci;
    } else {
        ii.document = &ds;
        ev.kind_case = PAY__INVOICE_EVENT__KIND_INVOICE;
        ev.invoice = &ii;
    }
    size_t plen = pay__invoice_event__get_packed_size(&ev);
    payload = malloc(plen ? plen : 1);
    if (!payload) {
        rc = ENOMEM;
        goto fail;
    }
    pay__invoice_event__pack(&ev, payload);
    if ((rc = feed_outbox_append(txn, self->outbox, payload, plen, NULL)) != 0)
        goto fail;

    inv_issued_t *grown = realloc(*out, (*n_out + 1) * sizeof **out);
    if (!grown) {
        rc = ENOMEM;
        goto fail;
    }
    *out = grown;
    inv_issued_t *r = &grown[(*n_out)++];
    memset(r, 0, sizeof *r);
    snprintf(r->number, sizeof r->number, "%s", number);
    snprintf(r->employer, sizeof r->employer, "%s", emp->id);
    snprintf(r->period, sizeof r->period, "%s", period->text);
    r->issue_date = sd.issue_date;
    r->tax_point = sd.tax_point;
    r->due_date = sd.due_date;
    r->net = doc.net_total;
    r->vat = doc.vat_total;
    r->total = doc.total;
    r->kind = doc.kind;
done:
fail:
    inv_alloc_free(&alloc);
    free(payload);
    free(lines);
    free(sl);
    free(slp);
    return rc;
}

static int s_cmp_period(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int s_issue_employer(inv_store_t *self, MDB_txn *txn, const inv_issue_opts_t *o,
                            const Pay__StoredEmployer *emp, inv_issued_t **out, size_t *n_out)
{
    s_groups_t gs = { 0 };
    s_terms_cache_t tc = { 0 };
    MDB_cursor *cur = NULL;
    size_t *idx = NULL;
    uint32_t *periods = NULL;
    uint8_t k[KEY_MAX];
    size_t kl = s_k_str(k, 0, emp->id);
    MDB_val key = { kl, k }, val;
    inv_period_kind_t pk = (inv_period_kind_t)emp->period_kind;
    int rc = mdb_cursor_open(txn, self->dirty, &cur);
    if (rc != 0)
        return rc;

    /* 1. The groups touched since they were last billed. */
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const char *e, *contract;
        int32_t day;
        if (key.mv_size < kl || memcmp(key.mv_data, k, kl) != 0)
            break;
        if (s_split_day_key(&key, &e, &contract, &day) != 0)
            continue;
        const s_terms_t *terms = s_terms(self, txn, &tc, contract, &rc);
        if (!terms)
            goto fail;
        long ti = inv_terms_in_force(terms->rows, terms->n, day);
        if (ti < 0)
            continue;   /* NO_TERMS: waits, listed as an exception */
        inv_period_t p;
        inv_period_of(pk, day, &p);
        if (!s_group_find_or_add(&gs, &p, contract, &terms->rows[ti])) {
            rc = ENOMEM;
            goto fail;
        }
    }
    if (rc != MDB_NOTFOUND && rc != 0)
        goto fail;
    mdb_cursor_close(cur);
    cur = NULL;
    rc = 0;
    if (gs.n == 0)
        goto fail;

    /* 2. Each group's sums now, what was billed, and its line. */
    idx = calloc(gs.n, sizeof *idx);
    periods = calloc(gs.n, sizeof *periods);
    if (!idx || !periods) {
        rc = ENOMEM;
        goto fail;
    }
    size_t n_periods = 0, n_adjust = 0;
    uint32_t adjust_max = 0;
    for (size_t i = 0; i < gs.n; i++) {
        s_group_t *g = &gs.g[i];
        const s_terms_t *terms = s_terms(self, txn, &tc, g->contract, &rc);
        if (!terms || (rc = s_group_walk(self, txn, emp->id, g, terms, 0)) != 0)
            goto fail;
        uint8_t gk[KEY_MAX];
        size_t gkl = s_group_key(gk, emp->id, g->period.key, g->contract, g->terms.effective_from);
        g->prior = s_get_msg(txn, self->groups, gk, gkl, &pay__stored_group__descriptor, &rc);
        if (rc != 0 && rc != MDB_NOTFOUND)
            goto fail;
        size_t pkl = s_k_u32(gk, s_k_str(gk, 0, emp->id), g->period.key);
        MDB_val pv;
        rc = store_get(txn, self->period_docs, gk, pkl, &pv);
        if (rc == 0) {
            g->billed_period = 1;
            snprintf(g->period_doc, sizeof g->period_doc, "%.*s", (int)pv.mv_size,
                     (const char *)pv.mv_data);
        } else if (rc != MDB_NOTFOUND) {
            goto fail;
        }
        rc = 0;
        int64_t pm = g->prior ? g->prior->minutes : 0, pu = g->prior ? g->prior->units : 0;
        int64_t pn = g->prior ? g->prior->net : 0;
        int64_t dm = g->minutes - pm, du = g->units - pu;
        int64_t net = inv_line_net(g->terms.basis, g->terms.charge, g->minutes, g->units) - pn;
        int empty = g->terms.basis == INV_BASIS_UNIT ? (du == 0 && net == 0)
                                                     : (dm == 0 && net == 0);
        inv_line_t *l = &g->line;
        memset(l, 0, sizeof *l);
        l->kind = !g->billed_period ? INV_LINE_PERIOD : g->prior ? INV_LINE_ADJUSTMENT : INV_LINE_LATE;
        snprintf(l->contract, sizeof l->contract, "%s", g->contract);
        snprintf(l->prison, sizeof l->prison, "%s", g->prison);
        snprintf(l->activity, sizeof l->activity, "%s", g->activity);
        snprintf(l->period, sizeof l->period, "%s", g->period.text);
        l->period_first = g->period.first;
        l->period_last = g->period.last;
        for (size_t ti = 0; ti < terms->n; ti++)
            if (terms->rows[ti].effective_from == g->terms.effective_from
                && inv_terms_span(terms->rows, terms->n, ti, &g->period, &l->start, &l->end) != 0)
                l->start = l->end = 0;   /* cannot happen: the group has days */
        if (l->kind == INV_LINE_ADJUSTMENT && g->prior->first_number)
            snprintf(l->ref_number, sizeof l->ref_number, "%s", g->prior->first_number);
        else if (l->kind == INV_LINE_LATE)
            snprintf(l->ref_number, sizeof l->ref_number, "%s", g->period_doc);
        l->basis = g->terms.basis;
        l->minutes = g->terms.basis == INV_BASIS_HOURLY ? dm : 0;
        l->units = g->terms.basis == INV_BASIS_UNIT ? du : 0;
        l->charge = g->terms.charge;
        l->vat_bp = g->terms.vat_bp;
        l->net = net;
        g->has_line = !empty;
        if (g->billed_period) {
            n_adjust++;
            if (g->period.key > adjust_max)
                adjust_max = g->period.key;
            continue;
        }
        int due = o->automatic ? inv_auto_issue_day(&g->period, o->auto_issue_days) <= o->issue_date
                               : g->period.last < o->issue_date;
        if (o->has_period && o->period.key != g->period.key)
            due = 0;
        g->eligible = due;
        if (due) {
            size_t j;
            for (j = 0; j < n_periods && periods[j] != g->period.key; j++)
                ;
            if (j == n_periods)
                periods[n_periods++] = g->period.key;
        }
    }
    qsort(periods, n_periods, sizeof *periods, s_cmp_period);

    /* 3. One document per due period, the adjustments on the first one;
     *    adjustments alone make a document only when asked for. */
    int adjustments_done = 0;
    for (size_t pi = 0; pi < n_periods; pi++) {
        size_t n = 0;
        inv_period_t period;
        inv_period_from_key(periods[pi], &period);
        for (size_t i = 0; i < gs.n; i++)
            if (gs.g[i].eligible && gs.g[i].period.key == periods[pi])
                idx[n++] = i;
        if (!adjustments_done)
            for (size_t i = 0; i < gs.n; i++)
                if (gs.g[i].billed_period)
                    idx[n++] = i;
        adjustments_done = 1;
        if ((rc = s_issue_doc(self, txn, o, emp, &gs, idx, n, &period, 1, &tc, out, n_out)) != 0)
            goto fail;
    }
    if (!adjustments_done && n_adjust > 0 && !o->automatic) {
        size_t n = 0;
        inv_period_t period;
        inv_period_from_key(adjust_max, &period);
        for (size_t i = 0; i < gs.n; i++)
            if (gs.g[i].billed_period)
                idx[n++] = i;
        if ((rc = s_issue_doc(self, txn, o, emp, &gs, idx, n, &period, 0, &tc, out, n_out)) != 0)
            goto fail;
    }
fail:
    if (cur)
        mdb_cursor_close(cur);
    for (size_t i = 0; i < gs.n; i++)
        S_FREE(gs.g[i].prior);
    free(gs.g);
    free(tc.items);
    free(idx);
    free(periods);
    return rc;
}

int inv_store_issue(inv_store_t *self, MDB_txn *txn, const inv_issue_opts_t *opts,
                    inv_issued_t **out, size_t *n_out)
{
    int rc = 0;
    if (opts->employer) {
        Pay__StoredEmployer *e = s_employer(self, txn, opts->employer, &rc);
        if (!e)
            return rc;
        rc = s_issue_employer(self, txn, opts, e, out, n_out);
        S_FREE(e);
        return rc;
    }
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    if ((rc = mdb_cursor_open(txn, self->employers, &cur)) != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Pay__StoredEmployer *e = pay__stored_employer__unpack(NULL, v.mv_size, v.mv_data);
        if (!e) {
            rc = MDB_CORRUPTED;
            break;
        }
        /* The cursor stays valid across the writes of other databases. */
        rc = s_issue_employer(self, txn, opts, e, out, n_out);
        S_FREE(e);
        if (rc != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- documents and payments ------------------------------------------------ */

Pay__StoredDocument *inv_store_get_doc(inv_store_t *self, MDB_txn *txn, const char *number,
                                       int *rc)
{
    return s_get_msg(txn, self->docs, number, strlen(number), &pay__stored_document__descriptor, rc);
}

static void s_party_out(inv_party_t *p, const Pay__StoredParty *sp)
{
    memset(p, 0, sizeof *p);
    if (!sp)
        return;
    snprintf(p->name, sizeof p->name, "%s", sp->name ? sp->name : "");
    snprintf(p->address, sizeof p->address, "%s", sp->address ? sp->address : "");
    snprintf(p->postcode, sizeof p->postcode, "%s", sp->postcode ? sp->postcode : "");
    snprintf(p->vat, sizeof p->vat, "%s", sp->vat ? sp->vat : "");
    snprintf(p->email, sizeof p->email, "%s", sp->email ? sp->email : "");
    snprintf(p->endpoint_scheme, sizeof p->endpoint_scheme, "%s",
             sp->endpoint_scheme ? sp->endpoint_scheme : "");
    snprintf(p->endpoint_id, sizeof p->endpoint_id, "%s", sp->endpoint_id ? sp->endpoint_id : "");
    snprintf(p->bank_account_name, sizeof p->bank_account_name, "%s",
             sp->bank_account_name ? sp->bank_account_name : "");
    snprintf(p->sort_code, sizeof p->sort_code, "%s", sp->sort_code ? sp->sort_code : "");
    snprintf(p->account_number, sizeof p->account_number, "%s",
             sp->account_number ? sp->account_number : "");
    snprintf(p->iban, sizeof p->iban, "%s", sp->iban ? sp->iban : "");
}

#define CP(dst, src) snprintf(dst, sizeof dst, "%s", (src) ? (src) : "")

void inv_store_doc_view(const Pay__StoredDocument *sd, inv_doc_t *doc, inv_line_t *lines)
{
    memset(doc, 0, sizeof *doc);
    doc->kind = (inv_kind_t)sd->kind;
    CP(doc->number, sd->number);
    CP(doc->employer, sd->employer);
    doc->issue_date = sd->issue_date;
    doc->tax_point = sd->tax_point;
    doc->due_date = sd->due_date;
    doc->terms_days = sd->terms_days;
    CP(doc->period, sd->period);
    doc->period_first = sd->period_first;
    doc->period_last = sd->period_last;
    s_party_out(&doc->supplier, sd->supplier);
    s_party_out(&doc->customer, sd->customer);
    for (size_t i = 0; i < sd->n_lines; i++) {
        const Pay__StoredLine *s = sd->lines[i];
        inv_line_t *l = &lines[i];
        memset(l, 0, sizeof *l);
        l->kind = (inv_line_kind_t)s->kind;
        CP(l->contract, s->contract);
        CP(l->prison, s->prison);
        CP(l->activity, s->activity);
        CP(l->period, s->period);
        l->period_first = s->period_first;
        l->period_last = s->period_last;
        l->start = s->has_start ? s->start : 0;
        l->end = s->has_end ? s->end : 0;
        CP(l->ref_number, s->ref_number);
        l->basis = (inv_basis_t)s->basis;
        l->minutes = s->minutes;
        l->units = s->units;
        l->charge = s->charge;
        l->vat_bp = s->vat_bp;
        l->net = s->net;
    }
    doc->lines = lines;
    doc->n_lines = sd->n_lines;
    inv_doc_finish(doc);
    doc->kind = (inv_kind_t)sd->kind;
}

int64_t inv_store_doc_outstanding(const Pay__StoredDocument *sd)
{
    if (sd->kind == INV_KIND_CREDIT_NOTE)
        return 0;
    int64_t left = sd->total - sd->paid - sd->allocated;
    return left > 0 ? left : 0;
}

Pay__PaymentStatus inv_store_doc_status(const Pay__StoredDocument *sd)
{
    if (sd->kind == INV_KIND_CREDIT_NOTE)
        return PAY__PAYMENT_STATUS__CREDIT;
    if (inv_store_doc_outstanding(sd) == 0)
        return sd->allocated > 0 ? PAY__PAYMENT_STATUS__CREDITED : PAY__PAYMENT_STATUS__PAID;
    return sd->paid > 0 || sd->allocated > 0 ? PAY__PAYMENT_STATUS__PART_PAID
                                              : PAY__PAYMENT_STATUS__ISSUED;
}

int inv_store_put_doc(inv_store_t *self, MDB_txn *txn, const Pay__StoredDocument *sd)
{
    return s_put_msg(txn, self->docs, sd->number, strlen(sd->number), &sd->base);
}

int inv_store_has_employer(inv_store_t *self, MDB_txn *txn, const char *id, int *rc)
{
    MDB_val v;
    *rc = store_get(txn, self->employers, id, strlen(id), &v);
    if (*rc == MDB_NOTFOUND) {
        *rc = 0;
        return 0;
    }
    return *rc == 0;
}

int inv_store_each_payment(inv_store_t *self, MDB_txn *txn, const char *number,
                           inv_payment_visit_fn *fn, void *arg)
{
    MDB_cursor *cur = NULL;
    uint8_t k[KEY_MAX];
    size_t kl = s_k_str(k, 0, number);
    MDB_val key = { kl, k }, val;
    int rc = kl ? mdb_cursor_open(txn, self->payments, &cur) : MDB_BAD_VALSIZE;
    if (rc != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != kl + 8 || memcmp(key.mv_data, k, kl) != 0)
            break;
        Pay__StoredPayment *p = pay__stored_payment__unpack(NULL, val.mv_size, val.mv_data);
        if (!p) {
            rc = MDB_CORRUPTED;
            break;
        }
        rc = fn(number, p, arg);
        pay__stored_payment__free_unpacked(p, NULL);
        if (rc != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

Pay__Status inv_store_record_payment(inv_store_t *self, MDB_txn *txn, const char *number,
                                     int64_t amount, int32_t date, const char *reference,
                                     char *msg, size_t msglen, int *rc)
{
    Pay__StoredDocument *sd = inv_store_get_doc(self, txn, number, rc);
    Pay__Status st = PAY__STATUS__OK;
    if (!sd) {
        if (*rc == MDB_NOTFOUND) {
            *rc = 0;
            snprintf(msg, msglen, "no document %s", number);
            return PAY__STATUS__NOT_FOUND;
        }
        return PAY__STATUS__INTERNAL;
    }
    if (sd->kind == INV_KIND_CREDIT_NOTE) {
        snprintf(msg, msglen, "number: %s is a credit note", number);
        st = PAY__STATUS__INVALID_ARGUMENT;
        goto done;
    }
    if (amount <= 0 || amount > inv_store_doc_outstanding(sd)) {
        snprintf(msg, msglen, "amount: must be above 0 and at most the outstanding %lld pence",
                 (long long)inv_store_doc_outstanding(sd));
        st = PAY__STATUS__INVALID_ARGUMENT;
        goto done;
    }
    sd->paid += amount;
    sd->has_paid = 1;
    if ((*rc = s_put_msg(txn, self->docs, number, strlen(number), &sd->base)) != 0)
        goto done;
    MDB_val v;
    uint64_t seq = 0;
    if (store_get(txn, self->counters, "PAY", 3, &v) == 0 && v.mv_size == 8)
        seq = store_be64_get(v.mv_data);
    uint8_t b[8], k[KEY_MAX];
    store_be64_put(b, ++seq);
    if ((*rc = store_put(txn, self->counters, "PAY", 3, b, 8, 0)) != 0)
        goto done;
    size_t kl = s_k_str(k, 0, number);
    memcpy(k + kl, b, 8);
    Pay__StoredPayment p = PAY__STORED_PAYMENT__INIT;
    p.has_amount = p.has_date = 1;
    p.amount = amount;
    p.date = date;
    p.reference = (char *)(reference ? reference : "");
    *rc = s_put_msg(txn, self->payments, k, kl + 8, &p.base);
    snprintf(msg, msglen, "payment of %lld pence recorded against %s", (long long)amount, number);
done:
    S_FREE(sd);
    return *rc ? PAY__STATUS__INTERNAL : st;
}

int inv_store_each_doc(inv_store_t *self, MDB_txn *txn, const char *employer,
                       inv_doc_visit_fn *fn, void *arg)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t pk[KEY_MAX];
    size_t pl = employer ? s_k_str(pk, 0, employer) : 0;
    int rc = mdb_cursor_open(txn, employer ? self->emp_docs : self->docs, &cur);
    if (rc != 0)
        return rc;
    k.mv_size = pl;
    k.mv_data = pk;
    rc = employer ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Pay__StoredDocument *sd;
        if (employer) {
            if (k.mv_size <= pl || memcmp(k.mv_data, pk, pl) != 0)
                break;
            char num[INV_NUMBER_LEN];
            snprintf(num, sizeof num, "%.*s", (int)(k.mv_size - pl - 1), (char *)k.mv_data + pl);
            int rc2;
            sd = inv_store_get_doc(self, txn, num, &rc2);
            if (!sd) {
                rc = rc2;
                break;
            }
        } else {
            sd = pay__stored_document__unpack(NULL, v.mv_size, v.mv_data);
            if (!sd) {
                rc = MDB_CORRUPTED;
                break;
            }
        }
        rc = fn(sd, arg);
        S_FREE(sd);
        if (rc != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- reconciliation, exceptions, health ------------------------------------ */

int inv_store_reconcile(inv_store_t *self, MDB_txn *txn, const char *prison, const char *week,
                        inv_recon_t **out, size_t *n_out)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    civil_week_t wf = { 0, 0 };
    uint32_t wkey = 0;
    if (week && week[0]) {
        if (civil_parse_week(week, &wf) != 0)
            return EINVAL;
        wkey = civil_week_key(wf);
    }
    int rc = mdb_cursor_open(txn, self->days, &cur);
    if (rc != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *e, *c;
        int32_t day;
        if (s_split_day_key(&k, &e, &c, &day) != 0)
            continue;
        uint32_t wk = civil_week_key(civil_iso_week(day));
        if (wkey && wk != wkey)
            continue;
        Pay__StoredDay *d = pay__stored_day__unpack(NULL, v.mv_size, v.mv_data);
        if (!d) {
            rc = MDB_CORRUPTED;
            break;
        }
        const char *pr = d->prison ? d->prison : "";
        if (!prison || !prison[0] || strcmp(prison, pr) == 0) {
            size_t i;
            for (i = 0; i < *n_out; i++)
                if ((*out)[i].week_key == wk && strcmp((*out)[i].prison, pr) == 0)
                    break;
            if (i == *n_out) {
                inv_recon_t *g = realloc(*out, (*n_out + 1) * sizeof *g);
                if (!g) {
                    S_FREE(d);
                    rc = ENOMEM;
                    break;
                }
                *out = g;
                memset(&g[i], 0, sizeof g[i]);
                snprintf(g[i].prison, sizeof g[i].prison, "%s", pr);
                g[i].week_key = wk;
                (*n_out)++;
            }
            (*out)[i].billable += d->minutes;
            (*out)[i].invoiced += d->minutes_invoiced;
            (*out)[i].pending += d->minutes - d->minutes_invoiced;
        }
        S_FREE(d);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int inv_store_no_terms(inv_store_t *self, MDB_txn *txn, inv_no_terms_t **out, size_t *n_out)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    s_terms_cache_t tc = { 0 };
    int rc = mdb_cursor_open(txn, self->dirty, &cur);
    if (rc != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *e, *c;
        int32_t day;
        if (s_split_day_key(&k, &e, &c, &day) != 0)
            continue;
        const s_terms_t *t = s_terms(self, txn, &tc, c, &rc);
        if (!t)
            break;
        if (inv_terms_in_force(t->rows, t->n, day) >= 0)
            continue;
        int rc2;
        Pay__StoredDay *d = s_get_msg(txn, self->days, k.mv_data, k.mv_size,
                                      &pay__stored_day__descriptor, &rc2);
        if (!d)
            continue;
        if (d->minutes - d->minutes_invoiced != 0 || d->units - d->units_invoiced != 0) {
            inv_no_terms_t *g = realloc(*out, (*n_out + 1) * sizeof *g);
            if (!g) {
                S_FREE(d);
                rc = ENOMEM;
                break;
            }
            *out = g;
            inv_no_terms_t *r = &g[(*n_out)++];
            memset(r, 0, sizeof *r);
            snprintf(r->employer, sizeof r->employer, "%s", e);
            snprintf(r->contract, sizeof r->contract, "%s", c);
            snprintf(r->prison, sizeof r->prison, "%s", d->prison ? d->prison : "");
            r->day = day;
            r->minutes = d->minutes - d->minutes_invoiced;
            r->units = d->units - d->units_invoiced;
        }
        S_FREE(d);
    }
    mdb_cursor_close(cur);
    free(tc.items);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int inv_store_health(inv_store_t *self, MDB_txn *txn, uint64_t *cursor, uint64_t *documents,
                     uint64_t *outbox_head)
{
    MDB_stat st;
    int rc = feed_cursor_read(txn, self->cursors, INV_FEED_NAME, cursor);
    if (rc == 0)
        rc = mdb_stat(txn, self->docs, &st);
    if (rc == 0)
        *documents = st.ms_entries;
    if (rc == 0)
        rc = feed_outbox_head(txn, self->outbox, outbox_head);
    return rc;
}

/* ---- pending billable lines ------------------------------------------------ */

static int s_cmp_pending(const void *a, const void *b)
{
    const inv_pending_t *x = a, *y = b;
    int c = strcmp(x->employer, y->employer);
    if (c == 0)
        c = strcmp(x->contract, y->contract);
    if (c == 0)
        c = x->period_key < y->period_key ? -1 : x->period_key > y->period_key;
    if (c == 0)
        c = x->terms_from < y->terms_from ? -1 : x->terms_from > y->terms_from;
    return c;
}

int inv_store_pending(inv_store_t *self, MDB_txn *txn, const char *employer,
                      inv_pending_t **out, size_t *n_out)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    s_terms_cache_t tc = { 0 };
    uint8_t pk[KEY_MAX];
    size_t pl = employer ? s_k_str(pk, 0, employer) : 0;
    char emp_id[40] = "";
    uint32_t emp_kind = 0;
    int rc = mdb_cursor_open(txn, self->dirty, &cur);
    if (rc != 0)
        return rc;
    k.mv_size = pl;
    k.mv_data = pk;
    rc = employer ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *e, *c;
        int32_t day;
        if (employer && (k.mv_size < pl || memcmp(k.mv_data, pk, pl) != 0))
            break;
        if (s_split_day_key(&k, &e, &c, &day) != 0)
            continue;
        if (strcmp(e, emp_id) != 0) {
            int rc2;
            Pay__StoredEmployer *se = s_employer(self, txn, e, &rc2);
            if (!se && rc2 != MDB_NOTFOUND) {
                rc = rc2;
                break;
            }
            snprintf(emp_id, sizeof emp_id, "%s", e);
            emp_kind = se ? se->period_kind : 0;
            S_FREE(se);
        }
        inv_period_t period;
        if (inv_period_of((inv_period_kind_t)emp_kind, day, &period) != 0)
            continue;   /* an employer not (yet) registered: nothing can bill it */
        int rc2;
        Pay__StoredDay *d = s_get_msg(txn, self->days, k.mv_data, k.mv_size,
                                      &pay__stored_day__descriptor, &rc2);
        if (!d) {
            if (rc2 != MDB_NOTFOUND) {
                rc = rc2;
                break;
            }
            continue;
        }
        int64_t dm = d->minutes - d->minutes_invoiced, du = d->units - d->units_invoiced;
        S_FREE(d);
        if (dm == 0 && du == 0)
            continue;
        const s_terms_t *t = s_terms(self, txn, &tc, c, &rc);
        if (!t)
            break;
        long ti = inv_terms_in_force(t->rows, t->n, day);
        int32_t from = ti < 0 ? -1 : t->rows[ti].effective_from;
        size_t i;
        for (i = 0; i < *n_out; i++) {
            inv_pending_t *p = &(*out)[i];
            if (p->period_key == period.key && p->terms_from == from
                && strcmp(p->contract, c) == 0 && strcmp(p->employer, e) == 0)
                break;
        }
        if (i == *n_out) {
            inv_pending_t *g = realloc(*out, (*n_out + 1) * sizeof *g);
            if (!g) {
                rc = ENOMEM;
                break;
            }
            *out = g;
            inv_pending_t *p = &g[(*n_out)++];
            memset(p, 0, sizeof *p);
            snprintf(p->employer, sizeof p->employer, "%s", e);
            snprintf(p->contract, sizeof p->contract, "%s", c);
            snprintf(p->period, sizeof p->period, "%s", period.text);
            p->period_key = period.key;
            p->terms_from = from;
            p->no_terms = ti < 0;
            p->first = period.first;
            p->last = period.last;
            if (ti >= 0) {
                inv_terms_span(t->rows, t->n, (size_t)ti, &period, &p->first, &p->last);
            } else {
                /* NO_TERMS days lie before the first row that takes effect. */
                for (size_t j = 0; j < t->n; j++)
                    if (t->rows[j].effective_from > day && t->rows[j].effective_from - 1 < p->last)
                        p->last = t->rows[j].effective_from - 1;
            }
        }
        (*out)[i].minutes += dm;
        (*out)[i].units += du;
    }
    mdb_cursor_close(cur);
    free(tc.items);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && *n_out > 1)
        qsort(*out, *n_out, sizeof **out, s_cmp_pending);
    return rc;
}
