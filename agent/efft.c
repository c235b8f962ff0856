/* efft.c - see efft.h. */
#include "efft.h"
#include "../base/text.h"
#include "streebog.h"

#include <stdio.h>
#include <string.h>

#define LINE_MAX_BYTES  (64u << 20) /* one record */
#define VALUE_MAX_BYTES (16u << 20) /* one value */

/* ---- UTF-8 ---- */

/* Decodes one code point at s (n > 0 bytes left); returns its length, or 0
 * for an invalid sequence. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned long *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    unsigned long v, min;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

int efft_utf8_valid(const char *s, size_t n, size_t *bad)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    unsigned long cp = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = utf8_next(u + i, n - i, &cp);
        if (!l) {
            if (bad)
                *bad = i;
            return 0;
        }
        i += l;
    }
    return 1;
}

int efft_is_control(unsigned long c)
{
    return c <= 0x1F || (c >= 0x7F && c <= 0x9F);
}

/* ---- value syntax ---- */

static int num2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

static int plain_decimal(const char *s, size_t n);

int efft_is_int(const char *s, size_t n)
{
    int neg = n && s[0] == '-';
    if (neg)
        s++, n--;
    /* as the writer puts it: no '+', no leading zero, no "-0" */
    return text_digits(s, n) && (n == 1 || s[0] != '0') && !(neg && n == 1 && s[0] == '0');
}

int efft_is_decimal(const char *s, size_t n)
{
    /* as the writer puts it (Python's str(Decimal)): an optional '-', the
     * integer part with no leading zero ("0.5"), the scale kept; or the
     * exponent form, one digit before the point and a signed exponent:
     * "1E-7", "1.2E-8" */
    const char *e = memchr(s, 'E', n);
    if (n && s[0] == '-')
        s++, n--;
    if (e) {
        const char *x = e + 1;
        size_t xn = n - (size_t)(x - s);
        if (!xn || (*x != '-' && *x != '+'))
            return 0;
        if (!text_digits(x + 1, xn - 1))
            return 0;
        n = (size_t)(e - s);
        if (!n || s[0] < '0' || s[0] > '9' || (n > 1 && s[1] != '.'))
            return 0;
    }
    if (!n || s[0] == '+' || s[0] == '-')
        return 0;
    const char *dot = memchr(s, '.', n);
    size_t ilen = dot ? (size_t)(dot - s) : n;
    return plain_decimal(s, n) && ilen && (ilen == 1 || s[0] != '0');
}

int efft_is_decimal_input(const char *s, size_t n)
{
    return plain_decimal(s, n);
}

/* [+-]digits[.digits]: the form values are accepted in. */
static int plain_decimal(const char *s, size_t n)
{
    const char *dot;
    if (n && (s[0] == '-' || s[0] == '+'))
        s++, n--;
    dot = memchr(s, '.', n);
    if (!dot)
        return text_digits(s, n);
    return text_digits(s, (size_t)(dot - s)) && text_digits(dot + 1, n - (size_t)(dot - s) - 1);
}

int efft_is_date(const char *s, size_t n)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n != 10 || s[4] != '-' || s[7] != '-' || !text_digits(s, 4) || !text_digits(s + 5, 2) ||
        !text_digits(s + 8, 2))
        return 0;
    int y = num2(s) * 100 + num2(s + 2), m = num2(s + 5), d = num2(s + 8);
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

static int is_time(const char *s, size_t n)
{
    return n == 8 && s[2] == ':' && s[5] == ':' && text_digits(s, 2) && text_digits(s + 3, 2) &&
           text_digits(s + 6, 2) && num2(s) < 24 && num2(s + 3) < 60 && num2(s + 6) < 60;
}

int efft_is_datetime(const char *s, size_t n)
{
    return n == 19 && s[10] == ' ' && efft_is_date(s, 10) && is_time(s + 11, 8);
}

/* ---- conversion of one value ---- */

/* Accepts a date-time as SQLite, PostgreSQL or a CSV dump write it:
 * "YYYY-MM-DD", "YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|+HH[:MM]|-HH[:MM]]".
 * Writes "YYYY-MM-DD HH:MM:SS" (19 bytes) into out: the wall-clock time as
 * written, the offset dropped, as the reference's strftime does. */
int efft_parse_datetime(const char *s, size_t n, char *out)
{
    if (n < 10 || !efft_is_date(s, 10))
        return 0;
    memcpy(out, s, 10);
    if (n == 10) {
        memcpy(out + 10, " 00:00:00", 9);
        return 1;
    }
    if (s[10] != 'T' && s[10] != ' ')
        return 0;
    const char *t = s + 11;
    size_t tn = n - 11;
    char hms[8];
    if (tn < 5 || !text_digits(t, 2) || t[2] != ':' || !text_digits(t + 3, 2))
        return 0;
    memcpy(hms, t, 5);
    size_t i = 5;
    if (i < tn && t[i] == ':') {
        if (tn < 8 || !text_digits(t + 6, 2))
            return 0;
        memcpy(hms + 5, t + 5, 3);
        i = 8;
        if (i < tn && t[i] == '.') {
            size_t j = i + 1;
            while (j < tn && t[j] >= '0' && t[j] <= '9')
                j++;
            if (j == i + 1)
                return 0;
            i = j;
        }
    } else {
        memcpy(hms + 5, ":00", 3);
    }
    if (i < tn) {
        const char *z = t + i;
        size_t zn = tn - i;
        int ok = (zn == 1 && z[0] == 'Z') ||
                 ((z[0] == '+' || z[0] == '-') &&
                  ((zn == 3 && text_digits(z + 1, 2)) || (zn == 5 && text_digits(z + 1, 4)) ||
                   (zn == 6 && text_digits(z + 1, 2) && z[3] == ':' && text_digits(z + 4, 2))));
        if (!ok)
            return 0;
    }
    if (!is_time(hms, 8))
        return 0;
    out[10] = ' ';
    memcpy(out + 11, hms, 8);
    return 1;
}

/* Writes a plain decimal ([+-]digits[.digits], already checked) as Python's
 * str(Decimal(text)) does: no '+', no leading zeros, '-' kept (also for
 * zero), the scale kept ("12.50"), and scientific notation when the
 * adjusted exponent is below -6 ("0.0000001" -> "1E-7"). */
static rdm_rc decimal_str(const char *s, size_t n, rdm_buf *out)
{
    const char *dot;
    size_t ilen, flen, lead = 0;
    rdm_rc rc = RDM_OK;
    char e[24];

    if (s[0] == '-')
        rc = buf_addc(out, '-');
    if (s[0] == '-' || s[0] == '+')
        s++, n--;
    dot = memchr(s, '.', n);
    ilen = dot ? (size_t)(dot - s) : n;
    flen = dot ? n - ilen - 1 : 0;
    /* coefficient = integer digits then fraction digits, leading zeros off */
    while (lead < ilen && s[lead] == '0')
        lead++;
    size_t ndig = ilen - lead + flen;
    const char *frac = dot ? dot + 1 : "";
    if (lead == ilen) { /* integer part is zero: skip zeros of the fraction */
        size_t z = 0;
        while (z < flen && frac[z] == '0')
            z++;
        ndig = flen - z;
        if (ndig == 0)
            ndig = 1; /* the coefficient 0 */
    }
    long adjusted = -(long)flen + (long)ndig - 1;
    if (adjusted >= -6 || rc) {
        /* plain: integer part without leading zeros (at least "0") */
        if (!rc)
            rc = lead == ilen ? buf_addc(out, '0') : buf_add(out, s + lead, ilen - lead);
        if (!rc && dot)
            rc = buf_addc(out, '.');
        if (!rc && dot)
            rc = buf_add(out, frac, flen);
        return rc;
    }
    /* scientific: only reachable with a zero integer part and many zeros */
    const char *digs = frac + (flen - (ndig == 1 && frac[flen - 1] == '0' ? 1 : ndig));
    if (ndig == 1 && digs[0] == '0')
        digs = frac + flen - 1;
    rc = buf_addc(out, digs[0]);
    if (!rc && ndig > 1) {
        rc = buf_addc(out, '.');
        if (!rc)
            rc = buf_add(out, digs + 1, ndig - 1);
    }
    snprintf(e, sizeof e, "E%ld", adjusted);
    return rc ? rc : buf_adds(out, e);
}

rdm_rc efft_int_canon(const char *s, size_t n, size_t max_digits, rdm_buf *out)
{
    int neg = 0;
    rdm_rc rc = RDM_OK;
    if (n && (s[0] == '-' || s[0] == '+'))
        neg = s[0] == '-', s++, n--;
    if (!text_digits(s, n) || n > max_digits)
        return RDM_ERR_PARSE;
    while (n > 1 && s[0] == '0')
        s++, n--;
    if (neg && !(n == 1 && s[0] == '0'))
        rc = buf_addc(out, '-');
    return rc ? rc : buf_add(out, s, n);
}

static rdm_rc nomem_or_range(rdm_rc rc, char *why, size_t whylen)
{
    snprintf(why, whylen, rc == RDM_ERR_RANGE ? "value longer than %u bytes" : "out of memory",
             VALUE_MAX_BYTES);
    return rc;
}

/* The type conversion (FORMAT.md "One value", steps 1-4) of a non-NULL
 * value, appended to scratch. */
static rdm_rc convert_type(const prof_field *f, efft_val v, rdm_buf *scratch, char *why,
                           size_t whylen)
{
    const char *s = v.s;
    size_t n = v.len, bad;
    char tmp[20];
    rdm_rc rc = RDM_OK;

    switch (f->type) {
    case PROF_TEXT: {
        const unsigned char *u = (const unsigned char *)s;
        size_t i = 0, run = 0;
        if (!efft_utf8_valid(s, n, &bad)) {
            snprintf(why, whylen, "invalid UTF-8 at byte %zu of the value", bad + 1);
            return RDM_ERR_PARSE;
        }
        /* copy runs of kept bytes; drop control code points */
        while (i < n) {
            unsigned long cp = 0;
            size_t l = u[i] < 0x80 ? (cp = u[i], 1) : utf8_next(u + i, n - i, &cp);
            if (efft_is_control(cp)) {
                if (run && (rc = buf_add(scratch, s + i - run, run)))
                    return nomem_or_range(rc, why, whylen);
                run = 0;
            } else {
                run += l;
            }
            i += l;
        }
        if (run && (rc = buf_add(scratch, s + i - run, run)))
            return nomem_or_range(rc, why, whylen);
        return RDM_OK;
    }
    case PROF_INT:
        rc = efft_int_canon(s, n, 30, scratch);
        if (rc == RDM_ERR_PARSE) {
            snprintf(why, whylen, "'%.*s' is not an integer", (int)(n > 40 ? 40 : n), s);
            return rc;
        }
        return rc ? nomem_or_range(rc, why, whylen) : RDM_OK;
    case PROF_BOOL: {
        int b = text_bool(s, n);
        if (b < 0) {
            snprintf(why, whylen, "'%.*s' is not a boolean (1/0, true/false, t/f, yes/no)",
                     (int)(n > 40 ? 40 : n), s);
            return RDM_ERR_PARSE;
        }
        rc = buf_adds(scratch, b ? "True" : "False");
        return rc ? nomem_or_range(rc, why, whylen) : RDM_OK;
    }
    case PROF_DATE:
        if (!efft_parse_datetime(s, n, tmp)) {
            snprintf(why, whylen, "'%.*s' is not a date (YYYY-MM-DD)", (int)(n > 40 ? 40 : n), s);
            return RDM_ERR_PARSE;
        }
        rc = buf_add(scratch, tmp, 10);
        return rc ? nomem_or_range(rc, why, whylen) : RDM_OK;
    case PROF_DATETIME:
        if (!efft_parse_datetime(s, n, tmp)) {
            snprintf(why, whylen, "'%.*s' is not a date and time (YYYY-MM-DD HH:MM:SS)",
                     (int)(n > 40 ? 40 : n), s);
            return RDM_ERR_PARSE;
        }
        rc = buf_add(scratch, tmp, 19);
        return rc ? nomem_or_range(rc, why, whylen) : RDM_OK;
    case PROF_DECIMAL:
        if (!plain_decimal(s, n)) {
            snprintf(why, whylen, "'%.*s' is not a decimal number", (int)(n > 40 ? 40 : n), s);
            return RDM_ERR_PARSE;
        }
        rc = decimal_str(s, n, scratch);
        return rc ? nomem_or_range(rc, why, whylen) : RDM_OK;
    }
    snprintf(why, whylen, "unknown type");
    return RDM_ERR_INTERNAL;
}

/* Full conversion: type, prefix, hash. The result is either in scratch or
 * in hex; *res and *rlen point at it (rlen 0 = empty value). */
static rdm_rc convert(const prof_field *f, efft_val v, const char *prefix, rdm_buf *scratch,
                      char hex[129], const char **res, size_t *rlen, char *why, size_t whylen)
{
    size_t plen = 0;
    rdm_rc rc;
    int keyed = (f->pk || f->fk) && !f->ignore_prefix;

    buf_reset(scratch);
    *res = "";
    *rlen = 0;
    if (!v.s)
        return RDM_OK;
    if (keyed) {
        if ((rc = buf_adds(scratch, prefix)) || (rc = buf_addc(scratch, '-')))
            return nomem_or_range(rc, why, whylen);
        plen = scratch->len;
    }
    if ((rc = convert_type(f, v, scratch, why, whylen)))
        return rc;
    if (scratch->len == plen)
        return RDM_OK; /* empty stays empty: no prefix, no hash */
    if (f->hashable) {
        streebog_hex(512, scratch->p, scratch->len, hex);
        *res = hex;
        *rlen = 128;
    } else {
        *res = scratch->p;
        *rlen = scratch->len;
    }
    return RDM_OK;
}

rdm_rc efft_value(const prof_field *f, efft_val v, const char *prefix, rdm_buf *out, char *why,
                  size_t whylen)
{
    rdm_buf scratch;
    char hex[129];
    const char *res;
    size_t rlen;
    buf_init(&scratch, VALUE_MAX_BYTES);
    rdm_rc rc = convert(f, v, prefix, &scratch, hex, &res, &rlen, why, whylen);
    if (!rc && (rc = buf_add(out, res, rlen)))
        nomem_or_range(rc, why, whylen);
    buf_free(&scratch);
    return rc;
}

/* ---- the writer ---- */

rdm_rc efft_begin(efft_writer *w, const prof_entity *e, const char *prefix, efft_sink sink,
                  void *ud, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    memset(w, 0, sizeof *w);
    w->e = e;
    w->prefix = prefix ? prefix : "";
    w->sink = sink;
    w->ud = ud;
    buf_init(&w->line, LINE_MAX_BYTES);
    buf_init(&w->value, VALUE_MAX_BYTES);
    for (int i = 0; i < e->nfields && !rc; i++) {
        if (i)
            rc = buf_addc(&w->line, ';');
        if (!rc)
            rc = buf_adds(&w->line, e->fields[i].name);
    }
    if (rc)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    if ((rc = sink(ud, w->line.p, w->line.len, err)))
        return rc;
    w->bytes += w->line.len;
    return RDM_OK;
}

/* "id=15" or "address_id=3, organisation_id=7": the record's key as read,
 * for messages. */
static void record_key(const prof_entity *e, const efft_val *vals, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int k = 0; k < e->npk && o + 1 < n; k++) {
        efft_val v = vals[e->pk[k]];
        int w = snprintf(buf + o, n - o, "%s%s=%.*s", k ? ", " : "", e->fields[e->pk[k]].name,
                         v.s ? (int)(v.len > 60 ? 60 : v.len) : 4, v.s ? v.s : "NULL");
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

rdm_rc efft_record(efft_writer *w, const efft_val *vals, rdm_err *err)
{
    const prof_entity *e = w->e;
    rdm_rc rc = RDM_OK;
    char hex[129], why[256];

    buf_reset(&w->line);
    rc = buf_addc(&w->line, '\n');
    for (int i = 0; i < e->nfields && !rc; i++) {
        const prof_field *f = &e->fields[i];
        const char *res;
        size_t rlen;
        if (i && (rc = buf_addc(&w->line, ';')))
            break;
        rc = convert(f, vals[i], w->prefix, &w->value, hex, &res, &rlen, why, sizeof why);
        if (rc == RDM_ERR_PARSE || rc == RDM_ERR_RANGE) {
            char key[256];
            record_key(e, vals, key, sizeof key);
            return rdm_fail(err, RDM_ERR_PARSE,
                            "entity %s, record %s, field %s: %s; fix the value in the source "
                            "data and collect again",
                            e->key, key, f->name, why);
        }
        if (rc)
            break;
        if (rlen == 0) {
            if (f->required)
                rc = buf_add(&w->line, "\"\"", 2);
            continue;
        }
        /* quoting: wrap in quotes, double every quote inside */
        if ((rc = buf_addc(&w->line, '"')))
            break;
        const char *q, *p = res, *end = res + rlen;
        while (!rc && (q = memchr(p, '"', (size_t)(end - p))) != NULL) {
            rc = buf_add(&w->line, p, (size_t)(q - p) + 1);
            if (!rc)
                rc = buf_addc(&w->line, '"');
            p = q + 1;
        }
        if (!rc)
            rc = buf_add(&w->line, p, (size_t)(end - p));
        if (!rc)
            rc = buf_addc(&w->line, '"');
    }
    if (rc == RDM_ERR_RANGE)
        return rdm_fail(err, RDM_ERR_PARSE, "entity %s: a record is longer than %u bytes", e->key,
                        LINE_MAX_BYTES);
    if (rc)
        return rdm_fail(err, rc, "out of memory writing entity %s", e->key);
    if ((rc = w->sink(w->ud, w->line.p, w->line.len, err)))
        return rc;
    w->records++;
    w->bytes += w->line.len;
    return RDM_OK;
}

void efft_end(efft_writer *w)
{
    buf_free(&w->line);
    buf_free(&w->value);
}
