/* upload.c - see upload.h. */
#include "upload.h"
#include "../base/sha256.h"
#include "../base/log.h"
#include "../base/plat.h"
#include "../base/progress.h"
#include "../net/dm.h"
#include "../storage/journal.h"
#include "../storage/lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pick pick;

typedef struct up {
    store *st;
    const rdm_config *cfg;
    dm_client *dm;
    dm_opts o;
    time_t now;
    long long flight;         /* bytes in flight, as in_flight() counts them; -1: ask the store */
    long long chk_lo, chk_hi; /* the sub-stages whole_sub() found whole last */
    int to_error;             /* sub-stages record_status() moved to PROCESS_ERROR */
} up;

/* One file being sent. */
struct pick {
    long long sub, att, round, log_id, size;
    int op, sent;
    char entity[128], path[4096], sha[SHA256_HEX], relpath[1024];
    dm_upload d;
};

static int exec_i(up *u, rdm_err *err, const char *sql, const char *text, long long a, long long b,
                  long long c, long long d);

/* Journals one exchange; an upload's row is linked to its upload_log row
 * in the same transaction, so that a run killed after the answer still
 * finds the request id (recover()). */
static long long on_journal(void *ud, const http_exchange *x, void *item)
{
    up *u = ud;
    pick *k = item;
    journal_entry e = {x->started_at,       x->duration_ms,   x->method,      x->url,
                       x->request_headers,  x->body_size,     x->body_sha256, x->status,
                       x->response_headers, x->response_text, x->error,       x->attempt,
                       x->emulated};
    if (!k)
        return journal_add(u->st, &e);
    if (store_begin(u->st, NULL))
        return 0;
    long long id = journal_add(u->st, &e);
    if (id && exec_i(u, NULL, "UPDATE upload_log SET journal_id = ?1 WHERE id = ?2", NULL, id,
                     k->log_id, 0, 0) < 0)
        id = 0;
    if (!id || store_commit(u->st, NULL)) {
        store_rollback(u->st);
        return 0;
    }
    plat_fault_point("upload: answer journaled");
    return id;
}

/* Reads the comma-separated codes of NO_RETRY_STATUS_CODES. */
static void no_retry_codes(const char *list, unsigned char *out)
{
    for (const char *p = list; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        if (v > 0 && v < 600)
            out[v] = 1;
        p = end;
    }
}

/* Builds the datamart client from [uploader_client].
 */
static rdm_rc up_open(up *u, store *st, const rdm_config *cfg, rdm_err *err)
{
    memset(u, 0, sizeof *u);
    u->st = st;
    u->cfg = cfg;
    u->now = time(NULL);
    u->flight = -1;
    dm_opts *o = &u->o;
    o->url = cfg_str(cfg, CFG_URL);
    o->datamart = cfg_str(cfg, CFG_DATAMART_NAME);
    o->proxy = cfg_bool(cfg, CFG_USE_PROXY_API);
    o->username = cfg_str(cfg, CFG_USERNAME);
    o->password = cfg_str(cfg, CFG_PASSWORD);
    o->ogrn = cfg_str(cfg, CFG_ORGANIZATION_OGRN);
    o->installation_name = cfg_str(cfg, CFG_INSTALLATION_NAME);
    o->installation_id = cfg_str(cfg, CFG_INSTALLATION_ID);
    o->emulation = cfg_bool(cfg, CFG_ENABLE_REQUEST_EMULATION);
    o->emu_status = cfg_str(cfg, CFG_RESPONSE_FILE_STATUS);
    http_opts_default(&o->http);
    o->http.timeout_s = (long)cfg_int(cfg, CFG_REQUEST_TIMEOUT);
    o->http.retries = (int)cfg_int(cfg, CFG_REQUEST_RETRIES);
    o->http.backoff_ms = (long)cfg_int(cfg, CFG_RETRY_BACKOFF_MS);
    o->http.backoff_max_ms = (long)cfg_int(cfg, CFG_RETRY_BACKOFF_MAX_MS);
    o->http.max_connections = (int)cfg_int(cfg, CFG_MAX_CONNECTIONS);
    o->http.verify = cfg_bool(cfg, CFG_VERIFY_TLS);
    o->http.ca_file = cfg_str(cfg, CFG_CA_FILE);
    o->http.client_cert = cfg_str(cfg, CFG_CLIENT_CERT);
    o->http.client_key = cfg_str(cfg, CFG_CLIENT_KEY);
    no_retry_codes(cfg_str(cfg, CFG_NO_RETRY_STATUS_CODES), o->http.no_retry);
    if (o->emulation)
        log_info("datamart: emulation ([uploader_client] ENABLE_REQUEST_EMULATION = True): "
                 "nothing is sent over the network");
    /* VERIFY_TLS = False: the configuration warns at every load (config.c) */
    return dm_new(o, on_journal, u, &u->dm, err);
}

static void up_close(up *u)
{
    dm_free(u->dm);
    u->dm = NULL;
}

/* Runs one statement (sql: a string literal, kept prepared by
 * store_cached()) with up to four integer parameters and an optional text.
 * Returns sqlite3_changes, or -1 (err filled). */
static int exec_i(up *u, rdm_err *err, const char *sql, const char *text, long long a, long long b,
                  long long c, long long d)
{
    sqlite3_stmt *s;
    if (store_cached(u->st, sql, &s, err))
        return -1;
    int np = sqlite3_bind_parameter_count(s), i = 1;
    long long v[4] = {a, b, c, d};
    if (text && i <= np)
        sqlite3_bind_text(s, i++, text, -1, SQLITE_TRANSIENT);
    for (int k = 0; k < 4 && i <= np; k++)
        sqlite3_bind_int64(s, i++, v[k]);
    int r = sqlite3_step(s);
    store_done(u->st, s);
    if (r != SQLITE_DONE && r != SQLITE_ROW) {
        store_fail(u->st, err, "updating the upload state");
        return -1;
    }
    return sqlite3_changes(store_db(u->st));
}

/* One integer from a query (sql: a string literal, see exec_i) with up to
 * two integer parameters. */
static long long query_i(up *u, const char *sql, long long a, long long b)
{
    sqlite3_stmt *s;
    long long v = 0;
    if (store_cached(u->st, sql, &s, NULL))
        return 0;
    int np = sqlite3_bind_parameter_count(s);
    if (np >= 1)
        sqlite3_bind_int64(s, 1, a);
    if (np >= 2)
        sqlite3_bind_int64(s, 2, b);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    store_done(u->st, s);
    return v;
}

/* Bytes sent and not yet finally answered. */
static long long in_flight(up *u)
{
    return query_i(u,
                   "SELECT COALESCE(SUM(a.size), 0) FROM upload_log l JOIN attachment a ON "
                   "a.id = l.attachment_id WHERE l.file_upload_status = 1 AND l.request_id IS "
                   "NOT NULL AND l.is_emulation = 0 AND l.gave_up_at IS NULL",
                   0, 0);
}

/* The bytes the uploads from log id `from` on put in flight (in_flight()'s
 * count over those rows alone, read by id: a run's count grows by its own
 * answers without summing every file still waiting for its status). */
static long long in_flight_from(up *u, long long from)
{
    return query_i(u,
                   "SELECT COALESCE(SUM(a.size), 0) FROM upload_log l JOIN attachment a ON "
                   "a.id = l.attachment_id WHERE l.id >= ?1 AND +l.file_upload_status = 1 AND "
                   "l.request_id IS NOT NULL AND l.is_emulation = 0 AND l.gave_up_at IS NULL",
                   from, 0);
}

/* The datamart did not answer (or kept answering 5xx/429): remember it and
 * when to try again. Says so once, when it starts. */
static void mark_unreachable(up *u, const char *why, long retry_after_s, long long *next_try)
{
    long long failures = query_i(u, "SELECT failures FROM dm_reach WHERE id = 1", 0, 0);
    long long was = query_i(u, "SELECT offline_since IS NOT NULL FROM dm_reach WHERE id = 1", 0, 0);
    long long cap = cfg_int(u->cfg, CFG_OFFLINE_BACKOFF_MAX_MINUTES) * 60;
    long long delay = 60;
    for (long long i = 0; i < failures && delay < cap; i++)
        delay *= 2;
    if (delay > cap)
        delay = cap;
    /* full jitter within the upper half, so sites do not retry in step */
    delay = delay / 2 + (long long)((plat_seed() >> 11) % (unsigned long long)(delay / 2 + 1));
    if (retry_after_s > delay) /* the datamart's wish, within the cap */
        delay = retry_after_s < cap ? retry_after_s : cap;
    *next_try = (long long)u->now + delay;
    exec_i(u, NULL,
           "UPDATE dm_reach SET offline_since = COALESCE(offline_since, ?2), failures = failures "
           "+ 1, next_try = ?3, last_error = ?1 WHERE id = 1",
           why, (long long)u->now, *next_try, 0, 0);
    if (!was)
        log_warn("datamart: unreachable (%s); nothing is marked failed, uploads wait and are "
                 "tried again in %lld s",
                 why, delay);
    else
        log_info("datamart: still unreachable (%s); next attempt in %lld s", why, delay);
}

/* The datamart was unreachable and its next try (dm_reach) has not come:
 * that time; else 0. Emulation never waits. */
static long long not_due(up *u)
{
    long long next = query_i(u, "SELECT COALESCE(next_try, 0) FROM dm_reach WHERE id = 1", 0, 0);
    return !u->o.emulation && next > (long long)u->now ? next : 0;
}

static void mark_reachable(up *u)
{
    long long since = query_i(u, "SELECT offline_since FROM dm_reach WHERE id = 1", 0, 0);
    if (!since)
        return;
    log_info("datamart: answers again (unreachable since %lld s ago); uploads resume",
             (long long)u->now - since);
    exec_i(u, NULL,
           "UPDATE dm_reach SET offline_since = NULL, failures = 0, next_try = NULL, "
           "last_error = NULL WHERE id = 1",
           NULL, 0, 0, 0, 0);
}

/* Records one status answer for upload id of sub-stage sub, in the
 * caller's transaction. */
static rdm_rc record_status(up *u, long long id, long long sub, const dm_status *ds,
                            status_stats *ss, rdm_err *err)
{
    if (exec_i(u, err,
               "INSERT INTO status_request_log(upload_id, journal_id, request_status, "
               "created_at) VALUES (?1, NULLIF(?2, 0), CASE WHEN ?4 THEN ?3 END, "
               "CAST(strftime('%s', 'now') AS INTEGER))",
               NULL, id, ds->journal_id, ds->code,
               ds->outcome == HTTP_OK && ds->known && dm_file_status(ds->code) ? 1 : 0) < 0)
        return RDM_ERR_STORE;
    int fs = ds->outcome == HTTP_OK && ds->known ? dm_file_status(ds->code) : 0;
    if (fs) {
        if (exec_i(u, err,
                   "UPDATE upload_log SET file_upload_status = ?1, status_code = ?2, "
                   "last_status_at = ?3, modified_at = ?3 WHERE id = ?4",
                   NULL, fs, ds->code, (long long)u->now, id) < 0)
            return RDM_ERR_STORE;
        if (fs == DM_FILE_ERROR &&
            exec_i(u, err,
                   "UPDATE export_substage SET status = 'PROCESS_ERROR', ended_at = ?2, error = "
                   "(SELECT printf('the datamart answered %d %s «%s» for request %s of %s; "
                   "fix the cause, then rdm-agent resend %d', d.code, d.key, d.title, "
                   "l.request_id, a.path, l.substage_id) FROM upload_log l JOIN attachment a ON "
                   "a.id = l.attachment_id JOIN datamart_status d ON d.code = l.status_code "
                   "WHERE l.id = ?1) WHERE id = ?3 AND status IN ('READY_FOR_EXPORT', "
                   "'FINISHED') AND send_round = (SELECT round FROM upload_log WHERE id = ?1)",
                   NULL, id, (long long)u->now, sub, 0) < 0)
            return RDM_ERR_STORE;
        if (fs == DM_FILE_ERROR && sqlite3_changes(store_db(u->st)) > 0)
            u->to_error++;
        if (ss)
            ss->finished += fs == DM_FILE_FINISHED, ss->errors += fs == DM_FILE_ERROR,
                ss->still += fs == DM_FILE_IN_PROGRESS;
    } else {
        if (ds->outcome == HTTP_OK && ds->known)
            log_warn("datamart: upload %lld: status code %d is not in the protocol; it stays in "
                     "progress and is asked again",
                     id, ds->code);
        else if (ds->outcome == HTTP_OK)
            log_warn("datamart: upload %lld: %s", id, ds->error);
        if (ss)
            ss->unknown++;
        if (exec_i(u, err, "UPDATE upload_log SET last_status_at = ?1 WHERE id = ?2", NULL,
                   (long long)u->now, id, 0, 0) < 0)
            return RDM_ERR_STORE;
    }
    return RDM_OK;
}

/* Ends the READY_FOR_EXPORT sub-stages all of whose files have an id in
 * their round: FINISHED (those with an error answer are PROCESS_ERROR
 * already). sub: that sub-stage only (one search by id: a condition like
 * "?2 = 0 OR id = ?2" would read every ready sub-stage), 0: all. */
#define ALL_SENT                                                                                   \
    " AND status = 'READY_FOR_EXPORT' AND NOT EXISTS (SELECT 1 FROM attachment a WHERE "           \
    "a.substage_id = export_substage.id AND a.size > 0 AND NOT EXISTS (SELECT 1 FROM upload_log "  \
    "l WHERE l.attachment_id = a.id AND l.round = export_substage.send_round AND l.request_id "    \
    "IS NOT NULL))"
static int finalize(up *u, long long sub, rdm_err *err)
{
    if (sub)
        return exec_i(u, err,
                      "UPDATE export_substage SET status = 'FINISHED', ended_at = ?1 WHERE id = "
                      "?2" ALL_SENT,
                      NULL, (long long)u->now, sub, 0, 0);
    return exec_i(u, err,
                  "UPDATE export_substage SET status = 'FINISHED', ended_at = ?1 WHERE 1" ALL_SENT,
                  NULL, (long long)u->now, 0, 0, 0);
}

/* Files of one entity sent under one intent commit, one after another. */
enum { PER_ENTITY = 8 };

/* Fills k from a row of choose()'s queries (sub-stage id, entity, round,
 * attachment id, path, operation, size, SHA-256). */
static void pick_row(up *u, sqlite3_stmt *q, pick *k)
{
    memset(k, 0, sizeof *k);
    k->sub = sqlite3_column_int64(q, 0);
    snprintf(k->entity, sizeof k->entity, "%s", (const char *)sqlite3_column_text(q, 1));
    k->round = sqlite3_column_int64(q, 2);
    k->att = sqlite3_column_int64(q, 3);
    snprintf(k->relpath, sizeof k->relpath, "%s", (const char *)sqlite3_column_text(q, 4));
    plat_join(cfg_str(u->cfg, CFG_DATA_DIR), k->relpath, k->path, sizeof k->path);
    k->op = sqlite3_column_int(q, 5);
    k->size = sqlite3_column_int64(q, 6);
    snprintf(k->sha, sizeof k->sha, "%s", (const char *)sqlite3_column_text(q, 7));
}

/* Chooses the next files: up to max entities, oldest sub-stage first, and
 * of each its next PER_ENTITY files in order (entity e's j-th in
 * p[e * PER_ENTITY + j], cnt[e] of them), within the byte budget counted
 * in sending order: the first file of every entity, then the second, and
 * so on. Returns how many entities (0 = nothing to send), -1 on failure.
 * Each entity's first file is one search of export_substage_ready, the
 * entities found by walking its distinct values; its next files are one
 * bounded read of the same index: no query reads every ready sub-stage. */
static int choose(up *u, pick *p, int *cnt, int max, long long budget, upload_stats *s,
                  rdm_err *err)
{
    sqlite3_stmt *q;
    if (store_cached(u->st,
                     "WITH RECURSIVE e(x) AS (SELECT min(entity) FROM export_substage WHERE "
                     "status = 'READY_FOR_EXPORT' UNION ALL SELECT (SELECT min(entity) FROM "
                     "export_substage WHERE status = 'READY_FOR_EXPORT' AND entity > e.x) FROM e "
                     "WHERE e.x IS NOT NULL) "
                     "SELECT s.id, s.entity, s.send_round, a.id, a.path, a.operation, a.size, "
                     "a.sha256 FROM e JOIN attachment a ON a.id = (SELECT f.id FROM "
                     "export_substage t JOIN attachment f ON f.substage_id = t.id WHERE t.status "
                     "= 'READY_FOR_EXPORT' AND t.entity = e.x AND f.size > 0 AND NOT EXISTS "
                     "(SELECT 1 FROM upload_log l WHERE l.attachment_id = f.id AND l.round = "
                     "t.send_round AND l.request_id IS NOT NULL) ORDER BY t.id, f.operation, "
                     "f.id LIMIT 1) JOIN export_substage s ON s.id = a.substage_id ORDER BY s.id",
                     &q, err))
        return -1;
    int ne = 0;
    while (ne < max && sqlite3_step(q) == SQLITE_ROW) {
        cnt[ne] = 1;
        pick_row(u, q, &p[ne++ * PER_ENTITY]);
    }
    store_done(u->st, q);
    for (int e = 0; e < ne; e++) {
        const pick *f = &p[e * PER_ENTITY];
        if (store_cached(u->st,
                         "SELECT t.id, t.entity, t.send_round, f.id, f.path, f.operation, f.size, "
                         "f.sha256 FROM export_substage t JOIN attachment f ON f.substage_id = "
                         "t.id WHERE t.status = 'READY_FOR_EXPORT' AND t.entity = ?1 AND t.id >= "
                         "?2 AND (t.id, f.operation, f.id) > (?2, ?3, ?4) AND f.size > 0 AND NOT "
                         "EXISTS (SELECT 1 FROM upload_log l WHERE l.attachment_id = f.id AND "
                         "l.round = t.send_round AND l.request_id IS NOT NULL) ORDER BY t.id, "
                         "f.operation, f.id LIMIT ?5",
                         &q, err))
            return -1;
        sqlite3_bind_text(q, 1, f->entity, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, f->sub);
        sqlite3_bind_int(q, 3, f->op);
        sqlite3_bind_int64(q, 4, f->att);
        sqlite3_bind_int(q, 5, PER_ENTITY - 1);
        while (sqlite3_step(q) == SQLITE_ROW)
            pick_row(u, q, &p[e * PER_ENTITY + cnt[e]++]);
        store_done(u->st, q);
    }
    if (u->flight < 0)
        u->flight = in_flight(u);
    long long add = 0;
    for (int r = 0; r < PER_ENTITY; r++)
        for (int e = 0; e < ne; e++) {
            if (r >= cnt[e])
                continue;
            long long size = p[e * PER_ENTITY + r].size;
            if (u->flight + add > 0 && u->flight + add + size > budget) {
                /* this file waits, and everything after it */
                s->budget_full = 1;
                for (int k = 0; k < ne; k++)
                    cnt[k] = cnt[k] < r + (k < e) ? cnt[k] : r + (k < e);
                while (ne && !cnt[ne - 1])
                    ne--;
                return ne;
            }
            add += size;
        }
    return ne;
}

/* Marks sends a killed run left without an outcome. */
static int recover(up *u, rdm_err *err)
{
    /* answered, journaled, killed before the id was stored: adopt it, when
     * the answer is an id as a live run would take it (dm_request_id());
     * any other answer leaves the file to be sent again, below */
    sqlite3_stmt *q;
    long long *ids = NULL;
    char(*rids)[sizeof((dm_upload *)0)->request_id] = NULL;
    int a = 0, cap = 0;
    if (store_prepare(u->st,
                      "SELECT l.id, j.response_text FROM upload_log l JOIN journal j ON j.id = "
                      "l.journal_id WHERE l.request_id IS NULL AND l.error IS NULL AND "
                      "j.http_status BETWEEN 200 AND 299 AND j.error IS NULL",
                      &q, err))
        return -1;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (a == cap) {
            int c = cap ? cap * 2 : 16;
            long long *ni = realloc(ids, (size_t)c * sizeof *ids);
            void *nr = ni ? realloc(rids, (size_t)c * sizeof *rids) : NULL;
            if (ni)
                ids = ni;
            if (!nr)
                break; /* out of memory: those files are sent again */
            rids = nr;
            cap = c;
        }
        const char *t = (const char *)sqlite3_column_text(q, 1);
        if (!dm_request_id(t, t ? (size_t)sqlite3_column_bytes(q, 1) : 0, rids[a], sizeof rids[a]))
            ids[a++] = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    int bad = 0;
    for (int i = 0; i < a && !bad; i++)
        bad =
            exec_i(u, err, "UPDATE upload_log SET request_id = ?1, modified_at = ?2 WHERE id = ?3",
                   rids[i], (long long)u->now, ids[i], 0, 0) < 0;
    free(ids);
    free(rids);
    if (bad)
        return -1;
    if (a > 0)
        log_info("upload: %d upload(s) of a stopped run were answered before it stopped; their "
                 "request ids are taken from the journal (not sent again)",
                 a);
    int n = exec_i(
        u, err,
        "UPDATE upload_log SET file_upload_status = 3, modified_at = ?1, error = "
        "'interrupted: the agent stopped before the answer to this file was recorded; it may have "
        "reached the datamart and is sent again' WHERE request_id IS NULL AND error "
        "IS NULL",
        NULL, (long long)u->now, 0, 0, 0);
    if (n > 0)
        log_warn("upload: %d send(s) of a stopped run had no answer recorded (cut off, or not "
                 "started yet); those files are sent again (the journal shows any attempt)",
                 n);
    return n;
}

/* Marks the sub-stage of a file that could not be sent FAILED with msg
 * (reexport 1: its files were lost, the next export writes them again). */
static int fail_sub(up *u, pick *k, const char *msg, int reexport, upload_stats *s, rdm_rc *first,
                    rdm_err *err)
{
    log_error("upload: sub-stage %lld (%s): %s", k->sub, k->entity, msg);
    s->failed++;
    *first = RDM_ERR_IO;
    return exec_i(u, err,
                  "UPDATE export_substage SET status = 'FAILED', reexport = ?4, ended_at = ?2, "
                  "error = ?1 WHERE id = ?3",
                  msg, (long long)u->now, k->sub, reexport, 0) < 0
               ? -1
               : 0;
}

/* The send was answered with a status retried to the end: the datamart is
 * not taking files now (not a refusal of this file). */
static int not_now(const up *u, const dm_upload *d)
{
    return d->outcome == HTTP_STATUS && d->status > 0 && d->status < 600 &&
           !u->o.http.no_retry[d->status] && d->status != 200 && d->status / 100 != 2;
}

/* 1 when the outcome of a send stops the run (the datamart unreachable or
 * not taking files, credentials refused, TLS, a redirect, a local failure,
 * a stop request): what settle()
 * returns for it, known before anything is stored. */
/* 401, 403: the credentials are refused, not the file */
static int refused_credentials(const dm_upload *d)
{
    return d->outcome == HTTP_STATUS && (d->status == 401 || d->status == 403);
}

static int stops(const up *u, const dm_upload *d)
{
    return d->outcome != HTTP_OK && d->outcome != HTTP_FILE &&
           (d->outcome != HTTP_STATUS || not_now(u, d) || refused_credentials(d));
}

/* Stores the outcome of one send. Returns 1 when the run must stop (the
 * datamart unreachable), 0 otherwise, -1 on a store error. */
static int settle(up *u, pick *k, upload_stats *s, rdm_rc *first, rdm_err *err)
{
    dm_upload *d = &k->d;
    int stop = 0;
    if (d->outcome == HTTP_OK) {
        s->files_sent++;
        s->bytes_sent += k->size;
        return exec_i(u, err,
                      "UPDATE upload_log SET request_id = ?1, journal_id = NULLIF(?2, 0), "
                      "is_emulation = ?3, modified_at = ?4 WHERE id = ?5",
                      d->request_id, d->journal_id, d->emulated, (long long)u->now, k->log_id) < 0
                   ? -1
                   : 0;
    }
    if (exec_i(u, err,
               "UPDATE upload_log SET error = ?1, file_upload_status = 3, journal_id = "
               "NULLIF(?2, 0), modified_at = ?3 WHERE id = ?4",
               d->error, d->journal_id, (long long)u->now, k->log_id, 0) < 0)
        return -1;
    char msg[2200];
    switch (d->outcome) {
    case HTTP_FILE:
        snprintf(msg, sizeof msg,
                 "not sent: %s; the next export writes this sub-stage's records again", d->error);
        return fail_sub(u, k, msg, 1, s, first, err);
    case HTTP_STATUS:
        if (not_now(u, d)) {
            /* retried to the end: the datamart is not taking files now
             * (one failure for the backoff however many files said so) */
            if (!s->unreachable) {
                mark_unreachable(u, d->error, d->retry_after_s, &s->next_try);
                snprintf(s->reason, sizeof s->reason, "%s", d->error);
            }
            s->unreachable = 1;
            return 1;
        }
        if (refused_credentials(d)) {
            /* the credentials, not the file (in proxy mode after a fresh
             * token): no sub-stage is failed, and the run stops; the files
             * go once the configuration is mended */
            if (!*first)
                *first = rdm_fail(err, RDM_ERR_CONFIG,
                                  "sending %s: %s: the datamart refuses the credentials; check "
                                  "[uploader_client] URL, USERNAME, PASSWORD and "
                                  "ORGANIZATION_OGRN (nothing was marked failed)",
                                  k->relpath, d->error);
            return 1;
        }
        snprintf(msg, sizeof msg,
                 "the datamart refused %s (%s); see rdm-agent journal --failed, then rdm-agent "
                 "resend %lld",
                 k->relpath, d->error, k->sub);
        s->files_failed++;
        return fail_sub(u, k, msg, 0, s, first, err);
    case HTTP_TLS:
    case HTTP_MOVED:
    case HTTP_LOCAL:
        if (!*first)
            *first = rdm_fail(err, d->outcome == HTTP_LOCAL ? RDM_ERR_INTERNAL : RDM_ERR_CONFIG,
                              "sending %s: %s%s", k->relpath, d->error,
                              d->outcome == HTTP_TLS
                                  ? " (check [uploader_client] URL, CA_FILE, CLIENT_CERT and "
                                    "CLIENT_KEY)"
                                  : "");
        return 1;
    case HTTP_STOPPED:
        /* a cut transfer may have reached the datamart; it is sent again */
        exec_i(u, NULL,
               "UPDATE upload_log SET error = 'interrupted: ' || error || '; sent again by the "
               "next run' WHERE id = ?1",
               NULL, k->log_id, 0, 0, 0);
        if (!*first)
            *first = rdm_fail(err, RDM_ERR_STOPPED,
                              "upload stopped on request; the next run sends what is left");
        return 1;
    case HTTP_NET:
    case HTTP_DEFERRED:
    default:
        if (!s->unreachable) {
            /* the datamart's Retry-After, when it gave one, over the
             * backoff */
            mark_unreachable(u, d->error, d->outcome == HTTP_DEFERRED ? d->retry_after_s : -1,
                             &s->next_try);
            snprintf(s->reason, sizeof s->reason, "%s", d->error);
        }
        s->unreachable = 1;
        stop = 1;
        return stop;
    }
}

/* A batch of uploads to ask about. */
enum { STATUS_BATCH = 200 };
typedef struct status_batch {
    long long ids[STATUS_BATCH], subs[STATUS_BATCH];
    char rid[STATUS_BATCH][128];
    dm_status ds[STATUS_BATCH], *dsp[STATUS_BATCH];
    int n;
} status_batch;

/* Reads the batch from q (id, substage_id, request_id: at most
 * STATUS_BATCH rows) and finalizes q. */
static void batch_read(sqlite3_stmt *q, status_batch *b)
{
    b->n = 0;
    while (b->n < STATUS_BATCH && sqlite3_step(q) == SQLITE_ROW) {
        int n = b->n++;
        b->ids[n] = sqlite3_column_int64(q, 0);
        b->subs[n] = sqlite3_column_int64(q, 1);
        snprintf(b->rid[n], sizeof b->rid[n], "%s", (const char *)sqlite3_column_text(q, 2));
        b->ds[n] = (dm_status){.request_id = b->rid[n]};
        b->dsp[n] = &b->ds[n];
    }
    sqlite3_finalize(q);
}

/* Asks the status of the uploads from log id `from` on that were never
 * asked, a batch at a time (over the client's connections), and records
 * each answer. */
static rdm_rc first_statuses(up *u, long long from, upload_stats *s, rdm_err *err)
{
    u->flight = -1; /* the answers free bytes: count again */
    status_batch b;
    long long last = from - 1;
    rdm_rc rc = RDM_OK;
    for (;;) {
        sqlite3_stmt *q = NULL;
        if ((rc = store_prepare(u->st,
                                "SELECT id, substage_id, request_id FROM upload_log WHERE id > ?1 "
                                "AND request_id IS NOT NULL AND file_upload_status = 1 AND "
                                "last_status_at IS NULL ORDER BY id LIMIT ?2",
                                &q, err)))
            return rc;
        sqlite3_bind_int64(q, 1, last);
        sqlite3_bind_int(q, 2, STATUS_BATCH);
        batch_read(q, &b);
        if (!b.n || (rc = dm_ask_status(u->dm, b.dsp, b.n, err)))
            return rc;
        last = b.ids[b.n - 1];
        u->now = time(NULL);
        if ((rc = store_begin(u->st, err)))
            return rc;
        /* a sub-stage this run finished and the datamart then refused is
         * counted once, as a process error (it was counted finished) */
        int before = u->to_error;
        for (int i = 0; i < b.n && !rc; i++)
            if (b.ds[i].outcome == HTTP_OK)
                rc = record_status(u, b.ids[i], b.subs[i], &b.ds[i], NULL, err);
        if (rc || (rc = store_commit(u->st, err))) {
            store_rollback(u->st);
            return rc;
        }
        int moved = u->to_error - before;
        s->process_error += moved;
        s->finished -= moved < s->finished ? moved : s->finished;
        if (b.n < STATUS_BATCH)
            return rc;
    }
}

/* The sub-stages written from one export window (a window whose records
 * outgrow EXPORT_CHUNK_SIZE is split over consecutive sub-stages with the
 * same bounds): sub's id and its neighbours' while the window is the same.
 * A reconciliation sub-stage (no model) is alone. */
#define WINDOW_OF                                                                                  \
    "WITH RECURSIVE k AS (SELECT * FROM export_substage WHERE id = ?1), w(id) AS (SELECT id FROM " \
    "k UNION SELECT t.id FROM w, k JOIN export_substage t ON t.id IN (w.id - 1, w.id + 1) WHERE "  \
    "k.model IS NOT NULL AND t.entity = k.entity AND t.model = k.model AND t.lo_chg = k.lo_chg "   \
    "AND t.lo_rid = k.lo_rid AND t.hi_chg = k.hi_chg AND t.hi_rid = k.hi_rid) "

/* Before the first file of a sub-stage leaves (in its send round): every
 * file of its window's sub-stages still to be sent is as it was written
 * (there, of the recorded size, and but for k's own file, which is
 * checked as it is sent, of the recorded SHA-256). A file that is not
 * fails them before any of them is sent: its own sub-stage for re-export,
 * the others as covered by that re-export, which writes the whole window
 * again, every operation. Found only at its own turn, the files sent
 * before it would go again. Nothing is checked once a file of the window
 * was delivered (too late). Returns 1 when k's sub-stage failed, 0 when
 * it may go, -1 on a store error. */
static int whole_sub(up *u, pick *k, upload_stats *s, rdm_rc *first, rdm_err *err)
{
    sqlite3_stmt *q = NULL;
    char path[4096], msg[4400], hex[SHA256_HEX];
    long long lost = 0, lo = k->sub, hi = k->sub;
    if (k->sub >= u->chk_lo && k->sub <= u->chk_hi)
        return 0; /* checked with the first of its window */
    /* the common case, one file alone in its window (a first export):
     * nothing to check but the file itself, as it is sent */
    if (!query_i(u,
                 "SELECT (SELECT count(*) FROM attachment WHERE substage_id = k.id AND size > 0) "
                 "> 1 OR EXISTS (SELECT 1 FROM export_substage t WHERE t.id IN (k.id - 1, k.id + "
                 "1) AND k.model IS NOT NULL AND t.entity = k.entity AND t.model = k.model AND "
                 "t.lo_chg = k.lo_chg AND t.lo_rid = k.lo_rid AND t.hi_chg = k.hi_chg AND t.hi_rid "
                 "= k.hi_rid) FROM export_substage k WHERE k.id = ?1",
                 k->sub, 0))
        return 0;
    if (query_i(u,
                WINDOW_OF "SELECT count(*) FROM upload_log l JOIN export_substage t ON t.id = "
                          "l.substage_id WHERE l.substage_id IN (SELECT id FROM w) AND l.round = "
                          "t.send_round AND l.request_id IS NOT NULL",
                k->sub, 0) != 0)
        return 0;
    if (store_prepare(u->st,
                      WINDOW_OF "SELECT a.path, a.size, a.sha256, a.id, a.substage_id FROM "
                                "attachment a JOIN export_substage t ON t.id = a.substage_id "
                                "WHERE a.substage_id IN (SELECT id FROM w) AND a.size > 0 AND "
                                "t.status = 'READY_FOR_EXPORT' ORDER BY a.substage_id, a.id",
                      &q, err))
        return -1;
    sqlite3_bind_int64(q, 1, k->sub);
    while (!lost && sqlite3_step(q) == SQLITE_ROW) {
        long long want = sqlite3_column_int64(q, 1), size = -1;
        const char *sha = (const char *)sqlite3_column_text(q, 2);
        plat_join(cfg_str(u->cfg, CFG_DATA_DIR), (const char *)sqlite3_column_text(q, 0), path,
                  sizeof path);
        const char *why = NULL;
        rdm_err e;
        if (plat_kind(path, &size) != PLAT_FILE)
            why = "is missing";
        else if (size != want)
            why = "has another size than when it was written";
        else if (sqlite3_column_int64(q, 3) != k->att &&
                 (sha256_file(path, hex, NULL, &e) || !sha || strcmp(hex, sha) != 0))
            why = "is unreadable or its SHA-256 is not the one recorded when it was written";
        if (why && snprintf(msg, sizeof msg,
                            "not sent: %s %s; no file of this sub-stage (nor of others written "
                            "from its export window) was sent, and the next export writes its "
                            "records again",
                            path, why) > 0)
            lost = sqlite3_column_int64(q, 4);
        long long sub = sqlite3_column_int64(q, 4);
        lo = sub < lo ? sub : lo, hi = sub > hi ? sub : hi;
    }
    sqlite3_finalize(q);
    if (!lost) {
        u->chk_lo = lo, u->chk_hi = hi;
        return 0;
    }
    pick l = *k;
    l.sub = lost;
    if (fail_sub(u, &l, msg, 1, s, first, err) < 0)
        return -1;
    /* the window's other sub-stages: their records go with that re-export */
    snprintf(msg, sizeof msg,
             "not sent: sub-stage %lld, written from the same export window, lost a file; the "
             "re-export of that window writes this sub-stage's records too",
             lost);
    if (store_prepare(u->st,
                      WINDOW_OF "UPDATE export_substage SET status = 'FAILED', reexport = 2, "
                                "ended_at = ?2, error = ?3 WHERE id IN (SELECT id FROM w) AND "
                                "id <> ?4 AND status = 'READY_FOR_EXPORT'",
                      &q, err))
        return -1;
    sqlite3_bind_int64(q, 1, k->sub);
    sqlite3_bind_int64(q, 2, (long long)u->now);
    sqlite3_bind_text(q, 3, msg, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, lost);
    int n = sqlite3_step(q) == SQLITE_DONE ? sqlite3_changes(store_db(u->st)) : -1;
    sqlite3_finalize(q);
    if (n < 0)
        return store_fail(u->st, err, "holding back a lost window's sub-stages"), -1;
    if (n > 0)
        log_warn("upload: %d more sub-stage(s) of %s from the same export window held back: the "
                 "re-export of sub-stage %lld writes their records",
                 n, k->entity, lost);
    return 1;
}

rdm_rc upload_run(store *st, const rdm_config *cfg, int force, upload_stats *s, rdm_err *err)
{
    up u;
    rdm_rc rc, first = RDM_OK;
    memset(s, 0, sizeof *s);
    if ((rc =
             store_lock_acquire(st, "upload", cfg_int(cfg, CFG_TRANSFER_LOCK_EXPIRE_SECONDS), err)))
        return rc;
    if ((rc = up_open(&u, st, cfg, err)))
        goto out;
    int n = recover(&u, err);
    if (n < 0) {
        rc = RDM_ERR_STORE;
        goto out;
    }
    s->interrupted = n;
    if (!force && (s->next_try = not_due(&u))) {
        s->not_due = 1;
        goto count;
    }
    int max = u.o.emulation ? 64 : u.o.http.max_connections;
    long long budget = cfg_int(cfg, CFG_UPLOAD_QUEUE_MAX_SIZE);
    pick *p = calloc((size_t)max * PER_ENTITY, sizeof *p);
    dm_upload **dp = calloc((size_t)max, sizeof *dp);
    int *cnt = calloc((size_t)max * 2, sizeof *cnt); /* and upto, after it */
    long long first_log = 0;                         /* the first upload of this run */
    if (!p || !dp || !cnt) {
        free(p), free(dp), free(cnt);
        rc = rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        goto out;
    }
    int stop = 0;
    progress pg;
    progress_begin(&pg, "upload", "files",
                   query_i(&u,
                           "SELECT count(*) FROM attachment a JOIN export_substage s ON s.id = "
                           "a.substage_id WHERE s.status = 'READY_FOR_EXPORT' AND a.size > 0",
                           0, 0));
    while (!stop && !rc) {
        u.now = time(NULL);
        progress_add(&pg, 0);
        if (plat_stop_requested()) {
            first = rdm_fail(err, RDM_ERR_STOPPED,
                             "upload stopped on request; the next run sends what is left");
            break;
        }
        int ne = choose(&u, p, cnt, max, budget, s, err);
        if (ne == 0 && s->budget_full && first_log && !s->unreachable) {
            /* the bytes in flight are this run's files not yet asked
             * about: ask now, and go on with what the answers free */
            if ((rc = first_statuses(&u, first_log, s, err)))
                break;
            s->budget_full = 0;
            ne = choose(&u, p, cnt, max, budget, s, err);
        }
        if (ne <= 0) {
            if (ne < 0)
                rc = RDM_ERR_STORE;
            break;
        }
        int left = 0;
        for (int e = 0; e < ne && !rc; e++) {
            for (int r = 0; r < cnt[e]; r++) {
                pick *k = &p[e * PER_ENTITY + r];
                if (r && k[-1].sub == k->sub)
                    continue;
                int w = whole_sub(&u, k, s, &first, err);
                if (w < 0)
                    rc = RDM_ERR_STORE;
                if (w) {
                    cnt[e] = r; /* its entity's files from there wait for the next choice */
                    break;
                }
            }
            left += cnt[e];
        }
        if (rc)
            break;
        if (!left)
            continue;
        /* the intents of every chosen file: committed (synchronous=FULL)
         * before a byte leaves, in sending order */
        store_exec(st, "PRAGMA synchronous=FULL", NULL);
        if ((rc = store_begin(st, err)))
            break;
        long long batch_log = 0;
        for (int r = 0; r < PER_ENTITY && !rc; r++)
            for (int e = 0; e < ne && !rc; e++) {
                pick *k = &p[e * PER_ENTITY + r];
                if (r >= cnt[e])
                    continue;
                if (exec_i(&u, err,
                           "INSERT INTO upload_log(substage_id, attachment_id, round, "
                           "created_at, modified_at, file_upload_status) VALUES (?1, ?2, ?3, ?4, "
                           "?4, 1)",
                           NULL, k->sub, k->att, k->round, (long long)u.now) < 0)
                    rc = RDM_ERR_STORE;
                k->log_id = sqlite3_last_insert_rowid(store_db(st));
                if (!batch_log)
                    batch_log = k->log_id;
                k->d = (dm_upload){.entity = k->entity,
                                   .op_delete = k->op == 3,
                                   .file = k->path,
                                   .size = k->size,
                                   .sha256 = k->sha,
                                   .ud = k};
            }
        if (rc || (rc = store_commit(st, err))) {
            store_rollback(st);
            break;
        }
        plat_fault_point("upload: intent committed");
        /* the answers (on_journal) and what follows them: a kill -9 loses
         * no commit in WAL mode whatever the setting; a power cut can lose
         * the last ones, and those files, in flight at the cut, are sent
         * again (recover). The next intents' commit (FULL) makes them
         * durable with it: one wait for the disk per batch of files */
        store_exec(st, "PRAGMA synchronous=NORMAL", NULL);
        /* round r sends every entity's r-th file at once: an entity's
         * files go one after another, in order. Each answer is committed
         * with its journal row as it comes (on_journal); the outcomes are
         * stored once the batch ends, and a run killed before that takes
         * the request ids from the journal (recover) */
        int answered = 0, fin = 0, *upto = cnt + max; /* files to send, per entity */
        rdm_rc brc = RDM_OK; /* the proxy API gave no token: nothing of a round left */
        rdm_err berr;
        for (int e = 0; e < ne; e++)
            upto[e] = cnt[e];
        for (int r = 0; r < PER_ENTITY && !stop && !rc; r++) {
            int n = 0;
            for (int e = 0; e < ne; e++)
                if (r < upto[e]) {
                    p[e * PER_ENTITY + r].sent = 1;
                    dp[n++] = &p[e * PER_ENTITY + r].d;
                }
            if (!n)
                break;
            if ((rc = dm_upload_files(u.dm, dp, n, err))) {
                /* the batch as a whole failed before its files went (the
                 * proxy API's token step): they were not sent, and keep no
                 * intent (else the next run reports them as interrupted
                 * sends that may have reached the datamart) */
                for (int e = 0; e < ne; e++)
                    if (r < upto[e])
                        p[e * PER_ENTITY + r].sent = 0;
                brc = rc;
                berr = *err;
                rc = RDM_OK;
                break;
            }
            plat_fault_point("upload: answered");
            for (int i = 0; i < n; i++) {
                stop |= stops(&u, dp[i]);
                /* a file not taken (refused, missing, altered) fails its
                 * sub-stage: the entity's next files wait for the next
                 * batch, which chooses again */
                if (dp[i]->outcome != HTTP_OK)
                    upto[((pick *)dp[i]->ud - p) / PER_ENTITY] = r + 1;
            }
            progress_add(&pg, n);
        }
        if (rc)
            break;
        u.now = time(NULL);
        if ((rc = store_begin(st, err)))
            break;
        for (int r = 0; r < PER_ENTITY && !rc; r++)
            for (int e = 0; e < ne && !rc; e++) {
                /* each sent file's outcome, and its sub-stage finished once
                 * all its files have an id, in the same commit; a file not
                 * sent (the run stops, or its entity waits) leaves no
                 * intent behind */
                pick *k = &p[e * PER_ENTITY + r];
                int f;
                if (r >= cnt[e])
                    continue;
                if (!k->sent)
                    f = exec_i(&u, err, "DELETE FROM upload_log WHERE id = ?1", NULL, k->log_id, 0,
                               0, 0) < 0
                            ? -1
                            : 0;
                else if (settle(&u, k, s, &first, err) < 0)
                    f = -1;
                else {
                    answered |= k->d.outcome == HTTP_OK || k->d.outcome == HTTP_STATUS;
                    f = finalize(&u, k->sub, err);
                }
                if (f < 0)
                    rc = RDM_ERR_STORE;
                fin += f > 0 ? f : 0;
            }
        if (rc || (rc = store_commit(st, err))) {
            store_rollback(st);
            break;
        }
        s->finished += fin;
        if (brc == RDM_ERR_IO) {
            /* no token because the datamart is not reachable: the same
             * pause as for the files themselves */
            mark_unreachable(&u, berr.msg, -1, &s->next_try);
            snprintf(s->reason, sizeof s->reason, "%.500s", berr.msg);
            s->unreachable = 1;
            break;
        } else if (brc) {
            rc = brc;
            *err = berr;
            break;
        }
        if (answered && !s->unreachable)
            mark_reachable(&u);
        if (u.flight >= 0)
            u.flight += in_flight_from(&u, batch_log);
        if (!first_log)
            first_log = batch_log;
    }
    progress_end(&pg);
    free(p), free(dp), free(cnt);
    /* ask once after the upload, as the reference does: all the run's
     * answers together at its end, so that the files go out back to back */
    if (!rc && first_log && !s->unreachable && first != RDM_ERR_STOPPED)
        rc = first_statuses(&u, first_log, s, err);
    if (!rc) {
        int f = finalize(&u, 0, err);
        if (f < 0)
            rc = RDM_ERR_STORE;
        else
            s->finished += f;
    }
    store_exec(st, "PRAGMA synchronous=FULL", NULL);
count:
    s->waiting = (int)query_i(&u,
                              "SELECT count(*) FROM export_substage WHERE status = "
                              "'READY_FOR_EXPORT'",
                              0, 0);
    s->in_flight = in_flight(&u);
    if (!rc && first && !s->failed)
        rc = first; /* err says why (TLS, a local failure, a stop) */
    else if (!rc && first)
        rc = rdm_fail(err, first,
                      "%d sub-stage(s) failed while sending (see above); rdm-agent journal "
                      "--failed shows the exchanges",
                      s->failed);
out:
    up_close(&u);
    store_lock_release(st, "upload", NULL);
    return rc;
}

rdm_rc upload_check_status(store *st, const rdm_config *cfg, int force, status_stats *ss,
                           rdm_err *err)
{
    up u;
    rdm_rc rc;
    memset(ss, 0, sizeof *ss);
    if ((rc = store_lock_acquire(st, "upload_status", cfg_int(cfg, CFG_STATUS_LOCK_EXPIRE_SECONDS),
                                 err)))
        return rc;
    if ((rc = up_open(&u, st, cfg, err)))
        goto out;
    /* an unreachable datamart is not asked before its next try (as for
     * uploads), unless forced */
    if (!force && (ss->next_try = not_due(&u))) {
        ss->not_due = 1;
        goto out;
    }
    long long recheck = cfg_int(cfg, CFG_STATUS_RECHECK_MINUTES) * 60;
    long long give_up = cfg_int(cfg, CFG_STATUS_GIVE_UP_DAYS) * 86400;
    long long after = 0;
    status_batch b;
    for (;;) {
        if (plat_stop_requested()) {
            rc = rdm_fail(err, RDM_ERR_STOPPED, "status check stopped on request");
            break;
        }
        sqlite3_stmt *q;
        if ((rc = store_prepare(st,
                                "SELECT id, substage_id, request_id FROM upload_log WHERE "
                                "file_upload_status = 1 AND request_id IS NOT NULL AND "
                                "is_emulation = 0 AND gave_up_at IS NULL AND id > ?1 AND (?2 OR "
                                "last_status_at IS NULL OR last_status_at <= ?3) ORDER BY id "
                                "LIMIT ?4",
                                &q, err)))
            break;
        sqlite3_bind_int64(q, 1, after);
        sqlite3_bind_int(q, 2, force);
        sqlite3_bind_int64(q, 3, (long long)u.now - recheck);
        sqlite3_bind_int(q, 4, STATUS_BATCH);
        batch_read(q, &b);
        int n = b.n;
        long long *ids = b.ids, *subs = b.subs;
        dm_status *ds = b.ds;
        if (!n)
            break;
        after = ids[n - 1];
        if ((rc = dm_ask_status(u.dm, b.dsp, n, err)))
            break;
        u.now = time(NULL);
        int unreachable = 0;
        long later = -1; /* the longest Retry-After asked for */
        if ((rc = store_begin(st, err)))
            break;
        for (int i = 0; i < n && !rc; i++) {
            if (ds[i].outcome == HTTP_NET || ds[i].outcome == HTTP_DEFERRED) {
                if (!unreachable)
                    snprintf(ss->reason, sizeof ss->reason, "%s", ds[i].error);
                unreachable = 1;
                if (ds[i].outcome == HTTP_DEFERRED && ds[i].retry_after_s > later)
                    later = ds[i].retry_after_s;
                continue;
            }
            ss->asked++;
            if (ds[i].outcome == HTTP_OK)
                rc = record_status(&u, ids[i], subs[i], &ds[i], ss, err);
            else {
                log_warn("datamart: status of request %s: %s", b.rid[i], ds[i].error);
                ss->unknown++;
                exec_i(&u, NULL, "UPDATE upload_log SET last_status_at = ?1 WHERE id = ?2", NULL,
                       (long long)u.now, ids[i], 0, 0);
            }
        }
        /* the batch's answers in one commit (a run killed before it asks
         * them again) */
        if (rc || (rc = store_commit(st, err))) {
            store_rollback(st);
            break;
        }
        if (unreachable) {
            long long next;
            ss->unreachable = 1;
            mark_unreachable(&u, ss->reason, later, &next);
            break;
        }
        if (ss->asked)
            mark_reachable(&u);
    }
    if (!rc && !ss->unreachable) {
        /* give up polling what never resolves, and say so (not while the
         * datamart cannot be asked: after an outage, it is asked first) */
        sqlite3_stmt *q;
        if (!(rc = store_prepare(st,
                                 "SELECT l.id, l.request_id, a.path, l.substage_id FROM "
                                 "upload_log l JOIN attachment a ON a.id = l.attachment_id WHERE "
                                 "l.file_upload_status = 1 AND l.request_id IS NOT NULL AND "
                                 "l.is_emulation = 0 AND l.gave_up_at IS NULL AND l.created_at "
                                 "<= ?1",
                                 &q, err))) {
            sqlite3_bind_int64(q, 1, (long long)u.now - give_up);
            while (sqlite3_step(q) == SQLITE_ROW) {
                log_warn("datamart: request %s (%s, sub-stage %lld) has had no final status "
                         "for %lld day(s); it is no longer polled and no longer counts "
                         "against UPLOAD_QUEUE_MAX_SIZE: ask the datamart's operator about it",
                         sqlite3_column_text(q, 1), sqlite3_column_text(q, 2),
                         (long long)sqlite3_column_int64(q, 3),
                         cfg_int(cfg, CFG_STATUS_GIVE_UP_DAYS));
                ss->gave_up++;
            }
            sqlite3_finalize(q);
            if (ss->gave_up &&
                exec_i(&u, err,
                       "UPDATE upload_log SET gave_up_at = ?1 WHERE file_upload_status = 1 AND "
                       "request_id IS NOT NULL AND is_emulation = 0 AND gave_up_at IS NULL AND "
                       "created_at <= ?2",
                       NULL, (long long)u.now, (long long)u.now - give_up, 0, 0) < 0)
                rc = RDM_ERR_STORE;
        }
    }
out:
    up_close(&u);
    store_lock_release(st, "upload_status", NULL);
    return rc;
}

rdm_rc upload_resend(store *st, long long id, int *n, rdm_err *err)
{
    static const char sendable[] = UPLOAD_SENDABLE_SQL;
    rdm_rc rc;
    *n = 0;
    if ((rc = store_lock_acquire(st, "upload", 3600, err)))
        return rc;
    if (id) {
        sqlite3_stmt *q;
        char sql[1024];
        snprintf(sql, sizeof sql, "SELECT status, %s FROM export_substage WHERE id = ?1", sendable);
        if ((rc = store_prepare(st, sql, &q, err)))
            goto out;
        sqlite3_bind_int64(q, 1, id);
        if (sqlite3_step(q) != SQLITE_ROW)
            rc = rdm_fail(err, RDM_ERR_NOT_FOUND, "no export sub-stage %lld", id);
        else if (!sqlite3_column_int(q, 1))
            rc = rdm_fail(err, RDM_ERR_RANGE,
                          "export sub-stage %lld is %s: only PROCESS_ERROR sub-stages (and "
                          "FAILED ones the datamart refused) can be sent again",
                          id, sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
        if (rc)
            goto out;
    }
    rc = store_execf(st, err,
                     "UPDATE export_substage SET status = 'READY_FOR_EXPORT', send_round = "
                     "send_round + 1, ended_at = NULL, error = NULL WHERE %s AND (%lld = 0 OR id "
                     "= %lld)",
                     sendable, id, id);
    if (!rc)
        *n = sqlite3_changes(store_db(st));
out:
    store_lock_release(st, "upload", NULL);
    return rc;
}
