/* output: a result table (named columns, rows of strings) and its three
 * renderings: an aligned text table for people, CSV (csv.h quoting) and
 * JSON (an array of objects keyed by column name) for programs.
 *
 * Every value stays a string in every format, JSON included, so that money
 * ("1.50") reaches a program exactly as the service wrote it and never
 * passes through a floating-point number. A NULL cell is "" in a table and
 * in CSV, and null in JSON. Columns marked numeric are right-aligned in the
 * text table.
 *
 * Ownership: the table copies the column names and every cell it is given;
 * out_table_destroy frees them all. */
#ifndef PAYCTL_OUTPUT_H
#define PAYCTL_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

typedef enum { OUT_TABLE = 0, OUT_CSV, OUT_JSON } out_format_t;

/* "table", "csv" or "json". Returns 0 and sets *f, or -1. */
int out_format_parse(const char *s, out_format_t *f);

typedef struct out_table_t out_table_t;

/* A table with ncols columns named `columns`. Returns NULL on failure. */
out_table_t *out_table_new(const char *const *columns, size_t ncols);

/* Frees the table and its copies. Accepts NULL; NULLs *self_p. */
void out_table_destroy(out_table_t **self_p);

/* Marks column `col` as numeric (right-aligned in the text table). */
void out_table_set_numeric(out_table_t *self, size_t col, int numeric);

/* Appends a row of ncols cells (copied; a cell may be NULL). Returns 0 or -1. */
int out_table_add_row(out_table_t *self, const char *const *cells);

size_t out_table_nrows(const out_table_t *self);

/* Writes the table in format `f`. Returns 0 or -1 (write error). */
int out_table_write(const out_table_t *self, out_format_t f, FILE *out);

/* Writes `s` as a JSON string literal with its quotes: ", \ and control
 * characters escaped, invalid UTF-8 bytes replaced by U+FFFD. NULL writes
 * null. Returns 0 or -1. */
int out_json_string(FILE *out, const char *s);

/* Display width of UTF-8 text: code points, not bytes. */
size_t out_text_width(const char *s);

#endif
