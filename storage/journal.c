/* journal.c - see journal.h. */
#include "journal.h"
#include "../base/log.h"
#include "../base/plat.h"

#include <string.h>

/* Length of at most max bytes of s that does not end inside a UTF-8
 * sequence. */
static int utf8_cut(const char *s, int max)
{
    int n = (int)strlen(s);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

long long journal_add(store *st, const journal_entry *e)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *s = NULL;
    long long id = 0;
    int rc = sqlite3_prepare_v2(db,
                                "INSERT INTO journal(started_at, duration_ms, method, url, "
                                "request_headers, body_size, body_sha256, http_status, "
                                "response_headers, response_text, error, is_emulation, attempt) "
                                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, (sqlite3_int64)e->started_at);
        sqlite3_bind_int64(s, 2, e->duration_ms);
        bind_text(s, 3, e->method);
        bind_text(s, 4, e->url);
        bind_text(s, 5, e->request_headers);
        if (e->body_size >= 0)
            sqlite3_bind_int64(s, 6, e->body_size);
        bind_text(s, 7, e->body_sha256);
        if (e->status)
            sqlite3_bind_int64(s, 8, e->status);
        bind_text(s, 9, e->response_headers);
        if (e->response_text)
            sqlite3_bind_text(s, 10, e->response_text, utf8_cut(e->response_text, JOURNAL_TEXT_MAX),
                              SQLITE_TRANSIENT);
        bind_text(s, 11, e->error);
        sqlite3_bind_int(s, 12, e->emulated);
        sqlite3_bind_int(s, 13, e->attempt);
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
            id = sqlite3_last_insert_rowid(db);
    }
    if (!id)
        log_warn("journal: could not record %s %s: %s", e->method, e->url, sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return id;
}

rdm_rc journal_print(store *st, time_t since, int failed_only, int limit, FILE *out, rdm_err *err)
{
    sqlite3_stmt *s = NULL;
    rdm_rc rc = store_prepare(
        st,
        "SELECT * FROM (SELECT id, started_at, duration_ms, method, url, http_status, body_size, "
        "body_sha256, error, is_emulation, attempt, substr(response_text, 1, 120) FROM journal "
        "WHERE started_at >= ?1 AND (?2 = 0 OR error IS NOT NULL OR http_status >= 400) "
        "ORDER BY id DESC LIMIT ?3) ORDER BY id",
        &s, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
    sqlite3_bind_int(s, 2, failed_only);
    sqlite3_bind_int(s, 3, limit > 0 ? limit : -1);
    int r, rows = 0;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        struct tm tm;
        char when[32] = "?";
        if (plat_localtime((time_t)sqlite3_column_int64(s, 1), &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        const char *status = (const char *)sqlite3_column_text(s, 5);
        const char *errtext = (const char *)sqlite3_column_text(s, 8);
        const char *text = (const char *)sqlite3_column_text(s, 11);
        fprintf(out, "%lld  %s  %5lld ms  %s %s  -> %s", (long long)sqlite3_column_int64(s, 0),
                when, (long long)sqlite3_column_int64(s, 2), sqlite3_column_text(s, 3),
                sqlite3_column_text(s, 4), status ? status : "no answer");
        if (sqlite3_column_type(s, 6) != SQLITE_NULL)
            fprintf(out, "  sent %lld bytes sha256 %.16s", (long long)sqlite3_column_int64(s, 6),
                    sqlite3_column_type(s, 7) == SQLITE_NULL
                        ? "(secret)"
                        : (const char *)sqlite3_column_text(s, 7));
        if (sqlite3_column_int(s, 10) > 1)
            fprintf(out, "  attempt %d", sqlite3_column_int(s, 10));
        if (sqlite3_column_int(s, 9))
            fprintf(out, "  [emulation]");
        if (errtext)
            fprintf(out, "  error: %s", errtext);
        else if (text && *text) {
            fputs("  answer: ", out);
            for (const char *c = text; *c; c++)
                fputc(*c == '\n' || *c == '\r' ? ' ' : *c, out);
        }
        fputc('\n', out);
        rows++;
    }
    if (r != SQLITE_DONE)
        rc = store_fail(st, err, "reading the journal");
    else if (!rows)
        fprintf(out, "journal: no %sexchanges%s\n", failed_only ? "failed " : "",
                since ? " in that period" : "");
    sqlite3_finalize(s);
    return rc;
}
