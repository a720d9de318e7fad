/*
 * summer.c -- test plugin: an order-sensitive hash of every byte.
 *
 * The partial is (length, polynomial hash, B^length), which merges
 * associatively but not commutatively, so a result equal to the one-pass
 * hash proves the engine merged every piece exactly once and in order.
 * Option crash_marker=PATH: the first map call of the job that sees a '!'
 * byte kills its worker (requeue test) and leaves "1" in PATH;
 * crash_always=true kills it every time (poison test).
 * Options shrink_path, append_path, touch_path, replace_path=PATH: the map
 * call at offset 0 has PATH truncated to 1 MiB, a byte appended to it, its
 * modification time set to 2001 (same size), or a new file of the same
 * size renamed over it (a file changing while it is read).
 *
 * Workers run sandboxed and may not write files, so global_init (in the
 * coordinator) sets up both channels: the marker file is mapped shared
 * before the fork, and a helper process makes the changes when a worker
 * asks through shared memory.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
static const char *shrink, *append, *touch, *replace;

static void nap(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

static int given(const char *s)
{
    return s && *s;
}

/* The changes the options ask for, in the helper process; 0 or -1. */
static int change(void)
{
    if (given(shrink) && truncate(shrink, 1 << 20) != 0)
        return -1;
    if (given(append)) {
        int fd = open(append, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0 || write(fd, "+", 1) != 1)
            return -1;
        close(fd);
    }
    if (given(touch)) {
        struct timespec ts[2] = {{978307200, 0}, {978307200, 0}};
        if (utimensat(AT_FDCWD, touch, ts, 0) != 0)
            return -1;
    }
    if (given(replace)) {
        struct stat st;
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.new", replace);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || stat(replace, &st) != 0 ||
            ftruncate(fd, st.st_size) != 0 ||
            futimens(fd, (struct timespec[2]){st.st_atim, st.st_mtim}) != 0)
            return -1;
        close(fd);
        if (rename(tmp, replace) != 0)
            return -1;
    }
    return 0;
}

static int g_init(sluice_ctx *ctx)
{
    const char *marker = ctx->api->option(ctx, "crash_marker");
    shrink = ctx->api->option(ctx, "shrink_path");
    append = ctx->api->option(ctx, "append_path");
    touch = ctx->api->option(ctx, "touch_path");
    replace = ctx->api->option(ctx, "replace_path");
    always = (int)ctx->api->option_int(ctx, "crash_always");
    if (given(marker)) {
        int fd = open(marker, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, 1) != 0)
            return -1;
        void *m = mmap(NULL, 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (m == MAP_FAILED)
            return -1;
        crashed = m;
    }
    if (given(shrink) || given(append) || given(touch) || given(replace)) {
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
            atomic_store(shrink_state, change() == 0 ? 2 : 3);
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

/* Has the helper make the changes; 0 when it did. */
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
    {"append_path", SLUICE_OPT_STRING, "", "append to this file", NULL},
    {"touch_path", SLUICE_OPT_STRING, "", "set this file's mtime", NULL},
    {"replace_path", SLUICE_OPT_STRING, "", "rename a file over this", NULL},
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
    .n_options = sizeof opts / sizeof opts[0],
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
