/* auth: CURVE keys, the ZAP handler that allow-lists client keys, and the
 * caller identity (role and scope) that handlers act on.
 *
 * Every socket in the system is CURVE-encrypted. A server must create its
 * auth_t (which binds the ZAP endpoint inproc://zeromq.zap.01 in the same
 * zmq context and starts answering) BEFORE it binds any socket: without a
 * ZAP handler libzmq lets every CURVE client in. The handler accepts only
 * public keys on its allow-list and replies with the key as User-Id; the
 * server looks the key up in the current list for every message with
 * auth_identity_from_msg, so revocation bites on open connections too.
 * The identity never comes from anything the client puts in the payload.
 *
 * Allow-list file: one entry per line; a word starting with '#' starts a
 * comment (except in the key position, since '#' is a Z85 character):
 *     <public-key-z85> <role> <scope or -> <name>
 * e.g.  "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 instructor MDI mdi-workshop"
 *
 * Key files: "<base>.key" holds two lines "public=<z85>" and "secret=<z85>"
 * (mode 0600); "<base>.pub" holds "public=<z85>". */
#ifndef PAY_AUTH_H
#define PAY_AUTH_H

#include <stddef.h>
#include <zmq.h>

typedef enum {
    ROLE_NONE = 0,
    ROLE_INSTRUCTOR,
    ROLE_GOVERNOR,
    ROLE_INDUSTRIES,
    ROLE_FINANCE,
    ROLE_EMPLOYER,
    ROLE_SERVICE,
} auth_role_t;

#define AUTH_SCOPE_LEN 40   /* prison code, employer id, or "" */
#define AUTH_NAME_LEN 64
#define AUTH_Z85_LEN 41     /* 40 characters + NUL */

typedef struct {
    auth_role_t role;
    char scope[AUTH_SCOPE_LEN];
    char name[AUTH_NAME_LEN];
} auth_identity_t;

typedef struct {
    char public_z85[AUTH_Z85_LEN];
    char secret_z85[AUTH_Z85_LEN];
} auth_keypair_t;

/* "instructor", "governor", ... ; "none" for ROLE_NONE. */
const char *auth_role_name(auth_role_t role);
/* Returns 0 and sets *role, or -1 for an unknown name. */
int auth_role_parse(const char *name, auth_role_t *role);

int auth_keypair_new(auth_keypair_t *kp);
/* Writes "<base>.key" (0600) and "<base>.pub". Returns 0 or -1. */
int auth_keypair_save(const auth_keypair_t *kp, const char *base);
/* Reads a .key file (both keys) or a .pub file (public only; secret ""). */
int auth_keypair_load(const char *path, auth_keypair_t *kp);

typedef struct auth_t auth_t;

/* Starts the ZAP handler thread in `zmq_ctx`, with the allow-list file
 * `allow_file` (may be NULL for an empty list). Returns NULL on failure
 * (bad file, ZAP endpoint already bound). */
auth_t *auth_new(void *zmq_ctx, const char *allow_file);
/* Stops the thread and frees. Accepts NULL; NULLs *self_p. */
void auth_destroy(auth_t **self_p);

/* The exit status of a process whose ZAP handler thread ended other than
 * through auth_destroy (or a terminated context): the thread logs
 * "auth.zap_dead" and calls _exit(AUTH_EXIT_ZAP_DEAD) at once, because
 * libzmq 4.3 without a ZAP handler lets every CURVE client in. */
#define AUTH_EXIT_ZAP_DEAD 70

/* For tests: makes the handler thread fail as if its socket had broken
 * (the process exits with AUTH_EXIT_ZAP_DEAD). */
void auth_test_break_zap(auth_t *self);

/* Adds or replaces one allow-list entry at run time (tests, key grants).
 * Thread-safe with the handler. Returns 0 or -1 (bad key or scope). */
int auth_allow(auth_t *self, const char *public_z85, auth_role_t role,
               const char *scope, const char *name);
/* Re-reads the allow-list file (entries added with auth_allow are kept). */
int auth_reload(auth_t *self);

#define AUTH_ERR_LEN 256

/* Parses an allow-list file without loading it. Returns 0, or -1 with
 * "file:line: reason" in err (the same text auth_new logs on refusal). */
int auth_allow_file_check(const char *allow_file, char err[AUTH_ERR_LEN]);

/* Entries currently allowed (file and run-time ones). */
size_t auth_allow_count(auth_t *self);

/* Grants one entry in an allow-list file (creating it): if the key is
 * already listed, its line is replaced (role, scope and name are the new
 * ones) and any further lines for the same key are dropped; otherwise the
 * entry is appended. An identical entry leaves the file untouched. Comments
 * and every other line are kept. The file is rewritten through a temporary
 * file and rename, so a service starting meanwhile reads the old list or
 * the new one; concurrent editors are serialised by a lock. A file that
 * does not parse (auth_allow_file_check) is never edited. Returns 0, or -1
 * with errno set (EINVAL: bad entry or malformed file; the reason is
 * logged). The name is historical: it appends only new keys. */
int auth_allow_file_append(const char *allow_file, const char *public_z85,
                           auth_role_t role, const char *scope,
                           const char *name);

/* Removes every line listing `public_z85` from an allow-list file, in the
 * same way. Returns 0 if the key was listed (and is no longer), 1 if it
 * was not listed (nothing changed), or -1 with errno set. A running
 * service keeps the list it loaded until it restarts or calls auth_reload;
 * from then on every message of the key is refused, on open connections
 * too. */
int auth_allow_file_remove(const char *allow_file, const char *public_z85);

/* The ZAP domain of feed sockets (set ZMQ_ZAP_DOMAIN to it after
 * auth_curve_server): the handler admits only allow-listed keys with role
 * `service` there, so no other key even completes a handshake with a feed.
 * Every other domain admits any allow-listed key. */
#define AUTH_DOMAIN_FEED "pay-feed"

/* Makes `sock` a CURVE server with the given key pair, ZAP domain "pay",
 * and ZMQ_MAXMSGSIZE = max_msg_size. Call before zmq_bind. */
int auth_curve_server(void *sock, const auth_keypair_t *server, long max_msg_size);
/* Makes `sock` a CURVE client of the server whose public key is given. */
int auth_curve_client(void *sock, const auth_keypair_t *client,
                      const char *server_public_z85, long max_msg_size);

/* The identity of the peer that sent `msg`, as the allow-list of `self`
 * says NOW (any frame of a message received on a CURVE server socket that
 * came from the peer; NOT the routing-id frame a ROUTER prepends, which
 * libzmq makes locally and which carries no metadata). The ZAP handler
 * puts the peer's public key (Z85) in the connection's User-Id; the role,
 * scope and name are looked up again for every message, so that after
 * `payctl keys revoke` and a reload (SIGHUP) the next message on a
 * connection opened before is refused.
 * Returns 0, -1 if the message carries no valid User-Id, or 1 if the key
 * is no longer on the allow-list (out zeroed). */
int auth_identity_from_msg(auth_t *self, zmq_msg_t *msg, auth_identity_t *out);

/* Parses a User-Id "role:scope:name". Returns 0, or -1 (out zeroed). */
int auth_identity_parse(const char *user_id, auth_identity_t *out);

#endif
