/*
 * chunker.c -- where units begin and end.
 *
 * A large file is cut into units of a nominal size.  Plugins that work on
 * records (SLUICE_CAP_RECORDS) need the cuts moved to just after a newline;
 * the worker that reads a unit moves both of its ends itself, reading a
 * little past them, so planning a range reads no file data (the
 * coordinator reads a range's bytes only to run a plugin's boundary hook,
 * plan.c, and to report a poisoned unit, supervise.c).  Two
 * neighbours compute the same boundary for the cut they share, because the
 * boundary depends only on the cut position and the file.  A line longer
 * than a unit has no newline in the search window: the cut then stays where
 * it was (split anywhere), so a unit never grows without bound.  Only the
 * last unit of a file can be empty (when the window of the last cut reaches
 * a final newline); an empty unit costs one dispatch and nothing else.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "os.h"

#define SCAN_BUF 4096

int64_t sluice__src_read(void *src, void *buf, size_t n, uint64_t off)
{
    const sluice__src *s = src;
    return sluice__os_pread_full(s->fd, buf, n, s->base + off,
                                 s->expect == UINT64_MAX ? UINT64_MAX
                                                         : s->base + s->expect);
}

int64_t sluice_chunker_boundary(sluice_read_fn rd, void *arg, uint64_t at,
                                uint64_t size, uint64_t limit)
{
    if (at == 0 || at >= size)
        return (int64_t)at;
    unsigned char buf[SCAN_BUF];
    uint64_t pos = at - 1;
    uint64_t stop = limit > size - pos ? size : pos + limit;
    while (pos < stop) {
        size_t want = stop - pos < SCAN_BUF ? (size_t)(stop - pos) : SCAN_BUF;
        int64_t r = rd(arg, buf, want, pos);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        const unsigned char *nl = memchr(buf, '\n', (size_t)r);
        if (nl)
            return (int64_t)(pos + (uint64_t)(nl - buf) + 1);
        pos += (uint64_t)r;
    }
    return (int64_t)at;
}
