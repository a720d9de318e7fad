/*
 * progress.c -- the progress line (see progress.h).
 */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

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
