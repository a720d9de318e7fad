/*
 * plugins/gunzip/formats.h -- the older formats gzip -d reads besides gzip:
 * compress's LZW (.Z, lzw.c) and pack's Huffman coding (.z, unpack.c).
 *
 * Both decoders are pushed: the plugin hands them the input as the engine
 * delivers it, block after block, and they keep whatever they need between
 * calls in their state.  They write into a sink the plugin provides, which
 * commits the bytes written so far and reserves more room on demand.  They
 * know nothing of sluice otherwise.
 *
 * Errors come back as a negative value with the message (GNU gzip's
 * wording, without the file name) and the input offset it is about.
 */
#ifndef SLUICE_GUNZIP_FORMATS_H
#define SLUICE_GUNZIP_FORMATS_H

#include <stddef.h>
#include <stdint.h>

/* Where decoded bytes go: p[used..room) is free.  more() makes room for at
 * least `need` bytes (need <= SLUICE_MAX_RESERVE_SIZE), moving the bytes
 * already written on; 0, or -1 when the plugin has stopped (it has reported
 * why). */
typedef struct gz_sink {
    unsigned char *p;
    size_t used, room;
    int (*more)(struct gz_sink *k, size_t need);
    void *user;
} gz_sink;

/* A decoder's error: message and offset; set with a return of -1. */
typedef struct gz_err {
    char msg[96];
    uint64_t at;
} gz_err;

/* ---------------------------------------------------------------- LZW */

#define LZW_MAGIC1 0x9d /* after 0x1f */
#define LZW_BITS 16     /* the widest codes read */
#define LZW_BLOCK 0x80  /* header flag: code 256 clears the table */
#define LZW_RESERVED 0x60
#define LZW_MAXBITS 0x1f

typedef struct gz_lzw {
    uint32_t *ent;       /* [1 << LZW_BITS] the table (lzw.c) */
    uint16_t *len;       /* [1 << LZW_BITS] string lengths less one */
    uint32_t *pos;       /* [1 << LZW_BITS] 1 + where last written */
    unsigned char *hist; /* recent output */
    size_t w, flushed;   /* bytes written to hist, handed to the sink */
    size_t last;         /* 1 + where the last code's string was written */
    size_t lastlen;      /* and its length */
    int have_flags;      /* the header's third byte was read */
    unsigned maxbits, block_mode, reserved; /* from the flags byte */
    unsigned n_bits;                        /* the width of codes now */
    uint32_t maxcode, maxmaxcode; /* widen past maxcode; no entry past max */
    uint32_t free_ent;            /* the next entry */
    int32_t oldcode;              /* the last code; -1 before the first */
    unsigned finchar;             /* first byte of the last string */
    unsigned char grp[LZW_BITS];  /* a group of 8 codes: n_bits bytes */
    unsigned ggot;
    uint64_t grp_at; /* input offset of grp[0] */
} gz_lzw;

/* Tables for one decoder; 0 or -1 (out of memory). */
int gz_lzw_alloc(gz_lzw *z);
void gz_lzw_free(gz_lzw *z);
/* A stream starts: the two magic bytes were read, the flags byte is next. */
void gz_lzw_start(gz_lzw *z);
/* Feeds in[0..n), which starts at input offset `at`.  0 or -1 (e). */
int gz_lzw_feed(gz_lzw *z, const unsigned char *in, size_t n, uint64_t at,
                gz_sink *k, gz_err *e);
/* The input ended at `end`: decodes what is left.  0 or -1 (e). */
int gz_lzw_end(gz_lzw *z, uint64_t end, gz_sink *k, gz_err *e);
/* The reserved flag bits of the header read, 0 if none (gzip warns). */
unsigned gz_lzw_flags(const gz_lzw *z);

/* --------------------------------------------------------------- pack */

#define PACK_MAGIC1 0x1e /* after 0x1f */
#define PACK_MAXBITS 25  /* codes longer are refused */
#define PACK_PEEK 12     /* bits looked up in one table step */

typedef struct gz_unpack {
    int phase;  /* header, codes, done */
    int hstage; /* in the header: length, counts, literals */
    unsigned char hdr[5 + PACK_MAXBITS + 256 + 1];
    size_t hgot, hwant; /* header bytes read, wanted so far */
    uint32_t orig_len;  /* the length in the header (mod 2^32) */
    uint64_t out;       /* bytes decoded */
    int max_len, peek_bits;
    int leaves[PACK_MAXBITS + 1];
    int parents[PACK_MAXBITS + 1];
    int lit_base[PACK_MAXBITS + 1];
    unsigned char literal[256];
    unsigned char prefix_len[1 << PACK_PEEK];
    uint64_t bitbuf; /* bits not yet used, the last `valid` of them */
    unsigned valid;
    unsigned eob; /* the end-of-block code, of max_len bits */
} gz_unpack;

/* A stream starts: the two magic bytes were read. */
void gz_unpack_start(gz_unpack *u);
/* Feeds in[0..n) at offset `at`.  Returns 1 when the stream ended, with
 * *used the bytes of in it took; 0 when it took them all; -1 (e). */
int gz_unpack_feed(gz_unpack *u, const unsigned char *in, size_t n, uint64_t at,
                   size_t *used, gz_sink *k, gz_err *e);

#endif
