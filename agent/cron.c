/* cron.c - celery crontab fields and their next fire time (see cron.h and docs/CRON.md). */
#ifndef _WIN32
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#endif
#include "cron.h"
#include "../base/plat.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- fields ---- */

typedef struct cron_field_info {
    const char *name;    /* for messages */
    unsigned count;      /* values are 0 .. count-1 */
    const char *allowed; /* what the message says is allowed */
} cron_field_info;

static const cron_field_info cron_fields[] = {
    {"minute", 60,
     "allowed: a minute 0-59, '*', '*/n', 'a-b', 'a-b/n' or a comma-separated list "
     "of these (e.g. '0,30' or '*/10')"},
    {"hour", 24,
     "allowed: an hour 0-23, '*', '*/n', 'a-b', 'a-b/n' or a comma-separated list of "
     "these (e.g. '*/4' or '8-18')"},
    {"day of week", 7,
     "allowed: a day 0-6 (0 = Sunday) or a day name (sun, mon, tue, wed, thu, fri, sat, or the "
     "full English name), '*', '*/n', 'a-b', 'a-b/n' or a comma-separated list of these (e.g. "
     "'mon-fri' or 'sat,sun')"},
};

static const char *const cron_day_names[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                              "thursday", "friday", "saturday"};

/* Values larger than this are kept at this value while parsing (enough to be
 * out of range for values, and to mean "first value only" for steps). */
#define CRON_NUM_CAP 1000000UL

static int cron_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int cron_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int cron_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int cron_is_word(char c)
{
    return cron_is_digit(c) || cron_is_alpha(c) || c == '_';
}

static char cron_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Copies [s, s+n) into out for a message: at most 120 bytes (then "..."),
 * control characters as '?'. */
static void cron_quote(char *out, size_t outlen, const char *s, size_t n)
{
    size_t i, o = 0, lim = n > 120 ? 120 : n;

    for (i = 0; i < lim && o + 1 < outlen; i++)
        out[o++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (lim < n)
        for (i = 0; i < 3 && o + 1 < outlen; i++)
            out[o++] = '.';
    out[o] = '\0';
}

/* The parser's state for one field: the whole text (for messages) and the
 * current item. */
typedef struct cron_ctx {
    const cron_field_info *fi;
    cron_field f;
    char text[160]; /* quoted whole field */
    char item[160]; /* quoted current item, "" when the field is one item */
    rdm_err *err;
} cron_ctx;

/* Fails with "<field> '<text>'[, item '<item>']: <what>; <allowed>". */
static rdm_rc cron_bad(const cron_ctx *cx, const char *fmt, ...) RDM_PRINTF(2, 3);

static rdm_rc cron_bad(const cron_ctx *cx, const char *fmt, ...)
{
    char w[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w, sizeof w, fmt, ap);
    va_end(ap);
    if (cx->item[0])
        return rdm_fail(cx->err, RDM_ERR_CONFIG, "%s '%s', item '%s': %s; %s", cx->fi->name,
                        cx->text, cx->item, w, cx->fi->allowed);
    return rdm_fail(cx->err, RDM_ERR_CONFIG, "%s '%s': %s; %s", cx->fi->name, cx->text, w,
                    cx->fi->allowed);
}

/* Day name: a case-insensitive prefix of the English name, 3 letters or more
 * ("mon", "Mon", "tues", "thurs", "Saturday"). Returns 0-6 or -1. */
static int cron_day_name(const char *s, size_t n)
{
    int d;

    if (n < 3)
        return -1;
    for (d = 0; d < 7; d++) {
        const char *full = cron_day_names[d];
        size_t i;

        if (n > strlen(full))
            continue;
        for (i = 0; i < n && cron_lower(s[i]) == full[i]; i++)
            ;
        if (i == n)
            return d;
    }
    return -1;
}

/* Reads one value (a number, or a day name in DAY_OF_WEEK) at *p, a word
 * ([A-Za-z0-9_]+) ending before `end`. `role` names it for messages ("value",
 * "end of the range"). */
static rdm_rc cron_value(const cron_ctx *cx, const char **p, const char *end, const char *role,
                         unsigned *out)
{
    const char *s = *p, *e = s;
    char tok[160];
    int all_digits = 1, all_alpha = 1, day;

    while (e < end && cron_is_word(*e)) {
        if (!cron_is_digit(*e))
            all_digits = 0;
        if (!cron_is_alpha(*e))
            all_alpha = 0;
        e++;
    }
    if (e == s) {
        if (s == end)
            return cron_bad(cx, "the %s is missing", role);
        if (*s == '-' && strcmp(role, "value") == 0)
            return cron_bad(cx, "negative numbers are not allowed");
        cron_quote(tok, sizeof tok, s, (size_t)(end - s));
        return cron_bad(cx, "unexpected '%s' where the %s should be", tok, role);
    }
    cron_quote(tok, sizeof tok, s, (size_t)(e - s));
    if (all_digits) {
        unsigned long v = 0;

        for (; s < e; s++) {
            v = v * 10 + (unsigned long)(*s - '0');
            if (v > CRON_NUM_CAP)
                v = CRON_NUM_CAP;
        }
        if (v >= cx->fi->count)
            return cron_bad(cx, "%s %s is out of range 0-%u", role, tok, cx->fi->count - 1);
        *out = (unsigned)v;
    } else if (all_alpha && (day = cron_day_name(s, (size_t)(e - s))) >= 0) {
        if (cx->f != CRON_DAY_OF_WEEK)
            return cron_bad(cx, "'%s' is a day name, allowed only in DAY_OF_WEEK", tok);
        *out = (unsigned)day;
    } else if (cx->f == CRON_DAY_OF_WEEK) {
        return cron_bad(cx, "'%s' is neither a number nor a day name", tok);
    } else {
        return cron_bad(cx, "'%s' is not a number", tok);
    }
    *p = e;
    return RDM_OK;
}

/* Reads "/n" at *p (which points at '/'); n >= 1, digits only. */
static rdm_rc cron_step(const cron_ctx *cx, const char **p, const char *end, unsigned long *out)
{
    const char *s = *p + 1, *e = s;
    unsigned long v = 0;
    char tok[160];

    while (e < end && cron_is_word(*e))
        e++;
    if (e == s)
        return cron_bad(cx, "'/' must be followed by a step (a whole number 1 or more)");
    cron_quote(tok, sizeof tok, s, (size_t)(e - s));
    for (; s < e; s++) {
        if (!cron_is_digit(*s))
            return cron_bad(cx, "step '%s' is not a whole number", tok);
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > CRON_NUM_CAP)
            v = CRON_NUM_CAP;
    }
    if (v == 0)
        return cron_bad(cx, "step 0 is not allowed, the step must be 1 or more");
    *out = v;
    *p = e;
    return RDM_OK;
}

/* Sets every step-th value of the sequence lo, lo+1, ... hi, which wraps
 * around the field's end when hi < lo (celery: "fri-mon", "22-2"). */
static uint64_t cron_expand(unsigned count, unsigned lo, unsigned hi, unsigned long step)
{
    unsigned long len = (unsigned long)((hi + count - lo) % count) + 1, i;
    uint64_t bits = 0;

    for (i = 0; i < len; i += step)
        bits |= (uint64_t)1 << ((lo + i) % count);
    return bits;
}

/* One list item [s, e) (between commas, blanks included). Blanks follow
 * celery, whose parser (a regex prefix match, else int()) accepts blanks
 * after any item except a bare '*', and before a plain number only. */
static rdm_rc cron_item(cron_ctx *cx, const char *s, const char *e, uint64_t *bits)
{
    const char *a = s, *b = e, *p;
    int lead, trail, range = 0, stepped = 0;
    unsigned lo, hi;
    unsigned long step = 1;
    char rest[160];
    rdm_rc rc;

    while (a < b && cron_is_blank(*a))
        a++;
    while (b > a && cron_is_blank(b[-1]))
        b--;
    lead = a > s;
    trail = b < e;
    if (a == b)
        return cron_bad(cx, "the list has an empty item (a comma at the start or end, or two "
                            "commas in a row)");
    p = a;
    if (*p == '*') {
        lo = 0;
        hi = cx->fi->count - 1;
        range = 1;
        p++;
        if (p < b && *p == '/') {
            rc = cron_step(cx, &p, b, &step);
            if (rc)
                return rc;
            stepped = 1;
        } else if (p < b) {
            return cron_bad(cx, "'*' can only stand alone or be followed by '/n' (e.g. '*/15')");
        } else if (trail) {
            return cron_bad(cx, "a blank after '*' inside a list is not accepted (celery rejects "
                                "it); remove it");
        }
    } else {
        rc = cron_value(cx, &p, b, "value", &lo);
        if (rc)
            return rc;
        hi = lo;
        if (p < b && *p == '-') {
            p++;
            range = 1;
            rc = cron_value(cx, &p, b, "end of the range", &hi);
            if (rc)
                return rc;
        }
        if (p < b && *p == '/') {
            if (!range)
                return cron_bad(cx, "a step needs '*' or a range before '/' (e.g. '*/15' or "
                                    "'5-59/15'); celery does not accept 'a/n'");
            rc = cron_step(cx, &p, b, &step);
            if (rc)
                return rc;
            stepped = 1;
        }
    }
    if (p != b) {
        cron_quote(rest, sizeof rest, p, (size_t)(b - p));
        if (cron_is_blank(*p))
            return cron_bad(cx, "blanks inside an item are not allowed");
        if (*p == '/')
            return cron_bad(cx, "only one step ('/n') is allowed, unexpected '%s'", rest);
        if (*p == '-')
            return cron_bad(cx, "a range has two ends ('a-b'), unexpected '%s'", rest);
        return cron_bad(cx, "unexpected '%s'", rest);
    }
    if (lead && (range || stepped || !cron_is_digit(*a)))
        return cron_bad(cx, "a blank before '*', a range or a day name inside a list is not "
                            "accepted (celery allows it only before a plain number); remove it");
    *bits |= cron_expand(cx->fi->count, lo, hi, step);
    return RDM_OK;
}

rdm_rc cron_parse_field(cron_field f, const char *text, uint64_t *bits, rdm_err *err)
{
    cron_ctx cx;
    const char *s, *e, *p;
    uint64_t acc = 0;
    rdm_rc rc;

    if ((unsigned)f > (unsigned)CRON_DAY_OF_WEEK || !bits)
        return rdm_fail(err, RDM_ERR_INTERNAL, "cron_parse_field: bad arguments");
    memset(&cx, 0, sizeof cx);
    cx.fi = &cron_fields[f];
    cx.f = f;
    cx.err = err;
    s = text ? text : "";
    e = s + strlen(s);
    /* the whole value is stripped, as configparser does */
    while (s < e && cron_is_blank(*s))
        s++;
    while (e > s && cron_is_blank(e[-1]))
        e--;
    cron_quote(cx.text, sizeof cx.text, s, (size_t)(e - s));
    if (s == e)
        return cron_bad(&cx, "the value is empty");
    for (p = s;;) {
        const char *q = memchr(p, ',', (size_t)(e - p));

        if (!q)
            q = e;
        if (q != e || p != s)
            cron_quote(cx.item, sizeof cx.item, p, (size_t)(q - p));
        rc = cron_item(&cx, p, q, &acc);
        if (rc)
            return rc;
        if (q == e)
            break;
        p = q + 1;
    }
    *bits = acc;
    return RDM_OK;
}

rdm_rc cron_parse(cron_spec *out, const char *minute, const char *hour, const char *dow,
                  rdm_err *err)
{
    uint64_t m = 0, h = 0, d = 0;
    rdm_rc rc;

    if (!out)
        return rdm_fail(err, RDM_ERR_INTERNAL, "cron_parse: no output");
    rc = cron_parse_field(CRON_MINUTE, minute, &m, err);
    if (!rc)
        rc = cron_parse_field(CRON_HOUR, hour, &h, err);
    if (!rc)
        rc = cron_parse_field(CRON_DAY_OF_WEEK, dow, &d, err);
    if (rc)
        return rc;
    out->minutes = m;
    out->hours = (uint32_t)h;
    out->dows = (uint8_t)d;
    return RDM_OK;
}

/* ---- normalised text ---- */

typedef struct cron_out {
    char *buf;
    size_t len, used;
    int full;
} cron_out;

static void cron_put(cron_out *o, const char *s)
{
    size_t n = strlen(s);

    if (o->full || o->used + n >= o->len) {
        o->full = 1;
        if (o->len > 0) {
            size_t room = o->len - 1 - o->used;
            memcpy(o->buf + o->used, s, n < room ? n : room);
            o->used += n < room ? n : room;
            o->buf[o->used] = '\0';
        }
        return;
    }
    memcpy(o->buf + o->used, s, n + 1);
    o->used += n;
}

static void cron_put_value(cron_out *o, cron_field f, unsigned v)
{
    char num[16];

    if (f == CRON_DAY_OF_WEEK) {
        char name[4];
        memcpy(name, cron_day_names[v], 3);
        name[3] = '\0';
        cron_put(o, name);
        return;
    }
    snprintf(num, sizeof num, "%u", v);
    cron_put(o, num);
}

static void cron_put_field(cron_out *o, cron_field f, uint64_t bits)
{
    unsigned count = cron_fields[f].count, v, n;
    uint64_t all = count == 64 ? ~(uint64_t)0 : ((uint64_t)1 << count) - 1;
    int first = 1;

    bits &= all;
    if (bits == all) {
        cron_put(o, "*");
        return;
    }
    /* "*\/n" when it reads naturally: n divides the range, or 3 values or more */
    for (n = 2; n < count; n++)
        if ((count % n == 0 || 2 * n < count) && bits == cron_expand(count, 0, count - 1, n)) {
            char s[16];
            snprintf(s, sizeof s, "*/%u", n);
            cron_put(o, s);
            return;
        }
    if (!bits) {
        cron_put(o, "(none)");
        return;
    }
    for (v = 0; v < count; v++) {
        unsigned w = v;

        if (!(bits >> v & 1))
            continue;
        while (w + 1 < count && (bits >> (w + 1) & 1))
            w++;
        if (!first)
            cron_put(o, ",");
        first = 0;
        cron_put_value(o, f, v);
        if (w == v + 1) {
            cron_put(o, ",");
            cron_put_value(o, f, w);
        } else if (w > v + 1) {
            cron_put(o, "-");
            cron_put_value(o, f, w);
        }
        v = w;
    }
}

int cron_format(const cron_spec *c, char *buf, size_t len)
{
    cron_out o;

    o.buf = buf;
    o.len = buf ? len : 0;
    o.used = 0;
    o.full = 0;
    if (o.len)
        buf[0] = '\0';
    if (!c || !o.len)
        return -1;
    cron_put_field(&o, CRON_MINUTE, c->minutes);
    cron_put(&o, " ");
    cron_put_field(&o, CRON_HOUR, c->hours);
    cron_put(&o, " ");
    cron_put_field(&o, CRON_DAY_OF_WEEK, c->dows);
    return o.full ? -1 : 0;
}

/* ---- next fire time ---- */

#define cron_localtime plat_localtime

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12). */
static int64_t cron_days(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* A wall clock as seconds since 1970-01-01 00:00 of that wall clock. */
static int64_t cron_wall(const struct tm *tm)
{
    return cron_days((int64_t)tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday) * 86400 +
           (int64_t)tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}

/* The local wall clock of instant t, as cron_wall(); 0 if libc cannot. */
static int cron_wall_of(int64_t t, int64_t *wall)
{
    struct tm tm;

    if ((int64_t)(time_t)t != t || !cron_localtime((time_t)t, &tm))
        return 0;
    *wall = cron_wall(&tm);
    return 1;
}

/* The first instant whose local wall clock is w. Returns 1 and *t, 0 when w
 * does not exist (a spring-forward gap), -1 when libc cannot convert.
 *
 * An instant t shows w when t + offset(t) == w. The offsets that can matter
 * are those in force within a day of w; probing two days before, at, and two
 * days after w finds them (every zone changes its offset at most twice in
 * four days), and each candidate w - offset is checked. */
static int cron_first_instant(int64_t w, int64_t *t)
{
    static const int64_t probes[3] = {-2 * 86400, 0, 2 * 86400};
    int64_t offs[3], best = 0;
    int i, j, n = 0, found = 0;

    for (i = 0; i < 3; i++) {
        int64_t p = w + probes[i], pw;

        if (!cron_wall_of(p, &pw))
            return -1;
        for (j = 0; j < n && offs[j] != pw - p; j++)
            ;
        if (j == n)
            offs[n++] = pw - p;
    }
    for (i = 0; i < n; i++) {
        int64_t cand = w - offs[i], cw;

        if (!cron_wall_of(cand, &cw))
            return -1;
        if (cw == w && (!found || cand < best)) {
            best = cand;
            found = 1;
        }
    }
    if (found)
        *t = best;
    return found;
}

/* The lowest set bit of bits at or above `from`, or `count` if none. */
static unsigned cron_next_bit(uint64_t bits, unsigned from, unsigned count)
{
    for (; from < count; from++)
        if (bits >> from & 1)
            return from;
    return count;
}

/* Days searched before giving up: a matching day comes every week; the slack
 * covers days whose matching times all fall in a gap (or a skipped day). */
#define CRON_MAX_DAYS 400

time_t cron_next(const cron_spec *c, time_t after)
{
    struct tm tm;
    int64_t day, a = (int64_t)after;
    unsigned h, m;
    int iter;

    if (!c || !(c->minutes & ((((uint64_t)1) << 60) - 1)) || !(c->hours & 0xffffffu) ||
        !(c->dows & 0x7fu))
        return (time_t)-1;
    if (!cron_localtime(after, &tm))
        return (time_t)-1;
    /* Any later fire time has a later wall clock than `after` (first
     * occurrences keep the order of wall clocks), so start at the next whole
     * wall minute; wall times already passed in a fall-back hour are skipped
     * by the `t > after` test below. */
    day = cron_days((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    h = (unsigned)tm.tm_hour;
    m = (unsigned)tm.tm_min + 1;
    for (iter = 0; iter < CRON_MAX_DAYS; iter++, day++, h = 0, m = 0) {
        int dow = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */

        if (!(c->dows >> dow & 1))
            continue;
        for (; h < 24; h++, m = 0) {
            if (!(c->hours >> h & 1))
                continue;
            for (m = cron_next_bit(c->minutes, m, 60); m < 60;
                 m = cron_next_bit(c->minutes, m + 1, 60)) {
                int64_t t;
                int r = cron_first_instant(day * 86400 + (int64_t)h * 3600 + (int64_t)m * 60, &t);

                if (r < 0)
                    return (time_t)-1;
                if (r > 0 && t > a)
                    return (time_t)t;
            }
        }
    }
    return (time_t)-1;
}
