/*
 * inputs.c -- the input table, and expanding operands into it.
 *
 * sluice_job_add stats an operand and appends one input: a regular file
 * (read by workers), a stream (read by the coordinator), a failed input,
 * or an EXPAND input standing for a directory to walk (walk.c) or an
 * archive to open (archive.c).  Nothing is walked or opened then: when
 * planning reaches an EXPAND input, sluice__expand_next inserts its next
 * inputs just before it, so the order is that of a walk done beforehand
 * and nothing in flight is renumbered (docs/engine.md, "Expanding inputs
 * as the job runs").  Small archive members are read whole here and
 * travel in the manifest; big ones are streamed later by plan.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord.h"

/* ------------------------------------------------------------- inputs */

/* Makes room for one input at `at`: returns it zeroed, or NULL. */
static sluice__input *insert_input(sluice_job *job, uint32_t at)
{
    if (job->in.n == job->in.cap) {
        uint32_t ncap = job->in.cap ? job->in.cap * 2 : 64;
        sluice__input *p = realloc(job->in.v, ncap * sizeof *p);
        if (!p)
            return NULL;
        job->in.v = p;
        job->in.cap = ncap;
    }
    if (job->in.n == UINT32_MAX - 1)
        return NULL;
    memmove(&job->in.v[at + 1], &job->in.v[at],
            (job->in.n - at) * sizeof *job->in.v);
    sluice__input *in = &job->in.v[at];
    memset(in, 0, sizeof *in);
    job->in.n++;
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
    uint32_t at = job->exp.active ? job->exp.ins : job->in.n;
    sluice__input *in = insert_input(job, at);
    if (!in) {
        free(copy);
        return NULL;
    }
    if (job->exp.active)
        job->exp.ins++;
    in->pub.path = copy;
    in->pub.operand = job->exp.active ? job->exp.operand : job->in.noperands;
    in->container = job->exp.active ? job->exp.container : 0;
    return in;
}

/* A directory to walk or an archive to open, later (sluice__expand_next). */
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
    job->exp.left++;
    return 0;
}

int sluice__job_push_input(sluice_job *job, const char *path,
                           const struct stat *st, int err)
{
    /* An archive met in a walk is opened like an archive operand. */
    if (job->exp.active && !err && st && S_ISREG(st->st_mode) &&
        (job->exp.flags & SLUICE_ADD_ARCHIVES) && !job->exp.arc &&
        sluice__arc_is_archive(path))
        return push_expand(job, path, st, job->exp.flags, 1);
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
        sluice__input *in = &job->in.v[job->in.n - 1];
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
    char **np = realloc(job->in.op_path, (job->in.noperands + 1) * sizeof *np);
    if (np)
        job->in.op_path = np;
    unsigned *nf =
        realloc(job->in.op_flags, (job->in.noperands + 1) * sizeof *nf);
    if (nf)
        job->in.op_flags = nf;
    char *copy = np && nf ? strdup(operand) : NULL;
    if (!copy)
        return SLUICE_ENOMEM;
    job->in.op_path[job->in.noperands] = copy;
    job->in.op_flags[job->in.noperands] = flags;
    int rc = job_add(job, operand, flags);
    job->in.noperands++;
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
    job->exp.lim = d;
}

uint32_t sluice_job_operands(const sluice_job *job)
{
    return job->in.noperands;
}

int sluice_job_inputs_final(const sluice_job *job)
{
    return job->exp.left == 0;
}

void sluice_job_walk_opts(sluice_job *job, const sluice_walk_opts *opts)
{
    job->exp.walk = *opts;
}

uint32_t sluice_job_inputs(const sluice_job *job)
{
    return job->in.n;
}

const sluice_input *sluice_job_input(const sluice_job *job, uint32_t i)
{
    return i < job->in.n ? &job->in.v[i].pub : NULL;
}

void sluice__inputs_free(sluice_job *job)
{
    /* Nested archives first: they read from their parents. */
    for (uint32_t i = 0; i < job->in.n; i++) {
        sluice__input *in = &job->in.v[i];
        if (in->kind == SLUICE__IN_EXPAND) {
            sluice__walk_free(in->walk);
            sluice__arc_free(in->arc);
        }
        free(in->data);
        free(in->msg);
        free((char *)in->pub.path);
    }
    free(job->in.v);
    for (uint32_t i = 0; i < job->in.noperands; i++)
        free(job->in.op_path[i]);
    free(job->in.op_path);
    free(job->in.op_flags);
}

/* ----------------------------------------------------------- expansion */

/* Adds a new input to the progress totals. */
void sluice__inputs_count(sluice_job *job, const sluice__input *in)
{
    if (in->kind == SLUICE__IN_EXPAND)
        return;
    job->prog.pub.inputs_total++;
    if (in->kind == SLUICE__IN_FILE && in->size != UINT64_MAX)
        job->prog.pub.bytes_total += in->size;
    else if (in->kind == SLUICE__IN_STREAM)
        job->prog.pub.streams++;
}

/* Archive members small enough are read whole when their archive is
 * expanded and travel in the manifest; bigger ones are streamed. */
#define INLINE_MAX (256 * SLUICE_KiB)

static void sync_gather(sluice_job *job)
{
    job->g.inputs = job->in.v;
    job->g.ninputs = job->in.n;
}

/* Drops the EXPAND input at `at`: it has given all it holds. */
static void drop_expand(sluice_job *job, uint32_t at)
{
    sluice__input *in = &job->in.v[at];
    sluice__walk_free(in->walk);
    sluice__arc_free(in->arc);
    free((char *)in->pub.path);
    memmove(in, in + 1, (job->in.n - at - 1) * sizeof *in);
    job->in.n--;
    job->exp.left--;
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

/* The walk filters (--include, --exclude) for archive member `name`:
 * 1 to leave it out.  An excluded directory excludes what is under it. */
static int member_filtered(const sluice_job *job, const char *name)
{
    const sluice_walk_opts *o = &job->exp.walk;
    if (o->exclude && o->exclude[0]) {
        char *p = strdup(name);
        if (!p)
            return 0;
        for (char *slash = p; (slash = strchr(slash, '/')) != NULL; slash++) {
            *slash = '\0';
            int hit = sluice__glob_hit(o->exclude, p);
            *slash = '/';
            if (hit) {
                free(p);
                return 1;
            }
        }
        free(p);
        if (sluice__glob_hit(o->exclude, name))
            return 1;
    }
    return o->include && o->include[0] && !sluice__glob_hit(o->include, name);
}

/* The next members of the archive being expanded (at job->exp.ins): small ones
 * read whole, up to a batch; a big one, streamed later by plan.c; or a
 * nested archive, expanded before this one goes on. */
static int expand_archive(sluice_job *job)
{
    sluice__input *ph = &job->in.v[job->exp.ins];
    if (!ph->arc) {
        int rc =
            sluice__arc_open(&ph->arc, ph->pub.path, ph->parent, &job->exp.lim);
        if (rc == SLUICE_ENOMEM)
            return rc;
        if (rc < 0) {
            uint64_t off;
            const char *m = sluice__arc_error(ph->arc, &off);
            char *path = strdup(ph->pub.path);
            rc = path ? push_failed(job, path, m, off) : SLUICE_ENOMEM;
            free(path);
            if (rc == 0)
                drop_expand(job, job->exp.ins);
            return rc;
        }
    }
    job->exp.arc = ph->arc;
    size_t bytes = 0;
    for (uint32_t n = 0; n < SLUICE_BATCH_FILES && bytes < job->batch; n++) {
        ph = &job->in.v[job->exp.ins];
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
            drop_expand(job, job->exp.ins);
            return 0;
        }
        if (member_filtered(job, name))
            continue;
        char *path = member_path(ph->pub.path, name);
        if (!path)
            return SLUICE_ENOMEM;
        int rc = 0;
        if ((ph->add_flags & SLUICE_ADD_NESTED) &&
            ph->depth < job->exp.lim.max_depth &&
            sluice__arc_is_archive(name)) {
            rc = push_expand(job, path, &st, ph->add_flags, ph->depth + 1);
            if (rc == 0)
                job->in.v[job->exp.ins - 1].parent = a;
            free(path);
            return rc;
        }
        if (st.st_size < 0 || (uint64_t)st.st_size > INLINE_MAX) {
            /* plan.c streams it; this archive waits until then. */
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
        ssize_t got =
            data ? sluice__arc_read_full(a, data, want + 1) : SLUICE_ENOMEM;
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
                drop_expand(job, job->exp.ins); /* nothing after is readable */
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

/* The next inputs of the directory being walked (at job->exp.ins). */
static int expand_dir(sluice_job *job)
{
    sluice__input *ph = &job->in.v[job->exp.ins];
    if (!ph->walk) {
        int rc = sluice__walk_open(ph->pub.path, ph->add_flags, &job->exp.walk,
                                   &ph->walk);
        if (rc < 0)
            return rc;
    }
    /* Half a batch of entries at a time, or the rest of the walk; the
     * walk is dropped when it has nothing left. */
    sluice__walk *wk = ph->walk;
    for (uint32_t n = 0; n < SLUICE_BATCH_FILES / 2; n++) {
        sluice__walk_entry e;
        int rc = sluice__walk_next(wk, &e);
        if (rc == 0 && n == 0)
            drop_expand(job, job->exp.ins);
        if (rc <= 0)
            return rc;
        rc = sluice__job_push_input(job, e.path, e.stat_ok ? &e.st : NULL,
                                    e.err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Replaces the EXPAND inputs at the planning position by what they hold,
 * a batch at a time, until a real input is there or none is left.  New
 * inputs are inserted before the EXPAND input, which moves down; nothing
 * at or after the planning position has been handed out yet. */
int sluice__expand_next(sluice_job *job)
{
    while (job->plan.input < job->in.n &&
           job->in.v[job->plan.input].kind == SLUICE__IN_EXPAND &&
           !job->fatal) {
        sluice__input *ph = &job->in.v[job->plan.input];
        job->exp.active = 1;
        job->exp.ins = job->plan.input;
        job->exp.operand = ph->pub.operand;
        job->exp.flags = ph->add_flags;
        job->exp.arc = NULL;
        job->exp.container = ph->container;
        if (!S_ISDIR(ph->pub.st.st_mode)) {
            /* What is read from an archive is as old as the archive. */
            uint64_t h = sluice__fnv_u64(SLUICE_FNV_OFFSET, ph->container);
            h = sluice__fnv_u64(h, (uint64_t)ph->pub.st.st_ino);
            h = sluice__fnv_u64(h, (uint64_t)ph->pub.st.st_size);
            h = sluice__fnv_u64(h, (uint64_t)ph->pub.st.st_mtim.tv_sec);
            job->exp.container =
                sluice__fnv_u64(h, (uint64_t)ph->pub.st.st_mtim.tv_nsec);
        }
        int rc =
            S_ISDIR(ph->pub.st.st_mode) ? expand_dir(job) : expand_archive(job);
        job->exp.active = 0;
        sync_gather(job);
        /* New inputs count toward the progress totals. */
        for (uint32_t i = job->plan.input; i < job->exp.ins; i++)
            sluice__inputs_count(job, &job->in.v[i]);
        if (rc < 0) {
            sluice__job_fail(job, rc, "%s", sluice_strerror(rc));
            return rc;
        }
    }
    return 0;
}
