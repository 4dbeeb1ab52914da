/* pay-web: the web portal for finance staff and employers.
 *
 * A thin main over web_http (libmicrohttpd), the page modules and the
 * shared client code: it reads the flags, opens pay-web's key store
 * (<data-dir>/web), loads the services' public keys, starts the listeners
 * and waits for SIGTERM/SIGINT, sweeping idle sessions meanwhile. On the
 * way out every session is wiped.
 *
 * pay-web holds no key of its own for the pages: each login is a CURVE
 * key pair on the services' allow-list, stored sealed under the login's
 * password (payctl web user add), and every page calls the services with
 * the key of the session it serves. The optional --metrics-key is the one
 * key pay-web uses on its own behalf, for the health requests behind
 * /metrics.
 *
 * HTTPS needs --tls-cert and --tls-key. Plain HTTP is refused unless
 * --insecure-http is given and --listen is a loopback address (the demo
 * on one machine). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "auth.h"
#include "civil.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "web_http.h"

/* "HOST:PORT" or "[V6]:PORT" into addr. Returns 0 or -1. */
static int s_parse_listen(const char *s, struct sockaddr_storage *addr, int *loopback)
{
    char host[128];
    const char *colon;
    memset(addr, 0, sizeof *addr);
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host)
            return -1;
        snprintf(host, sizeof host, "%.*s", (int)(end - s - 1), s + 1);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host)
            return -1;
        snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
    }
    char *endp;
    long port = strtol(colon + 1, &endp, 10);
    if (*endp || port < 1 || port > 65535)
        return -1;
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
        return 0;
    }
    return -1;
}

static char *s_read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int s_load_pub(const char *keys_dir, const char *name, char out[AUTH_Z85_LEN])
{
    char path[1200];
    auth_keypair_t kp;
    snprintf(path, sizeof path, "%s/%s", keys_dir, name);
    if (auth_keypair_load(path, &kp) != 0) {
        log_error("config.keys", "cannot read the public key %s", path);
        return -1;
    }
    snprintf(out, AUTH_Z85_LEN, "%s", kp.public_z85);
    return 0;
}

/* Takes bare switches (no value) out of argv; returns 1 if `name` was there. */
static int s_take_switch(int *argc, char **argv, const char *name)
{
    int found = 0, out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], name) == 0)
            found = 1;
        else
            argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return found;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"listen", "PAY_WEB_LISTEN", "127.0.0.1:8443", "address:port of the pages", NULL},
        {"tls-cert", "PAY_WEB_TLS_CERT", NULL, "TLS certificate chain (PEM)", NULL},
        {"tls-key", "PAY_WEB_TLS_KEY", NULL, "TLS private key (PEM)", NULL},
        {"data-dir", "PAY_DATA_DIR", "data", "folder of the stores; pay-web's is <data-dir>/web",
         NULL},
        {"keys-dir", "PAY_KEYS_DIR", "keys", "holds hours.pub, wages.pub, invoicing.pub", NULL},
        {"allow-file", "PAY_ALLOW_FILE", NULL,
         "the services' allow-list, read at each login (default <keys-dir>/allow.txt)", NULL},
        {"hours-endpoint", "PAY_HOURS_ENDPOINT", "tcp://127.0.0.1:5550", "hours API", NULL},
        {"wages-endpoint", "PAY_WAGES_ENDPOINT", "tcp://127.0.0.1:5560", "wages API", NULL},
        {"invoicing-endpoint", "PAY_INVOICING_ENDPOINT", "tcp://127.0.0.1:5570",
         "invoicing API", NULL},
        {"service-timeout-ms", "PAY_WEB_SERVICE_TIMEOUT_MS", "3000",
         "wait per try for a service's answer", NULL},
        {"service-retries", "PAY_WEB_SERVICE_RETRIES", "1", "resends after a silent try", NULL},
        {"idle-timeout", "PAY_WEB_IDLE_TIMEOUT", "900", "seconds a session lives without use",
         NULL},
        {"max-sessions", "PAY_WEB_MAX_SESSIONS", "1024", "sessions at once", NULL},
        {"login-free-failures", "PAY_WEB_LOGIN_FREE_FAILURES", "5",
         "failed logins per login name before each further try must wait", NULL},
        {"login-delay-ms", "PAY_WEB_LOGIN_DELAY_MS", "2000",
         "the first wait; it doubles with each further failure, up to 15 minutes", NULL},
        {"max-body", "PAY_WEB_MAX_BODY", "16384", "largest request body in bytes", NULL},
        {"metrics-listen", "PAY_WEB_METRICS_LISTEN", NULL,
         "address:port of /metrics (plain HTTP; loopback unless --metrics-token-file)", NULL},
        {"metrics-key", "PAY_WEB_METRICS_KEY", NULL,
         "key pair (.key) for the services' health requests behind /metrics", NULL},
        {"metrics-token-file", "PAY_WEB_METRICS_TOKEN_FILE", NULL,
         "file holding the bearer token /metrics requires", NULL},
        {"today", "PAY_TODAY", NULL, "pin today's date YYYY-MM-DD (tests and demos)", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    static web_app_t app;
    int status = 1, insecure;
    long timeout_ms, retries, idle_s, max_sessions, free_failures, delay_ms, max_body;
    struct MHD_Daemon *daemon = NULL, *metrics = NULL;
    char *cert = NULL, *key = NULL;
    char store_dir[1100];

    log_set_service("web");
    log_init_from_env();
    insecure = s_take_switch(&argc, argv, "--insecure-http");
    int no_secure_cookie = s_take_switch(&argc, argv, "--no-secure-cookie");
    const char *ienv = getenv("PAY_WEB_INSECURE_HTTP");
    if (ienv && strcmp(ienv, "yes") == 0)
        insecure = 1;
    int pr = config_parse(opts, argc, argv,
                          "pay-web --listen HOST:PORT (--tls-cert FILE --tls-key FILE | "
                          "--insecure-http) [--data-dir DIR] [--keys-dir DIR] ...\n"
                          "  --insecure-http  plain HTTP, only on a loopback address "
                          "(PAY_WEB_INSECURE_HTTP=yes)\n"
                          "  --no-secure-cookie  with --insecure-http: cookies without Secure, "
                          "for a browser that refuses Secure cookies over http://127.0.0.1 "
                          "(Chromium accepts them)");
    if (pr != 0)
        return pr > 0 ? 0 : 2;
    if (sodium_init() < 0) {
        log_error("web.start", "libsodium did not initialise");
        return 1;
    }
    const char *today = config_get(opts, "today");
    if (today && *today) {
        int32_t day;
        if (civil_parse_date(today, &day) != 0 || day < 0) {
            log_error("config.today", "--today / PAY_TODAY '%s' is not a YYYY-MM-DD date", today);
            return 2;
        }
        clock_set_today(day);
    }
    if (config_get_long(opts, "service-timeout-ms", 50, 600000, &timeout_ms) != 0 ||
        config_get_long(opts, "service-retries", 0, 10, &retries) != 0 ||
        config_get_long(opts, "idle-timeout", 1, 7 * 86400, &idle_s) != 0 ||
        config_get_long(opts, "max-sessions", 1, 65536, &max_sessions) != 0 ||
        config_get_long(opts, "login-free-failures", 0, 1000, &free_failures) != 0 ||
        config_get_long(opts, "login-delay-ms", 0, 3600000, &delay_ms) != 0 ||
        config_get_long(opts, "max-body", 1024, 1 << 20, &max_body) != 0) {
        log_error("config.value", "a numeric flag is out of range (see --help)");
        return 2;
    }
    struct sockaddr_storage addr, maddr;
    int loopback = 0, mloop = 0;
    if (s_parse_listen(config_get(opts, "listen"), &addr, &loopback) != 0) {
        log_error("config.listen", "--listen '%s' is not HOST:PORT with a numeric address",
                  config_get(opts, "listen"));
        return 2;
    }
    const char *cert_file = config_get(opts, "tls-cert"), *key_file = config_get(opts, "tls-key");
    if ((cert_file != NULL) != (key_file != NULL)) {
        log_error("config.tls", "give both --tls-cert and --tls-key");
        return 2;
    }
    if (!cert_file && !insecure) {
        log_error("config.tls", "HTTPS needs --tls-cert and --tls-key; plain HTTP needs "
                                "--insecure-http on a loopback address");
        return 2;
    }
    if (cert_file && insecure) {
        log_error("config.tls", "--insecure-http and --tls-cert exclude each other");
        return 2;
    }
    if (insecure && !loopback) {
        log_error("config.listen", "--insecure-http serves only a loopback address "
                                   "(127.0.0.1 or ::1), not %s", config_get(opts, "listen"));
        return 2;
    }
    if (cert_file) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            log_error("config.tls", "this libmicrohttpd has no TLS support");
            return 1;
        }
        cert = s_read_file(cert_file, 1 << 20);
        key = s_read_file(key_file, 1 << 20);
        if (!cert || !key) {
            log_error("config.tls", "cannot read %s or %s", cert_file, key_file);
            goto done;
        }
    }
    const char *keys_dir = config_get(opts, "keys-dir");
    const char *allow = config_get(opts, "allow-file");
    if (allow)
        snprintf(app.allow_file, sizeof app.allow_file, "%s", allow);
    else
        snprintf(app.allow_file, sizeof app.allow_file, "%s/allow.txt", keys_dir);
    char err[AUTH_ERR_LEN];
    if (auth_allow_file_check(app.allow_file, err) != 0) {
        log_error("config.allow", "%s", err);
        goto done;
    }
    static const char *const eps[] = {"hours-endpoint", "wages-endpoint", "invoicing-endpoint"};
    static const char *const pubs[] = {"hours.pub", "wages.pub", "invoicing.pub"};
    for (int s = 0; s < WEB_SVC_COUNT; s++) {
        snprintf(app.svc.endpoint[s], sizeof app.svc.endpoint[s], "%s", config_get(opts, eps[s]));
        if (s_load_pub(keys_dir, pubs[s], app.svc.server_public[s]) != 0)
            goto done;
    }
    app.svc.timeout_ms = (int)timeout_ms;
    app.svc.retries = (int)retries;
    app.tls = cert != NULL;
    /* Cookies are Secure even over plain HTTP on loopback: browsers treat
     * http://127.0.0.1 and http://localhost as secure contexts (Chromium
     * stores and sends Secure cookies there). --no-secure-cookie drops the
     * flag, and only in that mode, for a browser that does not. */
    if (no_secure_cookie && !insecure) {
        log_error("config.tls", "--no-secure-cookie is only for --insecure-http");
        goto done;
    }
    app.secure_cookie = !no_secure_cookie;
    app.max_body = (size_t)max_body;
    const char *mkey = config_get(opts, "metrics-key");
    if (mkey) {
        if (auth_keypair_load(mkey, &app.metrics_keys) != 0 || !app.metrics_keys.secret_z85[0]) {
            log_error("config.metrics", "--metrics-key %s is not a .key file with a secret key",
                      mkey);
            goto done;
        }
        app.has_metrics_key = 1;
    }
    const char *mtok = config_get(opts, "metrics-token-file");
    if (mtok) {
        char *t = s_read_file(mtok, sizeof app.metrics_token - 1);
        size_t n = t ? strcspn(t, "\r\n") : 0;
        if (!t || n < 16) {
            free(t);
            log_error("config.metrics", "--metrics-token-file %s must hold a token of 16 or more "
                                        "characters", mtok);
            goto done;
        }
        snprintf(app.metrics_token, sizeof app.metrics_token, "%.*s", (int)n, t);
        sodium_memzero(t, strlen(t));
        free(t);
    }
    const char *mlisten = config_get(opts, "metrics-listen");
    if (mlisten && s_parse_listen(mlisten, &maddr, &mloop) != 0) {
        log_error("config.metrics", "--metrics-listen '%s' is not HOST:PORT", mlisten);
        goto done;
    }
    if (mlisten && !mloop && !app.metrics_token[0]) {
        log_error("config.metrics", "/metrics on a non-loopback address needs "
                                    "--metrics-token-file");
        goto done;
    }

    snprintf(store_dir, sizeof store_dir, "%s/web", config_get(opts, "data-dir"));
    app.keystore = web_keystore_open(store_dir);
    web_throttle_policy_t per_login = {(unsigned)free_failures, delay_ms, 15 * 60 * 1000,
                                       15 * 60 * 1000, 4096};
    web_throttle_policy_t per_addr = per_login;
    per_addr.free_failures = (unsigned)free_failures * 4;
    app.throttle = web_throttle_new(&per_login);
    app.throttle_addr = web_throttle_new(&per_addr);
    app.sessions = web_sessions_new((size_t)max_sessions, (int64_t)idle_s * 1000);
    app.svc.zmq_ctx = zmq_ctx_new();
    if (!app.keystore || !app.throttle || !app.throttle_addr || !app.sessions ||
        !app.svc.zmq_ctx) {
        log_error("web.start", "cannot open the store %s or make the tables", store_dir);
        goto done;
    }
    sem_init(&app.unlock_slots, 0, 2);

    /* Signals go to this thread only (sigtimedwait below). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    daemon = web_http_start(&app, (struct sockaddr *)&addr, cert, key);
    if (!daemon) {
        log_error("web.start", "cannot listen on %s: %s", config_get(opts, "listen"),
                  strerror(errno));
        goto done;
    }
    if (mlisten) {
        metrics = web_http_start_metrics(&app, (struct sockaddr *)&maddr);
        if (!metrics) {
            log_error("web.start", "cannot listen on %s for /metrics", mlisten);
            goto done;
        }
        log_info("web.metrics", "metrics on http://%s/metrics", mlisten);
    }
    log_info("web.start", "listening on %s://%s (idle timeout %ld s, cookies%s Secure)",
             app.tls ? "https" : "http", config_get(opts, "listen"), idle_s,
             app.secure_cookie ? "" : " not");
    for (;;) {
        struct timespec tick = {5, 0};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        size_t n = web_sessions_sweep(app.sessions, clock_mono_ms(), NULL);
        if (n)
            log_info("web.sessions", "%zu idle session%s ended", n, n == 1 ? "" : "s");
    }
    log_info("web.stop", "stopping");
    status = 0;
done:
    if (metrics)
        MHD_stop_daemon(metrics);
    if (daemon)
        MHD_stop_daemon(daemon);
    web_sessions_destroy(&app.sessions);
    web_throttle_destroy(&app.throttle);
    web_throttle_destroy(&app.throttle_addr);
    web_keystore_destroy(&app.keystore);
    if (app.svc.zmq_ctx)
        zmq_ctx_term(app.svc.zmq_ctx);
    sodium_memzero(&app.metrics_keys, sizeof app.metrics_keys);
    sodium_memzero(app.metrics_token, sizeof app.metrics_token);
    free(cert);
    if (key) {
        sodium_memzero(key, strlen(key));
        free(key);
    }
    return status;
}
