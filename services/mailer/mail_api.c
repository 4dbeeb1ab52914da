/* mail_api: see mail_api.h. */
#include "mail_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "log.h"

typedef struct {
    mail_delivery_t *items;
    size_t n, cap;
    int has_state;
    mail_state_t state;
    const char *employer;
} s_list_t;

static int s_collect(const mail_delivery_t *d, void *arg)
{
    s_list_t *l = arg;
    if ((l->has_state && d->state != l->state)
        || (l->employer && strcmp(l->employer, d->employer) != 0))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        mail_delivery_t *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown)
            return ENOMEM;
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = *d;
    return 0;
}

static int s_list(mail_api_t *api, server_call_t *call, MDB_txn *txn,
                  const Pay__ListDeliveries *q)
{
    s_list_t l = {0};
    Pay__Delivery *msgs = NULL, **ptrs = NULL;
    int rc;
    server_call_readonly(call);
    if (q && q->state && *q->state) {
        if (mail_state_parse(q->state, &l.state) != 0) {
            server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT,
                                "state: PENDING, SENT or FAILED");
            return 0;
        }
        l.has_state = 1;
    }
    if (q && q->employer && *q->employer) {
        if (!ident_is_employer(q->employer)) {
            server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT,
                                "employer: an employer id (lower case letters, digits, '-')");
            return 0;
        }
        l.employer = q->employer;
    }
    if ((rc = mail_store_each(api->store, txn, s_collect, &l)) != 0)
        goto done;
    msgs = calloc(l.n ? l.n : 1, sizeof *msgs);
    ptrs = calloc(l.n ? l.n : 1, sizeof *ptrs);
    if (!msgs || !ptrs) {
        rc = ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < l.n; i++) {
        mail_delivery_to_msg(&l.items[i], &msgs[i]);
        ptrs[i] = &msgs[i];
    }
    Pay__DeliveryList list = PAY__DELIVERY_LIST__INIT;
    Pay__MailerReply rep = PAY__MAILER_REPLY__INIT;
    list.n_deliveries = l.n;
    list.deliveries = ptrs;
    rep.has_status = 1;
    rep.status = PAY__STATUS__OK;
    rep.message = (char *)"";
    rep.deliveries = &list;
    if (server_reply(call, &rep.base) != 0)
        rc = -1;
done:
    free(ptrs);
    free(msgs);
    free(l.items);
    return rc;
}

/* Every FAILED delivery queued again, in one transaction. */
static int s_resend_failed(mail_api_t *api, server_call_t *call, MDB_txn *txn)
{
    s_list_t l = {0};
    Pay__Delivery *msgs = NULL, **ptrs = NULL;
    mail_resend_t what;
    char text[96];
    l.has_state = 1;
    l.state = MAIL_FAILED;
    int rc = mail_store_each(api->store, txn, s_collect, &l);
    if (rc != 0)
        goto done;
    msgs = calloc(l.n ? l.n : 1, sizeof *msgs);
    ptrs = calloc(l.n ? l.n : 1, sizeof *ptrs);
    if (!msgs || !ptrs) {
        rc = ENOMEM;
        goto done;
    }
    uint64_t now = mail_store_now(api->store);
    for (size_t i = 0; i < l.n; i++) {
        if ((rc = mail_store_resend(api->store, txn, l.items[i].number, NULL, now, &what,
                                    &l.items[i])) != 0)
            goto done;
        mail_delivery_to_msg(&l.items[i], &msgs[i]);
        ptrs[i] = &msgs[i];
    }
    Pay__DeliveryList list = PAY__DELIVERY_LIST__INIT;
    Pay__MailerReply rep = PAY__MAILER_REPLY__INIT;
    list.n_deliveries = l.n;
    list.deliveries = ptrs;
    snprintf(text, sizeof text, "%zu failed deliver%s queued for sending again", l.n,
             l.n == 1 ? "y" : "ies");
    rep.has_status = 1;
    rep.status = PAY__STATUS__OK;
    rep.message = text;
    rep.deliveries = &list;
    log_info("mail.resend", "%s", text);
    if (server_reply(call, &rep.base) != 0)
        rc = -1;
done:
    free(ptrs);
    free(msgs);
    free(l.items);
    return rc;
}

static int s_resend(mail_api_t *api, server_call_t *call, MDB_txn *txn, const Pay__Resend *r)
{
    mail_delivery_t d;
    mail_resend_t what;
    if (r && r->has_all_failed && r->all_failed) {
        if ((r->number && *r->number) || (r->to && *r->to)) {
            server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT,
                                "all_failed: without a number or a recipient");
            return 0;
        }
        return s_resend_failed(api, call, txn);
    }
    if (!r || !r->number || !mail_number_valid(r->number)) {
        server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT,
                            "number: INV-000001 or CRN-000001");
        return 0;
    }
    if (r->to && *r->to && !mail_address_valid(r->to)) {
        server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT,
                            "to: a plain address local@domain");
        return 0;
    }
    int rc = mail_store_resend(api->store, txn, r->number, r->to, mail_store_now(api->store),
                               &what, &d);
    if (rc == MDB_NOTFOUND) {
        server_reply_status(call, PAY__STATUS__NOT_FOUND,
                            "no delivery of %s (not issued, or the feed has not reached "
                            "it yet)", r->number);
        return 0;
    }
    if (rc != 0)
        return rc;
    if (what == MAIL_RESEND_BAD_ADDRESS) {
        server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT,
                            "to: a plain address local@domain");
        return 0;
    }
    Pay__Delivery m;
    Pay__MailerReply rep = PAY__MAILER_REPLY__INIT;
    mail_delivery_to_msg(&d, &m);
    rep.has_status = 1;
    rep.status = PAY__STATUS__OK;
    rep.message = (char *)(what == MAIL_RESEND_HURRIED
                               ? "already queued: it is tried now"
                               : "queued for sending again");
    rep.delivery = &m;
    log_info("mail.resend", "%s queued again for %s (%s)", d.number, d.email,
             what == MAIL_RESEND_HURRIED ? "was pending" : "was sent or failed");
    return server_reply(call, &rep.base) == 0 ? 0 : -1;
}

static int s_health(mail_api_t *api, server_call_t *call, MDB_txn *txn)
{
    mail_counts_t c;
    server_call_readonly(call);
    int rc = mail_store_counts(api->store, txn, &c);
    if (rc != 0)
        return rc;
    Pay__MailerHealthReply h = PAY__MAILER_HEALTH_REPLY__INIT;
    Pay__MailerReply rep = PAY__MAILER_REPLY__INIT;
    h.has_feed_cursor = h.has_pending = h.has_sent = h.has_failed = 1;
    h.has_quarantined = h.has_ignored = 1;
    h.feed_cursor = api->consumer ? feed_consumer_cursor(api->consumer) : 0;
    h.pending = c.pending;
    h.sent = c.sent;
    h.failed = c.failed;
    h.quarantined = c.quarantined;
    h.ignored = c.ignored;
    h.relay = (char *)(api->relay ? api->relay : "");
    h.in_flight = (char *)(api->worker ? mail_worker_current(api->worker) : "");
    rep.has_status = 1;
    rep.status = PAY__STATUS__OK;
    rep.message = (char *)"";
    rep.health = &h;
    return server_reply(call, &rep.base) == 0 ? 0 : -1;
}

int mail_api_handle(void *svc, server_call_t *call, const auth_identity_t *caller,
                    const ProtobufCMessage *request, const char *request_id, MDB_txn *txn)
{
    mail_api_t *api = svc;
    const Pay__MailerRequest *req = (const Pay__MailerRequest *)request;
    auth_role_t role = caller->role;
    (void)request_id;
    switch (req->body_case) {
    case PAY__MAILER_REQUEST__BODY_LIST:
        if (role != ROLE_FINANCE)
            break;
        return s_list(api, call, txn, req->list);
    case PAY__MAILER_REQUEST__BODY_RESEND:
        if (role != ROLE_FINANCE)
            break;
        return s_resend(api, call, txn, req->resend);
    case PAY__MAILER_REQUEST__BODY_HEALTH:
        if (role == ROLE_NONE || role == ROLE_EMPLOYER)
            break;
        return s_health(api, call, txn);
    default:
        server_call_readonly(call);
        server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT, "body: no request body");
        return 0;
    }
    server_call_readonly(call);
    server_reply_status(call, PAY__STATUS__PERMISSION_DENIED, "the %s role may not do this",
                        auth_role_name(role));
    return 0;
}
