/*
 * sha256.h - SHA-256 (Nettle: its x86-64 SHA-NI code where the processor
 * has it, chosen at run time, about 1 GB/s against mbed TLS 2.28's 150
 * MB/s) with lower-case hex output: file checksums of bundles, land files,
 * attachments and request bodies.
 *
 * Interface (prefix sha256_): sha256_init/update/hex (incremental),
 * sha256_file(), sha256_bg_* (the same on a second thread, beside a parser)
 */
#ifndef RDM_SHA256_H
#define RDM_SHA256_H

#include "../base/rc.h"

#include <stddef.h>

#define SHA256_HEX 65 /* 64 hex digits and NUL */

/* Room for Nettle's context (sha256.c checks that it fits), so that this
 * header does not bring Nettle's names to every file. */
typedef struct rdm_sha256_ctx {
    _Alignas(8) unsigned char opaque[192];
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/* Writes the digest as hex into out and releases the context. */
void sha256_hex(sha256_ctx *c, char out[SHA256_HEX]);

/* Digest of a whole file, read in chunks; *size gets its length. */
rdm_rc sha256_file(const char *path, char out[SHA256_HEX], long long *size, rdm_err *err);

/* A digest computed on a worker thread from a pool of buffers, so that
 * hashing a file costs no time beside its parsing on another core:
 *   buf = sha256_bg_buffer(b); n = fread(buf...); sha256_bg_feed(b, buf, n);
 *   parse buf[0..n) - it stays valid until the next sha256_bg_buffer call;
 *   ... sha256_bg_finish(b, hex).
 * The caller owns *out and ends it with sha256_bg_finish (always, also on
 * errors: it joins the thread and frees everything). */
typedef struct sha256_bg sha256_bg;
rdm_rc sha256_bg_start(size_t chunk, sha256_bg **out, rdm_err *err);
/* A free buffer of `chunk` bytes (waits for the worker when none is). */
char *sha256_bg_buffer(sha256_bg *b);
/* Hands buf[0..n) to the worker. */
void sha256_bg_feed(sha256_bg *b, char *buf, size_t n);
/* Waits for the worker, writes the digest of everything fed (hex) into
 * out when out is not NULL, and frees b. */
void sha256_bg_finish(sha256_bg *b, char out[SHA256_HEX]);

#endif
