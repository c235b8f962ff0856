/* store.c - see store.h. */
#include "store.h"
#include "../base/plat.h"
#include "schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_CACHE 48

struct store {
    sqlite3 *db;
    char *path;
    int busy_ms;
    /* store_cached(): statements by the address of their SQL */
    struct {
        const char *sql;
        sqlite3_stmt *s;
        int busy;
    } cache[STMT_CACHE];
    int ncache;
    /* store_set_precommit() */
    void (*pre)(store *, void *);
    void *pre_arg;
};

sqlite3 *store_db(store *st)
{
    return st->db;
}

const char *store_path(store *st)
{
    return st->path;
}

int store_latest_version(void)
{
    return schema_latest();
}

/* Bytes free on the disk holding the store, or -1. */
static long long store_free(const store *st)
{
    char dir[4096];
    return plat_dirname(st->path, dir, sizeof dir) == 0 ? plat_free_space(dir) : -1;
}

rdm_rc store_fail(store *st, rdm_err *err, const char *what)
{
    int code = sqlite3_errcode(st->db) & 0xff;
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return rdm_fail(err, RDM_ERR_BUSY,
                        "store is busy: another process kept %s locked for more than %d ms "
                        "(%s); try again, or see `rdm-agent status`",
                        st->path, st->busy_ms, what);
    if (code == SQLITE_FULL) {
        /* the store's disk, or the one SQLite keeps temporary files on */
        char tmp[4096];
        long long freeb = store_free(st);
        if (freeb < (1 << 20))
            return rdm_fail(err, RDM_ERR_DISK_FULL,
                            "%s: the disk holding %s is full; free space and rerun", what,
                            st->path);
        const char *var = plat_sqlite_temp_dir(tmp, sizeof tmp);
        return rdm_fail(err, RDM_ERR_DISK_FULL,
                        "%s: no room for SQLite's temporary files in %s (the disk holding %s "
                        "has %lld MiB free): that disk is full; free space there, or point %s "
                        "to a folder on a disk with room, and rerun",
                        what, tmp, st->path, freeb >> 20, var);
    }
    int ext = sqlite3_extended_errcode(st->db);
    if (ext == SQLITE_IOERR_WRITE || ext == SQLITE_IOERR_TRUNCATE) {
        /* SQLite keeps no errno here: look at the disk and the limits */
        long long freeb = store_free(st), lim = plat_file_size_limit();
        if (freeb >= 0 && freeb < (1 << 20))
            return rdm_fail(err, RDM_ERR_DISK_FULL,
                            "%s: the disk holding %s is full (%lld bytes free); free space and "
                            "rerun",
                            what, st->path, freeb);
        if (lim >= 0)
            return rdm_fail(err, RDM_ERR_DISK_FULL,
                            "%s: a write to %s failed, and this process may write no file "
                            "larger than %lld bytes (RLIMIT_FSIZE, e.g. systemd's LimitFSIZE=); "
                            "the file-size limit is full: raise it or free space and rerun",
                            what, st->path, lim);
        return rdm_fail(err, RDM_ERR_STORE,
                        "%s: a write to %s failed (%s); check the disk (system log, SMART) and "
                        "rerun: what was committed before is kept",
                        what, st->path, sqlite3_errmsg(st->db));
    }
    return rdm_fail(err, RDM_ERR_STORE, "%s: %s (store %s)", what, sqlite3_errmsg(st->db),
                    st->path);
}

rdm_rc store_exec(store *st, const char *sql, rdm_err *err)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(st, err, sql);
    return RDM_OK;
}

rdm_rc store_execf(store *st, rdm_err *err, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof sql)
        return rdm_fail(err, RDM_ERR_INTERNAL, "statement too long: %.60s...", fmt);
    return store_exec(st, sql, err);
}

rdm_rc store_prepare(store *st, const char *sql, sqlite3_stmt **s, rdm_err *err)
{
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) != SQLITE_OK)
        return store_fail(st, err, "preparing a statement");
    return RDM_OK;
}

rdm_rc store_cached(store *st, const char *sql, sqlite3_stmt **s, rdm_err *err)
{
    for (int i = 0; i < st->ncache; i++)
        if (st->cache[i].sql == sql && !st->cache[i].busy) {
            st->cache[i].busy = 1;
            *s = st->cache[i].s;
            return RDM_OK;
        }
    rdm_rc rc = store_prepare(st, sql, s, err);
    if (!rc && st->ncache < STMT_CACHE) {
        st->cache[st->ncache].sql = sql;
        st->cache[st->ncache].s = *s;
        st->cache[st->ncache++].busy = 1;
    }
    return rc;
}

void store_done(store *st, sqlite3_stmt *s)
{
    for (int i = 0; i < st->ncache; i++)
        if (st->cache[i].s == s) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            st->cache[i].busy = 0;
            return;
        }
    sqlite3_finalize(s);
}

/* Runs a statement without parameters or rows through the cache. */
static rdm_rc exec_cached(store *st, const char *sql, rdm_err *err)
{
    sqlite3_stmt *s;
    rdm_rc rc = store_cached(st, sql, &s, err);
    if (rc)
        return rc;
    int r = sqlite3_step(s);
    store_done(st, s);
    return r == SQLITE_DONE ? RDM_OK : store_fail(st, err, sql);
}

rdm_rc store_begin(store *st, rdm_err *err)
{
    return exec_cached(st, "BEGIN IMMEDIATE", err);
}

void store_set_precommit(store *st, void (*fn)(store *, void *), void *arg)
{
    st->pre = fn;
    st->pre_arg = arg;
}

rdm_rc store_commit(store *st, rdm_err *err)
{
    if (st->pre && !sqlite3_get_autocommit(st->db))
        st->pre(st, st->pre_arg);
    return exec_cached(st, "COMMIT", err);
}

void store_rollback(store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int(s, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

int store_version(store *st)
{
    int v = -1;
    pragma_int(st->db, "PRAGMA user_version", &v);
    return v;
}

/* Looks at an existing file through a read-only connection, so that a store
 * we must refuse is never written to (not even a journal-mode change). */
static rdm_rc inspect(const char *path, int busy_ms, int *version, rdm_err *err)
{
    sqlite3 *db = NULL;
    int app = 0, tables = 0, rc;
    rdm_rc res = RDM_OK;

    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, busy_ms);
        rc = pragma_int(db, "PRAGMA application_id", &app);
    }
    if (rc == SQLITE_OK)
        rc = pragma_int(db, "PRAGMA user_version", version);
    if (rc == SQLITE_OK)
        rc = pragma_int(db, "SELECT count(*) FROM sqlite_master", &tables);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        res = rdm_fail(err, RDM_ERR_BUSY, "store is busy: %s is locked by another process", path);
    else if (rc != SQLITE_OK)
        res = rdm_fail(err, RDM_ERR_STORE,
                       "%s is not a readable SQLite database (%s); move it away or point "
                       "[agent] DATA_DIR elsewhere",
                       path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    else if ((app != 0 && app != STORE_APP_ID) || (app == 0 && tables > 0))
        res = rdm_fail(err, RDM_ERR_STORE,
                       "%s is an SQLite database but not an rdm-agent store; it was not "
                       "modified. Move it away or point [agent] DATA_DIR elsewhere",
                       path);
    else if (*version > schema_latest())
        res = rdm_fail(err, RDM_ERR_NEWER,
                       "store %s was written by a newer rdm-agent (schema version %d; this "
                       "agent knows up to %d). It was not modified. Install the newer "
                       "rdm-agent again, or restore a backup made by this version",
                       path, *version, schema_latest());
    sqlite3_close(db);
    return res;
}

rdm_rc store_migrate(store *st, int target, rdm_err *err)
{
    rdm_rc rc;
    if (target <= 0 || target > schema_latest())
        target = schema_latest();
    for (;;) {
        int v = 0;
        if ((rc = store_begin(st, err)))
            return rc;
        /* read inside the write transaction: another process may have
         * migrated while we waited */
        if (pragma_int(st->db, "PRAGMA user_version", &v) != SQLITE_OK) {
            rc = store_fail(st, err, "reading the schema version");
            goto fail;
        }
        if (v >= target) {
            store_rollback(st);
            return RDM_OK;
        }
        if (sqlite3_exec(st->db, schema_migration(v + 1), NULL, NULL, NULL) != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "migration to schema version %d", v + 1);
            rc = store_fail(st, err, what);
            goto fail;
        }
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%d", STORE_APP_ID,
                 v + 1);
        if ((rc = store_exec(st, sql, err)))
            goto fail;
        if ((rc = store_commit(st, err)))
            goto fail;
    }
fail:
    store_rollback(st);
    return rc;
}

rdm_rc store_init(rdm_err *err)
{
    /*
     * A statement that may fail half-way (a multi-row INSERT, an UPDATE of
     * many rows) inside a longer transaction keeps the original of every
     * page it changes in a statement journal, so that it can undo itself
     * alone. SQLite keeps that journal in memory up to 64 KiB; past that it
     * moves it to a temporary file, and every later statement of the
     * transaction then writes its pages there (a page and its 4-byte
     * number: two system calls). Export's batches of state rows run inside
     * transactions of 32 chunks: at 1,000,000 records that was 46,000 pages
     * written to temporary files, 112,000 pwrite calls. Up to
     * STORE_STMTJRNL_SPILL (120 KiB) stays in memory now (a statement's own
     * pages, freed when it ends); a larger one still goes to a file. Not
     * much more: SQLite allocates the whole threshold as one block for each
     * statement that journals a page, and with 4 MiB the ASan build's
     * service took three times the CPU (tests/cli/test_net_faults.sh) and
     * Windows would map and unmap the block for every such statement.
     *
     * And not 128 KiB or more: when the journal outgrows the threshold,
     * SQLite copies it to the file in writes of the threshold's size, and
     * its unix VFS writes at most 0x1ffff bytes a call (os_unix.c,
     * seekAndWriteFd(): nBuf &= 0x1ffff). A larger write ends short, which
     * SQLite reports as SQLITE_FULL: with 256 KiB, every statement journal
     * past 256 KiB failed as "the disk is full" (export of a region's
     * SCHEDULE with a smaller page cache did; tests/unit/test_store.c).
     */
    /* No statistics of SQLite's memory: with them every malloc and free
     * inside SQLite takes a process-wide mutex (4% of a collect's samples
     * in perf); nothing here reads them (sqlite3_memory_used). */
    if (sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STORE_STMTJRNL_SPILL) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        return rdm_fail(err, RDM_ERR_STORE,
                        "SQLite is already in use: its settings must come first");
    return RDM_OK;
}

rdm_rc store_open(const char *path, int flags, int busy_ms, store **out, int *from_version,
                  rdm_err *err)
{
    store *st;
    int version = 0, rc;
    rdm_rc res;

    *out = NULL;
    if (plat_exists(path)) {
        if ((res = inspect(path, busy_ms, &version, err)))
            return res;
    } else if (!(flags & STORE_CREATE)) {
        return rdm_fail(err, RDM_ERR_NOT_FOUND,
                        "store %s does not exist; run `rdm-agent init` first", path);
    }
    if (from_version)
        *from_version = version;
    if (!(st = calloc(1, sizeof *st)) || !(st->path = malloc(strlen(path) + 1))) {
        free(st);
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    strcpy(st->path, path);
    st->busy_ms = busy_ms;
    /* a connection is used by one thread at a time: no per-call mutex */
    rc = sqlite3_open_v2(path, &st->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                             (flags & STORE_CREATE ? SQLITE_OPEN_CREATE : 0),
                         NULL);
    if (rc != SQLITE_OK) {
        res = rdm_fail(err, RDM_ERR_STORE, "cannot open store %s: %s", path,
                       st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(st->db, busy_ms);
    sqlite3_extended_result_codes(st->db, 1);
    /*
     * WAL: readers (status, report) never block the writer.
     * synchronous=FULL: in WAL mode NORMAL is safe against a crash of the
     * process but not of the machine: after a power cut the last commits
     * can be lost. A lost commit that recorded "file sent, request id X"
     * would make the agent send that file again, so by default every state
     * change is fsync'ed at commit. Bulk work whose lost commits are simply
     * done again (collect and export chunks, upload answers) lowers it to
     * NORMAL for its run; the next FULL commit makes it durable too.
     */
    if ((res = store_exec(st, "PRAGMA journal_mode=WAL", err)) ||
        (res = store_exec(st, "PRAGMA synchronous=FULL", err)) ||
        (res = store_exec(st, "PRAGMA foreign_keys=ON", err)) ||
        /* 32 MiB of page cache (the default is 2 MiB): bulk loads touch
         * B-tree pages at random; this keeps the process well under its
         * 64 MiB memory budget. Fewer, larger WAL checkpoints (16 MiB). */
        (res = store_exec(st, "PRAGMA cache_size=-32768", err)) ||
        /* Debian's SQLite zero-writes every freed page (secure_delete=ON):
         * dropping a collected source of 200 MB would write 200 MB more.
         * FAST still wipes freed content inside pages that are written
         * anyway, without extra I/O. */
        (res = store_exec(st, "PRAGMA secure_delete=FAST", err)) ||
        (res = store_exec(st, "PRAGMA wal_autocheckpoint=4096", err)))
        goto fail;
    if (flags & STORE_MIGRATE) {
        if ((res = store_migrate(st, 0, err)))
            goto fail;
    } else if (store_version(st) < schema_latest()) {
        res = rdm_fail(err, RDM_ERR_STORE,
                       "store %s is at schema version %d, this agent needs %d; run "
                       "`rdm-agent init` to upgrade it",
                       path, store_version(st), schema_latest());
        goto fail;
    }
    *out = st;
    return RDM_OK;
fail:
    store_close(st);
    return res;
}

void store_close(store *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->ncache; i++)
        sqlite3_finalize(st->cache[i].s);
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

/* ---- checkpoints beside a long writer ---- */

struct store_ckpt {
    store *st;
    sqlite3 *db; /* the thread's own connection */
    plat_thread *t;
    _Atomic int stop;
};

/* The WAL's length (in frames of a page) past which the writer rewinds it:
 * 64 MiB of 4 KiB pages. */
#define CKPT_RESTART_FRAMES 16384

static void *ckpt_main(void *arg)
{
    store_ckpt *c = arg;
    while (!c->stop) {
        int log = 0, done = 0;
        /* PASSIVE: copies what no reader still needs, never waits for the
         * writer; its fsyncs are this thread's */
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (done >= log)
            plat_sleep_ms(20);
    }
    return NULL;
}

/* After each commit of the writer (SQLite's WAL hook). The WAL is rewound
 * only by a writer that finds it all copied as its transaction begins,
 * which the checkpoints beside it seldom allow: past the bound the writer
 * itself copies what is left (little: the thread keeps up) and restarts
 * it, so the WAL does not grow with the data. */
static int ckpt_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)arg;
    if (frames > CKPT_RESTART_FRAMES)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    return SQLITE_OK;
}

rdm_rc store_ckpt_start(store *st, store_ckpt **out, rdm_err *err)
{
    store_ckpt *c = calloc(1, sizeof *c);
    rdm_rc rc;
    *out = NULL;
    if (!c)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    c->st = st;
    if (sqlite3_open_v2(st->path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = rdm_fail(err, RDM_ERR_STORE, "cannot open store %s: %s", st->path,
                      c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return rc;
    }
    sqlite3_busy_timeout(c->db, st->busy_ms);
    sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    if ((rc = plat_thread_start(&c->t, ckpt_main, c, err))) {
        sqlite3_close(c->db);
        free(c);
        return rc;
    }
    /* instead of the automatic checkpoints (sqlite3_wal_autocheckpoint's
     * hook; store_ckpt_stop puts it back) */
    sqlite3_wal_hook(st->db, ckpt_hook, c);
    *out = c;
    return RDM_OK;
}

void store_ckpt_stop(store_ckpt *c)
{
    if (!c)
        return;
    c->stop = 1;
    plat_thread_join(c->t);
    sqlite3_close(c->db);
    store_exec(c->st, "PRAGMA wal_autocheckpoint=4096", NULL);
    free(c);
}
