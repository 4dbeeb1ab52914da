/* mail_worker: the sending thread of pay-mailer.
 *
 * Why a thread: fetching a document from pay-invoicing and talking SMTP to
 * a relay can each take seconds (a slow relay, a server that is down and
 * only times out), and the service's loop must keep answering its API and
 * consuming the feed meanwhile. The loop claims one due delivery at a time
 * (mail_store_claim_next, durable), hands it here as a mail_job_t, and
 * records the outcome when the job comes back; the thread never touches
 * the store, and the loop never blocks on the network.
 *
 * One job, in the thread: GetDocument PDF from pay-invoicing over CURVE as
 * the mailer's service key (client.h, Lazy Pirate); GetDocument UBL (an OK
 * answer means the employer is Peppol-capable and the UBL is attached; a
 * refusal means there is no UBL for it, and its message becomes the
 * delivery's note); the recipient (the job's, else the document's invoice
 * e-mail); the message (mail_mime); the send (mail_smtp).
 *   - invoicing silent, UNAVAILABLE or INTERNAL: DEFERRED (no try made);
 *   - the PDF refused (NOT_FOUND, PERMISSION_DENIED, ...): TRANSIENT, so
 *     it counts as a try and ends FAILED if it never comes right;
 *   - no valid recipient: PERMANENT (a resend with --to fixes it).
 *
 * The loop talks to the thread over an inproc PAIR socket: a job travels
 * as a pointer (one frame), in both directions. mail_worker_socket is the
 * loop's end, readable when a job is back.
 *
 * Ownership: the configuration is borrowed and must outlive the worker
 * (the thread reads it). A submitted job belongs to the worker until it is
 * taken back; mail_worker_destroy frees any job still inside. */
#ifndef PAY_MAIL_WORKER_H
#define PAY_MAIL_WORKER_H

#include <stdatomic.h>

#include "auth.h"
#include "mail_rules.h"
#include "mail_smtp.h"

typedef struct {
    /* in: what to send */
    char number[MAIL_NUMBER_LEN];
    char email[MAIL_ADDR_LEN];      /* "" : the document's invoice e-mail */
    char message_id[MAIL_MSGID_LEN];
    /* out: what happened */
    mail_outcome_t outcome;
    char text[MAIL_TEXT_LEN];
    char email_used[MAIL_ADDR_LEN];
    int ubl;
    int has_note;
    char note[MAIL_TEXT_LEN];
    size_t bytes;                   /* size of the message sent */
} mail_job_t;

typedef struct {
    void *zmq_ctx;
    const char *invoicing_endpoint;
    const auth_keypair_t *keys;         /* the mailer's service key pair */
    const char *invoicing_public;       /* z85 */
    int fetch_timeout_ms;               /* per try; 0: 5000 */
    mail_smtp_cfg_t smtp;               /* smtp.stop is set by the worker */
    const char *from_addr;
    const char *from_name;              /* may be NULL */
} mail_worker_cfg_t;

typedef struct mail_worker_t mail_worker_t;

/* Starts the thread. Returns NULL on failure (logged). */
mail_worker_t *mail_worker_new(const mail_worker_cfg_t *cfg);

/* Asks the thread to stop (aborting a send in progress: its job comes back
 * DEFERRED unless the relay had already accepted it), waits for it, and
 * frees. A finished job not yet taken is returned in *left (may be NULL:
 * then it is freed). Accepts NULL; NULLs *self_p. */
void mail_worker_destroy(mail_worker_t **self_p, mail_job_t **left);

/* The loop's end of the PAIR: poll it for ZMQ_POLLIN. */
void *mail_worker_socket(mail_worker_t *self);

/* 1 while a job is inside. */
int mail_worker_busy(const mail_worker_t *self);

/* The number of the document being sent, or "" when idle. */
const char *mail_worker_current(const mail_worker_t *self);

/* Hands `*job_p` to the thread (taking it: *job_p becomes NULL). Returns 0,
 * or -1 if busy or the send failed (the job stays the caller's). */
int mail_worker_submit(mail_worker_t *self, mail_job_t **job_p);

/* The finished job, if one is back (never blocks), else NULL. */
mail_job_t *mail_worker_take(mail_worker_t *self);

/* The same job steps without a thread, for tests: fetch, build, send. */
void mail_worker_run_job(const mail_worker_cfg_t *cfg, void *invoicing_client, mail_job_t *job);

#endif
