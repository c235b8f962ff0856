/*
 * sqlcheck.h - checks a SELECT written in a profile against the tables it
 * may read, without any data: an in-memory SQLite database gets the DDL,
 * the SELECT is prepared (never run), and its result columns are reported.
 *
 * Interface (prefix sqlcheck_):
 *   sqlcheck_select()  prepare `select` over `ddl`; call back per column
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

#endif
