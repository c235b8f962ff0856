/*
 * ini.h - a pure parser for the INI dialect of Python's configparser, as the
 * product reads its configuration (no I/O; fuzzable).
 *
 * Accepted, as configparser does: `[section]`; `key = value`, `key=value`,
 * `key: value` (the first `=` or `:` splits); full-line comments starting
 * with `#` or `;` (after optional indentation); empty values; continuation
 * lines (indented deeper than their key) joined with "\n", blank lines
 * before such a line kept in the value; LF or CRLF; a UTF-8 byte order
 * mark at the start. Inline comments are NOT stripped (configparser's
 * default): `KEY = 1 # one` has the value `1 # one`. Values are
 * interpolated as configparser's BasicInterpolation: `%%` is `%`,
 * `%(name)s` the value of name in the same section or in [DEFAULT].
 *
 * Errors (RDM_ERR_PARSE, message "line N: ..."; never the line's text,
 * which may hold a password): text that is not UTF-8, a key before any
 * section, a line that is neither section, comment nor `key = value`, an
 * empty key, an unterminated section header, a NUL byte, a `%` not
 * followed by `%` or `(name)s`, an unknown name, references nested more
 * than 10 deep.
 *
 * Interface (prefix ini_): ini_parse() reads the whole text, then calls
 * back once per section header and once per key/value, in file order.
 */
#ifndef RDM_INI_H
#define RDM_INI_H

#include "../base/rc.h"

#include <stddef.h>

typedef struct ini_entry {
    int line;            /* 1-based line of the section header or the key */
    const char *section; /* section name as written, without brackets */
    const char *key;     /* NULL for a section header; as written otherwise */
    const char *value;   /* trimmed value, continuation lines joined by \n */
} ini_entry;

/* Return non-zero to stop parsing; that code is returned by ini_parse. The
 * callback may fill err. Pointers in the entry are valid during the call. */
typedef rdm_rc (*ini_cb)(void *ud, const ini_entry *e, rdm_err *err);

/* Parses len bytes of text. Allocates internally (freed before return).
 * Returns RDM_OK, RDM_ERR_PARSE with "line N: reason" in err, RDM_ERR_NOMEM,
 * or what a callback returned. */
rdm_rc ini_parse(const char *text, size_t len, ini_cb cb, void *ud, rdm_err *err);

#endif
