/* store_test: named databases, big-endian key order, abort on a body error,
 * map growth inside one store_write, compact backup, store_last_u64, and
 * stale-reader cleanup. Every store lives in a mkdtemp folder under /tmp,
 * removed at the end. */
#define _XOPEN_SOURCE 700    /* nftw */
#include "store.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const s_dbs[] = {"alpha", "beta", "seq", NULL};

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

static void s_path(char *out, size_t len, const char *root, const char *leaf)
{
    snprintf(out, len, "%s/%s", root, leaf);
}

/* --- write bodies --- */
typedef struct {
    store_t *store;
    int calls;
} s_ctx_t;

static int s_put_basic(MDB_txn *txn, void *arg)
{
    s_ctx_t *ctx = arg;
    ctx->calls++;
    int rc = store_put(txn, store_dbi(ctx->store, "alpha"), "k", 1, "in alpha", 8, 0);
    if (rc == 0)
        rc = store_put(txn, store_dbi(ctx->store, "beta"), "k", 1, "in beta!", 8, 0);
    return rc;
}

static int s_put_numbers(MDB_txn *txn, void *arg)
{
    s_ctx_t *ctx = arg;
    static const uint64_t nums[] = {65536, 1, 256, 0xFFFFFFFFFFULL, 255};
    ctx->calls++;
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        uint8_t k[8];
        store_be64_put(k, nums[i]);
        int rc = store_put(txn, store_dbi(ctx->store, "seq"), k, 8, &nums[i], sizeof nums[i], 0);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_put_then_fail(MDB_txn *txn, void *arg)
{
    s_ctx_t *ctx = arg;
    ctx->calls++;
    int rc = store_put(txn, store_dbi(ctx->store, "alpha"), "doomed", 6, "x", 1, 0);
    return rc ? rc : -7;
}

#define S_BIG_N 1400
#define S_BIG_VLEN 4000     /* 1400 * 4000 = 5.6 MB */

static void s_big_value(uint32_t i, uint8_t *v)
{
    for (uint32_t j = 0; j < S_BIG_VLEN; j++)
        v[j] = (uint8_t)((i * 131u + j * 7u) & 0xFF);
}

static int s_put_big(MDB_txn *txn, void *arg)
{
    s_ctx_t *ctx = arg;
    static uint8_t v[S_BIG_VLEN];
    ctx->calls++;
    for (uint32_t i = 0; i < S_BIG_N; i++) {
        uint8_t k[4];
        store_be32_put(k, i);
        s_big_value(i, v);
        int rc = store_put(txn, store_dbi(ctx->store, "beta"), k, 4, v, S_BIG_VLEN, 0);
        if (rc)
            return rc;
    }
    return 0;
}

/* 1 if all S_BIG_N big values are present and intact. */
static int s_big_intact(store_t *s)
{
    static uint8_t want[S_BIG_VLEN];
    MDB_txn *txn = NULL;
    int ok = store_read_begin(s, &txn) == 0;
    for (uint32_t i = 0; ok && i < S_BIG_N; i++) {
        uint8_t k[4];
        MDB_val v;
        store_be32_put(k, i);
        s_big_value(i, want);
        ok = store_get(txn, store_dbi(s, "beta"), k, 4, &v) == 0
             && v.mv_size == S_BIG_VLEN && memcmp(v.mv_data, want, S_BIG_VLEN) == 0;
    }
    if (txn)
        mdb_txn_abort(txn);
    return ok;
}

/* Compares every key/value of every database of two stores. */
static int s_same(store_t *a, store_t *b, size_t *pairs)
{
    MDB_txn *ta = NULL, *tb = NULL;
    int same = store_read_begin(a, &ta) == 0 && store_read_begin(b, &tb) == 0;
    *pairs = 0;
    for (int d = 0; same && s_dbs[d]; d++) {
        MDB_cursor *ca = NULL, *cb = NULL;
        MDB_val ka, va, kb, vb;
        mdb_cursor_open(ta, store_dbi(a, s_dbs[d]), &ca);
        mdb_cursor_open(tb, store_dbi(b, s_dbs[d]), &cb);
        int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST);
        int rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
        while (same && ra == 0 && rb == 0) {
            same = ka.mv_size == kb.mv_size && va.mv_size == vb.mv_size
                   && memcmp(ka.mv_data, kb.mv_data, ka.mv_size) == 0
                   && memcmp(va.mv_data, vb.mv_data, va.mv_size) == 0;
            (*pairs)++;
            ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
            rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
        }
        if (ra != MDB_NOTFOUND || rb != MDB_NOTFOUND)
            same = 0;
        mdb_cursor_close(ca);
        mdb_cursor_close(cb);
    }
    if (ta)
        mdb_txn_abort(ta);
    if (tb)
        mdb_txn_abort(tb);
    return same;
}

/* Reads the whole file into buf; returns its length. */
static size_t s_slurp(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}

int main(void)
{
    char root[] = "/tmp/store_testXXXXXX";
    if (!mkdtemp(root)) {
        TAP_OK(0, "mkdtemp");
        return tap_done();
    }
    char main_dir[512], big_dir[512], bak_dir[512], stale_dir[512], path[600];
    s_path(main_dir, sizeof main_dir, root, "main/nested/dir");
    s_path(big_dir, sizeof big_dir, root, "big");
    s_path(bak_dir, sizeof bak_dir, root, "backup");
    s_path(stale_dir, sizeof stale_dir, root, "stale");

    /* be64/be32. */
    {
        uint8_t b[8];
        store_be64_put(b, 0x0102030405060708ULL);
        TAP_OK(b[0] == 1 && b[7] == 8, "be64 is big-endian");
        TAP_OK(store_be64_get(b) == 0x0102030405060708ULL, "be64 round trip");
        store_be64_put(b, UINT64_MAX);
        TAP_OK(store_be64_get(b) == UINT64_MAX, "be64 max");
        uint8_t c[4];
        store_be32_put(c, 0xA1B2C3D4u);
        TAP_OK(c[0] == 0xA1 && c[3] == 0xD4 && store_be32_get(c) == 0xA1B2C3D4u, "be32");
    }

    /* Open (creating nested folders), named dbs, put/get. */
    store_t *s = store_open(main_dir, s_dbs, 0);
    TAP_OK(s != NULL, "store_open creates %s", main_dir);
    if (!s)
        goto done;
    TAP_OK(store_map_size(s) >= ((size_t)64 << 20), "default map is 64 MiB");
    TAP_OK(store_dbi(s, "alpha") != (MDB_dbi)-1 && store_dbi(s, "beta") != (MDB_dbi)-1
           && store_dbi(s, "alpha") != store_dbi(s, "beta"), "named dbs have handles");
    TAP_OK(store_dbi(s, "gamma") == (MDB_dbi)-1, "unknown db gives -1");
    TAP_OK(store_env(s) != NULL, "store_env");
    {
        unsigned flags = 0;
        mdb_env_get_flags(store_env(s), &flags);
        TAP_OK(!(flags & MDB_NOSYNC) && !(flags & MDB_NOMETASYNC), "full sync");
        int readers = 0;
        mdb_env_get_maxreaders(store_env(s), (unsigned *)&readers);
        TAP_EQ_INT(readers, 126, "126 reader slots");
    }
    s_ctx_t ctx = {s, 0};
    TAP_EQ_INT(store_write(s, s_put_basic, &ctx), 0, "store_write commits");
    TAP_EQ_INT(ctx.calls, 1, "the body ran once");
    {
        MDB_txn *txn = NULL;
        MDB_val v;
        TAP_EQ_INT(store_read_begin(s, &txn), 0, "read txn");
        TAP_OK(store_get(txn, store_dbi(s, "alpha"), "k", 1, &v) == 0 && v.mv_size == 8
               && memcmp(v.mv_data, "in alpha", 8) == 0, "get from alpha");
        TAP_OK(store_get(txn, store_dbi(s, "beta"), "k", 1, &v) == 0 && v.mv_size == 8
               && memcmp(v.mv_data, "in beta!", 8) == 0, "same key, other value in beta");
        TAP_EQ_INT(store_get(txn, store_dbi(s, "alpha"), "zz", 2, &v), MDB_NOTFOUND,
                   "missing key is MDB_NOTFOUND");
        uint64_t last = 99;
        TAP_OK(store_last_u64(txn, store_dbi(s, "seq"), &last) == 0 && last == 0,
               "store_last_u64 on an empty db is 0");
        mdb_txn_abort(txn);
    }

    /* Big-endian keys scan in numeric order. */
    ctx.calls = 0;
    TAP_EQ_INT(store_write(s, s_put_numbers, &ctx), 0, "numbers written");
    {
        static const uint64_t want[] = {1, 255, 256, 65536, 0xFFFFFFFFFFULL};
        MDB_txn *txn = NULL;
        MDB_cursor *cur = NULL;
        MDB_val k, v;
        size_t i = 0;
        int ordered = 1;
        store_read_begin(s, &txn);
        mdb_cursor_open(txn, store_dbi(s, "seq"), &cur);
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), i++)
            if (i >= 5 || k.mv_size != 8 || store_be64_get(k.mv_data) != want[i])
                ordered = 0;
        mdb_cursor_close(cur);
        TAP_OK(ordered && i == 5, "1, 255, 256, 65536, 2^40-1 scan in numeric order");
        uint64_t last = 0;
        TAP_OK(store_last_u64(txn, store_dbi(s, "seq"), &last) == 0 && last == 0xFFFFFFFFFFULL,
               "store_last_u64 is the largest key");
        TAP_EQ_INT(store_last_u64(txn, store_dbi(s, "alpha"), &last), MDB_BAD_VALSIZE,
                   "store_last_u64 refuses a db whose keys are not u64");
        mdb_txn_abort(txn);
    }

    /* A body error aborts with nothing written. */
    ctx.calls = 0;
    TAP_EQ_INT(store_write(s, s_put_then_fail, &ctx), -7, "the body's error comes back");
    TAP_EQ_INT(ctx.calls, 1, "a body error is not retried");
    {
        MDB_txn *txn = NULL;
        MDB_val v;
        store_read_begin(s, &txn);
        TAP_EQ_INT(store_get(txn, store_dbi(s, "alpha"), "doomed", 6, &v), MDB_NOTFOUND,
                   "nothing from the failed body was written");
        mdb_txn_abort(txn);
    }

    /* Backup, then open the backup as a store and compare everything. */
    TAP_EQ_INT(store_backup(s, bak_dir), 0, "store_backup");
    {
        struct stat st;
        s_path(path, sizeof path, bak_dir, "data.mdb");
        TAP_OK(stat(path, &st) == 0 && st.st_size > 0, "backup wrote data.mdb");
        store_t *b = store_open(bak_dir, s_dbs, 0);
        size_t pairs = 0;
        TAP_OK(b && s_same(s, b, &pairs), "backup holds every key/value (%zu pairs)", pairs);
        TAP_EQ_INT(pairs, 7, "seven pairs compared");
        store_destroy(&b);
        TAP_OK(b == NULL, "store_destroy NULLs the pointer");
        store_destroy(&b);
        store_destroy(NULL);
        TAP_OK(1, "store_destroy accepts NULL");
    }
    TAP_EQ_INT(store_backup(s, bak_dir), EEXIST, "backup refuses a dir with data.mdb");
    {
        struct stat st;
        s_path(path, sizeof path, bak_dir, "data.mdb");
        TAP_OK(stat(path, &st) == 0 && st.st_size > 0, "and left the old backup alone");
    }
    store_destroy(&s);

    /* Map growth: a 64 KiB map, then 5.6 MB in ONE store_write. */
    s = store_open(big_dir, s_dbs, 64 << 10);
    TAP_OK(s != NULL, "open with a 64 KiB map");
    if (!s)
        goto done;
    size_t small = store_map_size(s);
    TAP_OK(small < (1u << 20), "the map starts small (%zu bytes)", small);
    ctx.store = s;
    ctx.calls = 0;
    TAP_EQ_INT(store_write(s, s_put_big, &ctx), 0, "5.6 MB in one store_write succeeds");
    size_t grown = store_map_size(s);
    TAP_OK(grown > (size_t)S_BIG_N * S_BIG_VLEN, "the map grew to %zu bytes", grown);
    TAP_OK(ctx.calls > 1, "the body was retried after MDB_MAP_FULL (%d runs)", ctx.calls);
    TAP_OK(s_big_intact(s), "all the data is there");
    store_destroy(&s);
    s = store_open(big_dir, s_dbs, 64 << 10);
    TAP_OK(s != NULL, "reopen with a 64 KiB request");
    if (!s)
        goto done;
    TAP_OK(store_map_size(s) >= grown, "reopen adopts the grown map (%zu >= %zu)",
           store_map_size(s), grown);
    TAP_OK(s_big_intact(s), "all the data is there after close and reopen");
    ctx.store = s;
    ctx.calls = 0;
    TAP_EQ_INT(store_write(s, s_put_basic, &ctx), 0, "writes work after reopen");
    TAP_EQ_INT(ctx.calls, 1, "without another growth");
    store_destroy(&s);

    /* A stale reader: one child keeps the environment open (so LMDB does
     * not simply reset the lock file at the next open, as it does when no
     * process has it open), another opens a read txn and dies without
     * closing it. Our open must find and clear that slot. */
    {
        int gate[2], ready[2];
        char byte = 0;
        if (pipe(gate) != 0 || pipe(ready) != 0)
            goto done;
        pid_t holder = fork();
        if (holder == 0) {
            close(gate[1]);
            close(ready[0]);
            store_t *h = store_open(stale_dir, s_dbs, 0);
            if (write(ready[1], "r", 1) != 1)
                _exit(1);
            if (read(gate[0], &byte, 1) < 0)     /* until the parent closes */
                _exit(1);
            store_destroy(&h);
            _exit(h == NULL ? 0 : 1);
        }
        close(gate[0]);
        close(ready[1]);
        TAP_OK(read(ready[0], &byte, 1) == 1, "holder has the store open");
        close(ready[0]);

        pid_t dier = fork();
        if (dier == 0) {
            store_t *c = store_open(stale_dir, s_dbs, 0);
            MDB_txn *txn = NULL;
            if (!c || store_read_begin(c, &txn) != 0)
                _exit(1);
            _exit(0);
        }
        int status = -1;
        waitpid(dier, &status, 0);
        TAP_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child died holding a reader");

        char logpath[600], text[8192];
        s_path(logpath, sizeof logpath, root, "stale.log");
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int saved = dup(2);
        dup2(fd, 2);
        close(fd);
        s = store_open(stale_dir, s_dbs, 0);
        dup2(saved, 2);
        close(saved);
        s_slurp(logpath, text, sizeof text);
        TAP_OK(s != NULL, "open after the child died");
        TAP_OK(strstr(text, "\"event\":\"store.readers\"") != NULL
               && strstr(text, "cleared 1 stale reader") != NULL,
               "mdb_reader_check cleared and logged the stale reader");
        store_destroy(&s);

        close(gate[1]);
        status = -1;
        waitpid(holder, &status, 0);
        TAP_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "holder closed cleanly");
    }

    /* Bad arguments. */
    {
        static const char *const too_many[] = {
            "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "b0", "b1",
            "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "c0", "c1", "c2", "c3",
            "c4", "c5", "c6", "c7", "c8", "c9", "d0", "d1", "d2", NULL};
        int saved = dup(2);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        close(devnull);
        store_t *t = store_open(main_dir, too_many, 0);
        s_path(path, sizeof path, bak_dir, "data.mdb");
        store_t *u = store_open(path, s_dbs, 0);   /* a file, not a folder */
        dup2(saved, 2);
        close(saved);
        TAP_OK(t == NULL, "33 databases refused");
        TAP_OK(u == NULL, "a path that is a file is refused");
    }

done:
    store_destroy(&s);
    s_rm_rf(root);
    {
        struct stat st;
        TAP_OK(stat(root, &st) != 0, "temp folder removed");
    }
    return tap_done();
}
