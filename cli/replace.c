/*
 * replace.c -- `sluice replace FROM TO [PATH]...`: every occurrence of
 * FROM in every line replaced by TO, with the replace plugin.
 *
 * FROM and TO are literal bytes; with -E, FROM is a POSIX extended regex
 * and TO may use \1..\9 and & (sed's s///g, see plugins/replace).
 *
 * Where the output goes:
 *   default        stdout, every input's output in input order (like sed);
 *   -o DIR         one file per input, DIR/PATH (the input's path with a
 *                  leading '/' dropped), mirroring the tree; a file already
 *                  there (from before, from another input of this run, or
 *                  made by another process meanwhile) is not overwritten
 *                  unless -f;
 *   --in-place     each input file rewritten.
 * Every output file is written to a temporary file in its directory and,
 * once the engine reports its input done without error, fsynced, given
 * the input's mode, committed under its name (cli_commit: --in-place only
 * if the name still holds the file that was read) and the directory
 * fsynced: a partial file never appears under the final name, and an
 * input that fails leaves the old file (or none) in place.  Paths with a `..`
 * component are refused with -o (they would escape DIR).  Inputs arrive in
 * order, so at most one temporary file exists at a time; SIGINT, SIGTERM
 * and SIGHUP remove it and end sluice by the signal (cli_signals_install).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commit.h"
#include "quote.h"
#include "replace.h"

enum {
    EXIT_CONFIG = 2,
    EXIT_OUTPUT = 3,
    EXIT_JOB = 5,
};

enum { MODE_STDOUT, MODE_DIR, MODE_IN_PLACE };

#define BUF_CAP (256 * 1024)
#define DEFAULT_CHUNK (4 * 1024 * 1024)    /* the engine's default */
#define DEFAULT_MAX_LINE (4 * 1024 * 1024) /* --max-line */

/* The one temporary file that may exist, for the signal handler. */
static char tmp_for_signal[4096];
static volatile sig_atomic_t tmp_live;

/* The signal path's cleanup (cli_signals_install): async-signal-safe. */
static void remove_tmp(void)
{
    if (tmp_live)
        unlink(tmp_for_signal);
}

typedef struct rp_state {
    const char *prog;
    int mode;
    const char *dir; /* -o */
    bool force;      /* -f: -o replaces existing files */
    bool ok;
    int fatal; /* an output could not be written: exit 3 */
    /* stdout or the current output file */
    char *buf;
    size_t len;
    int fd;           /* where buf goes */
    int64_t cur;      /* input whose file is open, or -1 */
    char *final_path; /* its name */
    int failed_write; /* errno of a failed write to it */
    int out_errno;    /* errno of a failed write to stdout */
    int64_t refused;  /* input whose output could not be opened, or -1 */
    /* stdout: like sed, an input whose last line has no newline gets one
     * when more output follows */
    char last;        /* last byte written for the current input */
    bool newline_due; /* write '\n' before the next output */
    sluice_job *job;
    cli_progress progress;
} rp_state;

static void msg(rp_state *s, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void msg(rp_state *s, int errnum, const char *fmt, ...)
{
    cli_progress_clear();
    va_list ap;
    va_start(ap, fmt);
    cli_vmessage(s->prog, errnum, fmt, ap);
    va_end(ap);
}

static int buf_flush(rp_state *s)
{
    int rc = -cli_write_all(s->fd, s->buf, s->len);
    s->len = 0;
    return rc;
}

/* Creates the directories leading to `path` (for -o). */
static int make_parents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        int e = errno;
        *p = '/';
        if (rc != 0 && e != EEXIST)
            return -e;
    }
    return 0;
}

/* Where input `path` goes: DIR/path, or path itself; NULL when refused
 * (a `..` component), with *why set. */
static char *target_of(rp_state *s, const char *path, const char **why)
{
    if (s->mode == MODE_IN_PLACE) {
        /* a symbolic link: the file it names is rewritten, the link
         * stays (that is the file that was read) */
        struct stat st;
        char *real = lstat(path, &st) == 0 && S_ISLNK(st.st_mode)
                         ? realpath(path, NULL)
                         : NULL;
        return real ? real : strdup(path);
    }
    const char *rel = path;
    while (*rel == '/')
        rel++;
    for (const char *p = rel; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            *why = "a '..' in the path would leave the output directory";
            return NULL;
        }
        p += n;
        while (*p == '/')
            p++;
    }
    char *t = NULL;
    if (asprintf(&t, "%s/%s", s->dir, rel) < 0)
        return NULL;
    return t;
}

/* Opens the temporary file for input `i` named `path`. */
static int open_output(rp_state *s, uint32_t i, const char *path)
{
    const char *why = "out of memory";
    char *target = target_of(s, path, &why);
    if (!target) {
        msg(s, 0, "%s: %s", quotef(path), why);
        return -1;
    }
    if (s->mode == MODE_DIR) {
        int rc = make_parents(target);
        if (rc < 0) {
            msg(s, -rc, "%s", quotef(target));
            free(target);
            return -1;
        }
    }
    const char *slash = strrchr(target, '/');
    int dlen = slash ? (int)(slash - target) + 1 : 0;
    int n = snprintf(tmp_for_signal, sizeof tmp_for_signal, "%.*s.%s.XXXXXX",
                     dlen, target, slash ? slash + 1 : target);
    if (n < 0 || (size_t)n >= sizeof tmp_for_signal) {
        msg(s, ENAMETOOLONG, "%s", quotef(target));
        free(target);
        return -1;
    }
    int fd = mkostemp(tmp_for_signal, O_CLOEXEC);
    if (fd < 0) {
        msg(s, errno, "%s", quotef(target));
        free(target);
        return -1;
    }
    tmp_live = 1;
    s->fd = fd;
    s->cur = i;
    s->final_path = target;
    s->failed_write = 0;
    return 0;
}

static void drop_output(rp_state *s)
{
    if (s->cur < 0)
        return;
    s->len = 0;
    close(s->fd);
    unlink(tmp_for_signal);
    tmp_live = 0;
    free(s->final_path);
    s->final_path = NULL;
    s->cur = -1;
}

/* Flushes, syncs, gives the mode of `st` and commits the output of the
 * current input (cli_commit); 0, or -errno when it could not be written
 * (the temporary file is then gone).  A name already taken, or an input
 * replaced while it was read, fails that input only (s->ok). */
static int commit_output(rp_state *s, const struct stat *st)
{
    int e = -buf_flush(s);
    if (!e && s->failed_write)
        e = s->failed_write;
    if (!e && st && fchmod(s->fd, st->st_mode & 07777) != 0)
        e = errno;
    if (!e && st && s->mode == MODE_IN_PLACE && geteuid() == 0 &&
        fchown(s->fd, st->st_uid, st->st_gid) != 0)
        e = errno;
    if (!e && fsync(s->fd) != 0)
        e = errno;
    if (close(s->fd) != 0 && !e)
        e = errno;
    if (e) {
        unlink(tmp_for_signal);
    } else {
        /* -o: a name another input of this run or another process took
         * is not overwritten without --force; --in-place: the file must
         * still be the one that was read. */
        cli_commit_how how = s->mode == MODE_IN_PLACE
                                 ? (st ? CLI_COMMIT_SAME : CLI_COMMIT_REPLACE)
                             : s->force ? CLI_COMMIT_REPLACE
                                        : CLI_COMMIT_NEW;
        e = cli_commit(tmp_for_signal, s->final_path, how, st, &tmp_live);
    }
    tmp_live = 0;
    int rc = -e;
    if (e == CLI_COMMIT_LEFT) {
        msg(s, 0,
            "%s: replaced by another file while being read, which "
            "could not be put back: it is %s",
            quotef(s->final_path), quotef(tmp_for_signal));
        s->ok = false;
        rc = 0;
    } else if (e == EEXIST) {
        msg(s, 0, "%s: exists; not overwritten (--force replaces it)",
            quotef(s->final_path));
        s->ok = false;
        rc = 0;
    } else if (e == ESTALE) {
        msg(s, 0,
            "%s: replaced by another file while being read; not "
            "rewritten",
            quotef(s->final_path));
        s->ok = false;
        rc = 0;
    } else if (e) {
        msg(s, e, "%s", quotef(s->final_path));
    }
    free(s->final_path);
    s->final_path = NULL;
    s->cur = -1;
    return rc;
}

static int on_output(void *user, uint32_t input, const void *data, size_t len)
{
    rp_state *s = user;
    if (s->mode != MODE_STDOUT && s->cur != (int64_t)input) {
        if (s->refused == (int64_t)input)
            return 0;
        if (open_output(s, input, sluice_job_input(s->job, input)->path) < 0) {
            s->refused = input;
            s->ok = false;
            return 0;
        }
    }
    if (len == 0)
        return 0;
    if (s->mode == MODE_STDOUT && s->newline_due) {
        s->newline_due = false;
        if (on_output(user, input, "\n", 1) < 0)
            return -EIO;
    }
    s->last = ((const char *)data)[len - 1];
    if (s->len + len > BUF_CAP) {
        int rc = buf_flush(s);
        if (rc < 0) {
            if (s->mode == MODE_STDOUT) {
                s->out_errno = -rc;
                return rc;
            }
            s->failed_write = -rc;
        }
    }
    if (len > BUF_CAP) {
        int rc = -cli_write_all(s->fd, data, len);
        if (rc < 0 && s->mode == MODE_STDOUT) {
            s->out_errno = -rc;
            return rc;
        }
        if (rc < 0)
            s->failed_write = -rc;
        return 0;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 0;
}

static void on_input(void *user, uint32_t index, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    (void)partial;
    rp_state *s = user;
    bool failed = errnum != 0 || in->err != 0;
    if (s->mode == MODE_STDOUT) {
        s->newline_due = s->last != '\n' && s->last != 0;
        s->last = 0;
    }
    if (s->mode != MODE_STDOUT && !failed && s->cur != (int64_t)index &&
        s->refused != (int64_t)index) {
        /* No output at all: an empty file. */
        if (open_output(s, index, in->path) < 0) {
            s->refused = index;
            s->ok = false;
        }
    }
    if (s->mode != MODE_STDOUT) {
        if (s->cur == (int64_t)index) {
            if (failed)
                drop_output(s);
            else if (commit_output(s, in->stat_ok ? &in->st : NULL) < 0)
                s->fatal = 1;
        }
    }
    if (!failed)
        return;
    s->ok = false;
    int e = errnum > 0 ? errnum : errnum == 0 ? in->err : 0;
    if (e)
        msg(s, e, "%s", quotef(in->path));
    else if (offset != UINT64_MAX)
        msg(s, 0, "%s: offset %" PRIu64 ": %s", quotef(in->path), offset,
            message && *message ? message : "failed");
    else
        msg(s, 0, "%s: %s", quotef(in->path),
            message && *message ? message : "failed");
}

static void on_progress(void *user, const sluice_progress *p)
{
    rp_state *s = user;
    cli_progress_update(&s->progress, p);
}

/* The shared options replace takes (options.h). */
#define REPLACE_GROUPS                                                         \
    (CLI_OPTS_JOBS | CLI_OPTS_CHUNK | CLI_OPTS_SUPERVISE | CLI_OPTS_FILTER |   \
     CLI_OPTS_WALK | CLI_OPTS_PROGRESS)

static void usage(const char *prog)
{
    printf("Usage: %s [OPTION]... FROM TO [PATH]...\n"
           "Replace every FROM in every line by TO: literal text, or with "
           "-E a POSIX\n"
           "extended regular expression whose TO may use \\1..\\9 and & "
           "(as sed -E\n"
           "'s/FROM/TO/g').  Output in input order: to stdout, one file per "
           "input\n"
           "under DIR (-o), or each file rewritten (--in-place); files are "
           "replaced\n"
           "atomically, and an input that fails leaves its old file.\n"
           "\n"
           "  -E, --regex            FROM is an extended regular "
           "expression\n"
           "  -o, --output-dir=DIR   write DIR/PATH for each input PATH; an "
           "existing\n"
           "                         file is not overwritten\n"
           "  -f, --force            with -o, replace existing files\n"
           "      --in-place         rewrite each input file\n"
           "      --max-line=SIZE    a longer line fails its input "
           "(default 4M)\n",
           prog);
    cli_opts_help(stdout, REPLACE_GROUPS);
    fputs("      --help             display this help and exit\n"
          "\n"
          "With no PATH, or PATH -, read standard input (to stdout only).\n"
          "Exit status: 0 success, 1 some input failed, 2 usage, 3 output "
          "failed.\n",
          stdout);
}

enum {
    OPT_IN_PLACE = 256,
    OPT_MAX_LINE,
    OPT_HELP,
};

static const struct option options[] = {
    {"regex", no_argument, NULL, 'E'},
    {"output-dir", required_argument, NULL, 'o'},
    {"force", no_argument, NULL, 'f'},
    {"in-place", no_argument, NULL, OPT_IN_PLACE},
    {"max-line", required_argument, NULL, OPT_MAX_LINE},
    {"help", no_argument, NULL, OPT_HELP},
    CLI_JOBS_OPTIONS,
    CLI_CHUNK_OPTIONS,
    CLI_SUPERVISE_OPTIONS,
    CLI_FILTER_OPTIONS,
    CLI_WALK_OPTIONS,
    CLI_PROGRESS_OPTIONS,
    {NULL, 0, NULL, 0},
};

int cli_replace_main(int argc, char **argv, const cli_env *env)
{
    const char *prog = argv[0];
    rp_state s = {.prog = prog,
                  .ok = true,
                  .fd = STDOUT_FILENO,
                  .cur = -1,
                  .refused = -1};
    cli_opts o;
    uint64_t max_line = DEFAULT_MAX_LINE;
    bool max_line_given = false;
    bool regex = false;
    int status = EXIT_CONFIG;
    sluice_plugin_handle *plugin = NULL;
    sluice_job *job = NULL;
    char err[1024] = "";
    cli_opts_init(&o, prog, REPLACE_GROUPS);
    int c;
    while ((c = getopt_long(argc, argv, "+Efo:j:", options, NULL)) != -1) {
        int sv = cli_opts_parse(&o, c, optarg);
        if (sv < 0)
            goto done; /* EXIT_CONFIG */
        if (sv > 0)
            continue;
        switch (c) {
        case 'E':
            regex = true;
            break;
        case 'f':
            s.force = true;
            break;
        case 'o':
            s.mode = MODE_DIR;
            s.dir = optarg;
            break;
        case OPT_IN_PLACE:
            s.mode = MODE_IN_PLACE;
            break;
        case OPT_MAX_LINE:
            if (cli_parse_number(prog, "maximum line length", optarg, CLI_SIZE,
                                 1, CLI_MAX_LINE_MAX, &max_line) < 0)
                goto done;
            max_line_given = true;
            break;
        case OPT_HELP:
            usage(prog);
            status = cli_flush_stdout(prog) < 0 ? 1 : 0;
            goto done;
        default:
            cli_try_help(prog);
            goto done;
        }
    }
    if (argc - optind < 2) {
        cli_message(prog, 0, "missing %s",
                    optind == argc ? "FROM and TO" : "TO");
        cli_try_help(prog);
        goto done;
    }
    const char *from = argv[optind], *to = argv[optind + 1];
    optind += 2;
    bool any_stdin = optind == argc;
    for (int i = optind; i < argc; i++)
        any_stdin |= strcmp(argv[i], "-") == 0;
    if (s.mode != MODE_STDOUT && any_stdin) {
        cli_message(prog, 0, "%s needs file operands, not standard input",
                    s.mode == MODE_DIR ? "-o" : "--in-place");
        goto done;
    }

    if (sluice_plugin_open("replace", env->self_exe, &plugin, err, sizeof err) <
        0) {
        cli_message(prog, 0, "%s", err);
        goto done;
    }
    if (cli_set_plugin_option(prog, plugin, "from", from) < 0 ||
        cli_set_plugin_option(prog, plugin, "to", to) < 0 ||
        cli_set_plugin_option(prog, plugin, "regex", regex ? "true" : "false") <
            0)
        goto done;
    /* A unit longer than the longest line allowed: a line the engine cuts
     * (no newline within a unit) is then a line too long.  An explicit
     * --chunk-size without --max-line keeps its units (lines longer than
     * a unit are then cut between units, as documented). */
    char max_line_text[32];
    snprintf(max_line_text, sizeof max_line_text, "%" PRIu64, max_line);
    if (cli_set_plugin_option(prog, plugin, "max_line", max_line_text) < 0)
        goto done;
    if ((max_line_given || !o.job.chunk_size) &&
        (o.job.chunk_size ? o.job.chunk_size : DEFAULT_CHUNK) <= max_line)
        o.job.chunk_size = (size_t)max_line + 1;
    if (!regex && (!*from || strchr(from, '\n'))) {
        cli_message(prog, 0, "FROM must be one non-empty line");
        goto done;
    }
    s.buf = malloc(BUF_CAP);
    if (!s.buf) {
        cli_message(prog, ENOMEM, "%s", "buffer");
        goto done;
    }
    sluice_callbacks cb = {.user = &s,
                           .on_input = on_input,
                           .on_output = on_output,
                           .on_progress = on_progress};
    cli_progress_init(&s.progress, prog, o.progress_force);
    int rc = sluice_job_new(plugin, &o.job, &cb, &job, err, sizeof err);
    if (rc < 0) {
        cli_message(prog, 0, "%s", err[0] ? err : sluice_strerror(rc));
        goto done;
    }
    cli_opts_apply(&o, job);
    if (optind == argc)
        rc = sluice_job_add(job, "-", 0);
    for (int i = optind; i < argc && rc >= 0; i++)
        rc = sluice_job_add(job, argv[i], o.add_flags);
    if (rc < 0) {
        cli_message(prog, 0, "%s", sluice_strerror(rc));
        goto done;
    }
    cli_signals_install(remove_tmp);
    s.job = job;
    rc = cli_job_run(job, err, sizeof err);
    cli_progress_done(&s.progress);
    int frc = s.mode == MODE_STDOUT ? buf_flush(&s) : 0;
    if (frc < 0) {
        cli_message(prog, -frc, "write error");
        status = EXIT_OUTPUT;
        goto done;
    }
    drop_output(&s); /* only after a failed job */
    if (rc < 0 && rc != SLUICE_EINPUT) {
        if (rc == SLUICE_EOUTPUT && s.out_errno)
            cli_message(prog, s.out_errno, "write error");
        else
            msg(&s, 0, "%s", err[0] ? err : sluice_strerror(rc));
        status = rc == SLUICE_EOUTPUT ? EXIT_OUTPUT : EXIT_JOB;
        goto done;
    }
    status = s.fatal ? EXIT_OUTPUT : s.ok ? 0 : 1;
done:
    if (job)
        sluice_job_free(job);
    if (plugin)
        sluice_plugin_close(plugin);
    free(s.buf);
    cli_opts_free(&o);
    return status;
}
