/* pay-wages: the wage calculation service.
 *
 * A thin shell: flags and environment (config.h), the LMDB store
 * (wage_store), the ZAP handler and CURVE keys (auth.h), the API loop with
 * group commit (server.h) over the handlers (wage_api), and the hours-feed
 * consumer (feed.h) whose apply step is wage_apply. SIGTERM finishes the
 * batch in hand and exits 0; a feed batch is either committed with its
 * cursor or not at all, so a kill at any moment loses and repeats nothing.
 *
 *   pay-wages --export-journal FILE   writes the ledger as an hledger
 *                                      journal from the store and exits. */
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
#include "hup.h"
#include "log.h"
#include "server.h"
#include "wage_api.h"
#include "wage_apply.h"
#include "wage_journal.h"
#include "wage_store.h"
#include "wages.pb-c.h"

static int s_feed_readable(void *arg)
{
    return feed_consumer_on_readable(arg);
}

static int s_feed_tick(void *arg)
{
    return feed_consumer_tick(arg);
}

static int s_fold_txn(MDB_txn *txn, void *arg)
{
    return wage_store_fold_balances(arg, txn, NULL);
}

/* Folds new ledger lines into the balances, off the pricing path. */
static int s_fold(void *arg)
{
    wage_store_t *ws = arg;
    return store_write(ws->store, s_fold_txn, ws);
}

static int s_path(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* Writes every ledger line as an hledger journal, sorted by date with its
 * account directives (wage_journal_finish): the whole text is built in
 * memory first, about 200 bytes a ledger line. */
static int s_export_journal(wage_store_t *ws, const char *path)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    wage_text_t text = { 0 }, journal = { 0 };
    uint64_t lines = 0;
    int rc, exit_code = 1;
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f) {
        log_error("wages.export", "cannot write %s", path);
        return 1;
    }
    if ((rc = store_read_begin(ws->store, &txn)) != 0
        || (rc = mdb_cursor_open(txn, ws->ledger, &cur)) != 0)
        goto done;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Pay__LedgerLine *l = pay__ledger_line__unpack(NULL, v.mv_size, v.mv_data);
        if (!l) {
            rc = MDB_CORRUPTED;
            break;
        }
        wage_journal_line(&text, l);
        pay__ledger_line__free_unpacked(l, NULL);
        lines++;
    }
    if (rc != MDB_NOTFOUND || text.failed
        || wage_journal_finish(text.data ? text.data : "", text.len, &journal) != 0)
        goto done;
    if (journal.len && fwrite(journal.data, 1, journal.len, f) != journal.len)
        goto done;
    exit_code = 0;
    log_info("wages.export", "%llu ledger lines written to %s", (unsigned long long)lines,
             path);
done:
    if (exit_code != 0)
        log_error("wages.export", "export failed: %s", rc ? mdb_strerror(rc) : "write error");
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    wage_text_free(&text);
    wage_text_free(&journal);
    if (f != stdout && fclose(f) != 0)
        exit_code = 1;
    else if (f == stdout)
        fflush(stdout);
    return exit_code;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"data-dir", "PAY_DATA_DIR", "data", "folder of the stores; the wage store is <data-dir>/wages", NULL},
        {"endpoint", "PAY_WAGES_ENDPOINT", "tcp://127.0.0.1:5560", "API endpoint (ROUTER, CURVE)", NULL},
        {"hours-feed", "PAY_HOURS_FEED", "tcp://127.0.0.1:5551", "the hours feed to consume", NULL},
        {"keys-dir", "PAY_KEYS_DIR", "keys", "folder holding wages.key, hours.pub and allow.txt", NULL},
        {"allow-file", "PAY_ALLOW_FILE", NULL, "allow-list of client keys (default <keys-dir>/allow.txt)", NULL},
        {"living-wage", "PAY_LIVING_WAGE", "2026-04-01:1271",
         "National Living Wage rows DATE:PENCE[,DATE:PENCE...] (pence per hour)", NULL},
        {"today", "PAY_TODAY", NULL, "pin today's date YYYY-MM-DD (tests and demos)", NULL},
        {"map-mb", "PAY_WAGES_MAP_MB", "256", "initial LMDB map size in MiB (it grows when full)", NULL},
        {"max-batch", "PAY_WAGES_MAX_BATCH", "256", "requests per group commit", NULL},
        {"feed-window", "PAY_WAGES_FEED_WINDOW", "16384", "hours-feed credit window (events)", NULL},
        {"export-journal", NULL, NULL, "write the ledger as an hledger journal to FILE ('-': stdout) and exit", NULL},
        {"backup-dir", "PAY_BACKUP_DIR", NULL,
         "folder of the backups (default <data-dir>/backups); a backup NAME goes to "
         "<backup-dir>/NAME/wages", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    const char *usage = "pay-wages [--data-dir DIR] [--endpoint EP] [--hours-feed EP] "
                        "[--keys-dir DIR] [--allow-file FILE] [--living-wage ROWS] "
                        "[--today YYYY-MM-DD] [--export-journal FILE]";
    char dir[PATH_MAX], key_path[PATH_MAX], hours_pub[PATH_MAX], allow_path[PATH_MAX];
    char backup_root[PATH_MAX];
    backup_t *backup = NULL;
    wage_store_t *ws = NULL;
    void *ctx = NULL;
    auth_t *auth = NULL;
    server_t *server = NULL;
    feed_consumer_t *consumer = NULL;
    auth_keypair_t keys, hours_keys;
    long map_mb = 0, max_batch = 0, window = 0;
    int exit_code = 1;

    log_set_service("wages");
    log_init_from_env();
    int prc = config_parse(opts, argc, argv, usage);
    if (prc == 1)
        return 0;
    if (prc < 0)
        return 2;
    if (config_get_long(opts, "map-mb", 1, 1 << 20, &map_mb) != 0
        || config_get_long(opts, "max-batch", 1, 100000, &max_batch) != 0
        || config_get_long(opts, "feed-window", 1, 1 << 20, &window) != 0) {
        fprintf(stderr, "pay-wages: --map-mb, --max-batch and --feed-window take positive "
                        "integers\n");
        return 2;
    }
    const char *today = config_get(opts, "today");
    if (today && *today) {
        int32_t day;
        if (civil_parse_date(today, &day) != 0 || day < 0) {
            fprintf(stderr, "pay-wages: --today '%s' is not a date YYYY-MM-DD\n", today);
            return 2;
        }
        clock_set_today(day);
    }
    const char *keys_dir = config_get(opts, "keys-dir");
    const char *allow = config_get(opts, "allow-file");
    if (s_path(dir, sizeof dir, config_get(opts, "data-dir"), "wages") != 0
        || s_path(key_path, sizeof key_path, keys_dir, "wages.key") != 0
        || s_path(hours_pub, sizeof hours_pub, keys_dir, "hours.pub") != 0
        || s_path(allow_path, sizeof allow_path, keys_dir, "allow.txt") != 0
        || (config_get(opts, "backup-dir")
                ? snprintf(backup_root, sizeof backup_root, "%s", config_get(opts, "backup-dir"))
                : s_path(backup_root, sizeof backup_root, config_get(opts, "data-dir"),
                         "backups")) >= (int)sizeof backup_root) {
        fprintf(stderr, "pay-wages: a path is too long\n");
        return 2;
    }
    if (!allow)
        allow = allow_path;

    if (!(ws = wage_store_new(dir, (size_t)map_mb << 20)))
        goto done;
    if (wage_store_set_living(ws, config_get(opts, "living-wage")) != 0) {
        fprintf(stderr, "pay-wages: --living-wage wants DATE:PENCE[,DATE:PENCE...]\n");
        exit_code = 2;
        goto done;
    }
    const char *export_path = config_get(opts, "export-journal");
    if (export_path) {
        exit_code = s_export_journal(ws, export_path);
        goto done;
    }
    if (auth_keypair_load(key_path, &keys) != 0 || !keys.secret_z85[0]) {
        log_error("wages.keys", "cannot read the key pair %s", key_path);
        goto done;
    }
    if (auth_keypair_load(hours_pub, &hours_keys) != 0) {
        log_error("wages.keys", "cannot read the hours feed's public key %s", hours_pub);
        goto done;
    }
    if (!(ctx = zmq_ctx_new()))
        goto done;
    /* The ZAP handler runs before any socket binds. */
    if (!(auth = auth_new(ctx, allow))) {
        log_error("wages.auth", "cannot start the ZAP handler with %s", allow);
        goto done;
    }
    wage_api_t api = { ws, NULL, NULL };
    server_config_t cfg = {
        .endpoint = config_get(opts, "endpoint"),
        .keys = &keys,
        .auth = auth,
        .request_desc = &pay__wages_request__descriptor,
        .reply_desc = &pay__wages_reply__descriptor,
        .handler = wage_api_handle,
        .svc = &api,
        .max_batch = (int)max_batch,
    };
    if (!(server = server_new(ctx, ws->store, &cfg)))
        goto done;
    if (!(backup = backup_new(ws->store, backup_root, "wages"))
        || backup_attach(backup, server) != 0)
        goto done;
    api.backup = backup;
    feed_consumer_opts_t fopts = { .name = "wages", .window = (uint32_t)window,
                                   .group = wage_apply_group };
    if (!(consumer = feed_consumer_new(ctx, ws->store, "cursor", WAGE_CURSOR_FEED,
                                       config_get(opts, "hours-feed"), &keys,
                                       hours_keys.public_z85, wage_apply_event, ws, &fopts)))
        goto done;
    api.consumer = consumer;
    if (server_watch(server, feed_consumer_socket(consumer), s_feed_readable, consumer) != 0
        || server_every(server, FEED_TICK_MS, s_feed_tick, consumer) != 0
        || server_every(server, 500, s_fold, ws) != 0
        || hup_install() != 0 || server_every(server, 500, hup_reload_tick, auth) != 0)
        goto done;
    {
        char d[CIVIL_DATE_LEN];
        civil_format_date(clock_today(), d);
        log_info("wages.start", "api %s, hours feed %s (from seq %llu), store %s, today %s",
                 server_endpoint(server), config_get(opts, "hours-feed"),
                 (unsigned long long)feed_consumer_cursor(consumer) + 1, dir, d);
    }
    if (server_run(server) == 0)
        exit_code = 0;
    log_info("wages.stop", "stopped %s", exit_code == 0 ? "cleanly" : "after an error");
done:
    backup_destroy(&backup);
    feed_consumer_destroy(&consumer);
    server_destroy(&server);
    auth_destroy(&auth);
    if (ctx)
        zmq_ctx_term(ctx);
    wage_store_destroy(&ws);
    return exit_code;
}
