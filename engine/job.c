/*
 * job.c -- the coordinator: inputs, planning, dispatch, supervision.
 *
 * A job runs in one single-threaded coordinator process and N worker
 * processes forked from it (docs/engine.md, "Processes and shared
 * memory").  The coordinator:
 *
 *   - plans units lazily, in input order: ranges of large regular files,
 *     batches of small files (paths in a manifest in the worker's input
 *     slot), or stream bytes it reads itself into the slot;
 *   - dispatches each unit to a worker with a free credit (SLUICE_CREDITS
 *     units in flight per worker), never more than the reorder window ahead
 *     of the oldest unfinished unit, so memory stays bounded;
 *   - scans completion rings eagerly (credits come back at once), keeps
 *     early completions in the window, and hands them to gather.c strictly
 *     in sequence order;
 *   - sleeps in epoll on one eventfd (rung by workers only when it said it
 *     sleeps) and the workers' pidfds;
 *   - when a worker dies, requeues its unfinished units on a fresh worker;
 *     a unit that was being processed when its worker died twice fails the
 *     job with its path and byte range.
 *
 * The inline mode (jobs == 0) runs the very same worker code in this
 * process, unit after unit, and is the reference every parallel run must
 * equal.
 */
#include <errno.h>
#include <locale.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "os.h"
#include "sandbox.h"

int sluice__coord_eventfd = -1;

/* Unit deadlines (docs/engine.md, "Failures"): TIMEOUT_MIN_SAMPLES units
 * must finish before the automatic deadline follows their median. */
#define SLUICE_TIMING_SAMPLES 256 /* seconds-per-byte samples kept */
#define TIMEOUT_MIN_SAMPLES 8
#define TIMEOUT_FACTOR 20.0       /* x median seconds per byte x bytes */
#define TIMEOUT_FLOOR_S 60.0      /* an automatic deadline is never shorter */
#define TIMEOUT_EARLY_S 600.0     /* before TIMEOUT_MIN_SAMPLES samples */
#define TERM_GRACE_NS 2000000000u /* SIGTERM, then SIGKILL after this */

/* A fragment of records waiting in the reorder window. */
typedef struct frag {
    sluice__region *region; /* NULL: a result from the job log, in `buf` */
    const unsigned char *buf;
    uint64_t pos;
    uint32_t len;
    uint32_t last;
} frag;

/* A unit done in an earlier run, from the job log (--resume). */
typedef struct resumed {
    uint64_t seq;
    uint64_t fp;         /* the unit's fingerprint then */
    unsigned char *data; /* its records, inputs counted from the unit's
                            first */
    size_t len;
    uint32_t order; /* as handed in: the first of two for one seq wins */
    int borrowed;   /* data is the caller's (sluice_job_resume_unit_ref) */
} resumed;

/* One slot of the reorder window: a unit between dispatch and gather. */
typedef struct wentry {
    uint64_t seq; /* which unit (valid when used) */
    int used;
    uint32_t lo, hi; /* inputs the unit may name */
    uint64_t bytes;  /* input bytes it covers (progress) */
    frag *frags;
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
} wentry;

/* A unit in flight on a worker, or waiting to be retried. */
typedef struct flight {
    sluice__unit u;
    uint32_t lo, hi;
    uint64_t bytes;      /* input bytes it covers (progress) */
    uint32_t alone;      /* times a worker died with it alone in flight */
    unsigned char *copy; /* retry: slot bytes saved from the dead worker */
    size_t copy_len;
} flight;

typedef struct wproc {
    pid_t pid;
    int pidfd;
    sluice__region *region;
    flight inflight[SLUICE_CREDITS]; /* FIFO, oldest first */
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
} wproc;

struct sluice_job {
    sluice_plugin_handle *plugin;
    const sluice_plugin *desc;
    sluice_job_opts opts;
    sluice_walk_opts walk; /* filters for directory operands */
    sluice_callbacks cb;
    sluice__worker coord;     /* coordinator-side host context */
    unsigned char *coord_out; /* its arena (inline mode, finish) */
    _Atomic uint64_t coord_tail;
    int global_inited;

    sluice__input *inputs;
    uint32_t ninputs, cap;
    uint32_t noperands; /* sluice_job_add calls */
    uint32_t nexpand;   /* EXPAND inputs left */
    sluice_archive_limits arc_lim;
    /* While an EXPAND input is replaced by what it holds: new inputs go in
     * at `ins`, just before it, and take its operand and flags. */
    int expanding;
    uint32_t ins;
    uint32_t exp_operand;
    unsigned exp_flags;
    int exp_depth;          /* archive nesting of the new inputs */
    sluice__arc *exp_arc;   /* the archive they come from */
    uint64_t exp_container; /* their sluice__input.container */

    /* planner */
    uint32_t p_input;
    uint64_t p_off;
    int p_fd;             /* open stream, or -1 */
    unsigned char *carry; /* stream bytes after the last newline */
    size_t carry_len;
    unsigned char *lb; /* stream: the plugin's lookbehind bytes so far */
    size_t lb_len;
    int pin;     /* stream units go to this worker (boundary hook) */
    int hook_fd; /* file the boundary hook reads, or -1 */
    uint32_t hook_input;
    uint64_t next_seq;
    uint64_t plan_bytes; /* input bytes of the unit planned last */

    /* progress */
    uint64_t done_bytes;
    uint64_t progress_at;     /* CLOCK_MONOTONIC ns of the last report */
    sluice_progress progress; /* totals set when the run starts */

    /* run */
    sluice__gather g;
    wproc *w;
    int nw;
    wentry *win;
    uint32_t win_size;
    uint64_t cur_seq;
    flight *retry;
    uint32_t nretry, retry_cap;
    sluice__region **dead;
    uint32_t ndead;
    int epfd;
    int sandbox;                       /* workers install the seccomp filter */
    double spb[SLUICE_TIMING_SAMPLES]; /* seconds per byte of finished
                                          units (ring) */
    uint32_t nspb;                     /* samples taken */
    double median_spb;                 /* of spb, refreshed now and then */
    int fatal;
    char *err;
    size_t errlen;
    size_t chunk, batch;
    uint32_t block;

    /* The operands as added, for sluice_job_clone. */
    char **op_path;
    unsigned *op_flags;
    /* sluice_job_run_share: only units [share_first, share_end) run, and
     * gather collects their records instead of delivering results. */
    uint64_t share_first, share_end;
    int collect;

    /* --resume: units done in an earlier run, sorted by seq. */
    resumed *res;
    uint32_t nres, res_cap, res_next;
    int res_sorted;
    /* Inline mode: the inputs of the unit being run. */
    uint32_t unit_lo, unit_hi;
};

static void job_err(sluice_job *job, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void job_err(sluice_job *job, int code, const char *fmt, ...)
{
    if (job->fatal)
        return;
    job->fatal = code;
    if (job->err && job->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(job->err, job->errlen, fmt, ap);
        va_end(ap);
    }
}

/* A signal given to sluice_interrupt fails the job: 1 when it has. */
static int interrupted(sluice_job *job)
{
    int sig = sluice__interrupt_sig;
    if (sig)
        job_err(job, SLUICE_EINTR, "interrupted by signal %d", sig);
    return sig != 0;
}

/* ------------------------------------------------------------- inputs */

/* Makes room for one input at `at`: returns it zeroed, or NULL. */
static sluice__input *insert_input(sluice_job *job, uint32_t at)
{
    if (job->ninputs == job->cap) {
        uint32_t ncap = job->cap ? job->cap * 2 : 64;
        sluice__input *p = realloc(job->inputs, ncap * sizeof *p);
        if (!p)
            return NULL;
        job->inputs = p;
        job->cap = ncap;
    }
    if (job->ninputs == UINT32_MAX - 1)
        return NULL;
    memmove(&job->inputs[at + 1], &job->inputs[at],
            (job->ninputs - at) * sizeof *job->inputs);
    sluice__input *in = &job->inputs[at];
    memset(in, 0, sizeof *in);
    job->ninputs++;
    in->fd = -1;
    in->err_off = UINT64_MAX;
    return in;
}

/* Appends an input, or inserts it where an expansion puts its inputs. */
static sluice__input *new_input(sluice_job *job, const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    uint32_t at = job->expanding ? job->ins : job->ninputs;
    sluice__input *in = insert_input(job, at);
    if (!in) {
        free(copy);
        return NULL;
    }
    if (job->expanding)
        job->ins++;
    in->pub.path = copy;
    in->pub.operand = job->expanding ? job->exp_operand : job->noperands;
    in->container = job->expanding ? job->exp_container : 0;
    return in;
}

/* A directory to walk or an archive to open, later (expand()). */
static int push_expand(sluice_job *job, const char *path, const struct stat *st,
                       unsigned flags, int depth)
{
    sluice__input *in = new_input(job, path);
    if (!in)
        return SLUICE_ENOMEM;
    in->kind = SLUICE__IN_EXPAND;
    in->add_flags = flags;
    in->depth = depth;
    in->pub.st = *st;
    in->pub.stat_ok = 1;
    job->nexpand++;
    return 0;
}

int sluice__job_push_input(sluice_job *job, const char *path,
                           const struct stat *st, int err)
{
    /* An archive met in a walk is opened like an archive operand. */
    if (job->expanding && !err && st && S_ISREG(st->st_mode) &&
        (job->exp_flags & SLUICE_ADD_ARCHIVES) && !job->exp_arc &&
        sluice__arc_is_archive(path))
        return push_expand(job, path, st, job->exp_flags, 1);
    sluice__input *in = new_input(job, path);
    if (!in)
        return SLUICE_ENOMEM;
    in->pub.err = err;
    if (st) {
        in->pub.st = *st;
        in->pub.stat_ok = 1;
    }
    if (err)
        in->kind = SLUICE__IN_FAILED;
    else if (st && S_ISREG(st->st_mode)) {
        in->kind = SLUICE__IN_FILE;
        in->size = (uint64_t)st->st_size;
    } else if (st && S_ISDIR(st->st_mode)) {
        in->kind = SLUICE__IN_FILE; /* read fails with EISDIR, like wc */
        in->size = UINT64_MAX;
    } else {
        in->kind = SLUICE__IN_STREAM;
    }
    return 0;
}

static int job_add(sluice_job *job, const char *operand, unsigned flags)
{
    struct stat st;
    if (!strcmp(operand, "-")) {
        if (fstat(0, &st) < 0)
            return sluice__job_push_input(job, operand, NULL, errno);
        int rc = sluice__job_push_input(job, operand, &st, 0);
        if (rc < 0)
            return rc;
        sluice__input *in = &job->inputs[job->ninputs - 1];
        in->fd = 0;
        if (in->kind == SLUICE__IN_FILE && S_ISREG(st.st_mode)) {
            off_t cur = lseek(0, 0, SEEK_CUR);
            in->base = cur > 0 ? (uint64_t)cur : 0;
            in->size = in->base < (uint64_t)st.st_size
                           ? (uint64_t)st.st_size - in->base
                           : 0;
        } else if (in->kind == SLUICE__IN_FILE) {
            in->kind = SLUICE__IN_STREAM;
        }
        return 0;
    }
    if (stat(operand, &st) < 0)
        return sluice__job_push_input(job, operand, NULL, errno);
    if ((S_ISDIR(st.st_mode) && (flags & SLUICE_ADD_WALK)) ||
        (S_ISREG(st.st_mode) && (flags & SLUICE_ADD_ARCHIVES) &&
         sluice__arc_is_archive(operand)))
        return push_expand(job, operand, &st, flags, 1);
    return sluice__job_push_input(job, operand, &st, 0);
}

int sluice_job_add(sluice_job *job, const char *operand, unsigned flags)
{
    /* Kept for sluice_job_clone. */
    char **np = realloc(job->op_path, (job->noperands + 1) * sizeof *np);
    if (np)
        job->op_path = np;
    unsigned *nf = realloc(job->op_flags, (job->noperands + 1) * sizeof *nf);
    if (nf)
        job->op_flags = nf;
    char *copy = np && nf ? strdup(operand) : NULL;
    if (!copy)
        return SLUICE_ENOMEM;
    job->op_path[job->noperands] = copy;
    job->op_flags[job->noperands] = flags;
    int rc = job_add(job, operand, flags);
    job->noperands++;
    return rc;
}

void sluice_job_archive_limits(sluice_job *job,
                               const sluice_archive_limits *lim)
{
    sluice_archive_limits d = {.max_bytes = (uint64_t)1 << 40,
                               .max_ratio = 1000,
                               .max_entries = 1000000,
                               .max_depth = 4};
    if (lim) {
        if (lim->max_bytes)
            d.max_bytes = lim->max_bytes;
        if (lim->max_ratio)
            d.max_ratio = lim->max_ratio;
        if (lim->max_entries)
            d.max_entries = lim->max_entries;
        if (lim->max_depth)
            d.max_depth = lim->max_depth;
    }
    job->arc_lim = d;
}

void sluice_job_partial_init(sluice_job *job, void *partial)
{
    if (job->desc->partial_init)
        job->desc->partial_init(&job->coord.ctx, partial);
    else
        memset(partial, 0, job->desc->partial_size);
}

int sluice_job_merge(sluice_job *job, void *into, const void *next)
{
    if (!job->desc->merge)
        return SLUICE_EINVAL;
    job->desc->merge(&job->coord.ctx, into, next);
    return 0;
}

void sluice_job_counters(sluice_job *job, const void *partial, uint64_t *out)
{
    if (job->desc->counters)
        job->desc->counters(&job->coord.ctx, partial, out);
}

uint32_t sluice_job_operands(const sluice_job *job)
{
    return job->noperands;
}

int sluice_job_inputs_final(const sluice_job *job)
{
    return job->nexpand == 0;
}

void sluice_job_walk_opts(sluice_job *job, const sluice_walk_opts *opts)
{
    job->walk = *opts;
}

uint32_t sluice_job_inputs(const sluice_job *job)
{
    return job->ninputs;
}

const sluice_input *sluice_job_input(const sluice_job *job, uint32_t i)
{
    return i < job->ninputs ? &job->inputs[i].pub : NULL;
}

/* --------------------------------------------------------------- resume */

#define FNV_OFFSET 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
    return fnv(h, &v, sizeof v);
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

uint64_t sluice_job_fingerprint(const sluice_job *job)
{
    const sluice_plugin *d = job->desc;
    uint64_t h = fnv_str(FNV_OFFSET, "sluice job 1");
    h = fnv_str(h, d->name);
    h = fnv_str(h, d->version);
    h = fnv_u64(h, d->abi_major);
    /* The plugin's file: a rebuilt plugin may count differently. */
    struct stat st;
    if (job->plugin->path && stat(job->plugin->path, &st) == 0) {
        h = fnv_u64(h, (uint64_t)st.st_size);
        h = fnv_u64(h, (uint64_t)st.st_mtim.tv_sec);
        h = fnv_u64(h, (uint64_t)st.st_mtim.tv_nsec);
    }
    for (uint32_t i = 0; i < d->n_options; i++) {
        h = fnv_str(h, d->options[i].key);
        h = fnv_str(h, job->plugin->values[i] ? job->plugin->values[i]
                                              : d->options[i].default_value);
    }
    h = fnv_u64(h, job->chunk);
    h = fnv_u64(h, job->batch);
    h = fnv_u64(h, job->block);
    h = fnv_u64(h, (uint64_t)job->opts.skip_binary);
    /* What decides how bytes are read as text (wc -m, -w). */
    h = fnv_str(h, setlocale(LC_CTYPE, NULL));
    h = fnv_u64(h, getenv("POSIXLY_CORRECT") != NULL);
    return h ? h : 1;
}

/* What identifies a planned unit: its kind and range, and each of its
 * inputs' path, inode, size and mtime (and for archive members, the
 * archive's).  0 for what cannot be
 * resumed (a stream: its bytes are gone). */
static uint64_t unit_fp(const sluice_job *job, const sluice__unit *u,
                        uint32_t lo, uint32_t hi)
{
    if (u->kind == SLUICE__UNIT_STREAM)
        return 0;
    uint64_t h = fnv_u64(FNV_OFFSET, u->kind);
    h = fnv_u64(h, u->flags &
                       (SLUICE__UF_RANGE | SLUICE__UF_BEGIN | SLUICE__UF_END));
    h = fnv_u64(h, u->flags & SLUICE__UF_RANGE ? u->offset : 0);
    h = fnv_u64(h, u->flags & SLUICE__UF_RANGE ? u->length : 0);
    h = fnv_u64(h, hi - lo);
    for (uint32_t i = lo; i < hi && i < job->ninputs; i++) {
        const sluice__input *in = &job->inputs[i];
        if (in->kind == SLUICE__IN_STREAM)
            return 0;
        const struct stat *st = &in->pub.st;
        h = fnv_str(h, in->pub.path);
        h = fnv_u64(h, (uint64_t)in->kind);
        h = fnv_u64(h, in->size);
        h = fnv_u64(h, in->container);
        /* Not st_dev: the nodes of a shared file system number it each
         * their own way (sluice-mpi compares fingerprints across them). */
        if (in->pub.stat_ok) {
            h = fnv_u64(h, (uint64_t)st->st_ino);
            h = fnv_u64(h, (uint64_t)st->st_size);
            h = fnv_u64(h, (uint64_t)st->st_mtim.tv_sec);
            h = fnv_u64(h, (uint64_t)st->st_mtim.tv_nsec);
        }
    }
    return h ? h : 1;
}

static int resume_add(sluice_job *job, uint64_t seq, uint64_t fingerprint,
                      const void *result, size_t len, int borrow)
{
    if (fingerprint == 0 || len % 8 != 0 || len > UINT32_MAX)
        return SLUICE_EINVAL;
    if (job->nres == job->res_cap) {
        uint32_t ncap = job->res_cap ? job->res_cap * 2 : 64;
        resumed *n = realloc(job->res, ncap * sizeof *n);
        if (!n)
            return SLUICE_ENOMEM;
        job->res = n;
        job->res_cap = ncap;
    }
    unsigned char *data = (unsigned char *)result;
    if (!borrow) {
        data = malloc(len ? len : 1);
        if (!data)
            return SLUICE_ENOMEM;
        memcpy(data, result, len);
    }
    job->res[job->nres] = (resumed){.seq = seq,
                                    .fp = fingerprint,
                                    .data = data,
                                    .len = len,
                                    .order = job->nres,
                                    .borrowed = borrow};
    job->nres++;
    job->res_sorted = 0;
    return 0;
}

int sluice_job_resume_unit(sluice_job *job, uint64_t seq, uint64_t fingerprint,
                           const void *result, size_t len)
{
    return resume_add(job, seq, fingerprint, result, len, 0);
}

int sluice_job_resume_unit_ref(sluice_job *job, uint64_t seq,
                               uint64_t fingerprint, const void *result,
                               size_t len)
{
    return resume_add(job, seq, fingerprint, result, len, 1);
}

static int cmp_resumed(const void *a, const void *b)
{
    const resumed *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts the logged units by seq; of two for one seq the first is kept. */
static void resume_sort(sluice_job *job)
{
    if (job->res_sorted || job->nres == 0)
        return;
    qsort(job->res, job->nres, sizeof *job->res, cmp_resumed);
    uint32_t k = 0;
    for (uint32_t i = 0; i < job->nres; i++) {
        if (k > 0 && job->res[k - 1].seq == job->res[i].seq) {
            if (!job->res[i].borrowed)
                free(job->res[i].data);
            continue;
        }
        job->res[k++] = job->res[i];
    }
    job->nres = k;
    job->res_next = 0;
    job->res_sorted = 1;
}

/* The logged result of unit u (just planned, inputs [lo, hi)), or NULL
 * when it must run.  A logged unit that is no longer the same fails the
 * job (SLUICE_ERESUME). */
static const resumed *resume_find(sluice_job *job, const sluice__unit *u,
                                  uint32_t lo, uint32_t hi, uint64_t fp)
{
    while (job->res_next < job->nres && job->res[job->res_next].seq < u->seq)
        job->res_next++;
    if (job->res_next >= job->nres || job->res[job->res_next].seq != u->seq)
        return NULL;
    const resumed *r = &job->res[job->res_next];
    if (r->fp != fp) {
        const char *path = lo < job->ninputs ? job->inputs[lo].pub.path : "?";
        job_err(job, SLUICE_ERESUME,
                "%s: unit %llu is not the unit that was done before (%s)", path,
                (unsigned long long)u->seq,
                fp == 0 ? "it is a stream now"
                        : "the input changed, or the inputs before it did");
        return NULL;
    }
    return r;
}

/* Applies a logged result: its inputs are rebased on the unit's first. */
static int resume_apply(sluice_job *job, const unsigned char *data, size_t len,
                        uint32_t lo, uint32_t hi)
{
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy)
        return SLUICE_ENOMEM;
    memcpy(copy, data, len);
    for (size_t at = 0; at + sizeof(sluice__rec) <= len;) {
        sluice__rec rec;
        memcpy(&rec, copy + at, sizeof rec);
        if (rec.input >= hi - lo || rec.type == SLUICE__REC_PAD ||
            (rec.type == SLUICE__REC_DATA &&
             !(job->desc->caps & SLUICE_CAP_ORDERED))) {
            free(copy);
            return SLUICE_ECORRUPT;
        }
        rec.input += lo;
        memcpy(copy + at, &rec, sizeof rec);
        at += sizeof rec + sluice__pad8(rec.len);
    }
    int rc = sluice__gather_apply(&job->g, copy, len, 0, len, lo, hi);
    free(copy);
    return rc;
}

/* ------------------------------------------------------------- job life */

static int coord_flush(sluice__worker *w, uint64_t seq, uint64_t pos,
                       uint32_t len, int last, size_t need);
static void unit_done(sluice_job *job, const wentry *e, int poisoned);

/* A new job; with `twin`, one that shares twin's plugin globals: its
 * global_init is not run again, nor global_fini at the end (clones). */
static int job_create(sluice_plugin_handle *plugin, const sluice_job_opts *opts,
                      const sluice_callbacks *cb, sluice_job **out, char *err,
                      size_t errlen, const sluice_job *twin)
{
    *out = NULL;
    sluice_job *job = calloc(1, sizeof *job);
    if (!job) {
        snprintf(err, errlen, "out of memory");
        return SLUICE_ENOMEM;
    }
    job->plugin = plugin;
    job->desc = plugin->desc;
    if (opts)
        job->opts = *opts;
    else
        job->opts.jobs = -1;
    if (cb)
        job->cb = *cb;
    job->walk.max_depth = -1;
    job->share_end = UINT64_MAX;
    sluice_job_archive_limits(job, NULL);
    job->p_fd = -1;
    job->pin = -1;
    job->hook_fd = -1;
    job->epfd = -1;
    job->chunk =
        job->opts.chunk_size ? job->opts.chunk_size : SLUICE_DEFAULT_CHUNK;
    job->batch =
        job->opts.batch_bytes ? job->opts.batch_bytes : SLUICE_DEFAULT_BATCH;
    job->block = job->opts.block_size ? job->opts.block_size
                                      : (uint32_t)SLUICE_DEFAULT_BLOCK;
    job->coord_out = malloc(SLUICE_OUT_SIZE);
    int rc =
        job->coord_out
            ? sluice__worker_init(&job->coord, plugin, -1, job->coord_out,
                                  SLUICE_OUT_SIZE, &job->coord_tail, job->block)
            : SLUICE_ENOMEM;
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        sluice_job_free(job);
        return rc;
    }
    job->coord.ctx.worker = -1;
    job->coord.flush = coord_flush;
    job->coord.flush_arg = job;
    if (twin) {
        job->coord.ctx.global = twin->coord.ctx.global;
        *out = job;
        return 0;
    }
    if (job->desc->global_init) {
        char why[SLUICE_MSG_MAX] = "";
        job->coord.err_sink = why;
        job->coord.err_sink_len = sizeof why;
        rc = job->desc->global_init(&job->coord.ctx);
        job->coord.err_sink = NULL;
        if (rc != 0) {
            snprintf(err, errlen, "%s: plugin %s: %s", plugin->path,
                     job->desc->name, why[0] ? why : "initialisation failed");
            sluice_job_free(job);
            return SLUICE_EPLUGIN;
        }
    }
    job->global_inited = 1;
    *out = job;
    return 0;
}

int sluice_job_new(sluice_plugin_handle *plugin, const sluice_job_opts *opts,
                   const sluice_callbacks *cb, sluice_job **out, char *err,
                   size_t errlen)
{
    return job_create(plugin, opts, cb, out, err, errlen, NULL);
}

void sluice_job_free(sluice_job *job)
{
    if (!job)
        return;
    if (job->global_inited && job->desc->global_fini)
        job->desc->global_fini(&job->coord.ctx);
    sluice__worker_fini(&job->coord);
    free(job->coord_out);
    /* Nested archives first: they read from their parents. */
    for (uint32_t i = 0; i < job->ninputs; i++) {
        sluice__input *in = &job->inputs[i];
        if (in->kind == SLUICE__IN_EXPAND) {
            sluice__walk_free(in->walk);
            sluice__arc_free(in->arc);
        }
        free(in->data);
        free(in->msg);
        free((char *)in->pub.path);
    }
    free(job->inputs);
    for (uint32_t i = 0; i < job->noperands; i++)
        free(job->op_path[i]);
    free(job->op_path);
    free(job->op_flags);
    for (uint32_t i = 0; i < job->nres; i++)
        if (!job->res[i].borrowed)
            free(job->res[i].data);
    free(job->res);
    free(job->carry);
    free(job->lb);
    if (job->hook_fd >= 0 && job->hook_fd != STDIN_FILENO)
        close(job->hook_fd);
    if (job->p_fd > 0)
        close(job->p_fd);
    free(job);
}

/* ----------------------------------------------------------- expansion */

/* Reads up to n bytes of the archive member `a`: like read_full. */
static ssize_t arc_read_full(sluice__arc *a, unsigned char *buf, size_t n)
{
    size_t have = 0;
    while (have < n) {
        ssize_t r = sluice__arc_read(a, buf + have, n - have);
        if (r < 0)
            return have ? (ssize_t)have : r; /* the error sticks */
        if (r == 0)
            break;
        have += (size_t)r;
    }
    return (ssize_t)have;
}

/* Adds a new input to the progress totals. */
static void count_input(sluice_job *job, const sluice__input *in)
{
    if (in->kind == SLUICE__IN_EXPAND)
        return;
    job->progress.inputs_total++;
    if (in->kind == SLUICE__IN_FILE && in->size != UINT64_MAX)
        job->progress.bytes_total += in->size;
    else if (in->kind == SLUICE__IN_STREAM)
        job->progress.streams++;
}

/* Archive members small enough are read whole when their archive is
 * expanded and travel in the manifest; bigger ones are streamed. */
#define INLINE_MAX (256 * SLUICE_KiB)

static void sync_gather(sluice_job *job)
{
    job->g.inputs = job->inputs;
    job->g.ninputs = job->ninputs;
}

/* Drops the EXPAND input at `at`: it has given all it holds. */
static void drop_expand(sluice_job *job, uint32_t at)
{
    sluice__input *in = &job->inputs[at];
    sluice__walk_free(in->walk);
    sluice__arc_free(in->arc);
    free((char *)in->pub.path);
    memmove(in, in + 1, (job->ninputs - at - 1) * sizeof *in);
    job->ninputs--;
    job->nexpand--;
}

/* An input that failed with a message (archives: offsets are theirs). */
static int push_failed(sluice_job *job, const char *path, const char *msg,
                       uint64_t off)
{
    sluice__input *in = new_input(job, path);
    if (!in)
        return SLUICE_ENOMEM;
    in->kind = SLUICE__IN_FAILED;
    in->err_off = off;
    in->msg = strdup(msg && *msg ? msg : "failed");
    return in->msg ? 0 : SLUICE_ENOMEM;
}

/* "ARCHIVE:member" */
static char *member_path(const char *arc, const char *name)
{
    size_t a = strlen(arc), n = strlen(name);
    char *p = malloc(a + n + 2);
    if (p) {
        memcpy(p, arc, a);
        p[a] = ':';
        memcpy(p + a + 1, name, n + 1);
    }
    return p;
}

/* Whether a glob of the list matches member path `rel` or its last
 * component, as a walk matches (globs with a '/' see the whole path). */
static int member_glob_hit(const char *const *globs, const char *rel)
{
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    for (; globs && *globs; globs++) {
        int full = strchr(*globs, '/') != NULL;
        if (fnmatch(*globs, full ? rel : base, full ? FNM_PATHNAME : 0) == 0)
            return 1;
    }
    return 0;
}

/* The walk filters (--include, --exclude) for archive member `name`:
 * 1 to leave it out.  An excluded directory excludes what is under it. */
static int member_filtered(const sluice_job *job, const char *name)
{
    const sluice_walk_opts *o = &job->walk;
    if (o->exclude && o->exclude[0]) {
        char *p = strdup(name);
        if (!p)
            return 0;
        for (char *slash = p; (slash = strchr(slash, '/')) != NULL; slash++) {
            *slash = '\0';
            int hit = member_glob_hit(o->exclude, p);
            *slash = '/';
            if (hit) {
                free(p);
                return 1;
            }
        }
        free(p);
        if (member_glob_hit(o->exclude, name))
            return 1;
    }
    return o->include && o->include[0] && !member_glob_hit(o->include, name);
}

/* The next members of the archive being expanded (at job->ins): small ones
 * read whole, up to a batch; a big one, streamed later by plan_stream; or a
 * nested archive, expanded before this one goes on. */
static int expand_archive(sluice_job *job)
{
    sluice__input *ph = &job->inputs[job->ins];
    if (!ph->arc) {
        int rc =
            sluice__arc_open(&ph->arc, ph->pub.path, ph->parent, &job->arc_lim);
        if (rc == SLUICE_ENOMEM)
            return rc;
        if (rc < 0) {
            uint64_t off;
            const char *m = sluice__arc_error(ph->arc, &off);
            char *path = strdup(ph->pub.path);
            rc = path ? push_failed(job, path, m, off) : SLUICE_ENOMEM;
            free(path);
            if (rc == 0)
                drop_expand(job, job->ins);
            return rc;
        }
    }
    job->exp_arc = ph->arc;
    size_t bytes = 0;
    for (uint32_t n = 0; n < SLUICE_BATCH_FILES && bytes < job->batch; n++) {
        ph = &job->inputs[job->ins];
        sluice__arc *a = ph->arc;
        const char *name;
        struct stat st;
        int r = sluice__arc_next(a, &name, &st);
        if (r < 0 && sluice__arc_member_failed(a))
            r = 0; /* already reported with the member */
        if (r < 0) {
            uint64_t off;
            const char *m = sluice__arc_error(a, &off);
            char *path = strdup(ph->pub.path);
            r = path ? push_failed(job, path, m, off) : SLUICE_ENOMEM;
            free(path);
            if (r < 0)
                return r;
        }
        if (r == 0) {
            drop_expand(job, job->ins);
            return 0;
        }
        if (member_filtered(job, name))
            continue;
        char *path = member_path(ph->pub.path, name);
        if (!path)
            return SLUICE_ENOMEM;
        int rc = 0;
        if ((ph->add_flags & SLUICE_ADD_NESTED) &&
            ph->depth < job->arc_lim.max_depth &&
            sluice__arc_is_archive(name)) {
            rc = push_expand(job, path, &st, ph->add_flags, ph->depth + 1);
            if (rc == 0)
                job->inputs[job->ins - 1].parent = a;
            free(path);
            return rc;
        }
        if (st.st_size < 0 || (uint64_t)st.st_size > INLINE_MAX) {
            /* plan_stream reads it; this archive waits until then. */
            sluice__input *in = new_input(job, path);
            free(path);
            if (!in)
                return SLUICE_ENOMEM;
            in->kind = SLUICE__IN_STREAM;
            in->arc = a;
            in->pub.st = st;
            in->pub.stat_ok = 1;
            return 0;
        }
        size_t want = (size_t)st.st_size;
        unsigned char *data = malloc(want + 1);
        ssize_t got = data ? arc_read_full(a, data, want + 1) : SLUICE_ENOMEM;
        if (got == SLUICE_ENOMEM) {
            free(path);
            return SLUICE_ENOMEM;
        }
        if (got < 0 || (size_t)got != want) {
            uint64_t off = UINT64_MAX;
            const char *m = sluice__arc_error(a, &off);
            rc = push_failed(job, path,
                             m ? m
                               : "member size does not match "
                                 "its header",
                             off);
            free(data);
            free(path);
            if (rc == 0 && m)
                drop_expand(job, job->ins); /* nothing after is readable */
            if (rc < 0 || m)
                return rc;
            continue;
        }
        sluice__input *in = new_input(job, path);
        free(path);
        if (!in) {
            free(data);
            return SLUICE_ENOMEM;
        }
        in->kind = SLUICE__IN_FILE;
        in->data = data;
        in->size = want;
        in->pub.st = st;
        in->pub.stat_ok = 1;
        bytes += want + 512;
    }
    return 0;
}

/* The next inputs of the directory being walked (at job->ins). */
static int expand_dir(sluice_job *job)
{
    sluice__input *ph = &job->inputs[job->ins];
    if (!ph->walk) {
        int rc = sluice__walk_open(job, ph->pub.path, ph->add_flags, &job->walk,
                                   &ph->walk);
        if (rc < 0)
            return rc;
    }
    int rc = sluice__walk_step(ph->walk, SLUICE_BATCH_FILES / 2);
    if (rc == 0)
        drop_expand(job, job->ins);
    return rc < 0 ? rc : 0;
}

/* Replaces the EXPAND inputs at the planning position by what they hold,
 * a batch at a time, until a real input is there or none is left.  New
 * inputs are inserted before the EXPAND input, which moves down; nothing
 * at or after the planning position has been handed out yet. */
static int expand(sluice_job *job)
{
    while (job->p_input < job->ninputs &&
           job->inputs[job->p_input].kind == SLUICE__IN_EXPAND && !job->fatal) {
        sluice__input *ph = &job->inputs[job->p_input];
        job->expanding = 1;
        job->ins = job->p_input;
        job->exp_operand = ph->pub.operand;
        job->exp_flags = ph->add_flags;
        job->exp_arc = NULL;
        job->exp_container = ph->container;
        if (!S_ISDIR(ph->pub.st.st_mode)) {
            /* What is read from an archive is as old as the archive. */
            uint64_t h = fnv_u64(FNV_OFFSET, ph->container);
            h = fnv_u64(h, (uint64_t)ph->pub.st.st_ino);
            h = fnv_u64(h, (uint64_t)ph->pub.st.st_size);
            h = fnv_u64(h, (uint64_t)ph->pub.st.st_mtim.tv_sec);
            job->exp_container =
                fnv_u64(h, (uint64_t)ph->pub.st.st_mtim.tv_nsec);
        }
        int rc =
            S_ISDIR(ph->pub.st.st_mode) ? expand_dir(job) : expand_archive(job);
        job->expanding = 0;
        sync_gather(job);
        /* New inputs count toward the progress totals. */
        for (uint32_t i = job->p_input; i < job->ins; i++)
            count_input(job, &job->inputs[i]);
        if (rc < 0) {
            job_err(job, rc, "%s", sluice_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* ------------------------------------------------------------- planner */

/* Bytes the manifest entry of `in` takes: path, message, inline data. */
static size_t mfile_bytes(const sluice__input *in)
{
    return sluice__mfile_bytes(
        strlen(in->pub.path),
        in->kind == SLUICE__IN_FAILED && in->msg ? strlen(in->msg) : 0,
        in->data ? (size_t)in->size : 0);
}

/* Writes the manifest entry of input `index` at slot + *off.  A failed
 * input carries its error; an archive member already read, its bytes
 * (which the slot now owns). */
static void put_mfile(unsigned char *slot, size_t *off, sluice__input *in,
                      uint32_t index, int errnum, uint64_t size)
{
    const char *msg = in->kind == SLUICE__IN_FAILED ? in->msg : NULL;
    sluice__mfile m = {.input = index,
                       .errnum = errnum,
                       .size = size,
                       .base = in->base,
                       .fd = in->fd,
                       .path_len = (uint32_t)strlen(in->pub.path),
                       .msg_len = msg ? (uint32_t)strlen(msg) : 0,
                       .err_off = in->err_off};
    if (in->kind == SLUICE__IN_FAILED)
        m.flags |= SLUICE__MF_FAILED;
    /* Files of size 0 are left out: those of /proc (their contents and,
     * under /proc/self, even their inode depend on who reads them). */
    if (in->kind == SLUICE__IN_FILE && !in->data && in->pub.stat_ok &&
        S_ISREG(in->pub.st.st_mode) && in->pub.st.st_size > 0) {
        m.flags |= SLUICE__MF_STAT;
        m.st_dev = (uint64_t)in->pub.st.st_dev;
        m.st_ino = (uint64_t)in->pub.st.st_ino;
        m.st_size = (uint64_t)in->pub.st.st_size;
        m.mtime_sec = (int64_t)in->pub.st.st_mtim.tv_sec;
        m.mtime_nsec = (int64_t)in->pub.st.st_mtim.tv_nsec;
    }
    if (in->data) {
        m.flags |= SLUICE__MF_INLINE;
        m.size = in->size;
    }
    size_t need = mfile_bytes(in);
    unsigned char *p = slot + *off;
    memset(p, 0, need);
    memcpy(p, &m, sizeof m);
    p += sizeof m;
    memcpy(p, in->pub.path, (size_t)m.path_len + 1);
    p += sluice__pad8((size_t)m.path_len + 1);
    if (m.msg_len)
        memcpy(p, msg, m.msg_len);
    p += sluice__pad8(m.msg_len);
    if (in->data) {
        memcpy(p, in->data, (size_t)in->size);
        free(in->data);
        in->data = NULL;
    }
    *off += need;
}

static int is_big(const sluice_job *job, const sluice__input *in)
{
    return in->kind == SLUICE__IN_FILE && !in->data && in->size != UINT64_MAX &&
           in->size > job->chunk && !(job->desc->caps & SLUICE_CAP_WHOLE_FILE);
}

/* Reads the next piece of a stream input into the slot. */
static void plan_stream(sluice_job *job, sluice__unit *u, unsigned char *slot,
                        size_t slot_size)
{
    uint32_t idx = job->p_input;
    sluice__input *in = &job->inputs[idx];
    int errnum = 0, unopened = 0;
    const char *emsg = NULL; /* archive member: why it failed */
    uint64_t eoff = UINT64_MAX;
    if (!in->arc && job->p_fd < 0 && job->p_off == 0) {
        if (in->fd >= 0) {
            job->p_fd = in->fd;
        } else {
            job->p_fd = open(in->pub.path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
            if (job->p_fd < 0) {
                errnum = errno;
                unopened = 1;
            }
        }
        /* A bigger pipe means fewer wake-ups of the writer and of us. */
        if (job->p_fd >= 0 && S_ISFIFO(in->pub.st.st_mode))
            fcntl(job->p_fd, F_SETPIPE_SZ, (int)SLUICE_MiB);
    }
    size_t off = 0;
    size_t moff;
    put_mfile(slot, &off, in, idx, 0, UINT64_MAX);
    moff = off;
    /* The plugin's lookbehind: the last bytes of the previous unit. */
    size_t before = job->p_off ? job->lb_len : 0;
    if (before)
        memcpy(slot + off, job->lb, before);
    off += before;
    /* Room is left for an error message to go in front of the data. */
    size_t room = slot_size - off - sluice__pad8(SLUICE_MSG_MAX);
    size_t chunk = job->chunk < room ? job->chunk : room;
    size_t have = 0;
    if (job->carry_len) {
        memcpy(slot + off, job->carry, job->carry_len);
        have = job->carry_len;
        job->carry_len = 0;
    }
    int eof = 0;
    if (!errnum) {
        ssize_t r =
            in->arc ? arc_read_full(in->arc, slot + off + have, chunk - have)
                    : sluice__os_read_full(job->p_fd, slot + off + have,
                                           chunk - have);
        if (r < 0 && in->arc && (emsg = sluice__arc_error(in->arc, &eoff)))
            ;
        else if (r < 0)
            errnum = (int)-r;
        else if ((size_t)r < chunk - have)
            eof = 1;
        if (r > 0)
            have += (size_t)r;
    }
    if (errnum || emsg)
        eof = 1;
    if (!eof && (job->desc->caps & SLUICE_CAP_RECORDS)) {
        /* Keep the unit on a record boundary; carry the rest over. */
        unsigned char *nl = memrchr(slot + off, '\n', have);
        if (nl) {
            size_t keep = (size_t)(nl - (slot + off)) + 1;
            if (!job->carry)
                job->carry = malloc(SLUICE_SLOT_SIZE);
            if (job->carry && keep < have) {
                job->carry_len = have - keep;
                memcpy(job->carry, slot + off + keep, job->carry_len);
                have = keep;
            }
        }
    }
    if (errnum) {
        sluice__mfile *m = (sluice__mfile *)(void *)slot;
        m->errnum = errnum;
    }
    if (emsg) {
        /* The message goes after the path: move the data up. */
        size_t ml = strnlen(emsg, SLUICE_MSG_MAX - 1);
        size_t shift = sluice__pad8(ml);
        memmove(slot + moff + shift, slot + moff, off + have - moff);
        memset(slot + moff, 0, shift);
        memcpy(slot + moff, emsg, ml);
        sluice__mfile *m = (sluice__mfile *)(void *)slot;
        m->flags |= SLUICE__MF_FAILED;
        m->msg_len = (uint32_t)ml;
        m->err_off = eoff;
        moff += shift;
        off += shift;
    }
    size_t lbmax = sluice__lookbehind(job->desc);
    if (lbmax && !eof) {
        size_t span = before + have; /* contiguous in the slot */
        size_t keep = span < lbmax ? span : lbmax;
        if (!job->lb)
            job->lb = malloc(lbmax);
        if (job->lb) {
            memmove(job->lb, slot + moff + span - keep, keep);
            job->lb_len = keep;
        }
    }
    memset(u, 0, sizeof *u);
    u->kind = SLUICE__UNIT_STREAM;
    u->nfiles = 1;
    u->manifest_len = (uint32_t)moff;
    u->data_off = (uint32_t)off;
    u->before_len = (uint32_t)before;
    u->length = have;
    u->offset = job->p_off;
    if (job->p_off == 0)
        u->flags |= SLUICE__UF_BEGIN;
    if (unopened)
        u->flags |= SLUICE__UF_UNOPENED;
    job->p_off += have;
    if (eof) {
        u->flags |= SLUICE__UF_END;
        if (job->p_fd > 0 && in->fd < 0)
            close(job->p_fd);
        job->p_fd = -1;
        job->p_off = 0;
        job->p_input++;
    }
}

typedef struct hook_src {
    int fd;
    uint64_t base;
} hook_src;

static int64_t hook_read(void *arg, void *buf, size_t n, uint64_t off)
{
    const hook_src *s = arg;
    return sluice__os_pread_full(s->fd, buf, n, s->base + off, UINT64_MAX);
}

/* The end of the range unit of input `idx` that starts at job->p_off, as
 * the plugin's boundary hook puts it; the nominal end without a hook. */
static uint64_t range_end(sluice_job *job, uint32_t idx, sluice__input *in)
{
    uint64_t at = job->p_off;
    uint64_t end = in->size - at < job->chunk ? in->size : at + job->chunk;
    sluice__boundary_fn hook = sluice__boundary(job->desc);
    if (!hook)
        return end;
    if (job->hook_fd < 0 || job->hook_input != idx) {
        if (job->hook_fd >= 0 && job->hook_fd != STDIN_FILENO)
            close(job->hook_fd);
        job->hook_fd =
            in->fd >= 0 ? in->fd
                        : open(in->pub.path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        job->hook_input = idx;
    }
    if (job->hook_fd < 0)
        return in->size; /* the worker reports why it cannot be read */
    hook_src src = {.fd = job->hook_fd, .base = in->base};
    uint64_t e =
        hook(&job->coord.ctx, hook_read, &src, at, job->chunk, in->size);
    return e > at && e <= in->size ? e : in->size;
}

/* Makes the next unit into `slot`.  Returns 1, or 0 when there is none. */
static int plan_next(sluice_job *job, sluice__unit *u, unsigned char *slot,
                     size_t slot_size, uint32_t *lo, uint32_t *hi)
{
    if (interrupted(job) || job->next_seq >= job->share_end ||
        expand(job) < 0 || job->p_input >= job->ninputs)
        return 0;
    uint32_t first = job->p_input;
    sluice__input *in = &job->inputs[first];
    *lo = first;
    job->plan_bytes = 0;
    if (in->kind == SLUICE__IN_STREAM) {
        plan_stream(job, u, slot, slot_size);
        if (interrupted(job))
            return 0; /* what was read is dropped with the job */
        job->plan_bytes = u->length;
    } else if (is_big(job, in)) {
        size_t off = 0;
        put_mfile(slot, &off, in, first, 0, in->size);
        memset(u, 0, sizeof *u);
        u->kind = SLUICE__UNIT_FILES;
        u->nfiles = 1;
        u->manifest_len = (uint32_t)off;
        u->offset = job->p_off;
        u->length = range_end(job, first, in) - job->p_off;
        job->plan_bytes = u->length;
        u->flags = SLUICE__UF_RANGE;
        if (job->desc->caps & SLUICE_CAP_RECORDS) {
            u->flags |= SLUICE__UF_ALIGN;
            u->align_limit = job->chunk;
        }
        if (job->p_off == 0)
            u->flags |= SLUICE__UF_BEGIN;
        job->p_off += u->length;
        if (job->p_off >= in->size) {
            u->flags |= SLUICE__UF_END;
            job->p_off = 0;
            job->p_input++;
        }
    } else {
        /* A batch of whole files (and failed inputs, reported in order). */
        size_t off = 0;
        uint64_t bytes = 0;
        memset(u, 0, sizeof *u);
        u->kind = SLUICE__UNIT_FILES;
        while (u->nfiles < SLUICE_BATCH_FILES) {
            if (expand(job) < 0 || job->p_input >= job->ninputs)
                break;
            sluice__input *f = &job->inputs[job->p_input];
            if (f->kind == SLUICE__IN_STREAM || is_big(job, f))
                break;
            if (u->nfiles > 0 &&
                (bytes >= job->batch || off + mfile_bytes(f) > slot_size))
                break;
            if (off + mfile_bytes(f) > slot_size)
                return 0; /* cannot happen: paths are < PATH_MAX */
            put_mfile(slot, &off, f, job->p_input,
                      f->kind == SLUICE__IN_FAILED ? f->pub.err : 0,
                      f->kind == SLUICE__IN_FILE ? f->size : UINT64_MAX);
            if (f->kind == SLUICE__IN_FILE && f->size != UINT64_MAX) {
                bytes += f->size + 512; /* files cost more than bytes */
                job->plan_bytes += f->size;
            }
            u->nfiles++;
            job->p_input++;
        }
        u->manifest_len = (uint32_t)off;
    }
    u->seq = job->next_seq++;
    *hi = job->p_input > first ? job->p_input : first + 1;
    return 1;
}

/* -------------------------------------------------- coordinator flush */

static int inline_apply(sluice_job *job, uint64_t pos, uint32_t len)
{
    int rc = sluice__gather_apply(&job->g, job->coord_out, SLUICE_OUT_SIZE, pos,
                                  len, job->unit_lo, job->unit_hi);
    atomic_store(&job->coord_tail, pos + len);
    return rc;
}

/* Inline mode and finish: records are applied as soon as they exist. */
static int coord_flush(sluice__worker *w, uint64_t seq, uint64_t pos,
                       uint32_t len, int last, size_t need)
{
    sluice_job *job = w->flush_arg;
    (void)seq;
    (void)need;
    int rc = inline_apply(job, pos, len);
    if (rc < 0) {
        if (rc == SLUICE_ECORRUPT)
            job_err(job, rc, "plugin %s wrote invalid records",
                    job->desc->name);
        else
            job_err(job, rc, "write error");
        return rc;
    }
    if (last)
        job->cur_seq++;
    return 0;
}

/* Calls on_progress when 200 ms have passed since the last call (or
 * always with `force`). */
static void report_progress(sluice_job *job, int force)
{
    if (!job->cb.on_progress)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (!force && now - job->progress_at < 200000000u)
        return;
    job->progress_at = now;
    job->progress.inputs_done = job->g.cur_input;
    job->progress.bytes_done = job->done_bytes;
    job->progress.expanding = job->nexpand;
    job->cb.on_progress(job->cb.user, &job->progress);
}

static int run_finish(sluice_job *job)
{
    if (!job->desc->finish || job->fatal)
        return 0;
    sluice__worker *w = &job->coord;
    w->seq = job->next_seq;
    w->frag_pos = w->out_head;
    w->cur_input = job->ninputs;
    w->cur_path = "";
    sluice__gather_begin_unit(&job->g, job->next_seq);
    job->g.cur_input = job->ninputs; /* DATA only */
    job->unit_lo = job->ninputs;
    job->unit_hi = job->ninputs + 1;
    int rc = job->desc->finish(&w->ctx);
    if (rc != 0 && !job->fatal)
        job_err(job, SLUICE_EPLUGIN, "plugin %s: finish failed",
                job->desc->name);
    uint64_t len = w->out_head - w->frag_pos;
    if (!job->fatal && len)
        coord_flush(w, w->seq, w->frag_pos, (uint32_t)len, 1, 0);
    return job->fatal;
}

static int run_inline(sluice_job *job)
{
    unsigned char *slot = malloc(SLUICE_SLOT_SIZE);
    if (!slot)
        return SLUICE_ENOMEM;
    sluice__worker *w = &job->coord;
    void *global = w->ctx.global;
    sluice__worker_fini(w);
    int rc = sluice__worker_init(w, job->plugin, 0, job->coord_out,
                                 SLUICE_OUT_SIZE, &job->coord_tail, job->block);
    w->ctx.global = global;
    w->skip_binary = job->opts.skip_binary;
    w->flush = coord_flush;
    w->flush_arg = job;
    if (rc == 0 && job->desc->worker_init && job->desc->worker_init(&w->ctx))
        rc = SLUICE_EPLUGIN;
    w->ctx.global = global;
    while (rc == 0 && !job->fatal && !interrupted(job)) {
        sluice__unit u;
        uint32_t lo, hi;
        if (!plan_next(job, &u, slot, SLUICE_SLOT_SIZE, &lo, &hi))
            break;
        if (u.seq < job->share_first)
            continue; /* another rank's (sluice_job_run_share) */
        sluice__gather_begin_unit(&job->g, u.seq);
        job->unit_lo = lo;
        job->unit_hi = hi;
        wentry e = {.seq = u.seq,
                    .lo = lo,
                    .hi = hi,
                    .bytes = job->plan_bytes,
                    .offset = u.flags & SLUICE__UF_RANGE ? u.offset : 0,
                    .pid = getpid(),
                    .runs = 1,
                    .fp = unit_fp(job, &u, lo, hi)};
        const resumed *r =
            job->nres ? resume_find(job, &u, lo, hi, e.fp) : NULL;
        if (job->fatal)
            break;
        if (r) {
            rc = resume_apply(job, r->data, r->len, lo, hi);
            if (rc < 0 && rc != SLUICE_ENOMEM) {
                job_err(job, SLUICE_ERESUME,
                        "%s: the job log's result for unit %llu is invalid",
                        job->inputs[lo].pub.path, (unsigned long long)u.seq);
                break;
            }
            job->cur_seq++;
            e.resumed = 1;
            e.runs = 0;
            e.pid = 0;
        } else {
            rc = sluice__worker_unit(w, &u, slot, SLUICE_SLOT_SIZE);
        }
        job->done_bytes += job->plan_bytes;
        if (rc == 0 && !job->fatal)
            unit_done(job, &e, 0);
        report_progress(job, 0);
    }
    if (job->desc->worker_fini)
        job->desc->worker_fini(&w->ctx);
    w->ctx.worker = -1;
    free(slot);
    if (rc < 0 && !job->fatal)
        job_err(job, rc, "%s", sluice_strerror(rc));
    return job->fatal;
}

/* ------------------------------------------------------ process mode */

static wentry *win_at(sluice_job *job, uint64_t seq)
{
    return &job->win[seq & (job->win_size - 1)];
}

static int spawn(sluice_job *job, int i)
{
    wproc *p = &job->w[i];
    sluice__region *r = calloc(1, sizeof *r);
    if (!r)
        return SLUICE_ENOMEM;
    int rc = sluice__region_create(r, SLUICE_SLOT_SIZE, SLUICE_OUT_SIZE);
    if (rc < 0) {
        free(r);
        return rc;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        sluice__region_destroy(r);
        free(r);
        return rc;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            close(devnull);
        }
        signal(SIGINT, SIG_IGN); /* the coordinator decides */
        signal(SIGPIPE, SIG_DFL);
        /* Other workers' regions are none of this worker's business. */
        for (int k = 0; k < job->nw; k++)
            if (k != i && job->w[k].region && job->w[k].alive)
                sluice__os_unmap(job->w[k].region->base,
                                 job->w[k].region->bytes);
        if (job->epfd >= 0)
            close(job->epfd);
        if (job->opts.worker_memory) {
            struct rlimit rl = {.rlim_cur = job->opts.worker_memory,
                                .rlim_max = job->opts.worker_memory};
            setrlimit(RLIMIT_AS, &rl);
        }
        sluice__worker w;
        void *global = job->coord.ctx.global;
        if (sluice__worker_init(&w, job->plugin, i, r->out, r->out_size,
                                &r->hdr->out_tail, job->block) < 0) {
            atomic_store(&r->hdr->start_err, SLUICE__START_INIT);
            _exit(2);
        }
        w.ctx.global = global;
        w.skip_binary = job->opts.skip_binary;
        sluice__worker_main(&w, r, job->sandbox);
    }
    p->pid = pid;
    p->region = r;
    p->nflight = 0;
    p->slot_busy = 0;
    p->scan_pos = 0;
    p->consumed = 0;
    p->alive = 1;
    p->solo = 0;
    p->head_ns = 0;
    p->limit_s = 0;
    p->term_ns = 0;
    p->kill_sent = 0;
    p->timed_out = 0;
    p->pidfd = sluice__os_pidfd(pid);
    if (p->pidfd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN,
                                 .data.u32 = (uint32_t)i + 1};
        epoll_ctl(job->epfd, EPOLL_CTL_ADD, p->pidfd, &ev);
    }
    return 0;
}

/* ------------------------------------------------------- deadlines */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A unit of `bytes` took `secs` on its worker. */
static void add_timing(sluice_job *job, double secs, uint64_t bytes)
{
    if (bytes == 0)
        return;
    job->spb[job->nspb % SLUICE_TIMING_SAMPLES] = secs / (double)bytes;
    job->nspb++;
    if (job->nspb >= TIMEOUT_MIN_SAMPLES &&
        (job->nspb == TIMEOUT_MIN_SAMPLES || job->nspb % 16 == 0)) {
        uint32_t n = job->nspb < SLUICE_TIMING_SAMPLES ? job->nspb
                                                       : SLUICE_TIMING_SAMPLES;
        double tmp[SLUICE_TIMING_SAMPLES];
        memcpy(tmp, job->spb, n * sizeof *tmp);
        qsort(tmp, n, sizeof *tmp, cmp_double);
        job->median_spb = tmp[n / 2];
    }
}

/* Seconds a unit of `bytes` may run, 0 for no limit. */
static double unit_limit(const sluice_job *job, uint64_t bytes)
{
    if (job->opts.unit_timeout != 0)
        return job->opts.unit_timeout > 0 ? job->opts.unit_timeout : 0;
    if (job->nspb < TIMEOUT_MIN_SAMPLES)
        return TIMEOUT_EARLY_S;
    double t = TIMEOUT_FACTOR * job->median_spb * (double)bytes;
    return t > TIMEOUT_FLOOR_S ? t : TIMEOUT_FLOOR_S;
}

/* The worker's oldest unit becomes its current one: its clock starts. */
static void start_head(sluice_job *job, wproc *p, uint64_t now)
{
    p->head_ns = p->nflight ? now : 0;
    p->limit_s = p->nflight ? unit_limit(job, p->inflight[0].bytes) : 0;
}

/* Terminates workers past their unit's deadline (SIGTERM, then SIGKILL
 * after the grace); their pidfds report the death.  Returns milliseconds
 * until the next deadline, or -1 when there is none. */
static int check_deadlines(sluice_job *job)
{
    uint64_t now = now_ns(), next = UINT64_MAX;
    for (int i = 0; i < job->nw; i++) {
        wproc *p = &job->w[i];
        if (!p->alive || !p->head_ns || p->kill_sent)
            continue;
        /* Time a worker spends waiting for us to take its output (ordered
         * output behind a slower unit) is not its unit's. */
        if (!p->term_ns && atomic_load_explicit(&p->region->hdr->out_waiting,
                                                memory_order_relaxed))
            p->head_ns = now;
        uint64_t at;
        if (p->term_ns) {
            at = p->term_ns + TERM_GRACE_NS;
            if (now >= at) {
                kill(p->pid, SIGKILL);
                p->kill_sent = 1;
                continue;
            }
        } else if (p->limit_s > 0) {
            at = p->head_ns + (uint64_t)(p->limit_s * 1e9);
            if (now >= at) {
                kill(p->pid, SIGTERM);
                p->term_ns = now;
                p->timed_out = p->limit_s;
                at = now + TERM_GRACE_NS;
            }
        } else {
            continue;
        }
        if (at < next)
            next = at;
    }
    if (next == UINT64_MAX)
        return -1;
    uint64_t ms = (next - now + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* ------------------------------------------------------- dispatch */

static void wake_worker(wproc *p)
{
    sluice__os_event_signal(p->region->doorbell);
}

static int push_unit(sluice_job *job, wproc *p, flight *f)
{
    int n = sluice_ring_push(&p->region->sub, &f->u, 1);
    if (n != 1)
        return n < 0 ? n : SLUICE_EINVAL;
    p->inflight[p->nflight++] = *f;
    p->slot_busy |= 1u << f->u.slot;
    if (p->nflight == 1)
        start_head(job, p, now_ns());
    wentry *e = win_at(job, f->u.seq);
    if (!e->used) {
        e->used = 1;
        e->seq = f->u.seq;
        e->nfrags = 0;
        e->applied = 0;
        e->runs = 0;
        e->resumed = 0;
        e->fp = unit_fp(job, &f->u, f->lo, f->hi);
    }
    e->runs++;
    e->pid = p->pid;
    e->offset = f->u.flags & SLUICE__UF_RANGE ? f->u.offset : 0;
    e->lo = f->lo;
    e->hi = f->hi;
    e->bytes = f->bytes;
    if (sluice_ring_needs_wake(&p->region->sub))
        wake_worker(p);
    return 0;
}

static int free_slot(const wproc *p)
{
    for (int s = 0; s < SLUICE_CREDITS; s++)
        if (!(p->slot_busy & (1u << s)))
            return s;
    return -1;
}

/* Whether the next unit continues a stream input already begun. */
static int stream_continues(const sluice_job *job)
{
    return job->p_input < job->ninputs &&
           job->inputs[job->p_input].kind == SLUICE__IN_STREAM &&
           (job->p_off > 0 || job->p_fd >= 0);
}

/* Unit f's result comes from the job log: it is done as it is planned. */
static int log_result(sluice_job *job, const flight *f, const resumed *r,
                      uint64_t fp)
{
    wentry *e = win_at(job, f->u.seq);
    if (e->cap == 0) {
        e->frags = malloc(4 * sizeof *e->frags);
        if (!e->frags) {
            job_err(job, SLUICE_ENOMEM, "out of memory");
            return SLUICE_ENOMEM;
        }
        e->cap = 4;
    }
    e->used = 1;
    e->seq = f->u.seq;
    e->applied = 0;
    e->runs = 0;
    e->pid = 0;
    e->resumed = 1;
    e->fp = fp;
    e->offset = f->u.flags & SLUICE__UF_RANGE ? f->u.offset : 0;
    e->lo = f->lo;
    e->hi = f->hi;
    e->bytes = f->bytes;
    e->frags[0] = (frag){.buf = r->data, .len = (uint32_t)r->len, .last = 1};
    e->nfrags = 1;
    return 0;
}

/* Sends work to workers with free credits.  Returns units dispatched. */
static int dispatch(sluice_job *job)
{
    int sent = 0;
    for (;;) {
        /* The worker with the fewest units in flight; the rest of a stream
         * goes where its first unit went when the plugin keeps state
         * across its units (boundary hook). */
        int pinned = job->nretry == 0 && job->pin >= 0 &&
                     job->w[job->pin].alive && stream_continues(job);
        int best = -1;
        if (job->nretry) {
            /* A requeued unit runs alone on an idle worker, so that a
             * second death names it (the fresh worker is always idle). */
            for (int i = 0; i < job->nw && best < 0; i++)
                if (job->w[i].alive && job->w[i].nflight == 0)
                    best = i;
        } else {
            for (int i = 0; i < job->nw; i++)
                if (job->w[i].alive && !job->w[i].solo &&
                    job->w[i].nflight < SLUICE_CREDITS &&
                    (!pinned || i == job->pin) &&
                    (best < 0 || job->w[i].nflight < job->w[best].nflight))
                    best = i;
        }
        if (best < 0)
            return sent;
        wproc *p = &job->w[best];
        int s = free_slot(p);
        if (s < 0)
            return sent;
        unsigned char *slot = p->region->slots + (size_t)s * SLUICE_SLOT_SIZE;
        flight f = {0};
        if (job->nretry) {
            f = job->retry[0];
            memmove(job->retry, job->retry + 1,
                    (job->nretry - 1) * sizeof *job->retry);
            job->nretry--;
            memcpy(slot, f.copy, f.copy_len);
            free(f.copy);
            f.copy = NULL;
            p->solo = 1;
        } else {
            if (job->next_seq >= job->cur_seq + job->win_size)
                return sent; /* reorder window full */
            int starts = !stream_continues(job);
            if (!plan_next(job, &f.u, slot, SLUICE_SLOT_SIZE, &f.lo, &f.hi))
                return sent;
            f.bytes = job->plan_bytes;
            if (f.u.seq < job->share_first)
                continue; /* another rank's (sluice_job_run_share) */
            if (job->nres) {
                uint64_t fp = unit_fp(job, &f.u, f.lo, f.hi);
                const resumed *r = resume_find(job, &f.u, f.lo, f.hi, fp);
                if (job->fatal)
                    return sent;
                if (r) {
                    if (log_result(job, &f, r, fp) < 0)
                        return sent;
                    sent++;
                    continue;
                }
            }
            if (starts && f.u.kind == SLUICE__UNIT_STREAM &&
                sluice__boundary(job->desc))
                job->pin = best;
        }
        f.u.slot = (uint32_t)s;
        int rc = push_unit(job, p, &f);
        if (rc < 0) {
            job_err(job, rc, "internal error: submission ring full");
            return sent;
        }
        sent++;
    }
}

/* Takes completions off every ring.  Returns how many. */
static int scan(sluice_job *job, int *bad)
{
    int got = 0;
    *bad = -1;
    for (int i = 0; i < job->nw; i++) {
        wproc *p = &job->w[i];
        if (!p->alive)
            continue;
        sluice__comp c[16];
        int n = sluice_ring_pop(&p->region->comp, c, 16);
        if (n < 0) {
            *bad = i;
            return got;
        }
        for (int k = 0; k < n; k++) {
            /* Validate everything the worker wrote. */
            if (p->nflight == 0 || c[k].seq != p->inflight[0].u.seq ||
                c[k].out_pos != p->scan_pos || c[k].out_len > SLUICE_OUT_SIZE ||
                c[k].out_pos + c[k].out_len - p->consumed > SLUICE_OUT_SIZE ||
                c[k].out_len % 8 != 0) {
                *bad = i;
                return got;
            }
            p->scan_pos += c[k].out_len;
            wentry *e = win_at(job, c[k].seq);
            if (e->nfrags == e->cap) {
                uint32_t ncap = e->cap ? e->cap * 2 : 4;
                frag *nf = realloc(e->frags, ncap * sizeof *nf);
                if (!nf) {
                    job_err(job, SLUICE_ENOMEM, "out of memory");
                    return got;
                }
                e->frags = nf;
                e->cap = ncap;
            }
            e->frags[e->nfrags++] =
                (frag){.region = p->region,
                       .pos = c[k].out_pos,
                       .len = c[k].out_len,
                       .last = c[k].flags & SLUICE__CF_LAST};
            if (c[k].flags & SLUICE__CF_LAST) {
                uint64_t now = now_ns();
                if (p->head_ns && !p->term_ns)
                    add_timing(job, (double)(now - p->head_ns) / 1e9,
                               p->inflight[0].bytes);
                p->slot_busy &= ~(1u << p->inflight[0].u.slot);
                memmove(p->inflight, p->inflight + 1,
                        (p->nflight - 1) * sizeof *p->inflight);
                p->nflight--;
                if (p->nflight == 0)
                    p->solo = 0; /* its suspect, if any, is innocent */
                start_head(job, p, now);
            }
            got++;
        }
        if (n > 0) {
            /* Pairs with the worker's announce-then-check in wait_for. */
            atomic_thread_fence(memory_order_seq_cst);
            if (atomic_load(&p->region->hdr->out_waiting))
                wake_worker(p);
        }
    }
    return got;
}

static wproc *owner_of(sluice_job *job, const sluice__region *r)
{
    for (int i = 0; i < job->nw; i++)
        if (job->w[i].alive && job->w[i].region == r)
            return &job->w[i];
    return NULL;
}

/* Tells on_unit that unit cur_seq (entry e) is done, with what gather
 * kept of its records when it can be resumed. */
static void unit_done(sluice_job *job, const wentry *e, int poisoned)
{
    if (!job->cb.on_unit)
        return;
    sluice_unit_done u = {.seq = e->seq,
                          .input = e->lo,
                          .ninputs = e->hi - e->lo,
                          .offset = e->offset,
                          .bytes = e->bytes,
                          .pid = (int32_t)e->pid,
                          .attempts = e->runs,
                          .poisoned = poisoned,
                          .resumed = e->resumed,
                          .job = job};
    u.fingerprint = e->fp;
    if (!poisoned && job->g.capture && !job->g.cap_bad) {
        u.result = job->g.cap ? job->g.cap : (const void *)"";
        u.result_len = job->g.cap_len;
        /* A job log keeps no ordered output (its records hold it all). */
        u.resumable = e->fp != 0 && !job->g.cap_err &&
                      !(job->desc->caps & SLUICE_CAP_ORDERED);
    }
    job->cb.on_unit(job->cb.user, &u);
}

/* Applies completions in sequence order.  Returns fragments applied. */
static int gather(sluice_job *job)
{
    int done = 0;
    while (!job->fatal) {
        wentry *e = win_at(job, job->cur_seq);
        if (e->used && e->seq == job->cur_seq && e->poison) {
            sluice__gather_poison(&job->g, e->lo, e->hi,
                                  !!(e->uflags & SLUICE__UF_RANGE),
                                  !!(e->uflags & SLUICE__UF_END), e->poison);
            free(e->poison);
            e->poison = NULL;
            job->done_bytes += e->bytes;
            unit_done(job, e, 1);
            e->used = 0;
            e->nfrags = 0;
            e->applied = 0;
            job->cur_seq++;
            sluice__gather_begin_unit(&job->g, job->cur_seq);
            done++;
            continue;
        }
        if (!e->used || e->seq != job->cur_seq || e->applied == e->nfrags)
            return done;
        frag *f = &e->frags[e->applied];
        if (e->applied == 0 && !(job->g.unit_seq == job->cur_seq))
            sluice__gather_begin_unit(&job->g, job->cur_seq);
        int rc = f->region ? sluice__gather_apply(&job->g, f->region->out,
                                                  f->region->out_size, f->pos,
                                                  f->len, e->lo, e->hi)
                           : resume_apply(job, f->buf, f->len, e->lo, e->hi);
        if (rc < 0) {
            if (rc == SLUICE_EOUTPUT)
                job_err(job, rc, "write error");
            else if (!f->region)
                job_err(job, rc == SLUICE_ENOMEM ? rc : SLUICE_ERESUME,
                        "%s: the job log's result for unit %llu is invalid",
                        job->inputs[e->lo].pub.path,
                        (unsigned long long)job->cur_seq);
            else
                job_err(job, rc, "worker sent invalid records for unit %llu",
                        (unsigned long long)job->cur_seq);
            return done;
        }
        e->applied++;
        done++;
        wproc *p = f->region ? owner_of(job, f->region) : NULL;
        if (p) {
            p->consumed = f->pos + f->len;
            atomic_store_explicit(&p->region->hdr->out_tail, p->consumed,
                                  memory_order_seq_cst);
            atomic_thread_fence(memory_order_seq_cst);
            if (atomic_load(&p->region->hdr->out_waiting))
                wake_worker(p);
        }
        if (f->last) {
            job->done_bytes += e->bytes;
            unit_done(job, e, 0);
            e->used = 0;
            e->nfrags = 0;
            e->applied = 0;
            job->cur_seq++;
            sluice__gather_begin_unit(&job->g, job->cur_seq);
        }
    }
    return done;
}

/* 1-based line number at byte `off` of input `in` (a pass over the bytes
 * before it: only for reports), or 0 when it cannot be read. */
static uint64_t line_at(const sluice__input *in, uint64_t off)
{
    if (off == 0)
        return 1;
    if (in->data) {
        uint64_t n = 1;
        for (uint64_t i = 0; i < off && i < in->size; i++)
            n += in->data[i] == '\n';
        return n;
    }
    int fd = in->fd >= 0 ? in->fd
                         : open(in->pub.path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char buf[65536];
    uint64_t n = 1, pos = 0;
    while (pos < off) {
        size_t want = off - pos < sizeof buf ? (size_t)(off - pos) : sizeof buf;
        ssize_t r = pread(fd, buf, want, (off_t)(in->base + pos));
        if (r <= 0) {
            n = 0;
            break;
        }
        for (ssize_t i = 0; i < r; i++)
            n += buf[i] == '\n';
        pos += (uint64_t)r;
    }
    if (fd != in->fd)
        close(fd);
    return n;
}

static ssize_t src_pread(void *arg, void *buf, size_t n, uint64_t off)
{
    const hook_src *src = arg;
    ssize_t r = pread(src->fd, buf, n, (off_t)(src->base + off));
    return r < 0 ? -errno : r;
}

/* The bytes a range unit really covers: the worker moves both ends of an
 * aligned range to record boundaries (chunker.c); the same pass here. */
static void real_range(const sluice__input *in, const sluice__unit *u,
                       uint64_t *start, uint64_t *end)
{
    *start = u->offset;
    *end = u->offset + u->length;
    if (!(u->flags & SLUICE__UF_ALIGN) || in->data)
        return;
    int fd = in->fd >= 0 ? in->fd
                         : open(in->pub.path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return;
    hook_src src = {.fd = fd, .base = in->base};
    int64_t b = sluice_chunker_boundary(src_pread, &src, *start, in->size,
                                        u->align_limit);
    int64_t e = sluice_chunker_boundary(src_pread, &src, *end, in->size,
                                        u->align_limit);
    if (b >= 0 && e >= b) {
        *start = (uint64_t)b;
        *end = (uint64_t)e;
    }
    if (fd != in->fd)
        close(fd);
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGABRT:
        return "SIGABRT";
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGXCPU:
        return "SIGXCPU";
    case SIGSYS:
        return "SIGSYS";
    default:
        return "unknown signal";
    }
}

/* A unit killed its worker twice while alone on it, or made a call the
 * sandbox forbids (sandbox_nr >= 0): report it through on_poison, then
 * fail the job, or (keep_going) its inputs when gather gets to it. */
static void poison(sluice_job *job, const wproc *p, const flight *f, int status,
                   int32_t sandbox_nr)
{
    const sluice__input *in = &job->inputs[f->lo];
    sluice_poison rep = {.path = in->pub.path,
                         .input = f->lo,
                         .ninputs = f->hi - f->lo,
                         .plugin = job->desc->name,
                         .timed_out = p->timed_out,
                         .sandbox_syscall = sandbox_nr};
    char where[600], cause[160], msg[1024];
    if (f->u.flags & SLUICE__UF_RANGE || f->u.kind == SLUICE__UNIT_STREAM) {
        uint64_t start = f->u.offset, end = f->u.offset + f->u.length;
        if (f->u.kind != SLUICE__UNIT_STREAM)
            real_range(in, &f->u, &start, &end);
        rep.offset = start;
        rep.length = end - start;
        if (job->desc->caps & SLUICE_CAP_RECORDS)
            rep.first_record = f->u.kind == SLUICE__UNIT_STREAM
                                   ? (f->u.offset == 0)
                                   : line_at(in, rep.offset);
        int n = snprintf(where, sizeof where, "bytes %llu-%llu",
                         (unsigned long long)rep.offset,
                         (unsigned long long)(rep.offset + rep.length));
        if (rep.first_record && n > 0 && (size_t)n < sizeof where)
            snprintf(where + n, sizeof where - (size_t)n, ", line %llu",
                     (unsigned long long)rep.first_record);
    } else {
        rep.length = f->bytes;
        if (job->desc->caps & SLUICE_CAP_RECORDS)
            rep.first_record = 1;
        if (rep.ninputs > 1)
            snprintf(where, sizeof where, "batch of %u files from %s",
                     rep.ninputs, in->pub.path);
        else
            snprintf(where, sizeof where, "whole file");
    }
    if (WIFSIGNALED(status)) {
        rep.signal = WTERMSIG(status);
        snprintf(cause, sizeof cause, "signal %d, %s", rep.signal,
                 signal_name(rep.signal));
    } else {
        rep.exit_status = WEXITSTATUS(status);
        snprintf(cause, sizeof cause, "exit status %d", rep.exit_status);
    }
    char extra[96] = "";
    if (p->timed_out > 0)
        snprintf(extra, sizeof extra, "; timed out after %g s", p->timed_out);
    else if (job->opts.worker_memory && WIFSIGNALED(status))
        snprintf(extra, sizeof extra, "; worker memory limit %llu MiB",
                 (unsigned long long)(job->opts.worker_memory >> 20));
    if (sandbox_nr >= 0)
        snprintf(msg, sizeof msg,
                 "%s: plugin %s was stopped by the sandbox (forbidden "
                 "system call %d: %s)",
                 where, job->desc->name, (int)sandbox_nr,
                 sluice__sandbox_syscall_name(sandbox_nr));
    else
        snprintf(msg, sizeof msg,
                 "%s: worker process died twice (%s%s) while plugin %s "
                 "processed it",
                 where, cause, extra, job->desc->name);
    char full[1600];
    snprintf(full, sizeof full, "%s: %s", in->pub.path, msg);
    rep.message = full;
    if (job->cb.on_poison)
        job->cb.on_poison(job->cb.user, &rep);
    wentry *e = win_at(job, f->u.seq);
    if (job->opts.keep_going && !(job->desc->caps & SLUICE_CAP_ORDERED) &&
        e->used && e->seq == f->u.seq) {
        e->poison = strdup(msg);
        if (!e->poison) {
            job_err(job, SLUICE_ENOMEM, "out of memory");
            return;
        }
        e->uflags = f->u.flags |
                    (f->u.kind == SLUICE__UNIT_STREAM ? SLUICE__UF_RANGE : 0);
        return;
    }
    job_err(job, SLUICE_EWORKER, "%s", full);
}

/* The system call the sandbox stopped worker p at, or -1 when it was not
 * the sandbox that ended it.  The worker wrote the number: it is used as a
 * number only. */
static int32_t sandbox_stop(const sluice_job *job, const wproc *p, int status)
{
    if (!job->sandbox || !WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
        return -1;
    int32_t nr = atomic_load(&p->region->hdr->sandbox_nr) - 1;
    return nr < 0 ? -1 : nr;
}

/* The unit worker p was running when it died, or NULL (between units). */
static const flight *running_unit(const wproc *p)
{
    uint64_t seq = atomic_load(&p->region->hdr->unit_seq);
    for (uint32_t k = 0; k < p->nflight; k++)
        if (p->inflight[k].u.seq + 1 == seq)
            return &p->inflight[k];
    return NULL;
}

/* The sandbox stopped a worker outside any unit (worker_fini, or between
 * units): nothing to skip, the job fails. */
static void sandbox_fatal(sluice_job *job, int32_t nr, const char *when)
{
    job_err(job, SLUICE_EWORKER,
            "plugin %s was stopped by the sandbox%s (forbidden system "
            "call %d: %s)",
            job->desc->name, when, (int)nr, sluice__sandbox_syscall_name(nr));
}

/* A worker is gone (or must go): requeue its units on a fresh worker. */
static void lost_worker(sluice_job *job, int i, int status)
{
    wproc *p = &job->w[i];
    if (!p->alive)
        return;
    p->alive = 0;
    if (p->pidfd >= 0) {
        epoll_ctl(job->epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
        close(p->pidfd);
        p->pidfd = -1;
    }
    int start_err = atomic_load(&p->region->hdr->start_err);
    if (start_err == SLUICE__START_INIT)
        job_err(job, SLUICE_EWORKER, "plugin %s: worker initialisation failed",
                job->desc->name);
    else if (start_err == SLUICE__START_SANDBOX)
        job_err(job, SLUICE_EWORKER,
                "a worker could not install the sandbox "
                "(try --no-sandbox)");
    /* A unit the sandbox stopped is poison at once: a retry would only do
     * it again.  The others on that worker are requeued as usual. */
    int32_t sandbox_nr = sandbox_stop(job, p, status);
    const flight *culprit = sandbox_nr >= 0 ? running_unit(p) : NULL;
    if (sandbox_nr >= 0 && !culprit)
        sandbox_fatal(job, sandbox_nr, "");
    /* Only a unit alone on its worker is known to be the culprit.  The
     * others are requeued and each run alone (dispatch) until the one that
     * kills a worker alone twice is found: poison. */
    int alone = p->nflight == 1;
    for (uint32_t k = 0; k < p->nflight && !job->fatal; k++) {
        flight f = p->inflight[k];
        wentry *e = win_at(job, f.u.seq);
        if (e->used && e->seq == f.u.seq) {
            if (f.u.seq == job->cur_seq && e->applied > 0)
                sluice__gather_unit_lost(&job->g);
            e->nfrags = 0;
            e->applied = 0;
        }
        if (culprit == &p->inflight[k]) {
            poison(job, p, &f, status, sandbox_nr);
            continue;
        }
        if (!culprit && alone && ++f.alone >= 2) {
            poison(job, p, &f, status, -1);
            continue;
        }
        f.copy_len = f.u.manifest_len;
        if (f.u.kind == SLUICE__UNIT_STREAM)
            f.copy_len = f.u.data_off + f.u.length;
        f.copy = malloc(f.copy_len ? f.copy_len : 1);
        if (!f.copy) {
            job_err(job, SLUICE_ENOMEM, "out of memory");
            break;
        }
        memcpy(f.copy, p->region->slots + (size_t)f.u.slot * SLUICE_SLOT_SIZE,
               f.copy_len);
        if (job->nretry == job->retry_cap) {
            uint32_t ncap = job->retry_cap ? job->retry_cap * 2 : 8;
            flight *nr = realloc(job->retry, ncap * sizeof *nr);
            if (!nr) {
                free(f.copy);
                job_err(job, SLUICE_ENOMEM, "out of memory");
                break;
            }
            job->retry = nr;
            job->retry_cap = ncap;
        }
        /* Keep retries in sequence order. */
        uint32_t at = job->nretry;
        while (at > 0 && job->retry[at - 1].u.seq > f.u.seq)
            at--;
        memmove(job->retry + at + 1, job->retry + at,
                (job->nretry - at) * sizeof *job->retry);
        job->retry[at] = f;
        job->nretry++;
    }
    p->nflight = 0;
    /* Its region may still hold finished records: keep it until the end. */
    sluice__region **nd = realloc(job->dead, (job->ndead + 1) * sizeof *nd);
    if (nd) {
        job->dead = nd;
        job->dead[job->ndead++] = p->region;
    }
    p->region = NULL;
    if (!job->fatal) {
        int rc = spawn(job, i);
        if (rc < 0)
            job_err(job, rc, "cannot start a worker: %s", sluice_strerror(rc));
    }
}

static void kill_worker(sluice_job *job, int i)
{
    wproc *p = &job->w[i];
    if (!p->alive)
        return;
    kill(p->pid, SIGKILL);
    int status = 0;
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
        ;
    lost_worker(job, i, status);
}

static void reap(sluice_job *job)
{
    for (int i = 0; i < job->nw; i++) {
        wproc *p = &job->w[i];
        if (!p->alive)
            continue;
        int status;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            lost_worker(job, i, status);
    }
}

static int finished(const sluice_job *job)
{
    return (job->p_input >= job->ninputs || job->next_seq >= job->share_end) &&
           job->nretry == 0 && job->cur_seq >= job->next_seq;
}

static void sleep_once(sluice_job *job)
{
    int may_sleep = 1;
    int k;
    for (k = 0; k < job->nw; k++) {
        if (!job->w[k].alive)
            continue;
        if (!sluice_ring_prepare_sleep(&job->w[k].region->comp)) {
            may_sleep = 0;
            break;
        }
    }
    if (may_sleep) {
        struct epoll_event ev[8];
        int ms = job->cb.on_progress ? 200 : 1000;
        int deadline = check_deadlines(job);
        if (deadline >= 0 && deadline < ms)
            ms = deadline;
        int n = epoll_wait(job->epfd, ev, 8, ms);
        for (int j = 0; j < n; j++)
            if (ev[j].data.u32 == 0)
                sluice__os_event_drain(sluice__coord_eventfd);
        reap(job); /* also after a timeout: a worker without a pidfd */
    }
    for (int j = 0; j < job->nw; j++)
        if (job->w[j].alive)
            sluice_ring_end_sleep(&job->w[j].region->comp);
}

static void stop_workers(sluice_job *job, int force)
{
    for (int i = 0; i < job->nw; i++) {
        wproc *p = &job->w[i];
        if (!p->alive)
            continue;
        if (force) {
            kill(p->pid, SIGKILL);
        } else {
            sluice__unit stop = {.kind = SLUICE__UNIT_STOP};
            if (sluice_ring_push(&p->region->sub, &stop, 1) != 1)
                kill(p->pid, SIGKILL);
            wake_worker(p);
        }
    }
    for (int i = 0; i < job->nw; i++) {
        wproc *p = &job->w[i];
        if (!p->alive)
            continue;
        int status = 0;
        while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
            ;
        /* worker_fini runs sandboxed too. */
        int32_t nr = sandbox_stop(job, p, status);
        if (!force && !job->fatal && nr >= 0)
            sandbox_fatal(job, nr, " in worker_fini");
        p->alive = 0;
        if (p->pidfd >= 0)
            close(p->pidfd);
        sluice__region_destroy(p->region);
        free(p->region);
        p->region = NULL;
    }
}

static int run_parallel(sluice_job *job, int nw)
{
    job->w = calloc((size_t)nw, sizeof *job->w);
    job->nw = job->w ? nw : 0;
    uint32_t ws = 1;
    while (ws < (uint32_t)nw * SLUICE_CREDITS * 4)
        ws *= 2;
    job->win_size = ws;
    job->win = calloc(ws, sizeof *job->win);
    job->epfd = epoll_create1(EPOLL_CLOEXEC);
    sluice__coord_eventfd = sluice__os_eventfd(1);
    job->sandbox =
        !job->opts.no_sandbox && sluice_sandbox_available(NULL, 0) == 1;
    if (!job->w || !job->win || job->epfd < 0 || sluice__coord_eventfd < 0) {
        job_err(job, SLUICE_ENOMEM, "cannot set up workers");
        goto out;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
    epoll_ctl(job->epfd, EPOLL_CTL_ADD, sluice__coord_eventfd, &ev);
    for (int i = 0; i < nw; i++) {
        int rc = spawn(job, i);
        if (rc < 0) {
            job_err(job, rc, "cannot start a worker: %s", sluice_strerror(rc));
            goto out;
        }
    }
    sluice__gather_begin_unit(&job->g, job->share_first);
    while (!job->fatal && !finished(job) && !interrupted(job)) {
        int bad;
        int progress = scan(job, &bad);
        if (bad >= 0) {
            kill_worker(job, bad);
            continue;
        }
        progress += gather(job);
        progress += dispatch(job);
        report_progress(job, 0);
        check_deadlines(job);
        if (!progress && !job->fatal && !finished(job)) {
            /* Spin briefly before sleeping: completions often come soon. */
            int spun = 0;
            for (int s = 0; s < 64 && !spun; s++) {
                for (int i = 0; i < job->nw; i++)
                    if (job->w[i].alive &&
                        sluice_ring_count(&job->w[i].region->comp) != 0)
                        spun = 1;
                sluice__os_cpu_relax();
            }
            if (!spun)
                sleep_once(job);
        }
    }
out:
    stop_workers(job, job->fatal != 0);
    for (uint32_t i = 0; i < job->ndead; i++) {
        sluice__region_destroy(job->dead[i]);
        free(job->dead[i]);
    }
    free(job->dead);
    for (uint32_t i = 0; i < job->nretry; i++)
        free(job->retry[i].copy);
    free(job->retry);
    if (job->win)
        for (uint32_t i = 0; i < job->win_size; i++) {
            free(job->win[i].frags);
            free(job->win[i].poison);
        }
    free(job->win);
    free(job->w);
    if (job->epfd >= 0)
        close(job->epfd);
    if (sluice__coord_eventfd >= 0)
        close(sluice__coord_eventfd);
    sluice__coord_eventfd = -1;
    return job->fatal;
}

int sluice_job_run(sluice_job *job, char *err, size_t errlen)
{
    job->err = err;
    job->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    int rc = sluice__gather_init(&job->g, job->desc, &job->coord.ctx, &job->cb,
                                 job->inputs, job->ninputs);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s", sluice_strerror(rc));
        return rc;
    }
    /* The job log keeps the results of aggregations only: ordered output
     * is not logged. */
    job->g.capture = job->collect ||
                     (job->cb.on_unit && (job->desc->caps & SLUICE_CAP_MERGE) &&
                      !(job->desc->caps & SLUICE_CAP_ORDERED));
    job->g.collect = job->collect;
    job->cur_seq = job->share_first;
    resume_sort(job);
    for (uint32_t i = 0; i < job->ninputs; i++)
        count_input(job, &job->inputs[i]);
    int nw = job->opts.jobs < 0 ? sluice_cpu_count() : job->opts.jobs;
    if (nw == 0)
        run_inline(job);
    else
        run_parallel(job, nw);
    report_progress(job, 1);
    if (!job->collect)
        run_finish(job);
    if (!job->fatal && !job->collect && job->g.cur_input < job->ninputs)
        job_err(job, SLUICE_EWORKER, "internal error: %u inputs unreported",
                job->ninputs - job->g.cur_input);
    /* Like wc, leave a regular stdin at its end. */
    for (uint32_t i = 0; i < job->ninputs; i++)
        if (job->inputs[i].fd == 0 && job->inputs[i].kind == SLUICE__IN_FILE)
            lseek(0, 0, SEEK_END);
    uint32_t failed = job->g.failed;
    sluice__gather_free(&job->g);
    if (job->fatal)
        return job->fatal;
    return failed ? SLUICE_EINPUT : 0;
}

/* ----------------------------------------------- sharing among processes */

sluice_job *sluice_job_clone(const sluice_job *job, char *err, size_t errlen)
{
    sluice_job *c;
    if (job_create(job->plugin, &job->opts, &job->cb, &c, err, errlen, job) < 0)
        return NULL;
    c->walk = job->walk;
    c->arc_lim = job->arc_lim;
    int rc = 0;
    for (uint32_t i = 0; i < job->noperands && rc != SLUICE_ENOMEM; i++)
        rc = sluice_job_add(c, job->op_path[i], job->op_flags[i]);
    for (uint32_t i = 0; i < job->nres && rc != SLUICE_ENOMEM; i++)
        rc = sluice_job_resume_unit(c, job->res[i].seq, job->res[i].fp,
                                    job->res[i].data, job->res[i].len);
    if (rc == SLUICE_ENOMEM) {
        snprintf(err, errlen, "out of memory");
        sluice_job_free(c);
        return NULL;
    }
    return c;
}

const sluice_plugin *sluice_job_plugin(const sluice_job *job)
{
    return job->desc;
}

const sluice_callbacks *sluice_job_callbacks(const sluice_job *job)
{
    return &job->cb;
}

int64_t sluice_job_plan(sluice_job *job,
                        void (*each)(void *user, uint64_t seq, uint64_t weight,
                                     uint64_t fingerprint),
                        void *user, char *err, size_t errlen)
{
    job->err = err;
    job->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    unsigned char *slot = malloc(SLUICE_SLOT_SIZE);
    if (!slot) {
        job_err(job, SLUICE_ENOMEM, "out of memory");
        return SLUICE_ENOMEM;
    }
    int64_t n = 0;
    for (;;) {
        if (expand(job) < 0 && !job->fatal)
            job_err(job, SLUICE_ENOMEM, "out of memory");
        if (job->fatal || job->p_input >= job->ninputs)
            break;
        const sluice__input *in = &job->inputs[job->p_input];
        if (in->kind == SLUICE__IN_STREAM) {
            job_err(job, SLUICE_EINVAL,
                    "%s: not a regular file: a stream cannot be shared "
                    "among processes",
                    in->pub.path);
            break;
        }
        sluice__unit u;
        uint32_t lo, hi;
        if (!plan_next(job, &u, slot, SLUICE_SLOT_SIZE, &lo, &hi))
            break;
        if (each)
            each(user, u.seq, job->plan_bytes + 4096 * (uint64_t)(hi - lo),
                 unit_fp(job, &u, lo, hi));
        n++;
    }
    free(slot);
    if (!job->fatal && interrupted(job))
        job_err(job, SLUICE_EINTR, "%s", sluice_strerror(SLUICE_EINTR));
    return job->fatal ? job->fatal : n;
}

int sluice_job_run_share(sluice_job *job, uint64_t first, uint64_t end,
                         void (*on_unit)(void *user, const sluice_unit_done *u),
                         void *user, char *err, size_t errlen)
{
    if (first > end || !on_unit) {
        if (err && errlen)
            snprintf(err, errlen, "%s", sluice_strerror(SLUICE_EINVAL));
        return SLUICE_EINVAL;
    }
    job->share_first = first;
    job->share_end = end;
    job->collect = 1;
    memset(&job->cb, 0, sizeof job->cb);
    job->cb.user = user;
    job->cb.on_unit = on_unit;
    return sluice_job_run(job, err, errlen);
}
