/* wage_journal: the text forms of the wage ledger: an hledger journal, and
 * the CSV exports of FORMATS.md (payroll, prisoner ledger).
 *
 * Why this module exists: anyone must be able to check the ledger without
 * our code, so the journal is plain hledger syntax (`hledger -f FILE
 * balance` totals 0), and the CSV columns are exactly those of FORMATS.md.
 * Pure formatting: no store, no sockets.
 *
 * Ownership: output goes into a caller-owned wage_text_t, a growable
 * buffer freed with wage_text_free. */
#ifndef PAY_WAGE_JOURNAL_H
#define PAY_WAGE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wages.pb-c.h"

typedef struct {
    char *data;      /* NUL-terminated, or NULL while empty */
    size_t len, cap;
    int failed;      /* an allocation failed; the text is incomplete */
} wage_text_t;

void wage_text_free(wage_text_t *t);
void wage_text_printf(wage_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends `s` as one RFC 4180 CSV field (quoted when it must be). */
void wage_text_csv_field(wage_text_t *t, const char *s);

/* The line kind as the journal and CSV show it ("pay", "reversal", ...). */
const char *wage_journal_kind_name(Pay__LineKind kind);

/* The line's description, or one derived from its kind and reference
 * ("pay r-000123", "reversal of line 17 (r-000123)"). */
void wage_journal_describe(const Pay__LedgerLine *line, char *out, size_t outlen);

/* One ledger line as an hledger transaction: the debit account takes the
 * amount, the credit account its negation, so every transaction balances. */
void wage_journal_line(wage_text_t *t, const Pay__LedgerLine *line);

/* The header comment of an exported journal. */
void wage_journal_header(wage_text_t *t);

/* The hledger account type of a wage ledger account: X (expense) for a
 * prison's wages, outside wages and adjustments; L (liability) for what is
 * owed: prisoners' spends, HMRC, courts, child maintenance, the levy. */
char wage_journal_account_type(const char *account);

/* Turns the transactions written by wage_journal_line (in ledger order,
 * dated by the work they pay for, with any header comments) into a
 * journal that accounting tools accept as it is: the header, a commodity
 * directive, an `account` directive with its type for every account used,
 * then the transactions sorted by date (stable: ledger order within a
 * day), so that `hledger check --strict ordereddates` passes and
 * `hledger bs` / `hledger is` show liabilities and expenses. Appends to
 * *out; returns 0, or -1 if out of memory. */
int wage_journal_finish(const char *raw, size_t len, wage_text_t *out);

#define WAGE_PAYROLL_CSV_HEADER \
    "prison,week,prisoner,sessions,minutes,gross,top_up,deductions,levy,net\r\n"
#define WAGE_LEDGER_CSV_HEADER \
    "date,week,entry,description,debit_account,credit_account,amount,balance\r\n"

void wage_csv_payroll_row(wage_text_t *t, const char *prison, const char *week,
                          const Pay__PayrollRow *row);
void wage_csv_ledger_row(wage_text_t *t, const Pay__LedgerLine *line);

#endif
