/* ini.c - see ini.h. */
#include "ini.h"

#include <stdlib.h>
#include <string.h>

typedef struct ini_state {
    char *section; /* current section, NULL before the first */
    char *key;     /* pending key, NULL if none */
    char *value;   /* pending value (grows with continuations) */
    size_t value_len;
    int key_line;
    size_t key_indent; /* indentation of the pending key's line */
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

/* Emits the pending key, if any, and forgets it. */
static rdm_rc flush_key(ini_state *st, ini_cb cb, void *ud, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    if (st->key) {
        ini_entry e = {st->key_line, st->section, st->key, st->value};
        rc = cb(ud, &e, err);
        free(st->key);
        free(st->value);
        st->key = NULL;
        st->value = NULL;
        st->value_len = 0;
    }
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
static rdm_rc parse_line(ini_state *st, int lineno, const char *line, size_t n, ini_cb cb, void *ud,
                         rdm_err *err)
{
    size_t indent = 0;
    const char *s = line;
    size_t len = n;
    rdm_rc rc;

    while (indent < n && is_space(line[indent]) && line[indent] != '\r')
        indent++;
    trim(&s, &len);
    if (len == 0)
        return flush_key(st, cb, ud, err); /* a blank line ends a value */
    if (s[0] == '#' || s[0] == ';')
        return RDM_OK; /* comments never end nor extend a value */
    if (st->key && indent > st->key_indent)
        return append_value(st, s, len, err);
    if ((rc = flush_key(st, cb, ud, err)))
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
        ini_entry e = {lineno, st->section, NULL, NULL};
        return cb(ud, &e, err);
    }
    size_t d = 0;
    while (d < len && s[d] != '=' && s[d] != ':')
        d++;
    if (d == len)
        return rdm_fail(err, RDM_ERR_PARSE,
                        "line %d: expected 'KEY = value', a [section] or a comment, got '%.*s'",
                        lineno, (int)(len > 60 ? 60 : len), s);
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

rdm_rc ini_parse(const char *text, size_t len, ini_cb cb, void *ud, rdm_err *err)
{
    ini_state st = {0};
    rdm_rc rc = RDM_OK;
    size_t pos = 0;
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
    while (pos < len && !rc) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        if (n && text[pos + n - 1] == '\r')
            n--;
        rc = parse_line(&st, ++lineno, text + pos, n, cb, ud, err);
        pos = nl ? end + 1 : len;
    }
    if (!rc)
        rc = flush_key(&st, cb, ud, err);
    free(st.key);
    free(st.value);
    free(st.section);
    return rc;
}
