/* test_net.c - the pure parts of net/: backoff, Retry-After, status codes,
 * emulated statuses, URLs in plain and proxy mode. */
#include "net/dm.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void backoff(void **state)
{
    (void)state;
    /* the ceiling doubles from the base and stops at the cap */
    assert_int_equal(http_backoff_ms(500, 30000, 1, 0.999999), 499);
    assert_int_equal(http_backoff_ms(500, 30000, 2, 0.999999), 999);
    assert_int_equal(http_backoff_ms(500, 30000, 3, 0.5), 1000);
    assert_int_equal(http_backoff_ms(500, 30000, 7, 0.999999), 29999);
    assert_int_equal(http_backoff_ms(500, 30000, 60, 0.999999), 29999);
    /* full jitter: anywhere from 0 */
    assert_int_equal(http_backoff_ms(500, 30000, 5, 0.0), 0);
    assert_int_equal(http_backoff_ms(500, 30000, 5, -3), 0);
    assert_true(http_backoff_ms(500, 30000, 5, 7) < 8000);
}

static void retry_after(void **state)
{
    (void)state;
    assert_int_equal(http_retry_after("120", 0), 120);
    assert_int_equal(http_retry_after("  7\r\n", 0), 7);
    assert_int_equal(http_retry_after("7 s", 0), -1);
    assert_int_equal(http_retry_after("", 0), -1);
    assert_int_equal(http_retry_after(NULL, 0), -1);
    /* an HTTP date: seconds from now, never negative */
    time_t t = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t - 30), 30);
    assert_int_equal(http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t + 30), 0);
    assert_int_equal(http_retry_after("tomorrow-ish", 0), -1);
}

static void file_status(void **state)
{
    (void)state;
    /* PROTOCOL.md's table, every row */
    static const int want[] = {1, 1, 1, 1, 2, 3, 3, 1, 3};
    for (int code = -1; code <= 7; code++)
        assert_int_equal(dm_file_status(code), want[code + 1]);
    assert_int_equal(dm_file_status(8), 0);
    assert_int_equal(dm_file_status(-2), 0);
}

static void emulated(void **state)
{
    (void)state;
    int c = 99;
    assert_int_equal(dm_emulated_code("success", &c), 0);
    assert_int_equal(c, 3);
    assert_int_equal(dm_emulated_code("FLC_ERROR", &c), 0);
    assert_int_equal(c, 7);
    assert_int_equal(dm_emulated_code("-1", &c), 0);
    assert_int_equal(c, -1);
    assert_int_equal(dm_emulated_code("8", &c), -1);
    assert_int_equal(dm_emulated_code("", &c), -1);
    assert_int_equal(dm_emulated_code("successful", &c), -1);
}

/* What the journal and the log keep of a URL: never its password. */
static void masked_urls(void **state)
{
    (void)state;
    char b[256];
    http_mask_url("https://user:S3cr@t@dm.example.ru:8443/v2/x?a=b", b, sizeof b);
    assert_string_equal(b, "https://user:********@dm.example.ru:8443/v2/x?a=b");
    http_mask_url("https://dm.example.ru/v2/x?mail=a@b", b, sizeof b);
    assert_string_equal(b, "https://dm.example.ru/v2/x?mail=a@b");
    http_mask_url("http://user@dm.example.ru/", b, sizeof b);
    assert_string_equal(b, "http://user@dm.example.ru/");
    http_mask_url("http://127.0.0.1:8090/v2", b, sizeof b);
    assert_string_equal(b, "http://127.0.0.1:8090/v2");
    http_mask_url("not a url", b, sizeof b);
    assert_string_equal(b, "not a url");
    /* a password holding '/', '?' or '#' (review: shown in the journal) */
    http_mask_url("http://rdm:Se/cr3t@127.0.0.1:9/v2", b, sizeof b);
    assert_string_equal(b, "http://rdm:********@127.0.0.1:9/v2");
    http_mask_url("http://rdm:Se?cr3t@127.0.0.1:9", b, sizeof b);
    assert_string_equal(b, "http://rdm:********@127.0.0.1:9");
    http_mask_url("http://rdm:Se#cr3t@127.0.0.1:9", b, sizeof b);
    assert_string_equal(b, "http://rdm:********@127.0.0.1:9");
}

static void urls(void **state)
{
    (void)state;
    dm_opts o = {0};
    dm_client *c;
    rdm_err err;
    char buf[512];
    http_opts_default(&o.http);
    o.url = "https://dm.example.ru/prefix/";
    o.datamart = "school";
    assert_int_equal(dm_new(&o, NULL, NULL, &c, &err), RDM_OK);
    assert_int_equal(dm_url(c, "/v2/requests/1/status", buf, sizeof buf), 0);
    assert_string_equal(buf, "https://dm.example.ru/prefix/v2/requests/1/status");
    assert_int_equal(dm_url(c, "/v2/requests/1/status", buf, 20), -1);
    dm_free(c);

    o.proxy = 1;
    o.username = "u";
    o.password = "p";
    o.ogrn = "1027700000000";
    o.installation_name = "школа 1";
    o.installation_id = "";
    assert_int_equal(dm_new(&o, NULL, NULL, &c, &err), RDM_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "INSTALLATION_ID"));
    o.installation_id = "7/8";
    assert_int_equal(dm_new(&o, NULL, NULL, &c, &err), RDM_OK);
    assert_int_equal(dm_url(c, "/v2/x", buf, sizeof buf), 0);
    /* segments are escaped: a '/' or a space cannot change the path */
    assert_string_equal(buf, "https://dm.example.ru/prefix/api/v1/secure/1027700000000/school/"
                             "%D1%88%D0%BA%D0%BE%D0%BB%D0%B0%201/7%2F8/v2/x");
    dm_free(c);

    o.url = "ftp://dm";
    assert_int_equal(dm_new(&o, NULL, NULL, &c, &err), RDM_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "http:// or https://"));
    o.url = "http://dm";
    o.emulation = 1;
    o.emu_status = "nonsense";
    assert_int_equal(dm_new(&o, NULL, NULL, &c, &err), RDM_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "RESPONSE_FILE_STATUS"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff),  cmocka_unit_test(retry_after), cmocka_unit_test(file_status),
        cmocka_unit_test(emulated), cmocka_unit_test(urls),        cmocka_unit_test(masked_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
