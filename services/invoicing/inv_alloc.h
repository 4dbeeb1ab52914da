/* inv_alloc: allocating a credit note to the invoices it adjusts.
 *
 * DOMAIN.md: a credit note is allocated to the invoice it adjusts, up to
 * that invoice's outstanding amount; what is left stays on the employer's
 * account as unallocated credit. A credit note adjusts the invoices its
 * adjustment lines name (original_invoice). When it names several, its
 * credit goes to them oldest first (ascending number), each taking at most
 * what is outstanding on it (total - paid - credit already allocated), so
 * an invoice is never credited below zero and the credit is never counted
 * twice. A name that is not an invoice (a credit note billed a group first)
 * takes nothing.
 *
 * Two layers, as everywhere in this service:
 *   inv_alloc_plan      the rule, a pure function over plain values;
 *   inv_alloc_credit_note  loads the invoices, applies the plan inside the
 *                       issuing transaction, and records the allocations
 *                       on the credit note and the invoices.
 *
 * Ownership: inv_alloc_t holds the arrays that the credit note's stored
 * message points to; the caller frees it with inv_alloc_free after the
 * credit note is written. */
#ifndef PAY_INV_ALLOC_H
#define PAY_INV_ALLOC_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "inv_doc.h"
#include "invoicing.pb-c.h"

typedef struct inv_store_t inv_store_t;

typedef struct {
    char number[INV_NUMBER_LEN];   /* the invoice */
    int64_t outstanding;           /* what is still owed on it, pence */
    int64_t amount;                /* filled by inv_alloc_plan */
} inv_alloc_item_t;

/* Shares `credit` pence (>= 0) out over items in their order, each taking
 * min(what is left, its outstanding if positive). Returns what is left
 * (the unallocated credit). */
int64_t inv_alloc_plan(int64_t credit, inv_alloc_item_t *items, size_t n);

/* The invoices the lines adjust: the distinct ref_number of ADJUSTMENT
 * lines that name an invoice (INV-), in ascending number order, into
 * out (at most max). Returns how many. */
size_t inv_alloc_targets(const inv_line_t *lines, size_t n, inv_alloc_item_t *out, size_t max);

typedef struct {
    Pay__StoredAllocation *items;
    Pay__StoredAllocation **ptrs;
    size_t n;
    inv_alloc_item_t *names;       /* the storage of items[].number */
} inv_alloc_t;

/* Allocates the credit note `cn` (kind CREDIT_NOTE, total < 0, its lines
 * as `lines`) to the invoices it adjusts: each invoice's `allocated` grows
 * and is written back; cn->allocated and cn->allocations are set (pointing
 * into *out). Returns 0 or an LMDB error. */
int inv_alloc_credit_note(inv_store_t *store, MDB_txn *txn, Pay__StoredDocument *cn,
                          const inv_line_t *lines, size_t n_lines, inv_alloc_t *out);

void inv_alloc_free(inv_alloc_t *a);

#endif
