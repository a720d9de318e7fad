/*
 * overhead.c -- what the engine itself costs per unit of work.
 *
 * Runs the noop plugin (which only counts the bytes it is given) over one
 * page-cache-warm file cut into tiny units, so that nearly all of the time
 * is the engine's: chunking, dispatch through the rings, the workers'
 * reads, completions, gather and merge.  For each chunk size and worker
 * count it prints the median wall time of sluice_job_run() over the repeats
 * divided by the number of units, and checks that the "bytes" counted equal
 * the file's size (exit 1 if not, or if any run fails).
 *
 *   overhead [-s MIB] [-r REPEATS] [-c CHUNK,...] [-j JOBS,...] [FILE]
 *
 * Without FILE, a temporary file of MIB MiB (default 256) is written in
 * $TMPDIR (or /tmp), read once to warm the page cache, and removed at the
 * end.  CHUNK takes k/M suffixes (default 4k,16k,64k); JOBS 0 is the inline
 * run (default 0,1,2).  A run is repeated REPEATS times (default 5) unless
 * the benchmark has used 40 s, so it stays under a minute.
 *
 * Only the public API (sluice.h) is used.  The plugin is looked up by name
 * next to this binary (build tree: build/bench/overhead finds
 * build/plugins/noop/noop.so), or in SLUICE_PLUGIN_PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice/sluice.h"

#define MAX_LIST 16
#define MAX_REPEATS 15
#define TIME_BUDGET_S 40.0 /* stop repeating after this much */

/* What one run's callbacks saw. */
typedef struct run_result {
    uint64_t bytes; /* the noop plugin's counter */
    int inputs;     /* on_input calls */
    int failed;     /* 1 if an input reported an error */
} run_result;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_input(void *user, uint32_t input, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    run_result *r = user;
    uint64_t bytes;

    r->inputs++;
    if (errnum != 0 || partial == NULL) {
        fprintf(stderr,
                "overhead: %s: input %" PRIu32 ": offset %" PRIu64 ": %s\n",
                in->path, input, offset, message ? message : "failed");
        r->failed = 1;
        return;
    }
    memcpy(&bytes, partial, sizeof(bytes)); /* the noop partial */
    r->bytes += bytes;
}

/* Parses "4k", "1M", "65536"; 0 on error. */
static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return 0;
    if (*end == 'k' || *end == 'K') {
        v <<= 10;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        v <<= 20;
        end++;
    }
    if (*end != '\0' || v > SIZE_MAX)
        return 0;
    return (size_t)v;
}

/* Parses a comma-separated list of sizes (is_size: > 0, with suffixes) or
 * of job counts (0..256) into out[]; returns the count, -1 on error. */
static int parse_list(const char *s, size_t *out, int is_size)
{
    char buf[256];
    int n = 0;

    if (strlen(s) >= sizeof(buf))
        return -1;
    strcpy(buf, s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        size_t v;
        if (n == MAX_LIST)
            return -1;
        if (is_size) {
            v = parse_size(tok);
            if (v == 0)
                return -1;
        } else {
            char *end;
            long j = strtol(tok, &end, 10);
            if (end == tok || *end != '\0' || j < 0 || j > 256)
                return -1;
            v = (size_t)j;
        }
        out[n++] = v;
    }
    return n > 0 ? n : -1;
}

/* Writes `size` bytes of short text lines into a new temporary file and
 * returns its path (malloc'd), or NULL.  Writing leaves it in the page
 * cache; it is read back once anyway, as the runs will. */
static char *make_file(uint64_t size)
{
    const char *dir = getenv("TMPDIR");
    char *path;
    unsigned char *buf;
    const size_t bufsz = 1u << 20;
    uint64_t left = size;
    int fd;

    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    if (asprintf(&path, "%s/sluice-overhead.XXXXXX", dir) < 0)
        return NULL;
    buf = malloc(bufsz);
    fd = buf ? mkstemp(path) : -1;
    if (fd < 0) {
        fprintf(stderr, "overhead: %s: %s\n", path, strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < bufsz; i++) /* 64-byte lines of letters */
        buf[i] = (i % 64 == 63) ? '\n' : (unsigned char)('a' + i % 26);
    while (left > 0) {
        size_t n = left < bufsz ? (size_t)left : bufsz;
        ssize_t w = write(fd, buf, n);
        if (w <= 0) {
            fprintf(stderr, "overhead: %s: write: %s\n", path,
                    w < 0 ? strerror(errno) : "short write");
            goto fail_unlink;
        }
        left -= (uint64_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) < 0)
        goto fail_unlink;
    while (read(fd, buf, bufsz) > 0) /* warm: every page touched once */
        ;
    close(fd);
    free(buf);
    return path;

fail_unlink:
    unlink(path);
    close(fd);
fail:
    free(buf);
    free(path);
    return NULL;
}

/* "4k" for whole KiB, else the number of bytes. */
static const char *size_label(size_t n, char *buf, size_t len)
{
    if (n % 1024 == 0)
        snprintf(buf, len, "%zuk", n >> 10);
    else
        snprintf(buf, len, "%zu", n);
    return buf;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* One job over `path`; stores the wall time of sluice_job_run() in *secs.
 * Returns 0 when it ran and counted `size` bytes, -1 otherwise. */
static int run_once(sluice_plugin_handle *plugin, const char *path,
                    uint64_t size, int jobs, size_t chunk, double *secs)
{
    sluice_job_opts opts = {0};
    sluice_callbacks cb = {0};
    run_result r = {0};
    sluice_job *job = NULL;
    char err[512] = "";
    double t0;
    int rc;

    opts.jobs = jobs;
    opts.chunk_size = chunk;
    cb.user = &r;
    cb.on_input = on_input;
    rc = sluice_job_new(plugin, &opts, &cb, &job, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "overhead: job: %s\n",
                err[0] ? err : sluice_strerror(rc));
        return -1;
    }
    rc = sluice_job_add(job, path, 0);
    if (rc < 0) {
        fprintf(stderr, "overhead: %s: %s\n", path, sluice_strerror(rc));
        goto fail;
    }
    t0 = now_s();
    rc = sluice_job_run(job, err, sizeof(err));
    *secs = now_s() - t0;
    if (rc < 0) {
        fprintf(stderr, "overhead: run (-j %d, chunk %zu): %s\n", jobs, chunk,
                err[0] ? err : sluice_strerror(rc));
        goto fail;
    }
    if (r.failed || r.inputs != 1 || r.bytes != size) {
        fprintf(stderr,
                "overhead: -j %d, chunk %zu: counted %" PRIu64
                " bytes in %d results, expected %" PRIu64 " in 1\n",
                jobs, chunk, r.bytes, r.inputs, size);
        goto fail;
    }
    sluice_job_free(job);
    return 0;

fail:
    sluice_job_free(job);
    return -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: overhead [-s MIB] [-r REPEATS] [-c CHUNK,...] "
                    "[-j JOBS,...] [FILE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    size_t chunks[MAX_LIST] = {4 << 10, 16 << 10, 64 << 10};
    size_t jobs[MAX_LIST] = {0, 1, 2};
    int n_chunks = 3, n_jobs = 3, repeats = 5, opt, status = 0;
    uint64_t mib = 256, size;
    char *path = NULL, *tmp = NULL, self[PATH_MAX], err[512] = "";
    sluice_plugin_handle *plugin = NULL;
    ssize_t len;
    struct stat st;
    double start;

    while ((opt = getopt(argc, argv, "s:r:c:j:h")) != -1) {
        switch (opt) {
        case 's':
            mib = strtoull(optarg, NULL, 10);
            if (mib == 0 || mib > (1u << 20))
                usage();
            break;
        case 'r':
            repeats = atoi(optarg);
            if (repeats < 1 || repeats > MAX_REPEATS)
                usage();
            break;
        case 'c':
            n_chunks = parse_list(optarg, chunks, 1);
            if (n_chunks < 0)
                usage();
            break;
        case 'j':
            n_jobs = parse_list(optarg, jobs, 0);
            if (n_jobs < 0)
                usage();
            break;
        default:
            usage();
        }
    }
    if (argc - optind > 1)
        usage();

    /* The plugin lookup starts from this binary's own path. */
    len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len < 0)
        snprintf(self, sizeof(self), "%s", argv[0]);
    else
        self[len] = '\0';
    if (sluice_plugin_open("noop", self, &plugin, err, sizeof(err)) < 0) {
        fprintf(stderr, "overhead: %s\n", err);
        return 1;
    }

    if (optind < argc) {
        path = argv[optind];
        if (stat(path, &st) < 0) {
            fprintf(stderr, "overhead: %s: %s\n", path, strerror(errno));
            status = 1;
            goto out;
        }
        size = (uint64_t)st.st_size;
    } else {
        size = mib << 20;
        path = tmp = make_file(size);
        if (path == NULL) {
            status = 1;
            goto out;
        }
    }

    printf("engine per-unit overhead: noop plugin (%s)\n",
           sluice_plugin_path(plugin));
    printf("file: %s, %" PRIu64 " bytes; %d CPUs; median of up to %d runs\n",
           path, size, sluice_cpu_count(), repeats);
    printf("%8s %4s %8s %6s %10s %10s %9s  %s\n", "chunk", "-j", "units",
           "runs", "wall ms", "us/unit", "GB/s", "bytes counted");

    start = now_s();
    for (int c = 0; c < n_chunks; c++) {
        for (int j = 0; j < n_jobs; j++) {
            double t[MAX_REPEATS], med;
            char label[32];
            uint64_t units = (size + chunks[c] - 1) / chunks[c];
            int n = 0, ok = 1;

            while (n < repeats && (n == 0 || now_s() - start < TIME_BUDGET_S)) {
                if (run_once(plugin, path, size, (int)jobs[j], chunks[c],
                             &t[n]) < 0) {
                    ok = 0;
                    break;
                }
                n++;
            }
            if (!ok) {
                status = 1;
                printf("%8s %4zu %8" PRIu64 " %6s %10s %10s %9s  FAILED\n",
                       size_label(chunks[c], label, sizeof(label)), jobs[j],
                       units, "-", "-", "-", "-");
                continue;
            }
            qsort(t, (size_t)n, sizeof(t[0]), cmp_double);
            med = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
            printf("%8s %4zu %8" PRIu64 " %6d %10.1f %10.2f %9.2f  %" PRIu64
                   " ok\n",
                   size_label(chunks[c], label, sizeof(label)), jobs[j], units,
                   n, med * 1e3, med * 1e6 / (double)(units ? units : 1),
                   (double)size / med / 1e9, size);
            fflush(stdout);
        }
    }

out:
    if (tmp != NULL) {
        unlink(tmp);
        free(tmp);
    }
    sluice_plugin_close(plugin);
    return status;
}
