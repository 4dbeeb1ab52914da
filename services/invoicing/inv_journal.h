/* inv_journal: the invoicing ledger as an hledger journal.
 *
 * Accounting tools must accept it as it is: `hledger check --strict
 * ordereddates` passes (every account and the commodity are declared, the
 * transactions balance and come in date order), and the account types
 * make `hledger bs` and `hledger is` meaningful:
 *
 *   assets:receivables:<employer>      A  what each employer owes
 *   assets:bank                        C  payments received
 *   liabilities:vat:output             L  VAT charged, owed to HMRC
 *   liabilities:customer-credit:<e>    L  credit notes not yet allocated
 *   revenue:contracts:<contract>       R  net charged per contract
 *
 * An invoice debits the employer's receivable with its total and credits
 * revenue per contract and output VAT; a credit note debits them back and
 * credits the employer's customer-credit account; an allocation of that
 * credit to an invoice moves it from customer-credit to the receivable; a
 * payment moves money from the receivable to the bank. So the balance of
 * assets:receivables:<employer> is exactly the sum of the outstanding
 * amounts of its invoices, and liabilities:customer-credit:<employer> its
 * unallocated credit.
 *
 * Transactions are sorted by date, then invoices, credit notes (each with
 * its allocations), payments, each in number order, so that the same store
 * always gives the same text. Pure: no store, no clock; the caller owns the
 * inputs and frees the output with inv_buf_free. */
#ifndef PAY_INV_JOURNAL_H
#define PAY_INV_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "inv_doc.h"
#include "invoicing.pb-c.h"

typedef struct {
    char number[INV_NUMBER_LEN];   /* the invoice paid */
    char employer[40];
    int32_t date;
    int64_t amount;                /* pence, > 0 */
    char reference[130];
} inv_journal_payment_t;

/* Writes the journal of `docs` (stored documents, any order) and `pays`.
 * *n_tx receives the number of transactions. Returns 0 or -1. */
int inv_journal_render(const Pay__StoredDocument *const *docs, size_t n_docs,
                       const inv_journal_payment_t *pays, size_t n_pays, inv_buf_t *out,
                       size_t *n_tx);

#endif
