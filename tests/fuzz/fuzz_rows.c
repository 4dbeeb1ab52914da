/* fuzz_rows: the FORMATS.md row parsers (rows.h) and the identifier and
 * UTF-8 checks (ident.h) on any cells.
 *
 * Input: byte 0 picks the layout (rows_kind_t); the rest is the cells,
 * separated by NUL bytes (a CSV cell can hold anything else). A refusal
 * must name a code and a message that starts with a column of the layout
 * (rows.h promises that). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX_CELLS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    rows_kind_t kind = (rows_kind_t)(data[0] % ROWS_KIND_COUNT);
    const rows_kind_info_t *info = rows_kind_info(kind);
    char *text = malloc(size);
    if (!text)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    const char *cells[S_MAX_CELLS];
    size_t n = 0;
    for (size_t at = 0; n < S_MAX_CELLS;) {
        cells[n++] = text + at;
        char *end = memchr(text + at, 0, size - at);
        at = (size_t)(end - text) + 1;
        if (at >= size)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        ident_is_prison(cells[i]);
        ident_is_prisoner(cells[i]);
        ident_is_employer(cells[i]);
        ident_is_contract(cells[i]);
        ident_is_vat_number(cells[i]);
        ident_is_record_id(cells[i]);
        ident_is_text(cells[i], IDENT_TEXT_CHARS);
        /* Repaired bytes are valid UTF-8, and valid text is left alone. */
        size_t len = strlen(cells[i]);
        char *copy = malloc(len + 1);
        if (!copy)
            abort();
        memcpy(copy, cells[i], len + 1);
        int was_valid = ident_utf8_valid(copy, len);
        size_t fixed = ident_utf8_repair(copy, len);
        if (!ident_utf8_valid(copy, len) || (was_valid && fixed != 0)
            || (!was_valid && fixed == 0)) {
            fprintf(stderr, "fuzz_rows: ident_utf8_repair of cell %zu is wrong\n", i);
            abort();
        }
        if (ident_text_chars(cells[i]) >= 0 && !was_valid) {
            fprintf(stderr, "fuzz_rows: text with invalid UTF-8 counted as characters\n");
            abort();
        }
        free(copy);
    }
    rows_value_t v;
    rows_error_t e;
    memset(&e, 0, sizeof e);
    if (rows_parse(kind, cells, n, &v, &e) != 0) {
        if (!e.code || !e.code[0] || !memchr(e.message, 0, sizeof e.message)) {
            fprintf(stderr, "fuzz_rows: a refusal without a code or message\n");
            abort();
        }
        int named = n != info->ncolumns;   /* a count mismatch names no column */
        for (size_t c = 0; !named && c < info->ncolumns; c++)
            named = strncmp(e.message, info->columns[c], strlen(info->columns[c])) == 0;
        if (!named) {
            fprintf(stderr, "fuzz_rows: \"%s\" names no column of %s\n", e.message, info->name);
            abort();
        }
    }
    free(text);
    return 0;
}
