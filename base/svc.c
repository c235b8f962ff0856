/* svc.c - see svc.h. */
#include "svc.h"
#include "plat.h"

#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>

int svc_supported(void)
{
    return 1;
}

static rdm_rc win_fail(rdm_err *err, const char *what)
{
    DWORD e = GetLastError();
    char msg[256] = "";
    FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0, msg,
                   sizeof msg, NULL);
    for (char *c = msg; *c; c++)
        if (*c == '\r' || *c == '\n')
            *c = ' ';
    return rdm_fail(err, e == ERROR_ACCESS_DENIED ? RDM_ERR_USAGE : RDM_ERR_IO,
                    "service: %s: %s(error %lu)%s", what, msg, (unsigned long)e,
                    e == ERROR_ACCESS_DENIED ? "; run it as an administrator" : "");
}

/* Opens the SCM and, unless name is NULL, the service. */
static rdm_rc open_svc(const char *name, SC_HANDLE *scm, SC_HANDLE *s, rdm_err *err)
{
    *s = NULL;
    if (!(*scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_ALL_ACCESS)))
        return win_fail(err, "opening the Service Control Manager");
    if (name && !(*s = OpenServiceA(*scm, name, SERVICE_ALL_ACCESS))) {
        rdm_rc rc = win_fail(err, "opening the service (is it installed?)");
        CloseServiceHandle(*scm);
        return rc;
    }
    return RDM_OK;
}

static void close_svc(SC_HANDLE scm, SC_HANDLE s)
{
    if (s)
        CloseServiceHandle(s);
    CloseServiceHandle(scm);
}

rdm_rc svc_install(const char *name, const char *display, const char *description,
                   const char *cmdline, rdm_err *err)
{
    SC_HANDLE scm, s;
    rdm_rc rc = open_svc(NULL, &scm, &s, err);
    if (rc)
        return rc;
    s = CreateServiceA(scm, name, display, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                       SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmdline, NULL, NULL, NULL, NULL,
                       NULL);
    if (!s) {
        rc = win_fail(err, "creating the service");
    } else {
        SERVICE_DESCRIPTIONA d = {(LPSTR)description};
        ChangeServiceConfig2A(s, SERVICE_CONFIG_DESCRIPTION, &d);
        SC_ACTION acts[1] = {{SC_ACTION_RESTART, 30000}};
        SERVICE_FAILURE_ACTIONSA fa = {86400, NULL, NULL, 1, acts};
        ChangeServiceConfig2A(s, SERVICE_CONFIG_FAILURE_ACTIONS, &fa);
        /* also when it stops with an error it reported (run failed), not
         * only when the process dies: without this flag Windows restarts
         * a crash only */
        SERVICE_FAILURE_ACTIONS_FLAG flag = {TRUE};
        ChangeServiceConfig2A(s, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag);
    }
    close_svc(scm, s);
    return rc;
}

/* Asks a stop and waits up to 20 s; RDM_OK when it was not running. */
static rdm_rc stop_wait(SC_HANDLE s, rdm_err *err)
{
    SERVICE_STATUS st;
    if (!ControlService(s, SERVICE_CONTROL_STOP, &st)) {
        if (GetLastError() == ERROR_SERVICE_NOT_ACTIVE)
            return RDM_OK;
        return win_fail(err, "stopping");
    }
    for (int i = 0; i < 40 && QueryServiceStatus(s, &st) && st.dwCurrentState != SERVICE_STOPPED;
         i++)
        Sleep(500);
    if (st.dwCurrentState != SERVICE_STOPPED)
        return rdm_fail(err, RDM_ERR_IO, "service: still stopping after 20 s");
    return RDM_OK;
}

rdm_rc svc_uninstall(const char *name, rdm_err *err)
{
    SC_HANDLE scm, s;
    rdm_rc rc = open_svc(name, &scm, &s, err);
    if (rc)
        return rc;
    if (!(rc = stop_wait(s, err)) && !DeleteService(s))
        rc = win_fail(err, "removing");
    close_svc(scm, s);
    return rc;
}

rdm_rc svc_start(const char *name, rdm_err *err)
{
    SC_HANDLE scm, s;
    rdm_rc rc = open_svc(name, &scm, &s, err);
    if (rc)
        return rc;
    if (!StartServiceA(s, 0, NULL))
        rc = win_fail(err, "starting");
    close_svc(scm, s);
    return rc;
}

rdm_rc svc_stop(const char *name, rdm_err *err)
{
    SC_HANDLE scm, s;
    rdm_rc rc = open_svc(name, &scm, &s, err);
    if (rc)
        return rc;
    rc = stop_wait(s, err);
    close_svc(scm, s);
    return rc;
}

rdm_rc svc_state(const char *name, char *state, size_t n, rdm_err *err)
{
    static const char *const names[] = {"?",       "stopped",    "starting", "stopping",
                                        "running", "continuing", "pausing",  "paused"};
    SC_HANDLE scm, s;
    SERVICE_STATUS st;
    rdm_rc rc = open_svc(name, &scm, &s, err);
    if (rc)
        return rc;
    if (QueryServiceStatus(s, &st))
        snprintf(state, n, "%s", st.dwCurrentState <= 7 ? names[st.dwCurrentState] : "?");
    else
        rc = win_fail(err, "querying");
    close_svc(scm, s);
    return rc;
}

/* ---- the process the SCM started ---- */

static struct {
    const char *name;
    rdm_rc (*body)(void *, rdm_err *);
    void *ud;
    rdm_err *err;
    rdm_rc rc;
    SERVICE_STATUS_HANDLE h;
    SERVICE_STATUS st;
} run;

static void report(DWORD state, DWORD code, DWORD wait_ms)
{
    run.st.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    run.st.dwCurrentState = state;
    run.st.dwWin32ExitCode = code;
    run.st.dwWaitHint = wait_ms;
    run.st.dwControlsAccepted =
        state == SERVICE_START_PENDING ? 0 : SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN;
    SetServiceStatus(run.h, &run.st);
}

static DWORD WINAPI on_control(DWORD ctrl, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    if (ctrl == SERVICE_CONTROL_STOP || ctrl == SERVICE_CONTROL_SHUTDOWN) {
        report(SERVICE_STOP_PENDING, NO_ERROR, 15000);
        plat_request_stop();
    }
    return NO_ERROR;
}

static void WINAPI service_main(DWORD argc, LPSTR *argv)
{
    (void)argc;
    (void)argv;
    if (!(run.h = RegisterServiceCtrlHandlerExA(run.name, on_control, NULL)))
        return;
    report(SERVICE_START_PENDING, NO_ERROR, 5000);
    report(SERVICE_RUNNING, NO_ERROR, 0);
    run.rc = run.body(run.ud, run.err);
    report(SERVICE_STOPPED, run.rc ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR, 0);
}

rdm_rc svc_dispatch(const char *name, rdm_rc (*body)(void *ud, rdm_err *err), void *ud,
                    rdm_err *err)
{
    SERVICE_TABLE_ENTRYA table[] = {{(LPSTR)name, service_main}, {NULL, NULL}};
    run.name = name, run.body = body, run.ud = ud, run.err = err;
    if (!StartServiceCtrlDispatcherA(table))
        return rdm_fail(err, RDM_ERR_USAGE,
                        "service run is started by the Windows Service Control Manager; in a "
                        "console use `rdm-agent run`");
    return run.rc;
}

#else

int svc_supported(void)
{
    return 0;
}

static rdm_rc not_here(const char *verb, rdm_err *err)
{
    return rdm_fail(err, RDM_ERR_NOT_BUILT,
                    "service: this command manages the Windows service; on Linux the package "
                    "installs the systemd unit rdm-agent.service (systemctl %s rdm-agent)",
                    verb);
}

rdm_rc svc_install(const char *name, const char *display, const char *description,
                   const char *cmdline, rdm_err *err)
{
    (void)name, (void)display, (void)description, (void)cmdline;
    return not_here("enable", err);
}

rdm_rc svc_uninstall(const char *name, rdm_err *err)
{
    (void)name;
    return not_here("disable", err);
}

rdm_rc svc_start(const char *name, rdm_err *err)
{
    (void)name;
    return not_here("start", err);
}

rdm_rc svc_stop(const char *name, rdm_err *err)
{
    (void)name;
    return not_here("stop", err);
}

rdm_rc svc_state(const char *name, char *state, size_t n, rdm_err *err)
{
    (void)name, (void)state, (void)n;
    return not_here("status", err);
}

rdm_rc svc_dispatch(const char *name, rdm_rc (*body)(void *ud, rdm_err *err), void *ud,
                    rdm_err *err)
{
    (void)name, (void)body, (void)ud;
    return not_here("start", err);
}
#endif
