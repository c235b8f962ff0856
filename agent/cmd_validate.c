/* cmd_validate.c - `rdm-agent validate FILE --entity KEY [--profile P]
 * [--prefix P]`: the ФЛК of an export file before it is sent. */
#include "../base/log.h"
#include "../base/plat.h"
#include "cli.h"
#include "flc.h"
#include "profile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SHOW_MAX 200

typedef struct show {
    const char *file;
    long shown;
} show;

static void print_problem(void *ud, long line, const char *field, const char *msg)
{
    show *s = ud;
    if (s->shown++ >= SHOW_MAX)
        return;
    if (field)
        printf("%s:%ld: field %s: %s\n", s->file, line, field, msg);
    else
        printf("%s:%ld: %s\n", s->file, line, msg);
}

rdm_rc cmd_validate(cli_ctx *ctx, rdm_err *err)
{
    const char *file = NULL, *entity = NULL, *prof = NULL, *prefix = NULL;
    profile p = {0};
    rdm_rc rc;

    for (int i = 1; i < ctx->argc; i++) {
        const char *a = ctx->argv[i];
        const char **dst = strcmp(a, "--entity") == 0    ? &entity
                           : strcmp(a, "--profile") == 0 ? &prof
                           : strcmp(a, "--prefix") == 0  ? &prefix
                                                         : NULL;
        if (dst) {
            if (i + 1 >= ctx->argc)
                return rdm_fail(err, RDM_ERR_USAGE, "%s needs a value", a);
            *dst = ctx->argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return rdm_fail(err, RDM_ERR_USAGE, "validate: unknown option %s", a);
        } else if (!file) {
            file = a;
        } else {
            return rdm_fail(err, RDM_ERR_USAGE, "validate checks one file (got '%s' too)", a);
        }
    }
    if (!file || !entity)
        return rdm_fail(err, RDM_ERR_USAGE,
                        "usage: rdm-agent validate FILE --entity KEY [--profile P] [--prefix P]");
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_load_profile(ctx, prof, &p, err)))
        goto out;
    const prof_entity *e = profile_entity(&p, entity);
    if (!e) {
        char list[1024] = "";
        for (int i = 0; i < p.nentities; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, p.entities[i].key, sizeof list - strlen(list) - 1);
        }
        rc = rdm_fail(err, RDM_ERR_USAGE, "unknown entity '%s'; the profile has: %s", entity, list);
        goto out;
    }
    FILE *f = fopen(file, "rb");
    if (!f) {
        rc = rdm_fail(err, RDM_ERR_IO, "cannot open %s: %s", file, strerror(errno));
        goto out;
    }
    show s = {file, 0};
    flc c;
    char chunk[65536];
    size_t n;
    flc_begin(&c, e, prefix ? prefix : cfg_str(&ctx->cfg, CFG_EXPORT_ENTITY_ID_PREFIX),
              print_problem, &s);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        flc_feed(&c, chunk, n);
    int rerr = ferror(f);
    fclose(f);
    long problems = flc_end(&c);
    long records = c.records;
    if (rerr) {
        rc = rdm_fail(err, RDM_ERR_IO, "error reading %s", file);
        goto out;
    }
    if (problems) {
        if (problems > SHOW_MAX)
            printf("%s: ... and %ld more problems\n", file, problems - SHOW_MAX);
        rc = rdm_fail(err, RDM_ERR_PARSE,
                      "%s: %ld problem(s); the file does not pass the ФЛК of "
                      "%s",
                      file, problems, e->key);
        goto out;
    }
    printf("%s: ok, %ld record(s) of %s\n", file, records, e->key);
out:
    profile_free(&p);
    return rc;
}
