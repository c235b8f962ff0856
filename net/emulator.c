/*
 * emulator.c - rdm-datamart-emulator: a local stand-in for the regional
 * datamart, for installations without one, the demo and the tests. A
 * program, not part of the net library: it serves the protocol of
 * ../shared/spec/PROTOCOL.md over libmicrohttpd and judges each file with
 * the agent's own ФЛК (agent/flc.c) against the same profiles.
 *
 *   POST /v2/datamarts/{DM}/tables/{table}/{upload|delete}  text/csv body -> id
 *   GET  /v2/requests/{id}/status                            {"code": N}
 *   POST /api/v1/auth_system                                 form -> token JSON
 *   /api/v1/secure/{OGRN}/{DM}/{NAME}/{ID}/v2/...            the same, Bearer
 *
 * A file that passes the ФЛК goes 0 -> 2 -> 6 -> 3, one step per --step-ms;
 * one that fails goes 0 -> 6 -> 7; an unknown id is 5. Every accepted file
 * is appended (and fsynced) to the --state file, read back at start: ids
 * and statuses survive restarts, and tests read what was accepted there.
 * Faults on request: see usage().
 */
#include "../agent/flc.h"
#include "../agent/profile.h"
#include "../base/plat.h"
#include "../base/sha256.h"

#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef _WIN32
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>
#endif

#if MHD_VERSION < 0x00097002
typedef int MHD_Result;
#else
typedef enum MHD_Result MHD_Result;
#endif

typedef struct req_rec {
    char id[40];
    long long at_ms; /* wall clock ms when accepted */
    char table[64];
    char op[8];
    long rows;
    int flc_ok;
} req_rec;

static struct {
    const char *listen, *port_file, *state, *save_dir, *datamart, *prefix, *username, *password;
    const char *tls_cert, *tls_key;
    long step_ms;
    int fail_first, fail_code, drop_first, delay_first, token_ttl, expire_after, refuse;
    long delay_ms, retry_after;
    double fail_rate, delay_rate, drop_rate;
    const char *fail_on; /* upload, status, all */
    profile prof;
    /* state, under mu */
    pthread_mutex_t mu;
    req_rec *recs;
    size_t nrecs, caprecs;
    FILE *statef;
    unsigned long long rng;
    long n_upload, n_status, n_any, n_authed;
    char tokens[64][48];
    long long token_until[64];
    int ntokens;
} E;

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static long long wall_ms(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "emulator: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The generator is shared by the connection threads, some of which hold
 * E.mu when they draw and some not: its own lock (two uploads drawing at
 * once got the same id, and one body was lost under the other's name). */
static pthread_mutex_t rnd_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned long long rnd(void)
{
    pthread_mutex_lock(&rnd_mu);
    E.rng ^= E.rng >> 12;
    E.rng ^= E.rng << 25;
    E.rng ^= E.rng >> 27;
    unsigned long long v = E.rng * 2685821657736338717ULL;
    pthread_mutex_unlock(&rnd_mu);
    return v;
}

static void new_id(char *out, size_t n)
{
    unsigned long long a = rnd(), b = rnd();
    snprintf(out, n, "%08llx-%04llx-%04llx-%04llx-%012llx", a >> 32, (a >> 16) & 0xffff, a & 0xffff,
             b >> 48, b & 0xffffffffffffULL);
}

/* ---- state file: one tab-separated line per accepted file ---- */

static int add_rec(const req_rec *r)
{
    if (E.nrecs == E.caprecs) {
        size_t cap = E.caprecs ? E.caprecs * 2 : 256;
        req_rec *p = realloc(E.recs, cap * sizeof *p);
        if (!p)
            return -1;
        E.recs = p;
        E.caprecs = cap;
    }
    E.recs[E.nrecs++] = *r;
    return 0;
}

static int load_state(void)
{
    FILE *f = fopen(E.state, "r");
    char line[512];
    if (f) {
        while (fgets(line, sizeof line, f)) {
            req_rec r = {0};
            if (sscanf(line, "%39s\t%lld\t%63s\t%7s\t%ld\t%d", r.id, &r.at_ms, r.table, r.op,
                       &r.rows, &r.flc_ok) == 6)
                add_rec(&r);
        }
        fclose(f);
    }
    if (!(E.statef = fopen(E.state, "a"))) {
        say("cannot open %s: %s", E.state, strerror(errno));
        return -1;
    }
    say("%zu request(s) known from %s", E.nrecs, E.state);
    return 0;
}

static int save_rec(const req_rec *r, const char *sha)
{
    fprintf(E.statef, "%s\t%lld\t%s\t%s\t%ld\t%d\t%s\n", r->id, r->at_ms, r->table, r->op, r->rows,
            r->flc_ok, sha);
    if (fflush(E.statef) != 0)
        return -1;
#ifndef _WIN32
    fsync(fileno(E.statef));
#endif
    return 0;
}

static const req_rec *find_rec(const char *id)
{
    for (size_t i = E.nrecs; i-- > 0;)
        if (strcmp(E.recs[i].id, id) == 0)
            return &E.recs[i];
    return NULL;
}

static int status_of(const req_rec *r)
{
    if (!r)
        return 5;
    long long age = wall_ms() - r->at_ms;
    long step = E.step_ms;
    int k = step <= 0 ? 99 : (int)(age / step);
    if (r->flc_ok) {
        static const int seq[] = {0, 2, 6, 3};
        return seq[k > 3 ? 3 : k];
    }
    static const int seq[] = {0, 6, 7};
    return seq[k > 2 ? 2 : k];
}

/* ---- one connection's request ---- */

typedef struct conn {
    int kind; /* 1 upload, 2 auth, 0 other */
    int drop;
    flc c;
    int flc_on;
    sha256_ctx sha;
    long long bytes;
    char table[64], op[8];
    long problems;
    char first_problem[256];
    FILE *save;
    char save_path[4096];
    rdm_buf form;
} conn;

static void on_problem(void *ud, long line, const char *field, const char *msg)
{
    conn *c = ud;
    if (!c->first_problem[0])
        snprintf(c->first_problem, sizeof c->first_problem, "line %ld%s%s: %s", line,
                 field ? " field " : "", field ? field : "", msg);
}

static MHD_Result answer(struct MHD_Connection *mc, unsigned code, const char *type,
                         const char *body, long retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (retry_after >= 0) {
        char v[32];
        snprintf(v, sizeof v, "%ld", retry_after);
        MHD_add_response_header(r, "Retry-After", v);
    }
    MHD_Result ret = MHD_queue_response(mc, code, r);
    MHD_destroy_response(r);
    return ret;
}

static MHD_Result json_error(struct MHD_Connection *mc, unsigned code, const char *msg)
{
    char body[512];
    snprintf(body, sizeof body, "{\"detail\": \"%s\"}", msg);
    return answer(mc, code, "application/json", body, -1);
}

/* Splits path into segments (in place); returns how many. */
static int split_path(char *p, char **seg, int max)
{
    int n = 0;
    while (*p && n < max) {
        while (*p == '/')
            *p++ = 0;
        if (!*p)
            break;
        seg[n++] = p;
        while (*p && *p != '/')
            p++;
    }
    return n;
}

static int url_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '+')
            *o++ = ' ';
        else if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
            char h[3] = {s[1], s[2], 0};
            *o++ = (char)strtol(h, NULL, 16);
            s += 2;
        } else
            *o++ = *s;
    }
    *o = 0;
    return 0;
}

static const char *form_get(char *form, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (char *p = form; p && *p;) {
        char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nl && p[nl] == '=' && strncmp(p, name, nl) == 0) {
            size_t vl = len - nl - 1 < n - 1 ? len - nl - 1 : n - 1;
            memcpy(out, p + nl + 1, vl);
            out[vl] = 0;
            url_decode(out);
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* 1 with probability p (under mu). */
static int chance(double p)
{
    return p > 0 && (double)(rnd() >> 11) / 9007199254740992.0 < p;
}

/* Which fault, if any, applies to this request (under mu). */
static int pick_fault(int is_upload, int is_status)
{
    int applies = strcmp(E.fail_on, "all") == 0 ||
                  (is_upload && strcmp(E.fail_on, "upload") == 0) ||
                  (is_status && strcmp(E.fail_on, "status") == 0);
    if (!applies)
        return 0;
    long n = is_upload ? E.n_upload : is_status ? E.n_status : E.n_any;
    if (E.fail_first > 0 && n <= E.fail_first)
        return E.fail_code;
    if (chance(E.fail_rate))
        return E.fail_code;
    return 0;
}

static int token_ok(struct MHD_Connection *mc)
{
    const char *h = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    long long now = wall_ms();
    for (int i = 0; i < E.ntokens; i++)
        if (strcmp(E.tokens[i], h + 7) == 0 && E.token_until[i] > now)
            return 1;
    return 0;
}

static MHD_Result handle(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                         const char *version, const char *data, size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    conn *c = *con_cls;
    if (!c) {
        if (!(c = calloc(1, sizeof *c)))
            return MHD_NO;
        *con_cls = c;
        buf_init(&c->form, 65536);
        pthread_mutex_lock(&E.mu);
        E.n_any++;
        int refuse = E.refuse;
        long delay = 0;
        if (E.delay_ms > 0 && (E.delay_rate > 0 ? chance(E.delay_rate)
                                                : E.delay_first <= 0 || E.n_any <= E.delay_first))
            delay = E.delay_ms;
        pthread_mutex_unlock(&E.mu);
        if (refuse)
            return MHD_NO; /* offline: close without a word */
        if (delay) {
            /* slow before reading the body: a client that gives up first
             * closes the connection and the request never completes */
            say("%s %s: answering in %ld ms", method, url, delay);
            plat_sleep_ms(delay);
        }
        return MHD_YES;
    }
    char path[2048];
    snprintf(path, sizeof path, "%s", url);
    char *seg[16];
    int ns = split_path(path, seg, 16);
    int proxied = 0, off = 0;
    if (ns >= 7 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "v1") == 0 &&
        strcmp(seg[2], "secure") == 0) {
        proxied = 1;
        off = 7;
        if (strcmp(seg[4], E.datamart) != 0 && *data_size == 0)
            return json_error(mc, 404, "unknown datamart");
    }
    int is_upload = ns - off == 6 && strcmp(seg[off], "v2") == 0 &&
                    strcmp(seg[off + 1], "datamarts") == 0 && strcmp(seg[off + 3], "tables") == 0 &&
                    (strcmp(seg[off + 5], "upload") == 0 || strcmp(seg[off + 5], "delete") == 0) &&
                    strcmp(method, "POST") == 0;
    int is_status = ns - off == 4 && strcmp(seg[off], "v2") == 0 &&
                    strcmp(seg[off + 1], "requests") == 0 && strcmp(seg[off + 3], "status") == 0 &&
                    strcmp(method, "GET") == 0;
    int is_auth = ns == 3 && strcmp(seg[0], "api") == 0 && strcmp(seg[2], "auth_system") == 0 &&
                  strcmp(method, "POST") == 0;

    if (is_upload && !c->kind) {
        /* the body starts: set up the check */
        c->kind = 1;
        snprintf(c->table, sizeof c->table, "%s", seg[off + 4]);
        snprintf(c->op, sizeof c->op, "%s", seg[off + 5]);
        sha256_init(&c->sha);
        const prof_entity *e = NULL;
        for (int i = 0; i < E.prof.nentities && !e; i++) {
            char low[128];
            size_t k = 0;
            for (; E.prof.entities[i].key[k] && k + 1 < sizeof low; k++)
                low[k] = (char)tolower((unsigned char)E.prof.entities[i].key[k]);
            low[k] = 0;
            if (strcmp(low, c->table) == 0)
                e = &E.prof.entities[i];
        }
        if (e) {
            flc_begin(&c->c, e, E.prefix, on_problem, c);
            c->c.deletes = strcmp(c->op, "delete") == 0;
            c->flc_on = 1;
        }
        pthread_mutex_lock(&E.mu);
        E.n_upload++;
        c->drop = (E.drop_first > 0 && E.n_upload <= E.drop_first) || chance(E.drop_rate);
        pthread_mutex_unlock(&E.mu);
        if (E.save_dir) {
            char name[128];
            new_id(name, sizeof name);
            snprintf(c->save_path, sizeof c->save_path, "%s/.part-%s", E.save_dir, name);
            c->save = fopen(c->save_path, "wb");
        }
    } else if (is_auth && !c->kind)
        c->kind = 2;
    if (*data_size) {
        if (c->kind == 1) {
            if (c->drop && c->bytes > 0) {
                say("dropping the connection of %s after %lld bytes", url, c->bytes);
                return MHD_NO;
            }
            sha256_update(&c->sha, data, *data_size);
            if (c->flc_on)
                flc_feed(&c->c, data, *data_size);
            if (c->save)
                fwrite(data, 1, *data_size, c->save);
            c->bytes += (long long)*data_size;
        } else if (c->kind == 2)
            buf_add(&c->form, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    if (c->kind == 1 && c->drop) {
        say("dropping the connection of %s (whole body in one piece)", url);
        return MHD_NO;
    }

    /* the request is complete: faults first */
    pthread_mutex_lock(&E.mu);
    if (is_status)
        E.n_status++;
    int fault = pick_fault(is_upload, is_status);
    pthread_mutex_unlock(&E.mu);
    if (fault) {
        say("%s %s -> %d (injected)", method, url, fault);
        return answer(mc, (unsigned)fault, "application/json", "{\"detail\": \"emulated failure\"}",
                      fault == 429 || fault == 503 ? E.retry_after : -1);
    }

    if (is_auth) {
        char form[65536], u[256], p[256], o[256], d[256];
        snprintf(form, sizeof form, "%.*s", (int)c->form.len, c->form.p ? c->form.p : "");
        if (!form_get(form, "username", u, sizeof u) || !form_get(form, "password", p, sizeof p) ||
            !form_get(form, "organization_ogrn", o, sizeof o) ||
            !form_get(form, "datamart_memonic", d, sizeof d))
            return json_error(mc, 400,
                              "username, password, organization_ogrn and "
                              "datamart_memonic are required");
        if (strcmp(u, E.username) != 0 || strcmp(p, E.password) != 0) {
            say("auth: wrong credentials for '%s'", u);
            return json_error(mc, 401, "invalid credentials");
        }
        char body[256];
        pthread_mutex_lock(&E.mu);
        int slot = E.ntokens < 64 ? E.ntokens++ : (int)(rnd() % 64);
        new_id(E.tokens[slot], sizeof E.tokens[slot]);
        E.token_until[slot] = wall_ms() + (long long)E.token_ttl * 1000;
        E.n_authed = 0;
        snprintf(body, sizeof body, "{\"access_token\": \"%s\", \"expires_in\": %d}",
                 E.tokens[slot], E.token_ttl);
        pthread_mutex_unlock(&E.mu);
        say("auth: token issued for '%s', %d s", u, E.token_ttl);
        return answer(mc, 200, "application/json", body, -1);
    }
    if (proxied) {
        pthread_mutex_lock(&E.mu);
        int ok = token_ok(mc);
        if (ok && E.expire_after > 0 && ++E.n_authed > E.expire_after) {
            E.ntokens = 0; /* the datamart forgot every token */
            ok = 0;
        }
        pthread_mutex_unlock(&E.mu);
        if (!ok) {
            say("%s %s -> 401 (token missing, unknown or expired)", method, url);
            return json_error(mc, 401, "token missing or expired");
        }
    }
    if (is_upload) {
        if (strcmp(seg[off + 2], E.datamart) != 0)
            return json_error(mc, 404, "unknown datamart");
        const char *ct = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Type");
        if (!ct || strncmp(ct, "text/csv", 8) != 0)
            return json_error(mc, 415, "Content-Type must be text/csv");
        if (!c->flc_on)
            return json_error(mc, 404, "unknown table");
        req_rec r = {0};
        char sha[SHA256_HEX];
        c->problems = flc_end(&c->c);
        c->flc_on = 0;
        sha256_hex(&c->sha, sha);
        new_id(r.id, sizeof r.id);
        r.at_ms = wall_ms();
        snprintf(r.table, sizeof r.table, "%s", c->table);
        snprintf(r.op, sizeof r.op, "%s", c->op);
        r.rows = c->c.records;
        r.flc_ok = c->problems == 0 && c->bytes > 0;
        if (c->save) {
            fclose(c->save);
            c->save = NULL;
            char final[4096];
            snprintf(final, sizeof final, "%s/%s.%s.%s.csv", E.save_dir, r.id, r.table, r.op);
            rename(c->save_path, final);
        }
        pthread_mutex_lock(&E.mu);
        int bad = add_rec(&r) || save_rec(&r, sha);
        pthread_mutex_unlock(&E.mu);
        if (bad)
            return json_error(mc, 500, "cannot keep the request");
        say("%s %s: %lld bytes, %ld row(s), ФЛК %s%s -> %s", method, url, c->bytes, r.rows,
            r.flc_ok ? "ok" : "failed: ", r.flc_ok ? "" : c->first_problem, r.id);
        return answer(mc, 200, "text/plain", r.id, -1);
    }
    if (is_status) {
        char body[128];
        pthread_mutex_lock(&E.mu);
        int code = status_of(find_rec(seg[off + 2]));
        pthread_mutex_unlock(&E.mu);
        snprintf(body, sizeof body, "{\"code\": %d}", code);
        return answer(mc, 200, "application/json", body, -1);
    }
    return json_error(mc, 404, "not found");
}

static void on_done(void *cls, struct MHD_Connection *mc, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mc;
    (void)toe;
    conn *c = *con_cls;
    if (!c)
        return;
    if (c->flc_on)
        flc_end(&c->c);
    if (c->save) {
        fclose(c->save);
        remove(c->save_path);
    }
    buf_free(&c->form);
    free(c);
    *con_cls = NULL;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rdm-datamart-emulator --state FILE [options]\n"
            "  --listen HOST:PORT     address (default 127.0.0.1:0 = any free port)\n"
            "  --port-file FILE       write the port there once listening\n"
            "  --profile SPEC         entity profiles for the ФЛК (default core)\n"
            "  --prefix P             EXPORT_ENTITY_ID_PREFIX the files use\n"
            "  --datamart NAME        DATAMART_NAME (default test)\n"
            "  --save-dir DIR         keep each accepted body as DIR/ID.TABLE.OP.csv\n"
            "  --step-ms MS           time per status step (default 1000; 0 = final at once)\n"
            "  --username U --password P   proxy API credentials (default rdm / rdm)\n"
            "  --token-ttl S          expires_in of tokens (default 3600)\n"
            "  --expire-tokens-after N     forget every token after N authorised requests\n"
            "  --fail-first N         the first N requests (see --fail-on) get --fail-code\n"
            "  --fail-rate P          or each with probability P (0..1)\n"
            "  --fail-code C          the code of injected failures (default 503)\n"
            "  --fail-on upload|status|all  which requests fail (default upload)\n"
            "  --retry-after S        Retry-After on injected 429 and 503\n"
            "  --delay-ms MS          answer that late (past the client's timeout)\n"
            "  --delay-first N        only the first N requests (default all)\n"
            "  --delay-rate P         or each request with probability P (0..1)\n"
            "  --drop-first N         drop the first N uploads' connections mid-body\n"
            "  --drop-rate P          and each upload with probability P (0..1)\n"
            "  --refuse               close every connection without an answer\n"
            "  --tls-cert F --tls-key F    serve HTTPS\n"
            "  --seed N               random seed (ids, the rates)\n");
}

static char *slurp(const char *path)
{
    char *p = NULL;
    size_t n;
    rdm_err err;
    if (plat_read_file(path, 1 << 20, &p, &n, &err)) {
        say("%s", err.msg);
        return NULL;
    }
    return p;
}

int main(int argc, char **argv)
{
    const char *profile_spec = "core";
    unsigned long long seed = 0;
    E.listen = "127.0.0.1:0";
    E.datamart = "test";
    E.prefix = "";
    E.username = "rdm";
    E.password = "rdm";
    E.step_ms = 1000;
    E.fail_code = 503;
    E.fail_on = "upload";
    E.retry_after = -1;
    E.token_ttl = 3600;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (OPT("--listen"))
            E.listen = v;
        else if (OPT("--port-file"))
            E.port_file = v;
        else if (OPT("--state"))
            E.state = v;
        else if (OPT("--save-dir"))
            E.save_dir = v;
        else if (OPT("--profile"))
            profile_spec = v;
        else if (OPT("--prefix"))
            E.prefix = v;
        else if (OPT("--datamart"))
            E.datamart = v;
        else if (OPT("--step-ms"))
            E.step_ms = atol(v);
        else if (OPT("--username"))
            E.username = v;
        else if (OPT("--password"))
            E.password = v;
        else if (OPT("--token-ttl"))
            E.token_ttl = atoi(v);
        else if (OPT("--expire-tokens-after"))
            E.expire_after = atoi(v);
        else if (OPT("--fail-first"))
            E.fail_first = atoi(v);
        else if (OPT("--fail-rate"))
            E.fail_rate = atof(v);
        else if (OPT("--fail-code"))
            E.fail_code = atoi(v);
        else if (OPT("--fail-on"))
            E.fail_on = v;
        else if (OPT("--retry-after"))
            E.retry_after = atol(v);
        else if (OPT("--delay-ms"))
            E.delay_ms = atol(v);
        else if (OPT("--delay-first"))
            E.delay_first = atoi(v);
        else if (OPT("--drop-first"))
            E.drop_first = atoi(v);
        else if (OPT("--delay-rate"))
            E.delay_rate = atof(v);
        else if (OPT("--drop-rate"))
            E.drop_rate = atof(v);
        else if (OPT("--tls-cert"))
            E.tls_cert = v;
        else if (OPT("--tls-key"))
            E.tls_key = v;
        else if (OPT("--seed"))
            seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--refuse") == 0)
            E.refuse = 1;
        else {
            usage();
            return 2;
        }
#undef OPT
    }
    if (!E.state || E.fail_code < 100 || E.fail_code > 599 ||
        (strcmp(E.fail_on, "upload") && strcmp(E.fail_on, "status") && strcmp(E.fail_on, "all"))) {
        usage();
        return 2;
    }
    E.rng = seed ? seed : plat_seed();
    rdm_err err;
    char dirs[8192];
    const char *env = getenv("RDM_PROFILE_PATH");
    snprintf(dirs, sizeof dirs, "%s%s%s%c%s", env && *env ? env : "",
             env && *env ? (PLAT_LIST_SEP == ';' ? ";" : ":") : "", RDM_SHARE_PROFILES,
             PLAT_LIST_SEP, RDM_SOURCE_PROFILES);
    if (profile_load(&E.prof, profile_spec, ".", dirs, &err)) {
        say("%s", err.msg);
        return 2;
    }
    pthread_mutex_init(&E.mu, NULL);
    if (load_state())
        return 1;
    /* a restart: request ids stay unique, as a real datamart's are (a
     * fixed --seed would hand out the first run's ids again) */
    if (E.nrecs) {
        E.rng ^= plat_seed();
        if (!E.rng)
            E.rng = 0x9e3779b97f4a7c15ULL;
    }

    char host[256];
    int port = 0;
    const char *colon = strrchr(E.listen, ':');
    if (!colon || (size_t)(colon - E.listen) >= sizeof host) {
        say("--listen wants HOST:PORT");
        return 2;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - E.listen), E.listen);
    port = atoi(colon + 1);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        say("--listen: '%s' is not an IPv4 address", host);
        return 2;
    }
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    char *cert = NULL, *key = NULL;
    if (E.tls_cert || E.tls_key) {
        if (!E.tls_cert || !E.tls_key || !(cert = slurp(E.tls_cert)) || !(key = slurp(E.tls_key))) {
            say("--tls-cert and --tls-key need readable PEM files");
            return 2;
        }
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            say("this libmicrohttpd has no TLS");
            return 2;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_Daemon *d =
        cert ? MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                                MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
                                MHD_OPTION_END)
             : MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    if (!d) {
        say("cannot listen on %s", E.listen);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = info ? info->port : port;
    if (E.port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", E.port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", bound) < 0 || fclose(f) != 0 || rename(tmp, E.port_file)) {
            say("cannot write %s", E.port_file);
            return 1;
        }
    }
    say("listening on %s://%s:%d (datamart %s, step %ld ms)", cert ? "https" : "http", host, bound,
        E.datamart, E.step_ms);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
#ifndef _WIN32
    signal(SIGPIPE, SIG_IGN);
#endif
    while (!stop_flag)
        plat_sleep_ms(100);
    MHD_stop_daemon(d);
    fclose(E.statef);
    profile_free(&E.prof);
    free(E.recs);
    free(cert);
    free(key);
    say("stopped");
    return 0;
}
