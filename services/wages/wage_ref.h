/* wage_ref: the wage service's replica of the hours service's reference
 * facts: prisons, prisoners with their custody history, and contracts.
 *
 * Why this module exists: wages owns pay rates, outside wages, deductions
 * and adjustments, and each of those names something the hours service
 * owns. DOMAIN.md wants the owner's refusal codes for them (UNKNOWN_PRISON,
 * UNKNOWN_CONTRACT, UNKNOWN_PRISONER), a governor's scope checked against
 * the contract's REAL prison, and deductions applied at the last prison
 * where the prisoner was in custody that week. No service reads another's
 * store, so the facts come on the hours feed (PrisonFacts, PrisonerFacts,
 * ContractFacts: each the whole entity after a change) and are kept here,
 * in the same transaction as the feed cursor, exactly once in effect.
 *
 * Databases (in the wage store): ref_prisons code -> PrisonFacts,
 * ref_prisoners number -> PrisonerFacts, ref_contracts id -> ContractFacts,
 * each value the packed message as it came on the feed.
 *
 * Every call works in the caller's transaction and returns 0 or an LMDB
 * error; nothing here keeps a pointer into LMDB memory. */
#ifndef PAY_WAGE_REF_H
#define PAY_WAGE_REF_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "hours_feed.pb-c.h"
#include "wage_rules.h"
#include "wage_store.h"

/* Validates a facts event from the feed (identifiers and dates, with
 * ident.h: the same rules as the producer's). Returns NULL if it is well
 * formed, else a static text saying what is wrong. */
const char *wage_ref_prison_invalid(const Pay__PrisonFacts *f);
const char *wage_ref_prisoner_invalid(const Pay__PrisonerFacts *f);
const char *wage_ref_contract_invalid(const Pay__ContractFacts *f);

/* Stores the facts (already validated) in place of any earlier copy. */
int wage_ref_put_prison(wage_store_t *ws, MDB_txn *txn, const Pay__PrisonFacts *f);
int wage_ref_put_prisoner(wage_store_t *ws, MDB_txn *txn, const Pay__PrisonerFacts *f);
int wage_ref_put_contract(wage_store_t *ws, MDB_txn *txn, const Pay__ContractFacts *f);

/* Sets *known. */
int wage_ref_prison_known(wage_store_t *ws, MDB_txn *txn, const char *code, bool *known);
int wage_ref_prisoner_known(wage_store_t *ws, MDB_txn *txn, const char *number, bool *known);

/* What the wage service needs of a contract. */
typedef struct {
    char prison[WAGE_PRISON_LEN];
    Pay__WorkType work_type;
} wage_contract_ref_t;

/* Sets *known, and *out when known. */
int wage_ref_contract(wage_store_t *ws, MDB_txn *txn, const char *id, bool *known,
                      wage_contract_ref_t *out);

/* The last prison where `number` was in custody in the ISO week starting
 * `monday` (wage_custody_last_in_week over the replica's custody history),
 * copied to out; "" if the prisoner is unknown or was in custody on no day
 * of that week. */
int wage_ref_custody_week(wage_store_t *ws, MDB_txn *txn, const char *number, int32_t monday,
                          char out[WAGE_PRISON_LEN]);

#endif
