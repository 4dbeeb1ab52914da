/* pctl_feed: see pctl_feed.h. */
#include "pctl_feed.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "hours.pb-c.h"
#include "invoicing.pb-c.h"
#include "money.h"
#include "pctl_conn.h"
#include "wages.pb-c.h"

/* Asks one service; returns its QuarantineReply inside *reply_out (the
 * caller frees the reply with codec_free), or NULL after printing why. */
static const Pay__QuarantineReply *s_ask(pctl_ctx_t *ctx, pctl_service_t svc, int retry,
                                         uint64_t seq, ProtobufCMessage **reply_out)
{
    Pay__QuarantineList l = PAY__QUARANTINE_LIST__INIT;
    Pay__QuarantineRetry r = PAY__QUARANTINE_RETRY__INIT;
    r.has_seq = seq > 0;
    r.seq = seq;
    ProtobufCMessage *m = NULL;
    const Pay__QuarantineReply *q = NULL;
    pctl_conn_t *conn = pctl_conn_new(ctx, svc);
    if (!conn)
        return NULL;
    int rc = -1, status = 0;
    const char *message = NULL;
    if (svc == PCTL_SVC_HOURS) {
        Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
        req.body_case = retry ? PAY__HOURS_REQUEST__BODY_QUARANTINE_RETRY
                              : PAY__HOURS_REQUEST__BODY_QUARANTINE_LIST;
        req.quarantine_retry = &r;
        req.quarantine_list = &l;
        if ((rc = pctl_conn_call(conn, &req.base, &pay__hours_reply__descriptor, &m)) == 0) {
            const Pay__HoursReply *x = (const Pay__HoursReply *)m;
            status = x->status;
            message = x->message;
            q = x->quarantine;
        }
    } else if (svc == PCTL_SVC_WAGES) {
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        req.body_case = retry ? PAY__WAGES_REQUEST__BODY_QUARANTINE_RETRY
                              : PAY__WAGES_REQUEST__BODY_QUARANTINE_LIST;
        req.quarantine_retry = &r;
        req.quarantine_list = &l;
        if ((rc = pctl_conn_call(conn, &req.base, &pay__wages_reply__descriptor, &m)) == 0) {
            const Pay__WagesReply *x = (const Pay__WagesReply *)m;
            status = x->status;
            message = x->message;
            q = x->body_case == PAY__WAGES_REPLY__BODY_QUARANTINE ? x->quarantine : NULL;
        }
    } else {
        Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
        req.body_case = retry ? PAY__INVOICING_REQUEST__BODY_QUARANTINE_RETRY
                              : PAY__INVOICING_REQUEST__BODY_QUARANTINE_LIST;
        req.quarantine_retry = &r;
        req.quarantine_list = &l;
        if ((rc = pctl_conn_call(conn, &req.base, &pay__invoicing_reply__descriptor, &m)) == 0) {
            const Pay__InvoicingReply *x = (const Pay__InvoicingReply *)m;
            status = x->status;
            message = x->message;
            q = x->quarantine;
        }
    }
    if (rc == 0 && (status != PAY__STATUS__OK || !q)) {
        pctl_fail(ctx, "%s refused: %s: %s", pctl_conn_name(conn),
                  codec_status_name((Pay__Status)status), message ? message : "");
        q = NULL;
    }
    pctl_conn_destroy(&conn);
    if (!q)
        codec_free(&m);
    *reply_out = m;
    return q;
}

static int s_run(pctl_ctx_t *ctx, int argc, char **argv, int retry)
{
    pctl_opt_t opts[] = {
        {"service", "S", "hours, wages or invoicing (default: all three)", NULL},
        {"seq", "N", "retry: only the event of this seq (default: every one)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    int only = -1;
    const char *svc = pctl_opt(opts, "service");
    for (int s = 0; svc && s < PCTL_SVC_COUNT; s++)
        if (strcmp(svc, pctl_service_name((pctl_service_t)s)) == 0)
            only = s;
    if (svc && only < 0)
        return pctl_usage_error(ctx, "--service must be hours, wages or invoicing");
    uint64_t seq = 0;
    if (pctl_opt(opts, "seq")) {
        if (!retry)
            return pctl_usage_error(ctx, "--seq is for retry");
        if (parse_uint64(pctl_opt(opts, "seq"), UINT64_MAX, &seq) != 0 || seq == 0)
            return pctl_usage_error(ctx, "--seq takes a feed sequence number");
    }
    static const char *const cols[] = {"service", "feed", "seq", "prison", "week",
                                       "quarantined_at", "tries", "reason"};
    out_table_t *t = out_table_new(cols, 8);
    if (!t)
        return pctl_fail(ctx, "out of memory");
    out_table_set_numeric(t, 2, 1);
    out_table_set_numeric(t, 6, 1);
    int failed = 0, ok = 1;
    unsigned held = 0, applied = 0;
    for (int s = 0; s < PCTL_SVC_COUNT; s++) {
        if (only >= 0 && s != only)
            continue;
        ProtobufCMessage *m = NULL;
        const Pay__QuarantineReply *q = s_ask(ctx, (pctl_service_t)s, retry, seq, &m);
        if (!q) {
            failed++;
            continue;
        }
        applied += q->applied;
        for (size_t i = 0; ok && i < q->n_events; i++) {
            const Pay__QuarantinedEvent *e = q->events[i];
            char sq[24], at[32] = "", tries[16];
            snprintf(sq, sizeof sq, "%" PRIu64, e->seq);
            snprintf(tries, sizeof tries, "%u", e->tries);
            if (e->has_at) {
                time_t tt = (time_t)e->at;
                struct tm tm;
                if (gmtime_r(&tt, &tm))
                    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
            }
            const char *row[] = {pctl_service_name((pctl_service_t)s), e->feed, sq, e->prison,
                                 e->week, at, tries, e->reason};
            ok = out_table_add_row(t, row) == 0;
            held++;
        }
        codec_free(&m);
    }
    ok = ok && out_table_write(t, ctx->format, stdout) == 0;
    out_table_destroy(&t);
    if (!ok)
        return pctl_fail(ctx, "cannot write the output");
    if (retry)
        fprintf(stderr, "payctl: %s: %u event%s applied, %u still quarantined\n", ctx->path,
                applied, applied == 1 ? "" : "s", held);
    else if (!held && !failed)
        fprintf(stderr, "payctl: %s: nothing is quarantined\n", ctx->path);
    if (failed)
        return PCTL_EXIT_FAIL;
    return retry && held ? PCTL_EXIT_FAIL : PCTL_EXIT_OK;
}

int pctl_feed_quarantine_list(pctl_ctx_t *ctx, int argc, char **argv)
{
    return s_run(ctx, argc, argv, 0);
}

int pctl_feed_quarantine_retry(pctl_ctx_t *ctx, int argc, char **argv)
{
    return s_run(ctx, argc, argv, 1);
}
