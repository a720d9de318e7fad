/* bigout.c -- test plugin whose output is many times its input: each input
 * byte is written `times` times (default 40), in small and large reserves,
 * so one 4 MiB unit writes 160 MiB, far more than a worker's output arena.
 * The output must come out whole, in order, in bounded memory. */
#include <string.h>

#include "sluice/plugin.h"

static int map(sluice_ctx *ctx, const sluice_block *b, void *p)
{
    (void)p;
    int64_t times = ctx->api->option_int(ctx, "times");
    for (size_t i = 0; i < b->len; i++) {
        size_t left = (size_t)times;
        while (left > 0) {
            size_t avail;
            /* Alternate small and big reserves. */
            size_t want = (i & 1) ? 1 : (left < 4096 ? left : 4096);
            unsigned char *out = sluice_reserve(ctx, want, &avail);
            if (!out)
                return -1;
            size_t n = left < avail ? left : avail;
            memset(out, b->data[i], n);
            sluice_commit(ctx, n);
            left -= n;
        }
    }
    return 0;
}

static const sluice_option opts[] = {
    {"times", SLUICE_OPT_INT, "40", "copies of each byte", NULL},
};

static const sluice_plugin desc = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "bigout",
    .version = "1",
    .description = "writes each byte many times (tests)",
    .license = "MIT",
    .caps = SLUICE_CAP_ORDERED,
    .options = opts,
    .n_options = 1,
    .map = map,
};

SLUICE_PLUGIN_DEFINE(desc)
