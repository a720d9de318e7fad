/*
 * upper.c -- example plugin: writes its input with ASCII letters upper-cased.
 *
 * A transforming plugin (SLUICE_CAP_ORDERED): workers transform pieces of
 * the input in parallel and write their output into shared memory through
 * the host (sluice_reserve, then sluice_commit); the host emits every
 * piece's output in input order, so the result is the same as one pass.
 * Only bytes 'a'..'z' change, so a piece may start or end anywhere, even
 * inside a UTF-8 character: other bytes pass through untouched.
 *
 * Build against the installed SDK alone:
 *   cc -shared -fPIC $(pkg-config --cflags sluice-plugin) upper.c -o upper.so
 */
#include <errno.h>

#include <sluice/plugin.h>

#define PIECE (64u * 1024u) /* bytes of output reserved at a time */
_Static_assert(PIECE <= SLUICE_MAX_RESERVE_SIZE,
               "reserve() gives no more at a time");

static int map(sluice_ctx *ctx, const sluice_block *b, void *partial)
{
    size_t done = 0;

    (void)partial;
    while (done < b->len) {
        size_t want = b->len - done < PIECE ? b->len - done : PIECE;
        size_t avail;
        unsigned char *out = sluice_reserve(ctx, want, &avail);
        if (!out) {
            ctx->api->error(ctx, ENOMEM, b->offset + done,
                            "no room for %zu bytes of output", want);
            return -1;
        }
        const unsigned char *in = b->data + done;
        for (size_t i = 0; i < want; i++)
            out[i] = in[i] >= 'a' && in[i] <= 'z' ? (unsigned char)(in[i] - 32)
                                                  : in[i];
        sluice_commit(ctx, want);
        done += want;
    }
    return 0;
}

static const sluice_plugin upper_plugin = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "upper",
    .version = "1.0",
    .description = "upper-case ASCII letters, output in input order",
    .license = "MIT",
    .caps = SLUICE_CAP_ORDERED,
    .map = map,
};

SLUICE_PLUGIN_DEFINE(upper_plugin)
