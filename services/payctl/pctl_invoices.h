/* pctl_invoices: the invoicing commands of payctl, over the invoicing API.
 *
 *   invoices issue [--employer E] [--period P] [--as-of DATE]   (finance)
 *   invoices list [--employer E]          (an employer key sees its own only)
 *   invoices get NUMBER [--pdf FILE] [--csv] [--ubl FILE]
 *   invoices overdue [--as-of DATE]                              (finance)
 *   invoices statement [--employer E]     (an employer key gets its own)
 *   invoices lines --from P [--to P] [--employer E]
 *   invoices pending [--employer E]                              (finance)
 *   invoices journal FILE|-                                      (finance)
 *   payments record NUMBER --amount A --date D [--reference R]   (finance)
 *
 * Money is shown in pounds with two decimals (money_format), never through
 * floating point. `get` prints the document's summary; --pdf and --ubl
 * write the rendered document to FILE (through FILE.tmp and a rename, so a
 * failed run never leaves half a file), and --csv prints the invoice lines
 * (FORMATS.md "invoice lines") on stdout instead of the summary.
 *
 * A payment's request_id is derived from its number, amount, date and
 * reference, so running the same `payments record` again (a retry after a
 * lost answer, a script run twice) is answered from the service's stored
 * first answer and records nothing more. A second, genuinely separate
 * payment of the same amount on the same day needs its own --reference.
 * Issuing uses a fresh id per run: a second run finds nothing more due. */
#ifndef PAYCTL_PCTL_INVOICES_H
#define PAYCTL_PCTL_INVOICES_H

#include <stddef.h>

#include "pctl_cli.h"

int pctl_invoices_issue(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_invoices_list(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_invoices_get(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_invoices_overdue(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_payments_record(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_invoices_statement(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_invoices_lines(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_invoices_pending(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_invoices_journal(pctl_ctx_t *ctx, int argc, char **argv);

/* Writes `len` bytes to `path` through "<path>.tmp" and a rename. Returns
 * 0, or -1 after printing why. Shared with the other commands that save
 * files. */
int pctl_write_file(const pctl_ctx_t *ctx, const char *path, const void *data, size_t len);

#endif
