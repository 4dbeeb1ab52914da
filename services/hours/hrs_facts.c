/* hrs_facts: see hrs_facts.h. */
#include "hrs_facts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "feed.h"
#include "hours_feed.pb-c.h"

static uint8_t *s_pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(*len ? *len : 1);
    if (b)
        protobuf_c_message_pack(m, b);
    return b;
}

static int s_prison(hrs_store_t *st, MDB_txn *txn, const char *code, uint8_t **out, size_t *len)
{
    hrs_prison_t *p = malloc(sizeof *p);
    if (!p)
        return ENOMEM;
    int rc = hrs_store_get_prison(st, txn, code, p);
    if (rc == 0) {
        Pay__PrisonFacts f = PAY__PRISON_FACTS__INIT;
        f.code = p->code;
        f.name = p->name;
        f.regime = (char *)hrs_regime_name(p->regime);
        if (!(*out = s_pack(&f.base, len)))
            rc = ENOMEM;
    }
    free(p);
    return rc;
}

/* The transfers of one prisoner, gathered for PrisonerFacts. */
typedef struct {
    Pay__CustodyTransfer *items;
    Pay__CustodyTransfer **ptrs;
    char (*dates)[CIVIL_DATE_LEN];
    char (*prisons)[HRS_PRISON_LEN];
    size_t n, cap;
} s_transfers_t;

static int s_add_transfer(int32_t from, const char prison[HRS_PRISON_LEN], void *arg)
{
    s_transfers_t *t = arg;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        void *a = realloc(t->items, cap * sizeof *t->items);
        if (a)
            t->items = a;
        void *b = realloc(t->dates, cap * sizeof *t->dates);
        if (b)
            t->dates = b;
        void *c = realloc(t->prisons, cap * sizeof *t->prisons);
        if (c)
            t->prisons = c;
        if (!a || !b || !c)
            return ENOMEM;
        t->cap = cap;
    }
    civil_format_date(from, t->dates[t->n]);
    memcpy(t->prisons[t->n], prison, HRS_PRISON_LEN);
    t->n++;
    return 0;
}

static int s_prisoner(hrs_store_t *st, MDB_txn *txn, const char *number, uint8_t **out,
                      size_t *len)
{
    hrs_prisoner_t p;
    s_transfers_t t = {0};
    char released[CIVIL_DATE_LEN];
    int rc = hrs_store_get_prisoner(st, txn, number, &p);
    if (rc != 0)
        return rc;
    if ((rc = hrs_store_each_transfer(st, txn, number, s_add_transfer, &t)) != 0)
        goto done;
    if (t.n && !(t.ptrs = calloc(t.n, sizeof *t.ptrs))) {
        rc = ENOMEM;
        goto done;
    }
    /* The arrays may have moved while growing: point into them now. */
    for (size_t i = 0; i < t.n; i++) {
        pay__custody_transfer__init(&t.items[i]);
        t.items[i].effective_from = t.dates[i];
        t.items[i].prison = t.prisons[i];
        t.ptrs[i] = &t.items[i];
    }
    Pay__PrisonerFacts f = PAY__PRISONER_FACTS__INIT;
    f.number = p.number;
    f.prison = p.prison;
    f.n_transfers = t.n;
    f.transfers = t.ptrs;
    if (p.released_on != HRS_NO_DATE) {
        civil_format_date(p.released_on, released);
        f.released_on = released;
    }
    if (!(*out = s_pack(&f.base, len)))
        rc = ENOMEM;
done:
    free(t.items);
    free(t.ptrs);
    free(t.dates);
    free(t.prisons);
    return rc;
}

static int s_contract(hrs_store_t *st, MDB_txn *txn, const char *id, uint8_t **out, size_t *len)
{
    char start[CIVIL_DATE_LEN], end[CIVIL_DATE_LEN];
    hrs_contract_t *k = malloc(sizeof *k);
    if (!k)
        return ENOMEM;
    int rc = hrs_store_get_contract(st, txn, id, k);
    if (rc == 0) {
        Pay__ContractFacts f = PAY__CONTRACT_FACTS__INIT;
        f.id = k->id;
        f.employer = k->employer;
        f.prison = k->prison;
        f.has_work_type = 1;
        f.work_type = k->work_type;
        f.activity = k->activity;
        civil_format_date(k->start, start);
        f.start = start;
        if (k->end != HRS_NO_DATE) {
            civil_format_date(k->end, end);
            f.end = end;
        }
        if (!(*out = s_pack(&f.base, len)))
            rc = ENOMEM;
    }
    free(k);
    return rc;
}

int hrs_facts_pack(hrs_store_t *store, MDB_txn *txn, hrs_facts_kind_t kind, const char *key,
                   uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int rc = kind == HRS_FACTS_PRISON     ? s_prison(store, txn, key, out, len)
             : kind == HRS_FACTS_PRISONER ? s_prisoner(store, txn, key, out, len)
                                          : s_contract(store, txn, key, out, len);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int hrs_facts_publish(hrs_store_t *store, MDB_txn *txn, hrs_facts_kind_t kind,
                      const uint8_t *before, size_t blen, const uint8_t *after, size_t alen,
                      uint64_t at, int *emitted)
{
    *emitted = 0;
    if (!after || (before && blen == alen && memcmp(before, after, alen) == 0))
        return 0;   /* unchanged: nothing to tell */
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    ProtobufCMessage *m = NULL;
    ev.has_at = 1;
    ev.at = at;
    switch (kind) {
    case HRS_FACTS_PRISON:
        m = (ProtobufCMessage *)pay__prison_facts__unpack(NULL, alen, after);
        ev.kind_case = PAY__HOURS_EVENT__KIND_PRISON;
        ev.prison = (Pay__PrisonFacts *)m;
        break;
    case HRS_FACTS_PRISONER:
        m = (ProtobufCMessage *)pay__prisoner_facts__unpack(NULL, alen, after);
        ev.kind_case = PAY__HOURS_EVENT__KIND_PRISONER;
        ev.prisoner = (Pay__PrisonerFacts *)m;
        break;
    default:
        m = (ProtobufCMessage *)pay__contract_facts__unpack(NULL, alen, after);
        ev.kind_case = PAY__HOURS_EVENT__KIND_CONTRACT;
        ev.contract = (Pay__ContractFacts *)m;
        break;
    }
    if (!m)
        return ENOMEM;
    size_t len;
    uint8_t *buf = s_pack(&ev.base, &len);
    protobuf_c_message_free_unpacked(m, NULL);
    if (!buf)
        return ENOMEM;
    int rc = feed_outbox_append(txn, hrs_store_outbox_dbi(store), buf, len, NULL);
    free(buf);
    if (rc == 0)
        *emitted = 1;
    return rc;
}

typedef struct {
    hrs_store_t *store;
    MDB_txn *txn;
    hrs_facts_kind_t kind;
    uint64_t at;
    size_t published;
} s_catch_up_t;

static int s_publish_one(const char *key, void *arg)
{
    s_catch_up_t *c = arg;
    uint8_t *after = NULL;
    size_t alen = 0;
    int emitted = 0;
    int rc = hrs_facts_pack(c->store, c->txn, c->kind, key, &after, &alen);
    if (rc == 0)
        rc = hrs_facts_publish(c->store, c->txn, c->kind, NULL, 0, after, alen, c->at, &emitted);
    free(after);
    c->published += (size_t)emitted;
    return rc;
}

static int s_catch_up_txn(MDB_txn *txn, void *arg)
{
    s_catch_up_t *c = arg;
    bool pending = false;
    c->txn = txn;
    c->published = 0;   /* the body may run again after the map grows */
    int rc = hrs_store_facts_pending(c->store, txn, true, &pending);
    if (rc != 0 || !pending)
        return rc;
    static const hrs_store_entity_t order[] = {HRS_ENTITY_PRISON, HRS_ENTITY_PRISONER,
                                               HRS_ENTITY_CONTRACT};
    static const hrs_facts_kind_t kinds[] = {HRS_FACTS_PRISON, HRS_FACTS_PRISONER,
                                             HRS_FACTS_CONTRACT};
    for (int i = 0; rc == 0 && i < 3; i++) {
        c->kind = kinds[i];
        rc = hrs_store_each_key(c->store, txn, order[i], s_publish_one, c);
    }
    return rc;
}

int hrs_facts_catch_up(hrs_store_t *store, size_t *published)
{
    s_catch_up_t c = {store, NULL, HRS_FACTS_PRISON, (uint64_t)time(NULL), 0};
    int rc = store_write(hrs_store_store(store), s_catch_up_txn, &c);
    if (published)
        *published = rc == 0 ? c.published : 0;
    return rc;
}
