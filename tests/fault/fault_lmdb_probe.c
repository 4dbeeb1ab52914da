/* fault_lmdb_probe: a tiny LMDB writer and reader for the payfault shim's
 * own test (tests/fault_shim_test.py).
 *
 *   fault_lmdb_probe DIR write   commits a=1 with full sync, then b=2 with
 *                                MDB_NOSYNC (in the page cache only),
 *                                prints "ready" and waits to be killed
 *   fault_lmdb_probe DIR read    opens DIR and prints the keys it holds
 *                                ("a b", "a", ...); exit 1 if it cannot
 *
 * A power cut (SIGKILL, then the shim's journal rolled back) must leave
 * "a"; a plain SIGKILL leaves "a b", since the page cache survives it. */
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int s_put(MDB_env *env, const char *k, const char *v)
{
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val key = {strlen(k), (void *)k}, val = {strlen(v), (void *)v};
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc == 0)
        rc = mdb_put(txn, dbi, &key, &val, 0);
    if (rc == 0)
        return mdb_txn_commit(txn);
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

int main(int argc, char **argv)
{
    MDB_env *env = NULL;
    int rc;
    if (argc != 3 || (strcmp(argv[2], "write") != 0 && strcmp(argv[2], "read") != 0)) {
        fprintf(stderr, "usage: fault_lmdb_probe DIR write|read\n");
        return 2;
    }
    if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_mapsize(env, 1 << 20)) != 0
        || (rc = mdb_env_open(env, argv[1], 0, 0600)) != 0) {
        fprintf(stderr, "fault_lmdb_probe: open %s: %s\n", argv[1], mdb_strerror(rc));
        return 1;
    }
    if (strcmp(argv[2], "write") == 0) {
        if ((rc = s_put(env, "a", "1")) != 0 || (rc = mdb_env_set_flags(env, MDB_NOSYNC, 1)) != 0
            || (rc = s_put(env, "b", "2")) != 0) {
            fprintf(stderr, "fault_lmdb_probe: write: %s\n", mdb_strerror(rc));
            return 1;
        }
        printf("ready\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0
        || (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0
        || (rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
        fprintf(stderr, "fault_lmdb_probe: read: %s\n", mdb_strerror(rc));
        return 1;
    }
    const char *sep = "";
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        printf("%s%.*s", sep, (int)k.mv_size, (char *)k.mv_data);
        sep = " ";
    }
    printf("\n");
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc == MDB_NOTFOUND ? 0 : 1;
}
