/* garbage_test: bad frames against a REAL running service, then a good
 * request. Every bad frame that fits the socket's limit must get an error
 * reply (MALFORMED_REQUEST); an oversize frame gets the connection dropped;
 * and afterwards the service still answers a health request with OK, so no
 * bad input crashed or wedged it.
 *
 * usage: garbage_test hours|wages|invoicing ENDPOINT KEY_FILE SERVER_PUB_FILE
 * (prints TAP) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "codec.h"
#include "hours.pb-c.h"
#include "invoicing.pb-c.h"
#include "tap.h"
#include "wages.pb-c.h"


/* A packed health request of the service under test. */
static int s_health(const char *svc, const char *rid, zmq_msg_t *out)
{
    if (strcmp(svc, "hours") == 0) {
        Pay__HoursRequest r = PAY__HOURS_REQUEST__INIT;
        Pay__HoursGetHealth h = PAY__HOURS_GET_HEALTH__INIT;
        r.request_id = (char *)rid;
        r.body_case = PAY__HOURS_REQUEST__BODY_GET_HEALTH;
        r.get_health = &h;
        return codec_pack_msg(&r.base, out);
    }
    if (strcmp(svc, "wages") == 0) {
        Pay__WagesRequest r = PAY__WAGES_REQUEST__INIT;
        Pay__WagesHealth h = PAY__WAGES_HEALTH__INIT;
        r.request_id = (char *)rid;
        r.body_case = PAY__WAGES_REQUEST__BODY_HEALTH;
        r.health = &h;
        return codec_pack_msg(&r.base, out);
    }
    Pay__InvoicingRequest r = PAY__INVOICING_REQUEST__INIT;
    Pay__Health h = PAY__HEALTH__INIT;
    r.request_id = (char *)rid;
    r.body_case = PAY__INVOICING_REQUEST__BODY_HEALTH;
    r.health = &h;
    return codec_pack_msg(&r.base, out);
}

static void *s_socket(void *ctx, const char *ep, const auth_keypair_t *me, const char *server)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    auth_curve_client(s, me, server, 0);
    zmq_connect(s, ep);
    return s;
}

/* The status of the next reply, or -1 if none comes within `ms`. */
static int s_reply_status(void *s, int ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) != 1)
        return -1;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s, 0) < 0)
        return -1;
    char err[CODEC_ERR_LEN];
    ProtobufCMessage *r = codec_unpack(&pay__reply_header__descriptor, zmq_msg_data(&m),
                                       zmq_msg_size(&m), 0, err);
    zmq_msg_close(&m);
    int st = r ? (int)((Pay__ReplyHeader *)r)->status : -2;
    codec_free(&r);
    return st;
}

static int s_send_bytes(void *s, const void *p, size_t n)
{
    return zmq_send(s, p, n, 0) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: garbage_test hours|wages|invoicing ENDPOINT KEY_FILE SERVER_PUB\n");
        return 2;
    }
    const char *svc = argv[1], *ep = argv[2];
    auth_keypair_t me, server;
    if (auth_keypair_load(argv[3], &me) != 0 || auth_keypair_load(argv[4], &server) != 0) {
        fprintf(stderr, "garbage_test: cannot read the key files\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *s = s_socket(ctx, ep, &me, server.public_z85);

    zmq_msg_t good;
    s_health(svc, "garbage-0", &good);
    TAP_EQ_INT(zmq_msg_send(&good, s, 0) >= 0 && s_reply_status(s, 5000) == PAY__STATUS__OK, 1,
               "%s: health answers OK before the garbage", svc);

    /* Random frames, seeded: each gets an answer, none a crash. */
    srand(12345);
    int answered = 0, malformed = 0;
    for (int i = 0; i < 200; i++) {
        unsigned char buf[256];
        size_t n = 1 + (size_t)(rand() % (int)sizeof buf);
        for (size_t j = 0; j < n; j++)
            buf[j] = (unsigned char)rand();
        s_send_bytes(s, buf, n);
        int st = s_reply_status(s, 5000);
        answered += st >= 0;
        malformed += st == PAY__STATUS__MALFORMED_REQUEST || st == PAY__STATUS__INVALID_ARGUMENT;
    }
    TAP_EQ_INT(answered, 200, "%s: 200 random frames each get an answer", svc);
    TAP_OK(malformed >= 190, "%s: and (almost) all are refused as malformed (%d)", svc, malformed);

    /* Every truncation of a good request. */
    zmq_msg_t full;
    s_health(svc, "garbage-truncated-request-id", &full);
    size_t len = zmq_msg_size(&full);
    int trunc_answered = 0;
    for (size_t cut = 0; cut < len; cut++) {
        s_send_bytes(s, zmq_msg_data(&full), cut);
        trunc_answered += s_reply_status(s, 5000) >= 0;
    }
    zmq_msg_close(&full);
    TAP_EQ_INT(trunc_answered, (int)len, "%s: every truncation of a request gets an answer", svc);

    /* Oversize: over the socket's ZMQ_MAXMSGSIZE, the connection is dropped
     * without a reply; the service itself must stay up. */
    size_t big = (size_t)CODEC_MAX_FRAME + 1024;
    char *huge = calloc(1, big);
    s_send_bytes(s, huge, big);
    free(huge);
    TAP_EQ_INT(s_reply_status(s, 1500), -1, "%s: an oversize frame gets no reply", svc);
    zmq_close(s);

    /* A new connection: the service still answers. */
    s = s_socket(ctx, ep, &me, server.public_z85);
    s_health(svc, "garbage-after", &good);
    TAP_EQ_INT(zmq_msg_send(&good, s, 0) >= 0 && s_reply_status(s, 5000) == PAY__STATUS__OK, 1,
               "%s: health still answers OK after the garbage", svc);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return tap_done();
}
