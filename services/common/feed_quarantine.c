/* feed_quarantine: see feed_quarantine.h. */
#include "feed_quarantine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ident.h"
#include "log.h"

#define S_FEED_MAX 64
#define S_KEY_MAX (S_FEED_MAX + 1 + 8)

int feed_refuse(feed_refusal_t *r, const char *prison, const char *week, const char *fmt, ...)
{
    if (!r)
        return FEED_REFUSED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    /* The reason may quote the event: keep it valid UTF-8 for every reply. */
    ident_utf8_repair(r->reason, strlen(r->reason));
    snprintf(r->prison, sizeof r->prison, "%s", prison && ident_is_prison(prison) ? prison : "");
    snprintf(r->week, sizeof r->week, "%s", week && strlen(week) < sizeof r->week ? week : "");
    ident_utf8_repair(r->week, strlen(r->week));
    return FEED_REFUSED;
}

static MDB_dbi s_dbi(store_t *store)
{
    return store_dbi(store, FEED_QUARANTINE_DB);
}

static size_t s_key(uint8_t key[S_KEY_MAX], const char *feed, uint64_t seq)
{
    size_t n = strlen(feed);
    memcpy(key, feed, n);
    key[n] = '\0';
    store_be64_put(key + n + 1, seq);
    return n + 9;
}

/* The feed name and seq of a key; -1 for a key that is not ours. */
static int s_unkey(const MDB_val *k, char feed[S_FEED_MAX + 1], uint64_t *seq)
{
    const uint8_t *p = k->mv_data;
    if (k->mv_size < 10 || k->mv_size - 9 > S_FEED_MAX || p[k->mv_size - 9] != '\0')
        return -1;
    memcpy(feed, p, k->mv_size - 9);
    feed[k->mv_size - 9] = '\0';
    *seq = store_be64_get(p + k->mv_size - 8);
    return 0;
}

static int s_put_event(MDB_txn *txn, MDB_dbi dbi, const uint8_t *key, size_t klen,
                       const Pay__QuarantinedEvent *ev)
{
    size_t len = protobuf_c_message_get_packed_size(&ev->base);
    MDB_val k = {klen, (void *)key}, v = {len ? len : 1, NULL};
    int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc == 0) {
        if (len)
            protobuf_c_message_pack(&ev->base, v.mv_data);
        else
            v.mv_size = 0;
    }
    return rc;
}

int feed_quarantine_put(MDB_txn *txn, store_t *store, const char *feed, uint64_t seq,
                        const uint8_t *payload, size_t len, const feed_refusal_t *why)
{
    MDB_dbi dbi = s_dbi(store);
    if (dbi == (MDB_dbi)-1 || !feed || strlen(feed) > S_FEED_MAX)
        return EINVAL;
    uint8_t key[S_KEY_MAX];
    size_t klen = s_key(key, feed, seq);
    Pay__QuarantinedEvent ev = PAY__QUARANTINED_EVENT__INIT;
    ev.feed = (char *)feed;
    ev.has_seq = 1;
    ev.seq = seq;
    ev.reason = (char *)(why && why->reason[0] ? why->reason : "refused");
    ev.has_payload = 1;
    ev.payload.data = (uint8_t *)payload;
    ev.payload.len = payload ? len : 0;
    if (why && why->prison[0])
        ev.prison = (char *)why->prison;
    if (why && why->week[0])
        ev.week = (char *)why->week;
    ev.has_at = 1;
    ev.at = (int64_t)time(NULL);
    int rc = s_put_event(txn, dbi, key, klen, &ev);
    if (rc == 0)
        log_warn("feed.quarantined", "%s seq %" PRIu64 " quarantined: %s", feed, seq, ev.reason);
    return rc;
}

/* Walks the entries of `feed` (NULL: all): fn gets each key and value. */
typedef int (s_walk_fn)(const MDB_val *k, const MDB_val *v, void *arg);

static int s_walk(MDB_txn *txn, store_t *store, const char *feed, s_walk_fn *fn, void *arg)
{
    MDB_dbi dbi = s_dbi(store);
    if (dbi == (MDB_dbi)-1)
        return EINVAL;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return rc;
    uint8_t start[S_KEY_MAX];
    size_t slen = 0;
    if (feed) {
        if (strlen(feed) > S_FEED_MAX) {
            mdb_cursor_close(cur);
            return EINVAL;
        }
        slen = strlen(feed) + 1;
        memcpy(start, feed, slen);   /* the name and its NUL */
    }
    MDB_val k = {slen, start}, v;
    rc = mdb_cursor_get(cur, &k, &v, slen ? MDB_SET_RANGE : MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (slen && (k.mv_size < slen || memcmp(k.mv_data, start, slen) != 0))
            break;
        int r = fn(&k, &v, arg);
        if (r != 0) {
            mdb_cursor_close(cur);
            return r;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

static int s_count_one(const MDB_val *k, const MDB_val *v, void *arg)
{
    (void)k;
    (void)v;
    (*(uint64_t *)arg)++;
    return 0;
}

int feed_quarantine_count(MDB_txn *txn, store_t *store, const char *feed, uint64_t *n)
{
    *n = 0;
    if (!feed) {
        /* Every entry: the database's own count, no walk. */
        MDB_stat st;
        MDB_dbi dbi = s_dbi(store);
        if (dbi == (MDB_dbi)-1)
            return EINVAL;
        int rc = mdb_stat(txn, dbi, &st);
        if (rc == 0)
            *n = st.ms_entries;
        return rc;
    }
    return s_walk(txn, store, feed, s_count_one, n);
}

typedef struct {
    feed_quarantine_fn *fn;
    void *arg;
} s_each_t;

static int s_each_one(const MDB_val *k, const MDB_val *v, void *arg)
{
    s_each_t *e = arg;
    (void)k;
    Pay__QuarantinedEvent *ev = pay__quarantined_event__unpack(NULL, v->mv_size, v->mv_data);
    if (!ev)
        return MDB_CORRUPTED;
    int rc = e->fn(ev, e->arg);
    pay__quarantined_event__free_unpacked(ev, NULL);
    return rc;
}

int feed_quarantine_each(MDB_txn *txn, store_t *store, const char *feed,
                         feed_quarantine_fn *fn, void *arg)
{
    s_each_t e = {fn, arg};
    return s_walk(txn, store, feed, s_each_one, &e);
}

/* The keys to retry, gathered before any write (no cursor over a database
 * being written). */
typedef struct {
    uint8_t (*keys)[S_KEY_MAX];
    size_t *lens;
    size_t n, cap;
    uint64_t only_seq;
} s_keys_t;

static int s_gather(const MDB_val *k, const MDB_val *v, void *arg)
{
    s_keys_t *ks = arg;
    char feed[S_FEED_MAX + 1];
    uint64_t seq;
    (void)v;
    if (s_unkey(k, feed, &seq) != 0 || (ks->only_seq && seq != ks->only_seq))
        return 0;
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 16;
        void *a = realloc(ks->keys, cap * sizeof *ks->keys);
        if (a)
            ks->keys = a;
        void *b = realloc(ks->lens, cap * sizeof *ks->lens);
        if (b)
            ks->lens = b;
        if (!a || !b)
            return ENOMEM;
        ks->cap = cap;
    }
    memcpy(ks->keys[ks->n], k->mv_data, k->mv_size);
    ks->lens[ks->n++] = k->mv_size;
    return 0;
}

int feed_quarantine_retry(MDB_txn *txn, store_t *store, const char *feed, uint64_t seq,
                          feed_apply_fn *apply, void *arg, uint32_t *applied,
                          uint32_t *remaining)
{
    s_keys_t ks = {0};
    MDB_dbi dbi = s_dbi(store);
    int rc;
    *applied = *remaining = 0;
    if (dbi == (MDB_dbi)-1)
        return EINVAL;
    ks.only_seq = seq;
    if ((rc = s_walk(txn, store, feed, s_gather, &ks)) != 0)
        goto done;
    for (size_t i = 0; i < ks.n; i++) {
        MDB_val k = {ks.lens[i], ks.keys[i]}, v;
        if ((rc = mdb_get(txn, dbi, &k, &v)) != 0)
            goto done;
        /* A copy: the apply writes, and LMDB's pointers last only until
         * the next write. */
        Pay__QuarantinedEvent *ev =
            pay__quarantined_event__unpack(NULL, v.mv_size, v.mv_data);
        if (!ev) {
            rc = MDB_CORRUPTED;
            goto done;
        }
        feed_refusal_t why;
        memset(&why, 0, sizeof why);
        rc = apply(txn, ev->seq, ev->has_payload ? ev->payload.data : NULL,
                   ev->has_payload ? ev->payload.len : 0, arg, &why);
        if (rc == 0) {
            log_info("feed.released", "%s seq %" PRIu64 " applied on retry",
                     ev->feed ? ev->feed : "?", ev->seq);
            (*applied)++;
            rc = mdb_del(txn, dbi, &k, NULL);
        } else if (rc == FEED_REFUSED) {
            char *old = ev->reason;
            ev->reason = why.reason;
            ev->has_tries = 1;
            ev->tries++;
            rc = s_put_event(txn, dbi, ks.keys[i], ks.lens[i], ev);
            ev->reason = old;   /* unpack's own, freed with the event */
        }
        pay__quarantined_event__free_unpacked(ev, NULL);
        if (rc != 0)
            goto done;
    }
    uint64_t left = 0;
    if ((rc = feed_quarantine_count(txn, store, feed, &left)) == 0)
        *remaining = (uint32_t)left;
done:
    free(ks.keys);
    free(ks.lens);
    return rc;
}

typedef struct {
    ProtobufCAllocator *alloc;
    Pay__QuarantineReply *out;
    size_t cap;
} s_reply_t;

static int s_reply_one(const MDB_val *k, const MDB_val *v, void *arg)
{
    s_reply_t *r = arg;
    (void)k;
    if (r->out->n_events == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        Pay__QuarantinedEvent **a = r->alloc->alloc(r->alloc->allocator_data, cap * sizeof *a);
        if (!a)
            return ENOMEM;
        if (r->out->n_events)
            memcpy(a, r->out->events, r->out->n_events * sizeof *a);
        r->out->events = a;   /* the old array stays in the arena */
        r->cap = cap;
    }
    Pay__QuarantinedEvent *ev = pay__quarantined_event__unpack(r->alloc, v->mv_size, v->mv_data);
    if (!ev)
        return ENOMEM;
    r->out->events[r->out->n_events++] = ev;
    return 0;
}

int feed_quarantine_reply(MDB_txn *txn, store_t *store, const char *feed,
                          ProtobufCAllocator *alloc, Pay__QuarantineReply *out)
{
    s_reply_t r = {alloc, out, 0};
    int rc = s_walk(txn, store, feed, s_reply_one, &r);
    out->has_remaining = 1;
    out->remaining = (uint32_t)out->n_events;
    return rc;
}
