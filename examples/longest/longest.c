/*
 * longest.c -- example plugin: per input, its number of lines and the length
 * in bytes of its longest line.
 *
 * An aggregating plugin (SLUICE_CAP_MERGE): the host cuts an input into
 * pieces at arbitrary bytes, calls map on each piece in a worker, and merges
 * the pieces' partial results in input order.  A line can therefore start in
 * one piece and end in a later one, so a partial keeps, besides the longest
 * line it holds whole, the length of its first line (head: bytes before its
 * first newline) and of its last, unfinished one (tail: bytes after its last
 * newline).  Gluing two partials joins a's tail to b's head into one line.
 * With no newline in a piece, head and tail are both its whole length.  That
 * merge is associative and the all-zero partial is its identity, so any split
 * gives the one-pass result.
 *
 * "lines" counts newline characters, like wc -l; "longest" is in bytes, not
 * counting the newline, and includes a last line without one.
 *
 * Build against the installed SDK alone:
 *   cc -shared -fPIC $(pkg-config --cflags sluice-plugin) longest.c \
 *      -o longest.so
 */
#include <string.h>

#include <sluice/plugin.h>

typedef struct part {
    uint64_t lines;   /* newlines seen */
    uint64_t head;    /* bytes before the first newline (all, if none) */
    uint64_t tail;    /* bytes after the last newline (all, if none) */
    uint64_t longest; /* longest line between two newlines of this part */
} part;
_Static_assert(sizeof(part) <= SLUICE_MAX_PARTIAL_SIZE,
               "the host refuses larger partials");

static uint64_t max(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* into = into (+) next: next's bytes come right after into's. */
static void merge(const sluice_ctx *ctx, void *into, const void *next)
{
    part *a = into;
    const part *b = next;

    (void)ctx;
    if (a->lines > 0 && b->lines > 0)
        a->longest = max(a->longest, a->tail + b->head);
    a->longest = max(a->longest, b->longest);
    if (a->lines == 0)
        a->head += b->head;
    a->tail = b->lines > 0 ? b->tail : a->tail + b->tail;
    a->lines += b->lines;
}

/* Folds a block into the partial: the block's own partial, merged in. */
static int map(sluice_ctx *ctx, const sluice_block *b, void *partial)
{
    part blk = {0, 0, 0, 0};

    if (b->len == 0) /* the end of an input may come alone, data NULL */
        return 0;
    const unsigned char *p = b->data, *end = b->data + b->len;
    while (p < end) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        uint64_t len = (uint64_t)(nl - p);
        if (blk.lines == 0)
            blk.head = len;
        else
            blk.longest = max(blk.longest, len);
        blk.lines++;
        p = nl + 1;
    }
    blk.tail = (uint64_t)(end - p);
    if (blk.lines == 0)
        blk.head = blk.tail;
    merge(ctx, partial, &blk);
    return 0;
}

/* The whole input's partial: its first and last lines count too. */
static void counters(const sluice_ctx *ctx, const void *partial, uint64_t *out)
{
    const part *x = partial;

    (void)ctx;
    out[0] = x->lines;
    out[1] = max(x->longest, max(x->head, x->tail));
}

static const char *const counter_names[] = {"lines", "longest"};

static const sluice_plugin longest_plugin = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "longest",
    .version = "1.0",
    .description = "count lines and find the longest one (bytes)",
    .license = "MIT",
    .caps = SLUICE_CAP_MERGE,
    .partial_size = sizeof(part),
    .counter_names = counter_names,
    .n_counters = 2,
    .counters = counters,
    .map = map,
    .merge = merge,
};

SLUICE_PLUGIN_DEFINE(longest_plugin)
