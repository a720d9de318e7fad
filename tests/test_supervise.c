/*
 * test_supervise.c -- supervision: requeue, isolation, poison, deadlines,
 * keep_going, memory limits, workers killed from outside.
 *
 * Faults come from the faulty test plugin (tests/plugins/faulty.c): a unit
 * whose data holds CRASH, HANG or ALLOC misbehaves in its worker.  Every
 * case runs in its own process (this program re-executed with --case NAME)
 * under alarm(), so a hang fails that case instead of the suite.  Results
 * are compared with a one-pass computation in the test itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sluice/sluice.h"
#include "harness.h"
#include "util.h"

#define HASH_B 1099511628211ULL
#define CHUNK 65536

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

/* Kills a worker from on_progress (kill_after calls in; 0: never). */
typedef struct killer {
    int kill_after;
    int progress_calls;
    pid_t killed;
} killer;

/* A child of this process (a worker), or -1. */
static pid_t some_child(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int pid = -1;
    if (fscanf(f, "%d", &pid) != 1)
        pid = -1;
    fclose(f);
    return pid;
}

static void kill_a_worker(th_record *r, const sluice_progress *p)
{
    (void)p;
    killer *k = r->user;
    if (k->kill_after && ++k->progress_calls == k->kill_after && !k->killed) {
        pid_t pid = some_child();
        if (pid > 0 && kill(pid, SIGKILL) == 0)
            k->killed = pid;
    }
}

/* Runs plugin `name` over paths; returns sluice_job_run's code (r->err:
 * its message). */
static int run(const char *name, const char *const *paths, int npaths,
               const sluice_job_opts *o, const char *const *kv, th_record *r)
{
    th_job j = {.plugin = tu_plugin(name),
                .options = kv,
                .opts = *o,
                .paths = paths,
                .npaths = npaths};
    return th_run(&j, r);
}

/* Text of `n` bytes in lines of 11 to 70 bytes; `word` (if any) replaces
 * the start of the line that holds byte `at`.  Returns the data; *word_at
 * gets the word's offset. */
static unsigned char *make_text(size_t n, uint64_t seed, const char *word,
                                size_t at, size_t *word_at)
{
    unsigned char *d = malloc(n);
    assert_non_null(d);
    uint64_t s = seed;
    size_t line_start = 0;
    for (size_t i = 0; i < n; i++) {
        if (i - line_start >= 10 + tu_rand(&s) % 60 || i == n - 1) {
            d[i] = '\n';
            line_start = i + 1;
        } else {
            d[i] = (unsigned char)('a' + tu_rand(&s) % 26);
        }
    }
    if (word) {
        size_t k = at;
        while (k > 0 && d[k - 1] != '\n')
            k--;
        assert_true(k + strlen(word) < n);
        memcpy(d + k, word, strlen(word));
        if (word_at)
            *word_at = k;
    }
    return d;
}

static void one_pass(const unsigned char *d, size_t n, uint64_t *c)
{
    c[0] = n;
    c[1] = 0;
    c[2] = 0;
    for (size_t i = 0; i < n; i++) {
        c[1] = c[1] * HASH_B + d[i];
        c[2] += d[i] == '\n';
    }
}

static char *write_file(const char *name, const unsigned char *d, size_t n)
{
    char *path = malloc(512);
    assert_non_null(path);
    snprintf(path, 512, "%s/%s", tu_tmpdir(), name);
    tu_write(path, d, n);
    return path;
}

static void assert_counts(const th_record *r, uint32_t i,
                          const unsigned char *d, size_t n)
{
    uint64_t c[3];
    one_pass(d, n, c);
    assert_true(r->in[i].has_partial);
    assert_int_equal(r->in[i].errnum, 0);
    assert_int_equal(r->in[i].c[0], c[0]);
    assert_true(r->in[i].c[1] == c[1]);
    assert_int_equal(r->in[i].c[2], c[2]);
}

/* --------------------------------------------------------------- cases */

/* The report of r's poison unit as the job words it: "PATH: WHERE: worker
 * process died twice (CAUSE) while plugin faulty processed it", WHERE a
 * batch or a byte range and its line; without "PATH: " for an input's
 * message (keep_going). */
static void poison_text(char *buf, size_t len, const th_record *r,
                        const char *cause, int with_path)
{
    const sluice_poison *p = &r->poison;
    char where[700];
    if (p->ninputs > 1)
        snprintf(where, sizeof where, "batch of %u files from %s", p->ninputs,
                 p->path);
    else
        snprintf(where, sizeof where, "bytes %llu-%llu, line %llu",
                 (unsigned long long)p->offset,
                 (unsigned long long)(p->offset + p->length),
                 (unsigned long long)p->first_record);
    snprintf(buf, len,
             "%s%s%s: worker process died twice (%s) while plugin faulty "
             "processed it",
             with_path ? p->path : "", with_path ? ": " : "", where, cause);
}

/* The poison unit p holds byte `at`. */
static void assert_unit_holds(const sluice_poison *p, size_t at)
{
    assert_in_range(p->length, 1, UINT64_MAX);
    assert_in_range(at, p->offset, p->offset + p->length - 1);
}

static void a_crash_once_is_requeued_and_counts_once(void **st)
{
    (void)st;
    size_t n = 600000, at;
    unsigned char *d = make_text(n, 1, "CRASH", 333333, &at);
    char *path = write_file("once", d, n);
    char marker[600];
    snprintf(marker, sizeof marker, "%s.fired", path);
    const char *kv[] = {"once", marker, NULL};
    const char *paths[] = {path};
    sluice_job_opts o = {.jobs = 2, .chunk_size = CHUNK};
    th_record r = {0};
    int rc = run("faulty", paths, 1, &o, kv, &r);
    assert_int_equal(rc, 0);
    /* It did crash: the first byte of the marker turned to '1'. */
    FILE *mf = fopen(marker, "rb");
    assert_non_null(mf);
    assert_int_equal(fgetc(mf), '1');
    fclose(mf);
    unlink(marker);
    assert_int_equal(r.npoison, 0);
    assert_counts(&r, 0, d, n);
    free(d);
    free(path);
    th_record_free(&r);
}

static void a_unit_that_crashes_alone_twice_is_poison_with_its_fields(void **st)
{
    (void)st;
    size_t n = 600000, at;
    unsigned char *d = make_text(n, 2, "CRASH", 400000, &at);
    char *path = write_file("always", d, n);
    const char *paths[] = {path};
    sluice_job_opts o = {.jobs = 2, .chunk_size = CHUNK};
    th_record r = {0};
    int rc = run("faulty", paths, 1, &o, NULL, &r);
    assert_int_equal(rc, SLUICE_EWORKER);
    assert_int_equal(r.npoison, 1);
    assert_string_equal(r.poison.path, path);
    assert_string_equal(r.poison.plugin, "faulty");
    assert_int_equal(r.poison.signal, SIGSEGV);
    assert_unit_holds(&r.poison, at);
    assert_in_range(r.poison.length, 1, 2 * CHUNK);
    uint64_t line = 1;
    for (size_t i = 0; i < r.poison.offset; i++)
        line += d[i] == '\n';
    assert_true(r.poison.offset == 0 || d[r.poison.offset - 1] == '\n');
    assert_int_equal(r.poison.first_record, line);
    char want[1600];
    poison_text(want, sizeof want, &r, "signal 11, SIGSEGV", 1);
    assert_string_equal(r.err, want);
    assert_string_equal(r.err, r.poison.message);
    free(d);
    free(path);
    th_record_free(&r);
}

/* One worker holds many units when its culprit crashes it: each is rerun
 * alone, and only the culprit is poison. */
static void only_the_culprit_among_units_in_flight_is_poison(void **st)
{
    (void)st;
    enum { NF = 4 };
    size_t n = 300000, at;
    unsigned char *d[NF];
    char *paths[NF];
    for (int i = 0; i < NF; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        d[i] = make_text(n, 10 + (uint64_t)i, i == 2 ? "CRASH" : NULL, 150000,
                         &at);
        paths[i] = write_file(name, d[i], n);
    }
    sluice_job_opts o = {.jobs = 1, .chunk_size = CHUNK, .keep_going = 1};
    th_record r = {0};
    int rc = run("faulty", (const char *const *)paths, NF, &o, NULL, &r);
    assert_int_equal(rc, SLUICE_EINPUT);
    assert_int_equal(r.npoison, 1);
    assert_int_equal(r.poison.input, 2);
    assert_unit_holds(&r.poison, at);
    assert_int_equal(r.n, NF);
    for (int i = 0; i < NF; i++) {
        if (i == 2)
            continue;
        assert_counts(&r, (uint32_t)i, d[i], n);
    }
    assert_int_equal(r.in[2].errnum, SLUICE_EWORKER);
    char want[1600];
    poison_text(want, sizeof want, &r, "signal 11, SIGSEGV", 0);
    assert_string_equal(r.in[2].msg, want);
    /* What was counted of the poisoned input is what precedes its unit. */
    uint64_t c[3];
    one_pass(d[2], r.poison.offset, c);
    if (r.poison.offset) {
        assert_true(r.in[2].has_partial);
        assert_true(r.in[2].c[1] == c[1]);
        assert_int_equal(r.in[2].c[0], c[0]);
    }
    for (int i = 0; i < NF; i++) {
        free(d[i]);
        free(paths[i]);
    }
    th_record_free(&r);
}

static void a_hang_times_out_and_is_poison(void **st)
{
    (void)st;
    size_t n = 300000, at;
    unsigned char *d = make_text(n, 3, "HANG", 100000, &at);
    char *path = write_file("hang", d, n);
    const char *paths[] = {path};
    sluice_job_opts o = {.jobs = 2, .chunk_size = CHUNK, .unit_timeout = 0.5};
    th_record r = {0};
    int rc = run("faulty", paths, 1, &o, NULL, &r);
    assert_int_equal(rc, SLUICE_EWORKER);
    assert_int_equal(r.npoison, 1);
    if (r.poison.timed_out != 0.5)
        fail_msg("timed out after %g s, want 0.5", r.poison.timed_out);
    assert_int_equal(r.poison.signal, SIGTERM);
    assert_unit_holds(&r.poison, at);
    char want[1600];
    poison_text(want, sizeof want, &r,
                "signal 15, SIGTERM; timed out after 0.5 s", 1);
    assert_string_equal(r.err, want);
    free(d);
    free(path);
    th_record_free(&r);
}

static void a_hang_that_ignores_term_is_killed_after_the_grace(void **st)
{
    (void)st;
    size_t n = 300000, at;
    unsigned char *d = make_text(n, 4, "HANG", 100000, &at);
    char *path = write_file("hangterm", d, n);
    const char *paths[] = {path};
    const char *kv[] = {"ignore_term", "true", NULL};
    sluice_job_opts o = {.jobs = 2, .chunk_size = CHUNK, .unit_timeout = 0.5};
    th_record r = {0};
    int rc = run("faulty", paths, 1, &o, kv, &r);
    assert_int_equal(rc, SLUICE_EWORKER);
    assert_int_equal(r.npoison, 1);
    assert_int_equal(r.poison.signal, SIGKILL);
    char want[1600];
    poison_text(want, sizeof want, &r,
                "signal 9, SIGKILL; timed out after 0.5 s", 1);
    assert_string_equal(r.err, want);
    free(d);
    free(path);
    th_record_free(&r);
}

static void an_allocation_without_bound_is_poison(void **st)
{
    (void)st;
    if (UNDER_ASAN)
        skip(); /* the sanitizer's shadow memory defeats RLIMIT_AS */
    size_t n = 300000, at;
    unsigned char *d = make_text(n, 5, "ALLOC", 200000, &at);
    char *path = write_file("alloc", d, n);
    const char *paths[] = {path};
    sluice_job_opts o = {
        .jobs = 2, .chunk_size = CHUNK, .worker_memory = (uint64_t)512 << 20};
    th_record r = {0};
    int rc = run("faulty", paths, 1, &o, NULL, &r);
    assert_int_equal(rc, SLUICE_EWORKER);
    assert_int_equal(r.npoison, 1);
    assert_int_equal(r.poison.signal, SIGABRT);
    assert_unit_holds(&r.poison, at);
    char want[1600];
    poison_text(want, sizeof want, &r,
                "signal 6, SIGABRT; worker memory limit 512 MiB", 1);
    assert_string_equal(r.err, want);
    free(d);
    free(path);
    th_record_free(&r);
}

static void a_worker_killed_mid_job_changes_nothing(void **st)
{
    (void)st;
    size_t n = 3000000;
    unsigned char *d = make_text(n, 6, NULL, 0, NULL);
    char *path = write_file("killed", d, n);
    const char *paths[] = {path};
    /* about 46 units of 0.1 s on 3 workers: the first progress call
     * (after 200 ms) comes while every worker is busy */
    const char *kv[] = {"slow_us", "100000", NULL};
    sluice_job_opts o = {.jobs = 3, .chunk_size = CHUNK};
    killer k = {.kill_after = 1};
    th_record r = {.progress = kill_a_worker, .user = &k};
    int rc = run("faulty", paths, 1, &o, kv, &r);
    assert_int_equal(rc, 0);
    assert_true(k.killed > 0);
    assert_int_equal(r.npoison, 0);
    assert_counts(&r, 0, d, n);
    th_record_free(&r);
    free(d);
    free(path);
}

static void keep_going_counts_everything_but_the_poisoned_batch(void **st)
{
    (void)st;
    /* Small files go in batches: a poisoned batch fails all its files. */
    enum { NF = 12 };
    unsigned char *d[NF];
    char *paths[NF];
    size_t n = 20000;
    for (int i = 0; i < NF; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%02d", i);
        d[i] =
            make_text(n, 20 + (uint64_t)i, i == 7 ? "QUIT" : NULL, 5000, NULL);
        paths[i] = write_file(name, d[i], n);
    }
    /* batches of about 3 files */
    sluice_job_opts o = {.jobs = 2, .batch_bytes = 3 * n, .keep_going = 1};
    th_record r = {0};
    int rc = run("faulty", (const char *const *)paths, NF, &o, NULL, &r);
    assert_int_equal(rc, SLUICE_EINPUT);
    assert_int_equal(r.npoison, 1);
    assert_int_equal(r.poison.exit_status, 7);
    assert_int_equal(r.poison.signal, 0);
    uint32_t lo = r.poison.input, hi = lo + r.poison.ninputs;
    assert_in_range(7, lo, hi - 1);
    assert_in_range(hi - lo, 1, NF - 1);
    assert_int_equal(r.n, NF);
    char want[1600];
    poison_text(want, sizeof want, &r, "exit status 7", 0);
    for (uint32_t i = 0; i < NF; i++) {
        if (i >= lo && i < hi) {
            assert_int_equal(r.in[i].errnum, SLUICE_EWORKER);
            assert_string_equal(r.in[i].msg, want);
        } else {
            assert_counts(&r, i, d[i], n);
        }
    }
    for (int i = 0; i < NF; i++) {
        free(d[i]);
        free(paths[i]);
    }
    th_record_free(&r);
}

static void an_ordered_plugin_stops_at_the_first_poison(void **st)
{
    (void)st;
    size_t n = 600000, at;
    unsigned char *d = make_text(n, 7, "CRASH", 300000, &at);
    char *path = write_file("ordered", d, n);
    const char *paths[] = {path};
    sluice_job_opts o = {.jobs = 2, .chunk_size = CHUNK, .keep_going = 1};
    th_record r = {0};
    int rc = run("faulty_ordered", paths, 1, &o, NULL, &r);
    assert_int_equal(rc, SLUICE_EWORKER);
    assert_int_equal(r.npoison, 1);
    /* No hole: what came out is a prefix that stops before the poison. */
    assert_true(r.out_len <= r.poison.offset);
    assert_true(r.out_len == 0 || memcmp(r.out, d, r.out_len) == 0);
    th_record_free(&r);
    free(d);
    free(path);
}

/* ----------------------------------------------------------- the runner */

static const struct CMUnitTest cases[] = {
    cmocka_unit_test(a_crash_once_is_requeued_and_counts_once),
    cmocka_unit_test(a_unit_that_crashes_alone_twice_is_poison_with_its_fields),
    cmocka_unit_test(only_the_culprit_among_units_in_flight_is_poison),
    cmocka_unit_test(a_hang_times_out_and_is_poison),
    cmocka_unit_test(a_hang_that_ignores_term_is_killed_after_the_grace),
    cmocka_unit_test(an_allocation_without_bound_is_poison),
    cmocka_unit_test(a_worker_killed_mid_job_changes_nothing),
    cmocka_unit_test(keep_going_counts_everything_but_the_poisoned_batch),
    cmocka_unit_test(an_ordered_plugin_stops_at_the_first_poison),
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Runs case `name` in a fresh process of this program, with a timeout. */
static void in_own_process(void **st)
{
    const char *name = *st;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(120);
        execl("/proc/self/exe", "test_supervise", "--case", name, (char *)NULL);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("case %s: %s %d", name,
                 WIFSIGNALED(status) ? "killed by signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--case")) {
        for (size_t i = 0; i < NCASES; i++)
            if (!strcmp(cases[i].name, argv[2]))
                return _cmocka_run_group_tests(argv[2], &cases[i], 1, NULL,
                                               NULL);
        return 2;
    }
    struct CMUnitTest outer[NCASES];
    for (size_t i = 0; i < NCASES; i++) {
        outer[i] = (struct CMUnitTest){.name = cases[i].name,
                                       .test_func = in_own_process,
                                       .initial_state = (void *)cases[i].name};
    }
    return _cmocka_run_group_tests("supervise", outer, NCASES, NULL, NULL);
}
