/* sha256.c - see sha256.h. */
#include "sha256.h"
#include "plat.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nettle's header maps sha256_init and the like to its own names: ours
 * are these, and Nettle's are called by their nettle_ names */
#undef sha256_init
#undef sha256_update
#undef sha256_digest

_Static_assert(sizeof(struct sha256_ctx) <= sizeof(((sha256_ctx *)0)->opaque),
               "Nettle's SHA-256 context does not fit sha256_ctx");

static struct sha256_ctx *nc(sha256_ctx *c)
{
    return (struct sha256_ctx *)(void *)c->opaque;
}

void sha256_init(sha256_ctx *c)
{
    nettle_sha256_init(nc(c));
}

void sha256_update(sha256_ctx *c, const void *data, size_t n)
{
    nettle_sha256_update(nc(c), n, data);
}

void sha256_hex(sha256_ctx *c, char out[SHA256_HEX])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    static const char hx[] = "0123456789abcdef";
    nettle_sha256_digest(nc(c), sizeof d, d);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[64] = '\0';
}

rdm_rc sha256_file(const char *path, char out[SHA256_HEX], long long *size, rdm_err *err)
{
    FILE *f = fopen(path, "rb");
    char buf[65536];
    size_t n;
    sha256_ctx c;
    long long total = 0;
    if (!f)
        return rdm_fail(err, RDM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    sha256_init(&c);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        sha256_update(&c, buf, n);
        total += (long long)n;
    }
    int bad = ferror(f);
    fclose(f);
    sha256_hex(&c, out);
    if (bad)
        return rdm_fail(err, RDM_ERR_IO, "cannot read %s", path);
    if (size)
        *size = total;
    return RDM_OK;
}

/* ---- on a worker thread ---- */

#define BG_BUFS 4

typedef struct bg_item {
    char *buf; /* NULL: the end */
    size_t n;
} bg_item;

struct sha256_bg {
    sha256_ctx c;
    plat_thread *t;
    plat_chan *work, *free;     /* bg_item * to hash; char * free buffers */
    bg_item items[BG_BUFS + 1]; /* one per buffer (the buffer is in flight
                                   while its item is), and the end */
    char *bufs[BG_BUFS];
};

static void *bg_main(void *arg)
{
    sha256_bg *b = arg;
    bg_item *it;
    while ((it = plat_chan_get(b->work))->buf) {
        sha256_update(&b->c, it->buf, it->n);
        plat_chan_put(b->free, it->buf);
    }
    return NULL;
}

static void bg_free(sha256_bg *b)
{
    for (int i = 0; i < BG_BUFS; i++)
        free(b->bufs[i]);
    if (b->work)
        plat_chan_free(b->work);
    if (b->free)
        plat_chan_free(b->free);
    free(b);
}

rdm_rc sha256_bg_start(size_t chunk, sha256_bg **out, rdm_err *err)
{
    sha256_bg *b = calloc(1, sizeof *b);
    rdm_rc rc = RDM_OK;
    *out = NULL;
    if (!b)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    for (int i = 0; i < BG_BUFS && !rc; i++)
        if (!(b->bufs[i] = malloc(chunk)))
            rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    if (!rc && !(rc = plat_chan_new(BG_BUFS + 1, &b->work, err)))
        rc = plat_chan_new(BG_BUFS, &b->free, err);
    if (rc) {
        bg_free(b);
        return rc;
    }
    for (int i = 0; i < BG_BUFS; i++)
        plat_chan_put(b->free, b->bufs[i]);
    sha256_init(&b->c);
    if ((rc = plat_thread_start(&b->t, bg_main, b, err))) {
        bg_free(b);
        return rc;
    }
    *out = b;
    return RDM_OK;
}

char *sha256_bg_buffer(sha256_bg *b)
{
    return plat_chan_get(b->free);
}

void sha256_bg_feed(sha256_bg *b, char *buf, size_t n)
{
    int i = 0;
    while (i < BG_BUFS && b->bufs[i] != buf)
        i++;
    bg_item *it = &b->items[i]; /* i == BG_BUFS: the end */
    it->buf = buf;
    it->n = n;
    plat_chan_put(b->work, it);
}

void sha256_bg_finish(sha256_bg *b, char out[SHA256_HEX])
{
    char hex[SHA256_HEX];
    sha256_bg_feed(b, NULL, 0);
    plat_thread_join(b->t);
    sha256_hex(&b->c, out ? out : hex);
    bg_free(b);
}
