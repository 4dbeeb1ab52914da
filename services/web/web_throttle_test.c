/* web_throttle_test: free failures, doubling waits, the cap, forgetting,
 * clearing, separate keys, a full table. */
#include "tap.h"
#include "web_throttle.h"

int main(void)
{
    web_throttle_policy_t p = {3, 1000, 8000, 60000, 4};
    web_throttle_t *t = web_throttle_new(&p);
    TAP_OK(t != NULL, "a throttle: 3 free, 1 s doubling to 8 s, forget after 60 s");
    for (int i = 0; i < 3; i++) {
        TAP_EQ_INT(web_throttle_wait_ms(t, "login:a", 0), 0, "try %d: no wait", i + 1);
        web_throttle_fail(t, "login:a", 0);
    }
    TAP_EQ_INT(web_throttle_wait_ms(t, "login:a", 0), 0, "3 failures: still free");
    web_throttle_fail(t, "login:a", 0);
    TAP_EQ_INT(web_throttle_wait_ms(t, "login:a", 0), 1000, "4th failure: wait 1 s");
    TAP_EQ_INT(web_throttle_wait_ms(t, "login:a", 400), 600, "at 400 ms: 600 left");
    TAP_EQ_INT(web_throttle_wait_ms(t, "login:b", 400), 0, "another key is not affected");
    web_throttle_fail(t, "login:a", 1000);
    TAP_EQ_INT(web_throttle_wait_ms(t, "login:a", 1000), 2000, "5th: 2 s");
    web_throttle_fail(t, "login:a", 3000);
    TAP_EQ_INT(web_throttle_wait_ms(t, "login:a", 3000), 4000, "6th: 4 s");
    web_throttle_fail(t, "login:a", 7000);
    web_throttle_fail(t, "login:a", 15000);
    TAP_EQ_INT(web_throttle_wait_ms(t, "login:a", 15000), 8000, "8th: capped at 8 s");
    TAP_EQ_INT((int)web_throttle_failures(t, "login:a", 15000), 8, "8 failures counted");
    TAP_EQ_INT(web_throttle_wait_ms(t, "login:a", 23000), 0, "after the wait: may try");
    TAP_EQ_INT((int)web_throttle_failures(t, "login:a", 23000 + 60000), 0,
               "forgotten 60 s after the last failure");
    web_throttle_fail(t, "login:c", 0);
    web_throttle_fail(t, "login:c", 0);
    web_throttle_fail(t, "login:c", 0);
    web_throttle_fail(t, "login:c", 0);
    web_throttle_clear(t, "login:c");
    TAP_EQ_INT(web_throttle_wait_ms(t, "login:c", 0), 0, "clear (a good login) lifts the wait");
    TAP_EQ_INT((int)web_throttle_failures(t, "login:c", 0), 0, "and the count");
    for (int i = 0; i < 6; i++) {
        char key[16];
        snprintf(key, sizeof key, "addr:%d", i);
        web_throttle_fail(t, key, 100 + i);
    }
    TAP_EQ_INT((int)web_throttle_failures(t, "addr:5", 200), 1, "a full table still counts new keys");
    TAP_EQ_INT((int)web_throttle_failures(t, "addr:0", 200), 0, "the oldest entry was dropped");
    web_throttle_destroy(&t);
    TAP_OK(t == NULL, "destroy NULLs the pointer");
    return tap_done();
}
