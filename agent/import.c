/* import.c - see import.h. */
#include "import.h"
#include "../base/log.h"
#include "../base/plat.h"
#include "../base/text.h"
#include "../storage/staging.h"
#include "csvread.h"
#include "efft.h"
#include "manifest.h"
#include "../base/sha256.h"
#include "../storage/landfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS   IMPORT_MAX_COLS
#define MANIFEST   "manifest.json"
#define READ_CHUNK (256 * 1024)

/* ---- values ---- */

/* "DD.MM.YYYY" -> "YYYY-MM-DD" in out (10 bytes); 1 if it was one. */
static int ru_date(const char *s, size_t n, char *out)
{
    if (n < 10 || s[2] != '.' || s[5] != '.' || !text_digits(s, 2) || !text_digits(s + 3, 2) ||
        !text_digits(s + 6, 4))
        return 0;
    memcpy(out, s + 6, 4);
    out[4] = '-';
    memcpy(out + 5, s + 3, 2);
    out[7] = '-';
    memcpy(out + 8, s, 2);
    return efft_is_date(out, 10);
}

/* Narrows s (n bytes) to leave out the spaces and tabs around it. */
static void trim_blanks(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

rdm_rc import_normalize(prof_type t, const char *v, size_t n, int decimal_comma, rdm_buf *out,
                        int *is_null, char *why, size_t whylen)
{
    char tmp[64];
    rdm_rc rc = RDM_OK;
    buf_reset(out);
    *is_null = 0;
    /* spaces around a typed value are no part of it (a text keeps them,
     * as the product wrote it) */
    if (v && t != PROF_TEXT)
        trim_blanks(&v, &n);
    if (!v || (t != PROF_TEXT && n == 0)) {
        *is_null = 1;
        return RDM_OK;
    }
    switch (t) {
    case PROF_TEXT:
        rc = buf_add(out, v, n);
        break;
    case PROF_INT:
        /* up to 19 digits, and then the range of SQLite's INTEGER: past it
         * SQLite would keep a REAL, and lose digits */
        if ((rc = efft_int_canon(v, n, 19, out)) == RDM_ERR_PARSE) {
            snprintf(why, whylen, "'%.*s' is not an integer", (int)(n > 40 ? 40 : n), v);
            return rc;
        }
        if (!rc && !text_int64(out->p, out->len, NULL)) {
            snprintf(why, whylen,
                     "'%.*s' is beyond a 64-bit integer (-9223372036854775808 to "
                     "9223372036854775807)",
                     (int)(n > 40 ? 40 : n), v);
            return RDM_ERR_PARSE;
        }
        break;
    case PROF_BOOL: {
        int b = text_bool(v, n);
        if (b < 0) {
            snprintf(why, whylen, "'%.*s' is not a boolean (1/0, true/false, yes/no, да/нет)",
                     (int)(n > 40 ? 40 : n), v);
            return RDM_ERR_PARSE;
        }
        return buf_addc(out, b ? '1' : '0') ? RDM_ERR_NOMEM : RDM_OK;
    }
    case PROF_DATE:
        if (ru_date(v, n, tmp) && n == 10)
            return buf_add(out, tmp, 10);
        if (efft_parse_datetime(v, n, tmp))
            return buf_add(out, tmp, 10);
        snprintf(why, whylen, "'%.*s' is not a date (YYYY-MM-DD or DD.MM.YYYY)",
                 (int)(n > 40 ? 40 : n), v);
        return RDM_ERR_PARSE;
    case PROF_DATETIME:
        if (ru_date(v, n, tmp)) {
            /* DD.MM.YYYY[ HH:MM[:SS]]: rewrite the date, parse the rest as ISO */
            char iso[64];
            if (n > 40)
                goto bad_dt;
            memcpy(iso, tmp, 10);
            memcpy(iso + 10, v + 10, n - 10);
            if (efft_parse_datetime(iso, n, tmp))
                return buf_add(out, tmp, 19);
        } else if (efft_parse_datetime(v, n, tmp)) {
            return buf_add(out, tmp, 19);
        }
    bad_dt:
        snprintf(why, whylen, "'%.*s' is not a date and time (YYYY-MM-DD HH:MM:SS)",
                 (int)(n > 40 ? 40 : n), v);
        return RDM_ERR_PARSE;
    case PROF_DECIMAL: {
        if ((rc = buf_add(out, v, n)))
            break;
        char *c = decimal_comma ? memchr(out->p, ',', out->len) : NULL;
        if (c)
            *c = '.';
        if (!efft_is_decimal_input(out->p, out->len)) {
            snprintf(why, whylen, "'%.*s' is not a decimal number", (int)(n > 40 ? 40 : n), v);
            return RDM_ERR_PARSE;
        }
        break;
    }
    }
    return rc ? RDM_ERR_NOMEM : RDM_OK;
}

int64_t import_row_hash(int n, const char *const *vals, const size_t *lens)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < n; i++) {
        h ^= vals[i] ? 1u : 0u;
        h *= 0x100000001b3ULL;
        if (vals[i])
            for (size_t k = 0; k < lens[i]; k++) {
                h ^= (unsigned char)vals[i][k];
                h *= 0x100000001b3ULL;
            }
        h ^= 0xFF; /* separator: ("ab","") differs from ("a","b") */
        h *= 0x100000001b3ULL;
    }
    return (int64_t)h;
}

/* ---- one file ---- */

static const char *base_name(const char *path);

struct import_sink {
    store *st;
    const profile *p;
    const prof_model *m;
    stg_model sm;
    const char *path; /* for messages (owned copy in name_copy) */
    char *name_copy;
    const import_opts *o;
    long long src;
    stg_lander *lander;
    int decimal_comma;
    int from_db; /* rows of a database query, not of a file: for messages */
    int header_done;
    int ncsv;               /* columns in the file */
    int map[MAX_COLS];      /* file column -> model column, -1 = ignored */
    int have[MAX_COLS];     /* model column -> file column, -1 = absent */
    rdm_buf norm[MAX_COLS]; /* normalised values of one row */
    const char *vals[MAX_COLS];
    size_t lens[MAX_COLS];
    rdm_buf key;
    const char *cols[MAX_COLS];
    int integer[MAX_COLS];
    long long rows, rejected;
};
typedef struct import_sink file_ctx;

int import_column_required(const profile *p, const prof_model *m, int col)
{
    for (int k = 0; k < m->nkey; k++)
        if (m->key[k] == col)
            return 1;
    for (int e = 0; e < p->nentities; e++) {
        const prof_entity *en = &p->entities[e];
        if (en->nmodels != 1 || strcmp(en->models[0], m->name) != 0)
            continue;
        int f = prof_field_index(en, m->cols[col].name);
        if (f >= 0 && en->fields[f].required)
            return 1;
    }
    return 0;
}

rdm_rc import_sink_header(import_sink *c, int n, const char *const *vals, rdm_err *err)
{
    const prof_model *m = c->m;
    if (n > MAX_COLS)
        return rdm_fail(err, RDM_ERR_PARSE, "%s:1: more than %d columns", c->path, MAX_COLS);
    for (int i = 0; i < m->ncols; i++)
        c->have[i] = -1;
    for (int j = 0; j < n; j++) {
        /* a header's name without the spaces around it */
        const char *h = vals[j] ? vals[j] : "";
        size_t hl = strlen(h);
        trim_blanks(&h, &hl);
        c->map[j] = -1;
        for (int i = 0; i < m->ncols; i++)
            if (strlen(m->cols[i].csv_header) == hl && strncmp(m->cols[i].csv_header, h, hl) == 0) {
                if (c->have[i] >= 0)
                    return rdm_fail(err, RDM_ERR_PARSE,
                                    "%s:1: column '%.*s' appears twice in the header (columns "
                                    "%d and %d)",
                                    c->path, (int)hl, h, c->have[i] + 1, j + 1);
                c->have[i] = j;
                c->map[j] = i;
            }
        if (c->map[j] < 0)
            log_warn("%s:1: column %d '%s' is not a column of model %s; ignored", c->path, j + 1, h,
                     m->name);
    }
    char missing[1024] = "";
    for (int i = 0; i < m->ncols; i++) {
        if (c->have[i] >= 0)
            continue;
        if (import_column_required(c->p, m, i))
            return rdm_fail(err, RDM_ERR_PARSE,
                            "%s:1: the header lacks column '%s' of model %s (a key or a "
                            "required field); the header has %d columns",
                            c->path, m->cols[i].csv_header, m->name, n);
        strncat(missing, *missing ? ", " : "", sizeof missing - strlen(missing) - 1);
        strncat(missing, m->cols[i].csv_header, sizeof missing - strlen(missing) - 1);
    }
    if (*missing)
        log_warn("%s:1: the header lacks these columns of model %s; they are imported as empty: "
                 "%s",
                 c->path, m->name, missing);
    c->ncsv = n;
    c->header_done = 1;
    return RDM_OK;
}

/* A bad row: refuse the file, or quarantine the row with --skip-bad-rows. */
static rdm_rc bad_row(file_ctx *c, long line, const char *field, const char *why, int n,
                      const char *const *vals, const size_t *lens, rdm_err *err)
{
    if (!c->o->skip_bad_rows && c->from_db)
        return rdm_fail(err, RDM_ERR_PARSE,
                        "%s, row %ld%s%s: %s; nothing of this pull was kept (fix the row in the "
                        "database, or the model's query, and collect again)",
                        c->path, line, field ? ": column " : "", field ? field : "", why);
    if (!c->o->skip_bad_rows)
        return rdm_fail(err, RDM_ERR_PARSE,
                        "%s:%ld%s%s: %s; nothing of this file was imported (fix the row, or "
                        "import with --skip-bad-rows to quarantine such rows)",
                        c->path, line, field ? ": column " : "", field ? field : "", why);
    rdm_buf raw;
    buf_init(&raw, 1 << 20);
    for (int i = 0; i < n; i++) {
        if (i)
            buf_addc(&raw, ';');
        if (vals[i])
            buf_add(&raw, vals[i], lens[i]);
    }
    rdm_rc rc = stg_quarantine(c->st, c->src, line, field, why, raw.p ? raw.p : "", err);
    buf_free(&raw);
    c->rejected++;
    return rc;
}

rdm_rc import_sink_row(import_sink *c, long line, int op, int n, const char *const *vals,
                       const size_t *lens, rdm_err *err)
{
    const prof_model *m = c->m;
    char why[256];
    rdm_rc rc;

    if (n != c->ncsv) {
        snprintf(why, sizeof why, "%d fields, the header has %d", n, c->ncsv);
        return bad_row(c, line, NULL, why, n, vals, lens, err);
    }
    for (int i = 0; i < m->ncols; i++) {
        int j = c->have[i], is_null;
        const char *v = j >= 0 ? vals[j] : NULL;
        size_t vl = j >= 0 ? lens[j] : 0;
        rc = import_normalize(m->cols[i].type, v, vl, c->decimal_comma, &c->norm[i], &is_null, why,
                              sizeof why);
        if (rc == RDM_ERR_PARSE)
            return bad_row(c, line, m->cols[i].csv_header, why, n, vals, lens, err);
        if (rc)
            return rdm_fail(err, rc, "out of memory");
        if (!is_null && buf_add(&c->norm[i], "", 0))
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        c->vals[i] = is_null ? NULL : (c->norm[i].p ? c->norm[i].p : "");
        c->lens[i] = is_null ? 0 : c->norm[i].len;
    }
    buf_reset(&c->key);
    for (int k = 0; k < m->nkey; k++) {
        int i = m->key[k];
        if (!c->vals[i] || !c->lens[i])
            return bad_row(c, line, m->cols[i].csv_header, "key column is empty", n, vals, lens,
                           err);
        if ((k && buf_addc(&c->key, '\x1f')) || buf_add(&c->key, c->vals[i], c->lens[i]))
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    int64_t h = import_row_hash(m->ncols, c->vals, c->lens);
    rc = stg_land(c->lander, c->key.p, c->key.len, line, op, h, c->vals, c->lens, err);
    if (!rc)
        c->rows++;
    return rc;
}

static rdm_rc csv_row(void *ud, long line, int n, const char *const *vals, const size_t *lens,
                      rdm_err *err)
{
    import_sink *c = ud;
    if (!c->header_done)
        return import_sink_header(c, n, vals, err);
    return import_sink_row(c, line, 0, n, vals, lens, err);
}

void import_sink_free(import_sink *c)
{
    if (!c)
        return;
    stg_lander_close(c->lander);
    for (int i = 0; i < c->m->ncols && i < MAX_COLS; i++)
        buf_free(&c->norm[i]);
    buf_free(&c->key);
    free(c->name_copy);
    free(c);
}

rdm_rc import_stg_model(const prof_model *m, const char **cols, int *integer, stg_model *sm,
                        rdm_err *err)
{
    if (m->ncols > IMPORT_MAX_COLS)
        return rdm_fail(err, RDM_ERR_CONFIG, "model %s has more than %d columns", m->name,
                        IMPORT_MAX_COLS);
    for (int i = 0; i < m->ncols; i++) {
        cols[i] = m->cols[i].name;
        integer[i] = m->cols[i].type == PROF_INT || m->cols[i].type == PROF_BOOL;
    }
    sm->name = m->name;
    sm->ncols = m->ncols;
    sm->cols = cols;
    sm->integer = integer;
    sm->rowid_key = m->nkey == 1 && m->cols[m->key[0]].type == PROF_INT;
    return RDM_OK;
}

rdm_rc import_sink_open(store *st, const profile *p, const prof_model *m, const char *kind,
                        const char *name, int snapshot, const char *bundle, int replace,
                        int decimal_comma, const import_opts *o, import_sink **out, rdm_err *err)
{
    import_sink *c = calloc(1, sizeof *c);
    rdm_rc rc;
    *out = NULL;
    if (!c)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    c->m = m;
    if ((rc = import_stg_model(m, c->cols, c->integer, &c->sm, err))) {
        free(c);
        return rc;
    }
    for (int i = 0; i < m->ncols; i++)
        buf_init(&c->norm[i], 16u << 20);
    buf_init(&c->key, 1u << 20);
    c->st = st;
    c->p = p;
    c->o = o;
    c->decimal_comma = decimal_comma;
    c->from_db = strcmp(kind, "postgres") == 0;
    if (!(c->name_copy = malloc(strlen(name) + 1))) {
        import_sink_free(c);
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    strcpy(c->name_copy, name);
    c->path = c->name_copy;
    if ((rc = stg_model_ensure(st, &c->sm, err)) ||
        (rc = stg_source_create(st, &c->sm, kind, base_name(name), NULL, 0, snapshot, bundle,
                                &c->src, err)) ||
        (rc = stg_lander_open(st, &c->sm, c->src, replace, 0, &c->lander, err))) {
        import_sink_free(c);
        return rc;
    }
    *out = c;
    return RDM_OK;
}

long long import_sink_rows(const import_sink *c)
{
    return c->rows;
}

/* A key that came again in a dump: refused, or quarantined. */
static rdm_rc repeated_key(void *ud, const land_row *row, long first_line, rdm_err *err)
{
    import_sink *c = ud;
    char why[256];
    snprintf(why, sizeof why, "key '%.*s' appears again (first on line %ld)",
             (int)(row->klen > 60 ? 60 : row->klen), row->key, first_line);
    c->rows--;
    return bad_row(c, row->line, NULL, why, row->ncols, row->vals, row->lens, err);
}

rdm_rc import_sink_finish(import_sink *c, rdm_err *err)
{
    long long repeats = 0;
    rdm_rc rc = stg_lander_repeats(c->lander, repeated_key, c, &repeats, err);
    if (!rc)
        rc = stg_lander_finish(c->lander, err);
    if (!rc)
        rc = stg_source_landed(c->st, c->src, c->rows, c->rejected, err);
    return rc;
}

/* Finds the model that reads a dump of this file name (case-insensitive:
 * Windows copies may change the case). */
static const prof_model *model_for_file(const profile *p, const char *name)
{
    for (int i = 0; i < p->nmodels; i++) {
        const char *f = p->models[i].csv_file;
        if (!f || strlen(f) != strlen(name))
            continue;
        size_t k = 0;
        while (f[k]) {
            char a = f[k], b = name[k];
            if (a >= 'A' && a <= 'Z')
                a = (char)(a - 'A' + 'a');
            if (b >= 'A' && b <= 'Z')
                b = (char)(b - 'A' + 'a');
            if (a != b)
                break;
            k++;
        }
        if (!f[k])
            return &p->models[i];
    }
    return NULL;
}

static const char *base_name(const char *path)
{
    const char *b = path;
    for (const char *s = path; *s; s++)
        if (*s == '/' || *s == '\\')
            b = s + 1;
    return b;
}

/* Lands one file in the open transaction. *known is set (and nothing
 * landed: the file's work is rolled back to a savepoint) when the same
 * content was imported before. want_sha (or NULL): the manifest's SHA-256,
 * checked on the very bytes parsed. */
static rdm_rc import_file(store *st, const profile *p, const rdm_config *cfg, const char *path,
                          const prof_model *m, int snapshot, const char *bundle,
                          const char *want_sha, const import_opts *o, int *known,
                          import_stats *stats, rdm_err *err)
{
    import_sink *c = NULL;
    csvr *r = NULL;
    FILE *f = NULL;
    char sha[SHA256_HEX];
    sha256_bg *h = NULL;
    long long size = 0, id = 0;
    rdm_rc rc;

    *known = 0;
    const char *enc = m->csv_encoding ? m->csv_encoding : cfg_str(cfg, CFG_ENCODING);
    const char *delim = m->csv_delimiter ? m->csv_delimiter : cfg_str(cfg, CFG_DELIMITER);
    /* a bundle's file only when it is still a plain file, checked on what
     * was opened (it may have been swapped for a link since it was listed) */
    if (bundle && (rc = plat_open_plain(path, &f, err)))
        return rc;
    if (!bundle && !(f = fopen(path, "rb")))
        return rdm_fail(err, RDM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if ((rc = store_exec(st, "SAVEPOINT import_file", err))) {
        fclose(f);
        return rc;
    }
    if ((rc = import_sink_open(st, p, m, "csv", path, snapshot, bundle, 0, delim[0] == ';', o, &c,
                               err)))
        goto out;
    c->path = path;
    if ((rc = csvr_open(&r, path, strcmp(enc, "cp1251") == 0 ? CSVR_CP1251 : CSVR_UTF8, delim[0],
                        csv_row, c, err)))
        goto out;
    /* the checksum on a second core, beside the parsing */
    if ((rc = sha256_bg_start(READ_CHUNK, &h, err)))
        goto out;
    size_t n;
    for (;;) {
        char *chunk = sha256_bg_buffer(h);
        if (!(n = fread(chunk, 1, READ_CHUNK, f)))
            break;
        sha256_bg_feed(h, chunk, n);
        size += (long long)n;
        if ((rc = csvr_feed(r, chunk, n, err)))
            break;
    }
    if (!rc && ferror(f))
        rc = rdm_fail(err, RDM_ERR_IO, "cannot read %s", path);
    if (!rc)
        rc = csvr_finish(r, err);
    sha256_bg_finish(h, sha);
    if (!rc && want_sha && strcmp(sha, want_sha) != 0)
        rc = rdm_fail(err, RDM_ERR_PARSE,
                      "%s: its bytes changed while it was imported (SHA-256 %s, the manifest "
                      "says %s); copy the bundle again. Nothing was imported",
                      path, sha, want_sha);
    if (rc)
        goto out;
    if (!c->header_done) {
        rc = rdm_fail(err, RDM_ERR_PARSE, "%s: the file is empty (no header line)", path);
        goto out;
    }
    /* the same bytes as the model's last source, landed the same way
     * (its own flag: a full dump with quarantined rows deletes nothing) */
    if (stg_source_same(st, m->name, c->src, sha, snapshot && c->rejected == 0, &id, err) ==
        RDM_OK) {
        *known = 1;
        log_info("%s: already imported (source %lld, the last of model %s); nothing to do", path,
                 id, m->name);
        goto out;
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_db(st),
                           "UPDATE import_source SET sha256 = ?, size = ? WHERE id = ?", -1, &s,
                           NULL)) {
        rc = store_fail(st, err, "recording the file's checksum");
        goto out;
    }
    sqlite3_bind_text(s, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, size);
    sqlite3_bind_int64(s, 3, c->src);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_fail(st, err, "recording the file's checksum");
    sqlite3_finalize(s);
    if (!rc)
        rc = import_sink_finish(c, err);
    if (!rc) {
        stats->files++;
        stats->rows += c->rows;
        stats->rejected += c->rejected;
        log_info("%s: %lld row(s) landed for model %s (%s)", path, c->rows, m->name,
                 snapshot ? "full snapshot" : "partial");
        if (c->rejected)
            log_warn("%s: %lld row(s) quarantined (see `rdm-agent stages`)%s", path, c->rejected,
                     snapshot ? "; so this full dump deletes no key (a bad row's key would look "
                                "gone): fix the rows and import it again to let it delete"
                              : "");
    }
out:
    if (rc || *known)
        store_exec(st, "ROLLBACK TO import_file", NULL);
    store_exec(st, "RELEASE import_file", NULL);
    csvr_free(r);
    import_sink_free(c);
    if (f)
        fclose(f);
    return rc;
}

/* ---- bundles ---- */

typedef struct bundle_file {
    char name[MANIFEST_NAME_MAX];
    char sha[SHA256_HEX]; /* from the manifest, "" if none */
    int partial;
    const prof_model *m;
} bundle_file;

typedef struct bundle {
    const char *dir;
    const profile *p;
    bundle_file files[256];
    int n;
    int has_manifest;
} bundle;

static rdm_rc add_file(bundle *b, const char *name, rdm_err *err)
{
    char path[4096];
    if (b->n >= (int)(sizeof b->files / sizeof b->files[0]))
        return rdm_fail(err, RDM_ERR_PARSE, "%s: more than %d files in the bundle", b->dir,
                        (int)(sizeof b->files / sizeof b->files[0]));
    if (plat_join(b->dir, name, path, sizeof path))
        return rdm_fail(err, RDM_ERR_PARSE, "%s: path too long", b->dir);
    plat_kind_t k = plat_kind(path, NULL);
    if (k == PLAT_LINK)
        return rdm_fail(err, RDM_ERR_PARSE,
                        "%s: is a symbolic link; a bundle holds plain files only (refused)", path);
    if (k == PLAT_NONE)
        return rdm_fail(err, RDM_ERR_PARSE, "%s: listed in the manifest but missing", path);
    if (k != PLAT_FILE)
        return rdm_fail(err, RDM_ERR_PARSE, "%s: not a plain file (refused)", path);
    bundle_file *f = &b->files[b->n];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->m = model_for_file(b->p, name);
    for (int i = 0; i < b->n; i++)
        if (b->files[i].m && b->files[i].m == f->m)
            return rdm_fail(err, RDM_ERR_PARSE,
                            "%s: %s and %s are both dumps of model %s; a bundle holds one per "
                            "model",
                            b->dir, b->files[i].name, name, f->m->name);
    b->n++;
    return RDM_OK;
}

static rdm_rc list_entry(void *ud, const char *name, rdm_err *err)
{
    bundle *b = ud;
    char path[4096];
    if (strcmp(name, MANIFEST) == 0)
        return RDM_OK;
    if (plat_join(b->dir, name, path, sizeof path))
        return rdm_fail(err, RDM_ERR_PARSE, "%s: path too long", b->dir);
    plat_kind_t k = plat_kind(path, NULL);
    if (!model_for_file(b->p, name)) {
        if (k == PLAT_FILE || k == PLAT_DIR)
            log_warn("%s: no model reads a file of this name; ignored", path);
        else
            log_warn("%s: not a plain file; ignored", path);
        return RDM_OK;
    }
    return add_file(b, name, err);
}

typedef struct manifest_ctx {
    bundle *b;
    const char *mpath;
} manifest_ctx;

static rdm_rc manifest_entry(void *ud, int i, const char *name, const char *sha256, int partial,
                             rdm_err *err)
{
    manifest_ctx *x = ud;
    rdm_rc rc;
    if (!model_for_file(x->b->p, name))
        return rdm_fail(err, RDM_ERR_PARSE, "%s: files[%d]: no model reads '%s'", x->mpath, i,
                        name);
    if ((rc = add_file(x->b, name, err)))
        return rc;
    bundle_file *bf = &x->b->files[x->b->n - 1];
    memcpy(bf->sha, sha256, sizeof bf->sha);
    bf->partial = partial;
    return RDM_OK;
}

static rdm_rc read_manifest(bundle *b, const char *mpath, rdm_err *err)
{
    char *text;
    size_t len;
    manifest_ctx x = {b, mpath};
    rdm_rc rc = plat_read_file(mpath, 4u << 20, &text, &len, err);
    if (rc)
        return rc;
    rc = manifest_parse(text, len, mpath, manifest_entry, &x, err);
    free(text);
    return rc;
}

static rdm_rc import_bundle(store *st, const profile *p, const rdm_config *cfg, const char *dir,
                            const import_opts *o, import_stats *stats, rdm_err *err)
{
    bundle *b = calloc(1, sizeof *b);
    char mpath[4096], path[4096];
    rdm_rc rc;
    if (!b)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    b->dir = dir;
    b->p = p;
    if (plat_join(dir, MANIFEST, mpath, sizeof mpath)) {
        free(b);
        return rdm_fail(err, RDM_ERR_PARSE, "%s: path too long", dir);
    }
    plat_kind_t mk = plat_kind(mpath, NULL);
    if (mk == PLAT_LINK)
        rc = rdm_fail(err, RDM_ERR_PARSE, "%s: is a symbolic link (refused)", mpath);
    else if (mk == PLAT_FILE)
        b->has_manifest = 1, rc = read_manifest(b, mpath, err);
    else
        rc = plat_listdir(dir, list_entry, b, err);
    if (!rc && b->n == 0)
        rc = rdm_fail(err, RDM_ERR_PARSE, "%s: no dump of any model of the profile in the bundle",
                      dir);
    /* every checksum before touching the store */
    for (int i = 0; i < b->n && !rc && b->has_manifest; i++) {
        char got[SHA256_HEX];
        plat_join(dir, b->files[i].name, path, sizeof path);
        if ((rc = sha256_file(path, got, NULL, err)))
            break;
        if (strcmp(got, b->files[i].sha) != 0)
            rc = rdm_fail(err, RDM_ERR_PARSE,
                          "%s: SHA-256 is %s, the manifest says %s: the copy is damaged or "
                          "changed; copy the bundle again. Nothing was imported",
                          path, got, b->files[i].sha);
    }
    if (!rc)
        rc = store_begin(st, err);
    int landed = 0;
    import_stats s = {0};
    for (int i = 0; i < b->n && !rc; i++) {
        int known = 0;
        plat_join(dir, b->files[i].name, path, sizeof path);
        int snapshot = !(o->partial || b->files[i].partial || b->files[i].m->csv_partial);
        rc = import_file(st, p, cfg, path, b->files[i].m, snapshot, dir,
                         b->has_manifest ? b->files[i].sha : NULL, o, &known, &s, err);
        if (known)
            s.known++;
        else if (!rc)
            landed++;
    }
    if (!rc && landed) {
        if ((rc = store_commit(st, err)) == RDM_OK) {
            stats->files += s.files;
            stats->rows += s.rows;
            stats->rejected += s.rejected;
        }
    } else {
        store_rollback(st);
    }
    stats->known += s.known;
    if (rc && rc != RDM_ERR_NOMEM && b->n > 1)
        log_error("bundle %s: nothing of it was imported", dir);
    free(b);
    return rc;
}

rdm_rc import_path(store *st, const profile *p, const rdm_config *cfg, const char *path,
                   const import_opts *o, import_stats *stats, rdm_err *err)
{
    plat_kind_t k = plat_kind(path, NULL);
    if (k == PLAT_NONE)
        return rdm_fail(err, RDM_ERR_IO, "%s: no such file or folder", path);
    if (k == PLAT_DIR)
        return import_bundle(st, p, cfg, path, o, stats, err);
    const prof_model *m = model_for_file(p, base_name(path));
    if (!m) {
        char list[1024] = "";
        for (int i = 0; i < p->nmodels; i++)
            if (p->models[i].csv_file) {
                strncat(list, *list ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, p->models[i].csv_file, sizeof list - strlen(list) - 1);
            }
        return rdm_fail(err, RDM_ERR_CONFIG,
                        "%s: no model of the profile reads a file of this name (expected one "
                        "of: %s)",
                        path, list);
    }
    int known = 0;
    rdm_rc rc = store_begin(st, err);
    if (rc)
        return rc;
    rc = import_file(st, p, cfg, path, m, !(o->partial || m->csv_partial), NULL, NULL, o, &known,
                     stats, err);
    if (!rc && !known)
        rc = store_commit(st, err);
    else
        store_rollback(st);
    if (known)
        stats->known++;
    return rc;
}
