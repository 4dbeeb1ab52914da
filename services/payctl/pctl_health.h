/* pctl_health: what each service says of itself and of its feeds, for
 * `payctl status` and for an import that must wait for a feed.
 *
 * Two feeds cross the services: the hours feed (produced by hours,
 * consumed by wages and invoicing: prisons, prisoners, contracts, records,
 * closes) and the invoice feed (produced by invoicing, consumed by hours:
 * employers; and documents). A row a service owns may name a fact another
 * service owns (a contract's employer, a terms row's contract, an outside
 * wage's contract), which the owning service publishes on its feed; so an
 * import of such rows waits until the consumer has applied the feed up to
 * the producer's head (pctl_health_wait_feed).
 *
 * Ownership: nothing outlives a call. */
#ifndef PAYCTL_PCTL_HEALTH_H
#define PAYCTL_PCTL_HEALTH_H

#include <stdint.h>

#include "pctl_cli.h"
#include "rows.h"

typedef enum {
    PCTL_FEED_HOURS = 0,
    PCTL_FEED_INVOICES,
    PCTL_FEED_COUNT
} pctl_feed_t;

/* "hours" or "invoices". */
const char *pctl_feed_name(pctl_feed_t feed);

typedef struct {
    int up;                     /* the health request was answered */
    char detail[160];
    int produces;               /* the feed it produces, or -1 */
    int has_head;
    uint64_t head;              /* its outbox head (producer) */
    int consumes;               /* the feed it consumes, or -1 */
    int has_cursor;
    uint64_t cursor;            /* its durable cursor (consumer) */
    uint64_t seen_head;         /* the producer's head as the consumer last heard it */
    uint64_t quarantined;       /* feed events it could not apply */
} pctl_health_t;

/* Asks service `svc` for its health (the usual timeout; silence is
 * reported by the connection code). Fills *out; returns 0 if it answered,
 * else -1 with out->up = 0. `quiet`: print nothing when it does not. */
int pctl_health_get(pctl_ctx_t *ctx, pctl_service_t svc, int quiet, pctl_health_t *out);

/* The feed an import of `kind` depends on, and the service consuming it:
 * contracts need the invoice feed at hours (employers); billing terms the
 * hours feed at invoicing (contracts); pay rates, outside wages and
 * deductions the hours feed at wages (prisons, contracts, prisoners).
 * Returns 0 and fills both, or -1 for a kind that depends on none. */
int pctl_health_dependency(rows_kind_t kind, pctl_feed_t *feed, pctl_service_t *consumer);

/* Waits until `consumer` has applied `feed` up to the head its producer
 * reports now, at most timeout_s seconds, saying on stderr what it waits
 * for (once; with the position on a terminal). Returns 0 when caught up or
 * when the producer cannot be asked (with a warning: the service then
 * judges each row as it stands), or -1 on timeout after printing why. */
int pctl_health_wait_feed(pctl_ctx_t *ctx, pctl_feed_t feed, pctl_service_t consumer,
                          unsigned timeout_s);

#endif
