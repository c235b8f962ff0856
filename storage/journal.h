/*
 * journal.h - the journal of HTTP exchanges with the datamart (table
 * journal): one row per attempt, bodies summarised by size and SHA-256,
 * secrets redacted by the caller before they get here (net/http.c never
 * hands over a password, a token or an Authorization value).
 *
 * Interface (prefix journal_):
 *   journal_add()     keep one exchange
 *   journal_print()   show rows (rdm-agent journal)
 */
#ifndef RDM_JOURNAL_H
#define RDM_JOURNAL_H

#include "store.h"

#include <stdio.h>
#include <time.h>

typedef struct journal_entry {
    time_t started_at;
    long duration_ms;
    const char *method, *url, *request_headers;
    long long body_size; /* -1: none */
    const char *body_sha256;
    long status; /* 0: no HTTP answer */
    const char *response_headers, *response_text, *error;
    int attempt, emulated;
} journal_entry;

/* The longest response text kept (bytes; cut at a UTF-8 boundary). */
#define JOURNAL_TEXT_MAX 4096

/* Inserts one row in its own transaction (or the caller's); returns its id,
 * or 0 when it could not be written (logged: the journal never stops an
 * upload). */
long long journal_add(store *st, const journal_entry *e);

/* Prints the rows started at or after since (0 = all), only failed ones
 * (an error or an HTTP status >= 400) when failed_only, newest last, at
 * most limit (the newest ones). */
rdm_rc journal_print(store *st, time_t since, int failed_only, int limit, FILE *out, rdm_err *err);

#endif
