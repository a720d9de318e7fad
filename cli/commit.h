/*
 * commit.h -- putting a finished output file under its final name, the one
 * way every command that writes files does it (gzip, gunzip, replace -o,
 * replace --in-place, and sluice-mpi through them).
 *
 * The caller writes the output to a temporary file in the target's
 * directory, syncs it and gives it its mode and times; cli_commit moves it
 * onto the target in one step that cannot lose a file somebody else put
 * there meanwhile, then syncs the directory.  Only after it returns 0 may
 * the caller remove an input.
 */
#ifndef SLUICE_CLI_COMMIT_H
#define SLUICE_CLI_COMMIT_H

#include <signal.h>
#include <sys/stat.h>

typedef enum cli_commit_how {
    /* The target must not exist: EEXIST if it does, whoever made it and
     * whenever (another input of this run, another process).  Atomic:
     * renameat2(RENAME_NOREPLACE), else link(2) then unlink(2), else an
     * O_EXCL placeholder that the rename then replaces. */
    CLI_COMMIT_NEW,
    /* Any file under the target's name is replaced (-f). */
    CLI_COMMIT_REPLACE,
    /* The target must still be the file `was` describes (device, inode,
     * size, modification time): the input rewritten in place.
     * renameat2(RENAME_EXCHANGE) swaps the two, then the file swapped out
     * is checked, and swapped back when it is not `was` (ESTALE): a file
     * another process put there, or wrote to, stays. */
    CLI_COMMIT_SAME,
} cli_commit_how;

/* cli_commit's answer when swapping back failed: the other file is left
 * under the temporary name, which the caller must then tell the user. */
#define CLI_COMMIT_LEFT (-1)

/* Moves temporary file `tmp` onto `target` as `how` says and fsyncs the
 * target's directory.  `was` is read with CLI_COMMIT_SAME only.  Returns 0,
 * or an errno: EEXIST (CLI_COMMIT_NEW, the target exists), ESTALE
 * (CLI_COMMIT_SAME, the target is another file now), the failed call's;
 * or CLI_COMMIT_LEFT.  When the move fails the target is as it was and
 * `tmp` is removed (CLI_COMMIT_LEFT: the target holds the new output and
 * `tmp` the other file); a failed directory sync is reported after the
 * move.  SIGINT, SIGTERM and SIGHUP, whose handlers unlink the commands'
 * temporary files, wait while it moves; `*live`, the flag that tells such
 * a handler `tmp` is there to unlink, is cleared before they may come. */
int cli_commit(const char *tmp, const char *target, cli_commit_how how,
               const struct stat *was, volatile sig_atomic_t *live);

#endif
