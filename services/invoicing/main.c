/* pay-invoicing: the employer invoicing service.
 *
 * A thin main over inv_api (handlers), inv_store (LMDB) and services/common
 * (server loop, feeds, auth, config, logs):
 *   - the API on a CURVE ROUTER (server.h, group commit);
 *   - the hours feed consumed durably (feed.h): each batch is applied and
 *     its cursor stored in one transaction;
 *   - the invoice feed produced from the outbox that issuing appends to;
 *   - automatic issuing once a period has ended and --auto-issue-days more
 *     days have passed, checked at start and every minute.
 *
 * Keys (--keys-dir): invoicing.key (this service's key pair, used for the
 * API, the invoice feed and as the hours-feed client) and hours.pub (the
 * hours service's public key). Clients are allow-listed in --allow-file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "civil.h"
#include "clock.h"
#include "config.h"
#include "feed.h"
#include "inv_api.h"
#include "inv_store.h"
#include "hup.h"
#include "backup.h"
#include "log.h"
#include "server.h"

typedef struct {
    inv_api_t api;
    backup_t *backup;
    server_t *server;
    feed_producer_t *producer;
    feed_consumer_t *consumer;
    int64_t last_auto_day;
} s_svc_t;

static int s_handler(void *svc, server_call_t *call, const auth_identity_t *caller,
                     const ProtobufCMessage *request, const char *request_id, MDB_txn *txn)
{
    s_svc_t *s = svc;
    inv_reply_t rep;
    int rc = inv_api_handle(&s->api, caller, (const Pay__InvoicingRequest *)request, txn, &rep);
    if (rep.readonly)
        server_call_readonly(call);
    if (rc == 0 && rep.reply.health && s->consumer) {
        feed_consumer_stats_t fs;
        feed_consumer_stats(s->consumer, &fs);
        rep.reply.health->has_feed_pruned = 1;
        rep.reply.health->feed_pruned = fs.pruned;
    }
    if (rc == 0 && rep.backup) {
        /* Off the loop; answered when the copy is on disk. */
        rc = backup_handle(s->backup, call, caller, request_id, rep.backup->name,
                           rep.backup->dir != NULL);
    } else if (server_reply(call, &rep.reply.base) != 0 && rc == 0) {
        rc = -1;
    }
    inv_reply_free(&rep);
    return rc;
}

static int s_producer_readable(void *arg)
{
    return feed_producer_on_readable(((s_svc_t *)arg)->producer);
}

static int s_consumer_readable(void *arg)
{
    return feed_consumer_on_readable(((s_svc_t *)arg)->consumer);
}

typedef struct {
    s_svc_t *svc;
    int32_t today;
    size_t issued;
} s_auto_t;

static int s_auto_fn(MDB_txn *txn, void *arg)
{
    s_auto_t *a = arg;
    inv_issue_opts_t o;
    inv_issued_t *out = NULL;
    size_t n = 0;
    char missing[256];
    if (inv_supplier_missing(&a->svc->api.supplier, missing, sizeof missing) > 0)
        return 0;   /* said at start; nothing is issued with made-up details */
    memset(&o, 0, sizeof o);
    o.issue_date = a->today;
    o.automatic = 1;
    o.auto_issue_days = a->svc->api.auto_issue_days;
    o.supplier = &a->svc->api.supplier;
    int rc = inv_store_issue(a->svc->api.store, txn, &o, &out, &n);
    free(out);
    a->issued = n;
    return rc;
}

/* Automatic issuing; cheap when nothing is due (a scan of the dirty keys). */
static int s_auto_issue(void *arg)
{
    s_svc_t *s = arg;
    s_auto_t a = { s, clock_today(), 0 };
    int rc = store_write(inv_store_store(s->api.store), s_auto_fn, &a);
    if (rc != 0) {
        log_error("issue.auto", "automatic issue failed: %s", mdb_strerror(rc));
        return rc;
    }
    if (a.issued) {
        log_info("issue.auto", "issued %zu documents", a.issued);
        feed_producer_pump(s->producer);
    }
    return 0;
}

static int s_tick(void *arg)
{
    s_svc_t *s = arg;
    feed_producer_tick(s->producer);
    feed_consumer_tick(s->consumer);
    return 0;
}

static int s_after_commit(void *arg)
{
    return feed_producer_pump(((s_svc_t *)arg)->producer);
}

/* The supplier's details: the --supplier-config file, then each
 * --supplier-* flag (or its variable) over it. A malformed value stops the
 * service (exit 2); a missing one only stops issuing, with a log line here
 * and a refusal to every issue request that names what is missing. */
static int s_load_supplier(const config_opt_t *opts, inv_supplier_t *sup)
{
    static const char *const flags[][2] = {
        { "supplier-name", "name" }, { "supplier-address", "address" },
        { "supplier-postcode", "postcode" }, { "supplier-vat", "vat_number" },
        { "supplier-email", "email" }, { "supplier-endpoint", "peppol_endpoint" },
        { "supplier-bank-account-name", "bank_account_name" },
        { "supplier-sort-code", "sort_code" }, { "supplier-account-number", "account_number" },
        { "supplier-iban", "iban" },
    };
    char why[320], missing[256];
    const char *path = config_get(opts, "supplier-config");
    memset(sup, 0, sizeof *sup);
    if (path && path[0]) {
        FILE *f = fopen(path, "r");
        char text[8192];
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        int too_long = f && !feof(f);
        if (f)
            fclose(f);
        if (!f || too_long) {
            log_error("config.supplier", "cannot read the supplier configuration %s%s", path,
                      too_long ? " (over 8 KiB)" : "");
            return -1;
        }
        text[n] = '\0';
        if (inv_supplier_parse(sup, text, why, sizeof why) != 0) {
            log_error("config.supplier", "%s: %s", path, why);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        const char *v = config_get(opts, flags[i][0]);
        if (v && inv_supplier_set(sup, flags[i][1], v, why, sizeof why) != 0) {
            log_error("config.supplier", "--%s: %s", flags[i][0], why);
            return -1;
        }
    }
    if (inv_supplier_missing(sup, missing, sizeof missing) > 0)
        log_warn("config.supplier", "the supplier is not fully configured (missing %s): "
                 "nothing will be issued until it is", missing);
    return 0;
}

static int s_load_key(const char *dir, const char *file, auth_keypair_t *kp)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (auth_keypair_load(path, kp) != 0) {
        log_error("config.keys", "cannot read %s", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        { "data-dir", "PAY_DATA_DIR", "data", "folder of the stores; the invoicing store is <data-dir>/invoicing", NULL },
        { "endpoint", "PAY_INVOICING_ENDPOINT", "tcp://127.0.0.1:5570", "API endpoint to bind", NULL },
        { "feed-endpoint", "PAY_INVOICING_FEED_ENDPOINT", "tcp://127.0.0.1:5571",
          "invoice feed endpoint to bind", NULL },
        { "hours-feed", "PAY_HOURS_FEED", "tcp://127.0.0.1:5551", "hours feed to consume", NULL },
        { "keys-dir", "PAY_KEYS_DIR", "keys", "holds invoicing.key and hours.pub", NULL },
        { "allow-file", "PAY_ALLOW_FILE", NULL, "client allow-list (default <keys-dir>/allow.txt)", NULL },
        /* The supplier: no defaults, nothing is issued until configured. */
        { "supplier-config", "PAY_SUPPLIER_CONFIG", NULL,
          "file of supplier details, key = value lines (keys: the --supplier-* names "
          "below with _ for -, vat_number, peppol_endpoint)", NULL },
        { "supplier-name", "PAY_SUPPLIER_NAME", NULL, "supplier legal name", NULL },
        { "supplier-address", "PAY_SUPPLIER_ADDRESS", NULL,
          "supplier postal address (\"street, town\")", NULL },
        { "supplier-postcode", "PAY_SUPPLIER_POSTCODE", NULL, "supplier postcode", NULL },
        { "supplier-vat", "PAY_SUPPLIER_VAT", NULL, "supplier VAT number, GB and 9 digits", NULL },
        { "supplier-email", "PAY_SUPPLIER_EMAIL", NULL, "supplier contact e-mail", NULL },
        { "supplier-endpoint", "PAY_SUPPLIER_ENDPOINT", NULL,
          "supplier Peppol endpoint scheme:id (default 9932:<vat>)", NULL },
        { "supplier-bank-account-name", "PAY_SUPPLIER_BANK_ACCOUNT_NAME", NULL,
          "name of the account employers pay into", NULL },
        { "supplier-sort-code", "PAY_SUPPLIER_SORT_CODE", NULL, "its sort code, 6 digits", NULL },
        { "supplier-account-number", "PAY_SUPPLIER_ACCOUNT_NUMBER", NULL,
          "its account number, 8 digits", NULL },
        { "supplier-iban", "PAY_SUPPLIER_IBAN", NULL,
          "its IBAN (instead of, or as well as, sort code and account number)", NULL },
        { "auto-issue-days", "PAY_AUTO_ISSUE_DAYS", "0",
          "days after a period ends before it is issued automatically", NULL },
        { "auto-issue", "PAY_AUTO_ISSUE", "yes", "issue automatically (yes/no)", NULL },
        { "map-mb", "PAY_INVOICING_MAP_MB", "256", "initial LMDB map size in MiB", NULL },
        { "backup-dir", "PAY_BACKUP_DIR", NULL,
          "folder of the backups (default <data-dir>/backups); a backup NAME goes to "
          "<backup-dir>/NAME/invoicing", NULL },
        { "feed-consumers", "PAY_INVOICE_FEED_CONSUMERS", "",
          "allow-list names of the invoice feed's consumers, comma-separated; the outbox is "
          "pruned below what all of them acknowledged (none: never pruned)", NULL },
        { "feed-retain", "PAY_FEED_RETAIN", "100000",
          "events the outbox always keeps, pruned or not", NULL },
        { "today", "PAY_TODAY", NULL, "pin today's date YYYY-MM-DD (tests and demos)", NULL },
        { NULL, NULL, NULL, NULL, NULL },
    };
    int status = 1;
    long auto_days = 0, map_mb = 256, retain = 0;
    char consumers_buf[1024], backup_root[1024];
    const char *consumers[FEED_MAX_CONSUMERS + 1];
    void *ctx = NULL;
    auth_t *auth = NULL;
    s_svc_t svc;
    memset(&svc, 0, sizeof svc);

    log_set_service("invoicing");
    log_init_from_env();
    int pr = config_parse(opts, argc, argv,
                          "pay-invoicing [--data-dir DIR] [--endpoint EP] [--feed-endpoint EP] "
                          "[--hours-feed EP] [--keys-dir DIR] [--allow-file FILE] "
                          "[--today YYYY-MM-DD]");
    if (pr != 0)
        return pr > 0 ? 0 : 2;
    /* --today, or PAY_TODAY through it, as in the other services. */
    const char *today = config_get(opts, "today");
    if (today && *today) {
        int32_t day;
        if (civil_parse_date(today, &day) != 0 || day < 0) {
            log_error("config.today", "--today / PAY_TODAY '%s' is not a YYYY-MM-DD date", today);
            return 2;
        }
        clock_set_today(day);
    }
    if (config_get_long(opts, "auto-issue-days", 0, 365, &auto_days) != 0
        || config_get_long(opts, "map-mb", 1, 1 << 20, &map_mb) != 0
        || config_get_long(opts, "feed-retain", 1, 1L << 40, &retain) != 0) {
        log_error("config.value", "--auto-issue-days 0..365, --map-mb and --feed-retain "
                  "must be integers");
        return 2;
    }
    if (feed_consumer_names(config_get(opts, "feed-consumers"), consumers_buf,
                            sizeof consumers_buf, consumers) < 0) {
        log_error("config.value", "--feed-consumers: up to %d comma-separated allow-list names",
                  FEED_MAX_CONSUMERS);
        return 2;
    }
    if (config_get(opts, "backup-dir"))
        snprintf(backup_root, sizeof backup_root, "%s", config_get(opts, "backup-dir"));
    else
        snprintf(backup_root, sizeof backup_root, "%s/backups", config_get(opts, "data-dir"));
    const char *keys_dir = config_get(opts, "keys-dir");
    char allow_default[1024];
    const char *allow = config_get(opts, "allow-file");
    if (!allow) {
        snprintf(allow_default, sizeof allow_default, "%s/allow.txt", keys_dir);
        allow = allow_default;
    }
    auth_keypair_t keys, hours_pub;
    if (s_load_key(keys_dir, "invoicing.key", &keys) != 0
        || s_load_key(keys_dir, "hours.pub", &hours_pub) != 0)
        return 1;

    char store_dir[1024];
    snprintf(store_dir, sizeof store_dir, "%s/invoicing", config_get(opts, "data-dir"));
    svc.api.store = inv_store_open(store_dir, (size_t)map_mb << 20);
    if (!svc.api.store)
        goto done;
    svc.api.auto_issue_days = (uint32_t)auto_days;
    if (s_load_supplier(opts, &svc.api.supplier) != 0) {
        status = 2;
        goto done;
    }

    ctx = zmq_ctx_new();
    /* The ZAP handler runs before any socket binds. */
    auth = ctx ? auth_new(ctx, allow) : NULL;
    if (!auth)
        goto done;
    server_config_t sc;
    memset(&sc, 0, sizeof sc);
    sc.endpoint = config_get(opts, "endpoint");
    sc.keys = &keys;
    sc.auth = auth;
    sc.request_desc = &pay__invoicing_request__descriptor;
    sc.reply_desc = &pay__invoicing_reply__descriptor;
    sc.handler = s_handler;
    sc.svc = &svc;
    svc.server = server_new(ctx, inv_store_store(svc.api.store), &sc);
    if (!svc.server)
        goto done;
    svc.backup = backup_new(inv_store_store(svc.api.store), backup_root, "invoicing");
    if (!svc.backup || backup_attach(svc.backup, svc.server) != 0)
        goto done;
    feed_producer_opts_t po;
    memset(&po, 0, sizeof po);
    po.consumers = consumers;
    po.retain = (uint64_t)retain;
    svc.producer = feed_producer_new(ctx, inv_store_store(svc.api.store), auth, INV_DB_OUTBOX,
                                     config_get(opts, "feed-endpoint"), &keys, &po);
    if (!svc.producer)
        goto done;
    feed_consumer_opts_t co;
    memset(&co, 0, sizeof co);
    co.name = "invoicing";
    svc.consumer = feed_consumer_new(ctx, inv_store_store(svc.api.store), INV_DB_CURSORS,
                                     INV_FEED_NAME, config_get(opts, "hours-feed"), &keys,
                                     hours_pub.public_z85, inv_store_apply_event,
                                     svc.api.store, &co);
    svc.api.consumer = svc.consumer;
    if (!svc.consumer)
        goto done;
    if (server_watch(svc.server, feed_producer_socket(svc.producer), s_producer_readable, &svc) != 0
        || server_watch(svc.server, feed_consumer_socket(svc.consumer), s_consumer_readable, &svc) != 0
        || server_every(svc.server, FEED_TICK_MS, s_tick, &svc) != 0
        || server_after_commit(svc.server, s_after_commit, &svc) != 0
        || hup_install() != 0 || server_every(svc.server, 500, hup_reload_tick, auth) != 0)
        goto done;
    const char *auto_on = config_get(opts, "auto-issue");
    if (auto_on && strcmp(auto_on, "yes") == 0) {
        s_auto_issue(&svc);
        if (server_every(svc.server, 60000, s_auto_issue, &svc) != 0)
            goto done;
    }
    log_info("invoicing.start", "invoicing API on %s, invoice feed on %s, hours feed from %s",
             server_endpoint(svc.server), feed_producer_endpoint(svc.producer),
             config_get(opts, "hours-feed"));
    status = server_run(svc.server) == 0 ? 0 : 1;
    log_info("invoicing.stop", "stopped %s", status == 0 ? "cleanly" : "after an error");
done:
    backup_destroy(&svc.backup);
    feed_consumer_destroy(&svc.consumer);
    feed_producer_destroy(&svc.producer);
    server_destroy(&svc.server);
    auth_destroy(&auth);
    if (ctx)
        zmq_ctx_term(ctx);
    inv_store_destroy(&svc.api.store);
    inv_pdf_shutdown();
    return status;
}
