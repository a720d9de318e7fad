/*
 * common.c -- messages, "Try --help", the --help output check and plugin
 * options, shared by the subcommands (see common.h).
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_vmessage(const char *prog, int errnum, const char *fmt, va_list ap)
{
    if (cli_signal_caught())
        return; /* the process is about to end by the signal */
    cli_progress_clear();
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    if (errnum)
        fprintf(stderr, ": %s", strerror(errnum));
    fputc('\n', stderr);
}

void cli_message(const char *prog, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vmessage(prog, errnum, fmt, ap);
    va_end(ap);
}

void cli_try_help_quoted(const char *prog, cli_help_quotes q)
{
    const char *open = q == CLI_QUOTES_GZIP ? "`" : "'";
    fprintf(stderr, "Try %s%s --help' for more information.\n", open, prog);
}

void cli_try_help(const char *prog)
{
    cli_try_help_quoted(prog, CLI_QUOTES_GNU);
}

int cli_flush_stdout(const char *prog)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    cli_message(prog, errno, "write error");
    return -1;
}

int cli_notes_add(cli_notes *q, uint32_t before, const char *fmt, ...)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        cli_note *p = realloc(q->v, cap * sizeof *p);
        if (!p)
            return -1;
        q->v = p;
        q->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&q->v[q->n].text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    q->v[q->n++].before = before;
    return 0;
}

const char *cli_notes_next(cli_notes *q, uint32_t upto)
{
    if (q->next < q->n && q->v[q->next].before <= upto)
        return q->v[q->next++].text;
    return NULL;
}

void cli_notes_free(cli_notes *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i].text);
    free(q->v);
    memset(q, 0, sizeof *q);
}

int cli_set_plugin_option(const char *prog, sluice_plugin_handle *h,
                          const char *key, const char *value)
{
    char err[512] = "";
    int rc = sluice_plugin_set_option(h, key, value, err, sizeof err);
    if (rc < 0)
        cli_message(prog, 0, "%s", err[0] ? err : sluice_strerror(rc));
    return rc;
}
