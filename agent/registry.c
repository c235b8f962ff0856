/* registry.c - see registry.h. */
#include "registry.h"
#include "../base/buf.h"
#include "../base/plat.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One integer from SQL with up to one integer parameter; 0 when none. */
static long long one(store *st, const char *sql, long long a)
{
    sqlite3_stmt *q;
    long long v = 0;
    if (store_prepare(st, sql, &q, NULL))
        return 0;
    if (sqlite3_bind_parameter_count(q) >= 1)
        sqlite3_bind_int64(q, 1, a);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static const char *when(long long t, char *buf, size_t n)
{
    struct tm tm;
    if (!t)
        snprintf(buf, n, "never");
    else if (plat_localtime((time_t)t, &tm))
        strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    else
        snprintf(buf, n, "%lld", t);
    return buf;
}

/* ---- stages ---- */

static const char collect_sql[] =
    "SELECT s.id, s.status, t.title, s.period_start, s.period_end, s.started_at, s.ended_at, "
    "count(u.id), sum(u.status = 'READY_TO_EXPORT'), 0, sum(u.status = 'FAILED'), "
    "sum(u.status IN ('CREATED', 'IN_PROGRESS')), COALESCE(sum(u.created), 0), "
    "COALESCE(sum(u.updated), 0), COALESCE(sum(u.deleted), 0), COALESCE(s.error, (SELECT "
    "error FROM collect_substage WHERE stage_id = s.id AND error IS NOT NULL ORDER BY id LIMIT "
    "1)) FROM collect_stage s JOIN stage_status t ON t.kind = 'collect_stage' AND t.key = "
    "s.status LEFT JOIN collect_substage u ON u.stage_id = s.id WHERE s.started_at >= ?1 GROUP "
    "BY s.id ORDER BY s.id DESC LIMIT ?2";

static const char export_sql[] =
    "SELECT s.id, s.status, t.title, s.period_start, s.period_end, s.started_at, s.ended_at, "
    "count(u.id), sum(u.status = 'READY_FOR_EXPORT'), sum(u.status = 'PROCESS_ERROR'), "
    "sum(u.status = 'FAILED'), sum(u.status IN ('CREATED', 'IN_PROGRESS')), "
    "COALESCE(sum(u.created), 0), COALESCE(sum(u.updated), 0), COALESCE(sum(u.deleted), 0), "
    "COALESCE(s.error, (SELECT error FROM export_substage WHERE stage_id = s.id AND error IS "
    "NOT NULL ORDER BY id LIMIT 1)), sum(u.status = 'FINISHED') FROM export_stage s JOIN "
    "stage_status t ON t.kind = 'export_stage' AND t.key = s.status LEFT JOIN export_substage "
    "u ON u.stage_id = s.id WHERE s.started_at >= ?1 GROUP BY s.id ORDER BY s.id DESC LIMIT ?2";

static void num(cJSON *o, const char *name, sqlite3_stmt *q, int col)
{
    if (sqlite3_column_type(q, col) == SQLITE_NULL)
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddNumberToObject(o, name, (double)sqlite3_column_int64(q, col));
}

static rdm_rc list_kind(store *st, int exp, time_t since, int limit, cJSON *arr, FILE *out,
                        rdm_err *err)
{
    sqlite3_stmt *q;
    rdm_rc rc = store_prepare(st, exp ? export_sql : collect_sql, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, (long long)since);
    sqlite3_bind_int(q, 2, limit > 0 ? limit : -1);
    int r, rows = 0;
    if (out)
        fprintf(out, "%s stages (newest first)\n", exp ? "export" : "collect");
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *err_text = (const char *)sqlite3_column_text(q, 15);
        long long total = sqlite3_column_int64(q, 7);
        long long ready = sqlite3_column_int64(q, 8), perr = sqlite3_column_int64(q, 9);
        long long failed = sqlite3_column_int64(q, 10), open = sqlite3_column_int64(q, 11);
        long long done = exp ? sqlite3_column_int64(q, 16) : total - ready - failed - open;
        if (arr) {
            cJSON *o = cJSON_CreateObject();
            num(o, "id", q, 0);
            cJSON_AddStringToObject(o, "status", (const char *)sqlite3_column_text(q, 1));
            cJSON_AddStringToObject(o, "title", (const char *)sqlite3_column_text(q, 2));
            num(o, "period_start", q, 3);
            num(o, "period_end", q, 4);
            num(o, "started_at", q, 5);
            num(o, "ended_at", q, 6);
            cJSON *c = cJSON_AddObjectToObject(o, "substages");
            cJSON_AddNumberToObject(c, "total", (double)total);
            cJSON_AddNumberToObject(c, "finished", (double)done);
            cJSON_AddNumberToObject(c, "ready", (double)ready);
            if (exp)
                cJSON_AddNumberToObject(c, "process_error", (double)perr);
            cJSON_AddNumberToObject(c, "failed", (double)failed);
            cJSON_AddNumberToObject(c, "in_progress", (double)open);
            cJSON *rec = cJSON_AddObjectToObject(o, "records");
            num(rec, "created", q, 12);
            num(rec, "updated", q, 13);
            num(rec, "deleted", q, 14);
            if (err_text)
                cJSON_AddStringToObject(o, "error", err_text);
            else
                cJSON_AddNullToObject(o, "error");
            cJSON_AddItemToArray(arr, o);
        } else {
            char a[32], b[32];
            fprintf(out,
                    "  %5lld  %-11s %-22s %s .. %s  sub-stages %lld: %lld finished, %lld "
                    "ready",
                    (long long)sqlite3_column_int64(q, 0), sqlite3_column_text(q, 1),
                    sqlite3_column_text(q, 2), when(sqlite3_column_int64(q, 5), a, sizeof a),
                    sqlite3_column_type(q, 6) == SQLITE_NULL
                        ? "(running)"
                        : when(sqlite3_column_int64(q, 6), b, sizeof b),
                    total, done, ready);
            if (exp)
                fprintf(out, ", %lld datamart error", perr);
            fprintf(out, ", %lld failed; records +%lld ~%lld -%lld\n", failed,
                    (long long)sqlite3_column_int64(q, 12), (long long)sqlite3_column_int64(q, 13),
                    (long long)sqlite3_column_int64(q, 14));
            if (err_text)
                fprintf(out, "         first error: %.300s\n", err_text);
        }
        rows++;
    }
    if (r != SQLITE_DONE)
        rc = store_fail(st, err, "reading the stages");
    else if (out && !rows)
        fprintf(out, "  (none)\n");
    sqlite3_finalize(q);
    return rc;
}

rdm_rc reg_stages(store *st, int kinds, time_t since, int limit, int json, FILE *out, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    if (!json) {
        if (kinds & REG_COLLECT)
            rc = list_kind(st, 0, since, limit, NULL, out, err);
        if (!rc && (kinds & REG_EXPORT))
            rc = list_kind(st, 1, since, limit, NULL, out, err);
        return rc;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "version", 1);
    if (kinds & REG_COLLECT)
        rc = list_kind(st, 0, since, limit, cJSON_AddArrayToObject(doc, "collect"), NULL, err);
    if (!rc && (kinds & REG_EXPORT))
        rc = list_kind(st, 1, since, limit, cJSON_AddArrayToObject(doc, "export"), NULL, err);
    if (!rc) {
        char *text = cJSON_Print(doc);
        if (text)
            fprintf(out, "%s\n", text);
        free(text);
    }
    cJSON_Delete(doc);
    return rc;
}

/* ---- status ---- */

typedef struct facts {
    long long last_collect, last_export, last_upload, last_answer;
    long long ready_subs, ready_files, ready_bytes;
    long long flight_n, flight_bytes, gave_up, process_error, refused, lost, reexport;
    long long failed_stages_day, quarantined, landed_waiting;
    long long offline_since, next_try;
    char offline_error[512];
} facts;

static void facts_get(store *st, facts *f)
{
    long long now = (long long)time(NULL);
    memset(f, 0, sizeof *f);
    f->last_collect =
        one(st, "SELECT max(ended_at) FROM collect_stage WHERE status = 'FINISHED'", 0);
    f->last_export = one(st, "SELECT max(ended_at) FROM export_stage WHERE status = 'FINISHED'", 0);
    f->last_upload =
        one(st, "SELECT max(modified_at) FROM upload_log WHERE request_id IS NOT NULL", 0);
    f->last_answer = one(
        st, "SELECT max(created_at) FROM status_request_log WHERE request_status IS NOT NULL", 0);
    f->ready_subs =
        one(st, "SELECT count(*) FROM export_substage WHERE status = 'READY_FOR_EXPORT'", 0);
    static const char unsent[] =
        "FROM attachment a JOIN export_substage s ON s.id = a.substage_id WHERE s.status = "
        "'READY_FOR_EXPORT' AND a.size > 0 AND NOT EXISTS (SELECT 1 FROM upload_log l WHERE "
        "l.attachment_id = a.id AND l.round = s.send_round AND l.request_id IS NOT NULL)";
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) %s", unsent);
    f->ready_files = one(st, sql, 0);
    snprintf(sql, sizeof sql, "SELECT COALESCE(sum(a.size), 0) %s", unsent);
    f->ready_bytes = one(st, sql, 0);
    static const char flight[] =
        "FROM upload_log l JOIN attachment a ON a.id = l.attachment_id WHERE "
        "l.file_upload_status = 1 AND l.request_id IS NOT NULL AND l.is_emulation = 0 AND "
        "l.gave_up_at IS NULL";
    snprintf(sql, sizeof sql, "SELECT count(*) %s", flight);
    f->flight_n = one(st, sql, 0);
    snprintf(sql, sizeof sql, "SELECT COALESCE(sum(a.size), 0) %s", flight);
    f->flight_bytes = one(st, sql, 0);
    f->gave_up = one(st,
                     "SELECT count(*) FROM upload_log WHERE gave_up_at IS NOT NULL AND "
                     "file_upload_status = 1",
                     0);
    f->process_error =
        one(st, "SELECT count(*) FROM export_substage WHERE status = 'PROCESS_ERROR'", 0);
    f->refused = one(st,
                     "SELECT count(*) FROM export_substage s WHERE status = 'FAILED' AND "
                     "reexport = 0 AND EXISTS (SELECT 1 FROM upload_log l WHERE "
                     "l.substage_id = s.id AND l.round = s.send_round AND l.error IS NOT "
                     "NULL AND l.error NOT LIKE 'interrupted:%')",
                     0);
    f->lost = one(st, "SELECT count(*) FROM export_substage WHERE reexport = 3", 0);
    f->reexport = one(st, "SELECT count(*) FROM export_substage WHERE reexport = 1", 0);
    f->failed_stages_day = one(st,
                               "SELECT (SELECT count(*) FROM collect_stage WHERE status = "
                               "'FAILED' AND ended_at >= ?1) + (SELECT count(*) FROM "
                               "export_stage WHERE status = 'FAILED' AND ended_at >= ?1)",
                               now - 86400);
    f->quarantined = one(st, "SELECT count(*) FROM quarantine", 0);
    f->landed_waiting = one(st, "SELECT count(*) FROM import_source WHERE phase < 3", 0);
    f->offline_since = one(st, "SELECT COALESCE(offline_since, 0) FROM dm_reach", 0);
    f->next_try = one(st, "SELECT COALESCE(next_try, 0) FROM dm_reach", 0);
    sqlite3_stmt *q;
    if (!store_prepare(st, "SELECT last_error FROM dm_reach WHERE last_error IS NOT NULL", &q,
                       NULL)) {
        if (sqlite3_step(q) == SQLITE_ROW)
            snprintf(f->offline_error, sizeof f->offline_error, "%s", sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
    }
}

/* The things that need a person, each with what to do; returns how many. */
static int needs(const facts *f, char lines[][400], int max)
{
    int n = 0;
    long long now = (long long)time(NULL);
    if (f->process_error && n < max)
        snprintf(lines[n++], 400,
                 "%lld sub-stage(s) in PROCESS_ERROR (the datamart rejected them): see "
                 "`rdm-agent stages --export`, fix the cause, then `rdm-agent resend --all`",
                 f->process_error);
    if (f->refused && n < max)
        snprintf(lines[n++], 400,
                 "%lld sub-stage(s) refused by the datamart when sent: see `rdm-agent journal "
                 "--failed`, then `rdm-agent resend ID`",
                 f->refused);
    if (f->lost && n < max)
        snprintf(lines[n++], 400,
                 "%lld sub-stage(s) of DELETE lines lost their files before sending and cannot "
                 "be written again: tell the datamart's operator which records to delete",
                 f->lost);
    if (f->gave_up && n < max)
        snprintf(lines[n++], 400,
                 "%lld upload(s) had no final status within STATUS_GIVE_UP_DAYS: ask the "
                 "datamart's operator about them (ids in `rdm-agent journal`)",
                 f->gave_up);
    if (f->offline_since && f->offline_since < now - 86400 && n < max)
        snprintf(lines[n++], 400,
                 "the datamart has been unreachable for more than a day (%.200s): check the "
                 "network and [uploader_client] URL",
                 f->offline_error);
    return n;
}

rdm_rc reg_status(store *st, FILE *out, int *needs_person, rdm_err *err)
{
    facts f;
    char a[32], lines[8][400];
    (void)err;
    facts_get(st, &f);
    fprintf(out, "rdm-agent status (%s)\n", store_path(st));
    fprintf(out, "  last collect finished:   %s\n", when(f.last_collect, a, sizeof a));
    fprintf(out, "  last export finished:    %s\n", when(f.last_export, a, sizeof a));
    fprintf(out, "  last upload:             %s\n", when(f.last_upload, a, sizeof a));
    fprintf(out, "  last status answer:      %s\n", when(f.last_answer, a, sizeof a));
    fprintf(out, "  waiting to be sent:      %lld sub-stage(s), %lld file(s), %lld bytes\n",
            f.ready_subs, f.ready_files, f.ready_bytes);
    fprintf(out, "  sent, not yet processed: %lld upload(s), %lld bytes\n", f.flight_n,
            f.flight_bytes);
    if (f.reexport)
        fprintf(out, "  to be exported again:    %lld sub-stage(s) whose files were lost\n",
                f.reexport);
    if (f.landed_waiting)
        fprintf(out, "  landed, not collected:   %lld source(s)\n", f.landed_waiting);
    fprintf(out, "  quarantined rows:        %lld%s\n", f.quarantined,
            f.quarantined ? " (rows skipped by --skip-bad-rows: table quarantine)" : "");
    if (f.failed_stages_day)
        fprintf(out, "  stages failed today:     %lld (their work is retried by the next run)\n",
                f.failed_stages_day);
    if (f.offline_since) {
        char b[32];
        fprintf(out, "  datamart:                UNREACHABLE since %s (%s); next attempt %s\n",
                when(f.offline_since, a, sizeof a), f.offline_error, when(f.next_try, b, sizeof b));
    } else
        fprintf(out, "  datamart:                %s\n",
                f.last_upload || f.last_answer ? "answered at the last contact"
                                               : "not contacted yet");
    int n = needs(&f, lines, 8);
    if (!n)
        fprintf(out, "nothing needs a person\n");
    else {
        fprintf(out, "needs a person:\n");
        for (int i = 0; i < n; i++)
            fprintf(out, "  - %s\n", lines[i]);
    }
    *needs_person = n;
    return RDM_OK;
}

/* ---- HTML report ---- */

static void esc(rdm_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            buf_adds(b, "&lt;");
            break;
        case '>':
            buf_adds(b, "&gt;");
            break;
        case '&':
            buf_adds(b, "&amp;");
            break;
        case '"':
            buf_adds(b, "&quot;");
            break;
        default:
            buf_addc(b, *s);
        }
    }
}

/* An SVG bar chart of n values with their labels. */
static void bars(rdm_buf *b, const char *title, char labels[][16], const long long *v, int n,
                 const char *unit)
{
    long long max = 1;
    for (int i = 0; i < n; i++)
        max = v[i] > max ? v[i] : max;
    int w = 40 + n * 22, h = 180;
    buf_addf(b, "<figure><figcaption>");
    esc(b, title);
    buf_addf(b,
             "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "role=\"img\">",
             w < 200 ? 200 : w, h + 40);
    buf_addf(b, "<line x1=\"30\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", h, w, h);
    buf_addf(b, "<text x=\"2\" y=\"12\" font-size=\"10\">%lld %s</text>", max, unit);
    if (!n)
        buf_addf(b, "<text x=\"40\" y=\"%d\" font-size=\"12\">no data yet</text>", h / 2);
    for (int i = 0; i < n; i++) {
        int bh = (int)((double)v[i] / (double)max * (h - 20));
        buf_addf(b,
                 "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"%d\" fill=\"#3b6ea8\"><title>%s: "
                 "%lld %s</title></rect>",
                 34 + i * 22, h - bh, bh, labels[i], v[i], unit);
        buf_addf(b,
                 "<text x=\"%d\" y=\"%d\" font-size=\"9\" transform=\"rotate(60 %d %d)\">%s</text>",
                 36 + i * 22, h + 8, 36 + i * 22, h + 8, labels[i] + 5);
    }
    buf_adds(b, "</svg></figure>\n");
}

static void row(rdm_buf *b, const char *k, const char *v)
{
    buf_adds(b, "<tr><th>");
    esc(b, k);
    buf_adds(b, "</th><td>");
    esc(b, v);
    buf_adds(b, "</td></tr>\n");
}

rdm_rc reg_report(store *st, const char *path, rdm_err *err)
{
    facts f;
    rdm_buf b;
    char a[64], t[512], lines[8][400];
    rdm_rc rc = RDM_OK;
    long long now = (long long)time(NULL);
    facts_get(st, &f);
    buf_init(&b, 64u << 20);
    buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">\n"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                 "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
                 "<title>rdm-agent: отчёт</title>\n<style>body{font:14px sans-serif;margin:2em;"
                 "color:#222}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid "
                 "#ccc;padding:3px 8px;text-align:left}td.n{text-align:right}.bad{color:#a00}"
                 "figure{display:inline-block;margin:1em 2em 1em 0}</style></head><body>\n");
    buf_addf(&b, "<h1>rdm-agent</h1><p>Отчёт на %s, хранилище ", when(now, a, sizeof a));
    esc(&b, store_path(st));
    buf_adds(&b, "</p>\n<h2>Состояние</h2><table>\n");
    row(&b, "Последний сбор", when(f.last_collect, a, sizeof a));
    row(&b, "Последняя выгрузка", when(f.last_export, a, sizeof a));
    row(&b, "Последняя отправка", when(f.last_upload, a, sizeof a));
    row(&b, "Последний ответ о статусе", when(f.last_answer, a, sizeof a));
    snprintf(t, sizeof t, "%lld подэтап(ов), %lld файл(ов), %lld байт", f.ready_subs, f.ready_files,
             f.ready_bytes);
    row(&b, "Ждёт отправки", t);
    snprintf(t, sizeof t, "%lld загрузок, %lld байт", f.flight_n, f.flight_bytes);
    row(&b, "Отправлено, не обработано витриной", t);
    snprintf(t, sizeof t, "%lld", f.quarantined);
    row(&b, "Строк в карантине", t);
    if (f.offline_since) {
        snprintf(t, sizeof t, "недоступна с %s: %.300s", when(f.offline_since, a, sizeof a),
                 f.offline_error);
        row(&b, "Витрина", t);
    } else
        row(&b, "Витрина", "отвечала при последнем обращении");
    buf_adds(&b, "</table>\n");
    int n = needs(&f, lines, 8);
    buf_adds(&b,
             n ? "<h2 class=\"bad\">Нужен человек</h2><ul>\n" : "<p>Вмешательство не нужно.</p>\n");
    for (int i = 0; i < n; i++) {
        buf_adds(&b, "<li class=\"bad\">");
        esc(&b, lines[i]);
        buf_adds(&b, "</li>\n");
    }
    if (n)
        buf_adds(&b, "</ul>\n");

    /* per entity */
    sqlite3_stmt *q;
    buf_adds(&b, "<h2>Сущности</h2><table><tr><th>Сущность</th><th>Завершено</th><th>Готово к "
                 "выгрузке</th><th>Ошибка витрины</th><th>С ошибками</th><th>Создано</th>"
                 "<th>Изменено</th><th>Удалено</th><th>Последняя выгрузка</th></tr>\n");
    if ((rc = store_prepare(st,
                            "SELECT entity, sum(status = 'FINISHED'), sum(status = "
                            "'READY_FOR_EXPORT'), sum(status = 'PROCESS_ERROR'), sum(status = "
                            "'FAILED'), sum(created), sum(updated), sum(deleted), "
                            "max(ended_at) FROM export_substage GROUP BY entity ORDER BY entity",
                            &q, err)))
        goto out;
    while (sqlite3_step(q) == SQLITE_ROW) {
        buf_adds(&b, "<tr><td>");
        esc(&b, (const char *)sqlite3_column_text(q, 0));
        buf_adds(&b, "</td>");
        for (int c = 1; c <= 7; c++)
            buf_addf(&b, "<td class=\"n\">%lld</td>", (long long)sqlite3_column_int64(q, c));
        buf_addf(&b, "<td>%s</td></tr>\n", when(sqlite3_column_int64(q, 8), a, sizeof a));
    }
    sqlite3_finalize(q);
    buf_adds(&b, "</table>\n<h2>За 30 дней</h2>\n");

    /* records sent per day, and the bytes waiting at the end of each day */
    char labels[30][16];
    long long sent[30], backlog[30];
    for (int i = 0; i < 30; i++) {
        long long day_end = now - (long long)(29 - i) * 86400;
        struct tm tm;
        if (plat_localtime((time_t)day_end, &tm)) {
            tm.tm_hour = 23, tm.tm_min = 59, tm.tm_sec = 59;
            day_end = (long long)mktime(&tm);
            strftime(labels[i], sizeof labels[i], "%Y-%m-%d", &tm);
        } else
            snprintf(labels[i], sizeof labels[i], "?");
        sent[i] = one(st,
                      "SELECT COALESCE(sum(s.records), 0) FROM export_substage s WHERE s.status "
                      "= 'FINISHED' AND s.ended_at > ?1 - 86400 AND s.ended_at <= ?1 AND EXISTS "
                      "(SELECT 1 FROM upload_log l WHERE l.substage_id = s.id AND l.request_id "
                      "IS NOT NULL)",
                      day_end);
        backlog[i] = one(st,
                         "SELECT COALESCE(sum(a.size), 0) FROM attachment a WHERE a.size > 0 AND "
                         "a.created_at <= ?1 AND NOT EXISTS (SELECT 1 FROM upload_log l WHERE "
                         "l.attachment_id = a.id AND l.request_id IS NOT NULL AND l.modified_at "
                         "<= ?1) AND NOT EXISTS (SELECT 1 FROM export_substage s WHERE s.id = "
                         "a.substage_id AND s.status = 'FAILED' AND s.ended_at <= ?1)",
                         day_end);
    }
    bars(&b, "Записей отправлено в день", labels, sent, 30, "записей");
    bars(&b, "Ждало отправки на конец дня", labels, backlog, 30, "байт");

    buf_adds(&b, "<h2>Этапы выгрузки (последние 20)</h2><table><tr><th>№</th><th>Статус</th>"
                 "<th>Начат</th><th>Подэтапов</th><th>Первая ошибка</th></tr>\n");
    if ((rc = store_prepare(st,
                            "SELECT s.id, t.title, s.started_at, (SELECT count(*) FROM "
                            "export_substage WHERE stage_id = s.id), COALESCE(s.error, '') FROM "
                            "export_stage s JOIN stage_status t ON t.kind = 'export_stage' AND "
                            "t.key = s.status ORDER BY s.id DESC LIMIT 20",
                            &q, err)))
        goto out;
    while (sqlite3_step(q) == SQLITE_ROW) {
        buf_addf(&b, "<tr><td class=\"n\">%lld</td><td>", (long long)sqlite3_column_int64(q, 0));
        esc(&b, (const char *)sqlite3_column_text(q, 1));
        buf_addf(&b, "</td><td>%s</td><td class=\"n\">%lld</td><td>",
                 when(sqlite3_column_int64(q, 2), a, sizeof a),
                 (long long)sqlite3_column_int64(q, 3));
        esc(&b, (const char *)sqlite3_column_text(q, 4));
        buf_adds(&b, "</td></tr>\n");
    }
    sqlite3_finalize(q);
    buf_adds(&b, "</table>\n<script>document.documentElement.setAttribute('data-rendered', "
                 "String(document.querySelectorAll('svg').length));</script>\n</body></html>\n");
    plat_wfile *w;
    if (!(rc = plat_wopen(path, &w, err))) {
        if ((rc = plat_write(w, b.p, b.len, err)))
            plat_wabort(w);
        else
            rc = plat_wcommit(w, err); /* frees w, on failure too */
    }
out:
    buf_free(&b);
    return rc;
}
