/* pctl_health: see pctl_health.h. */
#include "pctl_health.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "codec.h"
#include "hours.pb-c.h"
#include "invoicing.pb-c.h"
#include "pctl_conn.h"
#include "wages.pb-c.h"

const char *pctl_feed_name(pctl_feed_t feed)
{
    return feed == PCTL_FEED_HOURS ? "hours" : "invoices";
}

static void s_hours(const Pay__HoursReply *r, pctl_health_t *h)
{
    const Pay__HoursHealth *x = r->health;
    h->up = x && x->ok;
    h->produces = PCTL_FEED_HOURS;
    h->consumes = PCTL_FEED_INVOICES;
    if (!x)
        return;
    h->has_head = x->has_outbox_head;
    h->head = x->outbox_head;
    h->has_cursor = x->has_invoice_cursor;
    h->cursor = x->invoice_cursor;
    h->seen_head = x->invoice_head;
    h->quarantined = x->quarantined;
    snprintf(h->detail, sizeof h->detail, "today %s; records %" PRIu64 "; outbox from %" PRIu64
             "%s", x->today ? x->today : "?", x->records, x->outbox_first ? x->outbox_first : 1,
             x->feed_pruned_refusals ? "; PRUNED SEQS ASKED FOR" : "");
}

static void s_wages(const Pay__WagesReply *w, pctl_health_t *h)
{
    const Pay__WagesHealthReply *x = w->body_case == PAY__WAGES_REPLY__BODY_HEALTH ? w->health
                                                                                     : NULL;
    h->up = 1;
    h->consumes = PCTL_FEED_HOURS;
    if (!x)
        return;
    h->has_cursor = x->has_cursor;
    h->cursor = x->cursor;
    h->seen_head = x->head_seq;
    h->quarantined = x->quarantined;
    snprintf(h->detail, sizeof h->detail, "ledger lines %" PRIu64 ", records %" PRIu64 "%s",
             x->ledger_lines, x->records,
             x->feed_pruned ? "; HOURS FEED PRUNED PAST OUR CURSOR" : "");
}

static void s_invoicing(const Pay__InvoicingReply *v, pctl_health_t *h)
{
    const Pay__HealthReply *x = v->health;
    h->up = 1;
    h->produces = PCTL_FEED_INVOICES;
    h->consumes = PCTL_FEED_HOURS;
    if (!x)
        return;
    h->has_cursor = x->has_feed_cursor;
    h->cursor = x->feed_cursor;
    h->seen_head = x->feed_head;
    h->has_head = x->has_outbox_head;
    h->head = x->outbox_head;
    h->quarantined = x->quarantined;
    snprintf(h->detail, sizeof h->detail, "documents %" PRIu64 "%s", x->documents,
             x->feed_pruned ? "; HOURS FEED PRUNED PAST OUR CURSOR" : "");
}

int pctl_health_get(pctl_ctx_t *ctx, pctl_service_t svc, int quiet, pctl_health_t *out)
{
    memset(out, 0, sizeof *out);
    out->produces = out->consumes = -1;
    int was_quiet = ctx->quiet;
    if (quiet)
        ctx->quiet = 1;
    pctl_conn_t *conn = pctl_conn_new(ctx, svc);
    ProtobufCMessage *m = NULL;
    int rc = -1;
    if (!conn)
        goto done;
    if (svc == PCTL_SVC_HOURS) {
        Pay__HoursGetHealth g = PAY__HOURS_GET_HEALTH__INIT;
        Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
        req.body_case = PAY__HOURS_REQUEST__BODY_GET_HEALTH;
        req.get_health = &g;
        if (pctl_conn_call(conn, &req.base, &pay__hours_reply__descriptor, &m) == 0)
            s_hours((Pay__HoursReply *)m, out);
    } else if (svc == PCTL_SVC_WAGES) {
        Pay__WagesHealth g = PAY__WAGES_HEALTH__INIT;
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        req.body_case = PAY__WAGES_REQUEST__BODY_HEALTH;
        req.health = &g;
        if (pctl_conn_call(conn, &req.base, &pay__wages_reply__descriptor, &m) == 0)
            s_wages((Pay__WagesReply *)m, out);
    } else {
        Pay__Health g = PAY__HEALTH__INIT;
        Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
        req.body_case = PAY__INVOICING_REQUEST__BODY_HEALTH;
        req.health = &g;
        if (pctl_conn_call(conn, &req.base, &pay__invoicing_reply__descriptor, &m) == 0)
            s_invoicing((Pay__InvoicingReply *)m, out);
    }
    /* A refusal (say, an employer key) is not health: not up. */
    if (m) {
        const ProtobufCFieldDescriptor *st =
            protobuf_c_message_descriptor_get_field(m->descriptor, 2);
        if (st && *(const int *)((const char *)m + st->offset) != PAY__STATUS__OK)
            out->up = 0;
    }
    rc = out->up ? 0 : -1;
done:
    codec_free(&m);
    pctl_conn_destroy(&conn);
    ctx->quiet = was_quiet;
    return rc;
}

int pctl_health_dependency(rows_kind_t kind, pctl_feed_t *feed, pctl_service_t *consumer)
{
    switch (kind) {
    case ROWS_CONTRACTS:
        *feed = PCTL_FEED_INVOICES;
        *consumer = PCTL_SVC_HOURS;
        return 0;
    case ROWS_BILLING_TERMS:
        *feed = PCTL_FEED_HOURS;
        *consumer = PCTL_SVC_INVOICING;
        return 0;
    case ROWS_PAY_RATES:
    case ROWS_OUTSIDE_WAGES:
    case ROWS_DEDUCTIONS:
        *feed = PCTL_FEED_HOURS;
        *consumer = PCTL_SVC_WAGES;
        return 0;
    default:
        return -1;
    }
}

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int pctl_health_wait_feed(pctl_ctx_t *ctx, pctl_feed_t feed, pctl_service_t consumer,
                          unsigned timeout_s)
{
    pctl_service_t producer = feed == PCTL_FEED_HOURS ? PCTL_SVC_HOURS : PCTL_SVC_INVOICING;
    pctl_health_t p, c;
    if (pctl_health_get(ctx, producer, 1, &p) != 0 || !p.has_head) {
        fprintf(stderr, "payctl: %s: cannot ask %s for the %s feed's head; importing without "
                "waiting (rows naming what it has not published yet will be refused)\n",
                ctx->path, pctl_service_name(producer), pctl_feed_name(feed));
        return 0;
    }
    int64_t deadline = clock_mono_ms() + (int64_t)timeout_s * 1000;
    int told = 0, tty = isatty(STDERR_FILENO);
    for (;;) {
        int up = pctl_health_get(ctx, consumer, 1, &c) == 0 && c.has_cursor;
        if (up && c.cursor >= p.head)
            break;
        if (!told) {
            fprintf(stderr, "payctl: waiting for %s to apply the %s feed up to event %" PRIu64
                    " before importing%s%s", pctl_service_name(consumer), pctl_feed_name(feed),
                    p.head, up ? "" : " (it is not answering yet)", tty ? "" : "\n");
            told = 1;
        } else if (tty) {
            fprintf(stderr, "\r\033[Kpayctl: waiting for %s: %s event %" PRIu64 " of %" PRIu64,
                    pctl_service_name(consumer), pctl_feed_name(feed), up ? c.cursor : 0,
                    p.head);
        }
        if (clock_mono_ms() >= deadline) {
            if (tty)
                fprintf(stderr, "\n");
            fprintf(stderr, "payctl: %s: %s did not apply the %s feed up to %" PRIu64
                    " within %u s (it is at %" PRIu64 "%s); nothing imported: try again "
                    "later, or with --wait SECONDS\n", ctx->path, pctl_service_name(consumer),
                    pctl_feed_name(feed), p.head, timeout_s, up ? c.cursor : 0,
                    up ? "" : ", not answering");
            return -1;
        }
        s_sleep_ms(200);
    }
    if (told)
        fprintf(stderr, "%spayctl: %s has caught up with the %s feed\n", tty ? "\r\033[K" : "",
                pctl_service_name(consumer), pctl_feed_name(feed));
    return 0;
}
