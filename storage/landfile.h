/*
 * landfile.h - the landed rows of one source (a CSV dump or a PostgreSQL
 * pull) as import wrote them: a file beside the store, written once in
 * source order, read once by collect. Rows are already checked and
 * normalised, so collect neither parses nor converts them again.
 *
 * Layout (integers little-endian):
 *   header  "RDMLAND2", u32 number of columns
 *   record  u32 payload length, then the payload:
 *           u32 line, u8 op (0 upsert, 3 delete), u64 content hash,
 *           u32 key length, key bytes,
 *           per column u32 length (0xFFFFFFFF = NULL), value bytes
 *   end     u32 0xFFFFFFFE, u64 the number of records; nothing after it
 * A file cut anywhere (between two records too) lacks its end record or
 * its count, and reads as damaged. ("RDMLAND1" files, written before the
 * end record was, end with the file and are still read.)
 *
 * land_encode/land_decode are pure (fuzzed); the writer and reader do the
 * I/O. Interface (prefix land_): see each function.
 */
#ifndef RDM_LANDFILE_H
#define RDM_LANDFILE_H

#include "../base/buf.h"
#include "../base/rc.h"

#include <stddef.h>
#include <stdint.h>

#define LAND_MAX_COLS 1024

/* One landed row; the pointers refer to the caller's (encode) or the
 * reader's (decode) memory. */
typedef struct land_row {
    long line;
    int op;
    int64_t hash;
    const char *key;
    size_t klen;
    int ncols;
    const char *vals[LAND_MAX_COLS]; /* NULL = SQL NULL */
    size_t lens[LAND_MAX_COLS];
} land_row;

/* Appends the record of one row (length prefix included) to b: its line,
 * op, content hash, key and ncols values (vals[i] NULL = SQL NULL). */
rdm_rc land_encode(rdm_buf *b, long line, int op, int64_t hash, const char *key, size_t klen,
                   int ncols, const char *const *vals, const size_t *lens);

/* Decodes one payload of n bytes (without its length prefix) holding
 * ncols columns into r, pointing into p. Returns 0, or -1 when the bytes
 * are not such a payload. */
int land_decode(const unsigned char *p, size_t n, int ncols, land_row *r);

/* Writes a land file: nothing appears at path until land_writer_commit
 * (written to "<path>.tmp", fsynced, renamed). The caller owns *out and
 * ends it with commit or abort. */
typedef struct land_writer land_writer;
rdm_rc land_writer_open(const char *path, int ncols, land_writer **out, rdm_err *err);
/* Appends a row (as land_encode); *off gets the offset of its record. */
rdm_rc land_put(land_writer *w, long line, int op, int64_t hash, const char *key, size_t klen,
                const char *const *vals, const size_t *lens, long long *off, rdm_err *err);
/* Writes out what is buffered, so that a reader of "<path>.tmp" sees all
 * rows put so far. */
rdm_rc land_writer_flush(land_writer *w, rdm_err *err);
/* fsyncs, renames to path and fsyncs the directory; frees w (on failure
 * too, then nothing is left behind). */
rdm_rc land_writer_commit(land_writer *w, rdm_err *err);
void land_writer_abort(land_writer *w);

/* Reads a land file from its first row. open_end: the file is still being
 * written ("<path>.tmp" after land_writer_flush), so it ends without its
 * end record. The caller owns *out and frees it with land_reader_close. A
 * missing file is RDM_ERR_NOT_FOUND. */
typedef struct land_reader land_reader;
rdm_rc land_reader_open(const char *path, int ncols, int open_end, land_reader **out, rdm_err *err);
/* The next row into r (valid until the next call): RDM_OK, or
 * RDM_ERR_NOT_FOUND at the end; *off gets the offset of its record. A
 * damaged file (cut short, its end record wrong or missing, a malformed
 * record; at open: not a land file of this model) is RDM_ERR_PARSE naming
 * it and the offset; a failed read RDM_ERR_IO. */
rdm_rc land_next(land_reader *r, land_row *row, long long *off, rdm_err *err);
/* The offset just past the last row read. */
long long land_reader_offset(const land_reader *r);
void land_reader_close(land_reader *r);

#endif
