/*
 * framed.c -- test plugin: the boundary hook and the lookbehind (ABI 1.1).
 *
 * Its input is a sequence of frames: a 4-byte little-endian length, then
 * that many bytes.  A length of 0xffffffff starts an unframed tail.  The
 * hook ends units only on frame boundaries (about `want` bytes of frames),
 * and returns the input's size at the unframed tail.  map writes one line
 * per unit:
 *
 *   U <offset> <worker> <continues> <before_len> <hash of before>
 *
 * where <continues> says that this worker's previous block ended exactly
 * where this unit begins, in the same input (a stream pinned to a worker).
 * The test checks each field against the input.
 */
#include <stdio.h>
#include <string.h>

#include "sluice/plugin.h"

#define TAIL 0xffffffffu

typedef struct framed_state {
    uint64_t next;
    uint32_t input;
    int valid;
} framed_state;

static uint64_t hash(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

static uint64_t boundary(sluice_ctx *ctx, sluice_read_fn read, void *src,
                         uint64_t at, uint64_t want, uint64_t size)
{
    (void)ctx;
    uint64_t pos = at;
    while (pos < size && pos - at < want) {
        unsigned char h[4];
        if (read(src, h, 4, pos) != 4)
            break;
        uint32_t len = (uint32_t)h[0] | (uint32_t)h[1] << 8 |
                       (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
        if (len == TAIL)
            break;
        if (pos + 4 + len > size)
            return size;
        pos += 4 + (uint64_t)len;
    }
    return pos > at ? pos : size;
}

static int map(sluice_ctx *ctx, const sluice_block *b, void *partial)
{
    (void)partial;
    framed_state *s = ctx->state;
    if (b->flags & SLUICE_BLOCK_UNIT_BEGIN) {
        int cont = s->valid && s->input == b->input && s->next == b->offset;
        char line[160];
        int n = snprintf(line, sizeof line, "U %llu %d %d %zu %llu\n",
                         (unsigned long long)b->offset, ctx->worker, cont,
                         b->before_len,
                         (unsigned long long)hash(b->before, b->before_len));
        size_t avail;
        char *o = sluice_reserve(ctx, (size_t)n, &avail);
        if (!o)
            return -1;
        memcpy(o, line, (size_t)n);
        sluice_commit(ctx, (size_t)n);
    }
    s->valid = 1;
    s->input = b->input;
    s->next = b->offset + b->len;
    return 0;
}

static const sluice_plugin desc = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "framed",
    .version = "1",
    .description = "units on frame boundaries, with lookbehind (tests)",
    .license = "MIT",
    .caps = SLUICE_CAP_ORDERED,
    .state_size = sizeof(framed_state),
    .map = map,
    .boundary = boundary,
    .lookbehind = 1000,
};

SLUICE_PLUGIN_DEFINE(desc)
