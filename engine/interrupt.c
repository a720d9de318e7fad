/*
 * interrupt.c -- stopping a running job from a signal handler.
 *
 * sluice_interrupt() only stores the signal and rings the coordinator's
 * eventfd (both async-signal-safe); the run loops (loop.c, inline.c) and the
 * stream reader (os.c) look at the stored signal and stop: no unit is planned
 * after it, workers are killed and reaped, and sluice_job_run returns
 * SLUICE_EINTR.
 */
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "os.h"
#include "sluice/sluice.h"

volatile sig_atomic_t sluice__interrupt_sig;

/* Defined in loop.c: the coordinator's eventfd while a parallel run lasts. */
extern int sluice__coord_eventfd;

void sluice_interrupt(int sig)
{
    sluice__interrupt_sig = sig > 0 ? sig : SIGINT;
    int fd = sluice__coord_eventfd;
    if (fd >= 0) {
        uint64_t one = 1;
        ssize_t ignored = write(fd, &one, sizeof one);
        (void)ignored; /* the eventfd is only a wake-up */
    }
}

int sluice_interrupted(void)
{
    return (int)sluice__interrupt_sig;
}
