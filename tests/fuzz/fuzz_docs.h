/* fuzz_docs: the checks that a rendered invoice or credit note is what its
 * format promises, shared by fuzz_inv_doc (documents fed directly) and
 * fuzz_invoicing_api (documents the service issued and returned).
 *
 * A CSV must read back (csv.h) as a header and one record of
 * INV_CSV_LINES_COLS cells per
 * line; a UBL must be well-formed XML (libxml2) whose root is Invoice or
 * CreditNote; a PDF must start with "%PDF-" and end with "%%EOF". A failed
 * check aborts. `lines` < 0 skips the record count. */
#ifndef PAY_FUZZ_DOCS_H
#define PAY_FUZZ_DOCS_H

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "inv_doc.h"

static inline void fz_check_csv(const void *data, size_t len, long lines)
{
    FILE *f = fmemopen((void *)data, len, "rb");
    csv_reader_t *rd = f ? csv_reader_new(f, 0, 0) : NULL;
    if (!rd)
        abort();
    csv_row_t row;
    long records = 0;
    csv_status_t st;
    while ((st = csv_reader_next(rd, &row)) == CSV_ROW) {
        if (row.ncells != INV_CSV_LINES_COLS) {
            fprintf(stderr, "fuzz: CSV record %ld has %zu cells\n", records, row.ncells);
            abort();
        }
        records++;
    }
    if (st != CSV_EOF || records < 1 || (lines >= 0 && records != lines + 1)) {
        fprintf(stderr, "fuzz: the CSV of %ld lines reads as %ld records (%s)\n", lines,
                records, csv_reader_error(rd));
        abort();
    }
    csv_reader_destroy(&rd);
    fclose(f);
}

/* `want` is "Invoice", "CreditNote", or NULL for either. */
static inline void fz_check_ubl(const void *data, size_t len, const char *want)
{
    xmlDocPtr x = xmlReadMemory((const char *)data, (int)len, "ubl.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!x) {
        fprintf(stderr, "fuzz: the UBL is not well-formed XML\n");
        abort();
    }
    xmlNodePtr root = xmlDocGetRootElement(x);
    const char *name = root ? (const char *)root->name : "";
    if (want ? strcmp(name, want) != 0
             : strcmp(name, "Invoice") != 0 && strcmp(name, "CreditNote") != 0) {
        fprintf(stderr, "fuzz: the UBL root is %s\n", name);
        abort();
    }
    xmlFreeDoc(x);
}

static inline void fz_check_pdf(const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len < 16 || memcmp(p, "%PDF-", 5) != 0 || !memmem(p + len - 16, 16, "%%EOF", 5)) {
        fprintf(stderr, "fuzz: the PDF has no header or trailer\n");
        abort();
    }
}

#endif
