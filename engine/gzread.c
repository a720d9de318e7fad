/*
 * gzread.c -- a pull-based gzip decoder that checks everything (gzread.h).
 *
 * Used by archive.c for the gzip layer of .tar.gz and the like: libarchive's
 * own gzip filter never checks a trailer, so a corrupt archive could come
 * out as silent wrong data.  Here every member's header (method 8, no
 * reserved or encryption flag, FHCRC when present), CRC-32 and ISIZE are
 * checked, and errors carry gzip's wording and a byte offset.
 *
 * What the stream must look like (RFC 1952, read strictly):
 *   - one or more members, all decoded (concatenation is gzip's rule);
 *   - then the end, or zero bytes up to the end (gzip ignores those too);
 *   - anything else after a member is "trailing garbage after compressed
 *     data", where gzip would only warn; zeros followed by something else
 *     are garbage too, reported where the zeros begin.
 *   - an empty input is "unexpected end of file" at offset 0, as gzip says
 *     for an empty .gz; so is a stream that ends inside a magic number
 *     (a lone 0x1f).  Two bytes that are not a gzip magic at the start are
 *     "not in gzip format" (a lone byte other than 0x1f too, where gzip
 *     would say "unexpected end of file").  The old magic 1f 9e that gzip
 *     still reads is accepted like 1f 8b.
 *
 * Decoding: the header and trailer are parsed here, the deflate data goes
 * to ISA-L (HAVE_ISAL: isal_inflate with ISAL_GZIP_NO_HDR, which computes
 * the CRC-32 but leaves the trailer alone) or else zlib (HAVE_ZLIB: raw
 * inflate, CRC-32 by crc32()).  Everything around the inflate call is
 * shared, so both builds check the same things.  Without either,
 * sluice__gzr_new() returns SLUICE_EINVAL.
 *
 * Input: one buffer of GZR_IN_SIZE bytes plus GZR_HEAD bytes in front.  A
 * refill moves the unread bytes, and the GZR_KEEP bytes before them, to the
 * front and pulls after them.  The kept bytes matter for ISA-L: it loads
 * input 8 bytes at a time into a bit buffer (read_in), so when a deflate
 * stream ends, the whole bytes still in read_in (read_in_length / 8) belong
 * to the trailer, and they may have been pulled before the last refill.
 * Because they are still in the buffer just before next_in, the trailer is
 * parsed from there.  (ISA-L 2.30 was not seen to stop for input with whole
 * bytes from an earlier call still unused, so in practice they come from
 * the last pull; nothing in its API promises that, hence the kept bytes.)
 * zlib never reads past the end of the deflate data.
 *
 * Memory: the state (with the inflate state in it) and the input buffer,
 * allocated by sluice__gzr_new(); nothing per read.  zlib allocates its
 * window on the first inflate() and keeps it across members.
 *
 * Threads: a decoder belongs to one thread at a time.
 */
#include "gzread.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#elif defined(HAVE_ZLIB)
#include <zlib.h>
#endif

#include "gzip-format.h"
#include "sluice/sluice.h"

#if defined(HAVE_ISAL) || defined(HAVE_ZLIB)
#define GZR_CAN_DECODE 1
#endif

#define GZR_IN_SIZE ((size_t)256 << 10) /* bytes per pull */
#define GZR_KEEP 16 /* bytes kept before the unread ones (ISA-L: <= 8) */
#define GZR_HEAD 64 /* room in front: kept plus unread bytes at a refill */
#define GZR_OUT_MAX ((size_t)1 << 30) /* output per read (32-bit counts) */

enum gzr_phase {
    GZR_START,  /* between members (or before the first) */
    GZR_BODY,   /* in a member's deflate data */
    GZR_END,    /* the end was reached and checked */
    GZR_FAILED, /* err says why */
};

struct sluice__gzr {
    sluice__pull_fn pull; /* the compressed bytes */
    void *arg;            /* its argument */
    unsigned char *in;    /* GZR_HEAD + GZR_IN_SIZE bytes */
    size_t pos;           /* next byte of in to parse or inflate */
    size_t len;           /* bytes of in that are valid */
    uint64_t in_off;      /* offset of in[0] in the compressed stream */
    int eof;              /* pull returned 0: never call it again */
    int phase;            /* enum gzr_phase */
    uint64_t members;     /* members decoded and checked */
    uint64_t m_start;     /* offset of the current member's first byte */
    uint64_t m_out;       /* bytes the current member decoded to so far */
    uint64_t out_bytes;   /* bytes decoded, all members */
    int err;              /* the code read returns after a failure */
    uint64_t err_off;     /* where the error was found */
    char msg[96];         /* its message */
#ifdef HAVE_ISAL
    struct inflate_state isal; /* reset for each member */
#elif defined(HAVE_ZLIB)
    uint32_t crc; /* CRC-32 of the current member's output so far */
    int zs_ready; /* inflateInit2 done */
    z_stream zs;  /* raw inflate, reset for each member */
#endif
};

/* ------------------------------------------------------------- helpers */

#ifdef GZR_CAN_DECODE
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t gzr_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
#ifdef HAVE_ISAL
    return crc32_gzip_refl(crc, p, n);
#else
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
#endif
}

static int gzr_fail(sluice__gzr *z, int code, uint64_t off, const char *fmt,
                    ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Records the first error; every later read returns `code`. */
static int gzr_fail(sluice__gzr *z, int code, uint64_t off, const char *fmt,
                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(z->msg, sizeof z->msg, fmt, ap);
    va_end(ap);
    z->err = code;
    z->err_off = off;
    z->phase = GZR_FAILED;
    return code;
}

static uint64_t in_end(const sluice__gzr *z)
{
    return z->in_off + z->len;
}

/* Pulls more input after the unread bytes, keeping GZR_KEEP bytes before
 * them.  Returns 1 when bytes came, 0 at the end of the input, or a
 * negative code after recording the error. */
static int fill(sluice__gzr *z)
{
    if (z->eof)
        return 0;
    size_t from = z->pos > GZR_KEEP ? z->pos - GZR_KEEP : 0;
    if (from > 0) {
        memmove(z->in, z->in + from, z->len - from);
        z->in_off += from;
        z->pos -= from;
        z->len -= from;
    }
    size_t room = GZR_HEAD + GZR_IN_SIZE - z->len;
    if (room > GZR_IN_SIZE)
        room = GZR_IN_SIZE;
    if (room == 0) /* only an inflate that takes nothing could get here */
        return gzr_fail(z, SLUICE_EINPUT, z->in_off + z->pos, MSG_FORMAT);
    ssize_t r = z->pull(z->arg, z->in + z->len, room);
    if (r == 0) {
        z->eof = 1;
        return 0;
    }
    if (r < 0) {
        int e = r < -4095 ? EIO : (int)-r;
        return gzr_fail(z, -e, in_end(z), "%s", strerror(e));
    }
    if ((size_t)r > room)
        return gzr_fail(z, SLUICE_EINVAL, in_end(z),
                        "read more bytes than asked for");
    z->len += (size_t)r;
    return 1;
}

/* Makes k bytes available at pos.  1, 0 at the end of the input, or < 0. */
static int need(sluice__gzr *z, size_t k)
{
    while (z->len - z->pos < k) {
        int r = fill(z);
        if (r <= 0)
            return r;
    }
    return 1;
}

/* need(), where the end of the input is an error. */
static int must(sluice__gzr *z, size_t k)
{
    int r = need(z, k);
    if (r == 0)
        return gzr_fail(z, SLUICE_EINPUT, in_end(z), MSG_EOF);
    return r < 0 ? r : 0;
}

/* ---------------------------------------------------------- the header */

/* Skips k header bytes, adding them to *crc.  0 or < 0. */
static int skip(sluice__gzr *z, size_t k, uint32_t *crc)
{
    while (k > 0) {
        int r = must(z, 1);
        if (r < 0)
            return r;
        size_t m = z->len - z->pos < k ? z->len - z->pos : k;
        *crc = gzr_crc32(*crc, z->in + z->pos, m);
        z->pos += m;
        k -= m;
    }
    return 0;
}

/* Skips a NUL-terminated field, adding it to *crc.  0 or < 0. */
static int skip_string(sluice__gzr *z, uint32_t *crc)
{
    for (;;) {
        int r = must(z, 1);
        if (r < 0)
            return r;
        const unsigned char *p = z->in + z->pos;
        const unsigned char *nul = memchr(p, 0, z->len - z->pos);
        size_t m = nul ? (size_t)(nul - p) + 1 : z->len - z->pos;
        *crc = gzr_crc32(*crc, p, m);
        z->pos += m;
        if (nul)
            return 0;
    }
}

/* Reads the header of the member at pos (its magic is there) and gets the
 * inflate state ready.  0 or < 0. */
static int read_header(sluice__gzr *z)
{
    uint64_t at = z->in_off + z->pos;
    int r;
    /* Checked in gzip's order, as soon as the byte is there. */
    if ((r = must(z, 3)) < 0)
        return r;
    unsigned method = z->in[z->pos + 2];
    if (method != GZ_DEFLATED)
        return gzr_fail(z, SLUICE_EINPUT, at,
                        "unknown method %u -- not supported", method);
    if ((r = must(z, 4)) < 0)
        return r;
    unsigned flg = z->in[z->pos + 3];
    if (flg & GZ_FENCRYPTED)
        return gzr_fail(z, SLUICE_EINPUT, at, "is encrypted -- not supported");
    if (flg & GZ_FRESERVED)
        return gzr_fail(z, SLUICE_EINPUT, at, "has flags 0x%x -- not supported",
                        flg);
    if ((r = must(z, GZ_FIXED)) < 0)
        return r;
    uint32_t crc = gzr_crc32(0, z->in + z->pos, GZ_FIXED);
    z->pos += GZ_FIXED;
    if (flg & GZ_FEXTRA) {
        if ((r = must(z, 2)) < 0)
            return r;
        size_t xlen = (size_t)z->in[z->pos] | (size_t)z->in[z->pos + 1] << 8;
        crc = gzr_crc32(crc, z->in + z->pos, 2);
        z->pos += 2;
        if ((r = skip(z, xlen, &crc)) < 0)
            return r;
    }
    if ((flg & GZ_FNAME) && (r = skip_string(z, &crc)) < 0)
        return r;
    if ((flg & GZ_FCOMMENT) && (r = skip_string(z, &crc)) < 0)
        return r;
    if (flg & GZ_FHCRC) {
        if ((r = must(z, 2)) < 0)
            return r;
        unsigned want = (unsigned)z->in[z->pos] | (unsigned)z->in[z->pos + 1]
                                                      << 8;
        if (want != (crc & 0xffff))
            return gzr_fail(z, SLUICE_EINPUT, at,
                            "header checksum 0x%04x != computed checksum "
                            "0x%04x",
                            want, (unsigned)(crc & 0xffff));
        z->pos += 2;
    }
    z->m_start = at;
    z->m_out = 0;
#ifdef HAVE_ISAL
    isal_inflate_reset(&z->isal);
    z->isal.crc_flag = ISAL_GZIP_NO_HDR;
    z->isal.hist_bits = 0; /* the default: 32 KiB */
#else
    z->crc = 0;
    if (inflateReset(&z->zs) != Z_OK)
        return gzr_fail(z, SLUICE_EINVAL, at, "zlib: inflateReset failed");
#endif
    z->phase = GZR_BODY;
    return 0;
}

/* Between members: a header, the end (possibly after zero bytes), or an
 * error.  Returns 1 for a member (header read), 0 for the end, or < 0. */
static int next_member(sluice__gzr *z)
{
    uint64_t at = z->in_off + z->pos;
    int r = need(z, 1);
    if (r < 0)
        return r;
    if (r == 0) {
        if (z->members == 0) /* an empty input */
            return gzr_fail(z, SLUICE_EINPUT, at, MSG_EOF);
        return 0;
    }
    unsigned char b = z->in[z->pos];
    if (b == GZ_ID1) {
        if ((r = must(z, 2)) < 0)
            return r;
        b = z->in[z->pos + 1];
        if (b == GZ_ID2 || b == GZ_ID2_OLD)
            return read_header(z) < 0 ? z->err : 1;
    } else if (b == 0 && z->members > 0) {
        for (;;) {
            while (z->pos < z->len && z->in[z->pos] == 0)
                z->pos++;
            if (z->pos < z->len)
                break;
            if ((r = fill(z)) < 0)
                return r;
            if (r == 0)
                return 0; /* zeros to the end: ignored */
        }
    }
    if (z->members == 0)
        return gzr_fail(z, SLUICE_EINPUT, at, MSG_NOT_GZIP);
    return gzr_fail(z, SLUICE_EINPUT, at, MSG_GARBAGE);
}

/* ------------------------------------------------------ the deflate data */

/* The trailer of the member whose deflate data ended at pos. */
static int read_trailer(sluice__gzr *z, uint32_t crc)
{
    int r = must(z, GZ_TRAILER);
    if (r < 0)
        return r;
    const unsigned char *t = z->in + z->pos;
    if (le32(t) != crc)
        return gzr_fail(z, SLUICE_EINPUT, z->m_start, MSG_CRC);
    if (le32(t + 4) != (uint32_t)z->m_out)
        return gzr_fail(z, SLUICE_EINPUT, z->m_start, MSG_LENGTH);
    z->pos += GZ_TRAILER;
    z->members++;
    z->phase = GZR_START;
    return 0;
}

/* One inflate call on in[pos..len) into out[0..n).  Sets *got, moves pos,
 * counts the output.  Returns 1 when the deflate data ended (pos then at
 * its first byte after it, *crc the member's CRC-32), 0, or < 0. */
static int inflate_step(sluice__gzr *z, unsigned char *out, size_t n,
                        size_t *got, uint32_t *crc)
{
#ifdef HAVE_ISAL
    struct inflate_state *s = &z->isal;
    s->next_in = z->in + z->pos;
    s->avail_in = (uint32_t)(z->len - z->pos);
    s->next_out = out;
    s->avail_out = (uint32_t)n;
    int rc = isal_inflate(s);
    *got = n - s->avail_out;
    z->pos = (size_t)(s->next_in - z->in);
    z->m_out += *got;
    z->out_bytes += *got;
    /* Whole bytes in ISA-L's bit buffer were loaded but not decoded. */
    size_t ahead = s->read_in_length > 0 ? (size_t)s->read_in_length / 8 : 0;
    assert(ahead <= GZR_KEEP && ahead <= z->pos); /* read_in: 64 bits */
    if (rc < 0)
        return gzr_fail(z, SLUICE_EINPUT, z->in_off + z->pos - ahead,
                        MSG_FORMAT);
    if (s->block_state == ISAL_BLOCK_FINISH) {
        z->pos -= ahead;
        *crc = s->crc;
        return 1;
    }
    return 0;
#else
    z_stream *s = &z->zs;
    s->next_in = z->in + z->pos;
    s->avail_in = (uInt)(z->len - z->pos);
    s->next_out = out;
    s->avail_out = (uInt)n;
    int rc = inflate(s, Z_NO_FLUSH);
    *got = n - s->avail_out;
    z->pos = (size_t)(s->next_in - z->in);
    z->m_out += *got;
    z->out_bytes += *got;
    z->crc = gzr_crc32(z->crc, out, *got);
    if (rc == Z_STREAM_END) {
        *crc = z->crc;
        return 1;
    }
    if (rc == Z_MEM_ERROR)
        return gzr_fail(z, SLUICE_ENOMEM, z->in_off + z->pos, "%s",
                        sluice_strerror(SLUICE_ENOMEM));
    if (rc != Z_OK && rc != Z_BUF_ERROR)
        return gzr_fail(z, SLUICE_EINPUT, z->in_off + z->pos, MSG_FORMAT);
    return 0;
#endif
}

/* Decodes the current member into buf[0..n) until the buffer is full, the
 * member ends (its trailer is then checked too), or more input is needed
 * when some output is there already.  Adds to *got.  0 or < 0. */
static int body(sluice__gzr *z, unsigned char *buf, size_t n, size_t *got)
{
    while (*got < n) {
        size_t before = z->pos, step = 0;
        uint32_t crc = 0;
        int r = inflate_step(z, buf + *got, n - *got, &step, &crc);
        if (r < 0)
            return r;
        *got += step;
        if (r == 1)
            return read_trailer(z, crc);
        if (*got == n)
            break;
        /* Short of input (or stuck on what is there: more may help). */
        if (z->pos < z->len && (z->pos != before || step != 0))
            continue;
        if (*got > 0)
            break; /* hand out what is there before blocking on a pull */
        if ((r = fill(z)) < 0)
            return r;
        if (r == 0)
            return gzr_fail(z, SLUICE_EINPUT, in_end(z), MSG_EOF);
    }
    return 0;
}

#endif /* GZR_CAN_DECODE */

/* ------------------------------------------------------------ the API */

int sluice__gzr_new(sluice__pull_fn pull, void *arg, sluice__gzr **out)
{
    *out = NULL;
#ifndef GZR_CAN_DECODE
    (void)pull;
    (void)arg;
    return SLUICE_EINVAL;
#else
    sluice__gzr *z = calloc(1, sizeof *z);
    if (!z)
        return SLUICE_ENOMEM;
    z->pull = pull;
    z->arg = arg;
    z->in = malloc(GZR_HEAD + GZR_IN_SIZE);
    if (!z->in)
        goto fail;
#ifdef HAVE_ISAL
    isal_inflate_init(&z->isal);
#else
    if (inflateInit2(&z->zs, -15) != Z_OK)
        goto fail;
    z->zs_ready = 1;
#endif
    *out = z;
    return 0;
fail:
    sluice__gzr_free(z);
    return SLUICE_ENOMEM;
#endif
}

ssize_t sluice__gzr_read(sluice__gzr *z, void *buf, size_t n)
{
#ifndef GZR_CAN_DECODE
    (void)z;
    (void)buf;
    (void)n;
    return SLUICE_EINVAL;
#else
    if (z->phase == GZR_FAILED)
        return z->err;
    if (n == 0 || z->phase == GZR_END)
        return 0;
    if (n > GZR_OUT_MAX)
        n = GZR_OUT_MAX;
    size_t got = 0;
    while (got == 0) {
        if (z->phase == GZR_START) {
            int r = next_member(z);
            if (r < 0)
                return r;
            if (r == 0) {
                z->phase = GZR_END;
                return 0;
            }
        }
        int r = body(z, buf, n, &got);
        if (r < 0)
            return r;
    }
    return (ssize_t)got;
#endif
}

const char *sluice__gzr_error(const sluice__gzr *z, uint64_t *offset)
{
    int failed = z && z->phase == GZR_FAILED;
    if (offset)
        *offset = failed ? z->err_off : 0;
    return failed ? z->msg : NULL;
}

uint64_t sluice__gzr_in_bytes(const sluice__gzr *z)
{
    return z->in_off + z->pos;
}

uint64_t sluice__gzr_out_bytes(const sluice__gzr *z)
{
    return z->out_bytes;
}

void sluice__gzr_free(sluice__gzr *z)
{
    if (!z)
        return;
#if defined(HAVE_ZLIB) && !defined(HAVE_ISAL)
    if (z->zs_ready)
        inflateEnd(&z->zs);
#endif
    free(z->in);
    free(z);
}
