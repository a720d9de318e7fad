/*
 * arena.c -- writing records into a worker's output arena.
 *
 * A worker (or the coordinator, inline and for finish) appends records to
 * its output arena: partial results, ordered output, errors, end-of-input
 * marks.  This file owns the arena's writing end and the host calls that
 * write into it on a plugin's behalf (reserve, commit, error, options:
 * sluice_host_api, plugin.h).  The arena is a ring: a record that does not
 * fit before its end is preceded by a PAD record and written at the start;
 * when the coordinator has not taken enough yet, what was written is
 * posted through the worker's flush, which waits for room.  One thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static sluice__worker *worker_of(sluice_ctx *ctx)
{
    return (sluice__worker *)(void *)((char *)ctx -
                                      offsetof(sluice__worker, ctx));
}

/* ------------------------------------------------------- arena writing */

static uint64_t arena_free(const sluice__worker *w)
{
    uint64_t tail = atomic_load_explicit(w->out_tail_p, memory_order_acquire);
    return w->out_size - (w->out_head - tail);
}

/* Posts the records written since the last post. */
int sluice__arena_post(sluice__worker *w, int last, size_t need)
{
    uint64_t len = w->out_head - w->frag_pos;
    if (len == 0 && !last && need == 0)
        return 0;
    w->data_rec = 0;
    int rc = w->flush(w, w->seq, w->frag_pos, (uint32_t)len, last, need);
    w->frag_pos = w->out_head;
    if (rc < 0)
        w->failed = 1;
    return rc;
}

/* Makes `need` contiguous bytes writable at out_head (need <= out_size/2).
 * Returns a pointer to them, or NULL when the job is going away. */
static unsigned char *arena_room(sluice__worker *w, size_t need)
{
    if (w->failed)
        return NULL;
    for (;;) {
        size_t phys = (size_t)(w->out_head % w->out_size);
        size_t contig = w->out_size - phys;
        uint64_t free_bytes = arena_free(w);
        if (contig >= need) {
            if (free_bytes >= need)
                return w->out + phys;
        } else if (free_bytes >= contig) {
            /* Not enough before the end: pad to the end and wrap. */
            if (contig >= sizeof(sluice__rec)) {
                sluice__rec pad = {
                    .type = SLUICE__REC_PAD,
                    .len = (uint32_t)(contig - sizeof(sluice__rec))};
                memcpy(w->out + phys, &pad, sizeof pad);
            }
            w->out_head += contig;
            w->data_rec = 0;
            continue;
        }
        /* Hand over what we have and wait for the coordinator. */
        if (sluice__arena_post(w, 0, need + (contig < need ? contig : 0)) < 0)
            return NULL;
    }
}

int sluice__arena_write(sluice__worker *w, uint32_t type, uint32_t input,
                        int errnum, uint64_t offset, const void *payload,
                        size_t len)
{
    size_t total = sizeof(sluice__rec) + sluice__pad8(len);
    unsigned char *p = arena_room(w, total);
    if (!p)
        return SLUICE_EWORKER;
    sluice__rec rec = {.type = type,
                       .input = input,
                       .len = (uint32_t)len,
                       .errnum = errnum,
                       .offset = offset};
    memcpy(p, &rec, sizeof rec);
    if (len)
        memcpy(p + sizeof rec, payload, len);
    w->out_head += total;
    w->data_rec = 0;
    return 0;
}

/* --------------------------------------------------------- host calls */

/* Room for data starting at free-running position `pos`: contiguous to the
 * arena's end and not past the consumer. */
static size_t room_at(const sluice__worker *w, uint64_t pos)
{
    uint64_t tail = atomic_load_explicit(w->out_tail_p, memory_order_acquire);
    size_t contig = w->out_size - (size_t)(pos % w->out_size);
    uint64_t ring = w->out_size - (pos - tail);
    return contig < ring ? contig : (size_t)ring;
}

static void *host_reserve(sluice_ctx *ctx, size_t min, size_t *avail)
{
    sluice__worker *w = worker_of(ctx);
    if (min > SLUICE_MAX_RESERVE_SIZE || w->failed)
        return NULL;
    if (min == 0)
        min = 1;
    if (w->data_rec) {
        /* Extend the open DATA record when the room is there. */
        uint64_t rec_pos = w->data_rec - 1;
        sluice__rec *rec =
            (sluice__rec *)(void *)(w->out + rec_pos % w->out_size);
        uint64_t data_end = rec_pos + sizeof *rec + rec->len;
        /* A record that ends at the arena's end cannot grow across the
         * wrap: its data must stay contiguous. */
        size_t room = data_end % w->out_size ? room_at(w, data_end) : 0;
        if (room >= min) {
            w->reserved_len = room;
            *avail = room;
            return w->out + data_end % w->out_size;
        }
    }
    unsigned char *p = arena_room(w, sizeof(sluice__rec) + sluice__pad8(min));
    if (!p)
        return NULL;
    sluice__rec rec = {.type = SLUICE__REC_DATA, .input = w->cur_input};
    memcpy(p, &rec, sizeof rec);
    w->data_rec = w->out_head + 1;
    w->out_head += sizeof rec;
    size_t room = room_at(w, w->out_head);
    w->reserved_len = room;
    *avail = room;
    return w->out + w->out_head % w->out_size;
}

static void host_commit(sluice_ctx *ctx, size_t n)
{
    sluice__worker *w = worker_of(ctx);
    if (!w->data_rec || n == 0)
        return;
    if (n > w->reserved_len)
        n = w->reserved_len;
    uint64_t rec_pos = w->data_rec - 1;
    sluice__rec *rec = (sluice__rec *)(void *)(w->out + rec_pos % w->out_size);
    rec->len += (uint32_t)n;
    w->out_head = rec_pos + sizeof *rec + sluice__pad8(rec->len);
    w->reserved_len = 0;
    if (rec->len > UINT32_MAX / 2)
        w->data_rec = 0; /* keep lengths far from overflow */
}

void sluice__host_error(sluice_ctx *ctx, int errnum, uint64_t offset,
                        const char *fmt, ...)
{
    sluice__worker *w = worker_of(ctx);
    char msg[SLUICE_MSG_MAX] = "";
    int n = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        n = vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof msg)
        n = sizeof msg - 1;
    if (w->err_sink) {
        if (w->err_sink_len)
            snprintf(w->err_sink, w->err_sink_len, "%s%s%s", msg,
                     errnum > 0 && n ? ": " : "",
                     errnum > 0 ? strerror(errnum) : "");
        return;
    }
    if (!w->in_error)
        sluice__arena_write(w, SLUICE__REC_ERROR, w->cur_input, errnum, offset,
                            msg, (size_t)n);
    w->in_error = 1;
}

static const char *host_option(sluice_ctx *ctx, const char *key)
{
    return sluice__plugin_option(worker_of(ctx)->plugin, key);
}

static int64_t host_option_int(sluice_ctx *ctx, const char *key)
{
    return sluice__plugin_option_int(worker_of(ctx)->plugin, key);
}

void sluice__host_api_init(sluice_host_api *api)
{
    memset(api, 0, sizeof *api);
    api->size = sizeof *api;
    api->abi_major = SLUICE_PLUGIN_ABI_MAJOR;
    api->abi_minor = SLUICE_PLUGIN_ABI_MINOR;
    api->reserve = host_reserve;
    api->commit = host_commit;
    api->error = sluice__host_error;
    api->option = host_option;
    api->option_int = host_option_int;
}
