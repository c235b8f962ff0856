/*
 * staging.h - the staged data: what was landed from a source (a CSV dump or
 * a PostgreSQL pull) and the staged model rows the export reads.
 *
 * Where things are (table names cannot clash with a profile's identifiers:
 * they hold ':'):
 *   import_source            one row per landed source, with its collect
 *                            position (phase, last_k)
 *   <store dir>/land/<id>.rows   the landed rows of one source (landfile.h),
 *                            written once by import, read once by collect,
 *                            removed when collected
 *   "rdm:stg:<model>"        the staged rows: key, content hash, operation
 *                            (1 CREATE, 2 UPDATE, 3 DELETE), change number,
 *                            the sub-stage that last changed it, created,
 *                            modified, the model's columns
 *   quarantine               rows refused by --skip-bad-rows, with why
 *   counter('change')        the last change number handed out
 *   counter('live:<model>')  the model's staged rows that are not deleted
 *
 * Each row is written to SQLite once, and only when it changes: collect
 * looks every landed key up and inserts a new one, updates a changed one
 * and leaves an unchanged one alone. One chunk per call, in the caller's
 * transaction, so the staged rows, the sub-stage and the source position
 * commit together.
 *
 * Interface (prefix stg_): see each function.
 */
#ifndef RDM_STAGING_H
#define RDM_STAGING_H

#include "store.h"

#include <stdint.h>

/* A model as storage needs it (the agent builds it from the profile). */
typedef struct stg_model {
    const char *name;
    int ncols;
    const char *const *cols; /* column names */
    const int *integer;      /* 1: INTEGER affinity (int and bool columns) */
    int rowid_key;           /* 1: the key is one int column (its value fits
                                64 bits: import checks): it is the rowid */
} stg_model;

/* Creates the staged table of a model if missing; an existing one whose
 * columns differ from the profile's is RDM_ERR_CONFIG naming both. A model
 * keyed by one integer keeps its rows by that integer (the rowid: a lookup
 * is one search of the table's tree); any other key gets a unique index on
 * "rdm:k" (the key columns' text joined by U+001F). */
rdm_rc stg_model_ensure(store *st, const stg_model *m, rdm_err *err);

/* Whether a file of model would land nothing new: the model's last source
 * before source `before` has the same SHA-256 and the same snapshot flag
 * (1: a full snapshot that deletes absent keys). RDM_OK with its id, or
 * RDM_ERR_NOT_FOUND: an older copy of the same bytes, landed after other
 * sources of the model, is a change again (A, B, then A brings A back). */
rdm_rc stg_source_same(store *st, const char *model, long long before, const char *sha256,
                       int snapshot, long long *id, rdm_err *err);

/* Registers a source (in the caller's transaction). kind "csv" or
 * "postgres"; snapshot 1 = full snapshot (absent keys are deletions). */
rdm_rc stg_source_create(store *st, const stg_model *m, const char *kind, const char *name,
                         const char *sha256, long long size, int snapshot, const char *bundle,
                         long long *id, rdm_err *err);

/* Records the final counts of a landed source. */
rdm_rc stg_source_landed(store *st, long long id, long long rows, long long rejected, rdm_err *err);

/* Writes the landed rows of one source to its land file. replace: a key
 * may come more than once and the last one counts (change logs); else a
 * repeated key is an error of the source (stg_lander_repeats). expect: about
 * how many rows will come (0: unknown). The caller owns *out: it ends with
 * stg_lander_finish (before its transaction commits) or just close. */
typedef struct stg_lander stg_lander;
rdm_rc stg_lander_open(store *st, const stg_model *m, long long src, int replace,
                       unsigned long long expect, stg_lander **out, rdm_err *err);
/* One row: key, its line, op (0 = upsert, 3 = delete), content hash,
 * values (NULL = SQL NULL). */
rdm_rc stg_land(stg_lander *l, const char *key, size_t klen, long line, int op, int64_t hash,
                const char *const *vals, const size_t *lens, rdm_err *err);
/* After the last row: finds the keys landed more than once. Unless the
 * lander replaces, fn is called for each repeat after the first, in
 * order, with the line of the first; an error from fn ends the search and
 * is returned. *repeats gets the number of repeats. */
struct land_row;
typedef rdm_rc (*stg_repeat_fn)(void *ud, const struct land_row *row, long first_line,
                                rdm_err *err);
rdm_rc stg_lander_repeats(stg_lander *l, stg_repeat_fn fn, void *ud, long long *repeats,
                          rdm_err *err);
/* Makes the land file durable under its name, and notes in the source
 * which of a repeated key's rows collect keeps (in the caller's
 * transaction, which must commit next). */
rdm_rc stg_lander_finish(stg_lander *l, rdm_err *err);
/* Frees l; an unfinished land file is removed. */
void stg_lander_close(stg_lander *l);

rdm_rc stg_quarantine(store *st, long long src, long line, const char *field, const char *reason,
                      const char *raw, rdm_err *err);

/* The oldest source not fully collected: RDM_OK with its id and model
 * (into a caller buffer), or RDM_ERR_NOT_FOUND when none waits. */
rdm_rc stg_source_next(store *st, long long *id, char *model, size_t n, rdm_err *err);

/* Hands out the next change number (in the caller's transaction). */
rdm_rc stg_next_change(store *st, long long *chg, rdm_err *err);

typedef struct stg_chunk {
    long rows; /* landed rows (or staged rows, in the delete phase) in the chunk */
    long created, updated, deleted;
    int done; /* the source is fully collected (its land file goes: stg_sweep) */
    int lost; /* ... or its land file was missing: ended unread (err says so) */
} stg_chunk;

/* Applies a source, chunk by chunk (limit landed rows, or in the delete
 * phase limit deletions), to its staged model: new keys CREATE, changed
 * content UPDATE, landed deletes DELETE, and for a full snapshot, after all
 * its rows, absent keys DELETE. Rows changed by a chunk get its change
 * number and sub-stage. Each chunk advances the source's position in the
 * caller's transaction. After a restart the first chunk reads the rows
 * before the position again, without writing, to learn which staged rows
 * a snapshot holds. Memory: one bit per staged rowid. */
typedef struct stg_collector stg_collector;
rdm_rc stg_collector_open(store *st, const stg_model *m, long long src, stg_collector **out,
                          rdm_err *err);
rdm_rc stg_collector_chunk(stg_collector *c, int limit, long long chg, long long substage,
                           long long now, stg_chunk *out, rdm_err *err);
void stg_collector_close(stg_collector *c);

/* Removes land files no source waits for: those of collected sources
 * (collect calls it once its stage's durable commit made their last
 * chunks durable), and those left by an import that died before its
 * commit. Only
 * files of sources up to the last committed one (an import under way may
 * be writing the next). *removed gets the count. */
rdm_rc stg_sweep(store *st, int *removed, rdm_err *err);

#endif
