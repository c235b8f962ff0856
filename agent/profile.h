/*
 * profile.h - entities and models as data: a profile file (JSON) declares
 * the datamart's entities (fields, types, keys), the staging models behind
 * them, how each entity's records are selected from the models, and where
 * each model's rows come from (a CSV dump and/or a PostgreSQL query).
 * The format is documented in docs/PROFILES.md.
 *
 * Loading checks everything and fails naming the file and the JSON path
 * ($.entities[2].fields[5].type). Identifiers used in SQL match
 * [a-z_][a-z0-9_]* and are always quoted where SQL is generated; entity
 * keys match [A-Z][A-Z0-9_]*.
 *
 * Interface (prefix prof_ / profile_):
 *   profile_load()        one or more files (comma-separated names or paths)
 *   profile_load_buffer() one JSON text, for tests and fuzzing
 *   profile_entity()      find an entity by key
 *   profile_model()       find a model by name
 *   profile_free()
 */
#ifndef RDM_PROFILE_H
#define RDM_PROFILE_H

#include "../base/rc.h"

typedef enum prof_type {
    PROF_TEXT,
    PROF_INT,
    PROF_BOOL,
    PROF_DATE,
    PROF_DATETIME,
    PROF_DECIMAL
} prof_type;

typedef struct prof_field {
    char *name;
    prof_type type;
    unsigned required : 1, pk : 1, fk : 1, hashable : 1, ignore_prefix : 1;
} prof_field;

/* The most fields an entity, or columns a model, may have: the export's,
 * the land files' and the ФЛК's fixed arrays. */
#define PROF_MAX_FIELDS 1024

typedef struct prof_entity {
    char *key;   /* ADDRESS */
    char *table; /* address: the table name in the datamart's URL */
    char *title; /* Адреса */
    prof_field *fields;
    int nfields;
    int *pk; /* field indexes, in primary-key order */
    int npk;
    char **models; /* the models its records are selected from */
    int nmodels;
    char *select;   /* SQLite SELECT over the models, columns = fields */
    int generated;  /* 1: select generated (one model, no filter: one record per row) */
    char *file;     /* the profile file that declared it, for messages */
    int file_index; /* its index in that file's "entities" */
} prof_entity;

typedef struct prof_column {
    char *name;
    prof_type type;
    char *csv_header; /* the CSV column it is read from */
} prof_column;

typedef enum prof_pg_mode {
    PROF_PG_NONE,
    PROF_PG_SNAPSHOT,
    PROF_PG_INCREMENTAL,
    PROF_PG_AUDIT_LOG
} prof_pg_mode;

typedef struct prof_model {
    char *name;
    prof_column *cols;
    int ncols;
    int *key; /* column indexes */
    int nkey;
    /* CSV dump source; csv_file NULL when none */
    char *csv_file;
    char *csv_encoding;  /* NULL = [source] ENCODING */
    char *csv_delimiter; /* NULL = [source] DELIMITER */
    int csv_partial;     /* 1: a dump holds changes only, absent keys are not deletions */
    /* PostgreSQL source */
    prof_pg_mode pg_mode;
    char *pg_query;     /* snapshot / incremental */
    char *pg_table;     /* audit_log: the product table */
    char *pg_op_column; /* incremental: the column holding 1/2/3 */
} prof_model;

typedef struct profile {
    prof_entity *entities;
    int nentities;
    prof_model *models;
    int nmodels;
} profile;

/* Loads the profiles named in spec: comma-separated; a bare name (no
 * separator, no ".json") is a shipped profile found in search_dirs
 * (separated by PLAT_LIST_SEP: ":", or ";" on Windows), anything else a
 * path relative to base_dir.
 * Entities and models of all files are merged; a name defined twice is an
 * error. On success the caller owns *p (profile_free); on failure *p is
 * empty and err names the file and JSON path. */
rdm_rc profile_load(profile *p, const char *spec, const char *base_dir, const char *search_dirs,
                    rdm_err *err);

/* Parses one JSON text into p (adding to what p holds); name is used in
 * messages. */
rdm_rc profile_load_buffer(profile *p, const char *name, const char *text, size_t len,
                           rdm_err *err);

void profile_free(profile *p);

const prof_entity *profile_entity(const profile *p, const char *key);
const prof_model *profile_model(const profile *p, const char *name);

/* Index of the field with that name, or -1. */
int prof_field_index(const prof_entity *e, const char *name);

#endif
