/* feed_test: the durable feed's guarantees, in one process.
 *
 * - Outbox seqs come from the database inside the transaction, so a nested
 *   transaction that aborts leaves no gap.
 * - The consumer's apply step skips duplicates, stops at a gap, rolls a
 *   failed batch back whole, and moves its cursor only with what it applied.
 * - A real producer never sends more entries than the credit granted: a raw
 *   DEALER that never acks gets exactly `credit` entries, then heartbeats.
 * - Only `service` identities may subscribe.
 * - A real consumer follows a real producer through a consumer restart, a
 *   producer restart and a failing apply, applying every event once.
 * - Both ends run inside a server.h loop through feed_*_attach: events
 *   appended by API handlers reach a consumer in the same loop. */
#define _XOPEN_SOURCE 700   /* nftw */
#include "tap.h"

#include "auth.h"
#include "client.h"
#include "clock.h"
#include "codec.h"
#include "feed.h"
#include "feed_quarantine.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "testsvc.pb-c.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void s_rmtree(const char *dir)
{
    nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- Outbox ------------------------------------------------------------ */

static int s_has_key(store_t *st, MDB_dbi dbi, uint64_t seq, char *first_byte)
{
    MDB_txn *txn = NULL;
    MDB_val v;
    uint8_t key[8];
    int found = 0;
    store_be64_put(key, seq);
    if (store_read_begin(st, &txn) != 0)
        return 0;
    if (store_get(txn, dbi, key, 8, &v) == 0) {
        found = 1;
        if (first_byte)
            *first_byte = v.mv_size ? *(char *)v.mv_data : '\0';
    }
    mdb_txn_abort(txn);
    return found;
}

static int s_fail_after_append(MDB_txn *txn, void *arg)
{
    uint64_t seq = 0;
    feed_outbox_append(txn, *(MDB_dbi *)arg, "x", 1, &seq);
    return -1;   /* abort the whole transaction */
}

static void s_test_outbox(store_t *st)
{
    MDB_dbi ob = store_dbi(st, "outbox");
    MDB_txn *txn = NULL, *child = NULL;
    uint64_t seq = 0, head = 0;
    char c = 0;
    static char big[FEED_MAX_PAYLOAD + 1];

    TAP_EQ_INT(mdb_txn_begin(store_env(st), NULL, 0, &txn), 0, "begin write txn");
    TAP_EQ_INT(feed_outbox_append(txn, ob, "a", 1, &seq), 0, "append a");
    TAP_EQ_INT(seq, 1, "first event gets seq 1");

    TAP_EQ_INT(mdb_txn_begin(store_env(st), txn, 0, &child), 0, "begin nested txn");
    TAP_EQ_INT(feed_outbox_append(child, ob, "b", 1, &seq), 0, "append b in nested txn");
    TAP_EQ_INT(seq, 2, "nested append gets seq 2");
    mdb_txn_abort(child);

    TAP_EQ_INT(feed_outbox_append(txn, ob, "c", 1, &seq), 0, "append c after the abort");
    TAP_EQ_INT(seq, 2, "the aborted nested append left no gap");

    TAP_EQ_INT(mdb_txn_begin(store_env(st), txn, 0, &child), 0, "begin second nested txn");
    TAP_EQ_INT(feed_outbox_append(child, ob, "d", 1, &seq), 0, "append d in nested txn");
    TAP_EQ_INT(mdb_txn_commit(child), 0, "commit nested txn");
    TAP_EQ_INT(seq, 3, "committed nested append gets seq 3");
    TAP_EQ_INT(feed_outbox_append(txn, ob, big, sizeof big, &seq), MDB_BAD_VALSIZE,
               "a payload over FEED_MAX_PAYLOAD is refused");
    TAP_EQ_INT(mdb_txn_commit(txn), 0, "commit");

    TAP_OK(store_write(st, s_fail_after_append, &ob) != 0, "aborted store_write");
    TAP_EQ_INT(mdb_txn_begin(store_env(st), NULL, 0, &txn), 0, "begin write txn");
    TAP_EQ_INT(feed_outbox_append(txn, ob, "e", 1, &seq), 0, "append e");
    TAP_EQ_INT(seq, 4, "an aborted top-level txn left no gap either");
    TAP_EQ_INT(feed_outbox_head(txn, ob, &head), 0, "head");
    TAP_EQ_INT(head, 4, "head is the last seq");
    TAP_EQ_INT(mdb_txn_commit(txn), 0, "commit");

    TAP_OK(s_has_key(st, ob, 1, &c) && c == 'a', "seq 1 holds a");
    TAP_OK(s_has_key(st, ob, 2, &c) && c == 'c', "seq 2 holds c (not the aborted b)");
    TAP_OK(s_has_key(st, ob, 3, &c) && c == 'd', "seq 3 holds d");
    TAP_OK(s_has_key(st, ob, 4, &c) && c == 'e', "seq 4 holds e");
    TAP_OK(!s_has_key(st, ob, 5, NULL), "nothing after seq 4");
}

/* Pruning, and the stored next seq. */
static int s_drop_next_seq(MDB_txn *txn, void *arg)
{
    (void)arg;
    MDB_dbi meta;
    MDB_val k = {8, "next_seq"};
    int rc = mdb_dbi_open(txn, FEED_META_DB, 0, &meta);
    return rc ? rc : mdb_del(txn, meta, &k, NULL);
}

typedef struct {
    MDB_dbi ob;
    uint64_t through;
    size_t max, deleted;
    uint64_t seq;
} s_prune_arg_t;

static int s_prune_body(MDB_txn *txn, void *arg)
{
    s_prune_arg_t *p = arg;
    return feed_outbox_prune(txn, p->ob, p->through, p->max, &p->deleted);
}

static int s_append_body(MDB_txn *txn, void *arg)
{
    s_prune_arg_t *p = arg;
    return feed_outbox_append(txn, p->ob, "z", 1, &p->seq);
}

static uint64_t s_first(store_t *st, MDB_dbi ob, uint64_t *head)
{
    MDB_txn *txn = NULL;
    uint64_t first = 0;
    if (store_read_begin(st, &txn) != 0)
        return 0;
    if (feed_outbox_first(txn, ob, &first) != 0 || feed_outbox_head(txn, ob, head) != 0)
        first = 0;
    mdb_txn_abort(txn);
    return first;
}

static void s_test_outbox_prune(const char *dir)
{
    char path[512];
    const char *names[] = {"outbox", FEED_META_DB, NULL};
    const char *bare[] = {"outbox", NULL};
    uint64_t head = 0;
    snprintf(path, sizeof path, "%s/prune", dir);
    store_t *st = store_open(path, names, 0);
    TAP_OK(st != NULL, "prune: store");
    if (!st)
        return;
    MDB_dbi ob = store_dbi(st, "outbox");
    s_prune_arg_t p = {ob, 0, 0, 0, 0};
    for (int i = 0; i < 10; i++)
        store_write(st, s_append_body, &p);
    TAP_EQ_INT(p.seq, 10, "prune: ten events appended");
    TAP_EQ_INT(s_first(st, ob, &head), 1, "prune: nothing pruned yet, the outbox starts at 1");
    TAP_EQ_INT(head, 10, "prune: head 10");

    p.through = 4;
    p.max = 100;
    TAP_EQ_INT(store_write(st, s_prune_body, &p), 0, "prune through 4");
    TAP_EQ_INT(p.deleted, 4, "prune: 4 deleted");
    TAP_EQ_INT(s_first(st, ob, &head), 5, "prune: the outbox starts at 5");
    TAP_OK(!s_has_key(st, ob, 4, NULL) && s_has_key(st, ob, 5, NULL), "prune: 4 gone, 5 kept");
    p.through = 10;
    p.max = 3;
    TAP_EQ_INT(store_write(st, s_prune_body, &p), 0, "prune through 10, at most 3");
    TAP_EQ_INT(p.deleted, 3, "prune: bounded to 3");
    TAP_EQ_INT(s_first(st, ob, &head), 8, "prune: a bounded step records only what went");
    p.max = 100;
    TAP_EQ_INT(store_write(st, s_prune_body, &p), 0, "prune the rest");
    TAP_EQ_INT(s_first(st, ob, &head), 11, "prune: everything gone, the outbox starts at 11");
    TAP_EQ_INT(head, 10, "prune: the head stays 10 with the outbox empty");
    TAP_OK(!s_has_key(st, ob, 10, NULL), "prune: the outbox is empty");
    store_write(st, s_append_body, &p);
    TAP_EQ_INT(p.seq, 11, "an outbox pruned to empty goes on at 11, not 1");
    p.through = 5;
    TAP_EQ_INT(store_write(st, s_prune_body, &p), 0, "pruning below what is gone");
    TAP_EQ_INT(p.deleted, 0, "prune: deletes nothing");

    /* A store from before the next seq was stored: derived once, then kept. */
    TAP_EQ_INT(store_write(st, s_drop_next_seq, NULL), 0, "drop the stored next seq");
    TAP_EQ_INT(s_first(st, ob, &head), 11, "old store: first seq kept");
    TAP_EQ_INT(head, 11, "old store: head derived from the last key");
    store_write(st, s_append_body, &p);
    TAP_EQ_INT(p.seq, 12, "old store: the next append follows the last key");

    MDB_txn *txn = NULL;
    uint64_t acked = 99;
    store_read_begin(st, &txn);
    TAP_EQ_INT(feed_outbox_ack_read(txn, "wages", &acked), 0, "ack of an unknown consumer");
    TAP_EQ_INT(acked, 0, "is 0");
    mdb_txn_abort(txn);
    store_destroy(&st);

    snprintf(path, sizeof path, "%s/bare", dir);
    st = store_open(path, bare, 0);
    p.ob = store_dbi(st, "outbox");
    TAP_EQ_INT(store_write(st, s_append_body, &p), MDB_INCOMPATIBLE,
               "a store without " FEED_META_DB " cannot hold an outbox");
    store_destroy(&st);

    /* Where pruning may go: what every registered consumer acknowledged,
     * keeping the last `retain`. */
    uint64_t a[3] = {900, 700, 800};
    TAP_EQ_INT(feed_prune_target(a, 3, 1000, 100), 700, "target: the slowest consumer");
    TAP_EQ_INT(feed_prune_target(a, 3, 1000, 500), 500, "target: the retention");
    TAP_EQ_INT(feed_prune_target(a, 0, 1000, 1), 0, "target: nobody registered, nothing");
    uint64_t z[2] = {1000, 0};
    TAP_EQ_INT(feed_prune_target(z, 2, 1000, 1), 0, "target: a consumer never seen holds all");
    TAP_EQ_INT(feed_prune_target(a, 1, 50, 100), 0, "target: fewer events than the retention");
}

/* ---- Apply step -------------------------------------------------------- */

typedef struct {
    MDB_dbi applied;
    uint64_t fail_at;       /* apply of this seq fails ... */
    int fail_times;         /* ... this many times (-1: always) */
    int calls;
    int failures;
    int duplicate_applies;  /* MDB_KEYEXIST seen: an event applied twice */
    uint64_t refuse_at;     /* apply of this seq is refused (quarantined) */
} s_sink_t;

static int s_sink_apply(MDB_txn *txn, uint64_t seq, const uint8_t *payload,
                        size_t len, void *arg, feed_refusal_t *why)
{
    s_sink_t *s = arg;
    if (seq == s->refuse_at)
        return feed_refuse(why, "MDI", "2026-W48", "seq %llu is refused by the test",
                           (unsigned long long)seq);
    uint8_t key[8];
    int rc;
    s->calls++;
    if (seq == s->fail_at && s->fail_times != 0) {
        if (s->fail_times > 0)
            s->fail_times--;
        s->failures++;
        return -1;
    }
    store_be64_put(key, seq);
    rc = store_put(txn, s->applied, key, 8, len ? payload : (const void *)"", len,
                   MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST)
        s->duplicate_applies++;
    return rc;
}

#define S_MAX_ENTRIES 16

typedef struct {
    Pay__FeedBatch batch;
    Pay__FeedEntry entries[S_MAX_ENTRIES];
    Pay__FeedEntry *ptrs[S_MAX_ENTRIES];
    uint8_t payloads[S_MAX_ENTRIES][8];
} s_batch_t;

static const Pay__FeedBatch *s_batch(s_batch_t *b, const uint64_t *seqs, size_t n)
{
    pay__feed_batch__init(&b->batch);
    for (size_t i = 0; i < n && i < S_MAX_ENTRIES; i++) {
        pay__feed_entry__init(&b->entries[i]);
        b->entries[i].has_seq = 1;
        b->entries[i].seq = seqs[i];
        store_be64_put(b->payloads[i], seqs[i] * 10);
        b->entries[i].has_payload = 1;
        b->entries[i].payload.len = 8;
        b->entries[i].payload.data = b->payloads[i];
        b->ptrs[i] = &b->entries[i];
    }
    b->batch.n_entries = n;
    b->batch.entries = b->ptrs;
    return &b->batch;
}

static uint64_t s_cursor(store_t *st, const char *feed)
{
    MDB_txn *txn = NULL;
    uint64_t c = 0;
    if (store_read_begin(st, &txn) == 0) {
        if (feed_cursor_read(txn, store_dbi(st, "cursor"), feed, &c) != 0)
            c = (uint64_t)-1;
        mdb_txn_abort(txn);
    }
    return c;
}

typedef struct {
    s_sink_t *sink;
    store_t *store;
    uint32_t applied, remaining;
} s_retry_t;

static int s_retry_txn(MDB_txn *txn, void *arg)
{
    s_retry_t *rt = arg;
    return feed_quarantine_retry(txn, rt->store, "t", 0, s_sink_apply, rt->sink, &rt->applied,
                                 &rt->remaining);
}

typedef struct {
    uint64_t seq;
    uint32_t tries;
    char reason[FEED_REASON_LEN];
} s_tries_t;

static int s_tries_of(const Pay__QuarantinedEvent *ev, void *arg)
{
    s_tries_t *t = arg;
    t->seq = ev->seq;
    t->tries = ev->tries;
    snprintf(t->reason, sizeof t->reason, "%s", ev->reason ? ev->reason : "");
    return 0;
}

static void s_test_apply(store_t *st)
{
    s_sink_t sink = {store_dbi(st, "applied"), 0, 0, 0, 0, 0, 0};
    MDB_dbi cur = store_dbi(st, "cursor");
    feed_batch_result_t r;
    s_batch_t b;
    int rc;

    const uint64_t b1[] = {1, 2, 3};
    rc = feed_batch_apply(st, cur, "t", s_batch(&b, b1, 3), s_sink_apply, &sink, &r);
    TAP_EQ_INT(rc, 0, "batch 1..3 commits");
    TAP_OK(r.applied == 3 && r.duplicates == 0 && !r.gap && r.cursor == 3,
           "batch 1..3: 3 applied, cursor 3");

    const uint64_t b2[] = {2, 3, 4, 5};
    rc = feed_batch_apply(st, cur, "t", s_batch(&b, b2, 4), s_sink_apply, &sink, &r);
    TAP_EQ_INT(rc, 0, "batch 2..5 commits");
    TAP_OK(r.applied == 2 && r.duplicates == 2 && !r.gap && r.cursor == 5,
           "batch 2..5: duplicates 2,3 skipped, 4,5 applied (applied %u dup %u)",
           r.applied, r.duplicates);

    const uint64_t b3[] = {5, 6, 8, 9};
    rc = feed_batch_apply(st, cur, "t", s_batch(&b, b3, 4), s_sink_apply, &sink, &r);
    TAP_EQ_INT(rc, 0, "batch 5,6,8,9 commits");
    TAP_OK(r.applied == 1 && r.duplicates == 1 && r.gap && r.cursor == 6,
           "batch 5,6,8,9: 6 applied, stopped at the gap before 8");
    TAP_EQ_INT(r.max_seq, 9, "max seq seen is reported for lag");
    TAP_OK(!s_has_key(st, sink.applied, 8, NULL), "seq 8 (after the gap) not applied");
    TAP_EQ_INT(s_cursor(st, "t"), 6, "durable cursor is 6");

    const uint64_t b4[] = {9};
    rc = feed_batch_apply(st, cur, "t", s_batch(&b, b4, 1), s_sink_apply, &sink, &r);
    TAP_OK(rc == 0 && r.applied == 0 && r.gap && r.cursor == 6,
           "a batch that starts past cursor + 1 applies nothing");

    const uint64_t b5[] = {7, 8};
    sink.fail_at = 8;
    sink.fail_times = -1;
    rc = feed_batch_apply(st, cur, "t", s_batch(&b, b5, 2), s_sink_apply, &sink, &r);
    TAP_OK(rc != 0, "a failing apply fails the batch");
    TAP_EQ_INT(r.failed_seq, 8, "the failing seq is reported");
    TAP_OK(!s_has_key(st, sink.applied, 7, NULL), "seq 7 rolled back with the batch");
    TAP_EQ_INT(s_cursor(st, "t"), 6, "cursor unchanged after the failure");

    sink.fail_at = 0;
    rc = feed_batch_apply(st, cur, "t", s_batch(&b, b5, 2), s_sink_apply, &sink, &r);
    TAP_OK(rc == 0 && r.applied == 2 && r.cursor == 8, "retrying the batch applies 7 and 8");

    rc = feed_batch_apply(st, cur, "t", s_batch(&b, b1, 0), s_sink_apply, &sink, &r);
    TAP_OK(rc == 0 && r.applied == 0 && r.cursor == 8, "an empty batch changes nothing");

    const uint64_t b6[] = {1, 2, 3, 4, 5, 6, 7, 8};
    rc = feed_batch_apply(st, cur, "t", s_batch(&b, b6, 8), s_sink_apply, &sink, &r);
    TAP_OK(rc == 0 && r.applied == 0 && r.duplicates == 8, "a replay of 1..8 is all duplicates");
    TAP_EQ_INT(sink.duplicate_applies, 0, "no event was ever applied twice");
    for (uint64_t s = 1; s <= 8; s++)
        if (!s_has_key(st, sink.applied, s, NULL))
            TAP_OK(0, "seq %llu applied", (unsigned long long)s);
    TAP_OK(s_cursor(st, "other") == 0, "another feed's cursor is independent");

    /* Group commit: several batches in one transaction. */
    s_batch_t g1, g2, g3;
    const uint64_t stale[] = {12, 13};       /* cursor is 8: a gap */
    const uint64_t fresh[] = {8, 9, 10};     /* a duplicate, then progress */
    const uint64_t after[] = {11, 14};       /* progress, then a gap */
    const Pay__FeedBatch *group[3] = {s_batch(&g1, stale, 2), s_batch(&g2, fresh, 3),
                                      s_batch(&g3, after, 2)};
    rc = feed_batches_apply(st, cur, "t", group, 2, s_sink_apply, &sink, &r);
    TAP_OK(rc == 0 && r.applied == 2 && r.duplicates == 1 && r.cursor == 10,
           "a gap ends its own batch only: the next batch applies 9, 10");
    TAP_EQ_INT(r.gap, 0, "a gap before later progress is not reported");
    TAP_OK(!s_has_key(st, sink.applied, 12, NULL), "the stale batch after the gap was not applied");
    rc = feed_batches_apply(st, cur, "t", group + 2, 1, s_sink_apply, &sink, &r);
    TAP_OK(rc == 0 && r.applied == 1 && r.gap == 1 && r.cursor == 11,
           "a gap after the last progress is reported");
    sink.fail_at = 13;
    sink.fail_times = 1;
    const uint64_t b7[] = {12}, b8[] = {13};
    s_batch_t g4, g5;
    const Pay__FeedBatch *pair[2] = {s_batch(&g4, b7, 1), s_batch(&g5, b8, 1)};
    rc = feed_batches_apply(st, cur, "t", pair, 2, s_sink_apply, &sink, &r);
    TAP_OK(rc != 0 && r.failed_seq == 13, "a failure in the second batch fails the group");
    TAP_OK(!s_has_key(st, sink.applied, 12, NULL) && s_cursor(st, "t") == 11,
           "the first batch of the failed group rolled back too");
    rc = feed_batches_apply(st, cur, "t", pair, 2, s_sink_apply, &sink, &r);
    TAP_OK(rc == 0 && r.applied == 2 && s_cursor(st, "t") == 13, "the retried group applies");
    TAP_EQ_INT(sink.duplicate_applies, 0, "still no event applied twice");

    /* An event the consumer cannot apply is quarantined, never skipped:
     * the cursor moves past it in the same transaction as its entry. */
    sink.fail_at = 0;
    sink.refuse_at = 15;
    const uint64_t b9[] = {14, 15, 16};
    rc = feed_batch_apply(st, cur, "t", s_batch(&b, b9, 3), s_sink_apply, &sink, &r);
    TAP_OK(rc == 0 && r.applied == 3 && r.quarantined == 1 && r.cursor == 16,
           "a refused event is quarantined and the batch goes on (applied %u, "
           "quarantined %u, cursor %llu)", r.applied, r.quarantined,
           (unsigned long long)r.cursor);
    TAP_OK(!s_has_key(st, sink.applied, 15, NULL) && s_has_key(st, sink.applied, 16, NULL),
           "15 held back, 16 applied");
    MDB_txn *txn = NULL;
    uint64_t n = 0;
    store_read_begin(st, &txn);
    feed_quarantine_count(txn, st, "t", &n);
    TAP_EQ_INT(n, 1, "one entry in the quarantine of feed t");
    feed_quarantine_count(txn, st, "other", &n);
    TAP_EQ_INT(n, 0, "none for another feed");
    mdb_txn_abort(txn);

    /* A replay of the refused event is a duplicate, not a second entry. */
    rc = feed_batch_apply(st, cur, "t", s_batch(&b, b9, 3), s_sink_apply, &sink, &r);
    TAP_OK(rc == 0 && r.duplicates == 3 && r.quarantined == 0, "a resend is a duplicate");

    /* Retry while the cause stands: still held, one more try counted. */
    s_retry_t rt = {&sink, st, 0, 0};
    rc = store_write(st, s_retry_txn, &rt);
    TAP_OK(rc == 0 && rt.applied == 0 && rt.remaining == 1, "a retry that is refused again "
           "keeps the entry (applied %u, remaining %u)", rt.applied, rt.remaining);
    s_tries_t tr = {0, 0, ""};
    store_read_begin(st, &txn);
    feed_quarantine_each(txn, st, "t", s_tries_of, &tr);
    mdb_txn_abort(txn);
    TAP_OK(tr.seq == 15 && tr.tries == 1 && strstr(tr.reason, "refused by the test"),
           "the entry keeps seq, reason and counts the try (seq %llu, tries %u, %s)",
           (unsigned long long)tr.seq, tr.tries, tr.reason);
    /* The fix: now it applies, exactly once, and leaves the quarantine. */
    sink.refuse_at = 0;
    rc = store_write(st, s_retry_txn, &rt);
    TAP_OK(rc == 0 && rt.applied == 1 && rt.remaining == 0, "after the fix the retry applies it");
    TAP_OK(s_has_key(st, sink.applied, 15, NULL), "seq 15 applied");
    rc = store_write(st, s_retry_txn, &rt);
    TAP_OK(rc == 0 && rt.applied == 0 && rt.remaining == 0, "a second retry finds nothing");
    TAP_EQ_INT(sink.duplicate_applies, 0, "nothing applied twice");
    TAP_EQ_INT(s_cursor(st, "t"), 16, "the cursor is untouched by the retry");
}

/* ---- Producer and consumer over sockets --------------------------------- */

typedef struct {
    uint64_t fill;          /* append until the outbox head is this */
    MDB_dbi outbox;
} s_fill_t;

static int s_fill_txn(MDB_txn *txn, void *arg)
{
    s_fill_t *f = arg;
    uint64_t head = 0, seq = 0;
    uint8_t p[8];
    int rc = feed_outbox_head(txn, f->outbox, &head);
    while (rc == 0 && head < f->fill) {
        store_be64_put(p, (head + 1) * 10);
        rc = feed_outbox_append(txn, f->outbox, p, 8, &seq);
        head = seq;
    }
    return rc;
}

static void s_fill(store_t *st, uint64_t upto)
{
    s_fill_t f = {upto, store_dbi(st, "outbox")};
    if (store_write(st, s_fill_txn, &f) != 0)
        TAP_OK(0, "fill outbox to %llu", (unsigned long long)upto);
}

/* What a raw DEALER has received. */
typedef struct {
    void *sock;
    int entries;
    int batches;
    int max_batch;
    uint64_t last_seq;
    int contiguous;
    int heartbeats;
    uint64_t hb_head;
    int pruned;
    uint64_t pruned_first;
    int other;
} s_raw_t;

static void s_raw_recv(s_raw_t *r)
{
    for (;;) {
        zmq_msg_t m;
        char err[CODEC_ERR_LEN];
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, r->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        Pay__FeedMessage *fm = (Pay__FeedMessage *)codec_unpack(
            &pay__feed_message__descriptor, zmq_msg_data(&m), zmq_msg_size(&m),
            16 * zmq_msg_size(&m) + 262144, err);
        zmq_msg_close(&m);
        if (!fm) {
            r->other++;
            continue;
        }
        if (fm->kind_case == PAY__FEED_MESSAGE__KIND_BATCH) {
            r->batches++;
            if ((int)fm->batch->n_entries > r->max_batch)
                r->max_batch = (int)fm->batch->n_entries;
            for (size_t i = 0; i < fm->batch->n_entries; i++) {
                uint64_t seq = fm->batch->entries[i]->seq;
                if (r->last_seq && seq != r->last_seq + 1)
                    r->contiguous = 0;
                r->last_seq = seq;
                r->entries++;
            }
        } else if (fm->kind_case == PAY__FEED_MESSAGE__KIND_HEARTBEAT) {
            r->heartbeats++;
            r->hb_head = fm->heartbeat->head_seq;
        } else if (fm->kind_case == PAY__FEED_MESSAGE__KIND_PRUNED) {
            r->pruned++;
            r->pruned_first = fm->pruned->first_seq;
        } else {
            r->other++;
        }
        codec_free((ProtobufCMessage **)&fm);
    }
}

static int s_raw_send(void *sock, int subscribe, uint64_t seq, uint32_t credit)
{
    Pay__FeedRequest req = PAY__FEED_REQUEST__INIT;
    Pay__Subscribe sub = PAY__SUBSCRIBE__INIT;
    Pay__Ack ack = PAY__ACK__INIT;
    zmq_msg_t m;
    if (subscribe) {
        sub.has_from_seq = sub.has_credit = 1;
        sub.from_seq = seq;
        sub.credit = credit;
        req.kind_case = PAY__FEED_REQUEST__KIND_SUBSCRIBE;
        req.subscribe = &sub;
    } else {
        ack.has_applied_seq = ack.has_credit = 1;
        ack.applied_seq = seq;
        ack.credit = credit;
        req.kind_case = PAY__FEED_REQUEST__KIND_ACK;
        req.ack = &ack;
    }
    if (codec_pack_msg(&req.base, &m) != 0)
        return -1;
    if (zmq_msg_send(&m, sock, 0) < 0) {
        zmq_msg_close(&m);
        return -1;
    }
    return 0;
}

static void *s_raw_dealer(void *ctx, const char *rid, const auth_keypair_t *kp,
                          const char *server_pub, const char *endpoint)
{
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(d, ZMQ_ROUTING_ID, rid, strlen(rid));
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    if (auth_curve_client(d, kp, server_pub, CODEC_MAX_FRAME) != 0
        || zmq_connect(d, endpoint) != 0) {
        zmq_close(d);
        return NULL;
    }
    return d;
}

/* Connects a DEALER with `kp` and watches its handshake. Returns 1 if the
 * server refused it (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0 if it succeeded,
 * -1 if neither happened within `ms`. */
static int s_handshake_refused(void *ctx, const auth_keypair_t *kp, const char *server_pub,
                               const char *endpoint, int ms)
{
    static int serial;
    char mon_ep[64];
    int zero = 0, result = -1;
    void *d = zmq_socket(ctx, ZMQ_DEALER), *mon = zmq_socket(ctx, ZMQ_PAIR);
    snprintf(mon_ep, sizeof mon_ep, "inproc://feed-test-hs-%d", serial++);
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_socket_monitor(d, mon_ep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                                          | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0
        || zmq_connect(mon, mon_ep) != 0 || auth_curve_client(d, kp, server_pub, 65536) != 0
        || zmq_connect(d, endpoint) != 0)
        goto done;
    zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) == 1) {
        zmq_msg_t ev;
        uint16_t event = 0;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, mon, 0) >= 6)
            memcpy(&event, zmq_msg_data(&ev), sizeof event);
        while (zmq_msg_more(&ev)) {   /* the endpoint frame */
            zmq_msg_close(&ev);
            zmq_msg_init(&ev);
            if (zmq_msg_recv(&ev, mon, 0) < 0)
                break;
        }
        zmq_msg_close(&ev);
        result = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? 1
                 : event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED ? 0 : -1;
    }
done:
    zmq_socket_monitor(d, NULL, 0);
    zmq_close(d);
    zmq_close(mon);
    return result;
}

/* Everything that may be running, driven like a service loop. */
typedef struct {
    feed_producer_t *producer;
    feed_consumer_t *consumer;
    s_raw_t *raw[2];
} s_world_t;

/* Runs the loop for `ms`, or until the consumer's cursor reaches `until`
 * (if non-zero). */
static void s_run(s_world_t *w, int ms, uint64_t until)
{
    int64_t end = clock_mono_ms() + ms, next_tick = 0;
    for (;;) {
        int64_t now = clock_mono_ms();
        if (now >= end || (until && w->consumer && feed_consumer_cursor(w->consumer) >= until))
            return;
        zmq_pollitem_t items[4];
        int n = 0, ip = -1, ic = -1, ir[2] = {-1, -1};
        if (w->producer) {
            ip = n;
            items[n++] = (zmq_pollitem_t){feed_producer_socket(w->producer), 0, ZMQ_POLLIN, 0};
        }
        if (w->consumer) {
            ic = n;
            items[n++] = (zmq_pollitem_t){feed_consumer_socket(w->consumer), 0, ZMQ_POLLIN, 0};
        }
        for (int i = 0; i < 2; i++)
            if (w->raw[i]) {
                ir[i] = n;
                items[n++] = (zmq_pollitem_t){w->raw[i]->sock, 0, ZMQ_POLLIN, 0};
            }
        zmq_poll(items, n, 20);
        if (ip >= 0 && (items[ip].revents & ZMQ_POLLIN))
            feed_producer_on_readable(w->producer);
        if (ic >= 0 && (items[ic].revents & ZMQ_POLLIN))
            feed_consumer_on_readable(w->consumer);
        for (int i = 0; i < 2; i++)
            if (ir[i] >= 0 && (items[ir[i]].revents & ZMQ_POLLIN))
                s_raw_recv(w->raw[i]);
        now = clock_mono_ms();
        if (now >= next_tick) {
            if (w->producer)
                feed_producer_tick(w->producer);
            if (w->consumer)
                feed_consumer_tick(w->consumer);
            next_tick = now + 50;
        }
    }
}

static const char *const *s_consumers;   /* of the next s_producer */
static uint64_t s_retain;
static auth_t *s_auth;   /* the test's running ZAP handler */

static feed_producer_t *s_producer(void *ctx, store_t *st, const char *endpoint,
                                   const auth_keypair_t *server)
{
    feed_producer_opts_t po = {0};
    po.batch_max_entries = 256;
    po.heartbeat_ms = 200;
    po.peer_timeout_ms = 5000;
    po.consumers = s_consumers;
    po.retain = s_retain;
    po.prune_ms = 100;
    /* A just-closed socket's port is released by the reaper thread: retry. */
    for (int i = 0; i < 50; i++) {
        feed_producer_t *p = feed_producer_new(ctx, st, s_auth, "outbox", endpoint, server, &po);
        if (p)
            return p;
        s_sleep_ms(100);
    }
    return NULL;
}

/* ---- Inside a server loop ------------------------------------------------ */

typedef struct {
    MDB_dbi outbox;
    server_t *server;
    feed_consumer_t *consumer;
    client_t *client;
    int to_send;
    int sent;
    int replies;
    int ok_replies;
    int64_t deadline;
} s_loop_t;

/* Every request appends one event, in the request's own transaction. */
static int s_loop_handler(void *svc, server_call_t *call, const auth_identity_t *caller,
                          const ProtobufCMessage *request, const char *request_id,
                          MDB_txn *txn)
{
    s_loop_t *l = svc;
    uint64_t seq = 0;
    (void)caller;
    (void)request;
    int rc = feed_outbox_append(txn, l->outbox, request_id, strlen(request_id), &seq);
    if (rc != 0)
        return rc;
    return server_reply_status(call, PAY__STATUS__OK, "seq %llu", (unsigned long long)seq);
}

static int s_loop_drive(void *arg)
{
    s_loop_t *l = arg;
    for (int i = 0; i < 10 && l->sent < l->to_send; i++) {
        Pay__TestRequest r = PAY__TEST_REQUEST__INIT;
        Pay__TestEcho e = PAY__TEST_ECHO__INIT;
        e.text = "x";
        r.body_case = PAY__TEST_REQUEST__BODY_ECHO;
        r.echo = &e;
        if (client_send(l->client, &r.base, NULL) == 0)
            l->sent++;
    }
    if (feed_consumer_cursor(l->consumer) >= (uint64_t)l->to_send
        || clock_mono_ms() > l->deadline)
        server_stop(l->server);
    return 0;
}

static int s_loop_replies(void *arg)
{
    s_loop_t *l = arg;
    ProtobufCMessage *m = NULL;
    while (client_recv(l->client, &pay__test_reply__descriptor, 0, &m) == 0) {
        const Pay__TestReply *rep = (const Pay__TestReply *)m;
        l->replies++;
        if (rep->has_status && rep->status == PAY__STATUS__OK)
            l->ok_replies++;
        codec_free(&m);
    }
    return 0;
}

static void s_test_server_loop(void *ctx, auth_t *auth, const auth_keypair_t *server,
                               const auth_keypair_t *client, const char *dir)
{
    const char *sdbs[] = {SERVER_REQUESTS_DB, "outbox", FEED_META_DB, NULL};
    const char *cdbs[] = {"cursor", "applied", FEED_QUARANTINE_DB, NULL};
    char path[256];
    s_loop_t l = {0};
    feed_producer_t *producer = NULL;
    store_t *sst, *cst;
    s_sink_t sink = {0};

    snprintf(path, sizeof path, "%s/srv", dir);
    sst = store_open(path, sdbs, 0);
    snprintf(path, sizeof path, "%s/srvc", dir);
    cst = store_open(path, cdbs, 0);
    TAP_OK(sst && cst, "server loop stores");
    if (!sst || !cst)
        goto done;
    l.outbox = store_dbi(sst, "outbox");
    l.to_send = 300;
    sink.applied = store_dbi(cst, "applied");
    server_config_t cfg = {
        .endpoint = "tcp://127.0.0.1:*",
        .keys = server,
        .auth = auth,
        .request_desc = &pay__test_request__descriptor,
        .reply_desc = &pay__test_reply__descriptor,
        .handler = s_loop_handler,
        .svc = &l,
        .no_signals = 1,
        .linger_ms = 100,
    };
    l.server = server_new(ctx, sst, &cfg);
    producer = feed_producer_new(ctx, sst, auth, "outbox", "tcp://127.0.0.1:*", server, NULL);
    TAP_OK(l.server && producer, "server and producer bound");
    if (!l.server || !producer)
        goto done;
    feed_consumer_opts_t co = {0};
    co.name = "loop";
    co.window = 64;   /* smaller than the stream: credit must cycle */
    l.consumer = feed_consumer_new(ctx, cst, "cursor", "loop", feed_producer_endpoint(producer),
                                   client, server->public_z85, s_sink_apply, &sink, &co);
    l.client = client_new(ctx, server_endpoint(l.server), client, server->public_z85, 2500, 3);
    TAP_OK(l.consumer && l.client, "consumer and API client");
    if (!l.consumer || !l.client)
        goto done;
    TAP_EQ_INT(feed_producer_attach(producer, l.server), 0, "producer attached to the loop");
    TAP_EQ_INT(feed_consumer_attach(l.consumer, l.server), 0, "consumer attached to the loop");
    TAP_EQ_INT(server_every(l.server, 10, s_loop_drive, &l), 0, "driver timer");
    TAP_EQ_INT(server_watch(l.server, client_socket(l.client), s_loop_replies, &l), 0,
               "client replies watched");
    l.deadline = clock_mono_ms() + 20000;
    TAP_EQ_INT(server_run(l.server), 0, "server loop ran and stopped");
    s_loop_replies(&l);
    TAP_EQ_INT(l.sent, 300, "300 API requests sent");
    TAP_EQ_INT(feed_consumer_cursor(l.consumer), 300,
               "the consumer in the same loop applied all 300 events");
    TAP_OK(l.ok_replies > 0, "API replies came back (%d)", l.ok_replies);
    TAP_EQ_INT(sink.duplicate_applies, 0, "no event applied twice");

done:
    client_destroy(&l.client);
    feed_consumer_destroy(&l.consumer);
    feed_producer_destroy(&producer);
    server_destroy(&l.server);
    store_destroy(&sst);
    store_destroy(&cst);
}

/* Pruning over sockets: below what the registered consumer acknowledged,
 * keeping the retention; a subscriber that asks for a pruned seq is told
 * so (FeedPruned), never served a gap. */
static void s_test_prune_sockets(void *ctx, const auth_keypair_t *server,
                                 const auth_keypair_t *client, const auth_keypair_t *other,
                                 const char *dir)
{
    char path[512], endpoint[256];
    const char *names[] = {"outbox", "cursor", "applied", FEED_META_DB, NULL};
    const char *const regs[] = {"wages", NULL};
    feed_producer_stats_t ps;
    feed_consumer_stats_t cs;
    s_world_t w = {0};
    MDB_txn *txn = NULL;
    uint64_t acked = 0;
    snprintf(path, sizeof path, "%s/pp", dir);
    store_t *pst = store_open(path, names, 0);
    snprintf(path, sizeof path, "%s/pc", dir);
    store_t *cst = store_open(path, names, 0);
    snprintf(path, sizeof path, "%s/pc2", dir);
    store_t *cst2 = store_open(path, names, 0);
    TAP_OK(pst && cst && cst2, "prune over sockets: stores");
    if (!pst || !cst || !cst2)
        goto done;
    s_fill(pst, 3000);
    s_consumers = regs;
    s_retain = 500;
    w.producer = s_producer(ctx, pst, "tcp://127.0.0.1:*", server);
    TAP_OK(w.producer != NULL, "prune: producer with registered consumer 'wages'");
    if (!w.producer)
        goto done;
    snprintf(endpoint, sizeof endpoint, "%s", feed_producer_endpoint(w.producer));
    s_run(&w, 400, 0);
    feed_producer_stats(w.producer, &ps);
    TAP_EQ_INT(ps.first_seq, 1, "prune: nothing pruned before 'wages' acknowledged anything");

    s_sink_t sink = {store_dbi(cst, "applied"), 0, 0, 0, 0, 0};
    feed_consumer_opts_t co = {0};
    co.name = "t";
    co.timeout_ms = 1000;
    w.consumer = feed_consumer_new(ctx, cst, "cursor", "hours", endpoint, client,
                                   server->public_z85, s_sink_apply, &sink, &co);
    s_run(&w, 15000, 3000);
    TAP_EQ_INT(feed_consumer_cursor(w.consumer), 3000, "prune: 'wages' applied all 3000");
    int64_t end = clock_mono_ms() + 5000;
    do {
        s_run(&w, 100, 0);
        feed_producer_stats(w.producer, &ps);
    } while (ps.first_seq != 2501 && clock_mono_ms() < end);
    TAP_EQ_INT(ps.first_seq, 2501, "prune: pruned to its ack less the retention of 500");
    TAP_EQ_INT(ps.pruned, 2500, "prune: 2500 events pruned");
    TAP_OK(!s_has_key(pst, store_dbi(pst, "outbox"), 2500, NULL)
               && s_has_key(pst, store_dbi(pst, "outbox"), 2501, NULL),
           "prune: seq 2500 gone, 2501 kept");
    store_read_begin(pst, &txn);
    feed_outbox_ack_read(txn, "wages", &acked);
    mdb_txn_abort(txn);
    TAP_EQ_INT(acked, 3000, "prune: the consumer's acknowledged seq is stored");
    feed_consumer_destroy(&w.consumer);

    /* A restarted producer knows both. */
    feed_producer_destroy(&w.producer);
    w.producer = s_producer(ctx, pst, endpoint, server);
    TAP_OK(w.producer != NULL, "prune: producer restarted");
    if (!w.producer)
        goto done;
    feed_producer_stats(w.producer, &ps);
    TAP_EQ_INT(ps.first_seq, 2501, "prune: the restarted producer starts at 2501");

    /* Asking for a pruned seq: an error, not a gap. */
    s_raw_t raw = {0};
    raw.sock = s_raw_dealer(ctx, "raw:pruned", other, server->public_z85, endpoint);
    w.raw[0] = &raw;
    TAP_EQ_INT(s_raw_send(raw.sock, 1, 1, 100), 0, "prune: subscribe from 1");
    s_run(&w, 800, 0);
    TAP_EQ_INT(raw.pruned, 1, "prune: answered FeedPruned");
    TAP_EQ_INT(raw.pruned_first, 2501, "prune: naming the oldest seq held");
    TAP_EQ_INT(raw.entries, 0, "prune: and no event");
    feed_producer_stats(w.producer, &ps);
    TAP_EQ_INT(ps.pruned_refusals, 1, "prune: counted as an alarm at the producer");
    TAP_EQ_INT(s_raw_send(raw.sock, 1, 2501, 100), 0, "prune: subscribe from 2501");
    s_run(&w, 800, 0);
    TAP_OK(raw.entries == 100 && raw.last_seq == 2600, "prune: served from the oldest held");
    zmq_close(raw.sock);
    w.raw[0] = NULL;

    /* A consumer whose cursor is below the pruned seqs hears it and says so. */
    s_sink_t sink2 = {store_dbi(cst2, "applied"), 0, 0, 0, 0, 0};
    w.consumer = feed_consumer_new(ctx, cst2, "cursor", "hours", endpoint, other,
                                   server->public_z85, s_sink_apply, &sink2, &co);
    s_run(&w, 1500, 0);
    feed_consumer_stats(w.consumer, &cs);
    TAP_OK(cs.pruned >= 1 && cs.cursor == 0, "prune: the late consumer counts the alarm "
           "(%llu) and applies nothing", (unsigned long long)cs.pruned);
    feed_consumer_destroy(&w.consumer);

    /* The numbering goes on after pruning. */
    s_fill(pst, 3010);
    feed_producer_pump(w.producer);
    store_read_begin(pst, &txn);
    uint64_t head = 0;
    feed_outbox_head(txn, store_dbi(pst, "outbox"), &head);
    mdb_txn_abort(txn);
    TAP_EQ_INT(head, 3010, "prune: appends go on from 3001");
done:
    s_consumers = NULL;
    s_retain = 0;
    feed_consumer_destroy(&w.consumer);
    feed_producer_destroy(&w.producer);
    store_destroy(&pst);
    store_destroy(&cst);
    store_destroy(&cst2);
}

static void s_test_sockets(store_t *pst, store_t *cst, const char *dir)
{
    void *ctx = zmq_ctx_new();
    auth_t *auth = auth_new(ctx, NULL);
    s_auth = auth;
    auth_keypair_t server, client, employer, intruder;
    char endpoint[256];
    feed_producer_stats_t ps;
    feed_consumer_stats_t cs;
    s_world_t w = {0};

    TAP_OK(auth != NULL, "ZAP handler running");
    TAP_OK(auth_keypair_new(&server) == 0 && auth_keypair_new(&client) == 0
               && auth_keypair_new(&employer) == 0 && auth_keypair_new(&intruder) == 0,
           "key pairs");
    TAP_EQ_INT(auth_allow(auth, client.public_z85, ROLE_SERVICE, "-", "wages"), 0,
               "allow the consumer as a service");
    TAP_EQ_INT(auth_allow(auth, employer.public_z85, ROLE_EMPLOYER, "E1", "acme"), 0,
               "allow an employer");
    TAP_EQ_INT(auth_allow(auth, intruder.public_z85, ROLE_SERVICE, "-", "invoicing"), 0,
               "allow a second service key");

    s_fill(pst, 5000);
    w.producer = s_producer(ctx, pst, "tcp://127.0.0.1:*", &server);
    TAP_OK(w.producer != NULL, "producer bound");
    if (!w.producer)
        goto done;
    snprintf(endpoint, sizeof endpoint, "%s", feed_producer_endpoint(w.producer));
    TAP_NOTE("producer on %s", endpoint);

    /* Credit: a DEALER that never acks gets exactly its credit. */
    s_raw_t raw = {0};
    raw.contiguous = 1;
    raw.sock = s_raw_dealer(ctx, "raw:credit", &client, server.public_z85, endpoint);
    w.raw[0] = &raw;
    TAP_EQ_INT(s_raw_send(raw.sock, 1, 1, 700), 0, "raw subscribe from 1 with credit 700");
    s_run(&w, 1500, 0);
    TAP_EQ_INT(raw.entries, 700, "exactly 700 entries for credit 700");
    TAP_OK(raw.contiguous && raw.last_seq == 700, "entries 1..700 in order");
    TAP_OK(raw.max_batch <= 256 && raw.batches >= 3, "batches of at most 256 (%d batches, max %d)",
           raw.batches, raw.max_batch);
    TAP_OK(raw.heartbeats >= 2, "then only heartbeats (%d)", raw.heartbeats);
    TAP_EQ_INT(raw.hb_head, 5000, "heartbeat carries the head seq");
    int hb_before = raw.heartbeats;
    s_run(&w, 600, 0);
    TAP_EQ_INT(raw.entries, 700, "still 700 entries after more time");
    TAP_OK(raw.heartbeats > hb_before, "heartbeats keep coming while credit is 0");

    TAP_EQ_INT(s_raw_send(raw.sock, 0, 700, 500), 0, "ack granting 500 more");
    s_run(&w, 800, 0);
    TAP_EQ_INT(raw.entries, 1200, "exactly 500 more entries");
    TAP_OK(raw.contiguous && raw.last_seq == 1200, "entries 701..1200 in order");

    TAP_EQ_INT(s_raw_send(raw.sock, 1, 4901, 1000), 0, "re-subscribe from 4901 with credit 1000");
    s_run(&w, 800, 0);
    TAP_EQ_INT(raw.entries, 1300, "only the 100 events that exist were sent");
    TAP_EQ_INT(raw.last_seq, 5000, "ending at the head");
    feed_producer_stats(w.producer, &ps);
    TAP_EQ_INT(ps.entries_sent, 1300, "producer counted 1300 entries sent");
    zmq_close(raw.sock);
    w.raw[0] = NULL;

    /* Only services may subscribe: other allow-listed keys do not even get
     * through the handshake of a feed socket (ZAP domain AUTH_DOMAIN_FEED). */
    s_raw_t bad = {0};
    bad.sock = s_raw_dealer(ctx, "raw:employer", &employer, server.public_z85, endpoint);
    w.raw[1] = &bad;
    TAP_EQ_INT(s_raw_send(bad.sock, 1, 1, 100), 0, "employer sends a subscribe");
    s_run(&w, 800, 0);
    TAP_EQ_INT(bad.entries + bad.heartbeats, 0, "the employer gets nothing");
    zmq_close(bad.sock);
    w.raw[1] = NULL;
    TAP_EQ_INT(s_handshake_refused(ctx, &employer, server.public_z85, endpoint, 3000), 1,
               "an employer key's handshake with the feed is refused");
    TAP_EQ_INT(s_handshake_refused(ctx, &client, server.public_z85, endpoint, 3000), 0,
               "a service key's handshake succeeds");

    /* A real consumer catches up with credit cycling (window < backlog). */
    s_sink_t sink = {store_dbi(cst, "applied"), 0, 0, 0, 0, 0};
    feed_consumer_opts_t co = {0};
    co.name = "t";
    co.window = 1000;
    co.timeout_ms = 1000;
    co.retry_ms = 200;
    w.consumer = feed_consumer_new(ctx, cst, "cursor", "hours", endpoint, &client,
                                   server.public_z85, s_sink_apply, &sink, &co);
    TAP_OK(w.consumer != NULL, "consumer started");
    if (!w.consumer)
        goto done;
    s_run(&w, 15000, 5000);
    TAP_EQ_INT(feed_consumer_cursor(w.consumer), 5000, "consumer reached 5000");
    s_run(&w, 500, 0);
    feed_consumer_stats(w.consumer, &cs);
    TAP_OK(cs.head_seq == 5000 && cs.lag == 0, "lag 0 at head 5000 (head %llu lag %llu)",
           (unsigned long long)cs.head_seq, (unsigned long long)cs.lag);

    s_fill(pst, 5100);
    feed_producer_pump(w.producer);
    s_run(&w, 10000, 5100);
    TAP_EQ_INT(feed_consumer_cursor(w.consumer), 5100, "new events after a commit arrive");

    /* Another allow-listed service key that presents a live subscriber's
     * routing id takes nothing over: no handover, the id stays with the
     * connection that subscribed. */
    s_raw_t victim = {0}, thief = {0};
    victim.contiguous = 1;
    victim.sock = s_raw_dealer(ctx, "raw:victim", &client, server.public_z85, endpoint);
    w.raw[0] = &victim;
    TAP_EQ_INT(s_raw_send(victim.sock, 1, 5101, 1000), 0, "a subscriber waits at the head");
    s_run(&w, 500, 0);
    thief.sock = s_raw_dealer(ctx, "raw:victim", &intruder, server.public_z85, endpoint);
    w.raw[1] = &thief;
    s_run(&w, 500, 0);
    s_fill(pst, 5120);
    feed_producer_pump(w.producer);
    s_run(&w, 1000, 0);
    TAP_EQ_INT(thief.entries, 0, "a second service key with the same routing id gets no event");
    TAP_EQ_INT(thief.batches + thief.heartbeats, 0, "nor anything else");
    TAP_EQ_INT(victim.entries, 20, "the subscriber gets the 20 new events");
    TAP_OK(victim.contiguous && victim.last_seq == 5120, "in order, up to 5120");
    zmq_close(thief.sock);
    zmq_close(victim.sock);
    w.raw[0] = w.raw[1] = NULL;

    /* A consumer's routing id is the producer's, not a name a peer can
     * present: an intruder using the id consumers once had
     * ("<feed>:<name>") gets nothing, and the consumer carries on. */
    s_raw_t thief2 = {0};
    thief2.sock = s_raw_dealer(ctx, "hours:t", &intruder, server.public_z85, endpoint);
    w.raw[1] = &thief2;
    s_run(&w, 500, 0);
    s_fill(pst, 5140);
    feed_producer_pump(w.producer);
    s_run(&w, 1000, 0);
    TAP_EQ_INT(thief2.entries, 0, "an intruder with the consumer's old routing id gets no event");
    TAP_EQ_INT(thief2.batches + thief2.heartbeats, 0, "nor anything else");
    s_run(&w, 10000, 5140);
    TAP_EQ_INT(feed_consumer_cursor(w.consumer), 5140, "the consumer got all of them");
    zmq_close(thief2.sock);
    w.raw[1] = NULL;

    /* Consumer restart: a new connection subscribes from the durable cursor. */
    feed_consumer_destroy(&w.consumer);
    TAP_OK(w.consumer == NULL, "destroy NULLs the pointer");
    s_fill(pst, 5150);
    w.consumer = feed_consumer_new(ctx, cst, "cursor", "hours", endpoint, &client,
                                   server.public_z85, s_sink_apply, &sink, &co);
    TAP_EQ_INT(feed_consumer_cursor(w.consumer), 5140, "restarted consumer reads its cursor");
    s_run(&w, 10000, 5150);
    TAP_EQ_INT(feed_consumer_cursor(w.consumer), 5150, "restarted consumer catches up");

    /* Producer restart on the same port. */
    feed_producer_destroy(&w.producer);
    s_fill(pst, 5200);
    s_run(&w, 300, 0);
    w.producer = s_producer(ctx, pst, endpoint, &server);
    TAP_OK(w.producer != NULL, "producer rebound on %s", endpoint);
    if (!w.producer)
        goto done;
    s_run(&w, 15000, 5200);
    TAP_EQ_INT(feed_consumer_cursor(w.consumer), 5200, "consumer follows a restarted producer");

    /* A poison event is retried, never skipped. */
    sink.fail_at = 5201;
    sink.fail_times = 3;
    s_fill(pst, 5210);
    feed_producer_pump(w.producer);
    s_run(&w, 15000, 5210);
    TAP_EQ_INT(feed_consumer_cursor(w.consumer), 5210, "consumer got past a failing apply");
    feed_consumer_stats(w.consumer, &cs);
    TAP_OK(cs.apply_failures >= 3 && sink.failures == 3, "the failures were seen (%llu)",
           (unsigned long long)cs.apply_failures);
    TAP_OK(s_has_key(cst, sink.applied, 5201, NULL), "the failing event was applied in the end");
    int missing = 0;
    for (uint64_t s = 1; s <= 5210; s++)
        missing += !s_has_key(cst, sink.applied, s, NULL);
    TAP_EQ_INT(missing, 0, "every event 1..5210 applied");
    TAP_EQ_INT(sink.duplicate_applies, 0, "no event applied twice");

    feed_consumer_destroy(&w.consumer);
    feed_producer_destroy(&w.producer);
    s_test_server_loop(ctx, auth, &server, &client, dir);
    s_test_prune_sockets(ctx, &server, &client, &intruder, dir);

done:
    feed_consumer_destroy(&w.consumer);
    feed_producer_destroy(&w.producer);
    auth_destroy(&auth);
    zmq_ctx_term(ctx);
}

int main(void)
{
    char pdir[] = "/tmp/feed_test_p_XXXXXX";
    char cdir[] = "/tmp/feed_test_c_XXXXXX";
    const char *names[] = {"outbox", "cursor", "applied", FEED_META_DB, FEED_QUARANTINE_DB, NULL};
    store_t *pst = NULL, *cst = NULL, *ost = NULL;

    log_set_service("feed_test");
    log_set_level(LOG_WARN);
    log_init_from_env();
    if (!mkdtemp(pdir) || !mkdtemp(cdir)) {
        TAP_OK(0, "temp dirs");
        return tap_done();
    }
    char odir[sizeof pdir + 8];
    snprintf(odir, sizeof odir, "%s/ob", pdir);
    ost = store_open(odir, names, 0);
    TAP_OK(ost != NULL, "outbox test store");
    if (ost) {
        s_test_outbox(ost);
        s_test_apply(ost);
    }
    store_destroy(&ost);
    s_test_outbox_prune(pdir);

    snprintf(odir, sizeof odir, "%s/pr", pdir);
    pst = store_open(odir, names, 0);
    cst = store_open(cdir, names, 0);
    TAP_OK(pst && cst, "producer and consumer stores");
    if (pst && cst)
        s_test_sockets(pst, cst, pdir);
    store_destroy(&pst);
    store_destroy(&cst);
    s_rmtree(pdir);
    s_rmtree(cdir);
    return tap_done();
}
