/* hrs_service: see hrs_service.h.
 *
 * Every handler follows the same shape: gate the caller's role for the
 * request as a whole, then for each row or record parse (INVALID_ARGUMENT),
 * look the facts up, ask hrs_rules for the verdict, and only then write the
 * change and its event. Nothing is written for a refused row, so a handler
 * never needs to undo anything; an LMDB error aborts the whole request. */
#include "backup.h"
#include "hrs_service.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "clock.h"
#include "feed_quarantine.h"
#include "hrs_facts.h"
#include "hrs_invfeed.h"
#include "log.h"
#include "money.h"

#define S_CHUNK (64 * 1024)
#define S_EVENT_MAX 16384
#define S_LIST_MAX 5000
#define S_PAGE_DEFAULT 100
#define S_PAGE_MAX 1000
/* Rows per batch request: bounds the work of one request and the size of
 * its reply (an ItemResult per row must fit the client's frame limit). */
#define S_BATCH_MAX 10000

/* ---- a per-call arena for the reply ------------------------------------- */

typedef struct s_chunk_t {
    struct s_chunk_t *next;
    size_t size, used;
    max_align_t data[];
} s_chunk_t;

struct hrs_service_t {
    hrs_store_t *store;
    feed_producer_t *feed;
    feed_consumer_t *invoices;   /* the invoice feed's consumer, or NULL */
    backup_t *backup;
    const Pay__HoursBackup *backup_req;   /* checked, for hrs_service_handle */
    server_t *server;
    s_chunk_t *chunks;
    ProtobufCAllocator pa;   /* over the arena, for unpacking into replies */
    uint64_t accepted, rejected;
    struct s_lookup_t *lookup;   /* scratch of s_submit, kept between calls */
    const auth_identity_t *caller;
    MDB_txn *txn;
    Pay__HoursReply reply;
};

static void *s_alloc(hrs_service_t *self, size_t n)
{
    const size_t align = sizeof(max_align_t);
    n = (n + align - 1) / align * align;
    s_chunk_t *c = self->chunks;
    if (!c || c->size - c->used < n) {
        size_t size = n > S_CHUNK ? n : S_CHUNK;
        c = malloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = self->chunks;
        self->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

static void *s_pa_alloc(void *data, size_t n)
{
    return s_alloc(data, n);
}

static void s_pa_free(void *data, void *p)
{
    (void)data;
    (void)p;   /* released with the arena */
}

/* Empties the arena, keeping one standard chunk for the next call: most
 * replies fit in it, so a request costs no malloc here. */
static void s_reset(hrs_service_t *self)
{
    s_chunk_t *keep = NULL;
    while (self->chunks) {
        s_chunk_t *next = self->chunks->next;
        if (!keep && self->chunks->size == S_CHUNK) {
            keep = self->chunks;
            keep->used = 0;
            keep->next = NULL;
        } else {
            free(self->chunks);
        }
        self->chunks = next;
    }
    self->chunks = keep;
}

static void s_release(hrs_service_t *self)
{
    while (self->chunks) {
        s_chunk_t *next = self->chunks->next;
        free(self->chunks);
        self->chunks = next;
    }
}

static char *s_strdup(hrs_service_t *self, const char *s)
{
    size_t n = strlen(s);
    char *p = s_alloc(self, n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

hrs_service_t *hrs_service_new(hrs_store_t *store)
{
    hrs_service_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->pa.alloc = s_pa_alloc;
    self->pa.free = s_pa_free;
    self->pa.allocator_data = self;
    return self;
}

void hrs_service_destroy(hrs_service_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_release(*self_p);
    free((*self_p)->lookup);
    free(*self_p);
    *self_p = NULL;
}

void hrs_service_set_consumer(hrs_service_t *self, feed_consumer_t *invoices)
{
    self->invoices = invoices;
}

void hrs_service_set_backup(hrs_service_t *self, backup_t *backup)
{
    self->backup = backup;
}

void hrs_service_set_feed(hrs_service_t *self, feed_producer_t *feed)
{
    self->feed = feed;
}

void hrs_service_counts(hrs_service_t *self, uint64_t *accepted, uint64_t *rejected)
{
    *accepted = self->accepted;
    *rejected = self->rejected;
}

/* ---- reply helpers ------------------------------------------------------ */

static void s_status(hrs_service_t *self, Pay__Status st, const char *msg)
{
    self->reply.has_status = 1;
    self->reply.status = st;
    self->reply.message = s_strdup(self, msg);
}

static void s_statusf(hrs_service_t *self, Pay__Status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_statusf(hrs_service_t *self, Pay__Status st, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s_status(self, st, buf);
}

static int s_items(hrs_service_t *self, size_t n)
{
    self->reply.n_items = n;
    if (n == 0)
        return 0;
    self->reply.items = s_alloc(self, n * sizeof *self->reply.items);
    Pay__ItemResult *items = s_alloc(self, n * sizeof *items);
    if (!self->reply.items || !items)
        return ENOMEM;
    for (size_t i = 0; i < n; i++) {
        pay__item_result__init(&items[i]);
        items[i].has_index = 1;
        items[i].index = (uint32_t)i;
        self->reply.items[i] = &items[i];
    }
    return 0;
}

/* A key is echoed only when it is printable text: it names the row for
 * the caller but must not carry a malformed cell back. */
static void s_item(hrs_service_t *self, size_t i, const hrs_verdict_t *v, const char *key)
{
    Pay__ItemResult *it = self->reply.items[i];
    it->has_status = 1;
    it->status = v->status;
    it->message = s_strdup(self, v->message);
    if (key && ident_is_text(key, HRS_TEXT_CHARS))
        it->key = s_strdup(self, key);
}

/* Answers every row of a batch with the same refusal. */
static int s_refuse_all(hrs_service_t *self, size_t n, Pay__Status st, const char *msg)
{
    int rc = s_items(self, n);
    if (rc != 0)
        return rc;
    hrs_verdict_t v = {.status = st};
    snprintf(v.message, sizeof v.message, "%s", msg);
    for (size_t i = 0; i < n; i++)
        s_item(self, i, &v, NULL);
    s_status(self, st, msg);
    return 0;
}

static void s_batch_summary(hrs_service_t *self, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += self->reply.items[i]->status == PAY__STATUS__OK;
    s_statusf(self, PAY__STATUS__OK, "%zu of %zu accepted", ok, n);
}

static bool s_nobody(const auth_identity_t *c)
{
    return c->role == ROLE_NONE || c->role == ROLE_EMPLOYER;
}

/* May this caller read the data of `prison`? */
static bool s_may_read(const auth_identity_t *c, const char *prison)
{
    switch (c->role) {
    case ROLE_FINANCE:
    case ROLE_SERVICE:
        return true;
    case ROLE_INSTRUCTOR:
    case ROLE_GOVERNOR:
        return prison && strcmp(c->scope, prison) == 0;
    default:
        return false;
    }
}

static hrs_caller_t s_caller(const auth_identity_t *c)
{
    hrs_caller_t hc = {c->role, c->scope};
    return hc;
}

/* ---- events ------------------------------------------------------------- */

static int s_emit_seq(hrs_service_t *self, Pay__HoursEvent *ev, uint64_t *seq)
{
    uint8_t buf[S_EVENT_MAX];
    ev->has_at = 1;
    ev->at = (uint64_t)clock_unix_now();
    size_t len = pay__hours_event__get_packed_size(ev);
    if (len > sizeof buf)
        return MDB_BAD_VALSIZE;
    pay__hours_event__pack(ev, buf);
    return feed_outbox_append(self->txn, hrs_store_outbox_dbi(self->store), buf, len, seq);
}

static int s_emit(hrs_service_t *self, Pay__HoursEvent *ev)
{
    return s_emit_seq(self, ev, NULL);
}

/* Reference facts: the entity is packed before a row is stored
 * (s_facts_before) and after (s_facts_after), which publishes it on the
 * feed if it changed (hrs_facts.h). s_facts_after frees `before`. */
static int s_facts_before(hrs_service_t *self, hrs_facts_kind_t kind, const char *key,
                          uint8_t **before, size_t *blen)
{
    return hrs_facts_pack(self->store, self->txn, kind, key, before, blen);
}

static int s_facts_after(hrs_service_t *self, hrs_facts_kind_t kind, const char *key,
                         uint8_t *before, size_t blen)
{
    uint8_t *after = NULL;
    size_t alen = 0;
    int emitted = 0;
    int rc = hrs_facts_pack(self->store, self->txn, kind, key, &after, &alen);
    if (rc == 0)
        rc = hrs_facts_publish(self->store, self->txn, kind, before, blen, after, alen,
                               (uint64_t)clock_unix_now(), &emitted);
    free(before);
    free(after);
    return rc;
}

/* A view of a stored record, copied into the arena for the reply. */
static Pay__HoursRecordView *s_view(hrs_service_t *self, const hrs_stored_t *s)
{
    hrs_stored_t *copy = s_alloc(self, sizeof *copy);
    Pay__HoursRecordView *v = s_alloc(self, sizeof *v);
    Pay__RecordState *st = s_alloc(self, sizeof *st);
    char *date = s_alloc(self, CIVIL_DATE_LEN), *week = s_alloc(self, CIVIL_WEEK_LEN);
    if (!copy || !v || !st || !date || !week)
        return NULL;
    *copy = *s;
    pay__hours_record_view__init(v);
    hrs_store_state(copy, st, date, week);
    v->state = st;
    v->has_voided = 1;
    v->voided = copy->voided;
    v->has_amendments = 1;
    v->amendments = copy->amendments;
    v->recorded_by = copy->recorded_by;
    v->has_recorded_at = 1;
    v->recorded_at = copy->recorded_at;
    return v;
}

/* ---- capturing hours ---------------------------------------------------- */

/* Lookups remembered for the length of one submit request: a batch
 * names few contracts, prisons and weeks, and each prisoner for several
 * sessions and days. Reference data cannot change inside a submit, so the
 * cache is exact; it is dropped at the end of the request. Each table is
 * small and searched linearly; when full, entries are replaced in turn. */
#define S_CACHE_CONTRACTS 16
#define S_CACHE_PRISONERS 32
#define S_CACHE_POLICIES 32

typedef struct {
    struct {
        bool exists;
        hrs_contract_t k;
    } contract[S_CACHE_CONTRACTS];
    int n_contract, next_contract;
    struct {
        bool exists;
        hrs_prisoner_t p;
        int32_t date;                  /* custody and level are for this date */
        char custody[HRS_PRISON_LEN];
        Pay__IncentiveLevel level;
    } prisoner[S_CACHE_PRISONERS];
    int n_prisoner, next_prisoner;
    struct {
        char prison[HRS_PRISON_LEN];
        int32_t date;
        hrs_policy_t policy;
        bool closed;                   /* the pay week of `date` */
    } policy[S_CACHE_POLICIES];
    int n_policy, next_policy;
} s_cache_t;

/* Slot `i` of a table of `size` entries for a new entry. */
static int s_cache_slot(int *n, int *next, int size)
{
    if (*n < size)
        return (*n)++;
    int i = *next;
    *next = (*next + 1) % size;
    return i;
}

static int s_cached_contract(hrs_service_t *self, s_cache_t *c, const char *id,
                             const hrs_contract_t **out)
{
    for (int i = 0; i < c->n_contract; i++) {
        if (strcmp(c->contract[i].k.id, id) == 0) {
            *out = c->contract[i].exists ? &c->contract[i].k : NULL;
            return 0;
        }
    }
    int i = s_cache_slot(&c->n_contract, &c->next_contract, S_CACHE_CONTRACTS);
    int rc = hrs_store_get_contract(self->store, self->txn, id, &c->contract[i].k);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        c->n_contract = c->next_contract = 0;   /* the slot is half-written */
        return rc;
    }
    c->contract[i].exists = rc == 0;
    snprintf(c->contract[i].k.id, sizeof c->contract[i].k.id, "%s", id);
    *out = rc == 0 ? &c->contract[i].k : NULL;
    return 0;
}

/* The prisoner row and, for `date`, their custody and level. *idx is -1
 * for an unknown prisoner. */
static int s_cached_prisoner(hrs_service_t *self, s_cache_t *c, const char *number,
                             int32_t date, int *idx)
{
    int i = 0, rc;
    while (i < c->n_prisoner && strcmp(c->prisoner[i].p.number, number) != 0)
        i++;
    if (i == c->n_prisoner) {
        i = s_cache_slot(&c->n_prisoner, &c->next_prisoner, S_CACHE_PRISONERS);
        rc = hrs_store_get_prisoner(self->store, self->txn, number, &c->prisoner[i].p);
        if (rc != 0 && rc != MDB_NOTFOUND)
            goto fail;
        c->prisoner[i].exists = rc == 0;
        snprintf(c->prisoner[i].p.number, sizeof c->prisoner[i].p.number, "%s", number);
        c->prisoner[i].date = HRS_NO_DATE;
    }
    if (!c->prisoner[i].exists) {
        *idx = -1;
        return 0;
    }
    if (c->prisoner[i].date != date) {
        c->prisoner[i].date = HRS_NO_DATE;
        if ((rc = hrs_store_custody_on(self->store, self->txn, &c->prisoner[i].p, date,
                                       c->prisoner[i].custody)) != 0 ||
            (rc = hrs_store_level_on(self->store, self->txn, &c->prisoner[i].p, date,
                                     &c->prisoner[i].level)) != 0)
            goto fail;
        c->prisoner[i].date = date;
    }
    *idx = i;
    return 0;
fail:
    c->n_prisoner = c->next_prisoner = 0;
    return rc;
}

/* The policy of `prison` on `date`, and whether its pay week is closed. */
static int s_cached_policy(hrs_service_t *self, s_cache_t *c, const char *prison, int32_t date,
                           hrs_policy_t *policy, bool *closed)
{
    int i = 0, rc;
    while (i < c->n_policy &&
           (c->policy[i].date != date || strcmp(c->policy[i].prison, prison) != 0))
        i++;
    if (i == c->n_policy) {
        i = s_cache_slot(&c->n_policy, &c->next_policy, S_CACHE_POLICIES);
        if ((rc = hrs_store_policy_on(self->store, self->txn, prison, date,
                                      &c->policy[i].policy)) != 0 ||
            (rc = hrs_store_week_closed(self->store, self->txn, prison, date,
                                        &c->policy[i].closed)) != 0) {
            c->n_policy = c->next_policy = 0;
            return rc;
        }
        memcpy(c->policy[i].prison, prison, sizeof c->policy[i].prison);
        c->policy[i].date = date;
    }
    *policy = c->policy[i].policy;
    if (closed)
        *closed = c->policy[i].closed;
    return 0;
}

/* Everything looked up for one record: the facts, and what they came from. */
typedef struct s_lookup_t {
    hrs_capture_facts_t f;
    hrs_stored_t existing;
    const hrs_contract_t *contract;   /* into the cache */
    s_cache_t cache;
} s_lookup_t;

static int s_lookup(hrs_service_t *self, const hrs_record_t *rec, s_lookup_t *l)
{
    hrs_store_t *st = self->store;
    MDB_txn *txn = self->txn;
    hrs_capture_facts_t *f = &l->f;
    int rc, pi;

    memset(f, 0, sizeof *f);
    f->rec = rec;
    f->today = clock_today();
    f->role = self->caller->role;
    f->scope = self->caller->scope;
    f->policy = f->policy_today = hrs_rules_policy_default();
    l->contract = NULL;

    rc = hrs_store_get_record(st, txn, rec->record_id, &l->existing);
    if (rc == 0) {
        f->existing = &l->existing.first;
        return 0;   /* check 2 decides */
    }
    if (rc != MDB_NOTFOUND)
        return rc;

    if ((rc = s_cached_prisoner(self, &l->cache, rec->prisoner, rec->date, &pi)) != 0)
        return rc;
    if (pi < 0)
        return 0;   /* check 3 decides */
    f->prisoner.exists = true;
    f->prisoner.released_on = l->cache.prisoner[pi].p.released_on;
    f->prisoner.cleared_on = l->cache.prisoner[pi].p.cleared_on;
    f->prisoner.level = l->cache.prisoner[pi].level;
    memcpy(f->prisoner.custody, l->cache.prisoner[pi].custody, sizeof f->prisoner.custody);

    if ((rc = s_cached_contract(self, &l->cache, rec->contract, &l->contract)) != 0)
        return rc;
    if (!l->contract)
        return 0;   /* check 4 decides */
    const hrs_contract_t *k = l->contract;
    hrs_contract_facts_t *c = &f->contract;
    c->exists = true;
    memcpy(c->prison, k->prison, sizeof c->prison);
    memcpy(c->employer, k->employer, sizeof c->employer);
    c->work_type = k->work_type;
    c->start = k->start;
    c->end = k->end;
    c->attested = k->attested;
    c->public_contact = k->public_contact;

    if ((rc = hrs_store_allocation_on(st, txn, rec->prisoner, rec->contract, rec->date,
                                      &f->allocated, &f->pay_band)) != 0)
        return rc;

    hrs_week_facts_t w;
    if ((rc = hrs_store_week_facts(st, txn, rec->prisoner, rec->date, rec->session, NULL, &w)) != 0)
        return rc;
    f->clash = w.clash;
    memcpy(f->clash_id, w.clash_id, sizeof f->clash_id);
    f->day_minutes = w.day_minutes;
    f->week_minutes = w.week_minutes;
    if ((rc = s_cached_policy(self, &l->cache, c->prison, rec->date, &f->policy,
                              &f->week_closed)) != 0)
        return rc;
    return s_cached_policy(self, &l->cache, c->prison, f->today, &f->policy_today, NULL);
}

static int s_accept(hrs_service_t *self, s_lookup_t *l, const hrs_record_t *rec,
                    hrs_tally_t *tally)
{
    hrs_stored_t *s = &l->existing;   /* free: this record had no stored twin */
    const hrs_contract_t *k = l->contract;
    int rc;
    s->rec = *rec;
    s->first = *rec;
    memcpy(s->prison, k->prison, sizeof s->prison);
    memcpy(s->employer, k->employer, sizeof s->employer);
    memcpy(s->activity, k->activity, sizeof s->activity);
    s->work_type = k->work_type;
    s->pay_band = l->f.pay_band;
    s->level = l->f.prisoner.level;
    s->voided = false;
    s->amendments = 0;
    memcpy(s->recorded_by, self->caller->name, sizeof s->recorded_by);
    s->recorded_by[sizeof s->recorded_by - 1] = '\0';
    s->recorded_at = clock_unix_now();
    /* The event first: its seq orders the record in the contract index.
     * The RecordState is packed once, for the event and the stored record:
     * HoursEvent {at = 1; recorded = 2 {record = 1}}, written as protobuf-c
     * would (field order), the `at` part packed by protobuf-c itself. */
    uint8_t state[HRS_STATE_PACK_MAX], buf[S_EVENT_MAX];
    uint64_t seq = 0;
    size_t slen = hrs_store_pack_state(s, state);
    uint8_t inner[16];
    size_t ilen = hrs_store_pb_len_prefix(inner, 1, slen);
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    ev.has_at = 1;
    ev.at = (uint64_t)clock_unix_now();
    size_t len = pay__hours_event__pack(&ev, buf);
    if (len + 11 + ilen + slen > sizeof buf)
        return MDB_BAD_VALSIZE;
    len += hrs_store_pb_len_prefix(buf + len, 2, ilen + slen);
    memcpy(buf + len, inner, ilen);
    len += ilen;
    memcpy(buf + len, state, slen);
    len += slen;
    if ((rc = feed_outbox_append(self->txn, hrs_store_outbox_dbi(self->store), buf, len,
                                 &seq)) != 0)
        return rc;
    return hrs_store_insert_packed(self->store, self->txn, s, state, slen, seq, tally);
}

static int s_submit(hrs_service_t *self, const Pay__SubmitHours *req)
{
    size_t n = req->n_records;
    int rc;
    if (self->caller->role != ROLE_INSTRUCTOR && self->caller->role != ROLE_FINANCE)
        return s_refuse_all(self, n, PAY__STATUS__PERMISSION_DENIED,
                            "caller: only instructors and finance record hours");
    if ((rc = s_items(self, n)) != 0)
        return rc;
    if (!self->lookup && !(self->lookup = malloc(sizeof *self->lookup)))
        return ENOMEM;
    s_lookup_t *l = self->lookup;
    hrs_tally_t tally = {.n = 0};
    l->cache.n_contract = l->cache.next_contract = 0;
    l->cache.n_prisoner = l->cache.next_prisoner = 0;
    l->cache.n_policy = l->cache.next_policy = 0;
    for (size_t i = 0; i < n; i++) {
        const Pay__HoursRow *row = req->records[i];
        hrs_record_text_t t = {row->record_id, row->prisoner, row->contract, row->date,
                               row->session, row->minutes,  row->units,    row->outcome,
                               row->paid_absence};
        hrs_record_t rec;
        hrs_verdict_t v;
        if (hrs_rules_parse_record(&t, &rec, &v) == 0) {
            if ((rc = s_lookup(self, &rec, l)) != 0)
                goto done;
            hrs_rules_check_capture(&l->f, &v);
            if (v.status == PAY__STATUS__OK && !v.replay &&
                (rc = s_accept(self, l, &rec, &tally)) != 0)
                goto done;
        }
        if (v.status == PAY__STATUS__OK)
            self->accepted++;
        else
            self->rejected++;
        s_item(self, i, &v, row->record_id);
    }
    if ((rc = hrs_store_tally_flush(self->store, self->txn, &tally)) != 0)
        goto done;
    s_batch_summary(self, n);
done:
    return rc;
}

/* The facts an amendment or a void is checked against, for stored `old`
 * becoming `neu` (the same as old for a void). */
static int s_change_facts(hrs_service_t *self, const hrs_stored_t *old, const hrs_record_t *neu,
                          hrs_capture_facts_t *f)
{
    hrs_week_facts_t w;
    int rc;
    memset(f, 0, sizeof *f);
    f->rec = neu;
    f->today = clock_today();
    f->role = self->caller->role;
    f->scope = self->caller->scope;
    f->contract.exists = true;
    memcpy(f->contract.prison, old->prison, sizeof f->contract.prison);
    if ((rc = hrs_store_week_facts(self->store, self->txn, neu->prisoner, neu->date,
                                   neu->session, old->rec.record_id, &w)) != 0)
        return rc;
    f->day_minutes = w.day_minutes;
    f->week_minutes = w.week_minutes;
    if ((rc = hrs_store_policy_on(self->store, self->txn, old->prison, neu->date, &f->policy)) != 0)
        return rc;
    return hrs_store_week_closed(self->store, self->txn, old->prison, neu->date, &f->week_closed);
}

/* Fetches the record named by `id`, or answers NOT_FOUND /
 * INVALID_ARGUMENT. Returns 0 with *found set. A record of a prison the
 * caller may not read (or, `writing`, record at) answers exactly like a
 * missing one, so that nobody can probe which ids exist elsewhere. */
static int s_fetch(hrs_service_t *self, const char *id, hrs_stored_t *out, bool *found,
                   bool writing)
{
    *found = false;
    if (!ident_is_record_id(id)) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT,
                 "record_id: not 1 to 64 characters of UTF-8 without control characters");
        return 0;
    }
    int rc = hrs_store_get_record(self->store, self->txn, id, out);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    bool visible = rc == 0 && (writing ? hrs_rules_may_record(self->caller->role,
                                                             self->caller->scope, out->prison)
                                       : s_may_read(self->caller, out->prison));
    if (!visible) {
        s_statusf(self, PAY__STATUS__NOT_FOUND, "record_id: '%s' is not a recorded record", id);
        return 0;
    }
    *found = true;
    return 0;
}

static int s_amend(hrs_service_t *self, const Pay__AmendHours *req)
{
    hrs_stored_t *old = malloc(sizeof *old), *neu = malloc(sizeof *neu);
    hrs_capture_facts_t f;
    hrs_verdict_t v;
    bool found;
    int rc = ENOMEM;
    if (!old || !neu)
        goto done;
    if (self->caller->role != ROLE_INSTRUCTOR && self->caller->role != ROLE_FINANCE) {
        s_status(self, PAY__STATUS__PERMISSION_DENIED,
                 "caller: only instructors and finance amend hours");
        rc = 0;
        goto done;
    }
    /* The caller's scope first, so that another prison's instructor learns
     * nothing about the record. */
    if ((rc = s_fetch(self, req->record_id, old, &found, true)) != 0 || !found)
        goto done;
    if (old->voided) {
        s_statusf(self, PAY__STATUS__NOT_FOUND, "record_id: '%s' is voided", req->record_id);
        goto done;
    }
    *neu = *old;
    hrs_amend_text_t t = {req->minutes, req->units, req->outcome, req->paid_absence};
    if (hrs_rules_parse_amend(&t, &old->rec, &neu->rec, &v) != 0) {
        s_status(self, v.status, v.message);
        goto done;
    }
    if ((rc = s_change_facts(self, old, &neu->rec, &f)) != 0)
        goto done;
    if (hrs_rules_check_amend(&f, &v) != PAY__STATUS__OK) {
        s_status(self, v.status, v.message);
        goto done;
    }
    if (hrs_record_same(&old->rec, &neu->rec)) {
        s_status(self, PAY__STATUS__OK, "unchanged: the record already has these values");
        self->reply.record = s_view(self, old);
        goto done;
    }
    neu->amendments++;
    if ((rc = hrs_store_amend(self->store, self->txn, old, neu)) != 0)
        goto done;
    {
        Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
        Pay__HoursAmended body = PAY__HOURS_AMENDED__INIT;
        Pay__RecordState so, sn;
        char d1[CIVIL_DATE_LEN], w1[CIVIL_WEEK_LEN], d2[CIVIL_DATE_LEN], w2[CIVIL_WEEK_LEN];
        hrs_store_state(old, &so, d1, w1);
        hrs_store_state(neu, &sn, d2, w2);
        body.old = &so;
        body.new_ = &sn;
        ev.kind_case = PAY__HOURS_EVENT__KIND_AMENDED;
        ev.amended = &body;
        if ((rc = s_emit(self, &ev)) != 0)
            goto done;
    }
    s_status(self, PAY__STATUS__OK, "amended");
    self->reply.record = s_view(self, neu);
done:
    free(old);
    free(neu);
    return rc;
}

static int s_void(hrs_service_t *self, const Pay__VoidHours *req)
{
    hrs_stored_t *old = malloc(sizeof *old);
    hrs_capture_facts_t f;
    hrs_verdict_t v;
    bool found;
    int rc = ENOMEM;
    if (!old)
        goto done;
    if (self->caller->role != ROLE_INSTRUCTOR && self->caller->role != ROLE_FINANCE) {
        s_status(self, PAY__STATUS__PERMISSION_DENIED,
                 "caller: only instructors and finance void hours");
        rc = 0;
        goto done;
    }
    if ((rc = s_fetch(self, req->record_id, old, &found, true)) != 0 || !found)
        goto done;
    if ((rc = s_change_facts(self, old, &old->rec, &f)) != 0)
        goto done;
    if (hrs_rules_check_void(&f, &v) != PAY__STATUS__OK) {
        s_status(self, v.status, v.message);
        goto done;
    }
    if (old->voided) {
        s_status(self, PAY__STATUS__OK, "already voided");
        self->reply.record = s_view(self, old);
        goto done;
    }
    if ((rc = hrs_store_void(self->store, self->txn, old)) != 0)
        goto done;
    {
        Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
        Pay__HoursVoided body = PAY__HOURS_VOIDED__INIT;
        Pay__RecordState so;
        char d[CIVIL_DATE_LEN], w[CIVIL_WEEK_LEN];
        hrs_store_state(old, &so, d, w);
        body.old = &so;
        ev.kind_case = PAY__HOURS_EVENT__KIND_VOIDED;
        ev.voided = &body;
        if ((rc = s_emit(self, &ev)) != 0)
            goto done;
    }
    old->voided = true;
    s_status(self, PAY__STATUS__OK, "voided");
    self->reply.record = s_view(self, old);
done:
    free(old);
    return rc;
}

static int s_close_week(hrs_service_t *self, const Pay__HoursClosePayWeek *req)
{
    civil_week_t w;
    hrs_verdict_t v;
    bool already;
    int rc;
    if (self->caller->role != ROLE_FINANCE) {
        s_statusf(self, PAY__STATUS__PERMISSION_DENIED,
                  "caller: only finance may close a pay week, not %s",
                  auth_role_name(self->caller->role));
        return 0;
    }
    if (!ident_is_prison(req->prison)) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "prison: not three capital letters like MDI");
        return 0;
    }
    if (civil_parse_week(req->week, &w) != 0) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "week: not an ISO week like 2026-W48");
        return 0;
    }
    rc = hrs_store_get_prison(self->store, self->txn, req->prison, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (hrs_rules_check_close_week(self->caller->role, req->prison, rc == 0, &v) !=
        PAY__STATUS__OK) {
        s_status(self, v.status, v.message);
        return 0;
    }
    uint32_t wk = civil_week_key(w);
    int64_t now = clock_unix_now();
    if ((rc = hrs_store_close_week(self->store, self->txn, req->prison, wk, self->caller->name,
                                   now, &already)) != 0)
        return rc;
    if (already) {
        s_statusf(self, PAY__STATUS__OK, "pay week %s of %s was already closed", req->week,
                  req->prison);
        return 0;
    }
    hrs_totals_t t;
    if ((rc = hrs_store_totals(self->store, self->txn, req->prison, wk, &t)) != 0)
        return rc;
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    Pay__PayWeekClosed body = PAY__PAY_WEEK_CLOSED__INIT;
    char week[CIVIL_WEEK_LEN];
    civil_format_week(w, week);
    body.prison = req->prison;
    body.week = week;
    body.closed_by = (char *)self->caller->name;
    body.has_closed_at = 1;
    body.closed_at = now;
    body.has_records = body.has_minutes = body.has_billable_minutes = body.has_billable_units = 1;
    body.records = t.records;
    body.minutes = t.minutes;
    body.billable_minutes = t.billable_minutes;
    body.billable_units = t.billable_units;
    ev.kind_case = PAY__HOURS_EVENT__KIND_WEEK_CLOSED;
    ev.week_closed = &body;
    if ((rc = s_emit(self, &ev)) != 0)
        return rc;
    s_statusf(self, PAY__STATUS__OK, "pay week %s of %s closed", week, req->prison);
    return 0;
}

/* ---- queries ------------------------------------------------------------ */

static int s_get_record(hrs_service_t *self, const Pay__HoursGetRecord *req)
{
    hrs_stored_t *s = malloc(sizeof *s);
    bool found;
    int rc = ENOMEM;
    if (!s)
        return rc;
    if ((rc = s_fetch(self, req->record_id, s, &found, false)) != 0 || !found)
        goto done;
    self->reply.record = s_view(self, s);
    s_status(self, PAY__STATUS__OK, s->voided ? "voided" : "live");
done:
    free(s);
    return rc;
}

/* Collects record views for a list reply, filtered by the caller's scope. */
typedef struct {
    hrs_service_t *self;
    Pay__HoursRecordView **views;
    size_t n, cap;
    size_t hidden;
    int rc;
    hrs_stored_t s;
} s_list_t;

static int s_list_add(const char *record_id, void *arg)
{
    s_list_t *l = arg;
    hrs_service_t *self = l->self;
    int rc = hrs_store_get_record(self->store, self->txn, record_id, &l->s);
    if (rc != 0) {
        l->rc = rc;
        return rc;
    }
    if (!s_may_read(self->caller, l->s.prison)) {
        l->hidden++;
        return 0;
    }
    if (l->n >= S_LIST_MAX)
        return 1;   /* stop: the list says it was cut short */
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        Pay__HoursRecordView **v = s_alloc(self, cap * sizeof *v);
        if (!v) {
            l->rc = ENOMEM;
            return ENOMEM;
        }
        if (l->n)
            memcpy(v, l->views, l->n * sizeof *v);
        l->views = v;
        l->cap = cap;
    }
    if (!(l->views[l->n] = s_view(self, &l->s))) {
        l->rc = ENOMEM;
        return ENOMEM;
    }
    l->n++;
    return 0;
}

static int s_list_prisoner_week(hrs_service_t *self, const Pay__HoursListByPrisonerWeek *req)
{
    civil_week_t w;
    if (!ident_is_prisoner(req->prisoner)) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "prisoner: not a prisoner number like A1234BC");
        return 0;
    }
    if (civil_parse_week(req->week, &w) != 0) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "week: not an ISO week like 2026-W48");
        return 0;
    }
    if (!s_may_read(self->caller, self->caller->scope)) {
        s_statusf(self, PAY__STATUS__PERMISSION_DENIED, "caller: %s may not read hours",
                  auth_role_name(self->caller->role));
        return 0;
    }
    s_list_t *l = calloc(1, sizeof *l);
    if (!l)
        return ENOMEM;
    l->self = self;
    int rc = hrs_store_each_in_week(self->store, self->txn, req->prisoner, civil_week_key(w),
                                    s_list_add, l);
    if (l->rc != 0)
        rc = l->rc;
    else
        rc = 0;
    if (rc == 0) {
        self->reply.n_records = l->n;
        self->reply.records = l->views;
        s_statusf(self, PAY__STATUS__OK, "%zu record(s)%s", l->n,
                  l->n >= S_LIST_MAX ? ", cut short" : "");
    }
    free(l);
    return rc;
}

static void s_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int s_unhex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
    size_t len = strlen(s);
    if (len % 2 != 0 || len / 2 > cap)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(d << 4);
        else
            out[i / 2] |= (uint8_t)d;
    }
    *n = len / 2;
    return 0;
}

static int s_list_contract(hrs_service_t *self, const Pay__HoursListByContract *req)
{
    int32_t from, to;
    uint8_t after[HRS_STORE_POS_MAX], next[HRS_STORE_POS_MAX];
    size_t after_len = 0, next_len = 0;
    bool more = false;
    uint32_t limit = req->has_page_size && req->page_size > 0 ? req->page_size : S_PAGE_DEFAULT;
    int rc;
    if (!ident_is_contract(req->contract)) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "contract: not a contract id like C-0042");
        return 0;
    }
    if (civil_parse_date(req->from, &from) != 0) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "from: not a real date YYYY-MM-DD");
        return 0;
    }
    if (civil_parse_date(req->to, &to) != 0 || to < from) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "to: not a real date on or after from");
        return 0;
    }
    if (limit > S_PAGE_MAX) {
        s_statusf(self, PAY__STATUS__INVALID_ARGUMENT, "page_size: %u is over %d", limit,
                  S_PAGE_MAX);
        return 0;
    }
    if (req->page_token && *req->page_token &&
        s_unhex(req->page_token, after, sizeof after, &after_len) != 0) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "page_token: not a token from this list");
        return 0;
    }
    hrs_contract_t *k = malloc(sizeof *k);
    if (!k)
        return ENOMEM;
    rc = hrs_store_get_contract(self->store, self->txn, req->contract, k);
    bool may = rc == 0 && s_may_read(self->caller, k->prison);
    free(k);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (!may) {
        /* Another prison's contract answers like a missing one. */
        s_statusf(self, PAY__STATUS__UNKNOWN_CONTRACT, "contract: %s is not known", req->contract);
        return 0;
    }
    s_list_t *l = calloc(1, sizeof *l);
    if (!l)
        return ENOMEM;
    l->self = self;
    rc = hrs_store_each_by_contract(self->store, self->txn, req->contract, from, to, after,
                                    after_len, limit, s_list_add, l, &more, next, &next_len);
    if (l->rc != 0)
        rc = l->rc;
    if (rc == 0) {
        self->reply.n_records = l->n;
        self->reply.records = l->views;
        if (more) {
            char *tok = s_alloc(self, 2 * next_len + 1);
            if (!tok) {
                free(l);
                return ENOMEM;
            }
            s_hex(next, next_len, tok);
            self->reply.next_page_token = tok;
        }
        s_statusf(self, PAY__STATUS__OK, "%zu record(s)%s", l->n, more ? ", more to come" : "");
    }
    free(l);
    return rc;
}

static int s_week_totals(hrs_service_t *self, const Pay__HoursGetWeekTotals *req)
{
    civil_week_t w;
    hrs_totals_t t;
    bool closed;
    int rc;
    if (!ident_is_prison(req->prison)) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "prison: not three capital letters like MDI");
        return 0;
    }
    if (civil_parse_week(req->week, &w) != 0) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "week: not an ISO week like 2026-W48");
        return 0;
    }
    if (!s_may_read(self->caller, req->prison)) {
        s_statusf(self, PAY__STATUS__PERMISSION_DENIED, "caller: %s may not read totals of %s",
                  auth_role_name(self->caller->role), req->prison);
        return 0;
    }
    rc = hrs_store_get_prison(self->store, self->txn, req->prison, NULL);
    if (rc == MDB_NOTFOUND) {
        s_statusf(self, PAY__STATUS__UNKNOWN_PRISON, "prison: %s is not known", req->prison);
        return 0;
    }
    if (rc != 0)
        return rc;
    uint32_t wk = civil_week_key(w);
    if ((rc = hrs_store_totals(self->store, self->txn, req->prison, wk, &t)) != 0)
        return rc;
    if ((rc = hrs_store_is_closed(self->store, self->txn, req->prison, wk, &closed)) != 0)
        return rc;
    Pay__HoursWeekTotals *wt = s_alloc(self, sizeof *wt);
    char *week = s_alloc(self, CIVIL_WEEK_LEN);
    if (!wt || !week)
        return ENOMEM;
    pay__hours_week_totals__init(wt);
    civil_format_week(w, week);
    wt->prison = s_strdup(self, req->prison);
    wt->week = week;
    wt->has_records = wt->has_minutes = wt->has_billable_minutes = wt->has_billable_units = 1;
    wt->records = t.records;
    wt->minutes = t.minutes;
    wt->billable_minutes = t.billable_minutes;
    wt->billable_units = t.billable_units;
    wt->has_closed = 1;
    wt->closed = closed;
    self->reply.totals = wt;
    s_status(self, PAY__STATUS__OK, "totals");
    return 0;
}

static int s_health(hrs_service_t *self)
{
    Pay__HoursHealth *h = s_alloc(self, sizeof *h);
    char *today = s_alloc(self, CIVIL_DATE_LEN);
    uint64_t head = 0;
    if (!h || !today)
        return ENOMEM;
    int rc = feed_outbox_head(self->txn, hrs_store_outbox_dbi(self->store), &head);
    if (rc != 0)
        return rc;
    pay__hours_health__init(h);
    civil_format_date(clock_today(), today);
    h->has_ok = 1;
    h->ok = 1;
    h->today = today;
    h->has_outbox_head = 1;
    h->outbox_head = head;
    uint64_t records = 0, first = 1;
    if ((rc = hrs_store_record_count(self->store, self->txn, &records)) != 0
        || (rc = feed_outbox_first(self->txn, hrs_store_outbox_dbi(self->store), &first)) != 0)
        return rc;
    h->has_records = h->has_outbox_first = 1;
    h->records = records;
    h->outbox_first = first;
    if (self->feed) {
        feed_producer_stats_t fs;
        feed_producer_stats(self->feed, &fs);
        h->has_feed_pruned_refusals = 1;
        h->feed_pruned_refusals = fs.pruned_refusals;
    }
    uint64_t q = 0;
    if ((rc = feed_quarantine_count(self->txn, hrs_store_store(self->store), NULL, &q)) != 0)
        return rc;
    h->has_quarantined = 1;
    h->quarantined = q;
    if (self->invoices) {
        feed_consumer_stats_t st;
        feed_consumer_stats(self->invoices, &st);
        h->has_invoice_cursor = h->has_invoice_head = 1;
        h->invoice_cursor = st.cursor;
        h->invoice_head = st.head_seq > st.cursor ? st.head_seq : st.cursor;
    }
    self->reply.health = h;
    s_status(self, PAY__STATUS__OK, "ok");
    return 0;
}

static int s_stats(hrs_service_t *self)
{
    Pay__HoursStats *s = s_alloc(self, sizeof *s);
    uint64_t head = 0, records = 0;
    int rc;
    if (!s)
        return ENOMEM;
    pay__hours_stats__init(s);
    if ((rc = feed_outbox_head(self->txn, hrs_store_outbox_dbi(self->store), &head)) != 0)
        return rc;
    if ((rc = hrs_store_record_count(self->store, self->txn, &records)) != 0)
        return rc;
    s->has_records = s->has_outbox_head = s->has_accepted = s->has_rejected = 1;
    s->has_map_size = 1;
    s->records = records;
    s->outbox_head = head;
    s->accepted = self->accepted;
    s->rejected = self->rejected;
    s->map_size = store_map_size(hrs_store_store(self->store));
    if (self->server) {
        server_stats_t ss;
        server_stats(self->server, &ss);
        s->has_requests = s->has_batches = s->has_commits = s->has_replays = 1;
        s->has_malformed = 1;
        s->requests = ss.requests;
        s->batches = ss.batches;
        s->commits = ss.commits;
        s->replays = ss.replays;
        s->malformed = ss.malformed;
    }
    if (self->feed) {
        feed_producer_stats_t fs;
        feed_producer_stats(self->feed, &fs);
        s->has_feed_subscribers = 1;
        s->feed_subscribers = fs.subscribers;
    }
    self->reply.stats = s;
    s_status(self, PAY__STATUS__OK, "stats");
    return 0;
}

/* A compact copy of the last durable state, named by the caller, under
 * the service's backup folder: checked here, taken off the loop by
 * hrs_service_handle (backup.h), which answers once the copy is on disk. */
static int s_backup(hrs_service_t *self, const Pay__HoursBackup *req)
{
    char err[BACKUP_ERR_LEN];
    if (self->caller->role != ROLE_FINANCE) {   /* as in wages and invoicing */
        s_statusf(self, PAY__STATUS__PERMISSION_DENIED, "caller: %s may not take backups",
                  auth_role_name(self->caller->role));
        return 0;
    }
    if (req->dir) {
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "dir: no longer accepted; a backup is "
                 "given a name and goes under the service's --backup-dir");
        return 0;
    }
    if (backup_name_check(req->name, err) != 0) {
        s_statusf(self, PAY__STATUS__INVALID_ARGUMENT, "%s", err);
        return 0;
    }
    self->backup_req = req;
    s_statusf(self, PAY__STATUS__OK, "backup %s accepted", req->name);
    return 0;
}

/* The codes of the prisons known here, in key order (payctl reconcile asks
 * about every one): all of them for finance, services and unscoped
 * industries; a prison-scoped key sees only its own prison. */
static int s_list_prisons(hrs_service_t *self)
{
    auth_role_t r = self->caller->role;
    const char *scope = self->caller->scope;
    bool unscoped = !scope[0] || strcmp(scope, "-") == 0;
    bool all = r == ROLE_FINANCE || r == ROLE_SERVICE || (r == ROLE_INDUSTRIES && unscoped);
    MDB_dbi dbi = store_dbi(hrs_store_store(self->store), "prisons");
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    size_t n = 0, cap = 64;
    char **codes = s_alloc(self, cap * sizeof *codes);
    if (!codes)
        return ENOMEM;
    int rc = mdb_cursor_open(self->txn, dbi, &cur);
    if (rc != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char code[HRS_PRISON_LEN];
        if (k.mv_size == 0 || k.mv_size >= sizeof code)
            continue;
        memcpy(code, k.mv_data, k.mv_size);
        code[k.mv_size] = '\0';
        if (!all && strcmp(scope, code) != 0)   /* a prison-scoped key: its own */
            continue;
        if (n == cap) {
            char **grown = s_alloc(self, 2 * cap * sizeof *grown);
            if (!grown) {
                rc = ENOMEM;
                break;
            }
            memcpy(grown, codes, n * sizeof *codes);
            codes = grown;
            cap *= 2;
        }
        if (!(codes[n++] = s_strdup(self, code))) {
            rc = ENOMEM;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return rc;   /* a storage error, or ENOMEM */
    self->reply.n_prisons = n;
    self->reply.prisons = codes;
    s_statusf(self, PAY__STATUS__OK, "%zu prison(s)", n);
    return 0;
}

/* ---- reference data ----------------------------------------------------- */

static bool s_gate_reference(hrs_service_t *self, size_t n, bool governor_too, int *rc)
{
    auth_role_t r = self->caller->role;
    if (r == ROLE_INDUSTRIES || (governor_too && r == ROLE_GOVERNOR))
        return true;
    *rc = s_refuse_all(self, n, PAY__STATUS__PERMISSION_DENIED,
                       governor_too ? "caller: only industries or the prison's governor set pay policy"
                                    : "caller: only industries manages reference data");
    return false;
}

static int s_upsert_prisons(hrs_service_t *self, const Pay__HoursUpsertPrisons *req)
{
    int rc = 0;
    size_t n = req->n_rows;
    hrs_caller_t c = s_caller(self->caller);
    if (!s_gate_reference(self, n, false, &rc))
        return rc;
    if ((rc = s_items(self, n)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const Pay__HoursPrisonRow *r = req->rows[i];
        hrs_prison_text_t t = {r->code,
                               r->name,
                               r->regime,
                               r->has_weekly_cap_minutes,
                               r->has_daily_cap_minutes,
                               r->has_backdate_days,
                               r->weekly_cap_minutes,
                               r->daily_cap_minutes,
                               r->backdate_days};
        hrs_prison_t p;
        hrs_verdict_t v;
        bool outside = false;
        if (hrs_rules_parse_prison(&t, &p, &v) == 0) {
            if ((rc = hrs_store_has_outside_contracts(self->store, self->txn, p.code, &outside)) != 0)
                return rc;
            if (hrs_rules_check_prison(&p, outside, &c, &v) == PAY__STATUS__OK) {
                uint8_t *before = NULL;
                size_t blen = 0;
                if ((rc = s_facts_before(self, HRS_FACTS_PRISON, p.code, &before, &blen)) != 0 ||
                    (rc = hrs_store_put_prison(self->store, self->txn, &p)) != 0) {
                    free(before);
                    return rc;
                }
                if ((rc = s_facts_after(self, HRS_FACTS_PRISON, p.code, before, blen)) != 0)
                    return rc;
            }
        }
        s_item(self, i, &v, r->code);
    }
    s_batch_summary(self, n);
    return 0;
}

static int s_upsert_policies(hrs_service_t *self, const Pay__HoursUpsertPayPolicies *req)
{
    int rc = 0;
    size_t n = req->n_rows;
    hrs_caller_t c = s_caller(self->caller);
    if (!s_gate_reference(self, n, true, &rc))
        return rc;
    if ((rc = s_items(self, n)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const Pay__HoursPayPolicyRow *r = req->rows[i];
        hrs_policy_text_t t = {r->prison,
                               r->effective_from,
                               r->has_weekly_cap_minutes,
                               r->has_daily_cap_minutes,
                               r->has_backdate_days,
                               r->weekly_cap_minutes,
                               r->daily_cap_minutes,
                               r->backdate_days};
        hrs_policy_change_t p;
        hrs_verdict_t v;
        if (hrs_rules_parse_policy(&t, &p, &v) == 0) {
            rc = hrs_store_get_prison(self->store, self->txn, p.prison, NULL);
            if (rc != 0 && rc != MDB_NOTFOUND)
                return rc;
            if (hrs_rules_check_policy(&p, rc == 0, &c, &v) == PAY__STATUS__OK &&
                (rc = hrs_store_put_policy(self->store, self->txn, &p)) != 0)
                return rc;
        }
        s_item(self, i, &v, r->prison);
    }
    s_batch_summary(self, n);
    return 0;
}

static int s_upsert_prisoners(hrs_service_t *self, const Pay__HoursUpsertPrisoners *req)
{
    int rc = 0;
    size_t n = req->n_rows;
    hrs_caller_t c = s_caller(self->caller);
    if (!s_gate_reference(self, n, false, &rc))
        return rc;
    if ((rc = s_items(self, n)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const Pay__HoursPrisonerRow *r = req->rows[i];
        hrs_prisoner_text_t t = {r->number, r->prison, r->incentive_level,
                                 r->public_contact_cleared_on, r->released_on};
        hrs_prisoner_t p;
        hrs_verdict_t v;
        if (hrs_rules_parse_prisoner(&t, &p, &v) == 0) {
            rc = hrs_store_get_prison(self->store, self->txn, p.prison, NULL);
            if (rc != 0 && rc != MDB_NOTFOUND)
                return rc;
            if (hrs_rules_check_prisoner(&p, rc == 0, &c, &v) == PAY__STATUS__OK) {
                uint8_t *before = NULL;
                size_t blen = 0;
                if ((rc = s_facts_before(self, HRS_FACTS_PRISONER, p.number, &before, &blen)) != 0 ||
                    (rc = hrs_store_put_prisoner(self->store, self->txn, &p)) != 0) {
                    free(before);
                    return rc;
                }
                if ((rc = s_facts_after(self, HRS_FACTS_PRISONER, p.number, before, blen)) != 0)
                    return rc;
            }
        }
        s_item(self, i, &v, r->number);
    }
    s_batch_summary(self, n);
    return 0;
}

static int s_upsert_contracts(hrs_service_t *self, const Pay__HoursUpsertContracts *req)
{
    int rc = 0;
    size_t n = req->n_rows;
    hrs_caller_t c = s_caller(self->caller);
    if (!s_gate_reference(self, n, false, &rc))
        return rc;
    if ((rc = s_items(self, n)) != 0)
        return rc;
    hrs_contract_t *k = malloc(sizeof *k);
    hrs_prison_t *p = malloc(sizeof *p);
    if (!k || !p) {
        rc = ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const Pay__HoursContractRow *r = req->rows[i];
        hrs_contract_text_t t = {r->id,         r->employer,       r->prison,
                                 r->activity,   r->work_type,      r->start,
                                 r->end,        r->public_contact, r->attested_by,
                                 r->attested_on, r->attestation_ref};
        hrs_verdict_t v;
        if (hrs_rules_parse_contract(&t, k, &v) == 0) {
            rc = hrs_store_get_prison(self->store, self->txn, k->prison, p);
            if (rc != 0 && rc != MDB_NOTFOUND)
                goto done;
            hrs_regime_t regime = rc == 0 ? p->regime : HRS_REGIME_NONE;
            bool employer = false;
            if ((rc = hrs_store_employer_known(self->store, self->txn, k->employer, &employer)) != 0)
                goto done;
            if (hrs_rules_check_contract(k, regime, employer, &c, &v) == PAY__STATUS__OK) {
                uint8_t *before = NULL;
                size_t blen = 0;
                if ((rc = s_facts_before(self, HRS_FACTS_CONTRACT, k->id, &before, &blen)) != 0 ||
                    (rc = hrs_store_put_contract(self->store, self->txn, k)) != 0) {
                    free(before);
                    goto done;
                }
                if ((rc = s_facts_after(self, HRS_FACTS_CONTRACT, k->id, before, blen)) != 0)
                    goto done;
            }
        }
        s_item(self, i, &v, r->id);
    }
    s_batch_summary(self, n);
done:
    free(k);
    free(p);
    return rc;
}

static int s_upsert_allocations(hrs_service_t *self, const Pay__HoursUpsertAllocations *req)
{
    int rc = 0;
    size_t n = req->n_rows;
    hrs_caller_t c = s_caller(self->caller);
    if (!s_gate_reference(self, n, false, &rc))
        return rc;
    if ((rc = s_items(self, n)) != 0)
        return rc;
    hrs_contract_t *k = malloc(sizeof *k);
    if (!k)
        return ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const Pay__HoursAllocationRow *r = req->rows[i];
        hrs_allocation_text_t t = {r->prisoner, r->contract, r->from, r->to, r->pay_band};
        hrs_allocation_row_t a;
        hrs_verdict_t v;
        if (hrs_rules_parse_allocation(&t, &a, &v) == 0) {
            int prc = hrs_store_get_prisoner(self->store, self->txn, a.prisoner, NULL);
            int crc = hrs_store_get_contract(self->store, self->txn, a.contract, k);
            if ((prc != 0 && prc != MDB_NOTFOUND) || (crc != 0 && crc != MDB_NOTFOUND)) {
                rc = prc != 0 && prc != MDB_NOTFOUND ? prc : crc;
                goto done;
            }
            if (hrs_rules_check_allocation(&a, prc == 0, crc == 0, crc == 0 ? k->prison : "", &c,
                                           &v) == PAY__STATUS__OK &&
                (rc = hrs_store_put_allocation(self->store, self->txn, &a)) != 0)
                goto done;
        }
        s_item(self, i, &v, r->prisoner);
    }
    s_batch_summary(self, n);
done:
    free(k);
    return rc;
}

static int s_upsert_transfers(hrs_service_t *self, const Pay__HoursUpsertTransfers *req)
{
    int rc = 0;
    size_t n = req->n_rows;
    hrs_caller_t c = s_caller(self->caller);
    if (!s_gate_reference(self, n, false, &rc))
        return rc;
    if ((rc = s_items(self, n)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const Pay__HoursTransferRow *r = req->rows[i];
        hrs_transfer_text_t t = {r->prisoner, r->prison, r->effective_from};
        hrs_transfer_row_t tr;
        hrs_verdict_t v;
        if (hrs_rules_parse_transfer(&t, &tr, &v) == 0) {
            int prc = hrs_store_get_prisoner(self->store, self->txn, tr.prisoner, NULL);
            int src = hrs_store_get_prison(self->store, self->txn, tr.prison, NULL);
            if (prc != 0 && prc != MDB_NOTFOUND)
                return prc;
            if (src != 0 && src != MDB_NOTFOUND)
                return src;
            if (hrs_rules_check_transfer(&tr, prc == 0, src == 0, &c, &v) == PAY__STATUS__OK) {
                uint8_t *before = NULL;
                size_t blen = 0;
                if ((rc = s_facts_before(self, HRS_FACTS_PRISONER, tr.prisoner, &before, &blen)) != 0 ||
                    (rc = hrs_store_put_transfer(self->store, self->txn, &tr)) != 0) {
                    free(before);
                    return rc;
                }
                if ((rc = s_facts_after(self, HRS_FACTS_PRISONER, tr.prisoner, before, blen)) != 0)
                    return rc;
            }
        }
        s_item(self, i, &v, r->prisoner);
    }
    s_batch_summary(self, n);
    return 0;
}

static int s_upsert_levels(hrs_service_t *self, const Pay__HoursUpsertIncentiveLevels *req)
{
    int rc = 0;
    size_t n = req->n_rows;
    hrs_caller_t c = s_caller(self->caller);
    if (!s_gate_reference(self, n, false, &rc))
        return rc;
    if ((rc = s_items(self, n)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const Pay__HoursIncentiveLevelRow *r = req->rows[i];
        hrs_level_text_t t = {r->prisoner, r->incentive_level, r->effective_from};
        hrs_level_row_t l;
        hrs_prisoner_t p;
        hrs_verdict_t v;
        if (hrs_rules_parse_level(&t, &l, &v) == 0) {
            int prc = hrs_store_get_prisoner(self->store, self->txn, l.prisoner, &p);
            if (prc != 0 && prc != MDB_NOTFOUND)
                return prc;
            char now[HRS_PRISON_LEN] = "";
            if (prc == 0 && (rc = hrs_store_custody_on(self->store, self->txn, &p,
                                                       clock_today(), now)) != 0)
                return rc;
            if (hrs_rules_check_level(&l, prc == 0, now, &c, &v) == PAY__STATUS__OK &&
                (rc = hrs_store_put_level(self->store, self->txn, &l)) != 0)
                return rc;
        }
        s_item(self, i, &v, r->prisoner);
    }
    s_batch_summary(self, n);
    return 0;
}

/* ---- the invoice feed's quarantine (finance) ----------------------------- */

static int s_quarantine(hrs_service_t *self, const char *feed, bool retry, uint64_t seq)
{
    if (self->caller->role != ROLE_FINANCE) {
        s_status(self, PAY__STATUS__PERMISSION_DENIED,
                 "caller: only finance reads or retries the feed quarantine");
        return 0;
    }
    if (feed && *feed && strcmp(feed, HRS_INVOICE_FEED) != 0) {
        s_statusf(self, PAY__STATUS__INVALID_ARGUMENT, "feed: this service consumes only \"%s\"",
                  HRS_INVOICE_FEED);
        return 0;
    }
    Pay__QuarantineReply *q = s_alloc(self, sizeof *q);
    if (!q)
        return ENOMEM;
    pay__quarantine_reply__init(q);
    store_t *st = hrs_store_store(self->store);
    uint32_t applied = 0, remaining = 0;
    int rc = 0;
    if (retry && (rc = feed_quarantine_retry(self->txn, st, HRS_INVOICE_FEED, seq,
                                              hrs_invfeed_apply, self->store, &applied,
                                              &remaining)) != 0)
        return rc;
    if ((rc = feed_quarantine_reply(self->txn, st, HRS_INVOICE_FEED, &self->pa, q)) != 0)
        return rc;
    q->has_applied = retry;
    q->applied = applied;
    self->reply.quarantine = q;
    s_statusf(self, PAY__STATUS__OK, "%s%u event(s) quarantined", retry ? "retried; " : "",
              q->remaining);
    return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

/* Rows in a batch request (0 for the others), to answer each one. */
static size_t s_batch_len(const Pay__HoursRequest *req)
{
    switch (req->body_case) {
    case PAY__HOURS_REQUEST__BODY_UPSERT_PRISONS:
        return req->upsert_prisons->n_rows;
    case PAY__HOURS_REQUEST__BODY_UPSERT_PAY_POLICIES:
        return req->upsert_pay_policies->n_rows;
    case PAY__HOURS_REQUEST__BODY_UPSERT_PRISONERS:
        return req->upsert_prisoners->n_rows;
    case PAY__HOURS_REQUEST__BODY_UPSERT_CONTRACTS:
        return req->upsert_contracts->n_rows;
    case PAY__HOURS_REQUEST__BODY_UPSERT_ALLOCATIONS:
        return req->upsert_allocations->n_rows;
    case PAY__HOURS_REQUEST__BODY_UPSERT_TRANSFERS:
        return req->upsert_transfers->n_rows;
    case PAY__HOURS_REQUEST__BODY_UPSERT_INCENTIVE_LEVELS:
        return req->upsert_incentive_levels->n_rows;
    case PAY__HOURS_REQUEST__BODY_SUBMIT_HOURS:
        return req->submit_hours->n_records;
    default:
        return 0;
    }
}

int hrs_service_apply(hrs_service_t *self, const auth_identity_t *caller,
                      const Pay__HoursRequest *req, MDB_txn *txn, Pay__HoursReply **reply,
                      bool *readonly)
{
    int rc = 0;
    s_reset(self);
    pay__hours_reply__init(&self->reply);
    self->caller = caller;
    self->txn = txn;
    *reply = &self->reply;
    *readonly = false;

    if (s_batch_len(req) > S_BATCH_MAX) {
        s_statusf(self, PAY__STATUS__INVALID_ARGUMENT,
                  "rows: %zu in one request, at most %d; split the batch", s_batch_len(req),
                  S_BATCH_MAX);
        *readonly = true;
        goto done;
    }
    if (s_nobody(caller)) {
        rc = s_refuse_all(self, s_batch_len(req), PAY__STATUS__PERMISSION_DENIED,
                          "caller: this key may not use the hours service");
        *readonly = true;
        goto done;
    }
    switch (req->body_case) {
    case PAY__HOURS_REQUEST__BODY_UPSERT_PRISONS:
        rc = s_upsert_prisons(self, req->upsert_prisons);
        break;
    case PAY__HOURS_REQUEST__BODY_UPSERT_PAY_POLICIES:
        rc = s_upsert_policies(self, req->upsert_pay_policies);
        break;
    case PAY__HOURS_REQUEST__BODY_UPSERT_PRISONERS:
        rc = s_upsert_prisoners(self, req->upsert_prisoners);
        break;
    case PAY__HOURS_REQUEST__BODY_UPSERT_CONTRACTS:
        rc = s_upsert_contracts(self, req->upsert_contracts);
        break;
    case PAY__HOURS_REQUEST__BODY_UPSERT_ALLOCATIONS:
        rc = s_upsert_allocations(self, req->upsert_allocations);
        break;
    case PAY__HOURS_REQUEST__BODY_UPSERT_TRANSFERS:
        rc = s_upsert_transfers(self, req->upsert_transfers);
        break;
    case PAY__HOURS_REQUEST__BODY_UPSERT_INCENTIVE_LEVELS:
        rc = s_upsert_levels(self, req->upsert_incentive_levels);
        break;
    case PAY__HOURS_REQUEST__BODY_SUBMIT_HOURS:
        rc = s_submit(self, req->submit_hours);
        break;
    case PAY__HOURS_REQUEST__BODY_AMEND_HOURS:
        rc = s_amend(self, req->amend_hours);
        break;
    case PAY__HOURS_REQUEST__BODY_VOID_HOURS:
        rc = s_void(self, req->void_hours);
        break;
    case PAY__HOURS_REQUEST__BODY_CLOSE_PAY_WEEK:
        rc = s_close_week(self, req->close_pay_week);
        break;
    case PAY__HOURS_REQUEST__BODY_GET_RECORD:
        *readonly = true;
        rc = s_get_record(self, req->get_record);
        break;
    case PAY__HOURS_REQUEST__BODY_LIST_BY_PRISONER_WEEK:
        *readonly = true;
        rc = s_list_prisoner_week(self, req->list_by_prisoner_week);
        break;
    case PAY__HOURS_REQUEST__BODY_LIST_BY_CONTRACT:
        *readonly = true;
        rc = s_list_contract(self, req->list_by_contract);
        break;
    case PAY__HOURS_REQUEST__BODY_GET_WEEK_TOTALS:
        *readonly = true;
        rc = s_week_totals(self, req->get_week_totals);
        break;
    case PAY__HOURS_REQUEST__BODY_GET_HEALTH:
        *readonly = true;
        rc = s_health(self);
        break;
    case PAY__HOURS_REQUEST__BODY_QUARANTINE_LIST:
        *readonly = true;
        rc = s_quarantine(self, req->quarantine_list->feed, false, 0);
        break;
    case PAY__HOURS_REQUEST__BODY_QUARANTINE_RETRY:
        rc = s_quarantine(self, req->quarantine_retry->feed, true,
                          req->quarantine_retry->has_seq ? req->quarantine_retry->seq : 0);
        break;
    case PAY__HOURS_REQUEST__BODY_GET_STATS:
        *readonly = true;
        rc = s_stats(self);
        break;
    case PAY__HOURS_REQUEST__BODY_LIST_PRISONS:
        *readonly = true;
        rc = s_list_prisons(self);
        break;
    case PAY__HOURS_REQUEST__BODY_BACKUP:
        rc = s_backup(self, req->backup);
        break;
    default:
        *readonly = true;
        s_status(self, PAY__STATUS__INVALID_ARGUMENT, "body: the request names no operation");
        break;
    }
done:
    if (rc != 0) {
        /* Whatever was built is void: the transaction will be aborted. */
        s_reset(self);
        pay__hours_reply__init(&self->reply);
        self->reply.has_status = 1;
        self->reply.status = PAY__STATUS__INTERNAL;
        self->reply.message = (char *)(rc == ENOMEM ? "out of memory; nothing was changed"
                                                    : "storage error; nothing was changed");
    }
    return rc;
}

int hrs_service_handle(void *svc, server_call_t *call, const auth_identity_t *caller,
                       const ProtobufCMessage *request, const char *request_id, MDB_txn *txn)
{
    hrs_service_t *self = svc;
    Pay__HoursReply *reply;
    bool readonly;
    self->server = server_call_server(call);
    self->backup_req = NULL;
    int rc = hrs_service_apply(self, caller, (const Pay__HoursRequest *)request, txn, &reply,
                               &readonly);
    if (rc == 0 && self->backup_req) {
        const Pay__HoursBackup *b = self->backup_req;
        self->backup_req = NULL;
        return backup_handle(self->backup, call, caller, request_id, b->name, b->dir != NULL);
    }
    if (rc != 0) {
        if (rc != MDB_MAP_FULL)
            log_error("hours.request", "request %s from %s: %s", request_id, caller->name,
                      mdb_strerror(rc));
        server_reply(call, &reply->base);
        return rc;
    }
    if (readonly)
        server_call_readonly(call);
    if (server_reply(call, &reply->base) != 0) {
        server_reply_status(call, PAY__STATUS__INTERNAL, "the reply could not be packed");
        return -1;
    }
    return 0;
}
