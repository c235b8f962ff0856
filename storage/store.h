/*
 * store.h - the agent's SQLite store: one file under the data directory,
 * opened with the agent's pragmas, its schema versioned with
 * PRAGMA user_version and migrated by embedded SQL.
 *
 * Interface (prefix store_):
 *   store_init()       process-wide SQLite settings, once at start
 *   store_open()       open (and create / migrate on request); refuses a
 *                      store written by a newer agent without touching it
 *   store_close()
 *   store_db()         the sqlite3 handle, for the other storage modules
 *   store_version()    the schema version of the open store
 *   store_migrate()    apply the embedded migrations up to a version
 *   store_latest_version()
 *   store_exec(), store_execf(), store_prepare()
 *   store_cached() / store_done()
 *                      statements kept for the store's life
 *   store_begin() / store_commit() / store_rollback()
 *                      write transactions (BEGIN IMMEDIATE), busy mapped
 *                      to RDM_ERR_BUSY
 *   store_set_precommit()
 *                      work done inside every transaction before COMMIT
 */
#ifndef RDM_STORE_H
#define RDM_STORE_H

#include "../base/rc.h"

#include <sqlite3.h>

typedef struct store store;

enum {
    STORE_CREATE = 1,  /* create the file if it does not exist */
    STORE_MIGRATE = 2, /* apply migrations up to the latest version */
};

/* The store's application_id ("RDMA"), set on creation. */
#define STORE_APP_ID 0x52444D41

/* Bytes of a statement journal kept in memory before SQLite moves it to a
 * temporary file (store_init()); under 128 KiB, see store.c. */
#define STORE_STMTJRNL_SPILL (120 << 10)

/* Process-wide SQLite settings (sqlite3_config): call once at program
 * start, before any connection is opened and before threads start.
 * RDM_ERR_STORE when SQLite was already initialised (the settings then do
 * not apply). */
rdm_rc store_init(rdm_err *err);

/* Opens the store at path. Without STORE_CREATE a missing file is
 * RDM_ERR_NOT_FOUND. A file written by a newer agent (user_version above
 * what this binary knows) is RDM_ERR_NEWER and is left byte-for-byte
 * unchanged; a file that is not an rdm-agent store is RDM_ERR_STORE. With
 * STORE_MIGRATE, migrations run (*from_version, if not NULL, gets the
 * version found). busy_ms: how long to wait for another writer. On success
 * the caller owns *out and frees it with store_close(). */
rdm_rc store_open(const char *path, int flags, int busy_ms, store **out, int *from_version,
                  rdm_err *err);

void store_close(store *st);

sqlite3 *store_db(store *st);
const char *store_path(store *st);

/* Schema version of the open store. */
int store_version(store *st);

/* The newest schema version this binary can write. */
int store_latest_version(void);

/* Applies migrations one by one, each in its own write transaction that
 * also sets user_version, up to target (0 = latest). */
rdm_rc store_migrate(store *st, int target, rdm_err *err);

/* BEGIN IMMEDIATE; RDM_ERR_BUSY when another process keeps writing for
 * longer than the busy timeout. */
rdm_rc store_begin(store *st, rdm_err *err);
rdm_rc store_commit(store *st, rdm_err *err);
void store_rollback(store *st);

/* Sets the function store_commit() calls inside each transaction just
 * before its COMMIT, with arg (the task locks' renewal, lock.c); NULL
 * removes it. It reports its own failures and cannot stop the commit. */
void store_set_precommit(store *st, void (*fn)(store *, void *), void *arg);

/* Executes SQL without results; maps errors (busy -> RDM_ERR_BUSY). */
rdm_rc store_exec(store *st, const char *sql, rdm_err *err);

/* The same with printf formatting: only for SQL whose pieces are numbers,
 * fixed text or checked identifiers (never data: bind that). */
rdm_rc store_execf(store *st, rdm_err *err, const char *fmt, ...) RDM_PRINTF(3, 4);

/* Prepares a statement kept for many uses (SQLITE_PREPARE_PERSISTENT); the
 * caller finalizes *s. */
rdm_rc store_prepare(store *st, const char *sql, sqlite3_stmt **s, rdm_err *err);

/* A statement for sql, which must outlive the store (a string literal: it
 * is found again by its address), prepared at its first use and kept by
 * the store until store_close(); one in use is not handed out twice (a
 * second, uncached one is). The caller gives it back with store_done(),
 * never finalizes it. */
rdm_rc store_cached(store *st, const char *sql, sqlite3_stmt **s, rdm_err *err);

/* Gives back a statement of store_cached() (reset, bindings cleared); any
 * other statement is finalized. */
void store_done(store *st, sqlite3_stmt *s);

/* Fills err from the connection's last error with a context prefix;
 * returns RDM_ERR_BUSY for SQLITE_BUSY/LOCKED, else RDM_ERR_STORE. */
rdm_rc store_fail(store *st, rdm_err *err, const char *what);

/* A thread with its own connection that checkpoints the WAL while this
 * connection writes much (collect, export): the writer's automatic
 * checkpoints, and the fsyncs they wait for, are off until
 * store_ckpt_stop, which turns them on again; past 64 MiB the writer
 * rewinds the WAL (copying what the thread has not yet). The caller owns
 * *out. */
typedef struct store_ckpt store_ckpt;
rdm_rc store_ckpt_start(store *st, store_ckpt **out, rdm_err *err);
void store_ckpt_stop(store_ckpt *c);

#endif
