/* mail_store_test: pay-mailer's store with a real LMDB in a temp folder:
 * the feed apply step through feed.h's batch apply (a PENDING delivery per
 * document, committed with the cursor; a batch applied twice changes
 * nothing), events of other kinds ignored and counted, unreadable events
 * quarantined, the due queue in time order, claims, outcomes, resends, the
 * counts, and everything still there after the store is reopened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed.h"
#include "invoice_feed.pb-c.h"
#include "mail_store.h"
#include "tap.h"

static uint64_t s_now = 1000000;

static uint64_t s_clock(void)
{
    return s_now;
}

typedef struct {
    uint8_t *data;
    size_t len;
} s_buf_t;

static s_buf_t s_doc_event(const char *number, int credit, const char *employer,
                           const char *email)
{
    Pay__DocumentSummary ds = PAY__DOCUMENT_SUMMARY__INIT;
    Pay__InvoiceIssued ii = PAY__INVOICE_ISSUED__INIT;
    Pay__CreditNoteIssued ci = PAY__CREDIT_NOTE_ISSUED__INIT;
    Pay__InvoiceEvent ev = PAY__INVOICE_EVENT__INIT;
    ds.number = (char *)number;
    ds.employer = (char *)employer;
    ds.email = (char *)email;
    ds.period = (char *)"2026-W46";
    if (credit) {
        ci.document = &ds;
        ev.kind_case = PAY__INVOICE_EVENT__KIND_CREDIT_NOTE;
        ev.credit_note = &ci;
    } else {
        ii.document = &ds;
        ev.kind_case = PAY__INVOICE_EVENT__KIND_INVOICE;
        ev.invoice = &ii;
    }
    s_buf_t b;
    b.len = pay__invoice_event__get_packed_size(&ev);
    b.data = malloc(b.len ? b.len : 1);
    pay__invoice_event__pack(&ev, b.data);
    return b;
}

/* An InvoiceEvent with `at` and a field this schema does not know (tag 99,
 * length-delimited), as a newer producer's event kind would be. */
/* An employer's reference facts: a known kind, not for the mailer. (A
 * kind no release of the mailer knows is quarantined, never skipped.) */
static s_buf_t s_unknown_event(void)
{
    Pay__EmployerFacts f = PAY__EMPLOYER_FACTS__INIT;
    Pay__InvoiceEvent ev = PAY__INVOICE_EVENT__INIT;
    f.id = "dhl";
    f.name = "DHL";
    ev.kind_case = PAY__INVOICE_EVENT__KIND_EMPLOYER;
    ev.employer = &f;
    s_buf_t b = {NULL, pay__invoice_event__get_packed_size(&ev)};
    b.data = malloc(b.len);
    pay__invoice_event__pack(&ev, b.data);
    return b;
}

static s_buf_t s_garbage(void)
{
    static const uint8_t raw[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    s_buf_t b = {malloc(sizeof raw), sizeof raw};
    memcpy(b.data, raw, sizeof raw);
    return b;
}

typedef struct {
    Pay__FeedBatch batch;
    Pay__FeedEntry entries[16];
    Pay__FeedEntry *ptrs[16];
    s_buf_t bufs[16];
} s_batch_t;

static void s_batch_add(s_batch_t *b, uint64_t seq, s_buf_t buf)
{
    size_t i = b->batch.n_entries++;
    pay__feed_entry__init(&b->entries[i]);
    b->entries[i].has_seq = b->entries[i].has_payload = 1;
    b->entries[i].seq = seq;
    b->entries[i].payload.data = buf.data;
    b->entries[i].payload.len = buf.len;
    b->ptrs[i] = &b->entries[i];
    b->bufs[i] = buf;
    b->batch.entries = b->ptrs;
}

static void s_batch_free(s_batch_t *b)
{
    for (size_t i = 0; i < b->batch.n_entries; i++)
        free(b->bufs[i].data);
}

static int s_apply(mail_store_t *ms, s_batch_t *b, feed_batch_result_t *res)
{
    store_t *st = mail_store_store(ms);
    return feed_batch_apply(st, store_dbi(st, MAIL_DB_CURSOR), MAIL_FEED_NAME, &b->batch,
                            mail_store_apply_event, ms, res);
}

static int s_get(mail_store_t *ms, const char *number, mail_delivery_t *d)
{
    MDB_txn *txn;
    int rc = store_read_begin(mail_store_store(ms), &txn);
    if (rc == 0) {
        rc = mail_store_get(ms, txn, number, d);
        mdb_txn_abort(txn);
    }
    return rc;
}

static int s_counts(mail_store_t *ms, mail_counts_t *c)
{
    MDB_txn *txn;
    int rc = store_read_begin(mail_store_store(ms), &txn);
    if (rc == 0) {
        rc = mail_store_counts(ms, txn, c);
        mdb_txn_abort(txn);
    }
    return rc;
}

typedef struct {
    mail_store_t *ms;
    mail_policy_t *p;
    mail_delivery_t d;
    const char *number;
    mail_try_t t;
    const char *to;
    mail_resend_t what;
} s_op_t;

static int s_claim_fn(MDB_txn *txn, void *arg)
{
    s_op_t *o = arg;
    return mail_store_claim_next(o->ms, txn, o->p, s_now, &o->d);
}

static int s_record_fn(MDB_txn *txn, void *arg)
{
    s_op_t *o = arg;
    return mail_store_record(o->ms, txn, o->p, o->number, &o->t, s_now, &o->d);
}

static int s_resend_fn(MDB_txn *txn, void *arg)
{
    s_op_t *o = arg;
    return mail_store_resend(o->ms, txn, o->number, o->to, s_now, &o->what, &o->d);
}

static int s_claim(mail_store_t *ms, mail_policy_t *p, mail_delivery_t *out)
{
    s_op_t o;
    memset(&o, 0, sizeof o);
    o.ms = ms;
    o.p = p;
    int rc = store_write(mail_store_store(ms), s_claim_fn, &o);
    *out = o.d;
    return rc;
}

static int s_record(mail_store_t *ms, mail_policy_t *p, const char *number, mail_outcome_t oc,
                    const char *text, int ubl, mail_delivery_t *out)
{
    s_op_t o;
    memset(&o, 0, sizeof o);
    o.ms = ms;
    o.p = p;
    o.number = number;
    o.t.outcome = oc;
    o.t.text = text;
    o.t.ubl = ubl;
    int rc = store_write(mail_store_store(ms), s_record_fn, &o);
    *out = o.d;
    return rc;
}

static int s_resend(mail_store_t *ms, const char *number, const char *to, mail_resend_t *what)
{
    s_op_t o;
    memset(&o, 0, sizeof o);
    o.ms = ms;
    o.number = number;
    o.to = to;
    int rc = store_write(mail_store_store(ms), s_resend_fn, &o);
    *what = o.what;
    return rc;
}

int main(void)
{
    char tmpl[] = "/tmp/mail_store_test.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    mail_store_t *ms = mail_store_open(dir, 0);
    TAP_OK(ms != NULL, "the store opens in a temp folder");
    if (!ms)
        return tap_done();
    mail_store_set_clock(ms, s_clock);
    mail_policy_t p = {1000, 8000, 3, "payroll.example.org"};

    /* Feed: two invoices, a credit note, an event of a kind not for us,
     * one that does not decode, one without a valid number. */
    s_batch_t b;
    memset(&b, 0, sizeof b);
    pay__feed_batch__init(&b.batch);
    s_batch_add(&b, 1, s_doc_event("INV-000001", 0, "dhl", "ap@dhl.example"));
    s_batch_add(&b, 2, s_doc_event("INV-000002", 0, "tesco", ""));
    s_batch_add(&b, 3, s_unknown_event());
    s_batch_add(&b, 4, s_garbage());
    s_batch_add(&b, 5, s_doc_event("INV-12", 0, "dhl", "ap@dhl.example"));
    s_batch_add(&b, 6, s_doc_event("CRN-000001", 1, "dhl", "ap@dhl.example"));
    s_batch_add(&b, 7, s_doc_event("INV-000003", 0, "Not An Employer!", "ap@dhl.example"));
    feed_batch_result_t res;
    TAP_EQ_INT(s_apply(ms, &b, &res), 0, "the batch applies");
    TAP_EQ_INT(res.applied, 7, "every event is consumed, none blocks the feed");
    TAP_EQ_INT(res.cursor, 7, "the cursor moves past all of them");

    mail_delivery_t d;
    TAP_EQ_INT(s_get(ms, "INV-000001", &d), 0, "INV-000001 has a delivery");
    TAP_EQ_INT(d.state, MAIL_PENDING, "PENDING");
    TAP_EQ_STR(d.email, "ap@dhl.example", "to the employer's invoice e-mail from the event");
    TAP_EQ_STR(d.employer, "dhl", "for its employer");
    TAP_EQ_INT(d.feed_seq, 1, "queued by event 1");
    TAP_EQ_INT(d.next_try_at, s_now, "due at once");
    TAP_EQ_INT(s_get(ms, "INV-000002", &d), 0, "INV-000002 has one");
    TAP_EQ_STR(d.email, "", "without an address yet (taken from the document when sent)");
    TAP_EQ_INT(s_get(ms, "CRN-000001", &d), 0, "the credit note has one");
    TAP_EQ_INT(d.credit_note, 1, "marked as a credit note");
    mail_counts_t c;
    TAP_EQ_INT(s_counts(ms, &c), 0, "counts");
    TAP_EQ_INT(c.pending, 3, "three PENDING");
    TAP_EQ_INT(c.ignored, 1, "one event of another kind ignored, and counted");
    TAP_EQ_INT(c.quarantined, 3, "three unreadable events quarantined, and counted");
    TAP_EQ_INT(s_get(ms, "INV-000003", &d), MDB_NOTFOUND,
               "no delivery for an event naming an invalid employer");

    /* The same batch again (a redelivery): nothing changes. */
    TAP_EQ_INT(s_apply(ms, &b, &res), 0, "the batch again");
    TAP_EQ_INT(res.duplicates, 7, "is all duplicates");
    s_counts(ms, &c);
    TAP_OK(c.pending == 3 && c.ignored == 1 && c.quarantined == 3, "and changes nothing");
    s_batch_free(&b);

    /* A second announcement of a document under a new seq leaves it be. */
    memset(&b, 0, sizeof b);
    pay__feed_batch__init(&b.batch);
    s_batch_add(&b, 8, s_doc_event("INV-000001", 0, "dhl", "other@dhl.example"));
    s_apply(ms, &b, &res);
    s_get(ms, "INV-000001", &d);
    TAP_OK(d.feed_seq == 1 && strcmp(d.email, "ap@dhl.example") == 0,
           "a repeated announcement keeps the first delivery");
    s_batch_free(&b);

    /* Claims come in time order; nothing is due twice. */
    mail_delivery_t a1, a2, a3, none;
    TAP_EQ_INT(s_claim(ms, &p, &a1), 0, "a first claim");
    TAP_EQ_INT(s_claim(ms, &p, &a2), 0, "a second claim");
    TAP_EQ_INT(s_claim(ms, &p, &a3), 0, "a third claim");
    TAP_OK(strcmp(a1.number, a2.number) && strcmp(a2.number, a3.number)
               && strcmp(a1.number, a3.number),
           "three different documents (%s %s %s)", a1.number, a2.number, a3.number);
    TAP_EQ_STR(a1.message_id, "CRN-000001@payroll.example.org",
               "the claim stores the Message-ID");
    TAP_EQ_INT(s_claim(ms, &p, &none), MDB_NOTFOUND, "nothing more is due now");
    s_get(ms, a1.number, &d);
    TAP_EQ_INT(d.attempts, 1, "the claim is stored");
    TAP_EQ_INT(d.next_try_at, s_now + 1000, "with its retry time");

    /* Outcomes. */
    s_now += 10;
    TAP_EQ_INT(s_record(ms, &p, "INV-000001", MAIL_ACCEPTED, "250 2.0.0 Ok: queued as A1", 1, &d),
               0, "record SENT");
    TAP_EQ_INT(d.state, MAIL_SENT, "INV-000001 SENT");
    TAP_EQ_INT(d.ubl_attached, 1, "with its UBL");
    s_get(ms, "INV-000001", &d);
    TAP_EQ_STR(d.server_answer, "250 2.0.0 Ok: queued as A1", "the relay's answer is stored");
    TAP_EQ_INT(s_record(ms, &p, "INV-000002", MAIL_TRANSIENT, "connection refused", 0, &d), 0,
               "record a failed try");
    TAP_OK(d.state == MAIL_PENDING && d.tries == 1, "INV-000002 PENDING after one failed try");
    TAP_EQ_INT(s_record(ms, &p, "CRN-000001", MAIL_PERMANENT, "550 no such user", 0, &d), 0,
               "record a refusal");
    TAP_EQ_INT(d.state, MAIL_FAILED, "CRN-000001 FAILED");
    TAP_EQ_INT(s_record(ms, &p, "INV-000009", MAIL_ACCEPTED, "250", 0, &d), MDB_NOTFOUND,
               "no record for an unknown document");
    TAP_EQ_INT(s_claim(ms, &p, &none), MDB_NOTFOUND, "the failed try waits for its back-off");
    s_now += 1000;
    TAP_EQ_INT(s_claim(ms, &p, &a1), 0, "then it is due");
    TAP_EQ_STR(a1.number, "INV-000002", "INV-000002 again");
    TAP_EQ_INT(a1.next_try_at, s_now + 2000, "the claim waits twice as long");

    /* Resends. */
    mail_resend_t what;
    TAP_EQ_INT(s_resend(ms, "INV-000001", "finance@dhl.example", &what), 0, "resend a SENT one");
    TAP_EQ_INT(what, MAIL_RESEND_QUEUED, "queued again");
    s_get(ms, "INV-000001", &d);
    TAP_OK(d.state == MAIL_PENDING && d.resends == 1 && strcmp(d.email, "finance@dhl.example") == 0,
           "PENDING, resend 1, to the new address");
    TAP_EQ_INT(s_resend(ms, "INV-000001", "not an address", &what), 0, "a bad --to");
    TAP_EQ_INT(what, MAIL_RESEND_BAD_ADDRESS, "is refused");
    TAP_EQ_INT(s_resend(ms, "INV-000404", NULL, &what), MDB_NOTFOUND, "no such delivery");
    TAP_EQ_INT(s_claim(ms, &p, &a2), 0, "the resend is due at once");
    TAP_EQ_STR(a2.message_id, "INV-000001.r1@payroll.example.org", "under a new Message-ID");
    s_counts(ms, &c);
    TAP_OK(c.pending == 2 && c.sent == 0 && c.failed == 1, "2 PENDING, 1 FAILED");

    /* Everything survives a reopen. */
    mail_store_destroy(&ms);
    TAP_OK(ms == NULL, "closed");
    ms = mail_store_open(dir, 0);
    TAP_OK(ms != NULL, "reopened");
    if (ms) {
        mail_store_set_clock(ms, s_clock);
        s_counts(ms, &c);
        TAP_OK(c.pending == 2 && c.failed == 1 && c.ignored == 1 && c.quarantined == 3,
               "the same counts after a reopen");
        s_get(ms, "CRN-000001", &d);
        TAP_EQ_STR(d.last_error, "550 no such user", "and the same reasons");
        MDB_txn *txn;
        uint64_t cursor = 0;
        store_t *st = mail_store_store(ms);
        if (store_read_begin(st, &txn) == 0) {
            feed_cursor_read(txn, store_dbi(st, MAIL_DB_CURSOR), MAIL_FEED_NAME, &cursor);
            mdb_txn_abort(txn);
        }
        TAP_EQ_INT(cursor, 8, "and the feed cursor");
        mail_store_destroy(&ms);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return tap_done();
}
