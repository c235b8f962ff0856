/* export.c - see export.h. */
#include "export.h"
#include "../base/buf.h"
#include "../base/log.h"
#include "../base/plat.h"
#include "../base/progress.h"
#include "../base/text.h"
#include "../storage/lock.h"
#include "../storage/staging.h"
#include "efft.h"
#include "import.h"
#include "../base/sha256.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OP_CREATE = 1, OP_UPDATE = 2, OP_DELETE = 3 };
static const char *const op_name[] = {"", "create", "update", "delete"};

#define SQL_MAX (1u << 20)

/* ---- choosing entities ---- */

rdm_rc export_entities(const profile *p, const char *list, const char *what, unsigned char *sel,
                       rdm_err *err)
{
    const char *s = list ? list : "";
    int any = 0;
    memset(sel, 0, (size_t)p->nentities);
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        const char *b = s;
        while (*s && *s != ',')
            s++;
        const char *e = s;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == b)
            continue;
        int found = -1;
        for (int i = 0; i < p->nentities; i++)
            if (strlen(p->entities[i].key) == (size_t)(e - b) &&
                memcmp(p->entities[i].key, b, (size_t)(e - b)) == 0)
                found = i;
        if (found < 0) {
            char known[2048];
            size_t o = 0;
            known[0] = '\0';
            for (int i = 0; i < p->nentities && o + 1 < sizeof known; i++) {
                int w = snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "",
                                 p->entities[i].key);
                if (w < 0)
                    break;
                o += (size_t)w;
            }
            return rdm_fail(err, RDM_ERR_USAGE, "%s: unknown entity '%.*s'; the profile has: %s",
                            what, (int)(e - b), b, known);
        }
        sel[found] = 1;
        any = 1;
    }
    if (!any)
        memset(sel, 1, (size_t)p->nentities);
    return RDM_OK;
}

/* ---- one run ---- */

typedef struct file_out {
    plat_wfile *f;
    sha256_ctx sha;
    char rel[512]; /* path relative to the data directory, '/'-separated */
    long long records;
} file_out;

struct slot;

/* What the exporting thread hands to the writer: a block of records (per
 * record, the operation (1 byte), then per field a 4-byte length,
 * UINT32_MAX = NULL, and the bytes), or a marker. */
enum { BK_DATA, BK_BEGIN, BK_END, BK_ABORT, BK_QUIT };
typedef struct blk {
    int kind;
    struct slot *slot; /* markers: the chunk they belong to */
    size_t len, cap;
    char *p;
} blk;

#define NBLK     16
#define BLK_SIZE (32u * 1024)
#define NSLOT    32 /* chunks in flight, committed together */

/* One chunk (sub-stage) in flight: set by the exporting thread before its
 * BEGIN marker, written by the writer and the syncer, read back by the
 * exporting thread once the syncer hands it over (channels order it). */
typedef struct slot {
    long long sub, lc, lr, hc, hr, retry_of;
    const char *model; /* NULL: a reconciliation chunk */
    long long n_op[4];
    file_out files[4];
    unsigned long long size[4];
    char hex[4][SHA256_HEX];
    rdm_rc rc; /* the writer's or syncer's result, and why */
    rdm_err err;
    blk begin, end;
} slot;

/* An add-first record waiting for its state row: its identity (the row id,
 * or the integer key when kint, else its text key's place in pend_keys)
 * and its values' hash. */
#define PEND_MAX 64
typedef struct pend_rec {
    long long id;
    int64_t h;
    size_t koff, klen;
    int kint;
} pend_rec;

/* statements run per chunk, prepared once: see cached() */
enum {
    QC_CURSOR_SET,
    QC_LAST_FAILED,
    QC_ATTACH,
    QC_SUB_DONE,
    QC_SUB_NEW,
    QC_END_A,
    QC_END_D,
    QC_WIN,
    QC_DEL,
    QC_N
};

typedef struct exp {
    store *st; /* writes: sub-stages, attachments, cursors, state */
    store *rd; /* reads: the entity's select over temporary views */
    const profile *p;
    const rdm_config *cfg;
    const char *data_dir;
    const char *prefix;
    long long stage, upto, now;
    int limit;
    export_stats *out;
    progress pg;
    /* per entity */
    const prof_entity *e;
    efft_writer w;
    rdm_buf hdr, cap, pk, sql;
    sqlite3_stmt *q_state, *q_state_put, *q_state_add, *q_state_del, *q_sel;
    /* a record keyed entity (not byrow): the keys its select yields from
     * live rows now, built on the writing connection at the first DELETE
     * it would write (alive_has) */
    sqlite3_stmt *q_alive;
    int alive_views;
    /* byrow: records are staged rows (the generated select, keyed by the
     * model's key): the state is keyed by the row's id. fresh: the state
     * was empty when the entity's export began, so every record is new.
     * addfirst: the state is expected not to hold the records being read
     * (it was empty, and the first model's windows are read): a record is
     * added first and looked up only when it is there already. */
    int byrow, fresh, addfirst;
    /* force: re-exporting a window whose files were lost before sending:
     * every record is written whatever its hash, and records of deleted
     * rows whose key is no longer exported get their DELETE again */
    int force;
    sqlite3_int64 rid;
    int pk_int;   /* the record key is the integer pk_i (key_kind) */
    int int_keys; /* the state keeps such keys as integers (not a TEXT column) */
    long long pk_i;
    /* an add-first read's records waiting for their state rows (pend_add,
     * pend_flush): the records as queued for the writer, their text keys
     * back to back, and per record its identity and hash */
    blk pend;
    rdm_buf pend_keys;
    pend_rec pend_at[PEND_MAX];
    int npend;
    sqlite3_stmt *q_add[PEND_MAX + 1]; /* the n-row INSERT of state rows */
    char dir_rel[256];                 /* export/YYYY-MM-DD/ENTITY */
    long long mark;                    /* the window being read: its first sub-stage's id */
    /* the window being read, for a chunk that continues it (a window whose
     * records outgrow EXPORT_CHUNK_SIZE is split into several sub-stages) */
    const char *wmodel;
    long long wlc, wlr, whc, whr;
    int wopen; /* a chunk is open: its BEGIN sent, its END not yet */
    /* the cursor the next commit saves: the end of the last whole window */
    int adv_set;
    const char *adv_model;
    long long adv_hc, adv_hr;
    /* A pipeline of three threads: this one reads the store and decides
     * each record's operation; the writer formats, hashes and writes the
     * files; the syncer fsyncs and renames them. Up to NSLOT chunks are in
     * flight in one transaction, committed once all their files are
     * durable. The writer's buffers (w, cap, hdr) change only while no
     * chunk is in flight. */
    plat_thread *thr_w, *thr_s;
    plat_chan *full, *empty, *sync, *done;
    blk blks[NBLK], *cur, quit;
    slot slots[NSLOT];
    int nslot;   /* chunks in flight */
    int txn;     /* the chunks' transaction is open */
    slot *wslot; /* the writer's current chunk (writer thread only) */
    sqlite3_stmt *qc[QC_N];
} exp;

/* Statement id, prepared on db at its first use and kept for the run; the
 * caller ends each use with done_stmt(). NULL with err filled on failure. */
static sqlite3_stmt *cached(exp *x, int id, store *db, const char *sql, rdm_err *err)
{
    if (!x->qc[id] && sqlite3_prepare_v3(store_db(db), sql, -1, SQLITE_PREPARE_PERSISTENT,
                                         &x->qc[id], NULL) != SQLITE_OK) {
        store_fail(db, err, "preparing an export statement");
        return NULL;
    }
    return x->qc[id];
}

static void done_stmt(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static void uncache(exp *x, int id)
{
    sqlite3_finalize(x->qc[id]);
    x->qc[id] = NULL;
}

/* Captures what the ЕФТТ writer emits (the header, then "\n" + one line). */
static rdm_rc capture(void *ud, const char *data, size_t len, rdm_err *err)
{
    if (buf_add((rdm_buf *)ud, data, len))
        return rdm_fail(err, RDM_ERR_NOMEM, "a record is larger than the writer's limit");
    return RDM_OK;
}

static rdm_rc abs_path(const exp *x, const char *rel, char *buf, size_t n, rdm_err *err)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", rel);
    if (PLAT_SEP != '/')
        for (char *c = tmp; *c; c++)
            if (*c == '/')
                *c = PLAT_SEP;
    if (plat_join(x->data_dir, tmp, buf, n))
        return rdm_fail(err, RDM_ERR_CONFIG, "[agent] DATA_DIR is too long");
    return RDM_OK;
}

/* Abandons a chunk's files: temporary ones and renamed ones alike. */
static void drop_files(exp *x, slot *sl)
{
    for (int op = 1; op <= 3; op++) {
        file_out *fo = &sl->files[op];
        if (fo->f) {
            plat_wabort(fo->f);
            fo->f = NULL;
        } else if (fo->rel[0]) {
            char path[4096];
            rdm_err e2;
            if (!abs_path(x, fo->rel, path, sizeof path, &e2))
                plat_remove(path, &e2);
        }
        fo->rel[0] = '\0';
        fo->records = 0;
    }
}

/* Appends one formatted line (in x->cap: "\n" + fields) to the op's file,
 * creating the file with the header first. */
static rdm_rc put_line(exp *x, slot *sl, int op, rdm_err *err)
{
    file_out *fo = &sl->files[op];
    rdm_rc rc;
    if (!fo->f) {
        char path[4096];
        snprintf(fo->rel, sizeof fo->rel, "%s/%06lld.%s.rdm_%s.csv", x->dir_rel, sl->sub,
                 op_name[op], x->e->table);
        if ((rc = abs_path(x, fo->rel, path, sizeof path, err)) ||
            (rc = plat_wopen(path, &fo->f, err))) {
            fo->rel[0] = '\0';
            return rc;
        }
        sha256_init(&fo->sha);
        sha256_update(&fo->sha, x->hdr.p, x->hdr.len);
        if ((rc = plat_write(fo->f, x->hdr.p, x->hdr.len, err)))
            return rc;
    }
    sha256_update(&fo->sha, x->cap.p, x->cap.len);
    fo->records++;
    return plat_write(fo->f, x->cap.p, x->cap.len, err);
}

static size_t int_text(sqlite3_int64 n, char *out);

/* Sets x->pk_int when the record key (x->pk) is one field whose text is an
 * integer as SQLite writes it (no '+', no leading zero, no "-0"): such a
 * key is kept as that integer, which the state's index stores and compares
 * faster than text; every other key is kept as its text. The two never
 * meet: an integer's text is never kept as text. A state table made before
 * keys could be integers (its pk a TEXT column) keeps every key as text
 * (x->int_keys 0). */
static void key_kind(exp *x)
{
    char t[24];
    x->pk_int = x->int_keys && x->e->npk == 1 && text_int64(x->pk.p, x->pk.len, &x->pk_i) &&
                int_text(x->pk_i, t) == x->pk.len && memcmp(t, x->pk.p, x->pk.len) == 0;
}

/* The record key: the primary-key values as selected, joined by U+001F. */
static rdm_rc record_pk(exp *x, const efft_val *v, rdm_err *err)
{
    buf_reset(&x->pk);
    for (int k = 0; k < x->e->npk; k++) {
        efft_val f = v[x->e->pk[k]];
        if ((k && buf_addc(&x->pk, '\x1f')) || (f.s && buf_add(&x->pk, f.s, f.len)))
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    if (!x->pk.p && buf_addc(&x->pk, '\0'))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    key_kind(x);
    return RDM_OK;
}

/* Binds the record's identity (row id, or key: see key_kind) as parameter
 * 1. */
static void bind_id(exp *x, sqlite3_stmt *s)
{
    if (x->byrow)
        sqlite3_bind_int64(s, 1, x->rid);
    else if (x->pk_int)
        sqlite3_bind_int64(s, 1, x->pk_i);
    else
        sqlite3_bind_text(s, 1, x->pk.p, (int)x->pk.len, SQLITE_STATIC);
}

/* What was last exported under the key: RDM_OK with *h and *sub, or
 * RDM_ERR_NOT_FOUND. */
static rdm_rc state_get(exp *x, int64_t *h, long long *sub, rdm_err *err)
{
    sqlite3_stmt *s = x->q_state;
    bind_id(x, s);
    int r = sqlite3_step(s);
    rdm_rc rc = RDM_ERR_NOT_FOUND;
    if (r == SQLITE_ROW) {
        *h = sqlite3_column_int64(s, 0);
        *sub = sqlite3_column_int64(s, 1);
        rc = RDM_OK;
        r = sqlite3_step(s);
    }
    sqlite3_reset(s);
    if (r != SQLITE_DONE)
        return store_fail(x->st, err, "reading the exported records");
    return rc;
}

/* Records the key as exported with hash h by this sub-stage (which also
 * marks it selected live in this chunk), by s: q_state_put (insert or
 * replace), or q_state_add (insert unless held: *added says which). */
static rdm_rc state_put(exp *x, sqlite3_stmt *s, int64_t h, int *added, rdm_err *err)
{
    bind_id(x, s);
    sqlite3_bind_int64(s, 2, h);
    sqlite3_bind_int64(s, 3, x->mark);
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    if (added)
        *added = sqlite3_changes(store_db(x->st)) > 0;
    return r == SQLITE_DONE ? RDM_OK : store_fail(x->st, err, "recording an exported record");
}

static rdm_rc state_del(exp *x, rdm_err *err)
{
    sqlite3_stmt *s = x->q_state_del;
    bind_id(x, s);
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    return r == SQLITE_DONE ? RDM_OK : store_fail(x->st, err, "recording an exported deletion");
}

/* Hash of a record's values as selected (what decides UPDATE or nothing). */
static int64_t values_hash(const efft_val *v, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < n; i++) {
        h ^= v[i].s ? 1u : 2u;
        h *= 0x100000001b3ULL;
        for (size_t k = 0; v[i].s && k < v[i].len; k++) {
            h ^= (unsigned char)v[i].s[k];
            h *= 0x100000001b3ULL;
        }
        h ^= 0xFF;
        h *= 0x100000001b3ULL;
    }
    return (int64_t)h;
}

/* Writes n in decimal into out (at least 21 bytes); returns the length. */
static size_t int_text(sqlite3_int64 n, char *out)
{
    char tmp[24];
    size_t k = 0, len = 0;
    unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (n < 0)
        out[len++] = '-';
    while (k)
        out[len++] = tmp[--k];
    return len;
}

/* Reads a selected row's first n columns into v (pointers into the
 * statement's row, or into nums for integers, written without SQLite's
 * text conversion); valid until the next step. Pass and reconciliation
 * read rows alike, so a record's key text is the same in both. */
static void row_values(sqlite3_stmt *s, int n, efft_val *v, char (*nums)[24])
{
    for (int i = 0; i < n; i++) {
        if (sqlite3_column_type(s, i) == SQLITE_INTEGER) {
            v[i].s = nums[i];
            v[i].len = int_text(sqlite3_column_int64(s, i), nums[i]);
            continue;
        }
        v[i].s = (const char *)sqlite3_column_text(s, i);
        v[i].len = (size_t)sqlite3_column_bytes(s, i);
    }
}

/* A record as queued for the writer: the operation (1 byte), then per
 * field a 4-byte length (UINT32_MAX = NULL) and the bytes. rec_size() is
 * its length, rec_put() writes it at o and returns its end, rec_get()
 * reads one at p into v (pointers into p) and returns its end. */
static size_t rec_size(const efft_val *v, int n)
{
    size_t need = 1;
    for (int i = 0; i < n; i++)
        need += 4 + (v[i].s ? v[i].len : 0);
    return need;
}

static char *rec_put(char *o, int op, const efft_val *v, int n)
{
    *o++ = (char)op;
    for (int i = 0; i < n; i++) {
        uint32_t len = v[i].s ? (uint32_t)v[i].len : UINT32_MAX;
        memcpy(o, &len, 4);
        o += 4;
        if (v[i].s) {
            memcpy(o, v[i].s, v[i].len);
            o += v[i].len;
        }
    }
    return o;
}

static const char *rec_get(const char *p, int *op, efft_val *v, int n)
{
    *op = *p++;
    for (int i = 0; i < n; i++) {
        uint32_t len;
        memcpy(&len, p, 4);
        p += 4;
        if (len == UINT32_MAX) {
            v[i].s = NULL;
            v[i].len = 0;
        } else {
            v[i].s = p;
            v[i].len = len;
            p += len;
        }
    }
    return p;
}

static rdm_rc chunk_open(exp *x, const char *model, long long lc, long long lr, long long hc,
                         long long hr, long long retry_of, rdm_err *err);
static void chunk_close(exp *x, int abort);
static rdm_rc settle(exp *x, rdm_rc fail, rdm_err *err);

/* How many records the chunk being read can still take, into *room: when
 * it holds EXPORT_CHUNK_SIZE already, the window goes on in a new chunk
 * (the chunks in flight settled first when NSLOT are). A caller that
 * writes a record's state before queueing the record calls it first, so
 * that a split never commits that state ahead of the record's file. */
static rdm_rc make_room(exp *x, long *room, rdm_err *err)
{
    slot *sl = &x->slots[x->nslot - 1];
    long held = (long)(sl->n_op[1] + sl->n_op[2] + sl->n_op[3]);
    rdm_rc rc;
    *room = LONG_MAX; /* a reconciliation chunk: its caller bounds it */
    if (!x->wmodel)
        return RDM_OK;
    *room = x->limit - held;
    if (held < x->limit)
        return RDM_OK;
    chunk_close(x, 0);
    if ((x->nslot == NSLOT && (rc = settle(x, RDM_OK, err))) ||
        (rc = chunk_open(x, x->wmodel, x->wlc, x->wlr, x->whc, x->whr, 0, err)))
        return rc;
    *room = x->limit;
    return RDM_OK;
}

/* Queues one record for the writer. */
static rdm_rc emit(exp *x, int op, const efft_val *v, rdm_err *err)
{
    long room;
    rdm_rc rc = make_room(x, &room, err);
    if (rc)
        return rc;
    size_t need = rec_size(v, x->e->nfields);
    blk *b = x->cur;
    if (b->len + need > b->cap && b->len) {
        plat_chan_put(x->full, b);
        b = x->cur = plat_chan_get(x->empty);
    }
    if (need > b->cap) {
        char *np = realloc(b->p, need);
        if (!np)
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory for a record of %zu bytes", need);
        b->p = np;
        b->cap = need;
    }
    rec_put(b->p + b->len, op, v, x->e->nfields);
    b->len += need;
    x->slots[x->nslot - 1].n_op[op]++;
    return RDM_OK;
}

/* The state's answer for a live record (its identity in x->rid or x->pk,
 * h its values' hash): CREATE, UPDATE or nothing, and the state to match. */
static rdm_rc live_record(exp *x, const efft_val *v, int64_t h, rdm_err *err)
{
    int64_t h_old = 0;
    long long sub_old = 0;
    rdm_rc rc;
    if (x->addfirst && !x->force) {
        long room;
        int added;
        if ((rc = make_room(x, &room, err)) || (rc = state_put(x, x->q_state_add, h, &added, err)))
            return rc;
        if (added)
            return emit(x, OP_CREATE, v, err);
    }
    rc = state_get(x, &h_old, &sub_old, err);
    if (rc && rc != RDM_ERR_NOT_FOUND)
        return rc;
    int known = rc == RDM_OK;
    if (known && sub_old == x->mark) {
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(x->pk.len > 200 ? 200 : x->pk.len), x->pk.p);
        for (char *c = key; *c; c++)
            if (*c == '\x1f')
                *c = ',';
        return rdm_fail(err, RDM_ERR_PARSE,
                        "entity %s: its select returns the record key (%s) twice in one "
                        "chunk; the primary key must identify one record: fix the profile's "
                        "select or primary_key",
                        x->e->key, key);
    }
    if (!(known && h == h_old && !x->force) &&
        (rc = emit(x, known ? OP_UPDATE : OP_CREATE, v, err)))
        return rc;
    return state_put(x, x->q_state_put, h, NULL, err);
}

/* Puts the record key of every row sel yields (run to its end, not
 * reset; sel runs on connection sel_on) into a temporary table of keys
 * through ins; count: the rows go to the run's count of rows read. */
static rdm_rc gather_keys(exp *x, sqlite3_stmt *sel, store *sel_on, sqlite3_stmt *ins, int count,
                          rdm_err *err)
{
    efft_val v[PROF_MAX_FIELDS];
    char nums[PROF_MAX_FIELDS][24];
    rdm_rc rc;
    int r;
    while ((r = sqlite3_step(sel)) == SQLITE_ROW) {
        x->out->rows += count;
        row_values(sel, x->e->nfields, v, nums);
        if ((rc = record_pk(x, v, err)))
            return rc;
        bind_id(x, ins);
        int ri = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (ri != SQLITE_DONE)
            return store_fail(x->st, err, "gathering the entity's live records");
    }
    return r == SQLITE_DONE ? RDM_OK : store_fail(sel_on, err, "selecting the entity's records");
}

static rdm_rc make_views(exp *x, store *on, const prof_model *drive, int live_only, rdm_err *err);

/* Whether the entity's select yields the current record key (x->pk)
 * from live rows now, in *yes. A record selected from a deleted row may
 * still be yielded by another, live one (its key moved to another row; a
 * join or EXISTS still met through another row), perhaps outside the
 * window: it must not be deleted. The keys are gathered once per entity
 * export, at the first question, into temp."rdm:alive" on the writing
 * connection (its own views: the window's stay on the reading one). */
static rdm_rc alive_has(exp *x, int *yes, rdm_err *err)
{
    const prof_entity *e = x->e;
    rdm_rc rc = RDM_OK;
    *yes = 0;
    if (!x->q_alive) {
        /* the record being asked about: kept across the gathering */
        rdm_buf pk;
        int pk_int = x->pk_int;
        long long pk_i = x->pk_i;
        sqlite3_stmt *sel = NULL, *ins = NULL;
        buf_init(&pk, x->pk.max);
        if (buf_add(&pk, x->pk.p, x->pk.len)) {
            buf_free(&pk);
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        }
        x->alive_views = 1;
        if ((rc = make_views(x, x->st, NULL, 1, err)) ||
            (rc = store_exec(x->st,
                             "CREATE TEMP TABLE IF NOT EXISTS \"rdm:alive\"(pk PRIMARY KEY) "
                             "WITHOUT ROWID; DELETE FROM temp.\"rdm:alive\"",
                             err)) ||
            (rc = store_prepare(x->st, e->select, &sel, err)) ||
            (rc = store_prepare(x->st, "INSERT OR IGNORE INTO temp.\"rdm:alive\"(pk) VALUES (?)",
                                &ins, err)))
            goto done;
        rc = gather_keys(x, sel, x->st, ins, 0, err);
        if (!rc)
            rc = store_prepare(x->st, "SELECT 1 FROM temp.\"rdm:alive\" WHERE pk = ?1", &x->q_alive,
                               err);
    done:
        sqlite3_finalize(sel);
        sqlite3_finalize(ins);
        buf_reset(&x->pk);
        if (!rc && pk.len && buf_add(&x->pk, pk.p, pk.len))
            rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        if (!rc && !x->pk.p && buf_addc(&x->pk, '\0'))
            rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        x->pk_int = pk_int, x->pk_i = pk_i;
        buf_free(&pk);
        if (rc)
            return rc;
    }
    bind_id(x, x->q_alive);
    int r = sqlite3_step(x->q_alive);
    sqlite3_reset(x->q_alive);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return store_fail(x->st, err, "looking up a live record");
    *yes = r == SQLITE_ROW;
    return RDM_OK;
}

/* The same for a record selected from a deleted row: DELETE or nothing. */
static rdm_rc gone_record(exp *x, const efft_val *v, rdm_err *err)
{
    int64_t h_old = 0;
    long long sub_old = 0;
    int alive = 0;
    rdm_rc rc = state_get(x, &h_old, &sub_old, err);
    if (rc == RDM_ERR_NOT_FOUND) { /* never exported; or, re-exporting, deleted already */
        if (!x->force || (!x->byrow && (rc = alive_has(x, &alive, err))))
            return x->force ? rc : RDM_OK;
        return alive ? RDM_OK : emit(x, OP_DELETE, v, err);
    }
    if (rc || sub_old == x->mark) /* sub_old == mark: still selected from a live row */
        return rc;
    /* still yielded by a live row outside the window: stays */
    if (!x->byrow && ((rc = alive_has(x, &alive, err)) || alive))
        return rc;
    if ((rc = emit(x, OP_DELETE, v, err)))
        return rc;
    return state_del(x, err);
}

/* The n-row INSERT of add-first state rows, prepared at its first use for
 * the entity. NULL with err filled on failure. */
static sqlite3_stmt *add_stmt(exp *x, int n, rdm_err *err)
{
    if (x->q_add[n])
        return x->q_add[n];
    buf_reset(&x->sql);
    rdm_rc rc = buf_addf(&x->sql, "INSERT INTO main.\"rdm:%s:%s\"(%s, h, sub) VALUES ",
                         x->byrow ? "row" : "ent", x->e->key, x->byrow ? "rid" : "pk");
    for (int i = 0; i < n && !rc; i++)
        rc = buf_adds(&x->sql, i ? ", (?, ?, ?)" : "(?, ?, ?)");
    if (rc) {
        rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (sqlite3_prepare_v3(store_db(x->st), x->sql.p, -1, SQLITE_PREPARE_PERSISTENT, &x->q_add[n],
                           NULL) != SQLITE_OK) {
        store_fail(x->st, err, "preparing an export statement");
        return NULL;
    }
    return x->q_add[n];
}

/* Puts record i of the batch's identity back where live_record reads it. */
static rdm_rc pend_key(exp *x, int i, rdm_err *err)
{
    const pend_rec *pr = &x->pend_at[i];
    if (x->byrow) {
        x->rid = pr->id;
        return RDM_OK;
    }
    buf_reset(&x->pk);
    if (buf_add(&x->pk, x->pend_keys.p + pr->koff, pr->klen) || buf_addc(&x->pk, '\0'))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    x->pk.len--;
    x->pk_int = pr->kint, x->pk_i = pr->id;
    return RDM_OK;
}

/* Adds the batch of add-first records to the state, PEND_MAX rows per
 * INSERT at most and never more than the chunk being read can take (so no
 * split commits a state row ahead of its record's file), then queues them
 * as CREATE. When a key is held already (the select yielded it twice), the
 * INSERT undoes itself and its records go one by one through
 * live_record(). */
static rdm_rc pend_flush(exp *x, rdm_err *err)
{
    efft_val v[PROF_MAX_FIELDS];
    const char *p = x->pend.p;
    rdm_rc rc = RDM_OK;
    int op;
    for (int i = 0; i < x->npend && !rc;) {
        long room;
        if ((rc = make_room(x, &room, err)))
            break;
        int n = x->npend - i < room ? x->npend - i : (int)room;
        sqlite3_stmt *s = add_stmt(x, n, err);
        if (!s) {
            rc = RDM_ERR_STORE;
            break;
        }
        for (int j = 0; j < n; j++) {
            const pend_rec *pr = &x->pend_at[i + j];
            if (x->byrow || pr->kint)
                sqlite3_bind_int64(s, 3 * j + 1, pr->id);
            else
                sqlite3_bind_text(s, 3 * j + 1, x->pend_keys.p + pr->koff, (int)pr->klen,
                                  SQLITE_STATIC);
            sqlite3_bind_int64(s, 3 * j + 2, pr->h);
            sqlite3_bind_int64(s, 3 * j + 3, x->mark);
        }
        int r = sqlite3_step(s);
        if (r != SQLITE_DONE && (r & 0xff) != SQLITE_CONSTRAINT)
            rc = store_fail(x->st, err, "recording exported records");
        sqlite3_reset(s);
        for (int j = 0; j < n && !rc; j++) {
            p = rec_get(p, &op, v, x->e->nfields);
            if (r == SQLITE_DONE)
                rc = emit(x, OP_CREATE, v, err);
            else if (!(rc = pend_key(x, i + j, err)))
                rc = live_record(x, v, x->pend_at[i + j].h, err);
        }
        i += n;
    }
    x->npend = 0;
    x->pend.len = 0;
    buf_reset(&x->pend_keys);
    return rc;
}

/* Holds a live record of an add-first read (identity in x->rid or x->pk)
 * for the next pend_flush(), which runs when PEND_MAX are held. */
static rdm_rc pend_add(exp *x, const efft_val *v, int64_t h, rdm_err *err)
{
    size_t need = rec_size(v, x->e->nfields);
    if (x->pend.len + need > x->pend.cap) {
        size_t cap = (x->pend.len + need) * 2;
        char *np = realloc(x->pend.p, cap);
        if (!np)
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory for a record of %zu bytes", need);
        x->pend.p = np;
        x->pend.cap = cap;
    }
    rec_put(x->pend.p + x->pend.len, OP_CREATE, v, x->e->nfields);
    x->pend.len += need;
    pend_rec *pr = &x->pend_at[x->npend++];
    pr->h = h;
    if (x->byrow) {
        pr->id = x->rid;
    } else {
        pr->kint = x->pk_int, pr->id = x->pk_i;
        pr->koff = x->pend_keys.len, pr->klen = x->pk.len;
        if (buf_add(&x->pend_keys, x->pk.p, x->pk.len))
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    return x->npend == PEND_MAX ? pend_flush(x, err) : RDM_OK;
}

/* Runs the entity's select with the window on live rows (gone = 0) or on
 * deleted rows (gone = 1), queueing each record where it belongs. */
static rdm_rc pass(exp *x, int gone, rdm_err *err)
{
    const prof_entity *e = x->e;
    efft_val v[PROF_MAX_FIELDS];
    sqlite3_stmt *s = x->q_sel;
    rdm_rc rc = RDM_OK;
    int r;

    if (gone && x->fresh)
        return RDM_OK; /* nothing was exported: no record to delete */
    sqlite3_stmt *w = cached(x, QC_DEL, x->rd, "UPDATE temp.\"rdm:win\" SET del = ?", err);
    if (!w)
        return RDM_ERR_STORE;
    sqlite3_bind_int(w, 1, gone);
    r = sqlite3_step(w);
    done_stmt(w);
    if (r != SQLITE_DONE)
        return store_fail(x->rd, err, "setting the export window");
    /* a first read of the state's records: their state rows go in batches */
    int batch = !gone && x->addfirst && !x->force;
    char nums[PROF_MAX_FIELDS][24];
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        x->out->rows++;
        row_values(s, e->nfields, v, nums);
        if (x->byrow)
            x->rid = sqlite3_column_int64(s, e->nfields);
        else if ((rc = record_pk(x, v, err)))
            break;
        if (gone)
            rc = gone_record(x, v, err);
        else if (batch)
            rc = pend_add(x, v, values_hash(v, e->nfields), err);
        else
            rc = live_record(x, v, values_hash(v, e->nfields), err);
        if (rc)
            break;
    }
    if (!rc && r != SQLITE_DONE)
        rc = store_fail(x->rd, err, "selecting the entity's records");
    if (!rc)
        rc = pend_flush(x, err);
    x->npend = 0; /* what a failure left (pend_flush empties it) */
    x->pend.len = 0;
    buf_reset(&x->pend_keys);
    x->out->fullscan_steps += sqlite3_stmt_status(s, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
    x->out->autoindex_rows += sqlite3_stmt_status(s, SQLITE_STMTSTATUS_AUTOINDEX, 1);
    sqlite3_reset(s);
    return rc;
}

/* ---- the writer and the syncer ---- */

/* Formats and writes the records of one block. */
static rdm_rc write_block(exp *x, slot *sl, blk *b, rdm_err *err)
{
    efft_val v[PROF_MAX_FIELDS];
    const char *p = b->p, *end = b->p + b->len;
    rdm_rc rc = RDM_OK;
    while (p < end && !rc) {
        int op;
        p = rec_get(p, &op, v, x->e->nfields);
        buf_reset(&x->cap);
        if (!(rc = efft_record(&x->w, v, err)))
            rc = put_line(x, sl, op, err);
    }
    return rc;
}

static void *writer(void *arg)
{
    exp *x = arg;
    for (;;) {
        blk *b = plat_chan_get(x->full);
        slot *sl = x->wslot;
        switch (b->kind) {
        case BK_QUIT:
            plat_chan_put(x->sync, b);
            return NULL;
        case BK_BEGIN:
            x->wslot = b->slot;
            break;
        case BK_DATA:
            if (!sl->rc)
                sl->rc = write_block(x, sl, b, &sl->err);
            b->len = 0;
            plat_chan_put(x->empty, b);
            break;
        default: /* BK_END, BK_ABORT: what is written goes out to the syncer */
            for (int op = 1; op <= 3 && !sl->rc && b->kind == BK_END; op++)
                if (sl->files[op].f)
                    sl->rc = plat_wflush(sl->files[op].f, &sl->err);
            if (sl->rc || b->kind == BK_ABORT)
                drop_files(x, sl);
            plat_chan_put(x->sync, b);
        }
    }
}

/* Makes a chunk's files durable under their names (their folder's entries:
 * settle(), once for all the chunks it commits). */
static rdm_rc commit_files(slot *sl, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    for (int op = 1; op <= 3 && !rc; op++) {
        file_out *fo = &sl->files[op];
        if (!fo->f)
            continue;
        sl->size[op] = plat_wsize(fo->f);
        sha256_hex(&fo->sha, sl->hex[op]);
        rc = plat_wcommit(fo->f, err);
        fo->f = NULL;
        if (rc)
            fo->rel[0] = '\0'; /* plat_wcommit removed it */
    }
    return rc;
}

static void *syncer(void *arg)
{
    exp *x = arg;
    for (;;) {
        blk *b = plat_chan_get(x->sync);
        if (b->kind == BK_QUIT)
            return NULL;
        slot *sl = b->slot;
        if (b->kind == BK_END && !sl->rc && (sl->rc = commit_files(sl, &sl->err)))
            drop_files(x, sl);
        plat_chan_put(x->done, sl);
    }
}

/* Ends the chunk being read: its last records and its END marker (abort:
 * ABORT, its records dropped) go to the writer. */
static void chunk_close(exp *x, int abort)
{
    slot *sl = &x->slots[x->nslot - 1];
    if (abort)
        x->cur->len = 0;
    if (x->cur->len) {
        plat_chan_put(x->full, x->cur);
        x->cur = plat_chan_get(x->empty);
    }
    sl->end.kind = abort ? BK_ABORT : BK_END;
    plat_chan_put(x->full, &sl->end);
    x->wopen = 0;
}

/* What a view selects for the single key column of model m so that a join
 * on it reads the table's own key: "rowid" when the rows are kept by their
 * integer key (no index on "rdm:k": stg_model_ensure), "\"rdm:k\"" (its
 * unique index) when the key is one text column, whose normalised text
 * "rdm:k" is; "" for the column itself. NULL with err filled on failure. */
static const char *key_expr(exp *x, const prof_model *m, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    char ix[160];
    int t = m->cols[m->key[0]].type, indexed;
    if (t != PROF_INT && t != PROF_TEXT)
        return "";
    snprintf(ix, sizeof ix, "rdm:stg:%s:k", m->name);
    if (store_prepare(x->rd, "SELECT count(*) FROM main.sqlite_master WHERE name = ?1", &s, err))
        return NULL;
    sqlite3_bind_text(s, 1, ix, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_ROW) {
        store_fail(x->rd, err, "reading the staged tables' indexes");
        sqlite3_finalize(s);
        return NULL;
    }
    indexed = sqlite3_column_int(s, 0) > 0;
    sqlite3_finalize(s);
    if (t == PROF_INT)
        return indexed ? "" : "rowid";
    return indexed ? "\"rdm:k\"" : "";
}

/* Sets up the temporary views for entity e driven by model `drive`: the
 * driving model through the window on its changed rows, the others whole
 * (deleted rows too while the deleted rows of the window are selected). */
/* Creates on connection `on` a temporary view per model of the entity,
 * named as the model, over its staged rows: with live_only, the live rows
 * of every model (no window); else drive's rows within the window of
 * temp."rdm:win" (its live or its deleted rows), and the others' live
 * rows (all rows in the deleted rows' pass). */
static rdm_rc make_views(exp *x, store *on, const prof_model *drive, int live_only, rdm_err *err)
{
    const prof_entity *e = x->e;
    rdm_rc rc = RDM_OK;
    for (int i = 0; i < e->nmodels && !rc; i++) {
        const prof_model *m = profile_model(x->p, e->models[i]);
        int kc = m->nkey == 1 ? m->key[0] : -1;
        const char *kx = kc >= 0 ? key_expr(x, m, err) : NULL;
        if (kc >= 0 && !kx)
            return RDM_ERR_STORE;
        buf_reset(&x->sql);
        rc =
            buf_addf(&x->sql, "DROP VIEW IF EXISTS temp.\"%s\"; CREATE TEMP VIEW \"%s\" AS SELECT ",
                     m->name, m->name);
        for (int c = 0; c < m->ncols && !rc; c++)
            if (c == kc && *kx)
                rc = buf_addf(&x->sql, "s.%s AS \"%s\", ", kx, m->cols[c].name);
            else
                rc = buf_addf(&x->sql, "s.\"%s\" AS \"%s\", ", m->cols[c].name, m->cols[c].name);
        if (!rc)
            rc = buf_addf(&x->sql, "s.rowid AS \"rdm:rid\"");
        if (!rc && live_only)
            rc = buf_addf(&x->sql, " FROM main.\"rdm:stg:%s\" s WHERE s.\"rdm:op\" != 3", m->name);
        else if (!rc && m == drive)
            /* scalar subqueries, not a join with the window: the planner
             * then reads the change-number index between the bounds */
            rc = buf_addf(&x->sql,
                          " FROM main.\"rdm:stg:%s\" s WHERE s.\"rdm:chg\" BETWEEN (SELECT lc FROM "
                          "temp.\"rdm:win\") AND (SELECT hc FROM temp.\"rdm:win\") AND "
                          "(s.\"rdm:chg\", s.rowid) > (SELECT lc, lr FROM temp.\"rdm:win\") AND "
                          "(s.\"rdm:chg\", s.rowid) <= (SELECT hc, hr FROM temp.\"rdm:win\") AND "
                          "(s.\"rdm:op\" = 3) = (SELECT del FROM temp.\"rdm:win\")",
                          m->name);
        else if (!rc)
            rc = buf_addf(&x->sql,
                          " FROM main.\"rdm:stg:%s\" s WHERE s.\"rdm:op\" != 3 OR (SELECT del FROM "
                          "temp.\"rdm:win\")",
                          m->name);
        if (rc)
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory building the export views");
        rc = store_exec(on, x->sql.p, err);
    }
    return rc;
}

static rdm_rc views(exp *x, const prof_model *drive, rdm_err *err)
{
    const prof_entity *e = x->e;
    rdm_rc rc = make_views(x, x->rd, drive, 0, err);
    if (rc)
        return rc;
    sqlite3_finalize(x->q_sel);
    x->q_sel = NULL;
    const char *sel = e->select;
    if (x->byrow) { /* the generated select, with the row's id after the fields */
        buf_reset(&x->sql);
        for (int i = 0; i < e->nfields && !rc; i++)
            rc = buf_addf(&x->sql, "%s\"%s\"", i ? ", " : "SELECT ", e->fields[i].name);
        if (!rc)
            rc = buf_addf(&x->sql, ", \"rdm:rid\" FROM \"%s\"", e->models[0]);
        if (rc)
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory building the export select");
        sel = x->sql.p;
    }
    if (sqlite3_prepare_v3(store_db(x->rd), sel, -1, SQLITE_PREPARE_PERSISTENT, &x->q_sel, NULL) !=
        SQLITE_OK)
        return store_fail(x->rd, err, "preparing the entity's select");
    if (sqlite3_column_count(x->q_sel) != e->nfields + x->byrow)
        return rdm_fail(err, RDM_ERR_CONFIG, "entity %s: its select returns %d columns, not %d",
                        e->key, sqlite3_column_count(x->q_sel), e->nfields);
    return RDM_OK;
}

static void cursor_get(exp *x, const char *model, long long *chg, long long *rid)
{
    sqlite3_stmt *s = NULL;
    *chg = *rid = 0;
    if (sqlite3_prepare_v2(store_db(x->st),
                           "SELECT chg, rid FROM export_cursor WHERE entity = ? AND model = ?", -1,
                           &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, x->e->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, model, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) {
            *chg = sqlite3_column_int64(s, 0);
            *rid = sqlite3_column_int64(s, 1);
        }
    }
    sqlite3_finalize(s);
}

/* Saves how far the entity's export has read model (in the caller's
 * transaction, or on its own). */
static rdm_rc cursor_set(exp *x, const char *model, long long chg, long long rid, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    sqlite3_stmt *s = cached(x, QC_CURSOR_SET, x->st,
                             "INSERT INTO export_cursor(entity, model, chg, rid) VALUES (?, ?, ?, "
                             "?) ON CONFLICT(entity, model) DO UPDATE SET chg = excluded.chg, rid "
                             "= excluded.rid",
                             err);
    if (!s)
        return RDM_ERR_STORE;
    sqlite3_bind_text(s, 1, x->e->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, chg);
    sqlite3_bind_int64(s, 4, rid);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_fail(x->st, err, "saving the export position");
    done_stmt(s);
    return rc;
}

/* The end of the next chunk of model's changes after (lc, lr): RDM_OK and
 * (*hc, *hr), or RDM_ERR_NOT_FOUND when nothing waits. */
static rdm_rc chunk_end(exp *x, const char *model, long long lc, long long lr, long long *hc,
                        long long *hr, rdm_err *err)
{
    rdm_rc rc = RDM_ERR_NOT_FOUND;
    for (int last = 0; last < 2 && rc == RDM_ERR_NOT_FOUND; last++) {
        /* cached per model: drive_model() uncaches them */
        buf_reset(&x->sql);
        if (buf_addf(
                &x->sql,
                "SELECT \"rdm:chg\", rowid FROM main.\"rdm:stg:%s\" WHERE (\"rdm:chg\", rowid) > "
                "(?1, ?2) AND \"rdm:chg\" <= ?3 ORDER BY \"rdm:chg\" %s, rowid %s LIMIT 1 "
                "OFFSET ?4",
                model, last ? "DESC" : "", last ? "DESC" : ""))
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        sqlite3_stmt *s = cached(x, last ? QC_END_D : QC_END_A, x->st, x->sql.p, err);
        if (!s)
            return RDM_ERR_STORE;
        sqlite3_bind_int64(s, 1, lc);
        sqlite3_bind_int64(s, 2, lr);
        sqlite3_bind_int64(s, 3, x->upto);
        sqlite3_bind_int64(s, 4, last ? 0 : x->limit - 1);
        int r = sqlite3_step(s);
        if (r == SQLITE_ROW) {
            *hc = sqlite3_column_int64(s, 0);
            *hr = sqlite3_column_int64(s, 1);
            rc = RDM_OK;
        } else if (r != SQLITE_DONE) {
            rc = store_fail(x->st, err, "finding the next chunk of changes");
        }
        done_stmt(s);
    }
    return rc;
}

/* Binds a sub-stage's model, window and retry_of to parameters at..at+5
 * (NULL where it has none: a reconciliation chunk, a first try). */
static void bind_window(sqlite3_stmt *s, int at, const slot *sl)
{
    if (sl->model) {
        sqlite3_bind_text(s, at, sl->model, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, at + 1, sl->lc);
        sqlite3_bind_int64(s, at + 2, sl->lr);
        sqlite3_bind_int64(s, at + 3, sl->hc);
        sqlite3_bind_int64(s, at + 4, sl->hr);
    }
    if (sl->retry_of)
        sqlite3_bind_int64(s, at + 5, sl->retry_of);
}

/* Records a FAILED sub-stage in its own transaction. */
static void fail_sub(exp *x, const slot *sl, const char *msg)
{
    sqlite3_stmt *s = NULL;
    rdm_err e2;
    long long now = (long long)time(NULL);
    store_rollback(x->st);
    if (store_begin(x->st, &e2))
        return;
    if (!sqlite3_prepare_v2(store_db(x->st),
                            "INSERT INTO export_substage(stage_id, entity, status, started_at, "
                            "ended_at, error, model, lo_chg, lo_rid, hi_chg, hi_rid, retry_of) "
                            "VALUES (?, ?, 'FAILED', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            -1, &s, NULL)) {
        sqlite3_bind_int64(s, 1, x->stage);
        sqlite3_bind_text(s, 2, x->e->key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, x->now);
        sqlite3_bind_int64(s, 4, now);
        sqlite3_bind_text(s, 5, msg, -1, SQLITE_STATIC);
        bind_window(s, 6, sl);
        sqlite3_step(s);
    }
    sqlite3_finalize(s);
    if (store_commit(x->st, &e2))
        store_rollback(x->st);
}

static long long last_failed(exp *x, const char *model, long long lc, long long lr)
{
    long long id = 0;
    rdm_err e2;
    sqlite3_stmt *s = cached(x, QC_LAST_FAILED, x->st,
                             "SELECT max(id) FROM export_substage WHERE entity = ? AND model = ? "
                             "AND lo_chg = ? AND lo_rid = ? AND status = 'FAILED'",
                             &e2);
    if (s) {
        sqlite3_bind_text(s, 1, x->e->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, model, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, lc);
        sqlite3_bind_int64(s, 4, lr);
        if (sqlite3_step(s) == SQLITE_ROW)
            id = sqlite3_column_int64(s, 0);
        done_stmt(s);
    }
    return id;
}

/* Registers a chunk whose files are durable: its attachments and its
 * sub-stage's final state, in the open transaction. */
static rdm_rc register_chunk(exp *x, slot *sl, rdm_err *err)
{
    long long now = (long long)time(NULL);
    rdm_rc rc = RDM_OK;
    int files = 0;
    for (int op = 1; op <= 3 && !rc; op++) {
        file_out *fo = &sl->files[op];
        if (!fo->rel[0])
            continue;
        files++;
        sqlite3_stmt *s = cached(x, QC_ATTACH, x->st,
                                 "INSERT INTO attachment(substage_id, path, operation, size, "
                                 "sha256, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 err);
        if (!s)
            return RDM_ERR_STORE;
        sqlite3_bind_int64(s, 1, sl->sub);
        sqlite3_bind_text(s, 2, fo->rel, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 3, op);
        sqlite3_bind_int64(s, 4, (sqlite3_int64)sl->size[op]);
        sqlite3_bind_text(s, 5, sl->hex[op], -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, now);
        sqlite3_bind_int64(s, 7, now);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store_fail(x->st, err, "registering an export file");
        done_stmt(s);
    }
    long long recs = sl->n_op[1] + sl->n_op[2] + sl->n_op[3];
    if (rc)
        return rc;
    sqlite3_stmt *s = cached(x, QC_SUB_DONE, x->st,
                             "UPDATE export_substage SET status = ?, records = ?, created = ?, "
                             "updated = ?, deleted = ?, ended_at = ? WHERE id = ?",
                             err);
    if (!s)
        return RDM_ERR_STORE;
    sqlite3_bind_text(s, 1, files ? "READY_FOR_EXPORT" : "FINISHED", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, recs);
    sqlite3_bind_int64(s, 3, sl->n_op[1]);
    sqlite3_bind_int64(s, 4, sl->n_op[2]);
    sqlite3_bind_int64(s, 5, sl->n_op[3]);
    sqlite3_bind_int64(s, 6, now);
    sqlite3_bind_int64(s, 7, sl->sub);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_fail(x->st, err, "ending an export sub-stage");
    done_stmt(s);
    return rc;
}

/* Waits for every chunk in flight, then either registers them all, saves
 * the cursor and commits (RDM_OK), or, when one failed (or fail is
 * non-zero: the exporting thread's own failure, in err, on the last one),
 * rolls back, deletes their files and records the failed sub-stage. */
static rdm_rc settle(exp *x, rdm_rc fail, rdm_err *err)
{
    rdm_rc rc = fail;
    slot *bad = fail ? &x->slots[x->nslot - 1] : NULL;
    for (int i = 0; i < x->nslot; i++) {
        slot *sl = plat_chan_get(x->done);
        if (!rc && sl->rc) {
            rc = sl->rc;
            *err = sl->err;
            bad = sl;
        }
    }
    int files = 0;
    for (int i = 0; i < x->nslot; i++)
        for (int op = 1; op <= 3; op++)
            files += x->slots[i].files[op].rel[0] != '\0';
    if (!rc && files) { /* the files' names, durable before they are registered */
        char dir[4096];
        if (!(rc = abs_path(x, x->dir_rel, dir, sizeof dir, err)))
            rc = plat_fsync_dir(dir, err);
    }
    for (int i = 0; i < x->nslot && !rc; i++)
        rc = register_chunk(x, &x->slots[i], err);
    slot *last = &x->slots[x->nslot - 1];
    if (!rc && x->adv_set)
        rc = cursor_set(x, x->adv_model, x->adv_hc, x->adv_hr, err);
    if (!rc && x->txn) {
        plat_fault_point("commit");
        rc = store_commit(x->st, err);
        plat_fault_point("committed");
    }
    if (!rc) {
        for (int i = 0; i < x->nslot; i++) {
            slot *sl = &x->slots[i];
            for (int op = 1; op <= 3; op++) {
                if (sl->files[op].rel[0]) {
                    x->out->files++;
                    x->out->bytes += sl->size[op];
                }
                sl->files[op].rel[0] = '\0';
            }
            x->out->created += sl->n_op[1];
            x->out->updated += sl->n_op[2];
            x->out->deleted += sl->n_op[3];
            x->out->substages++;
        }
    } else {
        store_rollback(x->st);
        for (int i = 0; i < x->nslot; i++)
            drop_files(x, &x->slots[i]);
        if (!bad)
            bad = last;
        char msg[RDM_ERR_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        if (x->nslot)
            fail_sub(x, bad, msg);
    }
    x->nslot = 0;
    x->txn = 0;
    x->adv_set = 0;
    return rc;
}

/* Starts a chunk: its sub-stage row (IN_PROGRESS) in the transaction of
 * the chunks in flight (opened by the first), and its BEGIN marker.
 * model NULL: a reconciliation chunk. */
static rdm_rc chunk_open(exp *x, const char *model, long long lc, long long lr, long long hc,
                         long long hr, long long retry_of, rdm_err *err)
{
    rdm_rc rc;
    if (!x->txn) {
        if ((rc = store_begin(x->st, err)))
            return rc;
        x->txn = 1;
    }
    slot *sl = &x->slots[x->nslot];
    memset(sl->n_op, 0, sizeof sl->n_op);
    for (int op = 0; op <= 3; op++) {
        sl->files[op].f = NULL;
        sl->files[op].rel[0] = '\0';
        sl->files[op].records = 0;
    }
    sl->model = model;
    sl->lc = lc, sl->lr = lr, sl->hc = hc, sl->hr = hr, sl->retry_of = retry_of;
    sl->rc = RDM_OK;
    sqlite3_stmt *s = cached(x, QC_SUB_NEW, x->st,
                             "INSERT INTO export_substage(stage_id, entity, status, started_at, "
                             "model, lo_chg, lo_rid, hi_chg, hi_rid, retry_of) VALUES (?, ?, "
                             "'IN_PROGRESS', ?, ?, ?, ?, ?, ?, ?)",
                             err);
    if (!s)
        return RDM_ERR_STORE;
    sqlite3_bind_int64(s, 1, x->stage);
    sqlite3_bind_text(s, 2, x->e->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (long long)time(NULL));
    bind_window(s, 4, sl);
    int r = sqlite3_step(s);
    done_stmt(s);
    if (r != SQLITE_DONE)
        return store_fail(x->st, err, "creating an export sub-stage");
    sl->sub = sqlite3_last_insert_rowid(store_db(x->st));
    x->wopen = 1;
    x->nslot++;
    sl->begin.kind = BK_BEGIN;
    plat_chan_put(x->full, &sl->begin);
    return RDM_OK;
}

/* Reads one window of model m's changed rows, (lc, lr) exclusive to
 * (hc, hr) inclusive, into chunks (the first a new sub-stage; retry_of:
 * the FAILED sub-stage it replaces, or 0). On failure the chunks in
 * flight are settled (or the transaction rolled back) before returning. */
static rdm_rc run_window(exp *x, const prof_model *m, long long lc, long long lr, long long hc,
                         long long hr, long long retry_of, rdm_err *err)
{
    rdm_rc rc;
    x->wmodel = m->name;
    x->wlc = lc, x->wlr = lr, x->whc = hc, x->whr = hr;
    if (!(rc = chunk_open(x, m->name, lc, lr, hc, hr, retry_of, err))) {
        x->mark = x->slots[x->nslot - 1].sub;
        sqlite3_stmt *w = cached(x, QC_WIN, x->rd,
                                 "UPDATE temp.\"rdm:win\" SET lc = ?, lr = ?, hc = ?, hr = ?", err);
        if (!w) {
            rc = RDM_ERR_STORE;
        } else {
            sqlite3_bind_int64(w, 1, lc);
            sqlite3_bind_int64(w, 2, lr);
            sqlite3_bind_int64(w, 3, hc);
            sqlite3_bind_int64(w, 4, hr);
            if (sqlite3_step(w) != SQLITE_DONE)
                rc = store_fail(x->rd, err, "setting the export window");
            done_stmt(w);
        }
        if (!rc)
            rc = pass(x, 0, err);
        if (!rc)
            rc = pass(x, 1, err);
    }
    if (rc) {
        x->wmodel = NULL;
        if (x->wopen)
            chunk_close(x, 1);
        if (x->nslot) {
            settle(x, rc, err);
        } else if (x->txn) {
            store_rollback(x->st);
            x->txn = 0;
        }
        return rc;
    }
    chunk_close(x, 0);
    x->wmodel = NULL;
    return RDM_OK;
}

/* Exports the changes of one model of the entity, chunk by chunk, up to
 * NSLOT chunks per commit. */
static rdm_rc drive_model(exp *x, const prof_model *m, rdm_err *err)
{
    rdm_rc rc;
    long long lc, lr, hc = 0, hr = 0;
    uncache(x, QC_END_A);
    uncache(x, QC_END_D);
    if ((rc = views(x, m, err)))
        return rc;
    cursor_get(x, m->name, &lc, &lr);
    for (;;) {
        if (plat_stop_requested()) {
            /* what is in flight is whole: commit it, then stop */
            if (x->nslot && (rc = settle(x, RDM_OK, err)))
                return rc;
            return rdm_fail(err, RDM_ERR_STOPPED,
                            "export of %s stopped on request; the next run goes on from there",
                            x->e->key);
        }
        rc = chunk_end(x, m->name, lc, lr, &hc, &hr, err);
        if (rc == RDM_ERR_NOT_FOUND)
            return x->nslot ? settle(x, RDM_OK, err) : RDM_OK;
        if (rc) {
            if (x->nslot)
                settle(x, rc, err);
            return rc;
        }
        long long before = x->out->rows;
        if ((rc = run_window(x, m, lc, lr, hc, hr, last_failed(x, m->name, lc, lr), err)))
            return rc;
        progress_add(&x->pg, x->out->rows - before);
        x->adv_set = 1, x->adv_model = m->name, x->adv_hc = hc, x->adv_hr = hr;
        lc = hc, lr = hr;
        if (x->nslot == NSLOT && (rc = settle(x, RDM_OK, err)))
            return rc;
    }
}

/* Moves the entity's cursor on model to its last change up to the run's
 * bound, reading nothing (see export_entity). */
static rdm_rc skip_model(exp *x, const char *model, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_rc rc = RDM_OK;
    buf_reset(&x->sql);
    if (buf_addf(&x->sql,
                 "SELECT \"rdm:chg\", rowid FROM main.\"rdm:stg:%s\" WHERE \"rdm:chg\" <= ?1 "
                 "ORDER BY \"rdm:chg\" DESC, rowid DESC LIMIT 1",
                 model))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    if ((rc = store_prepare(x->st, x->sql.p, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, x->upto);
    if (sqlite3_step(s) == SQLITE_ROW)
        rc = cursor_set(x, model, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), err);
    sqlite3_finalize(s);
    return rc;
}

/* Writes again the windows of the entity's sub-stages whose files were
 * lost or altered before they were sent (marked reexport = 1 by upload):
 * every record the window yields now, whatever was exported, and DELETE
 * for its deleted rows, in new sub-stages whose retry_of names the lost
 * one; the lost one is marked done (reexport = 2) in the same commit. A
 * reconciliation sub-stage has no window: its keys are gone from the
 * state, so it cannot be written again and stays FAILED (logged). */
static rdm_rc redo_lost(exp *x, rdm_err *err)
{
    sqlite3_stmt *q = NULL;
    rdm_rc rc = store_prepare(x->st,
                              "SELECT id, model, lo_chg, lo_rid, hi_chg, hi_rid FROM "
                              "export_substage WHERE entity = ?1 AND reexport = 1 AND status = "
                              "'FAILED' ORDER BY id",
                              &q, err);
    if (rc)
        return rc;
    sqlite3_bind_text(q, 1, x->e->key, -1, SQLITE_STATIC);
    long long ids[64], w[64][4];
    char models[64][128];
    int n = 0;
    while (n < 64 && sqlite3_step(q) == SQLITE_ROW) {
        ids[n] = sqlite3_column_int64(q, 0);
        const unsigned char *m = sqlite3_column_text(q, 1);
        snprintf(models[n], sizeof models[n], "%s", m ? (const char *)m : "");
        for (int k = 0; k < 4; k++)
            w[n][k] = sqlite3_column_int64(q, 2 + k);
        n++;
    }
    sqlite3_finalize(q);
    for (int i = 0; i < n && !rc; i++) {
        const prof_model *m = models[i][0] ? profile_model(x->p, models[i]) : NULL;
        if (!m) {
            log_error("export: sub-stage %lld of %s lost its files before sending; it holds "
                      "DELETE lines of a reconciliation (or of a model no longer in the "
                      "profile), which cannot be written again: it stays FAILED",
                      ids[i], x->e->key);
            rc = store_execf(x->st, err, "UPDATE export_substage SET reexport = 3 WHERE id = %lld",
                             ids[i]);
            continue;
        }
        /* done already with another sub-stage of the same window */
        sqlite3_stmt *still = NULL;
        int again = 0;
        if ((rc = store_prepare(x->st, "SELECT reexport = 1 FROM export_substage WHERE id = ?1",
                                &still, err)))
            break;
        sqlite3_bind_int64(still, 1, ids[i]);
        again = sqlite3_step(still) == SQLITE_ROW && sqlite3_column_int(still, 0);
        sqlite3_finalize(still);
        if (!again)
            continue;
        uncache(x, QC_END_A);
        uncache(x, QC_END_D);
        if ((rc = views(x, m, err)))
            break;
        x->force = 1;
        int fresh = x->fresh, addfirst = x->addfirst;
        x->fresh = x->addfirst = 0;
        rc = run_window(x, m, w[i][0], w[i][1], w[i][2], w[i][3], ids[i], err);
        x->force = 0;
        x->fresh = fresh, x->addfirst = addfirst;
        if (rc)
            break;
        /* it, and any other sub-stage of the same window lost too (the
         * window was written again whole) */
        if ((rc =
                 store_execf(x->st, err,
                             "UPDATE export_substage SET reexport = 2 WHERE reexport = 1 AND id IN "
                             "(SELECT t.id FROM export_substage t, export_substage k WHERE k.id = "
                             "%lld AND t.entity = k.entity AND t.model IS k.model AND t.lo_chg = "
                             "k.lo_chg AND t.lo_rid = k.lo_rid AND t.hi_chg = k.hi_chg AND "
                             "t.hi_rid = k.hi_rid AND t.reexport = 1)",
                             ids[i]))) {
            settle(x, rc, err);
            break;
        }
        log_info("export: sub-stage %lld of %s, whose files were lost before sending, written "
                 "again",
                 ids[i], x->e->key);
        if ((rc = settle(x, RDM_OK, err)))
            break;
    }
    return rc;
}

/* Reconciliation of an entity identified by record key (its own select
 * with joins or filters, or a key that is not its model's): a record can
 * vanish from it because a live row stopped matching, which no deleted row
 * tells. After the entity's changes are
 * exported, the keys its select yields from the live rows are gathered in
 * a temporary table, and every exported key not among them gets a DELETE
 * line carrying its key fields (the other fields empty), in chunks of
 * EXPORT_CHUNK_SIZE, each committed as a sub-stage. Costs one run of the
 * select over the whole entity; the caller runs it when the entity's
 * cursors moved past its last reconciliation. */
static rdm_rc reconcile(exp *x, rdm_err *err)
{
    const prof_entity *e = x->e;
    sqlite3_stmt *ins = NULL, *gone = NULL;
    char sql[512];
    efft_val v[PROF_MAX_FIELDS];
    rdm_rc rc;
    int r;

    if ((rc = views(x, NULL, err)) ||
        (rc = store_execf(x->rd, err, "UPDATE temp.\"rdm:win\" SET del = 0")) ||
        (rc = store_exec(x->st,
                         "CREATE TEMP TABLE IF NOT EXISTS \"rdm:live\"(pk PRIMARY KEY) "
                         "WITHOUT ROWID; DELETE FROM temp.\"rdm:live\"",
                         err)))
        return rc;
    if ((rc = store_prepare(x->st, "INSERT OR IGNORE INTO temp.\"rdm:live\"(pk) VALUES (?)", &ins,
                            err)))
        goto out;
    sqlite3_stmt *q = x->q_sel;
    rc = gather_keys(x, q, x->rd, ins, 1, err);
    sqlite3_reset(q);
    if (rc)
        goto out;
    snprintf(sql, sizeof sql,
             "SELECT pk FROM main.\"rdm:ent:%s\" WHERE pk NOT IN (SELECT pk FROM "
             "temp.\"rdm:live\") ORDER BY pk LIMIT %d",
             e->key, x->limit);
    if ((rc = store_prepare(x->st, sql, &gone, err)))
        goto out;
    for (;;) {
        /* one chunk of vanished keys; deleting them from the state moves on */
        if ((rc = chunk_open(x, NULL, 0, 0, 0, 0, 0, err))) {
            store_rollback(x->st);
            x->txn = 0;
            x->nslot = 0; /* nothing went to the writer when the row failed */
            break;
        }
        long n = 0;
        while (!rc && (r = sqlite3_step(gone)) == SQLITE_ROW) {
            const char *pk = (const char *)sqlite3_column_text(gone, 0);
            size_t len = (size_t)sqlite3_column_bytes(gone, 0);
            n++;
            for (int i = 0; i < e->nfields; i++)
                v[i].s = NULL, v[i].len = 0;
            for (int k = 0; k < e->npk; k++) {
                const char *sep = memchr(pk, '\x1f', len);
                size_t l = sep ? (size_t)(sep - pk) : len;
                v[e->pk[k]].s = pk;
                v[e->pk[k]].len = l;
                pk += sep ? l + 1 : l;
                len -= sep ? l + 1 : l;
            }
            buf_reset(&x->pk);
            if (buf_add(&x->pk, sqlite3_column_text(gone, 0),
                        (size_t)sqlite3_column_bytes(gone, 0)) ||
                buf_addc(&x->pk, '\0'))
                rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
            x->pk.len--;
            key_kind(x);
            if (!rc && !(rc = emit(x, OP_DELETE, v, err)))
                rc = state_del(x, err);
        }
        sqlite3_reset(gone);
        if (!rc && r != SQLITE_DONE)
            rc = store_fail(x->st, err, "finding records that left the entity's select");
        if (!rc && n == 0) { /* nothing (more) vanished: no sub-stage */
            chunk_close(x, 1);
            plat_chan_get(x->done);
            store_rollback(x->st);
            x->nslot = 0;
            x->txn = 0;
            break;
        }
        chunk_close(x, rc != RDM_OK);
        if ((rc = settle(x, rc, err)))
            break;
    }
out:
    sqlite3_finalize(ins);
    sqlite3_finalize(gone);
    store_exec(x->st, "DELETE FROM temp.\"rdm:live\"", NULL);
    return rc;
}

static void entity_end(exp *x)
{
    sqlite3_finalize(x->q_state);
    sqlite3_finalize(x->q_state_put);
    sqlite3_finalize(x->q_state_add);
    sqlite3_finalize(x->q_state_del);
    sqlite3_finalize(x->q_sel);
    sqlite3_finalize(x->q_alive);
    x->q_state = x->q_state_put = x->q_state_add = x->q_state_del = x->q_sel = x->q_alive = NULL;
    /* the live views on the writing connection would shadow nothing, but
     * the next entity's models differ */
    for (int i = 0; x->alive_views && i < x->e->nmodels; i++) {
        char sql[300];
        snprintf(sql, sizeof sql, "DROP VIEW IF EXISTS temp.\"%s\"", x->e->models[i]);
        sqlite3_exec(store_db(x->st), sql, NULL, NULL, NULL);
    }
    x->alive_views = 0;
    for (int n = 0; n <= PEND_MAX; n++) {
        sqlite3_finalize(x->q_add[n]);
        x->q_add[n] = NULL;
    }
    efft_end(&x->w);
    memset(&x->w, 0, sizeof x->w);
}

static rdm_rc export_entity(exp *x, const prof_entity *e, rdm_err *err)
{
    const char *cols[IMPORT_MAX_COLS];
    int integer[IMPORT_MAX_COLS];
    char date[48], sql[512];
    struct tm tm;
    rdm_rc rc = RDM_OK;

    x->e = e;
    /* every model's staged table exists (a model never collected is empty) */
    for (int i = 0; i < e->nmodels && !rc; i++) {
        stg_model sm;
        const prof_model *m = profile_model(x->p, e->models[i]);
        if (!(rc = import_stg_model(m, cols, integer, &sm, err)))
            rc = stg_model_ensure(x->st, &sm, err);
    }
    if (rc)
        return rc;
    /* how records are identified: by staged row when the select is the
     * generated one and the entity's key is the model's key, else by key */
    const prof_model *m0 = profile_model(x->p, e->models[0]);
    x->byrow = e->generated && e->npk == m0->nkey;
    for (int k = 0; k < e->npk && x->byrow; k++) {
        int found = 0;
        for (int j = 0; j < m0->nkey; j++)
            found |= strcmp(e->fields[e->pk[k]].name, m0->cols[m0->key[j]].name) == 0;
        x->byrow = found;
    }
    const char *tbl = x->byrow ? "row" : "ent", *other = x->byrow ? "ent" : "row";
    /* the other way's state, if it holds records, belongs to a profile that
     * identified records otherwise: refuse rather than send them as new */
    snprintf(sql, sizeof sql, "SELECT 1 FROM main.\"rdm:%s:%s\" LIMIT 1", other, e->key);
    sqlite3_stmt *q = NULL;
    int held = sqlite3_prepare_v2(store_db(x->st), sql, -1, &q, NULL) == SQLITE_OK &&
               sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (held)
        return rdm_fail(err, RDM_ERR_CONFIG,
                        "entity %s: its exported records were kept by %s, and the profile now "
                        "identifies them by %s (its select or primary key changed); exporting "
                        "would send every record again as new. Restore the profile, or ask "
                        "the datamart's operator before resetting the export of this entity",
                        e->key, x->byrow ? "record key" : "staged row",
                        x->byrow ? "staged row" : "record key");
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS main.\"rdm:%s:%s\"(%s, h INTEGER NOT NULL, sub "
             "INTEGER NOT NULL)%s",
             tbl, e->key, x->byrow ? "rid INTEGER PRIMARY KEY" : "pk PRIMARY KEY",
             x->byrow ? "" : " WITHOUT ROWID");
    if ((rc = store_exec(x->st, sql, err)))
        return rc;
    /* a state table made before keys could be integers keeps text ones */
    snprintf(sql, sizeof sql,
             "SELECT 1 FROM pragma_table_info('rdm:%s:%s') WHERE name = 'pk' AND type = 'TEXT'",
             tbl, e->key);
    if ((rc = store_prepare(x->st, sql, &q, err)))
        goto out;
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = store_fail(x->st, err, "reading the exported records' table");
        goto out;
    }
    x->int_keys = r == SQLITE_DONE;
    const char *id = x->byrow ? "rid" : "pk";
    snprintf(sql, sizeof sql, "SELECT h, sub FROM main.\"rdm:%s:%s\" WHERE %s = ?", tbl, e->key,
             id);
    if ((rc = store_prepare(x->st, sql, &x->q_state, err)))
        goto out;
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO main.\"rdm:%s:%s\"(%s, h, sub) VALUES (?, ?, ?)", tbl, e->key,
             id);
    if ((rc = store_prepare(x->st, sql, &x->q_state_put, err)))
        goto out;
    snprintf(sql, sizeof sql,
             "INSERT INTO main.\"rdm:%s:%s\"(%s, h, sub) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
             tbl, e->key, id);
    if ((rc = store_prepare(x->st, sql, &x->q_state_add, err)))
        goto out;
    snprintf(sql, sizeof sql, "DELETE FROM main.\"rdm:%s:%s\" WHERE %s = ?", tbl, e->key, id);
    if ((rc = store_prepare(x->st, sql, &x->q_state_del, err)))
        goto out;
    snprintf(sql, sizeof sql, "SELECT 1 FROM main.\"rdm:%s:%s\" LIMIT 1", tbl, e->key);
    q = NULL;
    int empty = sqlite3_prepare_v2(store_db(x->st), sql, -1, &q, NULL) == SQLITE_OK &&
                sqlite3_step(q) == SQLITE_DONE;
    sqlite3_finalize(q);
    x->fresh = x->byrow && empty;
    /* never exported: the first model's windows will cover all its rows,
     * so every record, joined with the other models as they are now */
    long long c0, r0;
    cursor_get(x, e->models[0], &c0, &r0);
    int first_time = empty && c0 == 0 && r0 == 0;

    buf_reset(&x->hdr);
    if ((rc = efft_begin(&x->w, e, x->prefix, capture, &x->hdr, err)))
        goto out;
    x->w.ud = &x->cap; /* records go to the capture buffer, one by one */

    plat_localtime((time_t)x->now, &tm);
    snprintf(date, sizeof date, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    snprintf(x->dir_rel, sizeof x->dir_rel, "export/%s/%s", date, e->key);
    char dir[4096];
    if ((rc = abs_path(x, x->dir_rel, dir, sizeof dir, err)) || (rc = plat_mkdirs(dir, err)))
        goto out;
    /* the new folders' entries themselves */
    for (int up = 0; up < 2 && !rc; up++) {
        char parent[4096];
        if (plat_dirname(dir, parent, sizeof parent) == 0)
            rc = plat_fsync_dir(parent, err);
        snprintf(dir, sizeof dir, "%s", parent);
    }
    rc = redo_lost(x, err);
    for (int i = 0; i < e->nmodels && !rc; i++) {
        /* on an entity's first export the other models' changes add no
         * record the first model's did not: their cursors just move to the
         * end (a run that stops before finds the state no longer empty and
         * reads them all) */
        x->addfirst = empty && i == 0;
        if (i > 0 && first_time)
            rc = skip_model(x, e->models[i], err);
        else
            rc = drive_model(x, profile_model(x->p, e->models[i]), err);
    }
    x->addfirst = 0;
    if (!rc && !x->byrow) {
        /* reconciled up to which change number: the cursor of model "" */
        long long done = 0, top = 0, c, r;
        cursor_get(x, "", &done, &r);
        for (int i = 0; i < e->nmodels; i++) {
            cursor_get(x, e->models[i], &c, &r);
            top = c > top ? c : top;
        }
        /* a first export wrote the select's records from every live row
         * as they are now: nothing exported can have left the select since
         * (a change made meanwhile is past top and reconciled next run) */
        if (top > done && (first_time || !(rc = reconcile(x, err))))
            rc = cursor_set(x, "", top, 0, err);
    }
out:
    entity_end(x);
    return rc;
}

/* ---- start of a run: what a killed run left ---- */

typedef struct sweep {
    exp *x;
    char rel[1024];
    int depth;
} sweep;

/* Deletes files under export/ that no attachment names (a run killed
 * between rename and commit, or a temporary file). */
static rdm_rc sweep_fn(void *ud, const char *name, rdm_err *err)
{
    sweep *w = ud;
    exp *x = w->x;
    size_t keep = strlen(w->rel);
    char path[4096];
    rdm_rc rc = RDM_OK;

    if (keep + strlen(name) + 2 >= sizeof w->rel)
        return RDM_OK;
    snprintf(w->rel + keep, sizeof w->rel - keep, "/%s", name);
    if ((rc = abs_path(x, w->rel, path, sizeof path, err)))
        goto out;
    plat_kind_t k = plat_kind(path, NULL);
    if (k == PLAT_DIR && w->depth < 3) {
        w->depth++;
        rc = plat_listdir(path, sweep_fn, w, err);
        w->depth--;
        if (!rc && w->depth > 0)
            plat_rmdir(path); /* only succeeds when empty */
    } else if (k == PLAT_FILE) {
        sqlite3_stmt *s = NULL;
        int known = 0;
        if (sqlite3_prepare_v2(store_db(x->st), "SELECT 1 FROM attachment WHERE path = ?", -1, &s,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_text(s, 1, w->rel, -1, SQLITE_STATIC);
            known = sqlite3_step(s) == SQLITE_ROW;
        }
        sqlite3_finalize(s);
        if (!known) {
            log_info("export: deleting %s, written by an interrupted run and never registered",
                     path);
            if (!(rc = plat_remove(path, err)))
                x->out->orphans++;
        }
    }
out:
    w->rel[keep] = '\0';
    return rc;
}

static rdm_rc recover(exp *x, rdm_err *err)
{
    rdm_rc rc;
    char dir[4096];
    if ((rc = store_begin(x->st, err)) ||
        (rc = store_execf(x->st, err,
                          "UPDATE export_substage SET status = 'FAILED', ended_at = %lld, error = "
                          "'interrupted: the agent stopped during this sub-stage; its records are "
                          "exported again' WHERE status IN ('CREATED', 'IN_PROGRESS')",
                          x->now)) ||
        (rc = store_execf(x->st, err,
                          "UPDATE export_stage SET status = 'FAILED', ended_at = %lld, error = "
                          "'interrupted: the agent stopped during this stage; the next run resumed "
                          "its work' WHERE status IN ('CREATED', 'IN_PROGRESS')",
                          x->now)) ||
        (rc = store_commit(x->st, err))) {
        store_rollback(x->st);
        return rc;
    }
    if ((rc = abs_path(x, "export", dir, sizeof dir, err)))
        return rc;
    if (plat_kind(dir, NULL) != PLAT_DIR)
        return RDM_OK;
    sweep w = {x, "export", 0};
    return plat_listdir(dir, sweep_fn, &w, err);
}

rdm_rc export_run(store *st, const profile *p, const rdm_config *cfg, const char *data_dir,
                  const unsigned char *sel, export_stats *out, rdm_err *err)
{
    exp x;
    rdm_rc rc, first = RDM_OK;
    rdm_err e1;

    memset(out, 0, sizeof *out);
    memset(&x, 0, sizeof x);
    x.st = st;
    x.p = p;
    x.cfg = cfg;
    x.data_dir = data_dir;
    x.prefix = cfg_str(cfg, CFG_EXPORT_ENTITY_ID_PREFIX);
    x.limit = (int)cfg_int(cfg, CFG_EXPORT_CHUNK_SIZE);
    x.out = out;
    x.now = (long long)time(NULL);
    buf_init(&x.hdr, 1u << 20);
    buf_init(&x.cap, 1u << 26);
    buf_init(&x.pk, 1u << 20);
    buf_init(&x.pend_keys, 1u << 26);
    buf_init(&x.sql, SQL_MAX);

    if ((rc = plat_chan_new(NBLK + 2 * NSLOT + 1, &x.full, err)) ||
        (rc = plat_chan_new(NBLK, &x.empty, err)) ||
        (rc = plat_chan_new(NSLOT + 1, &x.sync, err)) || (rc = plat_chan_new(NSLOT, &x.done, err)))
        goto free;
    for (int i = 0; i < NSLOT; i++) {
        x.slots[i].begin.slot = x.slots[i].end.slot = &x.slots[i];
        x.slots[i].begin.kind = BK_BEGIN;
    }
    x.quit.kind = BK_QUIT;
    for (int i = 0; i < NBLK; i++) {
        if (!(x.blks[i].p = malloc(BLK_SIZE))) {
            rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
            goto free;
        }
        x.blks[i].cap = BLK_SIZE;
        if (i)
            plat_chan_put(x.empty, &x.blks[i]);
    }
    x.cur = &x.blks[0];
    if ((rc = plat_thread_start(&x.thr_w, writer, &x, err)))
        goto free;
    if ((rc = plat_thread_start(&x.thr_s, syncer, &x, err)))
        goto free;
    if ((rc =
             store_lock_acquire(st, "export", cfg_int(cfg, CFG_TRANSFER_LOCK_EXPIRE_SECONDS), err)))
        goto free;
    if ((rc = recover(&x, err)))
        goto unlock;
    /* the reading connection, where the temporary views live */
    if ((rc = store_open(store_path(st), 0, 5000, &x.rd, NULL, err)) ||
        /* it reads windows in index order: a small page cache does */
        (rc = store_exec(x.rd, "PRAGMA cache_size=-8192", err)) ||
        (rc = store_exec(x.rd,
                         "CREATE TEMP TABLE \"rdm:win\"(lc INTEGER, lr INTEGER, hc INTEGER, hr "
                         "INTEGER, del INTEGER); INSERT INTO temp.\"rdm:win\" VALUES (0, 0, 0, 0, "
                         "0)",
                         err)))
        goto unlock;
    {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(store_db(st), "SELECT value FROM counter WHERE name = 'change'", -1,
                               &s, NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW)
            x.upto = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    if ((rc = store_begin(st, err)) ||
        (rc = store_execf(
             st, err, "INSERT INTO export_stage(status, started_at) VALUES ('IN_PROGRESS', %lld)",
             x.now))) {
        store_rollback(st);
        goto unlock;
    }
    x.stage = out->stage_id = sqlite3_last_insert_rowid(store_db(st));
    if ((rc = store_commit(st, err)))
        goto unlock;
    /* Commits need not reach the platter one by one: a sub-stage whose
     * commit a power cut takes back leaves unregistered files, deleted at
     * the next start, and is exported again. Uploads commit with
     * synchronous=FULL before sending, which makes everything before
     * durable too (the WAL is written in order). */
    store_exec(st, "PRAGMA synchronous=NORMAL", NULL);
    /* the WAL checkpointed beside (see collect.c) */
    store_ckpt *ck = NULL;
    if (store_ckpt_start(st, &ck, NULL))
        ck = NULL;
    progress_begin(&x.pg, "export", "records", 0);
    for (int i = 0; i < p->nentities; i++) {
        if (!sel[i])
            continue;
        out->entities++;
        if (plat_stop_requested()) {
            rc = rdm_fail(&e1, RDM_ERR_STOPPED,
                          "export stopped on request before %s; the next run goes on from there",
                          p->entities[i].key);
            if (!first) {
                first = rc;
                *err = e1;
            }
            break;
        }
        if ((rc = export_entity(&x, &p->entities[i], &e1))) {
            if (rc == RDM_ERR_STOPPED) {
                if (!first) {
                    first = rc;
                    *err = e1;
                }
                break;
            }
            out->failed++;
            log_error("export of %s failed: %s", p->entities[i].key, e1.msg);
            if (!first) {
                first = rc;
                *err = e1;
            }
        }
    }
    progress_end(&x.pg);
    store_ckpt_stop(ck);
    rc = first;
    store_exec(st, "PRAGMA synchronous=FULL", NULL);
    {
        rdm_err e2;
        if (store_execf(
                st, &e2,
                "UPDATE export_stage SET status = '%s', ended_at = %lld, error = %s WHERE id "
                "= %lld",
                rc ? "FAILED" : "FINISHED", (long long)time(NULL),
                rc == RDM_ERR_STOPPED ? "'stopped on request; the next run goes on from there'"
                : rc ? "(SELECT error FROM export_substage WHERE stage_id = export_stage.id AND "
                       "status = 'FAILED' ORDER BY id LIMIT 1)"
                     : "NULL",
                x.stage) &&
            !rc) {
            rc = RDM_ERR_STORE;
            *err = e2;
        }
    }
unlock:
    for (int i = 0; i < QC_N; i++)
        uncache(&x, i);
    store_close(x.rd);
    store_lock_release(st, "export", NULL);
free:
    if (x.thr_w) {
        plat_chan_put(x.full, &x.quit); /* the writer passes it on to the syncer */
        plat_thread_join(x.thr_w);
        if (!x.thr_s)
            plat_chan_get(x.sync);
    } else if (x.thr_s) {
        plat_chan_put(x.sync, &x.quit);
    }
    plat_thread_join(x.thr_s);
    plat_chan_free(x.sync);
    plat_chan_free(x.full);
    plat_chan_free(x.empty);
    plat_chan_free(x.done);
    for (int i = 0; i < NBLK; i++)
        free(x.blks[i].p);
    buf_free(&x.hdr);
    buf_free(&x.cap);
    buf_free(&x.pk);
    buf_free(&x.pend_keys);
    free(x.pend.p);
    buf_free(&x.sql);
    return rc;
}
