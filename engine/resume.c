/*
 * resume.c -- fingerprints, and units taken from a job log.
 *
 * The job's fingerprint (sluice_job_fingerprint) and each planned unit's
 * (sluice__resume_fp) say whether a logged result still belongs to this
 * job and this unit.  sluice_job_resume_unit hands the results in; the
 * planner asks sluice__resume_find for each unit it plans, and a unit
 * found is applied through gather instead of run (docs/engine.md,
 * "Resume").
 */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coord.h"

uint64_t sluice_job_fingerprint(const sluice_job *job)
{
    const sluice_plugin *d = job->desc;
    uint64_t h = sluice__fnv_str(SLUICE_FNV_OFFSET, "sluice job 1");
    h = sluice__fnv_str(h, d->name);
    h = sluice__fnv_str(h, d->version);
    h = sluice__fnv_u64(h, d->abi_major);
    /* The plugin's file: a rebuilt plugin may count differently. */
    struct stat st;
    if (job->plugin->path && stat(job->plugin->path, &st) == 0) {
        h = sluice__fnv_u64(h, (uint64_t)st.st_size);
        h = sluice__fnv_u64(h, (uint64_t)st.st_mtim.tv_sec);
        h = sluice__fnv_u64(h, (uint64_t)st.st_mtim.tv_nsec);
    }
    for (uint32_t i = 0; i < d->n_options; i++) {
        h = sluice__fnv_str(h, d->options[i].key);
        h = sluice__fnv_str(h, job->plugin->values[i]
                                   ? job->plugin->values[i]
                                   : d->options[i].default_value);
    }
    h = sluice__fnv_u64(h, job->chunk);
    h = sluice__fnv_u64(h, job->batch);
    h = sluice__fnv_u64(h, job->block);
    h = sluice__fnv_u64(h, (uint64_t)job->opts.skip_binary);
    /* What decides how bytes are read as text (wc -m, -w). */
    h = sluice__fnv_str(h, setlocale(LC_CTYPE, NULL));
    h = sluice__fnv_u64(h, getenv("POSIXLY_CORRECT") != NULL);
    return h ? h : 1;
}

/* What identifies a planned unit: its kind and range, and each of its
 * inputs' path, inode, size and mtime (and for archive members, the
 * archive's).  0 for what cannot be
 * resumed (a stream: its bytes are gone). */
uint64_t sluice__resume_fp(const sluice_job *job, const sluice__unit *u,
                           uint32_t lo, uint32_t hi)
{
    if (u->kind == SLUICE__UNIT_STREAM)
        return 0;
    uint64_t h = sluice__fnv_u64(SLUICE_FNV_OFFSET, u->kind);
    h = sluice__fnv_u64(
        h, u->flags & (SLUICE__UF_RANGE | SLUICE__UF_BEGIN | SLUICE__UF_END));
    h = sluice__fnv_u64(h, u->flags & SLUICE__UF_RANGE ? u->offset : 0);
    h = sluice__fnv_u64(h, u->flags & SLUICE__UF_RANGE ? u->length : 0);
    h = sluice__fnv_u64(h, hi - lo);
    for (uint32_t i = lo; i < hi && i < job->in.n; i++) {
        const sluice__input *in = &job->in.v[i];
        if (in->kind == SLUICE__IN_STREAM)
            return 0;
        const struct stat *st = &in->pub.st;
        h = sluice__fnv_str(h, in->pub.path);
        h = sluice__fnv_u64(h, (uint64_t)in->kind);
        h = sluice__fnv_u64(h, in->size);
        h = sluice__fnv_u64(h, in->container);
        /* Not st_dev: the nodes of a shared file system number it each
         * their own way (sluice-mpi compares fingerprints across them). */
        if (in->pub.stat_ok) {
            h = sluice__fnv_u64(h, (uint64_t)st->st_ino);
            h = sluice__fnv_u64(h, (uint64_t)st->st_size);
            h = sluice__fnv_u64(h, (uint64_t)st->st_mtim.tv_sec);
            h = sluice__fnv_u64(h, (uint64_t)st->st_mtim.tv_nsec);
        }
    }
    return h ? h : 1;
}

static int resume_add(sluice_job *job, uint64_t seq, uint64_t fingerprint,
                      const void *result, size_t len, int borrow)
{
    if (fingerprint == 0 || len % 8 != 0 || len > UINT32_MAX)
        return SLUICE_EINVAL;
    if (job->res.n == job->res.cap) {
        uint32_t ncap = job->res.cap ? job->res.cap * 2 : 64;
        sluice__resumed *n = realloc(job->res.units, ncap * sizeof *n);
        if (!n)
            return SLUICE_ENOMEM;
        job->res.units = n;
        job->res.cap = ncap;
    }
    unsigned char *data = (unsigned char *)result;
    if (!borrow) {
        data = malloc(len ? len : 1);
        if (!data)
            return SLUICE_ENOMEM;
        memcpy(data, result, len);
    }
    job->res.units[job->res.n] = (sluice__resumed){.seq = seq,
                                                   .fp = fingerprint,
                                                   .data = data,
                                                   .len = len,
                                                   .order = job->res.n,
                                                   .borrowed = borrow};
    job->res.n++;
    job->res.sorted = 0;
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
    const sluice__resumed *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts the logged units by seq; of two for one seq the first is kept. */
void sluice__resume_sort(sluice_job *job)
{
    if (job->res.sorted || job->res.n == 0)
        return;
    qsort(job->res.units, job->res.n, sizeof *job->res.units, cmp_resumed);
    uint32_t k = 0;
    for (uint32_t i = 0; i < job->res.n; i++) {
        if (k > 0 && job->res.units[k - 1].seq == job->res.units[i].seq) {
            if (!job->res.units[i].borrowed)
                free(job->res.units[i].data);
            continue;
        }
        job->res.units[k++] = job->res.units[i];
    }
    job->res.n = k;
    job->res.next = 0;
    job->res.sorted = 1;
}

/* The logged result of unit u (just planned, inputs [lo, hi)), or NULL
 * when it must run.  A logged unit that is no longer the same fails the
 * job (SLUICE_ERESUME). */
const sluice__resumed *sluice__resume_find(sluice_job *job,
                                           const sluice__unit *u, uint32_t lo,
                                           uint32_t hi, uint64_t fp)
{
    while (job->res.next < job->res.n &&
           job->res.units[job->res.next].seq < u->seq)
        job->res.next++;
    if (job->res.next >= job->res.n ||
        job->res.units[job->res.next].seq != u->seq)
        return NULL;
    const sluice__resumed *r = &job->res.units[job->res.next];
    if (r->fp != fp) {
        const char *path = lo < job->in.n ? job->in.v[lo].pub.path : "?";
        sluice__job_fail(
            job, SLUICE_ERESUME,
            "%s: unit %llu is not the unit that was done before (%s)", path,
            (unsigned long long)u->seq,
            fp == 0 ? "it is a stream now"
                    : "the input changed, or the inputs before it did");
        return NULL;
    }
    return r;
}

/* Applies a logged result: its inputs are rebased on the unit's first. */
int sluice__resume_apply(sluice_job *job, const unsigned char *data, size_t len,
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

void sluice__resume_free(sluice_job *job)
{
    for (uint32_t i = 0; i < job->res.n; i++)
        if (!job->res.units[i].borrowed)
            free(job->res.units[i].data);
    free(job->res.units);
}
