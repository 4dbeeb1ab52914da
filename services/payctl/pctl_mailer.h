/* pctl_mailer: payctl's commands for the delivery service (pay-mailer),
 * over its API, with finance's key:
 *
 *   invoices deliveries [--state S] [--employer E]
 *       every document's delivery: recipient, state (PENDING, SENT,
 *       FAILED), tries, whether a UBL went with it, the Message-ID, when
 *       (sent, or next try, or last try), and the relay's answer or the
 *       reason of the last failure;
 *   invoices resend NUMBER [--to ADDRESS]
 *       queues the document again (a SENT one under a new Message-ID);
 *       --to replaces the recipient.
 *
 * The mailer's endpoint and public key are configured like the other
 * services' (pctl_config.h: --mailer-endpoint / PAY_MAILER_ENDPOINT,
 * --mailer-public-key, default <keys-dir>/mailer.pub). A resend uses a
 * fresh request id per run: running it twice queues it twice (a retry of
 * one run after a lost answer is answered from the stored first answer). */
#ifndef PAYCTL_PCTL_MAILER_H
#define PAYCTL_PCTL_MAILER_H

#include "pctl_cli.h"

int pctl_mailer_deliveries(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_mailer_resend(pctl_ctx_t *ctx, int argc, char **argv);

#endif
