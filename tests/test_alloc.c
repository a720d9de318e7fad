/*
 * test_alloc.c -- every allocation of the engine fails in turn.
 *
 * The engine is linked into this program with its malloc, calloc, realloc,
 * strdup and strndup calls wrapped (-Wl,--wrap=...; meson.build).  A run
 * first counts the engine's allocations for a job, then reruns the job
 * failing the Nth one for every N up to one past that count.  Each run
 * must end cleanly: success with the one-pass result (the failure was got
 * over, say by a worker that was replaced), or an error return with a
 * message, and never a crash.  Jobs run in this process, so under the ASan
 * build LeakSanitizer checks that no error path leaks.  Worker processes
 * inherit the counter at fork and count on from there.  The CLI's own
 * allocations (and libc's) are failed by tests/faultinj.c in
 * tests/cli/faults.sh, "alloc.*".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sluice/sluice.h"
#include "harness.h"
#include "util.h"

/* ----------------------------------------------------------- wrapping */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static long calls;   /* engine allocations since the count was reset */
static long fail_at; /* the one to fail; 0: none */
static int failed;   /* it was reached */

static int fail_this(void)
{
    if (++calls != fail_at)
        return 0;
    failed = 1;
    return 1;
}

void *__wrap_malloc(size_t n)
{
    return fail_this() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    return fail_this() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fail_this() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fail_this() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fail_this() ? NULL : __real_strndup(s, n);
}

/* --------------------------------------------------------------- jobs */

/* One job of the summer plugin over `dir` (walked: its .ignore file is
 * read), `jobs` workers, 64 KiB units.  Returns the job's status; *r gets
 * the results and the message, set-up failures included.  r must have room
 * for the inputs (th_record_reserve): its own allocations are counted. */
static int run(const char *dir, int jobs, th_record *r)
{
    const char *paths[] = {dir};
    th_job j = {.plugin = tu_plugin("summer"),
                .opts = {.jobs = jobs, .chunk_size = 64 << 10},
                .paths = paths,
                .npaths = 1,
                .add_flags = SLUICE_ADD_WALK,
                .no_fail = 1};
    return th_run(&j, r);
}

static char tree[512];

/* A tree with an .ignore file, small files (batched) and one of several
 * units. */
static void make_tree(void)
{
    snprintf(tree, sizeof tree, "%s/tree", tu_tmpdir());
    mkdir(tree, 0755);
    char p[700], sub[600];
    snprintf(sub, sizeof sub, "%s/sub", tree);
    mkdir(sub, 0755);
    snprintf(p, sizeof p, "%s/.ignore", tree);
    tu_write(p, "*.skip\n", 7);
    snprintf(p, sizeof p, "%s/x.skip", tree);
    tu_write(p, "ignored\n", 8);
    for (int i = 0; i < 4; i++) {
        char line[64];
        snprintf(line, sizeof line, "file %d: some words here\n", i);
        snprintf(p, sizeof p, "%s/%s%d.txt", i % 2 ? sub : tree, "f", i);
        tu_write(p, line, strlen(line));
    }
    size_t n = 300 << 10;
    char *big = malloc(n);
    assert_non_null(big);
    uint64_t s = 7;
    for (size_t i = 0; i < n; i++)
        big[i] = i % 50 == 49 ? '\n' : (char)('a' + tu_rand(&s) % 26);
    snprintf(p, sizeof p, "%s/big.txt", tree);
    tu_write(p, big, n);
    free(big);
}

static void every_allocation_fails_in_turn(int jobs)
{
    make_tree();
    th_record want = {0}, got = {0};
    th_record_reserve(&want, 16);
    th_record_reserve(&got, 16);
    calls = 0;
    fail_at = 0;
    int rc0 = run(tree, jobs, &want);
    if (rc0 != 0)
        fail_msg("clean run: status %d: %s", rc0, want.err);
    long total = calls;
    assert_true(total > 10);
    assert_int_equal(want.n, 5);
    int errors = 0, overcome = 0;
    for (long n = 1; n <= total + 1; n++) {
        calls = 0;
        fail_at = n;
        failed = 0;
        int rc = run(tree, jobs, &got);
        const char *msg = got.err;
        fail_at = 0;
        if (rc == 0) {
            /* Got over it: every input with the one-pass result. */
            if (got.n != want.n)
                fail_msg("N=%ld: %u inputs reported, want %u", n, got.n,
                         want.n);
            for (uint32_t i = 0; i < want.n; i++)
                if (got.in[i].errnum || got.in[i].c[0] != want.in[i].c[0] ||
                    got.in[i].c[1] != want.in[i].c[1])
                    fail_msg("N=%ld: input %u differs (err %d)", n, i,
                             got.in[i].errnum);
            overcome += failed;
        } else {
            errors++;
            if (!failed)
                fail_msg("N=%ld: status %d without a failure: %s", n, rc, msg);
            if (rc != SLUICE_ENOMEM && rc != SLUICE_EINPUT &&
                rc != SLUICE_EWORKER)
                fail_msg("N=%ld: status %d (%s): %s", n, rc,
                         sluice_strerror(rc), msg);
            if (rc != SLUICE_EINPUT && !msg[0])
                fail_msg("N=%ld: status %d without a message", n, rc);
        }
    }
    if (failed)
        fail_msg("N=%ld still met a failure", total + 1);
    print_message("%ld allocations: %d errors, %d overcome\n", total, errors,
                  overcome);
    assert_true(errors > 0);
    th_record_free(&want);
    th_record_free(&got);
}

static void inline_mode(void **st)
{
    (void)st;
    every_allocation_fails_in_turn(0);
}

static void two_workers(void **st)
{
    (void)st;
    every_allocation_fails_in_turn(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inline_mode),
        cmocka_unit_test(two_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
