/*
 * test_sandbox.c -- workers run plugin code under the seccomp sandbox.
 *
 * Through the job API with the hostile test plugin: each forbidden action
 * fails the job at once with a message naming the unit, the plugin and the
 * system call; what worker code may do still works; no_sandbox (and the
 * inline mode) let the actions through.  Every job runs in its own process
 * with a timeout, so a filter that hangs or kills the wrong process fails
 * one test, not the program.  Where the sandbox is unavailable (sanitizer
 * builds, valgrind) the program prints SKIP and exits 77.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sluice/sluice.h"
#include "harness.h"
#include "util.h"

#define TIMEOUT_MS 60000

/* What one isolated job run reports back. */
typedef struct outcome {
    int rc;              /* sluice_job_run's return */
    uint64_t bytes;      /* counter of input 0 when it had a result */
    int input_err;       /* error of input 0 (0: none) */
    char err[1024];      /* the job's message */
    char input_msg[512]; /* input 0's message */
    int poisons;         /* on_poison calls */
    int poison_syscall;  /* the last one's sandbox_syscall */
} outcome;

/* Runs the hostile plugin with `action` over `input` in a child process;
 * fails the test if the child does not report within TIMEOUT_MS. */
static outcome run_hostile(const char *action, const char *path,
                           const char *input, int jobs, size_t chunk,
                           int no_sandbox)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        const char *kv[] = {"action", action, "path", path, NULL};
        const char *paths[] = {input};
        th_job j = {.plugin = tu_plugin("hostile"),
                    .options = kv,
                    .opts = {.jobs = jobs,
                             .chunk_size = chunk,
                             .no_sandbox = no_sandbox},
                    .paths = paths,
                    .npaths = 1,
                    .no_fail = 1};
        th_record r = {0};
        th_run(&j, &r);
        if (!r.ran)
            _exit(2);
        outcome o;
        memset(&o, 0, sizeof o);
        o.rc = r.rc;
        memcpy(o.err, r.err, sizeof o.err);
        if (r.n > 0 && r.in[0].reported) {
            const th_input *in = &r.in[0];
            o.input_err = in->errnum ? in->errnum : (in->msg[0] ? -1 : 0);
            memcpy(o.input_msg, in->msg, sizeof o.input_msg);
            if (in->has_partial)
                memcpy(&o.bytes, in->partial, sizeof o.bytes);
        }
        o.poisons = r.npoison;
        o.poison_syscall = r.poison.sandbox_syscall;
        ssize_t w = write(fds[1], &o, sizeof o);
        _exit(w == (ssize_t)sizeof o ? 0 : 3);
    }
    close(fds[1]);
    outcome o;
    memset(&o, 0, sizeof o);
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    int ready = poll(&pfd, 1, TIMEOUT_MS);
    if (ready <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(fds[0]);
        fail_msg("action %s: no result within %d ms", action, TIMEOUT_MS);
    }
    size_t got = 0;
    while (got < sizeof o) {
        ssize_t r = read(fds[0], (char *)&o + got, sizeof o - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (got != sizeof o)
        fail_msg("action %s: the job's process died (status %#x)", action,
                 status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return o;
}

static char input_path[512];
static char target_path[512];

/* A small input and a file the actions aim at. */
static void make_files(void)
{
    snprintf(input_path, sizeof input_path, "%s/input.txt", tu_tmpdir());
    snprintf(target_path, sizeof target_path, "%s/target", tu_tmpdir());
    tu_write(input_path, "one\ntwo\nthree\n", 14);
    tu_write(target_path, "keep me\n", 8);
}

static const struct {
    const char *action;
    const char *syscall;
} forbidden[] = {
    {"write_file", "openat"}, {"open_write", "openat"},
    {"unlink", "unlinkat"},   {"exec", "execve"},
    {"socket", "socket"},     {"fork", "clone"},
    {"mmap_exec", "mmap"},    {"mprotect_exec", "mprotect"},
    {"write_fd", "write"},
};

static void assert_file_is(const char *path, const char *want)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[64] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void each_forbidden_call_fails_the_job_naming_it(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof forbidden / sizeof *forbidden; i++) {
        make_files();
        outcome o =
            run_hostile(forbidden[i].action, target_path, input_path, 2, 0, 0);
        /* The number is the architecture's: the poison report gives it. */
        char want[700];
        snprintf(want, sizeof want,
                 "%s: whole file: plugin hostile was stopped by the sandbox "
                 "(forbidden system call %d: %s)",
                 input_path, o.poison_syscall, forbidden[i].syscall);
        if (o.rc != SLUICE_EWORKER || strcmp(o.err, want) != 0 ||
            o.poisons != 1 || o.poison_syscall < 0)
            fail_msg("action %s: rc %d, message \"%s\", want \"%s\"",
                     forbidden[i].action, o.rc, o.err, want);
        /* Stopped before the call ran: the target is untouched. */
        assert_file_is(target_path, "keep me\n");
    }
}

static void a_range_unit_is_named_by_its_byte_range(void **st)
{
    (void)st;
    make_files();
    char big[512];
    snprintf(big, sizeof big, "%s/big.txt", tu_tmpdir());
    size_t n = 3 << 20;
    char *d = malloc(n);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++)
        d[i] = i % 64 == 63 ? '\n' : 'x';
    tu_write(big, d, n);
    free(d);
    outcome o = run_hostile("socket", target_path, big, 2, 1 << 20, 0);
    assert_int_equal(o.rc, SLUICE_EWORKER);
    char want[700];
    snprintf(want, sizeof want,
             "%s: bytes 0-1048576: plugin hostile was stopped by the "
             "sandbox (forbidden system call %d: socket)",
             big, o.poison_syscall);
    assert_int_equal(o.poisons, 1);
    assert_true(o.poison_syscall >= 0);
    assert_string_equal(o.err, want);
}

static void worker_init_runs_before_the_filter(void **st)
{
    (void)st;
    make_files();
    outcome o = run_hostile("init_socket", target_path, input_path, 2, 0, 0);
    if (o.rc != SLUICE_EINPUT ||
        strcmp(o.input_msg, "hostile: init_socket done") != 0)
        fail_msg("rc %d, message \"%s\", input \"%s\"", o.rc, o.err,
                 o.input_msg);
}

static void a_forbidden_call_in_worker_fini_fails_the_job(void **st)
{
    (void)st;
    make_files();
    outcome o = run_hostile("fini_socket", target_path, input_path, 2, 0, 0);
    assert_int_equal(o.rc, SLUICE_EWORKER);
    assert_int_equal(o.bytes, 14); /* the results came before */
    const char *want = "plugin hostile was stopped by the sandbox in "
                       "worker_fini (forbidden system call ";
    size_t n = strlen(o.err);
    if (strncmp(o.err, want, strlen(want)) != 0 || n < 9 ||
        strcmp(o.err + n - 9, ": socket)") != 0)
        fail_msg("message \"%s\"", o.err);
}

static void what_worker_code_may_do_still_works(void **st)
{
    (void)st;
    make_files();
    /* The allowed actions read the input file itself. */
    outcome o = run_hostile("allowed", input_path, input_path, 2, 0, 0);
    if (o.rc != 0)
        fail_msg("rc %d, message \"%s\", input \"%s\"", o.rc, o.err,
                 o.input_msg);
    assert_int_equal(o.input_err, 0);
    assert_int_equal(o.bytes, 14);
    o = run_hostile("none", target_path, input_path, 3, 0, 0);
    assert_int_equal(o.rc, 0);
    assert_int_equal(o.bytes, 14);
}

static void no_sandbox_lets_the_actions_through(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof forbidden / sizeof *forbidden; i++) {
        const char *a = forbidden[i].action;
        make_files();
        outcome o = run_hostile(a, target_path, input_path, 2, 0, 1);
        if (strstr(o.err, "sandbox"))
            fail_msg("action %s: \"%s\"", a, o.err);
        if (strcmp(a, "exec") == 0) {
            /* The worker became /bin/true: it is gone, twice. */
            assert_int_equal(o.rc, SLUICE_EWORKER);
            assert_non_null(strstr(o.err, "died twice"));
            assert_int_equal(o.poisons, 1);
            assert_int_equal(o.poison_syscall, -1);
            continue;
        }
        char want[64];
        snprintf(want, sizeof want, "hostile: %s done", a);
        if (o.rc != SLUICE_EINPUT || strcmp(o.input_msg, want) != 0)
            fail_msg("action %s: rc %d, message \"%s\", input \"%s\"", a, o.rc,
                     o.err, o.input_msg);
        if (strcmp(a, "write_file") == 0)
            assert_file_is(target_path, "pwned\n");
        if (strcmp(a, "unlink") == 0)
            assert_int_equal(access(target_path, F_OK), -1);
    }
}

static void the_inline_mode_runs_unsandboxed(void **st)
{
    (void)st;
    make_files();
    outcome o = run_hostile("socket", target_path, input_path, 0, 0, 0);
    assert_int_equal(o.rc, SLUICE_EINPUT);
    assert_string_equal(o.input_msg, "hostile: socket done");
}

int main(void)
{
    char why[256];
    if (!sluice_sandbox_available(why, sizeof why)) {
        printf("SKIP: the sandbox is unavailable here: %s\n", why);
        return 77;
    }
    tu_tmpdir(); /* made before any fork: children never remove it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_forbidden_call_fails_the_job_naming_it),
        cmocka_unit_test(a_range_unit_is_named_by_its_byte_range),
        cmocka_unit_test(worker_init_runs_before_the_filter),
        cmocka_unit_test(a_forbidden_call_in_worker_fini_fails_the_job),
        cmocka_unit_test(what_worker_code_may_do_still_works),
        cmocka_unit_test(no_sandbox_lets_the_actions_through),
        cmocka_unit_test(the_inline_mode_runs_unsandboxed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
