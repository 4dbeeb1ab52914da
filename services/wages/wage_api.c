/* wage_api: see wage_api.h. */
#include "backup.h"
#include "wage_api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "clock.h"
#include "feed_quarantine.h"
#include "log.h"
#include "money.h"
#include "wage_apply.h"
#include "wage_journal.h"
#include "wage_ref.h"

/* ---- a per-call arena: every piece of a reply, freed in one go ---------- */

typedef struct s_block {
    struct s_block *next;
    int is_msg;                /* a ProtobufCMessage to free_unpacked */
    void *msg;
    max_align_t data[];
} s_block_t;

typedef struct {
    s_block_t *head;
    int failed;
} s_arena_t;

static void *s_alloc(s_arena_t *a, size_t size)
{
    s_block_t *b = calloc(1, sizeof *b + size);
    if (!b) {
        a->failed = 1;
        return NULL;
    }
    b->next = a->head;
    a->head = b;
    return b->data;
}

static char *s_strdup(s_arena_t *a, const char *s)
{
    size_t n = strlen(s ? s : "");
    char *p = s_alloc(a, n + 1);
    if (p && s)
        memcpy(p, s, n);
    return p;
}

/* Keeps an unpacked message alive until the reply is packed. */
static void *s_keep(s_arena_t *a, ProtobufCMessage *m)
{
    if (!m)
        return NULL;
    s_block_t *b = calloc(1, sizeof *b);
    if (!b) {
        protobuf_c_message_free_unpacked(m, NULL);
        a->failed = 1;
        return NULL;
    }
    b->is_msg = 1;
    b->msg = m;
    b->next = a->head;
    a->head = b;
    return m;
}

static void s_arena_free(s_arena_t *a)
{
    while (a->head) {
        s_block_t *b = a->head;
        a->head = b->next;
        if (b->is_msg)
            protobuf_c_message_free_unpacked(b->msg, NULL);
        free(b);
    }
}

/* ---- the call context ----------------------------------------------------- */

typedef struct {
    wage_api_t *api;
    wage_store_t *ws;
    server_call_t *call;
    const auth_identity_t *caller;
    MDB_txn *txn;
    s_arena_t arena;
    Pay__WagesReply reply;
    Pay__ItemResult **items;
    size_t n_items;
} s_ctx_t;

static int s_is_finance(const s_ctx_t *c) { return c->caller->role == ROLE_FINANCE; }

static int s_is_governor_of(const s_ctx_t *c, const char *prison)
{
    return c->caller->role == ROLE_GOVERNOR && prison && strcmp(c->caller->scope, prison) == 0;
}

static int s_deny(s_ctx_t *c, const char *what)
{
    server_reply_status(c->call, PAY__STATUS__PERMISSION_DENIED, "%s may not %s",
                        auth_role_name(c->caller->role), what);
    return 0;
}

static int s_invalid(s_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_invalid(s_ctx_t *c, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    server_reply_status(c->call, PAY__STATUS__INVALID_ARGUMENT, "%s", msg);
    return 0;
}

static int s_send(s_ctx_t *c)
{
    if (c->arena.failed) {
        server_reply_status(c->call, PAY__STATUS__INTERNAL, "out of memory");
        return ENOMEM;
    }
    c->reply.has_status = 1;
    c->reply.status = PAY__STATUS__OK;
    if (!c->reply.message)
        c->reply.message = "ok";
    c->reply.n_items = c->n_items;
    c->reply.items = c->items;
    return server_reply(c->call, &c->reply.base) == 0 ? 0 : ENOMEM;
}

static void s_items_init(s_ctx_t *c, size_t n)
{
    c->items = s_alloc(&c->arena, (n ? n : 1) * sizeof *c->items);
    c->n_items = 0;
}

static void s_item(s_ctx_t *c, size_t index, Pay__Status status, const char *key,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void s_item(s_ctx_t *c, size_t index, Pay__Status status, const char *key,
                   const char *fmt, ...)
{
    if (!c->items)
        return;
    Pay__ItemResult *r = s_alloc(&c->arena, sizeof *r);
    char msg[256];
    if (!r)
        return;
    pay__item_result__init(r);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->has_index = 1;
    r->index = (uint32_t)index;
    r->has_status = 1;
    r->status = status;
    r->message = s_strdup(&c->arena, msg);
    r->key = s_strdup(&c->arena, key ? key : "");
    c->items[c->n_items++] = r;
}

/* ---- paging ----------------------------------------------------------------- */

#define S_TOKEN_MAX 256

typedef struct {
    uint8_t key[S_TOKEN_MAX];
    size_t klen;               /* 0: from the start */
    int64_t extra;             /* carried state (a running balance) */
    uint32_t size;
} s_page_t;

static int s_hex(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

/* Token: hex(key) [ "." decimal extra ]. Returns 0 or -1 (malformed). */
static int s_page_parse(const Pay__WagesPage *p, uint32_t max, s_page_t *out)
{
    memset(out, 0, sizeof *out);
    out->size = WAGE_PAGE_DEFAULT;
    if (!p)
        return 0;
    if (p->has_size && p->size > 0)
        out->size = p->size > max ? max : p->size;
    const char *t = p->token;
    if (!t || !*t)
        return 0;
    size_t i = 0;
    for (; t[i] && t[i] != '.'; i += 2) {
        int hi = s_hex(t[i]), lo = t[i + 1] ? s_hex(t[i + 1]) : -1;
        if (hi < 0 || lo < 0 || out->klen == S_TOKEN_MAX)
            return -1;
        out->key[out->klen++] = (uint8_t)(hi << 4 | lo);
    }
    if (t[i] == '.') {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(t + i + 1, &end, 10);
        if (errno || end == t + i + 1 || *end)
            return -1;
        out->extra = v;
    }
    return out->klen ? 0 : -1;
}

static char *s_page_token(s_ctx_t *c, const void *key, size_t klen, int with_extra,
                          int64_t extra)
{
    char *t = s_alloc(&c->arena, klen * 2 + 32);
    const uint8_t *k = key;
    if (!t)
        return NULL;
    for (size_t i = 0; i < klen; i++)
        sprintf(t + 2 * i, "%02x", k[i]);
    if (with_extra)
        sprintf(t + 2 * klen, ".%lld", (long long)extra);
    return t;
}

/* Positions `cur` at the first key of the page: strictly after the token's
 * key if there is one, else at `start`. */
static int s_page_seek(MDB_cursor *cur, const s_page_t *pg, const void *start,
                       size_t slen, MDB_val *k, MDB_val *v)
{
    int rc;
    if (pg->klen) {
        k->mv_data = (void *)pg->key;
        k->mv_size = pg->klen;
        rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
        if (rc == 0 && k->mv_size == pg->klen && memcmp(k->mv_data, pg->key, pg->klen) == 0)
            rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
        return rc;
    }
    k->mv_data = (void *)start;
    k->mv_size = slen;
    if (slen == 0)
        return mdb_cursor_get(cur, k, v, MDB_FIRST);
    return mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
}

static int s_has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
    return k->mv_size >= plen && memcmp(k->mv_data, prefix, plen) == 0;
}

/* ---- field checks ------------------------------------------------------------- */

static int s_date(const char *s, int32_t *out)
{
    return s && civil_parse_date(s, out) == 0;
}

static int s_week(const char *s, uint32_t *key, char text[CIVIL_WEEK_LEN])
{
    civil_week_t w;
    if (!s || civil_parse_week(s, &w) != 0)
        return 0;
    *key = civil_week_key(w);
    if (text)
        civil_format_week(w, text);
    return 1;
}

static const char *s_level_name(Pay__IncentiveLevel l)
{
    static const char *const n[] = { "?", "BAS", "ENT", "STD", "ENH", "EN2" };
    return (unsigned)l < 6 ? n[l] : "?";
}

/* ---- set_rates ------------------------------------------------------------------ */

static int s_set_rates(s_ctx_t *c, const Pay__SetRates *b)
{
    if (c->caller->role != ROLE_GOVERNOR)
        return s_deny(c, "set pay rates");
    s_items_init(c, b->n_rates);
    for (size_t i = 0; i < b->n_rates; i++) {
        const Pay__PayRate *r = b->rates[i];
        char key_text[64];
        int32_t eff;
        snprintf(key_text, sizeof key_text, "%.3s/%u/%s/%.10s", r->prison ? r->prison : "",
                 r->pay_band, s_level_name(r->incentive_level),
                 r->effective_from ? r->effective_from : "");
        if (!ident_is_prison(r->prison)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "prison: not a prison code");
            continue;
        }
        bool known = false;
        int krc = wage_ref_prison_known(c->ws, c->txn, r->prison, &known);
        if (krc != 0)
            return krc;
        if (!known) {
            s_item(c, i, PAY__STATUS__UNKNOWN_PRISON, key_text, "prison: %s is not known",
                   r->prison);
            continue;
        }
        if (!s_is_governor_of(c, r->prison)) {
            s_item(c, i, PAY__STATUS__PERMISSION_DENIED, key_text,
                   "a governor sets rates only for their own prison");
            continue;
        }
        if (!r->has_pay_band || r->pay_band < 1 || r->pay_band > 10) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "pay_band: 1 to 10");
            continue;
        }
        if (!r->has_incentive_level || r->incentive_level < PAY__INCENTIVE_LEVEL__BAS
            || r->incentive_level > PAY__INCENTIVE_LEVEL__EN2) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "incentive_level: required");
            continue;
        }
        if (!s_date(r->effective_from, &eff)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text,
                   "effective_from: YYYY-MM-DD");
            continue;
        }
        if (!r->has_basis || !r->has_rate) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "basis and rate: required");
            continue;
        }
        wage_policy_t policy;
        wage_rate_t rate;
        int rc = wage_store_policy_in_force(c->ws, c->txn, r->prison, eff, &policy);
        if (rc != 0)
            return rc;
        wage_rate_from_msg(r, eff, &rate);
        if (r->has_piece_rate_items && r->piece_rate_items > 0 && !r->has_piece_rate) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text,
                   "piece_rate: required with piece_rate_items");
            continue;
        }
        wage_check_t chk = wage_rate_check(&policy, &rate);
        if (chk == WAGE_CHECK_RATE_OUT_OF_BOUNDS) {
            s_item(c, i, PAY__STATUS__RATE_OUT_OF_BOUNDS, key_text,
                   "outside the prison's bounds: session %lld..%lldp, hourly %lld..%lldp, "
                   "piece at most %lldp",
                   (long long)policy.session_min, (long long)policy.session_max,
                   (long long)policy.hourly_min, (long long)policy.hourly_max,
                   (long long)policy.piece_max);
            continue;
        }
        if (chk != WAGE_CHECK_OK) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text,
                   "basis, rate or piece rate malformed");
            continue;
        }
        Pay__PayRate row = *r;
        row.has_piece_rate = rate.piece_items > 0;
        row.piece_rate = rate.piece_pence;
        row.has_piece_rate_items = rate.piece_items > 0;
        row.piece_rate_items = rate.piece_items;
        if ((rc = wage_store_put_rate(c->ws, c->txn, &row, eff)) != 0)
            return rc;
        s_item(c, i, PAY__STATUS__OK, key_text, "stored");
    }
    c->reply.message = "rows answered one by one";
    return s_send(c);
}

static int s_set_policies(s_ctx_t *c, const Pay__SetPolicies *b)
{
    if (c->caller->role != ROLE_GOVERNOR)
        return s_deny(c, "set pay policy");
    s_items_init(c, b->n_policies);
    for (size_t i = 0; i < b->n_policies; i++) {
        const Pay__PayPolicy *p = b->policies[i];
        char key_text[32];
        int32_t eff;
        snprintf(key_text, sizeof key_text, "%.3s/%.10s", p->prison ? p->prison : "",
                 p->effective_from ? p->effective_from : "");
        if (!ident_is_prison(p->prison)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "prison: not a prison code");
            continue;
        }
        bool known = false;
        int krc = wage_ref_prison_known(c->ws, c->txn, p->prison, &known);
        if (krc != 0)
            return krc;
        if (!known) {
            s_item(c, i, PAY__STATUS__UNKNOWN_PRISON, key_text, "prison: %s is not known",
                   p->prison);
            continue;
        }
        if (!s_is_governor_of(c, p->prison)) {
            s_item(c, i, PAY__STATUS__PERMISSION_DENIED, key_text,
                   "a governor sets the policy only of their own prison");
            continue;
        }
        if (!s_date(p->effective_from, &eff)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text,
                   "effective_from: YYYY-MM-DD");
            continue;
        }
        wage_policy_t pol;
        wage_policy_from_msg(p, eff, &pol);
        if (wage_policy_check(&pol) != WAGE_CHECK_OK) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text,
                   "bounds must be >= 0 with min <= max");
            continue;
        }
        Pay__PayPolicy row = PAY__PAY_POLICY__INIT;
        row.prison = p->prison;
        row.has_min_weekly_pay = row.has_session_min = row.has_session_max = 1;
        row.has_hourly_min = row.has_hourly_max = row.has_piece_max = 1;
        row.min_weekly_pay = pol.min_weekly_pay;
        row.session_min = pol.session_min;
        row.session_max = pol.session_max;
        row.hourly_min = pol.hourly_min;
        row.hourly_max = pol.hourly_max;
        row.piece_max = pol.piece_max;
        int rc = wage_store_put_policy(c->ws, c->txn, &row, eff);
        if (rc != 0)
            return rc;
        s_item(c, i, PAY__STATUS__OK, key_text, "stored");
    }
    c->reply.message = "rows answered one by one";
    return s_send(c);
}

static int s_set_outside(s_ctx_t *c, const Pay__SetOutsideWages *b)
{
    if (c->caller->role != ROLE_GOVERNOR)
        return s_deny(c, "set outside wages");
    s_items_init(c, b->n_wages);
    for (size_t i = 0; i < b->n_wages; i++) {
        const Pay__OutsideWage *w = b->wages[i];
        char key_text[48];
        int32_t eff;
        snprintf(key_text, sizeof key_text, "%.24s/%.10s", w->contract ? w->contract : "",
                 w->effective_from ? w->effective_from : "");
        if (!ident_is_contract(w->contract)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "contract: not a contract id");
            continue;
        }
        if (!s_date(w->effective_from, &eff)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text,
                   "effective_from: YYYY-MM-DD");
            continue;
        }
        /* The contract's real prison and work type, from the hours feed:
         * never the prison the client names (its field is ignored). */
        bool known = false;
        wage_contract_ref_t k;
        int krc = wage_ref_contract(c->ws, c->txn, w->contract, &known, &k);
        if (krc != 0)
            return krc;
        if (!known) {
            s_item(c, i, PAY__STATUS__UNKNOWN_CONTRACT, key_text, "contract: %s is not known",
                   w->contract);
            continue;
        }
        if (k.work_type != PAY__WORK_TYPE__OUTSIDE) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text,
                   "contract: %s is not an OUTSIDE contract; its pay is the prison's rates",
                   w->contract);
            continue;
        }
        if (!s_is_governor_of(c, k.prison)) {
            s_item(c, i, PAY__STATUS__PERMISSION_DENIED, key_text,
                   "a governor sets outside wages only for their own prison's contracts "
                   "(%s is at %s)", w->contract, k.prison);
            continue;
        }
        wage_outside_t row = { "", eff, w->has_hourly_wage ? w->hourly_wage : 0 };
        int64_t living = wage_store_living(c->ws, eff);
        wage_check_t chk = wage_outside_check(living, &row);
        if (chk == WAGE_CHECK_BELOW_LIVING_WAGE) {
            s_item(c, i, PAY__STATUS__BELOW_LIVING_WAGE, key_text,
                   "below the National Living Wage of %lldp an hour", (long long)living);
            continue;
        }
        if (chk != WAGE_CHECK_OK) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "hourly_wage: pence > 0");
            continue;
        }
        Pay__OutsideWage row_w = *w;
        row_w.prison = k.prison;
        int rc = wage_store_put_outside(c->ws, c->txn, &row_w, eff);
        if (rc != 0)
            return rc;
        s_item(c, i, PAY__STATUS__OK, key_text, "stored");
    }
    c->reply.message = "rows answered one by one";
    return s_send(c);
}

static int s_set_deductions(s_ctx_t *c, const Pay__SetDeductions *b)
{
    if (!s_is_finance(c))
        return s_deny(c, "record deductions");
    s_items_init(c, b->n_deductions);
    for (size_t i = 0; i < b->n_deductions; i++) {
        const Pay__Deduction *d = b->deductions[i];
        char key_text[48], week_text[CIVIL_WEEK_LEN];
        uint32_t week;
        snprintf(key_text, sizeof key_text, "%.7s/%.8s/%d", d->prisoner ? d->prisoner : "",
                 d->week ? d->week : "", (int)d->kind);
        if (!ident_is_prisoner(d->prisoner)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "prisoner: not a number");
            continue;
        }
        if (!s_week(d->week, &week, week_text)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "week: YYYY-Www");
            continue;
        }
        if (!d->has_kind || d->kind < PAY__DEDUCTION_KIND__INCOME_TAX
            || d->kind > PAY__DEDUCTION_KIND__CHILD_MAINTENANCE) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "kind: required");
            continue;
        }
        if (!d->has_amount || d->amount < 0) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, key_text, "amount: pence >= 0");
            continue;
        }
        bool known = false;
        int krc = wage_ref_prisoner_known(c->ws, c->txn, d->prisoner, &known);
        if (krc != 0)
            return krc;
        if (!known) {
            s_item(c, i, PAY__STATUS__UNKNOWN_PRISONER, key_text, "prisoner: %s is not known",
                   d->prisoner);
            continue;
        }
        /* Deductions are applied when the week closes at the prisoner's last
         * prison: after that they would be stored and never applied. */
        wage_deduction_verdict_t verdict;
        char at[WAGE_PRISON_LEN];
        int rc = wage_apply_deduction_verdict(c->ws, c->txn, d, week, &verdict, at);
        if (rc != 0)
            return rc;
        if (verdict == WAGE_DEDUCTION_CLOSED) {
            s_item(c, i, PAY__STATUS__PAY_WEEK_CLOSED, key_text,
                   "pay week %s of prisoner %s is already closed at %s: a deduction "
                   "recorded now would never be applied; nothing recorded",
                   week_text, d->prisoner, at);
            continue;
        }
        if (verdict == WAGE_DEDUCTION_UNCHANGED) {
            s_item(c, i, PAY__STATUS__OK, key_text,
                   "already recorded and applied when pay week %s closed at %s", week_text, at);
            continue;
        }
        rc = wage_store_put_deduction(c->ws, c->txn, d, week);
        if (rc != 0)
            return rc;
        s_item(c, i, PAY__STATUS__OK, key_text, "stored");
    }
    c->reply.message = "rows answered one by one";
    return s_send(c);
}

static int s_same_adjustment(const Pay__Adjustment *a, const Pay__Adjustment *b)
{
    return strcmp(a->prisoner, b->prisoner) == 0 && strcmp(a->prison, b->prison) == 0
           && strcmp(a->week, b->week) == 0 && a->amount == b->amount
           && strcmp(a->reason ? a->reason : "", b->reason ? b->reason : "") == 0;
}

static int s_post_adjustments(s_ctx_t *c, const Pay__PostAdjustments *b)
{
    if (!s_is_finance(c))
        return s_deny(c, "post pay adjustments");
    s_items_init(c, b->n_adjustments);
    for (size_t i = 0; i < b->n_adjustments; i++) {
        const Pay__Adjustment *a = b->adjustments[i];
        const char *id = a->adjustment_id;
        char week_text[CIVIL_WEEK_LEN];
        uint32_t week;
        civil_week_t w;
        if (!ident_is_record_id(id)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, "", "adjustment_id: 1 to 64 characters");
            continue;
        }
        if (!ident_is_prisoner(a->prisoner)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, id, "prisoner: not a number");
            continue;
        }
        if (!ident_is_prison(a->prison)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, id, "prison: not a prison code");
            continue;
        }
        if (!a->week || civil_parse_week(a->week, &w) != 0) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, id, "week: YYYY-Www");
            continue;
        }
        week = civil_week_key(w);
        civil_format_week(w, week_text);
        if (!a->has_amount || a->amount == 0 || a->amount < -100000000
            || a->amount > 100000000) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, id,
                   "amount: non-zero pence, at most 1,000,000.00 either way");
            continue;
        }
        if (!ident_is_text(a->reason, IDENT_TEXT_CHARS)) {
            s_item(c, i, PAY__STATUS__INVALID_ARGUMENT, id, "reason: 1 to 200 characters");
            continue;
        }
        bool pr_known = false, pn_known = false;
        int krc = wage_ref_prisoner_known(c->ws, c->txn, a->prisoner, &pn_known);
        if (krc == 0)
            krc = wage_ref_prison_known(c->ws, c->txn, a->prison, &pr_known);
        if (krc != 0)
            return krc;
        if (!pn_known) {
            s_item(c, i, PAY__STATUS__UNKNOWN_PRISONER, id, "prisoner: %s is not known",
                   a->prisoner);
            continue;
        }
        if (!pr_known) {
            s_item(c, i, PAY__STATUS__UNKNOWN_PRISON, id, "prison: %s is not known", a->prison);
            continue;
        }
        Pay__Adjustment norm = *a;
        norm.week = week_text;
        ProtobufCMessage *old = NULL;
        int rc = wage_store_get_msg(c->txn, c->ws->adjustments, id, strlen(id),
                                    &pay__adjustment__descriptor, &old);
        if (rc == 0) {
            int same = s_same_adjustment((Pay__Adjustment *)old, &norm);
            protobuf_c_message_free_unpacked(old, NULL);
            if (same)
                s_item(c, i, PAY__STATUS__OK, id, "already posted");
            else
                s_item(c, i, PAY__STATUS__DUPLICATE_CONFLICT, id,
                       "adjustment_id already used for a different adjustment");
            continue;
        }
        if (rc != MDB_NOTFOUND)
            return rc;
        int closed = 0;
        if ((rc = wage_store_week_closed(c->ws, c->txn, a->prison, week, &closed)) != 0)
            return rc;
        if (closed) {
            s_item(c, i, PAY__STATUS__PAY_WEEK_CLOSED, id, "%s %s is closed", a->prison,
                   week_text);
            continue;
        }
        /* The line is dated today, kept inside its week so that statements
         * by date and payslips by week agree. */
        int32_t monday = civil_week_monday(w), date = clock_today();
        if (date < monday)
            date = monday;
        if (date > monday + 6)
            date = monday + 6;
        if ((rc = wage_apply_adjustment(c->ws, c->txn, &norm, date)) != 0)
            return rc;
        if ((rc = wage_store_put_msg(c->txn, c->ws->adjustments, id, strlen(id),
                                     &norm.base)) != 0)
            return rc;
        s_item(c, i, PAY__STATUS__OK, id, "posted");
    }
    c->reply.message = "rows answered one by one";
    return s_send(c);
}

/* ---- queries ---------------------------------------------------------------------- */

static int s_list_rates(s_ctx_t *c, const Pay__ListRates *q)
{
    if (!ident_is_prison(q->prison))
        return s_invalid(c, "prison: not a prison code");
    if (!s_is_finance(c) && !s_is_governor_of(c, q->prison))
        return s_deny(c, "read this prison's rates");
    s_page_t pg;
    if (s_page_parse(q->page, WAGE_PAGE_MAX, &pg) != 0)
        return s_invalid(c, "page.token: malformed");
    Pay__RatesReply *r = s_alloc(&c->arena, sizeof *r);
    if (!r)
        return s_send(c);
    pay__rates_reply__init(r);
    r->rates = s_alloc(&c->arena, pg.size * sizeof *r->rates);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(c->txn, c->ws->rates, &cur);
    if (rc != 0)
        return rc;
    for (rc = s_page_seek(cur, &pg, q->prison, 3, &k, &v);
         rc == 0 && s_has_prefix(&k, q->prison, 3) && r->rates;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (r->n_rates == pg.size) {
            c->reply.next_page = s_page_token(c, pg.key, pg.klen, 0, 0);
            break;
        }
        Pay__PayRate *m = s_keep(&c->arena, (ProtobufCMessage *)pay__pay_rate__unpack(
                                                NULL, v.mv_size, v.mv_data));
        if (m) {
            r->rates[r->n_rates++] = m;
            memcpy(pg.key, k.mv_data, k.mv_size);
            pg.klen = k.mv_size;
        }
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    /* Policies are few (one per change): all of them, unpaged. */
    if ((rc = mdb_cursor_open(c->txn, c->ws->policies, &cur)) != 0)
        return rc;
    size_t cap = 0;
    k.mv_data = q->prison;
    k.mv_size = 3;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && s_has_prefix(&k, q->prison, 3) && r->n_policies < WAGE_PAGE_MAX;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (r->n_policies == cap) {
            cap = cap ? cap * 2 : 16;
            Pay__PayPolicy **p = s_alloc(&c->arena, cap * sizeof *p);
            if (!p)
                break;
            if (r->n_policies)
                memcpy(p, r->policies, r->n_policies * sizeof *p);
            r->policies = p;
        }
        Pay__PayPolicy *m = s_keep(&c->arena, (ProtobufCMessage *)pay__pay_policy__unpack(
                                                  NULL, v.mv_size, v.mv_data));
        if (m)
            r->policies[r->n_policies++] = m;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    c->reply.body_case = PAY__WAGES_REPLY__BODY_RATES;
    c->reply.rates = r;
    return s_send(c);
}

static int64_t s_effect(const MDB_val *v)
{
    return v->mv_size == 8 ? (int64_t)store_be64_get(v->mv_data) : 0;
}

static Pay__LedgerLine *s_ledger_line(s_ctx_t *c, const uint8_t seq_be[8], int *rc)
{
    ProtobufCMessage *m = NULL;
    *rc = wage_store_get_msg(c->txn, c->ws->ledger, seq_be, 8, &pay__ledger_line__descriptor,
                             &m);
    if (*rc != 0)
        return NULL;
    return s_keep(&c->arena, m);
}

static int s_prisoner_ledger(s_ctx_t *c, const Pay__PrisonerLedgerQuery *q)
{
    if (!s_is_finance(c))
        return s_deny(c, "read wage ledgers");
    int32_t from = INT32_MIN + 1, to = INT32_MAX - 1;
    if (!ident_is_prisoner(q->prisoner))
        return s_invalid(c, "prisoner: not a prisoner number");
    if (q->from && *q->from && !s_date(q->from, &from))
        return s_invalid(c, "from: YYYY-MM-DD");
    if (q->to && *q->to && !s_date(q->to, &to))
        return s_invalid(c, "to: YYYY-MM-DD");
    s_page_t pg;
    if (s_page_parse(q->page, WAGE_PAGE_MAX, &pg) != 0
        || (pg.klen && (pg.klen != WAGE_BYP_KEY_LEN || memcmp(pg.key, q->prisoner, 7) != 0)))
        return s_invalid(c, "page.token: malformed");
    Pay__PrisonerLedgerReply *r = s_alloc(&c->arena, sizeof *r);
    if (!r)
        return s_send(c);
    pay__prisoner_ledger_reply__init(r);
    r->prisoner = q->prisoner;
    r->lines = s_alloc(&c->arena, pg.size * sizeof *r->lines);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(c->txn, c->ws->by_prisoner, &cur);
    if (rc != 0)
        return rc;
    uint8_t start[WAGE_BYP_KEY_LEN];
    int64_t balance = 0;
    if (!pg.klen) {
        /* The opening balance: every line of the prisoner before `from`. */
        wage_key_byp(q->prisoner, INT32_MIN, 0, start);
        k.mv_data = start;
        k.mv_size = 7;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
             rc == 0 && s_has_prefix(&k, q->prisoner, 7)
             && wage_key_undate(store_be32_get((uint8_t *)k.mv_data + 7)) < from;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            balance += s_effect(&v);
        if (rc != 0 && rc != MDB_NOTFOUND)
            goto done;
    } else {
        balance = pg.extra;
    }
    r->has_opening_balance = 1;
    r->opening_balance = balance;
    wage_text_t csv = { 0 };
    if (q->csv && !pg.klen)
        wage_text_printf(&csv, WAGE_LEDGER_CSV_HEADER);
    wage_key_byp(q->prisoner, from, 0, start);
    for (rc = s_page_seek(cur, &pg, start, sizeof start, &k, &v);
         rc == 0 && s_has_prefix(&k, q->prisoner, 7) && r->lines;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        if (k.mv_size != WAGE_BYP_KEY_LEN || wage_key_undate(store_be32_get(kb + 7)) > to)
            break;
        if (r->n_lines == pg.size) {
            c->reply.next_page = s_page_token(c, pg.key, pg.klen, 1, balance);
            break;
        }
        Pay__LedgerLine *l = s_ledger_line(c, kb + 11, &rc);
        if (!l)
            break;
        balance += s_effect(&v);
        l->has_balance = 1;
        l->balance = balance;
        r->lines[r->n_lines++] = l;
        if (q->csv)
            wage_csv_ledger_row(&csv, l);
        memcpy(pg.key, kb, WAGE_BYP_KEY_LEN);
        pg.klen = WAGE_BYP_KEY_LEN;
    }
    if (q->csv) {
        r->csv = s_strdup(&c->arena, csv.data ? csv.data : "");
        if (csv.failed)
            c->arena.failed = 1;
        wage_text_free(&csv);
    }
done:
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    c->reply.body_case = PAY__WAGES_REPLY__BODY_PRISONER_LEDGER;
    c->reply.prisoner_ledger = r;
    return s_send(c);
}

static int s_agg_visible(const Pay__WeekAggregate *a)
{
    return a->sessions > 0 || a->has_adjustments || a->closed;
}

static void s_row_from_agg(const Pay__WeekAggregate *a, Pay__PayrollRow *row)
{
    row->has_sessions = row->has_minutes = row->has_gross = row->has_top_up = 1;
    row->has_deductions = row->has_levy = row->has_net = 1;
    row->sessions = a->sessions;
    row->minutes = a->minutes;
    if (a->closed) {
        row->gross = a->gross;
        row->top_up = a->top_up;
        row->deductions = a->deductions;
        row->levy = a->levy;
        row->net = a->net;
    } else {
        /* Open week: what has been priced so far; the close adds the rest. */
        row->gross = a->workshop_pay + a->outside_pay + a->adjustments;
        row->net = row->gross;
    }
}

static int s_payroll(s_ctx_t *c, const Pay__PayrollQuery *q)
{
    if (!s_is_finance(c))
        return s_deny(c, "read payrolls");
    uint32_t week;
    char week_text[CIVIL_WEEK_LEN];
    if (!ident_is_prison(q->prison))
        return s_invalid(c, "prison: not a prison code");
    if (!s_week(q->week, &week, week_text))
        return s_invalid(c, "week: YYYY-Www");
    s_page_t pg;
    uint8_t prefix[WAGE_PW_KEY_LEN];
    wage_key_pw(q->prison, week, prefix);
    if (s_page_parse(q->page, WAGE_PAGE_MAX, &pg) != 0
        || (pg.klen && (pg.klen != WAGE_WEEK_KEY_LEN || memcmp(pg.key, prefix, 7) != 0)))
        return s_invalid(c, "page.token: malformed");
    Pay__PayrollReply *r = s_alloc(&c->arena, sizeof *r);
    Pay__PayrollRow *tot = s_alloc(&c->arena, sizeof *tot);
    if (!r || !tot)
        return s_send(c);
    pay__payroll_reply__init(r);
    pay__payroll_row__init(tot);
    r->prison = q->prison;
    r->week = s_strdup(&c->arena, week_text);
    r->rows = s_alloc(&c->arena, pg.size * sizeof *r->rows);
    Pay__PayrollRow *rows = s_alloc(&c->arena, pg.size * sizeof *rows);
    if (!r->rows || !rows)
        return s_send(c);
    int closed = 0;
    int rc = wage_store_week_closed(c->ws, c->txn, q->prison, week, &closed);
    if (rc != 0)
        return rc;
    r->has_closed = 1;
    r->closed = closed;
    wage_text_t csv = { 0 };
    if (q->csv && !pg.klen)
        wage_text_printf(&csv, WAGE_PAYROLL_CSV_HEADER);

    /* One pass over the whole week: the totals cover every prisoner, and
     * the page takes the rows after the token. */
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    if ((rc = mdb_cursor_open(c->txn, c->ws->weeks, &cur)) != 0)
        return rc;
    uint8_t last[WAGE_WEEK_KEY_LEN];
    int more = 0;
    k.mv_data = prefix;
    k.mv_size = sizeof prefix;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && s_has_prefix(&k, prefix, sizeof prefix);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Pay__WeekAggregate *a = pay__week_aggregate__unpack(NULL, v.mv_size, v.mv_data);
        if (!a) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (s_agg_visible(a)) {
            Pay__PayrollRow row = PAY__PAYROLL_ROW__INIT;
            s_row_from_agg(a, &row);
            r->prisoners++;
            tot->sessions += row.sessions;
            tot->minutes += row.minutes;
            tot->gross += row.gross;
            tot->top_up += row.top_up;
            tot->deductions += row.deductions;
            tot->levy += row.levy;
            tot->net += row.net;
            int after = !pg.klen || (k.mv_size == pg.klen
                                     && memcmp(k.mv_data, pg.key, pg.klen) > 0);
            if (after && r->n_rows < pg.size) {
                Pay__PayrollRow *dst = &rows[r->n_rows];
                *dst = row;
                dst->prisoner = s_strdup(&c->arena, a->prisoner);
                r->rows[r->n_rows++] = dst;
                memcpy(last, k.mv_data, sizeof last);
                if (q->csv)
                    wage_csv_payroll_row(&csv, q->prison, week_text, dst);
            } else if (after) {
                more = 1;
            }
        }
        pay__week_aggregate__free_unpacked(a, NULL);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        wage_text_free(&csv);
        return rc;
    }
    tot->has_sessions = tot->has_minutes = tot->has_gross = tot->has_top_up = 1;
    tot->has_deductions = tot->has_levy = tot->has_net = 1;
    tot->prisoner = "TOTAL";
    r->totals = tot;
    r->has_prisoners = 1;
    if (more)
        c->reply.next_page = s_page_token(c, last, sizeof last, 0, 0);
    if (q->csv) {
        r->csv = s_strdup(&c->arena, csv.data ? csv.data : "");
        if (csv.failed)
            c->arena.failed = 1;
        wage_text_free(&csv);
    }
    c->reply.body_case = PAY__WAGES_REPLY__BODY_PAYROLL;
    c->reply.payroll = r;
    return s_send(c);
}

static int s_payslip(s_ctx_t *c, const Pay__PayslipQuery *q)
{
    if (!s_is_finance(c))
        return s_deny(c, "read payslips");
    uint32_t week;
    char week_text[CIVIL_WEEK_LEN];
    civil_week_t w;
    if (!ident_is_prison(q->prison))
        return s_invalid(c, "prison: not a prison code");
    if (!s_week(q->week, &week, week_text))
        return s_invalid(c, "week: YYYY-Www");
    if (!ident_is_prisoner(q->prisoner))
        return s_invalid(c, "prisoner: not a prisoner number");
    civil_parse_week(week_text, &w);
    int32_t monday = civil_week_monday(w);
    s_page_t pg;
    if (s_page_parse(q->page, WAGE_PAGE_MAX, &pg) != 0
        || (pg.klen && (pg.klen != WAGE_BYP_KEY_LEN || memcmp(pg.key, q->prisoner, 7) != 0)))
        return s_invalid(c, "page.token: malformed");
    uint8_t key[WAGE_WEEK_KEY_LEN];
    wage_key_week(q->prison, week, q->prisoner, key);
    ProtobufCMessage *m = NULL;
    int rc = wage_store_get_msg(c->txn, c->ws->weeks, key, sizeof key,
                                &pay__week_aggregate__descriptor, &m);
    if (rc == MDB_NOTFOUND) {
        server_reply_status(c->call, PAY__STATUS__NOT_FOUND, "no payslip for %s at %s in %s",
                            q->prisoner, q->prison, week_text);
        return 0;
    }
    if (rc != 0)
        return rc;
    Pay__PayslipReply *r = s_alloc(&c->arena, sizeof *r);
    if (!r) {
        protobuf_c_message_free_unpacked(m, NULL);
        return s_send(c);
    }
    pay__payslip_reply__init(r);
    r->payslip = s_keep(&c->arena, m);
    r->lines = s_alloc(&c->arena, pg.size * sizeof *r->lines);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    if ((rc = mdb_cursor_open(c->txn, c->ws->by_prisoner, &cur)) != 0)
        return rc;
    uint8_t start[WAGE_BYP_KEY_LEN];
    wage_key_byp(q->prisoner, monday, 0, start);
    for (rc = s_page_seek(cur, &pg, start, sizeof start, &k, &v);
         rc == 0 && s_has_prefix(&k, q->prisoner, 7) && r->lines;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        if (k.mv_size != WAGE_BYP_KEY_LEN || wage_key_undate(store_be32_get(kb + 7)) > monday + 6)
            break;
        Pay__LedgerLine *l = s_ledger_line(c, kb + 11, &rc);
        if (!l)
            break;
        if (!l->prison || strcmp(l->prison, q->prison) != 0 || !l->week
            || strcmp(l->week, week_text) != 0)
            continue;
        if (r->n_lines == pg.size) {
            c->reply.next_page = s_page_token(c, pg.key, pg.klen, 0, 0);
            break;
        }
        r->lines[r->n_lines++] = l;
        memcpy(pg.key, kb, WAGE_BYP_KEY_LEN);
        pg.klen = WAGE_BYP_KEY_LEN;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    c->reply.body_case = PAY__WAGES_REPLY__BODY_PAYSLIP;
    c->reply.payslip = r;
    return s_send(c);
}

static int s_exceptions(s_ctx_t *c, const Pay__ExceptionsQuery *q)
{
    if (!s_is_finance(c))
        return s_deny(c, "read exceptions");
    uint8_t prefix[WAGE_PW_KEY_LEN];
    size_t plen = 3;
    if (!ident_is_prison(q->prison))
        return s_invalid(c, "prison: not a prison code");
    memcpy(prefix, q->prison, 3);
    if (q->week && *q->week) {
        uint32_t week;
        if (!s_week(q->week, &week, NULL))
            return s_invalid(c, "week: YYYY-Www");
        wage_key_pw(q->prison, week, prefix);
        plen = WAGE_PW_KEY_LEN;
    }
    s_page_t pg;
    if (s_page_parse(q->page, WAGE_PAGE_MAX, &pg) != 0
        || (pg.klen && (pg.klen < plen || memcmp(pg.key, prefix, plen) != 0)))
        return s_invalid(c, "page.token: malformed");
    Pay__ExceptionsReply *r = s_alloc(&c->arena, sizeof *r);
    if (!r)
        return s_send(c);
    pay__exceptions_reply__init(r);
    r->exceptions = s_alloc(&c->arena, pg.size * sizeof *r->exceptions);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(c->txn, c->ws->exceptions, &cur);
    if (rc != 0)
        return rc;
    for (rc = s_page_seek(cur, &pg, prefix, plen, &k, &v);
         rc == 0 && s_has_prefix(&k, prefix, plen) && r->exceptions;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Pay__WageException *e = pay__wage_exception__unpack(NULL, v.mv_size, v.mv_data);
        if (!e) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (q->kind && *q->kind && (!e->kind || strcmp(e->kind, q->kind) != 0)) {
            pay__wage_exception__free_unpacked(e, NULL);
            continue;
        }
        if (r->n_exceptions == pg.size) {
            pay__wage_exception__free_unpacked(e, NULL);
            c->reply.next_page = s_page_token(c, pg.key, pg.klen, 0, 0);
            break;
        }
        r->exceptions[r->n_exceptions++] = s_keep(&c->arena, &e->base);
        if (k.mv_size <= S_TOKEN_MAX) {
            memcpy(pg.key, k.mv_data, k.mv_size);
            pg.klen = k.mv_size;
        }
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    c->reply.body_case = PAY__WAGES_REPLY__BODY_EXCEPTIONS;
    c->reply.exceptions = r;
    return s_send(c);
}

static int s_hours_norm(s_ctx_t *c, const Pay__HoursNormQuery *q)
{
    if (!s_is_finance(c))
        return s_deny(c, "read the hours norm");
    uint32_t week;
    char week_text[CIVIL_WEEK_LEN];
    if (!ident_is_prison(q->prison))
        return s_invalid(c, "prison: not a prison code");
    if (!s_week(q->week, &week, week_text))
        return s_invalid(c, "week: YYYY-Www");
    uint8_t prefix[WAGE_PW_KEY_LEN];
    wage_key_pw(q->prison, week, prefix);
    MDB_cursor *cur = NULL;
    MDB_val k = { sizeof prefix, prefix }, v;
    int rc = mdb_cursor_open(c->txn, c->ws->weeks, &cur);
    if (rc != 0)
        return rc;
    uint32_t working = 0, at40 = 0;
    int64_t total = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && s_has_prefix(&k, prefix, sizeof prefix);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Pay__WeekAggregate *a = pay__week_aggregate__unpack(NULL, v.mv_size, v.mv_data);
        if (!a) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (a->sessions > 0) {
            working++;
            total += a->minutes;
            if (a->minutes >= 2400)
                at40++;
        }
        pay__week_aggregate__free_unpacked(a, NULL);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    Pay__HoursNormReply *r = s_alloc(&c->arena, sizeof *r);
    char avg[32] = "0.00";
    if (!r)
        return s_send(c);
    pay__hours_norm_reply__init(r);
    if (working > 0) {
        int64_t hundredths = round_half_up(total * 100, (int64_t)working * 60);
        snprintf(avg, sizeof avg, "%lld.%02lld", (long long)(hundredths / 100),
                 (long long)(hundredths % 100));
        r->share_bp = (uint32_t)round_half_up((int64_t)at40 * 10000, working);
    }
    r->prison = q->prison;
    r->week = s_strdup(&c->arena, week_text);
    r->has_working_prisoners = r->has_total_minutes = r->has_at_40_hours = r->has_share_bp = 1;
    r->working_prisoners = working;
    r->total_minutes = total;
    r->average_hours = s_strdup(&c->arena, avg);
    r->at_40_hours = at40;
    c->reply.body_case = PAY__WAGES_REPLY__BODY_HOURS_NORM;
    c->reply.hours_norm = r;
    return s_send(c);
}

static int s_balances(s_ctx_t *c, const Pay__BalancesQuery *q)
{
    if (!s_is_finance(c))
        return s_deny(c, "read balances");
    const char *prefix = q->prefix ? q->prefix : "";
    size_t plen = strlen(prefix);
    if (plen > 64)
        return s_invalid(c, "prefix: at most 64 characters");
    s_page_t pg;
    if (s_page_parse(q->page, WAGE_PAGE_MAX, &pg) != 0)
        return s_invalid(c, "page.token: malformed");
    Pay__BalancesReply *r = s_alloc(&c->arena, sizeof *r);
    Pay__AccountBalance *bal = s_alloc(&c->arena, pg.size * sizeof *bal);
    if (!r || !bal)
        return s_send(c);
    pay__balances_reply__init(r);
    r->balances = s_alloc(&c->arena, pg.size * sizeof *r->balances);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    /* The balances are a projection of the ledger: bring it up to date. */
    int rc = wage_store_fold_balances(c->ws, c->txn, NULL);
    if (rc != 0)
        return rc;
    if ((rc = mdb_cursor_open(c->txn, c->ws->balances, &cur)) != 0)
        return rc;
    for (rc = s_page_seek(cur, &pg, prefix, plen, &k, &v);
         rc == 0 && s_has_prefix(&k, prefix, plen) && r->balances;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size == 0 || ((const char *)k.mv_data)[0] == '\0')
            continue;   /* the watermark, not an account */
        if (r->n_balances == pg.size) {
            c->reply.next_page = s_page_token(c, pg.key, pg.klen, 0, 0);
            break;
        }
        Pay__AccountBalance *b = &bal[r->n_balances];
        pay__account_balance__init(b);
        b->account = s_alloc(&c->arena, k.mv_size + 1);
        if (!b->account)
            break;
        memcpy(b->account, k.mv_data, k.mv_size);
        b->has_balance = 1;
        b->balance = s_effect(&v);
        r->total += b->balance;
        r->balances[r->n_balances++] = b;
        if (k.mv_size <= S_TOKEN_MAX) {
            memcpy(pg.key, k.mv_data, k.mv_size);
            pg.klen = k.mv_size;
        }
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    r->has_total = 1;
    c->reply.body_case = PAY__WAGES_REPLY__BODY_BALANCES;
    c->reply.balances = r;
    return s_send(c);
}

typedef struct {
    Pay__ReconciliationReply *r;
    uint32_t unplaced;
} s_quarantined_t;

static int s_count_quarantined(const Pay__QuarantinedEvent *ev, void *arg)
{
    s_quarantined_t *q = arg;
    if (!ev->prison || !*ev->prison || !ev->week || !*ev->week) {
        q->unplaced++;
        return 0;
    }
    for (size_t i = 0; i < q->r->n_rows; i++)
        if (strcmp(q->r->rows[i]->prison, ev->prison) == 0 &&
            strcmp(q->r->rows[i]->week, ev->week) == 0)
            q->r->rows[i]->quarantined++;
    return 0;
}

static int s_reconciliation(s_ctx_t *c, const Pay__ReconciliationQuery *q)
{
    if (!s_is_finance(c))
        return s_deny(c, "read reconciliation totals");
    uint8_t prefix[WAGE_PW_KEY_LEN];
    size_t plen = 0;
    uint32_t want_week = 0;
    if (q->prison && *q->prison) {
        if (!ident_is_prison(q->prison))
            return s_invalid(c, "prison: not a prison code");
        memcpy(prefix, q->prison, 3);
        plen = 3;
    }
    if (q->week && *q->week) {
        if (!s_week(q->week, &want_week, NULL))
            return s_invalid(c, "week: YYYY-Www");
        if (plen == 3) {
            wage_key_pw(q->prison, want_week, prefix);
            plen = WAGE_PW_KEY_LEN;
        }
    }
    s_page_t pg;
    if (s_page_parse(q->page, WAGE_PAGE_MAX, &pg) != 0
        || (pg.klen && pg.klen != WAGE_PW_KEY_LEN))
        return s_invalid(c, "page.token: malformed");
    Pay__ReconciliationReply *r = s_alloc(&c->arena, sizeof *r);
    Pay__ReconciliationRow *rows = s_alloc(&c->arena, pg.size * sizeof *rows);
    if (!r || !rows)
        return s_send(c);
    pay__reconciliation_reply__init(r);
    r->rows = s_alloc(&c->arena, pg.size * sizeof *r->rows);
    if (!r->rows)
        return s_send(c);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(c->txn, c->ws->weeks, &cur);
    if (rc != 0)
        return rc;
    /* A token names the last group returned; skip past all of it. */
    uint8_t seek[WAGE_PW_KEY_LEN + 1];
    if (pg.klen) {
        memcpy(seek, pg.key, WAGE_PW_KEY_LEN);
        seek[WAGE_PW_KEY_LEN] = 0xff;
        k.mv_data = seek;
        k.mv_size = sizeof seek;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else {
        k.mv_data = prefix;
        k.mv_size = plen;
        rc = plen ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                  : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    Pay__ReconciliationRow *row = NULL;
    uint8_t group[WAGE_PW_KEY_LEN];
    for (; rc == 0 && s_has_prefix(&k, prefix, plen); rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != WAGE_WEEK_KEY_LEN)
            continue;
        const uint8_t *kb = k.mv_data;
        if (want_week && store_be32_get(kb + 3) != want_week)
            continue;
        if (!row || memcmp(group, kb, WAGE_PW_KEY_LEN) != 0) {
            if (r->n_rows == pg.size) {
                c->reply.next_page = s_page_token(c, group, sizeof group, 0, 0);
                break;
            }
            memcpy(group, kb, WAGE_PW_KEY_LEN);
            row = &rows[r->n_rows];
            pay__reconciliation_row__init(row);
            char p[4], wt[CIVIL_WEEK_LEN];
            memcpy(p, kb, 3);
            p[3] = '\0';
            civil_format_week(civil_week_from_key(store_be32_get(kb + 3)), wt);
            row->prison = s_strdup(&c->arena, p);
            row->week = s_strdup(&c->arena, wt);
            row->has_records = row->has_minutes_priced = row->has_billable_minutes = 1;
            r->rows[r->n_rows++] = row;
        }
        Pay__WeekAggregate *a = pay__week_aggregate__unpack(NULL, v.mv_size, v.mv_data);
        if (!a) {
            rc = MDB_CORRUPTED;
            break;
        }
        row->records += a->sessions;
        row->minutes_priced += a->minutes;
        row->billable_minutes += a->billable_minutes;
        pay__week_aggregate__free_unpacked(a, NULL);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    for (size_t i = 0; i < r->n_rows; i++) {
        Pay__ReconciliationRow *x = r->rows[i];
        uint32_t wk = 0;
        s_week(x->week, &wk, NULL);
        uint8_t key[WAGE_PW_KEY_LEN];
        wage_key_pw(x->prison, wk, key);
        ProtobufCMessage *m = NULL;
        rc = wage_store_get_msg(c->txn, c->ws->prison_weeks, key, sizeof key,
                                &pay__prison_week__descriptor, &m);
        x->status = "OPEN";
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc != 0)
            return rc;
        Pay__PrisonWeek *pw = (Pay__PrisonWeek *)m;
        x->has_closed = 1;
        x->closed = pw->closed;
        if (pw->captured_known) {
            x->has_minutes_captured = 1;
            x->minutes_captured = (int64_t)pw->minutes_captured;
            x->status = x->minutes_captured == x->minutes_priced ? "OK" : "MISMATCH";
        } else {
            x->status = pw->closed ? "CLOSED" : "OPEN";
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
    /* An event that could not be applied leaves its prison-week
     * unreconciled; one naming no prison-week leaves every row so. */
    s_quarantined_t qt = {r, 0};
    if ((rc = feed_quarantine_each(c->txn, c->ws->store, WAGE_CURSOR_FEED, s_count_quarantined,
                                   &qt)) != 0)
        return rc;
    for (size_t i = 0; i < r->n_rows; i++)
        if (r->rows[i]->quarantined > 0 || qt.unplaced > 0) {
            r->rows[i]->has_quarantined = 1;
            r->rows[i]->quarantined += qt.unplaced;
            r->rows[i]->status = "MISMATCH";
        }
    c->reply.body_case = PAY__WAGES_REPLY__BODY_RECONCILIATION;
    c->reply.reconciliation = r;
    return s_send(c);
}

static int s_journal(s_ctx_t *c, const Pay__JournalQuery *q)
{
    if (!s_is_finance(c))
        return s_deny(c, "export the ledger");
    s_page_t pg;
    if (s_page_parse(q->page, WAGE_PAGE_MAX, &pg) != 0 || (pg.klen && pg.klen != 8))
        return s_invalid(c, "page.token: malformed");
    wage_text_t text = { 0 };
    if (!pg.klen)
        wage_journal_header(&text);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(c->txn, c->ws->ledger, &cur);
    if (rc != 0)
        return rc;
    uint64_t n = 0;
    for (rc = s_page_seek(cur, &pg, NULL, 0, &k, &v); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (n == pg.size) {
            c->reply.next_page = s_page_token(c, pg.key, pg.klen, 0, 0);
            break;
        }
        Pay__LedgerLine *l = pay__ledger_line__unpack(NULL, v.mv_size, v.mv_data);
        if (!l) {
            rc = MDB_CORRUPTED;
            break;
        }
        wage_journal_line(&text, l);
        pay__ledger_line__free_unpacked(l, NULL);
        n++;
        memcpy(pg.key, k.mv_data, 8);
        pg.klen = 8;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        wage_text_free(&text);
        return rc;
    }
    Pay__JournalReply *r = s_alloc(&c->arena, sizeof *r);
    if (r) {
        pay__journal_reply__init(r);
        r->text = s_strdup(&c->arena, text.data ? text.data : "");
        r->has_lines = 1;
        r->lines = n;
    }
    if (text.failed)
        c->arena.failed = 1;
    wage_text_free(&text);
    c->reply.body_case = PAY__WAGES_REPLY__BODY_JOURNAL;
    c->reply.journal = r;
    return s_send(c);
}

/* Open to every key but an employer's (wage_api_handle refuses those), as
 * in the hours service: counters only, no prisoner, rate or wage. */
static int s_health(s_ctx_t *c)
{
    Pay__WagesHealthReply *r = s_alloc(&c->arena, sizeof *r);
    if (!r)
        return s_send(c);
    pay__wages_health_reply__init(r);
    uint64_t head = 0, cursor = 0;
    int rc = wage_store_ledger_head(c->ws, c->txn, &head);
    if (rc != 0)
        return rc;
    if ((rc = feed_cursor_read(c->txn, c->ws->cursor, WAGE_CURSOR_FEED, &cursor)) != 0)
        return rc;
    MDB_stat st;
    if ((rc = mdb_stat(c->txn, c->ws->records, &st)) != 0)
        return rc;
    uint64_t q = 0;
    if ((rc = feed_quarantine_count(c->txn, c->ws->store, NULL, &q)) != 0)
        return rc;
    r->has_cursor = r->has_ledger_lines = r->has_records = r->has_head_seq = 1;
    r->cursor = cursor;
    r->ledger_lines = head;
    r->records = st.ms_entries;
    r->has_quarantined = 1;
    r->quarantined = q;
    if (c->api->consumer) {
        feed_consumer_stats_t fs;
        feed_consumer_stats(c->api->consumer, &fs);
        r->head_seq = fs.head_seq;
        r->has_feed_pruned = 1;
        r->feed_pruned = fs.pruned;
    }
    c->reply.body_case = PAY__WAGES_REPLY__BODY_HEALTH;
    c->reply.health = r;
    return s_send(c);
}

/* ---- the hours feed's quarantine (finance) ------------------------------------- */

static void *s_pb_alloc(void *data, size_t n)
{
    return s_alloc(data, n);
}

static void s_pb_free(void *data, void *p)
{
    (void)data;
    (void)p;   /* released with the call's arena */
}

static int s_quarantine(s_ctx_t *c, const char *feed, int retry, uint64_t seq)
{
    if (!s_is_finance(c))
        return s_deny(c, retry ? "retry quarantined events" : "read the feed quarantine");
    if (feed && *feed && strcmp(feed, WAGE_CURSOR_FEED) != 0)
        return s_invalid(c, "feed: this service consumes only \"%s\"", WAGE_CURSOR_FEED);
    Pay__QuarantineReply *q = s_alloc(&c->arena, sizeof *q);
    if (!q)
        return s_send(c);
    pay__quarantine_reply__init(q);
    ProtobufCAllocator pa = {s_pb_alloc, s_pb_free, &c->arena};
    uint32_t applied = 0, remaining = 0;
    int rc = 0;
    if (retry && (rc = feed_quarantine_retry(c->txn, c->ws->store, WAGE_CURSOR_FEED, seq,
                                              wage_apply_event, c->ws, &applied,
                                              &remaining)) != 0)
        return rc;
    if ((rc = feed_quarantine_reply(c->txn, c->ws->store, WAGE_CURSOR_FEED, &pa, q)) != 0)
        return rc;
    q->has_applied = retry;
    q->applied = applied;
    c->reply.body_case = PAY__WAGES_REPLY__BODY_QUARANTINE;
    c->reply.quarantine = q;
    return s_send(c);
}

/* Finance only. Named by the caller, written under the service's backup
 * folder off the loop (backup.h), and answered once the copy is on disk. */
static int s_backup(s_ctx_t *c, const Pay__WagesBackup *b, const char *request_id)
{
    return backup_handle(c->api->backup, c->call, c->caller, request_id, b->name,
                         b->dir != NULL);
}

int wage_api_handle(void *svc, server_call_t *call, const auth_identity_t *caller,
                    const ProtobufCMessage *request, const char *request_id, MDB_txn *txn)
{
    const Pay__WagesRequest *req = (const Pay__WagesRequest *)request;
    s_ctx_t c = { 0 };
    c.api = svc;
    c.ws = c.api->ws;
    c.call = call;
    c.caller = caller;
    c.txn = txn;
    pay__wages_reply__init(&c.reply);
    c.reply.request_id = (char *)request_id;
    int rc = 0, readonly = 1;

    /* An employer (or a key without a role) gets nothing here; instructors
     * and industries only health, as in the hours service. */
    if (caller->role == ROLE_EMPLOYER || caller->role == ROLE_NONE
        || ((caller->role == ROLE_INSTRUCTOR || caller->role == ROLE_INDUSTRIES)
            && req->body_case != PAY__WAGES_REQUEST__BODY_HEALTH)) {
        server_call_readonly(call);
        return s_deny(&c, "use the wage service");
    }
    switch (req->body_case) {
    case PAY__WAGES_REQUEST__BODY_SET_RATES:
        readonly = 0;
        rc = s_set_rates(&c, req->set_rates);
        break;
    case PAY__WAGES_REQUEST__BODY_SET_POLICIES:
        readonly = 0;
        rc = s_set_policies(&c, req->set_policies);
        break;
    case PAY__WAGES_REQUEST__BODY_SET_OUTSIDE_WAGES:
        readonly = 0;
        rc = s_set_outside(&c, req->set_outside_wages);
        break;
    case PAY__WAGES_REQUEST__BODY_SET_DEDUCTIONS:
        readonly = 0;
        rc = s_set_deductions(&c, req->set_deductions);
        break;
    case PAY__WAGES_REQUEST__BODY_POST_ADJUSTMENTS:
        readonly = 0;
        rc = s_post_adjustments(&c, req->post_adjustments);
        break;
    case PAY__WAGES_REQUEST__BODY_LIST_RATES:
        rc = s_list_rates(&c, req->list_rates);
        break;
    case PAY__WAGES_REQUEST__BODY_PRISONER_LEDGER:
        rc = s_prisoner_ledger(&c, req->prisoner_ledger);
        break;
    case PAY__WAGES_REQUEST__BODY_PAYROLL:
        rc = s_payroll(&c, req->payroll);
        break;
    case PAY__WAGES_REQUEST__BODY_PAYSLIP:
        rc = s_payslip(&c, req->payslip);
        break;
    case PAY__WAGES_REQUEST__BODY_EXCEPTIONS:
        rc = s_exceptions(&c, req->exceptions);
        break;
    case PAY__WAGES_REQUEST__BODY_HOURS_NORM:
        rc = s_hours_norm(&c, req->hours_norm);
        break;
    case PAY__WAGES_REQUEST__BODY_BALANCES:
        rc = s_balances(&c, req->balances);
        break;
    case PAY__WAGES_REQUEST__BODY_RECONCILIATION:
        rc = s_reconciliation(&c, req->reconciliation);
        break;
    case PAY__WAGES_REQUEST__BODY_JOURNAL:
        rc = s_journal(&c, req->journal);
        break;
    case PAY__WAGES_REQUEST__BODY_HEALTH:
        rc = s_health(&c);
        break;
    case PAY__WAGES_REQUEST__BODY_QUARANTINE_LIST:
        rc = s_quarantine(&c, req->quarantine_list->feed, 0, 0);
        break;
    case PAY__WAGES_REQUEST__BODY_QUARANTINE_RETRY:
        readonly = 0;
        rc = s_quarantine(&c, req->quarantine_retry->feed, 1,
                          req->quarantine_retry->has_seq ? req->quarantine_retry->seq : 0);
        break;
    case PAY__WAGES_REQUEST__BODY_BACKUP:
        if (!s_is_finance(&c)) {
            s_deny(&c, "take backups");
            break;
        }
        rc = s_backup(&c, req->backup, request_id);
        break;
    default:
        s_invalid(&c, "request has no body");
        break;
    }
    if (readonly)
        server_call_readonly(call);
    if (rc != 0 && rc != MDB_MAP_FULL) {
        log_error("wages.request", "request %s failed: %s", request_id,
                  rc > 0 ? mdb_strerror(rc) : "error");
        server_reply_status(call, PAY__STATUS__INTERNAL, "storage error; nothing changed");
    }
    s_arena_free(&c.arena);
    return rc;
}
