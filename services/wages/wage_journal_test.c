/* wage_journal_test: wage_journal_finish on transactions given out of date
 * order (as the ledger holds them: in posting order, dated by the work):
 * sorted by date, stable within a day, every account declared with its
 * type, and hledger accepts it (check --strict ordereddates; bs shows the
 * liabilities, is the expenses). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "wage_journal.h"

static Pay__LedgerLine s_l(uint64_t seq, const char *date, const char *debit, const char *credit,
                           int64_t amount)
{
    Pay__LedgerLine l = PAY__LEDGER_LINE__INIT;
    l.has_seq = l.has_amount = l.has_kind = 1;
    l.seq = seq;
    l.date = (char *)date;
    l.debit = (char *)debit;
    l.credit = (char *)credit;
    l.amount = amount;
    l.kind = PAY__LINE_KIND__LINE_PAY;
    l.prisoner = "A1234BC";
    l.ref = "r-1";
    return l;
}

int main(void)
{
    Pay__LedgerLine lines[] = {
        s_l(1, "2026-11-12", "prison:MDI:wages", "prisoner:A1234BC:spends", 450),
        s_l(2, "2026-11-10", "prison:MDI:wages", "prisoner:A1234BC:spends", 300),
        s_l(3, "2026-11-12", "prison:MDI:outside-wages", "prisoner:A1234BC:spends", 1283),
        s_l(4, "2026-11-16", "prisoner:A1234BC:spends", "hmrc:income-tax", 120),
        s_l(5, "2026-11-16", "prisoner:A1234BC:spends", "fund:victims-levy", 50),
        s_l(6, "2026-11-11", "prison:MDI:adjustments", "prisoner:A1234BC:spends", 25),
    };
    wage_text_t raw = { 0 }, out = { 0 };
    wage_journal_header(&raw);
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        wage_journal_line(&raw, &lines[i]);
    TAP_EQ_INT(wage_journal_finish(raw.data, raw.len, &out), 0, "finish");
    const char *t = out.data ? out.data : "";
    const char *order[] = { "seq:2,", "seq:6,", "seq:1,", "seq:3,", "seq:4,", "seq:5," };
    const char *at = t;
    int in_order = 1;
    for (size_t i = 0; i < 6; i++) {
        const char *p = strstr(at, order[i]);
        in_order = in_order && p;
        at = p ? p : at;
    }
    TAP_OK(in_order, "transactions by date, ledger order within a day (2, 6, 1, 3, 4, 5)");
    TAP_OK(strstr(t, "commodity 1000.00 GBP") != NULL, "the commodity is declared");
    struct {
        const char *account;
        char type;
    } want[] = {
        { "prison:MDI:wages", 'X' }, { "prison:MDI:outside-wages", 'X' },
        { "prison:MDI:adjustments", 'X' }, { "prisoner:A1234BC:spends", 'L' },
        { "hmrc:income-tax", 'L' }, { "fund:victims-levy", 'L' },
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char decl[160];
        snprintf(decl, sizeof decl, "account %-44s  ; type: %c\n", want[i].account, want[i].type);
        bad += !strstr(t, decl);
        bad += wage_journal_account_type(want[i].account) != want[i].type;
    }
    TAP_EQ_INT(bad, 0, "each account declared once with its type (expenses X, liabilities L)");
    size_t declared = 0;
    for (const char *p = t; (p = strstr(p, "\naccount ")) != NULL; p++)
        declared++;
    TAP_EQ_INT(declared, 6, "six accounts, no duplicates");
    wage_text_t again = { 0 };
    wage_journal_finish(out.data, out.len, &again);
    TAP_OK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0,
           "finishing a finished journal changes nothing");
    wage_text_t empty = { 0 };
    TAP_EQ_INT(wage_journal_finish("", 0, &empty), 0, "an empty ledger");
    TAP_OK(empty.data && strstr(empty.data, "commodity"), "is still a journal");

    char path[] = "/tmp/wage_journal_test.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f) {
        fwrite(out.data, 1, out.len, f);
        fclose(f);
    }
    char cmd[512];
    if (system("command -v hledger >/dev/null 2>&1") != 0) {
        TAP_NOTE("hledger not installed: hledger checks skipped");
    } else {
        snprintf(cmd, sizeof cmd, "hledger -f %s check --strict ordereddates", path);
        TAP_EQ_INT(system(cmd), 0, "hledger check --strict ordereddates passes");
        snprintf(cmd, sizeof cmd, "hledger -f %s bs -N --flat | grep -q 'prisoner:A1234BC:spends'",
                 path);
        TAP_EQ_INT(system(cmd), 0, "hledger bs shows what is owed to the prisoner");
        snprintf(cmd, sizeof cmd, "hledger -f %s is -N --flat | grep -q 'prison:MDI:wages'", path);
        TAP_EQ_INT(system(cmd), 0, "hledger is shows the prison's wage expense");
        /* The unsorted text fails the same check: the test can fail. */
        char raw_path[] = "/tmp/wage_journal_raw.XXXXXX";
        int rfd = mkstemp(raw_path);
        FILE *rf = rfd >= 0 ? fdopen(rfd, "w") : NULL;
        if (rf) {
            fwrite(raw.data, 1, raw.len, rf);
            fclose(rf);
        }
        snprintf(cmd, sizeof cmd, "hledger -f %s check ordereddates >/dev/null 2>&1", raw_path);
        TAP_OK(system(cmd) != 0, "(the ledger-order text alone fails ordereddates)");
        unlink(raw_path);
    }
    unlink(path);
    wage_text_free(&raw);
    wage_text_free(&out);
    wage_text_free(&again);
    wage_text_free(&empty);
    return tap_done();
}
