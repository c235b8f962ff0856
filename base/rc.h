/*
 * rc.h - the one result-code enum of rdm-agent, and the error buffer.
 *
 * Interface:
 *   rdm_rc            every fallible function returns one; RDM_OK is 0, so
 *                     callers write `rc = f(...); if (rc) goto out;`
 *   rdm_err           a message buffer filled where the failure happens
 *                     (file, line, section, key, entity, record...), carried
 *                     up unchanged to the command that prints it
 *   rdm_fail()        fill the buffer and return the code in one statement
 *   rdm_rc_name()     a stable short name for logs and JSON
 *   rdm_rc_exit()     the process exit code for a result (see README)
 */
#ifndef RDM_RC_H
#define RDM_RC_H

#include <stddef.h>

typedef enum rdm_rc {
    RDM_OK = 0,
    RDM_ERR_USAGE,     /* bad command line */
    RDM_ERR_CONFIG,    /* configuration file or environment is wrong */
    RDM_ERR_NOT_BUILT, /* the command exists but is not implemented yet */
    RDM_ERR_BUSY,      /* another process holds the store or a task lock */
    RDM_ERR_NEWER,     /* the store was written by a newer agent */
    RDM_ERR_NOMEM,     /* allocation failed */
    RDM_ERR_IO,        /* file system error */
    RDM_ERR_STORE,     /* SQLite error */
    RDM_ERR_PARSE,     /* malformed input data */
    RDM_ERR_RANGE,     /* a value outside what is allowed */
    RDM_ERR_NOT_FOUND, /* a named thing does not exist */
    RDM_ERR_INTERNAL,  /* a bug: an invariant did not hold */
    RDM_ERR_DISK_FULL, /* no space left (or a file-size limit) while writing */
    RDM_ERR_STOPPED    /* a stop was asked (SIGTERM, SIGINT, service stop): work ended cleanly */
} rdm_rc;

#define RDM_ERR_MAX 1024

typedef struct rdm_err {
    char msg[RDM_ERR_MAX];
} rdm_err;

#if defined(__MINGW32__)
/* the build defines __USE_MINGW_ANSI_STDIO=1: C99 formats (%zu, %lld) */
#define RDM_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#elif defined(__GNUC__) || defined(__clang__)
#define RDM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RDM_PRINTF(a, b)
#endif

/* Formats the message into err (if err is not NULL) and returns rc.
 * Truncates silently at RDM_ERR_MAX. */
rdm_rc rdm_fail(rdm_err *err, rdm_rc rc, const char *fmt, ...) RDM_PRINTF(3, 4);

/* Empties the message. */
void rdm_err_clear(rdm_err *err);

/* Static string, never NULL. */
const char *rdm_rc_name(rdm_rc rc);

/* Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error
 * (and commands not built yet), 3 store busy. */
int rdm_rc_exit(rdm_rc rc);

#endif
