/* fuzz_invoicing_api: the invoicing service's request path (decode,
 * request_id, replay, inv_api_handle with issuing, rendering and payments,
 * the packed reply) interleaved with hours-feed events applied by
 * inv_store_apply_event, against a real LMDB store holding the sample's
 * employers, billing terms and a week of billable hours
 * (tests/fuzz/setup/invoicing). Every document it returns must pass
 * fuzz_docs.h's checks. Input: frames (fuzz_util.h): a packed
 * pay.InvoicingRequest from one of fz_callers, or with tag FZ_TAG_FEED a
 * packed pay.HoursEvent.
 *
 * Built a second time with FZ_FEED_ONLY as fuzz_invoicing_feed: every frame
 * is then a packed pay.HoursEvent (whatever its tag), applied with
 * inv_store_apply_event in one transaction with consecutive seqs, as the
 * feed consumer applies a batch. */
#include <stdint.h>

#include "civil.h"
#include "clock.h"
#include "fuzz_docs.h"
#include "fuzz_service.h"
#include "inv_api.h"
#include "inv_doc.h"
#include "inv_store.h"
#include "inv_supplier.h"

static inv_api_t s_api;
static fz_service_t s_fz;

/* The server handler over inv_api_handle, as pay-invoicing's main.c has it. */
static int s_handler(void *svc, server_call_t *call, const auth_identity_t *caller,
                     const ProtobufCMessage *request, const char *request_id, MDB_txn *txn)
{
    inv_reply_t rep;
    (void)request_id;
    int rc = inv_api_handle(svc, caller, (const Pay__InvoicingRequest *)request, txn, &rep);
    if (rep.readonly)
        server_call_readonly(call);
    if (server_reply(call, &rep.reply.base) != 0 && rc == 0)
        rc = -1;
    inv_reply_free(&rep);
    return rc;
}

/* A document the service returns must be what its format promises. */
static void s_check(const ProtobufCMessage *m)
{
    const Pay__InvoicingReply *r = (const Pay__InvoicingReply *)m;
    const Pay__DocumentContent *d = r->document;
    if (!d || !d->has_content)
        return;
    if (d->format == PAY__DOCUMENT_FORMAT__CSV)
        fz_check_csv(d->content.data, d->content.len, -1);
    else if (d->format == PAY__DOCUMENT_FORMAT__UBL)
        fz_check_ubl(d->content.data, d->content.len, NULL);
    else if (d->format == PAY__DOCUMENT_FORMAT__PDF)
        fz_check_pdf(d->content.data, d->content.len);
}

static int s_skip(const ProtobufCMessage *m)
{
    return ((const Pay__InvoicingRequest *)m)->body_case == PAY__INVOICING_REQUEST__BODY_BACKUP;
}

static void s_shutdown(void)
{
    inv_pdf_shutdown();
    xmlCleanupParser();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs("invoicing");
    xmlInitParser();
    int32_t today;
    civil_parse_date("2026-11-23", &today);
    clock_set_today(today);
    s_api.store = inv_store_open(fz_store_dir("invoicing"), 256u << 20);
    if (!s_api.store)
        abort();
    /* The supplier's details, as pay-invoicing's --supplier-config reads
     * them: issuing refuses while anything required is missing. */
    char why[256], missing[256];
    if (inv_supplier_parse(&s_api.supplier,
                           "name = Prison Industries\n"
                           "address = 102 Petty France, London\n"
                           "postcode = SW1H 9AJ\n"
                           "vat_number = GB123456789\n"
                           "email = billing@industries.example\n"
                           "bank_account_name = Prison Industries\n"
                           "sort_code = 60-16-13\n"
                           "account_number = 31926819\n",
                           why, sizeof why) != 0
        || inv_supplier_missing(&s_api.supplier, missing, sizeof missing) != 0) {
        fprintf(stderr, "fuzz: the supplier's details: %s%s\n", why, missing);
        abort();
    }
    server_config_t cfg = {
        .request_desc = &pay__invoicing_request__descriptor,
        .reply_desc = &pay__invoicing_reply__descriptor,
        .handler = s_handler,
        .svc = &s_api,
    };
    s_fz.store = inv_store_store(s_api.store);
    s_fz.request_desc = cfg.request_desc;
    s_fz.reply_desc = cfg.reply_desc;
    s_fz.skip = s_skip;
    s_fz.check = s_check;
    s_fz.feed_apply = inv_store_apply_event;
    s_fz.feed_arg = s_api.store;
    if (!(s_fz.server = server_new_detached(s_fz.store, &cfg)))
        abort();
    fz_service_setup(&s_fz, "invoicing.frames");
    atexit(s_shutdown);
    return 0;
}

#ifdef FZ_FEED_ONLY
static void s_feed_batch(const uint8_t *data, size_t size)
{
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(store_env(s_fz.store), NULL, 0, &txn) != 0)
        abort();
    uint64_t seq = s_fz.feed_seq;
    size_t at = 0, n = 0;
    fz_frame_t f;
    int rc = 0;
    while (rc == 0 && n++ < 4 * FZ_MAX_FRAMES && fz_next(data, size, &at, &f)) {
        feed_refusal_t why;
        rc = inv_store_apply_event(txn, ++seq, f.data, f.len, s_api.store, &why);
        if (rc == FEED_REFUSED)
            rc = 0;   /* quarantined by the consumer, which goes on */
    }
    mdb_txn_abort(txn);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FZ_FEED_ONLY
    s_feed_batch(data, size);
#else
    fz_service_run(&s_fz, data, size, FZ_MAX_FRAMES, 0);
#endif
    return 0;
}
