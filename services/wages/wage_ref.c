/* wage_ref: see wage_ref.h. */
#include "wage_ref.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "ident.h"

static bool s_date_ok(const char *s, bool optional)
{
    int32_t d;
    if (!s || !*s)
        return optional;
    return civil_parse_date(s, &d) == 0;
}

const char *wage_ref_prison_invalid(const Pay__PrisonFacts *f)
{
    if (!f || !ident_is_prison(f->code))
        return "prison facts without a valid code";
    if (!f->regime || (strcmp(f->regime, "OPEN") != 0 && strcmp(f->regime, "CLOSED") != 0))
        return "prison facts with a regime other than OPEN or CLOSED";
    return NULL;
}

const char *wage_ref_prisoner_invalid(const Pay__PrisonerFacts *f)
{
    if (!f || !ident_is_prisoner(f->number))
        return "prisoner facts without a valid number";
    if (!ident_is_prison(f->prison))
        return "prisoner facts without a valid starting prison";
    if (!s_date_ok(f->released_on, true))
        return "prisoner facts with a release date that is not a date";
    for (size_t i = 0; i < f->n_transfers; i++)
        if (!f->transfers[i] || !ident_is_prison(f->transfers[i]->prison) ||
            !s_date_ok(f->transfers[i]->effective_from, false))
            return "prisoner facts with a malformed transfer";
    return NULL;
}

const char *wage_ref_contract_invalid(const Pay__ContractFacts *f)
{
    if (!f || !ident_is_contract(f->id))
        return "contract facts without a valid id";
    if (!ident_is_employer(f->employer) || !ident_is_prison(f->prison))
        return "contract facts without a valid employer or prison";
    if (!f->has_work_type ||
        (f->work_type != PAY__WORK_TYPE__WORKSHOP && f->work_type != PAY__WORK_TYPE__OUTSIDE))
        return "contract facts without a work type";
    if (!s_date_ok(f->start, false) || !s_date_ok(f->end, true))
        return "contract facts with malformed dates";
    return NULL;
}

int wage_ref_put_prison(wage_store_t *ws, MDB_txn *txn, const Pay__PrisonFacts *f)
{
    return wage_store_put_msg(txn, ws->ref_prisons, f->code, strlen(f->code), &f->base);
}

int wage_ref_put_prisoner(wage_store_t *ws, MDB_txn *txn, const Pay__PrisonerFacts *f)
{
    return wage_store_put_msg(txn, ws->ref_prisoners, f->number, strlen(f->number), &f->base);
}

int wage_ref_put_contract(wage_store_t *ws, MDB_txn *txn, const Pay__ContractFacts *f)
{
    return wage_store_put_msg(txn, ws->ref_contracts, f->id, strlen(f->id), &f->base);
}

static int s_known(MDB_txn *txn, MDB_dbi dbi, const char *key, bool *known)
{
    MDB_val v;
    *known = false;
    if (!key || !*key)
        return 0;
    int rc = store_get(txn, dbi, key, strlen(key), &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc == 0)
        *known = true;
    return rc;
}

int wage_ref_prison_known(wage_store_t *ws, MDB_txn *txn, const char *code, bool *known)
{
    return s_known(txn, ws->ref_prisons, code, known);
}

int wage_ref_prisoner_known(wage_store_t *ws, MDB_txn *txn, const char *number, bool *known)
{
    return s_known(txn, ws->ref_prisoners, number, known);
}

int wage_ref_contract(wage_store_t *ws, MDB_txn *txn, const char *id, bool *known,
                      wage_contract_ref_t *out)
{
    ProtobufCMessage *m = NULL;
    *known = false;
    if (!id || !*id)
        return 0;
    int rc = wage_store_get_msg(txn, ws->ref_contracts, id, strlen(id),
                                &pay__contract_facts__descriptor, &m);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    const Pay__ContractFacts *f = (const Pay__ContractFacts *)m;
    memset(out, 0, sizeof *out);
    if (ident_is_prison(f->prison))
        memcpy(out->prison, f->prison, WAGE_PRISON_LEN);
    out->work_type = f->work_type;
    *known = true;
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

int wage_ref_custody_week(wage_store_t *ws, MDB_txn *txn, const char *number, int32_t monday,
                          char out[WAGE_PRISON_LEN])
{
    ProtobufCMessage *m = NULL;
    out[0] = '\0';
    if (!number || !*number)
        return 0;
    int rc = wage_store_get_msg(txn, ws->ref_prisoners, number, strlen(number),
                                &pay__prisoner_facts__descriptor, &m);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    const Pay__PrisonerFacts *f = (const Pay__PrisonerFacts *)m;
    wage_transfer_t *t = f->n_transfers ? calloc(f->n_transfers, sizeof *t) : NULL;
    if (f->n_transfers && !t) {
        protobuf_c_message_free_unpacked(m, NULL);
        return ENOMEM;
    }
    wage_custody_t c = {"", t, 0, WAGE_NO_DATE};
    if (f->prison && ident_is_prison(f->prison))
        memcpy(c.prison, f->prison, WAGE_PRISON_LEN);
    for (size_t i = 0; i < f->n_transfers; i++) {
        const Pay__CustodyTransfer *x = f->transfers[i];
        if (!x || !ident_is_prison(x->prison) || !x->effective_from ||
            civil_parse_date(x->effective_from, &t[c.n].from) != 0)
            continue;   /* validated on arrival; never here */
        memcpy(t[c.n].prison, x->prison, WAGE_PRISON_LEN);
        c.n++;
    }
    if (f->released_on && *f->released_on)
        civil_parse_date(f->released_on, &c.released_on);
    const char *p = c.prison[0] ? wage_custody_last_in_week(&c, monday) : NULL;
    if (p)
        memcpy(out, p, WAGE_PRISON_LEN);
    free(t);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
