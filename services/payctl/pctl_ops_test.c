/* pctl_ops_test: the reconciliation status rule of FORMATS.md. */
#include "pctl_ops.h"

#include <stdint.h>

#include "tap.h"

int main(void)
{
    TAP_EQ_STR(pctl_recon_status(0, 0, 0, 0), "OK", "all zero: OK");
    TAP_EQ_STR(pctl_recon_status(720, 720, 510, 510), "OK", "both pairs equal: OK");
    TAP_EQ_STR(pctl_recon_status(720, 660, 510, 510), "MISMATCH",
               "minutes priced short: MISMATCH");
    TAP_EQ_STR(pctl_recon_status(720, 780, 510, 510), "MISMATCH",
               "minutes priced over: MISMATCH");
    TAP_EQ_STR(pctl_recon_status(720, 720, 510, 450), "MISMATCH",
               "billable not all invoiced or pending: MISMATCH");
    TAP_EQ_STR(pctl_recon_status(720, 720, 450, 510), "MISMATCH",
               "more invoiced than captured: MISMATCH");
    /* The pairs are compared with each other, never across. */
    TAP_EQ_STR(pctl_recon_status(510, 720, 720, 510), "MISMATCH", "crossed pairs: MISMATCH");
    TAP_EQ_STR(pctl_recon_status(INT64_MAX, INT64_MAX, 1, 1), "OK", "large values");
    return tap_done();
}
