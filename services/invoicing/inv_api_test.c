/* inv_api_test: the invoicing service's store and handlers end to end,
 * without sockets: hours-feed events applied through the feed's apply fn,
 * requests answered by inv_api_handle in write transactions, exactly as
 * main.c runs them. Proves: pricing on the sum, NO_TERMS, issuing and its
 * numbering, a late record and a void after issue as lines naming the
 * original invoice, a credit note, roles and employer isolation, payments
 * and overdue, reconciliation, and documents rendered from the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "civil.h"
#include "feed.h"
#include "hours_feed.pb-c.h"
#include "inv_api.h"
#include "inv_store.h"
#include "tap.h"

static inv_api_t s_api;
static uint64_t s_seq;

/* ---- feed ---------------------------------------------------------------- */

typedef struct {
    const char *id, *employer, *contract, *prison, *date;
    uint32_t minutes;
    uint64_t units;
    Pay__Outcome outcome;
} rec_t;

static void s_state(Pay__RecordState *s, const rec_t *r)
{
    pay__record_state__init(s);
    s->record_id = (char *)r->id;
    s->prisoner = "A1234BC";   /* present in the event; must never reach a document */
    s->employer = (char *)r->employer;
    s->contract = (char *)r->contract;
    s->prison = (char *)r->prison;
    s->date = (char *)r->date;
    s->activity = "Laundry";
    s->has_minutes = s->has_units = s->has_outcome = 1;
    s->minutes = r->minutes;
    s->units = r->units;
    s->outcome = r->outcome;
}

typedef struct {
    uint8_t *buf;
    size_t len;
} s_ev_t;

static int s_apply_fn(MDB_txn *txn, void *arg)
{
    s_ev_t *e = arg;
    feed_refusal_t why;
    return inv_store_apply_event(txn, ++s_seq, e->buf, e->len, s_api.store, &why);
}

/* Applies one packed event; returns what the apply step returned. */
static int s_apply_packed(const Pay__HoursEvent *ev)
{
    s_ev_t e;
    e.len = pay__hours_event__get_packed_size(ev);
    e.buf = malloc(e.len ? e.len : 1);
    pay__hours_event__pack(ev, e.buf);
    int rc = store_write(inv_store_store(s_api.store), s_apply_fn, &e);
    free(e.buf);
    return rc;
}

/* The hours service publishes each contract before any record names it. */
static int s_contract(const char *id, const char *employer, const char *prison)
{
    Pay__ContractFacts f = PAY__CONTRACT_FACTS__INIT;
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    f.id = (char *)id;
    f.employer = (char *)employer;
    f.prison = (char *)prison;
    f.has_work_type = 1;
    f.work_type = PAY__WORK_TYPE__WORKSHOP;
    f.activity = "Laundry";
    f.start = "2026-01-01";
    ev.kind_case = PAY__HOURS_EVENT__KIND_CONTRACT;
    ev.contract = &f;
    return s_apply_packed(&ev);
}

/* kind: 0 recorded, 1 amended (old -> r2), 2 voided */
static void s_event(int kind, const rec_t *r, const rec_t *r2)
{
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    Pay__RecordState a, b;
    Pay__HoursRecorded rec = PAY__HOURS_RECORDED__INIT;
    Pay__HoursAmended am = PAY__HOURS_AMENDED__INIT;
    Pay__HoursVoided vo = PAY__HOURS_VOIDED__INIT;
    s_state(&a, r);
    if (kind == 0) {
        rec.record = &a;
        ev.kind_case = PAY__HOURS_EVENT__KIND_RECORDED;
        ev.recorded = &rec;
    } else if (kind == 1) {
        s_state(&b, r2);
        am.old = &a;
        am.new_ = &b;
        ev.kind_case = PAY__HOURS_EVENT__KIND_AMENDED;
        ev.amended = &am;
    } else {
        vo.old = &a;
        ev.kind_case = PAY__HOURS_EVENT__KIND_VOIDED;
        ev.voided = &vo;
    }
    s_ev_t e;
    e.len = pay__hours_event__get_packed_size(&ev);
    e.buf = malloc(e.len);
    pay__hours_event__pack(&ev, e.buf);
    if (store_write(inv_store_store(s_api.store), s_apply_fn, &e) != 0)
        TAP_OK(0, "feed event applies");
    free(e.buf);
}

/* ---- requests ------------------------------------------------------------- */

typedef struct {
    const auth_identity_t *who;
    const Pay__InvoicingRequest *req;
    inv_reply_t *rep;
} s_call_t;

static int s_call_fn(MDB_txn *txn, void *arg)
{
    s_call_t *c = arg;
    MDB_txn *nested = NULL;
    int rc = mdb_txn_begin(mdb_txn_env(txn), txn, 0, &nested);
    if (rc != 0)
        return rc;
    inv_reply_free(c->rep);
    rc = inv_api_handle(&s_api, c->who, c->req, nested, c->rep);
    if (rc == 0)
        return mdb_txn_commit(nested);
    mdb_txn_abort(nested);
    return 0;   /* rolled back; the reply stands */
}

static inv_reply_t s_rep;

static Pay__InvoicingReply *s_do(const auth_identity_t *who, Pay__InvoicingRequest *req)
{
    s_call_t c = { who, req, &s_rep };
    inv_reply_free(&s_rep);
    memset(&s_rep, 0, sizeof s_rep);
    req->request_id = "t";
    if (store_write(inv_store_store(s_api.store), s_call_fn, &c) != 0)
        TAP_OK(0, "request transaction commits");
    return &s_rep.reply;
}

static auth_identity_t s_id(auth_role_t role, const char *scope)
{
    auth_identity_t id;
    memset(&id, 0, sizeof id);
    id.role = role;
    snprintf(id.scope, sizeof id.scope, "%s", scope);
    snprintf(id.name, sizeof id.name, "%s-%s", auth_role_name(role), scope);
    return id;
}

static Pay__InvoicingReply *s_issue(const auth_identity_t *who, const char *employer,
                                    const char *period, const char *date)
{
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    Pay__Issue is = PAY__ISSUE__INIT;
    is.employer = (char *)employer;
    is.period = (char *)period;
    is.issue_date = (char *)date;
    req.body_case = PAY__INVOICING_REQUEST__BODY_ISSUE;
    req.issue = &is;
    return s_do(who, &req);
}

static Pay__InvoicingReply *s_get(const auth_identity_t *who, const char *number,
                                  Pay__DocumentFormat fmt)
{
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    Pay__GetDocument g = PAY__GET_DOCUMENT__INIT;
    g.number = (char *)number;
    g.has_format = fmt != 0;
    g.format = fmt;
    req.body_case = PAY__INVOICING_REQUEST__BODY_GET;
    req.get = &g;
    return s_do(who, &req);
}

static Pay__InvoicingReply *s_list(const auth_identity_t *who, const char *employer)
{
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    Pay__ListDocuments l = PAY__LIST_DOCUMENTS__INIT;
    l.employer = (char *)employer;
    req.body_case = PAY__INVOICING_REQUEST__BODY_LIST;
    req.list = &l;
    return s_do(who, &req);
}

static Pay__InvoicingReply *s_pay_on(const auth_identity_t *who, const char *number,
                                     const char *amount, const char *date)
{
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    Pay__RecordPayment p = PAY__RECORD_PAYMENT__INIT;
    p.number = (char *)number;
    p.amount = (char *)amount;
    p.date = (char *)date;
    p.reference = "BACS 1";
    req.body_case = PAY__INVOICING_REQUEST__BODY_PAYMENT;
    req.payment = &p;
    return s_do(who, &req);
}

static Pay__InvoicingReply *s_pay(const auth_identity_t *who, const char *number,
                                  const char *amount)
{
    return s_pay_on(who, number, amount, "2026-12-20");
}

/* The stored document, for looking at its lines. */
static Pay__StoredDocument *s_doc(const char *number)
{
    MDB_txn *txn;
    int rc;
    store_read_begin(inv_store_store(s_api.store), &txn);
    Pay__StoredDocument *sd = inv_store_get_doc(s_api.store, txn, number, &rc);
    mdb_txn_abort(txn);
    return sd;
}

static const Pay__StoredLine *s_line_for(const Pay__StoredDocument *sd, const char *contract,
                                         const char *period)
{
    for (size_t i = 0; sd && i < sd->n_lines; i++)
        if (strcmp(sd->lines[i]->contract, contract) == 0
            && strcmp(sd->lines[i]->period, period) == 0)
            return sd->lines[i];
    return NULL;
}

/* ---- helpers for the reports --------------------------------------------- */

static Pay__InvoicingReply *s_upsert_employer(const auth_identity_t *who, const char *id,
                                              const char *vat, const char *period,
                                              const char *endpoint)
{
    Pay__EmployerRow e = PAY__EMPLOYER_ROW__INIT;
    Pay__EmployerRow *rows[] = { &e };
    Pay__UpsertEmployers ue = PAY__UPSERT_EMPLOYERS__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    e.id = (char *)id;
    e.name = "Acme Recycling Ltd";
    e.address = "1 Canal Street, Leeds";
    e.postcode = "LS1 4AP";
    e.vat_number = (char *)vat;
    e.email = "ap@acme.example";
    e.billing_period = (char *)period;
    e.payment_terms_days = "14";
    e.peppol_endpoint = (char *)endpoint;
    ue.n_rows = 1;
    ue.rows = rows;
    req.body_case = PAY__INVOICING_REQUEST__BODY_UPSERT_EMPLOYERS;
    req.upsert_employers = &ue;
    return s_do(who, &req);
}

static void s_upsert_terms(const auth_identity_t *who, const char *contract, const char *from,
                           const char *charge)
{
    Pay__BillingTermsRow t = PAY__BILLING_TERMS_ROW__INIT;
    Pay__BillingTermsRow *rows[] = { &t };
    Pay__UpsertBillingTerms ut = PAY__UPSERT_BILLING_TERMS__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    t.contract = (char *)contract;
    t.effective_from = (char *)from;
    t.basis = "HOURLY";
    t.charge = (char *)charge;
    t.vat_rate_bp = "2000";
    ut.n_rows = 1;
    ut.rows = rows;
    req.body_case = PAY__INVOICING_REQUEST__BODY_UPSERT_TERMS;
    req.upsert_terms = &ut;
    Pay__InvoicingReply *r = s_do(who, &req);
    if (!(r->n_items == 1 && r->items[0]->status == PAY__STATUS__OK))
        TAP_OK(0, "terms %s from %s upserted", contract, from);
}

static Pay__InvoicingReply *s_statement(const auth_identity_t *who, const char *employer)
{
    Pay__Statement st = PAY__STATEMENT__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    st.employer = (char *)employer;
    req.body_case = PAY__INVOICING_REQUEST__BODY_STATEMENT;
    req.statement = &st;
    return s_do(who, &req);
}

static Pay__InvoicingReply *s_overdue(const auth_identity_t *who, const char *as_of)
{
    Pay__Overdue od = PAY__OVERDUE__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    od.as_of = (char *)as_of;
    req.body_case = PAY__INVOICING_REQUEST__BODY_OVERDUE;
    req.overdue = &od;
    return s_do(who, &req);
}

static const Pay__DocumentInfo *s_find(const Pay__InvoicingReply *r, const char *number)
{
    for (size_t i = 0; r->documents && i < r->documents->n_documents; i++)
        if (strcmp(r->documents->documents[i]->summary->number, number) == 0)
            return r->documents->documents[i];
    return NULL;
}

/* An invoice of 43.20 (3 hours at 12.00 + 20 %): one void credits part of
 * it; a payment; a second void credits more than is left, and the rest
 * stays on the account. */
static void test_allocation_and_statement(const auth_identity_t *industries,
                                          const auth_identity_t *finance)
{
    auth_identity_t acme = s_id(ROLE_EMPLOYER, "acme");
    s_upsert_employer(industries, "acme", "GB555666777", "WEEKLY", "");
    TAP_EQ_INT(s_contract("C-0070", "acme", "LEI"), 0, "acme's contract C-0070 learned");
    s_upsert_terms(industries, "C-0070", "2026-01-01", "12.00");
    rec_t x1 = { "x1", "acme", "C-0070", "LEI", "2027-02-01", 60, 0, PAY__OUTCOME__ATTENDED };
    rec_t x2 = { "x2", "acme", "C-0070", "LEI", "2027-02-02", 60, 0, PAY__OUTCOME__ATTENDED };
    rec_t x3 = { "x3", "acme", "C-0070", "LEI", "2027-02-03", 60, 0, PAY__OUTCOME__ATTENDED };
    s_event(0, &x1, NULL);
    s_event(0, &x2, NULL);
    s_event(0, &x3, NULL);
    Pay__InvoicingReply *r = s_issue(finance, "acme", "", "2027-02-08");
    char inv[INV_NUMBER_LEN] = "", crn1[INV_NUMBER_LEN] = "", crn2[INV_NUMBER_LEN] = "";
    if (r->issued && r->issued->n_documents == 1)
        snprintf(inv, sizeof inv, "%s", r->issued->documents[0]->number);
    TAP_OK(inv[0] && r->issued->documents[0]->total_pence == 4320, "acme's invoice: 43.20");

    s_event(2, &x1, NULL);
    r = s_issue(finance, "acme", "", "2027-02-09");
    if (r->issued && r->issued->n_documents == 1)
        snprintf(crn1, sizeof crn1, "%s", r->issued->documents[0]->number);
    TAP_OK(strncmp(crn1, "CRN-", 4) == 0 && r->issued->documents[0]->total_pence == -1440,
           "a void after issue: credit note of 14.40");
    r = s_overdue(finance, "2027-03-01");
    const Pay__DocumentInfo *di = s_find(r, inv);
    TAP_OK(di && di->outstanding_pence == 2880 && di->allocated_pence == 1440
           && di->status == PAY__PAYMENT_STATUS__PART_PAID,
           "partly credited: still overdue, showing the rest (28.80) and the credit (14.40)");
    TAP_OK(!s_find(r, crn1), "a credit note is never overdue");

    r = s_pay_on(finance, inv, "30.00", "2027-02-09");
    TAP_EQ_INT(r->status, PAY__STATUS__INVALID_ARGUMENT,
               "a payment above what is left after the credit is refused");
    r = s_pay_on(finance, inv, "20.00", "2027-02-09");
    TAP_OK(r->status == PAY__STATUS__OK && r->document->info->outstanding_pence == 880,
           "a payment of 20.00 leaves 8.80");

    s_event(2, &x2, NULL);
    r = s_issue(finance, "acme", "", "2027-02-10");
    if (r->issued && r->issued->n_documents == 1)
        snprintf(crn2, sizeof crn2, "%s", r->issued->documents[0]->number);
    TAP_OK(crn2[0] && r->issued->documents[0]->total_pence == -1440, "a second credit note of 14.40");
    r = s_overdue(finance, "2027-03-01");
    TAP_OK(!s_find(r, inv), "fully settled by payment and credit: no longer overdue");
    Pay__StoredDocument *c2 = s_doc(crn2), *iv = s_doc(inv);
    TAP_OK(c2 && c2->allocated == 880 && iv && iv->allocated == 1440 + 880
           && inv_store_doc_outstanding(iv) == 0,
           "the second credit is allocated up to what was left (8.80)");
    if (c2) protobuf_c_message_free_unpacked(&c2->base, NULL);
    if (iv) protobuf_c_message_free_unpacked(&iv->base, NULL);
    Pay__ListDocuments l = PAY__LIST_DOCUMENTS__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    l.employer = "acme";
    req.body_case = PAY__INVOICING_REQUEST__BODY_LIST;
    req.list = &l;
    r = s_do(finance, &req);
    di = s_find(r, crn2);
    TAP_OK(di && di->has_unallocated_pence && di->unallocated_pence == 560
           && di->allocated_pence == 880, "the rest (5.60) stays as unallocated credit");

    /* The statement: every row, the running balance, and it balances. */
    r = s_statement(&acme, "dhl");   /* an employer gets its own, whatever it names */
    const Pay__StatementReply *st = r->statement;
    TAP_OK(r->status == PAY__STATUS__OK && st && strcmp(st->employer, "acme") == 0,
           "an employer asks for its own statement");
    const char *want[][6] = {
        { "2027-02-08", inv, "invoice", "4320", "2320", "4320" },
        { "2027-02-09", crn1, "credit_note", "-1440", "1440", "2880" },
        { "2027-02-09", inv, "allocation", "", "1440", "2880" },
        { "2027-02-09", inv, "payment", "-2000", "", "880" },
        { "2027-02-10", crn2, "credit_note", "-1440", "880", "-560" },
        { "2027-02-10", inv, "allocation", "", "880", "-560" },
    };
    size_t nw = sizeof want / sizeof *want;
    int bad = !st || st->n_rows != nw;
    for (size_t i = 0; st && !bad && i < nw; i++) {
        const Pay__StatementRow *row = st->rows[i];
        char amt[32] = "", alc[32] = "", bal[32];
        if (row->has_amount_pence)
            snprintf(amt, sizeof amt, "%lld", (long long)row->amount_pence);
        if (row->has_allocated_pence)
            snprintf(alc, sizeof alc, "%lld", (long long)row->allocated_pence);
        snprintf(bal, sizeof bal, "%lld", (long long)row->balance_pence);
        if (strcmp(row->date, want[i][0]) || strcmp(row->document, want[i][1])
            || strcmp(row->kind, want[i][2]) || strcmp(amt, want[i][3])
            || strcmp(alc, want[i][4]) || strcmp(bal, want[i][5])) {
            TAP_NOTE("row %zu: %s %s %s %s %s %s", i, row->date, row->document, row->kind, amt,
                     alc, bal);
            bad = 1;
        }
    }
    TAP_OK(!bad, "statement rows: invoice, credit notes with their allocations, payment, balance");
    TAP_OK(st && st->balance_pence == -560 && st->outstanding_pence == 0
           && st->unallocated_pence == 560
           && st->balance_pence == st->outstanding_pence - st->unallocated_pence,
           "the statement balances: balance = outstanding - unallocated credit (-5.60)");
    r = s_statement(finance, "nobody");
    TAP_EQ_INT(r->status, PAY__STATUS__UNKNOWN_EMPLOYER, "statement of an unknown employer");
    r = s_statement(finance, "");
    TAP_EQ_INT(r->status, PAY__STATUS__INVALID_ARGUMENT, "finance must name the employer");
}

static void test_peppol_and_supplier(const auth_identity_t *industries,
                                     const auth_identity_t *finance)
{
    struct {
        const char *endpoint;
        Pay__Status want;
        const char *why;
    } cases[] = {
        { "0088:5012345678900", PAY__STATUS__OK, "a GLN with a good check digit" },
        { "0088:5012345678901", PAY__STATUS__INVALID_ARGUMENT, "a GLN with a bad check digit" },
        { "EM:ap@acme.example", PAY__STATUS__INVALID_ARGUMENT, "EM, not on the Peppol list" },
        { "1234:abc", PAY__STATUS__INVALID_ARGUMENT, "a scheme not on the EAS list" },
        { "0088", PAY__STATUS__INVALID_ARGUMENT, "no id" },
        { "9932:GB555666777", PAY__STATUS__OK, "a UK VAT endpoint" },
        { "0060:12 34", PAY__STATUS__INVALID_ARGUMENT, "a space in the id" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Pay__InvoicingReply *r = s_upsert_employer(industries, "peppol", "", "WEEKLY",
                                                   cases[i].endpoint);
        Pay__Status got = r->n_items == 1 ? r->items[0]->status : PAY__STATUS__INTERNAL;
        TAP_OK(got == cases[i].want, "peppol_endpoint %s: %s (%s)", cases[i].endpoint,
               cases[i].want == PAY__STATUS__OK ? "accepted" : "refused", cases[i].why);
        if (got != PAY__STATUS__OK && r->n_items == 1)
            TAP_OK(strstr(r->items[0]->message, "peppol_endpoint") != NULL,
                   "the refusal names the field: %s", r->items[0]->message);
    }

    /* No endpoint and no VAT number: documents, but no UBL, and why. */
    s_upsert_employer(industries, "novat", "", "WEEKLY", "");
    TAP_EQ_INT(s_contract("C-0075", "novat", "KMI"), 0, "novat's contract C-0075 learned");
    s_upsert_terms(industries, "C-0075", "2026-01-01", "10.00");
    rec_t n1 = { "n1", "novat", "C-0075", "KMI", "2027-02-01", 60, 0, PAY__OUTCOME__ATTENDED };
    s_event(0, &n1, NULL);
    Pay__InvoicingReply *r = s_issue(finance, "novat", "", "2027-02-08");
    char num[INV_NUMBER_LEN] = "";
    if (r->issued && r->issued->n_documents == 1)
        snprintf(num, sizeof num, "%s", r->issued->documents[0]->number);
    TAP_OK(num[0], "an employer with neither endpoint nor VAT number is invoiced");
    r = s_get(finance, num, PAY__DOCUMENT_FORMAT__UBL);
    TAP_OK(r->status == PAY__STATUS__FAILED_PRECONDITION && !r->document
           && strstr(r->message, "no Peppol endpoint and no VAT number"),
           "its UBL is refused, saying why: %s", r->message ? r->message : "");
    r = s_get(finance, num, PAY__DOCUMENT_FORMAT__PDF);
    TAP_OK(r->status == PAY__STATUS__OK && r->document && r->document->content.len > 0,
           "its PDF is there");
    s_upsert_employer(industries, "novat", "", "WEEKLY", "0088:5060000000009");
    r = s_get(finance, num, PAY__DOCUMENT_FORMAT__UBL);
    TAP_OK(r->status == PAY__STATUS__OK && r->document
           && strstr((const char *)r->document->content.data,
                     "<cbc:EndpointID schemeID=\"0088\">5060000000009</cbc:EndpointID>"),
           "once it registers an endpoint, its UBL is addressed to it");

    /* Issuing refuses while the supplier is not fully configured. */
    inv_supplier_t saved = s_api.supplier;
    s_api.supplier.vat[0] = '\0';
    s_api.supplier.sort_code[0] = '\0';
    rec_t n2 = { "n2", "novat", "C-0075", "KMI", "2027-02-09", 60, 0, PAY__OUTCOME__ATTENDED };
    s_event(0, &n2, NULL);
    r = s_issue(finance, "", "", "2027-02-20");
    TAP_OK(r->status == PAY__STATUS__FAILED_PRECONDITION && !r->issued
           && strstr(r->message, "vat_number")
           && strstr(r->message, "sort_code and account_number, or iban"),
           "no issuing without the supplier's VAT number and bank details: %s",
           r->message ? r->message : "");
    s_api.supplier = saved;
    r = s_issue(finance, "novat", "", "2027-02-20");
    TAP_OK(r->status == PAY__STATUS__OK && r->issued && r->issued->n_documents == 1,
           "once configured, the week is issued");
}

static void test_line_dates_and_pending(const auth_identity_t *industries,
                                        const auth_identity_t *finance)
{
    s_upsert_employer(industries, "monthly", "GB444555666", "MONTHLY", "");
    TAP_EQ_INT(s_contract("C-0080", "monthly", "MDI") | s_contract("C-0081", "monthly", "MDI"), 0,
               "the monthly employer's contracts learned");
    s_upsert_terms(industries, "C-0080", "2026-01-01", "10.00");
    s_upsert_terms(industries, "C-0080", "2027-03-16", "11.00");
    rec_t a = { "m1", "monthly", "C-0080", "MDI", "2027-03-05", 60, 0, PAY__OUTCOME__ATTENDED };
    rec_t b = { "m2", "monthly", "C-0080", "MDI", "2027-03-20", 120, 0, PAY__OUTCOME__ATTENDED };
    rec_t c = { "m3", "monthly", "C-0081", "MDI", "2027-03-21", 30, 0, PAY__OUTCOME__ATTENDED };
    s_event(0, &a, NULL);
    s_event(0, &b, NULL);
    s_event(0, &c, NULL);

    Pay__Pending pq = PAY__PENDING__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    pq.employer = "monthly";
    req.body_case = PAY__INVOICING_REQUEST__BODY_PENDING;
    req.pending = &pq;
    Pay__InvoicingReply *r = s_do(finance, &req);
    const Pay__PendingList *pl = r->pending;
    TAP_OK(pl && pl->n_rows == 3, "pending: three lines for March (two terms rows, one NO_TERMS)");
    if (pl && pl->n_rows == 3) {
        const Pay__PendingLine *p0 = pl->rows[0], *p1 = pl->rows[1], *p2 = pl->rows[2];
        TAP_OK(strcmp(p0->contract, "C-0080") == 0 && strcmp(p0->period, "2027-03") == 0
               && strcmp(p0->period_start, "2027-03-01") == 0
               && strcmp(p0->period_end, "2027-03-15") == 0 && p0->minutes == 60
               && strcmp(p0->status, "WAITING") == 0,
               "WAITING 2027-03-01..15 at the old terms, 60 min");
        TAP_OK(strcmp(p1->period_start, "2027-03-16") == 0
               && strcmp(p1->period_end, "2027-03-31") == 0 && p1->minutes == 120
               && strcmp(p1->status, "WAITING") == 0,
               "WAITING 2027-03-16..31 at the new terms, 120 min");
        TAP_OK(strcmp(p2->contract, "C-0081") == 0 && strcmp(p2->status, "NO_TERMS") == 0
               && p2->minutes == 30 && strcmp(p2->period_start, "2027-03-01") == 0
               && strcmp(p2->period_end, "2027-03-31") == 0,
               "NO_TERMS for the contract without terms, the whole month");
    }
    r = s_do(&(auth_identity_t){ .role = ROLE_EMPLOYER, .scope = "monthly" }, &req);
    TAP_EQ_INT(r->status, PAY__STATUS__PERMISSION_DENIED, "pending is finance's");

    r = s_issue(finance, "monthly", "", "2027-04-01");
    char num[INV_NUMBER_LEN] = "";
    if (r->issued && r->issued->n_documents == 1)
        snprintf(num, sizeof num, "%s", r->issued->documents[0]->number);
    Pay__StoredDocument *sd = num[0] ? s_doc(num) : NULL;
    TAP_OK(sd && sd->n_lines == 2, "March's invoice has a line per terms row");
    if (sd && sd->n_lines == 2) {
        char a0[CIVIL_DATE_LEN], b0[CIVIL_DATE_LEN], a1[CIVIL_DATE_LEN], b1[CIVIL_DATE_LEN];
        civil_format_date(sd->lines[0]->start, a0);
        civil_format_date(sd->lines[0]->end, b0);
        civil_format_date(sd->lines[1]->start, a1);
        civil_format_date(sd->lines[1]->end, b1);
        TAP_OK(strcmp(a0, "2027-03-01") == 0 && strcmp(b0, "2027-03-15") == 0
               && strcmp(a1, "2027-03-16") == 0 && strcmp(b1, "2027-03-31") == 0,
               "the lines cover 03-01..15 and 03-16..31 (%s..%s, %s..%s)", a0, b0, a1, b1);
    }
    if (sd)
        protobuf_c_message_free_unpacked(&sd->base, NULL);
    r = s_do(finance, &req);
    TAP_OK(r->pending && r->pending->n_rows == 1
           && strcmp(r->pending->rows[0]->status, "NO_TERMS") == 0,
           "after issue only the NO_TERMS line is pending");

    Pay__ListLines ll = PAY__LIST_LINES__INIT;
    ll.from = "2027-03";
    ll.to = "2027-03";
    req.body_case = PAY__INVOICING_REQUEST__BODY_LINES;
    req.lines = &ll;
    r = s_do(finance, &req);
    const Pay__LineList *lines = r->lines;
    TAP_OK(lines && lines->n_rows == 2, "lines of 2027-03: the two lines");
    if (lines && lines->n_rows == 2)
        TAP_OK(strcmp(lines->rows[0]->invoice, num) == 0
               && strcmp(lines->rows[0]->period_start, "2027-03-01") == 0
               && strcmp(lines->rows[1]->period_end, "2027-03-31") == 0
               && strcmp(lines->rows[0]->unit, "HOURLY") == 0
               && strstr(lines->rows[1]->description, "(billing terms from 2027-03-16)")
               && strcmp(lines->rows[0]->net, "10.00") == 0
               && strcmp(lines->rows[1]->net, "22.00") == 0,
               "rows in the invoice-lines layout, with dates and descriptions that differ");
    ll.from = "2027-W05";
    ll.to = "2027-W06";
    r = s_do(finance, &req);
    size_t acme_rows = 0;
    for (size_t i = 0; r->lines && i < r->lines->n_rows; i++)
        acme_rows += strcmp(r->lines->rows[i]->contract, "C-0070") == 0;
    TAP_OK(r->status == PAY__STATUS__OK && acme_rows == 3,
           "lines of 2027-W05..W06: acme's invoice line and its two credit lines (%zu)", acme_rows);
    ll.from = "March";
    r = s_do(finance, &req);
    TAP_EQ_INT(r->status, PAY__STATUS__INVALID_ARGUMENT, "a malformed period is refused");
}

static void test_journal(const auth_identity_t *finance)
{
    Pay__InvoicingJournal jq = PAY__INVOICING_JOURNAL__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    req.body_case = PAY__INVOICING_REQUEST__BODY_JOURNAL;
    req.journal = &jq;
    Pay__InvoicingReply *r = s_do(&(auth_identity_t){ .role = ROLE_EMPLOYER, .scope = "dhl" }, &req);
    TAP_EQ_INT(r->status, PAY__STATUS__PERMISSION_DENIED, "the journal is finance's");
    r = s_do(finance, &req);
    TAP_OK(r->status == PAY__STATUS__OK && r->journal && r->journal->text
           && strstr(r->journal->text, "account assets:receivables:acme")
           && strstr(r->journal->text, "; type: A")
           && strstr(r->journal->text, "credit allocated to"),
           "the journal declares its accounts with types and has the allocations");
    char path[] = "/tmp/inv_journal.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f) {
        fputs(r->journal && r->journal->text ? r->journal->text : "", f);
        fclose(f);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "hledger -f %s check --strict ordereddates >/dev/null 2>&1", path);
    if (system("command -v hledger >/dev/null 2>&1") != 0)
        TAP_NOTE("hledger not installed: journal check skipped");
    else
        TAP_OK(system(cmd) == 0, "hledger check --strict ordereddates accepts the journal");
    unlink(path);
}

int main(void)
{
    char dir[] = "/tmp/inv_api_test.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    s_api.store = inv_store_open(dir, 0);
    char why[256] = "";
    TAP_EQ_INT(inv_supplier_parse(&s_api.supplier,
                                  "name = Prison Industries Trading Unit\n"
                                  "address = 102 Petty France, London\npostcode = SW1H 9AJ\n"
                                  "vat_number = GB123456782\nemail = billing@industries.example\n"
                                  "bank_account_name = Prison Industries Trading Unit\n"
                                  "sort_code = 20-00-00\naccount_number = 31926819\n",
                                  why, sizeof why), 0, "supplier configured (%s)", why);
    TAP_OK(s_api.store != NULL, "store opens");

    auth_identity_t industries = s_id(ROLE_INDUSTRIES, ""), finance = s_id(ROLE_FINANCE, ""),
                    dhl = s_id(ROLE_EMPLOYER, "dhl"), tesco = s_id(ROLE_EMPLOYER, "tesco"),
                    instructor = s_id(ROLE_INSTRUCTOR, "MDI"), governor = s_id(ROLE_GOVERNOR, "MDI");

    /* Reference data. */
    Pay__EmployerRow e1 = PAY__EMPLOYER_ROW__INIT, e2 = PAY__EMPLOYER_ROW__INIT,
                     e3 = PAY__EMPLOYER_ROW__INIT;
    e1.id = "dhl"; e1.name = "DHL Supply Chain Ltd"; e1.address = "Ocean House, Bracknell";
    e1.postcode = "RG12 1AW"; e1.vat_number = "GB987654321"; e1.email = "ap@dhl.example";
    e1.billing_period = "MONTHLY"; e1.payment_terms_days = "30";
    e2 = e1;
    e2.id = "tesco"; e2.name = "Tesco Stores Ltd"; e2.vat_number = "GB111222333";
    e2.billing_period = "WEEKLY"; e2.payment_terms_days = "";
    e3 = e1;
    e3.id = "Bad_Id";
    Pay__EmployerRow *erows[] = { &e1, &e2, &e3 };
    Pay__UpsertEmployers ue = PAY__UPSERT_EMPLOYERS__INIT;
    ue.n_rows = 3;
    ue.rows = erows;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    req.body_case = PAY__INVOICING_REQUEST__BODY_UPSERT_EMPLOYERS;
    req.upsert_employers = &ue;
    Pay__InvoicingReply *r = s_do(&finance, &req);
    TAP_EQ_INT(r->status, PAY__STATUS__PERMISSION_DENIED, "finance may not register employers");
    r = s_do(&industries, &req);
    TAP_EQ_INT(r->status, PAY__STATUS__OK, "industries registers employers");
    TAP_EQ_INT(r->n_items, 3, "one answer per row");
    TAP_OK(r->n_items == 3 && r->items[0]->status == PAY__STATUS__OK
           && r->items[1]->status == PAY__STATUS__OK
           && r->items[2]->status == PAY__STATUS__INVALID_ARGUMENT,
           "bad employer id refused row by row, the others kept");

    /* The contracts, as the hours feed publishes them. */
    TAP_EQ_INT(s_contract("C-0042", "dhl", "MDI") | s_contract("C-0050", "dhl", "LEI") |
               s_contract("C-0043", "dhl", "MDI") | s_contract("C-0060", "tesco", "PVI") |
               s_contract("C-0061", "tesco", "PVI") | s_contract("C-0099", "dhl", "MDI"), 0,
               "contract facts from the hours feed applied");
    Pay__ContractFacts badf = PAY__CONTRACT_FACTS__INIT;
    Pay__HoursEvent badev = PAY__HOURS_EVENT__INIT;
    badf.id = "c-lower";
    badev.kind_case = PAY__HOURS_EVENT__KIND_CONTRACT;
    badev.contract = &badf;
    TAP_EQ_INT(s_apply_packed(&badev), FEED_REFUSED, "malformed contract facts are refused");

    Pay__BillingTermsRow t[5];
    const char *tc[][5] = {
        { "C-0042", "2026-01-01", "HOURLY", "1.01", "2000" },
        { "C-0050", "2026-01-01", "UNIT", "0.25", "500" },
        { "C-0043", "2026-01-01", "HOURLY", "12.00", "2000" },
        { "C-0060", "2026-01-01", "HOURLY", "12", "0" },
        { "C-0061", "2026-01-01", "HOURLY", "1.234", "0" },
    };
    Pay__BillingTermsRow *trows[5];
    for (int i = 0; i < 5; i++) {
        pay__billing_terms_row__init(&t[i]);
        t[i].contract = (char *)tc[i][0];
        t[i].effective_from = (char *)tc[i][1];
        t[i].basis = (char *)tc[i][2];
        t[i].charge = (char *)tc[i][3];
        t[i].vat_rate_bp = (char *)tc[i][4];
        trows[i] = &t[i];
    }
    Pay__UpsertBillingTerms ut = PAY__UPSERT_BILLING_TERMS__INIT;
    ut.n_rows = 5;
    ut.rows = trows;
    req.body_case = PAY__INVOICING_REQUEST__BODY_UPSERT_TERMS;
    req.upsert_terms = &ut;
    r = s_do(&industries, &req);
    TAP_OK(r->n_items == 5 && r->items[4]->status == PAY__STATUS__INVALID_ARGUMENT
           && r->items[0]->status == PAY__STATUS__OK, "terms upserted; 3-decimal charge refused");
    /* Terms for a contract the hours service never published. */
    Pay__BillingTermsRow unknown = t[0];
    Pay__BillingTermsRow *urows[] = {&unknown};
    unknown.contract = "C-0077";
    Pay__UpsertBillingTerms uu = PAY__UPSERT_BILLING_TERMS__INIT;
    uu.n_rows = 1;
    uu.rows = urows;
    req.upsert_terms = &uu;
    r = s_do(&industries, &req);
    TAP_OK(r->n_items == 1 && r->items[0]->status == PAY__STATUS__UNKNOWN_CONTRACT,
           "billing terms for an unknown contract: UNKNOWN_CONTRACT");
    req.upsert_terms = &ut;
    /* A record naming an unknown contract is refused by the feed step. */
    {
        Pay__RecordState st;
        rec_t x = { "rx", "dhl", "C-0077", "MDI", "2026-11-03", 20, 0, PAY__OUTCOME__ATTENDED };
        s_state(&st, &x);
        Pay__HoursRecorded rec = PAY__HOURS_RECORDED__INIT;
        Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
        rec.record = &st;
        ev.kind_case = PAY__HOURS_EVENT__KIND_RECORDED;
        ev.recorded = &rec;
        TAP_EQ_INT(s_apply_packed(&ev), FEED_REFUSED, "a record for an unknown contract is refused");
        Pay__HoursEvent none = PAY__HOURS_EVENT__INIT;
        TAP_EQ_INT(s_apply_packed(&none), FEED_REFUSED, "an event of no known kind is refused");
    }

    /* Hours: three 20-minute ATTENDED records at 101p/h, a SICK one, units,
     * a record with no terms, and Tesco's week. */
    rec_t a1 = { "r1", "dhl", "C-0042", "MDI", "2026-11-03", 20, 0, PAY__OUTCOME__ATTENDED };
    rec_t a2 = { "r2", "dhl", "C-0042", "MDI", "2026-11-04", 20, 0, PAY__OUTCOME__ATTENDED };
    rec_t a3 = { "r3", "dhl", "C-0042", "MDI", "2026-11-05", 20, 0, PAY__OUTCOME__ATTENDED };
    rec_t sick = { "r4", "dhl", "C-0042", "MDI", "2026-11-06", 300, 0, PAY__OUTCOME__SICK };
    rec_t u1 = { "r5", "dhl", "C-0050", "LEI", "2026-11-10", 240, 100, PAY__OUTCOME__ATTENDED };
    rec_t nt = { "r6", "dhl", "C-0099", "MDI", "2026-11-11", 60, 0, PAY__OUTCOME__ATTENDED };
    rec_t ts = { "r7", "tesco", "C-0060", "PVI", "2026-11-17", 120, 0, PAY__OUTCOME__ATTENDED };
    s_event(0, &a1, NULL);
    s_event(0, &a2, NULL);
    s_event(0, &a3, NULL);
    s_event(0, &sick, NULL);
    s_event(0, &u1, NULL);
    s_event(0, &nt, NULL);
    s_event(0, &ts, NULL);

    r = s_issue(&dhl, "", "", "2026-12-01");
    TAP_EQ_INT(r->status, PAY__STATUS__PERMISSION_DENIED, "an employer may not issue");
    r = s_issue(&finance, "", "", "2026-11-20");
    TAP_OK(r->status == PAY__STATUS__OK && r->issued && r->issued->n_documents == 0,
           "nothing issued before the periods end");
    r = s_issue(&finance, "", "", "2026-12-01");
    TAP_OK(r->status == PAY__STATUS__OK && r->issued && r->issued->n_documents == 2,
           "issue on 2026-12-01: one document per employer period");
    Pay__StoredDocument *d1 = s_doc("INV-000001"), *d2 = s_doc("INV-000002");
    TAP_OK(d1 && d2, "INV-000001 and INV-000002 stored");
    TAP_OK(d1 && strcmp(d1->employer, "dhl") == 0 && strcmp(d1->period, "2026-11") == 0,
           "dhl is invoiced monthly first (employers in id order)");
    const Pay__StoredLine *l = s_line_for(d1, "C-0042", "2026-11");
    TAP_OK(l && l->minutes == 60 && l->net == 101, "3 x 20 min at 101p/h: one line, 60 min, 101p");
    l = s_line_for(d1, "C-0050", "2026-11");
    TAP_OK(l && l->units == 100 && l->net == 2500, "UNIT line: 100 x 25p");
    TAP_OK(d1 && d1->n_lines == 2, "SICK and NO_TERMS records are not invoiced");
    TAP_EQ_INT(d1 ? d1->vat_total : -1, 20 + 125, "VAT per rate: 20%% of 101 + 5%% of 2500");
    TAP_OK(d2 && strcmp(d2->employer, "tesco") == 0 && strcmp(d2->period, "2026-W47") == 0,
           "tesco invoiced for ISO week 2026-W47");
    char buf[CIVIL_DATE_LEN];
    civil_format_date(d1 ? d1->tax_point : 0, buf);
    TAP_EQ_STR(buf, "2026-11-30", "tax point is the period's last day");
    civil_format_date(d1 ? d1->due_date : 0, buf);
    TAP_EQ_STR(buf, "2026-12-31", "due date is issue + 30 days");
    r = s_issue(&finance, "", "", "2026-12-01");
    TAP_OK(r->issued && r->issued->n_documents == 0, "issuing again issues nothing");

    /* Exceptions: the C-0099 record waits as NO_TERMS. */
    req.body_case = PAY__INVOICING_REQUEST__BODY_EXCEPTIONS;
    Pay__Exceptions ex = PAY__EXCEPTIONS__INIT;
    req.exceptions = &ex;
    r = s_do(&finance, &req);
    TAP_OK(r->exceptions && r->exceptions->n_no_terms == 1
           && strcmp(r->exceptions->no_terms[0]->contract, "C-0099") == 0
           && r->exceptions->no_terms[0]->minutes == 60, "NO_TERMS exception listed");

    /* After issue: a late record (new contract line in November) and a void
     * of an invoiced record; plus December work. */
    rec_t late = { "r8", "dhl", "C-0043", "MDI", "2026-11-20", 90, 0, PAY__OUTCOME__ATTENDED };
    rec_t dec = { "r9", "dhl", "C-0042", "MDI", "2026-12-02", 120, 0, PAY__OUTCOME__ATTENDED };
    s_event(0, &late, NULL);
    s_event(2, &a1, NULL);
    s_event(0, &dec, NULL);
    rec_t u1b = u1;
    u1b.units = 80;
    s_event(1, &u1, &u1b);   /* amended: 100 -> 80 units */
    r = s_issue(&finance, "dhl", "", "2027-01-01");
    TAP_OK(r->issued && r->issued->n_documents == 1, "next dhl document issued");
    Pay__StoredDocument *d3 = s_doc("INV-000003");
    TAP_OK(d3 && strcmp(d3->period, "2026-12") == 0, "INV-000003 is December's invoice");
    l = s_line_for(d3, "C-0042", "2026-12");
    TAP_OK(l && l->kind == INV_LINE_PERIOD && l->net == 202, "December line 120 min = 202p");
    l = s_line_for(d3, "C-0043", "2026-11");
    TAP_OK(l && l->kind == INV_LINE_LATE && strcmp(l->ref_number, "INV-000001") == 0
           && l->minutes == 90 && l->net == 1800,
           "late record: a line of its original period naming INV-000001");
    l = s_line_for(d3, "C-0042", "2026-11");
    TAP_OK(l && l->kind == INV_LINE_ADJUSTMENT && strcmp(l->ref_number, "INV-000001") == 0
           && l->minutes == -20 && l->net == 67 - 101,
           "void after issue: -20 min, net = price(40 min) - billed 101p, naming INV-000001");
    l = s_line_for(d3, "C-0050", "2026-11");
    TAP_OK(l && l->kind == INV_LINE_ADJUSTMENT && l->units == -20 && l->net == -500,
           "amendment after issue: -20 units, -500p");

    /* The UBL of INV-000003 names the original invoice; the PDF mentions it. */
    r = s_get(&finance, "INV-000003", PAY__DOCUMENT_FORMAT__UBL);
    TAP_OK(r->document && r->document->has_content
           && strstr((const char *)r->document->content.data, "<cbc:ID>INV-000001</cbc:ID>"),
           "UBL BillingReference names INV-000001");
    TAP_OK(r->document && !strstr((const char *)r->document->content.data, "A1234BC"),
           "UBL carries no prisoner number");
    r = s_get(&finance, "INV-000003", PAY__DOCUMENT_FORMAT__PDF);
    size_t pdf_len = r->document ? r->document->content.len : 0;
    uint8_t *pdf1 = pdf_len ? malloc(pdf_len) : NULL;
    if (pdf1)
        memcpy(pdf1, r->document->content.data, pdf_len);
    r = s_get(&finance, "INV-000003", PAY__DOCUMENT_FORMAT__PDF);
    TAP_OK(pdf1 && r->document && r->document->content.len == pdf_len
           && memcmp(pdf1, r->document->content.data, pdf_len) == 0,
           "a stored document renders to identical PDF bytes every time");
    free(pdf1);
    r = s_get(&finance, "INV-000003", PAY__DOCUMENT_FORMAT__CSV);
    TAP_OK(r->document && r->document->content.len > 0
           && strncmp((const char *)r->document->content.data, "invoice,line,contract", 21) == 0,
           "CSV export");

    /* A void of Tesco's only record: a credit note. */
    s_event(2, &ts, NULL);
    r = s_issue(&finance, "tesco", "", "2026-12-10");
    TAP_OK(r->issued && r->issued->n_documents == 1 && r->issued->documents[0]->total_pence == -2400,
           "void after issue alone: a document of -2400p");
    TAP_EQ_STR(r->issued && r->issued->n_documents ? r->issued->documents[0]->number : "",
               "CRN-000001", "a total below zero is credit note CRN-000001");
    r = s_get(&finance, "CRN-000001", PAY__DOCUMENT_FORMAT__UBL);
    TAP_OK(r->document && strstr((const char *)r->document->content.data, "<CreditNote"),
           "credit note renders as UBL CreditNote");

    /* Roles and isolation. */
    r = s_list(&instructor, "");
    TAP_EQ_INT(r->status, PAY__STATUS__PERMISSION_DENIED, "instructor may not list");
    r = s_get(&governor, "INV-000001", PAY__DOCUMENT_FORMAT__PDF);
    TAP_EQ_INT(r->status, PAY__STATUS__PERMISSION_DENIED, "governor may not fetch");
    r = s_list(&tesco, "dhl");
    int only_own = r->documents != NULL;
    for (size_t i = 0; r->documents && i < r->documents->n_documents; i++)
        if (strcmp(r->documents->documents[i]->summary->employer, "tesco") != 0)
            only_own = 0;
    TAP_OK(only_own && r->documents->n_documents == 2,
           "tesco asking for dhl's list gets its own 2 documents only");
    r = s_get(&tesco, "INV-000001", PAY__DOCUMENT_FORMAT__PDF);
    Pay__Status other = r->status;
    char other_msg[128];
    snprintf(other_msg, sizeof other_msg, "%s", r->message ? r->message : "");
    TAP_OK(other == PAY__STATUS__NOT_FOUND && !r->document, "tesco fetching dhl's INV-000001: NOT_FOUND");
    r = s_get(&tesco, "INV-000999", PAY__DOCUMENT_FORMAT__PDF);
    TAP_OK(r->status == other && strstr(other_msg, "no document ") && strstr(r->message, "no document "),
           "answered exactly like a number that does not exist");
    r = s_get(&tesco, "INV-000002", PAY__DOCUMENT_FORMAT__PDF);
    TAP_OK(r->status == PAY__STATUS__OK && r->document && r->document->content.len > 0,
           "tesco downloads its own invoice");
    r = s_list(&finance, "");
    TAP_OK(r->documents && r->documents->n_documents == 4, "finance sees all 4 documents");

    /* Payments and overdue. */
    r = s_pay(&dhl, "INV-000001", "1.00");
    TAP_EQ_INT(r->status, PAY__STATUS__PERMISSION_DENIED, "an employer may not record payments");
    r = s_pay(&finance, "INV-000001", "10.00");
    TAP_OK(r->status == PAY__STATUS__OK && r->document && r->document->info->status == PAY__PAYMENT_STATUS__PART_PAID
           && r->document->info->outstanding_pence == 2601 + 145 - 1000, "part payment: PART_PAID, outstanding");
    r = s_pay(&finance, "INV-000001", "100.00");
    TAP_EQ_INT(r->status, PAY__STATUS__INVALID_ARGUMENT, "overpayment refused");
    r = s_pay(&finance, "INV-000001", "17.46");
    TAP_OK(r->status == PAY__STATUS__OK && r->document->info->status == PAY__PAYMENT_STATUS__PAID,
           "paid in full: PAID");
    r = s_pay(&finance, "CRN-000001", "1.00");
    TAP_EQ_INT(r->status, PAY__STATUS__INVALID_ARGUMENT, "no payment against a credit note");
    r = s_pay(&finance, "INV-000404", "1.00");
    TAP_EQ_INT(r->status, PAY__STATUS__NOT_FOUND, "payment against an unknown number");
    req.body_case = PAY__INVOICING_REQUEST__BODY_OVERDUE;
    Pay__Overdue od = PAY__OVERDUE__INIT;
    od.as_of = "2027-01-01";
    req.overdue = &od;
    r = s_do(&finance, &req);
    TAP_OK(r->documents && r->documents->n_documents == 0,
           "overdue on 2027-01-01: none (INV-000001 paid, INV-000002 credited, INV-000003 not due)");
    Pay__StoredDocument *d2c = s_doc("INV-000002"), *c1 = s_doc("CRN-000001");
    TAP_OK(d2c && d2c->allocated == 2400 && inv_store_doc_outstanding(d2c) == 0
           && inv_store_doc_status(d2c) == PAY__PAYMENT_STATUS__CREDITED,
           "CRN-000001 is allocated to INV-000002, the invoice it adjusts: CREDITED, nothing owed");
    TAP_OK(c1 && c1->allocated == 2400 && c1->n_allocations == 1
           && strcmp(c1->allocations[0]->number, "INV-000002") == 0,
           "the credit note records its allocation");
    if (d2c) protobuf_c_message_free_unpacked(&d2c->base, NULL);
    if (c1) protobuf_c_message_free_unpacked(&c1->base, NULL);

    /* Reconciliation: billable minutes = invoiced + pending. */
    req.body_case = PAY__INVOICING_REQUEST__BODY_RECONCILE;
    Pay__Reconcile rq = PAY__RECONCILE__INIT;
    rq.prison = "MDI";
    req.reconcile = &rq;
    r = s_do(&finance, &req);
    int64_t bill = 0, inv = 0, pend = 0;
    for (size_t i = 0; r->reconciliation && i < r->reconciliation->n_rows; i++) {
        bill += r->reconciliation->rows[i]->billable_minutes;
        inv += r->reconciliation->rows[i]->minutes_invoiced;
        pend += r->reconciliation->rows[i]->minutes_pending;
    }
    TAP_EQ_INT(bill, 40 + 60 + 90 + 120, "MDI billable minutes (after the void)");
    TAP_EQ_INT(inv + pend, bill, "invoiced + pending = billable");
    TAP_EQ_INT(pend, 60, "the NO_TERMS hour is pending");

    /* Numbering stays gapless across many issues. */
    for (int i = 0; i < 30; i++) {
        char id[16];
        rec_t x = { id, "dhl", "C-0042", "MDI", "2026-12-03", (uint32_t)(10 + i), 0, PAY__OUTCOME__ATTENDED };
        snprintf(id, sizeof id, "g%d", i);
        s_event(0, &x, NULL);
        s_issue(&finance, "dhl", "", "2027-01-02");
    }
    int gaps = 0;
    for (int i = 1; i <= 33; i++) {
        char num[INV_NUMBER_LEN];
        inv_format_number(INV_KIND_INVOICE, (uint64_t)i, num, sizeof num);
        Pay__StoredDocument *sd = s_doc(num);
        if (!sd)
            gaps++;
        else
            protobuf_c_message_free_unpacked(&sd->base, NULL);
    }
    Pay__StoredDocument *beyond = s_doc("INV-000034");
    TAP_OK(gaps == 0 && !beyond, "INV-000001..INV-000033 all exist, none beyond: gapless");

    /* Health is the operators' view: not for an employer. */
    Pay__Health hq = PAY__HEALTH__INIT;
    req.body_case = PAY__INVOICING_REQUEST__BODY_HEALTH;
    req.health = &hq;
    r = s_do(&dhl, &req);
    TAP_EQ_INT(r->status, PAY__STATUS__PERMISSION_DENIED, "an employer may not ask for health");
    r = s_do(&finance, &req);
    TAP_EQ_INT(r->status, PAY__STATUS__OK, "finance asks for health");

    /* Backups: finance only, by name; the copy itself is taken off the loop
     * by the service (backup.h; tests/backup_restore_test.py). */
    Pay__InvoicingBackup bk = PAY__INVOICING_BACKUP__INIT;
    bk.name = "nightly";
    req.body_case = PAY__INVOICING_REQUEST__BODY_BACKUP;
    req.backup = &bk;
    r = s_do(&dhl, &req);
    TAP_EQ_INT(r->status, PAY__STATUS__PERMISSION_DENIED, "an employer may not take backups");
    TAP_OK(s_rep.backup == NULL, "and none is started");
    r = s_do(&finance, &req);
    TAP_EQ_INT(r->status, PAY__STATUS__OK, "finance asks for a backup by name");
    TAP_OK(s_rep.backup == &bk, "which goes to the service loop's backup");
    const char *bad[] = {"", "../x", "/etc", "a/b", ".."};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bk.name = (char *)bad[i];
        r = s_do(&finance, &req);
        TAP_OK(r->status == PAY__STATUS__INVALID_ARGUMENT && s_rep.backup == NULL,
               "backup name '%s' is refused", bad[i]);
    }
    bk.name = "ok";
    bk.dir = "/tmp/anywhere";
    r = s_do(&finance, &req);
    TAP_OK(r->status == PAY__STATUS__INVALID_ARGUMENT && r->message
               && strstr(r->message, "no longer accepted"),
           "the old dir field is refused, saying why");

    test_allocation_and_statement(&industries, &finance);
    test_peppol_and_supplier(&industries, &finance);
    test_line_dates_and_pending(&industries, &finance);
    test_journal(&finance);

    if (d1) protobuf_c_message_free_unpacked(&d1->base, NULL);
    if (d2) protobuf_c_message_free_unpacked(&d2->base, NULL);
    if (d3) protobuf_c_message_free_unpacked(&d3->base, NULL);
    if (beyond) protobuf_c_message_free_unpacked(&beyond->base, NULL);
    inv_reply_free(&s_rep);
    inv_store_destroy(&s_api.store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        TAP_NOTE("could not remove %s", dir);
    inv_pdf_shutdown();
    return tap_done();
}
