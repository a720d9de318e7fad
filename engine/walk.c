/*
 * walk.c -- turning a directory operand into inputs.
 *
 * Depth-first, entries of each directory sorted by name in byte order
 * (strcmp), so the order is the same on every run and every machine.
 * Version-control directories (.git, .hg, .svn) are always skipped; hidden
 * entries (names starting with '.') are skipped unless SLUICE_ADD_HIDDEN;
 * ignored entries are skipped unless SLUICE_ADD_NO_IGNORE (ignore.c: the
 * .ignore and .gitignore files of each walked directory and of its parents
 * up to the top of its git repository, and .git/info/exclude, with git's
 * semantics; an ignored directory is not entered).  The operand itself is
 * walked even when it is hidden or ignored.  Symbolic links inside a tree
 * are not followed; FIFOs, sockets and devices inside a tree
 * are skipped (they are read only when named).  The d_type from getdents
 * spares a stat for directories and links; regular files get one fstatat,
 * because callers lay out output by file sizes.  A directory that cannot be
 * read becomes an input carrying the error, in its place in the order, and
 * the walk goes on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ignore.h"
#include "internal.h"

typedef struct dent {
    char *name;
    unsigned char type; /* DT_* */
} dent;

static int cmp_dent(const void *a, const void *b)
{
    return strcmp(((const dent *)a)->name, ((const dent *)b)->name);
}

/* One walk: the job fed, the operand's flags and its ignore stack. */
typedef struct walker {
    sluice_job *job;
    unsigned flags;     /* SLUICE_ADD_* */
    sluice__ignore *ig; /* NULL with SLUICE_ADD_NO_IGNORE */
    const sluice_walk_opts *opts;
    size_t root_len; /* bytes of "operand/" before a path relative to it */
} walker;

/* Whether a glob of the list matches the entry at `path` (name: its last
 * component): globs with a '/' see the path relative to the operand. */
static int glob_hit(const walker *w, const char *const *globs, const char *path,
                    const char *name)
{
    const char *rel = strlen(path) > w->root_len ? path + w->root_len : name;
    for (; globs && *globs; globs++) {
        int full = strchr(*globs, '/') != NULL;
        if (fnmatch(*globs, full ? rel : name, full ? FNM_PATHNAME : 0) == 0)
            return 1;
    }
    return 0;
}

/* --include / --exclude / --max-depth for an entry `depth` levels below
 * the operand: 1 to leave it out. */
static int filtered(const walker *w, const char *path, const char *name,
                    int is_dir, int depth)
{
    const sluice_walk_opts *o = w->opts;
    if (!o)
        return 0;
    if (o->max_depth >= 0 && depth > o->max_depth)
        return 1;
    if (glob_hit(w, o->exclude, path, name))
        return 1;
    return !is_dir && o->include && o->include[0] &&
           !glob_hit(w, o->include, path, name);
}

static int skip_name(const walker *w, const char *n)
{
    if (n[0] != '.')
        return 0;
    return !strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, ".git") ||
           !strcmp(n, ".hg") || !strcmp(n, ".svn") ||
           !(w->flags & SLUICE_ADD_HIDDEN);
}

static char *join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    int slash = dl > 0 && dir[dl - 1] != '/';
    char *p = malloc(dl + (size_t)slash + nl + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, dl);
    if (slash)
        p[dl] = '/';
    memcpy(p + dl + (size_t)slash, name, nl + 1);
    return p;
}

/* 1 when entry `name` of the directory `rel` (relative to the ignore
 * stack's anchor) is ignored; < 0 on error. */
static int ignored(const walker *w, const char *rel, const char *name,
                   int is_dir)
{
    if (!w->ig)
        return 0;
    char *child = join(rel, name);
    if (!child)
        return SLUICE_ENOMEM;
    int r = sluice__ignore_match(w->ig, child, is_dir);
    free(child);
    return r;
}

/* Walks directory `path`, open as `dfd` (consumed); `rel` is the same
 * directory relative to the ignore stack's anchor; its entries are `depth`
 * levels below the operand. */
static int walk_fd(walker *w, int dfd, const char *path, const char *rel,
                   int depth)
{
    sluice_job *job = w->job;
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = errno;
        close(dfd);
        return sluice__job_push_input(job, path, NULL, e);
    }
    dent *ents = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, pushed = 0;
    if (w->ig) {
        if ((rc = sluice__ignore_push(w->ig, dirfd(d), rel)) < 0)
            goto out;
        pushed = 1;
    }
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (skip_name(w, de->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            dent *p = realloc(ents, ncap * sizeof *p);
            if (!p) {
                rc = SLUICE_ENOMEM;
                goto out;
            }
            ents = p;
            cap = ncap;
        }
        ents[n].name = strdup(de->d_name);
        if (!ents[n].name) {
            rc = SLUICE_ENOMEM;
            goto out;
        }
        ents[n].type = de->d_type;
        n++;
    }
    if (errno) {
        rc = sluice__job_push_input(job, path, NULL, errno);
        goto out;
    }
    if (n > 1)
        qsort(ents, n, sizeof *ents, cmp_dent);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *child = join(path, ents[i].name);
        if (!child) {
            rc = SLUICE_ENOMEM;
            break;
        }
        unsigned char t = ents[i].type;
        struct stat st;
        int have_st = 0;
        if (t == DT_REG || t == DT_DIR) {
            int r = ignored(w, rel, ents[i].name, t == DT_DIR);
            if (r != 0) {
                rc = r < 0 ? r : 0;
                free(child);
                continue;
            }
        }
        if (t == DT_UNKNOWN || t == DT_REG) {
            if (fstatat(dirfd(d), ents[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                /* Vanished between readdir and stat: say so in order. */
                rc = sluice__job_push_input(job, child, NULL, errno);
                free(child);
                continue;
            }
            have_st = 1;
            int was_unknown = t == DT_UNKNOWN;
            t = S_ISREG(st.st_mode)   ? DT_REG
                : S_ISDIR(st.st_mode) ? DT_DIR
                                      : DT_UNKNOWN;
            if (was_unknown && t != DT_UNKNOWN) {
                int r = ignored(w, rel, ents[i].name, t == DT_DIR);
                if (r != 0) {
                    rc = r < 0 ? r : 0;
                    free(child);
                    continue;
                }
            }
        }
        if ((t == DT_REG || t == DT_DIR) &&
            filtered(w, child, ents[i].name, t == DT_DIR, depth)) {
            free(child);
            continue;
        }
        if (t == DT_REG) {
            rc = sluice__job_push_input(job, child, have_st ? &st : NULL, 0);
        } else if (t == DT_DIR) {
            int cfd = openat(dirfd(d), ents[i].name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd < 0) {
                int e = errno;
                /* Callers lay out output by stat data: give it if we can. */
                if (!have_st && fstatat(dirfd(d), ents[i].name, &st,
                                        AT_SYMLINK_NOFOLLOW) == 0)
                    have_st = 1;
                rc =
                    sluice__job_push_input(job, child, have_st ? &st : NULL, e);
            } else {
                char *crel = join(rel, ents[i].name);
                if (!crel) {
                    close(cfd);
                    rc = SLUICE_ENOMEM;
                } else {
                    rc = walk_fd(w, cfd, child, crel, depth + 1);
                    free(crel);
                }
            }
        }
        /* Links, FIFOs, sockets, devices: not part of a tree's contents. */
        free(child);
    }
out:
    if (pushed)
        sluice__ignore_pop(w->ig);
    for (size_t i = 0; i < n; i++)
        free(ents[i].name);
    free(ents);
    closedir(d);
    return rc;
}

int sluice__walk(sluice_job *job, const char *path, unsigned flags,
                 const sluice_walk_opts *opts)
{
    size_t pl = strlen(path);
    walker w = {.job = job,
                .flags = flags,
                .ig = NULL,
                .opts = opts,
                .root_len = pl + (pl > 0 && path[pl - 1] != '/')};
    const char *rel = "";
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sluice__job_push_input(job, path, NULL, errno);
    if (!(flags & SLUICE_ADD_NO_IGNORE)) {
        int rc = sluice__ignore_new(path, &w.ig, &rel);
        if (rc < 0) {
            close(fd);
            return rc == SLUICE_ENOMEM
                       ? rc
                       : sluice__job_push_input(job, path, NULL, -rc);
        }
    }
    int rc = walk_fd(&w, fd, path, rel, 1);
    sluice__ignore_free(w.ig);
    return rc;
}
