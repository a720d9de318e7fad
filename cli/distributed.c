/*
 * distributed.c -- what `sluice-mpi` adds to the commands: one job shared by
 * the ranks of an MPI world (docs/distributed.md).
 *
 * Every rank parses the same command line and sets up the same job: the
 * inputs must be on a file system every rank sees at the same paths.  When
 * the command runs its job (cli_job_run), the runner here takes over:
 *
 *   1. each rank plans the whole job on a clone (sluice_job_plan: a walk
 *      and stats, no reading) and the ranks check that they planned the
 *      same units;
 *   2. the units are cut into one contiguous share per rank, balanced by
 *      bytes (each unit weighs its input bytes plus 4096 per file);
 *   3. each rank runs its share on another clone with its own workers
 *      (sluice_job_run_share), keeping each unit's records: the plugin's
 *      partial results, input errors and end-of-input marks;
 *   4. the ranks agree on success; the records are gathered on rank 0
 *      (MPI_Gatherv), which hands them to the command's own job
 *      (sluice_job_resume_unit) and runs it: every unit comes from the
 *      records, so the results are merged with the plugin's merge in input
 *      order and printed by the command exactly as the local `sluice`
 *      prints them.  Other ranks print nothing (their stdout is
 *      /dev/null).
 *
 * Each rank clears the CPU binding the launcher gave it (Open MPI binds a
 * rank to one core by default): its workers are its parallelism, so one
 * rank per node (`mpirun --map-by node`) uses the whole node.
 *
 * A rank whose share fails (a poisoned unit, a worker that cannot start)
 * reports it and every rank exits with status 5; nothing is printed on
 * stdout.  A rank that dies ends the whole job: the MPI runtime kills the
 * others.  A launch by another MPI's launcher (each process a world of
 * one) is refused before anything runs.
 *
 * Ordered output (grep, replace, gzip, gunzip) goes the same way: each
 * unit's records hold its output, and rank 0 writes it through the
 * command's code (stdout, or files it commits).  Writing the pieces in
 * place from every rank (MPI_Exscan of sizes, collective writes) is not
 * built: the output must fit rank 0's memory (2 GiB per job at most).
 */
#include "distributed.h"

#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "sluice/sluice.h"

static int rank, nranks;
static int ran_job;  /* this rank went through a job's collectives */
static int reported; /* ... and reports its failure */

/* ------------------------------------------------------------ records */

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
    int oom;
    const sluice_callbacks *cli; /* the command's: its job log */
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    size_t need = b->len + ((n + 7) & ~(size_t)7);
    if (need > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        while (ncap < need)
            ncap *= 2;
        unsigned char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, d, n);
    memset(b->p + b->len + n, 0, need - b->len - n);
    b->len = need;
}

/* A unit of this rank's share: seq, fingerprint, length, records. */
static void keep_unit(void *user, const sluice_unit_done *u)
{
    buf *b = user;
    if (b->cli->on_unit) /* --joblog: this rank's log */
        b->cli->on_unit(b->cli->user, u);
    if (u->poisoned)
        return; /* --keep-going: rank 0 runs it again and reports it */
    if (!u->result) {
        b->oom = 1; /* the engine could not keep them */
        return;
    }
    uint64_t head[3] = {u->seq, u->fingerprint, u->result_len};
    put(b, head, sizeof head);
    put(b, u->result, u->result_len);
}

/* --------------------------------------------------------------- plan */

typedef struct plan {
    uint64_t n;
    uint64_t *weight;
    size_t cap;
    uint64_t hash; /* of the weights and fingerprints: the ranks compare
                      it */
    int oom;
} plan;

static void plan_unit(void *user, uint64_t seq, uint64_t weight,
                      uint64_t fingerprint)
{
    plan *p = user;
    (void)seq;
    p->hash = (p->hash ^ fingerprint) * 1099511628211ull;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 1024;
        uint64_t *nw = realloc(p->weight, ncap * sizeof *nw);
        if (!nw) {
            p->oom = 1;
            return;
        }
        p->weight = nw;
        p->cap = ncap;
    }
    p->weight[p->n++] = weight;
    p->hash = (p->hash ^ weight) * 1099511628211ull;
}

/* The first unit of rank r's share: the ranks cut the units where the
 * running weight passes r/nranks of the total. */
static uint64_t share_start(const plan *p, int r)
{
    if (r <= 0)
        return 0;
    if (r >= nranks)
        return p->n;
    uint64_t total = 0;
    for (uint64_t i = 0; i < p->n; i++)
        total += p->weight[i];
    /* total * r / nranks without overflow for any realistic total. */
    long double goal = (long double)total * r / nranks;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < p->n; i++) {
        if ((long double)sum + (long double)p->weight[i] / 2 >= goal)
            return i;
        sum += p->weight[i];
    }
    return p->n;
}

/* ------------------------------------------------------------- runner */

/* Every rank learns whether every rank got this far: the lowest code. */
static int agree(int rc)
{
    int low = rc;
    MPI_Allreduce(&rc, &low, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return low;
}

/* This rank's part failed with rc (err says why), or another's did
 * (rc == 0): the message of the lowest failing rank is shown once, by that
 * rank; the others leave quietly with the same status. */
static int fail_all(int rc, char *err, size_t errlen)
{
    int me = rc < 0 ? rank : nranks;
    int first = me;
    MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first != rank) {
        /* Quietly: the status is the reporting rank's (a rank that exits
         * non-zero first makes mpirun kill the rest, perhaps before the
         * message is out). */
        fflush(stdout);
        MPI_Finalize();
        _exit(0);
    }
    ran_job = reported = 1;
    if (nranks > 1) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "rank %d of %d: %s", rank, nranks, err);
        snprintf(err, errlen, "%s", tmp);
    }
    return rc == SLUICE_EINPUT ? SLUICE_EWORKER : rc;
}

static int mpi_job_run(sluice_job *job, char *err, size_t errlen)
{
    /* 1. The plan, the same on every rank. */
    plan p = {.hash = 14695981039346656037ull};
    int rc = 0;
    sluice_job *c = sluice_job_clone(job, err, errlen);
    if (!c)
        rc = SLUICE_ENOMEM;
    if (rc == 0) {
        int64_t n = sluice_job_plan(c, plan_unit, &p, err, errlen);
        if (n < 0)
            rc = (int)n;
        else if (p.oom)
            rc = SLUICE_ENOMEM;
        sluice_job_free(c);
    }
    if (rc == SLUICE_ENOMEM && !err[0])
        snprintf(err, errlen, "out of memory");
    if (agree(rc) < 0) {
        free(p.weight);
        return fail_all(rc, err, errlen);
    }
    /* The same plugin, options and locale too (the job's fingerprint). */
    p.hash = (p.hash ^ sluice_job_fingerprint(job)) * 1099511628211ull;
    uint64_t mine[2] = {p.n, p.hash}, lo[2], hi[2];
    MPI_Allreduce(mine, lo, 2, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(mine, hi, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    if (lo[0] != hi[0] || lo[1] != hi[1]) {
        free(p.weight);
        snprintf(err, errlen,
                 "the ranks do not see the same job (%llu to %llu units): "
                 "every rank must see the inputs at the same paths, on a "
                 "shared file system, and run the same plugin in the same "
                 "locale",
                 (unsigned long long)lo[0], (unsigned long long)hi[0]);
        return fail_all(rank == 0 ? SLUICE_EINVAL : 0, err, errlen);
    }

    /* 2, 3. This rank's share, its records kept. */
    uint64_t first = share_start(&p, rank), end = share_start(&p, rank + 1);
    free(p.weight);
    buf b = {.cli = sluice_job_callbacks(job)};
    c = sluice_job_clone(job, err, errlen);
    rc = c ? sluice_job_run_share(c, first, end, keep_unit, &b, err, errlen)
           : SLUICE_ENOMEM;
    sluice_job_free(c);
    if (rc == 0 && (b.oom || b.len > (size_t)1 << 30)) {
        snprintf(err, errlen,
                 "out of memory for the records of units %llu-%llu",
                 (unsigned long long)first, (unsigned long long)end);
        rc = SLUICE_ENOMEM;
    }
    if (agree(rc) < 0) {
        free(b.p);
        return fail_all(rc, err, errlen);
    }

    /* 4. The records on rank 0, which delivers them: the sizes first, so
     * that every rank knows whether they fit one gather. */
    uint64_t mylen = b.len, sum = 0;
    MPI_Allreduce(&mylen, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    int len = (int)b.len;
    int *lens = NULL, *offs = NULL;
    unsigned char *all = NULL;
    rc = 0;
    if (sum > (uint64_t)INT_MAX) {
        snprintf(err, errlen,
                 "the units' records come to %llu bytes, more than one "
                 "gather takes (2 GiB): use fewer, larger units "
                 "(--chunk-size)",
                 (unsigned long long)sum);
        rc = rank == 0 ? SLUICE_ENOMEM : 0;
    } else if (rank == 0) {
        lens = calloc((size_t)nranks, sizeof *lens);
        offs = calloc((size_t)nranks, sizeof *offs);
        all = malloc(sum ? (size_t)sum : 1);
        if (!lens || !offs || !all) {
            snprintf(err, errlen, "out of memory for %llu bytes of records",
                     (unsigned long long)sum);
            rc = SLUICE_ENOMEM;
        }
    }
    if (agree(rc) < 0) {
        free(b.p);
        free(lens);
        free(offs);
        free(all);
        return fail_all(rc, err, errlen);
    }
    MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    size_t total = 0;
    if (rank == 0)
        for (int r = 0; r < nranks; r++) {
            offs[r] = (int)total;
            total += (size_t)lens[r];
        }
    MPI_Gatherv(b.p, len, MPI_BYTE, all, lens, offs, MPI_BYTE, 0,
                MPI_COMM_WORLD);
    free(b.p);
    free(lens);
    free(offs);
    ran_job = 1;
    if (rank != 0)
        return 0; /* stdout is /dev/null here: the command prints nothing */
    for (size_t at = 0; at + 24 <= total;) {
        uint64_t head[3];
        memcpy(head, all + at, sizeof head);
        at += sizeof head;
        rc = sluice_job_resume_unit(job, head[0], head[1], all + at,
                                    (size_t)head[2]);
        if (rc < 0) {
            free(all);
            snprintf(err, errlen, "%s", sluice_strerror(rc));
            return rc;
        }
        at += ((size_t)head[2] + 7) & ~(size_t)7;
    }
    free(all);
    return sluice_job_run(job, err, errlen);
}

/* -------------------------------------------------------------- setup */

/* The number of processes the launcher started, from its environment, or
 * 0 when none says. */
static long launched_size(const char **by)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                       "PMIX_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            *by = vars[i];
            return atol(v);
        }
    }
    return 0;
}

int cli_mpi_init(int *argc, char ***argv, const char *prog)
{
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    const char *by = NULL;
    long want = launched_size(&by);
    if (want > 0 && want != nranks) {
        if (rank == 0)
            fprintf(stderr,
                    "%s: started as one of %ld processes (%s) but MPI sees a "
                    "world of %d: this launcher belongs to another MPI than "
                    "the one %s was built with; use that MPI's mpirun\n",
                    prog, want, by, nranks, prog);
        MPI_Finalize();
        return -1;
    }
    cli_job_runner = mpi_job_run;
    cli_joblog_rank = rank;
    cli_joblog_nranks = nranks;
    /* A rank is a whole engine: its workers are its parallelism.  Open MPI
     * binds each rank to one core by default (its workers would share
     * it): the rank is let run on every online CPU again. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t all;
    CPU_ZERO(&all);
    for (long i = 0; i < ncpu && i < CPU_SETSIZE; i++)
        CPU_SET((int)i, &all);
    sched_setaffinity(0, sizeof all, &all);
    if (rank != 0) {
        /* One copy of the output: rank 0's. */
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
    }
    return 0;
}

int cli_mpi_finish(int status)
{
    fflush(stdout);
    fflush(stderr);
    /* A rank that failed before its job's collectives (a bad option, a
     * plugin missing on its node) would leave the others waiting in them:
     * it ends the whole world instead, with its status. */
    if (status != 0 && !ran_job && nranks > 1)
        MPI_Abort(MPI_COMM_WORLD, status);
    MPI_Finalize();
    /* What the command decides after its job (grep's "no line selected")
     * is rank 0's to say: the others saw no results. */
    return rank == 0 || !ran_job || reported ? status : 0;
}
