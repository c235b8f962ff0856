/* test_landfile.c - what collect reads back of an import: the land file
 * format (round trip, damage found), the two-pass finder of repeated keys,
 * and the checksum computed on a second thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/keyset.h"
#include "base/sha256.h"
#include "storage/landfile.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the first size bytes of a file (portable: no truncate()). */
static void cut(const char *path, long long size)
{
    FILE *f = fopen(path, "rb");
    char *p = malloc((size_t)size);
    assert_non_null(f);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    free(p);
}

static void test_roundtrip(void **state)
{
    (void)state;
    char dir[512], path[600];
    rdm_err err;
    land_writer *w;
    land_reader *r;
    static land_row row;
    assert_int_equal(test_mkdtemp(dir, sizeof dir, "rdm-test-land"), 0);
    snprintf(path, sizeof path, "%s/1.rows", dir);
    assert_int_equal(land_writer_open(path, 3, &w, &err), RDM_OK);
    long long offs[1000];
    for (int i = 0; i < 1000; i++) {
        char key[32], v[64];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(v, sizeof v, "значение;\"%d\"\n", i * 7);
        const char *vals[3] = {key, i % 3 ? v : NULL, ""};
        size_t lens[3] = {strlen(key), strlen(v), 0};
        assert_int_equal(land_put(w, i + 2, i % 10 == 9 ? 3 : 0, (int64_t)i * -977, key,
                                  strlen(key), vals, lens, &offs[i], &err),
                         RDM_OK);
    }
    /* nothing under the final name before the commit */
    FILE *f = fopen(path, "rb");
    assert_null(f);
    assert_int_equal(land_writer_commit(w, &err), RDM_OK);

    assert_int_equal(land_reader_open(path, 3, 0, &r, &err), RDM_OK);
    for (int i = 0; i < 1000; i++) {
        char key[32], v[64];
        long long off;
        snprintf(key, sizeof key, "k%d", i);
        snprintf(v, sizeof v, "значение;\"%d\"\n", i * 7);
        assert_int_equal(land_next(r, &row, &off, &err), RDM_OK);
        assert_int_equal(off, offs[i]);
        assert_int_equal(row.line, i + 2);
        assert_int_equal(row.op, i % 10 == 9 ? 3 : 0);
        assert_true(row.hash == (int64_t)i * -977);
        assert_int_equal(row.klen, strlen(key));
        assert_memory_equal(row.key, key, row.klen);
        if (i % 3) {
            assert_non_null(row.vals[1]);
            assert_int_equal(row.lens[1], strlen(v));
            assert_memory_equal(row.vals[1], v, row.lens[1]);
        } else {
            assert_null(row.vals[1]);
        }
        assert_non_null(row.vals[2]);
        assert_int_equal(row.lens[2], 0);
    }
    assert_int_equal(land_next(r, &row, NULL, &err), RDM_ERR_NOT_FOUND);
    land_reader_close(r);

    /* a different model's column count, and a file cut short */
    assert_int_equal(land_reader_open(path, 4, 0, &r, &err), RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "not a land file"));
    long long size = offs[999] + 10;
    cut(path, size);
    assert_int_equal(land_reader_open(path, 3, 0, &r, &err), RDM_OK);
    rdm_rc rc;
    int n = 0;
    while ((rc = land_next(r, &row, NULL, &err)) == RDM_OK)
        n++;
    assert_int_equal(n, 999);
    assert_int_equal(rc, RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "cut short"));
    land_reader_close(r);
    /* cut between two records: the end record is missing */
    cut(path, offs[500]);
    assert_int_equal(land_reader_open(path, 3, 0, &r, &err), RDM_OK);
    for (n = 0; (rc = land_next(r, &row, NULL, &err)) == RDM_OK;)
        n++;
    assert_int_equal(n, 500);
    assert_int_equal(rc, RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "no end record"));
    land_reader_close(r);
    /* ... which a file still being written does not have yet */
    assert_int_equal(land_reader_open(path, 3, 1, &r, &err), RDM_OK);
    for (n = 0; (rc = land_next(r, &row, NULL, &err)) == RDM_OK;)
        n++;
    assert_int_equal(n, 500);
    assert_int_equal(rc, RDM_ERR_NOT_FOUND);
    land_reader_close(r);
    /* a version 1 file (before the end record) ends with the file */
    FILE *f1 = fopen(path, "r+b");
    assert_non_null(f1);
    assert_int_equal(fseek(f1, 7, SEEK_SET), 0);
    assert_int_equal(fputc('1', f1), '1');
    fclose(f1);
    assert_int_equal(land_reader_open(path, 3, 0, &r, &err), RDM_OK);
    for (n = 0; (rc = land_next(r, &row, NULL, &err)) == RDM_OK;)
        n++;
    assert_int_equal(n, 500);
    assert_int_equal(rc, RDM_ERR_NOT_FOUND);
    land_reader_close(r);
    assert_int_equal(test_rmtree(dir), 0);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    rdm_buf b;
    static land_row row;
    const char *vals[2] = {"a", "bc"};
    size_t lens[2] = {1, 2};
    buf_init(&b, 1 << 20);
    assert_int_equal(land_encode(&b, 5, 0, 42, "key", 3, 2, vals, lens), RDM_OK);
    const unsigned char *p = (const unsigned char *)b.p + 4;
    size_t n = b.len - 4;
    assert_int_equal(land_decode(p, n, 2, &row), 0);
    /* every shorter payload, and a payload with more bytes, is refused */
    for (size_t k = 0; k < n; k++)
        assert_int_equal(land_decode(p, k, 2, &row), -1);
    assert_int_equal(land_decode(p, n, 1, &row), -1);
    assert_int_equal(land_decode(p, n, 3, &row), -1);
    buf_free(&b);
}

static void test_keyset(void **state)
{
    (void)state;
    enum { N = 200000 };
    keyset *k = keyset_new(N);
    char key[32];
    assert_non_null(k);
    /* keys 0..N-1, and again every 1000th key twice more at the end */
#define KEY(i) (snprintf(key, sizeof key, "%d", (i)), key)
    for (int pass = 1; pass <= 2; pass++) {
        long long off = 0;
        for (int i = 0; i < N + 2 * (N / 1000); i++, off++) {
            int id = i < N ? i : (i - N) % (N / 1000) * 1000;
            const char *s = KEY(id);
            if (pass == 1) {
                assert_int_equal(keyset_see(k, s, strlen(s)), RDM_OK);
            } else {
                long again, first;
                keyset_count(k, s, strlen(s), i + 2, off, &again, &first);
                if (i < N) {
                    assert_int_equal(again, 0);
                } else {
                    assert_int_equal(again, i < N + N / 1000 ? 2 : 3);
                    assert_int_equal(first, id + 2);
                }
            }
        }
        if (pass == 1) {
            /* keys 0..N-1 came in order and skipped the filter: before
             * the refill only the second round of repeats is found */
            assert_int_equal(keyset_unseen(k), N);
            assert_in_range(keyset_candidates(k), N / 1000, N / 1000 + N / 50);
            for (int i = 0; i < N; i++) {
                const char *s = KEY(i);
                assert_int_equal(keyset_refill(k, s, strlen(s)), RDM_OK);
            }
            assert_int_equal(keyset_unseen(k), 0);
            /* the true repeats and a few others */
            assert_in_range(keyset_candidates(k), 2 * (N / 1000), 2 * (N / 1000) + N / 50);
        }
    }
    assert_int_equal(keyset_repeated(k), N / 1000);
    /* key 5000: first at offset 5000, last at N + N/1000 + 5 */
    const char *s = KEY(5000);
    assert_int_equal(keyset_repeat(k, s, strlen(s), 5000, 0), 0);
    assert_int_equal(keyset_repeat(k, s, strlen(s), N + 5, 0), 1);
    assert_int_equal(keyset_repeat(k, s, strlen(s), 5000, 1), 1);
    assert_int_equal(keyset_repeat(k, s, strlen(s), N + N / 1000 + 5, 1), 0);
    s = KEY(5001);
    assert_int_equal(keyset_repeat(k, s, strlen(s), 5001, 0), 0);
    assert_int_equal(keyset_repeat(k, s, strlen(s), 5001, 1), 0);
    keyset_free(k);
}

/* Keys in order (numeric, as text; then longer text keys) need no filter
 * and no second pass; a key equal to the last breaks the order. */
static void test_keyset_ordered(void **state)
{
    (void)state;
    keyset *k = keyset_new(0);
    char key[32];
    assert_non_null(k);
    for (int i = 1; i <= 100000; i++) {
        const char *s = KEY(i);
        assert_int_equal(keyset_see(k, s, strlen(s)), RDM_OK);
    }
    assert_int_equal(keyset_see(k, "zz-longer-than-a-number", 23), RDM_OK);
    assert_int_equal(keyset_unseen(k), 0);
    assert_int_equal(keyset_candidates(k), 0);
    /* the same key again is out of order: the run of 100001 keys is to be
     * refilled, and then the repeat is a candidate */
    assert_int_equal(keyset_see(k, "zz-longer-than-a-number", 23), RDM_OK);
    assert_int_equal(keyset_unseen(k), 100001);
    assert_int_equal(keyset_candidates(k), 0);
    for (int i = 1; i <= 100000; i++) {
        const char *s = KEY(i);
        assert_int_equal(keyset_refill(k, s, strlen(s)), RDM_OK);
    }
    assert_int_equal(keyset_refill(k, "zz-longer-than-a-number", 23), RDM_OK);
    assert_int_equal(keyset_unseen(k), 0);
    assert_in_range(keyset_candidates(k), 1, 100);
    /* "9" after "10" is out of order too (shorter), found the same way */
    keyset *k2 = keyset_new(0);
    assert_int_equal(keyset_see(k2, "10", 2), RDM_OK);
    assert_int_equal(keyset_see(k2, "9", 1), RDM_OK);
    assert_int_equal(keyset_see(k2, "10", 2), RDM_OK);
    assert_int_equal(keyset_unseen(k2), 1);
    assert_int_equal(keyset_refill(k2, "10", 2), RDM_OK);
    assert_true(keyset_candidates(k2) >= 1);
    long again, first;
    keyset_count(k2, "10", 2, 2, 0, &again, &first);
    keyset_count(k2, "9", 1, 3, 1, &again, &first);
    assert_int_equal(again, 0);
    keyset_count(k2, "10", 2, 4, 2, &again, &first);
    assert_int_equal(again, 2);
    assert_int_equal(first, 2);
    keyset_free(k2);
    keyset_free(k);
}
#undef KEY

static void test_sha256_bg(void **state)
{
    (void)state;
    enum { CHUNK = 1000 };
    sha256_bg *b;
    sha256_ctx c;
    char want[SHA256_HEX], got[SHA256_HEX];
    rdm_err err;
    sha256_init(&c);
    assert_int_equal(sha256_bg_start(CHUNK, &b, &err), RDM_OK);
    for (int i = 0; i < 100; i++) {
        char *p = sha256_bg_buffer(b);
        size_t n = (size_t)(i * 37 % CHUNK);
        for (size_t k = 0; k < n; k++)
            p[k] = (char)(i + k);
        sha256_update(&c, p, n);
        sha256_bg_feed(b, p, n);
    }
    sha256_bg_finish(b, got);
    sha256_hex(&c, want);
    assert_string_equal(got, want);
    /* FIPS 180-2's example */
    sha256_init(&c);
    sha256_update(&c, "abc", 3);
    sha256_hex(&c, want);
    assert_string_equal(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* ended without feeding: the digest of nothing */
    assert_int_equal(sha256_bg_start(CHUNK, &b, &err), RDM_OK);
    sha256_bg_finish(b, got);
    assert_string_equal(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_keyset),    cmocka_unit_test(test_keyset_ordered),
        cmocka_unit_test(test_sha256_bg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
