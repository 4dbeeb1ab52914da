/* csv: a streaming RFC 4180 reader and a minimal-quoting writer.
 *
 * The reader takes a FILE* and hands back one record at a time, in bounded
 * memory: no field may exceed max_field bytes and no record max_row bytes
 * (the cells plus one terminating NUL each), so a hostile or corrupt file
 * can never make it allocate more than about max_row * 2 bytes in total.
 * It accepts quoted fields with doubled quotes, commas and line breaks
 * inside quotes, CRLF or LF line ends, and a UTF-8 byte-order mark at the
 * very start of the file. A line end at the end of the file does not start
 * a new record; a blank line elsewhere is a record of one empty field
 * (RFC 4180) marked `blank`, which FORMATS.md says is not a row: the
 * importer skips it (its line still counts). A line holding only "" is
 * not blank.
 *
 * Every record carries the physical line number where it starts (the first
 * line of the file is 1), counting the line breaks inside quoted fields, so
 * that a report can point at the row a person sees in an editor.
 *
 * A record that breaks the rules (a field or row too long, a quote inside
 * an unquoted field, text after a closing quote, a bare CR, a NUL byte) is
 * answered CSV_BAD_ROW: the reader has skipped the rest of that record and
 * can go on with the next one. CSV_FATAL (a read error, or a quote left open
 * at the end of the file) ends the stream.
 *
 * Ownership: the reader borrows the FILE* (the caller closes it) and owns
 * the record it returns: row->cells and the strings they point to stay
 * valid until the next csv_reader_next or csv_reader_destroy. */
#ifndef PAYCTL_CSV_H
#define PAYCTL_CSV_H

#include <stddef.h>
#include <stdio.h>

#define CSV_ERR_LEN 256
#define CSV_DEFAULT_MAX_FIELD 4096
#define CSV_DEFAULT_MAX_ROW 65536

typedef enum {
    CSV_FATAL = -2,     /* stop: csv_reader_error says why */
    CSV_BAD_ROW = -1,   /* this record is refused; the next call goes on */
    CSV_EOF = 0,
    CSV_ROW = 1,
} csv_status_t;

typedef struct {
    char **cells;       /* ncells NUL-terminated strings */
    size_t ncells;
    long line;          /* physical line where the record starts, from 1 */
    int blank;          /* the line was empty: nothing before its line end */
} csv_row_t;

typedef struct csv_reader_t csv_reader_t;

/* A reader over `f`. max_field / max_row of 0 take the defaults above.
 * Returns NULL on allocation failure or a max_field larger than max_row. */
csv_reader_t *csv_reader_new(FILE *f, size_t max_field, size_t max_row);

/* Frees the reader (not the FILE). Accepts NULL; NULLs *self_p. */
void csv_reader_destroy(csv_reader_t **self_p);

/* Reads the next record into *row. Returns CSV_ROW, CSV_EOF, CSV_BAD_ROW
 * (row->line is the bad record's line; csv_reader_error says why) or
 * CSV_FATAL. */
csv_status_t csv_reader_next(csv_reader_t *self, csv_row_t *row);

/* The reason of the last CSV_BAD_ROW or CSV_FATAL, without the line number
 * (e.g. "field 3 is longer than 4096 bytes"); "" otherwise. */
const char *csv_reader_error(const csv_reader_t *self);

/* The line that the next record will start on (after the last one read). */
long csv_reader_line(const csv_reader_t *self);

/* Compares a header record with the expected column names (exact names,
 * exact order). Returns 0, or -1 with the first difference in err, e.g.
 * "header column 2 is \"prisonr\", expected \"prison\"" or
 * "header has 4 columns, expected 5: missing \"released_on\"". */
int csv_header_check(const csv_row_t *row, const char *const *expected, size_t n,
                     char err[CSV_ERR_LEN]);

/* 1 if `s` must be quoted in CSV (it holds a comma, quote, CR or LF). */
int csv_needs_quotes(const char *s);

/* Writes one field, quoted (with doubled quotes) only when needed.
 * Returns 0 or -1 (write error). */
int csv_write_field(FILE *f, const char *s);

/* Writes a record of n fields (a NULL cell is written empty) ending in
 * CRLF, as RFC 4180 asks. Returns 0 or -1. */
int csv_write_row(FILE *f, const char *const *cells, size_t n);

#endif
