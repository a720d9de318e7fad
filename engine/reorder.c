/*
 * reorder.c -- the reorder window.
 *
 * Completions arrive in any order across workers; the window holds each
 * unit between dispatch and gather, indexed by sequence number (a power of
 * two slots, at most that many units ahead of the oldest one).
 * sluice__reorder hands fragments to gather.c strictly in sequence order,
 * gives each worker its arena space back as its records are applied,
 * fails a poisoned unit's inputs when its turn comes (keep_going), and
 * tells on_unit of each unit done.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "coord.h"
#include "os.h"

static sluice__wproc *owner_of(sluice_job *job, const sluice__region *r)
{
    for (int i = 0; i < job->run.nw; i++)
        if (job->run.w[i].alive && job->run.w[i].region == r)
            return &job->run.w[i];
    return NULL;
}

/* Tells on_unit that unit win.next (entry e) is done, with what gather
 * kept of its records when it can be resumed. */
void sluice__reorder_unit_done(sluice_job *job, const sluice__wentry *e,
                               int poisoned)
{
    if (!job->cb.on_unit)
        return;
    sluice_unit_done u = {.seq = e->seq,
                          .input = e->lo,
                          .ninputs = e->hi - e->lo,
                          .offset = e->offset,
                          .bytes = e->bytes,
                          .pid = (int32_t)e->pid,
                          .attempts = e->runs,
                          .poisoned = poisoned,
                          .resumed = e->resumed,
                          .job = job};
    u.fingerprint = e->fp;
    if (!poisoned && job->g.capture && !job->g.cap_bad) {
        u.result = job->g.cap ? job->g.cap : (const void *)"";
        u.result_len = job->g.cap_len;
        /* A job log keeps no ordered output (its records hold it all). */
        u.resumable = e->fp != 0 && !job->g.cap_err &&
                      !(job->desc->caps & SLUICE_CAP_ORDERED);
    }
    job->cb.on_unit(job->cb.user, &u);
}

/* The window's next unit (entry e) is over: the next one's turn. */
static void unit_over(sluice_job *job, sluice__wentry *e, int poisoned)
{
    job->prog.done_bytes += e->bytes;
    sluice__reorder_unit_done(job, e, poisoned);
    e->used = 0;
    e->nfrags = 0;
    e->applied = 0;
    job->win.next++;
    sluice__gather_begin_unit(&job->g, job->win.next);
}

/* Applies completions in sequence order.  Returns fragments applied. */
int sluice__reorder(sluice_job *job)
{
    int done = 0;
    while (!job->fatal) {
        sluice__wentry *e = sluice__reorder_at(job, job->win.next);
        if (e->used && e->seq == job->win.next && e->poison) {
            sluice__gather_poison(&job->g, e->lo, e->hi,
                                  !!(e->uflags & SLUICE__UF_RANGE),
                                  !!(e->uflags & SLUICE__UF_END), e->poison);
            free(e->poison);
            e->poison = NULL;
            unit_over(job, e, 1);
            done++;
            continue;
        }
        if (!e->used || e->seq != job->win.next || e->applied == e->nfrags)
            return done;
        sluice__frag *f = &e->frags[e->applied];
        if (e->applied == 0 && !(job->g.unit_seq == job->win.next))
            sluice__gather_begin_unit(&job->g, job->win.next);
        int rc = f->region
                     ? sluice__gather_apply(&job->g, f->region->out,
                                            f->region->out_size, f->pos, f->len,
                                            e->lo, e->hi)
                     : sluice__resume_apply(job, f->buf, f->len, e->lo, e->hi);
        if (rc < 0) {
            if (rc == SLUICE_EOUTPUT)
                sluice__job_fail(job, rc, "write error");
            else if (!f->region)
                sluice__job_fail(
                    job, rc == SLUICE_ENOMEM ? rc : SLUICE_ERESUME,
                    "%s: the job log's result for unit %llu is invalid",
                    job->in.v[e->lo].pub.path,
                    (unsigned long long)job->win.next);
            else
                sluice__job_fail(job, rc,
                                 "worker sent invalid records for unit %llu",
                                 (unsigned long long)job->win.next);
            return done;
        }
        e->applied++;
        done++;
        sluice__wproc *p = f->region ? owner_of(job, f->region) : NULL;
        if (p) {
            p->consumed = f->pos + f->len;
            atomic_store_explicit(&p->region->hdr->out_tail, p->consumed,
                                  memory_order_seq_cst);
            atomic_thread_fence(memory_order_seq_cst);
            if (atomic_load(&p->region->hdr->out_waiting))
                sluice__dispatch_wake(p);
        }
        if (f->last)
            unit_over(job, e, 0);
    }
    return done;
}
