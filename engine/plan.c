/*
 * plan.c -- cutting inputs into units.
 *
 * Units are planned lazily, in input order, each into a worker's input
 * slot: a byte range of a large regular file (its end moved by the
 * plugin's boundary hook, which reads the file here), a batch of small
 * files (a manifest of paths, and the bytes of archive members already
 * read), or the next piece of a stream, read here into the slot (kept on
 * a record boundary for line-based plugins, the rest carried over).  A
 * batch stops at a stream or a large file; expansion (inputs.c) runs
 * whenever planning reaches an EXPAND input.  docs/engine.md, "Units".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord.h"
#include "os.h"

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
    uint32_t idx = job->plan.input;
    sluice__input *in = &job->in.v[idx];
    int errnum = 0, unopened = 0;
    const char *emsg = NULL; /* archive member: why it failed */
    uint64_t eoff = UINT64_MAX;
    if (!in->arc && job->plan.fd < 0 && job->plan.off == 0) {
        if (in->fd >= 0) {
            job->plan.fd = in->fd;
        } else {
            job->plan.fd = open(in->pub.path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
            if (job->plan.fd < 0) {
                errnum = errno;
                unopened = 1;
            }
        }
        /* A bigger pipe means fewer wake-ups of the writer and of us. */
        if (job->plan.fd >= 0 && S_ISFIFO(in->pub.st.st_mode))
            fcntl(job->plan.fd, F_SETPIPE_SZ, (int)SLUICE_MiB);
    }
    size_t off = 0;
    size_t moff;
    put_mfile(slot, &off, in, idx, 0, UINT64_MAX);
    moff = off;
    /* The plugin's lookbehind: the last bytes of the previous unit. */
    size_t before = job->plan.off ? job->plan.lb_len : 0;
    if (before)
        memcpy(slot + off, job->plan.lb, before);
    off += before;
    /* Room is left for an error message to go in front of the data. */
    size_t room = slot_size - off - sluice__pad8(SLUICE_MSG_MAX);
    size_t chunk = job->chunk < room ? job->chunk : room;
    size_t have = 0;
    if (job->plan.carry_len) {
        memcpy(slot + off, job->plan.carry, job->plan.carry_len);
        have = job->plan.carry_len;
        job->plan.carry_len = 0;
    }
    int eof = 0;
    if (!errnum) {
        ssize_t r = in->arc
                        ? sluice__arc_read_full(in->arc, slot + off + have,
                                                chunk - have)
                        : sluice__os_read_full(job->plan.fd, slot + off + have,
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
            if (!job->plan.carry)
                job->plan.carry = malloc(SLUICE_SLOT_SIZE);
            if (job->plan.carry && keep < have) {
                job->plan.carry_len = have - keep;
                memcpy(job->plan.carry, slot + off + keep, job->plan.carry_len);
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
        if (!job->plan.lb)
            job->plan.lb = malloc(lbmax);
        if (job->plan.lb) {
            memmove(job->plan.lb, slot + moff + span - keep, keep);
            job->plan.lb_len = keep;
        }
    }
    memset(u, 0, sizeof *u);
    u->kind = SLUICE__UNIT_STREAM;
    u->nfiles = 1;
    u->manifest_len = (uint32_t)moff;
    u->data_off = (uint32_t)off;
    u->before_len = (uint32_t)before;
    u->length = have;
    u->offset = job->plan.off;
    if (job->plan.off == 0)
        u->flags |= SLUICE__UF_BEGIN;
    if (unopened)
        u->flags |= SLUICE__UF_UNOPENED;
    job->plan.off += have;
    if (eof) {
        u->flags |= SLUICE__UF_END;
        if (job->plan.fd > 0 && in->fd < 0)
            close(job->plan.fd);
        job->plan.fd = -1;
        job->plan.off = 0;
        job->plan.input++;
    }
}

/* The end of the range unit of input `idx` that starts at job->plan.off, as
 * the plugin's boundary hook puts it; the nominal end without a hook. */
static uint64_t range_end(sluice_job *job, uint32_t idx, sluice__input *in)
{
    uint64_t at = job->plan.off;
    uint64_t end = in->size - at < job->chunk ? in->size : at + job->chunk;
    sluice__boundary_fn hook = sluice__boundary(job->desc);
    if (!hook)
        return end;
    if (job->plan.hook_fd < 0 || job->plan.hook_input != idx) {
        if (job->plan.hook_fd >= 0 && job->plan.hook_fd != STDIN_FILENO)
            close(job->plan.hook_fd);
        job->plan.hook_fd =
            in->fd >= 0 ? in->fd
                        : open(in->pub.path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        job->plan.hook_input = idx;
    }
    if (job->plan.hook_fd < 0)
        return in->size; /* the worker reports why it cannot be read */
    sluice__src src = {
        .fd = job->plan.hook_fd, .base = in->base, .expect = UINT64_MAX};
    uint64_t e =
        hook(&job->coord.ctx, sluice__src_read, &src, at, job->chunk, in->size);
    return e > at && e <= in->size ? e : in->size;
}

/* Makes the next unit into `slot`.  Returns 1, or 0 when there is none. */
int sluice__plan_next(sluice_job *job, sluice__unit *u, unsigned char *slot,
                      size_t slot_size, uint32_t *lo, uint32_t *hi)
{
    if (sluice__job_interrupted(job) || job->plan.next_seq >= job->share.end ||
        sluice__expand_next(job) < 0 || job->plan.input >= job->in.n)
        return 0;
    uint32_t first = job->plan.input;
    sluice__input *in = &job->in.v[first];
    *lo = first;
    job->plan.bytes = 0;
    if (in->kind == SLUICE__IN_STREAM) {
        plan_stream(job, u, slot, slot_size);
        if (sluice__job_interrupted(job))
            return 0; /* what was read is dropped with the job */
        job->plan.bytes = u->length;
    } else if (is_big(job, in)) {
        size_t off = 0;
        put_mfile(slot, &off, in, first, 0, in->size);
        memset(u, 0, sizeof *u);
        u->kind = SLUICE__UNIT_FILES;
        u->nfiles = 1;
        u->manifest_len = (uint32_t)off;
        u->offset = job->plan.off;
        u->length = range_end(job, first, in) - job->plan.off;
        job->plan.bytes = u->length;
        u->flags = SLUICE__UF_RANGE;
        if (job->desc->caps & SLUICE_CAP_RECORDS) {
            u->flags |= SLUICE__UF_ALIGN;
            u->align_limit = job->chunk;
        }
        if (job->plan.off == 0)
            u->flags |= SLUICE__UF_BEGIN;
        job->plan.off += u->length;
        if (job->plan.off >= in->size) {
            u->flags |= SLUICE__UF_END;
            job->plan.off = 0;
            job->plan.input++;
        }
    } else {
        /* A batch of whole files (and failed inputs, reported in order). */
        size_t off = 0;
        uint64_t bytes = 0;
        memset(u, 0, sizeof *u);
        u->kind = SLUICE__UNIT_FILES;
        while (u->nfiles < SLUICE_BATCH_FILES) {
            if (sluice__expand_next(job) < 0 || job->plan.input >= job->in.n)
                break;
            sluice__input *f = &job->in.v[job->plan.input];
            if (f->kind == SLUICE__IN_STREAM || is_big(job, f))
                break;
            if (u->nfiles > 0 &&
                (bytes >= job->batch || off + mfile_bytes(f) > slot_size))
                break;
            if (off + mfile_bytes(f) > slot_size)
                return 0; /* cannot happen: paths are < PATH_MAX */
            put_mfile(slot, &off, f, job->plan.input,
                      f->kind == SLUICE__IN_FAILED ? f->pub.err : 0,
                      f->kind == SLUICE__IN_FILE ? f->size : UINT64_MAX);
            if (f->kind == SLUICE__IN_FILE && f->size != UINT64_MAX) {
                bytes += f->size + 512; /* files cost more than bytes */
                job->plan.bytes += f->size;
            }
            u->nfiles++;
            job->plan.input++;
        }
        u->manifest_len = (uint32_t)off;
    }
    u->seq = job->plan.next_seq++;
    *hi = job->plan.input > first ? job->plan.input : first + 1;
    return 1;
}

/* Whether the next unit continues a stream input already begun. */
int sluice__plan_stream_continues(const sluice_job *job)
{
    return job->plan.input < job->in.n &&
           job->in.v[job->plan.input].kind == SLUICE__IN_STREAM &&
           (job->plan.off > 0 || job->plan.fd >= 0);
}

void sluice__plan_free(sluice_job *job)
{
    free(job->plan.carry);
    free(job->plan.lb);
    if (job->plan.hook_fd >= 0 && job->plan.hook_fd != STDIN_FILENO)
        close(job->plan.hook_fd);
    if (job->plan.fd > 0)
        close(job->plan.fd);
}
