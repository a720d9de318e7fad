/*
 * plugins/gunzip/gunzip.c -- the `gunzip` plugin: what gzip -d decodes.
 *
 * Decodes gzip streams (RFC 1952) with GNU gzip's semantics: concatenated
 * members all decode, trailing zero bytes are ignored silently, other
 * trailing bytes are ignored with a warning, and every error carries
 * gzip's wording.  Where a member could start, the magic may also open
 * compress's LZW (lzw.c) or pack's codes (unpack.c), and at offset 0 a zip
 * whose first entry is decoded here (P_Z*: the local header, the stored
 * or deflated data, the descriptor, a look for a second entry); with the
 * passthrough option, input in none of these formats is copied (P_COPY).
 * Those streams carry no size hints: each is one unit, decoded in order.
 *
 * Parallelism comes from member boundaries.  `boundary` (coordinator) walks
 * members by the length a header announces in an FEXTRA subfield: ours
 * ('S','L', LEN 4: the member's total length, docs/gzip-format.md) or
 * BGZF's ('B','C', LEN 2: total length - 1).  So every unit of a regular
 * file starts on a member (or at offset 0), and a worker decodes it from
 * scratch.  A stream with no hints stays one unit, decoded in order.
 *
 * map sees a unit as successive blocks that may split anything (a header,
 * the deflate data, a trailer), so the decoder is a state machine kept in
 * the worker's state.  That state also carries over to the next unit when
 * the new block continues exactly where the last one of the same input
 * ended: that is how a pipe arrives (all its units go to one worker, in
 * order).  Any other block starts afresh.
 *
 * Two ways to decode a member:
 *   fast      the whole member is inside the block and it says (hint) or
 *             we guess its size: libdeflate inflates it in one call straight
 *             into the host's output area, then CRC-32 and ISIZE are checked.
 *             Any failure falls back to the streaming path, which decides.
 *   streaming ISA-L (or zlib) raw inflate, fed block by block, output in
 *             reserved chunks.  Members that cross blocks, big members and
 *             foreign single-member files go this way.
 * A member with a hint must end exactly where it says: a lying hint would
 * make the split wrong, so it is an error, never a guess.
 *
 * Build variants: HAVE_LIBDEFLATE (fast path), HAVE_ISAL (streaming with
 * ISA-L), HAVE_ZLIB (streaming otherwise); ISA-L or zlib must be there.
 *
 * Process model: boundary runs in the coordinator and touches nothing but
 * its stack.  Each worker owns its decoders (worker_init/worker_fini) and
 * its decoding state.  merge adds counters and keeps the first offsets.
 */
#include "gunzip.h"

static const sluice_option gz_options[] = {
    {"max_output", SLUICE_OPT_INT, "0",
     "fail a unit that would decompress to more than this (0: no limit)", NULL},
    {"passthrough", SLUICE_OPT_ENUM, "none",
     "copy input in no compressed format unchanged (gzip -cdf): for no "
     "input, all, or standard input (\"-\") only",
     "none|all|stdin"},
};

static const char *const gz_counter_names[] = {
    "members",  "compressed", "uncompressed", "garbage_at",
    "zeros_at", "lzw_flags",  "zip_more_at",
};

/* ------------------------------------------------------------- helpers */

uint32_t gz_le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

uint32_t gz_le32(const unsigned char *p)
{
    return gz_le16(p) | gz_le16(p + 2) << 16;
}

int gz_gather(unsigned char *buf, size_t *have, size_t want, gz_cur *c)
{
    size_t k = want - *have;
    if (k > c->n - c->i)
        k = c->n - c->i;
    memcpy(buf + *have, c->p + c->i, k);
    *have += k;
    c->i += k;
    return *have == want;
}

uint64_t gz_le64(const unsigned char *p)
{
    return (uint64_t)gz_le32(p) | (uint64_t)gz_le32(p + 4) << 32;
}

uint32_t gz_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
#if defined(HAVE_ISAL) /* 3x libdeflate's speed with AVX-512 */
    return crc32_gzip_refl(crc, p, n);
#elif defined(HAVE_LIBDEFLATE)
    return libdeflate_crc32(crc, p, n);
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

/* The member length an extra field announces ('SL' or 'BC'); GZ_NOHINT for
 * none or for a field whose subfields do not tile it exactly. */
static uint64_t extra_hint(const unsigned char *x, size_t xlen)
{
    uint64_t hint = GZ_NOHINT;
    size_t i = 0;
    while (xlen - i >= 4) {
        size_t len = gz_le16(x + i + 2);
        if (len > xlen - i - 4)
            return GZ_NOHINT;
        const unsigned char *v = x + i + 4;
        if (hint == GZ_NOHINT && x[i] == 'S' && x[i + 1] == 'L' && len == 4)
            hint = gz_le32(v);
        else if (hint == GZ_NOHINT && x[i] == 'B' && x[i + 1] == 'C' &&
                 len == 2)
            hint = (uint64_t)gz_le16(v) + 1;
        i += 4 + len;
    }
    return i == xlen ? hint : GZ_NOHINT;
}

/* A header parsed from contiguous bytes. */
typedef struct gz_head {
    size_t len;    /* its length (complete headers) */
    size_t xend;   /* bytes up to the end of FEXTRA (0: not seen) */
    uint64_t hint; /* extra_hint(); GZ_NOHINT */
} gz_head;

/* Parses the member header at p[0..n).  Returns 1 when it is complete and
 * valid, 0 when it needs more bytes, -1 when it is not a valid header. */
static int parse_head(const unsigned char *p, size_t n, gz_head *h)
{
    h->len = 0;
    h->xend = 0;
    h->hint = GZ_NOHINT;
    if (n < 2)
        return 0;
    if (p[0] != GZ_ID1 || (p[1] != GZ_ID2 && p[1] != GZ_ID2_OLD))
        return -1;
    if (n < GZ_FIXED)
        return 0;
    unsigned flg = p[3];
    if (p[2] != GZ_DEFLATED || (flg & (GZ_FENCRYPTED | GZ_FRESERVED)))
        return -1;
    size_t at = GZ_FIXED;
    if (flg & GZ_FEXTRA) {
        if (n - at < 2)
            return 0;
        size_t xlen = gz_le16(p + at);
        at += 2;
        if (n - at < xlen)
            return 0;
        if (xlen <= GZ_XMAX)
            h->hint = extra_hint(p + at, xlen);
        at += xlen;
        h->xend = at;
    }
    for (unsigned f = GZ_FNAME; f <= GZ_FCOMMENT; f <<= 1) {
        if (!(flg & f))
            continue;
        const unsigned char *z = memchr(p + at, 0, n - at);
        if (!z)
            return 0;
        at = (size_t)(z - p) + 1;
    }
    if (flg & GZ_FHCRC) {
        if (n - at < 2)
            return 0;
        if ((gz_crc32(0, p, at) & 0xffff) != gz_le16(p + at))
            return -1;
        at += 2;
    }
    h->len = at;
    return 1;
}

int gz_fail(sluice_ctx *ctx, gz_state *s, uint64_t offset, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->api->error(ctx, 0, offset, "%s", msg);
    s->active = 0;
    return -1;
}

/* Writes `got` bytes already decoded into the last reserved area. */
static int emit(sluice_ctx *ctx, gz_state *s, gz_part *pt, size_t got,
                uint64_t at)
{
    if (s->max_out && got > s->max_out - s->unit_out)
        return gz_fail(ctx, s, at, MSG_MAX);
    sluice_commit(ctx, got);
    s->unit_out += got;
    s->m_out += got;
    pt->uncompressed += got;
    return 0;
}

/* An output area for a streaming step: at most GZ_STEP_MAX bytes, and one
 * byte past the max_output limit so that going over is seen. */
static unsigned char *out_area(sluice_ctx *ctx, gz_state *s, size_t *room,
                               uint64_t at)
{
    size_t avail = 0;
    unsigned char *p = sluice_reserve(ctx, GZ_OUT_CHUNK, &avail);
    if (!p) {
        gz_fail(ctx, s, at, "gunzip: no room for output");
        return NULL;
    }
    if (avail > GZ_STEP_MAX)
        avail = GZ_STEP_MAX;
    if (s->max_out && avail > s->max_out - s->unit_out)
        avail = (size_t)(s->max_out - s->unit_out) + 1;
    *room = avail;
    return p;
}

/* Counts a member that ended at `end`. */
static void member_done(gz_state *s, gz_part *pt, uint64_t end)
{
    pt->members++;
    pt->compressed += end - s->m_start;
    s->at_start = 0;
    if (s->m_hint == GZ_NOHINT)
        s->try_fast = s->m_out <= GZ_TRY_MAX;
    s->phase = P_START;
    s->nlead = 0;
}

/* ------------------------------------------------------------ fast path */

#ifdef HAVE_LIBDEFLATE
/* Decodes the member at the cursor in one libdeflate call when it lies
 * wholly in the block.  Returns 1 when it did (cursor moved past it), 0
 * when the streaming path must decide (nothing written), -1 on error. */
static int fast_member(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c)
{
    const unsigned char *m = c->p + c->i;
    size_t avail = c->n - c->i;
    gz_head h;
    if (parse_head(m, avail, &h) != 1)
        return 0;
    uint64_t left = s->max_out ? s->max_out - s->unit_out : UINT64_MAX;
    size_t in_used = 0, out_used = 0, len, room = 0;
    const unsigned char *t;
    unsigned char *out;

    if (h.hint != GZ_NOHINT) {
        if (h.hint > avail || h.hint < h.len + GZ_TRAILER)
            return 0;
        len = (size_t)h.hint;
        t = m + len - GZ_TRAILER;
        size_t isize = gz_le32(t + 4);
        if (isize > GZ_FAST_MAX || isize > left)
            return 0;
        out = sluice_reserve(ctx, isize ? isize : 1, &room);
        if (!out)
            return 0;
        size_t clen = len - h.len - GZ_TRAILER;
        if (libdeflate_deflate_decompress_ex(s->ld, m + h.len, clen, out, isize,
                                             &in_used,
                                             &out_used) != LIBDEFLATE_SUCCESS ||
            in_used != clen || out_used != isize)
            return 0;
    } else {
        if (!s->try_fast)
            return 0;
        out = sluice_reserve(ctx, GZ_FAST_MAX, &room);
        if (!out)
            return 0;
        size_t cap = room < GZ_TRY_MAX ? room : GZ_TRY_MAX;
        int limited = 0;
        if (cap > left) {
            cap = (size_t)left;
            limited = 1;
        }
        enum libdeflate_result r = libdeflate_deflate_decompress_ex(
            s->ld, m + h.len, avail - h.len, out, cap, &in_used, &out_used);
        if (r == LIBDEFLATE_INSUFFICIENT_SPACE && !limited)
            s->try_fast = 0;
        if (r != LIBDEFLATE_SUCCESS || avail - h.len - in_used < GZ_TRAILER)
            return 0;
        len = h.len + in_used + GZ_TRAILER;
        t = m + len - GZ_TRAILER;
        if (gz_le32(t + 4) != (uint32_t)out_used)
            return 0;
    }
    if (gz_crc32(0, out, out_used) != gz_le32(t))
        return 0;
    s->m_start = c->off + c->i;
    s->m_hint = h.hint;
    s->m_out = 0;
    if (emit(ctx, s, pt, out_used, s->m_start) < 0)
        return -1;
    c->i += len;
    member_done(s, pt, c->off + c->i);
    return 1;
}
#endif

/* ------------------------------------------------------ streaming path */

void gz_body_reset(gz_state *s)
{
    s->m_out = 0;
    s->crc = 0;
#ifdef HAVE_ISAL
    isal_inflate_reset(s->isal);
    s->isal->crc_flag = ISAL_GZIP_NO_HDR;
    s->isal->hist_bits = 0;
#else
    inflateReset(s->z);
#endif
}

/* Feeds in[0..len) (input offset in_off) to the streaming decoder.
 * Returns 1 when the deflate stream ended, with its end offset in *dend and
 * any trailer bytes the decoder had read ahead from earlier blocks put in
 * tbuf; 0 when it used all the input; -1 on error.  *used: bytes of in up
 * to the end of the deflate data (all of them when 0 is returned). */
static int body_step(sluice_ctx *ctx, gz_state *s, gz_part *pt,
                     const unsigned char *in, size_t len, uint64_t in_off,
                     size_t *used, uint64_t *dend)
{
#ifdef HAVE_ISAL
    struct inflate_state *z = s->isal;
    z->next_in = (uint8_t *)(uintptr_t)in;
    z->avail_in = (uint32_t)len;
    for (;;) {
        uint64_t at = in_off + (len - z->avail_in);
        size_t room = 0;
        unsigned char *out = out_area(ctx, s, &room, at);
        if (!out)
            return -1;
        uint32_t in_before = z->avail_in;
        z->next_out = out;
        z->avail_out = (uint32_t)room;
        int rc = isal_inflate(z);
        size_t got = room - z->avail_out;
        /* After an error ISA-L may give back read-ahead bytes, even ones
         * from before this block. */
        at = in_off + (uint64_t)(z->next_in - in);
        if (emit(ctx, s, pt, got, at) < 0)
            return -1;
        if (rc < 0)
            return gz_fail(ctx, s, at, MSG_FORMAT);
        if (z->block_state == ISAL_BLOCK_FINISH) {
            /* ISA-L reads ahead: whole bytes left in its bit buffer follow
             * the deflate data; they may predate this block. */
            uint64_t next = in_off + (len - z->avail_in);
            unsigned ahead = (unsigned)z->read_in_length / 8;
            unsigned pad = (unsigned)z->read_in_length % 8;
            *dend = next - ahead;
            s->crc = z->crc;
            s->tlen = 0;
            if (*dend < in_off) {
                unsigned k = (unsigned)(in_off - *dend);
                for (unsigned j = 0; j < k; j++)
                    s->tbuf[j] = (unsigned char)(z->read_in >> (pad + 8 * j));
                s->tlen = k;
                *used = 0;
            } else {
                *used = (size_t)(*dend - in_off);
            }
            return 1;
        }
        if (z->avail_out == 0)
            continue;
        if (z->avail_in == 0) {
            *used = len;
            return 0;
        }
        if (got == 0 && z->avail_in == in_before)
            return gz_fail(ctx, s, at, MSG_FORMAT);
    }
#else
    z_stream *z = s->z;
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)len;
    for (;;) {
        uint64_t at = in_off + (len - z->avail_in);
        size_t room = 0;
        unsigned char *out = out_area(ctx, s, &room, at);
        if (!out)
            return -1;
        z->next_out = out;
        z->avail_out = (uInt)room;
        int rc = inflate(z, Z_NO_FLUSH);
        size_t got = room - z->avail_out;
        at = in_off + (len - z->avail_in);
        s->crc = gz_crc32(s->crc, out, got);
        if (emit(ctx, s, pt, got, at) < 0)
            return -1;
        if (rc == Z_STREAM_END) {
            *used = len - z->avail_in;
            *dend = in_off + *used;
            s->tlen = 0;
            return 1;
        }
        if (rc == Z_MEM_ERROR)
            return gz_fail(ctx, s, at, "gunzip: out of memory");
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return gz_fail(ctx, s, at, MSG_FORMAT);
        if (z->avail_out == 0)
            continue;
        if (z->avail_in == 0) {
            *used = len;
            return 0;
        }
        if (rc == Z_BUF_ERROR)
            return gz_fail(ctx, s, at, MSG_FORMAT);
    }
#endif
}

/* ---------------------------------------------------------- the phases */

/* The next header field the flags call for after `step`. */
static int head_next(unsigned flg, int step)
{
    for (step++; step < H_END; step++) {
        if ((step == H_XLEN || step == H_EXTRA) && !(flg & GZ_FEXTRA))
            continue;
        if (step == H_NAME && !(flg & GZ_FNAME))
            continue;
        if (step == H_COMMENT && !(flg & GZ_FCOMMENT))
            continue;
        if (step == H_HCRC && !(flg & GZ_FHCRC))
            continue;
        break;
    }
    return step;
}

/* Takes up to `want` - hgot bytes into hbuf; returns 1 when it has all. */
static int take(gz_state *s, gz_cur *c, size_t want)
{
    const unsigned char *from = c->p + c->i;
    size_t had = s->hgot;
    int all = gz_gather(s->hbuf, &s->hgot, want, c);
    if (s->hstep != H_FIXED && (s->flg & GZ_FHCRC) && s->hstep != H_HCRC)
        s->hcrc = gz_crc32(s->hcrc, from, s->hgot - had);
    return all;
}

/* Checks what the fixed header shows so far, in gzip's order. */
static int head_check(sluice_ctx *ctx, gz_state *s)
{
    if (s->hgot >= 3 && s->hbuf[2] != GZ_DEFLATED)
        return gz_fail(ctx, s, s->m_start, "unknown method %d -- not supported",
                       s->hbuf[2]);
    if (s->hgot >= 4 && (s->hbuf[3] & GZ_FENCRYPTED))
        return gz_fail(ctx, s, s->m_start, "is encrypted -- not supported");
    if (s->hgot >= 4 && (s->hbuf[3] & GZ_FRESERVED))
        return gz_fail(ctx, s, s->m_start, "has flags 0x%x -- not supported",
                       (unsigned)s->hbuf[3]);
    return 0;
}

/* 1 when the header read so far already leaves no room for the trailer
 * before the end its size hint announces.  Checked as the name and comment
 * arrive, not only at the end of the header: a unit that boundary() ended
 * at the hinted end must fail by itself, because the next unit starts on a
 * fresh state (another worker) that would take the rest for garbage. */
static int head_past_hint(const gz_state *s, const gz_cur *c)
{
    return s->m_hint != GZ_NOHINT &&
           c->off + c->i - s->m_start + GZ_TRAILER > s->m_hint;
}

/* The header is complete: start the deflate data. */
static int head_done(sluice_ctx *ctx, gz_state *s, gz_cur *c)
{
    uint64_t hlen = c->off + c->i - s->m_start;
    s->m_hint = GZ_NOHINT;
    if ((s->flg & GZ_FEXTRA) && s->xlen <= GZ_XMAX)
        s->m_hint = extra_hint(s->xbuf, s->xlen);
    if (s->m_hint != GZ_NOHINT && s->m_hint < hlen + GZ_TRAILER)
        return gz_fail(ctx, s, s->m_start, MSG_FORMAT);
    gz_body_reset(s);
    s->phase = P_BODY;
    return 0;
}

static int feed_header(sluice_ctx *ctx, gz_state *s, gz_cur *c)
{
    while (s->hstep != H_END) {
        if (c->i == c->n)
            return 0;
        switch (s->hstep) {
        case H_FIXED: {
            int all = take(s, c, GZ_FIXED);
            if (head_check(ctx, s) < 0)
                return -1;
            if (!all)
                return 0;
            s->flg = s->hbuf[3];
            s->m_hint = GZ_NOHINT;
            s->hcrc = gz_crc32(0, s->hbuf, GZ_FIXED);
            s->hstep = head_next(s->flg, H_FIXED);
            s->hgot = 0;
            break;
        }
        case H_XLEN:
            if (!take(s, c, 2))
                return 0;
            s->xlen = gz_le16(s->hbuf);
            s->hgot = 0;
            s->hstep = s->xlen ? H_EXTRA : head_next(s->flg, H_EXTRA);
            break;
        case H_EXTRA: {
            size_t k = s->xlen - s->hgot;
            if (k > c->n - c->i)
                k = c->n - c->i;
            if (s->xlen <= GZ_XMAX)
                memcpy(s->xbuf + s->hgot, c->p + c->i, k);
            if (s->flg & GZ_FHCRC)
                s->hcrc = gz_crc32(s->hcrc, c->p + c->i, k);
            s->hgot += k;
            c->i += k;
            if (s->hgot < s->xlen)
                return 0;
            if (s->xlen <= GZ_XMAX)
                s->m_hint = extra_hint(s->xbuf, s->xlen);
            s->hgot = 0;
            s->hstep = head_next(s->flg, H_EXTRA);
            break;
        }
        case H_NAME:
        case H_COMMENT: {
            const unsigned char *p = c->p + c->i;
            const unsigned char *z = memchr(p, 0, c->n - c->i);
            size_t k = z ? (size_t)(z - p) + 1 : c->n - c->i;
            if (s->flg & GZ_FHCRC)
                s->hcrc = gz_crc32(s->hcrc, p, k);
            c->i += k;
            if (head_past_hint(s, c))
                return gz_fail(ctx, s, s->m_start, MSG_FORMAT);
            if (!z)
                return 0;
            s->hstep = head_next(s->flg, s->hstep);
            s->hgot = 0;
            break;
        }
        case H_HCRC:
            if (!take(s, c, 2)) {
                if (head_past_hint(s, c))
                    return gz_fail(ctx, s, s->m_start, MSG_FORMAT);
                return 0;
            }
            if (gz_le16(s->hbuf) != (s->hcrc & 0xffff))
                return gz_fail(ctx, s, s->m_start,
                               "header checksum 0x%04x != computed checksum "
                               "0x%04x",
                               (unsigned)gz_le16(s->hbuf),
                               (unsigned)(s->hcrc & 0xffff));
            s->hstep = H_END;
            break;
        default:
            return gz_fail(ctx, s, s->m_start, MSG_FORMAT);
        }
    }
    return head_done(ctx, s, c);
}

static int feed_body(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c)
{
    /* A hinted member's deflate data ends where its trailer must begin. */
    size_t lim = c->n;
    int capped = 0;
    if (s->m_hint != GZ_NOHINT) {
        uint64_t cap = s->m_start + s->m_hint - GZ_TRAILER;
        if (cap <= c->off + c->n) {
            lim = (size_t)(cap - c->off);
            capped = 1;
        }
    }
    while (c->i < lim) {
        size_t len = lim - c->i, used = 0;
        uint64_t dend = 0;
        if (len > GZ_IN_STEP)
            len = GZ_IN_STEP;
        int rc = body_step(ctx, s, pt, c->p + c->i, len, c->off + c->i, &used,
                           &dend);
        if (rc < 0)
            return -1;
        c->i += used;
        if (rc == 0)
            continue;
        if (s->m_hint != GZ_NOHINT &&
            dend + GZ_TRAILER != s->m_start + s->m_hint)
            return gz_fail(ctx, s, s->m_start, MSG_FORMAT);
        if (s->fmt == F_ZIP) {
            /* bytes the decoder read ahead begin the descriptor */
            memcpy(s->zdesc, s->tbuf, s->tlen);
            s->zdlen = s->tlen;
            s->phase = P_ZTAIL;
            return 0;
        }
        s->phase = P_TRAILER;
        return 0;
    }
    if (capped) /* the data goes on past its hinted end */
        return gz_fail(ctx, s, s->m_start, MSG_FORMAT);
    return 0;
}

static int feed_trailer(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c)
{
    if (!gz_gather(s->tbuf, &s->tlen, GZ_TRAILER, c))
        return 0;
    if (gz_le32(s->tbuf) != s->crc)
        return gz_fail(ctx, s, s->m_start, MSG_CRC);
    if (gz_le32(s->tbuf + 4) != (uint32_t)s->m_out)
        return gz_fail(ctx, s, s->m_start, MSG_LENGTH);
    member_done(s, pt, c->off + c->i);
    return 0;
}

/* ------------------------------------------------------ other formats */

/* Output through a sink (formats.h): the plugin's reserve and commit. */
typedef struct gz_out {
    gz_sink k;
    sluice_ctx *ctx;
    gz_state *s;
    gz_part *pt;
    uint64_t at; /* input offset for a message */
} gz_out;

static int sink_more(gz_sink *k, size_t need)
{
    gz_out *o = k->user;
    if (k->used && emit(o->ctx, o->s, o->pt, k->used, o->at) < 0)
        return -1;
    k->used = 0;
    size_t avail = 0;
    unsigned char *p = sluice_reserve(
        o->ctx, need > GZ_OUT_CHUNK ? need : GZ_OUT_CHUNK, &avail);
    if (!p) {
        gz_fail(o->ctx, o->s, o->at, "gunzip: no room for output");
        return -1;
    }
    k->p = p;
    k->room = avail;
    return 0;
}

static void out_open(gz_out *o, sluice_ctx *ctx, gz_state *s, gz_part *pt,
                     uint64_t at)
{
    o->k = (gz_sink){.more = sink_more, .user = o};
    o->ctx = ctx;
    o->s = s;
    o->pt = pt;
    o->at = at;
}

/* Commits what the sink holds; 0 or -1. */
static int out_close(gz_out *o)
{
    if (!o->k.used)
        return 0;
    size_t n = o->k.used;
    o->k.used = 0;
    return emit(o->ctx, o->s, o->pt, n, o->at);
}

/* Ends a decoder's call that returned rc: what it wrote goes out (before
 * its error too, as gzip writes it), then its error is reported, unless
 * the sink failed and has said why.  0 or -1. */
static int out_done(gz_out *o, int rc, const gz_err *e)
{
    if (rc >= 0)
        return out_close(o);
    if (o->s->active && out_close(o) == 0)
        gz_fail(o->ctx, o->s, e->at, "%s", e->msg);
    return -1;
}

/* Copies p[0..n) to the output (passthrough, stored entries). */
int gz_put_bytes(sluice_ctx *ctx, gz_state *s, gz_part *pt,
                 const unsigned char *p, size_t n, uint64_t at)
{
    while (n > 0) {
        size_t room = 0;
        unsigned char *out = out_area(ctx, s, &room, at);
        if (!out)
            return -1;
        size_t k = n < room ? n : room;
        memcpy(out, p, k);
        if (s->fmt == F_ZIP)
            s->crc = gz_crc32(s->crc, out, k);
        if (emit(ctx, s, pt, k, at) < 0)
            return -1;
        p += k;
        n -= k;
        at += k;
    }
    return 0;
}

static int feed_lzw(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c)
{
    gz_out o;
    gz_err e;
    out_open(&o, ctx, s, pt, c->off + c->i);
    int rc =
        gz_lzw_feed(&s->lzw, c->p + c->i, c->n - c->i, c->off + c->i, &o.k, &e);
    c->i = c->n;
    pt->lzw_flags = gz_lzw_flags(&s->lzw);
    return out_done(&o, rc, &e);
}

static int feed_pack(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c)
{
    gz_out o;
    gz_err e;
    size_t used = 0;
    out_open(&o, ctx, s, pt, c->off + c->i);
    int rc = gz_unpack_feed(&s->unpack, c->p + c->i, c->n - c->i, c->off + c->i,
                            &used, &o.k, &e);
    if (out_done(&o, rc, &e) < 0)
        return -1;
    c->i += used;
    if (rc > 0) {
        pt->members++;
        /* what follows is read as after a gzip member */
        s->at_start = 0;
        s->phase = P_START;
        s->nlead = 0;
    }
    return 0;
}

/* Between members: a member, the end, zeros or garbage. */
static int feed_start(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c)
{
#ifdef HAVE_LIBDEFLATE
    while (s->nlead == 0 && c->i < c->n) {
        int r = fast_member(ctx, s, pt, c);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
    }
#endif
    while (s->nlead < 2 && c->i < c->n) {
        if (s->nlead == 0)
            s->lead_at = c->off + c->i;
        s->lead[s->nlead++] = c->p[c->i++];
    }
    if (s->nlead < 2)
        return 0;
    /* gzip's get_method: a zip only as the whole input, the others
     * anywhere a member could start. */
    int zip = s->at_start && s->lead[0] == 'P' && s->lead[1] == 'K';
    while (zip && s->nlead < 4 && c->i < c->n)
        s->lead[s->nlead++] = c->p[c->i++];
    if (zip && s->nlead < 4)
        return 0;
    unsigned nlead = s->nlead;
    s->nlead = 0;
    s->m_start = s->lead_at;
    if (s->lead[0] == GZ_ID1 &&
        (s->lead[1] == GZ_ID2 || s->lead[1] == GZ_ID2_OLD)) {
        s->hbuf[0] = s->lead[0];
        s->hbuf[1] = s->lead[1];
        s->hgot = 2;
        s->hstep = H_FIXED;
        s->fmt = F_GZIP;
        s->phase = P_HEADER;
        return 0;
    }
    if (zip && s->lead[2] == 3 && s->lead[3] == 4) {
        s->zgot = 0;
        s->phase = P_ZHEAD;
        return 0;
    }
    if (s->lead[0] == GZ_ID1 && s->lead[1] == LZW_MAGIC1) {
        if (!s->lzw.ent && gz_lzw_alloc(&s->lzw) < 0)
            return gz_fail(ctx, s, s->lead_at, "gunzip: out of memory");
        gz_lzw_start(&s->lzw);
        s->phase = P_LZW;
        return 0;
    }
    if (s->lead[0] == GZ_ID1 && s->lead[1] == PACK_MAGIC1) {
        gz_unpack_start(&s->unpack);
        s->phase = P_PACK;
        return 0;
    }
    if (s->passthrough) {
        s->phase = P_COPY;
        return gz_put_bytes(ctx, s, pt, s->lead, nlead, s->lead_at);
    }
    if (s->at_start)
        return gz_fail(ctx, s, s->lead_at, MSG_NOT_GZIP);
    s->trail_at = s->lead_at;
    if (s->lead[0] == 0 && s->lead[1] == 0) {
        s->phase = P_ZEROS;
        return 0;
    }
    if (pt->garbage_at > s->trail_at)
        pt->garbage_at = s->trail_at;
    s->phase = P_DONE;
    return 0;
}

static void feed_zeros(gz_state *s, gz_part *pt, gz_cur *c)
{
    while (c->i < c->n && c->p[c->i] == 0)
        c->i++;
    if (c->i < c->n) {
        if (pt->garbage_at > s->trail_at)
            pt->garbage_at = s->trail_at;
        s->phase = P_DONE;
        c->i = c->n;
    }
}

/* The input ended at `end`: was it between members? */
static int input_end(sluice_ctx *ctx, gz_state *s, gz_part *pt, uint64_t end)
{
    int rc = 0;
    switch (s->phase) {
    case P_START:
        if (s->passthrough) {
            /* too short for any magic: copied */
            rc = gz_put_bytes(ctx, s, pt, s->lead, s->nlead, s->lead_at);
        } else if (s->nlead == 0) {
            if (s->at_start) /* an empty input */
                rc = gz_fail(ctx, s, end, MSG_EOF);
        } else if (s->at_start && s->nlead >= 2) {
            rc = gz_fail(ctx, s, s->lead_at, MSG_NOT_GZIP); /* "PK", no more */
        } else if (s->lead[0] != 0) {
            /* gzip reads a second magic byte after a non-zero one */
            rc = gz_fail(ctx, s, end, MSG_EOF);
        } else if (s->at_start) {
            rc = gz_fail(ctx, s, s->lead_at, MSG_NOT_GZIP);
        } else if (pt->zeros_at > s->lead_at) {
            pt->zeros_at = s->lead_at;
        }
        break;
    case P_HEADER:
    case P_BODY:
    case P_TRAILER:
        rc = gz_fail(ctx, s, end, MSG_EOF);
        break;
    case P_ZEROS:
        if (pt->zeros_at > s->trail_at)
            pt->zeros_at = s->trail_at;
        break;
    case P_LZW: {
        gz_out o;
        gz_err e;
        out_open(&o, ctx, s, pt, end);
        rc = out_done(&o, gz_lzw_end(&s->lzw, end, &o.k, &e), &e);
        if (rc == 0)
            pt->members++;
        pt->lzw_flags = gz_lzw_flags(&s->lzw);
        break;
    }
    case P_ZTAIL:
        rc = gz_zip_end(ctx, s, pt, end);
        break;
    case P_PACK:
    case P_ZSTORED:
    case P_ZSCAN:
        rc = gz_fail(ctx, s, end, MSG_EOF);
        break;
    case P_ZHEAD:
        rc = gz_fail(ctx, s, s->m_start, "not a valid zip file");
        break;
    default:
        break;
    }
    s->active = 0;
    return rc;
}

/* ------------------------------------------------------------ callbacks */

static int gz_global_init(sluice_ctx *ctx)
{
    if (ctx->api->option_int(ctx, "max_output") < 0) {
        ctx->api->error(ctx, 0, UINT64_MAX,
                        "gunzip: max_output must not be negative");
        return -1;
    }
    return 0;
}

static int gz_worker_init(sluice_ctx *ctx)
{
    gz_state *s = ctx->state;
    int64_t max = ctx->api->option_int(ctx, "max_output");
    s->max_out = max > 0 ? (uint64_t)max : 0;
    const char *pass = ctx->api->option(ctx, "passthrough");
    s->copy_all = pass && strcmp(pass, "all") == 0;
    s->copy_stdin = pass && strcmp(pass, "stdin") == 0;
#ifdef HAVE_LIBDEFLATE
    s->ld = libdeflate_alloc_decompressor();
    if (!s->ld)
        goto fail;
#endif
#ifdef HAVE_ISAL
    s->isal = malloc(sizeof *s->isal);
    if (!s->isal)
        goto fail;
    isal_inflate_init(s->isal);
#else
    s->z = calloc(1, sizeof *s->z);
    if (!s->z || inflateInit2(s->z, -15) != Z_OK)
        goto fail;
    s->z_ready = 1;
#endif
    return 0;
fail:
    ctx->api->error(ctx, 0, UINT64_MAX, "gunzip: cannot make a decoder");
    return -1;
}

static void gz_worker_fini(sluice_ctx *ctx)
{
    gz_state *s = ctx->state;
    gz_lzw_free(&s->lzw);
    free(s->zextra);
    s->zextra = NULL;
#ifdef HAVE_LIBDEFLATE
    libdeflate_free_decompressor(s->ld);
    s->ld = NULL;
#endif
#ifdef HAVE_ISAL
    free(s->isal);
    s->isal = NULL;
#else
    if (s->z_ready)
        inflateEnd(s->z);
    free(s->z);
    s->z = NULL;
    s->z_ready = 0;
#endif
}

static void gz_partial_init(const sluice_ctx *ctx, void *partial)
{
    gz_part *pt = partial;
    (void)ctx;
    memset(pt, 0, sizeof *pt);
    pt->garbage_at = UINT64_MAX;
    pt->zeros_at = UINT64_MAX;
    pt->zip_more_at = UINT64_MAX;
}

static void gz_merge(const sluice_ctx *ctx, void *into, const void *next)
{
    gz_part *a = into;
    const gz_part *b = next;
    (void)ctx;
    a->members += b->members;
    a->compressed += b->compressed;
    a->uncompressed += b->uncompressed;
    if (b->garbage_at < a->garbage_at)
        a->garbage_at = b->garbage_at;
    if (b->zeros_at < a->zeros_at)
        a->zeros_at = b->zeros_at;
    a->lzw_flags |= b->lzw_flags;
    if (b->zip_more_at < a->zip_more_at)
        a->zip_more_at = b->zip_more_at;
}

static void gz_counters(const sluice_ctx *ctx, const void *partial,
                        uint64_t *out)
{
    const gz_part *pt = partial;
    (void)ctx;
    out[0] = pt->members;
    out[1] = pt->compressed;
    out[2] = pt->uncompressed;
    out[3] = pt->garbage_at;
    out[4] = pt->zeros_at;
    out[5] = pt->lzw_flags;
    out[6] = pt->zip_more_at;
}

static int gz_map(sluice_ctx *ctx, const sluice_block *block, void *partial)
{
    gz_state *s = ctx->state;
    gz_part *pt = partial;
    gz_cur c = {block->data, block->len, 0, block->offset};

    if (!(s->active && block->input == s->input &&
          block->offset == s->next_off)) {
        /* A fresh start: offset 0, or a member boundary from boundary(). */
        s->active = 1;
        s->input = block->input;
        s->phase = P_START;
        s->nlead = 0;
        s->at_start = block->offset == 0;
        s->try_fast = 1;
        s->fmt = F_GZIP;
        s->passthrough = s->copy_all || (s->copy_stdin && block->path &&
                                         strcmp(block->path, "-") == 0);
    }
    if (block->flags & SLUICE_BLOCK_UNIT_BEGIN)
        s->unit_out = 0;
    s->next_off = block->offset + block->len;

    while (c.i < c.n) {
        int rc = 0;
        switch (s->phase) {
        case P_START:
            rc = feed_start(ctx, s, pt, &c);
            break;
        case P_HEADER:
            rc = feed_header(ctx, s, &c);
            break;
        case P_BODY:
            rc = feed_body(ctx, s, pt, &c);
            break;
        case P_TRAILER:
            rc = feed_trailer(ctx, s, pt, &c);
            break;
        case P_ZEROS:
            feed_zeros(s, pt, &c);
            break;
        case P_COPY:
            rc = gz_put_bytes(ctx, s, pt, c.p + c.i, c.n - c.i, c.off + c.i);
            c.i = c.n;
            break;
        case P_LZW:
            rc = feed_lzw(ctx, s, pt, &c);
            break;
        case P_PACK:
            rc = feed_pack(ctx, s, pt, &c);
            break;
        case P_ZHEAD:
            rc = gz_zip_head(ctx, s, &c);
            break;
        case P_ZSTORED:
            rc = gz_zip_stored(ctx, s, pt, &c);
            break;
        case P_ZSCAN:
            rc = gz_zip_scan(ctx, s, pt, &c);
            break;
        case P_ZTAIL:
            rc = gz_zip_tail(ctx, s, pt, &c);
            break;
        case P_ZNEXT:
            gz_zip_next(s, pt, &c);
            break;
        default:
            c.i = c.n;
            break;
        }
        if (rc < 0)
            return -1;
    }
    if (block->flags & SLUICE_BLOCK_FILE_END)
        return input_end(ctx, s, pt, block->offset + block->len);
    return 0;
}

/* Coordinator: the end of the unit that starts at `at`, by member hints.
 * Reads only GZ_PEEK bytes per member; any doubt ends the walk. */
static uint64_t gz_boundary(sluice_ctx *ctx, sluice_read_fn rd, void *src,
                            uint64_t at, uint64_t want, uint64_t size)
{
    unsigned char buf[GZ_PEEK];
    uint64_t pos = at, out = 0;
    (void)ctx;
    while (pos < size && pos - at < want) {
        size_t n = size - pos < sizeof buf ? (size_t)(size - pos) : sizeof buf;
        int64_t got = rd(src, buf, n, pos);
        if (got <= 0)
            break;
        if ((uint64_t)got < n)
            n = (size_t)got;
        gz_head h;
        int r = parse_head(buf, n, &h);
        if (r < 0 || h.hint == GZ_NOHINT)
            break;
        size_t least = (r > 0 ? h.len : h.xend) + GZ_TRAILER;
        if (h.hint < least || h.hint > size - pos)
            break;
        /* The member's ISIZE bounds the unit's output too: a worker's
         * output arena holds about two units, so one worker can finish a
         * unit while the one before it is still being written out. */
        unsigned char isz[4];
        if (rd(src, isz, 4, pos + h.hint - 4) != 4)
            break;
        out += (uint64_t)isz[0] | (uint64_t)isz[1] << 8 |
               (uint64_t)isz[2] << 16 | (uint64_t)isz[3] << 24;
        pos += h.hint;
        if (out >= GZ_UNIT_OUT)
            break;
    }
    return pos > at ? pos : size;
}

static const sluice_plugin gz_plugin = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "gunzip",
    .version = "1.0.0",
    .description = "decompress gzip: members in parallel where their "
                   "headers give their size, as gzip -d otherwise",
    .license = "MIT",
    .options = gz_options,
    .n_options = sizeof gz_options / sizeof gz_options[0],
    .caps = SLUICE_CAP_ORDERED | SLUICE_CAP_MERGE,
    .state_size = sizeof(gz_state),
    .partial_size = sizeof(gz_part),
    .counter_names = gz_counter_names,
    .n_counters = sizeof gz_counter_names / sizeof gz_counter_names[0],
    .counters = gz_counters,
    .global_init = gz_global_init,
    .worker_init = gz_worker_init,
    .worker_fini = gz_worker_fini,
    .partial_init = gz_partial_init,
    .map = gz_map,
    .merge = gz_merge,
    .boundary = gz_boundary,
};

SLUICE_PLUGIN_DEFINE(gz_plugin)
