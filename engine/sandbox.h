/*
 * sandbox.h -- the seccomp filter workers run plugin code under.
 *
 * See sandbox.c for what is allowed and why.  Linux only; x86_64 and
 * aarch64 have a filter, other architectures report the sandbox
 * unavailable.
 */
#ifndef SLUICE_SANDBOX_H
#define SLUICE_SANDBOX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct sock_filter;

/* Installs the filter in the calling (worker) process; irreversible.
 * `coord_fd` is the one descriptor besides 1 and 2 the worker may write (the
 * coordinator's eventfd).  A forbidden system call raises SIGSYS: its
 * handler stores the call's number + 1 in *report (shared memory the
 * coordinator reads), then the process dies by SIGSYS.  Returns 0 or -errno
 * (-ENOSYS: no filter for this architecture). */
int sluice__sandbox_install(int coord_fd, _Atomic int32_t *report);

/* The filter's classic BPF program for this architecture, with `coord_fd`
 * and `pid` (the worker's own) built in, into f (room for `cap`
 * instructions).  Returns its length; `cap` when it was cut short; 0 when
 * this architecture has no filter.  *arch gets the audit architecture the
 * program accepts (AUDIT_ARCH_*).  Separate from installing it so tests can
 * run the program on any architecture's calls (tests/test_sandbox_bpf.c). */
size_t sluice__sandbox_build(struct sock_filter *f, size_t cap, int coord_fd,
                             int32_t pid, uint32_t *arch);

/* A name for system call `nr` of this architecture ("socket"), or "?" for
 * one the table does not know. */
const char *sluice__sandbox_syscall_name(long nr);

#endif /* SLUICE_SANDBOX_H */
