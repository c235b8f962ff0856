/*
 * efft.h - the ЕФТТ export file, byte for byte as the reference writes it
 * (../shared/spec/FORMAT.md): `;` separated, header of lower-case field
 * names, LF between lines and none after the last, UTF-8 without BOM;
 * values stripped of control characters, dates and datetimes formatted,
 * booleans True/False, keys prefixed, hashable fields replaced by their
 * Streebog-512 hex digest, then quoted.
 *
 * Pure code: the writer hands bytes to a sink callback and keeps one
 * record's worth of memory, whatever the number of records.
 *
 * Interface (prefix efft_):
 *   efft_value()     one value, input form -> file form (without quotes)
 *   efft_begin()     start a file: writes the header
 *   efft_record()    one record: its fields' values in the entity's order
 *   efft_end()       release the writer's memory
 *   efft_utf8_valid(), efft_is_date(), efft_is_datetime(), efft_is_int(),
 *   efft_is_decimal()  the value syntax, shared with the ФЛК checker
 */
#ifndef RDM_EFFT_H
#define RDM_EFFT_H

#include "../base/buf.h"
#include "../base/rc.h"
#include "profile.h"

#include <stddef.h>

/* A value as read from the store: s == NULL is SQL NULL. Not owned. */
typedef struct efft_val {
    const char *s;
    size_t len;
} efft_val;

/* Receives the file's bytes, in order. Returns non-zero (and fills err)
 * to stop the writer. */
typedef rdm_rc (*efft_sink)(void *ud, const char *data, size_t len, rdm_err *err);

typedef struct efft_writer {
    const prof_entity *e;
    const char *prefix; /* EXPORT_ENTITY_ID_PREFIX, not owned */
    efft_sink sink;
    void *ud;
    rdm_buf line;  /* one record being formatted */
    rdm_buf value; /* one value being converted */
    long long records;
    unsigned long long bytes;
} efft_writer;

/* Converts v for field f into out (appended, unquoted): control characters
 * removed from text, dates/datetimes/booleans/integers normalised, key
 * prefix added, hash applied. On bad input returns RDM_ERR_PARSE with the
 * reason in why (no location: the caller adds entity, record, field). */
rdm_rc efft_value(const prof_field *f, efft_val v, const char *prefix, rdm_buf *out, char *why,
                  size_t whylen);

/* Starts a file for entity e (not owned, must outlive the writer) and
 * writes its header. */
rdm_rc efft_begin(efft_writer *w, const prof_entity *e, const char *prefix, efft_sink sink,
                  void *ud, rdm_err *err);

/* Writes one record: vals[i] is field i. A bad value is RDM_ERR_PARSE naming
 * entity, record key and field; nothing of that record reaches the sink. */
rdm_rc efft_record(efft_writer *w, const efft_val *vals, rdm_err *err);

void efft_end(efft_writer *w);

/* 1 if the n bytes are valid UTF-8 (no overlong forms, no surrogates, at
 * most U+10FFFF); *bad gets the offset of the first bad byte otherwise. */
int efft_utf8_valid(const char *s, size_t n, size_t *bad);

/* Appends the integer [+-]digits (at most max_digits digits) in its
 * canonical form: no '+', no leading zeros, "-0" as "0". RDM_ERR_PARSE if
 * it is not one; buffer errors as buf_add's. Shared with the importer. */
rdm_rc efft_int_canon(const char *s, size_t n, size_t max_digits, rdm_buf *out);

/* Syntax of values as they appear in a file, exactly as the writer puts
 * them (no '+', no leading zeros, no "-0" integer; a decimal in Python's
 * str(Decimal) form): what the ФЛК checker accepts. */
int efft_is_int(const char *s, size_t n);
int efft_is_decimal(const char *s, size_t n);
/* A decimal as a source may give it: [+-]digits[.digits] (the writer
 * makes it the file's form). */
int efft_is_decimal_input(const char *s, size_t n);
int efft_is_date(const char *s, size_t n);     /* YYYY-MM-DD, a real day */
int efft_is_datetime(const char *s, size_t n); /* YYYY-MM-DD HH:MM:SS */
/* Reads a date-time as SQLite, PostgreSQL or a dump writes it ("YYYY-MM-DD",
 * "YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|+HH[:MM]|-HH[:MM]]") and writes
 * "YYYY-MM-DD HH:MM:SS" (19 bytes, no NUL) into out: the wall-clock time as
 * written, the offset dropped. Returns 1, or 0 if it is not one. */
int efft_parse_datetime(const char *s, size_t n, char *out);
/* 1 if c (a code point) is removed from strings: U+0000..U+001F, U+007F..U+009F. */
int efft_is_control(unsigned long c);

#endif
