/*
 * commands.h -- the table of sluice's commands, written once: `sluice`
 * (main.c) offers every one, `sluice-mpi` those that run a job, and the CLI
 * fuzz target picks among those too.
 */
#ifndef SLUICE_CLI_COMMANDS_H
#define SLUICE_CLI_COMMANDS_H

#include <stddef.h>

#include "common.h" /* cli_main_fn */

typedef struct cli_command {
    const char *name;    /* what the user types */
    cli_main_fn *main;   /* entry point */
    const char *summary; /* one line for `sluice --help` */
    int runs_job;        /* 0: a plugin tool, which runs no job (so
                            sluice-mpi has nothing to share) */
} cli_command;

/* In the order `sluice --help` lists them. */
extern const cli_command cli_commands[];
extern const size_t cli_ncommands;

/* The command called NAME, or NULL; with JOBS_ONLY, only one that runs a
 * job. */
const cli_command *cli_command_find(const char *name, int jobs_only);

#endif
