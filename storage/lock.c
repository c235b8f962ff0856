/* lock.c - see lock.h. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "lock.h"
#include "../base/log.h"
#include "../base/plat.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The locks this process holds (by store file and task). A row with this
 * process's id and host that is not among them was left by an earlier
 * process that had the same id: a container's agent is pid 1 at every
 * start, and ids repeat after a reboot. Locks are taken on one thread.
 * Each is renewed (its row's expires_at moved to expire_s from now) by
 * the holding store's commits, at most every renew_every() seconds, so
 * a task that keeps working longer than its lock's life keeps it. */
static struct {
    char db[1024], task[64];
    store *st;
    long long expire_s, renewed_at;
    int lost; /* the row is no longer this process's (logged once) */
} held[16];

static int held_find(const char *db, const char *task)
{
    for (int i = 0; i < (int)(sizeof held / sizeof held[0]); i++)
        if (strcmp(held[i].db, db) == 0 && strcmp(held[i].task, task) == 0)
            return i;
    return -1;
}

/* A third of the lock's life, between 1 s and a minute: a holder that
 * commits at least that often never lets its lock expire. */
static long long renew_every(long long expire_s)
{
    long long s = expire_s / 3;
    return s < 1 ? 1 : s > 60 ? 60 : s;
}

/* store_commit()'s hook on a store that holds locks: renews those due,
 * inside the transaction about to commit. */
static void renew(store *st, void *arg)
{
    (void)arg;
    long long now = (long long)time(NULL);
    char host[256];
    sqlite3_stmt *s = NULL;
    plat_hostname(host, sizeof host);
    for (int i = 0; i < (int)(sizeof held / sizeof held[0]); i++) {
        if (held[i].st != st || strcmp(held[i].db, store_path(st)) != 0 || held[i].lost)
            continue;
        long long since = now - held[i].renewed_at;
        if (since >= 0 && since < renew_every(held[i].expire_s))
            continue;
        if (!s && sqlite3_prepare_v2(store_db(st),
                                     "UPDATE task_lock SET expires_at = ?1 WHERE task = ?2 AND "
                                     "pid = ?3 AND host = ?4",
                                     -1, &s, NULL) != SQLITE_OK) {
            log_warn("task lock '%s' not renewed: %s", held[i].task, sqlite3_errmsg(store_db(st)));
            break;
        }
        sqlite3_bind_int64(s, 1, now + held[i].expire_s);
        sqlite3_bind_text(s, 2, held[i].task, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, plat_pid());
        sqlite3_bind_text(s, 4, host, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            log_warn("task lock '%s' not renewed: %s", held[i].task, sqlite3_errmsg(store_db(st)));
        else if (sqlite3_changes(store_db(st)) == 0) {
            held[i].lost = 1;
            log_error("task lock '%s' is no longer held by this process: another process took it "
                      "over (it expired: no commit for LOCK_EXPIRE_SECONDS, or the clock jumped). "
                      "Two runs of the task may now overlap; check the other process",
                      held[i].task);
        } else
            held[i].renewed_at = now;
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
}

static void held_set(store *st, const char *task, int on, long long expire_s)
{
    char db[sizeof held[0].db];
    snprintf(db, sizeof db, "%s", store_path(st));
    int i = held_find(db, task), any = 0;
    if (!on && i >= 0) {
        held[i].db[0] = held[i].task[0] = 0;
        held[i].st = NULL;
    }
    if (on && i < 0 && (i = held_find("", "")) >= 0) {
        snprintf(held[i].db, sizeof held[i].db, "%s", db);
        snprintf(held[i].task, sizeof held[i].task, "%s", task);
        held[i].st = st;
        held[i].expire_s = expire_s;
        held[i].renewed_at = (long long)time(NULL);
        held[i].lost = 0;
    }
    for (i = 0; i < (int)(sizeof held / sizeof held[0]); i++)
        any |= held[i].st == st;
    store_set_precommit(st, any ? renew : NULL, NULL);
}

static int held_by_me(store *st, const char *task)
{
    char db[sizeof held[0].db];
    snprintf(db, sizeof db, "%s", store_path(st));
    return held_find(db, task) >= 0;
}

static void fmt_time(long long t, char *buf, size_t n)
{
    struct tm tm;
    if (plat_localtime((time_t)t, &tm))
        strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    else
        snprintf(buf, n, "%lld", t);
}

rdm_rc store_lock_acquire(store *st, const char *task, long long expire_s, rdm_err *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *sel = NULL, *del = NULL, *ins = NULL;
    char host[256];
    long long now = (long long)time(NULL), me = plat_pid();
    rdm_rc rc;
    int step;

    plat_hostname(host, sizeof host);
    if ((rc = store_begin(st, err)))
        return rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT task, pid, host, acquired_at, expires_at FROM task_lock "
                           "WHERE task = ?1 OR task = '*' OR ?1 = '*'",
                           -1, &sel, NULL) ||
        sqlite3_prepare_v2(db, "DELETE FROM task_lock WHERE task = ?", -1, &del, NULL) ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO task_lock(task, pid, host, acquired_at, expires_at) "
                           "VALUES (?, ?, ?, ?, ?)",
                           -1, &ins, NULL)) {
        rc = store_fail(st, err, "preparing the task lock");
        goto out;
    }
    sqlite3_bind_text(sel, 1, task, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(sel, 0);
        long long pid = sqlite3_column_int64(sel, 1);
        const char *h = (const char *)sqlite3_column_text(sel, 2);
        long long since = sqlite3_column_int64(sel, 3), until = sqlite3_column_int64(sel, 4);
        int same_host = strcmp(h, host) == 0;
        const char *why = NULL;
        char s1[32], s2[32];

        fmt_time(since, s1, sizeof s1);
        fmt_time(until, s2, sizeof s2);
        if (same_host && pid == me && held_by_me(st, t)) {
            rc = rdm_fail(err, RDM_ERR_BUSY,
                          "store is busy (pid %lld, task %s): this process "
                          "already holds the lock",
                          pid, t);
            goto out;
        }
        if (same_host && pid == me)
            why = "an earlier process with this process's id left it";
        else if (now >= until)
            why = "it expired";
        else if (same_host && !plat_pid_alive(pid))
            why = "that process no longer runs";
        if (!why) {
            rc = rdm_fail(err, RDM_ERR_BUSY,
                          "store is busy (pid %lld on %s, task %s, since %s; the lock expires "
                          "at %s). Wait for it to finish, or stop that process",
                          pid, h, t, s1, s2);
            goto out;
        }
        log_warn("task lock '%s' held by pid %lld on %s since %s taken over: %s", t, pid, h, s1,
                 why);
        sqlite3_bind_text(del, 1, t, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(del) != SQLITE_DONE) {
            rc = store_fail(st, err, "removing a stale task lock");
            goto out;
        }
        sqlite3_reset(del);
    }
    if (step != SQLITE_DONE) {
        rc = store_fail(st, err, "reading task locks");
        goto out;
    }
    sqlite3_bind_text(ins, 1, task, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, me);
    sqlite3_bind_text(ins, 3, host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 4, now);
    sqlite3_bind_int64(ins, 5, now + expire_s);
    if (sqlite3_step(ins) != SQLITE_DONE) {
        rc = store_fail(st, err, "writing the task lock");
        goto out;
    }
    if (!(rc = store_commit(st, err)))
        held_set(st, task, 1, expire_s);
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    if (rc)
        store_rollback(st);
    return rc;
}

rdm_rc store_lock_release(store *st, const char *task, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    char host[256];
    rdm_rc rc = RDM_OK;

    plat_hostname(host, sizeof host);
    /* even when the row cannot be deleted now: the next acquire by this
     * process then takes it over */
    held_set(st, task, 0, 0);
    if (sqlite3_prepare_v2(store_db(st),
                           "DELETE FROM task_lock WHERE task = ? AND pid = ? AND host = ?", -1, &s,
                           NULL) != SQLITE_OK)
        return store_fail(st, err, "preparing the lock release");
    sqlite3_bind_text(s, 1, task, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, plat_pid());
    sqlite3_bind_text(s, 3, host, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_fail(st, err, "releasing the task lock");
    sqlite3_finalize(s);
    return rc;
}
