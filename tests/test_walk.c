/*
 * test_walk.c -- directory operands turned into inputs (engine/walk.c),
 * through the public API: sluice_job_add(..., SLUICE_ADD_WALK), then
 * sluice_job_inputs/sluice_job_input.
 *
 * Each test builds its own tree under the test's temporary directory and
 * compares the walked paths with the expected list exactly: sorted by
 * strcmp at each level, depth first, VCS directories, symlinks and FIFOs
 * left out.  The tests run as root, where permissions do not stop reads,
 * so unreadable directories are not tested here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/sluice.h"
#include "util.h"

typedef struct walk_fixture {
    sluice_plugin_handle *h;
    sluice_job *job;
} walk_fixture;

static int setup(void **st)
{
    walk_fixture *w = calloc(1, sizeof *w);
    char err[512];
    if (!w ||
        sluice_plugin_open(tu_plugin("summer"), NULL, &w->h, err, sizeof err) !=
            0 ||
        sluice_job_new(w->h, NULL, NULL, &w->job, err, sizeof err) != 0) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    *st = w;
    return 0;
}

static int teardown(void **st)
{
    walk_fixture *w = *st;
    sluice_job_free(w->job);
    sluice_plugin_close(w->h);
    free(w);
    return 0;
}

/* A fresh directory for one test: TMP/name. */
static const char *test_dir(const char *name)
{
    static char dir[1024]; /* room to spare in PATH_MAX buffers */
    snprintf(dir, sizeof dir, "%s/%s", tu_tmpdir(), name);
    assert_int_equal(mkdir(dir, 0755), 0);
    return dir;
}

/* Makes `rel` under `root`: a directory when it ends with '/', otherwise a
 * file holding its own name. */
static void make(const char *root, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    size_t n = strlen(p);
    if (p[n - 1] == '/') {
        p[n - 1] = '\0';
        assert_int_equal(mkdir(p, 0755), 0);
    } else {
        tu_write(p, rel, strlen(rel));
    }
}

static void make_link(const char *root, const char *target, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    assert_int_equal(symlink(target, p), 0);
}

/* Asserts the job's inputs are exactly root/want[0..n), in that order. */
static void assert_inputs(const sluice_job *job, const char *root,
                          const char *const *want, uint32_t n)
{
    uint32_t got = sluice_job_inputs(job);
    char p[PATH_MAX];
    for (uint32_t i = 0; i < n && i < got; i++) {
        snprintf(p, sizeof p, "%s/%s", root, want[i]);
        const sluice_input *in = sluice_job_input(job, i);
        if (strcmp(in->path, p) != 0)
            fail_msg("input %u is %s, want %s", i, in->path, p);
        assert_int_equal(in->err, 0);
    }
    if (got != n)
        fail_msg("%u inputs, want %u (first extra: %s)", got, n,
                 got > n ? sluice_job_input(job, n)->path : "-");
}

/* ------------------------------------------------------------- order */

static void entries_are_in_byte_order_at_each_level_depth_first(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("order");
    const char *tree[] = {
        "b",        "B",   "a-b", "a.c",  "a0",     "_x",      "~",
        "\xc3\xa9", "a/",  "a/z", "a/y",  "a/Y",    "a/sub/",  "a/sub/1",
        "a/10",     "a/9", "c/",  "c/d/", "c/d/e/", "c/d/e/f", "c/a",
    };
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    /* Note "a/..." before "a-b": the walk sorts names within a directory,
     * it does not sort whole paths ('-' < '/'). */
    const char *want[] = {
        "B",   "_x",  "a/10", "a/9", "a/Y", "a/sub/1", "a/y", "a/z",
        "a-b", "a.c", "a0",   "b",   "c/a", "c/d/e/f", "~",   "\xc3\xa9",
    };
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_inputs(w->job, root, want, sizeof want / sizeof want[0]);
}

static void walking_twice_gives_the_same_order(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("twice");
    /* Enough entries that readdir's order is unlikely to be sorted. */
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "f%d", (i * 7919) % 1000);
        make(root, name);
    }
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_int_equal(sluice_job_inputs(w->job), 600);
    for (uint32_t i = 0; i < 300; i++) {
        const char *a = sluice_job_input(w->job, i)->path;
        assert_string_equal(a, sluice_job_input(w->job, i + 300)->path);
        if (i > 0)
            assert_true(strcmp(sluice_job_input(w->job, i - 1)->path, a) < 0);
    }
}

/* ------------------------------------------------------------ skipping */

static void vcs_directories_are_skipped_at_any_depth(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("vcs");
    const char *tree[] = {
        ".git/",
        ".git/config",
        ".git/objects/",
        ".git/objects/x",
        ".hg/",
        ".hg/store",
        ".svn/",
        ".svn/entries",
        "src/",
        "src/.git/",
        "src/.git/HEAD",
        "src/main.c",
        "src/deep/",
        "src/deep/.svn/",
        "src/deep/.svn/wc.db",
        "src/deep/.hg/",
        "src/deep/.hg/x",
        "src/deep/file",
        /* Near misses are ordinary entries. */
        ".gitignore",
        ".github/",
        ".github/ci.yml",
        ".git2/",
        ".git2/x",
        "git/",
        "git/x",
        ".hgtags",
        ".svnignore",
    };
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    const char *want[] = {
        ".git2/x",    ".github/ci.yml", ".gitignore",    ".hgtags",
        ".svnignore", "git/x",          "src/deep/file", "src/main.c",
    };
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_inputs(w->job, root, want, sizeof want / sizeof want[0]);
}

static void symlinks_inside_a_tree_are_not_followed(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("links");
    const char *tree[] = {"d/", "d/inner", "f", "sub/", "sub/g"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    char abs_d[PATH_MAX];
    snprintf(abs_d, sizeof abs_d, "%s/d", root);
    make_link(root, "f", "link-to-file");
    make_link(root, "d", "link-to-dir");
    make_link(root, abs_d, "sub/abs-link-to-dir");
    make_link(root, "..", "sub/up");     /* a loop if followed */
    make_link(root, ".", "self");        /* another */
    make_link(root, "loop-b", "loop-a"); /* links to each other */
    make_link(root, "loop-a", "loop-b");
    make_link(root, "nowhere", "dangling");
    const char *want[] = {"d/inner", "f", "sub/g"};
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_inputs(w->job, root, want, sizeof want / sizeof want[0]);
}

static void fifos_inside_a_tree_are_skipped(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("fifo");
    make(root, "a");
    make(root, "sub/");
    make(root, "sub/z");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/b-fifo", root);
    assert_int_equal(mkfifo(p, 0644), 0);
    snprintf(p, sizeof p, "%s/sub/fifo", root);
    assert_int_equal(mkfifo(p, 0644), 0);
    /* If the walk opened a FIFO it would block: fail instead of hanging. */
    alarm(10);
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    alarm(0);
    const char *want[] = {"a", "sub/z"};
    assert_inputs(w->job, root, want, sizeof want / sizeof want[0]);
}

/* ------------------------------------------------------------ operands */

static void an_empty_directory_gives_no_inputs(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("empty");
    make(root, "e1/");
    make(root, "e1/e2/");
    make(root, "e3/");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/e1/e2", root);
    assert_int_equal(sluice_job_add(w->job, p, SLUICE_ADD_WALK), 0);
    assert_int_equal(sluice_job_inputs(w->job), 0);
    /* Empty directories inside a tree add nothing either. */
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_int_equal(sluice_job_inputs(w->job), 0);
}

static void a_file_operand_is_one_input_even_with_walk(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("fileop");
    make(root, "only");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/only", root);
    assert_int_equal(sluice_job_add(w->job, p, SLUICE_ADD_WALK), 0);
    assert_int_equal(sluice_job_add(w->job, p, 0), 0);
    assert_int_equal(sluice_job_inputs(w->job), 2);
    for (uint32_t i = 0; i < 2; i++) {
        const sluice_input *in = sluice_job_input(w->job, i);
        assert_string_equal(in->path, p);
        assert_true(in->stat_ok);
        assert_true(S_ISREG(in->st.st_mode));
        assert_int_equal(in->st.st_size, 4);
        assert_int_equal(in->err, 0);
    }
}

static void a_directory_operand_without_walk_is_one_input(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("nowalk");
    make(root, "x");
    make(root, "y/");
    make(root, "y/z");
    assert_int_equal(sluice_job_add(w->job, root, 0), 0);
    assert_int_equal(sluice_job_inputs(w->job), 1);
    const sluice_input *in = sluice_job_input(w->job, 0);
    assert_string_equal(in->path, root);
    assert_true(in->stat_ok);
    assert_true(S_ISDIR(in->st.st_mode));
}

static void a_trailing_slash_on_the_operand_gives_clean_paths(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("slash");
    make(root, "s/");
    make(root, "s/t");
    char p[PATH_MAX], want[PATH_MAX];
    snprintf(p, sizeof p, "%s/", root);
    snprintf(want, sizeof want, "%s/s/t", root);
    assert_int_equal(sluice_job_add(w->job, p, SLUICE_ADD_WALK), 0);
    assert_int_equal(sluice_job_inputs(w->job), 1);
    assert_string_equal(sluice_job_input(w->job, 0)->path, want);
}

/* ------------------------------------------------------------ stat data */

static void walked_files_carry_their_stat_data(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("stat");
    const size_t sizes[] = {0, 1, 4095, 70000};
    char p[PATH_MAX], name[16];
    static char buf[70000];
    memset(buf, 'q', sizeof buf);
    make(root, "d/");
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "d/f%zu", i);
        snprintf(p, sizeof p, "%s/%s", root, name);
        tu_write(p, buf, sizes[i]);
    }
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_int_equal(sluice_job_inputs(w->job), 4);
    for (uint32_t i = 0; i < 4; i++) {
        const sluice_input *in = sluice_job_input(w->job, i);
        struct stat want;
        assert_int_equal(stat(in->path, &want), 0);
        assert_true(in->stat_ok);
        assert_true(S_ISREG(in->st.st_mode));
        assert_int_equal(in->st.st_size, (off_t)sizes[i]);
        assert_int_equal(in->st.st_ino, want.st_ino);
        assert_int_equal(in->err, 0);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(entries_are_in_byte_order_at_each_level_depth_first),
        T(walking_twice_gives_the_same_order),
        T(vcs_directories_are_skipped_at_any_depth),
        T(symlinks_inside_a_tree_are_not_followed),
        T(fifos_inside_a_tree_are_skipped),
        T(an_empty_directory_gives_no_inputs),
        T(a_file_operand_is_one_input_even_with_walk),
        T(a_directory_operand_without_walk_is_one_input),
        T(a_trailing_slash_on_the_operand_gives_clean_paths),
        T(walked_files_carry_their_stat_data),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
