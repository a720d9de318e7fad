/*
 * mkpack.c -- writes standard input to standard output in the format of
 * the old Unix pack(1), the ".z" files gzip -d reads.  A test fixture
 * maker: no options, no dependencies.
 *
 * The format, as gzip's unpack.c decodes it:
 *   0x1f 0x1e                 magic
 *   4 bytes, big-endian       the input's length, modulo 2^32
 *   1 byte                    max_len, the longest code (1..24)
 *   max_len bytes             the number of leaves of each length 1..max_len;
 *                             the last one counts the end-of-block code
 *                             (EOB) and is stored minus 2
 *   the literals              shortest codes first, within one length in
 *                             the order of their codes; EOB is not stored
 *   the codes, MSB first      one per input byte, then EOB, then zero bits
 *                             to the next byte
 * The tree must be complete.  At each length the decoder takes the lowest
 * code values for inner nodes (the children of inner node v are 2v and
 * 2v+1 one level down) and the rest for leaves, in literal order; EOB is
 * the highest code of length max_len.  The codes here are assigned the
 * same way, from the same per-length counts.
 *
 * pack refuses input with fewer than two distinct bytes; mkpack writes it
 * anyway, and gzip decodes it: one byte value and EOB make a tree of two
 * leaves, and for empty input a byte that never occurs is EOB's sibling.
 *
 * Exit status: 0, or 1 on a read or write error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LEN 24  /* pack's longest code */
#define SYMBOLS 257 /* the 256 byte values, then EOB */
#define EOB 256

/* ---------------------------------------------------------- input */

/* The whole of stdin in one buffer; *len its length.  NULL on error. */
static unsigned char *read_all(size_t *len)
{
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);

    if (buf == NULL)
        return NULL;
    for (;;) {
        if (n == cap) {
            unsigned char *p = realloc(buf, cap * 2);
            if (p == NULL) {
                free(buf);
                return NULL;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) {
            if (ferror(stdin)) {
                free(buf);
                return NULL;
            }
            break;
        }
    }
    *len = n;
    return buf;
}

/* ------------------------------------------------- code lengths */

/* Huffman code lengths of the symbols with weight[s] > 0 into len[s]
 * (0 for the others); returns the longest.  At least two symbols have a
 * weight.  Quadratic, which is nothing for 257 symbols. */
static int huffman(const uint64_t *weight, int *len)
{
    uint64_t w[2 * SYMBOLS];
    int parent[2 * SYMBOLS], live[2 * SYMBOLS];
    int nodes = 0, nlive = 0, max = 0;
    int leaf[SYMBOLS];

    for (int s = 0; s < SYMBOLS; s++) {
        leaf[s] = -1;
        len[s] = 0;
        if (weight[s] > 0) {
            leaf[s] = nodes;
            w[nodes] = weight[s];
            parent[nodes] = -1;
            live[nlive++] = nodes++;
        }
    }
    while (nlive > 1) {
        int a = 0, b = 1; /* indices in live[] of the two lightest */
        if (w[live[b]] < w[live[a]])
            a = 1, b = 0;
        for (int i = 2; i < nlive; i++) {
            if (w[live[i]] < w[live[a]])
                b = a, a = i;
            else if (w[live[i]] < w[live[b]])
                b = i;
        }
        w[nodes] = w[live[a]] + w[live[b]];
        parent[nodes] = -1;
        parent[live[a]] = parent[live[b]] = nodes;
        /* the new node takes a's place, the last takes b's */
        live[a] = nodes++;
        live[b] = live[--nlive];
    }
    for (int s = 0; s < SYMBOLS; s++) {
        if (leaf[s] < 0)
            continue;
        int d = 0;
        for (int n = leaf[s]; parent[n] >= 0; n = parent[n])
            d++;
        len[s] = d;
        if (d > max)
            max = d;
    }
    return max;
}

/* Code lengths of at most MAX_LEN bits: the weights are halved (never
 * below 1) until the Huffman code fits.  Returns the longest length. */
static int limited_lengths(const uint64_t *weight, int *len)
{
    uint64_t w[SYMBOLS];
    int max;

    memcpy(w, weight, sizeof w);
    while ((max = huffman(w, len)) > MAX_LEN) {
        for (int s = 0; s < SYMBOLS; s++)
            if (w[s] > 0)
                w[s] = (w[s] + 1) / 2;
    }
    return max;
}

/* ----------------------------------------------------------- output */

struct out {
    uint64_t acc; /* pending bits, the newest lowest */
    int nbits;    /* how many of acc's low bits are pending */
    size_t fill;  /* bytes in buf */
    unsigned char buf[1 << 16];
    int failed; /* a write failed */
};

static void out_flush(struct out *o)
{
    if (o->fill > 0 && fwrite(o->buf, 1, o->fill, stdout) != o->fill)
        o->failed = 1;
    o->fill = 0;
}

static void out_byte(struct out *o, unsigned b)
{
    if (o->fill == sizeof o->buf)
        out_flush(o);
    o->buf[o->fill++] = (unsigned char)b;
}

/* Appends the n (<= 32) low bits of code, most significant first. */
static void out_bits(struct out *o, uint32_t code, int n)
{
    o->acc = (o->acc << n) | code;
    o->nbits += n;
    if (o->nbits >= 32) {
        if (o->fill + 4 > sizeof o->buf)
            out_flush(o);
        uint32_t v = (uint32_t)(o->acc >> (o->nbits - 32));
        o->buf[o->fill++] = (unsigned char)(v >> 24);
        o->buf[o->fill++] = (unsigned char)(v >> 16);
        o->buf[o->fill++] = (unsigned char)(v >> 8);
        o->buf[o->fill++] = (unsigned char)v;
        o->nbits -= 32;
    }
}

/* Pads the pending bits with zeros to a whole byte and writes them. */
static void out_align(struct out *o)
{
    while (o->nbits >= 8) {
        out_byte(o, (unsigned)(o->acc >> (o->nbits - 8)) & 0xff);
        o->nbits -= 8;
    }
    if (o->nbits > 0)
        out_byte(o, (unsigned)(o->acc << (8 - o->nbits)) & 0xff);
    o->nbits = 0;
}

/* ------------------------------------------------------------- main */

int main(void)
{
    static struct out o;
    uint64_t weight[SYMBOLS] = {0};
    int len[SYMBOLS], count[MAX_LEN + 1] = {0}, parents[MAX_LEN + 1];
    uint32_t code[SYMBOLS];
    size_t n;
    unsigned char *in = read_all(&n);
    int distinct = 0, max;

    if (in == NULL) {
        fprintf(stderr, "mkpack: read error: %s\n", strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        weight[in[i]]++;
    for (int s = 0; s < 256; s++)
        distinct += weight[s] > 0;
    if (distinct == 0)
        weight[0] = 1; /* a byte that never occurs: the tree needs two leaves */
    weight[EOB] = 1;

    max = limited_lengths(weight, len);
    /* EOB must be a longest code: trade lengths with a longest byte. */
    if (len[EOB] < max) {
        for (int s = 0; s < 256; s++) {
            if (len[s] == max) {
                len[s] = len[EOB];
                len[EOB] = max;
                break;
            }
        }
    }
    for (int s = 0; s < SYMBOLS; s++)
        if (len[s] > 0)
            count[len[s]]++;

    /* Inner nodes per length, bottom up, as the decoder counts them. */
    int nodes = 0;
    for (int l = max; l >= 1; l--) {
        nodes >>= 1;
        parents[l] = nodes;
        nodes += count[l];
    }
    if (nodes != 2) {
        fprintf(stderr, "mkpack: internal error: incomplete tree\n");
        return 1;
    }
    /* Leaves take the code values above the inner nodes, in literal
     * order (byte value), EOB last. */
    for (int l = 1; l <= max; l++) {
        uint32_t next = (uint32_t)parents[l];
        for (int s = 0; s < SYMBOLS; s++)
            if (len[s] == l)
                code[s] = next++;
    }

    out_byte(&o, 0x1f);
    out_byte(&o, 0x1e);
    for (int sh = 24; sh >= 0; sh -= 8)
        out_byte(&o, (unsigned)((uint64_t)n >> sh) & 0xff);
    out_byte(&o, (unsigned)max);
    for (int l = 1; l <= max; l++)
        out_byte(&o, (unsigned)(l == max ? count[l] - 2 : count[l]));
    for (int l = 1; l <= max; l++)
        for (int s = 0; s < 256; s++)
            if (len[s] == l)
                out_byte(&o, (unsigned)s);

    for (size_t i = 0; i < n; i++)
        out_bits(&o, code[in[i]], len[in[i]]);
    out_bits(&o, code[EOB], len[EOB]);
    out_align(&o);
    out_flush(&o);
    free(in);
    if (o.failed || fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mkpack: write error: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
