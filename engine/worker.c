/*
 * worker.c -- what runs in a worker process: read inputs, call the plugin,
 * write records.
 *
 * A worker owns its read buffer and the writing end of its output arena.
 * It takes units from its submission ring in order, reads regular files
 * itself (ranges of 1 MiB or more mapped for the unit's duration, anything
 * else with pread into one reused pre-faulted block buffer), or
 * finds stream bytes already copied into its input slot by the coordinator,
 * calls the plugin's map per block, and appends records (partials, ordered
 * output, errors, end-of-input marks) to the arena (arena.c).  Records are
 * handed over in fragments through the completion ring; the last fragment
 * of a unit carries SLUICE__CF_LAST.
 *
 * A worker process begins in sluice__worker_child, the child's side of
 * spawning (dispatch.c forks): it cuts itself loose from the coordinator,
 * then runs sluice__worker_main's loop until a STOP unit.
 *
 * The same code runs in the coordinator for the inline mode (-j0) and for
 * the plugin's finish hook: only the flush function differs.
 *
 * Nothing here trusts the plugin beyond its declared sizes, and nothing in
 * the coordinator trusts what this file writes (see gather.c).  A worker
 * process runs map and worker_fini under the seccomp filter of sandbox.c,
 * installed after the plugin's worker_init: everything done here must stay
 * within it (read-only opens, MAP_PRIVATE maps, writes only to the
 * coordinator's eventfd).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "os.h"
#include "sandbox.h"

/* ------------------------------------------------------------ lifecycle */

int sluice__worker_init(sluice__worker *w, const sluice_plugin_handle *plugin,
                        int worker_no, unsigned char *out, size_t out_size,
                        _Atomic uint64_t *out_tail_p, uint32_t block_size)
{
    const sluice_plugin *d = plugin->desc;
    memset(w, 0, sizeof *w);
    w->plugin = plugin;
    sluice__host_api_init(&w->api);
    w->ctx.size = sizeof w->ctx;
    w->ctx.worker = worker_no;
    w->ctx.api = &w->api;
    w->out = out;
    w->out_size = out_size;
    w->out_tail_p = out_tail_p;
    w->block_size = block_size ? block_size : SLUICE_DEFAULT_BLOCK;
    w->cache_input = -1;
    w->cache_fd = -1;
    /* The read buffer is made on first use: a job whose ranges are all
     * mapped never needs it. */
    if (d->state_size) {
        w->ctx.state = calloc(1, d->state_size);
        if (!w->ctx.state)
            return SLUICE_ENOMEM;
    }
    w->partial = calloc(1, d->partial_size ? d->partial_size : 1);
    if (!w->partial)
        return SLUICE_ENOMEM;
    if (sluice__lookbehind(d)) {
        w->lb = malloc(sluice__lookbehind(d));
        if (!w->lb)
            return SLUICE_ENOMEM;
    }
    return 0;
}

static void cache_drop(sluice__worker *w)
{
    if (w->cache_fd >= 0)
        close(w->cache_fd);
    w->cache_fd = -1;
    w->cache_input = -1;
}

void sluice__worker_fini(sluice__worker *w)
{
    cache_drop(w);
    if (w->block)
        sluice__os_unmap(w->block, w->block_size);
    free(w->whole);
    free(w->ctx.state);
    free(w->partial);
    free(w->lb);
    w->lb = NULL;
    w->block = NULL;
    w->whole = NULL;
    w->ctx.state = NULL;
    w->partial = NULL;
}

/* ------------------------------------------------------------- mapping */

static void partial_reset(sluice__worker *w)
{
    const sluice_plugin *d = w->plugin->desc;
    if (d->partial_init)
        d->partial_init(&w->ctx, w->partial);
    else
        memset(w->partial, 0, d->partial_size ? d->partial_size : 1);
}

/* The byte count a binary check looks at (sluice_job_opts.skip_binary). */
#define BINARY_PEEK 8192

static int call_map(sluice__worker *w, const unsigned char *data, size_t len,
                    uint64_t offset, uint32_t flags)
{
    if (w->in_error)
        return -1;
    if (w->skip_binary && (flags & SLUICE_BLOCK_FILE_BEGIN) && len &&
        memchr(data, 0, len < BINARY_PEEK ? len : BINARY_PEEK)) {
        sluice__host_error(&w->ctx, SLUICE_ESKIPPED, UINT64_MAX, "binary file");
        return -1;
    }
    sluice_block b = {.data = data,
                      .len = len,
                      .offset = offset,
                      .path = w->cur_path,
                      .input = w->cur_input,
                      .flags = flags};
    if (flags & SLUICE_BLOCK_UNIT_BEGIN) {
        b.before = w->before;
        b.before_len = w->before_len;
        w->before = NULL;
        w->before_len = 0;
    }
    int rc = w->plugin->desc->map(&w->ctx, &b, w->partial);
    if (w->failed)
        return SLUICE_EWORKER;
    if (rc != 0 && !w->in_error)
        sluice__host_error(&w->ctx, 0, offset, "%s: processing failed",
                           w->plugin->desc->name);
    return rc != 0 ? -1 : 0;
}

/* Ends a piece of input: its partial, and END when the input is done. */
static int end_piece(sluice__worker *w, int input_done)
{
    const sluice_plugin *d = w->plugin->desc;
    int rc = 0;
    if (d->caps & SLUICE_CAP_MERGE)
        rc = sluice__arena_write(w, SLUICE__REC_PARTIAL, w->cur_input, 0, 0,
                                 w->partial, d->partial_size);
    if (rc == 0 && input_done)
        rc = sluice__arena_write(w, SLUICE__REC_END, w->cur_input, 0, 0, NULL,
                                 0);
    return rc;
}

static int grow_whole(sluice__worker *w, size_t need)
{
    if (need <= w->whole_cap)
        return 0;
    size_t cap = w->whole_cap ? w->whole_cap : SLUICE_MiB;
    while (cap < need)
        cap *= 2;
    unsigned char *p = realloc(w->whole, cap);
    if (!p)
        return SLUICE_ENOMEM;
    w->whole = p;
    w->whole_cap = cap;
    return 0;
}

/* Large ranges are mapped instead of read: a page-cache copy runs at about
 * 8 GB/s per core on the development machines, mapping 4 MiB with
 * MAP_POPULATE and unmapping it costs a fraction of that, and the plugin
 * then reads the page cache directly (docs/performance.md).  Small pieces
 * and whole files keep pread: one map/unmap per small file costs more than
 * it saves. */
#define MAP_MIN (1 * SLUICE_MiB)

static sigjmp_buf bus_env;
static volatile sig_atomic_t bus_armed;

/* A mapped file that shrinks under us raises SIGBUS: turn it into a
 * "changed as we read it" error instead of a dead worker. */
static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    if (bus_armed) {
        bus_armed = 0;
        siglongjmp(bus_env, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Returns like map_range, or 2 when the range cannot be mapped (the caller
 * then reads it).  The range is mapped a window at a time, so a unit that
 * spans a huge input (a plugin's boundary hook may ask for that) keeps the
 * worker's footprint bounded; each window goes to map as one block.  With
 * `whole` the range is one window and one map call. */
#define MAP_WINDOW (16 * SLUICE_MiB)

static int map_mapped(sluice__worker *w, const sluice__src *src, uint64_t start,
                      uint64_t end, int first, int last, int whole)
{
    struct stat st;
    if (fstat(src->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size < src->base + end)
        return 2;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &old);
    volatile uint64_t pos = start;
    volatile int rc = 0;
    unsigned char *volatile p = NULL;
    volatile size_t plen = 0;
    if (sigsetjmp(bus_env, 1) == 0) {
        bus_armed = 1;
        uint32_t uflags = SLUICE_BLOCK_UNIT_BEGIN;
        while (pos < end) {
            uint64_t wend =
                whole || end - pos <= MAP_WINDOW ? end : pos + MAP_WINDOW;
            uint64_t fstart = src->base + pos;
            uint64_t astart = fstart & ~(page - 1);
            size_t lead = (size_t)(fstart - astart);
            size_t len = lead + (size_t)(wend - pos);
            unsigned char *m =
                mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, src->fd,
                     (off_t)astart);
            if (m == MAP_FAILED) {
                if (pos == start) {
                    rc = 2;
                } else {
                    sluice__host_error(&w->ctx, errno, pos, "%s", "");
                    rc = 1;
                }
                break;
            }
            p = m;
            plen = len;
            uint32_t f = uflags;
            if (first && pos == 0)
                f |= SLUICE_BLOCK_FILE_BEGIN;
            if (wend == end) {
                f |= SLUICE_BLOCK_UNIT_END;
                if (last)
                    f |= SLUICE_BLOCK_FILE_END;
            }
            int r = call_map(w, m + lead, (size_t)(wend - pos), pos, f);
            munmap(m, len);
            p = NULL;
            if (r < 0) {
                rc = r == SLUICE_EWORKER ? r : 1;
                break;
            }
            uflags = 0;
            pos = wend;
        }
        bus_armed = 0;
    } else {
        sluice__host_error(&w->ctx, 0, pos, "file changed as we read it");
        rc = 1;
    }
    if (p)
        munmap(p, plen);
    sigaction(SIGBUS, &old, NULL);
    return rc;
}

/* Maps input bytes [start, end) (end UINT64_MAX: to EOF) from a file.
 * first/last say whether the piece starts/ends the input.  `hint` is the
 * size the input is expected to have (UINT64_MAX: unknown): reads to EOF
 * ask for one byte more than that, so the read that returns the last bytes
 * also proves EOF and no extra read is needed.  Returns 0, 1 when the input
 * failed (records written), or negative (fatal). */
static int map_range(sluice__worker *w, const sluice__src *src, uint64_t start,
                     uint64_t end, int first, int last, int strict,
                     uint64_t hint)
{
    const sluice_plugin *d = w->plugin->desc;
    int whole =
        (d->caps & (SLUICE_CAP_WHOLE_UNIT | SLUICE_CAP_WHOLE_FILE)) != 0;
    uint64_t pos = start;
    uint32_t uflags = SLUICE_BLOCK_UNIT_BEGIN;

    if (strict && end != UINT64_MAX && end - start >= MAP_MIN) {
        int rc = map_mapped(w, src, start, end, first, last, whole);
        if (rc != 2)
            return rc;
    }
    if (whole) {
        /* Read everything first, then one map call. */
        size_t have = 0;
        for (;;) {
            size_t want =
                end == UINT64_MAX ? w->block_size : (size_t)(end - pos);
            if (want == 0)
                break;
            if (grow_whole(w, have + want) < 0)
                return SLUICE_ENOMEM;
            ssize_t r =
                sluice__src_read((void *)src, w->whole + have, want, pos);
            if (r < 0) {
                sluice__host_error(&w->ctx, (int)-r, pos, "%s", "");
                return 1;
            }
            have += (size_t)r;
            pos += (uint64_t)r;
            if ((size_t)r < want)
                break;
        }
        if (end != UINT64_MAX && pos < end && strict) {
            sluice__host_error(&w->ctx, 0, pos, "file changed as we read it");
            return 1;
        }
        uint32_t f = SLUICE_BLOCK_UNIT_BEGIN | SLUICE_BLOCK_UNIT_END;
        if (first && start == 0)
            f |= SLUICE_BLOCK_FILE_BEGIN;
        if (last)
            f |= SLUICE_BLOCK_FILE_END;
        int rc = call_map(w, w->whole, have, start, f);
        if (rc < 0)
            return rc == SLUICE_EWORKER ? rc : 1;
        return 0;
    }

    if (!w->block && !(w->block = sluice__os_map_prefaulted(w->block_size)))
        return SLUICE_ENOMEM;
    for (;;) {
        size_t want = w->block_size;
        if (end != UINT64_MAX && end - pos < want)
            want = (size_t)(end - pos);
        else if (end == UINT64_MAX && hint != UINT64_MAX && pos <= hint &&
                 hint - pos < want)
            want = (size_t)(hint - pos) + 1;
        ssize_t r = 0;
        if (want > 0) {
            r = sluice__src_read((void *)src, w->block, want, pos);
            if (r < 0) {
                sluice__host_error(&w->ctx, (int)-r, pos, "%s", "");
                return 1;
            }
        }
        int at_end = (size_t)r < want || want == 0 ||
                     (end != UINT64_MAX && pos + (uint64_t)r == end);
        if (end != UINT64_MAX && at_end && pos + (uint64_t)r < end && strict) {
            if (r > 0)
                call_map(w, w->block, (size_t)r, pos, uflags);
            sluice__host_error(&w->ctx, 0, pos + (uint64_t)r,
                               "file changed as we read it");
            return 1;
        }
        uint32_t f = uflags;
        if (first && pos == start && start == 0)
            f |= SLUICE_BLOCK_FILE_BEGIN;
        if (at_end) {
            f |= SLUICE_BLOCK_UNIT_END;
            if (last)
                f |= SLUICE_BLOCK_FILE_END;
        }
        int rc = call_map(w, w->block, (size_t)r, pos, f);
        if (rc < 0)
            return rc == SLUICE_EWORKER ? rc : 1;
        uflags = 0;
        pos += (uint64_t)r;
        if (at_end)
            break;
    }
    return 0;
}

/* The parts of a manifest entry after its header. */
typedef struct mparts {
    const char *path;
    const char *msg;           /* msg_len bytes, not NUL-terminated */
    const unsigned char *data; /* SLUICE__MF_INLINE: size bytes */
} mparts;

static const sluice__mfile *mfile_at(const unsigned char *slot, size_t len,
                                     size_t *off, mparts *mp)
{
    if (*off + sizeof(sluice__mfile) > len)
        return NULL;
    const sluice__mfile *m = (const sluice__mfile *)(const void *)(slot + *off);
    uint64_t inl = m->flags & SLUICE__MF_INLINE ? m->size : 0;
    if (m->path_len > len || m->msg_len > SLUICE_MSG_MAX || inl > len)
        return NULL;
    size_t need = sluice__mfile_bytes(m->path_len, m->msg_len, (size_t)inl);
    if (*off + need > len)
        return NULL;
    const unsigned char *p = (const unsigned char *)(m + 1);
    mp->path = (const char *)p;
    p += sluice__pad8((size_t)m->path_len + 1);
    mp->msg = (const char *)p;
    p += sluice__pad8(m->msg_len);
    mp->data = p;
    if (mp->path[m->path_len] != '\0')
        return NULL;
    *off += need;
    return m;
}

/* Maps bytes already in memory (an archive member read by the
 * coordinator) as one whole input: like map_range, 0 or 1 or negative. */
static int map_memory(sluice__worker *w, const unsigned char *p, size_t len)
{
    const sluice_plugin *d = w->plugin->desc;
    size_t step = d->caps & (SLUICE_CAP_WHOLE_UNIT | SLUICE_CAP_WHOLE_FILE)
                      ? len
                      : w->block_size;
    size_t pos = 0;
    uint32_t f = SLUICE_BLOCK_UNIT_BEGIN | SLUICE_BLOCK_FILE_BEGIN;
    do {
        size_t n = len - pos < step ? len - pos : step;
        if (pos + n == len)
            f |= SLUICE_BLOCK_UNIT_END | SLUICE_BLOCK_FILE_END;
        int rc = call_map(w, p + pos, n, pos, f);
        if (rc < 0)
            return rc == SLUICE_EWORKER ? rc : 1;
        pos += n;
        f = 0;
    } while (pos < len);
    return 0;
}

static int open_input(sluice__worker *w, const sluice__mfile *m,
                      const char *path, int *fd_out)
{
    if (m->fd >= 0) {
        *fd_out = m->fd;
        return 0;
    }
    if (w->cache_input == (int64_t)m->input && w->cache_fd >= 0) {
        *fd_out = w->cache_fd;
        return 0;
    }
    cache_drop(w);
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    w->cache_fd = fd;
    w->cache_input = m->input;
    *fd_out = fd;
    return 0;
}

/* 1 when the file open on fd is no longer the one planned: another file
 * under the name (device, inode), or a different size or modification
 * time (written, appended to, truncated), as tar checks after reading. */
static int changed_since_plan(const sluice__mfile *m, int fd)
{
    struct stat st;
    if (!(m->flags & SLUICE__MF_STAT) || fstat(fd, &st) != 0)
        return 0;
    return (uint64_t)st.st_dev != m->st_dev ||
           (uint64_t)st.st_ino != m->st_ino ||
           (uint64_t)st.st_size != m->st_size ||
           (int64_t)st.st_mtim.tv_sec != m->mtime_sec ||
           (int64_t)st.st_mtim.tv_nsec != m->mtime_nsec;
}

static int run_files(sluice__worker *w, const sluice__unit *u,
                     const unsigned char *slot)
{
    size_t off = 0;
    for (uint32_t i = 0; i < u->nfiles; i++) {
        mparts mp;
        const sluice__mfile *m = mfile_at(slot, u->manifest_len, &off, &mp);
        if (!m)
            return SLUICE_EINVAL;
        const char *path = mp.path;
        w->cur_input = m->input;
        w->cur_path = path;
        w->in_error = 0;
        int range = (u->flags & SLUICE__UF_RANGE) != 0;
        int input_done = range ? (u->flags & SLUICE__UF_END) != 0 : 1;
        if (m->errnum || (m->flags & SLUICE__MF_FAILED)) {
            int rc =
                sluice__arena_write(w, SLUICE__REC_ERROR, m->input, m->errnum,
                                    m->err_off, mp.msg, m->msg_len);
            if (rc == 0)
                rc = sluice__arena_write(w, SLUICE__REC_END, m->input, 0, 0,
                                         NULL, 0);
            if (rc < 0)
                return rc;
            continue;
        }
        if (m->flags & SLUICE__MF_INLINE) {
            partial_reset(w);
            int rc = map_memory(w, mp.data, (size_t)m->size);
            if (rc < 0 || (rc = end_piece(w, 1)) < 0)
                return rc;
            continue;
        }
        int fd = -1;
        int orc = open_input(w, m, path, &fd);
        if (orc < 0) {
            int rc = sluice__arena_write(w, SLUICE__REC_ERROR, m->input, -orc,
                                         UINT64_MAX, NULL, 0);
            if (rc == 0 && input_done)
                rc = sluice__arena_write(w, SLUICE__REC_END, m->input, 0, 0,
                                         NULL, 0);
            if (rc < 0)
                return rc;
            continue;
        }
        sluice__src src = {.fd = fd,
                           .base = m->base,
                           .expect = range || !m->size ? UINT64_MAX : m->size};
        partial_reset(w);
        int rc;
        if (range) {
            uint64_t start = u->offset, end = u->offset + u->length;
            if (u->flags & SLUICE__UF_ALIGN) {
                int64_t b = sluice_chunker_boundary(
                    sluice__src_read, &src, start, m->size, u->align_limit);
                int64_t e =
                    b < 0 ? b
                          : sluice_chunker_boundary(sluice__src_read, &src, end,
                                                    m->size, u->align_limit);
                if (b < 0 || e < 0) {
                    sluice__host_error(&w->ctx, (int)-(b < 0 ? b : e), start,
                                       "%s", "");
                    rc = 1;
                    goto piece_done;
                }
                start = (uint64_t)b;
                end = (uint64_t)e;
            }
            if (w->lb && start > 0) {
                uint32_t lb = sluice__lookbehind(w->plugin->desc);
                size_t n = start < lb ? (size_t)start : lb;
                ssize_t r = sluice__src_read(&src, w->lb, n, start - n);
                if (r != (ssize_t)n) {
                    sluice__host_error(
                        &w->ctx, r < 0 ? (int)-r : 0, start - n, "%s",
                        r < 0 ? "" : "file changed as we read it");
                    rc = 1;
                    goto piece_done;
                }
                w->before = w->lb;
                w->before_len = n;
            }
            rc = map_range(w, &src, start, end,
                           (u->flags & SLUICE__UF_BEGIN) != 0,
                           (u->flags & SLUICE__UF_END) != 0, 1, UINT64_MAX);
        } else {
            /* A whole file, read to EOF; the planned size (0 for files
             * like those in /proc is no promise) only sizes the reads. */
            rc = map_range(w, &src, 0, UINT64_MAX, 1, 1, 0,
                           m->size ? m->size : UINT64_MAX);
        }
        if (rc == 0 && changed_since_plan(m, fd)) {
            sluice__host_error(&w->ctx, 0, UINT64_MAX,
                               "file changed as we read it");
            rc = 1;
        }
        if (!range && m->fd < 0)
            cache_drop(w);
    piece_done:
        if (rc < 0)
            return rc;
        /* The partial holds what was read, even after an error, like wc. */
        if ((rc = end_piece(w, input_done)) < 0)
            return rc;
    }
    return 0;
}

static int run_stream(sluice__worker *w, const sluice__unit *u,
                      const unsigned char *slot, size_t slot_size)
{
    size_t off = 0;
    mparts mp;
    const sluice__mfile *m = mfile_at(slot, u->manifest_len, &off, &mp);
    const char *path = mp.path;
    if (!m || u->data_off > slot_size || u->length > slot_size - u->data_off ||
        u->data_off < u->manifest_len ||
        u->before_len > u->data_off - u->manifest_len)
        return SLUICE_EINVAL;
    w->cur_input = m->input;
    w->cur_path = path;
    w->in_error = 0;
    if (u->flags & SLUICE__UF_UNOPENED) {
        /* Like a file that cannot be opened: an error, no partial. */
        int rc = sluice__arena_write(w, SLUICE__REC_ERROR, m->input, m->errnum,
                                     UINT64_MAX, NULL, 0);
        return rc < 0 ? rc
                      : sluice__arena_write(w, SLUICE__REC_END, m->input, 0, 0,
                                            NULL, 0);
    }
    partial_reset(w);
    w->before = u->before_len ? slot + u->data_off - u->before_len : NULL;
    w->before_len = u->before_len;
    uint32_t f = SLUICE_BLOCK_UNIT_BEGIN | SLUICE_BLOCK_UNIT_END;
    if (u->flags & SLUICE__UF_BEGIN)
        f |= SLUICE_BLOCK_FILE_BEGIN;
    int failed = m->errnum || (m->flags & SLUICE__MF_FAILED);
    if ((u->flags & SLUICE__UF_END) && !failed)
        f |= SLUICE_BLOCK_FILE_END;
    int rc = call_map(w, slot + u->data_off, (size_t)u->length, u->offset, f);
    if (rc == SLUICE_EWORKER)
        return rc;
    if (failed && !w->in_error) {
        rc = sluice__arena_write(
            w, SLUICE__REC_ERROR, m->input, m->errnum,
            m->err_off != UINT64_MAX ? m->err_off : u->offset + u->length,
            mp.msg, m->msg_len);
        w->in_error = 1;
        if (rc < 0)
            return rc;
    }
    return end_piece(w, (u->flags & SLUICE__UF_END) != 0);
}

int sluice__worker_unit(sluice__worker *w, const sluice__unit *u,
                        const unsigned char *slot, size_t slot_size)
{
    w->seq = u->seq;
    w->frag_pos = w->out_head;
    w->data_rec = 0;
    w->before = NULL;
    w->before_len = 0;
    if (u->manifest_len > slot_size)
        return SLUICE_EINVAL;
    int rc;
    if (u->kind == SLUICE__UNIT_FILES)
        rc = run_files(w, u, slot);
    else if (u->kind == SLUICE__UNIT_STREAM)
        rc = run_stream(w, u, slot, slot_size);
    else
        rc = SLUICE_EINVAL;
    if (rc < 0)
        return rc;
    return sluice__arena_post(w, 1, 0);
}

/* -------------------------------------------------------- process mode */

static sluice__region *main_region;
static int main_coord_fd = -1;

/* Spins a little, then sleeps on the doorbell until `ready` holds. */
static int wait_for(sluice__region *r, _Atomic uint32_t *flag,
                    int (*ready)(sluice__region *, size_t), size_t arg)
{
    for (int spin = 0; spin < 256; spin++) {
        if (ready(r, arg))
            return 0;
        sluice__os_cpu_relax();
    }
    for (;;) {
        atomic_store_explicit(flag, 1, memory_order_seq_cst);
        atomic_thread_fence(memory_order_seq_cst);
        if (ready(r, arg)) {
            atomic_store_explicit(flag, 0, memory_order_relaxed);
            return 0;
        }
        int rc = sluice__os_event_wait(r->doorbell);
        atomic_store_explicit(flag, 0, memory_order_relaxed);
        if (rc < 0 && rc != -EINTR)
            return rc;
    }
}

static int comp_has_room(sluice__region *r, size_t unused)
{
    (void)unused;
    int64_t n = sluice_ring_count(&r->comp);
    return n < 0 || n < (int64_t)r->comp.capacity;
}

static uint64_t *arena_head_local;

static int arena_has_room(sluice__region *r, size_t need)
{
    uint64_t tail =
        atomic_load_explicit(&r->hdr->out_tail, memory_order_seq_cst);
    return r->out_size - (*arena_head_local - tail) >= need;
}

static int process_flush(sluice__worker *w, uint64_t seq, uint64_t pos,
                         uint32_t len, int last, size_t need)
{
    sluice__region *r = main_region;
    sluice__comp c = {.seq = seq,
                      .out_pos = pos,
                      .out_len = len,
                      .flags = last ? SLUICE__CF_LAST : 0};
    for (;;) {
        int n = sluice_ring_push(&r->comp, &c, 1);
        if (n < 0)
            return n;
        if (n == 1)
            break;
        int rc = wait_for(r, &r->hdr->out_waiting, comp_has_room, 0);
        if (rc < 0)
            return rc;
    }
    if (sluice_ring_needs_wake(&r->comp))
        sluice__os_event_signal(main_coord_fd);
    if (need) {
        arena_head_local = &w->out_head;
        int rc = wait_for(r, &r->hdr->out_waiting, arena_has_room, need);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int sub_ready(sluice__region *r, size_t unused)
{
    (void)unused;
    return sluice_ring_count(&r->sub) != 0;
}

/* Defined in loop.c: the coordinator's eventfd, inherited. */
extern int sluice__coord_eventfd;

void sluice__worker_main(sluice__worker *w, sluice__region *r, int sandbox)
{
    main_region = r;
    main_coord_fd = sluice__coord_eventfd;
    w->flush = process_flush;
    const sluice_plugin *d = w->plugin->desc;
    int status = 0;
    if (d->worker_init && d->worker_init(&w->ctx) != 0) {
        atomic_store(&r->hdr->start_err, SLUICE__START_INIT);
        _exit(3);
    }
    /* worker_init may still open what the plugin needs (docs/plugins.md);
     * map and worker_fini run under the filter. */
    if (sandbox &&
        sluice__sandbox_install(main_coord_fd, &r->hdr->sandbox_nr) < 0) {
        atomic_store(&r->hdr->start_err, SLUICE__START_SANDBOX);
        _exit(7);
    }
    for (;;) {
        sluice__unit u;
        int n = sluice_ring_pop(&r->sub, &u, 1);
        if (n < 0) {
            status = 4;
            break;
        }
        if (n == 0) {
            int spin;
            for (spin = 0; spin < 512 && !sub_ready(r, 0); spin++)
                sluice__os_cpu_relax();
            if (spin == 512) {
                if (sluice_ring_prepare_sleep(&r->sub)) {
                    int rc = sluice__os_event_wait(r->doorbell);
                    sluice_ring_end_sleep(&r->sub);
                    if (rc < 0 && rc != -EINTR) {
                        status = 5;
                        break;
                    }
                }
            }
            continue;
        }
        if (u.kind == SLUICE__UNIT_STOP)
            break;
        if (u.slot >= SLUICE_CREDITS) {
            status = 4;
            break;
        }
        /* Read only after this worker died: which unit it died on. */
        atomic_store_explicit(&r->hdr->unit_seq, u.seq + 1,
                              memory_order_relaxed);
        int rc = sluice__worker_unit(
            w, &u, r->slots + (size_t)u.slot * r->slot_size, r->slot_size);
        if (rc < 0) {
            status = 6;
            break;
        }
    }
    if (d->worker_fini)
        d->worker_fini(&w->ctx);
    _exit(status);
}

void sluice__worker_child(const sluice__child *c)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != c->parent)
        _exit(1);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
    signal(SIGINT, SIG_IGN); /* the coordinator decides */
    signal(SIGPIPE, SIG_DFL);
    c->forget(c->forget_arg);
    if (c->memory) {
        struct rlimit rl = {.rlim_cur = c->memory, .rlim_max = c->memory};
        setrlimit(RLIMIT_AS, &rl);
    }
    sluice__region *r = c->region;
    sluice__worker w;
    if (sluice__worker_init(&w, c->plugin, c->worker_no, r->out, r->out_size,
                            &r->hdr->out_tail, c->block_size) < 0) {
        atomic_store(&r->hdr->start_err, SLUICE__START_INIT);
        _exit(2);
    }
    w.ctx.global = c->global;
    w.skip_binary = c->skip_binary;
    sluice__worker_main(&w, r, c->sandbox);
}
