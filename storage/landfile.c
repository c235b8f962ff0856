/* landfile.c - see landfile.h. */
#include "landfile.h"
#include "../base/plat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* version 2 ends with an end record; version 1 (before 2026-12-07) ends
 * with the file, and is still read */
static const char MAGIC[8] = {'R', 'D', 'M', 'L', 'A', 'N', 'D', '2'};
static const char MAGIC1[8] = {'R', 'D', 'M', 'L', 'A', 'N', 'D', '1'};
#define HEADER    12
#define NULL_LEN  0xFFFFFFFFu
#define END_MARK  0xFFFFFFFEu /* in place of a record length: the end record */
#define END_SIZE  12          /* the mark, then u64 the number of records */
#define MAX_PAYLD (1u << 30)  /* a row is far below; more means damage */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

rdm_rc land_encode(rdm_buf *b, long line, int op, int64_t hash, const char *key, size_t klen,
                   int ncols, const char *const *vals, const size_t *lens)
{
    unsigned char h[4 + 4 + 1 + 8 + 4], v[4];
    size_t len = sizeof h - 4 + klen;
    uint64_t u = (uint64_t)hash;
    for (int i = 0; i < ncols; i++)
        len += 4 + (vals[i] ? lens[i] : 0);
    if (len > MAX_PAYLD || klen > MAX_PAYLD)
        return RDM_ERR_RANGE;
    put32(h, (uint32_t)len);
    put32(h + 4, (uint32_t)line);
    h[8] = (unsigned char)op;
    put32(h + 9, (uint32_t)u);
    put32(h + 13, (uint32_t)(u >> 32));
    put32(h + 17, (uint32_t)klen);
    rdm_rc rc = buf_add(b, h, sizeof h);
    if (!rc)
        rc = buf_add(b, key, klen);
    for (int i = 0; i < ncols && !rc; i++) {
        put32(v, vals[i] ? (uint32_t)lens[i] : NULL_LEN);
        rc = buf_add(b, v, 4);
        if (!rc && vals[i])
            rc = buf_add(b, vals[i], lens[i]);
    }
    return rc;
}

int land_decode(const unsigned char *p, size_t n, int ncols, land_row *r)
{
    size_t at = 4 + 1 + 8 + 4;
    if (n < at || ncols < 0 || ncols > LAND_MAX_COLS)
        return -1;
    r->line = (long)get32(p);
    r->op = p[4];
    r->hash = (int64_t)((uint64_t)get32(p + 5) | (uint64_t)get32(p + 9) << 32);
    r->klen = get32(p + 13);
    if (r->klen > n - at)
        return -1;
    r->key = (const char *)p + at;
    at += r->klen;
    r->ncols = ncols;
    for (int i = 0; i < ncols; i++) {
        if (n - at < 4)
            return -1;
        uint32_t l = get32(p + at);
        at += 4;
        if (l == NULL_LEN) {
            r->vals[i] = NULL;
            r->lens[i] = 0;
            continue;
        }
        if (l > n - at)
            return -1;
        r->vals[i] = (const char *)p + at;
        r->lens[i] = l;
        at += l;
    }
    return at == n && (r->op == 0 || r->op == 3) ? 0 : -1;
}

/* ---- writer ---- */

struct land_writer {
    plat_wfile *f;
    char *dir;
    int ncols;
    long long rows;
    rdm_buf rec;
};

rdm_rc land_writer_open(const char *path, int ncols, land_writer **out, rdm_err *err)
{
    land_writer *w = calloc(1, sizeof *w);
    unsigned char h[HEADER];
    rdm_rc rc;
    size_t n = strlen(path) + 1;
    *out = NULL;
    if (!w || !(w->dir = malloc(n))) {
        free(w);
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    if (plat_dirname(path, w->dir, n))
        strcpy(w->dir, ".");
    w->ncols = ncols;
    buf_init(&w->rec, MAX_PAYLD + 4u);
    memcpy(h, MAGIC, sizeof MAGIC);
    put32(h + 8, (uint32_t)ncols);
    /* a file of this name left by an import that died before its commit
     * belongs to no source: the id is being given out again */
    if ((rc = plat_remove(path, err)) || (rc = plat_wopen(path, &w->f, err)) ||
        (rc = plat_write(w->f, h, sizeof h, err))) {
        land_writer_abort(w);
        return rc;
    }
    *out = w;
    return RDM_OK;
}

rdm_rc land_put(land_writer *w, long line, int op, int64_t hash, const char *key, size_t klen,
                const char *const *vals, const size_t *lens, long long *off, rdm_err *err)
{
    buf_reset(&w->rec);
    rdm_rc rc = land_encode(&w->rec, line, op, hash, key, klen, w->ncols, vals, lens);
    if (rc == RDM_ERR_RANGE)
        return rdm_fail(err, rc, "line %ld: the row is larger than 1 GiB", line);
    if (rc)
        return rdm_fail(err, rc, "out of memory");
    if (off)
        *off = (long long)plat_wsize(w->f);
    w->rows++;
    return plat_write(w->f, w->rec.p, w->rec.len, err);
}

rdm_rc land_writer_flush(land_writer *w, rdm_err *err)
{
    return plat_wflush(w->f, err);
}

static void writer_free(land_writer *w)
{
    buf_free(&w->rec);
    free(w->dir);
    free(w);
}

rdm_rc land_writer_commit(land_writer *w, rdm_err *err)
{
    /* the end record: a file cut anywhere, even between two records, is
     * known as damaged when it is read */
    unsigned char e[END_SIZE];
    put32(e, END_MARK);
    put32(e + 4, (uint32_t)w->rows);
    put32(e + 8, (uint32_t)((unsigned long long)w->rows >> 32));
    rdm_rc rc = plat_write(w->f, e, sizeof e, err);
    if (rc) {
        land_writer_abort(w);
        return rc;
    }
    rc = plat_wcommit(w->f, err);
    if (!rc)
        rc = plat_fsync_dir(w->dir, err);
    writer_free(w);
    return rc;
}

void land_writer_abort(land_writer *w)
{
    if (!w)
        return;
    plat_wabort(w->f);
    writer_free(w);
}

/* ---- reader ---- */

#define LAND_READ_BUF (1u << 18)

struct land_reader {
    FILE *f;
    char *vbuf; /* f's buffer: glibc sizes its own by the block (4 KiB) */
    char *path;
    int ncols;
    int v1;       /* a version 1 file: no end record */
    int open_end; /* the file is still being written: no end record yet */
    int ended;    /* the end record was read */
    long long off, rows;
    unsigned char *p;
    size_t cap;
};

/* RDM_ERR_PARSE: the file's bytes are not what was written (an I/O error
 * is RDM_ERR_IO). */
static rdm_rc damaged(land_reader *r, const char *why, rdm_err *err)
{
    return rdm_fail(err, RDM_ERR_PARSE, "%s: landed rows damaged at byte %lld (%s)", r->path,
                    r->off, why);
}

rdm_rc land_reader_open(const char *path, int ncols, int open_end, land_reader **out, rdm_err *err)
{
    land_reader *r = calloc(1, sizeof *r);
    unsigned char h[HEADER];
    *out = NULL;
    if (!r || !(r->path = malloc(strlen(path) + 1))) {
        free(r);
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    strcpy(r->path, path);
    r->ncols = ncols;
    if (!(r->f = fopen(path, "rb"))) {
        rdm_rc rc = rdm_fail(err, errno == ENOENT ? RDM_ERR_NOT_FOUND : RDM_ERR_IO,
                             "cannot open the landed rows %s: %s", path, strerror(errno));
        land_reader_close(r);
        return rc;
    }
    if ((r->vbuf = malloc(LAND_READ_BUF)))
        setvbuf(r->f, r->vbuf, _IOFBF, LAND_READ_BUF);
    r->open_end = open_end;
    int got = fread(h, 1, sizeof h, r->f) == sizeof h;
    r->v1 = got && memcmp(h, MAGIC1, sizeof MAGIC1) == 0;
    if (!got || (!r->v1 && memcmp(h, MAGIC, sizeof MAGIC) != 0) ||
        get32(h + 8) != (uint32_t)ncols) {
        rdm_rc rc = damaged(r, "not a land file of this model", err);
        land_reader_close(r);
        return rc;
    }
    r->off = HEADER;
    *out = r;
    return RDM_OK;
}

rdm_rc land_next(land_reader *r, land_row *row, long long *off, rdm_err *err)
{
    unsigned char l[END_SIZE];
    if (r->ended)
        return RDM_ERR_NOT_FOUND;
    size_t got = fread(l, 1, 4, r->f);
    if (got == 0 && feof(r->f))
        return r->v1 || r->open_end ? RDM_ERR_NOT_FOUND
                                    : damaged(r, "cut short: no end record", err);
    if (got != 4)
        return ferror(r->f)
                   ? rdm_fail(err, RDM_ERR_IO, "cannot read %s: %s", r->path, strerror(errno))
                   : damaged(r, "cut short", err);
    uint32_t n = get32(l);
    if (n == END_MARK && !r->v1) {
        /* the end: as many records as were written, and nothing after */
        char more;
        if (fread(l + 4, 1, END_SIZE - 4, r->f) != END_SIZE - 4)
            return damaged(r, "cut short in the end record", err);
        long long rows = (long long)((uint64_t)get32(l + 4) | (uint64_t)get32(l + 8) << 32);
        if (rows != r->rows) {
            char why[96];
            snprintf(why, sizeof why, "%lld records where %lld were written", r->rows, rows);
            return damaged(r, why, err);
        }
        if (fread(&more, 1, 1, r->f) == 1)
            return damaged(r, "bytes after the end record", err);
        r->ended = 1;
        return RDM_ERR_NOT_FOUND;
    }
    if (n > MAX_PAYLD)
        return damaged(r, "impossible record length", err);
    if (n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < n)
            cap *= 2;
        unsigned char *p = realloc(r->p, cap);
        if (!p)
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        r->p = p;
        r->cap = cap;
    }
    if (fread(r->p, 1, n, r->f) != n)
        return damaged(r, "cut short", err);
    if (land_decode(r->p, n, r->ncols, row))
        return damaged(r, "malformed record", err);
    if (off)
        *off = r->off;
    r->off += 4 + (long long)n;
    r->rows++;
    return RDM_OK;
}

long long land_reader_offset(const land_reader *r)
{
    return r->off;
}

void land_reader_close(land_reader *r)
{
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
    free(r->vbuf); /* after fclose: f used it until then */
    free(r->p);
    free(r->path);
    free(r);
}
