/* pctl_feed: the feed quarantine, as finance sees it.
 *
 *   feed quarantine list [--service S]
 *       every event a consumer could not apply, with its service, feed,
 *       seq, prison-week (where it names one), when it was quarantined,
 *       the retries that failed since, and the reason.
 *   feed quarantine retry [--service S] [--seq N]
 *       applies them again (after a fix, or an upgrade that knows the
 *       event's kind), in seq order, each exactly once; lists what is
 *       still held. Exit 1 while anything stays quarantined.
 *
 * Each consumer holds its own quarantine: hours (the invoice feed), wages
 * and invoicing (the hours feed). Without --service, all three are asked.
 *
 * Ownership: nothing outlives a command. */
#ifndef PAYCTL_PCTL_FEED_H
#define PAYCTL_PCTL_FEED_H

#include "pctl_cli.h"

int pctl_feed_quarantine_list(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_feed_quarantine_retry(pctl_ctx_t *ctx, int argc, char **argv);

#endif
