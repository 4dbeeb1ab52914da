/* hup: SIGHUP as "re-read the allow-list", the operator's way to make a
 * running service see a `payctl keys grant` or `keys revoke` without a
 * restart.
 *
 * The signal handler only sets a flag; the service's loop polls it from a
 * timer (server_every) and does the work in its own thread, so nothing
 * unsafe runs in signal context. New handshakes use the new list at once;
 * connections already authenticated keep the identity they were given. */
#ifndef PAY_HUP_H
#define PAY_HUP_H

#include "auth.h"

/* Installs the SIGHUP handler. Returns 0 or -1. */
int hup_install(void);

/* 1 if SIGHUP arrived since the last call (and clears it), else 0. */
int hup_pending(void);

/* A server_fn for server_every: on a pending SIGHUP, re-reads the
 * allow-list of the auth_t passed as `arg` and logs the outcome. */
int hup_reload_tick(void *auth);

#endif
