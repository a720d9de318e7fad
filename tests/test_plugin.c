/*
 * test_plugin.c -- the plugin loader and option schema (engine/plugin.c).
 *
 * Uses the test plugins built in tests/plugins (SLUICE_TEST_PLUGIN_DIR):
 * badabi (ABI major + 1), newminor (ABI minor + 1), framed (ABI 1.1 fields
 * set) and summer (a good one, with a string option crash_marker and a
 * bool option crash_always).  Descriptors built here stand for plugins
 * that set fields newer than the minor version they declare.
 * Refusals must come with a message that names the file and, for version
 * mismatches, both versions; a refused plugin never yields a handle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "sluice/sluice.h"
#include "util.h"

#define ERRLEN 1024

/* Asserts that `hay` contains `needle`, saying what it held otherwise. */
static void assert_mentions(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("message \"%s\" does not mention \"%s\"", hay, needle);
}

/* Opens `name` and expects refusal with `code`; returns the message. */
static void expect_refusal(const char *name, int code, char *err)
{
    sluice_plugin_handle *h = (sluice_plugin_handle *)&h; /* not NULL */
    err[0] = '\0';
    int rc = sluice_plugin_open(name, NULL, &h, err, ERRLEN);
    if (rc != code)
        fail_msg("open %s: got %s, want %s (%s)", name, sluice_err_name(rc),
                 sluice_err_name(code), err);
    assert_null(h);
    assert_true(err[0] != '\0');
}

/* Copies file `from` to `to` with mode `mode`. */
static void copy_file(const char *from, const char *to, mode_t mode)
{
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, in);
    assert_true(n > 0 && n < sizeof buf);
    fclose(in);
    tu_write(to, buf, n);
    assert_int_equal(chmod(to, mode), 0);
}

/* The directory holding the test plugins, absolute. */
static const char *plugin_dir(void)
{
    static char dir[PATH_MAX];
    char *p = realpath(tu_plugin("summer"), NULL);
    assert_non_null(p);
    snprintf(dir, sizeof dir, "%s", p);
    free(p);
    *strrchr(dir, '/') = '\0';
    return dir;
}

/* ------------------------------------------------------------ versions */

static void
a_plugin_for_another_abi_major_is_refused_naming_both_versions(void **st)
{
    (void)st;
    char err[ERRLEN], theirs[32], ours[32];
    expect_refusal(tu_plugin("badabi"), SLUICE_EABI, err);
    snprintf(theirs, sizeof theirs, "%d.0", SLUICE_PLUGIN_ABI_MAJOR + 1);
    snprintf(ours, sizeof ours, "%d.%d", SLUICE_PLUGIN_ABI_MAJOR,
             SLUICE_PLUGIN_ABI_MINOR);
    char want[ERRLEN + PATH_MAX];
    snprintf(want, sizeof want,
             "%s: plugin ABI %s is not supported by this sluice (ABI %s)",
             tu_plugin("badabi"), theirs, ours);
    assert_string_equal(err, want);
}

static void
a_plugin_for_a_newer_abi_minor_is_refused_naming_both_versions(void **st)
{
    (void)st;
    char err[ERRLEN], theirs[32], ours[32];
    expect_refusal(tu_plugin("newminor"), SLUICE_EABI, err);
    snprintf(theirs, sizeof theirs, "%d.%d", SLUICE_PLUGIN_ABI_MAJOR,
             SLUICE_PLUGIN_ABI_MINOR + 1);
    snprintf(ours, sizeof ours, "%d.%d", SLUICE_PLUGIN_ABI_MAJOR,
             SLUICE_PLUGIN_ABI_MINOR);
    char want[ERRLEN + PATH_MAX];
    snprintf(want, sizeof want,
             "%s: plugin ABI %s is not supported by this sluice (ABI %s)",
             tu_plugin("newminor"), theirs, ours);
    assert_string_equal(err, want);
}

static void a_good_plugin_loads_with_its_descriptor_and_path(void **st)
{
    (void)st;
    sluice_plugin_handle *h = NULL;
    char err[ERRLEN] = "";
    assert_int_equal(
        sluice_plugin_open(tu_plugin("summer"), NULL, &h, err, sizeof err), 0);
    assert_non_null(h);
    const sluice_plugin *d = sluice_plugin_get(h);
    assert_string_equal(d->name, "summer");
    assert_int_equal(d->abi_major, SLUICE_PLUGIN_ABI_MAJOR);
    assert_string_equal(sluice_plugin_path(h), tu_plugin("summer"));
    sluice_plugin_close(h);
}

/* A hook for the descriptors below; never called. */
static uint64_t any_boundary(sluice_ctx *ctx, sluice_read_fn read, void *src,
                             uint64_t at, uint64_t want, uint64_t size)
{
    (void)ctx;
    (void)read;
    (void)src;
    (void)want;
    (void)size;
    return at + 1;
}

static void
fields_newer_than_the_declared_minor_are_ignored_and_named(void **st)
{
    (void)st;
    /* Written with the 1.1 header, declaring 1.0: the host reads neither
     * field, as from a plugin really built for 1.0. */
    sluice_plugin d = {
        .size = sizeof(sluice_plugin),
        .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
        .abi_minor = 0,
        .name = "old",
        .boundary = any_boundary,
        .lookbehind = 16,
    };
    sluice_plugin_handle h = {.desc = &d};
    assert_null(sluice__boundary(&d));
    assert_int_equal(sluice__lookbehind(&d), 0);
    const char *names[2] = {NULL, NULL};
    assert_int_equal(sluice_plugin_ignored_fields(&h, names, 2), 2);
    assert_string_equal(names[0], "boundary");
    assert_string_equal(names[1], "lookbehind");

    /* Room for one: the count is still all of them. */
    names[0] = names[1] = NULL;
    assert_int_equal(sluice_plugin_ignored_fields(&h, names, 1), 2);
    assert_string_equal(names[0], "boundary");
    assert_null(names[1]);

    /* One set, one not. */
    d.boundary = NULL;
    assert_int_equal(sluice_plugin_ignored_fields(&h, names, 2), 1);
    assert_string_equal(names[0], "lookbehind");

    /* Declaring 1.1, both are read and none is ignored. */
    d.abi_minor = 1;
    d.boundary = any_boundary;
    assert_true(sluice__boundary(&d) == any_boundary);
    assert_int_equal(sluice__lookbehind(&d), 16);
    assert_int_equal(sluice_plugin_ignored_fields(&h, names, 2), 0);

    /* Declaring 1.0 and setting neither is a plain 1.0 plugin. */
    d.abi_minor = 0;
    d.boundary = NULL;
    d.lookbehind = 0;
    assert_int_equal(sluice_plugin_ignored_fields(&h, names, 2), 0);
}

static void a_loaded_1_1_plugin_has_no_ignored_fields(void **st)
{
    (void)st;
    sluice_plugin_handle *h = NULL;
    char err[ERRLEN] = "";
    assert_int_equal(
        sluice_plugin_open(tu_plugin("framed"), NULL, &h, err, sizeof err), 0);
    const sluice_plugin *d = sluice_plugin_get(h);
    assert_non_null(d->boundary);
    assert_true(d->lookbehind > 0);
    const char *names[2];
    assert_int_equal(sluice_plugin_ignored_fields(h, names, 2), 0);
    sluice_plugin_close(h);
}

/* -------------------------------------------------------------- files */

static void a_group_or_world_writable_plugin_is_refused(void **st)
{
    (void)st;
    char dir[PATH_MAX], path[PATH_MAX + 16], err[ERRLEN];
    snprintf(dir, sizeof dir, "%s/writable", tu_tmpdir());
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/summer.so", dir);
    const mode_t bad[] = {0664, 0646, 0666, 0775};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        copy_file(tu_plugin("summer"), path, bad[i]);
        expect_refusal(path, SLUICE_EPLUGIN, err);
        char want[ERRLEN + PATH_MAX];
        snprintf(want, sizeof want,
                 "%s: refusing a group- or world-writable plugin", path);
        assert_string_equal(err, want);
    }
    /* The same file, not writable by others, loads: the mode was why. */
    assert_int_equal(chmod(path, 0644), 0);
    sluice_plugin_handle *h = NULL;
    assert_int_equal(sluice_plugin_open(path, NULL, &h, err, sizeof err), 0);
    sluice_plugin_close(h);
}

static void a_missing_plugin_is_not_found_with_a_message(void **st)
{
    (void)st;
    char err[ERRLEN], path[PATH_MAX];
    /* By name: searched and not found anywhere. */
    expect_refusal("no-such-plugin", SLUICE_ENOTFOUND, err);
    assert_mentions(err, "no-such-plugin");
    /* By path. */
    snprintf(path, sizeof path, "%s/absent/nothing.so", tu_tmpdir());
    expect_refusal(path, SLUICE_ENOTFOUND, err);
    char want[ERRLEN + PATH_MAX];
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(err, want);
    /* A name that is not a plugin name is not searched for. */
    expect_refusal("Summer", SLUICE_ENOTFOUND, err);
    assert_mentions(err, "Summer");
}

static void a_file_that_is_not_a_plugin_is_refused_by_name(void **st)
{
    (void)st;
    char path[PATH_MAX], err[ERRLEN];
    snprintf(path, sizeof path, "%s/text.so", tu_tmpdir());
    const char text[] = "this is not a shared object\n";
    tu_write(path, text, sizeof text - 1);
    assert_int_equal(chmod(path, 0644), 0);
    expect_refusal(path, SLUICE_EPLUGIN, err);
    assert_mentions(err, path);
    /* An empty file too. */
    snprintf(path, sizeof path, "%s/empty.so", tu_tmpdir());
    tu_write(path, "", 0);
    assert_int_equal(chmod(path, 0644), 0);
    expect_refusal(path, SLUICE_EPLUGIN, err);
    assert_mentions(err, path);
}

/* ------------------------------------------------------------- search */

static void a_plugin_is_found_by_name_through_sluice_plugin_path(void **st)
{
    (void)st;
    char env[2 * PATH_MAX + 64], want[PATH_MAX + 16], empty[PATH_MAX],
        err[ERRLEN];
    const char *old = getenv("SLUICE_PLUGIN_PATH");
    char *saved = old ? strdup(old) : NULL;
    const char *dir = plugin_dir();
    snprintf(empty, sizeof empty, "%s/emptydir", tu_tmpdir());
    assert_int_equal(mkdir(empty, 0755), 0);

    /* Not in any searched directory: not found. */
    assert_int_equal(setenv("SLUICE_PLUGIN_PATH", empty, 1), 0);
    expect_refusal("summer", SLUICE_ENOTFOUND, err);
    assert_mentions(err, "summer");

    /* Found in a later entry, after an empty one and a missing one. */
    snprintf(env, sizeof env, "%s::/nonexistent/dir:%s", empty, dir);
    assert_int_equal(setenv("SLUICE_PLUGIN_PATH", env, 1), 0);
    sluice_plugin_handle *h = NULL;
    err[0] = '\0';
    int rc = sluice_plugin_open("summer", NULL, &h, err, sizeof err);
    if (rc != 0)
        fail_msg("open summer via %s: %s", env, err);
    snprintf(want, sizeof want, "%s/summer.so", dir);
    assert_string_equal(sluice_plugin_path(h), want);
    assert_string_equal(sluice_plugin_get(h)->name, "summer");
    sluice_plugin_close(h);

    /* The ABI check applies to plugins found by name as well. */
    expect_refusal("badabi", SLUICE_EABI, err);

    if (saved) {
        setenv("SLUICE_PLUGIN_PATH", saved, 1);
        free(saved);
    } else {
        unsetenv("SLUICE_PLUGIN_PATH");
    }
}

/* ------------------------------------------------------------ options */

static void options_are_validated_against_the_schema(void **st)
{
    (void)st;
    sluice_plugin_handle *h = NULL;
    char err[ERRLEN];
    assert_int_equal(
        sluice_plugin_open(tu_plugin("summer"), NULL, &h, err, sizeof err), 0);
    /* Defaults before anything is set. */
    assert_string_equal(sluice__plugin_option(h, "crash_marker"), "");
    assert_int_equal(sluice__plugin_option_int(h, "crash_always"), 0);

    /* Good values are accepted and read back. */
    const char *truthy[] = {"true", "1", "yes", "on", "TRUE", "Yes"};
    for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
        assert_int_equal(sluice_plugin_set_option(h, "crash_always", truthy[i],
                                                  err, sizeof err),
                         0);
        assert_int_equal(sluice__plugin_option_int(h, "crash_always"), 1);
    }
    const char *falsy[] = {"false", "0", "no", "off", "OFF"};
    for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++) {
        assert_int_equal(sluice_plugin_set_option(h, "crash_always", falsy[i],
                                                  err, sizeof err),
                         0);
        assert_int_equal(sluice__plugin_option_int(h, "crash_always"), 0);
    }
    assert_int_equal(sluice_plugin_set_option(h, "crash_marker",
                                              "/tmp/any thing: at=all", err,
                                              sizeof err),
                     0);
    assert_string_equal(sluice__plugin_option(h, "crash_marker"),
                        "/tmp/any thing: at=all");

    /* A bad boolean is refused, naming the option and the value, and the
     * value set before stays. */
    assert_int_equal(
        sluice_plugin_set_option(h, "crash_always", "yes", err, sizeof err), 0);
    const char *bad[] = {"maybe", "", "2", "truee", "y e s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = sluice_plugin_set_option(h, "crash_always", bad[i], err,
                                          sizeof err);
        if (rc != SLUICE_EOPTION)
            fail_msg("crash_always=\"%s\" was accepted", bad[i]);
        char want[ERRLEN];
        snprintf(want, sizeof want, "option crash_always: invalid boolean '%s'",
                 bad[i]);
        assert_string_equal(err, want);
        assert_int_equal(sluice__plugin_option_int(h, "crash_always"), 1);
    }

    /* An unknown key is refused, naming it. */
    err[0] = '\0';
    assert_int_equal(
        sluice_plugin_set_option(h, "no_such_option", "1", err, sizeof err),
        SLUICE_EOPTION);
    assert_string_equal(err, "plugin summer has no option 'no_such_option'");
    assert_null(sluice__plugin_option(h, "no_such_option"));
    sluice_plugin_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            a_plugin_for_another_abi_major_is_refused_naming_both_versions),
        cmocka_unit_test(
            a_plugin_for_a_newer_abi_minor_is_refused_naming_both_versions),
        cmocka_unit_test(a_good_plugin_loads_with_its_descriptor_and_path),
        cmocka_unit_test(
            fields_newer_than_the_declared_minor_are_ignored_and_named),
        cmocka_unit_test(a_loaded_1_1_plugin_has_no_ignored_fields),
        cmocka_unit_test(a_group_or_world_writable_plugin_is_refused),
        cmocka_unit_test(a_missing_plugin_is_not_found_with_a_message),
        cmocka_unit_test(a_file_that_is_not_a_plugin_is_refused_by_name),
        cmocka_unit_test(a_plugin_is_found_by_name_through_sluice_plugin_path),
        cmocka_unit_test(options_are_validated_against_the_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
