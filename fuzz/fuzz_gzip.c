/*
 * fuzz/fuzz_gzip.c -- what the gzip plugin writes, zlib reads back.
 *
 * Byte 0 of the input picks the options (level 1..12, or 1..9 in single
 * mode and without libdeflate; single mode; no_name), the rest is the data.
 * It is written to a file in a private temporary directory and compressed
 * by a job through the public API (sluice.h), inline (-j0), as `sluice
 * gzip` runs it; single mode gets the final block and trailer appended from
 * the counters, as the command does.  zlib (every member, concatenation as
 * gzip reads it) must give the data back exactly, and so must gzread.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "gzread.h"
#include "sluice/plugin.h"
#include "sluice/sluice.h"

static sluice_plugin_handle *handle;
static const sluice_plugin *desc;
static int c_crc = -1, c_len = -1;
static char path[4096];

typedef struct run {
    sluice_job *job;
    fuzz_buf out;
    int errors;
    char msg[256];
    uint64_t ctr[8];
} run;

static void on_input(void *user, uint32_t input, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    run *r = user;
    (void)input;
    (void)in;
    (void)offset;
    if (errnum || message) {
        r->errors++;
        snprintf(r->msg, sizeof r->msg, "%s", message ? message : "");
    }
    if (partial)
        sluice_job_counters(r->job, partial, r->ctr);
}

static int on_output(void *user, uint32_t input, const void *data, size_t len)
{
    run *r = user;
    (void)input;
    fuzz_buf_add(&r->out, data, len);
    return 0;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Every member of g through zlib; 0 when all decode and nothing follows. */
static int zlib_decode(const fuzz_buf *g, fuzz_buf *out)
{
    size_t pos = 0;
    do {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
            abort();
        z.next_in = g->p + pos;
        z.avail_in = (uInt)(g->len - pos);
        unsigned char tmp[16384];
        int rc;
        do {
            z.next_out = tmp;
            z.avail_out = sizeof tmp;
            rc = inflate(&z, Z_NO_FLUSH);
            fuzz_buf_add(out, tmp, sizeof tmp - z.avail_out);
        } while (rc == Z_OK);
        pos = g->len - z.avail_in;
        inflateEnd(&z);
        if (rc != Z_STREAM_END)
            return -1;
    } while (pos < g->len);
    return 0;
}

typedef struct pull_src {
    const fuzz_buf *g;
    size_t at;
} pull_src;

static ssize_t pull(void *arg, void *b, size_t n)
{
    pull_src *s = arg;
    if (n > s->g->len - s->at)
        n = s->g->len - s->at;
    memcpy(b, s->g->p + s->at, n);
    s->at += n;
    return (ssize_t)n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char so[4096], err[512];
    snprintf(so, sizeof so, "%s/plugins/gzip/gzip.so", fuzz_build_root());
    if (sluice_plugin_open(so, NULL, &handle, err, sizeof err) != 0)
        fuzz_fail("%s", err);
    desc = sluice_plugin_get(handle);
    for (uint32_t i = 0; i < desc->n_counters && i < 8; i++) {
        if (strcmp(desc->counter_names[i], "crc32") == 0)
            c_crc = (int)i;
        if (strcmp(desc->counter_names[i], "length") == 0)
            c_len = (int)i;
    }
    if (c_crc < 0 || c_len < 0)
        fuzz_fail("gzip plugin without crc32/length counters");
    snprintf(path, sizeof path, "%s/data", fuzz_tmpdir());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int single = (data[0] >> 4) & 1;
    int no_name = (data[0] >> 5) & 1;
    int level = 1 + data[0] % 12;
    if (single && level > 9)
        level -= 9;
    char lv[8], err[512];
    snprintf(lv, sizeof lv, "%d", level);
    if (sluice_plugin_set_option(handle, "level", lv, err, sizeof err) != 0) {
        level = 1 + level % 9; /* no libdeflate: zlib's 1..9 */
        snprintf(lv, sizeof lv, "%d", level);
        if (sluice_plugin_set_option(handle, "level", lv, err, sizeof err))
            fuzz_fail("level %s: %s", lv, err);
    }
    if (sluice_plugin_set_option(handle, "single", single ? "true" : "false",
                                 err, sizeof err) != 0 ||
        sluice_plugin_set_option(handle, "no_name", no_name ? "true" : "false",
                                 err, sizeof err) != 0)
        fuzz_fail("gzip options: %s", err);
    fuzz_write(path, data + 1, size - 1);

    run r;
    memset(&r, 0, sizeof r);
    sluice_job_opts opts = {.jobs = 0,
                            .chunk_size = single ? (size_t)1 << 20 : 0};
    sluice_callbacks cb = {
        .user = &r, .on_input = on_input, .on_output = on_output};
    sluice_job *job = NULL;
    if (sluice_job_new(handle, &opts, &cb, &job, err, sizeof err) != 0)
        fuzz_fail("job_new: %s", err);
    r.job = job;
    if (sluice_job_add(job, path, 0) != 0)
        fuzz_fail("job_add failed");
    int rc = sluice_job_run(job, err, sizeof err);
    sluice_job_free(job);
    if (rc != 0 || r.errors)
        fuzz_fail("gzip level %d%s: %s%s", level, single ? " single" : "",
                  rc ? err : "", r.msg);
    if (single) {
        unsigned char tail[10] = {0x03, 0x00};
        put_le32(tail + 2, (uint32_t)r.ctr[c_crc]);
        put_le32(tail + 6, (uint32_t)r.ctr[c_len]);
        fuzz_buf_add(&r.out, tail, sizeof tail);
    }
    fuzz_buf back = {NULL, 0, 0};
    if (zlib_decode(&r.out, &back) != 0)
        fuzz_fail("zlib cannot decode gzip level %d%s output", level,
                  single ? " single" : "");
    if (back.len != size - 1 ||
        (back.len && memcmp(back.p, data + 1, back.len) != 0))
        fuzz_fail("gzip level %d%s: zlib decodes %zu bytes, not the %zu "
                  "given",
                  level, single ? " single" : "", back.len, size - 1);
    back.len = 0;

    pull_src ps = {&r.out, 0};
    sluice__gzr *z = NULL;
    if (sluice__gzr_new(pull, &ps, &z) != 0)
        fuzz_fail("sluice__gzr_new failed");
    unsigned char tmp[16384];
    ssize_t got;
    while ((got = sluice__gzr_read(z, tmp, sizeof tmp)) > 0)
        fuzz_buf_add(&back, tmp, (size_t)got);
    if (got < 0)
        fuzz_fail("gzread: %s", sluice__gzr_error(z, NULL));
    if (back.len != size - 1 ||
        (back.len && memcmp(back.p, data + 1, back.len) != 0))
        fuzz_fail("gzread decodes other bytes than were compressed");
    sluice__gzr_free(z);
    free(back.p);
    free(r.out.p);
    return 0;
}
