/* pctl_conn: one CURVE connection from payctl to one service, made from the
 * resolved configuration (pctl_config.h): payctl's own key pair from the
 * key file, the server's public key from its .pub file, the endpoint, and
 * the per-try timeout. Requests go through client.h (Lazy Pirate: a silent
 * server gets the same bytes again, up to 3 times, which servers answer
 * from their stored first answer).
 *
 * Every failure is reported to the user here, on stderr, in words that say
 * what to fix (which file or setting), so commands only pass -1 along.
 *
 * Ownership: a connection owns its zmq context and client; replies are
 * the caller's, freed with codec_free. */
#ifndef PAYCTL_PCTL_CONN_H
#define PAYCTL_PCTL_CONN_H

#include <protobuf-c/protobuf-c.h>

#include "pctl_cli.h"

typedef struct pctl_conn_t pctl_conn_t;

/* Connects to service `svc`. Returns NULL after printing why. */
pctl_conn_t *pctl_conn_new(const pctl_ctx_t *ctx, pctl_service_t svc);

/* Closes and frees. Accepts NULL; NULLs *self_p. */
void pctl_conn_destroy(pctl_conn_t **self_p);

/* Sends `req` (its request_id set, or empty for a random one) and waits for
 * the reply. Returns 0 with *reply set (the caller checks its status), or
 * -1 after printing that the service did not answer. */
int pctl_conn_call(pctl_conn_t *self, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply);

/* "hours at tcp://127.0.0.1:5550", for messages. */
const char *pctl_conn_name(const pctl_conn_t *self);

/* The client underneath, for several requests in flight (client_send /
 * client_recv), and the per-try timeout and retry count it was made with. */
struct client_t *pctl_conn_client(pctl_conn_t *self);
int pctl_conn_timeout_ms(const pctl_conn_t *self);
int pctl_conn_retries(void);

#endif
