/* pctl_web: `payctl web user add|remove|list`, the web logins of pay-web.
 *
 * payctl writes pay-web's key store (<data-dir>/web, web_keystore.h)
 * directly: the store is an LMDB environment, which several processes may
 * use at once, so a login added while pay-web runs works at its next
 * login, with no extra protocol between the two. A login is a CURVE key
 * pair already made with `payctl keys new` and granted with `payctl keys
 * grant`; its secret key is sealed under the password and never stored in
 * the clear. The password comes from --password-file (its first line) or
 * is asked for twice on the terminal, without echo. */
#ifndef PAYCTL_PCTL_WEB_H
#define PAYCTL_PCTL_WEB_H

#include "pctl_cli.h"

int pctl_web_user_add(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_web_user_remove(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_web_user_list(pctl_ctx_t *ctx, int argc, char **argv);

#endif
