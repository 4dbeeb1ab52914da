/* pctl_invoices: see pctl_invoices.h. */
#include "pctl_invoices.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "invoicing.pb-c.h"
#include "money.h"
#include "pctl_conn.h"

/* Sends `req` to the invoicing service. Returns 0 with an OK *reply, or -1
 * after printing why; the caller frees *reply either way. */
static int s_call(pctl_ctx_t *ctx, Pay__InvoicingRequest *req, Pay__InvoicingReply **reply)
{
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_INVOICING);
    ProtobufCMessage *m = NULL;
    *reply = NULL;
    if (!conn)
        return -1;
    int rc = pctl_conn_call(conn, &req->base, &pay__invoicing_reply__descriptor, &m);
    pctl_conn_destroy(&conn);
    if (rc != 0)
        return -1;
    *reply = (Pay__InvoicingReply *)m;
    if ((*reply)->status != PAY__STATUS__OK) {
        pctl_fail(ctx, "%s: %s", codec_status_name((*reply)->status),
                  (*reply)->message ? (*reply)->message : "");
        return -1;
    }
    return 0;
}

static void s_free(Pay__InvoicingReply **reply)
{
    ProtobufCMessage *m = *reply ? &(*reply)->base : NULL;
    codec_free(&m);
    *reply = NULL;
}

static const char *s_status_name(const Pay__DocumentInfo *i)
{
    if (!i->has_status)
        return NULL;
    switch (i->status) {
    case PAY__PAYMENT_STATUS__ISSUED: return "ISSUED";
    case PAY__PAYMENT_STATUS__PART_PAID: return "PART_PAID";
    case PAY__PAYMENT_STATUS__PAID: return "PAID";
    case PAY__PAYMENT_STATUS__CREDIT: return "CREDIT";
    case PAY__PAYMENT_STATUS__CREDITED: return "CREDITED";
    default: return "?";
    }
}

/* ---- the document table ---------------------------------------------------- */

/* `credited`: for an invoice, the credit allocated to it from credit notes;
 * for a credit note, how much of it is allocated (the rest is credit left
 * on the employer's account). outstanding = total - paid - credited. */
static const char *const s_doc_cols[] = {
    "number", "kind", "employer", "period", "issue_date", "tax_point", "due_date",
    "net", "vat", "total", "paid", "credited", "outstanding", "status"};
#define S_NCOLS (sizeof s_doc_cols / sizeof *s_doc_cols)

static out_table_t *s_doc_table(void)
{
    out_table_t *t = out_table_new(s_doc_cols, S_NCOLS);
    for (size_t c = 7; t && c <= 12; c++)
        out_table_set_numeric(t, c, 1);
    return t;
}

/* One row from a summary and, when known, its payment state (info may be
 * NULL for a document just issued: nothing is paid yet). */
static int s_add_doc(out_table_t *t, const Pay__DocumentSummary *s, const Pay__DocumentInfo *info)
{
    static const Pay__DocumentSummary empty = PAY__DOCUMENT_SUMMARY__INIT;
    char net[MONEY_TEXT_LEN], vat[MONEY_TEXT_LEN], total[MONEY_TEXT_LEN];
    char paid[MONEY_TEXT_LEN], credited[MONEY_TEXT_LEN], outstanding[MONEY_TEXT_LEN];
    if (!s)
        s = &empty;
    int credit = info ? info->credit_note
                      : (s->number && strncmp(s->number, "CRN-", 4) == 0);
    money_format(s->net_pence, net);
    money_format(s->vat_pence, vat);
    money_format(s->total_pence, total);
    money_format(info ? info->paid_pence : 0, paid);
    money_format(info ? info->allocated_pence : 0, credited);
    money_format(info ? info->outstanding_pence : (credit ? 0 : s->total_pence), outstanding);
    const char *row[S_NCOLS] = {
        s->number, credit ? "credit note" : "invoice", s->employer, s->period, s->issue_date,
        s->tax_point, s->due_date, net, vat, total, paid, credited, outstanding,
        info ? s_status_name(info) : (credit ? "CREDIT" : "ISSUED")};
    return out_table_add_row(t, row);
}

static int s_print_infos(pctl_ctx_t *ctx, Pay__DocumentInfo *const *docs, size_t n)
{
    out_table_t *t = s_doc_table();
    int ok = t != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = s_add_doc(t, docs[i]->summary, docs[i]) == 0;
    ok = ok && out_table_write(t, ctx->format, stdout) == 0;
    out_table_destroy(&t);
    return ok ? PCTL_EXIT_OK : pctl_fail(ctx, "cannot write the output");
}

/* ---- commands ---------------------------------------------------------------- */

int pctl_invoices_issue(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"employer", "E", "only this employer (default: every employer)", NULL},
        {"period", "P", "only this period: a week 2026-W48 or a month 2026-11", NULL},
        {"as-of", "DATE", "the issue date, YYYY-MM-DD (default: the service's today)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    Pay__Issue is = PAY__ISSUE__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    is.employer = (char *)pctl_opt(opts, "employer");
    is.period = (char *)pctl_opt(opts, "period");
    is.issue_date = (char *)pctl_opt(opts, "as-of");
    req.body_case = PAY__INVOICING_REQUEST__BODY_ISSUE;
    req.issue = &is;
    Pay__InvoicingReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0) {
        out_table_t *t = s_doc_table();
        int ok = t != NULL;
        size_t n = reply->issued ? reply->issued->n_documents : 0;
        for (size_t i = 0; ok && i < n; i++)
            ok = s_add_doc(t, reply->issued->documents[i], NULL) == 0;
        ok = ok && out_table_write(t, ctx->format, stdout) == 0;
        out_table_destroy(&t);
        code = ok ? PCTL_EXIT_OK : pctl_fail(ctx, "cannot write the output");
        if (ok && ctx->format == OUT_TABLE)
            fprintf(stderr, "payctl: %s: %zu document%s issued\n", ctx->path, n,
                    n == 1 ? "" : "s");
    }
    s_free(&reply);
    return code;
}

int pctl_invoices_list(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"employer", "E", "only this employer (finance; an employer key sees its own)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    Pay__ListDocuments l = PAY__LIST_DOCUMENTS__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    l.employer = (char *)pctl_opt(opts, "employer");
    req.body_case = PAY__INVOICING_REQUEST__BODY_LIST;
    req.list = &l;
    Pay__InvoicingReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0)
        code = reply->documents
                   ? s_print_infos(ctx, reply->documents->documents, reply->documents->n_documents)
                   : s_print_infos(ctx, NULL, 0);
    s_free(&reply);
    return code;
}

int pctl_invoices_overdue(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"as-of", "DATE", "due before this date, YYYY-MM-DD (default: the service's today)",
         NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    Pay__Overdue o = PAY__OVERDUE__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    o.as_of = (char *)pctl_opt(opts, "as-of");
    req.body_case = PAY__INVOICING_REQUEST__BODY_OVERDUE;
    req.overdue = &o;
    Pay__InvoicingReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0)
        code = reply->documents
                   ? s_print_infos(ctx, reply->documents->documents, reply->documents->n_documents)
                   : s_print_infos(ctx, NULL, 0);
    s_free(&reply);
    return code;
}

int pctl_write_file(const pctl_ctx_t *ctx, const char *path, const void *data, size_t len)
{
    char tmp[PCTL_PATH_LEN + 8];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        pctl_fail(ctx, "file name too long: %s", path);
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        pctl_fail(ctx, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    int ok = (len == 0 || fwrite(data, 1, len, f) == len);
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        pctl_fail(ctx, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Fetches `number` in `fmt` over `conn`. Returns the reply (OK, with
 * content unless fmt is unspecified) or NULL after printing why. */
static Pay__InvoicingReply *s_get(pctl_ctx_t *ctx, pctl_conn_t *conn, const char *number,
                                  Pay__DocumentFormat fmt)
{
    Pay__GetDocument g = PAY__GET_DOCUMENT__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    g.number = (char *)number;
    if (fmt != PAY__DOCUMENT_FORMAT__FORMAT_UNSPECIFIED) {
        g.has_format = 1;
        g.format = fmt;
    }
    req.body_case = PAY__INVOICING_REQUEST__BODY_GET;
    req.get = &g;
    if (pctl_conn_call(conn, &req.base, &pay__invoicing_reply__descriptor, &m) != 0)
        return NULL;
    Pay__InvoicingReply *reply = (Pay__InvoicingReply *)m;
    if (reply->status != PAY__STATUS__OK) {
        pctl_fail(ctx, "%s: %s", codec_status_name(reply->status),
                  reply->message ? reply->message : "");
        s_free(&reply);
        return NULL;
    }
    if (!reply->document || !reply->document->info ||
        (fmt != PAY__DOCUMENT_FORMAT__FORMAT_UNSPECIFIED && !reply->document->has_content)) {
        pctl_fail(ctx, "the service sent no document for %s", number);
        s_free(&reply);
        return NULL;
    }
    return reply;
}

int pctl_invoices_get(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"pdf", "FILE", "write the document as PDF to FILE", NULL},
        {"csv", NULL, "print the invoice lines as CSV (FORMATS.md) instead of the summary", NULL},
        {"ubl", "FILE", "write the document as UBL 2.1 XML (Peppol BIS 3.0) to FILE", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    const char *pdf = pctl_opt(opts, "pdf"), *ubl = pctl_opt(opts, "ubl");
    int csv = pctl_opt(opts, "csv") != NULL;
    if ((pdf && !*pdf) || (ubl && !*ubl))
        return pctl_usage_error(ctx, "--pdf and --ubl need a file name");
    int code = PCTL_EXIT_FAIL;
    Pay__InvoicingReply *reply = NULL;
    pctl_conn_t *conn = pctl_conn_new(ctx, PCTL_SVC_INVOICING);
    if (!conn)
        return PCTL_EXIT_FAIL;
    struct {
        const char *file;
        Pay__DocumentFormat fmt;
    } saves[] = {{pdf, PAY__DOCUMENT_FORMAT__PDF}, {ubl, PAY__DOCUMENT_FORMAT__UBL}};
    for (size_t i = 0; i < sizeof saves / sizeof *saves; i++) {
        if (!saves[i].file)
            continue;
        if (!(reply = s_get(ctx, conn, pos[0], saves[i].fmt)))
            goto done;
        const ProtobufCBinaryData *c = &reply->document->content;
        if (pctl_write_file(ctx, saves[i].file, c->data, c->len) != 0)
            goto done;
        fprintf(stderr, "payctl: %s: wrote %s (%zu bytes)\n", ctx->path, saves[i].file, c->len);
        s_free(&reply);
    }
    if (csv) {
        if (!(reply = s_get(ctx, conn, pos[0], PAY__DOCUMENT_FORMAT__CSV)))
            goto done;
        const ProtobufCBinaryData *c = &reply->document->content;
        if ((c->len && fwrite(c->data, 1, c->len, stdout) != c->len) || fflush(stdout) != 0) {
            pctl_fail(ctx, "cannot write the output");
            goto done;
        }
    } else {
        if (!(reply = s_get(ctx, conn, pos[0], PAY__DOCUMENT_FORMAT__FORMAT_UNSPECIFIED)))
            goto done;
        if (s_print_infos(ctx, &reply->document->info, 1) != PCTL_EXIT_OK)
            goto done;
    }
    code = PCTL_EXIT_OK;
done:
    s_free(&reply);
    pctl_conn_destroy(&conn);
    return code;
}

/* FNV-1a over the fields, each followed by a 0 byte so that ("ab","c")
 * and ("a","bc") differ. */
static uint64_t s_fnv(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return h * 0x100000001b3ULL;
}

int pctl_payments_record(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"amount", "A", "pounds above 0, e.g. 12.34", NULL},
        {"date", "D", "the payment date, YYYY-MM-DD", NULL},
        {"reference", "R", "the payment's reference (bank transaction, remittance)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    if (!pctl_opt(opts, "amount") || !pctl_opt(opts, "date"))
        return pctl_usage_error(ctx, "--amount and --date are required");
    Pay__RecordPayment p = PAY__RECORD_PAYMENT__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    p.number = (char *)pos[0];
    p.amount = (char *)pctl_opt(opts, "amount");
    p.date = (char *)pctl_opt(opts, "date");
    p.reference = (char *)pctl_opt(opts, "reference");
    uint64_t h1 = 0xcbf29ce484222325ULL, h2 = 0x84222325cbf29ce4ULL;
    const char *fields[] = {p.number, p.amount, p.date, p.reference};
    for (size_t i = 0; i < 4; i++) {
        h1 = s_fnv(h1, fields[i]);
        h2 = s_fnv(h2 ^ (uint64_t)(i + 1), fields[i]);
    }
    char id[96];
    snprintf(id, sizeof id, "payment-%016" PRIx64 "%016" PRIx64, h1, h2);
    req.request_id = id;
    req.body_case = PAY__INVOICING_REQUEST__BODY_PAYMENT;
    req.payment = &p;
    Pay__InvoicingReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0) {
        if (reply->document && reply->document->info)
            code = s_print_infos(ctx, &reply->document->info, 1);
        else
            code = pctl_fail(ctx, "the service recorded the payment but sent no document");
    }
    s_free(&reply);
    return code;
}

/* ---- statement, lines, pending, journal ------------------------------------------ */

/* A table of string rows, printed in ctx->format. */
static int s_print_rows(pctl_ctx_t *ctx, const char *const *cols, size_t ncols,
                        const size_t *numeric, size_t nnum, const char *const *cells, size_t nrows)
{
    out_table_t *t = out_table_new(cols, ncols);
    int ok = t != NULL;
    for (size_t i = 0; ok && i < nnum; i++)
        out_table_set_numeric(t, numeric[i], 1);
    for (size_t r = 0; ok && r < nrows; r++)
        ok = out_table_add_row(t, cells + r * ncols) == 0;
    ok = ok && out_table_write(t, ctx->format, stdout) == 0;
    out_table_destroy(&t);
    return ok ? PCTL_EXIT_OK : pctl_fail(ctx, "cannot write the output");
}

int pctl_invoices_statement(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"employer", "E", "the employer (finance; an employer key gets its own)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    Pay__Statement st = PAY__STATEMENT__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    st.employer = (char *)pctl_opt(opts, "employer");
    req.body_case = PAY__INVOICING_REQUEST__BODY_STATEMENT;
    req.statement = &st;
    Pay__InvoicingReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0 && reply->statement) {
        static const char *const cols[] = {"date", "document", "kind", "amount", "allocated",
                                           "balance"};
        static const size_t num[] = {3, 4, 5};
        const Pay__StatementReply *sr = reply->statement;
        size_t n = sr->n_rows;
        char (*money)[3][MONEY_TEXT_LEN] = calloc(n ? n : 1, sizeof *money);
        const char **cells = calloc((n ? n : 1) * 6, sizeof *cells);
        if (!money || !cells) {
            code = pctl_fail(ctx, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++) {
                const Pay__StatementRow *r = sr->rows[i];
                if (r->has_amount_pence)
                    money_format(r->amount_pence, money[i][0]);
                if (r->has_allocated_pence)
                    money_format(r->allocated_pence, money[i][1]);
                money_format(r->balance_pence, money[i][2]);
                const char *row[6] = {r->date, r->document, r->kind, money[i][0], money[i][1],
                                      money[i][2]};
                memcpy(cells + i * 6, row, sizeof row);
            }
            code = s_print_rows(ctx, cols, 6, num, 3, cells, n);
            if (code == PCTL_EXIT_OK && ctx->format == OUT_TABLE) {
                char b[MONEY_TEXT_LEN], o[MONEY_TEXT_LEN], u[MONEY_TEXT_LEN];
                money_format(sr->balance_pence, b);
                money_format(sr->outstanding_pence, o);
                money_format(sr->unallocated_pence, u);
                fprintf(stderr, "payctl: %s: %s: balance %s = outstanding %s - unallocated credit %s\n",
                        ctx->path, sr->employer ? sr->employer : "", b, o, u);
            }
        }
        free(money);
        free(cells);
    }
    s_free(&reply);
    return code;
}

int pctl_invoices_lines(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"from", "P", "the first period: a week 2026-W46 or a month 2026-11", NULL},
        {"to", "P", "the last period (default: --from)", NULL},
        {"employer", "E", "only this employer (finance; an employer key gets its own)", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    if (!pctl_opt(opts, "from"))
        return pctl_usage_error(ctx, "--from is required");
    Pay__ListLines l = PAY__LIST_LINES__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    l.from = (char *)pctl_opt(opts, "from");
    l.to = (char *)pctl_opt(opts, "to");
    l.employer = (char *)pctl_opt(opts, "employer");
    req.body_case = PAY__INVOICING_REQUEST__BODY_LINES;
    req.lines = &l;
    Pay__InvoicingReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0 && reply->lines) {
        /* FORMATS.md invoice lines. */
        static const char *const cols[] = {
            "invoice", "line", "contract", "period", "period_start", "period_end",
            "original_invoice", "description", "quantity", "unit", "unit_price", "net",
            "vat_rate_bp", "vat"};
        static const size_t num[] = {8, 10, 11, 13};
        size_t n = reply->lines->n_rows;
        const char **cells = calloc((n ? n : 1) * 14, sizeof *cells);
        if (!cells) {
            code = pctl_fail(ctx, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++) {
                const Pay__InvoiceLineRow *r = reply->lines->rows[i];
                const char *row[14] = {r->invoice, r->line, r->contract, r->period,
                                       r->period_start, r->period_end, r->original_invoice,
                                       r->description, r->quantity, r->unit, r->unit_price,
                                       r->net, r->vat_rate_bp, r->vat};
                memcpy(cells + i * 14, row, sizeof row);
            }
            code = s_print_rows(ctx, cols, 14, num, 4, cells, n);
        }
        free(cells);
    }
    s_free(&reply);
    return code;
}

int pctl_invoices_pending(pctl_ctx_t *ctx, int argc, char **argv)
{
    pctl_opt_t opts[] = {
        {"employer", "E", "only this employer", NULL},
        {0},
    };
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    Pay__Pending p = PAY__PENDING__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    p.employer = (char *)pctl_opt(opts, "employer");
    req.body_case = PAY__INVOICING_REQUEST__BODY_PENDING;
    req.pending = &p;
    Pay__InvoicingReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0 && reply->pending) {
        /* FORMATS.md pending billable lines. */
        static const char *const cols[] = {"employer", "contract", "period", "period_start",
                                           "period_end", "minutes", "units", "status"};
        static const size_t num[] = {5, 6};
        size_t n = reply->pending->n_rows;
        const char **cells = calloc((n ? n : 1) * 8, sizeof *cells);
        char (*nums)[2][24] = calloc(n ? n : 1, sizeof *nums);
        if (!cells || !nums) {
            code = pctl_fail(ctx, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++) {
                const Pay__PendingLine *r = reply->pending->rows[i];
                snprintf(nums[i][0], sizeof nums[i][0], "%" PRId64, r->minutes);
                snprintf(nums[i][1], sizeof nums[i][1], "%" PRId64, r->units);
                const char *row[8] = {r->employer, r->contract, r->period, r->period_start,
                                      r->period_end, nums[i][0], nums[i][1], r->status};
                memcpy(cells + i * 8, row, sizeof row);
            }
            code = s_print_rows(ctx, cols, 8, num, 2, cells, n);
        }
        free(cells);
        free(nums);
    }
    s_free(&reply);
    return code;
}

int pctl_invoices_journal(pctl_ctx_t *ctx, int argc, char **argv)
{
    const char *pos[1];
    pctl_opt_t opts[] = {{0}};
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, opts, pos, 1, 1, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    Pay__InvoicingJournal j = PAY__INVOICING_JOURNAL__INIT;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    req.body_case = PAY__INVOICING_REQUEST__BODY_JOURNAL;
    req.journal = &j;
    Pay__InvoicingReply *reply = NULL;
    int code = PCTL_EXIT_FAIL;
    if (s_call(ctx, &req, &reply) == 0 && reply->journal) {
        const char *text = reply->journal->text ? reply->journal->text : "";
        size_t len = strlen(text);
        if (strcmp(pos[0], "-") == 0) {
            if ((len && fwrite(text, 1, len, stdout) != len) || fflush(stdout) != 0)
                code = pctl_fail(ctx, "cannot write the output");
            else
                code = PCTL_EXIT_OK;
        } else if (pctl_write_file(ctx, pos[0], text, len) == 0) {
            fprintf(stderr, "payctl: %s: wrote %s (%" PRIu64 " transactions)\n", ctx->path, pos[0],
                    reply->journal->transactions);
            code = PCTL_EXIT_OK;
        }
    }
    s_free(&reply);
    return code;
}
