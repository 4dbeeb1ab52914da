/* web_pages: the page handlers (web_pages.c: dashboard and the wage
 * pages; web_docs.c: invoices, documents, overdue, statements;
 * web_actions.c: close a week, issue, record a payment; web_login.c:
 * login, logout, static files), and what they share: typed calls to each
 * service and small formatting helpers.
 *
 * A handler reads its arguments (web_arg), calls the services with the
 * session's key (web_calls), and answers with a view, a download or an
 * error page (web_app.h). It never decides what a key may see: when a
 * service refuses, the page shows the refusal with its HTTP status. */
#ifndef PAY_WEB_PAGES_H
#define PAY_WEB_PAGES_H

#include "hours.pb-c.h"
#include "invoicing.pb-c.h"
#include "wages.pb-c.h"
#include "web_app.h"

/* Typed calls: the OK reply, or NULL with r->calls holding the failure. */
Pay__HoursReply *web_ask_hours(web_req_t *r, Pay__HoursRequest *q);
Pay__WagesReply *web_ask_wages(web_req_t *r, Pay__WagesRequest *q);
Pay__InvoicingReply *web_ask_invoicing(web_req_t *r, Pay__InvoicingRequest *q);
/* codec_free for any reply; accepts NULL. */
void web_reply_free(void *reply);

/* 1 if the request has already failed (a bad argument): the handler
 * returns at once, keeping the error page. */
int web_failed(const web_req_t *r);

/* The prisons the hours service knows, for a select (NULL-terminated,
 * malloc'd strings and array; free with web_strings_free). NULL on
 * failure, which pages treat as "type the code". */
char **web_prisons(web_req_t *r, size_t *n);
void web_strings_free(char **v);

/* "prison=MDI&week=2026-W46" style query strings (values URL-encoded)
 * into out; pairs are name, value, ..., NULL; NULL or empty values are
 * skipped. */
void web_query(web_buf_t *out, ...);

/* Today (the --today/PAY_TODAY override, else the UK date). */
void web_today(char out[11]);

/* Handlers. */
int web_page_dashboard(web_req_t *r);
int web_page_payroll(web_req_t *r);
int web_page_payroll_csv(web_req_t *r);
int web_page_payslip(web_req_t *r);
int web_page_ledger(web_req_t *r);
int web_page_ledger_csv(web_req_t *r);
int web_page_exceptions(web_req_t *r);
int web_page_norm(web_req_t *r);
int web_page_invoices(web_req_t *r);
int web_page_invoices_csv(web_req_t *r);
int web_page_document(web_req_t *r);
int web_page_overdue(web_req_t *r);
int web_page_statement(web_req_t *r);
int web_page_close_week(web_req_t *r);
int web_page_issue(web_req_t *r);
int web_page_payment(web_req_t *r);
int web_page_login(web_req_t *r);
int web_page_logout(web_req_t *r);
int web_page_static(web_req_t *r);
int web_page_root(web_req_t *r);
int web_page_health(web_req_t *r);

#endif
