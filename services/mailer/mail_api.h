/* mail_api: pay-mailer's request handlers (server.h handler table of one):
 *
 *   ListDeliveries  finance        every delivery, or one state / employer
 *   Resend          finance        queue a document again (a command: its
 *                                  answer is stored for a retry)
 *   MailerHealth    any role but employer: feed cursor, counts per state,
 *                                  quarantined and ignored events, the relay
 *
 * The caller's role comes from its CURVE key (the ZAP User-Id), never from
 * the request.
 *
 * Ownership: mail_api_t borrows everything it points to; the handler builds
 * its reply in memory it frees before returning (server_reply packs it). */
#ifndef PAY_MAIL_API_H
#define PAY_MAIL_API_H

#include "feed.h"
#include "mail_store.h"
#include "mail_worker.h"
#include "server.h"

typedef struct {
    mail_store_t *store;
    feed_consumer_t *consumer;      /* may be NULL (tests) */
    mail_worker_t *worker;          /* may be NULL */
    const char *relay;              /* for health: where mail goes, no secrets */
} mail_api_t;

/* server_handler_fn; `svc` is the mail_api_t. */
int mail_api_handle(void *svc, server_call_t *call, const auth_identity_t *caller,
                    const ProtobufCMessage *request, const char *request_id, MDB_txn *txn);

#endif
