/*
 * harness.h -- a job as the test programs run it: open a plugin, set its
 * options, add inputs, run, and record what the callbacks reported (each
 * input's result, the ordered output, poison units).
 *
 * A th_record is the callbacks' memory.  It grows as inputs come and keeps
 * its storage from run to run (th_record_reserve grows it ahead, for
 * tests/test_alloc.c, whose counted allocations must all be the engine's),
 * so record everything in one and free it with th_record_free.  Callbacks
 * never fail the test themselves: what breaks the API's promises (an input
 * reported twice, output going back to an earlier input) is counted, and
 * th_run fails the test on it after the job.
 */
#ifndef SLUICE_TEST_HARNESS_H
#define SLUICE_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sluice/sluice.h"

#define TH_NC 8       /* counters kept per input */
#define TH_PARTIAL 64 /* bytes of each partial kept */
#define TH_MSG 512    /* bytes of each message kept */

/* One input as on_input reported it. */
typedef struct th_input {
    int reported;     /* on_input calls for it */
    int errnum;       /* its error (0: none) */
    uint64_t offset;  /* the error's offset, UINT64_MAX when none */
    int has_msg;      /* a message came (it may be empty) */
    char msg[TH_MSG]; /* that message */
    int has_partial;  /* a partial came */
    unsigned char partial[TH_PARTIAL]; /* its first bytes */
    uint64_t c[TH_NC]; /* its counters (when the plugin has any) */
    char *path;        /* its path, when th_record.paths is set */
    int stat_ok;       /* sluice_input's stat_ok and st */
    struct stat st;
    uint64_t out_len; /* output bytes for it */
} th_input;

typedef struct th_record th_record;

/* Set before a run; the rest is filled in by it. */
struct th_record {
    int paths;       /* keep each input's path (strdup) */
    int fail_output; /* on_output returns this (a negative errno), or 0 */
    void (*progress)(th_record *r, const sluice_progress *p); /* optional */
    void *user;                                               /* for progress */

    const sluice_plugin *desc; /* reads partials: th_run sets it, a caller
                                  of th_callbacks alone sets it */
    th_input *in;              /* indexed by input number (the number of inputs:
                                  what finish wrote) */
    uint32_t cap;              /* entries of in and order */
    uint32_t ninputs; /* one past the highest input on_input reported */
    uint32_t *order;  /* the input of each on_input call */
    uint32_t n;       /* on_input calls */
    int repeated;     /* inputs reported more than once */

    char *out; /* all ordered output, concatenated */
    size_t out_len, out_cap;
    int out_calls;     /* on_output calls */
    uint32_t out_last; /* input of the last on_output call */
    int out_backwards; /* calls for an input before out_last */

    int npoison;          /* on_poison calls */
    sluice_poison poison; /* the last one, strings copied below */
    char poison_msg[1024], poison_path[512], poison_plugin[64];

    int ran;        /* th_run got as far as running the job */
    int rc;         /* sluice_job_run's status */
    char err[1024]; /* the job's message (a poison report is long) */
};

/* Callbacks that record into r (user = r); on_progress only when
 * r->progress is set. */
sluice_callbacks th_callbacks(th_record *r);

/* Forgets the results, keeps storage and the settings. */
void th_record_reset(th_record *r);
/* Grows r to hold `ninputs` inputs without allocating while they come;
 * aborts when out of memory. */
void th_record_reserve(th_record *r, uint32_t ninputs);
/* Frees r's storage and zeroes r, settings included (r itself belongs to
 * the caller). */
void th_record_free(th_record *r);
/* The input of the k-th on_input call. */
const th_input *th_nth(const th_record *r, uint32_t k);

/* desc's counters of a partial, called as the host calls them. */
void th_counters(const sluice_plugin *desc, const void *partial,
                 uint64_t *out);

/* A job to run. */
typedef struct th_job {
    const char *plugin;         /* its path (tu_plugin() for a test one) */
    const char *const *options; /* KEY, VALUE, ..., NULL; or NULL */
    sluice_job_opts opts;
    const char *const *paths; /* the operands */
    int npaths;
    unsigned add_flags; /* sluice_job_add's flags */
    int no_fail;        /* 1: th_run never fails the test (in a
                           child process, or where set-up may
                           fail): a failing set-up step returns
                           its status, r->err naming it */
} th_job;

/* Runs j, recording into r (reset first).  Returns sluice_job_run's
 * status, which r->rc and r->err keep too.  Unless j->no_fail, fails the
 * test when a set-up step fails and when the callbacks saw an input twice
 * or output go back to an earlier input. */
int th_run(const th_job *j, th_record *r);

#endif
