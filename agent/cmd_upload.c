/* cmd_upload.c - `rdm-agent upload [--force]`, `check-status [--force]`,
 * `resend ID|--all` and `journal [--since T] [--failed] [--limit N]`. */
#include "../base/plat.h"
#include "../storage/journal.h"
#include "cli.h"
#include "upload.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses only "--force"; anything else is a usage error. */
static rdm_rc force_flag(cli_ctx *ctx, const char *usage, int *force, rdm_err *err)
{
    *force = 0;
    for (int i = 1; i < ctx->argc; i++) {
        if (strcmp(ctx->argv[i], "--force") == 0)
            *force = 1;
        else
            return rdm_fail(err, RDM_ERR_USAGE, "usage: rdm-agent %s (got '%s')", usage,
                            ctx->argv[i]);
    }
    return RDM_OK;
}

static void when(long long t, char *buf, size_t n)
{
    struct tm tm;
    if (plat_localtime((time_t)t, &tm))
        strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    else
        snprintf(buf, n, "%lld", t);
}

/* Prints what an upload run did; an unreachable datamart is a failure of
 * the command (exit 1) though not of any sub-stage. */
rdm_rc cli_print_upload(const rdm_config *cfg, const upload_stats *s, rdm_rc rc, rdm_err *err)
{
    char at[32];
    if (s->not_due) {
        when(s->next_try, at, sizeof at);
        printf("upload: the datamart was unreachable; next attempt at %s (--force tries now); "
               "%d sub-stage(s) wait\n",
               at, s->waiting);
        /* still unreachable as far as is known: a failure while anything
         * waits for it (a transfer from cron must not report success
         * through an outage) */
        if (!rc && s->waiting)
            rc = rdm_fail(err, RDM_ERR_IO,
                          "the datamart was unreachable at the last attempt; %d sub-stage(s) "
                          "wait for it",
                          s->waiting);
        return rc;
    }
    printf("upload: %d file(s) sent (%lld bytes), %d refused; sub-stages: %d finished, %d "
           "process error, %d failed, %d waiting; %lld bytes in flight\n",
           s->files_sent, s->bytes_sent, s->files_failed, s->finished, s->process_error, s->failed,
           s->waiting, s->in_flight);
    if (s->budget_full)
        printf("upload: UPLOAD_QUEUE_MAX_SIZE (%lld bytes) reached: the rest goes when the "
               "datamart has processed what it has (rdm-agent check-status)\n",
               cfg_int(cfg, CFG_UPLOAD_QUEUE_MAX_SIZE));
    if (s->unreachable) {
        when(s->next_try, at, sizeof at);
        printf("upload: the datamart is unreachable (%s); nothing was marked failed; next "
               "attempt at %s\n",
               s->reason, at);
        if (!rc)
            rc = rdm_fail(err, RDM_ERR_IO, "the datamart is unreachable: %s", s->reason);
    }
    return rc;
}

rdm_rc cli_print_status(const status_stats *s, rdm_rc rc, rdm_err *err)
{
    if (s->not_due) {
        char at[32];
        when(s->next_try, at, sizeof at);
        printf("check-status: the datamart was unreachable; next attempt at %s (--force asks "
               "now)\n",
               at);
        return rc;
    }
    printf("check-status: %d asked: %d processed, %d error, %d in progress, %d unknown; %d "
           "given up\n",
           s->asked, s->finished, s->errors, s->still, s->unknown, s->gave_up);
    if (s->unreachable && !rc)
        rc = rdm_fail(err, RDM_ERR_IO, "the datamart is unreachable: %s", s->reason);
    return rc;
}

rdm_rc cmd_upload(cli_ctx *ctx, rdm_err *err)
{
    int force;
    store *st = NULL;
    upload_stats s;
    rdm_rc rc;
    if ((rc = force_flag(ctx, "upload [--force]", &force, err)) ||
        (rc = cli_load_config(ctx, err)) || (rc = cli_open_store(ctx, &st, NULL, err)) ||
        (rc = plat_signals_init(err)))
        goto out;
    rc = upload_run(st, &ctx->cfg, force, &s, err);
    if (rc != RDM_ERR_BUSY)
        rc = cli_print_upload(&ctx->cfg, &s, rc, err);
out:
    store_close(st);
    return rc;
}

rdm_rc cmd_check_status(cli_ctx *ctx, rdm_err *err)
{
    int force;
    store *st = NULL;
    status_stats s;
    rdm_rc rc;
    if ((rc = force_flag(ctx, "check-status [--force]", &force, err)) ||
        (rc = cli_load_config(ctx, err)) || (rc = cli_open_store(ctx, &st, NULL, err)) ||
        (rc = plat_signals_init(err)))
        goto out;
    rc = upload_check_status(st, &ctx->cfg, force, &s, err);
    if (rc != RDM_ERR_BUSY)
        rc = cli_print_status(&s, rc, err);
out:
    store_close(st);
    return rc;
}

rdm_rc cmd_resend(cli_ctx *ctx, rdm_err *err)
{
    store *st = NULL;
    long long id = -1;
    int n = 0;
    rdm_rc rc;
    if (ctx->argc == 2 && strcmp(ctx->argv[1], "--all") == 0)
        id = 0;
    else if (ctx->argc == 2) {
        char *end;
        id = strtoll(ctx->argv[1], &end, 10);
        if (*end || id <= 0)
            id = -1;
    }
    if (id < 0)
        return rdm_fail(err, RDM_ERR_USAGE,
                        "usage: rdm-agent resend ID|--all (ID: an export sub-stage in "
                        "PROCESS_ERROR)");
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_open_store(ctx, &st, NULL, err)))
        goto out;
    if (!(rc = upload_resend(st, id, &n, err)))
        printf("resend: %d sub-stage(s) back to READY_FOR_EXPORT; rdm-agent upload sends them\n",
               n);
out:
    store_close(st);
    return rc;
}

int cli_parse_since(const char *t, time_t *out)
{
    char *end;
    long v = strtol(t, &end, 10);
    if (end != t && v >= 0 && end[0] && !end[1] && strchr("mhd", end[0])) {
        long mul = end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;
        *out = time(NULL) - (time_t)v * mul;
        return 0;
    }
    struct tm tm = {0};
    int used = 0;
    int n = sscanf(t, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &used);
    if (n == 3 && t[used]) { /* and a time: "T" or a space, then hh:mm[:ss] */
        int u2 = 0;
        n += sscanf(t + used, "%*1[ T]%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &u2);
        if (n == 5 && t[used + u2]) {
            int u3 = 0;
            n += sscanf(t + used + u2, ":%2d%n", &tm.tm_sec, &u3);
            u2 += u3;
        }
        used += u2;
    }
    /* all of it read, and a real date and time (mktime would take
     * 2026-13-45 as 2027-02-14) */
    if ((n != 3 && n != 5 && n != 6) || t[used] || tm.tm_mon < 1 || tm.tm_mon > 12 ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
        return -1;
    int y = tm.tm_year, m = tm.tm_mon, d = tm.tm_mday;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    *out = mktime(&tm);
    if (*out == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != m - 1 || tm.tm_mday != d)
        return -1; /* 2026-02-30 */
    return 0;
}

/* A whole non-negative number that fits an int; -1 otherwise ("abc", "3x"). */
static int count_arg(const char *v)
{
    char *end;
    long n = strtol(v, &end, 10);
    return end != v && !*end && n >= 0 && n <= INT_MAX ? (int)n : -1;
}

const char *cli_option_value(const cli_ctx *ctx, int i)
{
    const char *a = ctx->argv[i];
    if ((strcmp(a, "--since") == 0 || strcmp(a, "--limit") == 0) && i + 1 < ctx->argc)
        return ctx->argv[i + 1];
    return NULL;
}

int cli_option_since_limit(cli_ctx *ctx, int *i, time_t *since, int *limit)
{
    const char *a = ctx->argv[*i], *v = *i + 1 < ctx->argc ? ctx->argv[*i + 1] : NULL;
    if (v && strcmp(a, "--since") == 0 && cli_parse_since(v, since) == 0)
        return ++*i, 1;
    if (v && strcmp(a, "--limit") == 0 && count_arg(v) >= 0)
        return *limit = count_arg(v), ++*i, 1;
    return 0;
}

rdm_rc cmd_journal(cli_ctx *ctx, rdm_err *err)
{
    store *st = NULL;
    time_t since = 0;
    int failed = 0, limit = 100;
    rdm_rc rc;
    for (int i = 1; i < ctx->argc; i++) {
        const char *a = ctx->argv[i];
        if (strcmp(a, "--failed") == 0)
            failed = 1;
        else if (!cli_option_since_limit(ctx, &i, &since, &limit))
            return rdm_fail(err, RDM_ERR_USAGE,
                            "usage: rdm-agent journal [--since T] [--failed] [--limit N] (T: "
                            "YYYY-MM-DD[ HH:MM[:SS]] local time, or 30m, 2h, 7d ago; N: the "
                            "newest N rows, 0 = all; got '%s%s%s')",
                            a, cli_option_value(ctx, i) ? " " : "",
                            cli_option_value(ctx, i) ? cli_option_value(ctx, i) : "");
    }
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_open_store(ctx, &st, NULL, err)))
        goto out;
    rc = journal_print(st, since, failed, limit, stdout, err);
out:
    store_close(st);
    return rc;
}
