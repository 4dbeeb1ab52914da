/* fuzz_inv_doc: the invoice and credit-note renderers (inv_doc.h: CSV, UBL
 * 2.1 and PDF) fed fuzzed documents, the way the service renders a stored
 * one: a pay.StoredDocument through inv_store_doc_view.
 *
 * Input: byte 0 picks the renderers (bit 0 CSV, bit 1 UBL, bit 2 PDF; none
 * set means all three); the rest is a packed pay.StoredDocument. Oracles:
 * the CSV reads back (csv.h) as a header and one record of 11 cells per
 * line; the UBL is well-formed XML (libxml2) with the right root element;
 * the PDF starts with "%PDF-" and ends with "%%EOF". */
#include <libxml/parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
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

static void s_check_csv(const inv_doc_t *doc, const inv_buf_t *b)
{
    FILE *f = fmemopen(b->data, b->len, "rb");
    csv_reader_t *rd = f ? csv_reader_new(f, 0, 0) : NULL;
    if (!rd)
        abort();
    csv_row_t row;
    size_t records = 0;
    csv_status_t st;
    while ((st = csv_reader_next(rd, &row)) == CSV_ROW) {
        if (row.ncells != 11) {
            fprintf(stderr, "fuzz_inv_doc: CSV record %zu has %zu cells\n", records,
                    row.ncells);
            abort();
        }
        records++;
    }
    if (st != CSV_EOF || records != doc->n_lines + 1) {
        fprintf(stderr, "fuzz_inv_doc: the CSV of %zu lines reads as %zu records (%s)\n",
                doc->n_lines, records, csv_reader_error(rd));
        abort();
    }
    csv_reader_destroy(&rd);
    fclose(f);
}

static void s_check_ubl(const inv_doc_t *doc, const inv_buf_t *b)
{
    xmlDocPtr x = xmlReadMemory((const char *)b->data, (int)b->len, "ubl.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!x) {
        fprintf(stderr, "fuzz_inv_doc: the UBL is not well-formed XML\n");
        abort();
    }
    xmlNodePtr root = xmlDocGetRootElement(x);
    const char *want = inv_doc_sign(doc) < 0 ? "CreditNote" : "Invoice";
    if (!root || strcmp((const char *)root->name, want) != 0) {
        fprintf(stderr, "fuzz_inv_doc: the UBL root is not %s\n", want);
        abort();
    }
    xmlFreeDoc(x);
}

static void s_check_pdf(const inv_buf_t *b)
{
    if (b->len < 16 || memcmp(b->data, "%PDF-", 5) != 0
        || !memmem(b->data + b->len - 16, 16, "%%EOF", 5)) {
        fprintf(stderr, "fuzz_inv_doc: the PDF has no header or trailer\n");
        abort();
    }
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
        s_check_csv(&doc, &buf);
    inv_buf_free(&buf);
    if ((which & 2) && inv_ubl_render(&doc, &buf) == 0)
        s_check_ubl(&doc, &buf);
    inv_buf_free(&buf);
    if ((which & 4) && inv_pdf_render(&doc, &buf) == 0)
        s_check_pdf(&buf);
    inv_buf_free(&buf);
    free(lines);
    pay__stored_document__free_unpacked(sd, NULL);
    return 0;
}
