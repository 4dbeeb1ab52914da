/* backup_test: which names a client may give a backup (backup_name_check),
 * and a backup_t's life without a server. The copies themselves, off the
 * loop in the real services, are tested end to end by tests/backup_test.py
 * (payctl backup NAME, restore into a fresh data dir, reconcile). */
#include "backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static void s_name(const char *name, int want_ok, const char *what)
{
    char err[BACKUP_ERR_LEN] = "";
    int rc = backup_name_check(name, err);
    TAP_OK((rc == 0) == want_ok, "%s: %s%s%s", what, want_ok ? "accepted" : "refused",
           rc ? ": " : "", err);
}

int main(void)
{
    char dir[] = "/tmp/backup_test.XXXXXX";
    char long_name[BACKUP_NAME_MAX + 2];
    log_set_level(LOG_WARN);
    s_name("nightly-2026-11-23", 1, "letters, digits and dashes");
    s_name("before.upgrade_1", 1, "dots and underscores inside");
    s_name("", 0, "empty");
    s_name(NULL, 0, "missing");
    s_name("a/b", 0, "a slash");
    s_name("/etc", 0, "an absolute path");
    s_name("..", 0, "dot dot");
    s_name("a..b", 0, "dot dot inside");
    s_name(".hidden", 0, "a leading dot");
    s_name("x y", 0, "a space");
    s_name("caf\xc3\xa9", 0, "non-ASCII");
    s_name("a\nb", 0, "a newline");
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    s_name(long_name, 0, "65 characters");
    long_name[BACKUP_NAME_MAX] = '\0';
    s_name(long_name, 1, "64 characters");

    TAP_OK(mkdtemp(dir) != NULL, "temp dir");
    const char *dbs[] = {"kv", NULL};
    store_t *st = store_open(dir, dbs, 0);
    TAP_OK(backup_new(NULL, dir, "hours") == NULL, "a backup_t needs a store");
    TAP_OK(backup_new(st, "", "hours") == NULL, "and a folder");
    backup_t *b = backup_new(st, dir, "hours");
    TAP_OK(b != NULL, "backup_t made");
    TAP_EQ_STR(backup_last_path(b), "", "no backup yet");
    backup_destroy(&b);
    TAP_OK(b == NULL, "destroy NULLs the pointer");
    backup_destroy(&b);
    store_destroy(&st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        TAP_NOTE("could not remove %s", dir);
    return tap_done();
}
