/* hrs_service: the hours service's request handlers.
 *
 * Why this module exists: it turns one decoded HoursRequest, from one
 * authenticated caller, into changes in the hours store, events in the
 * outbox (in the same transaction) and one HoursReply. The rules it applies
 * are hrs_rules'; the lookups are hrs_store's; the socket, the group commit
 * and the replay of first answers are server.h's. hrs_service_apply takes
 * no socket at all, so the batch logic (checks 9 to 11 see the earlier
 * records of the same batch because each accepted record is written before
 * the next is checked) can be tested against a real LMDB in a temp folder.
 *
 * Roles (DOMAIN.md): an employer, or a caller without a role, is refused
 * everything. Instructors record, amend and void at the prison of their
 * scope; finance records anywhere (also past the backdate limit) and closes
 * pay weeks; industries manages reference data; a governor sets the pay
 * policy of their prison. Reads: finance and service everywhere,
 * instructors and governors at their own prison.
 *
 * Memory: the reply that hrs_service_apply returns, and everything it points
 * to, belongs to the service and stays valid until the next call. */
#ifndef PAY_HRS_SERVICE_H
#define PAY_HRS_SERVICE_H

#include <lmdb.h>
#include <stdbool.h>

#include "auth.h"
#include "feed.h"
#include "hours.pb-c.h"
#include "hrs_store.h"
#include "server.h"

typedef struct hrs_service_t hrs_service_t;

/* Borrows the store, which must outlive the service. NULL on failure. */
hrs_service_t *hrs_service_new(hrs_store_t *store);
void hrs_service_destroy(hrs_service_t **self_p);

/* For the stats request; both may stay NULL. Borrowed. */
void hrs_service_set_feed(hrs_service_t *self, feed_producer_t *feed);
/* The invoice feed's consumer, for health (cursor, head); may stay NULL.
 * Borrowed. */
void hrs_service_set_consumer(hrs_service_t *self, feed_consumer_t *invoices);

/* Backups (backup.h) for the backup request; without one it is refused. */
typedef struct backup_t backup_t;
void hrs_service_set_backup(hrs_service_t *self, backup_t *backup);

/* Applies `req` from `caller` inside `txn` (a write transaction, or a
 * nested one). Returns 0 with *reply set (keep the writes; *readonly says
 * the request changed nothing), or an LMDB error (MDB_MAP_FULL included)
 * after which the caller must abort the transaction; *reply then says
 * INTERNAL. */
int hrs_service_apply(hrs_service_t *self, const auth_identity_t *caller,
                      const Pay__HoursRequest *req, MDB_txn *txn, Pay__HoursReply **reply,
                      bool *readonly);

/* The server_handler_fn over hrs_service_apply; `svc` is the service. */
int hrs_service_handle(void *svc, server_call_t *call, const auth_identity_t *caller,
                       const ProtobufCMessage *request, const char *request_id, MDB_txn *txn);

/* Records accepted and refused since start (a batch rerun after the map
 * grew may count twice). */
void hrs_service_counts(hrs_service_t *self, uint64_t *accepted, uint64_t *rejected);

#endif
