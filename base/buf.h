/*
 * buf.h - a growable byte buffer with a hard cap (after curl's dynbuf):
 * appends past the cap fail with RDM_ERR_RANGE instead of eating memory.
 * The content is always NUL-terminated.
 *
 * Interface (prefix buf_): buf_init(), buf_free(), buf_reset(),
 * buf_add(), buf_addc(), buf_adds(), buf_addf()
 */
#ifndef RDM_BUF_H
#define RDM_BUF_H

#include "rc.h"

#include <stddef.h>

typedef struct rdm_buf {
    char *p;    /* owned; NULL until the first append */
    size_t len; /* bytes used, not counting the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on len */
} rdm_buf;

void buf_init(rdm_buf *b, size_t max);
void buf_free(rdm_buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(rdm_buf *b);
/* Appends n bytes; RDM_ERR_RANGE past the cap, RDM_ERR_NOMEM. */
rdm_rc buf_add(rdm_buf *b, const void *data, size_t n);
rdm_rc buf_addc(rdm_buf *b, char c);
rdm_rc buf_adds(rdm_buf *b, const char *s);
/* Appends printf-formatted text (any length, within the cap). */
rdm_rc buf_addf(rdm_buf *b, const char *fmt, ...) RDM_PRINTF(2, 3);

#endif
