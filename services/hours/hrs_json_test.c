/* hrs_json_test: JSON to protobuf and back, as pay-hours-client uses it. */
#include "hrs_json.h"

#include <stdlib.h>
#include <string.h>

#include "hours.pb-c.h"
#include "tap.h"

static Pay__HoursRequest *s_req(const char *json, char err[HRS_JSON_ERR_LEN])
{
    return (Pay__HoursRequest *)hrs_json_to_msg(&pay__hours_request__descriptor, json, err);
}

int main(void)
{
    char err[HRS_JSON_ERR_LEN];
    Pay__HoursRequest *r = s_req(
        "{\"request_id\":\"r1\",\"_timeout_ms\":500,\"submit_hours\":{\"records\":["
        "{\"record_id\":\"a\\\"b\\u00e9\\ud83d\\ude00\",\"minutes\":\"240\"},"
        "{\"record_id\":\"x\",\"session\":\"AM\"}]}}",
        err);
    TAP_OK(r != NULL, "a submit request parses (%s)", err);
    TAP_OK(r && r->body_case == PAY__HOURS_REQUEST__BODY_SUBMIT_HOURS && r->submit_hours &&
               r->submit_hours->n_records == 2,
           "the oneof member and the repeated field are set");
    TAP_OK(r && r->submit_hours && strcmp(r->submit_hours->records[0]->record_id,
                                          "a\"b\xc3\xa9\xf0\x9f\x98\x80") == 0,
           "escapes, \\u and surrogate pairs become UTF-8");
    TAP_OK(r && strcmp(r->request_id, "r1") == 0, "client options ('_' keys) are skipped");
    char *out = r ? hrs_json_from_msg(&r->base) : NULL;
    TAP_OK(out && strstr(out, "\"submit_hours\":{\"records\":[{\"record_id\":\"a\\\"b") &&
               !strstr(out, "_timeout_ms"),
           "and back to JSON (%s)", out ? out : "");
    Pay__HoursRequest *again = out ? s_req(out, err) : NULL;
    TAP_OK(again && again->submit_hours && again->submit_hours->n_records == 2 &&
               strcmp(again->submit_hours->records[1]->session, "AM") == 0,
           "the JSON it writes reads back the same");
    free(out);
    if (again)
        protobuf_c_message_free_unpacked(&again->base, NULL);
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);

    Pay__HoursReply rep = PAY__HOURS_REPLY__INIT;
    Pay__ItemResult it = PAY__ITEM_RESULT__INIT, *its[1] = {&it};
    rep.has_status = 1;
    rep.status = PAY__STATUS__SESSION_CLASH;
    rep.message = "line\nbreak";
    it.has_index = 1;
    it.index = 0;
    it.has_status = 1;
    it.status = PAY__STATUS__OK;
    rep.n_items = 1;
    rep.items = its;
    out = hrs_json_from_msg(&rep.base);
    TAP_OK(out && strstr(out, "\"status\":\"SESSION_CLASH\"") && strstr(out, "line\\u000abreak") &&
               strstr(out, "\"index\":0"),
           "enums by name, control characters escaped, set zeros written (%s)", out ? out : "");
    Pay__HoursReply *back =
        out ? (Pay__HoursReply *)hrs_json_to_msg(&pay__hours_reply__descriptor, out, err) : NULL;
    TAP_OK(back && back->status == PAY__STATUS__SESSION_CLASH && back->n_items == 1 &&
               strcmp(back->message, "line\nbreak") == 0,
           "a reply reads back");
    if (back)
        protobuf_c_message_free_unpacked(&back->base, NULL);
    free(out);

    const char *bad[] = {"", "{", "{\"request_id\":}", "{\"nope\":1}", "{\"request_id\":1}",
                         "{\"get_health\":[]}", "{\"request_id\":\"a\"} x",
                         "{\"request_id\":\"\\u0000\"}", "[1]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = s_req(bad[i], err);
        TAP_OK(r == NULL && err[0], "refused: %s (%s)", bad[i], err);
        if (r)
            protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    char v[64];
    TAP_OK(hrs_json_get("{\"a\":{\"b\":1},\"_raw\":\"ff00\"}", "_raw", v, sizeof v) == 0 &&
               strcmp(v, "ff00") == 0,
           "hrs_json_get finds a top-level string after a nested object");
    TAP_OK(hrs_json_get("{\"_timeout_ms\":250}", "_timeout_ms", v, sizeof v) == 0 &&
               strcmp(v, "250") == 0,
           "hrs_json_get reads a number as text");
    TAP_OK(hrs_json_get("{\"a\":\"b\"}", "c", v, sizeof v) != 0, "hrs_json_get: absent key");
    return tap_done();
}
