/* staging.c - see staging.h. */
#include "staging.h"
#include "../base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQL_MAX (1u << 20)

/* Phases of a source (import_source.phase). */
enum { PH_LANDED = 0, PH_UPSERT = 1, PH_DELETE = 2, PH_DONE = 3 };

/* Appends `, "col1", "col2"...` (or with a table alias prefix). */
static rdm_rc cols_list(rdm_buf *b, const stg_model *m, const char *alias)
{
    rdm_rc rc = RDM_OK;
    for (int i = 0; i < m->ncols && !rc; i++) {
        rc = buf_adds(b, ", ");
        if (!rc && alias)
            rc = buf_adds(b, alias);
        if (!rc)
            rc = buf_addc(b, '"');
        if (!rc)
            rc = buf_adds(b, m->cols[i]);
        if (!rc)
            rc = buf_addc(b, '"');
    }
    return rc;
}

static rdm_rc oom(rdm_err *err)
{
    return rdm_fail(err, RDM_ERR_NOMEM, "out of memory building SQL");
}

rdm_rc stg_model_ensure(store *st, const stg_model *m, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_buf b;
    rdm_rc rc = RDM_OK;
    char name[96];
    int exists = 0, ncol = 0;

    snprintf(name, sizeof name, "rdm:stg:%s", m->name);
    if (sqlite3_prepare_v2(store_db(st), "SELECT name FROM pragma_table_info(?)", -1, &s, NULL))
        return store_fail(st, err, "reading a staged table");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(s, 0);
        exists = 1;
        if (strncmp(c, "rdm:", 4) == 0)
            continue;
        if (ncol >= m->ncols || strcmp(c, m->cols[ncol]) != 0) {
            rc = rdm_fail(err, RDM_ERR_CONFIG,
                          "model %s: the store's staged table has column '%s' where the profile "
                          "has '%s'; a changed model needs its staged data rebuilt",
                          m->name, c, ncol < m->ncols ? m->cols[ncol] : "(nothing)");
            break;
        }
        ncol++;
    }
    sqlite3_finalize(s);
    if (rc)
        return rc;
    if (exists) {
        if (ncol != m->ncols)
            return rdm_fail(err, RDM_ERR_CONFIG,
                            "model %s: the store's staged table has %d columns, the profile %d; "
                            "a changed model needs its staged data rebuilt",
                            m->name, ncol, m->ncols);
        return RDM_OK;
    }
    buf_init(&b, SQL_MAX);
    /* rows in arrival order (a rowid table: wide rows are appended, not
     * inserted at random places of a key-ordered tree); the keys in a
     * narrow unique index that stays in the page cache */
    rc = buf_addf(&b,
                  "CREATE TABLE \"%s\"(\"rdm:k\" TEXT NOT NULL, \"rdm:h\" INTEGER NOT NULL, "
                  "\"rdm:op\" INTEGER NOT NULL, \"rdm:chg\" INTEGER NOT NULL, \"rdm:substage\" "
                  "INTEGER, \"rdm:created\" INTEGER NOT NULL, \"rdm:modified\" INTEGER NOT NULL",
                  name);
    for (int i = 0; i < m->ncols && !rc; i++)
        rc = buf_addf(&b, ", \"%s\" %s", m->cols[i], m->integer[i] ? "INTEGER" : "TEXT");
    if (!rc)
        rc = buf_addf(&b,
                      "); CREATE UNIQUE INDEX \"%s:k\" ON \"%s\"(\"rdm:k\"); CREATE INDEX "
                      "\"%s:chg\" ON \"%s\"(\"rdm:chg\");",
                      name, name, name, name);
    if (!rc)
        rc = store_exec(st, b.p, err);
    else
        rc = oom(err);
    buf_free(&b);
    return rc;
}

rdm_rc stg_source_find(store *st, const char *model, const char *sha256, long long *id,
                       long long *imported_at, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_rc rc = RDM_ERR_NOT_FOUND;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT id, imported_at FROM import_source WHERE model = ? AND "
                           "sha256 = ?",
                           -1, &s, NULL))
        return store_fail(st, err, "looking up an imported file");
    sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, sha256, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        *imported_at = sqlite3_column_int64(s, 1);
        rc = RDM_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

rdm_rc stg_source_create(store *st, const stg_model *m, const char *kind, const char *name,
                         const char *sha256, long long size, int snapshot, const char *bundle,
                         long long *id, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_buf b;
    rdm_rc rc;
    if (sqlite3_prepare_v2(store_db(st),
                           "INSERT INTO import_source(model, kind, name, sha256, size, snapshot, "
                           "bundle, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, strftime('%s'))",
                           -1, &s, NULL))
        return store_fail(st, err, "registering a source");
    sqlite3_bind_text(s, 1, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, size);
    sqlite3_bind_int(s, 6, snapshot);
    sqlite3_bind_text(s, 7, bundle, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) {
        rc = store_fail(st, err, "registering a source");
        sqlite3_finalize(s);
        return rc;
    }
    sqlite3_finalize(s);
    *id = sqlite3_last_insert_rowid(store_db(st));
    buf_init(&b, SQL_MAX);
    /* landed rows in file order, keys unique through a narrow index */
    rc = buf_addf(&b,
                  "CREATE TABLE \"rdm:land:%lld\"(\"rdm:k\" TEXT NOT NULL, \"rdm:line\" INTEGER, "
                  "\"rdm:op\" INTEGER, \"rdm:h\" INTEGER NOT NULL",
                  *id);
    for (int i = 0; i < m->ncols && !rc; i++)
        rc = buf_addf(&b, ", \"%s\" %s", m->cols[i], m->integer[i] ? "INTEGER" : "TEXT");
    if (!rc)
        rc = buf_addf(&b,
                      "); CREATE UNIQUE INDEX \"rdm:land:%lld:k\" ON \"rdm:land:%lld\"(\"rdm:k\")",
                      *id, *id);
    rc = rc ? oom(err) : store_exec(st, b.p, err);
    buf_free(&b);
    return rc;
}

rdm_rc stg_source_landed(store *st, long long id, long long rows, long long rejected, rdm_err *err)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "UPDATE import_source SET rows = %lld, rejected = %lld WHERE id = %lld", rows,
             rejected, id);
    return store_exec(st, sql, err);
}

struct stg_lander {
    store *st;
    const stg_model *m;
    sqlite3_stmt *ins, *line_of;
};

rdm_rc stg_lander_open(store *st, const stg_model *m, long long src, int replace, stg_lander **out,
                       rdm_err *err)
{
    stg_lander *l = calloc(1, sizeof *l);
    rdm_buf b;
    rdm_rc rc;
    *out = NULL;
    if (!l)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    l->st = st;
    l->m = m;
    buf_init(&b, SQL_MAX);
    rc = buf_addf(&b, "INSERT%s INTO \"rdm:land:%lld\" VALUES (?, ?, ?, ?",
                  replace ? " OR REPLACE" : "", src);
    for (int i = 0; i < m->ncols && !rc; i++)
        rc = buf_adds(&b, ", ?");
    if (!rc)
        rc = buf_addc(&b, ')');
    rc = rc ? oom(err) : store_prepare(st, b.p, &l->ins, err);
    if (!rc) {
        buf_reset(&b);
        rc = buf_addf(&b, "SELECT \"rdm:line\" FROM \"rdm:land:%lld\" WHERE \"rdm:k\" = ?", src);
        rc = rc ? oom(err) : store_prepare(st, b.p, &l->line_of, err);
    }
    buf_free(&b);
    if (rc) {
        stg_lander_close(l);
        return rc;
    }
    *out = l;
    return RDM_OK;
}

rdm_rc stg_land(stg_lander *l, const char *key, long line, int op, int64_t hash,
                const char *const *vals, const size_t *lens, long *first_line, rdm_err *err)
{
    sqlite3_stmt *s = l->ins;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, line);
    if (op)
        sqlite3_bind_int(s, 3, op);
    else
        sqlite3_bind_null(s, 3);
    sqlite3_bind_int64(s, 4, hash);
    for (int i = 0; i < l->m->ncols; i++) {
        if (vals[i])
            sqlite3_bind_text(s, 5 + i, vals[i], (int)lens[i], SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 5 + i);
    }
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    if (r == SQLITE_DONE)
        return RDM_OK;
    if (sqlite3_extended_errcode(store_db(l->st)) == SQLITE_CONSTRAINT_UNIQUE) {
        *first_line = 0;
        sqlite3_bind_text(l->line_of, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(l->line_of) == SQLITE_ROW)
            *first_line = (long)sqlite3_column_int64(l->line_of, 0);
        sqlite3_reset(l->line_of);
        return rdm_fail(err, RDM_ERR_PARSE, "duplicate key");
    }
    return store_fail(l->st, err, "landing a row");
}

void stg_lander_close(stg_lander *l)
{
    if (!l)
        return;
    sqlite3_finalize(l->ins);
    sqlite3_finalize(l->line_of);
    free(l);
}

rdm_rc stg_quarantine(store *st, long long src, long line, const char *field, const char *reason,
                      const char *raw, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_rc rc = RDM_OK;
    if (sqlite3_prepare_v2(store_db(st),
                           "INSERT INTO quarantine(source_id, line, field, reason, raw, "
                           "created_at) VALUES (?, ?, ?, ?, ?, strftime('%s'))",
                           -1, &s, NULL))
        return store_fail(st, err, "quarantining a row");
    sqlite3_bind_int64(s, 1, src);
    sqlite3_bind_int64(s, 2, line);
    sqlite3_bind_text(s, 3, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, raw, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_fail(st, err, "quarantining a row");
    sqlite3_finalize(s);
    return rc;
}

rdm_rc stg_source_next(store *st, long long *id, char *model, size_t n, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_rc rc = RDM_ERR_NOT_FOUND;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT id, model FROM import_source WHERE phase < 3 ORDER BY id "
                           "LIMIT 1",
                           -1, &s, NULL))
        return store_fail(st, err, "looking for sources to collect");
    if (sqlite3_step(s) == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        snprintf(model, n, "%s", (const char *)sqlite3_column_text(s, 1));
        rc = RDM_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

rdm_rc stg_next_change(store *st, long long *chg, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_rc rc = RDM_OK;
    if (sqlite3_prepare_v2(store_db(st),
                           "UPDATE counter SET value = value + 1 WHERE name = 'change' "
                           "RETURNING value",
                           -1, &s, NULL))
        return store_fail(st, err, "taking a change number");
    if (sqlite3_step(s) == SQLITE_ROW)
        *chg = sqlite3_column_int64(s, 0);
    else
        rc = store_fail(st, err, "taking a change number");
    sqlite3_finalize(s);
    return rc;
}

/* ---- collect ---- */

enum {
    Q_POS,     /* phase, last_k, snapshot of the source */
    Q_MAXK,    /* upsert: the last landed rowid */
    Q_COUNT,   /* upsert: rows in (lo, hi] */
    Q_UPSERT,  /* upsert: new or deleted keys -> CREATE, changed content -> UPDATE */
    Q_LDELETE, /* upsert: landed deletes -> DELETE */
    Q_LIVE,    /* live staged rows */
    Q_LANDED,  /* landed upserts */
    Q_DHI,     /* delete: the key ending the chunk of absent keys */
    Q_DMAX,    /* delete: the last absent key */
    Q_DELETE,  /* delete: absent keys in (lo, hi] -> DELETE */
    Q_SETPOS,  /* phase, last_k */
    Q_N
};

struct stg_collector {
    store *st;
    const stg_model *m;
    long long src;
    sqlite3_stmt *q[Q_N];
};

void stg_collector_close(stg_collector *c)
{
    if (!c)
        return;
    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(c->q[i]);
    free(c);
}

rdm_rc stg_collector_open(store *st, const stg_model *m, long long src, stg_collector **out,
                          rdm_err *err)
{
    stg_collector *c = calloc(1, sizeof *c);
    rdm_buf b, cl, lcl;
    rdm_rc rc = RDM_OK;
    char stg[96], land[64];

    *out = NULL;
    if (!c)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    c->st = st;
    c->m = m;
    c->src = src;
    snprintf(stg, sizeof stg, "\"rdm:stg:%s\"", m->name);
    snprintf(land, sizeof land, "\"rdm:land:%lld\"", src);
    buf_init(&b, SQL_MAX);
    buf_init(&cl, SQL_MAX);
    buf_init(&lcl, SQL_MAX);
    if (cols_list(&cl, m, NULL) || cols_list(&lcl, m, "l."))
        rc = oom(err);
    /* ?1 lo, ?2 hi (keys), ?3 chg, ?4 substage, ?5 now */
    /* upsert chunks are ranges of landed rowids (file order: sequential
     * reads); ?1 lo, ?2 hi, ?3 chg, ?4 substage, ?5 now */
    const char *range = "l.rowid > ?1 AND l.rowid <= ?2";
#define PREP(idx, ...)                                                                             \
    do {                                                                                           \
        if (rc)                                                                                    \
            break;                                                                                 \
        buf_reset(&b);                                                                             \
        if (buf_addf(&b, __VA_ARGS__))                                                             \
            rc = oom(err);                                                                         \
        else                                                                                       \
            rc = store_prepare(st, b.p, &c->q[idx], err);                                          \
    } while (0)
    PREP(Q_POS, "SELECT phase, coalesce(last_k, ''), snapshot FROM import_source WHERE id = %lld",
         src);
    PREP(Q_MAXK, "SELECT coalesce(max(rowid), 0) FROM %s", land);
    PREP(Q_COUNT, "SELECT count(*) FROM %s l WHERE %s", land, range);
    /* one pass over the chunk: a new key is inserted (CREATE); an existing
     * one is updated only when its content changed (UPDATE) or it was
     * deleted (CREATE again); RETURNING tells which, row by row */
    if (!rc) {
        buf_reset(&b);
        rc = buf_addf(&b,
                      "INSERT INTO %s(\"rdm:k\", \"rdm:h\", \"rdm:op\", \"rdm:chg\", "
                      "\"rdm:substage\", \"rdm:created\", \"rdm:modified\"",
                      stg);
        if (!rc)
            rc = buf_add(&b, cl.p ? cl.p : "", cl.len);
        if (!rc)
            rc = buf_addf(&b, ") SELECT l.\"rdm:k\", l.\"rdm:h\", 1, ?3, ?4, ?5, ?5");
        if (!rc)
            rc = buf_add(&b, lcl.p ? lcl.p : "", lcl.len);
        if (!rc)
            rc = buf_addf(&b,
                          " FROM %s l WHERE %s AND l.\"rdm:op\" IS NOT 3 ON CONFLICT(\"rdm:k\") DO "
                          "UPDATE SET \"rdm:op\" = CASE WHEN \"rdm:op\" = 3 THEN 1 ELSE 2 END, "
                          "\"rdm:h\" = excluded.\"rdm:h\", \"rdm:chg\" = excluded.\"rdm:chg\", "
                          "\"rdm:substage\" = excluded.\"rdm:substage\", \"rdm:modified\" = "
                          "excluded.\"rdm:modified\"",
                          land, range);
        for (int i = 0; i < m->ncols && !rc; i++)
            rc = buf_addf(&b, ", \"%s\" = excluded.\"%s\"", m->cols[i], m->cols[i]);
        if (!rc)
            rc = buf_addf(&b, " WHERE \"rdm:op\" = 3 OR \"rdm:h\" != excluded.\"rdm:h\" RETURNING "
                              "\"rdm:op\"");
        rc = rc ? oom(err) : store_prepare(st, b.p, &c->q[Q_UPSERT], err);
    }
    PREP(Q_LDELETE,
         "UPDATE %s SET \"rdm:op\" = 3, \"rdm:chg\" = ?3, \"rdm:substage\" = ?4, "
         "\"rdm:modified\" = ?5 WHERE \"rdm:op\" != 3 AND \"rdm:k\" IN (SELECT l.\"rdm:k\" FROM "
         "%s l WHERE %s AND l.\"rdm:op\" = 3)",
         stg, land, range);
    PREP(Q_LIVE, "SELECT count(*) FROM %s WHERE \"rdm:op\" != 3", stg);
    PREP(Q_LANDED, "SELECT count(*) FROM %s WHERE \"rdm:op\" IS NOT 3", land);
    PREP(Q_DHI,
         "SELECT s.\"rdm:k\" FROM %s s WHERE s.\"rdm:op\" != 3 AND s.\"rdm:k\" > ?1 AND NOT "
         "EXISTS (SELECT 1 FROM %s l WHERE l.\"rdm:k\" = s.\"rdm:k\") ORDER BY s.\"rdm:k\" "
         "LIMIT 1 OFFSET ?2",
         stg, land);
    PREP(Q_DMAX, "SELECT max(\"rdm:k\") FROM %s", stg);
    PREP(Q_DELETE,
         "UPDATE %s SET \"rdm:op\" = 3, \"rdm:chg\" = ?3, \"rdm:substage\" = ?4, "
         "\"rdm:modified\" = ?5 WHERE \"rdm:op\" != 3 AND \"rdm:k\" > ?1 AND \"rdm:k\" <= ?2 "
         "AND NOT EXISTS (SELECT 1 FROM %s l WHERE l.\"rdm:k\" = %s.\"rdm:k\")",
         stg, land, stg);
    PREP(Q_SETPOS,
         "UPDATE import_source SET phase = ?1, last_k = ?2, collected_at = CASE WHEN ?1 = 3 "
         "THEN strftime('%%s') END WHERE id = %lld",
         src);
#undef PREP
    buf_free(&b);
    buf_free(&cl);
    buf_free(&lcl);
    if (rc) {
        stg_collector_close(c);
        return rc;
    }
    *out = c;
    return RDM_OK;
}

/* Runs a statement that returns one value (or none); *out gets a copy of
 * the text (NULL when no row or NULL), or the integer in *num. */
static rdm_rc one(stg_collector *c, sqlite3_stmt *s, char **out, long long *num, rdm_err *err)
{
    int r = sqlite3_step(s);
    if (out)
        *out = NULL;
    if (r == SQLITE_ROW) {
        if (out && sqlite3_column_type(s, 0) != SQLITE_NULL) {
            const char *t = (const char *)sqlite3_column_text(s, 0);
            size_t n = (size_t)sqlite3_column_bytes(s, 0);
            if (!(*out = malloc(n + 1))) {
                sqlite3_reset(s);
                return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
            }
            memcpy(*out, t, n + 1);
        }
        if (num)
            *num = sqlite3_column_int64(s, 0);
        r = sqlite3_step(s);
    }
    sqlite3_reset(s);
    if (r != SQLITE_DONE)
        return store_fail(c->st, err, "collecting");
    return RDM_OK;
}

/* Binds the range (rowids of the land table), chg, substage, now and runs
 * a change statement. */
static rdm_rc change(stg_collector *c, int q, long long lo, long long hi, long long chg,
                     long long sub, long long now, long *count, rdm_err *err)
{
    sqlite3_stmt *s = c->q[q];
    sqlite3_bind_int64(s, 1, lo);
    sqlite3_bind_int64(s, 2, hi);
    sqlite3_bind_int64(s, 3, chg);
    sqlite3_bind_int64(s, 4, sub);
    sqlite3_bind_int64(s, 5, now);
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    if (r != SQLITE_DONE)
        return store_fail(c->st, err, "applying landed rows to the staged model");
    *count += sqlite3_changes(store_db(c->st));
    return RDM_OK;
}

/* Runs the chunk's upsert, counting CREATE and UPDATE from RETURNING. */
static rdm_rc upsert(stg_collector *c, long long lo, long long hi, long long chg, long long sub,
                     long long now, stg_chunk *out, rdm_err *err)
{
    sqlite3_stmt *s = c->q[Q_UPSERT];
    int r;
    sqlite3_bind_int64(s, 1, lo);
    sqlite3_bind_int64(s, 2, hi);
    sqlite3_bind_int64(s, 3, chg);
    sqlite3_bind_int64(s, 4, sub);
    sqlite3_bind_int64(s, 5, now);
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_int(s, 0) == 2)
            out->updated++;
        else
            out->created++;
    }
    sqlite3_reset(s);
    if (r != SQLITE_DONE)
        return store_fail(c->st, err, "applying landed rows to the staged model");
    return RDM_OK;
}

/* The same for the delete phase, whose range is of staged keys. */
static rdm_rc change_k(stg_collector *c, int q, const char *lo, const char *hi, long long chg,
                       long long sub, long long now, long *count, rdm_err *err)
{
    sqlite3_stmt *s = c->q[q];
    sqlite3_bind_text(s, 1, lo, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hi, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, chg);
    sqlite3_bind_int64(s, 4, sub);
    sqlite3_bind_int64(s, 5, now);
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    if (r != SQLITE_DONE)
        return store_fail(c->st, err, "marking deletions in the staged model");
    *count += sqlite3_changes(store_db(c->st));
    return RDM_OK;
}

static rdm_rc set_pos(stg_collector *c, int phase, const char *k, rdm_err *err)
{
    sqlite3_stmt *s = c->q[Q_SETPOS];
    sqlite3_bind_int(s, 1, phase);
    sqlite3_bind_text(s, 2, k, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    return r == SQLITE_DONE ? RDM_OK : store_fail(c->st, err, "saving the collect position");
}

rdm_rc stg_collector_chunk(stg_collector *c, int limit, long long chg, long long substage,
                           long long now, stg_chunk *out, rdm_err *err)
{
    char *lo = NULL, *hi = NULL;
    long long phase = 0, snapshot = 0, n = 0;
    rdm_rc rc;

    memset(out, 0, sizeof *out);
    sqlite3_stmt *p = c->q[Q_POS];
    if (sqlite3_step(p) != SQLITE_ROW) {
        sqlite3_reset(p);
        return store_fail(c->st, err, "reading the collect position");
    }
    phase = sqlite3_column_int64(p, 0);
    const char *t = (const char *)sqlite3_column_text(p, 1);
    lo = malloc(strlen(t) + 1);
    if (lo)
        strcpy(lo, t);
    snapshot = sqlite3_column_int64(p, 2);
    sqlite3_reset(p);
    if (!lo)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    if (phase == PH_LANDED) {
        phase = PH_UPSERT;
        lo[0] = '\0'; /* rowid 0: from the start */
    }

    if (phase == PH_UPSERT) {
        long long from = atoll(lo), max = 0, to;
        char a[32], z[32];
        if ((rc = one(c, c->q[Q_MAXK], NULL, &max, err)))
            goto out;
        to = from + limit < max ? from + limit : max;
        int last = to >= max;
        snprintf(a, sizeof a, "%lld", from);
        snprintf(z, sizeof z, "%lld", to);
        if (to > from) {
            sqlite3_bind_int64(c->q[Q_COUNT], 1, from);
            sqlite3_bind_int64(c->q[Q_COUNT], 2, to);
            if ((rc = one(c, c->q[Q_COUNT], NULL, &n, err)))
                goto out;
            out->rows = (long)n;
            if ((rc = upsert(c, from, to, chg, substage, now, out, err)) ||
                (rc = change(c, Q_LDELETE, from, to, chg, substage, now, &out->deleted, err)))
                goto out;
        }
        if (!last) {
            rc = set_pos(c, PH_UPSERT, z, err);
            goto out;
        }
        /* all rows applied. A full snapshot deletes the keys it lacks; when
         * the live rows are exactly as many as the snapshot's, there are
         * none (every landed key is live now and keys are unique). */
        long long live = 0, landed = 0;
        if (snapshot && ((rc = one(c, c->q[Q_LIVE], NULL, &live, err)) ||
                         (rc = one(c, c->q[Q_LANDED], NULL, &landed, err))))
            goto out;
        if (snapshot && live > landed) {
            rc = set_pos(c, PH_DELETE, "", err);
            goto out;
        }
        phase = PH_DONE;
    } else if (phase == PH_DELETE) {
        sqlite3_bind_text(c->q[Q_DHI], 1, lo, -1, SQLITE_STATIC);
        sqlite3_bind_int(c->q[Q_DHI], 2, limit - 1);
        if ((rc = one(c, c->q[Q_DHI], &hi, NULL, err)))
            goto out;
        int last = hi == NULL;
        if (last && (rc = one(c, c->q[Q_DMAX], &hi, NULL, err)))
            goto out;
        if (hi && (rc = change_k(c, Q_DELETE, lo, hi, chg, substage, now, &out->deleted, err)))
            goto out;
        out->rows = out->deleted;
        if (!last) {
            rc = set_pos(c, PH_DELETE, hi, err);
            goto out;
        }
        phase = PH_DONE;
    }
    /* done: forget the landed rows */
    char sql[96];
    snprintf(sql, sizeof sql, "DROP TABLE \"rdm:land:%lld\"", c->src);
    if ((rc = set_pos(c, PH_DONE, NULL, err)) || (rc = store_exec(c->st, sql, err)))
        goto out;
    out->done = 1;
out:
    free(lo);
    free(hi);
    return rc;
}
