/*
 * signals.c -- signals for every command (see signals.h).
 */
#include "signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static volatile sig_atomic_t caught_sig; /* the first signal caught */
static const int caught_signals[] = {SIGINT, SIGTERM, SIGHUP};
static void (*signal_cleanup)(void);
static pid_t signal_owner;           /* the coordinator, not a worker */
static volatile sig_atomic_t in_job; /* cli_job_run is running a job */

/* Removes the command's temporary files and ends by `sig`. */
static void die_by(int sig)
{
    if (signal_cleanup)
        signal_cleanup();
    if (cli_job_runner_cleanup)
        cli_job_runner_cleanup();
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached */
}

static void on_signal(int sig)
{
    if (getpid() != signal_owner) { /* a worker: the default action */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    if (!caught_sig)
        caught_sig = sig;
    if (!in_job)
        die_by(caught_sig);
    sluice_interrupt(sig);
}

void cli_signals_install(void (*cleanup)(void))
{
    signal_cleanup = cleanup;
    signal_owner = getpid();
    size_t n = sizeof caught_signals / sizeof caught_signals[0];
    for (size_t i = 0; i < n; i++) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read ends */
        sigemptyset(&sa.sa_mask);
        for (size_t k = 0; k < n; k++)
            sigaddset(&sa.sa_mask, caught_signals[k]);
        if (sigaction(caught_signals[i], NULL, &old) == 0 &&
            old.sa_handler == SIG_IGN)
            continue; /* nohup, or a background job: stays ignored */
        sigaction(caught_signals[i], &sa, NULL);
    }
}

int cli_signal_caught(void)
{
    return caught_sig;
}

cli_job_runner_fn *cli_job_runner;
void (*cli_job_runner_cleanup)(void);

int cli_job_run(sluice_job *job, char *err, size_t errlen)
{
    in_job = 1;
    int rc = cli_job_runner ? cli_job_runner(job, err, errlen)
                            : sluice_job_run(job, err, errlen);
    in_job = 0;
    if (caught_sig)
        die_by(caught_sig);
    return rc;
}
