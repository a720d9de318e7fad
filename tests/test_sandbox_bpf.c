/*
 * test_sandbox_bpf.c -- the worker sandbox's filter program, run by a
 * classic BPF interpreter on the system calls of the architecture it was
 * compiled for.
 *
 * The kernel runs the filter only on the machine's own architecture; this
 * program runs it anywhere, so the aarch64 filter is checked on an x86_64
 * machine too: tests/cli/sandbox_cross.sh cross-compiles this file with
 * engine/sandbox.c and runs it under qemu's user mode.  It first checks the
 * program as the kernel's loader would (known instructions only, aligned
 * loads inside struct seccomp_data, jumps inside the program, a return at
 * the end), then runs each case below through it.  Plain C (no cmocka), so
 * it builds with a bare cross compiler; prints TAP, exits 1 on a failure.
 */
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "sandbox.h"

#define PID 4242   /* the worker's pid built into the program */
#define COORD_FD 7 /* the coordinator's eventfd */
#define ALLOW SECCOMP_RET_ALLOW
#define TRAP SECCOMP_RET_TRAP

static struct sock_filter prog[512];
static size_t prog_len;
static uint32_t prog_arch;
static int failures, count;

static void report(int ok, const char *name, const char *why)
{
    count++;
    if (ok) {
        printf("ok %d - %s\n", count, name);
        return;
    }
    failures++;
    printf("not ok %d - %s: %s\n", count, name, why);
}

/* What the kernel's loader checks before it accepts a filter. */
static const char *verify(void)
{
    if (prog_len == 0 || prog_len >= sizeof prog / sizeof *prog)
        return "no program, or cut short";
    if (prog_len > BPF_MAXINSNS)
        return "longer than BPF_MAXINSNS";
    for (size_t pc = 0; pc < prog_len; pc++) {
        const struct sock_filter *i = &prog[pc];
        switch (i->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (i->k % 4 != 0 || i->k + 4 > sizeof(struct seccomp_data))
                return "a load outside struct seccomp_data";
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
        case BPF_JMP | BPF_JSET | BPF_K:
        case BPF_JMP | BPF_JGE | BPF_K:
            if (pc + 1 + i->jt >= prog_len || pc + 1 + i->jf >= prog_len)
                return "a jump past the end";
            break;
        case BPF_RET | BPF_K:
            break;
        default:
            return "an instruction seccomp does not use";
        }
    }
    if (prog[prog_len - 1].code != (BPF_RET | BPF_K))
        return "the last instruction is not a return";
    return NULL;
}

/* Runs the program on one call, as the kernel would. */
static uint32_t run(uint32_t arch, int nr, const uint64_t args[6])
{
    struct seccomp_data d;
    memset(&d, 0, sizeof d);
    d.nr = nr;
    d.arch = arch;
    for (int k = 0; k < 6; k++)
        d.args[k] = args ? args[k] : 0;
    uint32_t a = 0;
    for (size_t pc = 0; pc < prog_len; pc++) {
        const struct sock_filter *i = &prog[pc];
        switch (i->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            memcpy(&a, (const char *)&d + i->k, 4);
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += a == i->k ? i->jt : i->jf;
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
            pc += (a & i->k) ? i->jt : i->jf;
            break;
        case BPF_JMP | BPF_JGE | BPF_K:
            pc += a >= i->k ? i->jt : i->jf;
            break;
        case BPF_RET | BPF_K:
            return i->k;
        default:
            return 0xdeadu;
        }
    }
    return 0xdeadu; /* fell off the end: verify() catches that */
}

static void expect(const char *name, int nr, uint64_t a0, uint64_t a1,
                   uint64_t a2, uint64_t a3, uint32_t want)
{
    uint64_t args[6] = {a0, a1, a2, a3, 0, 0};
    uint32_t got = run(prog_arch, nr, args);
    char why[96];
    snprintf(why, sizeof why, "returned %#x, want %s", (unsigned)got,
             want == ALLOW ? "ALLOW" : "TRAP");
    report(got == want, name, why);
}

#define PLAIN(call) expect(#call, SYS_##call, 0, 0, 0, 0, ALLOW)
#define REFUSED(call) expect(#call " refused", SYS_##call, 1, 0, 0, 0, TRAP)

int main(void)
{
    prog_len = sluice__sandbox_build(prog, sizeof prog / sizeof *prog, COORD_FD,
                                     PID, &prog_arch);
#if defined(__x86_64__)
    const char *want_arch = "x86_64";
    uint32_t arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
    const char *want_arch = "aarch64";
    uint32_t arch = AUDIT_ARCH_AARCH64;
#else
    printf("1..0 # SKIP no filter for this architecture\n");
    return 77;
#endif
    printf("# arch: %s, %zu instructions\n", want_arch, prog_len);
    report(prog_arch == arch, "the program checks this architecture",
           "another AUDIT_ARCH value");
    const char *bad = verify();
    report(!bad, "the kernel's loader would accept it", bad ? bad : "");
    if (bad) {
        printf("1..%d\n", count);
        return 1;
    }

    /* Reads, waits, memory, signals and exit: whatever the arguments. */
    PLAIN(read);
    PLAIN(pread64);
    PLAIN(readv);
    PLAIN(close);
    PLAIN(fstat);
    PLAIN(newfstatat);
    PLAIN(lseek);
    PLAIN(getdents64);
    PLAIN(munmap);
    PLAIN(mremap);
    PLAIN(madvise);
    PLAIN(brk);
    PLAIN(futex);
    PLAIN(nanosleep);
    PLAIN(clock_gettime);
    PLAIN(getrandom);
    PLAIN(getpid);
    PLAIN(rt_sigaction);
    PLAIN(rt_sigprocmask);
    PLAIN(rt_sigreturn);
    PLAIN(exit);
    PLAIN(exit_group);

    /* open: read-only flags only. */
    int at = AT_FDCWD;
    expect("openat O_RDONLY", SYS_openat, (uint32_t)at, 0, O_RDONLY | O_CLOEXEC,
           0, ALLOW);
    expect("openat O_DIRECTORY", SYS_openat, (uint32_t)at, 0,
           O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, ALLOW);
    expect("openat O_WRONLY", SYS_openat, (uint32_t)at, 0, O_WRONLY, 0, TRAP);
    expect("openat O_RDWR", SYS_openat, (uint32_t)at, 0, O_RDWR, 0, TRAP);
    expect("openat O_CREAT", SYS_openat, (uint32_t)at, 0, O_RDONLY | O_CREAT,
           0600, TRAP);
    expect("openat O_TRUNC", SYS_openat, (uint32_t)at, 0, O_RDONLY | O_TRUNC, 0,
           TRAP);
    expect("openat O_APPEND", SYS_openat, (uint32_t)at, 0, O_RDONLY | O_APPEND,
           0, TRAP);
#ifdef SYS_open
    expect("open O_RDONLY", SYS_open, 0, O_RDONLY, 0, 0, ALLOW);
    expect("open O_WRONLY|O_CREAT", SYS_open, 0, O_WRONLY | O_CREAT, 0600, 0,
           TRAP);
#endif

    /* write: stdout, stderr and the doorbell only. */
    expect("write fd 1", SYS_write, 1, 0, 1, 0, ALLOW);
    expect("write fd 2", SYS_write, 2, 0, 1, 0, ALLOW);
    expect("write coordinator eventfd", SYS_write, COORD_FD, 0, 8, 0, ALLOW);
    expect("write fd 0", SYS_write, 0, 0, 1, 0, TRAP);
    expect("write fd 3", SYS_write, 3, 0, 1, 0, TRAP);
    expect("writev fd 2", SYS_writev, 2, 0, 1, 0, ALLOW);
    expect("writev fd 5", SYS_writev, 5, 0, 1, 0, TRAP);
    REFUSED(pwrite64);
    REFUSED(pwritev);

    /* Memory: nothing executable, nothing shared with a file. */
    expect("mmap private read-write", SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS, ALLOW);
    expect("mmap private file read-only", SYS_mmap, 0, 4096, PROT_READ,
           MAP_PRIVATE, ALLOW);
    expect("mmap PROT_EXEC", SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC,
           MAP_PRIVATE | MAP_ANONYMOUS, TRAP);
    expect("mmap MAP_SHARED", SYS_mmap, 0, 4096, PROT_READ, MAP_SHARED, TRAP);
    expect("mmap MAP_SHARED_VALIDATE", SYS_mmap, 0, 4096, PROT_READ,
           MAP_SHARED_VALIDATE, TRAP);
    expect("mprotect read-write", SYS_mprotect, 0, 4096, PROT_READ | PROT_WRITE,
           0, ALLOW);
    expect("mprotect PROT_EXEC", SYS_mprotect, 0, 4096, PROT_READ | PROT_EXEC,
           0, TRAP);

    /* isatty(1) only. */
    expect("ioctl TCGETS", SYS_ioctl, 1, TCGETS, 0, 0, ALLOW);
    expect("ioctl FIONREAD", SYS_ioctl, 1, FIONREAD, 0, 0, TRAP);

    /* Signals to itself only (raise, abort). */
    expect("kill self", SYS_kill, PID, SIGABRT, 0, 0, ALLOW);
    expect("kill another pid", SYS_kill, PID + 1, SIGKILL, 0, 0, TRAP);
    expect("kill process group", SYS_kill, 0, SIGKILL, 0, 0, TRAP);
    expect("tgkill self", SYS_tgkill, PID, PID, SIGABRT, 0, ALLOW);
    expect("tgkill another", SYS_tgkill, 1, 1, SIGKILL, 0, TRAP);

    /* Files changed, programs run, processes made, the network. */
    REFUSED(unlinkat);
    REFUSED(renameat2);
    REFUSED(mkdirat);
    REFUSED(ftruncate);
    REFUSED(fchmodat);
    REFUSED(execve);
    REFUSED(execveat);
    REFUSED(clone);
    REFUSED(clone3);
    REFUSED(socket);
    REFUSED(connect);
    REFUSED(ptrace);
    REFUSED(memfd_create);
    REFUSED(io_uring_setup);
    REFUSED(bpf);
    REFUSED(prctl);
    REFUSED(seccomp);
    expect("an unknown call", 999, 0, 0, 0, 0, TRAP);

    /* Another architecture's calls, on a machine that runs both. */
    uint32_t other =
        arch == AUDIT_ARCH_X86_64 ? AUDIT_ARCH_I386 : AUDIT_ARCH_ARM;
    report(run(other, SYS_read, NULL) == TRAP,
           "another architecture's read is refused", "allowed");
#ifdef __x86_64__
    report(run(arch, 0x40000000 | SYS_read, NULL) == TRAP,
           "an x32 read is refused", "allowed");
#endif

    /* The names the coordinator's message uses. */
    report(strcmp(sluice__sandbox_syscall_name(SYS_socket), "socket") == 0 &&
               strcmp(sluice__sandbox_syscall_name(SYS_openat), "openat") ==
                   0 &&
               strcmp(sluice__sandbox_syscall_name(SYS_execve), "execve") == 0,
           "system call names", "wrong name");

    printf("1..%d\n", count);
    return failures ? 1 : 0;
}
