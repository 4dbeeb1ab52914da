/* inv_alloc: see inv_alloc.h. */
#include "inv_alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inv_store.h"

#define MAX_TARGETS 256

int64_t inv_alloc_plan(int64_t credit, inv_alloc_item_t *items, size_t n)
{
    int64_t left = credit > 0 ? credit : 0;
    for (size_t i = 0; i < n; i++) {
        int64_t room = items[i].outstanding > 0 ? items[i].outstanding : 0;
        items[i].amount = left < room ? left : room;
        left -= items[i].amount;
    }
    return left;
}

static int s_cmp_number(const void *a, const void *b)
{
    const inv_alloc_item_t *x = a, *y = b;
    inv_kind_t kx, ky;
    uint64_t sx = 0, sy = 0;
    inv_parse_number(x->number, &kx, &sx);
    inv_parse_number(y->number, &ky, &sy);
    return sx < sy ? -1 : sx > sy;
}

size_t inv_alloc_targets(const inv_line_t *lines, size_t n, inv_alloc_item_t *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        inv_kind_t kind;
        uint64_t seq;
        const char *ref = lines[i].ref_number;
        if (lines[i].kind != INV_LINE_ADJUSTMENT || inv_parse_number(ref, &kind, &seq) != 0
            || kind != INV_KIND_INVOICE)
            continue;
        size_t j;
        for (j = 0; j < k && strcmp(out[j].number, ref) != 0; j++)
            ;
        if (j < k)
            continue;
        memset(&out[k], 0, sizeof out[k]);
        memcpy(out[k].number, ref, sizeof out[k].number);
        k++;
    }
    qsort(out, k, sizeof *out, s_cmp_number);
    return k;
}

void inv_alloc_free(inv_alloc_t *a)
{
    if (!a)
        return;
    free(a->items);
    free(a->ptrs);
    free(a->names);
    memset(a, 0, sizeof *a);
}

int inv_alloc_credit_note(inv_store_t *store, MDB_txn *txn, Pay__StoredDocument *cn,
                          const inv_line_t *lines, size_t n_lines, inv_alloc_t *out)
{
    inv_alloc_item_t *t = calloc(MAX_TARGETS, sizeof *t);
    Pay__StoredDocument **inv = calloc(MAX_TARGETS, sizeof *inv);
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (!t || !inv) {
        rc = ENOMEM;
        goto done;
    }
    size_t n = inv_alloc_targets(lines, n_lines, t, MAX_TARGETS);
    for (size_t i = 0; i < n; i++) {
        inv[i] = inv_store_get_doc(store, txn, t[i].number, &rc);
        if (!inv[i]) {
            if (rc != MDB_NOTFOUND)
                goto done;
            rc = 0;   /* named but never stored: nothing to credit */
            continue;
        }
        if (strcmp(inv[i]->employer, cn->employer) == 0)
            t[i].outstanding = inv_store_doc_outstanding(inv[i]);
    }
    int64_t left = inv_alloc_plan(-cn->total, t, n);
    out->items = calloc(n ? n : 1, sizeof *out->items);
    out->ptrs = calloc(n ? n : 1, sizeof *out->ptrs);
    if (!out->items || !out->ptrs) {
        rc = ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (t[i].amount <= 0)
            continue;
        inv[i]->allocated += t[i].amount;
        inv[i]->has_allocated = 1;
        if ((rc = inv_store_put_doc(store, txn, inv[i])) != 0)
            goto done;
        Pay__StoredAllocation *a = &out->items[out->n];
        pay__stored_allocation__init(a);
        a->number = t[i].number;   /* t is handed to *out below */
        a->has_amount = 1;
        a->amount = t[i].amount;
        out->ptrs[out->n++] = a;
    }
    cn->has_allocated = 1;
    cn->allocated = -cn->total - left;
    cn->n_allocations = out->n;
    cn->allocations = out->ptrs;
    out->names = t;
    t = NULL;
done:
    for (size_t i = 0; inv && i < MAX_TARGETS; i++)
        if (inv[i])
            protobuf_c_message_free_unpacked(&inv[i]->base, NULL);
    free(inv);
    free(t);
    return rc;
}
