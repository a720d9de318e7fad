/*
 * plugins/gzip/gzip.c -- the `gzip` plugin: parallel gzip compression.
 *
 * Two output modes (docs/gzip-format.md has the byte-level details):
 *
 * Member mode (the default).  Every map call turns one whole unit (caps
 * SLUICE_CAP_WHOLE_UNIT: a small file, or one chunk_size range of a big one)
 * into one independent gzip member (RFC 1952).  Members concatenate into a
 * stream that every gunzip reads; each carries its own length in an FEXTRA
 * subfield ('S','L') so that our decoder can find member boundaries without
 * inflating, and split the work.  Member layout (little-endian):
 *
 *   1f 8b 08 FLG MTIME(4) XFL OS=03
 *   XLEN=8 'S' 'L' LEN=4 MEMBER_SIZE(4)      FEXTRA, always
 *   basename NUL                             FNAME, first member of a file
 *   raw deflate of the unit                  see "Backends"
 *   CRC32(4) ISIZE(4)
 *
 * Single mode (option single, pigz-style: one member per input).  Each unit
 * is raw deflate primed with the 32 KiB of input before it (the host passes
 * them in block->before: the descriptor's lookbehind) and ends in a sync
 * flush, so unit outputs are byte aligned, never final, and concatenate into
 * one deflate stream.  The unit that starts a file writes a plain gzip header
 * first.  The partial result is {CRC-32, length} of the unit's input, merged
 * with crc32_combine; the command appends the final empty block (03 00) and
 * the trailer from the merged counters "crc32" and "length".
 *
 * Backends, chosen per level at build time (meson options libdeflate, zlib;
 * HAVE_* defines): for each gzip level the fastest backend whose 1 MiB
 * members are at least as small as `gzip -L`'s output on the benchmark
 * corpus (bench/corpus.sh text.tar; table in docs/gzip-format.md):
 * libdeflate, and 10..12 beyond gzip; zlib when libdeflate is absent (levels
 * 1..9 only).  ISA-L, when built in, computes the CRC-32s; its compressor is
 * not used because its output was not deterministic (docs/gzip-format.md).
 * Single mode always uses zlib, whose deflate is the one that can continue
 * a stream from a dictionary.
 *
 * The output depends only on the input, the options and the file's name and
 * mtime: never on the run, the unit size or the number of workers.
 *
 * Process model: global_init (coordinator) checks the options and stores the
 * configuration in this file's globals, which forked workers inherit.  Each
 * worker owns its compressor (and ISA-L's level buffer) in its state, made
 * in worker_init and freed in worker_fini.  map builds a member in place in
 * the host's output area: it compresses first, at the offset the header will
 * need, then writes the header, whose size field needs the compressed
 * length.  merge and counters (coordinator) only do CRC arithmetic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(HAVE_LIBDEFLATE)
#include <libdeflate.h>
#endif
#if defined(HAVE_ISAL)
#include <isa-l/crc.h>
#endif
#if defined(HAVE_ZLIB)
#include <zlib.h>
#endif
#if !defined(HAVE_LIBDEFLATE) && !defined(HAVE_ZLIB)
#error "the gzip plugin needs libdeflate or zlib"
#endif

#include "gzip-format.h"
#include "sluice/plugin.h"

#define GZ_MEMBER ((uint64_t)1 << 20) /* input bytes per member */
#define GZ_EXTRA 10                   /* XLEN(2) + SI1 SI2 LEN(2) + size(4) */
#define GZ_WINDOW 32768u /* deflate's window: single mode's lookbehind */

#if defined(HAVE_LIBDEFLATE)
#define GZ_MAX_LEVEL 12
#else
#define GZ_MAX_LEVEL 9
#endif

/* ------------------------------------------------------------ backends */

enum gz_backend {
    GZ_LIBDEFLATE = 1,
    GZ_ZLIB = 3,
};

/* How one gzip level is compressed. */
typedef struct gz_route {
    int backend; /* GZ_* */
    int level;   /* the backend's own level */
} gz_route;

#if defined(HAVE_LIBDEFLATE)
/* gzip's level L -> the fastest libdeflate level whose 1 MiB members are at
 * least as small as gzip -L's output on the benchmark corpus.  10..12 go
 * beyond gzip. */
static const int libdeflate_level[13] = {0, 1, 1, 1,  4,  5, 7,
                                         8, 8, 8, 10, 11, 12};
#else
/* The same for zlib, whose levels are gzip's own algorithm but lose some
 * ratio to the window restarting every 1 MiB: each gzip level takes the
 * next zlib level up.  gzip -8 and -9 stay out of reach (zlib 9 is 0.3%
 * larger than gzip -8 on the corpus): they get zlib's best. */
static const int zlib_level[10] = {0, 2, 3, 4, 5, 6, 7, 8, 9, 9};
#endif

/* zlib's memLevel: 8 as gzip's hash (15 bits), as pigz. */
#define GZ_ZLIB_MEMLEVEL 8

static gz_route route_for(int level)
{
#if defined(HAVE_LIBDEFLATE)
    return (gz_route){GZ_LIBDEFLATE, libdeflate_level[level]};
#else
    return (gz_route){GZ_ZLIB, zlib_level[level]};
#endif
}

/* ------------------------------------------------------------- state */

typedef struct gz_config {
    int level;      /* the user's level, 1..12 (gzip's meaning up to 9) */
    gz_route route; /* how member mode compresses it */
    int no_name;    /* omit FNAME, MTIME 0 */
    int single;     /* one member per input (zlib, lookbehind) */
} gz_config;

typedef struct gz_state {
#if defined(HAVE_LIBDEFLATE)
    struct libdeflate_compressor *ld; /* GZ_LIBDEFLATE */
#endif
#if defined(HAVE_ZLIB)
    z_stream z;  /* GZ_ZLIB and single mode: raw deflate */
    int z_ready; /* z was deflateInit2()ed */
#endif
} gz_state;

/* The partial result: what the unit's bytes contribute to the trailer of a
 * single-mode member.  Plain data; the zero bytes are the identity. */
typedef struct gz_partial {
    uint64_t length; /* input bytes */
    uint32_t crc32;  /* their CRC-32 */
    uint32_t pad;    /* zero */
} gz_partial;

static gz_config gz_cfg; /* set by global_init, read-only afterwards */

static const sluice_option gz_options[] = {
    {"level", SLUICE_OPT_INT, "6",
     "compression level 1 (fastest) .. 9 (best, as gzip) .. 12 (slowest)",
     NULL},
    {"no_name", SLUICE_OPT_BOOL, "false",
     "store neither the file name nor its mtime (gzip -n)", NULL},
    {"single", SLUICE_OPT_BOOL, "false",
     "one gzip member per input, as pigz (zlib, levels 1..9)", NULL},
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

static uint32_t gz_crc32(const void *p, size_t n)
{
#if defined(HAVE_ISAL) /* 3x libdeflate's speed with AVX-512 */
    return crc32_gzip_refl(0, p, (uint64_t)n);
#elif defined(HAVE_LIBDEFLATE)
    return libdeflate_crc32(0, p, n);
#else
    uint32_t crc = 0;
    const unsigned char *b = p;
    while (n > 0) { /* zlib takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
#endif
}

/* ------------------------------------------------------- lifecycle */

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
    gz_cfg.no_name = ctx->api->option_int(ctx, "no_name") > 0;
    gz_cfg.single = ctx->api->option_int(ctx, "single") > 0;
    if (gz_cfg.single) {
#if defined(HAVE_ZLIB)
        if (level > 9) {
            ctx->api->error(ctx, 0, UINT64_MAX,
                            "gzip: level %lld is not available with single "
                            "(one member per input: levels 1..9)",
                            (long long)level);
            return -1;
        }
#else
        ctx->api->error(ctx, 0, UINT64_MAX,
                        "gzip: single (one member per input) needs zlib; "
                        "this gzip plugin was built without it");
        return -1;
#endif
    } else if (level > GZ_MAX_LEVEL) {
        ctx->api->error(ctx, 0, UINT64_MAX,
                        "gzip: level %lld needs libdeflate; this gzip plugin "
                        "was built without it (levels 1..%d)",
                        (long long)level, GZ_MAX_LEVEL);
        return -1;
    }
    gz_cfg.route = route_for(gz_cfg.level);
    ctx->global = &gz_cfg;
    return 0;
}

static int gz_worker_init(sluice_ctx *ctx)
{
    gz_state *s = ctx->state;
    const char *what = NULL;

#if defined(HAVE_ZLIB)
    if (gz_cfg.single || gz_cfg.route.backend == GZ_ZLIB) {
        int lv = gz_cfg.single ? gz_cfg.level : gz_cfg.route.level;
        memset(&s->z, 0, sizeof s->z);
        if (deflateInit2(&s->z, lv, Z_DEFLATED, -15, GZ_ZLIB_MEMLEVEL,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            what = "zlib";
        else
            s->z_ready = 1;
    }
#endif
    if (!gz_cfg.single) {
        switch (gz_cfg.route.backend) {
#if defined(HAVE_LIBDEFLATE)
        case GZ_LIBDEFLATE:
            s->ld = libdeflate_alloc_compressor(gz_cfg.route.level);
            if (!s->ld)
                what = "libdeflate";
            break;
#endif
        default:
            break;
        }
    }
    if (what) {
        ctx->api->error(ctx, 0, UINT64_MAX,
                        "gzip: cannot make a %s compressor at level %d", what,
                        gz_cfg.single ? gz_cfg.level : gz_cfg.route.level);
        return -1;
    }
    return 0;
}

static void gz_worker_fini(sluice_ctx *ctx)
{
    gz_state *s = ctx->state;
#if defined(HAVE_LIBDEFLATE)
    libdeflate_free_compressor(s->ld);
    s->ld = NULL;
#endif
#if defined(HAVE_ZLIB)
    if (s->z_ready)
        deflateEnd(&s->z);
    s->z_ready = 0;
#endif
}

/* ---------------------------------------------------------- headers */

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

/* Writes the 10 fixed header bytes. */
static void put_header(unsigned char *p, unsigned flg, uint32_t mtime)
{
    p[0] = 0x1f;
    p[1] = 0x8b;
    p[2] = 8; /* CM: deflate */
    p[3] = (unsigned char)flg;
    put_le32(p + 4, mtime);
    p[8] = member_xfl(gz_cfg.level);
    p[9] = GZ_OS_UNIX;
}

/* ------------------------------------------------------ member mode */

/* The most bytes the raw deflate of n bytes can take with this route. */
static size_t deflate_bound(gz_state *s, size_t n)
{
    switch (gz_cfg.route.backend) {
#if defined(HAVE_LIBDEFLATE)
    case GZ_LIBDEFLATE:
        return libdeflate_deflate_compress_bound(s->ld, n);
#endif
#if defined(HAVE_ZLIB)
    case GZ_ZLIB:
        return (size_t)deflateBound(&s->z, (uLong)n);
#endif
    default:
        return 0;
    }
}

/* Raw deflate of in[0..n) into out[0..cap); the compressed size, 0 on
 * failure. */
static size_t deflate_raw(gz_state *s, const unsigned char *in, size_t n,
                          unsigned char *out, size_t cap)
{
    switch (gz_cfg.route.backend) {
#if defined(HAVE_LIBDEFLATE)
    case GZ_LIBDEFLATE:
        return libdeflate_deflate_compress(s->ld, in, n, out, cap);
#endif
#if defined(HAVE_ZLIB)
    case GZ_ZLIB:
        if (n > UINT32_MAX || cap > UINT32_MAX || deflateReset(&s->z) != Z_OK)
            return 0;
        s->z.next_in = (Bytef *)(uintptr_t)in; /* zlib does not write it */
        s->z.avail_in = (uInt)n;
        s->z.next_out = out;
        s->z.avail_out = (uInt)cap;
        if (deflate(&s->z, Z_FINISH) != Z_STREAM_END)
            return 0;
        return (size_t)s->z.total_out;
#endif
    default:
        return 0;
    }
}

/* FNAME and MTIME for the member that starts `block`'s input (NULL and 0
 * for any other member, and with no_name). */
static const char *header_name(const sluice_block *block, uint32_t *mtime)
{
    *mtime = 0;
    if (!(block->flags & SLUICE_BLOCK_FILE_BEGIN) || gz_cfg.no_name)
        return NULL;
    *mtime = member_mtime(block->path);
    return member_name(block->path);
}

static int map_member(sluice_ctx *ctx, const sluice_block *block, uint32_t crc)
{
    static const unsigned char none[1] = {0};
    gz_state *s = ctx->state;
    const unsigned char *in = block->len ? block->data : none;
    uint32_t mtime = 0;
    const char *name = header_name(block, &mtime);
    size_t name_len = name ? strlen(name) + 1 : 0;
    size_t header = GZ_FIXED + GZ_EXTRA + name_len;
    size_t bound = deflate_bound(s, block->len);
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
    size_t clen = deflate_raw(s, in, block->len, p + header, bound);
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

    put_header(p, GZ_FEXTRA | (name ? GZ_FNAME : 0), mtime);
    put_le16(p + 10, 8); /* XLEN */
    p[12] = 'S';
    p[13] = 'L';
    put_le16(p + 14, 4); /* LEN */
    put_le32(p + 16, (uint32_t)total);
    if (name)
        memcpy(p + GZ_FIXED + GZ_EXTRA, name, name_len);

    unsigned char *t = p + header + clen;
    put_le32(t, crc);
    put_le32(t + 4, (uint32_t)block->len);
    sluice_commit(ctx, total);
    return 0;
}

/* ------------------------------------------------------ single mode */

#if defined(HAVE_ZLIB)
/* One unit of a single-member stream: [plain header at the file's start]
 * raw deflate primed with block->before, ended by a sync flush. */
static int map_single(sluice_ctx *ctx, const sluice_block *block)
{
    static const unsigned char none[1] = {0};
    gz_state *s = ctx->state;
    const unsigned char *in = block->len ? block->data : none;
    int first = (block->flags & SLUICE_BLOCK_FILE_BEGIN) != 0;
    uint32_t mtime = 0;
    const char *name = header_name(block, &mtime);
    size_t name_len = name ? strlen(name) + 1 : 0;
    size_t header = first ? GZ_FIXED + name_len : 0;
    /* deflateBound covers a finished stream; a sync flush adds an empty
     * stored block (at most 6 bytes with the bits before it) */
    size_t bound = (size_t)deflateBound(&s->z, (uLong)block->len) + 16;
    size_t need = header + bound;
    size_t avail = 0;

    if (block->len > UINT32_MAX || bound > UINT32_MAX) {
        ctx->api->error(ctx, 0, block->offset,
                        "gzip: unit of %zu bytes is too large", block->len);
        return -1;
    }
    unsigned char *p = sluice_reserve(ctx, need, &avail);
    if (!p) {
        ctx->api->error(ctx, 0, block->offset,
                        "gzip: no room for up to %zu bytes of output "
                        "(unit of %zu bytes)",
                        need, block->len);
        return -1;
    }
    int rc = deflateReset(&s->z);
    if (rc == Z_OK && block->before_len > 0) {
        size_t dn =
            block->before_len < GZ_WINDOW ? block->before_len : GZ_WINDOW;
        rc = deflateSetDictionary(&s->z, block->before + block->before_len - dn,
                                  (uInt)dn);
    }
    if (rc == Z_OK) {
        s->z.next_in = (Bytef *)(uintptr_t)in; /* zlib does not write it */
        s->z.avail_in = (uInt)block->len;
        s->z.next_out = p + header;
        s->z.avail_out = (uInt)bound;
        rc = deflate(&s->z, Z_SYNC_FLUSH);
        /* all input taken and room left: the flush is complete */
        if (rc == Z_OK && (s->z.avail_in != 0 || s->z.avail_out == 0))
            rc = Z_BUF_ERROR;
    }
    if (rc != Z_OK) {
        ctx->api->error(ctx, 0, block->offset, "gzip: deflate failed (%d)", rc);
        return -1;
    }
    if (first) {
        put_header(p, name ? GZ_FNAME : 0, mtime);
        if (name)
            memcpy(p + GZ_FIXED, name, name_len);
    }
    sluice_commit(ctx, header + (size_t)s->z.total_out);
    return 0;
}
#endif

/* ---------------------------------------------------- map and merge */

/* Member mode: a unit of at most GZ_MEMBER bytes is one member; a longer
 * one (a range of a file, or a whole file) is cut at multiples of
 * GZ_MEMBER counted from the input's start, so the members are the same
 * whatever the unit size and the number of workers.  Fewer, larger units
 * cost the engine fewer mappings and wake-ups. */
static int map_members(sluice_ctx *ctx, const sluice_block *block,
                       uint32_t *crc)
{
    static const unsigned char none[1] = {0};
    if (block->len <= GZ_MEMBER) {
        *crc = gz_crc32(block->len ? block->data : none, block->len);
        return map_member(ctx, block, *crc);
    }
    size_t off = 0;
    while (off < block->len) {
        sluice_block piece = *block;
        uint64_t at = block->offset + off;
        size_t n = (size_t)(GZ_MEMBER - at % GZ_MEMBER);
        if (n > block->len - off)
            n = block->len - off;
        piece.data = block->data + off;
        piece.len = n;
        piece.offset = at;
        if (off)
            piece.flags &= ~(uint32_t)SLUICE_BLOCK_FILE_BEGIN;
        uint32_t c = gz_crc32(piece.data, n);
        int rc = map_member(ctx, &piece, c);
        if (rc != 0)
            return rc;
#if defined(HAVE_ZLIB)
        *crc = off ? (uint32_t)crc32_combine(*crc, c, (z_off_t)n) : c;
#else
        *crc = c;
#endif
        off += n;
    }
    return 0;
}

static int gz_map(sluice_ctx *ctx, const sluice_block *block, void *partial)
{
    uint32_t crc = 0;
    int rc;

#if defined(HAVE_ZLIB)
    if (gz_cfg.single) {
        static const unsigned char none[1] = {0};
        crc = gz_crc32(block->len ? block->data : none, block->len);
        rc = map_single(ctx, block);
    } else
#endif
        rc = map_members(ctx, block, &crc);
    if (rc != 0)
        return rc;
#if defined(HAVE_ZLIB)
    /* one map call per unit (SLUICE_CAP_WHOLE_UNIT); fold all the same */
    gz_partial *acc = partial;
    gz_partial piece = {block->len, crc, 0};
    acc->crc32 =
        (uint32_t)crc32_combine(acc->crc32, piece.crc32, (z_off_t)piece.length);
    acc->length += piece.length;
#else
    (void)partial;
#endif
    return 0;
}

#if defined(HAVE_ZLIB)
static const char *const gz_counter_names[] = {"crc32", "length"};

static void gz_merge(const sluice_ctx *ctx, void *into, const void *next)
{
    gz_partial *a = into;
    const gz_partial *b = next;
    (void)ctx;
    a->crc32 = (uint32_t)crc32_combine(a->crc32, b->crc32, (z_off_t)b->length);
    a->length += b->length;
}

static void gz_counters(const sluice_ctx *ctx, const void *partial,
                        uint64_t *out)
{
    const gz_partial *p = partial;
    (void)ctx;
    out[0] = p->crc32;
    out[1] = p->length;
}
#endif

static const sluice_plugin gz_plugin = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "gzip",
    .version = "1.1.0",
    .description = "compress to gzip: one independent member per unit, "
                   "each with its size in an FEXTRA subfield "
                   "(or one member per input: single)",
    .license = "MIT",
    .options = gz_options,
    .n_options = sizeof gz_options / sizeof gz_options[0],
#if defined(HAVE_ZLIB)
    .caps = SLUICE_CAP_ORDERED | SLUICE_CAP_WHOLE_UNIT | SLUICE_CAP_MERGE,
    .partial_size = sizeof(gz_partial),
    .counter_names = gz_counter_names,
    .n_counters = sizeof gz_counter_names / sizeof gz_counter_names[0],
    .counters = gz_counters,
    .merge = gz_merge,
#else
    .caps = SLUICE_CAP_ORDERED | SLUICE_CAP_WHOLE_UNIT,
    .partial_size = 0,
#endif
    .state_size = sizeof(gz_state),
    .global_init = gz_global_init,
    .worker_init = gz_worker_init,
    .worker_fini = gz_worker_fini,
    .map = gz_map,
    .lookbehind = GZ_WINDOW,
};

SLUICE_PLUGIN_DEFINE(gz_plugin)
