/* pctl_import: `payctl import KIND FILE.csv`, the bulk loader for every
 * layout of FORMATS.md.
 *
 * The file is read as a stream (csv.h), its header checked exactly, and
 * each record parsed locally (rows.h): a row that no service could accept
 * is reported at once and not sent. Good rows go to the service that owns
 * the kind in batches (default 500 rows, one request each):
 *   hours      prisons, prisoners, contracts, allocations, transfers,
 *              incentive-levels, hours
 *   wages      pay-rates, outside-wages, deductions
 *   invoicing  employers, billing-terms
 * Every rejected row is reported as "line N: CODE: message", where N is the
 * line where the row starts in the file (the header is line 1). A summary
 * follows; the exit status is 1 if any row was rejected or the import
 * stopped, else 0. On a terminal, progress is shown on stderr.
 *
 * Idempotency: each batch's request_id is a hash of the kind, the batch's
 * position and the rows it carries, so running the same import again (or a
 * retry after a crash or a timeout) sends the same ids and the services
 * answer from their stored first answers: nothing changes, and the report
 * is the same. A batch whose rows changed gets a new id. --rerun mixes a
 * random value into every id, so that rows rejected the first time (say,
 * for an unknown prisoner imported since) are tried again; rows already
 * accepted are unchanged by that too, because every upsert and hours
 * record is itself idempotent in the services.
 *
 * outside-wages rows name a contract but not its prison, which the wages
 * service needs (a governor may only set their own prison's wages): give
 * --prison P for a file of one prison, or --contracts contracts.csv to look
 * each contract's prison up in a FORMATS.md contracts file. */
#ifndef PAYCTL_PCTL_IMPORT_H
#define PAYCTL_PCTL_IMPORT_H

#include <stddef.h>

#include "pctl_cli.h"
#include "rows.h"

int pctl_import_run(pctl_ctx_t *ctx, int argc, char **argv);

/* The service that owns `kind`. */
pctl_service_t pctl_import_service(rows_kind_t kind);

#define PCTL_IMPORT_ID_LEN 96

/* Hashes the rows of one batch into its request_id (pure, for tests):
 * "import-<kind>-<batch>-<32 hex>". `nonce` (may be NULL) is mixed in for
 * --rerun. rows[i] holds ncols cells. */
typedef struct pctl_import_hash_t pctl_import_hash_t;
pctl_import_hash_t *pctl_import_hash_new(rows_kind_t kind, unsigned long batch,
                                         const char *nonce);
void pctl_import_hash_row(pctl_import_hash_t *h, const char *const *cells, size_t ncols,
                          const char *extra);
void pctl_import_hash_final(pctl_import_hash_t **h_p, char out[PCTL_IMPORT_ID_LEN]);

#endif
