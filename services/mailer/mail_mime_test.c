/* mail_mime_test: the message that carries a document, built with GMime and
 * read back with GMime's parser: headers (From, To, Subject, Date,
 * Message-ID, Auto-Submitted, X-Pay-Document), one text part and the
 * attachments with their names, types and exact bytes, CRLF line ends, no
 * line longer than SMTP allows; bad inputs refused; the text of the body. */
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "mail_mime.h"
#include "tap.h"

static GMimeMessage *s_parse(const uint8_t *data, size_t len)
{
    GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)data, len);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    g_object_unref(p);
    g_object_unref(s);
    return m;
}

/* The decoded content of a leaf part (malloc'd). */
static uint8_t *s_content(GMimeObject *o, size_t *len)
{
    GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
    GMimeStream *s = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(w, s);
    GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
    uint8_t *out = malloc(ba->len + 1);
    memcpy(out, ba->data, ba->len);
    out[ba->len] = '\0';
    *len = ba->len;
    g_object_unref(s);
    return out;
}

static int s_has(const uint8_t *data, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(data + i, needle, n) == 0)
            return 1;
    return 0;
}

static const char *s_header(GMimeObject *o, const char *name)
{
    return g_mime_object_get_header(o, name);
}

static void test_build(void)
{
    uint8_t pdf[3000], xml[] = "<?xml version=\"1.0\"?><Invoice/>\n";
    for (size_t i = 0; i < sizeof pdf; i++)
        pdf[i] = (uint8_t)(i * 7 + (i >> 3));   /* every byte value, NULs included */
    memcpy(pdf, "%PDF-1.5\n", 9);
    mail_attachment_t att[] = {
        {"INV-000001.pdf", "application/pdf", pdf, sizeof pdf},
        {"INV-000001.xml", "application/xml", xml, sizeof xml - 1},
    };
    mail_message_t m = {
        .from_name = "Prison Industries \xe2\x80\x93 Finance",
        .from_addr = "invoices@payroll.example.org",
        .to_addr = "ap@dhl.example",
        .subject = "Invoice INV-000001 for 2026-W46",
        .message_id = "INV-000001@payroll.example.org",
        .document = "INV-000001",
        .date = 1795435200,   /* 2026-11-23 12:00:00 UTC */
        .body = "Invoice INV-000001.\n\n  Total: \xc2\xa3" "1,234.56\n"
                ".a line that starts with a dot\n",
        .attachments = att,
        .n_attachments = 2,
    };
    uint8_t *out = NULL;
    size_t len = 0;
    char err[MAIL_MIME_ERR_LEN];
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), 0, "a message with a PDF and a UBL");
    TAP_OK(out && len > sizeof pdf, "of %zu bytes", len);

    int bare_lf = 0, longest = 0, cur = 0;
    for (size_t i = 0; i < len; i++) {
        if (out[i] == '\n') {
            bare_lf |= i == 0 || out[i - 1] != '\r';
            longest = cur > longest ? cur : longest;
            cur = 0;
        } else {
            cur++;
        }
    }
    TAP_OK(!bare_lf, "every line ends in CRLF");
    TAP_OK(longest <= 998, "no line longer than 998 characters (longest %d)", longest);
    TAP_OK(s_has(out, len, "Message-Id: <INV-000001@payroll.example.org>\r\n")
               || s_has(out, len, "Message-ID: <INV-000001@payroll.example.org>\r\n"),
           "the Message-ID header is there, in angle brackets");

    GMimeMessage *msg = s_parse(out, len);
    TAP_OK(msg != NULL, "GMime's parser reads it back");
    if (!msg) {
        free(out);
        return;
    }
    TAP_EQ_STR(g_mime_message_get_message_id(msg), "INV-000001@payroll.example.org",
               "Message-ID");
    TAP_EQ_STR(g_mime_message_get_subject(msg), "Invoice INV-000001 for 2026-W46", "Subject");
    InternetAddressList *to = g_mime_message_get_to(msg);
    TAP_OK(internet_address_list_length(to) == 1
               && strcmp(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
                             internet_address_list_get_address(to, 0))),
                         "ap@dhl.example") == 0,
           "To: the one recipient");
    InternetAddressList *from = g_mime_message_get_from(msg);
    InternetAddress *f0 = internet_address_list_length(from) == 1
                              ? internet_address_list_get_address(from, 0) : NULL;
    TAP_OK(f0 && strcmp(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(f0)),
                        "invoices@payroll.example.org") == 0,
           "From: the sender's address");
    TAP_EQ_STR(f0 ? internet_address_get_name(f0) : NULL,
               "Prison Industries \xe2\x80\x93 Finance", "with its display name (UTF-8, encoded)");
    GDateTime *dt = g_mime_message_get_date(msg);
    TAP_OK(dt && g_date_time_to_unix(dt) == 1795435200, "Date");
    TAP_EQ_STR(s_header(GMIME_OBJECT(msg), "Auto-Submitted"), "auto-generated", "Auto-Submitted");
    TAP_EQ_STR(s_header(GMIME_OBJECT(msg), "X-Pay-Document"), "INV-000001", "X-Pay-Document");
    TAP_EQ_STR(s_header(GMIME_OBJECT(msg), "MIME-Version"), "1.0", "MIME-Version");

    GMimeObject *top = g_mime_message_get_mime_part(msg);
    TAP_OK(GMIME_IS_MULTIPART(top), "multipart");
    GMimeContentType *ct = g_mime_object_get_content_type(top);
    TAP_OK(g_mime_content_type_is_type(ct, "multipart", "mixed"), "multipart/mixed");
    int n = GMIME_IS_MULTIPART(top) ? g_mime_multipart_get_count(GMIME_MULTIPART(top)) : 0;
    TAP_EQ_INT(n, 3, "a text part and two attachments");
    if (n == 3) {
        GMimeObject *t = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
        GMimeObject *p = g_mime_multipart_get_part(GMIME_MULTIPART(top), 1);
        GMimeObject *x = g_mime_multipart_get_part(GMIME_MULTIPART(top), 2);
        TAP_OK(g_mime_content_type_is_type(g_mime_object_get_content_type(t), "text", "plain"),
               "the first part is text/plain");
        TAP_EQ_STR(g_mime_object_get_content_type_parameter(t, "charset"), "utf-8",
                   "in UTF-8");
        size_t tl;
        uint8_t *text = s_content(t, &tl);
        TAP_OK(strstr((char *)text, "Total: \xc2\xa3" "1,234.56") != NULL,
               "the text survives quoted-printable, pound sign included");
        TAP_OK(strstr((char *)text, "\n.a line that starts with a dot") != NULL,
               "a line starting with a dot is kept as is (SMTP's dot-stuffing is the relay "
               "client's)");
        free(text);
        TAP_OK(g_mime_content_type_is_type(g_mime_object_get_content_type(p), "application", "pdf"),
               "the second part is application/pdf");
        TAP_EQ_STR(g_mime_part_get_filename(GMIME_PART(p)), "INV-000001.pdf", "named NUMBER.pdf");
        TAP_EQ_INT(g_mime_part_get_content_encoding(GMIME_PART(p)), GMIME_CONTENT_ENCODING_BASE64,
                   "base64");
        TAP_OK(g_mime_part_is_attachment(GMIME_PART(p)), "an attachment");
        size_t pl;
        uint8_t *got = s_content(p, &pl);
        TAP_OK(pl == sizeof pdf && memcmp(got, pdf, pl) == 0, "the PDF's bytes, exactly");
        free(got);
        TAP_OK(g_mime_content_type_is_type(g_mime_object_get_content_type(x), "application", "xml"),
               "the third part is application/xml");
        TAP_EQ_STR(g_mime_part_get_filename(GMIME_PART(x)), "INV-000001.xml", "named NUMBER.xml");
        size_t xl;
        got = s_content(x, &xl);
        TAP_OK(xl == sizeof xml - 1 && memcmp(got, xml, xl) == 0, "the UBL's bytes, exactly");
        free(got);
    }
    g_object_unref(msg);
    free(out);

    /* PDF only. */
    m.n_attachments = 1;
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), 0, "a message with the PDF only");
    msg = s_parse(out, len);
    top = msg ? g_mime_message_get_mime_part(msg) : NULL;
    TAP_EQ_INT(top && GMIME_IS_MULTIPART(top) ? g_mime_multipart_get_count(GMIME_MULTIPART(top))
                                              : -1,
               2, "has a text part and one attachment");
    if (msg)
        g_object_unref(msg);
    free(out);

    /* Two builds differ only in the boundary. */
    uint8_t *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    mail_mime_build(&m, &a, &al, err);
    mail_mime_build(&m, &b, &bl, err);
    TAP_OK(al == bl, "two builds of the same message have the same length");
    free(a);
    free(b);
}

static void test_refusals(void)
{
    mail_attachment_t att = {"INV-000001.pdf", "application/pdf", (const uint8_t *)"%PDF", 4};
    mail_message_t good = {
        .from_addr = "invoices@payroll.example.org", .to_addr = "ap@dhl.example",
        .subject = "Invoice", .message_id = "INV-000001@payroll.example.org",
        .document = "INV-000001", .date = 1795435200, .body = "x\n",
        .attachments = &att, .n_attachments = 1,
    };
    uint8_t *out = NULL;
    size_t len = 0;
    char err[MAIL_MIME_ERR_LEN];
    mail_message_t m = good;
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), 0, "the good message builds");
    free(out);
    m = good;
    m.to_addr = "ap@dhl.example\r\nBcc: x@y.z";
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), -1, "a header injection in To is refused");
    TAP_OK(out == NULL && strstr(err, "To") != NULL, "nothing built, and the reason: %s", err);
    m = good;
    m.subject = "Invoice\r\nBcc: x@y.z";
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), -1, "a line break in the subject");
    m = good;
    m.from_addr = "nobody";
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), -1, "a bad From");
    m = good;
    m.message_id = "<INV-000001@x>";
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), -1, "a Message-ID with brackets");
    m = good;
    m.message_id = "no-at-sign";
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), -1, "a Message-ID without '@'");
    mail_attachment_t bad = {"INV-000001.pdf", "pdf", (const uint8_t *)"%PDF", 4};
    m = good;
    m.attachments = &bad;
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), -1, "a content type without '/'");
    mail_attachment_t badname = {"../INV.pdf", "application/pdf", (const uint8_t *)"%PDF", 4};
    m = good;
    m.attachments = &badname;
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), -1, "a file name with a path");
    m = good;
    m.body = NULL;
    TAP_EQ_INT(mail_mime_build(&m, &out, &len, err), -1, "no body");
}

static void test_text(void)
{
    char subject[MAIL_SUBJECT_LEN], body[MAIL_BODY_LEN];
    mail_doc_text_t d = {
        .number = "INV-000012", .credit_note = 0, .employer = "dhl", .period = "2026-W46",
        .issue_date = "2026-11-23", .tax_point = "2026-11-22", .due_date = "2026-12-23",
        .net = 123456, .vat = 24691, .total = 148147, .supplier = "Prison Industries",
        .ubl = 1, .message_id = "INV-000012@payroll.example.org",
    };
    TAP_EQ_INT(mail_mime_text(&d, subject, body), 0, "an invoice's text");
    TAP_EQ_STR(subject, "Invoice INV-000012 for 2026-W46", "its subject");
    TAP_OK(strstr(body, "Invoice INV-000012 from Prison Industries to dhl, period 2026-W46.")
               != NULL, "says what it is and for whom");
    TAP_OK(strstr(body, "Total:       \xc2\xa3" "1481.47") != NULL, "the total in pounds");
    TAP_OK(strstr(body, "VAT:         \xc2\xa3" "246.91") != NULL, "the VAT");
    TAP_OK(strstr(body, "Due date:    2026-12-23") != NULL, "the due date");
    TAP_OK(strstr(body, "INV-000012.xml") != NULL, "mentions the UBL when there is one");
    TAP_OK(strstr(body, "<INV-000012@payroll.example.org>") != NULL, "and its Message-ID");
    TAP_OK(strstr(body, "quote the invoice number") != NULL, "how to pay");
    d.ubl = 0;
    d.credit_note = 1;
    d.number = "CRN-000003";
    d.net = -5000;
    d.vat = -1000;
    d.total = -6000;
    mail_mime_text(&d, subject, body);
    TAP_EQ_STR(subject, "Credit note CRN-000003 for 2026-W46", "a credit note's subject");
    TAP_OK(strstr(body, ".xml") == NULL, "no UBL mentioned without one");
    TAP_OK(strstr(body, "\xc2\xa3-60.00") != NULL, "a negative total");
    TAP_OK(strstr(body, "reduces the balance") != NULL, "what a credit note does");
    d.period = "";
    mail_mime_text(&d, subject, body);
    TAP_EQ_STR(subject, "Credit note CRN-000003", "no period, no ' for '");
}

int main(void)
{
    mail_mime_init();
    test_build();
    test_refusals();
    test_text();
    mail_mime_shutdown();
    return tap_done();
}
