/* web_http: see web_http.h. */
#define _GNU_SOURCE
#include "web_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "codec.h"
#include "log.h"

#define S_ARG_MAX 128

/* Per connection: the body read so far. */
typedef struct {
    web_buf_t body;
    int too_big;
} s_conn_t;

/* ---- helpers for pages ----------------------------------------------------- */

const char *web_header(web_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *web_cookie(web_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

const char *web_arg(web_req_t *r, const char *name)
{
    const char *v = r->is_post ? web_form_get(&r->form, name) : NULL;
    if (!v)
        v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v || !*v)
        return NULL;
    if (!web_text_ok(v, S_ARG_MAX)) {
        if (!r->status || r->status == 200)
            web_fail(r, 400, "the value of \"%s\" is not text of at most %d characters", name,
                     S_ARG_MAX);
        return NULL;
    }
    return v;
}

web_view_t *web_page(web_req_t *r, const char *title)
{
    web_view_destroy(&r->view);
    r->view = web_view_new(title);
    r->status = r->view ? 200 : 500;
    return r->view;
}

int web_fail(web_req_t *r, int status, const char *fmt, ...)
{
    char text[WEB_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    static const struct {
        int code;
        const char *title;
    } titles[] = {{400, "Bad request"}, {401, "Not logged in"}, {403, "Forbidden"},
                  {404, "Not found"}, {405, "Method not allowed"}, {409, "Refused"},
                  {413, "Request too large"}, {415, "Unsupported form"},
                  {429, "Too many attempts"}, {500, "Internal error"}, {502, "Service error"},
                  {503, "Service unavailable"}};
    const char *title = "Error";
    for (size_t i = 0; i < sizeof titles / sizeof *titles; i++)
        if (titles[i].code == status)
            title = titles[i].title;
    free(r->body);
    r->body = NULL;
    r->filename[0] = '\0';
    r->location[0] = '\0';
    web_view_t *v = web_page(r, title);
    if (v)
        web_view_note(v, "error", "%s", text);
    r->status = status;
    return 0;
}

int web_fail_calls(web_req_t *r)
{
    return web_fail(r, r->calls.status ? r->calls.status : 502, "%s",
                    r->calls.error[0] ? r->calls.error : "a service failed");
}

void web_redirect(web_req_t *r, const char *location)
{
    web_view_destroy(&r->view);
    snprintf(r->location, sizeof r->location, "%s", location);
    r->status = 303;
}

void web_download(web_req_t *r, const char *content_type, const char *filename, char *data,
                  size_t len)
{
    web_view_destroy(&r->view);
    free(r->body);
    r->body = data;
    r->body_len = len;
    snprintf(r->content_type, sizeof r->content_type, "%s", content_type);
    snprintf(r->filename, sizeof r->filename, "%s", filename ? filename : "");
    r->status = 200;
}

void web_set_cookie(web_req_t *r, const char *name, const char *value, const char *path,
                    int max_age)
{
    if (r->ncookies >= 2)
        return;
    char age[32] = "";
    if (max_age >= 0)
        snprintf(age, sizeof age, "; Max-Age=%d", max_age);
    snprintf(r->cookies[r->ncookies++], sizeof r->cookies[0],
             "%s=%s; Path=%s; HttpOnly%s; SameSite=Strict%s", name, value, path,
             r->app->secure_cookie ? "; Secure" : "", age);
}

/* ---- the page around a view --------------------------------------------------- */

typedef struct {
    const char *href, *text;
} s_nav_t;

static const s_nav_t s_nav_finance[] = {
    {"/", "Dashboard"},           {"/payroll", "Payroll"},
    {"/payslip", "Payslip"},      {"/ledger", "Ledger"},
    {"/exceptions", "Exceptions"}, {"/norm", "Hours norm"},
    {"/invoices", "Invoices"},    {"/overdue", "Overdue"},
    {"/statement", "Statements"}, {"/actions/close-week", "Close week"},
    {"/actions/issue", "Issue invoices"}, {"/actions/payment", "Record payment"},
    {NULL, NULL}};
static const s_nav_t s_nav_employer[] = {
    {"/invoices", "Invoices and credit notes"}, {"/statement", "Statement of account"},
    {NULL, NULL}};

void web_render_page(web_req_t *r, const web_view_t *view, web_buf_t *out)
{
    web_buf_str(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "<title>");
    web_buf_html(out, web_view_title(view));
    web_buf_str(out, " - pay-web</title><link rel=\"stylesheet\" href=\"/static/style.css\">"
                     "<script src=\"/static/app.js\" defer></script></head>\n<body><header>"
                     "<a class=\"brand\" href=\"/\">Prison industries payroll</a>");
    if (r->has_session) {
        const s_nav_t *nav = r->session.who.role == ROLE_FINANCE ? s_nav_finance : s_nav_employer;
        web_buf_str(out, "<nav>");
        for (const s_nav_t *n = nav; n->href; n++) {
            int here = strcmp(r->path, n->href) == 0;
            web_buf_printf(out, "<a href=\"%s\"%s>", n->href, here ? " class=\"here\"" : "");
            web_buf_html(out, n->text);
            web_buf_str(out, "</a>");
        }
        web_buf_str(out, "</nav><div class=\"who\"><span>");
        web_buf_html(out, r->session.login);
        web_buf_str(out, " (");
        web_buf_html(out, auth_role_name(r->session.who.role));
        if (r->session.who.scope[0]) {
            web_buf_str(out, " ");
            web_buf_html(out, r->session.who.scope);
        }
        web_buf_str(out, ")</span>");
        web_buf_str(out, "<form class=\"logout\" method=\"post\" action=\"/logout\">");
        web_form_hidden(out, "csrf", r->session.csrf);
        web_form_submit(out, "Log out", "link");
        web_form_end(out);
        web_buf_str(out, "</div>");
    }
    web_buf_str(out, "</header>\n<main>");
    web_view_html(view, out);
    web_buf_str(out, "</main></body></html>\n");
}

/* ---- responses ------------------------------------------------------------------- */

static void s_security_headers(web_app_t *app, struct MHD_Response *resp, int cache)
{
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                            "base-uri 'none'");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    /* same-origin, not no-referrer: with no-referrer a browser sends
     * "Origin: null" on our own forms, which the origin check refuses. */
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Cache-Control", cache ? "private, max-age=300" : "no-store");
    if (app->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

static enum MHD_Result s_queue(web_req_t *r)
{
    char *data = NULL;
    size_t len = 0;
    const char *type = "text/html; charset=utf-8";
    int status = r->status ? r->status : 500;
    if (r->location[0]) {
        status = 303;
        data = strdup("");
    } else if (r->body) {
        data = r->body;
        len = r->body_len;
        r->body = NULL;
        type = r->content_type;
    } else {
        web_buf_t b;
        web_buf_init(&b, 0);
        if (!r->view) {
            r->view = web_view_new("Internal error");
            if (r->view)
                web_view_note(r->view, "error", "the page produced nothing");
            status = 500;
        }
        if (r->view && web_view_ok(r->view)) {
            if (r->match.api) {
                web_view_json(r->view, &b);
                type = "application/json";
            } else {
                web_render_page(r, r->view, &b);
            }
        }
        data = web_buf_take(&b, &len);
        if (!data) {
            data = strdup("internal error: the page did not fit\n");
            len = data ? strlen(data) : 0;
            type = "text/plain; charset=utf-8";
            status = 500;
        }
    }
    if (!data)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    s_security_headers(r->app, resp, 0);
    MHD_add_response_header(resp, "Content-Type", type);
    if (r->location[0])
        MHD_add_response_header(resp, "Location", r->location);
    if (r->filename[0]) {
        char cd[200];
        snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", r->filename);
        MHD_add_response_header(resp, "Content-Disposition", cd);
    }
    if (r->retry_after[0])
        MHD_add_response_header(resp, "Retry-After", r->retry_after);
    for (int i = 0; i < r->ncookies; i++)
        MHD_add_response_header(resp, "Set-Cookie", r->cookies[i]);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    web_metrics_count_request(r->match.route ? r->match.route->path : "(none)", status);
    return ret;
}

static enum MHD_Result s_plain(web_app_t *app, struct MHD_Connection *conn, unsigned status,
                               const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    s_security_headers(app, resp, 0);
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    web_metrics_count_request("(early)", (int)status);
    return ret;
}

/* ---- the checks before a page ------------------------------------------------------ */

static void s_client_addr(struct MHD_Connection *conn, char out[64])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, 64, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, 64);
}

/* An Origin header, when the browser sends one, must name this host. */
static int s_same_origin(web_req_t *r)
{
    const char *origin = web_header(r, "Origin");
    const char *host = web_header(r, "Host");
    if (!origin)
        return 1;
    if (!host)
        return 0;
    const char *p = strstr(origin, "://");
    return p && strcmp(p + 3, host) == 0;
}

static void s_handle(web_req_t *r, s_conn_t *cc)
{
    web_route_match(web_routes, r->method, r->path, &r->match);
    if (r->match.status != 200) {
        web_fail(r, r->match.status, r->match.status == 405 ? "%s is not allowed here"
                                                            : "there is no page %s",
                 r->match.status == 405 ? r->method : r->path);
        return;
    }
    const web_route_t *route = r->match.route;

    /* The session, if the browser has one. */
    const char *sid = web_cookie(r, "pw_session");
    int expired = 0;
    if (sid) {
        int rc = web_sessions_get(r->app->sessions, sid, clock_mono_ms(), &r->session);
        r->has_session = rc == WEB_SESSION_OK;
        expired = rc == WEB_SESSION_EXPIRED;
    }
    if (route->access != WEB_PUBLIC && !r->has_session) {
        if (r->match.api) {
            web_fail(r, 401, expired ? "the session has expired; log in again"
                                     : "log in first (POST /login)");
            return;
        }
        web_buf_t loc;
        web_buf_init(&loc, 1024);
        web_buf_str(&loc, "/login?");
        if (expired)
            web_buf_str(&loc, "expired=1&");
        web_buf_str(&loc, "next=");
        web_buf_url(&loc, r->path);
        if (expired)
            web_set_cookie(r, "pw_session", "", "/", 0);
        web_redirect(r, web_buf_ok(&loc) && loc.data ? loc.data : "/login");
        web_buf_release(&loc);
        return;
    }
    if (route->access == WEB_FINANCE && r->session.who.role != ROLE_FINANCE) {
        web_fail(r, 403, "this page is for finance staff");
        return;
    }

    /* A POST is a form from one of our pages. */
    if (strcmp(r->method, "POST") == 0) {
        r->is_post = 1;
        const char *type = web_header(r, "Content-Type");
        if (cc->too_big) {
            web_fail(r, 413, "the form is larger than %zu bytes", r->app->max_body);
            return;
        }
        if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0) {
            web_fail(r, 415, "send the form as application/x-www-form-urlencoded");
            return;
        }
        if (web_form_parse(&r->form, cc->body.data ? cc->body.data : "", cc->body.len) != 0) {
            web_fail(r, 400, "the form does not decode");
            return;
        }
        if (!s_same_origin(r)) {
            web_fail(r, 403, "the form did not come from this site");
            return;
        }
        const char *token = web_form_get(&r->form, "csrf");
        int ok;
        if (route->access == WEB_PUBLIC) {
            /* The login form: its token must match the login cookie set
             * with it (a page elsewhere can neither read nor set it). */
            const char *cookie = web_cookie(r, "pw_login");
            ok = token && cookie && strlen(token) == WEB_TOKEN_LEN &&
                 strlen(cookie) == WEB_TOKEN_LEN &&
                 sodium_memcmp(token, cookie, WEB_TOKEN_LEN) == 0;
        } else {
            ok = token && web_csrf_ok(&r->session, token);
        }
        if (!ok) {
            web_fail(r, 403, "the form's CSRF token is missing or wrong; reload the page and "
                             "try again");
            return;
        }
    }
    web_calls_init(&r->calls, &r->app->svc, &r->session.keys);
    r->status = 200;
    route->fn(r);
    if (!r->status)
        r->status = 200;
}

/* ---- libmicrohttpd callbacks --------------------------------------------------------- */

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    web_app_t *app = cls;
    (void)version;
    s_conn_t *cc = *con_cls;
    if (!cc) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
            strcmp(method, "POST") != 0)
            return s_plain(app, conn, 405, "method not allowed\n");
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > app->max_body)
            return s_plain(app, conn, 413, "request body too large\n");
        if (strlen(url) > 512)
            return s_plain(app, conn, 414, "URL too long\n");
        if (!(cc = calloc(1, sizeof *cc)))
            return MHD_NO;
        web_buf_init(&cc->body, app->max_body);
        *con_cls = cc;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!cc->too_big) {
            web_buf_add(&cc->body, upload_data, *upload_data_size);
            if (!web_buf_ok(&cc->body)) {
                cc->too_big = 1;
                web_buf_release(&cc->body);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    web_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    r->app = app;
    r->conn = conn;
    r->method = method;
    r->path = url;
    s_client_addr(conn, r->client_addr);
    s_handle(r, cc);
    enum MHD_Result ret = s_queue(r);
    web_calls_release(&r->calls);
    web_view_destroy(&r->view);
    web_form_release(&r->form);
    free(r->body);
    web_session_wipe(&r->session);
    sodium_memzero(r, sizeof *r);
    free(r);
    return ret;
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_conn_t *cc = *con_cls;
    if (cc) {
        web_buf_release(&cc->body);
        free(cc);
        *con_cls = NULL;
    }
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    log_warn("web.http", "%s", text);
}

static socklen_t s_addr_len(const struct sockaddr *addr)
{
    return addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static uint16_t s_port(const struct sockaddr *addr)
{
    return ntohs(addr->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)addr)->sin6_port
                                             : ((const struct sockaddr_in *)addr)->sin_port);
}

struct MHD_Daemon *web_http_start(web_app_t *app, const struct sockaddr *addr,
                                  const char *cert_pem, const char *key_pem)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG;
    if (addr->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    (void)s_addr_len;
    if (cert_pem && key_pem) {
        flags |= MHD_USE_TLS;
        return MHD_start_daemon(
            flags, s_port(addr), NULL, NULL, s_access, app, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log,
            NULL, MHD_OPTION_SOCK_ADDR, addr,
            MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)128, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)32,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)64 * 1024, MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
            MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
            MHD_OPTION_END);
    }
    return MHD_start_daemon(flags, s_port(addr), NULL, NULL, s_access, app,
                            MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
                            addr, MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)128,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)32,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
                            MHD_OPTION_END);
}

/* ---- /metrics ----------------------------------------------------------------------- */

static enum MHD_Result s_metrics_access(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version,
                                        const char *upload_data, size_t *upload_data_size,
                                        void **con_cls)
{
    web_app_t *app = cls;
    (void)version;
    (void)upload_data;
    if (!*con_cls) {
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return s_plain(app, conn, 405, "method not allowed\n");
    if (strcmp(url, "/metrics") != 0)
        return s_plain(app, conn, 404, "only /metrics here\n");
    if (app->metrics_token[0]) {
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        char want[160];
        snprintf(want, sizeof want, "Bearer %s", app->metrics_token);
        if (!auth || strlen(auth) != strlen(want) ||
            sodium_memcmp(auth, want, strlen(want)) != 0)
            return s_plain(app, conn, 401, "give Authorization: Bearer <metrics token>\n");
    }
    web_buf_t b;
    web_buf_init(&b, 0);
    web_metrics_render(app, &b);
    size_t len = 0;
    char *data = web_buf_take(&b, &len);
    if (!data)
        return s_plain(app, conn, 500, "out of memory\n");
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    s_security_headers(app, resp, 0);
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

struct MHD_Daemon *web_http_start_metrics(web_app_t *app, const struct sockaddr *addr)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG;
    if (addr->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(flags, s_port(addr), NULL, NULL, s_metrics_access, app,
                            MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
                            MHD_OPTION_END);
}
