/* mail_mime: see mail_mime.h. */
#include "mail_mime.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_rules.h"
#include "money.h"

void mail_mime_init(void)
{
    g_mime_init();
}

void mail_mime_shutdown(void)
{
    g_mime_shutdown();
}

static int s_err(char err[MAIL_MIME_ERR_LEN], const char *msg)
{
    snprintf(err, MAIL_MIME_ERR_LEN, "%s", msg);
    return -1;
}

/* A leaf part holding `len` bytes of `data` as type/subtype, with the
 * given transfer encoding; `filename` makes it an attachment. */
static GMimePart *s_part(const char *content_type, const void *data, size_t len,
                         GMimeContentEncoding enc, const char *filename)
{
    char type[64];
    const char *slash = strchr(content_type, '/');
    size_t tl = slash ? (size_t)(slash - content_type) : 0;
    if (!slash || tl == 0 || tl >= sizeof type || !slash[1])
        return NULL;
    memcpy(type, content_type, tl);
    type[tl] = '\0';
    GMimePart *part = g_mime_part_new_with_type(type, slash + 1);
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
    g_object_unref(s);
    g_mime_part_set_content(part, w);
    g_object_unref(w);
    g_mime_part_set_content_encoding(part, enc);
    if (filename)
        g_mime_part_set_filename(part, filename);
    return part;
}

int mail_mime_build(const mail_message_t *m, uint8_t **out, size_t *out_len,
                    char err[MAIL_MIME_ERR_LEN])
{
    GMimeMessage *msg = NULL;
    GMimeMultipart *mixed = NULL;
    GMimeStream *stream = NULL;
    GMimeFormatOptions *fo = NULL;
    int rc = -1;
    *out = NULL;
    *out_len = 0;
    err[0] = '\0';
    if (!m->from_addr || !mail_address_valid(m->from_addr))
        return s_err(err, "the From address is not a plain mailbox");
    if (!m->to_addr || !mail_address_valid(m->to_addr))
        return s_err(err, "the To address is not a plain mailbox");
    if (!m->subject || !m->message_id || !*m->message_id || !m->body || !m->document)
        return s_err(err, "subject, Message-ID, document and body are required");
    if (strpbrk(m->message_id, "<> \r\n") || !strchr(m->message_id, '@'))
        return s_err(err, "the Message-ID must be left@right without brackets or spaces");
    if (strpbrk(m->subject, "\r\n") || strpbrk(m->document, "\r\n")
        || (m->from_name && strpbrk(m->from_name, "\r\n")))
        return s_err(err, "a header value holds a line break");

    msg = g_mime_message_new(TRUE);
    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM,
                               m->from_name && *m->from_name ? m->from_name : NULL,
                               m->from_addr);
    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, m->to_addr);
    g_mime_message_set_subject(msg, m->subject, "utf-8");
    g_mime_message_set_message_id(msg, m->message_id);
    GDateTime *dt = g_date_time_new_from_unix_utc(m->date);
    if (!dt) {
        s_err(err, "the date is out of range");
        goto fail;
    }
    g_mime_message_set_date(msg, dt);
    g_date_time_unref(dt);
    g_mime_object_set_header((GMimeObject *)msg, "Auto-Submitted", "auto-generated", NULL);
    g_mime_object_set_header((GMimeObject *)msg, "X-Pay-Document", m->document, NULL);

    mixed = g_mime_multipart_new_with_subtype("mixed");
    GMimePart *text = s_part("text/plain", m->body, strlen(m->body),
                             GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE, NULL);
    if (!text) {
        s_err(err, "cannot make the text part");
        goto fail;
    }
    g_mime_object_set_content_type_parameter((GMimeObject *)text, "charset", "utf-8");
    g_mime_multipart_add(mixed, (GMimeObject *)text);
    g_object_unref(text);
    for (size_t i = 0; i < m->n_attachments; i++) {
        const mail_attachment_t *a = &m->attachments[i];
        if (!a->filename || !*a->filename || strpbrk(a->filename, "\r\n/\\\"")) {
            s_err(err, "an attachment needs a plain file name");
            goto fail;
        }
        GMimePart *p = a->content_type
                           ? s_part(a->content_type, a->data ? (const void *)a->data : "", a->len,
                                    GMIME_CONTENT_ENCODING_BASE64, a->filename)
                           : NULL;
        if (!p) {
            s_err(err, "an attachment's content type is not type/subtype");
            goto fail;
        }
        g_mime_multipart_add(mixed, (GMimeObject *)p);
        g_object_unref(p);
    }
    g_mime_message_set_mime_part(msg, (GMimeObject *)mixed);

    fo = g_mime_format_options_clone(NULL);
    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
    stream = g_mime_stream_mem_new();
    if (g_mime_object_write_to_stream((GMimeObject *)msg, fo, stream) < 0) {
        s_err(err, "cannot write the message");
        goto fail;
    }
    GByteArray *ba = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)stream);
    *out = malloc(ba->len ? ba->len : 1);
    if (!*out) {
        s_err(err, "out of memory");
        goto fail;
    }
    memcpy(*out, ba->data, ba->len);
    *out_len = ba->len;
    rc = 0;
fail:
    if (stream)
        g_object_unref(stream);
    if (fo)
        g_mime_format_options_free(fo);
    if (mixed)
        g_object_unref(mixed);
    if (msg)
        g_object_unref(msg);
    return rc;
}

int mail_mime_text(const mail_doc_text_t *d, char subject[MAIL_SUBJECT_LEN],
                   char body[MAIL_BODY_LEN])
{
    char net[MONEY_TEXT_LEN], vat[MONEY_TEXT_LEN], total[MONEY_TEXT_LEN];
    const char *what = d->credit_note ? "Credit note" : "Invoice";
    const char *lower = d->credit_note ? "credit note" : "invoice";
    const char *period = d->period && *d->period ? d->period : NULL;
    money_format(d->net, net);
    money_format(d->vat, vat);
    money_format(d->total, total);
    int n = snprintf(subject, MAIL_SUBJECT_LEN, "%s %s%s%s", what, d->number,
                     period ? " for " : "", period ? period : "");
    int ok = n >= 0 && n < MAIL_SUBJECT_LEN;
    n = snprintf(body, MAIL_BODY_LEN,
                 "%s %s%s%s%s%s%s%s.\n"
                 "\n"
                 "  %-12s %s\n"
                 "  %-12s %s\n"
                 "  %-12s %s\n"
                 "  %-12s \xc2\xa3%s\n"
                 "  %-12s \xc2\xa3%s\n"
                 "  %-12s \xc2\xa3%s\n"
                 "\n"
                 "The %s is attached as a PDF (%s.pdf)%s%s%s.\n"
                 "%s"
                 "\n"
                 "This message was sent automatically. Its Message-ID is\n"
                 "  <%s>\n"
                 "and a copy that arrives with the same Message-ID is the same message.\n",
                 what, d->number, d->supplier && *d->supplier ? " from " : "",
                 d->supplier && *d->supplier ? d->supplier : "",
                 d->employer ? " to " : "", d->employer ? d->employer : "",
                 period ? ", period " : "", period ? period : "",
                 "Issue date:", d->issue_date ? d->issue_date : "",
                 "Tax point:", d->tax_point ? d->tax_point : "",
                 d->credit_note ? "Date:" : "Due date:", d->due_date ? d->due_date : "",
                 "Net:", net, "VAT:", vat, "Total:", total,
                 lower, d->number,
                 d->ubl ? ", with its Peppol BIS Billing 3.0 UBL (" : "",
                 d->ubl ? d->number : "", d->ubl ? ".xml)" : "",
                 d->credit_note ? "It reduces the balance of your account.\n"
                                : "Please quote the invoice number with your payment.\n",
                 d->message_id ? d->message_id : "");
    ok = ok && n >= 0 && n < MAIL_BODY_LEN;
    return ok ? 0 : -1;
}
