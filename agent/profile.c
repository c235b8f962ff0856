/* profile.c - see profile.h. */
#include "profile.h"
#include "../base/plat.h"
#include "../base/text.h"
#include "../storage/sqlcheck.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDENT_MAX 63

static const char *const type_names[] = {"text", "int", "bool", "date", "datetime", "decimal"};

/* ---- small helpers ---- */

static int is_ident(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > IDENT_MAX || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static int is_entity_key(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > IDENT_MAX || !(s[0] >= 'A' && s[0] <= 'Z'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* Parsing context: the file name and the JSON path of the node at hand. */
typedef struct jctx {
    const char *file;
    char path[256];
} jctx;

static rdm_rc jfail(const jctx *c, const char *member, rdm_err *err, const char *fmt, ...)
    RDM_PRINTF(4, 5);

static rdm_rc jfail(const jctx *c, const char *member, rdm_err *err, const char *fmt, ...)
{
    char msg[RDM_ERR_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (member)
        return rdm_fail(err, RDM_ERR_PARSE, "%s: %s.%s: %s", c->file, c->path, member, msg);
    return rdm_fail(err, RDM_ERR_PARSE, "%s: %s: %s", c->file, c->path, msg);
}

static void jchild(const jctx *parent, jctx *child, const char *member, int index)
{
    int w;
    child->file = parent->file;
    if (index >= 0)
        w = snprintf(child->path, sizeof child->path, "%s.%s[%d]", parent->path, member, index);
    else
        w = snprintf(child->path, sizeof child->path, "%s.%s", parent->path, member);
    if (w < 0 || (size_t)w >= sizeof child->path) /* paths are for messages: mark the cut */
        memcpy(child->path + sizeof child->path - 4, "...", 4);
}

/* Rejects members not in the NULL-terminated list (typos must not pass
 * silently); "comment" is allowed everywhere. */
static rdm_rc check_members(const jctx *c, const cJSON *obj, const char *const *known, rdm_err *err)
{
    if (!cJSON_IsObject(obj))
        return jfail(c, NULL, err, "must be an object");
    for (const cJSON *m = obj->child; m; m = m->next) {
        int ok = strcmp(m->string, "comment") == 0;
        for (int i = 0; known[i] && !ok; i++)
            ok = strcmp(m->string, known[i]) == 0;
        if (!ok) {
            char list[256] = "";
            for (int i = 0; known[i]; i++) {
                strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, known[i], sizeof list - strlen(list) - 1);
            }
            return jfail(c, m->string, err, "unknown member (known: %s)", list);
        }
        for (const cJSON *o = obj->child; o != m; o = o->next)
            if (strcmp(o->string, m->string) == 0)
                return jfail(c, m->string, err, "appears twice");
    }
    return RDM_OK;
}

/* A string member; required or optional (*out NULL when absent). */
static rdm_rc get_str(const jctx *c, const cJSON *obj, const char *name, int required,
                      const char **out, rdm_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!v) {
        if (required)
            return jfail(c, name, err, "is required");
        return RDM_OK;
    }
    if (!cJSON_IsString(v))
        return jfail(c, name, err, "must be a string");
    *out = v->valuestring;
    return RDM_OK;
}

static rdm_rc get_bool(const jctx *c, const cJSON *obj, const char *name, int dflt, int *out,
                       rdm_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = dflt;
    if (!v)
        return RDM_OK;
    if (!cJSON_IsBool(v))
        return jfail(c, name, err, "must be true or false");
    *out = cJSON_IsTrue(v);
    return RDM_OK;
}

static rdm_rc get_type(const jctx *c, const cJSON *obj, prof_type *out, rdm_err *err)
{
    const char *t;
    rdm_rc rc = get_str(c, obj, "type", 1, &t, err);
    if (rc)
        return rc;
    for (int i = 0; i < 6; i++)
        if (strcmp(t, type_names[i]) == 0) {
            *out = (prof_type)i;
            return RDM_OK;
        }
    return jfail(c, "type", err,
                 "unknown type '%s' (known: text, int, bool, date, datetime, decimal)", t);
}

static rdm_rc dup_into(char **dst, const char *s, rdm_err *err)
{
    if (!(*dst = text_dup(s)))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    return RDM_OK;
}

/* An array member of strings; each is passed to fn(ud, index, string). */
typedef rdm_rc (*str_item_fn)(void *ud, const jctx *c, int i, const char *s, rdm_err *err);

static rdm_rc each_str(const jctx *c, const cJSON *obj, const char *name, int required,
                       str_item_fn fn, void *ud, rdm_err *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name);
    rdm_rc rc;
    int i = 0;
    if (!arr)
        return required ? jfail(c, name, err, "is required") : RDM_OK;
    if (!cJSON_IsArray(arr))
        return jfail(c, name, err, "must be an array of strings");
    if (required && !arr->child)
        return jfail(c, name, err, "must not be empty");
    for (const cJSON *v = arr->child; v; v = v->next, i++) {
        jctx cc;
        jchild(c, &cc, name, i);
        if (!cJSON_IsString(v))
            return jfail(&cc, NULL, err, "must be a string");
        for (const cJSON *o = arr->child; o != v; o = o->next)
            if (strcmp(o->valuestring, v->valuestring) == 0)
                return jfail(&cc, NULL, err, "'%s' is listed twice", v->valuestring);
        if ((rc = fn(ud, &cc, i, v->valuestring, err)))
            return rc;
    }
    return RDM_OK;
}

/* ---- entities ---- */

typedef struct flag_ctx {
    prof_entity *e;
    int which; /* 0 pk, 1 fk, 2 hashable, 3 ignore_prefix */
} flag_ctx;

static rdm_rc mark_field(void *ud, const jctx *c, int i, const char *s, rdm_err *err)
{
    flag_ctx *f = ud;
    prof_entity *e = f->e;
    int idx = prof_field_index(e, s);
    (void)i;
    if (idx < 0) {
        char list[256] = "";
        for (int k = 0; k < e->nfields; k++) {
            strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, e->fields[k].name, sizeof list - strlen(list) - 1);
        }
        return jfail(c, NULL, err, "unknown field '%s' (fields: %s)", s, list);
    }
    prof_field *fd = &e->fields[idx];
    switch (f->which) {
    case 0:
        fd->pk = 1;
        fd->required = 1; /* a key is always present */
        e->pk[e->npk++] = idx;
        break;
    case 1:
        fd->fk = 1;
        break;
    case 2:
        fd->hashable = 1;
        break;
    default:
        if (!fd->pk && !fd->fk)
            return jfail(c, NULL, err,
                         "'%s' is neither a primary nor a foreign key: nothing to exempt from "
                         "the prefix",
                         s);
        fd->ignore_prefix = 1;
    }
    return RDM_OK;
}

static rdm_rc add_model_name(void *ud, const jctx *c, int i, const char *s, rdm_err *err)
{
    prof_entity *e = ud;
    if (!is_ident(s))
        return jfail(c, NULL, err, "'%s' is not a model name ([a-z_][a-z0-9_]*)", s);
    return dup_into(&e->models[i], s, err);
}

static rdm_rc parse_entity(const jctx *c, const cJSON *o, prof_entity *e, rdm_err *err)
{
    static const char *const known[] = {"key",          "title",    "fields",        "primary_key",
                                        "foreign_keys", "hashable", "ignore_prefix", "models",
                                        "select",       NULL};
    const char *key, *title, *select;
    rdm_rc rc;

    if ((rc = check_members(c, o, known, err)) || (rc = get_str(c, o, "key", 1, &key, err)) ||
        (rc = get_str(c, o, "title", 0, &title, err)) ||
        (rc = get_str(c, o, "select", 0, &select, err)))
        return rc;
    if (!is_entity_key(key))
        return jfail(c, "key", err, "'%s' is not an entity key ([A-Z][A-Z0-9_]*)", key);
    if ((rc = dup_into(&e->key, key, err)) || (rc = dup_into(&e->table, key, err)) ||
        (rc = dup_into(&e->title, title ? title : key, err)))
        return rc;
    for (char *p = e->table; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');

    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(o, "fields");
    if (!cJSON_IsArray(fields) || !fields->child)
        return jfail(c, "fields", err, "must be a non-empty array of fields");
    int n = cJSON_GetArraySize(fields);
    if (n > PROF_MAX_FIELDS)
        return jfail(c, "fields", err, "has %d fields; at most %d are supported", n,
                     PROF_MAX_FIELDS);
    e->fields = calloc((size_t)n, sizeof *e->fields);
    e->pk = calloc((size_t)n, sizeof *e->pk);
    if (!e->fields || !e->pk)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    int i = 0;
    for (const cJSON *f = fields->child; f; f = f->next, i++) {
        static const char *const fknown[] = {"name", "type", "required", NULL};
        jctx fc;
        const char *name;
        int req;
        prof_field *fd = &e->fields[i];
        jchild(c, &fc, "fields", i);
        if ((rc = check_members(&fc, f, fknown, err)) ||
            (rc = get_str(&fc, f, "name", 1, &name, err)) ||
            (rc = get_type(&fc, f, &fd->type, err)) ||
            (rc = get_bool(&fc, f, "required", 0, &req, err)))
            return rc;
        if (!is_ident(name))
            return jfail(&fc, "name", err, "'%s' is not a field name ([a-z_][a-z0-9_]*)", name);
        if (prof_field_index(e, name) >= 0)
            return jfail(&fc, "name", err, "field '%s' is declared twice", name);
        if ((rc = dup_into(&fd->name, name, err)))
            return rc;
        fd->required = req != 0;
        e->nfields++;
    }
    static const char *const lists[] = {"primary_key", "foreign_keys", "hashable", "ignore_prefix"};
    for (int w = 0; w < 4; w++) {
        flag_ctx fc = {e, w};
        if ((rc = each_str(c, o, lists[w], w == 0, mark_field, &fc, err)))
            return rc;
    }
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(o, "models");
    if (!cJSON_IsArray(models) || !models->child)
        return jfail(c, "models", err, "must be a non-empty array of model names");
    e->nmodels = cJSON_GetArraySize(models);
    if (!(e->models = calloc((size_t)e->nmodels, sizeof *e->models)))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    if ((rc = each_str(c, o, "models", 1, add_model_name, e, err)))
        return rc;
    if (select && (rc = dup_into(&e->select, select, err)))
        return rc;
    return RDM_OK;
}

/* ---- models ---- */

static int col_index(const prof_model *m, const char *name)
{
    for (int i = 0; i < m->ncols; i++)
        if (strcmp(m->cols[i].name, name) == 0)
            return i;
    return -1;
}

static rdm_rc add_key_col(void *ud, const jctx *c, int i, const char *s, rdm_err *err)
{
    prof_model *m = ud;
    (void)i;
    int idx = col_index(m, s);
    if (idx < 0)
        return jfail(c, NULL, err, "unknown column '%s' of model '%s'", s, m->name);
    m->key[m->nkey++] = idx;
    return RDM_OK;
}

static int bare_file_name(const char *s)
{
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == '\\' || *p == ':' || (unsigned char)*p < 0x20)
            return 0;
    return 1;
}

static rdm_rc parse_csv_source(const jctx *c, const cJSON *o, prof_model *m, rdm_err *err)
{
    static const char *const known[] = {"file", "encoding", "delimiter", "partial", NULL};
    const char *file, *enc, *delim;
    rdm_rc rc;
    if ((rc = check_members(c, o, known, err)) || (rc = get_str(c, o, "file", 1, &file, err)) ||
        (rc = get_str(c, o, "encoding", 0, &enc, err)) ||
        (rc = get_str(c, o, "delimiter", 0, &delim, err)) ||
        (rc = get_bool(c, o, "partial", 0, &m->csv_partial, err)))
        return rc;
    if (!bare_file_name(file))
        return jfail(c, "file", err,
                     "'%s' must be a file name without folders (dumps are looked up in the "
                     "bundle or inbox)",
                     file);
    if (enc && strcmp(enc, "utf-8") != 0 && strcmp(enc, "cp1251") != 0)
        return jfail(c, "encoding", err, "'%s' is not utf-8 or cp1251", enc);
    if (delim && strcmp(delim, ";") != 0 && strcmp(delim, ",") != 0)
        return jfail(c, "delimiter", err, "'%s' is not ; or ,", delim);
    if ((rc = dup_into(&m->csv_file, file, err)) ||
        (enc && (rc = dup_into(&m->csv_encoding, enc, err))) ||
        (delim && (rc = dup_into(&m->csv_delimiter, delim, err))))
        return rc;
    return RDM_OK;
}

/* 1 if the query names the parameter as a whole word (":since", not
 * ":since2"). */
static int has_param(const char *q, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(q, name); p; p = strstr(p + 1, name)) {
        char c = p[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 1;
    }
    return 0;
}

static rdm_rc parse_pg_source(const jctx *c, const cJSON *o, prof_model *m, rdm_err *err)
{
    static const char *const known[] = {"mode", "query", "table", "operation_column", NULL};
    const char *mode, *query, *table, *opcol;
    rdm_rc rc;
    if ((rc = check_members(c, o, known, err)) || (rc = get_str(c, o, "mode", 1, &mode, err)) ||
        (rc = get_str(c, o, "query", 0, &query, err)) ||
        (rc = get_str(c, o, "table", 0, &table, err)) ||
        (rc = get_str(c, o, "operation_column", 0, &opcol, err)))
        return rc;
    if (strcmp(mode, "snapshot") == 0)
        m->pg_mode = PROF_PG_SNAPSHOT;
    else if (strcmp(mode, "incremental") == 0)
        m->pg_mode = PROF_PG_INCREMENTAL;
    else if (strcmp(mode, "audit_log") == 0)
        m->pg_mode = PROF_PG_AUDIT_LOG;
    else
        return jfail(c, "mode", err, "'%s' is not snapshot, incremental or audit_log", mode);
    if (m->pg_mode != PROF_PG_AUDIT_LOG && (!query || !*query))
        return jfail(c, "query", err, "is required in %s mode", mode);
    /* in audit_log mode a query is optional: the full snapshot that
     * reconciles what the log missed, every [source] FULL_SNAPSHOT_DAYS */
    if (m->pg_mode != PROF_PG_INCREMENTAL && opcol)
        return jfail(c, "operation_column", err, "is only for incremental mode");
    if (m->pg_mode == PROF_PG_INCREMENTAL) {
        if (!has_param(query, ":since") || !has_param(query, ":until"))
            return jfail(c, "query", err,
                         "an incremental query takes the parameters :since and :until");
        if (!opcol || !is_ident(opcol))
            return jfail(c, "operation_column", err,
                         "an incremental source names the column holding the operation "
                         "(1 create, 2 update, 3 delete)");
    }
    if (m->pg_mode == PROF_PG_AUDIT_LOG && (!table || !*table))
        return jfail(c, "table", err, "audit_log mode names the product table it follows");
    if (table) {
        const char *dot = strchr(table, '.');
        char part[IDENT_MAX + 1];
        int ok = 1;
        if (dot) {
            size_t n = (size_t)(dot - table);
            ok = n <= IDENT_MAX;
            if (ok) {
                memcpy(part, table, n);
                part[n] = '\0';
                ok = is_ident(part) && is_ident(dot + 1);
            }
        } else {
            ok = is_ident(table);
        }
        if (!ok)
            return jfail(c, "table", err, "'%s' is not a table name (name or schema.name)", table);
    }
    if ((query && (rc = dup_into(&m->pg_query, query, err))) ||
        (table && (rc = dup_into(&m->pg_table, table, err))) ||
        (opcol && (rc = dup_into(&m->pg_op_column, opcol, err))))
        return rc;
    return RDM_OK;
}

static rdm_rc parse_model(const jctx *c, const cJSON *o, prof_model *m, rdm_err *err)
{
    static const char *const known[] = {"name", "columns", "key", "csv", "postgres", NULL};
    const char *name;
    rdm_rc rc;
    if ((rc = check_members(c, o, known, err)) || (rc = get_str(c, o, "name", 1, &name, err)))
        return rc;
    if (!is_ident(name))
        return jfail(c, "name", err, "'%s' is not a model name ([a-z_][a-z0-9_]*)", name);
    /* the entity's select reads the model by its bare name, through a
     * temporary view that would hide the store's own table of that name */
    if (sqlcheck_store_name(name))
        return jfail(c, "name", err,
                     "'%s' is the name of one of the store's own tables; choose another model "
                     "name",
                     name);
    if ((rc = dup_into(&m->name, name, err)))
        return rc;
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(o, "columns");
    if (!cJSON_IsArray(cols) || !cols->child)
        return jfail(c, "columns", err, "must be a non-empty array of columns");
    int n = cJSON_GetArraySize(cols), i = 0;
    if (n > PROF_MAX_FIELDS)
        return jfail(c, "columns", err, "has %d columns; at most %d are supported", n,
                     PROF_MAX_FIELDS);
    m->cols = calloc((size_t)n, sizeof *m->cols);
    m->key = calloc((size_t)n, sizeof *m->key);
    if (!m->cols || !m->key)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    for (const cJSON *col = cols->child; col; col = col->next, i++) {
        static const char *const cknown[] = {"name", "type", "csv", NULL};
        jctx cc;
        const char *cname, *csv;
        prof_column *pc = &m->cols[i];
        jchild(c, &cc, "columns", i);
        if ((rc = check_members(&cc, col, cknown, err)) ||
            (rc = get_str(&cc, col, "name", 1, &cname, err)) ||
            (rc = get_type(&cc, col, &pc->type, err)) ||
            (rc = get_str(&cc, col, "csv", 0, &csv, err)))
            return rc;
        if (!is_ident(cname))
            return jfail(&cc, "name", err, "'%s' is not a column name ([a-z_][a-z0-9_]*)", cname);
        /* SQLite's names of a row's id: the store keeps its rows by it */
        if (strcmp(cname, "rowid") == 0 || strcmp(cname, "oid") == 0 ||
            strcmp(cname, "_rowid_") == 0)
            return jfail(&cc, "name", err,
                         "'%s' is SQLite's name for a row's id, which the store uses; choose "
                         "another column name (the dump's header may keep it: \"csv\": \"%s\")",
                         cname, cname);
        if (col_index(m, cname) >= 0)
            return jfail(&cc, "name", err, "column '%s' is declared twice", cname);
        if (csv && !*csv)
            return jfail(&cc, "csv", err, "must not be empty");
        if ((rc = dup_into(&pc->name, cname, err)) ||
            (rc = dup_into(&pc->csv_header, csv ? csv : cname, err)))
            return rc;
        for (int k = 0; k < m->ncols; k++)
            if (strcmp(m->cols[k].csv_header, pc->csv_header) == 0) {
                m->ncols++; /* so that profile_free releases this column too */
                return jfail(&cc, NULL, err, "CSV header '%s' is already read by column '%s'",
                             pc->csv_header, m->cols[k].name);
            }
        m->ncols++;
    }
    if ((rc = each_str(c, o, "key", 1, add_key_col, m, err)))
        return rc;
    const cJSON *csv = cJSON_GetObjectItemCaseSensitive(o, "csv");
    const cJSON *pg = cJSON_GetObjectItemCaseSensitive(o, "postgres");
    if (!csv && !pg)
        return jfail(c, NULL, err, "model '%s' has no source: give \"csv\" and/or \"postgres\"",
                     name);
    jctx sc;
    if (csv) {
        jchild(c, &sc, "csv", -1);
        if ((rc = parse_csv_source(&sc, csv, m, err)))
            return rc;
    }
    if (pg) {
        jchild(c, &sc, "postgres", -1);
        if ((rc = parse_pg_source(&sc, pg, m, err)))
            return rc;
    }
    return RDM_OK;
}

/* ---- cross checks, after all files are read ---- */

typedef struct cols_ctx {
    const prof_entity *e;
    int count;
} cols_ctx;

/* Result column `index` must be the entity's field of that index. */
static rdm_rc check_column(void *ud, int index, const char *name, rdm_err *err)
{
    cols_ctx *cc = ud;
    const prof_entity *e = cc->e;
    cc->count = index + 1;
    if (index >= e->nfields)
        return rdm_fail(err, RDM_ERR_PARSE,
                        "returns more columns than the %d fields of %s (column %d is '%s')",
                        e->nfields, e->key, index + 1, name);
    if (strcmp(name, e->fields[index].name) != 0)
        return rdm_fail(err, RDM_ERR_PARSE,
                        "column %d is '%s' but field %d of %s is '%s' (name the columns with "
                        "AS, in the fields' order)",
                        index + 1, name, index + 1, e->key, e->fields[index].name);
    return RDM_OK;
}

static rdm_rc append(char **buf, size_t *len, size_t *cap, const char *s, rdm_err *err)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 256) + n;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return RDM_OK;
}

static const char *sql_type(prof_type t)
{
    /* decimals are TEXT: NUMERIC affinity would turn "1.50" into 1.5 */
    return t == PROF_INT || t == PROF_BOOL ? "INTEGER" : "TEXT";
}

/* Checks one entity against the models: they exist, and its SELECT (given
 * or generated) compiles over them and returns exactly its fields. */
static rdm_rc check_entity(const profile *p, prof_entity *e, rdm_err *err)
{
    const char *file = e->file;
    int idx = e->file_index;
    char *ddl = NULL, *sel = NULL, q[2 * IDENT_MAX + 32];
    size_t dl = 0, dc = 0, sl = 0, sc = 0;
    rdm_rc rc = RDM_OK;

    for (int i = 0; i < e->nmodels && !rc; i++) {
        const prof_model *m = profile_model(p, e->models[i]);
        if (!m) {
            rc = rdm_fail(err, RDM_ERR_PARSE, "%s: $.entities[%d].models[%d]: unknown model '%s'",
                          file, idx, i, e->models[i]);
            break;
        }
        snprintf(q, sizeof q, "CREATE TABLE \"%s\"(", m->name);
        rc = append(&ddl, &dl, &dc, q, err);
        for (int k = 0; k < m->ncols && !rc; k++) {
            snprintf(q, sizeof q, "%s\"%s\" ", k ? "," : "", m->cols[k].name);
            if (!(rc = append(&ddl, &dl, &dc, q, err)))
                rc = append(&ddl, &dl, &dc, sql_type(m->cols[k].type), err);
        }
        if (!rc)
            rc = append(&ddl, &dl, &dc, ");\n", err);
    }
    if (!rc && !e->select) {
        const prof_model *m = profile_model(p, e->models[0]);
        if (e->nmodels != 1) {
            rc = rdm_fail(err, RDM_ERR_PARSE,
                          "%s: $.entities[%d]: %s reads %d models: give a \"select\" that joins "
                          "them",
                          file, idx, e->key, e->nmodels);
        }
        rc = rc ? rc : append(&sel, &sl, &sc, "SELECT ", err);
        for (int k = 0; k < e->nfields && !rc; k++) {
            if (col_index(m, e->fields[k].name) < 0) {
                rc = rdm_fail(err, RDM_ERR_PARSE,
                              "%s: $.entities[%d]: field '%s' is not a column of model '%s'; "
                              "add the column or give a \"select\"",
                              file, idx, e->fields[k].name, m->name);
                break;
            }
            snprintf(q, sizeof q, "%s\"%s\"", k ? ", " : "", e->fields[k].name);
            rc = append(&sel, &sl, &sc, q, err);
        }
        snprintf(q, sizeof q, " FROM \"%s\"", m->name);
        rc = rc ? rc : append(&sel, &sl, &sc, q, err);
        if (!rc)
            e->select = sel, sel = NULL, e->generated = 1;
    }
    if (!rc) {
        cols_ctx cc = {e, 0};
        rdm_err why;
        rc = sqlcheck_select(ddl, e->select, check_column, &cc, &why);
        if (rc == RDM_ERR_PARSE)
            rc = rdm_fail(err, rc, "%s: $.entities[%d].select: %s", file, idx, why.msg);
        else if (rc)
            *err = why;
        else if (cc.count != e->nfields)
            rc = rdm_fail(err, RDM_ERR_PARSE,
                          "%s: $.entities[%d].select: returns %d columns, %s has %d fields", file,
                          idx, cc.count, e->key, e->nfields);
    }
    if (!rc && !e->generated) {
        rdm_err why;
        rc = sqlcheck_windowed(ddl, e->select, e->nmodels, &why);
        if (rc == RDM_ERR_PARSE)
            rc =
                rdm_fail(err, rc, "%s: $.entities[%d].select (%s): %s", file, idx, e->key, why.msg);
        else if (rc)
            *err = why;
    }
    free(ddl);
    free(sel);
    return rc;
}

/* ---- loading ---- */

static void free_entity(prof_entity *e)
{
    for (int i = 0; i < e->nfields; i++)
        free(e->fields[i].name);
    for (int i = 0; i < e->nmodels; i++)
        free(e->models[i]);
    free(e->file);
    free(e->fields);
    free(e->pk);
    free(e->models);
    free(e->key);
    free(e->table);
    free(e->title);
    free(e->select);
}

static void free_model(prof_model *m)
{
    for (int i = 0; i < m->ncols; i++) {
        free(m->cols[i].name);
        free(m->cols[i].csv_header);
    }
    free(m->cols);
    free(m->key);
    free(m->name);
    free(m->csv_file);
    free(m->csv_encoding);
    free(m->csv_delimiter);
    free(m->pg_query);
    free(m->pg_table);
    free(m->pg_op_column);
}

void profile_free(profile *p)
{
    for (int i = 0; i < p->nentities; i++)
        free_entity(&p->entities[i]);
    for (int i = 0; i < p->nmodels; i++)
        free_model(&p->models[i]);
    free(p->entities);
    free(p->models);
    memset(p, 0, sizeof *p);
}

const prof_entity *profile_entity(const profile *p, const char *key)
{
    for (int i = 0; i < p->nentities; i++)
        if (strcmp(p->entities[i].key, key) == 0)
            return &p->entities[i];
    return NULL;
}

const prof_model *profile_model(const profile *p, const char *name)
{
    for (int i = 0; i < p->nmodels; i++)
        if (strcmp(p->models[i].name, name) == 0)
            return &p->models[i];
    return NULL;
}

int prof_field_index(const prof_entity *e, const char *name)
{
    for (int i = 0; i < e->nfields; i++)
        if (e->fields[i].name && strcmp(e->fields[i].name, name) == 0)
            return i;
    return -1;
}

/* Line and column of a byte offset, for JSON syntax errors. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static rdm_rc parse_doc(profile *p, const char *name, const char *text, size_t len, rdm_err *err)
{
    static const char *const known[] = {"profile", "description", "models", "entities", NULL};
    const char *end = NULL;
    jctx root = {name, "$"};
    rdm_rc rc;

    cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!doc) {
        int line, col;
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        line_col(text, off, &line, &col);
        return rdm_fail(err, RDM_ERR_PARSE, "%s:%d:%d: not valid JSON near here", name, line, col);
    }
    const char *ignored;
    if ((rc = check_members(&root, doc, known, err)) ||
        (rc = get_str(&root, doc, "profile", 0, &ignored, err)) ||
        (rc = get_str(&root, doc, "description", 0, &ignored, err)))
        goto out;
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(doc, "models");
    const cJSON *ents = cJSON_GetObjectItemCaseSensitive(doc, "entities");
    if ((models && !cJSON_IsArray(models)) || (ents && !cJSON_IsArray(ents))) {
        rc = jfail(&root, models && !cJSON_IsArray(models) ? "models" : "entities", err,
                   "must be an array");
        goto out;
    }
    int i = 0;
    for (const cJSON *m = models ? models->child : NULL; m; m = m->next, i++) {
        jctx c;
        jchild(&root, &c, "models", i);
        prof_model *nm = realloc(p->models, (size_t)(p->nmodels + 1) * sizeof *nm);
        if (!nm) {
            rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
            goto out;
        }
        p->models = nm;
        memset(&nm[p->nmodels], 0, sizeof *nm);
        rc = parse_model(&c, m, &nm[p->nmodels], err);
        p->nmodels++;
        if (rc)
            goto out;
        if (profile_model(p, nm[p->nmodels - 1].name) != &nm[p->nmodels - 1]) {
            rc = jfail(&c, "name", err, "model '%s' is defined twice", nm[p->nmodels - 1].name);
            goto out;
        }
        /* a dump names its model by its file (any case): two models of
         * one file would leave the second without data, silently */
        const char *f = nm[p->nmodels - 1].csv_file;
        for (int k = 0; f && k < p->nmodels - 1; k++)
            if (nm[k].csv_file && text_ieq(nm[k].csv_file, f)) {
                rc = jfail(&c, "csv", err, "file '%s' is already the dump of model '%s'", f,
                           nm[k].name);
                goto out;
            }
    }
    i = 0;
    for (const cJSON *e = ents ? ents->child : NULL; e; e = e->next, i++) {
        jctx c;
        jchild(&root, &c, "entities", i);
        prof_entity *ne = realloc(p->entities, (size_t)(p->nentities + 1) * sizeof *ne);
        if (!ne) {
            rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
            goto out;
        }
        p->entities = ne;
        memset(&ne[p->nentities], 0, sizeof *ne);
        rc = parse_entity(&c, e, &ne[p->nentities], err);
        ne[p->nentities].file_index = i;
        p->nentities++;
        if (!rc)
            rc = dup_into(&ne[p->nentities - 1].file, name, err);
        if (rc)
            goto out;
        if (profile_entity(p, ne[p->nentities - 1].key) != &ne[p->nentities - 1]) {
            rc = jfail(&c, "key", err, "entity '%s' is defined twice", ne[p->nentities - 1].key);
            goto out;
        }
    }
out:
    cJSON_Delete(doc);
    return rc;
}

/* Entities are checked against the models once every file is read, from
 * entity index `first` on. */
static rdm_rc check_entities(profile *p, int first, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    for (int i = first; i < p->nentities && !rc; i++)
        rc = check_entity(p, &p->entities[i], err);
    return rc;
}

rdm_rc profile_load_buffer(profile *p, const char *name, const char *text, size_t len, rdm_err *err)
{
    int first = p->nentities;
    rdm_rc rc = parse_doc(p, name, text, len, err);
    if (!rc)
        rc = check_entities(p, first, err);
    return rc;
}

/* Resolves one element of the PROFILE list to a file path. */
static rdm_rc resolve(const char *item, const char *base_dir, const char *search_dirs, char *buf,
                      size_t n, rdm_err *err)
{
    size_t len = strlen(item);
    int bare = !strchr(item, '/') && !strchr(item, '\\') &&
               !(len > 5 && strcmp(item + len - 5, ".json") == 0);
    if (!bare) {
        if (plat_join(base_dir, item, buf, n))
            return rdm_fail(err, RDM_ERR_CONFIG, "profile path too long: %s", item);
        return RDM_OK;
    }
    const char *d = search_dirs;
    while (d && *d) {
        const char *colon = strchr(d, PLAT_LIST_SEP);
        size_t dl = colon ? (size_t)(colon - d) : strlen(d);
        char dir[2048], file[256];
        if (dl < sizeof dir) {
            memcpy(dir, d, dl);
            dir[dl] = '\0';
            snprintf(file, sizeof file, "%s.json", item);
            if (plat_join(dir, file, buf, n) == 0 && plat_exists(buf))
                return RDM_OK;
        }
        d = colon ? colon + 1 : NULL;
    }
    return rdm_fail(err, RDM_ERR_CONFIG,
                    "profile '%s' not found in %s; give a path to a .json file in [agent] "
                    "PROFILE",
                    item, search_dirs && *search_dirs ? search_dirs : "(no profile folders)");
}

rdm_rc profile_load(profile *p, const char *spec, const char *base_dir, const char *search_dirs,
                    rdm_err *err)
{
    const char *s = spec;
    rdm_rc rc = RDM_OK;
    memset(p, 0, sizeof *p);
    if (!spec || !*spec)
        return rdm_fail(err, RDM_ERR_CONFIG, "[agent] PROFILE is empty: name at least one");
    while (s && !rc) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        char item[1024], path[4096];
        char *text = NULL;
        size_t len;
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0 || n >= sizeof item) {
            rc = rdm_fail(err, RDM_ERR_CONFIG, "[agent] PROFILE has an empty or too long item");
            break;
        }
        memcpy(item, s, n);
        item[n] = '\0';
        rc = resolve(item, base_dir, search_dirs, path, sizeof path, err);
        if (!rc) {
            rc = plat_read_file(path, 16u << 20, &text, &len, err);
            if (rc && rc != RDM_ERR_NOMEM)
                rc = RDM_ERR_CONFIG;
        }
        if (!rc)
            rc = parse_doc(p, path, text, len, err);
        free(text);
        s = comma ? comma + 1 : NULL;
    }
    /* entities may read models of any file: check once all are in */
    if (!rc)
        rc = check_entities(p, 0, err);
    if (rc)
        profile_free(p);
    return rc;
}
