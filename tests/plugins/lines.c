/*
 * lines.c -- the example plugin of docs/plugins.md, built by the test suite
 * against the public header only, so the tutorial cannot rot.
 */
#include <sluice/plugin.h>

typedef struct {
    uint64_t lines;
} part;

static int map(sluice_ctx *ctx, const sluice_block *b, void *p)
{
    part *x = p;
    (void)ctx;
    for (size_t i = 0; i < b->len; i++)
        x->lines += b->data[i] == '\n';
    return 0;
}

static void merge(const sluice_ctx *ctx, void *into, const void *next)
{
    (void)ctx;
    ((part *)into)->lines += ((const part *)next)->lines;
}

static void counters(const sluice_ctx *ctx, const void *p, uint64_t *out)
{
    (void)ctx;
    out[0] = ((const part *)p)->lines;
}

static const char *const names[] = {"lines"};

static const sluice_plugin desc = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "lines",
    .version = "1.0",
    .license = "MIT",
    .description = "count newlines",
    .caps = SLUICE_CAP_MERGE,
    .partial_size = sizeof(part),
    .counter_names = names,
    .n_counters = 1,
    .counters = counters,
    .map = map,
    .merge = merge,
};

SLUICE_PLUGIN_DEFINE(desc)
