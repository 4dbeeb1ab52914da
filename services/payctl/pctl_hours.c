/* pctl_hours: see pctl_hours.h. */
#include "pctl_hours.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "hours.pb-c.h"
#include "pctl_conn.h"

/* The name of an enum value as the schema spells it ("ATTENDED"). */
static const char *s_enum_name(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    return ev ? ev->name : "?";
}

/* Sends `req` to the hours service. Returns 0 with an OK *reply, or -1
 * after printing why (no answer, or "CODE: message" for a refusal); the
 * caller frees *reply either way (s_free accepts NULL). */
static int s_call(pctl_ctx_t *ctx, Pay__HoursRequest *req, Pay__HoursReply **reply)
{
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_HOURS);
    ProtobufCMessage *m = NULL;
    *reply = NULL;
    if (!conn)
        return -1;
    int rc = pctl_conn_call(conn, &req->base, &pay__hours_reply__descriptor, &m);
    pctl_conn_destroy(&conn);
    if (rc != 0)
        return -1;
    *reply = (Pay__HoursReply *)m;
    if ((*reply)->status != PAY__STATUS__OK) {
        pctl_fail(ctx, "%s: %s", codec_status_name((*reply)->status),
                  (*reply)->message ? (*reply)->message : "");
        return -1;
    }
    return 0;
}

static void s_free(Pay__HoursReply **reply)
{
    ProtobufCMessage *m = *reply ? &(*reply)->base : NULL;
    codec_free(&m);
    *reply = NULL;
}

static const char *const s_record_cols[] = {
    "record_id", "prisoner", "contract", "prison", "date", "session", "minutes", "units",
    "outcome", "paid_absence", "voided", "amendments", "recorded_by", "recorded_at"};
#define S_NCOLS (sizeof s_record_cols / sizeof *s_record_cols)

static int s_add_record(out_table_t *t, const Pay__HoursRecordView *v)
{
    static const Pay__RecordState empty = PAY__RECORD_STATE__INIT;
    const Pay__RecordState *r = v->state ? v->state : &empty;
    char minutes[16], units[24], amendments[16], at[32] = "";
    snprintf(minutes, sizeof minutes, "%u", r->minutes);
    snprintf(units, sizeof units, "%llu", (unsigned long long)r->units);
    snprintf(amendments, sizeof amendments, "%u", v->amendments);
    if (v->has_recorded_at) {
        time_t secs = (time_t)v->recorded_at;
        struct tm tm;
        if (gmtime_r(&secs, &tm))
            strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    const char *row[S_NCOLS] = {
        r->record_id, r->prisoner, r->contract, r->prison, r->date,
        r->has_session ? s_enum_name(&pay__session__descriptor, r->session) : NULL, minutes,
        units, r->has_outcome ? s_enum_name(&pay__outcome__descriptor, r->outcome) : NULL,
        r->paid_absence ? "yes" : "no", v->voided ? "yes" : "no", amendments, v->recorded_by,
        at[0] ? at : NULL};
    return out_table_add_row(t, row);
}

static out_table_t *s_record_table(void)
{
    out_table_t *t = out_table_new(s_record_cols, S_NCOLS);
    if (t) {
        out_table_set_numeric(t, 6, 1);
        out_table_set_numeric(t, 7, 1);
        out_table_set_numeric(t, 11, 1);
    }
    return t;
}

static int s_print_records(pctl_ctx_t *ctx, Pay__HoursRecordView *const *v, size_t n)
{
    out_table_t *t = s_record_table();
    int ok = t != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = s_add_record(t, v[i]) == 0;
    ok = ok && out_table_write(t, ctx->format, stdout) == 0;
    out_table_destroy(&t);
    return ok ? PCTL_EXIT_OK : pctl_fail(ctx, "cannot write the output");
}

/* "" from the command line stays an empty cell: the service decides. */
static char *s_cell(const char *v)
{
    return (char *)v;
}

int pctl_hours_submit(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"record-id", "ID", "the record's idempotency key, 1 to 64 characters", NULL},
        {"prisoner", "P", "prisoner number, e.g. A1234BC", NULL},
        {"contract", "C", "contract id, e.g. C-0042", NULL},
        {"date", "D", "YYYY-MM-DD", NULL},
        {"session", "S", "AM, PM or ED", NULL},
        {"minutes", "M", "credited minutes, 1 to 600", NULL},
        {"units", "U", "units produced (default 0)", NULL},
        {"outcome", "O", "ATTENDED, SICK, REST, OTHER, NOT_REQUIRED, CLASH, CANCELLED, "
                         "REFUSED or SUSPENDED", NULL},
        {"paid-absence", "yes|no", "for SICK, REST, OTHER (default no)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    const char *required[] = {"record-id", "prisoner", "contract", "date", "session", "minutes",
                              "outcome"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!pctl_opt(opts, required[i]))
            return pctl_usage_error(ctx, "--%s is required", required[i]);

    Pay__HoursRow row = PAY__HOURS_ROW__INIT;
    Pay__HoursRow *rows[1] = {&row};
    Pay__SubmitHours submit = PAY__SUBMIT_HOURS__INIT;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    row.record_id = s_cell(pctl_opt(opts, "record-id"));
    row.prisoner = s_cell(pctl_opt(opts, "prisoner"));
    row.contract = s_cell(pctl_opt(opts, "contract"));
    row.date = s_cell(pctl_opt(opts, "date"));
    row.session = s_cell(pctl_opt(opts, "session"));
    row.minutes = s_cell(pctl_opt(opts, "minutes"));
    row.units = s_cell(pctl_opt(opts, "units"));
    row.outcome = s_cell(pctl_opt(opts, "outcome"));
    row.paid_absence = s_cell(pctl_opt(opts, "paid-absence"));
    submit.n_records = 1;
    submit.records = rows;
    req.body_case = PAY__HOURS_REQUEST__BODY_SUBMIT_HOURS;
    req.submit_hours = &submit;

    Pay__HoursReply *reply = NULL;
    if (s_call(ctx, &req, &reply) != 0) {
        s_free(&reply);
        return PCTL_EXIT_FAIL;
    }
    int code = PCTL_EXIT_FAIL;
    if (reply->n_items < 1) {
        pctl_fail(ctx, "the service gave no answer for the record");
    } else {
        const Pay__ItemResult *it = reply->items[0];
        static const char *const cols[] = {"record_id", "status", "message"};
        const char *cells[] = {row.record_id, codec_status_name(it->status), it->message};
        out_table_t *t = out_table_new(cols, 3);
        if (t && out_table_add_row(t, cells) == 0 && out_table_write(t, ctx->format, stdout) == 0)
            code = it->status == PAY__STATUS__OK ? PCTL_EXIT_OK : PCTL_EXIT_FAIL;
        else
            pctl_fail(ctx, "cannot write the output");
        out_table_destroy(&t);
    }
    s_free(&reply);
    return code;
}

/* Prints the record that amend, void and get answer with. */
static int s_record_reply(pctl_ctx_t *ctx, Pay__HoursRequest *req)
{
    Pay__HoursReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, req, &reply) == 0) {
        if (reply->record)
            code = s_print_records(ctx, &reply->record, 1);
        else
            code = s_print_records(ctx, NULL, 0);
    }
    s_free(&reply);
    return code;
}

int pctl_hours_amend(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"minutes", "M", "new credited minutes", NULL},
        {"units", "U", "new units", NULL},
        {"outcome", "O", "new outcome", NULL},
        {"paid-absence", "yes|no", "new paid-absence flag", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    if (!pctl_opt(opts, "minutes") && !pctl_opt(opts, "units") && !pctl_opt(opts, "outcome") &&
        !pctl_opt(opts, "paid-absence"))
        return pctl_usage_error(ctx, "nothing to amend: give --minutes, --units, --outcome or "
                                "--paid-absence");
    /* The service takes an amendment as the record's new values, all four
     * of them; fields not given on the command line keep the record's
     * current value, read first. */
    Pay__HoursGetRecord g = PAY__HOURS_GET_RECORD__INIT;
    Pay__HoursRequest get = PAY__HOURS_REQUEST__INIT;
    Pay__HoursReply *current = NULL;
    g.record_id = s_cell(pos[0]);
    get.body_case = PAY__HOURS_REQUEST__BODY_GET_RECORD;
    get.get_record = &g;
    if (s_call(ctx, &get, &current) != 0 || !current->record || !current->record->state) {
        if (current && current->status == PAY__STATUS__OK)
            pctl_fail(ctx, "the service sent no record for %s", pos[0]);
        s_free(&current);
        return PCTL_EXIT_FAIL;
    }
    const Pay__RecordState *st = current->record->state;
    char minutes[16], units[24];
    snprintf(minutes, sizeof minutes, "%u", st->minutes);
    snprintf(units, sizeof units, "%llu", (unsigned long long)st->units);

    Pay__AmendHours amend = PAY__AMEND_HOURS__INIT;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    amend.record_id = s_cell(pos[0]);
    amend.minutes = s_cell(pctl_opt(opts, "minutes") ? pctl_opt(opts, "minutes") : minutes);
    amend.units = s_cell(pctl_opt(opts, "units") ? pctl_opt(opts, "units") : units);
    amend.outcome = s_cell(pctl_opt(opts, "outcome")
                               ? pctl_opt(opts, "outcome")
                               : s_enum_name(&pay__outcome__descriptor, st->outcome));
    amend.paid_absence = s_cell(pctl_opt(opts, "paid-absence") ? pctl_opt(opts, "paid-absence")
                                : st->paid_absence                ? "yes"
                                                                  : "no");
    req.body_case = PAY__HOURS_REQUEST__BODY_AMEND_HOURS;
    req.amend_hours = &amend;
    int code = s_record_reply(ctx, &req);
    s_free(&current);
    return code;
}

int pctl_hours_void(pctl_ctx_t *ctx, int argc, char **argv)
{
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, NULL, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    Pay__VoidHours v = PAY__VOID_HOURS__INIT;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    v.record_id = s_cell(pos[0]);
    req.body_case = PAY__HOURS_REQUEST__BODY_VOID_HOURS;
    req.void_hours = &v;
    return s_record_reply(ctx, &req);
}

int pctl_hours_list(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"record-id", "ID", "one record", NULL},
        {"prisoner", "P", "a prisoner's records in --week", NULL},
        {"week", "W", "ISO week, e.g. 2026-W48", NULL},
        {"contract", "C", "a contract's records from --from to --to", NULL},
        {"from", "D", "first date, inclusive", NULL},
        {"to", "D", "last date, inclusive", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    const char *id = pctl_opt(opts, "record-id"), *prisoner = pctl_opt(opts, "prisoner"),
               *contract = pctl_opt(opts, "contract");
    if (!!id + !!prisoner + !!contract != 1)
        return pctl_usage_error(ctx, "give one of --record-id, --prisoner (with --week) or "
                                "--contract (with --from and --to)");
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    if (id) {
        Pay__HoursGetRecord g = PAY__HOURS_GET_RECORD__INIT;
        g.record_id = s_cell(id);
        req.body_case = PAY__HOURS_REQUEST__BODY_GET_RECORD;
        req.get_record = &g;
        return s_record_reply(ctx, &req);
    }
    if (prisoner) {
        if (!pctl_opt(opts, "week"))
            return pctl_usage_error(ctx, "--prisoner needs --week");
        Pay__HoursListByPrisonerWeek l = PAY__HOURS_LIST_BY_PRISONER_WEEK__INIT;
        l.prisoner = s_cell(prisoner);
        l.week = s_cell(pctl_opt(opts, "week"));
        req.body_case = PAY__HOURS_REQUEST__BODY_LIST_BY_PRISONER_WEEK;
        req.list_by_prisoner_week = &l;
        Pay__HoursReply *reply = NULL;
        int code = PCTL_EXIT_FAIL;
        if (s_call(ctx, &req, &reply) == 0)
            code = s_print_records(ctx, reply->records, reply->n_records);
        s_free(&reply);
        return code;
    }
    if (!pctl_opt(opts, "from") || !pctl_opt(opts, "to"))
        return pctl_usage_error(ctx, "--contract needs --from and --to");

    /* Every page, into one table: one connection for them all. */
    out_table_t *t = s_record_table();
    pctl_conn_t *conn = t ? pctl_conn_new(ctx, PCTL_SVC_HOURS) : NULL;
    char token[256] = "";
    int code = PCTL_EXIT_FAIL;
    if (!conn)
        goto done;
    for (;;) {
        Pay__HoursListByContract l = PAY__HOURS_LIST_BY_CONTRACT__INIT;
        Pay__HoursRequest preq = PAY__HOURS_REQUEST__INIT;
        ProtobufCMessage *m = NULL;
        l.contract = s_cell(contract);
        l.from = s_cell(pctl_opt(opts, "from"));
        l.to = s_cell(pctl_opt(opts, "to"));
        l.has_page_size = 1;
        l.page_size = 1000;
        l.page_token = token[0] ? token : NULL;
        preq.body_case = PAY__HOURS_REQUEST__BODY_LIST_BY_CONTRACT;
        preq.list_by_contract = &l;
        if (pctl_conn_call(conn, &preq.base, &pay__hours_reply__descriptor, &m) != 0)
            goto done;
        Pay__HoursReply *reply = (Pay__HoursReply *)m;
        int more = 0, ok = 1;
        if (reply->status != PAY__STATUS__OK) {
            pctl_fail(ctx, "%s: %s", codec_status_name(reply->status),
                      reply->message ? reply->message : "");
            ok = 0;
        }
        for (size_t i = 0; ok && i < reply->n_records; i++)
            ok = s_add_record(t, reply->records[i]) == 0;
        if (ok && reply->next_page_token && *reply->next_page_token) {
            if (strcmp(reply->next_page_token, token) == 0 ||
                strlen(reply->next_page_token) >= sizeof token) {
                pctl_fail(ctx, "the service sent a bad page token");
                ok = 0;
            } else {
                snprintf(token, sizeof token, "%s", reply->next_page_token);
                more = 1;
            }
        }
        codec_free(&m);
        if (!ok)
            goto done;
        if (!more)
            break;
    }
    code = out_table_write(t, ctx->format, stdout) == 0 ? PCTL_EXIT_OK
                                                        : pctl_fail(ctx, "cannot write the output");
done:
    pctl_conn_destroy(&conn);
    out_table_destroy(&t);
    return code;
}

int pctl_week_close(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"prison", "P", "prison code, e.g. MDI", NULL},
        {"week", "W", "ISO week, e.g. 2026-W48", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    if (!pctl_opt(opts, "prison") || !pctl_opt(opts, "week"))
        return pctl_usage_error(ctx, "--prison and --week are required");
    Pay__HoursClosePayWeek c = PAY__HOURS_CLOSE_PAY_WEEK__INIT;
    Pay__HoursRequest req = PAY__HOURS_REQUEST__INIT;
    c.prison = s_cell(pctl_opt(opts, "prison"));
    c.week = s_cell(pctl_opt(opts, "week"));
    req.body_case = PAY__HOURS_REQUEST__BODY_CLOSE_PAY_WEEK;
    req.close_pay_week = &c;
    Pay__HoursReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0) {
        static const char *const cols[] = {"prison", "week", "status", "message"};
        const char *cells[] = {c.prison, c.week, "OK", reply->message};
        out_table_t *t = out_table_new(cols, 4);
        code = t && out_table_add_row(t, cells) == 0 &&
                       out_table_write(t, ctx->format, stdout) == 0
                   ? PCTL_EXIT_OK
                   : pctl_fail(ctx, "cannot write the output");
        out_table_destroy(&t);
    }
    s_free(&reply);
    return code;
}
