/*
 * dm.h - the datamart's protocol (../shared/spec/PROTOCOL.md) over http.c:
 * plain mode, proxy API mode (token, wrapped paths, one re-authentication
 * on 401) and emulation (nothing leaves the machine). Knows nothing of the
 * store: the caller journals through the http callback and keeps state.
 *
 * Interface (prefix dm_):
 *   dm_new(), dm_free()     a client for one configuration
 *   dm_upload_files()       POST files, get request ids
 *   dm_ask_status()         GET the status codes of requests
 *   dm_file_status()        datamart code -> file upload status (pure)
 *   dm_emulated_code()      RESPONSE_FILE_STATUS -> code (pure)
 *   dm_url()                the URL of a plain path in this mode (pure)
 *   dm_status_code(), dm_request_id()   read the datamart's answers (pure)
 */
#ifndef RDM_DM_H
#define RDM_DM_H

#include "http.h"

/* File upload status values (the reference's). */
enum { DM_FILE_IN_PROGRESS = 1, DM_FILE_FINISHED = 2, DM_FILE_ERROR = 3, DM_FILE_IN_CHECK = 4 };

typedef struct dm_opts {
    const char *url;      /* base; a path after host:port is kept as a prefix */
    const char *datamart; /* DATAMART_NAME */
    int proxy;            /* USE_PROXY_API */
    const char *username, *password, *ogrn, *installation_name, *installation_id;
    int emulation;          /* ENABLE_REQUEST_EMULATION */
    const char *emu_status; /* RESPONSE_FILE_STATUS */
    http_opts http;
} dm_opts;

typedef struct dm_client dm_client;

/* Keeps one exchange (secrets already redacted); returns its journal row
 * id, or 0. item: the dm_upload's ud for an upload's exchanges (so the
 * caller can link the row to its upload in the same transaction: a crash
 * right after the answer then still knows the request id), else NULL. */
typedef long long (*dm_journal_fn)(void *ud, const http_exchange *x, void *item);

typedef struct dm_upload {
    const char *entity; /* the entity key; the table is its lower case */
    int op_delete;      /* 1: .../delete, else .../upload */
    const char *file;   /* the file, its recorded size and SHA-256 */
    long long size;
    const char *sha256;
    void *ud;
    /* results */
    http_outcome outcome;
    long status;
    char request_id[128];
    char error[600];
    int emulated;
    long long journal_id; /* the last exchange of this upload */
    long retry_after_s;   /* the last answer's Retry-After, -1 when none */
} dm_upload;

typedef struct dm_status {
    const char *request_id;
    void *ud;
    /* results */
    http_outcome outcome;
    int known; /* 1: code holds the integer the datamart answered */
    int code;
    char error[600];
    long long journal_id;
    long retry_after_s; /* the last answer's Retry-After, -1 when none */
} dm_status;

/* Checks the options (URL scheme, proxy credentials, the emulated status)
 * and makes a client; the caller frees it with dm_free(). The strings in o
 * must outlive the client. */
rdm_rc dm_new(const dm_opts *o, dm_journal_fn journal, void *ud, dm_client **out, rdm_err *err);
void dm_free(dm_client *c);

/* Sends the files, up to MAX_CONNECTIONS at once, each retried as http.c
 * does; in proxy mode gets a token first and, on a 401, a new token and one
 * more try. A 2xx whose text is empty or not an id is HTTP_STATUS. When the
 * datamart turns out unreachable, the uploads not yet started end HTTP_NET
 * untried. When an upload's whole body left and no answer came, returns
 * only once one more timeout has passed (the datamart may still take it:
 * the caller's next file must not overtake it). Returns RDM_OK unless the
 * client broke; see each outcome. */
rdm_rc dm_upload_files(dm_client *c, dm_upload **u, int n, rdm_err *err);

/* Asks the status of each request: known = 1 and code when the answer
 * holds an integer `code`; known = 0 (outcome HTTP_OK) when it does not
 * ("status unknown", stays in progress). */
rdm_rc dm_ask_status(dm_client *c, dm_status **s, int n, rdm_err *err);

/* Reads a status answer: 0 and *code when the JSON object holds an
 * integer "code"; -1 with the reason in why otherwise (a string code, a
 * fraction, not JSON: "status unknown"). Pure. */
int dm_status_code(const char *text, size_t len, int *code, char *why, size_t n);

/* Reads an upload's answer as a request id: trimmed (blanks, quotes),
 * printable, no '/', '"' or space, shorter than n. 0, or -1. Pure. */
int dm_request_id(const char *text, size_t len, char *id, size_t n);

/* The file upload status of a datamart code: 1 IN_PROGRESS for -1, 0, 1,
 * 2, 6; 2 FINISHED for 3; 3 ERROR for 4, 5, 7; 0 for a code not in the
 * table. */
int dm_file_status(int code);

/* The code emulation answers for RESPONSE_FILE_STATUS: a name (success,
 * buffered, in_processing, failed_processing, not_found, flc_error, ...,
 * or a key such as SUCCESSFULLY_PROCESSED) or a number -1..7. Returns 0
 * and sets *code, or -1 when it is neither. */
int dm_emulated_code(const char *name, int *code);

/* Writes into buf the absolute URL of a plain-mode path ("/v2/...") in
 * this client's mode (proxy wrapping, base path kept). 0, or -1 when buf
 * is too small. */
int dm_url(const dm_client *c, const char *path, char *buf, size_t n);

#endif
