/*
 * run.c -- any plugin from the command line: `sluice run`, `sluice
 * plugins`, `sluice plugin check`.
 *
 * `sluice run PLUGIN [-P key=value]... [--] PATH...` runs a job with the
 * plugin (a name on the plugin path, or a path to a .so when it holds a
 * '/').  Every -P is validated against the plugin's schema before a worker
 * starts.  What comes out depends on what the plugin declares:
 *
 *   SLUICE_CAP_ORDERED   its output, to stdout, in input order;
 *   counters             like wc: one line per input with each counter,
 *                        then `total` (the inputs' partials merged in
 *                        order with the plugin's own merge); --json,
 *                        --csv and --summary as `sluice wc` has them.
 *
 * Inputs take the same forms as `sluice wc`'s: files, directories (walked),
 * stdin, archives with -z.  Failed inputs are reported by name with the
 * plugin's message and offset; the exit status is then 1.
 *
 * `sluice plugins` and `sluice plugin check` load plugins in a child
 * process, so a plugin that crashes while loading (its constructors run at
 * dlopen) is reported, not fatal.  `plugin check` also warns, on stderr and
 * with status 0, about descriptor fields that a plugin sets but the host
 * ignores because they are newer than the ABI version it declares.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "quote.h"
#include "report.h"
#include "run.h"

enum {
    EXIT_CONFIG = 2, /* options, the plugin, the job setup */
    EXIT_OUTPUT = 3, /* output could not be written */
    EXIT_JOB = 5,    /* the job failed */
};

/* ------------------------------------------------------------ plugin info */

static void print_caps(FILE *f, uint32_t caps)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {SLUICE_CAP_MERGE, "merge"},
        {SLUICE_CAP_ORDERED, "ordered"},
        {SLUICE_CAP_RECORDS, "records"},
        {SLUICE_CAP_WHOLE_UNIT, "whole-unit"},
        {SLUICE_CAP_WHOLE_FILE, "whole-file"},
    };
    int any = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (caps & names[i].bit) {
            fprintf(f, "%s%s", any ? " " : "", names[i].name);
            any = 1;
        }
    if (!any)
        fputs("none", f);
    fputc('\n', f);
}

static const char *type_name(sluice_opt_type t)
{
    switch (t) {
    case SLUICE_OPT_BOOL:
        return "bool";
    case SLUICE_OPT_INT:
        return "int";
    case SLUICE_OPT_STRING:
        return "string";
    case SLUICE_OPT_ENUM:
        return "enum";
    }
    return "?";
}

static void print_options(FILE *f, const sluice_plugin *d)
{
    if (d->n_options == 0) {
        fputs("options: none\n", f);
        return;
    }
    fputs("options:\n", f);
    for (uint32_t i = 0; i < d->n_options; i++) {
        const sluice_option *o = &d->options[i];
        fprintf(f, "  -P %s=%s", o->key,
                o->type == SLUICE_OPT_ENUM ? o->choices : type_name(o->type));
        fprintf(f, "  (default %s)",
                *o->default_value ? o->default_value : "empty");
        if (o->help && *o->help)
            fprintf(f, "\n      %s", o->help);
        fputc('\n', f);
    }
}

/* Everything a plugin declares, for `plugin check` and `run --help`. */
static void describe(FILE *f, const sluice_plugin *d, const char *path)
{
    fprintf(f, "plugin: %s %s\n", d->name, d->version ? d->version : "");
    if (d->description)
        fprintf(f, "description: %s\n", d->description);
    if (d->license)
        fprintf(f, "license: %s\n", d->license);
    fprintf(f, "file: %s\n", path);
    fprintf(f, "abi: %u.%u (this sluice: %d.%d)\n", d->abi_major, d->abi_minor,
            SLUICE_PLUGIN_ABI_MAJOR, SLUICE_PLUGIN_ABI_MINOR);
    fputs("capabilities: ", f);
    print_caps(f, d->caps);
    if (d->n_counters) {
        fputs("counters:", f);
        for (uint32_t i = 0; i < d->n_counters; i++)
            fprintf(f, " %s", d->counter_names[i]);
        fputc('\n', f);
    }
    print_options(f, d);
}

/* ------------------------------------------------------ loading in a child */

/* Runs fn(arg) in a child process with stdout going where ours goes;
 * returns its exit status, or 128 + the signal that killed it (and the
 * signal in *sig). */
static int in_child(int (*fn)(void *), void *arg, int *sig)
{
    *sig = 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int rc = fn(arg);
        fflush(NULL);
        _exit(rc);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFSIGNALED(status)) {
        *sig = WTERMSIG(status);
        return 128 + *sig;
    }
    return WEXITSTATUS(status);
}

typedef struct check_arg {
    const char *prog;
    const char *path;
    const char *self_exe;
} check_arg;

/* A crash while loading must end the child by its signal, even where a
 * sanitizer's handler would turn it into an exit status. */
static void default_crash_signals(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
}

static int check_child(void *p)
{
    const check_arg *a = p;
    default_crash_signals();
    sluice_plugin_handle *h;
    char err[1024];
    if (sluice_plugin_open(a->path, a->self_exe, &h, err, sizeof err) < 0) {
        const char *why = err;
        size_t pl = strlen(a->path);
        if (!strncmp(why, a->path, pl) && !strncmp(why + pl, ": ", 2))
            why += pl + 2; /* the path is printed anyway */
        printf("%s: cannot load: %s\n", a->path, why);
        return 1;
    }
    const sluice_plugin *d = sluice_plugin_get(h);
    describe(stdout, d, sluice_plugin_path(h));
    printf("result: loads\n");
    /* It loads, but does not do all its author meant: say so after the
     * report, on stderr.  The status stays 0. */
    const char *ignored[8];
    size_t max = sizeof ignored / sizeof *ignored;
    size_t n = sluice_plugin_ignored_fields(h, ignored, max);
    fflush(stdout);
    for (size_t i = 0; i < n && i < max; i++)
        fprintf(stderr,
                "%s: warning: %s is set but ignored: the plugin declares "
                "ABI %u.%u\n",
                a->path, ignored[i], d->abi_major, d->abi_minor);
    sluice_plugin_close(h);
    return 0;
}

int cli_plugin_main(int argc, char **argv, const cli_env *env)
{
    const char *prog = argv[0];
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("Usage: %s check FILE|NAME\n"
               "Load a plugin in a child process and print its ABI version,\n"
               "capabilities, counters and options, or why it cannot load.\n"
               "Warns on stderr about fields it sets that are newer than the\n"
               "ABI version it declares (they are ignored).\n"
               "Exit status: 0 when it loads, 1 when it does not.\n",
               prog);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "check") != 0) {
        cli_message(prog, 0, "usage: %s check FILE|NAME", prog);
        return EXIT_CONFIG;
    }
    check_arg a = {.prog = prog, .path = argv[2], .self_exe = env->self_exe};
    int sig;
    int rc = in_child(check_child, &a, &sig);
    if (sig) {
        printf("%s: cannot load: the plugin crashed while loading (%s)\n",
               argv[2], strsignal(sig));
        return 1;
    }
    if (rc < 0) {
        cli_message(prog, errno, "cannot start a child process");
        return EXIT_CONFIG;
    }
    return rc == 0 ? 0 : 1;
}

/* `sluice plugins`: one line per plugin found. */
typedef struct list_state {
    const char *self_exe;
    int failed;
} list_state;

static int list_child(void *p)
{
    const char *path = p;
    default_crash_signals();
    sluice_plugin_handle *h;
    char err[1024];
    if (sluice_plugin_open(path, NULL, &h, err, sizeof err) < 0) {
        const char *why = err;
        size_t pl = strlen(path);
        if (!strncmp(why, path, pl) && !strncmp(why + pl, ": ", 2))
            why += pl + 2; /* the path is printed anyway */
        printf("?  (cannot load: %s)", why);
        return 1;
    }
    const sluice_plugin *d = sluice_plugin_get(h);
    printf("%-8s %s", d->version ? d->version : "",
           d->description ? d->description : "");
    sluice_plugin_close(h);
    return 0;
}

static void list_one(void *user, const char *name, const char *path)
{
    list_state *s = user;
    printf("%-10s ", name);
    int sig;
    int rc = in_child(list_child, (void *)path, &sig);
    if (sig)
        printf("?  (cannot load: crashed while loading: %s)", strsignal(sig));
    if (rc != 0)
        s->failed = 1;
    char *real = realpath(path, NULL);
    printf("\n           %s\n", real ? real : path);
    free(real);
}

int cli_plugins_main(int argc, char **argv, const cli_env *env)
{
    const char *prog = argv[0];
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("Usage: %s\n"
               "List the plugins found (SLUICE_PLUGIN_PATH, the build tree,\n"
               "the installed plugin directory, in that order; the first of\n"
               "a name wins): name, version, description, and file.\n",
               prog);
        return 0;
    }
    if (argc > 1) {
        cli_message(prog, 0, "extra operand %s", quote(argv[1]));
        return EXIT_CONFIG;
    }
    list_state s = {.self_exe = env->self_exe};
    int n = sluice_plugin_list(env->self_exe, list_one, &s);
    if (n == 0)
        cli_message(prog, 0, "no plugins found");
    return s.failed || n == 0 ? 1 : 0;
}

/* ------------------------------------------------------------- sluice run */

typedef struct run_state {
    const char *prog;
    sluice_job *job;
    const sluice_plugin *d;
    bool counting;   /* the plugin has counters: a table */
    uint64_t *cv;    /* n_counters values */
    void *total;     /* merged partial of every input counted */
    bool total_used; /* some input was merged into total */
    uint64_t rows;   /* inputs with a row */
    bool ok;         /* no input failed */
    bool poisoned;   /* --keep-going skipped a poisoned unit */
    FILE *joblog;    /* --joblog, or NULL */
    const char *joblog_path;
    int resume;  /* --resume */
    cli_out out; /* stdout */
    report rep;
    cli_progress progress;
} run_state;

#define OUT_CAP (64 * 1024)

static void out_flush(run_state *s)
{
    cli_out_flush(&s->out);
}

static void out_write(run_state *s, const char *p, size_t n)
{
    cli_out_write(&s->out, p, n);
}

static void rep_write(void *arg, const char *p, size_t n)
{
    out_write(arg, p, n);
}

/* A text row: every counter right-aligned in 7 columns (wider when it
 * must), then the name. */
static void rep_text(void *arg, const uint64_t *v, const char *name)
{
    run_state *s = arg;
    char buf[32];
    for (uint32_t i = 0; i < s->d->n_counters; i++) {
        int n = snprintf(buf, sizeof buf, "%s%7" PRIu64, i ? " " : "", v[i]);
        out_write(s, buf, (size_t)n);
    }
    if (name) {
        out_write(s, " ", 1);
        out_write(s, name, strlen(name));
    }
    out_write(s, "\n", 1);
}

static void run_error(run_state *s, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void run_error(run_state *s, int errnum, const char *fmt, ...)
{
    out_flush(s);
    cli_progress_clear();
    va_list ap;
    va_start(ap, fmt);
    cli_vmessage(s->prog, errnum, fmt, ap);
    va_end(ap);
}

static void on_input(void *user, uint32_t index, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    (void)index;
    run_state *s = user;
    if (errnum == SLUICE_ESKIPPED)
        return;
    const char *name = in->path;
    bool failed = errnum != 0 || in->err != 0;
    if (s->counting && partial) {
        sluice_job_counters(s->job, partial, s->cv);
        cli_progress_clear();
        if (!report_row(&s->rep, name, s->cv) && !s->rep.summary)
            rep_text(s, s->cv, name);
        if (sluice_job_merge(s->job, s->total, partial) == 0)
            s->total_used = true;
        s->rows++;
    }
    if (!failed)
        return;
    s->ok = false;
    if (errnum == SLUICE_EWORKER)
        s->poisoned = true;
    /* A plugin's message and offset come first, then strerror(errnum). */
    int e = errnum > 0 ? errnum : errnum == 0 ? in->err : 0;
    if (message && *message && offset != UINT64_MAX)
        run_error(s, e, "%s: offset %" PRIu64 ": %s", quotef(name), offset,
                  message);
    else if (message && *message)
        run_error(s, e, "%s: %s", quotef(name), message);
    else if (e)
        run_error(s, e, "%s", quotef(name));
    else if (offset != UINT64_MAX)
        run_error(s, 0, "%s: offset %" PRIu64 ": %s", quotef(name), offset,
                  message && *message ? message : "failed");
    else
        run_error(s, 0, "%s: %s", quotef(name),
                  message && *message ? message
                                      : sluice_strerror(errnum ? errnum : -1));
}

static int on_output(void *user, uint32_t input, const void *data, size_t len)
{
    (void)input;
    run_state *s = user;
    cli_progress_clear();
    out_write(s, data, len);
    return s->out.err ? -s->out.err : 0;
}

static void on_unit(void *user, const sluice_unit_done *u)
{
    run_state *s = user;
    cli_joblog_unit(s->joblog, u);
}

static void on_progress(void *user, const sluice_progress *p)
{
    run_state *s = user;
    cli_progress_update(&s->progress, p);
}

/* The shared options run takes (options.h). */
#define RUN_GROUPS                                                             \
    (CLI_OPTS_JOBS | CLI_OPTS_CHUNK | CLI_OPTS_SUPERVISE | CLI_OPTS_JOBLOG |   \
     CLI_OPTS_FILTER | CLI_OPTS_WALK | CLI_OPTS_ARCHIVES | CLI_OPTS_PROGRESS)

static void run_usage(const char *prog)
{
    printf("Usage: %s PLUGIN [OPTION]... [--] [PATH]...\n"
           "Run PLUGIN (a name on the plugin path, or a path to a .so) over\n"
           "each PATH: files, directories (walked as `sluice wc` walks "
           "them),\n"
           "or - for standard input (the default).  A plugin that writes "
           "output\n"
           "has it printed in input order; one with counters gets a line "
           "per\n"
           "input and a total.\n"
           "\n"
           "  -P KEY=VALUE           set a plugin option (checked against "
           "its\n"
           "                           schema before anything runs)\n"
           "      --json, --csv      counters as JSON or CSV\n"
           "      --summary          the total only\n"
           "      --help             with PLUGIN: the plugin's description "
           "and options\n",
           prog);
    cli_opts_help(stdout, RUN_GROUPS);
    fputs("\n"
          "Exit status: 0 success, 1 some input failed, 2 bad options or "
          "plugin,\n"
          "3 output failed, 5 the job failed.\n",
          stdout);
}

enum {
    OPT_JSON = 256,
    OPT_CSV,
    OPT_SUMMARY,
    OPT_HELP,
};

static const struct option run_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"csv", no_argument, NULL, OPT_CSV},
    {"summary", no_argument, NULL, OPT_SUMMARY},
    {"help", no_argument, NULL, OPT_HELP},
    CLI_JOBS_OPTIONS,
    CLI_CHUNK_OPTIONS,
    CLI_SUPERVISE_OPTIONS,
    CLI_JOBLOG_OPTIONS,
    CLI_FILTER_OPTIONS,
    CLI_WALK_OPTIONS,
    CLI_ARCHIVES_OPTIONS,
    CLI_PROGRESS_OPTIONS,
    {NULL, 0, NULL, 0},
};

int cli_run_main(int argc, char **argv, const cli_env *env)
{
    const char *prog = argv[0];
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        if (argc < 2) {
            cli_message(prog, 0, "missing plugin");
            cli_try_help(prog);
            return EXIT_CONFIG;
        }
        run_usage(prog);
        return cli_flush_stdout(prog) < 0 ? 1 : 0;
    }
    const char *name = argv[1];
    run_state s = {.prog = prog, .ok = true};
    sluice_plugin_handle *plugin = NULL;
    sluice_job *job = NULL;
    cli_opts o;
    char **pk = NULL; /* -P arguments */
    size_t npk = 0;
    bool want_help = false;
    int status = EXIT_CONFIG;
    char err[1024] = "";

    /* Options come after the plugin's name. */
    argv[1] = argv[0];
    argv++;
    argc--;
    cli_opts_init(&o, prog, RUN_GROUPS);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "P:j:z", run_options, NULL)) != -1) {
        int sv = cli_opts_parse(&o, c, optarg);
        if (sv < 0)
            goto done; /* EXIT_CONFIG */
        if (sv > 0)
            continue;
        switch (c) {
        case 'P': {
            char **p = realloc(pk, (npk + 1) * sizeof *p);
            if (!p)
                goto oom;
            pk = p;
            pk[npk++] = optarg;
            break;
        }
        case OPT_JSON:
            s.rep.format = REPORT_JSON;
            break;
        case OPT_CSV:
            s.rep.format = REPORT_CSV;
            break;
        case OPT_SUMMARY:
            s.rep.summary = true;
            break;
        case OPT_HELP:
            want_help = true;
            break;
        default:
            cli_try_help(prog);
            goto done;
        }
    }
    s.joblog_path = o.joblog_path;
    s.resume = o.resume;

    if (sluice_plugin_open(name, env->self_exe, &plugin, err, sizeof err) < 0) {
        cli_message(prog, 0, "%s", err);
        goto done;
    }
    s.d = sluice_plugin_get(plugin);
    if (want_help) {
        describe(stdout, s.d, sluice_plugin_path(plugin));
        status = cli_flush_stdout(prog) < 0 ? 1 : 0;
        goto done;
    }
    /* Every option is checked before anything runs. */
    for (size_t i = 0; i < npk; i++) {
        char *eq = strchr(pk[i], '=');
        if (!eq) {
            cli_message(prog, 0, "-P %s: expected KEY=VALUE", quote(pk[i]));
            goto done;
        }
        *eq = '\0';
        int rc = cli_set_plugin_option(prog, plugin, pk[i], eq + 1);
        *eq = '=';
        if (rc < 0)
            goto done;
    }

    s.counting = s.d->n_counters > 0 && (s.d->caps & SLUICE_CAP_MERGE);
    int out_rc = cli_out_init(&s.out, STDOUT_FILENO, OUT_CAP);
    s.cv = calloc(s.d->n_counters ? s.d->n_counters : 1, sizeof *s.cv);
    s.total = calloc(1, s.d->partial_size ? s.d->partial_size : 1);
    if (out_rc < 0 || !s.cv || !s.total)
        goto oom;
    if (s.rep.format != REPORT_TEXT || s.rep.summary) {
        if (!s.counting) {
            cli_message(prog, 0,
                        "plugin %s has no counters: --json, --csv and "
                        "--summary need them",
                        s.d->name);
            goto done;
        }
    }
    s.rep.ncols = (int)s.d->n_counters;
    s.rep.cols = (const char *const *)s.d->counter_names;
    s.rep.write = rep_write;
    s.rep.text = rep_text;
    s.rep.arg = &s;

    if (s.resume && !s.joblog_path) {
        cli_message(prog, 0, "--resume needs --joblog=FILE");
        goto done;
    }
    sluice_callbacks cb = {.user = &s,
                           .on_input = on_input,
                           .on_output = on_output,
                           .on_progress = on_progress,
                           .on_unit = s.joblog_path ? on_unit : NULL};
    cli_progress_init(&s.progress, prog, o.progress_force);
    int rc = sluice_job_new(plugin, &o.job, &cb, &job, err, sizeof err);
    if (rc < 0) {
        cli_message(prog, 0, "%s", err[0] ? err : sluice_strerror(rc));
        goto done;
    }
    s.job = job;
    if (s.joblog_path &&
        !(s.joblog = cli_joblog_open(prog, s.joblog_path, job, s.resume)))
        goto done;
    cli_opts_apply(&o, job);
    sluice_job_partial_init(job, s.total);
    if (s.counting)
        report_begin(&s.rep);
    if (optind == argc) {
        rc = sluice_job_add(job, "-", 0);
    } else {
        for (int i = optind; i < argc && rc >= 0; i++)
            rc = sluice_job_add(job, argv[i], o.add_flags);
    }
    if (rc < 0) {
        cli_message(prog, 0, "%s", sluice_strerror(rc));
        goto done;
    }
    cli_signals_install(NULL);
    rc = cli_job_run(job, err, sizeof err);
    cli_progress_done(&s.progress);
    if (rc < 0 && rc != SLUICE_EINPUT) {
        run_error(&s, 0, "%s", err[0] ? err : sluice_strerror(rc));
        status = rc == SLUICE_EOUTPUT   ? EXIT_OUTPUT
                 : rc == SLUICE_ERESUME ? EXIT_CONFIG
                                        : EXIT_JOB;
        goto done;
    }
    if (s.counting) {
        if (s.total_used)
            sluice_job_counters(job, s.total, s.cv);
        else
            memset(s.cv, 0, s.d->n_counters * sizeof *s.cv);
        bool with_total = s.rep.summary || s.rows > 1;
        report_end(&s.rep, s.cv, with_total);
        if (s.rep.format == REPORT_TEXT && with_total)
            rep_text(&s, s.cv, "total");
    }
    status = s.poisoned ? EXIT_JOB : s.ok ? 0 : 1;
    goto done;
oom:
    cli_message(prog, ENOMEM, "%s", name);
    status = EXIT_CONFIG;
done:
    if (s.joblog && cli_joblog_close(prog, s.joblog_path, s.joblog) < 0 &&
        (status == 0 || status == 1))
        status = EXIT_OUTPUT;
    if (s.out.buf) {
        out_flush(&s);
        if (s.out.err) {
            cli_message(prog, s.out.err, "write error");
            if (status == 0 || status == 1)
                status = EXIT_OUTPUT;
        }
    }
    if (job)
        sluice_job_free(job);
    if (plugin)
        sluice_plugin_close(plugin);
    report_free(&s.rep);
    cli_out_free(&s.out);
    free(s.cv);
    free(s.total);
    free(pk);
    cli_opts_free(&o);
    return status;
}
