/* staging.c - see staging.h. */
#include "staging.h"
#include "../base/buf.h"
#include "../base/keyset.h"
#include "../base/plat.h"
#include "../base/text.h"
#include "landfile.h"

#include <limits.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SQL_MAX (1u << 20)

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
    if (sqlite3_prepare_v2(store_db(st), "SELECT name, type FROM pragma_table_info(?)", -1, &s,
                           NULL))
        return store_fail(st, err, "reading a staged table");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(s, 0);
        const char *t = (const char *)sqlite3_column_text(s, 1);
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
        /* a type changed (int to text keeps leading zeros from then on):
         * the rows staged before keep the old one */
        const char *want = m->integer[ncol] ? "INTEGER" : "TEXT";
        if (!t || strcmp(t, want) != 0) {
            rc = rdm_fail(err, RDM_ERR_CONFIG,
                          "model %s: column '%s' is %s in the store's staged table and %s in the "
                          "profile (its type changed); a changed model needs its staged data "
                          "rebuilt",
                          m->name, c, t ? t : "?", want);
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
        rc = buf_addf(&b, "); CREATE INDEX \"%s:chg\" ON \"%s\"(\"rdm:chg\");", name, name);
    if (!rc && !m->rowid_key)
        rc = buf_addf(&b, "CREATE UNIQUE INDEX \"%s:k\" ON \"%s\"(\"rdm:k\");", name, name);
    /* the live rows, counted as collect changes them (staging.c) */
    if (!rc)
        rc = buf_addf(&b, "INSERT OR IGNORE INTO counter VALUES ('live:%s', 0);", m->name);
    if (!rc)
        rc = store_exec(st, b.p, err);
    else
        rc = oom(err);
    buf_free(&b);
    return rc;
}

rdm_rc stg_source_same(store *st, const char *model, long long before, const char *sha256,
                       int snapshot, long long *id, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_rc rc = RDM_ERR_NOT_FOUND;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT id, sha256 = ?3 AND snapshot = ?4 FROM import_source WHERE "
                           "model = ?1 AND id < ?2 ORDER BY id DESC LIMIT 1",
                           -1, &s, NULL))
        return store_fail(st, err, "looking up an imported file");
    sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, before);
    sqlite3_bind_text(s, 3, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, snapshot != 0);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 1)) {
        *id = sqlite3_column_int64(s, 0);
        rc = RDM_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

/* The land file of a source: "<store dir>/land/<id>.rows". */
static rdm_rc land_path(store *st, long long id, char *buf, size_t n, rdm_err *err)
{
    char dir[4096], land[4096], name[40];
    snprintf(name, sizeof name, "%lld.rows", id);
    if (plat_dirname(store_path(st), dir, sizeof dir) ||
        plat_join(dir, "land", land, sizeof land) || plat_join(land, name, buf, n))
        return rdm_fail(err, RDM_ERR_CONFIG, "%s: path too long", store_path(st));
    return RDM_OK;
}

rdm_rc stg_source_create(store *st, const stg_model *m, const char *kind, const char *name,
                         const char *sha256, long long size, int snapshot, const char *bundle,
                         long long *id, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_rc rc = RDM_OK;
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
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_fail(st, err, "registering a source");
    else
        *id = sqlite3_last_insert_rowid(store_db(st));
    sqlite3_finalize(s);
    return rc;
}

rdm_rc stg_source_landed(store *st, long long id, long long rows, long long rejected, rdm_err *err)
{
    /* a full snapshot with rows quarantined deletes nothing: a bad row's
     * key would look gone, and a typo would become a DELETE */
    char sql[200];
    snprintf(sql, sizeof sql,
             "UPDATE import_source SET rows = %lld, rejected = %lld, snapshot = snapshot AND %d "
             "WHERE id = %lld",
             rows, rejected, rejected == 0, id);
    return store_exec(st, sql, err);
}

struct stg_lander {
    store *st;
    const stg_model *m;
    long long src, rows;
    int replace;
    char path[4096];
    land_writer *w;
    keyset *ks;
};

rdm_rc stg_lander_open(store *st, const stg_model *m, long long src, int replace,
                       unsigned long long expect, stg_lander **out, rdm_err *err)
{
    stg_lander *l = calloc(1, sizeof *l);
    char dir[4096];
    rdm_rc rc;
    *out = NULL;
    if (!l)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    l->st = st;
    l->m = m;
    l->src = src;
    l->replace = replace;
    if (!(l->ks = keyset_new(expect)))
        rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    else if (!(rc = land_path(st, src, l->path, sizeof l->path, err))) {
        if (plat_dirname(l->path, dir, sizeof dir))
            rc = rdm_fail(err, RDM_ERR_CONFIG, "%s: path too long", l->path);
        else if (!(rc = plat_mkdirs(dir, err)))
            rc = land_writer_open(l->path, m->ncols, &l->w, err);
    }
    if (rc) {
        stg_lander_close(l);
        return rc;
    }
    *out = l;
    return RDM_OK;
}

rdm_rc stg_land(stg_lander *l, const char *key, size_t klen, long line, int op, int64_t hash,
                const char *const *vals, const size_t *lens, rdm_err *err)
{
    if (keyset_see(l->ks, key, klen))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    l->rows++;
    return land_put(l->w, line, op, hash, key, klen, vals, lens, NULL, err);
}

/* The passes of keyset over the land file at path, from pass `from` (1:
 * see every key; 2: refill the filter with the run of keys in order that
 * pass 1 left out of it, when the order broke; 3: count the candidates;
 * from 2 when the keys were seen as they were written), reading into row:
 * each row whose key came before adds to *repeats and goes to fn (when
 * not NULL). */
static rdm_rc repeat_passes(const char *path, int open_end, int ncols, keyset *ks, int from,
                            land_row *row, stg_repeat_fn fn, void *ud, long long *repeats,
                            rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    for (int pass = from; pass <= 3 && !rc; pass++) {
        land_reader *r = NULL;
        long long off = 0, left = keyset_unseen(ks);
        if (pass == 2 && !left)
            continue;
        if (pass == 3 && !keyset_candidates(ks))
            break;
        if ((rc = land_reader_open(path, ncols, open_end, &r, err)))
            return rc;
        while (!(rc = land_next(r, row, &off, err))) {
            long again, first;
            if (pass < 3) {
                if ((pass == 1 ? keyset_see : keyset_refill)(ks, row->key, row->klen)) {
                    rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
                    break;
                }
                if (pass == 2 && --left == 0)
                    break;
                continue;
            }
            keyset_count(ks, row->key, row->klen, row->line, off, &again, &first);
            if (again) {
                ++*repeats;
                if (fn && (rc = fn(ud, row, first, err)))
                    break;
            }
        }
        if (rc == RDM_ERR_NOT_FOUND)
            rc = RDM_OK;
        land_reader_close(r);
    }
    return rc;
}

rdm_rc stg_lander_repeats(stg_lander *l, stg_repeat_fn fn, void *ud, long long *repeats,
                          rdm_err *err)
{
    land_row *row = NULL;
    char tmp[4200];
    rdm_rc rc;
    *repeats = 0;
    if (!keyset_candidates(l->ks) && !keyset_unseen(l->ks))
        return RDM_OK;
    /* the second pass reads back what was written */
    snprintf(tmp, sizeof tmp, "%s.tmp", l->path);
    if ((rc = land_writer_flush(l->w, err)))
        return rc;
    if (!(row = malloc(sizeof *row)))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    rc =
        repeat_passes(tmp, 1, l->m->ncols, l->ks, 2, row, l->replace ? NULL : fn, ud, repeats, err);
    free(row);
    return rc;
}

rdm_rc stg_lander_finish(stg_lander *l, rdm_err *err)
{
    land_writer *w = l->w;
    char sql[160];
    l->w = NULL;
    rdm_rc rc = land_writer_commit(w, err);
    if (rc || !keyset_repeated(l->ks))
        return rc;
    /* collect keeps one row of each repeated key: the last of a change
     * log, the first of a dump whose repeats were quarantined */
    snprintf(sql, sizeof sql, "UPDATE import_source SET repeats = %d WHERE id = %lld",
             l->replace ? 2 : 1, l->src);
    return store_exec(l->st, sql, err);
}

void stg_lander_close(stg_lander *l)
{
    if (!l)
        return;
    land_writer_abort(l->w);
    keyset_free(l->ks);
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
    rdm_rc rc;
    if ((rc = store_cached(st,
                           "UPDATE counter SET value = value + 1 WHERE name = 'change' "
                           "RETURNING value",
                           &s, err)))
        return rc;
    if (sqlite3_step(s) == SQLITE_ROW)
        *chg = sqlite3_column_int64(s, 0);
    else
        rc = store_fail(st, err, "taking a change number");
    store_done(st, s);
    return rc;
}

/* ---- collect ---- */
/* Phases of a source (import_source.phase) and its position (last_k): the
 * offset of the next landed row, or the last staged rowid checked for
 * deletion. */
enum { PH_LANDED = 0, PH_UPSERT = 1, PH_DELETE = 2, PH_DONE = 3 };

enum {
    Q_POS,     /* phase, position, snapshot, repeats of the source */
    Q_FIND,    /* rowid, hash, op, substage of a staged key */
    Q_INSERT,  /* a new key: CREATE */
    Q_UPDATE,  /* new content (UPDATE), or a deleted key back (CREATE) */
    Q_DELETE,  /* a staged row: DELETE */
    Q_SCAN,    /* delete phase: live staged rows after a rowid */
    Q_LIVE,    /* live staged rows of the model, as counted */
    Q_LIVEADD, /* ... changed by a chunk */
    Q_LIVESET, /* ... as a snapshot's delete phase leaves them */
    Q_FIRST,   /* the first finished sub-stage of this source */
    Q_SETPOS,  /* phase, position */
    Q_N
};

struct stg_collector {
    store *st;
    const stg_model *m;
    long long src;
    char path[4096], live_name[160];
    int snapshot, repeats, primed;
    int guess_new; /* the last key was new: insert first, look up on a conflict */
    int by_rowid;  /* the key is the rowid (else the unique index on "rdm:k") */
    land_reader *r;
    land_row *row;
    keyset *ks;     /* repeated keys, when the source has some */
    uint64_t *seen; /* snapshot: staged rowids the source holds, below SEEN_BITS */
    size_t seen_words;
    sqlite3_stmt *far_put, *far_get; /* ... and from SEEN_BITS on: temp."rdm:seen" */
    long long nseen;                 /* rowids seen */
    long long first_sub;             /* 0 until a sub-stage of this source finished */
    int missing;                     /* open_reader found no land file */
    sqlite3_stmt *q[Q_N];
};

void stg_collector_close(stg_collector *c)
{
    if (!c)
        return;
    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(c->q[i]);
    sqlite3_finalize(c->far_put);
    sqlite3_finalize(c->far_get);
    land_reader_close(c->r);
    keyset_free(c->ks);
    free(c->row);
    free(c->seen);
    free(c);
}

static rdm_rc open_reader(stg_collector *c, rdm_err *err)
{
    land_reader_close(c->r);
    c->r = NULL;
    rdm_rc rc = land_reader_open(c->path, c->m->ncols, 0, &c->r, err);
    if (rc == RDM_ERR_NOT_FOUND) {
        c->missing = 1;
        rc = rdm_fail(err, RDM_ERR_IO,
                      "source %lld (model %s): its landed rows %s are missing (deleted, or lost "
                      "to a disk fault); it was skipped, and the sources after it collected: "
                      "import the file again if its data is still current",
                      c->src, c->m->name, c->path);
    }
    return rc;
}

/* A source with repeated keys: both passes of keyset over its rows, then
 * its reader at the first row. */
static rdm_rc find_repeats(stg_collector *c, rdm_err *err)
{
    long long n = 0;
    rdm_rc rc;
    if (!(c->ks = keyset_new(0)))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    if ((rc = open_reader(c, err))) /* says what to do when the file is missing */
        return rc;
    return repeat_passes(c->path, 0, c->m->ncols, c->ks, 1, c->row, NULL, NULL, &n, err);
}

rdm_rc stg_collector_open(store *st, const stg_model *m, long long src, stg_collector **out,
                          rdm_err *err)
{
    stg_collector *c = calloc(1, sizeof *c);
    rdm_buf b;
    rdm_rc rc = RDM_OK;
    char stg[96];

    *out = NULL;
    if (!c || !(c->row = malloc(sizeof *c->row))) {
        free(c);
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    c->st = st;
    c->m = m;
    c->src = src;
    snprintf(stg, sizeof stg, "\"rdm:stg:%s\"", m->name);
    snprintf(c->live_name, sizeof c->live_name, "live:%s", m->name);
    buf_init(&b, SQL_MAX);
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
    PREP(Q_POS,
         "SELECT phase, coalesce(last_k, ''), snapshot, coalesce(repeats, 0) FROM import_source "
         "WHERE id = %lld",
         src);
    /* a table keyed by the rowid has no index on "rdm:k" (stg_model_ensure) */
    if (!rc) {
        sqlite3_stmt *s = NULL;
        char ix[120];
        snprintf(ix, sizeof ix, "rdm:stg:%s:k", m->name);
        if (!(rc = store_prepare(st, "SELECT count(*) FROM sqlite_master WHERE name = ?1", &s,
                                 err))) {
            sqlite3_bind_text(s, 1, ix, -1, SQLITE_STATIC);
            c->by_rowid = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) == 0;
            sqlite3_finalize(s);
        }
        if (!rc && c->by_rowid && !m->rowid_key)
            rc = rdm_fail(err, RDM_ERR_CONFIG,
                          "model %s: the store keeps its rows by an integer key, the profile "
                          "now has another key; a changed model needs its staged data rebuilt",
                          m->name);
    }
    PREP(Q_FIND,
         "SELECT rowid, \"rdm:h\", \"rdm:op\", coalesce(\"rdm:substage\", 0) FROM %s WHERE "
         "%s = ?1",
         stg, c->by_rowid ? "rowid" : "\"rdm:k\"");
    /* ?1 key, ?2 hash, ?3 chg, ?4 substage, ?5 now, then the columns (and
     * the rowid) */
    if (!rc) {
        buf_reset(&b);
        rc = buf_addf(&b,
                      "INSERT%s INTO %s(\"rdm:k\", \"rdm:h\", \"rdm:op\", \"rdm:chg\", "
                      "\"rdm:substage\", \"rdm:created\", \"rdm:modified\"",
                      c->by_rowid ? " OR IGNORE" : "", stg);
        if (!rc)
            rc = cols_list(&b, m, NULL);
        if (!rc && c->by_rowid)
            rc = buf_adds(&b, ", rowid");
        if (!rc)
            rc = buf_adds(&b, ") VALUES (?1, ?2, 1, ?3, ?4, ?5, ?5");
        for (int i = 0; i < m->ncols && !rc; i++)
            rc = buf_addf(&b, ", ?%d", 6 + i);
        if (!rc && c->by_rowid)
            rc = buf_addf(&b, ", ?%d", 6 + m->ncols);
        if (!rc)
            rc = buf_adds(&b, c->by_rowid ? ")" : ") ON CONFLICT(\"rdm:k\") DO NOTHING");
        rc = rc ? oom(err) : store_prepare(st, b.p, &c->q[Q_INSERT], err);
    }
    /* ?1 op, ?2 hash, ?3 chg, ?4 substage, ?5 now, the columns, the rowid */
    if (!rc) {
        buf_reset(&b);
        rc = buf_addf(&b,
                      "UPDATE %s SET \"rdm:op\" = ?1, \"rdm:h\" = ?2, \"rdm:chg\" = ?3, "
                      "\"rdm:substage\" = ?4, \"rdm:modified\" = ?5",
                      stg);
        for (int i = 0; i < m->ncols && !rc; i++)
            rc = buf_addf(&b, ", \"%s\" = ?%d", m->cols[i], 6 + i);
        if (!rc)
            rc = buf_addf(&b, " WHERE rowid = ?%d", 6 + m->ncols);
        rc = rc ? oom(err) : store_prepare(st, b.p, &c->q[Q_UPDATE], err);
    }
    PREP(Q_DELETE,
         "UPDATE %s SET \"rdm:op\" = 3, \"rdm:chg\" = ?1, \"rdm:substage\" = ?2, "
         "\"rdm:modified\" = ?3 WHERE rowid = ?4",
         stg);
    PREP(Q_SCAN, "SELECT rowid FROM %s WHERE rowid >= ?1 AND \"rdm:op\" != 3 ORDER BY rowid", stg);
    PREP(Q_LIVE, "SELECT coalesce((SELECT value FROM counter WHERE name = ?1), -1)");
    PREP(Q_LIVEADD, "UPDATE counter SET value = value + ?2 WHERE name = ?1");
    PREP(Q_LIVESET, "INSERT OR REPLACE INTO counter(name, value) VALUES (?1, ?2)");
    PREP(Q_FIRST,
         "SELECT coalesce(min(id), 0) FROM collect_substage WHERE source_id = %lld AND status = "
         "'READY_TO_EXPORT'",
         src);
    PREP(Q_SETPOS,
         "UPDATE import_source SET phase = ?1, last_k = ?2, collected_at = CASE WHEN ?1 = 3 "
         "THEN strftime('%%s') END WHERE id = %lld",
         src);
#undef PREP
    buf_free(&b);
    if (!rc)
        rc = land_path(st, src, c->path, sizeof c->path, err);
    if (rc) {
        stg_collector_close(c);
        return rc;
    }
    *out = c;
    return RDM_OK;
}

/* Runs a statement that returns one integer (0 when no row). */
static rdm_rc one(stg_collector *c, sqlite3_stmt *s, long long *num, rdm_err *err)
{
    int r = sqlite3_step(s);
    *num = 0;
    if (r == SQLITE_ROW) {
        *num = sqlite3_column_int64(s, 0);
        r = sqlite3_step(s);
    }
    sqlite3_reset(s);
    if (r != SQLITE_DONE)
        return store_fail(c->st, err, "collecting");
    return RDM_OK;
}

static rdm_rc set_pos(stg_collector *c, int phase, long long pos, rdm_err *err)
{
    sqlite3_stmt *s = c->q[Q_SETPOS];
    char t[32];
    snprintf(t, sizeof t, "%lld", pos);
    sqlite3_bind_int(s, 1, phase);
    if (phase == PH_DONE)
        sqlite3_bind_null(s, 2);
    else
        sqlite3_bind_text(s, 2, t, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    return r == SQLITE_DONE ? RDM_OK : store_fail(c->st, err, "saving the collect position");
}

/* Rowids from 0 to below this are kept in a bitmap (at most 16 MiB); the
 * others (a model kept by large, sparse or negative integer keys: a key of
 * 4,000,000,000 would want 500 MB of bits) in a temporary table, emptied
 * when the collector first needs it. */
#define SEEN_BITS (1LL << 27)

static rdm_rc run(sqlite3_stmt *s);

static rdm_rc see_far(stg_collector *c, long long rowid, rdm_err *err)
{
    rdm_rc rc;
    if (!c->far_put &&
        ((rc = store_exec(c->st,
                          "CREATE TEMP TABLE IF NOT EXISTS \"rdm:seen\"(id INTEGER PRIMARY KEY); "
                          "DELETE FROM temp.\"rdm:seen\"",
                          err)) ||
         (rc = store_prepare(c->st, "INSERT OR IGNORE INTO temp.\"rdm:seen\"(id) VALUES (?1)",
                             &c->far_put, err)) ||
         (rc = store_prepare(c->st, "SELECT 1 FROM temp.\"rdm:seen\" WHERE id = ?1", &c->far_get,
                             err))))
        return rc;
    sqlite3_bind_int64(c->far_put, 1, rowid);
    if (run(c->far_put))
        return store_fail(c->st, err, "noting a staged row the snapshot holds");
    c->nseen += sqlite3_changes(store_db(c->st));
    return RDM_OK;
}

/* Marks rowid as held by the snapshot. */
static rdm_rc see(stg_collector *c, long long rowid, rdm_err *err)
{
    size_t w = (size_t)(rowid >> 6);
    if (rowid < 0 || rowid >= SEEN_BITS)
        return see_far(c, rowid, err);
    if (w >= c->seen_words) {
        size_t n = c->seen_words ? c->seen_words : 1024;
        while (n <= w)
            n *= 2;
        uint64_t *p = realloc(c->seen, n * sizeof *p);
        if (!p)
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        memset(p + c->seen_words, 0, (n - c->seen_words) * sizeof *p);
        c->seen = p;
        c->seen_words = n;
    }
    uint64_t bit = 1ull << (rowid & 63);
    if (!(c->seen[w] & bit)) {
        c->seen[w] |= bit;
        c->nseen++;
    }
    return RDM_OK;
}

/* 1 when the snapshot holds the staged row, 0 when not, -1 on a store
 * error. */
static int seen(stg_collector *c, long long rowid)
{
    size_t w = (size_t)(rowid >> 6);
    if (rowid >= 0 && rowid < SEEN_BITS)
        return w < c->seen_words && (c->seen[w] >> (rowid & 63)) & 1;
    if (!c->far_get)
        return 0;
    sqlite3_bind_int64(c->far_get, 1, rowid);
    int r = sqlite3_step(c->far_get);
    sqlite3_reset(c->far_get);
    return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

/* Looks a key up: RDM_OK with *found, and when found its *rowid, hash,
 * op and sub-stage. (0 is a rowid like any other: a model keyed by one
 * integer keeps key 0 there.) */
static rdm_rc find(stg_collector *c, const land_row *row, long long id, int *found,
                   long long *rowid, int64_t *h, int *op, long long *sub, rdm_err *err)
{
    sqlite3_stmt *s = c->q[Q_FIND];
    if (c->by_rowid)
        sqlite3_bind_int64(s, 1, id);
    else
        sqlite3_bind_text(s, 1, row->key, (int)row->klen, SQLITE_STATIC);
    int r = sqlite3_step(s);
    *rowid = 0;
    *found = r == SQLITE_ROW;
    if (r == SQLITE_ROW) {
        *rowid = sqlite3_column_int64(s, 0);
        *h = sqlite3_column_int64(s, 1);
        *op = sqlite3_column_int(s, 2);
        *sub = sqlite3_column_int64(s, 3);
        r = sqlite3_step(s);
    }
    sqlite3_reset(s);
    return r == SQLITE_DONE ? RDM_OK : store_fail(c->st, err, "looking up a staged row");
}

/* The rowid a landed key stands for (a model keyed by one integer). */
static rdm_rc key_id(stg_collector *c, const land_row *row, long long *id, rdm_err *err)
{
    *id = 0;
    if (!c->by_rowid || text_int64(row->key, row->klen, id))
        return RDM_OK;
    return rdm_fail(err, RDM_ERR_PARSE, "line %ld: key '%.*s' is not a 64-bit integer", row->line,
                    (int)(row->klen > 60 ? 60 : row->klen), row->key);
}

static void bind_cols(sqlite3_stmt *s, const land_row *row, int first)
{
    for (int i = 0; i < row->ncols; i++) {
        if (row->vals[i])
            sqlite3_bind_text(s, first + i, row->vals[i], (int)row->lens[i], SQLITE_STATIC);
        else
            sqlite3_bind_null(s, first + i);
    }
}

static rdm_rc run(sqlite3_stmt *s)
{
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    return r == SQLITE_DONE ? RDM_OK : RDM_ERR_STORE;
}

static rdm_rc del(stg_collector *c, long long rowid, long long chg, long long sub, long long now,
                  rdm_err *err)
{
    sqlite3_stmt *s = c->q[Q_DELETE];
    sqlite3_bind_int64(s, 1, chg);
    sqlite3_bind_int64(s, 2, sub);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, rowid);
    return run(s) ? store_fail(c->st, err, "marking a staged row deleted") : RDM_OK;
}

/* Inserts a row whose key is not staged yet: 1 when it was, 0 when the
 * key is staged after all (nothing done). */
static int insert(stg_collector *c, const land_row *row, long long id, long long chg, long long sub,
                  long long now, long long *rowid, rdm_err *err)
{
    sqlite3_stmt *s = c->q[Q_INSERT];
    if (c->by_rowid)
        sqlite3_bind_int64(s, 6 + row->ncols, id);
    sqlite3_bind_text(s, 1, row->key, (int)row->klen, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, row->hash);
    sqlite3_bind_int64(s, 3, chg);
    sqlite3_bind_int64(s, 4, sub);
    sqlite3_bind_int64(s, 5, now);
    bind_cols(s, row, 6);
    if (run(s)) {
        store_fail(c->st, err, "staging a new row");
        return -1;
    }
    if (!sqlite3_changes(store_db(c->st)))
        return 0;
    *rowid = sqlite3_last_insert_rowid(store_db(c->st));
    return 1;
}

/* Applies one landed row. *live gets the change of live rows. A run of
 * new keys (a first load) costs one statement a row, a run of known ones
 * (a snapshot again) a lookup and, when changed, an update. */
static rdm_rc apply(stg_collector *c, const land_row *row, long long chg, long long sub,
                    long long now, stg_chunk *out, long long *live, rdm_err *err)
{
    long long rowid = 0, was_sub = 0, id;
    int64_t h = 0;
    int op = 0, ins = 0;
    rdm_rc rc;
    if ((rc = key_id(c, row, &id, err)))
        return rc;
    if (row->op != 3 && c->guess_new) {
        if ((ins = insert(c, row, id, chg, sub, now, &rowid, err)) < 0)
            return RDM_ERR_STORE;
        c->guess_new = ins;
    }
    if (ins) {
        out->created++;
        ++*live;
        return c->snapshot ? see(c, rowid, err) : RDM_OK;
    }
    int found;
    if ((rc = find(c, row, id, &found, &rowid, &h, &op, &was_sub, err)))
        return rc;
    if (row->op == 3) { /* a landed delete */
        if (!found || op == 3)
            return RDM_OK;
        if ((rc = del(c, rowid, chg, sub, now, err)))
            return rc;
        out->deleted++;
        --*live;
        return RDM_OK;
    }
    if (!found) {
        if ((ins = insert(c, row, id, chg, sub, now, &rowid, err)) < 0)
            return RDM_ERR_STORE;
        if (!ins)
            return rdm_fail(err, RDM_ERR_INTERNAL, "key '%.*s' staged and not found",
                            (int)(row->klen > 60 ? 60 : row->klen), row->key);
        c->guess_new = 1;
        out->created++;
        ++*live;
    } else if (op == 3 || h != row->hash) {
        /* a key deleted before comes back: CREATE; new content: UPDATE,
         * unless this source created the row (a change log naming it
         * twice), which stays CREATE */
        int created_here = op == 1 && ((c->first_sub && was_sub >= c->first_sub) || was_sub == sub);
        int now_op = op == 3 || created_here ? 1 : 2;
        sqlite3_stmt *s = c->q[Q_UPDATE];
        sqlite3_bind_int(s, 1, now_op);
        sqlite3_bind_int64(s, 2, row->hash);
        sqlite3_bind_int64(s, 3, chg);
        sqlite3_bind_int64(s, 4, sub);
        sqlite3_bind_int64(s, 5, now);
        bind_cols(s, row, 6);
        sqlite3_bind_int64(s, 6 + row->ncols, rowid);
        if (run(s))
            return store_fail(c->st, err, "updating a staged row");
        if (op == 3) {
            out->created++;
            ++*live;
        } else if (now_op == 2) {
            out->updated++;
        }
    }
    return c->snapshot ? see(c, rowid, err) : RDM_OK;
}

/* After a restart: reads the rows applied before pos again, only to learn
 * which staged rows the snapshot holds. */
static rdm_rc prime(stg_collector *c, long long pos, rdm_err *err)
{
    long long off = 0, rowid, sub;
    int64_t h;
    int op, found;
    rdm_rc rc;
    if ((rc = c->repeats ? find_repeats(c, err) : open_reader(c, err)))
        return rc;
    while (land_reader_offset(c->r) < pos) {
        if ((rc = land_next(c->r, c->row, &off, err))) {
            if (rc == RDM_ERR_NOT_FOUND && pos == LLONG_MAX)
                break;
            return rc == RDM_ERR_NOT_FOUND
                       ? rdm_fail(err, RDM_ERR_IO, "%s: shorter than its collect position %lld",
                                  c->path, pos)
                       : rc;
        }
        if (!c->snapshot || c->row->op == 3 ||
            (c->ks && keyset_repeat(c->ks, c->row->key, c->row->klen, off, c->repeats == 2)))
            continue;
        long long id;
        if ((rc = key_id(c, c->row, &id, err)) ||
            (rc = find(c, c->row, id, &found, &rowid, &h, &op, &sub, err)) ||
            (found && (rc = see(c, rowid, err))))
            return rc;
    }
    c->primed = 1;
    return RDM_OK;
}

static rdm_rc live_add(stg_collector *c, long long delta, rdm_err *err)
{
    sqlite3_stmt *s = c->q[Q_LIVEADD];
    if (!delta)
        return RDM_OK;
    sqlite3_bind_text(s, 1, c->live_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, delta);
    return run(s) ? store_fail(c->st, err, "counting staged rows") : RDM_OK;
}

/* A source whose rows cannot be read (why: rc and err; its land file is
 * missing, or damaged: RDM_ERR_PARSE) is ended, in the caller's
 * transaction, with no checksum, so that the same file may be imported
 * again and the sources after it are not held up for ever; err says so,
 * and the caller reports it (out->lost). */
static rdm_rc end_unread(stg_collector *c, rdm_rc rc, long long now, stg_chunk *out, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    if (rc == RDM_ERR_PARSE) {
        char why[RDM_ERR_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        rdm_fail(err, RDM_ERR_IO,
                 "source %lld (model %s): %s. It was ended there, and the sources after it "
                 "collected: import the file again if its data is still current",
                 c->src, c->m->name, why);
    }
    if (store_prepare(c->st,
                      "UPDATE import_source SET phase = 3, last_k = NULL, sha256 = NULL, "
                      "collected_at = ?2 WHERE id = ?1",
                      &s, NULL))
        return rc;
    sqlite3_bind_int64(s, 1, c->src);
    sqlite3_bind_int64(s, 2, now);
    int r = sqlite3_step(s);
    sqlite3_finalize(s);
    if (r != SQLITE_DONE)
        return rc;
    out->done = out->lost = 1;
    return RDM_OK;
}

rdm_rc stg_collector_chunk(stg_collector *c, int limit, long long chg, long long substage,
                           long long now, stg_chunk *out, rdm_err *err)
{
    long long phase, pos, live = 0, off = 0;
    rdm_rc rc = RDM_OK;

    memset(out, 0, sizeof *out);
    sqlite3_stmt *p = c->q[Q_POS];
    if (sqlite3_step(p) != SQLITE_ROW) {
        sqlite3_reset(p);
        return store_fail(c->st, err, "reading the collect position");
    }
    phase = sqlite3_column_int64(p, 0);
    pos = atoll((const char *)sqlite3_column_text(p, 1));
    c->snapshot = sqlite3_column_int(p, 2);
    c->repeats = sqlite3_column_int(p, 3);
    sqlite3_reset(p);
    if (phase == PH_LANDED) {
        phase = PH_UPSERT;
        pos = 0;
    }
    if (!c->first_sub && (rc = one(c, c->q[Q_FIRST], &c->first_sub, err)))
        return rc;
    /* the rows before the position, once per run (all of them in the
     * delete phase, to know what the snapshot holds) */
    if (!c->primed && (rc = prime(c, phase == PH_UPSERT ? pos : LLONG_MAX, err)))
        return c->missing || rc == RDM_ERR_PARSE ? end_unread(c, rc, now, out, err) : rc;

    if (phase == PH_UPSERT) {
        while (out->rows < limit && !(rc = land_next(c->r, c->row, &off, err))) {
            if (c->ks && keyset_repeat(c->ks, c->row->key, c->row->klen, off, c->repeats == 2))
                continue;
            out->rows++;
            if ((rc = apply(c, c->row, chg, substage, now, out, &live, err)))
                break;
        }
        if (rc == RDM_ERR_PARSE) {
            /* damaged past here: the rows before it stay applied (each
             * was whole), the snapshot deletes nothing */
            rdm_err e = *err;
            if ((rc = live_add(c, live, err)))
                return rc;
            *err = e;
            return end_unread(c, RDM_ERR_PARSE, now, out, err);
        }
        if (rc && rc != RDM_ERR_NOT_FOUND)
            return rc;
        if ((rc = live_add(c, live, err)))
            return rc;
        if (out->rows == limit) /* more may follow: the next call finds out */
            return set_pos(c, PH_UPSERT, land_reader_offset(c->r), err);
        /* all rows applied. A full snapshot deletes the keys it lacks; when
         * the live rows, as counted, are as many as the staged rows it
         * holds, there are none; otherwise a scan finds them */
        if (c->snapshot) {
            long long n = 0;
            sqlite3_bind_text(c->q[Q_LIVE], 1, c->live_name, -1, SQLITE_STATIC);
            if ((rc = one(c, c->q[Q_LIVE], &n, err)))
                return rc;
            if (n != c->nseen)
                return set_pos(c, PH_DELETE, LLONG_MIN, err);
        }
    } else if (phase == PH_DELETE) {
        /* the live rows the snapshot lacks, in rowid order; the rowids
         * first, then the updates (no update under a running scan) */
        long long *ids = malloc((size_t)limit * sizeof *ids), last = pos;
        int n = 0, r = SQLITE_DONE;
        if (!ids)
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        /* pos: the last rowid checked, LLONG_MIN before the first (a rowid
         * can be negative; checking that one again changes nothing) */
        sqlite3_stmt *s = c->q[Q_SCAN];
        sqlite3_bind_int64(s, 1, pos == LLONG_MIN || pos == LLONG_MAX ? pos : pos + 1);
        int held = 0;
        while (n < limit && (r = sqlite3_step(s)) == SQLITE_ROW) {
            last = sqlite3_column_int64(s, 0);
            if ((held = seen(c, last)) < 0)
                break;
            if (!held)
                ids[n++] = last;
        }
        int more = n == limit;
        sqlite3_reset(s);
        if (held < 0)
            rc = store_fail(c->st, err, "looking up a staged row the snapshot holds");
        else if (!more && r != SQLITE_DONE)
            rc = store_fail(c->st, err, "looking for deleted rows");
        for (int i = 0; i < n && !rc; i++)
            rc = del(c, ids[i], chg, substage, now, err);
        free(ids);
        if (!rc)
            rc = live_add(c, -n, err);
        if (rc)
            return rc;
        out->deleted = out->rows = n;
        if (more)
            return set_pos(c, PH_DELETE, last, err);
        /* the live rows are now exactly the snapshot's: the count starts
         * (or starts again) from there */
        sqlite3_stmt *ls = c->q[Q_LIVESET];
        sqlite3_bind_text(ls, 1, c->live_name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ls, 2, c->nseen);
        if (run(ls))
            return store_fail(c->st, err, "counting staged rows");
    }
    if ((rc = set_pos(c, PH_DONE, 0, err)))
        return rc;
    /* closed now, so that stg_sweep can remove it (Windows does
     * not delete an open file) */
    land_reader_close(c->r);
    c->r = NULL;
    out->done = 1;
    return RDM_OK;
}

/* One file of the land directory: removed when no source waits for it. */
typedef struct sweep_ctx {
    store *st;
    const char *dir;
    long long max;
    int removed;
} sweep_ctx;

static rdm_rc sweep_one(void *ud, const char *name, rdm_err *err)
{
    sweep_ctx *x = ud;
    char *end, path[4096];
    long long id = strtoll(name, &end, 10), phase = -1;
    sqlite3_stmt *s = NULL;
    if (end == name || (strcmp(end, ".rows") != 0 && strcmp(end, ".rows.tmp") != 0) ||
        plat_join(x->dir, name, path, sizeof path))
        return RDM_OK;
    if (id > x->max) {
        /* a source above the last committed one may be an import under
         * way; one untouched for an hour was left by an import that
         * failed or was killed after its file landed (a bundle refused
         * for a later file) */
        long long m = plat_mtime(path);
        if (m < 0 || (long long)time(NULL) - m < 3600)
            return RDM_OK;
    } else {
        if (store_prepare(x->st, "SELECT phase FROM import_source WHERE id = ?1", &s, err))
            return RDM_ERR_STORE;
        sqlite3_bind_int64(s, 1, id);
        if (sqlite3_step(s) == SQLITE_ROW)
            phase = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        if (phase >= 0 && phase < PH_DONE && strcmp(end, ".rows") == 0)
            return RDM_OK;
    }
    if (plat_remove(path, err))
        return RDM_OK;
    x->removed++;
    return RDM_OK;
}

rdm_rc stg_sweep(store *st, int *removed, rdm_err *err)
{
    char dir[4096], land[4096];
    sqlite3_stmt *s = NULL;
    sweep_ctx x = {st, land, 0, 0};
    *removed = 0;
    if (plat_dirname(store_path(st), dir, sizeof dir) || plat_join(dir, "land", land, sizeof land))
        return rdm_fail(err, RDM_ERR_CONFIG, "%s: path too long", store_path(st));
    if (!plat_exists(land))
        return RDM_OK;
    if (store_prepare(st, "SELECT coalesce(max(id), 0) FROM import_source", &s, err))
        return RDM_ERR_STORE;
    if (sqlite3_step(s) == SQLITE_ROW)
        x.max = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    rdm_rc rc = plat_listdir(land, sweep_one, &x, err);
    *removed = x.removed;
    return rc;
}
