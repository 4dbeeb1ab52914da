/* pctl_cli: what every payctl command shares: the command table entry, the
 * context a command runs in (configuration, output format), the option
 * parser with its --help, and the exit codes.
 *
 * A command's run function gets argv starting at its own word (argv[0] is
 * "new" for `payctl keys new`), parses it with pctl_args_parse, and returns
 * an exit code. Messages for people go to stderr as "payctl: <command>:
 * <reason>"; results go to stdout in the chosen format.
 *
 * Ownership: a pctl_ctx_t is made once by main and only borrowed; option
 * values point into argv. */
#ifndef PAYCTL_PCTL_CLI_H
#define PAYCTL_PCTL_CLI_H

#include "output.h"
#include "pctl_config.h"

/* Exit codes. */
#define PCTL_EXIT_OK 0
#define PCTL_EXIT_FAIL 1    /* an error, a rejected row, a reconciliation difference */
#define PCTL_EXIT_USAGE 2   /* bad usage, or a command not implemented yet */

typedef struct pctl_cmd_t pctl_cmd_t;

typedef struct {
    pctl_config_t cfg;
    out_format_t format;
    int format_given;           /* --format was on the command line */
    const char *path;           /* "keys new": the command as typed, for messages */
    const pctl_cmd_t *cmd;      /* the command being run */
    int quiet;                  /* pctl_fail prints nothing (a probe that may fail) */
} pctl_ctx_t;

/* A command run function: returns a PCTL_EXIT_* code. */
typedef int (*pctl_run_fn)(pctl_ctx_t *ctx, int argc, char **argv);

struct pctl_cmd_t {
    const char *name;
    const char *usage;          /* what follows the command words, e.g. "NAME [--dir DIR]" */
    const char *summary;        /* one line */
    const char *help;           /* more lines for --help, or NULL */
    pctl_run_fn run;            /* NULL: not implemented yet (exit 2) */
    const pctl_cmd_t *subs;     /* subcommands, ended by a zeroed entry, or NULL */
};

typedef struct {
    const char *name;           /* without dashes: "role" */
    const char *metavar;        /* "ROLE"; NULL for a switch that takes no value */
    const char *help;           /* one line */
    const char *value;          /* set by pctl_args_parse: the value, or "yes" for a switch */
} pctl_opt_t;

/* Parses argv[1..argc-1] of a leaf command: "--name value", "--name=value"
 * and switches from `opts` (ended by a zeroed entry; may be NULL), and
 * positional arguments into pos[0..max_pos-1] (a "--" ends the options).
 * Prints the command's help to stdout on --help or -h and returns 1 (the
 * caller exits 0). On an unknown option, a missing value, or fewer than
 * min_pos or more than max_pos positional arguments, prints the reason and
 * the usage line to stderr and returns -1 (the caller exits 2). Otherwise
 * returns 0 with *npos set. */
int pctl_args_parse(const pctl_ctx_t *ctx, int argc, char **argv, pctl_opt_t *opts,
                    const char **pos, int min_pos, int max_pos, int *npos);

/* The value of option `name` after pctl_args_parse, or NULL. */
const char *pctl_opt(const pctl_opt_t *opts, const char *name);

/* Prints the help of a command (usage, summary, help, options and
 * subcommands) to `out`. */
void pctl_print_help(const pctl_ctx_t *ctx, const pctl_cmd_t *cmd, const pctl_opt_t *opts,
                     FILE *out);

/* "payctl: <path>: <message>\n" on stderr. Returns PCTL_EXIT_FAIL. */
int pctl_fail(const pctl_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same with PCTL_EXIT_USAGE and the usage line after it. */
int pctl_usage_error(const pctl_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
