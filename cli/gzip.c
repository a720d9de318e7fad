/*
 * gzip.c -- `sluice gzip`: gzip 1.12's interface; the engine compresses.
 *
 * The gzip plugin turns every 1 MiB unit of an input into one complete gzip
 * member (name and mtime on a file's first member unless -n), so the
 * ordered output of one input is a complete .gz of it.  This file owns what
 * the user sees and where the bytes go:
 *
 *  - Operands are checked the way gzip's treat_file does, before the job
 *    starts (missing, directory, not regular, symlink without -f, set-id or
 *    sticky bits, other hard links, suffix already there, FILE.gz exists),
 *    with gzip's messages under the "sluice gzip:" prefix and gzip's exit
 *    codes: 1 for an error, 2 when only warnings were given.  Messages are
 *    queued and printed in operand order, interleaved with the errors the
 *    job reports, as gzip would print them going file by file.
 *  - No operand, or "-": standard input to standard output (no name
 *    stored).  -c: every input to standard output, concatenated.
 *  - FILE to FILE.gz is atomic: the bytes go to a temporary file
 *    ".FILE.gz.XXXXXX" beside the target, created when the input's first
 *    output arrives; when the engine reports the input done we fsync it,
 *    copy mode, owner and times, move it onto FILE.gz (cli_commit: never
 *    over a file that exists, whoever made it since the check, unless -f),
 *    fsync the directory, and only then remove FILE (unless -k).  On any
 *    failure the temporary file is removed and FILE kept.  A partial file
 *    never appears under the final name.
 *  - SIGINT/SIGTERM/SIGHUP (cli_signals_install): the job stops, the live
 *    temporary files are unlinked (paths recorded before the job starts,
 *    flags set with signals blocked) and sluice dies by the signal.
 *
 *
 * Decompression (-d, `sluice gunzip`, `sluice zcat`), -t and -l run the
 * gunzip plugin, which reads gzip, .Z, pack and zip (docs/gzip.md) and
 * verifies the CRC and length of every member before the input is
 * reported done: only then is the output committed (same temporary-file
 * path) and the input removed.  With -f, input in none of those formats
 * is copied through to standard output (the plugin's passthrough: all
 * inputs with -c or -t, standard input alone otherwise).  An operand that
 * does not exist is looked for with the compressed suffixes, as gzip -d
 * does.  Its errors carry the byte
 * offset where the input went wrong; trailing garbage is gzip's warning
 * (exit 2), output kept.  --max-output bounds what one input may expand
 * to (decompression bombs): past it the job stops, nothing is committed
 * for that input.  -l decodes every member, so its sizes are exact for
 * multi-member files too (gzip reads the last member's trailer only).
 *
 * --single asks the plugin for one pigz-style member per input: the plugin
 * writes the header and byte-aligned deflate pieces and reports the CRC and
 * length of the input; the trailer (a final empty block, CRC32, ISIZE) is
 * written here once the whole input is known.
 */
#include "gzip.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fts.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commit.h"
#include "sluice/sluice.h"

#define CHUNK_SIZE (4u << 20)  /* compression: 4 members of 1 MiB a unit */
#define SCHUNK_SIZE (1u << 20) /* --single: the plugin's unit contract */
#define DCHUNK_SIZE (4u << 20) /* decompression: compressed bytes per unit */
#define MAX_SUFFIX 30          /* gzip's limit */

/* gzip's exit codes; sluice's own (docs/exit-codes.md) where gzip has
 * none. */
enum {
    EXIT_OK = 0,
    EXIT_ERROR = 1,
    EXIT_WARNING = 2,
    EXIT_CONFIG = 2, /* sluice's own options, the plugin, the job setup */
    EXIT_JOB = 5,    /* the job failed: poisoned unit, dead workers, ... */
};

/* --------------------------------------------------------------- state */

/* One input of the job. */
typedef struct gz_file {
    const char *path; /* operand as given; "-" for stdin */
    char *out_path;   /* FILE.gz, or NULL: to stdout */
    char *tmp_path;   /* template, then the temporary file's path */
    struct stat st;   /* the input, at check time */
    int fd;           /* temporary file, or -1 */
    int err;          /* first output error (errno), or 0 */
    bool got_output;  /* bytes arrived for this input */
    volatile sig_atomic_t tmp_live; /* tmp_path exists and is ours */
    char *path_copy;                /* path when it came from a -r walk */
    uint64_t out_bytes;             /* output bytes so far */
    /* decompression: the first member's header (peeked before the run) */
    bool have_hdr;
    char *hdr_name;     /* FNAME, or NULL */
    uint32_t hdr_mtime; /* MTIME */
    uint32_t hdr_len;   /* header bytes plus the 8 of a trailer */
    const char *method; /* -lv: gzip's name of the format, or NULL */
    uint64_t list_crc;  /* -lv: the last member's CRC-32; all ones unknown */
} gz_file;

typedef enum gz_mode {
    MODE_COMPRESS,
    MODE_DECOMPRESS,
    MODE_TEST,
    MODE_LIST,
} gz_mode;

/* The plugin's counters this file reads, by name. */
enum { C_GARBAGE, C_CRC, C_LENGTH, C_LZW_FLAGS, C_ZIP_MORE, N_WANTED };

typedef struct gz_state {
    const char *prog; /* "sluice gzip" */
    gz_mode mode;
    bool to_stdout, keep, force, no_name, name_set, quiet, verbose;
    bool recursive, single;
    int level;
    uint64_t max_output; /* 0: no limit */
    int64_t max_hit;     /* input whose output passed max_output, or -1 */
    const char *suffix;
    const sluice_plugin *desc;
    sluice_job *job;                   /* set before any input is added */
    uint64_t *ctr;                     /* desc->n_counters values */
    int want[N_WANTED];                /* index in ctr, or -1 */
    uint64_t tot_in, tot_out, tot_hdr; /* -l totals */
    uint32_t listed;
    cli_progress progress;
    gz_file *files; /* one per engine input, allocated before the run */
    uint32_t n_files;
    cli_notes notes;  /* operands refused before the engine saw them */
    int exit_code;    /* EXIT_OK, EXIT_WARNING or EXIT_ERROR so far */
    int stdout_errno; /* a failed write to stdout */
} gz_state;

/* Read by the signal handler: set before the job starts, never
 * reallocated while it runs. */
static gz_file *volatile sig_files;
static volatile uint32_t sig_n_files;

static void set_status(gz_state *s, int code)
{
    if (code == EXIT_ERROR || s->exit_code == EXIT_OK)
        s->exit_code = code;
}

/* "sluice gzip: MESSAGE" on stderr. */
#define say(s, ...) cli_message((s)->prog, 0, __VA_ARGS__)

static void flush_notes(gz_state *s, uint32_t upto)
{
    const char *m;
    while ((m = cli_notes_next(&s->notes, upto)) != NULL)
        say(s, "%s", m);
}

/* ------------------------------------------------------------ signals */

/* The signal path's cleanup (cli_signals_install): async-signal-safe. */
static void remove_tmps(void)
{
    gz_file *f = sig_files;
    for (uint32_t i = 0; f && i < sig_n_files; i++)
        if (f[i].tmp_live)
            unlink(f[i].tmp_path);
}

static const int caught[] = {SIGINT, SIGTERM, SIGHUP};

static void block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t k = 0; k < sizeof caught / sizeof caught[0]; k++)
        sigaddset(&set, caught[k]);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void restore_signals(const sigset_t *old)
{
    sigprocmask(SIG_SETMASK, old, NULL);
}

/* -------------------------------------------------------------- output */

/* Drops the temporary file of f, if any. */
static void discard_tmp(gz_file *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->tmp_live) {
        unlink(f->tmp_path);
        f->tmp_live = 0;
    }
}

/* Creates f's temporary file beside its target; 0 or an errno. */
static int open_tmp(gz_file *f)
{
    /* tmp_path holds the template, rewritten by mkostemp in place. */
    size_t n = strlen(f->tmp_path);
    memcpy(f->tmp_path + n - 6, "XXXXXX", 6);
    sigset_t old;
    block_signals(&old);
    int fd = mkostemp(f->tmp_path, O_CLOEXEC);
    int e = errno;
    if (fd >= 0) {
        f->fd = fd;
        f->tmp_live = 1;
    }
    restore_signals(&old);
    return fd >= 0 ? 0 : e;
}

static int on_output(void *user, uint32_t input, const void *data, size_t len)
{
    gz_state *s = user;
    if (input >= s->n_files)
        return 0; /* the plugin's finish writes nothing */
    gz_file *f = &s->files[input];
    f->got_output = true;
    f->out_bytes += len;
    if (s->max_output && s->mode != MODE_COMPRESS &&
        f->out_bytes > s->max_output) {
        s->max_hit = input;
        return -EFBIG; /* stops the job: a bomb costs no more work */
    }
    if (s->mode == MODE_TEST || s->mode == MODE_LIST)
        return 0;
    if (!f->out_path) {
        int e = cli_write_all(STDOUT_FILENO, data, len);
        if (e) {
            s->stdout_errno = e;
            return -e; /* fatal for the job, as in gzip */
        }
        return 0;
    }
    if (f->err)
        return 0; /* already failed: reported at on_input */
    if (f->fd < 0 && (f->err = open_tmp(f)) != 0)
        return 0;
    if ((f->err = cli_write_all(f->fd, data, len)) != 0)
        discard_tmp(f);
    return 0;
}

/* Syncs and stamps f's temporary file and commits it under its target
 * name, which must still be free unless -f (another input of this run or
 * another process may have taken it since the operand was checked); 0 or
 * an errno, EEXIST for a name taken (the temporary file is then gone). */
static int commit(gz_file *f, bool force, const struct timespec *times)
{
    int fd = f->fd, e = 0;
    if (fchmod(fd, f->st.st_mode & 07777) != 0)
        e = errno;
    if (!e && geteuid() == 0) {
        int ignored = fchown(fd, f->st.st_uid, f->st.st_gid);
        (void)ignored; /* gzip ignores a failed chown */
    }
    struct timespec ts[2] = {f->st.st_atim, f->st.st_mtim};
    if (times) {
        ts[0] = times[0];
        ts[1] = times[1];
    }
    if (!e && futimens(fd, ts) != 0)
        e = errno;
    if (!e && fsync(fd) != 0)
        e = errno;
    f->fd = -1;
    if (close(fd) != 0 && !e)
        e = errno;
    if (e) {
        unlink(f->tmp_path);
        f->tmp_live = 0;
        return e;
    }
    return cli_commit(f->tmp_path, f->out_path,
                      force ? CLI_COMMIT_REPLACE : CLI_COMMIT_NEW, NULL,
                      &f->tmp_live);
}

/* Writes more bytes of f's output (the --single trailer); 0 or an errno. */
static int put_output(gz_state *s, gz_file *f, const void *data, size_t len)
{
    if (!f->out_path) {
        int e = cli_write_all(STDOUT_FILENO, data, len);
        if (e)
            s->stdout_errno = e;
        return e;
    }
    if (f->fd < 0 && (f->err = open_tmp(f)) != 0)
        return f->err;
    if ((f->err = cli_write_all(f->fd, data, len)) != 0)
        discard_tmp(f);
    return f->err;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* gzip's display_ratio: "%5.1f%%" of (num / den), 0 when den is 0. */
static void print_ratio(FILE *out, int64_t num, uint64_t den)
{
    double r = den ? 100.0 * (double)num / (double)den : 0.0;
    fprintf(out, "%5.1f%%", r);
}

/* Name shown by -l and -v for the uncompressed side of f. */
static const char *plain_name(const gz_state *s, const gz_file *f, char *buf,
                              size_t len);

static void list_line(gz_state *s, const gz_file *f, uint64_t comp,
                      uint64_t plain)
{
    cli_progress_clear();
    if (s->listed++ == 0)
        printf("%s         compressed        uncompressed  ratio "
               "uncompressed_name\n",
               s->verbose ? "method  crc     date  time  " : "");
    char buf[PATH_MAX];
    if (s->verbose) {
        /* gzip's do_list: the file's time, the header's with -N */
        static const char month[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                          "May", "Jun", "Jul", "Aug",
                                          "Sep", "Oct", "Nov", "Dec"};
        time_t when = f->st.st_mtime;
        if (s->name_set && f->have_hdr && f->hdr_mtime)
            when = (time_t)f->hdr_mtime;
        struct tm tm;
        printf("%5s %08llx ", f->method ? f->method : "?????",
               (unsigned long long)f->list_crc);
        if (localtime_r(&when, &tm))
            printf("%s%3d %02d:%02d ", month[tm.tm_mon], tm.tm_mday, tm.tm_hour,
                   tm.tm_min);
        else
            printf("??? ?? ??:?? ");
    }
    printf("%19llu %19llu ", (unsigned long long)comp,
           (unsigned long long)plain);
    print_ratio(stdout, (int64_t)plain - (int64_t)(comp - f->hdr_len), plain);
    printf(" %s\n", plain_name(s, f, buf, sizeof buf));
    s->tot_in += comp;
    s->tot_out += plain;
    s->tot_hdr += f->hdr_len;
}

/* The decompressed side of one input is complete and verified. */
static void input_done(gz_state *s, gz_file *f, const char *shown)
{
    uint64_t garbage =
        s->want[C_GARBAGE] >= 0 ? s->ctr[s->want[C_GARBAGE]] : UINT64_MAX;
    if (garbage != UINT64_MAX) {
        if (!s->quiet)
            say(s, "%s: decompression OK, trailing garbage ignored", shown);
        set_status(s, EXIT_WARNING);
    }
    uint64_t comp = f->st.st_size > 0 ? (uint64_t)f->st.st_size : 0;
    if (s->mode == MODE_LIST) {
        list_line(s, f, comp, f->out_bytes);
        return;
    }
    if (s->mode == MODE_TEST) {
        if (s->verbose)
            fprintf(stderr, "%s:\t OK\n", shown);
        return;
    }
    if (!f->out_path)
        return;
    struct timespec ts[2], *times = NULL;
    if (s->name_set && f->have_hdr && f->hdr_mtime) {
        ts[0].tv_sec = ts[1].tv_sec = (time_t)f->hdr_mtime;
        ts[0].tv_nsec = ts[1].tv_nsec = 0;
        times = ts;
    }
    if (f->fd < 0 && !f->err)
        f->err = open_tmp(f); /* an empty result is still a file */
    if (!f->err)
        f->err = commit(f, s->force, times);
    if (f->err)
        return;
    if (s->verbose) {
        fprintf(stderr, "%s:\t", shown);
        print_ratio(stderr,
                    (int64_t)f->out_bytes - (int64_t)(comp - f->hdr_len),
                    f->out_bytes);
        fprintf(stderr, " -- replaced with %s\n", f->out_path);
    }
    if (!s->keep && unlink(f->path) != 0) {
        say(s, "%s: %s", shown, strerror(errno));
        set_status(s, EXIT_ERROR);
    }
}

static void on_input(void *user, uint32_t index, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    gz_state *s = user;
    flush_notes(s, index);
    if (index >= s->n_files)
        return;
    gz_file *f = &s->files[index];
    const char *shown = strcmp(f->path, "-") == 0 ? "stdin" : f->path;
    /* errnum < 0: the plugin's message says what went wrong */
    int e = errnum > 0 ? errnum : in->err;
    if (errnum < 0 && !message)
        message = "";
    for (int k = 0; k < N_WANTED; k++)
        if (s->want[k] >= 0)
            s->ctr[s->want[k]] =
                k == C_GARBAGE || k == C_ZIP_MORE ? UINT64_MAX : 0;
    if (partial)
        sluice_job_counters(s->job, partial, s->ctr);
    uint64_t lzw_flags =
        s->want[C_LZW_FLAGS] >= 0 ? s->ctr[s->want[C_LZW_FLAGS]] : 0;
    if (lzw_flags) {
        /* gzip reads on after it; a warning */
        if (!s->quiet)
            say(s, "%s: warning, unknown flags 0x%llx", shown,
                (unsigned long long)lzw_flags);
        set_status(s, EXIT_WARNING);
    }
    if (!e && !message && s->want[C_ZIP_MORE] >= 0 &&
        s->ctr[s->want[C_ZIP_MORE]] != UINT64_MAX && s->mode != MODE_COMPRESS) {
        /* gzip decodes a zip's first entry only: to stdout the rest is
         * ignored with a warning; to a file the input stays as it is */
        if (f->out_path && s->mode == MODE_DECOMPRESS) {
            discard_tmp(f);
            say(s, "%s has more than one entry -- unchanged", shown);
            set_status(s, EXIT_ERROR);
            return;
        }
        if (!s->quiet)
            say(s, "%s has more than one entry--rest ignored", shown);
        set_status(s, EXIT_WARNING);
    }
    /* gzip's advice on a bad .Z code, when the output goes to a file */
    if (message && !f->out_path &&
        strcmp(message, "corrupt input. Use zcat to recover some data.") == 0)
        message = "corrupt input.";

    if (s->mode != MODE_COMPRESS) {
        if (!e && !message) {
            input_done(s, f, shown);
        }
    } else {
        /* The plugin writes at least one member for every input, an empty
         * one included: no output for a good input would be an engine bug,
         * and must never become an empty .gz. */
        if (!e && !message && !f->got_output)
            message = "no compressed output was produced";
        if (!e && !message && s->single && !f->err) {
            unsigned char tail[10] = {0x03, 0x00}; /* final empty block */
            put_le32(tail + 2, (uint32_t)s->ctr[s->want[C_CRC]]);
            put_le32(tail + 6, (uint32_t)s->ctr[s->want[C_LENGTH]]);
            if (put_output(s, f, tail, sizeof tail) && !f->out_path) {
                say(s, "stdout: %s", strerror(s->stdout_errno));
                set_status(s, EXIT_ERROR);
                return;
            }
            f->out_bytes += sizeof tail;
        }
        if (!e && !message && f->out_path && !f->err) {
            if (f->fd >= 0)
                f->err = commit(f, s->force, NULL);
            if (!f->err && s->verbose) {
                uint64_t in_bytes = (uint64_t)f->st.st_size;
                fprintf(stderr, "%s:\t", shown);
                print_ratio(stderr, (int64_t)in_bytes - (int64_t)f->out_bytes,
                            in_bytes);
                fprintf(stderr, " -- replaced with %s\n", f->out_path);
            }
            if (!f->err && !s->keep && unlink(f->path) != 0) {
                say(s, "%s: %s", shown, strerror(errno));
                set_status(s, EXIT_ERROR);
            }
        }
    }
    if (e || message || f->err) {
        discard_tmp(f);
        if (e)
            say(s, "%s: %s", shown, strerror(e));
        else if (message && offset != UINT64_MAX && s->mode != MODE_COMPRESS)
            /* gzip: "F: unexpected end of file", but "F has flags ..." */
            say(s, "%s%s%s (at byte %llu)", shown,
                strncmp(message, "is ", 3) == 0 ||
                        strncmp(message, "has ", 4) == 0
                    ? " "
                    : ": ",
                *message ? message : "failed", (unsigned long long)offset);
        else if (message)
            say(s, "%s: %s", shown, *message ? message : "failed");
        else if (f->err == EEXIST) {
            /* taken since the operand was checked; gzip's words, even
             * with -q, and its warning status */
            say(s, "%s already exists;\tnot overwritten", f->out_path);
            set_status(s, EXIT_WARNING);
            return;
        } else
            say(s, "%s: %s", f->out_path ? f->out_path : "stdout",
                strerror(f->err));
        set_status(s, EXIT_ERROR);
    }
}

static void on_progress(void *user, const sluice_progress *p)
{
    gz_state *s = user;
    cli_progress_update(&s->progress, p);
}

/* ------------------------------------------------------------- options */

enum {
    OPT_LEVEL = 256, /* -10 .. -12, rewritten to --level=N */
    OPT_HELP,
    OPT_SINGLE,
    OPT_MAX_OUTPUT,
};

static const struct option long_options[] = {
    {"stdout", no_argument, NULL, 'c'},
    {"to-stdout", no_argument, NULL, 'c'},
    {"keep", no_argument, NULL, 'k'},
    {"force", no_argument, NULL, 'f'},
    {"fast", no_argument, NULL, '1'},
    {"best", no_argument, NULL, '9'},
    {"no-name", no_argument, NULL, 'n'},
    {"name", no_argument, NULL, 'N'},
    {"suffix", required_argument, NULL, 'S'},
    {"quiet", no_argument, NULL, 'q'},
    {"silent", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"decompress", no_argument, NULL, 'd'},
    {"uncompress", no_argument, NULL, 'd'},
    {"test", no_argument, NULL, 't'},
    {"list", no_argument, NULL, 'l'},
    {"recursive", no_argument, NULL, 'r'},
    {"verbose", no_argument, NULL, 'v'},
    {"level", required_argument, NULL, OPT_LEVEL},
    {"single", no_argument, NULL, OPT_SINGLE},
    {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
    CLI_JOBS_OPTIONS,
    CLI_SUPERVISE_OPTIONS,
    CLI_PROGRESS_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* The shared options gzip takes (options.h). */
#define GZIP_GROUPS (CLI_OPTS_JOBS | CLI_OPTS_SUPERVISE | CLI_OPTS_PROGRESS)

static void try_help(const char *prog)
{
    cli_try_help_quoted(prog, CLI_QUOTES_GZIP); /* gzip 1.12's wording */
}

static void usage(const char *prog)
{
    printf("Usage: %s [OPTION]... [FILE]...\n", prog);
    fputs("Compress or uncompress FILEs in parallel (by default, in-place), "
          "as standard\n"
          "gzip that any gunzip, zcat or pigz reads.  Outputs are committed "
          "atomically.\n"
          "\n"
          "Mandatory arguments to long options are mandatory for short "
          "options too.\n"
          "\n"
          "  -c, --stdout      write on standard output, keep original "
          "files unchanged\n"
          "  -d, --decompress  decompress\n"
          "  -f, --force       force overwrite of output file and compress "
          "links\n"
          "  -h, --help        give this help\n"
          "  -k, --keep        keep (don't delete) input files\n"
          "  -l, --list        list compressed file contents\n"
          "  -n, --no-name     do not save or restore the original name and "
          "timestamp\n"
          "  -N, --name        save or restore the original name and "
          "timestamp\n"
          "  -q, --quiet       suppress all warnings\n"
          "  -r, --recursive   operate recursively on directories\n"
          "  -S, --suffix=SUF  use suffix SUF on compressed files "
          "(default .gz)\n"
          "  -t, --test        test compressed file integrity\n"
          "  -v, --verbose     verbose mode\n"
          "  -V, --version     display version number\n"
          "  -1, --fast        compress faster\n"
          "  -9, --best        compress better\n"
          "  -10, -11, -12     compress even better, more slowly (like "
          "pigz -11)\n"
          "      --single      one gzip member per file, like gzip and "
          "pigz (levels 1-9)\n"
          "      --max-output=SIZE  refuse to decompress a file to more than "
          "SIZE bytes\n",
          stdout);
    cli_opts_help(stdout, GZIP_GROUPS);
    fputs("\n"
          "With no FILE, or when FILE is -, read standard input.\n",
          stdout);
}

static int flush_stdio(const gz_state *s)
{
    return cli_flush_stdout(s->prog) < 0 ? EXIT_ERROR : EXIT_OK;
}

/* "-10" .. "-12" are levels (pigz); getopt would read "-1" "-0". */
static void rewrite_levels(int argc, char **argv)
{
    static char lv[3][sizeof "--level=10"] = {"--level=10", "--level=11",
                                              "--level=12"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (strcmp(a, "-j") == 0 || strcmp(a, "-S") == 0 ||
            strcmp(a, "--suffix") == 0 || strcmp(a, "--jobs") == 0) {
            i++;
            continue;
        }
        if (a[0] == '-' && a[1] == '1' && a[2] >= '0' && a[2] <= '2' &&
            a[3] == '\0')
            argv[i] = lv[a[2] - '0'];
    }
}

/* ------------------------------------------------------------- checks */

/* gzip's known suffixes (get_suffix), plus -S's. */
static const char *known_suffix(const char *name, const char *suffix)
{
    static const char *const list[] = {".gz", ".z", ".taz", ".tgz",
                                       "-gz", "-z", "_z",   NULL};
    size_t n = strlen(name);
    size_t sl = strlen(suffix);
    /* a suffix follows at least one character of the file's own name */
    if (n > sl && name[n - sl - 1] != '/' &&
        strcasecmp(name + n - sl, suffix) == 0)
        return name + n - sl;
    for (int i = 0; list[i]; i++) {
        size_t l = strlen(list[i]);
        if (n > l && name[n - l - 1] != '/' &&
            strcasecmp(name + n - l, list[i]) == 0)
            return name + n - l;
    }
    return NULL;
}

/* gzip -d's get_istat: an operand that does not exist and has no known
 * suffix names the first of NAME-S, NAME.gz, NAME.z, NAME-z, NAME.Z that
 * exists, else NAME-S (whose error is then reported).  A new string, or
 * NULL when `name` stands as it is (or out of memory: *oom). */
static char *compressed_operand(const gz_state *s, const char *name, bool *oom)
{
    struct stat st;
    *oom = false;
    if (lstat(name, &st) == 0 || errno != ENOENT ||
        known_suffix(name, s->suffix))
        return NULL;
    const char *try[] = {s->suffix, ".gz", ".z", "-z", ".Z"};
    for (size_t i = 0; i < sizeof try / sizeof try[0]; i++) {
        if (i == 1 && strcmp(s->suffix, ".gz") == 0)
            continue;
        char *alt = NULL;
        if (asprintf(&alt, "%s%s", name, try[i]) < 0) {
            *oom = true;
            return NULL;
        }
        if (lstat(alt, &st) == 0)
            return alt;
        free(alt);
    }
    char *alt = NULL;
    if (asprintf(&alt, "%s%s", name, s->suffix) < 0)
        *oom = true;
    return alt;
}

/* gzip's treat_file checks for one operand: 0 when it is to be
 * compressed (st filled), 1 when skipped (message queued, status set),
 * -1 out of memory. */
static int check_operand(gz_state *s, const char *path, uint32_t before,
                         struct stat *st, bool walked)
{
    bool follow = s->force || s->to_stdout;
    int rc = follow ? stat(path, st) : lstat(path, st);
    if (rc != 0 || (!follow && S_ISLNK(st->st_mode))) {
        int e = rc != 0 ? errno : ELOOP;
        set_status(s, EXIT_ERROR);
        return cli_notes_add(&s->notes, before, "%s: %s", path, strerror(e)) < 0
                   ? -1
                   : 1;
    }
    const char *why = NULL;
    if (S_ISDIR(st->st_mode))
        why = "is a directory -- ignored";
    else if (!S_ISREG(st->st_mode) && !(s->to_stdout && s->force))
        why = "is not a directory or a regular file - ignored";
    else if (!s->to_stdout && !s->force) {
        if (st->st_mode & S_ISUID)
            why = "is set-user-ID on execution - ignored";
        else if (st->st_mode & S_ISGID)
            why = "is set-group-ID on execution - ignored";
        else if (st->st_mode & S_ISVTX)
            why = "has the sticky bit set - file ignored";
    }
    if (!why && !s->to_stdout && !s->force && st->st_nlink > 1) {
        set_status(s, EXIT_WARNING);
        if (s->quiet)
            return 1;
        unsigned long others = (unsigned long)st->st_nlink - 1;
        return cli_notes_add(&s->notes, before,
                             "%s has %lu other link%s -- file ignored", path,
                             others, others == 1 ? "" : "s") < 0
                   ? -1
                   : 1;
    }
    if (why) {
        set_status(s, EXIT_WARNING);
        if (s->quiet)
            return 1;
        return cli_notes_add(&s->notes, before, "%s %s", path, why) < 0 ? -1
                                                                        : 1;
    }
    if (s->to_stdout || s->mode == MODE_TEST || s->mode == MODE_LIST)
        return 0;
    const char *suf = known_suffix(path, s->suffix);
    if (s->mode == MODE_DECOMPRESS) {
        if (suf)
            return 0;
        /* gzip: silent for files met by -r, a warning for operands */
        if (walked && !s->verbose)
            return 1;
        if (s->quiet)
            return 1;
        set_status(s, EXIT_WARNING);
        return cli_notes_add(&s->notes, before, "%s: unknown suffix -- ignored",
                             path) < 0
                   ? -1
                   : 1;
    }
    if (suf) {
        /* gzip: a message, but no effect on the exit status */
        if (s->quiet || (walked && !s->verbose))
            return 1;
        return cli_notes_add(&s->notes, before,
                             "%s already has %s suffix -- unchanged", path,
                             suf) < 0
                   ? -1
                   : 1;
    }
    return 0;
}

/* Reads the first member's header of a compressed file: FNAME, MTIME and
 * its length; the format's name, and with `crc` (-lv) a gzip's last CRC-32.
 * Leaves have_hdr false when it cannot (the job then reports what is wrong
 * with the file). */
static void peek_header(gz_file *f, bool crc)
{
    unsigned char h[65536];
    int fd = open(f->path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, h, sizeof h);
    /* -lv: the method, and a gzip's last CRC-32 (gzip reads the trailer) */
    bool gzip = n >= 2 && h[0] == 0x1f && (h[1] == 0x8b || h[1] == 0x9e);
    f->method = NULL;
    f->list_crc = UINT64_MAX;
    if (gzip)
        f->method = "defla";
    else if (n >= 2 && h[0] == 0x1f && h[1] == 0x9d)
        f->method = "compr";
    else if (n >= 2 && h[0] == 0x1f && h[1] == 0x1e)
        f->method = "pack ";
    else if (n >= 10 && memcmp(h, "PK\3\4", 4) == 0)
        f->method = h[8] == 8 && h[9] == 0 ? "defla" : "store";
    unsigned char t[4];
    if (crc && gzip && f->st.st_size >= 8 &&
        pread(fd, t, 4, f->st.st_size - 8) == 4)
        f->list_crc = (uint64_t)t[0] | (uint64_t)t[1] << 8 |
                      (uint64_t)t[2] << 16 | (uint64_t)t[3] << 24;
    close(fd);
    if (n < 18 || h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || (h[3] & 0xe0))
        return;
    size_t len = (size_t)n, pos = 10;
    unsigned flg = h[3];
    f->hdr_mtime = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
                   (uint32_t)h[7] << 24;
    if (flg & 0x04) { /* FEXTRA */
        if (pos + 2 > len)
            return;
        pos += 2 + ((size_t)h[pos] | (size_t)h[pos + 1] << 8);
    }
    if (flg & 0x08) { /* FNAME */
        const unsigned char *z =
            pos < len ? memchr(h + pos, 0, len - pos) : NULL;
        if (!z)
            return;
        free(f->hdr_name);
        f->hdr_name = strdup((const char *)h + pos);
        pos = (size_t)(z - h) + 1;
    }
    if (flg & 0x10) { /* FCOMMENT */
        const unsigned char *z =
            pos < len ? memchr(h + pos, 0, len - pos) : NULL;
        if (!z)
            return;
        pos = (size_t)(z - h) + 1;
    }
    if (flg & 0x02) /* FHCRC */
        pos += 2;
    f->hdr_len = (uint32_t)(pos + 8);
    f->have_hdr = true;
}

/* The decompressed name of a compressed path: its gzip suffix removed
 * (.tgz and .taz become .tar), or with -N the name stored in the header,
 * in the compressed file's directory.  NULL without a known suffix. */
static char *decompressed_name(const gz_state *s, const gz_file *f)
{
    const char *suf = known_suffix(f->path, s->suffix);
    if (!suf)
        return NULL;
    const char *slash = strrchr(f->path, '/');
    int dlen = slash ? (int)(slash - f->path + 1) : 0;
    char *out = NULL;
    if (s->name_set && f->hdr_name) {
        const char *base = strrchr(f->hdr_name, '/');
        base = base ? base + 1 : f->hdr_name;
        if (*base && strcmp(base, ".") != 0 && strcmp(base, "..") != 0) {
            if (asprintf(&out, "%.*s%s", dlen, f->path, base) < 0)
                return NULL;
            return out;
        }
    }
    size_t n = strlen(f->path) - strlen(suf);
    bool tar = strcasecmp(suf, ".tgz") == 0 || strcasecmp(suf, ".taz") == 0;
    if (asprintf(&out, "%.*s%s", (int)n, f->path, tar ? ".tar" : "") < 0)
        return NULL;
    return out;
}

static const char *plain_name(const gz_state *s, const gz_file *f, char *buf,
                              size_t len)
{
    if (strcmp(f->path, "-") == 0)
        return "stdout";
    char *named = s->name_set && f->hdr_name ? decompressed_name(s, f) : NULL;
    if (named) { /* -N: the stored name, as decompression would use it */
        snprintf(buf, len, "%s", named);
        free(named);
        return buf;
    }
    const char *suf = known_suffix(f->path, s->suffix);
    size_t n = strlen(f->path) - (suf ? strlen(suf) : 0);
    snprintf(buf, len, "%.*s", (int)n, f->path);
    return buf;
}

/* Fills f's output and temporary paths; 0, 1 when skipped, -1 no memory. */
static int plan_output(gz_state *s, gz_file *f, uint32_t before)
{
    if (s->mode == MODE_DECOMPRESS) {
        f->out_path = decompressed_name(s, f);
        if (!f->out_path)
            return -1;
    } else if (asprintf(&f->out_path, "%s%s", f->path, s->suffix) < 0) {
        f->out_path = NULL;
        return -1;
    }
    struct stat ost;
    if (lstat(f->out_path, &ost) == 0 && !s->force) {
        /* gzip prints this even with -q; exit status 2 */
        set_status(s, EXIT_WARNING);
        return cli_notes_add(&s->notes, before,
                             "%s already exists;\tnot overwritten",
                             f->out_path) < 0
                   ? -1
                   : 1;
    }
    const char *slash = strrchr(f->out_path, '/');
    int dlen = slash ? (int)(slash - f->out_path + 1) : 0;
    const char *base = slash ? slash + 1 : f->out_path;
    if (asprintf(&f->tmp_path, "%.*s.%s.XXXXXX", dlen, f->out_path, base) < 0) {
        f->tmp_path = NULL;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ operands */

typedef struct operand {
    char *name;  /* owned */
    bool walked; /* found by -r inside a directory operand */
} operand;

typedef struct operand_list {
    operand *v;
    size_t n, cap;
} operand_list;

static int push_operand(operand_list *l, const char *name, bool walked)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        operand *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -1;
    l->v[l->n].name = copy;
    l->v[l->n].walked = walked;
    l->n++;
    return 0;
}

static int by_name(const FTSENT **a, const FTSENT **b)
{
    return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* -r: the regular files under directory `dir`, in sorted order (symlinks
 * inside are not followed, as gzip). */
static int walk_operand(gz_state *s, operand_list *l, const char *dir)
{
    char *argv[] = {(char *)dir, NULL};
    FTS *fts = fts_open(argv, FTS_PHYSICAL | FTS_NOCHDIR, by_name);
    if (!fts)
        return -1;
    FTSENT *e;
    int rc = 0;
    while (rc == 0 && (e = fts_read(fts)) != NULL) {
        if (e->fts_info == FTS_F)
            rc = push_operand(l, e->fts_path, true);
        else if (e->fts_info == FTS_DNR || e->fts_info == FTS_ERR) {
            say(s, "%s: %s", e->fts_path, strerror(e->fts_errno));
            set_status(s, EXIT_ERROR);
        }
    }
    fts_close(fts);
    return rc;
}

static void free_operands(operand_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

/* Index of the plugin's counter `name`, or -1. */
static int counter_index(const sluice_plugin *d, const char *name)
{
    for (uint32_t i = 0; i < d->n_counters; i++)
        if (strcmp(d->counter_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* ---------------------------------------------------------------- main */

static int gzip_main(int argc, char **argv, const cli_env *env, gz_mode mode,
                     bool to_stdout)
{
    gz_state s = {.prog = argv[0],
                  .mode = mode,
                  .to_stdout = to_stdout,
                  .level = 6,
                  .suffix = ".gz",
                  .max_hit = -1};
    sluice_plugin_handle *plugin = NULL;
    sluice_job *job = NULL;
    cli_opts o;
    operand_list ops = {0};
    int status = EXIT_ERROR;
    char err[512] = "";
    for (int k = 0; k < N_WANTED; k++)
        s.want[k] = -1;

    cli_opts_init(&o, s.prog, GZIP_GROUPS);
    rewrite_levels(argc, argv);
    int c;
    while ((c = getopt_long(argc, argv, "123456789cfhkNnqS:Vj:dtlrv",
                            long_options, NULL)) != -1) {
        int sv = cli_opts_parse(&o, c, optarg);
        if (sv < 0) {
            status = EXIT_CONFIG;
            goto done;
        }
        if (sv > 0)
            continue;
        switch (c) {
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
            s.level = c - '0';
            break;
        case OPT_LEVEL:
            s.level = atoi(optarg);
            break;
        case 'c':
            s.to_stdout = true;
            break;
        case 'd':
            if (s.mode == MODE_COMPRESS)
                s.mode = MODE_DECOMPRESS;
            break;
        case 't':
            s.mode = MODE_TEST;
            break;
        case 'l':
            s.mode = MODE_LIST;
            break;
        case 'r':
            s.recursive = true;
            break;
        case 'f':
            s.force = true;
            break;
        case 'k':
            s.keep = true;
            break;
        case 'n':
            s.no_name = true;
            s.name_set = false;
            break;
        case 'N':
            s.no_name = false;
            s.name_set = true;
            break;
        case 'q':
            s.quiet = true;
            s.verbose = false;
            break;
        case 'v':
            s.verbose = true;
            s.quiet = false;
            break;
        case 'S':
            s.suffix = optarg;
            break;
        case OPT_SINGLE:
            s.single = true;
            break;
        case OPT_MAX_OUTPUT:
            if (cli_parse_number(s.prog, "maximum output size", optarg,
                                 CLI_SIZE, 1, UINT64_MAX, &s.max_output) < 0) {
                status = EXIT_CONFIG;
                goto done;
            }
            break;
        case 'h':
            usage(s.prog);
            status = flush_stdio(&s);
            goto done;
        case 'V':
            printf("%s (%s) %s\n", s.prog, env->prog, env->version);
            status = flush_stdio(&s);
            goto done;
        default:
            try_help(s.prog);
            goto done;
        }
    }
    size_t sl = strlen(s.suffix);
    if (sl == 0 || sl > MAX_SUFFIX || strchr(s.suffix, '/')) {
        say(&s, "invalid suffix '%s'", s.suffix);
        goto done;
    }
    bool compress = s.mode == MODE_COMPRESS;
    if (compress && s.single && s.level > 9) {
        say(&s, "--single compresses at levels 1 to 9 only");
        status = EXIT_CONFIG;
        goto done;
    }
    if (s.mode == MODE_TEST || s.mode == MODE_LIST)
        s.keep = true; /* nothing is written, nothing removed */

    /* Operands: "-" for none; directories expanded by -r. */
    if (optind >= argc && push_operand(&ops, "-", false) < 0)
        goto oom;
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (s.recursive && strcmp(argv[i], "-") != 0 &&
            lstat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            if (walk_operand(&s, &ops, argv[i]) < 0)
                goto oom;
        } else if (push_operand(&ops, argv[i], false) < 0) {
            goto oom;
        }
    }

    /* gzip refuses before doing anything else. */
    for (size_t i = 0; i < ops.n; i++) {
        if (strcmp(ops.v[i].name, "-") != 0 || s.force)
            continue;
        if (compress && isatty(STDOUT_FILENO)) {
            say(&s, "compressed data not written to a terminal. Use -f to "
                    "force compression.");
            fprintf(stderr, "For help, type: %s -h\n", s.prog);
            goto done;
        }
        if (!compress && isatty(STDIN_FILENO)) {
            say(&s, "compressed data not read from a terminal. Use -f to "
                    "force decompression.");
            fprintf(stderr, "For help, type: %s -h\n", s.prog);
            goto done;
        }
    }

    const char *pname = compress ? "gzip" : "gunzip";
    if (sluice_plugin_open(pname, env->self_exe, &plugin, err, sizeof err) <
        0) {
        say(&s, "%s", err);
        status = EXIT_CONFIG;
        goto done;
    }
    s.desc = sluice_plugin_get(plugin);
    s.ctr = calloc(s.desc->n_counters ? s.desc->n_counters : 1, sizeof *s.ctr);
    if (!s.ctr)
        goto oom;
    if (compress) {
        char level[8];
        snprintf(level, sizeof level, "%d", s.level);
        if (cli_set_plugin_option(s.prog, plugin, "level", level) < 0 ||
            cli_set_plugin_option(s.prog, plugin, "no_name",
                                  s.no_name ? "true" : "false") < 0) {
            status = EXIT_CONFIG;
            goto done;
        }
        if (s.single) {
            s.want[C_CRC] = counter_index(s.desc, "crc32");
            s.want[C_LENGTH] = counter_index(s.desc, "length");
            if (s.want[C_CRC] < 0 || s.want[C_LENGTH] < 0 ||
                cli_set_plugin_option(s.prog, plugin, "single", "true") < 0) {
                say(&s, "this gzip plugin has no --single mode");
                status = EXIT_CONFIG;
                goto done;
            }
        }
        o.job.chunk_size = s.single ? SCHUNK_SIZE : CHUNK_SIZE;
    } else {
        s.want[C_GARBAGE] = counter_index(s.desc, "garbage_at");
        s.want[C_LZW_FLAGS] = counter_index(s.desc, "lzw_flags");
        s.want[C_ZIP_MORE] = counter_index(s.desc, "zip_more_at");
        /* gzip -f copies what is in no compressed format to standard
         * output (-c, -t, standard input), never to a file */
        if (s.force && s.mode != MODE_LIST &&
            cli_set_plugin_option(
                s.prog, plugin, "passthrough",
                s.to_stdout || s.mode == MODE_TEST ? "all" : "stdin") < 0) {
            status = EXIT_CONFIG;
            goto done;
        }
        if (s.max_output) {
            char v[32];
            snprintf(v, sizeof v, "%llu", (unsigned long long)s.max_output);
            if (cli_set_plugin_option(s.prog, plugin, "max_output", v) < 0) {
                status = EXIT_CONFIG;
                goto done;
            }
        }
        o.job.chunk_size = DCHUNK_SIZE;
        /* Units of whole members below the mapping threshold are read:
         * in one block, so that their members decode whole. */
        o.job.block_size = DCHUNK_SIZE;
    }

    s.files = calloc(ops.n, sizeof *s.files);
    if (!s.files)
        goto oom;
    sluice_callbacks cb = {.user = &s,
                           .on_input = on_input,
                           .on_output = on_output,
                           .on_progress = on_progress};
    cli_progress_init(&s.progress, s.prog, o.progress_force);
    int rc = sluice_job_new(plugin, &o.job, &cb, &job, err, sizeof err);
    if (rc < 0) {
        say(&s, "%s", err[0] ? err : sluice_strerror(rc));
        status = EXIT_CONFIG;
        goto done;
    }
    s.job = job;

    for (size_t i = 0; i < ops.n; i++) {
        if (!compress && !ops.v[i].walked && strcmp(ops.v[i].name, "-") != 0) {
            /* an operand (a walk finds what exists) */
            bool oom;
            char *alt = compressed_operand(&s, ops.v[i].name, &oom);
            if (oom)
                goto oom;
            if (alt) {
                free(ops.v[i].name);
                ops.v[i].name = alt;
            }
        }
        const char *name = ops.v[i].name;
        uint32_t before = sluice_job_inputs(job);
        gz_file *f = &s.files[before];
        memset(f, 0, sizeof *f);
        f->fd = -1;
        f->path = name;
        int k = 0;
        if (strcmp(name, "-") != 0) {
            k = check_operand(&s, name, before, &f->st, ops.v[i].walked);
            /* -N (name, time), -l and -v (header size for the ratio) */
            if (k == 0 && !compress &&
                (s.name_set || s.mode == MODE_LIST || s.verbose))
                peek_header(f, s.mode == MODE_LIST && s.verbose);
            if (k == 0 && !s.to_stdout && s.mode != MODE_TEST &&
                s.mode != MODE_LIST)
                k = plan_output(&s, f, before);
        }
        if (k < 0)
            goto oom;
        if (k > 0) {
            free(f->out_path);
            free(f->tmp_path);
            free(f->hdr_name);
            memset(f, 0, sizeof *f);
            continue;
        }
        rc = sluice_job_add(job, name, 0);
        if (rc < 0) {
            say(&s, "%s: %s", name, sluice_strerror(rc));
            goto done;
        }
        s.n_files = sluice_job_inputs(job);
    }

    sig_files = s.files;
    sig_n_files = s.n_files;
    cli_signals_install(remove_tmps);

    rc = cli_job_run(job, err, sizeof err);
    cli_progress_done(&s.progress);
    flush_notes(&s, UINT32_MAX);
    if (rc < 0 && rc != SLUICE_EINPUT) {
        if (s.max_hit >= 0) {
            const char *p = s.files[s.max_hit].path;
            say(&s,
                "%s: decompressed data exceeds the --max-output limit "
                "(%llu bytes); nothing written for it",
                strcmp(p, "-") == 0 ? "stdin" : p,
                (unsigned long long)s.max_output);
            status = EXIT_ERROR;
        } else if (s.stdout_errno) {
            say(&s, "stdout: %s", strerror(s.stdout_errno));
            status = EXIT_ERROR;
        } else {
            say(&s, "%s", err[0] ? err : sluice_strerror(rc));
            /* A write error (sluice-mpi's spool) is gzip's error. */
            status = rc == SLUICE_EOUTPUT ? EXIT_ERROR : EXIT_JOB;
        }
        goto done;
    }
    if (s.stdout_errno) {
        say(&s, "stdout: %s", strerror(s.stdout_errno));
        set_status(&s, EXIT_ERROR);
    }
    if (s.mode == MODE_LIST && s.listed > 1) {
        if (s.verbose)
            printf("%28s", "");
        printf("%19llu %19llu ", (unsigned long long)s.tot_in,
               (unsigned long long)s.tot_out);
        print_ratio(stdout,
                    (int64_t)s.tot_out - (int64_t)(s.tot_in - s.tot_hdr),
                    s.tot_out);
        printf(" (totals)\n");
    }
    status = s.exit_code;
    if (s.mode == MODE_LIST && flush_stdio(&s) != EXIT_OK)
        status = EXIT_ERROR;
    goto done;

oom:
    say(&s, "%s", strerror(ENOMEM));
    status = EXIT_ERROR;
done:
    for (uint32_t i = 0; s.files && i < s.n_files; i++) {
        discard_tmp(&s.files[i]); /* a failed job leaves no temporaries */
    }
    sig_n_files = 0;
    sig_files = NULL;
    if (job)
        sluice_job_free(job);
    if (plugin)
        sluice_plugin_close(plugin);
    for (uint32_t i = 0; s.files && i < s.n_files; i++) {
        free(s.files[i].out_path);
        free(s.files[i].tmp_path);
        free(s.files[i].hdr_name);
    }
    free(s.files);
    free(s.ctr);
    free_operands(&ops);
    cli_notes_free(&s.notes);
    cli_opts_free(&o);
    return status;
}

int cli_gzip_main(int argc, char **argv, const cli_env *env)
{
    return gzip_main(argc, argv, env, MODE_COMPRESS, false);
}

int cli_gunzip_main(int argc, char **argv, const cli_env *env)
{
    return gzip_main(argc, argv, env, MODE_DECOMPRESS, false);
}

int cli_zcat_main(int argc, char **argv, const cli_env *env)
{
    return gzip_main(argc, argv, env, MODE_DECOMPRESS, true);
}
