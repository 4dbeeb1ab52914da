/* pay_wire: sends raw request bytes to a real service over CURVE and
 * prints the raw replies, so that a test can build any frame (invalid
 * UTF-8 included) and check the reply bytes with its own, strict decoder.
 *
 * usage: pay_wire ENDPOINT KEY_FILE SERVER_PUB_FILE COUNT INTERVAL_MS < request
 *
 * Reads one request frame from stdin and sends it COUNT times on ONE
 * connection (a DEALER), INTERVAL_MS apart, waiting up to 2 s for each
 * reply. Prints one line per send: the reply as hex, or "timeout". The one
 * connection is the point for revocation tests: the key is checked on every
 * message, not only at the handshake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "auth.h"

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: pay_wire ENDPOINT KEY_FILE SERVER_PUB_FILE COUNT "
                        "INTERVAL_MS < request\n");
        return 2;
    }
    auth_keypair_t me, server;
    if (auth_keypair_load(argv[2], &me) != 0 || auth_keypair_load(argv[3], &server) != 0) {
        fprintf(stderr, "pay_wire: cannot read the key files\n");
        return 2;
    }
    static unsigned char req[1 << 20];
    size_t len = fread(req, 1, sizeof req, stdin);
    long count = atol(argv[4]), interval = atol(argv[5]);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (auth_curve_client(s, &me, server.public_z85, 0) != 0 || zmq_connect(s, argv[1]) != 0) {
        fprintf(stderr, "pay_wire: cannot connect to %s\n", argv[1]);
        return 2;
    }
    for (long i = 0; i < count; i++) {
        if (i > 0)
            s_sleep_ms(interval);
        zmq_send(s, req, len, 0);
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 2000) != 1) {
            printf("timeout\n");
            fflush(stdout);
            continue;
        }
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, s, 0);
        const unsigned char *p = zmq_msg_data(&m);
        for (size_t k = 0; k < zmq_msg_size(&m); k++)
            printf("%02x", p[k]);
        printf("\n");
        fflush(stdout);
        zmq_msg_close(&m);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}
