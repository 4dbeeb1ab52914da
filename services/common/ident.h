/* ident: the identifiers and string fields of DOMAIN.md, checked in one
 * place for every service and for payctl.
 *
 * Why this module exists: a producer and its consumers must agree exactly
 * on what is well formed, or an hours record accepted by the hours service
 * could be refused by the wage service further down the feed and go
 * unpaid. So every pattern ("Identifiers and formats"), every length in the
 * unit the spec gives (a record_id is at most 64 CHARACTERS, which is up to
 * 256 bytes of UTF-8), and the UTF-8 rule for every string field live here,
 * and nowhere else.
 *
 * Strings are C strings: the protobuf wire may carry an embedded NUL,
 * which a C string would silently cut short, so codec.h refuses any string
 * field holding a NUL or invalid UTF-8 before a message reaches a handler
 * (ident_utf8_valid over the wire bytes). After that, a C string is the
 * whole field.
 *
 * Memory: nothing here allocates or keeps state; all functions are pure. */
#ifndef PAY_IDENT_H
#define PAY_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Buffer sizes, including the terminating NUL. */
#define IDENT_PRISON_LEN 4          /* MDI */
#define IDENT_PRISONER_LEN 8        /* A1234BC */
#define IDENT_EMPLOYER_LEN 33       /* [a-z0-9][a-z0-9-]{1,31} */
#define IDENT_CONTRACT_LEN 25       /* [A-Z0-9][A-Z0-9-]{0,23} */
#define IDENT_RECORD_ID_CHARS 64    /* characters (Unicode code points) */
#define IDENT_RECORD_ID_MAX 256     /* bytes: 64 code points of up to 4 bytes */
#define IDENT_RECORD_ID_LEN (IDENT_RECORD_ID_MAX + 1)
#define IDENT_TEXT_CHARS 200        /* names, activities, attestation fields */
#define IDENT_TEXT_MAX (IDENT_TEXT_CHARS * 4)
#define IDENT_TEXT_LEN (IDENT_TEXT_MAX + 1)
#define IDENT_VAT_LEN 12            /* GB + 9 digits */

/* Bounds on numbers that the spec leaves open, shared by the producer and
 * its consumers so that no sum downstream can overflow. */
#define IDENT_MIN_MINUTES 1
#define IDENT_MAX_MINUTES 600
#define IDENT_MAX_UNITS 1000000000ULL
#define IDENT_MAX_PAY_BAND 10

/* ---- UTF-8 ---------------------------------------------------------------- */

/* True if the `len` bytes are well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF) and hold no NUL. */
bool ident_utf8_valid(const void *s, size_t len);

/* Code points in the C string `s` if it is valid UTF-8 with no control
 * character (C0, DEL, C1), else -1. NULL counts as 0. */
long ident_text_chars(const char *s);

/* Replaces, in place, every byte of `len` bytes that does not belong to a
 * well-formed UTF-8 sequence (and every NUL) with '?', so that the bytes
 * become valid UTF-8 of the same length. Returns the bytes replaced. */
size_t ident_utf8_repair(void *s, size_t len);

/* ---- identifier patterns (exact: case matters, nothing trimmed) -------- */

bool ident_is_prison(const char *s);      /* ^[A-Z]{3}$ */
bool ident_is_prisoner(const char *s);    /* ^[A-Z][0-9]{4}[A-Z]{2}$ */
bool ident_is_employer(const char *s);    /* ^[a-z0-9][a-z0-9-]{1,31}$ */
bool ident_is_contract(const char *s);    /* ^[A-Z0-9][A-Z0-9-]{0,23}$ */
bool ident_is_vat_number(const char *s);  /* ^GB[0-9]{9}$ */
/* record_id (and other client-chosen ids: adjustment ids): 1 to 64
 * characters of valid UTF-8, no control characters. */
bool ident_is_record_id(const char *s);
/* Free text (names, activities, addresses): 1 to max_chars characters of
 * valid UTF-8, no control characters. */
bool ident_is_text(const char *s, int max_chars);

#endif
