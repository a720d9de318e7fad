/*
 * test_gather.c -- turning records into results (engine/gather.c), driven
 * directly.
 *
 * The test writes records into an output arena itself, the way a worker
 * does (header, payload padded to 8, a PAD record or implicit padding where
 * a record does not fit before the arena's end), and hands fragments to
 * sluice__gather_apply.  The plugin is a fake defined here: its partial is
 * a sum, a count and an order-sensitive hash of the values merged into it,
 * so a result shows whether every piece was merged once and in order.
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

#include "internal.h"
#include "harness.h"
#include "util.h"

/* ------------------------------------------------------------ the plugin */

#define HASH_B 1000003ULL

typedef struct part {
    uint64_t sum;   /* of the values */
    uint64_t count; /* values */
    uint64_t hash;  /* polynomial hash of the values, in order */
    uint64_t pow;   /* HASH_B^count */
} part;

static part piece(uint64_t v)
{
    part p = {v, 1, v, HASH_B};
    return p;
}

/* The partial of values vals[0..n), merged left to right. */
static part pieces(const uint64_t *vals, size_t n)
{
    part p = {0, 0, 0, 1};
    for (size_t i = 0; i < n; i++) {
        p.sum += vals[i];
        p.count++;
        p.hash = p.hash * HASH_B + vals[i];
        p.pow *= HASH_B;
    }
    return p;
}

static void fake_merge(const sluice_ctx *ctx, void *into, const void *next)
{
    (void)ctx;
    part *a = into;
    const part *b = next;
    a->sum += b->sum;
    a->count += b->count;
    a->hash = a->hash * b->pow + b->hash;
    a->pow *= b->pow;
}

static void fake_counters(const sluice_ctx *ctx, const void *p, uint64_t *out)
{
    (void)ctx;
    const part *x = p;
    out[0] = x->sum;
    out[1] = x->count;
}

static int fake_map(sluice_ctx *ctx, const sluice_block *b, void *p)
{
    (void)ctx;
    (void)b;
    (void)p;
    return 0;
}

static const char *const fake_names[] = {"sum", "count"};

static const sluice_plugin fake = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "fake",
    .version = "1",
    .description = "gather tests",
    .license = "MIT",
    .caps = SLUICE_CAP_MERGE | SLUICE_CAP_ORDERED,
    .partial_size = sizeof(part),
    .counter_names = fake_names,
    .n_counters = 2,
    .counters = fake_counters,
    .map = fake_map,
    .merge = fake_merge,
};

#define MAXIN 16

/* A gatherer over `n` inputs named in0, in1, ... */
typedef struct fixture {
    sluice__gather g;
    sluice__input inputs[MAXIN];
    sluice_callbacks cb;
    th_record r; /* what the callbacks saw */
    part got;    /* a partial of r, aligned (part_of) */
} fixture;

static fixture *fixture_new(const sluice_plugin *plugin, uint32_t n)
{
    static const char *const names[MAXIN] = {
        "in0", "in1", "in2",  "in3",  "in4",  "in5",  "in6",  "in7",
        "in8", "in9", "in10", "in11", "in12", "in13", "in14", "in15"};
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    for (uint32_t i = 0; i < n; i++) {
        f->inputs[i].pub.path = names[i];
        f->inputs[i].kind = SLUICE__IN_FILE;
        f->inputs[i].fd = -1;
    }
    f->r.desc = plugin;
    f->cb = th_callbacks(&f->r);
    assert_int_equal(
        sluice__gather_init(&f->g, plugin, NULL, &f->cb, f->inputs, n), 0);
    return f;
}

/* Input i's partial, as recorded. */
static const part *part_of(fixture *f, uint32_t i)
{
    memcpy(&f->got, f->r.in[i].partial, sizeof f->got);
    return &f->got;
}

static void fixture_free(fixture *f)
{
    sluice__gather_free(&f->g);
    assert_int_equal(f->r.repeated, 0);
    assert_int_equal(f->r.out_backwards, 0);
    th_record_free(&f->r);
    free(f);
}

/* ----------------------------------------------------------- the arena */

/* An output arena written the way a worker writes it. */
typedef struct arena {
    unsigned char *buf;
    size_t size;   /* multiple of 8 */
    uint64_t head; /* free-running write position */
    int pads;      /* PAD records written */
    int implicit;  /* implicit paddings (< header bytes left) */
} arena;

static arena arena_new(size_t size, uint64_t start)
{
    arena a = {calloc(1, size), size, start, 0, 0};
    assert_non_null(a.buf);
    return a;
}

/* Appends one record; returns the position where its fragment may start
 * (before any padding it needed). */
static uint64_t put_rec(arena *a, uint32_t type, uint32_t input,
                        const void *payload, uint32_t len, int32_t errnum,
                        uint64_t offset)
{
    uint64_t start = a->head;
    size_t total = sizeof(sluice__rec) + sluice__pad8(len);
    assert_true(total <= a->size);
    size_t phys = (size_t)(a->head % a->size);
    size_t contig = a->size - phys;
    if (contig < total) {
        if (contig >= sizeof(sluice__rec)) {
            sluice__rec pad = {SLUICE__REC_PAD, 0,
                               (uint32_t)(contig - sizeof(sluice__rec)), 0, 0};
            memcpy(a->buf + phys, &pad, sizeof pad);
            a->pads++;
        } else {
            a->implicit++;
        }
        a->head += contig;
        phys = 0;
    }
    sluice__rec r = {type, input, len, errnum, offset};
    memcpy(a->buf + phys, &r, sizeof r);
    if (len)
        memcpy(a->buf + phys + sizeof r, payload, len);
    memset(a->buf + phys + sizeof r + len, 0xee, sluice__pad8(len) - len);
    a->head += total;
    return start;
}

static void put_partial(arena *a, uint32_t input, uint64_t v)
{
    part p = piece(v);
    put_rec(a, SLUICE__REC_PARTIAL, input, &p, sizeof p, 0, 0);
}

static void put_data(arena *a, const char *s)
{
    put_rec(a, SLUICE__REC_DATA, 0, s, (uint32_t)strlen(s), 0, 0);
}

static void put_end(arena *a, uint32_t input)
{
    put_rec(a, SLUICE__REC_END, input, NULL, 0, 0, 0);
}

static void put_error(arena *a, uint32_t input, int errnum, uint64_t off,
                      const char *msg)
{
    put_rec(a, SLUICE__REC_ERROR, input, msg, (uint32_t)strlen(msg), errnum,
            off);
}

/* Applies [from, a->head) as one fragment of the current unit. */
static int apply_from(fixture *f, arena *a, uint64_t from, uint32_t lo,
                      uint32_t hi)
{
    return sluice__gather_apply(&f->g, a->buf, a->size, from, a->head - from,
                                lo, hi);
}

static void assert_part(const part *got, const uint64_t *vals, size_t n)
{
    part want = pieces(vals, n);
    assert_int_equal(got->sum, want.sum);
    assert_int_equal(got->count, want.count);
    assert_true(got->hash == want.hash); /* merged once each, in order */
}

/* ------------------------------------------------------------ results */

static void
results_are_delivered_per_input_in_order_with_merged_partials(void **st)
{
    (void)st;
    fixture *f = fixture_new(&fake, 4);
    arena a = arena_new(4096, 0);
    /* Unit 0: all of in0, the start of in1; in two fragments. */
    sluice__gather_begin_unit(&f->g, 0);
    uint64_t from = a.head;
    put_partial(&a, 0, 1);
    put_partial(&a, 0, 2);
    assert_int_equal(apply_from(f, &a, from, 0, 2), 0);
    assert_int_equal(f->r.n, 0); /* nothing before END */
    from = a.head;
    put_partial(&a, 0, 3);
    put_end(&a, 0);
    put_partial(&a, 1, 10);
    assert_int_equal(apply_from(f, &a, from, 0, 2), 0);
    assert_int_equal(f->r.n, 1);
    /* Unit 1: the rest of in1, in2 with no partial, in3. */
    sluice__gather_begin_unit(&f->g, 1);
    from = a.head;
    put_partial(&a, 1, 20);
    put_partial(&a, 1, 30);
    put_end(&a, 1);
    put_end(&a, 2);
    put_partial(&a, 3, 7);
    put_end(&a, 3);
    assert_int_equal(apply_from(f, &a, from, 1, 4), 0);

    assert_int_equal(f->r.n, 4);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(f->r.order[i], i);
    const uint64_t v0[] = {1, 2, 3}, v1[] = {10, 20, 30}, v3[] = {7};
    assert_true(f->r.in[0].has_partial && f->r.in[1].has_partial &&
                f->r.in[3].has_partial);
    assert_part(part_of(f, 0), v0, 3);
    assert_part(part_of(f, 1), v1, 3);
    assert_false(f->r.in[2].has_partial); /* no partial: none delivered */
    assert_part(part_of(f, 3), v3, 1);
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(f->r.in[i].errnum, 0);
        assert_true(f->r.in[i].offset == UINT64_MAX);
        assert_false(f->r.in[i].has_msg);
    }
    assert_int_equal(f->g.failed, 0);
    free(a.buf);
    fixture_free(f);
}

static void
an_error_then_end_gives_errno_offset_message_and_partial_so_far(void **st)
{
    (void)st;
    fixture *f = fixture_new(&fake, 2);
    arena a = arena_new(4096, 0);
    sluice__gather_begin_unit(&f->g, 0);
    uint64_t from = a.head;
    put_partial(&a, 0, 5);
    put_error(&a, 0, EIO, 1234, "bad sector");
    put_error(&a, 0, ENOMEM, 99, "second error"); /* the first one wins */
    put_end(&a, 0);
    put_error(&a, 1, EACCES, UINT64_MAX, ""); /* no message */
    put_end(&a, 1);
    assert_int_equal(apply_from(f, &a, from, 0, 2), 0);

    assert_int_equal(f->r.n, 2);
    assert_int_equal(f->r.in[0].errnum, EIO);
    assert_int_equal(f->r.in[0].offset, 1234);
    assert_true(f->r.in[0].has_msg);
    assert_string_equal(f->r.in[0].msg, "bad sector");
    assert_true(f->r.in[0].has_partial);
    const uint64_t v0[] = {5};
    assert_part(part_of(f, 0), v0, 1);

    assert_int_equal(f->r.in[1].errnum, EACCES);
    assert_true(f->r.in[1].offset == UINT64_MAX);
    assert_false(f->r.in[1].has_msg);
    assert_false(f->r.in[1].has_partial);
    assert_int_equal(f->g.failed, 2);
    free(a.buf);
    fixture_free(f);
}

static void
partials_after_an_error_are_ignored_but_the_failing_units_count(void **st)
{
    (void)st;
    fixture *f = fixture_new(&fake, 2);
    arena a = arena_new(4096, 0);
    /* in0 spans units 0..3; unit 1 fails after reading some of it. */
    sluice__gather_begin_unit(&f->g, 0);
    uint64_t from = a.head;
    put_partial(&a, 0, 1);
    assert_int_equal(apply_from(f, &a, from, 0, 1), 0);

    sluice__gather_begin_unit(&f->g, 1);
    from = a.head;
    put_error(&a, 0, EIO, 5000, "read error");
    put_partial(&a, 0, 2); /* what unit 1 read before failing: counts */
    assert_int_equal(apply_from(f, &a, from, 0, 1), 0);

    sluice__gather_begin_unit(&f->g, 2);
    from = a.head;
    put_partial(&a, 0, 4); /* after the error: ignored */
    assert_int_equal(apply_from(f, &a, from, 0, 1), 0);

    sluice__gather_begin_unit(&f->g, 3);
    from = a.head;
    put_partial(&a, 0, 8); /* ignored too */
    put_end(&a, 0);
    /* The next input starts clean. */
    put_partial(&a, 1, 16);
    put_end(&a, 1);
    assert_int_equal(apply_from(f, &a, from, 0, 2), 0);

    assert_int_equal(f->r.n, 2);
    assert_int_equal(f->r.in[0].errnum, EIO);
    assert_int_equal(f->r.in[0].offset, 5000);
    const uint64_t v0[] = {1, 2}, v1[] = {16};
    assert_part(part_of(f, 0), v0, 2);
    assert_int_equal(f->r.in[1].errnum, 0);
    assert_part(part_of(f, 1), v1, 1);
    assert_int_equal(f->g.failed, 1);
    free(a.buf);
    fixture_free(f);
}

static void data_records_reach_on_output_in_order(void **st)
{
    (void)st;
    fixture *f = fixture_new(&fake, 2);
    arena a = arena_new(4096, 0);
    const char *pieces_of_text[] = {
        "",         "a",         "bcdefgh",
        "ijklmnop", "qrstuvwxy", "z0123456789 the quick brown fox jumps"};
    char want[256] = "";
    sluice__gather_begin_unit(&f->g, 0);
    uint64_t from = a.head;
    for (size_t i = 0; i < 6; i++) {
        put_data(&a, pieces_of_text[i]);
        strcat(want, pieces_of_text[i]);
    }
    put_end(&a, 0);
    assert_int_equal(apply_from(f, &a, from, 0, 2), 0);
    sluice__gather_begin_unit(&f->g, 1);
    from = a.head;
    put_data(&a, "|second unit");
    strcat(want, "|second unit");
    put_end(&a, 1);
    assert_int_equal(apply_from(f, &a, from, 1, 2), 0);
    assert_int_equal(f->r.out_len, strlen(want));
    assert_memory_equal(f->r.out, want, strlen(want));
    assert_int_equal(f->r.out_calls, 6); /* the empty record is no call */
    assert_int_equal(f->r.n, 2);
    free(a.buf);
    fixture_free(f);
}

static void a_failing_on_output_gives_eoutput(void **st)
{
    (void)st;
    fixture *f = fixture_new(&fake, 1);
    arena a = arena_new(4096, 0);
    f->r.fail_output = -EIO;
    sluice__gather_begin_unit(&f->g, 0);
    uint64_t from = a.head;
    put_data(&a, "lost");
    put_end(&a, 0);
    assert_int_equal(apply_from(f, &a, from, 0, 1), SLUICE_EOUTPUT);
    assert_int_equal(f->g.fatal, SLUICE_EOUTPUT);
    free(a.buf);
    fixture_free(f);
}

/* ------------------------------------------------------------ corruption */

/* Builds a one-record fragment for a fresh gatherer over 3 inputs whose
 * current input is 1 (input 0 done); returns what apply says. */
static int apply_single(uint32_t type, uint32_t input, const void *payload,
                        uint32_t len, uint32_t lo, uint32_t hi)
{
    fixture *f = fixture_new(&fake, 3);
    arena a = arena_new(1024, 0);
    sluice__gather_begin_unit(&f->g, 0);
    put_end(&a, 0);
    assert_int_equal(apply_from(f, &a, 0, 0, 1), 0);
    sluice__gather_begin_unit(&f->g, 1);
    uint64_t from = a.head;
    put_rec(&a, type, input, payload, len, 0, 0);
    int rc = apply_from(f, &a, from, lo, hi);
    free(a.buf);
    fixture_free(f);
    return rc;
}

static void a_record_naming_another_input_is_corrupt(void **st)
{
    (void)st;
    part p = piece(1);
    const uint32_t types[] = {SLUICE__REC_PARTIAL, SLUICE__REC_ERROR,
                              SLUICE__REC_END};
    for (size_t t = 0; t < 3; t++) {
        uint32_t len = types[t] == SLUICE__REC_PARTIAL ? sizeof p : 0;
        /* The right input is accepted ... */
        assert_int_equal(apply_single(types[t], 1, &p, len, 1, 3), 0);
        /* ... one already finished, one ahead of the current one, one out
         * of the unit's range and one past the job's inputs are not. */
        assert_int_equal(apply_single(types[t], 0, &p, len, 0, 3),
                         SLUICE_ECORRUPT);
        assert_int_equal(apply_single(types[t], 2, &p, len, 1, 3),
                         SLUICE_ECORRUPT);
        assert_int_equal(apply_single(types[t], 1, &p, len, 2, 3),
                         SLUICE_ECORRUPT);
        assert_int_equal(apply_single(types[t], 1, &p, len, 0, 1),
                         SLUICE_ECORRUPT);
        assert_int_equal(apply_single(types[t], 7, &p, len, 1, 9),
                         SLUICE_ECORRUPT);
    }
}

static void a_partial_of_the_wrong_size_is_corrupt(void **st)
{
    (void)st;
    unsigned char buf[sizeof(part) + 8] = {0};
    assert_int_equal(
        apply_single(SLUICE__REC_PARTIAL, 1, buf, sizeof(part), 1, 3), 0);
    const uint32_t bad[] = {0, 8, sizeof(part) - 8, sizeof(part) - 1,
                            sizeof(part) + 8};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(
            apply_single(SLUICE__REC_PARTIAL, 1, buf, bad[i], 1, 3),
            SLUICE_ECORRUPT);
}

static void a_partial_from_a_plugin_without_merge_is_corrupt(void **st)
{
    (void)st;
    sluice_plugin nomerge = fake;
    nomerge.caps = SLUICE_CAP_ORDERED;
    fixture *f = fixture_new(&nomerge, 1);
    arena a = arena_new(1024, 0);
    sluice__gather_begin_unit(&f->g, 0);
    put_partial(&a, 0, 1);
    assert_int_equal(apply_from(f, &a, 0, 0, 1), SLUICE_ECORRUPT);
    free(a.buf);
    fixture_free(f);
}

static void an_unknown_record_type_is_corrupt(void **st)
{
    (void)st;
    const uint32_t bad[] = {0, 6, 7, 100, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(apply_single(bad[i], 1, "xxxxxxxx", 8, 1, 3),
                         SLUICE_ECORRUPT);
}

static void records_running_past_their_fragment_are_corrupt(void **st)
{
    (void)st;
    fixture *f = fixture_new(&fake, 1);
    arena a = arena_new(1024, 0);
    sluice__gather_begin_unit(&f->g, 0);
    put_partial(&a, 0, 1);
    put_end(&a, 0);
    uint64_t full = a.head;
    /* Fragments that stop inside the header or the payload of a record. */
    const uint64_t cut[] = {8, 16, sizeof(sluice__rec) + 8,
                            full - sizeof(sluice__rec) + 8, full - 8};
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++)
        assert_int_equal(
            sluice__gather_apply(&f->g, a.buf, a.size, 0, cut[i], 0, 1),
            SLUICE_ECORRUPT);
    assert_int_equal(f->r.n, 0);
    free(a.buf);
    fixture_free(f);
}

static void a_fragment_longer_than_the_arena_is_corrupt(void **st)
{
    (void)st;
    fixture *f = fixture_new(&fake, 1);
    arena a = arena_new(1024, 0);
    sluice__gather_begin_unit(&f->g, 0);
    /* The arena holds nothing but well-formed DATA records, so reading
     * round it again would parse. */
    while (a.head < a.size)
        put_data(&a, "0123456789abcdef0123456789abcdef0123456");
    assert_int_equal(a.head, a.size);
    assert_int_equal(
        sluice__gather_apply(&f->g, a.buf, a.size, 0, a.size, 0, 1), 0);
    const uint64_t lens[] = {a.size + 64, 2 * a.size, 1ULL << 40};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        assert_int_equal(
            sluice__gather_apply(&f->g, a.buf, a.size, a.size, lens[i], 0, 1),
            SLUICE_ECORRUPT);
    free(a.buf);
    fixture_free(f);
}

static void a_record_length_beyond_the_arena_is_corrupt(void **st)
{
    (void)st;
    fixture *f = fixture_new(&fake, 1);
    arena a = arena_new(1024, 0);
    sluice__gather_begin_unit(&f->g, 0);
    /* A DATA record claiming more bytes than are left before the arena's
     * end, inside a fragment that covers the whole arena. */
    const uint32_t lens[] = {1024, 1024 - 16, UINT32_MAX, UINT32_MAX - 3};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        sluice__rec r = {SLUICE__REC_DATA, 0, lens[i], 0, 0};
        memcpy(a.buf, &r, sizeof r);
        assert_int_equal(
            sluice__gather_apply(&f->g, a.buf, a.size, 0, a.size, 0, 1),
            SLUICE_ECORRUPT);
    }
    /* A record 64 bytes before the end whose payload would run over it,
     * in a fragment long enough to hold it (records never wrap; a writer
     * pads instead). */
    sluice__rec r = {SLUICE__REC_DATA, 0, 100, 0, 0};
    memcpy(a.buf + 960, &r, sizeof r);
    assert_int_equal(
        sluice__gather_apply(&f->g, a.buf, a.size, 5 * 1024 + 960, 200, 0, 1),
        SLUICE_ECORRUPT);
    assert_int_equal(f->r.out_calls, 0);
    free(a.buf);
    fixture_free(f);
}

static void a_pad_record_short_of_the_arena_end_is_corrupt(void **st)
{
    (void)st;
    fixture *f = fixture_new(&fake, 1);
    arena a = arena_new(1024, 0);
    sluice__gather_begin_unit(&f->g, 0);
    put_rec(&a, SLUICE__REC_PAD, 0, NULL, 0, 0, 0); /* 24 bytes, not 1024 */
    put_end(&a, 0);
    assert_int_equal(apply_from(f, &a, 0, 0, 1), SLUICE_ECORRUPT);
    assert_int_equal(f->r.n, 0);
    free(a.buf);
    fixture_free(f);
}

/* ------------------------------------------------------------ wrapping */

static void records_wrapping_at_the_arena_end_are_read_correctly(void **st)
{
    (void)st;
    /* A small arena at a free-running position far from zero; payloads of
     * assorted lengths make records meet the end with every possible
     * remainder, so both a PAD record and implicit padding occur. */
    fixture *f = fixture_new(&fake, MAXIN);
    arena a = arena_new(256, 1000ULL * 256 + 40);
    uint64_t rs = 8;
    char want[8192];
    size_t want_len = 0;
    uint64_t vals[MAXIN][64];
    size_t nvals[MAXIN] = {0};
    uint64_t seq = 0;
    for (uint32_t in = 0; in < MAXIN; in++) {
        for (int k = 0; k < 12; k++) {
            sluice__gather_begin_unit(&f->g, seq++);
            uint64_t from = a.head; /* one unit: one or two fragments */
            for (int r = 0; r < 3; r++) {
                uint64_t kind = tu_rand(&rs) % 3;
                if (kind == 0) {
                    uint64_t v = tu_rand(&rs) % 1000;
                    put_partial(&a, in, v);
                    vals[in][nvals[in]++] = v;
                } else {
                    char text[48];
                    size_t n = (size_t)(tu_rand(&rs) % 41);
                    for (size_t i = 0; i < n; i++)
                        text[i] = (char)('A' + tu_rand(&rs) % 26);
                    text[n] = '\0';
                    put_data(&a, text);
                    memcpy(want + want_len, text, n);
                    want_len += n;
                }
                if (r == 1) { /* second fragment */
                    assert_int_equal(apply_from(f, &a, from, in, in + 1), 0);
                    from = a.head;
                }
            }
            if (k == 11)
                put_end(&a, in);
            assert_int_equal(apply_from(f, &a, from, in, in + 1), 0);
        }
    }
    assert_true(a.pads >= 2); /* both kinds of wrap were exercised */
    assert_true(a.implicit >= 2);
    assert_int_equal(f->r.n, MAXIN);
    for (uint32_t in = 0; in < MAXIN; in++) {
        assert_int_equal(f->r.order[in], in);
        assert_int_equal(f->r.in[in].has_partial, nvals[in] > 0);
        if (nvals[in])
            assert_part(part_of(f, in), vals[in], nvals[in]);
    }
    assert_int_equal(f->r.out_len, want_len);
    assert_memory_equal(f->r.out, want, want_len);
    free(a.buf);
    fixture_free(f);
}

static void a_fragment_starting_in_the_implicit_padding_is_read(void **st)
{
    (void)st;
    fixture *f = fixture_new(&fake, 1);
    arena a = arena_new(128, 0);
    sluice__gather_begin_unit(&f->g, 0);
    /* 128 = 24 + 88 (DATA of 88) + 16 left: less than a header. */
    char text[89];
    memset(text, 'x', 88);
    text[88] = '\0';
    put_data(&a, text);
    assert_int_equal(apply_from(f, &a, 0, 0, 1), 0);
    uint64_t from = a.head;
    assert_int_equal(from % a.size, 112);
    put_data(&a, "after");
    put_end(&a, 0);
    assert_int_equal(a.implicit, 1);
    assert_int_equal(apply_from(f, &a, from, 0, 1), 0);
    assert_int_equal(f->r.n, 1);
    assert_int_equal(f->r.out_len, 93);
    assert_memory_equal(f->r.out + 88, "after", 5);
    free(a.buf);
    fixture_free(f);
}

/* ---------------------------------------------------------- exactly once */

/* One unit's records: partials and output for inputs 0 and 1, an error on
 * input 1; `upto` records (0: all) written from a.head. */
static void put_unit(arena *a, int upto)
{
    int n = 0;
#define STEP(x)                                                                \
    do {                                                                       \
        if (upto && n++ >= upto)                                               \
            return;                                                            \
        x;                                                                     \
    } while (0)
    STEP(put_partial(a, 0, 1));
    STEP(put_data(a, "abc"));
    STEP(put_partial(a, 0, 2));
    STEP(put_data(a, "defghijkl"));
    STEP(put_end(a, 0));
    STEP(put_partial(a, 1, 3));
    STEP(put_data(a, "mn"));
    STEP(put_error(a, 1, EIO, 77, "oops"));
    STEP(put_partial(a, 1, 4));
    STEP(put_end(a, 1));
    STEP(put_data(a, "opq"));
#undef STEP
}

#define UNIT_RECORDS 11

/* Applies [from, a->head) of the unit being retried, saying which
 * retry failed. */
static void apply_retry(fixture *f, arena *a, uint64_t from, int lost1,
                        int lost2)
{
    int rc = apply_from(f, a, from, 0, 3);
    if (rc != 0)
        fail_msg("unit lost after %d (then %d) of its records: replaying "
                 "it gives %s",
                 lost1, lost2, sluice_err_name(rc));
}

static void a_retried_unit_counts_and_outputs_everything_exactly_once(void **st)
{
    (void)st;
    /* Lose the unit after each possible number of records, once or twice,
     * then replay all of it. */
    for (int lost1 = 1; lost1 < UNIT_RECORDS; lost1++) {
        for (int lost2 = 0; lost2 < UNIT_RECORDS; lost2 += 3) {
            fixture *f = fixture_new(&fake, 3);
            arena a = arena_new(4096, 0);
            /* A finished unit before, so the retried one is not seq 0. */
            sluice__gather_begin_unit(&f->g, 0);
            put_data(&a, "<");
            assert_int_equal(apply_from(f, &a, 0, 0, 1), 0);

            sluice__gather_begin_unit(&f->g, 1);
            uint64_t from = a.head;
            put_unit(&a, lost1);
            apply_retry(f, &a, from, lost1, lost2);
            sluice__gather_unit_lost(&f->g);
            if (lost2) {
                /* The first retry dies too, at another point. */
                sluice__gather_begin_unit(&f->g, 1);
                from = a.head;
                put_unit(&a, lost2);
                apply_retry(f, &a, from, lost1, lost2);
                sluice__gather_unit_lost(&f->g);
            }
            /* The successful run, in two fragments. */
            sluice__gather_begin_unit(&f->g, 1);
            from = a.head;
            put_unit(&a, 4);
            apply_retry(f, &a, from, lost1, lost2);
            uint64_t mid = a.head;
            arena b = a;
            b.head = from; /* rewrite the whole unit: same records */
            put_unit(&b, 0);
            a.head = b.head;
            apply_retry(f, &a, mid, lost1, lost2);

            /* The next unit is not skipped. */
            sluice__gather_begin_unit(&f->g, 2);
            from = a.head;
            put_partial(&a, 2, 5);
            put_data(&a, ">");
            put_end(&a, 2);
            assert_int_equal(apply_from(f, &a, from, 2, 3), 0);

            const char want[] = "<abcdefghijklmnopq>";
            if (f->r.out_len != strlen(want) ||
                memcmp(f->r.out, want, f->r.out_len) != 0)
                fail_msg("lost after %d and %d records: output \"%.*s\"", lost1,
                         lost2, (int)f->r.out_len, f->r.out);
            assert_int_equal(f->r.n, 3);
            for (uint32_t i = 0; i < 3; i++)
                assert_int_equal(f->r.order[i], i);
            const uint64_t v0[] = {1, 2}, v1[] = {3, 4}, v2[] = {5};
            assert_part(part_of(f, 0), v0, 2);
            assert_int_equal(f->r.in[0].errnum, 0);
            assert_part(part_of(f, 1), v1, 2);
            assert_int_equal(f->r.in[1].errnum, EIO);
            assert_int_equal(f->r.in[1].offset, 77);
            assert_string_equal(f->r.in[1].msg, "oops");
            assert_part(part_of(f, 2), v2, 1);
            assert_int_equal(f->r.in[2].errnum, 0);
            assert_int_equal(f->g.failed, 1);
            free(a.buf);
            fixture_free(f);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            results_are_delivered_per_input_in_order_with_merged_partials),
        cmocka_unit_test(
            an_error_then_end_gives_errno_offset_message_and_partial_so_far),
        cmocka_unit_test(
            partials_after_an_error_are_ignored_but_the_failing_units_count),
        cmocka_unit_test(data_records_reach_on_output_in_order),
        cmocka_unit_test(a_failing_on_output_gives_eoutput),
        cmocka_unit_test(a_record_naming_another_input_is_corrupt),
        cmocka_unit_test(a_partial_of_the_wrong_size_is_corrupt),
        cmocka_unit_test(a_partial_from_a_plugin_without_merge_is_corrupt),
        cmocka_unit_test(an_unknown_record_type_is_corrupt),
        cmocka_unit_test(records_running_past_their_fragment_are_corrupt),
        cmocka_unit_test(a_fragment_longer_than_the_arena_is_corrupt),
        cmocka_unit_test(a_record_length_beyond_the_arena_is_corrupt),
        cmocka_unit_test(a_pad_record_short_of_the_arena_end_is_corrupt),
        cmocka_unit_test(records_wrapping_at_the_arena_end_are_read_correctly),
        cmocka_unit_test(a_fragment_starting_in_the_implicit_padding_is_read),
        cmocka_unit_test(
            a_retried_unit_counts_and_outputs_everything_exactly_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
