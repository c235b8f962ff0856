/* test_store.c - the SQLite store: creation, pragmas, migrations (fresh,
 * upgrade, refusing a newer store without touching it), foreign files, and
 * two real processes on one store (task locks, SQLite busy). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tmpdir.h"

#include "base/plat.h"
#include "storage/lock.h"
#include "storage/schema.h"
#include "storage/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifndef _WIN32 /* the tests with a second process (fork) are POSIX-only */
#include <sys/wait.h>
#include <unistd.h>
#endif

static char dir[256];
static char path[300];

static int setup(void **st)
{
    (void)st;
    if (test_mkdtemp(dir, sizeof dir, "rdm-test-store"))
        return -1;
    snprintf(path, sizeof path, "%s/rdm-agent.db", dir);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    return test_rmtree(dir);
}

static int q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int v = -12345;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void raw_exec(const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static void test_fresh(void **st)
{
    (void)st;
    store *s;
    rdm_err err;
    int from = -1;
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, &from, &err), RDM_OK);
    assert_int_equal(from, 0);
    assert_int_equal(store_version(s), store_latest_version());
    assert_true(store_latest_version() >= 3);
    sqlite3 *db = store_db(s);
    assert_int_equal(q_int(db, "PRAGMA application_id"), STORE_APP_ID);
    assert_int_equal(q_int(db, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(q_int(db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM stage_status WHERE kind='export_substage'"),
                     6);
    assert_int_equal(q_int(db, "SELECT count(*) FROM datamart_status"), 9);
    assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('collect_stage',"
                               "'collect_substage','export_stage','export_substage','attachment',"
                               "'journal','upload_log','status_request_log','task_lock')"),
                     9);
    /* the schema enforces the reference's vocabulary */
    assert_int_not_equal(sqlite3_exec(db,
                                      "INSERT INTO export_stage(status, started_at) "
                                      "VALUES ('DONE', 0)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    store_close(s);
    /* WAL mode is a property of the file */
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(raw);
    /* reopening is a no-op */
    assert_int_equal(store_open(path, STORE_MIGRATE, 1000, &s, &from, &err), RDM_OK);
    assert_int_equal(from, store_latest_version());
    store_close(s);
}

static void test_upgrade_keeps_data(void **st)
{
    (void)st;
    char sql[8192];
    snprintf(sql, sizeof sql,
             "%s PRAGMA application_id=%d; PRAGMA user_version=1;"
             "INSERT INTO collect_stage(status, started_at) VALUES ('FINISHED', 1700000000);",
             schema_migration(1), STORE_APP_ID);
    raw_exec(sql);
    store *s;
    rdm_err err;
    int from = -1;
    /* an old store is not used without migrating */
    assert_int_equal(store_open(path, 0, 1000, &s, &from, &err), RDM_ERR_STORE);
    assert_non_null(strstr(err.msg, "run `rdm-agent init`"));
    assert_int_equal(store_open(path, STORE_MIGRATE, 1000, &s, &from, &err), RDM_OK);
    assert_int_equal(from, 1);
    assert_int_equal(store_version(s), store_latest_version());
    assert_int_equal(q_int(store_db(s), "SELECT started_at FROM collect_stage WHERE "
                                        "status='FINISHED'"),
                     1700000000);
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM task_lock"), 0);
    store_close(s);
}

static unsigned char *slurp(const char *p, size_t *n)
{
    char *b;
    rdm_err err;
    assert_int_equal(plat_read_file(p, 1 << 26, &b, n, &err), RDM_OK);
    return (unsigned char *)b;
}

static void test_refuse_newer(void **st)
{
    (void)st;
    store *s;
    rdm_err err;
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err), RDM_OK);
    store_close(s);
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", store_latest_version() + 1);
    raw_exec(sql);
    size_t n1, n2;
    unsigned char *before = slurp(path, &n1);
    struct stat st1, st2;
    assert_int_equal(stat(path, &st1), 0);
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err),
                     RDM_ERR_NEWER);
    assert_null(s);
    assert_non_null(strstr(err.msg, "written by a newer rdm-agent"));
    assert_non_null(strstr(err.msg, "It was not modified"));
    unsigned char *after = slurp(path, &n2);
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    assert_true(st1.st_mtime == st2.st_mtime);
    free(before);
    free(after);
}

static void test_foreign_files(void **st)
{
    (void)st;
    store *s;
    rdm_err err;
    assert_int_equal(store_open(path, 0, 1000, &s, NULL, &err), RDM_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "run `rdm-agent init`"));
    raw_exec("CREATE TABLE customers(id)");
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err),
                     RDM_ERR_STORE);
    assert_non_null(strstr(err.msg, "not an rdm-agent store"));
    unlink(path);
    FILE *f = fopen(path, "w");
    fputs("this is a text file, not a database, but it is long enough to have a header.....", f);
    fclose(f);
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err),
                     RDM_ERR_STORE);
    assert_non_null(strstr(err.msg, "not a readable SQLite database"));
}

#ifndef _WIN32
/* A child process that opens the store, takes a lock (or opens a write
 * transaction when task is NULL), reports on `ready`, and waits for `go`
 * to close. */
static pid_t spawn_holder(const char *task, int *go_fd)
{
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        store *s;
        rdm_err err;
        char c;
        close(ready[0]);
        close(go[1]);
        if (store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err))
            _exit(10);
        if (task ? store_lock_acquire(s, task, 3600, &err) : store_begin(s, &err))
            _exit(11);
        if (write(ready[1], "r", 1) != 1)
            _exit(12);
        while (read(go[0], &c, 1) > 0)
            ;
        if (task)
            store_lock_release(s, task, &err);
        else
            store_rollback(s);
        store_close(s);
        _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    *go_fd = go[1];
    return pid;
}

static void test_two_processes_locks(void **st)
{
    (void)st;
    store *s;
    rdm_err err;
    int go, status;
    char needle[64];
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err), RDM_OK);
    pid_t child = spawn_holder("transfer", &go);

    assert_int_equal(store_lock_acquire(s, "transfer", 60, &err), RDM_ERR_BUSY);
    snprintf(needle, sizeof needle, "store is busy (pid %d on ", (int)child);
    assert_non_null(strstr(err.msg, needle));
    assert_non_null(strstr(err.msg, "task transfer"));
    /* the store-wide lock conflicts with any task */
    assert_int_equal(store_lock_acquire(s, STORE_LOCK_ALL, 60, &err), RDM_ERR_BUSY);
    assert_non_null(strstr(err.msg, "task transfer"));
    /* another task is free */
    assert_int_equal(store_lock_acquire(s, "upload_status", 60, &err), RDM_OK);
    assert_int_equal(store_lock_release(s, "upload_status", &err), RDM_OK);

    /* released normally: free again */
    close(go);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(store_lock_acquire(s, "transfer", 60, &err), RDM_OK);
    assert_int_equal(store_lock_release(s, "transfer", &err), RDM_OK);

    /* killed with SIGKILL while holding it: taken over */
    child = spawn_holder("transfer", &go);
    assert_int_equal(store_lock_acquire(s, "transfer", 60, &err), RDM_ERR_BUSY);
    kill(child, SIGKILL);
    assert_int_equal(waitpid(child, &status, 0), child);
    close(go);
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM task_lock"), 1);
    assert_int_equal(store_lock_acquire(s, "transfer", 60, &err), RDM_OK);
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM task_lock"), 1);
    assert_int_equal(store_lock_release(s, "transfer", &err), RDM_OK);
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM task_lock"), 0);
    store_close(s);
}

/* A holder that keeps committing keeps its lock past the life it was
 * taken with; a lock taken over meanwhile is not claimed back. */
static void test_lock_renewed_by_commits(void **st)
{
    (void)st;
    store *s;
    rdm_err err;
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err), RDM_OK);
    assert_int_equal(store_lock_acquire(s, "collect", 3, &err), RDM_OK);
    long long first = q_int(store_db(s), "SELECT expires_at - acquired_at FROM task_lock");
    assert_int_equal(first, 3);
    /* a commit within a second does not renew (a third of the life) */
    assert_int_equal(store_begin(s, &err), RDM_OK);
    assert_int_equal(store_commit(s, &err), RDM_OK);
    assert_int_equal(q_int(store_db(s), "SELECT expires_at - acquired_at FROM task_lock"), 3);
    plat_sleep_ms(1100);
    assert_int_equal(store_begin(s, &err), RDM_OK);
    assert_int_equal(store_exec(s, "CREATE TABLE IF NOT EXISTS t_renew(x)", &err), RDM_OK);
    assert_int_equal(store_commit(s, &err), RDM_OK);
    /* now at least a second later than acquired: expires 3 s from then */
    assert_true(q_int(store_db(s), "SELECT expires_at - acquired_at FROM task_lock") >= 4);
    assert_true(q_int(store_db(s), "SELECT expires_at - strftime('%s','now') FROM task_lock") >= 2);
    /* a rolled-back transaction renews nothing */
    assert_int_equal(store_exec(s, "UPDATE task_lock SET expires_at = 7", &err), RDM_OK);
    plat_sleep_ms(1100);
    assert_int_equal(store_begin(s, &err), RDM_OK);
    store_rollback(s);
    assert_int_equal(q_int(store_db(s), "SELECT expires_at FROM task_lock"), 7);
    /* taken over by another host meanwhile: the commit goes on, the row
     * stays the other's, and the release leaves it alone */
    assert_int_equal(store_exec(s, "UPDATE task_lock SET pid = 1, host = 'other-host'", &err),
                     RDM_OK);
    assert_int_equal(store_begin(s, &err), RDM_OK);
    assert_int_equal(store_commit(s, &err), RDM_OK);
    assert_int_equal(q_int(store_db(s), "SELECT expires_at FROM task_lock"), 7);
    assert_int_equal(store_lock_release(s, "collect", &err), RDM_OK);
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM task_lock WHERE pid = 1"), 1);
    store_close(s);
}

static void test_foreign_host_locks(void **st)
{
    (void)st;
    store *s;
    rdm_err err;
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err), RDM_OK);
    /* a live lock of another host cannot be checked for liveness: respected */
    assert_int_equal(store_exec(s,
                                "INSERT INTO task_lock VALUES ('collect', 1, 'other-host', "
                                "strftime('%s','now'), strftime('%s','now') + 3600)",
                                &err),
                     RDM_OK);
    assert_int_equal(store_lock_acquire(s, "collect", 60, &err), RDM_ERR_BUSY);
    assert_non_null(strstr(err.msg, "pid 1 on other-host, task collect"));
    /* once expired it is taken over */
    assert_int_equal(
        store_exec(s, "UPDATE task_lock SET expires_at = strftime('%s','now') - 1", &err), RDM_OK);
    assert_int_equal(store_lock_acquire(s, "collect", 60, &err), RDM_OK);
    /* and this process cannot take it twice */
    assert_int_equal(store_lock_acquire(s, "collect", 60, &err), RDM_ERR_BUSY);
    assert_non_null(strstr(err.msg, "already holds"));
    assert_int_equal(store_lock_release(s, "collect", &err), RDM_OK);
    /* a live lock with this process's id and host that this process does
     * not hold was left by an earlier process with the same id (a
     * container's pid 1): taken over */
    char sql[512], host[256];
    plat_hostname(host, sizeof host);
    snprintf(sql, sizeof sql,
             "INSERT INTO task_lock VALUES ('export', %lld, '%s', strftime('%%s','now'), "
             "strftime('%%s','now') + 3600)",
             plat_pid(), host);
    assert_int_equal(store_exec(s, sql, &err), RDM_OK);
    assert_int_equal(store_lock_acquire(s, "export", 60, &err), RDM_OK);
    assert_int_equal(store_lock_acquire(s, "export", 60, &err), RDM_ERR_BUSY);
    assert_non_null(strstr(err.msg, "already holds"));
    store_close(s);
}

static void test_sqlite_busy(void **st)
{
    (void)st;
    store *s;
    rdm_err err;
    int go, status;
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 200, &s, NULL, &err), RDM_OK);
    pid_t child = spawn_holder(NULL, &go); /* holds a write transaction */
    assert_int_equal(store_lock_acquire(s, "transfer", 60, &err), RDM_ERR_BUSY);
    assert_non_null(strstr(err.msg, "store is busy"));
    assert_non_null(strstr(err.msg, "200 ms"));
    close(go);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(store_lock_acquire(s, "transfer", 60, &err), RDM_OK);
    store_close(s);
}

static void test_migration_waits_for_writer(void **st)
{
    (void)st;
    char sql[8192];
    int go, status;
    store *s;
    rdm_err err;
    snprintf(sql, sizeof sql, "%s PRAGMA application_id=%d; PRAGMA user_version=1;",
             schema_migration(1), STORE_APP_ID);
    raw_exec(sql);
    raw_exec("PRAGMA journal_mode=WAL");
    /* a child holding a write transaction on the old store (it cannot use
     * spawn_holder: that migrates) */
    int ready[2], gop[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(gop), 0);
    pid_t child = fork();
    if (child == 0) {
        sqlite3 *db;
        char c;
        close(ready[0]);
        close(gop[1]);
        if (sqlite3_open(path, &db) || sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0))
            _exit(10);
        if (write(ready[1], "r", 1) != 1)
            _exit(12);
        while (read(gop[0], &c, 1) > 0)
            ;
        sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
        sqlite3_close(db);
        _exit(0);
    }
    close(ready[1]);
    close(gop[0]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    go = gop[1];
    assert_int_equal(store_open(path, STORE_MIGRATE, 200, &s, NULL, &err), RDM_ERR_BUSY);
    assert_non_null(strstr(err.msg, "store is busy"));
    close(go);
    assert_int_equal(waitpid(child, &status, 0), child);
    /* nothing was half-applied: still version 1, then migrates cleanly */
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(q_int(raw, "PRAGMA user_version"), 1);
    assert_int_equal(q_int(raw, "SELECT count(*) FROM sqlite_master WHERE name='journal'"), 0);
    sqlite3_close(raw);
    assert_int_equal(store_open(path, STORE_MIGRATE, 200, &s, NULL, &err), RDM_OK);
    assert_int_equal(store_version(s), store_latest_version());
    store_close(s);
}

#endif

/* store_cached(): one statement per SQL literal, reset when given back;
 * one still in use is not handed out twice. */
static void test_cached_statements(void **st)
{
    (void)st;
    static const char sql[] = "SELECT ?1 + 1";
    store *s;
    rdm_err err;
    sqlite3_stmt *a, *b, *c;
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err), RDM_OK);
    assert_int_equal(store_cached(s, sql, &a, &err), RDM_OK);
    sqlite3_bind_int(a, 1, 41);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(a, 0), 42);
    /* in use (a row pending): a second one, not a */
    assert_int_equal(store_cached(s, sql, &b, &err), RDM_OK);
    assert_ptr_not_equal(a, b);
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL); /* its own, unbound: NULL + 1 */
    store_done(s, b);
    store_done(s, a);
    /* given back: the same statement again, reset and unbound */
    assert_int_equal(store_cached(s, sql, &c, &err), RDM_OK);
    assert_ptr_equal(c, a);
    assert_int_equal(sqlite3_step(c), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(c, 0), SQLITE_NULL);
    store_done(s, c);
    /* the cached begin and commit */
    assert_int_equal(store_begin(s, &err), RDM_OK);
    assert_int_equal(store_exec(s, "CREATE TABLE t(x)", &err), RDM_OK);
    assert_int_equal(store_commit(s, &err), RDM_OK);
    assert_int_equal(store_begin(s, &err), RDM_OK);
    assert_int_equal(store_commit(s, &err), RDM_OK);
    store_close(s);
}

#ifdef __linux__
#include <dirent.h>

/* The temporary files SQLite holds open (it unlinks them at once; their
 * names stay under /proc/self/fd). */
static int temp_files_open(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d))) {
        char link[300], to[512];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(link, to, sizeof to - 1);
        if (len > 0) {
            to[len] = '\0';
            n += strstr(to, "etilqs_") != NULL;
        }
    }
    closedir(d);
    return n;
}

/* Fills big with n rows of 200 bytes (about 19 to a 4 KiB page). */
static void fill_big(store *s, int n)
{
    rdm_err err;
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE big(x INTEGER PRIMARY KEY, y TEXT NOT NULL);"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
             "WHERE i < %d) INSERT INTO big SELECT i, printf('%%0200d', i) FROM n",
             n);
    assert_int_equal(store_exec(s, sql, &err), RDM_OK);
}

/* A checksum of big's contents (a 4 KiB page holds ~19 of its rows). */
#define BIG_SUM "SELECT sum(length(y)) + count(*) FROM big"

/* store_init(): a statement that may undo itself journals the pages it
 * changes; under STORE_STMTJRNL_SPILL that journal stays in memory
 * (SQLite's own limit is 64 KiB, past which it writes a temporary file for
 * the rest of the transaction). And it refuses once SQLite is in use. */
static void test_statement_journal_in_memory(void **st)
{
    (void)st;
    store *s;
    rdm_err err;
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err), RDM_OK);
    fill_big(s, 400);
    assert_int_equal(store_begin(s, &err), RDM_OK);
    assert_int_equal(store_exec(s, "CREATE TABLE small(x)", &err), RDM_OK);
    /* NOT NULL may abort it: every one of big's ~21 pages (86 KiB) is
     * journaled */
    assert_int_equal(store_exec(s, "UPDATE big SET y = y || 'z'", &err), RDM_OK);
    assert_int_equal(temp_files_open(), 0);
    assert_int_equal(store_commit(s, &err), RDM_OK);
    store_close(s);
    assert_int_equal(store_init(&err), RDM_ERR_STORE);
    assert_non_null(strstr(err.msg, "must come first"));
}

/* A statement journal past STORE_STMTJRNL_SPILL goes to a temporary file,
 * and works: the statement succeeds, and one that fails is undone from it.
 * (With a threshold of 128 KiB or more, SQLite's unix VFS cut the copy to
 * the file short and the statement failed with SQLITE_FULL.) */
static void test_statement_journal_spilled(void **st)
{
    (void)st;
    store *s;
    rdm_err err;
    assert_int_equal(store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &s, NULL, &err), RDM_OK);
    fill_big(s, 6000); /* ~320 pages: a journal of 1.3 MiB */
    int before = q_int(store_db(s), BIG_SUM);
    assert_int_equal(store_begin(s, &err), RDM_OK);
    assert_int_equal(store_exec(s, "CREATE TABLE small(x)", &err), RDM_OK);
    assert_int_equal(store_exec(s, "UPDATE big SET y = y || 'z'", &err), RDM_OK);
    assert_int_equal(temp_files_open(), 1);
    assert_int_equal(q_int(store_db(s), BIG_SUM), before + 6000);
    /* fails on its last row: undone from the journal in the file */
    assert_int_not_equal(
        store_exec(s, "UPDATE big SET y = CASE WHEN x < 6000 THEN y || 'q' END", &err), RDM_OK);
    assert_int_equal(q_int(store_db(s), BIG_SUM), before + 6000);
    assert_int_equal(store_commit(s, &err), RDM_OK);
    assert_int_equal(q_int(store_db(s), BIG_SUM), before + 6000);
    assert_int_equal(
        q_int(store_db(s), "SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
    store_close(s);
}
#endif

int main(void)
{
    rdm_err err;
    if (store_init(&err))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_files, setup, teardown),
#ifndef _WIN32
        cmocka_unit_test_setup_teardown(test_two_processes_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_host_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_waits_for_writer, setup, teardown),
#endif
        cmocka_unit_test_setup_teardown(test_cached_statements, setup, teardown),
#ifdef __linux__
        cmocka_unit_test_setup_teardown(test_statement_journal_in_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement_journal_spilled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_renewed_by_commits, setup, teardown),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
