/* web_metrics: see web_metrics.h; and /metrics itself (web_app.h):
 * what is collected for it, and pay-web's own request counters. */
#include "web_metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "hours.pb-c.h"
#include "invoicing.pb-c.h"
#include "wages.pb-c.h"
#include "web_app.h"

void web_samples_init(web_samples_t *m)
{
    memset(m, 0, sizeof *m);
}

void web_samples_release(web_samples_t *m)
{
    free(m->s);
    memset(m, 0, sizeof *m);
}

static int s_name_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
            return 0;
    }
    return 1;
}

void web_samples_add(web_samples_t *m, const char *name, const char *type, const char *help,
                     uint64_t value, ...)
{
    if (m->failed || !s_name_ok(name) || strlen(name) >= sizeof m->s->name)
        return;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        web_sample_t *s = realloc(m->s, cap * sizeof *s);
        if (!s) {
            m->failed = 1;
            return;
        }
        m->s = s;
        m->cap = cap;
    }
    web_sample_t *x = &m->s[m->n];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->type = type;
    x->help = help;
    x->value = value;
    va_list ap;
    va_start(ap, value);
    size_t at = 0;
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (!s_name_ok(k))
            continue;
        at += (size_t)snprintf(x->labels + at, at < sizeof x->labels ? sizeof x->labels - at : 0,
                               "%s%s=\"", at ? "," : "", k);
        for (const char *p = v ? v : ""; *p && at + 4 < sizeof x->labels; p++) {
            if (*p == '\\' || *p == '"') {
                x->labels[at++] = '\\';
                x->labels[at++] = *p;
            } else if (*p == '\n') {
                x->labels[at++] = '\\';
                x->labels[at++] = 'n';
            } else {
                x->labels[at++] = *p;
            }
        }
        if (at + 2 < sizeof x->labels) {
            x->labels[at++] = '"';
            x->labels[at] = '\0';
        }
        if (at >= sizeof x->labels - 2)
            break;
    }
    va_end(ap);
    m->n++;
}

void web_samples_from_message(web_samples_t *m, const char *prefix, const char *service,
                              const ProtobufCMessage *msg)
{
    if (!msg)
        return;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        uint64_t v;
        if (!web_field_u64(msg, &d->fields[i], &v))
            continue;
        char name[96];
        snprintf(name, sizeof name, "%s_%s", prefix, d->fields[i].name);
        web_samples_add(m, name, "gauge", "a field of the service's health or stats reply", v,
                        "service", service, NULL);
    }
}

void web_samples_write(const web_samples_t *m, web_buf_t *out)
{
    unsigned char *done = calloc(m->n ? m->n : 1, 1);
    if (!done) {
        out->failed = 1;
        return;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (done[i])
            continue;
        const web_sample_t *first = &m->s[i];
        web_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", first->name,
                       first->help ? first->help : "", first->name,
                       first->type ? first->type : "untyped");
        for (size_t j = i; j < m->n; j++) {
            const web_sample_t *x = &m->s[j];
            if (done[j] || strcmp(x->name, first->name) != 0)
                continue;
            done[j] = 1;
            if (x->labels[0])
                web_buf_printf(out, "%s{%s} %" PRIu64 "\n", x->name, x->labels, x->value);
            else
                web_buf_printf(out, "%s %" PRIu64 "\n", x->name, x->value);
        }
    }
    free(done);
}

/* ---- pay-web's own counters ------------------------------------------------------ */

#define S_MAX_COUNTERS 256

typedef struct {
    char a[64], b[16];
    uint64_t n;
} s_counter_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static s_counter_t s_requests[S_MAX_COUNTERS];
static size_t s_nrequests;
static s_counter_t s_logins[8];
static size_t s_nlogins;

static void s_count(s_counter_t *set, size_t *n, size_t max, const char *a, const char *b)
{
    pthread_mutex_lock(&s_lock);
    size_t i = 0;
    while (i < *n && !(strcmp(set[i].a, a) == 0 && strcmp(set[i].b, b) == 0))
        i++;
    if (i == *n && *n < max) {
        snprintf(set[i].a, sizeof set[i].a, "%s", a);
        snprintf(set[i].b, sizeof set[i].b, "%s", b);
        (*n)++;
    }
    if (i < *n)
        set[i].n++;
    pthread_mutex_unlock(&s_lock);
}

void web_metrics_count_request(const char *route, int status)
{
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    s_count(s_requests, &s_nrequests, S_MAX_COUNTERS, route, code);
}

void web_metrics_count_login(const char *result)
{
    s_count(s_logins, &s_nlogins, 8, result, "");
}

/* ---- collecting ------------------------------------------------------------------ */

static void s_service_samples(web_app_t *app, web_samples_t *m)
{
    web_calls_t calls;
    web_calls_init(&calls, &app->svc, &app->metrics_keys);
    uint64_t head = 0, cursor[WEB_SVC_COUNT] = {0};
    int up[WEB_SVC_COUNT] = {0}, has_head = 0, has_cursor[WEB_SVC_COUNT] = {0};
    {
        Pay__HoursGetHealth g = PAY__HOURS_GET_HEALTH__INIT;
        Pay__HoursRequest q = PAY__HOURS_REQUEST__INIT;
        q.body_case = PAY__HOURS_REQUEST__BODY_GET_HEALTH;
        q.get_health = &g;
        Pay__HoursReply *r = (Pay__HoursReply *)web_calls_ask(&calls, WEB_SVC_HOURS, &q.base,
                                                              &pay__hours_reply__descriptor);
        if (r && r->health) {
            up[0] = r->health->ok;
            has_head = r->health->has_outbox_head;
            head = r->health->outbox_head;
            web_samples_from_message(m, "pay_service_health", "hours", &r->health->base);
        }
        ProtobufCMessage *p = r ? &r->base : NULL;
        codec_free(&p);
        Pay__HoursGetStats gs = PAY__HOURS_GET_STATS__INIT;
        q.body_case = PAY__HOURS_REQUEST__BODY_GET_STATS;
        q.get_stats = &gs;
        r = up[0] ? (Pay__HoursReply *)web_calls_ask(&calls, WEB_SVC_HOURS, &q.base,
                                                     &pay__hours_reply__descriptor)
                  : NULL;
        if (r && r->stats)
            web_samples_from_message(m, "pay_service_stats", "hours", &r->stats->base);
        p = r ? &r->base : NULL;
        codec_free(&p);
    }
    {
        Pay__WagesHealth g = PAY__WAGES_HEALTH__INIT;
        Pay__WagesRequest q = PAY__WAGES_REQUEST__INIT;
        q.body_case = PAY__WAGES_REQUEST__BODY_HEALTH;
        q.health = &g;
        Pay__WagesReply *r = (Pay__WagesReply *)web_calls_ask(&calls, WEB_SVC_WAGES, &q.base,
                                                              &pay__wages_reply__descriptor);
        if (r) {
            up[1] = 1;
            if (r->body_case == PAY__WAGES_REPLY__BODY_HEALTH) {
                has_cursor[1] = r->health->has_cursor;
                cursor[1] = r->health->cursor;
                web_samples_from_message(m, "pay_service_health", "wages", &r->health->base);
            }
        }
        ProtobufCMessage *p = r ? &r->base : NULL;
        codec_free(&p);
    }
    {
        Pay__Health g = PAY__HEALTH__INIT;
        Pay__InvoicingRequest q = PAY__INVOICING_REQUEST__INIT;
        q.body_case = PAY__INVOICING_REQUEST__BODY_HEALTH;
        q.health = &g;
        Pay__InvoicingReply *r = (Pay__InvoicingReply *)web_calls_ask(
            &calls, WEB_SVC_INVOICING, &q.base, &pay__invoicing_reply__descriptor);
        if (r) {
            up[2] = 1;
            if (r->health) {
                has_cursor[2] = r->health->has_feed_cursor;
                cursor[2] = r->health->feed_cursor;
                web_samples_from_message(m, "pay_service_health", "invoicing",
                                         &r->health->base);
            }
        }
        ProtobufCMessage *p = r ? &r->base : NULL;
        codec_free(&p);
    }
    web_calls_release(&calls);
    for (int s = 0; s < WEB_SVC_COUNT; s++) {
        const char *name = web_service_name((web_service_t)s);
        web_samples_add(m, "pay_service_up", "gauge",
                        "1 if the service answered its health request", (uint64_t)up[s],
                        "service", name, NULL);
        if (up[s] && has_cursor[s])
            web_samples_add(m, "pay_feed_cursor", "gauge",
                            "the last hours-feed event the service has applied", cursor[s],
                            "service", name, "feed", "hours", NULL);
        if (up[s] && has_cursor[s] && has_head)
            web_samples_add(m, "pay_feed_lag", "gauge",
                            "hours-feed events published but not yet applied",
                            head > cursor[s] ? head - cursor[s] : 0, "service", name, "feed",
                            "hours", NULL);
    }
    if (up[0] && has_head)
        web_samples_add(m, "pay_feed_head", "gauge", "the last event in the hours feed", head,
                        "feed", "hours", NULL);
}

void web_metrics_render(web_app_t *app, web_buf_t *out)
{
    web_samples_t m;
    web_samples_init(&m);
    if (app->has_metrics_key)
        s_service_samples(app, &m);
    web_svc_counters_t c;
    web_svc_counters(&c);
    for (int s = 0; s < WEB_SVC_COUNT; s++) {
        const char *name = web_service_name((web_service_t)s);
        web_samples_add(&m, "pay_web_service_calls_total", "counter",
                        "requests pay-web sent to each service", c.calls[s], "service", name,
                        NULL);
        web_samples_add(&m, "pay_web_service_no_answer_total", "counter",
                        "requests to each service that got no answer", c.no_answer[s],
                        "service", name, NULL);
        for (int st = 0; st < 64; st++)
            if (c.by_status[s][st])
                web_samples_add(&m, "pay_web_service_replies_total", "counter",
                                "replies from each service by status", c.by_status[s][st],
                                "service", name, "status", codec_status_name((Pay__Status)st),
                                NULL);
    }
    pthread_mutex_lock(&s_lock);
    for (size_t i = 0; i < s_nrequests; i++)
        web_samples_add(&m, "pay_web_requests_total", "counter",
                        "HTTP requests answered, by route and status", s_requests[i].n, "route",
                        s_requests[i].a, "code", s_requests[i].b, NULL);
    for (size_t i = 0; i < s_nlogins; i++)
        web_samples_add(&m, "pay_web_logins_total", "counter", "login attempts by result",
                        s_logins[i].n, "result", s_logins[i].a, NULL);
    pthread_mutex_unlock(&s_lock);
    web_samples_add(&m, "pay_web_sessions", "gauge", "live web sessions",
                    web_sessions_count(app->sessions), NULL);
    web_samples_write(&m, out);
    if (!app->has_metrics_key)
        web_buf_str(out, "# no --metrics-key: the services' own figures are not collected\n");
    web_samples_release(&m);
}
