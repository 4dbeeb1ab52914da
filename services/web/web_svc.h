/* web_svc: pay-web's calls to the three services, made with the key pair
 * of the session the page is for.
 *
 * A page opens its own CURVE connections (client.h, one per service it
 * needs, made on first use) with the session's key pair and closes them
 * when the page is done. So each page's calls go through a fresh
 * handshake, and a key that has been taken off the allow-list (payctl
 * keys revoke, then SIGHUP to the services) is refused at the very next
 * page, whatever connections earlier pages had open. The services decide
 * what the key may do; pay-web only reports their answer.
 *
 * A reply whose status is not OK becomes an HTTP status and a message for
 * the page: PERMISSION_DENIED 403, NOT_FOUND and the UNKNOWN_* codes 404,
 * INVALID_ARGUMENT and MALFORMED_REQUEST 400, other refusals of a rule 409,
 * UNAVAILABLE and no answer at all 503, INTERNAL 502.
 *
 * Counters for /metrics (calls and answers per service and status) are
 * process-wide atomics.
 *
 * Ownership: a web_calls_t borrows its configuration and key pair and
 * owns its clients; replies are the caller's, freed with codec_free. */
#ifndef PAY_WEB_SVC_H
#define PAY_WEB_SVC_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "auth.h"
#include "client.h"

typedef enum { WEB_SVC_HOURS = 0, WEB_SVC_WAGES, WEB_SVC_INVOICING, WEB_SVC_COUNT } web_service_t;

typedef struct {
    void *zmq_ctx;
    char endpoint[WEB_SVC_COUNT][256];
    char server_public[WEB_SVC_COUNT][AUTH_Z85_LEN];
    int timeout_ms;         /* per try */
    int retries;
} web_svc_cfg_t;

#define WEB_ERR_LEN 512

typedef struct {
    const web_svc_cfg_t *cfg;
    const auth_keypair_t *keys;
    client_t *client[WEB_SVC_COUNT];
    int status;                 /* HTTP status of the last failure, 0 if none */
    char error[WEB_ERR_LEN];    /* its message */
    int pay_status;             /* the service's status code, -1 for no answer */
} web_calls_t;

/* "hours", "wages", "invoicing". */
const char *web_service_name(web_service_t s);

void web_calls_init(web_calls_t *c, const web_svc_cfg_t *cfg, const auth_keypair_t *keys);
/* Closes every connection the page opened. */
void web_calls_release(web_calls_t *c);

/* Sends `req` to service `s` and returns its reply decoded as `d` if the
 * reply's status is OK; otherwise NULL with c->status, c->error and
 * c->pay_status set (a refusal reply is freed here). */
ProtobufCMessage *web_calls_ask(web_calls_t *c, web_service_t s, const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *d);

/* The same, but a refusal is returned too (status not OK) for a page that
 * shows it; NULL only when the service did not answer. */
ProtobufCMessage *web_calls_send(web_calls_t *c, web_service_t s, const ProtobufCMessage *req,
                                 const ProtobufCMessageDescriptor *d);

/* The status and message fields (2 and 3) every reply starts with. */
int web_reply_status(const ProtobufCMessage *m, const char **message);

/* Reads field `f` of `m` if it is a set integer or bool field (proto2
 * optional with its has_ flag, or required). Returns 1 with *out set, 0
 * otherwise. Negative values read as 0. */
int web_field_u64(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, uint64_t *out);

/* HTTP status for a service status code (see above). */
int web_http_status_of(int pay_status);

/* Process-wide counters, for /metrics. */
typedef struct {
    uint64_t calls[WEB_SVC_COUNT];
    uint64_t no_answer[WEB_SVC_COUNT];
    uint64_t by_status[WEB_SVC_COUNT][64];  /* Pay__Status values below 64 */
} web_svc_counters_t;
void web_svc_counters(web_svc_counters_t *out);

#endif
