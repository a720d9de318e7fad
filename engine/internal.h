/*
 * internal.h -- what the engine's modules share with each other.
 *
 * The shared-memory layout between the coordinator and one worker, the unit
 * and record formats that cross it, and the calls the modules make across
 * files (the coordinator's own state and stages are in coord.h).  Nothing
 * here is part of the public API.  Shared structs hold offsets and sizes,
 * never pointers; everything a worker writes is validated before use.
 */
#ifndef SLUICE_INTERNAL_H
#define SLUICE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "ring.h"
#include "sluice/sluice.h"

#define SLUICE_KiB ((size_t)1024)
#define SLUICE_MiB (1024 * SLUICE_KiB)

/* Defaults, chosen by measurement (docs/performance.md). */
#define SLUICE_DEFAULT_CHUNK (4 * SLUICE_MiB)   /* large-file unit */
#define SLUICE_DEFAULT_BATCH (1 * SLUICE_MiB)   /* small files per unit */
#define SLUICE_DEFAULT_BLOCK (256 * SLUICE_KiB) /* bytes per read and map */
#define SLUICE_BATCH_FILES 512                  /* small files per unit */
#define SLUICE_CREDITS 16                       /* units in flight per worker */
#define SLUICE_COMP_CAP 64                      /* completion ring entries */
#define SLUICE_SLOT_SIZE (1 * SLUICE_MiB) /* input slot: manifest or stream */
#define SLUICE_OUT_SIZE (8 * SLUICE_MiB)  /* output arena per worker */
#define SLUICE_MSG_MAX 512

static inline size_t sluice__pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* ------------------------------------------------------------------ units */

enum {
    SLUICE__UNIT_FILES = 1,  /* whole files or one range of one file */
    SLUICE__UNIT_STREAM = 2, /* bytes copied into the input slot */
    SLUICE__UNIT_STOP = 3,   /* worker: exit */
};

enum {
    SLUICE__UF_BEGIN = 1u << 0,    /* range/stream unit starts its input */
    SLUICE__UF_END = 1u << 1,      /* range/stream unit ends its input */
    SLUICE__UF_RANGE = 1u << 2,    /* one range of one file, not whole files */
    SLUICE__UF_ALIGN = 1u << 3,    /* move range ends to record boundaries */
    SLUICE__UF_UNOPENED = 1u << 4, /* STREAM: opening the input failed */
};

/* A submission: one unit of work.  Shared; 64 bytes. */
typedef struct sluice__unit {
    uint64_t seq;          /* job-wide sequence number */
    uint32_t kind;         /* SLUICE__UNIT_* */
    uint32_t flags;        /* SLUICE__UF_* */
    uint64_t offset;       /* RANGE/STREAM: offset of the unit in its input */
    uint64_t length;       /* RANGE: bytes; STREAM: bytes of data in the slot */
    uint32_t nfiles;       /* manifest entries in the slot */
    uint32_t slot;         /* input slot index */
    uint32_t manifest_len; /* manifest bytes at the slot's start */
    uint32_t data_off;     /* STREAM: data offset in the slot */
    uint64_t align_limit;  /* RANGE+ALIGN: nominal chunk size */
    uint32_t before_len;   /* STREAM: lookbehind bytes just before data_off */
    uint32_t reserved;
} sluice__unit;

/* Manifest entry, followed by path_len bytes of path and a NUL, then
 * msg_len bytes of error message, then (SLUICE__MF_INLINE) `size` bytes of
 * the input's data, each part padded to 8 bytes.  Shared. */
typedef struct sluice__mfile {
    uint32_t input;    /* index of the input in the job */
    int32_t errnum;    /* planning already failed with this errno */
    uint64_t size;     /* planned size; UINT64_MAX: read to EOF */
    uint64_t base;     /* offset of the input's first byte in the file */
    int32_t fd;        /* inherited descriptor to read (stdin), or -1 */
    uint32_t path_len; /* bytes of path, without the NUL */
    uint32_t msg_len;  /* bytes of error message (SLUICE__MF_FAILED) */
    uint32_t flags;    /* SLUICE__MF_* */
    uint64_t err_off;  /* SLUICE__MF_FAILED: offset of the error, or
                          UINT64_MAX */
    /* SLUICE__MF_STAT: the file as planned; a reader that finds it
     * otherwise after reading reports "file changed as we read it". */
    uint64_t st_dev, st_ino, st_size;
    int64_t mtime_sec, mtime_nsec;
} sluice__mfile;

enum {
    SLUICE__MF_INLINE = 1u << 0, /* the data is in the manifest */
    SLUICE__MF_FAILED = 1u << 1, /* the input failed (errnum, message);
                                    STREAM: after this unit's data */
    SLUICE__MF_STAT = 1u << 2,   /* st_* and mtime_* hold the plan's stat */
};

/* Bytes of a manifest entry with its path, message and inline data. */
static inline size_t sluice__mfile_bytes(size_t path_len, size_t msg_len,
                                         size_t inline_len)
{
    return sizeof(sluice__mfile) + sluice__pad8(path_len + 1) +
           sluice__pad8(msg_len) + sluice__pad8(inline_len);
}

/* A completion: records [out_pos, out_pos + out_len) of the worker's output
 * arena belong to unit `seq`.  LAST when the unit is done.  Shared. */
typedef struct sluice__comp {
    uint64_t seq;
    uint64_t out_pos; /* free-running position in the output arena */
    uint32_t out_len;
    uint32_t flags; /* SLUICE__CF_* */
    uint64_t reserved;
} sluice__comp;

enum { SLUICE__CF_LAST = 1u << 0 };

/* Records in the output arena.  Header then payload, padded to 8. */
enum {
    SLUICE__REC_PAD = 1,     /* skip to the end of the arena */
    SLUICE__REC_PARTIAL = 2, /* payload: partial result of a piece of input */
    SLUICE__REC_DATA = 3,    /* payload: ordered output bytes */
    SLUICE__REC_ERROR = 4,   /* payload: message (may be empty) */
    SLUICE__REC_END = 5,     /* input `input` is complete */
};

typedef struct sluice__rec {
    uint32_t type;
    uint32_t input;
    uint32_t len;    /* payload bytes */
    int32_t errnum;  /* ERROR: errno or 0 */
    uint64_t offset; /* ERROR: byte offset, or UINT64_MAX */
} sluice__rec;

/* --------------------------------------------------------- shared region */

/* One worker's shared region: header, submission ring, completion ring,
 * input slots, output arena.  The coordinator formats it before fork. */
typedef struct sluice__shm {
    _Alignas(SLUICE_CACHELINE) _Atomic uint64_t out_tail; /* coordinator */
    _Alignas(SLUICE_CACHELINE) _Atomic uint32_t
        out_waiting;            /* worker waits for space */
    _Atomic int32_t sandbox_nr; /* worker: forbidden system call + 1 */
    _Atomic uint64_t unit_seq;  /* worker: unit being run + 1 */
    _Atomic int32_t start_err;  /* worker: why it could not start, set
                                   before it exits (SLUICE__START_*) */
} sluice__shm;

/* sluice__shm.start_err: a worker that exits before its first unit says
 * why in its header, not in its exit status (a plugin may exit with any
 * status later). */
enum {
    SLUICE__START_OK = 0,
    SLUICE__START_INIT = 1,    /* the worker's set-up or worker_init failed */
    SLUICE__START_SANDBOX = 2, /* the seccomp filter could not be installed */
};

/* Process-local view of a region (both sides build the same one from the
 * sizes fixed before fork). */
typedef struct sluice__region {
    void *base;
    size_t bytes;
    sluice__shm *hdr;
    sluice_ring sub;      /* coordinator -> worker */
    sluice_ring comp;     /* worker -> coordinator */
    unsigned char *slots; /* SLUICE_CREDITS input slots */
    size_t slot_size;
    unsigned char *out; /* output arena */
    size_t out_size;
    int doorbell; /* eventfd the worker sleeps on */
} sluice__region;

int sluice__region_create(sluice__region *r, size_t slot_size, size_t out_size);
void sluice__region_destroy(sluice__region *r);

/* ---------------------------------------------------------------- plugins */

/* Descriptor fields of ABI 1.1, read only from plugins that declare them. */
static inline uint32_t sluice__lookbehind(const sluice_plugin *d)
{
    return d->abi_minor >= 1 ? d->lookbehind : 0;
}
typedef uint64_t (*sluice__boundary_fn)(struct sluice_ctx *, sluice_read_fn,
                                        void *, uint64_t, uint64_t, uint64_t);
static inline sluice__boundary_fn sluice__boundary(const sluice_plugin *d)
{
    return d->abi_minor >= 1 ? d->boundary : NULL;
}

struct sluice_plugin_handle {
    void *dl;                  /* dlopen handle (NULL for built-in tests) */
    const sluice_plugin *desc; /* the descriptor */
    char *path;                /* file it came from */
    char **values;             /* per option: value set, or NULL = default */
};

const char *sluice__plugin_option(const sluice_plugin_handle *h,
                                  const char *key);
int64_t sluice__plugin_option_int(const sluice_plugin_handle *h,
                                  const char *key);
/* Parses an integer with optional k/M/G suffix.  0 or SLUICE_EINVAL. */
int sluice__parse_size(const char *s, int64_t *out);

/* ------------------------------------------------------------------ inputs */

enum {
    SLUICE__IN_FILE = 1,   /* regular file, read by workers; with `data`:
                              an archive member already read */
    SLUICE__IN_STREAM = 2, /* pipe, tty, device, or an archive member
                              (`arc`): read by the coordinator */
    SLUICE__IN_FAILED = 3, /* planning failed: report err (or msg) */
    SLUICE__IN_EXPAND = 4, /* a directory to walk or an archive to open:
                              replaced by its inputs when planning gets
                              to it */
};

typedef struct sluice__walk sluice__walk;
typedef struct sluice__arc sluice__arc;

typedef struct sluice__input {
    sluice_input pub;    /* what the CLI sees */
    int kind;            /* SLUICE__IN_* */
    int fd;              /* stdin: 0; else -1 */
    uint64_t base;       /* stdin as a regular file: its offset */
    uint64_t size;       /* bytes to read (regular files, data) */
    unsigned add_flags;  /* EXPAND: the operand's SLUICE_ADD_* */
    int depth;           /* EXPAND archive: nesting level (1: a file) */
    sluice__walk *walk;  /* EXPAND directory: its walk, once begun */
    sluice__arc *arc;    /* EXPAND archive: once open; STREAM member: the
                            archive it is read from (not owned) */
    sluice__arc *parent; /* EXPAND nested archive: read from this one's
                            current member (not owned) */
    unsigned char *data; /* FILE: the member's bytes (owned) */
    char *msg;           /* FAILED: the message, else strerror(err) */
    uint64_t container;  /* archive members: the identity (inode, size,
                            mtime) of the archives holding them, hashed;
                            0 for files on disk */
    uint64_t err_off;    /* FAILED: byte offset of the error, or
                            UINT64_MAX */
} sluice__input;

/* Appends one input to the job's table (inputs.c); takes a copy of path.
 * While a directory or archive is expanded, the input goes in its place
 * instead. */
int sluice__job_push_input(sluice_job *job, const char *path,
                           const struct stat *st, int err);

/* ------------------------------------------------------------------ walks */

/* A walk of one directory operand (walk.c): a pull iterator over the
 * regular files under it, in the walk's order.  One thread. */
typedef struct sluice__walk_entry {
    const char *path; /* valid until the next call */
    struct stat st;   /* when stat_ok */
    int stat_ok;
    int err; /* 0, or the errno that makes it an input that failed */
} sluice__walk_entry;
/* Starts a walk of directory `path` (flags: sluice_job_add's SLUICE_ADD_*;
 * opts may be NULL and must outlive the walk).  Returns 0 and *out, or a
 * negative SLUICE_E* code (out of memory).  When the directory itself
 * cannot be opened, the first entry carries that error. */
int sluice__walk_open(const char *path, unsigned flags,
                      const sluice_walk_opts *opts, sluice__walk **out);
/* The walk's next entry: 1 with *e set, 0 when the walk is over (and
 * stays over), negative SLUICE_E* on a fatal error (returned again). */
int sluice__walk_next(sluice__walk *w, sluice__walk_entry *e);
void sluice__walk_free(sluice__walk *w);
/* Whether a glob of the list matches `rel` (a path relative to the walked
 * operand, or an archive member's path): globs with a '/' see the whole
 * path, the others its last component.  Walks and archive members are
 * filtered (--include, --exclude) through this one matcher. */
int sluice__glob_hit(const char *const *globs, const char *rel);

/* ---------------------------------------------------------------- archives */

/* 1 when a name says archive or compressed file (archive.c). */
int sluice__arc_is_archive(const char *name);
/* Opens the archive `path` (a file), or with `parent` the archive that is
 * the parent's current member (`path` then only names it).  0, or
 * SLUICE_EINPUT with *out set and sluice__arc_error telling why, or
 * SLUICE_ENOMEM. */
int sluice__arc_open(sluice__arc **out, const char *path, sluice__arc *parent,
                     const sluice_archive_limits *lim);
/* The next regular member: 1 with its name (valid until the next call) and
 * stat data (st_size -1 when unknown), 0 at the end, SLUICE_EINPUT. */
int sluice__arc_next(sluice__arc *a, const char **name, struct stat *st);
/* Bytes of the current member: > 0, 0 at its end, -errno (then
 * sluice__arc_error). */
ssize_t sluice__arc_read(sluice__arc *a, void *buf, size_t n);
/* Up to n bytes of the current member: fewer only at its end; an error
 * after some bytes gives those (the error sticks for the next call). */
ssize_t sluice__arc_read_full(sluice__arc *a, void *buf, size_t n);
/* Why the archive failed (NULL if it did not) and at which byte offset. */
const char *sluice__arc_error(const sluice__arc *a, uint64_t *offset);
/* 1 when the archive failed while a member was read (that member then
 * carries the error). */
int sluice__arc_member_failed(const sluice__arc *a);
void sluice__arc_free(sluice__arc *a);

/* ----------------------------------------------------------------- chunker */

/* An input read through a descriptor.  Every read of an input by offset
 * (the worker's, the chunker's, the boundary hook's) goes through
 * sluice__src_read, the engine's one sluice_read_fn (plugin.h). */
typedef struct sluice__src {
    int fd;
    uint64_t base;   /* file offset of input offset 0 */
    uint64_t expect; /* size the input should have, or UINT64_MAX */
} sluice__src;
/* A sluice_read_fn over a sluice__src: reads n bytes at input offset off,
 * fewer only at the end of the file or of `expect`; -errno on error. */
int64_t sluice__src_read(void *src, void *buf, size_t n, uint64_t off);

/* The record boundary for a nominal split point `at` of a file of `size`
 * bytes: the position just after the first newline in [at-1, at-1+limit),
 * or `at` itself when there is none (a line longer than a unit is split
 * anywhere).  0 and size are their own boundaries.  Returns the boundary or
 * -errno. */
int64_t sluice_chunker_boundary(sluice_read_fn rd, void *arg, uint64_t at,
                                uint64_t size, uint64_t limit);

/* ----------------------------------------------------------------- gather */

/* Delivers records in sequence order.  Owns the per-input accumulation. */
typedef struct sluice__gather {
    const sluice_plugin *plugin;
    sluice_ctx *ctx; /* coordinator context for merge */
    const sluice_callbacks *cb;
    const sluice__input *inputs; /* job inputs (for on_input) */
    uint32_t ninputs;
    uint32_t cur_input; /* next input to complete */
    unsigned char *acc; /* accumulated partial of cur_input */
    bool acc_used;      /* acc holds something */
    int err;            /* first error of cur_input */
    uint64_t err_seq;   /* unit that reported it */
    uint64_t err_off;
    char msg[SLUICE_MSG_MAX];
    uint32_t failed; /* inputs that failed */
    int fatal;       /* output failed: negative code */
    /* Exactly-once for retried units: what of the current unit has been
     * consumed already (records, and bytes of DATA). */
    uint64_t unit_seq;
    uint64_t unit_records;
    uint64_t unit_bytes;
    uint64_t skip_records;
    uint64_t skip_bytes;
    /* The current unit's records as applied (not DATA), for the job log
     * (--resume), while `capture` is set. */
    int capture;
    unsigned char *cap;
    size_t cap_len, cap_size;
    int cap_bad; /* out of memory: nothing kept */
    int cap_err; /* an ERROR record among them: the unit runs again on
                    --resume */
    /* sluice_job_run_share: records are checked and kept, not applied: the
     * units of other processes are missing, results are not delivered. */
    int collect;
} sluice__gather;

int sluice__gather_init(sluice__gather *g, const sluice_plugin *plugin,
                        sluice_ctx *ctx, const sluice_callbacks *cb,
                        const sluice__input *inputs, uint32_t ninputs);
void sluice__gather_free(sluice__gather *g);
/* Starts unit `seq` (the next in order).  If it was consumed partly before
 * its worker died, the records already consumed are skipped. */
void sluice__gather_begin_unit(sluice__gather *g, uint64_t seq);
/* Applies the records of one completion of the current unit: bytes
 * [pos, pos+len) (free-running) of an arena of arena_size bytes.  Inputs
 * must lie in [lo, hi).  Returns 0, SLUICE_ECORRUPT for malformed records,
 * or SLUICE_EOUTPUT when on_output failed. */
int sluice__gather_apply(sluice__gather *g, const unsigned char *arena,
                         size_t arena_size, uint64_t pos, uint64_t len,
                         uint32_t lo, uint32_t hi);
/* The current unit's worker died: remember how much of it was consumed so
 * its retry skips exactly that. */
void sluice__gather_unit_lost(sluice__gather *g);
/* The current unit is poison (keep_going): its inputs [lo, hi) not yet
 * reported fail with SLUICE_EWORKER and `msg`.  A `range` unit (part of
 * input lo) fails that input and reports it only when it `ends` it. */
void sluice__gather_poison(sluice__gather *g, uint32_t lo, uint32_t hi,
                           int range, int ends, const char *msg);

/* --------------------------------------------------------- worker side */

typedef struct sluice__worker sluice__worker;

/* How a worker hands a fragment of records to the coordinator: post a
 * completion of [pos, pos+len) (LAST when the unit is done) and, when
 * `need` > 0, wait until `need` bytes of arena are free.  Returns 0 or
 * negative (the job is going away). */
typedef int (*sluice__flush_fn)(sluice__worker *w, uint64_t seq, uint64_t pos,
                                uint32_t len, int last, size_t need);

struct sluice__worker {
    const sluice_plugin_handle *plugin;
    sluice_ctx ctx;
    sluice_host_api api;
    unsigned char *out; /* output arena */
    size_t out_size;
    _Atomic uint64_t *out_tail_p; /* consumed position (shared) */
    uint64_t out_head;            /* next free position */
    uint64_t frag_pos;            /* start of records not yet posted */
    sluice__flush_fn flush;
    void *flush_arg;
    unsigned char *block; /* read buffer, block_size bytes */
    size_t block_size;
    size_t whole_cap; /* WHOLE_UNIT/FILE buffer */
    unsigned char *whole;
    unsigned char *partial; /* partial_size bytes */
    /* the unit being processed */
    uint64_t seq;
    uint32_t cur_input;
    const char *cur_path;
    size_t data_rec;     /* open DATA record position + 1, or 0 */
    size_t reserved_len; /* bytes handed out by the last reserve */
    char *err_sink;      /* coordinator set-up: errors go here, not
                            into records (err_sink_len bytes) */
    size_t err_sink_len;
    int64_t cache_input; /* input whose file is open in cache_fd, or -1:
                            consecutive ranges of a file reuse it */
    int cache_fd;
    int failed;   /* a flush failed: stop */
    int in_error; /* the plugin reported an error this input */
    /* lookbehind for the next UNIT_BEGIN block (ABI 1.1) */
    const unsigned char *before;
    size_t before_len;
    unsigned char *lb; /* buffer for a range's lookbehind */
    int skip_binary;   /* sluice_job_opts.skip_binary */
};

int sluice__worker_init(sluice__worker *w, const sluice_plugin_handle *plugin,
                        int worker_no, unsigned char *out, size_t out_size,
                        _Atomic uint64_t *out_tail_p, uint32_t block_size);
void sluice__worker_fini(sluice__worker *w);
/* Runs one unit: reads its inputs, calls map, writes records, posts them
 * through flush (the last with LAST).  0 or negative (fatal for the job). */
int sluice__worker_unit(sluice__worker *w, const sluice__unit *u,
                        const unsigned char *slot, size_t slot_size);
/* The worker process's main loop; never returns.  With `sandbox` it
 * installs the seccomp filter (sandbox.c) after the plugin's worker_init,
 * before the first unit, and exits with status 7 if it cannot. */
void sluice__worker_main(sluice__worker *w, sluice__region *r, int sandbox)
    __attribute__((noreturn));
/* What a worker process just forked needs from its coordinator. */
typedef struct sluice__child {
    pid_t parent; /* the coordinator */
    const sluice_plugin_handle *plugin;
    void *global; /* the plugin's globals, from its global_init */
    int worker_no;
    sluice__region *region; /* this worker's */
    uint32_t block_size;
    uint64_t memory; /* RLIMIT_AS in bytes, 0: none */
    int skip_binary;
    int sandbox;
    void (*forget)(void *arg); /* drops the coordinator's state that the
                                  worker must not hold */
    void *forget_arg;
} sluice__child;
/* The child's side of spawning a worker: cuts it loose from the
 * coordinator (death signal, stdout to /dev/null, signals, `forget`), sets
 * its memory limit and runs sluice__worker_main; never returns. */
void sluice__worker_child(const sluice__child *c) __attribute__((noreturn));
/* arena.c: appends one record to w's arena (waiting for room through
 * flush).  0, or SLUICE_EWORKER when the job is going away. */
int sluice__arena_write(sluice__worker *w, uint32_t type, uint32_t input,
                        int errnum, uint64_t offset, const void *payload,
                        size_t len);
/* Posts the records written since the last post (LAST when the unit is
 * done), waiting until `need` bytes are free when need > 0. */
int sluice__arena_post(sluice__worker *w, int last, size_t need);
/* The host's error call (sluice_host_api.error): an ERROR record for the
 * current input, its first only; during set-up, into err_sink. */
void sluice__host_error(sluice_ctx *ctx, int errnum, uint64_t offset,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Host API for coordinator-side calls (finish): output goes to on_output. */
void sluice__host_api_init(sluice_host_api *api);

#endif /* SLUICE_INTERNAL_H */
