/* test_profile.c - the profile loader: the shipped profiles load, and every
 * kind of mistake is refused naming the file and the JSON path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/profile.h"
#include "storage/sqlcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL                                                                                      \
    "{\"name\":\"m\",\"key\":[\"id\"],\"csv\":{\"file\":\"m.csv\"},\"columns\":[{\"name\":\"id\"," \
    "\"type\":\"text\"},{\"name\":\"name\",\"type\":\"text\"}]}"
#define FIELDS "[{\"name\":\"id\",\"type\":\"text\"},{\"name\":\"name\",\"type\":\"text\"}]"

static rdm_rc load(const char *json, rdm_err *err)
{
    profile p = {0};
    rdm_err_clear(err);
    rdm_rc rc = profile_load_buffer(&p, "t.json", json, strlen(json), err);
    profile_free(&p);
    return rc;
}

static void bad(const char *json, const char *needle)
{
    rdm_err err;
    rdm_rc rc = load(json, &err);
    if (rc != RDM_ERR_PARSE || !strstr(err.msg, needle))
        fail_msg("wanted '%s', got rc %d: %s\n  for %s", needle, rc, err.msg, json);
}

/* An entity E over model m with the given extra members. */
static const char *ent(const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"models\":[" MODEL "],\"entities\":[{\"key\":\"E\",\"fields\":" FIELDS
             ",\"models\":[\"m\"]%s}]}",
             extra);
    return buf;
}

static void test_minimal(void **st)
{
    (void)st;
    profile p = {0};
    rdm_err err;
    const char *j = ent(",\"primary_key\":[\"id\"]");
    assert_int_equal(profile_load_buffer(&p, "t.json", j, strlen(j), &err), RDM_OK);
    const prof_entity *e = profile_entity(&p, "E");
    assert_non_null(e);
    assert_string_equal(e->table, "e");
    assert_string_equal(e->select, "SELECT \"id\", \"name\" FROM \"m\"");
    assert_int_equal(e->npk, 1);
    assert_true(e->fields[0].pk && e->fields[0].required);
    profile_free(&p);
}

static void test_syntax_and_members(void **st)
{
    (void)st;
    bad("{\n  \"models\": [\n    {\"name\": }\n]}", "t.json:3:");
    bad("[]", "t.json: $: must be an object");
    bad("{\"entity\":[]}", "t.json: $.entity: unknown member (known: profile, description");
    bad(ent(",\"primary_key\":[\"id\"],\"primarykey\":[]"),
        "$.entities[0].primarykey: unknown member");
    bad("{\"models\":[" MODEL "],\"entities\":[{\"key\":\"E\",\"fields\":[{\"name\":\"id\","
        "\"type\":\"text\",\"requried\":true}],\"primary_key\":[\"id\"],\"models\":[\"m\"]}]}",
        "$.entities[0].fields[0].requried: unknown member (known: name, type, required)");
    bad("{\"models\":[],\"models\":[]}", "$.models: appears twice");
    /* "comment" is allowed anywhere */
    rdm_err err;
    assert_int_equal(load("{\"comment\":\"x\",\"models\":[],\"entities\":[]}", &err), RDM_OK);
}

static void test_fields(void **st)
{
    (void)st;
    bad("{\"models\":[" MODEL "],\"entities\":[{\"key\":\"E\",\"fields\":[{\"name\":\"id\","
        "\"type\":\"strng\"}],\"primary_key\":[\"id\"],\"models\":[\"m\"]}]}",
        "$.entities[0].fields[0].type: unknown type 'strng' (known: text, int, bool, date, "
        "datetime, decimal)");
    static const char *const names[] = {"Name", "1x", "a-b", "", "имя"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char j[2048];
        snprintf(j, sizeof j,
                 "{\"models\":[" MODEL "],\"entities\":[{\"key\":\"E\",\"fields\":[{\"name\":"
                 "\"%s\",\"type\":\"text\"}],\"primary_key\":[\"id\"],\"models\":[\"m\"]}]}",
                 names[i]);
        bad(j, "$.entities[0].fields[0].name: '");
    }
    bad("{\"models\":[" MODEL "],\"entities\":[{\"key\":\"E\",\"fields\":[{\"name\":\"id\","
        "\"type\":\"text\"},{\"name\":\"id\",\"type\":\"int\"}],\"primary_key\":[\"id\"],"
        "\"models\":[\"m\"]}]}",
        "$.entities[0].fields[1].name: field 'id' is declared twice");
    bad("{\"models\":[" MODEL "],\"entities\":[{\"key\":\"E\",\"fields\":[{\"name\":\"id\","
        "\"type\":\"text\",\"required\":\"yes\"}],\"primary_key\":[\"id\"],\"models\":[\"m\"]}]}",
        "$.entities[0].fields[0].required: must be true or false");
}

static void test_key_lists(void **st)
{
    (void)st;
    bad(ent(""), "$.entities[0].primary_key: is required");
    bad(ent(",\"primary_key\":[]"), "$.entities[0].primary_key: must not be empty");
    bad(ent(",\"primary_key\":[\"idd\"]"),
        "$.entities[0].primary_key[0]: unknown field 'idd' (fields: id, name)");
    bad(ent(",\"primary_key\":[\"id\",\"id\"]"), "$.entities[0].primary_key[1]: 'id' is listed "
                                                 "twice");
    bad(ent(",\"primary_key\":[\"id\"],\"foreign_keys\":[\"x\"]"),
        "$.entities[0].foreign_keys[0]: unknown field 'x'");
    bad(ent(",\"primary_key\":[\"id\"],\"hashable\":[\"nm\"]"),
        "$.entities[0].hashable[0]: unknown field 'nm'");
    bad(ent(",\"primary_key\":[\"id\"],\"ignore_prefix\":[\"name\"]"),
        "$.entities[0].ignore_prefix[0]: 'name' is neither a primary nor a foreign key");
    bad(ent(",\"primary_key\":[1]"), "$.entities[0].primary_key[0]: must be a string");
}

static void test_entity_key_and_models(void **st)
{
    (void)st;
    bad("{\"models\":[" MODEL "],\"entities\":[{\"key\":\"address\",\"fields\":" FIELDS
        ",\"primary_key\":[\"id\"],\"models\":[\"m\"]}]}",
        "$.entities[0].key: 'address' is not an entity key");
    bad("{\"models\":[" MODEL "],\"entities\":[{\"key\":\"E\",\"fields\":" FIELDS
        ",\"primary_key\":[\"id\"],\"models\":[\"nope\"]}]}",
        "t.json: $.entities[0].models[0]: unknown model 'nope'");
    bad("{\"models\":[" MODEL "," MODEL "]}", "$.models[1].name: model 'm' is defined twice");
    bad("{\"models\":[" MODEL "],\"entities\":[{\"key\":\"E\",\"fields\":" FIELDS
        ",\"primary_key\":[\"id\"],\"models\":[\"m\"]},{\"key\":\"E\",\"fields\":" FIELDS
        ",\"primary_key\":[\"id\"],\"models\":[\"m\"]}]}",
        "$.entities[1].key: entity 'E' is defined twice");
}

static void test_select(void **st)
{
    (void)st;
    bad(ent(",\"primary_key\":[\"id\"],\"select\":\"SELECT id, name AS nme FROM m\""),
        "$.entities[0].select: column 2 is 'nme' but field 2 of E is 'name'");
    bad(ent(",\"primary_key\":[\"id\"],\"select\":\"SELECT id FROM m\""),
        "$.entities[0].select: returns 1 columns, E has 2 fields");
    bad(ent(",\"primary_key\":[\"id\"],\"select\":\"SELECT id, name, id AS x FROM m\""),
        "returns more columns than the 2 fields of E");
    bad(ent(",\"primary_key\":[\"id\"],\"select\":\"SELEC id FROM m\""),
        "$.entities[0].select: near \"SELEC\": syntax error");
    bad(ent(",\"primary_key\":[\"id\"],\"select\":\"SELECT id, name FROM other\""),
        "no such table: other");
    bad(ent(",\"primary_key\":[\"id\"],\"select\":\"SELECT id, name FROM m; DELETE FROM m\""),
        "only one statement is allowed");
    bad(ent(",\"primary_key\":[\"id\"],\"select\":\"DELETE FROM m\""), "must be a SELECT");
    /* a field that is not a model column needs a select */
    bad("{\"models\":[" MODEL "],\"entities\":[{\"key\":\"E\",\"fields\":[{\"name\":\"id\","
        "\"type\":\"text\"},{\"name\":\"x\",\"type\":\"text\"}],\"primary_key\":[\"id\"],"
        "\"models\":[\"m\"]}]}",
        "$.entities[0]: field 'x' is not a column of model 'm'");
    /* a join over two models with AS names passes */
    rdm_err err;
    const char *two =
        "{\"models\":[" MODEL ",{\"name\":\"group\",\"key\":[\"order\"],\"csv\":{\"file\":"
        "\"g.csv\"},\"columns\":[{\"name\":\"order\",\"type\":\"int\"},{\"name\":\"m_id\","
        "\"type\":\"text\"}]}],\"entities\":[{\"key\":\"E\",\"fields\":[{\"name\":\"id\","
        "\"type\":\"text\"},{\"name\":\"order\",\"type\":\"int\"}],\"primary_key\":[\"id\","
        "\"order\"],\"models\":[\"m\",\"group\"],\"select\":\"SELECT m.id AS id, g.\\\"order\\\" "
        "AS \\\"order\\\" FROM m JOIN \\\"group\\\" g ON g.m_id = m.id\"}]}";
    if (load(two, &err))
        fail_msg("%s", err.msg);
    bad("{\"models\":[" MODEL ",{\"name\":\"n\",\"key\":[\"id\"],\"csv\":{\"file\":\"n.csv\"},"
        "\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]}],\"entities\":[{\"key\":\"E\","
        "\"fields\":" FIELDS ",\"primary_key\":[\"id\"],\"models\":[\"m\",\"n\"]}]}",
        "E reads 2 models: give a \"select\" that joins them");
}

static void test_identifiers_quoted(void **st)
{
    (void)st;
    /* the reference broke on a table named group: every identifier is quoted */
    profile p = {0};
    rdm_err err;
    const char *j = "{\"models\":[{\"name\":\"group\",\"key\":[\"select\"],\"csv\":{\"file\":"
                    "\"group.csv\"},\"columns\":[{\"name\":\"select\",\"type\":\"text\"},"
                    "{\"name\":\"order\",\"type\":\"int\"}]}],\"entities\":[{\"key\":\"GROUP\","
                    "\"fields\":[{\"name\":\"select\",\"type\":\"text\"},{\"name\":\"order\","
                    "\"type\":\"int\"}],\"primary_key\":[\"select\"],\"models\":[\"group\"]}]}";
    if (profile_load_buffer(&p, "t.json", j, strlen(j), &err))
        fail_msg("%s", err.msg);
    assert_string_equal(profile_entity(&p, "GROUP")->select,
                        "SELECT \"select\", \"order\" FROM \"group\"");
    profile_free(&p);
}

/* Names the store needs for itself (review: a column 'rowid' made export
 * loop for ever and collect lose changes; a model 'attachment' made every
 * later export fail, its view hiding the store's table); and the longest
 * names allowed work. */
static void test_reserved_names(void **st)
{
    (void)st;
    static const char *const models[] = {"attachment", "export_substage", "counter", "sqlite_m"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char j[1024];
        snprintf(j, sizeof j,
                 "{\"models\":[{\"name\":\"%s\",\"key\":[\"id\"],\"csv\":{\"file\":\"m.csv\"},"
                 "\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]}]}",
                 models[i]);
        bad(j, "one of the store's own tables");
    }
    static const char *const cols[] = {"rowid", "oid", "_rowid_"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        char j[1024];
        snprintf(j, sizeof j,
                 "{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"csv\":{\"file\":\"m.csv\"},"
                 "\"columns\":[{\"name\":\"id\",\"type\":\"text\"},{\"name\":\"%s\",\"type\":"
                 "\"text\"}]}]}",
                 cols[i]);
        bad(j, "SQLite's name for a row's id");
    }
    /* 63 characters: a model, its columns and an entity over it */
    char name[64], j[2048];
    memset(name, 'm', 63);
    name[63] = 0;
    snprintf(j, sizeof j,
             "{\"models\":[{\"name\":\"%s\",\"key\":[\"%s\"],\"csv\":{\"file\":\"m.csv\"},"
             "\"columns\":[{\"name\":\"%s\",\"type\":\"text\"}]}],\"entities\":[{\"key\":\"E\","
             "\"fields\":[{\"name\":\"%s\",\"type\":\"text\"}],\"models\":[\"%s\"],"
             "\"primary_key\":[\"%s\"]}]}",
             name, name, name, name, name, name);
    rdm_err err;
    rdm_rc rc = load(j, &err);
    if (rc)
        fail_msg("63-character names: %s", err.msg);
}

static void test_models_and_sources(void **st)
{
    (void)st;
    /* two models of one dump file (any case): the second got no data */
    bad("{\"models\":[{\"name\":\"a\",\"key\":[\"id\"],\"csv\":{\"file\":\"x.csv\"},"
        "\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]},{\"name\":\"b\",\"key\":[\"id\"],"
        "\"csv\":{\"file\":\"X.CSV\"},\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]}]}",
        "$.models[1].csv: file 'X.CSV' is already the dump of model 'a'");
    bad("{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"columns\":[{\"name\":\"id\",\"type\":"
        "\"text\"}]}]}",
        "$.models[0]: model 'm' has no source");
    static const char *const files[] = {"../x.csv", "/etc/passwd", "a/b.csv", "a\\\\b.csv",
                                        "C:x.csv",  "..",          ""};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char j[1024];
        snprintf(j, sizeof j,
                 "{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"csv\":{\"file\":\"%s\"},"
                 "\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]}]}",
                 files[i]);
        bad(j, "$.models[0].csv.file: '");
    }
    bad("{\"models\":[{\"name\":\"m\",\"key\":[\"idx\"],\"csv\":{\"file\":\"m.csv\"},"
        "\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]}]}",
        "$.models[0].key[0]: unknown column 'idx' of model 'm'");
    bad("{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"csv\":{\"file\":\"m.csv\",\"encoding\":"
        "\"koi8-r\"},\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]}]}",
        "$.models[0].csv.encoding: 'koi8-r' is not utf-8 or cp1251");
    bad("{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"postgres\":{\"mode\":\"incremental\","
        "\"query\":\"SELECT * FROM t\",\"operation_column\":\"op\"},\"columns\":[{\"name\":\"id\","
        "\"type\":\"text\"}]}]}",
        "$.models[0].postgres.query: an incremental query takes the parameters :since and :until");
    bad("{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"postgres\":{\"mode\":\"audit_log\"},"
        "\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]}]}",
        "$.models[0].postgres.table: audit_log mode names the product table");
    bad("{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"postgres\":{\"mode\":\"audit_log\","
        "\"table\":\"x; drop\"},\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]}]}",
        "$.models[0].postgres.table: 'x; drop' is not a table name");
    bad("{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"postgres\":{\"mode\":\"incremental\","
        "\"query\":\"SELECT * FROM t WHERE x > :sinceX AND x < :until\",\"operation_column\":"
        "\"op\"},\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]}]}",
        "takes the parameters :since and :until");
    bad("{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"postgres\":{\"mode\":\"snapshot\","
        "\"query\":\"SELECT 1\",\"operation_column\":\"op\"},\"columns\":[{\"name\":\"id\","
        "\"type\":\"text\"}]}]}",
        "$.models[0].postgres.operation_column: is only for incremental mode");

    bad("{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"csv\":{\"file\":\"m.csv\"},"
        "\"columns\":[{\"name\":\"id\",\"type\":\"text\"},{\"name\":\"x\",\"type\":\"text\","
        "\"csv\":\"id\"}]}]}",
        "$.models[0].columns[1]: CSV header 'id' is already read by column 'id'");
    bad("{\"profile\":1}", "$.profile: must be a string");
    bad("{\"models\":[{\"name\":\"m\",\"key\":[\"id\"],\"postgres\":{\"mode\":\"live\","
        "\"query\":\"q\"},\"columns\":[{\"name\":\"id\",\"type\":\"text\"}]}]}",
        "$.models[0].postgres.mode: 'live' is not snapshot, incremental or audit_log");
}

static void test_shipped_core(void **st)
{
    (void)st;
    profile p;
    rdm_err err;
    if (profile_load(&p, "core", ".", RDM_SOURCE_DIR "/conf/profiles", &err))
        fail_msg("%s", err.msg);
    assert_int_equal(p.nentities, 4);
    assert_int_equal(p.nmodels, 4);
    const prof_entity *a = profile_entity(&p, "ADDRESS");
    assert_int_equal(a->nfields, 17);
    assert_string_equal(a->title, "Адреса");
    assert_string_equal(a->fields[a->pk[0]].name, "id");
    static const char *const req[] = {"id", "type_address", "text", "create_datetime",
                                      "send_datetime"};
    int nreq = 0;
    for (int i = 0; i < a->nfields; i++)
        nreq += a->fields[i].required;
    assert_int_equal(nreq, 5);
    for (size_t i = 0; i < 5; i++)
        assert_true(a->fields[prof_field_index(a, req[i])].required);
    const prof_entity *ao = profile_entity(&p, "ADDRESS_ORGANISATION");
    assert_int_equal(ao->npk, 2);
    for (int i = 0; i < ao->nfields; i++)
        assert_true(ao->fields[i].required);
    const prof_entity *o = profile_entity(&p, "ORGANISATIONS");
    assert_true(o->fields[prof_field_index(o, "partof_id")].fk);
    assert_int_equal(o->fields[prof_field_index(o, "active")].type, PROF_BOOL);
    assert_int_equal(o->fields[prof_field_index(o, "ogrn")].type, PROF_TEXT);
    assert_string_equal(profile_model(&p, "telecom")->csv_file, "telecom.csv");
    profile_free(&p);
    /* the same profile twice: names clash */
    assert_int_equal(profile_load(&p, "core, core", ".", RDM_SOURCE_DIR "/conf/profiles", &err),
                     RDM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "is defined twice"));
    /* the school example loads beside core: several models joined per entity */
    if (profile_load(&p, "core,school-example", ".", RDM_SOURCE_DIR "/conf/profiles", &err))
        fail_msg("%s", err.msg);
    assert_true(p.nentities > 4);
    int joined = 0;
    for (int i = 0; i < p.nentities; i++)
        joined += p.entities[i].nmodels > 1;
    assert_true(joined >= 2);
    profile_free(&p);
    assert_int_equal(profile_load(&p, "nosuch", ".", RDM_SOURCE_DIR "/conf/profiles", &err),
                     RDM_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "profile 'nosuch' not found in"));
}

/* An entity wider than the export's arrays is refused at load (export
 * overflowed its stack with 1201 fields); so is such a model. */
static void test_too_wide(void **st)
{
    (void)st;
    size_t cap = 200000, o = 0;
    char *j = malloc(cap);
    assert_non_null(j);
    o += (size_t)snprintf(j + o, cap - o,
                          "{\"models\":[" MODEL "],\"entities\":[{\"key\":\"E\",\"fields\":[");
    for (int i = 0; i < PROF_MAX_FIELDS + 1; i++)
        o += (size_t)snprintf(j + o, cap - o, "%s{\"name\":\"f%d\",\"type\":\"text\"}",
                              i ? "," : "", i);
    snprintf(j + o, cap - o, "],\"models\":[\"m\"]}]}");
    bad(j, "$.entities[0].fields: has 1025 fields; at most 1024 are supported");
    o = (size_t)snprintf(j, cap, "{\"models\":[{\"name\":\"w\",\"key\":[\"c0\"],\"columns\":[");
    for (int i = 0; i < PROF_MAX_FIELDS + 1; i++)
        o += (size_t)snprintf(j + o, cap - o, "%s{\"name\":\"c%d\",\"type\":\"text\"}",
                              i ? "," : "", i);
    snprintf(j + o, cap - o, "]}]}");
    bad(j, "has 1025 columns; at most 1024 are supported");
    free(j);
}

/* Selects export can read through windows of changed rows, and those it
 * cannot (each refused saying what it uses). */
static void test_windowed(void **st)
{
    (void)st;
    static const char ddl[] = "CREATE TABLE \"person\"(\"id\" INTEGER, \"name\" TEXT, "
                              "\"team_id\" INTEGER, \"group\" TEXT); CREATE TABLE \"team\"(\"id\" "
                              "INTEGER, \"title\" TEXT); CREATE TABLE \"enrol\"(\"id\" INTEGER, "
                              "\"person_id\" INTEGER);";
    static const char *const good[] = {
        "SELECT p.\"id\", t.\"title\" FROM \"person\" p JOIN \"team\" t ON t.\"id\" = "
        "p.\"team_id\"",
        "SELECT p.\"id\" FROM \"person\" p WHERE EXISTS (SELECT 1 FROM \"enrol\" e WHERE "
        "e.\"person_id\" = p.\"id\")",
        "SELECT p.\"id\" FROM \"person\" p WHERE p.\"team_id\" IN (SELECT \"id\" FROM \"team\")",
        "SELECT p.\"id\", p.\"group\" FROM \"person\" p WHERE p.\"team_id\" NOT IN (1, 2) AND "
        "p.\"name\" <> 'NOT EXISTS (x) GROUP BY' -- LEFT JOIN\n",
        "SELECT DISTINCT p.\"id\" FROM \"person\" p JOIN \"enrol\" e ON e.\"person_id\" = p.\"id\"",
        "SELECT p.\"id\", t.\"title\" FROM \"person\" p LEFT JOIN \"team\" t ON t.\"id\" = "
        "p.\"team_id\" WHERE t.\"title\" IS NOT NULL", /* an inner join in fact */
    };
    static const struct {
        const char *sql, *why;
    } bad[] = {
        {"SELECT o.\"id\", p.\"name\" FROM \"person\" o JOIN \"person\" p ON p.\"id\" = "
         "o.\"team_id\"",
         "reads model 'person' 2 times"},
        {"SELECT p.\"id\" FROM \"person\" p WHERE NOT EXISTS (SELECT 1 FROM \"person\" q WHERE "
         "q.\"team_id\" = p.\"id\")",
         "reads model 'person' 2 times"},
        {"SELECT p.\"id\", t.\"title\" FROM \"person\" p LEFT JOIN \"team\" t ON t.\"id\" = "
         "p.\"team_id\"",
         "outer join"},
        {"SELECT p.\"id\", (SELECT t.\"title\" FROM \"team\" t WHERE t.\"id\" = p.\"team_id\") "
         "FROM \"person\" p",
         "a subquery for a value"},
        {"SELECT p.\"id\" FROM \"person\" p WHERE NOT EXISTS (SELECT 1 FROM \"enrol\" e WHERE "
         "e.\"person_id\" = p.\"id\")",
         "NOT EXISTS"},
        {"SELECT p.\"id\" FROM \"person\" p WHERE p.\"id\" NOT IN (SELECT \"person_id\" FROM "
         "\"enrol\")",
         "NOT IN (SELECT"},
        {"SELECT t.\"id\", count(*) FROM \"team\" t JOIN \"person\" p ON p.\"team_id\" = t.\"id\" "
         "GROUP BY t.\"id\"",
         "GROUP BY"},
        {"SELECT \"id\" FROM \"person\" EXCEPT SELECT \"person_id\" FROM \"enrol\"", "EXCEPT"},
        {"SELECT \"id\", rank() OVER (ORDER BY \"name\") FROM \"person\"", "window function"},
        /* review: taken before, and they sent wrong values */
        {"SELECT p.\"id\", CASE WHEN EXISTS (SELECT 1 FROM \"team\" t WHERE t.\"id\" = "
         "p.\"team_id\") THEN 'yes' ELSE 'no' END FROM \"person\" p",
         "EXISTS as a value"},
        {"SELECT p.\"id\" FROM \"person\" p WHERE EXISTS (SELECT 1 FROM \"enrol\" e WHERE "
         "e.\"person_id\" = p.\"id\") = 0",
         "EXISTS compared"},
        {"SELECT p.\"id\" FROM \"person\" p WHERE NOT p.\"id\" IN (SELECT \"person_id\" FROM "
         "\"enrol\")",
         "NOT IN (SELECT"},
        {"SELECT p.\"id\", CASE WHEN p.\"team_id\" IN (SELECT \"id\" FROM \"team\") THEN 1 END "
         "FROM \"person\" p",
         "IN (SELECT ...) as a value"},
        {"SELECT count(*) FROM \"person\"", "an aggregate"},
        {"SELECT \"id\" FROM \"person\" ORDER BY \"id\" LIMIT 10", "LIMIT"},
        {"SELECT \"id\", rank() OVER w FROM \"person\" WINDOW w AS (ORDER BY \"name\")", "window"},
    };
    rdm_err err;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (sqlcheck_windowed(ddl, good[i], 3, &err))
            fail_msg("refused: %s: %s", good[i], err.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (sqlcheck_windowed(ddl, bad[i].sql, 3, &err) != RDM_ERR_PARSE)
            fail_msg("taken: %s", bad[i].sql);
        if (!strstr(err.msg, bad[i].why))
            fail_msg("%s: '%s' lacks '%s'", bad[i].sql, err.msg, bad[i].why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_syntax_and_members),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_key_lists),
        cmocka_unit_test(test_entity_key_and_models),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_identifiers_quoted),
        cmocka_unit_test(test_reserved_names),
        cmocka_unit_test(test_models_and_sources),
        cmocka_unit_test(test_shipped_core),
        cmocka_unit_test(test_windowed),
        cmocka_unit_test(test_too_wide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
