/* newminor.c -- test plugin built for a newer ABI minor: must be refused. */
#include "sluice/plugin.h"

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
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR + 1,
    .name = "newminor",
    .version = "1",
    .description = "newer ABI minor (tests)",
    .license = "MIT",
    .map = map,
};

SLUICE_PLUGIN_DEFINE(desc)
