/*
 * options.h -- the options every command shares: how the engine runs the
 * job (-j, --no-sandbox, --chunk-size), how it is supervised (--timeout,
 * --worker-memory, --keep-going, --joblog, --resume), how directories and
 * archives are read (--hidden, --no-ignore, --follow, --include,
 * --exclude, --max-depth, --skip-binary, -z/--archives, the archive
 * limits) and --progress.  One table fragment per group for getopt_long,
 * one handler, one help text, and one parser for every number an option
 * takes (docs/options.md).
 *
 * A command names the groups it takes (cli_opts_init), puts their
 * fragments in its getopt_long table and their short letters ('j', 'z') in
 * its short options, and hands each getopt result to cli_opts_parse
 * before its own switch.  A bad value gets the same message from every
 * command ("PROG: invalid WHAT: 'VALUE'") and makes every command exit 2.
 */
#ifndef SLUICE_CLI_OPTIONS_H
#define SLUICE_CLI_OPTIONS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sluice/sluice.h"

/* The exit status of a bad value, in every command (docs/exit-codes.md). */
#define CLI_EXIT_BAD_VALUE 2

/* ------------------------------------------------------------ numbers */

/* What a number may end with: nothing (a count: -j, --max-depth), or one
 * of k, M, G, T in either case (a size: powers of 1024). */
typedef enum cli_number_kind {
    CLI_COUNT,
    CLI_SIZE,
} cli_number_kind;

/* The limits of the numbers more than one command takes. */
#define CLI_JOBS_MAX 65536                         /* -j */
#define CLI_CHUNK_MAX ((uint64_t)1 << 40)          /* --chunk-size: 1T */
#define CLI_MAX_LINE_MAX ((uint64_t)1 << 30)       /* --max-line: 1G */
#define CLI_WORKER_MEMORY_MIN ((uint64_t)16 << 20) /* --worker-memory: 16M */

/* Parses `arg`: decimal digits, then (CLI_SIZE) an optional suffix, a
 * value in [min, max].  Returns 0 with *out set, or -1 after printing
 * "PROG: invalid WHAT: 'ARG'". */
int cli_parse_number(const char *prog, const char *what, const char *arg,
                     cli_number_kind kind, uint64_t min, uint64_t max,
                     uint64_t *out);

/* ------------------------------------------------------------ options */

/* The groups of shared options; a command takes some of them. */
enum {
    CLI_OPTS_JOBS = 1u << 0,       /* -j/--jobs, --no-sandbox */
    CLI_OPTS_CHUNK = 1u << 1,      /* --chunk-size */
    CLI_OPTS_SUPERVISE = 1u << 2,  /* --timeout, --worker-memory */
    CLI_OPTS_JOBLOG = 1u << 3,     /* --joblog, --resume, --keep-going */
    CLI_OPTS_FILTER = 1u << 4,     /* --hidden, --no-ignore */
    CLI_OPTS_WALK = 1u << 5,       /* --follow, --include, --exclude,
                                      --max-depth */
    CLI_OPTS_ARCHIVES = 1u << 6,   /* --skip-binary, -z/--archives */
    CLI_OPTS_ARC_LIMITS = 1u << 7, /* --archive-max-bytes, -ratio, -entries */
    CLI_OPTS_PROGRESS = 1u << 8,   /* --progress, --no-progress */
};

/* getopt_long codes of the shared long options without a short letter;
 * a command's own codes stay below them. */
enum {
    CLI_OPT_NO_SANDBOX = 0x5100,
    CLI_OPT_CHUNK,
    CLI_OPT_TIMEOUT,
    CLI_OPT_WORKER_MEMORY,
    CLI_OPT_KEEP_GOING,
    CLI_OPT_JOBLOG,
    CLI_OPT_RESUME,
    CLI_OPT_HIDDEN,
    CLI_OPT_NO_IGNORE,
    CLI_OPT_FOLLOW,
    CLI_OPT_INCLUDE,
    CLI_OPT_EXCLUDE,
    CLI_OPT_MAX_DEPTH,
    CLI_OPT_SKIP_BINARY,
    CLI_OPT_ARCHIVES,
    CLI_OPT_ARC_BYTES,
    CLI_OPT_ARC_RATIO,
    CLI_OPT_ARC_ENTRIES,
    CLI_OPT_PROGRESS,
    CLI_OPT_NO_PROGRESS,
};

/* The table fragments, one per group (each ends without a comma). */
#define CLI_JOBS_OPTIONS                                                       \
    {"jobs", required_argument, NULL, 'j'},                                    \
    {                                                                          \
        "no-sandbox", no_argument, NULL, CLI_OPT_NO_SANDBOX                    \
    }
#define CLI_CHUNK_OPTIONS                                                      \
    {                                                                          \
        "chunk-size", required_argument, NULL, CLI_OPT_CHUNK                   \
    }
#define CLI_SUPERVISE_OPTIONS                                                  \
    {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},                     \
    {                                                                          \
        "worker-memory", required_argument, NULL, CLI_OPT_WORKER_MEMORY        \
    }
#define CLI_JOBLOG_OPTIONS                                                     \
    {"joblog", required_argument, NULL, CLI_OPT_JOBLOG},                       \
        {"resume", no_argument, NULL, CLI_OPT_RESUME},                         \
    {                                                                          \
        "keep-going", no_argument, NULL, CLI_OPT_KEEP_GOING                    \
    }
#define CLI_FILTER_OPTIONS                                                     \
    {"hidden", no_argument, NULL, CLI_OPT_HIDDEN},                             \
    {                                                                          \
        "no-ignore", no_argument, NULL, CLI_OPT_NO_IGNORE                      \
    }
#define CLI_WALK_OPTIONS                                                       \
    {"follow", no_argument, NULL, CLI_OPT_FOLLOW},                             \
        {"include", required_argument, NULL, CLI_OPT_INCLUDE},                 \
        {"exclude", required_argument, NULL, CLI_OPT_EXCLUDE},                 \
    {                                                                          \
        "max-depth", required_argument, NULL, CLI_OPT_MAX_DEPTH                \
    }
#define CLI_ARCHIVES_OPTIONS                                                   \
    {"skip-binary", no_argument, NULL, CLI_OPT_SKIP_BINARY},                   \
    {                                                                          \
        "archives", optional_argument, NULL, CLI_OPT_ARCHIVES                  \
    }
#define CLI_ARC_LIMITS_OPTIONS                                                 \
    {"archive-max-bytes", required_argument, NULL, CLI_OPT_ARC_BYTES},         \
        {"archive-max-ratio", required_argument, NULL, CLI_OPT_ARC_RATIO},     \
    {                                                                          \
        "archive-max-entries", required_argument, NULL, CLI_OPT_ARC_ENTRIES    \
    }
#define CLI_PROGRESS_OPTIONS                                                   \
    {"progress", no_argument, NULL, CLI_OPT_PROGRESS},                         \
    {                                                                          \
        "no-progress", no_argument, NULL, CLI_OPT_NO_PROGRESS                  \
    }

/* What the shared options set. */
typedef struct cli_opts {
    const char *prog;      /* "sluice wc": prefix of messages */
    unsigned groups;       /* CLI_OPTS_* the command takes */
    sluice_job_opts job;   /* jobs (-1: default), sandbox, chunk size,
                              supervision, skip_binary */
    unsigned add_flags;    /* SLUICE_ADD_* for sluice_job_add */
    sluice_walk_opts walk; /* --max-depth; include/exclude point at globs */
    sluice_archive_limits archive_limits; /* zero fields: the defaults */
    int progress_force;      /* -1 auto, 0 --no-progress, 1 --progress */
    const char *joblog_path; /* --joblog FILE, or NULL */
    int resume;              /* --resume */
    const char **globs[2];   /* --include, --exclude: NULL-terminated */
    size_t nglobs[2];
} cli_opts;

/* Sets the defaults: every job option default, SLUICE_ADD_WALK, no depth
 * limit, progress automatic. */
void cli_opts_init(cli_opts *o, const char *prog, unsigned groups);

/* Hands one getopt_long result (c, optarg) to the shared options.
 * Returns 1 when c was one of the command's groups' options (o updated),
 * 0 when it is the command's own, -1 after printing why its argument is
 * invalid (exit CLI_EXIT_BAD_VALUE). */
int cli_opts_parse(cli_opts *o, int c, const char *arg);

/* Gives the job the walk options and archive limits. */
void cli_opts_apply(const cli_opts *o, sluice_job *job);

/* Frees the glob lists. */
void cli_opts_free(cli_opts *o);

/* Prints the --help lines of `groups` on f, in the layout of GNU's help
 * (options from column 3, descriptions from column 26), and the line on
 * the numbers they take. */
void cli_opts_help(FILE *f, unsigned groups);

#endif /* SLUICE_CLI_OPTIONS_H */
