#include "hup.h"

#include <signal.h>
#include <string.h>

#include "log.h"

static volatile sig_atomic_t s_hup = 0;

static void s_on_hup(int sig)
{
    (void)sig;
    s_hup = 1;
}

int hup_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_hup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return sigaction(SIGHUP, &sa, NULL) == 0 ? 0 : -1;
}

int hup_pending(void)
{
    if (!s_hup)
        return 0;
    s_hup = 0;
    return 1;
}

int hup_reload_tick(void *auth)
{
    if (!hup_pending())
        return 0;
    if (auth_reload((auth_t *)auth) != 0)
        return -1;   /* auth_reload logged why; the old list stays */
    log_info("auth.reload", "allow-list re-read on SIGHUP: %zu key(s)",
             auth_allow_count((auth_t *)auth));
    return 0;
}
