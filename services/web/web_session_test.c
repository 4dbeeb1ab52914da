/* web_session_test: ids and CSRF tokens, lookups, idle expiry, logout,
 * eviction when full, wiping. */
#include <sodium.h>
#include <string.h>

#include "tap.h"
#include "web_session.h"

int main(void)
{
    TAP_OK(sodium_init() >= 0, "sodium initialises");
    web_sessions_t *t = web_sessions_new(2, 1000);
    TAP_OK(t != NULL, "a table of 2 sessions, 1 s idle");
    auth_identity_t who = {ROLE_FINANCE, "", "fin"};
    auth_keypair_t kp;
    auth_keypair_new(&kp);
    web_session_t a, b, c, got;
    TAP_EQ_INT(web_sessions_open(t, "finance", &who, &kp, 0, &a), 0, "open a");
    TAP_EQ_INT((int)strlen(a.sid), WEB_TOKEN_LEN, "the id is 64 hex characters");
    TAP_OK(strspn(a.sid, "0123456789abcdef") == WEB_TOKEN_LEN, "the id is hex");
    TAP_OK(strcmp(a.sid, a.csrf) != 0, "the CSRF token is not the id");
    TAP_EQ_STR(a.keys.secret_z85, kp.secret_z85, "the session holds the key pair");
    TAP_EQ_INT(web_sessions_open(t, "employer-dhl", &who, &kp, 10, &b), 0, "open b");
    TAP_OK(strcmp(a.sid, b.sid) != 0 && strcmp(a.csrf, b.csrf) != 0, "fresh id and token each");

    TAP_EQ_INT(web_sessions_get(t, a.sid, 999, &got), WEB_SESSION_OK, "a is live at 999 ms");
    TAP_EQ_STR(got.login, "finance", "the lookup copies the session");
    TAP_EQ_INT(web_sessions_get(t, a.sid, 1500, &got), WEB_SESSION_OK,
               "the lookup refreshed a: still live at 1500 ms");
    TAP_EQ_INT(web_sessions_get(t, b.sid, 1500, &got), WEB_SESSION_EXPIRED,
               "b, idle since 10 ms, expired");
    TAP_EQ_INT(web_sessions_get(t, b.sid, 1500, &got), WEB_SESSION_UNKNOWN,
               "an expired session is gone");
    TAP_OK(got.login[0] == '\0' && got.keys.secret_z85[0] == '\0', "a miss gives a zeroed copy");
    TAP_EQ_INT(web_sessions_get(t, "nothex", 1500, &got), WEB_SESSION_UNKNOWN, "a bad id");
    char wrong[WEB_TOKEN_LEN + 1];
    memcpy(wrong, a.sid, sizeof wrong);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    TAP_EQ_INT(web_sessions_get(t, wrong, 1500, &got), WEB_SESSION_UNKNOWN,
               "one character off is unknown");

    TAP_OK(web_csrf_ok(&a, a.csrf), "CSRF: the session's token passes");
    TAP_OK(!web_csrf_ok(&a, b.csrf), "CSRF: another session's token fails");
    TAP_OK(!web_csrf_ok(&a, ""), "CSRF: an empty token fails");
    TAP_OK(!web_csrf_ok(&a, a.sid), "CSRF: the session id is not the token");

    /* Full table: the least recently used one goes. */
    TAP_EQ_INT(web_sessions_open(t, "x", &who, &kp, 1600, &b), 0, "open b again");
    TAP_EQ_INT(web_sessions_get(t, a.sid, 1700, &got), WEB_SESSION_OK, "touch a at 1700");
    TAP_EQ_INT(web_sessions_open(t, "y", &who, &kp, 1800, &c), 0, "open c in a full table");
    TAP_EQ_INT(web_sessions_get(t, b.sid, 1800, &got), WEB_SESSION_UNKNOWN,
               "b (used longest ago) was evicted");
    TAP_EQ_INT(web_sessions_get(t, a.sid, 1800, &got), WEB_SESSION_OK, "a kept");
    TAP_EQ_INT((int)web_sessions_count(t), 2, "two sessions");

    TAP_EQ_INT(web_sessions_close(t, a.sid), 0, "logout a");
    TAP_EQ_INT(web_sessions_get(t, a.sid, 1800, &got), WEB_SESSION_UNKNOWN, "a is gone");
    TAP_EQ_INT(web_sessions_close(t, a.sid), -1, "a second logout finds nothing");
    TAP_EQ_INT((int)web_sessions_sweep(t, 1800, "y"), 1, "sweep by login ends c");
    TAP_EQ_INT((int)web_sessions_count(t), 0, "empty");
    TAP_EQ_INT(web_sessions_open(t, "z", &who, &kp, 0, &c), 0, "open z");
    TAP_EQ_INT((int)web_sessions_sweep(t, 1000, NULL), 1, "sweep ends the idle one");
    TAP_EQ_INT((int)web_sessions_count(t), 0, "no live session after the sweep");
    TAP_EQ_INT(web_sessions_get(t, c.sid, 1200, &got), WEB_SESSION_EXPIRED,
               "a swept session still reads as expired (not unknown)");
    TAP_EQ_INT(web_sessions_get(t, c.sid, 1200, &got), WEB_SESSION_UNKNOWN, "once");

    web_session_wipe(&got);
    int zero = 1;
    for (size_t i = 0; i < sizeof got; i++)
        zero &= ((unsigned char *)&got)[i] == 0;
    TAP_OK(zero, "wipe zeroes every byte of a copy");
    char longname[100];
    memset(longname, 'a', sizeof longname - 1);
    longname[99] = '\0';
    TAP_EQ_INT(web_sessions_open(t, longname, &who, &kp, 0, &c), -1, "a login too long");
    TAP_OK(web_sessions_new(0, 1000) == NULL && web_sessions_new(2, 0) == NULL,
           "bad sizes refused");
    web_sessions_destroy(&t);
    TAP_OK(t == NULL, "destroy NULLs the pointer");
    web_sessions_destroy(&t);
    return tap_done();
}
