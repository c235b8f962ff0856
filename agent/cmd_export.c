/* cmd_export.c - `rdm-agent export [--entities A,B]`. */
#include "../base/plat.h"
#include "cli.h"
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints what an export did; a failed entity's message becomes a summary. */
rdm_rc cli_print_export(const export_stats *s, rdm_rc rc, rdm_err *err)
{
    if (s->stage_id)
        printf("export stage %lld: %d entit%s, %d sub-stage(s), %d file(s), %llu bytes: %lld "
               "created, %lld updated, %lld deleted%s\n",
               s->stage_id, s->entities, s->entities == 1 ? "y" : "ies", s->substages, s->files,
               s->bytes, s->created, s->updated, s->deleted, rc ? " (with errors, see above)" : "");
    if (s->stage_id)
        printf("export: %lld record(s) read from the staged models, %lld full-scan step(s), "
               "%lld automatic-index row(s)\n",
               s->rows, s->fullscan_steps, s->autoindex_rows);
    if (rc && rc != RDM_ERR_STOPPED && s->failed)
        rdm_fail(err, rc,
                 "the export of %d of %d entit%s failed (see above); the next run retries "
                 "them from the same changes",
                 s->failed, s->entities, s->entities == 1 ? "y" : "ies");
    if (s->orphans)
        printf("export: %lld file(s) of an interrupted run deleted (never registered)\n",
               s->orphans);
    return rc;
}

/* Shared by export and transfer: the command's only option is --entities
 * (else [rdm_transfer_task] ENTITIES, else all). */
rdm_rc cli_option_entities(cli_ctx *ctx, const profile *p, unsigned char **sel, rdm_err *err)
{
    const char *list = NULL;
    for (int i = 1; i < ctx->argc; i++) {
        const char *a = ctx->argv[i];
        if (strcmp(a, "--entities") == 0 && i + 1 < ctx->argc)
            list = ctx->argv[++i];
        else if (strncmp(a, "--entities=", 11) == 0)
            list = a + 11;
        else
            return rdm_fail(err, RDM_ERR_USAGE, "usage: rdm-agent %s [--entities A,B] (got '%s')",
                            ctx->argv[0], a);
    }
    if (!(*sel = malloc((size_t)p->nentities + 1)))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    return export_entities(p, list ? list : cfg_str(&ctx->cfg, CFG_TRANSFER_ENTITIES),
                           list ? "--entities" : "[rdm_transfer_task] ENTITIES", *sel, err);
}

rdm_rc cmd_export(cli_ctx *ctx, rdm_err *err)
{
    profile p = {0};
    store *st = NULL;
    unsigned char *sel = NULL;
    export_stats s;
    rdm_rc rc;

    if ((rc = cli_load_config(ctx, err)) || (rc = cli_load_profile(ctx, NULL, &p, err)) ||
        (rc = cli_option_entities(ctx, &p, &sel, err)))
        goto out;
    if ((rc = cli_open_store(ctx, &st, NULL, err)) || (rc = plat_signals_init(err)))
        goto out;
    rc = export_run(st, &p, &ctx->cfg, cfg_str(&ctx->cfg, CFG_DATA_DIR), sel, &s, err);
    rc = cli_print_export(&s, rc, err);
out:
    free(sel);
    store_close(st);
    profile_free(&p);
    return rc;
}
