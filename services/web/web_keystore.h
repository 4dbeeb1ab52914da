/* web_keystore: pay-web's store of web logins (LMDB, database "accounts"
 * in <data-dir>/web), shared by pay-web (which unlocks) and `payctl web
 * user add/remove` (which writes).
 *
 * A web login is a CURVE key pair that is on the services' allow-list,
 * like any payctl user's. Its secret key is kept only encrypted:
 * crypto_secretbox (XSalsa20-Poly1305) under a 32-byte key derived from
 * the login's password by crypto_pwhash (Argon2id 1.3, a random salt per
 * login, the cost recorded with it). Unlocking with the right password
 * gives the key pair back; a wrong password fails the MAC. The public key
 * is kept in the clear: it names the allow-list entry.
 *
 * Several processes may use the store at once (LMDB's lock file): payctl
 * adds a login while pay-web runs, and the next login sees it. Within one
 * process the store is used under its own mutex.
 *
 * Ownership: the store owns its LMDB environment. Key pairs returned are
 * the caller's to wipe (sodium_memzero). */
#ifndef PAY_WEB_KEYSTORE_H
#define PAY_WEB_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

typedef struct web_keystore_t web_keystore_t;

/* Argon2id cost; zeros mean libsodium's INTERACTIVE limits. */
typedef struct {
    uint64_t opslimit;
    size_t memlimit;
} web_kdf_cost_t;

#define WEB_PASSWORD_MIN 10
#define WEB_PASSWORD_MAX 256

/* Opens (creating) the store in `dir`. NULL on failure (logged). */
web_keystore_t *web_keystore_open(const char *dir);
void web_keystore_destroy(web_keystore_t **self_p);

/* 1 if `name` is a login name: 1 to 63 of a-z A-Z 0-9 . _ - , starting
 * with a letter or digit. */
int web_login_name_ok(const char *name);

/* Stores login `name` with key pair `kp` (both keys) sealed under
 * `password` (WEB_PASSWORD_MIN..MAX bytes). An existing login is replaced
 * only if `replace`. Returns 0, 1 if the login exists and !replace, or -1
 * (bad name, password or key; storage error; reason in err). */
int web_keystore_put(web_keystore_t *self, const char *name, const auth_keypair_t *kp,
                     const char *password, const web_kdf_cost_t *cost, int replace,
                     char err[AUTH_ERR_LEN]);

/* Unlocks login `name` with `password`. Returns 0 with *out set, 1 if the
 * login is unknown or the password wrong (the same answer, after the same
 * work), or -1 on a storage error or a damaged record. */
int web_keystore_unlock(web_keystore_t *self, const char *name, const char *password,
                        auth_keypair_t *out);

/* Removes login `name`. Returns 0, 1 if there was none, or -1. */
int web_keystore_remove(web_keystore_t *self, const char *name);

/* Calls fn(name, public_z85, created_at, arg) for each login in name
 * order. Returns 0 or -1. */
int web_keystore_each(web_keystore_t *self,
                      void (*fn)(const char *name, const char *public_z85, int64_t created_at,
                                 void *arg),
                      void *arg);

#endif
