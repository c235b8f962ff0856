/* cmd_basic.c - the commands that need no pipeline: init, config, version. */
#include "../base/log.h"
#include "../storage/lock.h"
#include "cli.h"
#include "profile.h"
#include "version.h"

#include <cJSON.h>
#include <csv.h>
#include <curl/curl.h>
#include <mbedtls/version.h>
#include <nettle/version.h>
#include <stdio.h>
#include <string.h>
#ifdef RDM_WITH_POSTGRES
#include <libpq-fe.h>
#endif

/* Checks the store with PRAGMA quick_check; RDM_ERR_STORE with the first
 * problem SQLite reports. */
static rdm_rc quick_check(store *st, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_rc rc = RDM_OK;
    if (sqlite3_prepare_v2(store_db(st), "PRAGMA quick_check", -1, &s, NULL) != SQLITE_OK)
        return store_fail(st, err, "checking the store");
    if (sqlite3_step(s) != SQLITE_ROW)
        rc = store_fail(st, err, "checking the store");
    else if (strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0)
        rc = rdm_fail(err, RDM_ERR_STORE,
                      "store %s is damaged: %s. Restore it from a backup, or move it away and "
                      "run `rdm-agent init` to start a new one",
                      store_path(st), sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return rc;
}

rdm_rc cmd_init(cli_ctx *ctx, rdm_err *err)
{
    store *st = NULL;
    int from = 0;
    rdm_rc rc;

    if (ctx->argc > 1)
        return rdm_fail(err, RDM_ERR_USAGE, "init takes no arguments (got '%s')", ctx->argv[1]);
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_open_store(ctx, &st, &from, err)))
        goto out;
    /* store-wide lock: no task may run while the store is checked */
    if ((rc = store_lock_acquire(st, STORE_LOCK_ALL, 600, err)))
        goto out;
    rc = quick_check(st, err);
    rdm_rc rc2 = store_lock_release(st, STORE_LOCK_ALL, rc ? NULL : err);
    if (!rc)
        rc = rc2;
    if (rc)
        goto out;
    if (from == 0)
        printf("store %s: created at schema version %d\n", store_path(st), store_version(st));
    else if (from < store_version(st))
        printf("store %s: upgraded from schema version %d to %d\n", store_path(st), from,
               store_version(st));
    else
        printf("store %s: up to date (schema version %d), integrity ok\n", store_path(st),
               store_version(st));
out:
    store_close(st);
    return rc;
}

rdm_rc cmd_config(cli_ctx *ctx, rdm_err *err)
{
    rdm_rc rc;
    if (ctx->argc != 2)
        return rdm_fail(err, RDM_ERR_USAGE, "usage: rdm-agent config check | config defaults");
    if (strcmp(ctx->argv[1], "defaults") == 0) {
        cfg_print_defaults(stdout);
        return RDM_OK;
    }
    if (strcmp(ctx->argv[1], "check") != 0)
        return rdm_fail(err, RDM_ERR_USAGE, "unknown 'config %s'; use: config check | defaults",
                        ctx->argv[1]);
    if ((rc = cli_load_config(ctx, err)))
        return rc;
    cfg_print(&ctx->cfg, stdout);
    /* the profile too: the check before a start must see what start would */
    profile p = {0};
    rc = cli_load_profile(ctx, NULL, &p, err);
    if (!rc)
        printf("profile: %d model(s), %d entit%s\n", p.nmodels, p.nentities,
               p.nentities == 1 ? "y" : "ies");
    profile_free(&p);
    if (rc)
        return rc;
    if (ctx->cfg.warnings)
        fprintf(stderr, "rdm-agent: configuration is usable, with %d warning(s) above\n",
                ctx->cfg.warnings);
    return RDM_OK;
}

rdm_rc cmd_version(cli_ctx *ctx, rdm_err *err)
{
    char tls[32];
    (void)ctx;
    (void)err;
    mbedtls_version_get_string(tls);
    printf("rdm-agent %s (git %s)\n", RDM_VERSION, RDM_GIT_REVISION);
    printf("  sqlite    %s\n", sqlite3_libversion());
    printf("  libcurl   %s\n", curl_version());
    printf("  mbedtls   %s\n", tls);
    printf("  nettle    %d.%d\n", nettle_version_major(), nettle_version_minor());
    printf("  cjson     %s\n", cJSON_Version());
    printf("  libcsv    %d.%d.%d\n", CSV_MAJOR, CSV_MINOR, CSV_RELEASE);
#ifdef RDM_WITH_POSTGRES
    int pq = PQlibVersion();
    printf("  libpq     %d.%d\n", pq / 10000, pq % 10000);
#else
    printf("  libpq     (built without PostgreSQL support)\n");
#endif
    return RDM_OK;
}
