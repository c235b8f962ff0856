/* test_streebog.c - unit tests of agent/streebog.c: the RFC 6986 section 10 vectors (M1, M2, both
 * sizes), the empty message, incremental updates split at every offset, and a differential test
 * against libgcrypt's GCRY_MD_STRIBOG512/256 over pseudo-random inputs (fixed seed) and a few
 * large ones. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../agent/streebog.h"

#include <gcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* RFC 6986 section 10 writes messages and digests as numbers, most significant byte first; the
 * byte strings are those numbers' bytes in reverse order (see streebog.h). */
static const char *const RFC_M1 =
    "323130393837363534333231303938373635343332313039383736353433323130393837363534333231303938"
    "373635343332313039383736353433323130";
static const char *const RFC_M2 =
    "fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2f120fff0eeec20f120faf2fee5"
    "e2202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1";
static const char *const RFC_H512_M1 =
    "486f64c1917879417fef082b3381a4e211c324f074654c38823a7b76f830ad00fa1fbae42b1285c0352f227524bc"
    "9ab16254288dd6863dccd5b9f54a1ad0541b";
static const char *const RFC_H256_M1 =
    "00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d";
static const char *const RFC_H512_M2 =
    "28fbc9bada033b1460642bdcddb90c3fb3e56c497ccd0f62b8a2ad4935e85f037613966de4ee00531ae60f3b5a47"
    "f8dae06915d5f2f194996fcabf2622e6881e";
static const char *const RFC_H256_M2 =
    "508f7e553c06501d749a66fc28c6cac0b005746d97537fa85d9e40904efed29d";

/* Decodes the hex of an RFC number into its byte string (reversed); returns the byte count. */
static size_t rfc_bytes(const char *hex, unsigned char *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[n - 1 - i] = (unsigned char)v;
    }
    return n;
}

/* The hex of an RFC number as the hex of its byte string (byte order reversed). */
static void rfc_hex(const char *hex, char *out)
{
    size_t n = strlen(hex);
    for (size_t i = 0; i < n; i += 2) {
        out[i] = hex[n - 2 - i];
        out[i + 1] = hex[n - 1 - i];
    }
    out[n] = '\0';
}

static void digest(int bits, const void *data, size_t len, unsigned char *out)
{
    streebog_ctx c;
    streebog_init(&c, bits);
    streebog_update(&c, data, len);
    streebog_final(&c, out);
}

static void gcry_digest(int bits, const void *data, size_t len, unsigned char *out)
{
    gcry_md_hash_buffer(bits == 256 ? GCRY_MD_STRIBOG256 : GCRY_MD_STRIBOG512, out, data, len);
}

static size_t dsize(int bits)
{
    return bits == 256 ? STREEBOG256_SIZE : STREEBOG512_SIZE;
}

/* xorshift64*: a fixed, portable pseudo-random sequence */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static void rng_fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(rng() >> 56);
}

/* Feeds data to c in pieces of random lengths (0..max). */
static void update_in_pieces(streebog_ctx *c, const unsigned char *p, size_t len, size_t max)
{
    while (len) {
        size_t k = (size_t)(rng() % (max + 1));
        if (k > len)
            k = len;
        streebog_update(c, p, k);
        p += k;
        len -= k;
    }
}

/* ---- RFC 6986 section 10 ---- */

static void check_rfc(const char *msg, const char *expect, int bits)
{
    unsigned char m[128], want[64], got[64];
    char hex[STREEBOG512_HEX], want_hex[STREEBOG512_HEX];
    size_t n = rfc_bytes(msg, m);

    assert_int_equal(rfc_bytes(expect, want), dsize(bits));
    digest(bits, m, n, got);
    assert_memory_equal(got, want, dsize(bits));

    streebog_hex(bits, m, n, hex);
    rfc_hex(expect, want_hex);
    assert_string_equal(hex, want_hex);
}

static void test_rfc_m1(void **state)
{
    (void)state;
    unsigned char m[64];
    /* M1 is this text, as the header says */
    const char *text = "012345678901234567890123456789012345678901234567890123456789012";
    assert_int_equal(rfc_bytes(RFC_M1, m), 63);
    assert_memory_equal(m, text, 63);

    check_rfc(RFC_M1, RFC_H512_M1, 512);
    check_rfc(RFC_M1, RFC_H256_M1, 256);

    char hex[STREEBOG512_HEX];
    streebog_hex(512, text, 63, hex);
    assert_string_equal(hex, "1b54d01a4af5b9d5cc3d86d68d285462b19abc2475222f35c085122be4ba1ffa"
                             "00ad30f8767b3a82384c6574f024c311e2a481332b08ef7f41797891c1646f48");
    streebog_hex(256, text, 63, hex);
    assert_string_equal(hex, "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500");
}

static void test_rfc_m2(void **state)
{
    (void)state;
    unsigned char m[128];
    /* M2 is 72 bytes of windows-1251 text ("Се ветри, Стрибожи внуци, ..."): more than a block */
    assert_int_equal(rfc_bytes(RFC_M2, m), 72);
    assert_int_equal(m[0], 0xd1); /* С */

    check_rfc(RFC_M2, RFC_H512_M2, 512);
    check_rfc(RFC_M2, RFC_H256_M2, 256);
}

static void test_empty(void **state)
{
    (void)state;
    char hex[STREEBOG512_HEX];
    streebog_hex(512, NULL, 0, hex);
    assert_string_equal(hex, "8e945da209aa869f0455928529bcae4679e9873ab707b55315f56ceb98bef0a7"
                             "362f715528356ee83cda5f2aac4c6ad2ba3a715c1bcd81cb8e9f90bf4c1c1a8a");
    streebog_hex(256, "", 0, hex);
    assert_string_equal(hex, "3f539a213e97c802cc229d474c6aa32a825a360b2a933a949fd925208d9ce1bb");

    /* empty updates change nothing */
    streebog_ctx c;
    unsigned char a[64], b[64];
    streebog_init(&c, 512);
    streebog_update(&c, NULL, 0);
    streebog_update(&c, "", 0);
    streebog_final(&c, a);
    digest(512, NULL, 0, b);
    assert_memory_equal(a, b, 64);
}

static void test_hex_form(void **state)
{
    (void)state;
    char hex[STREEBOG512_HEX + 8];
    unsigned char d[64];
    const char *msg = "ESH-15";

    memset(hex, 'X', sizeof hex);
    streebog_hex(512, msg, strlen(msg), hex);
    assert_int_equal(strlen(hex), 128);
    assert_int_equal(hex[129], 'X'); /* nothing written past the NUL */
    digest(512, msg, strlen(msg), d);
    for (size_t i = 0; i < 64; i++) {
        char two[3];
        snprintf(two, sizeof two, "%02x", d[i]);
        assert_memory_equal(hex + 2 * i, two, 2);
    }
    for (size_t i = 0; i < 128; i++)
        assert_true((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'));

    memset(hex, 'X', sizeof hex);
    streebog_hex(256, msg, strlen(msg), hex);
    assert_int_equal(strlen(hex), 64);
    assert_int_equal(hex[65], 'X');

    /* any bits value but 256 is 512 */
    char other[STREEBOG512_HEX];
    streebog_hex(512, msg, strlen(msg), hex);
    streebog_hex(0, msg, strlen(msg), other);
    assert_string_equal(hex, other);
}

/* ---- incremental updates ---- */

static void test_split_every_offset(void **state)
{
    (void)state;
    static const size_t lens[] = {1, 2, 63, 64, 65, 127, 128, 129, 191, 192, 193, 300};
    unsigned char msg[300], one[64], two[64];
    rng_fill(msg, sizeof msg);

    for (int bits = 256; bits <= 512; bits += 256) {
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            size_t len = lens[li];
            digest(bits, msg, len, one);
            for (size_t k = 0; k <= len; k++) {
                streebog_ctx c;
                streebog_init(&c, bits);
                streebog_update(&c, msg, k);
                streebog_update(&c, msg + k, len - k);
                streebog_final(&c, two);
                assert_memory_equal(one, two, dsize(bits));
            }
        }
    }
}

static void test_split_two_offsets(void **state)
{
    (void)state;
    unsigned char msg[200], one[64], two[64];
    const size_t len = sizeof msg;
    rng_fill(msg, len);

    for (int bits = 256; bits <= 512; bits += 256) {
        digest(bits, msg, len, one);
        for (size_t i = 0; i <= len; i++) {
            for (size_t j = i; j <= len; j++) {
                streebog_ctx c;
                streebog_init(&c, bits);
                streebog_update(&c, msg, i);
                streebog_update(&c, msg + i, j - i);
                streebog_update(&c, msg + j, len - j);
                streebog_final(&c, two);
                assert_memory_equal(one, two, dsize(bits));
            }
        }
    }
}

static void test_byte_at_a_time_and_copy(void **state)
{
    (void)state;
    unsigned char msg[777], one[64], two[64], three[64];
    rng_fill(msg, sizeof msg);

    for (int bits = 256; bits <= 512; bits += 256) {
        streebog_ctx c, fork;
        digest(bits, msg, sizeof msg, one);
        streebog_init(&c, bits);
        for (size_t i = 0; i < sizeof msg; i++) {
            streebog_update(&c, msg + i, 1);
            if (i == 400)
                fork = c; /* a copy goes on independently */
        }
        streebog_final(&c, two);
        assert_memory_equal(one, two, dsize(bits));

        streebog_update(&fork, msg + 401, sizeof msg - 401);
        streebog_final(&fork, three);
        assert_memory_equal(one, three, dsize(bits));

        /* re-init of a spent context starts afresh */
        streebog_init(&c, bits);
        streebog_update(&c, msg, sizeof msg);
        streebog_final(&c, two);
        assert_memory_equal(one, two, dsize(bits));
    }
}

/* ---- against libgcrypt ---- */

static void test_vs_libgcrypt_random(void **state)
{
    (void)state;
    static const size_t forced[] = {0,   1,   31,  32,  33,  55,  56,  63,  64,  65,
                                    127, 128, 129, 191, 192, 193, 255, 256, 257, 1000};
    const size_t nforced = sizeof forced / sizeof forced[0];
    unsigned char msg[1000], ours[64], theirs[64], split[64];
    int count = 0;

    rng_state = 0x0123456789abcdefULL;
    for (int n = 0; n < 6000; n++) {
        size_t len = n < (int)nforced ? forced[n] : (size_t)(rng() % 1001);
        int bits = (n & 1) ? 256 : 512;
        switch (n % 7) {
        case 0: /* all ones: long carry chains in Sigma */
            memset(msg, 0xff, len);
            break;
        case 1:
            memset(msg, 0, len);
            break;
        default:
            rng_fill(msg, len);
        }
        for (int b = 256; b <= 512; b += 256) {
            digest(b, msg, len, ours);
            gcry_digest(b, msg, len, theirs);
            if (memcmp(ours, theirs, dsize(b)) != 0)
                fail_msg("differs from libgcrypt: bits %d, case %d, length %zu", b, n, len);
            count++;
        }
        /* the same message fed in random pieces */
        streebog_ctx c;
        streebog_init(&c, bits);
        update_in_pieces(&c, msg, len, 150);
        streebog_final(&c, split);
        gcry_digest(bits, msg, len, theirs);
        if (memcmp(split, theirs, dsize(bits)) != 0)
            fail_msg("pieces differ from libgcrypt: bits %d, case %d, length %zu", bits, n, len);
    }
    assert_int_equal(count, 12000);
}

static void test_vs_libgcrypt_large(void **state)
{
    (void)state;
    static const size_t lens[] = {(size_t)1 << 20, ((size_t)1 << 20) + 37, 3 * ((size_t)1 << 20)};
    size_t max = lens[2];
    unsigned char *msg = malloc(max);
    unsigned char ours[64], theirs[64];
    assert_non_null(msg);
    rng_state = 42;
    rng_fill(msg, max);

    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (int bits = 256; bits <= 512; bits += 256) {
            digest(bits, msg, lens[i], ours);
            gcry_digest(bits, msg, lens[i], theirs);
            assert_memory_equal(ours, theirs, dsize(bits));

            streebog_ctx c;
            streebog_init(&c, bits);
            update_in_pieces(&c, msg, lens[i], 70000);
            streebog_final(&c, ours);
            assert_memory_equal(ours, theirs, dsize(bits));
        }
    }
    free(msg);
}

int main(void)
{
    if (!gcry_check_version(NULL)) {
        fprintf(stderr, "libgcrypt failed to initialise\n");
        return 1;
    }
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_m1),
        cmocka_unit_test(test_rfc_m2),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_hex_form),
        cmocka_unit_test(test_split_every_offset),
        cmocka_unit_test(test_split_two_offsets),
        cmocka_unit_test(test_byte_at_a_time_and_copy),
        cmocka_unit_test(test_vs_libgcrypt_random),
        cmocka_unit_test(test_vs_libgcrypt_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
