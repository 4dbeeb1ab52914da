/* config: see config.h. Values point into argv, the environment or the
 * option table's defaults; nothing is copied, so they live as long as
 * those do (the whole process, in practice). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static config_opt_t *s_find(config_opt_t *opts, const char *name, size_t len)
{
    for (config_opt_t *o = opts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static void s_print_help(const config_opt_t *opts, const char *usage)
{
    printf("usage: %s\n\noptions:\n", usage ? usage : "");
    for (const config_opt_t *o = opts; o->name; o++) {
        printf("  --%s VALUE\n      %s\n", o->name, o->help ? o->help : "");
        printf("      env: %s; default: %s\n", o->env ? o->env : "(none)",
               o->def ? o->def : "(none)");
    }
    printf("  --help\n      print this help and exit\n");
    fflush(stdout);
}

int config_parse(config_opt_t *opts, int argc, char **argv, const char *usage)
{
    /* Lowest precedence first: default, then a non-empty environment
     * variable (an empty one counts as unset, as compose files write it). */
    for (config_opt_t *o = opts; o->name; o++) {
        const char *env = o->env ? getenv(o->env) : NULL;
        o->value = (env && *env) ? env : o->def;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            s_print_help(opts, usage);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            fprintf(stderr, "unexpected argument '%s' (try --help)\n", arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        config_opt_t *o = s_find(opts, name, len);
        if (!o) {
            fprintf(stderr, "unknown option --%.*s (try --help)\n", (int)len,
                    name);
            return -1;
        }
        if (eq) {
            o->value = eq + 1;
        } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            o->value = argv[++i];
        } else {
            /* A following "--x" is taken as the next flag, not a value;
             * write --flag=--x to pass such a value. */
            fprintf(stderr, "option --%s needs a value (try --help)\n",
                    o->name);
            return -1;
        }
    }
    return 0;
}

const char *config_get(const config_opt_t *opts, const char *name)
{
    if (!opts || !name)
        return NULL;
    for (const config_opt_t *o = opts; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o->value;
    return NULL;
}

int config_get_long(const config_opt_t *opts, const char *name, long min,
                    long max, long *out)
{
    const char *v = config_get(opts, name);
    if (!v)
        return -1;
    /* strtol would skip spaces and take '+'; we want digits only. */
    const char *p = v[0] == '-' ? v + 1 : v;
    if (*p < '0' || *p > '9')
        return -1;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return -1;
    errno = 0;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (errno == ERANGE || !end || *end != '\0' || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}
