/*
 * plugins/gunzip/gunzip.h -- what the gunzip plugin's files share: the
 * decoding state of a worker, the partial result, and the helpers the
 * format files call.  gunzip.c holds the gzip members, the dispatch on
 * magic bytes and the plugin's callbacks; zip.c a zip's first entry;
 * lzw.c and unpack.c (behind formats.h) compress's and pack's streams.
 * Private to the plugin.
 */
#ifndef SLUICE_GUNZIP_H
#define SLUICE_GUNZIP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif
#ifdef HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif
#if !defined(HAVE_ISAL) && !defined(HAVE_ZLIB)
#error "gunzip needs ISA-L or zlib for streaming"
#endif

#include "formats.h"
#include "gzip-format.h"
#include "sluice/plugin.h"

/* Size hints are read from an extra field of at most GZ_XMAX bytes, so that
 * boundary sees the same hint as map from GZ_PEEK bytes of header. */
#define GZ_XMAX 500
#define GZ_PEEK (GZ_FIXED + 2 + GZ_XMAX)
/* Decompressed bytes a unit of hinted members aims at (boundary). */
#define GZ_UNIT_OUT ((uint64_t)4 << 20)
#define GZ_NOHINT UINT64_MAX

/* Hinted members up to this ISIZE: as much as one reserve may ask for. */
#define GZ_FAST_MAX ((size_t)SLUICE_MAX_RESERVE_SIZE)
#define GZ_TRY_MAX ((size_t)4 << 20)    /* output room for a guessed member */
#define GZ_OUT_CHUNK ((size_t)64 << 10) /* streaming output per reserve */
#define GZ_STEP_MAX ((size_t)256 << 10) /* and at most this much per step */
#define GZ_IN_STEP ((size_t)1 << 30)    /* input per decoder call */

#define MSG_MAX "decompressed data exceeds the --max-output limit"

/* --------------------------------------------------------------- types */

/* The partial result of a piece of one input.  Plain data, merged. */
typedef struct gz_part {
    uint64_t members;      /* members decoded completely */
    uint64_t compressed;   /* their bytes, headers and trailers included */
    uint64_t uncompressed; /* bytes output */
    uint64_t garbage_at;   /* first trailing garbage (warning); UINT64_MAX */
    uint64_t zeros_at;     /* trailing zero bytes, ignored as gzip does
                              without a word; UINT64_MAX none */
    uint64_t lzw_flags;    /* reserved flag bits of a .Z header (gzip
                              warns); 0 none */
    uint64_t zip_more_at;  /* a second zip entry starts here; UINT64_MAX */
} gz_part;

enum gz_phase {
    P_START,   /* between members: the next two bytes decide */
    P_HEADER,  /* in a member's header */
    P_BODY,    /* in its deflate data */
    P_TRAILER, /* in CRC32 ISIZE */
    P_ZEROS,   /* after the last member, zero bytes so far */
    P_DONE,    /* the rest of the input is ignored */
    P_COPY,    /* not compressed: copied as it is (passthrough) */
    P_LZW,     /* compress's LZW, to the end of the input */
    P_PACK,    /* pack's Huffman codes */
    P_ZHEAD,   /* a zip entry's local header, its name, its extra field */
    P_ZSTORED, /* a stored zip entry's bytes */
    P_ZSCAN,   /* those of a stored entry whose size comes after it */
    P_ZTAIL,   /* after a zip entry's data: its data descriptor, if any */
    P_ZNEXT,   /* after the entry: does another one follow? */
};

/* What the member being decoded is. */
enum gz_fmt {
    F_GZIP,
    F_ZIP,
};

/* A zip local header's fixed part after its signature (APPNOTE 4.3.7), and
 * the most its extra field holds. */
#define ZIP_FIXED 26
#define ZIP_EXTRA_MAX 65535

/* The fields of a header, in file order. */
enum gz_hstep {
    H_FIXED,   /* ID1 .. OS */
    H_XLEN,    /* FEXTRA: its length */
    H_EXTRA,   /* FEXTRA: the subfields */
    H_NAME,    /* FNAME, to its NUL */
    H_COMMENT, /* FCOMMENT, to its NUL */
    H_HCRC,    /* FHCRC */
    H_END,     /* complete */
};

typedef struct gz_state {
#ifdef HAVE_LIBDEFLATE
    struct libdeflate_decompressor *ld; /* fast path */
#endif
#ifdef HAVE_ISAL
    struct inflate_state *isal; /* streaming */
#else
    z_stream *z; /* streaming */
    int z_ready; /* inflateInit2 done */
#endif
    uint64_t max_out; /* option max_output; 0 unlimited */
    int copy_all;     /* option passthrough: all */
    int copy_stdin;   /* option passthrough: stdin */

    int active;            /* decoding an input */
    int passthrough;       /* copy it if it is in no compressed format */
    uint32_t input;        /* its index */
    uint64_t next_off;     /* offset just after the last block seen */
    int phase;             /* enum gz_phase */
    int at_start;          /* at offset 0, no member yet (gzip's part 1) */
    int try_fast;          /* guess sizes of unhinted members (libdeflate) */
    uint64_t unit_out;     /* bytes output in the current unit */
    uint64_t trail_at;     /* P_ZEROS: where the trailing bytes begin */
    unsigned char lead[4]; /* P_START: the bytes seen so far */
    unsigned nlead;
    uint64_t lead_at; /* offset of lead[0] */

    /* The member being decoded. */
    uint64_t m_start; /* offset of its first byte */
    uint64_t m_hint;  /* its length as its header says; GZ_NOHINT */
    uint64_t m_out;   /* bytes it decoded to so far */
    uint32_t crc;     /* CRC-32 of those (zlib streaming) */
    int hstep;        /* P_HEADER: enum gz_hstep */
    size_t hgot;      /* bytes of the current field so far */
    unsigned char hbuf[GZ_FIXED];
    unsigned char flg;
    size_t xlen;                 /* XLEN */
    unsigned char xbuf[GZ_XMAX]; /* the extra field, when it fits */
    uint32_t hcrc;               /* CRC-32 of the header so far (FHCRC) */
    unsigned char tbuf[GZ_TRAILER];
    size_t tlen;

    /* The other formats. */
    int fmt;    /* enum gz_fmt, in P_BODY */
    gz_lzw lzw; /* its tables allocated at first use */
    gz_unpack unpack;
    unsigned char zhead[ZIP_FIXED]; /* P_ZHEAD */
    unsigned char *zextra;          /* [ZIP_EXTRA_MAX], at first use */
    size_t zgot;                    /* bytes of the header so far */
    uint64_t zcrc, zusize, zcsize;  /* as the local header says */
    int z64;                        /* it has a Zip64 extra field */
    uint64_t zleft;                 /* P_ZSTORED: bytes still to copy */
    unsigned char zdesc[24];        /* P_ZTAIL, P_ZNEXT: bytes so far */
    size_t zdlen;
} gz_state;

/* A block being consumed: bytes p[0..n) at input offset off; i is done. */
typedef struct gz_cur {
    const unsigned char *p;
    size_t n, i;
    uint64_t off;
} gz_cur;

/* ------------------------------------------------------------- helpers */

uint32_t gz_le16(const unsigned char *p);
uint32_t gz_le32(const unsigned char *p);
uint64_t gz_le64(const unsigned char *p);
/* Takes bytes at the cursor into buf until it holds `want` (*have so
 * far); 1 when it does. */
int gz_gather(unsigned char *buf, size_t *have, size_t want, gz_cur *c);
uint32_t gz_crc32(uint32_t crc, const unsigned char *p, size_t n);
/* Reports an error about the current input and stops decoding it; -1. */
int gz_fail(sluice_ctx *ctx, gz_state *s, uint64_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Copies p[0..n) to the output (the CRC-32 follows it in a zip); 0, -1. */
int gz_put_bytes(sluice_ctx *ctx, gz_state *s, gz_part *pt,
                 const unsigned char *p, size_t n, uint64_t at);
/* Readies the streaming inflater for a new deflate stream. */
void gz_body_reset(gz_state *s);

/* ----------------------------------------------------------------- zip */

/* The phases P_ZHEAD .. P_ZNEXT, each on the block at the cursor; 0, -1. */
int gz_zip_head(sluice_ctx *ctx, gz_state *s, gz_cur *c);
int gz_zip_stored(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c);
int gz_zip_scan(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c);
int gz_zip_tail(sluice_ctx *ctx, gz_state *s, gz_part *pt, gz_cur *c);
void gz_zip_next(gz_state *s, gz_part *pt, gz_cur *c);
/* The input ended at `end` in P_ZTAIL; 0, -1. */
int gz_zip_end(sluice_ctx *ctx, gz_state *s, gz_part *pt, uint64_t end);

#endif
