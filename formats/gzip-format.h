/*
 * gzip-format.h -- the gzip format's constants (RFC 1952) and gzip's own
 * wording for bad data, shared by the engine's gzip reader (gzread.c) and
 * the gzip and gunzip plugins so that every decoder says the same thing in
 * the same words.  Header-only and private: it is not part of the SDK, is
 * never installed, and only the targets that include it have this folder
 * on their include path, so its names need no prefix.
 */
#ifndef SLUICE_GZIP_FORMAT_H
#define SLUICE_GZIP_FORMAT_H

#define GZ_ID1 0x1f
#define GZ_ID2 0x8b
#define GZ_ID2_OLD 0x9e /* gzip 0.5's magic: gzip -d still reads it */
#define GZ_DEFLATED 8
#define GZ_FIXED 10   /* ID1 ID2 CM FLG MTIME(4) XFL OS */
#define GZ_TRAILER 8  /* CRC32 ISIZE */
#define GZ_FHCRC 0x02 /* FLG bits */
#define GZ_FEXTRA 0x04
#define GZ_FNAME 0x08
#define GZ_FCOMMENT 0x10
#define GZ_FENCRYPTED 0x20 /* gzip's name for bit 5 */
#define GZ_FRESERVED 0xc0
#define GZ_OS_UNIX 3

/* gzip's messages (gzip 1.12), after "FILE: ". */
#define MSG_NOT_GZIP "not in gzip format"
#define MSG_EOF "unexpected end of file"
#define MSG_FORMAT "invalid compressed data--format violated"
#define MSG_CRC "invalid compressed data--crc error"
#define MSG_LENGTH "invalid compressed data--length error"
#define MSG_GARBAGE "trailing garbage after compressed data"

#endif /* SLUICE_GZIP_FORMAT_H */
