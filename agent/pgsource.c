/* pgsource.c - see pgsource.h. */
#include "pgsource.h"
#include "../base/log.h"
#include "../base/plat.h"
#include "import.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef RDM_WITH_POSTGRES

rdm_rc pgsrc_pull(store *st, const profile *p, const rdm_config *cfg, pgsrc_stats *s,
                  const char **failed_model, rdm_err *err)
{
    (void)st;
    (void)p;
    (void)cfg;
    (void)s;
    *failed_model = NULL;
    return rdm_fail(err, RDM_ERR_NOT_BUILT,
                    "this rdm-agent was built without PostgreSQL support: set [source] TYPE = "
                    "csv and bring dumps");
}

#else

#include <cJSON.h>
#include <libpq-fe.h>

/* The change-log entries of one table ($1 schema, $2 name) from a time ($3,
 * microseconds). */
#define AUDIT_WINDOW                                                                               \
    " FROM audit_log_auditlog l JOIN audit_log_table t ON t.id = l.table_id WHERE t.schema = "     \
    "$1 AND t.name = $2 AND l.time >= to_timestamp($3::float8 / 1000000)"
#define MAX_COLS 1024

typedef struct pull {
    PGconn *conn;
    int lost; /* the connection cannot be used again: no ROLLBACK is sent */
    store *st;
    const profile *p;
    const rdm_config *cfg;
    const prof_model *m;
    const char *what; /* "snapshot", "incremental", "audit log": for messages */
} pull;

/* The start of today, local time, in microseconds since the epoch. */
static long long today_us(void)
{
    time_t t = time(NULL);
    struct tm tm;
    if (!plat_localtime(t, &tm))
        return (long long)(t - t % 86400) * 1000000LL;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (long long)mktime(&tm) * 1000000LL;
}

static rdm_rc pg_fail(pull *pl, rdm_err *err, const char *step)
{
    const char *msg = PQerrorMessage(pl->conn);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return rdm_fail(err, RDM_ERR_IO,
                    "model %s, PostgreSQL %s: %s failed: %.*s; nothing of this pull was kept, "
                    "the next collect tries again",
                    pl->m->name, pl->what, step, (int)n, msg);
}

/* "YYYY-MM-DD HH:MM:SS.uuuuuu+00" of a time in microseconds. */
static void iso_utc(long long us, char *buf, size_t n)
{
    struct tm tm;
    char s[32] = "1970-01-01 00:00:00";
    if (plat_gmtime((time_t)(us / 1000000LL), &tm))
        strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S", &tm);
    if (snprintf(buf, n, "%s.%06lld+00", s, us % 1000000LL) >= (int)n)
        buf[0] = '\0'; /* cannot happen with the callers' 40 bytes */
}

/* Replaces the whole words :since and :until by $1 and $2. */
static rdm_rc bind_params(const char *q, rdm_buf *out)
{
    rdm_rc rc = RDM_OK;
    for (const char *s = q; *s && !rc;) {
        int since = strncmp(s, ":since", 6) == 0, until = strncmp(s, ":until", 6) == 0;
        char next = (since || until) ? s[6] : 0;
        int word =
            (since || until) && !((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
                                  (next >= '0' && next <= '9') || next == '_');
        if (word) {
            rc = buf_adds(out, since ? "$1" : "$2");
            s += 6;
        } else {
            rc = buf_addc(out, *s++);
        }
    }
    return rc;
}

/* Sends sql (with nparams text parameters) in single-row mode: its rows
 * then come one PGresult each, through pg_row(), so memory holds one row
 * at a time however large the result. */
static rdm_rc pg_send(pull *pl, const char *sql, int nparams, const char *const *params,
                      const char *step, rdm_err *err)
{
    if (!PQsendQueryParams(pl->conn, sql, nparams, NULL, params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(pl->conn))
        return pg_fail(pl, err, step);
    return RDM_OK;
}

/* Reads and drops what is left of the query's results: the connection is
 * then ready for the next command. */
static void pg_drain(pull *pl)
{
    for (PGresult *x; (x = PQgetResult(pl->conn));)
        PQclear(x);
}

/* A cancel request on a thread of its own: PQcancel() connects to the
 * server, and over a network gone silent it held its caller for 134 s
 * (measured; libpq 15 gives it no timeout). refs: the caller's and the
 * thread's; whoever lets go last frees it. */
typedef struct cancel_job {
    PGcancel *c;
    atomic_int done, refs;
} cancel_job;

static void cancel_unref(cancel_job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) == 1) {
        PQfreeCancel(j->c);
        free(j);
    }
}

static void *cancel_run(void *arg)
{
    cancel_job *j = arg;
    char why[256];
    PQcancel(j->c, why, (int)sizeof why);
    atomic_store(&j->done, 1);
    cancel_unref(j);
    return NULL;
}

/* Asks the server to cancel the running query: 1 when the request went
 * through within 2 s, 0 when it did not (a silent network; then the
 * request goes on alone, and ends with the process at the latest). */
static int pg_cancel(pull *pl)
{
    cancel_job *j = calloc(1, sizeof *j);
    plat_thread *t = NULL;
    int ok = 0;
    if (!j || !(j->c = PQgetCancel(pl->conn))) {
        free(j);
        return 0;
    }
    atomic_init(&j->done, 0);
    atomic_init(&j->refs, 2);
    if (plat_thread_start(&t, cancel_run, j, NULL)) {
        PQfreeCancel(j->c);
        free(j);
        return 0;
    }
    plat_thread_detach(t);
    for (int i = 0; i < 200 && !(ok = atomic_load(&j->done)); i++)
        plat_sleep_ms(10);
    cancel_unref(j);
    return ok;
}

/* Leaves a query whose rows are not all read: asks the server to cancel
 * it, then drops what was already on the way, so that the connection is
 * ready for ROLLBACK without reading the rest of a large result. When the
 * request does not get through, the connection is given up instead (its
 * transaction ends when it is closed): waiting on it could take minutes. */
static void pg_abandon(pull *pl)
{
    if (pg_cancel(pl))
        pg_drain(pl);
    else
        pl->lost = 1;
}

/* Waits until the query sent last has a result to read, a quarter of a
 * second at a time, so that a stop is seen while the server works: a stop
 * cancels the query (RDM_ERR_STOPPED, after `rows` rows; rows < 0: a
 * command, named by step), a connection lost fails (pl->lost). */
static rdm_rc pg_wait(pull *pl, long rows, const char *step, rdm_err *err)
{
    for (;;) {
        if (plat_stop_requested()) {
            pg_abandon(pl);
            if (rows < 0)
                return rdm_fail(err, RDM_ERR_STOPPED,
                                "model %s, PostgreSQL %s: stopped on request while waiting for "
                                "the server (%s); nothing of this pull was kept, the next "
                                "collect pulls it again",
                                pl->m->name, pl->what, step);
            return rdm_fail(err, RDM_ERR_STOPPED,
                            "model %s, PostgreSQL %s: stopped on request after %ld row(s); "
                            "nothing of this pull was kept, the next collect pulls it again",
                            pl->m->name, pl->what, rows);
        }
        if (!PQisBusy(pl->conn))
            return RDM_OK;
        int w = plat_sock_wait(PQsocket(pl->conn), 0, 250);
        if ((w > 0 && !PQconsumeInput(pl->conn)) || w < 0) {
            rdm_rc rc = pg_fail(pl, err, step); /* the connection is lost */
            pl->lost = 1;
            return rc;
        }
    }
}

/* Runs sql (nparams text parameters) to its end, stop-aware like a pull
 * (pg_wait): RDM_OK when its result has the status want; the result in
 * *out (the caller's, to PQclear) when out is not NULL. The connection is
 * left ready for the next command, or lost. */
static rdm_rc pg_exec(pull *pl, const char *sql, int nparams, const char *const *params,
                      ExecStatusType want, PGresult **out, const char *step, rdm_err *err)
{
    rdm_rc rc;
    if (out)
        *out = NULL;
    if (!PQsendQueryParams(pl->conn, sql, nparams, NULL, params, NULL, NULL, 0))
        return pg_fail(pl, err, step);
    if ((rc = pg_wait(pl, -1, step, err)))
        return rc;
    PGresult *r = PQgetResult(pl->conn);
    if (PQresultStatus(r) != want) {
        rc = pg_fail(pl, err, step);
        PQclear(r);
        r = NULL;
    }
    pg_drain(pl);
    if (out)
        *out = r;
    else
        PQclear(r);
    return rc;
}

/* The next result of pg_send()'s query, after `rows` rows, in *r (the
 * caller's, to PQclear): *more 1 with a row, 0 with the query's end (no
 * row, the columns still described). Waits as pg_wait() does. On any
 * failure *r is NULL; the connection is left ready for the next command,
 * or lost. */
static rdm_rc pg_row(pull *pl, PGresult **r, int *more, long rows, const char *step, rdm_err *err)
{
    *r = NULL;
    *more = 0;
    rdm_rc rc = pg_wait(pl, rows, step, err);
    if (rc)
        return rc;
    *r = PQgetResult(pl->conn);
    ExecStatusType t = PQresultStatus(*r);
    if (t == PGRES_SINGLE_TUPLE) {
        *more = 1;
        return RDM_OK;
    }
    if (t != PGRES_TUPLES_OK) {
        rc = pg_fail(pl, err, step);
        PQclear(*r);
        *r = NULL;
    }
    pg_drain(pl); /* the end, or the server's error: nothing more follows */
    return rc;
}

/* Runs a statement that returns no rows (BEGIN, COMMIT, ...). */
static rdm_rc pg_cmd(pull *pl, const char *sql, rdm_err *err)
{
    return pg_exec(pl, sql, 0, NULL, PGRES_COMMAND_OK, NULL, sql, err);
}

/* The one int8 that sql returns, in *v (a time in microseconds). */
static rdm_rc pg_int8(pull *pl, const char *sql, long long *v, const char *step, rdm_err *err)
{
    PGresult *r;
    rdm_rc rc = pg_exec(pl, sql, 0, NULL, PGRES_TUPLES_OK, &r, step, err);
    if (!rc && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        *v = atoll(PQgetvalue(r, 0, 0));
    else if (!rc)
        rc = rdm_fail(err, RDM_ERR_IO, "model %s, PostgreSQL %s: %s returned no value", pl->m->name,
                      pl->what, step);
    PQclear(r);
    return rc;
}

/* Matches the result's columns to the model's by name into map (-1: not
 * returned) and finds op_col (or NULL), the operation, in *opi. */
static rdm_rc map_columns(pull *pl, const PGresult *r, const char *op_col, int *map, int *opi,
                          rdm_err *err)
{
    const prof_model *m = pl->m;
    int nf = PQnfields(r);
    *opi = -1;
    for (int i = 0; i < m->ncols; i++)
        map[i] = -1;
    for (int j = 0; j < nf; j++) {
        const char *name = PQfname(r, j);
        if (op_col && strcmp(name, op_col) == 0) {
            *opi = j;
            continue;
        }
        for (int i = 0; i < m->ncols; i++)
            if (strcmp(m->cols[i].name, name) == 0)
                map[i] = j;
    }
    /* as for a dump's header: a key or a required field missing is an
     * error, another column is staged empty, and said so */
    for (int i = 0; i < m->ncols; i++) {
        if (map[i] >= 0)
            continue;
        if (import_column_required(pl->p, m, i))
            return rdm_fail(err, RDM_ERR_CONFIG,
                            "model %s, PostgreSQL %s: the query returns no column '%s' (a key of "
                            "the model or a required field); name it with AS",
                            m->name, pl->what, m->cols[i].name);
        log_warn("model %s, PostgreSQL %s: the query returns no column '%s'; it is staged "
                 "empty (name it with AS)",
                 m->name, pl->what, m->cols[i].name);
    }
    if (op_col && *opi < 0)
        return rdm_fail(err, RDM_ERR_CONFIG,
                        "model %s, PostgreSQL incremental: the query returns no column '%s' (the "
                        "operation)",
                        m->name, op_col);
    return RDM_OK;
}

/* Streams the rows of query (with nparams text parameters) into sink, one
 * at a time (single-row mode); the result's columns are matched to the
 * model's by name; op_col (or NULL) names the column holding the
 * operation. */
static rdm_rc stream(pull *pl, const char *query, int nparams, const char *const *params,
                     const char *op_col, import_sink *sink, long long *rows, rdm_err *err)
{
    const prof_model *m = pl->m;
    rdm_buf sql;
    rdm_rc rc;
    int map[MAX_COLS], opi = -1, more = 1;
    const char *hdr[MAX_COLS], *vals[MAX_COLS];
    size_t lens[MAX_COLS];
    long line = 0;
    PGresult *r = NULL;

    buf_init(&sql, 16u << 20);
    if (bind_params(query, &sql))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    rc = pg_send(pl, sql.p, nparams, params, "the query", err);
    buf_free(&sql);
    if (rc)
        return rc;
    for (int i = 0; i < m->ncols; i++)
        hdr[i] = m->cols[i].csv_header;
    if ((rc = import_sink_header(sink, m->ncols, hdr, err))) {
        pg_abandon(pl);
        return rc;
    }
    while (more) {
        if ((rc = pg_row(pl, &r, &more, line, line ? "reading the rows" : "the query", err)))
            return rc;
        if (line == 0) /* the first row, or the end of an empty result */
            rc = map_columns(pl, r, op_col, map, &opi, err);
        if (!rc && more) {
            int op = 0;
            for (int i = 0; i < m->ncols; i++) {
                int j = map[i];
                vals[i] = j < 0 || PQgetisnull(r, 0, j) ? NULL : PQgetvalue(r, 0, j);
                lens[i] = vals[i] ? (size_t)PQgetlength(r, 0, j) : 0;
            }
            if (opi >= 0 && !PQgetisnull(r, 0, opi) && strcmp(PQgetvalue(r, 0, opi), "3") == 0)
                op = 3;
            rc = import_sink_row(sink, ++line, op, m->ncols, vals, lens, err);
        }
        PQclear(r);
        if (rc) {
            if (more) /* stopped before the end: the rest is not wanted */
                pg_abandon(pl);
            return rc;
        }
    }
    *rows = line;
    return RDM_OK;
}

static rdm_rc save_pos(store *st, const char *model, const char *col, long long v, rdm_err *err)
{
    char sql[256];
    sqlite3_stmt *s = NULL;
    rdm_rc rc = RDM_OK;
    snprintf(sql, sizeof sql,
             "INSERT INTO pg_position(model, %s) VALUES (?, ?) ON CONFLICT(model) DO UPDATE "
             "SET %s = excluded.%s",
             col, col, col);
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL))
        return store_fail(st, err, "saving the PostgreSQL position");
    sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, v);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_fail(st, err, "saving the PostgreSQL position");
    sqlite3_finalize(s);
    return rc;
}

static long long get_pos(store *st, const char *model, const char *col)
{
    char sql[128];
    sqlite3_stmt *s = NULL;
    long long v = -1;
    snprintf(sql, sizeof sql, "SELECT %s FROM pg_position WHERE model = ?", col);
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL))
        return -1;
    sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* One landing around fn, in one SQLite and one PostgreSQL transaction. */
static rdm_rc land(pull *pl, int snapshot, int replace, const char *name, import_sink **sink,
                   rdm_err *err)
{
    static const import_opts o = {0, 0};
    rdm_rc rc = store_begin(pl->st, err);
    if (!rc)
        rc = import_sink_open(pl->st, pl->p, pl->m, "postgres", name, snapshot, NULL, replace, 0,
                              &o, sink, err);
    if (!rc)
        rc = pg_cmd(pl, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    return rc;
}

static rdm_rc finish(pull *pl, import_sink *sink, rdm_rc rc, pgsrc_stats *stats, rdm_err *err)
{
    if (!rc)
        rc = import_sink_finish(sink, err);
    if (!rc)
        rc = pg_cmd(pl, "COMMIT", err);
    if (!rc)
        rc = store_commit(pl->st, err);
    if (rc) {
        /* after a stop the connection is closed at once: that ends the
         * transaction on the server too */
        rdm_err ignored;
        if (!pl->lost && rc != RDM_ERR_STOPPED)
            pg_cmd(pl, "ROLLBACK", &ignored);
        store_rollback(pl->st);
    } else {
        stats->pulls++;
        stats->rows += import_sink_rows(sink);
        log_info("model %s: %lld row(s) from PostgreSQL (%s)", pl->m->name, import_sink_rows(sink),
                 pl->what);
    }
    import_sink_free(sink);
    return rc;
}

/* "school.pupil" -> "school", "pupil"; "pupil" -> "public", "pupil" (the
 * profile loader checked both parts are identifiers). */
static void split_table(const char *t, char schema[128], char table[128])
{
    const char *dot = strchr(t, '.');
    snprintf(schema, 128, "%.*s", dot ? (int)(dot - t) : 6, dot ? t : "public");
    snprintf(table, 128, "%s", dot ? dot + 1 : t);
}

/* Inside a full snapshot's transactions (PostgreSQL's and the store's),
 * taken at snap_us: the log entries that the snapshot holds are marked
 * applied, so that an older change is never replayed over it. They are
 * read in the snapshot's own REPEATABLE READ transaction, so exactly the
 * entries committed before it are marked: a change committed while the
 * snapshot is read is not in it, stays unmarked, and the audit log pull
 * that follows applies it. */
static rdm_rc mark_covered(pull *pl, long long snap_us, rdm_err *err)
{
    const prof_model *m = pl->m;
    char schema[128], table[128], p_from[32];
    sqlite3_stmt *add = NULL;
    rdm_rc rc = RDM_OK;
    long long old = get_pos(pl->st, m->name, "log_time_us");
    split_table(m->pg_table, schema, table);
    snprintf(p_from, sizeof p_from, "%lld",
             snap_us - cfg_int(pl->cfg, CFG_AUDIT_OVERLAP_SECONDS) * 1000000LL);
    const char *params[3] = {schema, table, p_from};
    PGresult *r;
    if ((rc = pg_exec(pl, "SELECT l.id, (extract(epoch from l.time) * 1000000)::int8" AUDIT_WINDOW,
                      3, params, PGRES_TUPLES_OK, &r, "reading the change log", err)))
        return rc;
    if (sqlite3_prepare_v2(store_db(pl->st), "INSERT OR IGNORE INTO pg_applied VALUES (?, ?, ?)",
                           -1, &add, NULL))
        rc = store_fail(pl->st, err, "marking log entries");
    for (int t = 0; t < PQntuples(r) && !rc; t++) {
        sqlite3_bind_text(add, 1, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(add, 2, atoll(PQgetvalue(r, t, 0)));
        sqlite3_bind_int64(add, 3, atoll(PQgetvalue(r, t, 1)));
        if (sqlite3_step(add) != SQLITE_DONE)
            rc = store_fail(pl->st, err, "marking log entries");
        sqlite3_reset(add);
    }
    if (!rc) /* never back (a server clock set back) */
        rc = save_pos(pl->st, m->name, "log_time_us", old > snap_us ? old : snap_us, err);
    sqlite3_finalize(add);
    PQclear(r);
    return rc;
}

/* A full snapshot of the model's query. With snap_us (an audit-log
 * model), its time there, and the log entries it holds marked applied in
 * the same transactions (mark_covered). */
static rdm_rc pull_snapshot(pull *pl, pgsrc_stats *stats, long long *snap_us, rdm_err *err)
{
    import_sink *sink = NULL;
    long long rows = 0;
    char name[160];
    pl->what = "snapshot";
    snprintf(name, sizeof name, "postgres:%s:snapshot", pl->m->name);
    rdm_rc rc = land(pl, 1, 0, name, &sink, err);
    if (!rc && snap_us) {
        /* the snapshot's own time, for the audit log that follows it */
        rc = pg_int8(pl, "SELECT (extract(epoch from now()) * 1000000)::int8", snap_us,
                     "reading the snapshot's time", err);
    }
    if (!rc)
        rc = stream(pl, pl->m->pg_query, 0, NULL, NULL, sink, &rows, err);
    if (!rc && snap_us)
        rc = mark_covered(pl, *snap_us, err);
    if (!rc)
        rc = save_pos(pl->st, pl->m->name, "snapshot_at", (long long)time(NULL), err);
    return finish(pl, sink, rc, stats, err);
}

static rdm_rc pull_incremental(pull *pl, pgsrc_stats *stats, rdm_err *err)
{
    long long since = get_pos(pl->st, pl->m->name, "until_us"), end = 0;
    long long step = cfg_int(pl->cfg, CFG_TRANSFER_TIMEDELTA) * 1000000LL;
    pl->what = "incremental";
    /* the server's clock: periods are cut by the clock that stamps the
     * rows, never by this machine's */
    rdm_rc rc = pg_int8(pl, "SELECT (extract(epoch from clock_timestamp()) * 1000000)::int8", &end,
                        "reading the server's clock", err);
    if (since < 0)
        since = today_us();
    while (since < end && !rc) {
        long long until = since + step < end ? since + step : end, rows = 0;
        char a[40], b[40], name[160];
        const char *params[2] = {a, b};
        import_sink *sink = NULL;
        iso_utc(since, a, sizeof a);
        iso_utc(until, b, sizeof b);
        snprintf(name, sizeof name, "postgres:%s:%s..%s", pl->m->name, a, b);
        rc = land(pl, 0, 1, name, &sink, err);
        if (!rc)
            rc = stream(pl, pl->m->pg_query, 2, params, pl->m->pg_op_column, sink, &rows, err);
        if (!rc)
            rc = save_pos(pl->st, pl->m->name, "until_us", until, err);
        rc = finish(pl, sink, rc, stats, err);
        since = until;
    }
    return rc;
}

/* Adds the values of a JSON object (hstore_to_json) to vals by column. */
static void json_values(const prof_model *m, const cJSON *obj, const char **vals, size_t *lens)
{
    for (const cJSON *v = obj ? obj->child : NULL; v; v = v->next)
        for (int i = 0; i < m->ncols; i++)
            if (strcmp(m->cols[i].name, v->string) == 0) {
                vals[i] = cJSON_IsString(v) ? v->valuestring : NULL;
                lens[i] = vals[i] ? strlen(vals[i]) : 0;
            }
}

static rdm_rc pull_audit(pull *pl, pgsrc_stats *stats, long long snap_us, rdm_err *err)
{
    const prof_model *m = pl->m;
    long long pos = get_pos(pl->st, m->name, "log_time_us");
    long long overlap = cfg_int(pl->cfg, CFG_AUDIT_OVERLAP_SECONDS);
    long long from = get_pos(pl->st, m->name, "applied_from_us");
    char schema[128], table[128], p_from[32], name[160];
    const char *hdr[MAX_COLS];
    import_sink *sink = NULL;
    sqlite3_stmt *seen = NULL, *add = NULL;
    long long newest, line = 0;
    rdm_rc rc;

    pl->what = "audit log";
    split_table(m->pg_table, schema, table);
    if (pos < 0)
        pos = snap_us > 0 ? snap_us : today_us();
    /* a first pull that finds nothing still keeps where it began: the
     * start of today would move at midnight, past what came after it */
    newest = pos;
    /* never before the entries whose ids were dropped (below) */
    snprintf(p_from, sizeof p_from, "%lld",
             pos - overlap * 1000000LL > from ? pos - overlap * 1000000LL : from);
    snprintf(name, sizeof name, "postgres:%s:audit_log", m->name);
    const char *params[3] = {schema, table, p_from};
    if ((rc = land(pl, 0, 1, name, &sink, err)))
        return finish(pl, sink, rc, stats, err);
    if (sqlite3_prepare_v2(store_db(pl->st),
                           "SELECT 1 FROM pg_applied WHERE model = ? AND log_id = ?", -1, &seen,
                           NULL) ||
        sqlite3_prepare_v2(store_db(pl->st), "INSERT OR IGNORE INTO pg_applied VALUES (?, ?, ?)",
                           -1, &add, NULL)) {
        rc = store_fail(pl->st, err, "reading applied log entries");
        goto out;
    }
    for (int i = 0; i < m->ncols; i++)
        hdr[i] = m->cols[i].csv_header;
    if ((rc = import_sink_header(sink, m->ncols, hdr, err)))
        goto out;
    /* the log is read from the position less the overlap: a transaction
     * that began earlier but committed after the last read shows up there;
     * entries applied before are skipped by id. In the order of the ids,
     * not of the times: a time is its transaction's start, and of two
     * changes to one row the later can carry the earlier time (B begins, A
     * changes the row and commits, then B); the row's lock makes the
     * second change's id the higher */
    if ((rc = pg_send(pl,
                      "SELECT l.id, (extract(epoch from l.time) * 1000000)::int8, l.operation, "
                      "hstore_to_json(l.data)::text, hstore_to_json(l.changes)::text" AUDIT_WINDOW
                      " ORDER BY l.id",
                      3, params, "reading the change log", err)))
        goto out;
    PGresult *r = NULL;
    for (int more = 1; more && !rc;) {
        if ((rc = pg_row(pl, &r, &more, line, "reading the change log", err)) || !more) {
            PQclear(r);
            break;
        }
        long long id = atoll(PQgetvalue(r, 0, 0)), us = atoll(PQgetvalue(r, 0, 1));
        int op = atoi(PQgetvalue(r, 0, 2));
        sqlite3_bind_text(seen, 1, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(seen, 2, id);
        int was = sqlite3_step(seen) == SQLITE_ROW;
        sqlite3_reset(seen);
        if (!was) {
            const char *vals[MAX_COLS] = {0};
            size_t lens[MAX_COLS] = {0};
            cJSON *data = PQgetisnull(r, 0, 3) ? NULL : cJSON_Parse(PQgetvalue(r, 0, 3));
            cJSON *chg = PQgetisnull(r, 0, 4) ? NULL : cJSON_Parse(PQgetvalue(r, 0, 4));
            /* CREATE and DELETE: the row in data; UPDATE: the old row in
             * data, the new values of what changed in changes */
            json_values(m, data, vals, lens);
            if (op == 2)
                json_values(m, chg, vals, lens);
            rc = import_sink_row(sink, ++line, op == 3 ? 3 : 0, m->ncols, vals, lens, err);
            if (rc == RDM_ERR_PARSE) {
                rdm_err why = *err;
                rc = rdm_fail(err, RDM_ERR_PARSE, "model %s, audit log entry %lld: %s", m->name, id,
                              why.msg);
            }
            cJSON_Delete(data);
            cJSON_Delete(chg);
            sqlite3_bind_text(add, 1, m->name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(add, 2, id);
            sqlite3_bind_int64(add, 3, us);
            if (!rc && sqlite3_step(add) != SQLITE_DONE)
                rc = store_fail(pl->st, err, "recording an applied log entry");
            sqlite3_reset(add);
            if (us > newest)
                newest = us;
        }
        PQclear(r);
        if (rc) /* stopped before the end of the log */
            pg_abandon(pl);
    }
    if (!rc && newest > 0)
        rc = save_pos(pl->st, m->name, "log_time_us", newest, err);
    if (!rc && newest > 0) {
        /* the ids of entries well before the window are dropped, and the
         * log is never read before them again, whatever the overlap
         * becomes */
        long long cut = newest - 2 * overlap * 1000000LL;
        char sql[200];
        snprintf(sql, sizeof sql,
                 "DELETE FROM pg_applied WHERE model = '%s' AND log_time_us < %lld", m->name, cut);
        rc = store_exec(pl->st, sql, err);
        if (!rc && cut > from)
            rc = save_pos(pl->st, m->name, "applied_from_us", cut, err);
    }
out:
    sqlite3_finalize(seen);
    sqlite3_finalize(add);
    return finish(pl, sink, rc, stats, err);
}

/* The value of keyword in a connection's options o ("?" when unset). */
static const char *pg_option(const PQconninfoOption *o, const char *keyword)
{
    for (const PQconninfoOption *i = o; i && i->keyword; i++)
        if (i->val && strcmp(i->keyword, keyword) == 0)
            return i->val;
    return "?";
}

/* Connects with [source] DSN over defaults it may override: a server that
 * does not answer gets 30 s, and a connection that goes silent without a
 * reset (a cut cable, a dropped VPN) is given up after about two minutes
 * of TCP keepalives, not the system's two hours. The connect waits on its
 * socket a quarter of a second at a time, like a query: a stop ends it
 * (RDM_ERR_STOPPED), and connect_timeout bounds the whole of it (libpq's
 * blocking connect applies it to each address of a DSN that names
 * several). Logs (debug) where it connected and the keepalive in use,
 * never the password. *out: the connection (the caller's, to PQfinish),
 * NULL on failure. */
static rdm_rc pg_connect(const char *dsn, PGconn **out, rdm_err *err)
{
    /* in order: the DSN, expanded in place of dbname, overrides what
     * comes before it */
    static const char *const kw[] = {"connect_timeout",
                                     "keepalives",
                                     "keepalives_idle",
                                     "keepalives_interval",
                                     "keepalives_count",
                                     "dbname",
                                     NULL};
    const char *const val[] = {"30", "1", "60", "10", "6", dsn, NULL};
    PGconn *c = PQconnectStartParams(kw, val, 1);
    *out = NULL;
    if (!c)
        return rdm_fail(err, RDM_ERR_NOMEM, "PostgreSQL: out of memory while connecting");
    PQconninfoOption *o = PQconninfo(c);
    int limit = atoi(pg_option(o, "connect_timeout")); /* libpq's rules: */
    long long end = limit > 0 ? plat_mono_ms() + (limit < 2 ? 2 : limit) * 1000LL : 0;
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    rdm_rc rc = RDM_OK;
    while (PQstatus(c) != CONNECTION_BAD && ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
        if (plat_stop_requested()) {
            rc = rdm_fail(err, RDM_ERR_STOPPED,
                          "PostgreSQL: stopped on request while connecting; nothing was pulled, "
                          "the next collect tries again");
            break;
        }
        if (end && plat_mono_ms() >= end) {
            rc = rdm_fail(err, RDM_ERR_IO,
                          "PostgreSQL: cannot connect with [source] DSN: no answer within "
                          "connect_timeout (%d s); check the server, the network and the DSN "
                          "(or the PG* variables); the next collect tries again",
                          limit < 2 ? 2 : limit);
            break;
        }
        int w = plat_sock_wait(PQsocket(c), ps == PGRES_POLLING_WRITING, 250);
        if (w != 0) /* ready, or an error that PQconnectPoll() names */
            ps = PQconnectPoll(c);
    }
    if (!rc && PQstatus(c) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(c);
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            n--;
        rc = rdm_fail(err, RDM_ERR_IO,
                      "PostgreSQL: cannot connect with [source] DSN: %.*s; check the server "
                      "and the DSN (or the PG* variables); the next collect tries again",
                      (int)n, msg);
    }
    if (!rc) {
        log_debug("PostgreSQL: connected to %s port %s, database %s; keepalives after %s s, "
                  "every %s s, %s unanswered end the connection",
                  PQhost(c), PQport(c), PQdb(c), pg_option(o, "keepalives_idle"),
                  pg_option(o, "keepalives_interval"), pg_option(o, "keepalives_count"));
        *out = c;
    } else {
        PQfinish(c);
    }
    PQconninfoFree(o);
    return rc;
}

rdm_rc pgsrc_pull(store *st, const profile *p, const rdm_config *cfg, pgsrc_stats *stats,
                  const char **failed_model, rdm_err *err)
{
    pull pl = {0};
    rdm_rc rc = RDM_OK;
    *failed_model = NULL;
    memset(stats, 0, sizeof *stats);
    if ((rc = pg_connect(cfg_str(cfg, CFG_DSN), &pl.conn, err)))
        return rc;
    PQsetClientEncoding(pl.conn, "UTF8");
    pl.st = st;
    pl.p = p;
    pl.cfg = cfg;
    for (int i = 0; i < p->nmodels && !rc; i++) {
        const prof_model *m = &p->models[i];
        pl.m = m;
        if (m->pg_mode == PROF_PG_SNAPSHOT) {
            rc = pull_snapshot(&pl, stats, NULL, err);
        } else if (m->pg_mode == PROF_PG_INCREMENTAL) {
            rc = pull_incremental(&pl, stats, err);
        } else if (m->pg_mode == PROF_PG_AUDIT_LOG) {
            long long last = get_pos(st, m->name, "snapshot_at"), snap_us = 0;
            long long days = cfg_int(cfg, CFG_FULL_SNAPSHOT_DAYS);
            if (m->pg_query && days > 0 && (last < 0 || time(NULL) - last >= days * 86400))
                rc = pull_snapshot(&pl, stats, &snap_us, err);
            if (!rc)
                rc = pull_audit(&pl, stats, snap_us, err);
        }
        if (rc)
            *failed_model = m->name;
    }
    PQfinish(pl.conn);
    return rc;
}

#endif
