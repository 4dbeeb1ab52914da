/* web_app: what pay-web's pages share: the application (configuration,
 * session table, login throttle, key store, service endpoints) and one
 * request as a page handler sees it, with the helpers a page uses to read
 * its arguments, call the services, and answer (a view, a download, a
 * redirect, or an error page).
 *
 * The HTTP layer (web_http.c) fills a web_req_t, checks the route, the
 * session, the role and the CSRF token before any handler runs, and
 * afterwards renders the view as an HTML page (with the navigation for
 * the session's role) or as JSON for /api, with the security headers on
 * every response.
 *
 * Ownership: the app owns its tables; a request owns its view, body,
 * parsed form and service connections, all released by the HTTP layer
 * when the response has been queued. The session copy is wiped then. */
#ifndef PAY_WEB_APP_H
#define PAY_WEB_APP_H

#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

#include "web_buf.h"
#include "web_keystore.h"
#include "web_route.h"
#include "web_session.h"
#include "web_svc.h"
#include "web_throttle.h"
#include "web_view.h"

struct MHD_Connection;

typedef struct {
    web_svc_cfg_t svc;
    web_sessions_t *sessions;
    web_throttle_t *throttle;       /* per login name */
    web_throttle_t *throttle_addr;  /* per client address (more failures allowed) */
    web_keystore_t *keystore;
    char allow_file[1024];
    sem_t unlock_slots;         /* Argon2 runs at once (each takes memlimit bytes) */
    int tls;                    /* serving HTTPS */
    int secure_cookie;          /* cookies carry Secure */
    size_t max_body;            /* largest request body accepted */
    auth_keypair_t metrics_keys;
    int has_metrics_key;
    char metrics_token[128];
} web_app_t;

typedef struct web_req_t {
    web_app_t *app;
    struct MHD_Connection *conn;
    const char *method, *path;
    char client_addr[64];
    web_match_t match;
    int has_session;
    web_session_t session;
    int is_post;
    web_form_t form;
    web_calls_t calls;
    /* the answer */
    int status;
    web_view_t *view;
    char *body;
    size_t body_len;
    char content_type[64];
    char filename[128];         /* a download: Content-Disposition attachment */
    char location[512];         /* a redirect (303) */
    char cookies[2][400];
    int ncookies;
    char retry_after[24];
} web_req_t;

/* The value of argument `name`: a form field of a POST, else the query
 * string's. NULL when absent or empty. A value that is not printable
 * UTF-8 of at most 128 bytes makes the request a 400 (r->status set) and
 * returns NULL. */
const char *web_arg(web_req_t *r, const char *name);

/* Makes the answer an error page (view with the message) with `status`.
 * Returns 0, for `return web_fail(...)`. */
int web_fail(web_req_t *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* web_fail with the last service failure of r->calls. */
int web_fail_calls(web_req_t *r);
/* A new view as the answer (status 200). NULL (and a 500) on no memory. */
web_view_t *web_page(web_req_t *r, const char *title);
/* A 303 redirect to `location` (a path on this site). */
void web_redirect(web_req_t *r, const char *location);
/* A download: takes `data` (malloc'd). */
void web_download(web_req_t *r, const char *content_type, const char *filename, char *data,
                  size_t len);
/* Adds a Set-Cookie header value. */
void web_set_cookie(web_req_t *r, const char *name, const char *value, const char *path,
                    int max_age);
/* The request header `name`, or NULL. */
const char *web_header(web_req_t *r, const char *name);
/* The request cookie `name`, or NULL. */
const char *web_cookie(web_req_t *r, const char *name);

/* The route table (web_pages.c). */
extern const web_route_t web_routes[];

/* Renders the whole HTML page around `view` for the request's session. */
void web_render_page(web_req_t *r, const web_view_t *view, web_buf_t *out);

/* Static files (web_static.c): the body and type of `name` ("style.css",
 * "app.js"), or NULL. */
const char *web_static_file(const char *name, const char **content_type);

/* Metrics (web_metrics.c): counts one answered request. */
void web_metrics_count_request(const char *route, int status);
void web_metrics_count_login(const char *result);
/* The /metrics text: the services' health and statistics (asked with the
 * metrics key, if any) and pay-web's own counters. */
void web_metrics_render(web_app_t *app, web_buf_t *out);

#endif
