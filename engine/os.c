/*
 * os.c -- platform calls behind one small interface (see os.h).
 *
 * Kept tiny on purpose: the engine's modules call these, never the raw
 * Linux interfaces, so a port touches one file.
 */
#include "os.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sluice/sluice.h"

void *sluice__os_map_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *sluice__os_map_prefaulted(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void sluice__os_unmap(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

int sluice__os_eventfd(int nonblock)
{
    int fd = eventfd(0, EFD_CLOEXEC | (nonblock ? EFD_NONBLOCK : 0));
    return fd < 0 ? -errno : fd;
}

void sluice__os_event_signal(int fd)
{
    uint64_t one = 1;
    ssize_t r;
    do
        r = write(fd, &one, sizeof one);
    while (r < 0 && errno == EINTR);
}

int sluice__os_event_wait(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    return r == (ssize_t)sizeof v ? 0 : -errno;
}

void sluice__os_event_drain(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

int sluice__os_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

ssize_t sluice__os_pread_full(int fd, void *buf, size_t n, uint64_t off,
                              uint64_t stop)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (off + got == stop)
            break;
    }
    return (ssize_t)got;
}

ssize_t sluice__os_read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0) {
            if (errno == EINTR && !sluice__interrupt_sig)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int sluice_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
