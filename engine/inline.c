/*
 * inline.c -- the coordinator runs the plugin itself.
 *
 * The inline mode (jobs == 0) plans and runs units one after the other in
 * this process, through the same worker code (worker.c) as a worker
 * process, with a flush that hands each fragment of records to gather at
 * once.  It is the reference every parallel run must equal.  The plugin's
 * finish runs the same way after the last unit, in either mode.
 */
#include <stdlib.h>
#include <unistd.h>

#include "coord.h"

/* -------------------------------------------------- coordinator flush */

static int inline_apply(sluice_job *job, uint64_t pos, uint32_t len)
{
    int rc = sluice__gather_apply(&job->g, job->coord_out, SLUICE_OUT_SIZE, pos,
                                  len, job->run.unit_lo, job->run.unit_hi);
    atomic_store(&job->coord_tail, pos + len);
    return rc;
}

/* Inline mode and finish: records are applied as soon as they exist. */
int sluice__inline_flush(sluice__worker *w, uint64_t seq, uint64_t pos,
                         uint32_t len, int last, size_t need)
{
    sluice_job *job = w->flush_arg;
    (void)seq;
    (void)need;
    int rc = inline_apply(job, pos, len);
    if (rc < 0) {
        if (rc == SLUICE_ECORRUPT)
            sluice__job_fail(job, rc, "plugin %s wrote invalid records",
                             job->desc->name);
        else
            sluice__job_fail(job, rc, "write error");
        return rc;
    }
    if (last)
        job->win.next++;
    return 0;
}

int sluice__inline_finish(sluice_job *job)
{
    if (!job->desc->finish || job->fatal)
        return 0;
    sluice__worker *w = &job->coord;
    w->seq = job->plan.next_seq;
    w->frag_pos = w->out_head;
    w->cur_input = job->in.n;
    w->cur_path = "";
    sluice__gather_begin_unit(&job->g, job->plan.next_seq);
    job->g.cur_input = job->in.n; /* DATA only */
    job->run.unit_lo = job->in.n;
    job->run.unit_hi = job->in.n + 1;
    int rc = job->desc->finish(&w->ctx);
    if (rc != 0 && !job->fatal)
        sluice__job_fail(job, SLUICE_EPLUGIN, "plugin %s: finish failed",
                         job->desc->name);
    uint64_t len = w->out_head - w->frag_pos;
    if (!job->fatal && len)
        sluice__inline_flush(w, w->seq, w->frag_pos, (uint32_t)len, 1, 0);
    return job->fatal;
}

int sluice__inline_run(sluice_job *job)
{
    unsigned char *slot = malloc(SLUICE_SLOT_SIZE);
    if (!slot)
        return SLUICE_ENOMEM;
    sluice__worker *w = &job->coord;
    void *global = w->ctx.global;
    sluice__worker_fini(w);
    int rc = sluice__worker_init(w, job->plugin, 0, job->coord_out,
                                 SLUICE_OUT_SIZE, &job->coord_tail, job->block);
    w->ctx.global = global;
    w->skip_binary = job->opts.skip_binary;
    w->flush = sluice__inline_flush;
    w->flush_arg = job;
    if (rc == 0 && job->desc->worker_init && job->desc->worker_init(&w->ctx))
        rc = SLUICE_EPLUGIN;
    w->ctx.global = global;
    while (rc == 0 && !job->fatal && !sluice__job_interrupted(job)) {
        sluice__unit u;
        uint32_t lo, hi;
        if (!sluice__plan_next(job, &u, slot, SLUICE_SLOT_SIZE, &lo, &hi))
            break;
        if (u.seq < job->share.first)
            continue; /* another rank's (sluice_job_run_share) */
        sluice__gather_begin_unit(&job->g, u.seq);
        job->run.unit_lo = lo;
        job->run.unit_hi = hi;
        sluice__wentry e = {.seq = u.seq,
                            .lo = lo,
                            .hi = hi,
                            .bytes = job->plan.bytes,
                            .offset = u.flags & SLUICE__UF_RANGE ? u.offset : 0,
                            .pid = getpid(),
                            .runs = 1,
                            .fp = sluice__resume_fp(job, &u, lo, hi)};
        const sluice__resumed *r =
            job->res.n ? sluice__resume_find(job, &u, lo, hi, e.fp) : NULL;
        if (job->fatal)
            break;
        if (r) {
            rc = sluice__resume_apply(job, r->data, r->len, lo, hi);
            if (rc < 0 && rc != SLUICE_ENOMEM) {
                sluice__job_fail(
                    job, SLUICE_ERESUME,
                    "%s: the job log's result for unit %llu is invalid",
                    job->in.v[lo].pub.path, (unsigned long long)u.seq);
                break;
            }
            job->win.next++;
            e.resumed = 1;
            e.runs = 0;
            e.pid = 0;
        } else {
            rc = sluice__worker_unit(w, &u, slot, SLUICE_SLOT_SIZE);
        }
        job->prog.done_bytes += job->plan.bytes;
        if (rc == 0 && !job->fatal)
            sluice__reorder_unit_done(job, &e, 0);
        sluice__progress_report(job, 0);
    }
    if (job->desc->worker_fini)
        job->desc->worker_fini(&w->ctx);
    w->ctx.worker = -1;
    free(slot);
    if (rc < 0 && !job->fatal)
        sluice__job_fail(job, rc, "%s", sluice_strerror(rc));
    return job->fatal;
}
