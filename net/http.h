/*
 * http.h - HTTP exchanges over libcurl: several at once (curl multi, one
 * connection pool), each retried by a policy, each reported once per
 * attempt so the caller can journal it. Knows nothing of the datamart
 * (dm.c) or of the store (the caller's journal callback writes it).
 *
 * A file body is streamed from disk, never loaded whole, and checked while
 * it is read: its size before the first byte goes out, its SHA-256 before
 * the last one does. A file that changed is never sent whole (the transfer
 * is aborted with its last piece withheld, and Content-Length promised
 * the full size).
 *
 * Timeouts are per socket operation, as the reference client's: connect
 * within `timeout_s`, then no more than `timeout_s` without a byte moving.
 *
 * Interface (prefix http_):
 *   http_new(), http_free()   a client: TLS settings, pool, policy
 *   http_perform()            run a set of requests to their end
 *   http_backoff_ms()         the retry delay (pure, full jitter)
 *   http_retry_after()        parse a Retry-After value (pure)
 *   http_mask_url()           a URL with its password masked (pure)
 */
#ifndef RDM_HTTP_H
#define RDM_HTTP_H

#include "../base/buf.h"
#include "../base/rc.h"
#include "../base/sha256.h"

#include <stdint.h>
#include <time.h>

/* How a request ended. */
typedef enum http_outcome {
    HTTP_OK = 0,   /* 2xx (the caller judges the body) */
    HTTP_STATUS,   /* an HTTP status >= 300 after the retries it allows */
    HTTP_NET,      /* never reached the server or no answer: DNS, connect, timeout,
                      a dropped connection, on every attempt */
    HTTP_FILE,     /* the file body is missing, unreadable or not the bytes recorded */
    HTTP_TLS,      /* certificate or TLS setup failure (not retried) */
    HTTP_LOCAL,    /* a local error (memory, curl setup) */
    HTTP_DEFERRED, /* Retry-After asked for longer than the client waits */
    HTTP_STOPPED,  /* a stop was asked (plat_stop_requested): not sent, or cut short */
    HTTP_MOVED     /* a redirect (3xx): never followed (it would carry the token and the
                      file elsewhere); the configured URL is out of date (not retried) */
} http_outcome;

typedef struct http_opts {
    long timeout_s;         /* connect, and the longest stall */
    int retries;            /* extra attempts after the first */
    long backoff_ms;        /* first retry delay ceiling */
    long backoff_max_ms;    /* cap of every delay */
    long retry_after_max_s; /* a longer Retry-After defers the request */
    int max_connections;    /* transfers at once */
    int verify;             /* TLS peer and host verification (default on) */
    const char *ca_file, *client_cert, *client_key; /* NULL or "" = none */
    unsigned char no_retry[600];                    /* 1 for HTTP codes not retried */
} http_opts;

/* One exchange as the journal keeps it: secrets already redacted. */
typedef struct http_exchange {
    time_t started_at;
    long duration_ms;
    const char *method, *url;
    const char *request_headers;  /* "Name: value\n"..., Authorization redacted */
    long long body_size;          /* -1 = no body */
    const char *body_sha256;      /* NULL when the body is secret or absent */
    long status;                  /* 0 = no HTTP answer */
    const char *response_headers; /* the selected ones */
    const char *response_text;    /* capped; NULL when secret */
    const char *error;            /* NULL when the exchange succeeded */
    int attempt;                  /* 1-based */
    int emulated;                 /* made up by emulation: nothing left the machine */
} http_exchange;

typedef struct http_req http_req;
struct http_req {
    /* filled by the caller */
    const char *method;       /* "GET", "POST" */
    const char *url;          /* owned by the caller */
    const char *content_type; /* NULL = none */
    const char *bearer;       /* token for Authorization, never journaled */
    const char *body;         /* memory body, or NULL */
    size_t body_len;
    int body_secret;         /* do not journal the body's hash */
    int response_secret;     /* do not journal the response text */
    const char *file;        /* a file body, or NULL */
    long long file_size;     /* the size recorded for it */
    const char *file_sha256; /* the hex digest recorded for it */
    int no_retry;            /* one attempt only */
    void *ud;                /* for the caller */
    /* results */
    http_outcome outcome;
    long status;        /* last HTTP status, 0 when none */
    rdm_buf text;       /* response body (capped at 64 KiB), owned; http_req_free */
    char error[512];    /* why, when outcome != HTTP_OK */
    long retry_after_s; /* from the last answer, -1 when none */
    int attempts;
    /* plat_mono_ms() until which the server may still act on an attempt
     * whose whole file body left and which ended with no answer (a timeout,
     * a connection lost while waiting): its end plus one more timeout.
     * 0 when no attempt was like that */
    int64_t unanswered_until;
    /* private */
    struct http_run *run_;
    long long sent_;
    void *fp_;
    sha256_ctx sha_;
    int64_t next_at_;
    int state_;
    time_t started_;
    int64_t t0_;
    long long moved_ul_, moved_dl_; /* bytes at the last movement */
    int64_t moved_at_;              /* when a byte last moved */
    int64_t sent_at_;               /* when the whole request had left (0: not yet) */
    int stalled_;
    int too_long_;  /* the answer outgrew ANSWER_MAX */
    long long got_; /* bytes of the answer's body so far */
    rdm_buf hdr_;
    char reqhdr_[512];
};

typedef struct http_client http_client;

/* Called once per attempt, after it ended. */
typedef void (*http_journal_fn)(void *ud, const http_req *r, const http_exchange *x);

/* Sets the reference's defaults (timeout 10 s, 10 retries, 15 connections,
 * verification on) and no codes excluded from retries. */
void http_opts_default(http_opts *o);

/* A client owns a curl multi handle and its connection pool. The caller
 * frees it with http_free(). */
rdm_rc http_new(const http_opts *o, http_journal_fn journal, void *ud, http_client **out,
                rdm_err *err);
void http_free(http_client *c);

/* Runs the n requests to their end, up to max_connections at a time, each
 * retried while its failure is transient (a network error, a 5xx, 408,
 * 429, any code not in no_retry) with full-jitter backoff or the server's
 * Retry-After. When stop_on_net is set and one request ends HTTP_NET,
 * requests not yet started end HTTP_NET too ("not tried: the datamart is
 * unreachable") instead of each finding that out. When a stop is asked
 * (plat_stop_requested), nothing new starts and transfers still running
 * after 5 s are cut: those end HTTP_STOPPED. Returns RDM_OK unless the
 * client itself broke; each request's outcome says how it went. */
rdm_rc http_perform(http_client *c, http_req **reqs, int n, int stop_on_net, rdm_err *err);

/* Frees what a request's results own. */
void http_req_free(http_req *r);

/* The delay before retry `attempt` (1 = the first retry): uniform in
 * [0, min(cap, base * 2^(attempt-1))], from a random value r in [0, 1). */
long http_backoff_ms(long base_ms, long cap_ms, int attempt, double r);

/* Seconds asked by a Retry-After value: delta-seconds or an HTTP date
 * (relative to now); -1 when it cannot be read. */
long http_retry_after(const char *value, time_t now);

/* Copies url into out (n bytes), the password of its user part
 * (scheme://user:password@host/...) replaced by ********: what the
 * journal and the log keep of a URL. */
void http_mask_url(const char *url, char *out, size_t n);

#endif
