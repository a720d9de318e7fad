/*
 * globals.c -- test plugin that keeps state in globals, as wc does: its
 * global_init allocates a table (ctx->global) and counts its calls;
 * global_fini frees and forgets it.  Each partial counts bytes and records
 * how many times global_init ran in this process and whether the table
 * was there, so a test sees a second global_init, or a freed table, in
 * the results (sluice_job_clone must share the job's globals).
 */
#include <stdlib.h>
#include <string.h>

#include "sluice/plugin.h"

typedef struct part {
    uint64_t bytes;
    uint64_t inits;  /* global_init calls when the block was counted */
    uint64_t tables; /* blocks that found the table */
    uint64_t blocks;
} part;

static uint64_t inits;
static uint64_t *table; /* what global_init set up */

static int g_init(sluice_ctx *ctx)
{
    inits++;
    table = malloc(sizeof *table);
    if (!table)
        return -1;
    *table = 0x5151;
    ctx->global = table;
    return 0;
}

static void g_fini(sluice_ctx *ctx)
{
    (void)ctx;
    free(table);
    table = NULL;
}

static int map(sluice_ctx *ctx, const sluice_block *b, void *p)
{
    part *x = p;
    x->bytes += b->len;
    x->inits = inits;
    x->blocks++;
    x->tables += ctx->global == table && table && *table == 0x5151;
    return 0;
}

static void merge(const sluice_ctx *ctx, void *into, const void *next)
{
    (void)ctx;
    part *a = into;
    const part *b = next;
    a->bytes += b->bytes;
    a->inits = a->inits > b->inits ? a->inits : b->inits;
    a->tables += b->tables;
    a->blocks += b->blocks;
}

static void counters(const sluice_ctx *ctx, const void *p, uint64_t *out)
{
    (void)ctx;
    const part *x = p;
    out[0] = x->bytes;
    out[1] = x->inits;
    out[2] = x->blocks - x->tables; /* blocks without the table */
}

static const char *const names[] = {"bytes", "inits", "untabled"};

static const sluice_plugin desc = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "globals",
    .version = "1",
    .description = "keeps state in globals (tests)",
    .license = "MIT",
    .caps = SLUICE_CAP_MERGE,
    .partial_size = sizeof(part),
    .counter_names = names,
    .n_counters = 3,
    .counters = counters,
    .global_init = g_init,
    .global_fini = g_fini,
    .map = map,
    .merge = merge,
};

SLUICE_PLUGIN_DEFINE(desc)
