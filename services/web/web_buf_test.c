/* web_buf_test: escaping for HTML, JSON, CSV and URLs; the buffer's
 * limit; form bodies. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "web_buf.h"

static char *s_html(const char *in)
{
    web_buf_t b;
    web_buf_init(&b, 0);
    web_buf_html(&b, in);
    return web_buf_take(&b, NULL);
}

static char *s_json(const char *in)
{
    web_buf_t b;
    web_buf_init(&b, 0);
    web_buf_json(&b, in);
    return web_buf_take(&b, NULL);
}

int main(void)
{
    char *s;
    s = s_html("<script>alert('x')</script> & \"q\"");
    TAP_EQ_STR(s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;",
               "html: every markup character becomes an entity");
    free(s);
    s = s_html("caf\xc3\xa9 \xe2\x82\xac 1");
    TAP_EQ_STR(s, "caf\xc3\xa9 \xe2\x82\xac 1", "html: valid UTF-8 passes unchanged");
    free(s);
    s = s_html("a\x01" "b\xff" "c\xc0\xaf" "d");
    TAP_EQ_STR(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd" "d",
               "html: control bytes, invalid and overlong UTF-8 become U+FFFD");
    free(s);
    s = s_html("line1\nline2\tx");
    TAP_EQ_STR(s, "line1\nline2\tx", "html: newline and tab kept");
    free(s);
    s = s_html(NULL);
    TAP_EQ_STR(s, "", "html: NULL writes nothing");
    free(s);

    s = s_json("a\"b\\c\n</script>&");
    TAP_EQ_STR(s, "\"a\\\"b\\\\c\\u000a\\u003c/script\\u003e\\u0026\"",
               "json: quotes, backslash, control and < > & escaped");
    free(s);
    s = s_json(NULL);
    TAP_EQ_STR(s, "null", "json: NULL is null");
    free(s);
    s = s_json("\xed\xa0\x80x");
    TAP_EQ_STR(s, "\"\\ufffd\\ufffd\\ufffdx\"", "json: a UTF-8 surrogate is invalid");
    free(s);

    web_buf_t b;
    web_buf_init(&b, 0);
    web_buf_csv(&b, "plain");
    web_buf_str(&b, ",");
    web_buf_csv(&b, "a,b");
    web_buf_str(&b, ",");
    web_buf_csv(&b, "say \"hi\"");
    web_buf_str(&b, ",");
    web_buf_csv(&b, "two\nlines");
    TAP_EQ_STR(b.data, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"",
               "csv: quoted only when needed, quotes doubled");
    web_buf_release(&b);

    web_buf_init(&b, 0);
    web_buf_url(&b, "A-z_0.9~ /?&=#\"<");
    TAP_EQ_STR(b.data, "A-z_0.9~%20%2F%3F%26%3D%23%22%3C", "url: only unreserved kept");
    web_buf_release(&b);

    web_buf_init(&b, 16);
    web_buf_str(&b, "0123456789");
    TAP_OK(web_buf_ok(&b), "limit: 10 bytes fit in 16");
    web_buf_str(&b, "0123456789");
    TAP_OK(!web_buf_ok(&b), "limit: 20 bytes do not; the buffer is failed");
    TAP_OK(web_buf_take(&b, NULL) == NULL, "limit: a failed buffer gives nothing");
    web_buf_release(&b);
    web_buf_init(&b, 0);
    web_buf_printf(&b, "%0300d|%s", 7, "end");
    TAP_OK(b.len == 304 && strcmp(b.data + 300, "|end") == 0, "printf: long output in full");
    web_buf_release(&b);

    web_form_t f;
    const char body[] = "csrf=ab%20c&name=J.+Smith&empty=&flag&note=a%0Ab";
    TAP_EQ_INT(web_form_parse(&f, body, strlen(body)), 0, "form: parses");
    TAP_EQ_STR(web_form_get(&f, "csrf"), "ab c", "form: %%20 decoded");
    TAP_EQ_STR(web_form_get(&f, "name"), "J. Smith", "form: + is a space");
    TAP_EQ_STR(web_form_get(&f, "empty"), "", "form: empty value");
    TAP_EQ_STR(web_form_get(&f, "flag"), "", "form: a name alone");
    TAP_EQ_STR(web_form_get(&f, "note"), "a\nb", "form: newline allowed in a value");
    TAP_OK(web_form_get(&f, "missing") == NULL, "form: absent name is NULL");
    web_form_release(&f);
    const char *bad[] = {"a=%zz", "a=%4", "a=%00", "a%0A=b", "a=\x01"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        TAP_EQ_INT(web_form_parse(&f, bad[i], strlen(bad[i])), -1, "form: refuses bad body %zu",
                   i);
    char many[400] = "";
    for (int i = 0; i < 33; i++)
        strcat(many, "x=1&");
    TAP_EQ_INT(web_form_parse(&f, many, strlen(many)), -1, "form: more than 32 fields refused");
    TAP_EQ_INT(web_form_parse(&f, "", 0), 0, "form: empty body is an empty form");
    TAP_EQ_INT((int)f.n, 0, "form: no fields");
    web_form_release(&f);

    TAP_OK(web_text_ok("MDI", 10), "text: plain is ok");
    TAP_OK(!web_text_ok("a\nb", 10), "text: newline refused");
    TAP_OK(!web_text_ok("01234567890", 10), "text: over the limit refused");
    TAP_OK(!web_text_ok("\xff", 10), "text: invalid UTF-8 refused");
    return tap_done();
}
