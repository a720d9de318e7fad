/*
 * sluice/sluice.h -- the engine's API, used by the `sluice` command.
 *
 * A job is: one loaded plugin with validated options, a table of inputs
 * (files, walked trees, stdin), and a number of worker processes.  Build the
 * job single-threaded, inspect its inputs (the CLI needs their stat data to
 * lay out columns), then run it.  Results come back through callbacks, in
 * input order, on the calling thread: one per input (its merged partial, or
 * its error), plus ordered output bytes for SLUICE_CAP_ORDERED plugins.
 *
 * Errors are negative SLUICE_E* codes; sluice_strerror() names them.
 * Nothing here is thread-safe; the engine forks, so call it from a process
 * that has not started threads.
 */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sluice/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SLUICE_API __attribute__((visibility("default")))
#else
#define SLUICE_API
#endif

/* Error codes: X(name, value, message). */
#define SLUICE_ERRNO_MAP(X)                                                    \
    X(NOMEM, -1001, "out of memory")                                           \
    X(INVAL, -1002, "invalid argument")                                        \
    X(PLUGIN, -1003, "plugin refused")                                         \
    X(ABI, -1004, "plugin ABI version mismatch")                               \
    X(OPTION, -1005, "invalid plugin option")                                  \
    X(OS, -1006, "system call failed")                                         \
    X(WORKER, -1007, "worker process failed")                                  \
    X(CORRUPT, -1008, "worker sent invalid data")                              \
    X(OUTPUT, -1009, "output write failed")                                    \
    X(INPUT, -1010, "some inputs could not be processed")                      \
    X(NOTFOUND, -1011, "not found")                                            \
    X(SKIPPED, -1012, "binary file skipped")                                   \
    X(INTR, -1013, "interrupted by signal")                                    \
    X(RESUME, -1014, "the job does not match its job log")

enum {
#define SLUICE_X_ENUM(name, value, msg) SLUICE_E##name = (value),
    SLUICE_ERRNO_MAP(SLUICE_X_ENUM)
#undef SLUICE_X_ENUM
};

/* Message for an error code (negative SLUICE_E* or negative errno). */
SLUICE_API const char *sluice_strerror(int err);
/* Name of an error code ("SLUICE_EINVAL"), or "UNKNOWN". */
SLUICE_API const char *sluice_err_name(int err);

/* ---------------------------------------------------------------- plugins */

typedef struct sluice_plugin_handle sluice_plugin_handle;

/* Loads a plugin by name ("wc": searched in SLUICE_PLUGIN_PATH, then the
 * directory `self_dir`/../plugins... as documented in docs/plugins.md, then
 * the installed plugin directory) or by path (contains a '/').
 * On failure returns a negative code and writes a message naming the file
 * into err (errlen bytes). */
SLUICE_API int sluice_plugin_open(const char *name, const char *self_exe,
                                  sluice_plugin_handle **out, char *err,
                                  size_t errlen);
/* The descriptor of a loaded plugin. */
SLUICE_API const sluice_plugin *
sluice_plugin_get(const sluice_plugin_handle *h);
/* The file the plugin was loaded from. */
SLUICE_API const char *sluice_plugin_path(const sluice_plugin_handle *h);
/* Sets option key=value after validating it against the schema. */
SLUICE_API int sluice_plugin_set_option(sluice_plugin_handle *h,
                                        const char *key, const char *value,
                                        char *err, size_t errlen);
/* The descriptor fields the plugin sets that the host ignores, because they
 * are newer than the ABI minor version the plugin declares (`boundary` in a
 * plugin that declares 1.0; plugin.h, "ABI rules").  Stores up to `max`
 * field names (static strings) in names and returns how many there are. */
SLUICE_API size_t sluice_plugin_ignored_fields(const sluice_plugin_handle *h,
                                               const char **names, size_t max);
/* Calls cb(user, name, path) for each plugin file on the search path, in
 * search order, once per name (the one sluice_plugin_open would load).
 * Nothing is loaded.  Returns the number found. */
SLUICE_API int sluice_plugin_list(const char *self_exe,
                                  void (*cb)(void *user, const char *name,
                                             const char *path),
                                  void *user);
/* Closes a plugin (after every job using it is freed). */
SLUICE_API void sluice_plugin_close(sluice_plugin_handle *h);

/* ----------------------------------------------------------------- inputs */

/* One input of a job, as the CLI sees it before and after the run. */
typedef struct sluice_input {
    const char *path; /* as given or as walked ("dir/sub/file"); "-" stdin */
    struct stat st;   /* valid when stat_ok */
    int stat_ok;      /* 1 when st holds stat data */
    int err;          /* errno found while planning (0 if none) */
    uint32_t operand; /* which sluice_job_add call it came from (0, 1, ...) */
} sluice_input;

enum {
    SLUICE_ADD_WALK = 1u << 0, /* a directory operand is walked, not refused */
    SLUICE_ADD_HIDDEN = 1u << 1, /* the walk takes hidden entries (".x") too */
    SLUICE_ADD_NO_IGNORE = 1u << 2, /* the walk reads no .gitignore/.ignore */
    SLUICE_ADD_FOLLOW = 1u << 3,    /* the walk follows symbolic links: one
                                      to a file is that file, one to a
                                      directory is walked; a loop is an
                                      input failing with ELOOP, a broken
                                      link one failing with ENOENT */
    SLUICE_ADD_ARCHIVES = 1u << 4,  /* an archive operand, or one met in a
                                      walk (known by its name's suffix), is
                                      read as a directory of its members */
    SLUICE_ADD_NESTED = 1u << 5,    /* with ARCHIVES: archives inside
                                      archives are opened too */
};

/* ------------------------------------------------------------------- jobs */

typedef struct sluice_job sluice_job;

/* How far a job is (sluice_callbacks.on_progress). */
typedef struct sluice_progress {
    uint32_t inputs_done;  /* inputs reported so far */
    uint32_t inputs_total; /* inputs of the job */
    uint64_t bytes_done;   /* input bytes of the units finished */
    uint64_t bytes_total;  /* bytes of the regular-file inputs (streams
                              have no size: they add to bytes_done only) */
    uint32_t streams;      /* inputs whose size is unknown */
    uint32_t expanding;    /* directories and archives still to expand:
                              while > 0 the totals grow */
} sluice_progress;

/* A poisoned unit: one that killed its worker twice while it was the only
 * unit on that worker, or whose plugin the sandbox stopped
 * (sluice_callbacks.on_poison).  Strings are valid
 * during the call only. */
typedef struct sluice_poison {
    const char *path; /* its first input */
    uint32_t input;   /* index of that input */
    uint32_t ninputs; /* inputs it covers (a batch of small files: > 1) */
    uint64_t offset;  /* byte range in `path` (a whole file: 0, size) */
    uint64_t length;
    uint64_t first_record; /* 1-based line where the unit starts, for
                              SLUICE_CAP_RECORDS plugins on a file; 0 when
                              unknown */
    const char *plugin;    /* the plugin's name */
    int signal;            /* signal that ended the worker, or 0 */
    int exit_status;       /* its exit status when signal == 0 */
    double timed_out;      /* > 0: killed after this many seconds */
    const char *message;   /* the whole report, as sluice_job_run gives it */
    int sandbox_syscall;   /* >= 0: the sandbox stopped the worker at this
                              system call (the first time: a retry would
                              only do it again); -1 otherwise */
} sluice_poison;

/* A unit that is done (sluice_callbacks.on_unit), for a job log. */
typedef struct sluice_unit_done {
    uint64_t seq;      /* unit number: units are reported in this order */
    uint32_t input;    /* its first input */
    uint32_t ninputs;  /* inputs it names (a batch of small files: > 1) */
    uint64_t offset;   /* a range: its planned offset in the input; else 0 */
    uint64_t bytes;    /* input bytes it covers (planned) */
    int32_t pid;       /* worker process of its last run */
    uint32_t attempts; /* runs: 1 + worker deaths while it was in flight */
    int poisoned;      /* 1: poison, its inputs failed (keep_going) */
    /* For --resume and sharing (sluice_job_resume_unit): what identifies
     * the unit (its kind and range, and each input's path, device, inode,
     * size and mtime; 0 for a stream), and the records it gave, as gather
     * applied them (NULL for an ordered plugin or a poisoned unit, or when
     * they could not be kept). */
    uint64_t fingerprint;
    const void *result;
    size_t result_len;
    int resumed;   /* 1: taken from the job log, not run */
    int resumable; /* 1: a job log may keep it (a result, a fingerprint,
                      no input error in it) */
    const struct sluice_job *job; /* the job that ran it: `input` indexes
                                     its inputs (sluice_job_input) */
} sluice_unit_done;

/* Callbacks of a job.  APPEND ONLY. */
typedef struct sluice_callbacks {
    void *user; /* passed to every callback */
    /* One input's result, in input order: its merged partial (err == 0), or
     * its error (errnum, offset or UINT64_MAX, message naming the cause).
     * With an error, partial is NULL when the input could not be opened at
     * all, and holds what was read before the error otherwise (wc prints
     * those counts).  The partial is valid during the call only. */
    void (*on_input)(void *user, uint32_t input, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message);
    /* Ordered output bytes of input `input` (the number of inputs for what
     * the plugin's finish writes), in input order; returns 0, or -errno to
     * fail the job. */
    int (*on_output)(void *user, uint32_t input, const void *data, size_t len);
    /* Optional: called by the coordinator about every 200 ms while the job
     * runs (never from a worker), for a progress display. */
    void (*on_progress)(void *user, const sluice_progress *p);
    /* Optional: a unit was found to be poison (before its inputs are
     * reported, possibly out of input order).  Fatal for the job unless
     * sluice_job_opts.keep_going applies. */
    void (*on_poison)(void *user, const sluice_poison *p);
    /* Optional: a unit is done, in unit order, after the results it
     * completes went to on_input. */
    void (*on_unit)(void *user, const sluice_unit_done *u);
} sluice_callbacks;

/* Append only: fields stay where they are (ABI). */
typedef struct sluice_job_opts {
    int jobs;            /* worker processes; 0 = inline (one process);
                            < 0 = online CPUs */
    size_t chunk_size;   /* bytes per unit of a large input; 0 = default */
    size_t batch_bytes;  /* bytes of small files per unit; 0 = default */
    uint32_t block_size; /* bytes per map call; 0 = default (256 KiB) */
    int skip_binary;     /* an input with a NUL byte in its first 8 KiB is
                            reported with SLUICE_ESKIPPED, not processed */
    int no_sandbox;      /* workers run plugin code without the seccomp
                            filter (sluice_sandbox_available) */
    /* Supervision (docs/engine.md, "Failures"). */
    double unit_timeout;    /* seconds a unit may run on its worker before
                               the worker is killed (TERM, 2 s, KILL);
                               0 = automatic, < 0 = none */
    int keep_going;         /* a poisoned unit fails its inputs (errnum
                               SLUICE_EWORKER) instead of the job; ignored
                               by SLUICE_CAP_ORDERED plugins */
    uint64_t worker_memory; /* address-space limit of each worker in bytes
                               (RLIMIT_AS); 0 = none */
} sluice_job_opts;

/* Creates a job for a loaded plugin.  Calls the plugin's global_init. */
SLUICE_API int sluice_job_new(sluice_plugin_handle *plugin,
                              const sluice_job_opts *opts,
                              const sluice_callbacks *cb, sluice_job **out,
                              char *err, size_t errlen);
/* Filters for the walks of later sluice_job_add calls (the strings must stay
 * valid until then).  A file's path relative to the directory operand is
 * matched with fnmatch(3) when the glob holds a '/', else its name. */
typedef struct sluice_walk_opts {
    int max_depth; /* < 0: no limit; N: entries at most N levels below the
                      operand (1: its own entries; 0: none) */
    const char *const *include; /* NULL-terminated globs: when given, only
                                   files matching one are taken */
    const char *const *exclude; /* files and directories matching one are
                                   left out (a directory is not entered) */
} sluice_walk_opts;
SLUICE_API void sluice_job_walk_opts(sluice_job *job,
                                     const sluice_walk_opts *opts);

/* Limits against archive bombs, per archive operand (nested archives count
 * toward the archive that holds them).  Zero fields take the defaults. */
typedef struct sluice_archive_limits {
    uint64_t max_bytes;   /* decompressed bytes (default 1 TiB) */
    uint64_t max_ratio;   /* decompressed bytes per byte of the archive
                             file, checked past 64 MiB (default 1000) */
    uint64_t max_entries; /* entries (default 1,000,000) */
    int max_depth;        /* archives in archives, SLUICE_ADD_NESTED
                             (default 4) */
} sluice_archive_limits;
SLUICE_API void sluice_job_archive_limits(sluice_job *job,
                                          const sluice_archive_limits *lim);

/* Adds an operand: a file, "-" for stdin, or a directory (walked in sorted
 * order when SLUICE_ADD_WALK; .git/.hg/.svn skipped; symlinks inside a tree
 * not followed unless SLUICE_ADD_FOLLOW; hidden entries skipped unless
 * SLUICE_ADD_HIDDEN; entries ignored by .ignore files, and inside a git
 * repository by .gitignore files and .git/info/exclude, skipped unless
 * SLUICE_ADD_NO_IGNORE, with git's pattern semantics).  The operand itself is
 * walked even when hidden or ignored.  Problems become inputs with err set,
 * reported in order. */
SLUICE_API int sluice_job_add(sluice_job *job, const char *operand,
                              unsigned flags);
/* Number of inputs so far, and one of them.  Directories and archives are
 * expanded into their inputs only as the run gets to them: until then each
 * is one input standing for what it holds (sluice_job_inputs_final). */
SLUICE_API uint32_t sluice_job_inputs(const sluice_job *job);
SLUICE_API const sluice_input *sluice_job_input(const sluice_job *job,
                                                uint32_t i);
/* Number of sluice_job_add calls so far. */
SLUICE_API uint32_t sluice_job_operands(const sluice_job *job);
/* 1 when every input is known: no directory or archive is left to expand.
 * May be called from the callbacks. */
SLUICE_API int sluice_job_inputs_final(const sluice_job *job);
/* Runs the job to the end.  Returns 0 when every input succeeded,
 * SLUICE_EINPUT when some failed (reported through on_input; with
 * keep_going, the inputs of a poisoned unit fail with errnum
 * SLUICE_EWORKER), or another negative code when the job itself failed
 * (message in err; a poisoned unit without keep_going: SLUICE_EWORKER). */
SLUICE_API int sluice_job_run(sluice_job *job, char *err, size_t errlen);
/* The plugin's partial-result arithmetic, in the coordinator's context,
 * for callers that combine the results of several inputs (a total):
 * the identity element, into = into (+) next (the plugin's merge, which
 * treats next as the input right after into's), and the counter values.
 * Partials are the plugin's partial_size bytes; merge returns
 * SLUICE_EINVAL for a plugin without one. */
SLUICE_API void sluice_job_partial_init(sluice_job *job, void *partial);
SLUICE_API int sluice_job_merge(sluice_job *job, void *into, const void *next);
SLUICE_API void sluice_job_counters(sluice_job *job, const void *partial,
                                    uint64_t *out);
/* Resuming a job from its log (docs/engine.md, "Job log").  The job's
 * fingerprint: the plugin's name, version, file (size and mtime) and
 * option values, the unit sizes, the LC_CTYPE locale and whether
 * POSIXLY_CORRECT is set; a log written by a job with another
 * fingerprint cannot resume this one.  Then, before sluice_job_run, each unit
 * the log holds as done (sluice_unit_done's fingerprint and result), in any
 * order: when the run plans unit `seq` it uses the logged result instead of
 * running it, after checking that the unit still has that fingerprint.  If it
 * does not (an input changed, or the plan did), the job fails with
 * SLUICE_ERESUME, naming the input.  The records of an ordered plugin hold
 * its output (a job log does not keep them: only sharing hands them in).
 * SLUICE_EINVAL for a zero fingerprint or a length not a multiple of 8;
 * SLUICE_ENOMEM. */
SLUICE_API uint64_t sluice_job_fingerprint(const sluice_job *job);
SLUICE_API int sluice_job_resume_unit(sluice_job *job, uint64_t seq,
                                      uint64_t fingerprint, const void *result,
                                      size_t len);
/* As sluice_job_resume_unit, without a copy: result (say, a mapped file)
 * must stay as it is until the job is freed. */
SLUICE_API int sluice_job_resume_unit_ref(sluice_job *job, uint64_t seq,
                                          uint64_t fingerprint,
                                          const void *result, size_t len);
/* Sharing one job among processes (sluice-mpi; docs/distributed.md).
 * Every process configures the same job and plans the same units.
 * sluice_job_clone: a new job with the same plugin, options, callbacks,
 * walk options, archive limits, operands and units handed in by
 * sluice_job_resume_unit, not yet run; it shares the job's plugin globals
 * (global_init and global_fini run once, for the job), so it must be freed
 * before the job.  NULL with a message.  sluice_job_plan: plans
 * every unit without running any, calling each(user, seq, weight,
 * fingerprint) with its input bytes plus 4096 per input (what a unit
 * costs) and what identifies it (as sluice_unit_done's); returns the number
 * of units, or a negative code with a message (SLUICE_EINVAL: a stream,
 * which cannot be planned twice).  A planned job is spent: run a clone.
 * sluice_job_run_share: runs only units [first, end) of the plan and hands
 * each one's records to on_unit (sluice_unit_done's result, input errors
 * included) instead of delivering results: no other callback is called.
 * The process that gathers passes every unit's records to
 * sluice_job_resume_unit on a clone and runs it: it delivers what one run
 * would have (a unit missing from the records, say a poisoned one, runs
 * there).  An ordered plugin's records hold its output, which the
 * delivering process writes. */
SLUICE_API sluice_job *sluice_job_clone(const sluice_job *job, char *err,
                                        size_t errlen);
/* The plugin a job runs, and the callbacks it was made with. */
SLUICE_API const sluice_plugin *sluice_job_plugin(const sluice_job *job);
SLUICE_API const sluice_callbacks *sluice_job_callbacks(const sluice_job *job);
SLUICE_API int64_t sluice_job_plan(sluice_job *job,
                                   void (*each)(void *user, uint64_t seq,
                                                uint64_t weight,
                                                uint64_t fingerprint),
                                   void *user, char *err, size_t errlen);
SLUICE_API int
sluice_job_run_share(sluice_job *job, uint64_t first, uint64_t end,
                     void (*on_unit)(void *user, const sluice_unit_done *u),
                     void *user, char *err, size_t errlen);
/* Frees a job (calls global_fini). */
SLUICE_API void sluice_job_free(sluice_job *job);

/* Whether worker processes run plugin code under the seccomp sandbox
 * (docs/engine.md, "Sandbox"): 1 when they do unless a job sets
 * no_sandbox; 0 when it is unavailable here (another architecture, a
 * sanitizer or valgrind, a kernel without seccomp), with the reason in why
 * (len bytes; may be NULL).  The inline mode (jobs == 0) never sandboxes:
 * the plugin runs in the caller's process. */
SLUICE_API int sluice_sandbox_available(char *why, size_t len);
/* Stops the job that runs now, or the next one, from a signal handler
 * (async-signal-safe): no more input is read or planned, the workers are
 * killed and reaped, nothing more is reported, and sluice_job_run returns
 * SLUICE_EINTR.  The signal is kept for good (the process is expected to
 * end): every later run returns SLUICE_EINTR at once. */
SLUICE_API void sluice_interrupt(int sig);
/* The signal given to sluice_interrupt, or 0. */
SLUICE_API int sluice_interrupted(void);

/* Number of online CPUs (at least 1). */
SLUICE_API int sluice_cpu_count(void);

#ifdef __cplusplus
}
#endif
#endif /* SLUICE_SLUICE_H */
