/*
 * ignore.h -- .gitignore/.ignore rules for the walker (internal).
 *
 * Two layers.  A rule list is one ignore file parsed with git's syntax and
 * matched with git's semantics (dir.c and wildmatch.c).  An ignore stack is
 * what a walk carries: one frame per directory from the top of the git
 * repository (or from the operand outside one) down to the directory being
 * read, each holding that directory's .ignore and .gitignore.  All paths
 * are relative to the stack's anchor (the repository's top, or the operand
 * outside a repository), '/'-separated, no leading or trailing slash.
 * Single-threaded: a stack belongs to one walk.
 */
#ifndef SLUICE_IGNORE_H
#define SLUICE_IGNORE_H

#include <stddef.h>

/* One parsed ignore file. */
typedef struct sluice__ignore_rule sluice__ignore_rule;
typedef struct sluice__ignore_list {
    char *base;                 /* its directory, relative to the anchor */
    sluice__ignore_rule *rules; /* in file order */
    size_t n;                   /* number of rules */
} sluice__ignore_list;

/* git's wildmatch with WM_PATHNAME: 1 when `text` matches `pattern`. */
int sluice__wildmatch(const char *pattern, const char *text);

/* Parses `len` bytes of ignore-file text into `l` (zeroed by the caller),
 * with `base` the file's directory relative to the anchor ("" for the
 * anchor).  Returns 0 or SLUICE_ENOMEM; free with sluice__ignore_list_free
 * either way. */
int sluice__ignore_list_parse(sluice__ignore_list *l, const char *base,
                              const char *text, size_t len);
void sluice__ignore_list_free(sluice__ignore_list *l);

/* The verdict of the last rule of `l` matching `path` (relative to the
 * anchor; is_dir when it names a directory): 1 ignored, 0 re-included by a
 * "!" rule, -1 no rule matches. */
int sluice__ignore_list_match(const sluice__ignore_list *l, const char *path,
                              int is_dir);

/* --------------------------------------------------------- the stack */

typedef struct sluice__ignore sluice__ignore;

/* A stack for walking directory `dir`: finds the git repository holding it
 * (the nearest ancestor, `dir` included, with a .git entry) and reads the
 * ignore files of the directories above `dir` up to that repository's top,
 * and its .git/info/exclude.  *rel gets `dir` relative to the anchor ("" at
 * the anchor; owned by the stack).  Returns 0, SLUICE_ENOMEM, or -errno
 * when `dir` cannot be resolved. */
int sluice__ignore_new(const char *dir, sluice__ignore **out, const char **rel);
void sluice__ignore_free(sluice__ignore *ig);

/* Pushes the frame of directory `rel` (open as `dfd`, not consumed): reads
 * its .ignore, its .gitignore inside a repository, and when it holds a .git
 * entry starts a repository of its own.  Returns 0 (pop it when leaving
 * the directory) or SLUICE_ENOMEM (nothing pushed). */
int sluice__ignore_push(sluice__ignore *ig, int dfd, const char *rel);
void sluice__ignore_pop(sluice__ignore *ig);

/* 1 when `rel` (a directory when is_dir) is ignored by the frames pushed:
 * .ignore rules first (deepest file with a matching rule decides), then
 * .gitignore rules of the current repository, then its info/exclude. */
int sluice__ignore_match(const sluice__ignore *ig, const char *rel, int is_dir);

#endif
