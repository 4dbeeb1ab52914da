/* web_keystore_test: sealing a key pair under a password in a real LMDB
 * store in a temp folder, unlocking it, wrong passwords, replacing,
 * removing, a second process's view; and reading the allow-list. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "web_allow.h"
#include "web_keystore.h"

static int s_count;
static void s_each(const char *name, const char *pub, int64_t at, void *arg)
{
    (void)pub;
    (void)at;
    (void)arg;
    if (name[0])
        s_count++;
}

int main(void)
{
    char dir[] = "/tmp/web_keystore_test.XXXXXX";
    TAP_OK(mkdtemp(dir) != NULL, "a temp folder");
    char store[128];
    snprintf(store, sizeof store, "%s/web", dir);
    web_keystore_t *ks = web_keystore_open(store);
    TAP_OK(ks != NULL, "open the store");
    /* The smallest Argon2id cost, so the test is quick; the real default
     * (INTERACTIVE) is used once below. */
    web_kdf_cost_t cheap = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
    auth_keypair_t kp, other, got;
    auth_keypair_new(&kp);
    auth_keypair_new(&other);
    char err[AUTH_ERR_LEN];
    TAP_EQ_INT(web_keystore_put(ks, "finance", &kp, "correct horse battery", &cheap, 0, err), 0,
               "add finance");
    TAP_EQ_INT(web_keystore_put(ks, "finance", &other, "correct horse battery", &cheap, 0, err),
               1, "the same login again without replace: exists");
    TAP_EQ_INT(web_keystore_unlock(ks, "finance", "correct horse battery", &got), 0,
               "unlock with the password");
    TAP_EQ_STR(got.secret_z85, kp.secret_z85, "the secret key comes back");
    TAP_EQ_STR(got.public_z85, kp.public_z85, "and the public key");
    TAP_EQ_INT(web_keystore_unlock(ks, "finance", "correct horse batterz", &got), 1,
               "a wrong password fails");
    TAP_OK(got.secret_z85[0] == '\0', "a failed unlock gives no key");
    TAP_EQ_INT(web_keystore_unlock(ks, "nobody", "correct horse battery", &got), 1,
               "an unknown login fails the same way");
    TAP_EQ_INT(web_keystore_unlock(ks, "finance", "", &got), 1, "an empty password fails");

    TAP_EQ_INT(web_keystore_put(ks, "bad name", &kp, "correct horse battery", &cheap, 0, err), -1,
               "a name with a blank is refused");
    TAP_EQ_INT(web_keystore_put(ks, "short", &kp, "short", &cheap, 0, err), -1,
               "a password under 10 characters is refused");
    auth_keypair_t mismatched = kp;
    memcpy(mismatched.public_z85, other.public_z85, sizeof other.public_z85);
    TAP_EQ_INT(web_keystore_put(ks, "mixed", &mismatched, "correct horse battery", &cheap, 0, err),
               -1, "a secret key that does not match the public key is refused");
    auth_keypair_t pub_only = kp;
    pub_only.secret_z85[0] = '\0';
    TAP_EQ_INT(web_keystore_put(ks, "pubonly", &pub_only, "correct horse battery", &cheap, 0, err),
               -1, "a .pub file (no secret) is refused");

    TAP_EQ_INT(web_keystore_put(ks, "finance", &other, "a new password here", NULL, 1, err), 0,
               "replace finance with another key and password (default cost)");
    TAP_EQ_INT(web_keystore_unlock(ks, "finance", "correct horse battery", &got), 1,
               "the old password no longer works");
    TAP_EQ_INT(web_keystore_unlock(ks, "finance", "a new password here", &got), 0,
               "the new one does");
    TAP_EQ_STR(got.public_z85, other.public_z85, "with the new key");

    /* The store file never holds the secret key in the clear. */
    char path[160];
    snprintf(path, sizeof path, "%s/data.mdb", store);
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 23);
    size_t n = f && buf ? fread(buf, 1, (1 << 23) - 1, f) : 0;
    if (f)
        fclose(f);
    uint8_t raw[32];
    zmq_z85_decode(raw, other.secret_z85);
    int found = 0;
    for (size_t i = 0; n >= 32 && i + 32 <= n; i++)
        if (memcmp(buf + i, raw, 32) == 0 || memcmp(buf + i, other.secret_z85, 32) == 0)
            found = 1;
    TAP_OK(n > 0 && !found, "data.mdb holds neither the raw nor the Z85 secret key");
    free(buf);

    /* A second handle (as payctl would be) sees and changes the same store. */
    web_keystore_t *ks2 = web_keystore_open(store);
    TAP_EQ_INT(web_keystore_put(ks2, "employer-dhl", &kp, "employer password", &cheap, 0, err), 0,
               "a second handle adds a login");
    TAP_EQ_INT(web_keystore_unlock(ks, "employer-dhl", "employer password", &got), 0,
               "the first handle unlocks it");
    s_count = 0;
    web_keystore_each(ks, s_each, NULL);
    TAP_EQ_INT(s_count, 2, "two logins listed");
    TAP_EQ_INT(web_keystore_remove(ks2, "employer-dhl"), 0, "remove it");
    TAP_EQ_INT(web_keystore_remove(ks2, "employer-dhl"), 1, "removing again finds nothing");
    TAP_EQ_INT(web_keystore_unlock(ks, "employer-dhl", "employer password", &got), 1,
               "a removed login cannot unlock");
    web_keystore_destroy(&ks2);
    web_keystore_destroy(&ks);
    TAP_OK(ks == NULL, "destroy NULLs the pointer");

    /* The allow-list. */
    char allow[160];
    snprintf(allow, sizeof allow, "%s/allow.txt", dir);
    f = fopen(allow, "w");
    fprintf(f, "# the allow-list\n%s finance - fin-1\n%s employer dhl emp-dhl # comment\n"
               "%s finance - fin-2\n",
            kp.public_z85, other.public_z85, kp.public_z85);
    fclose(f);
    auth_identity_t id;
    TAP_EQ_INT(web_allow_lookup(allow, other.public_z85, &id, err), 0, "employer key found");
    TAP_OK(id.role == ROLE_EMPLOYER && strcmp(id.scope, "dhl") == 0 &&
               strcmp(id.name, "emp-dhl") == 0,
           "with its role, scope and name");
    TAP_EQ_INT(web_allow_lookup(allow, kp.public_z85, &id, err), 0, "finance key found");
    TAP_OK(id.role == ROLE_FINANCE && id.scope[0] == '\0' && strcmp(id.name, "fin-2") == 0,
           "the last line for a key wins; '-' is no scope");
    auth_keypair_t stranger;
    auth_keypair_new(&stranger);
    TAP_EQ_INT(web_allow_lookup(allow, stranger.public_z85, &id, err), 1, "an unlisted key");
    f = fopen(allow, "a");
    fprintf(f, "garbage line\n");
    fclose(f);
    TAP_EQ_INT(web_allow_lookup(allow, kp.public_z85, &id, err), -1,
               "a file the services would refuse is refused");
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    TAP_OK(system(cmd) == 0, "clean up");
    return tap_done();
}
