/* buf.c - see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(rdm_buf *b, size_t max)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void buf_free(rdm_buf *b)
{
    free(b->p);
    buf_init(b, b->max);
}

void buf_reset(rdm_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

rdm_rc buf_add(rdm_buf *b, const void *data, size_t n)
{
    if (n > b->max - b->len)
        return RDM_ERR_RANGE;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np)
            return RDM_ERR_NOMEM;
        b->p = np;
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return RDM_OK;
}

rdm_rc buf_addc(rdm_buf *b, char c)
{
    if (b->len + 2 <= b->cap && b->len < b->max) {
        b->p[b->len++] = c;
        b->p[b->len] = '\0';
        return RDM_OK;
    }
    return buf_add(b, &c, 1);
}

rdm_rc buf_adds(rdm_buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

rdm_rc buf_addf(rdm_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    rdm_rc rc;
    if (w < 0) {
        rc = RDM_ERR_RANGE;
    } else if ((size_t)w < sizeof tmp) {
        rc = buf_add(b, tmp, (size_t)w);
    } else {
        char *big = malloc((size_t)w + 1);
        if (!big) {
            rc = RDM_ERR_NOMEM;
        } else {
            vsnprintf(big, (size_t)w + 1, fmt, aq);
            rc = buf_add(b, big, (size_t)w);
            free(big);
        }
    }
    va_end(aq);
    return rc;
}
