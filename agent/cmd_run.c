/* cmd_run.c - the agent at work: `transfer`, `run` (the service),
 * `check-suspended`, `cleanup`, and what the operator reads: `stages`,
 * `status`, `report --html FILE`. */
#include "../base/log.h"
#include "../base/plat.h"
#include "cli.h"
#include "collect.h"
#include "cron.h"
#include "export.h"
#include "import.h"
#include "inbox.h"
#include "maint.h"
#include "registry.h"
#include "upload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the first failure; a stop wins over everything. */
static void keep(rdm_rc *first, rdm_err *err, rdm_rc rc, const rdm_err *e)
{
    if (!rc)
        return;
    if (!*first || rc == RDM_ERR_STOPPED) {
        *first = rc;
        *err = *e;
    }
}

/* The service does not count an unreachable datamart as a failure of a
 * pass or a task: upload and check-status logged it (once as a warning)
 * and wait their turn. The commands (transfer, upload) do: exit 1. */
static rdm_rc service_rc(int unreachable, rdm_rc rc)
{
    return unreachable && rc == RDM_ERR_IO ? RDM_OK : rc;
}

/* One pass of the whole job. Every step runs (a failed collect still lets
 * export send what was collected before); a stop ends it at once. quiet:
 * print a step only when it did something (the service). */
static rdm_rc transfer_once(cli_ctx *ctx, store *st, const profile *p, const unsigned char *sel,
                            int quiet, rdm_err *err)
{
    const rdm_config *cfg = &ctx->cfg;
    rdm_rc rc, first = RDM_OK;
    rdm_err e;

    if (strcmp(cfg_str(cfg, CFG_SOURCE_TYPE), "csv") == 0 &&
        plat_kind(cfg_str(cfg, CFG_DUMP_DIR), NULL) == PLAT_DIR) {
        inbox_stats ib;
        import_stats is = {0};
        rdm_err_clear(&e);
        rc = inbox_run(st, p, cfg, &ib, &is, &e);
        if (ib.imported || ib.rejected)
            printf("inbox: %d imported, %d refused (moved to rejected/); %lld row(s) landed\n",
                   ib.imported, ib.rejected, is.rows);
        if (rc)
            log_error("inbox: %s", e.msg);
        keep(&first, err, rc, &e);
    }
    if (first == RDM_ERR_STOPPED || plat_stop_requested())
        goto stopped;
    collect_stats cs;
    rdm_err_clear(&e);
    rc = collect_run(st, p, cfg, &cs, &e);
    if (rc)
        log_error("collect: %s", e.msg);
    else if (!quiet || cs.sources || cs.pulls)
        cli_print_collect(&cs);
    keep(&first, err, rc, &e);
    if (first == RDM_ERR_STOPPED || plat_stop_requested())
        goto stopped;

    export_stats es;
    rdm_err_clear(&e);
    rc = export_run(st, p, cfg, cfg_str(cfg, CFG_DATA_DIR), sel, &es, &e);
    if (!quiet || rc || es.substages || es.orphans)
        rc = cli_print_export(&es, rc, &e);
    if (rc && rc != RDM_ERR_BUSY && !es.failed)
        log_error("export: %s", e.msg);
    keep(&first, err, rc, &e);
    if (first == RDM_ERR_STOPPED || plat_stop_requested())
        goto stopped;

    upload_stats us;
    rdm_err_clear(&e);
    rc = upload_run(st, cfg, 0, &us, &e);
    if (rc != RDM_ERR_BUSY &&
        (!quiet || rc || us.files_sent || us.failed || us.unreachable || us.budget_full))
        rc = cli_print_upload(cfg, &us, rc, &e);
    keep(&first, err, quiet ? service_rc(us.unreachable, rc) : rc, &e);
    if (first == RDM_ERR_STOPPED || plat_stop_requested())
        goto stopped;

    if (!us.unreachable && !us.not_due) {
        status_stats ss;
        rdm_err_clear(&e);
        rc = upload_check_status(st, cfg, 0, &ss, &e);
        if (rc != RDM_ERR_BUSY && (!quiet || rc || ss.asked || ss.gave_up))
            rc = cli_print_status(&ss, rc, &e);
        keep(&first, err, quiet ? service_rc(ss.unreachable, rc) : rc, &e);
    }
    return first;
stopped:
    return rdm_fail(err, RDM_ERR_STOPPED, "stopped on request; the next run goes on from here");
}

rdm_rc cmd_transfer(cli_ctx *ctx, rdm_err *err)
{
    profile p = {0};
    store *st = NULL;
    unsigned char *sel = NULL;
    rdm_rc rc;
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_load_profile(ctx, NULL, &p, err)) ||
        (rc = cli_option_entities(ctx, &p, &sel, err)) ||
        (rc = cli_open_store(ctx, &st, NULL, err)) || (rc = plat_signals_init(err)))
        goto out;
    rc = transfer_once(ctx, st, &p, sel, 0, err);
out:
    free(sel);
    store_close(st);
    profile_free(&p);
    return rc;
}

rdm_rc cmd_check_suspended(cli_ctx *ctx, rdm_err *err)
{
    store *st = NULL;
    int n = 0;
    rdm_rc rc;
    if (ctx->argc > 1)
        return rdm_fail(err, RDM_ERR_USAGE, "check-suspended takes no arguments");
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_open_store(ctx, &st, NULL, err)))
        goto out;
    if (!(rc = maint_check_suspended(st, &ctx->cfg, &n, err)))
        printf("check-suspended: %d stage(s) marked FAILED (no progress for %lld minute(s))\n", n,
               cfg_int(&ctx->cfg, CFG_SUSPEND_STAGE_TIMEOUT));
out:
    store_close(st);
    return rc;
}

static void print_cleanup(const cleanup_stats *s)
{
    printf("cleanup: %d file(s) deleted (%lld bytes), %d empty folder(s), %lld journal row(s); "
           "store %lld -> %lld bytes%s\n",
           s->files, s->file_bytes, s->dirs, s->journal_rows, s->store_before, s->store_after,
           s->vacuumed ? " (vacuumed)" : "");
}

rdm_rc cmd_cleanup(cli_ctx *ctx, rdm_err *err)
{
    store *st = NULL;
    cleanup_stats s;
    rdm_rc rc;
    if (ctx->argc > 1)
        return rdm_fail(err, RDM_ERR_USAGE, "cleanup takes no arguments");
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_open_store(ctx, &st, NULL, err)))
        goto out;
    if (!(rc = maint_cleanup(st, &ctx->cfg, &s, err)))
        print_cleanup(&s);
out:
    store_close(st);
    return rc;
}

rdm_rc cmd_stages(cli_ctx *ctx, rdm_err *err)
{
    int kinds = 0, json = 0, limit = 50;
    time_t since = 0;
    store *st = NULL;
    rdm_rc rc;
    for (int i = 1; i < ctx->argc; i++) {
        const char *a = ctx->argv[i];
        if (strcmp(a, "--collect") == 0)
            kinds |= REG_COLLECT;
        else if (strcmp(a, "--export") == 0)
            kinds |= REG_EXPORT;
        else if (strcmp(a, "--json") == 0)
            json = 1;
        else if (!cli_option_since_limit(ctx, &i, &since, &limit))
            return rdm_fail(err, RDM_ERR_USAGE,
                            "usage: rdm-agent stages [--collect|--export] [--since T] [--limit "
                            "N] [--json] (got '%s%s%s')",
                            a, cli_option_value(ctx, i) ? " " : "",
                            cli_option_value(ctx, i) ? cli_option_value(ctx, i) : "");
    }
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_open_store(ctx, &st, NULL, err)))
        goto out;
    rc = reg_stages(st, kinds ? kinds : REG_COLLECT | REG_EXPORT, since, limit, json, stdout, err);
out:
    store_close(st);
    return rc;
}

rdm_rc cmd_status(cli_ctx *ctx, rdm_err *err)
{
    store *st = NULL;
    int needs = 0;
    rdm_rc rc;
    if (ctx->argc > 1)
        return rdm_fail(err, RDM_ERR_USAGE, "status takes no arguments");
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_open_store(ctx, &st, NULL, err)))
        goto out;
    if (!(rc = reg_status(st, stdout, &needs, err)) && needs)
        rc = rdm_fail(err, RDM_ERR_RANGE, "%d thing(s) need a person (listed above)", needs);
out:
    store_close(st);
    return rc;
}

rdm_rc cmd_report(cli_ctx *ctx, rdm_err *err)
{
    store *st = NULL;
    rdm_rc rc;
    if (ctx->argc != 3 || strcmp(ctx->argv[1], "--html") != 0)
        return rdm_fail(err, RDM_ERR_USAGE, "usage: rdm-agent report --html FILE");
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_open_store(ctx, &st, NULL, err)))
        goto out;
    if (plat_kind(ctx->argv[2], NULL) == PLAT_FILE && (rc = plat_remove(ctx->argv[2], err)))
        goto out;
    if (!(rc = reg_report(st, ctx->argv[2], err)))
        printf("report: %s written\n", ctx->argv[2]);
out:
    store_close(st);
    return rc;
}

/* ---- the service ---- */

enum { T_TRANSFER, T_STATUS, T_SUSPEND, T_CLEANUP, T_N };

typedef struct sched {
    cron_spec spec[T_N];
    long every; /* RDM_SCHEDULE_SECONDS: every task every N seconds instead */
    time_t next[T_N];
} sched;

static const char *const task_names[T_N] = {"transfer", "check-status", "check-suspended",
                                            "cleanup"};

static void sched_load(sched *s, const rdm_config *cfg, time_t now)
{
    static const cfg_id ids[T_N][3] = {
        {CFG_TRANSFER_MINUTE, CFG_TRANSFER_HOUR, CFG_TRANSFER_DAY_OF_WEEK},
        {CFG_STATUS_MINUTE, CFG_STATUS_HOUR, CFG_STATUS_DAY_OF_WEEK},
        {CFG_SUSPEND_MINUTE, CFG_SUSPEND_HOUR, CFG_SUSPEND_DAY_OF_WEEK},
        {CFG_CLEANUP_MINUTE, CFG_CLEANUP_HOUR, CFG_CLEANUP_DAY_OF_WEEK}};
    const char *e = getenv("RDM_SCHEDULE_SECONDS");
    plat_tz_reload(); /* the system's time zone may have changed (SIGHUP) */
    s->every = e && *e ? atol(e) : 0;
    for (int k = 0; k < T_N; k++) {
        s->spec[k].minutes = cfg_bits(cfg, ids[k][0]);
        s->spec[k].hours = (uint32_t)cfg_bits(cfg, ids[k][1]);
        s->spec[k].dows = (uint8_t)cfg_bits(cfg, ids[k][2]);
        s->next[k] = s->every > 0 ? now + s->every : cron_next(&s->spec[k], now);
        char text[128], at[32];
        struct tm tm;
        if (s->every > 0)
            snprintf(text, sizeof text, "every %ld s (RDM_SCHEDULE_SECONDS)", s->every);
        else
            cron_format(&s->spec[k], text, sizeof text);
        if (s->next[k] == (time_t)-1 || !plat_localtime(s->next[k], &tm))
            snprintf(at, sizeof at, "never");
        else
            strftime(at, sizeof at, "%Y-%m-%d %H:%M", &tm);
        log_info("run: %s at \"%s\", next %s", task_names[k], text, at);
    }
}

/* When task k last ran (task_run), or 0. */
static time_t last_run(store *st, int k)
{
    sqlite3_stmt *q;
    time_t t = 0;
    if (sqlite3_prepare_v2(store_db(st), "SELECT last_at FROM task_run WHERE task = ?", -1, &q,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(q, 1, task_names[k], -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        t = (time_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return t;
}

/* Records that task k ran at t (a failure to record is logged: the task
 * may then be made up once more at the next start). */
static void ran(store *st, int k, time_t t)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st),
                           "INSERT INTO task_run(task, last_at) VALUES (?1, ?2) ON CONFLICT(task) "
                           "DO UPDATE SET last_at = excluded.last_at",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, task_names[k], -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (long long)t);
        if (sqlite3_step(q) != SQLITE_DONE)
            log_warn("run: cannot record when %s ran: %s", task_names[k],
                     sqlite3_errmsg(store_db(st)));
    }
    sqlite3_finalize(q);
}

/* At the start: a task whose scheduled time passed while the agent was not
 * running (a server switched off at night misses a 03:15 cleanup) runs
 * once now, as anacron would. A task never run before waits for its time. */
static void make_up(sched *s, store *st, time_t now)
{
    if (s->every > 0)
        return;
    for (int k = 0; k < T_N; k++) {
        time_t last = last_run(st, k), due;
        if (last <= 0 || (due = cron_next(&s->spec[k], last)) == (time_t)-1 || due > now)
            continue;
        char at[32];
        struct tm tm;
        if (!plat_localtime(due, &tm) || !strftime(at, sizeof at, "%Y-%m-%d %H:%M", &tm))
            snprintf(at, sizeof at, "%lld", (long long)due);
        log_info("run: %s was due at %s while the agent was not running: it runs now",
                 task_names[k], at);
        s->next[k] = now;
    }
}

/* Runs one scheduled task; a busy lock or a failure is logged, never fatal. */
static rdm_rc run_task(cli_ctx *ctx, store *st, const profile *p, int k)
{
    rdm_err e;
    rdm_rc rc = RDM_OK;
    rdm_err_clear(&e);
    switch (k) {
    case T_TRANSFER: {
        unsigned char *sel = NULL;
        if (!(rc = cli_option_entities(ctx, p, &sel, &e)))
            rc = transfer_once(ctx, st, p, sel, 1, &e);
        free(sel);
        break;
    }
    case T_STATUS: {
        status_stats ss;
        rc = upload_check_status(st, &ctx->cfg, 0, &ss, &e);
        if (rc != RDM_ERR_BUSY && (ss.asked || ss.gave_up || rc))
            rc = cli_print_status(&ss, rc, &e);
        rc = service_rc(ss.unreachable, rc);
        break;
    }
    case T_SUSPEND: {
        int n = 0;
        rc = maint_check_suspended(st, &ctx->cfg, &n, &e);
        break;
    }
    case T_CLEANUP: {
        cleanup_stats cs;
        if (!(rc = maint_cleanup(st, &ctx->cfg, &cs, &e)) &&
            (cs.files || cs.journal_rows || cs.vacuumed))
            print_cleanup(&cs);
        break;
    }
    }
    fflush(stdout);
    if (rc == RDM_ERR_BUSY)
        log_info("run: %s skipped: %s", task_names[k], e.msg);
    else if (rc && rc != RDM_ERR_STOPPED)
        log_error("run: %s: %s", task_names[k], e.msg);
    return rc;
}

/* Sends what waits when the datamart is due (not in its offline backoff). */
static rdm_rc upload_if_waiting(cli_ctx *ctx, store *st)
{
    sqlite3_stmt *q;
    int waiting = 0;
    long long next_try = 0;
    if (store_prepare(st,
                      "SELECT (SELECT count(*) FROM export_substage WHERE status = "
                      "'READY_FOR_EXPORT'), (SELECT COALESCE(next_try, 0) FROM dm_reach)",
                      &q, NULL))
        return RDM_OK;
    if (sqlite3_step(q) == SQLITE_ROW) {
        waiting = sqlite3_column_int(q, 0);
        next_try = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    if (!waiting || next_try > (long long)time(NULL))
        return RDM_OK;
    upload_stats us;
    rdm_err e;
    rdm_err_clear(&e);
    rdm_rc rc = upload_run(st, &ctx->cfg, 0, &us, &e);
    if (rc == RDM_ERR_BUSY)
        return RDM_OK; /* a transfer is sending */
    if (us.files_sent || us.failed || rc)
        rc = cli_print_upload(&ctx->cfg, &us, rc, &e);
    fflush(stdout);
    if (rc && rc != RDM_ERR_STOPPED && !us.unreachable)
        log_error("run: upload: %s", e.msg);
    return rc == RDM_ERR_STOPPED ? rc : RDM_OK;
}

rdm_rc cmd_run(cli_ctx *ctx, rdm_err *err)
{
    profile p = {0};
    store *st = NULL;
    sched s;
    rdm_rc rc;
    if (ctx->argc > 1)
        return rdm_fail(err, RDM_ERR_USAGE, "run takes no arguments (got '%s')", ctx->argv[1]);
    if ((rc = cli_load_config(ctx, err)) || (rc = cli_load_profile(ctx, NULL, &p, err)) ||
        (rc = cli_open_store(ctx, &st, NULL, err)) || (rc = plat_signals_init(err)))
        goto out;
    log_info("run: service started (pid %lld, store %s, configuration %s)", plat_pid(),
             store_path(st), ctx->cfg.path ? ctx->cfg.path : "(defaults)");
    sched_load(&s, &ctx->cfg, time(NULL));
    make_up(&s, st, time(NULL));
    time_t next_upload = time(NULL), last = time(NULL);
    while (!plat_stop_requested()) {
        if (plat_take_reload()) {
            rdm_err e;
            if (cli_reload(ctx, &p, &e)) {
                log_error("run: SIGHUP: the new configuration is refused and the running one "
                          "kept: %s",
                          e.msg);
            } else {
                time_t was[T_N], t = time(NULL);
                memcpy(was, s.next, sizeof was);
                log_info("run: SIGHUP: configuration and profiles re-read");
                sched_load(&s, &ctx->cfg, t);
                /* a run that was already due is not dropped */
                for (int k = 0; k < T_N; k++)
                    if (was[k] != (time_t)-1 && was[k] <= t)
                        s.next[k] = was[k];
            }
        }
        time_t now = time(NULL);
        if (now < last - 60) {
            /* the clock was set back (NTP on a server that booted ahead):
             * the next runs computed before would wait that much longer */
            log_warn("run: the clock went back %lld s; every next run is computed again from now",
                     (long long)(last - now));
            for (int k = 0; k < T_N; k++)
                s.next[k] = s.every > 0 ? now + s.every : cron_next(&s.spec[k], now);
            next_upload = now;
        }
        for (int k = 0; k < T_N && !plat_stop_requested(); k++) {
            if (s.next[k] == (time_t)-1 || s.next[k] > now)
                continue;
            time_t began = now;
            rdm_rc r = run_task(ctx, st, &p, k);
            if (r != RDM_ERR_BUSY && r != RDM_ERR_STOPPED)
                ran(st, k, began);
            now = time(NULL);
            s.next[k] = s.every > 0 ? now + s.every : cron_next(&s.spec[k], now);
        }
        if (!plat_stop_requested() && now >= next_upload) {
            upload_if_waiting(ctx, st);
            now = time(NULL);
            next_upload = now + (s.every > 0 && s.every < 60 ? s.every : 60);
        }
        time_t wake = next_upload;
        for (int k = 0; k < T_N; k++)
            if (s.next[k] != (time_t)-1 && s.next[k] < wake)
                wake = s.next[k];
        now = last = time(NULL);
        /* a minute at most: a clock set forward or back is seen within it */
        if (wake > now)
            plat_wait_ms((long long)(wake - now > 60 ? 60 : wake - now) * 1000);
    }
    log_info("run: stopped on request; the work in progress was committed or rolled back");
out:
    store_close(st);
    profile_free(&p);
    return rc;
}
