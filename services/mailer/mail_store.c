/* mail_store: see mail_store.h. */
#include "mail_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ident.h"
#include "invoice_feed.pb-c.h"
#include "log.h"
#include "server.h"

struct mail_store_t {
    store_t *store;
    MDB_dbi deliveries, due, quarantine, meta;
    mail_clock_fn *clock;
};

static const char *const s_db_names[] = {
    "deliveries", "due", FEED_QUARANTINE_DB, "meta", MAIL_DB_CURSOR, SERVER_REQUESTS_DB, NULL,
};

#define S_DUE_KEY_MAX (8 + MAIL_NUMBER_LEN)

static uint64_t s_real_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

mail_store_t *mail_store_open(const char *dir, size_t map_size)
{
    mail_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!(self->store = store_open(dir, s_db_names, map_size))) {
        free(self);
        return NULL;
    }
    self->deliveries = store_dbi(self->store, "deliveries");
    self->due = store_dbi(self->store, "due");
    self->quarantine = store_dbi(self->store, FEED_QUARANTINE_DB);
    self->meta = store_dbi(self->store, "meta");
    self->clock = s_real_clock;
    return self;
}

void mail_store_destroy(mail_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_destroy(&(*self_p)->store);
    free(*self_p);
    *self_p = NULL;
}

store_t *mail_store_store(mail_store_t *self)
{
    return self->store;
}

void mail_store_set_clock(mail_store_t *self, mail_clock_fn *fn)
{
    self->clock = fn ? fn : s_real_clock;
}

uint64_t mail_store_now(const mail_store_t *self)
{
    return self->clock();
}

/* ---- the record and its wire form ------------------------------------------ */

static void s_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

void mail_delivery_to_msg(const mail_delivery_t *d, Pay__Delivery *m)
{
    pay__delivery__init(m);
    m->number = (char *)d->number;
    m->employer = (char *)d->employer;
    m->email = (char *)d->email;
    m->period = (char *)d->period;
    m->server_answer = (char *)d->server_answer;
    m->last_error = (char *)d->last_error;
    m->message_id = (char *)d->message_id;
    m->note = (char *)d->note;
    m->has_credit_note = m->has_state = m->has_tries = m->has_attempts = m->has_resends = 1;
    m->has_queued_at = m->has_next_try_at = m->has_last_try_at = m->has_sent_at = 1;
    m->has_ubl_attached = m->has_feed_seq = 1;
    m->credit_note = d->credit_note != 0;
    m->state = (Pay__DeliveryState)d->state;
    m->tries = d->tries;
    m->attempts = d->attempts;
    m->resends = d->resends;
    m->queued_at = d->queued_at;
    m->next_try_at = d->next_try_at;
    m->last_try_at = d->last_try_at;
    m->sent_at = d->sent_at;
    m->ubl_attached = d->ubl_attached != 0;
    m->feed_seq = d->feed_seq;
}

static int s_from_msg(const Pay__Delivery *m, mail_delivery_t *d)
{
    memset(d, 0, sizeof *d);
    if (!m->number || !mail_number_valid(m->number) || (int)m->state < (int)MAIL_PENDING
        || (int)m->state > (int)MAIL_FAILED)
        return -1;
    s_copy(d->number, sizeof d->number, m->number);
    s_copy(d->employer, sizeof d->employer, m->employer);
    s_copy(d->email, sizeof d->email, m->email);
    s_copy(d->period, sizeof d->period, m->period);
    s_copy(d->server_answer, sizeof d->server_answer, m->server_answer);
    s_copy(d->last_error, sizeof d->last_error, m->last_error);
    s_copy(d->message_id, sizeof d->message_id, m->message_id);
    s_copy(d->note, sizeof d->note, m->note);
    d->credit_note = m->credit_note;
    d->state = (mail_state_t)m->state;
    d->tries = m->tries;
    d->attempts = m->attempts;
    d->resends = m->resends;
    d->queued_at = m->queued_at;
    d->next_try_at = m->next_try_at;
    d->last_try_at = m->last_try_at;
    d->sent_at = m->sent_at;
    d->ubl_attached = m->ubl_attached;
    d->feed_seq = m->feed_seq;
    return 0;
}

static int s_decode(const MDB_val *v, mail_delivery_t *out)
{
    Pay__Delivery *m = pay__delivery__unpack(NULL, v->mv_size, v->mv_data);
    if (!m)
        return MDB_CORRUPTED;
    int rc = s_from_msg(m, out) == 0 ? 0 : MDB_CORRUPTED;
    pay__delivery__free_unpacked(m, NULL);
    return rc;
}

int mail_store_get(mail_store_t *self, MDB_txn *txn, const char *number, mail_delivery_t *out)
{
    MDB_val v;
    int rc = store_get(txn, self->deliveries, number, strlen(number), &v);
    return rc ? rc : s_decode(&v, out);
}

static size_t s_due_key(uint8_t key[S_DUE_KEY_MAX], const mail_delivery_t *d)
{
    size_t n = strlen(d->number);
    store_be64_put(key, d->next_try_at);
    memcpy(key + 8, d->number, n);
    return 8 + n;
}

int mail_store_put(mail_store_t *self, MDB_txn *txn, const mail_delivery_t *d)
{
    mail_delivery_t old;
    uint8_t key[S_DUE_KEY_MAX];
    int rc = mail_store_get(self, txn, d->number, &old);
    if (rc == 0 && old.state == MAIL_PENDING) {
        MDB_val k = {s_due_key(key, &old), key};
        rc = mdb_del(txn, self->due, &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    } else if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    if (rc != 0)
        return rc;
    Pay__Delivery m;
    mail_delivery_to_msg(d, &m);
    MDB_val k = {strlen(d->number), (void *)d->number};
    MDB_val v = {pay__delivery__get_packed_size(&m), NULL};
    if ((rc = mdb_put(txn, self->deliveries, &k, &v, MDB_RESERVE)) != 0)
        return rc;
    pay__delivery__pack(&m, v.mv_data);
    if (d->state == MAIL_PENDING) {
        MDB_val dk = {s_due_key(key, d), key}, dv = {0, (void *)""};
        rc = mdb_put(txn, self->due, &dk, &dv, 0);
    }
    return rc;
}

int mail_store_next_due(mail_store_t *self, MDB_txn *txn, uint64_t now, mail_delivery_t *out)
{
    MDB_cursor *cur;
    MDB_val k, v;
    char number[MAIL_NUMBER_LEN];
    int rc = mdb_cursor_open(txn, self->due, &cur);
    if (rc != 0)
        return rc;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rc == 0) {
        if (k.mv_size < 9 || k.mv_size - 8 >= sizeof number) {
            rc = MDB_CORRUPTED;
        } else if (store_be64_get(k.mv_data) > now) {
            rc = MDB_NOTFOUND;
        } else {
            memcpy(number, (const uint8_t *)k.mv_data + 8, k.mv_size - 8);
            number[k.mv_size - 8] = '\0';
        }
    }
    mdb_cursor_close(cur);
    if (rc != 0)
        return rc;
    rc = mail_store_get(self, txn, number, out);
    /* The queue names only PENDING records (mail_store_put). */
    return rc == MDB_NOTFOUND || (rc == 0 && out->state != MAIL_PENDING) ? MDB_CORRUPTED : rc;
}

int mail_store_claim_next(mail_store_t *self, MDB_txn *txn, const mail_policy_t *p,
                          uint64_t now, mail_delivery_t *out)
{
    int rc = mail_store_next_due(self, txn, now, out);
    if (rc != 0)
        return rc;
    if (mail_delivery_claim(out, p, now) != 0)
        return EINVAL;
    return mail_store_put(self, txn, out);
}

int mail_store_record(mail_store_t *self, MDB_txn *txn, const mail_policy_t *p,
                      const char *number, const mail_try_t *t, uint64_t now,
                      mail_delivery_t *out)
{
    mail_delivery_t d;
    int rc = mail_store_get(self, txn, number, &d);
    if (rc != 0)
        return rc;
    int was_pending = d.state == MAIL_PENDING;
    mail_delivery_result(&d, p, t->outcome, t->text, t->email, now);
    if (was_pending && t->outcome == MAIL_ACCEPTED)
        d.ubl_attached = t->ubl ? 1 : 0;
    if (was_pending && t->note)
        s_copy(d.note, sizeof d.note, t->note);
    if (out)
        *out = d;
    return mail_store_put(self, txn, &d);
}

int mail_store_resend(mail_store_t *self, MDB_txn *txn, const char *number, const char *to,
                      uint64_t now, mail_resend_t *what, mail_delivery_t *out)
{
    int rc = mail_store_get(self, txn, number, out);
    if (rc != 0)
        return rc;
    mail_delivery_t d = *out;
    *what = mail_delivery_resend(&d, to, now);
    if (*what == MAIL_RESEND_BAD_ADDRESS)
        return 0;
    *out = d;
    return mail_store_put(self, txn, &d);
}

int mail_store_each(mail_store_t *self, MDB_txn *txn, mail_each_fn *fn, void *arg)
{
    MDB_cursor *cur;
    MDB_val k, v;
    mail_delivery_t d;
    int rc = mdb_cursor_open(txn, self->deliveries, &cur);
    if (rc != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if ((rc = s_decode(&v, &d)) != 0 || (rc = fn(&d, arg)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_count_one(const mail_delivery_t *d, void *arg)
{
    mail_counts_t *c = arg;
    if (d->state == MAIL_PENDING)
        c->pending++;
    else if (d->state == MAIL_SENT)
        c->sent++;
    else
        c->failed++;
    return 0;
}

static int s_meta_get(mail_store_t *self, MDB_txn *txn, const char *key, uint64_t *out)
{
    MDB_val v;
    *out = 0;
    int rc = store_get(txn, self->meta, key, strlen(key), &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc == 0 && v.mv_size != 8)
        return MDB_CORRUPTED;
    if (rc == 0)
        *out = store_be64_get(v.mv_data);
    return rc;
}

int mail_store_counts(mail_store_t *self, MDB_txn *txn, mail_counts_t *out)
{
    MDB_stat st;
    memset(out, 0, sizeof *out);
    int rc = mail_store_each(self, txn, s_count_one, out);
    if (rc == 0 && (rc = mdb_stat(txn, self->quarantine, &st)) == 0)
        out->quarantined = st.ms_entries;   /* feed_quarantine.h's entries */
    if (rc == 0)
        rc = s_meta_get(self, txn, "ignored", &out->ignored);
    return rc;
}

/* ---- the feed apply step ----------------------------------------------------- */

static int s_ignore(mail_store_t *self, MDB_txn *txn, uint64_t seq, int kind)
{
    uint64_t n;
    uint8_t v8[8];
    int rc = s_meta_get(self, txn, "ignored", &n);
    if (rc != 0)
        return rc;
    store_be64_put(v8, n + 1);
    log_debug("feed.ignore", "invoice feed event %llu (kind %d) is not for the mailer",
              (unsigned long long)seq, kind);
    return store_put(txn, self->meta, "ignored", 7, v8, 8, 0);
}

int mail_store_apply_event(MDB_txn *txn, uint64_t seq, const uint8_t *payload, size_t len,
                           void *arg, feed_refusal_t *why)
{
    mail_store_t *self = arg;
    mail_delivery_t d;
    char reason[160];
    int rc = 0;
    Pay__InvoiceEvent *ev = pay__invoice_event__unpack(NULL, len, payload);
    if (!ev)
        return feed_refuse(why, NULL, NULL, "the event does not decode as an InvoiceEvent");
    const Pay__DocumentSummary *s = NULL;
    int credit = 0;
    switch (ev->kind_case) {
    case PAY__INVOICE_EVENT__KIND_INVOICE:
        s = ev->invoice ? ev->invoice->document : NULL;
        break;
    case PAY__INVOICE_EVENT__KIND_CREDIT_NOTE:
        s = ev->credit_note ? ev->credit_note->document : NULL;
        credit = 1;
        break;
    case PAY__INVOICE_EVENT__KIND_EMPLOYER:
        /* Reference facts, for the hours service: not ours. */
        rc = s_ignore(self, txn, seq, (int)ev->kind_case);
        goto done;
    default:
        /* A kind this release does not know: never skipped, quarantined
         * (feed_quarantine.h) until an upgrade that knows it. */
        rc = feed_refuse(why, NULL, NULL, "an invoice event of a kind this release does not "
                         "know");
        goto done;
    }
    if (!s || !mail_number_valid(s->number)) {
        snprintf(reason, sizeof reason, "%s event without a valid document number (%.20s)",
                 credit ? "a credit note" : "an invoice", s && s->number ? s->number : "none");
        rc = feed_refuse(why, NULL, NULL, "%s", reason);
        goto done;
    }
    /* The producer checks employer ids with the same module (ident.h). */
    if (!s->employer || !ident_is_employer(s->employer)) {
        snprintf(reason, sizeof reason, "%s %s names no valid employer",
                 credit ? "credit note" : "invoice", s->number);
        rc = feed_refuse(why, NULL, NULL, "%s", reason);
        goto done;
    }
    rc = mail_store_get(self, txn, s->number, &d);
    if (rc == 0) {
        /* A document is announced once; a second event for it changes
         * nothing already queued or sent. */
        log_warn("feed.duplicate", "invoice feed event %llu announces %s again; kept the "
                 "delivery queued by event %llu", (unsigned long long)seq, s->number,
                 (unsigned long long)d.feed_seq);
        goto done;
    }
    if (rc != MDB_NOTFOUND)
        goto done;
    mail_delivery_new(&d, seq, s->number, s->employer, s->email, s->period, credit,
                      self->clock());
    rc = mail_store_put(self, txn, &d);
done:
    pay__invoice_event__free_unpacked(ev, NULL);
    return rc;
}
