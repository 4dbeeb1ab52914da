/* payctl: the command-line client of the payroll services.
 *
 * main() takes the global options out of argv (--format and the
 * connection options of pctl_config.h, wherever they stand before "--"),
 * then walks the command table below word by word: `payctl wages payroll
 * ...` finds "wages", then its subcommand "payroll", and calls that leaf's
 * run function with argv starting at the leaf's word. `--help` (or -h, or
 * `help`) at any level prints that level's help.
 *
 * A leaf with run == NULL is a command that is planned but not written
 * yet: it exits 2 with "not implemented yet" and never prints a made-up
 * result. Commands that need the services plug in here as they land. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pctl_cli.h"
#include "pctl_feed.h"
#include "pctl_hours.h"
#include "pctl_import.h"
#include "pctl_invoices.h"
#include "pctl_mailer.h"
#include "pctl_keys.h"
#include "pctl_ops.h"
#include "pctl_wages.h"
#include "pctl_web.h"

/* ---- payctl config: what the configuration resolved to ------------------ */

static int s_config_show(pctl_ctx_t *ctx, int argc, char **argv)
{
    const char *pos[1];
    int npos;
    int rc = pctl_args_parse(ctx, argc, argv, NULL, pos, 0, 0, &npos);
    if (rc != 0)
        return rc > 0 ? PCTL_EXIT_OK : PCTL_EXIT_USAGE;
    static const char *const cols[] = {"setting", "value", "source"};
    out_table_t *t = out_table_new(cols, 3);
    if (!t)
        return pctl_fail(ctx, "out of memory");
    const pctl_config_t *c = &ctx->cfg;
    char name[64];
    int ok = 1;
    for (int s = 0; s < PCTL_SVC_ALL; s++) {
        snprintf(name, sizeof name, "%s-endpoint", pctl_service_name((pctl_service_t)s));
        const char *row[] = {name, c->endpoint[s].value, pctl_source_name(c->endpoint[s].source)};
        ok &= out_table_add_row(t, row) == 0;
    }
    for (int s = 0; s < PCTL_SVC_ALL; s++) {
        snprintf(name, sizeof name, "%s-public-key", pctl_service_name((pctl_service_t)s));
        const char *row[] = {name, c->public_key_file[s].value,
                             pctl_source_name(c->public_key_file[s].source)};
        ok &= out_table_add_row(t, row) == 0;
    }
    const char *r1[] = {"keys-dir", c->keys_dir.value, pctl_source_name(c->keys_dir.source)};
    const char *r2[] = {"key-file", c->key_file.value, pctl_source_name(c->key_file.source)};
    const char *r3[] = {"timeout-ms", c->timeout_ms.value, pctl_source_name(c->timeout_ms.source)};
    const char *r4[] = {"config", c->config_file[0] ? c->config_file : NULL,
                        c->config_file[0] ? "read" : "none found"};
    ok &= out_table_add_row(t, r1) == 0 && out_table_add_row(t, r2) == 0 &&
          out_table_add_row(t, r3) == 0 && out_table_add_row(t, r4) == 0;
    if (ok)
        ok = out_table_write(t, ctx->format, stdout) == 0;
    out_table_destroy(&t);
    return ok ? PCTL_EXIT_OK : pctl_fail(ctx, "cannot write the output");
}

/* ---- the command table --------------------------------------------------
 * Service commands plug in here: set `run` (NULL = not implemented yet). */

static const pctl_cmd_t s_keys_cmds[] = {
    {"new", "NAME [--dir DIR] [--force]", "create a CURVE key pair NAME.key / NAME.pub",
     "The .key file holds the secret key (mode 0600); hand out only the .pub.\n",
     pctl_keys_new, NULL},
    {"grant", "PUBFILE --role ROLE --scope SCOPE --name NAME [--allow-file FILE]",
     "add a public key to the services' allow-list with a role and scope",
     "Scopes: a prison code (instructor, governor), an employer id (employer),\n"
     "or - (industries, finance, service). A key already listed gets the new\n"
     "role, scope and name in place of its old entry; the same grant again\n"
     "changes nothing. The file is rewritten atomically, comments kept.\n"
     "Running services re-read the allow-list on SIGHUP (or restart them).\n",
     pctl_keys_grant, NULL},
    {"revoke", "PUBFILE|PUBKEY [--allow-file FILE]",
     "remove a public key from the services' allow-list",
     "PUBFILE is a .pub or .key file; PUBKEY the 40-character public key.\n"
     "Exit 1 if the key is not listed. The file is rewritten atomically,\n"
     "comments and other entries kept.\n"
     "Running services re-read the allow-list on SIGHUP (or restart them);\n"
     "a connection already open keeps its access until it closes.\n",
     pctl_keys_revoke, NULL},
    {0},
};

static const pctl_cmd_t s_hours_cmds[] = {
    {"submit", "--record-id ID --prisoner P --contract C --date D --session S --minutes M "
               "[--units U] --outcome O [--paid-absence yes|no]",
     "record one session of work", NULL, pctl_hours_submit, NULL},
    {"amend", "RECORD_ID [--minutes M] [--units U] [--outcome O] [--paid-absence yes|no]",
     "change a record's minutes, units, outcome or paid-absence flag",
     "Fields not given keep their value. Each run is a new amendment.\n", pctl_hours_amend, NULL},
    {"void", "RECORD_ID", "void a record", NULL, pctl_hours_void, NULL},
    {"list", "(--record-id ID | --prisoner P --week W | --contract C --from D --to D)",
     "show records", NULL, pctl_hours_list, NULL},
    {0},
};

static const pctl_cmd_t s_week_cmds[] = {
    {"close", "--prison P --week W", "close a prison's pay week (finance)", NULL,
     pctl_week_close, NULL},
    {0},
};

static const pctl_cmd_t s_rates_cmds[] = {
    {"import", "FILE.csv [--batch N] [--rerun]", "import pay rates (governor of the prison)",
     "The FORMATS.md pay-rates layout; the same as 'payctl import pay-rates'.\n",
     pctl_wages_rates_import, NULL},
    {"list", "--prison P", "a prison's pay rates, in the pay-rates layout", NULL,
     pctl_wages_rates_list, NULL},
    {0},
};

static const pctl_cmd_t s_deductions_cmds[] = {
    {"add", "--prisoner X --week W --kind K --amount A",
     "record one statutory deduction (finance)",
     "Keyed by (prisoner, week, kind): the same key again replaces the amount.\n"
     "Files of them: 'payctl import deductions FILE.csv'.\n",
     pctl_wages_deductions_add, NULL},
    {0},
};

static const pctl_cmd_t s_adjustments_cmds[] = {
    {"add", "--id ID --prisoner X --prison P --week W --amount A --reason R",
     "post a pay adjustment to an open week (finance)",
     "The amount may be negative. --id is the idempotency key.\n",
     pctl_wages_adjustments_add, NULL},
    {0},
};

static const pctl_cmd_t s_wages_cmds[] = {
    {"rates", "COMMAND", "pay rates: import, list", NULL, NULL, s_rates_cmds},
    {"ledger", "--prisoner X [--from D] [--to D]", "a prisoner's ledger with running balance",
     "The FORMATS.md prisoner-ledger columns; --format csv gives the export.\n",
     pctl_wages_ledger, NULL},
    {"payroll", "--prison P --week W", "a prison's payroll for a week, with totals",
     "On screen with a TOTAL row; --format csv gives exactly the FORMATS.md\n"
     "payroll export.\n",
     pctl_wages_payroll, NULL},
    {"payslip", "--prisoner X --week W [--prison P] [--lines]", "one prisoner's payslip",
     NULL, pctl_wages_payslip, NULL},
    {"exceptions", "--prison P [--week W] [--kind K]", "NO_RATE records and refused sessions",
     NULL, pctl_wages_exceptions, NULL},
    {"norm", "--prison P --week W", "the hours norm: average hours, share at 40 hours", NULL,
     pctl_wages_norm, NULL},
    {"deductions", "COMMAND", "statutory deductions (finance)", NULL, NULL, s_deductions_cmds},
    {"adjustments", "COMMAND", "pay adjustments (finance)", NULL, NULL, s_adjustments_cmds},
    {"export-journal", "FILE", "export the wage ledger as an hledger journal (- for stdout)",
     NULL, pctl_wages_export_journal, NULL},
    {0},
};

static const pctl_cmd_t s_invoices_cmds[] = {
    {"issue", "[--employer E] [--period P] [--as-of DATE]", "issue the invoices due (finance)",
     "Issues every period that has ended (only --period P if given) for every\n"
     "employer (only --employer E if given), with any pending late lines.\n",
     pctl_invoices_issue, NULL},
    {"list", "[--employer E]", "list invoices and credit notes",
     "An employer's key sees only that employer's documents.\n", pctl_invoices_list, NULL},
    {"get", "NUMBER [--pdf FILE] [--csv] [--ubl FILE]", "one invoice: summary, PDF, CSV or UBL",
     "Without options, prints the document's summary. --pdf and --ubl write the\n"
     "document to FILE; --csv prints its lines (FORMATS.md invoice lines).\n",
     pctl_invoices_get, NULL},
    {"overdue", "[--as-of DATE]", "unpaid invoices past their due date (finance)",
     "Credit notes allocated to an invoice count as settled, as payments do.\n",
     pctl_invoices_overdue, NULL},
    {"statement", "[--employer E]", "an employer's statement of account",
     "Invoices, credit notes, payments and credit allocations in date order with\n"
     "a running balance (FORMATS.md: date,document,kind,amount,allocated,balance).\n"
     "An employer's key gets its own; finance names the employer.\n",
     pctl_invoices_statement, NULL},
    {"lines", "--from P [--to P] [--employer E]", "every invoice line of a period range",
     "The lines of every document whose work period starts from P to P (weeks\n"
     "2026-W46 or months 2026-11), in the FORMATS.md invoice-lines layout.\n",
     pctl_invoices_lines, NULL},
    {"pending", "[--employer E]", "billable work not yet invoiced (finance)",
     "Per employer, contract, period and terms row: WAITING for the period to be\n"
     "issued (or for the next document), or NO_TERMS (FORMATS.md pending lines).\n",
     pctl_invoices_pending, NULL},
    {"journal", "FILE|-", "the invoicing ledger as an hledger journal (finance)",
     "Receivables per employer, VAT output tax, revenue per contract, payments\n"
     "and credit allocations, with account directives, in date order.\n",
     pctl_invoices_journal, NULL},
    {"deliveries", "[--state S] [--employer E]",
     "the e-mail delivery of every document (finance; from pay-mailer)",
     "One row per invoice and credit note: recipient, state (PENDING, SENT or\n"
     "FAILED), failed tries, whether the UBL went with the PDF, the Message-ID,\n"
     "when (sent; next try; last try), and the relay's answer or the last\n"
     "failure. Asks pay-mailer (--mailer-endpoint, --mailer-public-key).\n",
     pctl_mailer_deliveries, NULL},
    {"resend", "NUMBER [--to ADDRESS] | --failed", "e-mail a document again (finance)",
     "Queues the document for sending again: a SENT one goes out under a new\n"
     "Message-ID, a FAILED one gets a fresh round of tries, a PENDING one is\n"
     "tried at once. --to replaces the recipient. --failed queues every FAILED\n"
     "delivery (e.g. after the relay was down for longer than the retries).\n",
     pctl_mailer_resend, NULL},
    {0},
};

static const pctl_cmd_t s_payments_cmds[] = {
    {"record", "NUMBER --amount A --date D [--reference R]",
     "record a payment against an invoice (finance)",
     "Running the same command again records nothing more; a second payment of\n"
     "the same amount on the same day needs its own --reference.\n",
     pctl_payments_record, NULL},
    {0},
};

static const pctl_cmd_t s_quarantine_cmds[] = {
    {"list", "[--service S]", "feed events a service could not apply (finance)",
     "Each consumer keeps the events it could not apply (malformed, of a kind\n"
     "its release does not know, naming what it was never told of) instead of\n"
     "skipping them; they turn the reconciliation of their week to MISMATCH.\n",
     pctl_feed_quarantine_list, NULL},
    {"retry", "[--service S] [--seq N]", "apply quarantined events again (finance)",
     "In seq order, each exactly once; exit 1 while any stays quarantined.\n",
     pctl_feed_quarantine_retry, NULL},
    {0},
};

static const pctl_cmd_t s_feed_cmds[] = {
    {"quarantine", "COMMAND", "events a consumer could not apply", NULL, NULL,
     s_quarantine_cmds},
    {0},
};

static const pctl_cmd_t s_web_user_cmds[] = {
    {"add", "NAME --key NAME.key [--password-file FILE] [--data-dir DIR] [--replace]",
     "add a web login for pay-web (its key sealed under a password)",
     "The key pair must be on the services' allow-list (payctl keys grant) with\n"
     "role finance or employer: that grant is what the login may do. Without\n"
     "--password-file the password is asked for twice on the terminal. The\n"
     "store is <data-dir>/web; pay-web may be running.\n",
     pctl_web_user_add, NULL},
    {"remove", "NAME [--data-dir DIR]", "remove a web login", NULL, pctl_web_user_remove, NULL},
    {"list", "[--data-dir DIR]", "list the web logins", NULL, pctl_web_user_list, NULL},
    {0},
};

static const pctl_cmd_t s_web_cmds[] = {
    {"user", "COMMAND", "web logins: add, remove, list", NULL, NULL, s_web_user_cmds},
    {0},
};

static const pctl_cmd_t s_top_cmds[] = {
    {"keys", "COMMAND", "CURVE keys and the allow-list", NULL, NULL, s_keys_cmds},
    {"import", "KIND FILE.csv [--batch N] [--rerun] [--wait SECONDS]",
     "import a CSV file in a FORMATS.md layout",
     "KIND: prisons, prisoners, employers, contracts, allocations, pay-rates,\n"
     "outside-wages, billing-terms, deductions, transfers, incentive-levels, hours.\n"
     "FILE may be - for standard input. A completely empty line is not a row.\n"
     "Each rejected row is reported as 'line N: CODE: message [key K]' (with\n"
     "--format csv: file,line,key,code,message); the exit status is 1 if any\n"
     "row was rejected.\n"
     "Importing the same file again changes nothing: each batch's request id is\n"
     "derived from its rows, so the services answer it from their first answers.\n"
     "--rerun sends rows again under fresh ids, e.g. after importing prisoners\n"
     "that earlier hours rows named (accepted rows stay unchanged either way).\n"
     "Rows naming another service's facts wait (up to --wait, default 60 s)\n"
     "until that service's feed has reached the one that judges them:\n"
     "contracts (employers), billing terms, pay rates, outside wages and\n"
     "deductions (prisons, contracts, prisoners). A file that mixes prisons is\n"
     "imported in one go; rows outside the caller's scope are PERMISSION_DENIED.\n",
     pctl_import_run, NULL},
    {"hours", "COMMAND", "capture and correct hours", NULL, NULL, s_hours_cmds},
    {"week", "COMMAND", "pay weeks", NULL, NULL, s_week_cmds},
    {"wages", "COMMAND", "wages: rates, ledgers, payroll, payslips, exports", NULL, NULL,
     s_wages_cmds},
    {"invoices", "COMMAND", "invoices and credit notes, as PDF, CSV or UBL", NULL, NULL,
     s_invoices_cmds},
    {"payments", "COMMAND", "payments against invoices", NULL, NULL, s_payments_cmds},
    {"reconcile", "--week W [--prison P]",
     "compare the three services' minutes per prison and week (exit 1 on a difference)",
     "Prints FORMATS.md's reconciliation table. Without --prison, every prison\n"
     "the hours service knows (and any other the wages or invoicing service\n"
     "reports for the week). A service that does not answer is an error\n"
     "(exit 1), never a silent OK.\n",
     pctl_reconcile, NULL},
    {"status", "", "health, feed positions and lag of every service",
     "One row per service and feed it produces or consumes, with the events\n"
     "it quarantined. Exit 1 if any service is down.\n", pctl_status, NULL},
    {"feed", "COMMAND", "the feeds between the services", NULL, NULL, s_feed_cmds},
    {"health", "[SERVICE]", "probe one service: exit 0 if it answers healthy (for orchestrators)",
     "SERVICE is hours, wages or invoicing (default: $PAY_SERVICE). One try\n"
     "waits 1 s (--timeout-ms to change), four tries at most. Without a key\n"
     "configured and without <keys-dir>/payctl.key, the service's own key pair\n"
     "<keys-dir>/SERVICE.key is used: a probe running beside the service (an\n"
     "exec probe, a HEALTHCHECK) needs nothing else.\n",
     pctl_health, NULL},
    {"backup", "NAME", "a consistent hot backup of each service's store",
     "Each service writes a compact snapshot of its store, off its request\n"
     "loop, to <backup-dir>/NAME/<service>/data.mdb on its own host, where\n"
     "<backup-dir> is the service's --backup-dir (PAY_BACKUP_DIR; default\n"
     "<data-dir>/backups). NAME is 1-64 letters, digits, '.', '_' or '-' (no\n"
     "path; not starting with '.'); a name already used is refused. Finance\n"
     "key. Restoring: docs/operations.md.\n",
     pctl_backup, NULL},
    {"web", "COMMAND", "the web portal's logins (pay-web)", NULL, NULL, s_web_cmds},
    {"config", "", "show the endpoints and key files in use, and where each came from", NULL,
     s_config_show, NULL},
    {0},
};

static const pctl_cmd_t s_root = {
    NULL, "COMMAND [ARGS]", "payctl: the command-line client of the prison-industries payroll "
    "services (hours, wages, invoicing)", NULL, NULL, s_top_cmds};

/* ---- dispatch -------------------------------------------------------------- */

static int s_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

/* Takes --format out of argv (before "--"), like pctl_config_load does. */
static int s_take_format(pctl_ctx_t *ctx, int *argc, char **argv)
{
    int out = 1, i;
    for (i = 1; i < *argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "--") == 0)
            break;
        if (strcmp(a, "--format") == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "payctl: --format needs a value: table, csv or json\n");
                return -1;
            }
            v = argv[++i];
        } else if (strncmp(a, "--format=", 9) == 0) {
            v = a + 9;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (out_format_parse(v, &ctx->format) != 0) {
            fprintf(stderr, "payctl: --format \"%s\": use table, csv or json\n", v);
            return -1;
        }
        ctx->format_given = 1;
    }
    for (; i < *argc; i++)
        argv[out++] = argv[i];
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    static pctl_ctx_t ctx;
    char err[PCTL_ERR_LEN], path[256] = "";

    log_set_service("payctl");
    log_set_level(LOG_ERROR);   /* a CLI speaks in plain messages; PAY_LOG_LEVEL for more */
    if (getenv("PAY_LOG_LEVEL"))
        log_init_from_env();

    if (s_take_format(&ctx, &argc, argv) != 0)
        return PCTL_EXIT_USAGE;
    if (pctl_config_load(&ctx.cfg, &argc, argv, err) != 0) {
        fprintf(stderr, "payctl: %s\n", err);
        return PCTL_EXIT_USAGE;
    }

    /* Walk the table: each word picks a subcommand until a leaf. */
    const pctl_cmd_t *cmd = &s_root;
    int at = 1;
    ctx.path = path;
    ctx.cmd = cmd;
    while (cmd->subs) {
        if (at >= argc || s_is_help(argv[at])) {
            pctl_print_help(&ctx, cmd, NULL, at >= argc ? stderr : stdout);
            return at >= argc ? PCTL_EXIT_USAGE : PCTL_EXIT_OK;
        }
        const pctl_cmd_t *next = NULL;
        for (const pctl_cmd_t *s = cmd->subs; s->name; s++)
            if (strcmp(s->name, argv[at]) == 0)
                next = s;
        if (!next) {
            fprintf(stderr, "payctl: %s%sunknown command \"%s\"\nRun 'payctl%s%s --help' for "
                    "the list.\n", path, path[0] ? ": " : "", argv[at], path[0] ? " " : "", path);
            return PCTL_EXIT_USAGE;
        }
        size_t len = strlen(path);
        snprintf(path + len, sizeof path - len, "%s%s", len ? " " : "", next->name);
        cmd = next;
        ctx.cmd = cmd;
        at++;
    }

    if (!cmd->run) {
        for (int i = at; i < argc; i++) {
            if (strcmp(argv[i], "--") == 0)
                break;
            if (s_is_help(argv[i])) {
                pctl_print_help(&ctx, cmd, NULL, stdout);
                return PCTL_EXIT_OK;
            }
        }
        fprintf(stderr, "payctl: %s: not implemented yet\n", path);
        return PCTL_EXIT_USAGE;
    }
    return cmd->run(&ctx, argc - at + 1, argv + at - 1);
}
