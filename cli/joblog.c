/*
 * joblog.c -- the job log and --resume (see joblog.h).
 */
#include "joblog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

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
