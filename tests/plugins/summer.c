/*
 * summer.c -- test plugin: an order-sensitive hash of every byte.
 *
 * The partial is (length, polynomial hash, B^length), which merges
 * associatively but not commutatively, so a result equal to the one-pass
 * hash proves the engine merged every piece exactly once and in order.
 * Option crash_marker=PATH: the first map call of the job that sees a '!'
 * byte kills its worker (requeue test) and leaves "1" in PATH;
 * crash_always=true kills it every time (poison test).
 * Option shrink_path=PATH: the map call at offset 0 has PATH truncated to
 * 1 MiB (a file changing while it is read).
 *
 * Workers run sandboxed and may not write files, so global_init (in the
 * coordinator) sets up both channels: the marker file is mapped shared
 * before the fork, and a helper process truncates the file when a worker
 * asks through shared memory.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sluice/plugin.h"

#define HASH_B 1099511628211ULL

typedef struct part {
    uint64_t len, hash, pow;
} part;

static int always;
static char *crashed;             /* the marker file's byte, shared */
static _Atomic int *shrink_state; /* 1: asked, 2: done (shared) */
static pid_t shrinker = -1;

static void nap(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

static int g_init(sluice_ctx *ctx)
{
    const char *marker = ctx->api->option(ctx, "crash_marker");
    const char *shrink = ctx->api->option(ctx, "shrink_path");
    always = (int)ctx->api->option_int(ctx, "crash_always");
    if (marker && *marker) {
        int fd = open(marker, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, 1) != 0)
            return -1;
        void *m = mmap(NULL, 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (m == MAP_FAILED)
            return -1;
        crashed = m;
    }
    if (shrink && *shrink) {
        void *m = mmap(NULL, sizeof *shrink_state, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return -1;
        shrink_state = m;
        shrinker = fork();
        if (shrinker < 0)
            return -1;
        if (shrinker == 0) {
            while (atomic_load(shrink_state) != 1)
                nap();
            int rc = truncate(shrink, 1 << 20);
            atomic_store(shrink_state, rc == 0 ? 2 : 3);
            _exit(0);
        }
    }
    return 0;
}

static void g_fini(sluice_ctx *ctx)
{
    (void)ctx;
    if (shrinker > 0) {
        kill(shrinker, SIGKILL);
        waitpid(shrinker, NULL, 0);
        shrinker = -1;
    }
    if (shrink_state)
        munmap(shrink_state, sizeof *shrink_state);
    if (crashed)
        munmap(crashed, 1);
    shrink_state = NULL;
    crashed = NULL;
}

/* Has the helper truncate the file; 0 when it did. */
static int shrink_now(void)
{
    int expected = 0;
    atomic_compare_exchange_strong(shrink_state, &expected, 1);
    int st;
    while ((st = atomic_load(shrink_state)) == 1)
        nap();
    return st == 2 ? 0 : -1;
}

static void p_init(const sluice_ctx *ctx, void *p)
{
    (void)ctx;
    part *x = p;
    x->len = 0;
    x->hash = 0;
    x->pow = 1;
}

static int map(sluice_ctx *ctx, const sluice_block *b, void *p)
{
    (void)ctx;
    part *x = p;
    if (b->len && memchr(b->data, '!', b->len)) {
        if (always)
            raise(SIGKILL);
        if (crashed && *crashed != '1') {
            *crashed = '1';
            raise(SIGKILL);
        }
    }
    if (b->offset == 0 && shrink_state && shrink_now() != 0)
        return -1;
    for (size_t i = 0; i < b->len; i++) {
        x->hash = x->hash * HASH_B + b->data[i];
        x->pow *= HASH_B;
    }
    x->len += b->len;
    return 0;
}

static void merge(const sluice_ctx *ctx, void *into, const void *next)
{
    (void)ctx;
    part *a = into;
    const part *b = next;
    a->hash = a->hash * b->pow + b->hash;
    a->pow *= b->pow;
    a->len += b->len;
}

static void counters(const sluice_ctx *ctx, const void *p, uint64_t *out)
{
    (void)ctx;
    const part *x = p;
    out[0] = x->len;
    out[1] = x->hash;
}

static const char *const names[] = {"bytes", "hash"};
static const sluice_option opts[] = {
    {"crash_marker", SLUICE_OPT_STRING, "", "crash once, marker file", NULL},
    {"crash_always", SLUICE_OPT_BOOL, "false", "crash on every '!'", NULL},
    {"shrink_path", SLUICE_OPT_STRING, "", "truncate this file", NULL},
};

static const sluice_plugin desc = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "summer",
    .version = "1",
    .description = "order-sensitive hash of the input (tests)",
    .license = "MIT",
    .options = opts,
    .n_options = 3,
    .caps = SLUICE_CAP_MERGE,
    .partial_size = sizeof(part),
    .counter_names = names,
    .n_counters = 2,
    .counters = counters,
    .global_init = g_init,
    .global_fini = g_fini,
    .partial_init = p_init,
    .map = map,
    .merge = merge,
};

SLUICE_PLUGIN_DEFINE(desc)
