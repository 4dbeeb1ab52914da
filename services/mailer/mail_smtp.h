/* mail_smtp: hands one finished message to the relay over SMTP, with
 * libcurl: STARTTLS (required, never opportunistic) or implicit TLS, AUTH
 * when a user is configured, MAIL FROM / RCPT TO / DATA, and the relay's
 * final answer captured word for word ("250 2.0.0 Ok: queued as 4F2A1"),
 * since that answer is what finance sees as proof of delivery.
 *
 * Plain SMTP is only ever used when mail_relay_parse allowed it (a loopback
 * relay). Nothing is logged here; credentials never leave the curl handle.
 * Every exchange is bounded by the connect and total timeouts, and a stop
 * flag (checked by curl's progress callback) aborts it early at shutdown.
 *
 * Ownership: the configuration and the message are borrowed for the call;
 * each send uses its own curl handle, so sends in different threads do not
 * share anything but curl's global state (mail_smtp_global_init, once, in
 * the main thread before any other thread starts). */
#ifndef PAY_MAIL_SMTP_H
#define PAY_MAIL_SMTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mail_rules.h"

typedef struct {
    mail_relay_t relay;         /* from mail_relay_parse */
    const char *helo_domain;    /* the name for EHLO, or NULL */
    const char *user;           /* NULL or "": no AUTH */
    const char *password;
    const char *ca_file;        /* NULL: the system's CA store */
    const char *from;           /* envelope sender (a valid address) */
    long connect_timeout_ms;    /* 0: 10000 */
    long timeout_ms;            /* whole exchange; 0: 60000 */
    atomic_int *stop;           /* non-zero aborts the exchange; may be NULL */
} mail_smtp_cfg_t;

typedef struct {
    mail_outcome_t outcome;
    long code;                  /* the relay's last reply code, 0 if none */
    char text[MAIL_TEXT_LEN];   /* ACCEPTED: the relay's answer; else why */
} mail_smtp_result_t;

/* curl_global_init / curl_global_cleanup. Returns 0 or -1. */
int mail_smtp_global_init(void);
void mail_smtp_global_cleanup(void);

/* Sends `len` bytes of `msg` (CRLF lines) to `to`. Always fills *res:
 * ACCEPTED with the relay's answer; TRANSIENT or PERMANENT as
 * mail_classify says, with curl's reason and the relay's last words;
 * DEFERRED if the stop flag aborted it. */
void mail_smtp_send(const mail_smtp_cfg_t *cfg, const char *to, const uint8_t *msg, size_t len,
                    mail_smtp_result_t *res);

#endif
