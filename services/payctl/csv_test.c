/* csv_test: the reader's RFC 4180 cases, line numbers, limits and header
 * check, and the writer's quoting, by round trip through the reader. */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* A FILE* over a copy of `text` (len bytes; may hold NULs). */
static FILE *s_file(const char *text, size_t len)
{
    FILE *f = tmpfile();
    if (!f)
        return NULL;
    fwrite(text, 1, len, f);
    rewind(f);
    return f;
}

#define S_FILE(lit) s_file(lit, sizeof(lit) - 1)

static void test_basic_quotes(void)
{
    FILE *f = S_FILE("a,b,c\n1,\"x,y\",\"he said \"\"hi\"\"\"\n,\"\",z\n");
    csv_reader_t *r = csv_reader_new(f, 0, 0);
    csv_row_t row;
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "header read");
    TAP_EQ_INT(row.ncells, 3, "header has 3 cells");
    TAP_EQ_STR(row.cells[2], "c", "header cell 3");
    TAP_EQ_INT(row.line, 1, "header is line 1");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "row 2 read");
    TAP_EQ_STR(row.cells[0], "1", "plain cell");
    TAP_EQ_STR(row.cells[1], "x,y", "embedded comma inside quotes");
    TAP_EQ_STR(row.cells[2], "he said \"hi\"", "doubled quotes");
    TAP_EQ_INT(row.line, 2, "row on line 2");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "row 3 read");
    TAP_EQ_INT(row.ncells, 3, "row 3 has 3 cells");
    TAP_EQ_STR(row.cells[0], "", "empty unquoted cell");
    TAP_EQ_STR(row.cells[1], "", "empty quoted cell");
    TAP_EQ_STR(row.cells[2], "z", "last cell");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_EOF, "EOF after the final line end");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_EOF, "EOF again");
    csv_reader_destroy(&r);
    TAP_OK(r == NULL, "destroy NULLs the pointer");
    csv_reader_destroy(&r);
    fclose(f);
}

static void test_embedded_newlines(void)
{
    FILE *f = S_FILE("h1,h2\n\"two\nlines\",x\n\"three\r\nline\n\",y\nlast,z");
    csv_reader_t *r = csv_reader_new(f, 0, 0);
    csv_row_t row;
    csv_reader_next(r, &row);
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "multi-line row read");
    TAP_EQ_STR(row.cells[0], "two\nlines", "newline kept inside quotes");
    TAP_EQ_INT(row.line, 2, "multi-line row starts on line 2");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "second multi-line row read");
    TAP_EQ_STR(row.cells[0], "three\r\nline\n", "CRLF and a trailing newline kept inside quotes");
    TAP_EQ_INT(row.line, 4, "the row after a 2-line row starts on line 4");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "last row without a line end");
    TAP_EQ_STR(row.cells[1], "z", "last cell of an unterminated last line");
    TAP_EQ_INT(row.line, 7, "the row after a 3-line row starts on line 7");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_EOF, "then EOF");
    csv_reader_destroy(&r);
    fclose(f);
}

static void test_crlf_and_bom(void)
{
    FILE *f = S_FILE("\xEF\xBB\xBF" "code,name\r\nMDI,Moorland\r\n\"LEI\",\"Leeds\"\r\n");
    csv_reader_t *r = csv_reader_new(f, 0, 0);
    csv_row_t row;
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "BOM file: header read");
    TAP_EQ_STR(row.cells[0], "code", "BOM is not part of the first cell");
    TAP_EQ_STR(row.cells[1], "name", "CR is not part of the last cell");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "CRLF row");
    TAP_EQ_STR(row.cells[1], "Moorland", "CRLF row: last cell without CR");
    TAP_EQ_INT(row.line, 2, "CRLF counts as one line");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "quoted CRLF row");
    TAP_EQ_STR(row.cells[1], "Leeds", "closing quote then CRLF");
    TAP_EQ_INT(row.line, 3, "line 3");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_EOF, "EOF");
    csv_reader_destroy(&r);
    fclose(f);

    /* A BOM anywhere else is data; bytes that only start like a BOM are data. */
    f = S_FILE("\xEF\xBBx,y\n");
    r = csv_reader_new(f, 0, 0);
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "partial BOM read as data");
    TAP_EQ_STR(row.cells[0], "\xEF\xBBx", "partial BOM bytes kept");
    csv_reader_destroy(&r);
    fclose(f);

    f = S_FILE("");
    r = csv_reader_new(f, 0, 0);
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_EOF, "empty file is EOF");
    csv_reader_destroy(&r);
    fclose(f);

    f = S_FILE("a,b\n\nc,d\n");
    r = csv_reader_new(f, 0, 0);
    csv_reader_next(r, &row);
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "blank line is a record");
    TAP_EQ_INT(row.ncells, 1, "blank line has one empty cell");
    TAP_EQ_INT(row.line, 2, "blank line number");
    TAP_EQ_INT(row.blank, 1, "blank line is marked blank");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "row after blank line");
    TAP_EQ_INT(row.line, 3, "row after blank line is line 3");
    TAP_EQ_INT(row.blank, 0, "a row with cells is not blank");
    csv_reader_destroy(&r);
    fclose(f);

    /* CRLF blank lines; "" and a lone comma are not blank. */
    f = S_FILE("a\r\n\r\n\"\"\r\n,\r\n");
    r = csv_reader_new(f, 0, 0);
    csv_reader_next(r, &row);
    TAP_EQ_INT(row.blank, 0, "first row not blank");
    csv_reader_next(r, &row);
    TAP_OK(row.blank == 1 && row.line == 2, "CRLF blank line is blank (line %ld)", row.line);
    csv_reader_next(r, &row);
    TAP_OK(row.blank == 0 && row.ncells == 1 && row.cells[0][0] == '\0',
           "a quoted empty field is not a blank line");
    csv_reader_next(r, &row);
    TAP_OK(row.blank == 0 && row.ncells == 2, "a lone comma is two empty cells, not blank");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_EOF, "then EOF");
    csv_reader_destroy(&r);
    fclose(f);
}

static void test_limits_and_errors(void)
{
    /* max_field 8, max_row 32 */
    FILE *f = S_FILE("a,b\n123456789,x\nok,\"also\nok\"\n\"123456789\nlong\",y\nfine,1\n");
    csv_reader_t *r = csv_reader_new(f, 8, 32);
    csv_row_t row;
    csv_reader_next(r, &row);
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_BAD_ROW, "oversize field refused");
    TAP_EQ_INT(row.line, 2, "oversize field row line");
    TAP_OK(strstr(csv_reader_error(r), "field 1") != NULL, "error names field 1: %s",
           csv_reader_error(r));
    TAP_OK(strstr(csv_reader_error(r), "8 bytes") != NULL, "error names the limit");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "reader goes on after a bad row");
    TAP_EQ_STR(row.cells[1], "also\nok", "next row intact");
    TAP_EQ_INT(row.line, 3, "next row line 3");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_BAD_ROW, "oversize quoted field refused");
    TAP_EQ_INT(row.line, 5, "oversize quoted field row line");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "quoted newline of a bad row skipped");
    TAP_EQ_STR(row.cells[0], "fine", "row after the bad multi-line row");
    TAP_EQ_INT(row.line, 7, "its line counts the bad row's newline");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_EOF, "EOF");
    csv_reader_destroy(&r);
    fclose(f);

    /* the whole row: 5 cells of 7 bytes + NULs = 40 > 32 */
    f = S_FILE("aaaaaaa,bbbbbbb,ccccccc,ddddddd,eeeeeee\nx\n");
    r = csv_reader_new(f, 8, 32);
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_BAD_ROW, "oversize row refused");
    TAP_OK(strstr(csv_reader_error(r), "row is longer than 32") != NULL, "row error: %s",
           csv_reader_error(r));
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "next row after oversize row");
    TAP_EQ_STR(row.cells[0], "x", "next row content");
    csv_reader_destroy(&r);
    fclose(f);

    f = S_FILE("a\"b,c\n\"x\"y,z\nq\rr,1\nok,2\n");
    r = csv_reader_new(f, 0, 0);
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_BAD_ROW, "quote inside unquoted field refused");
    TAP_OK(strstr(csv_reader_error(r), "does not start with one") != NULL, "%s",
           csv_reader_error(r));
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_BAD_ROW, "text after closing quote refused");
    TAP_OK(strstr(csv_reader_error(r), "after its closing quote") != NULL, "%s",
           csv_reader_error(r));
    TAP_EQ_INT(row.line, 2, "line of that row");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_BAD_ROW, "bare CR refused");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "good row after three bad ones");
    TAP_EQ_INT(row.line, 4, "bare CR is not a line end");
    csv_reader_destroy(&r);
    fclose(f);

    f = s_file("a,b\nx\0y,z\nok,1\n", 15);
    r = csv_reader_new(f, 0, 0);
    csv_reader_next(r, &row);
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_BAD_ROW, "NUL byte refused");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "row after NUL row");
    TAP_EQ_STR(row.cells[0], "ok", "row after NUL row content");
    csv_reader_destroy(&r);
    fclose(f);

    f = S_FILE("a,b\n1,\"open\nnever closed\n");
    r = csv_reader_new(f, 0, 0);
    csv_reader_next(r, &row);
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_FATAL, "unclosed quote at EOF is fatal");
    TAP_OK(strstr(csv_reader_error(r), "line 2") != NULL, "names where the quote opened: %s",
           csv_reader_error(r));
    csv_reader_destroy(&r);
    fclose(f);

    TAP_OK(csv_reader_new(NULL, 0, 0) == NULL, "no FILE: NULL");
    f = S_FILE("");
    TAP_OK(csv_reader_new(f, 100, 10) == NULL, "max_field > max_row: NULL");
    fclose(f);
}

static void test_header(void)
{
    static const char *const want[] = {"number", "prison", "incentive_level"};
    char err[CSV_ERR_LEN];
    char *c1[] = {"number", "prison", "incentive_level"};
    char *c2[] = {"number", "prisonr", "incentive_level"};
    char *c3[] = {"number", "prison"};
    char *c4[] = {"number", "prison", "incentive_level", "extra"};
    char *c5[] = {"Number", "prison", "incentive_level"};
    char *c6[] = {"number", " prison", "incentive_level"};
    csv_row_t r = {c1, 3, 1};
    TAP_EQ_INT(csv_header_check(&r, want, 3, err), 0, "exact header accepted");
    r.cells = c2;
    TAP_EQ_INT(csv_header_check(&r, want, 3, err), -1, "misspelt header refused");
    TAP_EQ_STR(err, "header column 2 is \"prisonr\", expected \"prison\"", "names the difference");
    r.cells = c3;
    r.ncells = 2;
    TAP_EQ_INT(csv_header_check(&r, want, 3, err), -1, "short header refused");
    TAP_EQ_STR(err, "header has 2 columns, expected 3: missing \"incentive_level\"",
               "names the missing column");
    r.cells = c4;
    r.ncells = 4;
    TAP_EQ_INT(csv_header_check(&r, want, 3, err), -1, "long header refused");
    TAP_OK(strstr(err, "unexpected \"extra\"") != NULL, "names the extra column: %s", err);
    r.cells = c5;
    r.ncells = 3;
    TAP_EQ_INT(csv_header_check(&r, want, 3, err), -1, "case matters in the header");
    r.cells = c6;
    TAP_EQ_INT(csv_header_check(&r, want, 3, err), -1, "no trimming in the header");
}

static void test_writer_round_trip(void)
{
    const char *cells[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\rhere", "", " sp ",
                           NULL, "£1.50"};
    size_t n = sizeof cells / sizeof *cells;
    TAP_OK(!csv_needs_quotes("plain") && csv_needs_quotes("a,b") && csv_needs_quotes("\"") &&
               csv_needs_quotes("\n") && csv_needs_quotes("\r") && !csv_needs_quotes(" sp "),
           "needs quotes only for comma, quote, CR, LF");
    FILE *f = tmpfile();
    TAP_EQ_INT(csv_write_row(f, cells, n), 0, "row written");
    TAP_EQ_INT(csv_write_row(f, cells, 2), 0, "second row written");
    rewind(f);
    char text[256] = "";
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    TAP_EQ_STR(text,
               "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\",, sp ,,£1.50\r\n"
               "plain,\"a,b\"\r\n",
               "quoted only when needed, CRLF line ends");
    rewind(f);
    csv_reader_t *r = csv_reader_new(f, 0, 0);
    csv_row_t row;
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "written row reads back");
    TAP_EQ_INT(row.ncells, n, "same number of cells");
    int same = row.ncells == n;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(row.cells[i], cells[i] ? cells[i] : "") == 0;
    TAP_OK(same, "every cell round-trips exactly");
    TAP_EQ_INT(row.line, 1, "round trip line 1");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_ROW, "second written row reads back");
    TAP_EQ_INT(row.line, 3, "embedded newline counted: second row on line 3");
    TAP_EQ_INT(csv_reader_next(r, &row), CSV_EOF, "EOF");
    csv_reader_destroy(&r);
    fclose(f);
}

int main(void)
{
    test_basic_quotes();
    test_embedded_newlines();
    test_crlf_and_bom();
    test_limits_and_errors();
    test_header();
    test_writer_round_trip();
    return tap_done();
}
