/* cmd_collect.c - `rdm-agent import PATH... [--skip-bad-rows] [--partial]`
 * and `rdm-agent collect`. */
#include "../base/log.h"
#include "../base/plat.h"
#include "cli.h"
#include "collect.h"
#include "import.h"
#include "inbox.h"

#include <stdio.h>
#include <string.h>

rdm_rc cmd_import(cli_ctx *ctx, rdm_err *err)
{
    import_opts o = {0};
    import_stats s = {0};
    profile p = {0};
    store *st = NULL;
    int npaths = 0, failed = 0, inbox = 0;
    rdm_rc rc, first = RDM_OK;

    for (int i = 1; i < ctx->argc; i++) {
        if (strcmp(ctx->argv[i], "--skip-bad-rows") == 0)
            o.skip_bad_rows = 1;
        else if (strcmp(ctx->argv[i], "--partial") == 0)
            o.partial = 1;
        else if (strcmp(ctx->argv[i], "--inbox") == 0)
            inbox = 1;
        else if (ctx->argv[i][0] == '-' && ctx->argv[i][1])
            return rdm_fail(err, RDM_ERR_USAGE, "import: unknown option %s", ctx->argv[i]);
        else
            npaths++;
    }
    if (!npaths == !inbox)
        return rdm_fail(err, RDM_ERR_USAGE,
                        "usage: rdm-agent import PATH... [--skip-bad-rows] [--partial] | "
                        "import --inbox");
    /* the inbox takes each entry as it is: a bundle's manifest says which
     * dumps are partial; a dump taken as full by mistake would delete */
    if (inbox && (o.partial || o.skip_bad_rows))
        return rdm_fail(err, RDM_ERR_USAGE,
                        "import --inbox takes no --partial or --skip-bad-rows: the inbox imports "
                        "each entry as it is (a bundle's manifest.json marks its partial dumps: "
                        "\"partial\": true). To import one dump with these options, give its "
                        "path: rdm-agent import PATH --partial");
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_load_profile(ctx, NULL, &p, err)) ||
        (rc = cli_open_store(ctx, &st, NULL, err)) || (rc = plat_signals_init(err)))
        goto out;
    if (inbox) {
        inbox_stats ib;
        rc = inbox_run(st, &p, &ctx->cfg, &ib, &s, err);
        printf("inbox %s: %d imported, %d refused (moved to rejected/), %d not complete yet, %d "
               "kept for the next run; %lld row(s) landed\n",
               cfg_str(&ctx->cfg, CFG_DUMP_DIR), ib.imported, ib.rejected, ib.waiting, ib.kept,
               s.rows);
        goto out;
    }
    for (int i = 1; i < ctx->argc; i++) {
        const char *a = ctx->argv[i];
        if (a[0] == '-' && a[1])
            continue;
        if (plat_stop_requested()) {
            log_warn("import: stopped on request before %s; what was imported stays", a);
            if (!first)
                first = rdm_fail(err, RDM_ERR_STOPPED, "import stopped on request");
            break;
        }
        rdm_err e;
        rdm_err_clear(&e);
        rc = import_path(st, &p, &ctx->cfg, a, &o, &s, &e);
        if (rc) {
            failed++;
            log_error("%s", e.msg);
            if (!first) {
                first = rc;
                *err = e;
            }
        }
    }
    printf("import: %d file(s) landed, %lld row(s), %lld quarantined; %d already imported; %d "
           "refused\n",
           s.files, s.rows, s.rejected, s.known, failed);
    rc = first;
    if (rc)
        rdm_fail(err, rc, "%d of the paths were not imported (see above)", failed);
out:
    store_close(st);
    profile_free(&p);
    return rc;
}

void cli_print_collect(const collect_stats *s)
{
    if (s->created + s->updated + s->deleted == 0)
        printf("collect stage %lld: %d source(s), %lld row(s): 0 changes\n", s->stage_id,
               s->sources, s->rows);
    else
        printf("collect stage %lld: %d source(s), %lld row(s), %d sub-stage(s): %lld "
               "created, %lld updated, %lld deleted\n",
               s->stage_id, s->sources, s->rows, s->substages, s->created, s->updated, s->deleted);
}

rdm_rc cmd_collect(cli_ctx *ctx, rdm_err *err)
{
    profile p = {0};
    store *st = NULL;
    collect_stats s;
    rdm_rc rc;

    if (ctx->argc > 1)
        return rdm_fail(err, RDM_ERR_USAGE, "collect takes no arguments (got '%s')", ctx->argv[1]);
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_load_profile(ctx, NULL, &p, err)) ||
        (rc = cli_open_store(ctx, &st, NULL, err)) || (rc = plat_signals_init(err)))
        goto out;
    rc = collect_run(st, &p, &ctx->cfg, &s, err);
    if (!rc)
        cli_print_collect(&s);
out:
    store_close(st);
    profile_free(&p);
    return rc;
}
