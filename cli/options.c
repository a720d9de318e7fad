/*
 * options.c -- the options every command shares and the one parser of
 * the numbers options take (see options.h).  The grammar and the limits
 * are documented once, in docs/options.md; a change here changes every
 * command's and must change that page.
 */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "quote.h"

/* ------------------------------------------------------------ numbers */

int cli_parse_number(const char *prog, const char *what, const char *arg,
                     cli_number_kind kind, uint64_t min, uint64_t max,
                     uint64_t *out)
{
    /* Digits first: strtoull would take a sign or leading blanks. */
    if (*arg >= '0' && *arg <= '9') {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 10);
        unsigned shift = 0;
        if (kind == CLI_SIZE && *end) {
            const char *p = strchr("kKmMgGtT", *end);
            if (p)
                shift = 10 * (unsigned)((p - "kKmMgGtT") / 2 + 1), end++;
        }
        if (!errno && !*end && v <= (UINT64_MAX >> shift)) {
            uint64_t n = (uint64_t)v << shift;
            if (n >= min && n <= max) {
                *out = n;
                return 0;
            }
        }
    }
    cli_message(prog, 0, "invalid %s: %s", what, quote(arg));
    return -1;
}

/* ------------------------------------------------------------ options */

void cli_opts_init(cli_opts *o, const char *prog, unsigned groups)
{
    memset(o, 0, sizeof *o);
    o->prog = prog;
    o->groups = groups;
    o->job.jobs = -1;
    o->add_flags = SLUICE_ADD_WALK;
    o->walk.max_depth = -1;
    o->progress_force = -1;
}

/* The group an option belongs to, or 0 for a command's own. */
static unsigned group_of(int c)
{
    switch (c) {
    case 'j':
    case CLI_OPT_NO_SANDBOX:
        return CLI_OPTS_JOBS;
    case CLI_OPT_CHUNK:
        return CLI_OPTS_CHUNK;
    case CLI_OPT_TIMEOUT:
    case CLI_OPT_WORKER_MEMORY:
        return CLI_OPTS_SUPERVISE;
    case CLI_OPT_JOBLOG:
    case CLI_OPT_RESUME:
    case CLI_OPT_KEEP_GOING:
        return CLI_OPTS_JOBLOG;
    case CLI_OPT_HIDDEN:
    case CLI_OPT_NO_IGNORE:
        return CLI_OPTS_FILTER;
    case CLI_OPT_FOLLOW:
    case CLI_OPT_INCLUDE:
    case CLI_OPT_EXCLUDE:
    case CLI_OPT_MAX_DEPTH:
        return CLI_OPTS_WALK;
    case 'z':
    case CLI_OPT_SKIP_BINARY:
    case CLI_OPT_ARCHIVES:
        return CLI_OPTS_ARCHIVES;
    case CLI_OPT_ARC_BYTES:
    case CLI_OPT_ARC_RATIO:
    case CLI_OPT_ARC_ENTRIES:
        return CLI_OPTS_ARC_LIMITS;
    case CLI_OPT_PROGRESS:
    case CLI_OPT_NO_PROGRESS:
        return CLI_OPTS_PROGRESS;
    default:
        return 0;
    }
}

/* --timeout=SECONDS or none. */
static int parse_timeout(cli_opts *o, const char *arg)
{
    if (!strcmp(arg, "none")) {
        o->job.unit_timeout = -1;
        return 1;
    }
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v <= 0 || v > 1e9) {
        cli_message(o->prog, 0, "invalid timeout: %s (seconds > 0, or none)",
                    quote(arg));
        return -1;
    }
    o->job.unit_timeout = v;
    return 1;
}

/* -z and --archives[=top|nested]. */
static int parse_archives(cli_opts *o, const char *arg)
{
    o->add_flags |= SLUICE_ADD_ARCHIVES;
    if (arg && !strcmp(arg, "nested")) {
        o->add_flags |= SLUICE_ADD_NESTED;
    } else if (arg && strcmp(arg, "top") != 0) {
        cli_message(o->prog, 0, "invalid argument %s for %s", quote(arg),
                    quote("--archives"));
        fputs("Valid arguments are:\n  - 'top'\n  - 'nested'\n", stderr);
        cli_try_help(o->prog);
        return -1;
    }
    return 1;
}

static int add_glob(cli_opts *o, int k, const char *glob)
{
    const char **g = realloc(o->globs[k], (o->nglobs[k] + 2) * sizeof *g);
    if (!g) {
        cli_message(o->prog, ENOMEM, "%s", glob);
        return -1;
    }
    g[o->nglobs[k]++] = glob;
    g[o->nglobs[k]] = NULL;
    o->globs[k] = g;
    return 1;
}

int cli_opts_parse(cli_opts *o, int c, const char *arg)
{
    unsigned g = group_of(c);
    if (!(g & o->groups))
        return 0;
    uint64_t v;
    switch (c) {
    case 'j':
        if (cli_parse_number(o->prog, "number of jobs", arg, CLI_COUNT, 0,
                             CLI_JOBS_MAX, &v) < 0)
            return -1;
        o->job.jobs = (int)v;
        return 1;
    case CLI_OPT_NO_SANDBOX:
        o->job.no_sandbox = 1;
        return 1;
    case CLI_OPT_CHUNK:
        if (cli_parse_number(o->prog, "chunk size", arg, CLI_SIZE, 1,
                             CLI_CHUNK_MAX, &v) < 0)
            return -1;
        o->job.chunk_size = (size_t)v;
        return 1;
    case CLI_OPT_TIMEOUT:
        return parse_timeout(o, arg);
    case CLI_OPT_WORKER_MEMORY:
        if (!strcmp(arg, "none")) {
            o->job.worker_memory = 0;
            return 1;
        }
        if (cli_parse_number(o->prog, "worker memory", arg, CLI_SIZE,
                             CLI_WORKER_MEMORY_MIN, UINT64_MAX, &v) < 0)
            return -1;
        o->job.worker_memory = v;
        return 1;
    case CLI_OPT_JOBLOG:
        o->joblog_path = arg;
        return 1;
    case CLI_OPT_RESUME:
        o->resume = 1;
        return 1;
    case CLI_OPT_KEEP_GOING:
        o->job.keep_going = 1;
        return 1;
    case CLI_OPT_HIDDEN:
        o->add_flags |= SLUICE_ADD_HIDDEN;
        return 1;
    case CLI_OPT_NO_IGNORE:
        o->add_flags |= SLUICE_ADD_NO_IGNORE;
        return 1;
    case CLI_OPT_FOLLOW:
        o->add_flags |= SLUICE_ADD_FOLLOW;
        return 1;
    case CLI_OPT_INCLUDE:
    case CLI_OPT_EXCLUDE:
        return add_glob(o, c == CLI_OPT_EXCLUDE, arg);
    case CLI_OPT_MAX_DEPTH:
        if (cli_parse_number(o->prog, "maximum depth", arg, CLI_COUNT, 0,
                             INT32_MAX, &v) < 0)
            return -1;
        o->walk.max_depth = (int)v;
        return 1;
    case CLI_OPT_SKIP_BINARY:
        o->job.skip_binary = 1;
        return 1;
    case 'z':
        o->add_flags |= SLUICE_ADD_ARCHIVES;
        return 1;
    case CLI_OPT_ARCHIVES:
        return parse_archives(o, arg);
    case CLI_OPT_ARC_BYTES:
    case CLI_OPT_ARC_RATIO:
    case CLI_OPT_ARC_ENTRIES:
        if (cli_parse_number(o->prog, "archive limit", arg, CLI_SIZE, 1,
                             UINT64_MAX, &v) < 0)
            return -1;
        if (c == CLI_OPT_ARC_BYTES)
            o->archive_limits.max_bytes = v;
        else if (c == CLI_OPT_ARC_RATIO)
            o->archive_limits.max_ratio = v;
        else
            o->archive_limits.max_entries = v;
        return 1;
    case CLI_OPT_PROGRESS:
        o->progress_force = 1;
        return 1;
    case CLI_OPT_NO_PROGRESS:
        o->progress_force = 0;
        return 1;
    default:
        return 0; /* not reached: group_of knows every code above */
    }
}

void cli_opts_apply(const cli_opts *o, sluice_job *job)
{
    sluice_walk_opts walk = o->walk;
    walk.include = o->globs[0];
    walk.exclude = o->globs[1];
    sluice_job_walk_opts(job, &walk);
    sluice_job_archive_limits(job, &o->archive_limits);
}

void cli_opts_free(cli_opts *o)
{
    free(o->globs[0]);
    free(o->globs[1]);
    o->globs[0] = o->globs[1] = NULL;
    o->nglobs[0] = o->nglobs[1] = 0;
}

/* --------------------------------------------------------------- help */

static const struct {
    unsigned group;
    const char *text;
} help[] = {
    {CLI_OPTS_JOBS,
     "  -j, --jobs=N           worker processes (default: the number of "
     "online CPUs;\n"
     "                           0: work in this process)\n"
     "      --no-sandbox       run the workers without the seccomp sandbox\n"},
    {CLI_OPTS_CHUNK,
     "      --chunk-size=SIZE  bytes per unit of work for a large file\n"},
    {CLI_OPTS_SUPERVISE,
     "      --timeout=SECONDS  kill a worker whose unit runs longer "
     "(default:\n"
     "                           automatic; none: never)\n"
     "      --worker-memory=SIZE  address-space limit of each worker "
     "(16M or\n"
     "                           more; none: no limit)\n"},
    {CLI_OPTS_JOBLOG,
     "      --joblog=FILE      a line per finished unit: input, offset, "
     "bytes,\n"
     "                           worker, attempts, result\n"
     "      --resume           skip the units the --joblog FILE holds as "
     "done\n"
     "                           (a job stopped, killed or failed)\n"
     "      --keep-going       report a unit that kills its worker twice "
     "and\n"
     "                           count the rest (exit status 5)\n"},
    {CLI_OPTS_FILTER,
     "      --hidden           walk hidden files and directories too\n"
     "      --no-ignore        walk files that ignore files exclude\n"},
    {CLI_OPTS_WALK,
     "      --follow           follow symbolic links met in a walk\n"
     "      --include=GLOB     walk only files whose name (or path below "
     "the\n"
     "                           directory, for a GLOB with '/') matches "
     "GLOB;\n"
     "                           may be given more than once\n"
     "      --exclude=GLOB     leave out files and directories that match "
     "GLOB\n"
     "      --max-depth=N      walk at most N levels below a directory "
     "operand\n"},
    {CLI_OPTS_ARCHIVES,
     "      --skip-binary      leave out files with a NUL byte in their "
     "first 8 KiB\n"
     "  -z, --archives[=nested]  read archives (tar, tar.gz, zip, 7z, ...) "
     "and\n"
     "                           compressed files as directories: one "
     "input per\n"
     "                           member, ARCHIVE:member; nested: archives "
     "in\n"
     "                           archives too\n"},
    {CLI_OPTS_ARC_LIMITS,
     "      --archive-max-bytes=SIZE, --archive-max-ratio=N,\n"
     "      --archive-max-entries=N  limits per archive (1T, 1000, "
     "1000000)\n"},
    {CLI_OPTS_PROGRESS,
     "      --progress, --no-progress  show (or never show) a progress line "
     "on\n"
     "                           stderr; by default shown when stderr is "
     "a\n"
     "                           terminal and the work takes more than a "
     "second\n"},
};

void cli_opts_help(FILE *f, unsigned groups)
{
    for (size_t i = 0; i < sizeof help / sizeof help[0]; i++)
        if (help[i].group & groups)
            fputs(help[i].text, f);
    if (groups & (CLI_OPTS_JOBS | CLI_OPTS_CHUNK | CLI_OPTS_SUPERVISE |
                  CLI_OPTS_WALK | CLI_OPTS_ARC_LIMITS))
        fputs("N is a decimal number; SIZE too, with an optional suffix k, M, "
              "G or T\n"
              "(powers of 1024).\n",
              f);
    if (groups & CLI_OPTS_ARC_LIMITS)
        fputs("The archive limits take the suffixes too (1k entries).\n", f);
}
