/*
 * faulty.c -- test plugin for supervision: faults chosen by the data.
 *
 * Counts bytes and lines and keeps an order-sensitive hash (as summer.c),
 * so a result equal to the one-pass result proves every unit counted
 * exactly once.  A block that holds one of these words misbehaves:
 *
 *   CRASH  the worker dies of SIGSEGV
 *   HANG   the worker sleeps forever (until a signal ends it)
 *   ALLOC  the worker allocates and touches memory without bound (it
 *          aborts when an allocation fails)
 *   QUIT   the worker exits with status 7
 *
 * Options: once=PATH: a fault fires once for all the runs that share PATH:
 * global_init (in the coordinator, before the workers and their sandbox)
 * maps the file's first byte shared, and the first worker to turn it from
 * 0 to '1' misbehaves; ignore_term=true: workers ignore SIGTERM, so
 * only the SIGKILL after the grace ends a hang; slow_us=N: every map call
 * first sleeps N microseconds (a job long enough to kill workers in).
 *
 * Built twice: faulty.so (counters, SLUICE_CAP_MERGE) and, with
 * FAULTY_ORDERED, faulty_ordered.so, which copies its input to the ordered
 * output instead.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/plugin.h"

#define HASH_B 1099511628211ULL

typedef struct part {
    uint64_t len, lines, hash, pow;
} part;

static _Atomic unsigned char *fired; /* once=PATH: its first byte */
static int ignore_term;
static int64_t slow_us;

static int g_init(sluice_ctx *ctx)
{
    const char *once = ctx->api->option(ctx, "once");
    if (once && *once && !fired) {
        int fd = open(once, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 ||
            (st.st_size == 0 && ftruncate(fd, 1) != 0)) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        void *m = mmap(NULL, 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (m == MAP_FAILED)
            return -1;
        fired = m;
    }
    ignore_term = (int)ctx->api->option_int(ctx, "ignore_term");
    slow_us = ctx->api->option_int(ctx, "slow_us");
    return 0;
}

static int w_init(sluice_ctx *ctx)
{
    (void)ctx;
    if (ignore_term)
        signal(SIGTERM, SIG_IGN);
    return 0;
}

static int armed(void)
{
    if (!fired)
        return 1;
    unsigned char zero = 0;
    return atomic_compare_exchange_strong(fired, &zero, '1');
}

static int has(const sluice_block *b, const char *word)
{
    return b->len && memmem(b->data, b->len, word, strlen(word)) != NULL;
}

static void faults(const sluice_block *b)
{
    if (slow_us > 0)
        usleep((useconds_t)slow_us);
    if (has(b, "CRASH") && armed()) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (has(b, "QUIT") && armed())
        _exit(7);
    if (has(b, "HANG") && armed())
        for (;;)
            pause();
    if (has(b, "ALLOC") && armed()) {
        for (;;) {
            size_t n = 64u << 20;
            volatile unsigned char *p = malloc(n);
            if (!p)
                abort();
            for (size_t i = 0; i < n; i += 4096)
                p[i] = 1;
        }
    }
}

#ifndef FAULTY_ORDERED
static void p_init(const sluice_ctx *ctx, void *p)
{
    (void)ctx;
    part *x = p;
    memset(x, 0, sizeof *x);
    x->pow = 1;
}

static int map(sluice_ctx *ctx, const sluice_block *b, void *p)
{
    (void)ctx;
    faults(b);
    part *x = p;
    for (size_t i = 0; i < b->len; i++) {
        x->hash = x->hash * HASH_B + b->data[i];
        x->pow *= HASH_B;
        x->lines += b->data[i] == '\n';
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
    a->lines += b->lines;
}

static void counters(const sluice_ctx *ctx, const void *p, uint64_t *out)
{
    (void)ctx;
    const part *x = p;
    out[0] = x->len;
    out[1] = x->hash;
    out[2] = x->lines;
}

static const char *const names[] = {"bytes", "hash", "lines"};
#else
static int map(sluice_ctx *ctx, const sluice_block *b, void *p)
{
    (void)p;
    faults(b);
    const unsigned char *d = b->data;
    size_t n = b->len;
    while (n > 0) {
        size_t avail;
        unsigned char *o = sluice_reserve(ctx, 1, &avail);
        if (!o)
            return -1;
        size_t k = n < avail ? n : avail;
        memcpy(o, d, k);
        sluice_commit(ctx, k);
        d += k;
        n -= k;
    }
    return 0;
}
#endif

static const sluice_option opts[] = {
    {"once", SLUICE_OPT_STRING, "", "fault once: marker file to create", NULL},
    {"ignore_term", SLUICE_OPT_BOOL, "false", "workers ignore SIGTERM", NULL},
    {"slow_us", SLUICE_OPT_INT, "0", "sleep this long in every map", NULL},
};

static const sluice_plugin desc = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
#ifndef FAULTY_ORDERED
    .name = "faulty",
    .description = "counts, and crashes, hangs or allocates on cue (tests)",
    .caps = SLUICE_CAP_MERGE | SLUICE_CAP_RECORDS,
    .partial_size = sizeof(part),
    .counter_names = names,
    .n_counters = 3,
    .counters = counters,
    .partial_init = p_init,
    .merge = merge,
#else
    .name = "faulty_ordered",
    .description = "copies, and crashes, hangs or allocates on cue (tests)",
    .caps = SLUICE_CAP_ORDERED | SLUICE_CAP_RECORDS,
#endif
    .version = "1",
    .license = "MIT",
    .options = opts,
    .n_options = 3,
    .global_init = g_init,
    .worker_init = w_init,
    .map = map,
};

SLUICE_PLUGIN_DEFINE(desc)
