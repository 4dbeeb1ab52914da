/* inv_ref: see inv_ref.h. */
#include "inv_ref.h"

#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "store.h"

static bool s_date_ok(const char *s, bool optional)
{
    int32_t d;
    if (!s || !*s)
        return optional;
    return civil_parse_date(s, &d) == 0;
}

const char *inv_ref_contract_invalid(const Pay__ContractFacts *f)
{
    if (!f || !ident_is_contract(f->id))
        return "contract facts without a valid id";
    if (!ident_is_employer(f->employer) || !ident_is_prison(f->prison))
        return "contract facts without a valid employer or prison";
    if (f->activity && *f->activity && !ident_is_text(f->activity, IDENT_TEXT_CHARS))
        return "contract facts with a malformed activity";
    if (!s_date_ok(f->start, false) || !s_date_ok(f->end, true))
        return "contract facts with malformed dates";
    return NULL;
}

int inv_ref_put_contract(inv_store_t *store, MDB_txn *txn, const Pay__ContractFacts *f)
{
    size_t len = protobuf_c_message_get_packed_size(&f->base);
    MDB_val k = {strlen(f->id), f->id}, v = {len ? len : 1, NULL};
    int rc = mdb_put(txn, inv_store_dbi(store, INV_DB_REF_CONTRACTS), &k, &v, MDB_RESERVE);
    if (rc == 0) {
        if (len)
            protobuf_c_message_pack(&f->base, v.mv_data);
        else
            v.mv_size = 0;
    }
    return rc;
}

int inv_ref_contract(inv_store_t *store, MDB_txn *txn, const char *id, bool *known,
                     inv_contract_ref_t *out)
{
    MDB_val v;
    *known = false;
    if (!id || !*id)
        return 0;
    int rc = store_get(txn, inv_store_dbi(store, INV_DB_REF_CONTRACTS), id, strlen(id), &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    *known = true;
    if (!out)
        return 0;
    Pay__ContractFacts *f = pay__contract_facts__unpack(NULL, v.mv_size, v.mv_data);
    if (!f)
        return MDB_CORRUPTED;
    snprintf(out->employer, sizeof out->employer, "%s", f->employer ? f->employer : "");
    snprintf(out->prison, sizeof out->prison, "%s", f->prison ? f->prison : "");
    snprintf(out->activity, sizeof out->activity, "%s", f->activity ? f->activity : "");
    pay__contract_facts__free_unpacked(f, NULL);
    return 0;
}
