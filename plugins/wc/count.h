/*
 * plugins/wc/count.h -- the counting monoid behind `sluice wc`.
 *
 * What it counts, exactly as GNU wc 9.5 and later does on one pass over an
 * input: newlines, words, characters (-m), bytes (-c) and the maximum
 * display width of a line (-L).  The engine cuts an input at ARBITRARY byte
 * offsets, so a piece of input is summarised as a partial result that can be
 * merged with its neighbours: merge is associative and wc_partial_init()
 * gives its identity, so any split, merged in order, gives the one-pass
 * counts.
 *
 * The partial (wc_partial) is plain data of fixed size: it is memcpy'd
 * between processes.  It holds
 *   - the counts of the piece's resolved units (characters and encoding
 *     errors), plus what merging needs: whether the first and the last unit
 *     are word units, and for -L the line width as a function of the column
 *     the piece starts in (tabs make it start-dependent);
 *   - in UTF-8 locales, the bytes at both edges whose meaning depends on the
 *     neighbour: up to 5 leading continuation bytes (a lead byte before the
 *     piece may claim them) and a trailing incomplete sequence (lead byte
 *     plus continuation bytes);
 *   - in other multibyte locales (not self-synchronising), the counts for
 *     each possible entry offset into the piece (slow path).
 *
 * Ownership and threads: a wc_config is built once per process from the
 * current locale (wc_config_init), then only read; every other function is
 * reentrant and touches only the objects it is given.  wc_count_merge and
 * wc_count_result do arithmetic and table look-ups only (in non-UTF-8
 * multibyte locales they also call mbrtowc on a few edge bytes).
 */
#ifndef SLUICE_WC_COUNT_H
#define SLUICE_WC_COUNT_H

#include <stddef.h>
#include <stdint.h>

/* Counters, as bits of wc_config.want and indexes of wc_counts.v. */
enum {
    WC_LINES = 0,
    WC_WORDS = 1,
    WC_CHARS = 2,
    WC_BYTES = 3,
    WC_MAXLINE = 4,
    WC_NCOUNTERS = 5,
};
#define WC_WANT(c) (1u << (c))
#define WC_WANT_ALL 0x1fu

/* Which kernels to use. */
typedef enum wc_simd {
    WC_SIMD_AUTO = 0,   /* best the CPU supports */
    WC_SIMD_SCALAR = 1, /* portable C */
    WC_SIMD_AVX2 = 2,   /* AVX2 (error if the CPU lacks it) */
    WC_SIMD_AVX512 = 3, /* AVX-512BW (error if the CPU lacks it) */
} wc_simd;

/* How the locale's bytes become characters. */
typedef enum wc_mode {
    WC_MODE_SINGLE = 1,  /* MB_CUR_MAX == 1: a byte is a character */
    WC_MODE_UTF8 = 2,    /* codeset UTF-8 (glibc's decoder, 1..6 bytes) */
    WC_MODE_GENERIC = 3, /* other multibyte codesets, through mbrtowc */
} wc_mode;

/* Largest MB_CUR_MAX the generic path accepts. */
#define WC_GEN_MAXLEN 8
/* Pieces shorter than this are kept as raw bytes in generic mode. */
#define WC_GEN_RAW 64

/* A column function of a run of characters without line ends: maps the
 * column the run starts in to the column it ends in.  Without a tab it is
 * c + pre; after its first tab the column is a multiple of 8 plus what
 * follows, so it is ((c + pre) & ~7) + 8 + post. */
typedef struct wc_colfn {
    uint64_t pre;   /* width before the first tab */
    uint64_t post;  /* width after the first tab, from a multiple of 8 */
    uint8_t tab;    /* the run holds a tab */
    uint8_t pad[7]; /* zero */
} wc_colfn;

/* Summary of a run of resolved units (characters and encoding errors).
 * All zero is the empty run. */
typedef struct wc_core {
    uint64_t lines;     /* '\n' characters */
    uint64_t words;     /* word starts inside the run (a word unit first, or
                           after a space unit) */
    uint64_t chars;     /* valid characters (multibyte modes) */
    wc_colfn head;      /* column function up to the first line end (\n \r
                           \f), or of the whole run when it has none */
    uint64_t max_in;    /* largest width at a line end after the first one */
    uint64_t tail;      /* column at the end (after the last line end) */
    uint8_t nonempty;   /* the run has at least one unit */
    uint8_t first_word; /* its first unit is a word unit */
    uint8_t last_word;  /* its last unit is a word unit */
    uint8_t has_eol;    /* it holds a line end */
    uint8_t pad[4];     /* zero */
} wc_core;

/* One entry offset of a generic-mode piece: the units parsed from that
 * offset, and the incomplete character left at the end. */
typedef struct wc_gen_hyp {
    wc_core core;                    /* resolved units */
    uint8_t pend_len;                /* bytes in pend */
    uint8_t pend[WC_GEN_MAXLEN - 1]; /* trailing incomplete character */
} wc_gen_hyp;

/* The partial result of a piece of input: plain data, fixed size, all zero
 * is the identity.  APPEND ONLY is not needed: both sides of a merge are
 * built by the same plugin binary. */
typedef struct wc_partial {
    uint64_t bytes;   /* all bytes of the piece */
    uint8_t closed;   /* 0: the piece is only `head` (UTF-8) or only `raw`
                         (generic); more bytes may join it */
    uint8_t head_len; /* UTF-8: leading continuation bytes (<= 5) */
    uint8_t pend_len; /* UTF-8: trailing incomplete sequence (<= 5) */
    uint8_t raw_len;  /* generic: bytes in raw while !closed */
    uint8_t head[5];  /* UTF-8: the deferred leading bytes */
    uint8_t pend[5];  /* UTF-8: the deferred trailing bytes */
    uint8_t pad[10];  /* zero */
    wc_core core;     /* single-byte and UTF-8: units between the edges */
    /* generic multibyte locales only */
    uint8_t raw[WC_GEN_RAW];         /* whole piece while !closed */
    uint8_t gen_head[WC_GEN_MAXLEN]; /* first MB_CUR_MAX-1 bytes */
    wc_gen_hyp hyp[WC_GEN_MAXLEN];   /* per entry offset */
} wc_partial;

/* Final counts of one input. */
typedef struct wc_counts {
    uint64_t v[WC_NCOUNTERS]; /* indexed by WC_LINES..WC_MAXLINE */
} wc_counts;

/* Per-process configuration, from the locale.  Built once, then read-only
 * (inherited by forked workers). */
typedef struct wc_config {
    unsigned want;       /* WC_WANT() bits of the requested counters */
    wc_mode mode;        /* how bytes become characters */
    wc_simd simd;        /* kernels chosen (never AUTO after init) */
    int posixly_correct; /* POSIXLY_CORRECT was set: no extra nbsp spaces */
    int ascii_std;       /* ASCII classes are the usual ones (SIMD ok) */
    unsigned mb_max;     /* MB_CUR_MAX */
    /* byte kinds (see count.c) for ASCII, and for all bytes in
     * single-byte locales; printable and space tables as upstream wc's
     * wc_isprint/wc_isspace */
    uint8_t kind[256];
    uint8_t sb_print[256];
    uint8_t sb_space[256];
    /* 256-bit sets of bytes >= 0x80, as 16 masks by low nibble (bit i:
     * high nibble 8+i): single-byte spaces, and UTF-8 lead bytes that can
     * start a multibyte space */
    uint8_t hi_space_set[16];
    uint8_t lead_space_set[16];
    int has_hi_space;   /* hi_space_set is not empty */
    int has_lead_space; /* lead_space_set is not empty */
    /* UTF-8: bitmap of multibyte space code points (0..0x10FFFF) and the
     * display width of every code point (0..0x10FFFF); NULL when the
     * counters requested do not need them */
    uint8_t *mb_space;
    uint8_t *mb_width;
} wc_config;

/* Builds the configuration from the current locale (setlocale must have
 * been called), the environment (POSIXLY_CORRECT) and the CPU.  `want` is
 * WC_WANT() bits (0 means the default lines, words, bytes).  Returns 0, or
 * -1 with a message in err (errlen bytes): a SIMD level the CPU lacks, an
 * unsupported locale, out of memory.  Not thread-safe (reads the locale). */
int wc_config_init(wc_config *cfg, unsigned want, wc_simd simd, char *err,
                   size_t errlen);

/* Frees the tables of a configuration. */
void wc_config_fini(wc_config *cfg);

/* Name of a SIMD level ("scalar", "avx2", "avx512"). */
const char *wc_simd_name(wc_simd simd);

/* Sets *p to the identity (all zero). */
void wc_count_init(wc_partial *p);

/* Folds len bytes at data onto the end of *p: *p = *p (+) count(data). */
void wc_count_map(const wc_config *cfg, wc_partial *p,
                  const unsigned char *data, size_t len);

/* into = into (+) next, where next covers the bytes right after into's.
 * Associative; never fails. */
void wc_count_merge(const wc_config *cfg, wc_partial *into,
                    const wc_partial *next);

/* The counts of a whole input whose partial is *p (the input ends where p
 * ends: pending bytes are encoding errors).  Counters not requested are 0;
 * chars equals bytes in single-byte locales. */
void wc_count_result(const wc_config *cfg, const wc_partial *p, wc_counts *out);

/* Convenience: the counts of one buffer in one pass. */
void wc_count_buffer(const wc_config *cfg, const unsigned char *data,
                     size_t len, wc_counts *out);

#endif /* SLUICE_WC_COUNT_H */
