/*
 * output.c -- write-all and the stdout buffer (see output.h).
 */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            return EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cli_out_init(cli_out *o, int fd, size_t cap)
{
    memset(o, 0, sizeof *o);
    o->fd = fd;
    o->buf = malloc(cap);
    if (!o->buf)
        return -1;
    o->cap = cap;
    return 0;
}

/* Writes len bytes unless an earlier write failed. */
static void put(cli_out *o, const void *data, size_t len)
{
    if (!o->err && len)
        o->err = cli_write_all(o->fd, data, len);
}

void cli_out_flush(cli_out *o)
{
    put(o, o->buf, o->len);
    o->len = 0;
}

void cli_out_write(cli_out *o, const void *data, size_t len)
{
    if (o->len + len > o->cap || len >= o->cap / 2)
        cli_out_flush(o);
    if (len >= o->cap / 2) {
        put(o, data, len);
        return;
    }
    memcpy(o->buf + o->len, data, len);
    o->len += len;
    if (o->each)
        cli_out_flush(o);
}

void cli_out_free(cli_out *o)
{
    free(o->buf);
    o->buf = NULL;
    o->len = o->cap = 0;
}
