/* store_version_test: the verdicts as a pure function (every case and its
 * message), then real LMDB stores in mkdtemp folders: a new store is
 * stamped, a first-release store (data, no version) is migrated step by
 * step in one transaction, a failing step leaves the store exactly as it
 * was, a newer store, another service's store and a damaged version are
 * refused unchanged, a current store opens without a write, and a
 * migration that fills the map is retried whole. */
#define _XOPEN_SOURCE 700    /* nftw */
#include "store_version.h"
#include "tap.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void s_rm_rf(const char *dir)
{
    nftw(dir, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- steps that record what they did ------------------------------------ */

static int s_order[16];
static int s_n_order;
static int s_fail_at;          /* a step number that fails, 0 for none */
static size_t s_big;           /* bytes step 1 writes (map growth) */
static int s_step1_runs;

static int s_step(store_t *store, MDB_txn *txn, int n)
{
    if (s_fail_at == n)
        return -1;
    s_order[s_n_order++ % 16] = n;
    char key[16], val[32];
    snprintf(key, sizeof key, "step%d", n);
    snprintf(val, sizeof val, "done by step %d", n);
    return store_put(txn, store_dbi(store, "alpha"), key, strlen(key), val, strlen(val), 0);
}

static int s_step1(store_t *store, MDB_txn *txn)
{
    s_step1_runs++;
    if (s_big) {
        char *blob = calloc(1, s_big);
        if (!blob)
            return ENOMEM;
        int rc = store_put(txn, store_dbi(store, "beta"), "blob", 4, blob, s_big, 0);
        free(blob);
        if (rc != 0)
            return rc;
    }
    /* The old value of "k" is rewritten in the new layout. */
    MDB_val v;
    int rc = store_get(txn, store_dbi(store, "alpha"), "k", 1, &v);
    if (rc == 0) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "v2:%.*s", (int)v.mv_size, (const char *)v.mv_data);
        rc = store_put(txn, store_dbi(store, "alpha"), "k", 1, buf, (size_t)n, 0);
    }
    return rc ? rc : s_step(store, txn, 1);
}

static int s_step2(store_t *store, MDB_txn *txn)
{
    return s_step(store, txn, 2);
}

static const store_step_t s_steps_1_3[] = {
    {1, s_step1, "9.1.0", "rewrites k"},
    {2, s_step2, "9.2.0", "adds step2"},
    {0},
};
static const store_format_t s_fmt3 = {"hours", 3, s_steps_1_3, NULL};
static const store_step_t s_none[] = {{0}};
static const store_format_t s_fmt1 = {"hours", 1, s_none, NULL};
static const store_step_t s_steps_2_3[] = {{2, s_step2, "9.2.0", "adds step2"}, {0}};
static const store_format_t s_fmt3_pruned = {"hours", 3, s_steps_2_3, "prison-payroll 0.5.0"};
static const store_step_t s_gap[] = {{1, s_step1, "a", "a"}, {3, s_step2, "b", "b"}, {0}};
static const store_format_t s_fmt_gap = {"hours", 4, s_gap, NULL};
static const store_format_t s_fmt_short = {"hours", 4, s_steps_1_3, NULL};

/* ---- the pure verdicts ---------------------------------------------------- */

static void s_test_judge(void)
{
    char m[1024];
    TAP_EQ_INT(store_format_judge(&s_fmt1, "/d", 0, 0, NULL, NULL, m, sizeof m),
               STORE_FORMAT_STAMP, "no version, no data: stamp");
    TAP_EQ_STR(m, "", "no message for a stamp");
    TAP_EQ_INT(store_format_judge(&s_fmt1, "/d", 0, 1, NULL, NULL, m, sizeof m),
               STORE_FORMAT_STAMP, "first-release data, current format 1: stamp");
    TAP_EQ_INT(store_format_judge(&s_fmt1, "/d", 1, 1, "hours", "x", m, sizeof m),
               STORE_FORMAT_CURRENT, "format 1 under format 1: current");
    TAP_EQ_INT(store_format_judge(&s_fmt1, "/d/hours", 2, 1, "hours",
                                  "prison-payroll 9.9.0", m, sizeof m),
               STORE_FORMAT_TOO_NEW, "format 2 under a format-1 binary: too new");
    TAP_OK(strstr(m, "/d/hours") && strstr(m, "format 2") &&
           strstr(m, "written by prison-payroll 9.9.0") && strstr(m, "up to format 1") &&
           strstr(m, "run prison-payroll 9.9.0 or later") && strstr(m, "nothing was changed"),
           "too new: names the folder, both formats and the release to run (%s)", m);
    TAP_EQ_INT(store_format_judge(&s_fmt1, "/d", 1, 1, "wages", NULL, m, sizeof m),
               STORE_FORMAT_OTHER_SERVICE, "a wages store under hours: refused");
    TAP_OK(strstr(m, "wages service's, not the hours"), "other service: says whose (%s)", m);

    TAP_EQ_INT(store_format_judge(&s_fmt3, "/d", 0, 1, NULL, NULL, m, sizeof m),
               STORE_FORMAT_MIGRATE, "first-release data under format 3: migrate");
    TAP_OK(strstr(m, "from format 1 (written by prison-payroll 0.1.0) to format 3"),
           "migrate: says from what to what (%s)", m);
    TAP_EQ_INT(store_format_judge(&s_fmt3, "/d", 2, 1, "hours", "b", m, sizeof m),
               STORE_FORMAT_MIGRATE, "format 2 under format 3: migrate");
    TAP_EQ_INT(store_format_judge(&s_fmt3, "/d", 3, 1, "hours", "b", m, sizeof m),
               STORE_FORMAT_CURRENT, "format 3 under format 3: current");
    TAP_EQ_INT(store_format_judge(&s_fmt3, "/d", 0, 0, NULL, NULL, m, sizeof m),
               STORE_FORMAT_STAMP, "no data under format 3: stamp, nothing to migrate");

    TAP_EQ_INT(store_format_judge(&s_fmt3_pruned, "/d", 0, 1, NULL, NULL, m, sizeof m),
               STORE_FORMAT_TOO_OLD, "first-release data, steps from 2 only: too old");
    TAP_OK(strstr(m, "format 1") && strstr(m, "from format 2 on") &&
           strstr(m, "first run prison-payroll 0.5.0"),
           "too old: names the format and the release that migrates it (%s)", m);
    TAP_EQ_INT(store_format_judge(&s_fmt3_pruned, "/d", 2, 1, NULL, NULL, m, sizeof m),
               STORE_FORMAT_MIGRATE, "format 2, steps from 2: migrate");

    TAP_EQ_INT(store_format_judge(&s_fmt_gap, "/d", 1, 1, NULL, NULL, m, sizeof m),
               STORE_FORMAT_BAD_TABLE, "steps 1 and 3 (no 2): a bad table");
    TAP_EQ_INT(store_format_judge(&s_fmt_short, "/d", 1, 1, NULL, NULL, m, sizeof m),
               STORE_FORMAT_BAD_TABLE, "steps end at 3 but the format is 4: a bad table");
    TAP_OK(strstr(store_version_release(), "prison-payroll ") == store_version_release(),
           "the release names itself (%s)", store_version_release());
}

/* ---- real stores ------------------------------------------------------------ */

static const char *const s_v1_dbs[] = {"alpha", "beta", NULL};
static const char *const s_dbs[] = {"alpha", "beta", STORE_META_DB, NULL};

static int s_put_v1(MDB_txn *txn, void *arg)
{
    store_t *st = arg;
    return store_put(txn, store_dbi(st, "alpha"), "k", 1, "old", 3, 0);
}

/* A store as the first release leaves it: its databases, data, no meta. */
static int s_make_v1(const char *dir)
{
    store_t *st = store_open(dir, s_v1_dbs, 0);
    int rc = st ? store_write(st, s_put_v1, st) : -1;
    store_destroy(&st);
    return rc;
}

typedef struct {
    store_t *st;
    uint32_t version;
    const char *service;
    const char *raw;           /* a raw format_version value instead */
} s_stamp_t;

static int s_put_stamp(MDB_txn *txn, void *arg)
{
    s_stamp_t *s = arg;
    if (s->raw)
        return store_put(txn, store_dbi(s->st, STORE_META_DB), "format_version", 14, s->raw,
                         strlen(s->raw), 0);
    return store_version_stamp(s->st, txn, s->version, s->service);
}

static int s_stamp(const char *dir, uint32_t version, const char *service, const char *raw)
{
    s_stamp_t s = {store_open(dir, s_dbs, 0), version, service, raw};
    int rc = s.st ? store_write(s.st, s_put_stamp, &s) : -1;
    store_destroy(&s.st);
    return rc;
}

/* What the store says now: its version (0 if none) and alpha's values. */
typedef struct {
    uint32_t version;
    char service[64], k[64];
    int has_step1, has_step2, has_blob;
} s_seen_t;

static void s_get(store_t *st, MDB_txn *txn, const char *db, const char *key, char *out,
                  size_t len, int *found)
{
    MDB_val v;
    int rc = store_get(txn, store_dbi(st, db), key, strlen(key), &v);
    if (found)
        *found = rc == 0;
    if (out) {
        out[0] = '\0';
        if (rc == 0 && v.mv_size < len) {
            memcpy(out, v.mv_data, v.mv_size);
            out[v.mv_size] = '\0';
        }
    }
}

static s_seen_t s_look(const char *dir)
{
    s_seen_t s;
    memset(&s, 0, sizeof s);
    store_t *st = store_open(dir, s_dbs, 0);
    MDB_txn *txn = NULL;
    if (st && store_read_begin(st, &txn) == 0) {
        if (store_version_get(st, txn, &s.version) != 0)
            s.version = 0;
        s_get(st, txn, STORE_META_DB, "service", s.service, sizeof s.service, NULL);
        s_get(st, txn, "alpha", "k", s.k, sizeof s.k, NULL);
        s_get(st, txn, "alpha", "step1", NULL, 0, &s.has_step1);
        s_get(st, txn, "alpha", "step2", NULL, 0, &s.has_step2);
        s_get(st, txn, "beta", "blob", NULL, 0, &s.has_blob);
        mdb_txn_abort(txn);
    }
    store_destroy(&st);
    return s;
}

static int s_open_with(const char *dir, const store_format_t *fmt, size_t map)
{
    store_t *st = store_open(dir, s_dbs, map);
    int rc = st ? store_version_open(st, fmt, dir) : -2;
    store_destroy(&st);
    return rc;
}

static size_t s_last_txn(const char *dir)
{
    store_t *st = store_open(dir, s_dbs, 0);
    MDB_envinfo info;
    size_t id = st && mdb_env_info(store_env(st), &info) == 0 ? info.me_last_txnid : 0;
    store_destroy(&st);
    return id;
}

static void s_test_stores(const char *root)
{
    char dir[512];
    s_seen_t s;

    /* A new store is stamped with the current format. */
    snprintf(dir, sizeof dir, "%s/new", root);
    TAP_EQ_INT(s_open_with(dir, &s_fmt3, 0), 0, "a new store opens");
    s = s_look(dir);
    TAP_EQ_INT(s.version, 3, "a new store is stamped with the current format");
    TAP_EQ_STR(s.service, "hours", "and with its service");
    TAP_OK(!s.has_step1 && !s.has_step2, "no step ran on a new store");

    /* A current store opens without a write transaction. */
    size_t before = s_last_txn(dir);
    TAP_EQ_INT(s_open_with(dir, &s_fmt3, 0), 0, "a current store opens");
    TAP_EQ_INT(s_last_txn(dir), before, "opening a current store commits nothing");

    /* First release: data and no meta database. Both steps, in order. */
    snprintf(dir, sizeof dir, "%s/v1", root);
    TAP_EQ_INT(s_make_v1(dir), 0, "a first-release store (data, no version)");
    s_n_order = 0;
    s_step1_runs = 0;
    before = s_last_txn(dir);
    TAP_EQ_INT(s_open_with(dir, &s_fmt3, 0), 0, "format 3 migrates it");
    s = s_look(dir);
    TAP_EQ_INT(s.version, 3, "now format 3");
    TAP_EQ_STR(s.k, "v2:old", "step 1 rewrote the old value");
    TAP_OK(s.has_step1 && s.has_step2, "both steps' writes are there");
    TAP_OK(s_n_order == 2 && s_order[0] == 1 && s_order[1] == 2, "steps ran once each, in order");
    /* `before` came after an open that created meta; an open that creates
     * nothing commits nothing, so the one new commit is the migration. */
    TAP_EQ_INT(s_last_txn(dir), before + 1, "the migration was one transaction");

    /* A failing step: nothing changes, the store stays first-release. */
    snprintf(dir, sizeof dir, "%s/fail", root);
    s_make_v1(dir);
    s_fail_at = 2;
    TAP_EQ_INT(s_open_with(dir, &s_fmt3, 0), -1, "a failing step 2 refuses the open");
    s_fail_at = 0;
    s = s_look(dir);
    TAP_EQ_INT(s.version, 0, "still no version recorded");
    TAP_EQ_STR(s.k, "old", "step 1's rewrite was rolled back");
    TAP_OK(!s.has_step1, "nothing of step 1 is left");
    TAP_EQ_INT(s_open_with(dir, &s_fmt3, 0), 0, "the next open migrates it");
    TAP_EQ_STR(s_look(dir).k, "v2:old", "and then the rewrite is there");

    /* A first-release store under a format-1 binary is just stamped. */
    snprintf(dir, sizeof dir, "%s/v1-same", root);
    s_make_v1(dir);
    TAP_EQ_INT(s_open_with(dir, &s_fmt1, 0), 0, "format 1 opens a first-release store");
    s = s_look(dir);
    TAP_EQ_INT(s.version, 1, "and records format 1");
    TAP_EQ_STR(s.k, "old", "its data untouched");

    /* Too new: refused, unchanged. */
    snprintf(dir, sizeof dir, "%s/newer", root);
    s_make_v1(dir);
    s_stamp(dir, 7, "hours", NULL);
    before = s_last_txn(dir);
    TAP_EQ_INT(s_open_with(dir, &s_fmt3, 0), -1, "a format-7 store is refused by format 3");
    TAP_EQ_INT(s_last_txn(dir), before, "nothing was written");
    TAP_EQ_INT(s_look(dir).version, 7, "still format 7");
    /* The precheck refuses it before store_open could create a database
     * (a write): the file is left byte for byte. */
    struct stat st_before, st_after;
    char file[600];
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    TAP_EQ_INT(stat(file, &st_before), 0, "the format-7 store's file is there");
    TAP_EQ_INT(store_version_precheck(dir, &s_fmt3), -1,
               "precheck: a format-7 store is refused by format 3");
    TAP_EQ_INT(stat(file, &st_after), 0, "and the file is still there");
    TAP_OK(st_after.st_size == st_before.st_size &&
               st_after.st_mtim.tv_sec == st_before.st_mtim.tv_sec &&
               st_after.st_mtim.tv_nsec == st_before.st_mtim.tv_nsec,
           "precheck did not write to it");
    TAP_EQ_INT(s_last_txn(dir), before, "nor commit anything");

    /* Too old for a binary that pruned its first step. */
    snprintf(dir, sizeof dir, "%s/older", root);
    s_make_v1(dir);
    TAP_EQ_INT(s_open_with(dir, &s_fmt3_pruned, 0), -1, "steps from 2: a first-release store is refused");
    TAP_EQ_INT(s_look(dir).version, 0, "and left unversioned");

    /* Another service's store. */
    snprintf(dir, sizeof dir, "%s/wages", root);
    s_stamp(dir, 1, "wages", NULL);
    TAP_EQ_INT(s_open_with(dir, &s_fmt1, 0), -1, "a wages store is refused by hours");
    TAP_EQ_STR(s_look(dir).service, "wages", "still the wages store");
    TAP_EQ_INT(store_version_precheck(dir, &s_fmt1), -1, "precheck: hours refuses it too");
    snprintf(file, sizeof file, "%s/none", root);
    TAP_EQ_INT(store_version_precheck(file, &s_fmt3), 0,
               "precheck: a folder with no store goes on (a new store)");
    snprintf(file, sizeof file, "%s/v1", root);
    TAP_EQ_INT(store_version_precheck(file, &s_fmt3), 0,
               "precheck: a current store goes on");
    snprintf(file, sizeof file, "%s/older", root);
    TAP_EQ_INT(store_version_precheck(file, &s_fmt3), 0,
               "precheck: an older store goes on (store_version_open migrates it)");

    /* A damaged version value. */
    snprintf(dir, sizeof dir, "%s/bad", root);
    s_stamp(dir, 0, NULL, "1x");
    TAP_EQ_INT(s_open_with(dir, &s_fmt1, 0), -1, "format_version \"1x\" is refused");

    /* No meta database among the names. */
    snprintf(dir, sizeof dir, "%s/nometa", root);
    store_t *st = store_open(dir, s_v1_dbs, 0);
    TAP_EQ_INT(st ? store_version_open(st, &s_fmt1, dir) : -2, -1,
               "a store opened without meta is refused");
    store_destroy(&st);

    /* A migration that fills the map: retried whole in a bigger map. */
    snprintf(dir, sizeof dir, "%s/grow", root);
    store_t *small = store_open(dir, s_v1_dbs, (size_t)1 << 20);
    TAP_OK(small && store_write(small, s_put_v1, small) == 0, "a small first-release store");
    store_destroy(&small);
    s_big = (size_t)3 << 20;
    s_step1_runs = 0;
    TAP_EQ_INT(s_open_with(dir, &s_fmt3, (size_t)1 << 20), 0, "a 3 MiB step in a 1 MiB map");
    s_big = 0;
    TAP_OK(s_step1_runs >= 2, "step 1 ran again after the map grew (%d runs)", s_step1_runs);
    s = s_look(dir);
    TAP_OK(s.version == 3 && s.has_blob && strcmp(s.k, "v2:old") == 0,
           "the retried migration committed once, whole");
}

int main(void)
{
    s_test_judge();
    char root[] = "/tmp/store_version_test.XXXXXX";
    if (!mkdtemp(root)) {
        TAP_OK(0, "mkdtemp");
        return tap_done();
    }
    s_test_stores(root);
    s_rm_rf(root);
    return tap_done();
}
