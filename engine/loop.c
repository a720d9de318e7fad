/*
 * loop.c -- the run loop of a parallel run.
 *
 * It sets up the workers and the reorder window, then turns: scan
 * completions, reorder, dispatch, report progress, check deadlines; when
 * nothing moved it spins briefly, then sleeps in epoll on the coordinator's
 * eventfd (rung by workers only when it said it sleeps) and the workers'
 * pidfds, until the nearest deadline at most.  It ends when every unit is
 * gathered, the job failed, or a signal came.
 */
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "coord.h"
#include "os.h"

/* Rung by workers that completed something while the coordinator said
 * it sleeps, and by sluice_interrupt; -1 outside a parallel run. */
int sluice__coord_eventfd = -1;

static int finished(const sluice_job *job)
{
    return (job->plan.input >= job->in.n ||
            job->plan.next_seq >= job->share.end) &&
           job->sup.nretry == 0 && job->win.next >= job->plan.next_seq;
}

static void sleep_once(sluice_job *job)
{
    int may_sleep = 1;
    int k;
    for (k = 0; k < job->run.nw; k++) {
        if (!job->run.w[k].alive)
            continue;
        if (!sluice_ring_prepare_sleep(&job->run.w[k].region->comp)) {
            may_sleep = 0;
            break;
        }
    }
    if (may_sleep) {
        struct epoll_event ev[8];
        int ms = job->cb.on_progress ? 200 : 1000;
        int deadline = sluice__supervise_deadlines(job);
        if (deadline >= 0 && deadline < ms)
            ms = deadline;
        int n = epoll_wait(job->run.epfd, ev, 8, ms);
        for (int j = 0; j < n; j++)
            if (ev[j].data.u32 == 0)
                sluice__os_event_drain(sluice__coord_eventfd);
        sluice__supervise_reap(
            job); /* also after a timeout: a worker without a pidfd */
    }
    for (int j = 0; j < job->run.nw; j++)
        if (job->run.w[j].alive)
            sluice_ring_end_sleep(&job->run.w[j].region->comp);
}

int sluice__loop_run(sluice_job *job, int nw)
{
    job->run.w = calloc((size_t)nw, sizeof *job->run.w);
    job->run.nw = job->run.w ? nw : 0;
    uint32_t ws = 1;
    while (ws < (uint32_t)nw * SLUICE_CREDITS * 4)
        ws *= 2;
    job->win.size = ws;
    job->win.slots = calloc(ws, sizeof *job->win.slots);
    job->run.epfd = epoll_create1(EPOLL_CLOEXEC);
    sluice__coord_eventfd = sluice__os_eventfd(1);
    job->run.sandbox =
        !job->opts.no_sandbox && sluice_sandbox_available(NULL, 0) == 1;
    if (!job->run.w || !job->win.slots || job->run.epfd < 0 ||
        sluice__coord_eventfd < 0) {
        sluice__job_fail(job, SLUICE_ENOMEM, "cannot set up workers");
        goto out;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
    epoll_ctl(job->run.epfd, EPOLL_CTL_ADD, sluice__coord_eventfd, &ev);
    for (int i = 0; i < nw; i++) {
        int rc = sluice__dispatch_spawn(job, i);
        if (rc < 0) {
            sluice__job_fail(job, rc, "cannot start a worker: %s",
                             sluice_strerror(rc));
            goto out;
        }
    }
    sluice__gather_begin_unit(&job->g, job->share.first);
    while (!job->fatal && !finished(job) && !sluice__job_interrupted(job)) {
        int bad;
        int progress = sluice__dispatch_scan(job, &bad);
        if (bad >= 0) {
            sluice__supervise_kill(job, bad);
            continue;
        }
        progress += sluice__reorder(job);
        progress += sluice__dispatch(job);
        sluice__progress_report(job, 0);
        sluice__supervise_deadlines(job);
        if (!progress && !job->fatal && !finished(job)) {
            /* Spin briefly before sleeping: completions often come soon. */
            int spun = 0;
            for (int s = 0; s < 64 && !spun; s++) {
                for (int i = 0; i < job->run.nw; i++)
                    if (job->run.w[i].alive &&
                        sluice_ring_count(&job->run.w[i].region->comp) != 0)
                        spun = 1;
                sluice__os_cpu_relax();
            }
            if (!spun)
                sleep_once(job);
        }
    }
out:
    sluice__supervise_stop(job, job->fatal != 0);
    for (uint32_t i = 0; i < job->run.ndead; i++) {
        sluice__region_destroy(job->run.dead[i]);
        free(job->run.dead[i]);
    }
    free(job->run.dead);
    for (uint32_t i = 0; i < job->sup.nretry; i++)
        free(job->sup.retry[i].copy);
    free(job->sup.retry);
    if (job->win.slots)
        for (uint32_t i = 0; i < job->win.size; i++) {
            free(job->win.slots[i].frags);
            free(job->win.slots[i].poison);
        }
    free(job->win.slots);
    free(job->run.w);
    if (job->run.epfd >= 0)
        close(job->run.epfd);
    if (sluice__coord_eventfd >= 0)
        close(sluice__coord_eventfd);
    sluice__coord_eventfd = -1;
    return job->fatal;
}
