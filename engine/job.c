/*
 * job.c -- a job's life cycle: creating it, running it, freeing it.
 *
 * sluice_job_run is the one entry of a run: it sets up gather, counts the
 * inputs known so far, and runs the units either inline (inline.c) or on
 * worker processes (loop.c), then the plugin's finish.  This file also
 * holds what every stage uses: failing the job (sluice__job_fail), the
 * interrupt check and progress reports.  The stages and the job struct
 * they share are described in coord.h; the data flow in docs/engine.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coord.h"
#include "os.h"

/* ------------------------------------------------------------- errors */

void sluice__job_fail(sluice_job *job, int code, const char *fmt, ...)
{
    if (job->fatal)
        return;
    job->fatal = code;
    if (job->err && job->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(job->err, job->errlen, fmt, ap);
        va_end(ap);
    }
}

/* A signal given to sluice_interrupt fails the job: 1 when it has. */
int sluice__job_interrupted(sluice_job *job)
{
    int sig = sluice__interrupt_sig;
    if (sig)
        sluice__job_fail(job, SLUICE_EINTR, "interrupted by signal %d", sig);
    return sig != 0;
}

void sluice_job_partial_init(sluice_job *job, void *partial)
{
    if (job->desc->partial_init)
        job->desc->partial_init(&job->coord.ctx, partial);
    else
        memset(partial, 0, job->desc->partial_size);
}

int sluice_job_merge(sluice_job *job, void *into, const void *next)
{
    if (!job->desc->merge)
        return SLUICE_EINVAL;
    job->desc->merge(&job->coord.ctx, into, next);
    return 0;
}

void sluice_job_counters(sluice_job *job, const void *partial, uint64_t *out)
{
    if (job->desc->counters)
        job->desc->counters(&job->coord.ctx, partial, out);
}

/* ------------------------------------------------------------- job life */

/* A new job; with `twin`, one that shares twin's plugin globals: its
 * global_init is not run again, nor global_fini at the end (clones). */
int sluice__job_create(sluice_plugin_handle *plugin,
                       const sluice_job_opts *opts, const sluice_callbacks *cb,
                       sluice_job **out, char *err, size_t errlen,
                       const sluice_job *twin)
{
    *out = NULL;
    sluice_job *job = calloc(1, sizeof *job);
    if (!job) {
        snprintf(err, errlen, "out of memory");
        return SLUICE_ENOMEM;
    }
    job->plugin = plugin;
    job->desc = plugin->desc;
    if (opts)
        job->opts = *opts;
    else
        job->opts.jobs = -1;
    if (cb)
        job->cb = *cb;
    job->exp.walk.max_depth = -1;
    job->share.end = UINT64_MAX;
    sluice_job_archive_limits(job, NULL);
    job->plan.fd = -1;
    job->plan.pin = -1;
    job->plan.hook_fd = -1;
    job->run.epfd = -1;
    job->chunk =
        job->opts.chunk_size ? job->opts.chunk_size : SLUICE_DEFAULT_CHUNK;
    job->batch =
        job->opts.batch_bytes ? job->opts.batch_bytes : SLUICE_DEFAULT_BATCH;
    job->block = job->opts.block_size ? job->opts.block_size
                                      : (uint32_t)SLUICE_DEFAULT_BLOCK;
    job->coord_out = malloc(SLUICE_OUT_SIZE);
    int rc =
        job->coord_out
            ? sluice__worker_init(&job->coord, plugin, -1, job->coord_out,
                                  SLUICE_OUT_SIZE, &job->coord_tail, job->block)
            : SLUICE_ENOMEM;
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        sluice_job_free(job);
        return rc;
    }
    job->coord.ctx.worker = -1;
    job->coord.flush = sluice__inline_flush;
    job->coord.flush_arg = job;
    if (twin) {
        job->coord.ctx.global = twin->coord.ctx.global;
        *out = job;
        return 0;
    }
    if (job->desc->global_init) {
        char why[SLUICE_MSG_MAX] = "";
        job->coord.err_sink = why;
        job->coord.err_sink_len = sizeof why;
        rc = job->desc->global_init(&job->coord.ctx);
        job->coord.err_sink = NULL;
        if (rc != 0) {
            snprintf(err, errlen, "%s: plugin %s: %s", plugin->path,
                     job->desc->name, why[0] ? why : "initialisation failed");
            sluice_job_free(job);
            return SLUICE_EPLUGIN;
        }
    }
    job->global_inited = 1;
    *out = job;
    return 0;
}

int sluice_job_new(sluice_plugin_handle *plugin, const sluice_job_opts *opts,
                   const sluice_callbacks *cb, sluice_job **out, char *err,
                   size_t errlen)
{
    return sluice__job_create(plugin, opts, cb, out, err, errlen, NULL);
}

void sluice_job_free(sluice_job *job)
{
    if (!job)
        return;
    if (job->global_inited && job->desc->global_fini)
        job->desc->global_fini(&job->coord.ctx);
    sluice__worker_fini(&job->coord);
    free(job->coord_out);
    sluice__inputs_free(job);
    sluice__resume_free(job);
    sluice__plan_free(job);
    free(job);
}

/* Calls on_progress when 200 ms have passed since the last call (or
 * always with `force`). */
void sluice__progress_report(sluice_job *job, int force)
{
    if (!job->cb.on_progress)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (!force && now - job->prog.at < 200000000u)
        return;
    job->prog.at = now;
    job->prog.pub.inputs_done = job->g.cur_input;
    job->prog.pub.bytes_done = job->prog.done_bytes;
    job->prog.pub.expanding = job->exp.left;
    job->cb.on_progress(job->cb.user, &job->prog.pub);
}

int sluice_job_run(sluice_job *job, char *err, size_t errlen)
{
    job->err = err;
    job->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    int rc = sluice__gather_init(&job->g, job->desc, &job->coord.ctx, &job->cb,
                                 job->in.v, job->in.n);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s", sluice_strerror(rc));
        return rc;
    }
    /* The job log keeps the results of aggregations only: ordered output
     * is not logged. */
    job->g.capture = job->share.collect ||
                     (job->cb.on_unit && (job->desc->caps & SLUICE_CAP_MERGE) &&
                      !(job->desc->caps & SLUICE_CAP_ORDERED));
    job->g.collect = job->share.collect;
    job->win.next = job->share.first;
    sluice__resume_sort(job);
    for (uint32_t i = 0; i < job->in.n; i++)
        sluice__inputs_count(job, &job->in.v[i]);
    int nw = job->opts.jobs < 0 ? sluice_cpu_count() : job->opts.jobs;
    if (nw == 0)
        sluice__inline_run(job);
    else
        sluice__loop_run(job, nw);
    sluice__progress_report(job, 1);
    if (!job->share.collect)
        sluice__inline_finish(job);
    if (!job->fatal && !job->share.collect && job->g.cur_input < job->in.n)
        sluice__job_fail(job, SLUICE_EWORKER,
                         "internal error: %u inputs unreported",
                         job->in.n - job->g.cur_input);
    /* Like wc, leave a regular stdin at its end. */
    for (uint32_t i = 0; i < job->in.n; i++)
        if (job->in.v[i].fd == 0 && job->in.v[i].kind == SLUICE__IN_FILE)
            lseek(0, 0, SEEK_END);
    uint32_t failed = job->g.failed;
    sluice__gather_free(&job->g);
    if (job->fatal)
        return job->fatal;
    return failed ? SLUICE_EINPUT : 0;
}

const sluice_plugin *sluice_job_plugin(const sluice_job *job)
{
    return job->desc;
}

const sluice_callbacks *sluice_job_callbacks(const sluice_job *job)
{
    return &job->cb;
}
