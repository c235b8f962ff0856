/* test_cron.c - unit tests of agent/cron.c: field syntax (celery crontab), messages, the
 * normalised form, and next fire times in local time, DST days included (POSIX TZ strings, no
 * tzdata needed). Expected instants are computed here from UTC calendar arithmetic, never with
 * the code under test. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/plat.h"

#include "../../agent/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALL_MIN  ((((uint64_t)1) << 60) - 1)
#define ALL_HOUR ((uint64_t)0xffffff)
#define ALL_DOW  ((uint64_t)0x7f)

#define TZ_CET "CET-1CEST,M3.5.0,M10.5.0/3"
#define TZ_MSK "MSK-3"
#define TZ_UTC "UTC0"
#define TZ_LHI "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0" /* Lord Howe: a 30-minute DST shift */

/* ---- helpers ---- */

/* A bit set from a list of values ended by -1. */
static uint64_t bits_of(const int *v)
{
    uint64_t b = 0;
    for (; *v >= 0; v++)
        b |= (uint64_t)1 << *v;
    return b;
}
#define BITS(...) bits_of((const int[]){__VA_ARGS__, -1})

/* Every step-th value from lo to hi (no wrap), for expected sets. */
static uint64_t bits_step(int lo, int hi, int step)
{
    uint64_t b = 0;
    for (int i = lo; i <= hi; i += step)
        b |= (uint64_t)1 << i;
    return b;
}

static uint64_t parse_ok(cron_field f, const char *text)
{
    rdm_err err;
    uint64_t bits = 0;

    err.msg[0] = '\0';
    rdm_rc rc = cron_parse_field(f, text, &bits, &err);
    if (rc != RDM_OK)
        fail_msg("'%s' should parse, got %s: %s", text, rdm_rc_name(rc), err.msg);
    return bits;
}

#define assert_bits(f, text, expected)                                                             \
    do {                                                                                           \
        uint64_t got_ = parse_ok((f), (text)), exp_ = (expected);                                  \
        if (got_ != exp_)                                                                          \
            fail_msg("'%s': bits %#llx, expected %#llx", (text), (unsigned long long)got_,         \
                     (unsigned long long)exp_);                                                    \
    } while (0)

/* Asserts that text is rejected with RDM_ERR_CONFIG, *bits untouched, and a message that
 * names the field, quotes the (stripped) text, contains `needle` and says what is allowed. */
static void expect_bad(cron_field f, const char *text, const char *needle)
{
    static const char *const names[] = {"minute '", "hour '", "day of week '"};
    rdm_err err;
    uint64_t bits = 0x5a5a;
    char quoted[300];
    const char *s = text ? text : "";
    size_t n;

    err.msg[0] = '\0';
    rdm_rc rc = cron_parse_field(f, text, &bits, &err);
    if (rc != RDM_ERR_CONFIG)
        fail_msg("'%s' should be rejected, got %s", s, rdm_rc_name(rc));
    assert_true(bits == 0x5a5a);
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    snprintf(quoted, sizeof quoted, "%s%.*s'", names[f], (int)n, s);
    if (!strstr(err.msg, quoted))
        fail_msg("'%s': message does not quote it as [%s]: %s", s, quoted, err.msg);
    if (!strstr(err.msg, needle))
        fail_msg("'%s': message lacks [%s]: %s", s, needle, err.msg);
    if (!strstr(err.msg, "allowed: "))
        fail_msg("'%s': message does not say what is allowed: %s", s, err.msg);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Seconds since the epoch of a UTC calendar time, by counting days year by year. */
static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t days = 0;

    for (int yy = 1970; yy < y; yy++)
        days += is_leap(yy) ? 366 : 365;
    for (int m = 1; m < mo; m++)
        days += mdays[m - 1] + (m == 2 && is_leap(y));
    days += d - 1;
    return (time_t)(days * 86400 + h * 3600 + mi * 60 + s);
}

/* A local wall time whose UTC offset is off_min minutes, as an instant. */
static time_t at(int y, int mo, int d, int h, int mi, int s, int off_min)
{
    return utc(y, mo, d, h, mi, s) - (time_t)off_min * 60;
}

static void set_tz(const char *tz)
{
    assert_int_equal(plat_setenv("TZ", tz), 0);
    tzset();
}

static cron_spec spec(const char *m, const char *h, const char *d)
{
    cron_spec c;
    rdm_err err;

    memset(&c, 0, sizeof c);
    if (cron_parse(&c, m, h, d, &err) != RDM_OK)
        fail_msg("spec '%s %s %s': %s", m, h, d, err.msg);
    return c;
}

static void expect_next(const cron_spec *c, time_t after, time_t want)
{
    time_t got = cron_next(c, after);
    if (got != want)
        fail_msg("after %lld: got %lld, want %lld (off by %lld s)", (long long)after,
                 (long long)got, (long long)want, (long long)(got - want));
}

#ifndef _WIN32
/* Checks the fire times after `from`, one by one, against want[0..n-1]. */
static void expect_seq(const cron_spec *c, time_t from, const time_t *want, int n)
{
    time_t t = from;
    for (int i = 0; i < n; i++) {
        time_t got = cron_next(c, t);
        if (got != want[i])
            fail_msg("fire #%d after %lld: got %lld, want %lld (off by %lld s)", i, (long long)t,
                     (long long)got, (long long)want[i], (long long)(got - want[i]));
        t = got;
    }
}
#endif

/* ---- parsing: every accepted form ---- */

static void test_utc_helper(void **state)
{
    (void)state;
    /* anchors from `date -u -d ... +%s` */
    assert_true(utc(2026, 1, 1, 0, 0, 0) == (time_t)1767225600);
    assert_true(utc(2026, 3, 29, 1, 0, 0) == (time_t)1774746000);
    assert_true(utc(1970, 1, 1, 0, 0, 0) == 0);
}

static void test_star(void **state)
{
    (void)state;
    assert_bits(CRON_MINUTE, "*", ALL_MIN);
    assert_bits(CRON_HOUR, "*", ALL_HOUR);
    assert_bits(CRON_DAY_OF_WEEK, "*", ALL_DOW);
}

static void test_star_step(void **state)
{
    (void)state;
    assert_bits(CRON_MINUTE, "*/15", BITS(0, 15, 30, 45));
    assert_bits(CRON_MINUTE, "*/30", BITS(0, 30));
    assert_bits(CRON_MINUTE, "*/10", BITS(0, 10, 20, 30, 40, 50));
    assert_bits(CRON_MINUTE, "*/2", bits_step(0, 59, 2));
    assert_bits(CRON_MINUTE, "*/7", bits_step(0, 59, 7));
    assert_bits(CRON_MINUTE, "*/1", ALL_MIN);
    assert_bits(CRON_MINUTE, "*/05", BITS(0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55));
    assert_bits(CRON_MINUTE, "*/59", BITS(0, 59));
    assert_bits(CRON_MINUTE, "*/60", BITS(0)); /* celery: [0..59][::60] */
    assert_bits(CRON_MINUTE, "*/1000", BITS(0));
    assert_bits(CRON_HOUR, "*/4", BITS(0, 4, 8, 12, 16, 20));
    assert_bits(CRON_HOUR, "*/5", BITS(0, 5, 10, 15, 20));
    assert_bits(CRON_DAY_OF_WEEK, "*/2", BITS(0, 2, 4, 6));
    assert_bits(CRON_DAY_OF_WEEK, "*/3", BITS(0, 3, 6));
}

static void test_single(void **state)
{
    (void)state;
    assert_bits(CRON_MINUTE, "0", BITS(0));
    assert_bits(CRON_MINUTE, "59", BITS(59));
    assert_bits(CRON_MINUTE, "07", BITS(7));
    assert_bits(CRON_MINUTE, "000", BITS(0));
    assert_bits(CRON_HOUR, "0", BITS(0));
    assert_bits(CRON_HOUR, "23", BITS(23));
    assert_bits(CRON_DAY_OF_WEEK, "0", BITS(0));
    assert_bits(CRON_DAY_OF_WEEK, "6", BITS(6));
}

static void test_range(void **state)
{
    (void)state;
    assert_bits(CRON_MINUTE, "1-10", bits_step(1, 10, 1));
    assert_bits(CRON_MINUTE, "5-5", BITS(5));
    assert_bits(CRON_MINUTE, "0-59", ALL_MIN);
    assert_bits(CRON_HOUR, "8-17", bits_step(8, 17, 1));
    assert_bits(CRON_HOUR, "0-23", ALL_HOUR);
    assert_bits(CRON_DAY_OF_WEEK, "1-5", BITS(1, 2, 3, 4, 5));
    assert_bits(CRON_DAY_OF_WEEK, "0-6", ALL_DOW);
}

static void test_range_wraps(void **state)
{
    (void)state;
    /* celery: a range whose end is below its start wraps around the field's end */
    assert_bits(CRON_MINUTE, "50-10", bits_step(50, 59, 1) | bits_step(0, 10, 1));
    assert_bits(CRON_MINUTE, "59-0", BITS(59, 0));
    assert_bits(CRON_HOUR, "22-2", BITS(22, 23, 0, 1, 2));
    assert_bits(CRON_DAY_OF_WEEK, "fri-mon", BITS(5, 6, 0, 1));
    assert_bits(CRON_DAY_OF_WEEK, "6-0", BITS(6, 0));
    assert_bits(CRON_DAY_OF_WEEK, "1-0", ALL_DOW);
}

static void test_range_step(void **state)
{
    (void)state;
    assert_bits(CRON_MINUTE, "2-10/5", BITS(2, 7));
    assert_bits(CRON_MINUTE, "2-9/5", BITS(2, 7));
    assert_bits(CRON_MINUTE, "1-9/2", BITS(1, 3, 5, 7, 9));
    assert_bits(CRON_MINUTE, "1-5/10", BITS(1));
    assert_bits(CRON_MINUTE, "0-59/15", BITS(0, 15, 30, 45));
    assert_bits(CRON_MINUTE, "5-59/15", BITS(5, 20, 35, 50));
    /* wrapping with a step counts on across the end: 55, 58, 1, 4 */
    assert_bits(CRON_MINUTE, "55-5/3", BITS(55, 58, 1, 4));
    assert_bits(CRON_HOUR, "0-23/6", BITS(0, 6, 12, 18));
    assert_bits(CRON_HOUR, "20-4/3", BITS(20, 23, 2));
    assert_bits(CRON_DAY_OF_WEEK, "mon-fri/2", BITS(1, 3, 5));
    assert_bits(CRON_DAY_OF_WEEK, "1-6/2", BITS(1, 3, 5));
}

static void test_list(void **state)
{
    (void)state;
    assert_bits(CRON_MINUTE, "1,2,3", BITS(1, 2, 3));
    assert_bits(CRON_MINUTE, "0,30", BITS(0, 30));
    assert_bits(CRON_MINUTE, "1,1,1", BITS(1));
    assert_bits(CRON_MINUTE, "2-11/5,3", BITS(2, 3, 7));
    /* celery's own test: 2-4/3,*\/5,0-21/4 */
    assert_bits(CRON_MINUTE, "2-4/3,*/5,0-21/4",
                BITS(0, 2, 4, 5, 8, 10, 12, 15, 16, 20, 25, 30, 35, 40, 45, 50, 55));
    /* celery's documentation example */
    assert_bits(CRON_MINUTE, "1,13,30-45,50-59/2",
                BITS(1, 13, 50, 52, 54, 56, 58) | bits_step(30, 45, 1));
    assert_bits(CRON_HOUR, "0,8-17/2", BITS(0, 8, 10, 12, 14, 16));
    assert_bits(CRON_HOUR, "*,3", ALL_HOUR);
    assert_bits(CRON_DAY_OF_WEEK, "sat,sun", BITS(6, 0));
    assert_bits(CRON_DAY_OF_WEEK, "mon,3,fri-sat", BITS(1, 3, 5, 6));
}

static void test_blanks(void **state)
{
    (void)state;
    /* the whole value is stripped (configparser does it) */
    assert_bits(CRON_MINUTE, "  */30\t", BITS(0, 30));
    assert_bits(CRON_MINUTE, " * ", ALL_MIN);
    /* inside a list: celery accepts blanks around plain numbers, and after any item but '*' */
    assert_bits(CRON_MINUTE, "1, 2", BITS(1, 2));
    assert_bits(CRON_MINUTE, "1 ,2", BITS(1, 2));
    assert_bits(CRON_MINUTE, "1 , 2 ,\t3", BITS(1, 2, 3));
    assert_bits(CRON_MINUTE, "1-5 ,7", BITS(1, 2, 3, 4, 5, 7));
    assert_bits(CRON_MINUTE, "*/30 , 15", BITS(0, 15, 30));
    assert_bits(CRON_MINUTE, "1-9/4 ,59", BITS(1, 5, 9, 59));
    assert_bits(CRON_DAY_OF_WEEK, "1, 2", BITS(1, 2));
    assert_bits(CRON_DAY_OF_WEEK, "mon ,fri", BITS(1, 5));
    assert_bits(CRON_DAY_OF_WEEK, "mon-fri , 0", BITS(0, 1, 2, 3, 4, 5));
}

static void test_day_names(void **state)
{
    (void)state;
    static const char *const abbr[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    static const char *const full[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday"};
    static const char *const upper[7] = {"SUN", "Mon", "TUESDAY", "Wednesday",
                                         "tHu", "FRI", "Saturday"};
    for (int d = 0; d < 7; d++) {
        assert_bits(CRON_DAY_OF_WEEK, abbr[d], BITS(d));
        assert_bits(CRON_DAY_OF_WEEK, full[d], BITS(d));
        assert_bits(CRON_DAY_OF_WEEK, upper[d], BITS(d));
    }
    /* celery reads the first three letters; longer prefixes of the name work too */
    assert_bits(CRON_DAY_OF_WEEK, "tues", BITS(2));
    assert_bits(CRON_DAY_OF_WEEK, "wednes", BITS(3));
    assert_bits(CRON_DAY_OF_WEEK, "thur", BITS(4));
    assert_bits(CRON_DAY_OF_WEEK, "thurs", BITS(4));
    assert_bits(CRON_DAY_OF_WEEK, "mon-fri", BITS(1, 2, 3, 4, 5));
    assert_bits(CRON_DAY_OF_WEEK, "Monday-Friday", BITS(1, 2, 3, 4, 5));
    assert_bits(CRON_DAY_OF_WEEK, "sun-sat", ALL_DOW);
    assert_bits(CRON_DAY_OF_WEEK, "1-fri", BITS(1, 2, 3, 4, 5));
    assert_bits(CRON_DAY_OF_WEEK, "sat-1", BITS(6, 0, 1));
    assert_bits(CRON_DAY_OF_WEEK, "sun,wed-thu", BITS(0, 3, 4));
}

/* ---- parsing: rejected forms and their messages ---- */

static void test_bad_empty(void **state)
{
    (void)state;
    expect_bad(CRON_MINUTE, "", "the value is empty");
    expect_bad(CRON_HOUR, "   ", "the value is empty");
    expect_bad(CRON_DAY_OF_WEEK, NULL, "the value is empty");
    expect_bad(CRON_MINUTE, "1,", "empty item");
    expect_bad(CRON_MINUTE, ",1", "empty item");
    expect_bad(CRON_MINUTE, "1,,2", "empty item");
    expect_bad(CRON_MINUTE, "1, ,2", "empty item");
    expect_bad(CRON_MINUTE, ",", "empty item");
}

static void test_bad_range_of_values(void **state)
{
    (void)state;
    expect_bad(CRON_MINUTE, "60", "value 60 is out of range 0-59");
    expect_bad(CRON_MINUTE, "1-60", "end of the range 60 is out of range 0-59");
    expect_bad(CRON_MINUTE, "99999999999999999999999", "out of range 0-59");
    expect_bad(CRON_HOUR, "24", "value 24 is out of range 0-23");
    expect_bad(CRON_HOUR, "0-24/2", "end of the range 24 is out of range 0-23");
    expect_bad(CRON_DAY_OF_WEEK, "7", "value 7 is out of range 0-6");
    expect_bad(CRON_DAY_OF_WEEK, "mon-7", "end of the range 7 is out of range 0-6");
    expect_bad(CRON_MINUTE, "-5", "negative numbers are not allowed");
    expect_bad(CRON_MINUTE, "1,-5", "negative numbers are not allowed");
    /* the offending item is named when the value is a list */
    expect_bad(CRON_MINUTE, "1,60,3", "item '60': value 60 is out of range 0-59");
}

static void test_bad_step(void **state)
{
    (void)state;
    expect_bad(CRON_MINUTE, "*/0", "step 0 is not allowed");
    expect_bad(CRON_MINUTE, "1-5/0", "step 0 is not allowed");
    expect_bad(CRON_HOUR, "*/00", "step 0 is not allowed");
    expect_bad(CRON_MINUTE, "*/", "'/' must be followed by a step");
    expect_bad(CRON_MINUTE, "1-5/", "'/' must be followed by a step");
    expect_bad(CRON_MINUTE, "*/-1", "'/' must be followed by a step");
    expect_bad(CRON_MINUTE, "*/x", "step 'x' is not a whole number");
    expect_bad(CRON_DAY_OF_WEEK, "*/mon", "step 'mon' is not a whole number");
    expect_bad(CRON_MINUTE, "*/2/3", "only one step");
    /* celery does not accept a/n (it is not a range) */
    expect_bad(CRON_MINUTE, "5/15", "a step needs '*' or a range before '/'");
    expect_bad(CRON_DAY_OF_WEEK, "mon/2", "a step needs '*' or a range before '/'");
}

static void test_bad_garbage(void **state)
{
    (void)state;
    expect_bad(CRON_MINUTE, "abc", "'abc' is not a number");
    expect_bad(CRON_HOUR, "x", "'x' is not a number");
    expect_bad(CRON_MINUTE, "1_0", "'1_0' is not a number");
    expect_bad(CRON_MINUTE, "5x", "'5x' is not a number");
    expect_bad(CRON_MINUTE, "1.5", "unexpected '.5'");
    expect_bad(CRON_MINUTE, "+5", "unexpected '+5' where the value should be");
    expect_bad(CRON_MINUTE, "**", "'*' can only stand alone");
    expect_bad(CRON_MINUTE, "*-5", "'*' can only stand alone");
    expect_bad(CRON_MINUTE, "1-", "the end of the range is missing");
    expect_bad(CRON_MINUTE, "1--5", "unexpected '-5' where the end of the range should be");
    expect_bad(CRON_MINUTE, "1-2-3", "a range has two ends");
    expect_bad(CRON_MINUTE, "1 - 5", "blanks inside an item are not allowed");
    expect_bad(CRON_MINUTE, "1 5", "blanks inside an item are not allowed");
    expect_bad(CRON_MINUTE, "0;30", "unexpected ';30'");
    expect_bad(CRON_HOUR, "'*/4'", "unexpected ''*/4''");

    /* control characters are shown as '?' */
    rdm_err err;
    uint64_t bits;
    assert_int_equal(cron_parse_field(CRON_MINUTE, "1\x01", &bits, &err), RDM_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "minute '1?': unexpected '?'"));
}

static void test_bad_day_names(void **state)
{
    (void)state;
    expect_bad(CRON_DAY_OF_WEEK, "funday", "'funday' is neither a number nor a day name");
    expect_bad(CRON_DAY_OF_WEEK, "mo", "'mo' is neither a number nor a day name");
    expect_bad(CRON_DAY_OF_WEEK, "monkey", "'monkey' is neither a number nor a day name");
    expect_bad(CRON_DAY_OF_WEEK, "sundays", "'sundays' is neither a number nor a day name");
    expect_bad(CRON_DAY_OF_WEEK, "mon1", "'mon1' is neither a number nor a day name");
    expect_bad(CRON_DAY_OF_WEEK, "mon-xyz", "'xyz' is neither a number nor a day name");
    /* names are for DAY_OF_WEEK only (celery would read 'mon' as 1 anywhere) */
    expect_bad(CRON_MINUTE, "mon", "'mon' is a day name, allowed only in DAY_OF_WEEK");
    expect_bad(CRON_HOUR, "1-fri", "'fri' is a day name, allowed only in DAY_OF_WEEK");
    /* the DAY_OF_WEEK message lists the names */
    expect_bad(CRON_DAY_OF_WEEK, "8", "sun, mon, tue, wed, thu, fri, sat");
}

static void test_bad_blanks(void **state)
{
    (void)state;
    /* celery rejects a blank before a range, a step, '*' or a name, and after a bare '*' */
    expect_bad(CRON_MINUTE, "1, 2-5", "a blank before '*', a range or a day name");
    expect_bad(CRON_MINUTE, "1, */5", "a blank before '*', a range or a day name");
    expect_bad(CRON_MINUTE, "1, *", "a blank before '*', a range or a day name");
    expect_bad(CRON_DAY_OF_WEEK, "1, mon", "a blank before '*', a range or a day name");
    expect_bad(CRON_MINUTE, "* ,5", "a blank after '*' inside a list");
}

static void test_bad_arguments(void **state)
{
    (void)state;
    uint64_t bits;
    rdm_err err;
    assert_int_equal(cron_parse_field((cron_field)7, "*", &bits, &err), RDM_ERR_INTERNAL);
    assert_int_equal(cron_parse_field(CRON_MINUTE, "*", NULL, &err), RDM_ERR_INTERNAL);
    /* err may be NULL */
    assert_int_equal(cron_parse_field(CRON_MINUTE, "x", &bits, NULL), RDM_ERR_CONFIG);
}

static void test_parse_spec(void **state)
{
    (void)state;
    cron_spec c, keep;
    rdm_err err;

    assert_int_equal(cron_parse(&c, "*/30", "*", "*", &err), RDM_OK);
    assert_true(c.minutes == BITS(0, 30));
    assert_true(c.hours == ALL_HOUR);
    assert_true(c.dows == ALL_DOW);
    assert_int_equal(cron_parse(&c, "0", "*/4", "mon-fri", &err), RDM_OK);
    assert_true(c.minutes == BITS(0));
    assert_true(c.hours == BITS(0, 4, 8, 12, 16, 20));
    assert_true(c.dows == BITS(1, 2, 3, 4, 5));

    keep = c;
    assert_int_equal(cron_parse(&c, "0", "*", "sun-", &err), RDM_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "day of week 'sun-'"));
    assert_memory_equal(&c, &keep, sizeof c);
    assert_int_equal(cron_parse(&c, "0", "25", "*", &err), RDM_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "hour '25'"));
    assert_int_equal(cron_parse(&c, "", "1", "*", &err), RDM_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "minute ''"));
    assert_memory_equal(&c, &keep, sizeof c);
}

/* ---- normalised form ---- */

static void expect_format(const char *m, const char *h, const char *d, const char *want)
{
    cron_spec c = spec(m, h, d), back;
    char buf[256];
    rdm_err err;

    assert_int_equal(cron_format(&c, buf, sizeof buf), 0);
    assert_string_equal(buf, want);
    /* the form reads back to the same spec */
    char fm[256], fh[256], fd[256];
    assert_int_equal(sscanf(buf, "%255s %255s %255s", fm, fh, fd), 3);
    memset(&back, 0, sizeof back);
    assert_int_equal(cron_parse(&back, fm, fh, fd, &err), RDM_OK);
    assert_true(back.minutes == c.minutes && back.hours == c.hours && back.dows == c.dows);
}

static void test_format(void **state)
{
    (void)state;
    expect_format("*/30", "*", "*", "*/30 * *");
    expect_format("*/10", "*", "*", "*/10 * *");
    expect_format("0", "*/4", "*", "0 */4 *");
    expect_format("0-59/2", "0-23", "0-6", "*/2 * *");
    expect_format("0,20", "9-17", "mon-fri", "0,20 9-17 mon-fri");
    expect_format("0,30", "*", "*", "*/30 * *");
    expect_format("5", "0", "sat,sun", "5 0 sun,sat");
    expect_format("1,2", "22-2", "fri-mon", "1,2 0-2,22,23 sun,mon,fri,sat");
    expect_format("0,31", "12", "*/2", "0,31 12 */2");
    expect_format("*/7", "1-23/2", "wed", "*/7 1,3,5,7,9,11,13,15,17,19,21,23 wed");
    expect_format("59", "23", "6", "59 23 sat");

    cron_spec c = spec("*/30", "*", "*");
    char small[6];
    assert_int_equal(cron_format(&c, small, sizeof small), -1);
    assert_string_equal(small, "*/30 ");
    assert_int_equal(cron_format(&c, small, 0), -1);
    assert_int_equal(cron_format(NULL, small, sizeof small), -1);
}

/* ---- next fire time ---- */

static void test_next_every_2_minutes(void **state)
{
    (void)state;
    set_tz(TZ_UTC);
    cron_spec c = spec("*/2", "*", "*");
    expect_next(&c, utc(2026, 1, 15, 12, 0, 30), utc(2026, 1, 15, 12, 2, 0));
    expect_next(&c, utc(2026, 1, 15, 12, 1, 0), utc(2026, 1, 15, 12, 2, 0));
    /* strictly after: a fire time itself gives the next one */
    expect_next(&c, utc(2026, 1, 15, 12, 2, 0), utc(2026, 1, 15, 12, 4, 0));
    expect_next(&c, utc(2026, 1, 15, 12, 1, 59), utc(2026, 1, 15, 12, 2, 0));
    expect_next(&c, utc(2026, 1, 15, 12, 58, 59), utc(2026, 1, 15, 13, 0, 0));
    expect_next(&c, utc(2026, 1, 15, 23, 59, 0), utc(2026, 1, 16, 0, 0, 0));
    expect_next(&c, utc(2026, 12, 31, 23, 58, 1), utc(2027, 1, 1, 0, 0, 0));
    expect_next(&c, utc(2028, 2, 28, 23, 59, 59), utc(2028, 2, 29, 0, 0, 0));
}

static void test_next_every_4_hours(void **state)
{
    (void)state;
    set_tz(TZ_UTC);
    cron_spec c = spec("0", "*/4", "*");
    expect_next(&c, utc(2026, 1, 15, 5, 10, 0), utc(2026, 1, 15, 8, 0, 0));
    expect_next(&c, utc(2026, 1, 15, 8, 0, 0), utc(2026, 1, 15, 12, 0, 0));
    expect_next(&c, utc(2026, 1, 15, 7, 59, 59), utc(2026, 1, 15, 8, 0, 0));
    expect_next(&c, utc(2026, 1, 15, 20, 0, 0), utc(2026, 1, 16, 0, 0, 0));
    expect_next(&c, utc(2026, 1, 15, 23, 59, 59), utc(2026, 1, 16, 0, 0, 0));
}

static void test_next_product_defaults_msk(void **state)
{
    (void)state;
    const int msk = 180;
    set_tz(TZ_MSK);
    cron_spec status = spec("*/30", "*", "*");
    cron_spec suspend = spec("*/10", "*", "*");
    cron_spec transfer = spec("0", "*/4", "*");

    expect_next(&status, at(2026, 5, 10, 10, 15, 0, msk), at(2026, 5, 10, 10, 30, 0, msk));
    expect_next(&status, at(2026, 5, 10, 10, 30, 0, msk), at(2026, 5, 10, 11, 0, 0, msk));
    expect_next(&status, at(2026, 5, 10, 23, 45, 0, msk), at(2026, 5, 11, 0, 0, 0, msk));
    expect_next(&suspend, at(2026, 5, 10, 10, 59, 59, msk), at(2026, 5, 10, 11, 0, 0, msk));
    expect_next(&suspend, at(2026, 5, 10, 10, 0, 0, msk), at(2026, 5, 10, 10, 10, 0, msk));
    expect_next(&suspend, at(2026, 5, 10, 10, 5, 0, msk), at(2026, 5, 10, 10, 10, 0, msk));
    expect_next(&transfer, at(2026, 5, 10, 10, 0, 0, msk), at(2026, 5, 10, 12, 0, 0, msk));
    /* local midnight is 21:00 UTC the day before */
    expect_next(&transfer, at(2026, 5, 10, 21, 30, 0, msk), utc(2026, 5, 10, 21, 0, 0));

    /* a whole local year: 6 fires a day, each one strictly later, on the hour */
    time_t t = at(2026, 1, 1, 0, 0, 0, msk) - 1, end = at(2027, 1, 1, 0, 0, 0, msk);
    int n = 0;
    for (;;) {
        time_t next = cron_next(&transfer, t);
        assert_true(next > t);
        if (next >= end)
            break;
        assert_int_equal((next - at(2026, 1, 1, 0, 0, 0, msk)) % (4 * 3600), 0);
        t = next;
        n++;
    }
    assert_int_equal(n, 365 * 6);
}

static void test_next_day_of_week(void **state)
{
    (void)state;
    set_tz(TZ_UTC);
    /* 2026-01-17 is a Saturday, 2026-01-19 a Monday */
    cron_spec mon9 = spec("0", "9", "mon");
    expect_next(&mon9, utc(2026, 1, 17, 10, 0, 0), utc(2026, 1, 19, 9, 0, 0));
    expect_next(&mon9, utc(2026, 1, 19, 9, 0, 0), utc(2026, 1, 26, 9, 0, 0));
    expect_next(&mon9, utc(2026, 1, 19, 8, 59, 59), utc(2026, 1, 19, 9, 0, 0));
    /* crosses a month and a year */
    expect_next(&mon9, utc(2026, 12, 29, 0, 0, 0), utc(2027, 1, 4, 9, 0, 0));

    cron_spec sat = spec("30", "23", "sat");
    expect_next(&sat, utc(2026, 1, 17, 23, 30, 0), utc(2026, 1, 24, 23, 30, 0));
    expect_next(&sat, utc(2026, 1, 18, 0, 0, 0), utc(2026, 1, 24, 23, 30, 0));

    cron_spec sun = spec("0", "0", "0");
    expect_next(&sun, utc(2026, 1, 17, 23, 59, 59), utc(2026, 1, 18, 0, 0, 0));

    cron_spec weekend = spec("*/30", "*", "fri-mon"); /* wraps: fri, sat, sun, mon */
    expect_next(&weekend, utc(2026, 1, 20, 12, 0, 0), utc(2026, 1, 23, 0, 0, 0));
    expect_next(&weekend, utc(2026, 1, 19, 23, 30, 0), utc(2026, 1, 23, 0, 0, 0));

    /* the day of week is the local one: Monday 01:00 in Moscow is Sunday 22:00 UTC */
    set_tz(TZ_MSK);
    cron_spec mon1 = spec("0", "1", "mon");
    expect_next(&mon1, utc(2026, 1, 18, 12, 0, 0), utc(2026, 1, 18, 22, 0, 0));
    expect_next(&mon1, utc(2026, 1, 18, 22, 0, 0), utc(2026, 1, 25, 22, 0, 0));
}

static void test_next_none(void **state)
{
    (void)state;
    set_tz(TZ_UTC);
    cron_spec c = spec("*", "*", "*");
    cron_spec z = c;
    z.minutes = 0;
    assert_true(cron_next(&z, utc(2026, 1, 1, 0, 0, 0)) == (time_t)-1);
    z = c;
    z.hours = 0;
    assert_true(cron_next(&z, utc(2026, 1, 1, 0, 0, 0)) == (time_t)-1);
    z = c;
    z.dows = 0x80; /* only a bit outside 0-6 */
    assert_true(cron_next(&z, utc(2026, 1, 1, 0, 0, 0)) == (time_t)-1);
    assert_true(cron_next(NULL, utc(2026, 1, 1, 0, 0, 0)) == (time_t)-1);
}

/* CET-1CEST,M3.5.0,M10.5.0/3: 2026-03-29 (Sunday) 02:00 CET -> 03:00 CEST at 01:00 UTC;
 * 2026-10-25 (Sunday) 03:00 CEST -> 02:00 CET at 01:00 UTC. */
enum { CET = 60, CEST = 120 };

static void test_tz_is_effective(void **state)
{
    (void)state;
    struct tm tm;
    time_t t = utc(2026, 7, 1, 12, 0, 0);
    set_tz(TZ_CET);
    assert_non_null(localtime_r(&t, &tm));
    assert_int_equal(tm.tm_hour, 14);
    t = utc(2026, 3, 29, 1, 0, 0);
    assert_non_null(localtime_r(&t, &tm));
    assert_int_equal(tm.tm_hour, 3);
}

#ifndef _WIN32 /* POSIX TZ rules with DST: the Windows CRT reads only "EST5EDT"-style TZ with US   \
                  rules */
static void test_dst_spring_gap_daily(void **state)
{
    (void)state;
    set_tz(TZ_CET);
    cron_spec c = spec("30", "2", "*");
    /* 02:30 does not exist on 2026-03-29: no fire that day */
    expect_next(&c, at(2026, 3, 28, 2, 30, 0, CET), at(2026, 3, 30, 2, 30, 0, CEST));
    expect_next(&c, at(2026, 3, 29, 0, 0, 0, CET), at(2026, 3, 30, 2, 30, 0, CEST));
    expect_next(&c, at(2026, 3, 27, 12, 0, 0, CET), at(2026, 3, 28, 2, 30, 0, CET));
    expect_next(&c, at(2026, 3, 30, 2, 30, 0, CEST), at(2026, 3, 31, 2, 30, 0, CEST));

    /* restricted to Sundays: the next one is a week later */
    cron_spec sun = spec("30", "2", "sun");
    expect_next(&sun, at(2026, 3, 22, 2, 30, 0, CET), at(2026, 4, 5, 2, 30, 0, CEST));
}

static void test_dst_spring_gap_every_30(void **state)
{
    (void)state;
    set_tz(TZ_CET);
    cron_spec c = spec("*/30", "*", "*");
    /* 01:00, 01:30 CET, then 02:00 and 02:30 do not exist, then 03:00 CEST */
    const time_t want[] = {
        at(2026, 3, 29, 1, 0, 0, CET),  at(2026, 3, 29, 1, 30, 0, CET),
        at(2026, 3, 29, 3, 0, 0, CEST), at(2026, 3, 29, 3, 30, 0, CEST),
        at(2026, 3, 29, 4, 0, 0, CEST),
    };
    expect_seq(&c, at(2026, 3, 29, 0, 45, 0, CET), want, 5);
    /* the instants themselves, in UTC */
    assert_true(want[1] == utc(2026, 3, 29, 0, 30, 0));
    assert_true(want[2] == utc(2026, 3, 29, 1, 0, 0));
    expect_next(&c, utc(2026, 3, 29, 0, 59, 59), utc(2026, 3, 29, 1, 0, 0));

    cron_spec hourly = spec("0", "*", "*");
    const time_t want_h[] = {utc(2026, 3, 29, 0, 0, 0), utc(2026, 3, 29, 1, 0, 0),
                             utc(2026, 3, 29, 2, 0, 0)};
    expect_seq(&hourly, utc(2026, 3, 28, 23, 30, 0), want_h, 3);
}

static void test_dst_fall_back_daily(void **state)
{
    (void)state;
    set_tz(TZ_CET);
    cron_spec c = spec("30", "2", "*");
    /* 02:30 happens twice on 2026-10-25: fire at the first (CEST) only */
    expect_next(&c, at(2026, 10, 24, 12, 0, 0, CEST), at(2026, 10, 25, 2, 30, 0, CEST));
    assert_true(at(2026, 10, 25, 2, 30, 0, CEST) == utc(2026, 10, 25, 0, 30, 0));
    expect_next(&c, at(2026, 10, 25, 2, 30, 0, CEST), at(2026, 10, 26, 2, 30, 0, CET));
    /* from inside the second 02:00-03:00 (02:15 CET), before the second 02:30 */
    expect_next(&c, at(2026, 10, 25, 2, 15, 0, CET), at(2026, 10, 26, 2, 30, 0, CET));
    expect_next(&c, at(2026, 10, 25, 2, 29, 59, CET), at(2026, 10, 26, 2, 30, 0, CET));

    /* exactly one fire between the two midnights */
    time_t t = at(2026, 10, 25, 0, 0, 0, CEST), end = at(2026, 10, 26, 0, 0, 0, CET);
    int n = 0;
    while ((t = cron_next(&c, t)) < end)
        n++;
    assert_int_equal(n, 1);
}

static void test_dst_fall_back_hourly(void **state)
{
    (void)state;
    set_tz(TZ_CET);
    cron_spec c = spec("0", "*", "*");
    /* every distinct wall hour once: 00, 01, 02 CEST, (02 CET skipped), 03 ... 23 CET */
    time_t want[24];
    int n = 0;
    for (int h = 0; h <= 2; h++)
        want[n++] = at(2026, 10, 25, h, 0, 0, CEST);
    for (int h = 3; h <= 23; h++)
        want[n++] = at(2026, 10, 25, h, 0, 0, CET);
    assert_int_equal(n, 24);
    expect_seq(&c, at(2026, 10, 24, 23, 30, 0, CEST), want, 24);
    /* in UTC: 22, 23, 00, then 02 (01:00 UTC = 02:00 CET, the second 02:00, does not fire) */
    assert_true(want[2] == utc(2026, 10, 25, 0, 0, 0));
    assert_true(want[3] == utc(2026, 10, 25, 2, 0, 0));
    expect_next(&c, utc(2026, 10, 25, 0, 0, 0), utc(2026, 10, 25, 2, 0, 0));
    expect_next(&c, utc(2026, 10, 25, 1, 0, 0), utc(2026, 10, 25, 2, 0, 0));
    /* the next day is 24 plain hours again */
    expect_next(&c, at(2026, 10, 25, 23, 0, 0, CET), at(2026, 10, 26, 0, 0, 0, CET));
}

static void test_dst_fall_back_every_30(void **state)
{
    (void)state;
    set_tz(TZ_CET);
    cron_spec c = spec("*/30", "*", "*");
    /* 02:00, 02:30 fire in CEST; their second occurrences do not; next is 03:00 CET */
    const time_t want[] = {utc(2026, 10, 25, 0, 0, 0), utc(2026, 10, 25, 0, 30, 0),
                           utc(2026, 10, 25, 2, 0, 0), utc(2026, 10, 25, 2, 30, 0)};
    expect_seq(&c, utc(2026, 10, 24, 23, 45, 0), want, 4);
    expect_next(&c, utc(2026, 10, 25, 0, 59, 59), utc(2026, 10, 25, 2, 0, 0));
    expect_next(&c, at(2026, 10, 25, 2, 15, 0, CET), at(2026, 10, 25, 3, 0, 0, CET));
}

static void test_dst_whole_year_counts(void **state)
{
    (void)state;
    set_tz(TZ_CET);
    const time_t from = at(2026, 1, 1, 0, 0, 0, CET) - 1, end = at(2027, 1, 1, 0, 0, 0, CET);
    struct {
        const char *m, *h;
        int want;
    } cases[] = {
        {"30", "2", 365 - 1},        /* one day without 02:30 */
        {"0", "*/4", 365 * 6},       /* 0, 4, 8 ... never in the gap or the overlap */
        {"*/30", "*", 365 * 48 - 2}, /* 02:00 and 02:30 missing in March */
        {"0", "*", 365 * 24 - 1},    /* 02:00 missing in March, not doubled in October */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cron_spec c = spec(cases[i].m, cases[i].h, "*");
        time_t t = from;
        int n = 0;
        for (;;) {
            time_t next = cron_next(&c, t);
            assert_true(next > t);
            if (next >= end)
                break;
            t = next;
            n++;
        }
        if (n != cases[i].want)
            fail_msg("'%s %s *': %d fires in 2026, want %d", cases[i].m, cases[i].h, n,
                     cases[i].want);
    }
}

/* Lord Howe Island: +10:30 / +11, DST ends 2026-04-05 02:00 (+11) -> 01:30 (+10:30) at
 * 15:00 UTC on 04-04, and starts 2026-10-04 02:00 (+10:30) -> 02:30 (+11) at 15:30 UTC on 10-03. */
static void test_dst_half_hour_shift(void **state)
{
    (void)state;
    set_tz(TZ_LHI);
    cron_spec c = spec("*/15", "*", "*");
    /* fall-back: 01:30 and 01:45 fire once (+11); next is 02:00 (+10:30) */
    const time_t back[] = {at(2026, 4, 5, 1, 30, 0, 660), at(2026, 4, 5, 1, 45, 0, 660),
                           at(2026, 4, 5, 2, 0, 0, 630), at(2026, 4, 5, 2, 15, 0, 630)};
    expect_seq(&c, at(2026, 4, 5, 1, 20, 0, 660), back, 4);
    assert_true(back[2] == utc(2026, 4, 4, 15, 30, 0));
    /* spring-forward: 02:00 and 02:15 do not exist */
    const time_t fwd[] = {at(2026, 10, 4, 1, 45, 0, 630), at(2026, 10, 4, 2, 30, 0, 660),
                          at(2026, 10, 4, 2, 45, 0, 660)};
    expect_seq(&c, at(2026, 10, 4, 1, 40, 0, 630), fwd, 3);
    assert_true(fwd[1] == utc(2026, 10, 3, 15, 30, 0));
}

/* An oracle that knows nothing of cron.c's method: scan every UTC minute with libc's
 * localtime_r, and fire on a matching wall minute the first time the wall clock shows it (a
 * wall time not above the highest one seen so far is a repeat). Compares its fire times in
 * [from, to) with successive cron_next() calls. */
static void expect_same_as_scan(const char *tz, const char *m, const char *h, const char *d,
                                time_t from, time_t to)
{
    cron_spec c = spec(m, h, d);
    long long maxwall = -1;
    time_t t, fire = from - 1;
    struct tm tm;
    int n = 0;

    set_tz(tz);
    /* from - 3 h: enough history to recognise a repeated wall time at `from` */
    for (t = from - 3 * 3600; t < to; t += 60) {
        assert_non_null(localtime_r(&t, &tm));
        long long wall =
            ((((long long)tm.tm_year * 12 + tm.tm_mon) * 31 + tm.tm_mday) * 24 + tm.tm_hour) * 60 +
            tm.tm_min;
        int first = wall > maxwall;
        if (first)
            maxwall = wall;
        if (t < from || !first || !(c.minutes >> tm.tm_min & 1) || !(c.hours >> tm.tm_hour & 1) ||
            !(c.dows >> tm.tm_wday & 1))
            continue;
        time_t got = cron_next(&c, fire);
        if (got != t)
            fail_msg("TZ=%s '%s %s %s' after %lld: cron_next %lld, scan %lld", tz, m, h, d,
                     (long long)fire, (long long)got, (long long)t);
        fire = t;
        n++;
    }
    time_t last = cron_next(&c, fire);
    if (last < to)
        fail_msg("TZ=%s '%s %s %s': cron_next fires at %lld after the scan's last", tz, m, h, d,
                 (long long)last);
    assert_true(n > 0 || last >= to);
}

static void test_dst_matches_minute_scan(void **state)
{
    (void)state;
    static const char *const specs[][3] = {
        {"*/30", "*", "*"}, {"*/10", "*", "*"},  {"0", "*", "*"},       {"30", "2", "*"},
        {"*", "2", "*"},    {"*/7", "1-3", "*"}, {"15,45", "2", "sun"}, {"0", "*/4", "*"},
        {"59", "1", "*"},   {"0", "3", "*"},     {"*/15", "*", "sat"},
    };
    const struct {
        const char *tz;
        time_t from;
    } windows[] = {
        {TZ_CET, utc(2026, 3, 28, 0, 0, 0)},  /* around the March change */
        {TZ_CET, utc(2026, 10, 24, 0, 0, 0)}, /* around the October change */
        {TZ_LHI, utc(2026, 4, 3, 0, 0, 0)},   /* 30-minute fall-back */
        {TZ_LHI, utc(2026, 10, 3, 0, 0, 0)},  /* 30-minute spring-forward */
        {TZ_MSK, utc(2026, 3, 28, 0, 0, 0)},  /* no DST */
    };
    for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++)
        for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++)
            expect_same_as_scan(windows[w].tz, specs[s][0], specs[s][1], specs[s][2],
                                windows[w].from, windows[w].from + 3 * 86400);
}

#endif

int main(void)
{
    const struct CMUnitTest parse_tests[] = {
        cmocka_unit_test(test_utc_helper),    cmocka_unit_test(test_star),
        cmocka_unit_test(test_star_step),     cmocka_unit_test(test_single),
        cmocka_unit_test(test_range),         cmocka_unit_test(test_range_wraps),
        cmocka_unit_test(test_range_step),    cmocka_unit_test(test_list),
        cmocka_unit_test(test_blanks),        cmocka_unit_test(test_day_names),
        cmocka_unit_test(test_bad_empty),     cmocka_unit_test(test_bad_range_of_values),
        cmocka_unit_test(test_bad_step),      cmocka_unit_test(test_bad_garbage),
        cmocka_unit_test(test_bad_day_names), cmocka_unit_test(test_bad_blanks),
        cmocka_unit_test(test_bad_arguments), cmocka_unit_test(test_parse_spec),
        cmocka_unit_test(test_format),
    };
    const struct CMUnitTest next_tests[] = {
        cmocka_unit_test(test_next_every_2_minutes),
        cmocka_unit_test(test_next_every_4_hours),
        cmocka_unit_test(test_next_product_defaults_msk),
        cmocka_unit_test(test_next_day_of_week),
        cmocka_unit_test(test_next_none),
    };
    const struct CMUnitTest dst_tests[] = {
        cmocka_unit_test(test_tz_is_effective),
#ifndef _WIN32
        cmocka_unit_test(test_dst_spring_gap_daily),
        cmocka_unit_test(test_dst_spring_gap_every_30),
        cmocka_unit_test(test_dst_fall_back_daily),
        cmocka_unit_test(test_dst_fall_back_hourly),
        cmocka_unit_test(test_dst_fall_back_every_30),
        cmocka_unit_test(test_dst_whole_year_counts),
        cmocka_unit_test(test_dst_half_hour_shift),
        cmocka_unit_test(test_dst_matches_minute_scan),
#endif
    };
    int failed = 0;

    failed += cmocka_run_group_tests_name("cron_parse", parse_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("cron_next", next_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("cron_next_dst", dst_tests, NULL, NULL);
    return failed ? 1 : 0;
}
