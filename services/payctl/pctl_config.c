/* pctl_config: see pctl_config.h. Settings are resolved per field, from the
 * weakest source up, so that each later source simply overwrites: defaults,
 * then the file, then the environment, then the flags. The derived
 * defaults (key file and server keys under the keys folder) are filled in
 * last, from the keys folder as finally resolved. */
#include "pctl_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const s_service_names[PCTL_SVC_ALL] = {"hours", "wages", "invoicing",
                                                          "mailer"};

const char *pctl_service_name(pctl_service_t s)
{
    return (int)s >= 0 && s < PCTL_SVC_ALL ? s_service_names[s] : "?";
}

const char *pctl_source_name(pctl_source_t s)
{
    switch (s) {
    case PCTL_SRC_FILE: return "config file";
    case PCTL_SRC_ENV: return "environment";
    case PCTL_SRC_FLAG: return "flag";
    case PCTL_SRC_DEFAULT: break;
    }
    return "default";
}

const char *const pctl_config_usage =
    "connection options (flag, then environment, then config file, then default):\n"
    "  --hours-endpoint URL          PAY_HOURS_ENDPOINT       tcp://127.0.0.1:5550\n"
    "  --wages-endpoint URL          PAY_WAGES_ENDPOINT       tcp://127.0.0.1:5560\n"
    "  --invoicing-endpoint URL      PAY_INVOICING_ENDPOINT   tcp://127.0.0.1:5570\n"
    "  --mailer-endpoint URL         PAY_MAILER_ENDPOINT      tcp://127.0.0.1:5580\n"
    "  --keys-dir DIR                PAY_KEYS_DIR             keys\n"
    "  --key-file FILE               PAY_KEY_FILE             <keys-dir>/payctl.key\n"
    "  --hours-public-key FILE                                <keys-dir>/hours.pub\n"
    "  --wages-public-key FILE                                <keys-dir>/wages.pub\n"
    "  --invoicing-public-key FILE                            <keys-dir>/invoicing.pub\n"
    "  --mailer-public-key FILE                               <keys-dir>/mailer.pub\n"
    "  --timeout-ms N                PAY_TIMEOUT_MS           5000 (per try; 3 retries)\n"
    "  --config FILE                 PAYCTL_CONFIG            ~/.config/payctl/config\n"
    "  config file lines: key = value (keys as the flags, e.g. hours-endpoint), # comments\n";

/* One configurable setting: its flag (and config key), variable, and slot. */
typedef struct {
    const char *flag;
    const char *env;
    size_t offset;      /* of the pctl_setting_t in pctl_config_t */
} s_key_t;

#define S_OFF(field) offsetof(pctl_config_t, field)

static const s_key_t s_keys[] = {
    {"hours-endpoint", "PAY_HOURS_ENDPOINT", S_OFF(endpoint[PCTL_SVC_HOURS])},
    {"wages-endpoint", "PAY_WAGES_ENDPOINT", S_OFF(endpoint[PCTL_SVC_WAGES])},
    {"invoicing-endpoint", "PAY_INVOICING_ENDPOINT", S_OFF(endpoint[PCTL_SVC_INVOICING])},
    {"mailer-endpoint", "PAY_MAILER_ENDPOINT", S_OFF(endpoint[PCTL_SVC_MAILER])},
    {"keys-dir", "PAY_KEYS_DIR", S_OFF(keys_dir)},
    {"key-file", "PAY_KEY_FILE", S_OFF(key_file)},
    {"hours-public-key", NULL, S_OFF(public_key_file[PCTL_SVC_HOURS])},
    {"wages-public-key", NULL, S_OFF(public_key_file[PCTL_SVC_WAGES])},
    {"invoicing-public-key", NULL, S_OFF(public_key_file[PCTL_SVC_INVOICING])},
    {"mailer-public-key", NULL, S_OFF(public_key_file[PCTL_SVC_MAILER])},
    {"timeout-ms", "PAY_TIMEOUT_MS", S_OFF(timeout_ms)},
};

#define S_NKEYS (sizeof s_keys / sizeof *s_keys)

static pctl_setting_t *s_slot(pctl_config_t *cfg, const s_key_t *k)
{
    return (pctl_setting_t *)((char *)cfg + k->offset);
}

static int s_set(pctl_setting_t *st, const char *value, pctl_source_t src)
{
    if (strlen(value) >= sizeof st->value)
        return -1;
    snprintf(st->value, sizeof st->value, "%s", value);
    st->source = src;
    return 0;
}

/* The key whose flag name is `name` (length len), '_' matching '-'. */
static const s_key_t *s_find(const char *name, size_t len)
{
    for (size_t i = 0; i < S_NKEYS; i++) {
        const char *f = s_keys[i].flag;
        if (strlen(f) != len)
            continue;
        size_t j = 0;
        while (j < len && (name[j] == f[j] || (name[j] == '_' && f[j] == '-')))
            j++;
        if (j == len)
            return &s_keys[i];
    }
    return NULL;
}

/* For "--name" or "--name=value": the key (or the config flag), else NULL. */
static int s_flag_name(const char *arg, const char **name, size_t *len)
{
    if (strncmp(arg, "--", 2) != 0)
        return -1;
    *name = arg + 2;
    const char *eq = strchr(*name, '=');
    *len = eq ? (size_t)(eq - *name) : strlen(*name);
    return 0;
}

static int s_is_config_flag(const char *name, size_t len)
{
    return len == 6 && strncmp(name, "config", 6) == 0;
}

int pctl_config_is_flag(const char *arg)
{
    const char *name;
    size_t len;
    if (s_flag_name(arg, &name, &len) != 0)
        return 0;
    for (size_t i = 0; i < S_NKEYS; i++)
        if (strlen(s_keys[i].flag) == len && strncmp(s_keys[i].flag, name, len) == 0)
            return 1;
    return s_is_config_flag(name, len);
}

static char *s_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                       s[len - 1] == '\n'))
        s[--len] = '\0';
    return s;
}

/* Reads the config file into cfg (source FILE). `required`: a missing file
 * is an error. */
static int s_read_file(pctl_config_t *cfg, const char *path, int required, char err[PCTL_ERR_LEN])
{
    char line[PCTL_PATH_LEN + 128];
    int lineno = 0, rc = -1;
    FILE *f = fopen(path, "re");
    if (!f) {
        if (!required && errno == ENOENT)
            return 0;
        snprintf(err, PCTL_ERR_LEN, "config file %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(cfg->config_file, sizeof cfg->config_file, "%s", path);
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, PCTL_ERR_LEN, "%s:%d: line too long", path, lineno);
            goto fail;
        }
        char *s = s_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, PCTL_ERR_LEN, "%s:%d: expected \"key = value\"", path, lineno);
            goto fail;
        }
        *eq = '\0';
        char *key = s_trim(s), *value = s_trim(eq + 1);
        const s_key_t *k = s_find(key, strlen(key));
        if (!k) {
            snprintf(err, PCTL_ERR_LEN, "%s:%d: unknown key \"%.64s\"", path, lineno, key);
            goto fail;
        }
        if (*value == '\0') {
            snprintf(err, PCTL_ERR_LEN, "%s:%d: %s has no value", path, lineno, k->flag);
            goto fail;
        }
        if (s_set(s_slot(cfg, k), value, PCTL_SRC_FILE) != 0) {
            snprintf(err, PCTL_ERR_LEN, "%s:%d: value too long", path, lineno);
            goto fail;
        }
    }
    if (ferror(f)) {
        snprintf(err, PCTL_ERR_LEN, "config file %s: read error", path);
        goto fail;
    }
    rc = 0;
fail:
    fclose(f);
    return rc;
}

int pctl_config_load(pctl_config_t *cfg, int *argc, char **argv, char err[PCTL_ERR_LEN])
{
    const char *flag_value[S_NKEYS] = {0};
    const char *config_path = NULL;
    int out = 1, i;
    memset(cfg, 0, sizeof *cfg);
    err[0] = '\0';

    /* 1. Take our flags out of argv, keeping everything else in order. */
    for (i = 1; i < *argc; i++) {
        const char *name;
        size_t len;
        if (strcmp(argv[i], "--") == 0)
            break;
        if (!pctl_config_is_flag(argv[i]) || s_flag_name(argv[i], &name, &len) != 0) {
            argv[out++] = argv[i];
            continue;
        }
        const char *value;
        if (name[len] == '=')
            value = name + len + 1;
        else if (i + 1 < *argc && strncmp(argv[i + 1], "--", 2) != 0) {
            value = argv[++i];
        } else {
            snprintf(err, PCTL_ERR_LEN, "--%.*s needs a value", (int)len, name);
            return -1;
        }
        if (s_is_config_flag(name, len))
            config_path = value;
        else
            flag_value[s_find(name, len) - s_keys] = value;
    }
    for (; i < *argc; i++)
        argv[out++] = argv[i];
    *argc = out;
    argv[out] = NULL;   /* argv[argc] is NULL by the C standard; keep it so */

    /* 2. Defaults. */
    s_set(&cfg->endpoint[PCTL_SVC_HOURS], "tcp://127.0.0.1:5550", PCTL_SRC_DEFAULT);
    s_set(&cfg->endpoint[PCTL_SVC_WAGES], "tcp://127.0.0.1:5560", PCTL_SRC_DEFAULT);
    s_set(&cfg->endpoint[PCTL_SVC_INVOICING], "tcp://127.0.0.1:5570", PCTL_SRC_DEFAULT);
    s_set(&cfg->endpoint[PCTL_SVC_MAILER], "tcp://127.0.0.1:5580", PCTL_SRC_DEFAULT);
    s_set(&cfg->keys_dir, "keys", PCTL_SRC_DEFAULT);
    s_set(&cfg->timeout_ms, "5000", PCTL_SRC_DEFAULT);

    /* 3. The config file. */
    const char *env_config = getenv("PAYCTL_CONFIG");
    if (config_path) {
        if (s_read_file(cfg, config_path, 1, err) != 0)
            return -1;
    } else if (env_config && *env_config) {
        if (s_read_file(cfg, env_config, 1, err) != 0)
            return -1;
    } else {
        const char *home = getenv("HOME");
        if (home && *home) {
            char path[PCTL_PATH_LEN];
            int n = snprintf(path, sizeof path, "%s/.config/payctl/config", home);
            if (n > 0 && (size_t)n < sizeof path && s_read_file(cfg, path, 0, err) != 0)
                return -1;
        }
    }

    /* 4. The environment, then 5. the flags. */
    for (size_t k = 0; k < S_NKEYS; k++) {
        const char *env = s_keys[k].env ? getenv(s_keys[k].env) : NULL;
        if (env && *env && s_set(s_slot(cfg, &s_keys[k]), env, PCTL_SRC_ENV) != 0) {
            snprintf(err, PCTL_ERR_LEN, "%s is too long", s_keys[k].env);
            return -1;
        }
        if (flag_value[k] && s_set(s_slot(cfg, &s_keys[k]), flag_value[k], PCTL_SRC_FLAG) != 0) {
            snprintf(err, PCTL_ERR_LEN, "--%s value is too long", s_keys[k].flag);
            return -1;
        }
        if (flag_value[k] && !*flag_value[k]) {
            snprintf(err, PCTL_ERR_LEN, "--%s needs a value", s_keys[k].flag);
            return -1;
        }
    }

    /* 6. Defaults derived from the keys folder, as finally resolved. */
    char path[PCTL_PATH_LEN + 32];
    if (!cfg->key_file.value[0]) {
        snprintf(path, sizeof path, "%s/payctl.key", cfg->keys_dir.value);
        if (s_set(&cfg->key_file, path, PCTL_SRC_DEFAULT) != 0)
            goto too_long;
    }
    for (int s = 0; s < PCTL_SVC_ALL; s++)
        if (!cfg->public_key_file[s].value[0]) {
            snprintf(path, sizeof path, "%s/%s.pub", cfg->keys_dir.value, s_service_names[s]);
            if (s_set(&cfg->public_key_file[s], path, PCTL_SRC_DEFAULT) != 0)
                goto too_long;
        }
    return 0;
too_long:
    snprintf(err, PCTL_ERR_LEN, "keys folder path is too long");
    return -1;
}
