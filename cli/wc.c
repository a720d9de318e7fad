/*
 * wc.c -- `sluice wc`: GNU wc's interface and output; the engine counts.
 *
 * The counting is the wc plugin's (GNU coreutils 9.5+ rules); this file
 * owns everything the user sees, and it must be byte-identical to GNU wc
 * (src/wc.c of coreutils 9.5+), apart from the program name in messages
 * ("sluice wc: ...") and the extensions below.  What that takes:
 *
 *  - Column width, fixed before anything is read (GNU's get_input_fstatus
 *    and compute_number_width): 1 when one input is counted for one number,
 *    when --total=only, and when names come from a --files0-from stream
 *    that is not a regular file (GNU reads those one at a time and cannot
 *    know the sizes); otherwise the digits of the sum of the regular inputs'
 *    st_size, at least 7 if any input is not a regular file.  Inputs whose
 *    stat failed count for nothing.
 *  - Lines in input order, each "%*s" numbers joined by single spaces, in
 *    the order lines, words, chars, bytes, max line length, then " NAME"
 *    (quoted as quotef does only when NAME contains a newline; no name for
 *    standard input read without an operand).
 *  - Errors as GNU's error(): stdout flushed first, "sluice wc: NAME: what"
 *    on stderr, NAME through quotef ("standard input" when unnamed).  A file
 *    that could not be opened gets no counts line; one that failed while
 *    being read gets its counts so far and then the error, like GNU.
 *  - The total line: --total=auto prints it when more than one name was
 *    processed, "always"/"only" always (only: without the name "total"
 *    and without the per-file lines), "never" never.
 *  - Exit status as GNU's: 0, or 1 if any input failed, on a usage error
 *    or when stdout cannot be written.  sluice's own failures use the
 *    codes of docs/exit-codes.md: 2 for its options and the plugin, 5 when
 *    the job fails (3 when the engine's output fails).
 *
 * Extensions: a directory operand is walked by the engine and each file in
 * it is an input of its own (sorted order; hidden and ignored files are
 * left out unless --hidden, --no-ignore; symbolic links are followed only
 * with --follow, which has no short option since -L is GNU's); the counts,
 * widths and the total treat those files exactly as if they had been named
 * one by one.
 * -j/--jobs, --chunk-size and the hidden --simd tune the engine and plugin.
 *
 * Output goes through one buffer written with write(2) on whole lines (a
 * line per write when stdout is a terminal), so lines are never split and
 * stderr messages land between the right lines.
 */
#include "wc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quote.h"
#include "report.h"
#include "sluice/sluice.h"

/* ------------------------------------------------------------- counts */

/* In GNU wc's column order. */
enum { C_LINES, C_WORDS, C_CHARS, C_BYTES, C_MAXLINE, N_COUNTS };

/* The plugin's counter names, in the same order. */
static const char *const counter_names[N_COUNTS] = {
    "lines", "words", "chars", "bytes", "maxline",
};

/* Messages GNU wc prints for an overflowing total. */
static const char *const total_overflow_names[N_COUNTS] = {
    "total lines", "total words", "total characters", "total bytes", NULL,
};

typedef enum total_mode {
    TOTAL_AUTO,
    TOTAL_ALWAYS,
    TOTAL_ONLY,
    TOTAL_NEVER,
} total_mode;

static const char *const total_args[] = {"auto", "always", "only", "never",
                                         NULL};

/* One input's result, kept until the column width is known. */
typedef struct held_input {
    uint32_t index;
    void *partial; /* a copy, or NULL */
    int errnum;
    uint64_t offset;
    char *message; /* a copy, or NULL */
} held_input;

typedef struct wc_state {
    const char *prog;     /* "sluice wc" */
    bool print[N_COUNTS]; /* which counts to print */
    bool chars_are_bytes; /* unibyte locale: -m prints the bytes */
    total_mode total;     /* --total */
    int width;            /* of every number */
    bool implicit_stdin;  /* the only input is stdin, unnamed */
    bool ok;              /* no input failed so far */
    bool poisoned;        /* --keep-going skipped a poisoned unit */
    FILE *joblog;         /* --joblog, or NULL */
    const char *joblog_path;
    int resume; /* --resume */

    const sluice_plugin *plugin;
    int counter_index[N_COUNTS]; /* in the plugin's counters, or -1 */
    uint64_t *counters;          /* plugin->n_counters values */
    void *identity;              /* an empty input's partial */

    uint64_t sum[N_COUNTS]; /* totals (C_MAXLINE: the maximum) */
    bool overflow[N_COUNTS];

    cli_notes skips; /* names refused before the engine saw them */

    cli_out out; /* stdout: flushed every line when a terminal */
    char *line;  /* one formatted line */
    size_t line_cap;

    report rep;            /* --json, --csv, --summary, --by */
    int rep_col[N_COUNTS]; /* counts in the report's columns */
    const char *rep_names[N_COUNTS];
    bool rep_max[N_COUNTS];
    cli_progress progress;

    sluice_job *job;
    bool width_known;  /* every input is known: width is set */
    bool names_stream; /* names come from a stream (--files0-from=-) */
    int n_printed;     /* counts printed per line */
    held_input *held;  /* results waiting for the width */
    size_t nheld, held_cap;
} wc_state;

#define OUT_CAP (64 * 1024)

/* docs/exit-codes.md.  Where GNU wc has an answer (its usage errors, a
 * failed input, a write error) the code is GNU's 1. */
enum {
    EXIT_CONFIG = 2, /* sluice's own options, the plugin, the job setup */
    EXIT_OUTPUT = 3, /* the engine could not deliver output */
    EXIT_JOB = 5,    /* the job failed: poisoned unit, dead workers, ... */
};

/* ------------------------------------------------------------- output */

static void out_write(wc_state *s, const char *data, size_t len)
{
    cli_out_write(&s->out, data, len);
}

/* Prints "PROG: MESSAGE[: strerror(errnum)]" on stderr, after the output
 * so far, like GNU's error(). */
__attribute__((format(printf, 3, 4))) static void
wc_error(wc_state *s, int errnum, const char *fmt, ...)
{
    cli_out_flush(&s->out);
    va_list ap;
    va_start(ap, fmt);
    cli_vmessage(s->prog, errnum, fmt, ap);
    va_end(ap);
}

/* Appends to s->line at *len, growing it; false when out of memory. */
static bool line_add(wc_state *s, size_t *len, const char *text, size_t n)
{
    if (*len + n + 1 > s->line_cap) {
        size_t cap = s->line_cap ? s->line_cap : 256;
        while (cap < *len + n + 1)
            cap *= 2;
        char *p = realloc(s->line, cap);
        if (!p)
            return false;
        s->line = p;
        s->line_cap = cap;
    }
    memcpy(s->line + *len, text, n);
    *len += n;
    return true;
}

/* GNU's write_counts: the selected numbers, then the name if any. */
static void write_counts(wc_state *s, const uint64_t *v, const char *name)
{
    size_t len = 0;
    bool first = true;
    for (int k = 0; k < N_COUNTS; k++) {
        if (!s->print[k])
            continue;
        char num[48];
        int n = snprintf(num, sizeof num, "%s%*" PRIu64, first ? "" : " ",
                         s->width, v[k]);
        if (!line_add(s, &len, num, (size_t)n))
            goto nomem;
        first = false;
    }
    if (name) {
        const char *shown = strchr(name, '\n') ? quotef(name) : name;
        if (!line_add(s, &len, " ", 1) ||
            !line_add(s, &len, shown, strlen(shown)))
            goto nomem;
    }
    if (!line_add(s, &len, "\n", 1))
        goto nomem;
    out_write(s, s->line, len);
    return;
nomem:
    wc_error(s, ENOMEM, "%s", name ? quotef(name) : "total");
    s->ok = false;
}

/* ----------------------------------------------------------- results */

static void add_to_total(wc_state *s, const uint64_t *v)
{
    for (int k = 0; k < C_MAXLINE; k++) {
        if (s->sum[k] + v[k] < s->sum[k])
            s->overflow[k] = true;
        s->sum[k] += v[k];
    }
    if (v[C_MAXLINE] > s->sum[C_MAXLINE])
        s->sum[C_MAXLINE] = v[C_MAXLINE];
}

/* Prints the messages of skipped names that come before input `upto`. */
static void flush_skips(wc_state *s, uint32_t upto)
{
    const char *m;
    while ((m = cli_notes_next(&s->skips, upto)) != NULL) {
        wc_error(s, 0, "%s", m);
        s->ok = false;
    }
}

static void show_input(wc_state *s, const sluice_input *in, const void *partial,
                       int errnum, uint64_t offset, const char *message)
{
    flush_skips(s, in->operand);
    if (errnum == SLUICE_ESKIPPED)
        return; /* --skip-binary: as if it were not there */

    const char *name = s->implicit_stdin ? NULL : in->path;
    /* errnum -1 (and other engine codes): the message says why. */
    int e = errnum > 0 ? errnum : errnum == 0 ? in->err : 0;
    bool failed = errnum != 0 || in->err != 0 || message != NULL;
    /* GNU never opens stdin: whatever fails there fails as a read. */
    bool is_stdin = strcmp(in->path, "-") == 0;

    /* GNU prints no counts for a file it could not open (the engine then
     * gives no partial); for one that failed while being read, the counts
     * of what it read. */
    bool open_failed = failed && !is_stdin && !partial;

    if (!open_failed) {
        uint64_t v[N_COUNTS] = {0};
        if (!partial) /* nothing was read */
            partial = s->identity;
        sluice_job_counters(s->job, partial, s->counters);
        for (int k = 0; k < N_COUNTS; k++)
            if (s->counter_index[k] >= 0)
                v[k] = s->counters[s->counter_index[k]];
        if (s->chars_are_bytes)
            v[C_CHARS] = v[C_BYTES];
        uint64_t cv[N_COUNTS];
        for (int c = 0; c < s->rep.ncols; c++)
            cv[c] = v[s->rep_col[c]];
        cli_progress_clear();
        if (!report_row(&s->rep, name ? name : "-", cv) &&
            s->total != TOTAL_ONLY)
            write_counts(s, v, name);
        add_to_total(s, v);
    }
    if (!failed)
        return;

    s->ok = false;
    if (errnum == SLUICE_EWORKER)
        s->poisoned = true;
    const char *shown = quotef(name ? name : "standard input");
    if (e)
        wc_error(s, e, "%s", shown);
    else if (offset != UINT64_MAX)
        wc_error(s, 0, "%s: offset %" PRIu64 ": %s", shown, offset,
                 message && *message ? message : "failed");
    else
        wc_error(s, 0, "%s: %s", shown,
                 message && *message ? message : "failed");
}

static int number_width(const wc_state *s, const sluice_job *job, size_t n_rows,
                        bool stream, int n_printed);

/* GNU lays out columns by the sizes of every input, so while a walk or an
 * archive is still giving inputs the results wait here. */
static int hold_input(wc_state *s, uint32_t index, const void *partial,
                      int errnum, uint64_t offset, const char *message)
{
    if (s->nheld == s->held_cap) {
        size_t ncap = s->held_cap ? s->held_cap * 2 : 256;
        held_input *p = realloc(s->held, ncap * sizeof *p);
        if (!p)
            return -1;
        s->held = p;
        s->held_cap = ncap;
    }
    held_input *h = &s->held[s->nheld];
    memset(h, 0, sizeof *h);
    h->index = index;
    h->errnum = errnum;
    h->offset = offset;
    if (partial) {
        size_t n = s->plugin->partial_size;
        if (!(h->partial = malloc(n ? n : 1)))
            return -1;
        memcpy(h->partial, partial, n);
    }
    if (message && !(h->message = strdup(message))) {
        free(h->partial);
        return -1;
    }
    s->nheld++;
    return 0;
}

/* Every input is known: the widths follow, and what waited is shown. */
static void fix_width(wc_state *s)
{
    size_t n_rows = sluice_job_inputs(s->job) + s->skips.n;
    s->width = number_width(s, s->job, n_rows, s->names_stream, s->n_printed);
    s->width_known = true;
    for (size_t i = 0; i < s->nheld; i++) {
        held_input *h = &s->held[i];
        show_input(s, sluice_job_input(s->job, h->index), h->partial, h->errnum,
                   h->offset, h->message);
        free(h->partial);
        free(h->message);
    }
    free(s->held);
    s->held = NULL;
    s->nheld = s->held_cap = 0;
}

static void on_input(void *user, uint32_t index, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    wc_state *s = user;
    if (!s->width_known && !sluice_job_inputs_final(s->job) &&
        hold_input(s, index, partial, errnum, offset, message) == 0)
        return;
    if (!s->width_known)
        fix_width(s);
    show_input(s, in, partial, errnum, offset, message);
}

/* report.c's output: wc's buffered stdout; its text rows: wc's lines. */
static void rep_write(void *arg, const char *p, size_t n)
{
    out_write(arg, p, n);
}

static void rep_text(void *arg, const uint64_t *cv, const char *name)
{
    wc_state *s = arg;
    uint64_t v[N_COUNTS] = {0};
    for (int c = 0; c < s->rep.ncols; c++)
        v[s->rep_col[c]] = cv[c];
    write_counts(s, v, *name ? name : "(none)"); /* no extension */
}

static void on_unit(void *user, const sluice_unit_done *u)
{
    wc_state *s = user;
    cli_joblog_unit(s->joblog, u);
}

static void on_progress(void *user, const sluice_progress *p)
{
    wc_state *s = user;
    cli_progress_update(&s->progress, p);
}

static int on_output(void *user, uint32_t input, const void *data, size_t len)
{
    (void)input;
    /* The wc plugin writes no ordered output; pass any through. */
    out_write(user, data, len);
    return 0;
}

/* ------------------------------------------------------------ options */

enum {
    OPT_DEBUG = 256,
    OPT_FILES0,
    OPT_TOTAL,
    OPT_SIMD,
    OPT_HELP,
    OPT_VERSION,
    OPT_JSON,
    OPT_CSV,
    OPT_SUMMARY,
    OPT_BY,
};

/* The shared options wc takes (options.h). */
#define WC_GROUPS                                                              \
    (CLI_OPTS_JOBS | CLI_OPTS_CHUNK | CLI_OPTS_SUPERVISE | CLI_OPTS_JOBLOG |   \
     CLI_OPTS_FILTER | CLI_OPTS_WALK | CLI_OPTS_ARCHIVES |                     \
     CLI_OPTS_ARC_LIMITS | CLI_OPTS_PROGRESS)

static const struct option long_options[] = {
    {"bytes", no_argument, NULL, 'c'},
    {"chars", no_argument, NULL, 'm'},
    {"lines", no_argument, NULL, 'l'},
    {"words", no_argument, NULL, 'w'},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"files0-from", required_argument, NULL, OPT_FILES0},
    {"max-line-length", no_argument, NULL, 'L'},
    {"total", required_argument, NULL, OPT_TOTAL},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    /* sluice's own */
    {"simd", required_argument, NULL, OPT_SIMD},
    {"json", no_argument, NULL, OPT_JSON},
    {"csv", no_argument, NULL, OPT_CSV},
    {"summary", no_argument, NULL, OPT_SUMMARY},
    {"by", required_argument, NULL, OPT_BY},
    CLI_JOBS_OPTIONS,
    CLI_CHUNK_OPTIONS,
    CLI_SUPERVISE_OPTIONS,
    CLI_JOBLOG_OPTIONS,
    CLI_FILTER_OPTIONS,
    CLI_WALK_OPTIONS,
    CLI_ARCHIVES_OPTIONS,
    CLI_ARC_LIMITS_OPTIONS,
    CLI_PROGRESS_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* GNU wc's long options: the first ten entries above. */
#define N_GNU_OPTIONS 10

/* Arguments rewritten by expand_gnu_abbrevs, freed at exit. */
typedef struct arg_rewrites {
    char **p;
    size_t n;
} arg_rewrites;

static const struct option *find_long(const char *name, size_t len,
                                      size_t n_opts, int *matches)
{
    const struct option *found = NULL;
    *matches = 0;
    for (size_t i = 0; i < n_opts; i++) {
        if (strncmp(long_options[i].name, name, len) != 0)
            continue;
        if (strlen(long_options[i].name) == len) {
            *matches = 1;
            return &long_options[i];
        }
        found = &long_options[i];
        (*matches)++;
    }
    return found;
}

/* An abbreviation that is unique among GNU wc's options ("--c" for
 * --chars) must not become ambiguous because of sluice's own options
 * (--chunk-size): spell such abbreviations out before getopt sees them. */
static int expand_gnu_abbrevs(int argc, char **argv, arg_rewrites *rw)
{
    size_t n_all = sizeof long_options / sizeof long_options[0] - 1;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (a[0] != '-' || a[1] == '\0')
            continue;
        if (a[1] != '-') {
            const char *j = strchr(a + 1, 'j');
            if (j && j[1] == '\0')
                i++; /* -j's argument is the next word */
            continue;
        }
        const char *name = a + 2;
        size_t len = strcspn(name, "=");
        int all, gnu;
        const struct option *o = find_long(name, len, n_all, &all);
        const struct option *g = find_long(name, len, N_GNU_OPTIONS, &gnu);
        if (all > 1 && gnu == 1) {
            size_t tail = strlen(name + len);
            char *p = malloc(2 + strlen(g->name) + tail + 1);
            char **grown = realloc(rw->p, (rw->n + 1) * sizeof *grown);
            if (!p || !grown) {
                free(p);
                if (grown)
                    rw->p = grown;
                return -1;
            }
            rw->p = grown;
            rw->p[rw->n++] = p;
            sprintf(p, "--%s%s", g->name, name + len);
            argv[i] = p;
            o = g;
            all = 1;
        }
        if (all == 1 && o->has_arg == required_argument && name[len] != '=')
            i++;
    }
    return 0;
}

/* gnulib's argmatch: exact match, else a unique prefix; -1 invalid, -2
 * ambiguous. */
static int argmatch(const char *arg, const char *const *list)
{
    size_t len = strlen(arg);
    int found = -1;
    bool ambiguous = false;
    for (int i = 0; list[i]; i++) {
        if (strncmp(list[i], arg, len) != 0)
            continue;
        if (strlen(list[i]) == len)
            return i;
        if (found < 0)
            found = i;
        else
            ambiguous = true;
    }
    return ambiguous ? -2 : found;
}

static void usage(const char *prog)
{
    printf("Usage: %s [OPTION]... [FILE]...\n"
           "  or:  %s [OPTION]... --files0-from=F\n",
           prog, prog);
    fputs("Print newline, word, and byte counts for each FILE, and a total "
          "line if\n"
          "more than one FILE is specified.  A word is a nonempty sequence "
          "of non white\n"
          "space delimited by white space characters or by start or end of "
          "input.\n"
          "A directory FILE is walked: each file under it is counted, in "
          "sorted order\n"
          "(.git, .hg and .svn are skipped; symbolic links in it are "
          "followed only\n"
          "with --follow; hidden files and files ignored by .gitignore, "
          ".ignore and\n"
          ".git/info/exclude are skipped).\n"
          "\n"
          "With no FILE, or when FILE is -, read standard input.\n"
          "\n"
          "The options below may be used to select which counts are "
          "printed, always in\n"
          "the following order: newline, word, character, byte, maximum "
          "line length.\n"
          "  -c, --bytes            print the byte counts\n"
          "  -m, --chars            print the character counts\n"
          "  -l, --lines            print the newline counts\n"
          "      --files0-from=F    read input from the files specified by\n"
          "                           NUL-terminated names in file F;\n"
          "                           If F is - then read names from "
          "standard input\n"
          "  -L, --max-line-length  print the maximum display width\n"
          "  -w, --words            print the word counts\n"
          "      --total=WHEN       when to print a line with total counts;\n"
          "                           WHEN can be: auto, always, only, "
          "never\n"
          "      --json             print the counts as one JSON object\n"
          "      --csv              print the counts as CSV, with a header "
          "line\n"
          "      --summary          print the totals only\n"
          "      --by=ext|dir       one row per file name extension or per "
          "directory\n",
          stdout);
    cli_opts_help(stdout, WC_GROUPS);
    fputs("      --help        display this help and exit\n"
          "      --version     output version information and exit\n",
          stdout);
}

/* ------------------------------------------------------ --files0-from */

typedef struct name_list {
    char **names;
    size_t n, cap;
    char *data;     /* the bytes the names point into */
    bool stream;    /* not a regular file: widths are 1 (GNU: nfiles 0) */
    int read_errno; /* a read error after the names we have */
} name_list;

/* Reads NUL-separated names like gnulib's readtokens0 / argv_iter: a
 * final name without a NUL counts; an empty string between two NULs is an
 * (invalid) empty name.  Fails, after saying why, where GNU wc dies. */
static int read_names(wc_state *s, const char *from, name_list *nl)
{
    FILE *f = strcmp(from, "-") == 0 ? stdin : fopen(from, "r");
    if (!f) {
        wc_error(s, errno, "cannot open %s for reading", quoteaf(from));
        return -1;
    }
    struct stat st;
    long pages = sysconf(_SC_AVPHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    uint64_t avail = pages > 0 && psize > 0
                         ? (uint64_t)pages * (uint64_t)psize / 2
                         : UINT64_MAX;
    uint64_t limit = avail < 10 * 1024 * 1024 ? avail : 10 * 1024 * 1024;
    nl->stream = !(fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
                   (uint64_t)st.st_size <= limit);

    size_t len = 0, cap = 0;
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + got + 1 > cap) {
            size_t ncap = cap ? cap : 65536;
            while (ncap < len + got + 1)
                ncap *= 2;
            char *p = realloc(nl->data, ncap);
            if (!p) {
                wc_error(s, ENOMEM, "%s", quotef(from));
                goto fail;
            }
            nl->data = p;
            cap = ncap;
        }
        memcpy(nl->data + len, buf, got);
        len += got;
    }
    int rerr = ferror(f) ? errno : 0;
    if (f != stdin && fclose(f) != 0 && !rerr)
        rerr = errno ? errno : EIO;
    f = NULL;
    if (rerr && !nl->stream) {
        wc_error(s, 0, "cannot read file names from %s", quoteaf(from));
        goto fail;
    }
    nl->read_errno = rerr;

    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        bool end = i == len;
        if (!end && nl->data[i] != '\0')
            continue;
        if (end && i == start)
            break; /* nothing after the last NUL */
        if (nl->n == nl->cap) {
            size_t ncap = nl->cap ? nl->cap * 2 : 64;
            char **p = realloc(nl->names, ncap * sizeof *p);
            if (!p) {
                wc_error(s, ENOMEM, "%s", quotef(from));
                goto fail;
            }
            nl->names = p;
            nl->cap = ncap;
        }
        nl->data[i] = '\0'; /* i == len: the spare byte */
        nl->names[nl->n++] = nl->data + start;
        start = i + 1;
    }
    return 0;
fail:
    if (f && f != stdin)
        fclose(f);
    return -1;
}

/* ---------------------------------------------------------- the job */

/* GNU's compute_number_width over the inputs the job will report. */
static int number_width(const wc_state *s, const sluice_job *job, size_t n_rows,
                        bool stream, int n_printed)
{
    if (s->total == TOTAL_ONLY || stream || n_rows == 0 ||
        (n_rows == 1 && n_printed == 1))
        return 1;
    int min_width = 1;
    uint64_t regular = 0;
    uint32_t n = sluice_job_inputs(job);
    for (uint32_t i = 0; i < n; i++) {
        const sluice_input *in = sluice_job_input(job, i);
        struct stat st;
        if (in->stat_ok)
            st = in->st;
        else if (strcmp(in->path, "-") == 0 || stat(in->path, &st) != 0)
            continue; /* GNU stats every name; e.g. an unreadable dir */
        if (!S_ISREG(st.st_mode)) {
            min_width = 7;
        } else if (st.st_size > 0) {
            uint64_t size = (uint64_t)st.st_size;
            if (regular + size < regular) {
                regular = UINT64_MAX;
                break;
            }
            regular += size;
        }
    }
    int width = 1;
    for (; regular >= 10; regular /= 10)
        width++;
    return width < min_width ? min_width : width;
}

/* -------------------------------------------------------------- main */

int cli_wc_main(int argc, char **argv, const cli_env *env)
{
    wc_state s = {.prog = argv[0], .total = TOTAL_AUTO, .ok = true};
    arg_rewrites rw = {NULL, 0};
    name_list nl = {0};
    sluice_plugin_handle *plugin = NULL;
    sluice_job *job = NULL;
    const char *files_from = NULL, *simd = NULL;
    cli_opts o;
    int status = EXIT_FAILURE;
    bool read_stdin = false;
    char err[512] = "";

    cli_opts_init(&o, s.prog, WC_GROUPS);

    for (int k = 0; k < N_COUNTS; k++)
        s.counter_index[k] = -1;

    if (expand_gnu_abbrevs(argc, argv, &rw) < 0) {
        wc_error(&s, ENOMEM, "arguments");
        goto done;
    }
    int c;
    while ((c = getopt_long(argc, argv, "clLmwj:z", long_options, NULL)) !=
           -1) {
        int sv = cli_opts_parse(&o, c, optarg);
        if (sv < 0) {
            status = CLI_EXIT_BAD_VALUE;
            goto done;
        }
        if (sv > 0)
            continue;
        switch (c) {
        case 'c':
            s.print[C_BYTES] = true;
            break;
        case 'm':
            s.print[C_CHARS] = true;
            break;
        case 'l':
            s.print[C_LINES] = true;
            break;
        case 'w':
            s.print[C_WORDS] = true;
            break;
        case 'L':
            s.print[C_MAXLINE] = true;
            break;
        case OPT_DEBUG:
            break; /* GNU's only reports its SIMD choice */
        case OPT_FILES0:
            files_from = optarg;
            break;
        case OPT_TOTAL: {
            int i = argmatch(optarg, total_args);
            if (i < 0) {
                fprintf(stderr, "%s: %s argument %s for %s\n", s.prog,
                        i == -2 ? "ambiguous" : "invalid", quote(optarg),
                        quote("--total"));
                fputs("Valid arguments are:", stderr);
                for (int k = 0; total_args[k]; k++)
                    fprintf(stderr, "\n  - %s", quote(total_args[k]));
                fputc('\n', stderr);
                cli_try_help(s.prog);
                goto done;
            }
            s.total = (total_mode)i;
            break;
        }
        case OPT_SIMD:
            simd = optarg;
            break;
        case OPT_JSON:
            s.rep.format = REPORT_JSON;
            break;
        case OPT_CSV:
            s.rep.format = REPORT_CSV;
            break;
        case OPT_SUMMARY:
            s.rep.summary = true;
            break;
        case OPT_BY:
            if (report_parse_group(optarg, &s.rep.by) < 0) {
                wc_error(&s, 0, "invalid argument %s for %s", quote(optarg),
                         quote("--by"));
                fprintf(stderr, "Valid arguments are: 'ext', 'dir', 'none'\n");
                cli_try_help(s.prog);
                status = EXIT_CONFIG;
                goto done;
            }
            break;
        case OPT_HELP:
            usage(s.prog);
            status = cli_flush_stdout(s.prog) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
            goto done;
        case OPT_VERSION:
            printf("%s (%s) %s\n", s.prog, env->prog, env->version);
            status = cli_flush_stdout(s.prog) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
            goto done;
        default:
            cli_try_help(s.prog);
            goto done;
        }
    }

    s.joblog_path = o.joblog_path;
    s.resume = o.resume;
    int n_printed = 0;
    for (int k = 0; k < N_COUNTS; k++)
        n_printed += s.print[k];
    if (n_printed == 0) {
        s.print[C_LINES] = s.print[C_WORDS] = s.print[C_BYTES] = true;
        n_printed = 3;
    }
    static const char *const col_names[N_COUNTS] = {"lines", "words", "chars",
                                                    "bytes", "max_line_length"};
    for (int k = 0; k < N_COUNTS; k++)
        if (s.print[k]) {
            s.rep_col[s.rep.ncols] = k;
            s.rep_names[s.rep.ncols] = col_names[k];
            s.rep_max[s.rep.ncols] = k == C_MAXLINE;
            s.rep.ncols++;
        }
    s.rep.cols = s.rep_names;
    s.rep.max_col = s.rep_max;
    s.rep.write = rep_write;
    s.rep.text = rep_text;
    s.rep.arg = &s;
    /* Where characters are bytes, GNU counts bytes for -m. */
    s.chars_are_bytes = MB_CUR_MAX == 1;

    /* The names to count. */
    char **names;
    size_t n_names;
    if (files_from) {
        if (optind < argc) {
            wc_error(&s, 0, "extra operand %s", quoteaf(argv[optind]));
            fprintf(stderr, "%s\n",
                    "file operands cannot be combined with --files0-from");
            cli_try_help(s.prog);
            goto done;
        }
        if (read_names(&s, files_from, &nl) < 0)
            goto done;
        names = nl.names;
        n_names = nl.n;
    } else if (optind < argc) {
        names = argv + optind;
        n_names = (size_t)(argc - optind);
    } else {
        static char dash[] = "-";
        static char *stdin_only[] = {dash, NULL};
        names = stdin_only;
        n_names = 1;
        s.implicit_stdin = true;
    }

    /* The plugin, told what to count. */
    if (sluice_plugin_open("wc", env->self_exe, &plugin, err, sizeof err) < 0) {
        wc_error(&s, 0, "%s", err);
        status = EXIT_CONFIG;
        goto done;
    }
    s.plugin = sluice_plugin_get(plugin);
    s.counters = calloc(s.plugin->n_counters ? s.plugin->n_counters : 1,
                        sizeof *s.counters);
    s.identity = calloc(1, s.plugin->partial_size ? s.plugin->partial_size : 1);
    if (!s.counters || !s.identity) {
        wc_error(&s, ENOMEM, "plugin");
        goto done;
    }
    bool want[N_COUNTS];
    memcpy(want, s.print, sizeof want);
    if (s.chars_are_bytes && want[C_CHARS]) {
        want[C_CHARS] = false;
        want[C_BYTES] = true;
    }
    for (int k = 0; k < N_COUNTS; k++) {
        for (uint32_t i = 0; i < s.plugin->n_counters; i++)
            if (strcmp(s.plugin->counter_names[i], counter_names[k]) == 0)
                s.counter_index[k] = (int)i;
        if (want[k] && s.counter_index[k] < 0) {
            wc_error(&s, 0, "plugin %s has no counter %s",
                     quotef(sluice_plugin_path(plugin)),
                     quote(counter_names[k]));
            status = EXIT_CONFIG;
            goto done;
        }
        if (cli_set_plugin_option(s.prog, plugin, counter_names[k],
                                  want[k] ? "true" : "false") < 0) {
            status = EXIT_CONFIG;
            goto done;
        }
    }
    if (simd && cli_set_plugin_option(s.prog, plugin, "simd", simd) < 0) {
        status = EXIT_CONFIG;
        goto done;
    }

    if (cli_out_init(&s.out, STDOUT_FILENO, OUT_CAP) < 0) {
        wc_error(&s, ENOMEM, "output");
        goto done;
    }
    s.out.each = isatty(STDOUT_FILENO);
    report_begin(&s.rep);

    if (s.resume && !s.joblog_path) {
        wc_error(&s, 0, "--resume needs --joblog=FILE");
        status = EXIT_CONFIG;
        goto done;
    }
    sluice_callbacks cb = {.user = &s,
                           .on_input = on_input,
                           .on_output = on_output,
                           .on_progress = on_progress,
                           .on_unit = s.joblog_path ? on_unit : NULL};
    cli_progress_init(&s.progress, s.prog, o.progress_force);
    int rc = sluice_job_new(plugin, &o.job, &cb, &job, err, sizeof err);
    if (rc < 0) {
        wc_error(&s, 0, "%s", err[0] ? err : sluice_strerror(rc));
        status = EXIT_CONFIG;
        goto done;
    }
    cli_opts_apply(&o, job);
    s.job = job;
    sluice_job_partial_init(job, s.identity);
    if (s.joblog_path &&
        !(s.joblog = cli_joblog_open(s.prog, s.joblog_path, job, s.resume))) {
        status = EXIT_CONFIG;
        goto done;
    }

    /* Every name, in order; names GNU refuses never reach the engine but
     * keep their place among the inputs. */
    bool names_from_stdin = files_from && strcmp(files_from, "-") == 0;
    for (size_t i = 0; i < n_names; i++) {
        const char *name = names[i];
        uint32_t before = sluice_job_operands(job);
        int skip = 0;
        if (names_from_stdin && strcmp(name, "-") == 0)
            skip = cli_notes_add(&s.skips, before,
                                 "when reading file names from standard input, "
                                 "no file name of %s allowed",
                                 quoteaf(name));
        else if (name[0] == '\0' && !files_from)
            skip = cli_notes_add(&s.skips, before,
                                 "invalid zero-length file name");
        else if (name[0] == '\0')
            skip = cli_notes_add(&s.skips, before, "%s:%zu: %s",
                                 quotef(files_from), i + 1,
                                 "invalid zero-length file name");
        else {
            rc = sluice_job_add(job, name, o.add_flags);
            if (rc < 0) {
                wc_error(&s, 0, "%s: %s", quotef(name), sluice_strerror(rc));
                goto done;
            }
            if (strcmp(name, "-") == 0)
                read_stdin = true;
            continue;
        }
        if (skip < 0) {
            wc_error(&s, ENOMEM, "%s", quotef(name));
            goto done;
        }
    }

    s.names_stream = files_from && nl.stream;
    s.n_printed = n_printed;
    if (sluice_job_inputs_final(job) || s.rep.format != REPORT_TEXT ||
        s.total == TOTAL_ONLY)
        fix_width(&s);

    cli_signals_install(NULL);
    rc = cli_job_run(job, err, sizeof err);
    if (!s.width_known)
        fix_width(&s);
    cli_progress_done(&s.progress);
    size_t n_rows = sluice_job_inputs(job) + s.skips.n;
    if (rc < 0 && rc != SLUICE_EINPUT) {
        wc_error(&s, 0, "%s", err[0] ? err : sluice_strerror(rc));
        status = rc == SLUICE_EOUTPUT   ? EXIT_OUTPUT
                 : rc == SLUICE_ERESUME ? EXIT_CONFIG
                                        : EXIT_JOB;
        goto done;
    }
    flush_skips(&s, UINT32_MAX);

    if (nl.read_errno) {
        wc_error(&s, nl.read_errno, "%s: read error", quotef(files_from));
        s.ok = false;
    }

    bool with_total = s.rep.summary || (s.total != TOTAL_NEVER &&
                                        (s.total != TOTAL_AUTO || n_rows > 1));
    if (with_total || s.rep.format != REPORT_TEXT) {
        for (int k = 0; k < C_MAXLINE; k++) {
            if (s.overflow[k]) {
                s.sum[k] = UINT64_MAX;
                wc_error(&s, EOVERFLOW, "%s", total_overflow_names[k]);
                s.ok = false;
            }
        }
    }
    uint64_t csum[N_COUNTS];
    for (int k = 0; k < s.rep.ncols; k++)
        csum[k] = s.sum[s.rep_col[k]];
    report_end(&s.rep, csum, with_total);
    if (with_total && s.rep.format == REPORT_TEXT)
        write_counts(&s, s.sum,
                     s.total != TOTAL_ONLY || s.rep.summary ? "total" : NULL);

    if (read_stdin && close(STDIN_FILENO) != 0) {
        wc_error(&s, errno, "-");
        goto done;
    }
    status = s.poisoned ? EXIT_JOB : s.ok ? EXIT_SUCCESS : EXIT_FAILURE;

done:
    if (s.joblog && cli_joblog_close(s.prog, s.joblog_path, s.joblog) < 0 &&
        (status == EXIT_SUCCESS || status == EXIT_FAILURE))
        status = EXIT_OUTPUT;
    if (s.out.buf) {
        cli_out_flush(&s.out);
        if (s.out.err) {
            /* GNU's close_stdout names no errno here: its stdout is line
             * buffered, the failing write came before fclose, and
             * close_stream then reports errno 0. */
            fprintf(stderr, "%s: write error\n", s.prog);
            status = EXIT_FAILURE;
        }
    }
    if (job)
        sluice_job_free(job);
    if (plugin)
        sluice_plugin_close(plugin);
    cli_notes_free(&s.skips);
    report_free(&s.rep);
    cli_opts_free(&o);
    free(s.counters);
    free(s.identity);
    cli_out_free(&s.out);
    free(s.line);
    free(nl.names);
    free(nl.data);
    for (size_t i = 0; i < rw.n; i++)
        free(rw.p[i]);
    free(rw.p);
    return status;
}
