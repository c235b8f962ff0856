/* rc.c - result codes and the error buffer (see rc.h). */
#include "rc.h"

#include <stdarg.h>
#include <stdio.h>

rdm_rc rdm_fail(rdm_err *err, rdm_rc rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void rdm_err_clear(rdm_err *err)
{
    if (err)
        err->msg[0] = '\0';
}

const char *rdm_rc_name(rdm_rc rc)
{
    switch (rc) {
    case RDM_OK:
        return "ok";
    case RDM_ERR_USAGE:
        return "usage";
    case RDM_ERR_CONFIG:
        return "config";
    case RDM_ERR_NOT_BUILT:
        return "not-built";
    case RDM_ERR_BUSY:
        return "busy";
    case RDM_ERR_NEWER:
        return "newer-store";
    case RDM_ERR_NOMEM:
        return "nomem";
    case RDM_ERR_IO:
        return "io";
    case RDM_ERR_STORE:
        return "store";
    case RDM_ERR_PARSE:
        return "parse";
    case RDM_ERR_RANGE:
        return "range";
    case RDM_ERR_NOT_FOUND:
        return "not-found";
    case RDM_ERR_INTERNAL:
        return "internal";
    case RDM_ERR_DISK_FULL:
        return "disk-full";
    case RDM_ERR_STOPPED:
        return "stopped";
    }
    return "unknown";
}

int rdm_rc_exit(rdm_rc rc)
{
    switch (rc) {
    case RDM_OK:
        return 0;
    case RDM_ERR_USAGE:
    case RDM_ERR_CONFIG:
    case RDM_ERR_NOT_BUILT:
        return 2;
    case RDM_ERR_BUSY:
        return 3;
    default:
        return 1;
    }
}
