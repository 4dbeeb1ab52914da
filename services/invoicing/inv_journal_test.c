/* inv_journal_test: the invoicing journal from hand-built documents given
 * out of date order: balanced transactions in date order, every account
 * declared with its type, and hledger's own checks and reports agree
 * (receivables = what is outstanding, customer credit = what is not
 * allocated). hledger is in scripts/deps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "civil.h"
#include "inv_journal.h"
#include "tap.h"

static int32_t D(const char *s)
{
    int32_t d = 0;
    civil_parse_date(s, &d);
    return d;
}

static Pay__StoredLine s_line(const char *contract, int64_t net)
{
    Pay__StoredLine l = PAY__STORED_LINE__INIT;
    l.contract = (char *)contract;
    l.has_net = 1;
    l.net = net;
    return l;
}

/* Runs `hledger -f FILE ARGS` and returns its first line of output in out. */
static int s_hledger(const char *file, const char *args, char *out, size_t outlen)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "hledger -f %s %s 2>&1", file, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    out[0] = '\0';
    if (!fgets(out, (int)outlen, p))
        out[0] = '\0';
    char rest[256];
    while (fgets(rest, sizeof rest, p))
        ;
    int st = pclose(p);
    out[strcspn(out, "\n")] = '\0';
    return st;
}

int main(void)
{
    /* INV-000001 dhl 120.00 (C-0101 80.00, C-0102 20.00, VAT 20.00), issued
     * 2026-11-23; CRN-000001 dhl -36.00 (C-0101 -30.00, VAT -6.00) on
     * 2026-11-30, 36.00 allocated to INV-000001; INV-000002 tesco 30.00 on
     * 2026-11-16; payments: dhl 50.00 on 2026-12-01, tesco 30.00 on
     * 2026-11-20. */
    Pay__StoredLine l1[] = { s_line("C-0101", 8000), s_line("C-0102", 2000) };
    Pay__StoredLine *p1[] = { &l1[0], &l1[1] };
    Pay__StoredLine l2[] = { s_line("C-0101", -3000) };
    Pay__StoredLine *p2[] = { &l2[0] };
    Pay__StoredLine l3[] = { s_line("C-0201", 2500) };
    Pay__StoredLine *p3[] = { &l3[0] };
    Pay__StoredAllocation a = PAY__STORED_ALLOCATION__INIT;
    Pay__StoredAllocation *pa[] = { &a };
    a.number = "INV-000001";
    a.has_amount = 1;
    a.amount = 3600;
    Pay__StoredDocument d[3];
    for (int i = 0; i < 3; i++)
        pay__stored_document__init(&d[i]);
    d[0].number = "INV-000001"; d[0].kind = INV_KIND_INVOICE; d[0].employer = "dhl";
    d[0].issue_date = D("2026-11-23"); d[0].period = "2026-W47"; d[0].lines = p1; d[0].n_lines = 2;
    d[0].net_total = 10000; d[0].vat_total = 2000; d[0].total = 12000; d[0].allocated = 3600;
    d[1].number = "CRN-000001"; d[1].kind = INV_KIND_CREDIT_NOTE; d[1].employer = "dhl";
    d[1].issue_date = D("2026-11-30"); d[1].period = "2026-W48"; d[1].lines = p2; d[1].n_lines = 1;
    d[1].net_total = -3000; d[1].vat_total = -600; d[1].total = -3600; d[1].allocated = 3600;
    d[1].allocations = pa; d[1].n_allocations = 1;
    d[2].number = "INV-000002"; d[2].kind = INV_KIND_INVOICE; d[2].employer = "tesco";
    d[2].issue_date = D("2026-11-16"); d[2].period = "2026-W46"; d[2].lines = p3; d[2].n_lines = 1;
    d[2].net_total = 2500; d[2].vat_total = 500; d[2].total = 3000;
    const Pay__StoredDocument *docs[] = { &d[0], &d[1], &d[2] };
    inv_journal_payment_t pays[2];
    memset(pays, 0, sizeof pays);
    snprintf(pays[0].number, sizeof pays[0].number, "INV-000001");
    snprintf(pays[0].employer, sizeof pays[0].employer, "dhl");
    pays[0].date = D("2026-12-01");
    pays[0].amount = 5000;
    snprintf(pays[0].reference, sizeof pays[0].reference, "BACS; 123");
    snprintf(pays[1].number, sizeof pays[1].number, "INV-000002");
    snprintf(pays[1].employer, sizeof pays[1].employer, "tesco");
    pays[1].date = D("2026-11-20");
    pays[1].amount = 3000;

    inv_buf_t out = { 0 }, again = { 0 };
    size_t n_tx = 0, n2 = 0;
    TAP_EQ_INT(inv_journal_render(docs, 3, pays, 2, &out, &n_tx), 0, "journal renders");
    TAP_EQ_INT(n_tx, 6, "six transactions: 3 documents, 1 allocation, 2 payments");
    TAP_EQ_INT(inv_journal_render(docs, 3, pays, 2, &again, &n2), 0, "renders again");
    TAP_OK(out.len == again.len && memcmp(out.data, again.data, out.len) == 0, "the same bytes");
    const char *t = (const char *)out.data;
    TAP_OK(t && strstr(t, "commodity 1000.00 GBP"), "declares the commodity");
    const char *decl[] = { "account assets:bank", "account assets:receivables:dhl",
                           "account liabilities:vat:output", "account liabilities:customer-credit:dhl",
                           "account revenue:contracts:C-0101" };
    int missing = 0;
    for (size_t i = 0; i < sizeof decl / sizeof *decl; i++)
        missing += !(t && strstr(t, decl[i]));
    TAP_EQ_INT(missing, 0, "declares every account");
    TAP_OK(t && strstr(t, "receivables:dhl") && strstr(strstr(t, "account assets:bank"), "; type: C"),
           "with its type");
    /* Dates in order in the text. */
    int32_t last = 0, disorder = 0;
    for (const char *p = t; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        int32_t day;
        char buf[11];
        if (p[0] >= '0' && p[0] <= '9' && sscanf(p, "%10s", buf) == 1
            && civil_parse_date(buf, &day) == 0) {
            disorder += day < last;
            last = day;
        }
    }
    TAP_EQ_INT(disorder, 0, "transactions in date order though given out of order");
    TAP_OK(t && !strstr(t, "BACS; 123"), "a reference cannot start a comment mid-line");

    char path[] = "/tmp/inv_journal_test.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f) {
        fwrite(out.data, 1, out.len, f);
        fclose(f);
    }
    char line[256];
    if (system("command -v hledger >/dev/null 2>&1") != 0) {
        TAP_NOTE("hledger not installed: hledger checks skipped");
    } else {
        TAP_EQ_INT(s_hledger(path, "check --strict ordereddates", line, sizeof line), 0,
                   "hledger check --strict ordereddates passes%s%s", line[0] ? ": " : "", line);
        s_hledger(path, "balance assets:receivables:dhl -N --flat --format '%(total)'", line,
                  sizeof line);
        TAP_OK(strstr(line, "34.00 GBP") != NULL,
               "dhl's receivable = 120.00 - 36.00 credited - 50.00 paid = 34.00 (%s)", line);
        s_hledger(path, "balance assets:receivables:tesco -N --flat --format '%(total)'", line,
                  sizeof line);
        TAP_OK(!strstr(line, "GBP"), "tesco's is settled: no balance left (%s)", line);
        s_hledger(path, "balance liabilities:vat -N --flat --format '%(total)'", line, sizeof line);
        TAP_OK(strstr(line, "-19.00 GBP") != NULL, "output VAT 20.00 + 5.00 - 6.00 = 19.00 (%s)", line);
        s_hledger(path, "is -N --flat -O csv", line, sizeof line);
        TAP_OK(line[0] != '\0', "hledger is reads it");
        char cmd[512];
        snprintf(cmd, sizeof cmd, "hledger -f %s is -N --flat | grep -q 'revenue:contracts:C-0101'",
                 path);
        TAP_EQ_INT(system(cmd), 0, "hledger is shows revenue per contract");
        snprintf(cmd, sizeof cmd, "hledger -f %s bs -N --flat | grep -q 'assets:receivables:dhl'",
                 path);
        TAP_EQ_INT(system(cmd), 0, "hledger bs shows receivables per employer");
    }
    unlink(path);
    inv_buf_free(&out);
    inv_buf_free(&again);
    return tap_done();
}
