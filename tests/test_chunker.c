/*
 * test_chunker.c -- record boundaries (sluice_chunker_boundary, chunker.c).
 *
 * Files live in memory behind a reader callback (which can also return
 * short reads or fail).  For random files with assorted newline densities
 * and for many cut points and search limits, every boundary is checked
 * against the definition in internal.h, and the units that consecutive
 * cuts make are checked to tile the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "internal.h"
#include "util.h"

/* An in-memory file. */
typedef struct mem_file {
    const unsigned char *data;
    uint64_t size;
    size_t max_read;   /* at most this many bytes per call (0: no limit) */
    uint64_t fail_at;  /* a read touching this offset fails ... */
    int fail_errno;    /* ... with this errno (0: never) */
    uint64_t calls;    /* reads made */
    uint64_t past_end; /* reads asked to start beyond the file */
} mem_file;

static int64_t mem_read(void *arg, void *buf, size_t n, uint64_t off)
{
    mem_file *f = arg;
    f->calls++;
    if (f->fail_errno && off <= f->fail_at && f->fail_at < off + n)
        return -f->fail_errno;
    if (off > f->size) {
        f->past_end++;
        return 0;
    }
    size_t k = f->size - off < n ? (size_t)(f->size - off) : n;
    if (f->max_read && k > f->max_read)
        k = f->max_read;
    memcpy(buf, f->data + off, k);
    return (int64_t)k;
}

/* A random file of `size` bytes whose lines average `line` bytes (0: no
 * newline at all). */
static unsigned char *random_file(uint64_t *rs, size_t size, uint64_t line)
{
    unsigned char *d = malloc(size ? size : 1);
    assert_non_null(d);
    for (size_t i = 0; i < size; i++) {
        uint64_t r = tu_rand(rs);
        d[i] = line && r % line == 0 ? '\n' : (unsigned char)('a' + r % 26);
    }
    return d;
}

/* Checks boundary b for cut `at` against the definition. */
static void check_boundary(const unsigned char *d, uint64_t size, uint64_t at,
                           uint64_t limit, int64_t b)
{
    if (at == 0 || at == size) {
        assert_int_equal(b, (int64_t)at);
        return;
    }
    uint64_t lo = at - 1;
    uint64_t hi = limit > size - lo ? size : lo + limit; /* window [lo, hi) */
    const unsigned char *nl = memchr(d + lo, '\n', (size_t)(hi - lo));
    if (nl) {
        /* Just after the first newline of the window. */
        assert_int_equal(b, (int64_t)(nl - d) + 1);
        assert_in_range(b, at, hi);
        assert_int_equal(d[b - 1], '\n');
    } else {
        /* No newline: the cut stays where it is. */
        assert_int_equal(b, (int64_t)at);
    }
}

static const uint64_t limits[] = {1, 2, 3, 8, 100, 4095, 4096, 4097, 9000};
static const uint64_t lines[] = {0, 1, 2, 10, 80, 1000, 5000, 100000};

/* --------------------------------------------------------------- tests */

static void boundaries_follow_the_first_newline_in_the_window(void **st)
{
    (void)st;
    uint64_t rs = 2024;
    for (int iter = 0; iter < 120; iter++) {
        uint64_t line = lines[(size_t)iter % (sizeof lines / sizeof lines[0])];
        size_t size = (size_t)(tu_rand(&rs) % (iter % 3 == 0 ? 40 : 20000));
        unsigned char *d = random_file(&rs, size, line);
        mem_file f = {.data = d, .size = size};
        for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
            /* Every cut of small files, a random sample of large ones. */
            size_t ncuts = size < 64 ? size + 1 : 200;
            for (size_t c = 0; c < ncuts; c++) {
                uint64_t at = size < 64 ? c
                              : c == 0  ? 0
                              : c == 1  ? size
                                        : tu_rand(&rs) % (size + 1);
                int64_t b =
                    sluice_chunker_boundary(mem_read, &f, at, size, limits[li]);
                check_boundary(d, size, at, limits[li], b);
            }
        }
        assert_int_equal(f.past_end, 0); /* never reads beyond the file */
        free(d);
    }
}

static void boundaries_do_not_depend_on_how_reads_are_split(void **st)
{
    (void)st;
    uint64_t rs = 31;
    for (int iter = 0; iter < 40; iter++) {
        size_t size = 1 + (size_t)(tu_rand(&rs) % 30000);
        unsigned char *d = random_file(&rs, size, iter % 2 ? 3000 : 20000);
        mem_file whole = {.data = d, .size = size};
        mem_file bits = {.data = d, .size = size, .max_read = 1 + (size_t)iter};
        for (int c = 0; c < 100; c++) {
            uint64_t at = tu_rand(&rs) % (size + 1);
            uint64_t limit = 1 + tu_rand(&rs) % 12000;
            int64_t a =
                sluice_chunker_boundary(mem_read, &whole, at, size, limit);
            int64_t b =
                sluice_chunker_boundary(mem_read, &bits, at, size, limit);
            assert_int_equal(a, b);
            check_boundary(d, size, at, limit, b);
        }
        free(d);
    }
}

static void a_newline_just_before_the_cut_keeps_the_cut(void **st)
{
    (void)st;
    /* "abc\ndef\n": a cut right after a newline is already a boundary; a
     * cut one byte later moves to the next line end. */
    const unsigned char d[] = "abc\ndef\nghi";
    mem_file f = {.data = d, .size = 11};
    assert_int_equal(sluice_chunker_boundary(mem_read, &f, 4, 11, 100), 4);
    assert_int_equal(sluice_chunker_boundary(mem_read, &f, 5, 11, 100), 8);
    assert_int_equal(sluice_chunker_boundary(mem_read, &f, 8, 11, 100), 8);
    /* Past the last newline there is none in the window: stays. */
    assert_int_equal(sluice_chunker_boundary(mem_read, &f, 9, 11, 100), 9);
    /* Window too short to reach the newline: stays. */
    assert_int_equal(sluice_chunker_boundary(mem_read, &f, 5, 11, 3), 5);
    assert_int_equal(sluice_chunker_boundary(mem_read, &f, 5, 11, 4), 8);
    /* The ends are their own boundaries, even without reading. */
    f.calls = 0;
    assert_int_equal(sluice_chunker_boundary(mem_read, &f, 0, 11, 100), 0);
    assert_int_equal(sluice_chunker_boundary(mem_read, &f, 11, 11, 100), 11);
    assert_int_equal(f.calls, 0);
}

/* Units from cuts 0, L, 2L, ... (below size) and size, as the planner
 * makes them (plan.c) and the workers align them (worker.c): boundaries are
 * non-decreasing and every unit is non-empty, except that the last one is
 * empty exactly when the last cut's window reaches the end of the file and
 * its first newline is the file's final byte (the unit before it then ends
 * at `size`; the worker runs the empty unit as a zero-length block). */
static void units_tile_the_file_and_only_the_last_can_be_empty(void **st)
{
    (void)st;
    uint64_t rs = 99;
    int empty_last = 0;
    for (int iter = 0; iter < 400; iter++) {
        uint64_t line = lines[(size_t)iter % (sizeof lines / sizeof lines[0])];
        size_t size = 1 + (size_t)(tu_rand(&rs) % 20000);
        unsigned char *d = random_file(&rs, size, line);
        if (iter % 5 == 0)
            d[size - 1] = '\n'; /* files usually end with a newline */
        mem_file f = {.data = d, .size = size};
        uint64_t limit = 1 + tu_rand(&rs) % (iter % 2 ? 64 : 5000);
        int64_t prev = 0;
        uint64_t prev_cut = 0;
        for (uint64_t k = 1;; k++) {
            uint64_t cut = k * limit < size ? k * limit : size;
            int64_t b = sluice_chunker_boundary(mem_read, &f, cut, size, limit);
            assert_in_range(b, 0, size);
            if (b < prev)
                fail_msg("boundary went back: %lld after %lld", (long long)b,
                         (long long)prev);
            if (b == prev) {
                /* Only the last unit, only in the case described above. */
                const unsigned char *nl =
                    prev_cut == 0
                        ? NULL
                        : memchr(d + prev_cut - 1, '\n', size - (prev_cut - 1));
                if (cut != size || nl != d + size - 1)
                    fail_msg("empty unit [%lld, %lld): size %zu, limit %llu, "
                             "cut %llu",
                             (long long)prev, (long long)b, size,
                             (unsigned long long)limit,
                             (unsigned long long)cut);
                empty_last++;
            }
            prev = b;
            prev_cut = cut;
            if (cut == size)
                break;
        }
        assert_int_equal(prev, (int64_t)size);
        free(d);
    }
    assert_true(empty_last > 0); /* the special case was exercised */
}

static void a_read_error_is_returned_as_negative_errno(void **st)
{
    (void)st;
    unsigned char d[10000];
    memset(d, 'x', sizeof d);
    d[9000] = '\n';
    const int errs[] = {EIO, EACCES, ESTALE};
    for (size_t i = 0; i < 3; i++) {
        /* Failing in the first read and in a later one (the window is
         * scanned in several reads). */
        mem_file f = {
            .data = d, .size = sizeof d, .fail_at = 100, .fail_errno = errs[i]};
        assert_int_equal(
            sluice_chunker_boundary(mem_read, &f, 100, sizeof d, 9500),
            -errs[i]);
        f.fail_at = 8000;
        assert_int_equal(
            sluice_chunker_boundary(mem_read, &f, 100, sizeof d, 9500),
            -errs[i]);
        /* Bytes beyond the window [99, 9599) are never read. */
        f.fail_at = 9700;
        assert_int_equal(
            sluice_chunker_boundary(mem_read, &f, 100, sizeof d, 9500), 9001);
    }
}

static void a_file_shorter_than_planned_keeps_the_cut(void **st)
{
    (void)st;
    /* The reader hits EOF before the window ends (the file shrank after
     * planning): no newline was seen, so the cut stays. */
    unsigned char d[100];
    memset(d, 'x', sizeof d);
    mem_file f = {.data = d, .size = 50};
    assert_int_equal(sluice_chunker_boundary(mem_read, &f, 40, 100, 1000), 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(boundaries_follow_the_first_newline_in_the_window),
        cmocka_unit_test(boundaries_do_not_depend_on_how_reads_are_split),
        cmocka_unit_test(a_newline_just_before_the_cut_keeps_the_cut),
        cmocka_unit_test(units_tile_the_file_and_only_the_last_can_be_empty),
        cmocka_unit_test(a_read_error_is_returned_as_negative_errno),
        cmocka_unit_test(a_file_shorter_than_planned_keeps_the_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
