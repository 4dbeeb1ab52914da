/* log_test: JSON escaping, truncation, and the lines really written to
 * stderr (captured through a pipe), checked by a small strict JSON reader. */
#include "log.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* Everything log_emit wrote to stderr while `fn` ran. */
static char s_captured[65536];

static const char *s_capture_begin_fd(int *saved, int p[2])
{
    fflush(stderr);
    if (pipe(p) != 0)
        return "pipe";
    *saved = dup(STDERR_FILENO);
    dup2(p[1], STDERR_FILENO);
    close(p[1]);
    return NULL;
}

static void s_capture_end(int saved, int p[2])
{
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof s_captured - 1
           && (r = read(p[0], s_captured + n, sizeof s_captured - 1 - n)) > 0)
        n += (size_t)r;
    s_captured[n] = '\0';
    close(p[0]);
}

/* --- a strict reader for one flat JSON object of strings and booleans --- */
static int s_json_string(const char **pp)
{
    const char *p = *pp;
    if (*p++ != '"')
        return 0;
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c == '\0' || c < 0x20)
            return 0;
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++) {
                    char h = p[i];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f')
                          || (h >= 'A' && h <= 'F')))
                        return 0;
                }
                p += 5;
            } else if (*p && strchr("\"\\/bfnrt", *p)) {
                p++;
            } else {
                return 0;
            }
        } else {
            p++;
        }
    }
    *pp = p + 1;
    return 1;
}

/* 1 if `line` (without its newline) is one valid flat JSON object. */
static int s_json_object(const char *line)
{
    const char *p = line;
    if (*p++ != '{')
        return 0;
    for (;;) {
        if (!s_json_string(&p) || *p++ != ':')
            return 0;
        if (*p == '"') {
            if (!s_json_string(&p))
                return 0;
        } else if (strncmp(p, "true", 4) == 0) {
            p += 4;
        } else if (strncmp(p, "false", 5) == 0) {
            p += 5;
        } else {
            return 0;
        }
        if (*p == ',') {
            p++;
            continue;
        }
        return p[0] == '}' && p[1] == '\0';
    }
}

/* Splits s_captured into lines; returns how many, each NUL-terminated. */
static int s_lines(char **lines, int max)
{
    int n = 0;
    char *p = s_captured;
    while (*p && n < max) {
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

static int s_ts_ok(const char *line)
{
    const char *p = strstr(line, "\"ts\":\"");
    if (p != line + 1)
        return 0;
    p += 6;
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ\"";
    for (int i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? !(p[i] >= '0' && p[i] <= '9') : p[i] != shape[i])
            return 0;
    }
    return 1;
}

static void s_esc(const char *in, const char *want, const char *what)
{
    char out[256];
    log_json_escape(in, out, sizeof out);
    TAP_EQ_STR(out, want, "escape %s", what);
}

int main(void)
{
    s_esc("plain text", "plain text", "plain");
    s_esc("say \"hi\"", "say \\\"hi\\\"", "quotes");
    s_esc("a\\b", "a\\\\b", "backslash");
    s_esc("l1\nl2\r\t", "l1\\nl2\\r\\t", "newline, CR, tab");
    s_esc("\x01\x1f\x7f", "\\u0001\\u001f\\u007f", "control chars");
    s_esc("\b\f", "\\b\\f", "backspace and form feed");
    s_esc("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac", "valid UTF-8 kept");
    s_esc("bad\xff", "bad\\ufffd", "invalid byte replaced");
    s_esc("\xc3", "\\ufffd", "cut UTF-8 sequence replaced");
    s_esc("\xc0\xaf", "\\ufffd\\ufffd", "overlong form replaced");
    s_esc("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd", "surrogate replaced");
    s_esc("", "", "empty");
    s_esc(NULL, "", "NULL");

    /* Truncation never splits an escape or a UTF-8 sequence. */
    {
        char out[8];
        log_json_escape("abcdefghij", out, sizeof out);
        TAP_EQ_STR(out, "abcdefg", "truncated to fit with its NUL");
        log_json_escape("abcde\"fg", out, sizeof out);
        TAP_EQ_STR(out, "abcde\\\"", "escape kept whole when it fits");
        log_json_escape("abcdef\"g", out, sizeof out);
        TAP_EQ_STR(out, "abcdef", "escape dropped whole when it does not");
        log_json_escape("abcd\x01", out, sizeof out);
        TAP_EQ_STR(out, "abcd", "\\u00XX dropped whole");
        log_json_escape("abcde\xe2\x82\xac", out, sizeof out);
        TAP_EQ_STR(out, "abcde", "UTF-8 sequence dropped whole");
        char one[1] = {'x'};
        log_json_escape("abc", one, sizeof one);
        TAP_EQ_INT(one[0], 0, "outlen 1 gives an empty string");
        char untouched[1] = {'x'};
        log_json_escape("abc", untouched, 0);
        TAP_EQ_INT(untouched[0], 'x', "outlen 0 writes nothing");
    }

    /* Real lines on stderr. */
    int saved, p[2];
    char *lines[16];
    log_set_service("hours");
    log_set_level(LOG_DEBUG);
    if (s_capture_begin_fd(&saved, p) == NULL) {
        log_info("server.start", "listening on %s", "tcp://*:5550");
        log_warn("odd.input", "name \"%s\" has a\\b and\nnewline\x01", "O'Neil");
        log_debug("dbg.one", "n=%d", 42);
        log_error("fail.x", "%s", "bad \xff byte");
        s_capture_end(saved, p);
    }
    int n = s_lines(lines, 16);
    TAP_EQ_INT(n, 4, "four lines written, each ending in a newline");
    for (int i = 0; i < n; i++) {
        TAP_OK(s_json_object(lines[i]), "line %d is valid JSON: %s", i + 1, lines[i]);
        TAP_OK(s_ts_ok(lines[i]), "line %d starts with an ISO-8601 UTC ms ts", i + 1);
        TAP_OK(strstr(lines[i], "\"service\":\"hours\"") != NULL, "line %d names the service", i + 1);
    }
    if (n == 4) {
        TAP_OK(strstr(lines[0], "\"level\":\"info\"") != NULL, "info level");
        TAP_OK(strstr(lines[0], "\"event\":\"server.start\"") != NULL, "event");
        TAP_OK(strstr(lines[0], "\"msg\":\"listening on tcp://*:5550\"}") != NULL, "msg");
        TAP_OK(strstr(lines[1], "\"level\":\"warn\"") != NULL, "warn level");
        TAP_OK(strstr(lines[1], "\"msg\":\"name \\\"O'Neil\\\" has a\\\\b and\\nnewline\\u0001\"")
               != NULL, "msg escaped: %s", lines[1]);
        TAP_OK(strstr(lines[2], "\"level\":\"debug\"") != NULL
               && strstr(lines[2], "\"msg\":\"n=42\"") != NULL, "debug line");
        TAP_OK(strstr(lines[3], "\"msg\":\"bad \\ufffd byte\"") != NULL, "invalid UTF-8 replaced");
    }

    /* Level filtering, by call and by PAY_LOG_LEVEL. */
    setenv("PAY_LOG_LEVEL", "warn", 1);
    log_init_from_env();
    if (s_capture_begin_fd(&saved, p) == NULL) {
        log_debug("dropped.debug", "x");
        log_info("dropped.info", "x");
        log_warn("kept.warn", "x");
        log_error("kept.error", "x");
        s_capture_end(saved, p);
    }
    n = s_lines(lines, 16);
    TAP_EQ_INT(n, 2, "PAY_LOG_LEVEL=warn keeps two of four lines");
    TAP_OK(n == 2 && strstr(lines[0], "kept.warn") && strstr(lines[1], "kept.error"),
           "the warn and error lines are the ones kept");

    setenv("PAY_LOG_LEVEL", "loud", 1);
    if (s_capture_begin_fd(&saved, p) == NULL) {
        log_init_from_env();
        log_info("still.dropped", "x");
        s_capture_end(saved, p);
    }
    n = s_lines(lines, 16);
    TAP_OK(n == 1 && strstr(lines[0], "log.config") != NULL,
           "a bad PAY_LOG_LEVEL is reported and the level kept");
    unsetenv("PAY_LOG_LEVEL");

    /* A huge message is cut to one bounded line that says so. */
    log_set_level(LOG_INFO);
    {
        static char big[20000];
        for (size_t i = 0; i < sizeof big - 1; i++)
            big[i] = (i % 50 == 49) ? '"' : 'x';
        big[sizeof big - 1] = '\0';
        if (s_capture_begin_fd(&saved, p) == NULL) {
            log_info("big.msg", "%s", big);
            s_capture_end(saved, p);
        }
        size_t len = strlen(s_captured);
        n = s_lines(lines, 16);
        TAP_EQ_INT(n, 1, "a huge message is one line");
        TAP_OK(len <= 4096, "the line fits in PIPE_BUF (%zu bytes)", len);
        TAP_OK(n == 1 && s_json_object(lines[0]), "the cut line is valid JSON");
        TAP_OK(n == 1 && strstr(lines[0], "\"truncated\":true}") != NULL, "and says truncated");
    }

    /* Without a service name the key is left out, and errno survives. */
    log_set_service(NULL);
    if (s_capture_begin_fd(&saved, p) == NULL) {
        errno = 42;
        log_info("no.service", "hello");
        int e = errno;
        s_capture_end(saved, p);
        TAP_EQ_INT(e, 42, "log_emit preserves errno");
    }
    n = s_lines(lines, 16);
    TAP_OK(n == 1 && s_json_object(lines[0]) && !strstr(lines[0], "\"service\":"),
           "no service key when unnamed");
    return tap_done();
}
