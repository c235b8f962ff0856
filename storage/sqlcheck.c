/* sqlcheck.c - see sqlcheck.h. */
#include "sqlcheck.h"

#include <sqlite3.h>
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
