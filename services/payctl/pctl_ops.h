/* pctl_ops: the commands that ask every service at once.
 *
 *   reconcile --week W [--prison P]
 *       FORMATS.md's reconciliation table for each prison and week:
 *       minutes_captured and billable_minutes_captured from the hours
 *       service (HoursGetWeekTotals), minutes_priced from the wages service
 *       (ReconciliationQuery), billable_minutes_invoiced_or_pending from
 *       the invoicing service (Reconcile: invoiced + pending). Exit 1 on
 *       any MISMATCH. A service that does not answer, or refuses, is an
 *       error (exit 1, no table): never a silent OK.
 *       Without --prison: every prison the hours service knows
 *       (HoursListPrisons), plus any other that the wages or invoicing
 *       service reports for that week, so that a prison whose hours reached
 *       neither consumer still shows, as a MISMATCH.
 *   status
 *       one row per service: up or down, its feed cursor, the head of the
 *       feed it consumes (the hours service's outbox head, as the hours
 *       service itself reports it when it is up), and the lag between
 *       them. Exit 1 if any service is down.
 *   backup NAME
 *       asks each service for a compact hot backup named NAME (backup.h):
 *       each writes <its --backup-dir>/NAME/<service>/data.mdb off its
 *       request loop and answers once the copy is on disk. NAME is checked
 *       here first (backup_name_check). Each service is first asked for its
 *       health with the usual timeout (a down one fails fast), then for the
 *       copy with a 120 s timeout (unless --timeout-ms / PAY_TIMEOUT_MS is
 *       set); a resend waits for the same copy.
 *   health [SERVICE]
 *       the probe an orchestrator runs beside a service (liveness,
 *       readiness, HEALTHCHECK): asks SERVICE (default $PAY_SERVICE) for
 *       its health with a 1 s timeout per try (unless --timeout-ms or
 *       PAY_TIMEOUT_MS says otherwise); exit 0 and one line if it answers
 *       healthy, else 1. With no key configured and no <keys-dir>/payctl.key,
 *       it uses <keys-dir>/SERVICE.key, the service's own key pair.
 *
 * Ownership: nothing outlives a command. */
#ifndef PAYCTL_PCTL_OPS_H
#define PAYCTL_PCTL_OPS_H

#include <stdint.h>

#include "pctl_cli.h"

int pctl_reconcile(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_status(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_backup(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_health(pctl_ctx_t *ctx, int argc, char **argv);

/* "OK" when captured == priced and billable captured == invoiced or
 * pending, else "MISMATCH" (FORMATS.md). Pure; for the tests. */
const char *pctl_recon_status(int64_t captured, int64_t priced, int64_t billable_captured,
                              int64_t billable_invoiced_or_pending);

#endif
