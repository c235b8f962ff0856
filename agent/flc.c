/* flc.c - see flc.h. */
#include "flc.h"
#include "efft.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FLC_LINE_MAX   (64u << 20)
#define FLC_MAX_FIELDS 1024

void flc_begin(flc *c, const prof_entity *e, const char *prefix, flc_report_fn report, void *ud)
{
    memset(c, 0, sizeof *c);
    c->e = e;
    c->prefix = prefix ? prefix : "";
    c->report = report;
    c->ud = ud;
    buf_init(&c->line, FLC_LINE_MAX);
    buf_init(&c->vals, FLC_LINE_MAX);
}

static void problem(flc *c, long line, const char *field, const char *fmt, ...) RDM_PRINTF(4, 5);

static void problem(flc *c, long line, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->problems++;
    if (c->report)
        c->report(c->ud, line, field, msg);
}

int flc_split(const char *line, size_t n, rdm_buf *out, size_t *starts, size_t *lens, int *quoted,
              int max, char *why, size_t whylen)
{
    size_t i = 0;
    int nf = 0;
    buf_reset(out);
    for (;;) {
        if (nf >= max) {
            snprintf(why, whylen, "more than %d fields", max);
            return -1;
        }
        starts[nf] = out->len;
        quoted[nf] = 0;
        if (i < n && line[i] == '"') {
            quoted[nf] = 1;
            i++;
            for (;;) {
                const char *q = i < n ? memchr(line + i, '"', n - i) : NULL;
                if (!q) {
                    snprintf(why, whylen, "field %d: quote opened and not closed", nf + 1);
                    return -1;
                }
                size_t run = (size_t)(q - (line + i));
                if (buf_add(out, line + i, run)) {
                    snprintf(why, whylen, "line too long");
                    return -1;
                }
                i += run + 1;
                if (i < n && line[i] == '"') { /* doubled quote */
                    if (buf_addc(out, '"')) {
                        snprintf(why, whylen, "line too long");
                        return -1;
                    }
                    i++;
                    continue;
                }
                break;
            }
            if (i < n && line[i] != ';') {
                snprintf(why, whylen, "field %d: text after the closing quote", nf + 1);
                return -1;
            }
        } else {
            const char *semi = i < n ? memchr(line + i, ';', n - i) : NULL;
            size_t end = semi ? (size_t)(semi - line) : n;
            if (memchr(line + i, '"', end - i)) {
                snprintf(why, whylen, "field %d: a quote inside an unquoted value", nf + 1);
                return -1;
            }
            if (buf_add(out, line + i, end - i)) {
                snprintf(why, whylen, "line too long");
                return -1;
            }
            i = end;
        }
        lens[nf] = out->len - starts[nf];
        if (buf_addc(out, '\0')) {
            snprintf(why, whylen, "line too long");
            return -1;
        }
        nf++;
        if (i >= n)
            return nf;
        i++; /* the ';' */
    }
}

static int has_control(const char *s, size_t n, size_t *at)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if (u[i] <= 0x1F || u[i] == 0x7F ||
            (u[i] == 0xC2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

static int is_hex128(const char *s, size_t n)
{
    if (n != 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void check_value(flc *c, const prof_field *f, const char *v, size_t n, int quoted)
{
    long ln = c->lineno;
    size_t at;
    if (!quoted && n == 0) {
        if (f->required && (!c->deletes || f->pk))
            problem(c, ln, f->name, "required field is missing (write \"\" for an empty value)");
        return;
    }
    if (!quoted) {
        problem(c, ln, f->name, "value is not in quotes");
        return;
    }
    if (!efft_utf8_valid(v, n, &at)) {
        problem(c, ln, f->name, "invalid UTF-8 at byte %zu of the value", at + 1);
        return;
    }
    if (has_control(v, n, &at)) {
        problem(c, ln, f->name, "control character at byte %zu of the value", at + 1);
        return;
    }
    if (n == 0) {
        if (!f->required)
            problem(c, ln, f->name, "empty optional value written as \"\" (write nothing)");
        return;
    }
    if (f->hashable) {
        if (!is_hex128(v, n))
            problem(c, ln, f->name, "hashable field is not a Streebog-512 digest (128 hex)");
        return;
    }
    if ((f->pk || f->fk) && !f->ignore_prefix) {
        size_t pl = strlen(c->prefix);
        if (n < pl + 1 || memcmp(v, c->prefix, pl) != 0 || v[pl] != '-') {
            problem(c, ln, f->name, "key '%.*s' lacks the prefix '%s-'", (int)(n > 60 ? 60 : n), v,
                    c->prefix);
            return;
        }
        v += pl + 1;
        n -= pl + 1;
        if (n == 0) {
            problem(c, ln, f->name, "key is only the prefix");
            return;
        }
    }
    const char *want = NULL;
    switch (f->type) {
    case PROF_TEXT:
        break;
    case PROF_INT:
        want = efft_is_int(v, n) ? NULL : "an integer";
        break;
    case PROF_BOOL:
        want = (n == 4 && memcmp(v, "True", 4) == 0) || (n == 5 && memcmp(v, "False", 5) == 0)
                   ? NULL
                   : "True or False";
        break;
    case PROF_DATE:
        want = efft_is_date(v, n) ? NULL : "a date YYYY-MM-DD";
        break;
    case PROF_DATETIME:
        want = efft_is_datetime(v, n) ? NULL : "a date and time YYYY-MM-DD HH:MM:SS";
        break;
    case PROF_DECIMAL:
        want = efft_is_decimal(v, n) ? NULL : "a decimal number";
        break;
    }
    if (want)
        problem(c, ln, f->name, "'%.*s' is not %s", (int)(n > 60 ? 60 : n), v, want);
}

static void check_header(flc *c, const char *s, size_t n)
{
    const prof_entity *e = c->e;
    rdm_buf want;
    buf_init(&want, FLC_LINE_MAX);
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        problem(c, 1, NULL, "file starts with a byte order mark (BOM)");
        s += 3, n -= 3;
    }
    for (int i = 0; i < e->nfields; i++) {
        if (i)
            buf_addc(&want, ';');
        buf_adds(&want, e->fields[i].name);
    }
    if (n && s[n - 1] == '\r' && n - 1 == want.len && memcmp(s, want.p, n - 1) == 0)
        problem(c, 1, NULL, "the header line ends with CR (a Windows line end); lines end with LF");
    else if (n != want.len || memcmp(s, want.p, n) != 0)
        problem(c, 1, NULL, "header is '%.*s', %s wants '%.*s'", (int)(n > 200 ? 200 : n), s,
                e->key, (int)(want.len > 200 ? 200 : want.len), want.p);
    buf_free(&want);
}

static void check_line(flc *c)
{
    const char *s = c->line.p ? c->line.p : "";
    size_t n = c->line.len;
    size_t starts[FLC_MAX_FIELDS], lens[FLC_MAX_FIELDS];
    int quoted[FLC_MAX_FIELDS];
    char why[160];

    c->lineno++;
    if (c->lineno == 1) {
        check_header(c, s, n);
        return;
    }
    c->records++;
    if (n == 0) {
        problem(c, c->lineno, NULL, "empty line");
        return;
    }
    if (s[n - 1] == '\r') {
        problem(c, c->lineno, NULL, "line ends with CR (the format uses LF only)");
        n--;
    }
    int nf = flc_split(s, n, &c->vals, starts, lens, quoted, FLC_MAX_FIELDS, why, sizeof why);
    if (nf < 0) {
        problem(c, c->lineno, NULL, "%s", why);
        return;
    }
    if (nf != c->e->nfields) {
        problem(c, c->lineno, NULL, "%d fields, %s has %d", nf, c->e->key, c->e->nfields);
        return;
    }
    for (int i = 0; i < nf; i++)
        check_value(c, &c->e->fields[i], c->vals.p + starts[i], lens[i], quoted[i]);
}

void flc_feed(flc *c, const char *data, size_t n)
{
    c->bytes += n;
    while (n) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        if (!c->overlong && buf_add(&c->line, data, take) != RDM_OK) {
            /* reported once; the rest of the line is skipped */
            problem(c, c->lineno + 1, NULL, "line longer than %u bytes", FLC_LINE_MAX);
            c->overlong = 1;
        }
        if (!nl) {
            c->last_was_nl = 0;
            return;
        }
        if (c->overlong)
            c->lineno++;
        else
            check_line(c);
        c->overlong = 0;
        buf_reset(&c->line);
        c->last_was_nl = 1;
        data = nl + 1;
        n -= take + 1;
    }
}

long flc_end(flc *c)
{
    if (c->bytes == 0) {
        problem(c, 0, NULL, "file is empty");
    } else if (c->last_was_nl) {
        problem(c, c->lineno, NULL, "file ends with a newline (the last line has none)");
    } else if (c->overlong) {
        c->lineno++;
    } else {
        check_line(c);
    }
    if (c->bytes && c->records == 0 && !c->last_was_nl)
        problem(c, 1, NULL, "no records after the header");
    buf_free(&c->line);
    buf_free(&c->vals);
    return c->problems;
}
