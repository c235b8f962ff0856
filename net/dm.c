/* dm.c - see dm.h. */
#include "dm.h"
#include "../base/log.h"
#include "../base/plat.h"

#include <cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dm_client {
    dm_opts o;
    http_client *http;
    dm_journal_fn journal;
    void *ud;
    int emu_code;
    char base[1024]; /* URL without a trailing '/' */
    char token[4096];
    long long token_until; /* monotonic ms */
    unsigned long long emu_seq;
};

static const struct {
    const char *name;
    int code;
} emu_names[] = {
    {"upload_to_buffer", -1},
    {"buffered", 0},
    {"wait_for_open_delta", 1},
    {"in_processing", 2},
    {"processing", 2},
    {"success", 3},
    {"successfully_processed", 3},
    {"failed", 4},
    {"failed_processing", 4},
    {"error", 4},
    {"request_id_not_found", 5},
    {"not_found", 5},
    {"format_logical_control", 6},
    {"flc", 6},
    {"flc_error", 7},
};

int dm_emulated_code(const char *name, int *code)
{
    char low[64];
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof low)
        return -1;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    for (size_t i = 0; i < sizeof emu_names / sizeof emu_names[0]; i++)
        if (strcmp(low, emu_names[i].name) == 0)
            return *code = emu_names[i].code, 0;
    char *end;
    long v = strtol(low, &end, 10);
    if (*end || end == low || v < -1 || v > 7)
        return -1;
    *code = (int)v;
    return 0;
}

int dm_file_status(int code)
{
    switch (code) {
    case -1:
    case 0:
    case 1:
    case 2:
    case 6:
        return DM_FILE_IN_PROGRESS;
    case 3:
        return DM_FILE_FINISHED;
    case 4:
    case 5:
    case 7:
        return DM_FILE_ERROR;
    default:
        return 0;
    }
}

/* Appends s URL-escaped (a path segment). */
static int put_seg(char *buf, size_t n, size_t *at, const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        return -1;
    int w = snprintf(buf + *at, n - *at, "%s", e);
    curl_free(e);
    if (w < 0 || (size_t)w >= n - *at)
        return -1;
    *at += (size_t)w;
    return 0;
}

int dm_url(const dm_client *c, const char *path, char *buf, size_t n)
{
    size_t at = 0;
    int w = snprintf(buf, n, "%s", c->base);
    if (w < 0 || (size_t)w >= n)
        return -1;
    at = (size_t)w;
    if (c->o.proxy) {
        const char *segs[] = {c->o.ogrn, c->o.datamart, c->o.installation_name,
                              c->o.installation_id};
        if ((w = snprintf(buf + at, n - at, "/api/v1/secure")) < 0 || (size_t)w >= n - at)
            return -1;
        at += (size_t)w;
        for (int i = 0; i < 4; i++) {
            if (at + 1 >= n)
                return -1;
            buf[at++] = '/';
            buf[at] = 0;
            if (put_seg(buf, n, &at, segs[i]))
                return -1;
        }
    }
    w = snprintf(buf + at, n - at, "%s", path);
    return w < 0 || (size_t)w >= n - at ? -1 : 0;
}

/* What a request carries for on_exchange: where its journal row id goes,
 * and the caller's item for an upload. */
typedef struct tag {
    long long *journal_id;
    void *item;
} tag;

/* Forwards http.c's report of an exchange to the caller's journal and
 * keeps the row id with the request. */
static void on_exchange(void *ud, const http_req *r, const http_exchange *x)
{
    dm_client *c = ud;
    tag *t = r->ud;
    long long id = c->journal ? c->journal(c->ud, x, t ? t->item : NULL) : 0;
    if (t && t->journal_id)
        *t->journal_id = id;
}

/* The requests of one call, allocated together; batch_free() frees what
 * their results own too. */
typedef struct batch {
    http_req *reqs;
    http_req **rs;
    tag *tags;
    char (*urls)[1400];
    int n;
} batch;

static rdm_rc batch_new(batch *b, int n, rdm_err *err)
{
    b->n = n;
    b->reqs = calloc((size_t)n, sizeof *b->reqs);
    b->rs = calloc((size_t)n, sizeof *b->rs);
    b->tags = calloc((size_t)n, sizeof *b->tags);
    b->urls = calloc((size_t)n, sizeof *b->urls);
    if (b->reqs && b->rs && b->tags && b->urls)
        return RDM_OK;
    free(b->reqs), free(b->rs), free(b->tags), free(b->urls);
    return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
}

static void batch_free(batch *b)
{
    for (int i = 0; i < b->n; i++)
        http_req_free(&b->reqs[i]);
    free(b->reqs), free(b->rs), free(b->tags), free(b->urls);
}

rdm_rc dm_new(const dm_opts *o, dm_journal_fn journal, void *ud, dm_client **out, rdm_err *err)
{
    dm_client *c = calloc(1, sizeof *c);
    rdm_rc rc;
    if (!c)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    c->o = *o;
    c->journal = journal;
    c->ud = ud;
    if (o->emulation) {
        if (dm_emulated_code(o->emu_status ? o->emu_status : "success", &c->emu_code)) {
            free(c);
            return rdm_fail(err, RDM_ERR_CONFIG,
                            "[uploader_client] RESPONSE_FILE_STATUS = '%s' is not a status: use "
                            "success, in_processing, failed_processing, not_found, flc_error or "
                            "a code from -1 to 7",
                            o->emu_status);
        }
        *out = c;
        return RDM_OK;
    }
    if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0) {
        char shown[1024];
        http_mask_url(o->url, shown, sizeof shown);
        free(c);
        return rdm_fail(err, RDM_ERR_CONFIG,
                        "[uploader_client] URL = '%s': it must start with http:// or https://",
                        shown);
    }
    snprintf(c->base, sizeof c->base, "%s", o->url);
    size_t bl = strlen(c->base);
    while (bl > 0 && c->base[bl - 1] == '/')
        c->base[--bl] = 0;
    if (o->proxy) {
        const char *miss = !*o->username            ? "USERNAME"
                           : !*o->password          ? "PASSWORD"
                           : !*o->ogrn              ? "ORGANIZATION_OGRN"
                           : !*o->installation_name ? "INSTALLATION_NAME"
                           : !*o->installation_id   ? "INSTALLATION_ID"
                                                    : NULL;
        if (miss) {
            free(c);
            return rdm_fail(err, RDM_ERR_CONFIG,
                            "[uploader_client] USE_PROXY_API = True needs %s; set it in the "
                            "configuration file",
                            miss);
        }
    }
    if ((rc = http_new(&o->http, on_exchange, c, &c->http, err))) {
        free(c);
        return rc;
    }
    *out = c;
    return RDM_OK;
}

void dm_free(dm_client *c)
{
    if (!c)
        return;
    http_free(c->http);
    memset(c->token, 0, sizeof c->token);
    free(c);
}

/* Appends "name=value&" form-encoded. */
static rdm_rc form_add(rdm_buf *b, const char *name, const char *value)
{
    char *e = curl_easy_escape(NULL, value, 0);
    if (!e)
        return RDM_ERR_NOMEM;
    rdm_rc rc = buf_addf(b, "%s%s=%s", b->len ? "&" : "", name, e);
    curl_free(e);
    return rc;
}

/* Gets a token (proxy mode) unless the cached one is valid for 30 s more
 * or force is set. */
static rdm_rc authenticate(dm_client *c, int force, rdm_err *err)
{
    if (!force && c->token[0] && plat_mono_ms() + 30000 < c->token_until)
        return RDM_OK;
    char url[1200];
    rdm_buf body;
    rdm_rc rc;
    buf_init(&body, 16384);
    if (snprintf(url, sizeof url, "%s/api/v1/auth_system", c->base) >= (int)sizeof url)
        return rdm_fail(err, RDM_ERR_CONFIG, "[uploader_client] URL is too long");
    if ((rc = form_add(&body, "username", c->o.username)) ||
        (rc = form_add(&body, "password", c->o.password)) ||
        (rc = form_add(&body, "organization_ogrn", c->o.ogrn)) ||
        (rc = form_add(&body, "datamart_memonic", c->o.datamart))) {
        buf_free(&body);
        return rdm_fail(err, rc, "out of memory");
    }
    long long jid = 0;
    tag tg = {&jid, NULL};
    http_req r = {.method = "POST",
                  .url = url,
                  .content_type = "application/x-www-form-urlencoded",
                  .body = body.p,
                  .body_len = body.len,
                  .body_secret = 1,
                  .response_secret = 1,
                  .ud = &tg};
    http_req *rs[1] = {&r};
    rc = http_perform(c->http, rs, 1, 1, err);
    memset(body.p, 0, body.len);
    buf_free(&body);
    if (rc)
        goto out;
    char shown[2048];
    http_mask_url(url, shown, sizeof shown);
    if (r.outcome != HTTP_OK) {
        /* not reachable, or busy (5xx, 408, 429): RDM_ERR_IO, tried again
         * after a pause; refused (credentials): a configuration error */
        int busy =
            r.outcome == HTTP_NET ||
            (r.outcome == HTTP_STATUS && (r.status >= 500 || r.status == 408 || r.status == 429));
        rc = rdm_fail(err, busy ? RDM_ERR_IO : RDM_ERR_CONFIG,
                      "proxy API: getting a token from %s failed: %s%s", shown, r.error,
                      r.status == 401 || r.status == 403
                          ? "; check [uploader_client] USERNAME, PASSWORD and ORGANIZATION_OGRN"
                          : "");
        goto out;
    }
    cJSON *j = cJSON_ParseWithLength(r.text.p ? r.text.p : "", r.text.len);
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "access_token");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
    if (!cJSON_IsString(tok) || !*tok->valuestring || !cJSON_IsNumber(exp) ||
        strlen(tok->valuestring) >= sizeof c->token) {
        cJSON_Delete(j);
        rc = rdm_fail(err, RDM_ERR_PARSE,
                      "proxy API: %s: В ответе отсутствует токен, либо время действия токена! "
                      "(the answer has no access_token or expires_in)",
                      shown);
        goto out;
    }
    double valid_s = exp->valuedouble;
    snprintf(c->token, sizeof c->token, "%s", tok->valuestring);
    c->token_until = plat_mono_ms() + (long long)(valid_s * 1000);
    memset(tok->valuestring, 0, strlen(tok->valuestring));
    cJSON_Delete(j);
    log_info("proxy API: got a token valid for %.0f s", valid_s);
out:
    if (r.text.p)
        memset(r.text.p, 0, r.text.len);
    http_req_free(&r);
    return rc;
}

/* Runs requests, re-authenticating once and retrying once those answered
 * 401 in proxy mode. */
static rdm_rc perform(dm_client *c, http_req **rs, int n, rdm_err *err)
{
    rdm_rc rc;
    if (c->o.proxy) {
        if ((rc = authenticate(c, 0, err)))
            return rc;
        for (int i = 0; i < n; i++)
            rs[i]->bearer = c->token;
    }
    if ((rc = http_perform(c->http, rs, n, 1, err)) || !c->o.proxy)
        return rc;
    int again = 0;
    for (int i = 0; i < n; i++)
        again += rs[i]->outcome == HTTP_STATUS && rs[i]->status == 401;
    if (!again)
        return RDM_OK;
    log_info("proxy API: the datamart refused the token (401); getting a new one");
    if ((rc = authenticate(c, 1, err)))
        return rc;
    http_req **redo = malloc(sizeof *redo * (size_t)again);
    if (!redo)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    int k = 0;
    for (int i = 0; i < n; i++)
        if (rs[i]->outcome == HTTP_STATUS && rs[i]->status == 401) {
            http_req_free(rs[i]);
            rs[i]->no_retry = 1;
            redo[k++] = rs[i];
        }
    rc = http_perform(c->http, redo, k, 1, err);
    free(redo);
    return rc;
}

/* A journal row for an emulated exchange. */
static long long emu_journal(dm_client *c, const char *method, const char *path, long long size,
                             const char *sha, const char *text)
{
    char url[1024];
    snprintf(url, sizeof url, "emulation:%s", path);
    http_exchange x = {.started_at = time(NULL),
                       .method = method,
                       .url = url,
                       .request_headers = "",
                       .body_size = size,
                       .body_sha256 = sha,
                       .status = 200,
                       .response_headers = "",
                       .response_text = text,
                       .attempt = 1,
                       .emulated = 1};
    return c->journal ? c->journal(c->ud, &x, NULL) : 0;
}

int dm_request_id(const char *text, size_t len, char *id, size_t n)
{
    const char *p = text ? text : "";
    while (len && isspace((unsigned char)*p))
        p++, len--;
    while (len && isspace((unsigned char)p[len - 1]))
        len--;
    if (len >= 2 && p[0] == '"' && p[len - 1] == '"')
        p++, len -= 2;
    if (!len || len >= n)
        return -1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x21 || p[i] == 0x7f || p[i] == '/' || p[i] == '"')
            return -1;
    memcpy(id, p, len);
    id[len] = 0;
    return 0;
}

int dm_status_code(const char *text, size_t len, int *code, char *why, size_t n)
{
    cJSON *j = cJSON_ParseWithLength(text ? text : "", len);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
    int ok = cJSON_IsNumber(c) && c->valuedouble >= -2147483647.0 &&
             c->valuedouble <= 2147483647.0 && c->valuedouble == (double)(int)c->valuedouble;
    if (ok)
        *code = (int)c->valuedouble;
    else
        snprintf(why, n, "status unknown: the answer has no integer \"code\": %.*s",
                 (int)(len > 200 ? 200 : len), text ? text : "");
    cJSON_Delete(j);
    return ok ? 0 : -1;
}

static void lower_copy(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = 0;
}

/* When an upload's whole body left and no answer came, the datamart may
 * still take it after the client gave up, and the protocol has no key to
 * tell a late request from a new one. Were the entity's next file taken
 * first, the late one would undo its changes; so nothing more goes until
 * one more timeout has passed after such an attempt. A stop cuts the wait
 * short; a datamart that holds a request past two timeouts is not covered. */
static void wait_unanswered(http_req **rs, int n)
{
    int64_t until = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (rs[i]->unanswered_until) {
            k++;
            if (rs[i]->unanswered_until > until)
                until = rs[i]->unanswered_until;
        }
    int64_t now = plat_mono_ms();
    if (until <= now)
        return;
    log_info("datamart: %d upload(s) went unanswered after the whole file left; the next files "
             "wait %lld ms, so that a late one cannot overtake them",
             k, (long long)(until - now));
    while ((now = plat_mono_ms()) < until && !plat_stop_requested())
        plat_sleep_ms(until - now < 200 ? (long)(until - now) : 200);
}

rdm_rc dm_upload_files(dm_client *c, dm_upload **u, int n, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    if (n <= 0)
        return RDM_OK;
    if (c->o.emulation) {
        for (int i = 0; i < n; i++) {
            char path[512], table[128];
            lower_copy(table, sizeof table, u[i]->entity);
            snprintf(path, sizeof path, "/v2/datamarts/%s/tables/%s/%s", c->o.datamart, table,
                     u[i]->op_delete ? "delete" : "upload");
            snprintf(u[i]->request_id, sizeof u[i]->request_id, "emulation-%lld-%llu",
                     (long long)time(NULL), ++c->emu_seq);
            u[i]->outcome = HTTP_OK;
            u[i]->status = 200;
            u[i]->emulated = 1;
            u[i]->error[0] = 0;
            u[i]->journal_id =
                emu_journal(c, "POST", path, u[i]->size, u[i]->sha256, u[i]->request_id);
        }
        return RDM_OK;
    }
    batch b;
    if ((rc = batch_new(&b, n, err)))
        return rc;
    for (int i = 0; i < n; i++) {
        char path[512], table[128], *et = NULL, *ed = NULL;
        lower_copy(table, sizeof table, u[i]->entity);
        et = curl_easy_escape(NULL, table, 0);
        ed = curl_easy_escape(NULL, c->o.datamart, 0);
        snprintf(path, sizeof path, "/v2/datamarts/%s/tables/%s/%s", ed ? ed : "", et ? et : "",
                 u[i]->op_delete ? "delete" : "upload");
        curl_free(et);
        curl_free(ed);
        if (dm_url(c, path, b.urls[i], sizeof b.urls[i])) {
            rc = rdm_fail(err, RDM_ERR_CONFIG, "[uploader_client] URL is too long");
            goto out;
        }
        b.reqs[i] = (http_req){.method = "POST",
                               .url = b.urls[i],
                               .content_type = "text/csv",
                               .file = u[i]->file,
                               .file_size = u[i]->size,
                               .file_sha256 = u[i]->sha256,
                               .ud = &b.tags[i]};
        b.tags[i] = (tag){&u[i]->journal_id, u[i]->ud};
        b.rs[i] = &b.reqs[i];
    }
    if ((rc = perform(c, b.rs, n, err)))
        goto out;
    wait_unanswered(b.rs, n);
    for (int i = 0; i < n; i++) {
        http_req *r = b.rs[i];
        u[i]->outcome = r->outcome;
        u[i]->status = r->status;
        u[i]->retry_after_s = r->retry_after_s;
        u[i]->emulated = 0;
        u[i]->request_id[0] = 0;
        snprintf(u[i]->error, sizeof u[i]->error, "%s", r->error);
        if (r->outcome == HTTP_OK &&
            dm_request_id(r->text.p, r->text.len, u[i]->request_id, sizeof u[i]->request_id)) {
            u[i]->outcome = HTTP_STATUS;
            if (r->error[0]) /* the answer broke off or ran too long */
                snprintf(u[i]->error, sizeof u[i]->error, "%s, with no request id in it", r->error);
            else
                snprintf(u[i]->error, sizeof u[i]->error,
                         "HTTP %ld with %s instead of a request id", r->status,
                         r->text.len ? "an answer that is not an id" : "an empty answer");
        }
    }
out:
    batch_free(&b);
    return rc;
}

rdm_rc dm_ask_status(dm_client *c, dm_status **s, int n, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    if (n <= 0)
        return RDM_OK;
    if (c->o.emulation) {
        for (int i = 0; i < n; i++) {
            char path[512], text[64];
            snprintf(path, sizeof path, "/v2/requests/%s/status", s[i]->request_id);
            snprintf(text, sizeof text, "{\"code\": %d}", c->emu_code);
            s[i]->outcome = HTTP_OK;
            s[i]->known = 1;
            s[i]->code = c->emu_code;
            s[i]->error[0] = 0;
            s[i]->journal_id = emu_journal(c, "GET", path, -1, NULL, text);
        }
        return RDM_OK;
    }
    batch b;
    if ((rc = batch_new(&b, n, err)))
        return rc;
    for (int i = 0; i < n; i++) {
        char path[512], *e = curl_easy_escape(NULL, s[i]->request_id, 0);
        snprintf(path, sizeof path, "/v2/requests/%s/status", e ? e : "");
        curl_free(e);
        if (dm_url(c, path, b.urls[i], sizeof b.urls[i])) {
            rc = rdm_fail(err, RDM_ERR_CONFIG, "[uploader_client] URL is too long");
            goto out;
        }
        b.reqs[i] = (http_req){.method = "GET",
                               .url = b.urls[i],
                               .content_type = "application/json",
                               .ud = &b.tags[i]};
        b.tags[i] = (tag){&s[i]->journal_id, NULL};
        b.rs[i] = &b.reqs[i];
    }
    if ((rc = perform(c, b.rs, n, err)))
        goto out;
    for (int i = 0; i < n; i++) {
        http_req *r = b.rs[i];
        s[i]->outcome = r->outcome;
        s[i]->retry_after_s = r->retry_after_s;
        s[i]->known = 0;
        snprintf(s[i]->error, sizeof s[i]->error, "%s", r->error);
        if (r->outcome != HTTP_OK)
            continue;
        s[i]->known = dm_status_code(r->text.p, r->text.len, &s[i]->code, s[i]->error,
                                     sizeof s[i]->error) == 0;
    }
out:
    batch_free(&b);
    return rc;
}
