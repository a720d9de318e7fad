/*
 * fuzz/fuzz_archive.c -- archives as input: hostile archives must not crash,
 * leak or hang the engine.
 *
 * Byte 0 of the input picks the name's suffix (.tar, .tar.gz, .zip, .cpio,
 * ...), the rest is written under that name in a private temporary
 * directory and counted by a wc job through the public API (sluice.h),
 * inline (-j0), with archives and archives inside archives opened
 * (SLUICE_ADD_ARCHIVES | SLUICE_ADD_NESTED) and small bomb limits.  Errors
 * are expected; what is checked: every input is reported once, in order,
 * with a message when it failed, and the job returns 0 or SLUICE_EINPUT.
 * Nothing is ever extracted, so nothing is written outside the directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sluice/plugin.h"
#include "sluice/sluice.h"

static const char *const suffixes[] = {
    ".tar", ".tar.gz", ".tgz", ".zip", ".cpio",   ".ar",      ".7z",
    ".iso", ".gz",     ".jar", ".deb", ".tar.xz", ".tar.bz2", ".tar.zst"};
#define N_SUFFIXES (sizeof suffixes / sizeof suffixes[0])

static sluice_plugin_handle *handle;

typedef struct seen {
    uint32_t next; /* the input expected next */
    uint32_t failed;
} seen;

static void on_input(void *user, uint32_t input, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    seen *s = user;
    (void)partial;
    (void)offset;
    if (input != s->next)
        fuzz_fail("input %u reported, %u expected", input, s->next);
    s->next++;
    if (!in || !in->path)
        fuzz_fail("input %u without a path", input);
    if (errnum || message) {
        s->failed++;
        if (!message && errnum == 0)
            fuzz_fail("input %u failed without a cause", input);
    }
}

static int on_output(void *user, uint32_t input, const void *data, size_t len)
{
    (void)user;
    (void)input;
    (void)data;
    (void)len;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char so[4096], err[512];
    snprintf(so, sizeof so, "%s/plugins/wc/wc.so", fuzz_build_root());
    if (sluice_plugin_open(so, NULL, &handle, err, sizeof err) != 0)
        fuzz_fail("%s", err);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/in%s", fuzz_tmpdir(),
             suffixes[data[0] % N_SUFFIXES]);
    fuzz_write(path, data + 1, size - 1);

    seen s = {0, 0};
    sluice_job_opts opts = {.jobs = 0};
    sluice_callbacks cb = {
        .user = &s, .on_input = on_input, .on_output = on_output};
    sluice_job *job = NULL;
    if (sluice_job_new(handle, &opts, &cb, &job, err, sizeof err) != 0)
        fuzz_fail("job_new: %s", err);
    /* A bomb stops early: 64 MiB out, 1000 entries, 2 levels of nesting. */
    sluice_archive_limits lim = {.max_bytes = (uint64_t)64 << 20,
                                 .max_ratio = 1000,
                                 .max_entries = 1000,
                                 .max_depth = 2};
    sluice_job_archive_limits(job, &lim);
    if (sluice_job_add(job, path, SLUICE_ADD_ARCHIVES | SLUICE_ADD_NESTED) != 0)
        fuzz_fail("job_add failed");
    int rc = sluice_job_run(job, err, sizeof err);
    if (rc != 0 && rc != SLUICE_EINPUT)
        fuzz_fail("job failed: %s: %s", sluice_err_name(rc), err);
    if (rc == SLUICE_EINPUT && s.failed == 0)
        fuzz_fail("job says an input failed, none was reported");
    if (s.next != sluice_job_inputs(job))
        fuzz_fail("%u inputs reported of %u", s.next, sluice_job_inputs(job));
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz: %s: %u inputs, %u failed\n", path, s.next,
                s.failed);
    sluice_job_free(job);
    remove(path);
    return 0;
}
