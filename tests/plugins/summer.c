/*
 * summer.c -- test plugin: an order-sensitive hash of every byte.
 *
 * The partial is (length, polynomial hash, B^length), which merges
 * associatively but not commutatively, so a result equal to the one-pass
 * hash proves the engine merged every piece exactly once and in order.
 * Option crash_marker=PATH: the first map call that sees a '!' byte while
 * PATH does not exist creates PATH and kills its worker (requeue test);
 * crash_always=true kills it every time (poison test).
 * Option shrink_path=PATH: the map call at offset 0 truncates PATH to 1 MiB
 * (a file changing while it is read).
 * Options append_path, touch_path, replace_path=PATH: the map call at
 * offset 0 appends a byte to PATH, sets its modification time to 2001
 * (same size), or renames a new file of the same size over it.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/plugin.h"

#define HASH_B 1099511628211ULL

typedef struct part {
    uint64_t len, hash, pow;
} part;

static const char *marker;
static const char *shrink;
static const char *append, *touch, *replace;
static int always;

static int g_init(sluice_ctx *ctx)
{
    marker = ctx->api->option(ctx, "crash_marker");
    always = (int)ctx->api->option_int(ctx, "crash_always");
    shrink = ctx->api->option(ctx, "shrink_path");
    append = ctx->api->option(ctx, "append_path");
    touch = ctx->api->option(ctx, "touch_path");
    replace = ctx->api->option(ctx, "replace_path");
    return 0;
}

/* The changes of append_path, touch_path and replace_path; 0 or -1. */
static int mutate(void)
{
    if (append && *append) {
        int fd = open(append, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0 || write(fd, "+", 1) != 1)
            return -1;
        close(fd);
    }
    if (touch && *touch) {
        struct timespec ts[2] = {{978307200, 0}, {978307200, 0}};
        if (utimensat(AT_FDCWD, touch, ts, 0) != 0)
            return -1;
    }
    if (replace && *replace) {
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
        if (marker && *marker) {
            int fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0600);
            if (fd >= 0) {
                close(fd);
                raise(SIGKILL);
            }
        }
    }
    if (b->offset == 0 && shrink && *shrink && truncate(shrink, 1 << 20) != 0)
        return -1;
    if (b->offset == 0 && mutate() != 0)
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
    .partial_init = p_init,
    .map = map,
    .merge = merge,
};

SLUICE_PLUGIN_DEFINE(desc)
