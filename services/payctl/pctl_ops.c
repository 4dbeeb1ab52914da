/* pctl_ops: see pctl_ops.h. */
#include "backup.h"
#include "pctl_ops.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "civil.h"
#include "codec.h"
#include "hours.pb-c.h"
#include "invoicing.pb-c.h"
#include "pctl_conn.h"
#include "pctl_health.h"
#include "wages.pb-c.h"

const char *pctl_recon_status(int64_t captured, int64_t priced, int64_t billable_captured,
                              int64_t billable_invoiced_or_pending)
{
    return captured == priced && billable_captured == billable_invoiced_or_pending ? "OK"
                                                                                   : "MISMATCH";
}

/* The status fields every reply starts with (common.proto ReplyHeader),
 * read through the reply's own descriptor so one helper serves all three
 * services. */
static int s_reply_ok(const pctl_ctx_t *ctx, const pctl_conn_t *conn, ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *st = protobuf_c_message_descriptor_get_field(m->descriptor, 2);
    const ProtobufCFieldDescriptor *msg = protobuf_c_message_descriptor_get_field(m->descriptor, 3);
    if (!st || !msg)
        return 0;
    int status = *(const int *)((const char *)m + st->offset);
    if (status == PAY__STATUS__OK)
        return 1;
    const char *text = *(char *const *)((const char *)m + msg->offset);
    pctl_fail(ctx, "%s refused: %s: %s", pctl_conn_name(conn),
              codec_status_name((Pay__Status)status), text ? text : "");
    return 0;
}

/* Sends `req` and checks the reply's status. Returns the reply (OK) or NULL
 * after printing why. */
static ProtobufCMessage *s_ask(const pctl_ctx_t *ctx, pctl_conn_t *conn,
                               const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = NULL;
    if (pctl_conn_call(conn, req, d, &m) != 0)
        return NULL;
    if (!s_reply_ok(ctx, conn, m)) {
        codec_free(&m);
        return NULL;
    }
    return m;
}

/* ---- reconcile ---------------------------------------------------------------- */

typedef struct {
    char prison[8];
    int64_t wages_priced;
    int64_t inv_billable;       /* invoiced + pending */
    uint32_t quarantined;       /* feed events of the prison-week not applied */
} s_recon_t;

typedef struct {
    s_recon_t *rows;
    size_t n, cap;
} s_recon_set_t;

static s_recon_t *s_recon_get(s_recon_set_t *set, const char *prison)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->rows[i].prison, prison) == 0)
            return &set->rows[i];
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        s_recon_t *p = realloc(set->rows, cap * sizeof *p);
        if (!p)
            return NULL;
        set->rows = p;
        set->cap = cap;
    }
    s_recon_t *r = &set->rows[set->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->prison, sizeof r->prison, "%s", prison);
    return r;
}

static int s_recon_cmp(const void *a, const void *b)
{
    return strcmp(((const s_recon_t *)a)->prison, ((const s_recon_t *)b)->prison);
}

/* Every page of the wages service's reconciliation rows for the week. */
static int s_recon_wages(const pctl_ctx_t *ctx, pctl_conn_t *conn, const char *prison,
                         const char *week, s_recon_set_t *set)
{
    char token[512] = "";
    for (;;) {
        Pay__ReconciliationQuery q = PAY__RECONCILIATION_QUERY__INIT;
        Pay__WagesPage page = PAY__WAGES_PAGE__INIT;
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        q.prison = (char *)prison;
        q.week = (char *)week;
        page.token = token;
        page.has_size = 1;
        page.size = 1000;
        q.page = &page;
        req.body_case = PAY__WAGES_REQUEST__BODY_RECONCILIATION;
        req.reconciliation = &q;
        ProtobufCMessage *m = s_ask(ctx, conn, &req.base, &pay__wages_reply__descriptor);
        if (!m)
            return -1;
        Pay__WagesReply *r = (Pay__WagesReply *)m;
        int ok = 1, more = 0;
        if (r->body_case == PAY__WAGES_REPLY__BODY_RECONCILIATION) {
            for (size_t i = 0; ok && i < r->reconciliation->n_rows; i++) {
                const Pay__ReconciliationRow *row = r->reconciliation->rows[i];
                if (!row->prison || !row->week || strcmp(row->week, week) != 0)
                    continue;
                s_recon_t *x = s_recon_get(set, row->prison);
                if (!x) {
                    ok = 0;
                } else {
                    x->wages_priced += row->minutes_priced;
                    x->quarantined += row->quarantined;
                }
            }
        }
        if (ok && r->next_page && *r->next_page) {
            if (strlen(r->next_page) >= sizeof token || strcmp(r->next_page, token) == 0) {
                pctl_fail(ctx, "%s sent a bad page token", pctl_conn_name(conn));
                ok = 0;
            } else {
                snprintf(token, sizeof token, "%s", r->next_page);
                more = 1;
            }
        }
        codec_free(&m);
        if (!ok)
            return -1;
        if (!more)
            return 0;
    }
}

static int s_recon_invoicing(const pctl_ctx_t *ctx, pctl_conn_t *conn, const char *prison,
                             const char *week, s_recon_set_t *set)
{
    Pay__Reconcile q = PAY__RECONCILE__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    q.prison = (char *)prison;
    q.week = (char *)week;
    req.body_case = PAY__INVOICING_REQUEST__BODY_RECONCILE;
    req.reconcile = &q;
    ProtobufCMessage *m = s_ask(ctx, conn, &req.base, &pay__invoicing_reply__descriptor);
    if (!m)
        return -1;
    Pay__InvoicingReply *r = (Pay__InvoicingReply *)m;
    int ok = 1;
    for (size_t i = 0; ok && r->reconciliation && i < r->reconciliation->n_rows; i++) {
        const Pay__ReconRow *row = r->reconciliation->rows[i];
        if (!row->prison || !row->week || strcmp(row->week, week) != 0)
            continue;
        s_recon_t *x = s_recon_get(set, row->prison);
        if (!x) {
            ok = 0;
        } else {
            x->inv_billable += row->minutes_invoiced + row->minutes_pending;
            x->quarantined += row->quarantined;
        }
    }
    codec_free(&m);
    return ok ? 0 : -1;
}

/* Every prison the hours service knows. Built only when the schema has
 * HoursListPrisons (the macro below is protobuf-c's), so that payctl keeps
 * building against an hours schema without it: then only the prisons the
 * wages and invoicing services report are asked about. */
static int s_recon_hours_prisons(const pctl_ctx_t *ctx, pctl_conn_t *conn, s_recon_set_t *set)
{
#ifdef PAY__HOURS_LIST_PRISONS__INIT
    Pay__HoursListPrisons l = PAY__HOURS_LIST_PRISONS__INIT;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    req.body_case = PAY__HOURS_REQUEST__BODY_LIST_PRISONS;
    req.list_prisons = &l;
    ProtobufCMessage *m = s_ask(ctx, conn, &req.base, &pay__hours_reply__descriptor);
    if (!m)
        return -1;
    const Pay__HoursReply *r = (const Pay__HoursReply *)m;
    int ok = 1;
    for (size_t i = 0; ok && i < r->n_prisons; i++)
        ok = r->prisons[i] && s_recon_get(set, r->prisons[i]) != NULL;
    codec_free(&m);
    if (!ok)
        pctl_fail(ctx, "out of memory");
    return ok ? 0 : -1;
#else
    (void)ctx;
    (void)conn;
    (void)set;
    return 0;
#endif
}

int pctl_reconcile(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"prison", "P", "one prison (default: every prison the hours service knows)", NULL},
        {"week", "W", "ISO week, e.g. 2026-W48", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    const char *prison = pctl_opt(opts, "prison");
    if (!pctl_opt(opts, "week") || !*pctl_opt(opts, "week"))
        return pctl_usage_error(ctx, "--week is required");
    /* The services answer with the canonical spelling; compare with that. */
    civil_week_t w;
    char week[CIVIL_WEEK_LEN];
    if (civil_parse_week(pctl_opt(opts, "week"), &w) != 0)
        return pctl_usage_error(ctx, "--week \"%s\" is not an ISO week like 2026-W48",
                                pctl_opt(opts, "week"));
    civil_format_week(w, week);
    if (prison && !*prison)
        return pctl_usage_error(ctx, "--prison needs a prison code");

    int code = PCTL_EXIT_FAIL, mismatches = 0;
    s_recon_set_t set = {0};
    out_table_t *t = NULL;
    pctl_conn_t *hours = NULL, *wages = NULL, *inv = NULL;
    if (!(hours = pctl_conn_new(ctx, PCTL_SVC_HOURS)) ||
        !(wages = pctl_conn_new(ctx, PCTL_SVC_WAGES)) ||
        !(inv = pctl_conn_new(ctx, PCTL_SVC_INVOICING)))
        goto done;
    if (prison && !s_recon_get(&set, prison)) {
        pctl_fail(ctx, "out of memory");
        goto done;
    }
    if (!prison && s_recon_hours_prisons(ctx, hours, &set) != 0)
        goto done;
    if (s_recon_wages(ctx, wages, prison, week, &set) != 0 ||
        s_recon_invoicing(ctx, inv, prison, week, &set) != 0)
        goto done;
    if (set.n > 1)
        qsort(set.rows, set.n, sizeof *set.rows, s_recon_cmp);

    static const char *const cols[] = {
        "prison", "week", "minutes_captured", "minutes_priced", "billable_minutes_captured",
        "billable_minutes_invoiced_or_pending", "status"};
    if (!(t = out_table_new(cols, 7))) {
        pctl_fail(ctx, "out of memory");
        goto done;
    }
    for (size_t c = 2; c <= 5; c++)
        out_table_set_numeric(t, c, 1);
    for (size_t i = 0; i < set.n; i++) {
        s_recon_t *x = &set.rows[i];
        Pay__HoursGetWeekTotals q = PAY__HOURS_GET_WEEK_TOTALS__INIT;
        Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
        q.prison = x->prison;
        q.week = week;
        req.body_case = PAY__HOURS_REQUEST__BODY_GET_WEEK_TOTALS;
        req.get_week_totals = &q;
        ProtobufCMessage *m = s_ask(ctx, hours, &req.base, &pay__hours_reply__descriptor);
        if (!m)
            goto done;
        const Pay__HoursWeekTotals *wt = ((Pay__HoursReply *)m)->totals;
        if (!wt) {
            codec_free(&m);
            pctl_fail(ctx, "%s sent no totals for %s %s", pctl_conn_name(hours), x->prison, week);
            goto done;
        }
        int64_t captured = (int64_t)wt->minutes, billable = (int64_t)wt->billable_minutes;
        codec_free(&m);
        char a[24], b[24], c[24], d[24];
        snprintf(a, sizeof a, "%" PRId64, captured);
        snprintf(b, sizeof b, "%" PRId64, x->wages_priced);
        snprintf(c, sizeof c, "%" PRId64, billable);
        snprintf(d, sizeof d, "%" PRId64, x->inv_billable);
        /* An event a consumer could not apply (quarantined) is an alarm
         * whatever the sums say. */
        const char *st = x->quarantined
                             ? "MISMATCH"
                             : pctl_recon_status(captured, x->wages_priced, billable,
                                                 x->inv_billable);
        mismatches += strcmp(st, "OK") != 0;
        const char *row[] = {x->prison, week, a, b, c, d, st};
        if (out_table_add_row(t, row) != 0) {
            pctl_fail(ctx, "out of memory");
            goto done;
        }
    }
    if (out_table_write(t, ctx->format, stdout) != 0) {
        pctl_fail(ctx, "cannot write the output");
        goto done;
    }
    if (set.n == 0)
        fprintf(stderr, "payctl: %s: neither wages nor invoicing reports any prison for %s\n",
                ctx->path, week);
    if (mismatches) {
        pctl_fail(ctx, "%d prison-week%s do not reconcile", mismatches,
                  mismatches == 1 ? "" : "s");
        goto done;
    }
    code = PCTL_EXIT_OK;
done:
    out_table_destroy(&t);
    free(set.rows);
    pctl_conn_destroy(&hours);
    pctl_conn_destroy(&wages);
    pctl_conn_destroy(&inv);
    return code;
}

/* ---- status ---------------------------------------------------------------------- */

/* One row of the status table: a service's side of one feed. */
static int s_status_row(pctl_ctx_t *ctx, out_table_t *t, pctl_service_t svc,
                        const pctl_health_t *h, pctl_feed_t feed, int producer,
                        const pctl_health_t *from)
{
    char feed_text[32], cursor[24] = "", head[24] = "", lag[24] = "", q[24] = "";
    snprintf(feed_text, sizeof feed_text, "%s (%s)", pctl_feed_name(feed),
             producer ? "producer" : "consumer");
    if (h->up && producer && h->has_head)
        snprintf(head, sizeof head, "%" PRIu64, h->head);
    if (h->up && !producer) {
        /* The head a consumer is measured against is the producer's own,
         * when it answers; else what the consumer last heard of it. */
        uint64_t hd = from->up && from->has_head ? from->head : h->seen_head;
        if (h->has_cursor) {
            snprintf(cursor, sizeof cursor, "%" PRIu64, h->cursor);
            snprintf(lag, sizeof lag, "%" PRIu64, hd > h->cursor ? hd - h->cursor : 0);
        }
        snprintf(head, sizeof head, "%" PRIu64, hd);
        snprintf(q, sizeof q, "%" PRIu64, h->quarantined);
    }
    const char *row[] = {pctl_service_name(svc), ctx->cfg.endpoint[svc].value,
                         h->up ? "up" : "down", feed_text, cursor, head, lag, q,
                         h->up ? h->detail : NULL};
    return out_table_add_row(t, row);
}

int pctl_status(pctl_ctx_t *ctx, int argc, char **argv)
{
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, NULL, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    pctl_health_t h[PCTL_SVC_COUNT];
    for (int s = 0; s < PCTL_SVC_COUNT; s++)
        pctl_health_get(ctx, (pctl_service_t)s, 0, &h[s]);
    const pctl_health_t *producer_of[PCTL_FEED_COUNT] = {&h[PCTL_SVC_HOURS],
                                                         &h[PCTL_SVC_INVOICING]};
    static const char *const cols[] = {"service", "endpoint", "state", "feed", "cursor",
                                       "head", "lag", "quarantined", "detail"};
    out_table_t *t = out_table_new(cols, 9);
    if (!t)
        return pctl_fail(ctx, "out of memory");
    for (size_t c = 4; c <= 7; c++)
        out_table_set_numeric(t, c, 1);
    /* Each service's feeds: what it produces first, then what it consumes. */
    int down = 0, ok = 1;
    uint64_t quarantined = 0;
    for (int s = 0; s < PCTL_SVC_COUNT; s++) {
        const pctl_health_t *x = &h[s];
        int produces = s == PCTL_SVC_HOURS ? PCTL_FEED_HOURS
                       : s == PCTL_SVC_INVOICING ? PCTL_FEED_INVOICES : -1;
        int consumes = s == PCTL_SVC_HOURS ? PCTL_FEED_INVOICES : PCTL_FEED_HOURS;
        if (produces >= 0)
            ok = ok && s_status_row(ctx, t, (pctl_service_t)s, x, (pctl_feed_t)produces, 1,
                                    NULL) == 0;
        ok = ok && s_status_row(ctx, t, (pctl_service_t)s, x, (pctl_feed_t)consumes, 0,
                                producer_of[consumes]) == 0;
        down += !x->up;
        quarantined += x->up ? x->quarantined : 0;
    }
    ok = ok && out_table_write(t, ctx->format, stdout) == 0;
    out_table_destroy(&t);
    if (!ok)
        return pctl_fail(ctx, "cannot write the output");
    if (quarantined)
        fprintf(stderr, "payctl: %s: %" PRIu64 " feed event%s could not be applied and %s "
                "quarantined: see 'payctl feed quarantine list'\n", ctx->path, quarantined,
                quarantined == 1 ? "" : "s", quarantined == 1 ? "is" : "are");
    if (down)
        return pctl_fail(ctx, "%d service%s down", down, down == 1 ? " is" : "s are");
    return PCTL_EXIT_OK;
}

/* ---- health (the orchestrator's probe) -------------------------------------------- */

#define S_HEALTH_TIMEOUT_MS "1000"

int pctl_health(pctl_ctx_t *ctx, int argc, char **argv)
{
    const char *pos[1] = {NULL};
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, NULL, pos, 0, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    const char *name = npos ? pos[0] : getenv("PAY_SERVICE");
    if (!name || !*name)
        return pctl_usage_error(ctx, "name the service (hours, wages or invoicing), or set "
                                "PAY_SERVICE");
    int s = -1;
    for (int i = 0; i < PCTL_SVC_COUNT; i++)
        if (strcmp(name, pctl_service_name((pctl_service_t)i)) == 0)
            s = i;
    if (s < 0)
        return pctl_usage_error(ctx, "unknown service \"%s\": hours, wages or invoicing", name);
    /* A probe beside the service has the service's own key pair (allowed
     * with role service, which may ask for health): use it when no key was
     * configured and payctl's default key is not there. */
    pctl_config_t *cfg = &ctx->cfg;
    if (cfg->key_file.source == PCTL_SRC_DEFAULT && access(cfg->key_file.value, R_OK) != 0) {
        char own[sizeof cfg->key_file.value + 32];
        if (snprintf(own, sizeof own, "%s/%s.key", cfg->keys_dir.value, name) >=
            (int)sizeof cfg->key_file.value)
            return pctl_fail(ctx, "the keys folder name %s is too long", cfg->keys_dir.value);
        memcpy(cfg->key_file.value, own, strlen(own) + 1);
    }
    if (cfg->timeout_ms.source == PCTL_SRC_DEFAULT)
        snprintf(cfg->timeout_ms.value, sizeof cfg->timeout_ms.value, "%s", S_HEALTH_TIMEOUT_MS);
    pctl_health_t h;
    pctl_health_get(ctx, (pctl_service_t)s, 0, &h);
    if (!h.up)
        return pctl_fail(ctx, "%s at %s is not healthy", name, cfg->endpoint[s].value);
    printf("%s: up (%s)\n", name, h.detail[0] ? h.detail : cfg->endpoint[s].value);
    return PCTL_EXIT_OK;
}

/* ---- backup ----------------------------------------------------------------------- */

#define S_BACKUP_TIMEOUT_MS 120000

static ProtobufCMessage *s_backup_one(const pctl_ctx_t *ctx, pctl_conn_t *conn,
                                      pctl_service_t s, char *name)
{
    if (s == PCTL_SVC_HOURS) {
        Pay__HoursBackup b = PAY__HOURS_BACKUP__INIT;
        Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
        b.name = name;
        req.body_case = PAY__HOURS_REQUEST__BODY_BACKUP;
        req.backup = &b;
        return s_ask(ctx, conn, &req.base, &pay__hours_reply__descriptor);
    }
    if (s == PCTL_SVC_WAGES) {
        Pay__WagesBackup b = PAY__WAGES_BACKUP__INIT;
        Pay__WagesRequest req = PAY__WAGES_REQUEST__INIT;
        b.name = name;
        req.body_case = PAY__WAGES_REQUEST__BODY_BACKUP;
        req.backup = &b;
        return s_ask(ctx, conn, &req.base, &pay__wages_reply__descriptor);
    }
    Pay__InvoicingBackup b = PAY__INVOICING_BACKUP__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    b.name = name;
    req.body_case = PAY__INVOICING_REQUEST__BODY_BACKUP;
    req.backup = &b;
    return s_ask(ctx, conn, &req.base, &pay__invoicing_reply__descriptor);
}

int pctl_backup(pctl_ctx_t *ctx, int argc, char **argv)
{
    const char *pos[1];
    char err[BACKUP_ERR_LEN], name[BACKUP_NAME_MAX + 1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, NULL, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    /* The services check it too; checked here it fails before anything. */
    if (backup_name_check(pos[0], err) != 0)
        return pctl_usage_error(ctx, "NAME: %s", err + strlen("name: "));
    snprintf(name, sizeof name, "%s", pos[0]);
    /* A big store takes a while to copy. So a service is first asked for
     * its health with the usual timeout (a down service fails fast), and
     * then for the backup with a long one, unless --timeout-ms or
     * PAY_TIMEOUT_MS says otherwise; a resend after a timeout waits for
     * the same copy (backup.h). */
    pctl_ctx_t *slow = malloc(sizeof *slow);
    if (!slow)
        return pctl_fail(ctx, "out of memory");
    *slow = *ctx;
    if (slow->cfg.timeout_ms.source == PCTL_SRC_DEFAULT)
        snprintf(slow->cfg.timeout_ms.value, sizeof slow->cfg.timeout_ms.value, "%d",
                 S_BACKUP_TIMEOUT_MS);
    static const char *const cols[] = {"service", "name", "status", "message"};
    out_table_t *t = out_table_new(cols, 4);
    if (!t) {
        free(slow);
        return pctl_fail(ctx, "out of memory");
    }
    int failed = 0, ok = 1;
    /* Consumers before their producer: a copy of the hours store taken
     * after the wage and invoicing copies holds every event those applied,
     * so a restored set never has a consumer ahead of its feed's head. */
    static const pctl_service_t order[] = {PCTL_SVC_WAGES, PCTL_SVC_INVOICING,
                                           PCTL_SVC_HOURS};
    for (int oi = 0; oi < PCTL_SVC_COUNT; oi++) {
        int s = (int)order[oi];
        pctl_health_t h;
        pctl_conn_t *conn = NULL;
        pctl_health_get(ctx, (pctl_service_t)s, 0, &h);
        if (h.up)
            conn = pctl_conn_new(slow, (pctl_service_t)s);
        ProtobufCMessage *m = conn ? s_backup_one(ctx, conn, (pctl_service_t)s, name) : NULL;
        const char *msg = NULL;
        if (m) {
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field(m->descriptor, 3);
            msg = f ? *(char *const *)((const char *)m + f->offset) : NULL;
        }
        failed += !m;
        const char *row[] = {pctl_service_name((pctl_service_t)s), name,
                             m ? "OK" : "FAILED", m ? msg : "see the message above"};
        ok = ok && out_table_add_row(t, row) == 0;
        codec_free(&m);
        pctl_conn_destroy(&conn);
    }
    ok = ok && out_table_write(t, ctx->format, stdout) == 0;
    out_table_destroy(&t);
    free(slow);
    if (!ok)
        return pctl_fail(ctx, "cannot write the output");
    if (failed)
        return pctl_fail(ctx, "%d of %d backups failed", failed, PCTL_SVC_COUNT);
    return PCTL_EXIT_OK;
}
