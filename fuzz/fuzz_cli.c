/*
 * fuzz/fuzz_cli.c -- the option parsers of `sluice wc|gzip|gunzip|zcat|grep|
 * replace|run`.
 *
 * The CLI's sources (all but main.c) are built into this target and the
 * command's entry point is called as main.c calls it.  Byte 0 of the input
 * picks the command; the rest, split at NUL bytes, is its arguments.  The
 * command runs in an empty private directory with stdin, stdout and stderr
 * on /dev/null, so operands do not exist or are empty: parsing and the
 * error paths run, no real work.  An argument that could reach outside that
 * directory (one holding '/' or "..") or ask for many workers (a number
 * above 16) makes the input uninteresting.  Checked: no crash, no leak
 * (the sanitizers'), and an exit status from docs/exit-codes.md (0..5).
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "fuzz.h"

#define MAX_ARGS 64

/* The commands byte 0 picks among, in a fixed order so that a seed keeps
 * its command: those that run a job (commands.h), not the plugin tools. */
static const char *const fuzzed[] = {
    "wc", "gzip", "gunzip", "zcat", "grep", "replace", "run",
};
#define N_COMMANDS (sizeof fuzzed / sizeof fuzzed[0])

static char exe[PATH_MAX];
static int devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        fuzz_fail("readlink /proc/self/exe failed");
    exe[n] = '\0';
    if (chdir(fuzz_tmpdir()) != 0)
        fuzz_fail("chdir %s failed", fuzz_tmpdir());
    unsetenv("SLUICE_PLUGIN_PATH");
    unsetenv("POSIXLY_CORRECT");
    unsetenv("GZIP");
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        fuzz_fail("/dev/null cannot be opened");
    return 0;
}

/* 1 when the argument stays inside the directory and asks for little. */
static int harmless(const char *a)
{
    if (strchr(a, '/') || strstr(a, ".."))
        return 0;
    for (const char *p = a; *p;) {
        if (*p >= '0' && *p <= '9') {
            unsigned long v = 0;
            while (*p >= '0' && *p <= '9' && v <= 16)
                v = v * 10 + (unsigned long)(*p++ - '0');
            if (v > 16)
                return 0;
            while (*p >= '0' && *p <= '9')
                p++;
        } else {
            p++;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    const cli_command *cmd = cli_command_find(fuzzed[data[0] % N_COMMANDS], 1);
    if (!cmd)
        abort();
    char *copy = malloc(size + 1);
    if (!copy)
        abort();
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    char display[32];
    snprintf(display, sizeof display, "sluice %s", cmd->name);
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = display;
    for (size_t at = 0; at < size - 1 && argc <= MAX_ARGS;) {
        char *a = copy + at;
        if (!harmless(a)) {
            free(copy);
            return 0;
        }
        argv[argc++] = a;
        at += strlen(a) + 1;
    }
    argv[argc] = NULL;

    int saved[3];
    fflush(stdout);
    fflush(stderr);
    for (int fd = 0; fd < 3; fd++) {
        saved[fd] = dup(fd);
        dup2(devnull, fd);
    }
    optind = 0; /* getopt starts afresh */
    cli_env env = {.prog = "sluice", .version = "fuzz", .self_exe = exe};
    int status = cmd->main(argc, argv, &env);
    fflush(stdout);
    fflush(stderr);
    clearerr(stdout);
    clearerr(stdin);
    for (int fd = 0; fd < 3; fd++) {
        dup2(saved[fd], fd);
        close(saved[fd]);
    }
    fuzz_empty_dir(fuzz_tmpdir());
    if (status < 0 || status > 5) {
        fprintf(stderr, "fuzz: sluice %s", cmd->name);
        for (int i = 1; i < argc; i++)
            fprintf(stderr, " '%s'", argv[i]);
        fuzz_fail("exit status %d is not in docs/exit-codes.md", status);
    }
    free(copy);
    return 0;
}
