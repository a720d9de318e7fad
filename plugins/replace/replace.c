/*
 * replace.c -- the `replace` plugin: every occurrence of FROM in each line
 * replaced by TO, output in input order.
 *
 * Options: `from`, `to`, `regex` (false: FROM and TO are literal bytes;
 * true: FROM is a POSIX extended regular expression matched per line, as
 * sed -E matches it, and TO may hold \1..\9 and & for the groups and the
 * whole match, \& \\ and \n for those characters).
 *
 * Units end on line boundaries (SLUICE_CAP_RECORDS) and a unit comes in
 * one block (SLUICE_CAP_WHOLE_UNIT), so a match, which never holds a
 * newline, never crosses a block (a line longer than a unit, 4 MiB by
 * default, is the exception: it may be cut, and a match across the cut is
 * missed).  The output of a unit may be any size: it goes out through the
 * host a reserved area at a time.
 *
 * Regex mode follows GNU sed's s///g: matches are found left to right, an
 * empty match right after the previous match is skipped, and `^` matches
 * only at the start of a line.
 */
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sluice/plugin.h"

#define OUT_MIN (64 * 1024) /* bytes asked for per reserve */
#define MAX_SEGS 256        /* pieces of a TO template */

/* A piece of TO: literal bytes, or a group of the match (regex mode). */
typedef struct seg {
    int group; /* -1: literal [off, off+len) of the template; else 0-9 */
    size_t off, len;
} seg;

typedef struct state {
    sluice_ctx *ctx;
    unsigned char *out; /* reserved area */
    size_t len, cap;    /* bytes in it, its size */
    bool regex;
    regex_t re;
    bool re_ok;
    const char *from, *to;
    size_t from_len;
    uint64_t max_line; /* 0: lines of any length */
    char tmpl[4096];   /* TO with escapes resolved (regex mode) */
    seg segs[MAX_SEGS];
    int nsegs;
} state;

static int flush(state *s)
{
    if (s->out) {
        sluice_commit(s->ctx, s->len);
        s->out = NULL;
    }
    s->len = s->cap = 0;
    return 0;
}

static int put(state *s, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) {
        if (s->len == s->cap) {
            flush(s);
            size_t avail;
            s->out = sluice_reserve(s->ctx, OUT_MIN, &avail);
            if (!s->out)
                return -1;
            s->cap = avail;
        }
        size_t k = s->cap - s->len < n ? s->cap - s->len : n;
        memcpy(s->out + s->len, p, k);
        s->len += k;
        p += k;
        n -= k;
    }
    return 0;
}

/* Parses TO for regex mode into segments. */
static int parse_template(sluice_ctx *ctx, state *s)
{
    const char *t = s->to;
    size_t o = 0;
    s->nsegs = 0;
    while (*t) {
        int group = -1;
        char lit = 0;
        if (*t == '&') {
            group = 0;
            t++;
        } else if (*t == '\\' && t[1] >= '0' && t[1] <= '9') {
            group = t[1] - '0';
            t += 2;
        } else if (*t == '\\' && t[1] == 'n') {
            lit = '\n';
            t += 2;
        } else if (*t == '\\' && t[1]) {
            lit = t[1];
            t += 2;
        } else {
            lit = *t++;
        }
        if (group >= 0) {
            if ((size_t)group > s->re.re_nsub) {
                ctx->api->error(ctx, 0, UINT64_MAX,
                                "invalid reference \\%d on the replacement: "
                                "the pattern has %zu groups",
                                group, s->re.re_nsub);
                return -1;
            }
            if (s->nsegs == MAX_SEGS)
                goto too_long;
            s->segs[s->nsegs++] = (seg){.group = group};
            continue;
        }
        if (o == sizeof s->tmpl)
            goto too_long;
        s->tmpl[o] = lit;
        if (s->nsegs > 0 && s->segs[s->nsegs - 1].group < 0 &&
            s->segs[s->nsegs - 1].off + s->segs[s->nsegs - 1].len == o) {
            s->segs[s->nsegs - 1].len++;
        } else {
            if (s->nsegs == MAX_SEGS)
                goto too_long;
            s->segs[s->nsegs++] = (seg){.group = -1, .off = o, .len = 1};
        }
        o++;
    }
    return 0;
too_long:
    ctx->api->error(ctx, 0, UINT64_MAX, "replacement too long");
    return -1;
}

static int w_init(sluice_ctx *ctx);
static void w_fini(sluice_ctx *ctx);

/* The coordinator checks FROM and TO before any worker starts: a bad
 * pattern is the user's error, not a worker's failure. */
static int g_init(sluice_ctx *ctx)
{
    state s;
    memset(&s, 0, sizeof s);
    void *saved = ctx->state;
    ctx->state = &s;
    int rc = w_init(ctx);
    w_fini(ctx);
    ctx->state = saved;
    return rc;
}

static int w_init(sluice_ctx *ctx)
{
    state *s = ctx->state;
    s->ctx = ctx;
    s->from = ctx->api->option(ctx, "from");
    s->to = ctx->api->option(ctx, "to");
    s->regex = ctx->api->option_int(ctx, "regex") != 0;
    s->from_len = strlen(s->from);
    s->max_line = (uint64_t)ctx->api->option_int(ctx, "max_line");
    if (!s->regex) {
        if (s->from_len == 0 || memchr(s->from, '\n', s->from_len)) {
            ctx->api->error(ctx, 0, UINT64_MAX,
                            "the text to replace must be one non-empty line");
            return -1;
        }
        return 0;
    }
    int rc = regcomp(&s->re, s->from, REG_EXTENDED | REG_NEWLINE);
    if (rc != 0) {
        char why[256];
        regerror(rc, &s->re, why, sizeof why);
        ctx->api->error(ctx, 0, UINT64_MAX, "%s", why);
        return -1;
    }
    s->re_ok = true;
    return parse_template(ctx, s);
}

static void w_fini(sluice_ctx *ctx)
{
    state *s = ctx->state;
    if (s->re_ok)
        regfree(&s->re);
}

/* Literal mode: memmem over the whole unit (FROM has no newline). */
static int map_literal(state *s, const unsigned char *p, size_t n)
{
    size_t tl = strlen(s->to);
    const unsigned char *end = p + n;
    while (p < end) {
        const unsigned char *hit =
            memmem(p, (size_t)(end - p), s->from, s->from_len);
        if (!hit)
            return put(s, p, (size_t)(end - p));
        if (put(s, p, (size_t)(hit - p)) < 0 || put(s, s->to, tl) < 0)
            return -1;
        p = hit + s->from_len;
    }
    return 0;
}

static int put_replacement(state *s, const char *line, const regmatch_t *m)
{
    for (int i = 0; i < s->nsegs; i++) {
        const seg *g = &s->segs[i];
        int rc;
        if (g->group < 0)
            rc = put(s, s->tmpl + g->off, g->len);
        else if (m[g->group].rm_so >= 0)
            rc = put(s, line + m[g->group].rm_so,
                     (size_t)(m[g->group].rm_eo - m[g->group].rm_so));
        else
            rc = 0; /* a group that took no part: empty, as in sed */
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The next match in line[pos, len): 0 with its groups in m, or 1.  The
 * match is found without groups (glibc's fast path), then matched again
 * with groups over just its own bytes. */
static int next_match(state *s, const char *line, size_t pos, size_t len,
                      regmatch_t *m)
{
    regmatch_t whole;
    whole.rm_so = (regoff_t)pos;
    whole.rm_eo = (regoff_t)len;
    int flags = REG_STARTEND | (pos > 0 ? REG_NOTBOL : 0);
    if (regexec(&s->re, line, 1, &whole, flags) != 0)
        return 1;
    if (s->re.re_nsub == 0) {
        m[0] = whole;
        return 0;
    }
    m[0] = whole;
    flags = REG_STARTEND | (whole.rm_so > 0 ? REG_NOTBOL : 0) |
            ((size_t)whole.rm_eo < len ? REG_NOTEOL : 0);
    if (regexec(&s->re, line, 10, m, flags) != 0 || m[0].rm_so != whole.rm_so ||
        m[0].rm_eo != whole.rm_eo) {
        /* Cannot happen for a POSIX match; be exact anyway. */
        m[0].rm_so = (regoff_t)pos;
        m[0].rm_eo = (regoff_t)len;
        flags = REG_STARTEND | (pos > 0 ? REG_NOTBOL : 0);
        if (regexec(&s->re, line, 10, m, flags) != 0)
            return 1;
    }
    return 0;
}

/* Regex mode: one line (without its newline) at a time, as sed does. */
static int map_line(state *s, const char *line, size_t len)
{
    regmatch_t m[10];
    size_t pos = 0;
    size_t prev_end = (size_t)-1;
    while (pos <= len) {
        if (next_match(s, line, pos, len, m) != 0)
            break;
        size_t ms = (size_t)m[0].rm_so, me = (size_t)m[0].rm_eo;
        if (ms == me && ms == prev_end) {
            /* An empty match just after a match: not a new one. */
            if (ms >= len)
                break;
            if (put(s, line + pos, ms + 1 - pos) < 0)
                return -1;
            pos = ms + 1;
            continue;
        }
        if (put(s, line + pos, ms - pos) < 0 || put_replacement(s, line, m) < 0)
            return -1;
        prev_end = me;
        if (me == ms) {
            if (ms < len && put(s, line + ms, 1) < 0)
                return -1;
            pos = ms + 1;
        } else {
            pos = me;
        }
    }
    if (pos < len && put(s, line + pos, len - pos) < 0)
        return -1;
    return 0;
}

/* max_line: 0, or -1 after reporting the first line of the block longer
 * than max_line bytes (newline not counted).  A line that the block
 * cuts (it goes on into the next unit) is too long as soon as max_line of
 * its bytes are here.  The check comes before any output of the block. */
static int check_lines(state *s, const sluice_block *b)
{
    const unsigned char *p = b->data;
    size_t len = b->len, start = 0;
    int fend = (b->flags & SLUICE_BLOCK_FILE_END) != 0;
    while (start < len) {
        const unsigned char *nl = memchr(p + start, '\n', len - start);
        uint64_t l = nl ? (uint64_t)(nl - (p + start)) : len - start;
        if (l > s->max_line || (!nl && !fend && l >= s->max_line)) {
            s->ctx->api->error(s->ctx, 0, b->offset + start,
                               "line longer than --max-line (%llu bytes)",
                               (unsigned long long)s->max_line);
            return -1;
        }
        if (!nl)
            break;
        start = (size_t)(nl - p) + 1;
    }
    return 0;
}

static int map(sluice_ctx *ctx, const sluice_block *b, void *partial)
{
    (void)partial;
    state *s = ctx->state;
    s->ctx = ctx;
    int rc;
    if (s->max_line && check_lines(s, b) < 0)
        return -1;
    if (!s->regex) {
        rc = map_literal(s, b->data, b->len);
    } else {
        const char *p = (const char *)b->data;
        const char *end = p + b->len;
        rc = 0;
        while (p < end && rc == 0) {
            /* Lines before the next match anywhere in the unit go out as
             * they are: one regexec over many lines. */
            regmatch_t any;
            any.rm_so = 0;
            any.rm_eo = (regoff_t)(end - p);
            if (regexec(&s->re, p, 1, &any, REG_STARTEND) != 0) {
                rc = put(s, p, (size_t)(end - p));
                break;
            }
            const char *hit = p + any.rm_so;
            const char *ls = hit;
            while (ls > p && ls[-1] != '\n')
                ls--;
            if (ls > p && (rc = put(s, p, (size_t)(ls - p))) < 0)
                break;
            p = ls;
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            rc = map_line(s, p, n);
            if (rc == 0 && nl)
                rc = put(s, "\n", 1);
            p += n + (nl != NULL);
        }
    }
    flush(s);
    return rc;
}

static const sluice_option opts[] = {
    {"from", SLUICE_OPT_STRING, "", "the text (or regex) to replace", NULL},
    {"to", SLUICE_OPT_STRING, "", "what replaces it", NULL},
    {"regex", SLUICE_OPT_BOOL, "false",
     "FROM is a POSIX extended regex; TO may use \\1..\\9 and &", NULL},
    {"max_line", SLUICE_OPT_INT, "0",
     "a line longer than this many bytes fails its input (0: no limit)", NULL},
};

static const sluice_plugin desc = {
    .size = sizeof(sluice_plugin),
    .abi_major = SLUICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SLUICE_PLUGIN_ABI_MINOR,
    .name = "replace",
    .version = "1.0.0",
    .description = "replace text in every line, output in input order",
    .license = "MIT",
    .options = opts,
    .n_options = sizeof opts / sizeof opts[0],
    .caps = SLUICE_CAP_ORDERED | SLUICE_CAP_RECORDS | SLUICE_CAP_WHOLE_UNIT,
    .state_size = sizeof(state),
    .global_init = g_init,
    .worker_init = w_init,
    .worker_fini = w_fini,
    .map = map,
};

SLUICE_PLUGIN_DEFINE(desc)
