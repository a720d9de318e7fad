/*
 * share.c -- one job shared among processes (sluice-mpi).
 *
 * A clone is a fresh job with the same plugin, options and operands; the
 * planner can run alone and report each unit's weight; and a run can be
 * limited to units [first, end), gather keeping their records instead of
 * delivering them (docs/engine.md, "Sharing a job among processes").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"

sluice_job *sluice_job_clone(const sluice_job *job, char *err, size_t errlen)
{
    sluice_job *c;
    if (sluice__job_create(job->plugin, &job->opts, &job->cb, &c, err, errlen,
                           job) < 0)
        return NULL;
    c->exp.walk = job->exp.walk;
    c->exp.lim = job->exp.lim;
    int rc = 0;
    for (uint32_t i = 0; i < job->in.noperands && rc != SLUICE_ENOMEM; i++)
        rc = sluice_job_add(c, job->in.op_path[i], job->in.op_flags[i]);
    for (uint32_t i = 0; i < job->res.n && rc != SLUICE_ENOMEM; i++)
        rc = sluice_job_resume_unit(
            c, job->res.units[i].seq, job->res.units[i].fp,
            job->res.units[i].data, job->res.units[i].len);
    if (rc == SLUICE_ENOMEM) {
        snprintf(err, errlen, "out of memory");
        sluice_job_free(c);
        return NULL;
    }
    return c;
}

int64_t sluice_job_plan(sluice_job *job,
                        void (*each)(void *user, uint64_t seq, uint64_t weight,
                                     uint64_t fingerprint),
                        void *user, char *err, size_t errlen)
{
    job->err = err;
    job->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    unsigned char *slot = malloc(SLUICE_SLOT_SIZE);
    if (!slot) {
        sluice__job_fail(job, SLUICE_ENOMEM, "out of memory");
        return SLUICE_ENOMEM;
    }
    int64_t n = 0;
    for (;;) {
        if (sluice__expand_next(job) < 0 && !job->fatal)
            sluice__job_fail(job, SLUICE_ENOMEM, "out of memory");
        if (job->fatal || job->plan.input >= job->in.n)
            break;
        const sluice__input *in = &job->in.v[job->plan.input];
        if (in->kind == SLUICE__IN_STREAM) {
            sluice__job_fail(
                job, SLUICE_EINVAL,
                "%s: not a regular file: a stream cannot be shared "
                "among processes",
                in->pub.path);
            break;
        }
        sluice__unit u;
        uint32_t lo, hi;
        if (!sluice__plan_next(job, &u, slot, SLUICE_SLOT_SIZE, &lo, &hi))
            break;
        if (each)
            each(user, u.seq, job->plan.bytes + 4096 * (uint64_t)(hi - lo),
                 sluice__resume_fp(job, &u, lo, hi));
        n++;
    }
    free(slot);
    if (!job->fatal && sluice__job_interrupted(job))
        sluice__job_fail(job, SLUICE_EINTR, "%s",
                         sluice_strerror(SLUICE_EINTR));
    return job->fatal ? job->fatal : n;
}

int sluice_job_run_share(sluice_job *job, uint64_t first, uint64_t end,
                         void (*on_unit)(void *user, const sluice_unit_done *u),
                         void *user, char *err, size_t errlen)
{
    if (first > end || !on_unit) {
        if (err && errlen)
            snprintf(err, errlen, "%s", sluice_strerror(SLUICE_EINVAL));
        return SLUICE_EINVAL;
    }
    job->share.first = first;
    job->share.end = end;
    job->share.collect = 1;
    memset(&job->cb, 0, sizeof job->cb);
    job->cb.user = user;
    job->cb.on_unit = on_unit;
    return sluice_job_run(job, err, errlen);
}
