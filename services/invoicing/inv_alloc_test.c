/* inv_alloc_test: the allocation rule as a pure function, and which
 * invoices a credit note adjusts. */
#include <string.h>

#include "inv_alloc.h"
#include "tap.h"

static inv_line_t s_l(inv_line_kind_t kind, const char *ref)
{
    inv_line_t l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    snprintf(l.ref_number, sizeof l.ref_number, "%s", ref);
    return l;
}

int main(void)
{
    inv_alloc_item_t it[3];
    memset(it, 0, sizeof it);
    it[0].outstanding = 1000;
    TAP_EQ_INT(inv_alloc_plan(400, it, 1), 0, "credit below outstanding: nothing left");
    TAP_EQ_INT(it[0].amount, 400, "all of it allocated");
    TAP_EQ_INT(inv_alloc_plan(1500, it, 1), 500, "credit above outstanding: the rest is left");
    TAP_EQ_INT(it[0].amount, 1000, "allocated up to the outstanding amount");
    it[0].outstanding = 0;
    TAP_EQ_INT(inv_alloc_plan(700, it, 1), 700, "a settled invoice takes nothing");
    TAP_EQ_INT(it[0].amount, 0, "allocated 0");
    it[0].outstanding = 300;
    it[1].outstanding = -50;   /* cannot happen, but never negative */
    it[2].outstanding = 600;
    TAP_EQ_INT(inv_alloc_plan(800, it, 3), 0, "several invoices, oldest first");
    TAP_OK(it[0].amount == 300 && it[1].amount == 0 && it[2].amount == 500,
           "300, 0, 500 (%lld, %lld, %lld)", (long long)it[0].amount, (long long)it[1].amount,
           (long long)it[2].amount);
    TAP_EQ_INT(inv_alloc_plan(0, it, 3), 0, "no credit, nothing allocated");
    TAP_EQ_INT(inv_alloc_plan(-5, it, 3), 0, "a negative credit is none");
    for (int64_t credit = 0; credit <= 1200; credit += 7) {
        it[0].outstanding = 300;
        it[1].outstanding = 200;
        it[2].outstanding = 600;
        int64_t left = inv_alloc_plan(credit, it, 3);
        int64_t sum = it[0].amount + it[1].amount + it[2].amount;
        if (sum + left != credit || it[0].amount > 300 || it[1].amount > 200 || it[2].amount > 600
            || (left > 0 && sum != 1100)) {
            TAP_OK(0, "credit %lld: allocated + left = credit, none over", (long long)credit);
            break;
        }
        if (credit + 7 > 1200)
            TAP_OK(1, "every credit 0..1200: allocated + left = credit, none over, rest only when all settled");
    }

    inv_line_t lines[] = {
        s_l(INV_LINE_PERIOD, ""),
        s_l(INV_LINE_ADJUSTMENT, "INV-000012"),
        s_l(INV_LINE_LATE, "INV-000003"),
        s_l(INV_LINE_ADJUSTMENT, "INV-000004"),
        s_l(INV_LINE_ADJUSTMENT, "INV-000012"),
        s_l(INV_LINE_ADJUSTMENT, "CRN-000002"),
    };
    inv_alloc_item_t t[8];
    size_t n = inv_alloc_targets(lines, 6, t, 8);
    TAP_EQ_INT(n, 2, "two invoices adjusted (late lines and credit notes are not)");
    TAP_OK(n == 2 && strcmp(t[0].number, "INV-000004") == 0 && strcmp(t[1].number, "INV-000012") == 0,
           "in ascending number order, each once");
    TAP_EQ_INT(inv_alloc_targets(lines, 6, t, 1), 1, "at most max");
    return tap_done();
}
