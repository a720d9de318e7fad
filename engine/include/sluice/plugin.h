/*
 * sluice/plugin.h -- the plugin ABI, version 1.
 *
 * Everything a plugin author needs: a plugin is a shared object that exports
 * one function, SLUICE_PLUGIN_ENTRY_NAME, returning a pointer to a constant
 * sluice_plugin descriptor.  The host dlopen()s the file before any worker is
 * forked, checks the descriptor's size and ABI version, validates the options
 * the user gave against the descriptor's schema, and then drives the
 * lifecycle:
 *
 *   global_init   coordinator, once, before workers fork (globals it sets are
 *                 inherited by every worker); nonzero: the job does not start
 *   worker_init   each worker process (and the inline run), ctx->state zeroed;
 *                 nonzero: that worker stops and the job fails
 *   map           each worker, once per block of input: fold the block into
 *                 the partial result and/or write ordered output
 *   merge         coordinator: into = into (+) next, for adjacent pieces of
 *                 one input; must be associative and must not fail
 *   finish        coordinator, once, after every unit: may write trailing
 *                 ordered output; nonzero: the job fails
 *   worker_fini   each worker, at shutdown
 *   global_fini   coordinator, once
 *
 * Memory: the host owns everything that crosses the boundary.  Input blocks
 * are read-only and valid only during map.  Output goes through the host's
 * reserve/commit calls into shared memory.  Errors go through the host's
 * error call with a message and the offset of the record at fault.
 *
 * Every callback gets a context, never NULL, whoever calls it: the engine,
 * or a program that combines partials itself through sluice_job_merge()
 * and friends (sluice.h), which pass the coordinator's.
 *
 * Thread/process safety: every callback runs in a single-threaded process.
 * map runs in worker processes; global_init, merge, counters and finish run
 * in the coordinator and must not crash it: merge, counters and finish do
 * arithmetic on partials and write output, nothing else.
 *
 * ABI rules.  A plugin declares the version it was built for in its
 * descriptor; the host refuses one whose major version differs from its own
 * or whose minor version is newer, so a plugin that declares 1.N runs only
 * on hosts of 1.N or later.  Within a major version no field is ever
 * reordered, resized or removed, and no struct changes size except by
 * growing at its end.  A minor version adds fields in two ways:
 *   - in the structs the host builds (sluice_block, sluice_host_api,
 *     sluice_ctx): at the end, or in place of reserved space; a plugin may
 *     read every field of the minor version it declares;
 *   - in the descriptor the plugin builds (sluice_plugin): in place of
 *     reserved space (ABI 1.1 took `boundary`, `lookbehind` and `reserved1`
 *     from it), or at the end, where `size` tells the host whether a plugin
 *     has them.  The host reads a field marked "ABI 1.N" only from plugins
 *     that declare minor >= N: in an older plugin that space was reserved,
 *     so whatever it holds is ignored (`sluice plugin check` warns about a
 *     set field the host ignores).
 * sluice_option never changes in major 1: plugins give arrays of it, whose
 * stride is its size.  Reserved fields must be zero.
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLUICE_PLUGIN_ABI_MAJOR 1
#define SLUICE_PLUGIN_ABI_MINOR 1

/* Limits of ABI 1: the host refuses a descriptor beyond them, or fails the
 * call. */
#define SLUICE_MAX_PARTIAL_SIZE 4096u /* sluice_plugin.partial_size */
#define SLUICE_MAX_RESERVE_SIZE (2u * 1024u * 1024u) /* reserve()'s min */
#define SLUICE_MAX_LOOKBEHIND (64u * 1024u) /* sluice_plugin.lookbehind */

/* The name of the entry function every plugin exports. */
#define SLUICE_PLUGIN_ENTRY_NAME "sluice_plugin_entry"

#if defined(__GNUC__)
#define SLUICE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SLUICE_PLUGIN_EXPORT
#endif

/* Defines the entry function for a descriptor `desc` (a sluice_plugin). */
#define SLUICE_PLUGIN_DEFINE(desc)                                             \
    SLUICE_PLUGIN_EXPORT const struct sluice_plugin *sluice_plugin_entry(      \
        void);                                                                 \
    SLUICE_PLUGIN_EXPORT const struct sluice_plugin *sluice_plugin_entry(void) \
    {                                                                          \
        return &(desc);                                                        \
    }

/* ---------------------------------------------------------------- options */

typedef enum sluice_opt_type {
    SLUICE_OPT_BOOL = 1,   /* "true"/"false", "1"/"0", "yes"/"no" */
    SLUICE_OPT_INT = 2,    /* decimal, optional k/M/G suffix (powers of 1024) */
    SLUICE_OPT_STRING = 3, /* any string */
    SLUICE_OPT_ENUM = 4,   /* one of `choices`, a '|'-separated list */
} sluice_opt_type;

/* One entry of a plugin's option schema.  Fixed in ABI 1 (ABI rules). */
typedef struct sluice_option {
    const char *key;           /* [a-z0-9_-]+ */
    sluice_opt_type type;      /* how the value is validated */
    const char *default_value; /* used when the user gives none; never NULL */
    const char *help;          /* one line */
    const char *choices;       /* SLUICE_OPT_ENUM only: "a|b|c" */
} sluice_option;

/* ------------------------------------------------------------ capabilities */

enum {
    SLUICE_CAP_MERGE = 1u << 0,      /* per-input partial results, merged */
    SLUICE_CAP_ORDERED = 1u << 1,    /* writes output, emitted in input order */
    SLUICE_CAP_RECORDS = 1u << 2,    /* units end on newlines (lines may be
                                        split only when longer than a unit) */
    SLUICE_CAP_WHOLE_UNIT = 1u << 3, /* one map call per unit, not per block */
    SLUICE_CAP_WHOLE_FILE = 1u << 4, /* never split one input across units */
};

/* ------------------------------------------------------------------ blocks */

enum {
    SLUICE_BLOCK_FILE_BEGIN = 1u << 0, /* data[0] is the first byte of input */
    SLUICE_BLOCK_FILE_END = 1u << 1, /* data[len-1] is the last byte of input */
    SLUICE_BLOCK_UNIT_BEGIN = 1u << 2, /* first block of this unit */
    SLUICE_BLOCK_UNIT_END = 1u << 3,   /* last block of this unit */
};

/* A piece of one input handed to map.  Read-only, valid during map only. */
typedef struct sluice_block {
    const unsigned char *data; /* the bytes (may be NULL when len == 0) */
    size_t len;                /* number of bytes */
    uint64_t offset;           /* offset of data[0] within the input */
    const char *path;          /* the input's name, for messages */
    uint32_t input;            /* index of the input within the job */
    uint32_t flags;            /* SLUICE_BLOCK_* */
    /* ABI 1.1: in the first block of a unit of a plugin that declares a
     * lookbehind, the up to `lookbehind` input bytes just before data[0]
     * (fewer at the start of the input); NULL/0 otherwise. */
    const unsigned char *before;
    size_t before_len;
} sluice_block;

/* Reads up to n bytes of an input at offset off into buf.  Returns the bytes
 * read (fewer than n only at the end of the input) or -errno. */
typedef int64_t (*sluice_read_fn)(void *src, void *buf, size_t n,
                                  uint64_t off);

/* ------------------------------------------------------------- host calls */

struct sluice_ctx;

/* Functions the host gives every plugin call (SQLite-style table, so a plugin
 * links against nothing).  Grows at the end or into reserved (ABI rules). */
typedef struct sluice_host_api {
    uint32_t size;      /* sizeof(sluice_host_api) as the host built it */
    uint16_t abi_major; /* SLUICE_PLUGIN_ABI_MAJOR of the host */
    uint16_t abi_minor; /* SLUICE_PLUGIN_ABI_MINOR of the host */

    /* Returns a writable area of at least `min` bytes for ordered output
     * and stores its real size in *avail; NULL on failure, and always for
     * a min above SLUICE_MAX_RESERVE_SIZE.  Only the bytes given to
     * commit() become output.  Valid in map and finish of an
     * SLUICE_CAP_ORDERED plugin. */
    void *(*reserve)(struct sluice_ctx *ctx, size_t min, size_t *avail);
    /* Appends the first `n` bytes of the last reserved area to the output. */
    void (*commit)(struct sluice_ctx *ctx, size_t n);
    /* Reports an error about the current input at byte `offset` (use
     * UINT64_MAX for none); errnum is an errno value or 0.  The message is
     * printf-formatted and copied.  map should then return -1. */
    void (*error)(struct sluice_ctx *ctx, int errnum, uint64_t offset,
                  const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 4, 5)))
#endif
        ;
    /* The validated value of option `key` (the default if the user gave
     * none); NULL for a key not in the schema.  Valid in every callback. */
    const char *(*option)(struct sluice_ctx *ctx, const char *key);
    /* The same, converted: booleans as 0/1, integers with suffixes applied. */
    int64_t (*option_int)(struct sluice_ctx *ctx, const char *key);

    void *reserved[8]; /* for growth; NULL */
} sluice_host_api;

/* The context of every call; never NULL.  Grows at the end or into reserved
 * (ABI rules). */
typedef struct sluice_ctx {
    uint32_t size;              /* sizeof(sluice_ctx) as the host built it */
    int32_t worker;             /* worker number, 0..n-1; -1 coordinator */
    const sluice_host_api *api; /* host functions */
    void *state;                /* per-worker state, state_size bytes */
    void *global;               /* whatever global_init stored here */
    void *reserved[6];          /* for growth */
} sluice_ctx;

/* ------------------------------------------------------------- descriptor */

/* What a plugin is and does.  New fields take reserved space or go at the
 * end, and are read only from plugins that declare their minor version (ABI
 * rules). */
typedef struct sluice_plugin {
    uint32_t size;           /* sizeof(sluice_plugin) as the plugin built it */
    uint16_t abi_major;      /* SLUICE_PLUGIN_ABI_MAJOR */
    uint16_t abi_minor;      /* SLUICE_PLUGIN_ABI_MINOR */
    const char *name;        /* short name, [a-z0-9_-]+ */
    const char *version;     /* the plugin's own version */
    const char *description; /* one line */
    const char *license;     /* SPDX identifier */

    const sluice_option *options; /* option schema (may be NULL) */
    uint32_t n_options;           /* entries in options */
    uint32_t caps;                /* SLUICE_CAP_* */

    size_t state_size;   /* bytes of per-worker state (ctx->state) */
    size_t partial_size; /* bytes of a partial result; plain data, copied
                            between processes; at most
                            SLUICE_MAX_PARTIAL_SIZE */

    /* Named counters a partial result reports (the CLI prints them). */
    const char *const *counter_names; /* n_counters names */
    uint32_t n_counters;
    uint32_t reserved0;
    /* Coordinator: writes the n_counters values of a merged partial.
     * Required with n_counters. */
    void (*counters)(const struct sluice_ctx *ctx, const void *partial,
                     uint64_t *out);

    /* May be NULL.  0, or nonzero to refuse the job, which then does not
     * start; the message given to error() says why. */
    int (*global_init)(struct sluice_ctx *ctx);
    void (*global_fini)(struct sluice_ctx *ctx); /* may be NULL */
    /* May be NULL.  0, or nonzero when the worker cannot work: it stops
     * before it maps anything, and the job fails. */
    int (*worker_init)(struct sluice_ctx *ctx);
    void (*worker_fini)(struct sluice_ctx *ctx); /* may be NULL */

    /* Sets `partial` to the identity element (NULL: all bytes zero). */
    void (*partial_init)(const struct sluice_ctx *ctx, void *partial);
    /* Folds one block into `partial` (which already holds everything this
     * unit saw before it) and/or writes ordered output.  0 or -1. */
    int (*map)(struct sluice_ctx *ctx, const sluice_block *block,
               void *partial);
    /* into = into (+) next, where next covers the bytes right after into's.
     * Associative; partials of arbitrary splits must merge to the result of
     * one pass.  Required with SLUICE_CAP_MERGE. */
    void (*merge)(const struct sluice_ctx *ctx, void *into, const void *next);
    /* May be NULL.  Called once after every unit is done; may write
     * ordered output.  0, or nonzero to fail the job. */
    int (*finish)(struct sluice_ctx *ctx);

    /* ABI 1.1, may be NULL.  Coordinator: where the unit that begins at
     * `at` of a regular file of `size` bytes ends, when the planner would
     * end it near at + want.  `at` is 0 or an offset this hook returned.
     * Reads the file through read(src, ...).  Returns an offset in
     * (at, size]; returning size keeps the rest of the input in one unit,
     * which one worker then reads in order, block by block.  Plugins whose
     * data has its own framing (compressed members, say) use it to keep
     * units on frame boundaries.  With this hook, every unit of a stream
     * input (a pipe, stdin) goes to the same worker, in order, so map may
     * carry state from one unit of such an input to the next. */
    uint64_t (*boundary)(struct sluice_ctx *ctx, sluice_read_fn read,
                         void *src, uint64_t at, uint64_t want,
                         uint64_t size);
    /* ABI 1.1.  Bytes of input before a unit that its first block shows in
     * sluice_block.before (0: none; at most SLUICE_MAX_LOOKBEHIND).  A
     * compressor primes its dictionary with them. */
    uint32_t lookbehind;
    uint32_t reserved1;

    void *reserved[6]; /* for growth; NULL */
} sluice_plugin;

/* Helpers for plugin code. */
static inline void *sluice_reserve(sluice_ctx *ctx, size_t min, size_t *avail)
{
    return ctx->api->reserve(ctx, min, avail);
}
static inline void sluice_commit(sluice_ctx *ctx, size_t n)
{
    ctx->api->commit(ctx, n);
}

#ifdef __cplusplus
}
#endif
#endif /* SLUICE_PLUGIN_H */
