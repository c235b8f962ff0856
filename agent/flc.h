/*
 * flc.h - the format-and-logic check (ФЛК) of an export file for one
 * entity, as the datamart would judge it: header, field counts, quoting,
 * required fields, types, key prefixes, hashes, control characters, UTF-8,
 * LF line ends with no newline after the last line. The writer's output
 * always passes; `rdm-agent validate` and the datamart emulator use it.
 *
 * Pure and streaming: feed the file in chunks of any size; memory is one
 * line (capped).
 *
 * Interface (prefix flc_):
 *   flc_begin(), flc_feed(), flc_end()   check a file
 *   flc_split()                           decode one record line into values
 */
#ifndef RDM_FLC_H
#define RDM_FLC_H

#include "../base/buf.h"
#include "../base/rc.h"
#include "profile.h"

/* One problem: line (1-based), field name (NULL for the line or file) and
 * what is wrong. */
typedef void (*flc_report_fn)(void *ud, long line, const char *field, const char *msg);

typedef struct flc {
    const prof_entity *e;
    const char *prefix;
    flc_report_fn report;
    void *ud;
    rdm_buf line; /* the line being assembled */
    long lineno;  /* lines completed */
    long records;
    long problems;
    int last_was_nl; /* the input so far ends with '\n' */
    int overlong;    /* the current line passed the cap */
    unsigned long long bytes;
    rdm_buf vals; /* decoded values of one record, NUL-separated */
    int deletes;  /* a DELETE file: only key fields are required (set after flc_begin) */
} flc;

void flc_begin(flc *c, const prof_entity *e, const char *prefix, flc_report_fn report, void *ud);
/* Consumes the next n bytes of the file. */
void flc_feed(flc *c, const char *data, size_t n);
/* Ends the file: checks the last line and the file as a whole, frees the
 * memory. Returns the number of problems found. */
long flc_end(flc *c);

/* Splits a record line (without its newline) into its fields, decoding the
 * quoting. On success returns the number of fields and fills starts/lens
 * (at most max, pointing into out, which holds the decoded bytes) and
 * quoted[i] (1 if field i was quoted). Returns -1 with a reason in why
 * when the quoting is broken. */
int flc_split(const char *line, size_t n, rdm_buf *out, size_t *starts, size_t *lens, int *quoted,
              int max, char *why, size_t whylen);

#endif
