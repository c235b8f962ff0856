/* test_ini.c - the configparser-dialect INI parser, edge case by edge case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/ini.h"

#include <stdio.h>
#include <string.h>

/* Collects events as "L:section|key=value" lines ("L:[section]" for headers). */
typedef struct sink {
    char out[4096];
    size_t n;
} sink;

static rdm_rc collect(void *ud, const ini_entry *e, rdm_err *err)
{
    sink *s = ud;
    (void)err;
    int w;
    if (e->key)
        w = snprintf(s->out + s->n, sizeof s->out - s->n, "%d:%s|%s=%s\n", e->line, e->section,
                     e->key, e->value);
    else
        w = snprintf(s->out + s->n, sizeof s->out - s->n, "%d:[%s]\n", e->line, e->section);
    s->n += (size_t)w;
    return RDM_OK;
}

static rdm_rc parse(const char *text, sink *s, rdm_err *err)
{
    memset(s, 0, sizeof *s);
    rdm_err_clear(err);
    return ini_parse(text, strlen(text), collect, s, err);
}

static void ok(const char *text, const char *expect)
{
    sink s;
    rdm_err err;
    rdm_rc rc = parse(text, &s, &err);
    if (rc)
        fail_msg("unexpected error: %s", err.msg);
    assert_string_equal(s.out, expect);
}

static void bad(const char *text, const char *needle)
{
    sink s;
    rdm_err err;
    assert_int_equal(parse(text, &s, &err), RDM_ERR_PARSE);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_delimiters(void **st)
{
    (void)st;
    ok("[a]\nK = v\nK2=v2\nK3: v3\nK4 :v4\n", "1:[a]\n2:a|K=v\n3:a|K2=v2\n4:a|K3=v3\n5:a|K4=v4\n");
    /* the first of '=' or ':' splits */
    ok("[u]\nURL = http://localhost:8090\nX: a=b\n",
       "1:[u]\n2:u|URL=http://localhost:8090\n3:u|X=a=b\n");
}

static void test_comments_and_empty(void **st)
{
    (void)st;
    ok("# c\n; c\n[a]\n  # indented comment\n# K = commented out\nE =\nF=\n",
       "3:[a]\n6:a|E=\n7:a|F=\n");
    /* inline comments are part of the value, as configparser's default */
    ok("[a]\nK = 1 # one\n", "1:[a]\n2:a|K=1 # one\n");
    /* values with * and / */
    ok("[t]\nMINUTE=*/2\n", "1:[t]\n2:t|MINUTE=*/2\n");
}

static void test_line_endings_bom(void **st)
{
    (void)st;
    ok("\xEF\xBB\xBF[a]\r\nK = v\r\nL=w", "1:[a]\n2:a|K=v\n3:a|L=w\n");
    ok("[a]\nK = v  \t\n", "1:[a]\n2:a|K=v\n");
}

static void test_continuation(void **st)
{
    (void)st;
    ok("[a]\nK = one\n  two\n\tthree\nL = x\n", "1:[a]\n2:a|K=one\ntwo\nthree\n5:a|L=x\n");
    /* a comment inside does not end the value; a blank line does when no
     * deeper indented line follows it, and belongs to it when one does
     * (configparser's empty_lines_in_values) */
    ok("[a]\nK = one\n# c\n  two\n\nL = x\n", "1:[a]\n2:a|K=one\ntwo\n6:a|L=x\n");
    ok("[a]\nDSN = host=db user=rdm\n\n   password=x\nL = y\n\n",
       "1:[a]\n2:a|DSN=host=db user=rdm\n\npassword=x\n5:a|L=y\n");
    /* keys at the same indentation are separate keys, indented or not */
    ok("[a]\n  K = 1\n  L = 2\n", "1:[a]\n2:a|K=1\n3:a|L=2\n");
}

/* configparser's BasicInterpolation: %% and %(name)s, from the section or
 * [DEFAULT], case-insensitive, nested; a lone % or an unknown name is an
 * error naming line, section and key (never the value) */
static void test_interpolation(void **st)
{
    (void)st;
    ok("[a]\nPASSWORD = p%%ss\nNAME = Gymnasium 100%% online\n",
       "1:[a]\n2:a|PASSWORD=p%ss\n3:a|NAME=Gymnasium 100% online\n");
    ok("[DEFAULT]\nhost = dm.region.ru\n[u]\nURL = https://%(HOST)s:%(port)s\nport = 8090\n",
       "1:[DEFAULT]\n2:DEFAULT|host=dm.region.ru\n3:[u]\n4:u|URL=https://dm.region.ru:8090\n"
       "5:u|port=8090\n");
    ok("[a]\nX = %(y)s!\nY = %(z)s%%\nZ = 1\n", "1:[a]\n2:a|X=1%!\n3:a|Y=1%\n4:a|Z=1\n");
    bad("[c]\nPASSWORD = 50%off\n", "line 2: [c] PASSWORD: a '%' must be followed by");
    bad("[c]\nURL = %(nohost)s/x\n",
        "line 2: [c] URL: %(nohost)s names no key of [c] or [DEFAULT]");
    bad("[c]\nA = %(b)s\nB = %(a)s\n", "nest more than 10 deep");
    {
        sink s;
        rdm_err err;
        assert_int_equal(parse("[c]\nPASSWORD = S3cret%x\n", &s, &err), RDM_ERR_PARSE);
        assert_null(strstr(err.msg, "S3cret"));
    }
}

static void test_sections(void **st)
{
    (void)st;
    ok("[rmd_general]\nX=1\n[b] trailing\nY=2\n",
       "1:[rmd_general]\n2:rmd_general|X=1\n3:[b]\n4:b|Y=2\n");
}

static void test_errors(void **st)
{
    (void)st;
    bad("K = v\n", "line 1: key outside any section");
    bad("[a]\njust words\n", "line 2 in [a]: expected 'KEY = value'");
    {
        /* the line is not echoed: it may be a password with its '=' lost */
        sink s;
        rdm_err err;
        assert_int_equal(parse("[c]\nPASSWORD  S3cretPw\n", &s, &err), RDM_ERR_PARSE);
        assert_null(strstr(err.msg, "S3cretPw"));
    }
    bad("[a]\nK = \xd8\xea\xee\xeb\xe0\n", "line 2: not UTF-8 text");
    bad("[a\nK=v\n", "line 1: section header without ']'");
    bad("[]\n", "line 1: empty section name");
    bad("[a]\n = v\n", "line 2: empty key");
    {
        sink s;
        rdm_err err;
        const char t[] = "[a]\nK=v\n\0x\n";
        assert_int_equal(ini_parse(t, sizeof t - 1, collect, &s, &err), RDM_ERR_PARSE);
        assert_non_null(strstr(err.msg, "line 3: NUL byte"));
    }
}

static rdm_rc stop_at_key(void *ud, const ini_entry *e, rdm_err *err)
{
    (void)ud;
    if (e->key)
        return rdm_fail(err, RDM_ERR_CONFIG, "stop at %d", e->line);
    return RDM_OK;
}

static void test_callback_stops(void **st)
{
    (void)st;
    rdm_err err;
    const char *t = "[a]\nK=1\nL=2\n";
    assert_int_equal(ini_parse(t, strlen(t), stop_at_key, NULL, &err), RDM_ERR_CONFIG);
    assert_string_equal(err.msg, "stop at 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delimiters),       cmocka_unit_test(test_comments_and_empty),
        cmocka_unit_test(test_line_endings_bom), cmocka_unit_test(test_continuation),
        cmocka_unit_test(test_sections),         cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_errors),           cmocka_unit_test(test_callback_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
