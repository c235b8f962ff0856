/*
 * import.h - landing CSV dumps and USB bundles in the store: each file
 * checked whole (encoding, quoting, header, types, keys) and landed in one
 * transaction, so that the stick can be pulled as soon as the command
 * returns and a refused file leaves no trace. A bundle (a folder as copied
 * from a stick, with an optional manifest.json of SHA-256 checksums) is one
 * transaction for all its files. A file imported before (same model, same
 * SHA-256) is reported and skipped.
 *
 * Interface (prefix import_):
 *   import_path()       one file or one bundle folder
 *   import_normalize()  one value of a dump, checked and normalised (pure)
 *   import_row_hash()   the content hash of a row (pure)
 */
#ifndef RDM_IMPORT_H
#define RDM_IMPORT_H

#include "../base/buf.h"
#include "../storage/staging.h"
#include "../storage/store.h"
#include "config.h"
#include "profile.h"

#include <stdint.h>

typedef struct import_opts {
    int skip_bad_rows; /* quarantine bad rows instead of refusing the file */
    int partial;       /* the dumps hold changes only: absent keys are kept */
} import_opts;

typedef struct import_stats {
    int files; /* landed */
    int known; /* skipped: imported before */
    long long rows;
    long long rejected;
} import_stats;

/* Imports path (a .csv file of a model, or a bundle folder). Messages name
 * the file, line and column. Returns RDM_ERR_PARSE for bad data,
 * RDM_ERR_IO, RDM_ERR_CONFIG (no model reads that file), store errors. */
rdm_rc import_path(store *st, const profile *p, const rdm_config *cfg, const char *path,
                   const import_opts *o, import_stats *stats, rdm_err *err);

/* A landing of rows from any source (dump reader, PostgreSQL cursor):
 * open registers a source in the caller's transaction and starts its land
 * file (storage/staging.h);
 * header maps column names to the model's (by their "csv" names); each row
 * is checked, normalised and landed (op 0 upsert, 3 delete). With replace,
 * a later row of a key replaces the earlier (change logs); otherwise a
 * repeated key is an error. name is used in messages. */
typedef struct import_sink import_sink;
rdm_rc import_sink_open(store *st, const profile *p, const prof_model *m, const char *kind,
                        const char *name, int snapshot, const char *bundle, int replace,
                        int decimal_comma, const import_opts *o, import_sink **out, rdm_err *err);
rdm_rc import_sink_header(import_sink *c, int n, const char *const *names, rdm_err *err);
rdm_rc import_sink_row(import_sink *c, long line, int op, int n, const char *const *vals,
                       const size_t *lens, rdm_err *err);
/* Finds repeated keys (an error, or quarantined, unless replace), makes
 * the land file durable and records the row counts of the source, in the
 * caller's transaction, which must commit next. */
rdm_rc import_sink_finish(import_sink *c, rdm_err *err);
long long import_sink_rows(const import_sink *c);
void import_sink_free(import_sink *c);

#define IMPORT_MAX_COLS 1024

/* Describes profile model m as the staging layer needs it, in the caller's
 * arrays of IMPORT_MAX_COLS; RDM_ERR_CONFIG for a wider model. */
rdm_rc import_stg_model(const prof_model *m, const char **cols, int *integer, stg_model *sm,
                        rdm_err *err);

/* Checks and normalises one value of type t (NULL = empty field) into out
 * (reset first); *is_null tells the result is SQL NULL. Accepts ISO dates
 * and DD.MM.YYYY, booleans 1/0/true/false/t/f/yes/no/y/n/on/off/да/нет,
 * decimals with '.' (or ',' when decimal_comma). RDM_ERR_PARSE with why. */
rdm_rc import_normalize(prof_type t, const char *v, size_t n, int decimal_comma, rdm_buf *out,
                        int *is_null, char *why, size_t whylen);

/* FNV-1a 64 over the values (NULL distinct from ""). */
int64_t import_row_hash(int n, const char *const *vals, const size_t *lens);

/* 1 when a source must give column col of model m: the model's key, or a
 * column that feeds a required field of an entity reading m alone. */
int import_column_required(const profile *p, const prof_model *m, int col);

#endif
