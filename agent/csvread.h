/*
 * csvread.h - streaming CSV reading for dumps, on libcsv: bytes in, rows
 * out with the line each starts on. Encodings UTF-8 (with or without BOM)
 * and Windows-1251 (converted to UTF-8); delimiter ';' or ','; LF or CRLF;
 * quoted fields with delimiters, quotes and newlines. Memory is one row,
 * capped.
 *
 * Bytes that do not match the declared encoding stop the reader with the
 * line and the byte offset in that line. Malformed quoting stops it with
 * the line.
 *
 * Interface (prefix csvr_):
 *   csvr_open(), csvr_feed(), csvr_finish(), csvr_free()
 *   csvr_cp1251_to_utf8()   one buffer, for tests
 */
#ifndef RDM_CSVREAD_H
#define RDM_CSVREAD_H

#include "../base/buf.h"
#include "../base/rc.h"

#include <stddef.h>

typedef enum csvr_encoding { CSVR_UTF8, CSVR_CP1251 } csvr_encoding;

/* One row: nfields values; vals[i] is NULL for an empty unquoted field,
 * else NUL-terminated UTF-8 of lens[i] bytes. Valid during the call. */
typedef rdm_rc (*csvr_row_fn)(void *ud, long line, int nfields, const char *const *vals,
                              const size_t *lens, rdm_err *err);

typedef struct csvr csvr;

/* name is used in messages (not owned, must outlive the reader). */
rdm_rc csvr_open(csvr **out, const char *name, csvr_encoding enc, char delim, csvr_row_fn fn,
                 void *ud, rdm_err *err);
/* Feeds the next n bytes; rows are delivered as they complete. */
rdm_rc csvr_feed(csvr *r, const char *data, size_t n, rdm_err *err);
/* Ends the input: delivers the last row, checks for an open quote. */
rdm_rc csvr_finish(csvr *r, rdm_err *err);
void csvr_free(csvr *r);

/* Appends the UTF-8 form of n Windows-1251 bytes to out. Returns
 * RDM_ERR_PARSE at *bad for the one undefined byte (0x98). */
rdm_rc csvr_cp1251_to_utf8(const char *s, size_t n, rdm_buf *out, size_t *bad);

#endif
