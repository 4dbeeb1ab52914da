/* fuzz_util: what every libFuzzer harness in tests/fuzz shares.
 *
 * Why this exists: the service harnesses feed a SEQUENCE of requests (and
 * feed events) per input, so that a request can meet the state an earlier
 * one of the same input left, and they need a temporary LMDB store with
 * realistic reference data in it. Both are the same for every service.
 *
 * Input framing (the "frames" format, used by the seed corpus too): a
 * repetition of
 *     tag (1 byte) | length (2 bytes, big-endian) | length bytes of payload
 * A length running past the end takes what is left. The tag says who sends
 * the payload (an index into fz_callers, modulo their number) or, with
 * FZ_TAG_FEED, that it is a packed pay.HoursEvent to apply from the hours
 * feed.
 *
 * Determinism: a harness runs each input in one write transaction that it
 * always aborts, so every input starts from the same committed state (the
 * setup frames, committed once at start) and a crash replays from its input
 * file alone. The store therefore never grows however long the run.
 *
 * Harnesses are compiled with _GNU_SOURCE (nftw, memmem, open_memstream).
 *
 * Ownership: fz_store_dir's folder is removed at exit; fz_read_file returns
 * a malloc'd buffer the caller frees. Everything is static inline so that
 * each harness is one translation unit. */
#ifndef PAY_FUZZ_UTIL_H
#define PAY_FUZZ_UTIL_H

#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"

#define FZ_TAG_FEED 0xFF
#define FZ_MAX_FRAMES 16

typedef struct {
    uint8_t tag;
    const uint8_t *data;
    size_t len;
} fz_frame_t;

/* The next frame of `data` from *at; returns 0 at the end. */
static inline int fz_next(const uint8_t *data, size_t size, size_t *at, fz_frame_t *f)
{
    size_t i = *at;
    if (i >= size)
        return 0;
    f->tag = data[i++];
    size_t len = 0;
    if (i + 2 <= size) {
        len = ((size_t)data[i] << 8) | data[i + 1];
        i += 2;
    } else {
        i = size;
    }
    if (len > size - i)
        len = size - i;
    f->data = data + i;
    f->len = len;
    *at = i + len;
    return 1;
}

/* Splits `data` into at most `max` frames; returns how many. */
static inline size_t fz_split(const uint8_t *data, size_t size, fz_frame_t *out, size_t max)
{
    size_t n = 0, at = 0;
    while (n < max && fz_next(data, size, &at, &out[n]))
        n++;
    return n;
}

/* The callers a service sees, as its allow-list would name them. The
 * scopes match the sample data (tests/fuzz/gen-corpus). */
static const auth_identity_t fz_callers[] = {
    {ROLE_INSTRUCTOR, "MDI", "mdi-workshop"},
    {ROLE_INSTRUCTOR, "LEI", "lei-workshop"},
    {ROLE_GOVERNOR, "MDI", "gov-mdi"},
    {ROLE_INDUSTRIES, "", "industries"},
    {ROLE_FINANCE, "", "finance"},
    {ROLE_EMPLOYER, "dhl", "dhl"},
    {ROLE_SERVICE, "", "wages"},
    {ROLE_NONE, "", "nobody"},
    {ROLE_GOVERNOR, "LEI", "gov-lei"},
    {ROLE_GOVERNOR, "KMI", "gov-kmi"},
    {ROLE_INSTRUCTOR, "KMI", "kmi-workshop"},
    {ROLE_EMPLOYER, "printco", "printco"},
};
#define FZ_N_CALLERS (sizeof fz_callers / sizeof fz_callers[0])

static inline const auth_identity_t *fz_caller(uint8_t tag)
{
    return &fz_callers[tag % FZ_N_CALLERS];
}

static char fz_dir_path[256];

static int fz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fz_rm_dir(void)
{
    if (fz_dir_path[0])
        nftw(fz_dir_path, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temporary folder for this process's store, removed at exit. */
static inline const char *fz_store_dir(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fz_dir_path, sizeof fz_dir_path, "%s/fuzz-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
             name);
    if (!mkdtemp(fz_dir_path)) {
        perror("mkdtemp");
        abort();
    }
    atexit(fz_rm_dir);
    return fz_dir_path;
}

/* Logs are off while fuzzing (every refused input would print a line);
 * FUZZ_LOG=1 turns them back on to see why an input does what it does. */
static inline void fz_quiet_logs(const char *service)
{
    log_set_service(service);
    const char *v = getenv("FUZZ_LOG");
    log_set_level(v && *v == '1' ? LOG_DEBUG : LOG_ERROR + 1);
}

/* The whole file, or NULL. */
static inline uint8_t *fz_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            uint8_t *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* The setup frames of a service harness: FUZZ_SETUP_DIR (compiled in, or
 * from the environment) / name. Aborts if they cannot be read, since a
 * harness without its reference data would fuzz almost nothing. */
static inline uint8_t *fz_setup_frames(const char *name, size_t *len)
{
    const char *dir = getenv("FUZZ_SETUP_DIR");
#ifdef FUZZ_SETUP_DIR
    if (!dir || !*dir)
        dir = FUZZ_SETUP_DIR;
#endif
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", name);
    uint8_t *buf = fz_read_file(path, len);
    if (!buf) {
        fprintf(stderr, "fuzz: cannot read the setup frames %s\n", path);
        abort();
    }
    return buf;
}

#endif
