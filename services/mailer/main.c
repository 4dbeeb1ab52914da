/* pay-mailer: delivers every invoice and credit note by e-mail.
 *
 * Why a process of its own rather than a module of pay-invoicing: a mail
 * relay can be slow or down for hours, and nothing about it may ever stall
 * invoicing's loop, its group commit or its feed. As a separate consumer of
 * the invoice feed it has its own store, its own key, its own failure
 * domain, and can be restarted, moved or scaled without touching
 * invoicing; invoicing does not even know it exists (it serves documents to
 * a service key like to any other client).
 *
 * A thin shell over:
 *   - mail_store: the LMDB store; the invoice feed's apply step queues a
 *     PENDING delivery per document in the transaction that moves the feed
 *     cursor (feed.h: exactly once in effect);
 *   - mail_worker: the sending thread (fetch the PDF and UBL from
 *     invoicing, build the MIME message, SMTP to the relay);
 *   - mail_api: the finance API (list deliveries, resend), on server.h.
 * The loop claims one due delivery at a time (durably: the claim moves its
 * next try by the back-off before the message goes out), hands it to the
 * worker, and records SENT (with the relay's answer), a retry, or FAILED
 * when the worker reports. A crash mid-send repeats that send later under
 * the same Message-ID; a relay that is down only delays delivery.
 *
 * SIGTERM: the API batch in hand is finished, the send in progress is
 * aborted (or recorded, if the relay already accepted it), and the process
 * exits 0. SIGHUP re-reads the allow-list. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "auth.h"
#include "config.h"
#include "feed.h"
#include "hup.h"
#include "log.h"
#include "mail_api.h"
#include "mail_mime.h"
#include "mail_rules.h"
#include "mail_smtp.h"
#include "mail_store.h"
#include "mail_worker.h"
#include "mailer.pb-c.h"
#include "server.h"

typedef struct {
    mail_store_t *ms;
    mail_worker_t *worker;
    mail_policy_t policy;
    int stopping;
} s_svc_t;

/* ---- claim and record ------------------------------------------------------------- */

typedef struct {
    s_svc_t *svc;
    mail_delivery_t d;
} s_claim_t;

static int s_claim_fn(MDB_txn *txn, void *arg)
{
    s_claim_t *c = arg;
    return mail_store_claim_next(c->svc->ms, txn, &c->svc->policy, mail_store_now(c->svc->ms),
                                 &c->d);
}

/* Hands the next due delivery to the worker, if it is idle. */
static int s_pump(void *arg)
{
    s_svc_t *s = arg;
    if (s->stopping || mail_worker_busy(s->worker))
        return 0;
    s_claim_t c;
    memset(&c, 0, sizeof c);
    c.svc = s;
    int rc = store_write(mail_store_store(s->ms), s_claim_fn, &c);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0) {
        log_error("mail.claim", "cannot claim the next delivery: %s", mdb_strerror(rc));
        return rc;
    }
    mail_job_t *job = calloc(1, sizeof *job);
    if (!job) {
        log_error("mail.claim", "out of memory");
        return -1;
    }
    snprintf(job->number, sizeof job->number, "%s", c.d.number);
    snprintf(job->email, sizeof job->email, "%s", c.d.email);
    snprintf(job->message_id, sizeof job->message_id, "%s", c.d.message_id);
    log_info("mail.try", "%s to %s: attempt %u (try %u of this round), Message-ID <%s>",
             c.d.number, c.d.email[0] ? c.d.email : "(the document's address)", c.d.attempts,
             c.d.tries + 1, c.d.message_id);
    if (mail_worker_submit(s->worker, &job) != 0) {
        /* The claim stands: the delivery is tried again after its back-off. */
        log_error("mail.claim", "cannot hand %s to the sending thread", c.d.number);
        free(job);
        return -1;
    }
    return 0;
}

typedef struct {
    s_svc_t *svc;
    const mail_job_t *job;
    mail_delivery_t d;
} s_record_t;

static int s_record_fn(MDB_txn *txn, void *arg)
{
    s_record_t *r = arg;
    const mail_job_t *j = r->job;
    mail_try_t t = {j->outcome, j->text, j->email_used[0] ? j->email_used : NULL, j->ubl,
                    j->has_note ? j->note : NULL};
    return mail_store_record(r->svc->ms, txn, &r->svc->policy, j->number, &t,
                             mail_store_now(r->svc->ms), &r->d);
}

static void s_record(s_svc_t *s, mail_job_t *job)
{
    s_record_t r;
    memset(&r, 0, sizeof r);
    r.svc = s;
    r.job = job;
    int rc = store_write(mail_store_store(s->ms), s_record_fn, &r);
    if (rc != 0) {
        log_error("mail.record", "cannot record the outcome for %s (%s): %s", job->number,
                  job->text, mdb_strerror(rc));
        return;
    }
    const mail_delivery_t *d = &r.d;
    if (d->state == MAIL_SENT && job->outcome == MAIL_ACCEPTED)
        log_info("mail.sent", "%s sent to %s (%zu bytes, %s), Message-ID <%s>: %s", d->number,
                 d->email, job->bytes, job->ubl ? "PDF and UBL" : "PDF", d->message_id,
                 job->text);
    else if (d->state == MAIL_FAILED)
        log_error("mail.failed", "%s not delivered after %u tries: %s", d->number, d->tries,
                  job->text);
    else if (job->outcome == MAIL_DEFERRED)
        log_warn("mail.deferred", "%s not tried: %s", d->number, job->text);
    else {
        uint64_t now = mail_store_now(s->ms);
        log_warn("mail.retry", "%s: try %u failed (%s); next try in %llu ms", d->number,
                 d->tries, job->text,
                 (unsigned long long)(d->next_try_at > now ? d->next_try_at - now : 0));
    }
}

static int s_worker_readable(void *arg)
{
    s_svc_t *s = arg;
    mail_job_t *job;
    while ((job = mail_worker_take(s->worker)) != NULL) {
        s_record(s, job);
        free(job);
    }
    return s_pump(s);
}

/* ---- configuration ------------------------------------------------------------------ */

static int s_path(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* The first line of `path`, without its line end, into out. */
static int s_read_secret(const char *path, char *out, size_t size)
{
    struct stat st;
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        log_warn("mail.config", "%s can be read by other users (chmod 600 it)", path);
    if (!fgets(out, (int)size, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static long s_long(const config_opt_t *opts, const char *name, long min, long max, int *bad)
{
    long v = 0;
    if (config_get_long(opts, name, min, max, &v) != 0) {
        fprintf(stderr, "pay-mailer: --%s takes an integer from %ld to %ld\n", name, min, max);
        *bad = 1;
    }
    return v;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"data-dir", "PAY_DATA_DIR", "data", "folder of the stores; the mailer's is <data-dir>/mailer", NULL},
        {"endpoint", "PAY_MAILER_ENDPOINT", "tcp://127.0.0.1:5580", "API endpoint (ROUTER, CURVE)", NULL},
        {"invoice-feed", "PAY_INVOICE_FEED", "tcp://127.0.0.1:5571", "the invoice feed to consume", NULL},
        {"invoicing-endpoint", "PAY_INVOICING_ENDPOINT", "tcp://127.0.0.1:5570",
         "pay-invoicing's API, where the PDF and UBL are fetched", NULL},
        {"keys-dir", "PAY_KEYS_DIR", "keys", "folder holding mailer.key, invoicing.pub and allow.txt", NULL},
        {"allow-file", "PAY_ALLOW_FILE", NULL, "allow-list of client keys (default <keys-dir>/allow.txt)", NULL},
        {"relay", "PAY_MAIL_RELAY", NULL,
         "the SMTP relay: smtp://HOST[:PORT] (STARTTLS, port 587) or smtps://HOST[:PORT] (465)", NULL},
        {"relay-tls", "PAY_MAIL_RELAY_TLS", NULL,
         "smtp:// relays: starttls (the default), or none (plain SMTP: loopback relays only)", NULL},
        {"relay-user", "PAY_MAIL_RELAY_USER", NULL, "SMTP AUTH user (none: no AUTH)", NULL},
        {"relay-password-file", "PAY_MAIL_RELAY_PASSWORD_FILE", NULL,
         "file whose first line is the SMTP AUTH password", NULL},
        {"relay-ca-file", "PAY_MAIL_RELAY_CA_FILE", NULL,
         "CA certificates (PEM) to check the relay's certificate (default: the system's)", NULL},
        {"from", "PAY_MAIL_FROM", NULL, "sender address, e.g. invoices@payroll.example.org", NULL},
        {"from-name", "PAY_MAIL_FROM_NAME", "", "sender display name, e.g. the supplier's name", NULL},
        {"domain", "PAY_MAIL_DOMAIN", NULL,
         "the deployment's domain, right of the '@' in Message-IDs (default: --from's)", NULL},
        {"retry-base-ms", "PAY_MAIL_RETRY_BASE_MS", "30000", "wait after the first failed try", NULL},
        {"retry-max-ms", "PAY_MAIL_RETRY_MAX_MS", "3600000", "longest wait between tries", NULL},
        {"max-tries", "PAY_MAIL_MAX_TRIES", "20", "failed tries before a delivery is FAILED", NULL},
        {"smtp-timeout-ms", "PAY_MAIL_SMTP_TIMEOUT_MS", "60000", "longest SMTP exchange", NULL},
        {"fetch-timeout-ms", "PAY_MAIL_FETCH_TIMEOUT_MS", "5000",
         "wait for invoicing's answer (per try; 2 tries)", NULL},
        {"map-mb", "PAY_MAILER_MAP_MB", "64", "initial LMDB map size in MiB (it grows when full)", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    const char *usage = "pay-mailer --relay smtp://HOST:PORT --from ADDRESS [--relay-user U "
                        "--relay-password-file F] [--data-dir DIR] [--keys-dir DIR] ...";
    char dir[PATH_MAX], key_path[PATH_MAX], inv_pub[PATH_MAX], allow_path[PATH_MAX];
    char password[1024] = "", relay_text[400], err[400];
    s_svc_t svc;
    void *ctx = NULL;
    auth_t *auth = NULL;
    server_t *server = NULL;
    feed_consumer_t *consumer = NULL;
    auth_keypair_t keys, inv_keys;
    mail_relay_t relay;
    int exit_code = 1, bad = 0, mime = 0, curl = 0;

    memset(&svc, 0, sizeof svc);
    log_set_service("mailer");
    log_init_from_env();
    int prc = config_parse(opts, argc, argv, usage);
    if (prc == 1)
        return 0;
    if (prc < 0)
        return 2;
    svc.policy.base_ms = (uint64_t)s_long(opts, "retry-base-ms", 1, 86400000L, &bad);
    svc.policy.max_ms = (uint64_t)s_long(opts, "retry-max-ms", 1, 7L * 86400000L, &bad);
    svc.policy.max_tries = (uint32_t)s_long(opts, "max-tries", 1, 1000, &bad);
    long smtp_timeout = s_long(opts, "smtp-timeout-ms", 100, 3600000L, &bad);
    long fetch_timeout = s_long(opts, "fetch-timeout-ms", 100, 600000L, &bad);
    long map_mb = s_long(opts, "map-mb", 1, 1 << 20, &bad);
    if (bad)
        return 2;
    if (svc.policy.max_ms < svc.policy.base_ms)
        svc.policy.max_ms = svc.policy.base_ms;
    if (mail_relay_parse(config_get(opts, "relay"), config_get(opts, "relay-tls"), &relay, err,
                         sizeof err) != 0) {
        fprintf(stderr, "pay-mailer: %s\n", err);
        return 2;
    }
    const char *from = config_get(opts, "from");
    if (!from || !mail_address_valid(from)) {
        fprintf(stderr, "pay-mailer: --from (PAY_MAIL_FROM) must be a plain address such as "
                        "invoices@payroll.example.org%s%s%s\n",
                from ? ", not '" : "", from ? from : "", from ? "'" : "");
        return 2;
    }
    const char *domain = config_get(opts, "domain");
    if (!domain || !*domain)
        domain = mail_address_domain(from);
    if (!mail_domain_valid(domain)) {
        fprintf(stderr, "pay-mailer: --domain '%s' is not a domain name\n", domain);
        return 2;
    }
    snprintf(svc.policy.domain, sizeof svc.policy.domain, "%s", domain);
    const char *user = config_get(opts, "relay-user");
    const char *pwfile = config_get(opts, "relay-password-file");
    if (user && *user) {
        if (!pwfile || !*pwfile) {
            fprintf(stderr, "pay-mailer: --relay-user needs --relay-password-file "
                            "(PAY_MAIL_RELAY_PASSWORD_FILE)\n");
            return 2;
        }
        if (s_read_secret(pwfile, password, sizeof password) != 0) {
            fprintf(stderr, "pay-mailer: cannot read the password file %s: %s\n", pwfile,
                    strerror(errno));
            return 2;
        }
        if (relay.tls == MAIL_TLS_NONE)
            log_warn("mail.config", "the relay password goes over plain SMTP (loopback)");
    }
    int v6 = strchr(relay.host, ':') != NULL;
    snprintf(relay_text, sizeof relay_text, "%s://%s%s%s:%u (%s%s%s)",
             relay.tls == MAIL_TLS_IMPLICIT ? "smtps" : "smtp", v6 ? "[" : "", relay.host,
             v6 ? "]" : "", relay.port,
             relay.tls == MAIL_TLS_NONE ? "plain, loopback" : relay.tls == MAIL_TLS_IMPLICIT
                                                                  ? "TLS" : "STARTTLS",
             user && *user ? ", AUTH as " : "", user && *user ? user : "");

    const char *keys_dir = config_get(opts, "keys-dir");
    const char *allow = config_get(opts, "allow-file");
    if (s_path(dir, sizeof dir, config_get(opts, "data-dir"), "mailer") != 0
        || s_path(key_path, sizeof key_path, keys_dir, "mailer.key") != 0
        || s_path(inv_pub, sizeof inv_pub, keys_dir, "invoicing.pub") != 0
        || s_path(allow_path, sizeof allow_path, keys_dir, "allow.txt") != 0) {
        fprintf(stderr, "pay-mailer: a path is too long\n");
        return 2;
    }
    if (!allow)
        allow = allow_path;
    if (auth_keypair_load(key_path, &keys) != 0 || !keys.secret_z85[0]) {
        log_error("mail.keys", "cannot read the key pair %s", key_path);
        goto done;
    }
    if (auth_keypair_load(inv_pub, &inv_keys) != 0) {
        log_error("mail.keys", "cannot read invoicing's public key %s", inv_pub);
        goto done;
    }
    if (!(svc.ms = mail_store_open(dir, (size_t)map_mb << 20)))
        goto done;
    if (mail_smtp_global_init() != 0) {
        log_error("mail.start", "cannot initialise libcurl");
        goto done;
    }
    curl = 1;
    mail_mime_init();
    mime = 1;
    if (!(ctx = zmq_ctx_new()))
        goto done;
    if (!(auth = auth_new(ctx, allow))) {
        log_error("mail.auth", "cannot start the ZAP handler with %s", allow);
        goto done;
    }
    mail_worker_cfg_t wcfg = {
        .zmq_ctx = ctx,
        .invoicing_endpoint = config_get(opts, "invoicing-endpoint"),
        .keys = &keys,
        .invoicing_public = inv_keys.public_z85,
        .fetch_timeout_ms = (int)fetch_timeout,
        .smtp = {
            .relay = relay,
            .helo_domain = svc.policy.domain,
            .user = user,
            .password = password,
            .ca_file = config_get(opts, "relay-ca-file"),
            .from = from,
            .timeout_ms = smtp_timeout,
        },
        .from_addr = from,
        .from_name = config_get(opts, "from-name"),
    };
    mail_api_t api = {svc.ms, NULL, NULL, relay_text};
    server_config_t cfg = {
        .endpoint = config_get(opts, "endpoint"),
        .keys = &keys,
        .auth = auth,
        .request_desc = &pay__mailer_request__descriptor,
        .reply_desc = &pay__mailer_reply__descriptor,
        .handler = mail_api_handle,
        .svc = &api,
    };
    if (!(server = server_new(ctx, mail_store_store(svc.ms), &cfg)))
        goto done;
    feed_consumer_opts_t fopts = {.name = "mailer"};
    if (!(consumer = feed_consumer_new(ctx, mail_store_store(svc.ms), MAIL_DB_CURSOR,
                                       MAIL_FEED_NAME, config_get(opts, "invoice-feed"), &keys,
                                       inv_keys.public_z85, mail_store_apply_event, svc.ms,
                                       &fopts)))
        goto done;
    if (!(svc.worker = mail_worker_new(&wcfg)))
        goto done;
    api.consumer = consumer;
    api.worker = svc.worker;
    if (feed_consumer_attach(consumer, server) != 0
        || server_watch(server, mail_worker_socket(svc.worker), s_worker_readable, &svc) != 0
        || server_every(server, 200, s_pump, &svc) != 0 || hup_install() != 0
        || server_every(server, 500, hup_reload_tick, auth) != 0)
        goto done;
    log_info("mail.start", "api %s, invoice feed %s (from seq %llu), invoicing %s, relay %s, "
             "from %s, Message-IDs @%s, store %s",
             server_endpoint(server), config_get(opts, "invoice-feed"),
             (unsigned long long)feed_consumer_cursor(consumer) + 1,
             config_get(opts, "invoicing-endpoint"), relay_text, from, svc.policy.domain, dir);
    if (server_run(server) == 0)
        exit_code = 0;
    svc.stopping = 1;
    log_info("mail.stop", "stopped %s", exit_code == 0 ? "cleanly" : "after an error");
done:
    if (svc.worker) {
        mail_job_t *left = NULL;
        mail_worker_destroy(&svc.worker, &left);
        if (left) {
            s_record(&svc, left);
            free(left);
        }
    }
    feed_consumer_destroy(&consumer);
    server_destroy(&server);
    auth_destroy(&auth);
    if (ctx)
        zmq_ctx_term(ctx);
    mail_store_destroy(&svc.ms);
    if (mime)
        mail_mime_shutdown();
    if (curl)
        mail_smtp_global_cleanup();
    memset(password, 0, sizeof password);
    return exit_code;
}
