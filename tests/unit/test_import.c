/* test_import.c - dumps and bundles into a real SQLite store, and collect's
 * change detection: CREATE, UPDATE, DELETE, nothing twice, nothing half. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tmpdir.h"

#include "agent/collect.h"
#include "agent/import.h"
#include "agent/manifest.h"
#include "base/sha256.h"
#include "base/log.h"
#include "base/plat.h"
#include "storage/landfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utime.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static store *st;
static profile prof;
static rdm_config cfg;

static void write_file(const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

static void config(const char *ini)
{
    rdm_err err;
    cfg_free(&cfg);
    assert_int_equal(cfg_load_buffer(&cfg, "/t/t.ini", ini, strlen(ini), NULL, NULL, &err), RDM_OK);
}

static int setup(void **s)
{
    (void)s;
    rdm_err err;
    if (test_mkdtemp(dir, sizeof dir, "rdm-test-import"))
        return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/rdm-agent.db", dir);
    if (store_open(path, STORE_CREATE | STORE_MIGRATE, 1000, &st, NULL, &err) ||
        profile_load(&prof, RDM_TEST_DATA "/profiles/dump.json", ".", "", &err))
        return -1;
    memset(&cfg, 0, sizeof cfg);
    config("[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = T\nCOLLECT_CHUNK_SIZE = 3\n");
    log_set_level(LOG_ERROR);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    store_close(st);
    profile_free(&prof);
    cfg_free(&cfg);
    return test_rmtree(dir);
}

static rdm_rc import(const char *name, int partial, int skip, import_stats *s, rdm_err *err)
{
    char path[512];
    import_opts o = {skip, partial};
    memset(s, 0, sizeof *s);
    rdm_err_clear(err);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return import_path(st, &prof, &cfg, path, &o, s, err);
}

static long long q(const char *sql)
{
    sqlite3_stmt *s;
    long long v = -1;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL))
        fail_msg("%s: %s", sql, sqlite3_errmsg(store_db(st)));
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void collect(long long created, long long updated, long long deleted)
{
    collect_stats s;
    rdm_err err;
    if (collect_run(st, &prof, &cfg, &s, &err))
        fail_msg("collect: %s", err.msg);
    if (s.created != created || s.updated != updated || s.deleted != deleted)
        fail_msg("collect: %lld created, %lld updated, %lld deleted; wanted %lld, %lld, %lld",
                 s.created, s.updated, s.deleted, created, updated, deleted);
}

static void import_ok(const char *name, const char *text, long long rows)
{
    import_stats s;
    rdm_err err;
    write_file(name, text);
    if (import(name, 0, 0, &s, &err))
        fail_msg("import %s: %s", name, err.msg);
    assert_int_equal(s.rows, rows);
}

static rdm_rc count_file(void *ud, const char *name, rdm_err *err)
{
    (void)name, (void)err;
    ++*(int *)ud;
    return RDM_OK;
}

/* Files in the land directory (land files of sources not yet collected). */
static int land_files(void)
{
    char land[600];
    int n = 0;
    rdm_err err;
    snprintf(land, sizeof land, "%s/land", dir);
    if (plat_exists(land) && plat_listdir(land, count_file, &n, &err))
        fail_msg("%s: %s", land, err.msg);
    return n;
}

static void import_bad(const char *name, const char *text, const char *needle)
{
    import_stats s;
    rdm_err err;
    long long before = q("SELECT count(*) FROM import_source");
    long long tables = q("SELECT count(*) FROM sqlite_master");
    write_file(name, text);
    rdm_rc rc = import(name, 0, 0, &s, &err);
    if (rc == RDM_OK || !strstr(err.msg, needle))
        fail_msg("wanted '%s', got rc %d: %s", needle, rc, err.msg);
    /* no trace */
    assert_int_equal(q("SELECT count(*) FROM import_source"), before);
    assert_int_equal(q("SELECT count(*) FROM sqlite_master"), tables);
    assert_int_equal(land_files(), q("SELECT count(*) FROM import_source WHERE phase < 3"));
}

#define HDR "id;name;born;active;score;seen;Примечание\n"

static void test_changes(void **s)
{
    (void)s;
    import_stats is;
    rdm_err err;
    import_ok("person.csv",
              HDR "1;Анна;2010-05-01;1;4.5;2024-01-01 10:00:00;\n"
                  "2;Борис;02.03.2011;нет;3,75;2024-01-01T10:00:00+03:00;x\n"
                  "3;Вера;;;;;\n",
              3);
    collect(3, 0, 0);
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE \"rdm:op\" = 1"), 3);
    /* values normalised: DD.MM.YYYY, нет, decimal comma, offset dropped */
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE id = 2 AND born = "
                       "'2011-03-02' AND active = 0 AND score = '3.75' AND seen = '2024-01-01 "
                       "10:00:00'"),
                     1);
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE id = 3 AND born IS NULL "
                       "AND name = 'Вера'"),
                     1);
    /* the same file again: recognised, nothing done */
    assert_int_equal(import("person.csv", 0, 0, &is, &err), RDM_OK);
    assert_int_equal(is.known, 1);
    assert_int_equal(is.files, 0);
    collect(0, 0, 0);
    /* an update, a delete, a create */
    import_ok("person.csv",
              HDR "1;Анна;2010-05-01;1;4.5;2024-01-01 10:00:00;\n"
                  "2;Борис Б.;02.03.2011;нет;3,75;2024-01-01T10:00:00+03:00;x\n"
                  "4;Глеб;;;;;\n",
              3);
    long long chg_before = q("SELECT max(\"rdm:chg\") FROM \"rdm:stg:person\"");
    collect(1, 1, 1);
    assert_int_equal(q("SELECT \"rdm:op\" FROM \"rdm:stg:person\" WHERE id = 2"), 2);
    assert_int_equal(q("SELECT \"rdm:op\" FROM \"rdm:stg:person\" WHERE id = 3"), 3);
    assert_int_equal(q("SELECT \"rdm:op\" FROM \"rdm:stg:person\" WHERE id = 4"), 1);
    assert_true(q("SELECT min(\"rdm:chg\") FROM \"rdm:stg:person\" WHERE id IN (2, 3, 4)") >
                chg_before);
    assert_int_equal(q("SELECT \"rdm:chg\" FROM \"rdm:stg:person\" WHERE id = 1"), 1);
    /* same rows, other bytes (CRLF, order, spelling of values): 0 changes */
    import_ok("person.csv",
              "id;name;born;active;score;seen;Примечание\r\n"
              "4;Глеб;;;;;\r\n"
              "2;Борис Б.;2011-03-02;0;3.75;2024-01-01 10:00:00;x\r\n"
              "1;Анна;01.05.2010;true;4.5;2024-01-01T10:00:00;\r\n",
              3);
    collect(0, 0, 0);
    /* a deleted key comes back: CREATE again */
    import_ok("person.csv", HDR "1;Анна;2010-05-01;1;4.5;2024-01-01 10:00:00;\n3;Вера;;;;;\n", 2);
    collect(1, 0, 2);
    assert_int_equal(q("SELECT \"rdm:op\" FROM \"rdm:stg:person\" WHERE id = 3"), 1);
    /* A, B, then A again: the third is a change (A's state back), not a
     * file "already imported"; the same as a partial dump, then as a
     * full one: the full one deletes */
    import_ok("person.csv", HDR "1;A;;;;;\n5;E;;;;;\n", 2);
    collect(1, 1, 1); /* 5 created, 1 updated, 3 deleted */
    import_ok("person.csv", HDR "1;A;;;;;\n", 1);
    collect(0, 0, 1);
    write_file("person.csv", HDR "1;A;;;;;\n5;E;;;;;\n");
    assert_int_equal(import("person.csv", 0, 0, &is, &err), RDM_OK);
    assert_int_equal(is.known, 0);
    collect(1, 0, 0); /* 5 back */
    write_file("person.csv", HDR "5;E;;;;;\n");
    assert_int_equal(import("person.csv", 1, 0, &is, &err), RDM_OK);
    collect(0, 0, 0);
    assert_int_equal(import("person.csv", 0, 0, &is, &err), RDM_OK);
    assert_int_equal(is.known, 0);
    collect(0, 0, 1); /* 1 deleted */
    assert_int_equal(import("person.csv", 0, 0, &is, &err), RDM_OK);
    assert_int_equal(is.known, 1); /* the last source, the same way: nothing new */
    /* every collected source removed its land file */
    assert_int_equal(land_files(), 0);
    assert_int_equal(q("SELECT count(*) FROM collect_stage WHERE status != 'FINISHED'"), 0);
}

static void test_partial_and_composite(void **s)
{
    (void)s;
    import_stats is;
    rdm_err err;
    import_ok("pair.csv", "a;b;v\nx;1;one\nx;2;two\ny;1;three\n", 3);
    collect(3, 0, 0);
    write_file("pair.csv", "a;b;v\nx;2;TWO\n");
    assert_int_equal(import("pair.csv", 1, 0, &is, &err), RDM_OK);
    collect(0, 1, 0); /* partial: x;1 and y;1 stay */
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:pair\" WHERE \"rdm:op\" != 3"), 3);
    import_bad("pair.csv", "a;b;v\nx;1;a\ny;1;b\nx;01;c\n",
               "pair.csv:4: key 'x\x1f"
               "1' appears again (first on line 2)");
}

/* A snapshot's deletions with integer keys far beyond any bitmap (the
 * staged rowid is the key): noted in a temporary table, not in gigabytes
 * of bits (a key of 2^40 made collect ask for 137 GB). */
static void test_large_int_keys(void **s)
{
    (void)s;
    import_ok("person.csv",
              HDR "1;A;;;;;\n1099511627776;B;;;;;\n4611686018427387904;C;;;;;\n"
                  "-5;D;;;;;\n",
              4);
    collect(4, 0, 0);
    import_ok("person.csv", HDR "1099511627776;B;;;;;\n7;E;;;;;\n", 2);
    collect(1, 0, 3); /* 1, 2^62 and -5 deleted; 7 new; 2^40 unchanged */
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE \"rdm:op\" = 3 AND id IN "
                       "(1, 4611686018427387904, -5)"),
                     3);
    assert_int_equal(q("SELECT \"rdm:op\" FROM \"rdm:stg:person\" WHERE id = 1099511627776"), 1);
    /* the same rows again: nothing to do, the far rowid still held */
    import_ok("person.csv", HDR "7;E;;;;;\n1099511627776;B;;;;;\n", 2);
    collect(0, 0, 0);
    /* key 0 is kept at rowid 0: found again, updated, deleted (it was
     * taken for absent, and every later collect failed) */
    import_ok("person.csv", HDR "0;Z;;;;;\n7;E;;;;;\n", 2);
    collect(1, 0, 1);
    import_ok("person.csv", HDR "0;Z;;;;;\n7;E;;;;;\n1;A;;;;;\n", 3);
    collect(1, 0, 0);
    import_ok("person.csv", HDR "0;Y;;;;;\n1;A;;;;;\n", 2);
    collect(0, 1, 1);
    assert_int_equal(q("SELECT \"rdm:op\" FROM \"rdm:stg:person\" WHERE id = 0"), 2);
    import_ok("person.csv", HDR "1;A;;;;;\n", 1);
    collect(0, 0, 1);
    assert_int_equal(q("SELECT \"rdm:op\" FROM \"rdm:stg:person\" WHERE id = 0"), 3);
}

/* Spaces around an unquoted text stay (as the product wrote them, and as
 * PostgreSQL gives them); around a typed value and a header name they go. */
static void test_spaces(void **s)
{
    (void)s;
    import_ok("person.csv",
              " id ;name;born;active;score;seen;Примечание\n"
              " 5 ;  Анна  ; 2020-01-02 ;\t1 ;;;\n6;\"  Б \";;;;;\n",
              2);
    collect(2, 0, 0);
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE id = 5 AND name = '  Анна  ' "
                       "AND born = '2020-01-02' AND active = 1"),
                     1);
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE id = 6 AND name = '  Б '"),
                     1);
}

/* A bundle's file is opened only while it is a plain file: a link or a
 * FIFO swapped in after the listing is refused, and a FIFO does not hang. */
static void test_open_plain(void **s)
{
    (void)s;
    char path[1024], link[1024], fifo[1024];
    FILE *f = NULL;
    rdm_err err;
    write_file("plain.csv", "a\n");
    snprintf(path, sizeof path, "%s/plain.csv", dir);
    assert_int_equal(plat_open_plain(path, &f, &err), RDM_OK);
    assert_non_null(f);
    assert_int_equal(fgetc(f), 'a');
    fclose(f);
#ifndef _WIN32
    snprintf(link, sizeof link, "%s/link.csv", dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(plat_open_plain(link, &f, &err), RDM_ERR_PARSE);
    assert_null(f);
    assert_non_null(strstr(err.msg, "a symbolic link"));
    snprintf(fifo, sizeof fifo, "%s/fifo.csv", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(plat_open_plain(fifo, &f, &err), RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "not a plain file"));
#else
    (void)link, (void)fifo;
#endif
}

static void test_bad_files(void **s)
{
    (void)s;
    import_bad("person.csv", HDR "1;A;2024-13-01;1;;;\n",
               "person.csv:2: column born: '2024-13-01' is not a date");
    import_bad("person.csv", HDR "1;A;;1;;;\n2;B;;maybe;;;\n",
               "person.csv:3: column active: 'maybe' is not a boolean");
    import_bad("person.csv", HDR "x;A;;;;;\n", "person.csv:2: column id: 'x' is not an integer");
    import_bad("person.csv", HDR "1;A;;;;\n", "person.csv:2: 6 fields, the header has 7");
    import_bad("person.csv", HDR ";A;;;;;\n", "person.csv:2: column id: key column is empty");
    /* an integer key is the staged rowid: it must fit 64 bits */
    import_bad("person.csv", HDR "-9223372036854775808;A;;;;;\n9223372036854775808;B;;;;;\n",
               "person.csv:3: column id: '9223372036854775808' is beyond a 64-bit integer");
    /* any integer column: past 64 bits SQLite would store a REAL */
    import_bad("pair.csv", "a;b;v\nx;9223372036854775807;one\ny;9223372036854775808;two\n",
               "pair.csv:3: column b: '9223372036854775808' is beyond a 64-bit integer");
    import_bad("person.csv", HDR "1;\"A;;;;;\n", "person.csv:2: the file ends inside a quoted");
    import_bad("person.csv", "name;born\nA;2020-01-01\n",
               "person.csv:1: the header lacks column 'id' of model person");
    import_bad("person.csv", "id;id;name\n1;1;A\n",
               "person.csv:1: column 'id' appears twice in the header (columns 1 and 2)");
    import_bad("person.csv", "", "person.csv: the file is empty");
    import_bad("person.csv", HDR "1;\xC0\xEB\xFF;;;;;\n",
               "person.csv:2: byte 3 (0xC0) is not "
               "valid UTF-8");
    import_bad("nobody.csv", "a\n1\n",
               "no model of the profile reads a file of this name "
               "(expected one of: person.csv, pair.csv)");
    /* with --skip-bad-rows the good rows land and the bad ones wait in quarantine */
    import_stats is;
    rdm_err err;
    write_file("person.csv", HDR "1;A;;;;;\n2;B;2024-13-01;;;;\n3;C;;;;;\n3;D;;;;;\n4;E;\n");
    assert_int_equal(import("person.csv", 0, 1, &is, &err), RDM_OK);
    assert_int_equal(is.rows, 2);
    assert_int_equal(is.rejected, 3);
    assert_int_equal(q("SELECT count(*) FROM quarantine"), 3);
    assert_int_equal(q("SELECT line FROM quarantine WHERE field = 'born'"), 3);
    assert_int_equal(q("SELECT count(*) FROM quarantine WHERE line = 5 AND reason LIKE "
                       "'%appears again (first on line 4)%'"),
                     1);
    assert_int_equal(q("SELECT rejected FROM import_source"), 3);
    collect(2, 0, 0);
    /* of a repeated key, the first row is staged */
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE id = 3 AND name = 'C'"), 1);
    /* a full snapshot whose row 3 is quarantined (a typo in a date) deletes
     * nothing: key 3 is not gone; 4 is new, 1 updated */
    write_file("person.csv", HDR "1;A2;;;;;\n3;C;2024-02-31;;;;\n4;E;;;;;\n");
    assert_int_equal(import("person.csv", 0, 1, &is, &err), RDM_OK);
    assert_int_equal(is.rejected, 1);
    collect(1, 1, 0);
    assert_int_equal(q("SELECT \"rdm:op\" FROM \"rdm:stg:person\" WHERE id = 3"), 1);
    /* fixed, the same snapshot deletes what it lacks */
    write_file("person.csv", HDR "1;A2;;;;;\n4;E;;;;;\n");
    assert_int_equal(import("person.csv", 0, 0, &is, &err), RDM_OK);
    collect(0, 0, 1);
}

static void test_cp1251_and_extra_columns(void **s)
{
    (void)s;
    config("[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = T\n[source]\nENCODING = cp1251\n"
           "DELIMITER = ,\n");
    /* "Примечание" in cp1251, an extra column, a decimal with a dot */
    import_ok("person.csv",
              "id,name,\xCF\xF0\xE8\xEC\xE5\xF7\xE0\xED\xE8\xE5,extra\n"
              "1,\xDF\xED\xE0,\xB9 5,zzz\n",
              1);
    collect(1, 0, 0);
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE name = 'Яна' AND note = "
                       "'№ 5'"),
                     1);
    /* a UTF-8 file where Windows-1251 is set would pass garbled: refused */
    import_bad("person.csv", "id,name,Примечание\n2,Пётр,\n",
               "person.csv:1: the file is UTF-8, not Windows-1251 as set");
    import_bad("person.csv", "id,name\n2,Пётр Сергеевич\n",
               "person.csv:2: the file is UTF-8, not Windows-1251 as set");
    /* Windows-1251 with ё and № after capitals ("Ёлка", "№") still passes */
    import_ok("person.csv", "id,name\n3,\xA8\xEB\xEA\xE0 \xB9 \xC2\xB8\n", 1);
}

static void write_manifest(const char *sub, const char *const *names, int n, int corrupt)
{
    char path[512], sha[SHA256_HEX], buf[4096] = "{\"files\": [";
    rdm_err err;
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s/%s", dir, sub, names[i]);
        if (sha256_file(path, sha, NULL, &err))
            snprintf(sha, sizeof sha, "%064d", 0);
        if (corrupt && i == n - 1)
            sha[0] = sha[0] == 'a' ? 'b' : 'a';
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
                 "%s{\"name\": \"%s\", \"sha256\": "
                 "\"%s\"}",
                 i ? ", " : "", names[i], sha);
    }
    strcat(buf, "]}");
    snprintf(path, sizeof path, "%s/manifest.json", sub);
    write_file(path, buf);
}

static void test_bundles(void **s)
{
    (void)s;
    import_stats is;
    rdm_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/stick", dir);
    assert_int_equal(plat_mkdirs(path, &err), RDM_OK);
    write_file("stick/person.csv", HDR "1;A;;;;;\n");
    write_file("stick/pair.csv", "a;b;v\nx;1;v\n");
    static const char *const both[] = {"person.csv", "pair.csv"};
    /* a damaged copy: nothing imported */
    write_manifest("stick", both, 2, 1);
    assert_int_equal(import("stick", 0, 0, &is, &err), RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "pair.csv: SHA-256 is"));
    assert_non_null(strstr(err.msg, "the manifest says"));
    assert_int_equal(q("SELECT count(*) FROM import_source"), 0);
    /* one bad file: the whole bundle refused */
    write_file("stick/pair.csv", "a;b;v\nx;one;v\n");
    write_manifest("stick", both, 2, 0);
    assert_int_equal(import("stick", 0, 0, &is, &err), RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "pair.csv:2: column b: 'one' is not an integer"));
    assert_int_equal(q("SELECT count(*) FROM import_source"), 0);
    assert_int_equal(q("SELECT count(*) FROM sqlite_master WHERE name LIKE 'rdm:%'"), 0);
    /* the first file's land file, left: an hour later a collect removes it
     * (an import may still be under way before) */
    assert_int_equal(land_files(), 1);
    collect(0, 0, 0);
    assert_int_equal(land_files(), 1);
    snprintf(path, sizeof path, "%s/land/1.rows", dir);
    struct utimbuf old = {time(NULL) - 7200, time(NULL) - 7200};
    assert_int_equal(utime(path, &old), 0);
    collect(0, 0, 0);
    assert_int_equal(land_files(), 0);
    /* good: both in one go; again: both known */
    write_file("stick/pair.csv", "a;b;v\nx;1;v\n");
    write_manifest("stick", both, 2, 0);
    assert_int_equal(import("stick", 0, 0, &is, &err), RDM_OK);
    assert_int_equal(is.files, 2);
    assert_int_equal(import("stick", 0, 0, &is, &err), RDM_OK);
    assert_int_equal(is.known, 2);
    assert_int_equal(q("SELECT count(*) FROM import_source WHERE bundle IS NOT NULL"), 2);
    collect(2, 0, 0);
    /* paths that leave the bundle, symlinks */
    write_file("stick/manifest.json",
               "{\"files\": [{\"name\": \"../person.csv\", \"sha256\": "
               "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}");
    assert_int_equal(import("stick", 0, 0, &is, &err), RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "'../person.csv' leaves the bundle"));
    snprintf(path, sizeof path, "%s/stick/manifest.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/stick/person.csv", dir);
    unlink(path);
    char target[512];
    snprintf(target, sizeof target, "%s/secret.csv", dir);
    write_file("secret.csv", HDR "9;S;;;;;\n");
#ifndef _WIN32 /* symbolic links need a privilege on Windows */
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(import("stick", 0, 0, &is, &err), RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "is a symbolic link"));
#endif
    /* without a manifest: the files a model reads; others ignored */
    unlink(path);
    write_file("stick/person.csv", HDR "1;A;;;;;\n2;B;;;;;\n");
    write_file("stick/readme.txt", "hello");
    assert_int_equal(import("stick", 0, 0, &is, &err), RDM_OK);
    assert_int_equal(is.files, 1);
    assert_int_equal(is.known, 1);
    collect(1, 0, 0);
}

static void test_chunks_and_stages(void **s)
{
    (void)s;
    char text[4096] = HDR;
    for (int i = 1; i <= 10; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%d;n%d;;;;;\n", i, i);
    import_ok("person.csv", text, 10);
    collect(10, 0, 0);
    /* COLLECT_CHUNK_SIZE = 3: 4 sub-stages, chained, with one change number each */
    assert_int_equal(q("SELECT count(*) FROM collect_substage WHERE status = 'READY_TO_EXPORT'"),
                     4);
    assert_int_equal(q("SELECT count(*) FROM collect_substage WHERE previous_id IS NOT NULL"), 3);
    assert_int_equal(q("SELECT count(DISTINCT \"rdm:chg\") FROM \"rdm:stg:person\""), 4);
    assert_int_equal(q("SELECT sum(rows) FROM collect_substage"), 10);
    assert_int_equal(q("SELECT status = 'FINISHED' FROM collect_stage"), 1);
    /* deletes in chunks too */
    import_ok("person.csv", HDR "5;n5;;;;;\n", 1);
    collect(0, 0, 9);
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE \"rdm:op\" = 3"), 9);
}

/* A source whose land file is gone (deleted, a disk fault) is ended
 * unread: the collect fails saying so, the sources after it are collected,
 * and the same file may be imported again. (It held up every later
 * source for ever, and its re-import was refused as already imported.) */
static void test_land_file_lost(void **s)
{
    (void)s;
    collect_stats cs;
    rdm_err err;
    char land[600];
    import_ok("person.csv", HDR "1;A;;;;;\n2;B;;;;;\n", 2);
    import_ok("pair.csv", "a;b;v\nx;1;one\n", 1);
    long long src = q("SELECT min(id) FROM import_source");
    snprintf(land, sizeof land, "%s/land/%lld.rows", dir, src);
    assert_int_equal(remove(land), 0);
    assert_int_equal(collect_run(st, &prof, &cfg, &cs, &err), RDM_ERR_IO);
    assert_non_null(strstr(err.msg, "are missing"));
    assert_non_null(strstr(err.msg, "import the file again"));
    assert_int_equal(cs.created, 1); /* the pair */
    assert_int_equal(q("SELECT count(*) FROM import_source WHERE phase < 3"), 0);
    assert_int_equal(q("SELECT status = 'FAILED' FROM collect_stage ORDER BY id DESC LIMIT 1"), 1);
    /* the next collect has nothing left to do and finishes */
    collect(0, 0, 0);
    /* the same file again: landed and collected */
    import_ok("person.csv", HDR "1;A;;;;;\n2;B;;;;;\n", 2);
    collect(2, 0, 0);
    assert_int_equal(land_files(), 0);
}

/* A land file cut between two records (or anywhere) is damaged: the
 * source is ended where it breaks, the snapshot deletes nothing (without
 * the end record, the keys after the cut looked gone), the sources after
 * it are collected, and the same file can be imported again. */
static void test_land_file_damaged(void **s)
{
    (void)s;
    collect_stats cs;
    rdm_err err;
    char land[600];
    import_ok("person.csv", HDR "1;A;;;;;\n2;B;;;;;\n3;C;;;;;\n", 3);
    collect(3, 0, 0);
    import_ok("person.csv", HDR "1;A2;;;;;\n2;B;;;;;\n3;C;;;;;\n", 3);
    import_ok("pair.csv", "a;b;v\nx;1;one\n", 1);
    long long src =
        q("SELECT id FROM import_source WHERE model = 'person' ORDER BY id DESC LIMIT 1");
    snprintf(land, sizeof land, "%s/land/%lld.rows", dir, src);
    /* keep the header and the first record only */
    land_reader *r;
    static land_row row;
    assert_int_equal(land_reader_open(land, 7, 0, &r, &err), RDM_OK);
    assert_int_equal(land_next(r, &row, NULL, &err), RDM_OK);
    long long keep = land_reader_offset(r);
    land_reader_close(r);
    FILE *f = fopen(land, "rb");
    char *b = malloc((size_t)keep);
    assert_non_null(f);
    assert_int_equal(fread(b, 1, (size_t)keep, f), (size_t)keep);
    fclose(f);
    assert_non_null(f = fopen(land, "wb"));
    assert_int_equal(fwrite(b, 1, (size_t)keep, f), (size_t)keep);
    fclose(f);
    free(b);

    assert_int_equal(collect_run(st, &prof, &cfg, &cs, &err), RDM_ERR_IO);
    assert_non_null(strstr(err.msg, "damaged"));
    assert_non_null(strstr(err.msg, "no end record"));
    assert_non_null(strstr(err.msg, "import the file again"));
    assert_int_equal(cs.deleted, 0);
    assert_int_equal(cs.updated, 1); /* person 1, read before the cut */
    assert_int_equal(cs.created, 1); /* the pair */
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE \"rdm:op\" = 3"), 0);
    assert_int_equal(q("SELECT count(*) FROM import_source WHERE phase < 3"), 0);
    /* the same file again: landed and collected, nothing deleted */
    import_ok("person.csv", HDR "1;A2;;;;;\n2;B;;;;;\n3;C;;;;;\n", 3);
    collect(0, 0, 0);
    assert_int_equal(q("SELECT count(*) FROM \"rdm:stg:person\" WHERE \"rdm:op\" != 3"), 3);
}

/* A column's type changed in the profile (pair.b int -> text): refused,
 * naming the column (it was taken, and values staged before kept the old
 * type: "041" exported as "41"). */
static void test_model_type_changed(void **s)
{
    (void)s;
    import_ok("pair.csv", "a;b;v\nx;1;v\n", 1);
    collect(1, 0, 0);
    profile changed = {0};
    rdm_err err;
    const char *j =
        "{\"models\":[{\"name\":\"pair\",\"key\":[\"a\",\"b\"],\"csv\":{\"file\":\"pair.csv\"},"
        "\"columns\":[{\"name\":\"a\",\"type\":\"text\"},{\"name\":\"b\",\"type\":\"text\"},"
        "{\"name\":\"v\",\"type\":\"text\"}]}]}";
    assert_int_equal(profile_load_buffer(&changed, "c.json", j, strlen(j), &err), RDM_OK);
    import_opts o = {0};
    import_stats is = {0};
    char path[600];
    snprintf(path, sizeof path, "%s/pair.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("a;b;v\ny;041;w\n", f);
    fclose(f);
    assert_int_equal(import_path(st, &changed, &cfg, path, &o, &is, &err), RDM_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "column 'b' is INTEGER in the store's staged table and TEXT"));
    profile_free(&changed);
}

static void test_model_gone(void **s)
{
    (void)s;
    import_ok("pair.csv", "a;b;v\nx;1;v\n", 1);
    profile small = {0};
    rdm_err err;
    const char *j =
        "{\"models\":[{\"name\":\"person\",\"key\":[\"id\"],\"csv\":{\"file\":\"p.csv\"},"
        "\"columns\":[{\"name\":\"id\",\"type\":\"int\"}]}]}";
    assert_int_equal(profile_load_buffer(&small, "s.json", j, strlen(j), &err), RDM_OK);
    collect_stats cs;
    assert_int_equal(collect_run(st, &small, &cfg, &cs, &err), RDM_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "model 'pair', which the profile no longer declares"));
    assert_int_equal(q("SELECT count(*) FROM collect_stage WHERE status = 'FAILED' AND error "
                       "LIKE '%no longer declares%'"),
                     1);
    profile_free(&small);
    /* the lock was released, and the source still waits */
    collect(1, 0, 0);
}

static void test_normalize(void **s)
{
    (void)s;
    rdm_buf b;
    char why[128];
    int isnull;
    buf_init(&b, 1024);
    assert_int_equal(import_normalize(PROF_INT, "+007", 4, 0, &b, &isnull, why, sizeof why),
                     RDM_OK);
    assert_string_equal(b.p, "7");
    assert_int_equal(import_normalize(PROF_INT, "", 0, 0, &b, &isnull, why, sizeof why), RDM_OK);
    assert_true(isnull);
    assert_int_equal(import_normalize(PROF_TEXT, "", 0, 0, &b, &isnull, why, sizeof why), RDM_OK);
    assert_false(isnull);
    assert_int_equal(import_normalize(PROF_DECIMAL, "1,5", 3, 0, &b, &isnull, why, sizeof why),
                     RDM_ERR_PARSE);
    assert_int_equal(import_normalize(PROF_DECIMAL, "1e5", 3, 0, &b, &isnull, why, sizeof why),
                     RDM_ERR_PARSE);
    assert_int_equal(
        import_normalize(PROF_DATETIME, "31.12.2024 23:59", 16, 0, &b, &isnull, why, sizeof why),
        RDM_OK);
    assert_string_equal(b.p, "2024-12-31 23:59:00");
    assert_int_equal(import_normalize(PROF_DATE, "31.02.2024", 10, 0, &b, &isnull, why, sizeof why),
                     RDM_ERR_PARSE);
    buf_free(&b);
    /* NULL and "" hash differently, and so do shifted boundaries */
    const char *v1[] = {NULL}, *v2[] = {""}, *v3[] = {"ab", ""}, *v4[] = {"a", "b"};
    size_t l1[] = {0}, l3[] = {2, 0}, l4[] = {1, 1};
    assert_true(import_row_hash(1, v1, l1) != import_row_hash(1, v2, l1));
    assert_true(import_row_hash(2, v3, l3) != import_row_hash(2, v4, l4));
}

/* the manifest parser alone: what it accepts and what it refuses */
typedef struct mf_seen {
    int n;
    char names[4][64];
    char sha[4][65];
    int partial[4];
} mf_seen;

static rdm_rc mf_add(void *ud, int i, const char *name, const char *sha, int partial, rdm_err *err)
{
    mf_seen *m = ud;
    (void)err;
    assert_int_equal(i, m->n);
    snprintf(m->names[m->n], sizeof m->names[0], "%s", name);
    memcpy(m->sha[m->n], sha, 65);
    m->partial[m->n++] = partial;
    return RDM_OK;
}

static rdm_rc mf(const char *text, mf_seen *m, rdm_err *err)
{
    memset(m, 0, sizeof *m);
    return manifest_parse(text, strlen(text), "b/manifest.json", mf_add, m, err);
}

static void test_manifest(void **s)
{
    (void)s;
    mf_seen m;
    rdm_err err = {{0}};
    const char *h = "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    char ok[512];
    snprintf(ok, sizeof ok,
             "{\"files\": [{\"name\": \"a.csv\", \"sha256\": \"%s\"}, {\"name\": \"b.csv\", "
             "\"sha256\": \"%s\", \"partial\": true, \"x\": 1}], \"made_by\": \"t\"}",
             h, h);
    assert_int_equal(mf(ok, &m, &err), RDM_OK);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.names[1], "b.csv");
    assert_string_equal(m.sha[0],
                        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    assert_int_equal(m.partial[0], 0);
    assert_int_equal(m.partial[1], 1);

    const char *bad[] = {
        "",
        "[]",
        "{\"files\": {}}",
        "{\"files\": [{\"name\": \"a.csv\"}]}",
        "{\"files\": [{\"name\": \"a.csv\", \"sha256\": \"00\"}]}",
        /* 64 characters, not all hex */
        "{\"files\": [{\"name\": \"a.csv\", \"sha256\": "
        "\"g000000000000000000000000000000000000000000000000000000000000000\"}]}",
        "{\"files\": [{\"name\": \"a.csv\", \"partial\": \"yes\", \"sha256\": "
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mf(bad[i], &m, &err), RDM_ERR_PARSE);
        assert_non_null(strstr(err.msg, "b/manifest.json"));
        assert_int_equal(m.n, 0);
    }
    const char *escape[] = {"../a.csv", "/etc/passwd", "x/a.csv", "x\\\\a.csv",
                            "C:a.csv",  "..",          "."};
    for (size_t i = 0; i < sizeof escape / sizeof escape[0]; i++) {
        char t[256];
        snprintf(t, sizeof t,
                 "{\"files\": [{\"name\": \"%s\", \"sha256\": "
                 "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
                 escape[i]);
        assert_int_equal(mf(t, &m, &err), RDM_ERR_PARSE);
        assert_non_null(strstr(err.msg, "leaves the bundle"));
    }
    assert_true(manifest_safe_name("address.csv"));
    assert_false(manifest_safe_name("a\tb.csv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_and_composite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_int_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp1251_and_extra_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunks_and_stages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_land_file_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_land_file_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_type_changed, setup, teardown),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
