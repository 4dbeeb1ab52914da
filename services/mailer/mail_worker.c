/* mail_worker: see mail_worker.h. */
#include "mail_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "client.h"
#include "codec.h"
#include "invoicing.pb-c.h"
#include "log.h"
#include "mail_mime.h"

struct mail_worker_t {
    mail_worker_cfg_t cfg;          /* a copy; smtp.stop points at `stop` */
    atomic_int stop;
    pthread_t thread;
    int started;
    void *pair;                     /* the loop's end */
    char endpoint[64];
    mail_job_t *inside;             /* submitted, not yet back */
    char current[MAIL_NUMBER_LEN];
};

/* ---- one job ------------------------------------------------------------------ */

static void s_printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
            *s = '?';
}

static void s_set(mail_job_t *job, mail_outcome_t outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_set(mail_job_t *job, mail_outcome_t outcome, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->text, sizeof job->text, fmt, ap);
    va_end(ap);
    s_printable(job->text);
    job->outcome = outcome;
}

/* GetDocument NUMBER in `fmt`. Returns the reply (any status; the caller
 * frees it), or NULL if invoicing did not answer. */
static Pay__InvoicingReply *s_fetch(client_t *client, const char *number,
                                    Pay__DocumentFormat fmt)
{
    Pay__GetDocument g = PAY__GET_DOCUMENT__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    g.number = (char *)number;
    g.has_format = 1;
    g.format = fmt;
    req.body_case = PAY__INVOICING_REQUEST__BODY_GET;
    req.get = &g;
    if (client_call(client, &req.base, &pay__invoicing_reply__descriptor, &m) != 0)
        return NULL;
    return (Pay__InvoicingReply *)m;
}

static int s_passing(Pay__Status st)
{
    return st == PAY__STATUS__UNAVAILABLE || st == PAY__STATUS__INTERNAL;
}

static const char *s_msg(const Pay__InvoicingReply *r)
{
    return r->message ? r->message : "";
}

static void s_free(Pay__InvoicingReply **r)
{
    ProtobufCMessage *m = *r ? &(*r)->base : NULL;
    codec_free(&m);
    *r = NULL;
}

void mail_worker_run_job(const mail_worker_cfg_t *cfg, void *invoicing_client, mail_job_t *job)
{
    client_t *client = invoicing_client;
    Pay__InvoicingReply *pdf = NULL, *ubl = NULL;
    uint8_t *msg = NULL;
    size_t len = 0;
    char pdf_name[MAIL_NUMBER_LEN + 8], ubl_name[MAIL_NUMBER_LEN + 8];
    char subject[MAIL_SUBJECT_LEN], body[MAIL_BODY_LEN], err[MAIL_MIME_ERR_LEN];
    job->ubl = 0;
    job->has_note = 0;
    job->note[0] = job->email_used[0] = '\0';
    job->bytes = 0;

    pdf = s_fetch(client, job->number, PAY__DOCUMENT_FORMAT__PDF);
    if (!pdf) {
        s_set(job, MAIL_DEFERRED, "invoicing at %s did not answer", cfg->invoicing_endpoint);
        goto done;
    }
    if (pdf->status != PAY__STATUS__OK || !pdf->document || !pdf->document->has_content
        || !pdf->document->info || !pdf->document->info->summary) {
        s_set(job, s_passing(pdf->status) ? MAIL_DEFERRED : MAIL_TRANSIENT,
              "invoicing did not give the PDF: %s: %s", codec_status_name(pdf->status),
              s_msg(pdf));
        goto done;
    }
    const Pay__DocumentSummary *sum = pdf->document->info->summary;
    ubl = s_fetch(client, job->number, PAY__DOCUMENT_FORMAT__UBL);
    if (!ubl) {
        s_set(job, MAIL_DEFERRED, "invoicing at %s did not answer (UBL)",
              cfg->invoicing_endpoint);
        goto done;
    }
    if (s_passing(ubl->status)) {
        s_set(job, MAIL_DEFERRED, "invoicing did not give the UBL: %s: %s",
              codec_status_name(ubl->status), s_msg(ubl));
        goto done;
    }
    int with_ubl = ubl->status == PAY__STATUS__OK && ubl->document && ubl->document->has_content;
    job->has_note = 1;
    if (!with_ubl) {
        snprintf(job->note, sizeof job->note, "no UBL: %s: %s", codec_status_name(ubl->status),
                 s_msg(ubl));
        s_printable(job->note);
    }

    const char *to = job->email[0] ? job->email : sum->email;
    if (!to || !mail_address_valid(to)) {
        s_set(job, MAIL_PERMANENT,
              "no valid invoice e-mail for employer %.40s ('%.80s'): correct it and resend "
              "with --to", sum->employer ? sum->employer : "?", to ? to : "");
        goto done;
    }
    snprintf(job->email_used, sizeof job->email_used, "%s", to);

    mail_doc_text_t dt = {
        .number = job->number,
        .credit_note = pdf->document->info->credit_note,
        .employer = sum->employer,
        .period = sum->period,
        .issue_date = sum->issue_date,
        .tax_point = sum->tax_point,
        .due_date = sum->due_date,
        .net = sum->net_pence,
        .vat = sum->vat_pence,
        .total = sum->total_pence,
        .supplier = cfg->from_name,
        .ubl = with_ubl,
        .message_id = job->message_id,
    };
    mail_mime_text(&dt, subject, body);
    snprintf(pdf_name, sizeof pdf_name, "%s.pdf", job->number);
    snprintf(ubl_name, sizeof ubl_name, "%s.xml", job->number);
    mail_attachment_t att[2] = {
        {pdf_name, "application/pdf", pdf->document->content.data, pdf->document->content.len},
        {ubl_name, "application/xml", with_ubl ? ubl->document->content.data : NULL,
         with_ubl ? ubl->document->content.len : 0},
    };
    mail_message_t m = {
        .from_name = cfg->from_name,
        .from_addr = cfg->from_addr,
        .to_addr = to,
        .subject = subject,
        .message_id = job->message_id,
        .document = job->number,
        .date = (int64_t)time(NULL),
        .body = body,
        .attachments = att,
        .n_attachments = with_ubl ? 2 : 1,
    };
    if (mail_mime_build(&m, &msg, &len, err) != 0) {
        s_set(job, MAIL_PERMANENT, "cannot build the message: %s", err);
        goto done;
    }
    job->bytes = len;
    job->ubl = with_ubl;
    mail_smtp_result_t res;
    mail_smtp_send(&cfg->smtp, to, msg, len, &res);
    s_set(job, res.outcome, "%s", res.text);
done:
    free(msg);
    s_free(&pdf);
    s_free(&ubl);
}

/* ---- the thread ----------------------------------------------------------------- */

static int s_send_ptr(void *sock, void *p)
{
    return zmq_send(sock, &p, sizeof p, 0) == (int)sizeof p ? 0 : -1;
}

/* Receives a pointer frame; returns 1 with *p set, 0 on timeout, -1. */
static int s_recv_ptr(void *sock, void **p, int flags)
{
    int n = zmq_recv(sock, p, sizeof *p, flags);
    if (n < 0)
        return errno == EAGAIN ? 0 : -1;
    return n == (int)sizeof *p ? 1 : -1;
}

static void *s_thread(void *arg)
{
    mail_worker_t *w = arg;
    void *sock = zmq_socket(w->cfg.zmq_ctx, ZMQ_PAIR);
    client_t *client = NULL;
    int linger = 0;
    if (!sock || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_connect(sock, w->endpoint) != 0) {
        log_error("mail.worker", "cannot connect the worker's socket: %s", zmq_strerror(errno));
        goto done;
    }
    client = client_new(w->cfg.zmq_ctx, w->cfg.invoicing_endpoint, w->cfg.keys,
                        w->cfg.invoicing_public,
                        w->cfg.fetch_timeout_ms > 0 ? w->cfg.fetch_timeout_ms : 5000, 1);
    if (!client)
        log_error("mail.worker", "cannot make a client of invoicing at %s",
                  w->cfg.invoicing_endpoint);
    for (;;) {
        void *p = NULL;
        int rc = s_recv_ptr(sock, &p, 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0 || !p)
            break;          /* the loop said stop (a NULL job), or the socket is gone */
        mail_job_t *job = p;
        if (client)
            mail_worker_run_job(&w->cfg, client, job);
        else
            s_set(job, MAIL_DEFERRED, "no client of invoicing");
        if (s_send_ptr(sock, job) != 0)
            break;
    }
    s_send_ptr(sock, NULL);     /* "stopped": the loop's end stops waiting */
done:
    client_destroy(&client);
    if (sock)
        zmq_close(sock);
    return NULL;
}

mail_worker_t *mail_worker_new(const mail_worker_cfg_t *cfg)
{
    mail_worker_t *self = calloc(1, sizeof *self);
    int linger = 0;
    if (!self)
        return NULL;
    self->cfg = *cfg;
    atomic_init(&self->stop, 0);
    self->cfg.smtp.stop = &self->stop;
    snprintf(self->endpoint, sizeof self->endpoint, "inproc://mail-worker-%p", (void *)self);
    self->pair = zmq_socket(cfg->zmq_ctx, ZMQ_PAIR);
    if (!self->pair || zmq_setsockopt(self->pair, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_bind(self->pair, self->endpoint) != 0) {
        log_error("mail.worker", "cannot bind %s: %s", self->endpoint, zmq_strerror(errno));
        goto fail;
    }
    if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        log_error("mail.worker", "cannot start the sending thread");
        goto fail;
    }
    self->started = 1;
    return self;
fail:
    mail_worker_destroy(&self, NULL);
    return NULL;
}

void mail_worker_destroy(mail_worker_t **self_p, mail_job_t **left)
{
    if (left)
        *left = NULL;
    if (!self_p || !*self_p)
        return;
    mail_worker_t *self = *self_p;
    if (self->started) {
        atomic_store(&self->stop, 1);
        s_send_ptr(self->pair, NULL);
        /* Wait for the job inside (aborted at its next progress check, or
         * as soon as invoicing answers) and the thread's "stopped". */
        for (;;) {
            void *p = NULL;
            zmq_pollitem_t it = {self->pair, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&it, 1, 120000) <= 0)
                break;
            if (s_recv_ptr(self->pair, &p, ZMQ_DONTWAIT) <= 0 || !p)
                break;
            if (p == self->inside)
                self->inside = NULL;
            if (left && !*left)
                *left = p;
            else
                free(p);
        }
        pthread_join(self->thread, NULL);
    }
    free(self->inside);
    if (self->pair)
        zmq_close(self->pair);
    free(self);
    *self_p = NULL;
}

void *mail_worker_socket(mail_worker_t *self)
{
    return self->pair;
}

int mail_worker_busy(const mail_worker_t *self)
{
    return self->inside != NULL;
}

const char *mail_worker_current(const mail_worker_t *self)
{
    return self->inside ? self->current : "";
}

int mail_worker_submit(mail_worker_t *self, mail_job_t **job_p)
{
    if (self->inside || !job_p || !*job_p)
        return -1;
    if (s_send_ptr(self->pair, *job_p) != 0)
        return -1;
    self->inside = *job_p;
    snprintf(self->current, sizeof self->current, "%s", (*job_p)->number);
    *job_p = NULL;
    return 0;
}

mail_job_t *mail_worker_take(mail_worker_t *self)
{
    void *p = NULL;
    if (s_recv_ptr(self->pair, &p, ZMQ_DONTWAIT) <= 0 || !p)
        return NULL;
    if (p == self->inside)
        self->inside = NULL;
    return p;
}
