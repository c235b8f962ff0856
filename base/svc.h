/*
 * svc.h - the operating system's service manager, for `rdm-agent service`.
 * Windows: the Service Control Manager. Elsewhere the package's systemd
 * unit runs the agent, and every call is RDM_ERR_NOT_BUILT with a message
 * saying so.
 *
 * Interface (prefix svc_):
 *   svc_supported()
 *   svc_install(), svc_uninstall(), svc_start(), svc_stop(), svc_state()
 *   svc_dispatch()   run a body as the service the SCM started; its stop
 *                    request calls plat_request_stop()
 */
#ifndef RDM_SVC_H
#define RDM_SVC_H

#include "rc.h"

#include <stddef.h>

/* 1 where there is a service manager to talk to (Windows). */
int svc_supported(void);

/* Registers the service `name` to run cmdline at boot (automatic start,
 * restarted 30 s after a failure). */
rdm_rc svc_install(const char *name, const char *display, const char *description,
                   const char *cmdline, rdm_err *err);

/* Stops (waiting up to 20 s) and removes the service. */
rdm_rc svc_uninstall(const char *name, rdm_err *err);

rdm_rc svc_start(const char *name, rdm_err *err);

/* Asks the service to stop and waits up to 20 s for it. */
rdm_rc svc_stop(const char *name, rdm_err *err);

/* Writes "running", "stopped", "starting", ... into state. */
rdm_rc svc_state(const char *name, char *state, size_t n, rdm_err *err);

/* Called in the process the SCM started: reports running, runs body(ud),
 * reports stopped (with an error when body fails). A stop or shutdown
 * request calls plat_request_stop(), which the body watches. Returns the
 * body's result; RDM_ERR_USAGE when the process was not started by the
 * SCM (run from a console). */
rdm_rc svc_dispatch(const char *name, rdm_rc (*body)(void *ud, rdm_err *err), void *ud,
                    rdm_err *err);

#endif
