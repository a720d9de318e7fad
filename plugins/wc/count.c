/*
 * plugins/wc/count.c -- the counting monoid behind `sluice wc` (see count.h).
 *
 * Semantics (GNU coreutils wc 9.5 and later, src/wc.c, on one buffer):
 *   - the input is a sequence of units: characters and encoding errors.  In
 *     single-byte locales every byte is a character.  In multibyte locales a
 *     byte < 0x80 is a character, otherwise mbrtoc32 decides: a valid
 *     character, or an encoding error that consumes ONE byte (an incomplete
 *     sequence at the end of input is an error too, byte by byte);
 *   - lines: '\n' characters;
 *   - words: a unit is a space unit if it is '\t' '\n' '\v' '\f' '\r' ' ',
 *     or isspace/iswspace in the locale, or (unless POSIXLY_CORRECT is set)
 *     one of U+00A0 U+2007 U+202F U+2060 (in single-byte locales: a byte
 *     whose btoc32 is one of those; gnulib maps the bytes 0x80..0xFF of the
 *     C locale to U+0080..U+00FF, so byte 0xA0 is a space there).  Every
 *     other unit, non-printable characters and encoding errors included, is
 *     a word unit; words counts word units that start the input or follow a
 *     space unit;
 *   - chars: valid characters (bytes, in single-byte locales);
 *   - maxline: a column starts at 0; a printable ASCII character (or
 *     single-byte isprint) adds 1, a multibyte character adds wcwidth when
 *     positive, '\t' moves to the next multiple of 8, '\n' '\r' '\f' end the
 *     line (the column counts towards the maximum and restarts at 0);
 *     errors and non-printables add nothing; the column at the end of input
 *     counts too.
 *
 * Merging arbitrary splits (see count.h for the partial's layout): a run of
 * units is summarised by wc_core (counts, word flags at both ends, -L
 * column functions).  In UTF-8 the greedy decoder visits every byte that is
 * not a continuation byte (a valid sequence never spans one, an error
 * consumes one byte), so only the bytes at a cut can change meaning: the
 * leading continuation bytes of a piece (a lead byte before it may claim up
 * to 5 of them) and its trailing incomplete sequence.  Those are kept raw and
 * decoded when the neighbour is known.  Other multibyte codesets are not
 * self-synchronising: a piece keeps one summary per entry offset (how many
 * of its first bytes the character before it consumed).
 *
 * Kernels, picked once per process by the counters requested (lines only
 * never pays for words) and the CPU:
 *   - per unit (scan_scalar): everything at once; the reference, used for
 *     edge bytes and locales whose ASCII classes are unusual;
 *   - portable SWAR (simd=scalar, and CPUs without AVX2): memchr for lines,
 *     8 ASCII bytes at a time for lines/words/chars, 8-byte event search
 *     for -L;
 *   - AVX2 and AVX-512BW, built with function target attributes (no global
 *     -mavx2): newline counting; lines+words(+chars) 64 bytes at a time,
 *     where blocks holding bytes >= 0x80 are fixed up (bytes of multibyte
 *     spaces, found from their lead bytes; lead bytes that start no valid
 *     sequence); -L walks only the "event" bytes (controls, tabs, line ends,
 *     non-ASCII) and adds the plain runs between them.
 * Every kernel gives exactly the per-unit counts (tests/test_wc_count.c).
 * auto prefers AVX-512BW for the words kernel, where it measured faster, and
 * AVX2 for the others.
 *
 * Limits: the generic multibyte path decodes each character from the
 * initial shift state, as upstream does for the stateless codesets glibc
 * offers; the few glibc codesets whose mbrtowc keeps state between
 * characters (BIG5-HKSCS, EUC-JISX0213, SHIFT_JISX0213, TSCII combining
 * sequences) may count those sequences differently.  Code points above
 * U+10FFFF (which glibc decodes) are neither spaces nor wide.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* wcwidth */
#endif

#include "count.h"

#include <ctype.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>
#include <wctype.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define WC_X86 1
#include <immintrin.h>
#else
#define WC_X86 0
#endif

/* ------------------------------------------------------------ byte kinds */

enum {
    K_W0 = 0,  /* word unit, width 0 (non-printable) */
    K_W1 = 1,  /* word unit, width 1 */
    K_S0 = 2,  /* space unit, width 0 ('\v', non-printable spaces) */
    K_S1 = 3,  /* space unit, width 1 (' ') */
    K_TAB = 4, /* '\t' */
    K_EOL = 5, /* '\r' '\f': line end */
    K_NL = 6,  /* '\n': line end, counted */
    K_HI = 7,  /* multibyte modes: byte >= 0x80, decode it */
};

#define UNICODE_MAX 0x10FFFFu
#define UTF8_MAXLEN 6 /* glibc still decodes 5- and 6-byte forms */
#define UTF8_EDGE 5   /* continuation bytes a lead byte can claim */

static int is_nbspace(uint32_t c)
{
    return c == 0x00A0 || c == 0x2007 || c == 0x202F || c == 0x2060;
}

static inline int is_cont(uint8_t b)
{
    return (b & 0xC0) == 0x80;
}

/* Sequence length a lead byte announces (glibc's UTF-8 decoder: 2..6), or 0
 * for a byte that cannot start a multibyte character. */
static inline int u8_len(uint8_t b)
{
    if (b < 0xC2)
        return 0;
    if (b < 0xE0)
        return 2;
    if (b < 0xF0)
        return 3;
    if (b < 0xF8)
        return 4;
    if (b < 0xFC)
        return 5;
    if (b < 0xFE)
        return 6;
    return 0;
}

/* Decodes the multibyte character at p (p[0] >= 0x80) as glibc's mbrtowc
 * does in a UTF-8 locale, looking at no more than avail bytes.  Returns its
 * length and stores it in *cp; 0 for an encoding error (the caller consumes
 * one byte); -1 when the avail bytes are a proper prefix of a sequence (a
 * lead byte and continuation bytes only). */
static inline int u8_decode(const uint8_t *p, size_t avail, uint32_t *cp)
{
    static const uint32_t min[7] = {0,       0,        0x80,     0x800,
                                    0x10000, 0x200000, 0x4000000};
    uint8_t b = p[0];
    /* the common 2- and 3-byte characters first */
    if (b >= 0xC2 && b < 0xE0 && avail >= 2 && is_cont(p[1])) {
        *cp = (uint32_t)(b & 0x1F) << 6 | (p[1] & 0x3Fu);
        return 2;
    }
    if (b >= 0xE0 && b < 0xF0 && avail >= 3 && is_cont(p[1]) && is_cont(p[2])) {
        uint32_t v = (uint32_t)(b & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 |
                     (p[2] & 0x3Fu);
        if (v < 0x800 || (v >= 0xD800 && v < 0xE000))
            return 0;
        *cp = v;
        return 3;
    }
    int n = u8_len(b);
    if (n == 0)
        return 0;
    uint32_t v = b & (0x7Fu >> n);
    for (int i = 1; i < n; i++) {
        if ((size_t)i >= avail)
            return -1;
        uint8_t c = p[i];
        if (!is_cont(c))
            return 0;
        v = (v << 6) | (c & 0x3Fu);
    }
    if (v < min[n] || (v >= 0xD800 && v < 0xE000))
        return 0;
    *cp = v;
    return n;
}

static inline int cfg_mbspace(const wc_config *cfg, uint32_t cp)
{
    return cfg->mb_space && cp <= UNICODE_MAX &&
           (cfg->mb_space[cp >> 3] >> (cp & 7) & 1);
}

static inline unsigned cfg_mbwidth(const wc_config *cfg, uint32_t cp)
{
    return cfg->mb_width && cp <= UNICODE_MAX ? cfg->mb_width[cp] : 0;
}

/* ------------------------------------------------------ column functions */

static inline uint64_t colfn_apply(const wc_colfn *f, uint64_t c)
{
    return f->tab ? ((c + f->pre) & ~(uint64_t)7) + 8 + f->post : c + f->pre;
}

/* f = g after f. */
static inline void colfn_then(wc_colfn *f, const wc_colfn *g)
{
    if (!g->tab) {
        if (f->tab)
            f->post += g->pre;
        else
            f->pre += g->pre;
    } else if (!f->tab) {
        f->pre += g->pre;
        f->post = g->post;
        f->tab = 1;
    } else {
        f->post = ((f->post + g->pre) & ~(uint64_t)7) + 8 + g->post;
    }
}

static inline void colfn_add(wc_colfn *f, uint64_t w)
{
    if (f->tab)
        f->post += w;
    else
        f->pre += w;
}

static inline void colfn_tab(wc_colfn *f)
{
    if (f->tab)
        f->post = (f->post & ~(uint64_t)7) + 8;
    else {
        f->tab = 1;
        f->post = 0;
    }
}

/* ------------------------------------------------------------------ cores */

/* a = a (+) b */
static void core_merge(wc_core *a, const wc_core *b)
{
    if (!b->nonempty)
        return;
    if (!a->nonempty) {
        *a = *b;
        return;
    }
    a->lines += b->lines;
    a->chars += b->chars;
    a->words += b->words - (uint64_t)(a->last_word && b->first_word);
    a->last_word = b->last_word;
    if (!a->has_eol) {
        colfn_then(&a->head, &b->head);
        if (b->has_eol) {
            a->has_eol = 1;
            a->max_in = b->max_in;
            a->tail = b->tail;
        }
    } else if (!b->has_eol) {
        a->tail = colfn_apply(&b->head, a->tail);
    } else {
        uint64_t first = colfn_apply(&b->head, a->tail);
        if (first > a->max_in)
            a->max_in = first;
        if (b->max_in > a->max_in)
            a->max_in = b->max_in;
        a->tail = b->tail;
    }
}

/* The core of n encoding errors (word units, no width, no characters). */
static void core_errors(wc_core *c, size_t n)
{
    memset(c, 0, sizeof *c);
    if (n == 0)
        return;
    c->nonempty = 1;
    c->first_word = c->last_word = 1;
    c->words = 1;
}

/* ----------------------------------------------------- scalar unit state */

enum { ACT_W = 0, ACT_TAB = 1, ACT_EOL = 2, ACT_NL = 3 };

typedef struct sstate {
    uint64_t lines, words, chars, max_in;
    wc_colfn seg;  /* column function of the current line segment */
    wc_colfn head; /* segment before the first line end */
    int in_word, has_eol, first_word, nonempty;
} sstate;

static inline void ss_load(sstate *s, const wc_core *c)
{
    s->lines = c->lines;
    s->words = c->words;
    s->chars = c->chars;
    s->max_in = c->max_in;
    s->nonempty = c->nonempty;
    s->first_word = c->first_word;
    s->in_word = c->nonempty && c->last_word;
    s->has_eol = c->has_eol;
    s->head = c->head;
    if (c->has_eol) {
        memset(&s->seg, 0, sizeof s->seg);
        s->seg.pre = c->tail;
    } else {
        s->seg = c->head;
    }
}

static inline void ss_store(const sstate *s, wc_core *c)
{
    c->lines = s->lines;
    c->words = s->words;
    c->chars = s->chars;
    c->nonempty = (uint8_t)s->nonempty;
    c->first_word = (uint8_t)s->first_word;
    c->last_word = (uint8_t)s->in_word;
    c->has_eol = (uint8_t)s->has_eol;
    if (s->has_eol) {
        c->head = s->head;
        c->max_in = s->max_in;
        c->tail = colfn_apply(&s->seg, 0);
    } else {
        c->head = s->seg;
        c->max_in = 0;
        c->tail = 0;
    }
}

static inline void ss_eol(sstate *s)
{
    if (!s->has_eol) {
        s->head = s->seg;
        s->has_eol = 1;
    } else {
        uint64_t v = colfn_apply(&s->seg, 0);
        if (v > s->max_in)
            s->max_in = v;
    }
    memset(&s->seg, 0, sizeof s->seg);
}

static inline void ss_unit(sstate *s, int act, unsigned w, int is_word,
                           int is_char)
{
    if (!s->nonempty) {
        s->nonempty = 1;
        s->first_word = is_word;
    }
    s->words += (uint64_t)(!s->in_word && is_word);
    s->in_word = is_word;
    s->chars += (uint64_t)is_char;
    switch (act) {
    case ACT_W:
        colfn_add(&s->seg, w);
        break;
    case ACT_TAB:
        colfn_tab(&s->seg);
        break;
    case ACT_NL:
        s->lines++;
        ss_eol(s);
        break;
    default:
        ss_eol(s);
        break;
    }
}

/* Applies one byte of kind K_W0..K_NL. */
static inline void ss_kind(sstate *s, unsigned kind)
{
    static const uint8_t act[7] = {ACT_W,   ACT_W,   ACT_W, ACT_W,
                                   ACT_TAB, ACT_EOL, ACT_NL};
    static const uint8_t width[7] = {0, 1, 0, 1, 0, 0, 0};
    ss_unit(s, act[kind], width[kind], kind < K_S0, 1);
}

/* Scalar kernel: appends the complete units of p[0..n) to c (single-byte
 * and UTF-8 modes).  In UTF-8 an incomplete sequence is an error here. */
static void scan_scalar(const wc_config *cfg, wc_core *c, const uint8_t *p,
                        size_t n)
{
    sstate s;
    const uint8_t *end = p + n;
    ss_load(&s, c);
    while (p < end) {
        unsigned kind = cfg->kind[*p];
        if (kind != K_HI) {
            ss_kind(&s, kind);
            p++;
            continue;
        }
        uint32_t cp = 0;
        int r = u8_decode(p, (size_t)(end - p), &cp);
        if (r > 0) {
            ss_unit(&s, ACT_W, cfg_mbwidth(cfg, cp), !cfg_mbspace(cfg, cp), 1);
            p += r;
        } else {
            ss_unit(&s, ACT_W, 0, 1, 0);
            p++;
        }
    }
    ss_store(&s, c);
}

/* Lines only, portable. */
static uint64_t count_nl_scalar(const uint8_t *p, size_t n)
{
    uint64_t lines = 0;
    const uint8_t *end = p + n;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        lines++;
        p++;
    }
    return lines;
}

/* ------------------------------------------- portable SWAR kernels */

#define SW_H 0x8080808080808080ull  /* bit 7 of every byte */
#define SW_L7 0x7F7F7F7F7F7F7F7Full /* the other bits */
#define SW_ONES 0x0101010101010101ull

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x; /* byte 0 in the low bits on little-endian targets */
}

/* Bit 7 of each byte of x (all bytes < 0x80) that equals c. */
static inline uint64_t sw_eq(uint64_t x, uint64_t c)
{
    uint64_t y = x ^ (c * SW_ONES);
    return ~(((y & SW_L7) + SW_L7) | y) & SW_H;
}

/* Number of flags (bit 7 of each byte) set. */
static inline uint64_t sw_count(uint64_t f)
{
    return ((f >> 7) * SW_ONES) >> 56;
}

/* Class of the unit at p (UTF-8 or single-byte): 1 for a word unit; its
 * length in *len and whether it is a character in *is_char. */
static inline int unit_word(const wc_config *cfg, const uint8_t *p,
                            const uint8_t *end, size_t *len, int *is_char)
{
    unsigned k = cfg->kind[*p];
    *len = 1;
    *is_char = 1;
    if (k != K_HI)
        return k < K_S0;
    uint32_t cp;
    int r = u8_decode(p, (size_t)(end - p), &cp);
    if (r > 0) {
        *len = (size_t)r;
        return !cfg_mbspace(cfg, cp);
    }
    *is_char = 0;
    return 1;
}

/* Lines, words and characters, 8 bytes at a time where they are ASCII
 * (single-byte and UTF-8 modes).  Only those fields of c change. */
static void k1_swar(const wc_config *cfg, wc_core *c, const uint8_t *p,
                    size_t n)
{
    const uint8_t *end = p + n;
    uint64_t lines = c->lines, words = c->words, chars = c->chars;
    uint64_t prev_sp = c->nonempty ? !c->last_word : 1;
    if (!c->nonempty && n) {
        size_t len;
        int is_char;
        c->first_word = (uint8_t)unit_word(cfg, p, end, &len, &is_char);
    }
    while (p < end) {
        if (end - p >= 8) {
            uint64_t x = load64(p);
            if (!(x & SW_H)) {
                uint64_t ge9 = (x + 0x7777777777777777ull) & SW_H;
                uint64_t ge14 = (x + 0x7272727272727272ull) & SW_H;
                uint64_t sp = (ge9 & ~ge14) | sw_eq(x, ' ');
                uint64_t starts = ~sp & ((sp << 8) | prev_sp << 7) & SW_H;
                words += sw_count(starts);
                lines += sw_count(sw_eq(x, '\n'));
                chars += 8;
                prev_sp = sp >> 63;
                p += 8;
                continue;
            }
        }
        /* units starting in the next 8 bytes, one at a time */
        const uint8_t *stop = end - p > 8 ? p + 8 : end;
        while (p < stop) {
            size_t len;
            int is_char;
            int w = unit_word(cfg, p, end, &len, &is_char);
            words += (uint64_t)(prev_sp && w);
            prev_sp = !w;
            lines += *p == '\n';
            chars += (uint64_t)is_char;
            p += len;
        }
    }
    c->lines = lines;
    c->words = words;
    c->chars = chars;
    c->last_word = (uint8_t)!prev_sp;
}

/* -L: handles the event byte at p[at] of a region of n bytes; returns the
 * bytes it consumed. */
static inline size_t maxline_event(const wc_config *cfg, sstate *s,
                                   const uint8_t *p, size_t at, size_t n)
{
    switch (cfg->kind[p[at]]) {
    case K_NL:
    case K_EOL:
        ss_eol(s);
        return 1;
    case K_TAB:
        colfn_tab(&s->seg);
        return 1;
    case K_W1:
    case K_S1:
        colfn_add(&s->seg, 1);
        return 1;
    case K_HI: {
        /* a run of multibyte characters and errors, up to the next ASCII
         * byte */
        size_t i = at;
        uint64_t w = 0;
        while (i < n && p[i] >= 0x80) {
            uint32_t cp;
            int r = u8_decode(p + i, n - i, &cp);
            if (r > 0) {
                w += cfg_mbwidth(cfg, cp);
                i += (size_t)r;
            } else {
                i++;
            }
        }
        colfn_add(&s->seg, w);
        return i - at;
    }
    default:
        return 1;
    }
}

/* Event bits of a 64-bit block mask that lie before `cur`. */
static inline uint64_t events_from(uint64_t e, size_t base, size_t cur)
{
    if (cur <= base)
        return e;
    return cur - base >= 64 ? 0 : e & (~0ull << (cur - base));
}

static inline void maxline_store(const sstate *s, wc_core *c)
{
    c->has_eol = (uint8_t)s->has_eol;
    if (s->has_eol) {
        c->head = s->head;
        c->max_in = s->max_in;
        c->tail = colfn_apply(&s->seg, 0);
    } else {
        c->head = s->seg;
    }
}

/* -L, portable: finds event bytes (controls, DEL, >= 0x80) 8 at a time and
 * adds the printable runs between them.  Only the -L fields of c change. */
static void maxline_swar(const wc_config *cfg, wc_core *c, const uint8_t *p,
                         size_t n)
{
    sstate s;
    ss_load(&s, c);
    size_t cur = 0, base = 0;
    for (; base + 8 <= n; base += 8) {
        uint64_t x = load64(p + base), v = x & SW_L7;
        uint64_t e = (x & SW_H) | (~(v + 0x6060606060606060ull) & SW_H) |
                     ((v + SW_ONES) & SW_H);
        while (e) {
            size_t at = base + ((size_t)__builtin_ctzll(e) >> 3);
            e &= e - 1;
            if (at < cur)
                continue;
            colfn_add(&s.seg, at - cur);
            cur = at + maxline_event(cfg, &s, p, at, n);
            if (cur > at + 1 && cur - base < 8)
                e &= ~0ull << ((cur - base) * 8);
        }
    }
    for (size_t at = base > cur ? base : cur; at < n;) {
        uint8_t b = p[at];
        if (b >= 0x20 && b < 0x7F) {
            at++;
            continue;
        }
        colfn_add(&s.seg, at - cur);
        cur = at + maxline_event(cfg, &s, p, at, n);
        at = cur;
    }
    if (n > cur)
        colfn_add(&s.seg, n - cur);
    maxline_store(&s, c);
}

/* ===================================================== x86 SIMD kernels */

#if WC_X86

#define TGT_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))
#define TGT_AVX512                                                             \
    __attribute__((target("avx512f,avx512bw,avx2,bmi,bmi2,popcnt")))
#define INLINE inline __attribute__((always_inline))

enum { F_WORDS = 1, F_CHARS = 2, F_UTF8 = 4 };

/* Running state of the lines/words/chars kernels. */
typedef struct k1state {
    uint64_t lines, words, chars;
    uint64_t carry; /* 1: the unit before the block is a space unit */
    uint64_t spill; /* space bits of a multibyte space that began in the
                       block before */
    int need_first, first_word;
} k1state;

/* The kernels' running state for a run that continues core `c`... */
static inline k1state k1_load(const wc_core *c)
{
    k1state s = {c->lines,
                 c->words,
                 c->chars,
                 c->nonempty ? (uint64_t)!c->last_word : 1,
                 0,
                 !c->nonempty,
                 c->first_word};
    return s;
}

/* ...and back into the core once the run is counted. */
static inline void k1_save(wc_core *c, const k1state *s, unsigned fl)
{
    c->lines = s->lines;
    c->words = s->words;
    c->chars = s->chars;
    if (fl & F_WORDS) {
        c->first_word = (uint8_t)s->first_word;
        c->last_word = (uint8_t)!s->carry;
    }
}

/* Bits of the multibyte spaces starting at the candidate lead bytes `cand`
 * of the 64 bytes at q; bits past the block go to *spill.  q[0..63+5] must
 * be readable; bytes past the region are not continuation bytes. */
static uint64_t mbspace_bits(const wc_config *cfg, const uint8_t *q,
                             uint64_t cand, uint64_t *spill)
{
    uint64_t m = 0;
    while (cand) {
        unsigned i = (unsigned)__builtin_ctzll(cand);
        cand &= cand - 1;
        uint32_t cp;
        int r = u8_decode(q + i, UTF8_MAXLEN, &cp);
        if (r > 0 && cfg_mbspace(cfg, cp)) {
            unsigned e = i + (unsigned)r;
            if (e <= 64)
                m |= (e == 64 ? ~0ull : (1ull << e) - 1) & ~((1ull << i) - 1);
            else {
                m |= ~((1ull << i) - 1);
                *spill |= (1ull << (e - 64)) - 1;
            }
        }
    }
    return m;
}

/* ---------------------------------------------------------------- AVX2 */

TGT_AVX2 static INLINE uint64_t mm64(__m256i lo, __m256i hi)
{
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(lo) |
           (uint64_t)(uint32_t)_mm256_movemask_epi8(hi) << 32;
}

TGT_AVX2 static INLINE __m256i space_avx2(__m256i v)
{
    __m256i t = _mm256_sub_epi8(v, _mm256_set1_epi8(9));
    __m256i r = _mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8(4)), t);
    return _mm256_or_si256(r, _mm256_cmpeq_epi8(v, _mm256_set1_epi8(' ')));
}

/* Mask of the bytes >= 0x80 in the set (16 masks by low nibble). */
TGT_AVX2 static INLINE __m256i member_avx2(__m256i v, __m256i tbl)
{
    const __m256i bits = _mm256_setr_epi8(
        0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, (char)128, 0, 0, 0, 0,
        0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, (char)128);
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i lo = _mm256_and_si256(v, low);
    __m256i hn = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    __m256i t = _mm256_and_si256(_mm256_shuffle_epi8(tbl, lo),
                                 _mm256_shuffle_epi8(bits, hn));
    return _mm256_xor_si256(_mm256_cmpeq_epi8(t, _mm256_setzero_si256()),
                            _mm256_set1_epi8(-1));
}

TGT_AVX2 static INLINE __m256i ge_avx2(__m256i v, int t)
{
    return _mm256_cmpeq_epi8(_mm256_max_epu8(v, _mm256_set1_epi8((char)t)), v);
}

TGT_AVX2 static INLINE __m256i eq_avx2(__m256i v, int t)
{
    return _mm256_cmpeq_epi8(v, _mm256_set1_epi8((char)t));
}

/* Valid characters among the 64 bytes at q (UTF-8, block has bytes >=
 * 0x80): bytes that are not continuation bytes, minus lead bytes that do
 * not start a valid sequence.  q[-0..95] must be readable. */
TGT_AVX2 static INLINE uint64_t chars_hi_avx2(const uint8_t *q, __m256i v0,
                                              __m256i v1, uint64_t valid)
{
    const __m256i m64 = _mm256_set1_epi8(-64);
    uint64_t C = mm64(_mm256_cmpgt_epi8(m64, v0), _mm256_cmpgt_epi8(m64, v1));
    __m256i vx = _mm256_loadu_si256((const __m256i *)(q + 64));
    uint64_t Cx = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(m64, vx));
    uint64_t hi = mm64(v0, v1);
    uint64_t leads = hi & ~C & valid;
    uint64_t geC2 = mm64(ge_avx2(v0, 0xC2), ge_avx2(v1, 0xC2));
    uint64_t geE0 = mm64(ge_avx2(v0, 0xE0), ge_avx2(v1, 0xE0));
    uint64_t geF0 = mm64(ge_avx2(v0, 0xF0), ge_avx2(v1, 0xF0));
    uint64_t geF8 = mm64(ge_avx2(v0, 0xF8), ge_avx2(v1, 0xF8));
    uint64_t geFC = mm64(ge_avx2(v0, 0xFC), ge_avx2(v1, 0xFC));
    uint64_t geFE = mm64(ge_avx2(v0, 0xFE), ge_avx2(v1, 0xFE));
    uint64_t s1 = C >> 1 | Cx << 63, s2 = C >> 2 | Cx << 62;
    uint64_t s3 = C >> 3 | Cx << 61, s4 = C >> 4 | Cx << 60;
    uint64_t s5 = C >> 5 | Cx << 59;
    uint64_t c2 = s1, c3 = c2 & s2, c4 = c3 & s3, c5 = c4 & s4, c6 = c5 & s5;
    uint64_t ok = ((geC2 & ~geE0) & c2) | ((geE0 & ~geF0) & c3) |
                  ((geF0 & ~geF8) & c4) | ((geF8 & ~geFC) & c5) |
                  ((geFC & ~geFE) & c6);
    if (ok & geE0) {
        /* overlong forms and surrogates: E0 <A0, ED >=A0, F0 <90, F8 <88,
         * FC <84 in the second byte */
        __m256i n0 = _mm256_loadu_si256((const __m256i *)(q + 1));
        __m256i n1 = _mm256_loadu_si256((const __m256i *)(q + 33));
        __m256i b0 = _mm256_or_si256(
            _mm256_or_si256(
                _mm256_andnot_si256(ge_avx2(n0, 0xA0), eq_avx2(v0, 0xE0)),
                _mm256_and_si256(ge_avx2(n0, 0xA0), eq_avx2(v0, 0xED))),
            _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_andnot_si256(ge_avx2(n0, 0x90), eq_avx2(v0, 0xF0)),
                    _mm256_andnot_si256(ge_avx2(n0, 0x88), eq_avx2(v0, 0xF8))),
                _mm256_andnot_si256(ge_avx2(n0, 0x84), eq_avx2(v0, 0xFC))));
        __m256i b1 = _mm256_or_si256(
            _mm256_or_si256(
                _mm256_andnot_si256(ge_avx2(n1, 0xA0), eq_avx2(v1, 0xE0)),
                _mm256_and_si256(ge_avx2(n1, 0xA0), eq_avx2(v1, 0xED))),
            _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_andnot_si256(ge_avx2(n1, 0x90), eq_avx2(v1, 0xF0)),
                    _mm256_andnot_si256(ge_avx2(n1, 0x88), eq_avx2(v1, 0xF8))),
                _mm256_andnot_si256(ge_avx2(n1, 0x84), eq_avx2(v1, 0xFC))));
        ok &= ~mm64(b0, b1);
    }
    return (uint64_t)__builtin_popcountll(~C & valid) -
           (uint64_t)__builtin_popcountll(leads & ~ok);
}

TGT_AVX2 static INLINE void k1_block_avx2(const wc_config *cfg, k1state *s,
                                          const uint8_t *q, uint64_t valid,
                                          const unsigned fl)
{
    __m256i v0 = _mm256_loadu_si256((const __m256i *)q);
    __m256i v1 = _mm256_loadu_si256((const __m256i *)(q + 32));
    const __m256i nl = _mm256_set1_epi8('\n');
    uint64_t nlm = mm64(_mm256_cmpeq_epi8(v0, nl), _mm256_cmpeq_epi8(v1, nl));
    s->lines += (uint64_t)__builtin_popcountll(nlm & valid);
    uint64_t hi = mm64(v0, v1) & valid;
    if (fl & F_WORDS) {
        uint64_t sp = mm64(space_avx2(v0), space_avx2(v1));
        uint64_t spill = 0;
        if (hi) {
            if (fl & F_UTF8) {
                if (cfg->has_lead_space) {
                    __m256i t = _mm256_broadcastsi128_si256(
                        _mm_loadu_si128((const __m128i *)cfg->lead_space_set));
                    uint64_t cand =
                        mm64(member_avx2(v0, t), member_avx2(v1, t)) & valid;
                    if (cand)
                        sp |= mbspace_bits(cfg, q, cand, &spill);
                }
            } else if (cfg->has_hi_space) {
                __m256i t = _mm256_broadcastsi128_si256(
                    _mm_loadu_si128((const __m128i *)cfg->hi_space_set));
                sp |= mm64(member_avx2(v0, t), member_avx2(v1, t));
            }
        }
        sp |= s->spill;
        s->spill = spill;
        if (s->need_first) {
            s->first_word = !(sp & 1);
            s->need_first = 0;
        }
        uint64_t starts = ~sp & ((sp << 1) | s->carry) & valid;
        s->words += (uint64_t)__builtin_popcountll(starts);
        unsigned last = 63 - (unsigned)__builtin_clzll(valid);
        s->carry = sp >> last & 1;
    }
    if (fl & F_CHARS) {
        if (!hi)
            s->chars += (uint64_t)__builtin_popcountll(valid);
        else
            s->chars += chars_hi_avx2(q, v0, v1, valid);
    }
}

TGT_AVX2 static INLINE void k1_avx2_tmpl(const wc_config *cfg, wc_core *c,
                                         const uint8_t *p, size_t n,
                                         const unsigned fl)
{
    k1state s = k1_load(c);
    size_t i = 0;
    /* full blocks while the look-ahead (q+64..q+95) stays in the region */
    for (; i + 96 <= n; i += 64)
        k1_block_avx2(cfg, &s, p + i, ~0ull, fl);
    size_t r = n - i;
    if (r) {
        uint8_t tmp[192];
        memset(tmp, 'x', sizeof tmp);
        memcpy(tmp, p + i, r);
        if (r > 64) {
            k1_block_avx2(cfg, &s, tmp, ~0ull, fl);
            k1_block_avx2(cfg, &s, tmp + 64, (1ull << (r - 64)) - 1, fl);
        } else {
            k1_block_avx2(cfg, &s, tmp, r == 64 ? ~0ull : (1ull << r) - 1, fl);
        }
    }
    k1_save(c, &s, fl);
}

TGT_AVX2 static void k1_avx2_w(const wc_config *cfg, wc_core *c,
                               const uint8_t *p, size_t n)
{
    k1_avx2_tmpl(cfg, c, p, n, F_WORDS);
}
TGT_AVX2 static void k1_avx2_uw(const wc_config *cfg, wc_core *c,
                                const uint8_t *p, size_t n)
{
    k1_avx2_tmpl(cfg, c, p, n, F_WORDS | F_UTF8);
}
TGT_AVX2 static void k1_avx2_uc(const wc_config *cfg, wc_core *c,
                                const uint8_t *p, size_t n)
{
    k1_avx2_tmpl(cfg, c, p, n, F_CHARS | F_UTF8);
}
TGT_AVX2 static void k1_avx2_uwc(const wc_config *cfg, wc_core *c,
                                 const uint8_t *p, size_t n)
{
    k1_avx2_tmpl(cfg, c, p, n, F_WORDS | F_CHARS | F_UTF8);
}

TGT_AVX2 static uint64_t count_nl_avx2(const uint8_t *p, size_t n)
{
    const __m256i nl = _mm256_set1_epi8('\n');
    uint64_t total = 0;
    size_t i = 0;
    while (n - i >= 128) {
        size_t iters = (n - i) / 128;
        if (iters > 255)
            iters = 255;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t k = 0; k < iters; k++, i += 128) {
            const __m256i *q = (const __m256i *)(p + i);
            a0 = _mm256_sub_epi8(a0,
                                 _mm256_cmpeq_epi8(_mm256_loadu_si256(q), nl));
            a1 = _mm256_sub_epi8(
                a1, _mm256_cmpeq_epi8(_mm256_loadu_si256(q + 1), nl));
            a2 = _mm256_sub_epi8(
                a2, _mm256_cmpeq_epi8(_mm256_loadu_si256(q + 2), nl));
            a3 = _mm256_sub_epi8(
                a3, _mm256_cmpeq_epi8(_mm256_loadu_si256(q + 3), nl));
        }
        const __m256i z = _mm256_setzero_si256();
        __m256i s = _mm256_add_epi64(
            _mm256_add_epi64(_mm256_sad_epu8(a0, z), _mm256_sad_epu8(a1, z)),
            _mm256_add_epi64(_mm256_sad_epu8(a2, z), _mm256_sad_epu8(a3, z)));
        __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s),
                                  _mm256_extracti128_si256(s, 1));
        total +=
            (uint64_t)_mm_cvtsi128_si64(h) + (uint64_t)_mm_extract_epi64(h, 1);
    }
    for (; i + 32 <= n; i += 32)
        total += (uint64_t)__builtin_popcount(
            (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
                _mm256_loadu_si256((const __m256i *)(p + i)), nl)));
    for (; i < n; i++)
        total += p[i] == '\n';
    return total;
}

/* -L: event bytes (controls, DEL, bytes >= 0x80) of 64 bytes. */
TGT_AVX2 static INLINE uint64_t events_avx2(const uint8_t *q)
{
    __m256i v0 = _mm256_loadu_si256((const __m256i *)q);
    __m256i v1 = _mm256_loadu_si256((const __m256i *)(q + 32));
    const __m256i sp = _mm256_set1_epi8(0x20), del = _mm256_set1_epi8(0x7F);
    return mm64(
        _mm256_or_si256(_mm256_cmpgt_epi8(sp, v0), _mm256_cmpeq_epi8(v0, del)),
        _mm256_or_si256(_mm256_cmpgt_epi8(sp, v1), _mm256_cmpeq_epi8(v1, del)));
}

#endif /* WC_X86 */

#if WC_X86

/* -L kernel: walks the event bytes, adds the printable runs between them.
 * Only the -L fields of c change. */
#define MAXLINE_KERNEL(NAME, TGT, EVENTS)                                      \
    TGT static void NAME(const wc_config *cfg, wc_core *c, const uint8_t *p,   \
                         size_t n)                                             \
    {                                                                          \
        sstate s;                                                              \
        ss_load(&s, c);                                                        \
        size_t cur = 0, base = 0;                                              \
        for (; base < n; base += 64) {                                         \
            uint64_t e;                                                        \
            if (n - base >= 64) {                                              \
                e = EVENTS(p + base);                                          \
            } else {                                                           \
                uint8_t tmp[64];                                               \
                memset(tmp, 'x', sizeof tmp);                                  \
                memcpy(tmp, p + base, n - base);                               \
                e = EVENTS(tmp) & ((1ull << (n - base)) - 1);                  \
            }                                                                  \
            while (e) {                                                        \
                size_t at = base + (size_t)__builtin_ctzll(e);                 \
                e &= e - 1;                                                    \
                if (at < cur)                                                  \
                    continue;                                                  \
                colfn_add(&s.seg, at - cur);                                   \
                cur = at + maxline_event(cfg, &s, p, at, n);                   \
                e = events_from(e, base, cur);                                 \
            }                                                                  \
        }                                                                      \
        if (n > cur)                                                           \
            colfn_add(&s.seg, n - cur);                                        \
        maxline_store(&s, c);                                                  \
    }

MAXLINE_KERNEL(maxline_avx2, TGT_AVX2, events_avx2)

/* ------------------------------------------------------------- AVX-512 */

TGT_AVX512 static INLINE __mmask64 space_512(__m512i v)
{
    __m512i t = _mm512_sub_epi8(v, _mm512_set1_epi8(9));
    return _mm512_cmple_epu8_mask(t, _mm512_set1_epi8(4)) |
           _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' '));
}

TGT_AVX512 static INLINE __mmask64 member_512(__m512i v, __m512i tbl)
{
    const __m512i bits = _mm512_broadcast_i32x4(_mm_setr_epi8(
        0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, (char)128));
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512i lo = _mm512_and_si512(v, low);
    __m512i hn = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
    return _mm512_test_epi8_mask(_mm512_shuffle_epi8(tbl, lo),
                                 _mm512_shuffle_epi8(bits, hn));
}

TGT_AVX512 static INLINE __mmask64 ge_512(__m512i v, int t)
{
    return _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8((char)t));
}

TGT_AVX512 static INLINE __mmask64 eq_512(__m512i v, int t)
{
    return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)t));
}

/* As chars_hi_avx2; `avail` bytes at q are readable (>= 64 + 6 is
 * enough), bytes past it read as 0. */
TGT_AVX512 static INLINE uint64_t chars_hi_512(const uint8_t *q, __m512i v,
                                               uint64_t valid, size_t avail)
{
    const __m512i m64 = _mm512_set1_epi8(-64);
    uint64_t C = _mm512_cmplt_epi8_mask(v, m64);
    uint64_t kx = avail >= 128 ? ~0ull
                  : avail > 64 ? (1ull << (avail - 64)) - 1
                               : 0;
    __m512i vx = _mm512_maskz_loadu_epi8(kx, q + 64);
    uint64_t Cx = _mm512_cmplt_epi8_mask(vx, m64);
    uint64_t hi = _mm512_movepi8_mask(v);
    uint64_t leads = hi & ~C & valid;
    uint64_t geC2 = ge_512(v, 0xC2), geE0 = ge_512(v, 0xE0);
    uint64_t geF0 = ge_512(v, 0xF0), geF8 = ge_512(v, 0xF8);
    uint64_t geFC = ge_512(v, 0xFC), geFE = ge_512(v, 0xFE);
    uint64_t s1 = C >> 1 | Cx << 63, s2 = C >> 2 | Cx << 62;
    uint64_t s3 = C >> 3 | Cx << 61, s4 = C >> 4 | Cx << 60;
    uint64_t s5 = C >> 5 | Cx << 59;
    uint64_t c2 = s1, c3 = c2 & s2, c4 = c3 & s3, c5 = c4 & s4, c6 = c5 & s5;
    uint64_t ok = ((geC2 & ~geE0) & c2) | ((geE0 & ~geF0) & c3) |
                  ((geF0 & ~geF8) & c4) | ((geF8 & ~geFC) & c5) |
                  ((geFC & ~geFE) & c6);
    if (ok & geE0) {
        uint64_t k1 = avail >= 65 ? ~0ull : (1ull << (avail - 1)) - 1;
        __m512i n1 = _mm512_maskz_loadu_epi8(k1, q + 1);
        uint64_t bad = (eq_512(v, 0xE0) & ~ge_512(n1, 0xA0)) |
                       (eq_512(v, 0xED) & ge_512(n1, 0xA0)) |
                       (eq_512(v, 0xF0) & ~ge_512(n1, 0x90)) |
                       (eq_512(v, 0xF8) & ~ge_512(n1, 0x88)) |
                       (eq_512(v, 0xFC) & ~ge_512(n1, 0x84));
        ok &= ~bad;
    }
    return (uint64_t)__builtin_popcountll(~C & valid) -
           (uint64_t)__builtin_popcountll(leads & ~ok);
}

TGT_AVX512 static INLINE void k1_block_512(const wc_config *cfg, k1state *s,
                                           const uint8_t *q, size_t avail,
                                           const unsigned fl)
{
    uint64_t valid = avail >= 64 ? ~0ull : (1ull << avail) - 1;
    __m512i v = _mm512_maskz_loadu_epi8(valid, q);
    s->lines += (uint64_t)__builtin_popcountll(
        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n')));
    uint64_t hi = _mm512_movepi8_mask(v);
    if (fl & F_WORDS) {
        uint64_t sp = space_512(v);
        uint64_t spill = 0;
        if (hi) {
            if (fl & F_UTF8) {
                if (cfg->has_lead_space) {
                    __m512i t = _mm512_broadcast_i32x4(
                        _mm_loadu_si128((const __m128i *)cfg->lead_space_set));
                    uint64_t cand = member_512(v, t);
                    if (cand) {
                        if (avail >= 64 + UTF8_MAXLEN) {
                            sp |= mbspace_bits(cfg, q, cand, &spill);
                        } else {
                            uint8_t tmp[64 + 16];
                            memset(tmp, 'x', sizeof tmp);
                            memcpy(tmp, q, avail);
                            sp |= mbspace_bits(cfg, tmp, cand, &spill);
                        }
                    }
                }
            } else if (cfg->has_hi_space) {
                __m512i t = _mm512_broadcast_i32x4(
                    _mm_loadu_si128((const __m128i *)cfg->hi_space_set));
                sp |= member_512(v, t);
            }
        }
        sp |= s->spill;
        s->spill = spill;
        if (s->need_first) {
            s->first_word = !(sp & 1);
            s->need_first = 0;
        }
        uint64_t starts = ~sp & ((sp << 1) | s->carry) & valid;
        s->words += (uint64_t)__builtin_popcountll(starts);
        unsigned last = 63 - (unsigned)__builtin_clzll(valid);
        s->carry = sp >> last & 1;
    }
    if (fl & F_CHARS) {
        if (!hi)
            s->chars += (uint64_t)__builtin_popcountll(valid);
        else
            s->chars += chars_hi_512(q, v, valid, avail);
    }
}

TGT_AVX512 static INLINE void k1_512_tmpl(const wc_config *cfg, wc_core *c,
                                          const uint8_t *p, size_t n,
                                          const unsigned fl)
{
    k1state s = k1_load(c);
    for (size_t i = 0; i < n; i += 64)
        k1_block_512(cfg, &s, p + i, n - i, fl);
    k1_save(c, &s, fl);
}

TGT_AVX512 static void k1_512_w(const wc_config *cfg, wc_core *c,
                                const uint8_t *p, size_t n)
{
    k1_512_tmpl(cfg, c, p, n, F_WORDS);
}
TGT_AVX512 static void k1_512_uw(const wc_config *cfg, wc_core *c,
                                 const uint8_t *p, size_t n)
{
    k1_512_tmpl(cfg, c, p, n, F_WORDS | F_UTF8);
}
TGT_AVX512 static void k1_512_uc(const wc_config *cfg, wc_core *c,
                                 const uint8_t *p, size_t n)
{
    k1_512_tmpl(cfg, c, p, n, F_CHARS | F_UTF8);
}
TGT_AVX512 static void k1_512_uwc(const wc_config *cfg, wc_core *c,
                                  const uint8_t *p, size_t n)
{
    k1_512_tmpl(cfg, c, p, n, F_WORDS | F_CHARS | F_UTF8);
}

TGT_AVX512 static uint64_t count_nl_512(const uint8_t *p, size_t n)
{
    const __m512i nl = _mm512_set1_epi8('\n');
    uint64_t total = 0;
    size_t i = 0;
    for (; i + 256 <= n; i += 256) {
        total += (uint64_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(
            _mm512_loadu_si512((const void *)(p + i)), nl));
        total += (uint64_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(
            _mm512_loadu_si512((const void *)(p + i + 64)), nl));
        total += (uint64_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(
            _mm512_loadu_si512((const void *)(p + i + 128)), nl));
        total += (uint64_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(
            _mm512_loadu_si512((const void *)(p + i + 192)), nl));
    }
    for (; i < n; i += 64) {
        uint64_t k = n - i >= 64 ? ~0ull : (1ull << (n - i)) - 1;
        total += (uint64_t)__builtin_popcountll(
            _mm512_cmpeq_epi8_mask(_mm512_maskz_loadu_epi8(k, p + i), nl) & k);
    }
    return total;
}

TGT_AVX512 static INLINE uint64_t events_512(const uint8_t *q)
{
    __m512i v = _mm512_loadu_si512((const void *)q);
    return _mm512_cmplt_epi8_mask(v, _mm512_set1_epi8(0x20)) |
           _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(0x7F));
}

MAXLINE_KERNEL(maxline_512, TGT_AVX512, events_512)

#endif /* WC_X86 */

/* ------------------------------------------------------------- dispatch */

/* Appends the complete units of p[0..n) (no edge bytes) to c. */
static void scan_region(const wc_config *cfg, wc_core *c, const uint8_t *p,
                        size_t n)
{
    if (n == 0)
        return;
    const unsigned want = cfg->want;
    const int words = want & WC_WANT(WC_WORDS);
    const int chars = cfg->mode == WC_MODE_UTF8 && (want & WC_WANT(WC_CHARS));
    const int lines = want & WC_WANT(WC_LINES);
    const int maxline = want & WC_WANT(WC_MAXLINE);
    const int utf8 = cfg->mode == WC_MODE_UTF8;

    if (!cfg->ascii_std) {
        /* the fast kernels assume the usual ASCII classes */
        scan_scalar(cfg, c, p, n);
        c->nonempty = 1;
        return;
    }
    if (cfg->simd == WC_SIMD_SCALAR) {
        if (words || chars)
            k1_swar(cfg, c, p, n);
        else if (lines)
            c->lines += count_nl_scalar(p, n);
        if (maxline)
            maxline_swar(cfg, c, p, n);
        c->nonempty = 1;
        return;
    }
#if WC_X86
    if (cfg->simd == WC_SIMD_AVX512) {
        if (words && chars)
            k1_512_uwc(cfg, c, p, n);
        else if (words)
            (utf8 ? k1_512_uw : k1_512_w)(cfg, c, p, n);
        else if (chars)
            k1_512_uc(cfg, c, p, n);
        else if (lines)
            c->lines += count_nl_512(p, n);
        if (maxline)
            maxline_512(cfg, c, p, n);
    } else {
        if (words && chars)
            k1_avx2_uwc(cfg, c, p, n);
        else if (words)
            (utf8 ? k1_avx2_uw : k1_avx2_w)(cfg, c, p, n);
        else if (chars)
            k1_avx2_uc(cfg, c, p, n);
        else if (lines)
            c->lines += count_nl_avx2(p, n);
        if (maxline)
            maxline_avx2(cfg, c, p, n);
    }
#else
    (void)utf8;
    if (words || chars)
        k1_swar(cfg, c, p, n);
    else if (lines)
        c->lines += count_nl_scalar(p, n);
    if (maxline)
        maxline_swar(cfg, c, p, n);
#endif
    c->nonempty = 1;
}

/* =================================================== UTF-8 edges, merge */

/* Single-byte and UTF-8 partials use only the fields before `raw`. */
#define PARTIAL_BASE offsetof(wc_partial, raw)

/* Decodes the edge bytes m[0..n) (a lead byte and/or continuation bytes)
 * onto c; incomplete sequences are errors. */
static void resolve_u8(const wc_config *cfg, wc_core *c, const uint8_t *m,
                       size_t n)
{
    scan_scalar(cfg, c, m, n);
}

/* Splits a block into head, middle and pending bytes (UTF-8). */
static void summarize_u8(const wc_config *cfg, wc_partial *t, const uint8_t *d,
                         size_t n)
{
    memset(t, 0, PARTIAL_BASE);
    t->bytes = n;
    if (n == 0)
        return;
    size_t h = 0;
    while (h < n && h < UTF8_EDGE && is_cont(d[h]))
        h++;
    memcpy(t->head, d, h);
    t->head_len = (uint8_t)h;
    if (h == n)
        return; /* only continuation bytes: still open */
    t->closed = 1;
    size_t pend = n;
    size_t lo = n - h > UTF8_EDGE ? n - UTF8_EDGE : h;
    for (size_t i = n; i > lo;) {
        i--;
        if (!is_cont(d[i])) {
            if ((size_t)u8_len(d[i]) > n - i)
                pend = i;
            break;
        }
    }
    t->pend_len = (uint8_t)(n - pend);
    memcpy(t->pend, d + pend, n - pend);
    scan_region(cfg, &t->core, d + h, pend - h);
}

static void merge_u8(const wc_config *cfg, wc_partial *x, const wc_partial *y)
{
    uint64_t bytes = x->bytes + y->bytes;
    if (!x->closed) {
        /* x is only leading continuation bytes: they join y's */
        uint8_t comb[2 * UTF8_EDGE];
        size_t n = x->head_len;
        memcpy(comb, x->head, n);
        memcpy(comb + n, y->head, y->head_len);
        n += y->head_len;
        size_t keep = n < UTF8_EDGE ? n : UTF8_EDGE;
        wc_core core;
        core_errors(&core, n - keep);
        wc_partial r;
        memset(&r, 0, PARTIAL_BASE);
        memcpy(r.head, comb, keep);
        r.head_len = (uint8_t)keep;
        if (y->closed) {
            core_merge(&core, &y->core);
            r.closed = 1;
            r.pend_len = y->pend_len;
            memcpy(r.pend, y->pend, y->pend_len);
        } else {
            r.closed = n > keep;
        }
        r.core = core;
        r.bytes = bytes;
        memcpy(x, &r, PARTIAL_BASE);
        return;
    }
    /* the bytes at the cut: x's incomplete tail and y's leading
     * continuation bytes */
    uint8_t m[2 * UTF8_EDGE];
    size_t mn = x->pend_len;
    memcpy(m, x->pend, mn);
    memcpy(m + mn, y->head, y->head_len);
    mn += y->head_len;
    if (!y->closed) {
        uint32_t cp;
        if (x->pend_len && u8_decode(m, mn, &cp) < 0) {
            /* still incomplete: more bytes may follow */
            memcpy(x->pend, m, mn);
            x->pend_len = (uint8_t)mn;
        } else {
            resolve_u8(cfg, &x->core, m, mn);
            x->pend_len = 0;
        }
        x->bytes = bytes;
        return;
    }
    resolve_u8(cfg, &x->core, m, mn);
    core_merge(&x->core, &y->core);
    memcpy(x->pend, y->pend, y->pend_len);
    x->pend_len = y->pend_len;
    x->bytes = bytes;
}

/* ============================================ generic multibyte locales */

/* Parses the units of d starting at [from, stop) onto c (a unit starting
 * before stop may end after it).  Returns the offset after the last unit;
 * when !terminated and a character is incomplete at n, stops there and sets
 * *incomplete.  Mirrors upstream wc's loop: bytes < 0x80 are characters,
 * others go through mbrtowc; an error consumes one byte. */
static size_t gen_parse(const wc_config *cfg, wc_core *c, const uint8_t *d,
                        size_t n, size_t from, size_t stop, int terminated,
                        int *incomplete)
{
    sstate s;
    size_t i = from;
    ss_load(&s, c);
    if (incomplete)
        *incomplete = 0;
    while (i < stop && i < n) {
        uint8_t b = d[i];
        if (b < 0x80) {
            ss_kind(&s, cfg->kind[b]);
            i++;
            continue;
        }
        mbstate_t st;
        wchar_t wc = 0;
        memset(&st, 0, sizeof st);
        size_t r = mbrtowc(&wc, (const char *)d + i, n - i, &st);
        if (r == (size_t)-2 && !terminated) {
            if (incomplete)
                *incomplete = 1;
            break;
        }
        if (r == (size_t)-1 || r == (size_t)-2) {
            ss_unit(&s, ACT_W, 0, 1, 0);
            i++;
            continue;
        }
        if (r == 0)
            r = 1;
        uint32_t w = (uint32_t)wc;
        if (r == 1 && w < 0x80) {
            ss_kind(&s, cfg->kind[w]);
        } else if (r == 1 && w <= 0xFF) {
            ss_unit(&s, ACT_W, cfg->sb_print[w], !cfg->sb_space[w], 1);
        } else {
            int is_space = iswspace((wint_t)wc) ||
                           (!cfg->posixly_correct && is_nbspace(w));
            unsigned width = 0;
            if (cfg->want & WC_WANT(WC_MAXLINE)) {
                int wd = wcwidth(wc);
                width = wd > 0 ? (unsigned)wd : 0;
            }
            ss_unit(&s, ACT_W, width, !is_space, 1);
        }
        i += r;
    }
    ss_store(&s, c);
    return i;
}

static void gen_summarize(const wc_config *cfg, wc_partial *t, const uint8_t *d,
                          size_t n)
{
    memset(t, 0, sizeof *t);
    t->bytes = n;
    if (n < WC_GEN_RAW) {
        memcpy(t->raw, d, n);
        t->raw_len = (uint8_t)n;
        return;
    }
    t->closed = 1;
    unsigned k = cfg->mb_max;
    memcpy(t->gen_head, d, k - 1);
    for (unsigned e = 0; e < k; e++) {
        wc_gen_hyp *h = &t->hyp[e];
        size_t end = gen_parse(cfg, &h->core, d, n, e, n, 0, NULL);
        h->pend_len = (uint8_t)(n - end);
        memcpy(h->pend, d + end, n - end);
    }
}

/* h = h (+) the bytes b[0..n) that follow it (more may follow them). */
static void gen_feed(const wc_config *cfg, wc_gen_hyp *h, const uint8_t *b,
                     size_t n)
{
    uint8_t m[WC_GEN_MAXLEN + WC_GEN_RAW];
    size_t mn = h->pend_len;
    memcpy(m, h->pend, mn);
    memcpy(m + mn, b, n);
    mn += n;
    size_t end = gen_parse(cfg, &h->core, m, mn, 0, mn, 0, NULL);
    h->pend_len = (uint8_t)(mn - end);
    memmove(h->pend, m + end, mn - end);
}

/* out = h (+) y, y closed. */
static void gen_cross(const wc_config *cfg, wc_gen_hyp *out,
                      const wc_gen_hyp *h, const wc_partial *y)
{
    uint8_t m[2 * WC_GEN_MAXLEN];
    unsigned k = cfg->mb_max;
    size_t mn = h->pend_len;
    memcpy(m, h->pend, mn);
    memcpy(m + mn, y->gen_head, k - 1);
    wc_core core = h->core;
    size_t end = gen_parse(cfg, &core, m, mn + k - 1, 0, mn, 1, NULL);
    size_t e = end - mn; /* bytes of y the last character took */
    core_merge(&core, &y->hyp[e].core);
    out->core = core;
    out->pend_len = y->hyp[e].pend_len;
    memcpy(out->pend, y->hyp[e].pend, y->hyp[e].pend_len);
}

static void merge_gen(const wc_config *cfg, wc_partial *x, const wc_partial *y)
{
    uint64_t bytes = x->bytes + y->bytes;
    unsigned k = cfg->mb_max;
    if (!x->closed && !y->closed) {
        size_t n = (size_t)x->raw_len + y->raw_len;
        if (n < WC_GEN_RAW) {
            memcpy(x->raw + x->raw_len, y->raw, y->raw_len);
            x->raw_len = (uint8_t)n;
            x->bytes = bytes;
        } else {
            uint8_t buf[2 * WC_GEN_RAW];
            memcpy(buf, x->raw, x->raw_len);
            memcpy(buf + x->raw_len, y->raw, y->raw_len);
            gen_summarize(cfg, x, buf, n);
        }
        return;
    }
    if (!y->closed) {
        for (unsigned e = 0; e < k; e++)
            gen_feed(cfg, &x->hyp[e], y->raw, y->raw_len);
        x->bytes = bytes;
        return;
    }
    wc_partial r;
    memset(&r, 0, sizeof r);
    r.closed = 1;
    r.bytes = bytes;
    if (x->closed) {
        memcpy(r.gen_head, x->gen_head, sizeof r.gen_head);
        for (unsigned e = 0; e < k; e++)
            gen_cross(cfg, &r.hyp[e], &x->hyp[e], y);
    } else {
        size_t xl = x->raw_len;
        uint8_t hb[2 * WC_GEN_MAXLEN];
        size_t hn = xl < k - 1 ? xl : k - 1;
        memcpy(hb, x->raw, hn);
        memcpy(hb + hn, y->gen_head, k - 1 - hn);
        memcpy(r.gen_head, hb, k - 1);
        for (unsigned e = 0; e < k; e++) {
            if (e >= xl) {
                r.hyp[e] = y->hyp[e - xl];
                continue;
            }
            wc_gen_hyp h;
            memset(&h, 0, sizeof h);
            size_t end = gen_parse(cfg, &h.core, x->raw, xl, e, xl, 0, NULL);
            h.pend_len = (uint8_t)(xl - end);
            memcpy(h.pend, x->raw + end, xl - end);
            gen_cross(cfg, &r.hyp[e], &h, y);
        }
    }
    *x = r;
}

/* ================================================================= API */

void wc_count_init(wc_partial *p)
{
    memset(p, 0, sizeof *p);
}

void wc_count_map(const wc_config *cfg, wc_partial *p,
                  const unsigned char *data, size_t len)
{
    if (len == 0)
        return;
    if (cfg->mode == WC_MODE_SINGLE) {
        /* no edges: every byte is a unit */
        scan_region(cfg, &p->core, data, len);
        p->bytes += len;
        p->closed = 1;
        return;
    }
    wc_partial t;
    if (cfg->mode == WC_MODE_UTF8) {
        summarize_u8(cfg, &t, data, len);
        merge_u8(cfg, p, &t);
    } else {
        gen_summarize(cfg, &t, data, len);
        merge_gen(cfg, p, &t);
    }
}

void wc_count_merge(const wc_config *cfg, wc_partial *into,
                    const wc_partial *next)
{
    switch (cfg->mode) {
    case WC_MODE_SINGLE:
        core_merge(&into->core, &next->core);
        into->bytes += next->bytes;
        into->closed |= next->closed;
        break;
    case WC_MODE_UTF8:
        merge_u8(cfg, into, next);
        break;
    default:
        merge_gen(cfg, into, next);
        break;
    }
}

void wc_count_result(const wc_config *cfg, const wc_partial *p, wc_counts *out)
{
    wc_core c;
    memset(&c, 0, sizeof c);
    switch (cfg->mode) {
    case WC_MODE_SINGLE:
        c = p->core;
        break;
    case WC_MODE_UTF8:
        /* nothing precedes the head, nothing follows the pending bytes */
        core_errors(&c, p->head_len);
        if (p->closed) {
            core_merge(&c, &p->core);
            resolve_u8(cfg, &c, p->pend, p->pend_len);
        }
        break;
    default:
        if (!p->closed) {
            gen_parse(cfg, &c, p->raw, p->raw_len, 0, p->raw_len, 1, NULL);
        } else {
            c = p->hyp[0].core;
            gen_parse(cfg, &c, p->hyp[0].pend, p->hyp[0].pend_len, 0,
                      p->hyp[0].pend_len, 1, NULL);
        }
        break;
    }
    uint64_t maxline = colfn_apply(&c.head, 0);
    if (c.has_eol) {
        if (c.max_in > maxline)
            maxline = c.max_in;
        if (c.tail > maxline)
            maxline = c.tail;
    }
    unsigned want = cfg->want;
    out->v[WC_LINES] = want & WC_WANT(WC_LINES) ? c.lines : 0;
    out->v[WC_WORDS] = want & WC_WANT(WC_WORDS) ? c.words : 0;
    out->v[WC_CHARS] = !(want & WC_WANT(WC_CHARS))   ? 0
                       : cfg->mode == WC_MODE_SINGLE ? p->bytes
                                                     : c.chars;
    out->v[WC_BYTES] = want & WC_WANT(WC_BYTES) ? p->bytes : 0;
    out->v[WC_MAXLINE] = want & WC_WANT(WC_MAXLINE) ? maxline : 0;
}

void wc_count_buffer(const wc_config *cfg, const unsigned char *data,
                     size_t len, wc_counts *out)
{
    wc_partial p;
    wc_count_init(&p);
    wc_count_map(cfg, &p, data, len);
    wc_count_result(cfg, &p, out);
}

/* ======================================================= configuration */

const char *wc_simd_name(wc_simd simd)
{
    switch (simd) {
    case WC_SIMD_SCALAR:
        return "scalar";
    case WC_SIMD_AVX2:
        return "avx2";
    case WC_SIMD_AVX512:
        return "avx512";
    default:
        return "auto";
    }
}

static void set_add(uint8_t set[16], unsigned b)
{
    set[b & 15] |= (uint8_t)(1u << ((b >> 4) - 8));
}

/* UTF-8 lead byte of a code point >= 0x80. */
static unsigned u8_lead(uint32_t cp)
{
    if (cp < 0x800)
        return 0xC0 | cp >> 6;
    if (cp < 0x10000)
        return 0xE0 | cp >> 12;
    return 0xF0 | cp >> 18;
}

/* gnulib's btoc32 as coreutils is built with it on glibc: btowc, except
 * that in the C/POSIX locale bytes 0x80..0xFF map to U+0080..U+00FF
 * (gnulib's C-locale fix of mbrtowc, used by its btowc). */
static uint32_t btoc32_like(unsigned b, int c_locale)
{
    wint_t w = btowc((int)b);
    if (w == WEOF)
        return c_locale && b >= 0x80 ? b : 0xFFFFFFFFu;
    return (uint32_t)w;
}

int wc_config_init(wc_config *cfg, unsigned want, wc_simd simd, char *err,
                   size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if ((want & WC_WANT_ALL) == 0)
        want = WC_WANT(WC_LINES) | WC_WANT(WC_WORDS) | WC_WANT(WC_BYTES);
    cfg->want = want & WC_WANT_ALL;
    cfg->posixly_correct = getenv("POSIXLY_CORRECT") != NULL;
    cfg->mb_max = (unsigned)MB_CUR_MAX;

    const char *codeset = nl_langinfo(CODESET);
    const char *ctype = setlocale(LC_CTYPE, NULL);
    int c_locale =
        !ctype || strcmp(ctype, "C") == 0 || strcmp(ctype, "POSIX") == 0;
    if (cfg->mb_max <= 1)
        cfg->mode = WC_MODE_SINGLE;
    else if (codeset && (strcasecmp(codeset, "UTF-8") == 0 ||
                         strcasecmp(codeset, "UTF8") == 0))
        cfg->mode = WC_MODE_UTF8;
    else
        cfg->mode = WC_MODE_GENERIC;
    if (cfg->mode == WC_MODE_GENERIC && cfg->mb_max > WC_GEN_MAXLEN) {
        snprintf(err, errlen, "codeset %s: MB_CUR_MAX %u is above %d",
                 codeset ? codeset : "?", cfg->mb_max, WC_GEN_MAXLEN);
        return -1;
    }

    /* tables as upstream wc builds them (wc_isprint, wc_isspace) */
    for (unsigned i = 0; i < 256; i++) {
        cfg->sb_print[i] = isprint((int)i) != 0;
        cfg->sb_space[i] = isspace((int)i) ||
                           (!cfg->posixly_correct &&
                            is_nbspace(btoc32_like(
                                i, cfg->mode == WC_MODE_SINGLE && c_locale)));
    }
    for (unsigned i = 0; i < 256; i++) {
        uint8_t k;
        switch (i) {
        case '\n':
            k = K_NL;
            break;
        case '\r':
        case '\f':
            k = K_EOL;
            break;
        case '\t':
            k = K_TAB;
            break;
        case ' ':
            k = K_S1;
            break;
        case '\v':
            k = K_S0;
            break;
        default:
            if (i >= 0x80 && cfg->mode != WC_MODE_SINGLE)
                k = K_HI;
            else
                k = (uint8_t)((cfg->sb_space[i] ? K_S0 : K_W0) +
                              cfg->sb_print[i]);
            break;
        }
        cfg->kind[i] = k;
    }
    cfg->ascii_std = 1;
    for (unsigned i = 0; i < 0x80; i++) {
        uint8_t k = i == '\n'                ? K_NL
                    : i == '\r' || i == '\f' ? K_EOL
                    : i == '\t'              ? K_TAB
                    : i == ' '               ? K_S1
                    : i == '\v'              ? K_S0
                    : i > 0x20 && i < 0x7F   ? K_W1
                                             : K_W0;
        if (cfg->kind[i] != k)
            cfg->ascii_std = 0;
    }
    if (cfg->mode == WC_MODE_SINGLE) {
        /* -L events: the SIMD kernel treats every byte >= 0x80 as one, so
         * only ASCII must be standard */
        for (unsigned i = 0x80; i < 256; i++)
            if (cfg->kind[i] == K_S0 || cfg->kind[i] == K_S1) {
                set_add(cfg->hi_space_set, i);
                cfg->has_hi_space = 1;
            }
    }

    if (cfg->mode == WC_MODE_UTF8) {
        if (want & WC_WANT(WC_WORDS)) {
            cfg->mb_space = calloc((UNICODE_MAX + 1) / 8, 1);
            if (!cfg->mb_space)
                goto nomem;
            for (uint32_t cp = 0x80; cp <= UNICODE_MAX; cp++) {
                if (iswspace((wint_t)cp) ||
                    (!cfg->posixly_correct && is_nbspace(cp))) {
                    cfg->mb_space[cp >> 3] |= (uint8_t)(1u << (cp & 7));
                    set_add(cfg->lead_space_set, u8_lead(cp));
                    cfg->has_lead_space = 1;
                }
            }
        }
        if (want & WC_WANT(WC_MAXLINE)) {
            cfg->mb_width = malloc(UNICODE_MAX + 1);
            if (!cfg->mb_width)
                goto nomem;
            for (uint32_t cp = 0; cp <= UNICODE_MAX; cp++) {
                int w = wcwidth((wchar_t)cp);
                cfg->mb_width[cp] = (uint8_t)(w > 0 ? w : 0);
            }
        }
    }

    int have_avx2 = 0, have_512 = 0;
#if WC_X86
    __builtin_cpu_init();
    have_avx2 = __builtin_cpu_supports("avx2") &&
                __builtin_cpu_supports("bmi2") &&
                __builtin_cpu_supports("popcnt");
    have_512 = have_avx2 && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw");
#endif
    switch (simd) {
    case WC_SIMD_SCALAR:
        cfg->simd = WC_SIMD_SCALAR;
        break;
    case WC_SIMD_AVX2:
        if (!have_avx2) {
            snprintf(err, errlen, "simd=avx2: this CPU does not support AVX2");
            wc_config_fini(cfg);
            return -1;
        }
        cfg->simd = WC_SIMD_AVX2;
        break;
    case WC_SIMD_AVX512:
        if (!have_512) {
            snprintf(err, errlen,
                     "simd=avx512: this CPU does not support AVX-512BW");
            wc_config_fini(cfg);
            return -1;
        }
        cfg->simd = WC_SIMD_AVX512;
        break;
    default:
        /* measured: AVX-512BW beats AVX2 on the words kernel (the default
         * -lwc); lines, -m and -L run as fast or faster with AVX2 */
        if (have_512 && (cfg->want & WC_WANT(WC_WORDS)))
            cfg->simd = WC_SIMD_AVX512;
        else
            cfg->simd = have_avx2 ? WC_SIMD_AVX2 : WC_SIMD_SCALAR;
        break;
    }
    if (cfg->mode == WC_MODE_GENERIC)
        cfg->simd = WC_SIMD_SCALAR; /* mbrtowc decides every byte >= 0x80 */
    return 0;

nomem:
    snprintf(err, errlen, "out of memory for the character tables");
    wc_config_fini(cfg);
    return -1;
}

void wc_config_fini(wc_config *cfg)
{
    free(cfg->mb_space);
    free(cfg->mb_width);
    cfg->mb_space = NULL;
    cfg->mb_width = NULL;
}
