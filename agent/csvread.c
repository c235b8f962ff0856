/* csvread.c - see csvread.h. */
#include "csvread.h"
#include "efft.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSVR_FIELD_MAX (16u << 20) /* one field */
#define CSVR_ROW_MAX   (64u << 20) /* one row, all fields */
#define CSVR_MAX_COLS  4096

struct csvr {
    struct csv_parser p;
    const char *name;
    csvr_encoding enc;
    csvr_row_fn fn;
    void *ud;
    long line;       /* physical line being fed (1-based) */
    long row_line;   /* line the current row started on */
    long start_line; /* line on which the row being parsed began */
    int at_start;    /* no byte seen yet (BOM check) */
    int in_row;      /* a field of the current row was seen */
    rdm_buf pending; /* bytes of the current physical line not fed yet */
    rdm_buf data;    /* the current row's fields, NUL-separated, UTF-8 */
    size_t offs[CSVR_MAX_COLS];
    size_t lens[CSVR_MAX_COLS];
    int isnull[CSVR_MAX_COLS];
    int nf;
    rdm_rc cb_rc; /* first error raised inside a libcsv callback */
    rdm_err cb_err;
    int cp1251_seen; /* CP1251: a line with enough non-ASCII bytes was checked */
};

/* libcsv's buffer grows through this: refuse past the field cap so that a
 * runaway quoted field cannot eat the memory. */
static void *capped_realloc(void *p, size_t n)
{
    return n > CSVR_FIELD_MAX + 64 ? NULL : realloc(p, n);
}

static const unsigned short cp1251_hi[128] = {
    0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021, 0x20AC, 0x2030, 0x0409, 0x2039,
    0x040A, 0x040C, 0x040B, 0x040F, 0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x0000, 0x2122, 0x0459, 0x203A, 0x045A, 0x045C, 0x045B, 0x045F, 0x00A0, 0x040E, 0x045E, 0x0408,
    0x00A4, 0x0490, 0x00A6, 0x00A7, 0x0401, 0x00A9, 0x0404, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x0407,
    0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491, 0x00B5, 0x00B6, 0x00B7, 0x0451, 0x2116, 0x0454, 0x00BB,
    0x0458, 0x0405, 0x0455, 0x0457, 0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,
    0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E, 0x041F, 0x0420, 0x0421, 0x0422, 0x0423,
    0x0424, 0x0425, 0x0426, 0x0427, 0x0428, 0x0429, 0x042A, 0x042B, 0x042C, 0x042D, 0x042E, 0x042F,
    0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437, 0x0438, 0x0439, 0x043A, 0x043B,
    0x043C, 0x043D, 0x043E, 0x043F, 0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,
    0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F};

rdm_rc csvr_cp1251_to_utf8(const char *s, size_t n, rdm_buf *out, size_t *bad)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;
    rdm_rc rc = RDM_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        if (u[i] < 0x80) {
            run++;
            continue;
        }
        if (run)
            rc = buf_add(out, s + i - run, run);
        run = 0;
        unsigned cp = cp1251_hi[u[i] - 0x80];
        if (!cp) {
            if (bad)
                *bad = i;
            return RDM_ERR_PARSE;
        }
        char enc[3];
        size_t l;
        if (cp < 0x800) {
            enc[0] = (char)(0xC0 | (cp >> 6));
            enc[1] = (char)(0x80 | (cp & 0x3F));
            l = 2;
        } else {
            enc[0] = (char)(0xE0 | (cp >> 12));
            enc[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            enc[2] = (char)(0x80 | (cp & 0x3F));
            l = 3;
        }
        if (!rc)
            rc = buf_add(out, enc, l);
    }
    if (!rc && run)
        rc = buf_add(out, s + n - run, run);
    return rc;
}

/* libcsv: one field ended. */
static void on_field(void *s, size_t len, void *ud)
{
    csvr *r = ud;
    rdm_rc rc;
    if (r->cb_rc)
        return;
    if (!r->in_row) {
        r->in_row = 1;
        r->nf = 0;
        r->row_line = r->start_line;
        buf_reset(&r->data);
    }
    if (r->nf >= CSVR_MAX_COLS) {
        r->cb_rc = rdm_fail(&r->cb_err, RDM_ERR_PARSE, "%s:%ld: more than %d columns", r->name,
                            r->row_line, CSVR_MAX_COLS);
        return;
    }
    r->offs[r->nf] = r->data.len;
    r->isnull[r->nf] = s == NULL;
    if (s) {
        if (r->enc == CSVR_CP1251)
            rc = csvr_cp1251_to_utf8(s, len, &r->data, NULL); /* bytes checked per line */
        else
            rc = buf_add(&r->data, s, len);
        if (rc) {
            r->cb_rc = rdm_fail(&r->cb_err, RDM_ERR_PARSE, "%s:%ld: row longer than %u bytes",
                                r->name, r->row_line, CSVR_ROW_MAX);
            return;
        }
    }
    r->lens[r->nf] = r->data.len - r->offs[r->nf];
    if (buf_addc(&r->data, '\0')) {
        r->cb_rc = rdm_fail(&r->cb_err, RDM_ERR_PARSE, "%s:%ld: row longer than %u bytes", r->name,
                            r->row_line, CSVR_ROW_MAX);
        return;
    }
    r->nf++;
}

/* libcsv: one row ended. */
static void on_row(int c, void *ud)
{
    csvr *r = ud;
    const char *vals[CSVR_MAX_COLS];
    (void)c;
    if (r->cb_rc || !r->in_row)
        return;
    for (int i = 0; i < r->nf; i++)
        vals[i] = r->isnull[i] ? NULL : r->data.p + r->offs[i];
    r->in_row = 0;
    r->cb_rc = r->fn(r->ud, r->row_line, r->nf, vals, r->lens, &r->cb_err);
}

static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

rdm_rc csvr_open(csvr **out, const char *name, csvr_encoding enc, char delim, csvr_row_fn fn,
                 void *ud, rdm_err *err)
{
    csvr *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    if (csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL)) {
        free(r);
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    csv_set_realloc_func(&r->p, capped_realloc);
    /* libcsv grows its field buffer by this many bytes at a time: the
     * default 128 makes a long field quadratic */
    csv_set_blk_size(&r->p, 64 * 1024);
    csv_set_delim(&r->p, (unsigned char)delim);
    /* libcsv strips spaces and tabs around unquoted fields; the product's
     * dumps (Python's csv) keep them, and so do the rows read from
     * PostgreSQL: a text keeps them here too */
    csv_set_space_func(&r->p, no_space);
    r->name = name;
    r->enc = enc;
    r->fn = fn;
    r->ud = ud;
    r->line = 1;
    r->at_start = 1;
    buf_init(&r->pending, CSVR_FIELD_MAX);
    buf_init(&r->data, CSVR_ROW_MAX);
    *out = r;
    return RDM_OK;
}

/* Checks one physical line's bytes against the encoding. */
static rdm_rc check_bytes(csvr *r, const char *s, size_t n, rdm_err *err)
{
    size_t bad;
    const unsigned char *u = (const unsigned char *)s;
    if (r->enc == CSVR_UTF8) {
        if (!efft_utf8_valid(s, n, &bad))
            return rdm_fail(err, RDM_ERR_PARSE,
                            "%s:%ld: byte %zu (0x%02X) is not valid UTF-8; if the dump was made "
                            "on Windows, set [source] ENCODING = cp1251",
                            r->name, r->line, bad + 1, u[bad]);
    } else {
        size_t high = 0;
        for (size_t i = 0; i < n; i++) {
            high += u[i] >= 0x80;
            if (u[i] == 0x98)
                return rdm_fail(err, RDM_ERR_PARSE,
                                "%s:%ld: byte %zu (0x98) does not exist in Windows-1251; is the "
                                "file UTF-8? set [source] ENCODING = utf-8",
                                r->name, r->line, i + 1);
        }
        /* UTF-8 read as Windows-1251 would pass, garbled ("Пётр" as
         * "РџС‘С‚СЂ"): the first line with four or more non-ASCII bytes
         * decides. Windows-1251 text is almost never valid UTF-8 there
         * (its letters are lead bytes, one after another) */
        if (!r->cp1251_seen && high >= 4) {
            r->cp1251_seen = 1;
            if (efft_utf8_valid(s, n, NULL))
                return rdm_fail(err, RDM_ERR_PARSE,
                                "%s:%ld: the file is UTF-8, not Windows-1251 as set; set [source] "
                                "ENCODING = utf-8 (or the model's csv.encoding)",
                                r->name, r->line);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (u[i] == 0)
            return rdm_fail(err, RDM_ERR_PARSE, "%s:%ld: byte %zu is NUL: not a text file", r->name,
                            r->line, i + 1);
    return RDM_OK;
}

/* Parses one complete physical line (with its '\n' if any). */
static rdm_rc feed_line(csvr *r, const char *s, size_t n, rdm_err *err)
{
    rdm_rc rc;
    size_t check_n = n;
    if (check_n && s[check_n - 1] == '\n')
        check_n--;
    if ((rc = check_bytes(r, s, check_n, err)))
        return rc;
    /* libcsv's public state: 0 = no row begun. A row that begins while this
     * line is parsed begins on this line; one in progress began earlier. */
    if (r->p.pstate == 0)
        r->start_line = r->line;
    if (csv_parse(&r->p, s, n, on_field, on_row, r) != n) {
        if (r->cb_rc) {
            *err = r->cb_err;
            return r->cb_rc;
        }
        int e = csv_error(&r->p);
        if (e == CSV_ENOMEM)
            return rdm_fail(err, RDM_ERR_PARSE,
                            "%s:%ld: a field longer than %u bytes (an unterminated quote?)",
                            r->name, r->start_line, CSVR_FIELD_MAX);
        return rdm_fail(err, RDM_ERR_PARSE,
                        "%s:%ld: malformed quoting (%s): a quote inside a field must be doubled",
                        r->name, r->line, csv_strerror(e));
    }
    if (r->cb_rc) {
        *err = r->cb_err;
        return r->cb_rc;
    }
    return RDM_OK;
}

rdm_rc csvr_feed(csvr *r, const char *data, size_t n, rdm_err *err)
{
    rdm_rc rc;
    if (r->at_start && n) {
        /* a BOM may straddle feeds: wait for three bytes */
        if (r->pending.len + n < 3 && !memchr(data, '\n', n))
            return buf_add(&r->pending, data, n) ? rdm_fail(err, RDM_ERR_NOMEM, "out of memory")
                                                 : RDM_OK;
        char head[3];
        size_t have = r->pending.len;
        memcpy(head, r->pending.p ? r->pending.p : "", have);
        memcpy(head + have, data, 3 - have < n ? 3 - have : n);
        r->at_start = 0;
        if (have + n >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0) {
            if (r->enc == CSVR_CP1251)
                return rdm_fail(err, RDM_ERR_PARSE,
                                "%s:1: the file starts with a UTF-8 byte order mark but the "
                                "encoding is cp1251; set [source] ENCODING = utf-8",
                                r->name);
            size_t skip = 3 - have;
            buf_reset(&r->pending);
            data += skip;
            n -= skip;
        }
    }
    while (n) {
        const char *nl = memchr(data, '\n', n);
        if (!nl)
            break;
        size_t take = (size_t)(nl - data) + 1;
        if (r->pending.len) {
            if (buf_add(&r->pending, data, take))
                return rdm_fail(err, RDM_ERR_PARSE, "%s:%ld: line longer than %u bytes", r->name,
                                r->line, CSVR_FIELD_MAX);
            rc = feed_line(r, r->pending.p, r->pending.len, err);
            buf_reset(&r->pending);
        } else {
            rc = feed_line(r, data, take, err);
        }
        if (rc)
            return rc;
        r->line++;
        data += take;
        n -= take;
    }
    if (n && buf_add(&r->pending, data, n))
        return rdm_fail(err, RDM_ERR_PARSE, "%s:%ld: line longer than %u bytes", r->name, r->line,
                        CSVR_FIELD_MAX);
    return RDM_OK;
}

rdm_rc csvr_finish(csvr *r, rdm_err *err)
{
    rdm_rc rc;
    if (r->pending.len && (rc = feed_line(r, r->pending.p, r->pending.len, err)))
        return rc;
    buf_reset(&r->pending);
    if (csv_fini(&r->p, on_field, on_row, r) != 0) {
        if (r->cb_rc) {
            *err = r->cb_err;
            return r->cb_rc;
        }
        return rdm_fail(err, RDM_ERR_PARSE,
                        "%s:%ld: the file ends inside a quoted field (a quote opened on this "
                        "line is never closed)",
                        r->name, r->start_line);
    }
    if (r->cb_rc) {
        *err = r->cb_err;
        return r->cb_rc;
    }
    return RDM_OK;
}

void csvr_free(csvr *r)
{
    if (!r)
        return;
    csv_free(&r->p);
    buf_free(&r->pending);
    buf_free(&r->data);
    free(r);
}
