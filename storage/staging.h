/*
 * staging.h - the staged data: what was landed from a source (a CSV dump or
 * a PostgreSQL pull) and the staged model rows the export reads.
 *
 * Tables (names cannot clash with a profile's identifiers: they hold ':'):
 *   import_source            one row per landed source, with its collect
 *                            position (phase, last key)
 *   "rdm:land:<source id>"   the landed rows of one source: key, line, op,
 *                            content hash, the model's columns; dropped once
 *                            collected
 *   "rdm:stg:<model>"        the staged rows: key, content hash, operation
 *                            (1 CREATE, 2 UPDATE, 3 DELETE), change number,
 *                            the sub-stage that last changed it, created,
 *                            modified, the model's columns
 *   quarantine               rows refused by --skip-bad-rows, with why
 *   counter('change')        the last change number handed out
 *
 * Collect is set-based SQL, one chunk per call, in the caller's
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
} stg_model;

/* Creates the staged table of a model if missing; an existing one whose
 * columns differ from the profile's is RDM_ERR_CONFIG naming both. */
rdm_rc stg_model_ensure(store *st, const stg_model *m, rdm_err *err);

/* Finds a source of model with that SHA-256: RDM_OK and its id and time, or
 * RDM_ERR_NOT_FOUND. */
rdm_rc stg_source_find(store *st, const char *model, const char *sha256, long long *id,
                       long long *imported_at, rdm_err *err);

/* Registers a source and creates its land table. kind "csv" or
 * "postgres"; snapshot 1 = full snapshot (absent keys are deletions). In
 * the caller's transaction. */
rdm_rc stg_source_create(store *st, const stg_model *m, const char *kind, const char *name,
                         const char *sha256, long long size, int snapshot, const char *bundle,
                         long long *id, rdm_err *err);

/* Records the final counts of a landed source. */
rdm_rc stg_source_landed(store *st, long long id, long long rows, long long rejected, rdm_err *err);

/* Inserts landed rows of one source. */
typedef struct stg_lander stg_lander;
/* replace: a key landed again replaces the earlier row (change logs). */
rdm_rc stg_lander_open(store *st, const stg_model *m, long long src, int replace, stg_lander **out,
                       rdm_err *err);
/* One row: key text, its line, op (0 = upsert, 3 = delete), content hash,
 * values (NULL = SQL NULL). A key landed twice is RDM_ERR_PARSE and
 * *first_line gets the line of the first. */
rdm_rc stg_land(stg_lander *l, const char *key, long line, int op, int64_t hash,
                const char *const *vals, const size_t *lens, long *first_line, rdm_err *err);
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
    int done; /* the source is fully collected and its land table dropped */
} stg_chunk;

/* Applies a source, chunk by chunk, to its staged model: new keys CREATE,
 * changed content UPDATE, landed deletes DELETE, and for a full snapshot,
 * after all its rows, absent keys DELETE. Rows changed by a chunk get its
 * change number and sub-stage. Each chunk advances the source's position
 * in the caller's transaction; the last one drops the land table. */
typedef struct stg_collector stg_collector;
rdm_rc stg_collector_open(store *st, const stg_model *m, long long src, stg_collector **out,
                          rdm_err *err);
rdm_rc stg_collector_chunk(stg_collector *c, int limit, long long chg, long long substage,
                           long long now, stg_chunk *out, rdm_err *err);
void stg_collector_close(stg_collector *c);

#endif
