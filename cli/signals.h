/*
 * signals.h -- SIGINT, SIGTERM and SIGHUP, one way for every command, and the
 * function that runs a command's job under them.
 */
#ifndef SLUICE_CLI_SIGNALS_H
#define SLUICE_CLI_SIGNALS_H

#include <stddef.h>

#include "sluice/sluice.h"

/* Signals, one way for every command (docs/exit-codes.md).
 *
 * cli_signals_install catches SIGINT, SIGTERM and SIGHUP, except one
 * inherited ignored (nohup, a background job: it stays ignored).  While
 * cli_job_run runs a job, the handler hands the signal to the engine
 * (sluice_interrupt), which stops reading, kills and reaps the workers and
 * returns; at any other time the handler ends the process itself.  Either
 * way `cleanup` (async-signal-safe: unlink(2) of the command's temporary
 * files, nothing else) runs, nothing more is written to stdout, messages
 * are held back, and the process ends by the signal itself, its default
 * action restored and the signal raised again, so a parent sees it die by
 * that signal (a shell reports 128+N and stops its loop).  Worker processes
 * inherit the handler and take the default action.
 *
 * SIGPIPE keeps its default action: a closed stdout ends the command
 * quietly, killed by SIGPIPE (status 141 in a shell), as GNU tools end;
 * the workers die with it. */
void cli_signals_install(void (*cleanup)(void));
/* The signal caught so far, or 0. */
int cli_signal_caught(void);
/* sluice_job_run; when a signal stopped the job (or came just after it),
 * does not return: the process ends by that signal as described above. */
int cli_job_run(sluice_job *job, char *err, size_t errlen);
/* What cli_job_run runs the job with: NULL, sluice_job_run; sluice-mpi
 * sets its own (cli/distributed.c), which shares the job among the ranks. */
typedef int cli_job_runner_fn(sluice_job *job, char *err, size_t errlen);
extern cli_job_runner_fn *cli_job_runner;
/* The runner's own temporary files' cleanup (async-signal-safe), run
 * with the command's when a signal ends the process; NULL for none. */
extern void (*cli_job_runner_cleanup)(void);

#endif /* SLUICE_CLI_SIGNALS_H */
