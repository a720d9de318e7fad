/*
 * dispatch.c -- handing units to workers and taking their completions.
 *
 * Spawning forks a worker with its shared region (the child's side is in
 * worker.c).  Dispatch sends a requeued unit alone to an idle worker, or
 * plans the next unit into a free input slot of the worker with the
 * fewest units in flight (SLUICE_CREDITS at most), never more than the
 * reorder window ahead of the oldest unfinished unit; a unit whose result
 * comes from the job log goes straight into the window.  Scanning takes
 * completions off every ring, validates every position the worker wrote,
 * and files the fragments in the reorder window (reorder.c); credits come
 * back as soon as a unit's last completion is scanned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "coord.h"
#include "os.h"

/* ---------------------------------------------------------- spawning */

typedef struct forget_ctx {
    sluice_job *job;
    int self;
} forget_ctx;

/* In a new worker: other workers' regions are none of its business, nor
 * the coordinator's epoll. */
static void forget_coordinator(void *arg)
{
    const forget_ctx *fc = arg;
    sluice_job *job = fc->job;
    for (int k = 0; k < job->run.nw; k++)
        if (k != fc->self && job->run.w[k].region && job->run.w[k].alive)
            sluice__os_unmap(job->run.w[k].region->base,
                             job->run.w[k].region->bytes);
    if (job->run.epfd >= 0)
        close(job->run.epfd);
}

int sluice__dispatch_spawn(sluice_job *job, int i)
{
    forget_ctx fc = {.job = job, .self = i};
    sluice__wproc *p = &job->run.w[i];
    sluice__region *r = calloc(1, sizeof *r);
    if (!r)
        return SLUICE_ENOMEM;
    int rc = sluice__region_create(r, SLUICE_SLOT_SIZE, SLUICE_OUT_SIZE);
    if (rc < 0) {
        free(r);
        return rc;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        sluice__region_destroy(r);
        free(r);
        return rc;
    }
    if (pid == 0) {
        sluice__child c = {.parent = parent,
                           .plugin = job->plugin,
                           .global = job->coord.ctx.global,
                           .worker_no = i,
                           .region = r,
                           .block_size = job->block,
                           .memory = job->opts.worker_memory,
                           .skip_binary = job->opts.skip_binary,
                           .sandbox = job->run.sandbox,
                           .forget = forget_coordinator,
                           .forget_arg = &fc};
        sluice__worker_child(&c);
    }
    p->pid = pid;
    p->region = r;
    p->nflight = 0;
    p->slot_busy = 0;
    p->scan_pos = 0;
    p->consumed = 0;
    p->alive = 1;
    p->solo = 0;
    p->head_ns = 0;
    p->limit_s = 0;
    p->term_ns = 0;
    p->kill_sent = 0;
    p->timed_out = 0;
    p->pidfd = sluice__os_pidfd(pid);
    if (p->pidfd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN,
                                 .data.u32 = (uint32_t)i + 1};
        epoll_ctl(job->run.epfd, EPOLL_CTL_ADD, p->pidfd, &ev);
    }
    return 0;
}

/* ------------------------------------------------------- dispatch */

void sluice__dispatch_wake(sluice__wproc *p)
{
    sluice__os_event_signal(p->region->doorbell);
}

/* What window entry e keeps of unit f: its inputs, bytes and offset. */
/* Opens window entry e for a unit of fingerprint fp, run or taken from the
 * job log (resumed): no fragments yet, never run. */
static void entry_open(sluice__wentry *e, uint64_t seq, uint64_t fp,
                       int resumed)
{
    e->used = 1;
    e->seq = seq;
    e->nfrags = 0;
    e->applied = 0;
    e->runs = 0;
    e->resumed = resumed;
    e->fp = fp;
}

static void entry_set_unit(sluice__wentry *e, const sluice__flight *f)
{
    e->offset = f->u.flags & SLUICE__UF_RANGE ? f->u.offset : 0;
    e->lo = f->lo;
    e->hi = f->hi;
    e->bytes = f->bytes;
}

static int push_unit(sluice_job *job, sluice__wproc *p, sluice__flight *f)
{
    int n = sluice_ring_push(&p->region->sub, &f->u, 1);
    if (n != 1)
        return n < 0 ? n : SLUICE_EINVAL;
    p->inflight[p->nflight++] = *f;
    p->slot_busy |= 1u << f->u.slot;
    if (p->nflight == 1)
        sluice__supervise_start_head(job, p, sluice__now_ns());
    sluice__wentry *e = sluice__reorder_at(job, f->u.seq);
    if (!e->used)
        entry_open(e, f->u.seq, sluice__resume_fp(job, &f->u, f->lo, f->hi),
                   0);
    e->runs++;
    e->pid = p->pid;
    entry_set_unit(e, f);
    if (sluice_ring_needs_wake(&p->region->sub))
        sluice__dispatch_wake(p);
    return 0;
}

static int free_slot(const sluice__wproc *p)
{
    for (int s = 0; s < SLUICE_CREDITS; s++)
        if (!(p->slot_busy & (1u << s)))
            return s;
    return -1;
}

/* Unit f's result comes from the job log: it is done as it is planned. */
static int log_result(sluice_job *job, const sluice__flight *f,
                      const sluice__resumed *r, uint64_t fp)
{
    sluice__wentry *e = sluice__reorder_at(job, f->u.seq);
    if (e->cap == 0) {
        e->frags = malloc(4 * sizeof *e->frags);
        if (!e->frags) {
            sluice__job_fail(job, SLUICE_ENOMEM, "out of memory");
            return SLUICE_ENOMEM;
        }
        e->cap = 4;
    }
    entry_open(e, f->u.seq, fp, 1);
    e->pid = 0;
    entry_set_unit(e, f);
    e->frags[0] =
        (sluice__frag){.buf = r->data, .len = (uint32_t)r->len, .last = 1};
    e->nfrags = 1;
    return 0;
}

/* Sends work to workers with free credits.  Returns units dispatched. */
int sluice__dispatch(sluice_job *job)
{
    int sent = 0;
    for (;;) {
        /* The worker with the fewest units in flight; the rest of a stream
         * goes where its first unit went when the plugin keeps state
         * across its units (boundary hook). */
        int pinned = job->sup.nretry == 0 && job->plan.pin >= 0 &&
                     job->run.w[job->plan.pin].alive &&
                     sluice__plan_stream_continues(job);
        int best = -1;
        if (job->sup.nretry) {
            /* A requeued unit runs alone on an idle worker, so that a
             * second death names it (the fresh worker is always idle). */
            for (int i = 0; i < job->run.nw && best < 0; i++)
                if (job->run.w[i].alive && job->run.w[i].nflight == 0)
                    best = i;
        } else {
            for (int i = 0; i < job->run.nw; i++)
                if (job->run.w[i].alive && !job->run.w[i].solo &&
                    job->run.w[i].nflight < SLUICE_CREDITS &&
                    (!pinned || i == job->plan.pin) &&
                    (best < 0 ||
                     job->run.w[i].nflight < job->run.w[best].nflight))
                    best = i;
        }
        if (best < 0)
            return sent;
        sluice__wproc *p = &job->run.w[best];
        int s = free_slot(p);
        if (s < 0)
            return sent;
        unsigned char *slot = p->region->slots + (size_t)s * SLUICE_SLOT_SIZE;
        sluice__flight f = {0};
        if (job->sup.nretry) {
            f = job->sup.retry[0];
            memmove(job->sup.retry, job->sup.retry + 1,
                    (job->sup.nretry - 1) * sizeof *job->sup.retry);
            job->sup.nretry--;
            memcpy(slot, f.copy, f.copy_len);
            free(f.copy);
            f.copy = NULL;
            p->solo = 1;
        } else {
            if (job->plan.next_seq >= job->win.next + job->win.size)
                return sent; /* reorder window full */
            int starts = !sluice__plan_stream_continues(job);
            if (!sluice__plan_next(job, &f.u, slot, SLUICE_SLOT_SIZE, &f.lo,
                                   &f.hi))
                return sent;
            f.bytes = job->plan.bytes;
            if (f.u.seq < job->share.first)
                continue; /* another rank's (sluice_job_run_share) */
            if (job->res.n) {
                uint64_t fp = sluice__resume_fp(job, &f.u, f.lo, f.hi);
                const sluice__resumed *r =
                    sluice__resume_find(job, &f.u, f.lo, f.hi, fp);
                if (job->fatal)
                    return sent;
                if (r) {
                    if (log_result(job, &f, r, fp) < 0)
                        return sent;
                    sent++;
                    continue;
                }
            }
            if (starts && f.u.kind == SLUICE__UNIT_STREAM &&
                sluice__boundary(job->desc))
                job->plan.pin = best;
        }
        f.u.slot = (uint32_t)s;
        int rc = push_unit(job, p, &f);
        if (rc < 0) {
            sluice__job_fail(job, rc, "internal error: submission ring full");
            return sent;
        }
        sent++;
    }
}

/* ---------------------------------------------------------- scanning */

/* Takes completions off every ring.  Returns how many. */
int sluice__dispatch_scan(sluice_job *job, int *bad)
{
    int got = 0;
    *bad = -1;
    for (int i = 0; i < job->run.nw; i++) {
        sluice__wproc *p = &job->run.w[i];
        if (!p->alive)
            continue;
        sluice__comp c[16];
        int n = sluice_ring_pop(&p->region->comp, c, 16);
        if (n < 0) {
            *bad = i;
            return got;
        }
        for (int k = 0; k < n; k++) {
            /* Validate everything the worker wrote. */
            if (p->nflight == 0 || c[k].seq != p->inflight[0].u.seq ||
                c[k].out_pos != p->scan_pos || c[k].out_len > SLUICE_OUT_SIZE ||
                c[k].out_pos + c[k].out_len - p->consumed > SLUICE_OUT_SIZE ||
                c[k].out_len % 8 != 0) {
                *bad = i;
                return got;
            }
            p->scan_pos += c[k].out_len;
            sluice__wentry *e = sluice__reorder_at(job, c[k].seq);
            if (e->nfrags == e->cap) {
                uint32_t ncap = e->cap ? e->cap * 2 : 4;
                sluice__frag *nf = realloc(e->frags, ncap * sizeof *nf);
                if (!nf) {
                    sluice__job_fail(job, SLUICE_ENOMEM, "out of memory");
                    return got;
                }
                e->frags = nf;
                e->cap = ncap;
            }
            e->frags[e->nfrags++] =
                (sluice__frag){.region = p->region,
                               .pos = c[k].out_pos,
                               .len = c[k].out_len,
                               .last = c[k].flags & SLUICE__CF_LAST};
            if (c[k].flags & SLUICE__CF_LAST) {
                uint64_t now = sluice__now_ns();
                if (p->head_ns && !p->term_ns)
                    sluice__supervise_timing(job,
                                             (double)(now - p->head_ns) / 1e9,
                                             p->inflight[0].bytes);
                p->slot_busy &= ~(1u << p->inflight[0].u.slot);
                memmove(p->inflight, p->inflight + 1,
                        (p->nflight - 1) * sizeof *p->inflight);
                p->nflight--;
                if (p->nflight == 0)
                    p->solo = 0; /* its suspect, if any, is innocent */
                sluice__supervise_start_head(job, p, now);
            }
            got++;
        }
        if (n > 0) {
            /* Pairs with the worker's announce-then-check in wait_for. */
            atomic_thread_fence(memory_order_seq_cst);
            if (atomic_load(&p->region->hdr->out_waiting))
                sluice__dispatch_wake(p);
        }
    }
    return got;
}
