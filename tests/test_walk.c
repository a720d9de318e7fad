/*
 * test_walk.c -- directory operands turned into inputs (engine/walk.c).
 *
 * Walks are driven through the public API, sluice_job_add(...,
 * SLUICE_ADD_WALK), or through the walk's own iterator (sluice__walk_open
 * and sluice__walk_next, internal.h); either way the inputs are collected
 * the way the CLI sees them: by running the job (the noop plugin, inline)
 * and recording each on_input's path and errnum, never by reading the
 * input table after sluice_job_add, since inputs may appear only as the
 * job runs.
 *
 * Each test builds its own tree under the test's temporary directory and
 * compares the walked paths with the expected list exactly: sorted by
 * strcmp at each level, depth first, VCS directories, symlinks (unless
 * followed) and FIFOs left out, errors in their place.  The tests run as
 * root, where permissions do not stop reads, so unreadable directories are
 * tested by tests/cli/walk_edge.sh, which drops privileges.  Deep trees
 * (1500 levels, and deeper than PATH_MAX) are walked with the descriptor
 * limit lowered to 64, below one descriptor per level.
 *
 * The ignore rules (engine/ignore.c) are tested twice: pattern by pattern
 * through a rule list, against cases whose answers come from git
 * check-ignore, and through walks of trees holding ignore files (a ".git"
 * directory made by hand marks a repository).  tests/cli/walk_git.sh
 * compares whole walks with git itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ignore.h"
#include "internal.h"
#include "sluice/sluice.h"
#include "harness.h"
#include "util.h"

typedef struct walk_fixture {
    sluice_plugin_handle *h;
    sluice_job *job;
    sluice_callbacks cb;
    th_record r; /* inputs reported by the run (th_nth: in order) */
    int ran;     /* the job has run */
} walk_fixture;

static int setup(void **st)
{
    walk_fixture *w = calloc(1, sizeof *w);
    char err[512] = "", noop[PATH_MAX];
    snprintf(noop, sizeof noop, "%s/plugins/noop/noop.so", tu_build_root());
    sluice_job_opts opts = {.jobs = 0};
    if (!w) {
        fprintf(stderr, "setup: out of memory\n");
        return -1;
    }
    w->r.paths = 1;
    w->cb = th_callbacks(&w->r);
    if (sluice_plugin_open(noop, NULL, &w->h, err, sizeof err) != 0 ||
        sluice_job_new(w->h, &opts, &w->cb, &w->job, err, sizeof err) != 0) {
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
    th_record_free(&w->r);
    free(w);
    return 0;
}

/* Runs the job once: the inputs land in w->r.  The run fails with
 * SLUICE_EINPUT exactly when some input failed. */
static void run(walk_fixture *w)
{
    if (w->ran)
        return;
    w->ran = 1;
    char err[512] = "";
    int rc = sluice_job_run(w->job, err, sizeof err);
    int failed = 0;
    for (uint32_t i = 0; i < w->r.n; i++)
        failed |= th_nth(&w->r, i)->errnum != 0;
    if (rc != (failed ? SLUICE_EINPUT : 0))
        fail_msg("run: %d (%s), %s inputs failed", rc, err,
                 failed ? "some" : "no");
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
    char p[2 * PATH_MAX];
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

/* Writes `text` to root/rel. */
static void put(const char *root, const char *rel, const char *text)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    tu_write(p, text, strlen(text));
}

/* One expected input: root/rel, failing with errnum (0: read). */
typedef struct want_t {
    const char *rel;
    int errnum;
} want_t;

/* Runs the job and asserts its inputs are exactly root/want[0..n), in
 * that order, with those errors. */
static void assert_walk(walk_fixture *w, const char *root, const want_t *want,
                        size_t n)
{
    run(w);
    char p[PATH_MAX];
    for (uint32_t i = 0; i < n && i < w->r.n; i++) {
        const th_input *got = th_nth(&w->r, i);
        snprintf(p, sizeof p, "%s/%s", root, want[i].rel);
        if (strcmp(got->path, p) != 0)
            fail_msg("input %u is %s, want %s", i, got->path, p);
        if (got->errnum != want[i].errnum)
            fail_msg("input %s: error %d (%s), want %d (%s)", p, got->errnum,
                     strerror(got->errnum), want[i].errnum,
                     strerror(want[i].errnum));
    }
    if (w->r.n != n)
        fail_msg("%u inputs, want %zu (first extra: %s)", w->r.n, n,
                 w->r.n > n ? th_nth(&w->r, n)->path : "-");
}

/* The same for inputs that all succeed. */
static void assert_inputs(walk_fixture *w, const char *root,
                          const char *const *want, size_t n)
{
    want_t *x = calloc(n ? n : 1, sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i].rel = want[i];
    assert_walk(w, root, x, n);
    free(x);
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
    assert_inputs(w, root, want, sizeof want / sizeof want[0]);
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
    run(w);
    assert_int_equal(w->r.n, 600);
    for (size_t i = 0; i < 300; i++) {
        const char *a = th_nth(&w->r, i)->path;
        assert_string_equal(a, th_nth(&w->r, i + 300)->path);
        if (i > 0)
            assert_true(strcmp(th_nth(&w->r, i - 1)->path, a) < 0);
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
    /* Even with hidden entries and ignored ones asked for (".gitignore"
     * holds its own name). */
    assert_int_equal(sluice_job_add(w->job, root,
                                    SLUICE_ADD_WALK | SLUICE_ADD_HIDDEN |
                                        SLUICE_ADD_NO_IGNORE),
                     0);
    assert_inputs(w, root, want, sizeof want / sizeof want[0]);
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
    assert_inputs(w, root, want, sizeof want / sizeof want[0]);
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
    run(w);
    alarm(0);
    const char *want[] = {"a", "sub/z"};
    assert_inputs(w, root, want, sizeof want / sizeof want[0]);
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
    /* Empty directories inside a tree add nothing either. */
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    run(w);
    assert_int_equal(w->r.n, 0);
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
    run(w);
    assert_int_equal(w->r.n, 2);
    for (size_t i = 0; i < 2; i++) {
        const th_input *in = th_nth(&w->r, i);
        assert_string_equal(in->path, p);
        assert_true(in->stat_ok);
        assert_true(S_ISREG(in->st.st_mode));
        assert_int_equal(in->st.st_size, 4);
        assert_int_equal(in->errnum, 0);
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
    run(w);
    assert_int_equal(w->r.n, 1);
    const th_input *in = th_nth(&w->r, 0);
    assert_string_equal(in->path, root);
    assert_true(in->stat_ok);
    assert_true(S_ISDIR(in->st.st_mode));
    assert_int_equal(in->errnum, EISDIR); /* read as a file, like wc */
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
    run(w);
    assert_int_equal(w->r.n, 1);
    assert_string_equal(th_nth(&w->r, 0)->path, want);
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
    run(w);
    assert_int_equal(w->r.n, 4);
    for (size_t i = 0; i < 4; i++) {
        const th_input *in = th_nth(&w->r, i);
        struct stat want;
        assert_int_equal(stat(in->path, &want), 0);
        assert_true(in->stat_ok);
        assert_true(S_ISREG(in->st.st_mode));
        assert_int_equal(in->st.st_size, (off_t)sizes[i]);
        assert_int_equal(in->st.st_ino, want.st_ino);
        assert_int_equal(in->errnum, 0);
    }
}

/* ------------------------------------------------------------ hidden */

static void hidden_entries_are_skipped_unless_asked_for(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("hidden");
    const char *tree[] = {".h",     ".d/",   ".d/f",  "a",        "sub/",
                          "sub/.x", "sub/y", ".git/", ".git/HEAD"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    const char *want[] = {"a", "sub/y"};
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_inputs(w, root, want, 2);

    void *second; /* a second job for the second walk */
    assert_int_equal(setup(&second), 0);
    walk_fixture *v = second;
    const char *all[] = {".d/f", ".h", "a", "sub/.x", "sub/y"};
    assert_int_equal(
        sluice_job_add(v->job, root, SLUICE_ADD_WALK | SLUICE_ADD_HIDDEN), 0);
    assert_inputs(v, root, all, 5);
    teardown(&second);
}

static void a_hidden_operand_is_walked(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("hidop");
    make(root, ".top/");
    make(root, ".top/f");
    make(root, ".top/.g");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/.top", root);
    const char *want[] = {".top/f"};
    assert_int_equal(sluice_job_add(w->job, p, SLUICE_ADD_WALK), 0);
    assert_inputs(w, root, want, 1);
}

/* ------------------------------------------------------ following links */

static void a_followed_link_to_a_file_is_that_file(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("flfile");
    make(root, "f");
    make(root, "sub/");
    make_link(root, "f", "lf");
    make_link(root, "../f", "sub/up-f");
    assert_int_equal(
        sluice_job_add(w->job, root, SLUICE_ADD_WALK | SLUICE_ADD_FOLLOW), 0);
    const char *want[] = {"f", "lf", "sub/up-f"};
    assert_inputs(w, root, want, 3);
    /* The target's stat data under the link's name. */
    struct stat f;
    assert_int_equal(stat(th_nth(&w->r, 0)->path, &f), 0);
    for (uint32_t i = 1; i < 3; i++) {
        const th_input *in = th_nth(&w->r, i);
        assert_true(in->stat_ok);
        assert_true(S_ISREG(in->st.st_mode));
        assert_int_equal(in->st.st_ino, f.st_ino);
        assert_int_equal(in->st.st_size, 1);
    }
}

static void a_followed_link_to_a_directory_is_walked(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("fldir");
    const char *tree[] = {".git/",         "d/",         "d/inner",
                          "d/e/",          "d/e/deeper", "ignored-dir/",
                          "ignored-dir/x", "z/",         "z/z"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    char abs_d[PATH_MAX];
    snprintf(abs_d, sizeof abs_d, "%s/d", root);
    make_link(root, "d", "ld");
    make_link(root, abs_d, "z/abs");
    /* Ignore rules see a followed link as what it points to: "li/" only
     * matches directories. */
    make_link(root, "ignored-dir", "li");
    put(root, ".gitignore", "li/\n");
    assert_int_equal(
        sluice_job_add(w->job, root, SLUICE_ADD_WALK | SLUICE_ADD_FOLLOW), 0);
    const char *want[] = {"d/e/deeper",  "d/inner",  "ignored-dir/x",
                          "ld/e/deeper", "ld/inner", "z/abs/e/deeper",
                          "z/abs/inner", "z/z"};
    assert_inputs(w, root, want, sizeof want / sizeof want[0]);
}

static void a_link_loop_is_an_eloop_input_and_the_walk_goes_on(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("flloop");
    const char *tree[] = {"a", "sub/", "sub/deep/", "sub/deep/g", "z"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    make_link(root, ".", "self");             /* the operand itself */
    make_link(root, "../..", "sub/deep/top"); /* two levels up */
    make_link(root, "loop-b", "loop-a");      /* links to each other */
    make_link(root, "loop-a", "loop-b");
    alarm(10); /* a loop followed forever would hang: fail instead */
    assert_int_equal(
        sluice_job_add(w->job, root, SLUICE_ADD_WALK | SLUICE_ADD_FOLLOW), 0);
    run(w);
    alarm(0);
    const want_t want[] = {
        {"a", 0},        {"loop-a", ELOOP}, {"loop-b", ELOOP},
        {"self", ELOOP}, {"sub/deep/g", 0}, {"sub/deep/top", ELOOP},
        {"z", 0},
    };
    assert_walk(w, root, want, sizeof want / sizeof want[0]);
}

static void a_broken_link_is_an_enoent_input(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("flbroken");
    make(root, "a");
    make(root, "sub/");
    make(root, "sub/c");
    make_link(root, "nowhere", "b-dangling");
    make_link(root, "../gone/x", "sub/b-dangling");
    assert_int_equal(
        sluice_job_add(w->job, root, SLUICE_ADD_WALK | SLUICE_ADD_FOLLOW), 0);
    const want_t want[] = {
        {"a", 0},
        {"b-dangling", ENOENT},
        {"sub/b-dangling", ENOENT},
        {"sub/c", 0},
    };
    assert_walk(w, root, want, sizeof want / sizeof want[0]);
}

static void the_same_links_are_skipped_without_follow(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("flnot");
    make(root, "a");
    make(root, "d/");
    make(root, "d/x");
    make_link(root, "a", "la");
    make_link(root, "d", "ld");
    make_link(root, ".", "self");
    make_link(root, "nowhere", "dangling");
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    const char *want[] = {"a", "d/x"};
    assert_inputs(w, root, want, 2);
}

/* ------------------------------------------------------- the iterator */

/* Pulls the walk's next entry into w's job, as the engine does: each
 * entry is one input.  Returns what sluice__walk_next returned. */
static int pull(walk_fixture *w, sluice__walk *wk)
{
    sluice__walk_entry e;
    uint32_t before = sluice_job_inputs(w->job);
    int r = sluice__walk_next(wk, &e);
    if (r == 1)
        assert_int_equal(sluice__job_push_input(
                             w->job, e.path, e.stat_ok ? &e.st : NULL, e.err),
                         0);
    assert_int_equal(sluice_job_inputs(w->job) - before, r == 1);
    return r;
}

/* Walks `root` through the iterator into w's job, `max` entries at a time
 * (as the engine expands a batch at a time). */
static void walk_in_steps(walk_fixture *w, const char *root, unsigned flags,
                          uint32_t max)
{
    sluice__walk *wk;
    assert_int_equal(sluice__walk_open(root, flags, NULL, &wk), 0);
    int r = 1;
    while (r == 1)
        for (uint32_t n = 0; n < max && (r = pull(w, wk)) == 1; n++)
            ;
    assert_int_equal(r, 0);
    assert_int_equal(pull(w, wk), 0); /* and stays over */
    sluice__walk_free(wk);
}

/* Makes a chain of `levels` directories `name` under root/rel, each
 * holding a file "a" before the next level and a file "f" after it, so
 * that the walk comes back to every level. */
static void make_chain(const char *root, const char *rel, int levels)
{
    char p[PATH_MAX];
    int n = snprintf(p, sizeof p, "%s/%s", root, rel);
    for (int i = 0; i < levels; i++) {
        assert_int_equal(mkdir(p, 0755), 0);
        n += snprintf(p + n, sizeof p - (size_t)n, "/a");
        tu_write(p, "a\n", 2);
        memcpy(p + n - 1, "f", 2);
        tu_write(p, "f\n", 2);
        memcpy(p + n - 1, "c", 2);
    }
}

static void walking_in_steps_gives_the_same_inputs_as_the_whole_walk(void **st)
{
    (void)st; /* each walk below has a job of its own */
    const char *root = test_dir("steps");
    char p[PATH_MAX];
    /* A wide directory, a deep one (deeper than the walk keeps open),
     * empty ones, hidden and ignored entries, a FIFO, links (followed with
     * FOLLOW: one into the deep chain from the top, one from inside it to
     * another chain, so frames entered through links are left with their
     * parents' descriptors closed), a loop and a broken link. */
    make(root, "wide/");
    for (int i = 0; i < 1200; i++) {
        snprintf(p, sizeof p, "wide/f%04d", (i * 7919) % 10000);
        make(root, p);
    }
    make_chain(root, "b", 45);
    make_chain(root, "e", 40);
    snprintf(p, sizeof p, "%s/e", root);
    make_link(root, p, "b/c/y");
    make_link(root, "b", "lnk");
    const char *tree[] = {"empty/", "empty/e2/", ".hidden",
                          "m.o",    "z",         ".git/"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    put(root, ".gitignore", "*.o\n");
    snprintf(p, sizeof p, "%s/fifo", root);
    assert_int_equal(mkfifo(p, 0644), 0);
    make_link(root, "..", "b/c/up");
    make_link(root, "nowhere", "dangling");

    const unsigned flag_sets[] = {
        SLUICE_ADD_WALK,
        SLUICE_ADD_WALK | SLUICE_ADD_FOLLOW | SLUICE_ADD_HIDDEN,
    };
    /* Inputs of the whole walk: 1200 + 2 x 45 + 2 x 40 + z; with links
     * followed and hidden entries also "lnk" (the b chain again), "b/c/y"
     * (the e chain, twice: under b and under lnk), the loop "up" (twice,
     * ELOOP), the broken link (ENOENT), .gitignore and .hidden. */
    const size_t counts[] = {1200 + 90 + 80 + 1,
                             1200 + 90 + 80 + 1 + 90 + 2 * 80 + 2 + 1 + 2};
    const uint32_t steps[] = {1, 3, 1000};
    for (size_t f = 0; f < 2; f++) {
        void *whole;
        assert_int_equal(setup(&whole), 0);
        walk_fixture *ww = whole;
        alarm(60);
        assert_int_equal(sluice_job_add(ww->job, root, flag_sets[f]), 0);
        run(ww);
        alarm(0);
        assert_int_equal(ww->r.n, counts[f]);
        for (size_t s = 0; s < 3; s++) {
            void *stepped;
            assert_int_equal(setup(&stepped), 0);
            walk_fixture *sw = stepped;
            alarm(60);
            walk_in_steps(sw, root, flag_sets[f], steps[s]);
            run(sw);
            alarm(0);
            assert_int_equal(sw->r.n, ww->r.n);
            for (uint32_t i = 0; i < ww->r.n; i++) {
                const th_input *a = th_nth(&sw->r, i), *b = th_nth(&ww->r, i);
                if (strcmp(a->path, b->path) != 0 || a->errnum != b->errnum)
                    fail_msg("flags %u, steps of %u: input %u is %s (%d), "
                             "want %s (%d)",
                             flag_sets[f], steps[s], i, a->path, a->errnum,
                             b->path, b->errnum);
            }
            teardown(&stepped);
        }
        teardown(&whole);
    }
}

static void a_file_removed_during_the_walk_is_an_enoent_input(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("vanish");
    const char *tree[] = {"a", "b", "c", "d", "z/", "z/y", "z/zz"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    sluice__walk *wk;
    assert_int_equal(sluice__walk_open(root, SLUICE_ADD_WALK, NULL, &wk), 0);
    assert_int_equal(pull(w, wk), 1);
    assert_int_equal(sluice_job_inputs(w->job), 1);
    /* The operand was read whole at the first step: "c" keeps its place
     * and fails; "z" was not read yet, so "z/zz" is simply not there. */
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/c", root);
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof p, "%s/z/zz", root);
    assert_int_equal(unlink(p), 0);
    while (pull(w, wk) == 1)
        ;
    sluice__walk_free(wk);
    const want_t want[] = {
        {"a", 0}, {"b", 0}, {"c", ENOENT}, {"d", 0}, {"z/y", 0},
    };
    assert_walk(w, root, want, sizeof want / sizeof want[0]);
}

static void an_operand_that_cannot_be_opened_fails_at_the_first_step(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("noop-open");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/missing", root);
    sluice__walk *wk;
    assert_int_equal(sluice__walk_open(p, SLUICE_ADD_WALK, NULL, &wk), 0);
    assert_int_equal(sluice_job_inputs(w->job), 0); /* opening is lazy */
    assert_int_equal(pull(w, wk), 1);
    assert_int_equal(pull(w, wk), 0);
    sluice__walk_free(wk);
    const want_t want[] = {{"missing", ENOENT}};
    assert_walk(w, root, want, 1);
}

/* ------------------------------------------------------------ deep trees */

/* Makes `levels` nested directories `name` under root, each level (and
 * the last directory) holding a file "f"; through descriptors, so that
 * trees deeper than PATH_MAX can be made. */
static void make_deep(const char *root, const char *name, int levels)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    for (int i = 0;; i++) {
        int ffd = openat(fd, "f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(ffd >= 0);
        assert_int_equal(write(ffd, "f\n", 2), 2);
        close(ffd);
        if (i == levels)
            break;
        assert_int_equal(mkdirat(fd, name, 0755), 0);
        int nfd = openat(fd, name, O_RDONLY | O_DIRECTORY);
        assert_true(nfd >= 0);
        close(fd);
        fd = nfd;
    }
    close(fd);
}

/* Walks a deep tree with the descriptor limit at 64, far below one per
 * level: the deepest file comes first ("name" < "f"), each level's "f"
 * after its subdirectory.  A path of PATH_MAX bytes or more cannot be
 * opened by name: such a file fails with ENAMETOOLONG, the others read. */
static void walk_deep(walk_fixture *w, const char *root, const char *name,
                      int levels, unsigned flags)
{
    make_deep(root, name, levels);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    alarm(120);
    int rc = sluice_job_add(w->job, root, flags);
    run(w);
    alarm(0);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(rc, 0);

    assert_int_equal(w->r.n, (size_t)levels + 1);
    size_t rl = strlen(root), nl = strlen(name);
    char *want = malloc(rl + (size_t)levels * (nl + 1) + 3);
    assert_non_null(want);
    size_t too_long = 0;
    for (int k = levels; k >= 0; k--) {
        size_t n = rl;
        memcpy(want, root, rl);
        for (int i = 0; i < k; i++) {
            want[n++] = '/';
            memcpy(want + n, name, nl);
            n += nl;
        }
        memcpy(want + n, "/f", 3);
        n += 2;
        const th_input *g = th_nth(&w->r, levels - k);
        if (strcmp(g->path, want) != 0)
            fail_msg("input %d: wrong path (%zu bytes, want %zu)", levels - k,
                     strlen(g->path), n);
        int e = n >= PATH_MAX ? ENAMETOOLONG : 0;
        if (g->errnum != e)
            fail_msg("input %d (%zu bytes): error %d, want %d", levels - k, n,
                     g->errnum, e);
        too_long += e != 0;
    }
    free(want);
    if (strcmp(name, "d") != 0)
        assert_true(too_long > 0); /* the case this tree is for */
}

static void a_tree_1500_levels_deep_walks_with_64_descriptors(void **st)
{
    walk_fixture *w = *st;
    walk_deep(w, test_dir("deep"), "d", 1500, SLUICE_ADD_WALK);
}

static void a_tree_deeper_than_path_max_walks_to_the_end(void **st)
{
    walk_fixture *w = *st;
    walk_deep(w, test_dir("deeper"), "ddd", 1200,
              SLUICE_ADD_WALK | SLUICE_ADD_FOLLOW);
}

/* ------------------------------------------------------------ patterns */

typedef struct pattern_case {
    const char *pattern; /* one line of an ignore file at the anchor */
    const char *path;    /* relative to the anchor */
    int is_dir;
    int want; /* 1 ignored, 0 re-included, -1 no match */
} pattern_case;

/* Answers as `git check-ignore -v` gives them (where it answers "ignored"
 * because a parent directory matches, the path itself does not: -1). */
static const pattern_case pattern_cases[] = {
    /* Plain names match at any depth, files and directories. */
    {"foo", "foo", 0, 1},
    {"foo", "a/b/foo", 0, 1},
    {"foo", "a/foo", 1, 1},
    {"foo", "foobar", 0, -1},
    {"foo", "a/foo/b", 0, -1}, /* the parent matches, not the path */
    /* Comments, blank lines, trailing spaces, escapes. */
    {"#foo", "#foo", 0, -1},
    {"\\#foo", "#foo", 0, 1},
    {"\\!foo", "!foo", 0, 1},
    {"foo   ", "foo", 0, 1},
    {"foo\\ ", "foo ", 0, 1},
    {"foo\\ ", "foo", 0, -1},
    {"a\\*b", "a*b", 0, 1},
    {"a\\*b", "axb", 0, -1},
    {"   ", " ", 0, -1},
    /* Negation. */
    {"!foo", "foo", 0, 0},
    {"!foo", "bar", 0, -1},
    /* Anchoring: a leading or middle slash. */
    {"/foo", "foo", 0, 1},
    {"/foo", "a/foo", 0, -1},
    {"a/foo", "a/foo", 0, 1},
    {"a/foo", "b/a/foo", 0, -1},
    {"a/*.c", "a/x.c", 0, 1},
    {"a/*.c", "a/b/x.c", 0, -1},
    /* Directories only. */
    {"build/", "build", 1, 1},
    {"build/", "build", 0, -1},
    {"build/", "src/build", 1, 1},
    {"/build/", "src/build", 1, -1},
    {"a/b/", "a/b", 1, 1},
    /* Wildcards stay inside one component. */
    {"*.o", "x.o", 0, 1},
    {"*.o", "d/x.o", 0, 1},
    {"*", "anything", 0, 1},
    {"a*", "a/b", 0, -1},
    {"d/*", "d/x", 0, 1},
    {"d/*", "d/x/y", 0, -1},
    {"?.c", "a.c", 0, 1},
    {"?.c", "ab.c", 0, -1},
    {"a?b", "a/b", 0, -1},
    {"[abc].c", "b.c", 0, 1},
    {"[abc].c", "d.c", 0, -1},
    {"[!abc].c", "d.c", 0, 1},
    {"[!abc].c", "a.c", 0, -1},
    {"[^abc].c", "d.c", 0, 1},
    {"[a-c]x", "bx", 0, 1},
    {"[a-c]x", "dx", 0, -1},
    {"[]]x", "]x", 0, 1},
    {"[a-]x", "-x", 0, 1},
    {"[[:digit:]]x", "7x", 0, 1},
    {"[[:digit:]]x", "ax", 0, -1},
    {"d/[/]x", "d//x", 0, -1},
    /* "**" forms. */
    {"**/foo", "foo", 0, 1},
    {"**/foo", "a/b/foo", 0, 1},
    {"**/a/foo", "a/foo", 0, 1},
    {"**/a/foo", "x/a/foo", 0, 1},
    {"**/a/foo", "x/b/foo", 0, -1},
    {"abc/**", "abc/x", 0, 1},
    {"abc/**", "abc/x/y", 0, 1},
    {"abc/**", "abc", 1, -1},
    {"a/**/b", "a/b", 0, 1},
    {"a/**/b", "a/x/b", 0, 1},
    {"a/**/b", "a/x/y/b", 0, 1},
    {"a/**/b", "a/xb", 0, -1},
    {"a**b", "axb", 0, 1},
    /* git matches the literal start ("a/x") apart, and what is left
     * starts with "**": a "**" of its own then. */
    {"a/x**/b", "a/x/y/b", 0, 1},
    {"a/x**/b", "a/xy/b", 0, 1},
    {"**", "a/b", 0, 1},
    {"a/**/", "a/b", 1, 1},
    {"a/**/", "a/b", 0, -1},
};

static void patterns_match_as_in_git(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof pattern_cases / sizeof pattern_cases[0];
         i++) {
        const pattern_case *c = &pattern_cases[i];
        sluice__ignore_list l = {0};
        assert_int_equal(
            sluice__ignore_list_parse(&l, "", c->pattern, strlen(c->pattern)),
            0);
        int got = sluice__ignore_list_match(&l, c->path, c->is_dir);
        sluice__ignore_list_free(&l);
        if (got != c->want)
            fail_msg("pattern '%s' path '%s'%s: got %d, want %d", c->pattern,
                     c->path, c->is_dir ? "/" : "", got, c->want);
    }
}

static void the_last_matching_line_wins(void **st)
{
    (void)st;
    const char *text = "# logs\n*.log\n!keep.log\n\nkeep.log.d/\n!/x/*.log\n";
    sluice__ignore_list l = {0};
    assert_int_equal(sluice__ignore_list_parse(&l, "sub", text, strlen(text)),
                     0);
    assert_int_equal(sluice__ignore_list_match(&l, "sub/a.log", 0), 1);
    assert_int_equal(sluice__ignore_list_match(&l, "sub/d/keep.log", 0), 0);
    assert_int_equal(sluice__ignore_list_match(&l, "sub/x/a.log", 0), 0);
    assert_int_equal(sluice__ignore_list_match(&l, "sub/y/x/a.log", 0), 1);
    /* Paths outside the file's directory are not its business. */
    assert_int_equal(sluice__ignore_list_match(&l, "other/a.log", 0), -1);
    assert_int_equal(sluice__ignore_list_match(&l, "subx/a.log", 0), -1);
    sluice__ignore_list_free(&l);
}

/* ------------------------------------------------------- ignore files */

static void gitignore_files_apply_inside_a_repository(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("gi");
    const char *tree[] = {
        ".git/",       ".git/info/",  "a.o",       "a.c",       "keep.o",
        "build/",      "build/x",     "src/",      "src/b.o",   "src/b.c",
        "src/gen/",    "src/gen/g.c", "src/one.c", "local.txt", "docs/",
        "docs/build/", "docs/build/y"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    put(root, ".gitignore", "*.o\n!keep.o\n/build/\n");
    /* Deeper files override shallower ones. */
    put(root, "src/.gitignore", "!b.o\ngen/\none.c\n");
    put(root, ".git/info/exclude", "local.txt\n");
    const char *want[] = {"a.c", "docs/build/y", "keep.o", "src/b.c",
                          "src/b.o"};
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_inputs(w, root, want, sizeof want / sizeof want[0]);
}

static void gitignore_files_outside_a_repository_are_not_read(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("norepo");
    make(root, "a.o");
    make(root, "b.tmp");
    make(root, "c");
    put(root, ".gitignore", "*.o\n");
    put(root, ".ignore", "*.tmp\n");
    const char *want[] = {"a.o", "c"};
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_inputs(w, root, want, 2);
}

static void dot_ignore_beats_gitignore_at_any_depth(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("dotig");
    const char *tree[] = {".git/", "a.log",     "b.log",
                          "sub/",  "sub/c.log", "sub/d.log"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    put(root, ".ignore", "!a.log\n!c.log\n");
    put(root, ".gitignore", "*.log\n");
    put(root, "sub/.gitignore", "!*.log\n");
    put(root, "sub/.ignore", "d.log\n");
    /* c.log: the root's .ignore beats sub/.gitignore; d.log: sub/.ignore
     * beats sub/.gitignore's re-inclusion. */
    const char *want[] = {"a.log", "sub/c.log"};
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_inputs(w, root, want, 2);
}

static void an_ignored_directory_cannot_have_files_reincluded(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("reinc");
    const char *tree[] = {".git/", "d/",     "d/keep", "d/x",
                          "e/",    "e/keep", "e/x"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    /* d is excluded; e's contents are, but e itself is not. */
    put(root, ".gitignore", "d/\n!d/keep\ne/*\n!e/keep\n");
    const char *want[] = {"e/keep"};
    assert_int_equal(sluice_job_add(w->job, root, SLUICE_ADD_WALK), 0);
    assert_inputs(w, root, want, 1);
}

static void parent_gitignore_files_apply_to_a_subdirectory_operand(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("parents");
    const char *tree[] = {".git/",     "a/",        "a/b/",
                          "a/b/x.o",   "a/b/top.c", "a/b/sub/",
                          "a/b/sub/y", "a/b/n.c",   "a/b/sub/z"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    put(root, ".gitignore", "*.o\n/a/b/top.c\n");
    put(root, "a/.gitignore", "b/sub/y\n");
    put(root, "a/b/.ignore", "n.c\n");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/a/b", root);
    const char *want[] = {"a/b/sub/z"};
    assert_int_equal(sluice_job_add(w->job, p, SLUICE_ADD_WALK), 0);
    assert_inputs(w, root, want, 1);
}

static void no_ignore_reads_no_ignore_files(void **st)
{
    walk_fixture *w = *st;
    const char *root = test_dir("noig");
    const char *tree[] = {".git/", ".git/info/", "a.o", "b",
                          "c.tmp", "d/",         "d/e"};
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
        make(root, tree[i]);
    put(root, ".gitignore", "*.o\nd/\n");
    put(root, ".ignore", "*.tmp\n");
    put(root, ".git/info/exclude", "b\n");
    const char *want[] = {"a.o", "b", "c.tmp", "d/e"};
    assert_int_equal(
        sluice_job_add(w->job, root, SLUICE_ADD_WALK | SLUICE_ADD_NO_IGNORE),
        0);
    assert_inputs(w, root, want, 4);
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
        T(a_followed_link_to_a_file_is_that_file),
        T(a_followed_link_to_a_directory_is_walked),
        T(a_link_loop_is_an_eloop_input_and_the_walk_goes_on),
        T(a_broken_link_is_an_enoent_input),
        T(the_same_links_are_skipped_without_follow),
        T(walking_in_steps_gives_the_same_inputs_as_the_whole_walk),
        T(a_file_removed_during_the_walk_is_an_enoent_input),
        T(an_operand_that_cannot_be_opened_fails_at_the_first_step),
        T(a_tree_1500_levels_deep_walks_with_64_descriptors),
        T(a_tree_deeper_than_path_max_walks_to_the_end),
        T(an_empty_directory_gives_no_inputs),
        T(a_file_operand_is_one_input_even_with_walk),
        T(a_directory_operand_without_walk_is_one_input),
        T(a_trailing_slash_on_the_operand_gives_clean_paths),
        T(walked_files_carry_their_stat_data),
        T(hidden_entries_are_skipped_unless_asked_for),
        T(a_hidden_operand_is_walked),
        T(patterns_match_as_in_git),
        T(the_last_matching_line_wins),
        T(gitignore_files_apply_inside_a_repository),
        T(gitignore_files_outside_a_repository_are_not_read),
        T(dot_ignore_beats_gitignore_at_any_depth),
        T(an_ignored_directory_cannot_have_files_reincluded),
        T(parent_gitignore_files_apply_to_a_subdirectory_operand),
        T(no_ignore_reads_no_ignore_files),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
