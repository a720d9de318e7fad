/*
 * common.h -- what every `sluice` subcommand shares: the environment main.c
 * gives it, GNU-style messages, messages held back until their place in the
 * output, the "Try --help" line, the check that --help's output was
 * written, and plugin options set with a message on failure.  It includes
 * the headers of the other shared pieces, each in its own file: the shared
 * options (options.h), stdout (output.h), the progress line (progress.h),
 * the job log (joblog.h) and signals (signals.h).
 */
#ifndef SLUICE_CLI_COMMON_H
#define SLUICE_CLI_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "joblog.h"
#include "options.h"
#include "output.h"
#include "progress.h"
#include "signals.h"
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

/* How a command words its "Try --help" line: GNU coreutils' quotes, or
 * gzip's (gzip 1.12: a backquote). */
typedef enum cli_help_quotes {
    CLI_QUOTES_GNU,
    CLI_QUOTES_GZIP,
} cli_help_quotes;

/* Prints "Try 'PROG --help' for more information." on stderr. */
void cli_try_help(const char *prog);
void cli_try_help_quoted(const char *prog, cli_help_quotes q);

/* After --help or --version (like gnulib's close_stdout): flushes stdout;
 * 0, or -1 after printing "PROG: write error: strerror" when it could not
 * be written. */
int cli_flush_stdout(const char *prog);

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

#endif /* SLUICE_CLI_COMMON_H */
