/* hours_bench: the load generator of scripts/bench-hours (not a test).
 *
 *   hours_bench --endpoint EP --server-key hours.pub --key KEY --mode MODE ...
 *
 * Modes:
 *   setup   (industries key) registers --prisons prisons PAA.., one WORKSHOP
 *           contract each, and --prisoners prisoners allocated round-robin.
 *   batch   (finance key) submits --records records in batches of --batch
 *           from --senders concurrent clients (one request in flight each),
 *           and prints "records=N accepted=N seconds=S rate=R".
 *   inproc  no sockets: opens the store in --data itself and applies
 *           batches through hrs_service_apply, --group requests per
 *           commit, to show what the handlers and LMDB cost alone.
 *   single  (finance key) runs --clients concurrent clients, each sending
 *           one-record requests back to back for --seconds, and prints
 *           "records=N accepted=N seconds=S rate=R p50_ms=.. p99_ms=..".
 *
 * Records are generated so that every one passes every check: record k of
 * a run goes to prisoner --first-prisoner + (k / 21) % --span, 100 minutes,
 * on one of the 21 (day, session) slots of an ISO week, the week stepping
 * back from 2026-W47 once all prisoners of the span have a full week
 * (21 x 100 = 2100 minutes, under the weekly cap of 2400; 300 a day, under
 * 600). --first-record numbers the ids so that runs never collide. The
 * service must run with --today 2026-11-25; finance may record past the
 * backdate limit, and every check still runs. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "auth.h"
#include "civil.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "hours.pb-c.h"
#include "hrs_service.h"
#include "log.h"

#define S_SLOTS 21

static void s_prisoner(long i, char out[8])
{
    long d = i % 10000;
    out[0] = (char)('A' + (i / 10000) % 26);
    for (int k = 4; k >= 1; k--, d /= 10)
        out[k] = (char)('0' + d % 10);
    out[5] = 'B';
    out[6] = 'C';
    out[7] = '\0';
}

static void s_prison(long j, char out[4])
{
    snprintf(out, 4, "P%c%c", 'A' + (int)((j / 26) % 26), 'A' + (int)(j % 26));
}

typedef struct {
    long first_prisoner, span, prisons, first_record;
    int32_t w47_monday;
} s_gen_t;

/* Fills the cells of record k (text buffers owned by `buf`). */
typedef struct {
    char id[32], prisoner[8], contract[16], date[CIVIL_DATE_LEN];
    Pay__HoursRow row;
} s_rec_t;

static void s_make(const s_gen_t *g, long k, s_rec_t *r)
{
    static const char *sessions[] = {"AM", "PM", "ED"};
    long slot = k % S_SLOTS, pi = (k / S_SLOTS) % g->span, week = k / (S_SLOTS * g->span);
    long prisoner = g->first_prisoner + pi;
    char prison[4];
    s_prison(prisoner % g->prisons, prison);
    snprintf(r->id, sizeof r->id, "bench-%ld", g->first_record + k);
    s_prisoner(prisoner, r->prisoner);
    snprintf(r->contract, sizeof r->contract, "C-%s", prison);
    civil_format_date(g->w47_monday - (int32_t)(7 * week) + (int32_t)(slot / 3), r->date);
    pay__hours_row__init(&r->row);
    r->row.record_id = r->id;
    r->row.prisoner = r->prisoner;
    r->row.contract = r->contract;
    r->row.date = r->date;
    r->row.session = (char *)sessions[slot % 3];
    r->row.minutes = "100";
    r->row.outcome = "ATTENDED";
}

static int s_count_ok(const Pay__HoursReply *r)
{
    int n = 0;
    for (size_t i = 0; i < r->n_items; i++)
        n += r->items[i]->status == PAY__STATUS__OK;
    return n;
}

/* ---- setup -------------------------------------------------------------- */

static int s_call_rows(client_t *c, Pay__HoursRequest *req, size_t n)
{
    ProtobufCMessage *reply = NULL;
    if (client_call(c, &req->base, &pay__hours_reply__descriptor, &reply) != 0) {
        fprintf(stderr, "hours_bench: no reply\n");
        return -1;
    }
    Pay__HoursReply *r = (Pay__HoursReply *)reply;
    int ok = s_count_ok(r);
    if ((size_t)ok != n)
        fprintf(stderr, "hours_bench: %d of %zu rows stored: %s (%s)\n", ok, n, r->message,
                r->n_items ? r->items[0]->message : "");
    codec_free(&reply);
    return (size_t)ok == n ? 0 : -1;
}

static int s_setup(client_t *c, long prisons, long prisoners)
{
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    char rid[64];
    int rc = -1;
    long chunk = 1000;
    char (*codes)[4] = calloc((size_t)prisons, 4);
    char (*ids)[16] = calloc((size_t)prisons, 16);
    Pay__HoursPrisonRow *pr = calloc((size_t)prisons, sizeof *pr);
    Pay__HoursPrisonRow **prp = calloc((size_t)prisons, sizeof *prp);
    Pay__HoursContractRow *cr = calloc((size_t)prisons, sizeof *cr);
    Pay__HoursContractRow **crp = calloc((size_t)prisons, sizeof *crp);
    char (*nums)[8] = calloc((size_t)chunk, 8);
    Pay__HoursPrisonerRow *qr = calloc((size_t)chunk, sizeof *qr);
    Pay__HoursPrisonerRow **qrp = calloc((size_t)chunk, sizeof *qrp);
    Pay__HoursAllocationRow *ar = calloc((size_t)chunk, sizeof *ar);
    Pay__HoursAllocationRow **arp = calloc((size_t)chunk, sizeof *arp);
    if (!codes || !ids || !pr || !prp || !cr || !crp || !nums || !qr || !qrp || !ar || !arp)
        goto done;
    req.request_id = rid;
    for (long j = 0; j < prisons; j++) {
        s_prison(j, codes[j]);
        snprintf(ids[j], 16, "C-%s", codes[j]);
        pay__hours_prison_row__init(&pr[j]);
        pr[j].code = codes[j];
        pr[j].name = codes[j];
        pr[j].regime = "CLOSED";
        prp[j] = &pr[j];
        pay__hours_contract_row__init(&cr[j]);
        cr[j].id = ids[j];
        cr[j].employer = "bench";
        cr[j].prison = codes[j];
        cr[j].activity = "Assembly";
        cr[j].work_type = "WORKSHOP";
        cr[j].start = "2020-01-01";
        cr[j].attested_by = "bench";
        cr[j].attested_on = "2020-01-01";
        cr[j].attestation_ref = "COP-BENCH";
        crp[j] = &cr[j];
    }
    Pay__HoursUpsertPrisons up = PAY__HOURS_UPSERT_PRISONS__INIT;
    up.n_rows = (size_t)prisons;
    up.rows = prp;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_PRISONS;
    req.upsert_prisons = &up;
    snprintf(rid, sizeof rid, "setup-prisons-%ld", prisons);
    if (s_call_rows(c, &req, up.n_rows) != 0)
        goto done;
    Pay__HoursUpsertContracts uc = PAY__HOURS_UPSERT_CONTRACTS__INIT;
    uc.n_rows = (size_t)prisons;
    uc.rows = crp;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_CONTRACTS;
    req.upsert_contracts = &uc;
    snprintf(rid, sizeof rid, "setup-contracts-%ld", prisons);
    if (s_call_rows(c, &req, uc.n_rows) != 0)
        goto done;
    for (long base = 0; base < prisoners; base += chunk) {
        long n = prisoners - base < chunk ? prisoners - base : chunk;
        for (long i = 0; i < n; i++) {
            long p = base + i;
            s_prisoner(p, nums[i]);
            pay__hours_prisoner_row__init(&qr[i]);
            qr[i].number = nums[i];
            qr[i].prison = codes[p % prisons];
            qr[i].incentive_level = "STD";
            qrp[i] = &qr[i];
            pay__hours_allocation_row__init(&ar[i]);
            ar[i].prisoner = nums[i];
            ar[i].contract = ids[p % prisons];
            ar[i].from = "2020-01-01";
            ar[i].pay_band = "2";
            arp[i] = &ar[i];
        }
        Pay__HoursUpsertPrisoners uq = PAY__HOURS_UPSERT_PRISONERS__INIT;
        uq.n_rows = (size_t)n;
        uq.rows = qrp;
        req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_PRISONERS;
        req.upsert_prisoners = &uq;
        snprintf(rid, sizeof rid, "setup-prisoners-%ld", base);
        if (s_call_rows(c, &req, uq.n_rows) != 0)
            goto done;
        Pay__HoursUpsertAllocations ua = PAY__HOURS_UPSERT_ALLOCATIONS__INIT;
        ua.n_rows = (size_t)n;
        ua.rows = arp;
        req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_ALLOCATIONS;
        req.upsert_allocations = &ua;
        snprintf(rid, sizeof rid, "setup-allocations-%ld", base);
        if (s_call_rows(c, &req, ua.n_rows) != 0)
            goto done;
    }
    printf("setup prisons=%ld prisoners=%ld\n", prisons, prisoners);
    rc = 0;
done:
    free(codes);
    free(ids);
    free(pr);
    free(prp);
    free(cr);
    free(crp);
    free(nums);
    free(qr);
    free(qrp);
    free(ar);
    free(arp);
    return rc;
}

/* ---- load --------------------------------------------------------------- */

typedef struct {
    client_t *c;
    int busy;
    int64_t sent_us;
} s_peer_t;

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Runs `n_peers` clients, each keeping one request in flight, until
 * `total` records are sent (batch mode) or `seconds` pass (single mode). */
static int s_load(void *ctx, const char *endpoint, const auth_keypair_t *keys,
                  const char *server_pub, const s_gen_t *g, int n_peers, long batch, long total,
                  double seconds)
{
    s_peer_t *peers = calloc((size_t)n_peers, sizeof *peers);
    s_rec_t *recs = calloc((size_t)batch, sizeof *recs);
    Pay__HoursRow **rows = calloc((size_t)batch, sizeof *rows);
    zmq_pollitem_t *items = calloc((size_t)n_peers, sizeof *items);
    size_t lat_cap = 1 << 20, n_lat = 0;
    int64_t *lat = malloc(lat_cap * sizeof *lat);
    long next = 0, accepted = 0, answered = 0;
    int rc = -1;
    char rid[64];
    if (!peers || !recs || !rows || !items || !lat)
        goto done;
    for (int i = 0; i < n_peers; i++)
        if (!(peers[i].c = client_new(ctx, endpoint, keys, server_pub, 30000, 0)))
            goto done;
    int64_t start = s_now_us(), end_by = start + (int64_t)(seconds * 1e6);
    for (;;) {
        int64_t now = s_now_us();
        bool sending = total > 0 ? next < total : now < end_by;
        int in_flight = 0;
        for (int i = 0; i < n_peers; i++) {
            if (!peers[i].busy && sending && (total == 0 || next < total)) {
                long n = total > 0 && total - next < batch ? total - next : batch;
                for (long k = 0; k < n; k++) {
                    s_make(g, next + k, &recs[k]);
                    rows[k] = &recs[k].row;
                }
                Pay__SubmitHours sub = PAY__SUBMIT_HOURS__INIT;
                sub.n_records = (size_t)n;
                sub.records = rows;
                Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
                snprintf(rid, sizeof rid, "bench-req-%ld", g->first_record + next);
                req.request_id = rid;
                req.body_case = PAY__HOURS_REQUEST__BODY_SUBMIT_HOURS;
                req.submit_hours = &sub;
                peers[i].sent_us = s_now_us();
                if (client_send(peers[i].c, &req.base, NULL) != 0) {
                    fprintf(stderr, "hours_bench: send failed\n");
                    goto done;
                }
                next += n;
                peers[i].busy = 1;
            }
            in_flight += peers[i].busy;
            items[i].socket = client_socket(peers[i].c);
            items[i].events = ZMQ_POLLIN;
            items[i].revents = 0;
        }
        if (in_flight == 0)
            break;
        if (zmq_poll(items, n_peers, 1000) < 0 && errno != EINTR)
            goto done;
        for (int i = 0; i < n_peers; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            ProtobufCMessage *reply = NULL;
            if (client_recv(peers[i].c, &pay__hours_reply__descriptor, 0, &reply) != 0)
                continue;
            int64_t l = s_now_us() - peers[i].sent_us;
            if (n_lat < lat_cap)
                lat[n_lat++] = l;
            Pay__HoursReply *r = (Pay__HoursReply *)reply;
            int okn = s_count_ok(r);
            if ((size_t)okn != r->n_items && accepted == 0)
                fprintf(stderr, "hours_bench: refused: %s\n",
                        r->n_items ? r->items[0]->message : r->message);
            accepted += okn;
            answered += (long)r->n_items;
            codec_free(&reply);
            peers[i].busy = 0;
        }
    }
    double secs = (double)(s_now_us() - start) / 1e6;
    qsort(lat, n_lat, sizeof *lat, s_cmp_i64);
    double p50 = n_lat ? (double)lat[n_lat / 2] / 1000.0 : 0;
    double p99 = n_lat ? (double)lat[(n_lat * 99) / 100] / 1000.0 : 0;
    printf("records=%ld accepted=%ld seconds=%.3f rate=%.0f requests=%zu p50_ms=%.3f "
           "p99_ms=%.3f\n",
           answered, accepted, secs, (double)accepted / secs, n_lat, p50, p99);
    rc = accepted == answered ? 0 : 1;
done:
    if (peers)
        for (int i = 0; i < n_peers; i++)
            client_destroy(&peers[i].c);
    free(peers);
    free(recs);
    free(rows);
    free(items);
    free(lat);
    return rc;
}

/* ---- in process --------------------------------------------------------- */

typedef struct {
    hrs_service_t *svc;
    const auth_identity_t *who;
    Pay__HoursRequest **reqs;
    int n;
    long accepted;
} s_inproc_t;

static int64_t s_body_us;

static int s_inproc_body(MDB_txn *txn, void *arg)
{
    s_inproc_t *a = arg;
    int64_t t0 = s_now_us();
    a->accepted = 0;
    for (int i = 0; i < a->n; i++) {
        MDB_txn *child;
        Pay__HoursReply *reply;
        bool ro;
        int rc = mdb_txn_begin(mdb_txn_env(txn), txn, 0, &child);
        if (rc != 0)
            return rc;
        rc = hrs_service_apply(a->svc, a->who, a->reqs[i], child, &reply, &ro);
        if (rc != 0) {
            mdb_txn_abort(child);
            return rc;
        }
        a->accepted += s_count_ok(reply);
        if ((rc = mdb_txn_commit(child)) != 0)
            return rc;
    }
    s_body_us += s_now_us() - t0;
    return 0;
}

static int s_inproc(const char *dir, const s_gen_t *g, long batch, long total, int group,
                    long prisons, long prisoners)
{
    static const auth_identity_t ind = {ROLE_INDUSTRIES, "", "industries"};
    static const auth_identity_t fin = {ROLE_FINANCE, "", "finance"};
    hrs_store_t *st = hrs_store_open(dir, (size_t)2048 << 20);
    hrs_service_t *svc = st ? hrs_service_new(st) : NULL;
    s_rec_t *recs = calloc((size_t)(batch * group), sizeof *recs);
    Pay__HoursRow **rows = calloc((size_t)(batch * group), sizeof *rows);
    Pay__SubmitHours *subs = calloc((size_t)group, sizeof *subs);
    Pay__HoursRequest *reqs = calloc((size_t)group, sizeof *reqs);
    Pay__HoursRequest **rp = calloc((size_t)group, sizeof *rp);
    int rc = 1;
    if (!svc || !recs || !rows || !subs || !reqs || !rp)
        goto done;
    {
        /* Reference data through the same handlers. */
        s_inproc_t a = {svc, &ind, rp, 1, 0};
        char codes[676][4], ids[676][16];
        Pay__HoursPrisonRow pr[676];
        Pay__HoursContractRow cr[676];
        Pay__HoursPrisonRow *prp[676];
        Pay__HoursContractRow *crp[676];
        for (long j = 0; j < prisons; j++) {
            s_prison(j, codes[j]);
            snprintf(ids[j], 16, "C-%s", codes[j]);
            pay__hours_prison_row__init(&pr[j]);
            pr[j].code = codes[j];
            pr[j].name = codes[j];
            pr[j].regime = "CLOSED";
            prp[j] = &pr[j];
            pay__hours_contract_row__init(&cr[j]);
            cr[j].id = ids[j];
            cr[j].employer = "bench";
            cr[j].prison = codes[j];
            cr[j].activity = "Assembly";
            cr[j].work_type = "WORKSHOP";
            cr[j].start = "2020-01-01";
            cr[j].attested_by = "bench";
            cr[j].attested_on = "2020-01-01";
            cr[j].attestation_ref = "COP-BENCH";
            crp[j] = &cr[j];
        }
        Pay__HoursUpsertPrisons up = PAY__HOURS_UPSERT_PRISONS__INIT;
        up.n_rows = (size_t)prisons;
        up.rows = prp;
        pay__hours_request__init(&reqs[0]);
        reqs[0].body_case = PAY__HOURS_REQUEST__BODY_UPSERT_PRISONS;
        reqs[0].upsert_prisons = &up;
        rp[0] = &reqs[0];
        if (store_write(hrs_store_store(st), s_inproc_body, &a) != 0)
            goto done;
        Pay__HoursUpsertContracts uc = PAY__HOURS_UPSERT_CONTRACTS__INIT;
        uc.n_rows = (size_t)prisons;
        uc.rows = crp;
        reqs[0].body_case = PAY__HOURS_REQUEST__BODY_UPSERT_CONTRACTS;
        reqs[0].upsert_contracts = &uc;
        if (store_write(hrs_store_store(st), s_inproc_body, &a) != 0)
            goto done;
        char (*nums)[8] = calloc((size_t)prisoners, 8);
        Pay__HoursPrisonerRow *q = calloc((size_t)prisoners, sizeof *q);
        Pay__HoursPrisonerRow **qp = calloc((size_t)prisoners, sizeof *qp);
        Pay__HoursAllocationRow *al = calloc((size_t)prisoners, sizeof *al);
        Pay__HoursAllocationRow **alp = calloc((size_t)prisoners, sizeof *alp);
        int ok = nums && q && qp && al && alp;
        for (long p = 0; ok && p < prisoners; p++) {
            s_prisoner(p, nums[p]);
            pay__hours_prisoner_row__init(&q[p]);
            q[p].number = nums[p];
            q[p].prison = codes[p % prisons];
            q[p].incentive_level = "STD";
            qp[p] = &q[p];
            pay__hours_allocation_row__init(&al[p]);
            al[p].prisoner = nums[p];
            al[p].contract = ids[p % prisons];
            al[p].from = "2020-01-01";
            al[p].pay_band = "2";
            alp[p] = &al[p];
        }
        Pay__HoursUpsertPrisoners uq = PAY__HOURS_UPSERT_PRISONERS__INIT;
        uq.n_rows = (size_t)prisoners;
        uq.rows = qp;
        reqs[0].body_case = PAY__HOURS_REQUEST__BODY_UPSERT_PRISONERS;
        reqs[0].upsert_prisoners = &uq;
        if (ok && store_write(hrs_store_store(st), s_inproc_body, &a) != 0)
            ok = 0;
        Pay__HoursUpsertAllocations ua = PAY__HOURS_UPSERT_ALLOCATIONS__INIT;
        ua.n_rows = (size_t)prisoners;
        ua.rows = alp;
        reqs[0].body_case = PAY__HOURS_REQUEST__BODY_UPSERT_ALLOCATIONS;
        reqs[0].upsert_allocations = &ua;
        if (ok && store_write(hrs_store_store(st), s_inproc_body, &a) != 0)
            ok = 0;
        free(nums);
        free(q);
        free(qp);
        free(al);
        free(alp);
        if (!ok)
            goto done;
    }
    int64_t start = s_now_us();
    long done_n = 0, accepted = 0;
    s_body_us = 0;
    while (done_n < total) {
        int n = 0;
        for (; n < group && done_n < total; n++) {
            long m = total - done_n < batch ? total - done_n : batch;
            for (long k = 0; k < m; k++) {
                s_make(g, done_n + k, &recs[n * batch + k]);
                rows[n * batch + k] = &recs[n * batch + k].row;
            }
            pay__submit_hours__init(&subs[n]);
            subs[n].n_records = (size_t)m;
            subs[n].records = &rows[n * batch];
            pay__hours_request__init(&reqs[n]);
            reqs[n].body_case = PAY__HOURS_REQUEST__BODY_SUBMIT_HOURS;
            reqs[n].submit_hours = &subs[n];
            rp[n] = &reqs[n];
            done_n += m;
        }
        s_inproc_t a = {svc, &fin, rp, n, 0};
        if (store_write(hrs_store_store(st), s_inproc_body, &a) != 0)
            goto done;
        accepted += a.accepted;
    }
    double secs = (double)(s_now_us() - start) / 1e6;
    printf("records=%ld accepted=%ld seconds=%.3f rate=%.0f handlers_s=%.3f p50_ms=0 p99_ms=0\n",
           total, accepted, secs, (double)accepted / secs, (double)s_body_us / 1e6);
    rc = accepted == total ? 0 : 1;
done:
    free(recs);
    free(rows);
    free(subs);
    free(reqs);
    free(rp);
    hrs_service_destroy(&svc);
    hrs_store_destroy(&st);
    return rc;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"endpoint", NULL, "tcp://127.0.0.1:5550", "the hours API", NULL},
        {"key", NULL, NULL, "client key pair (industries for setup, finance otherwise)", NULL},
        {"server-key", NULL, NULL, "hours.pub", NULL},
        {"mode", NULL, "batch", "setup, batch or single", NULL},
        {"prisons", NULL, "10", "prisons (setup; and for the generator)", NULL},
        {"prisoners", NULL, "6000", "prisoners (setup)", NULL},
        {"first-prisoner", NULL, "0", "generator: first prisoner index", NULL},
        {"span", NULL, "2000", "generator: prisoners used", NULL},
        {"first-record", NULL, "0", "generator: first record number (ids)", NULL},
        {"records", NULL, "100000", "batch: records to send", NULL},
        {"batch", NULL, "500", "batch: records per request", NULL},
        {"senders", NULL, "4", "batch: concurrent clients", NULL},
        {"clients", NULL, "64", "single: concurrent clients", NULL},
        {"seconds", NULL, "10", "single: how long", NULL},
        {"data", NULL, NULL, "inproc: the store folder", NULL},
        {"group", NULL, "1", "inproc: requests per commit", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    long prisons, prisoners, first_p, span, first_r, records, batch, senders, clients, seconds;
    long group = 1;
    log_set_service("hours-bench");
    log_init_from_env();
    int prc = config_parse(opts, argc, argv, "hours_bench --mode setup|batch|single ...");
    if (prc == 1)
        return 0;
    if (prc < 0 ||
        config_get_long(opts, "prisons", 1, 676, &prisons) != 0 ||
        config_get_long(opts, "prisoners", 1, 260000, &prisoners) != 0 ||
        config_get_long(opts, "first-prisoner", 0, 260000, &first_p) != 0 ||
        config_get_long(opts, "span", 1, 260000, &span) != 0 ||
        config_get_long(opts, "first-record", 0, 1L << 40, &first_r) != 0 ||
        config_get_long(opts, "records", 1, 1L << 32, &records) != 0 ||
        config_get_long(opts, "batch", 1, 10000, &batch) != 0 ||
        config_get_long(opts, "senders", 1, 256, &senders) != 0 ||
        config_get_long(opts, "clients", 1, 1024, &clients) != 0 ||
        config_get_long(opts, "seconds", 1, 3600, &seconds) != 0 ||
        config_get_long(opts, "group", 1, 256, &group) != 0) {
        fprintf(stderr, "hours_bench: bad arguments (see --help)\n");
        return 2;
    }
    const char *mode = config_get(opts, "mode");
    s_gen_t g = {first_p, span, prisons, first_r, 0};
    civil_week_t w47 = {2026, 47};
    g.w47_monday = civil_week_monday(w47);
    if (strcmp(mode, "inproc") == 0) {
        if (!config_get(opts, "data"))
            return 2;
        clock_set_today(civil_week_monday(w47) + 9);
        return s_inproc(config_get(opts, "data"), &g, batch, records, (int)group, prisons,
                        prisoners);
    }
    auth_keypair_t keys, server;
    if (!config_get(opts, "key") || !config_get(opts, "server-key") ||
        auth_keypair_load(config_get(opts, "key"), &keys) != 0 ||
        auth_keypair_load(config_get(opts, "server-key"), &server) != 0) {
        fprintf(stderr, "hours_bench: cannot read the key files\n");
        return 1;
    }
    void *ctx = zmq_ctx_new();
    const char *ep = config_get(opts, "endpoint");
    int rc = 2;
    if (strcmp(mode, "setup") == 0) {
        client_t *c = client_new(ctx, ep, &keys, server.public_z85, 60000, 0);
        rc = c && s_setup(c, prisons, prisoners) == 0 ? 0 : 1;
        client_destroy(&c);
    } else if (strcmp(mode, "batch") == 0) {
        rc = s_load(ctx, ep, &keys, server.public_z85, &g, (int)senders, batch, records, 0);
    } else if (strcmp(mode, "single") == 0) {
        rc = s_load(ctx, ep, &keys, server.public_z85, &g, (int)clients, 1, 0, (double)seconds);
    } else {
        fprintf(stderr, "hours_bench: --mode is setup, batch or single\n");
    }
    zmq_ctx_term(ctx);
    return rc;
}
