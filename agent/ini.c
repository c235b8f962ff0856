/* ini.c - see ini.h. */
#include "ini.h"
#include "../base/buf.h"
#include "../base/text.h"
#include "efft.h"

#include <stdlib.h>
#include <string.h>

/* One header or key/value, kept until the whole file is read (a value
 * may refer to a key written after it). */
typedef struct ini_item {
    int line;
    char *section, *key, *value; /* key and value NULL for a header */
} ini_item;

typedef struct ini_state {
    char *section; /* current section, NULL before the first */
    char *key;     /* pending key, NULL if none */
    char *value;   /* pending value (grows with continuations) */
    size_t value_len;
    int key_line;
    size_t key_indent; /* indentation of the pending key's line */
    int blanks;        /* blank lines seen after the pending value */
    ini_item *items;
    int n, cap;
} ini_state;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* Keeps an item (taking key and value; the section is copied). */
static rdm_rc keep(ini_state *st, int line, char *key, char *value, rdm_err *err)
{
    if (st->n == st->cap) {
        int nc = st->cap ? st->cap * 2 : 32;
        ini_item *ni = realloc(st->items, (size_t)nc * sizeof *ni);
        if (!ni) {
            free(key), free(value);
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        }
        st->items = ni, st->cap = nc;
    }
    char *sec = dup_range(st->section, strlen(st->section));
    if (!sec) {
        free(key), free(value);
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    st->items[st->n++] = (ini_item){line, sec, key, value};
    return RDM_OK;
}

/* Keeps the pending key, if any, and forgets it (the blank lines after
 * it are not part of its value). */
static rdm_rc flush_key(ini_state *st, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    if (st->key) {
        rc = keep(st, st->key_line, st->key, st->value, err);
        st->key = NULL;
        st->value = NULL;
        st->value_len = 0;
    }
    st->blanks = 0;
    return rc;
}

static rdm_rc append_value(ini_state *st, const char *s, size_t n, rdm_err *err)
{
    char *nv = realloc(st->value, st->value_len + 1 + n + 1);
    if (!nv)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    st->value = nv;
    st->value[st->value_len++] = '\n';
    memcpy(st->value + st->value_len, s, n);
    st->value_len += n;
    st->value[st->value_len] = '\0';
    return RDM_OK;
}

/* Handles one line (without its newline). */
static rdm_rc parse_line(ini_state *st, int lineno, const char *line, size_t n, rdm_err *err)
{
    size_t indent = 0;
    const char *s = line;
    size_t len = n;
    rdm_rc rc;

    while (indent < n && is_space(line[indent]) && line[indent] != '\r')
        indent++;
    trim(&s, &len);
    if (len == 0) {
        /* as configparser (empty_lines_in_values): a blank line belongs
         * to the value when a deeper indented line follows it */
        st->blanks += st->key != NULL;
        return RDM_OK;
    }
    if (s[0] == '#' || s[0] == ';')
        return RDM_OK; /* comments never end nor extend a value */
    if (st->key && indent > st->key_indent) {
        for (; st->blanks; st->blanks--)
            if ((rc = append_value(st, "", 0, err)))
                return rc;
        return append_value(st, s, len, err);
    }
    if ((rc = flush_key(st, err)))
        return rc;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return rdm_fail(err, RDM_ERR_PARSE, "line %d: section header without ']'", lineno);
        const char *name = s + 1;
        size_t nlen = (size_t)(close - name);
        if (nlen == 0)
            return rdm_fail(err, RDM_ERR_PARSE, "line %d: empty section name", lineno);
        /* configparser ignores text after ']' on a header line */
        free(st->section);
        st->section = dup_range(name, nlen);
        if (!st->section)
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        return keep(st, lineno, NULL, NULL, err);
    }
    size_t d = 0;
    while (d < len && s[d] != '=' && s[d] != ':')
        d++;
    /* the line is not echoed: it may hold a password */
    if (d == len)
        return rdm_fail(err, RDM_ERR_PARSE,
                        "line %d%s%s%s: expected 'KEY = value', a [section] or a comment; the "
                        "line has neither '=' nor ':'",
                        lineno, st->section ? " in [" : "", st->section ? st->section : "",
                        st->section ? "]" : "");
    if (!st->section)
        return rdm_fail(err, RDM_ERR_PARSE,
                        "line %d: key outside any section (add a [section] header above it)",
                        lineno);
    const char *k = s, *v = s + d + 1;
    size_t klen = d, vlen = len - d - 1;
    trim(&k, &klen);
    trim(&v, &vlen);
    if (klen == 0)
        return rdm_fail(err, RDM_ERR_PARSE, "line %d: empty key before '%c'", lineno, s[d]);
    st->key = dup_range(k, klen);
    st->value = dup_range(v, vlen);
    if (!st->key || !st->value)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    st->value_len = vlen;
    st->key_line = lineno;
    st->key_indent = indent;
    return RDM_OK;
}

/* The value of key in section, else in [DEFAULT] (the last one written). */
static const ini_item *lookup(const ini_state *st, const char *section, const char *key, size_t n)
{
    char k[256];
    if (n >= sizeof k)
        return NULL;
    memcpy(k, key, n);
    k[n] = '\0';
    for (int pass = 0; pass < 2; pass++) {
        const char *sec = pass ? "DEFAULT" : section;
        for (int i = st->n - 1; i >= 0; i--)
            if (st->items[i].key && strcmp(st->items[i].section, sec) == 0 &&
                text_ieq(st->items[i].key, k))
                return &st->items[i];
    }
    return NULL;
}

/* configparser's BasicInterpolation of v (the value of it, read in
 * section): "%%" is "%", "%(name)s" the value of name in the section or
 * [DEFAULT], itself interpolated, at most 10 deep. */
static rdm_rc interpolate(const ini_state *st, const ini_item *it, const char *section,
                          const char *v, int depth, rdm_buf *out, rdm_err *err)
{
    if (depth > 10)
        return rdm_fail(err, RDM_ERR_PARSE,
                        "line %d: [%s] %s: %%(...)s references nest more than 10 deep (a "
                        "loop?)",
                        it->line, section, it->key);
    for (const char *p = v; *p;) {
        const char *pc = strchr(p, '%');
        size_t lit = pc ? (size_t)(pc - p) : strlen(p);
        if (lit && buf_add(out, p, lit))
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        if (!pc)
            break;
        if (pc[1] == '%') {
            if (buf_addc(out, '%'))
                return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
            p = pc + 2;
            continue;
        }
        const char *close = pc[1] == '(' ? strchr(pc + 2, ')') : NULL;
        if (!close || close[1] != 's')
            return rdm_fail(err, RDM_ERR_PARSE,
                            "line %d: [%s] %s: a '%%' must be followed by '%%' or '(name)s' "
                            "(configparser's interpolation, as the product reads the file): "
                            "write %%%% for a percent sign",
                            it->line, section, it->key);
        const ini_item *ref = lookup(st, section, pc + 2, (size_t)(close - pc - 2));
        if (!ref)
            return rdm_fail(err, RDM_ERR_PARSE,
                            "line %d: [%s] %s: %%(%.*s)s names no key of [%s] or [DEFAULT]",
                            it->line, section, it->key, (int)(close - pc - 2), pc + 2, section);
        rdm_rc rc = interpolate(st, it, section, ref->value, depth + 1, out, err);
        if (rc)
            return rc;
        p = close + 2;
    }
    return RDM_OK;
}

rdm_rc ini_parse(const char *text, size_t len, ini_cb cb, void *ud, rdm_err *err)
{
    ini_state st = {0};
    rdm_rc rc = RDM_OK;
    size_t pos = 0, bad;
    int lineno = 0;

    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    if (memchr(text, '\0', len)) {
        size_t at = (size_t)((const char *)memchr(text, '\0', len) - text);
        int l = 1;
        for (size_t i = 0; i < at; i++)
            l += text[i] == '\n';
        return rdm_fail(err, RDM_ERR_PARSE, "line %d: NUL byte (is this a text file?)", l);
    }
    if (!efft_utf8_valid(text, len, &bad)) {
        int l = 1;
        for (size_t i = 0; i < bad; i++)
            l += text[i] == '\n';
        return rdm_fail(err, RDM_ERR_PARSE,
                        "line %d: not UTF-8 text (saved as Windows-1251?); save the file as "
                        "UTF-8, as the product reads it",
                        l);
    }
    while (pos < len && !rc) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        if (n && text[pos + n - 1] == '\r')
            n--;
        rc = parse_line(&st, ++lineno, text + pos, n, err);
        pos = nl ? end + 1 : len;
    }
    if (!rc)
        rc = flush_key(&st, err);
    rdm_buf v;
    buf_init(&v, (size_t)1 << 20);
    for (int i = 0; i < st.n && !rc; i++) {
        ini_item *it = &st.items[i];
        ini_entry e = {it->line, it->section, it->key, NULL};
        if (it->key) {
            buf_reset(&v);
            if ((rc = interpolate(&st, it, it->section, it->value, 0, &v, err)))
                break;
            if (!v.p && buf_addc(&v, '\0')) {
                rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
                break;
            }
            e.value = v.p;
        }
        rc = cb(ud, &e, err);
    }
    buf_free(&v);
    for (int i = 0; i < st.n; i++) {
        free(st.items[i].section);
        free(st.items[i].key);
        free(st.items[i].value);
    }
    free(st.items);
    free(st.key);
    free(st.value);
    free(st.section);
    return rc;
}
