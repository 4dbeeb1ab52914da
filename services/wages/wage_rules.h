/* wage_rules: the wage rules of DOMAIN.md ("Calculating wages") as pure
 * functions over plain structs.
 *
 * Why this module exists: every pence a prisoner is paid is decided here,
 * and nowhere else, so that the rules can be tested exhaustively without
 * sockets, transactions or a clock. The storage and feed code only gathers
 * the inputs (the rate rows for one key, the week's totals) and posts the
 * lines these functions return.
 *
 * Money is int64_t pence, durations are minutes, dates are civil days
 * (civil.h). The enums use the numbers of hours_feed.proto and
 * common.proto so that the service converts by a plain cast.
 *
 * Ownership: nothing here allocates. Functions that return a pointer return
 * a pointer into the caller's array (or NULL); output structs are filled by
 * the caller's storage. */
#ifndef PAY_WAGE_RULES_H
#define PAY_WAGE_RULES_H

#include <stddef.h>
#include <stdint.h>

#define WAGE_PRISON_LEN 4      /* "MDI" + NUL */
#define WAGE_PRISONER_LEN 8    /* "A1234BC" + NUL */
#define WAGE_CONTRACT_LEN 25   /* 24 characters + NUL */
#define WAGE_ACCOUNT_LEN 48

/* Same numbers as pay.Outcome. */
typedef enum {
    WAGE_OUTCOME_UNSPECIFIED = 0,
    WAGE_ATTENDED = 1,
    WAGE_SICK = 2,
    WAGE_REST = 3,
    WAGE_OTHER = 4,
    WAGE_NOT_REQUIRED = 5,
    WAGE_CLASH = 6,
    WAGE_CANCELLED = 7,
    WAGE_REFUSED = 8,
    WAGE_SUSPENDED = 9,
} wage_outcome_t;

/* Same numbers as pay.WorkType. */
typedef enum {
    WAGE_WORK_UNSPECIFIED = 0,
    WAGE_WORKSHOP = 1,
    WAGE_OUTSIDE = 2,
} wage_work_type_t;

/* Same numbers as pay.IncentiveLevel. */
typedef enum {
    WAGE_LEVEL_UNSPECIFIED = 0,
    WAGE_BAS = 1,
    WAGE_ENT = 2,
    WAGE_STD = 3,
    WAGE_ENH = 4,
    WAGE_EN2 = 5,
} wage_level_t;

typedef enum {
    WAGE_BASIS_UNSPECIFIED = 0,
    WAGE_BASIS_SESSION = 1,
    WAGE_BASIS_HOURLY = 2,
} wage_basis_t;

/* pay.DeductionKind minus 1; the order is also the order in which
 * a capped total is applied (tax and NI are deducted at source first). */
typedef enum {
    WAGE_INCOME_TAX = 0,
    WAGE_NATIONAL_INSURANCE = 1,
    WAGE_COURT_ORDER = 2,
    WAGE_CHILD_MAINTENANCE = 3,
    WAGE_DEDUCTION_KINDS = 4,
} wage_deduction_kind_t;

/* The result of checking a governor's or finance's row. */
typedef enum {
    WAGE_CHECK_OK = 0,
    WAGE_CHECK_INVALID,            /* malformed: unknown basis, items 0 ... */
    WAGE_CHECK_RATE_OUT_OF_BOUNDS,
    WAGE_CHECK_BELOW_LIVING_WAGE,
} wage_check_t;

/* A prison's pay policy (configurable per prison, effective-dated). */
typedef struct {
    int32_t effective_from;
    int64_t min_weekly_pay;        /* 400p (PSO 4460) */
    int64_t session_min, session_max;   /* 125p .. 525p */
    int64_t hourly_min, hourly_max;     /* 30p .. 250p */
    int64_t piece_max;             /* 800p */
} wage_policy_t;

/* One pay-rate row: (prison, pay band, incentive level, effective_from). */
typedef struct {
    char prison[WAGE_PRISON_LEN];
    uint32_t pay_band;             /* 1..10 */
    wage_level_t level;
    int32_t effective_from;
    wage_basis_t basis;
    int64_t rate;                  /* pence per session or per hour */
    int64_t piece_pence;           /* 0 with piece_items 0: no piece rate */
    uint64_t piece_items;
} wage_rate_t;

/* One outside-wage row: (contract, effective_from). */
typedef struct {
    char contract[WAGE_CONTRACT_LEN];
    int32_t effective_from;
    int64_t hourly_wage;           /* pence per hour */
} wage_outside_t;

/* What pricing needs of one hours record. */
typedef struct {
    wage_work_type_t work_type;
    wage_outcome_t outcome;
    int paid_absence;
    uint32_t minutes;
    uint64_t units;
} wage_record_t;

typedef struct {
    int64_t pence;                 /* the priced line, >= 0 */
    int paid;                      /* the outcome is paid */
    int no_rate;                   /* paid, but no rate applied: NO_RATE */
    int attended_workshop;         /* counts towards the top-up condition */
} wage_price_t;

/* One line of the double-entry ledger: debit one account, credit another,
 * by the same signed amount. A reversal keeps the accounts and negates the
 * amount, so the sum over every account stays zero. */
typedef enum {
    WAGE_LINE_PAY = 1,
    WAGE_LINE_REVERSAL = 2,
    WAGE_LINE_TOP_UP = 3,
    WAGE_LINE_DEDUCTION = 4,
    WAGE_LINE_LEVY = 5,
    WAGE_LINE_ADJUSTMENT = 6,
} wage_line_kind_t;

typedef struct {
    wage_line_kind_t kind;
    char debit[WAGE_ACCOUNT_LEN];
    char credit[WAGE_ACCOUNT_LEN];
    int64_t amount;
} wage_line_t;

/* The week of one prisoner at one prison, as the close needs it. The pay
 * totals are sums of the live priced lines (reversals included). */
typedef struct {
    int64_t workshop_pay;
    int64_t outside_pay;
    int64_t adjustments;           /* finance's pay adjustments, signed */
    uint32_t attended_workshop;    /* live ATTENDED WORKSHOP records */
    int deductions_apply;          /* this is the prisoner's last prison */
    int64_t deductions[WAGE_DEDUCTION_KINDS];   /* as finance recorded them */
    int64_t min_weekly_pay;
} wage_week_in_t;

typedef struct {
    int64_t gross;                 /* workshop + outside + adjustments */
    int64_t top_up;
    int64_t deductions[WAGE_DEDUCTION_KINDS];   /* as applied (capped) */
    int64_t deductions_total;
    int64_t net_outside;
    int64_t levy;
    int64_t net;                   /* gross + top_up - deductions - levy */
} wage_week_out_t;

/* Most lines one week close posts: top-up, each deduction kind, levy. */
#define WAGE_CLOSE_MAX_LINES (2 + WAGE_DEDUCTION_KINDS)

/* The Prisoners' Earnings Act levy: 40% of net outside pay above £20. */
#define WAGE_LEVY_THRESHOLD 2000
#define WAGE_LEVY_PERCENT 40

/* The defaults of DOMAIN.md ("Reference data"), effective from the start. */
void wage_policy_default(wage_policy_t *policy);

/* National Living Wage default (pence per hour, from 2026-04-01). */
#define WAGE_LIVING_WAGE_DEFAULT 1271

/* 1 if a record with this outcome is paid: ATTENDED, NOT_REQUIRED, CLASH and
 * CANCELLED always; SICK, REST and OTHER only with the paid-absence flag;
 * REFUSED, SUSPENDED (and anything unknown) never. */
int wage_outcome_is_paid(wage_outcome_t outcome, int paid_absence);

/* The row of `rows` for (prison, pay_band, level) with the latest
 * effective_from on or before `date`, or NULL if none applies. The rows
 * may be in any order; rows for other keys are ignored. */
const wage_rate_t *wage_rate_select(const wage_rate_t *rows, size_t n,
                                    const char *prison, uint32_t pay_band,
                                    wage_level_t level, int32_t date);

/* The same for outside wages of one contract. */
const wage_outside_t *wage_outside_select(const wage_outside_t *rows, size_t n,
                                          const char *contract, int32_t date);

/* The same for policies (rows of one prison); NULL if none. */
const wage_policy_t *wage_policy_select(const wage_policy_t *rows, size_t n,
                                        int32_t date);

/* Prices one record. `rate` is the WORKSHOP rate row in force (or NULL),
 * `outside` the outside wage in force (or NULL); only the one matching the
 * record's work type is read. Returns 0, or -1 (and a zero price) if the
 * record is not priceable: unknown work type or a piece count so large that
 * the pay would overflow. */
int wage_price_record(const wage_record_t *rec, const wage_rate_t *rate,
                      const wage_outside_t *outside, wage_price_t *out);

/* Checks a rate row against the prison's policy: basis known, band 1..10,
 * level known, and session 125..525p / hourly 30..250p / piece <= 800p by
 * default. A piece rate needs both pence (>= 0) and items (>= 1). */
wage_check_t wage_rate_check(const wage_policy_t *policy, const wage_rate_t *rate);

/* Checks an outside wage: at least the living wage (positive) in force. */
wage_check_t wage_outside_check(int64_t living_wage, const wage_outside_t *row);

/* Checks a policy row: every bound >= 0 and min <= max. */
wage_check_t wage_policy_check(const wage_policy_t *policy);

/* The levy on a week's net outside pay. */
int64_t wage_levy(int64_t net_outside);

/* Closes one prisoner's week at one prison: top-up, capped deductions,
 * levy, payslip. Pure arithmetic, in the spec's order. */
void wage_week_close(const wage_week_in_t *in, wage_week_out_t *out);

/* Account names. `out` must hold WAGE_ACCOUNT_LEN bytes. */
void wage_account_prison_wages(const char *prison, char *out);      /* prison:MDI:wages */
void wage_account_prison_outside(const char *prison, char *out);    /* prison:MDI:outside-wages */
void wage_account_prison_adjustments(const char *prison, char *out);/* prison:MDI:adjustments */
void wage_account_spends(const char *prisoner, char *out);          /* prisoner:A1234BC:spends */
const char *wage_account_deduction(wage_deduction_kind_t kind);     /* hmrc:income-tax ... */
#define WAGE_ACCOUNT_LEVY "fund:victims-levy"

/* "INCOME_TAX" ... ; NULL for an unknown kind. */
const char *wage_deduction_name(wage_deduction_kind_t kind);

/* The ledger line for a priced record: the prison's wages (WORKSHOP) or
 * outside wages (OUTSIDE) to the prisoner's spends. A zero price still
 * gets a line, so that every record is visible on the ledger and its
 * reversal is always exact. */
void wage_line_for_price(const char *prison, const char *prisoner,
                         wage_work_type_t work_type, int64_t pence,
                         wage_line_t *out);

/* A finance adjustment (signed) as a line. */
void wage_line_for_adjustment(const char *prison, const char *prisoner,
                              int64_t amount, wage_line_t *out);

/* The exact reversal of a stored line: same accounts, negated amount. */
void wage_line_reverse(const wage_line_t *line, wage_line_t *out);

/* The lines of a week close (only the non-zero ones: top-up, each applied
 * deduction kind, levy). Returns how many were written to `out`. */
size_t wage_close_lines(const char *prison, const char *prisoner,
                        const wage_week_out_t *week,
                        wage_line_t out[WAGE_CLOSE_MAX_LINES]);

/* The signed effect of `line` on `account` in hledger's convention
 * (debits positive, credits negative); 0 if it does not touch it. */
int64_t wage_line_effect(const wage_line_t *line, const char *account);

/* ---- custody (DOMAIN.md: deductions "apply at the last prison where the
 * prisoner was in custody during that week") ---- */

#define WAGE_NO_DATE INT32_MAX

typedef struct {
    int32_t from;                  /* civil day the transfer takes effect */
    char prison[WAGE_PRISON_LEN];
} wage_transfer_t;

/* A prisoner's custody history: the starting prison (in force from the
 * beginning), transfers in any order, and the release date (WAGE_NO_DATE
 * while in custody; not in custody from that day on). */
typedef struct {
    char prison[WAGE_PRISON_LEN];
    const wage_transfer_t *transfers;
    size_t n;
    int32_t released_on;
} wage_custody_t;

/* The prison of custody on `day` (the transfer with the latest `from` on
 * or before it, else the starting prison), or NULL if released by then. */
const char *wage_custody_on(const wage_custody_t *c, int32_t day);

/* The last prison where the prisoner was in custody during the ISO week
 * starting `monday` (the custody of the latest day, Sunday back to Monday,
 * on which they were in custody), or NULL if on none. */
const char *wage_custody_last_in_week(const wage_custody_t *c, int32_t monday);

#endif
