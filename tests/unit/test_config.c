/* test_config.c - the configuration: the product's block as the product
 * reads it, every edge case of ../shared/spec/CONFIG.md, the environment,
 * and masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/plat.h"

/* the folder separator paths are joined with */
#ifdef _WIN32
#define SEP "\\"
#else
#define SEP "/"
#endif

#include "agent/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct diags {
    char text[8192];
    size_t n;
    int errors, warnings;
} diags;

static void on_diag(void *ud, int level, const char *msg)
{
    diags *d = ud;
    int w = snprintf(d->text + d->n, sizeof d->text - d->n, "%s: %s\n", level ? "warning" : "error",
                     msg);
    if (w > 0 && (size_t)w < sizeof d->text - d->n)
        d->n += (size_t)w;
    if (level)
        d->warnings++;
    else
        d->errors++;
}

static rdm_rc load(rdm_config *cfg, diags *d, const char *text)
{
    rdm_err err;
    memset(d, 0, sizeof *d);
    return cfg_load_buffer(cfg, "/etc/x/t.ini", text, strlen(text), on_diag, d, &err);
}

static void has(const diags *d, const char *needle)
{
    if (!strstr(d->text, needle))
        fail_msg("diagnostics lack '%s':\n%s", needle, d->text);
}

static const char prefix[] = "[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = ESH\n";

static char *with_prefix(const char *rest)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", prefix, rest);
    return buf;
}

static void test_product_sample(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d = {0};
    rdm_err err;
    assert_int_equal(cfg_load(&cfg, RDM_TEST_DATA "/product-sample.ini", on_diag, &d, &err),
                     RDM_OK);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 2);
    has(&d, "product-sample.ini:2: section [rmd_general] is the product sample's misspelling");
    has(&d, "EXPORT_ENTITY_ID_PREFIX is empty");
    assert_int_equal(cfg_int(&cfg, CFG_EXPORT_CHUNK_SIZE), 500);
    assert_int_equal(cfg_int(&cfg, CFG_UPDATE_NON_EXPORTED_CHUNK_SIZE), 5000);
    assert_int_equal(cfg_int(&cfg, CFG_TRANSFER_TIMEDELTA), 120);
    assert_int_equal(cfg_int(&cfg, CFG_SUSPEND_STAGE_TIMEOUT), 120);
    assert_string_equal(cfg_str(&cfg, CFG_TRANSFER_ENTITIES), "");
    assert_true(cfg_bool(&cfg, CFG_ENABLE_REQUEST_EMULATION));
    assert_string_equal(cfg_str(&cfg, CFG_URL), "http://localhost:8090");
    /* MINUTE=* /2: every even minute */
    assert_true(cfg_bits(&cfg, CFG_TRANSFER_MINUTE) == 0x0555555555555555ULL);
    assert_int_equal(cfg.v[CFG_EXPORT_CHUNK_SIZE].origin, CFG_FROM_FILE);
    assert_int_equal(cfg.v[CFG_EXPORT_CHUNK_SIZE].line, 7);
    assert_int_equal(cfg.v[CFG_RESPONSE_FILE_STATUS].origin, CFG_FROM_DEFAULT);
    cfg_free(&cfg);
}

static void test_defaults(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    rdm_err err;
    memset(&d, 0, sizeof d);
    assert_int_equal(cfg_load(&cfg, NULL, on_diag, &d, &err), RDM_OK);
    assert_int_equal(d.errors, 0);
    assert_true(cfg_bool(&cfg, CFG_ENABLE_REQUEST_EMULATION)); /* never send by accident */
    assert_true(cfg_bool(&cfg, CFG_VERIFY_TLS));
    assert_int_equal(cfg_int(&cfg, CFG_TRANSFER_LOCK_EXPIRE_SECONDS), 21600);
    assert_int_equal(cfg_int(&cfg, CFG_UPLOAD_QUEUE_MAX_SIZE), 500000000);
    assert_true(cfg_bits(&cfg, CFG_TRANSFER_HOUR) ==
                ((1u << 0) | (1u << 4) | (1u << 8) | (1u << 12) | (1u << 16) | (1u << 20)));
    assert_string_equal(cfg_str(&cfg, CFG_NO_RETRY_STATUS_CODES), RDM_NO_RETRY_DEFAULT);
    cfg_free(&cfg);
}

static void test_integers(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d, with_prefix("COLLECT_CHUNK_SIZE = 1_000_000\n")), RDM_OK);
    assert_int_equal(cfg_int(&cfg, CFG_COLLECT_CHUNK_SIZE), 1000000);
    cfg_free(&cfg);
    static const char *const bad[] = {"_5", "5_", "5__0", "5 0", "0x10", "five", "1e3", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0] - 1; i++) {
        char t[256];
        snprintf(t, sizeof t, "%sCOLLECT_CHUNK_SIZE = %s\n", prefix, bad[i]);
        assert_int_equal(load(&cfg, &d, t), RDM_ERR_CONFIG);
        has(&d, "t.ini:3: [rdm_general] COLLECT_CHUNK_SIZE: '");
        has(&d, "is not an integer");
        cfg_free(&cfg);
    }
    assert_int_equal(load(&cfg, &d, with_prefix("EXPORT_CHUNK_SIZE = 0\n")), RDM_ERR_CONFIG);
    has(&d, "t.ini:3: [rdm_general] EXPORT_CHUNK_SIZE: 0 is out of range (allowed 1..");
    cfg_free(&cfg);
    assert_int_equal(load(&cfg, &d, with_prefix("EXPORT_CHUNK_SIZE = '500'\n")), RDM_ERR_CONFIG);
    has(&d, "remove the quotes");
    cfg_free(&cfg);
}

static void test_booleans(void **st)
{
    (void)st;
    static const struct {
        const char *text;
        int value;
    } cases[] = {{"True", 1},  {"tRuE", 1},  {"YES", 1}, {"on", 1},  {"1", 1},
                 {"False", 0}, {"fAlSe", 0}, {"No", 0},  {"OFF", 0}, {"0", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rdm_config cfg;
        diags d;
        char t[256];
        snprintf(t, sizeof t, "%s[uploader_client]\nENABLE_REQUEST_EMULATION = %s\n", prefix,
                 cases[i].text);
        assert_int_equal(load(&cfg, &d, t), RDM_OK);
        assert_int_equal(cfg_bool(&cfg, CFG_ENABLE_REQUEST_EMULATION), cases[i].value);
        assert_string_equal(cfg_str(&cfg, CFG_ENABLE_REQUEST_EMULATION),
                            cases[i].value ? "True" : "False");
        cfg_free(&cfg);
    }
    rdm_config cfg;
    diags d;
    assert_int_equal(
        load(&cfg, &d, with_prefix("[uploader_client]\nENABLE_REQUEST_EMULATION = maybe\n")),
        RDM_ERR_CONFIG);
    has(&d, "t.ini:4: [uploader_client] ENABLE_REQUEST_EMULATION: 'maybe' is not a boolean");
    cfg_free(&cfg);
}

static void test_empty_values(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d,
                          with_prefix("[rdm_transfer_task]\nENTITIES =\n[uploader_client]\n"
                                      "REQUEST_RETRIES =\nDATAMART_NAME=\n")),
                     RDM_OK);
    assert_string_equal(cfg_str(&cfg, CFG_TRANSFER_ENTITIES), "");
    assert_string_equal(cfg_str(&cfg, CFG_DATAMART_NAME), "");
    assert_int_equal(cfg_int(&cfg, CFG_REQUEST_RETRIES), 10);
    has(&d, "t.ini:6: [uploader_client] REQUEST_RETRIES is empty; the default 10 applies");
    assert_int_equal(d.warnings, 1);
    cfg_free(&cfg);
}

static void test_keys_case_and_unknown(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d,
                          with_prefix("export_chunk_size = 7\nNO_SUCH_KEY = 1\n[mystery]\nA=1\n"
                                      "[DEFAULT]\nB=2\n")),
                     RDM_OK);
    assert_int_equal(cfg_int(&cfg, CFG_EXPORT_CHUNK_SIZE), 7);
    has(&d, "t.ini:4: [rdm_general] unknown key NO_SUCH_KEY; ignored");
    has(&d, "t.ini:5: unknown section [mystery]; its keys are ignored");
    assert_null(strstr(d.text, "DEFAULT")); /* configparser's: B is for %(b)s */
    assert_int_equal(d.errors, 0);
    cfg_free(&cfg);
}

static void test_duplicates(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d, with_prefix("EXPORT_CHUNK_SIZE = 7\nexport_chunk_size=8\n")),
                     RDM_ERR_CONFIG);
    has(&d, "t.ini:4: [rdm_general] export_chunk_size is already set at line 3; keep one");
    cfg_free(&cfg);
    assert_int_equal(load(&cfg, &d, with_prefix("[agent]\n[agent]\n")), RDM_ERR_CONFIG);
    has(&d, "t.ini:4: section [agent] appears twice (first at line 3)");
    cfg_free(&cfg);
    /* [rmd_general] and [rdm_general] are one section: the same key twice is an error */
    assert_int_equal(load(&cfg, &d, with_prefix("[rmd_general]\nEXPORT_ENTITY_ID_PREFIX = X\n")),
                     RDM_ERR_CONFIG);
    has(&d, "t.ini:4: [rmd_general] EXPORT_ENTITY_ID_PREFIX is already set at line 2");
    cfg_free(&cfg);
}

static void test_stage_timeout_alias(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d, with_prefix("[rdm_check_suspend_task]\nTIMEDELTA = 45\n")),
                     RDM_OK);
    assert_int_equal(cfg_int(&cfg, CFG_SUSPEND_STAGE_TIMEOUT), 45);
    cfg_free(&cfg);
    assert_int_equal(
        load(&cfg, &d,
             with_prefix("[rdm_check_suspend_task]\nSTAGE_TIMEOUT = 45\nTIMEDELTA = 46\n")),
        RDM_OK);
    has(&d, "t.ini:5: [rdm_check_suspend_task] TIMEDELTA and STAGE_TIMEOUT (line 4) are both set");
    assert_int_equal(cfg_int(&cfg, CFG_SUSPEND_STAGE_TIMEOUT), 46);
    cfg_free(&cfg);
    assert_int_equal(
        load(&cfg, &d, with_prefix("[rdm_check_suspend_task]\nTIMEDELTA = 45\nTIMEDELTA = 46\n")),
        RDM_ERR_CONFIG);
    has(&d, "t.ini:5: [rdm_check_suspend_task] TIMEDELTA is already set at line 4");
    cfg_free(&cfg);
    /* in [rdm_transfer_task], TIMEDELTA is its own key */
    assert_int_equal(load(&cfg, &d, with_prefix("[rdm_transfer_task]\nTIMEDELTA = 300\n")), RDM_OK);
    assert_int_equal(cfg_int(&cfg, CFG_TRANSFER_TIMEDELTA), 300);
    assert_int_equal(cfg_int(&cfg, CFG_SUSPEND_STAGE_TIMEOUT), 120);
    cfg_free(&cfg);
}

static void test_cron_errors(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d,
                          with_prefix("[rdm_transfer_task]\nMINUTE = 61\nHOUR=*/0\n"
                                      "DAY_OF_WEEK = mon-fri\n")),
                     RDM_ERR_CONFIG);
    has(&d, "t.ini:4: [rdm_transfer_task] MINUTE: ");
    has(&d, "t.ini:5: [rdm_transfer_task] HOUR: ");
    assert_int_equal(d.errors, 2); /* every error reported, not only the first */
    assert_true(cfg_bits(&cfg, CFG_TRANSFER_DAY_OF_WEEK) == 0x3e);
    cfg_free(&cfg);
}

static void test_lists_enums_urls(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d,
                          with_prefix("[rdm_transfer_task]\nENTITIES = ADDRESS, TELECOM\n"
                                      "[uploader_client]\nNO_RETRY_STATUS_CODES = 400, 404\n"
                                      "URL = https://rdm.example.org/base\n"
                                      "[source]\nENCODING = Windows-1251\nDELIMITER = ,\n"
                                      "[agent]\nLOG_LEVEL = DEBUG\n")),
                     RDM_OK);
    assert_string_equal(cfg_str(&cfg, CFG_TRANSFER_ENTITIES), "ADDRESS,TELECOM");
    assert_string_equal(cfg_str(&cfg, CFG_NO_RETRY_STATUS_CODES), "400,404");
    assert_string_equal(cfg_str(&cfg, CFG_URL), "https://rdm.example.org/base");
    assert_string_equal(cfg_str(&cfg, CFG_ENCODING), "cp1251");
    assert_string_equal(cfg_str(&cfg, CFG_DELIMITER), ",");
    assert_string_equal(cfg_str(&cfg, CFG_LOG_LEVEL), "debug");
    cfg_free(&cfg);

    assert_int_equal(load(&cfg, &d,
                          with_prefix("[rdm_transfer_task]\nENTITIES = A-B\nMINUTE=0\n"
                                      "[uploader_client]\nNO_RETRY_STATUS_CODES = 400,,404\n"
                                      "URL = localhost:8090\n[source]\nTYPE = oracle\n")),
                     RDM_ERR_CONFIG);
    has(&d, "t.ini:4: [rdm_transfer_task] ENTITIES: 'A-B' is not a name");
    has(&d, "t.ini:7: [uploader_client] NO_RETRY_STATUS_CODES: empty item");
    has(&d, "t.ini:8: [uploader_client] URL: 'localhost:8090' is not an address");
    has(&d, "t.ini:10: [source] TYPE: 'oracle' is not one of csv|postgres");
    assert_int_equal(d.errors, 4);
    cfg_free(&cfg);
}

static void test_paths_relative_to_file(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d, with_prefix("[agent]\nDATA_DIR = state\nLOG_FILE = /l.log\n")),
                     RDM_OK);
    assert_string_equal(cfg_str(&cfg, CFG_DATA_DIR), "/etc/x" SEP "state");
    assert_string_equal(cfg_str(&cfg, CFG_LOG_FILE), "/l.log");
    assert_string_equal(cfg_str(&cfg, CFG_DUMP_DIR), "/etc/x" SEP "inbox"); /* default, too */
    cfg_free(&cfg);
}

static void test_environment(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    plat_setenv("RDM_UPLOADER_CLIENT_URL", "https://env.example");
    plat_setenv("RDM_GENERAL_EXPORT_CHUNK_SIZE", "42");      /* short form of rdm_* sections */
    plat_setenv("RDM_RDM_GENERAL_COLLECT_CHUNK_SIZE", "43"); /* literal form */
    plat_setenv("RDM_AGENT_DATA_DIR", "rel");
    assert_int_equal(load(&cfg, &d, with_prefix("[uploader_client]\nURL = http://file\n")), RDM_OK);
    assert_string_equal(cfg_str(&cfg, CFG_URL), "https://env.example");
    assert_int_equal(cfg.v[CFG_URL].origin, CFG_FROM_ENV);
    assert_string_equal(cfg.v[CFG_URL].env, "RDM_UPLOADER_CLIENT_URL");
    assert_int_equal(cfg_int(&cfg, CFG_EXPORT_CHUNK_SIZE), 42);
    assert_int_equal(cfg_int(&cfg, CFG_COLLECT_CHUNK_SIZE), 43);
    assert_string_equal(cfg_str(&cfg, CFG_DATA_DIR), "." SEP "rel");
    cfg_free(&cfg);
    plat_setenv("RDM_UPLOADER_CLIENT_REQUEST_TIMEOUT", "soon");
    assert_int_equal(load(&cfg, &d, prefix), RDM_ERR_CONFIG);
    has(&d, "environment RDM_UPLOADER_CLIENT_REQUEST_TIMEOUT ([uploader_client] "
            "REQUEST_TIMEOUT): 'soon' is not an integer");
    cfg_free(&cfg);
    plat_setenv("RDM_UPLOADER_CLIENT_URL", NULL);
    plat_setenv("RDM_GENERAL_EXPORT_CHUNK_SIZE", NULL);
    plat_setenv("RDM_RDM_GENERAL_COLLECT_CHUNK_SIZE", NULL);
    plat_setenv("RDM_AGENT_DATA_DIR", NULL);
    plat_setenv("RDM_UPLOADER_CLIENT_REQUEST_TIMEOUT", NULL);
}

static void test_masking(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    char buf[512];
    assert_int_equal(
        load(&cfg, &d,
             with_prefix("[uploader_client]\nPASSWORD = s3cr3t-pw\n"
                         "URL = https://user:urlpass@rdm.example\n"
                         "[source]\nDSN = host=db user=rdm password='p w\\'x' dbname=esh\n")),
        RDM_OK);
    cfg_display(&cfg, CFG_PASSWORD, buf, sizeof buf);
    assert_string_equal(buf, "********");
    cfg_display(&cfg, CFG_DSN, buf, sizeof buf);
    assert_string_equal(buf, "host=db user=rdm password=******** dbname=esh");
    cfg_display(&cfg, CFG_URL, buf, sizeof buf);
    assert_string_equal(buf, "https://user:********@rdm.example");
    /* the printed configuration never carries a secret */
    FILE *f = tmpfile();
    assert_non_null(f);
    cfg_print(&cfg, f);
    char all[16384];
    rewind(f);
    size_t n = fread(all, 1, sizeof all - 1, f);
    all[n] = '\0';
    fclose(f);
    assert_null(strstr(all, "s3cr3t"));
    assert_null(strstr(all, "urlpass"));
    assert_null(strstr(all, "p w"));
    assert_non_null(strstr(all, "PASSWORD"));
    cfg_free(&cfg);
    /* a URI's password in its query, and in both places */
    assert_int_equal(load(&cfg, &d,
                          with_prefix("[source]\nDSN = postgresql://rdm@db.school.local/"
                                      "edu?sslmode=require&password=S3cretPw&connect_timeout=5\n")),
                     RDM_OK);
    cfg_display(&cfg, CFG_DSN, buf, sizeof buf);
    assert_string_equal(
        buf,
        "postgresql://rdm@db.school.local/edu?sslmode=require&password=********&connect_timeout=5");
    cfg_free(&cfg);
    assert_int_equal(
        load(&cfg, &d, with_prefix("[source]\nDSN = postgresql://rdm:Pw1@db/edu?password=Pw2\n")),
        RDM_OK);
    cfg_display(&cfg, CFG_DSN, buf, sizeof buf);
    assert_string_equal(buf, "postgresql://rdm:********@db/edu?password=********");
    cfg_free(&cfg);
}

static void test_proxy_and_tls_checks(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d,
                          with_prefix("[uploader_client]\nUSE_PROXY_API = True\n"
                                      "ENABLE_REQUEST_EMULATION = False\nVERIFY_TLS = no\n")),
                     RDM_ERR_CONFIG);
    has(&d, "USE_PROXY_API is True but USERNAME is empty");
    has(&d, "VERIFY_TLS is False");
    cfg_free(&cfg);
}

static void test_parse_error_located(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d, with_prefix("[agent]\nthis line is broken\n")), RDM_ERR_CONFIG);
    has(&d, "/etc/x/t.ini: line 4 in [agent]: expected 'KEY = value'");
    cfg_free(&cfg);
}

/* configparser's [DEFAULT] and interpolation: the file's sections inherit
 * DEFAULT's keys they do not set; %(name)s and %% are resolved */
static void test_default_and_interpolation(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d,
                          with_prefix("[DEFAULT]\nREQUEST_TIMEOUT = 60\nLOCK_EXPIRE_SECONDS = 600\n"
                                      "host = dm.region.ru\n[uploader_client]\nURL = "
                                      "https://%(host)s:8090\nPASSWORD = p%%ss\n"
                                      "[rdm_transfer_task]\nLOCK_EXPIRE_SECONDS = 900\n"
                                      "[rdm_check_suspend_task]\nMINUTE = 5\n")),
                     RDM_OK);
    assert_int_equal(d.errors, 0);
    assert_null(strstr(d.text, "DEFAULT")); /* no "unknown section", no "unknown key host" */
    assert_int_equal(cfg_int(&cfg, CFG_REQUEST_TIMEOUT), 60);
    assert_int_equal(cfg_int(&cfg, CFG_TRANSFER_LOCK_EXPIRE_SECONDS), 900);
    assert_int_equal(cfg_int(&cfg, CFG_SUSPEND_LOCK_EXPIRE_SECONDS), 600);
    assert_int_equal(cfg_int(&cfg, CFG_STATUS_LOCK_EXPIRE_SECONDS), 7200); /* no such section */
    assert_string_equal(cfg_str(&cfg, CFG_URL), "https://dm.region.ru:8090");
    assert_string_equal(cfg_str(&cfg, CFG_PASSWORD), "p%ss");
    cfg_free(&cfg);
    /* a bad value from [DEFAULT] names where it came from */
    assert_int_equal(
        load(&cfg, &d, with_prefix("[DEFAULT]\nREQUEST_RETRIES = many\n[uploader_client]\n")),
        RDM_ERR_CONFIG);
    has(&d, "[DEFAULT] for [uploader_client] REQUEST_RETRIES");
    cfg_free(&cfg);
}

/* A syntax error stops the reading; the checks across keys (which would
 * find the keys below it missing) do not run, and the line is not echoed */
static void test_syntax_error_alone(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    assert_int_equal(load(&cfg, &d,
                          with_prefix("[uploader_client]\nUSE_PROXY_API = True\nPASSWORD  "
                                      "S3cretPw\nUSERNAME = u\n")),
                     RDM_ERR_CONFIG);
    assert_int_equal(d.errors, 1);
    assert_null(strstr(d.text, "S3cretPw"));
    cfg_free(&cfg);
}

/* STAGE_TIMEOUT and TIMEDELTA both: TIMEDELTA counts, as for the product */
static void test_timedelta_both(void **st)
{
    (void)st;
    rdm_config cfg;
    diags d;
    const char *both[] = {"[rdm_check_suspend_task]\nSTAGE_TIMEOUT = 120\nTIMEDELTA = 60\n",
                          "[rdm_check_suspend_task]\nTIMEDELTA = 60\nSTAGE_TIMEOUT = 120\n"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(load(&cfg, &d, with_prefix(both[i])), RDM_OK);
        assert_int_equal(cfg_int(&cfg, CFG_SUSPEND_STAGE_TIMEOUT), 60);
        has(&d, "TIMEDELTA counts");
        cfg_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_product_sample),
        cmocka_unit_test(test_default_and_interpolation),
        cmocka_unit_test(test_syntax_error_alone),
        cmocka_unit_test(test_timedelta_both),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_empty_values),
        cmocka_unit_test(test_keys_case_and_unknown),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_stage_timeout_alias),
        cmocka_unit_test(test_cron_errors),
        cmocka_unit_test(test_lists_enums_urls),
        cmocka_unit_test(test_paths_relative_to_file),
        cmocka_unit_test(test_environment),
        cmocka_unit_test(test_masking),
        cmocka_unit_test(test_proxy_and_tls_checks),
        cmocka_unit_test(test_parse_error_located),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
