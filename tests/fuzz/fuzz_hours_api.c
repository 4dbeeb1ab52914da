/* fuzz_hours_api: the hours service's request path, from the frame to the
 * store: decode and limits, request_id, replay, hrs_service_handle with its
 * capture checks, the outbox events, and the packed reply, against a real
 * LMDB store holding the sample's reference data (tests/fuzz/setup/hours).
 * Input: frames (fuzz_util.h): a packed pay.HoursRequest from one of
 * fz_callers, or with tag FZ_TAG_FEED a packed pay.InvoiceEvent applied
 * by hrs_invfeed_apply (the invoice feed's employers). */
#include <stdint.h>

#include "civil.h"
#include "clock.h"
#include "fuzz_service.h"
#include "hours.pb-c.h"
#include "hrs_invfeed.h"
#include "hrs_service.h"
#include "hrs_store.h"

static hrs_store_t *s_store;
static hrs_service_t *s_svc;
static fz_service_t s_fz;

static int s_skip(const ProtobufCMessage *m)
{
    return ((const Pay__HoursRequest *)m)->body_case == PAY__HOURS_REQUEST__BODY_BACKUP;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs("hours");
    int32_t today;
    civil_parse_date("2026-11-23", &today);
    clock_set_today(today);
    s_store = hrs_store_open(fz_store_dir("hours"), 256u << 20);
    s_svc = s_store ? hrs_service_new(s_store) : NULL;
    if (!s_svc)
        abort();
    server_config_t cfg = {
        .request_desc = &pay__hours_request__descriptor,
        .reply_desc = &pay__hours_reply__descriptor,
        .handler = hrs_service_handle,
        .svc = s_svc,
    };
    s_fz.store = hrs_store_store(s_store);
    s_fz.request_desc = cfg.request_desc;
    s_fz.reply_desc = cfg.reply_desc;
    s_fz.skip = s_skip;
    s_fz.feed_apply = hrs_invfeed_apply;
    s_fz.feed_arg = s_store;
    if (!(s_fz.server = server_new_detached(s_fz.store, &cfg)))
        abort();
    fz_service_setup(&s_fz, "hours.frames");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_service_run(&s_fz, data, size, FZ_MAX_FRAMES, 0);
    return 0;
}
