/* test_flc.c - the ФЛК checker on broken files: each defect alone, found
 * with its line and field; chunking does not change the verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/flc.h"
#include "agent/profile.h"

#include <stdio.h>
#include <string.h>

static profile prof;

static int load_profile(void **st)
{
    (void)st;
    rdm_err err;
    return profile_load(&prof, RDM_TEST_DATA "/profiles/test.json", ".", "", &err) ? -1 : 0;
}

static int free_profile(void **st)
{
    (void)st;
    profile_free(&prof);
    return 0;
}

typedef struct found {
    char text[4096];
    size_t n;
} found;

static void collect(void *ud, long line, const char *field, const char *msg)
{
    found *f = ud;
    int w = snprintf(f->text + f->n, sizeof f->text - f->n, "%ld|%s|%s\n", line,
                     field ? field : "-", msg);
    if (w > 0 && (size_t)w < sizeof f->text - f->n)
        f->n += (size_t)w;
}

/* Checks text for entity key in chunks of `chunk` bytes; returns problems. */
static long check(const char *key, const char *text, size_t chunk, found *f)
{
    flc c;
    size_t n = strlen(text);
    memset(f, 0, sizeof *f);
    flc_begin(&c, profile_entity(&prof, key), "ESH", collect, f);
    for (size_t off = 0; off < n; off += chunk)
        flc_feed(&c, text + off, n - off < chunk ? n - off : chunk);
    return flc_end(&c);
}

static void expect(const char *text, const char *needle)
{
    found f;
    for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
        long p = check("EXAMPLE", text, chunk, &f);
        if (p == 0 || !strstr(f.text, needle))
            fail_msg("chunk %zu: wanted '%s', got %ld problem(s):\n%s", chunk, needle, p, f.text);
    }
}

static void test_good(void **st)
{
    (void)st;
    found f;
    const char *ok = "id;name;partof_id\n\"ESH-15\";\"Школа \"\"Ромашка\"\"\";\"ESH-3\"\n"
                     "\"ESH-16\";\"\";";
    for (size_t chunk = 1; chunk < 100; chunk++)
        assert_int_equal(check("EXAMPLE", ok, chunk, &f), 0);
}

static void test_defects(void **st)
{
    (void)st;
    const char *h = "id;name;partof_id\n";
    char t[1024];
#define CASE(body, needle)                                                                         \
    do {                                                                                           \
        snprintf(t, sizeof t, "%s%s", h, body);                                                    \
        expect(t, needle);                                                                         \
    } while (0)
    expect("id;name\n\"ESH-1\";\"x\"",
           "1|-|header is 'id;name', EXAMPLE wants 'id;name;partof_id'");
    expect("ID;name;partof_id\n\"ESH-1\";\"x\";", "1|-|header is");
    expect("\xEF\xBB\xBFid;name;partof_id\n\"ESH-1\";\"x\";", "1|-|file starts with a byte order");
    expect("", "0|-|file is empty");
    expect("id;name;partof_id", "no records after the header");
    CASE("\"ESH-1\";\"x\";\n", "2|-|file ends with a newline");
    CASE("\"ESH-1\";\"x\";\r\n\"ESH-2\";\"y\";", "2|-|line ends with CR");
    expect("id;name;partof_id\r\n\"ESH-1\";\"x\";", "1|-|the header line ends with CR");
    CASE("\"ESH-1\";\"x\"", "2|-|2 fields, EXAMPLE has 3");
    CASE("\"ESH-1\";\"x\";;", "2|-|4 fields");
    CASE("\"ESH-1\";\"x\";\n\n\"ESH-2\";\"y\";", "3|-|empty line");
    CASE("\"ESH-1\";\"x;\n\"ESH-2\";\"y\";", "2|-|field 2: quote opened and not closed");
    CASE("\"ESH-1\";\"x\"y;", "2|-|field 2: text after the closing quote");
    CASE("\"ESH-1\";x\"y;", "2|-|field 2: a quote inside an unquoted value");
    CASE("\"ESH-1\";x;", "2|name|value is not in quotes");
    CASE("\"ESH-1\";;", "2|name|required field is missing");
    CASE(";\"x\";", "2|id|required field is missing");
    CASE("\"ESH-1\";\"x\";\"\"", "2|partof_id|empty optional value written as \"\"");
    CASE("\"15\";\"x\";", "2|id|key '15' lacks the prefix 'ESH-'");
    CASE("\"ESH-\";\"x\";", "2|id|key is only the prefix");
    CASE("\"ESH-1\";\"a\tb\";", "2|name|control character at byte 2");
    CASE("\"ESH-1\";\"a\xC2\x85\";", "2|name|control character at byte 2");
    CASE("\"ESH-1\";\"a\xD0\";", "2|name|invalid UTF-8 at byte 2");
    CASE("\"ESH-1\";\"x\";\n\"ESH-2\";\"y\";\n\"ESH-3\";;", "4|name|required field is missing");
#undef CASE
}

static void test_types(void **st)
{
    (void)st;
    found f;
    const char *h = "id;t;i;b;d;dt;dec;r;h;ref;hk\n";
    static const struct {
        const char *rec, *needle;
    } cases[] = {
        {"\"ESH-1\";;\"1.0\";;;;;\"\";;;", "2|i|'1.0' is not an integer"},
        {"\"ESH-1\";;\"007\";;;;;\"\";;;", "2|i|'007' is not an integer"},
        {"\"ESH-1\";;;\"true\";;;;\"\";;;", "2|b|'true' is not True or False"},
        {"\"ESH-1\";;;;\"2023-02-29\";;;\"\";;;", "2|d|'2023-02-29' is not a date"},
        {"\"ESH-1\";;;;;\"2024-01-02T03:04:05\";;\"\";;;",
         "2|dt|'2024-01-02T03:04:05' is not a date and time"},
        {"\"ESH-1\";;;;;;\"1e5\";\"\";;;", "2|dec|'1e5' is not a decimal"},
        /* forms the writer never makes (a writer bug would pass): */
        {"\"ESH-1\";;\"-0\";;;;;\"\";;;", "2|i|'-0' is not an integer"},
        {"\"ESH-1\";;\"+7\";;;;;\"\";;;", "2|i|'+7' is not an integer"},
        {"\"ESH-1\";;;;;;\"+7.50\";\"\";;;", "2|dec|'+7.50' is not a decimal"},
        {"\"ESH-1\";;;;;;\"007.5\";\"\";;;", "2|dec|'007.5' is not a decimal"},
        {"\"ESH-1\";;;;;;\"1E3\";\"\";;;", "2|dec|'1E3' is not a decimal"},
        {"\"ESH-1\";;;;;;\"12E-7\";\"\";;;", "2|dec|'12E-7' is not a decimal"},
        {"\"ESH-1\";;;;;;\".5\";\"\";;;", "2|dec|'.5' is not a decimal"},
        /* and those it makes (Python's str(Decimal)) */
        {"\"ESH-1\";;\"-7\";;;;\"-0\";\"\";;;", ""},
        {"\"ESH-1\";;\"0\";;;;\"0E-7\";\"\";;;", ""},
        {"\"ESH-1\";;;;;;\"-1.2E-7\";\"\";;;", ""},
        {"\"ESH-1\";;;;;;\"0.000123400\";\"\";;;", ""},
        {"\"ESH-1\";;;;;;;\"\";\"abc\";;", "2|h|hashable field is not a Streebog-512 digest"},
        {"\"ESH-1\";;;;;;;\"\";;\"ESH-5\";", ""}, /* ignore_prefix: any text is fine */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char t[1024];
        snprintf(t, sizeof t, "%s%s", h, cases[i].rec);
        long p = check("TYPES", t, 7, &f);
        if (!*cases[i].needle) {
            if (p)
                fail_msg("case %zu: unexpected problems:\n%s", i, f.text);
        } else if (!p || !strstr(f.text, cases[i].needle)) {
            fail_msg("case %zu: wanted '%s', got:\n%s", i, cases[i].needle, f.text);
        }
    }
}

static void test_split(void **st)
{
    (void)st;
    rdm_buf out;
    size_t starts[4], lens[4];
    int quoted[4];
    char why[128];
    buf_init(&out, 1024);
    const char *line = "\"a\"\"b\";;\"\";\"x;y\"";
    assert_int_equal(flc_split(line, strlen(line), &out, starts, lens, quoted, 4, why, sizeof why),
                     4);
    assert_string_equal(out.p + starts[0], "a\"b");
    assert_int_equal(lens[1], 0);
    assert_int_equal(quoted[1], 0);
    assert_int_equal(lens[2], 0);
    assert_int_equal(quoted[2], 1);
    assert_string_equal(out.p + starts[3], "x;y");
    assert_int_equal(flc_split(line, strlen(line), &out, starts, lens, quoted, 3, why, sizeof why),
                     -1);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_defects),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, load_profile, free_profile);
}
