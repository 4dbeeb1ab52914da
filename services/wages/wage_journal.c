/* wage_journal: see wage_journal.h. */
#include "wage_journal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"

#define WAGE_JOURNAL_ACCOUNT_MAX 128

void wage_text_free(wage_text_t *t)
{
    free(t->data);
    memset(t, 0, sizeof *t);
}

static int s_reserve(wage_text_t *t, size_t more)
{
    if (t->failed)
        return -1;
    if (t->len + more + 1 <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *p = realloc(t->data, cap);
    if (!p) {
        t->failed = 1;
        return -1;
    }
    t->data = p;
    t->cap = cap;
    return 0;
}

void wage_text_printf(wage_text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || s_reserve(t, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void wage_text_csv_field(wage_text_t *t, const char *s)
{
    if (!s)
        s = "";
    if (!strpbrk(s, ",\"\r\n")) {
        wage_text_printf(t, "%s", s);
        return;
    }
    size_t n = strlen(s);
    if (s_reserve(t, 2 * n + 2) != 0)
        return;
    t->data[t->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            t->data[t->len++] = '"';
        t->data[t->len++] = s[i];
    }
    t->data[t->len++] = '"';
    t->data[t->len] = '\0';
}

const char *wage_journal_kind_name(Pay__LineKind kind)
{
    switch (kind) {
    case PAY__LINE_KIND__LINE_PAY: return "pay";
    case PAY__LINE_KIND__LINE_REVERSAL: return "reversal";
    case PAY__LINE_KIND__LINE_TOP_UP: return "top-up";
    case PAY__LINE_KIND__LINE_DEDUCTION: return "deduction";
    case PAY__LINE_KIND__LINE_LEVY: return "levy";
    case PAY__LINE_KIND__LINE_ADJUSTMENT: return "adjustment";
    default: return "line";
    }
}

/* hledger reads ';' as the start of a comment and a newline as the end of
 * the transaction line, so neither may appear in a description. */
static void s_clean(char *out, size_t outlen, const char *s)
{
    size_t j = 0;
    for (size_t i = 0; s && s[i] && j + 1 < outlen; i++) {
        char c = s[i];
        out[j++] = (c == ';' || c == '\n' || c == '\r' || c == '\t' || c == '|') ? ' ' : c;
    }
    out[j] = '\0';
}

void wage_journal_describe(const Pay__LedgerLine *l, char *out, size_t outlen)
{
    if (l->description && *l->description)
        snprintf(out, outlen, "%s", l->description);
    else if (l->kind == PAY__LINE_KIND__LINE_REVERSAL)
        snprintf(out, outlen, "reversal of line %llu (%s)", (unsigned long long)l->reverses,
                 l->ref ? l->ref : "-");
    else
        snprintf(out, outlen, "%s %s", wage_journal_kind_name(l->kind), l->ref ? l->ref : "-");
}

void wage_journal_header(wage_text_t *t)
{
    wage_text_printf(t, "; Wage ledger exported by pay-wages. Amounts in GBP.\n"
                        "; Debits are positive, credits negative; every transaction\n"
                        "; balances, so `hledger balance` totals 0.\n\n");
}

char wage_journal_account_type(const char *account)
{
    return strncmp(account, "prison:", 7) == 0 ? 'X' : 'L';
}

typedef struct {
    const char *p;
    size_t len;
    char date[11];
    size_t idx;
} s_block_t;

static int s_cmp_block(const void *a, const void *b)
{
    const s_block_t *x = a, *y = b;
    int c = strcmp(x->date, y->date);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

typedef struct {
    const char *p;
    size_t len;
} s_name_t;

static int s_cmp_name(const void *a, const void *b)
{
    const s_name_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len < y->len ? -1 : x->len > y->len);
}

int wage_journal_finish(const char *raw, size_t len, wage_text_t *out)
{
    s_block_t *bl = NULL;
    s_name_t *acc = NULL;
    size_t nb = 0, cb = 0, na = 0, ca = 0;
    int rc = -1;
    /* Transactions are blocks of lines that start with a date; comments
     * and blank lines between them are dropped (the header is rewritten). */
    for (size_t i = 0; i < len;) {
        const char *line = raw + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t ll = nl ? (size_t)(nl - line) : len - i;
        size_t step = nl ? ll + 1 : ll;
        if (ll >= 10 && line[0] >= '0' && line[0] <= '9') {
            if (nb == cb) {
                cb = cb ? cb * 2 : 1024;
                s_block_t *p = realloc(bl, cb * sizeof *p);
                if (!p)
                    goto fail;
                bl = p;
            }
            s_block_t *b = &bl[nb];
            b->p = line;
            b->idx = nb++;
            memcpy(b->date, line, 10);
            b->date[10] = '\0';
            b->len = step;
        } else if (nb && ll > 4 && line[0] == ' ' && bl[nb - 1].p + bl[nb - 1].len == line) {
            /* A posting, "    account  amount": its account is declared. */
            bl[nb - 1].len += step;
            /* Scanned within the line: strstr would walk the rest of the
             * text (and ASan's strstr measures it all), O(n^2) overall. */
            const char *a = line, *end = line + ll, *e;
            while (a < end && *a == ' ')
                a++;
            for (e = a; e + 1 < end && !(e[0] == ' ' && e[1] == ' '); e++)
                ;
            if (na == ca) {
                ca = ca ? ca * 2 : 1024;
                s_name_t *p = realloc(acc, ca * sizeof *p);
                if (!p)
                    goto fail;
                acc = p;
            }
            acc[na].p = a;
            acc[na++].len = e + 1 < end ? (size_t)(e - a) : (size_t)(end - a);
        }
        i += step;
    }
    if (nb > 1)
        qsort(bl, nb, sizeof *bl, s_cmp_block);
    if (na > 1)
        qsort(acc, na, sizeof *acc, s_cmp_name);
    wage_journal_header(out);
    wage_text_printf(out, "commodity 1000.00 GBP\n\n");
    for (size_t k = 0; k < na; k++) {
        if (k && s_cmp_name(&acc[k - 1], &acc[k]) == 0)
            continue;
        char name[WAGE_JOURNAL_ACCOUNT_MAX];
        snprintf(name, sizeof name, "%.*s", (int)acc[k].len, acc[k].p);
        wage_text_printf(out, "account %-44s  ; type: %c\n", name, wage_journal_account_type(name));
    }
    wage_text_printf(out, "\n");
    for (size_t k = 0; k < nb; k++) {
        if (s_reserve(out, bl[k].len + 2) != 0)
            goto fail;
        memcpy(out->data + out->len, bl[k].p, bl[k].len);
        out->len += bl[k].len;
        if (out->data[out->len - 1] != '\n')
            out->data[out->len++] = '\n';
        out->data[out->len++] = '\n';
        out->data[out->len] = '\0';
    }
    rc = out->failed ? -1 : 0;
fail:
    free(acc);
    free(bl);
    return rc;
}

void wage_journal_line(wage_text_t *t, const Pay__LedgerLine *l)
{
    char amount[MONEY_TEXT_LEN], neg[MONEY_TEXT_LEN], desc[200], raw[200];
    money_format(l->amount, amount);
    money_format(-l->amount, neg);
    wage_journal_describe(l, raw, sizeof raw);
    s_clean(desc, sizeof desc, raw);
    wage_text_printf(t,
                     "%s %s %s %s  ; seq:%llu, feed:%llu, week:%s, prison:%s, ref:%s\n"
                     "    %s  %s GBP\n"
                     "    %s  %s GBP\n\n",
                     l->date ? l->date : "1970-01-01", wage_journal_kind_name(l->kind),
                     l->prisoner ? l->prisoner : "-", desc,
                     (unsigned long long)l->seq, (unsigned long long)l->feed_seq,
                     l->week ? l->week : "-",
                     l->prison ? l->prison : "-", l->ref ? l->ref : "-",
                     l->debit, amount, l->credit, neg);
}

void wage_csv_payroll_row(wage_text_t *t, const char *prison, const char *week,
                          const Pay__PayrollRow *r)
{
    char g[MONEY_TEXT_LEN], u[MONEY_TEXT_LEN], d[MONEY_TEXT_LEN], l[MONEY_TEXT_LEN],
        n[MONEY_TEXT_LEN];
    money_format(r->gross, g);
    money_format(r->top_up, u);
    money_format(r->deductions, d);
    money_format(r->levy, l);
    money_format(r->net, n);
    wage_text_printf(t, "%s,%s,%s,%u,%lld,%s,%s,%s,%s,%s\r\n", prison, week,
                     r->prisoner ? r->prisoner : "", r->sessions, (long long)r->minutes,
                     g, u, d, l, n);
}

void wage_csv_ledger_row(wage_text_t *t, const Pay__LedgerLine *l)
{
    char amount[MONEY_TEXT_LEN], balance[MONEY_TEXT_LEN], desc[200];
    money_format(l->amount, amount);
    money_format(l->balance, balance);
    wage_journal_describe(l, desc, sizeof desc);
    wage_text_printf(t, "%s,%s,%llu,", l->date ? l->date : "", l->week ? l->week : "",
                     (unsigned long long)l->seq);
    wage_text_csv_field(t, desc);
    wage_text_printf(t, ",%s,%s,%s,%s\r\n", l->debit ? l->debit : "",
                     l->credit ? l->credit : "", amount, balance);
}
