/* web_throttle: login throttling, per account and per client address.
 *
 * Each key ("account:NAME" or "addr:1.2.3.4", the caller chooses) counts
 * its failed logins. Up to `free_failures` failures cost nothing; after
 * that every further attempt must wait: the k-th failure past the limit
 * locks the key for base_ms * 2^(k-1), at most max_ms. An attempt while
 * locked is refused without checking the password (so a locked key costs
 * no Argon2 work, and the right password does not get through either).
 * A key forgets its failures after forget_ms without a failure, and a
 * successful login clears the account's key.
 *
 * Pure apart from its mutex: time is passed in, so the rules are tested
 * without sleeping. The table is bounded: when it is full, the entry
 * whose last failure is oldest is dropped.
 *
 * Ownership: the table owns its entries. Thread-safe. */
#ifndef PAY_WEB_THROTTLE_H
#define PAY_WEB_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    unsigned free_failures;     /* failures allowed before any wait */
    int64_t base_ms;            /* first wait */
    int64_t max_ms;             /* longest wait */
    int64_t forget_ms;          /* failures forgotten after this long without one */
    size_t max_keys;            /* table size */
} web_throttle_policy_t;

typedef struct web_throttle_t web_throttle_t;

web_throttle_t *web_throttle_new(const web_throttle_policy_t *policy);
void web_throttle_destroy(web_throttle_t **self_p);

/* 0 if `key` may try now; otherwise the milliseconds left to wait. */
int64_t web_throttle_wait_ms(web_throttle_t *self, const char *key, int64_t now_ms);
/* Counts a failed attempt for `key`. */
void web_throttle_fail(web_throttle_t *self, const char *key, int64_t now_ms);
/* Forgets `key`'s failures (a successful login). */
void web_throttle_clear(web_throttle_t *self, const char *key);
/* Failures counted for `key` (0 if unknown or forgotten). */
unsigned web_throttle_failures(web_throttle_t *self, const char *key, int64_t now_ms);

#endif
