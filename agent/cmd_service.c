/*
 * cmd_service.c - `rdm-agent service install|uninstall|start|stop|status`:
 * the Windows service "rdm-agent", which runs `rdm-agent --config FILE run`
 * under the Service Control Manager; a stop request from the SCM asks the
 * run loop to stop (plat_request_stop), which ends the current chunk and
 * returns within its 10 s. On Linux the packaged systemd unit does this
 * job: the command says so and exits 2.
 */
#include "../base/log.h"
#include "../base/plat.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>

#define SVC_NAME    "rdm-agent"
#define SVC_DISPLAY "rdm-agent (РВД)"

static SERVICE_STATUS_HANDLE svc_handle;
static SERVICE_STATUS svc_status;
static cli_ctx *svc_ctx;
static rdm_rc svc_rc;

static void svc_report(DWORD state, DWORD exit_code, DWORD wait_ms)
{
    svc_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    svc_status.dwCurrentState = state;
    svc_status.dwWin32ExitCode = exit_code;
    svc_status.dwWaitHint = wait_ms;
    svc_status.dwControlsAccepted =
        state == SERVICE_START_PENDING ? 0 : SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN;
    SetServiceStatus(svc_handle, &svc_status);
}

static DWORD WINAPI svc_control(DWORD ctrl, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    if (ctrl == SERVICE_CONTROL_STOP || ctrl == SERVICE_CONTROL_SHUTDOWN) {
        svc_report(SERVICE_STOP_PENDING, NO_ERROR, 15000);
        plat_request_stop();
    }
    return NO_ERROR;
}

static void WINAPI svc_main(DWORD argc, LPSTR *argv)
{
    (void)argc;
    (void)argv;
    rdm_err err;
    svc_handle = RegisterServiceCtrlHandlerExA(SVC_NAME, svc_control, NULL);
    if (!svc_handle)
        return;
    svc_report(SERVICE_START_PENDING, NO_ERROR, 5000);
    svc_report(SERVICE_RUNNING, NO_ERROR, 0);
    rdm_err_clear(&err);
    svc_ctx->argc = 1;
    svc_rc = cmd_run(svc_ctx, &err);
    if (svc_rc)
        log_error("service: %s", err.msg);
    svc_report(SERVICE_STOPPED, svc_rc ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR, 0);
}

/* The SCM starts "rdm-agent.exe --config FILE service run". */
static rdm_rc svc_dispatch(cli_ctx *ctx, rdm_err *err)
{
    SERVICE_TABLE_ENTRYA table[] = {{(LPSTR)SVC_NAME, svc_main}, {NULL, NULL}};
    svc_ctx = ctx;
    if (!StartServiceCtrlDispatcherA(table))
        return rdm_fail(err, RDM_ERR_USAGE,
                        "service run is started by the Windows Service Control Manager; to run "
                        "in a console use `rdm-agent run`");
    return svc_rc;
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

static rdm_rc svc_manage(cli_ctx *ctx, const char *verb, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    SC_HANDLE scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_ALL_ACCESS);
    if (!scm)
        return win_fail(err, "opening the Service Control Manager");
    if (strcmp(verb, "install") == 0) {
        char exe[MAX_PATH], cmd[3 * MAX_PATH];
        if ((rc = cli_load_config(ctx, err)))
            goto out;
        if (!GetModuleFileNameA(NULL, exe, sizeof exe)) {
            rc = win_fail(err, "finding rdm-agent.exe");
            goto out;
        }
        if (!ctx->cfg.path) {
            rc = rdm_fail(err, RDM_ERR_CONFIG,
                          "service install: no configuration file was found; give one with "
                          "--config (the installer puts it in %%ProgramData%%\\rdm-agent)");
            goto out;
        }
        snprintf(cmd, sizeof cmd, "\"%s\" --config \"%s\" service run", exe, ctx->cfg.path);
        SC_HANDLE s = CreateServiceA(scm, SVC_NAME, SVC_DISPLAY, SERVICE_ALL_ACCESS,
                                     SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                     SERVICE_ERROR_NORMAL, cmd, NULL, NULL, NULL, NULL, NULL);
        if (!s) {
            rc = win_fail(err, "creating the service");
            goto out;
        }
        SERVICE_DESCRIPTIONA d = {(LPSTR) "Delivers product data to the regional datamart"};
        ChangeServiceConfig2A(s, SERVICE_CONFIG_DESCRIPTION, &d);
        SC_ACTION acts[1] = {{SC_ACTION_RESTART, 30000}};
        SERVICE_FAILURE_ACTIONSA fa = {86400, NULL, NULL, 1, acts};
        ChangeServiceConfig2A(s, SERVICE_CONFIG_FAILURE_ACTIONS, &fa);
        CloseServiceHandle(s);
        printf("service: installed (%s), starts with Windows; `rdm-agent service start` starts it "
               "now\n",
               cmd);
        goto out;
    }
    SC_HANDLE s = OpenServiceA(scm, SVC_NAME, SERVICE_ALL_ACCESS);
    if (!s) {
        rc = win_fail(err, "opening the service (is it installed?)");
        goto out;
    }
    SERVICE_STATUS st;
    if (strcmp(verb, "start") == 0) {
        if (!StartServiceA(s, 0, NULL))
            rc = win_fail(err, "starting");
        else
            printf("service: started\n");
    } else if (strcmp(verb, "stop") == 0 || strcmp(verb, "uninstall") == 0) {
        if (ControlService(s, SERVICE_CONTROL_STOP, &st)) {
            for (int i = 0;
                 i < 40 && QueryServiceStatus(s, &st) && st.dwCurrentState != SERVICE_STOPPED; i++)
                Sleep(500);
            printf("service: stopped\n");
        } else if (strcmp(verb, "stop") == 0)
            rc = win_fail(err, "stopping");
        if (!rc && strcmp(verb, "uninstall") == 0) {
            if (!DeleteService(s))
                rc = win_fail(err, "removing");
            else
                printf("service: removed (configuration and data stay)\n");
        }
    } else if (QueryServiceStatus(s, &st)) {
        static const char *const names[] = {"?",       "stopped",    "starting", "stopping",
                                            "running", "continuing", "pausing",  "paused"};
        printf("service: %s\n", st.dwCurrentState <= 7 ? names[st.dwCurrentState] : "?");
    } else
        rc = win_fail(err, "querying");
    CloseServiceHandle(s);
out:
    CloseServiceHandle(scm);
    return rc;
}
#endif

rdm_rc cmd_service(cli_ctx *ctx, rdm_err *err)
{
    const char *verb = ctx->argc == 2 ? ctx->argv[1] : "";
    if (strcmp(verb, "install") && strcmp(verb, "uninstall") && strcmp(verb, "start") &&
        strcmp(verb, "stop") && strcmp(verb, "status") && strcmp(verb, "run"))
        return rdm_fail(err, RDM_ERR_USAGE,
                        "usage: rdm-agent service install|uninstall|start|stop|status");
#ifdef _WIN32
    if (strcmp(verb, "run") == 0)
        return svc_dispatch(ctx, err);
    return svc_manage(ctx, verb, err);
#else
    return rdm_fail(err, RDM_ERR_NOT_BUILT,
                    "service %s: the service command manages the Windows service; on Linux the "
                    "package installs the systemd unit rdm-agent.service (systemctl %s "
                    "rdm-agent)",
                    verb,
                    strcmp(verb, "install") == 0     ? "enable"
                    : strcmp(verb, "uninstall") == 0 ? "disable"
                                                     : verb);
#endif
}
