/* mail_rules: see mail_rules.h. */
#include "mail_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void s_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

int mail_number_valid(const char *number)
{
    if (!number || (strncmp(number, "INV-", 4) != 0 && strncmp(number, "CRN-", 4) != 0))
        return 0;
    const char *d = number + 4;
    size_t n = strlen(d);
    if (n < 6 || n > 9)
        return 0;
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] < '0' || d[i] > '9')
            return 0;
        nonzero |= d[i] != '0';
    }
    /* Beyond six digits the number is written without padding. */
    return nonzero && !(n > 6 && d[0] == '0');
}

static int s_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

int mail_domain_valid(const char *domain)
{
    if (!domain)
        return 0;
    size_t n = strlen(domain), label = 0;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = domain[i];
        if (c == '.') {
            if (label == 0 || domain[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!s_label_char(c) || (c == '-' && label == 0) || ++label > 63)
            return 0;
    }
    return label > 0 && domain[n - 1] != '-';
}

int mail_address_valid(const char *addr)
{
    static const char *const bad = "<>(),;:\\\"[]";
    if (!addr)
        return 0;
    size_t n = strlen(addr);
    if (n < 3 || n > 254)
        return 0;
    const char *at = strchr(addr, '@');
    if (!at || strchr(at + 1, '@'))
        return 0;
    size_t local = (size_t)(at - addr);
    if (local < 1 || local > 64 || addr[0] == '.' || addr[local - 1] == '.')
        return 0;
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)addr[i];
        if (c <= ' ' || c >= 0x7f || strchr(bad, c) || (c == '.' && addr[i + 1] == '.'))
            return 0;
    }
    return mail_domain_valid(at + 1);
}

const char *mail_address_domain(const char *addr)
{
    return mail_address_valid(addr) ? strchr(addr, '@') + 1 : NULL;
}

int mail_message_id(const char *number, uint32_t resends, const char *domain, char *out,
                    size_t outlen)
{
    int n;
    if (!mail_number_valid(number) || !mail_domain_valid(domain) || !out || outlen == 0)
        return -1;
    if (resends == 0)
        n = snprintf(out, outlen, "%s@%s", number, domain);
    else
        n = snprintf(out, outlen, "%s.r%u@%s", number, resends, domain);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

uint64_t mail_backoff_ms(const mail_policy_t *p, uint32_t n)
{
    if (n == 0)
        return 0;
    uint64_t d = p->base_ms;
    for (uint32_t i = 1; i < n && d < p->max_ms; i++)
        d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
    return d < p->max_ms ? d : p->max_ms;
}

int mail_delivery_new(mail_delivery_t *d, uint64_t seq, const char *number,
                      const char *employer, const char *email, const char *period,
                      int credit_note, uint64_t now)
{
    memset(d, 0, sizeof *d);
    if (!mail_number_valid(number))
        return -1;
    s_copy(d->number, sizeof d->number, number);
    s_copy(d->employer, sizeof d->employer, employer);
    s_copy(d->email, sizeof d->email, email);
    s_copy(d->period, sizeof d->period, period);
    d->credit_note = credit_note ? 1 : 0;
    d->state = MAIL_PENDING;
    d->queued_at = d->next_try_at = now;
    d->feed_seq = seq;
    return 0;
}

int mail_delivery_due(const mail_delivery_t *d, uint64_t now)
{
    return d->state == MAIL_PENDING && d->next_try_at <= now;
}

int mail_delivery_claim(mail_delivery_t *d, const mail_policy_t *p, uint64_t now)
{
    char id[MAIL_MSGID_LEN];
    if (d->state != MAIL_PENDING
        || mail_message_id(d->number, d->resends, p->domain, id, sizeof id) != 0)
        return -1;
    memcpy(d->message_id, id, sizeof id);
    d->attempts++;
    d->last_try_at = now;
    d->next_try_at = now + mail_backoff_ms(p, d->tries + 1);
    return 0;
}

mail_state_t mail_delivery_result(mail_delivery_t *d, const mail_policy_t *p,
                                  mail_outcome_t outcome, const char *text,
                                  const char *email, uint64_t now)
{
    if (d->state != MAIL_PENDING)
        return d->state;
    if (email && *email)
        s_copy(d->email, sizeof d->email, email);
    switch (outcome) {
    case MAIL_ACCEPTED:
        d->state = MAIL_SENT;
        d->sent_at = now;
        d->next_try_at = 0;
        s_copy(d->server_answer, sizeof d->server_answer, text);
        d->last_error[0] = '\0';
        break;
    case MAIL_PERMANENT:
        d->tries++;
        d->state = MAIL_FAILED;
        d->next_try_at = 0;
        s_copy(d->last_error, sizeof d->last_error, text);
        break;
    case MAIL_TRANSIENT:
        d->tries++;
        s_copy(d->last_error, sizeof d->last_error, text);
        if (d->tries >= p->max_tries) {
            d->state = MAIL_FAILED;
            d->next_try_at = 0;
        } else {
            d->next_try_at = now + mail_backoff_ms(p, d->tries);
        }
        break;
    case MAIL_DEFERRED:
    default:
        /* Nothing reached the relay: not a try, but wait a little. */
        s_copy(d->last_error, sizeof d->last_error, text);
        d->next_try_at = now + mail_backoff_ms(p, 1);
        break;
    }
    return d->state;
}

mail_resend_t mail_delivery_resend(mail_delivery_t *d, const char *to, uint64_t now)
{
    if (to && *to && !mail_address_valid(to))
        return MAIL_RESEND_BAD_ADDRESS;
    if (to && *to)
        s_copy(d->email, sizeof d->email, to);
    mail_resend_t r = d->state == MAIL_PENDING ? MAIL_RESEND_HURRIED : MAIL_RESEND_QUEUED;
    if (d->state == MAIL_SENT) {
        d->resends++;
        d->server_answer[0] = '\0';
        d->sent_at = 0;
        d->ubl_attached = 0;
    }
    if (d->state != MAIL_PENDING) {
        d->queued_at = now;
        d->last_error[0] = '\0';
    }
    d->state = MAIL_PENDING;
    d->tries = 0;
    d->next_try_at = now;
    return r;
}

mail_outcome_t mail_classify(int transport_ok, int login_or_tls, long smtp_code)
{
    if (transport_ok)
        return smtp_code >= 200 && smtp_code < 300 ? MAIL_ACCEPTED : MAIL_TRANSIENT;
    if (login_or_tls)
        return MAIL_TRANSIENT;
    return smtp_code >= 500 && smtp_code < 600 ? MAIL_PERMANENT : MAIL_TRANSIENT;
}

static int s_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int s_is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return 1;
    /* 127.0.0.0/8 written as a dotted quad. */
    unsigned a, b, c, e;
    char tail;
    if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &e, &tail) == 4)
        return a == 127 && b < 256 && c < 256 && e < 256;
    return 0;
}

int mail_relay_parse(const char *url, const char *tls_mode, mail_relay_t *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!url || !*url)
        return s_fail(err, errlen, "no relay: set --relay smtp://HOST:PORT (or PAY_MAIL_RELAY)");
    const char *rest;
    unsigned def_port;
    if (strncmp(url, "smtp://", 7) == 0) {
        rest = url + 7;
        def_port = 587;
        out->tls = MAIL_TLS_STARTTLS;
    } else if (strncmp(url, "smtps://", 8) == 0) {
        rest = url + 8;
        def_port = 465;
        out->tls = MAIL_TLS_IMPLICIT;
    } else {
        return s_fail(err, errlen, "relay '%s' is not an smtp:// or smtps:// URL", url);
    }
    const char *host_end, *host = rest;
    if (*rest == '[') {
        host = rest + 1;
        host_end = strchr(host, ']');
        if (!host_end)
            return s_fail(err, errlen, "relay '%s': an IPv6 host needs its closing ']'", url);
        rest = host_end + 1;
    } else {
        host_end = rest + strcspn(rest, ":/");
        rest = host_end;
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= sizeof out->host)
        return s_fail(err, errlen, "relay '%s' has no host", url);
    memcpy(out->host, host, hl);
    for (size_t i = 0; i < hl; i++) {
        char c = out->host[i];
        if (!(s_label_char(c) || c == '.' || c == ':'))
            return s_fail(err, errlen,
                          "relay '%s': the host has a character that no host name has", url);
    }
    out->port = def_port;
    if (*rest == ':') {
        char *end;
        unsigned long p = strtoul(rest + 1, &end, 10);
        if (end == rest + 1 || p == 0 || p > 65535 || (*end && *end != '/'))
            return s_fail(err, errlen, "relay '%s': the port must be 1 to 65535", url);
        out->port = (unsigned)p;
        rest = end;
    }
    if (*rest == '/')
        rest++;
    if (*rest)
        return s_fail(err, errlen,
                      "relay '%s': nothing may follow HOST:PORT (credentials go in "
                      "--relay-user and --relay-password-file)", url);
    out->loopback = s_is_loopback(out->host);
    if (tls_mode && *tls_mode) {
        if (strcmp(tls_mode, "none") == 0) {
            if (out->tls == MAIL_TLS_IMPLICIT)
                return s_fail(err, errlen,
                              "relay '%s' is smtps:// (TLS from the start), which contradicts "
                              "--relay-tls none", url);
            out->tls = MAIL_TLS_NONE;
        } else if (strcmp(tls_mode, "starttls") != 0) {
            return s_fail(err, errlen, "--relay-tls '%s': use starttls or none", tls_mode);
        } else if (out->tls == MAIL_TLS_IMPLICIT) {
            return s_fail(err, errlen,
                          "relay '%s' is smtps:// (TLS from the start): --relay-tls starttls is "
                          "for smtp:// relays", url);
        }
    }
    if (out->tls == MAIL_TLS_NONE && !out->loopback)
        return s_fail(err, errlen,
                      "plain SMTP (--relay-tls none) is allowed on loopback only, and %s is not "
                      "a loopback host: use STARTTLS (--relay-tls starttls) or an smtps:// relay",
                      out->host);
    return 0;
}

const char *mail_state_name(mail_state_t s)
{
    switch (s) {
    case MAIL_PENDING: return "PENDING";
    case MAIL_SENT: return "SENT";
    case MAIL_FAILED: return "FAILED";
    }
    return "?";
}

int mail_state_parse(const char *name, mail_state_t *out)
{
    static const mail_state_t all[] = {MAIL_PENDING, MAIL_SENT, MAIL_FAILED};
    for (size_t i = 0; name && i < sizeof all / sizeof *all; i++)
        if (strcasecmp(name, mail_state_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}
