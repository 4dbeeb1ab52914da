/* codec_test: round trips, and hostile frames that must fail cleanly
 * (NULL with a message, no leak, no crash) under ASan and UBSan. */
#define _GNU_SOURCE   /* memmem */
#include "codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "testsvc.pb-c.h"

/* Packs into a malloc'd buffer (so that tests can cut and mutate it). */
static uint8_t *s_pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    protobuf_c_message_pack(m, buf);
    return buf;
}

static void test_round_trip(void)
{
    Pay__TestEcho inner = PAY__TEST_ECHO__INIT, *nested[1] = {&inner};
    Pay__TestEcho echo = PAY__TEST_ECHO__INIT;
    Pay__TestRequest req = PAY__TEST_REQUEST__INIT;
    Pay__Status statuses[3] = {PAY__STATUS__OK, PAY__STATUS__SESSION_CLASH,
                               PAY__STATUS__UNAVAILABLE};
    inner.text = "inner";
    inner.n_statuses = 3;
    inner.statuses = statuses;
    echo.text = "hello";
    echo.has_status = 1;
    echo.status = PAY__STATUS__NOT_FOUND;
    echo.n_nested = 1;
    echo.nested = nested;
    req.request_id = "r-1";
    req.body_case = PAY__TEST_REQUEST__BODY_ECHO;
    req.echo = &echo;

    zmq_msg_t msg;
    char err[CODEC_ERR_LEN];
    TAP_EQ_INT(codec_pack_msg(&req.base, &msg), 0, "pack into a zmq_msg_t");
    TAP_EQ_INT((long)zmq_msg_size(&msg), (long)protobuf_c_message_get_packed_size(&req.base),
               "frame has the packed size");
    ProtobufCMessage *m = codec_unpack(&pay__test_request__descriptor, zmq_msg_data(&msg),
                                       zmq_msg_size(&msg), 0, err);
    TAP_OK(m != NULL, "unpack: %s", m ? "ok" : err);
    if (m) {
        Pay__TestRequest *r = (Pay__TestRequest *)m;
        TAP_EQ_STR(r->request_id, "r-1", "request_id");
        TAP_EQ_INT(r->body_case, PAY__TEST_REQUEST__BODY_ECHO, "oneof case");
        TAP_EQ_STR(r->echo->text, "hello", "echo text");
        TAP_EQ_INT(r->echo->status, PAY__STATUS__NOT_FOUND, "echo status");
        TAP_EQ_INT((long)r->echo->n_nested, 1, "nested count");
        TAP_EQ_INT((long)r->echo->nested[0]->n_statuses, 3, "nested statuses");
        TAP_EQ_INT(r->echo->nested[0]->statuses[2], PAY__STATUS__UNAVAILABLE, "nested value");
        codec_free(&m);
        TAP_OK(m == NULL, "codec_free NULLs the pointer");
    }
    codec_free(&m);
    zmq_msg_close(&msg);

    /* Empty frame: a valid message with nothing set. */
    m = codec_unpack(&pay__test_request__descriptor, NULL, 0, 0, err);
    TAP_OK(m != NULL && ((Pay__TestRequest *)m)->request_id == NULL,
           "empty frame decodes to an empty message");
    codec_free(&m);

    /* A big but honest string fits the default budget. */
    size_t big = 1024 * 1024;
    char *text = malloc(big + 1);
    memset(text, 'x', big);
    text[big] = '\0';
    Pay__TestEcho e2 = PAY__TEST_ECHO__INIT;
    e2.text = text;
    size_t len;
    uint8_t *buf = s_pack(&e2.base, &len);
    m = codec_unpack(&pay__test_echo__descriptor, buf, len, 0, err);
    TAP_OK(m && strlen(((Pay__TestEcho *)m)->text) == big, "1 MiB string decodes");
    codec_free(&m);
    m = codec_unpack(&pay__test_echo__descriptor, buf, len, 4096, err);
    TAP_OK(m == NULL && strstr(err, "more than 4096"), "same frame, 4 KiB budget: %s", err);
    free(buf);
    free(text);

    zmq_msg_t bad;
    TAP_EQ_INT(codec_pack_msg(NULL, &bad), -1, "pack NULL refused");
    TAP_EQ_INT(zmq_msg_close(&bad), 0, "failed pack leaves a closable message");
}

static void test_error_reply(void)
{
    zmq_msg_t msg;
    char err[CODEC_ERR_LEN];
    TAP_EQ_INT(codec_error_reply(&msg, "abc", PAY__STATUS__MALFORMED_REQUEST, "bad frame"), 0,
               "error reply packs");
    ProtobufCMessage *m = codec_unpack(&pay__test_reply__descriptor, zmq_msg_data(&msg),
                                       zmq_msg_size(&msg), 0, err);
    Pay__TestReply *r = (Pay__TestReply *)m;
    TAP_OK(r && r->has_status && r->status == PAY__STATUS__MALFORMED_REQUEST,
           "a service's Reply decodes the header status");
    TAP_OK(r && r->request_id && strcmp(r->request_id, "abc") == 0, "and its request_id");
    TAP_OK(r && r->message && strcmp(r->message, "bad frame") == 0, "and its message");
    codec_free(&m);
    zmq_msg_close(&msg);
    TAP_EQ_INT(codec_error_reply(&msg, NULL, PAY__STATUS__INTERNAL, NULL), 0,
               "error reply without request_id or message");
    zmq_msg_close(&msg);

    TAP_EQ_STR(codec_status_name(PAY__STATUS__SESSION_CLASH), "SESSION_CLASH", "status name");
    TAP_EQ_STR(codec_status_name(PAY__STATUS__OK), "OK", "status name OK");
    TAP_EQ_STR(codec_status_name((Pay__Status)999), "UNKNOWN_STATUS", "unknown status name");
}

static void test_truncated(void)
{
    Pay__TestPut put = PAY__TEST_PUT__INIT;
    Pay__TestRequest req = PAY__TEST_REQUEST__INIT;
    put.key = "prisoner/A1234BC";
    put.value = "some value that is long enough";
    req.request_id = "truncate-me";
    req.body_case = PAY__TEST_REQUEST__BODY_PUT;
    req.put = &put;
    size_t len;
    uint8_t *full = s_pack(&req.base, &len);
    int refused = 0, decoded = 0, silent = 0;
    char err[CODEC_ERR_LEN];
    for (size_t cut = 1; cut < len; cut++) {
        /* A fresh buffer of exactly `cut` bytes, so ASan sees any over-read. */
        uint8_t *b = malloc(cut);
        memcpy(b, full, cut);
        ProtobufCMessage *m = codec_unpack(&pay__test_request__descriptor, b, cut, 0, err);
        if (m)
            decoded++;
        else if (err[0])
            refused++;
        else
            silent++;
        codec_free(&m);
        free(b);
    }
    TAP_NOTE("%zu prefixes: %d refused, %d decoded at a field boundary", len - 1, refused,
             decoded);
    TAP_OK(refused >= (int)len - 4, "nearly every truncation is refused");
    TAP_EQ_INT(silent, 0, "every refusal has a message");
    ProtobufCMessage *m = codec_unpack(&pay__test_request__descriptor, full, len - 1, 0, err);
    TAP_OK(m == NULL && strstr(err, "do not decode"), "cut in the last string: %s", err);
    codec_free(&m);
    free(full);
}

static void test_random(void)
{
    uint32_t seed = 20261128;
    int refused = 0, decoded = 0, silent = 0, bad_enum_escaped = 0;
    char err[CODEC_ERR_LEN];
    for (int i = 0; i < 1000; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 8) % 300;
        uint8_t *b = malloc(len ? len : 1);
        for (size_t j = 0; j < len; j++) {
            seed = seed * 1103515245u + 12345u;
            b[j] = (uint8_t)(seed >> 16);
        }
        /* Every other frame starts like a TestRequest, to get deeper. */
        if (i % 2 && len > 4) {
            b[0] = 0x0a;
            b[1] = 2;
            b[4] = 0x2a;
        }
        ProtobufCMessage *m = codec_unpack(&pay__test_request__descriptor, b, len, 0, err);
        if (m) {
            decoded++;
            if (codec_check_enums(m, err) != 0)
                bad_enum_escaped++;
        } else if (err[0]) {
            refused++;
        } else {
            silent++;
        }
        codec_free(&m);
        free(b);
    }
    TAP_NOTE("1000 random frames: %d refused, %d decoded", refused, decoded);
    TAP_EQ_INT(refused + decoded, 1000, "all 1000 random frames handled");
    TAP_EQ_INT(silent, 0, "every refusal has a message");
    TAP_EQ_INT(bad_enum_escaped, 0, "nothing decoded holds an unknown enum");
    TAP_OK(refused > 500, "most random frames are refused");

    /* Mutations of a valid frame reach deeper paths than pure noise. */
    Pay__TestEcho inner = PAY__TEST_ECHO__INIT, *nested[1] = {&inner};
    Pay__TestEcho echo = PAY__TEST_ECHO__INIT;
    Pay__TestRequest req = PAY__TEST_REQUEST__INIT;
    Pay__Status st[2] = {PAY__STATUS__OK, PAY__STATUS__INTERNAL};
    inner.text = "in";
    inner.n_statuses = 2;
    inner.statuses = st;
    echo.text = "mutate";
    echo.n_nested = 1;
    echo.nested = nested;
    req.request_id = "m";
    req.body_case = PAY__TEST_REQUEST__BODY_ECHO;
    req.echo = &echo;
    size_t len;
    uint8_t *full = s_pack(&req.base, &len);
    silent = 0;
    bad_enum_escaped = 0;
    for (int i = 0; i < 1000; i++) {
        uint8_t *b = malloc(len);
        memcpy(b, full, len);
        for (int k = 0; k < 1 + i % 3; k++) {
            seed = seed * 1103515245u + 12345u;
            b[(seed >> 8) % len] = (uint8_t)(seed >> 20);
        }
        ProtobufCMessage *m = codec_unpack(&pay__test_request__descriptor, b, len, 0, err);
        if (m && codec_check_enums(m, err) != 0)
            bad_enum_escaped++;
        if (!m && !err[0])
            silent++;
        codec_free(&m);
        free(b);
    }
    TAP_EQ_INT(silent, 0, "1000 mutated frames: every refusal has a message");
    TAP_EQ_INT(bad_enum_escaped, 0, "mutated frames: no unknown enum gets through");
    free(full);
}

static void test_oversize(void)
{
    char err[CODEC_ERR_LEN];
    size_t len = (size_t)CODEC_MAX_FRAME + 1;
    uint8_t *b = calloc(1, len);
    ProtobufCMessage *m = codec_unpack(&pay__test_request__descriptor, b, len, 0, err);
    TAP_OK(m == NULL && strstr(err, "exceeds"), "frame over CODEC_MAX_FRAME: %s", err);
    codec_free(&m);
    free(b);

    /* 200,000 empty FeedEntry items: 400 KB of frame that would need about
     * 14 MB of structs. The budget (8 * len + 64 KiB) refuses it. */
    size_t n = 200000;
    len = 2 * n;
    b = malloc(len);
    for (size_t i = 0; i < n; i++) {
        b[2 * i] = 0x0a;      /* field 1, length-delimited */
        b[2 * i + 1] = 0x00;  /* empty FeedEntry */
    }
    m = codec_unpack(&pay__feed_batch__descriptor, b, len, 0, err);
    TAP_OK(m == NULL && strstr(err, "would need more than"),
           "huge repeated field over the budget: %s", err);
    codec_free(&m);
    m = codec_unpack(&pay__feed_batch__descriptor, b, 2 * 100, 0, err);
    TAP_OK(m && ((Pay__FeedBatch *)m)->n_entries == 100, "100 entries fit the budget");
    codec_free(&m);
    free(b);

    /* A length prefix claiming far more than the frame holds. */
    uint8_t liar[] = {0x0a, 0xff, 0xff, 0xff, 0x7f, 'a', 'b'};
    m = codec_unpack(&pay__test_request__descriptor, liar, sizeof liar, 0, err);
    TAP_OK(m == NULL && err[0], "length prefix beyond the frame: %s", err);
    codec_free(&m);
}

static void test_enums(void)
{
    char err[CODEC_ERR_LEN];
    uint8_t status99[] = {0x10, 0x63};   /* ReplyHeader.status = 99 */
    ProtobufCMessage *m = codec_unpack(&pay__reply_header__descriptor, status99,
                                       sizeof status99, 0, err);
    TAP_OK(m == NULL && strstr(err, "status") && strstr(err, "99"),
           "unknown enum value refused: %s", err);
    codec_free(&m);
    uint8_t status40[] = {0x10, 40};
    m = codec_unpack(&pay__reply_header__descriptor, status40, sizeof status40, 0, err);
    TAP_OK(m != NULL, "known enum value accepted");
    codec_free(&m);

    /* Unknown values deep inside: repeated enum in a repeated message in a
     * oneof. Built with protobuf-c, which packs any integer. */
    Pay__TestEcho inner = PAY__TEST_ECHO__INIT, *nested[1] = {&inner};
    Pay__TestEcho echo = PAY__TEST_ECHO__INIT;
    Pay__TestRequest req = PAY__TEST_REQUEST__INIT;
    Pay__Status st[3] = {PAY__STATUS__OK, PAY__STATUS__INTERNAL, (Pay__Status)77};
    inner.n_statuses = 3;
    inner.statuses = st;
    echo.n_nested = 1;
    echo.nested = nested;
    req.body_case = PAY__TEST_REQUEST__BODY_ECHO;
    req.echo = &echo;
    TAP_EQ_INT(codec_check_enums(&req.base, err), -1, "check_enums finds a nested value");
    TAP_OK(strstr(err, "statuses") != NULL, "and names the field: %s", err);
    size_t len;
    uint8_t *b = s_pack(&req.base, &len);
    m = codec_unpack(&pay__test_request__descriptor, b, len, 0, err);
    TAP_OK(m == NULL && strstr(err, "77"), "unpack refuses it: %s", err);
    codec_free(&m);
    free(b);

    st[2] = PAY__STATUS__OK;
    echo.has_status = 1;
    echo.status = (Pay__Status)-5;
    TAP_EQ_INT(codec_check_enums(&req.base, err), -1, "negative enum value refused: %s", err);
    b = s_pack(&req.base, &len);
    m = codec_unpack(&pay__test_request__descriptor, b, len, 0, err);
    TAP_OK(m == NULL && strstr(err, "-5"), "unpack refuses a negative value: %s", err);
    codec_free(&m);
    free(b);
    echo.status = PAY__STATUS__REGIME_MISMATCH;
    TAP_EQ_INT(codec_check_enums(&req.base, err), 0, "all values known");
    /* has_status = 0: the stored value is not looked at. */
    echo.has_status = 0;
    echo.status = (Pay__Status)1234;
    TAP_EQ_INT(codec_check_enums(&req.base, err), 0, "unset optional enum ignored");
}

/* Strings: an embedded NUL or invalid UTF-8 anywhere (nested, repeated)
 * is refused on decode, and repaired on pack. */
static void test_strings(void)
{
    char err[CODEC_ERR_LEN];
    Pay__TestEcho inner = PAY__TEST_ECHO__INIT, *nested[1] = {&inner};
    Pay__TestEcho echo = PAY__TEST_ECHO__INIT;
    Pay__TestRequest req = PAY__TEST_REQUEST__INIT;
    inner.text = "INNERX";
    echo.text = "outer";
    echo.n_nested = 1;
    echo.nested = nested;
    req.request_id = "r-\xc3\xa9";
    req.body_case = PAY__TEST_REQUEST__BODY_ECHO;
    req.echo = &echo;
    size_t len;
    uint8_t *b = s_pack(&req.base, &len);
    ProtobufCMessage *m = codec_unpack(&pay__test_request__descriptor, b, len, 0, err);
    TAP_OK(m != NULL, "valid UTF-8 decodes (%s)", err);
    codec_free(&m);
    uint8_t *x = memmem(b, len, "INNERX", 6);
    TAP_OK(x != NULL, "found the nested text on the wire");
    x[5] = '\0';   /* "INNER\0": a C string would say "INNER" */
    m = codec_unpack(&pay__test_request__descriptor, b, len, 0, err);
    TAP_OK(m == NULL, "an embedded NUL in a nested string is refused");
    TAP_OK(strstr(err, "text") != NULL, "the message names the field: %s", err);
    TAP_EQ_INT(codec_check_strings(&pay__test_request__descriptor, b, len, err), -1,
               "codec_check_strings agrees");
    x[5] = (uint8_t)0xc3;   /* a cut two-byte sequence */
    m = codec_unpack(&pay__test_request__descriptor, b, len, 0, err);
    TAP_OK(m == NULL, "invalid UTF-8 in a nested string is refused");
    x[5] = 'X';
    uint8_t *rid = memmem(b, len, "r-\xc3\xa9", 4);
    rid[3] = 0xff;
    m = codec_unpack(&pay__test_request__descriptor, b, len, 0, err);
    TAP_OK(m == NULL && strstr(err, "request_id"), "invalid UTF-8 in request_id: %s", err);
    TAP_EQ_INT((int)codec_repair_strings(&pay__test_request__descriptor, b, len), 2,
               "repair replaces the two bytes of the broken sequence");
    m = codec_unpack(&pay__test_request__descriptor, b, len, 0, err);
    TAP_OK(m != NULL, "the repaired bytes decode");
    if (m)
        TAP_EQ_STR(((Pay__TestRequest *)m)->request_id, "r-??", "repaired request_id");
    codec_free(&m);
    free(b);

    /* Packing a reply whose message holds invalid UTF-8 sends valid bytes. */
    char bad[] = "cut \xe2\x82";
    Pay__ReplyHeader h = PAY__REPLY_HEADER__INIT;
    h.message = bad;
    zmq_msg_t out;
    TAP_EQ_INT(codec_pack_msg(&h.base, &out), 0, "packs");
    TAP_EQ_INT(codec_check_strings(&pay__reply_header__descriptor, zmq_msg_data(&out),
                                   zmq_msg_size(&out), err), 0,
               "the packed reply holds valid UTF-8 only");
    TAP_EQ_STR(bad, "cut \xe2\x82", "the caller's string is left as it was");
    zmq_msg_close(&out);
}

int main(void)
{
    test_strings();
    test_round_trip();
    test_error_reply();
    test_truncated();
    test_random();
    test_oversize();
    test_enums();
    return tap_done();
}
