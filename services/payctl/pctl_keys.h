/* pctl_keys: `payctl keys new` and `payctl keys grant`, the key management
 * that needs no running service (the files of auth.h).
 *
 *   keys new NAME [--dir DIR] [--force]
 *       writes DIR/NAME.key (mode 0600) and DIR/NAME.pub; DIR defaults to
 *       the keys folder and is created (mode 0700) if missing. An existing
 *       NAME.key is never overwritten without --force.
 *   keys grant PUBFILE --role R --scope S --name N [--allow-file FILE]
 *       appends "<public> R S N" to the allow-list (default
 *       <keys-dir>/allow.txt). The scope must fit the role: a prison code
 *       (three capital letters) for instructor and governor, an employer
 *       id for employer, and "-" for industries, finance and service.
 *
 * Both print what they did on stdout. The services read the allow-list
 * when they start (or on reload), not on every request. */
#ifndef PAYCTL_PCTL_KEYS_H
#define PAYCTL_PCTL_KEYS_H

#include "pctl_cli.h"

int pctl_keys_new(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_keys_grant(pctl_ctx_t *ctx, int argc, char **argv);

/* Checks that `scope` fits `role` (see above) and that `name` is 1 to 63
 * characters without blanks, '#' or ':'. Returns 0, or -1 with the reason
 * in why (at least 160 bytes). Pure; exposed for the tests. */
int pctl_keys_check_grant(const char *role, const char *scope, const char *name, char *why,
                          size_t whylen);

#endif
