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

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ignore.h"
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
    /* Even with hidden entries and ignored ones asked for (".gitignore"
     * holds its own name). */
    assert_int_equal(sluice_job_add(w->job, root,
                                    SLUICE_ADD_WALK | SLUICE_ADD_HIDDEN |
                                        SLUICE_ADD_NO_IGNORE),
                     0);
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
    assert_inputs(w->job, root, want, 2);

    void *second; /* a second job for the second walk */
    assert_int_equal(setup(&second), 0);
    walk_fixture *v = second;
    const char *all[] = {".d/f", ".h", "a", "sub/.x", "sub/y"};
    assert_int_equal(
        sluice_job_add(v->job, root, SLUICE_ADD_WALK | SLUICE_ADD_HIDDEN), 0);
    assert_inputs(v->job, root, all, 5);
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
    assert_inputs(w->job, root, want, 1);
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

/* Writes `text` to root/rel. */
static void put(const char *root, const char *rel, const char *text)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    tu_write(p, text, strlen(text));
}

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
    assert_inputs(w->job, root, want, sizeof want / sizeof want[0]);
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
    assert_inputs(w->job, root, want, 2);
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
    assert_inputs(w->job, root, want, 2);
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
    assert_inputs(w->job, root, want, 1);
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
    assert_inputs(w->job, root, want, 1);
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
    assert_inputs(w->job, root, want, 4);
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
