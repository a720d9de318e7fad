/*
 * fuzz/fuzz_gunzip.c -- sluice's gzip decoders against zlib.
 *
 * The input is a gzip stream.  Three decoders read it:
 *   - the reference: zlib (inflateInit2 with 16 + MAX_WBITS: its own header
 *     parser, FHCRC, CRC-32 and ISIZE checks), one member after another,
 *     with GNU gzip's rules between members (below);
 *   - the gunzip plugin (plugins/gunzip), driven through its descriptor by
 *     a fake host, the whole input as one unit cut into blocks at points
 *     derived from the input's hash; then again as the engine would run it,
 *     in units that start where boundary() says, each on a fresh state;
 *   - engine/gzread.c (the gzip layer of archives), pulling in pieces.
 * They must agree: the same output when the reference accepts, an error
 * when it rejects.
 *
 * GNU gzip's rules between members, which the reference applies around
 * zlib (zlib decodes one member):
 *   - an empty input, or one that ends one byte into a member magic or
 *     with a lone non-zero byte where a member could start, is an error
 *     ("unexpected end of file");
 *   - input that does not start with a magic is "not in gzip format";
 *   - after a member, zero bytes up to the end are ignored; anything else
 *     that is not a magic is trailing garbage: the plugin warns (counter
 *     garbage_at, output kept, no error), gzread refuses it.
 * Intended differences, encoded here:
 *   - a member whose header carries a size hint (an 'SL' subfield of LEN 4,
 *     or BGZF's 'BC' of LEN 2, in an FEXTRA of at most 500 bytes whose
 *     subfields tile it exactly: docs/gzip-format.md) must be exactly that
 *     long for the gunzip plugin, which splits work by hints; gzip and zlib
 *     ignore hints, and so does gzread;
 *   - libdeflate (the plugin's fast path for whole members) and ISA-L (the
 *     streaming path, and gzread's) map a few invalid deflate encodings
 *     (incomplete Huffman codes, reserved symbols) to valid ones rather
 *     than refusing them, by design (corruption is left to the CRC-32): a
 *     member that zlib refuses but one of them decodes, CRC-32 and ISIZE
 *     checked, may decode in sluice, so such inputs are not compared
 *     (docs/fuzzing.md);
 *   - gzip (and sluice) still read the old
 * magic 1f 9e as 1f 8b; zlib does not, so the reference rewrites 1f 9e to
 * 1f 8b before zlib sees a member, and inputs whose 1f 9e member has a
 * header CRC (which covers the magic) are not compared.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "fuzz.h"
#include "gzread.h"
#include "sluice/plugin.h"
#include "sluice/sluice.h"

#define MAX_OUT ((size_t)8 << 20) /* decompressed bytes compared at most */
#define AREA ((size_t)4 << 20)

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

/* ------------------------------------------------------- the reference */

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

enum { REF_OK, REF_BAD, REF_SKIP, REF_OTHER };

typedef struct ref {
    int verdict;         /* REF_* */
    fuzz_buf out;        /* decoded bytes (when REF_OK) */
    uint64_t garbage_at; /* first trailing garbage, UINT64_MAX none */
    uint64_t members;
    int hint_lies; /* some member is not as long as its hint says */
    int lenient;   /* a member zlib refuses, libdeflate accepts */
} ref;

/* The length of the member header at d[0..n), 0 when incomplete. */
static size_t head_len(const unsigned char *d, size_t n)
{
    if (n < 10)
        return 0;
    unsigned flg = d[3];
    size_t at = 10;
    if (flg & 0x04) {
        if (n - at < 2 || n - at - 2 < le16(d + at))
            return 0;
        at += 2 + le16(d + at);
    }
    for (unsigned f = 0x08; f <= 0x10; f <<= 1) {
        if (!(flg & f))
            continue;
        const unsigned char *z = memchr(d + at, 0, n - at);
        if (!z)
            return 0;
        at = (size_t)(z - d) + 1;
    }
    if (flg & 0x02)
        at += 2;
    return at <= n ? at : 0;
}

/* 1 when ISA-L's raw inflate decodes the member at d[0..n) and the output
 * matches the trailer after it. */
static int isal_accepts(const unsigned char *d, size_t n)
{
#ifdef HAVE_ISAL
    size_t h = head_len(d, n);
    if (h == 0)
        return 0;
    static unsigned char *out;
    if (!out && !(out = malloc(MAX_OUT)))
        abort();
    struct inflate_state st;
    isal_inflate_init(&st);
    st.next_in = (unsigned char *)(uintptr_t)(d + h);
    st.avail_in = (uint32_t)(n - h);
    st.next_out = out;
    st.avail_out = (uint32_t)MAX_OUT;
    if (isal_inflate(&st) != ISAL_DECOMP_OK ||
        st.block_state != ISAL_BLOCK_FINISH)
        return 0;
    /* Whole bytes left in ISA-L's bit buffer belong to the trailer. */
    size_t used = n - h - st.avail_in - st.read_in_length / 8;
    size_t t = h + used;
    if (n - t < 8)
        return 0;
    uint32_t crc = (uint32_t)crc32(0, out, (uInt)st.total_out);
    uint32_t isize = (uint32_t)st.total_out;
    return le16(d + t) == (crc & 0xffff) && le16(d + t + 2) == crc >> 16 &&
           le16(d + t + 4) == (isize & 0xffff) &&
           le16(d + t + 6) == isize >> 16;
#else
    (void)d;
    (void)n;
    (void)head_len;
    return 0;
#endif
}

/* 1 when libdeflate's gzip decoder accepts a member at d[0..n). */
static int libdeflate_accepts(const unsigned char *d, size_t n)
{
#ifdef HAVE_LIBDEFLATE
    static struct libdeflate_decompressor *dd;
    static unsigned char *out;
    if (!dd) {
        dd = libdeflate_alloc_decompressor();
        out = malloc(MAX_OUT);
        if (!dd || !out)
            abort();
    }
    size_t in_used = 0, out_len = 0;
    return libdeflate_gzip_decompress_ex(dd, d, n, out, MAX_OUT, &in_used,
                                         &out_len) == LIBDEFLATE_SUCCESS;
#else
    (void)d;
    (void)n;
    return 0;
#endif
}

/* The length the header at m (n bytes, a complete member) announces, or
 * UINT64_MAX for none: the first SL (LEN 4) or BC (LEN 2) subfield of an
 * FEXTRA of at most 500 bytes that its subfields tile exactly. */
static uint64_t member_hint(const unsigned char *m, size_t n)
{
    if (n < 12 || !(m[3] & 0x04))
        return UINT64_MAX;
    size_t xlen = le16(m + 10);
    if (xlen > 500 || xlen > n - 12)
        return UINT64_MAX;
    const unsigned char *x = m + 12;
    uint64_t hint = UINT64_MAX;
    size_t i = 0;
    while (xlen - i >= 4) {
        size_t len = le16(x + i + 2);
        if (len > xlen - i - 4)
            return UINT64_MAX;
        const unsigned char *v = x + i + 4;
        if (hint == UINT64_MAX && x[i] == 'S' && x[i + 1] == 'L' && len == 4)
            hint = le16(v) | (uint64_t)le16(v + 2) << 16;
        else if (hint == UINT64_MAX && x[i] == 'B' && x[i + 1] == 'C' &&
                 len == 2)
            hint = (uint64_t)le16(v) + 1;
        i += 4 + len;
    }
    return i == xlen ? hint : UINT64_MAX;
}

/* One member at d[0..n) through zlib: returns its length, or 0 when zlib
 * refuses it or it is incomplete. */
static size_t zlib_member(const unsigned char *d, size_t n, fuzz_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        abort();
    unsigned char tmp[16384];
    z.next_in = (unsigned char *)(uintptr_t)d;
    z.avail_in = (uInt)n;
    int rc;
    do {
        z.next_out = tmp;
        z.avail_out = sizeof tmp;
        rc = inflate(&z, Z_NO_FLUSH);
        fuzz_buf_add(out, tmp, sizeof tmp - z.avail_out);
        if (out->len > MAX_OUT)
            rc = Z_MEM_ERROR;
    } while (rc == Z_OK);
    size_t used = n - z.avail_in;
    inflateEnd(&z);
    return rc == Z_STREAM_END ? used : 0;
}

static void reference(const unsigned char *d, size_t n, ref *r)
{
    memset(r, 0, sizeof *r);
    r->garbage_at = UINT64_MAX;
    size_t pos = 0;
    int first = 1;
    unsigned char *copy = NULL;
    for (;;) {
        size_t rem = n - pos;
        if (rem == 0) {
            r->verdict = first ? REF_BAD : REF_OK;
            break;
        }
        if (rem == 1) {
            r->verdict = first || d[pos] != 0 ? REF_BAD : REF_OK;
            break;
        }
        if (d[pos] == 0x1f && (d[pos + 1] == 0x8b || d[pos + 1] == 0x9e)) {
            const unsigned char *m = d + pos;
            if (d[pos + 1] == 0x9e) {
                if (rem > 3 && (d[pos + 3] & 0x02)) {
                    r->verdict = REF_SKIP;
                    break;
                }
                free(copy);
                copy = malloc(rem);
                if (!copy)
                    abort();
                memcpy(copy, m, rem);
                copy[1] = 0x8b;
                m = copy;
            }
            size_t used = zlib_member(m, rem, &r->out);
            if (r->out.len > MAX_OUT) {
                r->verdict = REF_SKIP;
                break;
            }
            if (used == 0) {
                r->lenient = libdeflate_accepts(m, rem) || isal_accepts(m, rem);
                r->verdict = REF_BAD;
                break;
            }
            r->members++;
            uint64_t hint = member_hint(m, used);
            if (hint != UINT64_MAX && hint != used)
                r->hint_lies = 1;
            pos += used;
            first = 0;
            continue;
        }
        /* compress's and pack's streams, and a zip, are not zlib's to
         * judge (tests/test_gunzip_plugin.c and the gunzip_formats suite
         * check them against gzip) */
        if ((d[pos] == 0x1f && (d[pos + 1] == 0x9d || d[pos + 1] == 0x1e)) ||
            (first && rem >= 4 && memcmp(d, "PK\3\4", 4) == 0)) {
            r->verdict = REF_OTHER;
            break;
        }
        if (first) {
            r->verdict = REF_BAD;
            break;
        }
        size_t z = pos;
        while (z < n && d[z] == 0)
            z++;
        /* gzip looks at two bytes: "00 00" starts the ignored zeros, and
         * anything after them is garbage from where they began. */
        if (z < n)
            r->garbage_at = pos;
        r->verdict = REF_OK;
        break;
    }
    free(copy);
}

/* -------------------------------------------- the plugin, by a fake host */

static sluice_plugin_handle *handle;
static const sluice_plugin *desc;
static unsigned char *area;

typedef struct host {
    sluice_ctx ctx; /* first: the plugin's ctx is this */
    sluice_host_api api;
    fuzz_buf out;
    size_t reserved;
    int nerr;
    char msg[256];
    uint64_t seed;
} host;

static void *h_reserve(sluice_ctx *ctx, size_t min, size_t *avail)
{
    host *h = (host *)(void *)ctx;
    if (min > ((size_t)2 << 20))
        fuzz_fail("reserve(%zu): more than the ABI's 2 MiB", min);
    size_t room = (fuzz_rand(&h->seed) & 3) == 0 ? (min ? min : 1) : AREA;
    h->reserved = room;
    *avail = room;
    return area;
}

static void h_commit(sluice_ctx *ctx, size_t n)
{
    host *h = (host *)(void *)ctx;
    if (n > h->reserved)
        fuzz_fail("commit(%zu) after reserve of %zu", n, h->reserved);
    fuzz_buf_add(&h->out, area, n);
    h->reserved = 0;
}

static void h_error(sluice_ctx *ctx, int errnum, uint64_t offset,
                    const char *fmt, ...)
{
    host *h = (host *)(void *)ctx;
    (void)errnum;
    (void)offset;
    if (h->nerr++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(h->msg, sizeof h->msg, fmt, ap);
        va_end(ap);
    }
}

static const char *h_option(sluice_ctx *ctx, const char *key)
{
    (void)ctx;
    return strcmp(key, "max_output") == 0 ? "0" : NULL;
}

static int64_t h_option_int(sluice_ctx *ctx, const char *key)
{
    (void)ctx;
    (void)key;
    return 0;
}

static void host_open(host *h, uint64_t seed)
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
    h->ctx.api = &h->api;
    h->ctx.state = calloc(1, desc->state_size ? desc->state_size : 1);
    if (!h->ctx.state)
        abort();
    h->seed = seed;
    if (desc->worker_init(&h->ctx) != 0)
        fuzz_fail("gunzip worker_init failed");
}

static void host_close(host *h)
{
    desc->worker_fini(&h->ctx);
    free(h->ctx.state);
    free(h->out.p);
}

typedef struct result {
    int ok;       /* no error reported */
    fuzz_buf out; /* output (owned) */
    uint64_t c[N_C];
} result;

/* Decodes d[at..end) of engine input `input` as one unit on worker state
 * h, with blocks cut at random points, into *r (output appended, counters
 * of this unit). */
static void plugin_unit_on(host *hp, uint32_t input, const unsigned char *d,
                           size_t n, size_t at, size_t end, uint64_t *rs,
                           result *r)
{
    hp->out.len = 0;
    hp->nerr = 0;
    unsigned char pt[1024];
    if (desc->partial_size > sizeof pt)
        fuzz_fail("gunzip partial of %zu bytes", (size_t)desc->partial_size);
    desc->partial_init(&hp->ctx, pt);
    int rc = 0;
    size_t pos = at;
    while (rc == 0) {
        uint64_t x = fuzz_rand(rs);
        size_t step = (x & 3) == 0 ? 1 + (x >> 8) % 8 : 1 + (x >> 8) % 4096;
        size_t stop = end - pos < step ? end : pos + step;
        uint32_t f = 0;
        if (pos == at)
            f |= SLUICE_BLOCK_UNIT_BEGIN |
                 (at == 0 ? SLUICE_BLOCK_FILE_BEGIN : 0);
        if (stop == end)
            f |= SLUICE_BLOCK_UNIT_END | (end == n ? SLUICE_BLOCK_FILE_END : 0);
        sluice_block b = {.data = stop > pos ? d + pos : NULL,
                          .len = stop - pos,
                          .offset = pos,
                          .path = "fuzz.gz",
                          .input = input,
                          .flags = f};
        rc = desc->map(&hp->ctx, &b, pt);
        if (rc != 0 && hp->nerr == 0)
            fuzz_fail("gunzip map failed without a message");
        if (rc == 0 && hp->nerr)
            fuzz_fail("gunzip reported \"%s\" but map returned 0", hp->msg);
        pos = stop;
        if (pos == end)
            break;
    }
    if (rc != 0)
        r->ok = 0;
    fuzz_buf_add(&r->out, hp->out.p, hp->out.len);
    uint64_t c[N_C];
    desc->counters(&hp->ctx, pt, c);
    r->c[C_MEMBERS] += c[C_MEMBERS];
    r->c[C_UNCOMPRESSED] += c[C_UNCOMPRESSED];
    if (c[C_GARBAGE] < r->c[C_GARBAGE])
        r->c[C_GARBAGE] = c[C_GARBAGE];
}

static void plugin_unit(const unsigned char *d, size_t n, size_t at, size_t end,
                        uint64_t *rs, result *r)
{
    host h;
    host_open(&h, fuzz_rand(rs));
    plugin_unit_on(&h, 0, d, n, at, end, rs, r);
    host_close(&h);
}

typedef struct mem_src {
    const unsigned char *p;
    size_t n;
} mem_src;

static int64_t mem_read(void *src, void *b, size_t n, uint64_t off)
{
    mem_src *m = src;
    if (off >= m->n)
        return 0;
    if (n > m->n - off)
        n = m->n - (size_t)off;
    memcpy(b, m->p + off, n);
    return (int64_t)n;
}

/* ----------------------------------------------------- gzread, pulled */

typedef struct pull_src {
    const unsigned char *p;
    size_t n, at;
    uint64_t rs;
} pull_src;

static ssize_t pull(void *arg, void *b, size_t n)
{
    pull_src *s = arg;
    size_t step = 1 + (size_t)(fuzz_rand(&s->rs) % 5000);
    if (step < n)
        n = step;
    if (n > s->n - s->at)
        n = s->n - s->at;
    memcpy(b, s->p + s->at, n);
    s->at += n;
    return (ssize_t)n;
}

/* ------------------------------------------------------------- target */

/* A .Z stream that leaves long strings in the table (codes 257..500 each
 * one byte longer than the last), then clears it: decoded on a worker
 * state before an input, nothing of it may show in that input's result. */
static unsigned char prelude[3 + 300];
static size_t prelude_len;

static void make_prelude(void)
{
    uint64_t acc = 0;
    unsigned nbits = 0;
    prelude[prelude_len++] = 0x1f;
    prelude[prelude_len++] = 0x9d;
    prelude[prelude_len++] = 0x90; /* block mode, 16 bits */
    for (unsigned code = 256; code <= 501; code++) {
        unsigned c = code == 256 ? 'a' : code == 501 ? 256 : code;
        acc |= (uint64_t)c << nbits;
        nbits += 9;
        while (nbits >= 8) {
            prelude[prelude_len++] = (unsigned char)acc;
            acc >>= 8;
            nbits -= 8;
        }
    }
    if (nbits)
        prelude[prelude_len++] = (unsigned char)acc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    make_prelude();
    (void)argc;
    (void)argv;
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/plugins/gunzip/gunzip.so",
             fuzz_build_root());
    if (sluice_plugin_open(path, NULL, &handle, err, sizeof err) != 0)
        fuzz_fail("%s", err);
    desc = sluice_plugin_get(handle);
    area = malloc(AREA);
    if (!area)
        abort();
    return 0;
}

static void expect_same(const char *who, const fuzz_buf *got, const ref *r)
{
    if (got->len != r->out.len ||
        (got->len && memcmp(got->p, r->out.p, got->len) != 0)) {
        size_t i = 0;
        while (i < got->len && i < r->out.len && got->p[i] == r->out.p[i])
            i++;
        fuzz_fail("%s: %zu bytes out, zlib %zu; first difference at %zu", who,
                  got->len, r->out.len, i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    ref r;
    reference(d, n, &r);
    if (r.verdict == REF_SKIP) {
        free(r.out.p);
        return 0;
    }
    uint64_t rs = fuzz_hash(d, n);

    if (r.verdict == REF_OTHER) {
        /* .Z, pack, zip: no reference here; the same verdict for any two
         * splits into blocks, and on a worker state that decoded another
         * input (this one) before, and the same bytes when it is good
         * (how much comes out before an error depends on the split). */
        result a = {1, {NULL, 0, 0}, {0, 0, 0, UINT64_MAX, 0, 0, 0}};
        result b = a, c = a;
        host h;
        host_open(&h, fuzz_rand(&rs));
        plugin_unit_on(&h, 0, d, n, 0, n, &rs, &a);
        plugin_unit_on(&h, 1, prelude, prelude_len, 0, prelude_len, &rs, &b);
        if (!b.ok || b.out.len != 245 * 246 / 2)
            fuzz_fail("the prelude .Z decodes to %zu bytes (ok %d)", b.out.len,
                      b.ok);
        b.out.len = 0;
        b.ok = 1;
        plugin_unit_on(&h, 2, d, n, 0, n, &rs, &b);
        host_close(&h);
        plugin_unit(d, n, 0, n, &rs, &c);
        const result *v[2] = {&b, &c};
        for (int k = 0; k < 2; k++)
            if (v[k]->ok != a.ok ||
                (a.ok &&
                 (v[k]->out.len != a.out.len ||
                  (a.out.len && memcmp(v[k]->out.p, a.out.p, a.out.len) != 0))))
                fuzz_fail("gunzip plugin: %s gives another result (%d, %zu "
                          "bytes; first %d, %zu bytes)",
                          k ? "another split" : "a used worker state", v[k]->ok,
                          v[k]->out.len, a.ok, a.out.len);
        free(a.out.p);
        free(b.out.p);
        free(c.out.p);
        free(r.out.p);
        return 0;
    }

    /* The plugin, whole input as one unit. */
    result whole = {1, {NULL, 0, 0}, {0, 0, 0, UINT64_MAX, 0, 0, 0}};
    plugin_unit(d, n, 0, n, &rs, &whole);
    int plugin_ok = r.verdict == REF_OK && !r.hint_lies;
    if (plugin_ok) {
        if (!whole.ok)
            fuzz_fail("gunzip plugin refused what zlib and gzip's rules "
                      "accept");
        expect_same("gunzip plugin", &whole.out, &r);
        if (whole.c[C_MEMBERS] != r.members)
            fuzz_fail("gunzip plugin: %llu members, zlib %llu",
                      (unsigned long long)whole.c[C_MEMBERS],
                      (unsigned long long)r.members);
        if (whole.c[C_GARBAGE] != r.garbage_at)
            fuzz_fail("gunzip plugin: garbage at %llu, expected %llu",
                      (unsigned long long)whole.c[C_GARBAGE],
                      (unsigned long long)r.garbage_at);
    } else if (whole.ok && !r.lenient) {
        fuzz_fail("gunzip plugin accepted what zlib refuses (%zu bytes out)",
                  whole.out.len);
    }

    /* The plugin as the engine runs it: units from boundary(). */
    if (n > 0) {
        result units = {1, {NULL, 0, 0}, {0, 0, 0, UINT64_MAX, 0, 0, 0}};
        mem_src m = {d, n};
        sluice_ctx cctx;
        memset(&cctx, 0, sizeof cctx);
        cctx.size = sizeof cctx;
        cctx.worker = -1;
        uint64_t want = 1 + fuzz_rand(&rs) % 4096;
        for (uint64_t at = 0; at < n && units.ok;) {
            uint64_t b = desc->boundary(&cctx, mem_read, &m, at, want, n);
            if (b <= at || b > n)
                fuzz_fail("boundary(at %llu) = %llu, size %zu",
                          (unsigned long long)at, (unsigned long long)b, n);
            plugin_unit(d, n, (size_t)at, (size_t)b, &rs, &units);
            at = b;
        }
        if (plugin_ok) {
            if (!units.ok)
                fuzz_fail("gunzip plugin in units refused what zlib accepts");
            expect_same("gunzip plugin in units", &units.out, &r);
        } else if (units.ok && !r.lenient) {
            fuzz_fail("gunzip plugin in units accepted what zlib refuses");
        }
        free(units.out.p);
    }
    free(whole.out.p);

    /* gzread: trailing garbage is an error there. */
    pull_src ps = {d, n, 0, rs};
    sluice__gzr *z = NULL;
    if (sluice__gzr_new(pull, &ps, &z) != 0)
        fuzz_fail("sluice__gzr_new failed");
    fuzz_buf out = {NULL, 0, 0};
    unsigned char tmp[8192];
    ssize_t got;
    while ((got = sluice__gzr_read(z, tmp, 1 + fuzz_rand(&rs) % sizeof tmp)) >
           0)
        fuzz_buf_add(&out, tmp, (size_t)got);
    int gz_ok = got == 0;
    if (!gz_ok && !sluice__gzr_error(z, NULL))
        fuzz_fail("gzread failed without a message");
    int want_ok = r.verdict == REF_OK && r.garbage_at == UINT64_MAX;
    if (r.lenient) {
        free(out.p);
        sluice__gzr_free(z);
        free(r.out.p);
        return 0;
    }
    if (want_ok && !gz_ok)
        fuzz_fail("gzread refused what zlib accepts: %s",
                  sluice__gzr_error(z, NULL));
    if (!want_ok && gz_ok)
        fuzz_fail("gzread accepted what zlib or gzip's rules refuse");
    if (gz_ok)
        expect_same("gzread", &out, &r);
    sluice__gzr_free(z);
    free(out.p);
    free(r.out.p);
    return 0;
}
