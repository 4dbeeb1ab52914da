/* pctl_wages: the wages commands of payctl, over the wages service API
 * (proto/wages.proto). Finance reads everything; a governor sets rates.
 *
 *   wages rates import FILE.csv          (= payctl import pay-rates FILE.csv)
 *   wages rates list --prison P          in the FORMATS.md pay-rates layout
 *   wages ledger --prisoner X [--from D] [--to D]
 *                                        FORMATS.md prisoner ledger, with
 *                                        the running balance
 *   wages payroll --prison P --week W    FORMATS.md payroll; on screen (and
 *                                        as JSON) with a TOTAL row; with
 *                                        --format csv exactly the export
 *   wages payslip --prisoner X --week W [--prison P] [--lines]
 *                                        the week's payslip (without
 *                                        --prison: the prison where the
 *                                        hours service has the prisoner's
 *                                        records that week)
 *   wages exceptions --prison P [--week W] [--kind K]
 *   wages norm --prison P --week W       the hours norm
 *   wages deductions add --prisoner X --week W --kind K --amount A
 *   wages adjustments add --id ID --prisoner X --prison P --week W
 *                         --amount A --reason R      (A may be negative)
 *   wages export-journal FILE            the whole ledger as an hledger
 *                                        journal (FILE - for stdout)
 *
 * Every paged answer is followed to its end. The CSV exports are the
 * service's own text (wage_journal.h), so payctl never reformats money. */
#ifndef PAYCTL_PCTL_WAGES_H
#define PAYCTL_PCTL_WAGES_H

#include "pctl_cli.h"

int pctl_wages_rates_import(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_wages_rates_list(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_wages_ledger(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_wages_payroll(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_wages_payslip(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_wages_exceptions(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_wages_norm(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_wages_deductions_add(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_wages_adjustments_add(pctl_ctx_t *ctx, int argc, char **argv);
int pctl_wages_export_journal(pctl_ctx_t *ctx, int argc, char **argv);

#endif
