/* util.c -- helpers shared by the test programs (see util.h). */
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[PATH_MAX];

static void cleanup(void)
{
    if (tmpdir[0]) {
        char cmd[PATH_MAX + 32];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
}

const char *tu_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/sluice-test-XXXXXX",
                 base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(cleanup);
    }
    return tmpdir;
}

const char *tu_plugin(const char *name)
{
    static char path[PATH_MAX];
    const char *dir = getenv("SLUICE_TEST_PLUGIN_DIR");
    snprintf(path, sizeof path, "%s/%s.so", dir ? dir : ".", name);
    return path;
}

const char *tu_build_root(void)
{
    const char *r = getenv("SLUICE_BUILD_ROOT");
    return r ? r : ".";
}

void tu_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        abort();
    }
    const char *p = data;
    while (len > 0) {
        ssize_t r = write(fd, p, len);
        if (r <= 0) {
            perror(path);
            abort();
        }
        p += r;
        len -= (size_t)r;
    }
    close(fd);
}

uint64_t tu_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
