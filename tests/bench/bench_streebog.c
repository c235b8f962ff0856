/* bench_streebog.c - a benchmark, not a test: the speed of agent/streebog.c against libgcrypt's
 * GCRY_MD_STRIBOG512/256 in the same run, on bulk data (64 MiB hashed in 64 KiB updates) and on
 * many short 40-byte messages (the realistic case: record keys, one digest each), each case timed
 * in 3 alternating passes of both, the fastest pass counting. Prints one line per case, MB = 10^6
 * bytes:
 *   streebog512 bulk: rdm 123.4 MB/s, libgcrypt 150.0 MB/s, ratio 0.82
 * (ratio = rdm / libgcrypt). Optional argument: a scale factor for the amounts (default 1). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "../../agent/streebog.h"

#include <gcrypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BULK_BYTES  ((size_t)64 << 20)
#define BULK_CHUNK  ((size_t)64 << 10)
#define SHORT_LEN   40
#define SHORT_COUNT 200000
#define PASSES      3 /* timed passes of each case, alternating; the fastest counts */

static double min_d(double a, double b)
{
    return a < b ? a : b;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*, fixed seed */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static void fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        p[i] = (unsigned char)((rng_state * 0x2545f4914f6cdd1dULL) >> 56);
    }
}

static size_t dsize(int bits)
{
    return bits == 256 ? STREEBOG256_SIZE : STREEBOG512_SIZE;
}

/* Bulk: total bytes of buf (chunk bytes long, reused) in chunk-sized updates. */
static double bulk_rdm(int bits, const unsigned char *buf, size_t chunk, size_t total,
                       unsigned char *out)
{
    streebog_ctx c;
    double t0 = now();
    streebog_init(&c, bits);
    for (size_t done = 0; done < total; done += chunk)
        streebog_update(&c, buf, chunk);
    streebog_final(&c, out);
    return now() - t0;
}

static double bulk_gcry(int bits, const unsigned char *buf, size_t chunk, size_t total,
                        unsigned char *out)
{
    gcry_md_hd_t h;
    int algo = bits == 256 ? GCRY_MD_STRIBOG256 : GCRY_MD_STRIBOG512;
    double t0 = now();
    if (gcry_md_open(&h, algo, 0)) {
        fprintf(stderr, "gcry_md_open failed\n");
        exit(1);
    }
    for (size_t done = 0; done < total; done += chunk)
        gcry_md_write(h, buf, chunk);
    memcpy(out, gcry_md_read(h, algo), dsize(bits));
    gcry_md_close(h);
    return now() - t0;
}

/* Short: count messages of len bytes, one digest each; the digests are XORed into acc. */
static double short_rdm(int bits, const unsigned char *msgs, size_t len, size_t count,
                        unsigned char *acc)
{
    unsigned char d[64];
    double t0 = now();
    for (size_t i = 0; i < count; i++) {
        streebog_ctx c;
        streebog_init(&c, bits);
        streebog_update(&c, msgs + (i % 1024) * len, len);
        streebog_final(&c, d);
        acc[i % 64] ^= d[i % dsize(bits)];
    }
    return now() - t0;
}

static double short_gcry(int bits, const unsigned char *msgs, size_t len, size_t count,
                         unsigned char *acc)
{
    unsigned char d[64];
    int algo = bits == 256 ? GCRY_MD_STRIBOG256 : GCRY_MD_STRIBOG512;
    double t0 = now();
    for (size_t i = 0; i < count; i++) {
        gcry_md_hash_buffer(algo, d, msgs + (i % 1024) * len, len);
        acc[i % 64] ^= d[i % dsize(bits)];
    }
    return now() - t0;
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    size_t total, count;
    unsigned char *buf, *msgs;
    int bad = 0;

    if (scale <= 0)
        scale = 1.0;
    total = (size_t)(BULK_BYTES * scale) / BULK_CHUNK * BULK_CHUNK;
    if (total == 0)
        total = BULK_CHUNK;
    count = (size_t)(SHORT_COUNT * scale);
    if (count == 0)
        count = 1;

    if (!gcry_check_version(NULL)) {
        fprintf(stderr, "libgcrypt failed to initialise\n");
        return 1;
    }
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);

    buf = malloc(BULK_CHUNK);
    msgs = malloc(1024 * SHORT_LEN);
    if (!buf || !msgs) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    fill(buf, BULK_CHUNK);
    fill(msgs, 1024 * SHORT_LEN);

    printf("libgcrypt %s; bulk %zu MiB in %zu KiB updates, short %zu messages of %d bytes; "
           "best of %d passes\n",
           gcry_check_version(NULL), total >> 20, BULK_CHUNK >> 10, count, SHORT_LEN, PASSES);
    for (int bits = 512; bits >= 256; bits -= 256) {
        unsigned char d1[64], d2[64], a1[64] = {0}, a2[64] = {0};
        double tr, tg;

        /* a warm-up pass of each, then PASSES alternating timed ones; the best counts */
        bulk_rdm(bits, buf, BULK_CHUNK, BULK_CHUNK * 16, d1);
        bulk_gcry(bits, buf, BULK_CHUNK, BULK_CHUNK * 16, d2);
        tr = tg = 1e30;
        for (int p = 0; p < PASSES; p++) {
            tr = min_d(tr, bulk_rdm(bits, buf, BULK_CHUNK, total, d1));
            tg = min_d(tg, bulk_gcry(bits, buf, BULK_CHUNK, total, d2));
        }
        if (memcmp(d1, d2, dsize(bits)) != 0) {
            fprintf(stderr, "streebog%d bulk: digests DIFFER\n", bits);
            bad = 1;
        }
        printf("streebog%d bulk: rdm %.1f MB/s, libgcrypt %.1f MB/s, ratio %.2f\n", bits,
               (double)total / tr / 1e6, (double)total / tg / 1e6, tg / tr);

        tr = tg = 1e30;
        for (int p = 0; p < PASSES; p++) {
            tr = min_d(tr, short_rdm(bits, msgs, SHORT_LEN, count, a1));
            tg = min_d(tg, short_gcry(bits, msgs, SHORT_LEN, count, a2));
        }
        if (memcmp(a1, a2, sizeof a1) != 0) {
            fprintf(stderr, "streebog%d short: digests DIFFER\n", bits);
            bad = 1;
        }
        printf("streebog%d short%d: rdm %.1f MB/s (%.0f msg/s), libgcrypt %.1f MB/s (%.0f msg/s), "
               "ratio %.2f\n",
               bits, SHORT_LEN, (double)count * SHORT_LEN / tr / 1e6, (double)count / tr,
               (double)count * SHORT_LEN / tg / 1e6, (double)count / tg, tg / tr);
    }
    free(buf);
    free(msgs);
    return bad;
}
