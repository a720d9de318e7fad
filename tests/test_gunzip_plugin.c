/*
 * test_gunzip_plugin.c -- the gunzip plugin (plugins/gunzip/gunzip.c).
 *
 * Loads $SLUICE_BUILD_ROOT/plugins/gunzip/gunzip.so through the engine and
 * drives its descriptor directly with a fake host (reserve/commit into a
 * growing buffer, errors captured with their offsets), so that each test
 * decides exactly where blocks and units split.  The oracles are someone
 * else's code: zlib compresses every member (foreign ones with its own
 * gzip wrapper; 'SL' and 'BC' hinted ones around its raw deflate), and GNU
 * gzip -d gives the message every bad input must get.  Checked: any split
 * of a stream into blocks, and of an input into units that continue one
 * another, gives the same bytes and counters; boundary() returns member
 * ends, `size` when in doubt, never <= at, on hostile headers too; each
 * bad input gets gzip's message at the right offset; trailing garbage and
 * trailing zeros are what gzip makes of them; max_output holds per unit.
 * At the end the engine runs the plugin on a hinted file, inline and with
 * 1..3 workers, 1 MiB units.
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
#include <sys/wait.h>
#include <zlib.h>

#include "sluice/sluice.h"
#include "harness.h"
#include "util.h"

#define MiB ((size_t)1 << 20)
#define MAX_RESERVE (2 * MiB)
#define ERRLEN 1024

#define MSG_NOT_GZIP "not in gzip format"
#define MSG_EOF "unexpected end of file"
#define MSG_FORMAT "invalid compressed data--format violated"
#define MSG_CRC "invalid compressed data--crc error"
#define MSG_LENGTH "invalid compressed data--length error"
#define MSG_MAX "decompressed data exceeds the --max-output limit"

enum {
    C_MEMBERS,
    C_COMPRESSED,
    C_UNCOMPRESSED,
    C_GARBAGE,
    C_ZEROS,
    C_LZW_FLAGS,
    C_ZIP_MORE,
    N_C
};

/* ------------------------------------------------------------ buffers */

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_byte(buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    buf_add(b, &c, 1);
}

static void buf_le16(buf *b, uint32_t v)
{
    buf_byte(b, v & 0xff);
    buf_byte(b, (v >> 8) & 0xff);
}

static void buf_le32(buf *b, uint32_t v)
{
    buf_le16(b, v & 0xffff);
    buf_le16(b, v >> 16);
}

static void buf_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* ------------------------------------------------------- making gzip */

/* Text that compresses, but not to nothing. */
static void fill_text(unsigned char *p, size_t n, uint64_t *seed)
{
    static const char *const words[] = {
        "gunzip", "member", "trailer", "header", "the", "of",
        "and",    "block",  "worker",  "sluice", "crc", "deflate",
        "a",      "stream", "window",  "offset",
    };
    size_t i = 0;
    while (i < n) {
        uint64_t r = tu_rand(seed);
        const char *w = words[(r >> 8) % 16];
        size_t k = strlen(w);
        for (size_t j = 0; j < k && i < n; j++)
            p[i++] = (unsigned char)w[j];
        if (i < n)
            p[i++] = (r >> 20) % 9 == 0 ? '\n' : ' ';
    }
}

static void fill_random(unsigned char *p, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(tu_rand(seed) >> 56);
}

/* Raw deflate of p[0..n) by zlib. */
static void raw_deflate(buf *out, const unsigned char *p, size_t n, int level,
                        int strategy)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, -15, 8, strategy),
                     Z_OK);
    size_t bound = deflateBound(&z, (uLong)n) + 16;
    unsigned char *tmp = malloc(bound);
    assert_non_null(tmp);
    z.next_in = (unsigned char *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = tmp;
    z.avail_out = (uInt)bound;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    buf_add(out, tmp, bound - z.avail_out);
    deflateEnd(&z);
    free(tmp);
}

/* A member as zlib's own gzip wrapper writes it (no hint). */
static void zlib_member(buf *out, const unsigned char *p, size_t n, int level)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(
        deflateInit2(&z, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t bound = deflateBound(&z, (uLong)n) + 64;
    unsigned char *tmp = malloc(bound);
    assert_non_null(tmp);
    z.next_in = (unsigned char *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = tmp;
    z.avail_out = (uInt)bound;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    buf_add(out, tmp, bound - z.avail_out);
    deflateEnd(&z);
    free(tmp);
}

enum { HINT_NONE, HINT_SL, HINT_BC };

/* How to write one member by hand. */
typedef struct mspec {
    int hint;            /* HINT_* */
    int level, strategy; /* zlib's */
    const char *name;    /* FNAME or NULL */
    const char *comment; /* FCOMMENT or NULL */
    int hcrc;            /* FHCRC */
    int other_extra;     /* a foreign 'AB' subfield first */
    int64_t hint_delta;  /* added to the true length in the hint */
} mspec;

/* Appends a member of p[0..n) to out; returns its length. */
static size_t make_member(buf *out, const unsigned char *p, size_t n,
                          const mspec *m)
{
    buf body = {NULL, 0, 0}, extra = {NULL, 0, 0}, h = {NULL, 0, 0};
    raw_deflate(&body, p, n, m->level, m->strategy);
    if (m->other_extra) {
        buf_add(&extra, "AB", 2);
        buf_le16(&extra, 3);
        buf_add(&extra, "xyz", 3);
    }
    size_t hint_at = 0;
    if (m->hint == HINT_SL) {
        buf_add(&extra, "SL", 2);
        buf_le16(&extra, 4);
        hint_at = extra.len;
        buf_le32(&extra, 0);
    } else if (m->hint == HINT_BC) {
        buf_add(&extra, "BC", 2);
        buf_le16(&extra, 2);
        hint_at = extra.len;
        buf_le16(&extra, 0);
    }
    unsigned flg = (extra.len ? 0x04u : 0) | (m->name ? 0x08u : 0) |
                   (m->comment ? 0x10u : 0) | (m->hcrc ? 0x02u : 0);
    unsigned char fixed[10] = {0x1f, 0x8b, 8, (unsigned char)flg, 1, 2, 3,
                               4,    0,    3};
    buf_add(&h, fixed, 10);
    size_t xstart = 0;
    if (extra.len) {
        buf_le16(&h, (uint32_t)extra.len);
        xstart = h.len;
        buf_add(&h, extra.p, extra.len);
    }
    if (m->name)
        buf_add(&h, m->name, strlen(m->name) + 1);
    if (m->comment)
        buf_add(&h, m->comment, strlen(m->comment) + 1);
    size_t total = h.len + (m->hcrc ? 2 : 0) + body.len + 8;
    int64_t hv = (int64_t)total + m->hint_delta;
    if (m->hint == HINT_SL)
        put_le32(h.p + xstart + hint_at, (uint32_t)hv);
    else if (m->hint == HINT_BC) {
        h.p[xstart + hint_at] = (unsigned char)((hv - 1) & 0xff);
        h.p[xstart + hint_at + 1] = (unsigned char)(((hv - 1) >> 8) & 0xff);
    }
    if (m->hcrc)
        buf_le16(&h, (uint32_t)crc32(0, h.p, (uInt)h.len) & 0xffff);
    buf_add(out, h.p, h.len);
    buf_add(out, body.p, body.len);
    buf_le32(out, (uint32_t)crc32(0, p, (uInt)n));
    buf_le32(out, (uint32_t)n);
    buf_free(&body);
    buf_free(&extra);
    buf_free(&h);
    return total;
}

/* ------------------------------------------------------- a fake host */

static const sluice_plugin *desc;
static sluice_plugin_handle *handle;

typedef struct host {
    sluice_ctx ctx; /* first: the plugin's ctx is this */
    sluice_host_api api;
    buf out;             /* committed bytes */
    unsigned char *area; /* the reserved area */
    size_t area_cap;
    size_t reserved; /* its size as last reserved */
    int nerr;
    char msg[512];
    uint64_t err_off;
    const char *max_output;
    uint64_t seed; /* varies the room reserve() gives */
} host;

static void *h_reserve(sluice_ctx *ctx, size_t min, size_t *avail)
{
    host *h = (host *)(void *)ctx;
    if (min > MAX_RESERVE)
        return NULL;
    /* Sometimes just what was asked, sometimes much more. */
    uint64_t r = tu_rand(&h->seed);
    size_t room = (r & 3) == 0 ? (min ? min : 1) : h->area_cap;
    h->reserved = room;
    *avail = room;
    return h->area;
}

static void h_commit(sluice_ctx *ctx, size_t n)
{
    host *h = (host *)(void *)ctx;
    assert_true(n <= h->reserved);
    buf_add(&h->out, h->area, n);
    h->reserved = 0;
}

static void h_error(sluice_ctx *ctx, int errnum, uint64_t offset,
                    const char *fmt, ...)
{
    host *h = (host *)(void *)ctx;
    va_list ap;
    (void)errnum;
    if (h->nerr++ == 0) {
        va_start(ap, fmt);
        vsnprintf(h->msg, sizeof h->msg, fmt, ap);
        va_end(ap);
        h->err_off = offset;
    }
}

static const char *h_option(sluice_ctx *ctx, const char *key)
{
    host *h = (host *)(void *)ctx;
    if (strcmp(key, "max_output") == 0)
        return h->max_output ? h->max_output : "0";
    return NULL;
}

static int64_t h_option_int(sluice_ctx *ctx, const char *key)
{
    const char *v = h_option(ctx, key);
    if (!v)
        return 0;
    char *end;
    int64_t x = strtoll(v, &end, 10);
    if (*end == 'k')
        x <<= 10;
    else if (*end == 'M')
        x <<= 20;
    else if (*end == 'G')
        x <<= 30;
    return x;
}

static void host_open(host *h, const char *max_output, uint64_t seed)
{
    memset(h, 0, sizeof *h);
    h->api.size = sizeof h->api;
    h->api.abi_major = SLUICE_PLUGIN_ABI_MAJOR;
    h->api.abi_minor = SLUICE_PLUGIN_ABI_MINOR;
    h->api.reserve = h_reserve;
    h->api.commit = h_commit;
    h->api.error = h_error;
    h->api.option = h_option;
    h->api.option_int = h_option_int;
    h->ctx.size = sizeof h->ctx;
    h->ctx.worker = 0;
    h->ctx.api = &h->api;
    h->ctx.state = calloc(1, desc->state_size ? desc->state_size : 1);
    assert_non_null(h->ctx.state);
    static unsigned char *area; /* one for all hosts: tests run serially */
    if (!area)
        area = malloc(8 * MiB);
    assert_non_null(area);
    h->area = area;
    h->area_cap = 8 * MiB;
    h->max_output = max_output;
    h->seed = seed | 1;
    assert_int_equal(desc->worker_init(&h->ctx), 0);
}

static void host_close(host *h)
{
    desc->worker_fini(&h->ctx);
    free(h->ctx.state);
    buf_free(&h->out);
}

/* A partial result and its counters. */
typedef struct part {
    unsigned char p[4096];
} part;

static void part_init(host *h, part *pt)
{
    desc->partial_init(&h->ctx, pt->p);
}

static void counters(host *h, const part *pt, uint64_t c[N_C])
{
    desc->counters(&h->ctx, pt->p, c);
}

/* Maps one block; returns map's result. */
static int map_block(host *h, part *pt, const unsigned char *p, size_t n,
                     uint64_t off, uint32_t input, uint32_t flags)
{
    sluice_block b = {.data = n ? p : NULL,
                      .len = n,
                      .offset = off,
                      .path = "test.gz",
                      .input = input,
                      .flags = flags};
    return desc->map(&h->ctx, &b, pt->p);
}

/* The result of decoding one input. */
typedef struct result {
    int rc;           /* 0, or -1 from the first map that failed */
    buf out;          /* the output */
    uint64_t c[N_C];  /* counters */
    char msg[512];    /* the first error */
    uint64_t err_off; /* its offset */
    int nerr;
} result;

static void result_free(result *r)
{
    buf_free(&r->out);
}

/* Decodes data[0..n) as one unit cut into blocks at cuts[0..ncuts) (sorted,
 * inside (0, n)), as a fresh worker. */
static void decode_cuts(const unsigned char *data, size_t n, const size_t *cuts,
                        size_t ncuts, const char *max_output, uint64_t seed,
                        result *r)
{
    host h;
    part pt;
    host_open(&h, max_output, seed);
    part_init(&h, &pt);
    memset(r, 0, sizeof *r);
    size_t at = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        uint32_t f = 0;
        if (k == 0)
            f |= SLUICE_BLOCK_UNIT_BEGIN | SLUICE_BLOCK_FILE_BEGIN;
        if (k == ncuts)
            f |= SLUICE_BLOCK_UNIT_END | SLUICE_BLOCK_FILE_END;
        r->rc = map_block(&h, &pt, data + at, end - at, at, 0, f);
        if (r->rc != 0)
            break;
        at = end;
    }
    counters(&h, &pt, r->c);
    r->out = h.out;
    memset(&h.out, 0, sizeof h.out);
    snprintf(r->msg, sizeof r->msg, "%s", h.msg);
    r->err_off = h.err_off;
    r->nerr = h.nerr;
    host_close(&h);
}

static void decode_whole(const unsigned char *data, size_t n, result *r)
{
    decode_cuts(data, n, NULL, 0, NULL, 1, r);
}

/* Random cuts: blocks of 1 .. max bytes, small ones often. */
static size_t random_cuts(size_t n, size_t max, uint64_t *seed, size_t *cuts,
                          size_t room)
{
    size_t k = 0, at = 0;
    while (k < room) {
        uint64_t r = tu_rand(seed);
        size_t step = (r & 7) == 0 ? 1 + (r >> 8) % 16 : 1 + (r >> 8) % max;
        at += step;
        if (at >= n)
            break;
        cuts[k++] = at;
    }
    return k;
}

static void expect_ok(const result *r, const unsigned char *want,
                      size_t want_len, const char *what)
{
    if (r->rc != 0 || r->nerr)
        fail_msg("%s: failed: %s at %llu", what, r->msg,
                 (unsigned long long)r->err_off);
    if (r->out.len != want_len ||
        (want_len && memcmp(r->out.p, want, want_len) != 0))
        fail_msg("%s: output differs (%zu bytes, want %zu)", what, r->out.len,
                 want_len);
    assert_int_equal(r->c[C_UNCOMPRESSED], want_len);
}

static void expect_error(const result *r, const char *msg, uint64_t off,
                         const char *what)
{
    if (r->rc == 0)
        fail_msg("%s: no error (want \"%s\")", what, msg);
    if (strcmp(r->msg, msg) != 0 || r->err_off != off)
        fail_msg("%s: got \"%s\" at %llu, want \"%s\" at %llu", what, r->msg,
                 (unsigned long long)r->err_off, msg, (unsigned long long)off);
}

/* --------------------------------------------------------- GNU gzip */

/* What gzip -d says first about data: its message without "gzip: FILE: " (or
 * "gzip: FILE " for the flags messages), and its exit status. */
static int gzip_says(const unsigned char *data, size_t n, char *msg, size_t len)
{
    char path[PATH_MAX], cmd[2 * PATH_MAX + 64], errpath[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/g.gz", tu_tmpdir());
    snprintf(errpath, sizeof errpath, "%s/g.err", tu_tmpdir());
    tu_write(path, data, n);
    snprintf(cmd, sizeof cmd, "gzip -dc '%s' >/dev/null 2>'%s'", path, errpath);
    int st = system(cmd);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    FILE *f = fopen(errpath, "r");
    assert_non_null(f);
    char line[1024] = "", got[1024];
    while (!line[0] && fgets(got, sizeof got, f))
        if (got[0] != '\n')
            snprintf(line, sizeof line, "%s", got);
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    const char *m = strstr(line, "g.gz");
    m = m ? m + 4 : line;
    if (*m == ':')
        m++;
    if (*m == ' ')
        m++;
    snprintf(msg, len, "%s", m);
    return code;
}

/* ----------------------------------------------------------- streams */

/* A small stream of six members of every kind, and its plain text. */
typedef struct stream {
    buf gz, plain;
    size_t ends[16]; /* member ends */
    size_t nmembers;
} stream;

static void stream_add(stream *s, const unsigned char *p, size_t n,
                       const mspec *m)
{
    if (m)
        make_member(&s->gz, p, n, m);
    else
        zlib_member(&s->gz, p, n, 6);
    buf_add(&s->plain, p, n);
    s->ends[s->nmembers++] = s->gz.len;
}

static void stream_free(stream *s)
{
    buf_free(&s->gz);
    buf_free(&s->plain);
}

static void small_stream(stream *s, uint64_t *seed)
{
    unsigned char text[3000], rnd[500];
    fill_text(text, sizeof text, seed);
    fill_random(rnd, sizeof rnd, seed);
    memset(s, 0, sizeof *s);
    mspec all = {HINT_NONE, 9, Z_DEFAULT_STRATEGY, "name.txt", "a comment", 1,
                 1,         0};
    mspec sl_stored = {HINT_SL, 0, Z_DEFAULT_STRATEGY, NULL, NULL, 0, 0, 0};
    mspec bc_fixed = {HINT_BC, 6, Z_FIXED, NULL, NULL, 0, 0, 0};
    mspec sl_empty = {HINT_SL, 6, Z_DEFAULT_STRATEGY, "e", NULL, 1, 1, 0};
    mspec huff = {HINT_NONE, 6, Z_HUFFMAN_ONLY, NULL, NULL, 0, 0, 0};
    stream_add(s, (const unsigned char *)"hello\n", 6, NULL);
    stream_add(s, text, sizeof text, &all);
    stream_add(s, rnd, sizeof rnd, &sl_stored);
    stream_add(s, text, 1000, &bc_fixed);
    stream_add(s, text, 0, &sl_empty);
    stream_add(s, text + 1000, 2000, &huff);
}

/* ------------------------------------------------------------- tests */

static void every_split_of_a_mixed_stream_decodes_the_same(void **st)
{
    (void)st;
    uint64_t seed = 42;
    stream s;
    small_stream(&s, &seed);
    const unsigned char *g = s.gz.p;
    size_t n = s.gz.len;
    result r;
    char what[64];

    decode_whole(g, n, &r);
    expect_ok(&r, s.plain.p, s.plain.len, "whole");
    assert_int_equal(r.c[C_MEMBERS], s.nmembers);
    assert_int_equal(r.c[C_COMPRESSED], n);
    assert_true(r.c[C_GARBAGE] == UINT64_MAX && r.c[C_ZEROS] == UINT64_MAX);
    result_free(&r);

    for (size_t cut = 1; cut < n; cut++) {
        decode_cuts(g, n, &cut, 1, NULL, cut, &r);
        snprintf(what, sizeof what, "cut at %zu", cut);
        expect_ok(&r, s.plain.p, s.plain.len, what);
        assert_int_equal(r.c[C_MEMBERS], s.nmembers);
        assert_int_equal(r.c[C_COMPRESSED], n);
        result_free(&r);
    }

    /* Every byte its own block. */
    size_t *cuts = malloc(n * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    decode_cuts(g, n, cuts, n - 1, NULL, 7, &r);
    expect_ok(&r, s.plain.p, s.plain.len, "byte by byte");
    assert_int_equal(r.c[C_MEMBERS], s.nmembers);
    result_free(&r);

    for (int k = 0; k < 300; k++) {
        size_t nc = random_cuts(n, 64, &seed, cuts, n - 1);
        decode_cuts(g, n, cuts, nc, NULL, seed, &r);
        expect_ok(&r, s.plain.p, s.plain.len, "random cuts");
        result_free(&r);
    }
    free(cuts);
    stream_free(&s);
}

static void a_big_foreign_member_decodes_in_random_blocks(void **st)
{
    (void)st;
    uint64_t seed = 7;
    size_t n = 6 * MiB + 12345;
    unsigned char *plain = malloc(n);
    assert_non_null(plain);
    fill_text(plain, n - MiB, &seed);
    fill_random(plain + n - MiB, MiB, &seed);
    buf gz = {NULL, 0, 0};
    zlib_member(&gz, plain, n, 6);

    result r;
    decode_whole(gz.p, gz.len, &r);
    expect_ok(&r, plain, n, "whole");
    assert_int_equal(r.c[C_MEMBERS], 1);
    result_free(&r);

    size_t cuts[4096];
    for (int k = 0; k < 6; k++) {
        size_t max = k < 3 ? 3 * MiB : 70000;
        size_t nc = random_cuts(gz.len, max, &seed, cuts, 4096);
        decode_cuts(gz.p, gz.len, cuts, nc, NULL, seed, &r);
        expect_ok(&r, plain, n, "random blocks");
        assert_int_equal(r.c[C_COMPRESSED], gz.len);
        result_free(&r);
    }
    buf_free(&gz);
    free(plain);
}

/* Many hinted members: SL ones up to 1.5 MiB and small BC ones. */
static void hinted_stream(stream *s, uint64_t *seed)
{
    memset(s, 0, sizeof *s);
    size_t n = 3 * MiB;
    unsigned char *text = malloc(n);
    assert_non_null(text);
    fill_text(text, n, seed);
    for (int i = 0; i < 14; i++) {
        uint64_t r = tu_rand(seed);
        int bc = i % 3 == 2;
        size_t len = bc ? (size_t)(r % 60000) : (size_t)(r % (3 * MiB / 2));
        size_t from = (size_t)((r >> 32) % (n - len + 1));
        mspec m = {bc ? HINT_BC : HINT_SL,
                   1 + (int)(r % 9),
                   Z_DEFAULT_STRATEGY,
                   i == 0 ? "first" : NULL,
                   NULL,
                   0,
                   0,
                   0};
        make_member(&s->gz, text + from, len, &m);
        buf_add(&s->plain, text + from, len);
        if (s->nmembers < 16)
            s->ends[s->nmembers++] = s->gz.len;
    }
    free(text);
}

static void hinted_streams_decode_whole_and_in_blocks(void **st)
{
    (void)st;
    uint64_t seed = 99;
    stream s;
    hinted_stream(&s, &seed);
    result r;
    decode_whole(s.gz.p, s.gz.len, &r);
    expect_ok(&r, s.plain.p, s.plain.len, "whole");
    assert_int_equal(r.c[C_MEMBERS], s.nmembers);
    assert_int_equal(r.c[C_COMPRESSED], s.gz.len);
    result_free(&r);

    size_t cuts[4096];
    for (int k = 0; k < 6; k++) {
        size_t max = k < 3 ? 2 * MiB : 100000;
        size_t nc = random_cuts(s.gz.len, max, &seed, cuts, 4096);
        decode_cuts(s.gz.p, s.gz.len, cuts, nc, NULL, seed, &r);
        expect_ok(&r, s.plain.p, s.plain.len, "random blocks");
        assert_int_equal(r.c[C_MEMBERS], s.nmembers);
        result_free(&r);
    }
    stream_free(&s);
}

/* ---------------------------------------------------------- boundary */

typedef struct mem_src {
    const unsigned char *p;
    size_t n;
    int fail; /* read() returns -EIO */
} mem_src;

static int64_t mem_read(void *src, void *buf_, size_t n, uint64_t off)
{
    mem_src *m = src;
    if (m->fail)
        return -5;
    if (off >= m->n)
        return 0;
    if (n > m->n - off)
        n = m->n - (size_t)off;
    memcpy(buf_, m->p + off, n);
    return (int64_t)n;
}

static uint64_t boundary(const unsigned char *p, size_t n, uint64_t at,
                         uint64_t want, int fail)
{
    sluice_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.size = sizeof ctx;
    ctx.worker = -1;
    mem_src m = {p, n, fail};
    uint64_t b = desc->boundary(&ctx, mem_read, &m, at, want, n);
    if (b <= at || b > n)
        fail_msg("boundary(at %llu, want %llu, size %zu) = %llu",
                 (unsigned long long)at, (unsigned long long)want, n,
                 (unsigned long long)b);
    return b;
}

static int is_end(const stream *s, uint64_t b)
{
    for (size_t i = 0; i < s->nmembers; i++)
        if (s->ends[i] == b)
            return 1;
    return 0;
}

static void boundary_follows_hints_and_returns_size_in_doubt(void **st)
{
    (void)st;
    uint64_t seed = 5;
    stream s;
    hinted_stream(&s, &seed);
    size_t n = s.gz.len;
    static const uint64_t wants[] = {1, 1000, MiB, 3 * MiB, UINT64_MAX / 2};
    for (size_t w = 0; w < sizeof wants / sizeof wants[0]; w++) {
        uint64_t at = 0;
        int units = 0;
        while (at < n) {
            uint64_t b = boundary(s.gz.p, n, at, wants[w], 0);
            assert_true(is_end(&s, b));
            /* It stops at the first member end at or past at + want, or
             * where the members' ISIZEs reach 4 MiB (a unit's output). */
            uint64_t out = 0, out_before_last = 0;
            size_t last_start = (size_t)at;
            for (size_t k = 0; k < s.nmembers; k++)
                if (s.ends[k] > at && s.ends[k] <= b) {
                    const unsigned char *t = s.gz.p + s.ends[k] - 4;
                    out_before_last = out;
                    out += (uint64_t)t[0] | (uint64_t)t[1] << 8 |
                           (uint64_t)t[2] << 16 | (uint64_t)t[3] << 24;
                    if (s.ends[k] < b)
                        last_start = s.ends[k];
                }
            if (b < n)
                assert_true(b - at >= wants[w] || out >= 4 * MiB);
            /* ... and not later: without its last member, neither held */
            if (last_start > at)
                assert_true(last_start - at < wants[w] &&
                            out_before_last < 4 * MiB);
            at = b;
            units++;
        }
        if (wants[w] == 1)
            assert_int_equal(units, s.nmembers);
    }
    /* A read error: no hint, the rest is one unit. */
    assert_int_equal(boundary(s.gz.p, n, 0, 1, 1), n);
    stream_free(&s);

    /* Foreign members: one unit.  Hinted ones then a foreign one: the
     * boundary before it, then the rest. */
    stream f;
    small_stream(&f, &seed);
    assert_int_equal(boundary(f.gz.p, f.gz.len, 0, 1, 0), f.gz.len);
    assert_int_equal(boundary(f.gz.p, f.gz.len, f.ends[1], 1, 0), f.ends[2]);
    assert_int_equal(boundary(f.gz.p, f.gz.len, f.ends[1], 1000000, 0),
                     f.ends[4]);
    assert_int_equal(boundary(f.gz.p, f.gz.len, f.ends[4], 1, 0), f.gz.len);
    stream_free(&f);
}

static void boundary_survives_hostile_headers(void **st)
{
    (void)st;
    uint64_t seed = 11;
    unsigned char text[2000];
    fill_text(text, sizeof text, &seed);
    static const int64_t deltas[] = {-1, 1, -1000000, 1000000, 0};
    for (size_t d = 0; d < sizeof deltas / sizeof deltas[0]; d++) {
        for (int kind = HINT_SL; kind <= HINT_BC; kind++) {
            buf g = {NULL, 0, 0};
            mspec m = {kind, 6, Z_DEFAULT_STRATEGY, NULL, NULL,
                       0,    0, deltas[d]};
            size_t len = make_member(&g, text, sizeof text, &m);
            mspec ok = {HINT_SL, 6, Z_DEFAULT_STRATEGY, NULL, NULL, 0, 0, 0};
            make_member(&g, text, 100, &ok);
            uint64_t b = boundary(g.p, g.len, 0, 1, 0);
            if (deltas[d] == 0)
                assert_int_equal(b, len);
            else if (kind == HINT_SL && (len + (uint64_t)deltas[d] > g.len ||
                                         deltas[d] < -(int64_t)len + 20))
                assert_int_equal(b, g.len); /* nonsense: one unit */
            buf_free(&g);
        }
    }
    /* Hand-made hostile headers, and random ones. */
    unsigned char h[64];
    static const unsigned char xlen_big[] = {
        0x1f, 0x8b, 8,   4,   0, 0, 0,    0, 0, 3,
        0xff, 0xff, 'S', 'L', 4, 0, 0x40, 0, 0, 0};
    assert_int_equal(boundary(xlen_big, sizeof xlen_big, 0, 1, 0),
                     sizeof xlen_big);
    static const unsigned char hint0[] = {
        0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, 8, 0, 'S', 'L', 4,
        0,    0,    0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,   0,   0};
    assert_int_equal(boundary(hint0, sizeof hint0, 0, 1, 0), sizeof hint0);
    unsigned char huge[sizeof hint0];
    memcpy(huge, hint0, sizeof huge);
    put_le32(huge + 16, 0xffffffffu);
    assert_int_equal(boundary(huge, sizeof huge, 0, 1, 0), sizeof huge);
    static const unsigned char sublen[] = {
        0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, 8, 0, 'S', 'L', 9,
        0,    30,   0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,   9,   10};
    assert_int_equal(boundary(sublen, sizeof sublen, 0, 1, 0), sizeof sublen);
    for (size_t n = 1; n < 14; n++)
        assert_int_equal(boundary(hint0, n, 0, 1, 0), n);
    for (int k = 0; k < 20000; k++) {
        size_t n = 1 + (size_t)(tu_rand(&seed) % sizeof h);
        fill_random(h, n, &seed);
        if (n > 4) {
            h[0] = 0x1f;
            h[1] = 0x8b;
            h[2] = 8;
            h[3] |= 4;
        }
        uint64_t at = tu_rand(&seed) % n;
        boundary(h, n, at, 1 + tu_rand(&seed) % 100, 0);
    }
}

/* ------------------------------------------------------------ errors */

static void truncation_anywhere_is_unexpected_end_of_file(void **st)
{
    (void)st;
    uint64_t seed = 3;
    unsigned char text[1500];
    fill_text(text, sizeof text, &seed);
    stream s;
    memset(&s, 0, sizeof s);
    mspec a = {HINT_NONE, 6, Z_DEFAULT_STRATEGY, "n", "c", 1, 1, 0};
    mspec b = {HINT_SL, 6, Z_DEFAULT_STRATEGY, NULL, NULL, 0, 0, 0};
    stream_add(&s, text, sizeof text, &a);
    stream_add(&s, text, 700, &b);
    char msg[512];
    for (size_t t = 0; t < s.gz.len; t++) {
        result r;
        size_t half = t / 2;
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu", t);
        for (int split = 0; split < 2; split++) {
            if (split && half == 0)
                continue;
            decode_cuts(s.gz.p, t, &half, (size_t)split, NULL, t, &r);
            if (t == s.ends[0])
                expect_ok(&r, text, sizeof text, what);
            else
                expect_error(&r, MSG_EOF, t, what);
            result_free(&r);
        }
        if (t % 97 == 0 && t != s.ends[0]) {
            assert_int_equal(gzip_says(s.gz.p, t, msg, sizeof msg), 1);
            assert_string_equal(msg, MSG_EOF);
        }
    }
    stream_free(&s);
}

/* One bad input: what we must say, where, and whether gzip agrees. */
typedef struct bad_case {
    const char *what;
    buf data;
    const char *msg;
    uint64_t off; /* UINT64_MAX: anywhere in [lo, hi] */
    uint64_t lo, hi;
    int gzip_agrees;
    size_t stride; /* try every stride-th split (0: every one) */
} bad_case;

static void check_bad(bad_case *b)
{
    result r;
    char what[128];
    decode_whole(b->data.p, b->data.len, &r);
    snprintf(what, sizeof what, "%s, whole", b->what);
    if (b->off != UINT64_MAX) {
        expect_error(&r, b->msg, b->off, what);
    } else {
        if (r.rc == 0 || strcmp(r.msg, b->msg) != 0 || r.err_off < b->lo ||
            r.err_off > b->hi)
            fail_msg("%s: got \"%s\" at %llu want \"%s\" [%llu,%llu]", what,
                     r.msg, (unsigned long long)r.err_off, b->msg,
                     (unsigned long long)b->lo, (unsigned long long)b->hi);
    }
    result_free(&r);
    /* The same with any single split. */
    size_t stride = b->stride ? b->stride : 1;
    for (size_t cut = 1; cut < b->data.len; cut += stride) {
        decode_cuts(b->data.p, b->data.len, &cut, 1, NULL, cut, &r);
        snprintf(what, sizeof what, "%s, cut at %zu", b->what, cut);
        if (b->off != UINT64_MAX)
            expect_error(&r, b->msg, b->off, what);
        else if (r.rc == 0 || strcmp(r.msg, b->msg) != 0 || r.err_off < b->lo ||
                 r.err_off > b->hi)
            fail_msg("%s: got \"%s\" at %llu", what, r.msg,
                     (unsigned long long)r.err_off);
        result_free(&r);
    }
    if (b->gzip_agrees) {
        char msg[512];
        assert_int_equal(gzip_says(b->data.p, b->data.len, msg, sizeof msg), 1);
        if (strcmp(msg, b->msg) != 0)
            fail_msg("%s: gzip says \"%s\", we say \"%s\"", b->what, msg,
                     b->msg);
    }
}

static void bad_inputs_get_gzips_message_and_offset(void **st)
{
    (void)st;
    uint64_t seed = 17;
    unsigned char text[4000];
    fill_text(text, sizeof text, &seed);
    buf good = {NULL, 0, 0};
    zlib_member(&good, (const unsigned char *)"ok\n", 3, 6);
    size_t m0 = good.len; /* the bad member starts here */
    buf member = {NULL, 0, 0};
    zlib_member(&member, text, sizeof text, 6);
    size_t ml = member.len;

    enum { NB = 13 };
    bad_case cases[NB];
    memset(cases, 0, sizeof cases);
    int nb = 0;
#define BAD(w, m, o, agree)                                                    \
    do {                                                                       \
        cases[nb].what = (w);                                                  \
        cases[nb].msg = (m);                                                   \
        cases[nb].off = (o);                                                   \
        cases[nb].gzip_agrees = (agree);                                       \
        buf_add(&cases[nb].data, good.p, good.len);                            \
        buf_add(&cases[nb].data, member.p, member.len);                        \
    } while (0)
    BAD("wrong crc", MSG_CRC, m0, 1);
    cases[nb].data.p[m0 + ml - 8] ^= 1;
    nb++;
    BAD("wrong isize", MSG_LENGTH, m0, 1);
    cases[nb].data.p[m0 + ml - 2] ^= 1;
    nb++;
    BAD("reserved flag", "has flags 0x40 -- not supported", m0, 1);
    cases[nb].data.p[m0 + 3] = 0x40;
    nb++;
    BAD("reserved flags", "has flags 0x88 -- not supported", m0, 1);
    cases[nb].data.p[m0 + 3] = 0x88;
    nb++;
    BAD("encrypted", "is encrypted -- not supported", m0, 1);
    cases[nb].data.p[m0 + 3] = 0x20;
    nb++;
    BAD("method 7", "unknown method 7 -- not supported", m0, 1);
    cases[nb].data.p[m0 + 2] = 7;
    nb++;
    /* Deflate data that cannot be: block type 3. */
    BAD("invalid block type", MSG_FORMAT, UINT64_MAX, 1);
    cases[nb].data.p[m0 + 10] |= 6;
    cases[nb].lo = m0;
    cases[nb].hi = m0 + ml;
    nb++;

    /* Whole inputs. */
    static const unsigned char x[] = "hello there";
    cases[nb] =
        (bad_case){"not gzip", {NULL, 0, 0}, MSG_NOT_GZIP, 0, 0, 0, 1, 0};
    buf_add(&cases[nb++].data, x, sizeof x - 1);
    cases[nb] =
        (bad_case){"one zero", {NULL, 0, 0}, MSG_NOT_GZIP, 0, 0, 0, 1, 0};
    buf_byte(&cases[nb++].data, 0);
    cases[nb] = (bad_case){"one byte", {NULL, 0, 0}, MSG_EOF, 1, 0, 0, 1, 0};
    buf_byte(&cases[nb++].data, 'x');
    cases[nb] = (bad_case){"magic only", {NULL, 0, 0}, MSG_EOF, 2, 0, 0, 1, 0};
    buf_add(&cases[nb++].data, "\x1f\x8b", 2);
    cases[nb] = (bad_case){"method 7, then the end",
                           {NULL, 0, 0},
                           "unknown method 7 -- not supported",
                           0,
                           0,
                           0,
                           1,
                           0};
    buf_add(&cases[nb++].data, "\x1f\x8b\x07", 3);
    /* A bad header CRC, worded as gzip words it. */
    {
        mspec m = {HINT_NONE, 6, Z_DEFAULT_STRATEGY, "f", NULL, 1, 0, 0};
        cases[nb] = (bad_case){"header crc", {NULL, 0, 0}, NULL, 0, 0, 0, 1, 0};
        make_member(&cases[nb].data, text, 100, &m);
        unsigned char *p = cases[nb].data.p;
        unsigned stored = (unsigned)(p[12] | p[13] << 8);
        unsigned want = (unsigned)crc32(0, p, 12) & 0xffff;
        assert_int_equal(stored, want);
        p[12] ^= 1;
        static char hmsg[128];
        snprintf(hmsg, sizeof hmsg,
                 "header checksum 0x%04x != computed checksum 0x%04x",
                 stored ^ 1, want);
        cases[nb].msg = hmsg;
        nb++;
    }
    assert_int_equal(nb, NB);
#undef BAD

    for (int i = 0; i < nb; i++) {
        check_bad(&cases[i]);
        buf_free(&cases[i].data);
    }

    /* An empty input. */
    result r;
    decode_whole(NULL, 0, &r);
    expect_error(&r, MSG_EOF, 0, "empty input");
    result_free(&r);
    char msg[512];
    assert_int_equal(gzip_says((const unsigned char *)"", 0, msg, sizeof msg),
                     1);
    assert_string_equal(msg, MSG_EOF);
    buf_free(&good);
    buf_free(&member);
}

/* Flipped bytes in the deflate data: zlib says whether the data became
 * invalid (format violated, somewhere in the member) or just different
 * (crc error, as gzip says).  gzip's own inflate does not check distances
 * against the data so far, so for invalid data it may say "crc error". */
static void flipped_bytes_are_caught(void **st)
{
    (void)st;
    uint64_t seed = 19;
    unsigned char text[4000];
    fill_text(text, sizeof text, &seed);
    buf member = {NULL, 0, 0};
    zlib_member(&member, text, sizeof text, 6);
    size_t ml = member.len;
    int invalid = 0;
    for (size_t pos = 10; pos < ml - 8; pos += 37) {
        for (unsigned bit = 1; bit < 256; bit <<= 3) {
            buf g = {NULL, 0, 0};
            buf_add(&g, member.p, ml);
            g.p[pos] ^= (unsigned char)bit;
            /* The oracle. */
            z_stream z;
            memset(&z, 0, sizeof z);
            assert_int_equal(inflateInit2(&z, -15), Z_OK);
            unsigned char *out = malloc(1 << 20);
            assert_non_null(out);
            z.next_in = g.p + 10;
            z.avail_in = (uInt)(ml - 10);
            z.next_out = out;
            z.avail_out = 1 << 20;
            int zr = inflate(&z, Z_FINISH);
            size_t zout = (1 << 20) - z.avail_out;
            size_t dend = 10 + (ml - 10 - z.avail_in);
            inflateEnd(&z);
            bad_case b = {"flipped byte", g, NULL, UINT64_MAX, 0, ml, 0, 11};
            if (zr == Z_DATA_ERROR) {
                b.msg = MSG_FORMAT;
                invalid++;
            } else if (zr == Z_STREAM_END && dend + 8 <= ml) {
                const unsigned char *t = g.p + dend;
                uint32_t crc = (uint32_t)crc32(0, out, (uInt)zout);
                uint32_t tc = (uint32_t)(t[0] | t[1] << 8 | t[2] << 16 |
                                         (uint32_t)t[3] << 24);
                uint32_t tl = (uint32_t)(t[4] | t[5] << 8 | t[6] << 16 |
                                         (uint32_t)t[7] << 24);
                if (tc != crc) {
                    b.msg = MSG_CRC;
                } else if (tl != (uint32_t)zout) {
                    b.msg = MSG_LENGTH;
                }
                b.off = 0;
                b.gzip_agrees = b.msg != NULL && dend + 8 == ml;
            }
            if (b.msg)
                check_bad(&b);
            free(out);
            buf_free(&g);
        }
    }
    assert_true(invalid > 10);
    buf_free(&member);
}

static void a_lying_hint_is_format_violated(void **st)
{
    (void)st;
    uint64_t seed = 23;
    unsigned char text[3000];
    fill_text(text, sizeof text, &seed);
    static const int64_t deltas[] = {-1, 1, -8, 8, -100, 1000000, -2000};
    for (size_t d = 0; d < sizeof deltas / sizeof deltas[0]; d++) {
        for (int kind = HINT_SL; kind <= HINT_BC; kind++) {
            buf g = {NULL, 0, 0};
            zlib_member(&g, text, 10, 6);
            size_t at = g.len;
            mspec m = {kind, 6, Z_DEFAULT_STRATEGY, NULL, NULL,
                       0,    0, deltas[d]};
            make_member(&g, text, sizeof text, &m);
            zlib_member(&g, text, 20, 6);
            bad_case b = {"lying hint", g, MSG_FORMAT, at, 0, 0, 0, 3};
            check_bad(&b);
            buf_free(&g);
        }
    }
    /* Hint 0 too. */
    buf g = {NULL, 0, 0};
    mspec m = {HINT_SL, 6, Z_DEFAULT_STRATEGY, NULL, NULL, 0, 0, 0};
    make_member(&g, text, 100, &m);
    put_le32(g.p + 16, 0);
    bad_case b = {"hint 0", g, MSG_FORMAT, 0, 0, 0, 0, 1};
    check_bad(&b);
    buf_free(&g);
}

/* A hint shorter than the header's name and comment: boundary() ends the
 * first unit at the hinted end, and the next unit starts on a fresh state
 * (another worker) that takes the rest for trailing garbage.  So the first
 * unit must fail by itself, without waiting for the header to end.  (Found
 * by fuzz/fuzz_gunzip.c.) */
static void a_header_longer_than_its_hint_fails_inside_the_unit(void **st)
{
    (void)st;
    for (int comment = 0; comment < 2; comment++) {
        buf g = {NULL, 0, 0};
        static const unsigned char head[] = {
            0x1f, 0x8b, 8,   0x04, 0, 0, 0,  0, 0, 3,  /* FEXTRA */
            8,    0,    'S', 'L',  4, 0, 40, 0, 0, 0}; /* hint: 40 bytes */
        buf_add(&g, head, sizeof head);
        g.p[3] |= comment ? 0x10 : 0x08;
        for (int i = 0; i < 600; i++) /* longer than boundary() peeks */
            buf_byte(&g, 'x');
        buf_byte(&g, 0);
        static const unsigned char body[] = {3, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        buf_add(&g, body, sizeof body);
        assert_int_equal(boundary(g.p, g.len, 0, 1, 0), 40);
        host h;
        part pt;
        host_open(&h, NULL, 1);
        part_init(&h, &pt);
        int rc = map_block(&h, &pt, g.p, 40, 0, 0,
                           SLUICE_BLOCK_UNIT_BEGIN | SLUICE_BLOCK_FILE_BEGIN |
                               SLUICE_BLOCK_UNIT_END);
        assert_int_equal(rc, -1);
        assert_string_equal(h.msg, MSG_FORMAT);
        assert_int_equal(h.err_off, 0);
        host_close(&h);
        buf_free(&g);
    }
}

/* ------------------------------------------------- trailing bytes */

static void trailing_bytes_are_what_gzip_makes_of_them(void **st)
{
    (void)st;
    buf g = {NULL, 0, 0};
    static const unsigned char plain[] = "trailing\n";
    zlib_member(&g, plain, sizeof plain - 1, 6);
    mspec m = {HINT_SL, 6, Z_DEFAULT_STRATEGY, NULL, NULL, 0, 0, 0};
    make_member(&g, plain, sizeof plain - 1, &m);
    size_t end = g.len;
    buf want = {NULL, 0, 0};
    buf_add(&want, plain, sizeof plain - 1);
    buf_add(&want, plain, sizeof plain - 1);

    static const struct {
        const char *tail;
        size_t len;
        int garbage, zeros, eof, gzip_rc;
    } tails[] = {
        {"garbage", 7, 1, 0, 0, 2},  {"\0\0\0\0\0\0", 6, 0, 1, 0, 0},
        {"\0", 1, 0, 1, 0, 0},       {"\0\0\0x", 4, 1, 0, 0, 2},
        {"\0x", 2, 1, 0, 0, 2},      {"PK\3\4", 4, 1, 0, 0, 2},
        {"\x1f", 1, 0, 0, 1, 1},     {"x", 1, 0, 0, 1, 1},
        {"\x1f\x8b", 2, 0, 0, 1, 1}, {"\x1f\x8b\x08\0\0\0", 6, 0, 0, 1, 1},
    };
    for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
        buf in = {NULL, 0, 0};
        buf_add(&in, g.p, g.len);
        buf_add(&in, tails[t].tail, tails[t].len);
        char msg[512];
        int rc = gzip_says(in.p, in.len, msg, sizeof msg);
        assert_int_equal(rc, tails[t].gzip_rc);
        if (tails[t].garbage)
            assert_string_equal(msg,
                                "decompression OK, trailing garbage ignored");
        for (size_t cut = 0; cut < in.len; cut++) {
            result r;
            decode_cuts(in.p, in.len, &cut, cut ? 1 : 0, NULL, cut, &r);
            char what[64];
            snprintf(what, sizeof what, "tail %zu, cut %zu", t, cut);
            if (tails[t].eof) {
                expect_error(&r, MSG_EOF, in.len, what);
            } else {
                expect_ok(&r, want.p, want.len, what);
                assert_int_equal(r.c[C_MEMBERS], 2);
                assert_int_equal(r.c[C_COMPRESSED], end);
                assert_int_equal(r.c[C_GARBAGE],
                                 tails[t].garbage ? end : UINT64_MAX);
                assert_int_equal(r.c[C_ZEROS],
                                 tails[t].zeros ? end : UINT64_MAX);
            }
            result_free(&r);
        }
        buf_free(&in);
    }
    buf_free(&g);
    buf_free(&want);
}

/* ----------------------------------------------------------- units */

/* Decodes data as units [0, u1), [u1, u2), ... of one input on one worker
 * (each unit one or two blocks); merges the partials. */
static void decode_units(const unsigned char *data, size_t n,
                         const size_t *ends, size_t nunits, result *r)
{
    host h;
    host_open(&h, NULL, 77);
    part all, pt;
    part_init(&h, &all);
    memset(r, 0, sizeof *r);
    size_t at = 0;
    for (size_t u = 0; u < nunits && r->rc == 0; u++) {
        size_t end = ends[u];
        size_t mid = at + (end - at) / 2;
        part_init(&h, &pt);
        for (int k = 0; k < 2 && r->rc == 0; k++) {
            size_t from = k ? mid : at, to = k ? end : mid;
            uint32_t f = 0;
            if (k == 0)
                f |= SLUICE_BLOCK_UNIT_BEGIN;
            if (k == 1)
                f |= SLUICE_BLOCK_UNIT_END;
            if (from == 0)
                f |= SLUICE_BLOCK_FILE_BEGIN;
            if (k == 1 && to == n)
                f |= SLUICE_BLOCK_FILE_END;
            r->rc = map_block(&h, &pt, data + from, to - from, from, 3, f);
        }
        desc->merge(&h.ctx, all.p, pt.p);
        at = end;
    }
    counters(&h, &all, r->c);
    r->out = h.out;
    memset(&h.out, 0, sizeof h.out);
    snprintf(r->msg, sizeof r->msg, "%s", h.msg);
    r->err_off = h.err_off;
    r->nerr = h.nerr;
    host_close(&h);
}

static void units_continue_by_offset_and_start_afresh_elsewhere(void **st)
{
    (void)st;
    uint64_t seed = 31;
    stream s;
    small_stream(&s, &seed);
    size_t n = s.gz.len;
    /* A stream's units: anywhere, the state carries on. */
    for (int k = 0; k < 300; k++) {
        size_t ends[8];
        size_t nu = 1 + (size_t)(tu_rand(&seed) % 7);
        for (size_t u = 0; u + 1 < nu; u++)
            ends[u] = 1 + (size_t)(tu_rand(&seed) % (n - 1));
        ends[nu - 1] = n;
        for (size_t i = 0; i < nu; i++) /* sort */
            for (size_t j = i + 1; j < nu; j++)
                if (ends[j] < ends[i]) {
                    size_t t = ends[i];
                    ends[i] = ends[j];
                    ends[j] = t;
                }
        result r;
        decode_units(s.gz.p, n, ends, nu, &r);
        expect_ok(&r, s.plain.p, s.plain.len, "stream units");
        assert_int_equal(r.c[C_MEMBERS], s.nmembers);
        assert_int_equal(r.c[C_COMPRESSED], n);
        result_free(&r);
    }

    /* Units on member boundaries, on one worker out of order: each starts
     * afresh where the previous one did not end. */
    host h;
    host_open(&h, NULL, 5);
    part pt[3];
    size_t b1 = s.ends[1], b2 = s.ends[3];
    size_t from[3] = {b2, 0, b1}, to[3] = {n, b1, b2};
    size_t outs[3][2]; /* where each unit's output lies in h.out */
    for (int u = 0; u < 3; u++) {
        part_init(&h, &pt[u]);
        size_t before = h.out.len;
        uint32_t f = SLUICE_BLOCK_UNIT_BEGIN | SLUICE_BLOCK_UNIT_END;
        if (from[u] == 0)
            f |= SLUICE_BLOCK_FILE_BEGIN;
        if (to[u] == n)
            f |= SLUICE_BLOCK_FILE_END;
        assert_int_equal(map_block(&h, &pt[u], s.gz.p + from[u],
                                   to[u] - from[u], from[u], 1, f),
                         0);
        outs[u][0] = before;
        outs[u][1] = h.out.len - before;
    }
    /* In input order: [0, b1) [b1, b2) [b2, n). */
    buf got = {NULL, 0, 0};
    static const int order[3] = {1, 2, 0};
    for (int k = 0; k < 3; k++)
        buf_add(&got, h.out.p + outs[order[k]][0], outs[order[k]][1]);
    assert_int_equal(got.len, s.plain.len);
    assert_memory_equal(got.p, s.plain.p, got.len);
    desc->merge(&h.ctx, pt[1].p, pt[2].p);
    desc->merge(&h.ctx, pt[1].p, pt[0].p);
    uint64_t c[N_C];
    counters(&h, &pt[1], c);
    assert_int_equal(c[C_MEMBERS], s.nmembers);
    assert_int_equal(c[C_COMPRESSED], n);
    assert_int_equal(c[C_UNCOMPRESSED], s.plain.len);
    buf_free(&got);

    /* A fresh unit past offset 0 that is not a member: trailing garbage. */
    part g;
    part_init(&h, &g);
    assert_int_equal(map_block(&h, &g, (const unsigned char *)"junk!", 5, 1000,
                               2,
                               SLUICE_BLOCK_UNIT_BEGIN | SLUICE_BLOCK_UNIT_END |
                                   SLUICE_BLOCK_FILE_END),
                     0);
    counters(&h, &g, c);
    assert_int_equal(c[C_GARBAGE], 1000);
    assert_int_equal(c[C_MEMBERS], 0);
    host_close(&h);
    stream_free(&s);
}

/* ------------------------------------------------------ max_output */

static void max_output_limits_each_unit(void **st)
{
    (void)st;
    uint64_t seed = 41;
    size_t n = 3 * MiB;
    unsigned char *text = malloc(n);
    assert_non_null(text);
    fill_text(text, n, &seed);
    buf foreign = {NULL, 0, 0};
    zlib_member(&foreign, text, n, 6);
    buf hinted = {NULL, 0, 0};
    mspec m = {HINT_SL, 6, Z_DEFAULT_STRATEGY, NULL, NULL, 0, 0, 0};
    make_member(&hinted, text, MiB, &m);
    make_member(&hinted, text + MiB, MiB, &m);
    make_member(&hinted, text + 2 * MiB, MiB, &m);

    const buf *ins[2] = {&foreign, &hinted};
    for (int i = 0; i < 2; i++) {
        result r;
        size_t cut = ins[i]->len / 3;
        decode_cuts(ins[i]->p, ins[i]->len, &cut, 1, "1M", 1, &r);
        if (r.rc == 0 || strcmp(r.msg, MSG_MAX) != 0)
            fail_msg("input %d: got \"%s\"", i, r.msg);
        assert_true(r.err_off <= ins[i]->len);
        assert_true(r.out.len <= MiB);
        result_free(&r);
        /* Exactly the limit is fine. */
        decode_cuts(ins[i]->p, ins[i]->len, &cut, 1, "3M", 2, &r);
        expect_ok(&r, text, n, "at the limit");
        result_free(&r);
        decode_cuts(ins[i]->p, ins[i]->len, NULL, 0, "3145727", 3, &r);
        assert_string_equal(r.msg, MSG_MAX);
        result_free(&r);
    }
    /* Per unit: three units of 1 MiB each under a 1 MiB limit. */
    size_t ends[3];
    size_t at = 0;
    for (int k = 0; k < 3; k++) {
        unsigned char *p = hinted.p + at;
        at += (size_t)(p[16] | p[17] << 8 | p[18] << 16 | (size_t)p[19] << 24);
        ends[k] = at;
    }
    host h;
    host_open(&h, "1M", 9);
    part pt;
    part_init(&h, &pt);
    at = 0;
    for (int k = 0; k < 3; k++) {
        uint32_t f = SLUICE_BLOCK_UNIT_BEGIN | SLUICE_BLOCK_UNIT_END;
        if (k == 2)
            f |= SLUICE_BLOCK_FILE_END;
        assert_int_equal(
            map_block(&h, &pt, hinted.p + at, ends[k] - at, at, 0, f), 0);
        at = ends[k];
    }
    assert_int_equal(h.out.len, n);
    assert_memory_equal(h.out.p, text, n);
    host_close(&h);
    buf_free(&foreign);
    buf_free(&hinted);
    free(text);
}

/* ------------------------------------------------------ the engine */

static char plugin_path[PATH_MAX]; /* set by load() */

/* Runs the plugin over `path` through the engine; some inputs may fail
 * (r says which), nothing else. */
static void engine_run(const char *path, int jobs, size_t chunk, th_record *r)
{
    const char *paths[] = {path};
    th_job j = {.plugin = plugin_path,
                .opts = {.jobs = jobs, .chunk_size = chunk},
                .paths = paths,
                .npaths = 1};
    int rc = th_run(&j, r);
    if (rc != 0 && rc != SLUICE_EINPUT)
        fail_msg("run: %s (%s)", sluice_err_name(rc), r->err);
}

static void the_engine_splits_hinted_input_by_members(void **st)
{
    (void)st;
    uint64_t seed = 55;
    stream s;
    hinted_stream(&s, &seed);
    /* Garbage at the end: counted, output intact. */
    buf_add(&s.gz, "tail", 4);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/hinted.gz", tu_tmpdir());
    tu_write(path, s.gz.p, s.gz.len);
    for (int jobs = 0; jobs <= 3; jobs++) {
        th_record r = {0};
        engine_run(path, jobs, MiB, &r);
        assert_int_equal(r.n, 1);
        const th_input *in = &r.in[0];
        if (in->errnum || in->msg[0])
            fail_msg("jobs %d: %s", jobs, in->msg);
        assert_int_equal(r.out_len, s.plain.len);
        assert_memory_equal(r.out, s.plain.p, s.plain.len);
        assert_int_equal(in->c[C_MEMBERS], s.nmembers);
        assert_int_equal(in->c[C_COMPRESSED], s.gz.len - 4);
        assert_int_equal(in->c[C_UNCOMPRESSED], s.plain.len);
        assert_int_equal(in->c[C_GARBAGE], s.gz.len - 4);
        th_record_free(&r);
    }
    stream_free(&s);
}

/* ------------------------------------------------------ other formats */

/* A file's bytes, or len 0 when it cannot be read. */
static buf slurp(const char *path)
{
    buf b = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return b;
    unsigned char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&b, tmp, n);
    fclose(f);
    return b;
}

/* `tool < plain > out` through the shell; the output, empty on failure. */
static buf encode_with(const char *tool, const buf *plain)
{
    char in[PATH_MAX], out[PATH_MAX], cmd[3 * PATH_MAX + 32];
    snprintf(in, sizeof in, "%s/o.in", tu_tmpdir());
    snprintf(out, sizeof out, "%s/o.out", tu_tmpdir());
    tu_write(in, plain->p, plain->len);
    snprintf(cmd, sizeof cmd, "%s <'%s' >'%s' 2>/dev/null", tool, in, out);
    buf b = {0};
    if (system(cmd) == 0)
        b = slurp(out);
    return b;
}

/* A zip of one entry: deflated with a signed data descriptor, or stored
 * with its sizes in a Zip64 extra field and a descriptor after it (so
 * the stored data's end is found by its descriptor). */
static void zip_entry(buf *z, const buf *plain, int deflated)
{
    uint32_t crc = (uint32_t)crc32(0, plain->p, (uInt)plain->len);
    buf body = {0};
    if (deflated)
        raw_deflate(&body, plain->p, plain->len, 6, Z_DEFAULT_STRATEGY);
    else
        buf_add(&body, plain->p, plain->len);
    buf_add(z, "PK\3\4", 4);
    buf_le16(z, 45);
    buf_le16(z, 0x0008);           /* a descriptor follows */
    buf_le16(z, deflated ? 8 : 0); /* method */
    buf_le32(z, 0);                /* time, date */
    buf_le32(z, 0);                /* CRC, sizes: in the descriptor */
    buf_le32(z, deflated ? 0 : UINT32_MAX);
    buf_le32(z, deflated ? 0 : UINT32_MAX);
    buf_le16(z, 1);
    buf_le16(z, deflated ? 0 : 20);
    buf_add(z, "x", 1);
    if (!deflated) {
        buf_le16(z, 0x0001); /* Zip64: sizes 0, known later */
        buf_le16(z, 16);
        buf_le32(z, 0);
        buf_le32(z, 0);
        buf_le32(z, 0);
        buf_le32(z, 0);
    }
    buf_add(z, body.p, body.len);
    buf_add(z, "PK\7\10", 4);
    buf_le32(z, crc);
    buf_le32(z, (uint32_t)body.len);
    if (!deflated)
        buf_le32(z, 0); /* Zip64: 8-byte sizes */
    buf_le32(z, (uint32_t)plain->len);
    if (!deflated)
        buf_le32(z, 0);
    buf_add(z, "PK\1\2", 4); /* where the central directory would go */
    buf_free(&body);
}

/* .Z (compress, when installed), pack (MKPACK) and zip decode to the
 * plain text whole and in any split into blocks; cut short, pack and zip
 * are unexpected ends, and no split of a damaged stream crashes. */
static void other_formats_decode_the_same_in_any_blocks(void **st)
{
    (void)st;
    uint64_t seed = 77;
    buf plain = {0};
    unsigned char *t = malloc(400000);
    assert_non_null(t);
    fill_text(t, 300000, &seed);
    fill_random(t + 300000, 60000, &seed);
    fill_text(t + 360000, 40000, &seed);
    /* a stored entry's data may hold what looks like a descriptor */
    memcpy(t + 1000, "PK\7\10", 4);
    buf_add(&plain, t, 400000);
    free(t);

    buf in[4] = {{0}};
    const char *name[4] = {"lzw", "pack", "zip-deflated", "zip-stored"};
    in[0] = encode_with("compress -c", &plain);
    const char *mkpack = getenv("MKPACK");
    if (mkpack)
        in[1] = encode_with(mkpack, &plain);
    zip_entry(&in[2], &plain, 1);
    zip_entry(&in[3], &plain, 0);
    int tried = 0;
    for (int f = 0; f < 4; f++) {
        if (in[f].len == 0) {
            fprintf(stderr, "# %s: no encoder here, skipped\n", name[f]);
            continue;
        }
        tried++;
        result r;
        decode_whole(in[f].p, in[f].len, &r);
        expect_ok(&r, plain.p, plain.len, name[f]);
        result_free(&r);
        size_t cuts[4096];
        for (int k = 0; k < 12; k++) {
            size_t nc =
                random_cuts(in[f].len, k < 6 ? 64 : 40000, &seed, cuts, 4096);
            decode_cuts(in[f].p, in[f].len, cuts, nc, NULL, seed, &r);
            expect_ok(&r, plain.p, plain.len, name[f]);
            result_free(&r);
        }
        for (int k = 0; f > 0 && k < 8; k++) {
            size_t cut = 2 + (size_t)(tu_rand(&seed) % (in[f].len / 2));
            decode_cuts(in[f].p, cut, NULL, 0, NULL, seed, &r);
            if (r.rc == 0)
                fail_msg("%s cut at %zu: no error", name[f], cut);
            result_free(&r);
        }
        for (int k = 0; k < 20; k++) {
            buf bad = {0};
            buf_add(&bad, in[f].p, in[f].len);
            size_t at = 3 + (size_t)(tu_rand(&seed) % (bad.len - 3));
            bad.p[at] ^= (unsigned char)(1 + tu_rand(&seed) % 255);
            size_t nc = random_cuts(bad.len, 5000, &seed, cuts, 4096);
            decode_cuts(bad.p, bad.len, cuts, nc, NULL, seed, &r);
            result_free(&r);
            buf_free(&bad);
        }
        buf_free(&in[f]);
    }
    assert_true(tried >= 2);
    buf_free(&plain);
}

/* ------------------------------------------------------------- main */

static int load(void **st)
{
    (void)st;
    const char *path = plugin_path;
    char err[ERRLEN] = "";
    snprintf(plugin_path, sizeof plugin_path, "%s/plugins/gunzip/gunzip.so",
             tu_build_root());
    if (sluice_plugin_open(path, NULL, &handle, err, sizeof err) != 0) {
        fprintf(stderr, "open %s: %s\n", path, err);
        return -1;
    }
    desc = sluice_plugin_get(handle);
    if (!desc || !desc->boundary || !desc->map || !desc->merge ||
        desc->n_counters != N_C ||
        strcmp(desc->counter_names[C_GARBAGE], "garbage_at") != 0)
        return -1;
    return 0;
}

static int unload(void **st)
{
    (void)st;
    sluice_plugin_close(handle);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_split_of_a_mixed_stream_decodes_the_same),
        cmocka_unit_test(a_big_foreign_member_decodes_in_random_blocks),
        cmocka_unit_test(hinted_streams_decode_whole_and_in_blocks),
        cmocka_unit_test(boundary_follows_hints_and_returns_size_in_doubt),
        cmocka_unit_test(boundary_survives_hostile_headers),
        cmocka_unit_test(truncation_anywhere_is_unexpected_end_of_file),
        cmocka_unit_test(bad_inputs_get_gzips_message_and_offset),
        cmocka_unit_test(flipped_bytes_are_caught),
        cmocka_unit_test(a_lying_hint_is_format_violated),
        cmocka_unit_test(a_header_longer_than_its_hint_fails_inside_the_unit),
        cmocka_unit_test(trailing_bytes_are_what_gzip_makes_of_them),
        cmocka_unit_test(units_continue_by_offset_and_start_afresh_elsewhere),
        cmocka_unit_test(max_output_limits_each_unit),
        cmocka_unit_test(the_engine_splits_hinted_input_by_members),
        cmocka_unit_test(other_formats_decode_the_same_in_any_blocks),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
