/* pctl_mailer: see pctl_mailer.h. */
#include "pctl_mailer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "mailer.pb-c.h"
#include "pctl_conn.h"

/* Sends `req` to the mailer. Returns 0 with an OK *reply, or -1 after
 * printing why; the caller frees *reply either way. */
static int s_call(pctl_ctx_t *ctx, Pay__MailerRequest *req, Pay__MailerReply **reply)
{
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_MAILER);
    ProtobufCMessage *m = NULL;
    *reply = NULL;
    if (!conn)
        return -1;
    int rc = pctl_conn_call(conn, &req->base, &pay__mailer_reply__descriptor, &m);
    pctl_conn_destroy(&conn);
    if (rc != 0)
        return -1;
    *reply = (Pay__MailerReply *)m;
    if ((*reply)->status != PAY__STATUS__OK) {
        pctl_fail(ctx, "%s: %s", codec_status_name((*reply)->status),
                  (*reply)->message ? (*reply)->message : "");
        return -1;
    }
    return 0;
}

static void s_free(Pay__MailerReply **reply)
{
    ProtobufCMessage *m = *reply ? &(*reply)->base : NULL;
    codec_free(&m);
    *reply = NULL;
}

static const char *s_state(Pay__DeliveryState s)
{
    switch (s) {
    case PAY__DELIVERY_STATE__DELIVERY_PENDING: return "PENDING";
    case PAY__DELIVERY_STATE__DELIVERY_SENT: return "SENT";
    case PAY__DELIVERY_STATE__DELIVERY_FAILED: return "FAILED";
    default: return "?";
    }
}

/* Unix ms as "2026-11-23T10:15:02Z" (UTC); "" for 0. */
static void s_time(uint64_t ms, char out[32])
{
    out[0] = '\0';
    if (!ms)
        return;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *const s_cols[] = {"number", "kind", "employer", "to", "state", "tries",
                                     "attempts", "ubl", "message_id", "when", "detail"};
#define S_NCOLS (sizeof s_cols / sizeof *s_cols)

static int s_add(out_table_t *t, const Pay__Delivery *d)
{
    char tries[16], attempts[16], when[32];
    snprintf(tries, sizeof tries, "%" PRIu32, d->tries);
    snprintf(attempts, sizeof attempts, "%" PRIu32, d->attempts);
    const char *detail = NULL;
    switch (d->state) {
    case PAY__DELIVERY_STATE__DELIVERY_SENT:
        s_time(d->sent_at, when);
        detail = d->server_answer;
        break;
    case PAY__DELIVERY_STATE__DELIVERY_FAILED:
        s_time(d->last_try_at, when);
        detail = d->last_error;
        break;
    default:
        s_time(d->next_try_at, when);
        detail = d->last_error && *d->last_error ? d->last_error : "queued";
        break;
    }
    const char *row[S_NCOLS] = {
        d->number, d->credit_note ? "credit note" : "invoice", d->employer, d->email,
        s_state(d->state), tries, attempts,
        d->state == PAY__DELIVERY_STATE__DELIVERY_SENT ? (d->ubl_attached ? "yes" : "no") : "",
        d->message_id, when, detail};
    return out_table_add_row(t, row);
}

static int s_print(pctl_ctx_t *ctx, Pay__Delivery *const *ds, size_t n)
{
    out_table_t *t = out_table_new(s_cols, S_NCOLS);
    int ok = t != NULL;
    if (ok) {
        out_table_set_numeric(t, 5, 1);
        out_table_set_numeric(t, 6, 1);
    }
    for (size_t i = 0; ok && i < n; i++)
        ok = s_add(t, ds[i]) == 0;
    ok = ok && out_table_write(t, ctx->format, stdout) == 0;
    out_table_destroy(&t);
    return ok ? PCTL_EXIT_OK : pctl_fail(ctx, "cannot write the output");
}

int pctl_mailer_deliveries(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"state", "S", "only PENDING, SENT or FAILED deliveries", NULL},
        {"employer", "E", "only this employer's documents", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    Pay__ListDeliveries l = PAY__LIST_DELIVERIES__INIT;
    Pay__MailerRequest req = PAY__MAILER_REQUEST__INIT;
    l.state = (char *)pctl_opt(opts, "state");
    l.employer = (char *)pctl_opt(opts, "employer");
    req.body_case = PAY__MAILER_REQUEST__BODY_LIST;
    req.list = &l;
    Pay__MailerReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0) {
        code = reply->deliveries
                   ? s_print(ctx, reply->deliveries->deliveries, reply->deliveries->n_deliveries)
                   : s_print(ctx, NULL, 0);
        if (code == PCTL_EXIT_OK && ctx->format == OUT_TABLE) {
            size_t n = reply->deliveries ? reply->deliveries->n_deliveries : 0, sent = 0,
                   failed = 0;
            for (size_t i = 0; i < n; i++) {
                Pay__DeliveryState s = reply->deliveries->deliveries[i]->state;
                sent += s == PAY__DELIVERY_STATE__DELIVERY_SENT;
                failed += s == PAY__DELIVERY_STATE__DELIVERY_FAILED;
            }
            fprintf(stderr, "payctl: %s: %zu deliveries: %zu sent, %zu pending, %zu failed\n",
                    ctx->path, n, sent, n - sent - failed, failed);
        }
    }
    s_free(&reply);
    return code;
}

int pctl_mailer_resend(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"to", "ADDRESS", "send it to this address instead (local@domain)", NULL},
        {"failed", NULL, "every FAILED delivery, instead of one NUMBER", NULL},
        {0},
    };
    const char *pos[1] = {NULL};
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    const char *to = pctl_opt(opts, "to");
    int failed = pctl_opt(opts, "failed") != NULL;
    if (to && !*to)
        return pctl_usage_error(ctx, "--to needs an address");
    if (failed ? (npos != 0 || to) : npos != 1)
        return pctl_usage_error(ctx, "give one NUMBER, or --failed alone");
    Pay__Resend r = PAY__RESEND__INIT;
    Pay__MailerRequest req = PAY__MAILER_REQUEST__INIT;
    r.number = (char *)pos[0];
    r.to = (char *)to;
    r.has_all_failed = r.all_failed = failed;
    req.body_case = PAY__MAILER_REQUEST__BODY_RESEND;
    req.resend = &r;
    Pay__MailerReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0) {
        Pay__Delivery *d = reply->delivery;
        if (failed)
            code = reply->deliveries ? s_print(ctx, reply->deliveries->deliveries,
                                               reply->deliveries->n_deliveries)
                                     : s_print(ctx, NULL, 0);
        else
            code = d ? s_print(ctx, &d, 1) : pctl_fail(ctx, "the service sent no delivery");
        if (code == PCTL_EXIT_OK)
            fprintf(stderr, "payctl: %s: %s%s%s\n", ctx->path, failed ? "" : pos[0],
                    failed ? "" : ": ", reply->message ? reply->message : "queued");
    }
    s_free(&reply);
    return code;
}
