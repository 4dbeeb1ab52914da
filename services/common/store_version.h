/* store_version: the format version of a service's store, and the steps
 * that migrate an older store at open.
 *
 * Why this module exists: the stores hold protobuf values and key layouts
 * that change between releases. A new release must open the store of the
 * previous one (migrating it), and an old release must never read a store
 * that a newer one has changed. So each store records its format in the
 * "meta" database (STORE_META_DB), under these keys (ASCII values, so that
 * `mdb_dump -s meta -p` shows them):
 *   format_version   the format, a decimal number ("1", "2", ...);
 *   service          which service's store it is ("hours");
 *   written_by       the release that last stamped it ("prison-payroll 0.1.0").
 *
 * At open (store_version_open, right after store_open):
 *   - a store with no format_version and no data is new: it is stamped
 *     with the service's current format;
 *   - a store with no format_version that holds data was written by the
 *     first release, which recorded no version: it is format 1;
 *   - a store of the current format opens as it is;
 *   - an older store is migrated: every step from its format up to the
 *     current one, and the new stamp, run in ONE write transaction, so a
 *     failed or interrupted migration leaves the store exactly as it was;
 *   - a store newer than this binary, older than its oldest step, or
 *     another service's, is refused with a message that names its format,
 *     the release that wrote it and the release that can open it; the
 *     service then exits non-zero.
 *
 * Adding a format (say hours, from 1 to 2) is one function and one table
 * row in the service's store module:
 *
 *     static int s_to_v2(store_t *store, MDB_txn *txn)
 *     {
 *         ... read the old layout, write the new one, in txn ...
 *     }
 *     static const store_step_t s_steps[] = {
 *         {1, s_to_v2, "0.2.0", "replica databases for reference events"},
 *         {0},
 *     };
 *
 * and raising the service's *_STORE_FORMAT to 2. A database the new format
 * adds goes into the service's list of database names (store_open creates
 * it, empty, before the steps run). A step must change nothing outside its
 * transaction: store_write may run it again after growing a full map.
 * When a release stops carrying old steps, it names the release that still
 * migrates those stores in store_format_t.migrated_by.
 *
 * Ownership: nothing is kept; the format tables are the caller's (static
 * in practice). */
#ifndef PAY_STORE_VERSION_H
#define PAY_STORE_VERSION_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The database that holds the keys above: every service lists it among the
 * names it gives store_open. */
#define STORE_META_DB "meta"

/* The format of stores with no format_version: the first release's. */
#define STORE_FORMAT_FIRST 1u

/* The release this binary is ("prison-payroll 0.1.0"), from meson.build. */
const char *store_version_release(void);

/* One migration step: turns a store of format `from` into format
 * `from + 1`, inside `txn` (the store's databases by store_dbi). Returns 0,
 * or non-zero (an LMDB error code or -1) to abort the whole migration. */
typedef int (store_step_fn)(store_t *store, MDB_txn *txn);

typedef struct {
    uint32_t from;              /* this step turns format `from` into `from + 1` */
    store_step_fn *fn;
    const char *release;        /* the first release that writes `from + 1` */
    const char *what;           /* one line for the log: what the step changes */
} store_step_t;

typedef struct {
    const char *service;        /* "hours", "wages", "invoicing" */
    uint32_t current;           /* the format this binary reads and writes */
    /* Ascending and consecutive, the last one from current - 1, ended by a
     * row whose fn is NULL ({0}); NULL when there are none. */
    const store_step_t *steps;
    /* For stores older than the first step: the release that migrates them
     * (NULL while the steps go back to format 1). */
    const char *migrated_by;
} store_format_t;

typedef enum {
    STORE_FORMAT_STAMP,         /* record the current format: a new store (no
                                 * version, no data), or a first-release store
                                 * when the current format is the first */
    STORE_FORMAT_CURRENT,       /* nothing to do */
    STORE_FORMAT_MIGRATE,       /* run the steps from the stored format */
    STORE_FORMAT_TOO_NEW,       /* written by a newer release: refuse */
    STORE_FORMAT_TOO_OLD,       /* older than the first step: refuse */
    STORE_FORMAT_OTHER_SERVICE, /* another service's store: refuse */
    STORE_FORMAT_BAD_TABLE      /* the format table is not consecutive: refuse */
} store_format_verdict_t;

/* The decision, as a pure function. `stored` is the recorded format (0 if
 * there is none), `has_data` whether the store holds anything, `service`
 * and `written_by` what the store records (NULL if absent). For MIGRATE
 * and the refusals, writes a sentence for the operator into msg (naming
 * `dir`, the formats and the releases), else an empty string. */
store_format_verdict_t store_format_judge(const store_format_t *fmt, const char *dir,
                                          uint32_t stored, int has_data,
                                          const char *service, const char *written_by,
                                          char *msg, size_t msg_len);

/* Reads the store's format and acts on store_format_judge's verdict:
 * stamps a new store, migrates an older one in one transaction, or refuses.
 * `dir` is for the messages. Returns 0 when the store is at fmt->current,
 * or -1 with the reason logged (the store unchanged). */
int store_version_open(store_t *store, const store_format_t *fmt, const char *dir);

/* Before store_open, which creates the databases a release adds (a
 * write): refuses, with the same message as store_version_open, a store in
 * `dir` that is newer than this binary or another service's, so that a
 * refused store is left byte for byte as it was. Reads only (a read-only
 * environment). Returns 0 (go on: a new, older or current store, or one
 * it cannot read, which store_version_open then judges) or -1 (refused,
 * logged). */
int store_version_precheck(const char *dir, const store_format_t *fmt);

/* The recorded format: 0 and *version set, or MDB_NOTFOUND if there is
 * none, or MDB_BAD_VALSIZE if the value is not a decimal number. */
int store_version_get(store_t *store, MDB_txn *txn, uint32_t *version);

/* Records `version`, `service` and this release in txn (for migrations,
 * tests and tools that stamp a copy). */
int store_version_stamp(store_t *store, MDB_txn *txn, uint32_t version, const char *service);

#endif
