/* hrs_service_test: the handlers against a real LMDB store in a temporary
 * folder, without sockets: batches answered record by record (record 3
 * clashing with record 1 of the same batch, caps counting earlier records
 * of the batch), idempotency, amend and void, closing a week, the events in
 * the outbox, the lists, the totals and the roles. */
#include "hrs_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "civil.h"
#include "clock.h"
#include "feed.h"
#include "tap.h"

static hrs_store_t *s_store;
static hrs_service_t *s_svc;

static auth_identity_t s_industries = {ROLE_INDUSTRIES, "", "industries"};
static auth_identity_t s_mdi = {ROLE_INSTRUCTOR, "MDI", "mdi-workshop"};
static auth_identity_t s_lei = {ROLE_INSTRUCTOR, "LEI", "lei-workshop"};
static auth_identity_t s_finance = {ROLE_FINANCE, "", "finance"};
static auth_identity_t s_employer = {ROLE_EMPLOYER, "dhl", "dhl"};
static auth_identity_t s_gov_mdi = {ROLE_GOVERNOR, "MDI", "gov-mdi"};
static auth_identity_t s_service = {ROLE_SERVICE, "", "wages"};

typedef struct {
    const auth_identity_t *who;
    const Pay__HoursRequest *req;
    Pay__HoursReply *reply;
    int rc;
} s_call_t;

static int s_body(MDB_txn *txn, void *arg)
{
    s_call_t *c = arg;
    bool ro;
    c->rc = hrs_service_apply(s_svc, c->who, c->req, txn, &c->reply, &ro);
    return c->rc;
}

/* Runs one request in its own committed transaction. The reply stays
 * valid until the next call. */
static Pay__HoursReply *s_run(const auth_identity_t *who, Pay__HoursRequest *req)
{
    s_call_t c = {who, req, NULL, 0};
    int rc = store_write(hrs_store_store(s_store), s_body, &c);
    if (rc != 0)
        printf("# store_write: %s\n", mdb_strerror(rc));
    return c.reply;
}

static int32_t D(const char *s)
{
    int32_t d = 0;
    civil_parse_date(s, &d);
    return d;
}

/* ---- request builders --------------------------------------------------- */

static Pay__HoursRow s_rows[64];

static Pay__HoursRow *s_row(int i, const char *id, const char *prisoner, const char *contract,
                            const char *date, const char *session, const char *minutes,
                            const char *outcome)
{
    Pay__HoursRow *r = &s_rows[i];
    pay__hours_row__init(r);
    r->record_id = (char *)id;
    r->prisoner = (char *)prisoner;
    r->contract = (char *)contract;
    r->date = (char *)date;
    r->session = (char *)session;
    r->minutes = (char *)minutes;
    r->outcome = (char *)outcome;
    return r;
}

static Pay__HoursReply *s_submit(const auth_identity_t *who, int n)
{
    Pay__HoursRow *ptrs[64];
    for (int i = 0; i < n; i++)
        ptrs[i] = &s_rows[i];
    Pay__SubmitHours sub = PAY__SUBMIT_HOURS__INIT;
    sub.n_records = (size_t)n;
    sub.records = ptrs;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    req.body_case = PAY__HOURS_REQUEST__BODY_SUBMIT_HOURS;
    req.submit_hours = &sub;
    return s_run(who, &req);
}

/* One record alone; returns its item status. */
static Pay__Status s_one(const auth_identity_t *who, const char *id, const char *prisoner,
                         const char *contract, const char *date, const char *session,
                         const char *minutes, const char *outcome)
{
    s_row(0, id, prisoner, contract, date, session, minutes, outcome);
    Pay__HoursReply *r = s_submit(who, 1);
    if (!r || r->n_items != 1)
        return PAY__STATUS__INTERNAL;
    if (r->items[0]->status != PAY__STATUS__OK)
        printf("# %s: %s\n", id, r->items[0]->message);
    return r->items[0]->status;
}

/* The reply's status, or -1 for no reply. */
static int s_st(const Pay__HoursReply *r)
{
    return r ? (int)r->status : -1;
}

static Pay__Status s_item(const Pay__HoursReply *r, size_t i)
{
    return (r && i < r->n_items) ? r->items[i]->status : PAY__STATUS__INTERNAL;
}

static Pay__HoursReply *s_amend(const auth_identity_t *who, const char *id, const char *minutes,
                                const char *units, const char *outcome, const char *paid)
{
    Pay__AmendHours a = PAY__AMEND_HOURS__INIT;
    a.record_id = (char *)id;
    a.minutes = (char *)minutes;
    a.units = (char *)units;
    a.outcome = (char *)outcome;
    a.paid_absence = (char *)paid;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    req.body_case = PAY__HOURS_REQUEST__BODY_AMEND_HOURS;
    req.amend_hours = &a;
    return s_run(who, &req);
}

static Pay__HoursReply *s_void(const auth_identity_t *who, const char *id)
{
    Pay__VoidHours v = PAY__VOID_HOURS__INIT;
    v.record_id = (char *)id;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    req.body_case = PAY__HOURS_REQUEST__BODY_VOID_HOURS;
    req.void_hours = &v;
    return s_run(who, &req);
}

static Pay__HoursReply *s_close(const auth_identity_t *who, const char *prison, const char *week)
{
    Pay__HoursClosePayWeek c = PAY__HOURS_CLOSE_PAY_WEEK__INIT;
    c.prison = (char *)prison;
    c.week = (char *)week;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    req.body_case = PAY__HOURS_REQUEST__BODY_CLOSE_PAY_WEEK;
    req.close_pay_week = &c;
    return s_run(who, &req);
}

static Pay__HoursReply *s_totals(const auth_identity_t *who, const char *prison, const char *week)
{
    Pay__HoursGetWeekTotals g = PAY__HOURS_GET_WEEK_TOTALS__INIT;
    g.prison = (char *)prison;
    g.week = (char *)week;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    req.body_case = PAY__HOURS_REQUEST__BODY_GET_WEEK_TOTALS;
    req.get_week_totals = &g;
    return s_run(who, &req);
}

static Pay__HoursReply *s_get(const auth_identity_t *who, const char *id)
{
    Pay__HoursGetRecord g = PAY__HOURS_GET_RECORD__INIT;
    g.record_id = (char *)id;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    req.body_case = PAY__HOURS_REQUEST__BODY_GET_RECORD;
    req.get_record = &g;
    return s_run(who, &req);
}

/* ---- the outbox --------------------------------------------------------- */

static uint64_t s_head(void)
{
    MDB_txn *txn;
    uint64_t head = 0;
    store_read_begin(hrs_store_store(s_store), &txn);
    feed_outbox_head(txn, hrs_store_outbox_dbi(s_store), &head);
    mdb_txn_abort(txn);
    return head;
}

/* The event at `seq`, unpacked (free with pay__hours_event__free_unpacked). */
static Pay__HoursEvent *s_event(uint64_t seq)
{
    MDB_txn *txn;
    MDB_val v;
    uint8_t key[8];
    Pay__HoursEvent *ev = NULL;
    store_be64_put(key, seq);
    store_read_begin(hrs_store_store(s_store), &txn);
    if (store_get(txn, hrs_store_outbox_dbi(s_store), key, 8, &v) == 0)
        ev = pay__hours_event__unpack(NULL, v.mv_size, v.mv_data);
    mdb_txn_abort(txn);
    return ev;
}

/* ---- fixtures ----------------------------------------------------------- */

/* The employers the invoice feed has published (hrs_invfeed.h). */
static int s_employers_fn(MDB_txn *txn, void *arg)
{
    (void)arg;
    return hrs_store_put_employer(s_store, txn, "dhl", "DHL Supply Chain");
}

static void s_reference(void)
{
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    Pay__HoursReply *r;
    TAP_EQ_INT(store_write(hrs_store_store(s_store), s_employers_fn, NULL), 0,
               "setup: employer dhl learnt from the invoice feed");

    Pay__HoursPrisonRow p[4];
    Pay__HoursPrisonRow *pp[4] = {&p[0], &p[1], &p[2], &p[3]};
    const char *codes[] = {"MDI", "LEI", "FDI", "KMI"}, *regimes[] = {"CLOSED", "CLOSED", "OPEN", "OPEN"};
    for (int i = 0; i < 4; i++) {
        pay__hours_prison_row__init(&p[i]);
        p[i].code = (char *)codes[i];
        p[i].name = (char *)codes[i];
        p[i].regime = (char *)regimes[i];
    }
    Pay__HoursUpsertPrisons up = PAY__HOURS_UPSERT_PRISONS__INIT;
    up.n_rows = 4;
    up.rows = pp;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_PRISONS;
    req.upsert_prisons = &up;
    r = s_run(&s_industries, &req);
    TAP_OK(r && r->n_items == 4 && s_item(r, 0) == 0 && s_item(r, 3) == 0, "setup: prisons stored");

    Pay__HoursPrisonerRow q[5];
    Pay__HoursPrisonerRow *qq[5] = {&q[0], &q[1], &q[2], &q[3], &q[4]};
    const char *nums[] = {"A1234BC", "B2345CD", "C3456DE", "D4567EF", "E5678FG"};
    for (int i = 0; i < 5; i++) {
        pay__hours_prisoner_row__init(&q[i]);
        q[i].number = (char *)nums[i];
        q[i].prison = "MDI";
        q[i].incentive_level = "STD";
    }
    q[3].released_on = "2026-11-24";        /* D4567EF: released on the Tuesday */
    q[4].public_contact_cleared_on = "2026-11-24";
    Pay__HoursUpsertPrisoners uq = PAY__HOURS_UPSERT_PRISONERS__INIT;
    uq.n_rows = 5;
    uq.rows = qq;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_PRISONERS;
    req.upsert_prisoners = &uq;
    r = s_run(&s_industries, &req);
    TAP_OK(r && r->n_items == 5 && s_item(r, 4) == 0, "setup: prisoners stored");

    Pay__HoursContractRow c[5];
    Pay__HoursContractRow *cc[5] = {&c[0], &c[1], &c[2], &c[3], &c[4]};
    for (int i = 0; i < 5; i++) {
        pay__hours_contract_row__init(&c[i]);
        c[i].employer = "dhl";
        c[i].activity = "Laundry";
        c[i].work_type = "WORKSHOP";
        c[i].start = "2026-01-01";
        c[i].attested_by = "J Smith";
        c[i].attested_on = "2025-12-01";
        c[i].attestation_ref = "COP-1";
        c[i].prison = "MDI";
    }
    c[0].id = "C-1";
    c[1].id = "C-2";
    c[2].id = "C-NA";
    c[2].attested_by = c[2].attested_on = c[2].attestation_ref = NULL;
    c[3].id = "C-OUT";
    c[3].work_type = "OUTSIDE";                /* at MDI, CLOSED */
    c[4].id = "C-PUB";
    c[4].public_contact = "yes";
    Pay__HoursUpsertContracts uc = PAY__HOURS_UPSERT_CONTRACTS__INIT;
    uc.n_rows = 5;
    uc.rows = cc;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_CONTRACTS;
    req.upsert_contracts = &uc;
    r = s_run(&s_industries, &req);
    TAP_OK(r && s_item(r, 0) == 0 && s_item(r, 1) == 0 && s_item(r, 2) == 0 && s_item(r, 4) == 0,
           "setup: contracts stored");
    TAP_EQ_INT(s_item(r, 3), PAY__STATUS__REGIME_MISMATCH,
               "reference: an OUTSIDE contract at a CLOSED prison is REGIME_MISMATCH");

    Pay__HoursAllocationRow a[8];
    Pay__HoursAllocationRow *aa[8];
    int na = 0;
    for (int i = 0; i < 5; i++) {
        pay__hours_allocation_row__init(&a[na]);
        a[na].prisoner = (char *)nums[i];
        a[na].contract = "C-1";
        a[na].from = "2026-01-01";
        a[na].pay_band = "3";
        aa[na] = &a[na];
        na++;
    }
    const char *more[][2] = {{"A1234BC", "C-2"}, {"A1234BC", "C-NA"}, {"E5678FG", "C-PUB"}};
    for (int i = 0; i < 3; i++) {
        pay__hours_allocation_row__init(&a[na]);
        a[na].prisoner = (char *)more[i][0];
        a[na].contract = (char *)more[i][1];
        a[na].from = "2026-01-01";
        a[na].pay_band = "5";
        aa[na] = &a[na];
        na++;
    }
    Pay__HoursUpsertAllocations ua = PAY__HOURS_UPSERT_ALLOCATIONS__INIT;
    ua.n_rows = (size_t)na;
    ua.rows = aa;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_ALLOCATIONS;
    req.upsert_allocations = &ua;
    r = s_run(&s_industries, &req);
    TAP_OK(r && r->n_items == 8 && s_item(r, 7) == 0, "setup: allocations stored");

    /* C3456DE moves to LEI from the Tuesday; B2345CD goes ENH that day. */
    Pay__HoursTransferRow t = PAY__HOURS_TRANSFER_ROW__INIT, *tt[1] = {&t};
    t.prisoner = "C3456DE";
    t.prison = "LEI";
    t.effective_from = "2026-11-24";
    Pay__HoursUpsertTransfers ut = PAY__HOURS_UPSERT_TRANSFERS__INIT;
    ut.n_rows = 1;
    ut.rows = tt;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_TRANSFERS;
    req.upsert_transfers = &ut;
    uint64_t before = s_head();
    r = s_run(&s_industries, &req);
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__OK, "setup: transfer stored");
    /* The transfer is published: the prisoner's whole custody history. */
    Pay__HoursEvent *fe = s_event(before + 1);
    TAP_OK(s_head() == before + 1 && fe && fe->kind_case == PAY__HOURS_EVENT__KIND_PRISONER &&
               strcmp(fe->prisoner->number, "C3456DE") == 0 &&
               strcmp(fe->prisoner->prison, "MDI") == 0 && fe->prisoner->n_transfers == 1 &&
               strcmp(fe->prisoner->transfers[0]->prison, "LEI") == 0 &&
               strcmp(fe->prisoner->transfers[0]->effective_from, "2026-11-24") == 0,
           "facts: a transfer publishes the prisoner's custody (start MDI, LEI from 2026-11-24)");
    if (fe)
        pay__hours_event__free_unpacked(fe, NULL);
    /* The same row again changes nothing, on the feed either. */
    before = s_head();
    r = s_run(&s_industries, &req);
    TAP_OK(s_item(r, 0) == PAY__STATUS__OK && s_head() == before,
           "facts: the same transfer again publishes nothing");
    /* Every prison, prisoner and contract stored was published once. */
    int prisons = 0, prisoners = 0, contracts = 0;
    for (uint64_t seq = 1; seq <= s_head(); seq++) {
        Pay__HoursEvent *x = s_event(seq);
        if (!x)
            continue;
        prisons += x->kind_case == PAY__HOURS_EVENT__KIND_PRISON;
        prisoners += x->kind_case == PAY__HOURS_EVENT__KIND_PRISONER;
        if (x->kind_case == PAY__HOURS_EVENT__KIND_CONTRACT) {
            contracts++;
            TAP_OK(strcmp(x->contract->employer, "dhl") == 0 && x->contract->has_work_type &&
                       strcmp(x->contract->prison, "MDI") == 0 && x->contract->start &&
                       strcmp(x->contract->start, "2026-01-01") == 0,
                   "facts: contract %s with employer, prison, work type and start",
                   x->contract->id);
        }
        pay__hours_event__free_unpacked(x, NULL);
    }
    TAP_OK(prisons == 4 && prisoners == 5 + 1 && contracts == 4,
           "facts: 4 prisons, 5 prisoners and a transfer, 4 contracts (the refused one not) "
           "published (%d, %d, %d)", prisons, prisoners, contracts);

    /* A contract for an employer the invoice feed never published. */
    Pay__HoursContractRow cx = c[0], *cxx[1] = {&cx};
    cx.id = "C-X";
    cx.employer = "tesco";
    uc.n_rows = 1;
    uc.rows = cxx;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_CONTRACTS;
    req.upsert_contracts = &uc;
    before = s_head();
    r = s_run(&s_industries, &req);
    TAP_OK(s_item(r, 0) == PAY__STATUS__UNKNOWN_EMPLOYER && s_head() == before,
           "reference: a contract for an unknown employer is UNKNOWN_EMPLOYER, nothing published");

    Pay__HoursIncentiveLevelRow l = PAY__HOURS_INCENTIVE_LEVEL_ROW__INIT, *ll[1] = {&l};
    l.prisoner = "B2345CD";
    l.incentive_level = "ENH";
    l.effective_from = "2026-11-24";
    Pay__HoursUpsertIncentiveLevels ul = PAY__HOURS_UPSERT_INCENTIVE_LEVELS__INIT;
    ul.n_rows = 1;
    ul.rows = ll;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_INCENTIVE_LEVELS;
    req.upsert_incentive_levels = &ul;
    r = s_run(&s_industries, &req);
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__OK, "setup: incentive level stored");

    /* Refusals of reference data, row by row. */
    Pay__HoursTransferRow t2 = PAY__HOURS_TRANSFER_ROW__INIT, t3 = PAY__HOURS_TRANSFER_ROW__INIT;
    Pay__HoursTransferRow *t23[2] = {&t2, &t3};
    t2.prisoner = "Z9999ZZ";
    t2.prison = "LEI";
    t2.effective_from = "2026-11-24";
    t3.prisoner = "C3456DE";
    t3.prison = "XXX";
    t3.effective_from = "2026-11-24";
    ut.n_rows = 2;
    ut.rows = t23;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_TRANSFERS;
    req.upsert_transfers = &ut;
    r = s_run(&s_industries, &req);
    TAP_OK(s_item(r, 0) == PAY__STATUS__UNKNOWN_PRISONER && s_item(r, 1) == PAY__STATUS__UNKNOWN_PRISON,
           "reference: unknown prisoner and unknown prison, row by row");
    r = s_run(&s_mdi, &req);
    TAP_OK(r && r->status == PAY__STATUS__PERMISSION_DENIED && s_item(r, 0) == PAY__STATUS__PERMISSION_DENIED,
           "reference: an instructor may not manage reference data");
    r = s_run(&s_employer, &req);
    TAP_OK(r && r->status == PAY__STATUS__PERMISSION_DENIED, "reference: an employer may not either");

    /* The FDI prison cannot become CLOSED once it has OUTSIDE contracts. */
    Pay__HoursContractRow out = c[3];
    Pay__HoursContractRow *oo[1] = {&out};
    out.id = "C-FDI";
    out.prison = "FDI";
    uc.n_rows = 1;
    uc.rows = oo;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_CONTRACTS;
    req.upsert_contracts = &uc;
    r = s_run(&s_industries, &req);
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__OK, "reference: an OUTSIDE contract at an OPEN prison");
    p[2].regime = "CLOSED";
    up.n_rows = 1;
    up.rows = &pp[2];
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_PRISONS;
    req.upsert_prisons = &up;
    r = s_run(&s_industries, &req);
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__REGIME_MISMATCH,
               "reference: closing the regime of a prison with OUTSIDE contracts is REGIME_MISMATCH");

    /* A governor sets the pay policy of their own prison only. */
    Pay__HoursPayPolicyRow pol = PAY__HOURS_PAY_POLICY_ROW__INIT, *polp[1] = {&pol};
    pol.prison = "KMI";
    pol.effective_from = "2026-01-01";
    pol.has_daily_cap_minutes = 1;
    pol.daily_cap_minutes = 300;
    Pay__HoursUpsertPayPolicies upol = PAY__HOURS_UPSERT_PAY_POLICIES__INIT;
    upol.n_rows = 1;
    upol.rows = polp;
    req.body_case = PAY__HOURS_REQUEST__BODY_UPSERT_PAY_POLICIES;
    req.upsert_pay_policies = &upol;
    r = s_run(&s_gov_mdi, &req);
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__PERMISSION_DENIED, "policy: the MDI governor may not set KMI's");
    pol.prison = "MDI";
    pol.daily_cap_minutes = 600;
    r = s_run(&s_gov_mdi, &req);
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__OK, "policy: the MDI governor sets MDI's");
}

/* ---- tests -------------------------------------------------------------- */

static void test_batch(void)
{
    uint64_t head0 = s_head();
    s_row(0, "b-1", "A1234BC", "C-1", "2026-11-23", "AM", "240", "ATTENDED");
    s_row(1, "b-2", "A1234BC", "C-2", "2026-11-23", "PM", "120", "ATTENDED");
    s_row(2, "b-3", "A1234BC", "C-2", "2026-11-23", "AM", "60", "ATTENDED");
    s_row(3, "b-4", "A1234BC", "C-1", "2026-11-23", "ED", "241", "SICK");
    s_row(4, "b-5", "A1234BC", "C-1", "2026-11-23", "ED", "240", "SICK");
    s_row(5, "b-6", "nobody", "C-1", "2026-11-23", "ED", "240", "SICK");
    Pay__HoursReply *r = s_submit(&s_mdi, 6);
    TAP_OK(r && r->status == PAY__STATUS__OK && r->n_items == 6, "batch: answered record by record");
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__OK, "batch: record 1 accepted");
    TAP_EQ_INT(s_item(r, 1), PAY__STATUS__OK, "batch: record 2 (another session) accepted");
    TAP_EQ_INT(s_item(r, 2), PAY__STATUS__SESSION_CLASH, "batch: record 3 clashes with record 1 of the same batch");
    TAP_OK(r && r->n_items > 2 && strstr(r->items[2]->message, "b-1"), "batch: the clash names record 1 (%s)",
           r && r->n_items > 2 ? r->items[2]->message : "");
    TAP_EQ_INT(s_item(r, 3), PAY__STATUS__DAILY_CAP_EXCEEDED,
               "batch: 240 + 120 + 241 = 601 minutes counts the batch's earlier records");
    TAP_EQ_INT(s_item(r, 4), PAY__STATUS__OK, "batch: 240 + 120 + 240 = 600 minutes passes");
    TAP_EQ_INT(s_item(r, 5), PAY__STATUS__INVALID_ARGUMENT, "batch: a bad record does not stop the others");
    TAP_OK(r && r->n_items == 6 && r->items[5]->has_index && r->items[5]->index == 5 &&
               strcmp(r->items[0]->key, "b-1") == 0,
           "batch: items carry their index and key");
    TAP_EQ_INT(s_head() - head0, 3, "batch: one HoursRecorded event per accepted record");

    Pay__HoursEvent *ev = s_event(head0 + 1);
    TAP_OK(ev && ev->kind_case == PAY__HOURS_EVENT__KIND_RECORDED && ev->recorded->record &&
               strcmp(ev->recorded->record->record_id, "b-1") == 0 &&
               strcmp(ev->recorded->record->prison, "MDI") == 0 &&
               strcmp(ev->recorded->record->employer, "dhl") == 0 &&
               ev->recorded->record->work_type == PAY__WORK_TYPE__WORKSHOP &&
               ev->recorded->record->pay_band == 3 &&
               ev->recorded->record->incentive_level == PAY__INCENTIVE_LEVEL__STD &&
               strcmp(ev->recorded->record->date, "2026-11-23") == 0 &&
               strcmp(ev->recorded->record->week, "2026-W48") == 0 &&
               ev->recorded->record->minutes == 240 && ev->recorded->record->has_units &&
               ev->recorded->record->outcome == PAY__OUTCOME__ATTENDED &&
               strcmp(ev->recorded->record->activity, "Laundry") == 0,
           "event: HoursRecorded carries prison, employer, work type, band, level, date, week, minutes");
    if (ev)
        pay__hours_event__free_unpacked(ev, NULL);
    ev = s_event(head0 + 2);
    TAP_OK(ev && ev->recorded && ev->recorded->record->pay_band == 5,
           "event: the pay band is the allocation's to that contract");
    if (ev)
        pay__hours_event__free_unpacked(ev, NULL);

    /* Weekly cap across the batch: the prisoner has 600 on Monday. */
    const char *days[] = {"2026-11-24", "2026-11-25"};
    s_row(0, "w-1", "A1234BC", "C-1", days[0], "AM", "600", "ATTENDED");
    s_row(1, "w-2", "A1234BC", "C-1", days[1], "AM", "600", "ATTENDED");
    s_row(2, "w-3", "A1234BC", "C-1", "2026-11-22", "AM", "600", "ATTENDED");  /* Sunday, W47 */
    r = s_submit(&s_mdi, 3);
    TAP_OK(s_item(r, 0) == 0 && s_item(r, 1) == 0 && s_item(r, 2) == 0, "week: 1800 minutes in W48 so far");
    s_row(0, "w-4", "A1234BC", "C-2", "2026-11-21", "PM", "600", "ATTENDED");   /* W47 */
    s_row(1, "w-5", "A1234BC", "C-2", "2026-11-19", "ED", "600", "ATTENDED");   /* W47 */
    r = s_submit(&s_mdi, 2);
    TAP_OK(s_item(r, 0) == 0 && s_item(r, 1) == 0, "week: other weeks do not count");
    /* Finance records the 4th day of W48 past nothing: 2400 exactly. */
    s_row(0, "w-6", "A1234BC", "C-1", "2026-11-25", "PM", "1", "ATTENDED");
    r = s_submit(&s_mdi, 1);
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__DAILY_CAP_EXCEEDED, "week: the daily cap first (600 already on the 25th)");
    clock_set_today(D("2026-11-29"));
    s_row(0, "w-7", "A1234BC", "C-1", "2026-11-26", "AM", "600", "ATTENDED");
    s_row(1, "w-8", "A1234BC", "C-1", "2026-11-27", "AM", "1", "ATTENDED");
    r = s_submit(&s_mdi, 2);
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__OK, "week: 2400 minutes in the ISO week passes");
    TAP_EQ_INT(s_item(r, 1), PAY__STATUS__WEEKLY_CAP_EXCEEDED,
               "week: 2401 fails, counting the earlier record of the same batch");
    clock_set_today(D("2026-11-25"));
}

static void test_idempotency(void)
{
    uint64_t head0 = s_head();
    s_row(0, "b-1", "A1234BC", "C-1", "2026-11-23", "AM", "240", "ATTENDED");
    s_rows[0].units = "";
    Pay__HoursReply *r = s_submit(&s_mdi, 1);
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__OK, "idempotency: the same content again gets the first answer");
    TAP_EQ_INT(s_head(), head0, "idempotency: and changes nothing (no event)");
    s_row(0, "b-1", "A1234BC", "C-1", "2026-11-23", "AM", "239", "ATTENDED");
    r = s_submit(&s_mdi, 1);
    TAP_OK(s_item(r, 0) == PAY__STATUS__DUPLICATE_CONFLICT && strstr(r->items[0]->message, "minutes"),
           "idempotency: different minutes are DUPLICATE_CONFLICT");
    /* A refused record is not remembered: its id can be used again. */
    TAP_EQ_INT(s_one(&s_mdi, "fix-1", "B2345CD", "C-1", "2026-11-23", "AM", "601", "ATTENDED"),
               PAY__STATUS__INVALID_ARGUMENT, "idempotency: a refused record...");
    TAP_EQ_INT(s_one(&s_mdi, "fix-1", "B2345CD", "C-1", "2026-11-23", "AM", "60", "ATTENDED"),
               PAY__STATUS__OK, "...and its corrected form reuses the id");
    /* Resubmitting in the same batch: the second copy is a replay. */
    s_row(0, "dup-1", "B2345CD", "C-1", "2026-11-23", "PM", "60", "ATTENDED");
    s_row(1, "dup-1", "B2345CD", "C-1", "2026-11-23", "PM", "60", "ATTENDED");
    s_row(2, "dup-1", "B2345CD", "C-1", "2026-11-23", "PM", "61", "ATTENDED");
    head0 = s_head();
    r = s_submit(&s_mdi, 3);
    TAP_OK(s_item(r, 0) == 0 && s_item(r, 1) == 0 && s_item(r, 2) == PAY__STATUS__DUPLICATE_CONFLICT &&
               s_head() == head0 + 1,
           "idempotency: within one batch too, one event only");
}

static void test_checks_in_service(void)
{
    TAP_EQ_INT(s_one(&s_mdi, "c-1", "Z9999ZZ", "C-1", "2026-11-23", "AM", "60", "ATTENDED"),
               PAY__STATUS__UNKNOWN_PRISONER, "service: unknown prisoner");
    TAP_EQ_INT(s_one(&s_mdi, "c-2", "B2345CD", "C-9", "2026-11-23", "ED", "60", "ATTENDED"),
               PAY__STATUS__UNKNOWN_CONTRACT, "service: unknown contract");
    TAP_EQ_INT(s_one(&s_mdi, "c-3", "A1234BC", "C-NA", "2026-11-24", "PM", "60", "ATTENDED"),
               PAY__STATUS__CONTRACT_NOT_ATTESTED, "service: an unattested contract");
    TAP_EQ_INT(s_one(&s_lei, "c-4", "B2345CD", "C-1", "2026-11-24", "AM", "60", "ATTENDED"),
               PAY__STATUS__PERMISSION_DENIED, "service: an LEI instructor at an MDI contract");
    TAP_EQ_INT(s_one(&s_mdi, "c-5", "C3456DE", "C-1", "2026-11-24", "AM", "60", "ATTENDED"),
               PAY__STATUS__NOT_IN_CUSTODY, "service: transferred to LEI on the date");
    TAP_EQ_INT(s_one(&s_mdi, "c-6", "C3456DE", "C-1", "2026-11-23", "AM", "60", "ATTENDED"),
               PAY__STATUS__OK, "service: still at MDI the day before the transfer");
    TAP_EQ_INT(s_one(&s_mdi, "c-7", "D4567EF", "C-1", "2026-11-24", "AM", "60", "ATTENDED"),
               PAY__STATUS__NOT_IN_CUSTODY, "service: not in custody on the release date");
    TAP_EQ_INT(s_one(&s_mdi, "c-8", "D4567EF", "C-1", "2026-11-23", "AM", "60", "ATTENDED"),
               PAY__STATUS__OK, "service: in custody the day before release");
    TAP_EQ_INT(s_one(&s_mdi, "c-9", "B2345CD", "C-2", "2026-11-24", "AM", "60", "ATTENDED"),
               PAY__STATUS__NOT_ALLOCATED, "service: not allocated to C-2");
    TAP_EQ_INT(s_one(&s_mdi, "c-10", "E5678FG", "C-PUB", "2026-11-23", "AM", "60", "ATTENDED"),
               PAY__STATUS__CLEARANCE_REQUIRED, "service: cleared the day after");
    TAP_EQ_INT(s_one(&s_mdi, "c-11", "E5678FG", "C-PUB", "2026-11-24", "AM", "60", "ATTENDED"),
               PAY__STATUS__OK, "service: cleared that day");
    TAP_EQ_INT(s_one(&s_mdi, "c-12", "B2345CD", "C-1", "2026-11-26", "AM", "60", "ATTENDED"),
               PAY__STATUS__DATE_IN_FUTURE, "service: tomorrow");
    TAP_EQ_INT(s_one(&s_mdi, "c-13", "B2345CD", "C-1", "2026-11-17", "AM", "60", "ATTENDED"),
               PAY__STATUS__BACKDATE_LIMIT, "service: 8 days back");
    TAP_EQ_INT(s_one(&s_finance, "c-13", "B2345CD", "C-1", "2026-11-17", "AM", "60", "ATTENDED"),
               PAY__STATUS__OK, "service: finance may go 8 days back");
    TAP_EQ_INT(s_one(&s_mdi, "c-14", "B2345CD", "C-1", "2026-11-18", "AM", "60", "ATTENDED"),
               PAY__STATUS__OK, "service: 7 days back");
    TAP_EQ_INT(s_one(&s_industries, "c-15", "B2345CD", "C-1", "2026-11-24", "ED", "60", "ATTENDED"),
               PAY__STATUS__PERMISSION_DENIED, "service: industries may not record hours");
    TAP_EQ_INT(s_one(&s_employer, "c-16", "B2345CD", "C-1", "2026-11-24", "ED", "60", "ATTENDED"),
               PAY__STATUS__PERMISSION_DENIED, "service: an employer may not record hours");

    /* The incentive level in force on the date goes into the event. */
    uint64_t head0 = s_head();
    TAP_EQ_INT(s_one(&s_mdi, "lvl-1", "B2345CD", "C-1", "2026-11-24", "AM", "60", "ATTENDED"),
               PAY__STATUS__OK, "service: a record on the day of a level change");
    Pay__HoursEvent *ev = s_event(head0 + 1);
    TAP_OK(ev && ev->recorded && ev->recorded->record->incentive_level == PAY__INCENTIVE_LEVEL__ENH,
           "event: the incentive level in force on the date (ENH from that day)");
    if (ev)
        pay__hours_event__free_unpacked(ev, NULL);
}

static void test_amend_void(void)
{
    uint64_t head0 = s_head();
    /* b-2 is PM 120 on the 23rd; the day holds 240 + 120 + 240 = 600. */
    Pay__HoursReply *r = s_amend(&s_mdi, "b-2", "121", "", "ATTENDED", "");
    TAP_EQ_INT(s_st(r), PAY__STATUS__DAILY_CAP_EXCEEDED, "amend: check 10 on the new minutes");
    r = s_amend(&s_mdi, "b-2", "60", "7", "ATTENDED", "");
    TAP_OK(r && r->status == PAY__STATUS__OK && r->record && r->record->state->minutes == 60 &&
               r->record->amendments == 1,
           "amend: new minutes and units");
    Pay__HoursEvent *ev = s_event(head0 + 1);
    TAP_OK(ev && ev->kind_case == PAY__HOURS_EVENT__KIND_AMENDED && ev->amended->old->minutes == 120 &&
               ev->amended->new_->minutes == 60 && ev->amended->new_->units == 7 &&
               strcmp(ev->amended->old->record_id, "b-2") == 0,
           "event: HoursAmended carries old and new");
    if (ev)
        pay__hours_event__free_unpacked(ev, NULL);
    r = s_amend(&s_mdi, "b-2", "60", "7", "ATTENDED", "no");
    TAP_OK(r && r->status == PAY__STATUS__OK && s_head() == head0 + 1,
           "amend: the same values again change nothing");
    r = s_amend(&s_mdi, "b-2", "61", "7", "ATTENDED", "");
    TAP_OK(r && r->status == PAY__STATUS__OK, "amend: room freed by the amendment is usable");
    r = s_amend(&s_lei, "b-2", "30", "", "ATTENDED", "");
    TAP_EQ_INT(s_st(r), PAY__STATUS__NOT_FOUND,
               "amend: not by another prison's instructor, who learns nothing of it");
    r = s_amend(&s_mdi, "nope", "30", "", "ATTENDED", "");
    TAP_EQ_INT(s_st(r), PAY__STATUS__NOT_FOUND, "amend: an unknown record");
    r = s_amend(&s_mdi, "b-2", "30", "", "attended", "");
    TAP_EQ_INT(s_st(r), PAY__STATUS__INVALID_ARGUMENT, "amend: a misspelt outcome");
    /* Resubmitting the original content still gets the first answer. */
    s_row(0, "b-2", "A1234BC", "C-2", "2026-11-23", "PM", "120", "ATTENDED");
    r = s_submit(&s_mdi, 1);
    TAP_EQ_INT(s_item(r, 0), PAY__STATUS__OK, "amend: the original content resubmitted is still the first answer");

    head0 = s_head();
    r = s_void(&s_mdi, "b-1");
    TAP_OK(r && r->status == PAY__STATUS__OK && r->record && r->record->voided, "void: b-1 voided");
    ev = s_event(head0 + 1);
    TAP_OK(ev && ev->kind_case == PAY__HOURS_EVENT__KIND_VOIDED && ev->voided->old->minutes == 240,
           "event: HoursVoided carries the old state");
    if (ev)
        pay__hours_event__free_unpacked(ev, NULL);
    r = s_void(&s_mdi, "b-1");
    TAP_OK(r && r->status == PAY__STATUS__OK && s_head() == head0 + 1, "void: again changes nothing");
    TAP_EQ_INT(s_one(&s_mdi, "b-1b", "A1234BC", "C-2", "2026-11-23", "AM", "60", "ATTENDED"),
               PAY__STATUS__OK, "void: the session is free again");
    s_row(0, "b-1", "A1234BC", "C-1", "2026-11-23", "AM", "240", "ATTENDED");
    r = s_submit(&s_mdi, 1);
    TAP_OK(s_item(r, 0) == PAY__STATUS__OK && s_head() == head0 + 2,
           "void: resubmitting a voided record's content is a replay, not a new record");
    r = s_get(&s_mdi, "b-1");
    TAP_OK(r && r->status == PAY__STATUS__OK && r->record && r->record->voided, "get: a voided record");
    r = s_get(&s_lei, "b-1");
    TAP_EQ_INT(s_st(r), PAY__STATUS__NOT_FOUND,
               "get: another prison's record answers like a missing one");
    r = s_get(&s_employer, "b-1");
    TAP_EQ_INT(s_st(r), PAY__STATUS__PERMISSION_DENIED, "get: not by an employer");
    r = s_get(&s_service, "b-1");
    TAP_EQ_INT(s_st(r), PAY__STATUS__OK, "get: by a service");
}

static void test_lists_totals_close(void)
{
    Pay__HoursListByPrisonerWeek lw = PAY__HOURS_LIST_BY_PRISONER_WEEK__INIT;
    lw.prisoner = "A1234BC";
    lw.week = "2026-W48";
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    req.body_case = PAY__HOURS_REQUEST__BODY_LIST_BY_PRISONER_WEEK;
    req.list_by_prisoner_week = &lw;
    Pay__HoursReply *r = s_run(&s_finance, &req);
    /* b-1 (voided), b-2, b-5, b-1b, w-1, w-2, w-7 */
    TAP_OK(r && r->status == PAY__STATUS__OK && r->n_records == 7, "list: the prisoner's week, voided included (%zu)",
           r ? r->n_records : 0);
    TAP_OK(r && r->n_records == 7 && strcmp(r->records[0]->state->date, "2026-11-23") == 0 &&
               strcmp(r->records[6]->state->date, "2026-11-26") == 0,
           "list: in date order");
    r = s_run(&s_lei, &req);
    TAP_OK(r && r->status == PAY__STATUS__OK && r->n_records == 0, "list: an LEI instructor sees none of MDI's");

    Pay__HoursListByContract lc = PAY__HOURS_LIST_BY_CONTRACT__INIT;
    lc.contract = "C-1";
    lc.from = "2026-11-01";
    lc.to = "2026-11-30";
    lc.has_page_size = 1;
    lc.page_size = 4;
    req.body_case = PAY__HOURS_REQUEST__BODY_LIST_BY_CONTRACT;
    req.list_by_contract = &lc;
    size_t total = 0;
    int pages = 0;
    char token[1024] = "";
    do {
        lc.page_token = token;
        r = s_run(&s_finance, &req);
        if (!r || r->status != PAY__STATUS__OK)
            break;
        total += r->n_records;
        pages++;
        snprintf(token, sizeof token, "%s", r->next_page_token ? r->next_page_token : "");
    } while (token[0] && pages < 20);
    /* C-1 in November: b-1 (voided), b-5, w-1, w-2, w-3, w-7, fix-1, dup-1,
     * c-6, c-8, c-13, c-14, lvl-1. Up to the 22nd: c-13, c-14, w-3. */
    TAP_OK(pages >= 2 && total == 13, "list by contract: paged, every record once (%zu in %d pages)", total, pages);
    lc.to = "2026-11-22";
    lc.page_token = NULL;
    r = s_run(&s_finance, &req);
    TAP_OK(r && r->status == PAY__STATUS__OK && r->n_records == 3, "list by contract: the date range is inclusive (%zu)",
           r ? r->n_records : 0);

    r = s_totals(&s_finance, "MDI", "2026-W48");
    TAP_OK(r && r->status == PAY__STATUS__OK && r->totals && !r->totals->closed, "totals: MDI W48");
    uint64_t minutes = r && r->totals ? r->totals->minutes : 0;
    uint64_t billable = r && r->totals ? r->totals->billable_minutes : 0;
    uint64_t units = r && r->totals ? r->totals->billable_units : 0;
    /* Live W48 at MDI: b-2 61 (7 units), b-5 240 SICK, b-1b 60, w-1 600, w-2 600, w-7 600,
     * fix-1 60, dup-1 60, c-6 60, c-8 60, c-11 60, lvl-1 60 = 2521 (c-14 is in W47);
     * SICK is not billable. */
    TAP_EQ_INT(minutes, 2521, "totals: minutes captured, whatever the outcome");
    TAP_EQ_INT(billable, 2281, "totals: billable minutes are ATTENDED minutes");
    TAP_EQ_INT(units, 7, "totals: billable units");
    r = s_totals(&s_lei, "MDI", "2026-W48");
    TAP_EQ_INT(s_st(r), PAY__STATUS__PERMISSION_DENIED, "totals: not another prison's");

    r = s_close(&s_mdi, "MDI", "2026-W48");
    TAP_EQ_INT(s_st(r), PAY__STATUS__PERMISSION_DENIED, "close: an instructor may not close a week");
    r = s_close(&s_finance, "MDI", "2026-W4");
    TAP_EQ_INT(s_st(r), PAY__STATUS__INVALID_ARGUMENT, "close: a malformed week");
    r = s_close(&s_finance, "XYZ", "2026-W48");
    TAP_EQ_INT(s_st(r), PAY__STATUS__UNKNOWN_PRISON, "close: an unknown prison");
    uint64_t head0 = s_head();
    r = s_close(&s_finance, "MDI", "2026-W48");
    TAP_EQ_INT(s_st(r), PAY__STATUS__OK, "close: finance closes MDI W48");
    Pay__HoursEvent *ev = s_event(head0 + 1);
    TAP_OK(ev && ev->kind_case == PAY__HOURS_EVENT__KIND_WEEK_CLOSED &&
               strcmp(ev->week_closed->prison, "MDI") == 0 && strcmp(ev->week_closed->week, "2026-W48") == 0 &&
               ev->week_closed->minutes == 2521 && ev->week_closed->billable_minutes == 2281 &&
               strcmp(ev->week_closed->closed_by, "finance") == 0,
           "event: PayWeekClosed with the week's totals, after every event of the week");
    if (ev)
        pay__hours_event__free_unpacked(ev, NULL);
    r = s_close(&s_finance, "MDI", "2026-W48");
    TAP_OK(r && r->status == PAY__STATUS__OK && s_head() == head0 + 1, "close: again changes nothing");

    TAP_EQ_INT(s_one(&s_mdi, "late-1", "B2345CD", "C-1", "2026-11-25", "ED", "60", "ATTENDED"),
               PAY__STATUS__PAY_WEEK_CLOSED, "close: capture stops for the week");
    TAP_EQ_INT(s_one(&s_finance, "late-2", "B2345CD", "C-1", "2026-11-25", "ED", "60", "ATTENDED"),
               PAY__STATUS__PAY_WEEK_CLOSED, "close: for finance too");
    r = s_amend(&s_mdi, "b-2", "30", "", "ATTENDED", "");
    TAP_EQ_INT(s_st(r), PAY__STATUS__PAY_WEEK_CLOSED, "close: no amendments");
    r = s_void(&s_finance, "b-2");
    TAP_EQ_INT(s_st(r), PAY__STATUS__PAY_WEEK_CLOSED, "close: no voids");
    TAP_EQ_INT(s_one(&s_mdi, "next-1", "B2345CD", "C-1", "2026-11-22", "ED", "60", "ATTENDED"),
               PAY__STATUS__OK, "close: the week before is still open");
    r = s_totals(&s_finance, "MDI", "2026-W48");
    TAP_OK(r && r->totals && r->totals->closed, "totals: the week shows closed");
}

static void test_employer_everything(void)
{
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    Pay__HoursGetHealth h = PAY__HOURS_GET_HEALTH__INIT;
    Pay__HoursGetStats st = PAY__HOURS_GET_STATS__INIT;
    req.body_case = PAY__HOURS_REQUEST__BODY_GET_HEALTH;
    req.get_health = &h;
    Pay__HoursReply *r = s_run(&s_employer, &req);
    TAP_EQ_INT(s_st(r), PAY__STATUS__PERMISSION_DENIED, "employer: not even health");
    r = s_run(&s_mdi, &req);
    TAP_OK(r && r->status == PAY__STATUS__OK && r->health && r->health->ok &&
               strcmp(r->health->today, "2026-11-25") == 0,
           "health: ok, with the pinned today");
    req.body_case = PAY__HOURS_REQUEST__BODY_GET_STATS;
    req.get_stats = &st;
    r = s_run(&s_finance, &req);
    TAP_OK(r && r->status == PAY__STATUS__OK && r->stats && r->stats->records == 19 &&
               r->stats->outbox_head == s_head(),
           "stats: records and the outbox head (%llu, %llu)",
           r && r->stats ? (unsigned long long)r->stats->records : 0ULL,
           r && r->stats ? (unsigned long long)r->stats->outbox_head : 0ULL);
    r = s_close(&s_employer, "MDI", "2026-W47");
    TAP_EQ_INT(s_st(r), PAY__STATUS__PERMISSION_DENIED, "employer: no closing");
    r = s_void(&s_employer, "b-5");
    TAP_EQ_INT(s_st(r), PAY__STATUS__PERMISSION_DENIED, "employer: no voiding");
    Pay__HoursRequest empty = PAY__HOURS_REQUEST__INIT;
    r = s_run(&s_mdi, &empty);
    TAP_EQ_INT(s_st(r), PAY__STATUS__INVALID_ARGUMENT, "a request with no body");

    /* A batch over the limit is refused whole, before any row. */
    static Pay__HoursRow big_row;
    Pay__HoursRow **many = malloc(10001 * sizeof *many);
    pay__hours_row__init(&big_row);
    for (int i = 0; many && i < 10001; i++)
        many[i] = &big_row;
    Pay__SubmitHours sub = PAY__SUBMIT_HOURS__INIT;
    sub.n_records = 10001;
    sub.records = many;
    Pay__HoursRequest big = PAY__HOURS_REQUEST__INIT;
    big.body_case = PAY__HOURS_REQUEST__BODY_SUBMIT_HOURS;
    big.submit_hours = &sub;
    r = many ? s_run(&s_mdi, &big) : NULL;
    TAP_OK(r && r->status == PAY__STATUS__INVALID_ARGUMENT && r->n_items == 0 &&
               strstr(r->message, "10000"),
           "a batch of 10001 rows is refused whole (%s)", r ? r->message : "");
    free(many);
}

static void test_backup(const char *dir)
{
    (void)dir;
    Pay__HoursBackup b = PAY__HOURS_BACKUP__INIT;
    b.name = "nightly";
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    req.body_case = PAY__HOURS_REQUEST__BODY_BACKUP;
    req.backup = &b;
    Pay__HoursReply *r = s_run(&s_mdi, &req);
    TAP_EQ_INT(s_st(r), PAY__STATUS__PERMISSION_DENIED, "backup: not by an instructor");
    r = s_run(&s_service, &req);
    TAP_EQ_INT(s_st(r), PAY__STATUS__PERMISSION_DENIED, "backup: finance only, not a service key");
    r = s_run(&s_finance, &req);
    TAP_EQ_INT(s_st(r), PAY__STATUS__OK, "backup: finance may ask for one by name (taken off "
               "the loop by the server's handler; tests/backup_restore_test.py)");
    const char *bad[] = {"", "../x", "/etc", "a/b", "..", ".x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        b.name = (char *)bad[i];
        r = s_run(&s_finance, &req);
        TAP_EQ_INT(s_st(r), PAY__STATUS__INVALID_ARGUMENT, "backup: name '%s' refused", bad[i]);
    }
    b.name = "ok";
    b.dir = "/tmp/anywhere";
    r = s_run(&s_finance, &req);
    TAP_EQ_INT(s_st(r), PAY__STATUS__INVALID_ARGUMENT, "backup: the old dir field is refused");
}

/* A store whose map starts tiny: batches that do not fit make the server's
 * store_write grow the map and run them again, and nothing is counted twice. */
static void test_map_full(const char *dir)
{
    char small[512];
    snprintf(small, sizeof small, "%s-small", dir);
    hrs_store_t *keep_store = s_store;
    hrs_service_t *keep_svc = s_svc;
    s_store = hrs_store_open(small, 64 * 1024);
    s_svc = hrs_service_new(s_store);
    size_t before = store_map_size(hrs_store_store(s_store));
    s_reference();   /* the same reference data, in the small store */
    uint64_t facts = s_head();   /* the reference facts published */
    static char ids[64][16], dates[64][16];
    int accepted = 0;
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < 63; i++) {
            snprintf(ids[i], sizeof ids[i], "m-%d-%d", round, i);
            /* 21 slots a week for B2345CD, back from W47 (finance). */
            int k = round * 63 + i;
            int32_t day = D("2026-11-16") - 7 * (k / 21) + (k % 21) / 3;
            civil_format_date(day, dates[i]);
            s_row(i, ids[i], "B2345CD", "C-1", dates[i], (const char *[]){"AM", "PM", "ED"}[k % 3],
                  "100", "ATTENDED");
        }
        Pay__HoursReply *r = s_submit(&s_finance, 63);
        for (size_t i = 0; r && i < r->n_items; i++)
            accepted += r->items[i]->status == PAY__STATUS__OK;
    }
    size_t after = store_map_size(hrs_store_store(s_store));
    TAP_OK(accepted == 8 * 63, "map full: every record accepted (%d)", accepted);
    TAP_OK(after > before, "map full: the map grew from %zu to %zu bytes", before, after);
    TAP_EQ_INT(s_head() - facts, 8 * 63,
               "map full: one event per record, none repeated by the reruns");
    hrs_service_destroy(&s_svc);
    hrs_store_destroy(&s_store);
    s_store = keep_store;
    s_svc = keep_svc;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", small);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", small);
}

int main(void)
{
    char dir[] = "/tmp/hrs_service_test.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    clock_set_today(D("2026-11-25"));
    s_store = hrs_store_open(dir, 0);
    s_svc = hrs_service_new(s_store);
    TAP_OK(s_store && s_svc, "the store opens in %s", dir);
    if (!s_store || !s_svc)
        return tap_done();
    s_reference();
    test_batch();
    test_idempotency();
    test_checks_in_service();
    test_amend_void();
    test_lists_totals_close();
    test_employer_everything();
    test_backup(dir);
    test_map_full(dir);
    hrs_service_destroy(&s_svc);
    hrs_store_destroy(&s_store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return tap_done();
}
