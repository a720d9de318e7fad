/*
 * ring.c -- SPSC rings in shared memory (see ring.h for the protocol).
 *
 * Ordering: the producer writes entries, then publishes `head` with a
 * release store; the consumer reads `head` with an acquire load before
 * touching entries, and publishes `tail` with a release store once it has
 * copied them out, which hands the slots back.  The sleep handshake uses
 * sequentially consistent operations on `sleeping` and the index on the
 * other side (a Dekker pattern), so a wake-up can never be lost.
 */
#include "ring.h"

#include <string.h>

#include "sluice/sluice.h"

static size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

size_t sluice_ring_bytes(uint32_t capacity, uint32_t entry_size)
{
    return round_up(sizeof(sluice_ring_hdr), SLUICE_CACHELINE) +
           round_up((size_t)capacity * entry_size, SLUICE_CACHELINE);
}

int sluice_ring_init(sluice_ring *r, void *mem, uint32_t capacity,
                     uint32_t entry_size)
{
    if (capacity == 0 || (capacity & (capacity - 1)) != 0 ||
        capacity > (1u << 30) || entry_size == 0 || entry_size % 8 != 0 ||
        ((uintptr_t)mem % SLUICE_CACHELINE) != 0)
        return SLUICE_EINVAL;
    r->hdr = mem;
    r->slots = (unsigned char *)mem +
               round_up(sizeof(sluice_ring_hdr), SLUICE_CACHELINE);
    r->capacity = capacity;
    r->entry_size = entry_size;
    atomic_store_explicit(&r->hdr->head, 0, memory_order_relaxed);
    atomic_store_explicit(&r->hdr->tail, 0, memory_order_relaxed);
    atomic_store_explicit(&r->hdr->sleeping, 0, memory_order_relaxed);
    return 0;
}

int64_t sluice_ring_count(const sluice_ring *r)
{
    uint32_t head = atomic_load_explicit(&r->hdr->head, memory_order_acquire);
    uint32_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
    uint32_t n = head - tail;
    if (n > r->capacity)
        return SLUICE_ECORRUPT;
    return n;
}

/* Copies n entries between a linear buffer and the ring starting at index
 * `at`, wrapping once at most. */
static void copy_in(sluice_ring *r, uint32_t at, const void *src, uint32_t n)
{
    uint32_t i = at & (r->capacity - 1);
    uint32_t first = r->capacity - i < n ? r->capacity - i : n;
    memcpy(r->slots + (size_t)i * r->entry_size, src,
           (size_t)first * r->entry_size);
    if (first < n)
        memcpy(r->slots,
               (const unsigned char *)src + (size_t)first * r->entry_size,
               (size_t)(n - first) * r->entry_size);
}

static void copy_out(const sluice_ring *r, uint32_t at, void *dst, uint32_t n)
{
    uint32_t i = at & (r->capacity - 1);
    uint32_t first = r->capacity - i < n ? r->capacity - i : n;
    memcpy(dst, r->slots + (size_t)i * r->entry_size,
           (size_t)first * r->entry_size);
    if (first < n)
        memcpy((unsigned char *)dst + (size_t)first * r->entry_size, r->slots,
               (size_t)(n - first) * r->entry_size);
}

int sluice_ring_push(sluice_ring *r, const void *entries, uint32_t n)
{
    /* head is ours: relaxed; tail comes from the consumer: acquire, so the
     * slots it released are really free. */
    uint32_t head = atomic_load_explicit(&r->hdr->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
    uint32_t used = head - tail;
    if (used > r->capacity)
        return SLUICE_ECORRUPT;
    uint32_t room = r->capacity - used;
    if (n > room)
        n = room;
    if (n == 0)
        return 0;
    copy_in(r, head, entries, n);
    atomic_store_explicit(&r->hdr->head, head + n, memory_order_release);
    return (int)n;
}

int sluice_ring_pop(sluice_ring *r, void *out, uint32_t max)
{
    uint32_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&r->hdr->head, memory_order_acquire);
    uint32_t n = head - tail;
    if (n > r->capacity)
        return SLUICE_ECORRUPT;
    if (n > max)
        n = max;
    if (n == 0)
        return 0;
    copy_out(r, tail, out, n);
    atomic_store_explicit(&r->hdr->tail, tail + n, memory_order_release);
    return (int)n;
}

int sluice_ring_prepare_sleep(sluice_ring *r)
{
    atomic_store_explicit(&r->hdr->sleeping, 1, memory_order_seq_cst);
    uint32_t head = atomic_load_explicit(&r->hdr->head, memory_order_seq_cst);
    uint32_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_relaxed);
    if (head != tail) {
        atomic_store_explicit(&r->hdr->sleeping, 0, memory_order_relaxed);
        return 0;
    }
    return 1;
}

void sluice_ring_end_sleep(sluice_ring *r)
{
    atomic_store_explicit(&r->hdr->sleeping, 0, memory_order_relaxed);
}

int sluice_ring_needs_wake(sluice_ring *r)
{
    /* Pairs with prepare_sleep: the head store above is seq_cst-ordered
     * before this load through the fence. */
    atomic_thread_fence(memory_order_seq_cst);
    return atomic_load_explicit(&r->hdr->sleeping, memory_order_seq_cst) != 0;
}
