/*
 * cmd_service.c - `rdm-agent service install|uninstall|start|stop|status`:
 * the Windows service "rdm-agent", which runs `rdm-agent --config FILE
 * service run` under the Service Control Manager (base/svc.c); its stop
 * request ends the run loop at a chunk boundary. On Linux the packaged
 * systemd unit does this job: the command says so and exits 2.
 */
#include "../base/log.h"
#include "../base/plat.h"
#include "../base/svc.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define SVC_NAME "rdm-agent"

static rdm_rc service_body(void *ud, rdm_err *err)
{
    cli_ctx *ctx = ud;
    ctx->argc = 1;
    rdm_rc rc = cmd_run(ctx, err);
    if (rc)
        log_error("service: %s", err->msg);
    return rc;
}

rdm_rc cmd_service(cli_ctx *ctx, rdm_err *err)
{
    const char *verb = ctx->argc == 2 ? ctx->argv[1] : "";
    char state[32], exe[2048], cmd[8192];
    rdm_rc rc;
    if (strcmp(verb, "run") == 0)
        return svc_dispatch(SVC_NAME, service_body, ctx, err);
    if (strcmp(verb, "install") == 0) {
        if (!svc_supported())
            return svc_install(SVC_NAME, "", "", "", err); /* says what to use instead */
        if ((rc = cli_load_config(ctx, err)))
            return rc;
        if (!ctx->cfg.path)
            return rdm_fail(err, RDM_ERR_CONFIG,
                            "service install: no configuration file was found; give one with "
                            "--config (the setup program puts it in %%ProgramData%%\\rdm-agent)");
        if (plat_exe_dir(exe, sizeof exe))
            return rdm_fail(err, RDM_ERR_IO, "service install: cannot find this program's folder");
        /* the service starts in another folder (System32): a relative
         * path would name nothing there */
        char conf[4096];
        if (plat_abspath(ctx->cfg.path, conf, sizeof conf))
            return rdm_fail(err, RDM_ERR_CONFIG, "service install: cannot make %s an absolute path",
                            ctx->cfg.path);
        snprintf(cmd, sizeof cmd, "\"%s%crdm-agent.exe\" --config \"%s\" service run", exe,
                 PLAT_SEP, conf);
        if (!(rc = svc_install(SVC_NAME, "rdm-agent (РВД)",
                               "Delivers product data to the regional datamart", cmd, err)))
            printf("service: installed (%s); it starts with Windows; `rdm-agent service start` "
                   "starts it now\n",
                   cmd);
        return rc;
    }
    if (strcmp(verb, "uninstall") == 0) {
        if (!(rc = svc_uninstall(SVC_NAME, err)))
            printf("service: stopped and removed (configuration and data stay)\n");
        return rc;
    }
    if (strcmp(verb, "start") == 0) {
        if (!(rc = svc_start(SVC_NAME, err)))
            printf("service: started\n");
        return rc;
    }
    if (strcmp(verb, "stop") == 0) {
        if (!(rc = svc_stop(SVC_NAME, err)))
            printf("service: stopped\n");
        return rc;
    }
    if (strcmp(verb, "status") == 0) {
        if (!(rc = svc_state(SVC_NAME, state, sizeof state, err)))
            printf("service: %s\n", state);
        return rc;
    }
    return rdm_fail(err, RDM_ERR_USAGE,
                    "usage: rdm-agent service install|uninstall|start|stop|status");
}
