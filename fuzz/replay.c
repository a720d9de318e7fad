/*
 * fuzz/replay.c -- runs a fuzz target without libFuzzer: the smoke test of
 * the `fuzz` suite, with any compiler.
 *
 *   fuzz_NAME [-n COUNT] [-s SEED] [-m MAXLEN] PATH...
 *
 * Each PATH is a file (one input, e.g. a crash libFuzzer kept) or a
 * directory (each regular file in it, in name order: a seed corpus).  Then
 * COUNT (default 0) more inputs, each derived from a seed by a few
 * mutations drawn from a PRNG seeded with SEED: flipped bits, bytes set to
 * edge values, inserted and deleted ranges, duplicated ranges, splices of
 * two seeds, truncation.  Same seeds and SEED, same inputs: a failure
 * replays.  The target aborts on a bug; this program then prints which
 * input it was running (the mutant is written to $FUZZ_CRASH_DIR when that
 * is set).  Exit 0 when every input ran.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

typedef struct input {
    unsigned char *p;
    size_t len;
} input;

static input *seeds;
static size_t nseeds, capseeds;
static const char *current = "(none)"; /* what is running, for a crash */
static const unsigned char *cur_p;
static size_t cur_len;

static void add_seed(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    input in = {NULL, 0};
    size_t cap = 0;
    for (;;) {
        if (in.len == cap) {
            cap = cap ? 2 * cap : 4096;
            in.p = realloc(in.p, cap);
            if (!in.p)
                abort();
        }
        size_t got = fread(in.p + in.len, 1, cap - in.len, f);
        if (got == 0)
            break;
        in.len += got;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        exit(2);
    }
    fclose(f);
    if (nseeds == capseeds) {
        capseeds = capseeds ? 2 * capseeds : 16;
        seeds = realloc(seeds, capseeds * sizeof *seeds);
        if (!seeds)
            abort();
    }
    seeds[nseeds++] = in;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        add_seed(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                abort();
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char full[PATH_MAX];
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
            add_seed(full);
        free(names[i]);
    }
    free(names);
}

static void on_abort(int sig)
{
    char path[PATH_MAX];
    const char *dir = getenv("FUZZ_CRASH_DIR");
    fprintf(stderr, "replay: input %s (%zu bytes) failed\n", current, cur_len);
    if (dir && *dir && cur_p) {
        snprintf(path, sizeof path, "%s/crash-replay", dir);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(cur_p, 1, cur_len, f);
            fclose(f);
            fprintf(stderr, "replay: written to %s\n", path);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A mutant of a random seed: 1..8 edits. */
static size_t mutate(uint64_t *rs, unsigned char *out, size_t max)
{
    const input *s = &seeds[fuzz_rand(rs) % nseeds];
    size_t len = s->len < max ? s->len : max;
    memcpy(out, s->p, len);
    int edits = 1 + (int)(fuzz_rand(rs) % 8);
    static const unsigned char edge[] = {0,   1,    0x7f, 0x80, 0xff, '\n',
                                         ' ', 0x1f, 0x8b, 0xc3, '-',  '='};
    for (int e = 0; e < edits; e++) {
        uint64_t r = fuzz_rand(rs);
        size_t at = len ? (size_t)(fuzz_rand(rs) % len) : 0;
        size_t span = 1 + (size_t)(fuzz_rand(rs) % 64);
        switch (r % 8) {
        case 0: /* flip a bit */
            if (len)
                out[at] ^= (unsigned char)(1u << ((r >> 8) % 8));
            break;
        case 1: /* an edge value */
            if (len)
                out[at] = edge[(r >> 8) % sizeof edge];
            break;
        case 2: /* a random byte */
            if (len)
                out[at] = (unsigned char)(r >> 16);
            break;
        case 3: /* insert random bytes */
            if (span > max - len)
                span = max - len;
            memmove(out + at + span, out + at, len - at);
            for (size_t i = 0; i < span; i++)
                out[at + i] = (unsigned char)fuzz_rand(rs);
            len += span;
            break;
        case 4: /* delete a range */
            if (span > len - at)
                span = len - at;
            memmove(out + at, out + at + span, len - at - span);
            len -= span;
            break;
        case 5: { /* duplicate a range in place */
            if (span > len - at)
                span = len - at;
            if (span > max - len)
                span = max - len;
            memmove(out + at + span, out + at, len - at);
            len += span;
            break;
        }
        case 6: { /* splice: the tail of another seed */
            const input *o = &seeds[fuzz_rand(rs) % nseeds];
            size_t from = o->len ? (size_t)(fuzz_rand(rs) % o->len) : 0;
            size_t n = o->len - from;
            if (n > max - at)
                n = max - at;
            memcpy(out + at, o->p + from, n);
            len = at + n;
            break;
        }
        default: /* truncate */
            len = at;
            break;
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    uint64_t seed = 1;
    size_t maxlen = 1 << 16;
    int opt;
    while ((opt = getopt(argc, argv, "n:s:m:")) != -1) {
        switch (opt) {
        case 'n':
            count = strtoul(optarg, NULL, 10);
            break;
        case 's':
            seed = strtoull(optarg, NULL, 10);
            break;
        case 'm':
            maxlen = strtoul(optarg, NULL, 10);
            break;
        default:
            fprintf(stderr,
                    "usage: %s [-n COUNT] [-s SEED] [-m MAXLEN] "
                    "PATH...\n",
                    argv[0]);
            return 2;
        }
    }
    if (optind >= argc || maxlen == 0) {
        fprintf(stderr, "usage: %s [-n COUNT] [-s SEED] [-m MAXLEN] PATH...\n",
                argv[0]);
        return 2;
    }
    char **paths = argv + optind;
    int npaths = argc - optind;
    signal(SIGABRT, on_abort);
    signal(SIGSEGV, on_abort);
    signal(SIGBUS, on_abort);
    signal(SIGFPE, on_abort);
    for (int i = 0; i < npaths; i++)
        add_path(paths[i]);
    if (nseeds == 0) {
        fprintf(stderr, "replay: no inputs\n");
        return 2;
    }
    /* After the seeds are read: a target may change directory. */
    LLVMFuzzerInitialize(&argc, &argv);
    char name[64];
    for (size_t i = 0; i < nseeds; i++) {
        snprintf(name, sizeof name, "seed %zu", i);
        current = name;
        cur_p = seeds[i].p;
        cur_len = seeds[i].len;
        LLVMFuzzerTestOneInput(seeds[i].p, seeds[i].len);
    }
    unsigned char *buf = malloc(maxlen);
    if (!buf)
        abort();
    uint64_t rs = seed;
    for (unsigned long k = 0; k < count; k++) {
        size_t len = mutate(&rs, buf, maxlen);
        /* A copy of exactly len bytes: ASan sees reads past the end. */
        unsigned char *in = malloc(len ? len : 1);
        if (!in)
            abort();
        memcpy(in, buf, len);
        snprintf(name, sizeof name, "mutant %lu (-s %llu)", k,
                 (unsigned long long)seed);
        current = name;
        cur_p = in;
        cur_len = len;
        LLVMFuzzerTestOneInput(in, len);
        free(in);
    }
    cur_p = NULL;
    free(buf);
    for (size_t i = 0; i < nseeds; i++)
        free(seeds[i].p);
    free(seeds);
    printf("replay: %zu seeds, %lu mutants: ok\n", nseeds, count);
    return 0;
}
