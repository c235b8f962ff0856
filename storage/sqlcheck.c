/* sqlcheck.c - see sqlcheck.h. */
#include "sqlcheck.h"
#include "schema.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

rdm_rc sqlcheck_select(const char *ddl, const char *select, sqlcheck_col_fn fn, void *ud,
                       rdm_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    char *msg = NULL;
    rdm_rc rc = RDM_OK;

    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)) {
        rc = rdm_fail(err, RDM_ERR_NOMEM, "cannot open an in-memory database");
        goto out;
    }
    if (sqlite3_exec(db, ddl, NULL, NULL, &msg) != SQLITE_OK) {
        rc = rdm_fail(err, RDM_ERR_INTERNAL, "model tables: %s", msg ? msg : "?");
        goto out;
    }
    if (sqlite3_prepare_v2(db, select, -1, &st, &tail) != SQLITE_OK) {
        rc = rdm_fail(err, RDM_ERR_PARSE, "%s", sqlite3_errmsg(db));
        goto out;
    }
    if (!st) {
        rc = rdm_fail(err, RDM_ERR_PARSE, "the query is empty");
        goto out;
    }
    while (tail &&
           (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == '\r' || *tail == ';'))
        tail++;
    if (tail && *tail) {
        rc = rdm_fail(err, RDM_ERR_PARSE, "only one statement is allowed; extra text: '%.40s'",
                      tail);
        goto out;
    }
    if (!sqlite3_stmt_readonly(st) || sqlite3_column_count(st) == 0) {
        rc = rdm_fail(err, RDM_ERR_PARSE, "the query must be a SELECT");
        goto out;
    }
    for (int i = 0; i < sqlite3_column_count(st) && !rc; i++)
        rc = fn(ud, i, sqlite3_column_name(st, i), err);
out:
    sqlite3_free(msg);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* ---- whether a select can be read through export windows ---- */

/* The next word of a select (a keyword or a bare name), skipping strings,
 * quoted names and comments; NULL at the end. *len gets its length. */
static const char *next_word(const char **p, size_t *len)
{
    const char *s = *p;
    while (*s) {
        char c = *s;
        if (c == '\'' || c == '"' || c == '`' || c == '[') {
            char close = c == '[' ? ']' : c;
            for (s++; *s; s++)
                if (*s == close) {
                    if (close != ']' && s[1] == close) {
                        s++;
                        continue;
                    }
                    break;
                }
            if (*s)
                s++;
        } else if (c == '-' && s[1] == '-') {
            while (*s && *s != '\n')
                s++;
        } else if (c == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e ? e + 2 : s + strlen(s);
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') {
            const char *b = s;
            while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
                   (*s >= '0' && *s <= '9') || (unsigned char)*s >= 0x80)
                s++;
            *len = (size_t)(s - b);
            *p = s;
            return b;
        } else {
            s++;
        }
    }
    *p = s;
    return NULL;
}

static int word_is(const char *w, size_t n, const char *kw)
{
    return w && strlen(kw) == n && sqlite3_strnicmp(w, kw, (int)n) == 0;
}

/* The first character after *p that is not a space. */
static char next_char(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return *p;
}

/* After EXISTS at p: 1 when the ( ... ) that follows is compared with
 * something (=, <, >, !=, IS). */
static int exists_compared(const char *p)
{
    while (*p && *p != '(')
        p++;
    int depth = 0;
    for (; *p; p++) {
        if (*p == '\'' || *p == '"') { /* skip a literal or a quoted name */
            char c = *p;
            for (p++; *p && !(*p == c && p[1] != c); p += *p == c ? 2 : 1)
                ;
            if (!*p)
                break;
            continue;
        }
        if (*p == '(')
            depth++;
        else if (*p == ')' && --depth == 0)
            break;
    }
    if (!*p)
        return 0;
    p++;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    size_t n;
    const char *w = next_word(&(const char *){p}, &n);
    return *p == '=' || *p == '<' || *p == '>' || *p == '!' || (w == p && word_is(w, n, "IS"));
}

rdm_rc sqlcheck_windowed(const char *ddl, const char *select, int nmodels, rdm_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *msg = NULL, *sql = NULL;
    rdm_rc rc = RDM_OK;
    struct {
        char name[128];
        int root, reads;
    } t[64];
    int nt = 0, nsub = 0, nexists = 0;

    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) ||
        sqlite3_exec(db, ddl, NULL, NULL, &msg) != SQLITE_OK) {
        rc = rdm_fail(err, RDM_ERR_INTERNAL, "model tables: %s", msg ? msg : "?");
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT name, rootpage FROM sqlite_schema WHERE type = 'table'", -1,
                           &st, NULL) == SQLITE_OK)
        while (nt < 64 && sqlite3_step(st) == SQLITE_ROW) {
            snprintf(t[nt].name, sizeof t[nt].name, "%s", (const char *)sqlite3_column_text(st, 0));
            t[nt].root = sqlite3_column_int(st, 1);
            t[nt++].reads = 0;
        }
    sqlite3_finalize(st);
    st = NULL;
    /* each place the select reads a table opens a cursor on its root page
     * (the check database has no indexes) */
    if (!(sql = sqlite3_mprintf("EXPLAIN %s", select)) ||
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = rdm_fail(err, RDM_ERR_PARSE, "%s", sqlite3_errmsg(db));
        goto out;
    }
    int agg = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *op = (const char *)sqlite3_column_text(st, 1);
        if (strcmp(op, "OpenRead") == 0)
            for (int i = 0; i < nt; i++)
                t[i].reads += t[i].root == sqlite3_column_int(st, 3);
        /* AggStep, AggFinal, AggValue...; Count: count(*) of a whole table */
        agg |= strncmp(op, "Agg", 3) == 0 || strcmp(op, "Count") == 0;
    }
    sqlite3_finalize(st);
    st = NULL;
    for (int i = 0; i < nt; i++)
        if (t[i].reads > 1) {
            rc = rdm_fail(err, RDM_ERR_PARSE,
                          "it reads model '%s' %d times (a self-join, or a subquery on a model "
                          "it reads): an export window shows a model's changed rows only, so a "
                          "record needing another row of the same model would be missed or "
                          "garbled; read each model once",
                          t[i].name, t[i].reads);
            goto out;
        }
    sqlite3_free(sql);
    if (!(sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", select)) ||
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = rdm_fail(err, RDM_ERR_PARSE, "%s", sqlite3_errmsg(db));
        goto out;
    }
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        if (!d)
            continue;
        if (nmodels > 1 && (strstr(d, "LEFT-JOIN") || strstr(d, "RIGHT-JOIN")))
            rc = rdm_fail(err, RDM_ERR_PARSE,
                          "it uses an outer join (LEFT, RIGHT or FULL JOIN): when the model on "
                          "its optional side has changed rows, the rows outside the export "
                          "window would read as missing and records be sent with empty values; "
                          "use an inner JOIN");
        nsub += strstr(d, "SCALAR SUBQUERY") != NULL;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc)
        goto out;
    /* what the plan does not tell: NOT EXISTS, EXISTS used as a value,
     * IN (SELECT ...), EXCEPT, GROUP BY, LIMIT, window functions, and a
     * subquery that is not an EXISTS */
    const char *p = select, *w, *prev = NULL;
    size_t n, pn = 0;
    int filter = 0, negated = 0;
    while (!rc && (w = next_word(&p, &n))) {
        const char *why = NULL;
        if (word_is(w, n, "EXISTS")) {
            if (word_is(prev, pn, "NOT"))
                why = "NOT EXISTS";
            else if (!word_is(prev, pn, "WHERE") && !word_is(prev, pn, "AND") &&
                     !word_is(prev, pn, "ON"))
                why = "EXISTS as a value (in a CASE, a result column, after OR): it is a filter "
                      "only after WHERE, AND or ON";
            else if (exists_compared(p))
                why = "EXISTS compared with a value (EXISTS(...) = 0 is NOT EXISTS)";
            else
                nexists++;
        } else if (word_is(w, n, "IN") && next_char(p) == '(') {
            const char *q = p;
            while (*q && *q != '(')
                q++;
            size_t n2;
            const char *w2 = next_word(&(const char *){q + 1}, &n2);
            if ((word_is(w2, n2, "SELECT") || word_is(w2, n2, "WITH")) && (negated || !filter))
                why = negated ? "NOT IN (SELECT ...)"
                              : "IN (SELECT ...) as a value: it is a filter only after WHERE, "
                                "AND or ON";
        } else if (word_is(w, n, "LIMIT")) {
            why = "LIMIT";
        } else if (word_is(w, n, "WINDOW")) {
            why = "a window definition (WINDOW)";
        } else if (word_is(w, n, "EXCEPT")) {
            why = "EXCEPT";
        } else if (word_is(w, n, "BY") && word_is(prev, pn, "GROUP")) {
            why = "GROUP BY";
        } else if (word_is(w, n, "OVER") && next_char(p) == '(') {
            why = "a window function (OVER)";
        }
        if (why)
            rc = rdm_fail(err, RDM_ERR_PARSE,
                          "it uses %s: an export window shows a model's changed rows only, so "
                          "what depends on rows outside it (their absence, a count, a rank) "
                          "would come out wrong; use joins and EXISTS only",
                          why);
        /* the condition being read: a filter (after WHERE, AND, ON) or a
         * value; negated once a NOT came in it */
        if (word_is(w, n, "WHERE") || word_is(w, n, "AND") || word_is(w, n, "ON"))
            filter = 1, negated = 0;
        else if (word_is(w, n, "SELECT") || word_is(w, n, "CASE") || word_is(w, n, "WHEN") ||
                 word_is(w, n, "THEN") || word_is(w, n, "ELSE") || word_is(w, n, "OR"))
            filter = 0, negated = 0;
        else if (word_is(w, n, "NOT"))
            negated = 1;
        prev = w, pn = n;
    }
    /* after the words: GROUP BY and OVER say it better */
    if (!rc && agg)
        rc = rdm_fail(err, RDM_ERR_PARSE,
                      "it uses an aggregate (count, sum, min, max, avg, group_concat... over "
                      "rows, with or without GROUP BY): an export window shows a model's changed "
                      "rows only, so the value would be computed over those rows alone; use "
                      "joins and EXISTS only");
    if (!rc && nsub > nexists)
        rc = rdm_fail(err, RDM_ERR_PARSE,
                      "it uses a subquery for a value: when the model the subquery reads has "
                      "changed rows, the rows outside the export window would read as missing "
                      "and records be sent with empty values; use a JOIN (EXISTS is fine)");
out:
    sqlite3_free(msg);
    sqlite3_free(sql);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int sqlcheck_store_name(const char *name)
{
    static sqlite3 *db; /* the store's schema, empty; kept for the process */
    static int failed;
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_strnicmp(name, "sqlite_", 7) == 0)
        return 1;
    if (!db && !failed) {
        failed = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                 NULL) != SQLITE_OK;
        for (int v = 1; !failed && v <= schema_latest(); v++) {
            const char *sql = schema_migration(v);
            failed = sql && sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK;
        }
        if (failed) {
            sqlite3_close(db);
            db = NULL;
        }
    }
    if (!db)
        return 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = ?1 COLLATE NOCASE", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}
