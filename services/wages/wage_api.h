/* wage_api: the wage service's request handler (server.h's
 * server_handler_fn for pay.WagesRequest).
 *
 * Why this module exists: it is where a caller's role meets the data.
 * Governors set rates, policies and outside wages for their own prison
 * only; finance reads everything and records deductions and adjustments;
 * instructors, employers and industries get PERMISSION_DENIED; the service
 * role may ask for health and backups. Every row of a set or post request is
 * answered on its own (a refused row changes nothing), every list is paged
 * (at most WAGE_PAGE_MAX items per reply), and every field is checked
 * before use.
 *
 * Ownership: a wage_api_t borrows its store and feed consumer. All memory
 * of a reply lives in a per-call arena freed before the handler returns
 * (server_reply packs the reply first). */
#ifndef PAY_WAGE_API_H
#define PAY_WAGE_API_H

#include "auth.h"
#include "feed.h"
#include "server.h"
#include "wage_store.h"

#define WAGE_PAGE_DEFAULT 100
#define WAGE_PAGE_MAX 1000

typedef struct backup_t backup_t;

typedef struct {
    wage_store_t *ws;
    feed_consumer_t *consumer;   /* for health; may be NULL */
    backup_t *backup;            /* backup.h; NULL: backups refused */
} wage_api_t;

/* server_handler_fn: `svc` is a wage_api_t. */
int wage_api_handle(void *svc, server_call_t *call, const auth_identity_t *caller,
                    const ProtobufCMessage *request, const char *request_id,
                    MDB_txn *txn);

#endif
