/*
 * joblog.h -- --joblog FILE and --resume: the job log of finished units,
 * written as they finish and read back to skip them (docs/engine.md, "Job
 * log").
 */
#ifndef SLUICE_CLI_JOBLOG_H
#define SLUICE_CLI_JOBLOG_H

#include <stdio.h>

#include "sluice/sluice.h"

/* --joblog FILE: one tab-separated line per finished unit (docs/engine.md,
 * "Job log"), and --resume.  Call once the job is set up (its plugin
 * options set), before adding inputs.  Without `resume`: creates FILE and
 * writes the header.  With it: reads FILE, refuses (a message, NULL) when
 * it was written by another job or an input it names changed, hands the
 * units it holds as done to the job, and opens FILE to append to it; a
 * missing FILE starts afresh.  NULL after printing why (exit status 2). */
FILE *cli_joblog_open(const char *prog, const char *path, sluice_job *job,
                      int resume);
/* The lines of one unit (an on_unit callback's body). */
void cli_joblog_unit(FILE *f, const sluice_unit_done *u);
/* sluice-mpi: this process's rank (its log is FILE.rank-N when N > 0) and
 * the number of ranks; 0 and 1 for the local sluice. */
extern int cli_joblog_rank, cli_joblog_nranks;
/* Closes the log; 0, or -1 after printing why (a write error). */
int cli_joblog_close(const char *prog, const char *path, FILE *f);

#endif /* SLUICE_CLI_JOBLOG_H */
