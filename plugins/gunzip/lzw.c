/*
 * plugins/gunzip/lzw.c -- compress(1)'s LZW (.Z), as gzip -d reads it.
 *
 * The stream: 1f 9d, a flags byte (bits 0-4 the widest code, bit 7 block
 * mode, bits 5-6 reserved), then codes packed least significant bit
 * first.  Codes start 9 bits wide and widen by one when the table passes
 * the largest code of the current width; in block mode code 256 empties
 * the table and codes are 9 bits again.
 *
 * The quirk every reader must copy: compress writes codes in groups of
 * eight, so a group is exactly n_bits bytes, and when the width changes
 * (widening or clearing) in the middle of a group the rest of that group
 * is padding.  So the decoder works group by group: it gathers n_bits
 * bytes (or takes them straight from the block when they are all there)
 * and decodes the group's codes, dropping what follows a width change.
 * At the end of the input, a last partial group gives the codes that fit
 * in it whole.
 *
 * Long strings are copied, not walked: every entry's string was written
 * out once, contiguously (the string of the code before it, then the
 * first byte of the next), so the decoder keeps the recent output in a
 * history buffer and, per code, where its string was last written.  A
 * code whose string is longer than three bytes and still in the history is
 * one copy; shorter or older ones are rebuilt from the table (prefix,
 * suffix), back to front, from 32-bit entries that stay in cache.  The
 * history is handed to the sink as it fills and at the end of each call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"

#define LZW_CLEAR 256
#define LZW_FIRST 257 /* the first free entry in block mode */
#define LZW_INIT_BITS 9
#define LZW_ENTRIES ((size_t)1 << LZW_BITS)
#define HIST_SIZE ((size_t)4 << 20)   /* the history buffer */
#define HIST_KEEP ((size_t)1 << 20)   /* what stays when it is compacted */
#define HIST_SLACK (LZW_ENTRIES + 64) /* room one string always has */
#define OUT_STEP ((size_t)256 << 10)

/* gzip's words: a first code that is no byte, and a code past the table
 * (with advice the host leaves out when writing to standard output). */
#define MSG_FIRST "corrupt input."
#define MSG_PAST "corrupt input. Use zcat to recover some data."

/* An entry in 32 bits, so that the table stays in cache: its last byte,
 * the code of the rest, its length less one (255: look in len[]).  Where
 * its string was last written is apart, in pos[]: 1 + an index in hist,
 * 0 when it is not in the history. */
#define E_SUFFIX(e) ((unsigned)((e)&0xff))
#define E_PREFIX(e) ((uint32_t)((e) >> 8 & 0xffff))
#define E_LEN(e) ((size_t)((e) >> 24))
#define E_LONG 255
#define ENTRY(suffix, prefix, len)                                             \
    ((uint32_t)(suffix) | (uint32_t)(prefix) << 8 |                            \
     (uint32_t)((len) < E_LONG ? (len) : E_LONG) << 24)

int gz_lzw_alloc(gz_lzw *z)
{
    z->ent = malloc(LZW_ENTRIES * sizeof *z->ent);
    z->len = malloc(LZW_ENTRIES * sizeof *z->len);
    z->pos = calloc(LZW_ENTRIES, sizeof *z->pos);
    z->hist = calloc(1, HIST_SIZE);
    if (!z->ent || !z->len || !z->pos || !z->hist) {
        gz_lzw_free(z);
        return -1;
    }
    for (unsigned c = 0; c < 256; c++) {
        z->ent[c] = ENTRY(c, c, 0);
        z->len[c] = 0;
    }
    return 0;
}

void gz_lzw_free(gz_lzw *z)
{
    free(z->ent);
    free(z->len);
    free(z->pos);
    free(z->hist);
    z->ent = NULL;
    z->len = NULL;
    z->pos = NULL;
    z->hist = NULL;
}

void gz_lzw_start(gz_lzw *z)
{
    /* Nothing of an earlier stream may be read by this one. */
    size_t rest = LZW_ENTRIES - 256;
    memset(z->ent + 256, 0, rest * sizeof *z->ent);
    memset(z->len + 256, 0, rest * sizeof *z->len);
    memset(z->pos + 256, 0, rest * sizeof *z->pos);
    z->have_flags = 0;
    z->ggot = 0;
    z->w = 0;
    z->flushed = 0;
    z->last = 0;
}

unsigned gz_lzw_flags(const gz_lzw *z)
{
    return z->have_flags ? z->reserved : 0;
}

static void reset_width(gz_lzw *z)
{
    z->n_bits = LZW_INIT_BITS;
    z->maxcode = (1u << LZW_INIT_BITS) - 1;
}

/* The header's flags byte. */
static int take_flags(gz_lzw *z, unsigned b, uint64_t at, gz_err *e)
{
    z->have_flags = 1;
    z->maxbits = b & LZW_MAXBITS;
    z->block_mode = b & LZW_BLOCK;
    z->reserved = b & LZW_RESERVED;
    if (z->maxbits > LZW_BITS) {
        snprintf(e->msg, sizeof e->msg,
                 "compressed with %u bits, can only handle %d bits", z->maxbits,
                 LZW_BITS);
        e->at = at;
        return -1;
    }
    z->maxmaxcode = 1u << z->maxbits;
    z->free_ent = (b & LZW_BLOCK) ? LZW_FIRST : 256;
    z->oldcode = -1;
    z->finchar = 0;
    reset_width(z);
    return 0;
}

static int corrupt(gz_err *e, uint64_t at, const char *msg)
{
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    e->at = at;
    return -1;
}

/* Hands hist[flushed..w) to the sink; 0 or -1. */
static int flush(gz_lzw *z, gz_sink *k)
{
    while (z->flushed < z->w) {
        if (k->used == k->room && k->more(k, OUT_STEP) < 0)
            return -1;
        size_t n = z->w - z->flushed;
        if (n > k->room - k->used)
            n = k->room - k->used;
        memcpy(k->p + k->used, z->hist + z->flushed, n);
        k->used += n;
        z->flushed += n;
    }
    return 0;
}

/* An error: what was decoded before it still goes out (gzip writes it),
 * then -1. */
static int stop(gz_lzw *z, gz_sink *k, const gz_err *e)
{
    if (e->msg[0]) /* not the sink's own failure, already reported */
        flush(z, k);
    return -1;
}

/* Makes room for one more string: flushes, keeps the last HIST_KEEP
 * bytes, and moves every entry's position with them (a pass over the
 * table every few MiB of output); 0 or -1. */
static int compact(gz_lzw *z, gz_sink *k)
{
    if (flush(z, k) < 0)
        return -1;
    size_t drop = z->w - HIST_KEEP;
    memmove(z->hist, z->hist + drop, HIST_KEEP);
    uint32_t end = z->free_ent < LZW_ENTRIES ? z->free_ent : LZW_ENTRIES;
    for (uint32_t c = 256; c < end; c++)
        z->pos[c] = z->pos[c] > drop ? z->pos[c] - drop : 0;
    z->last = z->last > drop ? z->last - drop : 0;
    z->w = HIST_KEEP;
    z->flushed = HIST_KEEP;
    return 0;
}

/* Copies a string of slen bytes written earlier at `from` to o; its first
 * byte. */
static inline unsigned copy(const unsigned char *from, unsigned char *o,
                            size_t slen)
{
    if (slen > 16) {
        memcpy(o, from, slen);
    } else if (o - from >= 64) {
        /* sixteen bytes read, then written (they may overlap o) */
        unsigned char t[16];
        memcpy(t, from, 16);
        memcpy(o, t, 16);
    } else {
        /* byte by byte: a wide load over bytes just stored would wait for
         * the stores (no forwarding) */
        for (size_t i = 0; i < slen; i++)
            o[i] = from[i];
    }
    return from[0];
}

/* Rebuilds the string of `code` (entry ec, slen bytes) at o from the
 * table, back to front; its first byte. */
static inline unsigned walk(const gz_lzw *z, uint32_t ec, uint32_t code,
                            size_t slen, unsigned char *o)
{
    size_t i = slen;
    while (code >= 256) {
        o[--i] = (unsigned char)E_SUFFIX(ec);
        code = E_PREFIX(ec);
        ec = z->ent[code];
    }
    o[0] = (unsigned char)code;
    return code;
}

/* Writes the string of `code` and adds the entry that follows it; 0 or
 * -1. */
static inline int put_string(gz_lzw *z, uint32_t code, gz_sink *k, uint64_t at,
                             gz_err *e)
{
    if (z->w + HIST_SLACK > HIST_SIZE && compact(z, k) < 0)
        return -1;
    unsigned char *o = z->hist + z->w;
    size_t here = z->w + 1; /* as pos[] has it */
    if (z->oldcode < 0) {
        if (code >= 256)
            return corrupt(e, at, MSG_FIRST);
        o[0] = (unsigned char)code;
        z->w++;
        z->finchar = code;
        z->oldcode = (int32_t)code;
        z->last = here;
        z->lastlen = 1;
        return 0;
    }
    uint32_t incode = code;
    int kwk = 0;
    if (code >= z->free_ent) {
        /* KwKwK: the entry being made, the last string plus its own
         * first byte. */
        if (code > z->free_ent)
            return corrupt(e, at, MSG_PAST);
        /* the last code was itself past a full table: no entry holds
         * it (compress never writes this) */
        if ((uint32_t)z->oldcode >= z->free_ent)
            return corrupt(e, at, MSG_PAST);
        kwk = 1;
        code = (uint32_t)z->oldcode;
    }
    uint32_t ec = z->ent[code];
    size_t slen = E_LEN(ec) + 1;
    unsigned first; /* the string's first byte, kept out of memory */
    if (slen <= 2) {
        /* a byte (its entry holds it twice) or two: both in the entry,
         * written without a branch on which */
        first = E_PREFIX(ec);
        o[0] = (unsigned char)first;
        o[1] = (unsigned char)E_SUFFIX(ec);
    } else {
        if (slen == E_LONG + 1)
            slen = (size_t)z->len[code] + 1;
        size_t pos = slen > 3 ? z->pos[code] : 0;
        first =
            pos ? copy(z->hist + pos - 1, o, slen) : walk(z, ec, code, slen, o);
    }
    if (kwk)
        o[slen] = (unsigned char)z->finchar;
    z->finchar = first;
    if (z->free_ent < z->maxmaxcode) {
        /* the last code's string, then this one's first byte: written
         * together at `last` */
        uint32_t f = z->free_ent++;
        size_t olen = z->lastlen; /* the new string's length less one */
        z->ent[f] = ENTRY(z->finchar, (uint32_t)z->oldcode, olen);
        if (olen >= E_LONG)
            z->len[f] = (uint16_t)olen;
        z->pos[f] = (uint32_t)z->last;
    }
    /* A long string is copied from where it was written last; the
     * entries of short ones are not touched again (a store to a random
     * entry costs more than rebuilding a short string). */
    if (slen > 8 && incode >= 256)
        z->pos[incode] = (uint32_t)here;
    z->last = here;
    z->lastlen = slen + (size_t)kwk;
    z->w += slen + (size_t)kwk;
    z->oldcode = (int32_t)incode;
    return 0;
}

/* Decodes the codes of a group of glen bytes (n_bits, or fewer at the
 * end) starting at input offset `at`; the group's rest after a width
 * change is dropped.  0 or -1. */
static int decode_group(gz_lzw *z, const unsigned char *g, unsigned glen,
                        uint64_t at, gz_sink *k, gz_err *e)
{
    unsigned char b[LZW_BITS + 3];
    memcpy(b, g, glen);
    memset(b + glen, 0, sizeof b - glen);
    unsigned nb = z->n_bits, bits = glen * 8, pos = 0;
    uint32_t mask = (1u << nb) - 1;
    while (pos + nb <= bits) {
        if (z->free_ent > z->maxcode)
            break; /* widen: the rest of the group is padding */
        unsigned q = pos >> 3;
        uint32_t code = ((uint32_t)b[q] | (uint32_t)b[q + 1] << 8 |
                         (uint32_t)b[q + 2] << 16) >>
                            (pos & 7) &
                        mask;
        uint64_t cat = at + q;
        pos += nb;
        /* a first code of 256 is no clear: gzip finds it corrupt */
        if (code == LZW_CLEAR && z->block_mode && z->oldcode >= 0) {
            z->free_ent = LZW_FIRST - 1;
            reset_width(z);
            return 0;
        }
        if (put_string(z, code, k, cat, e) < 0)
            return -1;
    }
    if (z->free_ent > z->maxcode) {
        z->n_bits++;
        z->maxcode =
            z->n_bits == z->maxbits ? z->maxmaxcode : (1u << z->n_bits) - 1;
    }
    return 0;
}

int gz_lzw_feed(gz_lzw *z, const unsigned char *in, size_t n, uint64_t at,
                gz_sink *k, gz_err *e)
{
    size_t i = 0;
    e->msg[0] = '\0';
    if (!z->have_flags && n > 0) {
        if (take_flags(z, in[0], at, e) < 0)
            return -1;
        i = 1;
    }
    while (i < n) {
        unsigned want = z->n_bits;
        if (z->ggot == 0 && n - i >= want) {
            if (decode_group(z, in + i, want, at + i, k, e) < 0)
                return stop(z, k, e);
            i += want;
            continue;
        }
        if (z->ggot == 0)
            z->grp_at = at + i;
        size_t t = want - z->ggot;
        if (t > n - i)
            t = n - i;
        memcpy(z->grp + z->ggot, in + i, t);
        z->ggot += (unsigned)t;
        i += t;
        if (z->ggot == want) {
            z->ggot = 0;
            if (decode_group(z, z->grp, want, z->grp_at, k, e) < 0)
                return stop(z, k, e);
        }
    }
    return flush(z, k);
}

int gz_lzw_end(gz_lzw *z, uint64_t end, gz_sink *k, gz_err *e)
{
    e->msg[0] = '\0';
    if (!z->have_flags) {
        snprintf(e->msg, sizeof e->msg, "unexpected end of file");
        e->at = end;
        return -1;
    }
    unsigned got = z->ggot;
    z->ggot = 0;
    if (got && decode_group(z, z->grp, got, z->grp_at, k, e) < 0)
        return stop(z, k, e);
    return flush(z, k);
}
