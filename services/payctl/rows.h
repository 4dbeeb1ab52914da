/* rows: the CSV layouts of spec/FORMATS.md, as pure parsers from one CSV
 * record (an array of cells) to a plain struct per kind.
 *
 * The rules applied are those of FORMATS.md and the identifier patterns of
 * DOMAIN.md: an empty cell means "none" where a column is optional and is
 * refused where it is required; money is pounds with 0 to 2 decimals,
 * parsed exactly by money_parse (never floating point) into pence; booleans
 * are exactly "yes" or "no"; dates are strict YYYY-MM-DD and real; weeks
 * are YYYY-Www. Cells are taken exactly as they are: nothing is trimmed and
 * nothing is case-folded, so " A1234BC" and "Yes" are refused. A record
 * with the wrong number of cells is refused. Every refusal is
 * INVALID_ARGUMENT with a message that starts with the column name.
 *
 * The services check the same things again and more (whether a prisoner
 * exists, whether a rate is within bounds); they are the authority. This
 * module refuses only what the spec itself rules out, so that a row
 * refused here would have been refused there with the same code, without
 * a round trip.
 *
 * Ownership: parsed strings point into the caller's cells and are valid as
 * long as the cells are (for a csv_reader_t row: until its next record).
 * Nothing here allocates or keeps state. */
#ifndef PAYCTL_ROWS_H
#define PAYCTL_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "civil.h"
#include "ident.h"

#define ROWS_ERR_LEN 256

typedef enum {
    ROWS_PRISONS = 0,
    ROWS_PRISONERS,
    ROWS_EMPLOYERS,
    ROWS_CONTRACTS,
    ROWS_ALLOCATIONS,
    ROWS_PAY_RATES,
    ROWS_OUTSIDE_WAGES,
    ROWS_BILLING_TERMS,
    ROWS_DEDUCTIONS,
    ROWS_TRANSFERS,
    ROWS_INCENTIVE_LEVELS,
    ROWS_HOURS,
    ROWS_KIND_COUNT
} rows_kind_t;

typedef struct {
    rows_kind_t kind;
    const char *name;               /* command word: "pay-rates" */
    const char *title;              /* FORMATS.md's name: "pay rates" */
    const char *const *columns;     /* the exact header */
    size_t ncolumns;
    size_t noptional;               /* trailing columns a file may leave out */
} rows_kind_info_t;

/* The layout of `kind` (a valid kind), never NULL. */
const rows_kind_info_t *rows_kind_info(rows_kind_t kind);

/* Finds a kind by its command word ("pay-rates"; "pay_rates" is accepted
 * too). Returns 0 and sets *kind, or -1. */
int rows_kind_parse(const char *name, rows_kind_t *kind);

typedef struct {
    const char *code;               /* DOMAIN.md code name: "INVALID_ARGUMENT" */
    char message[ROWS_ERR_LEN];     /* starts with the column name */
} rows_error_t;

/* ---- Enumerations (spelled exactly as in DOMAIN.md) -------------------- */

typedef enum { ROWS_REGIME_CLOSED = 0, ROWS_REGIME_OPEN } rows_regime_t;
typedef enum {
    ROWS_LEVEL_BAS = 0, ROWS_LEVEL_ENT, ROWS_LEVEL_STD, ROWS_LEVEL_ENH, ROWS_LEVEL_EN2
} rows_level_t;
typedef enum { ROWS_PERIOD_WEEKLY = 0, ROWS_PERIOD_MONTHLY } rows_period_t;
typedef enum { ROWS_WORK_WORKSHOP = 0, ROWS_WORK_OUTSIDE } rows_work_type_t;
typedef enum { ROWS_RATE_SESSION = 0, ROWS_RATE_HOURLY } rows_rate_basis_t;
typedef enum { ROWS_CHARGE_HOURLY = 0, ROWS_CHARGE_UNIT } rows_charge_basis_t;
typedef enum {
    ROWS_DED_INCOME_TAX = 0, ROWS_DED_NATIONAL_INSURANCE, ROWS_DED_COURT_ORDER,
    ROWS_DED_CHILD_MAINTENANCE
} rows_deduction_kind_t;
typedef enum { ROWS_SESSION_AM = 0, ROWS_SESSION_PM, ROWS_SESSION_ED } rows_session_t;
typedef enum {
    ROWS_OUT_ATTENDED = 0, ROWS_OUT_SICK, ROWS_OUT_REST, ROWS_OUT_OTHER,
    ROWS_OUT_NOT_REQUIRED, ROWS_OUT_CLASH, ROWS_OUT_CANCELLED, ROWS_OUT_REFUSED,
    ROWS_OUT_SUSPENDED
} rows_outcome_t;

/* ---- One struct per kind ------------------------------------------------
 * An optional string is NULL when its cell is empty; an optional date or
 * number has a has_ flag. */

typedef struct {
    const char *code;               /* ^[A-Z]{3}$ */
    const char *name;
    rows_regime_t regime;
} rows_prison_t;

typedef struct {
    const char *number;             /* ^[A-Z][0-9]{4}[A-Z]{2}$ */
    const char *prison;
    rows_level_t incentive_level;
    int has_cleared_on;
    int32_t public_contact_cleared_on;
    int has_released_on;
    int32_t released_on;
} rows_prisoner_t;

typedef struct {
    const char *id;                 /* ^[a-z0-9][a-z0-9-]{1,31}$ */
    const char *name;
    const char *address;
    const char *postcode;
    const char *vat_number;         /* NULL: none; else GB + 9 digits */
    const char *email;
    rows_period_t billing_period;
    int has_payment_terms_days;     /* 0: the default, 30 */
    uint32_t payment_terms_days;    /* 30 when the cell is empty */
    const char *peppol_endpoint;    /* NULL: none; else scheme:id */
} rows_employer_t;

typedef struct {
    const char *id;                 /* ^[A-Z0-9][A-Z0-9-]{0,23}$ */
    const char *employer;
    const char *prison;
    const char *activity;
    rows_work_type_t work_type;
    int32_t start;
    int has_end;
    int32_t end;                    /* inclusive, not before start */
    int public_contact;             /* empty means no, as the hours service reads it */
    int attested;                   /* the three attestation cells: all or none */
    const char *attested_by;
    int32_t attested_on;
    const char *attestation_ref;
} rows_contract_t;

typedef struct {
    const char *prisoner;
    const char *contract;
    int32_t from;
    int has_to;
    int32_t to;                     /* inclusive, not before from */
    uint32_t pay_band;              /* 1 to 10 */
} rows_allocation_t;

typedef struct {
    const char *prison;
    uint32_t pay_band;              /* 1 to 10 */
    rows_level_t incentive_level;
    int32_t effective_from;
    rows_rate_basis_t basis;
    int64_t rate;                   /* pence per session or per hour */
    int has_piece_rate;             /* piece_rate and piece_rate_items: both or none */
    int64_t piece_rate;             /* pence per piece_rate_items units */
    uint64_t piece_rate_items;      /* at least 1 */
} rows_pay_rate_t;

typedef struct {
    const char *contract;
    int32_t effective_from;
    int64_t hourly_wage;            /* pence per hour */
} rows_outside_wage_t;

typedef struct {
    const char *contract;
    int32_t effective_from;
    rows_charge_basis_t basis;
    int64_t charge;                 /* pence per prisoner-hour or per unit */
    uint32_t vat_rate_bp;           /* 0 to 10000 */
} rows_billing_terms_t;

typedef struct {
    const char *prisoner;
    civil_week_t week;
    rows_deduction_kind_t kind;
    int64_t amount;                 /* pence, >= 0 */
} rows_deduction_t;

typedef struct {
    const char *prisoner;
    const char *prison;
    int32_t effective_from;
} rows_transfer_t;

typedef struct {
    const char *prisoner;
    rows_level_t incentive_level;
    int32_t effective_from;
} rows_incentive_level_t;

typedef struct {
    const char *record_id;          /* 1 to 64 characters */
    const char *prisoner;
    const char *contract;
    int32_t date;
    rows_session_t session;
    uint32_t minutes;               /* 1 to 600 */
    uint64_t units;                 /* empty: 0 */
    rows_outcome_t outcome;
    int paid_absence;               /* empty: no */
} rows_hours_t;

typedef union {
    rows_prison_t prison;
    rows_prisoner_t prisoner;
    rows_employer_t employer;
    rows_contract_t contract;
    rows_allocation_t allocation;
    rows_pay_rate_t pay_rate;
    rows_outside_wage_t outside_wage;
    rows_billing_terms_t billing_terms;
    rows_deduction_t deduction;
    rows_transfer_t transfer;
    rows_incentive_level_t incentive_level;
    rows_hours_t hours;
} rows_value_t;

/* Each parser returns 0 with *out filled, or -1 with *err filled (and *out
 * unspecified). `cells` holds n NUL-terminated strings. */
int rows_parse_prison(const char *const *cells, size_t n, rows_prison_t *out, rows_error_t *err);
int rows_parse_prisoner(const char *const *cells, size_t n, rows_prisoner_t *out, rows_error_t *err);
int rows_parse_employer(const char *const *cells, size_t n, rows_employer_t *out, rows_error_t *err);
int rows_parse_contract(const char *const *cells, size_t n, rows_contract_t *out, rows_error_t *err);
int rows_parse_allocation(const char *const *cells, size_t n, rows_allocation_t *out,
                          rows_error_t *err);
int rows_parse_pay_rate(const char *const *cells, size_t n, rows_pay_rate_t *out, rows_error_t *err);
int rows_parse_outside_wage(const char *const *cells, size_t n, rows_outside_wage_t *out,
                            rows_error_t *err);
int rows_parse_billing_terms(const char *const *cells, size_t n, rows_billing_terms_t *out,
                             rows_error_t *err);
int rows_parse_deduction(const char *const *cells, size_t n, rows_deduction_t *out,
                         rows_error_t *err);
int rows_parse_transfer(const char *const *cells, size_t n, rows_transfer_t *out, rows_error_t *err);
int rows_parse_incentive_level(const char *const *cells, size_t n, rows_incentive_level_t *out,
                               rows_error_t *err);
int rows_parse_hours(const char *const *cells, size_t n, rows_hours_t *out, rows_error_t *err);

/* Dispatches on kind to the parser above; the union member is the kind's. */
int rows_parse(rows_kind_t kind, const char *const *cells, size_t n, rows_value_t *out,
               rows_error_t *err);

/* The exact spellings, for messages and for building requests. */
const char *rows_level_name(rows_level_t v);
const char *rows_session_name(rows_session_t v);
const char *rows_outcome_name(rows_outcome_t v);
const char *rows_deduction_kind_name(rows_deduction_kind_t v);

/* The row's key, as an import report names it: the record_id of an hours
 * row, or the upsert key columns of a reference row (DOMAIN.md "Upserts are
 * keyed") joined by '/', e.g. "A1234BC/C-0042/2026-01-05" for an
 * allocation. Cells beyond `n` are empty. Always NUL-terminated valid UTF-8
 * (invalid bytes become '?'), cut to fit `cap`. */
#define ROWS_KEY_LEN 320
void rows_key(rows_kind_t kind, const char *const *cells, size_t n, char *out, size_t cap);

#endif
