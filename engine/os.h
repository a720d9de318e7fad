/*
 * os.h -- the few platform calls the engine makes, in one place.
 *
 * Linux only for now: shared anonymous mappings, eventfd, pidfd, epoll.
 * Every function returns 0 (or a non-negative value) or a negative errno.
 */
#ifndef SLUICE_OS_H
#define SLUICE_OS_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

/* Maps `size` bytes of zeroed memory shared with children forked later. */
void *sluice__os_map_shared(size_t size);
/* Maps `size` bytes of private memory and touches every page now. */
void *sluice__os_map_prefaulted(size_t size);
void sluice__os_unmap(void *p, size_t size);

/* An eventfd (close-on-exec; non-blocking reads when `nonblock`). */
int sluice__os_eventfd(int nonblock);
/* Adds 1 to an eventfd; never fails in a way the caller can act on. */
void sluice__os_event_signal(int fd);
/* Blocks until the eventfd is non-zero and resets it.  Returns 0 or -errno
 * (-EINTR included). */
int sluice__os_event_wait(int fd);
/* Resets a non-blocking eventfd. */
void sluice__os_event_drain(int fd);

/* A pidfd for child `pid`, or -errno. */
int sluice__os_pidfd(pid_t pid);

/* Reads up to n bytes at off, retrying short reads and EINTR, stopping at
 * EOF, or as soon as the file offset reaches `stop` (a regular file's short
 * read ends at EOF: when the caller expects EOF there, no read is needed to
 * prove it; UINT64_MAX: never).  Returns the bytes read or -errno. */
ssize_t sluice__os_pread_full(int fd, void *buf, size_t n, uint64_t off,
                              uint64_t stop);
/* The signal given to sluice_interrupt, or 0 (interrupt.c). */
extern volatile sig_atomic_t sluice__interrupt_sig;

/* Same for a stream (read(2)); a read interrupted by a signal given to
 * sluice_interrupt returns -EINTR instead of waiting on. */
ssize_t sluice__os_read_full(int fd, void *buf, size_t n);

/* Spins politely for a moment (a CPU pause instruction). */
static inline void sluice__os_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif /* SLUICE_OS_H */
