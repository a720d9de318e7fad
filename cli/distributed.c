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
 *   4. the ranks agree on success, and the records go to rank 0, which
 *      hands them to the command's own job (sluice_job_resume_unit) and
 *      runs it: every unit comes from the records, so the results are
 *      merged with the plugin's merge in input order and printed by the
 *      command exactly as the local `sluice` prints them.  Other ranks
 *      print nothing (their stdout is /dev/null).
 *
 * How the records travel depends on the plugin:
 *   - an aggregation's (wc, run with a merging plugin) are small, a
 *     partial result per unit: MPI_Gatherv into rank 0's memory;
 *   - an ordered plugin's (grep, replace, gzip, gunzip, run with an
 *     ordered plugin) hold its output, as large as the input: a rank keeps
 *     them in an unlinked file in $TMPDIR as its units finish; the ranks
 *     learn their places in the spool, a temporary file in
 *     SLUICE_SPOOL_DIR (default: the current directory; it must be on a
 *     file system every rank sees), by MPI_Exscan of the sizes, and write
 *     them there with collective writes, checking every call and every
 *     byte count; rank 0 checks the file's size and each rank's bytes (a
 *     hash), maps it and runs the command's job from it: the command
 *     writes and commits its stdout or files as the local one does, only
 *     when every rank succeeded.  The spool is removed after, on failure,
 *     and on a signal.
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
 */
#include "distributed.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "sluice/sluice.h"

static int rank, nranks;
static int ran_job;  /* this rank went through a job's collectives */
static int reported; /* ... and reports its failure */

/* ------------------------------------------------------------ records */

/* The records of this rank's share: in memory, or (ordered output, which
 * may be as large as the input) in memory up to SPILL bytes at a time and
 * then in an unlinked file in $TMPDIR, on this node's disk. */
#define SPILL ((size_t)1 << 20)

typedef struct buf {
    unsigned char *p;
    size_t len, cap; /* in memory, after `spilled` bytes in fd */
    uint64_t spilled;
    int fd;                      /* -1: none */
    int oom, werr;               /* out of memory; errno of a failed spill */
    const sluice_callbacks *cli; /* the command's: its job log */
} buf;

static void spill(buf *b)
{
    if (b->fd < 0 || b->werr || b->len == 0)
        return;
    b->werr = cli_write_all(b->fd, b->p, b->len);
    b->spilled += b->len;
    b->len = 0;
}

static void put(buf *b, const void *d, size_t n)
{
    if (b->oom || b->werr)
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
    if (b->len >= SPILL)
        spill(b);
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

/* Aggregations: the records are small (a partial result per unit): they
 * are gathered into rank 0's memory.  0 on every rank; else this rank's
 * failure, or 1 on the ranks that did not fail.  On rank 0, *out holds the
 * records (free it). */
static int gather_records(buf *b, unsigned char **out, size_t *total, char *err,
                          size_t errlen)
{
    /* The sizes first, so that every rank knows whether they fit one
     * gather. */
    uint64_t mylen = b->len, sum = 0;
    MPI_Allreduce(&mylen, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    int len = (int)b->len;
    int *lens = NULL, *offs = NULL;
    unsigned char *all = NULL;
    int rc = 0;
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
        free(lens);
        free(offs);
        free(all);
        return rc < 0 ? rc : 1;
    }
    MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    size_t n = 0;
    if (rank == 0)
        for (int r = 0; r < nranks; r++) {
            offs[r] = (int)n;
            n += (size_t)lens[r];
        }
    MPI_Gatherv(b->p, len, MPI_BYTE, all, lens, offs, MPI_BYTE, 0,
                MPI_COMM_WORLD);
    free(lens);
    free(offs);
    *out = all;
    *total = n;
    return 0;
}

/* Where a rank keeps its share's ordered output: $TMPDIR, or /tmp. */
static const char *spill_dir(void)
{
    const char *d = getenv("TMPDIR");
    return d && *d ? d : "/tmp";
}

/* The spool: a temporary file on a file system every rank sees, which
 * every rank writes its records into at once. */
static char spool_path[PATH_MAX];
static volatile sig_atomic_t spool_live;

static void spool_remove(void)
{
    if (spool_live) {
        unlink(spool_path);
        spool_live = 0;
    }
}

static const char *spool_dir(void)
{
    const char *d = getenv("SLUICE_SPOOL_DIR");
    return d && *d ? d : ".";
}

/* What MPI says of code, in a few words: the system's words for the error
 * classes that name a file system's refusal, else MPI's own string; of a
 * stack of messages (MPICH's), the last line, the deepest cause. */
static const char *mpi_says(int code, char *out, size_t len)
{
    static const struct {
        int cls, err;
    } sys[] = {
        {MPI_ERR_NO_SPACE, ENOSPC},     {MPI_ERR_QUOTA, EDQUOT},
        {MPI_ERR_NO_SUCH_FILE, ENOENT}, {MPI_ERR_ACCESS, EACCES},
        {MPI_ERR_READ_ONLY, EROFS},     {MPI_ERR_FILE_EXISTS, EEXIST},
    };
    int cls = -1;
    if (MPI_Error_class(code, &cls) == MPI_SUCCESS)
        for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
            if (sys[i].cls == cls) {
                snprintf(out, len, "%s", strerror(sys[i].err));
                return out;
            }
    int n = 0;
    char s[MPI_MAX_ERROR_STRING];
    if (MPI_Error_string(code, s, &n) != MPI_SUCCESS || n <= 0) {
        snprintf(out, len, "MPI error %d", code);
        return out;
    }
    s[n < (int)sizeof s ? n : (int)sizeof s - 1] = '\0';
    char *end = s + strlen(s);
    while (end > s && (end[-1] == '\n' || end[-1] == ' '))
        *--end = '\0';
    char *last = strrchr(s, '\n');
    snprintf(out, len, "%s", last ? last + 1 : s);
    return out;
}

/* A hash of bytes, taken 8 at a time into four lanes (four independent
 * multiply chains: several GB/s), the last few bytes padded with zeros.  A
 * rank hashes its records piece by piece, pieces of a multiple of 32 bytes
 * but the last, so rank 0 gets the same hash in one go. */
typedef struct {
    uint64_t lane[4];
} hash;

static const hash hash_start = {{1, 2, 3, 4}};

static inline uint64_t hash_step(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static void hash_bytes(hash *h, const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * k, 8);
            h->lane[k] = hash_step(h->lane[k], w);
        }
    for (int k = 0; i < n; i += 8, k++) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i < 8 ? n - i : 8);
        h->lane[k] = hash_step(h->lane[k], w);
    }
}

static uint64_t hash_value(const hash *h)
{
    uint64_t v = 14695981039346656037ull;
    for (int k = 0; k < 4; k++)
        v = hash_step(v, h->lane[k]);
    return v;
}

/* Ordered output: as large as the input, so it must not travel through
 * one rank's memory.  Each rank learns where its records go (MPI_Exscan of
 * the sizes); rank 0 creates the spool, every rank writes its records into
 * it with collective writes, checking each call and each byte count (a
 * full disk may show only as a short count); the file is closed (not
 * synced: it is read back at once, and the command's own output is synced
 * as the local command syncs it), and rank 0 maps it, to hand the records
 * to the command's job.  Rank 0 checks that the file holds what each rank
 * wrote (its size, and a hash of each rank's bytes): with collective
 * buffering, a write that failed on the rank that did it for others may be
 * reported to nobody, and a write lost on the way shows here too.
 * 0 on every rank; else this rank's failure, or 1 on the ranks that did
 * not fail (the spool is gone).  On rank 0, *out is the mapping (munmap
 * it, then spool_remove). */
#define PIECE ((size_t)64 << 20)

static int spool_records(buf *b, unsigned char **out, size_t *total, char *err,
                         size_t errlen)
{
    char why[MPI_MAX_ERROR_STRING + 64];
    uint64_t mine = b->spilled, off = 0, sum = 0;
    MPI_Exscan(&mine, &off, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        off = 0; /* MPI leaves rank 0's undefined */
    MPI_Allreduce(&mine, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);

    /* Rank 0 creates the file; its name goes to every rank. */
    int rc = 0;
    if (rank == 0) {
        int n = snprintf(spool_path, sizeof spool_path, "%s/.sluice-mpi-XXXXXX",
                         spool_dir());
        int fd = n > 0 && (size_t)n < sizeof spool_path
                     ? mkostemp(spool_path, O_CLOEXEC)
                     : (errno = ENAMETOOLONG, -1);
        if (fd < 0) {
            snprintf(err, errlen,
                     "cannot create the output spool in %s (%s): "
                     "SLUICE_SPOOL_DIR names a directory every rank sees",
                     spool_dir(), strerror(errno));
            rc = SLUICE_EOUTPUT;
        } else {
            spool_live = 1;
            close(fd);
        }
    }
    MPI_Bcast(spool_path, (int)sizeof spool_path, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (agree(rc) < 0)
        return rc < 0 ? rc : 1;

    MPI_File fh;
    int mrc = MPI_File_open(MPI_COMM_WORLD, spool_path, MPI_MODE_WRONLY,
                            MPI_INFO_NULL, &fh);
    if (mrc != MPI_SUCCESS) {
        snprintf(err, errlen,
                 "%s: cannot open the output spool (%s): "
                 "SLUICE_SPOOL_DIR must name a directory every rank sees, "
                 "on a shared file system",
                 spool_path, mpi_says(mrc, why, sizeof why));
        rc = SLUICE_EOUTPUT;
    }
    /* MPI_File_open is collective: it failed on every rank or on none. */
    if (agree(rc) < 0) {
        spool_remove();
        return rc < 0 ? rc : 1;
    }
    MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);

    /* Collective writes, PIECE bytes a call: every rank makes as many
     * calls as the rank with the most (its last ones write nothing). */
    uint64_t pieces = (mine + PIECE - 1) / PIECE, most = 0;
    hash sum_mine = hash_start;
    MPI_Allreduce(&pieces, &most, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    unsigned char *piece = malloc(mine < PIECE ? (size_t)mine + 1 : PIECE);
    if (!piece) {
        snprintf(err, errlen, "out of memory");
        rc = SLUICE_ENOMEM;
    }
    for (uint64_t k = 0; k < most; k++) {
        uint64_t at = k * PIECE;
        size_t n = 0;
        if (rc == 0 && at < mine) {
            n = mine - at < PIECE ? (size_t)(mine - at) : PIECE;
            ssize_t got = pread(b->fd, piece, n, (off_t)at);
            if (got == (ssize_t)n)
                hash_bytes(&sum_mine, piece, n);
            if (got != (ssize_t)n) {
                snprintf(
                    err, errlen, "cannot read back the output kept in %s: %s",
                    spill_dir(), got < 0 ? strerror(errno) : "file cut short");
                rc = SLUICE_EOUTPUT;
                n = 0;
            }
        }
        MPI_Status st;
        mrc = MPI_File_write_at_all(fh, (MPI_Offset)(off + at), piece, (int)n,
                                    MPI_BYTE, &st);
        int wrote = 0;
        if (mrc == MPI_SUCCESS)
            MPI_Get_count(&st, MPI_BYTE, &wrote);
        if (rc == 0 && (mrc != MPI_SUCCESS || wrote != (int)n)) {
            if (mrc != MPI_SUCCESS)
                mpi_says(mrc, why, sizeof why);
            else
                snprintf(why, sizeof why,
                         "wrote %d of %zu bytes: no space left on device?",
                         wrote, n);
            snprintf(err, errlen, "%s: offset %llu: write error: %s",
                     spool_path, (unsigned long long)(off + at), why);
            rc = SLUICE_EOUTPUT;
        }
    }
    free(piece);
    /* What rank 0 checks the file against: each rank's place and hash. */
    uint64_t mark[3] = {off, mine, hash_value(&sum_mine)}, *marks = NULL;
    if (rank == 0 && !(marks = malloc((size_t)nranks * sizeof mark))) {
        snprintf(err, errlen, "out of memory");
        rc = SLUICE_ENOMEM;
    }
    MPI_Gather(mark, 3, MPI_UINT64_T, marks, 3, MPI_UINT64_T, 0,
               MPI_COMM_WORLD);
    mrc = MPI_File_close(&fh);
    if (rc == 0 && mrc != MPI_SUCCESS) {
        snprintf(err, errlen, "%s: cannot close: %s", spool_path,
                 mpi_says(mrc, why, sizeof why));
        rc = SLUICE_EOUTPUT;
    }

    /* Rank 0 maps what every rank wrote: all of it, or the job fails. */
    if (agree(rc) == 0 && rank == 0 && sum > 0) {
        int fd = open(spool_path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        void *m = MAP_FAILED;
        if (fd < 0 || fstat(fd, &st) != 0) {
            snprintf(err, errlen, "%s: %s", spool_path, strerror(errno));
            rc = SLUICE_EOUTPUT;
        } else if ((uint64_t)st.st_size != sum || sum > SIZE_MAX) {
            snprintf(err, errlen,
                     "%s: holds %llu bytes, not the %llu the ranks wrote "
                     "(no space left on device?)",
                     spool_path, (unsigned long long)st.st_size,
                     (unsigned long long)sum);
            rc = SLUICE_EOUTPUT;
        } else if ((m = mmap(NULL, (size_t)sum, PROT_READ, MAP_SHARED, fd,
                             0)) == MAP_FAILED) {
            snprintf(err, errlen, "%s: cannot map it: %s", spool_path,
                     strerror(errno));
            rc = SLUICE_ENOMEM;
        } else {
            madvise(m, (size_t)sum, MADV_SEQUENTIAL);
            *out = m;
            *total = (size_t)sum;
            for (int r = 0; r < nranks && rc == 0; r++) {
                uint64_t *k = marks + 3 * r;
                hash h = hash_start;
                if (k[0] <= sum && k[1] <= sum - k[0])
                    hash_bytes(&h, (unsigned char *)m + k[0], (size_t)k[1]);
                if (k[0] > sum || k[1] > sum - k[0] || hash_value(&h) != k[2]) {
                    snprintf(err, errlen,
                             "%s: bytes %llu-%llu are not what rank %d "
                             "wrote: a write was lost (a full disk, or the "
                             "file system's error)",
                             spool_path, (unsigned long long)k[0],
                             (unsigned long long)(k[0] + k[1]), r);
                    rc = SLUICE_EOUTPUT;
                }
            }
        }
        if (fd >= 0)
            close(fd);
    }
    free(marks);
    if (agree(rc) < 0) {
        if (*out)
            munmap(*out, *total);
        *out = NULL;
        spool_remove();
        return rc < 0 ? rc : 1;
    }
    return 0;
}

static int spill_open(buf *b, char *err, size_t errlen)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/sluice-mpi-XXXXXX", spill_dir());
    int fd = n > 0 && (size_t)n < sizeof path ? mkostemp(path, O_CLOEXEC)
                                              : (errno = ENAMETOOLONG, -1);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a temporary file in %s: %s",
                 spill_dir(), strerror(errno));
        return SLUICE_EOUTPUT;
    }
    unlink(path);
    b->fd = fd;
    return 0;
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
    const sluice_plugin *pl = sluice_job_plugin(job);
    int ordered = (pl->caps & SLUICE_CAP_ORDERED) != 0;
    buf b = {.fd = -1, .cli = sluice_job_callbacks(job)};
    rc = ordered ? spill_open(&b, err, errlen) : 0;
    c = rc == 0 ? sluice_job_clone(job, err, errlen) : NULL;
    if (rc == 0)
        rc = c ? sluice_job_run_share(c, first, end, keep_unit, &b, err, errlen)
               : SLUICE_ENOMEM;
    sluice_job_free(c);
    if (rc == 0 && ordered)
        spill(&b);
    if (rc == 0 && b.werr) {
        snprintf(err, errlen,
                 "cannot keep the output of units %llu-%llu in %s: %s",
                 (unsigned long long)first, (unsigned long long)end,
                 spill_dir(), strerror(b.werr));
        rc = SLUICE_EOUTPUT;
    }
    if (rc == 0 && (b.oom || (!ordered && b.len > (size_t)1 << 30))) {
        snprintf(err, errlen,
                 "out of memory for the records of units %llu-%llu",
                 (unsigned long long)first, (unsigned long long)end);
        rc = SLUICE_ENOMEM;
    }
    if (agree(rc) < 0) {
        free(b.p);
        if (b.fd >= 0)
            close(b.fd);
        return fail_all(rc, err, errlen);
    }

    /* 4. The records on rank 0, which delivers them. */
    unsigned char *all = NULL;
    size_t total = 0;
    rc = ordered ? spool_records(&b, &all, &total, err, errlen)
                 : gather_records(&b, &all, &total, err, errlen);
    free(b.p);
    if (b.fd >= 0)
        close(b.fd);
    if (rc != 0) /* 1: another rank's failure */
        return fail_all(rc < 0 ? rc : 0, err, errlen);
    ran_job = 1;
    if (rank != 0)
        return 0; /* stdout is /dev/null here: the command prints nothing */
    for (size_t at = 0; at + 24 <= total;) {
        uint64_t head[3];
        memcpy(head, all + at, sizeof head);
        at += sizeof head;
        if (head[2] > total - at) {
            rc = SLUICE_EINVAL;
        } else {
            rc = ordered ? sluice_job_resume_unit_ref(job, head[0], head[1],
                                                      all + at, (size_t)head[2])
                         : sluice_job_resume_unit(job, head[0], head[1],
                                                  all + at, (size_t)head[2]);
        }
        if (rc < 0) {
            snprintf(err, errlen, "%s", sluice_strerror(rc));
            break;
        }
        at += ((size_t)head[2] + 7) & ~(size_t)7;
    }
    if (rc == 0)
        rc = sluice_job_run(job, err, errlen);
    if (ordered) {
        if (all)
            munmap(all, total);
        spool_remove();
    } else {
        free(all);
    }
    return rc;
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
    cli_job_runner_cleanup = spool_remove;
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
