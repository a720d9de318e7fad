/*
 * sdk_embed.c -- a program that runs jobs itself, the way a tool embedding
 * the engine would: tests/cli/sdk.sh builds it against an installed SDK with
 * nothing but `pkg-config --cflags --libs sluice`.
 *
 * Usage: sdk_embed PLUGIN FILE...  Runs PLUGIN (a path or a name) over the
 * files with two workers and prints, in input order, one line per input:
 * its name and its counters as NAME=VALUE, or its error.  Exit status 0 when
 * every input succeeded.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sluice/sluice.h>

typedef struct embed {
    sluice_job *job;           /* the job whose results these are */
    const sluice_plugin *desc; /* its plugin's descriptor */
} embed;

static void on_input(void *user, uint32_t input, const sluice_input *in,
                     const void *partial, int errnum, uint64_t offset,
                     const char *message)
{
    embed *e = user;
    uint64_t values[16];

    (void)input;
    (void)offset;
    if (errnum != 0 || !partial || e->desc->n_counters > 16) {
        printf("%s: error: %s\n", in->path,
               message && *message ? message : strerror(errnum));
        return;
    }
    sluice_job_counters(e->job, partial, values);
    printf("%s", in->path);
    for (uint32_t i = 0; i < e->desc->n_counters; i++)
        printf(" %s=%" PRIu64, e->desc->counter_names[i], values[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    sluice_plugin_handle *h = NULL;
    embed e = {NULL, NULL};
    char err[512];
    int rc = 1;

    if (argc < 3) {
        fprintf(stderr, "usage: sdk_embed PLUGIN FILE...\n");
        return 2;
    }
    if (sluice_plugin_open(argv[1], NULL, &h, err, sizeof err) != 0)
        goto fail;
    e.desc = sluice_plugin_get(h);
    sluice_job_opts opts = {.jobs = 2};
    sluice_callbacks cb = {.user = &e, .on_input = on_input};
    if (sluice_job_new(h, &opts, &cb, &e.job, err, sizeof err) != 0)
        goto fail;
    for (int i = 2; i < argc; i++)
        if (sluice_job_add(e.job, argv[i], 0) != 0) {
            snprintf(err, sizeof err, "%s: cannot add", argv[i]);
            goto fail;
        }
    int run = sluice_job_run(e.job, err, sizeof err);
    if (run != 0 && run != SLUICE_EINPUT)
        goto fail;
    rc = run == 0 ? 0 : 1;
    sluice_job_free(e.job);
    sluice_plugin_close(h);
    return rc;
fail:
    fprintf(stderr, "sdk_embed: %s\n", err);
    sluice_job_free(e.job);
    if (h)
        sluice_plugin_close(h);
    return 1;
}
