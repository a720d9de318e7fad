/*
 * test_gzip_plugin.c -- the gzip plugin (plugins/gzip/gzip.c), end to end.
 *
 * Loads $SLUICE_BUILD_ROOT/plugins/gzip/gzip.so through the engine API and
 * compresses a set of files with 1 MiB units.  The oracle is someone else's
 * code: zlib inflates every member (and GNU gzip -dc one whole stream) back
 * to the exact input.  Also checked: the bytes do not depend on the number
 * of workers; each member's FEXTRA 'SL' subfield holds its real length;
 * FNAME and MTIME appear on a file's first member only, and not at all with
 * no_name; a level outside 1..12 is refused before any work (and 10..12
 * in a build without libdeflate, HAVE_LIBDEFLATE).
 *
 * Single mode (option single, one member per input): the plugin's own calls
 * are driven directly through a small fake host (units with block->before
 * set, on alternating worker states, partials merged in different orders),
 * and through the job API; the test builds the whole stream (the plugin's
 * output, the final empty block 03 00, the trailer from the merged counters)
 * and zlib and gzip must inflate it to the input, with a size within 0.1% of
 * gzip -N's on the same file.
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
#include "harness.h"
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
    uint64_t counters[N_INPUTS][2]; /* "crc32", "length" of each input */
    int errors;
} run_out;

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

/* Compresses every input in one job (single: one member per input). */
static void run_gzip_mode(int level, int no_name, int single, int jobs,
                          run_out *r)
{
    char lv[16];
    snprintf(lv, sizeof lv, "%d", level);
    const char *kv[] = {"level",   lv,
                        "no_name", no_name ? "true" : "false",
                        "single",  single ? "true" : "false",
                        NULL};
    th_record rec = {0};
    const char *paths[N_INPUTS];
    for (int i = 0; i < N_INPUTS; i++)
        paths[i] = inputs[i].path;
    th_job j = {.plugin = gzip_so(),
                .options = kv,
                .opts = {.jobs = jobs, .chunk_size = CHUNK},
                .paths = paths,
                .npaths = N_INPUTS};
    int rc = th_run(&j, &rec);
    if (rc != 0)
        fail_msg("level %d jobs %d: run: %s (%s)", level, jobs,
                 sluice_err_name(rc), rec.err);
    assert_int_equal(rec.ninputs, N_INPUTS);
    memset(r, 0, sizeof *r);
    size_t at = 0;
    for (uint32_t i = 0; i < rec.ninputs; i++) {
        const th_input *in = &rec.in[i];
        if (in->errnum || in->msg[0]) {
            print_error("input %u (%s): %s\n", i, inputs[i].path, in->msg);
            r->errors++;
        }
        buf *b = &r->out[i];
        b->len = b->cap = in->out_len;
        b->p = malloc(b->cap ? b->cap : 1);
        assert_non_null(b->p);
        memcpy(b->p, rec.out + at, b->len);
        at += b->len;
        memcpy(r->counters[i], in->c, sizeof r->counters[i]);
    }
    assert_int_equal(at, rec.out_len); /* finish writes nothing */
    assert_int_equal(r->errors, 0);
    th_record_free(&rec);
}

static void run_gzip(int level, int no_name, int jobs, run_out *r)
{
    run_gzip_mode(level, no_name, 0, jobs, r);
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
    assert_in_range(m.size, 20 + 8, n);
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
    /* 12: libdeflate only */
#if defined(HAVE_LIBDEFLATE)
    static const int levels[] = {1, 2, 3, 6, 9, 12};
#else
    static const int levels[] = {1, 2, 3, 6, 9};
#endif
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

/* Asserts that a job at `level` is refused before any work, with the
 * message "PLUGIN: plugin gzip: gzip: level LEVEL" and `why`. */
static void job_refuses_level(const char *level, const char *why)
{
    sluice_plugin_handle *h = open_gzip();
    set_opt(h, "level", level);
    th_record r = {0};
    sluice_job_opts opts = {.jobs = 0, .chunk_size = CHUNK};
    sluice_callbacks cb = th_callbacks(&r);
    sluice_job *job = NULL;
    char err[ERRLEN] = "", msg[PATH_MAX + ERRLEN];
    if (sluice_job_new(h, &opts, &cb, &job, err, sizeof err) == 0)
        fail_msg("level %s was accepted", level);
    assert_null(job);
    snprintf(msg, sizeof msg, "%s: plugin gzip: gzip: level %s%s", gzip_so(),
             level, why);
    assert_string_equal(err, msg);
    assert_int_equal(r.n, 0);
    sluice_plugin_close(h);
}

static void a_level_outside_1_to_12_is_refused_naming_it(void **st)
{
    (void)st;
    static const char *const bad[] = {"0", "13", "100"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        job_refuses_level(bad[i], " is out of range (1..12)");
}

#if !defined(HAVE_LIBDEFLATE)
static void levels_10_to_12_are_refused_without_libdeflate(void **st)
{
    (void)st;
    static const char *const lv[] = {"10", "11", "12"};
    for (size_t i = 0; i < sizeof lv / sizeof lv[0]; i++)
        job_refuses_level(lv[i], " needs libdeflate; this gzip plugin was "
                                 "built without it (levels 1..9)");
}
#endif

/* ------------------------------------------------- single mode: host */

/* A fake host for driving the plugin's calls directly: options from a
 * table (the schema's defaults otherwise), output into one buffer. */
typedef struct fake_host {
    sluice_ctx ctx; /* first: the plugin's calls get &ctx */
    sluice_host_api api;
    const sluice_plugin *desc;
    const char *level; /* option values */
    const char *single;
    buf out;          /* committed output */
    char err[ERRLEN]; /* the last error() */
} fake_host;

static void *fh_reserve(sluice_ctx *ctx, size_t min, size_t *avail)
{
    fake_host *h = (fake_host *)ctx;
    buf *b = &h->out;
    if (b->cap - b->len < min) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap - b->len < min)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        assert_non_null(p);
        b->p = p;
        b->cap = cap;
    }
    *avail = b->cap - b->len;
    return b->p + b->len;
}

static void fh_commit(sluice_ctx *ctx, size_t n)
{
    fake_host *h = (fake_host *)ctx;
    assert_true(n <= h->out.cap - h->out.len);
    h->out.len += n;
}

static void fh_error(sluice_ctx *ctx, int errnum, uint64_t offset,
                     const char *fmt, ...)
{
    fake_host *h = (fake_host *)ctx;
    va_list ap;
    (void)errnum;
    (void)offset;
    va_start(ap, fmt);
    vsnprintf(h->err, sizeof h->err, fmt, ap);
    va_end(ap);
}

static const char *fh_option(sluice_ctx *ctx, const char *key)
{
    fake_host *h = (fake_host *)ctx;
    if (strcmp(key, "level") == 0)
        return h->level;
    if (strcmp(key, "single") == 0)
        return h->single;
    for (uint32_t i = 0; i < h->desc->n_options; i++)
        if (strcmp(h->desc->options[i].key, key) == 0)
            return h->desc->options[i].default_value;
    return NULL;
}

static int64_t fh_option_int(sluice_ctx *ctx, const char *key)
{
    const char *v = fh_option(ctx, key);
    if (!v)
        return 0;
    if (strcmp(v, "true") == 0)
        return 1;
    if (strcmp(v, "false") == 0)
        return 0;
    return strtoll(v, NULL, 10);
}

static void fh_init(fake_host *h, const sluice_plugin *d, const char *level,
                    const char *single)
{
    memset(h, 0, sizeof *h);
    h->desc = d;
    h->level = level;
    h->single = single;
    h->api.size = sizeof h->api;
    h->api.abi_major = SLUICE_PLUGIN_ABI_MAJOR;
    h->api.abi_minor = SLUICE_PLUGIN_ABI_MINOR;
    h->api.reserve = fh_reserve;
    h->api.commit = fh_commit;
    h->api.error = fh_error;
    h->api.option = fh_option;
    h->api.option_int = fh_option_int;
    h->ctx.size = sizeof h->ctx;
    h->ctx.worker = -1;
    h->ctx.api = &h->api;
}

static void put32(buf *b, uint32_t v)
{
    unsigned char t[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                          (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    assert_true(b->cap - b->len >= 4);
    memcpy(b->p + b->len, t, 4);
    b->len += 4;
}

/* What the command does after an input's output: the final empty fixed
 * block and the trailer from the counters. */
static void close_single(buf *b, uint32_t crc, uint64_t length)
{
    size_t need = b->len + 10;
    if (b->cap < need) {
        b->p = realloc(b->p, need);
        assert_non_null(b->p);
        b->cap = need;
    }
    b->p[b->len++] = 0x03;
    b->p[b->len++] = 0x00;
    put32(b, crc);
    put32(b, (uint32_t)length);
}

/* Compresses input f in single mode the way the engine would, in units of
 * `unit` bytes handed out to `nworkers` worker states in turn, and returns
 * the whole stream in *stream. */
static void single_direct(const input_file *f, int level, size_t unit,
                          int nworkers, buf *stream)
{
    enum { MAXW = 4 };
    sluice_plugin_handle *hd = open_gzip();
    const sluice_plugin *d = sluice_plugin_get(hd);
    char lv[16];
    snprintf(lv, sizeof lv, "%d", level);
    fake_host h;
    fh_init(&h, d, lv, "true");
    assert_true(d->caps & SLUICE_CAP_MERGE);
    assert_int_equal(d->lookbehind, 32768);
    assert_int_equal(d->n_counters, 2);
    assert_string_equal(d->counter_names[0], "crc32");
    assert_string_equal(d->counter_names[1], "length");
    assert_in_range(nworkers, 1, MAXW);
    if (d->global_init && d->global_init(&h.ctx) != 0)
        fail_msg("global_init: %s", h.err);

    void *states[MAXW];
    for (int w = 0; w < nworkers; w++) {
        states[w] = calloc(1, d->state_size ? d->state_size : 1);
        assert_non_null(states[w]);
        h.ctx.worker = w;
        h.ctx.state = states[w];
        if (d->worker_init && d->worker_init(&h.ctx) != 0)
            fail_msg("worker_init: %s", h.err);
    }

    size_t nunits = f->len ? (f->len + unit - 1) / unit : 1;
    unsigned char *parts = calloc(nunits, d->partial_size);
    assert_non_null(parts);
    for (size_t k = 0; k < nunits; k++) {
        size_t off = k * unit;
        size_t n = f->len - off < unit ? f->len - off : unit;
        size_t lb = off < d->lookbehind ? off : d->lookbehind;
        sluice_block b = {
            .data = n ? f->data + off : NULL,
            .len = n,
            .offset = off,
            .path = f->path,
            .input = 0,
            .flags = SLUICE_BLOCK_UNIT_BEGIN | SLUICE_BLOCK_UNIT_END |
                     (off == 0 ? SLUICE_BLOCK_FILE_BEGIN : 0u) |
                     (off + n == f->len ? SLUICE_BLOCK_FILE_END : 0u),
            .before = lb ? f->data + off - lb : NULL,
            .before_len = lb,
        };
        void *part = parts + k * d->partial_size;
        if (d->partial_init)
            d->partial_init(&h.ctx, part);
        h.ctx.worker = (int)(k % (size_t)nworkers);
        h.ctx.state = states[k % (size_t)nworkers];
        if (d->map(&h.ctx, &b, part) != 0)
            fail_msg("%s: unit %zu: map: %s", f->base, k, h.err);
    }

    /* Merge left to right, and as a right-leaning tree: the same. */
    h.ctx.worker = -1;
    unsigned char *left = malloc(d->partial_size);
    unsigned char *right = malloc(d->partial_size);
    assert_non_null(left);
    assert_non_null(right);
    memcpy(left, parts, d->partial_size);
    for (size_t k = 1; k < nunits; k++)
        d->merge(&h.ctx, left, parts + k * d->partial_size);
    memcpy(right, parts + (nunits - 1) * d->partial_size, d->partial_size);
    for (size_t k = nunits - 1; k-- > 0;) {
        unsigned char *tmp = malloc(d->partial_size);
        assert_non_null(tmp);
        memcpy(tmp, parts + k * d->partial_size, d->partial_size);
        d->merge(&h.ctx, tmp, right);
        memcpy(right, tmp, d->partial_size);
        free(tmp);
    }
    uint64_t cl[2], cr[2];
    d->counters(&h.ctx, left, cl);
    d->counters(&h.ctx, right, cr);
    assert_int_equal(cl[0], cr[0]);
    assert_int_equal(cl[1], cr[1]);
    assert_int_equal(cl[1], f->len);
    assert_int_equal(cl[0], crc32(0, f->data, (uInt)f->len));

    for (int w = 0; w < nworkers; w++) {
        h.ctx.worker = w;
        h.ctx.state = states[w];
        if (d->worker_fini)
            d->worker_fini(&h.ctx);
        free(states[w]);
    }
    h.ctx.worker = -1;
    h.ctx.state = NULL;
    if (d->global_fini)
        d->global_fini(&h.ctx);
    free(parts);
    free(left);
    free(right);
    sluice_plugin_close(hd);

    close_single(&h.out, (uint32_t)cl[0], cl[1]);
    *stream = h.out;
}

/* Checks a single-mode stream of input f: one plain gzip member (FNAME
 * and MTIME of the file, no FEXTRA, gzip's XFL) that zlib inflates, to the
 * end, to the input. */
static void check_single(const buf *s, const input_file *f, int level)
{
    size_t name_len = strlen(f->base) + 1;
    assert_true(s->len >= 10 + name_len + 2 + 8);
    assert_int_equal(s->p[0], 0x1f);
    assert_int_equal(s->p[1], 0x8b);
    assert_int_equal(s->p[2], 8);
    assert_int_equal(s->p[3], 0x08); /* FNAME only */
    assert_int_equal(le32(s->p + 4), f->mtime);
    assert_int_equal(s->p[8], level >= 9 ? 2 : level == 1 ? 4 : 0);
    assert_int_equal(s->p[9], 3);
    assert_memory_equal(s->p + 10, f->base, name_len);

    buf plain = {NULL, 0, 0};
    size_t used = inflate_member(s->p, s->len, &plain);
    assert_int_equal(used, s->len);
    assert_int_equal(plain.len, f->len);
    if (f->len && memcmp(plain.p, f->data, f->len) != 0)
        fail_msg("%s: level %d: single: inflated bytes differ", f->base, level);
    free(plain.p);
}

/* The size of gzip -N's output for file f. */
static size_t gnu_gzip_size(const input_file *f, int level)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "gzip -%d -c '%s' | wc -c", level, f->path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned long long n = 0;
    assert_int_equal(fscanf(p, "%llu", &n), 1);
    assert_int_equal(pclose(p), 0);
    return (size_t)n;
}

/* ------------------------------------------------- single mode: tests */

static void single_units_primed_with_before_make_one_member(void **st)
{
    (void)st;
    static const int levels[] = {1, 6, 9};
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        for (int i = 0; i < N_INPUTS; i++) {
            buf one, two;
            single_direct(&inputs[i], levels[l], CHUNK, 1, &one);
            check_single(&one, &inputs[i], levels[l]);
            /* units on other worker states: the same bytes */
            single_direct(&inputs[i], levels[l], CHUNK, 3, &two);
            assert_int_equal(two.len, one.len);
            assert_memory_equal(two.p, one.p, one.len);
            free(two.p);
            /* smaller units than the lookbehind, too */
            single_direct(&inputs[i], levels[l], 20000, 2, &two);
            check_single(&two, &inputs[i], levels[l]);
            free(two.p);
            free(one.p);
        }
    }
}

static void single_size_is_within_a_tenth_percent_of_gnu_gzip(void **st)
{
    (void)st;
    const input_file *f = &inputs[N_INPUTS - 1]; /* text-5MiB */
    for (int level = 1; level <= 9; level++) {
        buf s;
        single_direct(f, level, CHUNK, 2, &s);
        size_t ours = s.len, gz = gnu_gzip_size(f, level);
        double d = ((double)ours - (double)gz) / (double)gz;
        print_message("single -%d: %zu bytes, gzip -%d: %zu (%+.3f%%)\n", level,
                      ours, level, gz, 100 * d);
        if (d > 0.001 || d < -0.001)
            fail_msg("single -%d: %zu bytes vs gzip's %zu", level, ours, gz);
        free(s.p);
    }
}

static void single_through_the_engine_matches_and_counts(void **st)
{
    (void)st;
    for (int jobs = 0; jobs <= 2; jobs++) {
        run_out r;
        run_gzip_mode(6, 0, 1, jobs, &r);
        for (int i = 0; i < N_INPUTS; i++) {
            buf *b = &r.out[i];
            assert_int_equal(r.counters[i][1], inputs[i].len);
            close_single(b, (uint32_t)r.counters[i][0], r.counters[i][1]);
            check_single(b, &inputs[i], 6);
            buf ref;
            single_direct(&inputs[i], 6, CHUNK, 1, &ref);
            if (ref.len != b->len || memcmp(ref.p, b->p, b->len) != 0)
                fail_msg("%s: jobs %d: engine output differs from units "
                         "with 32 KiB before",
                         inputs[i].base, jobs);
            free(ref.p);
        }
        run_out_free(&r);
    }
}

static void single_refuses_levels_10_to_12(void **st)
{
    (void)st;
    sluice_plugin_handle *hd = open_gzip();
    const sluice_plugin *d = sluice_plugin_get(hd);
    fake_host h;
    fh_init(&h, d, "10", "true");
    assert_int_not_equal(d->global_init(&h.ctx), 0);
    assert_string_equal(h.err, "gzip: level 10 is not available with single "
                               "(one member per input: levels 1..9)");
    free(h.out.p);
    sluice_plugin_close(hd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            output_inflates_to_the_input_the_same_for_any_worker_count),
        cmocka_unit_test(no_name_stores_neither_name_nor_mtime),
        cmocka_unit_test(gnu_gzip_decompresses_the_whole_stream),
        cmocka_unit_test(a_level_outside_1_to_12_is_refused_naming_it),
#if !defined(HAVE_LIBDEFLATE)
        cmocka_unit_test(levels_10_to_12_are_refused_without_libdeflate),
#endif
        cmocka_unit_test(single_units_primed_with_before_make_one_member),
        cmocka_unit_test(single_size_is_within_a_tenth_percent_of_gnu_gzip),
        cmocka_unit_test(single_through_the_engine_matches_and_counts),
        cmocka_unit_test(single_refuses_levels_10_to_12),
    };
    return cmocka_run_group_tests(tests, make_inputs, free_inputs);
}
