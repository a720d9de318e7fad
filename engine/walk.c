/*
 * walk.c -- the regular files under a directory operand, one at a time.
 *
 * A walk is a pull iterator, like the archive reader (archive.c):
 * sluice__walk_open allocates it and touches nothing on disk; each
 * sluice__walk_next gives the next entry (a path with its stat data, or
 * with the error that makes it an input that failed), or says the walk is
 * over.  It knows nothing of jobs: inputs.c pulls a batch of entries each
 * time planning reaches the operand, so a directory is expanded while
 * workers are busy with what came before.  A walk belongs to one thread.
 *
 * Order: depth first, the entries of each directory sorted by name in byte
 * order (strcmp), so it is the same on every run and every machine.
 * Version-control directories (.git, .hg, .svn) are always skipped; hidden
 * entries (names starting with '.') are skipped unless SLUICE_ADD_HIDDEN;
 * ignored entries are skipped unless SLUICE_ADD_NO_IGNORE (ignore.c: the
 * .ignore and .gitignore files of each walked directory and of its parents
 * up to the top of its git repository, and .git/info/exclude, with git's
 * semantics; an ignored directory is not entered); --include, --exclude and
 * --max-depth filter (sluice_walk_opts).  The operand itself is walked even
 * when it is hidden or ignored.  Symbolic links inside a tree are skipped,
 * or with SLUICE_ADD_FOLLOW followed: a link to a file is that file, a link
 * to a directory is walked, a broken link is an input carrying its error
 * (ENOENT).  A directory that is one of its own ancestors on the stack
 * (through a link, or a bind mount) is an input carrying ELOOP.  FIFOs,
 * sockets and devices inside a tree are skipped (they are read only when
 * named).  The d_type from getdents spares a stat for directories and
 * links; regular files get one fstatat, because callers lay out output by
 * file sizes.  A directory that cannot be read, or an entry that vanished
 * after its directory was read, becomes an input carrying the error in its
 * place in the order, and the walk goes on.
 *
 * State: an explicit stack of frames, one per directory from the operand
 * down to the one being read.  A frame holds its directory's entries
 * (read whole and sorted when it is entered), the next one to take, and
 * the directory's identity (st_dev, st_ino).  The path of the top frame's
 * next entry is built in one buffer shared by all frames (each frame knows
 * its length), and so is the same path relative to the ignore stack's
 * anchor; the ignore stack holds exactly one frame per walk frame
 * (ignore.h push on entering, pop on leaving).
 *
 * Descriptors: only the WALK_OPEN_MAX deepest frames keep their directory
 * open, so a deep tree costs a bounded number of descriptors.  A frame whose
 * descriptor was closed is reopened when the walk returns to it: through
 * ".." of the child being left (one openat), or, when that child was
 * entered through a link, name by name from the nearest open ancestor (or
 * the operand); either way its identity is checked, so a directory moved
 * meanwhile is reported (ENOENT), never walked in its place.  Every call
 * is relative to a directory descriptor, so paths longer than PATH_MAX walk
 * too (reading such a file may then fail with ENAMETOOLONG).
 */
#include <assert.h>
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

/* Directory descriptors a walk keeps open at most (plus one briefly). */
#define WALK_OPEN_MAX 32

typedef struct dent {
    char *name;
    unsigned char type; /* DT_* from getdents */
} dent;

typedef struct frame {
    dent *ents;      /* entries, sorted */
    char *pool;      /* their names, NUL-terminated, one allocation */
    size_t n;        /* entries */
    size_t next;     /* the next entry to take */
    size_t plen;     /* length of this directory's path in w->path */
    size_t name_off; /* where its name starts there (0 for the operand) */
    size_t rlen;     /* length of its path in w->rel */
    int fd;          /* the directory, or -1 (closed to bound descriptors) */
    int depth;       /* its entries are this many levels below the operand */
    int via_link;    /* entered through a symbolic link */
    dev_t dev;       /* identity: loops, and checking a reopen */
    ino_t ino;
} frame;

enum { W_NEW, W_WALKING, W_OVER };

struct sluice__walk {
    char *root;                   /* the operand */
    unsigned flags;               /* SLUICE_ADD_* */
    const sluice_walk_opts *opts; /* may be NULL; not owned */
    size_t root_len;              /* bytes of "operand/" before a path
                                     relative to it */
    sluice__ignore *ig;           /* NULL with SLUICE_ADD_NO_IGNORE */
    int state;                    /* W_* */
    int err;                      /* a fatal error, returned again */
    frame *f;                     /* the stack, operand first */
    size_t n, cap;                /* frames, allocated */
    size_t nopen;                 /* frames holding a descriptor */
    sluice__walk_entry cur;       /* the entry found by this call */
    int have;                     /* cur is set */
    size_t lo;                    /* no frame below this one is open */
    char *path;                   /* top frame's path, then an entry's */
    size_t path_cap;
    char *rel; /* the same relative to the ignore anchor */
    size_t rel_cap;
};

/* ------------------------------------------------------------ helpers */

static int cmp_dent(const void *a, const void *b)
{
    return strcmp(((const dent *)a)->name, ((const dent *)b)->name);
}

int sluice__glob_hit(const char *const *globs, const char *rel)
{
    const char *name = strrchr(rel, '/');
    name = name ? name + 1 : rel;
    for (; globs && *globs; globs++) {
        int full = strchr(*globs, '/') != NULL;
        if (fnmatch(*globs, full ? rel : name, full ? FNM_PATHNAME : 0) == 0)
            return 1;
    }
    return 0;
}

/* Whether a glob of the list matches the entry at `path` (name: its last
 * component), relative to the operand. */
static int glob_hit(const sluice__walk *w, const char *const *globs,
                    const char *path, const char *name)
{
    return sluice__glob_hit(
        globs, strlen(path) > w->root_len ? path + w->root_len : name);
}

/* --include / --exclude / --max-depth for an entry `depth` levels below
 * the operand: 1 to leave it out. */
static int filtered(const sluice__walk *w, const char *path, const char *name,
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

static int skip_name(const sluice__walk *w, const char *n)
{
    if (n[0] != '.')
        return 0;
    return !strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, ".git") ||
           !strcmp(n, ".hg") || !strcmp(n, ".svn") ||
           !(w->flags & SLUICE_ADD_HIDDEN);
}

/* Writes buf[0..len) + "/" (unless empty or ending with one) + name and a
 * NUL into *buf, growing it.  Returns the new length or SLUICE_ENOMEM. */
static int64_t append(char **buf, size_t *cap, size_t len, const char *name)
{
    size_t nl = strlen(name);
    size_t slash = len > 0 && (*buf)[len - 1] != '/';
    size_t need = len + slash + nl + 1;
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < need)
            ncap *= 2;
        char *p = realloc(*buf, ncap);
        if (!p)
            return SLUICE_ENOMEM;
        *buf = p;
        *cap = ncap;
    }
    if (slash)
        (*buf)[len] = '/';
    memcpy(*buf + len + slash, name, nl + 1);
    return (int64_t)(len + slash + nl);
}

/* 1 when the entry whose anchor-relative path is in w->rel is ignored;
 * < 0 on error. */
static int ignored(const sluice__walk *w, int is_dir)
{
    return w->ig ? sluice__ignore_match(w->ig, w->rel, is_dir) : 0;
}

/* The entry this call gives: `path` (w->path or w->root, left as it is
 * until the next call) with its stat data or its error.  Every caller
 * returns right after, back to sluice__walk_next. */
static int emit(sluice__walk *w, const char *path, const struct stat *st,
                int err)
{
    w->cur.path = path;
    w->cur.stat_ok = st != NULL;
    if (st)
        w->cur.st = *st;
    w->cur.err = err;
    w->have = 1;
    return 0;
}

/* Frame k holds `fd` now; past the bound, the shallowest open frame other
 * than the top one gives its descriptor up. */
static void set_fd(sluice__walk *w, size_t k, int fd)
{
    w->f[k].fd = fd;
    w->nopen++;
    if (w->lo > k)
        w->lo = k;
    while (w->nopen > WALK_OPEN_MAX) {
        while (w->f[w->lo].fd < 0)
            w->lo++;
        assert(w->lo < w->n - 1); /* the top frame is open */
        close(w->f[w->lo].fd);
        w->f[w->lo++].fd = -1;
        w->nopen--;
    }
}

/* Opens frame k's directory and checks it is still the same one.  Returns
 * the descriptor or -errno (ENOENT when something else is there now). */
static int reopen(sluice__walk *w, size_t k)
{
    frame *f = w->f;
    size_t i = k;
    int cur = -1, owned = 0;
    while (i > 0 && cur < 0) {
        i--;
        cur = f[i].fd;
    }
    if (cur < 0) { /* no open ancestor: from the operand */
        cur = open(w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
            return -errno;
        owned = 1;
        i = 0;
    }
    /* Frames i+1..k, name by name, from f[i]'s directory. */
    for (size_t j = i + 1; j <= k; j++) {
        char *end = w->path + f[j].plen, saved = *end;
        *end = '\0';
        int nfd = openat(cur, w->path + f[j].name_off,
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                             (f[j].via_link ? 0 : O_NOFOLLOW));
        int e = errno;
        *end = saved;
        if (owned)
            close(cur);
        if (nfd < 0)
            return -e;
        cur = nfd;
        owned = 1;
    }
    struct stat st;
    if (fstat(cur, &st) < 0 || st.st_dev != f[k].dev || st.st_ino != f[k].ino) {
        close(cur);
        return -ENOENT;
    }
    return cur;
}

/* ------------------------------------------------------- entering/leaving */

/* Enters directory `fd` (consumed), whose path is w->path[0..plen) (name
 * at name_off) and w->rel[0..rlen); its entries are `depth` levels below
 * the operand.  `id` is its stat data when the caller has it.  Pushes a
 * frame, or gives an entry carrying the error; an empty directory gives
 * nothing.  Returns 0 or a fatal negative code. */
static int enter(sluice__walk *w, int fd, size_t plen, size_t name_off,
                 size_t rlen, int depth, int via_link, const struct stat *id)
{
    struct stat st;
    if (!id) {
        if (fstat(fd, &st) < 0) {
            int e = errno;
            close(fd);
            return emit(w, w->path, NULL, e);
        }
        id = &st;
    }
    for (size_t i = 0; i < w->n; i++) {
        if (w->f[i].dev == id->st_dev && w->f[i].ino == id->st_ino) {
            close(fd);
            return emit(w, w->path, id, ELOOP);
        }
    }

    /* Read all its entries through a second descriptor: the stream goes,
     * the frame keeps `fd` for stat and open. */
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        close(fd);
        return emit(w, w->path, NULL, e);
    }
    int follow = (w->flags & SLUICE_ADD_FOLLOW) != 0;
    dent *ents = NULL;
    char *pool = NULL;
    size_t n = 0, cap = 0, used = 0, pool_cap = 0;
    int rc = 0, rerr;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            rerr = errno;
            break;
        }
        unsigned char t = de->d_type;
        /* Never inputs: FIFOs, sockets, devices; links unless followed. */
        if ((t != DT_REG && t != DT_DIR && t != DT_UNKNOWN &&
             (t != DT_LNK || !follow)) ||
            skip_name(w, de->d_name))
            continue;
        size_t nl = strlen(de->d_name) + 1;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            dent *p = realloc(ents, ncap * sizeof *p);
            if (!p) {
                rc = SLUICE_ENOMEM;
                break;
            }
            ents = p;
            cap = ncap;
        }
        if (used + nl > pool_cap) {
            size_t ncap = pool_cap ? pool_cap : 256;
            while (ncap < used + nl)
                ncap *= 2;
            char *p = realloc(pool, ncap);
            if (!p) {
                rc = SLUICE_ENOMEM;
                break;
            }
            pool = p;
            pool_cap = ncap;
        }
        memcpy(pool + used, de->d_name, nl);
        ents[n].name = (char *)(uintptr_t)used; /* an offset until done */
        ents[n].type = t;
        used += nl;
        n++;
    }
    closedir(d);
    if (rc == 0 && rerr)
        rc = emit(w, w->path, NULL, rerr);
    if (rc < 0 || rerr || n == 0) {
        free(ents);
        free(pool);
        close(fd);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        ents[i].name = pool + (uintptr_t)ents[i].name;
    if (n > 1)
        qsort(ents, n, sizeof *ents, cmp_dent);

    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        frame *p = realloc(w->f, ncap * sizeof *p);
        if (!p) {
            rc = SLUICE_ENOMEM;
            goto fail;
        }
        w->f = p;
        w->cap = ncap;
    }
    if (w->ig) {
        w->rel[rlen] = '\0';
        if ((rc = sluice__ignore_push(w->ig, fd, w->rel)) < 0)
            goto fail;
    }
    w->f[w->n++] = (frame){.ents = ents,
                           .pool = pool,
                           .n = n,
                           .next = 0,
                           .plen = plen,
                           .name_off = name_off,
                           .rlen = rlen,
                           .fd = -1,
                           .depth = depth,
                           .via_link = via_link,
                           .dev = id->st_dev,
                           .ino = id->st_ino};
    set_fd(w, w->n - 1, fd);
    return 0;
fail:
    free(ents);
    free(pool);
    close(fd);
    return rc;
}

/* Pops the top frame.  When its parent's descriptor was closed, reopens it
 * through ".." of this one first (cheap, and it keeps the way back up
 * open); a frame entered through a link has another parent on disk, so its
 * parent is reopened later, name by name, if it has entries left. */
static void leave(sluice__walk *w)
{
    frame *t = &w->f[w->n - 1];
    int pfd = -1;
    if (w->n > 1 && t[-1].fd < 0 && t->fd >= 0 && !t->via_link) {
        struct stat st;
        pfd = openat(t->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd >= 0 && (fstat(pfd, &st) < 0 || st.st_dev != t[-1].dev ||
                         st.st_ino != t[-1].ino)) {
            close(pfd);
            pfd = -1;
        }
    }
    if (t->fd >= 0) {
        close(t->fd);
        w->nopen--;
    }
    if (w->ig)
        sluice__ignore_pop(w->ig);
    free(t->ents);
    free(t->pool);
    w->n--;
    if (pfd >= 0)
        set_fd(w, w->n - 1, pfd);
}

/* ---------------------------------------------------------- one entry */

/* Takes the top frame's next entry: gives it, enters it, or skips it.
 * Returns 0 or a fatal negative code. */
static int take(sluice__walk *w)
{
    frame *f = &w->f[w->n - 1];
    const dent *e = &f->ents[f->next++];
    int64_t plen = append(&w->path, &w->path_cap, f->plen, e->name);
    if (plen < 0)
        return (int)plen;
    size_t name_off = (size_t)plen - strlen(e->name);
    int64_t rlen = 0;
    if (w->ig && (rlen = append(&w->rel, &w->rel_cap, f->rlen, e->name)) < 0)
        return (int)rlen;
    /* w->path and w->rel now name the entry. */
    const char *child = w->path;
    int dfd = f->fd, depth = f->depth, via_link = 0, have_st = 0, r;
    unsigned char t = e->type;
    struct stat st;

    if (t == DT_REG || t == DT_DIR) {
        if ((r = ignored(w, t == DT_DIR)) != 0)
            return r < 0 ? r : 0;
    }
    if (t == DT_UNKNOWN || t == DT_REG) {
        if (fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            /* Vanished between readdir and stat: say so in order. */
            return emit(w, child, NULL, errno);
        }
        have_st = 1;
        unsigned char was = t;
        t = S_ISREG(st.st_mode)   ? DT_REG
            : S_ISDIR(st.st_mode) ? DT_DIR
            : S_ISLNK(st.st_mode) ? DT_LNK
                                  : DT_UNKNOWN;
        if (t == DT_LNK && !(w->flags & SLUICE_ADD_FOLLOW))
            return 0;
        if (was == DT_UNKNOWN && (t == DT_REG || t == DT_DIR) &&
            (r = ignored(w, t == DT_DIR)) != 0)
            return r < 0 ? r : 0;
    }
    if (t == DT_LNK) { /* SLUICE_ADD_FOLLOW: the target decides */
        via_link = 1;
        if (fstatat(dfd, e->name, &st, 0) < 0) {
            int err = errno; /* ENOENT: broken; ELOOP: links in a ring */
            /* git sees a link as a file: rules and filters as for one. */
            if ((r = ignored(w, 0)) != 0)
                return r < 0 ? r : 0;
            if (filtered(w, child, e->name, 0, depth))
                return 0;
            return emit(w, child, NULL, err);
        }
        have_st = 1;
        t = S_ISREG(st.st_mode)   ? DT_REG
            : S_ISDIR(st.st_mode) ? DT_DIR
                                  : DT_UNKNOWN;
        if (t != DT_UNKNOWN && (r = ignored(w, t == DT_DIR)) != 0)
            return r < 0 ? r : 0;
    }
    if ((t == DT_REG || t == DT_DIR) &&
        filtered(w, child, e->name, t == DT_DIR, depth))
        return 0;
    r = 0;
    if (t == DT_REG) {
        r = emit(w, child, have_st ? &st : NULL, 0);
    } else if (t == DT_DIR) {
        int cfd = openat(dfd, e->name,
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                             (via_link ? 0 : O_NOFOLLOW));
        if (cfd < 0) {
            int err = errno;
            /* Callers lay out output by stat data: give it if we can. */
            if (!have_st &&
                fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                have_st = 1;
            r = emit(w, child, have_st ? &st : NULL, err);
        } else {
            /* A link's stat is its target's: the directory just opened. */
            r = enter(w, cfd, (size_t)plen, name_off, (size_t)rlen, depth + 1,
                      via_link, via_link ? &st : NULL);
        }
    }
    /* FIFOs, sockets, devices (also behind links): not a tree's contents. */
    return r;
}

/* ------------------------------------------------------------ the API */

int sluice__walk_open(const char *path, unsigned flags,
                      const sluice_walk_opts *opts, sluice__walk **out)
{
    *out = NULL;
    sluice__walk *w = calloc(1, sizeof *w);
    if (!w)
        return SLUICE_ENOMEM;
    w->root = strdup(path);
    if (!w->root) {
        free(w);
        return SLUICE_ENOMEM;
    }
    size_t pl = strlen(path);
    w->flags = flags;
    w->opts = opts;
    w->root_len = pl + (pl > 0 && path[pl - 1] != '/');
    w->state = W_NEW;
    *out = w;
    return 0;
}

/* The first call: opens the operand, builds the ignore stack, enters. */
static int start(sluice__walk *w)
{
    w->state = W_WALKING;
    int fd = open(w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return emit(w, w->root, NULL, errno);
    const char *rel = "";
    if (!(w->flags & SLUICE_ADD_NO_IGNORE)) {
        int rc = sluice__ignore_new(w->root, &w->ig, &rel);
        if (rc < 0) {
            close(fd);
            return rc == SLUICE_ENOMEM ? rc : emit(w, w->root, NULL, -rc);
        }
    }
    int64_t plen = append(&w->path, &w->path_cap, 0, w->root);
    int64_t rlen = append(&w->rel, &w->rel_cap, 0, rel);
    if (plen < 0 || rlen < 0) {
        close(fd);
        return SLUICE_ENOMEM;
    }
    return enter(w, fd, (size_t)plen, 0, (size_t)rlen, 1, 0, NULL);
}

int sluice__walk_next(sluice__walk *w, sluice__walk_entry *e)
{
    if (w->err)
        return w->err;
    if (w->state == W_OVER)
        return 0;
    w->have = 0;
    int rc = w->state == W_NEW ? start(w) : 0;
    while (rc == 0 && !w->have && w->n > 0) {
        frame *f = &w->f[w->n - 1];
        if (f->next == f->n) {
            leave(w);
        } else if (f->fd < 0) {
            int fd = reopen(w, w->n - 1);
            if (fd >= 0) {
                set_fd(w, w->n - 1, fd);
            } else {
                /* Gone while we were below it: the rest of it is lost. */
                f->next = f->n;
                w->path[f->plen] = '\0';
                rc = emit(w, w->path, NULL, -fd);
            }
        } else {
            rc = take(w);
        }
    }
    if (rc < 0) {
        w->err = rc;
        return rc;
    }
    if (w->n == 0)
        w->state = W_OVER;
    if (!w->have)
        return 0;
    *e = w->cur;
    return 1;
}

void sluice__walk_free(sluice__walk *w)
{
    if (!w)
        return;
    while (w->n > 0) {
        frame *t = &w->f[--w->n];
        if (t->fd >= 0)
            close(t->fd);
        free(t->ents);
        free(t->pool);
    }
    sluice__ignore_free(w->ig);
    free(w->f);
    free(w->path);
    free(w->rel);
    free(w->root);
    free(w);
}
