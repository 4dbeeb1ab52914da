/* pay-hours: the hours capture service.
 *
 * A thin shell: flags and environment (config.h), the LMDB store
 * (hrs_store), the ZAP handler and CURVE keys (auth.h), the API loop with
 * group commit (server.h) over the handlers (hrs_service), the hours feed
 * producer (feed.h) serving the outbox that the handlers append to, and
 * the invoice feed's consumer (hrs_invfeed), which tells it the employers.
 * SIGTERM finishes the batch in hand, answers what is queued with
 * UNAVAILABLE, and exits 0. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "backup.h"
#include "civil.h"
#include "clock.h"
#include "config.h"
#include "feed.h"
#include "hours.pb-c.h"
#include "hrs_facts.h"
#include "hrs_invfeed.h"
#include "hrs_service.h"
#include "hrs_store.h"
#include "hup.h"
#include "log.h"
#include "server.h"

static int s_feed_readable(void *arg)
{
    return feed_producer_on_readable(arg);
}

static int s_feed_tick(void *arg)
{
    return feed_producer_tick(arg);
}

static int s_feed_pump(void *arg)
{
    return feed_producer_pump(arg);
}

static int s_path(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"data-dir", "PAY_DATA_DIR", "data", "folder of the stores; the hours store is <data-dir>/hours", NULL},
        {"endpoint", "PAY_HOURS_ENDPOINT", "tcp://127.0.0.1:5550", "API endpoint (ROUTER, CURVE)", NULL},
        {"feed-endpoint", "PAY_HOURS_FEED_ENDPOINT", "tcp://127.0.0.1:5551",
         "hours feed endpoint (ROUTER, CURVE; service keys only)", NULL},
        {"invoice-feed", "PAY_INVOICE_FEED", "tcp://127.0.0.1:5571",
         "the invoicing service's feed, for the registered employers", NULL},
        {"keys-dir", "PAY_KEYS_DIR", "keys",
         "folder holding hours.key, invoicing.pub and allow.txt", NULL},
        {"allow-file", "PAY_ALLOW_FILE", NULL, "allow-list of client keys (default <keys-dir>/allow.txt)", NULL},
        {"today", "PAY_TODAY", NULL, "pin today's date YYYY-MM-DD (tests and demos)", NULL},
        {"map-mb", "PAY_HOURS_MAP_MB", "256", "initial LMDB map size in MiB (it grows when full)", NULL},
        {"max-batch", "PAY_HOURS_MAX_BATCH", "256", "requests per group commit", NULL},
        {"backup-dir", "PAY_BACKUP_DIR", NULL,
         "folder of the backups (default <data-dir>/backups); a backup NAME goes to "
         "<backup-dir>/NAME/hours", NULL},
        {"feed-consumers", "PAY_HOURS_FEED_CONSUMERS", "",
         "allow-list names of the hours feed's consumers, comma-separated (e.g. the wage and "
         "invoicing services' keys); the outbox is pruned below what all of them "
         "acknowledged (none: never pruned)", NULL},
        {"feed-retain", "PAY_FEED_RETAIN", "100000",
         "events the outbox always keeps, pruned or not", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    const char *usage = "pay-hours [--data-dir DIR] [--endpoint EP] [--feed-endpoint EP] "
                        "[--invoice-feed EP] [--keys-dir DIR] [--allow-file FILE] "
                        "[--today YYYY-MM-DD]";
    char dir[PATH_MAX], key_path[PATH_MAX], allow_path[PATH_MAX], inv_path[PATH_MAX];
    char backup_root[PATH_MAX];
    char consumers_buf[1024];
    const char *consumers[FEED_MAX_CONSUMERS + 1];
    backup_t *backup = NULL;
    long retain = 0;
    hrs_store_t *store = NULL;
    hrs_service_t *svc = NULL;
    void *ctx = NULL;
    auth_t *auth = NULL;
    server_t *server = NULL;
    feed_producer_t *feed = NULL;
    feed_consumer_t *invoices = NULL;
    auth_keypair_t keys, inv_keys;
    long map_mb = 0, max_batch = 0;
    int exit_code = 1;

    log_set_service("hours");
    log_init_from_env();
    int prc = config_parse(opts, argc, argv, usage);
    if (prc == 1)
        return 0;
    if (prc < 0)
        return 2;
    if (config_get_long(opts, "map-mb", 1, 1 << 20, &map_mb) != 0 ||
        config_get_long(opts, "max-batch", 1, 100000, &max_batch) != 0 ||
        config_get_long(opts, "feed-retain", 1, 1L << 40, &retain) != 0) {
        fprintf(stderr, "pay-hours: --map-mb, --max-batch and --feed-retain take positive "
                        "integers\n");
        return 2;
    }
    if (feed_consumer_names(config_get(opts, "feed-consumers"), consumers_buf,
                            sizeof consumers_buf, consumers) < 0) {
        fprintf(stderr, "pay-hours: --feed-consumers: up to %d comma-separated allow-list "
                        "names\n", FEED_MAX_CONSUMERS);
        return 2;
    }
    const char *today = config_get(opts, "today");
    if (today && *today) {
        int32_t day;
        if (civil_parse_date(today, &day) != 0 || day < 0) {
            fprintf(stderr, "pay-hours: --today '%s' is not a date YYYY-MM-DD\n", today);
            return 2;
        }
        clock_set_today(day);
    }
    const char *keys_dir = config_get(opts, "keys-dir");
    const char *allow = config_get(opts, "allow-file");
    if (s_path(dir, sizeof dir, config_get(opts, "data-dir"), "hours") != 0 ||
        s_path(key_path, sizeof key_path, keys_dir, "hours.key") != 0 ||
        s_path(allow_path, sizeof allow_path, keys_dir, "allow.txt") != 0 ||
        s_path(inv_path, sizeof inv_path, keys_dir, "invoicing.pub") != 0 ||
        (config_get(opts, "backup-dir")
             ? snprintf(backup_root, sizeof backup_root, "%s", config_get(opts, "backup-dir"))
                   >= (int)sizeof backup_root
             : s_path(backup_root, sizeof backup_root, config_get(opts, "data-dir"),
                      "backups") != 0)) {
        fprintf(stderr, "pay-hours: a path is too long\n");
        return 2;
    }
    if (!allow)
        allow = allow_path;

    if (auth_keypair_load(key_path, &keys) != 0 || !keys.secret_z85[0]) {
        log_error("hours.keys", "cannot read the key pair %s", key_path);
        goto done;
    }
    if (auth_keypair_load(inv_path, &inv_keys) != 0) {
        log_error("hours.keys", "cannot read the invoicing service's public key %s", inv_path);
        goto done;
    }
    if (!(store = hrs_store_open(dir, (size_t)map_mb << 20)))
        goto done;
    size_t published = 0;
    if (hrs_facts_catch_up(store, &published) != 0) {
        log_error("hours.migrate", "cannot publish the reference facts of the migrated store");
        goto done;
    }
    if (published)
        log_info("hours.migrate", "published %zu reference facts of the migrated store on the "
                 "hours feed", published);
    if (!(svc = hrs_service_new(store)))
        goto done;
    if (!(ctx = zmq_ctx_new()))
        goto done;
    /* The ZAP handler runs before any socket binds. */
    if (!(auth = auth_new(ctx, allow))) {
        log_error("hours.auth", "cannot start the ZAP handler with %s", allow);
        goto done;
    }
    server_config_t cfg = {
        .endpoint = config_get(opts, "endpoint"),
        .keys = &keys,
        .auth = auth,
        .request_desc = &pay__hours_request__descriptor,
        .reply_desc = &pay__hours_reply__descriptor,
        .handler = hrs_service_handle,
        .svc = svc,
        .max_batch = (int)max_batch,
    };
    if (!(server = server_new(ctx, hrs_store_store(store), &cfg)))
        goto done;
    if (!(backup = backup_new(hrs_store_store(store), backup_root, "hours"))
        || backup_attach(backup, server) != 0)
        goto done;
    hrs_service_set_backup(svc, backup);
    feed_producer_opts_t fpo = {.consumers = consumers, .retain = (uint64_t)retain};
    if (!(feed = feed_producer_new(ctx, hrs_store_store(store), auth, HRS_DB_OUTBOX,
                                   config_get(opts, "feed-endpoint"), &keys, &fpo)))
        goto done;
    hrs_service_set_feed(svc, feed);
    feed_consumer_opts_t iopts = {.name = "hours"};
    if (!(invoices = feed_consumer_new(ctx, hrs_store_store(store), HRS_DB_CURSORS,
                                       HRS_INVOICE_FEED, config_get(opts, "invoice-feed"), &keys,
                                       inv_keys.public_z85, hrs_invfeed_apply, store, &iopts)))
        goto done;
    hrs_service_set_consumer(svc, invoices);
    if (feed_consumer_attach(invoices, server) != 0 ||
        server_watch(server, feed_producer_socket(feed), s_feed_readable, feed) != 0 ||
        server_every(server, FEED_TICK_MS, s_feed_tick, feed) != 0 ||
        server_after_commit(server, s_feed_pump, feed) != 0 ||
        hup_install() != 0 || server_every(server, 500, hup_reload_tick, auth) != 0)
        goto done;
    {
        char d[CIVIL_DATE_LEN];
        civil_format_date(clock_today(), d);
        log_info("hours.start", "api %s, feed %s, invoice feed %s (from seq %llu), store %s, "
                 "today %s", server_endpoint(server), feed_producer_endpoint(feed),
                 config_get(opts, "invoice-feed"),
                 (unsigned long long)feed_consumer_cursor(invoices) + 1, dir, d);
    }
    if (server_run(server) == 0)
        exit_code = 0;
    log_info("hours.stop", "stopped %s", exit_code == 0 ? "cleanly" : "after an error");
done:
    feed_consumer_destroy(&invoices);
    backup_destroy(&backup);
    feed_producer_destroy(&feed);
    server_destroy(&server);
    auth_destroy(&auth);
    if (ctx)
        zmq_ctx_term(ctx);
    hrs_service_destroy(&svc);
    hrs_store_destroy(&store);
    return exit_code;
}
