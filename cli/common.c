/*
 * common.c -- helpers shared by the subcommands (see common.h).
 */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t caught_sig;

void cli_vmessage(const char *prog, int errnum, const char *fmt, va_list ap)
{
    if (caught_sig)
        return; /* the process is about to end by the signal */
    cli_progress_clear();
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    if (errnum)
        fprintf(stderr, ": %s", strerror(errnum));
    fputc('\n', stderr);
}

void cli_message(const char *prog, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vmessage(prog, errnum, fmt, ap);
    va_end(ap);
}

int cli_notes_add(cli_notes *q, uint32_t before, const char *fmt, ...)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        cli_note *p = realloc(q->v, cap * sizeof *p);
        if (!p)
            return -1;
        q->v = p;
        q->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&q->v[q->n].text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    q->v[q->n++].before = before;
    return 0;
}

const char *cli_notes_next(cli_notes *q, uint32_t upto)
{
    if (q->next < q->n && q->v[q->next].before <= upto)
        return q->v[q->next++].text;
    return NULL;
}

void cli_notes_free(cli_notes *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i].text);
    free(q->v);
    memset(q, 0, sizeof *q);
}

int cli_set_plugin_option(const char *prog, sluice_plugin_handle *h,
                          const char *key, const char *value)
{
    char err[512] = "";
    int rc = sluice_plugin_set_option(h, key, value, err, sizeof err);
    if (rc < 0)
        cli_message(prog, 0, "%s", err[0] ? err : sluice_strerror(rc));
    return rc;
}

/* --------------------------------------------------------- supervision */

int cli_supervise_option(const char *prog, int c, const char *arg,
                         sluice_job_opts *opts)
{
    char *end;
    switch (c) {
    case CLI_OPT_TIMEOUT: {
        if (!strcmp(arg, "none")) {
            opts->unit_timeout = -1;
            return 1;
        }
        errno = 0;
        double v = strtod(arg, &end);
        if (errno || end == arg || *end || !isfinite(v) || v <= 0 || v > 1e9) {
            cli_message(prog, 0, "invalid timeout: '%s' (seconds > 0, or none)",
                        arg);
            return -1;
        }
        opts->unit_timeout = v;
        return 1;
    }
    case CLI_OPT_WORKER_MEMORY: {
        if (!strcmp(arg, "none")) {
            opts->worker_memory = 0;
            return 1;
        }
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 10);
        unsigned shift = 0;
        if (*end == 'k' || *end == 'K')
            shift = 10, end++;
        else if (*end == 'M')
            shift = 20, end++;
        else if (*end == 'G')
            shift = 30, end++;
        if (errno || end == arg || *end || *arg == '-' || v == 0 ||
            v > (UINT64_MAX >> shift) || (v << shift) < (16u << 20)) {
            cli_message(prog, 0,
                        "invalid worker memory: '%s' (16M or more, or none)",
                        arg);
            return -1;
        }
        opts->worker_memory = (uint64_t)v << shift;
        return 1;
    }
    case CLI_OPT_KEEP_GOING:
        opts->keep_going = 1;
        return 1;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------- job log */

FILE *cli_joblog_open(const char *prog, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_message(prog, errno, "%s", path);
        return NULL;
    }
    fputs("seq\tinput\tfiles\toffset\tbytes\tworker\tattempts\tresult\n", f);
    return f;
}

void cli_joblog_unit(FILE *f, const sluice_job *job, const sluice_unit_done *u)
{
    const sluice_input *in = sluice_job_input(job, u->input);
    fprintf(f, "%llu\t", (unsigned long long)u->seq);
    /* A path is one field: tabs, newlines and backslashes escaped. */
    for (const char *p = in ? in->path : "?"; *p; p++) {
        if (*p == '\t')
            fputs("\\t", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\\')
            fputs("\\\\", f);
        else
            fputc(*p, f);
    }
    fprintf(f, "\t%u\t%llu\t%llu\t%d\t%u\t%s\n", u->ninputs,
            (unsigned long long)u->offset, (unsigned long long)u->bytes,
            (int)u->pid, u->attempts, u->poisoned ? "poison" : "ok");
}

int cli_joblog_close(const char *prog, const char *path, FILE *f)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        cli_message(prog, errno, "%s: write error", path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- signals */

static const int caught_signals[] = {SIGINT, SIGTERM, SIGHUP};
static void (*signal_cleanup)(void);
static pid_t signal_owner;           /* the coordinator, not a worker */
static volatile sig_atomic_t in_job; /* cli_job_run is running a job */

/* Removes the command's temporary files and ends by `sig`. */
static void die_by(int sig)
{
    if (signal_cleanup)
        signal_cleanup();
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached */
}

static void on_signal(int sig)
{
    if (getpid() != signal_owner) { /* a worker: the default action */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    if (!caught_sig)
        caught_sig = sig;
    if (!in_job)
        die_by(caught_sig);
    sluice_interrupt(sig);
}

void cli_signals_install(void (*cleanup)(void))
{
    signal_cleanup = cleanup;
    signal_owner = getpid();
    size_t n = sizeof caught_signals / sizeof caught_signals[0];
    for (size_t i = 0; i < n; i++) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read ends */
        sigemptyset(&sa.sa_mask);
        for (size_t k = 0; k < n; k++)
            sigaddset(&sa.sa_mask, caught_signals[k]);
        if (sigaction(caught_signals[i], NULL, &old) == 0 &&
            old.sa_handler == SIG_IGN)
            continue; /* nohup, or a background job: stays ignored */
        sigaction(caught_signals[i], &sa, NULL);
    }
}

int cli_signal_caught(void)
{
    return caught_sig;
}

int cli_job_run(sluice_job *job, char *err, size_t errlen)
{
    in_job = 1;
    int rc = sluice_job_run(job, err, errlen);
    in_job = 0;
    if (caught_sig)
        die_by(caught_sig);
    return rc;
}

/* ------------------------------------------------------------ progress */

static cli_progress *shown_progress; /* the line on stderr, if any */

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_init(cli_progress *p, const char *prog, int force)
{
    memset(p, 0, sizeof *p);
    p->prog = prog;
    p->enabled = force < 0 ? isatty(STDERR_FILENO) : force;
    p->start = mono_seconds();
}

/* "1.5 GiB" and the like. */
static void human(char *buf, size_t len, double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void cli_progress_update(cli_progress *p, const sluice_progress *sp)
{
    if (!p->enabled)
        return;
    double elapsed = mono_seconds() - p->start;
    if (elapsed < 1.0)
        return; /* short jobs show nothing */
    if (sp->inputs_done == sp->inputs_total && !sp->expanding) {
        cli_progress_clear(); /* all reported: nothing left to show */
        return;
    }
    char done[32], total[32], rate[32], eta[32] = "";
    human(done, sizeof done, (double)sp->bytes_done);
    human(total, sizeof total, (double)sp->bytes_total);
    double bps = (double)sp->bytes_done / elapsed;
    human(rate, sizeof rate, bps);
    /* While walks and archives still give inputs the totals grow: no
     * ETA, and the file count says "+". */
    int growing = sp->expanding != 0;
    if (!sp->streams && !growing && bps > 0 &&
        sp->bytes_total >= sp->bytes_done) {
        unsigned long left =
            (unsigned long)((double)(sp->bytes_total - sp->bytes_done) / bps +
                            0.5);
        snprintf(eta, sizeof eta, ", ETA %lu:%02lu", left / 60, left % 60);
    }
    int sized = !sp->streams && !growing;
    fprintf(stderr, "\r%s: %u/%u%s files, %s%s%s, %s/s%s\033[K", p->prog,
            sp->inputs_done, sp->inputs_total, growing ? "+" : "", done,
            sized ? " of " : "", sized ? total : "", rate, eta);
    fflush(stderr);
    p->shown = 1;
    shown_progress = p;
}

void cli_progress_clear(void)
{
    if (shown_progress && shown_progress->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        shown_progress->shown = 0;
    }
}

void cli_progress_done(cli_progress *p)
{
    if (shown_progress == p) {
        cli_progress_clear();
        shown_progress = NULL;
    }
}
