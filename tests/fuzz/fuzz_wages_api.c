/* fuzz_wages_api: the wage service's request path (decode, request_id,
 * replay, wage_api_handle, the packed reply) interleaved with hours-feed
 * events applied by wage_apply_event, against a real LMDB store holding the
 * sample's rates, policies and a priced week (tests/fuzz/setup/wages).
 * Input: frames (fuzz_util.h): a packed pay.WagesRequest from one of
 * fz_callers, or with tag FZ_TAG_FEED a packed pay.HoursEvent.
 *
 * Built a second time with FZ_FEED_ONLY as fuzz_wages_feed: every frame is
 * then a packed pay.HoursEvent (whatever its tag), applied as the feed
 * consumer applies a batch: wage_apply_group's BEGIN, wage_apply_event per
 * event with consecutive seqs, END (ABORT on an error). */
#include <stdint.h>

#include "civil.h"
#include "clock.h"
#include "fuzz_service.h"
#include "wage_api.h"
#include "wage_apply.h"
#include "wage_store.h"

static wage_store_t *s_ws;
static wage_api_t s_api;
static fz_service_t s_fz;

static int s_skip(const ProtobufCMessage *m)
{
    return ((const Pay__WagesRequest *)m)->body_case == PAY__WAGES_REQUEST__BODY_BACKUP;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs("wages");
    int32_t today;
    civil_parse_date("2026-11-23", &today);
    clock_set_today(today);
    s_ws = wage_store_new(fz_store_dir("wages"), 256u << 20);
    if (!s_ws || wage_store_set_living(s_ws, "2026-04-01:1271") != 0)
        abort();
    s_api.ws = s_ws;
    server_config_t cfg = {
        .request_desc = &pay__wages_request__descriptor,
        .reply_desc = &pay__wages_reply__descriptor,
        .handler = wage_api_handle,
        .svc = &s_api,
    };
    s_fz.store = s_ws->store;
    s_fz.request_desc = cfg.request_desc;
    s_fz.reply_desc = cfg.reply_desc;
    s_fz.skip = s_skip;
    s_fz.feed_apply = wage_apply_event;
    s_fz.feed_arg = s_ws;
    if (!(s_fz.server = server_new_detached(s_fz.store, &cfg)))
        abort();
    fz_service_setup(&s_fz, "wages.frames");
    /* Fold the setup's ledger lines into the balances, as the service's
     * timer does, so that no input pays for folding them again. */
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(store_env(s_ws->store), NULL, 0, &txn) != 0
        || wage_store_fold_balances(s_ws, txn, NULL) != 0 || mdb_txn_commit(txn) != 0)
        abort();
    return 0;
}

#ifdef FZ_FEED_ONLY
static void s_feed_batch(const uint8_t *data, size_t size)
{
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(store_env(s_ws->store), NULL, 0, &txn) != 0)
        abort();
    int rc = wage_apply_group(txn, FEED_GROUP_BEGIN, s_ws);
    uint64_t seq = s_fz.feed_seq;
    size_t at = 0, n = 0;
    fz_frame_t f;
    while (rc == 0 && n++ < 4 * FZ_MAX_FRAMES && fz_next(data, size, &at, &f)) {
        feed_refusal_t why;
        rc = wage_apply_event(txn, ++seq, f.data, f.len, s_ws, &why);
        if (rc == FEED_REFUSED)
            rc = 0;   /* quarantined by the consumer, which goes on */
    }
    if (rc == 0)
        rc = wage_apply_group(txn, FEED_GROUP_END, s_ws);
    mdb_txn_abort(txn);
    if (rc != 0)
        wage_apply_group(NULL, FEED_GROUP_ABORT, s_ws);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FZ_FEED_ONLY
    s_feed_batch(data, size);
#else
    fz_service_run(&s_fz, data, size, FZ_MAX_FRAMES, 0);
#endif
    /* The transaction was aborted: drop what the store cached from it, as
     * the service does when a transaction fails. */
    wage_store_cache_clear(s_ws);
    return 0;
}
