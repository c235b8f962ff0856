/*
 * schema.c - the embedded migrations of the store, oldest first. Migration
 * N takes a store at user_version N-1 to N. Never edit a released
 * migration: add a new one.
 *
 * Times are INTEGER seconds since the Unix epoch (UTC); reports convert them
 * to local time. Status keys and Russian titles are the reference's
 * (../shared/spec/STATES.md, PROTOCOL.md): operators know them from the
 * product's screens.
 */
#include "schema.h"

static const char m1_stages[] =
    /* reference vocabulary, kept in the store so reports and SQL tools show it */
    "CREATE TABLE stage_status(\n"
    "  kind TEXT NOT NULL,   -- collect_stage, collect_substage, export_stage, export_substage\n"
    "  key TEXT NOT NULL,\n"
    "  title TEXT NOT NULL,\n"
    "  PRIMARY KEY(kind, key)) WITHOUT ROWID;\n"
    "INSERT INTO stage_status VALUES\n"
    " ('collect_stage','CREATED','Создан'),\n"
    " ('collect_stage','IN_PROGRESS','В процессе сбора'),\n"
    " ('collect_stage','FINISHED','Завершено'),\n"
    " ('collect_stage','FAILED','Завершено с ошибками'),\n"
    " ('collect_substage','CREATED','Создан'),\n"
    " ('collect_substage','IN_PROGRESS','В процессе сбора'),\n"
    " ('collect_substage','READY_TO_EXPORT','Готово к выгрузке'),\n"
    " ('collect_substage','FAILED','Завершено с ошибками'),\n"
    " ('export_stage','CREATED','Создан'),\n"
    " ('export_stage','IN_PROGRESS','В процессе'),\n"
    " ('export_stage','FINISHED','Завершено'),\n"
    " ('export_stage','FAILED','Завершено с ошибками'),\n"
    " ('export_substage','CREATED','Создан'),\n"
    " ('export_substage','IN_PROGRESS','Запущен'),\n"
    " ('export_substage','FINISHED','Завершен'),\n"
    " ('export_substage','FAILED','Завершен с ошибками'),\n"
    " ('export_substage','READY_FOR_EXPORT','Готов к выгрузке'),\n"
    " ('export_substage','PROCESS_ERROR','Ошибка обработки витриной');\n"
    "CREATE TABLE collect_stage(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  status TEXT NOT NULL DEFAULT 'CREATED'\n"
    "    CHECK(status IN ('CREATED','IN_PROGRESS','FINISHED','FAILED')),\n"
    "  period_start INTEGER,\n"
    "  period_end INTEGER,\n"
    "  started_at INTEGER NOT NULL,\n"
    "  ended_at INTEGER,\n"
    "  error TEXT);\n"
    "CREATE INDEX collect_stage_status ON collect_stage(status);\n"
    "CREATE TABLE collect_substage(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  stage_id INTEGER NOT NULL REFERENCES collect_stage(id),\n"
    "  model TEXT NOT NULL,\n"
    "  status TEXT NOT NULL DEFAULT 'CREATED'\n"
    "    CHECK(status IN ('CREATED','IN_PROGRESS','READY_TO_EXPORT','FAILED')),\n"
    "  previous_id INTEGER REFERENCES collect_substage(id),\n"
    "  rows INTEGER NOT NULL DEFAULT 0,\n"
    "  started_at INTEGER NOT NULL,\n"
    "  ended_at INTEGER,\n"
    "  error TEXT);\n"
    "CREATE INDEX collect_substage_stage ON collect_substage(stage_id);\n"
    "CREATE TABLE export_stage(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  status TEXT NOT NULL DEFAULT 'CREATED'\n"
    "    CHECK(status IN ('CREATED','IN_PROGRESS','FINISHED','FAILED')),\n"
    "  period_start INTEGER,\n"
    "  period_end INTEGER,\n"
    "  started_at INTEGER NOT NULL,\n"
    "  ended_at INTEGER,\n"
    "  error TEXT);\n"
    "CREATE INDEX export_stage_status ON export_stage(status);\n"
    "CREATE TABLE export_substage(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  stage_id INTEGER NOT NULL REFERENCES export_stage(id),\n"
    "  entity TEXT NOT NULL,\n"
    "  status TEXT NOT NULL DEFAULT 'CREATED'\n"
    "    CHECK(status IN ('CREATED','IN_PROGRESS','FINISHED','FAILED','READY_FOR_EXPORT',\n"
    "                     'PROCESS_ERROR')),\n"
    "  records INTEGER NOT NULL DEFAULT 0,\n"
    "  started_at INTEGER NOT NULL,\n"
    "  ended_at INTEGER,\n"
    "  error TEXT);\n"
    "CREATE INDEX export_substage_stage ON export_substage(stage_id);\n"
    "CREATE INDEX export_substage_status ON export_substage(status);\n"
    "CREATE TABLE attachment(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  substage_id INTEGER NOT NULL REFERENCES export_substage(id),\n"
    "  path TEXT NOT NULL,\n"
    "  operation INTEGER NOT NULL CHECK(operation IN (1,2,3)),  -- CREATE, UPDATE, DELETE\n"
    "  size INTEGER NOT NULL CHECK(size >= 0),\n"
    "  sha256 TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  modified_at INTEGER NOT NULL);\n"
    "CREATE INDEX attachment_substage ON attachment(substage_id);\n";

static const char m2_network[] =
    "CREATE TABLE file_upload_status(\n"
    "  code INTEGER PRIMARY KEY, key TEXT NOT NULL, title TEXT NOT NULL);\n"
    "INSERT INTO file_upload_status VALUES\n"
    " (1,'IN_PROGRESS','В процессе'), (2,'FINISHED','Завершено'),\n"
    " (3,'ERROR','Ошибка'), (4,'IN_CHECK','На проверке');\n"
    "CREATE TABLE datamart_status(\n"
    "  code INTEGER PRIMARY KEY, key TEXT NOT NULL, title TEXT NOT NULL,\n"
    "  file_status INTEGER NOT NULL REFERENCES file_upload_status(code));\n"
    "INSERT INTO datamart_status VALUES\n"
    " (-1,'UPLOAD_TO_BUFFER','Загрузка данных в буффер',1),\n"
    " (0,'BUFFERED','Запрос буфферизирован',1),\n"
    " (1,'WAIT_FOR_OPEN_DELTA','Ожидает открытия дельты',1),\n"
    " (2,'IN_PROCESSING','В обработке',1),\n"
    " (3,'SUCCESSFULLY_PROCESSED','Успешно обработан',2),\n"
    " (4,'FAILED_PROCESSING','Ошибка обработки запроса',3),\n"
    " (5,'REQUEST_ID_NOT_FOUND','Идентификатор запроса не обнаружен',3),\n"
    " (6,'FORMAT_LOGICAL_CONTROL','Форматно-логический контроль',1),\n"
    " (7,'FLC_ERROR','Ошибки ФЛК',3);\n"
    /* one row per HTTP exchange; bodies are summarised (size, sha256), and
     * secrets are never stored (the net layer redacts before insert) */
    "CREATE TABLE journal(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  started_at INTEGER NOT NULL,\n"
    "  duration_ms INTEGER,\n"
    "  method TEXT NOT NULL,\n"
    "  url TEXT NOT NULL,\n"
    "  request_headers TEXT,\n"
    "  body_size INTEGER,\n"
    "  body_sha256 TEXT,\n"
    "  http_status INTEGER,\n"
    "  response_headers TEXT,\n"
    "  response_text TEXT,\n"
    "  error TEXT,\n"
    "  is_emulation INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE INDEX journal_started ON journal(started_at);\n"
    "CREATE TABLE upload_log(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  substage_id INTEGER NOT NULL REFERENCES export_substage(id),\n"
    "  attachment_id INTEGER NOT NULL REFERENCES attachment(id),\n"
    "  journal_id INTEGER REFERENCES journal(id),\n"
    "  request_id TEXT,\n"
    "  is_emulation INTEGER NOT NULL DEFAULT 0,\n"
    "  file_upload_status INTEGER NOT NULL DEFAULT 1 REFERENCES file_upload_status(code),\n"
    "  last_status_at INTEGER,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  modified_at INTEGER NOT NULL);\n"
    "CREATE INDEX upload_log_status ON upload_log(file_upload_status);\n"
    "CREATE INDEX upload_log_substage ON upload_log(substage_id);\n"
    "CREATE TABLE status_request_log(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  upload_id INTEGER NOT NULL REFERENCES upload_log(id),\n"
    "  journal_id INTEGER REFERENCES journal(id),\n"
    "  request_status INTEGER REFERENCES datamart_status(code),\n"
    "  created_at INTEGER NOT NULL);\n"
    "CREATE INDEX status_request_log_upload ON status_request_log(upload_id);\n";

static const char m3_locks[] =
    /* one row per held task lock; see lock.c */
    "CREATE TABLE task_lock(\n"
    "  task TEXT PRIMARY KEY,\n"
    "  pid INTEGER NOT NULL,\n"
    "  host TEXT NOT NULL,\n"
    "  acquired_at INTEGER NOT NULL,\n"
    "  expires_at INTEGER NOT NULL) WITHOUT ROWID;\n";

static const char m4_staging[] =
    /* one row per landed source (a CSV dump or a PostgreSQL pull); its rows
     * waited in "rdm:land:<id>" until collected (now in land files: m9) */
    "CREATE TABLE import_source(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  model TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL CHECK(kind IN ('csv','postgres')),\n"
    "  name TEXT NOT NULL,\n"
    "  sha256 TEXT,\n"
    "  size INTEGER,\n"
    "  rows INTEGER NOT NULL DEFAULT 0,\n"
    "  rejected INTEGER NOT NULL DEFAULT 0,\n"
    "  snapshot INTEGER NOT NULL,      -- 1: absent keys are deletions\n"
    "  bundle TEXT,\n"
    "  imported_at INTEGER NOT NULL,\n"
    "  phase INTEGER NOT NULL DEFAULT 0, -- 0 landed, 1 upserting, 2 deleting, 3 collected\n"
    "  last_k TEXT,                      -- position within the phase\n"
    "  collected_at INTEGER);\n"
    "CREATE UNIQUE INDEX import_source_sha ON import_source(model, sha256);\n"
    "CREATE INDEX import_source_phase ON import_source(phase);\n"
    "CREATE TABLE quarantine(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source_id INTEGER NOT NULL REFERENCES import_source(id),\n"
    "  line INTEGER,\n"
    "  field TEXT,\n"
    "  reason TEXT NOT NULL,\n"
    "  raw TEXT,\n"
    "  created_at INTEGER NOT NULL);\n"
    "CREATE TABLE counter(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;\n"
    "INSERT INTO counter VALUES ('change', 0);\n"
    "ALTER TABLE collect_substage ADD COLUMN source_id INTEGER REFERENCES import_source(id);\n"
    "ALTER TABLE collect_substage ADD COLUMN created INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE collect_substage ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE collect_substage ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;\n";

static const char m5_postgres[] =
    /* where each model's PostgreSQL source stands (pgsource.c) */
    "CREATE TABLE pg_position(\n"
    "  model TEXT PRIMARY KEY,\n"
    "  until_us INTEGER,          -- incremental: end of the last period pulled (us since epoch)\n"
    "  log_time_us INTEGER,       -- audit log: time of the newest entry applied\n"
    "  snapshot_at INTEGER) WITHOUT ROWID;\n"
    /* audit-log entries already applied within the overlap window */
    "CREATE TABLE pg_applied(\n"
    "  model TEXT NOT NULL,\n"
    "  log_id INTEGER NOT NULL,\n"
    "  log_time_us INTEGER NOT NULL,\n"
    "  PRIMARY KEY(model, log_id)) WITHOUT ROWID;\n";

static const char m6_export[] =
    /* what an export sub-stage covers: the changes of one model of its
     * entity, (lo_chg, lo_rid) exclusive to (hi_chg, hi_rid) inclusive, in
     * the order of the staged rows' change numbers (export.c) */
    "ALTER TABLE export_substage ADD COLUMN model TEXT;\n"
    "ALTER TABLE export_substage ADD COLUMN lo_chg INTEGER;\n"
    "ALTER TABLE export_substage ADD COLUMN lo_rid INTEGER;\n"
    "ALTER TABLE export_substage ADD COLUMN hi_chg INTEGER;\n"
    "ALTER TABLE export_substage ADD COLUMN hi_rid INTEGER;\n"
    "ALTER TABLE export_substage ADD COLUMN created INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE export_substage ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE export_substage ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE export_substage ADD COLUMN retry_of INTEGER REFERENCES export_substage(id);\n"
    /* how far each entity's export has read each of its models */
    "CREATE TABLE export_cursor(\n"
    "  entity TEXT NOT NULL,\n"
    "  model TEXT NOT NULL,\n"
    "  chg INTEGER NOT NULL,\n"
    "  rid INTEGER NOT NULL,\n"
    "  PRIMARY KEY(entity, model)) WITHOUT ROWID;\n"
    /* attachment paths are relative to the data directory, '/'-separated */
    "CREATE UNIQUE INDEX attachment_path ON attachment(path);\n";

static const char m7_upload[] =
    /* send rounds: an operator's re-send starts a new round, whose uploads
     * are new upload_log rows; reexport: the sub-stage's files were lost or
     * altered before sending, and export writes its window again (upload.c) */
    "ALTER TABLE export_substage ADD COLUMN send_round INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE export_substage ADD COLUMN reexport INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE INDEX export_substage_reexport ON export_substage(entity) WHERE reexport = 1;\n"
    /* an upload_log row is written before its file is sent (request_id
     * NULL) and completed after; error says why one never got an id */
    "ALTER TABLE upload_log ADD COLUMN round INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE upload_log ADD COLUMN error TEXT;\n"
    "ALTER TABLE upload_log ADD COLUMN status_code INTEGER;\n"
    "ALTER TABLE upload_log ADD COLUMN gave_up_at INTEGER;\n"
    "CREATE INDEX upload_log_attachment ON upload_log(attachment_id);\n"
    "ALTER TABLE journal ADD COLUMN attempt INTEGER;\n"
    /* whether the datamart answers: one row, kept across runs */
    "CREATE TABLE dm_reach(\n"
    "  id INTEGER PRIMARY KEY CHECK(id = 1),\n"
    "  offline_since INTEGER,   -- NULL: it answered last time\n"
    "  failures INTEGER NOT NULL DEFAULT 0,\n"
    "  next_try INTEGER,        -- no upload before this time (unless forced)\n"
    "  last_error TEXT);\n"
    "INSERT INTO dm_reach(id) VALUES (1);\n";

static const char m8_cleanup[] =
    /* when cleanup deleted the file of an attachment (the row stays: history) */
    "ALTER TABLE attachment ADD COLUMN removed_at INTEGER;\n";

static const char m9_landfiles[] =
    /* landed rows moved from "rdm:land:<id>" tables to land files
     * (staging.c); a source whose keys repeat says which row collect keeps:
     * 1 the first (the repeats were quarantined), 2 the last (a change
     * log); the live rows of each model are counted as collect changes
     * them (counter 'live:<model>', started at the next full snapshot) */
    "ALTER TABLE import_source ADD COLUMN repeats INTEGER;\n";

static const char m10_ready[] =
    /* upload picks each entity's oldest sub-stage ready to send by this
     * index (a region's 20,000 ready sub-stages are not read per file) */
    "CREATE INDEX export_substage_ready ON export_substage(status, entity);\n";

static const char m11_applied_from[] =
    /* audit log: the ids of entries older than this were dropped from
     * pg_applied, so the log is never read before it again (a larger
     * AUDIT_OVERLAP_SECONDS would re-apply them over newer changes) */
    "ALTER TABLE pg_position ADD COLUMN applied_from_us INTEGER;\n";

static const char m12_task_run[] =
    /* when the service last ran each scheduled task (cmd_run.c): a run due
     * while the agent was not running is made up once at its start */
    "CREATE TABLE task_run(task TEXT PRIMARY KEY, last_at INTEGER NOT NULL) WITHOUT ROWID;\n";

static const char m13_source_order[] =
    /* a file imported before is landed again when other sources of its
     * model landed since (staging.c stg_source_same): one SHA-256 may
     * now have several sources; the last source of a model is looked up
     * by (model, id) */
    "DROP INDEX import_source_sha;\n"
    "CREATE INDEX import_source_model ON import_source(model, id);\n";

static const char *const migrations[] = {
    m1_stages,  m2_network,   m3_locks,  m4_staging,       m5_postgres,  m6_export,       m7_upload,
    m8_cleanup, m9_landfiles, m10_ready, m11_applied_from, m12_task_run, m13_source_order};

int schema_latest(void)
{
    return (int)(sizeof migrations / sizeof migrations[0]);
}

const char *schema_migration(int version)
{
    if (version < 1 || version > schema_latest())
        return 0;
    return migrations[version - 1];
}
