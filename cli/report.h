/*
 * report.h -- results of an aggregating command in the forms people and
 * tools read: the command's own text lines, JSON or CSV; per file, per
 * group (extension or directory), or totals only.
 *
 * A command gives each input's counts to report_row() as they arrive (in
 * input order) and the totals to report_end().  Text rows are the
 * command's business (report_row returns false and writes nothing for
 * them); JSON and CSV are written here.  Groups are kept in a table and
 * written, sorted by name, at the end, before the totals.
 */
#ifndef SLUICE_CLI_REPORT_H
#define SLUICE_CLI_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum report_format {
    REPORT_TEXT,
    REPORT_JSON,
    REPORT_CSV,
} report_format;

typedef enum report_group {
    GROUP_NONE,
    GROUP_EXT, /* by file name extension ("c", "h"; "" for none) */
    GROUP_DIR, /* by the directory that holds the file ("." for none) */
} report_group;

/* Writes n bytes of output (the command's buffered stdout). */
typedef void report_write_fn(void *arg, const char *p, size_t n);
/* Writes one text row: the counts and a name (the command's own format). */
typedef void report_text_fn(void *arg, const uint64_t *v, const char *name);

typedef struct report_bucket {
    char *name;
    uint64_t *v;
    uint64_t files;
} report_bucket;

typedef struct report {
    report_format format;
    report_group by;
    bool summary;            /* totals only */
    int ncols;               /* counts per row */
    const char *const *cols; /* their names (JSON keys, CSV header) */
    const bool *max_col;     /* per column: a maximum, not a sum */
    report_write_fn *write;
    report_text_fn *text;
    void *arg;
    /* state */
    uint64_t files; /* rows given */
    uint64_t rows;  /* rows written (JSON separators) */
    report_bucket *groups;
    size_t ngroups, cap;
    size_t last; /* index of the group used last */
    bool failed; /* out of memory: rows were lost */
} report;

/* Parses --by's argument: 0, or -1 for an unknown word. */
int report_parse_group(const char *s, report_group *out);
/* Writes what comes before the rows (CSV header, JSON opening). */
void report_begin(report *r);
/* One input's counts (v has ncols values).  Returns true when the row was
 * written or grouped here, false when the caller writes a text row. */
bool report_row(report *r, const char *name, const uint64_t *v);
/* Writes the groups, the totals (v, ncols values) and what closes the
 * output.  `with_total` false: no totals row in text and CSV. */
void report_end(report *r, const uint64_t *total, bool with_total);
void report_free(report *r);

#endif /* SLUICE_CLI_REPORT_H */
