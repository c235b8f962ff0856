/* maint.c - see maint.h. */
#include "maint.h"
#include "../base/log.h"
#include "../base/plat.h"
#include "../storage/lock.h"
#include "upload.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Marks the suspended stages of one kind ("collect" or "export"). */
static rdm_rc suspend_kind(store *st, const char *kind, long long lock_s, long long timeout_min,
                           int *n, rdm_err *err)
{
    long long now = (long long)time(NULL), cut = now - timeout_min * 60;
    sqlite3_stmt *q;
    char sql[512];
    rdm_rc rc;
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s_stage s WHERE status IN ('CREATED', 'IN_PROGRESS') AND "
             "COALESCE((SELECT max(started_at) FROM %s_substage WHERE stage_id = s.id), "
             "s.started_at) < ?1",
             kind, kind);
    if ((rc = store_prepare(st, sql, &q, err)))
        return rc;
    sqlite3_bind_int64(q, 1, cut);
    int found = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
    sqlite3_finalize(q);
    if (!found)
        return RDM_OK;
    rdm_err busy;
    if (store_lock_acquire(st, kind, lock_s, &busy)) {
        log_info("check-suspended: %d %s stage(s) look suspended, but %s; left alone", found, kind,
                 busy.msg);
        return RDM_OK;
    }
    char why[256];
    snprintf(why, sizeof why,
             "suspended: no progress for %lld minute(s) (STAGE_TIMEOUT); the next %s picks its "
             "work up again",
             timeout_min, kind);
    if (!(rc = store_begin(st, err))) {
        rc = store_execf(st, err,
                         "UPDATE %s_substage SET status = 'FAILED', ended_at = %lld, error = "
                         "'%s' WHERE status IN ('CREATED', 'IN_PROGRESS') AND stage_id IN "
                         "(SELECT s.id FROM %s_stage s WHERE status IN ('CREATED', "
                         "'IN_PROGRESS') AND COALESCE((SELECT max(started_at) FROM %s_substage "
                         "WHERE stage_id = s.id), s.started_at) < %lld)",
                         kind, now, why, kind, kind, cut);
        if (!rc)
            rc = store_execf(st, err,
                             "UPDATE %s_stage SET status = 'FAILED', ended_at = %lld, error = "
                             "'%s' WHERE status IN ('CREATED', 'IN_PROGRESS') AND "
                             "COALESCE((SELECT max(started_at) FROM %s_substage WHERE stage_id = "
                             "%s_stage.id), started_at) < %lld",
                             kind, now, why, kind, kind, cut);
        if (!rc) {
            *n += sqlite3_changes(store_db(st));
            rc = store_commit(st, err);
        } else
            store_rollback(st);
    }
    if (!rc)
        log_warn("check-suspended: %d %s stage(s) marked FAILED: %s", found, kind, why);
    store_lock_release(st, kind, NULL);
    return rc;
}

rdm_rc maint_check_suspended(store *st, const rdm_config *cfg, int *n, rdm_err *err)
{
    rdm_rc rc;
    long long timeout = cfg_int(cfg, CFG_SUSPEND_STAGE_TIMEOUT);
    *n = 0;
    if ((rc = suspend_kind(st, "collect", cfg_int(cfg, CFG_TRANSFER_LOCK_EXPIRE_SECONDS), timeout,
                           n, err)))
        return rc;
    return suspend_kind(st, "export", cfg_int(cfg, CFG_TRANSFER_LOCK_EXPIRE_SECONDS), timeout, n,
                        err);
}

static long long file_size(const char *path)
{
    long long size = -1;
    return plat_kind(path, &size) == PLAT_FILE ? size : -1;
}

/* Files whose sub-stage is done with them: FINISHED with every file
 * taken, or FAILED and not to be sent again by `resend` (a refused
 * sub-stage keeps its files until it is; a reconciliation's DELETE lines
 * could not be written again). */
static const char deletable[] =
    "SELECT a.id, a.path, a.size FROM attachment a JOIN export_substage s ON s.id = "
    "a.substage_id WHERE a.removed_at IS NULL AND ((s.status = 'FINISHED' AND s.ended_at < ?1 "
    "AND NOT EXISTS (SELECT 1 FROM attachment b WHERE b.substage_id = s.id AND b.size > 0 AND "
    "NOT EXISTS (SELECT 1 FROM upload_log l WHERE l.attachment_id = b.id AND l.round = "
    "s.send_round AND l.request_id IS NOT NULL AND l.file_upload_status = 2))) OR (s.status = "
    "'FAILED' AND s.ended_at < ?2 AND s.id NOT IN (SELECT id FROM export_substage "
    "WHERE " UPLOAD_SENDABLE_SQL "))) ORDER BY a.id LIMIT 1000";

/* Journal rows a killed upload's recovery still reads: an answer whose
 * request id was not stored yet (upload.c, recover()). */
#define JOURNAL_PENDING                                                                            \
    "(SELECT journal_id FROM upload_log WHERE request_id IS NULL AND error IS NULL AND "           \
    "journal_id IS NOT NULL)"

rdm_rc maint_cleanup(store *st, const rdm_config *cfg, cleanup_stats *s, rdm_err *err)
{
    const char *data_dir = cfg_str(cfg, CFG_DATA_DIR);
    long long now = (long long)time(NULL);
    long long fin = now - cfg_int(cfg, CFG_CLEANUP_FINISHED_DAYS) * 86400;
    long long failed = now - cfg_int(cfg, CFG_CLEANUP_FAILED_DAYS) * 86400;
    long long jcut = now - cfg_int(cfg, CFG_CLEANUP_JOURNAL_DAYS) * 86400;
    rdm_rc rc;
    memset(s, 0, sizeof *s);
    if ((rc = store_lock_acquire(st, "cleanup", 3600, err)))
        return rc;
    s->store_before = file_size(store_path(st));
    for (;;) {
        sqlite3_stmt *q;
        long long ids[1000];
        int k = 0;
        if ((rc = store_prepare(st, deletable, &q, err)))
            goto out;
        sqlite3_bind_int64(q, 1, fin);
        sqlite3_bind_int64(q, 2, failed);
        if ((rc = store_begin(st, err))) {
            sqlite3_finalize(q);
            goto out;
        }
        while (sqlite3_step(q) == SQLITE_ROW) {
            char path[4096], dir[4096];
            const char *rel = (const char *)sqlite3_column_text(q, 1);
            ids[k++] = sqlite3_column_int64(q, 0);
            if (plat_join(data_dir, rel, path, sizeof path))
                continue;
            rdm_err e;
            if (file_size(path) >= 0) {
                if (plat_remove(path, &e)) {
                    log_warn("cleanup: %s", e.msg);
                    k--;
                    continue;
                }
                s->files++;
                s->file_bytes += sqlite3_column_int64(q, 2);
            }
            /* the entity's and the date's folders go when empty */
            if (!plat_dirname(path, dir, sizeof dir) && plat_rmdir(dir) == 0) {
                s->dirs++;
                char up[4096];
                if (!plat_dirname(dir, up, sizeof up) && plat_rmdir(up) == 0)
                    s->dirs++;
            }
        }
        sqlite3_finalize(q);
        for (int i = 0; i < k && !rc; i++)
            rc = store_execf(st, err, "UPDATE attachment SET removed_at = %lld WHERE id = %lld",
                             now, ids[i]);
        if (rc || (rc = store_commit(st, err))) {
            store_rollback(st);
            goto out;
        }
        if (k < 1000)
            break;
    }
    /* journal rows past their age, but those a killed upload's recovery
     * still needs (else its file would be sent again); the logs that
     * point at them keep their facts */
    if ((rc = store_begin(st, err)))
        goto out;
    if (!(rc = store_execf(st, err,
                           "UPDATE upload_log SET journal_id = NULL WHERE journal_id IN (SELECT "
                           "id FROM journal WHERE started_at < %lld AND id NOT IN " JOURNAL_PENDING
                           ")",
                           jcut)) &&
        !(rc = store_execf(
              st, err,
              "UPDATE status_request_log SET journal_id = NULL WHERE journal_id IN "
              "(SELECT id FROM journal WHERE started_at < %lld AND id NOT IN " JOURNAL_PENDING ")",
              jcut)) &&
        !(rc = store_execf(
              st, err, "DELETE FROM journal WHERE started_at < %lld AND id NOT IN " JOURNAL_PENDING,
              jcut))) {
        s->journal_rows = sqlite3_changes(store_db(st));
        rc = store_commit(st, err);
    } else
        store_rollback(st);
    if (rc)
        goto out;
    /* vacuum when a quarter of the store (and at least 1 MiB) is free pages */
    sqlite3_stmt *q;
    long long freep = 0, pages = 0, psize = 4096;
    if (!store_prepare(st,
                       "SELECT * FROM pragma_freelist_count, pragma_page_count, pragma_page_size",
                       &q, NULL)) {
        if (sqlite3_step(q) == SQLITE_ROW) {
            freep = sqlite3_column_int64(q, 0);
            pages = sqlite3_column_int64(q, 1);
            psize = sqlite3_column_int64(q, 2);
        }
        sqlite3_finalize(q);
    }
    if (pages && freep * 4 >= pages && freep * psize >= 1 << 20) {
        /* what was deleted stays deleted: a store that cannot be
         * compacted now (VACUUM needs room for a copy of it) is tried at
         * the next cleanup */
        rdm_err e;
        if (store_exec(st, "VACUUM", &e)) {
            log_warn("cleanup: the store was not compacted (%s); the next cleanup tries again",
                     e.msg);
        } else {
            store_exec(st, "PRAGMA wal_checkpoint(TRUNCATE)", NULL);
            s->vacuumed = 1;
        }
    }
    s->store_after = file_size(store_path(st));
out:
    store_lock_release(st, "cleanup", NULL);
    return rc;
}
