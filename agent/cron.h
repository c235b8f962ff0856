/*
 * cron.h - celery `crontab` fields (MINUTE, HOUR, DAY_OF_WEEK) and their
 * next fire time in local time.
 *
 * Interface:
 *   cron_field        which field a text is (its range and whether day names
 *                     are allowed)
 *   cron_spec         the three fields as bit sets: bit i set = value i allowed
 *   cron_parse_field  one field's text -> bit set, or RDM_ERR_CONFIG with a
 *                     message quoting the text (the caller adds file:line,
 *                     section and key)
 *   cron_parse        the three fields at once into a cron_spec
 *   cron_next         the next fire time strictly after a given time, in the
 *                     process's local time zone, with the DST rules of
 *                     docs/CRON.md
 *   cron_format       a normalised text form ("*\/30 * *", "0 9 mon-fri")
 *
 * Accepted syntax (celery's crontab_parser, see docs/CRON.md): `*`, `*\/n`,
 * `a`, `a-b`, `a-b/n`, ranges wrap around (`22-2`, `fri-mon`), and
 * comma-separated lists of these; DAY_OF_WEEK is 0-6 with 0 = Sunday and
 * also takes day names (`sun`, `Monday`, `tues`).
 *
 * Pure code: no allocation, no I/O, no global state besides the libc time
 * zone (localtime_r / localtime_s). ("*\/n" is star-slash-n: a C comment
 * cannot hold it plainly.)
 */
#ifndef RDM_CRON_H
#define RDM_CRON_H

#include "../base/rc.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum cron_field { CRON_MINUTE, CRON_HOUR, CRON_DAY_OF_WEEK } cron_field;

/* bit i set = value i allowed: minutes 0-59, hours 0-23, dows 0-6 (0 = Sunday) */
typedef struct cron_spec {
    uint64_t minutes;
    uint32_t hours;
    uint8_t dows;
} cron_spec;

/* Parses one field's text (not owned, NUL-terminated, NULL counts as empty;
 * spaces and tabs at either end are ignored, as configparser strips them). On success stores the
 * allowed values in *bits and returns RDM_OK. On failure leaves *bits
 * unchanged and returns RDM_ERR_CONFIG with a message in err (if not NULL)
 * that quotes the text, says what is wrong and what is allowed; the caller
 * prefixes file:line, section and key. An unknown f is RDM_ERR_INTERNAL. */
rdm_rc cron_parse_field(cron_field f, const char *text, uint64_t *bits, rdm_err *err);

/* Parses the three fields into *out (filled only when all three are valid).
 * Returns RDM_OK, or the first failing field's code and message (the message
 * names that field). */
rdm_rc cron_parse(cron_spec *out, const char *minute, const char *hour, const char *dow,
                  rdm_err *err);

/* The next fire time strictly after `after`: the first instant whose LOCAL
 * wall clock (the process's TZ; call tzset() after changing it) shows a whole
 * minute allowed by c. A wall time in a spring-forward gap does not fire; one
 * that occurs twice fires once, at its first occurrence. Returns (time_t)-1
 * if there is none (a field with no bit set) or the C library cannot convert
 * the times. */
time_t cron_next(const cron_spec *c, time_t after);

/* Writes a normalised form of c into buf ("MIN HOUR DOW", each field as `*`,
 * `*\/n` or a list of numbers and a-b ranges, day names for DAY_OF_WEEK),
 * which cron_parse reads back to the same spec (a field with no bit set is
 * written "(none)", which it does not). Returns 0, or -1 if buf is
 * too small (buf then holds a truncated, NUL-terminated text when len > 0). */
int cron_format(const cron_spec *c, char *buf, size_t len);

#endif
