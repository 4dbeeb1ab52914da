/* hrs_invfeed: see hrs_invfeed.h. */
#include "hrs_invfeed.h"

#include "codec.h"
#include "hrs_store.h"
#include "ident.h"
#include "invoice_feed.pb-c.h"

int hrs_invfeed_apply(MDB_txn *txn, uint64_t seq, const uint8_t *payload, size_t len,
                      void *arg, feed_refusal_t *why)
{
    hrs_store_t *store = arg;
    char err[CODEC_ERR_LEN];
    int rc = 0;
    (void)seq;
    if (codec_check_strings(&pay__invoice_event__descriptor, payload, len, err) != 0)
        return feed_refuse(why, NULL, NULL, "undecodable invoice event: %s", err);
    Pay__InvoiceEvent *ev = pay__invoice_event__unpack(NULL, len, payload);
    if (!ev)
        return feed_refuse(why, NULL, NULL, "undecodable invoice event of %zu bytes", len);
    switch (ev->kind_case) {
    case PAY__INVOICE_EVENT__KIND_EMPLOYER:
        if (!ev->employer || !ident_is_employer(ev->employer->id) ||
            (ev->employer->name && !ident_is_text(ev->employer->name, IDENT_TEXT_CHARS)))
            rc = feed_refuse(why, NULL, NULL, "malformed employer facts");
        else
            rc = hrs_store_put_employer(store, txn, ev->employer->id, ev->employer->name);
        break;
    case PAY__INVOICE_EVENT__KIND_INVOICE:
    case PAY__INVOICE_EVENT__KIND_CREDIT_NOTE:
        break;   /* documents: not for this service */
    default:
        rc = feed_refuse(why, NULL, NULL, "an invoice event of a kind this release does not know");
        break;
    }
    pay__invoice_event__free_unpacked(ev, NULL);
    return rc;
}
