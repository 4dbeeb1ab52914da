/* mail_smtp: see mail_smtp.h. */
#include "mail_smtp.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

int mail_smtp_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void mail_smtp_global_cleanup(void)
{
    curl_global_cleanup();
}

typedef struct {
    const uint8_t *data;
    size_t len, at;
    char last[MAIL_TEXT_LEN];   /* the relay's last line */
    char refusal[MAIL_TEXT_LEN]; /* its last 4xx or 5xx line */
    atomic_int *stop;
} s_xfer_t;

static size_t s_read(char *buf, size_t size, size_t nitems, void *arg)
{
    s_xfer_t *x = arg;
    size_t room = size * nitems, n = x->len - x->at;
    if (n > room)
        n = room;
    memcpy(buf, x->data + x->at, n);
    x->at += n;
    return n;
}

/* Keeps the relay's last answer line, printable only. Only what the relay
 * said is looked at (CURLINFO_HEADER_IN): what we sent, AUTH included, is
 * never copied anywhere. */
static int s_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
    s_xfer_t *x = arg;
    (void)h;
    if (type != CURLINFO_HEADER_IN || size == 0)
        return 0;
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    if (size == 0)
        return 0;
    /* The last line of a multi-line reply ("250-...", "250 ..."). */
    for (size_t i = size; i > 0; i--)
        if (data[i - 1] == '\n') {
            data += i;
            size -= i;
            break;
        }
    if (size >= sizeof x->last)
        size = sizeof x->last - 1;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)data[i];
        x->last[i] = c >= ' ' && c < 0x7f ? (char)c : '?';
    }
    x->last[size] = '\0';
    if (x->last[0] == '4' || x->last[0] == '5')
        memcpy(x->refusal, x->last, size + 1);
    return 0;
}

static int s_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    s_xfer_t *x = arg;
    (void)dt, (void)dn, (void)ut, (void)un;
    return x->stop && atomic_load(x->stop) ? 1 : 0;
}

static int s_login_or_tls(CURLcode c)
{
    switch (c) {
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
        return 1;
    default:
        return 0;
    }
}

void mail_smtp_send(const mail_smtp_cfg_t *cfg, const char *to, const uint8_t *msg, size_t len,
                    mail_smtp_result_t *res)
{
    char url[600], from[MAIL_ADDR_LEN + 2], rcpt[MAIL_ADDR_LEN + 2], errbuf[CURL_ERROR_SIZE];
    struct curl_slist *rcpts = NULL;
    s_xfer_t x = {msg, len, 0, "", "", cfg->stop};
    CURL *h = NULL;
    long code = 0;
    memset(res, 0, sizeof *res);
    res->outcome = MAIL_TRANSIENT;
    errbuf[0] = '\0';
    if (!mail_address_valid(to) || !mail_address_valid(cfg->from)) {
        res->outcome = MAIL_PERMANENT;
        snprintf(res->text, sizeof res->text, "not a plain mailbox: %s",
                 mail_address_valid(to) ? "the sender" : "the recipient");
        return;
    }
    const mail_relay_t *r = &cfg->relay;
    int v6 = strchr(r->host, ':') != NULL;
    snprintf(url, sizeof url, "%s://%s%s%s:%u/%s", r->tls == MAIL_TLS_IMPLICIT ? "smtps" : "smtp",
             v6 ? "[" : "", r->host, v6 ? "]" : "", r->port,
             cfg->helo_domain ? cfg->helo_domain : "");
    snprintf(from, sizeof from, "<%s>", cfg->from);
    snprintf(rcpt, sizeof rcpt, "<%s>", to);
    if (!(h = curl_easy_init()) || !(rcpts = curl_slist_append(NULL, rcpt))) {
        snprintf(res->text, sizeof res->text, "out of memory");
        goto done;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     r->tls == MAIL_TLS_NONE ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
    if (cfg->ca_file && *cfg->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
    if (cfg->user && *cfg->user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, cfg->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
    }
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, s_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &x);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg->timeout_ms > 0 ? cfg->timeout_ms : 60000L);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, s_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, s_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);

    CURLcode c = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    res->code = code;
    if (c == CURLE_ABORTED_BY_CALLBACK) {
        res->outcome = MAIL_DEFERRED;
        snprintf(res->text, sizeof res->text, "stopped before the relay answered");
    } else if (c == CURLE_OK) {
        res->outcome = mail_classify(1, 0, code);
        snprintf(res->text, sizeof res->text, "%s", x.last[0] ? x.last : "accepted");
    } else {
        res->outcome = mail_classify(0, s_login_or_tls(c), code);
        const char *said = x.refusal[0] ? x.refusal : x.last;
        snprintf(res->text, sizeof res->text, "%s%s%s", errbuf[0] ? errbuf : curl_easy_strerror(c),
                 said[0] ? "; the relay said: " : "", said);
    }
done:
    curl_slist_free_all(rcpts);
    if (h)
        curl_easy_cleanup(h);
}
