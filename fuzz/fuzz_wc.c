/*
 * fuzz/fuzz_wc.c -- chunk-boundary equivalence of `sluice wc` counting.
 *
 * The engine cuts an input anywhere, so the wc plugin's counts must not
 * depend on where (plugins/wc/count.h).  Input layout:
 *   byte 0      bit 0: C.UTF-8 (else C); bits 1..2: association order of
 *               the merge (left fold, right fold, pairwise tree)
 *   byte 1      counter set (WC_WANT bits; 0 is lines, words, bytes)
 *   byte 2      number of cuts (0..15)
 *   2 per cut   cut offsets (little-endian, modulo the data length + 1)
 *   the rest    the data
 * For every kernel the CPU has (scalar, AVX2, AVX-512, and the per-unit
 * loop used for unusual locales), the pieces are counted separately,
 * merged in the chosen order and compared with the one-pass count of the
 * scalar kernel; every kernel's one-pass count must agree too.  Aborts on
 * any difference.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "count.h"
#include "fuzz.h"

#define MAX_CUTS 15
#define N_KERNELS 4
#define KERNEL_UNIT 3 /* scalar kernels with ascii_std cleared */

/* Configurations, built on first use: [utf8][kernel][want]; `tried` says
 * whether the CPU has the kernel (ok). */
static wc_config cfgs[2][N_KERNELS][32];
static unsigned char tried[2][N_KERNELS][32], ok[2][N_KERNELS][32];

static const wc_simd kernel_simd[N_KERNELS] = {WC_SIMD_SCALAR, WC_SIMD_AVX2,
                                               WC_SIMD_AVX512, WC_SIMD_SCALAR};
static const char *const kernel_name[N_KERNELS] = {"scalar", "avx2", "avx512",
                                                   "per-unit"};

static void set_locale(int utf8)
{
    const char *name = utf8 ? "C.UTF-8" : "C";
    if (!setlocale(LC_ALL, name) && !(utf8 && setlocale(LC_ALL, "C.utf8")))
        fuzz_fail("locale %s missing", name);
}

static const wc_config *config(int utf8, int k, unsigned want)
{
    if (!tried[utf8][k][want]) {
        char err[256];
        tried[utf8][k][want] = 1;
        set_locale(utf8);
        if (wc_config_init(&cfgs[utf8][k][want], want, kernel_simd[k], err,
                           sizeof err) == 0) {
            ok[utf8][k][want] = 1;
            if (k == KERNEL_UNIT)
                cfgs[utf8][k][want].ascii_std = 0;
        } else if (k == 0) {
            fuzz_fail("wc_config_init: %s", err);
        }
    }
    return ok[utf8][k][want] ? &cfgs[utf8][k][want] : NULL;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Merges parts[lo..hi) into *out in the order `order` picks. */
static void merge_range(const wc_config *cfg, wc_partial *parts, size_t lo,
                        size_t hi, int order, wc_partial *out)
{
    if (order == 0 || hi - lo < 2) { /* left fold */
        wc_count_init(out);
        for (size_t i = lo; i < hi; i++)
            wc_count_merge(cfg, out, &parts[i]);
    } else if (order == 1) { /* right fold: parts[i] (+) (rest) */
        wc_partial acc;
        acc = parts[hi - 1];
        for (size_t i = hi - 1; i-- > lo;) {
            wc_partial t = parts[i];
            wc_count_merge(cfg, &t, &acc);
            acc = t;
        }
        *out = acc;
    } else { /* pairwise tree */
        size_t mid = lo + (hi - lo) / 2;
        wc_partial *right = malloc(sizeof *right);
        if (!right)
            abort();
        merge_range(cfg, parts, lo, mid, order, out);
        merge_range(cfg, parts, mid, hi, order, right);
        wc_count_merge(cfg, out, right);
        free(right);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unsetenv("POSIXLY_CORRECT");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int utf8 = data[0] & 1;
    int order = (data[0] >> 1) & 3;
    if (order == 3)
        order = 2;
    unsigned want = data[1] & 31;
    size_t ncuts = data[2] % (MAX_CUTS + 1);
    size_t head = 3 + 2 * ncuts;
    if (size < head)
        return 0;
    const unsigned char *d = data + head;
    size_t n = size - head;
    size_t cuts[MAX_CUTS + 2];
    for (size_t i = 0; i < ncuts; i++)
        cuts[i] =
            ((size_t)data[3 + 2 * i] | (size_t)data[4 + 2 * i] << 8) % (n + 1);
    qsort(cuts, ncuts, sizeof cuts[0], cmp_size);
    cuts[ncuts] = n;

    const wc_config *ref_cfg = config(utf8, 0, want);
    set_locale(utf8);
    wc_counts ref;
    wc_count_buffer(ref_cfg, d, n, &ref);

    wc_partial *parts = malloc((ncuts + 1) * sizeof *parts);
    if (!parts)
        abort();
    for (int k = 0; k < N_KERNELS; k++) {
        const wc_config *cfg = config(utf8, k, want);
        if (!cfg)
            continue;
        set_locale(utf8);
        wc_counts one, split;
        wc_count_buffer(cfg, d, n, &one);
        size_t at = 0;
        for (size_t i = 0; i <= ncuts; i++) {
            wc_count_init(&parts[i]);
            /* Two map calls per piece: map must fold onto what it has. */
            size_t len = cuts[i] - at, half = len / 2;
            wc_count_map(cfg, &parts[i], d + at, half);
            wc_count_map(cfg, &parts[i], d + at + half, len - half);
            at = cuts[i];
        }
        wc_partial whole;
        merge_range(cfg, parts, 0, ncuts + 1, order, &whole);
        wc_count_result(cfg, &whole, &split);
        for (int c = 0; c < WC_NCOUNTERS; c++) {
            if (one.v[c] != ref.v[c])
                fuzz_fail("%s locale, want %#x: kernel %s counts %llu for "
                          "counter %d, scalar %llu",
                          utf8 ? "UTF-8" : "C", want, kernel_name[k],
                          (unsigned long long)one.v[c], c,
                          (unsigned long long)ref.v[c]);
            if (split.v[c] != ref.v[c])
                fuzz_fail("%s locale, want %#x, kernel %s, %zu cuts, "
                          "order %d: counter %d is %llu split, %llu whole",
                          utf8 ? "UTF-8" : "C", want, kernel_name[k], ncuts,
                          order, c, (unsigned long long)split.v[c],
                          (unsigned long long)ref.v[c]);
        }
    }
    free(parts);
    return 0;
}
