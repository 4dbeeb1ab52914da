/* backup: hot backups of a service's store, off the request loop, into a
 * folder that the operator configures.
 *
 * Why: a copy of a big store takes seconds; run inside a request's write
 * transaction it stalled every other request (and a map-full rerun ran it
 * twice), and a client that named a folder could write anywhere the
 * service can. Here the client gives only a NAME, checked by
 * backup_name_check; the copy goes to <root>/<name>/<service>/data.mdb,
 * where <root> is the service's --backup-dir, so that <root>/<name> is laid
 * out like a data dir (restore: copy it into a fresh --data-dir; see
 * docs/operations.md). The copy is mdb_env_copy2 with MDB_CP_COMPACT from
 * its own read transaction, on a helper thread, started once the batch
 * that asked for it is durable (server_call_later), and the request is
 * answered when the copy is on disk. One backup at a time.
 *
 * A request resent under the same request_id (a client that timed out) is
 * not a second backup: while the copy runs it waits for the same answer,
 * and after it gets the answer again (kept in memory for the last backup).
 * Backups are not stored for replay across a restart: there a resend finds
 * the name taken, and is told so.
 *
 * Map growth: store_write waits for a running copy before it remaps (see
 * store_backup), so a backup never races a growth.
 *
 * Ownership: backup_new borrows the store (it must outlive the backup_t)
 * and copies the root and service name. backup_destroy waits for a running
 * copy and answers anyone still waiting with UNAVAILABLE; call it before
 * server_destroy. */
#ifndef PAY_BACKUP_H
#define PAY_BACKUP_H

#include <stddef.h>

#include "auth.h"
#include "server.h"
#include "store.h"

#define BACKUP_NAME_MAX 64
#define BACKUP_ERR_LEN 160

/* Whether `name` may name a backup: 1 to BACKUP_NAME_MAX characters of
 * A-Z a-z 0-9 . _ -, not starting with a dot (so no "..", no path, no
 * hidden file). Returns 0, or -1 with the reason in err. Pure. */
int backup_name_check(const char *name, char err[BACKUP_ERR_LEN]);

typedef struct backup_t backup_t;

/* Backups of `store` under `root` (created when the first backup is made),
 * as <root>/<name>/<service>. Returns NULL on failure (logged). */
backup_t *backup_new(store_t *store, const char *root, const char *service);

/* Waits for a running copy, answers what still waits with UNAVAILABLE,
 * stops the thread and frees. Accepts NULL; NULLs *self_p. */
void backup_destroy(backup_t **self_p);

/* Registers a timer with the server that answers finished backups.
 * Returns 0 or -1. */
int backup_attach(backup_t *self, server_t *server);

/* The whole of one backup request, inside the service's handler, after
 * the caller's role was checked: `name` as the client gave it, `dir_given`
 * if the request still carries the old folder field (refused: backups go
 * under --backup-dir). Answers a refusal at once (INVALID_ARGUMENT: a bad
 * name, or one already used; RESOURCE_EXHAUSTED: another backup is
 * running), or leaves the request to be answered once the copy is done
 * (OK "backup written to ...", or INTERNAL / RESOURCE_EXHAUSTED if the copy
 * failed). Never writes to the transaction; marks the call read-only.
 * Returns 0 (the handler's return value), or -1 if no answer could be
 * made. */
int backup_handle(backup_t *self, server_call_t *call, const auth_identity_t *caller,
                  const char *request_id, const char *name, int dir_given);

/* The folder the last successful backup went to ("" if none). */
const char *backup_last_path(backup_t *self);

#endif
