/*
 * test_gzread.c -- the pull-based gzip decoder (engine/gzread.h).
 *
 * Fixtures are made with zlib: raw deflate inside headers and trailers
 * written here (so that any flag, a wrong header CRC, CRC-32 or ISIZE can
 * be asked for), and whole members from zlib's own gzip wrapper with a
 * gz_header (FEXTRA, FNAME, FCOMMENT, FHCRC), and GNU gzip's output when
 * it is installed: the header CRC and member layout are someone else's.
 * The decoder reads through a pull function that returns at most k bytes
 * (k = 1, 7, 4096, 1 MiB and more) and can fail with -EIO at a chosen
 * offset, so each test decides where the input splits.  Every error case
 * checks the return code, gzip's exact message and the offset.  The file
 * is built and run with ISA-L and without (zlib), and under ASan/UBSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "gzread.h"
#include "sluice/sluice.h"
#include "util.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

#define MSG_NOT_GZIP "not in gzip format"
#define MSG_EOF "unexpected end of file"
#define MSG_FORMAT "invalid compressed data--format violated"
#define MSG_CRC "invalid compressed data--crc error"
#define MSG_LENGTH "invalid compressed data--length error"
#define MSG_GARBAGE "trailing garbage after compressed data"

/* ------------------------------------------------------------ fixtures */

/* A growing byte buffer. */
typedef struct tbuf {
    unsigned char *p;
    size_t n, cap;
} tbuf;

static void put(tbuf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_byte(tbuf *b, unsigned c)
{
    unsigned char x = (unsigned char)c;
    put(b, &x, 1);
}

static void put_le32(tbuf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put_byte(b, (v >> (8 * i)) & 0xff);
}

static void put_zeros(tbuf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_byte(b, 0);
}

static uint32_t crc_of(uint32_t crc, const void *p, size_t n)
{
    return (uint32_t)crc32(crc, p, (uInt)n);
}

/* What a member written by add_member() looks like. */
typedef struct mopt {
    int level;           /* zlib level; 0 gives stored blocks */
    unsigned flags;      /* FLG as written; FHCRC etc. */
    unsigned method;     /* CM; 0 means 8 */
    const char *extra;   /* FEXTRA data (when flags has 0x04) */
    size_t xlen;         /* its length */
    const char *name;    /* FNAME (when flags has 0x08) */
    const char *comment; /* FCOMMENT (when flags has 0x10) */
    unsigned hcrc_xor;   /* spoils the header CRC */
    uint32_t crc_xor;    /* spoils the CRC-32 */
    uint32_t isize_add;  /* spoils ISIZE */
} mopt;

/* Appends a member holding data[0..n): header as o says, zlib's raw
 * deflate, trailer.  Returns the offset of the deflate data. */
static size_t add_member(tbuf *b, const void *data, size_t n, const mopt *o)
{
    static const mopt plain = {6, 0, 0, NULL, 0, NULL, NULL, 0, 0, 0};
    if (!o)
        o = &plain;
    size_t start = b->n;
    unsigned char fixed[10] = {0x1f,
                               0x8b,
                               (unsigned char)(o->method ? o->method : 8),
                               (unsigned char)o->flags,
                               1,
                               2,
                               3,
                               4,
                               0,
                               3};
    put(b, fixed, sizeof fixed);
    if (o->flags & 0x04) {
        put_byte(b, o->xlen & 0xff);
        put_byte(b, o->xlen >> 8);
        put(b, o->extra, o->xlen);
    }
    if (o->flags & 0x08)
        put(b, o->name, strlen(o->name) + 1);
    if (o->flags & 0x10)
        put(b, o->comment, strlen(o->comment) + 1);
    if (o->flags & 0x02) {
        uint32_t h = crc_of(0, b->p + start, b->n - start) ^ o->hcrc_xor;
        put_byte(b, h & 0xff);
        put_byte(b, (h >> 8) & 0xff);
    }
    size_t data_at = b->n;

    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(
        deflateInit2(&zs, o->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY),
        Z_OK);
    size_t bound = deflateBound(&zs, (uLong)n);
    unsigned char *out = malloc(bound);
    assert_non_null(out);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)bound;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    put(b, out, bound - zs.avail_out);
    deflateEnd(&zs);
    free(out);

    put_le32(b, crc_of(0, data, n) ^ o->crc_xor);
    put_le32(b, (uint32_t)n + o->isize_add);
    return data_at;
}

/* Appends a member made by zlib's own gzip wrapper, with every optional
 * header field and its header CRC. */
static void add_zlib_member(tbuf *b, const void *data, size_t n)
{
    static unsigned char extra[] = {'A', 'B', 3, 0, 'x', 'y', 'z'};
    gz_header h;
    memset(&h, 0, sizeof h);
    h.extra = extra;
    h.extra_len = sizeof extra;
    h.name = (Bytef *)"member.txt";
    h.comment = (Bytef *)"written by zlib";
    h.hcrc = 1;
    h.os = 3;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(
        deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    assert_int_equal(deflateSetHeader(&zs, &h), Z_OK);
    size_t bound = deflateBound(&zs, (uLong)n) + 64;
    unsigned char *out = malloc(bound);
    assert_non_null(out);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)bound;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    /* The flags byte says what zlib wrote. */
    assert_int_equal(out[3], 0x02 | 0x04 | 0x08 | 0x10);
    put(b, out, bound - zs.avail_out);
    deflateEnd(&zs);
    free(out);
}

/* n bytes of compressible text: words from a small vocabulary. */
static unsigned char *make_text(size_t n, uint64_t seed)
{
    static const char *const words[] = {
        "the",  "sluice", "gate",  "water", "flows", "through", "a",
        "mill", "race",   "of",    "stone", "and",   "timber",  "river",
        "bank", "wheel",  "turns", "slow",  "fast",  "under",   "bridge"};
    unsigned char *p = malloc(n ? n : 1);
    assert_non_null(p);
    uint64_t s = seed;
    size_t i = 0;
    while (i < n) {
        uint64_t r = tu_rand(&s);
        const char *w = words[r % (sizeof words / sizeof words[0])];
        for (; *w && i < n; w++)
            p[i++] = (unsigned char)*w;
        if (i < n)
            p[i++] = (r >> 32) % 11 == 0 ? '\n' : ' ';
    }
    return p;
}

static unsigned char *make_random(size_t n, uint64_t seed)
{
    unsigned char *p = malloc(n ? n : 1);
    assert_non_null(p);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(tu_rand(&s) >> 56);
    return p;
}

/* ------------------------------------------------------------- decoding */

/* The compressed input, handed out at most `max` bytes per pull; a pull
 * at or after fail_at returns -fail_errno. */
typedef struct src {
    const unsigned char *p;
    size_t n, pos, max;
    size_t fail_at;
    int fail_errno;
    int after_eof; /* pulls after one returned 0 (must not happen) */
    int at_eof;
} src;

static ssize_t pull(void *arg, void *buf, size_t n)
{
    src *s = arg;
    if (s->at_eof)
        s->after_eof++;
    if (s->fail_errno && s->pos >= s->fail_at)
        return -s->fail_errno;
    size_t k = s->n - s->pos;
    if (k > n)
        k = n;
    if (k > s->max)
        k = s->max;
    if (s->fail_errno && k > s->fail_at - s->pos)
        k = s->fail_at - s->pos;
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    if (k == 0)
        s->at_eof = 1;
    return (ssize_t)k;
}

/* What decoding a whole input gave. */
typedef struct result {
    tbuf out;      /* every byte read returned */
    ssize_t rc;    /* the last read's result: 0 or the error */
    char msg[128]; /* sluice__gzr_error(); "" for none */
    uint64_t off;  /* its offset */
    uint64_t in_bytes;
    uint64_t out_bytes;
} result;

/* Decodes p[0..n) with pulls of at most pull_max bytes and reads of
 * read_n bytes; a pull at fail_at (when fail_errno) fails. */
static void decode_ex(const unsigned char *p, size_t n, size_t pull_max,
                      size_t read_n, size_t fail_at, int fail_errno, result *r)
{
    memset(r, 0, sizeof *r);
    src s = {p, n, 0, pull_max, fail_at, fail_errno, 0, 0};
    sluice__gzr *z = NULL;
    assert_int_equal(sluice__gzr_new(pull, &s, &z), 0);
    assert_non_null(z);
    uint64_t none = 99;
    assert_null(sluice__gzr_error(z, &none));
    assert_int_equal(none, 0);
    unsigned char *buf = malloc(read_n);
    assert_non_null(buf);
    for (;;) {
        ssize_t got = sluice__gzr_read(z, buf, read_n);
        if (got <= 0) {
            r->rc = got;
            break;
        }
        assert_true((size_t)got <= read_n);
        put(&r->out, buf, (size_t)got);
    }
    const char *m = sluice__gzr_error(z, &r->off);
    if (r->rc < 0) {
        assert_non_null(m);
        snprintf(r->msg, sizeof r->msg, "%s", m);
        /* The error sticks. */
        assert_int_equal(sluice__gzr_read(z, buf, read_n), r->rc);
    } else {
        assert_null(m);
        /* So does the end. */
        assert_int_equal(sluice__gzr_read(z, buf, read_n), 0);
    }
    r->in_bytes = sluice__gzr_in_bytes(z);
    r->out_bytes = sluice__gzr_out_bytes(z);
    assert_int_equal(s.after_eof, 0);
    sluice__gzr_free(z);
    free(buf);
}

static void decode(const unsigned char *p, size_t n, size_t pull_max,
                   size_t read_n, result *r)
{
    decode_ex(p, n, pull_max, read_n, 0, 0, r);
}

static void result_free(result *r)
{
    free(r->out.p);
    r->out.p = NULL;
}

/* The input decodes to want[0..wn), all of it checked. */
static void expect_ok(const tbuf *in, const void *want, size_t wn,
                      size_t pull_max, size_t read_n)
{
    result r;
    decode(in->p, in->n, pull_max, read_n, &r);
    if (r.rc != 0)
        fail_msg("pull %zu read %zu: %s at %llu", pull_max, read_n, r.msg,
                 (unsigned long long)r.off);
    assert_int_equal(r.out.n, wn);
    if (wn)
        assert_memory_equal(r.out.p, want, wn);
    assert_int_equal(r.out_bytes, wn);
    assert_int_equal(r.in_bytes, in->n);
    result_free(&r);
}

/* Decoding p[0..n) fails with SLUICE_EINPUT, `msg`, at `off`. */
static void expect_error(const unsigned char *p, size_t n, size_t pull_max,
                         const char *msg, uint64_t off)
{
    result r;
    decode(p, n, pull_max, 64 * KiB, &r);
    if (r.rc != SLUICE_EINPUT || strcmp(r.msg, msg) != 0 || r.off != off)
        fail_msg("pull %zu, %zu bytes: got %zd \"%s\" at %llu; want \"%s\" "
                 "at %llu",
                 pull_max, n, r.rc, r.msg, (unsigned long long)r.off, msg,
                 (unsigned long long)off);
    result_free(&r);
}

static const size_t pull_sizes[] = {1, 7, 4096, 1 * MiB};

/* expect_error() with every pull size. */
static void expect_error_all(const tbuf *in, const char *msg, uint64_t off)
{
    for (size_t i = 0; i < sizeof pull_sizes / sizeof pull_sizes[0]; i++)
        expect_error(in->p, in->n, pull_sizes[i], msg, off);
}

/* --------------------------------------------------------- round trips */

static void empty_data_round_trips(void **state)
{
    (void)state;
    tbuf in = {0};
    add_member(&in, "", 0, NULL);
    for (size_t i = 0; i < 4; i++)
        expect_ok(&in, "", 0, pull_sizes[i], 4096);
    free(in.p);
}

static void one_byte_round_trips(void **state)
{
    (void)state;
    tbuf in = {0};
    add_member(&in, "x", 1, NULL);
    for (size_t i = 0; i < 4; i++) {
        expect_ok(&in, "x", 1, pull_sizes[i], 1);
        expect_ok(&in, "x", 1, pull_sizes[i], 4096);
    }
    free(in.p);
}

/* Big members, each decoded with several pull sizes and read sizes. */
static const struct {
    size_t n;           /* bytes of data */
    int text;           /* text (compresses) or random (stored blocks) */
    uint64_t seed;      /* of the data */
    size_t sizes[3][2]; /* {pull size, read size} */
} big_round_trips[] = {
    {3 * MiB, 0, 11, {{1 * MiB, 64 * KiB}, {4096, 1 * MiB}, {3000, 4 * MiB}}},
    {5 * MiB, 1, 12, {{1 * MiB, 64 * KiB}, {4096, 6 * MiB}, {65536, 1000}}},
};

static void big_members_round_trip(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof big_round_trips / sizeof *big_round_trips;
         t++) {
        size_t n = big_round_trips[t].n;
        uint64_t seed = big_round_trips[t].seed;
        unsigned char *data =
            big_round_trips[t].text ? make_text(n, seed) : make_random(n, seed);
        tbuf in = {0};
        add_member(&in, data, n, NULL);
        if (big_round_trips[t].text)
            assert_true(in.n < n / 2);
        else
            assert_true(in.n > n); /* incompressible: stored blocks */
        for (size_t i = 0; i < 3; i++)
            expect_ok(&in, data, n, big_round_trips[t].sizes[i][0],
                      big_round_trips[t].sizes[i][1]);
        free(in.p);
        free(data);
    }
}

static void three_members_one_empty_decode_in_order(void **state)
{
    (void)state;
    unsigned char *a = make_text(100 * KiB, 1);
    unsigned char *c = make_random(70 * KiB, 2);
    tbuf in = {0}, want = {0};
    add_member(&in, a, 100 * KiB, NULL);
    add_member(&in, "", 0, NULL);
    add_member(&in, c, 70 * KiB, NULL);
    put(&want, a, 100 * KiB);
    put(&want, c, 70 * KiB);
    for (size_t i = 0; i < 4; i++)
        expect_ok(&in, want.p, want.n, pull_sizes[i], 8192);
    /* An empty member first and last too. */
    tbuf in2 = {0};
    add_member(&in2, "", 0, NULL);
    add_member(&in2, a, 100 * KiB, NULL);
    add_member(&in2, "", 0, NULL);
    expect_ok(&in2, a, 100 * KiB, 7, 4096);
    free(in.p);
    free(in2.p);
    free(want.p);
    free(a);
    free(c);
}

/* ------------------------------------------------------------- headers */

static const mopt all_fields = {6,           0x02 | 0x04 | 0x08 | 0x10,
                                0,           "SL\4\0abcd",
                                8,           "file name.txt",
                                "a comment", 0,
                                0,           0};

static void header_fields_and_header_crc_are_read(void **state)
{
    (void)state;
    unsigned char *data = make_text(50 * KiB, 3);
    tbuf in = {0}, want = {0};
    add_member(&in, data, 50 * KiB, &all_fields);
    add_zlib_member(&in, data, 50 * KiB); /* zlib's header CRC */
    mopt name_only = {9, 0x08, 0, NULL, 0, "n", NULL, 0, 0, 0};
    add_member(&in, "tail", 4, &name_only);
    mopt long_extra = all_fields;
    char *x = malloc(65535);
    assert_non_null(x);
    memset(x, 'e', 65535);
    long_extra.extra = x;
    long_extra.xlen = 65535; /* crosses the input buffer at big pulls */
    add_member(&in, "last", 4, &long_extra);
    put(&want, data, 50 * KiB);
    put(&want, data, 50 * KiB);
    put(&want, "tail", 4);
    put(&want, "last", 4);
    for (size_t i = 0; i < 4; i++)
        expect_ok(&in, want.p, want.n, pull_sizes[i], 4096);
    free(x);
    free(in.p);
    free(want.p);
    free(data);
}

static void a_wrong_header_crc_is_reported_at_its_member(void **state)
{
    (void)state;
    tbuf in = {0};
    add_member(&in, "first", 5, NULL);
    size_t second = in.n;
    mopt bad = all_fields;
    bad.hcrc_xor = 0x0101;
    add_member(&in, "second", 6, &bad);
    /* The CRC the header holds, and the one it should hold. */
    size_t hlen = 10 + 2 + 8 + strlen(bad.name) + 1 + strlen(bad.comment) + 1;
    unsigned good = crc_of(0, in.p + second, hlen) & 0xffff;
    unsigned held = good ^ 0x0101;
    assert_int_equal(in.p[second + hlen] | in.p[second + hlen + 1] << 8, held);
    char msg[128];
    snprintf(msg, sizeof msg,
             "header checksum 0x%04x != computed checksum 0x%04x", held, good);
    expect_error_all(&in, msg, second);
    free(in.p);
}

static void bad_method_and_flags_are_refused(void **state)
{
    (void)state;
    tbuf in = {0};
    add_member(&in, "ok", 2, NULL);
    size_t at = in.n;
    mopt m7 = {6, 0, 7, NULL, 0, NULL, NULL, 0, 0, 0};
    add_member(&in, "x", 1, &m7);
    expect_error_all(&in, "unknown method 7 -- not supported", at);
    /* Known before the rest of the header is there. */
    expect_error(in.p, at + 3, 1, "unknown method 7 -- not supported", at);

    unsigned bits[] = {0x40, 0x80, 0xc0 | 0x08};
    for (size_t i = 0; i < 3; i++) {
        in.n = at;
        mopt f = {6, bits[i], 0, NULL, 0, "n", NULL, 0, 0, 0};
        add_member(&in, "x", 1, &f);
        char msg[64];
        snprintf(msg, sizeof msg, "has flags 0x%x -- not supported", bits[i]);
        expect_error_all(&in, msg, at);
    }
    in.n = at;
    mopt enc = {6, 0x20, 0, NULL, 0, NULL, NULL, 0, 0, 0};
    add_member(&in, "x", 1, &enc);
    expect_error_all(&in, "is encrypted -- not supported", at);
    free(in.p);
}

/* ----------------------------------------------------------- pull sizes */

/* Many members of every kind, so that member ends fall at every position
 * relative to a pull's bytes (ISA-L's read-ahead reaches back into
 * earlier pulls). */
static void build_mixed(tbuf *in, tbuf *want)
{
    unsigned char *t = make_text(300 * KiB, 4);
    unsigned char *r = make_random(200 * KiB, 5);
    add_member(in, t, 300 * KiB, NULL);
    put(want, t, 300 * KiB);
    mopt stored = {0, 0, 0, NULL, 0, NULL, NULL, 0, 0, 0};
    add_member(in, r, 200 * KiB, &stored);
    put(want, r, 200 * KiB);
    add_member(in, "", 0, &all_fields);
    uint64_t s = 6;
    for (int i = 0; i < 40; i++) {
        size_t len = (size_t)(tu_rand(&s) % 3000);
        const unsigned char *d = i % 3 == 0 ? r + i : t + 7 * i;
        mopt o = {(int)(tu_rand(&s) % 10),
                  i % 2 ? 0x08u : 0u,
                  0,
                  NULL,
                  0,
                  "member",
                  NULL,
                  0,
                  0,
                  0};
        add_member(in, d, len, &o);
        put(want, d, len);
    }
    add_zlib_member(in, t, 10 * KiB);
    put(want, t, 10 * KiB);
    add_member(in, r, 100 * KiB, NULL);
    put(want, r, 100 * KiB);
    free(t);
    free(r);
}

static void every_pull_and_read_size_gives_the_same_bytes(void **state)
{
    (void)state;
    tbuf in = {0}, want = {0};
    build_mixed(&in, &want);
    const size_t reads[] = {1, 4093, 64 * KiB, 2 * MiB};
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 4; j++) {
            if (pull_sizes[i] == 1 && reads[j] == 1)
                continue; /* slow and adds nothing to (1, 4093) */
            expect_ok(&in, want.p, want.n, pull_sizes[i], reads[j]);
        }
    expect_ok(&in, want.p, want.n, 8 * MiB, 8 * MiB);
    /* Every small pull size, for every alignment of member ends. */
    for (size_t k = 2; k <= 17; k++)
        expect_ok(&in, want.p, want.n, k, 16 * KiB);
    free(in.p);
    free(want.p);
}

/* GNU gzip as the oracle for what a gzip file is, when installed. */
static void gzip_output_decodes(void **state)
{
    (void)state;
    if (access("/usr/bin/gzip", X_OK) != 0 && access("/bin/gzip", X_OK) != 0)
        skip();
    const char *dir = tu_tmpdir();
    char path[512], cmd[4096];
    size_t n = 2 * MiB;
    unsigned char *data = make_text(n, 7);
    snprintf(path, sizeof path, "%s/gzr.txt", dir);
    tu_write(path, data, n);
    /* -N stores the name; two members by concatenation. */
    snprintf(cmd, sizeof cmd,
             "gzip -6 -N -c '%s' > '%s.gz' && gzip -1 -c '%s' >> '%s.gz'", path,
             path, path, path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s.gz", path);
    FILE *f = fopen(cmd, "rb");
    assert_non_null(f);
    tbuf in = {0}, want = {0};
    unsigned char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        put(&in, chunk, k);
    fclose(f);
    put(&want, data, n);
    put(&want, data, n);
    expect_ok(&in, want.p, want.n, 4096, 64 * KiB);
    expect_ok(&in, want.p, want.n, 1 * MiB, 64 * KiB);
    expect_ok(&in, want.p, want.n, 7, 1 * MiB);
    free(in.p);
    free(want.p);
    free(data);
}

/* ----------------------------------------------------- what may follow */

static void trailing_zeros_are_ignored(void **state)
{
    (void)state;
    unsigned char *data = make_text(20 * KiB, 8);
    const size_t zeros[] = {1, 2, 1000, 300 * KiB};
    for (size_t z = 0; z < 4; z++) {
        tbuf in = {0};
        add_member(&in, data, 20 * KiB, NULL);
        add_member(&in, "end", 3, NULL);
        put_zeros(&in, zeros[z]);
        tbuf want = {0};
        put(&want, data, 20 * KiB);
        put(&want, "end", 3);
        for (size_t i = 0; i < 4; i++)
            expect_ok(&in, want.p, want.n, pull_sizes[i], 8192);
        free(in.p);
        free(want.p);
    }
    free(data);
}

static void trailing_garbage_is_an_error_at_its_offset(void **state)
{
    (void)state;
    unsigned char *data = make_text(20 * KiB, 9);
    static const struct {
        const char *bytes;
        size_t n;
    } tails[] = {
        {"x", 1},              /* one byte */
        {"garbage\n", 8},      /* text */
        {"\0\0\0\0\0junk", 9}, /* zeros, then something else */
        {"\x1f\x00", 2},       /* half a magic */
        {"\x1f\x8a rest", 7},  /* almost a magic */
        {"\0\x1f\x8b\x08", 4}, /* a member after zeros is garbage too */
    };
    for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
        tbuf in = {0};
        add_member(&in, "a", 1, NULL);
        add_member(&in, data, 20 * KiB, NULL);
        size_t end = in.n;
        put(&in, tails[t].bytes, tails[t].n);
        expect_error_all(&in, MSG_GARBAGE, end);
        /* Every byte of the members came out before the error. */
        result r;
        decode(in.p, in.n, 4096, 4096, &r);
        assert_int_equal(r.out.n, 1 + 20 * KiB);
        assert_memory_equal(r.out.p + 1, data, 20 * KiB);
        result_free(&r);
        free(in.p);
    }
    /* Zeros past the input buffer, then garbage: still where zeros begin. */
    tbuf in = {0};
    add_member(&in, "a", 1, NULL);
    size_t end = in.n;
    put_zeros(&in, 600 * KiB);
    put(&in, "!", 1);
    expect_error_all(&in, MSG_GARBAGE, end);
    free(in.p);
    free(data);
}

/* --------------------------------------------------------- corruptions */

static void a_corrupt_deflate_block_type_is_format_violated(void **state)
{
    (void)state;
    tbuf in = {0};
    add_member(&in, "first member", 12, NULL);
    unsigned char *data = make_text(30 * KiB, 10);
    size_t at = add_member(&in, data, 30 * KiB, NULL);
    /* BTYPE 11 (reserved) in the first block header. */
    in.p[at] |= 0x06;
    expect_error_all(&in, MSG_FORMAT, at + 1);
    free(in.p);
    free(data);
}

static void a_stored_block_with_a_bad_length_is_format_violated(void **state)
{
    (void)state;
    tbuf in = {0};
    add_member(&in, "x", 1, NULL);
    unsigned char *data = make_random(1000, 11);
    mopt stored = {0, 0, 0, NULL, 0, NULL, NULL, 0, 0, 0};
    size_t at = add_member(&in, data, 1000, &stored);
    /* Header byte, LEN (2), NLEN (2): NLEN no longer ~LEN. */
    assert_int_equal(in.p[at] & 0x06, 0);
    in.p[at + 3] ^= 0x01;
    expect_error_all(&in, MSG_FORMAT, at + 5);
    free(in.p);
    free(data);
}

static void a_flipped_deflate_byte_never_passes(void **state)
{
    (void)state;
    unsigned char *data = make_text(200 * KiB, 13);
    tbuf in = {0};
    size_t at = add_member(&in, data, 200 * KiB, NULL);
    size_t dlen = in.n - 8 - at;
    uint64_t s = 14;
    for (int i = 0; i < 40; i++) {
        size_t k = at + (size_t)(tu_rand(&s) % dlen);
        unsigned char bit = (unsigned char)(1u << (tu_rand(&s) % 8));
        in.p[k] ^= bit;
        result r;
        decode(in.p, in.n, 4096, 64 * KiB, &r);
        /* The data is wrong: an error, whichever check sees it first. */
        assert_int_equal(r.rc, SLUICE_EINPUT);
        if (strcmp(r.msg, MSG_CRC) == 0 || strcmp(r.msg, MSG_LENGTH) == 0)
            assert_int_equal(r.off, 0);
        else if (strcmp(r.msg, MSG_FORMAT) == 0)
            assert_in_range(r.off, k + 1, in.n);
        else if (strcmp(r.msg, MSG_EOF) == 0)
            assert_int_equal(r.off, in.n);
        else
            fail_msg("byte %zu: unexpected \"%s\"", k, r.msg);
        result_free(&r);
        in.p[k] ^= bit;
    }
    free(in.p);
    free(data);
}

static void a_wrong_crc_is_reported_at_its_member(void **state)
{
    (void)state;
    unsigned char *data = make_text(40 * KiB, 15);
    tbuf in = {0};
    add_member(&in, data, 40 * KiB, NULL);
    size_t second = in.n;
    mopt bad = {6, 0x08, 0, NULL, 0, "n", NULL, 0, 0x80000000u, 0};
    add_member(&in, data, 40 * KiB, &bad);
    add_member(&in, "never", 5, NULL);
    expect_error_all(&in, MSG_CRC, second);
    /* An empty member's CRC is 0. */
    tbuf e = {0};
    mopt bad0 = {6, 0, 0, NULL, 0, NULL, NULL, 0, 1, 0};
    add_member(&e, "", 0, &bad0);
    expect_error_all(&e, MSG_CRC, 0);
    free(in.p);
    free(e.p);
    free(data);
}

static void a_wrong_isize_is_reported_at_its_member(void **state)
{
    (void)state;
    unsigned char *data = make_text(40 * KiB, 16);
    tbuf in = {0};
    add_member(&in, data, 40 * KiB, NULL);
    size_t second = in.n;
    mopt bad = {6, 0, 0, NULL, 0, NULL, NULL, 0, 0, 1};
    add_member(&in, data, 40 * KiB, &bad);
    expect_error_all(&in, MSG_LENGTH, second);
    bad.isize_add = (uint32_t)0 - (uint32_t)(40 * KiB); /* ISIZE 0 */
    in.n = second;
    add_member(&in, data, 40 * KiB, &bad);
    expect_error_all(&in, MSG_LENGTH, second);
    free(in.p);
    free(data);
}

/* Every cut of a small stream that is not at a member's end is an
 * unexpected end of file at the cut; a cut at a member's end is fine. */
static void every_truncation_is_an_eof_at_the_cut(void **state)
{
    (void)state;
    tbuf in = {0};
    size_t ends[4];
    add_member(&in, "hello, world\n", 13, &all_fields);
    ends[0] = in.n;
    add_member(&in, "", 0, NULL);
    ends[1] = in.n;
    unsigned char *data = make_text(3000, 17);
    add_member(&in, data, 3000, NULL);
    ends[2] = in.n;
    mopt stored = {0, 0x08, 0, NULL, 0, "stored", NULL, 0, 0, 0};
    add_member(&in, data, 500, &stored);
    ends[3] = in.n;
    for (size_t cut = 0; cut < in.n; cut++) {
        int at_end = 0;
        for (int e = 0; e < 4; e++)
            at_end |= cut == ends[e];
        for (size_t i = 0; i < 3; i++) {
            result r;
            decode(in.p, cut, pull_sizes[i], 4096, &r);
            if (at_end) {
                assert_int_equal(r.rc, 0);
                assert_int_equal(r.in_bytes, cut);
            } else if (r.rc != SLUICE_EINPUT || strcmp(r.msg, MSG_EOF) ||
                       r.off != cut) {
                fail_msg("cut %zu pull %zu: %zd \"%s\" at %llu", cut,
                         pull_sizes[i], r.rc, r.msg, (unsigned long long)r.off);
            }
            result_free(&r);
        }
    }
    free(in.p);
    free(data);
}

static void a_big_stream_cut_anywhere_is_an_eof_at_the_cut(void **state)
{
    (void)state;
    size_t n = 1 * MiB;
    unsigned char *data = make_text(n, 18);
    tbuf in = {0};
    add_member(&in, data, n, NULL);
    for (size_t cut = 10; cut < in.n; cut += in.n / 7)
        for (size_t i = 0; i < 4; i++)
            if (pull_sizes[i] > 1)
                expect_error(in.p, cut, pull_sizes[i], MSG_EOF, cut);
    /* Inside the trailer, at each of its bytes. */
    for (size_t t = 1; t <= 8; t++)
        expect_error(in.p, in.n - t, 4096, MSG_EOF, in.n - t);
    free(in.p);
    free(data);
}

static void what_is_not_gzip_says_so(void **state)
{
    (void)state;
    const unsigned char text[] = "hello, this is not gzip\n";
    for (size_t i = 0; i < 4; i++) {
        expect_error(text, sizeof text - 1, pull_sizes[i], MSG_NOT_GZIP, 0);
        expect_error(text, 2, pull_sizes[i], MSG_NOT_GZIP, 0);
        expect_error(text, 1, pull_sizes[i], MSG_NOT_GZIP, 0);
        expect_error((const unsigned char *)"\0\0\0", 3, pull_sizes[i],
                     MSG_NOT_GZIP, 0);
        expect_error((const unsigned char *)"\x1f\x8a", 2, pull_sizes[i],
                     MSG_NOT_GZIP, 0);
        /* Empty, or a magic cut short: the end came too soon. */
        expect_error(text, 0, pull_sizes[i], MSG_EOF, 0);
        expect_error((const unsigned char *)"\x1f", 1, pull_sizes[i], MSG_EOF,
                     1);
        expect_error((const unsigned char *)"\x1f\x8b", 2, pull_sizes[i],
                     MSG_EOF, 2);
    }
}

static void the_old_magic_is_read_like_gzip_does(void **state)
{
    (void)state;
    tbuf in = {0};
    add_member(&in, "old", 3, NULL);
    in.p[1] = 0x9e;
    expect_ok(&in, "old", 3, 4096, 4096);
    free(in.p);
}

/* --------------------------------------------------------- pull errors */

static void a_pull_error_is_reported_with_its_offset(void **state)
{
    (void)state;
    unsigned char *data = make_text(500 * KiB, 19);
    tbuf in = {0};
    add_member(&in, data, 500 * KiB, &all_fields);
    add_member(&in, data, 1000, NULL);
    const size_t fails[] = {0, 5, 20, 1000, in.n / 2, in.n - 3, in.n};
    for (size_t f = 0; f < sizeof fails / sizeof fails[0]; f++)
        for (size_t i = 0; i < 4; i++) {
            result r;
            decode_ex(in.p, in.n, pull_sizes[i], 64 * KiB, fails[f], EIO, &r);
            assert_int_equal(r.rc, -EIO);
            assert_string_equal(r.msg, strerror(EIO));
            assert_int_equal(r.off, fails[f]);
            /* What came out before is right. */
            assert_true(r.out.n <= 500 * KiB + 1000);
            if (r.out.n > 0)
                assert_memory_equal(r.out.p, data,
                                    r.out.n < 500 * KiB ? r.out.n : 500 * KiB);
            result_free(&r);
        }
    free(in.p);
    free(data);
}

static void reads_of_zero_bytes_and_counters(void **state)
{
    (void)state;
    tbuf in = {0};
    add_member(&in, "abc", 3, NULL);
    put_zeros(&in, 5);
    src s = {in.p, in.n, 0, 4096, 0, 0, 0, 0};
    sluice__gzr *z = NULL;
    assert_int_equal(sluice__gzr_new(pull, &s, &z), 0);
    char buf[8];
    assert_int_equal(sluice__gzr_read(z, buf, 0), 0);
    assert_int_equal(sluice__gzr_in_bytes(z), 0);
    assert_int_equal(sluice__gzr_read(z, buf, 2), 2);
    assert_int_equal(sluice__gzr_read(z, buf + 2, 8), 1);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(sluice__gzr_out_bytes(z), 3);
    assert_int_equal(sluice__gzr_read(z, buf, 8), 0);
    assert_int_equal(sluice__gzr_in_bytes(z), in.n);
    sluice__gzr_free(z);
    sluice__gzr_free(NULL);
    assert_null(sluice__gzr_error(NULL, NULL));
    free(in.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_data_round_trips),
        cmocka_unit_test(one_byte_round_trips),
        cmocka_unit_test(big_members_round_trip),
        cmocka_unit_test(three_members_one_empty_decode_in_order),
        cmocka_unit_test(header_fields_and_header_crc_are_read),
        cmocka_unit_test(a_wrong_header_crc_is_reported_at_its_member),
        cmocka_unit_test(bad_method_and_flags_are_refused),
        cmocka_unit_test(every_pull_and_read_size_gives_the_same_bytes),
        cmocka_unit_test(gzip_output_decodes),
        cmocka_unit_test(trailing_zeros_are_ignored),
        cmocka_unit_test(trailing_garbage_is_an_error_at_its_offset),
        cmocka_unit_test(a_corrupt_deflate_block_type_is_format_violated),
        cmocka_unit_test(a_stored_block_with_a_bad_length_is_format_violated),
        cmocka_unit_test(a_flipped_deflate_byte_never_passes),
        cmocka_unit_test(a_wrong_crc_is_reported_at_its_member),
        cmocka_unit_test(a_wrong_isize_is_reported_at_its_member),
        cmocka_unit_test(every_truncation_is_an_eof_at_the_cut),
        cmocka_unit_test(a_big_stream_cut_anywhere_is_an_eof_at_the_cut),
        cmocka_unit_test(what_is_not_gzip_says_so),
        cmocka_unit_test(the_old_magic_is_read_like_gzip_does),
        cmocka_unit_test(a_pull_error_is_reported_with_its_offset),
        cmocka_unit_test(reads_of_zero_bytes_and_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
