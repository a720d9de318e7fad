/*
 * ignore.c -- .gitignore and .ignore rules, with git's semantics.
 *
 * Patterns are parsed as git's dir.c parses them (comments, unescaped
 * trailing spaces, "!", a trailing "/" for directories only, a "/" at the
 * start or in the middle anchoring the pattern to the file's directory)
 * and matched with a transcription of git's wildmatch.c under WM_PATHNAME,
 * so "*", "?" and "[...]" never match '/', and "**" matches across
 * directories only as "**" + "/", "/" + "**" + "/" or "/" + "**".  git
 * compares the literal prefix of an anchored pattern (up to its first
 * special character) before calling wildmatch on the rest; that split
 * decides what a "**" next to the prefix means, so it is kept too.
 *
 * The stack gives ripgrep's precedence: a .ignore rule beats any
 * .gitignore rule; among files of one kind the deepest with a matching
 * rule decides; in one file the last matching line does; .gitignore files
 * count only inside a git repository and stop at its top, below which
 * .git/info/exclude comes last.  A directory that is ignored is not
 * walked, which is why nothing inside it can be re-included.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ignore.h"
#include "sluice/sluice.h"

enum {
    RULE_NEGATE = 1u << 0, /* "!pattern" */
    RULE_DIR = 1u << 1,    /* "pattern/": directories only */
    RULE_BASE = 1u << 2,   /* no '/': matches the last component */
};

struct sluice__ignore_rule {
    char *pat;     /* without "!", leading "/" and trailing "/" */
    size_t prefix; /* length of its literal start (git's nowildcardlen) */
    unsigned flags;
};

/* ------------------------------------------------------------ wildmatch */

enum { WM_MATCH, WM_NOMATCH, WM_ABORT_ALL, WM_ABORT_TO_STARSTAR };

static int class_match(const unsigned char *s, size_t n, int c)
{
#define CC(name, test)                                                         \
    if (n == sizeof name - 1 && !memcmp(s, name, n))                           \
        return (test) ? 1 : 0;
    CC("alnum", isalnum(c))
    CC("alpha", isalpha(c))
    CC("blank", c == ' ' || c == '\t')
    CC("cntrl", iscntrl(c))
    CC("digit", isdigit(c))
    CC("graph", isgraph(c))
    CC("lower", islower(c))
    CC("print", isprint(c))
    CC("punct", ispunct(c))
    CC("space", isspace(c))
    CC("upper", isupper(c))
    CC("xdigit", isxdigit(c))
#undef CC
    return -1; /* not a class name */
}

/* git's dowild(), WM_PATHNAME always on, case-sensitive. */
static int dowild(const unsigned char *p, const unsigned char *text,
                  const unsigned char *start)
{
    unsigned char p_ch;
    for (; (p_ch = *p) != '\0'; text++, p++) {
        int matched, match_slash, negated;
        unsigned char t_ch, prev_ch;
        if ((t_ch = *text) == '\0' && p_ch != '*')
            return WM_ABORT_ALL;
        switch (p_ch) {
        case '\\':
            p_ch = *++p; /* a literal, even at the end ('\0') */
            if (t_ch != p_ch)
                return WM_NOMATCH;
            continue;
        default:
            if (t_ch != p_ch)
                return WM_NOMATCH;
            continue;
        case '?':
            if (t_ch == '/')
                return WM_NOMATCH;
            continue;
        case '*':
            if (*++p == '*') {
                const unsigned char *prev_p = p - 2;
                while (*++p == '*') {
                }
                if ((prev_p < start || *prev_p == '/') &&
                    (*p == '\0' || *p == '/' ||
                     (p[0] == '\\' && p[1] == '/'))) {
                    /* "**" + "/" may match no directory at all. */
                    if (p[0] == '/' && dowild(p + 1, text, start) == WM_MATCH)
                        return WM_MATCH;
                    match_slash = 1;
                } else {
                    match_slash = 0;
                }
            } else {
                match_slash = 0;
            }
            if (*p == '\0') {
                /* Trailing "**" matches all; trailing "*" no '/'. */
                if (!match_slash && strchr((const char *)text, '/'))
                    return WM_NOMATCH;
                return WM_MATCH;
            } else if (!match_slash && *p == '/') {
                /* One "*" then '/': the rest of this component. */
                const char *slash = strchr((const char *)text, '/');
                if (!slash)
                    return WM_NOMATCH;
                text = (const unsigned char *)slash;
                break; /* the loop consumes the '/' */
            }
            for (;;) {
                if (t_ch == '\0')
                    break;
                if ((matched = dowild(p, text, start)) != WM_NOMATCH) {
                    if (!match_slash || matched != WM_ABORT_TO_STARSTAR)
                        return matched;
                } else if (!match_slash && t_ch == '/') {
                    return WM_ABORT_TO_STARSTAR;
                }
                t_ch = *++text;
            }
            return WM_ABORT_ALL;
        case '[':
            p_ch = *++p;
            if (p_ch == '^')
                p_ch = '!';
            negated = p_ch == '!';
            if (negated)
                p_ch = *++p;
            prev_ch = 0;
            matched = 0;
            do {
                if (!p_ch)
                    return WM_ABORT_ALL;
                if (p_ch == '\\') {
                    p_ch = *++p;
                    if (!p_ch)
                        return WM_ABORT_ALL;
                    if (t_ch == p_ch)
                        matched = 1;
                } else if (p_ch == '-' && prev_ch && p[1] && p[1] != ']') {
                    p_ch = *++p;
                    if (p_ch == '\\') {
                        p_ch = *++p;
                        if (!p_ch)
                            return WM_ABORT_ALL;
                    }
                    if (t_ch <= p_ch && t_ch >= prev_ch)
                        matched = 1;
                    p_ch = 0; /* so that prev_ch becomes 0 */
                } else if (p_ch == '[' && p[1] == ':') {
                    const unsigned char *s = p += 2;
                    while ((p_ch = *p) && p_ch != ']')
                        p++;
                    if (!p_ch)
                        return WM_ABORT_ALL;
                    if (p - s < 1 || p[-1] != ':') {
                        /* No ":]": a plain '[' in the set. */
                        p = s - 2;
                        p_ch = '[';
                        if (t_ch == p_ch)
                            matched = 1;
                        continue;
                    }
                    int r = class_match(s, (size_t)(p - s - 1), t_ch);
                    if (r < 0)
                        return WM_ABORT_ALL; /* malformed class */
                    if (r)
                        matched = 1;
                    p_ch = 0;
                } else if (t_ch == p_ch) {
                    matched = 1;
                }
            } while (prev_ch = p_ch, (p_ch = *++p) != ']');
            if (matched == negated || t_ch == '/')
                return WM_NOMATCH;
            continue;
        }
    }
    return *text ? WM_NOMATCH : WM_MATCH;
}

int sluice__wildmatch(const char *pattern, const char *text)
{
    const unsigned char *p = (const unsigned char *)pattern;
    return dowild(p, (const unsigned char *)text, p) == WM_MATCH;
}

/* ------------------------------------------------------------ rule lists */

/* git's trim_trailing_spaces: unescaped trailing spaces go. */
static void trim_trailing_spaces(char *buf)
{
    char *last_space = NULL;
    for (char *p = buf; *p; p++) {
        if (*p == ' ') {
            if (!last_space)
                last_space = p;
            continue;
        }
        if (*p == '\\' && !*++p)
            return;
        last_space = NULL;
    }
    if (last_space)
        *last_space = '\0';
}

static int add_rule(sluice__ignore_list *l, char *line)
{
    unsigned flags = 0;
    if (*line == '!') {
        flags |= RULE_NEGATE;
        line++;
    }
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '/') {
        flags |= RULE_DIR;
        line[--len] = '\0';
    }
    if (!strchr(line, '/'))
        flags |= RULE_BASE;
    else if (*line == '/')
        line++, len--;
    if (len == 0)
        return 0;
    sluice__ignore_rule *r = realloc(l->rules, (l->n + 1) * sizeof *r);
    if (!r)
        return SLUICE_ENOMEM;
    l->rules = r;
    r += l->n;
    r->pat = strdup(line);
    if (!r->pat)
        return SLUICE_ENOMEM;
    r->prefix = strcspn(line, "*?[\\");
    r->flags = flags;
    l->n++;
    return 0;
}

int sluice__ignore_list_parse(sluice__ignore_list *l, const char *base,
                              const char *text, size_t len)
{
    if (!l->base && !(l->base = strdup(base)))
        return SLUICE_ENOMEM;
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
        text += 3;
        len -= 3;
    }
    char *line = NULL;
    int rc = 0;
    while (len > 0 && rc == 0) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) : len;
        size_t used = nl ? n + 1 : n;
        if (n > 0 && text[n - 1] == '\r')
            n--;
        if (n > 0 && text[0] != '#') {
            char *p = realloc(line, n + 1);
            if (!p) {
                rc = SLUICE_ENOMEM;
                break;
            }
            line = p;
            memcpy(line, text, n);
            line[n] = '\0';
            /* A NUL inside a line ends it, as in git. */
            trim_trailing_spaces(line);
            rc = add_rule(l, line);
        }
        text += used;
        len -= used;
    }
    free(line);
    return rc;
}

void sluice__ignore_list_free(sluice__ignore_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->rules[i].pat);
    free(l->rules);
    free(l->base);
    l->rules = NULL;
    l->base = NULL;
    l->n = 0;
}

static int rule_matches(const sluice__ignore_rule *r, const char *name,
                        const char *basename)
{
    if (r->flags & RULE_BASE)
        return sluice__wildmatch(r->pat, basename);
    if (strncmp(r->pat, name, r->prefix) != 0)
        return 0;
    if (r->pat[r->prefix] == '\0')
        return name[r->prefix] == '\0';
    return sluice__wildmatch(r->pat + r->prefix, name + r->prefix);
}

int sluice__ignore_list_match(const sluice__ignore_list *l, const char *path,
                              int is_dir)
{
    if (l->n == 0)
        return -1;
    const char *name = path;
    size_t bl = l->base ? strlen(l->base) : 0;
    if (bl > 0) {
        if (strncmp(path, l->base, bl) != 0 || path[bl] != '/')
            return -1;
        name = path + bl + 1;
    }
    const char *slash = strrchr(name, '/');
    const char *basename = slash ? slash + 1 : name;
    for (size_t i = l->n; i-- > 0;) {
        const sluice__ignore_rule *r = &l->rules[i];
        if ((r->flags & RULE_DIR) && !is_dir)
            continue;
        if (rule_matches(r, name, basename))
            return (r->flags & RULE_NEGATE) ? 0 : 1;
    }
    return -1;
}

/* ------------------------------------------------------------ the stack */

typedef struct frame {
    sluice__ignore_list dot;     /* .ignore */
    sluice__ignore_list git;     /* .gitignore, inside a repository */
    sluice__ignore_list exclude; /* .git/info/exclude, at a repository top */
    int repo_top;                /* this directory holds a .git entry */
    int in_repo;                 /* it or a frame above is a repo_top */
} frame;

struct sluice__ignore {
    frame *f;   /* frames, shallowest first */
    size_t n;   /* frames pushed */
    size_t cap; /* frames allocated */
    char *rel;  /* the operand relative to the anchor */
};

/* Reads ignore file `name` under `dfd` into `l`.  A missing, unreadable or
 * irregular file (a symbolic link included, as git does) adds no rules. */
static int read_list(sluice__ignore_list *l, int dfd, const char *name,
                     const char *base)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size : 0, len = 0;
    char *buf = malloc(cap + 1);
    int rc = 0;
    if (!buf) {
        rc = SLUICE_ENOMEM;
        goto out;
    }
    for (;;) {
        if (len == cap) {
            char *p = realloc(buf, cap * 2 + 64);
            if (!p) {
                rc = SLUICE_ENOMEM;
                goto out;
            }
            buf = p;
            cap = cap * 2 + 63;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* an error reads as the end, like a missing file */
        len += (size_t)r;
    }
    rc = sluice__ignore_list_parse(l, base, buf, len);
out:
    free(buf);
    close(fd);
    return rc;
}

int sluice__ignore_push(sluice__ignore *ig, int dfd, const char *rel)
{
    if (ig->n == ig->cap) {
        size_t ncap = ig->cap ? ig->cap * 2 : 16;
        frame *p = realloc(ig->f, ncap * sizeof *p);
        if (!p)
            return SLUICE_ENOMEM;
        ig->f = p;
        ig->cap = ncap;
    }
    frame *f = &ig->f[ig->n++];
    memset(f, 0, sizeof *f);
    struct stat st;
    int git_dir = 0;
    if (dfd >= 0 && fstatat(dfd, ".git", &st, AT_SYMLINK_NOFOLLOW) == 0) {
        f->repo_top = 1;
        git_dir = S_ISDIR(st.st_mode); /* a .git file (worktree): no exclude */
    }
    f->in_repo = f->repo_top || (ig->n > 1 && ig->f[ig->n - 2].in_repo);
    if (dfd < 0)
        return 0;
    int rc = read_list(&f->dot, dfd, ".ignore", rel);
    if (rc == 0 && f->in_repo)
        rc = read_list(&f->git, dfd, ".gitignore", rel);
    if (rc == 0 && git_dir)
        rc = read_list(&f->exclude, dfd, ".git/info/exclude", rel);
    if (rc < 0)
        sluice__ignore_pop(ig);
    return rc;
}

void sluice__ignore_pop(sluice__ignore *ig)
{
    if (ig->n == 0)
        return;
    frame *f = &ig->f[--ig->n];
    sluice__ignore_list_free(&f->dot);
    sluice__ignore_list_free(&f->git);
    sluice__ignore_list_free(&f->exclude);
}

int sluice__ignore_match(const sluice__ignore *ig, const char *rel, int is_dir)
{
    for (size_t i = ig->n; i-- > 0;) {
        int r = sluice__ignore_list_match(&ig->f[i].dot, rel, is_dir);
        if (r >= 0)
            return r;
    }
    for (size_t i = ig->n; i-- > 0 && ig->f[i].in_repo;) {
        int r = sluice__ignore_list_match(&ig->f[i].git, rel, is_dir);
        if (r >= 0)
            return r;
        if (ig->f[i].repo_top)
            return sluice__ignore_list_match(&ig->f[i].exclude, rel, is_dir) >
                   0;
    }
    return 0;
}

void sluice__ignore_free(sluice__ignore *ig)
{
    if (!ig)
        return;
    while (ig->n > 0)
        sluice__ignore_pop(ig);
    free(ig->f);
    free(ig->rel);
    free(ig);
}

/* Pushes the frames of the directories from the repository's top down to
 * the parent of `abs`, whose length is `len`; `top` is the top's length. */
static int push_parents(sluice__ignore *ig, char *abs, size_t top, size_t len)
{
    size_t end = top;
    while (end < len) {
        char saved = abs[end];
        abs[end] = '\0';
        int fd = open(end ? abs : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const char *rel = abs + top + (abs[top] == '/');
        if (end == top)
            rel = "";
        int rc = sluice__ignore_push(ig, fd, rel);
        if (fd >= 0)
            close(fd);
        abs[end] = saved;
        if (rc < 0)
            return rc;
        /* Next component: up to the next '/' after this one. */
        end++;
        while (end < len && abs[end] != '/')
            end++;
    }
    return 0;
}

int sluice__ignore_new(const char *dir, sluice__ignore **out, const char **rel)
{
    *out = NULL;
    char *abs = realpath(dir, NULL);
    if (!abs)
        return errno == ENOMEM ? SLUICE_ENOMEM : -errno;
    sluice__ignore *ig = calloc(1, sizeof *ig);
    int rc = SLUICE_ENOMEM;
    if (!ig)
        goto fail;
    /* The nearest ancestor holding .git; abs[0..top) names it. */
    size_t len = strlen(abs), top = len;
    int found = 0;
    for (;;) {
        char probe[PATH_MAX + 8];
        struct stat st;
        if (top + 6 > sizeof probe)
            break;
        memcpy(probe, abs, top);
        memcpy(probe + top, "/.git", 6);
        if (lstat(probe, &st) == 0) {
            found = 1;
            break;
        }
        if (top == 0)
            break;
        while (top > 0 && abs[top - 1] != '/')
            top--;
        if (top > 0)
            top--; /* the '/' before the last component */
    }
    if (!found)
        top = len;
    ig->rel = strdup(top < len ? abs + top + 1 : "");
    if (!ig->rel)
        goto fail;
    if (top < len) {
        rc = push_parents(ig, abs, top, len);
        if (rc < 0)
            goto fail;
    }
    free(abs);
    *out = ig;
    *rel = ig->rel;
    return 0;
fail:
    free(abs);
    sluice__ignore_free(ig);
    return rc;
}
