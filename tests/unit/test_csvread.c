/* test_csvread.c - the dump reader: quoting, line numbers, encodings,
 * delimiters, line ends, and independence from how the bytes arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/csvread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows rendered as "LINE:a|b|<null>\n". */
typedef struct out {
    rdm_buf b;
} out;

static rdm_rc on_row(void *ud, long line, int n, const char *const *vals, const size_t *lens,
                     rdm_err *err)
{
    out *o = ud;
    char tmp[32];
    (void)err;
    snprintf(tmp, sizeof tmp, "%ld:", line);
    buf_adds(&o->b, tmp);
    for (int i = 0; i < n; i++) {
        if (i)
            buf_addc(&o->b, '|');
        if (vals[i])
            buf_add(&o->b, vals[i], lens[i]);
        else
            buf_adds(&o->b, "<null>");
    }
    buf_addc(&o->b, '\n');
    return RDM_OK;
}

/* Reads text fed in pieces of `chunk` bytes; returns rc, rows in o. */
static rdm_rc read_all(const char *text, size_t len, csvr_encoding enc, char delim, size_t chunk,
                       out *o, rdm_err *err)
{
    csvr *r;
    buf_init(&o->b, 1 << 20);
    buf_add(&o->b, "", 0);
    rdm_rc rc = csvr_open(&r, "d.csv", enc, delim, on_row, o, err);
    for (size_t off = 0; !rc && off < len; off += chunk)
        rc = csvr_feed(r, text + off, len - off < chunk ? len - off : chunk, err);
    if (!rc)
        rc = csvr_finish(r, err);
    csvr_free(r);
    return rc;
}

static void expect(const char *text, size_t len, csvr_encoding enc, char delim, const char *want)
{
    static const size_t chunks[] = {1, 2, 3, 7, 64, 1 << 20};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        out o;
        rdm_err err;
        if (read_all(text, len, enc, delim, chunks[i], &o, &err))
            fail_msg("chunk %zu: %s", chunks[i], err.msg);
        if (strcmp(o.b.p, want) != 0)
            fail_msg("chunk %zu: got\n%s\nwanted\n%s", chunks[i], o.b.p, want);
        buf_free(&o.b);
    }
}

static void expect_error(const char *text, size_t len, csvr_encoding enc, const char *needle)
{
    static const size_t chunks[] = {1, 5, 1 << 20};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        out o;
        rdm_err err;
        rdm_err_clear(&err);
        rdm_rc rc = read_all(text, len, enc, ';', chunks[i], &o, &err);
        if (rc != RDM_ERR_PARSE || !strstr(err.msg, needle))
            fail_msg("chunk %zu: wanted '%s', got rc %d: %s", chunks[i], needle, rc, err.msg);
        buf_free(&o.b);
    }
}

#define S(x) x, sizeof(x) - 1

static void test_basic_and_quoting(void **st)
{
    (void)st;
    expect(S("id;name\n1;a\n2;b"), CSVR_UTF8, ';', "1:id|name\n2:1|a\n3:2|b\n");
    expect(S("id;name\n1;a\n"), CSVR_UTF8, ';', "1:id|name\n2:1|a\n");
    /* quoted: delimiter, doubled quote, newlines inside; the row keeps the
     * line it starts on, the next row the line it starts on */
    expect(S("a;b\n\"x;y\";\"say \"\"hi\"\"\"\n\"multi\nline\ntext\";2\n3;4\n"), CSVR_UTF8, ';',
           "1:a|b\n2:x;y|say \"hi\"\n3:multi\nline\ntext|2\n6:3|4\n");
    /* empty unquoted is NULL, empty quoted is an empty string */
    expect(S("a;b;c\n;\"\";x\n"), CSVR_UTF8, ';', "1:a|b|c\n2:<null>||x\n");
    /* blank lines are skipped but counted */
    expect(S("a\n\n1\n\n\n2\n"), CSVR_UTF8, ';', "1:a\n3:1\n6:2\n");
}

static void test_line_ends_and_delimiters(void **st)
{
    (void)st;
    expect(S("a;b\r\n1;2\r\n\"x\r\ny\";3\r\n"), CSVR_UTF8, ';', "1:a|b\n2:1|2\n3:x\r\ny|3\n");
    expect(S("a,b\n1,\"2,5\"\n"), CSVR_UTF8, ',', "1:a|b\n2:1|2,5\n");
    expect(S("a;b\n1,5;2\n"), CSVR_UTF8, ';', "1:a|b\n2:1,5|2\n");
}

static void test_encodings(void **st)
{
    (void)st;
    /* UTF-8 with a BOM: dropped */
    expect(S("\xEF\xBB\xBFid;имя\n1;Ёж\n"), CSVR_UTF8, ';', "1:id|имя\n2:1|Ёж\n");
    /* Windows-1251: "имя" = E8 EC FF, "Ёж" = A8 E6, "№" = B9 */
    expect(S("id;\xE8\xEC\xFF\n1;\xA8\xE6 \xB9"
             "5\n"),
           CSVR_CP1251, ';', "1:id|имя\n2:1|Ёж №5\n");
    /* cp1251 bytes declared as UTF-8: line and byte named, advice given */
    expect_error(S("id;name\n1;ok\n2;\xCF\xF0\xE8\xE2\xE5\xF2\n"), CSVR_UTF8,
                 "d.csv:3: byte 3 (0xCF) is not valid UTF-8; if the dump was made on Windows, "
                 "set [source] ENCODING = cp1251");
    expect_error(S("id;name\n1;\x98\n"), CSVR_CP1251,
                 "d.csv:2: byte 3 (0x98) does not exist in Windows-1251");
    expect_error(S("\xEF\xBB\xBFid\n1\n"), CSVR_CP1251,
                 "starts with a UTF-8 byte order mark but the encoding is cp1251");
    expect_error(S("id;name\n1;a\0b\n"), CSVR_UTF8, "d.csv:2: byte 4 is NUL");
    rdm_buf b;
    size_t bad;
    buf_init(&b, 64);
    assert_int_equal(csvr_cp1251_to_utf8("\xC0\xE0\x80", 3, &b, &bad), RDM_OK);
    assert_string_equal(b.p, "Аа\xD0\x82");
    buf_free(&b);
}

static void test_malformed(void **st)
{
    (void)st;
    expect_error(S("a;b\n1;\"open\n2;3\n"), CSVR_UTF8,
                 "d.csv:2: the file ends inside a quoted field");
    expect_error(S("a;b\n1;\"x\"y;2\n"), CSVR_UTF8, "d.csv:2: malformed quoting");
}

static void test_field_cap(void **st)
{
    (void)st;
    /* an unterminated quote at the top of a big file must not eat memory */
    size_t n = (17u << 20) + 16;
    char *t = malloc(n);
    assert_non_null(t);
    memcpy(t, "a\n\"", 3);
    memset(t + 3, 'x', n - 3);
    for (size_t i = 100; i < n; i += 100)
        t[i] = '\n';
    out o;
    rdm_err err;
    rdm_rc rc = read_all(t, n, CSVR_UTF8, ';', 1 << 16, &o, &err);
    assert_int_equal(rc, RDM_ERR_PARSE);
    if (!strstr(err.msg, "d.csv:2: a field longer than"))
        fail_msg("%s", err.msg);
    buf_free(&o.b);
    free(t);
}

static rdm_rc stop_second(void *ud, long line, int n, const char *const *vals, const size_t *lens,
                          rdm_err *err)
{
    (void)ud;
    (void)n;
    (void)vals;
    (void)lens;
    if (line == 2)
        return rdm_fail(err, RDM_ERR_PARSE, "stopped at %ld", line);
    return RDM_OK;
}

static void test_callback_error_stops(void **st)
{
    (void)st;
    csvr *r;
    rdm_err err;
    assert_int_equal(csvr_open(&r, "d.csv", CSVR_UTF8, ';', stop_second, NULL, &err), RDM_OK);
    assert_int_equal(csvr_feed(r, S("a\n1\n2\n"), &err), RDM_ERR_PARSE);
    assert_string_equal(err.msg, "stopped at 2");
    csvr_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_and_quoting), cmocka_unit_test(test_line_ends_and_delimiters),
        cmocka_unit_test(test_encodings),         cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_field_cap),         cmocka_unit_test(test_callback_error_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
