/* store: see store.h.
 *
 * Map growth: LMDB can only remap while this process has no transaction
 * open, so store_write grows the map between an aborted attempt and the
 * next one. Another process may also have grown the map (LMDB then answers
 * MDB_MAP_RESIZED at txn begin); mdb_env_set_mapsize(env, 0) adopts the
 * size recorded in the file, and we retry. */
#include "store.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define S_MAX_DBS 32
#define S_DEFAULT_MAP ((size_t)64 << 20)
#define S_MAX_GROWTHS 20
#define S_MAX_RESIZED 8

struct store_t {
    MDB_env *env;
    atomic_int failed;           /* see store_failed */
    pthread_rwlock_t map_lock;   /* read: a backup copy; write: a remap */
    int lock_ready;
    int ndbs;
    char *names[S_MAX_DBS];
    MDB_dbi dbis[S_MAX_DBS];
};

/* mkdir -p: creates each missing component of `path` (0700: payroll data is
 * for the service's user only). */
static int s_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            int rc = errno;
            buf[i] = saved;
            return rc;
        }
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    if (!S_ISDIR(st.st_mode))
        return ENOTDIR;
    return 0;
}

static size_t s_map_size(MDB_env *env)
{
    MDB_envinfo info;
    if (mdb_env_info(env, &info) != 0)
        return 0;
    return info.me_mapsize;
}

store_t *store_open(const char *dir, const char *const *db_names, size_t map_size)
{
    store_t *self = NULL;
    MDB_txn *txn = NULL;
    int ndbs = 0;
    int dead = 0;
    int rc;
    const char *step = "arguments";

    if (!dir || !db_names) {
        rc = EINVAL;
        goto fail;
    }
    while (db_names[ndbs])
        ndbs++;
    if (ndbs > S_MAX_DBS) {
        rc = EINVAL;
        goto fail;
    }
    if (map_size == 0)
        map_size = S_DEFAULT_MAP;

    step = "allocate";
    self = calloc(1, sizeof *self);
    if (!self) {
        rc = ENOMEM;
        goto fail;
    }
    if ((rc = pthread_rwlock_init(&self->map_lock, NULL)) != 0)
        goto fail;
    self->lock_ready = 1;
    step = "mkdir";
    if ((rc = s_mkdir_p(dir)) != 0)
        goto fail;
    step = "mdb_env_create";
    if ((rc = mdb_env_create(&self->env)) != 0)
        goto fail;
    step = "mdb_env_set_maxdbs";
    if ((rc = mdb_env_set_maxdbs(self->env, (MDB_dbi)(ndbs > 0 ? ndbs : 1))) != 0)
        goto fail;
    step = "mdb_env_set_maxreaders";
    if ((rc = mdb_env_set_maxreaders(self->env, 126)) != 0)
        goto fail;
    step = "mdb_env_set_mapsize";
    if ((rc = mdb_env_set_mapsize(self->env, map_size)) != 0)
        goto fail;
    /* MDB_NOTLS ties a reader slot to the transaction, not the thread, so a
     * read transaction may be handed between threads. No MDB_NOSYNC: a
     * commit is durable when it returns. */
    step = "mdb_env_open";
    if ((rc = mdb_env_open(self->env, dir, MDB_NOTLS, 0600)) != 0)
        goto fail;

    /* If this or another process grew the map in an earlier life, the file
     * records the bigger size: adopt it rather than shrink back and pay for
     * the same growth again. */
    step = "adopt map size";
    if ((rc = mdb_env_set_mapsize(self->env, 0)) != 0)
        goto fail;
    if (s_map_size(self->env) < map_size
        && (rc = mdb_env_set_mapsize(self->env, map_size)) != 0)
        goto fail;

    step = "mdb_reader_check";
    if ((rc = mdb_reader_check(self->env, &dead)) != 0)
        goto fail;
    if (dead > 0)
        log_warn("store.readers", "%s: cleared %d stale reader slot(s) left "
                 "by dead processes", dir, dead);
    else
        log_debug("store.readers", "%s: no stale reader slots", dir);

    step = "open databases";
    if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
        goto fail;
    for (int i = 0; i < ndbs; i++) {
        self->names[i] = strdup(db_names[i]);
        if (!self->names[i]) {
            rc = ENOMEM;
            goto fail;
        }
        self->ndbs = i + 1;
        if ((rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &self->dbis[i])) != 0)
            goto fail;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        goto fail;

    log_info("store.open", "%s: %d database(s), map %zu bytes", dir, ndbs,
             s_map_size(self->env));
    return self;

fail:
    if (txn)
        mdb_txn_abort(txn);
    log_error("store.open", "%s: %s failed: %s", dir ? dir : "(null)", step,
              mdb_strerror(rc));
    store_destroy(&self);
    return NULL;
}

void store_destroy(store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    if (self->env)
        mdb_env_close(self->env);
    for (int i = 0; i < self->ndbs; i++)
        free(self->names[i]);
    if (self->lock_ready)
        pthread_rwlock_destroy(&self->map_lock);
    free(self);
    *self_p = NULL;
}

MDB_dbi store_dbi(store_t *self, const char *name)
{
    if (self && name)
        for (int i = 0; i < self->ndbs; i++)
            if (strcmp(self->names[i], name) == 0)
                return self->dbis[i];
    return (MDB_dbi)-1;
}

MDB_env *store_env(store_t *self)
{
    return self ? self->env : NULL;
}

size_t store_map_size(store_t *self)
{
    return self ? s_map_size(self->env) : 0;
}

int store_failed(store_t *self)
{
    return self ? atomic_load(&self->failed) : EINVAL;
}

void store_fail(store_t *self, int err)
{
    int none = 0;
    if (!self || err == 0)
        return;
    if (atomic_compare_exchange_strong(&self->failed, &none, err))
        log_error("store.fatal", "storage failure: %s; nothing more is written or read, "
                  "and the service must restart from its last durable state",
                  mdb_strerror(err));
}

/* LMDB reports a short write, which is what a full disk gives, as EIO:
 * told apart by the space left where the data file lives, so that the
 * caller can say "disk full" (ENOSPC) rather than "I/O error". */
static int s_commit_error(store_t *self, int rc)
{
    const char *path = NULL;
    struct statvfs vfs;
    if (rc != EIO || mdb_env_get_path(self->env, &path) != 0 || !path
        || statvfs(path, &vfs) != 0)
        return rc;
    if ((unsigned long long)vfs.f_bavail * vfs.f_frsize < (1ull << 20))
        return ENOSPC;
    return rc;
}

/* mdb_env_set_mapsize, once no backup copy is reading the map. */
static int s_set_mapsize(store_t *self, size_t size)
{
    pthread_rwlock_wrlock(&self->map_lock);
    int rc = mdb_env_set_mapsize(self->env, size);
    pthread_rwlock_unlock(&self->map_lock);
    return rc;
}

/* mdb_txn_begin, adopting a map that another process has grown. */
static int s_txn_begin(store_t *self, unsigned flags, MDB_txn **txn_p)
{
    int rc;
    if ((rc = atomic_load(&self->failed)) != 0)
        return rc;
    for (int i = 0;; i++) {
        rc = mdb_txn_begin(self->env, NULL, flags, txn_p);
        if (rc == MDB_PANIC)
            store_fail(self, rc);
        if (rc != MDB_MAP_RESIZED || i >= S_MAX_RESIZED)
            return rc;
        if ((rc = s_set_mapsize(self, 0)) != 0)
            return rc;
        log_info("store.grow", "adopted map of %zu bytes grown by another "
                 "process", s_map_size(self->env));
    }
}

int store_read_begin(store_t *self, MDB_txn **txn_p)
{
    if (!self || !txn_p)
        return EINVAL;
    return s_txn_begin(self, MDB_RDONLY, txn_p);
}

int store_write(store_t *self, store_write_fn *fn, void *arg)
{
    if (!self || !fn)
        return EINVAL;
    int rc;
    for (int growths = 0;; growths++) {
        MDB_txn *txn = NULL;
        if ((rc = s_txn_begin(self, 0, &txn)) != 0)
            return rc;
        rc = fn(txn, arg);
        if (rc == MDB_PANIC)
            store_fail(self, rc);
        if (rc == 0 && (rc = atomic_load(&self->failed)) == 0) {
            rc = mdb_txn_commit(txn);   /* frees txn, even on failure */
            /* Not MDB_MAP_FULL: the commit's writes or syncs failed, and
             * what the page cache holds can no longer be trusted. */
            if (rc != 0 && rc != MDB_MAP_FULL) {
                rc = s_commit_error(self, rc);
                store_fail(self, rc);
            }
        } else {
            mdb_txn_abort(txn);   /* the body failed, or the store did meanwhile */
        }
        if (rc != MDB_MAP_FULL)
            return rc;

        size_t old = s_map_size(self->env);
        if (growths >= S_MAX_GROWTHS || old == 0 || old > SIZE_MAX / 2) {
            log_error("store.grow", "map full at %zu bytes after %d "
                      "doubling(s); giving up", old, growths);
            return MDB_MAP_FULL;
        }
        int grc = s_set_mapsize(self, old * 2);
        if (grc != 0) {
            log_error("store.grow", "cannot grow map from %zu bytes: %s", old,
                      mdb_strerror(grc));
            return grc;
        }
        log_info("store.grow", "map full; grew from %zu to %zu bytes and "
                 "retrying the transaction", old, s_map_size(self->env));
    }
}

int store_backup(store_t *self, const char *dir)
{
    if (!self || !dir)
        return EINVAL;
    char path[PATH_MAX];
    int fd = -1, dfd = -1;
    int rc = s_mkdir_p(dir);
    if (rc != 0)
        goto fail;
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path) {
        rc = ENAMETOOLONG;
        goto fail;
    }
    /* O_EXCL refuses an existing data.mdb without a window for a race. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = errno;
        goto fail;
    }
    pthread_rwlock_rdlock(&self->map_lock);
    rc = mdb_env_copyfd2(self->env, fd, MDB_CP_COMPACT);
    pthread_rwlock_unlock(&self->map_lock);
    if (rc != 0)
        goto fail_unlink;
    /* The copy is a backup only once it is on disk, name and all. */
    if (fsync(fd) != 0) {
        rc = errno;
        goto fail_unlink;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = errno;
        goto fail_unlink;
    }
    fd = -1;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    log_info("store.backup", "compact copy written to %s", path);
    return 0;

fail_unlink:
    /* Only reached after we created the file ourselves. */
    if (fd >= 0)
        close(fd);
    fd = -1;
    unlink(path);
fail:
    if (fd >= 0)
        close(fd);
    log_error("store.backup", "backup to %s failed: %s", dir, mdb_strerror(rc));
    return rc;
}

int store_get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *out)
{
    MDB_val k = {klen, (void *)key};
    return mdb_get(txn, dbi, &k, out);
}

int store_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
              const void *val, size_t vlen, unsigned flags)
{
    MDB_val k = {klen, (void *)key};
    MDB_val v = {vlen, (void *)val};
    return mdb_put(txn, dbi, &k, &v, flags);
}

void store_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xFF);
        v >>= 8;
    }
}

uint64_t store_be64_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

void store_be32_put(uint8_t out[4], uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xFF);
        v >>= 8;
    }
}

uint32_t store_be32_get(const uint8_t in[4])
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = (v << 8) | in[i];
    return v;
}

int store_last_u64(MDB_txn *txn, MDB_dbi dbi, uint64_t *out)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return rc;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        rc = 0;
    } else if (rc == 0) {
        if (k.mv_size == 8)
            *out = store_be64_get(k.mv_data);
        else
            rc = MDB_BAD_VALSIZE;   /* not a u64-keyed database */
    }
    mdb_cursor_close(cur);
    return rc;
}
