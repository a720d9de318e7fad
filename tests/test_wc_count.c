/*
 * tests/test_wc_count.c -- the wc plugin's counting monoid
 * (plugins/wc/count.c).
 *
 * Three oracles, none of them the code under test:
 *   - literal tables of what GNU wc 9.5+ prints for crafted inputs (worked
 *     out from upstream src/wc.c; they stand on their own);
 *   - `oracle()`: upstream wc 9.5+'s counting loop transcribed over one
 *     buffer, calling glibc's mbrtowc/iswspace/wcwidth directly;
 *   - the installed /usr/bin/wc (9.1 here) on the counters and inputs where
 *     9.1 and 9.5 agree (skipped when it is missing).
 * Then the monoid properties: every split point and every pair of split
 * points of every crafted input, random splits merged in random association
 * orders, identity on both sides; in the C and C.UTF-8 locales, for every
 * kernel the CPU supports (scalar, AVX2, AVX-512) and every set of counters
 * (each picks different kernels); and scalar == SIMD on a few MB of random
 * bytes biased towards spaces, newlines and UTF-8.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

#include "count.h"

/* ------------------------------------------------------------- helpers */

#define NWANTS 9
/* Counter sets: each selects different kernels. */
static const unsigned wants[NWANTS] = {
    WC_WANT_ALL,
    WC_WANT(WC_LINES),
    WC_WANT(WC_LINES) | WC_WANT(WC_WORDS) | WC_WANT(WC_BYTES),
    WC_WANT(WC_WORDS),
    WC_WANT(WC_CHARS),
    WC_WANT(WC_LINES) | WC_WANT(WC_CHARS),
    WC_WANT(WC_WORDS) | WC_WANT(WC_CHARS),
    WC_WANT(WC_MAXLINE),
    WC_WANT(WC_BYTES),
};

/* The kernels; SIMD_UNIT is the per-unit reference loop, which the library
 * uses for locales with unusual ASCII classes (forced by clearing
 * ascii_std). */
#define SIMD_UNIT ((wc_simd)100)
#define NSIMDS 4
static const wc_simd simds[NSIMDS] = {WC_SIMD_SCALAR, WC_SIMD_AVX2,
                                      WC_SIMD_AVX512, SIMD_UNIT};

static const char *simd_name(wc_simd s)
{
    return s == SIMD_UNIT ? "per-unit" : wc_simd_name(s);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t rndn(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static int set_utf8_locale(void)
{
    return setlocale(LC_ALL, "C.UTF-8") != NULL ||
           setlocale(LC_ALL, "C.utf8") != NULL;
}

static int set_c_locale(void)
{
    return setlocale(LC_ALL, "C") != NULL;
}

/* Builds a config for the current locale; returns 0 when the CPU lacks the
 * SIMD level. */
static int cfg_make(wc_config *cfg, unsigned want, wc_simd simd)
{
    char err[200];
    int unit = simd == SIMD_UNIT;
    if (wc_config_init(cfg, want, unit ? WC_SIMD_SCALAR : simd, err,
                       sizeof err) != 0) {
        assert_true(simd == WC_SIMD_AVX2 || simd == WC_SIMD_AVX512);
        return 0;
    }
    if (unit)
        cfg->ascii_std = 0;
    return 1;
}

static void count_one(const wc_config *cfg, const void *d, size_t n,
                      wc_counts *out)
{
    wc_count_buffer(cfg, (const unsigned char *)d, n, out);
}

static void fmt_counts(char *buf, size_t len, const wc_counts *c)
{
    snprintf(buf, len, "%llu %llu %llu %llu %llu", (unsigned long long)c->v[0],
             (unsigned long long)c->v[1], (unsigned long long)c->v[2],
             (unsigned long long)c->v[3], (unsigned long long)c->v[4]);
}

static void hexdump(char *buf, size_t len, const uint8_t *d, size_t n)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && o + 4 < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%02x ", d[i]);
}

/* Fails with the input and both count vectors when they differ. */
static void expect_counts(const wc_counts *want, const wc_counts *got,
                          const uint8_t *d, size_t n, const char *what)
{
    if (memcmp(want->v, got->v, sizeof want->v) == 0)
        return;
    char a[128], b[128], h[400];
    fmt_counts(a, sizeof a, want);
    fmt_counts(b, sizeof b, got);
    hexdump(h, sizeof h, d, n);
    fail_msg("%s: want %s got %s (len %zu: %s)", what, a, b, n, h);
}

static void mask_counts(wc_counts *c, unsigned want)
{
    for (int i = 0; i < WC_NCOUNTERS; i++)
        if (!(want & WC_WANT(i)))
            c->v[i] = 0;
}

/* ------------------------------------------------------------- oracle */

static int nbsp(uint32_t c)
{
    return c == 0xA0 || c == 0x2007 || c == 0x202F || c == 0x2060;
}

/* Upstream wc 9.5+ (src/wc.c, function wc) on one buffer: the multibyte
 * loop when MB_CUR_MAX > 1, the byte loop otherwise.  `c_locale`: the
 * single-byte locale is C/POSIX, where coreutils' gnulib btoc32 maps bytes
 * 0x80..0xFF to U+0080..U+00FF. */
static void oracle(const uint8_t *d, size_t n, int posix, int c_locale,
                   wc_counts *out)
{
    uint64_t lines = 0, words = 0, chars = 0, linelength = 0, linepos = 0;
    int in_word = 0;
    if (MB_CUR_MAX > 1) {
        mbstate_t st;
        memset(&st, 0, sizeof st);
        size_t p = 0;
        while (p < n) {
            wchar_t wc;
            size_t charbytes;
            int single;
            if (d[p] < 0x80) {
                wc = d[p];
                charbytes = 1;
                single = 1;
            } else {
                size_t r = mbrtowc(&wc, (const char *)d + p, n - p, &st);
                if (r == (size_t)-1 || r == (size_t)-2) {
                    p++;
                    memset(&st, 0, sizeof st);
                    words += !in_word;
                    in_word = 1;
                    continue;
                }
                charbytes = r ? r : 1;
                single = charbytes == 1;
            }
            switch (wc) {
            case '\n':
                lines++;
                /* fall through */
            case '\r':
            case '\f':
                if (linepos > linelength)
                    linelength = linepos;
                linepos = 0;
                in_word = 0;
                break;
            case '\t':
                linepos += 8 - linepos % 8;
                in_word = 0;
                break;
            case ' ':
                linepos++;
                /* fall through */
            case '\v':
                in_word = 0;
                break;
            default: {
                int in_word2;
                if (single && wc <= 0xFF) {
                    linepos += isprint((int)wc) != 0;
                    in_word2 = !(isspace((int)wc) ||
                                 (!posix && nbsp((uint32_t)btowc((int)wc))));
                } else {
                    int w = wcwidth(wc);
                    if (w > 0)
                        linepos += (uint64_t)w;
                    in_word2 = !(iswspace((wint_t)wc) ||
                                 (!posix && nbsp((uint32_t)wc)));
                }
                words += !in_word && in_word2;
                in_word = in_word2;
                break;
            }
            }
            p += charbytes;
            chars++;
        }
    } else {
        for (size_t p = 0; p < n; p++) {
            unsigned c = d[p];
            switch (c) {
            case '\n':
                lines++;
                /* fall through */
            case '\r':
            case '\f':
                if (linepos > linelength)
                    linelength = linepos;
                linepos = 0;
                in_word = 0;
                break;
            case '\t':
                linepos += 8 - linepos % 8;
                in_word = 0;
                break;
            case ' ':
                linepos++;
                /* fall through */
            case '\v':
                in_word = 0;
                break;
            default: {
                wint_t w = btowc((int)c);
                if (w == WEOF && c_locale)
                    w = c;
                linepos += isprint((int)c) != 0;
                int in_word2 =
                    !(isspace((int)c) || (!posix && nbsp((uint32_t)w)));
                words += !in_word && in_word2;
                in_word = in_word2;
                break;
            }
            }
        }
        chars = n;
    }
    if (linepos > linelength)
        linelength = linepos;
    out->v[WC_LINES] = lines;
    out->v[WC_WORDS] = words;
    out->v[WC_CHARS] = chars;
    out->v[WC_BYTES] = n;
    out->v[WC_MAXLINE] = linelength;
}

/* --------------------------------------------------------- crafted table */

typedef struct crafted {
    const char *name;
    const char *data;
    size_t len;
    uint64_t c[5]; /* C locale: lines words chars bytes maxline */
    uint64_t u[5]; /* C.UTF-8 */
} crafted;

#define S(x) x, sizeof(x) - 1

/* Expected values of GNU wc 9.5+ (wc -lwmcL), worked out from upstream's
 * rules.  Entries marked [9.1] print differently with coreutils 9.1. */
static const crafted table[] = {
    {"empty", S(""), {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}},
    {"no final newline",
     S("hello world"),
     {0, 2, 11, 11, 11},
     {0, 2, 11, 11, 11}},
    {"two lines", S("a b\nc\n"), {2, 3, 6, 6, 3}, {2, 3, 6, 6, 3}},
    {"only newlines", S("\n\n\n"), {3, 0, 3, 3, 0}, {3, 0, 3, 3, 0}},
    {"blank runs", S("  \t \n\n  "), {2, 0, 8, 8, 9}, {2, 0, 8, 8, 9}},
    {"NUL bytes are word units",
     S("a\0b\0\n\0"),
     {1, 2, 6, 6, 2},
     {1, 2, 6, 6, 2}},
    /* [9.1: 0 words] non-printable characters are word units */
    {"control char alone", S("\x01\n"), {1, 1, 2, 2, 0}, {1, 1, 2, 2, 0}},
    {"controls between spaces",
     S("\x01 \x7f"),
     {0, 2, 3, 3, 1},
     {0, 2, 3, 3, 1}},
    /* [9.1: 2 words] encoding errors are word units */
    {"invalid byte", S("a \xff b\n"), {1, 3, 6, 6, 4}, {1, 3, 5, 6, 4}},
    {"truncated sequence at end",
     S("ab\xe2\x82"),
     {0, 1, 4, 4, 2},
     {0, 1, 2, 4, 2}},
    {"truncated sequence then space",
     S("\xe2\x82 x"),
     {0, 2, 4, 4, 2},
     {0, 2, 2, 4, 2}},
    {"lone lead byte at end", S("x \xf0"), {0, 2, 3, 3, 2}, {0, 2, 2, 3, 2}},
    {"stray continuation bytes",
     S("\x80\x80"
       "a b"),
     {0, 2, 5, 5, 3},
     {0, 2, 3, 5, 3}},
    {"overlong", S("\xc0\x80"), {0, 1, 2, 2, 0}, {0, 1, 0, 2, 0}},
    {"surrogate", S("\xed\xa0\x80 a"), {0, 3, 5, 5, 2}, {0, 2, 2, 5, 2}},
    {"five-byte form (glibc)",
     S("\xf8\x88\x80\x80\x80"),
     {0, 1, 5, 5, 0},
     {0, 1, 1, 5, 0}},
    {"six-byte form (glibc)",
     S("\xfc\x84\x80\x80\x80\x80 z"),
     {0, 2, 8, 8, 2},
     {0, 2, 3, 8, 2}},
    {"beyond U+10FFFF (glibc)",
     S("\xf4\x90\x80\x80"),
     {0, 1, 4, 4, 0},
     {0, 1, 1, 4, 0}},
    /* [9.1 C locale: 1 word] byte 0xA0 is NBSP through gnulib's btoc32 */
    {"NBSP U+00A0",
     S("a\xc2\xa0"
       "b"),
     {0, 2, 4, 4, 2},
     {0, 2, 3, 4, 3}},
    {"C-locale NBSP byte",
     S("a\xa0"
       "b"),
     {0, 2, 3, 3, 2},
     {0, 1, 2, 3, 2}},
    {"U+2007 figure space",
     S("a\xe2\x80\x87"
       "b"),
     {0, 1, 5, 5, 2},
     {0, 2, 3, 5, 3}},
    {"U+202F narrow NBSP",
     S("a\xe2\x80\xaf"
       "b"),
     {0, 1, 5, 5, 2},
     {0, 2, 3, 5, 3}},
    {"U+2060 word joiner",
     S("a\xe2\x81\xa0"
       "b"),
     {0, 2, 5, 5, 2},
     {0, 2, 3, 5, 2}},
    {"U+3000 ideographic space",
     S("a\xe3\x80\x80"
       "b"),
     {0, 1, 5, 5, 2},
     {0, 2, 3, 5, 4}},
    {"U+2003 em space",
     S("a\xe2\x80\x83"
       "b"),
     {0, 1, 5, 5, 2},
     {0, 2, 3, 5, 3}},
    {"U+1680 ogham space",
     S("a\xe1\x9a\x80"
       "b"),
     {0, 1, 5, 5, 2},
     {0, 2, 3, 5, 3}},
    /* [9.1: 1 word] U+2028 is a space that is not printable */
    {"U+2028 line separator",
     S("a\xe2\x80\xa8"
       "b"),
     {0, 1, 5, 5, 2},
     {0, 2, 3, 5, 2}},
    /* [9.1: 0 words] U+0085 is not a space, not printable: a word unit */
    {"U+0085 NEL", S("\xc2\x85"), {0, 1, 2, 2, 0}, {0, 1, 1, 2, 0}},
    {"U+200B zero width space",
     S("a\xe2\x80\x8b"
       "b"),
     {0, 1, 5, 5, 2},
     {0, 1, 3, 5, 2}},
    {"tab stops", S("a\tb\n"), {1, 2, 4, 4, 9}, {1, 2, 4, 4, 9}},
    {"tab at a multiple of 8",
     S("abcdefgh\tx"),
     {0, 2, 10, 10, 17},
     {0, 2, 10, 10, 17}},
    {"tab cr ff vt",
     S("1234567\t\tx\r12\f123\vxy\n"),
     {1, 5, 21, 21, 17},
     {1, 5, 21, 21, 17}},
    {"cr restarts the column", S("\tx\r\ty"), {0, 2, 5, 5, 9}, {0, 2, 5, 5, 9}},
    {"longest line last", S("ab\nabcd"), {1, 2, 7, 7, 4}, {1, 2, 7, 7, 4}},
    {"wide CJK",
     S("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n"),
     {1, 1, 10, 10, 0},
     {1, 1, 4, 10, 6}},
    {"CJK after tab",
     S("\t\xe6\x97\xa5\t."),
     {0, 2, 6, 6, 17},
     {0, 2, 4, 6, 17}},
    {"combining acute", S("e\xcc\x81"), {0, 1, 3, 3, 1}, {0, 1, 2, 3, 1}},
    {"emoji", S("\xf0\x9f\x98\x80 x"), {0, 2, 6, 6, 2}, {0, 2, 3, 6, 4}},
};

#define NTABLE (sizeof table / sizeof table[0])

static void check_table(int utf8)
{
    for (size_t t = 0; t < NTABLE; t++) {
        const crafted *c = &table[t];
        const uint64_t *e = utf8 ? c->u : c->c;
        for (int s = 0; s < NSIMDS; s++) {
            for (int w = 0; w < NWANTS; w++) {
                wc_config cfg;
                if (!cfg_make(&cfg, wants[w], simds[s]))
                    continue;
                wc_counts want, got;
                memcpy(want.v, e, sizeof want.v);
                mask_counts(&want, wants[w]);
                count_one(&cfg, c->data, c->len, &got);
                char what[160];
                snprintf(what, sizeof what, "%s [%s, %s, want %#x]", c->name,
                         utf8 ? "UTF-8" : "C", simd_name(simds[s]), wants[w]);
                expect_counts(&want, &got, (const uint8_t *)c->data, c->len,
                              what);
                wc_config_fini(&cfg);
            }
        }
    }
}

static void crafted_inputs_give_gnu_wc_95_counts_in_c_locale(void **state)
{
    (void)state;
    assert_true(set_c_locale());
    unsetenv("POSIXLY_CORRECT");
    check_table(0);
}

static void crafted_inputs_give_gnu_wc_95_counts_in_utf8_locale(void **state)
{
    (void)state;
    if (!set_utf8_locale())
        skip();
    unsetenv("POSIXLY_CORRECT");
    check_table(1);
}

/* The oracle itself is checked against the literal table, so a bug there
 * cannot hide one in the code under test. */
static void oracle_agrees_with_the_literal_table(void **state)
{
    (void)state;
    unsetenv("POSIXLY_CORRECT");
    for (int utf8 = 0; utf8 < 2; utf8++) {
        if (utf8 ? !set_utf8_locale() : !set_c_locale())
            skip();
        for (size_t t = 0; t < NTABLE; t++) {
            wc_counts want, got;
            memcpy(want.v, utf8 ? table[t].u : table[t].c, sizeof want.v);
            oracle((const uint8_t *)table[t].data, table[t].len, 0, !utf8,
                   &got);
            expect_counts(&want, &got, (const uint8_t *)table[t].data,
                          table[t].len, table[t].name);
        }
    }
}

static void posixly_correct_makes_nbsp_a_word_unit(void **state)
{
    (void)state;
    static const struct {
        const char *d;
        size_t n;
        uint64_t words_c, words_u; /* with POSIXLY_CORRECT */
    } cases[] = {
        {S("a\xc2\xa0"
           "b"),
         1, 1},
        {S("a\xa0"
           "b"),
         1, 1},
        {S("a\xe2\x80\x87"
           "b"),
         1, 1},
        {S("a\xe2\x80\xaf"
           "b"),
         1, 1},
        {S("a\xe2\x81\xa0"
           "b"),
         1, 1},
        {S("a\xe2\x80\x83"
           "b"),
         1, 2}, /* U+2003 stays a space */
    };
    setenv("POSIXLY_CORRECT", "1", 1);
    for (int utf8 = 0; utf8 < 2; utf8++) {
        if (utf8 ? !set_utf8_locale() : !set_c_locale())
            skip();
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            for (int s = 0; s < NSIMDS; s++) {
                wc_config cfg;
                if (!cfg_make(&cfg, WC_WANT(WC_WORDS), simds[s]))
                    continue;
                wc_counts got;
                count_one(&cfg, cases[i].d, cases[i].n, &got);
                assert_int_equal(got.v[WC_WORDS],
                                 utf8 ? cases[i].words_u : cases[i].words_c);
                wc_config_fini(&cfg);
            }
        }
    }
    unsetenv("POSIXLY_CORRECT");
}

/* ------------------------------------------------------ split properties */

/* Counts d cut at cuts[0..k) (ascending), each piece fed to map in one or
 * more blocks, merged left to right (order 0), right to left (1) or in a
 * random tree (2). */
static void count_split(const wc_config *cfg, const uint8_t *d, size_t n,
                        const size_t *cuts, size_t k, int order, int subblocks,
                        wc_counts *out);

static wc_partial *parts_buf;

static void merge_tree(const wc_config *cfg, wc_partial *parts, size_t lo,
                       size_t hi)
{
    /* merges parts[lo..hi) into parts[lo] */
    if (hi - lo < 2)
        return;
    size_t mid = lo + 1 + rndn(hi - lo - 1);
    merge_tree(cfg, parts, lo, mid);
    merge_tree(cfg, parts, mid, hi);
    wc_count_merge(cfg, &parts[lo], &parts[mid]);
}

static void count_split(const wc_config *cfg, const uint8_t *d, size_t n,
                        const size_t *cuts, size_t k, int order, int subblocks,
                        wc_counts *out)
{
    size_t np = k + 1;
    wc_partial *parts = parts_buf;
    size_t start = 0;
    for (size_t i = 0; i < np; i++) {
        size_t end = i < k ? cuts[i] : n;
        wc_count_init(&parts[i]);
        size_t at = start;
        while (at < end) {
            size_t len = end - at;
            if (subblocks && len > 1)
                len = 1 + rndn(len);
            /* an exactly sized copy, so that ASan sees any over-read */
            uint8_t *blk = malloc(len);
            assert_non_null(blk);
            memcpy(blk, d + at, len);
            wc_count_map(cfg, &parts[i], blk, len);
            free(blk);
            at += len;
        }
        start = end;
    }
    if (order == 0) {
        for (size_t i = 1; i < np; i++)
            wc_count_merge(cfg, &parts[0], &parts[i]);
    } else if (order == 1) {
        for (size_t i = np - 1; i > 0; i--)
            wc_count_merge(cfg, &parts[i - 1], &parts[i]);
    } else {
        merge_tree(cfg, parts, 0, np);
    }
    wc_count_result(cfg, &parts[0], out);
}

/* For each locale, kernel and counter set: calls fn(cfg, ctx). */
typedef void (*cfg_fn)(const wc_config *cfg, int utf8, void *ctx);

static void for_each_config(cfg_fn fn, void *ctx)
{
    unsetenv("POSIXLY_CORRECT");
    for (int utf8 = 0; utf8 < 2; utf8++) {
        if (utf8 ? !set_utf8_locale() : !set_c_locale())
            skip(); /* after the C locale part ran */
        for (int s = 0; s < NSIMDS; s++) {
            for (int w = 0; w < NWANTS; w++) {
                wc_config cfg;
                if (!cfg_make(&cfg, wants[w], simds[s]))
                    continue;
                fn(&cfg, utf8, ctx);
                wc_config_fini(&cfg);
            }
        }
    }
}

static void splits_of_table(const wc_config *cfg, int utf8, void *ctx)
{
    int pairs = *(int *)ctx;
    for (size_t t = 0; t < NTABLE; t++) {
        const uint8_t *d = (const uint8_t *)table[t].data;
        size_t n = table[t].len;
        wc_counts whole, got;
        count_one(cfg, d, n, &whole);
        char what[200];
        if (!pairs) {
            for (size_t a = 0; a <= n; a++) {
                count_split(cfg, d, n, &a, 1, 0, 0, &got);
                snprintf(what, sizeof what, "%s split at %zu [%s %s %#x]",
                         table[t].name, a, utf8 ? "UTF-8" : "C",
                         simd_name(cfg->ascii_std ? cfg->simd : SIMD_UNIT),
                         cfg->want);
                expect_counts(&whole, &got, d, n, what);
            }
        } else {
            for (size_t a = 0; a <= n; a++) {
                for (size_t b = a; b <= n; b++) {
                    size_t cuts[2] = {a, b};
                    for (int order = 0; order < 2; order++) {
                        count_split(cfg, d, n, cuts, 2, order, 0, &got);
                        snprintf(
                            what, sizeof what,
                            "%s split at %zu,%zu order %d [%s %s %#x]",
                            table[t].name, a, b, order, utf8 ? "UTF-8" : "C",
                            simd_name(cfg->ascii_std ? cfg->simd : SIMD_UNIT),
                            cfg->want);
                        expect_counts(&whole, &got, d, n, what);
                    }
                }
            }
        }
    }
}

static void every_split_point_gives_the_one_pass_counts(void **state)
{
    (void)state;
    int pairs = 0;
    for_each_config(splits_of_table, &pairs);
}

static void every_pair_of_split_points_gives_the_one_pass_counts(void **state)
{
    (void)state;
    int pairs = 1;
    for_each_config(splits_of_table, &pairs);
}

/* Random bytes biased towards what makes counting hard. */
static void gen_mixed(uint8_t *d, size_t n)
{
    static const char *const pieces[] = {
        " ",
        "  ",
        "\n",
        "\t",
        "\r",
        "\f",
        "\v",
        "\0",
        "\x01",
        "\x7f",
        "\xc2\xa0",         /* U+00A0 */
        "\xe2\x80\x87",     /* U+2007 */
        "\xe2\x80\xaf",     /* U+202F */
        "\xe2\x81\xa0",     /* U+2060 */
        "\xe3\x80\x80",     /* U+3000 */
        "\xe2\x80\x83",     /* U+2003 */
        "\xe2\x80\xa8",     /* U+2028 */
        "\xe1\x9a\x80",     /* U+1680 */
        "\xc2\x85",         /* U+0085 */
        "\xc3\xa9",         /* e acute */
        "\xcc\x81",         /* combining acute */
        "\xe6\x97\xa5",     /* CJK */
        "\xe2\x80\x94",     /* em dash */
        "\xf0\x9f\x98\x80", /* emoji */
        "\xf8\x88\x80\x80\x80",
        "\xfc\x84\x80\x80\x80\x80",
        "\xe0\xa4\x85", /* Devanagari (E0 lead) */
        "\xed\x95\x9c", /* Hangul (ED lead) */
        "\xe0\x80\x80",
        "\xed\xa0\x80",
        "\xf0\x80\x80\x80",
        "\xc0\xaf",
        "\xe2\x82",
        "\xf0\x9f",
        "\xf0\x9f\x98",
        "\x80",
        "\xbf",
        "\xff",
        "\xa0",
        "\xc2",
        "\xe2",
        "\xfd",
    };
    size_t np = sizeof pieces / sizeof pieces[0];
    size_t i = 0;
    while (i < n) {
        uint64_t r = rnd() % 100;
        if (r < 45) {
            d[i++] = (uint8_t)('a' + rndn(26));
        } else if (r < 50) {
            d[i++] = (uint8_t)rndn(256);
        } else {
            const char *p = pieces[rndn(np)];
            size_t len = p[0] ? strlen(p) : 1;
            for (size_t j = 0; j < len && i < n; j++)
                d[i++] = (uint8_t)p[j];
        }
    }
}

typedef struct rand_ctx {
    const uint8_t *d;
    size_t n;
    int rounds;
} rand_ctx;

static void random_splits(const wc_config *cfg, int utf8, void *vctx)
{
    rand_ctx *ctx = vctx;
    wc_counts whole, got;
    count_one(cfg, ctx->d, ctx->n, &whole);
    /* the one-pass counts are the oracle's */
    wc_counts ref;
    oracle(ctx->d, ctx->n, 0, !utf8, &ref);
    mask_counts(&ref, cfg->want);
    expect_counts(&ref, &whole, ctx->d, 0, "one pass vs oracle");
    for (int r = 0; r < ctx->rounds; r++) {
        size_t k = 1 + rndn(40);
        size_t cuts[64];
        for (size_t i = 0; i < k; i++)
            cuts[i] = rndn(ctx->n + 1);
        /* sort; equal cuts make empty pieces, which must be neutral */
        for (size_t i = 1; i < k; i++)
            for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
                size_t t = cuts[j];
                cuts[j] = cuts[j - 1];
                cuts[j - 1] = t;
            }
        int order = (int)rndn(3);
        count_split(cfg, ctx->d, ctx->n, cuts, k, order, (int)rndn(2), &got);
        char what[160];
        snprintf(what, sizeof what,
                 "random split (%zu cuts, order %d) [%s %s %#x]", k, order,
                 utf8 ? "UTF-8" : "C",
                 simd_name(cfg->ascii_std ? cfg->simd : SIMD_UNIT), cfg->want);
        expect_counts(&whole, &got, ctx->d, 0, what);
    }
}

static void merge_is_associative_on_random_splits_of_mixed_input(void **state)
{
    (void)state;
    rng_state = 42;
    size_t n = 20000;
    uint8_t *d = malloc(n);
    assert_non_null(d);
    gen_mixed(d, n);
    rand_ctx ctx = {d, n, 40};
    for_each_config(random_splits, &ctx);
    free(d);
}

static void identity_is_neutral_on_both_sides(void **state)
{
    (void)state;
    static const char input[] = "a\xe2\x82 \xe6\x97\xa5\t\xc2\n\x80x";
    unsetenv("POSIXLY_CORRECT");
    for (int utf8 = 0; utf8 < 2; utf8++) {
        if (utf8 ? !set_utf8_locale() : !set_c_locale())
            skip();
        wc_config cfg;
        assert_true(cfg_make(&cfg, WC_WANT_ALL, WC_SIMD_SCALAR));
        size_t n = sizeof input - 1;
        for (size_t a = 0; a <= n; a++) {
            wc_partial p, id, q;
            wc_count_init(&p);
            wc_count_map(&cfg, &p, (const uint8_t *)input, a);
            wc_count_init(&id);
            /* p (+) 0 == p */
            q = p;
            wc_count_merge(&cfg, &q, &id);
            assert_memory_equal(&q, &p, sizeof p);
            /* 0 (+) p == p */
            q = id;
            wc_count_merge(&cfg, &q, &p);
            assert_memory_equal(&q, &p, sizeof p);
        }
        wc_config_fini(&cfg);
    }
}

/* ------------------------------------------------- kernels agree exactly */

static void kernels_agree_on_random_biased_bytes(void **state)
{
    (void)state;
    rng_state = 7;
    size_t n = 4u << 20;
    uint8_t *d = malloc(n);
    assert_non_null(d);
    /* stretches of different mixes: plain ASCII text, mixed, binary */
    for (size_t i = 0; i < n;) {
        size_t len = 1 + rndn(70000);
        if (len > n - i)
            len = n - i;
        switch (rndn(3)) {
        case 0:
            for (size_t j = 0; j < len; j++)
                d[i + j] = rndn(6) == 0    ? ' '
                           : rndn(50) == 0 ? '\n'
                                           : (uint8_t)('a' + rndn(26));
            break;
        case 1:
            gen_mixed(d + i, len);
            break;
        default:
            for (size_t j = 0; j < len; j++)
                d[i + j] = (uint8_t)rndn(256);
            break;
        }
        i += len;
    }
    unsetenv("POSIXLY_CORRECT");
    for (int utf8 = 0; utf8 < 2; utf8++) {
        if (utf8 ? !set_utf8_locale() : !set_c_locale())
            skip();
        for (int w = 0; w < NWANTS; w++) {
            wc_config cs;
            assert_true(cfg_make(&cs, wants[w], WC_SIMD_SCALAR));
            /* whole buffer, and a few odd offsets/lengths */
            for (int trial = 0; trial < 4; trial++) {
                size_t off = trial ? rndn(4096) : 0;
                size_t len = trial ? rndn(n - off) : n;
                wc_counts a, b;
                count_one(&cs, d + off, len, &a);
                for (int s = 1; s < NSIMDS; s++) {
                    wc_config cv;
                    if (!cfg_make(&cv, wants[w], simds[s]))
                        continue;
                    count_one(&cv, d + off, len, &b);
                    char what[120];
                    snprintf(what, sizeof what,
                             "scalar vs %s [%s %#x] off %zu len %zu",
                             simd_name(simds[s]), utf8 ? "UTF-8" : "C",
                             wants[w], off, len);
                    expect_counts(&a, &b, d, 0, what);
                    wc_config_fini(&cv);
                }
                if (trial == 0 && w == 0) {
                    wc_counts ref;
                    oracle(d, n, 0, !utf8, &ref);
                    expect_counts(&ref, &a, d, 0, "scalar vs oracle, 4 MiB");
                }
            }
            wc_config_fini(&cs);
        }
    }
    free(d);
}

/* Short random inputs against the oracle, every kernel. */
static void counts_equal_upstream_loop_on_random_inputs(void **state)
{
    (void)state;
    rng_state = 1234;
    uint8_t d[300];
    unsetenv("POSIXLY_CORRECT");
    for (int utf8 = 0; utf8 < 2; utf8++) {
        if (utf8 ? !set_utf8_locale() : !set_c_locale())
            skip();
        wc_config cfg[NSIMDS];
        int ok[NSIMDS];
        for (int s = 0; s < NSIMDS; s++)
            ok[s] = cfg_make(&cfg[s], WC_WANT_ALL, simds[s]);
        for (int it = 0; it < 20000; it++) {
            size_t n = rndn(sizeof d);
            if (it & 1)
                gen_mixed(d, n);
            else
                for (size_t i = 0; i < n; i++)
                    d[i] = (uint8_t)(rndn(4) ? 0x80 + rndn(128) : rndn(128));
            wc_counts ref, got;
            oracle(d, n, 0, !utf8, &ref);
            for (int s = 0; s < NSIMDS; s++) {
                if (!ok[s])
                    continue;
                count_one(&cfg[s], d, n, &got);
                expect_counts(&ref, &got, d, n, simd_name(simds[s]));
            }
        }
        for (int s = 0; s < NSIMDS; s++)
            if (ok[s])
                wc_config_fini(&cfg[s]);
    }
}

/* Every 1-, 2- and (sampled) 3..6-byte sequence: characters as glibc's
 * mbrtowc decodes them. */
static void utf8_decoding_matches_glibc_mbrtowc(void **state)
{
    (void)state;
    if (!set_utf8_locale())
        skip();
    unsetenv("POSIXLY_CORRECT");
    wc_config cfg;
    assert_true(cfg_make(&cfg, WC_WANT_ALL, WC_SIMD_SCALAR));
    static const uint8_t thirds[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
                                     0x9f, 0xa0, 0xbf, 0xc0, 0xe2, 0xff};
    uint8_t s[8];
    wc_counts ref, got;
    for (unsigned a = 0x80; a < 0x100; a++) {
        for (unsigned b = 0; b < 0x100; b++) {
            for (size_t t = 0; t <= sizeof thirds; t++) {
                s[0] = (uint8_t)a;
                s[1] = (uint8_t)b;
                size_t n = 2;
                if (t < sizeof thirds)
                    s[n++] = thirds[t];
                oracle(s, n, 0, 0, &ref);
                count_one(&cfg, s, n, &got);
                expect_counts(&ref, &got, s, n, "2-3 byte sequence");
            }
        }
    }
    rng_state = 99;
    for (int it = 0; it < 200000; it++) {
        size_t n = 3 + rndn(6);
        s[0] = (uint8_t)(0xE0 + rndn(32));
        for (size_t i = 1; i < n; i++)
            s[i] = rndn(8) ? (uint8_t)(0x80 + rndn(64)) : (uint8_t)rndn(256);
        oracle(s, n, 0, 0, &ref);
        count_one(&cfg, s, n, &got);
        expect_counts(&ref, &got, s, n, "3-8 byte sequence");
    }
    wc_config_fini(&cfg);
}

/* --------------------------------------------- the installed GNU wc 9.1 */

/* Runs /usr/bin/wc with `opts` on d; parses `count` numbers. */
static int run_gnu_wc(const char *locale, const char *opts, const uint8_t *d,
                      size_t n, uint64_t *out, int count)
{
    char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/test_wc_count.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    if (write(fd, d, n) != (ssize_t)n) {
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "LC_ALL=%s /usr/bin/wc %s < %s", locale, opts,
             path);
    FILE *f = popen(cmd, "r");
    int got = 0;
    if (f) {
        unsigned long long v;
        while (got < count && fscanf(f, "%llu", &v) == 1)
            out[got++] = v;
        pclose(f);
    }
    unlink(path);
    return got == count ? 0 : -1;
}

/* 9.1 and 9.5 agree on lines, chars, bytes and max line length, and on
 * words when the input has no control characters, encoding errors, C-locale
 * bytes >= 0x80, or non-printable multibyte characters. */
static void counts_equal_installed_gnu_wc_where_91_agrees(void **state)
{
    (void)state;
    if (access("/usr/bin/wc", X_OK) != 0)
        skip();
    unsetenv("POSIXLY_CORRECT");
    rng_state = 5;
    static const char *const words_ok[] = {
        " ",
        "\n",
        "\t",
        "\r",
        "\f",
        "\v",
        "\xc2\xa0",
        "\xe2\x80\x87",
        "\xe3\x80\x80",
        "\xe2\x80\x83",
        "\xc3\xa9",
        "\xe6\x97\xa5",
        "\xf0\x9f\x98\x80",
        "\xcc\x81",
        "\xe2\x80\x94",
    };
    uint8_t d[4000];
    for (int utf8 = 0; utf8 < 2; utf8++) {
        const char *loc = utf8 ? "C.UTF-8" : "C";
        if (utf8 ? !set_utf8_locale() : !set_c_locale())
            continue;
        for (int it = 0; it < 12; it++) {
            size_t n = 1 + rndn(sizeof d);
            int words_safe = it % 2;
            if (words_safe) {
                for (size_t i = 0; i < n;) {
                    if (rndn(3)) {
                        d[i++] = (uint8_t)('!' + rndn(94));
                    } else {
                        const char *p = words_ok[rndn(sizeof words_ok /
                                                      sizeof words_ok[0])];
                        size_t len = strlen(p);
                        if (!utf8 && (uint8_t)p[0] >= 0x80)
                            continue;
                        if (len > n - i)
                            break;
                        memcpy(d + i, p, len);
                        i += len;
                    }
                }
            } else {
                gen_mixed(d, n);
            }
            uint64_t g[4];
            const char *opts = words_safe ? "-lwmL" : "-lmcL";
            if (run_gnu_wc(loc, opts, d, n, g, 4) != 0)
                skip();
            for (int s = 0; s < NSIMDS; s++) {
                wc_config cfg;
                if (!cfg_make(&cfg, WC_WANT_ALL, simds[s]))
                    continue;
                wc_counts got;
                count_one(&cfg, d, n, &got);
                wc_counts want = got;
                want.v[WC_LINES] = g[0];
                if (words_safe) {
                    want.v[WC_WORDS] = g[1];
                    want.v[WC_CHARS] = g[2];
                } else {
                    want.v[WC_CHARS] = g[1];
                    want.v[WC_BYTES] = g[2];
                }
                want.v[WC_MAXLINE] = g[3];
                expect_counts(&want, &got, d, n, "installed wc");
                wc_config_fini(&cfg);
            }
        }
    }
}

/* -------------------------------------------- other multibyte locales */

/* Non-UTF-8 multibyte locales (not self-synchronising) go through the
 * generic path; only run where such a locale is installed. */
static void generic_multibyte_locale_splits_give_one_pass_counts(void **state)
{
    (void)state;
    static const char *const names[] = {
        "ja_JP.eucjp", "ja_JP.EUC-JP", "zh_CN.gb18030", "zh_CN.GB18030",
        "ja_JP.sjis",  "ja_JP.SJIS",   "zh_TW.big5",    "zh_TW.BIG5",
        "ko_KR.euckr", "zh_CN.gbk",    "zh_CN.GBK",
    };
    int tested = 0;
    unsetenv("POSIXLY_CORRECT");
    rng_state = 77;
    for (size_t l = 0; l < sizeof names / sizeof names[0]; l++) {
        if (!setlocale(LC_ALL, names[l]) || MB_CUR_MAX < 2)
            continue;
        print_message("generic path: %s (MB_CUR_MAX %zu)\n", names[l],
                      (size_t)MB_CUR_MAX);
        wc_config cfg;
        assert_true(cfg_make(&cfg, WC_WANT_ALL, WC_SIMD_AUTO));
        assert_int_equal(cfg.mode, WC_MODE_GENERIC);
        tested++;
        for (int it = 0; it < 300; it++) {
            uint8_t d[400];
            size_t n = rndn(sizeof d);
            for (size_t i = 0; i < n; i++)
                d[i] = rndn(3)   ? (uint8_t)(0x80 + rndn(128))
                       : rndn(2) ? (uint8_t)(' ' + rndn(95))
                                 : (uint8_t) " \n\t"[rndn(3)];
            wc_counts ref, whole, got;
            oracle(d, n, 0, 0, &ref);
            count_one(&cfg, d, n, &whole);
            expect_counts(&ref, &whole, d, n, names[l]);
            for (int r = 0; r < 20; r++) {
                size_t k = 1 + rndn(12);
                size_t cuts[16];
                for (size_t i = 0; i < k; i++)
                    cuts[i] = rndn(n + 1);
                for (size_t i = 1; i < k; i++)
                    for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
                        size_t t = cuts[j];
                        cuts[j] = cuts[j - 1];
                        cuts[j - 1] = t;
                    }
                count_split(&cfg, d, n, cuts, k, (int)rndn(3), (int)rndn(2),
                            &got);
                expect_counts(&whole, &got, d, n, names[l]);
            }
        }
        wc_config_fini(&cfg);
    }
    if (!tested)
        skip();
}

/* A single-byte locale other than C (printable bytes >= 0x80, NBSP 0xA0
 * through btowc): every kernel against the oracle, with random splits; only
 * run where such a locale is installed. */
static void single_byte_locale_matches_upstream_loop(void **state)
{
    (void)state;
    static const char *const names[] = {
        "en_US.iso88591", "en_US.ISO-8859-1", "de_DE.iso88591",
        "fr_FR.iso88591", "ru_RU.koi8r",
    };
    int tested = 0;
    unsetenv("POSIXLY_CORRECT");
    rng_state = 31;
    for (size_t l = 0; l < sizeof names / sizeof names[0]; l++) {
        if (!setlocale(LC_ALL, names[l]) || MB_CUR_MAX != 1)
            continue;
        print_message("single-byte locale: %s\n", names[l]);
        tested++;
        for (int s = 0; s < NSIMDS; s++) {
            for (int w = 0; w < NWANTS; w++) {
                wc_config cfg;
                if (!cfg_make(&cfg, wants[w], simds[s]))
                    continue;
                assert_int_equal(cfg.mode, WC_MODE_SINGLE);
                for (int it = 0; it < 60; it++) {
                    uint8_t d[700];
                    size_t n = rndn(sizeof d);
                    if (it & 1)
                        gen_mixed(d, n);
                    else
                        for (size_t i = 0; i < n; i++)
                            d[i] = (uint8_t)rndn(256);
                    wc_counts ref, got;
                    oracle(d, n, 0, 0, &ref);
                    mask_counts(&ref, wants[w]);
                    count_one(&cfg, d, n, &got);
                    expect_counts(&ref, &got, d, n, names[l]);
                    size_t cuts[3] = {rndn(n + 1), rndn(n + 1), rndn(n + 1)};
                    if (cuts[0] > cuts[1]) {
                        size_t t = cuts[0];
                        cuts[0] = cuts[1];
                        cuts[1] = t;
                    }
                    if (cuts[1] > cuts[2]) {
                        size_t t = cuts[1];
                        cuts[1] = cuts[2];
                        cuts[2] = t;
                    }
                    if (cuts[0] > cuts[1]) {
                        size_t t = cuts[0];
                        cuts[0] = cuts[1];
                        cuts[1] = t;
                    }
                    count_split(&cfg, d, n, cuts, 3, (int)rndn(3), 1, &got);
                    expect_counts(&ref, &got, d, n, names[l]);
                }
                wc_config_fini(&cfg);
            }
        }
    }
    if (!tested)
        skip();
}

/* ------------------------------------------------------------------ main */

static void partial_fits_the_abi_limit(void **state)
{
    (void)state;
    assert_true(sizeof(wc_partial) <= 4096);
    wc_partial p;
    memset(&p, 0xAB, sizeof p);
    wc_count_init(&p);
    wc_partial z;
    memset(&z, 0, sizeof z);
    assert_memory_equal(&p, &z, sizeof p);
}

int main(void)
{
    parts_buf = calloc(128, sizeof(wc_partial));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(partial_fits_the_abi_limit),
        cmocka_unit_test(oracle_agrees_with_the_literal_table),
        cmocka_unit_test(crafted_inputs_give_gnu_wc_95_counts_in_c_locale),
        cmocka_unit_test(crafted_inputs_give_gnu_wc_95_counts_in_utf8_locale),
        cmocka_unit_test(posixly_correct_makes_nbsp_a_word_unit),
        cmocka_unit_test(identity_is_neutral_on_both_sides),
        cmocka_unit_test(every_split_point_gives_the_one_pass_counts),
        cmocka_unit_test(every_pair_of_split_points_gives_the_one_pass_counts),
        cmocka_unit_test(merge_is_associative_on_random_splits_of_mixed_input),
        cmocka_unit_test(utf8_decoding_matches_glibc_mbrtowc),
        cmocka_unit_test(counts_equal_upstream_loop_on_random_inputs),
        cmocka_unit_test(kernels_agree_on_random_biased_bytes),
        cmocka_unit_test(counts_equal_installed_gnu_wc_where_91_agrees),
        cmocka_unit_test(generic_multibyte_locale_splits_give_one_pass_counts),
        cmocka_unit_test(single_byte_locale_matches_upstream_loop),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(parts_buf);
    return rc;
}
