/* fuzz_csv: payctl's streaming CSV reader (csv.h) over any bytes, with the
 * header check and the row parsers (rows.h) of a FORMATS.md layout on
 * what it reads, and the writer as the oracle.
 *
 * Input: byte 0 picks the layout (rows_kind_t) and byte 1 the reader's
 * limits (small limits reach the too-long paths); the rest is the file.
 * Each record read is written back with csv_write_row after a first line
 * (so that a leading byte-order mark in a cell stays a cell), read again,
 * and must come back cell for cell. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_round_trip(const csv_row_t *row)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *w = open_memstream(&buf, &len);
    if (!w)
        abort();
    fputs("x\r\n", w);
    if (csv_write_row(w, (const char *const *)row->cells, row->ncells) != 0)
        abort();
    fclose(w);
    FILE *r = fmemopen(buf, len, "rb");
    csv_reader_t *rd = r ? csv_reader_new(r, 0, 0) : NULL;
    if (!rd)
        abort();
    csv_row_t first, again;
    if (csv_reader_next(rd, &first) != CSV_ROW || csv_reader_next(rd, &again) != CSV_ROW
        || again.ncells != row->ncells) {
        fprintf(stderr, "fuzz_csv: a record of %zu cells does not read back: %s\n",
                row->ncells, csv_reader_error(rd));
        abort();
    }
    for (size_t i = 0; i < row->ncells; i++)
        if (strcmp(again.cells[i], row->cells[i]) != 0) {
            fprintf(stderr, "fuzz_csv: cell %zu changed in the round trip\n", i);
            abort();
        }
    if (csv_reader_next(rd, &again) != CSV_EOF) {
        fprintf(stderr, "fuzz_csv: the written record reads as more than one\n");
        abort();
    }
    csv_reader_destroy(&rd);
    fclose(r);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    rows_kind_t kind = (rows_kind_t)(data[0] % ROWS_KIND_COUNT);
    const rows_kind_info_t *info = rows_kind_info(kind);
    size_t max_field = 0, max_row = 0;
    if (data[1] & 0x80) {
        max_field = 1 + (data[1] & 0x0f) * 3;
        max_row = max_field + ((data[1] >> 4) & 0x07) * 16;
    }
    /* fmemopen of zero bytes fails; an empty file is a case too. */
    static const char empty[1];
    FILE *f = size > 2 ? fmemopen((void *)(data + 2), size - 2, "rb") : fmemopen((void *)empty, 0, "rb");
    if (!f)
        return 0;
    csv_reader_t *rd = csv_reader_new(f, max_field, max_row);
    if (!rd)
        abort();
    csv_row_t row;
    csv_status_t st;
    int first = 1;
    long last_line = 0;
    while ((st = csv_reader_next(rd, &row)) != CSV_EOF && st != CSV_FATAL) {
        if (row.line < last_line || row.line < 1) {
            fprintf(stderr, "fuzz_csv: line numbers go back (%ld after %ld)\n", row.line,
                    last_line);
            abort();
        }
        last_line = row.line;
        if (st != CSV_ROW)
            continue;
        char err[CSV_ERR_LEN];
        if (first) {
            csv_header_check(&row, info->columns, info->ncolumns, err);
            first = 0;
        } else {
            rows_value_t v;
            rows_error_t e;
            rows_parse(kind, (const char *const *)row.cells, row.ncells, &v, &e);
        }
        s_round_trip(&row);
    }
    csv_reader_destroy(&rd);
    fclose(f);
    return 0;
}
