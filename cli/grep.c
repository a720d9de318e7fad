/*
 * grep.c -- `sluice grep`: GNU grep 3.8's interface and output; the grep
 * plugin selects the lines.
 *
 * The plugin (plugins/grep/grep.c) searches each unit of each input in a
 * worker and writes a framed stream into the job's ordered output; this
 * file reads it in input order and prints what GNU grep prints, byte for
 * byte, apart from the program name in messages ("sluice grep: ...").
 * The frames (the plugin's file comment has the details):
 *
 *   'T' u32le N + N bytes  selected lines' text
 *   'N' varint K           the next line is line K (0-based) of its unit
 *   'E' varint K           the unit held K newlines
 *   'B' u8 M               binary from here: print no more of this input;
 *                          M: a line was selected after this point
 *   'W'                    a selected line was withheld (not UTF-8)
 *   'S'                    the unit selected a line (-l, -q)
 *
 * Line numbers: a worker cannot know how many lines came before its unit,
 * so frames carry numbers relative to the unit, and the running base per
 * input lives here ('E' adds to it).  Frames may arrive cut at any byte,
 * so the reader is a small state machine.
 *
 * What GNU does and this file copies:
 *  - Output lines "[NAME:][LINE:]TEXT"; NAME when more than one operand is
 *    given (-H/-h override, the last one wins) or, sluice's extension,
 *    when the only operand is a directory (walked like `grep -r`);
 *    standard input is "(standard input)".  -c prints "[NAME:]COUNT" per
 *    input, -l the names of inputs with a selected line (-l beats -c),
 *    -q nothing.
 *  - "NAME: binary file matches" on stderr, after the input's lines, when
 *    lines were selected after the input turned binary (a NUL) or a
 *    selected line was withheld; never with -c, -l or -q.
 *  - Messages "sluice grep: NAME: strerror" for inputs that cannot be
 *    read (none with -s); stdout is flushed first, like GNU's error().
 *  - An input that is the file stdout goes to is skipped with "NAME:
 *    input file is also the output" (not with -c, -l, -q).
 *  - Exit status 0 when a line was selected, else 1; 2 after an error
 *    (usage, a bad pattern, an unreadable input), except that -q exits 0
 *    at the first selected line: it stops the job there, and inputs after
 *    it are not read and not reported, as GNU never opens them.  A job
 *    that fails in the engine (a unit that kills its worker twice) exits
 *    5, as docs/exit-codes.md says.
 *  - Pattern diagnostics: glibc's regex messages for each bad pattern
 *    (GNU compiles each one with the same library and syntax bits), then
 *    the warnings and the one error of GNU's dfa parser that regex does
 *    not give: "* at start of expression" (also ?, +, {...}) in -E, and
 *    "character class syntax is [[:space:]], not [:space:]".
 *
 * Output is written with write(2) from a 256 KiB buffer (after every
 * delivery when stdout is a terminal).  A failed write ends the job with
 * "write error" and status 2; SIGPIPE is left as it is, so a closed pipe
 * ends sluice quietly, as it ends GNU grep.
 */
#include "grep.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/sluice.h"

#define OUT_CAP (256 * 1024)
/* GNU grep's codes; EXIT_JOB (docs/exit-codes.md) where the engine's job
 * fails, which GNU grep has no word for. */
#define EXIT_TROUBLE 2
#define EXIT_JOB 5

enum { P_TYPE, P_HDR, P_TEXT };

typedef struct grep_state {
    const char *prog;  /* "sluice grep" */
    bool names;        /* prefix lines with the input's name */
    bool numbers;      /* -n */
    bool count;        /* -c */
    bool list;         /* -l */
    bool quiet;        /* -q */
    bool no_messages;  /* -s */
    bool selected;     /* some input had a selected line */
    bool trouble;      /* an error: exit 2 */
    bool quit;         /* -q saw a selected line: stop everything */
    bool job_reported; /* why the job failed was said already */

    cli_out out;  /* stdout */
    bool out_tty; /* stdout is a terminal: write after every delivery */

    /* The input whose frames are being read. */
    uint32_t cur;       /* its index, or UINT32_MAX */
    const char *name;   /* its name as printed */
    uint64_t base;      /* lines in its earlier units */
    bool bol;           /* at the start of an output line */
    bool have_num;      /* numbered: the next line's number is known */
    uint64_t num;       /* that number (1-based) */
    bool binary;        /* a 'B' frame came: print no more of it */
    bool bin_matched;   /* lines were selected after that */
    bool withheld;      /* a 'W' frame came */
    int pstate;         /* P_* */
    unsigned char type; /* frame being read */
    unsigned char hdr[10];
    size_t hlen;   /* header bytes so far */
    uint64_t left; /* text bytes of the 'T' frame still to come */

    bool out_reg;       /* stdout is a regular file ... */
    struct stat out_st; /* ... this one */
    bool is_output;     /* the current input is that file: skipped */

    const sluice_plugin *plugin;
    sluice_job *job;
} grep_state;

/* ------------------------------------------------------------- output */

static void out_flush(grep_state *s)
{
    cli_out_flush(&s->out);
}

static void out_write(grep_state *s, const void *data, size_t len)
{
    cli_out_write(&s->out, data, len);
}

/* "PROG: MESSAGE[: strerror]" on stderr after the output so far. */
__attribute__((format(printf, 3, 4))) static void
grep_error(grep_state *s, int errnum, const char *fmt, ...)
{
    out_flush(s);
    va_list ap;
    va_start(ap, fmt);
    cli_vmessage(s->prog, errnum, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ frames */

static const char *display_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "(standard input)" : path;
}

/* GNU refuses to read the file its output goes to (it could grow forever)
 * unless it prints no lines from it anyway (-c, -l, -q). */
static bool is_output(const grep_state *s, const sluice_input *in)
{
    return s->out_reg && !s->count && !s->list && !s->quiet && in->stat_ok &&
           S_ISREG(in->st.st_mode) && in->st.st_dev == s->out_st.st_dev &&
           in->st.st_ino == s->out_st.st_ino;
}

static void begin_input(grep_state *s, uint32_t index)
{
    const sluice_input *in = sluice_job_input(s->job, index);
    s->cur = index;
    s->name = display_name(in->path);
    s->is_output = is_output(s, in);
    s->base = 0;
    s->bol = true;
    s->have_num = false;
    s->binary = s->bin_matched = s->withheld = false;
    s->pstate = P_TYPE;
    s->hlen = 0;
    s->left = 0;
}

/* Text of selected lines: each line gets its prefix. */
static void put_text(grep_state *s, const char *p, size_t n)
{
    if (s->is_output)
        return;
    if (s->binary) {
        s->bin_matched = true;
        return;
    }
    if (!s->names && !s->numbers) {
        out_write(s, p, n);
        return;
    }
    while (n) {
        if (s->bol) {
            if (s->names) {
                out_write(s, s->name, strlen(s->name));
                out_write(s, ":", 1);
            }
            if (s->numbers && s->have_num) {
                char num[32];
                int k = snprintf(num, sizeof num, "%" PRIu64 ":", s->num);
                out_write(s, num, (size_t)k);
                s->have_num = false;
            }
        }
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) + 1 : n;
        out_write(s, p, k);
        s->bol = nl != NULL;
        p += k;
        n -= k;
    }
}

static uint64_t varint(const unsigned char *h, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)(h[i] & 0x7f) << (7 * i);
    return v;
}

/* A frame whose header is complete.  0, or a negative errno. */
static int frame(grep_state *s)
{
    switch (s->type) {
    case 'T':
        s->left = (uint64_t)s->hdr[0] | (uint64_t)s->hdr[1] << 8 |
                  (uint64_t)s->hdr[2] << 16 | (uint64_t)s->hdr[3] << 24;
        s->pstate = s->left ? P_TEXT : P_TYPE;
        return 0;
    case 'N':
        s->num = s->base + varint(s->hdr, s->hlen) + 1;
        s->have_num = true;
        break;
    case 'E':
        s->base += varint(s->hdr, s->hlen);
        break;
    case 'B':
        s->binary = true;
        if (s->hdr[0])
            s->bin_matched = true;
        break;
    case 'W':
        s->withheld = true;
        break;
    case 'S':
        s->selected = true;
        if (s->quiet) {
            s->quit = true;
            return -ECANCELED; /* GNU -q exits at the first selection */
        }
        break;
    default:
        return -EPROTO;
    }
    s->pstate = P_TYPE;
    return 0;
}

static int on_output(void *user, uint32_t input, const void *data, size_t len)
{
    grep_state *s = user;
    if (s->quit)
        return -ECANCELED;
    if (input != s->cur)
        begin_input(s, input);
    const unsigned char *p = data, *end = p + len;
    while (p < end) {
        int rc = 0;
        switch (s->pstate) {
        case P_TYPE:
            s->type = *p++;
            s->hlen = 0;
            if (s->type == 'W' || s->type == 'S')
                rc = frame(s);
            else
                s->pstate = P_HDR;
            break;
        case P_HDR: {
            unsigned char c = *p++;
            s->hdr[s->hlen++] = c;
            bool done = s->type == 'T'   ? s->hlen == 4
                        : s->type == 'B' ? s->hlen == 1
                                         : !(c & 0x80);
            if (done)
                rc = frame(s);
            else if (s->hlen == sizeof s->hdr)
                rc = -EPROTO;
            break;
        }
        case P_TEXT: {
            size_t n = (size_t)(end - p) < s->left ? (size_t)(end - p)
                                                   : (size_t)s->left;
            put_text(s, (const char *)p, n);
            p += n;
            s->left -= n;
            if (s->left == 0)
                s->pstate = P_TYPE;
            break;
        }
        }
        if (rc == -EPROTO) {
            grep_error(s, 0, "%s: invalid output from the grep plugin",
                       s->name);
            s->job_reported = true;
        }
        if (rc < 0)
            return rc;
    }
    if (s->out_tty)
        out_flush(s);
    return s->out.err ? -s->out.err : 0;
}

/* ----------------------------------------------------------- results */

static void on_input(void *user, uint32_t index, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    grep_state *s = user;
    if (s->quit)
        return; /* GNU -q has exited: nothing after that is reported */
    if (index != s->cur)
        begin_input(s, index);
    const char *name = display_name(in->path);
    if (s->is_output) {
        s->trouble = true;
        if (!s->no_messages)
            grep_error(s, 0, "%s: input file is also the output", name);
        s->cur = UINT32_MAX;
        return;
    }
    uint64_t selected = 0;
    if (partial)
        sluice_job_counters(s->job, partial, &selected);
    if (selected)
        s->selected = true;

    int e = errnum > 0 ? errnum : errnum == 0 ? in->err : 0;
    bool failed = errnum != 0 || in->err != 0 || message != NULL;
    if (failed) {
        s->trouble = true;
        if (!s->no_messages) {
            if (e)
                grep_error(s, e, "%s", name);
            else if (offset != UINT64_MAX)
                grep_error(s, 0, "%s: offset %" PRIu64 ": %s", name, offset,
                           message && *message ? message : "failed");
            else
                grep_error(s, 0, "%s: %s", name,
                           message && *message ? message : "failed");
        }
    }
    if (s->quiet) {
        if (selected)
            s->quit = true;
    } else if (s->list) {
        if (selected) {
            out_write(s, name, strlen(name));
            out_write(s, "\n", 1);
        }
    } else if (s->count) {
        /* GNU counts what it read; a file it could not open gets none. */
        if (partial || strcmp(in->path, "-") == 0) {
            char num[32];
            int k = snprintf(num, sizeof num, "%" PRIu64 "\n", selected);
            if (s->names) {
                out_write(s, name, strlen(name));
                out_write(s, ":", 1);
            }
            out_write(s, num, (size_t)k);
        }
    } else if ((s->binary && s->bin_matched) || s->withheld) {
        grep_error(s, 0, "%s: binary file matches", name);
    }
    if (s->out_tty)
        out_flush(s);
    s->cur = UINT32_MAX;
}

/* ------------------------------------------------- pattern diagnostics */

/* GNU grep's syntax bits (dfasearch.c GEAcompile). */
static reg_syntax_t syntax_bits(bool extended, bool icase)
{
    reg_syntax_t bits = extended ? RE_SYNTAX_EGREP : RE_SYNTAX_GREP;
    return icase ? bits | RE_ICASE : bits;
}

/* Compiles every pattern line as GNU does, printing regex's message for
 * each one that fails.  False if one failed. */
static bool regex_check(grep_state *s, const char *keys, size_t len,
                        bool extended, bool icase)
{
    bool ok = true;
    const char *p = keys, *end = keys + len;
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct re_pattern_buffer re;
        memset(&re, 0, sizeof re);
        re_set_syntax(syntax_bits(extended, icase) | RE_NO_SUB);
        const char *err = re_compile_pattern(p, n, &re);
        if (err) {
            grep_error(s, 0, "%s", err);
            ok = false;
        }
        regfree(&re);
        if (!nl)
            break;
        p = nl + 1;
    }
    return ok;
}

/* End of the bracket expression that starts at p[i] == '[' (just after
 * its ']'), or 0 when it has none.  *confusing: it reads like "[:alpha:]"
 * (GNU dfa's colon_warning_state == 7). */
static size_t bracket_end(const char *p, size_t n, size_t i, bool *confusing)
{
    size_t j = i + 1;
    if (j < n && p[j] == '^')
        j++;
    unsigned state = j < n && p[j] == ':';
    bool first = true;
    for (;;) {
        if (j >= n)
            return 0;
        char c = p[j];
        if (c == ']' && !first)
            break;
        first = false;
        state &= ~2u;
        if (c == '[' && j + 1 < n &&
            (p[j + 1] == ':' || p[j + 1] == '=' || p[j + 1] == '.')) {
            char d = p[j + 1];
            size_t k = j + 2;
            while (k + 1 < n && !(p[k] == d && p[k + 1] == ']'))
                k++;
            if (k + 1 >= n)
                return 0;
            j = k + 2;
            state |= 4;
            continue;
        }
        if (j + 2 < n && p[j + 1] == '-' && p[j + 2] != ']') {
            state |= 8; /* a range */
            j += 3;
            continue;
        }
        state |= c == ':' ? 2 : 4;
        j++;
    }
    *confusing = state == 7;
    return j + 1;
}

/* Reads decimal digits at p[j] into *v (-1 when there are none, capped
 * past RE_DUP_MAX); returns the offset after them. */
static size_t digits(const char *p, size_t n, size_t j, long *v)
{
    for (; j < n && p[j] >= '0' && p[j] <= '9'; j++) {
        long d = p[j] - '0';
        *v = *v < 0 ? d : *v > 0x7fff ? *v : *v * 10 + d;
    }
    return j;
}

/* Length of the valid interval "{M}", "{M,}", "{,N}", "{,}", "{M,N}" at
 * p[i] == '{' (GNU dfa's lexer), or 0: then '{' is an ordinary
 * character (RE_INVALID_INTERVAL_ORD). */
static size_t interval_len(const char *p, size_t n, size_t i)
{
    size_t j = i + 1;
    long lo = -1, hi = -1;
    j = digits(p, n, j, &lo);
    if (j < n && p[j] == ',') {
        if (lo < 0)
            lo = 0;
        j = digits(p, n, j + 1, &hi);
    } else {
        hi = lo;
    }
    if (j >= n || p[j] != '}' || lo < 0 || (hi >= 0 && lo > hi))
        return 0;
    return j + 1 - i;
}

/* What GNU's dfa parser says about patterns regex accepted: warnings
 * about repetition operators at the start of an -E expression, and the
 * "[:space:]" error.  False after that error. */
static bool dfa_check(grep_state *s, const char *p, size_t n, bool extended)
{
    bool laststart = true; /* only zero-width tokens since a start */
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        if (c == '\n') {
            laststart = true;
            i++;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= n)
                break;
            char d = p[i + 1];
            i += 2;
            if (strchr("<>bB`'", d))
                continue; /* zero-width */
            laststart = !extended && (d == '(' || d == '|');
            continue;
        }
        if (c == '[') {
            bool confusing = false;
            size_t e = bracket_end(p, n, i, &confusing);
            if (confusing) {
                grep_error(s, 0,
                           "character class syntax is [[:space:]], "
                           "not [:space:]");
                return false;
            }
            if (!e)
                break;
            i = e;
            laststart = false;
            continue;
        }
        if (c == '^' || c == '$') {
            i++;
            continue;
        }
        if (extended) {
            if (c == '(' || c == '|') {
                laststart = true;
                i++;
                continue;
            }
            if (c == '*' || c == '+' || c == '?') {
                if (laststart)
                    grep_error(s, 0, "warning: %c at start of expression", c);
                i++;
                continue;
            }
            if (c == '{') {
                size_t k = interval_len(p, n, i);
                if (k) {
                    if (laststart)
                        grep_error(s, 0,
                                   "warning: {...} at start of expression");
                    i += k;
                    continue;
                }
            }
        }
        laststart = false;
        i++;
    }
    return true;
}

/* ------------------------------------------------------------ options */

enum {
    OPT_HELP = 256,
    OPT_NO_ICASE,
    OPT_MAX_LINE,
};

/* The shared options grep takes (options.h). */
#define GREP_GROUPS                                                            \
    (CLI_OPTS_JOBS | CLI_OPTS_CHUNK | CLI_OPTS_SUPERVISE | CLI_OPTS_FILTER)

static const struct option long_options[] = {
    {"basic-regexp", no_argument, NULL, 'G'},
    {"extended-regexp", no_argument, NULL, 'E'},
    {"fixed-strings", no_argument, NULL, 'F'},
    {"regexp", required_argument, NULL, 'e'},
    {"ignore-case", no_argument, NULL, 'i'},
    {"no-ignore-case", no_argument, NULL, OPT_NO_ICASE},
    {"invert-match", no_argument, NULL, 'v'},
    {"line-number", no_argument, NULL, 'n'},
    {"count", no_argument, NULL, 'c'},
    {"files-with-matches", no_argument, NULL, 'l'},
    {"with-filename", no_argument, NULL, 'H'},
    {"no-filename", no_argument, NULL, 'h'},
    {"no-messages", no_argument, NULL, 's'},
    {"quiet", no_argument, NULL, 'q'},
    {"silent", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, 'V'},
    /* sluice's own */
    {"max-line", required_argument, NULL, OPT_MAX_LINE},
    CLI_JOBS_OPTIONS,
    CLI_CHUNK_OPTIONS,
    CLI_SUPERVISE_OPTIONS,
    CLI_FILTER_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* GNU grep's short options: the ones sluice does not implement are
 * refused by name rather than called invalid. */
static const char short_options[] =
    "0123456789A:B:C:D:EFGHIPTUVX:abcd:e:f:hiLlm:noqRrsuvwxyZzj:";

/* GNU grep's: the usage line first. */
static void try_help(const char *prog)
{
    fprintf(stderr, "Usage: %s [OPTION]... PATTERNS [FILE]...\n", prog);
    cli_try_help(prog);
}

static void usage(const char *prog)
{
    printf("Usage: %s [OPTION]... PATTERNS [FILE]...\n", prog);
    fputs("Search for PATTERNS in each FILE, in parallel worker processes.\n"
          "Example: sluice grep -i 'hello world' menu.h main.c\n"
          "PATTERNS can contain multiple patterns separated by newlines.\n"
          "\n"
          "Pattern selection and interpretation:\n"
          "  -E, --extended-regexp     PATTERNS are extended regular "
          "expressions\n"
          "  -F, --fixed-strings       PATTERNS are strings\n"
          "  -G, --basic-regexp        PATTERNS are basic regular expressions\n"
          "  -e, --regexp=PATTERNS     use PATTERNS for matching\n"
          "  -i, --ignore-case         ignore case distinctions in patterns "
          "and data\n"
          "      --no-ignore-case      do not ignore case distinctions "
          "(default)\n"
          "\n"
          "Miscellaneous:\n"
          "  -s, --no-messages         suppress error messages\n"
          "  -v, --invert-match        select non-matching lines\n"
          "  -V, --version             display version information and exit\n"
          "      --help                display this help text and exit\n"
          "\n"
          "Output control:\n"
          "  -n, --line-number         print line number with output lines\n"
          "  -H, --with-filename       print file name with output lines\n"
          "  -h, --no-filename         suppress the file name prefix on "
          "output\n"
          "  -l, --files-with-matches  print only names of FILEs with "
          "selected lines\n"
          "  -c, --count               print only a count of selected lines "
          "per FILE\n"
          "  -q, --quiet, --silent     suppress all normal output\n"
          "\n"
          "sluice:\n"
          "      --max-line=SIZE    a longer line is an error (default 1G)\n",
          stdout);
    cli_opts_help(stdout, GREP_GROUPS);
    fputs("\n"
          "A FILE that is a directory is searched recursively, in sorted "
          "order (.git,\n"
          ".hg and .svn are skipped, and hidden files and files ignored by "
          ".gitignore,\n"
          ".ignore and .git/info/exclude unless --hidden, --no-ignore).  "
          "With no FILE,\n"
          "or when FILE is -, read standard input.  With more than one FILE, "
          "or a\n"
          "directory, print file names (-H).\n"
          "\n"
          "Exit status is 0 if any line is selected, 1 otherwise;\n"
          "if any error occurs and -q is not given, the exit status is 2.\n",
          stdout);
}

/* -------------------------------------------------------------- main */

int cli_grep_main(int argc, char **argv, const cli_env *env)
{
    grep_state s = {.prog = argv[0], .cur = UINT32_MAX};
    sluice_plugin_handle *plugin = NULL;
    sluice_job *job = NULL;
    cli_opts o;
    uint64_t max_line = 1024ull * 1024 * 1024; /* --max-line */
    int status = EXIT_TROUBLE;
    int matcher = -1; /* 'G', 'E', 'F' as given */
    int filename_option = 0;
    bool icase = false, invert = false;
    char *keys = NULL; /* -e patterns, each followed by '\n' */
    size_t keylen = 0;
    char err[512] = "";

    cli_opts_init(&o, s.prog, GREP_GROUPS);
    int c;
    while ((c = getopt_long(argc, argv, short_options, long_options, NULL)) !=
           -1) {
        int sv = cli_opts_parse(&o, c, optarg);
        if (sv < 0) {
            status = CLI_EXIT_BAD_VALUE;
            goto done;
        }
        if (sv > 0)
            continue;
        switch (c) {
        case 'E':
        case 'F':
        case 'G':
            if (matcher >= 0 && matcher != c) {
                grep_error(&s, 0, "conflicting matchers specified");
                goto done;
            }
            matcher = c;
            break;
        case 'e': {
            size_t n = strlen(optarg);
            char *k = realloc(keys, keylen + n + 1);
            if (!k) {
                grep_error(&s, ENOMEM, "patterns");
                goto done;
            }
            keys = k;
            memcpy(keys + keylen, optarg, n);
            keylen += n;
            keys[keylen++] = '\n';
            break;
        }
        case 'i':
        case 'y': /* GNU's obsolete spelling of -i */
            icase = true;
            break;
        case OPT_NO_ICASE:
            icase = false;
            break;
        case 'v':
            invert = true;
            break;
        case 'n':
            s.numbers = true;
            break;
        case 'c':
            s.count = true;
            break;
        case 'l':
            s.list = true;
            break;
        case 'H':
            filename_option = 1;
            break;
        case 'h':
            filename_option = -1;
            break;
        case 's':
            s.no_messages = true;
            break;
        case 'q':
            s.quiet = true;
            break;
        case OPT_MAX_LINE:
            if (cli_parse_number(s.prog, "maximum line length", optarg,
                                 CLI_SIZE, 1, CLI_MAX_LINE_MAX,
                                 &max_line) < 0) {
                status = CLI_EXIT_BAD_VALUE;
                goto done;
            }
            break;
        case OPT_HELP:
            usage(s.prog);
            status = cli_flush_stdout(s.prog) < 0 ? EXIT_TROUBLE : EXIT_SUCCESS;
            goto done;
        case 'V':
            printf("%s (%s) %s\n", s.prog, env->prog, env->version);
            status = cli_flush_stdout(s.prog) < 0 ? EXIT_TROUBLE : EXIT_SUCCESS;
            goto done;
        case '?':
            try_help(s.prog);
            goto done;
        default:
            if (c >= '0' && c <= '9')
                grep_error(&s, 0, "context options are not supported");
            else
                grep_error(&s, 0, "option '-%c' is not supported", c);
            try_help(s.prog);
            goto done;
        }
    }

    /* The patterns: the -e ones (the last newline dropped), or the first
     * operand. */
    if (keys) {
        keylen--;
    } else if (optind < argc) {
        keylen = strlen(argv[optind]);
        keys = malloc(keylen + 1);
        if (!keys) {
            grep_error(&s, ENOMEM, "patterns");
            goto done;
        }
        memcpy(keys, argv[optind++], keylen);
    } else {
        try_help(s.prog);
        goto done;
    }
    keys[keylen] = '\0';
    if (matcher < 0)
        matcher = 'G';
    if (matcher != 'F') {
        if (!regex_check(&s, keys, keylen, matcher == 'E', icase) ||
            !dfa_check(&s, keys, keylen, matcher == 'E'))
            goto done;
    }

    /* The operands: stdin when none. */
    static char dash[] = "-";
    static char *stdin_only[] = {dash, NULL};
    char **names = argv + optind;
    size_t n_names = (size_t)(argc - optind);
    if (n_names == 0) {
        names = stdin_only;
        n_names = 1;
    }
    struct stat st;
    if (filename_option)
        s.names = filename_option > 0;
    else if (n_names > 1)
        s.names = true;
    else
        s.names = strcmp(names[0], "-") != 0 && stat(names[0], &st) == 0 &&
                  S_ISDIR(st.st_mode);

    if (sluice_plugin_open("grep", env->self_exe, &plugin, err, sizeof err) <
        0) {
        grep_error(&s, 0, "%s", err);
        goto done;
    }
    s.plugin = sluice_plugin_get(plugin);
    const char *output = s.quiet || s.list ? "quiet"
                         : s.count         ? "count"
                         : s.numbers       ? "numbered"
                                           : "lines";
    if (cli_set_plugin_option(s.prog, plugin, "patterns", keys) < 0 ||
        cli_set_plugin_option(s.prog, plugin, "syntax",
                              matcher == 'F'   ? "fixed"
                              : matcher == 'E' ? "extended"
                                               : "basic") < 0 ||
        cli_set_plugin_option(s.prog, plugin, "icase",
                              icase ? "true" : "false") < 0 ||
        cli_set_plugin_option(s.prog, plugin, "invert",
                              invert ? "true" : "false") < 0 ||
        cli_set_plugin_option(s.prog, plugin, "output", output) < 0)
        goto done;
    char max_line_text[32];
    snprintf(max_line_text, sizeof max_line_text, "%" PRIu64, max_line);
    if (cli_set_plugin_option(s.prog, plugin, "max_line", max_line_text) < 0)
        goto done;

    if (cli_out_init(&s.out, STDOUT_FILENO, OUT_CAP) < 0) {
        grep_error(&s, ENOMEM, "output");
        goto done;
    }
    s.out_tty = isatty(STDOUT_FILENO);
    s.out_reg =
        fstat(STDOUT_FILENO, &s.out_st) == 0 && S_ISREG(s.out_st.st_mode);

    sluice_callbacks cb = {
        .user = &s, .on_input = on_input, .on_output = on_output};
    int rc = sluice_job_new(plugin, &o.job, &cb, &job, err, sizeof err);
    if (rc < 0) {
        grep_error(&s, 0, "%s", err[0] ? err : sluice_strerror(rc));
        goto done;
    }
    s.job = job;
    for (size_t i = 0; i < n_names; i++) {
        rc = sluice_job_add(job, names[i], o.add_flags);
        if (rc < 0) {
            grep_error(&s, 0, "%s: %s", names[i], sluice_strerror(rc));
            goto done;
        }
    }

    cli_signals_install(NULL);
    rc = cli_job_run(job, err, sizeof err);
    if (s.quit) {
        status = EXIT_SUCCESS;
        goto done;
    }
    if (rc < 0 && rc != SLUICE_EINPUT) {
        if (!s.out.err && !s.job_reported)
            grep_error(&s, 0, "%s", err[0] ? err : sluice_strerror(rc));
        /* An output error (sluice-mpi's spool too) is GNU's trouble. */
        status = s.out.err || rc == SLUICE_EOUTPUT ? EXIT_TROUBLE : EXIT_JOB;
        goto done;
    }
    status = s.trouble ? EXIT_TROUBLE : s.selected ? EXIT_SUCCESS : 1;

done:
    if (s.out.buf) {
        out_flush(&s);
        if (s.out.err && !s.quit) {
            fprintf(stderr, "%s: write error: %s\n", s.prog,
                    strerror(s.out.err));
            status = EXIT_TROUBLE;
        }
    }
    if (job)
        sluice_job_free(job);
    if (plugin)
        sluice_plugin_close(plugin);
    cli_out_free(&s.out);
    cli_opts_free(&o);
    free(keys);
    return status;
}
