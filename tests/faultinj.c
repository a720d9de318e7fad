/*
 * faultinj.c -- fault injection for the tests, loaded with LD_PRELOAD.
 *
 * Fails one call of the process tree (the command and the workers it
 * forks share one counter in a shared mapping): the FAULT_N-th call
 * (1, 2, ...) of FAULT_CALL (read, pread64, write, pwrite64, fsync,
 * fdatasync, open, openat, renameat2, link), with errno FAULT_ERRNO (EIO,
 * ENOSPC, ENOMEM, EACCES, EINVAL, EPERM; default EIO).  FAULT_ERRNO=LOST makes
 * a write or pwrite64 a lost one instead: it says it wrote every byte and wrote
 * none.  FAULT_ERRNO=HOLD makes that call wait instead of failing: it
 * opens the FIFO FAULT_HOLD for reading, reads it to its end, then runs
 * as usual, so a test holds the process at a known point (it opens the
 * FIFO for writing, does what must happen meanwhile, closes it).  With
 * FAULT_PATH, only calls on a descriptor whose file's path
 * holds that string (or, for open, a path that holds it) count.  When the
 * fault fires and FAULT_REPORT names a file, "CALL N PID" is appended to
 * it, so a test knows whether its run met the fault or ran past it.
 *
 * FAULT_CALL=malloc fails the Nth allocation instead (malloc, calloc,
 * realloc, posix_memalign, aligned_alloc, memalign: one counter; errno
 * ENOMEM; FAULT_PATH does not apply).  FAULT_COUNT=FILE: the process that
 * loaded the shim writes the number of calls counted to FILE when it
 * exits, so a test knows how many there are to fail.
 *
 * Only calls made through these symbols are seen: stdio's writes, mmap'd
 * reads and the dynamic loader's are not.
 *
 * Workers run under the seccomp sandbox, where opening a file for writing
 * or asking for the working directory is refused: the working directory is
 * read at load time, and a worker that fires leaves its report line in the
 * shared page, which the process that loaded the shim first (the command)
 * writes out when it exits.
 */
/* The symbols defined here are the plain and the 64 names, not what the
 * headers would redirect them to. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

static const char *call_name; /* FAULT_CALL */
static long fail_at;          /* FAULT_N */
static int fail_errno = EIO;
static int lost;              /* FAULT_ERRNO=LOST */
static const char *hold;      /* FAULT_ERRNO=HOLD: FAULT_HOLD's FIFO */
static const char *path_part; /* FAULT_PATH */
/* Shared by the process tree. */
struct shared {
    _Atomic long counter; /* calls counted so far */
    _Atomic int pending;  /* a worker's report waits in line */
    char line[128];
};
static struct shared *shared;
static pid_t owner; /* the process that loaded the shim */
static char cwd[4096];

__attribute__((constructor)) static void fault_init(void)
{
    call_name = getenv("FAULT_CALL");
    const char *n = getenv("FAULT_N");
    fail_at = n ? atol(n) : 0;
    path_part = getenv("FAULT_PATH");
    const char *e = getenv("FAULT_ERRNO");
    if (e) {
        if (!strcmp(e, "ENOSPC"))
            fail_errno = ENOSPC;
        else if (!strcmp(e, "ENOMEM"))
            fail_errno = ENOMEM;
        else if (!strcmp(e, "EACCES"))
            fail_errno = EACCES;
        else if (!strcmp(e, "EINVAL"))
            fail_errno = EINVAL;
        else if (!strcmp(e, "EPERM"))
            fail_errno = EPERM;
        else if (!strcmp(e, "LOST"))
            lost = 1;
        else if (!strcmp(e, "HOLD"))
            hold = getenv("FAULT_HOLD");
    }
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    owner = getpid();
    void *m = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED)
        shared = m;
}

static void write_report(const char *line);

static void write_line(const char *file, const char *line);

__attribute__((destructor)) static void fault_fini(void)
{
    if (!shared || getpid() != owner)
        return;
    if (atomic_load(&shared->pending)) {
        atomic_store(&shared->pending, 0);
        write_report(shared->line);
    }
    const char *c = getenv("FAULT_COUNT");
    if (c) {
        char line[32];
        snprintf(line, sizeof line, "%ld\n", atomic_load(&shared->counter));
        write_line(c, line);
    }
}

/* Sets the function pointer fp to the next definition of `name`. */
#define REAL(fp, name)                                                         \
    do {                                                                       \
        void *sym_ = dlsym(RTLD_NEXT, name);                                   \
        if (!sym_)                                                             \
            abort();                                                           \
        memcpy(&(fp), &sym_, sizeof(fp));                                      \
    } while (0)

static int path_matches(const char *path)
{
    if (!path_part)
        return 1;
    if (!path)
        return 0;
    char full[8192];
    if (path[0] != '/' && cwd[0]) {
        snprintf(full, sizeof full, "%s/%s", cwd, path);
        path = full;
    }
    return strstr(path, path_part) != NULL;
}

static int fd_matches(int fd)
{
    if (!path_part)
        return 1;
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0)
        return 0;
    target[n] = '\0';
    return strstr(target, path_part) != NULL;
}

static void write_report(const char *line)
{
    const char *r = getenv("FAULT_REPORT");
    if (r)
        write_line(r, line);
}

static void write_line(const char *r, const char *line)
{
    int (*ropen)(const char *, int, ...);
    ssize_t (*rwrite)(int, const void *, size_t);
    REAL(ropen, "open");
    REAL(rwrite, "write");
    int fd = ropen(r, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (rwrite(fd, line, strlen(line)) < 0)
        return;
    close(fd);
}

static void report(const char *name, long k)
{
    char line[128];
    snprintf(line, sizeof line, "%s %ld %d\n", name, k, getpid());
    if (getpid() == owner) {
        write_report(line);
        return;
    }
    memcpy(shared->line, line, sizeof line);
    atomic_store(&shared->pending, 1);
}

/* 1 when this call is the one to fail (errno is then set). */
static int fail_now(const char *name, int matches)
{
    if (!call_name || !shared || fail_at <= 0 || strcmp(call_name, name) ||
        !matches)
        return 0;
    long k = atomic_fetch_add(&shared->counter, 1) + 1;
    if (k != fail_at)
        return 0;
    report(name, k);
    if (hold) {
        int (*ropen)(const char *, int, ...);
        ssize_t (*rread)(int, void *, size_t);
        REAL(ropen, "open");
        REAL(rread, "read");
        int fd = ropen(hold, O_RDONLY | O_CLOEXEC);
        char b[64];
        while (fd >= 0 && rread(fd, b, sizeof b) > 0)
            ;
        if (fd >= 0)
            close(fd);
        return 0;
    }
    errno = fail_errno;
    return 1;
}

ssize_t read(int fd, void *buf, size_t n)
{
    static ssize_t (*f)(int, void *, size_t);
    if (!f)
        REAL(f, "read");
    if (fail_now("read",
                 call_name && !strcmp(call_name, "read") && fd_matches(fd)))
        return -1;
    return f(fd, buf, n);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    static ssize_t (*f)(int, void *, size_t, off_t);
    if (!f)
        REAL(f, "pread64");
    if (fail_now("pread64",
                 call_name && !strcmp(call_name, "pread64") && fd_matches(fd)))
        return -1;
    return f(fd, buf, n, off);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    return pread64(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*f)(int, const void *, size_t);
    if (!f)
        REAL(f, "write");
    if (fail_now("write",
                 call_name && !strcmp(call_name, "write") && fd_matches(fd)))
        return lost ? (ssize_t)n : -1;
    return f(fd, buf, n);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*f)(int, const void *, size_t, off_t);
    if (!f)
        REAL(f, "pwrite64");
    if (fail_now("pwrite64",
                 call_name && !strcmp(call_name, "pwrite64") && fd_matches(fd)))
        return lost ? (ssize_t)n : -1;
    return f(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite64(fd, buf, n, off);
}

int fsync(int fd)
{
    static int (*f)(int);
    if (!f)
        REAL(f, "fsync");
    if (fail_now("fsync",
                 call_name && !strcmp(call_name, "fsync") && fd_matches(fd)))
        return -1;
    return f(fd);
}

int fdatasync(int fd)
{
    static int (*f)(int);
    if (!f)
        REAL(f, "fdatasync");
    if (fail_now("fdatasync", call_name && !strcmp(call_name, "fdatasync") &&
                                  fd_matches(fd)))
        return -1;
    return f(fd);
}

/* mode_t m: the mode argument after `flags` when flags ask for one. */
#define OPEN_MODE(m, flags)                                                    \
    mode_t m = 0;                                                              \
    do {                                                                       \
        if ((flags) & (O_CREAT | O_TMPFILE)) {                                 \
            va_list ap_;                                                       \
            va_start(ap_, flags);                                              \
            m = (mode_t)va_arg(ap_, int);                                      \
            va_end(ap_);                                                       \
        }                                                                      \
    } while (0)

int open(const char *path, int flags, ...)
{
    static int (*f)(const char *, int, ...);
    if (!f)
        REAL(f, "open");
    OPEN_MODE(mode, flags);
    if (fail_now("open",
                 call_name && !strcmp(call_name, "open") && path_matches(path)))
        return -1;
    return f(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    OPEN_MODE(mode, flags);
    return open(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    static int (*f)(int, const char *, int, ...);
    if (!f)
        REAL(f, "openat");
    OPEN_MODE(mode, flags);
    if (fail_now("openat", call_name && !strcmp(call_name, "openat") &&
                               path_matches(path)))
        return -1;
    return f(dirfd, path, flags, mode);
}

/* renameat2 and link: a file system without RENAME_NOREPLACE (EINVAL) or
 * without hard links (EPERM); FAULT_PATH is matched against the new
 * name. */
int renameat2(int olddirfd, const char *oldpath, int newdirfd,
              const char *newpath, unsigned int flags)
{
    static int (*f)(int, const char *, int, const char *, unsigned int);
    if (!f)
        REAL(f, "renameat2");
    if (fail_now("renameat2", call_name && !strcmp(call_name, "renameat2") &&
                                  path_matches(newpath)))
        return -1;
    return f(olddirfd, oldpath, newdirfd, newpath, flags);
}

int link(const char *oldpath, const char *newpath)
{
    static int (*f)(const char *, const char *);
    if (!f)
        REAL(f, "link");
    if (fail_now("link", call_name && !strcmp(call_name, "link") &&
                             path_matches(newpath)))
        return -1;
    return f(oldpath, newpath);
}

/* ---------------------------------------------------------- allocation */

/* glibc's own entry points: no dlsym (which allocates) needed. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
void *memalign(size_t align, size_t n);

static int alloc_fails(void)
{
    if (!call_name || call_name[0] != 'm' || strcmp(call_name, "malloc") ||
        !fail_now("malloc", 1))
        return 0;
    errno = ENOMEM; /* what a failed allocation leaves */
    return 1;
}

void *malloc(size_t n)
{
    return alloc_fails() ? NULL : __libc_malloc(n);
}

void *calloc(size_t k, size_t n)
{
    return alloc_fails() ? NULL : __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
    /* realloc(p, 0) frees: it cannot fail. */
    if (p && n == 0)
        return __libc_realloc(p, n);
    return alloc_fails() ? NULL : __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
    return alloc_fails() ? NULL : __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align == 0 || align % sizeof(void *) != 0 || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
