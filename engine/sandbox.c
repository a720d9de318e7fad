/*
 * sandbox.c -- the seccomp filter workers run plugin code under.
 *
 * A worker installs it once, after the plugin is loaded (before fork, in
 * the coordinator), its shared region is mapped and the plugin's
 * worker_init has run (it may open what map will need), before the first
 * unit.  From then on the process may:
 *
 *   - read: read/pread/readv, open and openat with read-only flags (no
 *     O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND), stat and seek, close;
 *     regular inputs are opened and read by the worker itself;
 *   - write only to fd 1 (pointed at /dev/null), fd 2 (messages) and the
 *     coordinator's eventfd (the doorbell a worker rings);
 *   - manage memory: mmap and mprotect without PROT_EXEC, mmap without
 *     MAP_SHARED (file ranges are mapped MAP_PRIVATE, read-only), munmap,
 *     mremap, madvise, brk;
 *   - wait and keep time: futex, nanosleep, pause, clock_*, sched_yield;
 *   - handle its own signals and die: rt_sig*, kill/tgkill of itself only,
 *     exit, exit_group.
 *
 * Everything else -- writing or creating files, unlink/rename, exec,
 * fork/clone (so no threads), sockets, ptrace, executable memory -- makes
 * the kernel raise SIGSYS before the call runs.  The handler stores the
 * call's number in the worker's shared header and dies by SIGSYS; the
 * coordinator sees both and fails the job naming the unit, the plugin and
 * the call (supervise.c).  The filter is classic BPF built here: no library
 * dependency.  Only the low 32 bits of arguments are looked at: every
 * argument checked (fd, flags, prot, pid) is a 32-bit value.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sluice/sluice.h"

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#endif

/* -------------------------------------------------------- availability */

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif

#include <dlfcn.h>

static int unavailable(char *why, size_t len, const char *reason)
{
    if (why && len) {
        strncpy(why, reason, len - 1);
        why[len - 1] = '\0';
    }
    return 0;
}

int sluice_sandbox_available(char *why, size_t len)
{
#ifndef SANDBOX_ARCH
    return unavailable(why, len, "no seccomp filter for this architecture");
#else
#ifdef SANITIZER_BUILD
    return unavailable(why, len, "built with a sanitizer");
#endif
    /* Sanitizer runtimes (UBSan has no compile-time macro) and valgrind
     * make system calls of their own that the filter would refuse. */
    if (dlsym(RTLD_DEFAULT, "__sanitizer_print_stack_trace"))
        return unavailable(why, len, "a sanitizer runtime is loaded");
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload"))
        return unavailable(why, len, "running under valgrind");
#ifdef HAVE_VALGRIND_H
    if (RUNNING_ON_VALGRIND)
        return unavailable(why, len, "running under valgrind");
#endif
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
        return unavailable(why, len, "the kernel has no seccomp");
    if (why && len)
        why[0] = '\0';
    return 1;
#endif
}

/* ------------------------------------------------------------- filter */

#ifdef SANDBOX_ARCH

#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define LD_ABS(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))
#define JSET(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (jt), (jf))
#define JGE(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (jt), (jf))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ALLOW RET(SECCOMP_RET_ALLOW)
#define TRAP RET(SECCOMP_RET_TRAP)

/* Allowed whatever their arguments: they read, wait, or touch only the
 * process's own memory and signals. */
static const int plain[] = {
    SYS_read,
    SYS_pread64,
    SYS_readv,
    SYS_preadv,
    SYS_close,
    SYS_fstat,
    SYS_newfstatat,
    SYS_statx,
    SYS_lseek,
    SYS_faccessat,
    SYS_readlinkat,
    SYS_getdents64,
    SYS_fadvise64,
    SYS_munmap,
    SYS_mremap,
    SYS_madvise,
    SYS_brk,
    SYS_futex,
    SYS_nanosleep,
    SYS_clock_nanosleep,
    SYS_clock_gettime,
    SYS_clock_getres,
    SYS_gettimeofday,
    SYS_sched_yield,
    SYS_sched_getaffinity,
    SYS_getrandom,
    SYS_getpid,
    SYS_gettid,
    SYS_getppid,
    SYS_getuid,
    SYS_geteuid,
    SYS_getgid,
    SYS_getegid,
    SYS_uname,
    SYS_getrusage,
    SYS_rt_sigaction,
    SYS_rt_sigprocmask,
    SYS_rt_sigreturn,
    SYS_sigaltstack,
    SYS_restart_syscall,
    SYS_exit,
    SYS_exit_group,
#ifdef SYS_pause
    SYS_pause,
#endif
#ifdef SYS_stat
    SYS_stat,
    SYS_lstat,
    SYS_access,
    SYS_readlink,
#endif
};

#define FORBIDDEN_OPEN (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND)

size_t sluice__sandbox_build(struct sock_filter *f, size_t cap, int coord_fd,
                             int32_t pid, uint32_t *arch)
{
    size_t n = 0;
    *arch = SANDBOX_ARCH;
#define PUT(...)                                                               \
    do {                                                                       \
        struct sock_filter ins_[] = {__VA_ARGS__};                             \
        for (size_t k_ = 0; k_ < sizeof ins_ / sizeof *ins_; k_++)             \
            if (n < cap)                                                       \
                f[n++] = ins_[k_];                                             \
    } while (0)
    PUT(LD_ABS(offsetof(struct seccomp_data, arch)), JEQ(SANDBOX_ARCH, 1, 0),
        TRAP);
    PUT(LD_ABS(offsetof(struct seccomp_data, nr)));
#ifdef __x86_64__
    PUT(JGE(0x40000000u, 0, 1), TRAP); /* x32 calls */
#endif
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        PUT(JEQ((uint32_t)plain[i], 0, 1), ALLOW);

    /* Each checked call: a block that ends in RET, then the number is
     * reloaded for the next one. */
    PUT(JEQ(SYS_openat, 0, 4), LD_ABS(ARG_LO(2)), JSET(FORBIDDEN_OPEN, 0, 1),
        TRAP, ALLOW);
#ifdef SYS_open
    PUT(JEQ(SYS_open, 0, 4), LD_ABS(ARG_LO(1)), JSET(FORBIDDEN_OPEN, 0, 1),
        TRAP, ALLOW);
#endif
    PUT(JEQ(SYS_write, 1, 0), JEQ(SYS_writev, 0, 6), LD_ABS(ARG_LO(0)),
        JEQ(1, 3, 0), JEQ(2, 2, 0), JEQ((uint32_t)coord_fd, 1, 0), TRAP, ALLOW);
    PUT(LD_ABS(offsetof(struct seccomp_data, nr)));
    PUT(JEQ(SYS_mmap, 0, 6), LD_ABS(ARG_LO(2)), JSET(PROT_EXEC, 3, 0),
        LD_ABS(ARG_LO(3)), JSET(MAP_SHARED, 1, 0), ALLOW, TRAP);
    PUT(LD_ABS(offsetof(struct seccomp_data, nr)));
    PUT(JEQ(SYS_mprotect, 0, 4), LD_ABS(ARG_LO(2)), JSET(PROT_EXEC, 0, 1), TRAP,
        ALLOW);
    PUT(LD_ABS(offsetof(struct seccomp_data, nr)));
    /* stdio asks whether fd 1 (/dev/null) is a terminal. */
    PUT(JEQ(SYS_ioctl, 0, 4), LD_ABS(ARG_LO(1)), JEQ(TCGETS, 0, 1), ALLOW,
        TRAP);
    PUT(LD_ABS(offsetof(struct seccomp_data, nr)));
    /* raise() and abort(): signals to this process only. */
    PUT(JEQ(SYS_kill, 1, 0), JEQ(SYS_tgkill, 0, 4), LD_ABS(ARG_LO(0)),
        JEQ((uint32_t)pid, 0, 1), ALLOW, TRAP);
    PUT(TRAP);
#undef PUT
    return n;
}

static _Atomic int32_t *report_to;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (report_to)
        atomic_store(report_to, si->si_syscall + 1);
    /* Die by SIGSYS once the handler returns and the signal is unblocked. */
    signal(sig, SIG_DFL);
    raise(sig);
}

int sluice__sandbox_install(int coord_fd, _Atomic int32_t *report)
{
    struct sock_filter f[256];
    uint32_t arch;
    size_t n = sluice__sandbox_build(f, sizeof f / sizeof *f, coord_fd,
                                     getpid(), &arch);
    if (n == sizeof f / sizeof *f)
        return -E2BIG; /* would have been cut short */
    report_to = report;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    if (sigaction(SIGSYS, &sa, NULL) < 0 ||
        sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
        return -errno;
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
        return -errno;
    return 0;
}

#else /* no filter for this architecture */

size_t sluice__sandbox_build(struct sock_filter *f, size_t cap, int coord_fd,
                             int32_t pid, uint32_t *arch)
{
    (void)f;
    (void)cap;
    (void)coord_fd;
    (void)pid;
    *arch = 0;
    return 0;
}

int sluice__sandbox_install(int coord_fd, _Atomic int32_t *report)
{
    (void)coord_fd;
    (void)report;
    return -ENOSYS;
}

#endif

/* -------------------------------------------------------------- names */

static const struct {
    long nr;
    const char *name;
} names[] = {
#define N(x)                                                                   \
    {                                                                          \
        SYS_##x, #x                                                            \
    }
    N(read),           N(write),
    N(openat),         N(close),
    N(mmap),           N(mprotect),
    N(munmap),         N(ioctl),
    N(pwrite64),       N(writev),
    N(pwritev),        N(socket),
    N(socketpair),     N(connect),
    N(bind),           N(listen),
    N(accept),         N(accept4),
    N(sendto),         N(recvfrom),
    N(sendmsg),        N(recvmsg),
    N(clone),          N(execve),
    N(execveat),       N(kill),
    N(tgkill),         N(tkill),
    N(ptrace),         N(unlinkat),
    N(renameat),       N(renameat2),
    N(mkdirat),        N(symlinkat),
    N(linkat),         N(fchmodat),
    N(fchownat),       N(ftruncate),
    N(truncate),       N(fallocate),
    N(fcntl),          N(dup),
    N(dup3),           N(pipe2),
    N(prctl),          N(setsid),
    N(setpgid),        N(chdir),
    N(fchdir),         N(mount),
    N(umount2),        N(memfd_create),
    N(epoll_create1),  N(eventfd2),
    N(pkey_mprotect),  N(process_vm_writev),
    N(openat2),        N(clone3),
    N(io_uring_setup), N(bpf),
    N(seccomp),        N(wait4),
    N(waitid),         N(setuid),
    N(setgid),         N(chroot),
    N(sync),           N(fsync),
    N(fdatasync),      N(shutdown),
    N(getsockname),    N(setsockopt),
    N(ppoll),          N(pselect6),
    N(epoll_pwait),    N(sendfile),
    N(splice),         N(copy_file_range),
    N(utimensat),      N(flock),
#ifdef SYS_open
    N(open),           N(creat),
    N(unlink),         N(rename),
    N(mkdir),          N(rmdir),
    N(fork),           N(vfork),
    N(dup2),           N(pipe),
    N(chmod),          N(chown),
    N(link),           N(symlink),
    N(poll),           N(select),
    N(epoll_create),   N(eventfd),
    N(arch_prctl),     N(alarm),
#endif
#undef N
};

const char *sluice__sandbox_syscall_name(long nr)
{
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (names[i].nr == nr)
            return names[i].name;
    return "?";
}
