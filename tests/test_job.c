/*
 * test_job.c -- the engine end to end: planning, workers, gathering.
 *
 * Uses the test plugins: summer (order-sensitive hash: exactly once, in
 * order), ordered (ordered output and record boundaries) and crash.  Every
 * parallel run is compared with a one-pass computation in the test itself
 * and with the inline run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sluice/sluice.h"
#include "harness.h"
#include "util.h"

#define HASH_B 1099511628211ULL

static char *slurp(const char *path);

static uint64_t hash_of(const unsigned char *p, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = h * HASH_B + p[i];
    return h;
}

/* Runs plugin `name` over paths (walked) with the given options; returns
 * the run's status, err its message. */
static int run(const char *name, const char *const *paths, int npaths, int jobs,
               size_t chunk, const char *const *kv, th_record *r, char *err,
               size_t errlen)
{
    th_job j = {.plugin = tu_plugin(name),
                .options = kv,
                .opts = {.jobs = jobs, .chunk_size = chunk},
                .paths = paths,
                .npaths = npaths,
                .add_flags = SLUICE_ADD_WALK};
    int rc = th_run(&j, r);
    size_t n = strnlen(r->err, errlen - 1);
    memcpy(err, r->err, n);
    err[n] = '\0';
    return rc;
}

/* Makes n files of assorted sizes (some larger than the chunk). */
static void make_files(const char *dir, int n, size_t *sizes, char **paths,
                       unsigned char **data, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < n; i++) {
        size_t len;
        switch (i % 4) {
        case 0:
            len = 0;
            break;
        case 1:
            len = tu_rand(&s) % 300;
            break;
        case 2:
            len = tu_rand(&s) % 70000;
            break;
        default:
            len = 100000 + tu_rand(&s) % 400000;
            break;
        }
        data[i] = malloc(len + 1);
        for (size_t k = 0; k < len; k++) {
            uint64_t v = tu_rand(&s) % 40;
            data[i][k] = v < 3 ? '\n' : (unsigned char)('a' + v % 26);
        }
        sizes[i] = len;
        paths[i] = malloc(strlen(dir) + 32);
        sprintf(paths[i], "%s/f%03d", dir, i);
        tu_write(paths[i], data[i], len);
    }
}

static void every_worker_count_and_chunk_gives_the_one_pass_result(void **st)
{
    (void)st;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/merge", tu_tmpdir());
    mkdir(dir, 0755);
    enum { N = 13 };
    size_t sizes[N];
    char *paths[N];
    unsigned char *data[N];
    make_files(dir, N, sizes, paths, data, 42);
    const int jobs[] = {0, 1, 2, 4};
    const size_t chunks[] = {1, 7, 4096, 65536, 0};
    for (size_t ji = 0; ji < 4; ji++) {
        for (size_t ci = 0; ci < 5; ci++) {
            th_record r = {0};
            char err[512];
            int rc = run("summer", (const char *const *)paths, N, jobs[ji],
                         chunks[ci] == 1 ? 61 : chunks[ci], NULL, &r, err,
                         sizeof err);
            assert_int_equal(rc, 0);
            assert_int_equal(r.n, N);
            for (uint32_t i = 0; i < N; i++) {
                assert_int_equal(r.order[i], i);
                assert_true(r.in[i].has_partial);
                assert_int_equal(r.in[i].c[0], sizes[i]);
                assert_true(r.in[i].c[1] == hash_of(data[i], sizes[i]));
            }
            th_record_free(&r);
        }
    }
    for (int i = 0; i < N; i++) {
        free(paths[i]);
        free(data[i]);
    }
}

static void a_walked_tree_is_reported_in_sorted_order(void **st)
{
    (void)st;
    char dir[512], p[600];
    snprintf(dir, sizeof dir, "%s/tree", tu_tmpdir());
    mkdir(dir, 0755);
    const char *names[] = {"b", "a", "c/z", "c/a", ".git/x", "a-b"};
    snprintf(p, sizeof p, "%s/c", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/.git", dir);
    mkdir(p, 0755);
    for (size_t i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        tu_write(p, names[i], strlen(names[i]));
    }
    snprintf(p, sizeof p, "%s/link", dir);
    assert_int_equal(symlink("a", p), 0);

    sluice_plugin_handle *h;
    char e[512];
    assert_int_equal(
        sluice_plugin_open(tu_plugin("summer"), NULL, &h, e, sizeof e), 0);
    sluice_job *job;
    assert_int_equal(sluice_job_new(h, NULL, NULL, &job, e, sizeof e), 0);
    assert_int_equal(sluice_job_add(job, dir, SLUICE_ADD_WALK), 0);
    /* The walk happens as the job runs: until then the directory is one
     * input standing for what it holds. */
    assert_int_equal(sluice_job_inputs(job), 1);
    assert_false(sluice_job_inputs_final(job));
    assert_int_equal(sluice_job_run(job, e, sizeof e), 0);
    assert_true(sluice_job_inputs_final(job));
    const char *want[] = {"a", "a-b", "b", "c/a", "c/z"};
    assert_int_equal(sluice_job_inputs(job), 5);
    for (uint32_t i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, want[i]);
        assert_string_equal(sluice_job_input(job, i)->path, p);
        assert_true(sluice_job_input(job, i)->stat_ok);
    }
    sluice_job_free(job);
    sluice_plugin_close(h);
}

typedef struct walk_probe {
    sluice_job *job;
    uint32_t calls;
    uint32_t before_final; /* results delivered while the walk went on */
    uint32_t last;
} walk_probe;

static void probe_input(void *user, uint32_t i, const sluice_input *in,
                        const void *partial, int errnum, uint64_t offset,
                        const char *message)
{
    (void)in;
    (void)partial;
    (void)offset;
    (void)message;
    walk_probe *p = user;
    assert_int_equal(errnum, 0);
    assert_int_equal(i, p->calls); /* in order, none missed */
    p->calls++;
    if (!sluice_job_inputs_final(p->job))
        p->before_final++;
}

static void a_walk_runs_while_results_arrive(void **st)
{
    (void)st;
    /* 40 directories of 100 files: far more than one walk step. */
    char dir[512], p[600];
    snprintf(dir, sizeof dir, "%s/bigwalk", tu_tmpdir());
    mkdir(dir, 0755);
    for (int d = 0; d < 40; d++) {
        snprintf(p, sizeof p, "%s/d%02d", dir, d);
        mkdir(p, 0755);
        for (int f = 0; f < 100; f++) {
            snprintf(p, sizeof p, "%s/d%02d/f%03d", dir, d, f);
            tu_write(p, "x\n", 2);
        }
    }
    for (int jobs = 0; jobs <= 2; jobs += 2) {
        sluice_plugin_handle *h;
        char e[512];
        assert_int_equal(
            sluice_plugin_open(tu_plugin("summer"), NULL, &h, e, sizeof e), 0);
        walk_probe probe = {0};
        sluice_callbacks cb = {.user = &probe, .on_input = probe_input};
        sluice_job_opts o = {.jobs = jobs};
        sluice_job *job;
        assert_int_equal(sluice_job_new(h, &o, &cb, &job, e, sizeof e), 0);
        probe.job = job;
        assert_int_equal(sluice_job_add(job, dir, SLUICE_ADD_WALK), 0);
        assert_int_equal(sluice_job_run(job, e, sizeof e), 0);
        assert_int_equal(probe.calls, 4000);
        assert_int_equal(sluice_job_inputs(job), 4000);
        /* Inline, results came while the walk still had directories to
         * read: it is not a phase before the work.  (With workers the
         * coordinator walks while they count the units it sent, and
         * gathers once their credits are used up: for a tree this small
         * the walk is over by then.) */
        if (jobs == 0) {
            assert_in_range(probe.before_final, 1, 4000 - 1);
        }
        snprintf(p, sizeof p, "%s/d39/f099", dir);
        assert_string_equal(sluice_job_input(job, 3999)->path, p);
        sluice_job_free(job);
        sluice_plugin_close(h);
    }
}

static void missing_inputs_are_reported_in_order_and_the_rest_counted(void **st)
{
    (void)st;
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/present", tu_tmpdir());
    snprintf(b, sizeof b, "%s/absent", tu_tmpdir());
    tu_write(a, "hello\n", 6);
    const char *paths[] = {b, a, b};
    for (int j = 0; j <= 2; j++) {
        th_record r = {0};
        char err[512];
        int rc = run("summer", paths, 3, j, 0, NULL, &r, err, sizeof err);
        assert_int_equal(rc, SLUICE_EINPUT);
        assert_int_equal(r.n, 3);
        assert_int_equal(r.order[0], 0);
        assert_int_equal(r.order[1], 1);
        assert_int_equal(r.order[2], 2);
        assert_int_equal(r.in[0].errnum, 2 /* ENOENT */);
        assert_int_equal(r.in[1].errnum, 0);
        assert_int_equal(r.in[1].c[0], 6);
        assert_int_equal(r.in[2].errnum, 2);
        assert_false(r.in[0].has_partial);
        th_record_free(&r);
    }
}

static void ordered_output_is_in_order_with_no_gaps(void **st)
{
    (void)st;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ordered", tu_tmpdir());
    mkdir(dir, 0755);
    enum { N = 9 };
    size_t sizes[N];
    char *paths[N];
    unsigned char *data[N];
    make_files(dir, N, sizes, paths, data, 7);
    size_t total = 0;
    for (int i = 0; i < N; i++)
        total += sizes[i];
    char *want = malloc(total + 4);
    size_t w = 0;
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            want[w++] =
                (char)(data[i][k] >= 'a' && data[i][k] <= 'z' ? data[i][k] - 32
                                                              : data[i][k]);
    memcpy(want + w, "END\n", 4);
    const char *kv[] = {"piece", "1000", NULL};
    const int jobs[] = {0, 1, 3};
    const size_t chunks[] = {4096, 50000, 0};
    for (size_t ji = 0; ji < 3; ji++)
        for (size_t ci = 0; ci < 3; ci++) {
            th_record r = {0};
            char err[512];
            assert_int_equal(run("ordered", (const char *const *)paths, N,
                                 jobs[ji], chunks[ci], kv, &r, err, sizeof err),
                             0);
            assert_int_equal(r.out_len, total + 4);
            assert_memory_equal(r.out, want, total + 4);
            /* Each input's bytes are reported as that input's; finish's
             * as the job's (input number N). */
            for (int i = 0; i < N; i++)
                assert_int_equal(r.in[i].out_len, sizes[i]);
            assert_int_equal(r.in[N].out_len, 4);
            th_record_free(&r);
        }
    free(want);
    for (int i = 0; i < N; i++) {
        free(paths[i]);
        free(data[i]);
    }
}

static void record_units_start_at_line_starts(void **st)
{
    (void)st;
    /* Lines of varied length, one longer than a unit. */
    size_t n = 300000;
    unsigned char *d = malloc(n);
    uint64_t s = 99;
    for (size_t i = 0; i < n; i++)
        d[i] = (tu_rand(&s) % 50 == 0) ? '\n' : 'x';
    memset(d + 100000, 'y', 20000); /* a line longer than 8192 */
    char path[512];
    snprintf(path, sizeof path, "%s/records", tu_tmpdir());
    tu_write(path, d, n);
    const char *paths[] = {path};
    const char *kv[] = {"mark", "true", NULL};
    th_record r = {0};
    char err[512];
    assert_int_equal(run("ordered", paths, 1, 2, 8192, kv, &r, err, sizeof err),
                     0);
    size_t marks = 0, forced = 0, k = 0;
    assert_true(r.out_len > 4);
    assert_memory_equal(r.out + r.out_len - 4, "END\n", 4);
    for (size_t i = 0; i < r.out_len - 4; i++) {
        if (r.out[i] == '<') {
            marks++;
            if (i > 0 && r.out[i - 1] != '\n') {
                /* Only allowed inside the over-long line. */
                assert_in_range(k, 100000, 120000 - 1);
                forced++;
            }
            continue;
        }
        assert_int_equal(r.out[i], d[k] == 'x'   ? 'X'
                                   : d[k] == 'y' ? 'Y'
                                                 : d[k]);
        k++;
    }
    assert_int_equal(k, n);
    assert_true(marks > 30);
    assert_true(forced >= 1);
    th_record_free(&r);
    free(d);
}

static void
a_worker_that_dies_once_is_replaced_and_nothing_counts_twice(void **st)
{
    (void)st;
    char path[512], marker[512];
    snprintf(path, sizeof path, "%s/crashonce", tu_tmpdir());
    snprintf(marker, sizeof marker, "%s/crashonce.marker", tu_tmpdir());
    size_t n = 2000000;
    unsigned char *d = malloc(n);
    uint64_t s = 5;
    for (size_t i = 0; i < n; i++)
        d[i] = (unsigned char)('a' + tu_rand(&s) % 26);
    d[1500000] = '!';
    tu_write(path, d, n);
    const char *paths[] = {path};
    const char *kv[] = {"crash_marker", marker, NULL};
    th_record r = {0};
    char err[512];
    int rc = run("summer", paths, 1, 2, 65536, kv, &r, err, sizeof err);
    assert_int_equal(rc, 0);
    char *m = slurp(marker);
    assert_non_null(m);
    assert_string_equal(m, "1"); /* it did crash */
    free(m);
    assert_int_equal(r.in[0].c[0], n);
    assert_true(r.in[0].c[1] == hash_of(d, n));
    free(d);
    th_record_free(&r);
}

static void a_unit_that_kills_its_worker_twice_fails_the_job_by_name(void **st)
{
    (void)st;
    char path[512];
    snprintf(path, sizeof path, "%s/poison", tu_tmpdir());
    size_t n = 300000;
    unsigned char *d = malloc(n);
    memset(d, 'a', n);
    d[200000] = '!';
    tu_write(path, d, n);
    const char *paths[] = {path};
    const char *kv[] = {"crash_always", "true", NULL};
    th_record r = {0};
    char err[512];
    int rc = run("summer", paths, 1, 2, 65536, kv, &r, err, sizeof err);
    assert_int_equal(rc, SLUICE_EWORKER);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: bytes 196608-262144: worker process died twice (signal 9, "
             "SIGKILL) while plugin summer processed it",
             path);
    assert_string_equal(err, want);
    free(d);
    th_record_free(&r);
}

static void a_failing_worker_init_fails_the_job_without_hanging(void **st)
{
    (void)st;
    char path[512];
    snprintf(path, sizeof path, "%s/x", tu_tmpdir());
    tu_write(path, "x\n", 2);
    const char *paths[] = {path};
    th_record r = {0};
    char err[512];
    int rc = run("crash", paths, 1, 2, 0, NULL, &r, err, sizeof err);
    assert_int_equal(rc, SLUICE_EWORKER);
    assert_string_equal(err, "plugin crash: worker initialisation failed");
    th_record_free(&r);
}

/* Runs plugin `name` over stdin fed with d[0..n) through a pipe by a child
 * process, with `jobs` workers. */
static int run_on_pipe(const char *name, const unsigned char *d, size_t n,
                       int jobs, th_record *r, char *err, size_t errlen)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(fds[1], d + off, n - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    int saved = dup(0);
    dup2(fds[0], 0);
    close(fds[0]);
    const char *paths[] = {"-"};
    int rc = run(name, paths, 1, jobs, 0, NULL, r, err, errlen);
    dup2(saved, 0);
    close(saved);
    waitpid(pid, NULL, 0);
    return rc;
}

static void stdin_pipe_is_read_as_a_stream(void **st)
{
    (void)st;
    size_t n = 3000000;
    unsigned char *d = malloc(n);
    uint64_t s = 11;
    for (size_t i = 0; i < n; i++)
        d[i] = (unsigned char)tu_rand(&s);
    th_record r = {0};
    char err[512];
    int rc = run_on_pipe("summer", d, n, 2, &r, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(r.in[0].c[0], n);
    assert_true(r.in[0].c[1] == hash_of(d, n));
    free(d);
    th_record_free(&r);
}

static void large_ranges_are_mapped_and_give_the_one_pass_result(void **st)
{
    (void)st;
    char path[512];
    snprintf(path, sizeof path, "%s/large", tu_tmpdir());
    size_t n = 9 * 1000 * 1000 + 123; /* not a multiple of any page */
    unsigned char *d = malloc(n);
    uint64_t s = 17;
    for (size_t i = 0; i < n; i++)
        d[i] = (unsigned char)tu_rand(&s);
    tu_write(path, d, n);
    const char *paths[] = {path};
    const size_t chunks[] = {1 << 20, (2 << 20) + 4097, 0};
    for (int j = 0; j <= 2; j++)
        for (size_t ci = 0; ci < 3; ci++) {
            th_record r = {0};
            char err[512];
            assert_int_equal(run("summer", paths, 1, j, chunks[ci], NULL, &r,
                                 err, sizeof err),
                             0);
            assert_int_equal(r.in[0].c[0], n);
            assert_true(r.in[0].c[1] == hash_of(d, n));
            th_record_free(&r);
        }
    free(d);
}

static void a_file_that_shrinks_while_read_is_reported_not_fatal(void **st)
{
    (void)st;
    char path[512], other[512];
    snprintf(path, sizeof path, "%s/shrinking", tu_tmpdir());
    snprintf(other, sizeof other, "%s/after", tu_tmpdir());
    tu_write(other, "after\n", 6);
    size_t n = 8 << 20;
    unsigned char *d = calloc(1, n);
    for (int j = 0; j <= 2; j++) {
        tu_write(path, d, n);
        const char *paths[] = {path, other};
        const char *kv[] = {"shrink_path", path, NULL};
        th_record r = {0};
        char err[512];
        int rc = run("summer", paths, 2, j, 4 << 20, kv, &r, err, sizeof err);
        assert_int_equal(rc, SLUICE_EINPUT);
        assert_int_equal(r.n, 2);
        assert_int_not_equal(r.in[0].errnum, 0);
        assert_int_equal(r.in[1].errnum, 0);
        assert_int_equal(r.in[1].c[0], 6);
        th_record_free(&r);
    }
    free(d);
}

/* Runs summer over `paths` with option key=mutate_path (the plugin changes
 * that file in its first map call at offset 0) with 0, 1 and 2 workers;
 * each time input `bad` (or none: -1) must fail with "file changed as we
 * read it" and every other input succeed. */
static void changed_case(const char *const *paths, size_t n, size_t big,
                         const char *key, const char *mutate_path, int bad)
{
    for (int j = 0; j <= 2; j++) {
        /* Fresh files each time: the plugin changed them. */
        for (size_t i = 0; i < n; i++) {
            if (i == 0 && big) {
                unsigned char *d = calloc(1, big);
                tu_write(paths[i], d, big);
                free(d);
            } else {
                tu_write(paths[i], "some bytes\n", 11);
            }
        }
        const char *kv[] = {key, mutate_path, NULL};
        th_record r = {0};
        memset(&r, 0, sizeof r);
        char err[512];
        int rc =
            run("summer", paths, (int)n, j, 4 << 20, kv, &r, err, sizeof err);
        assert_int_equal(rc, bad >= 0 ? SLUICE_EINPUT : 0);
        assert_int_equal(r.n, n);
        for (size_t i = 0; i < n; i++) {
            if ((int)i == bad)
                assert_string_equal(r.in[i].msg, "file changed as we read it");
            else
                assert_string_equal(r.in[i].msg, "");
        }
        th_record_free(&r);
    }
}

static void a_file_that_changes_while_read_is_reported(void **st)
{
    (void)st;
    char big[512], small[512], other[512], unrelated[512];
    snprintf(big, sizeof big, "%s/growing", tu_tmpdir());
    snprintf(small, sizeof small, "%s/small", tu_tmpdir());
    snprintf(other, sizeof other, "%s/other", tu_tmpdir());
    snprintf(unrelated, sizeof unrelated, "%s/unrelated", tu_tmpdir());
    tu_write(unrelated, "x", 1);
    /* Appended to while its ranges are read (size). */
    const char *ranges[] = {big, other};
    changed_case(ranges, 2, 9 << 20, "append_path", big, 0);
    /* A small file read whole: appended to (size), or its modification
     * time set back (mtime alone). */
    const char *whole[] = {small, other};
    changed_case(whole, 2, 0, "append_path", small, 0);
    changed_case(whole, 2, 0, "touch_path", small, 0);
    /* Another file renamed over the name of the next input before it is
     * opened: same size and mtime, another inode. */
    changed_case(whole, 2, 0, "replace_path", other, 1);
    /* A change to a file that is no input is none of the job's business. */
    changed_case(whole, 2, 0, "append_path", unrelated, -1);
}

/* Reads a whole file into a NUL-terminated buffer (NULL on failure). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    return b;
}

static void the_documented_example_plugin_works_and_matches_the_docs(void **st)
{
    (void)st;
    /* The tutorial's code block is the test plugin, after its comment. */
    char path[1024];
    const char *src = getenv("SLUICE_SOURCE_ROOT");
    assert_non_null(src);
    snprintf(path, sizeof path, "%s/docs/plugins.md", src);
    char *doc = slurp(path);
    snprintf(path, sizeof path, "%s/tests/plugins/lines.c", src);
    char *code = slurp(path);
    assert_non_null(doc);
    assert_non_null(code);
    char *block = strstr(doc, "```c\n");
    assert_non_null(block);
    block += 5;
    char *end = strstr(block, "```\n");
    assert_non_null(end);
    *end = '\0';
    char *body = strstr(code, "*/\n");
    assert_non_null(body);
    assert_string_equal(body + 3, block);
    free(doc);
    free(code);

    /* And it counts lines, split anywhere, with workers. */
    char data[512];
    snprintf(data, sizeof data, "%s/lines-input", tu_tmpdir());
    size_t n = 100000, lines = 0;
    unsigned char *d = malloc(n);
    uint64_t s = 3;
    for (size_t i = 0; i < n; i++) {
        d[i] = tu_rand(&s) % 7 ? 'x' : '\n';
        lines += d[i] == '\n';
    }
    tu_write(data, d, n);
    const char *paths[] = {data};
    th_record r = {0};
    char err[512];
    assert_int_equal(run("lines", paths, 1, 2, 4099, NULL, &r, err, sizeof err),
                     0);
    assert_int_equal(r.in[0].c[0], lines); /* first counter: lines */
    free(d);
    th_record_free(&r);
}

/* Peak RSS (KiB) of a process that runs the noop plugin over a sparse file
 * of `gib` GiB with 2 workers, and of its workers; -1 on failure. */
static int peak_rss(const char *noop, int gib, long *self_kib, long *kids_kib)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sparse%d", tu_tmpdir(), gib);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)gib << 30) != 0)
        return -1;
    close(fd);
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        const char *paths[] = {path};
        th_job j = {.plugin = noop,
                    .opts = {.jobs = 2},
                    .paths = paths,
                    .npaths = 1,
                    .no_fail = 1};
        th_record r = {0};
        int rc = th_run(&j, &r);
        if (rc || r.in[0].c[0] != ((uint64_t)gib << 30))
            _exit(12);
        struct rusage self, kids;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &kids);
        long v[2] = {self.ru_maxrss, kids.ru_maxrss};
        if (write(pfd[1], v, sizeof v) != sizeof v)
            _exit(13);
        _exit(0);
    }
    close(pfd[1]);
    long v[2] = {0, 0};
    ssize_t n = read(pfd[0], v, sizeof v);
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    unlink(path);
    if (n != sizeof v || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    *self_kib = v[0];
    *kids_kib = v[1];
    return 0;
}

static void memory_does_not_grow_with_input_size(void **st)
{
    (void)st;
    /* The noop plugin (bytes only) keeps this about the engine's cost. */
    char noop[1024];
    snprintf(noop, sizeof noop, "%s/plugins/noop/noop.so", tu_build_root());
    long self1, kids1, self10, kids10;
    assert_int_equal(peak_rss(noop, 1, &self1, &kids1), 0);
    assert_int_equal(peak_rss(noop, 10, &self10, &kids10), 0);
    print_message("peak RSS KiB: 1 GiB: coordinator %ld, workers %ld; "
                  "10 GiB: coordinator %ld, workers %ld\n",
                  self1, kids1, self10, kids10);
    /* Ten times the input, the same memory (a few MiB of noise). */
    assert_true(self10 - self1 < 8 * 1024);
    assert_true(kids10 - kids1 < 8 * 1024);
#if !defined(__SANITIZE_ADDRESS__)
    /* And small in absolute terms (sanitizers add their own). */
    assert_true(self10 < 64 * 1024);
    assert_true(kids10 < 64 * 1024);
#endif
}

/* ----------------------------------------- boundary hook and lookbehind */

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

/* Frames of random sizes (see tests/plugins/framed.c); with tail_at, an
 * unframed tail starts at the first frame boundary past it.  Writes the
 * frame offsets (ends included) into bounds. */
static unsigned char *make_frames(size_t n, uint64_t seed, size_t tail_at,
                                  uint64_t *bounds, size_t *nb,
                                  size_t *tail_off)
{
    unsigned char *d = malloc(n);
    uint64_t s = seed;
    size_t pos = 0;
    *nb = 0;
    *tail_off = SIZE_MAX;
    while (pos + 4 < n) {
        bounds[(*nb)++] = pos;
        size_t len = 1 + tu_rand(&s) % 300000;
        if (pos + 4 + len > n)
            len = n - pos - 4;
        uint32_t l = (uint32_t)len;
        if (tail_at && pos >= tail_at) {
            l = 0xffffffffu;
            len = n - pos - 4;
            *tail_off = pos;
        }
        d[pos] = (unsigned char)l;
        d[pos + 1] = (unsigned char)(l >> 8);
        d[pos + 2] = (unsigned char)(l >> 16);
        d[pos + 3] = (unsigned char)(l >> 24);
        for (size_t i = 0; i < len; i++)
            d[pos + 4 + i] = (unsigned char)tu_rand(&s);
        pos += 4 + len;
        if (l == 0xffffffffu)
            break;
    }
    bounds[(*nb)++] = n;
    return d;
}

/* Checks the framed plugin's lines against the input (offsets increase
 * from 0, each on one of the nb bounds unless bounds is NULL, lookbehind
 * bytes exact); returns the number of units (at most 256) and stores the
 * worker of each, whether it continued, and its offset. */
static size_t check_units(const char *out, size_t out_len,
                          const unsigned char *d, const uint64_t *bounds,
                          size_t nb, int *workers, int *conts, uint64_t *offs)
{
    size_t units = 0;
    const char *p = out, *end = out + out_len;
    uint64_t prev = 0;
    while (p < end) {
        unsigned long long off, h;
        int worker, cont;
        size_t blen;
        assert_int_equal(
            sscanf(p, "U %llu %d %d %zu %llu", &off, &worker, &cont, &blen, &h),
            5);
        if (units == 0)
            assert_int_equal(off, 0);
        else
            assert_true(off > prev);
        prev = off;
        int on_bound = bounds == NULL;
        for (size_t i = 0; i < nb; i++)
            on_bound |= bounds[i] == off;
        assert_true(on_bound);
        assert_true(units < 256);
        size_t want = off < 1000 ? (size_t)off : 1000;
        assert_int_equal(blen, want);
        assert_true(h == fnv(d + off - want, want));
        workers[units] = worker;
        conts[units] = cont;
        offs[units] = off;
        units++;
        p = (const char *)memchr(p, '\n', (size_t)(end - p)) + 1;
    }
    return units;
}

static void a_boundary_hook_keeps_units_on_frames_with_lookbehind(void **st)
{
    (void)st;
    size_t n = 9 * 1000 * 1000;
    uint64_t bounds[4096];
    size_t nb, tail;
    unsigned char *d = make_frames(n, 5, 6000000, bounds, &nb, &tail);
    assert_true(tail != SIZE_MAX);
    char path[512];
    snprintf(path, sizeof path, "%s/framed", tu_tmpdir());
    tu_write(path, d, n);
    const char *paths[] = {path};
    const int jobs[] = {0, 2};
    for (int ji = 0; ji < 2; ji++) {
        th_record r = {0};
        char err[512];
        assert_int_equal(run("framed", paths, 1, jobs[ji], (size_t)1 << 20,
                             NULL, &r, err, sizeof err),
                         0);
        int workers[256], conts[256];
        uint64_t offs[256];
        size_t units =
            check_units(r.out, r.out_len, d, bounds, nb, workers, conts, offs);
        /* About one unit per MiB of frames, then the tail in one unit. */
        assert_true(units >= 5);
        assert_true(offs[units - 1] == tail);
        th_record_free(&r);
    }
    free(d);
}

static void a_stream_with_a_boundary_hook_stays_on_one_worker(void **st)
{
    (void)st;
    size_t n = 7 * 1000 * 1000;
    uint64_t bounds[4096];
    size_t nb, tail;
    unsigned char *d = make_frames(n, 9, 0, bounds, &nb, &tail);
    th_record r = {0};
    char err[512];
    int rc = run_on_pipe("framed", d, n, 2, &r, err, sizeof err);
    assert_int_equal(rc, 0);
    /* Stream units are cut anywhere: no frame bounds to check. */
    int workers[256], conts[256];
    uint64_t offs[256];
    size_t units =
        check_units(r.out, r.out_len, d, NULL, 0, workers, conts, offs);
    for (size_t u = 1; u < units; u++) {
        assert_int_equal(workers[u], workers[0]);
        assert_int_equal(conts[u], 1);
    }
    assert_true(units >= 6);
    th_record_free(&r);
    free(d);
}

/* ------------------------------------------------------------- resume */

#define MAXUNITS 256

/* What on_unit reported: each unit's fingerprint and result. */
typedef struct unitlog {
    th_record r; /* first: the callbacks' user is both */
    uint32_t n;
    uint64_t seq[MAXUNITS], fp[MAXUNITS];
    unsigned char *res[MAXUNITS];
    size_t len[MAXUNITS];
    int resumed[MAXUNITS];
    int no_result; /* units reported without their records */
} unitlog;

static void log_unit(void *user, const sluice_unit_done *u)
{
    unitlog *l = user; /* its record, which comes first */
    assert_true(l->n < MAXUNITS);
    l->seq[l->n] = u->seq;
    l->fp[l->n] = u->fingerprint;
    l->len[l->n] = u->result_len;
    l->resumed[l->n] = u->resumed;
    l->no_result += !u->result;
    l->res[l->n] = malloc(u->result_len + 1);
    assert_non_null(l->res[l->n]);
    if (u->result_len)
        memcpy(l->res[l->n], u->result, u->result_len);
    l->n++;
}

static void free_log(unitlog *l)
{
    for (uint32_t i = 0; i < l->n; i++)
        free(l->res[i]);
    th_record_free(&l->r);
}

/* Runs summer over dir with `jobs` workers, 64 KiB units; `from`: units to
 * resume (every `every`-th of it, with `fp_delta` added to fingerprints
 * and `flip` xor-ed into the first byte of each result). */
static int run_logged(const char *dir, int jobs, const unitlog *from, int every,
                      uint64_t fp_delta, unsigned char flip, unitlog *l,
                      char *err, size_t errlen)
{
    sluice_plugin_handle *h;
    char e[512];
    assert_int_equal(
        sluice_plugin_open(tu_plugin("summer"), NULL, &h, e, sizeof e), 0);
    th_record_free(&l->r);
    memset(l, 0, sizeof *l);
    l->r.desc = sluice_plugin_get(h);
    sluice_job_opts o = {.jobs = jobs, .chunk_size = 64 << 10};
    sluice_callbacks cb = th_callbacks(&l->r);
    cb.on_unit = log_unit;
    sluice_job *job;
    assert_int_equal(sluice_job_new(h, &o, &cb, &job, e, sizeof e), 0);
    for (uint32_t i = 0; from && i < from->n; i += (uint32_t)every) {
        unsigned char *d = malloc(from->len[i] + 1);
        assert_non_null(d);
        memcpy(d, from->res[i], from->len[i]);
        if (from->len[i])
            d[0] ^= flip;
        assert_int_equal(sluice_job_resume_unit(job, from->seq[i],
                                                from->fp[i] + fp_delta, d,
                                                from->len[i]),
                         0);
        free(d);
    }
    assert_int_equal(sluice_job_add(job, dir, SLUICE_ADD_WALK), 0);
    int rc = sluice_job_run(job, err, errlen);
    sluice_job_free(job);
    sluice_plugin_close(h);
    return rc;
}

static void a_job_resumes_from_the_units_its_log_holds(void **st)
{
    (void)st;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/resume", tu_tmpdir());
    mkdir(dir, 0755);
    size_t sizes[12];
    char *paths[12];
    unsigned char *data[12];
    make_files(dir, 12, sizes, paths, data, 99);
    char err[512];
    for (int jobs = 0; jobs <= 2; jobs += 2) {
        static unitlog first, again;
        assert_int_equal(
            run_logged(dir, jobs, NULL, 1, 0, 0, &first, err, sizeof err), 0);
        assert_true(first.n > 8);
        for (uint32_t i = 0; i < first.n; i++) {
            assert_int_equal(first.seq[i], i);
            assert_true(first.fp[i] != 0);
            assert_false(first.resumed[i]);
        }
        /* Every other unit from the log: the same results, and those
         * units are reported as resumed, with the same fingerprints. */
        assert_int_equal(
            run_logged(dir, jobs, &first, 2, 0, 0, &again, err, sizeof err), 0);
        assert_int_equal(again.n, first.n);
        assert_int_equal(again.r.n, first.r.n);
        for (uint32_t i = 0; i < first.r.n; i++) {
            assert_int_equal(again.r.in[i].c[0], first.r.in[i].c[0]);
            assert_int_equal(again.r.in[i].c[1], first.r.in[i].c[1]);
            assert_int_equal(again.r.in[i].errnum, 0);
        }
        for (uint32_t i = 0; i < again.n; i++) {
            assert_int_equal(again.resumed[i], i % 2 == 0);
            assert_int_equal(again.fp[i], first.fp[i]);
        }
        free_log(&again);
        /* A fingerprint that does not match: SLUICE_ERESUME, naming the
         * input. */
        assert_int_equal(
            run_logged(dir, jobs, &first, 3, 1, 0, &again, err, sizeof err),
            SLUICE_ERESUME);
        char want[1024];
        snprintf(want, sizeof want,
                 "%s/f000: unit 0 is not the unit that was done before (the "
                 "input changed, or the inputs before it did)",
                 dir);
        assert_string_equal(err, want);
        free_log(&again);
        /* A result whose records are damaged: refused, not applied. */
        assert_int_equal(
            run_logged(dir, jobs, &first, 1, 0, 0x40, &again, err, sizeof err),
            SLUICE_ERESUME);
        snprintf(want, sizeof want,
                 "%s/f000: the job log's result for unit 0 is invalid", dir);
        assert_string_equal(err, want);
        free_log(&again);
        free_log(&first);
    }
    /* No fingerprint, or records that are not whole 8-byte records:
     * refused. */
    sluice_plugin_handle *h;
    char e[512];
    assert_int_equal(
        sluice_plugin_open(tu_plugin("summer"), NULL, &h, e, sizeof e), 0);
    sluice_job *job;
    assert_int_equal(sluice_job_new(h, NULL, NULL, &job, e, sizeof e), 0);
    assert_int_equal(sluice_job_resume_unit(job, 0, 0, "", 0), SLUICE_EINVAL);
    assert_int_equal(sluice_job_resume_unit(job, 0, 1, "abc", 3),
                     SLUICE_EINVAL);
    sluice_job_free(job);
    sluice_plugin_close(h);
    for (int i = 0; i < 12; i++) {
        free(paths[i]);
        free(data[i]);
    }
}

/* ------------------------------------------------------------ sharing */

static void count_unit(void *user, uint64_t seq, uint64_t weight,
                       uint64_t fingerprint)
{
    (void)seq;
    assert_true(fingerprint != 0);
    assert_true(weight > 0);
    (*(uint64_t *)user)++;
}

static void a_job_shared_by_three_processes_gives_the_one_pass_result(void **st)
{
    (void)st;
    char dir[512], missing[600];
    snprintf(dir, sizeof dir, "%s/share", tu_tmpdir());
    mkdir(dir, 0755);
    size_t sizes[10];
    char *paths[10];
    unsigned char *data[10];
    make_files(dir, 10, sizes, paths, data, 7);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    for (int jobs = 0; jobs <= 2; jobs += 2) {
        sluice_plugin_handle *h;
        char e[512];
        assert_int_equal(
            sluice_plugin_open(tu_plugin("summer"), NULL, &h, e, sizeof e), 0);
        th_record want = {0}, got = {0};
        want.desc = got.desc = sluice_plugin_get(h);
        sluice_job_opts o = {.jobs = jobs, .chunk_size = 64 << 10};
        sluice_callbacks cb = th_callbacks(&want);
        sluice_job *job;
        assert_int_equal(sluice_job_new(h, &o, &cb, &job, e, sizeof e), 0);
        assert_int_equal(sluice_job_add(job, paths[0], 0), 0);
        assert_int_equal(sluice_job_add(job, missing, 0), 0);
        assert_int_equal(sluice_job_add(job, dir, SLUICE_ADD_WALK), 0);
        /* The plan, from a clone. */
        sluice_job *plan = sluice_job_clone(job, e, sizeof e);
        assert_non_null(plan);
        uint64_t n = 0;
        int64_t planned = sluice_job_plan(plan, count_unit, &n, e, sizeof e);
        assert_int_equal(planned, (int64_t)n);
        sluice_job_free(plan);
        assert_true(n >= 6);
        /* Three shares, each on its own clone. */
        static unitlog k;
        memset(&k, 0, sizeof k);
        uint64_t cut[4] = {0, n / 3, 2 * n / 3, n};
        for (int r = 0; r < 3; r++) {
            sluice_job *c = sluice_job_clone(job, e, sizeof e);
            assert_non_null(c);
            assert_int_equal(sluice_job_run_share(c, cut[r], cut[r + 1],
                                                  log_unit, &k, e, sizeof e),
                             0);
            sluice_job_free(c);
        }
        assert_int_equal(k.n, n);
        assert_int_equal(k.no_result, 0);
        /* The gathering process: every unit from the records, handed in
         * any order, on a job of its own (delivering to `got`); the second
         * time without a copy (the records outlive the job). */
        sluice_callbacks cb2 = th_callbacks(&got);
        sluice_job *fin2;
        assert_int_equal(sluice_job_new(h, &o, &cb2, &fin2, e, sizeof e), 0);
        assert_int_equal(sluice_job_add(fin2, paths[0], 0), 0);
        assert_int_equal(sluice_job_add(fin2, missing, 0), 0);
        assert_int_equal(sluice_job_add(fin2, dir, SLUICE_ADD_WALK), 0);
        for (uint32_t i = k.n; i-- > 0;)
            assert_int_equal(
                (jobs ? sluice_job_resume_unit_ref : sluice_job_resume_unit)(
                    fin2, k.seq[i], k.fp[i], k.res[i], k.len[i]),
                0);
        assert_int_equal(sluice_job_run(fin2, e, sizeof e), SLUICE_EINPUT);
        sluice_job_free(fin2);
        assert_int_equal(sluice_job_run(job, e, sizeof e), SLUICE_EINPUT);
        sluice_job_free(job);
        sluice_plugin_close(h);
        assert_int_equal(want.repeated, 0);
        assert_int_equal(got.repeated, 0);
        assert_int_equal(got.n, want.n);
        for (uint32_t i = 0; i < want.n; i++) {
            assert_int_equal(got.order[i], want.order[i]);
            assert_int_equal(got.in[i].errnum, want.in[i].errnum);
            assert_int_equal(got.in[i].has_partial, want.in[i].has_partial);
            assert_int_equal(got.in[i].c[0], want.in[i].c[0]);
            assert_int_equal(got.in[i].c[1], want.in[i].c[1]);
            assert_string_equal(got.in[i].msg, want.in[i].msg);
        }
        assert_int_equal(want.in[1].errnum, ENOENT);
        th_record_free(&want);
        th_record_free(&got);
        free_log(&k);
    }
    for (int i = 0; i < 10; i++) {
        free(paths[i]);
        free(data[i]);
    }
}

/* Clones share the job's plugin globals: a clone made and freed leaves
 * the job's global state as its one global_init made it. */
static void globals_input(void *user, uint32_t i, const sluice_input *in,
                          const void *partial, int errnum, uint64_t off,
                          const char *msg)
{
    (void)i;
    (void)in;
    (void)errnum;
    (void)off;
    (void)msg;
    uint64_t *c = user;
    assert_non_null(partial);
    const sluice_plugin *d = (const sluice_plugin *)(uintptr_t)c[3];
    th_counters(d, partial, c);
}

static void a_clone_shares_the_plugin_globals(void **st)
{
    (void)st;
    char path[512];
    snprintf(path, sizeof path, "%s/globals.txt", tu_tmpdir());
    tu_write(path, "one two\nthree\n", 14);
    /* One job in this process: the plugin's call count starts at 0. */
    for (int jobs = 2; jobs <= 2; jobs++) {
        sluice_plugin_handle *h;
        char e[512];
        assert_int_equal(
            sluice_plugin_open(tu_plugin("globals"), NULL, &h, e, sizeof e), 0);
        uint64_t c[4] = {0, 0, 0, (uint64_t)(uintptr_t)sluice_plugin_get(h)};
        sluice_job_opts o = {.jobs = jobs};
        sluice_callbacks cb = {.user = c, .on_input = globals_input};
        sluice_job *job;
        assert_int_equal(sluice_job_new(h, &o, &cb, &job, e, sizeof e), 0);
        assert_int_equal(sluice_job_add(job, path, 0), 0);
        sluice_job *c1 = sluice_job_clone(job, e, sizeof e);
        assert_non_null(c1);
        sluice_job_free(c1);
        assert_int_equal(sluice_job_run(job, e, sizeof e), 0);
        sluice_job_free(job);
        sluice_plugin_close(h);
        assert_int_equal(c[0], 14);
        assert_int_equal(c[1], 1); /* global_init ran once */
        assert_int_equal(c[2], 0); /* every block found the table */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            every_worker_count_and_chunk_gives_the_one_pass_result),
        cmocka_unit_test(a_walked_tree_is_reported_in_sorted_order),
        cmocka_unit_test(a_walk_runs_while_results_arrive),
        cmocka_unit_test(
            missing_inputs_are_reported_in_order_and_the_rest_counted),
        cmocka_unit_test(ordered_output_is_in_order_with_no_gaps),
        cmocka_unit_test(record_units_start_at_line_starts),
        cmocka_unit_test(
            a_worker_that_dies_once_is_replaced_and_nothing_counts_twice),
        cmocka_unit_test(
            a_unit_that_kills_its_worker_twice_fails_the_job_by_name),
        cmocka_unit_test(a_failing_worker_init_fails_the_job_without_hanging),
        cmocka_unit_test(stdin_pipe_is_read_as_a_stream),
        cmocka_unit_test(large_ranges_are_mapped_and_give_the_one_pass_result),
        cmocka_unit_test(a_file_that_shrinks_while_read_is_reported_not_fatal),
        cmocka_unit_test(a_file_that_changes_while_read_is_reported),
        cmocka_unit_test(
            the_documented_example_plugin_works_and_matches_the_docs),
        cmocka_unit_test(memory_does_not_grow_with_input_size),
        cmocka_unit_test(a_boundary_hook_keeps_units_on_frames_with_lookbehind),
        cmocka_unit_test(a_stream_with_a_boundary_hook_stays_on_one_worker),
        cmocka_unit_test(a_job_resumes_from_the_units_its_log_holds),
        cmocka_unit_test(a_clone_shares_the_plugin_globals),
        cmocka_unit_test(
            a_job_shared_by_three_processes_gives_the_one_pass_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
