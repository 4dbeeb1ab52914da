/* hrs_rules: see hrs_rules.h. Every function here is pure: the only inputs
 * are the arguments, the only outputs the out-parameters. */
#include "hrs_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "money.h"

/* ---- small helpers ------------------------------------------------------ */

static const char *s_str(const char *s)
{
    return s ? s : "";
}

static bool s_empty(const char *s)
{
    return !s || !*s;
}

/* Copies a string already known to fit (it passed its pattern check). */
static void s_copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static Pay__Status s_verdict(hrs_verdict_t *v, Pay__Status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static Pay__Status s_verdict(hrs_verdict_t *v, Pay__Status st, const char *fmt, ...)
{
    va_list ap;
    v->status = st;
    v->replay = false;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    /* Quoted values come from the caller: keep control characters out of
     * a message that ends up in replies, logs and CSV reports. */
    for (char *p = v->message; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return st;
}

/* A verdict with a constant message: the common case (every accepted
 * record), so it skips printf. */
static Pay__Status s_ok(hrs_verdict_t *v, const char *msg)
{
    size_t n = strlen(msg);
    if (n >= sizeof v->message)
        n = sizeof v->message - 1;
    v->status = PAY__STATUS__OK;
    v->replay = false;
    memcpy(v->message, msg, n);
    v->message[n] = '\0';
    return PAY__STATUS__OK;
}

/* A value quoted into a message, cut short so that a hostile cell cannot
 * crowd out the field name. */
#define S_Q "'%.40s'"

static void s_date_text(int32_t day, char out[CIVIL_DATE_LEN])
{
    if (day == HRS_NO_DATE)
        memcpy(out, "none", 5);
    else
        civil_format_date(day, out);
}

/* ---- enum spellings ----------------------------------------------------- */

static const char *const s_sessions[] = {NULL, "AM", "PM", "ED"};
static const char *const s_outcomes[] = {
    NULL, "ATTENDED", "SICK", "REST", "OTHER", "NOT_REQUIRED",
    "CLASH", "CANCELLED", "REFUSED", "SUSPENDED"};
static const char *const s_work_types[] = {NULL, "WORKSHOP", "OUTSIDE"};
static const char *const s_levels[] = {NULL, "BAS", "ENT", "STD", "ENH", "EN2"};
static const char *const s_regimes[] = {NULL, "CLOSED", "OPEN"};

#define S_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int s_enum_parse(const char *s, const char *const *names, int n)
{
    if (!s)
        return -1;
    for (int i = 1; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static const char *s_enum_name(int v, const char *const *names, int n)
{
    return (v >= 1 && v < n) ? names[v] : "?";
}

int hrs_session_parse(const char *s, Pay__Session *out)
{
    int i = s_enum_parse(s, s_sessions, S_COUNT(s_sessions));
    if (i < 0)
        return -1;
    *out = (Pay__Session)i;
    return 0;
}

int hrs_outcome_parse(const char *s, Pay__Outcome *out)
{
    int i = s_enum_parse(s, s_outcomes, S_COUNT(s_outcomes));
    if (i < 0)
        return -1;
    *out = (Pay__Outcome)i;
    return 0;
}

int hrs_work_type_parse(const char *s, Pay__WorkType *out)
{
    int i = s_enum_parse(s, s_work_types, S_COUNT(s_work_types));
    if (i < 0)
        return -1;
    *out = (Pay__WorkType)i;
    return 0;
}

int hrs_level_parse(const char *s, Pay__IncentiveLevel *out)
{
    int i = s_enum_parse(s, s_levels, S_COUNT(s_levels));
    if (i < 0)
        return -1;
    *out = (Pay__IncentiveLevel)i;
    return 0;
}

int hrs_regime_parse(const char *s, hrs_regime_t *out)
{
    int i = s_enum_parse(s, s_regimes, S_COUNT(s_regimes));
    if (i < 0)
        return -1;
    *out = (hrs_regime_t)i;
    return 0;
}

int hrs_yesno_parse(const char *s, int empty_value, bool *out)
{
    if (s_empty(s)) {
        if (empty_value < 0)
            return -1;
        *out = empty_value != 0;
        return 0;
    }
    if (strcmp(s, "yes") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(s, "no") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

const char *hrs_session_name(Pay__Session v)
{
    return s_enum_name((int)v, s_sessions, S_COUNT(s_sessions));
}

const char *hrs_outcome_name(Pay__Outcome v)
{
    return s_enum_name((int)v, s_outcomes, S_COUNT(s_outcomes));
}

const char *hrs_work_type_name(Pay__WorkType v)
{
    return s_enum_name((int)v, s_work_types, S_COUNT(s_work_types));
}

const char *hrs_level_name(Pay__IncentiveLevel v)
{
    return s_enum_name((int)v, s_levels, S_COUNT(s_levels));
}

const char *hrs_regime_name(hrs_regime_t v)
{
    return s_enum_name((int)v, s_regimes, S_COUNT(s_regimes));
}

/* ---- field parsers that fill a verdict ---------------------------------- */

static int s_need_date(const char *field, const char *s, int32_t *out, hrs_verdict_t *v)
{
    if (s_empty(s)) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "%s: empty, need a date YYYY-MM-DD", field);
        return -1;
    }
    if (civil_parse_date(s, out) != 0) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "%s: " S_Q " is not a real date YYYY-MM-DD",
                  field, s);
        return -1;
    }
    return 0;
}

/* An optional date: empty means none (HRS_NO_DATE). */
static int s_opt_date(const char *field, const char *s, int32_t *out, hrs_verdict_t *v)
{
    if (s_empty(s)) {
        *out = HRS_NO_DATE;
        return 0;
    }
    return s_need_date(field, s, out, v);
}

static int s_need_pattern(const char *field, const char *s, bool ok, const char *what,
                          hrs_verdict_t *v)
{
    if (s_empty(s)) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "%s: empty, need %s", field, what);
        return -1;
    }
    if (!ok) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "%s: " S_Q " is not %s", field, s, what);
        return -1;
    }
    return 0;
}

static int s_need_enum(const char *field, const char *s, int rc, const char *spellings,
                       hrs_verdict_t *v)
{
    if (rc == 0)
        return 0;
    if (s_empty(s))
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "%s: empty, need one of %s", field,
                  spellings);
    else
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "%s: " S_Q " is not one of %s", field, s,
                  spellings);
    return -1;
}

static int s_need_text(const char *field, const char *s, hrs_verdict_t *v)
{
    if (s_empty(s)) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "%s: empty", field);
        return -1;
    }
    if (!ident_is_text(s, HRS_TEXT_CHARS)) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT,
                  "%s: not 1 to %d characters of UTF-8 text without control characters",
                  field, HRS_TEXT_CHARS);
        return -1;
    }
    return 0;
}

static int s_minutes(const char *s, uint32_t *out, hrs_verdict_t *v)
{
    uint64_t m;
    if (s_empty(s)) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "minutes: empty, need 1 to %d",
                  HRS_MAX_MINUTES);
        return -1;
    }
    if (parse_uint64(s, UINT64_MAX, &m) != 0) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "minutes: " S_Q " is not a whole number",
                  s);
        return -1;
    }
    if (m < 1 || m > HRS_MAX_MINUTES) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "minutes: %llu is outside 1 to %d",
                  (unsigned long long)m, HRS_MAX_MINUTES);
        return -1;
    }
    *out = (uint32_t)m;
    return 0;
}

static int s_units(const char *s, uint64_t *out, hrs_verdict_t *v)
{
    if (s_empty(s)) {
        *out = 0;
        return 0;
    }
    if (parse_uint64(s, HRS_MAX_UNITS, out) != 0) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT,
                  "units: " S_Q " is not a whole number from 0 to %llu", s,
                  (unsigned long long)HRS_MAX_UNITS);
        return -1;
    }
    return 0;
}

static int s_paid_absence(const char *s, bool *out, hrs_verdict_t *v)
{
    if (hrs_yesno_parse(s, 0, out) == 0)
        return 0;
    s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "paid_absence: " S_Q " is not yes or no", s);
    return -1;
}

#define S_OUTCOMES "ATTENDED, SICK, REST, OTHER, NOT_REQUIRED, CLASH, CANCELLED, REFUSED, SUSPENDED"
#define S_LEVELS "BAS, ENT, STD, ENH, EN2"

/* ---- capturing hours ---------------------------------------------------- */

int hrs_rules_parse_record(const hrs_record_text_t *in, hrs_record_t *out, hrs_verdict_t *v)
{
    memset(out, 0, sizeof *out);
    if (s_empty(in->record_id)) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "record_id: empty, need 1 to %d characters",
                  HRS_RECORD_ID_CHARS);
        return -1;
    }
    if (!ident_is_record_id(in->record_id)) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT,
                  "record_id: not 1 to %d characters of UTF-8 without control characters",
                  HRS_RECORD_ID_CHARS);
        return -1;
    }
    s_copy(out->record_id, sizeof out->record_id, in->record_id);
    if (s_need_pattern("prisoner", in->prisoner, ident_is_prisoner(in->prisoner),
                       "a prisoner number like A1234BC", v) != 0)
        return -1;
    s_copy(out->prisoner, sizeof out->prisoner, in->prisoner);
    if (s_need_pattern("contract", in->contract, ident_is_contract(in->contract),
                       "a contract id like C-0042", v) != 0)
        return -1;
    s_copy(out->contract, sizeof out->contract, in->contract);
    if (s_need_date("date", in->date, &out->date, v) != 0)
        return -1;
    if (s_need_enum("session", in->session, hrs_session_parse(in->session, &out->session),
                    "AM, PM, ED", v) != 0)
        return -1;
    if (s_minutes(in->minutes, &out->minutes, v) != 0)
        return -1;
    if (s_units(in->units, &out->units, v) != 0)
        return -1;
    if (s_need_enum("outcome", in->outcome, hrs_outcome_parse(in->outcome, &out->outcome),
                    S_OUTCOMES, v) != 0)
        return -1;
    if (s_paid_absence(in->paid_absence, &out->paid_absence, v) != 0)
        return -1;
    s_ok(v, "well formed");
    return 0;
}

int hrs_rules_parse_amend(const hrs_amend_text_t *in, const hrs_record_t *old,
                          hrs_record_t *out, hrs_verdict_t *v)
{
    *out = *old;
    if (s_minutes(in->minutes, &out->minutes, v) != 0)
        return -1;
    if (s_units(in->units, &out->units, v) != 0)
        return -1;
    if (s_need_enum("outcome", in->outcome, hrs_outcome_parse(in->outcome, &out->outcome),
                    S_OUTCOMES, v) != 0)
        return -1;
    if (s_paid_absence(in->paid_absence, &out->paid_absence, v) != 0)
        return -1;
    s_ok(v, "well formed");
    return 0;
}

bool hrs_record_same(const hrs_record_t *a, const hrs_record_t *b)
{
    return strcmp(a->record_id, b->record_id) == 0 && strcmp(a->prisoner, b->prisoner) == 0 &&
           strcmp(a->contract, b->contract) == 0 && a->date == b->date &&
           a->session == b->session && a->minutes == b->minutes && a->units == b->units &&
           a->outcome == b->outcome && a->paid_absence == b->paid_absence;
}

/* The first field in which a stored record differs from a resubmission. */
static const char *s_first_difference(const hrs_record_t *a, const hrs_record_t *b)
{
    if (strcmp(a->prisoner, b->prisoner) != 0)
        return "prisoner";
    if (strcmp(a->contract, b->contract) != 0)
        return "contract";
    if (a->date != b->date)
        return "date";
    if (a->session != b->session)
        return "session";
    if (a->minutes != b->minutes)
        return "minutes";
    if (a->units != b->units)
        return "units";
    if (a->outcome != b->outcome)
        return "outcome";
    return "paid_absence";
}

bool hrs_rules_may_record(auth_role_t role, const char *scope, const char *prison)
{
    if (role == ROLE_FINANCE)
        return true;
    return role == ROLE_INSTRUCTOR && scope && prison && ident_is_prison(prison) &&
           strcmp(scope, prison) == 0;
}

static Pay__Status s_check_caller(const hrs_capture_facts_t *f, hrs_verdict_t *v)
{
    if (hrs_rules_may_record(f->role, f->scope, f->contract.prison))
        return PAY__STATUS__OK;
    return s_verdict(v, PAY__STATUS__PERMISSION_DENIED,
                     "caller: %s with scope " S_Q " may not record hours at prison %s",
                     auth_role_name(f->role), s_str(f->scope), f->contract.prison);
}

static Pay__Status s_check_daily(const hrs_capture_facts_t *f, hrs_verdict_t *v)
{
    const hrs_record_t *r = f->rec;
    if (f->day_minutes + r->minutes <= f->policy.daily_cap)
        return PAY__STATUS__OK;
    char d[CIVIL_DATE_LEN];
    civil_format_date(r->date, d);
    return s_verdict(v, PAY__STATUS__DAILY_CAP_EXCEEDED,
                     "minutes: %u on top of %llu already recorded for %s on %s exceeds the "
                     "daily cap of %u",
                     r->minutes, (unsigned long long)f->day_minutes, r->prisoner, d,
                     f->policy.daily_cap);
}

static Pay__Status s_check_weekly(const hrs_capture_facts_t *f, hrs_verdict_t *v)
{
    const hrs_record_t *r = f->rec;
    if (f->week_minutes + r->minutes <= f->policy.weekly_cap)
        return PAY__STATUS__OK;
    char w[CIVIL_WEEK_LEN];
    civil_format_week(civil_iso_week(r->date), w);
    return s_verdict(v, PAY__STATUS__WEEKLY_CAP_EXCEEDED,
                     "minutes: %u on top of %llu already recorded for %s in %s exceeds the "
                     "weekly cap of %u",
                     r->minutes, (unsigned long long)f->week_minutes, r->prisoner, w,
                     f->policy.weekly_cap);
}

static Pay__Status s_check_week_open(const hrs_capture_facts_t *f, hrs_verdict_t *v)
{
    if (!f->week_closed)
        return PAY__STATUS__OK;
    char w[CIVIL_WEEK_LEN];
    civil_format_week(civil_iso_week(f->rec->date), w);
    return s_verdict(v, PAY__STATUS__PAY_WEEK_CLOSED, "date: pay week %s of prison %s is closed",
                     w, f->contract.prison);
}

Pay__Status hrs_rules_check_capture(const hrs_capture_facts_t *f, hrs_verdict_t *v)
{
    const hrs_record_t *r = f->rec;
    char d[CIVIL_DATE_LEN], a[CIVIL_DATE_LEN], b[CIVIL_DATE_LEN];
    Pay__Status st;
    civil_format_date(r->date, d);

    /* 2. Idempotency. */
    if (f->existing) {
        if (hrs_record_same(f->existing, r)) {
            s_ok(v, "recorded");
            v->replay = true;
            return PAY__STATUS__OK;
        }
        return s_verdict(v, PAY__STATUS__DUPLICATE_CONFLICT,
                         "record_id: " S_Q " was accepted with a different %s",
                         r->record_id, s_first_difference(f->existing, r));
    }
    /* 3. The prisoner exists. */
    if (!f->prisoner.exists)
        return s_verdict(v, PAY__STATUS__UNKNOWN_PRISONER, "prisoner: %s is not known",
                         r->prisoner);
    /* 4. The contract exists, is active on the date, and is attested. */
    if (!f->contract.exists)
        return s_verdict(v, PAY__STATUS__UNKNOWN_CONTRACT, "contract: %s is not known",
                         r->contract);
    if (r->date < f->contract.start || r->date > f->contract.end) {
        s_date_text(f->contract.start, a);
        s_date_text(f->contract.end, b);
        return s_verdict(v, PAY__STATUS__CONTRACT_INACTIVE,
                         "date: contract %s is not active on %s (start %s, end %s)",
                         r->contract, d, a, b);
    }
    if (!f->contract.attested)
        return s_verdict(v, PAY__STATUS__CONTRACT_NOT_ATTESTED,
                         "contract: %s has no code-of-practice attestation", r->contract);
    /* 5. The caller may record hours at the contract's prison. */
    if ((st = s_check_caller(f, v)) != PAY__STATUS__OK)
        return st;
    /* 6. In custody at the contract's prison on the date. */
    if (r->date >= f->prisoner.released_on) {
        s_date_text(f->prisoner.released_on, a);
        return s_verdict(v, PAY__STATUS__NOT_IN_CUSTODY,
                         "prisoner: %s was released on %s, not in custody on %s", r->prisoner,
                         a, d);
    }
    if (strcmp(f->prisoner.custody, f->contract.prison) != 0)
        return s_verdict(v, PAY__STATUS__NOT_IN_CUSTODY,
                         "prisoner: %s was at %s on %s, not at the contract's prison %s",
                         r->prisoner, f->prisoner.custody, d, f->contract.prison);
    /* 7. Allocated to the contract on the date. */
    if (!f->allocated)
        return s_verdict(v, PAY__STATUS__NOT_ALLOCATED,
                         "prisoner: %s is not allocated to contract %s on %s", r->prisoner,
                         r->contract, d);
    /* 8. Clearance for public-contact work, granted on or before the date. */
    if (f->contract.public_contact && f->prisoner.cleared_on > r->date) {
        if (f->prisoner.cleared_on == HRS_NO_DATE)
            return s_verdict(v, PAY__STATUS__CLEARANCE_REQUIRED,
                             "prisoner: %s has no public-contact clearance for contract %s",
                             r->prisoner, r->contract);
        s_date_text(f->prisoner.cleared_on, a);
        return s_verdict(v, PAY__STATUS__CLEARANCE_REQUIRED,
                         "prisoner: %s was cleared for public contact on %s, after %s",
                         r->prisoner, a, d);
    }
    /* 9. No other live record on the same date and session. */
    if (f->clash)
        return s_verdict(v, PAY__STATUS__SESSION_CLASH,
                         "session: %s already has record " S_Q " for %s on %s", r->prisoner,
                         f->clash_id, hrs_session_name(r->session), d);
    /* 10, 11. The caps. */
    if ((st = s_check_daily(f, v)) != PAY__STATUS__OK)
        return st;
    if ((st = s_check_weekly(f, v)) != PAY__STATUS__OK)
        return st;
    /* 12. Not in the future; not past the backdate limit unless finance. */
    if (r->date > f->today)
        return s_verdict(v, PAY__STATUS__DATE_IN_FUTURE, "date: %s is in the future", d);
    if ((int64_t)f->today - r->date > (int64_t)f->policy_today.backdate_days &&
        f->role != ROLE_FINANCE)
        return s_verdict(v, PAY__STATUS__BACKDATE_LIMIT,
                         "date: %s is more than %u days ago; only finance may record it", d,
                         f->policy_today.backdate_days);
    /* 13. The pay week is open. */
    if ((st = s_check_week_open(f, v)) != PAY__STATUS__OK)
        return st;
    s_ok(v, "recorded");
    return PAY__STATUS__OK;
}

Pay__Status hrs_rules_check_text(const hrs_record_text_t *in, hrs_capture_facts_t *f,
                                 hrs_verdict_t *v)
{
    hrs_record_t rec;
    if (hrs_rules_parse_record(in, &rec, v) != 0)
        return v->status;
    f->rec = &rec;
    Pay__Status st = hrs_rules_check_capture(f, v);
    f->rec = NULL;
    return st;
}

Pay__Status hrs_rules_check_amend(const hrs_capture_facts_t *f, hrs_verdict_t *v)
{
    Pay__Status st;
    if ((st = s_check_caller(f, v)) != PAY__STATUS__OK)
        return st;
    if ((st = s_check_daily(f, v)) != PAY__STATUS__OK)
        return st;
    if ((st = s_check_weekly(f, v)) != PAY__STATUS__OK)
        return st;
    if ((st = s_check_week_open(f, v)) != PAY__STATUS__OK)
        return st;
    s_verdict(v, PAY__STATUS__OK, "amended");
    return PAY__STATUS__OK;
}

Pay__Status hrs_rules_check_void(const hrs_capture_facts_t *f, hrs_verdict_t *v)
{
    Pay__Status st;
    if ((st = s_check_caller(f, v)) != PAY__STATUS__OK)
        return st;
    if ((st = s_check_week_open(f, v)) != PAY__STATUS__OK)
        return st;
    s_verdict(v, PAY__STATUS__OK, "voided");
    return PAY__STATUS__OK;
}

Pay__Status hrs_rules_check_close_week(auth_role_t role, const char *prison,
                                       bool prison_exists, hrs_verdict_t *v)
{
    if (role != ROLE_FINANCE)
        return s_verdict(v, PAY__STATUS__PERMISSION_DENIED,
                         "caller: only finance may close a pay week, not %s",
                         auth_role_name(role));
    if (!prison_exists)
        return s_verdict(v, PAY__STATUS__UNKNOWN_PRISON, "prison: " S_Q " is not known",
                         s_str(prison));
    s_verdict(v, PAY__STATUS__OK, "closed");
    return PAY__STATUS__OK;
}

/* ---- effective-dated history -------------------------------------------- */

const char *hrs_rules_custody_on(const char *start_prison, const hrs_transfer_t *t, int n,
                                 int32_t date)
{
    const char *prison = start_prison;
    int32_t best = INT32_MIN;
    bool found = false;
    for (int i = 0; i < n; i++) {
        if (t[i].from <= date && (!found || t[i].from >= best)) {
            best = t[i].from;
            prison = t[i].prison;
            found = true;
        }
    }
    return prison;
}

Pay__IncentiveLevel hrs_rules_level_on(Pay__IncentiveLevel start_level,
                                       const hrs_level_change_t *c, int n, int32_t date)
{
    Pay__IncentiveLevel level = start_level;
    int32_t best = INT32_MIN;
    bool found = false;
    for (int i = 0; i < n; i++) {
        if (c[i].from <= date && (!found || c[i].from >= best)) {
            best = c[i].from;
            level = c[i].level;
            found = true;
        }
    }
    return level;
}

int hrs_rules_allocation_on(const hrs_allocation_t *a, int n, int32_t date)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (a[i].from <= date && date <= a[i].to && (best < 0 || a[i].from >= a[best].from))
            best = i;
    }
    return best;
}

hrs_policy_t hrs_rules_policy_default(void)
{
    hrs_policy_t p = {HRS_DEFAULT_WEEKLY_CAP, HRS_DEFAULT_DAILY_CAP, HRS_DEFAULT_BACKDATE_DAYS};
    return p;
}

hrs_policy_t hrs_rules_policy_on(const hrs_policy_row_t *p, int n, int32_t date)
{
    hrs_policy_t out = hrs_rules_policy_default();
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (p[i].from <= date && (best < 0 || p[i].from >= p[best].from))
            best = i;
    }
    if (best >= 0)
        out = p[best].policy;
    return out;
}

/* ---- reference data ----------------------------------------------------- */

static bool s_all_prisons(const char *scope)
{
    return s_empty(scope) || strcmp(scope, "-") == 0;
}

bool hrs_rules_may_manage(const hrs_caller_t *c, const char *prison)
{
    if (c->role != ROLE_INDUSTRIES)
        return false;
    if (s_all_prisons(c->scope))
        return true;
    return prison && strcmp(c->scope, prison) == 0;
}

static Pay__Status s_deny_manage(const hrs_caller_t *c, const char *prison, hrs_verdict_t *v)
{
    if (c->role != ROLE_INDUSTRIES)
        return s_verdict(v, PAY__STATUS__PERMISSION_DENIED,
                         "caller: only industries manages this reference data, not %s",
                         auth_role_name(c->role));
    return s_verdict(v, PAY__STATUS__PERMISSION_DENIED,
                     "caller: industries with scope " S_Q " may not manage prison " S_Q,
                     s_str(c->scope), s_str(prison));
}

/* Policy values: a cap must allow some work and fit in the period; the
 * backdate limit is at most a year. */
static int s_policy_values(bool has_w, uint32_t w, bool has_d, uint32_t d, bool has_b,
                           uint32_t b, hrs_policy_t *out, hrs_verdict_t *v)
{
    *out = hrs_rules_policy_default();
    if (has_w) {
        if (w < 1 || w > 7 * 24 * 60) {
            s_verdict(v, PAY__STATUS__INVALID_ARGUMENT,
                      "weekly_cap_minutes: %u is outside 1 to 10080", w);
            return -1;
        }
        out->weekly_cap = w;
    }
    if (has_d) {
        if (d < 1 || d > 24 * 60) {
            s_verdict(v, PAY__STATUS__INVALID_ARGUMENT,
                      "daily_cap_minutes: %u is outside 1 to 1440", d);
            return -1;
        }
        out->daily_cap = d;
    }
    if (has_b) {
        if (b > 366) {
            s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "backdate_days: %u is outside 0 to 366",
                      b);
            return -1;
        }
        out->backdate_days = b;
    }
    return 0;
}

int hrs_rules_parse_prison(const hrs_prison_text_t *in, hrs_prison_t *out, hrs_verdict_t *v)
{
    memset(out, 0, sizeof *out);
    if (s_need_pattern("code", in->code, ident_is_prison(in->code),
                       "three capital letters like MDI", v) != 0)
        return -1;
    s_copy(out->code, sizeof out->code, in->code);
    if (s_need_text("name", in->name, v) != 0)
        return -1;
    s_copy(out->name, sizeof out->name, in->name);
    if (s_need_enum("regime", in->regime, hrs_regime_parse(in->regime, &out->regime),
                    "CLOSED, OPEN", v) != 0)
        return -1;
    if (s_policy_values(in->has_weekly_cap, in->weekly_cap, in->has_daily_cap, in->daily_cap,
                        in->has_backdate_days, in->backdate_days, &out->policy, v) != 0)
        return -1;
    s_ok(v, "well formed");
    return 0;
}

Pay__Status hrs_rules_check_prison(const hrs_prison_t *p, bool has_outside_contracts,
                                   const hrs_caller_t *c, hrs_verdict_t *v)
{
    if (!hrs_rules_may_manage(c, p->code))
        return s_deny_manage(c, p->code, v);
    if (p->regime == HRS_REGIME_CLOSED && has_outside_contracts)
        return s_verdict(v, PAY__STATUS__REGIME_MISMATCH,
                         "regime: prison %s has OUTSIDE contracts, so it cannot be CLOSED",
                         p->code);
    s_ok(v, "stored");
    return PAY__STATUS__OK;
}

int hrs_rules_parse_policy(const hrs_policy_text_t *in, hrs_policy_change_t *out,
                           hrs_verdict_t *v)
{
    memset(out, 0, sizeof *out);
    if (s_need_pattern("prison", in->prison, ident_is_prison(in->prison),
                       "three capital letters like MDI", v) != 0)
        return -1;
    s_copy(out->prison, sizeof out->prison, in->prison);
    if (s_need_date("effective_from", in->effective_from, &out->from, v) != 0)
        return -1;
    if (s_policy_values(in->has_weekly_cap, in->weekly_cap, in->has_daily_cap, in->daily_cap,
                        in->has_backdate_days, in->backdate_days, &out->policy, v) != 0)
        return -1;
    s_ok(v, "well formed");
    return 0;
}

Pay__Status hrs_rules_check_policy(const hrs_policy_change_t *p, bool prison_exists,
                                   const hrs_caller_t *c, hrs_verdict_t *v)
{
    bool governor = c->role == ROLE_GOVERNOR && c->scope && strcmp(c->scope, p->prison) == 0;
    if (!governor && !hrs_rules_may_manage(c, p->prison)) {
        if (c->role == ROLE_GOVERNOR)
            return s_verdict(v, PAY__STATUS__PERMISSION_DENIED,
                             "caller: governor of " S_Q " may not set the policy of %s",
                             s_str(c->scope), p->prison);
        return s_deny_manage(c, p->prison, v);
    }
    if (!prison_exists)
        return s_verdict(v, PAY__STATUS__UNKNOWN_PRISON, "prison: %s is not known", p->prison);
    s_ok(v, "stored");
    return PAY__STATUS__OK;
}

int hrs_rules_parse_prisoner(const hrs_prisoner_text_t *in, hrs_prisoner_t *out,
                             hrs_verdict_t *v)
{
    memset(out, 0, sizeof *out);
    if (s_need_pattern("number", in->number, ident_is_prisoner(in->number),
                       "a prisoner number like A1234BC", v) != 0)
        return -1;
    s_copy(out->number, sizeof out->number, in->number);
    if (s_need_pattern("prison", in->prison, ident_is_prison(in->prison),
                       "three capital letters like MDI", v) != 0)
        return -1;
    s_copy(out->prison, sizeof out->prison, in->prison);
    if (s_need_enum("incentive_level", in->incentive_level,
                    hrs_level_parse(in->incentive_level, &out->level), S_LEVELS, v) != 0)
        return -1;
    if (s_opt_date("public_contact_cleared_on", in->public_contact_cleared_on,
                   &out->cleared_on, v) != 0)
        return -1;
    if (s_opt_date("released_on", in->released_on, &out->released_on, v) != 0)
        return -1;
    s_ok(v, "well formed");
    return 0;
}

Pay__Status hrs_rules_check_prisoner(const hrs_prisoner_t *p, bool prison_exists,
                                     const hrs_caller_t *c, hrs_verdict_t *v)
{
    if (!hrs_rules_may_manage(c, p->prison))
        return s_deny_manage(c, p->prison, v);
    if (!prison_exists)
        return s_verdict(v, PAY__STATUS__UNKNOWN_PRISON, "prison: %s is not known", p->prison);
    s_ok(v, "stored");
    return PAY__STATUS__OK;
}

int hrs_rules_parse_contract(const hrs_contract_text_t *in, hrs_contract_t *out,
                             hrs_verdict_t *v)
{
    memset(out, 0, sizeof *out);
    if (s_need_pattern("id", in->id, ident_is_contract(in->id), "a contract id like C-0042",
                       v) != 0)
        return -1;
    s_copy(out->id, sizeof out->id, in->id);
    if (s_need_pattern("employer", in->employer, ident_is_employer(in->employer),
                       "an employer id like dhl", v) != 0)
        return -1;
    s_copy(out->employer, sizeof out->employer, in->employer);
    if (s_need_pattern("prison", in->prison, ident_is_prison(in->prison),
                       "three capital letters like MDI", v) != 0)
        return -1;
    s_copy(out->prison, sizeof out->prison, in->prison);
    if (s_need_text("activity", in->activity, v) != 0)
        return -1;
    s_copy(out->activity, sizeof out->activity, in->activity);
    if (s_need_enum("work_type", in->work_type,
                    hrs_work_type_parse(in->work_type, &out->work_type), "WORKSHOP, OUTSIDE",
                    v) != 0)
        return -1;
    if (s_need_date("start", in->start, &out->start, v) != 0)
        return -1;
    if (s_opt_date("end", in->end, &out->end, v) != 0)
        return -1;
    if (out->end < out->start) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "end: " S_Q " is before start " S_Q,
                  in->end, in->start);
        return -1;
    }
    if (hrs_yesno_parse(in->public_contact, 0, &out->public_contact) != 0) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "public_contact: " S_Q " is not yes or no",
                  in->public_contact);
        return -1;
    }
    int given = !s_empty(in->attested_by) + !s_empty(in->attested_on) +
                !s_empty(in->attestation_ref);
    if (given != 0 && given != 3) {
        const char *missing = s_empty(in->attested_by)   ? "attested_by"
                              : s_empty(in->attested_on) ? "attested_on"
                                                         : "attestation_ref";
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT,
                  "%s: empty, an attestation needs attested_by, attested_on and "
                  "attestation_ref",
                  missing);
        return -1;
    }
    out->attested_on = HRS_NO_DATE;
    if (given == 3) {
        if (s_need_text("attested_by", in->attested_by, v) != 0)
            return -1;
        if (s_need_date("attested_on", in->attested_on, &out->attested_on, v) != 0)
            return -1;
        if (s_need_text("attestation_ref", in->attestation_ref, v) != 0)
            return -1;
        s_copy(out->attested_by, sizeof out->attested_by, in->attested_by);
        s_copy(out->attestation_ref, sizeof out->attestation_ref, in->attestation_ref);
        out->attested = true;
    }
    s_ok(v, "well formed");
    return 0;
}

Pay__Status hrs_rules_check_contract(const hrs_contract_t *k, hrs_regime_t prison_regime,
                                     bool employer_known, const hrs_caller_t *c,
                                     hrs_verdict_t *v)
{
    if (!hrs_rules_may_manage(c, k->prison))
        return s_deny_manage(c, k->prison, v);
    if (prison_regime == HRS_REGIME_NONE)
        return s_verdict(v, PAY__STATUS__UNKNOWN_PRISON, "prison: %s is not known", k->prison);
    if (!employer_known)
        return s_verdict(v, PAY__STATUS__UNKNOWN_EMPLOYER,
                         "employer: %s is not a registered employer", k->employer);
    if (k->work_type == PAY__WORK_TYPE__OUTSIDE && prison_regime == HRS_REGIME_CLOSED)
        return s_verdict(v, PAY__STATUS__REGIME_MISMATCH,
                         "work_type: OUTSIDE contract %s at CLOSED prison %s; open prisons only",
                         k->id, k->prison);
    s_ok(v, "stored");
    return PAY__STATUS__OK;
}

int hrs_rules_parse_allocation(const hrs_allocation_text_t *in, hrs_allocation_row_t *out,
                               hrs_verdict_t *v)
{
    memset(out, 0, sizeof *out);
    if (s_need_pattern("prisoner", in->prisoner, ident_is_prisoner(in->prisoner),
                       "a prisoner number like A1234BC", v) != 0)
        return -1;
    s_copy(out->prisoner, sizeof out->prisoner, in->prisoner);
    if (s_need_pattern("contract", in->contract, ident_is_contract(in->contract),
                       "a contract id like C-0042", v) != 0)
        return -1;
    s_copy(out->contract, sizeof out->contract, in->contract);
    if (s_need_date("from", in->from, &out->from, v) != 0)
        return -1;
    if (s_opt_date("to", in->to, &out->to, v) != 0)
        return -1;
    if (out->to < out->from) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "to: " S_Q " is before from " S_Q, in->to,
                  in->from);
        return -1;
    }
    uint64_t band;
    if (s_empty(in->pay_band) || parse_uint64(in->pay_band, 1000, &band) != 0 || band < 1 ||
        band > HRS_MAX_PAY_BAND) {
        s_verdict(v, PAY__STATUS__INVALID_ARGUMENT, "pay_band: " S_Q " is not 1 to %d",
                  s_str(in->pay_band), HRS_MAX_PAY_BAND);
        return -1;
    }
    out->pay_band = (uint32_t)band;
    s_ok(v, "well formed");
    return 0;
}

Pay__Status hrs_rules_check_allocation(const hrs_allocation_row_t *a, bool prisoner_exists,
                                       bool contract_exists, const char *contract_prison,
                                       const hrs_caller_t *c, hrs_verdict_t *v)
{
    if (!hrs_rules_may_manage(c, contract_prison))
        return s_deny_manage(c, contract_prison, v);
    if (!prisoner_exists)
        return s_verdict(v, PAY__STATUS__UNKNOWN_PRISONER, "prisoner: %s is not known",
                         a->prisoner);
    if (!contract_exists)
        return s_verdict(v, PAY__STATUS__UNKNOWN_CONTRACT, "contract: %s is not known",
                         a->contract);
    s_ok(v, "stored");
    return PAY__STATUS__OK;
}

int hrs_rules_parse_transfer(const hrs_transfer_text_t *in, hrs_transfer_row_t *out,
                             hrs_verdict_t *v)
{
    memset(out, 0, sizeof *out);
    if (s_need_pattern("prisoner", in->prisoner, ident_is_prisoner(in->prisoner),
                       "a prisoner number like A1234BC", v) != 0)
        return -1;
    s_copy(out->prisoner, sizeof out->prisoner, in->prisoner);
    if (s_need_pattern("prison", in->prison, ident_is_prison(in->prison),
                       "three capital letters like MDI", v) != 0)
        return -1;
    s_copy(out->prison, sizeof out->prison, in->prison);
    if (s_need_date("effective_from", in->effective_from, &out->from, v) != 0)
        return -1;
    s_ok(v, "well formed");
    return 0;
}

Pay__Status hrs_rules_check_transfer(const hrs_transfer_row_t *t, bool prisoner_exists,
                                     bool prison_exists, const hrs_caller_t *c,
                                     hrs_verdict_t *v)
{
    if (!hrs_rules_may_manage(c, t->prison))
        return s_deny_manage(c, t->prison, v);
    if (!prisoner_exists)
        return s_verdict(v, PAY__STATUS__UNKNOWN_PRISONER, "prisoner: %s is not known",
                         t->prisoner);
    if (!prison_exists)
        return s_verdict(v, PAY__STATUS__UNKNOWN_PRISON, "prison: %s is not known", t->prison);
    s_ok(v, "stored");
    return PAY__STATUS__OK;
}

int hrs_rules_parse_level(const hrs_level_text_t *in, hrs_level_row_t *out, hrs_verdict_t *v)
{
    memset(out, 0, sizeof *out);
    if (s_need_pattern("prisoner", in->prisoner, ident_is_prisoner(in->prisoner),
                       "a prisoner number like A1234BC", v) != 0)
        return -1;
    s_copy(out->prisoner, sizeof out->prisoner, in->prisoner);
    if (s_need_enum("incentive_level", in->incentive_level,
                    hrs_level_parse(in->incentive_level, &out->level), S_LEVELS, v) != 0)
        return -1;
    if (s_need_date("effective_from", in->effective_from, &out->from, v) != 0)
        return -1;
    s_ok(v, "well formed");
    return 0;
}

Pay__Status hrs_rules_check_level(const hrs_level_row_t *l, bool prisoner_exists,
                                  const char *prisoner_prison, const hrs_caller_t *c,
                                  hrs_verdict_t *v)
{
    if (!hrs_rules_may_manage(c, prisoner_prison))
        return s_deny_manage(c, prisoner_prison, v);
    if (!prisoner_exists)
        return s_verdict(v, PAY__STATUS__UNKNOWN_PRISONER, "prisoner: %s is not known",
                         l->prisoner);
    s_ok(v, "stored");
    return PAY__STATUS__OK;
}
