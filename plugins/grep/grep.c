/*
 * plugins/grep/grep.c -- the `grep` plugin: the lines GNU grep 3.8 selects,
 * found in parallel, written as a small framed stream for `sluice grep`.
 *
 * What runs where: global_init (coordinator, before the fork) reads the
 * options, compiles the patterns and picks the CPU kernels; the compiled
 * state lives in this file's globals, which every worker inherits and
 * only reads.  map runs in the workers, one call per unit
 * (SLUICE_CAP_WHOLE_UNIT); merge and counters only add numbers; the
 * boundary hook runs in the coordinator and only reads the file.
 *
 * Units end on line boundaries.  For regular files the boundary hook puts
 * every cut just after a newline however long the line is (and, when the
 * file's first 98304 bytes, GNU's first buffer, hold a NUL, not before
 * their end).  Stream units (stdin, a pipe) all go to one worker in order
 * (that is what the hook buys), and the engine keeps them on newlines
 * unless a line is longer than its 1 MiB slot: what follows the last
 * newline of such a unit waits in the worker (`carry`) and is searched
 * with the next unit.  So a line is always searched whole, by one map
 * call.  A stream's first unit stands for GNU's first buffer: 1 MiB (or
 * all of a shorter stream) unless --chunk-size makes it smaller; GNU's own
 * first read of a pipe returns whatever the pipe holds.
 *
 * Search: a unit is searched as one buffer, never line by line.  -F finds
 * the next occurrence of a pattern in the rest of the buffer (a SIMD
 * filter on two rare bytes of the pattern, AVX2 or SSE2, then a compare)
 * and extends it to its line; with several patterns the earliest match
 * wins, each pattern's next match cached.  -G/-E use glibc's regex through
 * the GNU API with GNU grep's own syntax bits (RE_SYNTAX_GREP/EGREP, plus
 * RE_ICASE).  A regex with a "must" string (a literal every match holds,
 * as GNU's kwset uses) has the -F filter find the lines holding it and
 * runs only on those; otherwise one re_search over the rest of the buffer
 * finds the next match, and one that crosses a newline (a bracket such as
 * [[:space:]] can match one) is checked again on its first line alone.
 * \` and \' (start and end of the string) make every line a string of its
 * own.  Patterns are first rewritten to what GNU's dfa makes of operators
 * that have nothing to repeat, where glibc reads them otherwise
 * (rewrite()).  -F -i with a non-ASCII pattern in a multibyte locale
 * becomes a -G pattern with RE_ICASE.
 *
 * GNU's binary files: GNU reads 96 KiB buffers; once a buffer holds a NUL
 * it prints no more lines of that file (it says "binary file matches" at
 * the end if it selected any after that point), and from then on treats
 * every NUL as a line end.  A unit with a NUL finds GNU's buffer start
 * (the start of the line holding offset 98304*k below the first NUL) and
 * writes a BINARY frame there; lines with NULs are searched with their
 * NULs turned into newlines (a copy).  In a UTF-8 locale GNU withholds a
 * selected line that is not valid UTF-8 and says "binary file matches" at
 * the end: WITHHELD frame.
 *
 * The output stream (ordered, per input; read by cli/grep.c, which knows
 * the line numbers of earlier units and prints GNU's format):
 *   'T' u32le N, N bytes   selected lines' text, each ending in '\n' (one
 *                          is added after a last line without it)
 *   'N' varint K           the next line of text is line K of this unit
 *                          (0-based), with output=numbered
 *   'E' varint K           this unit holds K newlines (output=numbered)
 *   'B' u8 M               the input is binary from here on: no more of
 *                          its text is printed; M=1: a line is selected
 *                          at or after this point in this unit
 *   'W'                    a selected line was withheld (not UTF-8)
 *   'S'                    this unit selected a line (output=quiet)
 * Frames may be cut anywhere between two deliveries of output.
 *
 * Options: patterns (newline-separated), syntax (basic|extended|fixed),
 * icase, invert, output (lines|numbered|count|quiet).  The partial result
 * is the number of selected lines (count), or at least 1 per unit that
 * selected one (other outputs).
 */
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GREP_X86 1
#else
#define GREP_X86 0
#endif

#include "sluice/plugin.h"

typedef unsigned char uchar;

#define NONE SIZE_MAX          /* no match / no position */
#define UNSET (SIZE_MAX - 1)   /* cache entry not computed */
#define GNU_BUF 98304u         /* GNU grep 3.8's read size (96 KiB) */
#define OW_MIN (64u * 1024u)   /* smallest output area asked for */
#define RE_WINDOW (256u << 20) /* bytes per re_search (regoff_t is int) */

enum { OUT_LINES, OUT_NUMBERED, OUT_COUNT, OUT_QUIET };
enum { SYN_BASIC, SYN_EXTENDED, SYN_FIXED };

/* ------------------------------------------------------------- config */

/* One fixed string, prepared for the SIMD filter. */
typedef struct fpat {
    uchar *s;      /* the bytes (ASCII letters lower-cased with -i) */
    size_t len;    /* length */
    size_t i1, i2; /* offsets of two rare bytes (equal when len == 1) */
    bool f1, f2;   /* compare that byte case-folded */
} fpat;

static struct grep_cfg {
    int out;        /* OUT_* */
    bool invert;    /* -v */
    bool icase;     /* -i */
    bool utf8;      /* the locale is UTF-8: check selected lines */
    bool fixed;     /* fixed strings, else regex */
    bool match_all; /* an empty fixed string: every line matches */
    bool per_line;  /* regex searched one line at a time */
    bool dfa;       /* GNU's dfa decides: patterns rewritten to its meaning */
    int simd;       /* 2: AVX2, 1: SSE2, 0: portable */
    uint64_t max_line; /* a longer line fails its input; 0: no limit */
    size_t npat;       /* patterns */
    fpat *fx;          /* npat fixed strings */
    struct re_pattern_buffer *re; /* npat compiled regexes */
    fpat *must; /* per regex: a string its every match holds (len 0: none) */
} cfg;

/* Matching state of one process (each worker has its own copy). */
static regoff_t reg_start[1], reg_end[1];
static struct re_registers regs = {1, reg_start, reg_end};

/* ---------------------------------------------------------------- state */

/* Output being written: one reserved area at a time. */
typedef struct owr {
    sluice_ctx *ctx;
    uchar *p;     /* reserved area, or NULL */
    size_t avail; /* its size */
    size_t used;  /* bytes written into it */
    size_t thdr;  /* offset of the open 'T' frame's header, or NONE */
    bool failed;  /* the host gave no area: the job is going away */
} owr;

typedef struct gstate {
    owr w;
    /* A stream's bytes not searched yet (see the file comment). */
    uchar *carry;
    size_t carry_len, carry_cap;
    bool carry_live;
    uint32_t carry_input; /* whose bytes */
    uint64_t carry_off;   /* input offset of carry[0] */
    uint64_t carry_next;  /* input offset the next unit must start at */
    /* A copy with NULs turned into newlines. */
    uchar *zap;
    size_t zap_cap;
    /* Per pattern: the next match (fixed: its offset; regex: the start
     * and end of its line), relative to the buffer being scanned. */
    size_t *nx_a, *nx_b;
    /* Line numbers (output=numbered): line `line` starts at `pos`. */
    uint64_t line;
    size_t pos;
    bool stop; /* the scan is over (quiet; failed output) */
} gstate;

typedef struct grep_part {
    uint64_t selected; /* lines selected */
} grep_part;

static void part_add(void *partial, uint64_t n)
{
    grep_part p;
    memcpy(&p, partial, sizeof p);
    p.selected += n;
    memcpy(partial, &p, sizeof p);
}

/* ------------------------------------------------------- small helpers */

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

static uchar fold(uchar c)
{
    return c >= 'A' && c <= 'Z' ? (uchar)(c | 0x20) : c;
}

static bool is_alpha(uchar c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Start of the line holding buf[pos], not looking before lo (a line
 * start). */
static size_t line_start(const uchar *buf, size_t lo, size_t pos)
{
    if (pos <= lo)
        return lo;
    const uchar *nl = memrchr(buf + lo, '\n', pos - lo);
    return nl ? (size_t)(nl - buf) + 1 : lo;
}

/* End of the line holding buf[pos]: just after its newline, or hi. */
static size_t line_end(const uchar *buf, size_t pos, size_t hi)
{
    if (pos >= hi)
        return hi;
    const uchar *nl = memchr(buf + pos, '\n', hi - pos);
    return nl ? (size_t)(nl - buf) + 1 : hi;
}

/* Newlines in p[0, n): 8 bytes at a time. */
static size_t count_nl_word(const uchar *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    const uint64_t low = 0x7f7f7f7f7f7f7f7fu;
    size_t c = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= ones * '\n';
        /* high bit of each byte set where the byte is zero */
        uint64_t z = ~(((w & low) + low) | w) & high;
        c += (size_t)__builtin_popcountll(z);
    }
    for (; i < n; i++)
        c += p[i] == '\n';
    return c;
}

#if GREP_X86
#define TGT_AVX2 __attribute__((target("avx2,bmi,popcnt")))

TGT_AVX2 static size_t count_nl_avx2(const uchar *p, size_t n)
{
    const __m256i nl = _mm256_set1_epi8('\n');
    size_t c = 0, i = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i b =
            _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
        uint32_t ma = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, nl));
        uint32_t mb = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, nl));
        c += (size_t)_mm_popcnt_u64(((uint64_t)mb << 32) | ma);
    }
    return c + count_nl_word(p + i, n - i);
}
#endif

static size_t count_nl(const uchar *p, size_t n)
{
#if GREP_X86
    if (cfg.simd == 2)
        return count_nl_avx2(p, n);
#endif
    return count_nl_word(p, n);
}

/* Offset of the first byte of s[0, n) that does not start a valid UTF-8
 * character (strict: no overlong forms, surrogates or values past
 * U+10FFFF, as glibc's UTF-8 locales decode), or n. */
static size_t utf8_bad(const uchar *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080u)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        uchar c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3;
        else
            return i;
        if (n - i <= need)
            return i;
        uchar c1 = s[i + 1];
        if ((c1 & 0xC0) != 0x80 || (c == 0xE0 && c1 < 0xA0) ||
            (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
            (c == 0xF4 && c1 > 0x8F))
            return i;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += need + 1;
    }
    return n;
}

/* ------------------------------------------------------- fixed strings */

/* How common a byte is in text and source code (higher: more common);
 * the filter looks for the two rarest bytes of a pattern. */
static int byte_rank(uchar c)
{
    static const char common[] = " etaoinsrhldcumfpgwybv,.k_()=;-\"'/*0123";
    const char *p = c ? strchr(common, c) : NULL;
    if (p)
        return 200 - (int)(p - common);
    if (c >= 'a' && c <= 'z')
        return 150;
    if (c == '\t' || (c >= '0' && c <= '9'))
        return 140;
    if (c >= 'A' && c <= 'Z')
        return 120;
    if (c >= 0x21 && c <= 0x7e)
        return 100;
    return 50;
}

static int fold_rank(uchar c)
{
    if (cfg.icase && is_alpha(c))
        return byte_rank(fold(c)) + byte_rank((uchar)(fold(c) & ~0x20));
    return byte_rank(c);
}

static int fpat_init(fpat *f, const char *s, size_t len)
{
    f->s = malloc(len ? len : 1);
    if (!f->s)
        return -1;
    f->len = len;
    for (size_t i = 0; i < len; i++)
        f->s[i] = cfg.icase ? fold((uchar)s[i]) : (uchar)s[i];
    f->i1 = f->i2 = 0;
    if (len > 1) {
        size_t best = 0;
        for (size_t i = 1; i < len; i++)
            if (fold_rank(f->s[i]) < fold_rank(f->s[best]))
                best = i;
        size_t second = best == 0 ? 1 : 0;
        for (size_t i = 0; i < len; i++) {
            if (i == best)
                continue;
            /* prefer another byte value: two equal bytes filter less */
            int ri = fold_rank(f->s[i]) + (f->s[i] == f->s[best] ? 100 : 0);
            int rs = fold_rank(f->s[second]) +
                     (f->s[second] == f->s[best] ? 100 : 0);
            if (ri < rs)
                second = i;
        }
        f->i1 = best < second ? best : second;
        f->i2 = best < second ? second : best;
    }
    f->f1 = cfg.icase && len && is_alpha(f->s[f->i1]);
    f->f2 = cfg.icase && len && is_alpha(f->s[f->i2]);
    return 0;
}

/* Whether h[0, f->len) is the pattern. */
static bool fx_equal(const fpat *f, const uchar *h)
{
    if (!cfg.icase)
        return memcmp(h, f->s, f->len) == 0;
    for (size_t i = 0; i < f->len; i++)
        if (fold(h[i]) != f->s[i])
            return false;
    return true;
}

static bool fx_byte(const fpat *f, const uchar *h, size_t k)
{
    uchar a = h[k + f->i1], b = h[k + f->i2];
    return (f->f1 ? fold(a) : a) == f->s[f->i1] &&
           (f->f2 ? fold(b) : b) == f->s[f->i2];
}

/* The last candidates, one by one. */
static size_t fx_tail(const fpat *f, const uchar *h, size_t k, size_t last)
{
    for (; k <= last; k++)
        if (fx_byte(f, h, k) && fx_equal(f, h + k))
            return k;
    return NONE;
}

#if GREP_X86
/* 32 candidate starts at a time: the bytes at i1 and i2 of each must be
 * the pattern's, then the whole pattern is compared. */
TGT_AVX2 static size_t fx_find_avx2(const fpat *f, const uchar *h, size_t n)
{
    size_t m = f->len, last = n - m, k = 0;
    const __m256i b1 = _mm256_set1_epi8((char)f->s[f->i1]);
    const __m256i b2 = _mm256_set1_epi8((char)f->s[f->i2]);
    const __m256i o1 = _mm256_set1_epi8(f->f1 ? 0x20 : 0);
    const __m256i o2 = _mm256_set1_epi8(f->f2 ? 0x20 : 0);
    const uchar *p1 = h + f->i1, *p2 = h + f->i2;
    /* p2[k + 31] is the furthest byte read: i2 is the larger offset */
    while (k + f->i2 + 32 <= n) {
        __m256i v1 = _mm256_or_si256(
            _mm256_loadu_si256((const __m256i *)(const void *)(p1 + k)), o1);
        __m256i v2 = _mm256_or_si256(
            _mm256_loadu_si256((const __m256i *)(const void *)(p2 + k)), o2);
        uint32_t mask = (uint32_t)_mm256_movemask_epi8(_mm256_and_si256(
            _mm256_cmpeq_epi8(v1, b1), _mm256_cmpeq_epi8(v2, b2)));
        while (mask) {
            size_t c = k + (size_t)__builtin_ctz(mask);
            if (c > last)
                return NONE;
            if (fx_equal(f, h + c))
                return c;
            mask &= mask - 1;
        }
        k += 32;
    }
    return fx_tail(f, h, k, last);
}

static size_t fx_find_sse2(const fpat *f, const uchar *h, size_t n)
{
    size_t m = f->len, last = n - m, k = 0;
    const __m128i b1 = _mm_set1_epi8((char)f->s[f->i1]);
    const __m128i b2 = _mm_set1_epi8((char)f->s[f->i2]);
    const __m128i o1 = _mm_set1_epi8(f->f1 ? 0x20 : 0);
    const __m128i o2 = _mm_set1_epi8(f->f2 ? 0x20 : 0);
    const uchar *p1 = h + f->i1, *p2 = h + f->i2;
    while (k + f->i2 + 16 <= n) {
        __m128i v1 = _mm_or_si128(
            _mm_loadu_si128((const __m128i *)(const void *)(p1 + k)), o1);
        __m128i v2 = _mm_or_si128(
            _mm_loadu_si128((const __m128i *)(const void *)(p2 + k)), o2);
        uint32_t mask = (uint32_t)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(v1, b1), _mm_cmpeq_epi8(v2, b2)));
        while (mask) {
            size_t c = k + (size_t)__builtin_ctz(mask);
            if (c > last)
                return NONE;
            if (fx_equal(f, h + c))
                return c;
            mask &= mask - 1;
        }
        k += 16;
    }
    return fx_tail(f, h, k, last);
}
#endif

/* Offset of the first occurrence of f in h[0, n), or NONE. */
static size_t fx_find(const fpat *f, const uchar *h, size_t n)
{
    if (f->len == 0)
        return 0;
    if (n < f->len)
        return NONE;
    if (f->len == 1 && !f->f1) {
        const uchar *p = memchr(h, f->s[0], n);
        return p ? (size_t)(p - h) : NONE;
    }
#if GREP_X86
    if (cfg.simd == 2)
        return fx_find_avx2(f, h, n);
    if (cfg.simd == 1)
        return fx_find_sse2(f, h, n);
#endif
    if (!f->f1) {
        /* memchr on the rarer byte, then compare */
        size_t k = 0, last = n - f->len;
        while (k <= last) {
            const uchar *p = memchr(h + k + f->i1, f->s[f->i1], last - k + 1);
            if (!p)
                return NONE;
            k = (size_t)(p - h) - f->i1;
            if (fx_byte(f, h, k) && fx_equal(f, h + k))
                return k;
            k++;
        }
        return NONE;
    }
    return fx_tail(f, h, 0, n - f->len);
}

/* --------------------------------------------------------- regexes */

/* The line of the first match of pattern k at or after line start p in
 * buf[., hi): 1 and its [*ls, *le), 0 for none, -1 on a regex failure. */
static int re_next(size_t k, const uchar *buf, size_t p, size_t hi, size_t *ls,
                   size_t *le)
{
    struct re_pattern_buffer *re = &cfg.re[k];
    const fpat *must = &cfg.must[k];
    while (must->len && p < hi) {
        /* Only lines holding the must string can match: like GNU's
         * kwset, find the next one, then ask the regex about it. */
        size_t m = fx_find(must, buf + p, hi - p);
        if (m == NONE)
            return 0;
        size_t s = line_start(buf, p, p + m), e = line_end(buf, p + m, hi);
        size_t n = e - s - (buf[e - 1] == '\n');
        if (n > INT_MAX)
            return -1;
        regoff_t r = re_search(re, (const char *)buf + s, (regoff_t)n, 0,
                               (regoff_t)n, &regs);
        if (r == -2)
            return -1;
        if (r >= 0) {
            *ls = s;
            *le = e;
            return 1;
        }
        p = e;
    }
    while (p < hi) {
        size_t wend = hi;
        if (cfg.per_line) {
            wend = line_end(buf, p, hi);
        } else if (hi - p > RE_WINDOW) {
            /* up to the last newline of the window, or one whole line */
            wend = p + RE_WINDOW;
            while (wend > p && buf[wend - 1] != '\n')
                wend--;
            if (wend == p)
                wend = line_end(buf, p, hi);
        }
        size_t wlen = wend - p;
        if (wlen > INT_MAX)
            return -1; /* a line of 2 GiB or more */
        /* Search [p, wend) as a string of its own: p is a line start. */
        size_t slen =
            cfg.per_line && wlen && buf[wend - 1] == '\n' ? wlen - 1 : wlen;
        regoff_t r = re_search(re, (const char *)buf + p, (regoff_t)slen, 0,
                               (regoff_t)slen, &regs);
        if (r == -2)
            return -1;
        if (r < 0) {
            p = wend;
            continue;
        }
        size_t ms = p + (size_t)r, me = p + (size_t)regs.end[0];
        if (ms == wend) {
            /* An empty match after the window's last newline is no
             * line: the window ends there (or a per-line string does). */
            if (wend > p && buf[wend - 1] == '\n') {
                p = wend;
                continue;
            }
        }
        size_t s = line_start(buf, p, ms), e = line_end(buf, ms, hi);
        if (me > ms && memchr(buf + ms, '\n', me - ms)) {
            /* It crossed a newline: does the line match on its own? */
            size_t n = e - s - (buf[e - 1] == '\n');
            r = re_search(re, (const char *)buf + s, (regoff_t)n, 0,
                          (regoff_t)n, &regs);
            if (r == -2)
                return -1;
            if (r < 0) {
                p = e;
                continue;
            }
        }
        *ls = s;
        *le = e;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------- matching */

static void finder_reset(gstate *st)
{
    for (size_t k = 0; k < cfg.npat; k++)
        st->nx_a[k] = UNSET;
}

/* The first line at or after line start p of buf[., hi) that matches a
 * pattern: 1 and its [*ls, *le), 0 for none, -1 on failure. */
static int next_line(gstate *st, const uchar *buf, size_t p, size_t hi,
                     size_t *ls, size_t *le)
{
    if (cfg.fixed) {
        size_t best = NONE;
        for (size_t k = 0; k < cfg.npat; k++) {
            size_t m = st->nx_a[k];
            if (m == UNSET || (m != NONE && m < p)) {
                m = fx_find(&cfg.fx[k], buf + p, hi - p);
                if (m != NONE)
                    m += p;
                st->nx_a[k] = m;
            }
            if (m < best)
                best = m;
        }
        if (best == NONE)
            return 0;
        *ls = line_start(buf, p, best);
        *le = line_end(buf, best, hi);
        return 1;
    }
    size_t best = NONE, best_e = NONE;
    for (size_t k = 0; k < cfg.npat; k++) {
        size_t a = st->nx_a[k], b = st->nx_b[k];
        if (a == UNSET || (a != NONE && a < p)) {
            int r = re_next(k, buf, p, hi, &a, &b);
            if (r < 0)
                return -1;
            if (r == 0)
                a = b = NONE;
            st->nx_a[k] = a;
            st->nx_b[k] = b;
        }
        if (a < best) {
            best = a;
            best_e = b;
        }
    }
    if (best == NONE)
        return 0;
    *ls = best;
    *le = best_e;
    return 1;
}

/* --------------------------------------------------------------- output */

static void ow_close_text(owr *w)
{
    if (w->thdr == NONE)
        return;
    uint32_t n = (uint32_t)(w->used - w->thdr - 5);
    uchar *h = w->p + w->thdr + 1;
    h[0] = (uchar)n;
    h[1] = (uchar)(n >> 8);
    h[2] = (uchar)(n >> 16);
    h[3] = (uchar)(n >> 24);
    w->thdr = NONE;
}

static void ow_flush(owr *w)
{
    ow_close_text(w);
    if (w->p && w->used)
        sluice_commit(w->ctx, w->used);
    w->p = NULL;
    w->avail = w->used = 0;
}

/* Makes n contiguous bytes (n <= OW_MIN) writable; false when the job is
 * going away. */
static bool ow_room(owr *w, size_t n)
{
    if (w->failed)
        return false;
    if (w->p && w->avail - w->used >= n)
        return true;
    ow_flush(w);
    size_t avail = 0;
    w->p = sluice_reserve(w->ctx, OW_MIN, &avail);
    if (!w->p || avail < n) {
        w->p = NULL;
        w->failed = true;
        return false;
    }
    w->avail = avail;
    return true;
}

/* Appends text bytes to the open 'T' frame (opening one as needed). */
static bool ow_text(owr *w, const uchar *s, size_t n)
{
    while (n) {
        if (w->thdr == NONE || w->used == w->avail) {
            if (!ow_room(w, 6))
                return false;
            if (w->thdr == NONE) {
                w->p[w->used] = 'T';
                w->thdr = w->used;
                w->used += 5;
            }
        }
        size_t k = min_sz(n, w->avail - w->used);
        memcpy(w->p + w->used, s, k);
        w->used += k;
        s += k;
        n -= k;
        if (n)
            ow_flush(w); /* the area is full: go on in a new one */
    }
    return true;
}

/* A frame of type t with one varint (or none when with_num is false). */
static bool ow_frame(owr *w, uchar t, bool with_num, uint64_t v)
{
    ow_close_text(w);
    if (!ow_room(w, 11))
        return false;
    w->p[w->used++] = t;
    if (with_num) {
        do {
            uchar b = v & 0x7f;
            v >>= 7;
            w->p[w->used++] = (uchar)(v ? b | 0x80 : b);
        } while (v);
    }
    return true;
}

static bool ow_binary(owr *w, bool matched)
{
    if (!ow_frame(w, 'B', false, 0))
        return false;
    w->p[w->used++] = matched ? 1 : 0;
    return true;
}

/* ------------------------------------------------------------ scanning */

/* Text of the whole lines buf[a, b), with a newline after a last line
 * that has none. */
static bool emit_text(owr *w, const uchar *buf, size_t a, size_t b)
{
    if (!ow_text(w, buf + a, b - a))
        return false;
    if (b > a && buf[b - 1] != '\n')
        return ow_text(w, (const uchar *)"\n", 1);
    return true;
}

/* Lines buf[a, b) are selected (whole lines; more than one only with -v).
 * `out` is false for a part of the input whose text is not printed. */
static void select_lines(gstate *st, const uchar *buf, size_t a, size_t b,
                         bool out, void *partial)
{
    owr *w = &st->w;
    if (cfg.out == OUT_QUIET || !out) {
        part_add(partial, 1);
        st->stop = true;
        return;
    }
    if (cfg.out == OUT_COUNT) {
        size_t n = count_nl(buf + a, b - a);
        part_add(partial, n + (b > a && buf[b - 1] != '\n'));
        return;
    }
    part_add(partial, 1);
    size_t le;
    for (size_t s = a; s < b; s = le) {
        /* The longest run of lines that are all valid text. */
        size_t run_end = b, bad = b;
        if (cfg.utf8) {
            bad = s + utf8_bad(buf + s, b - s);
            if (bad < b)
                run_end = line_start(buf, s, bad);
        }
        if (cfg.out == OUT_LINES) {
            if (run_end > s && !emit_text(w, buf, s, run_end)) {
                st->stop = true;
                return;
            }
        } else {
            for (size_t l = s; l < run_end; l = le) {
                le = line_end(buf, l, run_end);
                st->line += count_nl(buf + st->pos, l - st->pos);
                st->pos = l;
                if (!ow_frame(w, 'N', true, st->line) ||
                    !emit_text(w, buf, l, le)) {
                    st->stop = true;
                    return;
                }
            }
        }
        le = run_end;
        if (bad < b) {
            /* GNU withholds a line that is not valid text, and says so
             * at the end. */
            le = line_end(buf, bad, b);
            if (!ow_frame(w, 'W', false, 0)) {
                st->stop = true;
                return;
            }
        }
    }
}

/* Selects the lines of buf[from, to) (from a line start, to a line end or
 * the end of the buffer).  0, or -1 when a regex fails. */
static int scan(gstate *st, const uchar *buf, size_t from, size_t to, bool out,
                void *partial)
{
    size_t p = from;
    st->stop = false;
    if (cfg.match_all) {
        if (!cfg.invert && to > from)
            select_lines(st, buf, from, to, out, partial);
        return 0;
    }
    finder_reset(st);
    while (p < to && !st->stop) {
        size_t ls, le;
        int r = next_line(st, buf, p, to, &ls, &le);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (cfg.invert)
                select_lines(st, buf, p, to, out, partial);
            break;
        }
        if (!cfg.invert)
            select_lines(st, buf, ls, le, out, partial);
        else if (ls > p)
            select_lines(st, buf, p, ls, out, partial);
        p = le;
    }
    return 0;
}

/* Searches buf[0, len), whole lines of one input starting at input offset
 * boff. */
static int process(sluice_ctx *ctx, gstate *st, const uchar *buf, size_t len,
                   uint64_t boff, void *partial)
{
    owr *w = &st->w;
    bool text_out = cfg.out == OUT_LINES || cfg.out == OUT_NUMBERED;
    uint64_t before = 0;
    memcpy(&before, partial, sizeof before);

    /* Where GNU's binary rules start (len: nowhere). */
    size_t sw = len;
    const uchar *z = len ? memchr(buf, 0, len) : NULL;
    if (z) {
        size_t zi = (size_t)(z - buf);
        if (!text_out) {
            sw = line_start(buf, 0, zi);
        } else {
            uint64_t n = boff + zi, b = n - n % GNU_BUF;
            sw = b <= boff ? 0 : line_start(buf, 0, (size_t)(b - boff));
        }
    }

    st->line = 0;
    st->pos = 0;
    if (scan(st, buf, 0, sw, true, partial) < 0)
        goto regex_failed;
    if (sw < len) {
        bool go_on = cfg.out == OUT_COUNT || !st->stop;
        if (text_out || go_on) {
            size_t n = len - sw;
            uchar *zap = st->zap;
            if (!zap || n > st->zap_cap) {
                if (!(zap = realloc(st->zap, n))) {
                    ctx->api->error(ctx, ENOMEM, boff + sw, "%s", "");
                    return -1;
                }
                st->zap = zap;
                st->zap_cap = n;
            }
            /* GNU turns a binary buffer's NULs into line ends. */
            memcpy(zap, buf + sw, n);
            for (uchar *q = zap; (q = memchr(q, 0, (size_t)(zap + n - q)));)
                *q++ = '\n';
            uint64_t had;
            memcpy(&had, partial, sizeof had);
            if (scan(st, zap, 0, n, !text_out, partial) < 0)
                goto regex_failed;
            if (text_out) {
                uint64_t now;
                memcpy(&now, partial, sizeof now);
                ow_binary(w, now > had);
            }
        }
    }
    if (cfg.out == OUT_NUMBERED)
        ow_frame(w, 'E', true,
                 st->line + count_nl(buf + st->pos, len - st->pos));
    if (cfg.out == OUT_QUIET) {
        uint64_t now;
        memcpy(&now, partial, sizeof now);
        if (now > before)
            ow_frame(w, 'S', false, 0);
    }
    return 0;
regex_failed:
    ctx->api->error(ctx, ENOMEM, boff, "%s", "regular expression");
    return -1;
}

/* ------------------------------------------------------------ plugin */

static bool carry_put(gstate *st, const uchar *p, size_t n)
{
    if (st->carry_len + n > st->carry_cap) {
        size_t cap = st->carry_cap ? st->carry_cap : 65536;
        while (cap < st->carry_len + n)
            cap *= 2;
        uchar *q = realloc(st->carry, cap);
        if (!q)
            return false;
        st->carry = q;
        st->carry_cap = cap;
    }
    memcpy(st->carry + st->carry_len, p, n);
    st->carry_len += n;
    return true;
}

/* max_line: true after reporting a line of data[0, len) (at file offset
 * off) longer than cfg.max_line, the first `first` bytes of the first line
 * (begun in an earlier unit) counting too.  Only a piece longer than the
 * limit can hold such a line: shorter ones are not scanned. */
static bool too_long(sluice_ctx *ctx, const uchar *data, size_t len,
                     uint64_t off, uint64_t first, uint64_t first_off)
{
    if (!cfg.max_line || first + len <= cfg.max_line)
        return false;
    uint64_t start = 0, carried = first;
    while (start < len) {
        const uchar *nl = memchr(data + start, '\n', len - start);
        uint64_t l = (nl ? (uint64_t)(nl - data) : len) - start + carried;
        if (l > cfg.max_line) {
            ctx->api->error(ctx, 0, carried ? first_off : off + start,
                            "line longer than --max-line (%llu bytes)",
                            (unsigned long long)cfg.max_line);
            return true;
        }
        if (!nl)
            break;
        carried = 0;
        start = (uint64_t)(nl - data) + 1;
    }
    return false;
}

static int grep_map(sluice_ctx *ctx, const sluice_block *b, void *partial)
{
    gstate *st = ctx->state;
    bool fbegin = (b->flags & SLUICE_BLOCK_FILE_BEGIN) != 0;
    bool fend = (b->flags & SLUICE_BLOCK_FILE_END) != 0;
    const uchar *data = b->data;
    size_t len = b->len;
    uint64_t off = b->offset;
    int rc = 0;
    st->w.ctx = ctx;
    st->w.failed = false;
    st->w.thdr = NONE;

    if (st->carry_live &&
        (fbegin || b->input != st->carry_input || off != st->carry_next)) {
        st->carry_live = false; /* not this unit's: a new start */
        st->carry_len = 0;
    }
    if (st->carry_live) {
        /* The line begun in an earlier unit ends at this unit's first
         * newline (or goes on past it). */
        const uchar *nl = len ? memchr(data, '\n', len) : NULL;
        size_t head = nl ? (size_t)(nl - data) + 1 : len;
        if (too_long(ctx, data, head - (nl != NULL), off, st->carry_len,
                     st->carry_off))
            goto refused;
        if (!carry_put(st, data, head))
            goto nomem;
        st->carry_next = off + head;
        data += head;
        len -= head;
        off += head;
        if (!nl && !fend) {
            if (cfg.out == OUT_NUMBERED)
                ow_frame(&st->w, 'E', true, 0);
            ow_flush(&st->w);
            return 0;
        }
        rc = process(ctx, st, st->carry, st->carry_len, st->carry_off, partial);
        st->carry_live = false;
        st->carry_len = 0;
    }

    /* What can be searched now: all of it at the end of the input, else
     * up to the last newline; the rest waits for the next unit. */
    size_t upto = len;
    if (!fend) {
        const uchar *nl = len ? memrchr(data, '\n', len) : NULL;
        upto = nl ? (size_t)(nl - data) + 1 : 0;
    }
    if (rc == 0 && too_long(ctx, data, len, off, 0, 0))
        goto refused;
    if (rc == 0 && upto > 0)
        rc = process(ctx, st, data, upto, off, partial);
    else if (rc == 0 && cfg.out == OUT_NUMBERED)
        ow_frame(&st->w, 'E', true, 0);
    ow_flush(&st->w);

    if (rc == 0 && upto < len) {
        if (!carry_put(st, data + upto, len - upto))
            goto nomem;
        st->carry_live = true;
        st->carry_input = b->input;
        st->carry_off = off + upto;
        st->carry_next = b->offset + b->len;
    }
    return rc;
nomem:
    st->carry_live = false;
    st->carry_len = 0;
    ctx->api->error(ctx, ENOMEM, b->offset, "%s", "");
    return -1;
refused:
    ow_flush(&st->w);
    st->carry_live = false;
    st->carry_len = 0;
    return -1;
}

/* Whether the first GNU_BUF bytes of a file hold a NUL. */
static bool head_has_nul(sluice_read_fn rd, void *src, uint64_t size)
{
    uchar buf[16384];
    uint64_t end = size < GNU_BUF ? size : GNU_BUF;
    for (uint64_t pos = 0; pos < end;) {
        int64_t r = rd(src, buf, (size_t)min_sz(sizeof buf, end - pos), pos);
        if (r <= 0)
            return false;
        if (memchr(buf, 0, (size_t)r))
            return true;
        pos += (uint64_t)r;
    }
    return false;
}

/* Cuts just after the first newline at or after at + want, however far
 * that is.  When GNU would find a NUL in its first buffer, the first unit
 * holds that whole buffer (the file is binary from its first byte). */
static uint64_t grep_boundary(sluice_ctx *ctx, sluice_read_fn rd, void *src,
                              uint64_t at, uint64_t want, uint64_t size)
{
    (void)ctx;
    uint64_t cut = at + want;
    if (at == 0 && cut < GNU_BUF && head_has_nul(rd, src, size))
        cut = GNU_BUF;
    if (cut >= size)
        return size;
    uchar buf[16384];
    size_t step = 4096;
    /* With max_line, a line is not followed further than that: the unit
     * then ends inside it, holding more than max_line of its bytes, and
     * reports it. */
    uint64_t stop = size;
    if (cfg.max_line && cut - 1 + cfg.max_line + 1 < size)
        stop = cut - 1 + cfg.max_line + 1;
    for (uint64_t pos = cut - 1; pos < stop;) {
        int64_t r = rd(src, buf, (size_t)min_sz(step, stop - pos), pos);
        if (r <= 0)
            return size;
        const uchar *nl = memchr(buf, '\n', (size_t)r);
        if (nl)
            return pos + (uint64_t)(nl - buf) + 1;
        pos += (uint64_t)r;
        step = sizeof buf;
    }
    return stop; /* size, or inside a line longer than max_line */
}

static const sluice_option grep_options[] = {
    {"patterns", SLUICE_OPT_STRING, "", "the patterns, one per line", NULL},
    {"syntax", SLUICE_OPT_ENUM, "basic",
     "basic (grep -G), extended (-E) or fixed (-F)", "basic|extended|fixed"},
    {"icase", SLUICE_OPT_BOOL, "false", "ignore case (-i)", NULL},
    {"invert", SLUICE_OPT_BOOL, "false", "select non-matching lines (-v)",
     NULL},
    {"output", SLUICE_OPT_ENUM, "lines",
     "lines, numbered (-n), count (-c) or quiet (-l, -q)",
     "lines|numbered|count|quiet"},
    {"max_line", SLUICE_OPT_INT, "0",
     "a line longer than this many bytes fails its input (0: no limit)", NULL},
};

static const char *const grep_counter_names[] = {"selected"};

/* s[0, n) as a basic regex that matches it literally (malloc). */
static char *bre_quote(const char *s, size_t n)
{
    char *q = malloc(2 * n + 1), *o = q;
    if (!q)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strchr("\\.[*^$", s[i]))
            *o++ = '\\';
        *o++ = s[i];
    }
    *o = '\0';
    return q;
}

/* ------------------------------------------------ GNU's odd operators */

/* GNU grep matches with its dfa.c, whose parser gives a meaning to a
 * repetition operator that has nothing to repeat; glibc's regex reads the
 * same patterns otherwise.  rewrite() turns them into what dfa means:
 *  - at the start of an expression (pattern start, after '(' or '|') an
 *    -E operator repeats the empty string: it is dropped ("*a", "{1}a");
 *  - after an anchor (^ $ \< \> \b \B \` \') an operator repeats the
 *    anchor: a minimum of 0 makes it the empty string, else the anchor
 *    itself ("x|$*a" is "x|a"; glibc reads "$*" as "$" and a '*');
 *  - an -E '{' that starts no valid interval is an ordinary character.
 * Everything else is copied as it is.  A BRE operator at the start of an
 * expression is an ordinary character in both.  GNU itself lets regex
 * decide whenever its dfa cannot represent a pattern of the set: a back
 * reference, and in a multibyte locale a word anchor or most bracket
 * expressions (dfa_supported() in dfa.c); then nothing is rewritten. */

enum { TK_START, TK_ANCHOR, TK_EMPTY, TK_ATOM };

/* Length of the bracket expression at p[i] == '[' (to its ']'), or 0. */
static size_t bracket_len(const char *p, size_t n, size_t i)
{
    size_t j = i + 1;
    if (j < n && p[j] == '^')
        j++;
    if (j < n && p[j] == ']')
        j++;
    while (j < n && p[j] != ']') {
        if (p[j] == '[' && j + 1 < n &&
            (p[j + 1] == ':' || p[j + 1] == '=' || p[j + 1] == '.')) {
            char d = p[j + 1];
            size_t k = j + 2;
            while (k + 1 < n && !(p[k] == d && p[k + 1] == ']'))
                k++;
            if (k + 1 >= n)
                return 0;
            j = k + 2;
        } else {
            j++;
        }
    }
    return j < n ? j + 1 - i : 0;
}

/* Length of a valid interval at p[i] ("{" for -E, "\{" for -G, which
 * `bk` says) and its minimum in *lo; 0 when it is not one. */
static size_t interval(const char *p, size_t n, size_t i, bool bk, long *lo)
{
    size_t j = i + (bk ? 2 : 1);
    long a = -1, b = -1;
    for (; j < n && p[j] >= '0' && p[j] <= '9'; j++)
        a = a < 0 ? p[j] - '0' : a > 0x7fff ? a : a * 10 + (p[j] - '0');
    if (j < n && p[j] == ',') {
        if (a < 0)
            a = 0;
        for (j++; j < n && p[j] >= '0' && p[j] <= '9'; j++)
            b = b < 0 ? p[j] - '0' : b > 0x7fff ? b : b * 10 + (p[j] - '0');
    } else {
        b = a;
    }
    if (bk) {
        if (j >= n || p[j] != '\\')
            return 0;
        j++;
    }
    if (j >= n || p[j] != '}' || a < 0 || (b >= 0 && a > b))
        return 0;
    *lo = a;
    return j + 1 - i;
}

/* Whether GNU's dfa can represent pattern p[0, n) (else GNU matches the
 * whole pattern set with regex). */
static bool dfa_can(const char *p, size_t n, bool ere)
{
    bool mb = MB_CUR_MAX > 1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n) {
            char d = p[++i];
            if (d >= '1' && d <= '9')
                return false; /* a back reference */
            if (mb && strchr("<>bB", d))
                return false;
            if (!ere && d == '{') /* skip a BRE interval's digits */
                continue;
        } else if (p[i] == '[') {
            size_t k = bracket_len(p, n, i);
            if (!k)
                return true; /* regex refused it already */
            if (mb) {
                /* dfa's known brackets in a multibyte locale: ASCII,
                 * no classes but [:digit:], ranges of digits only, and
                 * no letters to fold with -i. */
                for (size_t j = i + 1; j + 1 < i + k; j++) {
                    unsigned char c = (unsigned char)p[j];
                    if (c >= 0x80 || (cfg.icase && is_alpha(c)))
                        return false;
                    if (c == '[' && j + 1 < n && strchr(":=.", p[j + 1]) &&
                        strncmp(p + j, "[:digit:]", 9) != 0)
                        return false;
                    if (c == '-' && j > i + 1 && p[j + 1] != ']' &&
                        !(p[j - 1] >= '0' && p[j - 1] <= '9' &&
                          p[j + 1] >= '0' && p[j + 1] <= '9'))
                        return false;
                }
            }
            i += k - 1;
        }
    }
    return true;
}

/* p[0, n) rewritten (malloc, NUL-terminated, length in *outlen). */
static char *rewrite(const char *p, size_t n, bool ere, size_t *outlen)
{
    char *o = malloc(2 * n + 1);
    if (!o)
        return NULL;
    size_t len = 0, anchor_at = 0;
    int prev = TK_START;
    bool laststart = true; /* only anchors since the expression began */
    for (size_t i = 0; i < n;) {
        size_t tl = 1;
        long lo = -1; /* >= 0: a repetition operator with this minimum */
        int kind = TK_ATOM;
        char c = p[i];
        const char *lit = NULL; /* replacement text of the token */
        if (c == '\\' && i + 1 < n) {
            char d = p[i + 1];
            tl = 2;
            if (strchr("<>bB`'", d))
                kind = TK_ANCHOR;
            else if (!ere && (d == '(' || d == '|'))
                kind = TK_START;
            else if (!ere && (d == '+' || d == '?') && !laststart)
                lo = d == '+';
            else if (!ere && d == '{' && !laststart) {
                size_t k = interval(p, n, i, true, &lo);
                if (k)
                    tl = k;
            }
        } else if (c == '[') {
            size_t k = bracket_len(p, n, i);
            tl = k ? k : n - i;
        } else if (ere) {
            if (c == '(' || c == '|')
                kind = TK_START;
            else if (c == '^' || c == '$')
                kind = TK_ANCHOR;
            else if (c == '*' || c == '?')
                lo = 0;
            else if (c == '+')
                lo = 1;
            else if (c == '{') {
                size_t k = interval(p, n, i, false, &lo);
                if (k)
                    tl = k;
                else
                    lit = "\\{";
            }
        } else {
            if (c == '^' && prev == TK_START)
                kind = TK_ANCHOR;
            else if (c == '$' &&
                     (i + 1 == n || (i + 2 < n && p[i + 1] == '\\' &&
                                     (p[i + 2] == ')' || p[i + 2] == '|'))))
                kind = TK_ANCHOR;
            else if (c == '*' && !laststart)
                lo = 0;
        }
        if (lo >= 0) {
            /* A repetition operator. */
            if (prev == TK_START || prev == TK_EMPTY) {
                i += tl; /* it repeats the empty string */
                continue;
            }
            if (prev == TK_ANCHOR) {
                if (lo == 0) {
                    len = anchor_at; /* the anchor becomes empty */
                    prev = TK_EMPTY;
                }
                i += tl;
                continue;
            }
            memcpy(o + len, p + i, tl);
            len += tl;
            i += tl;
            continue;
        }
        if (kind == TK_ANCHOR)
            anchor_at = len;
        if (lit) {
            memcpy(o + len, lit, strlen(lit));
            len += strlen(lit);
        } else {
            memcpy(o + len, p + i, tl);
            len += tl;
        }
        i += tl;
        if (kind == TK_START)
            laststart = true;
        else if (kind != TK_ANCHOR)
            laststart = false;
        /* an empty string followed by more is no longer a start */
        prev = kind == TK_ATOM && prev == TK_EMPTY ? TK_ATOM : kind;
    }
    o[len] = '\0';
    *outlen = len;
    return o;
}

/* ----------------------------------------------------- must strings */

/* Appends the literal p[i, i + k) to the run, or ends the run when it is
 * not one: must_string's helpers. */
typedef struct run {
    char *cur, *best; /* the current run, the longest so far */
    size_t cl, bl;    /* their lengths */
    size_t last;      /* where the last character of cur starts */
} run;

static void run_end(run *r)
{
    if (r->cl > r->bl) {
        memcpy(r->best, r->cur, r->cl);
        r->bl = r->cl;
    }
    r->cl = 0;
}

static void run_add(run *r, const char *c, size_t k)
{
    if ((uchar)c[0] >= 0x80 && cfg.icase) {
        /* folding beyond ASCII is the regex engine's business */
        run_end(r);
        return;
    }
    r->last = r->cl;
    memcpy(r->cur + r->cl, c, k);
    r->cl += k;
}

/* The last character is optional after all (a following *, ? or {0,}). */
static void run_drop_last(run *r)
{
    r->cl = r->last;
    run_end(r);
}

/* The longest string that every match of pattern p[0, n) (the text regex
 * compiles) must contain, in a buffer of n bytes `out`: its length, 0 when
 * none is known.  Conservative: groups, brackets, classes and anything
 * that is not plainly a literal end a run; alternation at the top level
 * gives none. */
static size_t must_string(const char *p, size_t n, bool ere, char *out,
                          char *tmp)
{
    run r = {tmp, out, 0, 0, 0};
    int depth = 0;
    bool mb = MB_CUR_MAX > 1;
    for (size_t i = 0; i < n;) {
        char c = p[i];
        size_t k = 1;
        bool open = false, close = false, alt = false, lit = false;
        long lo = -1; /* a repetition operator's minimum */
        if (c == '\\' && i + 1 < n) {
            char d = p[i + 1];
            k = 2;
            if (!ere && d == '(')
                open = true;
            else if (!ere && d == ')')
                close = true;
            else if (!ere && d == '|')
                alt = true;
            else if (!ere && d == '{') {
                size_t t = interval(p, n, i, true, &lo);
                k = t ? t : 2;
            } else if (!ere && (d == '+' || d == '?'))
                lo = d == '+';
            else if (strchr(".*[]^$\\/{}()|+?-", d)) {
                lit = true;
                i++; /* the literal is p[i] */
                k = 1;
            }
        } else if (c == '[') {
            size_t t = bracket_len(p, n, i);
            k = t ? t : n - i;
        } else if (ere && c == '(') {
            open = true;
        } else if (ere && c == ')') {
            close = true;
        } else if (ere && c == '|') {
            alt = true;
        } else if (c == '*' || (ere && c == '?')) {
            lo = 0;
        } else if (ere && c == '+') {
            lo = 1;
        } else if (ere && c == '{') {
            size_t t = interval(p, n, i, false, &lo);
            k = t ? t : 1;
            lit = !t;
        } else if (c != '.' && c != '^' && c != '$') {
            lit = true;
            if (mb && (uchar)c >= 0xC0)
                while (i + k < n && ((uchar)p[i + k] & 0xC0) == 0x80)
                    k++;
        }
        if (alt && depth == 0)
            return 0;
        if (open)
            depth++;
        if (close && depth > 0)
            depth--;
        if (depth == 0 && !open && !close) {
            if (lo == 0 && r.cl)
                run_drop_last(&r);
            else if (lit)
                run_add(&r, p + i, k);
            else
                run_end(&r);
        } else {
            run_end(&r);
        }
        i += k;
    }
    run_end(&r);
    return r.bl;
}

/* Compiles pattern s[0, n) (quoted first when `quote`) into re.  0, or
 * -1 after reporting the error. */
static int compile_one(sluice_ctx *ctx, struct re_pattern_buffer *re,
                       fpat *must, const char *s, size_t n, reg_syntax_t bits,
                       bool ere, bool quote)
{
    char *q = quote     ? bre_quote(s, n)
              : cfg.dfa ? rewrite(s, n, ere, &n)
                        : strndup(s, n);
    char *m = q ? malloc(2 * strlen(q) + 2) : NULL;
    if (!m)
        goto nomem;
    n = strlen(q);
    for (size_t i = 0; i + 1 < n; i++)
        if (q[i] == '\\' && (q[i + 1] == '`' || q[i + 1] == '\''))
            cfg.per_line = true;
    /* GNU grep uses no fastmap with -i (glibc bug 20381, multibyte
     * locales only). */
    re->fastmap = cfg.icase && MB_CUR_MAX > 1 ? NULL : malloc(256);
    re->translate = NULL;
    re_set_syntax(bits);
    const char *err = re_compile_pattern(q, n, re);
    if (err) {
        ctx->api->error(ctx, 0, UINT64_MAX, "%s", err);
        free(q);
        free(m);
        return -1;
    }
    if (re->fastmap)
        re_compile_fastmap(re);
    re->regs_allocated = REGS_FIXED;
    /* A must string of a few bytes pays; one byte rarely does. */
    size_t ml = must_string(q, n, ere, m, m + n + 1);
    int rc = fpat_init(must, m, ml >= 2 ? ml : 0);
    free(m);
    m = NULL;
    if (rc == 0) {
        free(q);
        return 0;
    }
nomem:
    free(q);
    free(m);
    ctx->api->error(ctx, ENOMEM, UINT64_MAX, "%s", "patterns");
    return -1;
}

static int grep_global_init(sluice_ctx *ctx)
{
    const char *pats = ctx->api->option(ctx, "patterns");
    const char *syn = ctx->api->option(ctx, "syntax");
    const char *out = ctx->api->option(ctx, "output");
    memset(&cfg, 0, sizeof cfg);
    cfg.icase = ctx->api->option_int(ctx, "icase") > 0;
    cfg.invert = ctx->api->option_int(ctx, "invert") > 0;
    cfg.max_line = (uint64_t)ctx->api->option_int(ctx, "max_line");
    cfg.out = strcmp(out, "numbered") == 0 ? OUT_NUMBERED
              : strcmp(out, "count") == 0  ? OUT_COUNT
              : strcmp(out, "quiet") == 0  ? OUT_QUIET
                                           : OUT_LINES;
    int syntax = strcmp(syn, "fixed") == 0      ? SYN_FIXED
                 : strcmp(syn, "extended") == 0 ? SYN_EXTENDED
                                                : SYN_BASIC;
    cfg.utf8 = MB_CUR_MAX > 1 && strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
#if GREP_X86
    __builtin_cpu_init();
    cfg.simd = __builtin_cpu_supports("avx2") ? 2 : 1;
#endif

    cfg.npat = 1;
    for (const char *p = pats; *p; p++)
        cfg.npat += *p == '\n';
    /* -F -i beyond ASCII in a multibyte locale: the regex engine folds. */
    bool quote = false;
    if (syntax == SYN_FIXED && cfg.icase && MB_CUR_MAX > 1)
        for (const char *p = pats; *p; p++)
            if ((uchar)*p >= 0x80)
                quote = true;
    cfg.fixed = syntax == SYN_FIXED && !quote;

    if (cfg.fixed)
        cfg.fx = calloc(cfg.npat, sizeof *cfg.fx);
    else if ((cfg.re = calloc(cfg.npat, sizeof *cfg.re)) != NULL)
        cfg.must = calloc(cfg.npat, sizeof *cfg.must);
    if (!cfg.fx && !cfg.must)
        goto nomem;

    reg_syntax_t bits =
        syntax == SYN_EXTENDED ? RE_SYNTAX_EGREP : RE_SYNTAX_GREP;
    if (cfg.icase)
        bits |= RE_ICASE;
    /* Lines are found in a whole buffer: no '.' or [^x] across a newline
     * (the same within one line). */
    bits = (bits & ~(reg_syntax_t)RE_DOT_NEWLINE) | RE_HAT_LISTS_NOT_NEWLINE;

    cfg.dfa = !quote;
    for (const char *p = pats; cfg.dfa;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        cfg.dfa = dfa_can(p, n, syntax == SYN_EXTENDED);
        if (!nl)
            break;
        p = nl + 1;
    }
    const char *p = pats;
    for (size_t k = 0; k < cfg.npat; k++) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (cfg.fixed) {
            if (fpat_init(&cfg.fx[k], p, n) < 0)
                goto nomem;
            if (n == 0)
                cfg.match_all = true;
        } else if (compile_one(ctx, &cfg.re[k], &cfg.must[k], p, n, bits,
                               syntax == SYN_EXTENDED, quote) < 0) {
            return -1;
        }
        p += n + (nl ? 1 : 0);
    }
    return 0;
nomem:
    ctx->api->error(ctx, ENOMEM, UINT64_MAX, "%s", "patterns");
    return -1;
}

static void grep_global_fini(sluice_ctx *ctx)
{
    (void)ctx;
    for (size_t k = 0; cfg.fx && k < cfg.npat; k++)
        free(cfg.fx[k].s);
    for (size_t k = 0; cfg.re && k < cfg.npat; k++) {
        cfg.re[k].regs_allocated = REGS_UNALLOCATED;
        regfree(&cfg.re[k]);
        if (cfg.must)
            free(cfg.must[k].s);
    }
    free(cfg.must);
    free(cfg.fx);
    free(cfg.re);
    memset(&cfg, 0, sizeof cfg);
}

static int grep_worker_init(sluice_ctx *ctx)
{
    gstate *st = ctx->state;
    st->nx_a = calloc(cfg.npat, sizeof *st->nx_a);
    st->nx_b = calloc(cfg.npat, sizeof *st->nx_b);
    if (!st->nx_a || !st->nx_b) {
        ctx->api->error(ctx, ENOMEM, UINT64_MAX, "%s", "grep");
        return -1;
    }
    return 0;
}

static void grep_worker_fini(sluice_ctx *ctx)
{
    gstate *st = ctx->state;
    free(st->nx_a);
    free(st->nx_b);
    free(st->carry);
    free(st->zap);
    memset(st, 0, sizeof *st);
}

static void grep_merge(const sluice_ctx *ctx, void *into, const void *next)
{
    (void)ctx;
    grep_part b;
    memcpy(&b, next, sizeof b);
    part_add(into, b.selected);
}

static void grep_counters(const sluice_ctx *ctx, const void *partial,
                          uint64_t *out)
{
    (void)ctx;
    grep_part p;
    memcpy(&p, partial, sizeof p);
    out[0] = p.selected;
}

static const sluice_plugin grep_plugin = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "grep",
    .version = "1.0.0",
    .description = "select lines as GNU grep 3.8 does (-F, -G, -E, -i, -v)",
    .license = "MIT",
    .options = grep_options,
    .n_options = sizeof grep_options / sizeof grep_options[0],
    .caps = SLUICE_CAP_ORDERED | SLUICE_CAP_RECORDS | SLUICE_CAP_MERGE |
            SLUICE_CAP_WHOLE_UNIT,
    .state_size = sizeof(gstate),
    .partial_size = sizeof(grep_part),
    .counter_names = grep_counter_names,
    .n_counters = 1,
    .counters = grep_counters,
    .global_init = grep_global_init,
    .global_fini = grep_global_fini,
    .worker_init = grep_worker_init,
    .worker_fini = grep_worker_fini,
    .map = grep_map,
    .merge = grep_merge,
    .boundary = grep_boundary,
};

SLUICE_PLUGIN_DEFINE(grep_plugin)
