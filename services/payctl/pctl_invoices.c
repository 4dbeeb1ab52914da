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
    default: return "?";
    }
}

/* ---- the document table ---------------------------------------------------- */

static const char *const s_doc_cols[] = {
    "number", "kind", "employer", "period", "issue_date", "tax_point", "due_date",
    "net", "vat", "total", "paid", "outstanding", "status"};
#define S_NCOLS (sizeof s_doc_cols / sizeof *s_doc_cols)

static out_table_t *s_doc_table(void)
{
    out_table_t *t = out_table_new(s_doc_cols, S_NCOLS);
    for (size_t c = 7; t && c <= 11; c++)
        out_table_set_numeric(t, c, 1);
    return t;
}

/* One row from a summary and, when known, its payment state (info may be
 * NULL for a document just issued: nothing is paid yet). */
static int s_add_doc(out_table_t *t, const Pay__DocumentSummary *s, const Pay__DocumentInfo *info)
{
    static const Pay__DocumentSummary empty = PAY__DOCUMENT_SUMMARY__INIT;
    char net[MONEY_TEXT_LEN], vat[MONEY_TEXT_LEN], total[MONEY_TEXT_LEN];
    char paid[MONEY_TEXT_LEN], outstanding[MONEY_TEXT_LEN];
    if (!s)
        s = &empty;
    int credit = info ? info->credit_note
                      : (s->number && strncmp(s->number, "CRN-", 4) == 0);
    money_format(s->net_pence, net);
    money_format(s->vat_pence, vat);
    money_format(s->total_pence, total);
    money_format(info ? info->paid_pence : 0, paid);
    money_format(info ? info->outstanding_pence : (credit ? 0 : s->total_pence), outstanding);
    const char *row[S_NCOLS] = {
        s->number, credit ? "credit note" : "invoice", s->employer, s->period, s->issue_date,
        s->tax_point, s->due_date, net, vat, total, paid, outstanding,
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
