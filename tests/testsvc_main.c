/* pay-testsvc: the toy service of testsvc.h as a real process, for the
 * process-level tests of the server loop (SIGTERM drain, restarts, replay
 * across restarts). Exit status: 0 after a clean stop, 1 on failure, 2 on a
 * usage error. */
#include <stdio.h>
#include <stdlib.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "testsvc.h"

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"endpoint", "PAY_TEST_ENDPOINT", NULL, "API endpoint to bind", NULL},
        {"data-dir", "PAY_TEST_DATA", NULL, "LMDB directory", NULL},
        {"keys", "PAY_TEST_KEYS", NULL, "server key file (.key)", NULL},
        {"allow", "PAY_TEST_ALLOW", NULL, "allow-list file", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    int rc = config_parse(opts, argc, argv, "pay-testsvc --endpoint E --data-dir D "
                                            "--keys K.key --allow FILE");
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    const char *endpoint = config_get(opts, "endpoint"), *dir = config_get(opts, "data-dir");
    const char *keyfile = config_get(opts, "keys"), *allow = config_get(opts, "allow");
    if (!endpoint || !dir || !keyfile || !allow) {
        fprintf(stderr, "pay-testsvc: --endpoint, --data-dir, --keys and --allow are required\n");
        return 2;
    }
    log_set_service("testsvc");
    log_init_from_env();

    int status = 1;
    const char *dbs[] = {"kv", SERVER_REQUESTS_DB, NULL};
    void *ctx = NULL;
    auth_t *auth = NULL;
    server_t *server = NULL;
    auth_keypair_t keys;
    store_t *store = store_open(dir, dbs, 0);
    if (!store || auth_keypair_load(keyfile, &keys) != 0 || !keys.secret_z85[0])
        goto done;
    testsvc_t svc = {store_dbi(store, "kv")};
    ctx = zmq_ctx_new();
    auth = auth_new(ctx, allow);
    if (!auth)
        goto done;
    server_config_t cfg = {
        .endpoint = endpoint,
        .keys = &keys,
        .auth = auth,
        .request_desc = &pay__test_request__descriptor,
        .reply_desc = &pay__test_reply__descriptor,
        .handler = testsvc_handle,
        .svc = &svc,
    };
    server = server_new(ctx, store, &cfg);
    if (!server)
        goto done;
    if (server_run(server) == 0)
        status = 0;
done:
    server_destroy(&server);
    auth_destroy(&auth);
    if (ctx)
        zmq_ctx_term(ctx);
    store_destroy(&store);
    return status;
}
