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
 *    copy mode, owner and times, rename it onto FILE.gz, fsync the
 *    directory, and only then remove FILE (unless -k).  On any failure the
 *    temporary file is removed and FILE kept.  A partial file never appears
 *    under the final name.
 *  - SIGINT/SIGTERM/SIGHUP: the handler unlinks the live temporary files
 *    (paths recorded before the job starts, flags set with signals blocked)
 *    and _exits with 128+signal.  Workers inherit the handler; in them it
 *    falls back to the default action.
 *
 * Decompression (-d, -t, -l) and -r are not part of sluice yet: refused.
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
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/sluice.h"

#define CHUNK_SIZE (1u << 20) /* the plugin's member size contract */
#define MAX_JOBS 65536
#define MAX_SUFFIX 30 /* gzip's limit */

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
} gz_file;

typedef struct gz_state {
    const char *prog; /* "sluice gzip" */
    bool to_stdout, keep, force, no_name, quiet;
    int level;
    const char *suffix;
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
static pid_t sig_owner;

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

static void on_signal(int sig)
{
    if (getpid() != sig_owner) { /* a worker: its default action */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    gz_file *f = sig_files;
    for (uint32_t i = 0; f && i < sig_n_files; i++)
        if (f[i].tmp_live)
            unlink(f[i].tmp_path);
    _exit(128 + sig);
}

static const int caught[] = {SIGINT, SIGTERM, SIGHUP};

static void install_handlers(void)
{
    sig_owner = getpid();
    for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t k = 0; k < sizeof caught / sizeof caught[0]; k++)
            sigaddset(&sa.sa_mask, caught[k]);
        /* gzip leaves an ignored SIGINT ignored (nohup, background). */
        if (sigaction(caught[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(caught[i], &sa, NULL);
    }
}

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

/* Writes all of data to fd; 0 or an errno. */
static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (n == 0)
            return EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

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
    if (!f->out_path) {
        int e = write_all(STDOUT_FILENO, data, len);
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
    if ((f->err = write_all(f->fd, data, len)) != 0)
        discard_tmp(f);
    return 0;
}

/* Syncs, stamps and renames f's temporary file onto its target; 0 or an
 * errno (the temporary file is then gone). */
static int commit(gz_file *f)
{
    int fd = f->fd, e = 0;
    if (fchmod(fd, f->st.st_mode & 07777) != 0)
        e = errno;
    if (!e && geteuid() == 0) {
        int ignored = fchown(fd, f->st.st_uid, f->st.st_gid);
        (void)ignored; /* gzip ignores a failed chown */
    }
    struct timespec ts[2] = {f->st.st_atim, f->st.st_mtim};
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
    sigset_t old;
    block_signals(&old);
    if (rename(f->tmp_path, f->out_path) != 0) {
        e = errno;
        unlink(f->tmp_path);
    }
    f->tmp_live = 0;
    restore_signals(&old);
    if (e)
        return e;

    /* The rename is durable only once the directory is. */
    char *dir = strdup(f->out_path);
    if (!dir)
        return ENOMEM;
    char *slash = strrchr(dir, '/');
    const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
    int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        e = errno;
    if (dfd >= 0)
        close(dfd);
    free(dir);
    return e;
}

static void on_input(void *user, uint32_t index, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    gz_state *s = user;
    (void)partial;
    (void)offset;
    flush_notes(s, index);
    if (index >= s->n_files)
        return;
    gz_file *f = &s->files[index];
    const char *shown = strcmp(f->path, "-") == 0 ? "stdin" : f->path;
    int e = errnum ? errnum : in->err;

    /* The plugin writes at least one member for every input, an empty one
     * included: no output for a good input would be an engine bug, and
     * must never become an empty .gz. */
    if (!e && !message && !f->got_output)
        message = "no compressed output was produced";
    if (!e && !message && f->out_path && !f->err) {
        if (f->fd >= 0)
            f->err = commit(f);
        if (!f->err && !s->keep && unlink(f->path) != 0) {
            say(s, "%s: %s", shown, strerror(errno));
            set_status(s, EXIT_ERROR);
        }
    }
    if (e || message || f->err) {
        discard_tmp(f);
        if (e)
            say(s, "%s: %s", shown, strerror(e));
        else if (message)
            say(s, "%s: %s", shown, *message ? message : "failed");
        else
            say(s, "%s: %s", f->out_path ? f->out_path : "stdout",
                strerror(f->err));
        set_status(s, EXIT_ERROR);
    }
}

/* ------------------------------------------------------------- options */

enum {
    OPT_LEVEL = 256, /* -10 .. -12, rewritten to --level=N */
    OPT_HELP,
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
    {"jobs", required_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"decompress", no_argument, NULL, 'd'},
    {"uncompress", no_argument, NULL, 'd'},
    {"test", no_argument, NULL, 't'},
    {"list", no_argument, NULL, 'l'},
    {"recursive", no_argument, NULL, 'r'},
    {"level", required_argument, NULL, OPT_LEVEL},
    {NULL, 0, NULL, 0},
};

static void try_help(const char *prog)
{
    /* gzip 1.12's wording, quotes included */
    fprintf(stderr, "Try `%s --help' for more information.\n", prog);
}

static void usage(const char *prog)
{
    printf("Usage: %s [OPTION]... [FILE]...\n", prog);
    fputs("Compress FILEs in parallel (by default, in-place) into standard "
          "gzip that any\n"
          "gunzip, zcat or pigz reads.  Each FILE becomes FILE.gz, "
          "committed atomically.\n"
          "\n"
          "Mandatory arguments to long options are mandatory for short "
          "options too.\n"
          "\n"
          "  -c, --stdout      write on standard output, keep original "
          "files unchanged\n"
          "  -f, --force       force overwrite of output file and compress "
          "links\n"
          "  -h, --help        give this help\n"
          "  -k, --keep        keep (don't delete) input files\n"
          "  -n, --no-name     do not save the original name and timestamp\n"
          "  -N, --name        save the original name and timestamp "
          "(default)\n"
          "  -q, --quiet       suppress all warnings\n"
          "  -S, --suffix=SUF  use suffix SUF on compressed files "
          "(default .gz)\n"
          "  -V, --version     display version number\n"
          "  -1, --fast        compress faster\n"
          "  -9, --best        compress better\n"
          "  -10, -11, -12     compress even better, more slowly (like "
          "pigz -11)\n"
          "  -j, --jobs=N      worker processes (default: the number of "
          "online CPUs;\n"
          "                      0: compress in this process)\n"
          "\n"
          "With no FILE, or when FILE is -, read standard input.\n"
          "Decompression (-d, -t, -l) and -r are not available in sluice "
          "yet.\n",
          stdout);
}

static int flush_stdio(const gz_state *s)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return EXIT_OK;
    say(s, "write error: %s", strerror(errno));
    return EXIT_ERROR;
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
    if (n > sl && strcasecmp(name + n - sl, suffix) == 0)
        return suffix;
    for (int i = 0; list[i]; i++) {
        size_t l = strlen(list[i]);
        if (n > l && strcasecmp(name + n - l, list[i]) == 0)
            return list[i];
    }
    return NULL;
}

/* gzip's treat_file checks for one operand: 0 when it is to be
 * compressed (st filled), 1 when skipped (message queued, status set),
 * -1 out of memory. */
static int check_operand(gz_state *s, const char *path, uint32_t before,
                         struct stat *st)
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
    if (s->to_stdout)
        return 0;
    const char *suf = known_suffix(path, s->suffix);
    if (suf) {
        /* gzip: a message, but no effect on the exit status */
        if (s->quiet)
            return 1;
        return cli_notes_add(&s->notes, before,
                             "%s already has %s suffix -- unchanged", path,
                             suf) < 0
                   ? -1
                   : 1;
    }
    return 0;
}

/* Fills f's output and temporary paths; 0, 1 when skipped, -1 no memory. */
static int plan_output(gz_state *s, gz_file *f, uint32_t before)
{
    if (asprintf(&f->out_path, "%s%s", f->path, s->suffix) < 0) {
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

/* ---------------------------------------------------------------- main */

int cli_gzip_main(int argc, char **argv, const cli_env *env)
{
    gz_state s = {.prog = argv[0], .level = 6, .suffix = ".gz"};
    sluice_plugin_handle *plugin = NULL;
    sluice_job *job = NULL;
    sluice_job_opts opts = {.jobs = -1, .chunk_size = CHUNK_SIZE};
    int status = EXIT_ERROR;
    char err[512] = "";

    rewrite_levels(argc, argv);
    int c;
    while ((c = getopt_long(argc, argv, "123456789cfhkNnqS:Vj:dtlr",
                            long_options, NULL)) != -1) {
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
        case 'f':
            s.force = true;
            break;
        case 'k':
            s.keep = true;
            break;
        case 'n':
            s.no_name = true;
            break;
        case 'N':
            s.no_name = false;
            break;
        case 'q':
            s.quiet = true;
            break;
        case 'S':
            s.suffix = optarg;
            break;
        case 'j': {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (!(*optarg >= '0' && *optarg <= '9') || *end || errno ||
                v > MAX_JOBS) {
                say(&s, "invalid number of jobs: '%s'", optarg);
                status = EXIT_CONFIG;
                goto done;
            }
            opts.jobs = (int)v;
            break;
        }
        case 'h':
            usage(s.prog);
            status = flush_stdio(&s);
            goto done;
        case 'V':
            printf("%s (%s) %s\n", s.prog, env->prog, env->version);
            status = flush_stdio(&s);
            goto done;
        case 'd':
        case 't':
        case 'l':
            say(&s, "decompression (-d, -t, -l) is not available in sluice "
                    "yet; its output is standard gzip that any gunzip "
                    "reads (gzip -d, zcat, pigz -d)");
            goto done;
        case 'r':
            say(&s, "-r (recursive) is not available in sluice yet");
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

    static char dash[] = "-";
    static char *stdin_only[] = {dash, NULL};
    char **names = optind < argc ? argv + optind : stdin_only;
    size_t n_names = optind < argc ? (size_t)(argc - optind) : 1;

    /* gzip refuses before doing anything else. */
    for (size_t i = 0; i < n_names; i++) {
        if (strcmp(names[i], "-") == 0 && !s.force && isatty(STDOUT_FILENO)) {
            say(&s, "compressed data not written to a terminal. Use -f to "
                    "force compression.");
            fprintf(stderr, "For help, type: %s -h\n", s.prog);
            goto done;
        }
    }

    if (sluice_plugin_open("gzip", env->self_exe, &plugin, err, sizeof err) <
        0) {
        say(&s, "%s", err);
        status = EXIT_CONFIG;
        goto done;
    }
    char level[8];
    snprintf(level, sizeof level, "%d", s.level);
    if (cli_set_plugin_option(s.prog, plugin, "level", level) < 0 ||
        cli_set_plugin_option(s.prog, plugin, "no_name",
                              s.no_name ? "true" : "false") < 0) {
        status = EXIT_CONFIG;
        goto done;
    }

    s.files = calloc(n_names, sizeof *s.files);
    if (!s.files) {
        say(&s, "%s", strerror(ENOMEM));
        goto done;
    }
    sluice_callbacks cb = {
        .user = &s, .on_input = on_input, .on_output = on_output};
    int rc = sluice_job_new(plugin, &opts, &cb, &job, err, sizeof err);
    if (rc < 0) {
        say(&s, "%s", err[0] ? err : sluice_strerror(rc));
        status = EXIT_CONFIG;
        goto done;
    }

    for (size_t i = 0; i < n_names; i++) {
        const char *name = names[i];
        uint32_t before = sluice_job_inputs(job);
        gz_file *f = &s.files[before];
        memset(f, 0, sizeof *f);
        f->fd = -1;
        f->path = name;
        int k = 0;
        if (strcmp(name, "-") != 0) {
            k = check_operand(&s, name, before, &f->st);
            if (k == 0 && !s.to_stdout)
                k = plan_output(&s, f, before);
        }
        if (k < 0) {
            say(&s, "%s", strerror(ENOMEM));
            goto done;
        }
        if (k > 0) {
            free(f->out_path);
            free(f->tmp_path);
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
    install_handlers();

    rc = sluice_job_run(job, err, sizeof err);
    flush_notes(&s, UINT32_MAX);
    if (rc < 0 && rc != SLUICE_EINPUT) {
        if (s.stdout_errno) {
            say(&s, "stdout: %s", strerror(s.stdout_errno));
            status = EXIT_ERROR;
        } else {
            say(&s, "%s", err[0] ? err : sluice_strerror(rc));
            status = EXIT_JOB;
        }
        goto done;
    }
    if (s.stdout_errno) {
        say(&s, "stdout: %s", strerror(s.stdout_errno));
        set_status(&s, EXIT_ERROR);
    }
    status = s.exit_code;

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
    }
    free(s.files);
    cli_notes_free(&s.notes);
    return status;
}
