/*
 * gather.c -- turning workers' records into results, in input order.
 *
 * The coordinator applies the records of unit `seq` only when every unit
 * before it is done, so results and ordered output come out in input order
 * whatever order workers finish in (reorder.c holds early completions in a
 * bounded reorder window).  For each input, partials are merged in order
 * with the plugin's merge; the input's result is delivered when its END
 * record arrives.  The first error of an input wins; partials from units
 * after the failing one are ignored, so the result is "what was read before
 * the error", as wc reports it.
 *
 * Records come from another process and are checked: type, bounds, sizes,
 * and that inputs only move forward within the unit's range.  A violation
 * is SLUICE_ECORRUPT and the caller treats the worker as crashed.
 *
 * Exactly once: when a worker dies while its unit is the current one, some
 * of the unit's records may already have been applied.  The unit is rerun
 * from the start elsewhere; gather skips as many records (and as many DATA
 * bytes) as were applied before, which is exact because plugins are
 * deterministic (the same input gives the same records).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int sluice__gather_init(sluice__gather *g, const sluice_plugin *plugin,
                        sluice_ctx *ctx, const sluice_callbacks *cb,
                        const sluice__input *inputs, uint32_t ninputs)
{
    memset(g, 0, sizeof *g);
    g->plugin = plugin;
    g->ctx = ctx;
    g->cb = cb;
    g->inputs = inputs;
    g->ninputs = ninputs;
    g->acc = calloc(1, plugin->partial_size ? plugin->partial_size : 1);
    g->err_seq = UINT64_MAX;
    return g->acc ? 0 : SLUICE_ENOMEM;
}

void sluice__gather_free(sluice__gather *g)
{
    free(g->acc);
    g->acc = NULL;
    free(g->cap);
    g->cap = NULL;
}

void sluice__gather_begin_unit(sluice__gather *g, uint64_t seq)
{
    if (seq != g->unit_seq) {
        g->unit_seq = seq;
        g->skip_records = 0;
        g->skip_bytes = 0;
        g->cap_len = 0;
        g->cap_bad = 0;
        g->cap_err = 0;
    }
    g->unit_records = 0;
    g->unit_bytes = 0;
}

void sluice__gather_unit_lost(sluice__gather *g)
{
    /* Whatever was applied of this unit stays applied; its rerun must skip
     * it.  Skips accumulate if the rerun dies too. */
    if (g->unit_records > g->skip_records)
        g->skip_records = g->unit_records;
    if (g->unit_bytes > g->skip_bytes)
        g->skip_bytes = g->unit_bytes;
    g->unit_records = 0;
    g->unit_bytes = 0;
}

static void deliver(sluice__gather *g)
{
    uint32_t i = g->cur_input;
    if (g->cb && g->cb->on_input)
        g->cb->on_input(g->cb->user, i, &g->inputs[i].pub,
                        g->acc_used ? g->acc : NULL, g->err,
                        g->err ? g->err_off : UINT64_MAX,
                        g->msg[0] ? g->msg : NULL);
    if (g->err)
        g->failed++;
    g->cur_input++;
    g->acc_used = false;
    g->err = 0;
    g->err_seq = UINT64_MAX;
    g->err_off = 0;
    g->msg[0] = '\0';
}

void sluice__gather_poison(sluice__gather *g, uint32_t lo, uint32_t hi,
                           int range, int ends, const char *msg)
{
    if (g->collect)
        return; /* not collected: the process that gathers runs it */
    for (uint32_t i = lo; i < hi && i < g->ninputs; i++) {
        if (i < g->cur_input)
            continue; /* reported before its worker died */
        if (!g->err) {
            g->err = SLUICE_EWORKER;
            g->err_seq = g->unit_seq;
            g->err_off = UINT64_MAX;
            snprintf(g->msg, sizeof g->msg, "%s", msg);
        }
        if (range && !ends)
            return; /* later units of the input: ignored, then END */
        deliver(g);
    }
}

/* Keeps an applied record of the current unit for the job log, its input
 * counted from the unit's first (`lo`), so the log does not depend on how
 * many inputs came before the unit. */
static void capture(sluice__gather *g, const sluice__rec *rec,
                    const unsigned char *payload, uint32_t lo)
{
    if (rec->type == SLUICE__REC_ERROR)
        g->cap_err = 1;
    if (g->cap_bad)
        return;
    size_t pad = sluice__pad8(rec->len);
    size_t need = g->cap_len + sizeof *rec + pad;
    if (need > g->cap_size) {
        size_t ncap = g->cap_size ? g->cap_size * 2 : 256;
        while (ncap < need)
            ncap *= 2;
        unsigned char *n = realloc(g->cap, ncap);
        if (!n) {
            g->cap_bad = 1;
            return;
        }
        g->cap = n;
        g->cap_size = ncap;
    }
    sluice__rec r = *rec;
    r.input -= lo;
    memcpy(g->cap + g->cap_len, &r, sizeof r);
    memcpy(g->cap + g->cap_len + sizeof r, payload, rec->len);
    memset(g->cap + g->cap_len + sizeof *rec + rec->len, 0, pad - rec->len);
    g->cap_len = need;
}

static int apply_one(sluice__gather *g, const sluice__rec *rec,
                     const unsigned char *payload, uint32_t lo, uint32_t hi)
{
    if (rec->type == SLUICE__REC_DATA) {
        if (rec->len == 0)
            return 0;
        size_t skip = 0;
        if (g->unit_bytes < g->skip_bytes) {
            uint64_t left = g->skip_bytes - g->unit_bytes;
            skip = left < rec->len ? (size_t)left : rec->len;
        }
        g->unit_bytes += rec->len;
        if (skip == rec->len)
            return 0;
        if (g->collect) {
            /* Kept for the process that delivers (ordered output). */
            if (rec->input < lo || rec->input >= hi)
                return SLUICE_ECORRUPT;
            sluice__rec part = *rec;
            part.len = rec->len - (uint32_t)skip;
            capture(g, &part, payload + skip, lo);
            return 0;
        }
        if (rec->input == g->cur_input && g->err && g->err_seq != g->unit_seq)
            return 0; /* after an error: its input's later output is not */
        if (g->cb && g->cb->on_output) {
            int rc = g->cb->on_output(g->cb->user, rec->input, payload + skip,
                                      rec->len - skip);
            if (rc < 0) {
                g->fatal = SLUICE_EOUTPUT;
                return SLUICE_EOUTPUT;
            }
        }
        return 0;
    }
    /* Every other record names an input of this unit, never going back. */
    if (rec->input < lo || rec->input >= hi || rec->input >= g->ninputs)
        return SLUICE_ECORRUPT;
    g->unit_records++;
    if (g->unit_records <= g->skip_records)
        return 0; /* applied before this unit's worker died */
    if (g->collect) {
        if (rec->type != SLUICE__REC_PARTIAL &&
            rec->type != SLUICE__REC_ERROR && rec->type != SLUICE__REC_END)
            return SLUICE_ECORRUPT;
        if (rec->type == SLUICE__REC_PARTIAL &&
            rec->len != g->plugin->partial_size)
            return SLUICE_ECORRUPT;
        capture(g, rec, payload, lo);
        return 0;
    }
    if (rec->input != g->cur_input)
        return SLUICE_ECORRUPT;
    if (g->capture)
        capture(g, rec, payload, lo);
    switch (rec->type) {
    case SLUICE__REC_PARTIAL:
        if (rec->len != g->plugin->partial_size ||
            !(g->plugin->caps & SLUICE_CAP_MERGE))
            return SLUICE_ECORRUPT;
        if (g->err && g->err_seq != g->unit_seq)
            return 0; /* after an error: ignore later pieces */
        if (!g->acc_used) {
            memcpy(g->acc, payload, rec->len);
            g->acc_used = true;
        } else {
            g->plugin->merge(g->ctx, g->acc, payload);
        }
        return 0;
    case SLUICE__REC_ERROR:
        if (!g->err) {
            /* errno, SLUICE_ESKIPPED, or -1: see the message */
            g->err = rec->errnum != 0 ? rec->errnum : -1;
            g->err_seq = g->unit_seq;
            g->err_off = rec->offset;
            size_t n =
                rec->len < SLUICE_MSG_MAX - 1 ? rec->len : SLUICE_MSG_MAX - 1;
            memcpy(g->msg, payload, n);
            g->msg[n] = '\0';
        }
        return 0;
    case SLUICE__REC_END:
        deliver(g);
        return 0;
    default:
        return SLUICE_ECORRUPT;
    }
}

int sluice__gather_apply(sluice__gather *g, const unsigned char *arena,
                         size_t arena_size, uint64_t pos, uint64_t len,
                         uint32_t lo, uint32_t hi)
{
    uint64_t end = pos + len;
    if (len > arena_size)
        return SLUICE_ECORRUPT;
    while (pos < end) {
        size_t phys = (size_t)(pos % arena_size);
        size_t contig = arena_size - phys;
        if (contig < sizeof(sluice__rec)) {
            pos += contig; /* implicit padding at the arena's end */
            continue;
        }
        sluice__rec rec;
        memcpy(&rec, arena + phys, sizeof rec);
        size_t total = sizeof rec + sluice__pad8(rec.len);
        if (rec.len > contig - sizeof rec || total > end - pos)
            return SLUICE_ECORRUPT;
        if (rec.type == SLUICE__REC_PAD) {
            if (total != contig)
                return SLUICE_ECORRUPT;
        } else {
            int rc = apply_one(g, &rec, arena + phys + sizeof rec, lo, hi);
            if (rc < 0)
                return rc;
        }
        pos += total;
    }
    return pos == end ? 0 : SLUICE_ECORRUPT;
}
