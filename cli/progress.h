/*
 * progress.h -- the progress line a command shows on stderr while its job runs
 * (--progress, --no-progress).
 */
#ifndef SLUICE_CLI_PROGRESS_H
#define SLUICE_CLI_PROGRESS_H

#include "sluice/sluice.h"

/* A progress line on stderr: files and bytes done, rate, ETA, rewritten in
 * place.  Shown only when stderr is a terminal (or forced with
 * --progress) and once the job has run for a second; cleared before any
 * message and at the end.  A command clears it before writing to stdout. */
typedef struct cli_progress {
    const char *prog; /* "sluice wc" */
    int enabled;      /* decided by cli_progress_init */
    int shown;        /* the line is on the screen now */
    double start;     /* when the job started (seconds) */
} cli_progress;

/* force: -1 auto (stderr a terminal), 0 never, 1 always. */
void cli_progress_init(cli_progress *p, const char *prog, int force);
/* An on_progress callback's body (user = the cli_progress). */
void cli_progress_update(cli_progress *p, const sluice_progress *sp);
/* Erases the line if it is shown (it comes back at the next update). */
void cli_progress_clear(void);
/* Erases the line for good. */
void cli_progress_done(cli_progress *p);

#endif /* SLUICE_CLI_PROGRESS_H */
