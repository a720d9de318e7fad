/*
 * fuzz/fuzz.h -- what the fuzz targets share.
 *
 * Every target defines LLVMFuzzerTestOneInput and is linked either with
 * libFuzzer (-Dfuzz=enabled, clang) or with replay.c, which feeds it a
 * seed corpus and a deterministic stream of mutations (the `fuzz` test
 * suite).  A target reports a bug by calling fuzz_fail(), which aborts:
 * both drivers then keep the input that did it.
 */
#ifndef SLUICE_FUZZ_H
#define SLUICE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Prints "fuzz: MESSAGE" on stderr and aborts. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

/* A private temporary directory for this process, made on first use and
 * removed with everything in it at exit. */
const char *fuzz_tmpdir(void);

/* Removes everything inside dir (not dir itself). */
void fuzz_empty_dir(const char *dir);

/* The build tree's root: $SLUICE_BUILD_ROOT, else the directory above the
 * one holding the running binary (fuzz/ of the build tree). */
const char *fuzz_build_root(void);

/* Writes len bytes to path (created or truncated); aborts on failure. */
void fuzz_write(const char *path, const void *data, size_t len);

/* A 64-bit hash of data (FNV-1a then a finaliser): deterministic choices
 * derived from an input. */
uint64_t fuzz_hash(const void *data, size_t len);

/* A growing byte buffer (aborts when memory runs out). */
typedef struct fuzz_buf {
    unsigned char *p;
    size_t len, cap;
} fuzz_buf;
/* Appends n bytes at p. */
void fuzz_buf_add(fuzz_buf *b, const void *p, size_t n);

/* splitmix64 step. */
uint64_t fuzz_rand(uint64_t *state);

#endif
