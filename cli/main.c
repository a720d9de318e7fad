/*
 * main.c -- the `sluice` command: finds the subcommand and runs it.
 * Built a second time with SLUICE_MPI as `sluice-mpi` (cli/distributed.c),
 * which joins an MPI world first and offers the commands that can share their
 * job among its ranks.
 *
 * `sluice NAME ARGS...` runs the subcommand NAME from the table below with
 * argv[0] replaced by "sluice NAME", so that its messages and getopt's read
 * "sluice NAME: ...".  A new subcommand is one table entry (and its file).
 * Usage errors here exit 2 (docs: exit codes); a subcommand's own exit codes
 * are its business (wc follows GNU wc).
 */
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grep.h"
#include "gzip.h"
#include "quote.h"
#include "replace.h"
#include "run.h"
#include "wc.h"

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

typedef struct command {
    const char *name;    /* what the user types */
    cli_main_fn *main;   /* entry point */
    const char *summary; /* one line for `sluice --help` */
} command;

/* The commands, in the order `sluice --help` lists them.  sluice-mpi
 * offers those that share a job among ranks (docs/distributed.md): all
 * but the plugin tools, which run no job. */
static const command commands[] = {
    {"grep", cli_grep_main,
     "print lines that match patterns, in parallel (GNU grep compatible)"},
    {"gunzip", cli_gunzip_main,
     "decompress gzip files in parallel (gunzip compatible)"},
    {"gzip", cli_gzip_main,
     "compress files in parallel into standard gzip (gzip/pigz compatible)"},
#ifndef SLUICE_MPI
    {"plugin", cli_plugin_main,
     "check a plugin: its ABI, capabilities and options, or why it fails"},
    {"plugins", cli_plugins_main, "list the plugins found"},
#endif
    {"replace", cli_replace_main,
     "replace text in every line (literal, or regex with back references)"},
    {"run", cli_run_main, "run any plugin over files, trees and stdin"},
    {"wc", cli_wc_main,
     "print newline, word, and byte counts (GNU wc compatible)"},
    {"zcat", cli_zcat_main, "decompress gzip files to standard output"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

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
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
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

static int run_command(const command *cmd, int argc, char **argv,
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
        const command *cmd = find_command(argv[2]);
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

    const command *cmd = find_command(arg);
    if (!cmd) {
        fprintf(stderr, "%s: unknown command %s\n", PROG, quoteaf(arg));
        cli_try_help(PROG);
        return EXIT_USAGE;
    }
    return run_command(cmd, argc - 1, argv + 1, argv[0]);
}
