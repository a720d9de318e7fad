/*
 * report.c -- text, JSON and CSV results, per file, per group or totals
 * only (see report.h).
 *
 * JSON: one object, {"files":[...],"total":{...}} ({"groups":[...]} with
 * --by, only "total" with --summary); names are JSON strings, bytes that
 * are not UTF-8 become U+FFFD.  CSV: RFC 4180, a header line, one row per
 * file or group, then a "total" row; names are quoted when they hold a
 * comma, a quote or a line break.
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int report_parse_group(const char *s, report_group *out)
{
    if (strcmp(s, "ext") == 0)
        *out = GROUP_EXT;
    else if (strcmp(s, "dir") == 0)
        *out = GROUP_DIR;
    else if (strcmp(s, "none") == 0)
        *out = GROUP_NONE;
    else
        return -1;
    return 0;
}

static void put(report *r, const char *s)
{
    r->write(r->arg, s, strlen(s));
}

static void put_u64(report *r, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    r->write(r->arg, num, (size_t)n);
}

/* The length of a valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t min, c;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0)
        len = 2, min = 0x80, c = p[0] & 0x1f;
    else if ((p[0] & 0xf0) == 0xe0)
        len = 3, min = 0x800, c = p[0] & 0x0f;
    else if ((p[0] & 0xf8) == 0xf0)
        len = 4, min = 0x10000, c = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return len;
}

static void put_json_string(report *r, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    put(r, "\"");
    while (n > 0) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            r->write(r->arg, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            put(r, esc);
        } else {
            size_t k = utf8_len(p, n);
            if (k == 0) {
                put(r, "\\ufffd");
                k = 1;
            } else {
                r->write(r->arg, (const char *)p, k);
            }
            p += k;
            n -= k;
            continue;
        }
        p++;
        n--;
    }
    put(r, "\"");
}

static void put_csv_field(report *r, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        put(r, s);
        return;
    }
    put(r, "\"");
    for (const char *q = s; *q; q++) {
        if (*q == '"')
            put(r, "\"");
        r->write(r->arg, q, 1);
    }
    put(r, "\"");
}

/* The counts of one row as JSON members or CSV fields. */
static void put_counts(report *r, const uint64_t *v)
{
    for (int k = 0; k < r->ncols; k++) {
        if (r->format == REPORT_JSON) {
            put(r, ",\"");
            put(r, r->cols[k]);
            put(r, "\":");
        } else {
            put(r, ",");
        }
        put_u64(r, v[k]);
    }
}

void report_begin(report *r)
{
    if (r->format == REPORT_CSV) {
        put(r, r->by != GROUP_NONE ? "group,files" : "name");
        for (int k = 0; k < r->ncols; k++) {
            put(r, ",");
            put(r, r->cols[k]);
        }
        put(r, "\n");
    } else if (r->format == REPORT_JSON) {
        if (r->summary)
            put(r, "{");
        else
            put(r, r->by != GROUP_NONE ? "{\"groups\":[" : "{\"files\":[");
    }
}

/* The group a file belongs to, in buf. */
static const char *group_of(const report *r, const char *name, char *buf,
                            size_t len)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    if (r->by == GROUP_EXT) {
        const char *dot = strrchr(base, '.');
        snprintf(buf, len, "%s", dot && dot != base ? dot + 1 : "");
    } else if (!slash) {
        snprintf(buf, len, ".");
    } else {
        snprintf(buf, len, "%.*s", slash == name ? 1 : (int)(slash - name),
                 name);
    }
    return buf;
}

static void add_to_group(report *r, const char *name, const uint64_t *v)
{
    char buf[4096];
    const char *g = group_of(r, name, buf, sizeof buf);
    report_bucket *b = NULL;
    /* Walks deliver a directory's files one after another: the group of
     * the last file is the likely one. */
    if (r->last < r->ngroups && strcmp(r->groups[r->last].name, g) == 0)
        b = &r->groups[r->last];
    for (size_t i = 0; !b && i < r->ngroups; i++)
        if (strcmp(r->groups[i].name, g) == 0) {
            b = &r->groups[i];
            r->last = i;
        }
    if (!b) {
        if (r->ngroups == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 16;
            report_bucket *p = realloc(r->groups, cap * sizeof *p);
            if (!p) {
                r->failed = true;
                return;
            }
            r->groups = p;
            r->cap = cap;
        }
        b = &r->groups[r->ngroups];
        b->name = strdup(g);
        b->v = calloc((size_t)r->ncols, sizeof *b->v);
        b->files = 0;
        if (!b->name || !b->v) {
            free(b->name);
            free(b->v);
            r->failed = true;
            return;
        }
        r->last = r->ngroups++;
    }
    b->files++;
    for (int k = 0; k < r->ncols; k++) {
        if (r->max_col && r->max_col[k])
            b->v[k] = v[k] > b->v[k] ? v[k] : b->v[k];
        else
            b->v[k] += v[k];
    }
}

bool report_row(report *r, const char *name, const uint64_t *v)
{
    r->files++;
    if (r->by != GROUP_NONE) {
        add_to_group(r, name ? name : "-", v);
        return true;
    }
    if (r->summary)
        return true;
    if (r->format == REPORT_TEXT)
        return false;
    if (r->format == REPORT_JSON) {
        put(r, r->rows ? ",{\"name\":" : "{\"name\":");
        put_json_string(r, name ? name : "-");
        put_counts(r, v);
        put(r, "}");
    } else {
        put_csv_field(r, name ? name : "-");
        put_counts(r, v);
        put(r, "\n");
    }
    r->rows++;
    return true;
}

static int by_group_name(const void *a, const void *b)
{
    const report_bucket *x = a, *y = b;
    return strcmp(x->name, y->name);
}

void report_end(report *r, const uint64_t *total, bool with_total)
{
    uint64_t files = r->files;
    if (r->by != GROUP_NONE) {
        qsort(r->groups, r->ngroups, sizeof *r->groups, by_group_name);
        for (size_t i = 0; i < r->ngroups; i++) {
            const report_bucket *b = &r->groups[i];
            if (r->summary)
                continue;
            if (r->format == REPORT_TEXT) {
                r->text(r->arg, b->v, b->name);
            } else if (r->format == REPORT_JSON) {
                put(r, i ? ",{\"group\":" : "{\"group\":");
                put_json_string(r, b->name);
                put(r, ",\"files\":");
                put_u64(r, b->files);
                put_counts(r, b->v);
                put(r, "}");
            } else {
                put_csv_field(r, b->name);
                put(r, ",");
                put_u64(r, b->files);
                put_counts(r, b->v);
                put(r, "\n");
            }
        }
    }
    if (r->format == REPORT_JSON) {
        put(r,
            r->summary ? "\"total\":{\"files\":" : "],\"total\":{\"files\":");
        put_u64(r, files);
        put_counts(r, total);
        put(r, "}}\n");
    } else if (r->format == REPORT_CSV && with_total) {
        put(r, "total");
        if (r->by != GROUP_NONE) {
            put(r, ",");
            put_u64(r, files);
        }
        put_counts(r, total);
        put(r, "\n");
    }
}

void report_free(report *r)
{
    for (size_t i = 0; i < r->ngroups; i++) {
        free(r->groups[i].name);
        free(r->groups[i].v);
    }
    free(r->groups);
    r->groups = NULL;
    r->ngroups = r->cap = 0;
}
