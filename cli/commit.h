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

#include <sys/stat.h>

typedef enum cli_commit_how {
    /* The target must not exist: EEXIST if it does, whoever made it and
     * whenever (another input of this run, another process).  Atomic:
     * renameat2(RENAME_NOREPLACE), else link(2) then unlink(2), else an
     * O_EXCL placeholder that the rename then replaces. */
    CLI_COMMIT_NEW,
    /* Any file under the target's name is replaced (-f). */
    CLI_COMMIT_REPLACE,
    /* The target must still be the file `was` names (st_dev, st_ino): the
     * input rewritten in place.  renameat2(RENAME_EXCHANGE) swaps the two,
     * then the file swapped out is checked, and swapped back when it is
     * not `was` (ESTALE): a file another process put there stays. */
    CLI_COMMIT_SAME,
} cli_commit_how;

/* Moves temporary file `tmp` onto `target` as `how` says and fsyncs the
 * target's directory.  `was` is read with CLI_COMMIT_SAME only.  Returns 0,
 * or an errno: EEXIST (CLI_COMMIT_NEW, the target exists), ESTALE
 * (CLI_COMMIT_SAME, the target is another file now), or the failed call's.
 * When the move fails the target is untouched and `tmp` is removed (if
 * swapping back fails, `tmp` is left holding the other file); a failed
 * directory sync is reported after the move.  Not async-signal-safe; the
 * caller blocks its cleanup signals around it when its handler may unlink
 * `tmp`. */
int cli_commit(const char *tmp, const char *target, cli_commit_how how,
               const struct stat *was);

#endif
