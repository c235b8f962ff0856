/* http.c - see http.h. */
#include "http.h"
#include "../base/log.h"
#include "../base/plat.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_CAP (64 * 1024)
/* Past this an answer is not the datamart's (an id, a status: a few
 * hundred bytes): the attempt ends instead of reading it for ever. */
#define ANSWER_MAX (1024 * 1024)

enum { ST_QUEUED, ST_RUNNING, ST_DONE };

struct http_client {
    http_opts o;
    char ca_default[4096]; /* Windows: the shipped CA bundle, when present */
    CURLM *multi;
    http_journal_fn journal;
    void *ud;
    unsigned long long rng;
};

/* A running attempt: the easy handle and what must outlive it. */
typedef struct http_run {
    CURL *easy;
    struct curl_slist *headers;
    int file_bad; /* the read callback refused the file */
    long long timeout_ms;
} http_run;

void http_opts_default(http_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_s = 10;
    o->retries = 10;
    o->backoff_ms = 500;
    o->backoff_max_ms = 30000;
    o->retry_after_max_s = 300;
    o->max_connections = 15;
    o->verify = 1;
}

long http_backoff_ms(long base_ms, long cap_ms, int attempt, double r)
{
    double ceil_ms = (double)base_ms;
    for (int i = 1; i < attempt && ceil_ms < (double)cap_ms; i++)
        ceil_ms *= 2;
    if (ceil_ms > (double)cap_ms)
        ceil_ms = (double)cap_ms;
    if (r < 0)
        r = 0;
    if (r >= 1)
        r = 0.999999;
    return (long)(ceil_ms * r);
}

void http_mask_url(const char *url, char *out, size_t n)
{
    const char *sch = strstr(url, "://");
    if (sch) {
        /* the last '@' anywhere: a password holding '/', '?' or '#' (not
         * a valid URL, but it may be written so) stays hidden; a path
         * with a ':' and an '@' is masked too, which hides nothing that
         * matters */
        const char *host = sch + 3, *end = host + strlen(host);
        const char *at = NULL, *colon = NULL;
        for (const char *p = host; p < end; p++)
            if (*p == '@')
                at = p;
        for (const char *p = host; at && p < at; p++)
            if (*p == ':') {
                colon = p;
                break;
            }
        if (colon) {
            snprintf(out, n, "%.*s:********%s", (int)(colon - url), url, at);
            return;
        }
    }
    snprintf(out, n, "%s", url);
}

long http_retry_after(const char *value, time_t now)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9') {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (errno || *end)
            return -1;
        return v;
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1)
        return -1;
    return t > now ? (long)(t - now) : 0;
}

static double next_rand(http_client *c)
{
    /* xorshift64*: jitter only, not security */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return (double)((c->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

rdm_rc http_new(const http_opts *o, http_journal_fn journal, void *ud, http_client **out,
                rdm_err *err)
{
    static int inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT))
            return rdm_fail(err, RDM_ERR_INTERNAL, "libcurl failed to initialise");
        inited = 1;
    }
    http_client *c = calloc(1, sizeof *c);
    if (!c)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    c->o = *o;
    if (c->o.max_connections < 1)
        c->o.max_connections = 1;
    c->journal = journal;
    c->ud = ud;
    c->rng = plat_seed();
#ifdef _WIN32
    {
        char dir[4096];
        if (plat_exe_dir(dir, sizeof dir) == 0) {
            snprintf(c->ca_default, sizeof c->ca_default, "%s\\..\\share\\rdm-agent\\ca-bundle.pem",
                     dir);
            if (!plat_exists(c->ca_default))
                c->ca_default[0] = 0;
        }
    }
#endif
    if (!(c->multi = curl_multi_init())) {
        free(c);
        return rdm_fail(err, RDM_ERR_INTERNAL, "libcurl: cannot create a multi handle");
    }
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->o.max_connections);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)c->o.max_connections);
    *out = c;
    return RDM_OK;
}

void http_free(http_client *c)
{
    if (!c)
        return;
    curl_multi_cleanup(c->multi);
    free(c);
}

void http_req_free(http_req *r)
{
    buf_free(&r->text);
    buf_free(&r->hdr_);
}

/* ---- callbacks ---- */

static size_t on_write(char *p, size_t sz, size_t n, void *ud)
{
    http_req *r = ud;
    size_t len = sz * n;
    r->got_ += (long long)len;
    if (r->got_ > ANSWER_MAX) {
        r->too_long_ = 1;
        return 0;
    }
    if (r->text.len < TEXT_CAP) {
        size_t take = len < TEXT_CAP - r->text.len ? len : TEXT_CAP - r->text.len;
        if (buf_add(&r->text, p, take))
            return 0;
    }
    return len;
}

/* Keeps the response headers worth journaling; a new status line (an
 * interim 1xx answer) starts them again. */
static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    http_req *r = ud;
    size_t len = sz * n;
    static const char *const keep[] = {"content-type:", "retry-after:",      "content-length:",
                                       "x-request-id:", "www-authenticate:", "location:"};
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        buf_reset(&r->hdr_);
        r->retry_after_s = -1;
        return len;
    }
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        size_t k = strlen(keep[i]);
        if (len > k && curl_strnequal(p, keep[i], k)) {
            size_t e = len;
            while (e > 0 && (p[e - 1] == '\r' || p[e - 1] == '\n'))
                e--;
            if (r->hdr_.len + e + 1 < 4096) {
                buf_add(&r->hdr_, p, e);
                buf_addc(&r->hdr_, '\n');
            }
            if (i == 1) {
                char v[128];
                size_t vl = e - k < sizeof v - 1 ? e - k : sizeof v - 1;
                memcpy(v, p + k, vl);
                v[vl] = 0;
                r->retry_after_s = http_retry_after(v, time(NULL));
            }
        }
    }
    return len;
}

static void file_bad(http_req *r, const char *fmt, const char *detail)
{
    snprintf(r->error, sizeof r->error, fmt, r->file, detail);
    r->run_->file_bad = 1;
}

/* Streams the body. For a file, checks its length and, before the last
 * piece leaves, its SHA-256: a file that is not the recorded bytes aborts
 * the transfer with that piece withheld. */
static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
    http_req *r = ud;
    size_t want = sz * n;
    if (!r->file) {
        size_t left = r->body_len - (size_t)r->sent_;
        size_t take = left < want ? left : want;
        memcpy(p, r->body + r->sent_, take);
        r->sent_ += (long long)take;
        return take;
    }
    long long left = r->file_size - r->sent_;
    if (left <= 0)
        return 0;
    size_t take = (long long)want < left ? want : (size_t)left;
    size_t got = fread(p, 1, take, r->fp_);
    if (got == 0) {
        file_bad(r, "%s: %s", ferror((FILE *)r->fp_) ? strerror(errno) : "shorter than recorded");
        return CURL_READFUNC_ABORT;
    }
    sha256_update(&r->sha_, p, got);
    r->sent_ += (long long)got;
    if (r->sent_ == r->file_size) {
        char hex[SHA256_HEX];
        if (fgetc(r->fp_) != EOF) {
            file_bad(r, "%s: %s", "longer than recorded");
            return CURL_READFUNC_ABORT;
        }
        sha256_hex(&r->sha_, hex);
        sha256_init(&r->sha_);
        if (r->file_sha256 && strcmp(hex, r->file_sha256) != 0) {
            file_bad(r, "%s: %s", "its SHA-256 is not the one recorded when it was written");
            return CURL_READFUNC_ABORT;
        }
    }
    return got;
}

/* curl rewinds a body to resend it on a reused connection that died. */
static int on_seek(void *ud, curl_off_t off, int origin)
{
    http_req *r = ud;
    if (off != 0 || origin != SEEK_SET)
        return CURL_SEEKFUNC_CANTSEEK;
    r->sent_ = 0;
    if (r->file) {
        if (fseek(r->fp_, 0, SEEK_SET) != 0)
            return CURL_SEEKFUNC_FAIL;
        sha256_init(&r->sha_);
    }
    return CURL_SEEKFUNC_OK;
}

/* Ends an attempt on which no byte moved, either way, for timeout_s: the
 * reference's read timeout (libcurl's low-speed check averages over a
 * window, so a stall right after a fast upload would pass unseen); and one
 * whose answer has not ended twice timeout_s after the whole request left
 * (a server that sends a byte now and then would hold it for ever). */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    http_req *r = ud;
    (void)dltotal;
    (void)ultotal;
    long long now = plat_mono_ms();
    long long body = r->file ? r->file_size : (long long)r->body_len;
    if (!r->sent_at_ && (long long)ulnow >= body)
        r->sent_at_ = now;
    if (r->sent_at_ && now - r->sent_at_ > 2 * r->run_->timeout_ms) {
        r->stalled_ = 1;
        return 1;
    }
    if ((long long)ulnow != r->moved_ul_ || (long long)dlnow != r->moved_dl_) {
        r->moved_ul_ = (long long)ulnow;
        r->moved_dl_ = (long long)dlnow;
        r->moved_at_ = now;
        return 0;
    }
    if (now - r->moved_at_ > r->run_->timeout_ms) {
        r->stalled_ = 1;
        return 1;
    }
    return 0;
}

/* ---- one attempt ---- */

static void add_header(http_req *r, struct curl_slist **h, const char *line, size_t *used)
{
    *h = curl_slist_append(*h, line);
    int n = snprintf(r->reqhdr_ + *used, sizeof r->reqhdr_ - *used, "%s\n", line);
    if (n > 0 && *used + (size_t)n < sizeof r->reqhdr_)
        *used += (size_t)n;
}

static void release(http_client *c, http_req *r);

/* Starts an attempt; on a local failure ends the request with it (and
 * releases what the attempt took). */
static void start(http_client *c, http_req *r)
{
    http_run *run = calloc(1, sizeof *run);
    r->attempts++;
    r->status = 0;
    r->error[0] = 0;
    r->retry_after_s = -1;
    r->sent_ = 0;
    buf_reset(&r->text);
    buf_reset(&r->hdr_);
    r->started_ = time(NULL);
    r->t0_ = plat_mono_ms();
    r->moved_ul_ = r->moved_dl_ = 0;
    r->moved_at_ = r->t0_;
    r->sent_at_ = 0;
    r->stalled_ = 0;
    r->too_long_ = 0;
    r->got_ = 0;
    if (!run) {
        r->outcome = HTTP_LOCAL;
        snprintf(r->error, sizeof r->error, "out of memory");
        r->state_ = ST_DONE;
        return;
    }
    r->run_ = run;
    if (r->file) {
        long long size = -1;
        if (plat_kind(r->file, &size) != PLAT_FILE || !(r->fp_ = fopen(r->file, "rb"))) {
            snprintf(r->error, sizeof r->error, "%s: missing or unreadable: %s", r->file,
                     strerror(errno ? errno : ENOENT));
            r->outcome = HTTP_FILE;
        } else if (size != r->file_size) {
            snprintf(r->error, sizeof r->error, "%s: %lld bytes on disk, %lld recorded", r->file,
                     size, r->file_size);
            r->outcome = HTTP_FILE;
        }
        if (r->outcome == HTTP_FILE) {
            if (r->fp_)
                fclose(r->fp_);
            r->fp_ = NULL;
            free(run);
            r->run_ = NULL;
            r->state_ = ST_DONE;
            return;
        }
        sha256_init(&r->sha_);
    }
    CURL *e = run->easy = curl_easy_init();
    if (!e) {
        r->outcome = HTTP_LOCAL;
        snprintf(r->error, sizeof r->error, "libcurl: cannot create a handle");
        release(c, r);
        r->state_ = ST_DONE;
        return;
    }
    size_t used = 0;
    char line[4096];
    r->reqhdr_[0] = 0;
    if (r->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", r->content_type);
        add_header(r, &run->headers, line, &used);
    }
    if (r->bearer) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", r->bearer);
        run->headers = curl_slist_append(run->headers, line);
        snprintf(r->reqhdr_ + used, sizeof r->reqhdr_ - used, "Authorization: Bearer ***\n");
        used = strlen(r->reqhdr_);
    }
    add_header(r, &run->headers, "Expect:", &used);
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, run->headers);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, c->o.timeout_s);
    run->timeout_ms = (long long)c->o.timeout_s * 1000;
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "rdm-agent");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->o.verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->o.verify ? 2L : 0L);
    if (c->o.ca_file && *c->o.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->o.ca_file);
#ifdef _WIN32
    /* mbed TLS cannot read the Windows certificate store: the CA bundle
     * shipped beside the binary (share/rdm-agent/ca-bundle.pem) */
    else if (c->ca_default[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_default);
#endif
    if (c->o.client_cert && *c->o.client_cert)
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->o.client_cert);
    if (c->o.client_key && *c->o.client_key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->o.client_key);
    if (strcmp(r->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, r);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(r->file ? r->file_size : (long long)r->body_len));
        if (strcmp(r->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        r->outcome = HTTP_LOCAL;
        snprintf(r->error, sizeof r->error, "libcurl: cannot start the transfer");
        release(c, r);
        r->state_ = ST_DONE;
        return;
    }
    r->state_ = ST_RUNNING;
}

static void release(http_client *c, http_req *r)
{
    http_run *run = r->run_;
    if (!run)
        return;
    if (run->easy) {
        curl_multi_remove_handle(c->multi, run->easy);
        curl_easy_cleanup(run->easy);
    }
    curl_slist_free_all(run->headers);
    free(run);
    r->run_ = NULL;
    if (r->fp_)
        fclose(r->fp_);
    r->fp_ = NULL;
}

static int is_tls_error(CURLcode res)
{
    switch (res) {
    case CURLE_SSL_CONNECT_ERROR: /* the handshake refused: a protocol or a client certificate */
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        return 1;
    default:
        return 0;
    }
}

/* Journals the attempt that just ended (status: its HTTP status, 0 when
 * none came), as it ended: r->outcome and r->error are set. */
static void journal_attempt(http_client *c, http_req *r, long status)
{
    if (!c->journal)
        return;
    char sha[SHA256_HEX] = "";
    if (r->method[0] != 'G' && !r->body_secret) {
        if (r->file) {
            /* the recorded digest is the body's only once all of it left */
            if (r->sent_ == r->file_size && r->file_sha256)
                snprintf(sha, sizeof sha, "%s", r->file_sha256);
        } else {
            sha256_ctx h;
            sha256_init(&h);
            sha256_update(&h, r->body, r->body_len);
            sha256_hex(&h, sha);
        }
    }
    char url[2048];
    http_mask_url(r->url, url, sizeof url);
    http_exchange x = {
        .started_at = r->started_,
        .duration_ms = (long)(plat_mono_ms() - r->t0_),
        .method = r->method,
        .url = url,
        .request_headers = r->reqhdr_,
        .body_size = r->method[0] == 'G' ? -1 : (long long)r->sent_,
        .body_sha256 = sha[0] ? sha : NULL,
        .status = status,
        .response_headers = r->hdr_.p ? r->hdr_.p : "",
        .response_text = r->response_secret ? NULL : (r->text.p ? r->text.p : ""),
        .error = r->outcome == HTTP_OK ? NULL : r->error,
        .attempt = r->attempts,
    };
    c->journal(c->ud, r, &x);
}

/* Ends an attempt: journals it, then decides between done and a retry. */
static void finish(http_client *c, http_req *r, CURLcode res)
{
    long status = 0;
    curl_easy_getinfo(r->run_->easy, CURLINFO_RESPONSE_CODE, &status);
    r->status = status;
    int retry = 0;
    if (r->run_->file_bad) {
        r->outcome = HTTP_FILE; /* error already says which file and how */
    } else if (res == CURLE_OK && status >= 200 && status < 300) {
        r->outcome = HTTP_OK;
    } else if (status >= 200 && status < 300 && (!r->file || r->sent_ == r->file_size)) {
        /* the datamart took the whole request (its success status came)
         * and its answer broke off, or ran too long: sending it again
         * could deliver it twice. What came of the answer is read as it
         * is; a request id cut off in it fails the upload (no resend) */
        r->outcome = HTTP_OK;
        snprintf(r->error, sizeof r->error, "HTTP %ld, then the answer %s", status,
                 r->too_long_ ? "ran past 1 MiB" : "broke off");
    } else if (res == CURLE_OK && status >= 300 && status < 400) {
        /* where it points, from the kept headers */
        const char *l = r->hdr_.p ? r->hdr_.p : "", *loc = NULL;
        while (*l && !curl_strnequal(l, "location:", 9)) {
            const char *nl = strchr(l, '\n');
            l = nl ? nl + 1 : l + strlen(l);
        }
        if (*l)
            loc = l + 9;
        while (loc && *loc == ' ')
            loc++;
        r->outcome = HTTP_MOVED;
        snprintf(r->error, sizeof r->error,
                 "HTTP %ld: the datamart redirects to %.*s, and redirects are not followed; set "
                 "[uploader_client] URL to its address",
                 status, loc ? (int)strcspn(loc, "\n") : 9, loc ? loc : "elsewhere");
    } else if (res == CURLE_OK) {
        r->outcome = HTTP_STATUS;
        snprintf(r->error, sizeof r->error, "HTTP %ld", status);
        retry = !(status > 0 && status < 600 && c->o.no_retry[status]);
        /* a gateway that gave up on the datamart (502, 504) after the
         * whole file left: the datamart may still take it, as when no
         * answer comes at all */
        if (r->file && (status == 502 || status == 504) && r->sent_ == r->file_size)
            r->unanswered_until = plat_mono_ms() + (int64_t)c->o.timeout_s * 1000;
    } else if (is_tls_error(res)) {
        r->outcome = HTTP_TLS;
        snprintf(r->error, sizeof r->error, "TLS: %s", curl_easy_strerror(res));
    } else {
        r->outcome = HTTP_NET;
        snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(res));
        if (res == CURLE_OPERATION_TIMEDOUT || r->stalled_)
            snprintf(r->error, sizeof r->error, "no answer within %ld s (timeout)", c->o.timeout_s);
        else if (r->too_long_)
            snprintf(r->error, sizeof r->error, "an answer of more than 1 MiB: not a datamart's");
        retry = 1;
        if (r->file && status == 0 && r->sent_ == r->file_size)
            r->unanswered_until = plat_mono_ms() + (int64_t)c->o.timeout_s * 1000;
    }
    journal_attempt(c, r, status);
    release(c, r);
    if (retry && !r->no_retry && r->attempts <= c->o.retries) {
        long wait;
        if (r->retry_after_s >= 0 && (status == 429 || status == 503)) {
            if (r->retry_after_s > c->o.retry_after_max_s) {
                r->outcome = HTTP_DEFERRED;
                snprintf(r->error, sizeof r->error,
                         "HTTP %ld: the datamart asks to come back in %ld s (Retry-After)", status,
                         r->retry_after_s);
                r->state_ = ST_DONE;
                return;
            }
            wait = r->retry_after_s * 1000;
        } else {
            wait = http_backoff_ms(c->o.backoff_ms, c->o.backoff_max_ms, r->attempts, next_rand(c));
        }
        char url[2048];
        http_mask_url(r->url, url, sizeof url);
        log_debug("http: %s %s: %s; attempt %d in %ld ms", r->method, url, r->error,
                  r->attempts + 1, wait);
        r->next_at_ = plat_mono_ms() + wait;
        r->state_ = ST_QUEUED;
        return;
    }
    r->state_ = ST_DONE;
}

rdm_rc http_perform(http_client *c, http_req **reqs, int n, int stop_on_net, rdm_err *err)
{
    int running = 0, done = 0;
    for (int i = 0; i < n; i++) {
        reqs[i]->state_ = ST_QUEUED;
        reqs[i]->next_at_ = 0;
        reqs[i]->attempts = 0;
        reqs[i]->unanswered_until = 0;
        reqs[i]->outcome = HTTP_OK;
        reqs[i]->run_ = NULL;
        reqs[i]->fp_ = NULL;
        buf_init(&reqs[i]->text, TEXT_CAP + 1);
        buf_init(&reqs[i]->hdr_, 4096);
    }
    long long cut_at = 0;
    while (done < n) {
        long long now = plat_mono_ms();
        long long wake = now + 1000;
        if (plat_stop_requested()) {
            if (!cut_at)
                cut_at = now + 5000;
            for (int i = 0; i < n; i++) {
                http_req *r = reqs[i];
                if (r->state_ == ST_QUEUED || (r->state_ == ST_RUNNING && now >= cut_at)) {
                    r->outcome = HTTP_STOPPED;
                    snprintf(r->error, sizeof r->error, "stopped on request%s",
                             r->attempts ? " before the answer" : " before sending");
                    if (r->state_ == ST_RUNNING) {
                        /* an attempt cut short is an attempt: journaled
                         * (its body may have reached the datamart) */
                        journal_attempt(c, r, 0);
                        release(c, r);
                        running--;
                    }
                    r->state_ = ST_DONE;
                    done++;
                }
            }
            if (done == n)
                break;
        }
        for (int i = 0; i < n && running < c->o.max_connections && !cut_at; i++) {
            http_req *r = reqs[i];
            if (r->state_ != ST_QUEUED)
                continue;
            if (r->next_at_ > now)
                continue; /* its time is taken into the wait below */
            start(c, r);
            if (r->state_ == ST_RUNNING)
                running++;
            else
                done++;
        }
        if (done == n)
            break;
        int still = 0;
        CURLMcode mc = curl_multi_perform(c->multi, &still);
        if (mc != CURLM_OK)
            return rdm_fail(err, RDM_ERR_INTERNAL, "libcurl: %s", curl_multi_strerror(mc));
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(c->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            http_req *r = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            CURLcode res = m->data.result;
            running--;
            finish(c, r, res);
            if (r->state_ != ST_DONE)
                continue;
            done++;
            if (stop_on_net && r->outcome == HTTP_NET) {
                for (int j = 0; j < n; j++) {
                    http_req *q = reqs[j];
                    if (q->state_ != ST_QUEUED)
                        continue;
                    q->state_ = ST_DONE;
                    q->outcome = HTTP_NET;
                    if (!q->attempts)
                        snprintf(q->error, sizeof q->error,
                                 "not tried: the datamart is unreachable (%.400s)", r->error);
                    done++;
                }
            }
        }
        if (done == n)
            break;
        /* a request that may start now (a connection freed, a retry due)
         * starts at once; else wait for the next due retry or activity */
        now = plat_mono_ms();
        for (int i = 0; i < n; i++) {
            http_req *r = reqs[i];
            if (r->state_ != ST_QUEUED)
                continue;
            if (r->next_at_ <= now) {
                if (running < c->o.max_connections)
                    wake = now;
            } else if (r->next_at_ < wake) {
                wake = r->next_at_;
            }
        }
        long wait = (long)(wake - now);
        if (wait < 0)
            wait = 0;
        if (wait > 1000)
            wait = 1000;
        if (running)
            curl_multi_poll(c->multi, NULL, 0, (int)wait, NULL);
        else
            plat_sleep_ms(wait);
    }
    return RDM_OK;
}
