/*
 * test_ring.c -- the SPSC shared-memory ring (engine/ring.h).
 *
 * Single-process tests drive the producer and consumer sides by turns and
 * poke the shared header directly, the way the process on the other side
 * could: indices started near UINT32_MAX to cross the 32-bit wraparound,
 * and inconsistent indices that must read as SLUICE_ECORRUPT.  The stress
 * test runs the two sides in two processes over a MAP_SHARED mapping, each
 * at its own pace, sleeping on eventfds with the ring's sleep protocol in
 * both directions; it is bounded by alarm() so it can fail but never hang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "os.h"
#include "ring.h"
#include "sluice/sluice.h"
#include "util.h"

/* A ring with its own cache-line-aligned memory. */
typedef struct test_ring {
    sluice_ring r;
    void *mem;
} test_ring;

static void ring_open(test_ring *t, uint32_t cap, uint32_t esize)
{
    size_t bytes = sluice_ring_bytes(cap, esize);
    t->mem = aligned_alloc(SLUICE_CACHELINE, bytes);
    assert_non_null(t->mem);
    memset(t->mem, 0xa5, bytes); /* init must not rely on zeroed memory */
    assert_int_equal(sluice_ring_init(&t->r, t->mem, cap, esize), 0);
}

static void ring_close(test_ring *t)
{
    free(t->mem);
}

/* Writes both shared indices, as the process on the other side could. */
static void ring_set_indices(test_ring *t, uint32_t head, uint32_t tail)
{
    atomic_store(&t->r.hdr->head, head);
    atomic_store(&t->r.hdr->tail, tail);
}

/* Entries of 24 bytes: a sequence number and two checks of it, so a slot
 * copied at the wrong offset or only in part is noticed. */
typedef struct ent24 {
    uint64_t seq, inv, sq;
} ent24;

static ent24 ent_of(uint64_t seq)
{
    ent24 e = {seq, ~seq, seq * seq};
    return e;
}

/* --------------------------------------------------------------- geometry */

static void init_rejects_bad_capacities_and_entry_sizes(void **st)
{
    (void)st;
    sluice_ring r;
    void *mem = aligned_alloc(SLUICE_CACHELINE, sluice_ring_bytes(64, 64));
    assert_non_null(mem);
    const uint32_t bad_caps[] = {0, 3, 6, 12, 63, 65, 100, 0x80000001u};
    for (size_t i = 0; i < sizeof bad_caps / sizeof bad_caps[0]; i++)
        assert_int_equal(sluice_ring_init(&r, mem, bad_caps[i], 8),
                         SLUICE_EINVAL);
    const uint32_t bad_sizes[] = {0, 1, 4, 7, 9, 12, 20, 60};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++)
        assert_int_equal(sluice_ring_init(&r, mem, 8, bad_sizes[i]),
                         SLUICE_EINVAL);
    const uint32_t good_caps[] = {1, 2, 4, 8, 64};
    const uint32_t good_sizes[] = {8, 16, 24, 64};
    for (size_t i = 0; i < sizeof good_caps / sizeof good_caps[0]; i++)
        for (size_t j = 0; j < sizeof good_sizes / sizeof good_sizes[0]; j++) {
            assert_int_equal(
                sluice_ring_init(&r, mem, good_caps[i], good_sizes[j]), 0);
            assert_int_equal(r.capacity, good_caps[i]);
            assert_int_equal(r.entry_size, good_sizes[j]);
            assert_int_equal(sluice_ring_count(&r), 0);
        }
    free(mem);
}

static void ring_bytes_holds_header_and_every_entry(void **st)
{
    (void)st;
    const uint32_t caps[] = {1, 4, 64};
    const uint32_t sizes[] = {8, 24, 64};
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++) {
            size_t b = sluice_ring_bytes(caps[i], sizes[j]);
            assert_true(b >=
                        sizeof(sluice_ring_hdr) + (size_t)caps[i] * sizes[j]);
            assert_int_equal(b % SLUICE_CACHELINE, 0);
            /* The slots begin inside the block and end at or before it. */
            test_ring t;
            ring_open(&t, caps[i], sizes[j]);
            unsigned char *base = t.mem;
            assert_true(t.r.slots >= base + sizeof(sluice_ring_hdr));
            assert_true(t.r.slots + (size_t)caps[i] * sizes[j] <= base + b);
            ring_close(&t);
        }
}

/* ------------------------------------------------------------ FIFO order */

static void ring_keeps_fifo_order_across_index_wraparound(void **st)
{
    (void)st;
    /* Several start points, so the wrap of the 32-bit index lands at
     * different slot positions and inside multi-entry copies. */
    const uint32_t starts[] = {UINT32_MAX - 5, UINT32_MAX, UINT32_MAX - 100,
                               0x7ffffff0u};
    uint64_t rs = 12345;
    for (size_t si = 0; si < sizeof starts / sizeof starts[0]; si++) {
        test_ring t;
        ring_open(&t, 16, sizeof(ent24));
        ring_set_indices(&t, starts[si], starts[si]);
        assert_int_equal(sluice_ring_count(&t.r), 0);
        uint64_t next_in = 0, next_out = 0;
        ent24 buf[16];
        while (next_out < 2000) {
            uint32_t n = 1 + (uint32_t)(tu_rand(&rs) % 16);
            for (uint32_t i = 0; i < n; i++)
                buf[i] = ent_of(next_in + i);
            int pushed = sluice_ring_push(&t.r, buf, n);
            assert_in_range(pushed, 0, n);
            next_in += (uint64_t)pushed;
            assert_int_equal(sluice_ring_count(&t.r), next_in - next_out);

            uint32_t m = 1 + (uint32_t)(tu_rand(&rs) % 16);
            memset(buf, 0, sizeof buf);
            int popped = sluice_ring_pop(&t.r, buf, m);
            assert_in_range(popped, 0, m);
            for (int i = 0; i < popped; i++) {
                ent24 want = ent_of(next_out + (uint64_t)i);
                assert_memory_equal(&buf[i], &want, sizeof want);
            }
            next_out += (uint64_t)popped;
            assert_int_equal(sluice_ring_count(&t.r), next_in - next_out);
        }
        /* The indices really did cross zero (and kept counting). */
        uint32_t head = atomic_load(&t.r.hdr->head);
        assert_int_equal(head, (uint32_t)(starts[si] + next_in));
        if (starts[si] > UINT32_MAX - 2000)
            assert_true(head < starts[si]);
        ring_close(&t);
    }
}

static void push_returns_how_many_fit_when_nearly_full(void **st)
{
    (void)st;
    test_ring t;
    ring_open(&t, 8, sizeof(ent24));
    ring_set_indices(&t, UINT32_MAX - 2, UINT32_MAX - 2);
    ent24 in[8], out[8];
    for (int i = 0; i < 8; i++)
        in[i] = ent_of((uint64_t)i);
    assert_int_equal(sluice_ring_push(&t.r, in, 5), 5);
    assert_int_equal(sluice_ring_push(&t.r, in + 5, 5), 3); /* 3 of 5 fit */
    assert_int_equal(sluice_ring_count(&t.r), 8);
    assert_int_equal(sluice_ring_push(&t.r, in, 1), 0); /* full */
    assert_int_equal(sluice_ring_push(&t.r, in, 8), 0);
    assert_int_equal(sluice_ring_count(&t.r), 8);
    assert_int_equal(sluice_ring_pop(&t.r, out, 2), 2);
    assert_memory_equal(out, in, 2 * sizeof(ent24));
    /* Two slots free now: only the first two of four go in. */
    ent24 more[4] = {ent_of(100), ent_of(101), ent_of(102), ent_of(103)};
    assert_int_equal(sluice_ring_push(&t.r, more, 4), 2);
    assert_int_equal(sluice_ring_pop(&t.r, out, 8), 8);
    assert_memory_equal(out, in + 2, 6 * sizeof(ent24));
    assert_memory_equal(out + 6, more, 2 * sizeof(ent24));
    ring_close(&t);
}

static void pop_on_an_empty_ring_returns_zero_and_copies_nothing(void **st)
{
    (void)st;
    test_ring t;
    ring_open(&t, 4, 8);
    uint64_t out[4] = {7, 7, 7, 7};
    assert_int_equal(sluice_ring_pop(&t.r, out, 4), 0);
    /* Again after traffic, at wrapped indices. */
    ring_set_indices(&t, UINT32_MAX - 1, UINT32_MAX - 1);
    uint64_t in[3] = {1, 2, 3};
    assert_int_equal(sluice_ring_push(&t.r, in, 3), 3);
    assert_int_equal(sluice_ring_pop(&t.r, out, 4), 3);
    assert_memory_equal(out, in, sizeof in);
    out[0] = 7;
    assert_int_equal(sluice_ring_pop(&t.r, out, 4), 0);
    assert_int_equal(out[0], 7);
    assert_int_equal(sluice_ring_count(&t.r), 0);
    assert_int_equal(atomic_load(&t.r.hdr->tail), 1u);
    /* pop with max 0 takes nothing even when entries are queued. */
    assert_int_equal(sluice_ring_push(&t.r, in, 1), 1);
    assert_int_equal(sluice_ring_pop(&t.r, out, 0), 0);
    assert_int_equal(sluice_ring_count(&t.r), 1);
    ring_close(&t);
}

static void a_ring_exactly_full_across_the_wrap_is_not_corrupt(void **st)
{
    (void)st;
    test_ring t;
    ring_open(&t, 8, 8);
    /* head - tail == capacity, with head past zero and tail not. */
    ring_set_indices(&t, 5, UINT32_MAX - 2);
    assert_int_equal(sluice_ring_count(&t.r), 8);
    uint64_t x = 1, out[8];
    assert_int_equal(sluice_ring_push(&t.r, &x, 1), 0);
    assert_int_equal(sluice_ring_pop(&t.r, out, 8), 8);
    assert_int_equal(sluice_ring_count(&t.r), 0);
    ring_close(&t);
}

static void corrupt_indices_give_ecorrupt_from_push_pop_and_count(void **st)
{
    (void)st;
    /* (head, tail) pairs another process could have written. */
    const uint32_t bad[][2] = {
        {9, 0},              /* one more than the capacity */
        {1000, 0},           /* far ahead */
        {0, 1},              /* tail past head */
        {6, UINT32_MAX - 2}, /* 9 across the wrap */
        {UINT32_MAX, 0},     /* tail far ahead of head */
        {0x80000000u, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_ring t;
        ring_open(&t, 8, 8);
        ring_set_indices(&t, bad[i][0], bad[i][1]);
        uint64_t buf[8] = {0};
        assert_int_equal(sluice_ring_count(&t.r), SLUICE_ECORRUPT);
        assert_int_equal(sluice_ring_push(&t.r, buf, 1), SLUICE_ECORRUPT);
        assert_int_equal(sluice_ring_pop(&t.r, buf, 8), SLUICE_ECORRUPT);
        /* Nothing was published on top of the bad state. */
        assert_int_equal(atomic_load(&t.r.hdr->head), bad[i][0]);
        assert_int_equal(atomic_load(&t.r.hdr->tail), bad[i][1]);
        ring_close(&t);
    }
}

static void sleep_is_cancelled_when_entries_are_queued(void **st)
{
    (void)st;
    test_ring t;
    ring_open(&t, 4, 8);
    uint64_t x = 42;
    /* Empty: the consumer may sleep, and the producer must then wake it. */
    assert_int_equal(sluice_ring_prepare_sleep(&t.r), 1);
    assert_int_equal(sluice_ring_push(&t.r, &x, 1), 1);
    assert_int_equal(sluice_ring_needs_wake(&t.r), 1);
    sluice_ring_end_sleep(&t.r);
    assert_int_equal(sluice_ring_needs_wake(&t.r), 0);
    /* Not empty: no sleep, and no wake-up is asked for. */
    assert_int_equal(sluice_ring_prepare_sleep(&t.r), 0);
    assert_int_equal(sluice_ring_needs_wake(&t.r), 0);
    ring_close(&t);
}

/* ---------------------------------------------------------- two processes */

#define STRESS_N 2000000u
#define DATA_CAP 16u
#define ACK_CAP (4 * DATA_CAP) /* > acks that can pile up between drains */

/* Child -> parent: sequence numbers.  Parent -> child: one ack per pop, so
 * a producer that found the data ring full can sleep with the same
 * protocol, as the consumer of the ack ring. */
typedef struct stress_shm {
    _Alignas(SLUICE_CACHELINE) _Atomic uint64_t child_sleeps;
} stress_shm;

typedef struct stress {
    sluice_ring data, ack;
    stress_shm *shm;
    int data_efd; /* parent sleeps on it */
    int ack_efd;  /* child sleeps on it */
} stress;

static void pause_briefly(void)
{
    struct timespec ts = {0, 200000}; /* 200 us: longer than a spin */
    nanosleep(&ts, NULL);
}

/* Polls the ring for a moment while it holds `count` entries, before a
 * side goes to sleep (the engine's "spin briefly, then sleep"). */
static void spin_while_count_is(const sluice_ring *r, int64_t count)
{
    for (int i = 0; i < 200 && sluice_ring_count(r) == count; i++) {
        if (i < 100)
            sluice__os_cpu_relax();
        else
            sched_yield(); /* the other side may need this CPU */
    }
}

/* Set by SIGALRM: the test ran out of time (a lost wake-up). */
static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
    (void)sig;
    alarmed = 1;
    alarm(1); /* again, in case it landed just before a blocking read */
}

/* Arms a deadline whose expiry interrupts a blocked eventfd read. */
static void arm_deadline(unsigned seconds)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: read() fails with EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarmed = 0;
    alarm(seconds);
}

static void disarm_deadline(void)
{
    alarm(0);
    signal(SIGALRM, SIG_DFL);
}

static int efd_wait(int fd)
{
    uint64_t v;
    for (;;) {
        ssize_t r = read(fd, &v, sizeof v);
        if (r == (ssize_t)sizeof v)
            return 0;
        if (r < 0 && errno == EINTR && !alarmed)
            continue;
        return -1;
    }
}

static int efd_ring(int fd)
{
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == (ssize_t)sizeof one ? 0 : -1;
}

/* The producer; returns an exit status (0 = fine). */
static int stress_child(stress *s)
{
    arm_deadline(30); /* never outlive a parent that died waiting */
    uint64_t rs = 777, sent = 0;
    uint64_t batch[DATA_CAP][2];
    uint64_t acks[ACK_CAP];
    while (sent < STRESS_N && !alarmed) {
        /* Acks only say "something was popped": drain them first. */
        int a;
        while ((a = sluice_ring_pop(&s->ack, acks, ACK_CAP)) > 0)
            ;
        if (a < 0)
            return 2;
        uint32_t n = 1 + (uint32_t)(tu_rand(&rs) % DATA_CAP);
        if (n > STRESS_N - sent)
            n = (uint32_t)(STRESS_N - sent);
        for (uint32_t i = 0; i < n; i++) {
            batch[i][0] = sent + i;
            batch[i][1] = ~(sent + i);
        }
        int pushed = sluice_ring_push(&s->data, batch, n);
        if (pushed < 0)
            return 3;
        if (pushed > 0) {
            sent += (uint64_t)pushed;
            if (sluice_ring_needs_wake(&s->data) && efd_ring(s->data_efd) < 0)
                return 4;
            if (tu_rand(&rs) % 1024 == 0)
                pause_briefly(); /* let the parent run dry and sleep */
            continue;
        }
        /* Full: sleep until the parent pops (and acks). */
        spin_while_count_is(&s->data, DATA_CAP);
        if (sluice_ring_count(&s->data) != DATA_CAP)
            continue;
        if (sluice_ring_prepare_sleep(&s->ack)) {
            if (efd_wait(s->ack_efd) < 0)
                return 5;
            sluice_ring_end_sleep(&s->ack);
            atomic_fetch_add(&s->shm->child_sleeps, 1);
        }
    }
    return alarmed ? 6 : 0;
}

static void two_processes_pass_two_million_entries_in_order(void **st)
{
    (void)st;
    size_t db = sluice_ring_bytes(DATA_CAP, 16);
    size_t ab = sluice_ring_bytes(ACK_CAP, 8);
    size_t total = db + ab + sizeof(stress_shm);
    unsigned char *mem = mmap(NULL, total, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    stress s;
    assert_int_equal(sluice_ring_init(&s.data, mem, DATA_CAP, 16), 0);
    assert_int_equal(sluice_ring_init(&s.ack, mem + db, ACK_CAP, 8), 0);
    s.shm = (stress_shm *)(mem + db + ab);
    atomic_store(&s.shm->child_sleeps, 0);
    /* Start near the wrap so it is crossed under concurrency too. */
    atomic_store(&s.data.hdr->head, UINT32_MAX - 1000);
    atomic_store(&s.data.hdr->tail, UINT32_MAX - 1000);
    s.data_efd = eventfd(0, EFD_CLOEXEC);
    s.ack_efd = eventfd(0, EFD_CLOEXEC);
    assert_true(s.data_efd >= 0 && s.ack_efd >= 0);

    /* A lost wake-up fails the test at the deadline instead of hanging. */
    arm_deadline(20);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(stress_child(&s));

    uint64_t rs = 4242, got = 0, parent_sleeps = 0, bad_at = UINT64_MAX;
    uint64_t buf[DATA_CAP][2];
    uint64_t one = 1;
    const char *err = NULL; /* why the parent stopped early */
    while (got < STRESS_N) {
        if (alarmed) {
            err = "deadline passed (a lost wake-up?)";
            break;
        }
        uint32_t max = 1 + (uint32_t)(tu_rand(&rs) % DATA_CAP);
        int n = sluice_ring_pop(&s.data, buf, max);
        if (n < 0) {
            err = "pop failed (SLUICE_ECORRUPT)";
            break;
        }
        if (n == 0) {
            spin_while_count_is(&s.data, 0);
            if (sluice_ring_count(&s.data) != 0)
                continue;
            if (sluice_ring_prepare_sleep(&s.data)) {
                if (efd_wait(s.data_efd) < 0) {
                    err = alarmed ? "deadline passed asleep (a lost wake-up?)"
                                  : "eventfd read failed";
                    break;
                }
                sluice_ring_end_sleep(&s.data);
                parent_sleeps++;
            }
            continue;
        }
        for (int i = 0; i < n; i++)
            if (buf[i][0] != got + (uint64_t)i ||
                buf[i][1] != ~(got + (uint64_t)i)) {
                if (bad_at == UINT64_MAX)
                    bad_at = got + (uint64_t)i;
            }
        got += (uint64_t)n;
        if (sluice_ring_push(&s.ack, &one, 1) != 1) {
            err = "ack ring full"; /* sized so that this cannot happen */
            break;
        }
        if (sluice_ring_needs_wake(&s.ack) && efd_ring(s.ack_efd) < 0) {
            err = "eventfd write failed";
            break;
        }
        if (tu_rand(&rs) % 1024 == 0)
            pause_briefly(); /* let the child fill the ring and sleep */
    }
    if (err)
        kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    disarm_deadline();
    if (err)
        fail_msg("parent stopped after %llu entries: %s",
                 (unsigned long long)got, err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("producer process failed: status 0x%x", (unsigned)status);
    if (bad_at != UINT64_MAX)
        fail_msg("entry %llu arrived out of order or damaged",
                 (unsigned long long)bad_at);
    assert_int_equal(got, STRESS_N);
    assert_int_equal(sluice_ring_count(&s.data), 0);
    assert_int_equal(atomic_load(&s.data.hdr->head),
                     (uint32_t)(UINT32_MAX - 1000 + STRESS_N));
    /* Both sleep paths were taken, so the protocol was really tested. */
    assert_true(parent_sleeps > 0);
    assert_true(atomic_load(&s.shm->child_sleeps) > 0);
    close(s.data_efd);
    close(s.ack_efd);
    munmap(mem, total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_bad_capacities_and_entry_sizes),
        cmocka_unit_test(ring_bytes_holds_header_and_every_entry),
        cmocka_unit_test(ring_keeps_fifo_order_across_index_wraparound),
        cmocka_unit_test(push_returns_how_many_fit_when_nearly_full),
        cmocka_unit_test(pop_on_an_empty_ring_returns_zero_and_copies_nothing),
        cmocka_unit_test(a_ring_exactly_full_across_the_wrap_is_not_corrupt),
        cmocka_unit_test(corrupt_indices_give_ecorrupt_from_push_pop_and_count),
        cmocka_unit_test(sleep_is_cancelled_when_entries_are_queued),
        cmocka_unit_test(two_processes_pass_two_million_entries_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
