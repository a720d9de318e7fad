/*
 * hostile.c -- test plugin that does, on its first block, what the worker
 * sandbox forbids (or, with action=allowed, what it allows), then counts
 * bytes like a well-behaved plugin.
 *
 * Option action=NAME, one of:
 *   none           nothing: a byte counter
 *   allowed        what worker code may do: open and read a file read-only,
 *                  write to stdout and stderr, allocate, sleep, read the
 *                  clock and random bytes, raise a handled signal
 *   write_file     create and write a file (openat with O_CREAT)
 *   open_write     open an existing file for writing (openat with O_RDWR)
 *   unlink         remove a file (unlinkat)
 *   exec           execve /bin/true
 *   socket         socket(AF_INET)
 *   fork           fork (clone)
 *   mmap_exec      map executable memory
 *   mprotect_exec  make memory executable
 *   write_fd       write to a descriptor opened read-only (not 1 or 2)
 *   init_socket    socket(AF_UNIX) in worker_init, which runs before the
 *                  filter: allowed
 *   fini_socket    socket(AF_UNIX) in worker_fini, which runs under it
 * Option input=N: the input whose first block does it (default 0).
 * Option path=PATH: the file write_file, open_write, unlink and allowed
 * use.  When the action succeeds (sandbox off, or init_socket), the plugin
 * reports it through an error on the first input so a test can tell it
 * ran: "hostile: ACTION done".
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sluice/plugin.h"

typedef struct part {
    uint64_t bytes;
} part;

static const char *action = "none";
static const char *path = "";
static uint32_t victim; /* input=N */
static volatile sig_atomic_t got_signal;
static int init_done; /* init_socket worked in worker_init */

static int g_init(sluice_ctx *ctx)
{
    action = ctx->api->option(ctx, "action");
    path = ctx->api->option(ctx, "path");
    victim = (uint32_t)strtoul(ctx->api->option(ctx, "input"), NULL, 10);
    return 0;
}

static void on_usr1(int sig)
{
    (void)sig;
    got_signal = 1;
}

/* What the sandbox allows; 0 when every step worked. */
static int allowed(void)
{
    int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    char buf[64];
    if (fd < 0 || read(fd, buf, sizeof buf) < 0 || pread(fd, buf, 1, 0) < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        return -1;
    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return -1;
    munmap(m, 4096);
    close(fd);
    if (stat(path, &st) != 0)
        return -1;
    char *big = malloc(64 << 20); /* mmap'd by malloc */
    if (!big)
        return -1;
    memset(big, 1, 64 << 20);
    free(big);
    printf("to stdout\n");
    fflush(stdout);
    fprintf(stderr, "hostile: allowed actions run\n");
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (getrandom(buf, 16, 0) != 16)
        return -1;
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    return got_signal ? 0 : -1;
}

/* Returns 0 when the forbidden action ran (sandbox off). */
static int act(const char *a)
{
    if (strcmp(a, "write_file") == 0) {
        int fd = openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            return -1;
        int ok = write(fd, "pwned\n", 6) == 6;
        close(fd);
        return ok ? 0 : -1;
    }
    if (strcmp(a, "open_write") == 0) {
        int fd = openat(AT_FDCWD, path, O_RDWR);
        if (fd < 0)
            return -1;
        close(fd);
        return 0;
    }
    if (strcmp(a, "unlink") == 0)
        return unlinkat(AT_FDCWD, path, 0);
    if (strcmp(a, "exec") == 0) {
        char *argv[] = {(char *)"true", NULL};
        execve("/bin/true", argv, environ);
        return -1;
    }
    if (strcmp(a, "socket") == 0 || strcmp(a, "init_socket") == 0) {
        int s = socket(strcmp(a, "socket") == 0 ? AF_INET : AF_UNIX,
                       SOCK_STREAM, 0);
        if (s < 0)
            return -1;
        close(s);
        return 0;
    }
    if (strcmp(a, "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0)
            return -1;
        waitpid(pid, NULL, 0);
        return 0;
    }
    if (strcmp(a, "mmap_exec") == 0) {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return -1;
        munmap(m, 4096);
        return 0;
    }
    if (strcmp(a, "mprotect_exec") == 0) {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return -1;
        int rc = mprotect(m, 4096, PROT_READ | PROT_EXEC);
        munmap(m, 4096);
        return rc;
    }
    if (strcmp(a, "write_fd") == 0) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        /* Refused with EBADF without the sandbox: still "done". */
        (void)!write(fd, "x", 1);
        close(fd);
        return 0;
    }
    return -1;
}

static int w_init(sluice_ctx *ctx)
{
    (void)ctx;
    if (strcmp(action, "init_socket") == 0)
        init_done = act(action) == 0;
    return 0;
}

static void w_fini(sluice_ctx *ctx)
{
    (void)ctx;
    if (strcmp(action, "fini_socket") == 0)
        act("init_socket");
}

static int map(sluice_ctx *ctx, const sluice_block *b, void *p)
{
    part *x = p;
    if ((b->flags & SLUICE_BLOCK_FILE_BEGIN) && b->input == 0 && init_done) {
        ctx->api->error(ctx, 0, b->offset, "hostile: init_socket done");
        return -1;
    }
    if ((b->flags & SLUICE_BLOCK_FILE_BEGIN) && b->input == victim &&
        strcmp(action, "none") != 0 && strcmp(action, "init_socket") != 0 &&
        strcmp(action, "fini_socket") != 0) {
        int rc = strcmp(action, "allowed") == 0 ? allowed() : act(action);
        if (rc != 0 && strcmp(action, "allowed") == 0) {
            ctx->api->error(ctx, 0, b->offset, "hostile: allowed failed");
            return -1;
        }
        if (strcmp(action, "allowed") != 0) {
            ctx->api->error(ctx, 0, b->offset, "hostile: %s done", action);
            return -1;
        }
    }
    x->bytes += b->len;
    return 0;
}

static void merge(const sluice_ctx *ctx, void *into, const void *next)
{
    (void)ctx;
    ((part *)into)->bytes += ((const part *)next)->bytes;
}

static void counters(const sluice_ctx *ctx, const void *p, uint64_t *out)
{
    (void)ctx;
    out[0] = ((const part *)p)->bytes;
}

static const char *const names[] = {"bytes"};
static const sluice_option opts[] = {
    {"action", SLUICE_OPT_STRING, "none", "what to try on the first block",
     NULL},
    {"path", SLUICE_OPT_STRING, "", "file the action uses", NULL},
    {"input", SLUICE_OPT_STRING, "0", "input whose first block acts", NULL},
};

static const sluice_plugin desc = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "hostile",
    .version = "1",
    .description = "tries what the worker sandbox forbids (tests)",
    .license = "MIT",
    .options = opts,
    .n_options = 3,
    .caps = SLUICE_CAP_MERGE,
    .partial_size = sizeof(part),
    .counter_names = names,
    .n_counters = 1,
    .counters = counters,
    .global_init = g_init,
    .worker_init = w_init,
    .worker_fini = w_fini,
    .partial_init = NULL,
    .map = map,
    .merge = merge,
};

SLUICE_PLUGIN_DEFINE(desc)
