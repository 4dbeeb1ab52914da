/* pctl_config: where payctl finds the services and its keys.
 *
 * Each setting is taken from the first of these that has it:
 *   1. a command-line flag (--hours-endpoint URL, or --hours-endpoint=URL);
 *   2. an environment variable (an empty one counts as unset);
 *   3. the config file: --config FILE, else $PAYCTL_CONFIG, else
 *      ~/.config/payctl/config if it exists; lines "key = value", blank
 *      lines and '#' comments (a '#' at the start of a line or after
 *      blanks); keys are the flag names, with '-' or '_';
 *   4. the default.
 *
 *   setting             flag                  variable                default
 *   hours endpoint      --hours-endpoint      PAY_HOURS_ENDPOINT      tcp://127.0.0.1:5550
 *   wages endpoint      --wages-endpoint      PAY_WAGES_ENDPOINT      tcp://127.0.0.1:5560
 *   invoicing endpoint  --invoicing-endpoint  PAY_INVOICING_ENDPOINT  tcp://127.0.0.1:5570
 *   mailer endpoint     --mailer-endpoint     PAY_MAILER_ENDPOINT     tcp://127.0.0.1:5580
 *   keys folder         --keys-dir            PAY_KEYS_DIR            keys
 *   own key pair        --key-file            PAY_KEY_FILE            <keys-dir>/payctl.key
 *   server public keys  --hours-public-key... (files)                 <keys-dir>/<service>.pub
 *   timeout per try     --timeout-ms          PAY_TIMEOUT_MS          5000
 *
 * An explicitly named config file (--config or $PAYCTL_CONFIG) must exist;
 * the default one may be missing. An unknown key or a line without '=' in
 * the file is an error, so that a typo never silently falls back to the
 * default.
 *
 * Ownership: pctl_config_t holds its own copies (fixed-size arrays), so it
 * does not point into argv, the environment or the file. */
#ifndef PAYCTL_PCTL_CONFIG_H
#define PAYCTL_PCTL_CONFIG_H

#include <stddef.h>

#define PCTL_PATH_LEN 1024
#define PCTL_ERR_LEN 512

/* The three core services come first: `status`, `backup` and the other
 * commands that speak to "every service" loop over [0, PCTL_SVC_COUNT).
 * The delivery service (pay-mailer) follows them, configured the same way
 * and used only by its own commands (pctl_mailer.h). */
typedef enum {
    PCTL_SVC_HOURS = 0,
    PCTL_SVC_WAGES,
    PCTL_SVC_INVOICING,
    PCTL_SVC_COUNT,
    PCTL_SVC_MAILER = PCTL_SVC_COUNT,
    PCTL_SVC_ALL
} pctl_service_t;

/* Where a value came from, for `payctl config` and error messages. */
typedef enum { PCTL_SRC_DEFAULT = 0, PCTL_SRC_FILE, PCTL_SRC_ENV, PCTL_SRC_FLAG } pctl_source_t;

typedef struct {
    char value[PCTL_PATH_LEN];
    pctl_source_t source;
} pctl_setting_t;

typedef struct {
    pctl_setting_t endpoint[PCTL_SVC_ALL];
    pctl_setting_t public_key_file[PCTL_SVC_ALL];     /* the server's .pub */
    pctl_setting_t keys_dir;
    pctl_setting_t key_file;                          /* payctl's own .key */
    pctl_setting_t timeout_ms;
    char config_file[PCTL_PATH_LEN];                  /* the file read, or "" */
} pctl_config_t;

/* "hours", "wages", "invoicing", "mailer". */
const char *pctl_service_name(pctl_service_t s);
/* "default", "config file", "environment", "flag". */
const char *pctl_source_name(pctl_source_t s);

/* The global flags that pctl_config_load consumes, for --help. */
extern const char *const pctl_config_usage;

/* Takes the configuration flags (listed above, plus --config) out of
 * argv[1..argc-1], wherever they stand before a "--", and compacts argv
 * (argv[0] stays; *argc is updated; the array is rearranged, the strings
 * are not touched). Then fills *cfg by the precedence above, reading
 * the environment through getenv and the home folder through $HOME.
 * Returns 0, or -1 with the reason in err (a flag without a value, an
 * unreadable or malformed config file). */
int pctl_config_load(pctl_config_t *cfg, int *argc, char **argv, char err[PCTL_ERR_LEN]);

/* 1 if argv-style `arg` is one of the flags pctl_config_load takes. */
int pctl_config_is_flag(const char *arg);

#endif
