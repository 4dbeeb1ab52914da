/* store: one LMDB environment per service, with named databases.
 *
 * Why this module exists: every service keeps its state in LMDB and needs
 * the same handful of things done the same way: open with stale-reader
 * cleanup, run a write transaction that survives MDB_MAP_FULL by growing the
 * map and retrying, big-endian integer keys that scan in order, and a compact
 * hot backup.
 *
 * Ownership: store_open returns a store the caller owns and frees with
 * store_destroy. Pointers into LMDB data (MDB_val.mv_data) are valid only
 * until the end of the transaction they came from. Every int-returning call
 * returns 0 or an LMDB error code (MDB_NOTFOUND, MDB_MAP_FULL, errno values);
 * mdb_strerror() gives its text. */
#ifndef PAY_STORE_H
#define PAY_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_t store_t;

/* Opens (creating if needed) the environment in directory `dir` (created if
 * missing) with the named databases `db_names` (a NULL-terminated list,
 * at most 32), each created if missing. `map_size` is the initial map size in
 * bytes; 0 means the default (64 MiB). If the file records a bigger map
 * (grown in an earlier life), that size is adopted instead. Runs
 * mdb_reader_check at open and logs how many stale readers it cleared.
 * Full sync: no MDB_NOSYNC, so a committed transaction is durable.
 * Returns NULL on failure, with the reason logged to stderr. */
store_t *store_open(const char *dir, const char *const *db_names, size_t map_size);

/* Closes the environment. Accepts NULL; sets *self_p to NULL. */
void store_destroy(store_t **self_p);

/* The handle of a database named at open, or (MDB_dbi)-1 if not one of them. */
MDB_dbi store_dbi(store_t *self, const char *name);

MDB_env *store_env(store_t *self);

/* Current map size in bytes (grows over the store's life). */
size_t store_map_size(store_t *self);

/* A read-only transaction; end it with mdb_txn_abort. */
int store_read_begin(store_t *self, MDB_txn **txn_p);

/* The body of a write transaction. Return 0 to commit, or an error to abort.
 * It may run more than once (after MDB_MAP_FULL the whole body is retried in
 * a new transaction with a bigger map), so it must not have effects outside
 * the transaction, or must reset them at its start. The store is meant for
 * one thread at a time: growing the map remaps it, so no other transaction
 * of this process (read ones included) may be open during store_write. */
typedef int (store_write_fn)(MDB_txn *txn, void *arg);

/* Runs `fn` in one write transaction and commits it. If `fn` or the commit
 * returns MDB_MAP_FULL, aborts, doubles the map (mdb_env_set_mapsize) and
 * retries, up to a limit (20 doublings). Returns 0 once committed and
 * durable, otherwise the error from `fn` (any non-zero int, returned as is)
 * or LMDB, with nothing written. */
int store_write(store_t *self, store_write_fn *fn, void *arg);

/* ---- Storage failure ---------------------------------------------------
 * A commit that fails (for any reason but MDB_MAP_FULL, which is grown and
 * retried), a write transaction that LMDB refuses with MDB_PANIC, or a
 * failed sync reported by the owner through store_fail, makes the store
 * FAILED for the rest of the process: after a failed fsync the page cache
 * may hold pages that never reached the disk (and Linux may report the
 * next fsync as a success), so nothing may build on it. From then on
 * store_write and store_read_begin refuse at once with the first error,
 * and the owner is expected to exit and recover from the last durable
 * state on restart (server.h does, after answering what is in hand). The
 * first failure is logged once, as event "store.fatal". */

/* 0 while healthy, else the first error (an errno value or LMDB code). */
int store_failed(store_t *self);

/* Marks the store failed with `err` (non-zero), e.g. after a failed
 * fdatasync of the owner's own. The first error wins. */
void store_fail(store_t *self, int err);

/* Compact hot backup (mdb_env_copy2 with MDB_CP_COMPACT) into directory
 * `dir`, which is created if missing and must not already hold data.mdb.
 * Safe while the service is running: it reads a consistent snapshot.
 * Returns EEXIST if data.mdb is already there; the copy is fsynced before
 * 0 is returned, and a failed copy leaves no data.mdb behind.
 * May run on another thread than store_write's (backup.h does): the copy
 * holds the store's map lock for reading, and a map growth in store_write
 * waits for it (a remap under a running copy would pull the pages from
 * under it). */
int store_backup(store_t *self, const char *dir);

/* Convenience wrappers over mdb_get/mdb_put on a named database. */
int store_get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *out);
int store_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
              const void *val, size_t vlen, unsigned flags);

/* Big-endian integer keys, so that LMDB's byte order is numeric order. */
void store_be64_put(uint8_t out[8], uint64_t v);
uint64_t store_be64_get(const uint8_t in[8]);
void store_be32_put(uint8_t out[4], uint32_t v);
uint32_t store_be32_get(const uint8_t in[4]);

/* The last key of database `dbi` read as a big-endian u64 (for sequence
 * counters such as an outbox); 0 if the database is empty. Returns
 * MDB_BAD_VALSIZE if the last key is not 8 bytes long. */
int store_last_u64(MDB_txn *txn, MDB_dbi dbi, uint64_t *out);

#endif
