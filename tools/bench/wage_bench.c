/* wage_bench: the wage service's feed apply step without sockets (not a
 * test; step 3 of scripts/bench-wages runs it, and it is the program to run
 * under valgrind --tool=callgrind for repeatable instruction counts).
 *
 * It builds the same events as scripts/bench-wages (PRISONERS prisoners at
 * MDI, 10 records a week each, HOURLY rates with piece work, 90% ATTENDED,
 * every week closed after its records), packs them as FeedEntries in
 * batches of 1024 (FEED_BATCH_MAX_ENTRIES) and applies them through
 * feed_batches_apply, the consumer's real apply step, GROUP batches per
 * transaction (the consumer's group commit: 16 when it is behind), on a
 * fresh store in /tmp with full sync. It prints the wall-clock rate and
 * the ledger's size, and checks that the ledger balances.
 *
 * usage: wage_bench [records [group [prisoners]]]
 *        (defaults 300000, 16, 1500) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "feed.h"
#include "hours_feed.pb-c.h"
#include "log.h"
#include "wage_apply.h"
#include "wage_store.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A small deterministic generator (xorshift), so that runs are repeatable. */
static uint64_t s_rng = 88172645463325252ull;
static uint32_t s_rand(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng % n);
}

static int s_rates_fn(MDB_txn *txn, void *arg)
{
    wage_store_t *ws = arg;
    int32_t eff;
    civil_parse_date("2025-01-01", &eff);
    for (uint32_t band = 1; band <= 3; band++)
        for (int level = PAY__INCENTIVE_LEVEL__BAS; level <= PAY__INCENTIVE_LEVEL__EN2;
             level++) {
            Pay__PayRate r = PAY__PAY_RATE__INIT;
            r.prison = "MDI";
            r.has_pay_band = r.has_incentive_level = r.has_basis = r.has_rate = 1;
            r.pay_band = band;
            r.incentive_level = (Pay__IncentiveLevel)level;
            r.basis = PAY__RATE_BASIS__RATE_HOURLY;
            r.rate = 45 + 10 * band;
            r.has_piece_rate = r.has_piece_rate_items = 1;
            r.piece_rate = 10;
            r.piece_rate_items = 5;
            int rc = wage_store_put_rate(ws, txn, &r, eff);
            if (rc != 0)
                return rc;
        }
    return 0;
}

typedef struct {
    wage_store_t *ws;
    int64_t sum;
    uint64_t lines;
    uint64_t digest;
} s_check_t;

static int s_check_fn(MDB_txn *txn, void *arg)
{
    s_check_t *c = arg;
    uint64_t upto = 0;
    int rc = wage_store_fold_balances(c->ws, txn, &upto);
    if (rc != 0)
        return rc;
    c->lines = upto;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, c->ws->balances, &cur)) != 0)
        return rc;
    MDB_val k, v;
    c->sum = 0;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
        if (k.mv_size > 0 && ((const char *)k.mv_data)[0] != '\0' && v.mv_size == 8) {
            c->sum += (int64_t)store_be64_get(v.mv_data);
        }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return rc;
    /* A digest of everything the apply step writes, to compare variants. */
    MDB_dbi dbis[] = { c->ws->ledger, c->ws->by_prisoner, c->ws->balances, c->ws->records,
                       c->ws->weeks, c->ws->prison_weeks, c->ws->exceptions, c->ws->cursor };
    c->digest = 1469598103934665603ull;
    for (size_t d = 0; d < sizeof dbis / sizeof dbis[0]; d++) {
        if ((rc = mdb_cursor_open(txn, dbis[d], &cur)) != 0)
            return rc;
        while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
            for (size_t i = 0; i < k.mv_size; i++)
                c->digest = (c->digest ^ ((const uint8_t *)k.mv_data)[i]) * 1099511628211ull;
            for (size_t i = 0; i < v.mv_size; i++)
                c->digest = (c->digest ^ ((const uint8_t *)v.mv_data)[i]) * 1099511628211ull;
        }
        mdb_cursor_close(cur);
        if (rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

static Pay__FeedEntry *s_entries;
static Pay__FeedEntry **s_eptr;
static long s_n;

static void s_push(const Pay__HoursEvent *ev)
{
    Pay__FeedEntry *e = &s_entries[s_n];
    pay__feed_entry__init(e);
    e->has_seq = e->has_payload = 1;
    e->seq = (uint64_t)s_n + 1;
    e->payload.len = pay__hours_event__get_packed_size(ev);
    e->payload.data = malloc(e->payload.len);
    pay__hours_event__pack(ev, e->payload.data);
    s_eptr[s_n] = e;
    s_n++;
}

/* WAGE_BENCH_MIX=1: outside work with deductions, top-ups, amendments and
 * voids too, to compare variants of the apply step on every path (the
 * figures are always without it). */
static int s_mix_fn(MDB_txn *txn, void *arg)
{
    wage_store_t *ws = arg;
    int32_t eff;
    civil_parse_date("2025-01-01", &eff);
    Pay__PayPolicy pol = PAY__PAY_POLICY__INIT;
    pol.prison = "MDI";
    pol.has_min_weekly_pay = 1;
    pol.min_weekly_pay = 1600;
    Pay__OutsideWage ow = PAY__OUTSIDE_WAGE__INIT;
    ow.contract = "C-OUT-1";
    ow.prison = "MDI";
    ow.has_hourly_wage = 1;
    ow.hourly_wage = 1300;
    int rc = wage_store_put_policy(ws, txn, &pol, eff);
    if (rc == 0)
        rc = wage_store_put_outside(ws, txn, &ow, eff);
    for (int w = 0; w < 30 && rc == 0; w++)
        for (int i = 0; i < 10000 && rc == 0; i += 100) {
            char prisoner[8], week[CIVIL_WEEK_LEN];
            int32_t monday;
            civil_parse_date("2026-01-05", &monday);
            snprintf(prisoner, sizeof prisoner, "B%04dAA", i % 10000);
            civil_week_t wk = civil_iso_week(monday + 7 * w);
            civil_format_week(wk, week);
            Pay__Deduction d = PAY__DEDUCTION__INIT;
            d.prisoner = prisoner;
            d.week = week;
            d.has_kind = d.has_amount = 1;
            d.kind = PAY__DEDUCTION_KIND__INCOME_TAX;
            d.amount = 500;
            rc = wage_store_put_deduction(ws, txn, &d, civil_week_key(wk));
        }
    return rc;
}

int main(int argc, char **argv)
{
    long records = argc > 1 ? atol(argv[1]) : 300000;
    long group = argc > 2 ? atol(argv[2]) : 16;
    long prisoners = argc > 3 ? atol(argv[3]) : 1500;
    char dir[] = "/tmp/wage_bench.XXXXXX";
    if (records < 1 || group < 1 || prisoners < 1 || prisoners > 9999 || !mkdtemp(dir))
        return 2;
    log_set_level(LOG_ERROR);
    wage_store_t *ws = wage_store_new(dir, (size_t)2 << 30);
    if (!ws)
        return 1;
    if (store_write(ws->store, s_rates_fn, ws) != 0)
        return 1;
    const char *mix_env = getenv("WAGE_BENCH_MIX");
    int mix = mix_env && *mix_env && strcmp(mix_env, "0") != 0;
    if (mix && store_write(ws->store, s_mix_fn, ws) != 0)
        return 1;

    long weeks = records / (prisoners * 10);
    if (weeks < 1)
        weeks = 1;
    long n_ev = weeks * prisoners * 10 * (mix ? 2 : 1) + weeks;
    Pay__FeedEntry *entries = s_entries = calloc((size_t)n_ev, sizeof *entries);
    Pay__FeedEntry **eptr = s_eptr = calloc((size_t)n_ev, sizeof *eptr);
    if (!entries || !eptr)
        return 1;
    int32_t monday0;
    civil_parse_date("2026-01-05", &monday0);
    long recs = 0;
    static const uint32_t mins[] = { 90, 150, 210 };
    for (long w = 0; w < weeks; w++) {
        int32_t monday = monday0 + (int32_t)(7 * w);
        for (long i = 0; i < prisoners; i++) {
            char prisoner[8];
            snprintf(prisoner, sizeof prisoner, "B%04ldAA", i);
            for (int d = 0; d < 5; d++)
                for (int s = 0; s < 2; s++) {
                    char rid[32], date[CIVIL_DATE_LEN], week[CIVIL_WEEK_LEN];
                    snprintf(rid, sizeof rid, "b%07ld", ++recs);
                    civil_format_date(monday + d, date);
                    civil_format_week(civil_iso_week(monday + d), week);
                    Pay__RecordState st = PAY__RECORD_STATE__INIT;
                    st.record_id = rid;
                    st.prisoner = prisoner;
                    st.prison = "MDI";
                    st.employer = "acme";
                    st.contract = "C-MDI-1";
                    st.has_work_type = 1;
                    st.work_type = PAY__WORK_TYPE__WORKSHOP;
                    st.has_pay_band = 1;
                    st.pay_band = 1 + (uint32_t)(i % 3);
                    st.has_incentive_level = 1;
                    st.incentive_level = (Pay__IncentiveLevel)(1 + i % 5);
                    st.date = date;
                    st.week = week;
                    st.has_session = 1;
                    st.session = s == 0 ? PAY__SESSION__AM : PAY__SESSION__PM;
                    st.has_minutes = 1;
                    st.minutes = mins[s_rand(3)];
                    st.has_units = 1;
                    st.units = s_rand(21);
                    st.has_outcome = 1;
                    st.outcome = s_rand(10) < 9 ? PAY__OUTCOME__ATTENDED : PAY__OUTCOME__SICK;
                    st.has_paid_absence = 1;
                    if (mix && i % 50 == 0) {
                        st.work_type = PAY__WORK_TYPE__OUTSIDE;
                        st.contract = "C-OUT-1";
                    }
                    Pay__HoursRecorded hr = PAY__HOURS_RECORDED__INIT;
                    hr.record = &st;
                    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
                    ev.has_at = 1;
                    ev.at = 1767600000;
                    ev.kind_case = PAY__HOURS_EVENT__KIND_RECORDED;
                    ev.recorded = &hr;
                    s_push(&ev);
                    if (mix && recs % 7 == 0) {   /* amended at once */
                        Pay__RecordState nw = st;
                        nw.minutes = 60;
                        nw.outcome = PAY__OUTCOME__ATTENDED;
                        Pay__HoursAmended am = PAY__HOURS_AMENDED__INIT;
                        am.old = &st;
                        am.new_ = &nw;
                        Pay__HoursEvent ea = PAY__HOURS_EVENT__INIT;
                        ea.kind_case = PAY__HOURS_EVENT__KIND_AMENDED;
                        ea.amended = &am;
                        s_push(&ea);
                    }
                    if (mix && recs % 11 == 0) {  /* voided (after any amendment) */
                        Pay__HoursVoided vo = PAY__HOURS_VOIDED__INIT;
                        vo.old = &st;
                        Pay__HoursEvent ev2 = PAY__HOURS_EVENT__INIT;
                        ev2.kind_case = PAY__HOURS_EVENT__KIND_VOIDED;
                        ev2.voided = &vo;
                        s_push(&ev2);
                    }
                }
        }
        char week[CIVIL_WEEK_LEN];
        civil_format_week(civil_iso_week(monday), week);
        Pay__PayWeekClosed cl = PAY__PAY_WEEK_CLOSED__INIT;
        cl.prison = "MDI";
        cl.week = week;
        cl.closed_by = "bench";
        Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
        ev.kind_case = PAY__HOURS_EVENT__KIND_WEEK_CLOSED;
        ev.week_closed = &cl;
        s_push(&ev);
    }
    long n = s_n;

    /* Batches of FEED_BATCH_MAX_ENTRIES, `group` of them per transaction. */
    size_t n_batches = (size_t)((n + FEED_BATCH_MAX_ENTRIES - 1) / FEED_BATCH_MAX_ENTRIES);
    Pay__FeedBatch *batches = calloc(n_batches, sizeof *batches);
    const Pay__FeedBatch **bptr = calloc(n_batches, sizeof *bptr);
    for (size_t b = 0; b < n_batches; b++) {
        pay__feed_batch__init(&batches[b]);
        size_t at = b * FEED_BATCH_MAX_ENTRIES;
        batches[b].entries = &eptr[at];
        batches[b].n_entries = (size_t)n - at < FEED_BATCH_MAX_ENTRIES ? (size_t)n - at
                                                                       : FEED_BATCH_MAX_ENTRIES;
        bptr[b] = &batches[b];
    }

    double t0 = s_now();
    uint64_t applied = 0, commits = 0;
    for (size_t b = 0; b < n_batches; b += (size_t)group) {
        size_t k = n_batches - b < (size_t)group ? n_batches - b : (size_t)group;
        feed_batch_result_t res;
        int rc = feed_batches_apply_group(ws->store, ws->cursor, WAGE_CURSOR_FEED, &bptr[b], k,
                                          wage_apply_event,
                                          getenv("WAGE_BENCH_NO_GROUP") ? NULL : wage_apply_group,
                                          ws, &res);
        if (rc != 0) {
            fprintf(stderr, "apply failed at seq %llu: %d\n",
                    (unsigned long long)res.failed_seq, rc);
            return 1;
        }
        applied += res.applied;
        commits++;
    }
    double secs = s_now() - t0;
    s_check_t chk = { ws, 0, 0, 0 };
    if (store_write(ws->store, s_check_fn, &chk) != 0)
        return 1;
    printf("wage_apply events=%llu records=%ld closes=%ld seconds=%.3f records_per_s=%.0f "
           "group=%ld commits=%llu ledger_lines=%llu balance_sum=%lld digest=%016llx\n",
           (unsigned long long)applied, recs, weeks, secs, recs / secs, group,
           (unsigned long long)commits, (unsigned long long)chk.lines, (long long)chk.sum,
           (unsigned long long)chk.digest);

    for (long i = 0; i < n; i++)
        free(entries[i].payload.data);
    free(entries);
    free(eptr);
    free(batches);
    free(bptr);
    wage_store_destroy(&ws);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return chk.sum == 0 ? 0 : 1;
}
