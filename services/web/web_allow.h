/* web_allow: reads one key's entry from the services' allow-list file.
 *
 * pay-web decides which pages to offer from the role and scope that the
 * allow-list gives a login's public key, read at each login (so a revoked
 * key cannot log in again, and a changed grant applies at the next
 * login). It enforces nothing with it: every service call is made with the
 * login's own key, and the services check its role and scope themselves.
 *
 * The file is the one auth.h describes. A file that auth.h would refuse
 * (auth_allow_file_check) is refused here too; when a key is listed more
 * than once, the last line wins, as in the services. */
#ifndef PAY_WEB_ALLOW_H
#define PAY_WEB_ALLOW_H

#include "auth.h"

/* Looks up `public_z85` in `allow_file`. Returns 0 with *out filled
 * (scope "" for "-"), 1 if the key is not listed, or -1 if the file cannot
 * be read or does not parse (reason in err). */
int web_allow_lookup(const char *allow_file, const char *public_z85, auth_identity_t *out,
                     char err[AUTH_ERR_LEN]);

#endif
