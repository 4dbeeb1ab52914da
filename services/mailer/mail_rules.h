/* mail_rules: the delivery rules of pay-mailer, as pure functions over a
 * plain struct: what a new delivery looks like, its Message-ID, the back-off
 * between tries, what each outcome of a try does to it (the state machine),
 * what a resend does, which recipient addresses are acceptable, and which
 * relay settings are allowed.
 *
 * The state machine (DOMAIN.md: "e-mailed ... once, with retries until the
 * mail server accepts it"):
 *
 *   (feed event) --> PENDING --claim--> (a try in flight) --ACCEPTED--> SENT
 *                      ^  |                   |  TRANSIENT: tries + 1;
 *                      |  |                   |   PENDING after back-off,
 *                      |  +-------------------+   FAILED at max_tries
 *                      |                      |  PERMANENT --> FAILED
 *                      |                      |  DEFERRED (no try was made:
 *                      |                      |   the document could not be
 *                      |                      |   fetched) --> PENDING, tries
 *                      |                      |   unchanged
 *   SENT / FAILED --resend (finance)--> PENDING, tries 0
 *
 * A claim moves next_try_at forward by the back-off BEFORE the try starts,
 * and is made durable before the message goes out: if the process dies
 * mid-send, the document is tried again after that delay, never in a tight
 * loop, and under the same Message-ID, so the recipient can recognise the
 * copy. A finance resend of a SENT document is a new message and gets a new
 * Message-ID (number.rN@domain); anything else keeps the one it had.
 *
 * Ownership: everything works on caller-owned structs and buffers; nothing
 * allocates, nothing reads the clock (times are passed in, Unix ms). */
#ifndef PAY_MAIL_RULES_H
#define PAY_MAIL_RULES_H

#include <stddef.h>
#include <stdint.h>

#define MAIL_NUMBER_LEN 16      /* INV-000001 + NUL, with room */
#define MAIL_EMPLOYER_LEN 40
#define MAIL_ADDR_LEN 256       /* RFC 5321: a path is at most 256 octets */
#define MAIL_PERIOD_LEN 16
#define MAIL_TEXT_LEN 320       /* server answers and reasons, truncated */
#define MAIL_MSGID_LEN 320      /* number, ".rN", '@', domain (<= 253) */
#define MAIL_DOMAIN_LEN 254

typedef enum {
    MAIL_PENDING = 1,           /* the values of pay.DeliveryState */
    MAIL_SENT = 2,
    MAIL_FAILED = 3,
} mail_state_t;

typedef struct {
    char number[MAIL_NUMBER_LEN];
    char employer[MAIL_EMPLOYER_LEN];
    char email[MAIL_ADDR_LEN];
    char period[MAIL_PERIOD_LEN];
    int credit_note;
    mail_state_t state;
    uint32_t tries;             /* failed tries of this round */
    uint32_t attempts;          /* tries ever started */
    uint32_t resends;           /* resends of a SENT document */
    uint64_t queued_at;
    uint64_t next_try_at;
    uint64_t last_try_at;
    uint64_t sent_at;
    char server_answer[MAIL_TEXT_LEN];
    char last_error[MAIL_TEXT_LEN];
    char message_id[MAIL_MSGID_LEN];
    int ubl_attached;
    uint64_t feed_seq;
    char note[MAIL_TEXT_LEN];
} mail_delivery_t;

/* How hard to try. A try that fails for a passing reason is followed by a
 * wait of min(max_ms, base_ms * 2^(n - 1)) after the n-th such failure;
 * after max_tries of them the delivery is FAILED. */
typedef struct {
    uint64_t base_ms;
    uint64_t max_ms;
    uint32_t max_tries;
    char domain[MAIL_DOMAIN_LEN];   /* for Message-IDs */
} mail_policy_t;

#define MAIL_DEFAULT_BASE_MS 30000u
#define MAIL_DEFAULT_MAX_MS 3600000u
#define MAIL_DEFAULT_MAX_TRIES 20u

/* The outcome of one try. */
typedef enum {
    MAIL_ACCEPTED = 1,          /* the relay took the message (2xx after DATA) */
    MAIL_TRANSIENT = 2,         /* no connection, a timeout, TLS or login
                                   trouble, or a 4xx answer: try again later */
    MAIL_PERMANENT = 3,         /* a 5xx refusal of the sender, recipient or
                                   message, or no usable recipient: trying
                                   again cannot help */
    MAIL_DEFERRED = 4,          /* no try was made (the document could not be
                                   fetched, or the service is stopping) */
} mail_outcome_t;

/* 1 if `number` is a canonical document number: "INV-" or "CRN-" and 6 to
 * 9 digits, not all zero, no leading zero beyond six digits. */
int mail_number_valid(const char *number);

/* 1 if `domain` can follow the '@' of a Message-ID: 1 to 253 characters of
 * dot-separated labels of letters, digits and '-' (no leading or trailing
 * '-' or '.'). */
int mail_domain_valid(const char *domain);

/* 1 if `addr` is a plain mailbox "local@domain" that is safe to put in an
 * SMTP command and a header: at most 254 octets, printable ASCII only (no
 * spaces, controls, '<', '>', '(', ')', ',', ';', ':', '\\', '"', '[', ']'),
 * exactly one '@', a local part of 1 to 64 characters without leading,
 * trailing or double dots, and a domain per mail_domain_valid. Anything
 * else (display names, quoted local parts, address literals) is refused. */
int mail_address_valid(const char *addr);

/* The domain part of a valid address (pointer into `addr`), else NULL. */
const char *mail_address_domain(const char *addr);

/* Writes "<number>@<domain>" (resends == 0) or "<number>.r<resends>@<domain>"
 * to out, without angle brackets. Returns 0, or -1 for an invalid number or
 * domain or a short buffer. The same inputs always give the same id. */
int mail_message_id(const char *number, uint32_t resends, const char *domain, char *out,
                    size_t outlen);

/* The wait after the n-th failed try (n >= 1; n == 0 gives 0), capped at
 * max_ms, without overflow for any n. */
uint64_t mail_backoff_ms(const mail_policy_t *p, uint32_t n);

/* A new PENDING delivery for a document announced by the feed at `seq`,
 * due at once. Strings are copied (truncated to fit); email may be NULL or
 * "" (then it is looked up when the document is fetched). Returns 0, or -1
 * if the number is not valid (the caller quarantines the event). */
int mail_delivery_new(mail_delivery_t *d, uint64_t seq, const char *number,
                      const char *employer, const char *email, const char *period,
                      int credit_note, uint64_t now);

/* 1 if `d` should be tried at `now`: PENDING and next_try_at <= now. */
int mail_delivery_due(const mail_delivery_t *d, uint64_t now);

/* Starts a try at `now`: attempts + 1, last_try_at = now, the Message-ID
 * (from the number, resends and p->domain), and next_try_at = now +
 * backoff(tries + 1), so that a try that never reports back (a crash) is
 * repeated only after that delay. Returns 0, or -1 if d is not PENDING or
 * the Message-ID cannot be made (a bad domain). */
int mail_delivery_claim(mail_delivery_t *d, const mail_policy_t *p, uint64_t now);

/* Applies the outcome of the try claimed last. `text` is the relay's
 * answer (ACCEPTED) or the reason (otherwise), may be NULL. `email`, if not
 * NULL or "", is the recipient actually used (learnt from the document when
 * the event had none). Returns the new state. A delivery that is not
 * PENDING (a resend or a second result raced it) is left unchanged. */
mail_state_t mail_delivery_result(mail_delivery_t *d, const mail_policy_t *p,
                                  mail_outcome_t outcome, const char *text,
                                  const char *email, uint64_t now);

typedef enum {
    MAIL_RESEND_QUEUED = 0,     /* SENT or FAILED: queued afresh */
    MAIL_RESEND_HURRIED = 1,    /* PENDING: it is tried at once */
    MAIL_RESEND_BAD_ADDRESS = -1,
} mail_resend_t;

/* Finance's resend at `now`; `to` (may be NULL or "") replaces the
 * recipient. SENT: resends + 1 (a new Message-ID at the next claim).
 * SENT and FAILED: PENDING with tries 0 and the error cleared. PENDING:
 * due at once, tries 0. Returns what was done; an invalid `to` changes
 * nothing. */
mail_resend_t mail_delivery_resend(mail_delivery_t *d, const char *to, uint64_t now);

/* What the SMTP exchange ended with, classified: transport_ok is 1 when the
 * relay accepted the message; login_or_tls is 1 when the failure was the
 * login or the TLS set-up (a configuration matter that the operator fixes,
 * so always TRANSIENT); smtp_code is the relay's last reply code (0 if it
 * never answered). */
mail_outcome_t mail_classify(int transport_ok, int login_or_tls, long smtp_code);

/* The relay (smtp:// or smtps://) as configured. */
typedef enum {
    MAIL_TLS_STARTTLS = 0,      /* smtp:// upgraded with STARTTLS (required) */
    MAIL_TLS_IMPLICIT = 1,      /* smtps:// */
    MAIL_TLS_NONE = 2,          /* plain smtp://: loopback relays only */
} mail_tls_t;

typedef struct {
    char host[256];
    unsigned port;
    int loopback;               /* 127.0.0.0/8, ::1 or localhost */
    mail_tls_t tls;
} mail_relay_t;

/* Parses "smtp://HOST[:PORT][/]" or "smtps://HOST[:PORT][/]" (HOST may be
 * "[v6]"; default ports 587 and 465) with the TLS mode `tls_mode`
 * ("starttls", "none", or NULL/"" for the default: STARTTLS for smtp://,
 * implicit for smtps://) and checks the combination: plain SMTP is refused
 * unless the host is loopback, and "none" with smtps:// is a contradiction.
 * Returns 0, or -1 with a sentence that says what to change in err. */
int mail_relay_parse(const char *url, const char *tls_mode, mail_relay_t *out, char *err,
                     size_t errlen);

/* "PENDING", "SENT", "FAILED" (or "?"); and back (returns 0 or -1). */
const char *mail_state_name(mail_state_t s);
int mail_state_parse(const char *name, mail_state_t *out);

#endif
