/* pctl_hours: the hours commands of payctl, over the hours service API.
 *
 *   hours submit --record-id ID --prisoner P --contract C --date D
 *                --session S --minutes M [--units U] --outcome O
 *                [--paid-absence yes|no]
 *   hours amend RECORD_ID [--minutes M] [--units U] [--outcome O]
 *                [--paid-absence yes|no]        (unset fields keep their value)
 *   hours void RECORD_ID
 *   hours list --record-id ID | --prisoner P --week W
 *              | --contract C --from D --to D   (every page)
 *   week close --prison P --week W
 *
 * Cells go to the service exactly as typed: the service checks them and
 * names the offending field. A refusal prints "CODE: message" and exits 1.
 * Submitting the same record again is safe (record_id is the idempotency
 * key); amend and void use a fresh request id per run, so each run is a new
 * amendment, while client.h's resends within one run stay idempotent. */
#ifndef PAYCTL_PCTL_HOURS_H
#define PAYCTL_PCTL_HOURS_H

#include "pctl_cli.h"

int pctl_hours_submit(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_hours_amend(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_hours_void(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_hours_list(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_week_close(pctl_ctx_t *ctx, int argc, char **argv);

#endif
