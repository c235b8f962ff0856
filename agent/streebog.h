/*
 * streebog.h - the GOST R 34.11-2012 hash function ("Streebog", RFC 6986),
 * 512-bit and 256-bit.
 *
 * Interface:
 *   streebog_ctx      the running state of one hash (plain data: copy it to
 *                     fork a computation, no cleanup needed)
 *   streebog_init     start a 512-bit or 256-bit hash
 *   streebog_update   feed bytes, any number of calls of any lengths
 *   streebog_final    write the digest (64 or 32 bytes)
 *   streebog_hex      one-shot digest of a buffer as lower-case hex
 *
 * Byte order: a message is a string of bytes, and the digest is a string of
 * bytes, in the convention of libgcrypt (GCRY_MD_STRIBOG512/256), OpenSSL's
 * gost engine and most other libraries. RFC 6986 writes its vectors as
 * numbers, most significant byte first; in that notation byte 0 of the
 * message is the LEAST significant byte of the number, and byte 0 of the
 * digest is the least significant byte of the RFC's result. So the RFC's
 * message M1 is the 63-byte text "012345678901234567890123456789012345678901
 * 234567890123456789012", and the hex of its 512-bit digest here starts
 * "1b54d01a" where the RFC's number starts "486f64c1" (the same bytes in
 * reverse order).
 *
 * Pure code: no allocation, no I/O, no global state besides constant tables;
 * thread-safe for distinct contexts. Independent of the host's byte order.
 */
#ifndef RDM_STREEBOG_H
#define RDM_STREEBOG_H

#include <stddef.h>
#include <stdint.h>

#define STREEBOG512_SIZE 64  /* digest bytes of the 512-bit hash */
#define STREEBOG256_SIZE 32  /* digest bytes of the 256-bit hash */
#define STREEBOG512_HEX  129 /* hex characters plus the NUL */
#define STREEBOG256_HEX  65

/* The fields are private to streebog.c. */
typedef struct streebog_ctx {
    uint64_t h[8];         /* chaining value, word 0 least significant */
    uint64_t n[8];         /* number of message bits processed, mod 2^512 */
    uint64_t sigma[8];     /* sum of the message blocks, mod 2^512 */
    unsigned char buf[64]; /* a partial block */
    size_t buflen;         /* bytes in buf, 0..63 */
    int bits;              /* 512 or 256 */
} streebog_ctx;

/* Starts a hash of `bits` bits: 256 selects Streebog-256, any other value
 * Streebog-512. Any previous content of *c is overwritten. */
void streebog_init(streebog_ctx *c, int bits);

/* Adds len bytes at data (not owned; may be NULL when len is 0) to the
 * message. */
void streebog_update(streebog_ctx *c, const void *data, size_t len);

/* Writes the digest to out: 64 bytes for Streebog-512, 32 for Streebog-256.
 * The context is spent afterwards: call streebog_init before reusing it. */
void streebog_final(streebog_ctx *c, unsigned char *out);

/* Hashes len bytes at data (NULL allowed when len is 0) and writes the digest
 * as lower-case hex plus a NUL into out: 129 chars for bits 512 (any value
 * but 256), 65 for bits 256. */
void streebog_hex(int bits, const void *data, size_t len, char *out);

#endif
