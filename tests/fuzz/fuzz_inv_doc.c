/* fuzz_inv_doc: the invoice and credit-note renderers (inv_doc.h: CSV, UBL
 * 2.1 and PDF) fed fuzzed documents, the way the service renders a stored
 * one: a pay.StoredDocument through inv_store_doc_view.
 *
 * Input: byte 0 picks the renderers (bit 0 CSV, bit 1 UBL, bit 2 PDF; none
 * set means all three); the rest is a packed pay.StoredDocument. The
 * renderings must pass fuzz_docs.h's checks. */
#include <libxml/parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_docs.h"
#include "fuzz_util.h"
#include "inv_doc.h"
#include "inv_store.h"
#include "invoicing.pb-c.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Documents with more lines than this take seconds to render as PDF under
 * the sanitizers; the store's documents hold one line per contract and
 * period, far fewer. */
#define S_MAX_LINES 64

static void s_shutdown(void)
{
    inv_pdf_shutdown();
    xmlCleanupParser();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs("invoicing");
    xmlInitParser();
    atexit(s_shutdown);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned which = data[0] & 7;
    if (!which)
        which = 7;
    Pay__StoredDocument *sd = pay__stored_document__unpack(NULL, size - 1, data + 1);
    if (!sd)
        return 0;
    if (sd->n_lines > S_MAX_LINES) {
        pay__stored_document__free_unpacked(sd, NULL);
        return 0;
    }
    inv_line_t *lines = calloc(sd->n_lines ? sd->n_lines : 1, sizeof *lines);
    if (!lines)
        abort();
    inv_doc_t doc;
    inv_store_doc_view(sd, &doc, lines);
    inv_buf_t buf = {0};
    if ((which & 1) && inv_csv_render(&doc, &buf) == 0)
        fz_check_csv(buf.data, buf.len, (long)doc.n_lines);
    inv_buf_free(&buf);
    if ((which & 2) && inv_ubl_render(&doc, &buf) == 0)
        fz_check_ubl(buf.data, buf.len, inv_doc_sign(&doc) < 0 ? "CreditNote" : "Invoice");
    inv_buf_free(&buf);
    if ((which & 4) && inv_pdf_render(&doc, &buf) == 0)
        fz_check_pdf(buf.data, buf.len);
    inv_buf_free(&buf);
    free(lines);
    pay__stored_document__free_unpacked(sd, NULL);
    return 0;
}
