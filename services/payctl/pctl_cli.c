/* pctl_cli: see pctl_cli.h. */
#include "pctl_cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *pctl_opt(const pctl_opt_t *opts, const char *name)
{
    for (const pctl_opt_t *o = opts; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o->value;
    return NULL;
}

void pctl_print_help(const pctl_ctx_t *ctx, const pctl_cmd_t *cmd, const pctl_opt_t *opts,
                     FILE *out)
{
    const char *path = ctx->path && *ctx->path ? ctx->path : NULL;
    fprintf(out, "usage: payctl%s%s%s%s\n", path ? " " : "", path ? path : "",
            cmd->usage && *cmd->usage ? " " : "", cmd->usage ? cmd->usage : "");
    if (cmd->summary)
        fprintf(out, "\n%s%s\n", cmd->summary, cmd->run || cmd->subs ? "" : " (not implemented yet)");
    if (cmd->help)
        fprintf(out, "\n%s", cmd->help);
    if (opts && opts->name) {
        fprintf(out, "\noptions:\n");
        for (const pctl_opt_t *o = opts; o->name; o++) {
            char left[64];
            snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
            fprintf(out, "  %-28s %s\n", left, o->help ? o->help : "");
        }
    }
    if (cmd->subs) {
        fprintf(out, "\ncommands:\n");
        for (const pctl_cmd_t *s = cmd->subs; s->name; s++)
            fprintf(out, "  %-16s %s%s\n", s->name, s->summary ? s->summary : "",
                    s->run || s->subs ? "" : " (not implemented yet)");
        fprintf(out, "\nRun 'payctl%s%s COMMAND --help' for the options of a command.\n",
                path ? " " : "", path ? path : "");
    }
    fprintf(out, "\nglobal options: --format table|csv|json (default table), --help\n");
    if (path)
        fprintf(out, "and the connection options that 'payctl --help' lists.\n");
    else
        fprintf(out, "%s", pctl_config_usage);
}

__attribute__((format(printf, 2, 0)))
static void s_vmsg(const pctl_ctx_t *ctx, const char *fmt, va_list ap)
{
    fprintf(stderr, "payctl: ");
    if (ctx->path && *ctx->path)
        fprintf(stderr, "%s: ", ctx->path);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
}

int pctl_fail(const pctl_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    if (ctx->quiet)
        return PCTL_EXIT_FAIL;
    va_start(ap, fmt);
    s_vmsg(ctx, fmt, ap);
    va_end(ap);
    return PCTL_EXIT_FAIL;
}

int pctl_usage_error(const pctl_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vmsg(ctx, fmt, ap);
    va_end(ap);
    if (ctx->cmd)
        fprintf(stderr, "usage: payctl %s%s%s\n", ctx->path ? ctx->path : "",
                ctx->cmd->usage && *ctx->cmd->usage ? " " : "",
                ctx->cmd->usage ? ctx->cmd->usage : "");
    fprintf(stderr, "Run 'payctl %s --help' for more.\n", ctx->path ? ctx->path : "");
    return PCTL_EXIT_USAGE;
}

int pctl_args_parse(const pctl_ctx_t *ctx, int argc, char **argv, pctl_opt_t *opts,
                    const char **pos, int min_pos, int max_pos, int *npos)
{
    int n = 0, options_done = 0;
    for (pctl_opt_t *o = opts; o && o->name; o++)
        o->value = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            pctl_print_help(ctx, ctx->cmd, opts, stdout);
            return 1;
        }
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (!options_done && a[0] == '-' && a[1] != '\0') {
            const char *name = a[0] == '-' && a[1] == '-' ? a + 2 : a + 1;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            pctl_opt_t *o = opts;
            for (; o && o->name; o++)
                if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                    break;
            if (a[1] != '-' || !o || !o->name) {
                pctl_usage_error(ctx, "unknown option %s", a);
                return -1;
            }
            if (!o->metavar) {
                if (eq) {
                    pctl_usage_error(ctx, "--%s takes no value", o->name);
                    return -1;
                }
                o->value = "yes";
            } else if (eq) {
                o->value = eq + 1;
            } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                o->value = argv[++i];
            } else {
                pctl_usage_error(ctx, "--%s needs a value %s", o->name, o->metavar);
                return -1;
            }
            continue;
        }
        if (n >= max_pos) {
            pctl_usage_error(ctx, "unexpected argument \"%s\"", a);
            return -1;
        }
        pos[n++] = a;
    }
    if (n < min_pos) {
        pctl_usage_error(ctx, "missing argument%s", min_pos - n > 1 ? "s" : "");
        return -1;
    }
    *npos = n;
    return 0;
}
