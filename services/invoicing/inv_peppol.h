/* inv_peppol: Peppol electronic addresses (EndpointID) as pure functions.
 *
 * Peppol BIS Billing 3.0 wants every party's electronic address as a
 * scheme from the Electronic Address Scheme (EAS) code list and an id
 * (PEPPOL-EN16931-R010/R020, CL008). An employer registers one as
 * "scheme:id" (FORMATS.md employers, `peppol_endpoint`), e.g.
 * "0088:5012345678900"; without one, an employer with a VAT number is
 * addressed by it under scheme 9932 (UK VAT); an employer with neither has
 * no address on the Peppol network, and no UBL document is made for it
 * (DOMAIN.md "Invoicing employers").
 *
 * The scheme list is the one of Peppol BIS Billing 3.0.15 (rule CL008 of
 * PEPPOL-EN16931-UBL.sch). For the schemes whose ids Peppol checks with a
 * check digit (PEPPOL-COMMON-R040 to R050: GLN, Norwegian, Danish, Belgian,
 * Swedish and Australian numbers) the same checks are made here, so that an
 * endpoint accepted on import never makes a document that fails them.
 *
 * No allocation, no state; ids and schemes are plain strings. */
#ifndef PAY_INV_PEPPOL_H
#define PAY_INV_PEPPOL_H

#include <stddef.h>

#define INV_PEPPOL_SCHEME_LEN 8      /* "0088" + NUL, with room */
#define INV_PEPPOL_ID_MAX 120        /* longest id accepted */

/* 1 if `scheme` (e.g. "0088") is on the EAS code list. */
int inv_peppol_scheme_known(const char *scheme);

/* Parses and checks "scheme:id". On success fills scheme (at least
 * INV_PEPPOL_SCHEME_LEN bytes) and id (at least INV_PEPPOL_ID_MAX + 1
 * bytes) and returns 0. On failure returns -1 and writes a sentence for
 * the user into why (e.g. "scheme 1234 is not on the Peppol EAS code
 * list"). The id is 1 to 120 characters of [A-Za-z0-9.:_-]; schemes with
 * a check digit are checked. */
int inv_peppol_parse(const char *text, char *scheme, char *id, char *why, size_t whylen);

/* The electronic address of a party: its registered endpoint if it has
 * one, else "9932" and its VAT number, else none. Returns 0 with scheme
 * and id filled, or -1 when the party has neither (no UBL can be made). */
int inv_peppol_address(const char *endpoint_scheme, const char *endpoint_id, const char *vat,
                       char *scheme, size_t schemelen, char *id, size_t idlen);

#endif
