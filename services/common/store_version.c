/* store_version: see store_version.h.
 *
 * "Holds data" is decided from LMDB's main database, whose keys are the
 * names of the named databases: any of them other than meta with an entry
 * (or one this binary did not open, which only another release could have
 * made) means the store was used. The first release creates all its
 * databases at open, so a store it opened but never wrote to is empty and
 * is simply stamped. */
#include "store_version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#ifndef PAY_RELEASE
#define PAY_RELEASE "unknown"
#endif

#define S_RELEASE "prison-payroll " PAY_RELEASE
/* Stores without format_version were written by this release. */
#define S_FIRST_RELEASE "prison-payroll 0.1.0"

#define S_KEY_VERSION "format_version"
#define S_KEY_SERVICE "service"
#define S_KEY_WRITTEN_BY "written_by"
#define S_TEXT_MAX 128
#define S_MSG_MAX 1024

const char *store_version_release(void)
{
    return S_RELEASE;
}

static MDB_dbi s_meta(store_t *store)
{
    return store_dbi(store, STORE_META_DB);
}

/* A text value of meta into buf ("" if absent or too long to be ours). */
static int s_get_text(store_t *store, MDB_txn *txn, const char *key, char *buf, size_t len)
{
    MDB_val v;
    buf[0] = '\0';
    int rc = store_get(txn, s_meta(store), key, strlen(key), &v);
    if (rc != 0)
        return rc;
    if (v.mv_size >= len)
        return MDB_BAD_VALSIZE;
    memcpy(buf, v.mv_data, v.mv_size);
    buf[v.mv_size] = '\0';
    return 0;
}

static int s_put_text(store_t *store, MDB_txn *txn, const char *key, const char *value)
{
    return store_put(txn, s_meta(store), key, strlen(key), value, strlen(value), 0);
}

int store_version_get(store_t *store, MDB_txn *txn, uint32_t *version)
{
    char buf[S_TEXT_MAX];
    int rc = s_get_text(store, txn, S_KEY_VERSION, buf, sizeof buf);
    if (rc != 0)
        return rc;
    if (!buf[0] || strlen(buf) > 9)
        return MDB_BAD_VALSIZE;
    uint32_t v = 0;
    for (const char *p = buf; *p; p++) {
        if (*p < '0' || *p > '9')
            return MDB_BAD_VALSIZE;
        v = v * 10 + (uint32_t)(*p - '0');
    }
    if (v == 0)
        return MDB_BAD_VALSIZE;
    *version = v;
    return 0;
}

int store_version_stamp(store_t *store, MDB_txn *txn, uint32_t version, const char *service)
{
    if (!store || !txn || version == 0 || !service || s_meta(store) == (MDB_dbi)-1)
        return EINVAL;
    char num[16];
    snprintf(num, sizeof num, "%u", (unsigned)version);
    int rc = s_put_text(store, txn, S_KEY_VERSION, num);
    if (rc == 0)
        rc = s_put_text(store, txn, S_KEY_SERVICE, service);
    if (rc == 0)
        rc = s_put_text(store, txn, S_KEY_WRITTEN_BY, S_RELEASE);
    return rc;
}

/* 1 if any database but meta has an entry (see the top of this file). */
static int s_has_data(store_t *store, MDB_txn *txn, int *has)
{
    MDB_dbi main_dbi;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    *has = 0;
    int rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
    if (rc != 0)
        return rc;
    if ((rc = mdb_cursor_open(txn, main_dbi, &cur)) != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !*has;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char name[S_TEXT_MAX];
        if (k.mv_size >= sizeof name) {
            *has = 1;
            break;
        }
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        if (strcmp(name, STORE_META_DB) == 0)
            continue;
        MDB_dbi dbi = store_dbi(store, name);
        MDB_stat st;
        if (dbi == (MDB_dbi)-1)
            *has = 1;
        else if (mdb_stat(txn, dbi, &st) == 0 && st.ms_entries > 0)
            *has = 1;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* The rows before the {0} that ends the table. */
static size_t s_n_steps(const store_format_t *fmt)
{
    size_t n = 0;
    while (fmt->steps && fmt->steps[n].fn)
        n++;
    return n;
}

static int s_table_ok(const store_format_t *fmt)
{
    if (!fmt || !fmt->service || fmt->current < STORE_FORMAT_FIRST)
        return 0;
    size_t n = s_n_steps(fmt);
    if (n == 0)
        return 1;
    if (fmt->steps[0].from < STORE_FORMAT_FIRST)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (fmt->steps[i].from != fmt->steps[0].from + i)
            return 0;
    return fmt->steps[n - 1].from + 1 == fmt->current;
}

store_format_verdict_t store_format_judge(const store_format_t *fmt, const char *dir,
                                          uint32_t stored, int has_data,
                                          const char *service, const char *written_by,
                                          char *msg, size_t msg_len)
{
    if (msg_len)
        msg[0] = '\0';
    dir = dir ? dir : "(unnamed)";
    if (!s_table_ok(fmt)) {
        snprintf(msg, msg_len, "the %s store's format table is inconsistent (current format "
                 "%u, %zu step(s)): a build error; %s was not opened",
                 fmt && fmt->service ? fmt->service : "?", fmt ? (unsigned)fmt->current : 0,
                 fmt ? s_n_steps(fmt) : 0, dir);
        return STORE_FORMAT_BAD_TABLE;
    }
    if (service && *service && strcmp(service, fmt->service) != 0) {
        snprintf(msg, msg_len, "the store in %s is the %s service's, not the %s service's: "
                 "check the data folder; nothing was changed", dir, service, fmt->service);
        return STORE_FORMAT_OTHER_SERVICE;
    }
    if (stored == 0 && !has_data)
        return STORE_FORMAT_STAMP;
    uint32_t v = stored ? stored : STORE_FORMAT_FIRST;
    const char *by = written_by && *written_by ? written_by
                     : stored ? "a release that did not record itself" : S_FIRST_RELEASE;
    uint32_t oldest = s_n_steps(fmt) ? fmt->steps[0].from : fmt->current;
    if (v == fmt->current)
        return stored ? STORE_FORMAT_CURRENT : STORE_FORMAT_STAMP;
    if (v > fmt->current) {
        snprintf(msg, msg_len, "the %s store in %s is format %u, written by %s; this is %s, "
                 "which reads %s stores up to format %u: run %s or later on it, or restore "
                 "the backup taken before the upgrade; nothing was changed",
                 fmt->service, dir, (unsigned)v, by, S_RELEASE, fmt->service,
                 (unsigned)fmt->current, by);
        return STORE_FORMAT_TOO_NEW;
    }
    if (v < oldest) {
        snprintf(msg, msg_len, "the %s store in %s is format %u, written by %s; this is %s, "
                 "which migrates %s stores from format %u on: first run %s on it (it "
                 "migrates format %u), then this release; nothing was changed",
                 fmt->service, dir, (unsigned)v, by, S_RELEASE, fmt->service,
                 (unsigned)oldest, fmt->migrated_by ? fmt->migrated_by : "an earlier release",
                 (unsigned)v);
        return STORE_FORMAT_TOO_OLD;
    }
    snprintf(msg, msg_len, "migrating the %s store in %s from format %u (written by %s) to "
             "format %u in one transaction", fmt->service, dir, (unsigned)v, by,
             (unsigned)fmt->current);
    return STORE_FORMAT_MIGRATE;
}

typedef struct {
    store_t *store;
    const store_format_t *fmt;
    uint32_t from;              /* the stored format (migrations) */
    size_t n_steps;
    size_t failed_step;         /* index of the step that failed, or n_steps */
} s_write_t;

static int s_stamp_fn(MDB_txn *txn, void *arg)
{
    s_write_t *w = arg;
    return store_version_stamp(w->store, txn, w->fmt->current, w->fmt->service);
}

static int s_migrate_fn(MDB_txn *txn, void *arg)
{
    s_write_t *w = arg;
    const store_format_t *fmt = w->fmt;
    w->failed_step = w->n_steps;
    size_t first = w->from - fmt->steps[0].from;
    for (size_t i = first; i < w->n_steps; i++) {
        int rc = fmt->steps[i].fn(w->store, txn);
        if (rc != 0) {
            w->failed_step = i;
            return rc;
        }
    }
    return s_stamp_fn(txn, arg);
}

int store_version_open(store_t *store, const store_format_t *fmt, const char *dir)
{
    MDB_txn *txn = NULL;
    uint32_t stored = 0;
    int has_data = 0;
    char service[S_TEXT_MAX] = "", written_by[S_TEXT_MAX] = "", msg[S_MSG_MAX];
    const char *svc = fmt && fmt->service ? fmt->service : "?";
    dir = dir ? dir : "(unnamed)";

    if (!store || !fmt || s_meta(store) == (MDB_dbi)-1) {
        log_error("store.version", "%s: the %s store was opened without its \"%s\" "
                  "database", dir, svc, STORE_META_DB);
        return -1;
    }
    int rc = store_read_begin(store, &txn);
    if (rc == 0) {
        rc = store_version_get(store, txn, &stored);
        if (rc == MDB_NOTFOUND) {
            stored = 0;
            rc = s_has_data(store, txn, &has_data);
        }
    }
    if (rc == 0) {
        int r1 = s_get_text(store, txn, S_KEY_SERVICE, service, sizeof service);
        int r2 = s_get_text(store, txn, S_KEY_WRITTEN_BY, written_by, sizeof written_by);
        if (r1 != 0 && r1 != MDB_NOTFOUND)
            rc = r1;
        else if (r2 != 0 && r2 != MDB_NOTFOUND)
            rc = r2;
    }
    if (txn)
        mdb_txn_abort(txn);
    if (rc != 0) {
        log_error("store.version", "%s: cannot read the %s store's format (%s): a damaged "
                  "meta database; nothing was changed", dir, svc,
                  rc == MDB_BAD_VALSIZE ? "not a format number" : mdb_strerror(rc));
        return -1;
    }

    store_format_verdict_t verdict = store_format_judge(fmt, dir, stored, has_data, service,
                                                        written_by, msg, sizeof msg);
    size_t n_steps = s_n_steps(fmt);
    s_write_t w = {store, fmt, stored ? stored : STORE_FORMAT_FIRST, n_steps, n_steps};
    switch (verdict) {
    case STORE_FORMAT_CURRENT:
        log_debug("store.version", "%s: %s store format %u", dir, svc, (unsigned)stored);
        return 0;
    case STORE_FORMAT_STAMP:
        if ((rc = store_write(store, s_stamp_fn, &w)) != 0) {
            log_error("store.version", "%s: cannot record the %s store's format: %s", dir,
                      svc, mdb_strerror(rc));
            return -1;
        }
        log_info("store.version", "%s: %s %s store stamped with format %u", dir,
                 has_data ? "first-release" : "new", svc, (unsigned)fmt->current);
        return 0;
    case STORE_FORMAT_MIGRATE:
        log_info("store.version", "%s", msg);
        if ((rc = store_write(store, s_migrate_fn, &w)) != 0) {
            if (w.failed_step < n_steps) {
                const store_step_t *s = &fmt->steps[w.failed_step];
                log_error("store.version", "%s: migrating the %s store from format %u to %u "
                          "(%s) failed (%s); the store is unchanged, still format %u", dir,
                          svc, (unsigned)s->from, (unsigned)s->from + 1, s->what,
                          rc == -1 ? "step refused" : mdb_strerror(rc), (unsigned)w.from);
            } else {
                log_error("store.version", "%s: the %s store's migration did not commit (%s); "
                          "the store is unchanged, still format %u", dir, svc,
                          mdb_strerror(rc), (unsigned)w.from);
            }
            return -1;
        }
        for (size_t i = w.from - fmt->steps[0].from; i < n_steps; i++)
            log_info("store.version", "%s: %s store format %u -> %u: %s", dir, svc,
                     (unsigned)fmt->steps[i].from, (unsigned)fmt->steps[i].from + 1,
                     fmt->steps[i].what);
        log_info("store.version", "%s: %s store migrated to format %u", dir, svc,
                 (unsigned)fmt->current);
        return 0;
    case STORE_FORMAT_TOO_NEW:
    case STORE_FORMAT_TOO_OLD:
    case STORE_FORMAT_OTHER_SERVICE:
    case STORE_FORMAT_BAD_TABLE:
        break;
    }
    log_error("store.version", "%s", msg);
    return -1;
}

/* ---- before store_open ------------------------------------------------- */

/* One text value of an open meta database, "" if absent. */
static void s_peek_text(MDB_txn *txn, MDB_dbi dbi, const char *key, char *buf, size_t len)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    buf[0] = '\0';
    if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size < len) {
        memcpy(buf, v.mv_data, v.mv_size);
        buf[v.mv_size] = '\0';
    }
}

int store_version_precheck(const char *dir, const store_format_t *fmt)
{
    char path[4096], version[S_TEXT_MAX] = "", service[S_TEXT_MAX] = "",
         written_by[S_TEXT_MAX] = "", msg[S_MSG_MAX];
    if (!dir || !fmt || snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
        return 0;   /* store_open reports what is wrong with the folder */
    if (access(path, F_OK) != 0)
        return 0;   /* a new store */
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 64);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0 && mdb_dbi_open(txn, STORE_META_DB, 0, &dbi) == 0) {
        s_peek_text(txn, dbi, S_KEY_VERSION, version, sizeof version);
        s_peek_text(txn, dbi, S_KEY_SERVICE, service, sizeof service);
        s_peek_text(txn, dbi, S_KEY_WRITTEN_BY, written_by, sizeof written_by);
    }
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    if (rc != 0 || !version[0])
        return 0;   /* unreadable here or unversioned: store_version_open decides */
    unsigned long stored = strtoul(version, NULL, 10);
    store_format_verdict_t verdict = store_format_judge(
        fmt, dir, (uint32_t)stored, 1, service[0] ? service : NULL,
        written_by[0] ? written_by : NULL, msg, sizeof msg);
    if (verdict != STORE_FORMAT_TOO_NEW && verdict != STORE_FORMAT_OTHER_SERVICE)
        return 0;
    log_error("store.version", "%s", msg);
    return -1;
}
