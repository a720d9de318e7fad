/*
 * archive.c -- reading an archive as if it were a directory.
 *
 * An archive (tar and its compressions, zip, 7z, cpio, ar/deb, iso, or one
 * compressed file) is read front to back with libarchive; its regular
 * members come out one at a time, each with its name, its size and its
 * bytes, and the coordinator turns them into inputs (inputs.c).  Nothing is
 * extracted to disk.
 *
 * The layers:
 *
 *   file (or the current member of an enclosing archive: nested archives)
 *     -> gzip layer, decoded by gzread.c when the data starts with the gzip
 *        magic: every member's CRC-32 and length are checked, which
 *        libarchive's own gzip filter does not do (it is never enabled)
 *     -> libarchive's other filters (bzip2, xz, lzma, lzip, zstd, lz4,
 *        compress: each checks its own integrity where the format has a
 *        check) and formats
 *
 * A file whose name says it is one compressed file (x.gz, x.xz, ...) and
 * not an archive reads as one member named after the file without its
 * suffix.  A top-level file that is not gzip is opened by name, so formats
 * that seek (7z, zip's central directory, iso) work; nested archives are
 * streams and must not need seeking.
 *
 * Limits against archive bombs are kept per top-level archive, nested ones
 * included: decompressed bytes, the ratio of those to the file's bytes
 * (checked once 64 MiB came out), and entries.  Hitting one is an error of
 * the archive, like corrupt data.
 *
 * Single-threaded: only the coordinator calls these functions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#ifdef HAVE_LIBARCHIVE
#include <archive.h>
#include <archive_entry.h>

#include "gzread.h"
#endif

#define ARC_BUF (256 * SLUICE_KiB)
#define RATIO_AFTER (64 * SLUICE_MiB) /* the ratio limit applies from here */

static const char *const compressed_suffixes[] = {
    ".gz", ".bz2", ".xz", ".lzma", ".lz", ".zst", ".lz4", ".Z", NULL};
static const char *const archive_suffixes[] = {
    ".tar",    ".tgz",     ".taz",     ".tbz",    ".tbz2",
    ".tb2",    ".txz",     ".tlz",     ".tzst",   ".zip",
    ".jar",    ".7z",      ".cpio",    ".ar",     ".deb",
    ".iso",    ".tar.gz",  ".tar.bz2", ".tar.xz", ".tar.lzma",
    ".tar.lz", ".tar.zst", ".tar.lz4", ".tar.Z",  NULL};

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n > k && memcmp(s + n - k, suf, k) == 0;
}

/* 1 for an archive, 2 for one compressed file, 0 for neither. */
static int name_kind(const char *name)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    size_t n = strlen(base);
    for (const char *const *s = archive_suffixes; *s; s++)
        if (ends_with(base, n, *s))
            return 1;
    for (const char *const *s = compressed_suffixes; *s; s++)
        if (ends_with(base, n, *s))
            return 2;
    return 0;
}

int sluice__arc_is_archive(const char *name)
{
    return name_kind(name) != 0;
}

#ifdef HAVE_LIBARCHIVE

struct sluice__arc {
    struct archive *a;
    sluice__arc *parent; /* NULL: reads the file `fd` */
    sluice__arc *root;   /* the top-level archive (itself when so) */
    int fd;              /* top-level: the file */
    sluice__gzr *gz;     /* the gzip layer, or NULL */
    unsigned char *buf;  /* what libarchive reads, ARC_BUF bytes */
    unsigned char *head; /* bytes sniffed before the layers were set up */
    size_t head_len, head_pos;
    uint64_t file_bytes; /* top-level: bytes read from the file */
    uint64_t out_bytes;  /* root: member bytes read, nested included */
    uint64_t entries;    /* root: entries seen, nested included */
    sluice_archive_limits lim;
    int raw;           /* one compressed file: one member */
    char *raw_name;    /* its name */
    int done;          /* the end or an error was reached */
    int member_failed; /* the error came while reading a member */
    char err[SLUICE_MSG_MAX];
    uint64_t err_off;
};

static int arc_fail(sluice__arc *a, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int arc_fail(sluice__arc *a, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err, sizeof a->err, fmt, ap);
    va_end(ap);
    a->err_off = off;
    a->done = 1;
    return SLUICE_EINPUT;
}

/* Bytes of the layer under the gzip layer: the sniffed head first. */
static ssize_t pull_base(sluice__arc *a, void *buf, size_t n)
{
    if (a->head_pos < a->head_len) {
        size_t k = a->head_len - a->head_pos;
        if (k > n)
            k = n;
        memcpy(buf, a->head + a->head_pos, k);
        a->head_pos += k;
        return (ssize_t)k;
    }
    if (a->parent)
        return sluice__arc_read(a->parent, buf, n);
    ssize_t r;
    do
        r = read(a->fd, buf, n);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    a->file_bytes += (uint64_t)r;
    return r;
}

/* Bytes read from the top-level file so far (libarchive's count when it
 * opened the file itself). */
static uint64_t file_pos(sluice__arc *a)
{
    sluice__arc *r = a->root;
    if (r->gz)
        return sluice__gzr_in_bytes(r->gz);
    if (r->a && r->fd < 0 && !r->parent)
        return (uint64_t)archive_filter_bytes(r->a, -1);
    return r->file_bytes;
}

static ssize_t arc_data(sluice__arc *a, void *buf, size_t n);

static ssize_t pull_gz(void *arg, void *buf, size_t n)
{
    return pull_base(arg, buf, n);
}

static la_ssize_t la_read(struct archive *la, void *arg, const void **out)
{
    sluice__arc *a = arg;
    ssize_t r;
    if (a->gz) {
        r = sluice__gzr_read(a->gz, a->buf, ARC_BUF);
        if (r < 0) {
            uint64_t off = 0;
            const char *m = sluice__gzr_error(a->gz, &off);
            archive_set_error(la, EIO, "%s", m);
            arc_fail(a, off, "%s", m);
            return -1;
        }
    } else {
        r = pull_base(a, a->buf, ARC_BUF);
        if (r < 0) {
            if (a->parent && a->parent->err[0]) {
                /* The enclosing archive failed: its message says why. */
                snprintf(a->err, sizeof a->err, "%s", a->parent->err);
                a->err_off = a->parent->err_off;
                a->done = 1;
            } else {
                arc_fail(a, a->file_bytes, "%s", strerror((int)-r));
            }
            archive_set_error(la, (int)-r, "%s", a->err);
            return -1;
        }
    }
    *out = a->buf;
    return r;
}

int sluice__arc_open(sluice__arc **out, const char *path, sluice__arc *parent,
                     const sluice_archive_limits *lim)
{
    *out = NULL;
    sluice__arc *a = calloc(1, sizeof *a);
    if (!a)
        return SLUICE_ENOMEM;
    a->fd = -1;
    a->parent = parent;
    a->root = parent ? parent->root : a;
    a->lim = *lim;
    a->buf = malloc(ARC_BUF);
    a->head = malloc(16);
    if (!a->buf || !a->head) {
        sluice__arc_free(a);
        return SLUICE_ENOMEM;
    }
    *out = a;
    int kind = name_kind(path);
    a->raw = kind == 2;
    if (a->raw) {
        const char *base = strrchr(path, '/');
        const char *colon = strrchr(path, ':');
        if (colon && (!base || colon > base))
            base = colon;
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        for (const char *const *s = compressed_suffixes; *s; s++)
            if (ends_with(base, n, *s)) {
                n -= strlen(*s);
                break;
            }
        a->raw_name = strndup(base, n);
        if (!a->raw_name)
            return SLUICE_ENOMEM;
    }
    if (!parent) {
        a->fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (a->fd < 0)
            return arc_fail(a, UINT64_MAX, "%s", strerror(errno));
    }
    /* Sniff for the gzip magic. */
    while (a->head_len < 2) {
        ssize_t r = pull_base(a, a->head + a->head_len, 2 - a->head_len);
        if (r < 0) {
            if (parent && parent->err[0])
                return arc_fail(a, parent->err_off, "%s", parent->err);
            return arc_fail(a, a->head_len, "%s", strerror((int)-r));
        }
        if (r == 0)
            break;
        a->head_len += (size_t)r;
    }
    int gz = a->head_len == 2 && a->head[0] == 0x1f && a->head[1] == 0x8b;
    if (gz) {
        int rc = sluice__gzr_new(pull_gz, a, &a->gz);
        if (rc < 0)
            return rc == SLUICE_ENOMEM
                       ? rc
                       : arc_fail(a, 0, "cannot decode gzip: %s",
                                  "sluice was built without ISA-L or zlib");
    }
    a->a = archive_read_new();
    if (!a->a)
        return SLUICE_ENOMEM;
    archive_read_support_filter_bzip2(a->a);
    archive_read_support_filter_compress(a->a);
    archive_read_support_filter_lz4(a->a);
    archive_read_support_filter_lzip(a->a);
    archive_read_support_filter_lzma(a->a);
    archive_read_support_filter_xz(a->a);
    archive_read_support_filter_zstd(a->a);
    if (a->raw)
        archive_read_support_format_raw(a->a);
    else {
        /* Not mtree: its text format bids on plain text and its entries
         * name files on this machine. */
        archive_read_support_format_7zip(a->a);
        archive_read_support_format_ar(a->a);
        archive_read_support_format_cab(a->a);
        archive_read_support_format_cpio(a->a);
        archive_read_support_format_empty(a->a);
        archive_read_support_format_iso9660(a->a);
        archive_read_support_format_lha(a->a);
        archive_read_support_format_rar(a->a);
        archive_read_support_format_rar5(a->a);
        archive_read_support_format_tar(a->a);
        archive_read_support_format_warc(a->a);
        archive_read_support_format_xar(a->a);
        archive_read_support_format_zip(a->a);
    }
    int rc;
    if (!parent && !gz) {
        /* By name, so formats that seek can: the file is read again from
         * its start. */
        close(a->fd);
        a->fd = -1;
        rc = archive_read_open_filename(a->a, path, ARC_BUF);
        a->head_len = a->head_pos = 0;
    } else {
        rc = archive_read_open2(a->a, a, NULL, la_read, NULL, NULL);
    }
    if (rc != ARCHIVE_OK && !a->done)
        return arc_fail(a, 0, "%s", archive_error_string(a->a));
    return a->done ? SLUICE_EINPUT : 0;
}

int sluice__arc_next(sluice__arc *a, const char **name, struct stat *st)
{
    for (;;) {
        if (a->done)
            return a->err[0] ? SLUICE_EINPUT : 0;
        struct archive_entry *e;
        int rc = archive_read_next_header(a->a, &e);
        if (rc == ARCHIVE_EOF) {
            /* libarchive stops at the archive's end marker: the gzip layer
             * must still reach its end, where the last trailer is
             * checked. */
            while (a->gz) {
                ssize_t r = sluice__gzr_read(a->gz, a->buf, ARC_BUF);
                if (r == 0)
                    break;
                if (r < 0) {
                    uint64_t off = 0;
                    const char *m = sluice__gzr_error(a->gz, &off);
                    return arc_fail(a, off, "%s", m ? m : "read error");
                }
            }
            a->done = 1;
            return 0;
        }
        if (rc == ARCHIVE_FATAL || rc == ARCHIVE_RETRY) {
            if (!a->done)
                arc_fail(a, (uint64_t)archive_filter_bytes(a->a, 0), "%s",
                         archive_error_string(a->a));
            a->done = 1;
            return SLUICE_EINPUT;
        }
        sluice__arc *r = a->root;
        if (++r->entries > r->lim.max_entries)
            return arc_fail(a, (uint64_t)archive_filter_bytes(a->a, 0),
                            "more than %llu entries (archive limit)",
                            (unsigned long long)r->lim.max_entries);
        /* Directories, links, devices: no contents.  ar stores no type:
         * its members are files. */
        unsigned type = archive_entry_filetype(e);
        if ((type != AE_IFREG && type != 0) ||
            archive_entry_hardlink(e) != NULL)
            continue;
        const char *p = archive_entry_pathname(e);
        if (a->raw)
            p = a->raw_name;
        else if (!p)
            p = archive_entry_pathname_utf8(e);
        if (!p)
            p = "?";
        while (p[0] == '.' && p[1] == '/')
            p += 2;
        *name = p;
        memset(st, 0, sizeof *st);
        st->st_mode = S_IFREG | (archive_entry_perm(e) & 07777);
        st->st_size = archive_entry_size_is_set(e) && !a->raw
                          ? (off_t)archive_entry_size(e)
                          : -1;
        st->st_mtime = archive_entry_mtime(e);
        st->st_nlink = 1;
        return 1;
    }
}

ssize_t sluice__arc_read(sluice__arc *a, void *buf, size_t n)
{
    if (a->done && a->err[0])
        return -EIO;
    a->member_failed = 1; /* until it returns */
    ssize_t r = arc_data(a, buf, n);
    if (r >= 0)
        a->member_failed = 0;
    return r;
}

int sluice__arc_member_failed(const sluice__arc *a)
{
    return a->member_failed;
}

static ssize_t arc_data(sluice__arc *a, void *buf, size_t n)
{
    la_ssize_t r = archive_read_data(a->a, buf, n);
    if (r < 0) {
        if (!a->done)
            arc_fail(a, (uint64_t)archive_filter_bytes(a->a, 0), "%s",
                     archive_error_string(a->a));
        return -EIO;
    }
    sluice__arc *root = a->root;
    root->out_bytes += (uint64_t)r;
    if (root->out_bytes > root->lim.max_bytes) {
        arc_fail(a, file_pos(a),
                 "more than %llu bytes decompressed (archive limit)",
                 (unsigned long long)root->lim.max_bytes);
        return -EIO;
    }
    if (root->out_bytes > RATIO_AFTER &&
        root->out_bytes / (file_pos(a) + 1) >= root->lim.max_ratio) {
        arc_fail(a, file_pos(a),
                 "decompresses more than %llu times its size (archive limit)",
                 (unsigned long long)root->lim.max_ratio);
        return -EIO;
    }
    return (ssize_t)r;
}

const char *sluice__arc_error(const sluice__arc *a, uint64_t *offset)
{
    if (offset)
        *offset = a->err_off;
    return a->err[0] ? a->err : NULL;
}

ssize_t sluice__arc_read_full(sluice__arc *a, void *buf, size_t n)
{
    size_t have = 0;
    while (have < n) {
        ssize_t r = sluice__arc_read(a, (unsigned char *)buf + have, n - have);
        if (r < 0)
            return have ? (ssize_t)have : r; /* the error sticks */
        if (r == 0)
            break;
        have += (size_t)r;
    }
    return (ssize_t)have;
}

void sluice__arc_free(sluice__arc *a)
{
    if (!a)
        return;
    if (a->a)
        archive_read_free(a->a);
    sluice__gzr_free(a->gz);
    if (a->fd >= 0)
        close(a->fd);
    free(a->buf);
    free(a->head);
    free(a->raw_name);
    free(a);
}

#else /* !HAVE_LIBARCHIVE */

struct sluice__arc {
    char err[SLUICE_MSG_MAX];
};

int sluice__arc_open(sluice__arc **out, const char *path, sluice__arc *parent,
                     const sluice_archive_limits *lim)
{
    (void)path;
    (void)parent;
    (void)lim;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return SLUICE_ENOMEM;
    snprintf((*out)->err, sizeof(*out)->err,
             "cannot read archives: sluice was built without libarchive");
    return SLUICE_EINPUT;
}

int sluice__arc_next(sluice__arc *a, const char **name, struct stat *st)
{
    (void)a;
    (void)name;
    (void)st;
    return SLUICE_EINPUT;
}

ssize_t sluice__arc_read(sluice__arc *a, void *buf, size_t n)
{
    (void)a;
    (void)buf;
    (void)n;
    return -EIO;
}

const char *sluice__arc_error(const sluice__arc *a, uint64_t *offset)
{
    if (offset)
        *offset = UINT64_MAX;
    return a->err;
}

int sluice__arc_member_failed(const sluice__arc *a)
{
    (void)a;
    return 0;
}

void sluice__arc_free(sluice__arc *a)
{
    free(a);
}

#endif
