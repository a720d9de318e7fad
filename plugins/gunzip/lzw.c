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
 * Each table entry knows its string's length, so a string is written
 * straight into the output, back to front, without a stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"

#define LZW_CLEAR 256
#define LZW_FIRST 257 /* the first free entry in block mode */
#define LZW_INIT_BITS 9

/* gzip's words: a first code that is no byte, and a code past the table
 * (with advice the host leaves out when writing to standard output). */
#define MSG_FIRST "corrupt input."
#define MSG_PAST "corrupt input. Use zcat to recover some data."

int gz_lzw_alloc(gz_lzw *z)
{
    size_t n = (size_t)1 << LZW_BITS;
    z->prefix = malloc(n * sizeof *z->prefix);
    z->suffix = malloc(n);
    z->len = malloc(n * sizeof *z->len);
    if (!z->prefix || !z->suffix || !z->len) {
        gz_lzw_free(z);
        return -1;
    }
    for (unsigned c = 0; c < 256; c++) {
        z->prefix[c] = 0;
        z->suffix[c] = (uint8_t)c;
        z->len[c] = 0;
    }
    return 0;
}

void gz_lzw_free(gz_lzw *z)
{
    free(z->prefix);
    free(z->suffix);
    free(z->len);
    z->prefix = NULL;
    z->suffix = NULL;
    z->len = NULL;
}

void gz_lzw_start(gz_lzw *z)
{
    z->have_flags = 0;
    z->ggot = 0;
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
                 "compressed with %u bits, can only handle %d bits",
                 z->maxbits, LZW_BITS);
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

/* Writes the string of `code` and adds the entry that follows it; 0 or
 * -1. */
static int put_string(gz_lzw *z, uint32_t code, gz_sink *k, uint64_t at,
                      gz_err *e)
{
    uint32_t incode = code;
    int kwk = 0;
    if (z->oldcode < 0) {
        if (code >= 256)
            return corrupt(e, at, MSG_FIRST);
        if (k->used == k->room && k->more(k, 1) < 0)
            return -1;
        k->p[k->used++] = (unsigned char)code;
        z->finchar = code;
        z->oldcode = (int32_t)code;
        return 0;
    }
    if (code >= z->free_ent) {
        /* KwKwK: the entry being made, the last string plus its own
         * first byte. */
        if (code > z->free_ent)
            return corrupt(e, at, MSG_PAST);
        kwk = 1;
        code = (uint32_t)z->oldcode;
    }
    size_t slen = (size_t)z->len[code] + 1;
    size_t total = slen + (size_t)kwk;
    if (k->room - k->used < total && k->more(k, total) < 0)
        return -1;
    unsigned char *o = k->p + k->used;
    if (kwk)
        o[slen] = (unsigned char)z->finchar;
    size_t i = slen;
    uint32_t c = code;
    while (c >= 256) {
        o[--i] = z->suffix[c];
        c = z->prefix[c];
    }
    o[0] = (unsigned char)c;
    k->used += total;
    z->finchar = c;
    if (z->free_ent < z->maxmaxcode) {
        uint32_t f = z->free_ent++;
        z->prefix[f] = (uint16_t)z->oldcode;
        z->suffix[f] = (uint8_t)c;
        z->len[f] = (uint16_t)(z->len[z->oldcode] + 1);
    }
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
        if (code == LZW_CLEAR && z->block_mode) {
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
    if (!z->have_flags && n > 0) {
        if (take_flags(z, in[0], at, e) < 0)
            return -1;
        i = 1;
    }
    while (i < n) {
        unsigned want = z->n_bits;
        if (z->ggot == 0 && n - i >= want) {
            if (decode_group(z, in + i, want, at + i, k, e) < 0)
                return -1;
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
                return -1;
        }
    }
    return 0;
}

int gz_lzw_end(gz_lzw *z, uint64_t end, gz_sink *k, gz_err *e)
{
    if (!z->have_flags) {
        snprintf(e->msg, sizeof e->msg, "unexpected end of file");
        e->at = end;
        return -1;
    }
    unsigned got = z->ggot;
    z->ggot = 0;
    return got ? decode_group(z, z->grp, got, z->grp_at, k, e) : 0;
}
