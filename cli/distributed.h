/*
 * distributed.h -- sluice-mpi's additions to the commands (cli/distributed.c;
 * docs/distributed.md).  Only built with the meson option mpi.
 */
#ifndef SLUICE_CLI_DISTRIBUTED_H
#define SLUICE_CLI_DISTRIBUTED_H

/* Joins the MPI world and makes cli_job_run share jobs among its ranks;
 * on ranks other than 0, stdout goes to /dev/null.  -1 (after a message;
 * exit with status 2) when the world is not what the launcher started. */
int cli_mpi_init(int *argc, char ***argv, const char *prog);
/* Leaves the MPI world; returns status. */
int cli_mpi_finish(int status);

#endif /* SLUICE_CLI_DISTRIBUTED_H */
