/* keyset.c - see keyset.h. */
#include "keyset.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_BITS (1ull << 20) /* powers of two, multiples of 512 */
#define MAX_BITS (1ull << 26) /* 8 MiB */
#define PROBES   7

typedef struct cand {
    char *key; /* NULL: empty slot */
    size_t n;
    uint64_t h;
    long count, first_line;
    long long first_off, last_off;
} cand;

struct keyset {
    uint64_t *bits;   /* NULL until the first key that is not in order */
    uint64_t nbits;   /* a power of two */
    int ordered;      /* every key so far came after the one before */
    rdm_buf last;     /* while ordered: the last key */
    long long unseen; /* the keys of the ordered run, not in the filter */
    cand *c;
    size_t cap, used; /* open addressing, cap a power of two */
    long long repeated;
};

static uint64_t hash(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    /* splitmix64's finaliser spreads the short keys' bits */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

keyset *keyset_new(unsigned long long expect)
{
    keyset *k = calloc(1, sizeof *k);
    uint64_t want = expect ? (uint64_t)expect * 10 : MAX_BITS;
    if (!k)
        return NULL;
    k->nbits = MIN_BITS;
    while (k->nbits < want && k->nbits < MAX_BITS)
        k->nbits <<= 1;
    k->cap = 1024;
    k->ordered = 1;
    buf_init(&k->last, (size_t)1 << 30);
    k->c = calloc(k->cap, sizeof *k->c);
    if (!k->c) {
        keyset_free(k);
        return NULL;
    }
    return k;
}

void keyset_free(keyset *k)
{
    if (!k)
        return;
    for (size_t i = 0; k->c && i < k->cap; i++)
        free(k->c[i].key);
    free(k->c);
    free(k->bits);
    buf_free(&k->last);
    free(k);
}

static cand *find(const keyset *k, const char *key, size_t n, uint64_t h)
{
    for (size_t i = (size_t)h & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
        cand *c = &k->c[i];
        if (!c->key || (c->h == h && c->n == n && memcmp(c->key, key, n) == 0))
            return c;
    }
}

static rdm_rc grow(keyset *k)
{
    size_t oldcap = k->cap;
    cand *old = k->c, *c = calloc(oldcap * 2, sizeof *c);
    if (!c)
        return RDM_ERR_NOMEM;
    k->c = c;
    k->cap = oldcap * 2;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key)
            *find(k, old[i].key, old[i].n, old[i].h) = old[i];
    free(old);
    return RDM_OK;
}

/* 1 when key comes after the last one: longer, or as long and greater
 * byte by byte. (For integer keys, written without leading zeros, that is
 * their numeric order.) */
static int after_last(const keyset *k, const char *key, size_t n)
{
    if (n != k->last.len)
        return n > k->last.len;
    return memcmp(key, k->last.p, n) > 0;
}

/* Puts key in the filter; a key it may hold already becomes a candidate. */
static rdm_rc filter_add(keyset *k, const char *key, size_t n)
{
    if (!k->bits && !(k->bits = calloc((size_t)(k->nbits / 64), sizeof *k->bits)))
        return RDM_ERR_NOMEM;
    /* a blocked filter: the key's bits all lie in one 512-bit block (one
     * cache line), chosen by a second mix of the hash; its 63 low bits
     * give 7 positions of 9 bits */
    uint64_t h = hash(key, n), g = (h ^ h >> 29) * 0x9e3779b97f4a7c15ULL;
    uint64_t *blk = k->bits + ((g >> 20) & (k->nbits / 512 - 1)) * 8;
    int all = 1;
    for (int i = 0; i < PROBES; i++) {
        unsigned bit = (unsigned)(h >> (9 * i)) & 511;
        uint64_t w = blk[bit >> 6], mask = 1ull << (bit & 63);
        if (!(w & mask)) {
            all = 0;
            blk[bit >> 6] = w | mask;
        }
    }
    if (!all)
        return RDM_OK;
    if ((k->used + 1) * 4 > k->cap * 3 && grow(k))
        return RDM_ERR_NOMEM;
    cand *c = find(k, key, n, h);
    if (c->key)
        return RDM_OK;
    if (!(c->key = malloc(n ? n : 1)))
        return RDM_ERR_NOMEM;
    memcpy(c->key, key, n);
    c->n = n;
    c->h = h;
    k->used++;
    return RDM_OK;
}

rdm_rc keyset_see(keyset *k, const char *key, size_t n)
{
    /* Keys in order cannot repeat: a dump sorted by its key (the usual
     * case) costs a comparison a key, not a random access to the filter. */
    if (k->ordered) {
        if (!k->unseen || after_last(k, key, n)) {
            buf_reset(&k->last);
            if (buf_add(&k->last, key, n))
                return RDM_ERR_NOMEM;
            k->unseen++;
            return RDM_OK;
        }
        k->ordered = 0;
    }
    return filter_add(k, key, n);
}

long long keyset_unseen(const keyset *k)
{
    return k->ordered ? 0 : k->unseen;
}

rdm_rc keyset_refill(keyset *k, const char *key, size_t n)
{
    rdm_rc rc = filter_add(k, key, n);
    if (!rc && k->unseen)
        k->unseen--;
    return rc;
}

long long keyset_candidates(const keyset *k)
{
    return (long long)k->used;
}

void keyset_count(keyset *k, const char *key, size_t n, long line, long long off, long *repeat,
                  long *first_line)
{
    *repeat = 0;
    *first_line = 0;
    if (!k->used)
        return;
    cand *c = find(k, key, n, hash(key, n));
    if (!c->key)
        return;
    if (c->count++ == 0) {
        c->first_line = line;
        c->first_off = off;
    } else {
        if (c->count == 2)
            k->repeated++;
        *repeat = c->count;
        *first_line = c->first_line;
    }
    c->last_off = off;
}

long long keyset_repeated(const keyset *k)
{
    return k->repeated;
}

int keyset_repeat(const keyset *k, const char *key, size_t n, long long off, int keep_last)
{
    if (!k->repeated)
        return 0;
    const cand *c = find(k, key, n, hash(key, n));
    if (!c->key || c->count < 2)
        return 0;
    return off != (keep_last ? c->last_off : c->first_off);
}
