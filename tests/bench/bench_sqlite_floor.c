/* bench_sqlite_floor.c - what SQLite alone costs to store the rows of
 * bench_collect.sh's dump, with no CSV, no checks and no change detection:
 * the same generated values, already split into fields, inserted with
 * static binds by one prepared statement into (1) a bare table of the 17
 * columns, as sqlite3's .import makes it, in one transaction; (2) the
 * staged table's shape (key, hash, operation, change number, sub-stage,
 * times, the 17 columns; a unique index on the key and an index on the
 * change number) in one transaction; (3) the same, one transaction per
 * 500 rows with a sub-stage row each, as collect commits. All three in
 * WAL mode, synchronous=NORMAL and 32 MiB of cache as the store opens, and
 * without checkpoints (the store runs them on a second thread): the cost
 * of the rows' own writing.
 *
 * Usage: bench_sqlite_floor ROWS DIR. Prints seconds per case. Not a test:
 * the floor under import + collect that no parser can go below.
 *
 * bench_sqlite_floor --store STORE DIR MODEL FILE SEP [MODEL FILE SEP]...:
 * the same floor for any dump (bench_school.sh): the staged tables of
 * STORE (an rdm-agent store that collected the dumps: its table and index
 * definitions, read from sqlite_master) are made again in DIR/floor.db,
 * and each FILE's rows, split at SEP and newlines (no quoted separators;
 * quotes around a field are dropped) before the clock starts, are
 * inserted as collect does for a model kept by its integer key: one
 * statement a row, static binds, a commit every 500 rows with a sub-stage
 * row and a source position. Only the transactions are timed. */
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NCOL 17

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(db, sql);
}

/* Row i of bench_collect.sh's generator, as fields (v[k], n[k]) in buf. */
static void row(long i, char *buf, size_t cap, const char **v, int *n)
{
    char *o = buf;
    size_t left = cap;
#define FIELD(k, ...)                                                                              \
    do {                                                                                           \
        int w = snprintf(o, left, __VA_ARGS__);                                                    \
        v[k] = o, n[k] = w;                                                                        \
        o += w + 1, left -= (size_t)w + 1;                                                         \
    } while (0)
    FIELD(0, "%ld", i);
    FIELD(1, "%ld", i % 5 + 1);
    FIELD(2, "%ld", i % 5 + 1);
    FIELD(3, "г. Город, ул. Улица %ld, д. %ld", i, i % 100);
    FIELD(4, "Город %ld", i % 1000);
    FIELD(5, "Район %ld", i % 50);
    FIELD(6, "Область %ld", i % 85);
    FIELD(7, "%06ld", 100000 + i % 900000);
    FIELD(8, "Россия");
    FIELD(9, "2020-01-01 00:00:00");
    v[10] = NULL, n[10] = 0;
    FIELD(11, "%ld", i % 200);
    FIELD(12, "%ld", i % 10);
    FIELD(13, "%ld", i % 150);
    FIELD(14, "Улица %ld", i % 3000);
    FIELD(15, "2024-01-01 10:00:00");
    FIELD(16, "2024-01-02 10:00:00");
#undef FIELD
}

static const char *const cols =
    "id TEXT, use_address INTEGER, type_address INTEGER, text TEXT, city TEXT, district TEXT, "
    "state TEXT, postal_code TEXT, country TEXT, start_datetime TEXT, end_datetime TEXT, flat "
    "TEXT, building TEXT, house TEXT, street TEXT, create_datetime TEXT, send_datetime TEXT";

/* Inserts rows 1..rows; staged: the staged shape; chunk: rows per commit
 * (0 = one transaction). Returns seconds. */
static double run(const char *path, long rows, int staged, long chunk)
{
    sqlite3 *db;
    sqlite3_stmt *ins, *sub = NULL;
    char sql[2048], buf[1024];
    const char *v[NCOL];
    int n[NCOL];
    remove(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(db, path);
    /* no checkpoints: the rows' own writing only (the store checkpoints on a
     * second thread) */
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768; "
             "PRAGMA wal_autocheckpoint=0");
    if (staged) {
        snprintf(sql, sizeof sql,
                 "CREATE TABLE t(\"rdm:k\" TEXT NOT NULL, \"rdm:h\" INTEGER NOT NULL, \"rdm:op\" "
                 "INTEGER NOT NULL, \"rdm:chg\" INTEGER NOT NULL, \"rdm:substage\" INTEGER, "
                 "\"rdm:created\" INTEGER NOT NULL, \"rdm:modified\" INTEGER NOT NULL, %s); "
                 "CREATE INDEX t_chg ON t(\"rdm:chg\"); CREATE UNIQUE INDEX t_k ON t(\"rdm:k\"); "
                 "CREATE TABLE sub(id INTEGER PRIMARY KEY, rows INTEGER, at INTEGER)",
                 cols);
        exec(db, sql);
        snprintf(sql, sizeof sql,
                 "INSERT INTO t VALUES (?1, ?2, 1, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                 "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) ON CONFLICT DO NOTHING");
        if (sqlite3_prepare_v2(db, "INSERT INTO sub(rows, at) VALUES (?1, ?2)", -1, &sub, NULL))
            die(db, "prepare");
    } else {
        snprintf(sql, sizeof sql, "CREATE TABLE t(%s)", cols);
        exec(db, sql);
        snprintf(sql, sizeof sql,
                 "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                 "?14, ?15, ?16, ?17)");
    }
    if (sqlite3_prepare_v2(db, sql, -1, &ins, NULL))
        die(db, "prepare");
    double t0 = now_s();
    exec(db, "BEGIN");
    for (long i = 1; i <= rows; i++) {
        row(i, buf, sizeof buf, v, n);
        int first = 1;
        if (staged) {
            long long h = (long long)(i * 0x9E3779B97F4A7C15ULL >> 1);
            sqlite3_bind_text(ins, 1, v[0], n[0], SQLITE_STATIC);
            sqlite3_bind_int64(ins, 2, h);
            sqlite3_bind_int64(ins, 3, chunk ? (i - 1) / chunk + 1 : 1);
            sqlite3_bind_int64(ins, 4, chunk ? (i - 1) / chunk + 1 : 1);
            sqlite3_bind_int64(ins, 5, 1764300000);
            first = 6;
        }
        for (int k = 0; k < NCOL; k++)
            if (v[k])
                sqlite3_bind_text(ins, first + k, v[k], n[k], SQLITE_STATIC);
            else
                sqlite3_bind_null(ins, first + k);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die(db, "insert");
        sqlite3_reset(ins);
        if (chunk && (i % chunk == 0 || i == rows)) {
            sqlite3_bind_int64(sub, 1, chunk);
            sqlite3_bind_int64(sub, 2, i);
            if (sqlite3_step(sub) != SQLITE_DONE)
                die(db, "sub-stage");
            sqlite3_reset(sub);
            exec(db, "COMMIT");
            if (i < rows)
                exec(db, "BEGIN");
        }
    }
    if (!chunk)
        exec(db, "COMMIT");
    double t = now_s() - t0;
    sqlite3_finalize(ins);
    sqlite3_finalize(sub);
    sqlite3_close(db);
    return t;
}

/* ---- --store: the store's staged tables, rows from dump files ---- */

#define CHUNK 500
#define MAXF  1024

/* Splits the line [p, e) at sep into v/n (quotes around a field dropped);
 * returns the number of fields. */
static int split(char *p, char *e, char sep, const char **v, int *n)
{
    int k = 0;
    if (e > p && e[-1] == '\r')
        e--;
    while (k < MAXF) {
        char *f = p, *end = memchr(p, sep, (size_t)(e - p));
        if (!end)
            end = e;
        char *fe = end;
        if (fe - f >= 2 && *f == '"' && fe[-1] == '"')
            f++, fe--;
        v[k] = f, n[k] = (int)(fe - f);
        k++;
        if (end == e)
            break;
        p = end + 1;
    }
    return k;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    long n = 0;
    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
        !(b = malloc((size_t)n + 1)) || fread(b, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(1);
    }
    fclose(f);
    b[n] = '\n';
    *len = (size_t)n;
    return b;
}

/* The floor of one model: returns the seconds inside transactions and
 * adds its rows to *rows. */
static double store_model(sqlite3 *src, sqlite3 *db, const char *model, const char *file, char sep,
                          long *rows, long long *chg)
{
    char sql[512], tbl[160];
    sqlite3_stmt *q, *ins, *sub, *pos;
    int ncol = 0;
    snprintf(tbl, sizeof tbl, "rdm:stg:%s", model);
    /* the table first, then its indexes */
    if (sqlite3_prepare_v2(src,
                           "SELECT sql FROM sqlite_master WHERE tbl_name = ?1 AND sql IS NOT NULL "
                           "ORDER BY type = 'index'",
                           -1, &q, NULL))
        die(src, "prepare");
    sqlite3_bind_text(q, 1, tbl, -1, SQLITE_STATIC);
    while (sqlite3_step(q) == SQLITE_ROW)
        exec(db, (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s')", tbl);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) || sqlite3_step(q) != SQLITE_ROW)
        die(db, "no staged table for that model in the store");
    ncol = sqlite3_column_int(q, 0) - 7; /* after the 7 "rdm:" columns */
    sqlite3_finalize(q);
    if (ncol < 1 || ncol > MAXF)
        die(db, "unexpected staged table");
    /* every column by name, then the rowid: the key, as collect keeps a
     * model with one integer key */
    size_t cap = 4096 + (size_t)ncol * 200;
    char *b = malloc(cap);
    int o = snprintf(b, cap, "INSERT OR IGNORE INTO \"%s\"(", tbl);
    snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%s') ORDER BY cid", tbl);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL))
        die(db, "prepare");
    while (sqlite3_step(q) == SQLITE_ROW)
        o += snprintf(b + o, cap - (size_t)o, "\"%s\", ", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    o += snprintf(b + o, cap - (size_t)o, "rowid) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?5");
    for (int i = 0; i < ncol + 1; i++)
        o += snprintf(b + o, cap - (size_t)o, ", ?%d", 6 + i);
    snprintf(b + o, cap - (size_t)o, ")");
    if (sqlite3_prepare_v2(db, b, -1, &ins, NULL))
        die(db, "prepare insert");
    free(b);
    if (sqlite3_prepare_v2(db, "INSERT INTO sub(rows, at) VALUES (?1, ?2)", -1, &sub, NULL) ||
        sqlite3_prepare_v2(db, "UPDATE pos SET v = ?1 WHERE id = 1", -1, &pos, NULL))
        die(db, "prepare");

    size_t len;
    char *buf = slurp(file, &len), *p = (char *)memchr(buf, '\n', len + 1) + 1, *end = buf + len;
    static const char *v[CHUNK][MAXF];
    static int n[CHUNK][MAXF], nf[CHUNK];
    double t = 0;
    while (p < end) {
        int k = 0;
        /* split a chunk's rows before the clock starts */
        while (k < CHUNK && p < end) {
            char *e = memchr(p, '\n', (size_t)(end - p) + 1);
            if (e > p)
                nf[k] = split(p, e, sep, v[k], n[k]), k++;
            p = e + 1;
        }
        double t0 = now_s();
        exec(db, "BEGIN");
        for (int r = 0; r < k; r++) {
            sqlite3_bind_text(ins, 1, v[r][0], n[r][0], SQLITE_STATIC);
            sqlite3_bind_int64(ins, 2, (long long)(*chg * 0x9E3779B97F4A7C15ULL >> 1));
            sqlite3_bind_int64(ins, 3, ++*chg);
            sqlite3_bind_int64(ins, 4, *chg / CHUNK + 1);
            sqlite3_bind_int64(ins, 5, 1764300000);
            for (int i = 0; i < ncol; i++)
                if (i < nf[r] && n[r][i])
                    sqlite3_bind_text(ins, 6 + i, v[r][i], n[r][i], SQLITE_STATIC);
                else
                    sqlite3_bind_null(ins, 6 + i);
            sqlite3_bind_int64(ins, 6 + ncol, atoll(v[r][0]));
            if (sqlite3_step(ins) != SQLITE_DONE)
                die(db, "insert");
            sqlite3_reset(ins);
        }
        sqlite3_bind_int64(sub, 1, k);
        sqlite3_bind_int64(sub, 2, *chg);
        sqlite3_bind_int64(pos, 1, (long long)(p - buf));
        if (sqlite3_step(sub) != SQLITE_DONE || sqlite3_step(pos) != SQLITE_DONE)
            die(db, "sub-stage");
        sqlite3_reset(sub);
        sqlite3_reset(pos);
        exec(db, "COMMIT");
        t += now_s() - t0;
        *rows += k;
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(sub);
    sqlite3_finalize(pos);
    free(buf);
    return t;
}

static int store_main(int argc, char **argv)
{
    sqlite3 *src, *db;
    char path[4096];
    long rows = 0;
    long long chg = 0;
    double t = 0;
    if (argc < 7 || (argc - 4) % 3) {
        fprintf(stderr, "usage: bench_sqlite_floor --store STORE DIR MODEL FILE SEP...\n");
        return 2;
    }
    if (sqlite3_open_v2(argv[2], &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die(src, argv[2]);
    snprintf(path, sizeof path, "%s/floor.db", argv[3]);
    remove(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(db, path);
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768; "
             "PRAGMA wal_autocheckpoint=0; CREATE TABLE sub(id INTEGER PRIMARY KEY, rows "
             "INTEGER, at INTEGER); CREATE TABLE pos(id INTEGER PRIMARY KEY, v INTEGER); "
             "INSERT INTO pos VALUES (1, 0)");
    for (int i = 4; i + 2 < argc; i += 3)
        t += store_model(src, db, argv[i], argv[i + 1], argv[i + 2][0], &rows, &chg);
    sqlite3_close(src);
    sqlite3_close(db);
    char wal[4200], shm[4200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    remove(path), remove(wal), remove(shm);
    printf("%.2f s for %ld rows\n", t, rows);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--store") == 0)
        return store_main(argc, argv);
    if (argc != 3) {
        fprintf(stderr, "usage: bench_sqlite_floor ROWS DIR\n");
        return 2;
    }
    long rows = atol(argv[1]);
    char path[4096];
    snprintf(path, sizeof path, "%s/floor.db", argv[2]);
    double bare = run(path, rows, 0, 0);
    double one = run(path, rows, 1, 0);
    double chunked = run(path, rows, 1, 500);
    char wal[4200], shm[4200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    remove(path), remove(wal), remove(shm);
    printf("sqlite floor, %ld pre-split rows, static binds: bare table in one transaction %.2f s; "
           "staged shape (key and change-number indexes) in one transaction %.2f s; the same "
           "committed every 500 rows with a sub-stage row %.2f s\n",
           rows, bare, one, chunked);
    return 0;
}
