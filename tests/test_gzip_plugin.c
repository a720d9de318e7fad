/*
 * test_gzip_plugin.c -- the gzip plugin (plugins/gzip/gzip.c), end to end.
 *
 * Loads $SLUICE_BUILD_ROOT/plugins/gzip/gzip.so through the engine API and
 * compresses a set of files with 1 MiB units.  The oracle is someone else's
 * code: zlib inflates every member (and GNU gzip -dc one whole stream) back
 * to the exact input.  Also checked: the bytes do not depend on the number
 * of workers; each member's FEXTRA 'SL' subfield holds its real length;
 * FNAME and MTIME appear on a file's first member only, and not at all with
 * no_name; a level outside 1..12 is refused before any work.
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
#include <zlib.h>

#include "sluice/sluice.h"
#include "util.h"

#define ERRLEN 1024
#define MiB ((size_t)1 << 20)
#define CHUNK MiB

/* ------------------------------------------------------------- inputs */

enum { N_INPUTS = 6 };

typedef struct input_file {
    const char *base; /* file name inside the temporary directory */
    size_t len;       /* its size */
    int random;       /* incompressible bytes, else text */
    char path[PATH_MAX];
    unsigned char *data; /* its contents */
    uint32_t mtime;      /* st_mtime */
} input_file;

static input_file inputs[N_INPUTS] = {
    {"empty", 0, 0, "", NULL, 0},
    {"one", 1, 0, "", NULL, 0},
    {"exact-1MiB", MiB, 0, "", NULL, 0},
    {"1MiB-plus-1", MiB + 1, 1, "", NULL, 0},
    {"random-3.5MiB", 3 * MiB + MiB / 2, 1, "", NULL, 0},
    {"text-5MiB", 5 * MiB, 0, "", NULL, 0},
};

/* Fills buf with words from a small vocabulary and some numbers: text that
 * compresses, but not to nothing. */
static void fill_text(unsigned char *buf, size_t len, uint64_t *seed)
{
    static const char *const words[] = {
        "sluice", "gate",   "water", "member", "deflate", "the",
        "of",     "and",    "chunk", "worker", "ring",    "order",
        "byte",   "stream", "a",     "level",
    };
    size_t i = 0;
    while (i < len) {
        uint64_t r = tu_rand(seed);
        char w[32];
        int n;
        if ((r & 15) == 0)
            n = snprintf(w, sizeof w, "%u", (unsigned)(r >> 40) % 100000u);
        else
            n = snprintf(w, sizeof w, "%s", words[(r >> 8) % 16]);
        w[n++] = (r >> 20) % 11 == 0 ? '\n' : ' ';
        for (int k = 0; k < n && i < len; k++)
            buf[i++] = (unsigned char)w[k];
    }
}

static int make_inputs(void **st)
{
    (void)st;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < N_INPUTS; i++) {
        input_file *f = &inputs[i];
        f->data = malloc(f->len ? f->len : 1);
        if (!f->data)
            return -1;
        if (f->random)
            for (size_t k = 0; k < f->len; k++)
                f->data[k] = (unsigned char)(tu_rand(&seed) >> 56);
        else
            fill_text(f->data, f->len, &seed);
        snprintf(f->path, sizeof f->path, "%s/%s", tu_tmpdir(), f->base);
        tu_write(f->path, f->data, f->len);
        struct stat sb;
        if (stat(f->path, &sb) != 0)
            return -1;
        f->mtime = (uint32_t)sb.st_mtime;
    }
    return 0;
}

static int free_inputs(void **st)
{
    (void)st;
    for (int i = 0; i < N_INPUTS; i++)
        free(inputs[i].data);
    return 0;
}

/* ---------------------------------------------------------- running */

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf;

/* What one job produced: the output bytes of each input, and the inputs'
 * errors. */
typedef struct run_out {
    buf out[N_INPUTS];
    uint32_t last_input; /* inputs must arrive in order */
    int errors;
} run_out;

static int on_output(void *user, uint32_t input, const void *data, size_t len)
{
    run_out *r = user;
    if (input >= N_INPUTS || input < r->last_input)
        return -22; /* -EINVAL: fails the job */
    r->last_input = input;
    buf *b = &r->out[input];
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p)
            return -12; /* -ENOMEM */
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}

static void on_input(void *user, uint32_t input, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    run_out *r = user;
    (void)partial;
    (void)offset;
    if (errnum || (message && *message)) {
        print_error("input %u (%s): %s\n", input, in->path,
                    message ? message : "");
        r->errors++;
    }
}

static void run_out_free(run_out *r)
{
    for (int i = 0; i < N_INPUTS; i++)
        free(r->out[i].p);
    memset(r, 0, sizeof *r);
}

static const char *gzip_so(void)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/plugins/gzip/gzip.so", tu_build_root());
    return path;
}

static sluice_plugin_handle *open_gzip(void)
{
    sluice_plugin_handle *h = NULL;
    char err[ERRLEN] = "";
    if (sluice_plugin_open(gzip_so(), NULL, &h, err, sizeof err) != 0)
        fail_msg("open %s: %s", gzip_so(), err);
    return h;
}

static void set_opt(sluice_plugin_handle *h, const char *key, const char *v)
{
    char err[ERRLEN] = "";
    if (sluice_plugin_set_option(h, key, v, err, sizeof err) != 0)
        fail_msg("%s=%s: %s", key, v, err);
}

/* Compresses every input in one job. */
static void run_gzip(int level, int no_name, int jobs, run_out *r)
{
    char lv[16], err[ERRLEN] = "";
    sluice_plugin_handle *h = open_gzip();
    snprintf(lv, sizeof lv, "%d", level);
    set_opt(h, "level", lv);
    set_opt(h, "no_name", no_name ? "true" : "false");

    memset(r, 0, sizeof *r);
    sluice_job_opts opts = {.jobs = jobs, .chunk_size = CHUNK};
    sluice_callbacks cb = {
        .user = r, .on_input = on_input, .on_output = on_output};
    sluice_job *job = NULL;
    if (sluice_job_new(h, &opts, &cb, &job, err, sizeof err) != 0)
        fail_msg("job_new: %s", err);
    for (int i = 0; i < N_INPUTS; i++)
        assert_int_equal(sluice_job_add(job, inputs[i].path, 0), 0);
    int rc = sluice_job_run(job, err, sizeof err);
    if (rc != 0)
        fail_msg("level %d jobs %d: run: %s (%s)", level, jobs,
                 sluice_err_name(rc), err);
    assert_int_equal(r->errors, 0);
    sluice_job_free(job);
    sluice_plugin_close(h);
}

/* ----------------------------------------------------------- checking */

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
    return le16(p) | le16(p + 2) << 16;
}

/* The parsed header of one member. */
typedef struct member {
    size_t size;       /* the FEXTRA 'SL' value */
    uint32_t mtime;    /* MTIME */
    const char *name;  /* FNAME inside the buffer, or NULL */
    uint32_t isize;    /* ISIZE from the trailer */
    unsigned char xfl; /* XFL */
} member;

/* Parses the member at p (n bytes left), failing the test on anything that
 * is not the documented layout. */
static member parse_member(const unsigned char *p, size_t n)
{
    member m = {0, 0, NULL, 0, 0};
    assert_true(n >= 20 + 8);
    assert_int_equal(p[0], 0x1f);
    assert_int_equal(p[1], 0x8b);
    assert_int_equal(p[2], 8);
    unsigned flg = p[3];
    assert_true((flg & 0x04) != 0);    /* FEXTRA always */
    assert_int_equal(flg & ~0x0cu, 0); /* nothing but FEXTRA, FNAME */
    m.mtime = le32(p + 4);
    m.xfl = p[8];
    assert_int_equal(p[9], 3);
    assert_int_equal(le16(p + 10), 8);
    assert_int_equal(p[12], 'S');
    assert_int_equal(p[13], 'L');
    assert_int_equal(le16(p + 14), 4);
    m.size = le32(p + 16);
    assert_true(m.size >= 20 + 8 && m.size <= n);
    if (flg & 0x08) {
        m.name = (const char *)p + 20;
        assert_non_null(memchr(m.name, '\0', m.size - 20 - 8));
    }
    m.isize = le32(p + m.size - 4);
    return m;
}

/* Inflates the gzip member at p with zlib; returns how many bytes of p it
 * used and appends the output to *out. */
static size_t inflate_member(const unsigned char *p, size_t n, buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
    z.next_in = (unsigned char *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    int rc;
    do {
        if (out->cap - out->len < 65536) {
            out->cap = out->cap ? 2 * out->cap : MiB;
            out->p = realloc(out->p, out->cap);
            assert_non_null(out->p);
        }
        z.next_out = out->p + out->len;
        z.avail_out = (uInt)(out->cap - out->len);
        rc = inflate(&z, Z_NO_FLUSH);
        out->len = (size_t)(z.next_out - out->p);
    } while (rc == Z_OK);
    if (rc != Z_STREAM_END)
        fail_msg("inflate: %d (%s)", rc, z.msg ? z.msg : "");
    size_t used = n - z.avail_in;
    inflateEnd(&z);
    return used;
}

/* Checks the output of input i: members as documented, one per 1 MiB unit,
 * each inflating (zlib) to its piece of the input. */
static void check_output(const buf *b, int i, int level, int no_name)
{
    const input_file *f = &inputs[i];
    size_t want_members = f->len ? (f->len + CHUNK - 1) / CHUNK : 1;
    unsigned char want_xfl = level >= 9 ? 2 : level == 1 ? 4 : 0;
    buf plain = {NULL, 0, 0};
    size_t at = 0, members = 0;

    while (at < b->len) {
        member m = parse_member(b->p + at, b->len - at);
        size_t before = plain.len;
        size_t used = inflate_member(b->p + at, b->len - at, &plain);
        /* The size field is the member's real length. */
        assert_int_equal(used, m.size);
        assert_int_equal(m.isize, (uint32_t)(plain.len - before));
        assert_true(plain.len - before <= CHUNK);
        assert_int_equal(m.xfl, want_xfl);
        if (members == 0 && !no_name) {
            assert_non_null(m.name);
            assert_string_equal(m.name, f->base);
            assert_int_equal(m.mtime, f->mtime);
        } else {
            assert_null(m.name);
            assert_int_equal(m.mtime, 0);
        }
        at += m.size;
        members++;
    }
    assert_int_equal(members, want_members);
    assert_int_equal(plain.len, f->len);
    if (f->len && memcmp(plain.p, f->data, f->len) != 0)
        fail_msg("%s: level %d: inflated bytes differ", f->base, level);
    free(plain.p);
}

/* ------------------------------------------------------------- tests */

static void
output_inflates_to_the_input_the_same_for_any_worker_count(void **st)
{
    (void)st;
    static const int levels[] = {1, 6, 9, 12};
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        run_out ref;
        run_gzip(levels[l], 0, 0, &ref);
        for (int i = 0; i < N_INPUTS; i++)
            check_output(&ref.out[i], i, levels[l], 0);
        for (int jobs = 1; jobs <= 2; jobs++) {
            run_out r;
            run_gzip(levels[l], 0, jobs, &r);
            for (int i = 0; i < N_INPUTS; i++) {
                check_output(&r.out[i], i, levels[l], 0);
                assert_int_equal(r.out[i].len, ref.out[i].len);
                if (memcmp(r.out[i].p, ref.out[i].p, ref.out[i].len) != 0)
                    fail_msg("level %d, %s: jobs %d differs from inline",
                             levels[l], inputs[i].base, jobs);
            }
            run_out_free(&r);
        }
        run_out_free(&ref);
    }
}

static void no_name_stores_neither_name_nor_mtime(void **st)
{
    (void)st;
    run_out r;
    run_gzip(6, 1, 2, &r);
    for (int i = 0; i < N_INPUTS; i++)
        check_output(&r.out[i], i, 6, 1);
    run_out_free(&r);
}

static void gnu_gzip_decompresses_the_whole_stream(void **st)
{
    (void)st;
    run_out r;
    run_gzip(6, 0, 2, &r);

    /* Every input's members, concatenated, are one .gz stream. */
    char gz[PATH_MAX + 16], cmd[2 * PATH_MAX];
    snprintf(gz, sizeof gz, "%s/all.gz", tu_tmpdir());
    FILE *out = fopen(gz, "wb");
    assert_non_null(out);
    size_t total = 0;
    for (int i = 0; i < N_INPUTS; i++) {
        assert_int_equal(fwrite(r.out[i].p, 1, r.out[i].len, out),
                         r.out[i].len);
        total += inputs[i].len;
    }
    assert_int_equal(fclose(out), 0);

    snprintf(cmd, sizeof cmd, "gzip -dc '%s'", gz);
    FILE *in = popen(cmd, "r");
    assert_non_null(in);
    unsigned char *got = malloc(total + 1);
    assert_non_null(got);
    size_t n = 0, k;
    while ((k = fread(got + n, 1, total + 1 - n, in)) > 0)
        n += k;
    assert_int_equal(pclose(in), 0);
    assert_int_equal(n, total);
    size_t at = 0;
    for (int i = 0; i < N_INPUTS; i++) {
        if (inputs[i].len &&
            memcmp(got + at, inputs[i].data, inputs[i].len) != 0)
            fail_msg("gzip -dc: %s differs", inputs[i].base);
        at += inputs[i].len;
    }
    free(got);
    run_out_free(&r);
}

static void a_level_outside_1_to_12_is_refused_naming_it(void **st)
{
    (void)st;
    static const char *const bad[] = {"0", "13", "100"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sluice_plugin_handle *h = open_gzip();
        set_opt(h, "level", bad[i]);
        run_out r;
        memset(&r, 0, sizeof r);
        sluice_job_opts opts = {.jobs = 0, .chunk_size = CHUNK};
        sluice_callbacks cb = {
            .user = &r, .on_input = on_input, .on_output = on_output};
        sluice_job *job = NULL;
        char err[ERRLEN] = "";
        int rc = sluice_job_new(h, &opts, &cb, &job, err, sizeof err);
        if (rc == 0)
            fail_msg("level %s was accepted", bad[i]);
        assert_null(job);
        if (!strstr(err, "level") || !strstr(err, bad[i]))
            fail_msg("message \"%s\" does not name level %s", err, bad[i]);
        sluice_plugin_close(h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            output_inflates_to_the_input_the_same_for_any_worker_count),
        cmocka_unit_test(no_name_stores_neither_name_nor_mtime),
        cmocka_unit_test(gnu_gzip_decompresses_the_whole_stream),
        cmocka_unit_test(a_level_outside_1_to_12_is_refused_naming_it),
    };
    return cmocka_run_group_tests(tests, make_inputs, free_inputs);
}
