/*
 * noop.c -- the plugin that does nothing, so the engine's own cost shows.
 *
 * map() only adds the block's length to the partial result, so a job run
 * with this plugin measures what the engine spends per unit and per byte:
 * chunking, dispatch through the rings, the workers' reads, the gather and
 * the merge (bench/overhead.c drives it with tiny chunks).  The "bytes"
 * counter it reports must equal the size of every input, whatever the
 * split: that is the benchmark's correctness check.
 *
 * Partial result: one uint64_t, the number of bytes seen; identity 0 (the
 * host zeroes partials, so no partial_init); merge adds.  No state, no
 * options, no output.  Built against the public header only.
 */
#include <stdint.h>

#include "sluice/plugin.h"

static const char *const noop_counter_names[] = {"bytes"};

static int noop_map(sluice_ctx *ctx, const sluice_block *block, void *partial)
{
    uint64_t *seen = partial;

    (void)ctx;
    *seen += block->len;
    return 0;
}

static void noop_merge(const sluice_ctx *ctx, void *into, const void *next)
{
    uint64_t *a = into;
    const uint64_t *b = next;

    (void)ctx;
    *a += *b;
}

static void noop_counters(const sluice_ctx *ctx, const void *partial,
                          uint64_t *out)
{
    const uint64_t *seen = partial;

    (void)ctx;
    out[0] = *seen;
}

static const sluice_plugin noop_plugin = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "noop",
    .version = "1.0",
    .description = "count bytes and nothing else (measures engine overhead)",
    .license = "MIT",
    .options = NULL,
    .n_options = 0,
    .caps = SLUICE_CAP_MERGE,
    .state_size = 0,
    .partial_size = sizeof(uint64_t),
    .counter_names = noop_counter_names,
    .n_counters = 1,
    .counters = noop_counters,
    .partial_init = NULL,
    .map = noop_map,
    .merge = noop_merge,
};

SLUICE_PLUGIN_DEFINE(noop_plugin)
