/* config: command-line flags with environment fallbacks and defaults.
 *
 * Precedence: --flag value (or --flag=value), then the environment
 * variable, then the default. `--help` (or `-h`) prints the usage with every
 * option, its variable and its default to stdout. An empty environment
 * variable counts as unset. Every option takes a value; a following argument
 * that starts with "--" is not taken as one (write --flag=--x for that), and
 * a bare argument that is not a flag is refused. The last of repeated flags
 * wins. Values point into argv, the environment or the table's defaults:
 * nothing is copied or allocated. */
#ifndef PAY_CONFIG_H
#define PAY_CONFIG_H

typedef struct {
    const char *name;      /* flag without dashes, e.g. "data-dir" */
    const char *env;       /* environment variable, or NULL */
    const char *def;       /* default, or NULL for none */
    const char *help;      /* one line */
    const char *value;     /* set by config_parse */
} config_opt_t;

/* Fills each opts[i].value (opts ends with a zeroed entry). Returns 0 on
 * success, 1 if --help was printed (caller exits 0), -1 on an unknown flag
 * or missing value (message printed to stderr; caller exits 2). */
int config_parse(config_opt_t *opts, int argc, char **argv, const char *usage);

/* The value of option `name`, or NULL if unset or unknown. */
const char *config_get(const config_opt_t *opts, const char *name);

/* Integer value of option `name`; returns 0 and sets *out, or -1 if the
 * value is missing or not an integer in [min, max]. */
int config_get_long(const config_opt_t *opts, const char *name, long min,
                    long max, long *out);

#endif
