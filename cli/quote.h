/*
 * quote.h -- quoting names for messages, the way GNU coreutils does it.
 *
 * GNU tools print file names through gnulib's quotearg: `quotef` (shell
 * escape style, quoting only when needed, ':' counts as needing it) in
 * "FILE: error" messages and in wc's output for names that contain a
 * newline; `quoteaf` (shell escape style, always quoted) for operands in
 * usage messages; `quote` (locale style: 'x' or, in a UTF-8 locale, curly
 * quotes) in argmatch's "invalid argument" messages.  sluice must print the
 * same bytes, so these functions reproduce those styles exactly, including
 * their dependence on the current locale (LC_CTYPE: what is printable, and
 * whether the locale is multibyte).
 *
 * The returned strings live in a small ring of static buffers: up to
 * QUOTE_SLOTS results may be used at once (enough for one message).  Not
 * thread-safe; the CLI is single-threaded.
 */
#ifndef SLUICE_CLI_QUOTE_H
#define SLUICE_CLI_QUOTE_H

#include <stddef.h>

#define QUOTE_SLOTS 4

typedef enum quote_style {
    QUOTE_SHELL_ESCAPE,        /* gnulib shell_escape_quoting_style */
    QUOTE_SHELL_ESCAPE_ALWAYS, /* gnulib shell_escape_always_quoting_style */
    QUOTE_LOCALE,              /* gnulib locale_quoting_style */
} quote_style;

enum {
    QUOTE_COLON = 1u << 0, /* ':' needs quoting too (gnulib's _colon forms) */
};

/* Writes the quoted form of `arg` into buf (at most size bytes, always
 * NUL-terminated when size > 0) and returns its length without the NUL,
 * which may exceed size - 1 (then the output was truncated). */
size_t quote_buf(char *buf, size_t size, const char *arg, quote_style style,
                 unsigned flags);

/* The quoted form of `arg`, in a static slot (see above). */
const char *quote_style_str(const char *arg, quote_style style, unsigned flags);

/* gnulib's quotef: a file name in "NAME: message" diagnostics. */
const char *quotef(const char *arg);
/* gnulib's quoteaf: a file name always in quotes. */
const char *quoteaf(const char *arg);
/* gnulib's quote: locale quoting of an option argument or option name. */
const char *quote(const char *arg);

#endif /* SLUICE_CLI_QUOTE_H */
