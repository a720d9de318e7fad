/*
 * plugin.c -- finding, loading and checking plugins; their options.
 *
 * A plugin is opened with dlopen(RTLD_NOW | RTLD_LOCAL) in the coordinator
 * before any worker is forked and stays loaded until the job is freed.  The
 * entry function's descriptor is checked (size, ABI major equal, minor not
 * newer, required callbacks present) before anything else of the plugin
 * runs.  Plugin files that are group- or world-writable are refused.
 *
 * Search order for a plugin given by name: each directory of
 * SLUICE_PLUGIN_PATH (colon-separated), the build tree next to the running
 * binary (EXE_DIR/../plugins/NAME/NAME.so), then the installed plugin
 * directory.  A name containing '/' is a path and is used as is.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#ifndef SLUICE_PLUGINDIR
#define SLUICE_PLUGINDIR "/usr/local/lib/sluice/plugins-1"
#endif

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds NAME in the search path; writes the path into out. */
static int find_plugin(const char *name, const char *self_exe, char *out,
                       size_t outlen)
{
    const char *env = getenv("SLUICE_PLUGIN_PATH");
    if (env && *env) {
        const char *p = env;
        while (*p) {
            size_t n = strcspn(p, ":");
            if (n > 0) {
                snprintf(out, outlen, "%.*s/%s.so", (int)n, p, name);
                if (is_file(out))
                    return 0;
            }
            p += n;
            if (*p == ':')
                p++;
        }
    }
    char exe[PATH_MAX];
    const char *self = self_exe;
    if (!self || !*self) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            self = exe;
        }
    }
    if (self) {
        const char *slash = strrchr(self, '/');
        if (slash) {
            int dirlen = (int)(slash - self);
            snprintf(out, outlen, "%.*s/../plugins/%s/%s.so", dirlen, self,
                     name, name);
            if (is_file(out))
                return 0;
        }
    }
    snprintf(out, outlen, "%s/%s.so", SLUICE_PLUGINDIR, name);
    if (is_file(out))
        return 0;
    return SLUICE_ENOTFOUND;
}

/* The plugin files of one directory, name order; `sub`: NAME/NAME.so
 * (the build tree) instead of NAME.so. */
typedef struct lister {
    void (*cb)(void *, const char *, const char *);
    void *user;
    char **seen;
    size_t n;
    int bad; /* out of memory */
} lister;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(lister *l, const char *dir, int sub)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **p = realloc(names, ncap * sizeof *p);
            if (!p)
                break;
            names = p;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], name[NAME_MAX + 1];
        size_t len = strlen(names[i]);
        if (sub) {
            snprintf(name, sizeof name, "%s", names[i]);
            snprintf(path, sizeof path, "%s/%s/%s.so", dir, names[i], names[i]);
        } else {
            if (len < 4 || strcmp(names[i] + len - 3, ".so") != 0)
                continue;
            snprintf(name, sizeof name, "%.*s", (int)(len - 3), names[i]);
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        }
        int dup = 0;
        for (size_t k = 0; k < l->n && !dup; k++)
            dup = strcmp(l->seen[k], name) == 0;
        if (dup || !is_file(path))
            continue;
        char **p = realloc(l->seen, (l->n + 1) * sizeof *p);
        if (!p || !(p[l->n] = strdup(name))) {
            if (p)
                l->seen = p;
            l->bad = 1;
            continue;
        }
        l->seen = p;
        l->n++;
        l->cb(l->user, name, path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int sluice_plugin_list(const char *self_exe,
                       void (*cb)(void *user, const char *name,
                                  const char *path),
                       void *user)
{
    lister l = {.cb = cb, .user = user};
    const char *env = getenv("SLUICE_PLUGIN_PATH");
    for (const char *p = env ? env : ""; *p;) {
        size_t n = strcspn(p, ":");
        if (n > 0) {
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%.*s", (int)n, p);
            list_dir(&l, dir, 0);
        }
        p += n;
        if (*p == ':')
            p++;
    }
    char exe[PATH_MAX];
    const char *self = self_exe;
    if (!self || !*self) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            self = exe;
        }
    }
    const char *slash = self ? strrchr(self, '/') : NULL;
    if (slash) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s/../plugins", (int)(slash - self), self);
        list_dir(&l, dir, 1);
    }
    list_dir(&l, SLUICE_PLUGINDIR, 0);
    for (size_t i = 0; i < l.n; i++)
        free(l.seen[i]);
    free(l.seen);
    return (int)l.n;
}

static int valid_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

_Static_assert(SLUICE_MAX_PARTIAL_SIZE == 4096,
               "check_desc's message names the limit");

/* Checks a descriptor; on failure writes why into err. */
static int check_desc(const sluice_plugin *d, const char *path, char *err,
                      size_t errlen)
{
    if (d->abi_major != SLUICE_PLUGIN_ABI_MAJOR ||
        d->abi_minor > SLUICE_PLUGIN_ABI_MINOR) {
        set_err(err, errlen,
                "%s: plugin ABI %u.%u is not supported by this sluice "
                "(ABI %d.%d)",
                path, d->abi_major, d->abi_minor, SLUICE_PLUGIN_ABI_MAJOR,
                SLUICE_PLUGIN_ABI_MINOR);
        return SLUICE_EABI;
    }
    if (d->size < offsetof(sluice_plugin, reserved)) {
        set_err(err, errlen, "%s: plugin descriptor too small (%u bytes)", path,
                d->size);
        return SLUICE_EABI;
    }
    const char *why = NULL;
    if (!valid_name(d->name))
        why = "missing or invalid name";
    else if (!d->map)
        why = "no map function";
    else if (sluice__lookbehind(d) > SLUICE_MAX_LOOKBEHIND)
        why = "lookbehind larger than SLUICE_MAX_LOOKBEHIND";
    else if ((d->caps & SLUICE_CAP_MERGE) && !d->merge)
        why = "SLUICE_CAP_MERGE without a merge function";
    else if (d->partial_size > SLUICE_MAX_PARTIAL_SIZE)
        why = "partial_size larger than 4096";
    else if ((d->caps & SLUICE_CAP_MERGE) && d->partial_size == 0)
        why = "SLUICE_CAP_MERGE with partial_size 0";
    else if (d->n_counters && (!d->counter_names || !d->counters))
        why = "counters declared without names or function";
    else if (d->n_options && !d->options)
        why = "options declared without a schema";
    if (why) {
        set_err(err, errlen, "%s: invalid plugin: %s", path, why);
        return SLUICE_EPLUGIN;
    }
    for (uint32_t i = 0; i < d->n_options; i++) {
        const sluice_option *o = &d->options[i];
        if (!valid_name(o->key) || !o->default_value ||
            o->type < SLUICE_OPT_BOOL || o->type > SLUICE_OPT_ENUM ||
            (o->type == SLUICE_OPT_ENUM && !o->choices)) {
            set_err(err, errlen, "%s: invalid plugin: bad option #%u", path, i);
            return SLUICE_EPLUGIN;
        }
    }
    return 0;
}

int sluice__parse_size(const char *s, int64_t *out)
{
    if (!s || !*s)
        return SLUICE_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return SLUICE_EINVAL;
    int64_t mul = 1;
    if (*end) {
        switch (*end) {
        case 'k':
        case 'K':
            mul = 1024;
            break;
        case 'm':
        case 'M':
            mul = 1024 * 1024;
            break;
        case 'g':
        case 'G':
            mul = 1024LL * 1024 * 1024;
            break;
        default:
            return SLUICE_EINVAL;
        }
        end++;
        if (*end == 'i' && end[1] == 'B')
            end += 2;
        else if (*end == 'B')
            end++;
        if (*end)
            return SLUICE_EINVAL;
    }
    if (v > INT64_MAX / mul)
        return SLUICE_EINVAL;
    *out = v * mul;
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on"))
        *out = 1;
    else if (!strcasecmp(v, "false") || !strcmp(v, "0") ||
             !strcasecmp(v, "no") || !strcasecmp(v, "off"))
        *out = 0;
    else
        return SLUICE_EINVAL;
    return 0;
}

static int in_choices(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    const char *p = choices;
    while (*p) {
        size_t n = strcspn(p, "|");
        if (n == vl && !strncmp(p, v, n))
            return 1;
        p += n;
        if (*p == '|')
            p++;
    }
    return 0;
}

static int validate(const sluice_option *o, const char *v)
{
    int b;
    int64_t i;
    switch (o->type) {
    case SLUICE_OPT_BOOL:
        return parse_bool(v, &b);
    case SLUICE_OPT_INT:
        return sluice__parse_size(v, &i);
    case SLUICE_OPT_STRING:
        return 0;
    case SLUICE_OPT_ENUM:
        return in_choices(o->choices, v) ? 0 : SLUICE_EINVAL;
    }
    return SLUICE_EINVAL;
}

int sluice_plugin_open(const char *name, const char *self_exe,
                       sluice_plugin_handle **out, char *err, size_t errlen)
{
    char path[PATH_MAX];
    *out = NULL;
    if (strchr(name, '/')) {
        snprintf(path, sizeof path, "%s", name);
    } else if (!valid_name(name) ||
               find_plugin(name, self_exe, path, sizeof path) < 0) {
        set_err(err, errlen,
                "plugin '%s' not found (searched "
                "SLUICE_PLUGIN_PATH, the build tree and %s)",
                name, SLUICE_PLUGINDIR);
        return SLUICE_ENOTFOUND;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return SLUICE_ENOTFOUND;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        set_err(err, errlen, "%s: refusing a group- or world-writable plugin",
                path);
        return SLUICE_EPLUGIN;
    }
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        set_err(err, errlen, "%s: cannot load plugin: %s", path, dlerror());
        return SLUICE_EPLUGIN;
    }
    const sluice_plugin *(*entry)(void);
    void *sym = dlsym(dl, SLUICE_PLUGIN_ENTRY_NAME);
    memcpy(&entry, &sym, sizeof entry);
    if (!entry) {
        set_err(err, errlen, "%s: not a sluice plugin (no %s function)", path,
                SLUICE_PLUGIN_ENTRY_NAME);
        dlclose(dl);
        return SLUICE_EPLUGIN;
    }
    const sluice_plugin *d = entry();
    int rc = d ? check_desc(d, path, err, errlen) : SLUICE_EPLUGIN;
    if (!d)
        set_err(err, errlen, "%s: plugin entry returned no descriptor", path);
    if (rc < 0) {
        dlclose(dl);
        return rc;
    }
    sluice_plugin_handle *h = calloc(1, sizeof *h);
    if (h) {
        h->path = strdup(path);
        h->values = calloc(d->n_options ? d->n_options : 1, sizeof(char *));
    }
    if (!h || !h->path || !h->values) {
        if (h) {
            free(h->path);
            free(h->values);
        }
        free(h);
        dlclose(dl);
        set_err(err, errlen, "out of memory");
        return SLUICE_ENOMEM;
    }
    h->dl = dl;
    h->desc = d;
    *out = h;
    return 0;
}

const sluice_plugin *sluice_plugin_get(const sluice_plugin_handle *h)
{
    return h->desc;
}

const char *sluice_plugin_path(const sluice_plugin_handle *h)
{
    return h->path;
}

size_t sluice_plugin_ignored_fields(const sluice_plugin_handle *h,
                                    const char **names, size_t max)
{
    /* Each field a minor version added, next to the accessor the engine
     * reads it through: set, but not read, is ignored. */
    const sluice_plugin *d = h->desc;
    const char *found[2];
    size_t n = 0;
    if (d->boundary && !sluice__boundary(d))
        found[n++] = "boundary";
    if (d->lookbehind && !sluice__lookbehind(d))
        found[n++] = "lookbehind";
    for (size_t i = 0; i < n && i < max; i++)
        names[i] = found[i];
    return n;
}

static int option_index(const sluice_plugin *d, const char *key)
{
    for (uint32_t i = 0; i < d->n_options; i++)
        if (!strcmp(d->options[i].key, key))
            return (int)i;
    return -1;
}

int sluice_plugin_set_option(sluice_plugin_handle *h, const char *key,
                             const char *value, char *err, size_t errlen)
{
    int i = option_index(h->desc, key);
    if (i < 0) {
        set_err(err, errlen, "plugin %s has no option '%s'", h->desc->name,
                key);
        return SLUICE_EOPTION;
    }
    const sluice_option *o = &h->desc->options[i];
    if (validate(o, value) < 0) {
        if (o->type == SLUICE_OPT_ENUM)
            set_err(err, errlen, "option %s: invalid value '%s' (one of %s)",
                    key, value, o->choices);
        else
            set_err(err, errlen, "option %s: invalid %s '%s'", key,
                    o->type == SLUICE_OPT_BOOL ? "boolean" : "number", value);
        return SLUICE_EOPTION;
    }
    char *copy = strdup(value);
    if (!copy) {
        set_err(err, errlen, "out of memory");
        return SLUICE_ENOMEM;
    }
    free(h->values[i]);
    h->values[i] = copy;
    return 0;
}

const char *sluice__plugin_option(const sluice_plugin_handle *h,
                                  const char *key)
{
    int i = option_index(h->desc, key);
    if (i < 0)
        return NULL;
    return h->values[i] ? h->values[i] : h->desc->options[i].default_value;
}

int64_t sluice__plugin_option_int(const sluice_plugin_handle *h,
                                  const char *key)
{
    int i = option_index(h->desc, key);
    if (i < 0)
        return 0;
    const char *v = sluice__plugin_option(h, key);
    if (h->desc->options[i].type == SLUICE_OPT_BOOL) {
        int b = 0;
        parse_bool(v, &b);
        return b;
    }
    int64_t n = 0;
    sluice__parse_size(v, &n);
    return n;
}

void sluice_plugin_close(sluice_plugin_handle *h)
{
    if (!h)
        return;
    for (uint32_t i = 0; i < h->desc->n_options; i++)
        free(h->values[i]);
    free(h->values);
    free(h->path);
    if (h->dl)
        dlclose(h->dl);
    free(h);
}
