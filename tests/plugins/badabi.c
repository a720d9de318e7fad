/* badabi.c -- test plugin built for a future ABI major: must be refused. */
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
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = "badabi",
    .version = "1",
    .description = "wrong ABI major (tests)",
    .license = "MIT",
    .map = map,
};

SLUICE_PLUGIN_DEFINE(desc)
