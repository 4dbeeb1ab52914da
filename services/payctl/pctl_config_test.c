/* pctl_config_test: flag over environment over config file over default,
 * the flags taken out of argv, derived key paths, and file errors. */
#include "pctl_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

static char s_dir[256];

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void s_clear_env(void)
{
    const char *vars[] = {"PAY_HOURS_ENDPOINT", "PAY_WAGES_ENDPOINT", "PAY_INVOICING_ENDPOINT",
                          "PAY_MAILER_ENDPOINT",
                          "PAY_KEY_FILE", "PAY_KEYS_DIR", "PAYCTL_CONFIG", "PAY_TIMEOUT_MS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    setenv("HOME", s_dir, 1);   /* no ~/.config/payctl/config unless a test makes one */
}

static void test_defaults(void)
{
    pctl_config_t cfg;
    char err[PCTL_ERR_LEN];
    char *argv[] = {"payctl", "status", NULL};
    int argc = 2;
    s_clear_env();
    TAP_EQ_INT(pctl_config_load(&cfg, &argc, argv, err), 0, "defaults load: %s", err);
    TAP_EQ_STR(cfg.endpoint[PCTL_SVC_HOURS].value, "tcp://127.0.0.1:5550", "hours default");
    TAP_EQ_STR(cfg.endpoint[PCTL_SVC_WAGES].value, "tcp://127.0.0.1:5560", "wages default");
    TAP_EQ_STR(cfg.endpoint[PCTL_SVC_INVOICING].value, "tcp://127.0.0.1:5570",
               "invoicing default");
    TAP_EQ_STR(cfg.endpoint[PCTL_SVC_MAILER].value, "tcp://127.0.0.1:5580", "mailer default");
    TAP_EQ_STR(cfg.public_key_file[PCTL_SVC_MAILER].value, "keys/mailer.pub",
               "mailer key from the keys folder");
    TAP_EQ_STR(cfg.keys_dir.value, "keys", "keys dir default");
    TAP_EQ_STR(cfg.key_file.value, "keys/payctl.key", "key file default");
    TAP_EQ_STR(cfg.public_key_file[PCTL_SVC_WAGES].value, "keys/wages.pub",
               "server key from the keys folder");
    TAP_EQ_INT(cfg.endpoint[PCTL_SVC_HOURS].source, PCTL_SRC_DEFAULT, "source default");
    TAP_EQ_INT(argc, 2, "argv untouched");
    TAP_EQ_STR(cfg.config_file, "", "no config file read");
}

static void test_precedence(void)
{
    pctl_config_t cfg;
    char err[PCTL_ERR_LEN], conf[512];
    snprintf(conf, sizeof conf, "%s/payctl.conf", s_dir);
    s_write(conf, "# a comment\n"
                  "\n"
                  "hours-endpoint = tcp://file:1\n"
                  "wages_endpoint=tcp://file:2\n"
                  "  invoicing-endpoint = tcp://file:3   \n"
                  "keys-dir = /etc/pay/keys\n");
    s_clear_env();
    setenv("PAY_WAGES_ENDPOINT", "tcp://env:2", 1);
    setenv("PAY_INVOICING_ENDPOINT", "tcp://env:3", 1);
    setenv("PAY_HOURS_ENDPOINT", "", 1);   /* empty counts as unset */
    char a0[] = "payctl", a1[] = "--config", a3[] = "hours", a4[] = "--invoicing-endpoint=tcp://flag:3",
         a5[] = "list", a6[] = "--prisoner", a7[] = "A1234BC";
    char *argv[] = {a0, a1, conf, a3, a4, a5, a6, a7, NULL};
    int argc = 8;
    TAP_EQ_INT(pctl_config_load(&cfg, &argc, argv, err), 0, "load with file, env, flag: %s",
               err);
    TAP_EQ_STR(cfg.endpoint[PCTL_SVC_HOURS].value, "tcp://file:1", "file beats default");
    TAP_EQ_INT(cfg.endpoint[PCTL_SVC_HOURS].source, PCTL_SRC_FILE, "hours from the file");
    TAP_EQ_STR(cfg.endpoint[PCTL_SVC_WAGES].value, "tcp://env:2", "env beats file");
    TAP_EQ_INT(cfg.endpoint[PCTL_SVC_WAGES].source, PCTL_SRC_ENV, "wages from env");
    TAP_EQ_STR(cfg.endpoint[PCTL_SVC_INVOICING].value, "tcp://flag:3", "flag beats env");
    TAP_EQ_INT(cfg.endpoint[PCTL_SVC_INVOICING].source, PCTL_SRC_FLAG, "invoicing from flag");
    TAP_EQ_STR(cfg.key_file.value, "/etc/pay/keys/payctl.key", "key file under the file's dir");
    TAP_EQ_STR(cfg.public_key_file[PCTL_SVC_HOURS].value, "/etc/pay/keys/hours.pub",
               "server key under the file's dir");
    TAP_EQ_STR(cfg.config_file, conf, "config file recorded");
    TAP_EQ_INT(argc, 5, "config flags taken out of argv");
    TAP_OK(argc == 5 && strcmp(argv[1], "hours") == 0 && strcmp(argv[2], "list") == 0 &&
               strcmp(argv[3], "--prisoner") == 0 && strcmp(argv[4], "A1234BC") == 0 &&
               argv[5] == NULL,
           "the rest of argv in order");

    /* PAY_KEY_FILE and PAY_KEYS_DIR from the environment, via PAYCTL_CONFIG. */
    s_clear_env();
    setenv("PAYCTL_CONFIG", conf, 1);
    setenv("PAY_KEYS_DIR", "/k", 1);
    setenv("PAY_KEY_FILE", "/me/finance.key", 1);
    char b0[] = "payctl", b1[] = "--keys-dir", b2[] = "/flagkeys";
    char *argv2[] = {b0, b1, b2, NULL};
    argc = 3;
    TAP_EQ_INT(pctl_config_load(&cfg, &argc, argv2, err), 0, "PAYCTL_CONFIG load: %s", err);
    TAP_EQ_STR(cfg.endpoint[PCTL_SVC_HOURS].value, "tcp://file:1", "PAYCTL_CONFIG read");
    TAP_EQ_STR(cfg.keys_dir.value, "/flagkeys", "keys dir flag beats env and file");
    TAP_EQ_STR(cfg.key_file.value, "/me/finance.key", "PAY_KEY_FILE used");
    TAP_EQ_STR(cfg.public_key_file[PCTL_SVC_INVOICING].value, "/flagkeys/invoicing.pub",
               "server keys follow the final keys dir");

    /* ~/.config/payctl/config is read when nothing else names a file. */
    char path[512];
    s_clear_env();
    snprintf(path, sizeof path, "%s/.config", s_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/.config/payctl", s_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/.config/payctl/config", s_dir);
    s_write(path, "wages-endpoint = tcp://home:2\n");
    char c0[] = "payctl";
    char *argv3[] = {c0, NULL};
    argc = 1;
    TAP_EQ_INT(pctl_config_load(&cfg, &argc, argv3, err), 0, "home config load: %s", err);
    TAP_EQ_STR(cfg.endpoint[PCTL_SVC_WAGES].value, "tcp://home:2", "home config read");
    unlink(path);

    /* Flags after "--" are not ours. */
    char d0[] = "payctl", d1[] = "x", d2[] = "--", d3[] = "--keys-dir", d4[] = "z";
    char *argv4[] = {d0, d1, d2, d3, d4, NULL};
    argc = 5;
    TAP_EQ_INT(pctl_config_load(&cfg, &argc, argv4, err), 0, "load with --");
    TAP_EQ_INT(argc, 5, "nothing taken after --");
    TAP_EQ_STR(cfg.keys_dir.value, "keys", "flag after -- ignored");
}

static void test_errors(void)
{
    pctl_config_t cfg;
    char err[PCTL_ERR_LEN], conf[512];
    s_clear_env();
    snprintf(conf, sizeof conf, "%s/bad.conf", s_dir);
    s_write(conf, "hours-endpoint = tcp://x:1\nhours-endponit = tcp://typo:1\n");
    char a0[] = "payctl", a1[] = "--config";
    char *argv[] = {a0, a1, conf, NULL};
    int argc = 3;
    TAP_EQ_INT(pctl_config_load(&cfg, &argc, argv, err), -1, "unknown key refused");
    TAP_OK(strstr(err, ":2: unknown key \"hours-endponit\"") != NULL, "names line and key: %s",
           err);

    s_write(conf, "just words\n");
    char *argv2[] = {a0, a1, conf, NULL};
    argc = 3;
    TAP_EQ_INT(pctl_config_load(&cfg, &argc, argv2, err), -1, "line without = refused");
    TAP_OK(strstr(err, ":1: expected \"key = value\"") != NULL, "%s", err);

    char missing[512];
    snprintf(missing, sizeof missing, "%s/nope.conf", s_dir);
    char *argv3[] = {a0, a1, missing, NULL};
    argc = 3;
    TAP_EQ_INT(pctl_config_load(&cfg, &argc, argv3, err), -1, "missing named file refused");
    TAP_OK(strstr(err, "nope.conf") != NULL, "names the file: %s", err);

    char b1[] = "--hours-endpoint";
    char *argv4[] = {a0, b1, NULL};
    argc = 2;
    TAP_EQ_INT(pctl_config_load(&cfg, &argc, argv4, err), -1, "flag without value refused");
    TAP_OK(strstr(err, "--hours-endpoint needs a value") != NULL, "%s", err);

    TAP_OK(pctl_config_is_flag("--keys-dir") && pctl_config_is_flag("--config=x") &&
               !pctl_config_is_flag("--format") && !pctl_config_is_flag("keys-dir"),
           "pctl_config_is_flag");
}

int main(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/pctl_config_test.XXXXXX");
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_precedence();
    test_errors();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system(cmd) != 0)
        TAP_NOTE("could not remove %s", s_dir);
    return tap_done();
}
