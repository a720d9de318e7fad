/*
 * plugins/wc/wc.c -- the `wc` plugin: GNU wc 9.5+ counts, split anywhere.
 *
 * A thin shell around the counting monoid in count.c.  The partial result is
 * a wc_partial (plain data, fixed size): map folds a block onto it, merge
 * combines adjacent pieces (associative, any split), counters finishes one
 * input.  No record alignment is needed (caps: SLUICE_CAP_MERGE only).
 *
 * Process model: global_init runs in the coordinator before workers fork
 * (the CLI has already called setlocale(LC_ALL, "")); it reads the options,
 * the locale, POSIXLY_CORRECT and the CPU once and stores the configuration
 * in this file's globals, which the forked workers inherit.  map runs in the
 * workers; merge and counters run in the coordinator and only do arithmetic
 * and table look-ups on the partials.
 *
 * Options (booleans, default false): lines, words, chars, bytes, maxline;
 * none set means lines, words and bytes, as wc does.  simd: auto (the best
 * kernels the CPU has), avx2, avx512 or scalar; naming a level the CPU lacks
 * is an error from global_init.
 */
#include <stdint.h>
#include <string.h>

#include "sluice/plugin.h"

#include "count.h"

static wc_config wc_cfg; /* set by global_init, read-only afterwards */

static const sluice_option wc_options[] = {
    {"lines", SLUICE_OPT_BOOL, "false", "count newlines (wc -l)", NULL},
    {"words", SLUICE_OPT_BOOL, "false", "count words (wc -w)", NULL},
    {"chars", SLUICE_OPT_BOOL, "false", "count characters (wc -m)", NULL},
    {"bytes", SLUICE_OPT_BOOL, "false", "count bytes (wc -c)", NULL},
    {"maxline", SLUICE_OPT_BOOL, "false",
     "report the maximum display width of a line (wc -L)", NULL},
    {"simd", SLUICE_OPT_ENUM, "auto",
     "counting kernels: auto, avx2, avx512 or scalar",
     "auto|avx2|avx512|scalar"},
};

static const char *const wc_counter_names[WC_NCOUNTERS] = {
    "lines", "words", "chars", "bytes", "maxline",
};

static int wc_global_init(sluice_ctx *ctx)
{
    static const char *const keys[WC_NCOUNTERS] = {
        "lines", "words", "chars", "bytes", "maxline",
    };
    unsigned want = 0;
    for (unsigned i = 0; i < WC_NCOUNTERS; i++)
        if (ctx->api->option_int(ctx, keys[i]) > 0)
            want |= WC_WANT(i);

    wc_simd simd = WC_SIMD_AUTO;
    const char *s = ctx->api->option(ctx, "simd");
    if (s && strcmp(s, "scalar") == 0)
        simd = WC_SIMD_SCALAR;
    else if (s && strcmp(s, "avx2") == 0)
        simd = WC_SIMD_AVX2;
    else if (s && strcmp(s, "avx512") == 0)
        simd = WC_SIMD_AVX512;

    char err[256];
    if (wc_config_init(&wc_cfg, want, simd, err, sizeof err) != 0) {
        ctx->api->error(ctx, 0, UINT64_MAX, "wc: %s", err);
        return -1;
    }
    ctx->global = &wc_cfg;
    return 0;
}

static void wc_global_fini(sluice_ctx *ctx)
{
    (void)ctx;
    wc_config_fini(&wc_cfg);
}

/* The host's partial buffers are expected to be 8-byte aligned; work on an
 * aligned copy when one is not. */
static int aligned(const void *p)
{
    return ((uintptr_t)p & (_Alignof(wc_partial) - 1)) == 0;
}

static void wc_partial_init(const sluice_ctx *ctx, void *partial)
{
    (void)ctx;
    memset(partial, 0, sizeof(wc_partial));
}

static int wc_map(sluice_ctx *ctx, const sluice_block *block, void *partial)
{
    (void)ctx;
    if (block->len == 0)
        return 0;
    if (aligned(partial)) {
        wc_count_map(&wc_cfg, partial, block->data, block->len);
    } else {
        wc_partial p;
        memcpy(&p, partial, sizeof p);
        wc_count_map(&wc_cfg, &p, block->data, block->len);
        memcpy(partial, &p, sizeof p);
    }
    return 0;
}

static void wc_merge(const sluice_ctx *ctx, void *into, const void *next)
{
    (void)ctx;
    wc_partial a, b;
    if (aligned(into) && aligned(next)) {
        wc_count_merge(&wc_cfg, into, next);
        return;
    }
    memcpy(&a, into, sizeof a);
    memcpy(&b, next, sizeof b);
    wc_count_merge(&wc_cfg, &a, &b);
    memcpy(into, &a, sizeof a);
}

static void wc_counters(const sluice_ctx *ctx, const void *partial,
                        uint64_t *out)
{
    (void)ctx;
    wc_partial p;
    wc_counts c;
    memcpy(&p, partial, sizeof p);
    wc_count_result(&wc_cfg, &p, &c);
    memcpy(out, c.v, sizeof c.v);
}

static const sluice_plugin wc_plugin = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "wc",
    .version = "1.0.0",
    .description = "count lines, words, characters, bytes and the widest "
                   "line, as GNU wc 9.5+ does",
    .license = "MIT",
    .options = wc_options,
    .n_options = sizeof wc_options / sizeof wc_options[0],
    .caps = SLUICE_CAP_MERGE,
    .state_size = 0,
    .partial_size = sizeof(wc_partial),
    .counter_names = wc_counter_names,
    .n_counters = WC_NCOUNTERS,
    .counters = wc_counters,
    .global_init = wc_global_init,
    .global_fini = wc_global_fini,
    .partial_init = wc_partial_init,
    .map = wc_map,
    .merge = wc_merge,
};

SLUICE_PLUGIN_DEFINE(wc_plugin)
