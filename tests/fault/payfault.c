/* payfault: an LD_PRELOAD shim that lets the fault suite (scripts/fault-test)
 * and its tests cut the power under a service, and make its syncs fail.
 *
 * SIGKILL alone proves little about durability: the page cache survives it,
 * so every write a killed process made is still "on disk". This shim keeps,
 * for each LMDB data file it tracks, a side journal of the bytes that every
 * write since the last successful sync overwrote, so that a harness can,
 * after a SIGKILL, put the file back as a power cut would have left it:
 * exactly what the last completed fdatasync/fsync made durable
 * (tests/fault_lib.py: rollback). It can also make those syncs fail with
 * EIO, to show that a service exits rather than acknowledge.
 *
 * Environment (read once, at the first call):
 *   PAY_FAULT_TRACK=DIR     track files named data.mdb under DIR (their
 *                           real path); without it nothing is tracked and
 *                           the shim only passes calls through
 *   PAY_FAULT_JOURNAL=1     keep the power-cut journal <file>.pfj
 *   PAY_FAULT_EIO_FILE=PATH while PATH exists, every fdatasync/fsync of a
 *                           tracked file, and every write through an
 *                           O_DSYNC descriptor of one, fails with EIO
 *                           (and does nothing)
 *
 * The journal (native byte order; one per tracked file, beside it):
 *   "PFJ1", u64 synced_size     the file's size at the last completed sync
 *   then records, oldest first:
 *     'W' u64 off, u64 len, len bytes   the bytes [off, off+len) held
 *                                       before a write (clamped to the
 *                                       file's size at the time)
 *     'D' u64 off, u64 len              a write through an O_DSYNC
 *                                       descriptor: durable when it returned
 * Rolling back = applying the W records newest first, except the bytes
 * that a D record later than them covers, then truncating to synced_size
 * (or the end of a later D write). Every record is written and fdatasynced
 * to the journal BEFORE the write it describes is let through.
 *
 * A sync makes durable only what was written before it started: the
 * records present when it starts are dropped when it completes (the
 * journal is rewritten to a temporary file, synced, and renamed over),
 * while those of writes made during it (LMDB's loop writes the next batch
 * while a helper thread syncs the last one) are kept.
 *
 * What it covers: open/openat (and the 64 and fortify variants), close,
 * write, pwrite, writev, pwritev, ftruncate, fdatasync, fsync, sync,
 * syncfs and mmap. LMDB without MDB_WRITEMAP writes its data file only
 * with pwrite and writev and maps it read-only; a writable shared mapping
 * of a tracked file would bypass the journal, so the shim aborts the
 * process rather than give a false result. Single-process: each tracked
 * file is written by one process at a time (LMDB's own lock sees to that).
 *
 * Memory: the shim owns a small fixed table of tracked files and a growing
 * buffer of the records since the last sync (freed as syncs complete). */
#define _GNU_SOURCE
/* The shim defines open, pwrite, mmap... under their own names: the build's
 * -D_FILE_OFFSET_BITS=64 would redirect them to the *64 names. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_MAX_FILES 16
#define S_MAX_FD 4096
#define S_MAGIC "PFJ1"

typedef struct {
    int used;
    dev_t dev;
    ino_t ino;
    char path[PATH_MAX];
    char jpath[PATH_MAX + 8];
    int jfd;                  /* the journal, or -1 without PAY_FAULT_JOURNAL */
    uint64_t synced_size;
    uint8_t *rec;             /* the records since the last sync */
    size_t len, cap;
} s_file_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static s_file_t s_files[S_MAX_FILES];
static signed char s_fd_file[S_MAX_FD];   /* fd -> file index + 1, 0: untracked */
static unsigned char s_fd_dsync[S_MAX_FD];
static char s_track[PATH_MAX];
static int s_tracking, s_journal;
static const char *s_eio_file;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real___open_2)(const char *, int);
static int (*real___open64_2)(const char *, int);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fdatasync)(int);
static int (*real_fsync)(int);
static void (*real_sync)(void);
static int (*real_syncfs)(int);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off_t);
static off_t (*real_lseek)(int, off_t, int);

static void s_die(const char *what)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "payfault: %s (errno %d); aborting: the result "
                     "would not mean anything\n", what, errno);
    if (n > 0 && real_write)
        real_write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    abort();
}

static void s_init(void)
{
#define S_SYM(n) real_##n = dlsym(RTLD_NEXT, #n)
    S_SYM(open);
    S_SYM(open64);
    S_SYM(openat);
    S_SYM(openat64);
    S_SYM(__open_2);
    S_SYM(__open64_2);
    S_SYM(close);
    S_SYM(write);
    S_SYM(pwrite);
    S_SYM(pwrite64);
    S_SYM(writev);
    S_SYM(pwritev);
    S_SYM(pread);
    S_SYM(ftruncate);
    S_SYM(fdatasync);
    S_SYM(fsync);
    S_SYM(sync);
    S_SYM(syncfs);
    S_SYM(mmap);
    S_SYM(mmap64);
    S_SYM(lseek);
#undef S_SYM
}

/* Read apart from the symbols, at the first open or sync that may need it:
 * a sanitizer runtime calls open before the program's environment can be
 * relied on. */
static pthread_once_t s_env_once = PTHREAD_ONCE_INIT;

static void s_init_env(void)
{
    const char *t = getenv("PAY_FAULT_TRACK");
    if (t && *t && realpath(t, s_track))
        s_tracking = 1;
    const char *j = getenv("PAY_FAULT_JOURNAL");
    s_journal = j && strcmp(j, "1") == 0;
    const char *e = getenv("PAY_FAULT_EIO_FILE");
    s_eio_file = e && *e ? e : NULL;
}

static void s_ready(void)
{
    pthread_once(&s_once, s_init);
}

static int s_eio_now(void)
{
    struct stat st;
    pthread_once(&s_env_once, s_init_env);
    return s_eio_file && stat(s_eio_file, &st) == 0;
}

static s_file_t *s_file_of(int fd)
{
    if (fd < 0 || fd >= S_MAX_FD || !s_fd_file[fd])
        return NULL;
    return &s_files[s_fd_file[fd] - 1];
}

static void s_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = real_write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            s_die("cannot write the journal");
        p += n;
        len -= (size_t)n;
    }
}

/* Appends to the journal (and to the copy in memory); s_journal_sync
 * follows, before the write it describes. */
static void s_journal_put(s_file_t *f, const void *data, size_t len)
{
    if (f->len + len > f->cap) {
        size_t cap = f->cap ? f->cap : 65536;
        while (cap < f->len + len)
            cap *= 2;
        uint8_t *p = realloc(f->rec, cap);
        if (!p)
            s_die("out of memory for the journal");
        f->rec = p;
        f->cap = cap;
    }
    memcpy(f->rec + f->len, data, len);
    f->len += len;
    if (f->jfd >= 0)
        s_write_all(f->jfd, data, len);
}

static void s_journal_sync(s_file_t *f)
{
    if (f->jfd >= 0 && real_fdatasync(f->jfd) != 0)
        s_die("cannot sync the journal");
}

/* Writes the journal afresh (header with synced_size, then the records
 * kept) to a temporary file, syncs it and renames it over the old one. */
static void s_journal_rewrite(s_file_t *f)
{
    if (!s_journal)
        return;
    char tmp[PATH_MAX + 16], dir[PATH_MAX + 8];
    uint8_t head[12];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->jpath);
    int fd = real_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        s_die("cannot create the journal");
    memcpy(head, S_MAGIC, 4);
    memcpy(head + 4, &f->synced_size, 8);
    s_write_all(fd, head, sizeof head);
    s_write_all(fd, f->rec, f->len);
    if (real_fdatasync(fd) != 0 || rename(tmp, f->jpath) != 0)
        s_die("cannot install the journal");
    snprintf(dir, sizeof dir, "%s", f->jpath);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        int dfd = real_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            real_fsync(dfd);
            real_close(dfd);
        }
    }
    if (f->jfd >= 0)
        real_close(f->jfd);
    f->jfd = fd;
}

static uint64_t s_size_of(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Starts tracking `fd` if it opened a data.mdb under PAY_FAULT_TRACK. */
static void s_maybe_track(int fd, const char *path, int flags)
{
    if (fd < 0 || fd >= S_MAX_FD || !path)
        return;
    const char *b = strrchr(path, '/');
    if (strcmp(b ? b + 1 : path, "data.mdb") != 0)
        return;
    pthread_once(&s_env_once, s_init_env);
    if (!s_tracking)
        return;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strcmp(base, "data.mdb") != 0 || (flags & O_EXCL))
        return;   /* O_EXCL: a backup copy being made, not the live file */
    char full[PATH_MAX];
    if (!realpath(path, full))
        return;
    size_t tl = strlen(s_track);
    if (strncmp(full, s_track, tl) != 0 || (full[tl] != '/' && full[tl] != '\0'))
        return;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return;
    pthread_mutex_lock(&s_lock);
    int idx = -1;
    for (int i = 0; i < S_MAX_FILES; i++)
        if (s_files[i].used && s_files[i].dev == st.st_dev && s_files[i].ino == st.st_ino)
            idx = i;
    if (idx < 0) {
        for (int i = 0; i < S_MAX_FILES && idx < 0; i++)
            if (!s_files[i].used)
                idx = i;
        if (idx < 0)
            s_die("too many tracked files");
        s_file_t *f = &s_files[idx];
        memset(f, 0, sizeof *f);
        f->used = 1;
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->jfd = -1;
        snprintf(f->path, sizeof f->path, "%s", full);
        snprintf(f->jpath, sizeof f->jpath, "%s.pfj", full);
        /* What is there when the process opens it is what the last sync
         * (or the harness's rollback) left. */
        f->synced_size = (uint64_t)st.st_size;
        s_journal_rewrite(f);
    }
    s_fd_file[fd] = (signed char)(idx + 1);
    s_fd_dsync[fd] = (flags & O_DSYNC) == O_DSYNC || (flags & O_SYNC) == O_SYNC;
    pthread_mutex_unlock(&s_lock);
}

/* Before a write of [off, off+len) to f: journal what it overwrites, or
 * (O_DSYNC) that it is durable once done. Called with s_lock held. */
static void s_before_write(s_file_t *f, int fd, uint64_t off, uint64_t len)
{
    uint8_t head[17];
    if (s_fd_dsync[fd]) {
        head[0] = 'D';
        memcpy(head + 1, &off, 8);
        memcpy(head + 9, &len, 8);
        s_journal_put(f, head, sizeof head);
        s_journal_sync(f);
        return;
    }
    uint64_t size = s_size_of(fd);
    uint64_t keep = off >= size ? 0 : (off + len > size ? size - off : len);
    head[0] = 'W';
    memcpy(head + 1, &off, 8);
    memcpy(head + 9, &keep, 8);
    s_journal_put(f, head, sizeof head);
    if (keep > 0) {
        uint8_t *buf = malloc(keep);
        if (!buf)
            s_die("out of memory for the journal");
        ssize_t n = real_pread(fd, buf, keep, (off_t)off);
        if (n != (ssize_t)keep)
            s_die("cannot read the bytes a write overwrites");
        s_journal_put(f, buf, keep);
        free(buf);
    }
    s_journal_sync(f);
}

static int s_track_open(int fd, const char *path, int flags)
{
    if (fd >= 0)
        s_maybe_track(fd, path, flags);
    return fd;
}

static mode_t s_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    s_ready();
    va_list ap;
    va_start(ap, flags);
    mode_t m = s_mode(flags, ap);
    va_end(ap);
    return s_track_open(real_open(path, flags, m), path, flags);
}

int open64(const char *path, int flags, ...)
{
    s_ready();
    va_list ap;
    va_start(ap, flags);
    mode_t m = s_mode(flags, ap);
    va_end(ap);
    return s_track_open((real_open64 ? real_open64 : real_open)(path, flags, m), path, flags);
}

int openat(int dfd, const char *path, int flags, ...)
{
    s_ready();
    va_list ap;
    va_start(ap, flags);
    mode_t m = s_mode(flags, ap);
    va_end(ap);
    int fd = real_openat(dfd, path, flags, m);
    return dfd == AT_FDCWD || path[0] == '/' ? s_track_open(fd, path, flags) : fd;
}

int openat64(int dfd, const char *path, int flags, ...)
{
    s_ready();
    va_list ap;
    va_start(ap, flags);
    mode_t m = s_mode(flags, ap);
    va_end(ap);
    int fd = (real_openat64 ? real_openat64 : real_openat)(dfd, path, flags, m);
    return dfd == AT_FDCWD || path[0] == '/' ? s_track_open(fd, path, flags) : fd;
}

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
    s_ready();
    return s_track_open(real___open_2(path, flags), path, flags);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
    s_ready();
    return s_track_open(real___open64_2(path, flags), path, flags);
}

int close(int fd)
{
    s_ready();
    if (fd >= 0 && fd < S_MAX_FD && s_fd_file[fd]) {
        pthread_mutex_lock(&s_lock);
        s_fd_file[fd] = 0;
        s_fd_dsync[fd] = 0;
        pthread_mutex_unlock(&s_lock);
    }
    return real_close(fd);
}

/* A write to a tracked fd: journal first, then the write, under the lock
 * (so that a sync's bookkeeping sees whole writes). */
#define S_TRACKED_WRITE(fd, off, len, call)                                 \
    do {                                                                    \
        s_file_t *f_ = s_file_of(fd);                                       \
        if (!f_)                                                            \
            return call;                                                    \
        if (s_fd_dsync[fd] && s_eio_now()) {                                \
            errno = EIO;                                                    \
            return -1;                                                      \
        }                                                                   \
        pthread_mutex_lock(&s_lock);                                        \
        if (s_journal)                                                      \
            s_before_write(f_, fd, (uint64_t)(off), (uint64_t)(len));       \
        ssize_t r_ = call;                                                  \
        pthread_mutex_unlock(&s_lock);                                      \
        return r_;                                                          \
    } while (0)

static size_t s_iov_len(const struct iovec *iov, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    return len;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    s_ready();
    off_t off = s_file_of(fd) ? real_lseek(fd, 0, SEEK_CUR) : 0;
    S_TRACKED_WRITE(fd, off, n, real_write(fd, buf, n));
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    s_ready();
    S_TRACKED_WRITE(fd, off, n, real_pwrite(fd, buf, n, off));
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    s_ready();
    S_TRACKED_WRITE(fd, off, n, (real_pwrite64 ? real_pwrite64 : real_pwrite)(fd, buf, n, off));
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    s_ready();
    off_t off = s_file_of(fd) ? real_lseek(fd, 0, SEEK_CUR) : 0;
    S_TRACKED_WRITE(fd, off, s_iov_len(iov, cnt), real_writev(fd, iov, cnt));
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    s_ready();
    S_TRACKED_WRITE(fd, off, s_iov_len(iov, cnt), real_pwritev(fd, iov, cnt, off));
}

int ftruncate(int fd, off_t len)
{
    s_ready();
    s_file_t *f = s_file_of(fd);
    if (!f)
        return real_ftruncate(fd, len);
    pthread_mutex_lock(&s_lock);
    uint64_t size = s_size_of(fd);
    /* A shrink overwrites the bytes cut off, as far as a rollback goes. */
    if (s_journal && (uint64_t)len < size)
        s_before_write(f, fd, (uint64_t)len, size - (uint64_t)len);
    int r = real_ftruncate(fd, len);
    pthread_mutex_unlock(&s_lock);
    return r;
}

/* fdatasync or fsync of a tracked fd: see the header comment. */
static int s_sync(int fd, int (*real)(int))
{
    s_file_t *f = s_file_of(fd);
    if (!f)
        return real(fd);
    if (s_eio_now()) {
        errno = EIO;
        return -1;
    }
    pthread_mutex_lock(&s_lock);
    size_t mark = f->len;
    uint64_t size = s_size_of(fd);
    pthread_mutex_unlock(&s_lock);
    int r = real(fd);
    if (r != 0)
        return r;
    pthread_mutex_lock(&s_lock);
    memmove(f->rec, f->rec + mark, f->len - mark);
    f->len -= mark;
    f->synced_size = size;
    s_journal_rewrite(f);
    pthread_mutex_unlock(&s_lock);
    return 0;
}

int fdatasync(int fd)
{
    s_ready();
    return s_sync(fd, real_fdatasync);
}

int fsync(int fd)
{
    s_ready();
    return s_sync(fd, real_fsync);
}

/* Everything of every tracked file is durable after these. */
static void s_sync_all(void)
{
    for (int fd = 0; fd < S_MAX_FD; fd++)
        if (s_fd_file[fd])
            s_sync(fd, real_fsync);
}

void sync(void)
{
    s_ready();
    s_sync_all();
    real_sync();
}

int syncfs(int fd)
{
    s_ready();
    s_sync_all();
    return real_syncfs(fd);
}

static void s_check_map(int prot, int flags, int fd)
{
    if (s_file_of(fd) && (prot & PROT_WRITE) && (flags & MAP_SHARED))
        s_die("a tracked file is mapped writable (MDB_WRITEMAP?): writes through the "
              "mapping would bypass the journal");
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    s_ready();
    s_check_map(prot, flags, fd);
    return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    s_ready();
    s_check_map(prot, flags, fd);
    return (real_mmap64 ? real_mmap64 : real_mmap)(addr, len, prot, flags, fd, off);
}
