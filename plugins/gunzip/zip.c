/*
 * plugins/gunzip/zip.c -- the first entry of a zip, as gzip -d reads it.
 *
 * gzip reads a zip only as the whole input (its local header at offset
 * 0) and only its first entry: the local header, its name and extra field
 * (P_ZHEAD); the data, deflated (P_BODY in gunzip.c, with the gzip
 * members' streaming inflater) or stored (P_ZSTORED; P_ZSCAN when its
 * size comes only after it); then its CRC-32 and size, from the local
 * header or the data descriptor that follows the data, signed or not,
 * with Zip64's 8-byte sizes when the header has a Zip64 field (P_ZTAIL);
 * last, whether a second entry follows (P_ZNEXT: gzip refuses such a zip
 * to a file).  The central directory is never read.  Every phase takes
 * what the block at the cursor holds and keeps the rest of its work in
 * the worker's state, so a header or descriptor may be split anywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "gunzip.h"

/* Offsets in the local header's fixed part, its flags, extra field ids. */
#define ZIP_FLAGS 2
#define ZIP_METHOD 4
#define ZIP_CRC 10
#define ZIP_CSIZE 14
#define ZIP_USIZE 18
#define ZIP_NAMELEN 22
#define ZIP_EXTRALEN 24
#define ZIP_ENCRYPTED 0x0001 /* general purpose flags */
#define ZIP_DESCRIPTOR 0x0008
#define ZIP_ZIP64 0x0001 /* extra field id */

/* The local header is complete: check it as gzip's check_zipfile does and
 * start the entry's data. */
static int zip_begin(sluice_ctx *ctx, gz_state *s, uint64_t at)
{
    const unsigned char *h = s->zhead;
    unsigned method = gz_le16(h + ZIP_METHOD), flags = gz_le16(h + ZIP_FLAGS);
    if (method != 0 && method != GZ_DEFLATED)
        return gz_fail(ctx, s, s->m_start,
                       "first entry not deflated or stored -- use unzip");
    if (flags & ZIP_ENCRYPTED)
        return gz_fail(ctx, s, s->m_start, "encrypted file -- use unzip");
    s->zcrc = gz_le32(h + ZIP_CRC);
    s->zcsize = gz_le32(h + ZIP_CSIZE);
    s->zusize = gz_le32(h + ZIP_USIZE);
    s->z64 = 0;
    /* Zip64: the sizes that do not fit are in extra field 0x0001,
     * the uncompressed one first. */
    size_t xlen = gz_le16(h + ZIP_EXTRALEN), i = 0;
    while (xlen - i >= 4) {
        unsigned id = gz_le16(s->zextra + i);
        size_t len = gz_le16(s->zextra + i + 2);
        if (len > xlen - i - 4)
            break;
        if (id == ZIP_ZIP64) {
            /* a local header's field holds both sizes; a shorter one
             * only those whose 32-bit field is all ones */
            const unsigned char *v = s->zextra + i + 4;
            int both = len >= 16;
            size_t k = 0;
            s->z64 = 1;
            if ((s->zusize == UINT32_MAX || both) && len - k >= 8) {
                if (s->zusize == UINT32_MAX)
                    s->zusize = gz_le64(v + k);
                k += 8;
            }
            if (s->zcsize == UINT32_MAX && len - k >= 8)
                s->zcsize = gz_le64(v + k);
        }
        i += 4 + len;
    }
    s->fmt = F_ZIP;
    s->m_hint = GZ_NOHINT;
    gz_body_reset(s);
    if (method == GZ_DEFLATED) {
        s->phase = P_BODY;
        return 0;
    }
    if (s->zusize != s->zcsize)
        return gz_fail(ctx, s, at, "invalid compressed data--length mismatch");
    s->zleft = s->zusize;
    s->zdlen = 0;
    /* Written as a stream, its size known only from the descriptor after
     * it: the data ends where a descriptor that matches it begins. */
    if (s->zusize == 0)
        s->phase = (flags & ZIP_DESCRIPTOR) ? P_ZSCAN : P_ZTAIL;
    else
        s->phase = P_ZSTORED;
    return 0;
}

int gz_zip_head(sluice_ctx *ctx, gz_state *s, gz_cur *c)
{
    if (s->zgot < ZIP_FIXED) {
        if (!gz_gather(s->zhead, &s->zgot, ZIP_FIXED, c))
            return 0;
        if (!s->zextra && !(s->zextra = malloc(ZIP_EXTRA_MAX)))
            return gz_fail(ctx, s, s->m_start, "gunzip: out of memory");
    }
    size_t nlen = gz_le16(s->zhead + ZIP_NAMELEN);
    size_t xlen = gz_le16(s->zhead + ZIP_EXTRALEN);
    size_t total = ZIP_FIXED + nlen + xlen;
    while (s->zgot < total && c->i < c->n) {
        size_t k = total - s->zgot;
        if (k > c->n - c->i)
            k = c->n - c->i;
        size_t in_name =
            s->zgot < ZIP_FIXED + nlen ? ZIP_FIXED + nlen - s->zgot : 0;
        if (k > in_name) {
            size_t x0 = s->zgot + in_name - ZIP_FIXED - nlen;
            memcpy(s->zextra + x0, c->p + c->i + in_name, k - in_name);
        }
        s->zgot += k;
        c->i += k;
    }
    if (s->zgot < total)
        return 0;
    return zip_begin(ctx, s, c->off + c->i);
}

int gz_zip_stored(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c)
{
    size_t k = c->n - c->i;
    if (k > s->zleft)
        k = (size_t)s->zleft;
    if (gz_put_bytes(ctx, s, pt, c->p + c->i, k, c->off + c->i) < 0)
        return -1;
    c->i += k;
    s->zleft -= k;
    if (s->zleft == 0) {
        s->zdlen = 0;
        s->phase = P_ZTAIL;
    }
    return 0;
}

/* The data descriptor a stored entry of unknown size ends with, if one
 * starts at zdesc[0]: signed, with this entry's CRC and sizes.  1 yes, 0
 * no, -1 when more bytes are needed to tell. */
static int zdesc_ends(const gz_state *s)
{
    size_t want = s->z64 ? 24 : 16;
    size_t k = s->zdlen < 4 ? s->zdlen : 4;
    if (memcmp(s->zdesc, "PK\7\10", k) != 0)
        return 0;
    if (s->zdlen < want)
        return -1;
    uint64_t cs = s->z64 ? gz_le64(s->zdesc + 8) : gz_le32(s->zdesc + 8);
    uint64_t us = s->z64 ? gz_le64(s->zdesc + 16) : gz_le32(s->zdesc + 12);
    return gz_le32(s->zdesc + 4) == s->crc && cs == s->m_out && us == s->m_out;
}

/* A stored entry of unknown size: bytes are data until a descriptor that
 * matches them (CRC and both sizes) is seen; up to 24 bytes that may
 * begin one are held back in zdesc. */
int gz_zip_scan(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c)
{
    size_t want = s->z64 ? 24 : 16;
    while (c->i < c->n) {
        if (s->zdlen == 0) {
            /* the next "PK\7\10" of the block, or its last 3 bytes */
            const unsigned char *p = c->p + c->i;
            size_t n = c->n - c->i, j = 0;
            while (j < n) {
                const unsigned char *q = memchr(p + j, 'P', n - j);
                if (!q) {
                    j = n;
                    break;
                }
                j = (size_t)(q - p);
                size_t k = n - j < 4 ? n - j : 4;
                if (memcmp(q, "PK\7\10", k) == 0)
                    break;
                j++;
            }
            if (gz_put_bytes(ctx, s, pt, p, j, c->off + c->i) < 0)
                return -1;
            c->i += j;
            if (c->i == c->n)
                return 0;
        }
        while (s->zdlen < want && c->i < c->n)
            s->zdesc[s->zdlen++] = c->p[c->i++];
        int r = zdesc_ends(s);
        if (r < 0)
            return 0;
        if (r > 0) {
            pt->members++;
            s->zdlen = 0;
            s->phase = P_ZNEXT;
            return 0;
        }
        /* not it: the first held byte is data, the rest is looked at
         * again */
        if (gz_put_bytes(ctx, s, pt, s->zdesc, 1, c->off + c->i) < 0)
            return -1;
        memmove(s->zdesc, s->zdesc + 1, --s->zdlen);
        while (s->zdlen > 0 && zdesc_ends(s) == 0) {
            if (gz_put_bytes(ctx, s, pt, s->zdesc, 1, c->off + c->i) < 0)
                return -1;
            memmove(s->zdesc, s->zdesc + 1, --s->zdlen);
        }
    }
    return 0;
}

/* Takes bytes into zdesc up to `want`; 1 when it has them. */
static int ztake(gz_state *s, gz_cur *c, size_t want)
{
    return s->zdlen >= want || gz_gather(s->zdesc, &s->zdlen, want, c);
}

/* After the entry's data: its CRC and size, from the data descriptor
 * (signed or not, Zip64 or not) or from the local header. */
int gz_zip_tail(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c)
{
    uint64_t crc = s->zcrc, usize = s->zusize;
    size_t used = 0;
    if (gz_le16(s->zhead + ZIP_FLAGS) & ZIP_DESCRIPTOR) {
        if (!ztake(s, c, 4))
            return 0;
        int sig = memcmp(s->zdesc, "PK\7\10", 4) == 0;
        size_t at = sig ? 4 : 0, want = at + (s->z64 ? 20 : 12);
        if (!ztake(s, c, want))
            return 0;
        crc = gz_le32(s->zdesc + at);
        usize =
            s->z64 ? gz_le64(s->zdesc + at + 12) : gz_le32(s->zdesc + at + 8);
        used = want;
    }
    if (crc != s->crc)
        return gz_fail(ctx, s, s->m_start, MSG_CRC);
    if (s->z64 ? usize != s->m_out : usize != (uint32_t)s->m_out)
        return gz_fail(ctx, s, s->m_start, MSG_LENGTH);
    pt->members++;
    /* what is left in zdesc begins what follows the entry */
    memmove(s->zdesc, s->zdesc + used, s->zdlen - used);
    s->zdlen -= used;
    s->phase = P_ZNEXT;
    return 0;
}

/* gzip refuses a zip of several entries (or warns, to stdout). */
void gz_zip_next(gz_state *s, gz_part *pt, gz_cur *c)
{
    if (s->zdlen < 4 && !ztake(s, c, 4))
        return;
    if (memcmp(s->zdesc, "PK\3\4", 4) == 0 && pt->zip_more_at == UINT64_MAX)
        pt->zip_more_at = s->m_start;
    s->phase = P_DONE;
    c->i = c->n;
}

int gz_zip_end(sluice_ctx *ctx, gz_state *s, gz_part *pt, uint64_t end)
{
    if (gz_le16(s->zhead + ZIP_FLAGS) & ZIP_DESCRIPTOR)
        return gz_fail(ctx, s, end, MSG_EOF);
    /* the entry ends the input: its sizes were in its header */
    gz_cur none = {NULL, 0, 0, end};
    return gz_zip_tail(ctx, s, pt, &none);
}
