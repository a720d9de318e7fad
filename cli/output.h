/*
 * output.h -- writing a command's results: one write-all for every file
 * descriptor, and one buffer in front of stdout, written with write(2)
 * (not stdio, so that a worker's bytes reach the reader in order with the
 * command's own and a write error is seen where it happens).
 *
 * A write(2) that writes nothing for a non-empty buffer is an error
 * (EIO): retrying it could loop for ever.
 */
#ifndef SLUICE_CLI_OUTPUT_H
#define SLUICE_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

/* Writes all of data to fd, again after EINTR; 0, or an errno (EIO for a
 * write that wrote nothing). */
int cli_write_all(int fd, const void *data, size_t len);

/* Buffered stdout.  Pieces of cap / 2 bytes or more go out directly,
 * after what is pending; the first error stops all later writes. */
typedef struct cli_out {
    char *buf;  /* cap bytes, or NULL before cli_out_init */
    size_t len; /* pending bytes in buf */
    size_t cap;
    int fd;    /* STDOUT_FILENO */
    bool each; /* flush after every write (stdout is a terminal) */
    int err;   /* errno of the first failed write, or 0 */
} cli_out;

/* Allocates the buffer; 0, or -1 when out of memory. */
int cli_out_init(cli_out *o, int fd, size_t cap);
/* Queues (or writes) len bytes. */
void cli_out_write(cli_out *o, const void *data, size_t len);
/* Writes what is pending. */
void cli_out_flush(cli_out *o);
/* Frees the buffer (pending bytes are dropped: flush first). */
void cli_out_free(cli_out *o);

#endif /* SLUICE_CLI_OUTPUT_H */
