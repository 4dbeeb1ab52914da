/* mail_mime: the e-mail that carries one invoice or credit note, built as a
 * MIME message with GMime 3.
 *
 * The message is multipart/mixed: a short text/plain part (UTF-8, quoted-
 * printable) that says what the document is, what it comes to and how to
 * quote it, then the PDF (application/pdf, base64, "<number>.pdf") and,
 * where there is one, the Peppol UBL (application/xml, base64,
 * "<number>.xml"). Headers: From, To, Subject, Date, Message-ID (given by
 * the caller: mail_rules derives it from the document number), MIME-Version,
 * Auto-Submitted: auto-generated (RFC 3834, so that auto-responders stay
 * quiet) and X-Pay-Document: <number>. Lines end in CRLF, as SMTP wants
 * them. Only the MIME boundary is random; everything else follows from the
 * inputs, so a resend after a crash differs from the first copy only there
 * and in Date.
 *
 * GMime keeps global state: mail_mime_init once per process before the
 * first build (from the main thread), mail_mime_shutdown at the end. A
 * build uses no other global state and may run in any one thread at a time.
 *
 * Ownership: inputs are borrowed; mail_mime_build returns a malloc'd buffer
 * that the caller frees; mail_mime_text fills caller-owned buffers. */
#ifndef PAY_MAIL_MIME_H
#define PAY_MAIL_MIME_H

#include <stddef.h>
#include <stdint.h>

void mail_mime_init(void);
void mail_mime_shutdown(void);

typedef struct {
    const char *filename;       /* e.g. INV-000001.pdf */
    const char *content_type;   /* "type/subtype" */
    const uint8_t *data;
    size_t len;
} mail_attachment_t;

typedef struct {
    const char *from_name;      /* may be NULL or "" */
    const char *from_addr;      /* a mail_address_valid address */
    const char *to_addr;        /* likewise */
    const char *subject;        /* UTF-8; encoded as RFC 2047 where needed */
    const char *message_id;     /* without angle brackets */
    const char *document;       /* the document number, for X-Pay-Document */
    int64_t date;               /* Unix seconds, for the Date header */
    const char *body;           /* UTF-8 text, lines ending in "\n" */
    const mail_attachment_t *attachments;
    size_t n_attachments;
} mail_message_t;

#define MAIL_MIME_ERR_LEN 160

/* Builds the message. Returns 0 with *out (malloc'd, *out_len bytes, not
 * NUL-terminated), or -1 with the reason in err (a missing field, an
 * address that mail_address_valid refuses, a content type without '/'). */
int mail_mime_build(const mail_message_t *m, uint8_t **out, size_t *out_len,
                    char err[MAIL_MIME_ERR_LEN]);

/* What the text part and the subject say about a document. */
typedef struct {
    const char *number;
    int credit_note;
    const char *employer;
    const char *period;
    const char *issue_date, *tax_point, *due_date;   /* YYYY-MM-DD */
    int64_t net, vat, total;                          /* pence */
    const char *supplier;       /* who sends it (the From name), or NULL */
    int ubl;                    /* a UBL is attached */
    const char *message_id;
} mail_doc_text_t;

#define MAIL_SUBJECT_LEN 160
#define MAIL_BODY_LEN 2048

/* Fills subject ("Invoice INV-000001 for 2026-W46") and body. Returns 0,
 * or -1 if a buffer is too short (then both hold something truncated). */
int mail_mime_text(const mail_doc_text_t *d, char subject[MAIL_SUBJECT_LEN],
                   char body[MAIL_BODY_LEN]);

#endif
