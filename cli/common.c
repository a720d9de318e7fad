/*
 * common.c -- helpers shared by the subcommands (see common.h).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t caught_sig;

void cli_vmessage(const char *prog, int errnum, const char *fmt, va_list ap)
{
    if (caught_sig)
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

/* --------------------------------------------------------- supervision */

int cli_supervise_option(const char *prog, int c, const char *arg,
                         sluice_job_opts *opts)
{
    char *end;
    switch (c) {
    case CLI_OPT_TIMEOUT: {
        if (!strcmp(arg, "none")) {
            opts->unit_timeout = -1;
            return 1;
        }
        errno = 0;
        double v = strtod(arg, &end);
        if (errno || end == arg || *end || !isfinite(v) || v <= 0 || v > 1e9) {
            cli_message(prog, 0, "invalid timeout: '%s' (seconds > 0, or none)",
                        arg);
            return -1;
        }
        opts->unit_timeout = v;
        return 1;
    }
    case CLI_OPT_WORKER_MEMORY: {
        if (!strcmp(arg, "none")) {
            opts->worker_memory = 0;
            return 1;
        }
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 10);
        unsigned shift = 0;
        if (*end == 'k' || *end == 'K')
            shift = 10, end++;
        else if (*end == 'M')
            shift = 20, end++;
        else if (*end == 'G')
            shift = 30, end++;
        if (errno || end == arg || *end || *arg == '-' || v == 0 ||
            v > (UINT64_MAX >> shift) || (v << shift) < (16u << 20)) {
            cli_message(prog, 0,
                        "invalid worker memory: '%s' (16M or more, or none)",
                        arg);
            return -1;
        }
        opts->worker_memory = (uint64_t)v << shift;
        return 1;
    }
    case CLI_OPT_KEEP_GOING:
        opts->keep_going = 1;
        return 1;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------- job log */

#define JOBLOG_MAGIC "# sluice job log 2"
#define JOBLOG_COLUMNS                                                         \
    "seq\tinput\tfiles\toffset\tbytes\tworker\tattempts\tresult\tfingerpr"     \
    "int\tpartials"

/* A path as one field: tab, newline and backslash escaped. */
static void put_path(FILE *f, const char *p)
{
    for (; *p; p++) {
        if (*p == '\t')
            fputs("\\t", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\\')
            fputs("\\\\", f);
        else
            fputc(*p, f);
    }
}

/* Undoes put_path in place. */
static void unescape_path(char *p)
{
    char *o = p;
    for (; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            *o++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Splits line (no newline) at tabs into at most max fields. */
static int split_tabs(char *line, char **field, int max)
{
    int n = 0;
    field[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            field[n++] = p + 1;
        }
    return n;
}

/* One "# input" line: the file must be what it was. */
static int check_input(const char *prog, const char *log, char *rest)
{
    char *f[5];
    if (split_tabs(rest, f, 5) != 5)
        return -1;
    unescape_path(f[4]);
    struct stat st;
    if (stat(f[4], &st) != 0) {
        cli_message(prog, errno, "%s: cannot resume (named by %s)", f[4], log);
        return -2;
    }
    /* Not the device: the nodes of a shared file system (sluice-mpi)
     * number it each their own way. */
    char now[160];
    snprintf(now, sizeof now, "%llu\t%llu\t%lld.%09ld",
             (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
             (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    char then[160];
    snprintf(then, sizeof then, "%s\t%s\t%s", f[1], f[2], f[3]);
    if (strcmp(now, then) != 0) {
        cli_message(prog, 0,
                    "%s: changed since %s was written (size, time or "
                    "inode): cannot resume",
                    f[4], log);
        return -2;
    }
    return 0;
}

/* The check after a unit's partials: FNV-1a of the bytes, so that a log
 * damaged on disk or by hand is refused, not counted. */
static uint64_t partials_check(const unsigned char *d, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 1099511628211ull;
    return h;
}

/* Partials as the log writes them: bytes in hex, a run of zero bytes
 * (most of a plugin's partial is often zero) as zNy with N the run's
 * length in hex. */
static void encode_partials(FILE *f, const unsigned char *d, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[512];
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (o > sizeof buf - 24) {
            fwrite(buf, 1, o, f);
            o = 0;
        }
        size_t run = 0;
        while (i + run < n && d[i + run] == 0)
            run++;
        if (run >= 3) {
            o += (size_t)snprintf(buf + o, sizeof buf - o, "z%zxy", run);
            i += run;
            continue;
        }
        buf[o++] = digits[d[i] >> 4];
        buf[o++] = digits[d[i] & 15];
        i++;
    }
    fwrite(buf, 1, o, f);
}

/* What one unit's records may decode to: far more than any unit gives
 * (a batch of files times a plugin's partial), far less than memory. */
#define PARTIALS_MAX ((size_t)256 << 20)

/* Undoes encode_partials: 0 with *out (malloc'd) and *len, a multiple of
 * 8 bytes; -1 malformed; -2 out of memory. */
static int decode_partials(const char *s, unsigned char **out, size_t *len)
{
    size_t cap = 256, n = 0;
    unsigned char *d = malloc(cap);
    if (!d)
        return -2;
    while (*s) {
        size_t add = 1;
        int zero = *s == 'z';
        if (zero) {
            char *end;
            errno = 0;
            unsigned long long run = strtoull(s + 1, &end, 16);
            if (errno || end == s + 1 || *end != 'y' || run > PARTIALS_MAX) {
                free(d);
                return -1;
            }
            add = (size_t)run;
            s = end + 1;
        }
        if (n + add > PARTIALS_MAX) {
            free(d);
            return -1;
        }
        if (n + add > cap) {
            while (cap < n + add)
                cap *= 2;
            unsigned char *nd = realloc(d, cap);
            if (!nd) {
                free(d);
                return -2;
            }
            d = nd;
        }
        if (zero) {
            memset(d + n, 0, add);
        } else {
            int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
            if (lo < 0) {
                free(d);
                return -1;
            }
            d[n] = (unsigned char)(hi << 4 | lo);
            s += 2;
        }
        n += add;
    }
    if (n % 8 != 0) {
        free(d);
        return -1;
    }
    *out = d;
    *len = n;
    return 0;
}

/* One unit line: a unit done, handed to the job. */
static int resume_unit(const char *prog, const char *log, unsigned long lineno,
                       char *line, sluice_job *job)
{
    char *f[10];
    if (split_tabs(line, f, 10) != 10)
        return -1;
    char *end;
    errno = 0;
    unsigned long long seq = strtoull(f[0], &end, 10);
    if (errno || end == f[0] || *end)
        return -1;
    if (strcmp(f[7], "ok") != 0 || !strcmp(f[8], "-") || !strcmp(f[9], "-"))
        return 0; /* poison, or not resumable: it runs again */
    unsigned long long fp = strtoull(f[8], &end, 16);
    if (*end || fp == 0)
        return -1;
    char *dot = strchr(f[9], '.');
    if (!dot)
        return -1;
    *dot = '\0';
    unsigned long long check = strtoull(dot + 1, &end, 16);
    if (*end || end == dot + 1)
        return -1;
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = decode_partials(f[9], &data, &len);
    if (rc == -2) {
        cli_message(prog, ENOMEM, "%s", log);
        return -2;
    }
    if (rc < 0 || partials_check(data, len) != check) {
        free(data);
        return -1;
    }
    rc = sluice_job_resume_unit(job, seq, fp, data, len);
    free(data);
    if (rc == SLUICE_ENOMEM) {
        cli_message(prog, ENOMEM, "%s", log);
        return -2;
    }
    if (rc < 0) {
        cli_message(prog, 0,
                    "%s: line %lu: plugin %s cannot resume (its "
                    "output is ordered)",
                    log, lineno, sluice_job_plugin(job)->name);
        return -2;
    }
    return 0;
}

/* Reads the log at `path` into the job.  0; 1 when there is none; -1
 * after a message. */
static int joblog_read(const char *prog, const char *path, sluice_job *job)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        if (errno == ENOENT)
            return 1;
        cli_message(prog, errno, "%s", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;
    int rc = 0, job_seen = 0;
    char want[32];
    snprintf(want, sizeof want, "%016llx",
             (unsigned long long)sluice_job_fingerprint(job));
    while (rc == 0 && (n = getline(&line, &cap, in)) > 0) {
        lineno++;
        if (line[n - 1] != '\n')
            break; /* cut short when the run that wrote it died */
        line[n - 1] = '\0';
        if (lineno == 1) {
            if (strcmp(line, JOBLOG_MAGIC) != 0) {
                cli_message(prog, 0,
                            "%s: not a job log this version of sluice "
                            "can resume from",
                            path);
                rc = -1;
            }
            continue;
        }
        int r = 0;
        if (!strncmp(line, "# job\t", 6)) {
            job_seen = 1;
            if (strcmp(line + 6, want) != 0) {
                cli_message(prog, 0,
                            "%s: written by another job (the plugin, its "
                            "options or the unit size differ): cannot "
                            "resume",
                            path);
                rc = -1;
            }
        } else if (!strncmp(line, "# input\t", 8)) {
            r = check_input(prog, path, line + 8);
        } else if (line[0] == '#' || !strcmp(line, JOBLOG_COLUMNS)) {
            continue;
        } else if (!job_seen) {
            r = -1;
        } else {
            r = resume_unit(prog, path, lineno, line, job);
        }
        if (r == -1)
            cli_message(prog, 0, "%s: line %lu: not a job log line", path,
                        lineno);
        if (r < 0)
            rc = -1;
    }
    if (rc == 0 && ferror(in)) {
        cli_message(prog, errno, "%s", path);
        rc = -1;
    }
    if (rc == 0 && !job_seen && lineno > 0) {
        cli_message(prog, 0, "%s: no job line: cannot resume", path);
        rc = -1;
    }
    free(line);
    fclose(in);
    return rc;
}

int cli_joblog_rank, cli_joblog_nranks = 1;

/* Cuts the log at `path` after its last complete line (a run killed while
 * writing a line leaves part of it: appending to it would spoil the next
 * line).  Returns the bytes kept: 0 when none (append a header first), -1
 * when there is no such file. */
static off_t complete_lines(const char *prog, const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    off_t keep = 0;
    if (fstat(fd, &st) == 0) {
        char buf[4096];
        off_t end = st.st_size;
        while (end > 0 && keep == 0) {
            size_t n = end < (off_t)sizeof buf ? (size_t)end : sizeof buf;
            ssize_t got = pread(fd, buf, n, end - (off_t)n);
            if (got != (ssize_t)n)
                break;
            for (size_t i = n; i-- > 0;)
                if (buf[i] == '\n') {
                    keep = end - (off_t)n + (off_t)i + 1;
                    break;
                }
            end -= (off_t)n;
        }
        if (keep < st.st_size && ftruncate(fd, keep) != 0)
            cli_message(prog, errno, "%s", path);
    }
    close(fd);
    return keep;
}

/* PATH.rank-N: the log of rank N > 0 of sluice-mpi. */
static char *rank_path(const char *path, int n)
{
    size_t len = strlen(path) + 32;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s.rank-%d", path, n);
    return p;
}

FILE *cli_joblog_open(const char *prog, const char *path, sluice_job *job,
                      int resume)
{
    /* Rank 0 (and the local sluice) writes PATH, rank N PATH.rank-N; a
     * resume reads them all: a unit done by any rank is done. */
    char *own =
        cli_joblog_rank > 0 ? rank_path(path, cli_joblog_rank) : strdup(path);
    if (!own) {
        cli_message(prog, ENOMEM, "%s", path);
        return NULL;
    }
    int fresh = 1;
    if (resume) {
        int rc = joblog_read(prog, path, job);
        for (int n = 1; rc >= 0 && n < (1 << 20); n++) {
            char *rp = rank_path(path, n);
            int r = rp ? joblog_read(prog, rp, job) : -1;
            free(rp);
            if (r == 1)
                break; /* no such rank's log */
            rc = r < 0 ? r : 0;
        }
        if (rc < 0) {
            free(own);
            return NULL;
        }
        fresh = complete_lines(prog, own) <= 0;
    } else if (cli_joblog_rank == 0) {
        /* A fresh log: the logs of ranks this run does not have go. */
        for (int n = cli_joblog_nranks; n < (1 << 20); n++) {
            char *rp = rank_path(path, n);
            int gone = !rp || unlink(rp) != 0;
            free(rp);
            if (gone)
                break;
        }
    }
    FILE *f = fopen(own, fresh ? "w" : "a");
    if (!f) {
        cli_message(prog, errno, "%s", own);
        free(own);
        return NULL;
    }
    free(own);
    if (fresh) {
        fprintf(f, "%s\n# job\t%016llx\n%s\n", JOBLOG_MAGIC,
                (unsigned long long)sluice_job_fingerprint(job),
                JOBLOG_COLUMNS);
        fflush(f);
    }
    return f;
}

void cli_joblog_unit(FILE *f, const sluice_unit_done *u)
{
    const sluice_job *job = u->job;
    if (!f || u->resumed)
        return; /* its line is in the log already */
    /* The files the unit read, so that --resume can tell they did not
     * change before it starts: regular files on disk (not archive members,
     * which the engine checks as it plans). */
    static uint32_t listed; /* inputs before this one are listed */
    if (u->resumable)
        for (uint32_t i = u->input; i < u->input + u->ninputs; i++) {
            if (i < listed)
                continue;
            listed = i + 1;
            const sluice_input *in = sluice_job_input(job, i);
            if (!in || !in->stat_ok || !S_ISREG(in->st.st_mode) ||
                in->st.st_ino == 0)
                continue;
            fprintf(f, "# input\t%llu\t%llu\t%llu\t%lld.%09ld\t",
                    (unsigned long long)in->st.st_dev,
                    (unsigned long long)in->st.st_ino,
                    (unsigned long long)in->st.st_size,
                    (long long)in->st.st_mtim.tv_sec,
                    (long)in->st.st_mtim.tv_nsec);
            put_path(f, in->path);
            fputc('\n', f);
        }
    const sluice_input *in = sluice_job_input(job, u->input);
    fprintf(f, "%llu\t", (unsigned long long)u->seq);
    put_path(f, in ? in->path : "?");
    fprintf(f, "\t%u\t%llu\t%llu\t%d\t%u\t%s\t", u->ninputs,
            (unsigned long long)u->offset, (unsigned long long)u->bytes,
            (int)u->pid, u->attempts, u->poisoned ? "poison" : "ok");
    if (u->resumable) {
        fprintf(f, "%016llx\t", (unsigned long long)u->fingerprint);
        encode_partials(f, u->result, u->result_len);
        fprintf(f, ".%016llx\n",
                (unsigned long long)partials_check(u->result, u->result_len));
    } else {
        fputs("-\t-\n", f);
    }
    /* Each unit's lines reach the file at once: what a killed run did is
     * there for --resume. */
    fflush(f);
}

int cli_joblog_close(const char *prog, const char *path, FILE *f)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        cli_message(prog, errno, "%s: write error", path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- signals */

static const int caught_signals[] = {SIGINT, SIGTERM, SIGHUP};
static void (*signal_cleanup)(void);
static pid_t signal_owner;           /* the coordinator, not a worker */
static volatile sig_atomic_t in_job; /* cli_job_run is running a job */

/* Removes the command's temporary files and ends by `sig`. */
static void die_by(int sig)
{
    if (signal_cleanup)
        signal_cleanup();
    if (cli_job_runner_cleanup)
        cli_job_runner_cleanup();
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached */
}

static void on_signal(int sig)
{
    if (getpid() != signal_owner) { /* a worker: the default action */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    if (!caught_sig)
        caught_sig = sig;
    if (!in_job)
        die_by(caught_sig);
    sluice_interrupt(sig);
}

void cli_signals_install(void (*cleanup)(void))
{
    signal_cleanup = cleanup;
    signal_owner = getpid();
    size_t n = sizeof caught_signals / sizeof caught_signals[0];
    for (size_t i = 0; i < n; i++) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read ends */
        sigemptyset(&sa.sa_mask);
        for (size_t k = 0; k < n; k++)
            sigaddset(&sa.sa_mask, caught_signals[k]);
        if (sigaction(caught_signals[i], NULL, &old) == 0 &&
            old.sa_handler == SIG_IGN)
            continue; /* nohup, or a background job: stays ignored */
        sigaction(caught_signals[i], &sa, NULL);
    }
}

int cli_signal_caught(void)
{
    return caught_sig;
}

cli_job_runner_fn *cli_job_runner;
void (*cli_job_runner_cleanup)(void);

int cli_job_run(sluice_job *job, char *err, size_t errlen)
{
    in_job = 1;
    int rc = cli_job_runner ? cli_job_runner(job, err, errlen)
                            : sluice_job_run(job, err, errlen);
    in_job = 0;
    if (caught_sig)
        die_by(caught_sig);
    return rc;
}

/* ------------------------------------------------------------ progress */

static cli_progress *shown_progress; /* the line on stderr, if any */

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_init(cli_progress *p, const char *prog, int force)
{
    memset(p, 0, sizeof *p);
    p->prog = prog;
    p->enabled = force < 0 ? isatty(STDERR_FILENO) : force;
    p->start = mono_seconds();
}

/* "1.5 GiB" and the like. */
static void human(char *buf, size_t len, double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void cli_progress_update(cli_progress *p, const sluice_progress *sp)
{
    if (!p->enabled)
        return;
    double elapsed = mono_seconds() - p->start;
    if (elapsed < 1.0)
        return; /* short jobs show nothing */
    if (sp->inputs_done == sp->inputs_total && !sp->expanding) {
        cli_progress_clear(); /* all reported: nothing left to show */
        return;
    }
    char done[32], total[32], rate[32], eta[32] = "";
    human(done, sizeof done, (double)sp->bytes_done);
    human(total, sizeof total, (double)sp->bytes_total);
    double bps = (double)sp->bytes_done / elapsed;
    human(rate, sizeof rate, bps);
    /* While walks and archives still give inputs the totals grow: no
     * ETA, and the file count says "+". */
    int growing = sp->expanding != 0;
    if (!sp->streams && !growing && bps > 0 &&
        sp->bytes_total >= sp->bytes_done) {
        unsigned long left =
            (unsigned long)((double)(sp->bytes_total - sp->bytes_done) / bps +
                            0.5);
        snprintf(eta, sizeof eta, ", ETA %lu:%02lu", left / 60, left % 60);
    }
    int sized = !sp->streams && !growing;
    fprintf(stderr, "\r%s: %u/%u%s files, %s%s%s, %s/s%s\033[K", p->prog,
            sp->inputs_done, sp->inputs_total, growing ? "+" : "", done,
            sized ? " of " : "", sized ? total : "", rate, eta);
    fflush(stderr);
    p->shown = 1;
    shown_progress = p;
}

void cli_progress_clear(void)
{
    if (shown_progress && shown_progress->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        shown_progress->shown = 0;
    }
}

void cli_progress_done(cli_progress *p)
{
    if (shown_progress == p) {
        cli_progress_clear();
        shown_progress = NULL;
    }
}
