/*
 * plugins/gunzip/unpack.c -- pack(1)'s Huffman coding (.z), as gzip -d
 * reads it.
 *
 * The stream: 1f 1e, the original length (4 bytes, big-endian, modulo
 * 2^32), the longest code's length L (1 to 25; pack writes at most 24),
 * the number of leaves of each length 1..L (the count for L less 2: the
 * end-of-block code is not sent and the count is biased by one more), the
 * leaves' bytes by length, then the codes, most significant bit first.
 * The end-of-block code is the last code of length L.
 *
 * Codes are canonical in pack's own way: at each length the internal
 * nodes come first and the leaves after them, so a code of length n is a
 * leaf when its value is at least the number of internal nodes of that
 * length (parents[n]), and the leaf is literal[value + lit_base[n]].  A
 * table of 2^min(L, 12) entries gives the length of the short codes in one
 * step; longer ones go down the tree a bit at a time.  The header is
 * checked as gzip checks it, so a tree that is not complete, or has too
 * many leaves, is refused with gzip's words before any code is read.
 *
 * Pushed input: a code is decoded only when all its bits are in the bit
 * buffer; otherwise the decoder returns for more input and starts that
 * code again, so nothing is consumed twice.
 */
#include <stdio.h>
#include <string.h>

#include "formats.h"

enum { U_HEADER, U_CODES, U_DONE };

#define OUT_STEP ((size_t)64 << 10)

static int fail(gz_err *e, uint64_t at, const char *msg)
{
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    e->at = at;
    return -1;
}

void gz_unpack_start(gz_unpack *u)
{
    u->phase = U_HEADER;
    u->hstage = 0;
    u->hgot = 0;
    u->hwant = 5; /* length and L */
    u->out = 0;
    u->bitbuf = 0;
    u->valid = 0;
}

/* The header has what hwant asked for: check it and ask for the rest
 * (0), or build the tables (1); -1 on a bad header.  Stages: the length
 * and L; the leaf counts; the literals. */
static int header_step(gz_unpack *u, uint64_t at, gz_err *e)
{
    const unsigned char *h = u->hdr;
    if (u->hstage == 0) {
        u->orig_len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
                      (uint32_t)h[2] << 8 | h[3];
        u->max_len = h[4];
        if (u->max_len < 1 || u->max_len > PACK_MAXBITS)
            return fail(e, at,
                        "invalid compressed data -- Huffman code "
                        "bit length out of range");
        u->hstage = 1;
        u->hwant += (size_t)u->max_len;
        return 0;
    }
    if (u->hstage == 1) {
        int max_leaves = 1, n = 0;
        for (int len = 1; len <= u->max_len; len++) {
            int l = h[4 + len];
            if (max_leaves - (len == u->max_len) < l)
                return fail(e, at, "too many leaves in Huffman tree");
            max_leaves = (max_leaves - l + 1) * 2 - 1;
            n += l;
            u->leaves[len] = l;
        }
        if (n >= 256)
            return fail(e, at, "too many leaves in Huffman tree");
        u->hstage = 2;
        u->leaves[u->max_len]++; /* the bias: one more leaf sent */
        u->hwant += (size_t)n + 1;
        return 0;
    }
    /* The literals are in: the tables (gzip's build_tree). */
    size_t base = 0;
    const unsigned char *lit = h + 5 + u->max_len;
    for (int len = 1; len <= u->max_len; len++) {
        u->lit_base[len] = (int)base;
        memcpy(u->literal + base, lit + base, (size_t)u->leaves[len]);
        base += (size_t)u->leaves[len];
    }
    u->leaves[u->max_len]++; /* EOB, not sent */
    int nodes = 0;
    for (int len = u->max_len; len >= 1; len--) {
        nodes >>= 1;
        u->parents[len] = nodes;
        u->lit_base[len] -= nodes;
        nodes += u->leaves[len];
    }
    if ((nodes >> 1) != 1)
        return fail(e, at, "too few leaves in Huffman tree");
    u->peek_bits = u->max_len < PACK_PEEK ? u->max_len : PACK_PEEK;
    size_t fill = (size_t)1 << u->peek_bits;
    for (int len = 1; len <= u->peek_bits; len++) {
        size_t k = (size_t)u->leaves[len] << (u->peek_bits - len);
        if (k > fill)
            return fail(e, at, "too many leaves in Huffman tree");
        memset(u->prefix_len + fill - k, len, k);
        fill -= k;
    }
    memset(u->prefix_len, 0, fill);
    u->eob = (unsigned)u->leaves[u->max_len] - 1;
    return 1;
}

int gz_unpack_feed(gz_unpack *u, const unsigned char *in, size_t n, uint64_t at,
                   size_t *used, gz_sink *k, gz_err *e)
{
    size_t i = 0;
    while (u->phase == U_HEADER) {
        while (u->hgot < u->hwant && i < n)
            u->hdr[u->hgot++] = in[i++];
        if (u->hgot < u->hwant) {
            *used = n;
            return 0;
        }
        int r = header_step(u, at + i, e);
        if (r < 0)
            return -1;
        if (r > 0)
            u->phase = U_CODES;
    }
    if (u->phase == U_DONE) {
        *used = 0;
        return 1;
    }
    const unsigned peek_bits = (unsigned)u->peek_bits;
    const uint32_t peek_mask = (1u << peek_bits) - 1;
    for (;;) {
        while (u->valid < peek_bits) {
            if (i == n) {
                *used = n;
                return 0;
            }
            u->bitbuf = u->bitbuf << 8 | in[i++];
            u->valid += 8;
        }
        uint32_t peek =
            (uint32_t)(u->bitbuf >> (u->valid - peek_bits)) & peek_mask;
        unsigned len = u->prefix_len[peek];
        if (len > 0) {
            peek >>= peek_bits - len;
        } else {
            uint32_t mask = peek_mask;
            len = peek_bits;
            int more = 0;
            while (peek < (uint32_t)u->parents[len]) {
                len++;
                mask = mask << 1 | 1;
                while (u->valid < len && i < n) {
                    u->bitbuf = u->bitbuf << 8 | in[i++];
                    u->valid += 8;
                }
                if (u->valid < len) {
                    more = 1;
                    break;
                }
                peek = (uint32_t)(u->bitbuf >> (u->valid - len)) & mask;
            }
            if (more) {
                *used = n;
                return 0;
            }
        }
        if (peek == u->eob && (int)len == u->max_len) {
            u->valid -= len;
            u->phase = U_DONE;
            *used = i;
            if (u->orig_len != (uint32_t)u->out)
                return fail(e, at + i,
                            "invalid compressed data--length "
                            "error");
            return 1;
        }
        int idx = (int)peek + u->lit_base[len];
        if (idx < 0 || idx >= 256)
            return fail(e, at + i,
                        "invalid compressed data--format "
                        "violated");
        if (k->used == k->room && k->more(k, OUT_STEP) < 0)
            return -1;
        k->p[k->used++] = u->literal[idx];
        u->out++;
        u->valid -= len;
    }
}
