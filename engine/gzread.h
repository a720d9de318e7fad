/*
 * gzread.h -- a pull-based gzip decoder that checks everything.
 *
 * The engine decodes the gzip layer of archives itself (libarchive's gzip
 * filter never checks a trailer).  The decoder pulls compressed bytes from
 * a callback and hands out decompressed bytes; every member's header,
 * header CRC, CRC-32 and ISIZE are checked, and the stream must end after
 * a member (optionally followed by zero bytes, as gzip allows).  See
 * gzread.c for the exact rules.
 *
 * One decoder is used by one thread at a time; decoders share nothing.
 */
#ifndef SLUICE_GZREAD_H
#define SLUICE_GZREAD_H

#include <stdint.h>
#include <sys/types.h>

/* Pulls up to n compressed bytes into buf: returns bytes read (1..n), 0 at
 * the end of the input, or a negative errno.  The decoder stops calling it
 * once it has returned 0 or an error. */
typedef ssize_t (*sluice__pull_fn)(void *arg, void *buf, size_t n);

typedef struct sluice__gzr sluice__gzr;

/* A decoder reading through pull(arg, ...).  Allocates everything it will
 * use (no allocation per read; zlib allocates its window once, on the
 * first read).  Returns 0, SLUICE_ENOMEM, or SLUICE_EINVAL when sluice was
 * built without ISA-L and without zlib (*out is then NULL). */
int sluice__gzr_new(sluice__pull_fn pull, void *arg, sluice__gzr **out);

/* Decodes up to n bytes into buf (at most 1 GiB per call).  Returns:
 *   > 0  bytes decoded.  They may come from a member whose trailer is
 *        still unread: only the final 0 says that everything was checked.
 *   0    after the last member: every header, header CRC, CRC-32 and
 *        ISIZE was checked, and nothing but zero bytes followed.  Also 0
 *        for n == 0.
 *   < 0  an error: SLUICE_EINPUT for bad data, the pull's negative errno,
 *        or SLUICE_ENOMEM (zlib).  sluice__gzr_error() tells why and
 *        where.  The error sticks: later calls return it again. */
ssize_t sluice__gzr_read(sluice__gzr *z, void *buf, size_t n);

/* The message of the error, in gzip's words ("invalid compressed data--crc
 * error", "unexpected end of file", "not in gzip format", "trailing garbage
 * after compressed data", ...; strerror() of a pull error), or NULL when
 * there was none.  *offset (when offset is not NULL) gets the byte offset
 * in the compressed stream where it was found (0 when there is none):
 *   the member's first byte   header errors, crc error, length error;
 *   where inflate stopped     format violated;
 *   the end of the input      unexpected end of file;
 *   the first byte after the last member   trailing garbage;
 *   0                         not in gzip format;
 *   the offset of the failed pull          pull errors.
 * The string lives as long as the decoder. */
const char *sluice__gzr_error(const sluice__gzr *z, uint64_t *offset);

/* Compressed bytes consumed so far (exact between members; at the end, the
 * whole input, trailing zeros included). */
uint64_t sluice__gzr_in_bytes(const sluice__gzr *z);
/* Decompressed bytes produced so far. */
uint64_t sluice__gzr_out_bytes(const sluice__gzr *z);

/* Frees the decoder; NULL is allowed.  Does not call pull. */
void sluice__gzr_free(sluice__gzr *z);

#endif
