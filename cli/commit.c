/*
 * commit.c -- the last step of every output file (commit.h).
 *
 * A check that the target's name is free made before the job runs proves
 * nothing when the rename comes: another input of the same run may have
 * been committed under that name (d.gz and d.z both give d), or another
 * process may have made the file.  So the move itself refuses to replace:
 * renameat2(RENAME_NOREPLACE) where the kernel and file system have it;
 * link(2) then unlink(2) where they do not (link fails with EEXIST just
 * as atomically); and on a file system without hard links either, an
 * O_EXCL placeholder that the rename then replaces (only a process that
 * removes our placeholder in that window can lose its file).
 */
#include "commit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* renameat2's flags, for C libraries whose headers lack them. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* The kernel or file system does not know the flag. */
static int unsupported(int e)
{
    return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP;
}

/* The moves: 0, or an errno with tmp removed. */
static int gone(const char *tmp, int e)
{
    unlink(tmp);
    return e;
}

static int move_new(const char *tmp, const char *target)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE) == 0)
        return 0;
    if (!unsupported(errno))
        return gone(tmp, errno);
    if (link(tmp, target) == 0) {
        unlink(tmp);
        return 0;
    }
    if (errno != EPERM && errno != EOPNOTSUPP && errno != EMLINK)
        return gone(tmp, errno);
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return gone(tmp, errno);
    close(fd);
    if (rename(tmp, target) != 0) {
        int e = errno;
        unlink(target);
        return gone(tmp, e);
    }
    return 0;
}

/* The file that was read, unchanged since: the same inode, and no write
 * to it since (size, modification time). */
static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int move_same(const char *tmp, const char *target,
                     const struct stat *was)
{
    struct stat now;
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_EXCHANGE) == 0) {
        /* tmp now names what was under target: ours to remove only if
         * it is the file we read. */
        if (lstat(tmp, &now) == 0 && same_file(&now, was)) {
            unlink(tmp);
            return 0;
        }
        /* Swapped back, tmp is ours again; if that fails, tmp holds the
         * other file and is left where it is. */
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_EXCHANGE) != 0)
            return CLI_COMMIT_LEFT;
        return gone(tmp, ESTALE);
    }
    if (!unsupported(errno))
        return gone(tmp, errno);
    /* No exchange here: check, then replace (a narrow window remains). */
    if (lstat(target, &now) != 0)
        return gone(tmp, errno == ENOENT ? ESTALE : errno);
    if (!same_file(&now, was))
        return gone(tmp, ESTALE);
    return rename(tmp, target) == 0 ? 0 : gone(tmp, errno);
}

/* fsyncs the directory holding `path`. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : NULL;
    if (slash && !dir)
        return ENOMEM;
    int e = 0;
    int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        e = errno;
    if (fd >= 0)
        close(fd);
    free(dir);
    return e;
}

int cli_commit(const char *tmp, const char *target, cli_commit_how how,
               const struct stat *was, volatile sig_atomic_t *live)
{
    /* The commands' signal cleanup unlinks tmp: not while it moves. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &old);
    int e;
    switch (how) {
    case CLI_COMMIT_NEW:
        e = move_new(tmp, target);
        break;
    case CLI_COMMIT_SAME:
        e = move_same(tmp, target, was);
        break;
    default:
        e = rename(tmp, target) == 0 ? 0 : gone(tmp, errno);
        break;
    }
    *live = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (e)
        return e;
    /* The new name is durable only once the directory is. */
    return sync_dir(target);
}
