/*
 * sqlcheck.h - checks a SELECT written in a profile against the tables it
 * may read, without any data: an in-memory SQLite database gets the DDL,
 * the SELECT is prepared (never run), and its result columns are reported.
 *
 * Interface (prefix sqlcheck_):
 *   sqlcheck_select()  prepare `select` over `ddl`; call back per column
 *   sqlcheck_windowed() whether `select` gives the right records when one
 *                      of the models it reads shows only its changed rows
 *   sqlcheck_store_name() whether a name is taken by the store's own schema
 */
#ifndef RDM_SQLCHECK_H
#define RDM_SQLCHECK_H

#include "../base/rc.h"

/* Called once per result column, in order, with its name. */
typedef rdm_rc (*sqlcheck_col_fn)(void *ud, int index, const char *name, rdm_err *err);

/* Executes ddl (CREATE TABLE statements) in a private in-memory database,
 * prepares select there and reports its columns. A select that is not a
 * single read-only statement, or does not compile, is RDM_ERR_PARSE with
 * SQLite's message. */
rdm_rc sqlcheck_select(const char *ddl, const char *select, sqlcheck_col_fn fn, void *ud,
                       rdm_err *err);

/* Export reads an entity's select with one model at a time shown through
 * a window of its changed rows (export.c). That is right when each record
 * is made of one row of each model the select reads, all of which it
 * needs: inner joins and EXISTS. RDM_ERR_PARSE saying why otherwise: a
 * model read twice (a self-join, a subquery on a model it reads), an
 * outer join (when nmodels > 1), a subquery for a value, NOT EXISTS,
 * NOT IN (SELECT ...), EXCEPT, GROUP BY, a window function. */
rdm_rc sqlcheck_windowed(const char *ddl, const char *select, int nmodels, rdm_err *err);

/* 1 when name (any case) is a table, index or view of the store's own
 * schema (every migration of storage/schema.c applied to an empty
 * database, once per process) or begins with "sqlite_": a model of that
 * name would be shadowed by, or shadow, the store's table. */
int sqlcheck_store_name(const char *name);

#endif
