/* web_keystore: see web_keystore.h. */
#include "web_keystore.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "log.h"
#include "store.h"
#include "web.pb-c.h"

#define S_KDF_ARGON2ID13 1
#define S_MAP_SIZE ((size_t)8 << 20)

struct web_keystore_t {
    store_t *store;
    MDB_dbi accounts;
    pthread_mutex_t lock;
};

static const char *const s_dbs[] = {"accounts", NULL};

web_keystore_t *web_keystore_open(const char *dir)
{
    if (sodium_init() < 0)
        return NULL;
    web_keystore_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store_open(dir, s_dbs, S_MAP_SIZE);
    if (!self->store) {
        free(self);
        return NULL;
    }
    self->accounts = store_dbi(self->store, "accounts");
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void web_keystore_destroy(web_keystore_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    web_keystore_t *self = *self_p;
    store_destroy(&self->store);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int web_login_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

static void s_cost(const web_kdf_cost_t *cost, uint64_t *ops, size_t *mem)
{
    *ops = cost && cost->opslimit ? cost->opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE;
    *mem = cost && cost->memlimit ? cost->memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

typedef struct {
    MDB_dbi dbi;
    const char *name;
    const uint8_t *val;
    size_t vlen;
    int replace;
    int existed;
} s_put_t;

static int s_put_fn(MDB_txn *txn, void *arg)
{
    s_put_t *p = arg;
    MDB_val v;
    int rc = store_get(txn, p->dbi, p->name, strlen(p->name), &v);
    p->existed = rc == 0;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (p->existed && !p->replace)
        return 0;
    return store_put(txn, p->dbi, p->name, strlen(p->name), p->val, p->vlen, 0);
}

int web_keystore_put(web_keystore_t *self, const char *name, const auth_keypair_t *kp,
                     const char *password, const web_kdf_cost_t *cost, int replace,
                     char err[AUTH_ERR_LEN])
{
    uint8_t secret[32], public_[32], check[32], key[crypto_secretbox_KEYBYTES];
    uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
    uint8_t sealed[32 + crypto_secretbox_MACBYTES];
    uint8_t *packed = NULL;
    int rc = -1;
    err[0] = '\0';
    if (!web_login_name_ok(name)) {
        snprintf(err, AUTH_ERR_LEN, "login name: 1 to 63 of a-z A-Z 0-9 . _ -, starting with "
                                    "a letter or digit");
        goto done;
    }
    size_t plen = password ? strlen(password) : 0;
    if (plen < WEB_PASSWORD_MIN || plen > WEB_PASSWORD_MAX) {
        snprintf(err, AUTH_ERR_LEN, "password: %d to %d characters", WEB_PASSWORD_MIN,
                 WEB_PASSWORD_MAX);
        goto done;
    }
    if (strlen(kp->secret_z85) != 40 || strlen(kp->public_z85) != 40 ||
        !zmq_z85_decode(secret, kp->secret_z85) || !zmq_z85_decode(public_, kp->public_z85) ||
        crypto_scalarmult_base(check, secret) != 0 || sodium_memcmp(check, public_, 32) != 0) {
        snprintf(err, AUTH_ERR_LEN, "the key file does not hold a matching CURVE key pair");
        goto done;
    }
    uint64_t ops;
    size_t mem;
    s_cost(cost, &ops, &mem);
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(nonce, sizeof nonce);
    if (crypto_pwhash(key, sizeof key, password, plen, salt, ops, mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        snprintf(err, AUTH_ERR_LEN, "crypto_pwhash failed (out of memory?)");
        goto done;
    }
    crypto_secretbox_easy(sealed, secret, sizeof secret, nonce, key);
    Pay__WebAccount a = PAY__WEB_ACCOUNT__INIT;
    a.name = (char *)name;
    a.public_key = (char *)kp->public_z85;
    a.has_kdf = a.has_salt = a.has_opslimit = a.has_memlimit = a.has_nonce = a.has_sealed = 1;
    a.has_created_at = 1;
    a.kdf = S_KDF_ARGON2ID13;
    a.salt.data = salt;
    a.salt.len = sizeof salt;
    a.opslimit = ops;
    a.memlimit = mem;
    a.nonce.data = nonce;
    a.nonce.len = sizeof nonce;
    a.sealed.data = sealed;
    a.sealed.len = sizeof sealed;
    a.created_at = (int64_t)time(NULL);
    size_t len = pay__web_account__get_packed_size(&a);
    if (!(packed = malloc(len))) {
        snprintf(err, AUTH_ERR_LEN, "out of memory");
        goto done;
    }
    pay__web_account__pack(&a, packed);
    s_put_t p = {self->accounts, name, packed, len, replace, 0};
    pthread_mutex_lock(&self->lock);
    int wrc = store_write(self->store, s_put_fn, &p);
    pthread_mutex_unlock(&self->lock);
    if (wrc != 0) {
        snprintf(err, AUTH_ERR_LEN, "cannot write the store: %s", mdb_strerror(wrc));
        goto done;
    }
    rc = p.existed && !replace ? 1 : 0;
done:
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(key, sizeof key);
    free(packed);
    return rc;
}

/* Reads login `name`'s record (a copy). Returns 0, 1 if none, -1. */
static int s_read(web_keystore_t *self, const char *name, Pay__WebAccount **out)
{
    MDB_txn *txn = NULL;
    MDB_val v;
    int rc = -1;
    *out = NULL;
    pthread_mutex_lock(&self->lock);
    if (store_read_begin(self->store, &txn) != 0)
        goto done;
    int g = store_get(txn, self->accounts, name, strlen(name), &v);
    if (g == MDB_NOTFOUND) {
        rc = 1;
        goto done;
    }
    if (g != 0)
        goto done;
    *out = pay__web_account__unpack(NULL, v.mv_size, v.mv_data);
    rc = *out ? 0 : -1;
done:
    if (txn)
        mdb_txn_abort(txn);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int web_keystore_unlock(web_keystore_t *self, const char *name, const char *password,
                        auth_keypair_t *out)
{
    static const uint8_t dummy_salt[crypto_pwhash_SALTBYTES] = {0};
    uint8_t key[crypto_secretbox_KEYBYTES], secret[32], public_[32];
    Pay__WebAccount *a = NULL;
    int rc = -1;
    memset(out, 0, sizeof *out);
    size_t plen = password ? strlen(password) : 0;
    int r = web_login_name_ok(name) ? s_read(self, name, &a) : 1;
    if (r < 0)
        goto done;
    if (r == 1 || plen == 0 || plen > WEB_PASSWORD_MAX) {
        /* The same work as for a real login, so that the answer's timing
         * does not tell which logins exist. */
        uint64_t ops;
        size_t mem;
        s_cost(NULL, &ops, &mem);
        rc = crypto_pwhash(key, sizeof key, password ? password : "",
                           plen > WEB_PASSWORD_MAX ? 0 : plen, dummy_salt, ops, mem,
                           crypto_pwhash_ALG_ARGON2ID13) == 0
                 ? 1
                 : -1;
        goto done;
    }
    if (!a->has_kdf || a->kdf != S_KDF_ARGON2ID13 || a->salt.len != crypto_pwhash_SALTBYTES ||
        a->nonce.len != crypto_secretbox_NONCEBYTES ||
        a->sealed.len != 32 + crypto_secretbox_MACBYTES || !a->public_key ||
        strlen(a->public_key) != 40 || a->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
        a->opslimit > crypto_pwhash_OPSLIMIT_MAX || a->memlimit < crypto_pwhash_MEMLIMIT_MIN ||
        a->memlimit > ((uint64_t)4 << 30)) {
        log_error("web.keystore", "the record of login %s is damaged", name);
        goto done;
    }
    if (crypto_pwhash(key, sizeof key, password, plen, a->salt.data, a->opslimit,
                      (size_t)a->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
        goto done;
    if (crypto_secretbox_open_easy(secret, a->sealed.data, a->sealed.len, a->nonce.data, key) !=
        0) {
        rc = 1;
        goto done;
    }
    crypto_scalarmult_base(public_, secret);
    if (!zmq_z85_encode(out->public_z85, public_, 32) ||
        !zmq_z85_encode(out->secret_z85, secret, 32) ||
        strcmp(out->public_z85, a->public_key) != 0) {
        log_error("web.keystore", "the record of login %s does not match its key", name);
        sodium_memzero(out, sizeof *out);
        goto done;
    }
    rc = 0;
done:
    sodium_memzero(key, sizeof key);
    sodium_memzero(secret, sizeof secret);
    if (a)
        pay__web_account__free_unpacked(a, NULL);
    return rc;
}

typedef struct {
    MDB_dbi dbi;
    const char *name;
    int found;
} s_del_t;

static int s_del_fn(MDB_txn *txn, void *arg)
{
    s_del_t *d = arg;
    MDB_val k = {strlen(d->name), (void *)d->name};
    int rc = mdb_del(txn, d->dbi, &k, NULL);
    d->found = rc == 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int web_keystore_remove(web_keystore_t *self, const char *name)
{
    if (!web_login_name_ok(name))
        return 1;
    s_del_t d = {self->accounts, name, 0};
    pthread_mutex_lock(&self->lock);
    int rc = store_write(self->store, s_del_fn, &d);
    pthread_mutex_unlock(&self->lock);
    if (rc != 0)
        return -1;
    return d.found ? 0 : 1;
}

int web_keystore_each(web_keystore_t *self,
                      void (*fn)(const char *name, const char *public_z85, int64_t created_at,
                                 void *arg),
                      void *arg)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = -1;
    pthread_mutex_lock(&self->lock);
    if (store_read_begin(self->store, &txn) != 0 ||
        mdb_cursor_open(txn, self->accounts, &cur) != 0)
        goto done;
    for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
        Pay__WebAccount *a = pay__web_account__unpack(NULL, v.mv_size, v.mv_data);
        if (!a)
            continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(k.mv_size < 63 ? k.mv_size : 63),
                 (const char *)k.mv_data);
        fn(name, a->public_key ? a->public_key : "", a->created_at, arg);
        pay__web_account__free_unpacked(a, NULL);
    }
    rc = 0;
done:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    pthread_mutex_unlock(&self->lock);
    return rc;
}
