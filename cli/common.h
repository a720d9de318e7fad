/*
 * common.h -- what every `sluice` subcommand shares: the environment main.c
 * gives it, GNU-style messages, messages held back until their place in the
 * output, and plugin options set with a message on failure.
 */
#ifndef SLUICE_CLI_COMMON_H
#define SLUICE_CLI_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sluice/sluice.h"

/* What main.c tells a subcommand. */
typedef struct cli_env {
    const char *prog;     /* "sluice": prefix of messages ("sluice wc: ...") */
    const char *version;  /* SLUICE_VERSION */
    const char *self_exe; /* path of the running binary (for plugin lookup) */
} cli_env;

/* A subcommand's entry point.  argv[0] is the subcommand's display name
 * ("sluice wc"), used as the program name in getopt's messages; argv is
 * NULL-terminated and may be permuted.  Returns the exit status. */
typedef int cli_main_fn(int argc, char **argv, const cli_env *env);

/* Prints "PROG: MESSAGE[: strerror(errnum)]" on stderr, like GNU error(). */
void cli_message(const char *prog, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cli_vmessage(const char *prog, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Messages about operands that never reach the engine (GNU checks them in
 * operand order), each printed just before engine input `before` is
 * reported, so stderr reads in operand order. */
typedef struct cli_note {
    uint32_t before; /* engine inputs added before this operand */
    char *text;      /* the message, without "PROG: " and newline */
} cli_note;

typedef struct cli_notes {
    cli_note *v;
    size_t n, next, cap;
} cli_notes;

/* Queues a note; 0, or -1 when out of memory. */
int cli_notes_add(cli_notes *q, uint32_t before, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The next note due before input `upto` is reported (UINT32_MAX: all), or
 * NULL; each is returned once. */
const char *cli_notes_next(cli_notes *q, uint32_t upto);
void cli_notes_free(cli_notes *q);

/* Sets plugin option key=value; on failure prints why and returns < 0. */
int cli_set_plugin_option(const char *prog, sluice_plugin_handle *h,
                          const char *key, const char *value);

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

/* Supervision options (docs/engine.md, "Failures"): --timeout=SECONDS or
 * none, --worker-memory=SIZE or none, and for aggregating commands
 * --keep-going.  Add the entries to a getopt_long table, and hand each
 * getopt result to cli_supervise_option first. */
enum {
    CLI_OPT_TIMEOUT = 0x5100,
    CLI_OPT_WORKER_MEMORY,
    CLI_OPT_KEEP_GOING,
    CLI_OPT_JOBLOG,
    CLI_OPT_RESUME,
};
#define CLI_SUPERVISE_OPTIONS                                                  \
    {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},                     \
    {                                                                          \
        "worker-memory", required_argument, NULL, CLI_OPT_WORKER_MEMORY        \
    }
#define CLI_KEEP_GOING_OPTION                                                  \
    {                                                                          \
        "keep-going", no_argument, NULL, CLI_OPT_KEEP_GOING                    \
    }
#define CLI_JOBLOG_OPTION                                                      \
    {"joblog", required_argument, NULL, CLI_OPT_JOBLOG},                       \
    {                                                                          \
        "resume", no_argument, NULL, CLI_OPT_RESUME                            \
    }
/* Their --help lines, for the aggregating commands (wc, run). */
#define CLI_SUPERVISE_HELP                                                     \
    "      --timeout=SECONDS  kill a worker whose unit runs longer "           \
    "(default:\n"                                                              \
    "                           automatic; none: never)\n"                     \
    "      --worker-memory=SIZE  address-space limit of each worker\n"         \
    "      --joblog=FILE      a line per finished unit: input, offset, "       \
    "bytes,\n"                                                                 \
    "                           worker, attempts, result\n"                    \
    "      --resume           skip the units the --joblog FILE holds as "      \
    "done\n"                                                                   \
    "                           (a job stopped, killed or failed)\n"           \
    "      --keep-going       report a unit that kills its worker twice "      \
    "and\n"                                                                    \
    "                           count the rest (exit status 5)\n"
/* Returns 1 when getopt result c was one of them (opts updated), 0 when
 * not, -1 after printing why its argument is invalid. */
int cli_supervise_option(const char *prog, int c, const char *arg,
                         sluice_job_opts *opts);

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

#endif /* SLUICE_CLI_COMMON_H */
