/* web_route: pay-web's table of pages and the matching of a request's
 * method and path against it.
 *
 * A route is an exact path ("/payroll") or a prefix ending in '/' that
 * takes one more segment as its parameter ("/documents/" matches
 * "/documents/INV-000001", parameter "INV-000001"). A parameter is 1 to
 * WEB_PARAM_LEN - 1 characters of A-Z a-z 0-9 . _ - ; anything else (an
 * empty one, a further '/', %-escapes, "..") matches nothing. A route
 * marked `api` also answers under "/api" with the same path, in JSON.
 * Each route says who may see it: anyone (the login page, static files),
 * any logged-in user, or finance only.
 *
 * Pure: no I/O, no state; the table is a constant array ended by a
 * zeroed entry. */
#ifndef PAY_WEB_ROUTE_H
#define PAY_WEB_ROUTE_H

#include <stddef.h>

#define WEB_PARAM_LEN 65

enum { WEB_M_GET = 1, WEB_M_POST = 2 };

typedef enum {
    WEB_PUBLIC = 0,     /* no session needed */
    WEB_LOGGED_IN,      /* any role pay-web serves */
    WEB_FINANCE,        /* finance only; others get 403 */
} web_access_t;

struct web_req_t;
typedef int (*web_handler_fn)(struct web_req_t *req);

typedef struct {
    const char *path;
    unsigned methods;   /* WEB_M_* bits; HEAD counts as GET */
    web_access_t access;
    int api;            /* also under /api, as JSON */
    web_handler_fn fn;
} web_route_t;

typedef struct {
    const web_route_t *route;   /* NULL unless status is 200 */
    char param[WEB_PARAM_LEN];
    int api;
    int status;                 /* 200, 404 (no such page), 405 (method) */
} web_match_t;

/* Matches `method` ("GET", "HEAD", "POST", ...) and `path` (no query). */
void web_route_match(const web_route_t *table, const char *method, const char *path,
                     web_match_t *m);

/* 1 if `s` is a valid route parameter. */
int web_param_ok(const char *s);

#endif
