/* collect.c - see collect.h. */
#include "collect.h"
#include "../base/log.h"
#include "../base/plat.h"
#include "../base/progress.h"
#include "../storage/lock.h"
#include "../storage/staging.h"
#include "import.h"
#include "pgsource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Marks sub-stage sub done with the counts of its chunk (in the caller's
 * transaction). */
static rdm_rc end_substage(store *st, long long sub, const stg_chunk *ch, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_rc rc =
        store_cached(st,
                     "UPDATE collect_substage SET status = 'READY_TO_EXPORT', rows = ?1, "
                     "created = ?2, updated = ?3, deleted = ?4, ended_at = ?5 WHERE id = ?6",
                     &s, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(s, 1, ch->rows);
    sqlite3_bind_int64(s, 2, ch->created);
    sqlite3_bind_int64(s, 3, ch->updated);
    sqlite3_bind_int64(s, 4, ch->deleted);
    sqlite3_bind_int64(s, 5, (long long)time(NULL));
    sqlite3_bind_int64(s, 6, sub);
    int r = sqlite3_step(s);
    store_done(st, s);
    return r == SQLITE_DONE ? RDM_OK : store_fail(st, err, "ending a collect sub-stage");
}

/* Marks a stage and its open sub-stages FAILED with the message. */
static void fail_stage(store *st, long long stage, const char *model, long long src,
                       const char *msg)
{
    sqlite3_stmt *s = NULL;
    rdm_err e2;
    long long now = (long long)time(NULL);
    store_rollback(st);
    if (store_begin(st, &e2))
        return;
    if (!sqlite3_prepare_v2(store_db(st),
                            "INSERT INTO collect_substage(stage_id, model, status, started_at, "
                            "ended_at, error, source_id) VALUES (?, ?, 'FAILED', ?, ?, ?, ?)",
                            -1, &s, NULL)) {
        sqlite3_bind_int64(s, 1, stage);
        sqlite3_bind_text(s, 2, model ? model : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, now);
        sqlite3_bind_int64(s, 4, now);
        sqlite3_bind_text(s, 5, msg, -1, SQLITE_STATIC);
        if (src)
            sqlite3_bind_int64(s, 6, src);
        sqlite3_step(s);
    }
    sqlite3_finalize(s);
    s = NULL;
    if (!sqlite3_prepare_v2(store_db(st),
                            "UPDATE collect_stage SET status = 'FAILED', ended_at = ?, error = ? "
                            "WHERE id = ?",
                            -1, &s, NULL)) {
        sqlite3_bind_int64(s, 1, now);
        sqlite3_bind_text(s, 2, msg, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, stage);
        sqlite3_step(s);
    }
    sqlite3_finalize(s);
    if (store_commit(st, &e2))
        store_rollback(st);
}

rdm_rc collect_run(store *st, const profile *p, const rdm_config *cfg, collect_stats *out,
                   rdm_err *err)
{
    long long now = (long long)time(NULL), stage = 0, src = 0, prev = 0;
    const char *cols[IMPORT_MAX_COLS];
    int integer[IMPORT_MAX_COLS];
    char model[128] = "", lost[RDM_ERR_MAX] = "";
    stg_collector *c = NULL;
    rdm_rc rc;
    int limit = (int)cfg_int(cfg, CFG_COLLECT_CHUNK_SIZE);

    memset(out, 0, sizeof *out);
    if ((rc = store_lock_acquire(st, "collect", cfg_int(cfg, CFG_TRANSFER_LOCK_EXPIRE_SECONDS),
                                 err)))
        return rc;
    /* we hold the lock: a stage still open belongs to a run that died */
    if ((rc = store_begin(st, err)) ||
        (rc = store_execf(st, err,
                          "UPDATE collect_substage SET status = 'FAILED', ended_at = %lld, error = "
                          "'interrupted: the agent stopped during this sub-stage; its rows were "
                          "rolled back and are collected again' WHERE status IN ('CREATED', "
                          "'IN_PROGRESS')",
                          now)) ||
        (rc = store_execf(st, err,
                          "UPDATE collect_stage SET status = 'FAILED', ended_at = %lld, error = "
                          "'interrupted: the agent stopped during this stage; the next run resumed "
                          "its work' WHERE status IN ('CREATED', 'IN_PROGRESS')",
                          now)) ||
        (rc = store_execf(st, err,
                          "INSERT INTO collect_stage(status, period_start, period_end, started_at) "
                          "VALUES ('IN_PROGRESS', %lld, %lld, %lld)",
                          now, now, now)))
        goto fail_early;
    stage = sqlite3_last_insert_rowid(store_db(st));
    if ((rc = store_commit(st, err)))
        goto fail_early;
    {
        int removed = 0;
        if (!stg_sweep(st, &removed, NULL) && removed)
            log_info("removed %d land file(s) no source waits for", removed);
    }
    out->stage_id = stage;
    /* A chunk's commit need not reach the platter before the next: after a
     * power cut the last chunks roll back together with their position and
     * are collected again. Nothing outside the store depends on them. */
    store_exec(st, "PRAGMA synchronous=NORMAL", NULL);
    /* the WAL copied into the store on a second core, its fsyncs off this
     * thread's path (none when the thread cannot start: the automatic
     * checkpoints stay) */
    store_ckpt *ck = NULL;
    if (store_ckpt_start(st, &ck, NULL))
        ck = NULL;

    if (strcmp(cfg_str(cfg, CFG_SOURCE_TYPE), "postgres") == 0) {
        pgsrc_stats ps;
        const char *failed = NULL;
        if ((rc = pgsrc_pull(st, p, cfg, &ps, &failed, err))) {
            snprintf(model, sizeof model, "%s", failed ? failed : "");
            goto done;
        }
        out->pulls = ps.pulls;
    }

    progress pg;
    {
        sqlite3_stmt *q;
        long long total = 0;
        if (!store_prepare(st, "SELECT COALESCE(sum(rows), 0) FROM import_source WHERE phase < 3",
                           &q, NULL)) {
            if (sqlite3_step(q) == SQLITE_ROW)
                total = sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
        progress_begin(&pg, "collect", "rows", total);
    }
    for (;;) {
        rc = stg_source_next(st, &src, model, sizeof model, err);
        if (rc == RDM_ERR_NOT_FOUND) {
            rc = RDM_OK;
            break;
        }
        if (rc)
            break;
        const prof_model *m = profile_model(p, model);
        if (!m) {
            rc = rdm_fail(err, RDM_ERR_CONFIG,
                          "source %lld holds data of model '%s', which the profile no longer "
                          "declares; restore that model in the profile",
                          src, model);
            break;
        }
        stg_model sm;
        if ((rc = import_stg_model(m, cols, integer, &sm, err)) ||
            (rc = stg_model_ensure(st, &sm, err)) ||
            (rc = stg_collector_open(st, &sm, src, &c, err)))
            break;
        out->sources++;
        stg_chunk ch = {0};
        do {
            long long chg = 0, sub = 0, t = (long long)time(NULL);
            if (plat_stop_requested()) {
                rc = rdm_fail(err, RDM_ERR_STOPPED,
                              "collect stopped on request in source %lld (model %s); the next "
                              "run goes on from its saved position",
                              src, m->name);
                break;
            }
            if ((rc = store_begin(st, err)) || (rc = stg_next_change(st, &chg, err)))
                break;
            sqlite3_stmt *s = NULL;
            if ((rc = store_cached(st,
                                   "INSERT INTO collect_substage(stage_id, model, status, "
                                   "previous_id, started_at, source_id) VALUES (?, ?, "
                                   "'IN_PROGRESS', ?, ?, ?)",
                                   &s, err)))
                break;
            sqlite3_bind_int64(s, 1, stage);
            sqlite3_bind_text(s, 2, m->name, -1, SQLITE_STATIC);
            if (prev)
                sqlite3_bind_int64(s, 3, prev);
            sqlite3_bind_int64(s, 4, t);
            sqlite3_bind_int64(s, 5, src);
            int r = sqlite3_step(s);
            store_done(st, s);
            if (r != SQLITE_DONE) {
                rc = store_fail(st, err, "creating a collect sub-stage");
                break;
            }
            sub = sqlite3_last_insert_rowid(store_db(st));
            if ((rc = stg_collector_chunk(c, limit, chg, sub, t, &ch, err)) ||
                (rc = end_substage(st, sub, &ch, err)) || (rc = store_commit(st, err)))
                break;
            if (ch.lost) {
                /* its land file is gone: it was ended unread, and the
                 * stage fails with why once the others are collected */
                log_error("%s", err->msg);
                snprintf(lost, sizeof lost, "%s", err->msg);
            }
            prev = sub;
            progress_add(&pg, ch.rows);
            out->substages++;
            out->rows += ch.rows;
            out->created += ch.created;
            out->updated += ch.updated;
            out->deleted += ch.deleted;
        } while (!ch.done);
        stg_collector_close(c);
        c = NULL;
        if (rc)
            break;
    }
    progress_end(&pg);
    if (!rc && lost[0])
        rc = rdm_fail(err, RDM_ERR_IO, "%s", lost);
done:
    store_ckpt_stop(ck);
    store_exec(st, "PRAGMA synchronous=FULL", NULL);
    if (rc) {
        fail_stage(st, stage, model, src, err->msg);
    } else if ((rc = store_execf(
                    st, err,
                    "UPDATE collect_stage SET status = 'FINISHED', ended_at = %lld WHERE "
                    "id = %lld",
                    (long long)time(NULL), stage))) {
        fail_stage(st, stage, NULL, 0, err->msg);
    } else {
        /* the land files of the sources collected, only now: that commit
         * (synchronous=FULL) made the chunks' commits (NORMAL) durable
         * with it. Removed after a chunk's own commit, a power cut could
         * roll the source back to a position whose rows were gone, and
         * collect could never finish it. (Else the next collect's sweep
         * removes them, after its first durable commit.) */
        int removed = 0;
        stg_sweep(st, &removed, NULL);
    }
    store_lock_release(st, "collect", NULL);
    return rc;
fail_early:
    store_rollback(st);
    store_lock_release(st, "collect", NULL);
    return rc;
}
