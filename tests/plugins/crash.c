/* crash.c -- test plugin whose worker_init fails: the job must fail cleanly,
 * naming the plugin, and never hang. */
#include "sluice/plugin.h"

static int w_init(sluice_ctx *ctx)
{
    (void)ctx;
    return -1;
}

static int map(sluice_ctx *ctx, const sluice_block *b, void *p)
{
    (void)ctx;
    (void)b;
    (void)p;
    return 0;
}

static const sluice_plugin desc = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "crash",
    .version = "1",
    .description = "worker_init fails (tests)",
    .license = "MIT",
    .worker_init = w_init,
    .map = map,
};

SLUICE_PLUGIN_DEFINE(desc)
