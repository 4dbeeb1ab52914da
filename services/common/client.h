/* client: a service's API client: a CURVE DEALER with the Lazy Pirate
 * pattern (ZeroMQ Guide ch. 4).
 *
 * client_call sends one request and waits up to timeout_ms for the reply
 * whose request_id matches. On silence it closes the socket (dropping
 * anything queued), opens a new one and sends the SAME bytes again, up to
 * `retries` times. Resending is safe because servers (server.h) keep the
 * first answer for each (caller, request_id) and return it again. A reply
 * with status UNAVAILABLE (a server shutting down) is treated like silence.
 * If the request leaves request_id (field 1) empty, the client fills it
 * with 32 random hex characters.
 *
 * client_send / client_recv are the asynchronous pair, for many requests in
 * flight (benchmarks, bulk loads); they never resend.
 *
 * Ownership: the client borrows the zmq context and owns its socket.
 * Replies come from codec_unpack and are freed with codec_free. A client is
 * used by one thread at a time. */
#ifndef PAY_CLIENT_H
#define PAY_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "auth.h"
#include "codec.h"

#define CLIENT_ID_LEN 129   /* request_id up to 128 characters + NUL */

typedef struct client_t client_t;

/* Connects to `endpoint` as a CURVE client with key pair `keys` to the
 * server whose public key is `server_public_z85`. Both NULL: plaintext
 * (test setting only). timeout_ms <= 0 means 2500; retries < 0 means 3.
 * Returns NULL on failure (logged). */
client_t *client_new(void *zmq_ctx, const char *endpoint, const auth_keypair_t *keys,
                     const char *server_public_z85, int timeout_ms, int retries);

/* Closes the socket and frees. Accepts NULL; NULLs *self_p. */
void client_destroy(client_t **self_p);

/* Sends `req` and waits for its reply, retrying as above. Returns 0 with
 * *reply_out set (decoded as `reply_desc`; the caller checks its status and
 * frees it with codec_free), or -1 if no reply came after every retry
 * (errno ETIMEDOUT) or the request could not be packed (EINVAL). */
int client_call(client_t *self, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *reply_desc,
                ProtobufCMessage **reply_out);

/* Sends `req` without waiting. Copies the request_id used (the request's
 * own, or the one generated) to request_id_out if not NULL. Returns 0 or
 * -1 (EAGAIN if the send queue stayed full for timeout_ms). */
int client_send(client_t *self, const ProtobufCMessage *req,
                char request_id_out[CLIENT_ID_LEN]);

/* Receives the next reply, whatever its request_id, waiting up to
 * timeout_ms (-1: forever). Returns 0 with *reply_out set, or -1
 * (ETIMEDOUT, or EPROTO for a reply that did not decode). */
int client_recv(client_t *self, const ProtobufCMessageDescriptor *reply_desc,
                int timeout_ms, ProtobufCMessage **reply_out);

/* The request_id (field 1) of any request or reply, or NULL. */
const char *client_request_id(const ProtobufCMessage *m);

/* How many times client_call has resent since the client was made. */
uint64_t client_retries(const client_t *self);

/* The DEALER, e.g. for zmq_poll in a benchmark; it changes after a retry. */
void *client_socket(client_t *self);

#endif
