/* test_efft.c - the ЕФТТ writer: golden files (written by an independent
 * implementation, tests/data/golden/make_golden.py), FORMAT.md's own
 * example, each rule, bad input, a property test that writes random records
 * and reads them back with the strict ФЛК reader, and flat memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/efft.h"
#include "agent/flc.h"
#include "agent/profile.h"
#include "agent/streebog.h"
#include "base/plat.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static profile prof;

static int load_profile(void **st)
{
    (void)st;
    rdm_err err;
    if (profile_load(&prof, RDM_TEST_DATA "/profiles/test.json", ".", "", &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int free_profile(void **st)
{
    (void)st;
    profile_free(&prof);
    return 0;
}

static rdm_rc to_buf(void *ud, const char *data, size_t len, rdm_err *err)
{
    (void)err;
    return buf_add(ud, data, len);
}

/* Writes records (n rows of e->nfields values, NULL = SQL NULL) to out. */
static rdm_rc write_all(const prof_entity *e, const char *prefix, const char *const *cells,
                        int nrec, rdm_buf *out, rdm_err *err)
{
    efft_writer w;
    efft_val vals[64];
    rdm_rc rc = efft_begin(&w, e, prefix, to_buf, out, err);
    for (int r = 0; r < nrec && !rc; r++) {
        for (int i = 0; i < e->nfields; i++) {
            const char *c = cells[r * e->nfields + i];
            vals[i].s = c;
            vals[i].len = c ? strlen(c) : 0;
        }
        rc = efft_record(&w, vals, err);
    }
    efft_end(&w);
    return rc;
}

static void test_format_md_example(void **st)
{
    (void)st;
    static const char *const cells[] = {"15", "Школа \"Ромашка\"", "3", "16", "", NULL};
    static const char expect[] = "id;name;partof_id\n"
                                 "\"ESH-15\";\"Школа \"\"Ромашка\"\"\";\"ESH-3\"\n"
                                 "\"ESH-16\";\"\";";
    rdm_buf out;
    rdm_err err;
    buf_init(&out, 1 << 20);
    assert_int_equal(write_all(profile_entity(&prof, "EXAMPLE"), "ESH", cells, 2, &out, &err),
                     RDM_OK);
    assert_int_equal(out.len, sizeof expect - 1);
    assert_memory_equal(out.p, expect, out.len);
    buf_free(&out);
}

static void test_golden_files(void **st)
{
    (void)st;
    char *text;
    size_t len;
    rdm_err err;
    assert_int_equal(plat_read_file(RDM_TEST_DATA "/golden/cases.json", 1 << 20, &text, &len, &err),
                     RDM_OK);
    cJSON *cases = cJSON_Parse(text);
    free(text);
    assert_non_null(cases);
    int ncases = 0;
    for (cJSON *c = cases->child; c; c = c->next, ncases++) {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        const prof_entity *e = profile_entity(&prof, cJSON_GetObjectItem(c, "entity")->valuestring);
        const char *prefix = cJSON_GetObjectItem(c, "prefix")->valuestring;
        cJSON *recs = cJSON_GetObjectItem(c, "records");
        int nrec = cJSON_GetArraySize(recs);
        const char **cells = calloc((size_t)(nrec * e->nfields), sizeof *cells);
        int r = 0;
        for (cJSON *rec = recs->child; rec; rec = rec->next, r++) {
            int i = 0;
            for (cJSON *v = rec->child; v; v = v->next, i++)
                cells[r * e->nfields + i] = cJSON_IsNull(v) ? NULL : v->valuestring;
            assert_int_equal(i, e->nfields);
        }
        rdm_buf out;
        buf_init(&out, 1 << 20);
        if (write_all(e, prefix, cells, nrec, &out, &err))
            fail_msg("%s: %s", name, err.msg);
        char path[512];
        snprintf(path, sizeof path, RDM_TEST_DATA "/golden/%s.csv", name);
        assert_int_equal(plat_read_file(path, 1 << 20, &text, &len, &err), RDM_OK);
        if (len != out.len || memcmp(text, out.p, len) != 0)
            fail_msg("%s: writer output differs from %s:\n%s\n---\n%s", name, path, out.p, text);
        /* and the golden file passes the ФЛК */
        flc c;
        flc_begin(&c, e, prefix, NULL, NULL);
        flc_feed(&c, text, len);
        assert_int_equal(flc_end(&c), 0);
        free(text);
        free(cells);
        buf_free(&out);
    }
    assert_true(ncases >= 7);
    cJSON_Delete(cases);
}

static void check_value(const char *field, const char *in, const char *prefix, const char *want)
{
    const prof_entity *e = profile_entity(&prof, "TYPES");
    const prof_field *f = &e->fields[prof_field_index(e, field)];
    rdm_buf out;
    char why[256] = "";
    efft_val v = {in, in ? strlen(in) : 0};
    buf_init(&out, 1 << 20);
    rdm_rc rc = efft_value(f, v, prefix, &out, why, sizeof why);
    if (want == NULL) {
        if (rc != RDM_ERR_PARSE)
            fail_msg("%s '%s' should be rejected, got '%s'", field, in, out.p ? out.p : "");
    } else {
        if (rc)
            fail_msg("%s '%s': %s", field, in, why);
        assert_string_equal(out.p ? out.p : "", want);
    }
    buf_free(&out);
}

static void test_value_rules(void **st)
{
    (void)st;
    /* datetimes as SQLite, PostgreSQL and dumps write them */
    check_value("dt", "2024-01-02 03:04:05", "", "2024-01-02 03:04:05");
    check_value("dt", "2024-01-02T03:04:05", "", "2024-01-02 03:04:05");
    check_value("dt", "2024-01-02 03:04:05.999999", "", "2024-01-02 03:04:05");
    check_value("dt", "2024-01-02 03:04:05+03", "", "2024-01-02 03:04:05");
    check_value("dt", "2024-01-02 03:04:05-0530", "", "2024-01-02 03:04:05");
    check_value("dt", "2024-01-02 03:04", "", "2024-01-02 03:04:00");
    check_value("dt", "2024-01-02", "", "2024-01-02 00:00:00");
    check_value("dt", "2024-13-02", "", NULL);
    check_value("dt", "2023-02-29 00:00:00", "", NULL);
    check_value("dt", "2024-01-02 24:00:00", "", NULL);
    check_value("dt", "2024-01-02 03:04:05 MSK", "", NULL);
    check_value("dt", "02.01.2024", "", NULL);
    check_value("d", "2024-01-02 23:59:59", "", "2024-01-02");
    check_value("d", "2024-1-2", "", NULL);
    check_value("i", "0042", "", "42");
    check_value("i", "-0", "", "0");
    check_value("i", "4.0", "", NULL);
    check_value("i", "", "", NULL);
    check_value("i", "1 000", "", NULL);
    check_value("b", "TRUE", "", "True");
    check_value("b", "0", "", "False");
    check_value("b", "maybe", "", NULL);
    check_value("dec", "007.50", "", "7.50");
    check_value("dec", "0.5", "", "0.5");
    check_value("dec", "-0", "", "-0");
    check_value("dec", "1e3", "", NULL);
    check_value("dec", "1,5", "", NULL);
    /* keys: prefix on non-empty values only; ignore_prefix; after control removal */
    check_value("id", "15", "ESH", "ESH-15");
    check_value("id", "\n", "ESH", "");
    check_value("ref", "15", "ESH", "15");
    check_value("t", NULL, "ESH", "");
    {
        /* NUL is a control character too (a value may hold one) */
        const prof_entity *e = profile_entity(&prof, "TYPES");
        rdm_buf out;
        char why[64];
        efft_val v = {"a\0b", 3};
        buf_init(&out, 64);
        assert_int_equal(efft_value(&e->fields[1], v, "", &out, why, sizeof why), RDM_OK);
        assert_string_equal(out.p, "ab");
        buf_free(&out);
    }
    /* U+0085 (NEL) and U+009F are two bytes in UTF-8 and are removed; U+00A0 is kept */
    check_value("t",
                "a\xC2\x85"
                "b\xC2\x9F"
                "c\xC2\xA0",
                "", "abc\xC2\xA0");
    /* hashing after prefixing */
    char hex[129];
    streebog_hex(512, "ESH-88", 6, hex);
    check_value("hk", "88", "ESH", hex);
    streebog_hex(512, "secret", 6, hex);
    check_value("h", "secret", "ESH", hex);
    check_value("h", "", "ESH", "");
}

static void test_invalid_utf8_named(void **st)
{
    (void)st;
    static const char *const cells[] = {"7", "ok", NULL, "8", "bad \xD0 byte", NULL};
    rdm_buf out;
    rdm_err err;
    buf_init(&out, 1 << 20);
    assert_int_equal(write_all(profile_entity(&prof, "EXAMPLE"), "ESH", cells, 2, &out, &err),
                     RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "entity EXAMPLE, record id=8, field name: invalid UTF-8 at "
                                    "byte 5"));
    /* nothing of the bad record reached the sink */
    assert_null(strstr(out.p, "ESH-8"));
    assert_non_null(strstr(out.p, "ESH-7"));
    buf_free(&out);
    /* overlong, surrogate, out of range */
    static const char *const bad[] = {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *c2[] = {"1", bad[i], NULL};
        buf_init(&out, 1 << 20);
        assert_int_equal(write_all(profile_entity(&prof, "EXAMPLE"), "E", c2, 1, &out, &err),
                         RDM_ERR_PARSE);
        buf_free(&out);
    }
    static const char *const typed[] = {"9", "x", "abc", "True", "2024-01-01", "2024-01-01",
                                        "1", "r", NULL,  NULL,   NULL};
    buf_init(&out, 1 << 20);
    assert_int_equal(write_all(profile_entity(&prof, "TYPES"), "E", typed, 1, &out, &err),
                     RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "entity TYPES, record id=9, field i: 'abc' is not an integer"));
    buf_free(&out);
}

/* ---- property test ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* A random UTF-8 string mixing ASCII, ; " and controls, Cyrillic, C1
 * controls, and astral code points. */
static void random_text(rdm_buf *b)
{
    static const char *const atoms[] = {
        "a",    "Z", "0", ";", "\"",       "\"\"",     " ",        "\n", "\r", "\t", "\x01",
        "\x7f", "Ш", "ё", "№", "\xC2\x85", "\xC2\x9F", "\xC2\xA0", "😀",  "—",  ","};
    int n = (int)(rnd() % 12);
    for (int i = 0; i < n; i++)
        buf_adds(b, atoms[rnd() % (sizeof atoms / sizeof atoms[0])]);
}

/* What the reader must get back for a text value: controls removed. */
static void strip_controls(const char *s, rdm_buf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    buf_reset(out);
    buf_add(out, "", 0);
    for (size_t i = 0; u[i]; i++) {
        if (u[i] <= 0x1F || u[i] == 0x7F)
            continue;
        if (u[i] == 0xC2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F) {
            i++;
            continue;
        }
        buf_addc(out, (char)u[i]);
    }
}

static void test_property_roundtrip(void **st)
{
    (void)st;
    const prof_entity *e = profile_entity(&prof, "EXAMPLE");
    enum { N = 3000 };
    rdm_buf texts[N * 3], file, decoded, want;
    const char *cells[N * 3];
    rdm_err err;
    buf_init(&file, 64 << 20);
    buf_init(&decoded, 1 << 20);
    buf_init(&want, 1 << 20);
    for (int i = 0; i < N * 3; i++) {
        buf_init(&texts[i], 1 << 16);
        if (i % 3 == 0) {
            char id[32];
            snprintf(id, sizeof id, "%d", i / 3);
            buf_adds(&texts[i], id);
        } else {
            random_text(&texts[i]);
            buf_add(&texts[i], "", 0);
        }
        cells[i] = (i % 3 == 2 && rnd() % 4 == 0) ? NULL : texts[i].p;
    }
    assert_int_equal(write_all(e, "ЭШ", cells, N, &file, &err), RDM_OK);
    /* the strict reader finds no problem */
    flc c;
    flc_begin(&c, e, "ЭШ", NULL, NULL);
    for (size_t off = 0; off < file.len; off += 977) /* odd chunks: lines cross them */
        flc_feed(&c, file.p + off, file.len - off < 977 ? file.len - off : 977);
    assert_int_equal(flc_end(&c), 0);
    assert_int_equal(c.records, N);
    /* and reads back exactly the values */
    const char *line = (const char *)memchr(file.p, '\n', file.len) + 1;
    for (int r = 0; r < N; r++) {
        const char *nl = memchr(line, '\n', (size_t)(file.p + file.len - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(file.p + file.len - line);
        size_t starts[8], lens[8];
        int quoted[8];
        char why[128];
        assert_int_equal(flc_split(line, n, &decoded, starts, lens, quoted, 8, why, sizeof why), 3);
        for (int i = 0; i < 3; i++) {
            const char *in = cells[r * 3 + i];
            strip_controls(in ? in : "", &want);
            if (want.len && i != 1) { /* keys */
                char tmp[4096];
                snprintf(tmp, sizeof tmp, "ЭШ-%s", want.p);
                buf_reset(&want);
                buf_adds(&want, tmp);
            }
            assert_int_equal(lens[i], want.len);
            assert_memory_equal(decoded.p + starts[i], want.p, want.len);
            assert_int_equal(quoted[i], want.len > 0 || i == 0 || i == 1);
        }
        line = nl ? nl + 1 : NULL;
    }
    assert_null(line);
    for (int i = 0; i < N * 3; i++)
        buf_free(&texts[i]);
    buf_free(&file);
    buf_free(&decoded);
    buf_free(&want);
}

/* The writer keeps one record in memory: its buffers do not grow with
 * the number of records. */
static rdm_rc count_only(void *ud, const char *data, size_t len, rdm_err *err)
{
    (void)data;
    (void)err;
    *(unsigned long long *)ud += len;
    return RDM_OK;
}

static void test_streams(void **st)
{
    (void)st;
    const prof_entity *e = profile_entity(&prof, "TYPES");
    efft_writer w;
    rdm_err err;
    unsigned long long bytes = 0;
    size_t cap_after_first = 0;
    char id[32];
    efft_val v[11] = {{id, 0},
                      {"text", 4},
                      {"1", 1},
                      {"1", 1},
                      {"2024-01-01", 10},
                      {"2024-01-01", 10},
                      {"1.5", 3},
                      {"r", 1},
                      {"hash me", 7},
                      {"3", 1},
                      {"4", 1}};
    assert_int_equal(efft_begin(&w, e, "ESH", count_only, &bytes, &err), RDM_OK);
    for (int i = 0; i < 200000; i++) {
        v[0].len = (size_t)snprintf(id, sizeof id, "%d", i);
        assert_int_equal(efft_record(&w, v, &err), RDM_OK);
        if (i == 0)
            cap_after_first = w.line.cap + w.value.cap;
    }
    assert_int_equal(w.records, 200000);
    assert_true(w.bytes == bytes);
    assert_true(bytes > 200000ULL * 300);
    assert_true(w.line.cap + w.value.cap <= cap_after_first * 2);
    efft_end(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_md_example),  cmocka_unit_test(test_golden_files),
        cmocka_unit_test(test_value_rules),        cmocka_unit_test(test_invalid_utf8_named),
        cmocka_unit_test(test_property_roundtrip), cmocka_unit_test(test_streams),
    };
    return cmocka_run_group_tests(tests, load_profile, free_profile);
}
