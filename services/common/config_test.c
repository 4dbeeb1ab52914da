/* config_test: flag > environment > default, both flag spellings, the
 * refusals, --help, and integer bounds. */
#include "config.h"
#include "tap.h"

#include <stdlib.h>
#include <unistd.h>

#define S_ARGV(...) \
    char *argv[] = {"svc", __VA_ARGS__, NULL}; \
    int argc = (int)(sizeof argv / sizeof argv[0]) - 1

/* A fresh option table for each case (config_parse writes into it). */
static void s_opts(config_opt_t opts[4])
{
    config_opt_t t[4] = {
        {"data-dir", "PAYT_DATA_DIR", "/var/lib/pay", "where the store lives", NULL},
        {"port", "PAYT_PORT", "5550", "API port", NULL},
        {"name", NULL, NULL, "no env, no default", NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    memcpy(opts, t, sizeof t);
}

/* Runs config_parse with stdout and stderr sent to a temp file, whose text
 * ends up in `out`. */
static int s_parse_quiet(config_opt_t *opts, int argc, char **argv, char *out,
                         size_t outlen)
{
    char path[] = "/tmp/config_testXXXXXX";
    int fd = mkstemp(path);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    int rc = config_parse(opts, argc, argv, "svc [options]");
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, out, outlen - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return rc;
}

int main(void)
{
    config_opt_t opts[4];
    char text[8192];
    unsetenv("PAYT_DATA_DIR");
    unsetenv("PAYT_PORT");

    {
        s_opts(opts);
        char *argv[] = {"svc", NULL};
        TAP_EQ_INT(config_parse(opts, 1, argv, "svc"), 0, "no flags");
        TAP_EQ_STR(config_get(opts, "data-dir"), "/var/lib/pay", "default used");
        TAP_OK(config_get(opts, "name") == NULL, "no default gives NULL");
        TAP_OK(config_get(opts, "nope") == NULL, "unknown name gives NULL");
    }
    setenv("PAYT_DATA_DIR", "/env/dir", 1);
    {
        s_opts(opts);
        char *argv[] = {"svc", NULL};
        TAP_EQ_INT(config_parse(opts, 1, argv, "svc"), 0, "env only");
        TAP_EQ_STR(config_get(opts, "data-dir"), "/env/dir", "env beats default");
    }
    {
        s_opts(opts);
        S_ARGV("--data-dir", "/flag/dir");
        TAP_EQ_INT(config_parse(opts, argc, argv, "svc"), 0, "--flag value");
        TAP_EQ_STR(config_get(opts, "data-dir"), "/flag/dir", "flag beats env");
    }
    {
        s_opts(opts);
        S_ARGV("--data-dir=/eq/dir", "--port=6000", "--name", "x=y");
        TAP_EQ_INT(config_parse(opts, argc, argv, "svc"), 0, "--flag=value");
        TAP_EQ_STR(config_get(opts, "data-dir"), "/eq/dir", "--flag=value taken");
        TAP_EQ_STR(config_get(opts, "port"), "6000", "--port=6000 taken");
        TAP_EQ_STR(config_get(opts, "name"), "x=y", "a value may hold '='");
    }
    {
        s_opts(opts);
        S_ARGV("--port", "1", "--port", "2");
        TAP_EQ_INT(config_parse(opts, argc, argv, "svc"), 0, "repeated flag");
        TAP_EQ_STR(config_get(opts, "port"), "2", "the last repeated flag wins");
    }
    {
        s_opts(opts);
        S_ARGV("--name=");
        TAP_EQ_INT(config_parse(opts, argc, argv, "svc"), 0, "--name= (empty)");
        TAP_EQ_STR(config_get(opts, "name"), "", "explicit empty value kept");
    }
    setenv("PAYT_DATA_DIR", "", 1);
    {
        s_opts(opts);
        char *argv[] = {"svc", NULL};
        config_parse(opts, 1, argv, "svc");
        TAP_EQ_STR(config_get(opts, "data-dir"), "/var/lib/pay", "an empty env var counts as unset");
    }
    unsetenv("PAYT_DATA_DIR");

    /* Refusals. */
    {
        s_opts(opts);
        S_ARGV("--data-dir");
        TAP_EQ_INT(s_parse_quiet(opts, argc, argv, text, sizeof text), -1, "missing value");
        TAP_OK(strstr(text, "--data-dir needs a value") != NULL, "says which flag");
    }
    {
        s_opts(opts);
        S_ARGV("--data-dir", "--port", "1");
        TAP_EQ_INT(s_parse_quiet(opts, argc, argv, text, sizeof text), -1,
                   "a following flag is not a value");
    }
    {
        s_opts(opts);
        S_ARGV("--bogus", "1");
        TAP_EQ_INT(s_parse_quiet(opts, argc, argv, text, sizeof text), -1, "unknown flag");
        TAP_OK(strstr(text, "unknown option --bogus") != NULL, "names it");
    }
    {
        s_opts(opts);
        S_ARGV("--bogus=1");
        TAP_EQ_INT(s_parse_quiet(opts, argc, argv, text, sizeof text), -1, "unknown --flag=value");
        TAP_OK(strstr(text, "unknown option --bogus") != NULL, "names it without the value");
    }
    {
        s_opts(opts);
        S_ARGV("--data");
        TAP_EQ_INT(s_parse_quiet(opts, argc, argv, text, sizeof text), -1, "no prefix matching");
    }
    {
        s_opts(opts);
        S_ARGV("stray");
        TAP_EQ_INT(s_parse_quiet(opts, argc, argv, text, sizeof text), -1, "bare argument");
    }
    {
        s_opts(opts);
        S_ARGV("-port", "1");
        TAP_EQ_INT(s_parse_quiet(opts, argc, argv, text, sizeof text), -1, "single dash");
    }

    /* --help. */
    setenv("PAYT_PORT", "7000", 1);
    {
        s_opts(opts);
        S_ARGV("--port", "1", "--help");
        TAP_EQ_INT(s_parse_quiet(opts, argc, argv, text, sizeof text), 1, "--help returns 1");
        TAP_OK(strstr(text, "usage: svc [options]") != NULL, "help shows usage");
        TAP_OK(strstr(text, "--data-dir") && strstr(text, "PAYT_DATA_DIR")
               && strstr(text, "/var/lib/pay") && strstr(text, "where the store lives"),
               "help lists data-dir with env, default and help");
        TAP_OK(strstr(text, "--port") && strstr(text, "PAYT_PORT") && strstr(text, "5550"),
               "help lists port with its default, not the env's value");
        TAP_OK(strstr(text, "--name") != NULL, "help lists name");
        TAP_OK(strstr(text, "7000") == NULL, "help shows defaults, not current values");
    }
    {
        s_opts(opts);
        S_ARGV("-h");
        TAP_EQ_INT(s_parse_quiet(opts, argc, argv, text, sizeof text), 1, "-h returns 1");
    }
    {
        s_opts(opts);
        char *argv[] = {"svc", NULL};
        config_parse(opts, 1, argv, "svc");
        TAP_EQ_STR(config_get(opts, "port"), "7000", "env port");
    }
    unsetenv("PAYT_PORT");

    /* config_get_long. */
    {
        long v = 99;
        s_opts(opts);
        S_ARGV("--port", "5550", "--name", "-12", "--data-dir", "12x");
        config_parse(opts, argc, argv, "svc");
        TAP_OK(config_get_long(opts, "port", 1, 65535, &v) == 0 && v == 5550, "port 5550 in range");
        v = 99;
        TAP_OK(config_get_long(opts, "port", 1, 5549, &v) == -1 && v == 99, "above max refused");
        TAP_OK(config_get_long(opts, "port", 5551, 9999, &v) == -1, "below min refused");
        TAP_OK(config_get_long(opts, "port", 5550, 5550, &v) == 0 && v == 5550, "bounds inclusive");
        TAP_OK(config_get_long(opts, "name", -100, 100, &v) == 0 && v == -12, "negative in range");
        TAP_OK(config_get_long(opts, "name", 0, 100, &v) == -1, "negative below 0 refused");
        TAP_OK(config_get_long(opts, "data-dir", 0, 100, &v) == -1, "12x refused");
        TAP_OK(config_get_long(opts, "nope", 0, 100, &v) == -1, "unknown option refused");
    }
    {
        long v = 0;
        static const char *const bad[] = {"", " 1", "1 ", "+1", "-", "0x10", "1.0",
                                          "99999999999999999999999"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            s_opts(opts);
            opts[2].value = bad[i];
            TAP_OK(config_get_long(opts, "name", -1000000, 1000000, &v) == -1,
                   "\"%s\" is not an integer", bad[i]);
        }
        s_opts(opts);
        opts[2].value = "9223372036854775807";
        TAP_OK(config_get_long(opts, "name", 0, 9223372036854775807L, &v) == 0
               && v == 9223372036854775807L, "LONG_MAX accepted");
        TAP_OK(config_get_long(opts, "data-dir", 0, 1, &v) == -1, "NULL value refused");
    }
    return tap_done();
}
