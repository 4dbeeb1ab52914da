/* output_test: the text table's alignment, CSV quoting and JSON escaping. */
#include "output.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* Renders `t` in format f into a static buffer. */
static const char *s_render(const out_table_t *t, out_format_t f)
{
    static char text[4096];
    FILE *fp = tmpfile();
    text[0] = '\0';
    if (!fp)
        return text;
    if (out_table_write(t, f, fp) != 0) {
        fclose(fp);
        return "(write failed)";
    }
    rewind(fp);
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    return text;
}

static void test_table(void)
{
    const char *cols[] = {"prisoner", "minutes", "net"};
    out_table_t *t = out_table_new(cols, 3);
    TAP_OK(t != NULL, "table made");
    out_table_set_numeric(t, 1, 1);
    out_table_set_numeric(t, 2, 1);
    const char *r1[] = {"A1234BC", "2400", "12.50"};
    const char *r2[] = {"B2345CD", "60", "4.00"};
    const char *r3[] = {"Zoë", "5", NULL};
    TAP_EQ_INT(out_table_add_row(t, r1), 0, "row 1");
    TAP_EQ_INT(out_table_add_row(t, r2), 0, "row 2");
    TAP_EQ_INT(out_table_add_row(t, r3), 0, "row 3");
    TAP_EQ_INT(out_table_nrows(t), 3, "three rows");
    TAP_EQ_STR(s_render(t, OUT_TABLE),
               "prisoner  minutes    net\n"
               "--------  -------  -----\n"
               "A1234BC      2400  12.50\n"
               "B2345CD        60   4.00\n"
               "Zoë             5\n",
               "aligned: text left, numbers right, width in characters not bytes");
    out_table_destroy(&t);
    TAP_OK(t == NULL, "destroy NULLs the pointer");
    out_table_destroy(&t);

    const char *c2[] = {"name", "note"};
    t = out_table_new(c2, 2);
    const char *r4[] = {"x", "two\nlines"};
    const char *r5[] = {"longer name", "y"};
    out_table_add_row(t, r4);
    out_table_add_row(t, r5);
    TAP_EQ_STR(s_render(t, OUT_TABLE),
               "name         note\n"
               "-----------  ---------\n"
               "x            two lines\n"
               "longer name  y\n",
               "a line break shows as a space; no trailing blanks after a text column");
    out_table_destroy(&t);

    TAP_OK(out_table_new(cols, 0) == NULL, "no columns: NULL");
    TAP_EQ_INT(out_text_width("£1.50"), 5, "width of £ is one");
}

static void test_csv(void)
{
    const char *cols[] = {"invoice", "description", "net"};
    out_table_t *t = out_table_new(cols, 3);
    const char *r1[] = {"INV-000001", "Laundry, week 48", "12.50"};
    const char *r2[] = {"INV-000002", "the \"big\" job", NULL};
    const char *r3[] = {"INV-000003", "two\nlines", ""};
    out_table_add_row(t, r1);
    out_table_add_row(t, r2);
    out_table_add_row(t, r3);
    TAP_EQ_STR(s_render(t, OUT_CSV),
               "invoice,description,net\r\n"
               "INV-000001,\"Laundry, week 48\",12.50\r\n"
               "INV-000002,\"the \"\"big\"\" job\",\r\n"
               "INV-000003,\"two\nlines\",\r\n",
               "CSV quotes only what needs it");
    out_table_destroy(&t);
}

static void test_json(void)
{
    const char *cols[] = {"k\"ey", "value"};
    out_table_t *t = out_table_new(cols, 2);
    TAP_EQ_STR(s_render(t, OUT_JSON), "[]\n", "empty table is []");
    const char *r1[] = {"a", "quote \" backslash \\ slash /"};
    const char *r2[] = {"b", "nl\ncr\rtab\tbell\x07" "end"};
    const char *r3[] = {"c", NULL};
    const char *r4[] = {"d", "£ \xe2\x82\xac ok, bad \xff\xfe, cut \xe2\x82"};
    out_table_add_row(t, r1);
    out_table_add_row(t, r2);
    out_table_add_row(t, r3);
    out_table_add_row(t, r4);
    TAP_EQ_STR(s_render(t, OUT_JSON),
               "[\n"
               "  {\"k\\\"ey\": \"a\", \"value\": \"quote \\\" backslash \\\\ slash /\"},\n"
               "  {\"k\\\"ey\": \"b\", \"value\": \"nl\\ncr\\rtab\\tbell\\u0007end\"},\n"
               "  {\"k\\\"ey\": \"c\", \"value\": null},\n"
               "  {\"k\\\"ey\": \"d\", \"value\": \"£ \xe2\x82\xac ok, bad \\ufffd\\ufffd, cut "
               "\\ufffd\\ufffd\"}\n"
               "]\n",
               "JSON escapes quotes, backslashes, controls; NULL is null; bad UTF-8 replaced");
    out_table_destroy(&t);

    out_format_t f;
    TAP_EQ_INT(out_format_parse("json", &f), 0, "json is a format");
    TAP_EQ_INT(f, OUT_JSON, "json");
    TAP_EQ_INT(out_format_parse("csv", &f), 0, "csv is a format");
    TAP_EQ_INT(out_format_parse("table", &f), 0, "table is a format");
    TAP_EQ_INT(out_format_parse("JSON", &f), -1, "JSON (capitals) is not");
    TAP_EQ_INT(out_format_parse("xml", &f), -1, "xml is not");
}

int main(void)
{
    test_table();
    test_csv();
    test_json();
    return tap_done();
}
