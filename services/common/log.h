/* log: structured logs, one JSON object per line on stderr.
 *
 *   {"ts":"2026-11-28T18:02:11.123Z","level":"info","service":"hours",
 *    "event":"server.start","msg":"listening on tcp://0.0.0.0:5550"}
 *
 * `event` is a short stable dotted name that operators can grep; `msg` is
 * human text built printf-style and JSON-escaped here. Thread-safe: each
 * line is written with one write(2). */
#ifndef PAY_LOG_H
#define PAY_LOG_H

enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Names the service in every line; the string must outlive logging. */
void log_set_service(const char *name);
/* Lines below `level` are dropped. PAY_LOG_LEVEL=debug|info|warn|error. */
void log_set_level(int level);
void log_init_from_env(void);

void log_emit(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_emit(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_emit(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_emit(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_emit(LOG_ERROR, ev, __VA_ARGS__)

/* JSON-escape `s` into `out` (always NUL-terminated, truncated to fit). */
void log_json_escape(const char *s, char *out, unsigned long outlen);

#endif
