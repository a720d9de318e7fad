/* harness.c -- jobs run and recorded for the test programs (see harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Aborts: the recorder has no way to fail a test from a callback. */
static void out_of_memory(void)
{
    fprintf(stderr, "harness: out of memory\n");
    abort();
}

void th_record_reserve(th_record *r, uint32_t ninputs)
{
    if (ninputs <= r->cap)
        return;
    uint32_t cap = r->cap ? r->cap : 16;
    while (cap < ninputs)
        cap *= 2;
    th_input *in = realloc(r->in, cap * sizeof *in);
    if (!in)
        out_of_memory();
    memset(in + r->cap, 0, (cap - r->cap) * sizeof *in);
    r->in = in;
    uint32_t *order = realloc(r->order, cap * sizeof *order);
    if (!order)
        out_of_memory();
    r->order = order;
    r->cap = cap;
}

void th_record_reset(th_record *r)
{
    for (uint32_t i = 0; i < r->cap; i++) {
        free(r->in[i].path);
        memset(&r->in[i], 0, sizeof r->in[i]);
    }
    r->ninputs = 0;
    r->n = 0;
    r->repeated = 0;
    r->out_len = 0;
    r->out_calls = 0;
    r->out_last = 0;
    r->out_backwards = 0;
    r->npoison = 0;
    memset(&r->poison, 0, sizeof r->poison);
    r->poison_msg[0] = r->poison_path[0] = r->poison_plugin[0] = '\0';
    r->ran = 0;
    r->rc = 0;
    r->err[0] = '\0';
}

void th_record_free(th_record *r)
{
    th_record_reset(r);
    free(r->in);
    free(r->order);
    free(r->out);
    memset(r, 0, sizeof *r);
}

const th_input *th_nth(const th_record *r, uint32_t k)
{
    assert_true(k < r->n);
    return &r->in[r->order[k]];
}

static void on_input(void *user, uint32_t i, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *msg)
{
    th_record *r = user;
    if (i >= r->cap || r->n >= r->cap)
        th_record_reserve(r, (i > r->n ? i : r->n) + 1);
    th_input *t = &r->in[i];
    r->order[r->n++] = i;
    if (i >= r->ninputs)
        r->ninputs = i + 1;
    if (t->reported++)
        r->repeated++;
    t->errnum = errnum;
    t->offset = offset;
    t->has_msg = msg != NULL;
    snprintf(t->msg, sizeof t->msg, "%s", msg ? msg : "");
    t->stat_ok = in->stat_ok;
    t->st = in->st;
    if (r->paths) {
        free(t->path);
        t->path = strdup(in->path);
        if (!t->path)
            out_of_memory();
    }
    t->has_partial = partial != NULL;
    if (!partial)
        return;
    size_t size = r->desc ? r->desc->partial_size : 0;
    memcpy(t->partial, partial, size < TH_PARTIAL ? size : TH_PARTIAL);
    if (r->desc && r->desc->counters) {
        if (r->desc->n_counters > TH_NC) {
            fprintf(stderr, "harness: %u counters, room for %d\n",
                    r->desc->n_counters, TH_NC);
            abort();
        }
        th_counters(r->desc, partial, t->c);
    }
}

void th_counters(const sluice_plugin *desc, const void *partial,
                 uint64_t *out)
{
    /* As the host calls it: with a context (the coordinator's has no
     * worker), never NULL. */
    sluice_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.worker = -1;
    desc->counters(&ctx, partial, out);
}

static int on_output(void *user, uint32_t input, const void *data, size_t len)
{
    th_record *r = user;
    r->out_calls++;
    if (r->fail_output)
        return r->fail_output;
    if (input < r->out_last)
        r->out_backwards++;
    r->out_last = input;
    if (input >= r->cap)
        th_record_reserve(r, input + 1);
    r->in[input].out_len += len;
    if (r->out_len + len + 1 > r->out_cap) {
        size_t cap = r->out_cap ? r->out_cap : 4096;
        while (cap < r->out_len + len + 1)
            cap *= 2;
        char *p = realloc(r->out, cap);
        if (!p)
            out_of_memory();
        r->out = p;
        r->out_cap = cap;
    }
    memcpy(r->out + r->out_len, data, len);
    r->out_len += len;
    r->out[r->out_len] = '\0'; /* text output reads as a string */
    return 0;
}

static void on_poison(void *user, const sluice_poison *p)
{
    th_record *r = user;
    r->npoison++;
    r->poison = *p;
    snprintf(r->poison_msg, sizeof r->poison_msg, "%s",
             p->message ? p->message : "");
    snprintf(r->poison_path, sizeof r->poison_path, "%s",
             p->path ? p->path : "");
    snprintf(r->poison_plugin, sizeof r->poison_plugin, "%s",
             p->plugin ? p->plugin : "");
    r->poison.message = r->poison_msg;
    r->poison.path = r->poison_path;
    r->poison.plugin = r->poison_plugin;
}

static void on_progress(void *user, const sluice_progress *p)
{
    th_record *r = user;
    r->progress(r, p);
}

sluice_callbacks th_callbacks(th_record *r)
{
    return (sluice_callbacks){.user = r,
                              .on_input = on_input,
                              .on_output = on_output,
                              .on_progress = r->progress ? on_progress : NULL,
                              .on_poison = on_poison};
}

/* A failed set-up step: the test fails, or its status is returned. */
static int setup_failed(const th_job *j, th_record *r, int rc, const char *step)
{
    if (!j->no_fail)
        fail_msg("%s: %s (%s)", step, r->err, sluice_err_name(rc));
    r->rc = rc;
    return rc;
}

int th_run(const th_job *j, th_record *r)
{
    th_record_reset(r);
    r->desc = NULL;
    sluice_plugin_handle *h;
    int rc = sluice_plugin_open(j->plugin, NULL, &h, r->err, sizeof r->err);
    if (rc < 0)
        return setup_failed(j, r, rc, j->plugin);
    for (const char *const *kv = j->options; kv && kv[0]; kv += 2) {
        rc = sluice_plugin_set_option(h, kv[0], kv[1], r->err, sizeof r->err);
        if (rc < 0) {
            sluice_plugin_close(h);
            return setup_failed(j, r, rc, kv[0]);
        }
    }
    r->desc = sluice_plugin_get(h);
    sluice_callbacks cb = th_callbacks(r);
    sluice_job *job;
    rc = sluice_job_new(h, &j->opts, &cb, &job, r->err, sizeof r->err);
    if (rc < 0) {
        sluice_plugin_close(h);
        return setup_failed(j, r, rc, "job");
    }
    for (int i = 0; i < j->npaths; i++) {
        rc = sluice_job_add(job, j->paths[i], j->add_flags);
        if (rc < 0) {
            snprintf(r->err, sizeof r->err, "add: %s", sluice_strerror(rc));
            sluice_job_free(job);
            sluice_plugin_close(h);
            return setup_failed(j, r, rc, j->paths[i]);
        }
    }
    r->ran = 1;
    rc = sluice_job_run(job, r->err, sizeof r->err);
    r->rc = rc;
    sluice_job_free(job);
    r->desc = NULL; /* the plugin goes with its handle */
    sluice_plugin_close(h);
    if (!j->no_fail && r->repeated)
        fail_msg("%d inputs were reported more than once", r->repeated);
    if (!j->no_fail && r->out_backwards)
        fail_msg("output went back to an earlier input %d times",
                 r->out_backwards);
    return rc;
}
