/* pctl_keys: `payctl keys new`, `keys grant` and `keys revoke`, the key
 * management that needs no running service (the files of auth.h).
 *
 *   keys new NAME [--dir DIR] [--force]
 *       writes DIR/NAME.key (mode 0600) and DIR/NAME.pub; DIR defaults to
 *       the keys folder and is created (mode 0700) if missing. An existing
 *       NAME.key is never overwritten without --force.
 *   keys grant PUBFILE --role R --scope S --name N [--allow-file FILE]
 *       lists "<public> R S N" in the allow-list (default
 *       <keys-dir>/allow.txt): a key already listed has its entry replaced,
 *       the same grant again changes nothing (auth_allow_file_append). The
 *       scope must fit the role: a prison code (three capital letters) for
 *       instructor and governor, an employer id for employer, and "-" for
 *       industries, finance and service.
 *   keys revoke PUBFILE|PUBKEY [--allow-file FILE]
 *       removes the key's entry (auth_allow_file_remove); exit 1 if it was
 *       not listed.
 *
 * Each prints what it did on stdout. The files are edited atomically
 * (temporary file and rename), comments kept. The services read the
 * allow-list when they start, not on every request: a change, a revocation
 * included, applies once they restart. */
#ifndef PAYCTL_PCTL_KEYS_H
#define PAYCTL_PCTL_KEYS_H

#include "pctl_cli.h"

int pctl_keys_new(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_keys_grant(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_keys_revoke(pctl_ctx_t *ctx, int argc, char **argv);

/* Checks that `scope` fits `role` (see above) and that `name` is 1 to 63
 * characters without blanks, '#' or ':'. Returns 0, or -1 with the reason
 * in why (at least 160 bytes). Pure; exposed for the tests. */
int pctl_keys_check_grant(const char *role, const char *scope, const char *name, char *why,
                          size_t whylen);

#endif
