/* util.h -- helpers shared by the test programs. */
#ifndef SLUICE_TEST_UTIL_H
#define SLUICE_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Path of a test plugin built in tests/ (SLUICE_TEST_PLUGIN_DIR). */
const char *tu_plugin(const char *name);
/* A fresh temporary directory, removed at exit. */
const char *tu_tmpdir(void);
/* Writes a file; aborts the test program on failure. */
void tu_write(const char *path, const void *data, size_t len);
/* Deterministic PRNG (xorshift64*). */
uint64_t tu_rand(uint64_t *state);
/* Path of the running test binary's build root (SLUICE_BUILD_ROOT). */
const char *tu_build_root(void);

#endif
