/*
 * ordered.c -- test plugin: ordered output.
 *
 * Writes its input upper-cased, in pieces of at most `piece` bytes through
 * reserve/commit, marks the start of every unit with '<' when mark=true
 * (records mode: units must start at line starts), and finish() appends
 * "END\n".  Output must equal the transformed input exactly, in order.
 */
#include <string.h>

#include "sluice/plugin.h"

static int64_t piece;
static int mark;

static int g_init(sluice_ctx *ctx)
{
    piece = ctx->api->option_int(ctx, "piece");
    mark = (int)ctx->api->option_int(ctx, "mark");
    return 0;
}

static int put(sluice_ctx *ctx, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t want = n < (size_t)piece ? n : (size_t)piece;
        size_t avail;
        unsigned char *o = sluice_reserve(ctx, want, &avail);
        if (!o)
            return -1;
        size_t k = want < avail ? want : avail;
        for (size_t i = 0; i < k; i++)
            o[i] = (p[i] >= 'a' && p[i] <= 'z') ? (unsigned char)(p[i] - 32)
                                                : p[i];
        sluice_commit(ctx, k);
        p += k;
        n -= k;
    }
    return 0;
}

static int map(sluice_ctx *ctx, const sluice_block *b, void *partial)
{
    (void)partial;
    if (mark && (b->flags & SLUICE_BLOCK_UNIT_BEGIN) && b->len > 0) {
        if (put(ctx, (const unsigned char *)"<", 1) < 0)
            return -1;
    }
    return put(ctx, b->data, b->len);
}

static int finish(sluice_ctx *ctx)
{
    return put(ctx, (const unsigned char *)"END\n", 4);
}

static const sluice_option opts[] = {
    {"piece", SLUICE_OPT_INT, "65536", "bytes per reserve", NULL},
    {"mark", SLUICE_OPT_BOOL, "false", "mark unit starts with '<'", NULL},
};

static const sluice_plugin desc = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "ordered",
    .version = "1",
    .description = "upper-case the input, in order (tests)",
    .license = "MIT",
    .options = opts,
    .n_options = 2,
    .caps = SLUICE_CAP_ORDERED | SLUICE_CAP_RECORDS,
    .global_init = g_init,
    .map = map,
    .finish = finish,
};

SLUICE_PLUGIN_DEFINE(desc)
