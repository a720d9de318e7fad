/*
 * region.c -- one worker's shared region.
 *
 * An anonymous shared mapping made before fork, so no named object outlives
 * a killed coordinator.  Layout, each part cache-line or page aligned:
 *
 *   sluice__shm header | submission ring | completion ring |
 *   SLUICE_CREDITS input slots | output arena
 *
 * Both processes compute the same layout from sizes fixed before fork; the
 * worker never tells the coordinator where anything is.  Pages are touched
 * only when used, so an idle slot or an unused arena costs nothing.
 */
#include <unistd.h>

#include "internal.h"
#include "os.h"

static size_t round_to(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

int sluice__region_create(sluice__region *r, size_t slot_size, size_t out_size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t off_sub = round_to(sizeof(sluice__shm), SLUICE_CACHELINE);
    size_t off_comp =
        off_sub + sluice_ring_bytes(SLUICE_CREDITS, sizeof(sluice__unit));
    size_t off_slots = round_to(
        off_comp + sluice_ring_bytes(SLUICE_COMP_CAP, sizeof(sluice__comp)),
        page);
    size_t off_out = off_slots + round_to(SLUICE_CREDITS * slot_size, page);
    size_t total = off_out + round_to(out_size, page);

    unsigned char *base = sluice__os_map_shared(total);
    if (!base)
        return SLUICE_ENOMEM;
    r->base = base;
    r->bytes = total;
    r->hdr = (sluice__shm *)(void *)base;
    atomic_store(&r->hdr->out_tail, 0);
    atomic_store(&r->hdr->out_waiting, 0);
    atomic_store(&r->hdr->sandbox_nr, 0);
    atomic_store(&r->hdr->start_err, SLUICE__START_OK);
    atomic_store(&r->hdr->unit_seq, 0);
    if (sluice_ring_init(&r->sub, base + off_sub, SLUICE_CREDITS,
                         sizeof(sluice__unit)) < 0 ||
        sluice_ring_init(&r->comp, base + off_comp, SLUICE_COMP_CAP,
                         sizeof(sluice__comp)) < 0) {
        sluice__os_unmap(base, total);
        return SLUICE_EINVAL;
    }
    r->slots = base + off_slots;
    r->slot_size = slot_size;
    r->out = base + off_out;
    r->out_size = out_size;
    int fd = sluice__os_eventfd(0);
    if (fd < 0) {
        sluice__os_unmap(base, total);
        return fd;
    }
    r->doorbell = fd;
    return 0;
}

void sluice__region_destroy(sluice__region *r)
{
    if (r->base)
        sluice__os_unmap(r->base, r->bytes);
    if (r->doorbell >= 0)
        close(r->doorbell);
    r->base = NULL;
    r->doorbell = -1;
}
