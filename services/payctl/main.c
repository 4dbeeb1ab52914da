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
#include "pctl_hours.h"
#include "pctl_import.h"
#include "pctl_keys.h"

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
    for (int s = 0; s < PCTL_SVC_COUNT; s++) {
        snprintf(name, sizeof name, "%s-endpoint", pctl_service_name((pctl_service_t)s));
        const char *row[] = {name, c->endpoint[s].value, pctl_source_name(c->endpoint[s].source)};
        ok &= out_table_add_row(t, row) == 0;
    }
    for (int s = 0; s < PCTL_SVC_COUNT; s++) {
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
     "or - (industries, finance, service).\n",
     pctl_keys_grant, NULL},
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

static const pctl_cmd_t s_wages_cmds[] = {
    {"rates", "--prison P", "the pay rates and pay policy of a prison", NULL, NULL, NULL},
    {"ledger", "--prisoner P [--from D] [--to D]", "a prisoner's ledger with running balance",
     NULL, NULL, NULL},
    {"payroll", "--prison P --week W", "a prison's payroll for a week, with totals", NULL, NULL,
     NULL},
    {"payslip", "--prison P --week W --prisoner N", "one prisoner's payslip", NULL, NULL, NULL},
    {"exceptions", "--prison P [--week W] [--kind K]", "NO_RATE records and refused sessions",
     NULL, NULL, NULL},
    {"norm", "--prison P --week W", "the hours norm: average hours, share at 40 hours", NULL,
     NULL, NULL},
    {"deductions", "FILE.csv | --prisoner P --week W --kind K --amount A",
     "record statutory deductions (finance)", NULL, NULL, NULL},
    {"adjust", "--id ID --prisoner P --prison P --week W --amount A --reason R",
     "post a pay adjustment to an open week (finance)", NULL, NULL, NULL},
    {"journal", "[--out FILE]", "export the wage ledger as an hledger journal", NULL, NULL, NULL},
    {0},
};

static const pctl_cmd_t s_invoices_cmds[] = {
    {"issue", "[--employer E] [--period P] [--date D]", "issue the invoices due (finance)", NULL,
     NULL, NULL},
    {"list", "[--employer E]", "list invoices and credit notes", NULL, NULL, NULL},
    {"get", "NUMBER (--pdf FILE | --csv | --ubl FILE)", "one invoice as PDF, CSV or UBL", NULL,
     NULL, NULL},
    {"pay", "NUMBER --amount A --date D [--reference R]", "record a payment (finance)", NULL,
     NULL, NULL},
    {"overdue", "[--as-of D]", "unpaid invoices past their due date", NULL, NULL, NULL},
    {0},
};

static const pctl_cmd_t s_top_cmds[] = {
    {"keys", "COMMAND", "CURVE keys and the allow-list", NULL, NULL, s_keys_cmds},
    {"import", "KIND FILE.csv [--batch N] [--rerun] [--prison P | --contracts FILE]",
     "import a CSV file in a FORMATS.md layout",
     "KIND: prisons, prisoners, employers, contracts, allocations, pay-rates,\n"
     "outside-wages, billing-terms, deductions, transfers, incentive-levels, hours.\n"
     "FILE may be - for standard input. Each rejected row is reported as\n"
     "'line N: CODE: message'; the exit status is 1 if any row was rejected.\n"
     "Importing the same file again changes nothing: each batch's request id is\n"
     "derived from its rows, so the services answer it from their first answers.\n"
     "--rerun sends rows again under fresh ids, e.g. after importing prisoners\n"
     "that earlier hours rows named (accepted rows stay unchanged either way).\n"
     "outside-wages need each contract's prison: --prison P, or --contracts FILE.\n",
     pctl_import_run, NULL},
    {"hours", "COMMAND", "capture and correct hours", NULL, NULL, s_hours_cmds},
    {"week", "COMMAND", "pay weeks", NULL, NULL, s_week_cmds},
    {"wages", "COMMAND", "wages: rates, ledgers, payroll, payslips, exports", NULL, NULL,
     s_wages_cmds},
    {"invoices", "COMMAND", "invoices, documents and payments", NULL, NULL, s_invoices_cmds},
    {"reconcile", "[--prison P] [--week W]",
     "compare the three services' minutes per prison and week (exit 1 on a difference)", NULL,
     NULL, NULL},
    {"status", "", "health, feed positions and lag of every service", NULL, NULL, NULL},
    {"backup", "DIR", "a consistent hot backup of each service's store", NULL, NULL, NULL},
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
