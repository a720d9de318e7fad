/*
 * supervise.c -- deadlines, poison, lost workers.
 *
 * Each worker's oldest unit runs against a deadline (fixed, or following
 * the median seconds per byte of finished units); past it the worker gets
 * SIGTERM, then SIGKILL.  A worker that dies, or writes something invalid,
 * is lost: its units are requeued (each then runs alone) and a fresh
 * worker is spawned; a unit that kills a worker twice while alone on it,
 * or that the sandbox stopped, is poison, reported with its path, range
 * and line.  Stopping ends every worker at the end of a run.
 * docs/engine.md, "Failures".
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coord.h"
#include "sandbox.h"

/* Unit deadlines (docs/engine.md, "Failures"): TIMEOUT_MIN_SAMPLES units
 * must finish before the automatic deadline follows their median. */
#define TIMEOUT_MIN_SAMPLES 8
#define TIMEOUT_FACTOR 20.0       /* x median seconds per byte x bytes */
#define TIMEOUT_FLOOR_S 60.0      /* an automatic deadline is never shorter */
#define TIMEOUT_EARLY_S 600.0     /* before TIMEOUT_MIN_SAMPLES samples */
#define TERM_GRACE_NS 2000000000u /* SIGTERM, then SIGKILL after this */

/* ------------------------------------------------------- deadlines */

uint64_t sluice__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A unit of `bytes` took `secs` on its worker. */
void sluice__supervise_timing(sluice_job *job, double secs, uint64_t bytes)
{
    if (bytes == 0)
        return;
    job->sup.spb[job->sup.nspb % SLUICE_TIMING_SAMPLES] = secs / (double)bytes;
    job->sup.nspb++;
    if (job->sup.nspb >= TIMEOUT_MIN_SAMPLES &&
        (job->sup.nspb == TIMEOUT_MIN_SAMPLES || job->sup.nspb % 16 == 0)) {
        uint32_t n = job->sup.nspb < SLUICE_TIMING_SAMPLES
                         ? job->sup.nspb
                         : SLUICE_TIMING_SAMPLES;
        double tmp[SLUICE_TIMING_SAMPLES];
        memcpy(tmp, job->sup.spb, n * sizeof *tmp);
        qsort(tmp, n, sizeof *tmp, cmp_double);
        job->sup.median_spb = tmp[n / 2];
    }
}

/* Seconds a unit of `bytes` may run, 0 for no limit. */
static double unit_limit(const sluice_job *job, uint64_t bytes)
{
    if (job->opts.unit_timeout != 0)
        return job->opts.unit_timeout > 0 ? job->opts.unit_timeout : 0;
    if (job->sup.nspb < TIMEOUT_MIN_SAMPLES)
        return TIMEOUT_EARLY_S;
    double t = TIMEOUT_FACTOR * job->sup.median_spb * (double)bytes;
    return t > TIMEOUT_FLOOR_S ? t : TIMEOUT_FLOOR_S;
}

/* The worker's oldest unit becomes its current one: its clock starts. */
void sluice__supervise_start_head(sluice_job *job, sluice__wproc *p,
                                  uint64_t now)
{
    p->head_ns = p->nflight ? now : 0;
    p->limit_s = p->nflight ? unit_limit(job, p->inflight[0].bytes) : 0;
}

/* Terminates workers past their unit's deadline (SIGTERM, then SIGKILL
 * after the grace); their pidfds report the death.  Returns milliseconds
 * until the next deadline, or -1 when there is none. */
int sluice__supervise_deadlines(sluice_job *job)
{
    uint64_t now = sluice__now_ns(), next = UINT64_MAX;
    for (int i = 0; i < job->run.nw; i++) {
        sluice__wproc *p = &job->run.w[i];
        if (!p->alive || !p->head_ns || p->kill_sent)
            continue;
        /* Time a worker spends waiting for us to take its output (ordered
         * output behind a slower unit) is not its unit's. */
        if (!p->term_ns && atomic_load_explicit(&p->region->hdr->out_waiting,
                                                memory_order_relaxed))
            p->head_ns = now;
        uint64_t at;
        if (p->term_ns) {
            at = p->term_ns + TERM_GRACE_NS;
            if (now >= at) {
                kill(p->pid, SIGKILL);
                p->kill_sent = 1;
                continue;
            }
        } else if (p->limit_s > 0) {
            at = p->head_ns + (uint64_t)(p->limit_s * 1e9);
            if (now >= at) {
                kill(p->pid, SIGTERM);
                p->term_ns = now;
                p->timed_out = p->limit_s;
                at = now + TERM_GRACE_NS;
            }
        } else {
            continue;
        }
        if (at < next)
            next = at;
    }
    if (next == UINT64_MAX)
        return -1;
    uint64_t ms = (next - now + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* ------------------------------------------------------------- poison */

/* 1-based line number at byte `off` of input `in` (a pass over the bytes
 * before it: only for reports), or 0 when it cannot be read. */
static uint64_t line_at(const sluice__input *in, uint64_t off)
{
    if (off == 0)
        return 1;
    if (in->data) {
        uint64_t n = 1;
        for (uint64_t i = 0; i < off && i < in->size; i++)
            n += in->data[i] == '\n';
        return n;
    }
    int fd = in->fd >= 0 ? in->fd
                         : open(in->pub.path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char buf[65536];
    uint64_t n = 1, pos = 0;
    while (pos < off) {
        size_t want = off - pos < sizeof buf ? (size_t)(off - pos) : sizeof buf;
        ssize_t r = pread(fd, buf, want, (off_t)(in->base + pos));
        if (r <= 0) {
            n = 0;
            break;
        }
        for (ssize_t i = 0; i < r; i++)
            n += buf[i] == '\n';
        pos += (uint64_t)r;
    }
    if (fd != in->fd)
        close(fd);
    return n;
}

/* The bytes a range unit really covers: the worker moves both ends of an
 * aligned range to record boundaries (chunker.c); the same pass here. */
static void real_range(const sluice__input *in, const sluice__unit *u,
                       uint64_t *start, uint64_t *end)
{
    *start = u->offset;
    *end = u->offset + u->length;
    if (!(u->flags & SLUICE__UF_ALIGN) || in->data)
        return;
    int fd = in->fd >= 0 ? in->fd
                         : open(in->pub.path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return;
    sluice__src src = {.fd = fd, .base = in->base, .expect = UINT64_MAX};
    int64_t b = sluice_chunker_boundary(sluice__src_read, &src, *start,
                                        in->size, u->align_limit);
    int64_t e = sluice_chunker_boundary(sluice__src_read, &src, *end, in->size,
                                        u->align_limit);
    if (b >= 0 && e >= b) {
        *start = (uint64_t)b;
        *end = (uint64_t)e;
    }
    if (fd != in->fd)
        close(fd);
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGABRT:
        return "SIGABRT";
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGXCPU:
        return "SIGXCPU";
    case SIGSYS:
        return "SIGSYS";
    default:
        return "unknown signal";
    }
}

/* A unit killed its worker twice while alone on it, or made a call the
 * sandbox forbids (sandbox_nr >= 0): report it through on_poison, then
 * fail the job, or (keep_going) its inputs when gather gets to it. */
static void poison(sluice_job *job, const sluice__wproc *p,
                   const sluice__flight *f, int status, int32_t sandbox_nr)
{
    const sluice__input *in = &job->in.v[f->lo];
    sluice_poison rep = {.path = in->pub.path,
                         .input = f->lo,
                         .ninputs = f->hi - f->lo,
                         .plugin = job->desc->name,
                         .timed_out = p->timed_out,
                         .sandbox_syscall = sandbox_nr};
    char where[600], cause[160], msg[1024];
    if (f->u.flags & SLUICE__UF_RANGE || f->u.kind == SLUICE__UNIT_STREAM) {
        uint64_t start = f->u.offset, end = f->u.offset + f->u.length;
        if (f->u.kind != SLUICE__UNIT_STREAM)
            real_range(in, &f->u, &start, &end);
        rep.offset = start;
        rep.length = end - start;
        if (job->desc->caps & SLUICE_CAP_RECORDS)
            rep.first_record = f->u.kind == SLUICE__UNIT_STREAM
                                   ? (f->u.offset == 0)
                                   : line_at(in, rep.offset);
        int n = snprintf(where, sizeof where, "bytes %llu-%llu",
                         (unsigned long long)rep.offset,
                         (unsigned long long)(rep.offset + rep.length));
        if (rep.first_record && n > 0 && (size_t)n < sizeof where)
            snprintf(where + n, sizeof where - (size_t)n, ", line %llu",
                     (unsigned long long)rep.first_record);
    } else {
        rep.length = f->bytes;
        if (job->desc->caps & SLUICE_CAP_RECORDS)
            rep.first_record = 1;
        if (rep.ninputs > 1)
            snprintf(where, sizeof where, "batch of %u files from %s",
                     rep.ninputs, in->pub.path);
        else
            snprintf(where, sizeof where, "whole file");
    }
    if (WIFSIGNALED(status)) {
        rep.signal = WTERMSIG(status);
        snprintf(cause, sizeof cause, "signal %d, %s", rep.signal,
                 signal_name(rep.signal));
    } else {
        rep.exit_status = WEXITSTATUS(status);
        snprintf(cause, sizeof cause, "exit status %d", rep.exit_status);
    }
    char extra[96] = "";
    if (p->timed_out > 0)
        snprintf(extra, sizeof extra, "; timed out after %g s", p->timed_out);
    else if (job->opts.worker_memory && WIFSIGNALED(status))
        snprintf(extra, sizeof extra, "; worker memory limit %llu MiB",
                 (unsigned long long)(job->opts.worker_memory >> 20));
    if (sandbox_nr >= 0)
        snprintf(msg, sizeof msg,
                 "%s: plugin %s was stopped by the sandbox (forbidden "
                 "system call %d: %s)",
                 where, job->desc->name, (int)sandbox_nr,
                 sluice__sandbox_syscall_name(sandbox_nr));
    else
        snprintf(msg, sizeof msg,
                 "%s: worker process died twice (%s%s) while plugin %s "
                 "processed it",
                 where, cause, extra, job->desc->name);
    char full[1600];
    snprintf(full, sizeof full, "%s: %s", in->pub.path, msg);
    rep.message = full;
    if (job->cb.on_poison)
        job->cb.on_poison(job->cb.user, &rep);
    sluice__wentry *e = sluice__reorder_at(job, f->u.seq);
    if (job->opts.keep_going && !(job->desc->caps & SLUICE_CAP_ORDERED) &&
        e->used && e->seq == f->u.seq) {
        e->poison = strdup(msg);
        if (!e->poison) {
            sluice__job_fail(job, SLUICE_ENOMEM, "out of memory");
            return;
        }
        e->uflags = f->u.flags |
                    (f->u.kind == SLUICE__UNIT_STREAM ? SLUICE__UF_RANGE : 0);
        return;
    }
    sluice__job_fail(job, SLUICE_EWORKER, "%s", full);
}

/* The system call the sandbox stopped worker p at, or -1 when it was not
 * the sandbox that ended it.  The worker wrote the number: it is used as a
 * number only. */
static int32_t sandbox_stop(const sluice_job *job, const sluice__wproc *p,
                            int status)
{
    if (!job->run.sandbox || !WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
        return -1;
    int32_t nr = atomic_load(&p->region->hdr->sandbox_nr) - 1;
    return nr < 0 ? -1 : nr;
}

/* The unit worker p was running when it died, or NULL (between units). */
static const sluice__flight *running_unit(const sluice__wproc *p)
{
    uint64_t seq = atomic_load(&p->region->hdr->unit_seq);
    for (uint32_t k = 0; k < p->nflight; k++)
        if (p->inflight[k].u.seq + 1 == seq)
            return &p->inflight[k];
    return NULL;
}

/* The sandbox stopped a worker outside any unit (worker_fini, or between
 * units): nothing to skip, the job fails. */
static void sandbox_fatal(sluice_job *job, int32_t nr, const char *when)
{
    sluice__job_fail(job, SLUICE_EWORKER,
                     "plugin %s was stopped by the sandbox%s (forbidden system "
                     "call %d: %s)",
                     job->desc->name, when, (int)nr,
                     sluice__sandbox_syscall_name(nr));
}

/* ------------------------------------------------------ lost workers */

/* A worker is gone (or must go): requeue its units on a fresh worker. */
static void lost_worker(sluice_job *job, int i, int status)
{
    sluice__wproc *p = &job->run.w[i];
    if (!p->alive)
        return;
    p->alive = 0;
    if (p->pidfd >= 0) {
        epoll_ctl(job->run.epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
        close(p->pidfd);
        p->pidfd = -1;
    }
    int start_err = atomic_load(&p->region->hdr->start_err);
    if (start_err == SLUICE__START_INIT)
        sluice__job_fail(job, SLUICE_EWORKER,
                         "plugin %s: worker initialisation failed",
                         job->desc->name);
    else if (start_err == SLUICE__START_SANDBOX)
        sluice__job_fail(job, SLUICE_EWORKER,
                         "a worker could not install the sandbox "
                         "(try --no-sandbox)");
    /* A unit the sandbox stopped is poison at once: a retry would only do
     * it again.  The others on that worker are requeued as usual. */
    int32_t sandbox_nr = sandbox_stop(job, p, status);
    const sluice__flight *culprit = sandbox_nr >= 0 ? running_unit(p) : NULL;
    if (sandbox_nr >= 0 && !culprit)
        sandbox_fatal(job, sandbox_nr, "");
    /* Only a unit alone on its worker is known to be the culprit.  The
     * others are requeued and each run alone (sluice__dispatch) until the one
     * that kills a worker alone twice is found: poison. */
    int alone = p->nflight == 1;
    for (uint32_t k = 0; k < p->nflight && !job->fatal; k++) {
        sluice__flight f = p->inflight[k];
        sluice__wentry *e = sluice__reorder_at(job, f.u.seq);
        if (e->used && e->seq == f.u.seq) {
            if (f.u.seq == job->win.next && e->applied > 0)
                sluice__gather_unit_lost(&job->g);
            e->nfrags = 0;
            e->applied = 0;
        }
        if (culprit == &p->inflight[k]) {
            poison(job, p, &f, status, sandbox_nr);
            continue;
        }
        if (!culprit && alone && ++f.alone >= 2) {
            poison(job, p, &f, status, -1);
            continue;
        }
        f.copy_len = f.u.manifest_len;
        if (f.u.kind == SLUICE__UNIT_STREAM)
            f.copy_len = f.u.data_off + f.u.length;
        f.copy = malloc(f.copy_len ? f.copy_len : 1);
        if (!f.copy) {
            sluice__job_fail(job, SLUICE_ENOMEM, "out of memory");
            break;
        }
        memcpy(f.copy, p->region->slots + (size_t)f.u.slot * SLUICE_SLOT_SIZE,
               f.copy_len);
        if (job->sup.nretry == job->sup.retry_cap) {
            uint32_t ncap = job->sup.retry_cap ? job->sup.retry_cap * 2 : 8;
            sluice__flight *nr = realloc(job->sup.retry, ncap * sizeof *nr);
            if (!nr) {
                free(f.copy);
                sluice__job_fail(job, SLUICE_ENOMEM, "out of memory");
                break;
            }
            job->sup.retry = nr;
            job->sup.retry_cap = ncap;
        }
        /* Keep retries in sequence order. */
        uint32_t at = job->sup.nretry;
        while (at > 0 && job->sup.retry[at - 1].u.seq > f.u.seq)
            at--;
        memmove(job->sup.retry + at + 1, job->sup.retry + at,
                (job->sup.nretry - at) * sizeof *job->sup.retry);
        job->sup.retry[at] = f;
        job->sup.nretry++;
    }
    p->nflight = 0;
    /* Its region may still hold finished records: keep it until the end. */
    sluice__region **nd =
        realloc(job->run.dead, (job->run.ndead + 1) * sizeof *nd);
    if (nd) {
        job->run.dead = nd;
        job->run.dead[job->run.ndead++] = p->region;
    }
    p->region = NULL;
    if (!job->fatal) {
        int rc = sluice__dispatch_spawn(job, i);
        if (rc < 0)
            sluice__job_fail(job, rc, "cannot start a worker: %s",
                             sluice_strerror(rc));
    }
}

void sluice__supervise_kill(sluice_job *job, int i)
{
    sluice__wproc *p = &job->run.w[i];
    if (!p->alive)
        return;
    kill(p->pid, SIGKILL);
    int status = 0;
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
        ;
    lost_worker(job, i, status);
}

void sluice__supervise_reap(sluice_job *job)
{
    for (int i = 0; i < job->run.nw; i++) {
        sluice__wproc *p = &job->run.w[i];
        if (!p->alive)
            continue;
        int status;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            lost_worker(job, i, status);
    }
}

/* ---------------------------------------------------------- stopping */

void sluice__supervise_stop(sluice_job *job, int force)
{
    for (int i = 0; i < job->run.nw; i++) {
        sluice__wproc *p = &job->run.w[i];
        if (!p->alive)
            continue;
        if (force) {
            kill(p->pid, SIGKILL);
        } else {
            sluice__unit stop = {.kind = SLUICE__UNIT_STOP};
            if (sluice_ring_push(&p->region->sub, &stop, 1) != 1)
                kill(p->pid, SIGKILL);
            sluice__dispatch_wake(p);
        }
    }
    for (int i = 0; i < job->run.nw; i++) {
        sluice__wproc *p = &job->run.w[i];
        if (!p->alive)
            continue;
        int status = 0;
        while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
            ;
        /* worker_fini runs sandboxed too. */
        int32_t nr = sandbox_stop(job, p, status);
        if (!force && !job->fatal && nr >= 0)
            sandbox_fatal(job, nr, " in worker_fini");
        p->alive = 0;
        if (p->pidfd >= 0)
            close(p->pidfd);
        sluice__region_destroy(p->region);
        free(p->region);
        p->region = NULL;
    }
}
