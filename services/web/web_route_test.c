/* web_route_test: matching paths, methods, parameters and /api, on a
 * small table and on pay-web's own. */
#include <string.h>

#include "tap.h"
#include "web_app.h"
#include "web_route.h"

static int s_a(struct web_req_t *r) { (void)r; return 1; }
static int s_b(struct web_req_t *r) { (void)r; return 2; }

static const web_route_t s_table[] = {
    {"/", WEB_M_GET, WEB_LOGGED_IN, 1, s_a},
    {"/payroll", WEB_M_GET, WEB_FINANCE, 1, s_a},
    {"/login", WEB_M_GET | WEB_M_POST, WEB_PUBLIC, 0, s_b},
    {"/documents/", WEB_M_GET, WEB_LOGGED_IN, 1, s_b},
    {NULL, 0, 0, 0, NULL},
};

int main(void)
{
    web_match_t m;
    web_route_match(s_table, "GET", "/payroll", &m);
    TAP_OK(m.status == 200 && m.route == &s_table[1] && !m.api, "GET /payroll");
    web_route_match(s_table, "HEAD", "/payroll", &m);
    TAP_EQ_INT(m.status, 200, "HEAD counts as GET");
    web_route_match(s_table, "POST", "/payroll", &m);
    TAP_EQ_INT(m.status, 405, "POST /payroll: 405");
    web_route_match(s_table, "DELETE", "/login", &m);
    TAP_EQ_INT(m.status, 405, "an unknown method: 405");
    web_route_match(s_table, "GET", "/payroll/", &m);
    TAP_EQ_INT(m.status, 404, "a trailing slash is another path");
    web_route_match(s_table, "GET", "/nope", &m);
    TAP_OK(m.status == 404 && m.route == NULL, "unknown path: 404");
    web_route_match(s_table, "GET", "/api/payroll", &m);
    TAP_OK(m.status == 200 && m.route == &s_table[1] && m.api, "/api/payroll is the JSON twin");
    web_route_match(s_table, "GET", "/api", &m);
    TAP_OK(m.status == 200 && m.route == &s_table[0] && m.api, "/api is the root's twin");
    web_route_match(s_table, "GET", "/api/login", &m);
    TAP_EQ_INT(m.status, 404, "a page without a JSON twin is not under /api");
    web_route_match(s_table, "GET", "/documents/INV-000001.pdf", &m);
    TAP_OK(m.status == 200 && strcmp(m.param, "INV-000001.pdf") == 0, "parameter taken");
    const char *bad[] = {"/documents/", "/documents/a/b", "/documents/..", "/documents/%2e",
                         "/documents/a b", "/documents/<x>"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        web_route_match(s_table, "GET", bad[i], &m);
        TAP_EQ_INT(m.status, 404, "bad parameter refused: %s", bad[i]);
    }
    char longp[200] = "/documents/";
    memset(longp + 11, 'a', 100);
    longp[111] = '\0';
    web_route_match(s_table, "GET", longp, &m);
    TAP_EQ_INT(m.status, 404, "a parameter of 100 characters is refused");

    /* pay-web's own table: the finance pages are finance-only; an
     * employer's pages are the documents and the statement. */
    const char *finance[] = {"/dashboard", "/payroll", "/payroll.csv", "/payslip", "/ledger",
                             "/exceptions", "/norm", "/overdue", "/actions/close-week",
                             "/actions/issue", "/actions/payment"};
    for (size_t i = 0; i < sizeof finance / sizeof *finance; i++) {
        web_route_match(web_routes, "GET", finance[i], &m);
        TAP_OK(m.status == 200 && m.route->access == WEB_FINANCE, "%s is finance only",
               finance[i]);
    }
    const char *both[] = {"/invoices", "/invoices.csv", "/documents/INV-000001", "/statement"};
    for (size_t i = 0; i < sizeof both / sizeof *both; i++) {
        web_route_match(web_routes, "GET", both[i], &m);
        TAP_OK(m.status == 200 && m.route->access == WEB_LOGGED_IN, "%s is for any login",
               both[i]);
    }
    web_route_match(web_routes, "POST", "/actions/issue", &m);
    TAP_OK(m.status == 200 && m.route->access == WEB_FINANCE, "POST /actions/issue: finance");
    web_route_match(web_routes, "GET", "/logout", &m);
    TAP_EQ_INT(m.status, 405, "logout is POST only (a link cannot log you out)");
    web_route_match(web_routes, "GET", "/static/style.css", &m);
    TAP_OK(m.status == 200 && m.route->access == WEB_PUBLIC, "static files are public");
    return tap_done();
}
