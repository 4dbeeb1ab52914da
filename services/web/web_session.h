/* web_session: pay-web's table of logged-in sessions, and their CSRF
 * tokens.
 *
 * A session exists only in this table, in memory: its id (32 bytes from
 * randombytes_buf, as 64 hex characters, the cookie value), its CSRF token
 * (another 32 random bytes), the login name, the identity the allow-list
 * gives the login's key (role and scope, for choosing pages; the services
 * check every call themselves), and the login's CURVE key pair, decrypted
 * at login. Nothing of it is ever written to disk: the table lives in
 * sodium_malloc'd memory (locked, guarded), and a session's bytes are
 * wiped with sodium_memzero when it is closed, when it expires, and when
 * the table is destroyed.
 *
 * A session expires when it has not been used for idle_ms. Looking a
 * session up refreshes it. An expired session's secrets are wiped at once
 * (at the lookup or the periodic sweep); only its id is kept for an hour,
 * so that the browser that still holds it can be told "expired". When the table is full, opening a session
 * evicts the one used longest ago.
 *
 * Thread-safe: every call takes the table's mutex. Lookups copy the
 * session out, so that no lock is held while a page calls the services;
 * the caller wipes its copy with web_session_wipe when the request ends.
 *
 * Ownership: the table owns its memory; web_sessions_destroy wipes and
 * frees it. */
#ifndef PAY_WEB_SESSION_H
#define PAY_WEB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define WEB_TOKEN_LEN 64          /* hex characters of a session id or CSRF token */
#define WEB_LOGIN_LEN 64

typedef struct {
    char sid[WEB_TOKEN_LEN + 1];
    char csrf[WEB_TOKEN_LEN + 1];
    char login[WEB_LOGIN_LEN];
    auth_identity_t who;
    auth_keypair_t keys;
    int64_t created_ms, last_ms;
} web_session_t;

typedef struct web_sessions_t web_sessions_t;

/* A table of at most `max` sessions (1..65536) that expire after idle_ms
 * (> 0) without use. Returns NULL on failure (sodium not initialised, no
 * memory). */
web_sessions_t *web_sessions_new(size_t max, int64_t idle_ms);
/* Wipes every session and frees. Accepts NULL; NULLs *self_p. */
void web_sessions_destroy(web_sessions_t **self_p);

/* Opens a session for `login` with identity `who` and key pair `keys`
 * (copied; the caller wipes its own copy), used at now_ms. Copies the new
 * session, with its fresh id and CSRF token, to *out. Returns 0 or -1. */
int web_sessions_open(web_sessions_t *self, const char *login, const auth_identity_t *who,
                      const auth_keypair_t *keys, int64_t now_ms, web_session_t *out);

#define WEB_SESSION_OK 0
#define WEB_SESSION_UNKNOWN (-1)
#define WEB_SESSION_EXPIRED 1

/* Finds the session with id `sid`. WEB_SESSION_OK: it was live; it is
 * refreshed (last used now_ms) and copied to *out. WEB_SESSION_EXPIRED: it
 * had been idle for idle_ms or more; it is wiped and removed now.
 * WEB_SESSION_UNKNOWN: no such session (or sid is not 64 hex characters).
 * *out is zeroed unless OK. */
int web_sessions_get(web_sessions_t *self, const char *sid, int64_t now_ms, web_session_t *out);

/* Wipes and removes session `sid` (logout). Returns 0, or -1 if unknown. */
int web_sessions_close(web_sessions_t *self, const char *sid);

/* Wipes every session idle for idle_ms or more at now_ms (its id kept
 * for an hour, so that web_sessions_get still says EXPIRED), and removes
 * every session of `login` if login is not NULL. Returns how many ended. */
size_t web_sessions_sweep(web_sessions_t *self, int64_t now_ms, const char *login);

/* Live sessions. */
size_t web_sessions_count(web_sessions_t *self);

/* 1 if `token` is the session's CSRF token (compared in constant time). */
int web_csrf_ok(const web_session_t *s, const char *token);

/* Zeroes a session copy (sodium_memzero). */
void web_session_wipe(web_session_t *s);

/* 64 hex characters of 32 bytes from randombytes_buf, NUL-terminated. */
void web_token_new(char out[WEB_TOKEN_LEN + 1]);

#endif
