/* web_http: pay-web on libmicrohttpd: the listener for the pages (HTTPS,
 * or plain HTTP on loopback in the insecure demo mode), the listener for
 * /metrics, and the checks every request passes before a page runs.
 *
 * For each request, in order: a body over app->max_body is refused (413)
 * before it is read; the route is matched (404, 405); the session cookie
 * is looked up (a page that needs a login sends the browser to /login, an
 * /api call gets 401); a finance page refuses other roles (403); a POST
 * must be a form (415) whose csrf field is the session's token, or for
 * the login form the login cookie's (403), from a page of this site (an
 * Origin header naming another host: 403). Only then does the handler run.
 * Every response carries Content-Security-Policy default-src 'self',
 * X-Frame-Options DENY, X-Content-Type-Options nosniff, Referrer-Policy
 * same-origin and Cache-Control no-store (HSTS too over HTTPS).
 *
 * Requests are served one thread per connection (bounded by the
 * connection limits), since a page waits for the services. */
#ifndef PAY_WEB_HTTP_H
#define PAY_WEB_HTTP_H

#include <sys/socket.h>

#include "web_app.h"

struct MHD_Daemon;

/* Starts the page listener on `addr`. cert_pem and key_pem: the TLS
 * certificate chain and key (PEM text), or both NULL for plain HTTP.
 * Returns NULL on failure (logged). */
struct MHD_Daemon *web_http_start(web_app_t *app, const struct sockaddr *addr,
                                  const char *cert_pem, const char *key_pem);
/* Starts the /metrics listener (plain HTTP) on `addr`. */
struct MHD_Daemon *web_http_start_metrics(web_app_t *app, const struct sockaddr *addr);

#endif
