/*
 * plugins/gzip/gzip.c -- the `gzip` plugin: parallel gzip compression.
 *
 * Every map call turns one whole unit (caps SLUICE_CAP_WHOLE_UNIT: a small
 * file, or one chunk_size range of a big one) into one independent gzip
 * member (RFC 1952).  Members concatenate into a stream that every gunzip
 * reads; each carries its own length in an FEXTRA subfield ('S','L', see
 * docs/gzip-format.md) so that our decoder can find member boundaries
 * without inflating, and split the work.  The output depends only on the
 * input, the level, the file's name and mtime, and the chunk size: never on
 * the number of workers.
 *
 * Member layout (all integers little-endian):
 *
 *   1f 8b 08 FLG MTIME(4) XFL OS=03
 *   XLEN=8 'S' 'L' LEN=4 MEMBER_SIZE(4)      FEXTRA, always
 *   basename NUL                             FNAME, first member of a file
 *   raw deflate of the unit                  libdeflate
 *   CRC32(4) ISIZE(4)
 *
 * Process model: global_init (coordinator) checks the level and stores the
 * options in this file's globals, which forked workers inherit.  Each worker
 * owns one libdeflate compressor in its state (made in worker_init, freed in
 * worker_fini).  map builds the member in place in the host's output area:
 * it compresses first, at the offset the header will need, then writes the
 * header, whose size field needs the compressed length.
 *
 * Options: level (1..12, default 6; gzip's meaning, 10..12 are libdeflate's
 * slower, stronger levels), no_name (bool: no FNAME and MTIME 0, gzip -n).
 */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <libdeflate.h>

#include "sluice/plugin.h"

#define GZ_FIXED 10    /* ID1 ID2 CM FLG MTIME(4) XFL OS */
#define GZ_EXTRA 10    /* XLEN(2) + SI1 SI2 LEN(2) + size(4) */
#define GZ_TRAILER 8   /* CRC32 ISIZE */
#define GZ_FEXTRA 0x04 /* FLG bits */
#define GZ_FNAME 0x08
#define GZ_OS_UNIX 3

typedef struct gz_config {
    int level;   /* the user's level, 1..12 (gzip's meaning up to 9) */
    int backend; /* the libdeflate level that keeps that meaning */
    int no_name; /* omit FNAME, MTIME 0 */
} gz_config;

typedef struct gz_state {
    struct libdeflate_compressor *c; /* this worker's compressor */
} gz_state;

static gz_config gz_cfg; /* set by global_init, read-only afterwards */

static const sluice_option gz_options[] = {
    {"level", SLUICE_OPT_INT, "6",
     "compression level 1 (fastest) .. 9 (best, as gzip) .. 12 (slowest)",
     NULL},
    {"no_name", SLUICE_OPT_BOOL, "false",
     "store neither the file name nor its mtime (gzip -n)", NULL},
};

static void put_le16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    put_le16(p, v & 0xffff);
    put_le16(p + 2, v >> 16);
}

/* gzip's level L -> the fastest libdeflate level whose 1 MiB members are
 * at least as small as gzip -L's output, measured on the benchmark corpus
 * (bench/corpus.sh text.tar; docs/gzip-format.md).  10..12 go beyond gzip. */
static const int backend_level[13] = {0, 1, 1, 1, 4, 5, 7, 8, 8, 8,
                                      10, 11, 12};

static int gz_global_init(sluice_ctx *ctx)
{
    int64_t level = ctx->api->option_int(ctx, "level");
    if (level < 1 || level > 12) {
        ctx->api->error(ctx, 0, UINT64_MAX,
                        "gzip: level %lld is out of range (1..12)",
                        (long long)level);
        return -1;
    }
    gz_cfg.level = (int)level;
    gz_cfg.backend = backend_level[level];
    gz_cfg.no_name = ctx->api->option_int(ctx, "no_name") > 0;
    ctx->global = &gz_cfg;
    return 0;
}

static int gz_worker_init(sluice_ctx *ctx)
{
    gz_state *s = ctx->state;
    s->c = libdeflate_alloc_compressor(gz_cfg.backend);
    if (!s->c) {
        ctx->api->error(ctx, 0, UINT64_MAX,
                        "gzip: cannot make a compressor at level %d",
                        gz_cfg.backend);
        return -1;
    }
    return 0;
}

static void gz_worker_fini(sluice_ctx *ctx)
{
    gz_state *s = ctx->state;
    libdeflate_free_compressor(s->c);
    s->c = NULL;
}

/* The name stored in FNAME: the last component of `path`; NULL for none
 * (stdin, or a path that ends in '/'). */
static const char *member_name(const char *path)
{
    if (!path || strcmp(path, "-") == 0)
        return NULL;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    return *base ? base : NULL;
}

/* The file's mtime in whole seconds for MTIME; 0 when unknown or when it
 * does not fit (RFC 1952: 0 means no time stamp). */
static uint32_t member_mtime(const char *path)
{
    struct stat st;
    if (!path || strcmp(path, "-") == 0 || stat(path, &st) != 0)
        return 0;
    if (st.st_mtime <= 0 || (uint64_t)st.st_mtime > UINT32_MAX)
        return 0;
    return (uint32_t)st.st_mtime;
}

/* XFL as gzip writes it: 2 at the best levels, 4 at the fastest. */
static unsigned char member_xfl(int level)
{
    if (level >= 9)
        return 2;
    if (level == 1)
        return 4;
    return 0;
}

static int gz_map(sluice_ctx *ctx, const sluice_block *block, void *partial)
{
    static const unsigned char none[1] = {0};
    gz_state *s = ctx->state;
    const void *in = block->len ? (const void *)block->data : none;
    int first = (block->flags & SLUICE_BLOCK_FILE_BEGIN) != 0;
    const char *name = NULL;
    uint32_t mtime = 0;

    (void)partial;
    if (first && !gz_cfg.no_name) {
        name = member_name(block->path);
        mtime = member_mtime(block->path);
    }
    size_t name_len = name ? strlen(name) + 1 : 0;
    size_t header = GZ_FIXED + GZ_EXTRA + name_len;
    size_t bound = libdeflate_deflate_compress_bound(s->c, block->len);
    size_t need = header + bound + GZ_TRAILER;
    size_t avail = 0;

    unsigned char *p = sluice_reserve(ctx, need, &avail);
    if (!p) {
        ctx->api->error(ctx, 0, block->offset,
                        "gzip: no room for a member of up to %zu bytes "
                        "(unit of %zu bytes)",
                        need, block->len);
        return -1;
    }
    size_t clen =
        libdeflate_deflate_compress(s->c, in, block->len, p + header, bound);
    if (clen == 0) { /* cannot happen with a buffer of the bound's size */
        ctx->api->error(ctx, 0, block->offset, "gzip: deflate failed");
        return -1;
    }
    size_t total = header + clen + GZ_TRAILER;
    if (total > UINT32_MAX) {
        ctx->api->error(ctx, 0, block->offset,
                        "gzip: member of %zu bytes is too large", total);
        return -1;
    }

    p[0] = 0x1f;
    p[1] = 0x8b;
    p[2] = 8; /* CM: deflate */
    p[3] = (unsigned char)(GZ_FEXTRA | (name ? GZ_FNAME : 0));
    put_le32(p + 4, mtime);
    p[8] = member_xfl(gz_cfg.level);
    p[9] = GZ_OS_UNIX;
    put_le16(p + 10, 8); /* XLEN */
    p[12] = 'S';
    p[13] = 'L';
    put_le16(p + 14, 4); /* LEN */
    put_le32(p + 16, (uint32_t)total);
    if (name)
        memcpy(p + GZ_FIXED + GZ_EXTRA, name, name_len);

    unsigned char *t = p + header + clen;
    put_le32(t, libdeflate_crc32(0, in, block->len));
    put_le32(t + 4, (uint32_t)block->len);
    sluice_commit(ctx, total);
    return 0;
}

static const sluice_plugin gz_plugin = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "gzip",
    .version = "1.0.0",
    .description = "compress to gzip: one independent member per unit, "
                   "each with its size in an FEXTRA subfield",
    .license = "MIT",
    .options = gz_options,
    .n_options = sizeof gz_options / sizeof gz_options[0],
    .caps = SLUICE_CAP_ORDERED | SLUICE_CAP_WHOLE_UNIT,
    .state_size = sizeof(gz_state),
    .partial_size = 0,
    .global_init = gz_global_init,
    .worker_init = gz_worker_init,
    .worker_fini = gz_worker_fini,
    .map = gz_map,
};

SLUICE_PLUGIN_DEFINE(gz_plugin)
