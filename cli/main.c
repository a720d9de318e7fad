/*
 * main.c -- the `sluice` command: finds the subcommand and runs it.
 * Built a second time with SLUICE_MPI as `sluice-mpi` (cli/distributed.c),
 * which joins an MPI world first and offers the commands that can share their
 * job among its ranks.
 *
 * `sluice NAME ARGS...` runs the subcommand NAME from the table below with
 * argv[0] replaced by "sluice NAME", so that its messages and getopt's read
 * "sluice NAME: ...".  The table is commands.c's.
 * Usage errors here exit 2 (docs: exit codes); a subcommand's own exit codes
 * are its business (wc follows GNU wc).
 */
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "quote.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.1.0"
#endif

#ifdef SLUICE_MPI
#include "distributed.h"
#define PROG "sluice-mpi"
#else
#define PROG "sluice"
#endif
#define EXIT_USAGE 2

/* sluice-mpi offers the commands that share a job among ranks
 * (docs/distributed.md): all but the plugin tools, which run no job. */
#ifdef SLUICE_MPI
#define JOBS_ONLY 1
#else
#define JOBS_ONLY 0
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s COMMAND [ARGUMENT]...\n"
            "  or:  %s help [COMMAND]\n"
            "  or:  %s --help | --version\n"
            "Process files in parallel with worker processes and plugins.\n"
            "\n"
            "Commands:\n",
            PROG, PROG, PROG);
    for (size_t i = 0; i < cli_ncommands; i++)
        if (cli_commands[i].runs_job || !JOBS_ONLY)
            fprintf(f, "  %-10s %s\n", cli_commands[i].name,
                    cli_commands[i].summary);
    fprintf(f,
            "  %-10s %s\n"
            "\n"
            "      --help     display this help and exit\n"
            "      --version  output version information and exit\n"
            "\n"
            "Run '%s COMMAND --help' for the options of one command.\n",
            "help", "display help for a command", PROG);
}

/* Like gnulib's close_stdout: output that could not be written is an
 * error, not silence. */
static int finish_stdout(int status)
{
    return cli_flush_stdout(PROG) < 0 ? EXIT_FAILURE : status;
}

/* The path of the running binary: plugins are found next to it. */
static const char *self_exe(const char *argv0, char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n > 0 && (size_t)n < size - 1) {
        buf[n] = '\0';
        return buf;
    }
    return argv0;
}

static int run_command(const cli_command *cmd, int argc, char **argv,
                       const char *argv0)
{
    static char exe[PATH_MAX];
    char display[64];
    snprintf(display, sizeof display, "%s %s", PROG, cmd->name);
    cli_env env = {
        .prog = PROG,
        .version = SLUICE_VERSION,
        .self_exe = self_exe(argv0, exe, sizeof exe),
    };
    argv[0] = display;
    return cmd->main(argc, argv, &env);
}

static int run_main(int argc, char **argv);

int main(int argc, char **argv)
{
#ifdef SLUICE_MPI
    if (cli_mpi_init(&argc, &argv, PROG) < 0)
        return EXIT_USAGE;
    return cli_mpi_finish(run_main(argc, argv));
#else
    return run_main(argc, argv);
#endif
}

static int run_main(int argc, char **argv)
{
    setlocale(LC_ALL, "");

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *arg = argv[1];

    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        usage(stdout);
        return finish_stdout(EXIT_SUCCESS);
    }
    if (strcmp(arg, "--version") == 0) {
        char why[128];
        printf("%s %s\n", PROG, SLUICE_VERSION);
        if (sluice_sandbox_available(why, sizeof why))
            printf("sandbox: seccomp (on by default)\n");
        else
            printf("sandbox: unavailable: %s\n", why);
        return finish_stdout(EXIT_SUCCESS);
    }
    if (strcmp(arg, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return finish_stdout(EXIT_SUCCESS);
        }
        const cli_command *cmd = cli_command_find(argv[2], JOBS_ONLY);
        if (!cmd) {
            fprintf(stderr, "%s: unknown command %s\n", PROG, quoteaf(argv[2]));
            cli_try_help(PROG);
            return EXIT_USAGE;
        }
        char help[] = "--help";
        char *hargv[] = {argv[2], help, NULL};
        return run_command(cmd, 2, hargv, argv[0]);
    }
    if (arg[0] == '-') {
        fprintf(stderr, "%s: unrecognized option %s\n", PROG, quoteaf(arg));
        cli_try_help(PROG);
        return EXIT_USAGE;
    }

    const cli_command *cmd = cli_command_find(arg, JOBS_ONLY);
    if (!cmd) {
        fprintf(stderr, "%s: unknown command %s\n", PROG, quoteaf(arg));
        cli_try_help(PROG);
        return EXIT_USAGE;
    }
    return run_command(cmd, argc - 1, argv + 1, argv[0]);
}
