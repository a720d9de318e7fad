/*
 * quote.c -- GNU-compatible quoting of names for messages (see quote.h).
 *
 * This reproduces the observable behaviour of gnulib's quotearg for the
 * three styles GNU wc uses; it is written from that behaviour, not copied.
 * The rules, per byte of the name:
 *
 *   shell escape (quotef): the name is printed as is unless something in it
 *   needs quoting, and then it is printed in the "always" form below.
 *   Needing quoting: the empty name; \a \b \f \n \r \t \v \ ? ' ; the shell
 *   specials ! " $ & ( ) * ; < = > [ ^ ` | and space; # or ~ as the first
 *   byte; { or } as the whole name; ':' with QUOTE_COLON; any character the
 *   locale does not call printable (every byte >= 0x80 in a unibyte locale,
 *   encoding errors in a multibyte one).
 *
 *   shell escape always (quoteaf): '...' around the name.  Control
 *   characters and unprintable bytes go into $'...' sections: \n \r \t
 *   \a \b \f \v by letter, others as three octal digits per byte; the
 *   section is closed ('') before the next plain byte.  A single quote
 *   becomes '\''.  But when the name contains a single quote and every byte
 *   of it is "harmless" (letters, digits, % + , - . / : ] _, space, the
 *   quote itself, # or ~ at the start, a lone { or }, printable non-ASCII
 *   characters), gnulib prints "name" in double quotes instead, so that
 *   apostrophes read naturally: "it's".
 *
 *   locale (quote): 'name', or with U+2018/U+2019 in a UTF-8 locale;
 *   C escapes (\n, \\, \ooo) inside, and the closing quote is escaped.
 */
#include "quote.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

/* ------------------------------------------------------------ output */

typedef struct qout {
    char *buf;
    size_t size;
    size_t len;
} qout;

static void put(qout *q, char c)
{
    if (q->len < q->size)
        q->buf[q->len] = c;
    q->len++;
}

static void put_str(qout *q, const char *s)
{
    while (*s)
        put(q, *s++);
}

static void put_mem(qout *q, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(q, s[i]);
}

static void put_octal(qout *q, unsigned char c)
{
    put(q, (char)('0' + (c >> 6)));
    put(q, (char)('0' + ((c >> 3) & 7)));
    put(q, (char)('0' + (c & 7)));
}

/* ------------------------------------------------------ classification */

/* One character of the name: how many bytes, and whether it is printable
 * in the current locale.  An encoding error is one unprintable byte; an
 * incomplete character at the end runs to the end of the name. */
typedef struct piece {
    size_t len;
    int printable;
} piece;

static piece scan_piece(const char *arg, size_t i, size_t n, int unibyte)
{
    piece p = {1, 0};
    if (unibyte) {
        p.printable = isprint((unsigned char)arg[i]) != 0;
        return p;
    }
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t w;
    size_t r = mbrtowc(&w, arg + i, n - i, &st);
    if (r == (size_t)-1 || r == 0)
        return p;
    if (r == (size_t)-2) {
        p.len = n - i;
        return p;
    }
    p.len = r;
    p.printable = iswprint((wint_t)w) != 0;
    return p;
}

/* The C escape letter of a control character, or 0. */
static char escape_letter(unsigned char c)
{
    switch (c) {
    case '\a':
        return 'a';
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    case '\v':
        return 'v';
    default:
        return 0;
    }
}

/* Characters that never need quoting in any style. */
static int is_safe(unsigned char c)
{
    return isalnum(c) ? c < 0x80 : c != 0 && strchr("%+,-./:]_", c) != NULL;
}

/* Shell metacharacters (other than the ones with position rules). */
static int is_shell_special(unsigned char c)
{
    return c != 0 && strchr(" !\"$&()*;<=>[^`|", c) != NULL;
}

/* ------------------------------------------------------- shell styles */

/* True when quotef may print the name as it is. */
static int shell_plain(const char *arg, size_t n, unsigned flags, int unibyte)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)arg[i];
        if (escape_letter(c) || c == '\\' || c == '?' || c == '\'' ||
            is_shell_special(c))
            return 0;
        if (c == '{' || c == '}') {
            if (n == 1)
                return 0;
            continue;
        }
        if (c == '#' || c == '~') {
            if (i == 0)
                return 0;
            continue;
        }
        if (c == ':') {
            if (flags & QUOTE_COLON)
                return 0;
            continue;
        }
        if (is_safe(c))
            continue;
        piece p = scan_piece(arg, i, n, unibyte);
        if (!p.printable)
            return 0;
        i += p.len - 1;
    }
    return 1;
}

/* The always-quoted shell form.  Returns through *fallback whether gnulib
 * would print the double-quoted form instead. */
static void shell_always(qout *q, const char *arg, size_t n, int unibyte,
                         int *fallback)
{
    int pending = 0; /* inside a $'...' section */
    int single_quote = 0, all_harmless = 1;

    put(q, '\'');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)arg[i];
        int harmless = 0;
        char letter = escape_letter(c);

        if (letter) {
            if (!pending) {
                put_str(q, "'$'");
                pending = 1;
            }
            put(q, '\\');
            put(q, letter);
        } else if (c == '\'') {
            single_quote = 1;
            harmless = 1;
            put_str(q, "'\\''");
            pending = 0;
        } else if (c == '\\' || c == '?' || is_shell_special(c) || c == '#' ||
                   c == '~' || c == '{' || c == '}' || is_safe(c)) {
            if (is_safe(c) || c == ' ')
                harmless = 1;
            else if ((c == '#' || c == '~') && i == 0)
                harmless = 1;
            else if ((c == '{' || c == '}') && n == 1)
                harmless = 1;
            if (pending) {
                put_str(q, "''");
                pending = 0;
            }
            put(q, (char)c);
        } else {
            piece p = scan_piece(arg, i, n, unibyte);
            harmless = p.printable;
            if (p.printable) {
                if (pending) {
                    put_str(q, "''");
                    pending = 0;
                }
                put_mem(q, arg + i, p.len);
            } else {
                for (size_t k = 0; k < p.len; k++) {
                    if (!pending) {
                        put_str(q, "'$'");
                        pending = 1;
                    }
                    put(q, '\\');
                    put_octal(q, (unsigned char)arg[i + k]);
                }
            }
            i += p.len - 1;
        }
        if (!harmless)
            all_harmless = 0;
    }
    put(q, '\'');
    *fallback = single_quote && all_harmless;
}

/* ------------------------------------------------------- locale style */

static int locale_is_utf8(void)
{
    static const char lq[] = "\xe2\x80\x98";
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t w;
    return mbrtowc(&w, lq, 3, &st) == 3 && w == 0x2018;
}

static void locale_quote(qout *q, const char *arg, size_t n, int unibyte)
{
    int utf8 = locale_is_utf8();
    const char *lq = utf8 ? "\xe2\x80\x98" : "'";
    const char *rq = utf8 ? "\xe2\x80\x99" : "'";
    size_t rqlen = strlen(rq);

    put_str(q, lq);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)arg[i];
        int is_rq = i + rqlen <= n && memcmp(arg + i, rq, rqlen) == 0;
        char letter = escape_letter(c);
        if (letter) {
            put(q, '\\');
            put(q, letter);
        } else if (c == '\\') {
            put_str(q, "\\\\");
        } else if (c < 0x80 &&
                   (is_safe(c) || is_shell_special(c) || strchr("?'#~{}", c))) {
            if (is_rq)
                put(q, '\\');
            put(q, (char)c);
        } else {
            piece p = scan_piece(arg, i, n, unibyte);
            if (p.printable) {
                if (is_rq)
                    put(q, '\\');
                put_mem(q, arg + i, p.len);
            } else {
                for (size_t k = 0; k < p.len; k++) {
                    put(q, '\\');
                    put_octal(q, (unsigned char)arg[i + k]);
                }
            }
            i += p.len - 1;
        }
    }
    put_str(q, rq);
}

/* --------------------------------------------------------------- API */

size_t quote_buf(char *buf, size_t size, const char *arg, quote_style style,
                 unsigned flags)
{
    qout q = {buf, size, 0};
    size_t n = strlen(arg);
    int unibyte = MB_CUR_MAX == 1;

    if (style == QUOTE_LOCALE) {
        locale_quote(&q, arg, n, unibyte);
    } else if (style == QUOTE_SHELL_ESCAPE &&
               shell_plain(arg, n, flags, unibyte)) {
        put_mem(&q, arg, n);
    } else {
        /* Once quoted, the colon needs nothing more. */
        int fallback = 0;
        shell_always(&q, arg, n, unibyte, &fallback);
        if (fallback) {
            q.len = 0;
            put(&q, '"');
            put_mem(&q, arg, n);
            put(&q, '"');
        }
    }
    if (size > 0)
        buf[q.len < size ? q.len : size - 1] = '\0';
    return q.len;
}

const char *quote_style_str(const char *arg, quote_style style, unsigned flags)
{
    static struct {
        char *p;
        size_t cap;
    } slots[QUOTE_SLOTS];
    static unsigned next;

    unsigned s = next++ % QUOTE_SLOTS;
    size_t len = quote_buf(NULL, 0, arg, style, flags);
    if (slots[s].cap <= len) {
        char *p = realloc(slots[s].p, len + 1);
        if (!p)
            return arg; /* out of memory: an unquoted name beats none */
        slots[s].p = p;
        slots[s].cap = len + 1;
    }
    quote_buf(slots[s].p, slots[s].cap, arg, style, flags);
    return slots[s].p;
}

const char *quotef(const char *arg)
{
    return quote_style_str(arg, QUOTE_SHELL_ESCAPE, QUOTE_COLON);
}

const char *quoteaf(const char *arg)
{
    return quote_style_str(arg, QUOTE_SHELL_ESCAPE_ALWAYS, 0);
}

const char *quote(const char *arg)
{
    return quote_style_str(arg, QUOTE_LOCALE, 0);
}
