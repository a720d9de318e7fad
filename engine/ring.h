/*
 * ring.h -- single-producer/single-consumer rings of fixed-size entries in
 * shared memory.
 *
 * One ring carries entries one way between exactly two processes.  The
 * header holds free-running 32-bit indices (never pointers), each on its own
 * cache line: `head` is written only by the producer, `tail` only by the
 * consumer.  Entries are published with release stores and read after
 * acquire loads.  Because the other side may be a crashed or hostile
 * process, every index read from shared memory is validated: a ring whose
 * count is out of range reports SLUICE_ECORRUPT and the caller treats the
 * peer as dead.
 *
 * Sleeping: a consumer that finds the ring empty calls
 * sluice_ring_prepare_sleep(), sleeps on its doorbell (an eventfd) only if
 * that returns 1, and calls sluice_ring_end_sleep() after waking.  A producer
 * calls sluice_ring_needs_wake() after publishing and rings the doorbell only
 * when it returns 1, so the steady state makes no syscalls.
 */
#ifndef SLUICE_RING_H
#define SLUICE_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SLUICE_CACHELINE 64

/* The shared part of a ring.  Lives in shared memory. */
typedef struct sluice_ring_hdr {
    _Alignas(
        SLUICE_CACHELINE) _Atomic uint32_t head; /* producer: next to write */
    _Alignas(
        SLUICE_CACHELINE) _Atomic uint32_t tail; /* consumer: next to read */
    _Alignas(SLUICE_CACHELINE) _Atomic uint32_t sleeping; /* consumer asleep */
} sluice_ring_hdr;

/* One process's view of a ring.  Lives in private memory. */
typedef struct sluice_ring {
    sluice_ring_hdr *hdr; /* shared header */
    unsigned char *slots; /* shared entries, capacity * entry_size bytes */
    uint32_t capacity;    /* power of two */
    uint32_t entry_size;  /* bytes per entry, multiple of 8 */
} sluice_ring;

/* Bytes of shared memory a ring needs (header plus entries, cache-line
 * rounded). */
size_t sluice_ring_bytes(uint32_t capacity, uint32_t entry_size);
/* Formats a ring in `mem` (sluice_ring_bytes() bytes, cache-line aligned)
 * and fills in `r`.  capacity must be a power of two.  0 or SLUICE_EINVAL. */
int sluice_ring_init(sluice_ring *r, void *mem, uint32_t capacity,
                     uint32_t entry_size);
/* Entries currently queued, or SLUICE_ECORRUPT if the indices are not
 * consistent.  Either side may call it. */
int64_t sluice_ring_count(const sluice_ring *r);
/* Producer: copies up to n entries in; returns how many fit (0 when full),
 * or SLUICE_ECORRUPT. */
int sluice_ring_push(sluice_ring *r, const void *entries, uint32_t n);
/* Consumer: copies up to max entries out; returns how many (0 when empty),
 * or SLUICE_ECORRUPT. */
int sluice_ring_pop(sluice_ring *r, void *out, uint32_t max);
/* Consumer, before sleeping: announces the sleep, then re-checks.  Returns 1
 * when the consumer may sleep, 0 when entries arrived meanwhile (the sleep
 * is then already cancelled). */
int sluice_ring_prepare_sleep(sluice_ring *r);
/* Consumer, after waking or when cancelling. */
void sluice_ring_end_sleep(sluice_ring *r);
/* Producer, after a push: 1 when the consumer announced a sleep and needs
 * its doorbell rung. */
int sluice_ring_needs_wake(sluice_ring *r);

#endif /* SLUICE_RING_H */
