/* ctorcrash.c -- test plugin whose constructor crashes while it is loaded:
 * `sluice plugin check` must report it, not die with it. */
#include <signal.h>

#include "sluice/plugin.h"

__attribute__((constructor)) static void boom(void)
{
    raise(SIGSEGV);
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
    .name = "ctorcrash",
    .version = "1",
    .description = "crashes while loading (tests)",
    .license = "MIT",
    .map = map,
};

SLUICE_PLUGIN_DEFINE(desc)
