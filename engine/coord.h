/*
 * coord.h -- the coordinator's private state, shared by its stages.
 *
 * A job flows through these stages (docs/engine.md, "Data flow"), each in
 * its own file:
 *
 *   job.c       life cycle: sluice_job_new/free/run, errors, progress
 *   inputs.c    the input table, and expanding directories and archives
 *               into it as planning reaches them
 *   plan.c      cutting inputs into units: manifests, ranges, the boundary
 *               hook, stream reads
 *   resume.c    fingerprints, and results taken from a job log
 *   inline.c    the inline mode (jobs == 0) and the plugin's finish
 *   dispatch.c  spawning workers, pushing units, credits, scanning
 *               completion rings
 *   reorder.c   the reorder window: completions kept until their turn,
 *               then handed to gather.c in sequence order
 *   supervise.c deadlines, poison, lost workers, reaping, stopping
 *   loop.c      the run loop and its sleeping
 *   share.c     sharing one job among processes (sluice-mpi)
 *
 * struct sluice_job is made of one sub-struct per stage; a stage writes its
 * own and reads the others'.  Everything runs in the coordinator's one
 * thread.  Nothing here is public, nor seen by workers.
 */
#ifndef SLUICE_COORD_H
#define SLUICE_COORD_H

#include <string.h>

#include "internal.h"

/* The coordinator's eventfd, rung by workers and sluice_interrupt (-1
 * outside a parallel run). */
extern int sluice__coord_eventfd;

/* Seconds-per-byte samples kept for automatic unit deadlines. */
#define SLUICE_TIMING_SAMPLES 256

/* ------------------------------------------------------------ fingerprints */

#define SLUICE_FNV_OFFSET 14695981039346656037ull
#define SLUICE_FNV_PRIME 1099511628211ull

static inline uint64_t sluice__fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * SLUICE_FNV_PRIME;
    return h;
}

static inline uint64_t sluice__fnv_u64(uint64_t h, uint64_t v)
{
    return sluice__fnv(h, &v, sizeof v);
}

static inline uint64_t sluice__fnv_str(uint64_t h, const char *s)
{
    return sluice__fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* ------------------------------------------------------------ unit records */

/* A fragment of records waiting in the reorder window. */
typedef struct sluice__frag {
    sluice__region *region; /* NULL: a result from the job log, in `buf` */
    const unsigned char *buf;
    uint64_t pos;
    uint32_t len;
    uint32_t last;
} sluice__frag;

/* A unit done in an earlier run, from the job log (--resume). */
typedef struct sluice__resumed {
    uint64_t seq;
    uint64_t fp;         /* the unit's fingerprint then */
    unsigned char *data; /* its records, inputs counted from the unit's
                            first */
    size_t len;
    uint32_t order; /* as handed in: the first of two for one seq wins */
    int borrowed;   /* data is the caller's (sluice_job_resume_unit_ref) */
} sluice__resumed;

/* One slot of the reorder window: a unit between dispatch and gather. */
typedef struct sluice__wentry {
    uint64_t seq; /* which unit (valid when used) */
    int used;
    uint32_t lo, hi; /* inputs the unit may name */
    uint64_t bytes;  /* input bytes it covers (progress) */
    sluice__frag *frags;
    uint32_t nfrags, cap;
    uint32_t applied; /* fragments already applied */
    char *poison;     /* keep_going: the unit is poison; fail its inputs
                         with this message when its turn comes */
    uint32_t uflags;  /* its SLUICE__UF_* (poison) */
    uint64_t offset;  /* planned offset of a range (on_unit) */
    pid_t pid;        /* worker of its last run */
    uint32_t runs;    /* times it was dispatched */
    uint64_t fp;      /* its fingerprint (0: cannot be resumed) */
    int resumed;      /* its result came from the job log */
} sluice__wentry;

/* A unit in flight on a worker, or waiting to be retried. */
typedef struct sluice__flight {
    sluice__unit u;
    uint32_t lo, hi;
    uint64_t bytes;      /* input bytes it covers (progress) */
    uint32_t alone;      /* times a worker died with it alone in flight */
    unsigned char *copy; /* retry: slot bytes saved from the dead worker */
    size_t copy_len;
} sluice__flight;

/* A worker process, as the coordinator sees it. */
typedef struct sluice__wproc {
    pid_t pid;
    int pidfd;
    sluice__region *region;
    sluice__flight inflight[SLUICE_CREDITS]; /* FIFO, oldest first */
    uint32_t nflight;
    uint32_t slot_busy; /* bitmask of input slots in use */
    uint64_t scan_pos;  /* next completion must start here */
    uint64_t consumed;  /* records applied up to here */
    int alive;
    uint64_t head_ns; /* when inflight[0] became the worker's current unit */
    double limit_s;   /* its deadline, seconds after head_ns (0: none) */
    uint64_t term_ns; /* SIGTERM sent at (0: not) */
    double timed_out; /* killed for exceeding this many seconds */
    int kill_sent;    /* SIGKILL sent after the grace */
    int solo;         /* runs a suspect: nothing else until it is done */
} sluice__wproc;

/* ------------------------------------------------------------- the stages */

/* inputs.c: the input table and the operands as added. */
typedef struct sluice__inputs {
    sluice__input *v; /* in job order */
    uint32_t n, cap;
    uint32_t noperands; /* sluice_job_add calls */
    char **op_path;     /* the operands, for sluice_job_clone */
    unsigned *op_flags;
} sluice__inputs;

/* inputs.c: expanding directories and archives.  While an EXPAND input is
 * replaced by what it holds, new inputs go in at `ins`, just before it,
 * and take its operand and flags. */
typedef struct sluice__expand {
    sluice_walk_opts walk;     /* filters for directory operands */
    sluice_archive_limits lim; /* archive bomb limits */
    uint32_t left;             /* EXPAND inputs left */
    int active;                /* an expansion is inserting inputs */
    uint32_t ins;              /* where they go */
    uint32_t operand;          /* their sluice_input.operand */
    unsigned flags;            /* their SLUICE_ADD_* */
    sluice__arc *arc;          /* the archive they come from */
    uint64_t container;        /* their sluice__input.container */
} sluice__expand;

/* plan.c: where planning stands. */
typedef struct sluice__plan {
    uint32_t input;       /* the input planned next */
    uint64_t off;         /* bytes of it already planned */
    int fd;               /* open stream, or -1 */
    unsigned char *carry; /* stream bytes after the last newline */
    size_t carry_len;
    unsigned char *lb; /* stream: the plugin's lookbehind bytes so far */
    size_t lb_len;
    int pin;     /* stream units go to this worker (boundary hook) */
    int hook_fd; /* file the boundary hook reads, or -1 */
    uint32_t hook_input;
    uint64_t next_seq; /* the next unit's number */
    uint64_t bytes;    /* input bytes of the unit planned last */
} sluice__plan;

/* job.c: progress reports. */
typedef struct sluice__progress {
    uint64_t done_bytes;
    uint64_t at;         /* CLOCK_MONOTONIC ns of the last report */
    sluice_progress pub; /* totals set when the run starts */
} sluice__progress;

/* dispatch.c, supervise.c, loop.c: the workers. */
typedef struct sluice__run {
    sluice__wproc *w;
    int nw;
    int epfd;
    int sandbox;           /* workers install the seccomp filter */
    sluice__region **dead; /* regions of lost workers, freed at the end */
    uint32_t ndead;
    uint32_t unit_lo, unit_hi; /* inline mode: the unit's inputs */
} sluice__run;

/* reorder.c: units between dispatch and gather, by seq. */
typedef struct sluice__window {
    sluice__wentry *slots;
    uint32_t size; /* a power of two */
    uint64_t next; /* the unit gather takes next */
} sluice__window;

/* supervise.c: retries and deadlines. */
typedef struct sluice__supervise {
    sluice__flight *retry; /* units of lost workers, by seq */
    uint32_t nretry, retry_cap;
    double spb[SLUICE_TIMING_SAMPLES]; /* seconds per byte of finished
                                          units (ring) */
    uint32_t nspb;                     /* samples taken */
    double median_spb;                 /* of spb, refreshed now and then */
} sluice__supervise;

/* resume.c: units done in an earlier run, sorted by seq. */
typedef struct sluice__resume {
    sluice__resumed *units;
    uint32_t n, cap, next;
    int sorted;
} sluice__resume;

/* share.c: sluice_job_run_share runs only units [first, end), and gather
 * collects their records instead of delivering results. */
typedef struct sluice__share {
    uint64_t first, end;
    int collect;
} sluice__share;

struct sluice_job {
    sluice_plugin_handle *plugin;
    const sluice_plugin *desc;
    sluice_job_opts opts;
    sluice_callbacks cb;
    sluice__worker coord;     /* coordinator-side host context */
    unsigned char *coord_out; /* its arena (inline mode, finish) */
    _Atomic uint64_t coord_tail;
    int global_inited;
    size_t chunk, batch; /* unit sizes */
    uint32_t block;
    int fatal; /* the job failed: a negative code */
    char *err; /* its message */
    size_t errlen;

    sluice__inputs in;
    sluice__expand exp;
    sluice__plan plan;
    sluice__progress prog;
    sluice__gather g;
    sluice__run run;
    sluice__window win;
    sluice__supervise sup;
    sluice__resume res;
    sluice__share share;
};

/* ------------------------------------------------------------------ job.c */

/* Fails the job with `code` and a message, unless it failed already. */
void sluice__job_fail(sluice_job *job, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A signal given to sluice_interrupt fails the job: 1 when it has. */
int sluice__job_interrupted(sluice_job *job);
/* A new job; with `twin`, one that shares twin's plugin globals (clones). */
int sluice__job_create(sluice_plugin_handle *plugin,
                       const sluice_job_opts *opts, const sluice_callbacks *cb,
                       sluice_job **out, char *err, size_t errlen,
                       const sluice_job *twin);
/* Calls on_progress when 200 ms have passed (or always with `force`). */
void sluice__progress_report(sluice_job *job, int force);

/* --------------------------------------------------------------- inputs.c */

/* Adds a new input to the progress totals. */
void sluice__inputs_count(sluice_job *job, const sluice__input *in);
/* Replaces the EXPAND inputs at the planning position by what they hold,
 * until a real input is there or none is left.  0 or negative (the job
 * failed). */
int sluice__expand_next(sluice_job *job);
void sluice__inputs_free(sluice_job *job);

/* ----------------------------------------------------------------- plan.c */

/* Makes the next unit into `slot`, its inputs [*lo, *hi).  Returns 1, or
 * 0 when there is none. */
int sluice__plan_next(sluice_job *job, sluice__unit *u, unsigned char *slot,
                      size_t slot_size, uint32_t *lo, uint32_t *hi);
/* Whether the next unit continues a stream input already begun. */
int sluice__plan_stream_continues(const sluice_job *job);
void sluice__plan_free(sluice_job *job);

/* --------------------------------------------------------------- resume.c */

/* What identifies planned unit u (inputs [lo, hi)); 0: not resumable. */
uint64_t sluice__resume_fp(const sluice_job *job, const sluice__unit *u,
                           uint32_t lo, uint32_t hi);
/* Sorts the logged units by seq; of two for one seq the first is kept. */
void sluice__resume_sort(sluice_job *job);
/* The logged result of unit u, or NULL when it must run.  A logged unit
 * that is no longer the same fails the job (SLUICE_ERESUME). */
const sluice__resumed *sluice__resume_find(sluice_job *job,
                                           const sluice__unit *u, uint32_t lo,
                                           uint32_t hi, uint64_t fp);
/* Applies a logged result through gather. */
int sluice__resume_apply(sluice_job *job, const unsigned char *data, size_t len,
                         uint32_t lo, uint32_t hi);
void sluice__resume_free(sluice_job *job);

/* --------------------------------------------------------------- inline.c */

/* The coordinator's flush: records are applied as soon as they exist. */
int sluice__inline_flush(sluice__worker *w, uint64_t seq, uint64_t pos,
                         uint32_t len, int last, size_t need);
int sluice__inline_run(sluice_job *job);
/* Runs the plugin's finish (its output after every unit). */
int sluice__inline_finish(sluice_job *job);

/* ------------------------------------------------------------- dispatch.c */

/* Forks worker i (again, after a loss). */
int sluice__dispatch_spawn(sluice_job *job, int i);
/* Sends work to workers with free credits.  Returns units dispatched. */
int sluice__dispatch(sluice_job *job);
/* Takes completions off every ring into the window.  Returns how many;
 * *bad is a worker that wrote something invalid, or -1. */
int sluice__dispatch_scan(sluice_job *job, int *bad);
/* Rings worker p's doorbell. */
void sluice__dispatch_wake(sluice__wproc *p);

/* -------------------------------------------------------------- reorder.c */

static inline sluice__wentry *sluice__reorder_at(sluice_job *job, uint64_t seq)
{
    return &job->win.slots[seq & (job->win.size - 1)];
}
/* Applies the window's fragments in sequence order.  Returns fragments
 * applied. */
int sluice__reorder(sluice_job *job);
/* Tells on_unit that the unit of entry e is done. */
void sluice__reorder_unit_done(sluice_job *job, const sluice__wentry *e,
                               int poisoned);

/* ------------------------------------------------------------ supervise.c */

uint64_t sluice__now_ns(void);
/* The worker's oldest unit becomes its current one: its clock starts. */
void sluice__supervise_start_head(sluice_job *job, sluice__wproc *p,
                                  uint64_t now);
/* A unit of `bytes` took `secs` on its worker. */
void sluice__supervise_timing(sluice_job *job, double secs, uint64_t bytes);
/* Terminates workers past their deadline.  Milliseconds until the next
 * deadline, or -1. */
int sluice__supervise_deadlines(sluice_job *job);
/* Kills worker i and treats it as lost. */
void sluice__supervise_kill(sluice_job *job, int i);
/* Collects dead workers and requeues their units. */
void sluice__supervise_reap(sluice_job *job);
/* Stops every worker (at once with `force`) and frees its region. */
void sluice__supervise_stop(sluice_job *job, int force);

/* ----------------------------------------------------------------- loop.c */

int sluice__loop_run(sluice_job *job, int nw);

#endif /* SLUICE_COORD_H */
