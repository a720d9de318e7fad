/*
 * errors.c -- error codes and their messages.
 *
 * Engine functions return 0 or a negative code: either a negative errno from
 * the system, or one of the SLUICE_E* codes of the X-macro table in
 * sluice/sluice.h.  This file turns either into words.
 */
#include <string.h>

#include "sluice/sluice.h"

const char *sluice_strerror(int err)
{
    switch (err) {
#define SLUICE_X_MSG(name, value, msg)                                         \
    case SLUICE_E##name:                                                       \
        return msg;
        SLUICE_ERRNO_MAP(SLUICE_X_MSG)
#undef SLUICE_X_MSG
    default:
        break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

const char *sluice_err_name(int err)
{
    switch (err) {
#define SLUICE_X_NAME(name, value, msg)                                        \
    case SLUICE_E##name:                                                       \
        return "SLUICE_E" #name;
        SLUICE_ERRNO_MAP(SLUICE_X_NAME)
#undef SLUICE_X_NAME
    default:
        return "UNKNOWN";
    }
}
