/* hrs_rules: the hours service's business rules as pure functions.
 *
 * Why this module exists: every rule of DOMAIN.md that the hours service
 * enforces ("Reference data", "Capturing hours", "Refusals of reference
 * data") lives here, over plain structs, so that each rule can be proved
 * exhaustively without sockets, transactions or globals. The service
 * (hrs_service.c) looks the facts up in its store, fills the structs below,
 * and asks these functions for a verdict.
 *
 * Capturing a record is two steps, because the facts can only be looked up
 * once the record has parsed:
 *   1. hrs_rules_parse_record: check 1 (well formed), text to values;
 *   2. hrs_rules_check_capture: checks 2 to 13, in the spec's order, over
 *      the facts; the first failing check decides.
 * Reference rows go through hrs_rules_parse_<kind> (INVALID_ARGUMENT) and
 * then hrs_rules_check_<kind> (UNKNOWN_*, REGIME_MISMATCH, PERMISSION_DENIED).
 *
 * Text inputs are the cells of FORMATS.md exactly as received: a NULL
 * pointer is an empty cell, nothing is trimmed and case matters.
 *
 * Memory: nothing here allocates. Parsed structs hold copies of the strings
 * (fixed-size arrays), so they do not point into the input; verdicts carry
 * their message in a fixed buffer. */
#ifndef PAY_HRS_RULES_H
#define PAY_HRS_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "ident.h"
#include "common.pb-c.h"
#include "hours_feed.pb-c.h"

/* Field sizes, including the terminating NUL: those of ident.h, which the
 * consumers of the hours feed share. */
#define HRS_PRISON_LEN IDENT_PRISON_LEN
#define HRS_PRISONER_LEN IDENT_PRISONER_LEN
#define HRS_EMPLOYER_LEN IDENT_EMPLOYER_LEN
#define HRS_CONTRACT_LEN IDENT_CONTRACT_LEN
#define HRS_RECORD_ID_CHARS IDENT_RECORD_ID_CHARS
#define HRS_RECORD_ID_LEN IDENT_RECORD_ID_LEN
#define HRS_TEXT_CHARS IDENT_TEXT_CHARS
#define HRS_TEXT_LEN IDENT_TEXT_LEN
#define HRS_MSG_LEN 256

/* Bounds on numbers that the spec leaves open, so that no sum downstream
 * can overflow: units per record, and pay-policy values. */
#define HRS_MAX_MINUTES IDENT_MAX_MINUTES
#define HRS_MAX_UNITS IDENT_MAX_UNITS
#define HRS_MAX_PAY_BAND IDENT_MAX_PAY_BAND

/* Pay-policy defaults of DOMAIN.md. */
#define HRS_DEFAULT_WEEKLY_CAP 2400
#define HRS_DEFAULT_DAILY_CAP 600
#define HRS_DEFAULT_BACKDATE_DAYS 7

/* "None" for an optional date (no end date, never released, never cleared). */
#define HRS_NO_DATE INT32_MAX

typedef enum {
    HRS_REGIME_NONE = 0,
    HRS_REGIME_CLOSED = 1,
    HRS_REGIME_OPEN = 2,
} hrs_regime_t;

/* The answer to one record or row. `message` names the offending field or
 * value; for OK it says what happened. `replay` is set when check 2 found
 * the same record already accepted: the answer is the first one again and
 * nothing may change. */
typedef struct {
    Pay__Status status;
    bool replay;
    char message[HRS_MSG_LEN];
} hrs_verdict_t;

/* ---- Enum spellings (exact, case-sensitive) ---------------------------- */

/* Each returns 0 and sets *out, or -1 for anything but the exact spelling. */
int hrs_session_parse(const char *s, Pay__Session *out);
int hrs_outcome_parse(const char *s, Pay__Outcome *out);
int hrs_work_type_parse(const char *s, Pay__WorkType *out);
int hrs_level_parse(const char *s, Pay__IncentiveLevel *out);
int hrs_regime_parse(const char *s, hrs_regime_t *out);
/* "yes" / "no"; an empty cell is `empty_value` (-1 refuses an empty cell). */
int hrs_yesno_parse(const char *s, int empty_value, bool *out);

/* The spellings; "?" for a value outside the enum. */
const char *hrs_session_name(Pay__Session v);
const char *hrs_outcome_name(Pay__Outcome v);
const char *hrs_work_type_name(Pay__WorkType v);
const char *hrs_level_name(Pay__IncentiveLevel v);
const char *hrs_regime_name(hrs_regime_t v);

/* Identifier patterns and UTF-8: ident.h, shared with the consumers. */

/* ---- Capturing hours ---------------------------------------------------- */

typedef struct {
    const char *record_id;
    const char *prisoner;
    const char *contract;
    const char *date;
    const char *session;
    const char *minutes;
    const char *units;         /* empty means 0 */
    const char *outcome;
    const char *paid_absence;  /* empty means no */
} hrs_record_text_t;

typedef struct {
    char record_id[HRS_RECORD_ID_LEN];
    char prisoner[HRS_PRISONER_LEN];
    char contract[HRS_CONTRACT_LEN];
    int32_t date;              /* days since 1970-01-01 */
    Pay__Session session;
    uint32_t minutes;
    uint64_t units;
    Pay__Outcome outcome;
    bool paid_absence;
} hrs_record_t;

/* Check 1. Returns 0 and fills *out (verdict OK), or -1 with verdict
 * INVALID_ARGUMENT naming the first malformed field, in column order. */
int hrs_rules_parse_record(const hrs_record_text_t *in, hrs_record_t *out,
                           hrs_verdict_t *v);

/* The amendable part of a record (new minutes, units, outcome, flag). */
typedef struct {
    const char *minutes;
    const char *units;
    const char *outcome;
    const char *paid_absence;
} hrs_amend_text_t;

/* Parses an amendment onto a copy of `old` (INVALID_ARGUMENT on a malformed
 * field). Returns 0 or -1. */
int hrs_rules_parse_amend(const hrs_amend_text_t *in, const hrs_record_t *old,
                          hrs_record_t *out, hrs_verdict_t *v);

/* 1 if two parsed records have the same content in every field. */
bool hrs_record_same(const hrs_record_t *a, const hrs_record_t *b);

/* One prisoner's state on one date, already resolved from their history
 * (see hrs_rules_custody_on and friends below). */
typedef struct {
    bool exists;
    char custody[HRS_PRISON_LEN];  /* prison in force on the date */
    int32_t released_on;           /* HRS_NO_DATE if never released */
    Pay__IncentiveLevel level;     /* level in force on the date */
    int32_t cleared_on;            /* HRS_NO_DATE if not cleared */
} hrs_prisoner_facts_t;

typedef struct {
    bool exists;
    char prison[HRS_PRISON_LEN];
    char employer[HRS_EMPLOYER_LEN];
    Pay__WorkType work_type;
    int32_t start;
    int32_t end;                   /* HRS_NO_DATE if open-ended */
    bool attested;
    bool public_contact;
} hrs_contract_facts_t;

/* The pay policy of a prison, as in force on some date. */
typedef struct {
    uint32_t weekly_cap;
    uint32_t daily_cap;
    uint32_t backdate_days;
} hrs_policy_t;

/* Everything checks 2 to 13 need. Minutes and the clash exclude the record
 * itself (for an amendment) and include earlier accepted records of the
 * same batch (the service writes as it goes). */
typedef struct {
    const hrs_record_t *rec;
    const hrs_record_t *existing;  /* accepted record with rec's id, or NULL */
    hrs_prisoner_facts_t prisoner;
    hrs_contract_facts_t contract;
    bool allocated;                /* to rec->contract on rec->date */
    uint32_t pay_band;
    bool clash;                    /* a live record on the same date+session */
    char clash_id[HRS_RECORD_ID_LEN];
    uint64_t day_minutes;          /* live minutes of the prisoner that date */
    uint64_t week_minutes;         /* live minutes of the prisoner that ISO week */
    int32_t today;
    auth_role_t role;
    const char *scope;             /* the caller's prison scope, or "" */
    hrs_policy_t policy;           /* the contract prison's, on rec->date */
    hrs_policy_t policy_today;     /* the same prison's, today: backdate limit */
    bool week_closed;              /* contract prison's pay week of the date */
} hrs_capture_facts_t;

/* Checks 2 to 13 in order. Returns the verdict's status. */
Pay__Status hrs_rules_check_capture(const hrs_capture_facts_t *f, hrs_verdict_t *v);

/* Check 1 then checks 2-13 for facts built around the parsed record; the
 * form the unit tests use. `f->rec` is ignored and set to a local. */
Pay__Status hrs_rules_check_text(const hrs_record_text_t *in,
                                 hrs_capture_facts_t *f, hrs_verdict_t *v);

/* An amendment: check 5 (caller), 13 (week open), then 10 and 11 on the new
 * minutes. `f->rec` is the amended record; day/week minutes exclude the old. */
Pay__Status hrs_rules_check_amend(const hrs_capture_facts_t *f, hrs_verdict_t *v);

/* A void: check 5 (caller), then 13 (week open). */
Pay__Status hrs_rules_check_void(const hrs_capture_facts_t *f, hrs_verdict_t *v);

/* Check 5 alone: may this caller record hours at `prison`? */
bool hrs_rules_may_record(auth_role_t role, const char *scope, const char *prison);

/* Closing a pay week: finance only. */
Pay__Status hrs_rules_check_close_week(auth_role_t role, const char *prison,
                                       bool prison_exists, hrs_verdict_t *v);

/* ---- Resolving effective-dated history ---------------------------------- */

typedef struct {
    int32_t from;
    char prison[HRS_PRISON_LEN];
} hrs_transfer_t;

typedef struct {
    int32_t from;
    Pay__IncentiveLevel level;
} hrs_level_change_t;

typedef struct {
    int32_t from;
    int32_t to;                    /* HRS_NO_DATE if open-ended */
    uint32_t pay_band;
} hrs_allocation_t;

typedef struct {
    int32_t from;                  /* INT32_MIN for the prison's base policy */
    hrs_policy_t policy;
} hrs_policy_row_t;

/* The prison in force on `date`: the transfer with the latest `from` on or
 * before the date, else the prison the prisoner started with. Transfers may
 * be in any order. */
const char *hrs_rules_custody_on(const char *start_prison,
                                 const hrs_transfer_t *t, int n, int32_t date);

Pay__IncentiveLevel hrs_rules_level_on(Pay__IncentiveLevel start_level,
                                       const hrs_level_change_t *c, int n,
                                       int32_t date);

/* Among the allocations (of one prisoner to one contract) that cover the
 * date, both ends inclusive, the one with the latest `from`. Returns its
 * index, or -1 if none covers the date. */
int hrs_rules_allocation_on(const hrs_allocation_t *a, int n, int32_t date);

/* The policy row with the latest `from` on or before `date`; the defaults
 * if none applies. */
hrs_policy_t hrs_rules_policy_on(const hrs_policy_row_t *p, int n, int32_t date);

hrs_policy_t hrs_rules_policy_default(void);

/* ---- Reference data ----------------------------------------------------- */

/* Who is asking, for the PERMISSION_DENIED checks of reference rows. */
typedef struct {
    auth_role_t role;
    const char *scope;             /* "" or "-" means every prison */
} hrs_caller_t;

/* Prison: code,name,regime plus the base pay policy (0 = default). */
typedef struct {
    const char *code;
    const char *name;
    const char *regime;
    bool has_weekly_cap, has_daily_cap, has_backdate_days;
    uint32_t weekly_cap, daily_cap, backdate_days;
} hrs_prison_text_t;

typedef struct {
    char code[HRS_PRISON_LEN];
    char name[HRS_TEXT_LEN];
    hrs_regime_t regime;
    hrs_policy_t policy;
} hrs_prison_t;

int hrs_rules_parse_prison(const hrs_prison_text_t *in, hrs_prison_t *out,
                           hrs_verdict_t *v);
/* `has_outside_contracts`: the prison already has OUTSIDE contracts, so it
 * cannot become CLOSED (REGIME_MISMATCH). Industries only. */
Pay__Status hrs_rules_check_prison(const hrs_prison_t *p, bool has_outside_contracts,
                                   const hrs_caller_t *c, hrs_verdict_t *v);

/* An effective-dated change of a prison's pay policy. */
typedef struct {
    const char *prison;
    const char *effective_from;
    bool has_weekly_cap, has_daily_cap, has_backdate_days;
    uint32_t weekly_cap, daily_cap, backdate_days;
} hrs_policy_text_t;

typedef struct {
    char prison[HRS_PRISON_LEN];
    int32_t from;
    hrs_policy_t policy;
} hrs_policy_change_t;

int hrs_rules_parse_policy(const hrs_policy_text_t *in, hrs_policy_change_t *out,
                           hrs_verdict_t *v);
/* Industries, or the governor of that prison. */
Pay__Status hrs_rules_check_policy(const hrs_policy_change_t *p, bool prison_exists,
                                   const hrs_caller_t *c, hrs_verdict_t *v);

/* Prisoner: number,prison,incentive_level,public_contact_cleared_on,released_on */
typedef struct {
    const char *number;
    const char *prison;
    const char *incentive_level;
    const char *public_contact_cleared_on;   /* empty: not cleared */
    const char *released_on;                 /* empty: in custody */
} hrs_prisoner_text_t;

typedef struct {
    char number[HRS_PRISONER_LEN];
    char prison[HRS_PRISON_LEN];
    Pay__IncentiveLevel level;
    int32_t cleared_on;
    int32_t released_on;
} hrs_prisoner_t;

int hrs_rules_parse_prisoner(const hrs_prisoner_text_t *in, hrs_prisoner_t *out,
                             hrs_verdict_t *v);
Pay__Status hrs_rules_check_prisoner(const hrs_prisoner_t *p, bool prison_exists,
                                     const hrs_caller_t *c, hrs_verdict_t *v);

/* Contract: id,employer,prison,activity,work_type,start,end,public_contact,
 * attested_by,attested_on,attestation_ref. The attestation is all three of
 * its cells or none of them. */
typedef struct {
    const char *id;
    const char *employer;
    const char *prison;
    const char *activity;
    const char *work_type;
    const char *start;
    const char *end;
    const char *public_contact;
    const char *attested_by;
    const char *attested_on;
    const char *attestation_ref;
} hrs_contract_text_t;

typedef struct {
    char id[HRS_CONTRACT_LEN];
    char employer[HRS_EMPLOYER_LEN];
    char prison[HRS_PRISON_LEN];
    char activity[HRS_TEXT_LEN];
    Pay__WorkType work_type;
    int32_t start;
    int32_t end;
    bool public_contact;
    bool attested;
    char attested_by[HRS_TEXT_LEN];
    int32_t attested_on;
    char attestation_ref[HRS_TEXT_LEN];
} hrs_contract_t;

int hrs_rules_parse_contract(const hrs_contract_text_t *in, hrs_contract_t *out,
                             hrs_verdict_t *v);
/* `prison_regime` is HRS_REGIME_NONE when the prison does not exist;
 * `employer_known`: the invoice feed has published the employer. */
Pay__Status hrs_rules_check_contract(const hrs_contract_t *k, hrs_regime_t prison_regime,
                                     bool employer_known,
                                     const hrs_caller_t *c, hrs_verdict_t *v);

/* Allocation: prisoner,contract,from,to,pay_band */
typedef struct {
    const char *prisoner;
    const char *contract;
    const char *from;
    const char *to;                /* empty: open-ended */
    const char *pay_band;
} hrs_allocation_text_t;

typedef struct {
    char prisoner[HRS_PRISONER_LEN];
    char contract[HRS_CONTRACT_LEN];
    int32_t from;
    int32_t to;
    uint32_t pay_band;
} hrs_allocation_row_t;

int hrs_rules_parse_allocation(const hrs_allocation_text_t *in,
                               hrs_allocation_row_t *out, hrs_verdict_t *v);
/* `contract_prison` is the contract's prison ("" if the contract is unknown). */
Pay__Status hrs_rules_check_allocation(const hrs_allocation_row_t *a,
                                       bool prisoner_exists, bool contract_exists,
                                       const char *contract_prison,
                                       const hrs_caller_t *c, hrs_verdict_t *v);

/* Transfer: prisoner,prison,effective_from */
typedef struct {
    const char *prisoner;
    const char *prison;
    const char *effective_from;
} hrs_transfer_text_t;

typedef struct {
    char prisoner[HRS_PRISONER_LEN];
    char prison[HRS_PRISON_LEN];
    int32_t from;
} hrs_transfer_row_t;

int hrs_rules_parse_transfer(const hrs_transfer_text_t *in, hrs_transfer_row_t *out,
                             hrs_verdict_t *v);
Pay__Status hrs_rules_check_transfer(const hrs_transfer_row_t *t, bool prisoner_exists,
                                     bool prison_exists, const hrs_caller_t *c,
                                     hrs_verdict_t *v);

/* Incentive level: prisoner,incentive_level,effective_from */
typedef struct {
    const char *prisoner;
    const char *incentive_level;
    const char *effective_from;
} hrs_level_text_t;

typedef struct {
    char prisoner[HRS_PRISONER_LEN];
    Pay__IncentiveLevel level;
    int32_t from;
} hrs_level_row_t;

int hrs_rules_parse_level(const hrs_level_text_t *in, hrs_level_row_t *out,
                          hrs_verdict_t *v);
/* `prisoner_prison` is where the prisoner is now, for a prison-scoped caller. */
Pay__Status hrs_rules_check_level(const hrs_level_row_t *l, bool prisoner_exists,
                                  const char *prisoner_prison,
                                  const hrs_caller_t *c, hrs_verdict_t *v);

/* May this caller manage reference data at all (industries), and for
 * `prison` in particular? Used for the request-level gate too. */
bool hrs_rules_may_manage(const hrs_caller_t *c, const char *prison);

#endif
