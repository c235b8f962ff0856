/*
 * sha256.h - SHA-256 (mbedTLS) with lower-case hex output: file checksums
 * of bundles, attachments and request bodies.
 *
 * Interface (prefix sha256_): sha256_init/update/hex (incremental),
 * sha256_file()
 */
#ifndef RDM_SHA256_H
#define RDM_SHA256_H

#include "../base/rc.h"

#include <mbedtls/sha256.h>
#include <stddef.h>

#define SHA256_HEX 65 /* 64 hex digits and NUL */

typedef struct sha256_ctx {
    mbedtls_sha256_context c;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/* Writes the digest as hex into out and releases the context. */
void sha256_hex(sha256_ctx *c, char out[SHA256_HEX]);

/* Digest of a whole file, read in chunks; *size gets its length. */
rdm_rc sha256_file(const char *path, char out[SHA256_HEX], long long *size, rdm_err *err);

#endif
