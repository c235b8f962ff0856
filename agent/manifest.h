/*
 * manifest.h - the bundle manifest (manifest.json), parsed from bytes with
 * no file system access, so it can be fuzzed:
 *
 *   {"files": [{"name": "address.csv", "sha256": "<64 hex digits>",
 *               "partial": false}, ...]}
 *
 * A name must stay inside the bundle: a plain file name, no folder
 * separators ('/', '\\'), no drive (':'), no control bytes, not "." or
 * "..", shorter than MANIFEST_NAME_MAX. The digest is returned in lower
 * case. Unknown members are ignored (later tools may add some).
 *
 * Interface (prefix manifest_): manifest_parse(), manifest_safe_name().
 */
#ifndef RDM_MANIFEST_H
#define RDM_MANIFEST_H

#include "../base/rc.h"

#include <stddef.h>

#define MANIFEST_NAME_MAX 256

/* One listed file; name and sha256 (NUL-terminated, 64 lower-case hex
 * digits) are valid during the call. index is its place in "files". */
typedef rdm_rc (*manifest_fn)(void *ud, int index, const char *name, const char *sha256,
                              int partial, rdm_err *err);

/* 1 when name is a plain file name that cannot leave the bundle. */
int manifest_safe_name(const char *name);

/* Parses len bytes of a manifest (what = its path, for messages) and calls
 * fn for each file in order; stops at the first error (RDM_ERR_PARSE with
 * what and the entry's index, or fn's own). Owns nothing after return. */
rdm_rc manifest_parse(const char *text, size_t len, const char *what, manifest_fn fn, void *ud,
                      rdm_err *err);

#endif
