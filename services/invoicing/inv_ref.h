/* inv_ref: the invoicing service's replica of the contracts the hours
 * service owns.
 *
 * Why this module exists: invoicing owns billing terms, and a terms row
 * names a contract. DOMAIN.md wants UNKNOWN_CONTRACT for a terms row naming
 * a contract that does not exist, and every hours record it bills must name
 * a contract it knows (its prison, employer and activity). No service
 * reads another's store: the contracts come on the hours feed as
 * ContractFacts (the whole contract after each change) and are kept here,
 * in the transaction that moves the feed cursor, exactly once in effect.
 *
 * Database (in the invoicing store): ref_contracts id -> ContractFacts, the
 * packed message as it came on the feed.
 *
 * Every call works in the caller's transaction and returns 0 or an LMDB
 * error; nothing keeps a pointer into LMDB memory. */
#ifndef PAY_INV_REF_H
#define PAY_INV_REF_H

#include <lmdb.h>
#include <stdbool.h>

#include "hours_feed.pb-c.h"
#include "ident.h"
#include "inv_store.h"

#define INV_DB_REF_CONTRACTS "ref_contracts"

/* NULL if the facts are well formed (ident.h, the producer's rules), else
 * a static text saying what is wrong. */
const char *inv_ref_contract_invalid(const Pay__ContractFacts *f);

/* Stores the facts (validated) in place of any earlier copy. */
int inv_ref_put_contract(inv_store_t *store, MDB_txn *txn, const Pay__ContractFacts *f);

typedef struct {
    char employer[IDENT_EMPLOYER_LEN];
    char prison[IDENT_PRISON_LEN];
    char activity[IDENT_TEXT_LEN];
} inv_contract_ref_t;

/* Sets *known, and *out (may be NULL) when known. */
int inv_ref_contract(inv_store_t *store, MDB_txn *txn, const char *id, bool *known,
                     inv_contract_ref_t *out);

#endif
