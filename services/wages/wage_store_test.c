/* wage_store_test: the hours-feed apply step against a real LMDB store,
 * without sockets: pricing, exact reversals on amend and void, the week
 * close (top-up, capped deductions, levy, payslip), exceptions, the ledger
 * balancing to zero, and the hledger export read back by hledger. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "civil.h"
#include "feed.h"
#include "tap.h"
#include "wage_apply.h"
#include "wage_journal.h"
#include "wage_store.h"

static wage_store_t *s_ws;
static uint64_t s_seq;

typedef struct {
    const Pay__HoursEvent *ev;
    feed_refusal_t why;
} s_one_t;

static int s_apply_fn(MDB_txn *txn, void *arg)
{
    s_one_t *one = arg;
    return wage_apply_hours_event(s_ws, txn, ++s_seq, one->ev, &one->why);
}

/* Every event applied, packed, to replay it through the feed's group path
 * (s_check_groups). */
#define S_MAX_EVENTS 64
static Pay__FeedEntry s_log[S_MAX_EVENTS];
static size_t s_n_log;

static int s_apply(const Pay__HoursEvent *ev)
{
    s_one_t one = { ev, {{0}, {0}, {0}} };
    uint64_t before = s_seq;
    int rc = store_write(s_ws->store, s_apply_fn, &one);
    if (rc != 0) {
        s_seq = before;
    } else if (s_n_log < S_MAX_EVENTS) {
        Pay__FeedEntry *e = &s_log[s_n_log++];
        pay__feed_entry__init(e);
        e->has_seq = e->has_payload = 1;
        e->seq = s_seq;
        e->payload.len = pay__hours_event__get_packed_size(ev);
        e->payload.data = malloc(e->payload.len ? e->payload.len : 1);
        pay__hours_event__pack(ev, e->payload.data);
    }
    return rc;
}

static Pay__RecordState s_state(const char *id, const char *prisoner, const char *prison,
                                const char *contract, Pay__WorkType wt, uint32_t band,
                                Pay__IncentiveLevel level, const char *date,
                                Pay__Session session, uint32_t minutes, uint64_t units,
                                Pay__Outcome outcome, int paid_absence)
{
    Pay__RecordState s = PAY__RECORD_STATE__INIT;
    s.record_id = (char *)id;
    s.prisoner = (char *)prisoner;
    s.prison = (char *)prison;
    s.employer = "acme";
    s.contract = (char *)contract;
    s.has_work_type = 1;
    s.work_type = wt;
    s.has_pay_band = 1;
    s.pay_band = band;
    s.has_incentive_level = 1;
    s.incentive_level = level;
    s.date = (char *)date;
    s.has_session = 1;
    s.session = session;
    s.has_minutes = 1;
    s.minutes = minutes;
    s.has_units = 1;
    s.units = units;
    s.has_outcome = 1;
    s.outcome = outcome;
    s.has_paid_absence = 1;
    s.paid_absence = paid_absence;
    return s;
}

/* The hours service publishes a prisoner's and a contract's facts before
 * any record naming them: so does this test, once per id. */
static char s_known_ids[32][32];
static size_t s_n_known;

static int s_seen(const char *id)
{
    for (size_t i = 0; i < s_n_known; i++)
        if (strcmp(s_known_ids[i], id) == 0)
            return 1;
    if (s_n_known < 32)
        snprintf(s_known_ids[s_n_known++], sizeof s_known_ids[0], "%s", id);
    return 0;
}

static int s_facts(const Pay__RecordState *s)
{
    int rc = 0;
    if (!s_seen(s->prisoner)) {
        Pay__PrisonerFacts f = PAY__PRISONER_FACTS__INIT;
        Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
        f.number = s->prisoner;
        f.prison = s->prison;
        ev.kind_case = PAY__HOURS_EVENT__KIND_PRISONER;
        ev.prisoner = &f;
        rc = s_apply(&ev);
    }
    if (rc == 0 && !s_seen(s->contract)) {
        Pay__ContractFacts f = PAY__CONTRACT_FACTS__INIT;
        Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
        f.id = s->contract;
        f.employer = "acme";
        f.prison = s->prison;
        f.has_work_type = 1;
        f.work_type = s->work_type;
        f.activity = "Packing";
        f.start = "2020-01-01";
        ev.kind_case = PAY__HOURS_EVENT__KIND_CONTRACT;
        ev.contract = &f;
        rc = s_apply(&ev);
    }
    return rc;
}

static int s_record(Pay__RecordState *s)
{
    if (ident_is_prisoner(s->prisoner) && ident_is_contract(s->contract) && s_facts(s) != 0)
        return -1;
    Pay__HoursRecorded r = PAY__HOURS_RECORDED__INIT;
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    r.record = s;
    ev.kind_case = PAY__HOURS_EVENT__KIND_RECORDED;
    ev.recorded = &r;
    return s_apply(&ev);
}

static int s_amend(Pay__RecordState *old, Pay__RecordState *new_)
{
    Pay__HoursAmended a = PAY__HOURS_AMENDED__INIT;
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    a.old = old;
    a.new_ = new_;
    ev.kind_case = PAY__HOURS_EVENT__KIND_AMENDED;
    ev.amended = &a;
    return s_apply(&ev);
}

static int s_void(Pay__RecordState *old)
{
    Pay__HoursVoided v = PAY__HOURS_VOIDED__INIT;
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    v.old = old;
    ev.kind_case = PAY__HOURS_EVENT__KIND_VOIDED;
    ev.voided = &v;
    return s_apply(&ev);
}

static int s_close(const char *prison, const char *week)
{
    Pay__PayWeekClosed c = PAY__PAY_WEEK_CLOSED__INIT;
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    c.prison = (char *)prison;
    c.week = (char *)week;
    c.closed_by = "finance";
    ev.kind_case = PAY__HOURS_EVENT__KIND_WEEK_CLOSED;
    ev.week_closed = &c;
    return s_apply(&ev);
}

static int32_t s_d(const char *s)
{
    int32_t d = 0;
    civil_parse_date(s, &d);
    return d;
}

typedef struct {
    int step;
} s_ref_t;

static int s_reference_fn(MDB_txn *txn, void *arg)
{
    (void)arg;
    int rc;
    Pay__PayRate r = PAY__PAY_RATE__INIT;
    r.prison = "MDI";
    r.has_pay_band = r.has_incentive_level = r.has_basis = r.has_rate = 1;
    r.pay_band = 1;
    r.incentive_level = PAY__INCENTIVE_LEVEL__STD;
    r.basis = PAY__RATE_BASIS__RATE_HOURLY;
    r.rate = 100;
    r.has_piece_rate = r.has_piece_rate_items = 1;
    r.piece_rate = 50;
    r.piece_rate_items = 10;
    if ((rc = wage_store_put_rate(s_ws, txn, &r, s_d("2026-01-05"))) != 0)
        return rc;
    /* A later row that must not apply to week 48. */
    r.rate = 200;
    if ((rc = wage_store_put_rate(s_ws, txn, &r, s_d("2026-12-01"))) != 0)
        return rc;
    Pay__OutsideWage w = PAY__OUTSIDE_WAGE__INIT;
    w.contract = "C-OUT";
    w.prison = "KMI";
    w.has_hourly_wage = 1;
    w.hourly_wage = 1300;
    if ((rc = wage_store_put_outside(s_ws, txn, &w, s_d("2026-04-01"))) != 0)
        return rc;
    Pay__Deduction d = PAY__DEDUCTION__INIT;
    d.prisoner = "C3333CC";
    d.has_kind = d.has_amount = 1;
    d.kind = PAY__DEDUCTION_KIND__INCOME_TAX;
    d.amount = 5000;
    civil_week_t wk;
    civil_parse_week("2026-W48", &wk);
    return wage_store_put_deduction(s_ws, txn, &d, civil_week_key(wk));
}

static Pay__WeekAggregate *s_agg(const char *prison, const char *prisoner)
{
    MDB_txn *txn = NULL;
    civil_week_t wk;
    civil_parse_week("2026-W48", &wk);
    uint8_t key[WAGE_WEEK_KEY_LEN];
    wage_key_week(prison, civil_week_key(wk), prisoner, key);
    ProtobufCMessage *m = NULL;
    if (store_read_begin(s_ws->store, &txn) != 0)
        return NULL;
    wage_store_get_msg(txn, s_ws->weeks, key, sizeof key, &pay__week_aggregate__descriptor,
                       &m);
    mdb_txn_abort(txn);
    return (Pay__WeekAggregate *)m;
}

static int s_fold_fn(MDB_txn *txn, void *arg)
{
    (void)arg;
    return wage_store_fold_balances(s_ws, txn, NULL);
}

/* Sum over every balance, count of ledger lines, and the prisoner's spends. */
static void s_totals(int64_t *sum, uint64_t *lines, const char *spends, int64_t *spends_bal,
                     size_t *n_exceptions)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    *sum = 0;
    *spends_bal = 0;
    TAP_EQ_INT(store_write(s_ws->store, s_fold_fn, NULL), 0, "balances folded");
    store_read_begin(s_ws->store, &txn);
    mdb_cursor_open(txn, s_ws->balances, &cur);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (((const char *)k.mv_data)[0] == '\0')
            continue;   /* the fold watermark */
        int64_t b = (int64_t)store_be64_get(v.mv_data);
        *sum += b;
        if (k.mv_size == strlen(spends) && memcmp(k.mv_data, spends, k.mv_size) == 0)
            *spends_bal = b;
    }
    mdb_cursor_close(cur);
    wage_store_ledger_head(s_ws, txn, lines);
    MDB_stat st;
    mdb_stat(txn, s_ws->exceptions, &st);
    *n_exceptions = st.ms_entries;
    mdb_txn_abort(txn);
}

static int s_exception_kind(const char *prison, const char *record_id, char *kind, size_t len)
{
    MDB_txn *txn = NULL;
    civil_week_t wk;
    civil_parse_week("2026-W48", &wk);
    uint8_t key[WAGE_PW_KEY_LEN + 64];
    wage_key_pw(prison, civil_week_key(wk), key);
    memcpy(key + WAGE_PW_KEY_LEN, record_id, strlen(record_id));
    ProtobufCMessage *m = NULL;
    store_read_begin(s_ws->store, &txn);
    int rc = wage_store_get_msg(txn, s_ws->exceptions, key,
                                WAGE_PW_KEY_LEN + strlen(record_id),
                                &pay__wage_exception__descriptor, &m);
    mdb_txn_abort(txn);
    if (rc != 0)
        return rc;
    snprintf(kind, len, "%s", ((Pay__WageException *)m)->kind);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

/* ---- deductions for a closed week ----------------------------------------- */

static int s_verdict(const char *prisoner, const char *week, Pay__DeductionKind kind,
                     int64_t amount, char prison[WAGE_PRISON_LEN])
{
    MDB_txn *txn = NULL;
    civil_week_t wk;
    Pay__Deduction d = PAY__DEDUCTION__INIT;
    wage_deduction_verdict_t v = WAGE_DEDUCTION_OPEN;
    d.prisoner = (char *)prisoner;
    d.week = (char *)week;
    d.has_kind = d.has_amount = 1;
    d.kind = kind;
    d.amount = amount;
    civil_parse_week(week, &wk);
    if (store_read_begin(s_ws->store, &txn) != 0)
        return -1;
    int rc = wage_apply_deduction_verdict(s_ws, txn, &d, civil_week_key(wk), &v, prison);
    mdb_txn_abort(txn);
    return rc != 0 ? -1 : (int)v;
}

/* ---- the ledger line packer -------------------------------------------------- */

static void s_check_pack_line(void)
{
    static const char *const names[] = { NULL, "", "prisoner:A1111AA:spends",
                                         "a description that is rather longer than most" };
    int same = 0, total = 0;
    for (int kind = -1; kind <= 7; kind++)
        for (int n = 0; n < 4; n++) {
            Pay__LedgerLine l = PAY__LEDGER_LINE__INIT;
            l.has_seq = n != 1;
            l.seq = (uint64_t)1 << (7 * n);
            l.has_kind = kind >= 0;
            l.kind = (Pay__LineKind)(kind == 7 ? -3 : kind);
            l.date = (char *)names[n];
            l.week = n == 2 ? "2026-W48" : NULL;
            l.prison = (char *)names[(n + 1) % 4];
            l.prisoner = (char *)names[(n + 2) % 4];
            l.debit = (char *)names[(n + 3) % 4];
            l.credit = (char *)names[n];
            l.has_amount = kind != 3;
            l.amount = kind % 2 ? -((int64_t)1 << (9 * n)) : (int64_t)150 << n;
            l.ref = (char *)names[(n + 1) % 4];
            l.description = (char *)names[(n + 3) % 4];
            l.has_feed_seq = kind % 3 == 0;
            l.feed_seq = 300000u + (uint64_t)n;
            l.has_reverses = kind == 2;
            l.reverses = 77;
            l.has_balance = kind == 5;
            l.balance = -12345;
            uint8_t mine[1024], theirs[1024];
            size_t len = wage_store_pack_line(&l, mine, sizeof mine);
            size_t want = protobuf_c_message_pack(&l.base, theirs);
            total++;
            if (len == want && memcmp(mine, theirs, len) == 0)
                same++;
            else
                TAP_NOTE("line kind %d n %d: %zu bytes, protobuf-c %zu", kind, n, len, want);
        }
    TAP_EQ_INT(same, total, "the ledger line packer writes protobuf-c's bytes (%d lines)", total);
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    Pay__LedgerLine l = PAY__LEDGER_LINE__INIT;
    l.description = big;
    uint8_t buf[1024];
    TAP_EQ_INT(wage_store_pack_line(&l, buf, sizeof buf), 0,
               "a line too big for the buffer is left to protobuf-c");
}

/* ---- the feed's group path ------------------------------------------------------
 *
 * The events applied one transaction each above are applied again to a
 * fresh store through feed_batches_apply_group with wage_apply_group (the
 * aggregates, index entries and balances of a group kept in memory and
 * written at its end), in groups of every size from 1 to all of them, and
 * once with a failure in the middle of a group (rolled back, then retried).
 * Every database must end up byte for byte the same. */

static uint64_t s_digest(wage_store_t *ws)
{
    MDB_txn *txn = NULL;
    MDB_dbi dbis[] = { ws->ledger, ws->by_prisoner, ws->balances, ws->records, ws->weeks,
                       ws->prison_weeks, ws->exceptions, ws->cursor };
    uint64_t h = 1469598103934665603ull;
    if (store_read_begin(ws->store, &txn) != 0)
        return 0;
    for (size_t d = 0; d < sizeof dbis / sizeof dbis[0]; d++) {
        MDB_cursor *cur = NULL;
        MDB_val k, v;
        mdb_cursor_open(txn, dbis[d], &cur);
        while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
            for (size_t i = 0; i < k.mv_size; i++)
                h = (h ^ ((const uint8_t *)k.mv_data)[i]) * 1099511628211ull;
            for (size_t i = 0; i < v.mv_size; i++)
                h = (h ^ ((const uint8_t *)v.mv_data)[i]) * 1099511628211ull;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return h;
}

static uint64_t s_fail_at;   /* the seq whose apply fails once, or 0 */

static int s_failing_apply(MDB_txn *txn, uint64_t seq, const uint8_t *payload, size_t len,
                           void *arg, feed_refusal_t *why)
{
    if (seq == s_fail_at) {
        s_fail_at = 0;
        return EIO;
    }
    return wage_apply_event(txn, seq, payload, len, arg, why);
}

static void s_check_groups(const char *dir)
{
    wage_store_t *orig = s_ws;
    TAP_EQ_INT(store_write(orig->store, s_fold_fn, NULL), 0, "balances folded");
    uint64_t want = s_digest(orig);
    /* The cursor: the original store applied without the feed. */
    const Pay__FeedEntry *entries[S_MAX_EVENTS];
    for (size_t i = 0; i < s_n_log; i++)
        entries[i] = &s_log[i];
    int all_same = 1;
    for (size_t group = 1; group <= s_n_log + 1; group++) {
        char sub[600];
        snprintf(sub, sizeof sub, "%s/group-%zu", dir, group);
        s_ws = wage_store_new(sub, 1 << 20);
        if (!s_ws || store_write(s_ws->store, s_reference_fn, NULL) != 0) {
            TAP_OK(0, "store for groups of %zu", group);
            break;
        }
        s_fail_at = group == 3 ? s_log[s_n_log / 2].seq : 0;
        int failures = 0;
        for (size_t at = 0; at < s_n_log;) {
            /* One batch per event, `group` batches per transaction. */
            Pay__FeedBatch batches[S_MAX_EVENTS];
            const Pay__FeedBatch *bp[S_MAX_EVENTS];
            size_t n = 0;
            for (; n < group && at + n < s_n_log; n++) {
                pay__feed_batch__init(&batches[n]);
                batches[n].n_entries = 1;
                batches[n].entries = (Pay__FeedEntry **)&entries[at + n];
                bp[n] = &batches[n];
            }
            feed_batch_result_t res;
            int rc = feed_batches_apply_group(s_ws->store, s_ws->cursor, WAGE_CURSOR_FEED, bp, n,
                                              s_failing_apply, wage_apply_group, s_ws, &res);
            if (rc != 0) {
                failures++;
                TAP_OK(!s_ws->group.active, "a failed group leaves no group state behind");
                if (failures > 1)
                    break;
                continue;   /* retried, as the consumer does */
            }
            at += n;
        }
        if (group == 3)
            TAP_EQ_INT(failures, 1, "one group failed in the middle and was retried");
        /* The original has no feed cursor: drop this one before comparing. */
        MDB_txn *txn = NULL;
        if (store_write(s_ws->store, s_fold_fn, NULL) == 0
            && mdb_txn_begin(store_env(s_ws->store), NULL, 0, &txn) == 0) {
            MDB_val k = { strlen(WAGE_CURSOR_FEED), WAGE_CURSOR_FEED };
            mdb_del(txn, s_ws->cursor, &k, NULL);
            mdb_txn_commit(txn);
        }
        uint64_t got = s_digest(s_ws);
        if (got != want) {
            all_same = 0;
            TAP_NOTE("groups of %zu: digest %016llx, want %016llx", group,
                     (unsigned long long)got, (unsigned long long)want);
        }
        wage_store_destroy(&s_ws);
    }
    TAP_OK(all_same, "the group path writes the same bytes as one event at a time "
                     "(%zu events, groups of 1 to %zu, one failure)", s_n_log, s_n_log + 1);
    s_ws = orig;
}

static void s_check_journal(const char *dir)
{
    char path[512], cmd[1200];
    snprintf(path, sizeof path, "%s/ledger.journal", dir);
    FILE *f = fopen(path, "w");
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    wage_text_t t = { 0 }, j = { 0 };
    store_read_begin(s_ws->store, &txn);
    mdb_cursor_open(txn, s_ws->ledger, &cur);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Pay__LedgerLine *l = pay__ledger_line__unpack(NULL, v.mv_size, v.mv_data);
        wage_journal_line(&t, l);
        pay__ledger_line__free_unpacked(l, NULL);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    wage_journal_finish(t.data ? t.data : "", t.len, &j);
    fwrite(j.data, 1, j.len, f);
    fclose(f);
    wage_text_free(&t);
    wage_text_free(&j);
    if (system("command -v hledger >/dev/null 2>&1") != 0) {
        TAP_NOTE("hledger not installed: journal check skipped");
        return;
    }
    snprintf(cmd, sizeof cmd,
             "hledger -f '%s' balance --no-total -N >/dev/null 2>&1 && "
             "test \"$(hledger -f '%s' balance -O csv | tail -1 | tr -d '\"\\r')\" = 'total,0'",
             path, path);
    TAP_OK(system(cmd) == 0, "hledger reads the journal and the total is 0");
    snprintf(cmd, sizeof cmd, "hledger -f '%s' check --strict ordereddates", path);
    TAP_OK(system(cmd) == 0, "hledger check --strict ordereddates passes on the ledger");
    snprintf(cmd, sizeof cmd,
             "test \"$(hledger -f '%s' balance -O csv prisoner:C3333CC:spends | tail -1 "
             "| tr -d '\"\\r')\" = 'total,-102.80 GBP'",
             path);
    TAP_OK(system(cmd) == 0, "hledger shows C3333CC's spends credited with the net 102.80");
}

int main(void)
{
    char dir[] = "/tmp/wage_store_test.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    s_ws = wage_store_new(dir, 1 << 20);   /* small map: growth is exercised */
    TAP_OK(s_ws != NULL, "store opens");
    if (!s_ws)
        return tap_done();
    TAP_EQ_INT(store_write(s_ws->store, s_reference_fn, NULL), 0, "reference rows stored");

    /* A1111AA: hourly 100p + piece 50p per 10; 90 min, 25 units = 150 + 100. */
    Pay__RecordState r1 = s_state("r-1", "A1111AA", "MDI", "C-1", PAY__WORK_TYPE__WORKSHOP, 1,
                                  PAY__INCENTIVE_LEVEL__STD, "2026-11-23", PAY__SESSION__AM,
                                  90, 25, PAY__OUTCOME__ATTENDED, 0);
    Pay__RecordState r2 = s_state("r-2", "A1111AA", "MDI", "C-1", PAY__WORK_TYPE__WORKSHOP, 1,
                                  PAY__INCENTIVE_LEVEL__STD, "2026-11-24", PAY__SESSION__AM,
                                  60, 0, PAY__OUTCOME__SICK, 1);
    Pay__RecordState r3 = s_state("r-3", "B2222BB", "MDI", "C-1", PAY__WORK_TYPE__WORKSHOP, 3,
                                  PAY__INCENTIVE_LEVEL__STD, "2026-11-23", PAY__SESSION__AM,
                                  180, 0, PAY__OUTCOME__ATTENDED, 0);
    Pay__RecordState r4 = s_state("r-4", "B2222BB", "MDI", "C-1", PAY__WORK_TYPE__WORKSHOP, 1,
                                  PAY__INCENTIVE_LEVEL__STD, "2026-11-23", PAY__SESSION__PM,
                                  180, 0, PAY__OUTCOME__REFUSED, 0);
    Pay__RecordState r5 = s_state("r-5", "C3333CC", "KMI", "C-OUT", PAY__WORK_TYPE__OUTSIDE, 0,
                                  PAY__INCENTIVE_LEVEL__ENH, "2026-11-23", PAY__SESSION__ED,
                                  480, 0, PAY__OUTCOME__ATTENDED, 0);
    Pay__RecordState r6 = s_state("r-6", "C3333CC", "KMI", "C-OUT", PAY__WORK_TYPE__OUTSIDE, 0,
                                  PAY__INCENTIVE_LEVEL__ENH, "2026-11-24", PAY__SESSION__ED,
                                  480, 0, PAY__OUTCOME__ATTENDED, 0);
    TAP_EQ_INT(s_record(&r1), 0, "r-1 recorded");
    TAP_EQ_INT(s_record(&r2), 0, "r-2 recorded");
    TAP_EQ_INT(s_record(&r3), 0, "r-3 recorded (no rate for band 3)");
    TAP_EQ_INT(s_record(&r4), 0, "r-4 recorded (refused)");
    TAP_EQ_INT(s_record(&r5), 0, "r-5 recorded (outside)");
    TAP_EQ_INT(s_record(&r6), 0, "r-6 recorded (outside)");

    Pay__WeekAggregate *a = s_agg("MDI", "A1111AA");
    TAP_OK(a != NULL, "A1111AA has a week at MDI");
    if (a) {
        TAP_EQ_INT(a->workshop_pay, 250 + 100, "hourly + piece work + paid sick (100p/h * 1h)");
        TAP_EQ_INT(a->sessions, 2, "two sessions");
        TAP_EQ_INT(a->attended_workshop, 1, "one attended workshop record");
        protobuf_c_message_free_unpacked(&a->base, NULL);
    }
    char kind[32] = "";
    TAP_EQ_INT(s_exception_kind("MDI", "r-3", kind, sizeof kind), 0, "r-3 is an exception");
    TAP_EQ_STR(kind, "NO_RATE", "r-3 is NO_RATE");
    TAP_EQ_INT(s_exception_kind("MDI", "r-4", kind, sizeof kind), 0, "r-4 is an exception");
    TAP_EQ_STR(kind, "REFUSED", "r-4 is a refused session");

    /* Amend r-1 to 120 min, 5 units: the old 250 is reversed exactly, even
     * though the rate would now price the old record the same way. */
    Pay__RecordState r1b = r1;
    r1b.minutes = 120;
    r1b.units = 5;
    TAP_EQ_INT(s_amend(&r1, &r1b), 0, "r-1 amended");
    TAP_EQ_INT(s_void(&r2), 0, "r-2 voided");
    a = s_agg("MDI", "A1111AA");
    if (a) {
        TAP_EQ_INT(a->workshop_pay, 200, "after amend and void: 200");
        TAP_EQ_INT(a->sessions, 1, "one live session");
        TAP_EQ_INT(a->minutes, 120, "120 live minutes");
        protobuf_c_message_free_unpacked(&a->base, NULL);
    }
    int64_t sum, spends;
    uint64_t lines;
    size_t n_exc;
    s_totals(&sum, &lines, "prisoner:A1111AA:spends", &spends, &n_exc);
    TAP_EQ_INT(lines, 6 + 2 + 1, "6 lines, amendment reversal + new line, void reversal");
    TAP_EQ_INT(sum, 0, "the ledger balances");
    TAP_EQ_INT(spends, -200, "A1111AA's spends credited 200 (hledger sign)");

    /* A void of r-4 removes its exception; re-recording it brings it back. */
    TAP_EQ_INT(s_void(&r4), 0, "r-4 voided");
    TAP_OK(s_exception_kind("MDI", "r-4", kind, sizeof kind) == MDB_NOTFOUND,
           "the void removes r-4's exception");
    TAP_EQ_INT(s_record(&r4), 0, "r-4 recorded again");
    TAP_EQ_INT(s_exception_kind("MDI", "r-4", kind, sizeof kind), 0, "r-4 listed again");

    TAP_EQ_INT(s_close("MDI", "2026-W48"), 0, "MDI week 48 closed");
    a = s_agg("MDI", "A1111AA");
    if (a) {
        TAP_OK(a->closed, "A1111AA's week is closed");
        TAP_EQ_INT(a->top_up, 200, "top-up 200 to the 400 minimum");
        TAP_EQ_INT(a->net, 400, "net 400");
        protobuf_c_message_free_unpacked(&a->base, NULL);
    }
    a = s_agg("MDI", "B2222BB");
    if (a) {
        TAP_EQ_INT(a->gross, 0, "B2222BB gross 0 (NO_RATE and REFUSED)");
        TAP_EQ_INT(a->top_up, 400, "an ATTENDED record priced 0 by NO_RATE still tops up");
        TAP_EQ_INT(a->net, 400, "B2222BB net 400");
        protobuf_c_message_free_unpacked(&a->base, NULL);
    }
    TAP_EQ_INT(s_close("KMI", "2026-W48"), 0, "KMI week 48 closed");
    a = s_agg("KMI", "C3333CC");
    if (a) {
        /* 2 x round_half_up(480 * 1300 / 60) = 20800; tax 5000; net outside
         * 15800; levy floor(13800 * 40 / 100) = 5520; net 10280. */
        TAP_EQ_INT(a->gross, 20800, "C3333CC gross 208.00");
        TAP_EQ_INT(a->top_up, 0, "no top-up on outside work");
        TAP_EQ_INT(a->deductions, 5000, "income tax 50.00 applied");
        TAP_EQ_INT(a->levy, 5520, "levy 55.20");
        TAP_EQ_INT(a->net, 10280, "net 102.80");
        protobuf_c_message_free_unpacked(&a->base, NULL);
    }
    uint64_t before = 0;
    s_totals(&sum, &before, "prisoner:C3333CC:spends", &spends, &n_exc);
    TAP_EQ_INT(spends, -10280, "C3333CC's spends moved by exactly the net");
    TAP_EQ_INT(s_close("KMI", "2026-W48"), 0, "closing again is accepted");
    s_totals(&sum, &lines, "prisoner:C3333CC:spends", &spends, &n_exc);
    TAP_EQ_INT(lines, before, "closing again posts nothing");
    TAP_EQ_INT(sum, 0, "the ledger balances after the closes");

    /* Deductions for a week that is closed at the prisoner's last prison
     * would never be applied: refused. The row already applied is
     * unchanged; an open week, or no records yet, is fine. */
    char at[WAGE_PRISON_LEN];
    TAP_EQ_INT(s_verdict("C3333CC", "2026-W48", PAY__DEDUCTION_KIND__COURT_ORDER, 700, at),
               WAGE_DEDUCTION_CLOSED, "a new deduction for a closed week is refused");
    TAP_EQ_STR(at, "KMI", "naming the prison where the week closed");
    TAP_EQ_INT(s_verdict("C3333CC", "2026-W48", PAY__DEDUCTION_KIND__INCOME_TAX, 6000, at),
               WAGE_DEDUCTION_CLOSED, "so is a changed amount");
    TAP_EQ_INT(s_verdict("C3333CC", "2026-W48", PAY__DEDUCTION_KIND__INCOME_TAX, 5000, at),
               WAGE_DEDUCTION_UNCHANGED, "the row already applied, sent again, changes nothing");
    TAP_EQ_INT(s_verdict("C3333CC", "2026-W49", PAY__DEDUCTION_KIND__INCOME_TAX, 5000, at),
               WAGE_DEDUCTION_OPEN, "the next week is open");
    TAP_EQ_INT(s_verdict("D4444DD", "2026-W48", PAY__DEDUCTION_KIND__INCOME_TAX, 5000, at),
               WAGE_DEDUCTION_OPEN, "a prisoner with no records that week: open");
    TAP_EQ_STR(at, "", "and no prison named");

    /* A record that arrives after its week closed is priced and listed. */
    Pay__RecordState r7 = s_state("r-7", "A1111AA", "MDI", "C-1", PAY__WORK_TYPE__WORKSHOP, 1,
                                  PAY__INCENTIVE_LEVEL__STD, "2026-11-27", PAY__SESSION__AM,
                                  60, 0, PAY__OUTCOME__ATTENDED, 0);
    TAP_EQ_INT(s_record(&r7), 0, "late record applied");
    TAP_EQ_INT(s_exception_kind("MDI", "r-7", kind, sizeof kind), 0, "late record listed");
    TAP_EQ_STR(kind, "AFTER_CLOSE", "as AFTER_CLOSE");

    /* A malformed record is refused (the feed quarantines it), and
     * nothing of it is written. */
    Pay__RecordState bad = r1;
    bad.record_id = "r-bad";
    bad.prisoner = "a1111aa";
    s_totals(&sum, &before, "-", &spends, &n_exc);
    TAP_EQ_INT(s_record(&bad), FEED_REFUSED, "a malformed record is refused");
    s_totals(&sum, &lines, "-", &spends, &n_exc);
    TAP_EQ_INT(lines, before, "and posts nothing");
    /* So is a record naming a prisoner the feed never told of. */
    Pay__RecordState stranger = r1;
    stranger.record_id = "r-stranger";
    stranger.prisoner = "Z9999ZZ";
    Pay__HoursRecorded sr = PAY__HOURS_RECORDED__INIT;
    Pay__HoursEvent sev = PAY__HOURS_EVENT__INIT;
    sr.record = &stranger;
    sev.kind_case = PAY__HOURS_EVENT__KIND_RECORDED;
    sev.recorded = &sr;
    TAP_EQ_INT(s_apply(&sev), FEED_REFUSED, "a record for an unknown prisoner is refused");
    /* A void of a record never priced here, an amendment of one, and an
     * event of an unknown kind: refused too. */
    Pay__RecordState ghost = r1;
    ghost.record_id = "r-ghost";
    TAP_EQ_INT(s_void(&ghost), FEED_REFUSED, "a void of an unknown record is refused");
    TAP_EQ_INT(s_amend(&ghost, &ghost), FEED_REFUSED, "an amendment of one is refused");
    Pay__HoursEvent empty = PAY__HOURS_EVENT__INIT;
    TAP_EQ_INT(s_apply(&empty), FEED_REFUSED, "an event of no known kind is refused");
    s_totals(&sum, &lines, "-", &spends, &n_exc);
    TAP_EQ_INT(lines, before, "none of them posted anything");

    s_check_journal(dir);
    s_check_pack_line();
    s_check_groups(dir);
    for (size_t i = 0; i < s_n_log; i++)
        free(s_log[i].payload.data);
    wage_store_destroy(&s_ws);
    TAP_OK(s_ws == NULL, "destroy NULLs the pointer");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        TAP_NOTE("could not remove %s", dir);
    return tap_done();
}
