/*
 * config_keys.h - every configuration key the agent knows, once.
 *
 * X(ID, SECTION, KEY, TYPE, DEFAULT, MIN, MAX, FLAGS, DOC)
 *   TYPE  CFGT_STR, CFGT_INT, CFGT_BOOL, CFGT_CRON_MIN/HOUR/DOW, CFGT_ENUM (DOC
 *         starts with the allowed values "a|b|c: ..."), CFGT_LIST (comma
 *         separated names), CFGT_INTLIST (comma separated integers), CFGT_URL
 *   FLAGS CFG_SECRET (never printed or logged), CFG_MASK_DSN (password=
 *         masked), CFG_PATH (relative to the configuration file's folder)
 * The product's keys come first, as its documentation lists them
 * (../shared/spec/CONFIG.md); the agent's own sections follow.
 */
#ifndef RDM_CONFIG_KEYS_H
#define RDM_CONFIG_KEYS_H

#define RDM_NO_RETRY_DEFAULT                                                                       \
    "400,401,402,403,404,406,407,409,411,413,414,415,416,417,418,419,421,422,423,428,431,449,451," \
    "501,505,507,508,510,511,521,525,526"

#define RDM_CONFIG_KEYS(X)                                                                         \
    X(EXPORT_ENTITY_ID_PREFIX, "rdm_general", "EXPORT_ENTITY_ID_PREFIX", CFGT_STR, "", 0, 0, 0,    \
      "Префикс идентификаторов записей (ESH-15); задаётся один раз для установки")                 \
    X(COLLECT_CHUNK_SIZE, "rdm_general", "COLLECT_CHUNK_SIZE", CFGT_INT, "500", 1, 10000000, 0,    \
      "Записей моделей за одну итерацию сбора (подэтап сбора)")                                    \
    X(EXPORT_CHUNK_SIZE, "rdm_general", "EXPORT_CHUNK_SIZE", CFGT_INT, "500", 1, 10000000, 0,      \
      "Записей сущности за одну итерацию выгрузки (подэтап выгрузки, до трёх файлов)")             \
    X(UPDATE_NON_EXPORTED_CHUNK_SIZE, "rdm_general", "UPDATE_NON_EXPORTED_CHUNK_SIZE", CFGT_INT,   \
      "5000", 1, 10000000, 0, "Принимается для совместимости с продуктом; агенту не нужен")        \
    X(TRANSFER_MINUTE, "rdm_transfer_task", "MINUTE", CFGT_CRON_MIN, "0", 0, 0, 0,                 \
      "Сбор и выгрузка: минуты (cron, как в celery)")                                              \
    X(TRANSFER_HOUR, "rdm_transfer_task", "HOUR", CFGT_CRON_HOUR, "*/4", 0, 0, 0,                  \
      "Сбор и выгрузка: часы")                                                                     \
    X(TRANSFER_DAY_OF_WEEK, "rdm_transfer_task", "DAY_OF_WEEK", CFGT_CRON_DOW, "*", 0, 0, 0,       \
      "Сбор и выгрузка: дни недели (0 или sun = воскресенье)")                                     \
    X(TRANSFER_LOCK_EXPIRE_SECONDS, "rdm_transfer_task", "LOCK_EXPIRE_SECONDS", CFGT_INT, "21600", \
      1, 31536000, 0, "Через сколько секунд без фиксаций блокировка задачи считается брошенной")   \
    X(TRANSFER_TIMEDELTA, "rdm_transfer_task", "TIMEDELTA", CFGT_INT, "3600", 1, 31536000, 0,      \
      "Длина отрезка периода сбора, секунд")                                                       \
    X(TRANSFER_ENTITIES, "rdm_transfer_task", "ENTITIES", CFGT_LIST, "", 0, 0, 0,                  \
      "Сущности через запятую; пусто = все сущности профиля")                                      \
    X(STATUS_MINUTE, "rdm_upload_status_task", "MINUTE", CFGT_CRON_MIN, "*/30", 0, 0, 0,           \
      "Опрос статусов загрузки: минуты")                                                           \
    X(STATUS_HOUR, "rdm_upload_status_task", "HOUR", CFGT_CRON_HOUR, "*", 0, 0, 0,                 \
      "Опрос статусов загрузки: часы")                                                             \
    X(STATUS_DAY_OF_WEEK, "rdm_upload_status_task", "DAY_OF_WEEK", CFGT_CRON_DOW, "*", 0, 0, 0,    \
      "Опрос статусов загрузки: дни недели")                                                       \
    X(STATUS_LOCK_EXPIRE_SECONDS, "rdm_upload_status_task", "LOCK_EXPIRE_SECONDS", CFGT_INT,       \
      "7200", 1, 31536000, 0, "Срок блокировки задачи опроса статусов, секунд")                    \
    X(SUSPEND_MINUTE, "rdm_check_suspend_task", "MINUTE", CFGT_CRON_MIN, "*/10", 0, 0, 0,          \
      "Поиск зависших этапов: минуты")                                                             \
    X(SUSPEND_HOUR, "rdm_check_suspend_task", "HOUR", CFGT_CRON_HOUR, "*", 0, 0, 0,                \
      "Поиск зависших этапов: часы")                                                               \
    X(SUSPEND_DAY_OF_WEEK, "rdm_check_suspend_task", "DAY_OF_WEEK", CFGT_CRON_DOW, "*", 0, 0, 0,   \
      "Поиск зависших этапов: дни недели")                                                         \
    X(SUSPEND_LOCK_EXPIRE_SECONDS, "rdm_check_suspend_task", "LOCK_EXPIRE_SECONDS", CFGT_INT,      \
      "7200", 1, 31536000, 0, "Срок блокировки задачи поиска зависших этапов, секунд")             \
    X(SUSPEND_STAGE_TIMEOUT, "rdm_check_suspend_task", "STAGE_TIMEOUT", CFGT_INT, "120", 1,        \
      5256000, 0, "Через сколько минут этап без движения считается зависшим (или TIMEDELTA)")      \
    X(CLEANUP_MINUTE, "rdm_cleanup_task", "MINUTE", CFGT_CRON_MIN, "15", 0, 0, 0,                  \
      "Очистка: минуты")                                                                           \
    X(CLEANUP_HOUR, "rdm_cleanup_task", "HOUR", CFGT_CRON_HOUR, "3", 0, 0, 0, "Очистка: часы")     \
    X(CLEANUP_DAY_OF_WEEK, "rdm_cleanup_task", "DAY_OF_WEEK", CFGT_CRON_DOW, "*", 0, 0, 0,         \
      "Очистка: дни недели")                                                                       \
    X(CLEANUP_FINISHED_DAYS, "rdm_cleanup_task", "FINISHED_DAYS", CFGT_INT, "7", 0, 36500, 0,      \
      "Файлы подэтапов «Завершен», принятых витриной, удаляются через столько дней")               \
    X(CLEANUP_FAILED_DAYS, "rdm_cleanup_task", "FAILED_DAYS", CFGT_INT, "30", 0, 36500, 0,         \
      "Файлы подэтапов «Завершен с ошибками» удаляются через столько дней")                        \
    X(CLEANUP_JOURNAL_DAYS, "rdm_cleanup_task", "JOURNAL_DAYS", CFGT_INT, "30", 1, 36500, 0,       \
      "Строки журнала HTTP-запросов хранятся столько дней")                                        \
    X(URL, "uploader_client", "URL", CFGT_URL, "http://localhost:8090", 0, 0, 0,                   \
      "Адрес витрины (http:// или https://); путь после адреса сохраняется")                       \
    X(DATAMART_NAME, "uploader_client", "DATAMART_NAME", CFGT_STR, "test", 0, 0, 0,                \
      "Мнемоника витрины")                                                                         \
    X(REQUEST_RETRIES, "uploader_client", "REQUEST_RETRIES", CFGT_INT, "10", 0, 1000, 0,           \
      "Количество повторных попыток запроса")                                                      \
    X(REQUEST_TIMEOUT, "uploader_client", "REQUEST_TIMEOUT", CFGT_INT, "10", 1, 86400, 0,          \
      "Таймаут запроса, секунд")                                                                   \
    X(ENABLE_REQUEST_EMULATION, "uploader_client", "ENABLE_REQUEST_EMULATION", CFGT_BOOL, "True",  \
      0, 0, 0, "Эмуляция: ничего не отправляется в сеть (по умолчанию включена)")                  \
    X(RESPONSE_FILE_STATUS, "uploader_client", "RESPONSE_FILE_STATUS", CFGT_STR, "success", 0, 0,  \
      0, "Статус, который отвечает эмуляция")                                                      \
    X(USE_PROXY_API, "uploader_client", "USE_PROXY_API", CFGT_BOOL, "False", 0, 0, 0,              \
      "Работа через прокси-API (Datamart Studio) с получением токена")                             \
    X(USERNAME, "uploader_client", "USERNAME", CFGT_STR, "", 0, 0, 0, "Пользователь прокси-API")   \
    X(PASSWORD, "uploader_client", "PASSWORD", CFGT_STR, "", 0, 0, CFG_SECRET,                     \
      "Пароль прокси-API (никогда не выводится и не пишется в журнал)")                            \
    X(ORGANIZATION_OGRN, "uploader_client", "ORGANIZATION_OGRN", CFGT_STR, "", 0, 0, 0,            \
      "ОГРН организации (прокси-API)")                                                             \
    X(INSTALLATION_NAME, "uploader_client", "INSTALLATION_NAME", CFGT_STR, "", 0, 0, 0,            \
      "Имя инсталляции (прокси-API)")                                                              \
    X(INSTALLATION_ID, "uploader_client", "INSTALLATION_ID", CFGT_STR, "", 0, 0, 0,                \
      "Идентификатор инсталляции (прокси-API)")                                                    \
    X(MAX_CONNECTIONS, "uploader_client", "MAX_CONNECTIONS", CFGT_INT, "15", 1, 1000, 0,           \
      "Одновременных запросов к витрине, не больше")                                               \
    X(NO_RETRY_STATUS_CODES, "uploader_client", "NO_RETRY_STATUS_CODES", CFGT_INTLIST,             \
      RDM_NO_RETRY_DEFAULT, 100, 599, 0, "HTTP-коды, при которых запрос не повторяется")           \
    X(UPLOAD_QUEUE_MAX_SIZE, "uploader_client", "UPLOAD_QUEUE_MAX_SIZE", CFGT_INT, "500000000", 1, \
      (long long)1 << 50, 0, "Байт отправлено и ещё не обработано витриной, не больше")            \
    X(CA_FILE, "uploader_client", "CA_FILE", CFGT_STR, "", 0, 0, CFG_PATH,                         \
      "Файл доверенных сертификатов (PEM); пусто = системные")                                     \
    X(CLIENT_CERT, "uploader_client", "CLIENT_CERT", CFGT_STR, "", 0, 0, CFG_PATH,                 \
      "Клиентский сертификат (PEM)")                                                               \
    X(CLIENT_KEY, "uploader_client", "CLIENT_KEY", CFGT_STR, "", 0, 0, CFG_PATH,                   \
      "Закрытый ключ клиентского сертификата (PEM)")                                               \
    X(VERIFY_TLS, "uploader_client", "VERIFY_TLS", CFGT_BOOL, "True", 0, 0, 0,                     \
      "Проверять сертификат и имя сервера; False только в крайнем случае")                         \
    X(RETRY_BACKOFF_MS, "uploader_client", "RETRY_BACKOFF_MS", CFGT_INT, "500", 1, 3600000, 0,     \
      "Пауза перед первым повтором, мс (дальше вдвое больше, со случайным разбросом)")             \
    X(RETRY_BACKOFF_MAX_MS, "uploader_client", "RETRY_BACKOFF_MAX_MS", CFGT_INT, "30000", 1,       \
      3600000, 0, "Наибольшая пауза между повторами, мс")                                          \
    X(OFFLINE_BACKOFF_MAX_MINUTES, "uploader_client", "OFFLINE_BACKOFF_MAX_MINUTES", CFGT_INT,     \
      "30", 1, 1440, 0, "Витрина недоступна: следующая попытка не позже чем через столько минут")  \
    X(STATUS_RECHECK_MINUTES, "uploader_client", "STATUS_RECHECK_MINUTES", CFGT_INT, "30", 1,      \
      525600, 0, "Не чаще чем раз в столько минут спрашивать статус одной загрузки")               \
    X(STATUS_GIVE_UP_DAYS, "uploader_client", "STATUS_GIVE_UP_DAYS", CFGT_INT, "7", 1, 3650, 0,    \
      "Через столько дней без ответа загрузка передаётся оператору")                               \
    X(DATA_DIR, "agent", "DATA_DIR", CFGT_STR, "data", 0, 0, CFG_PATH,                             \
      "Каталог хранилища SQLite, файлов выгрузки и журналов")                                      \
    X(PROFILE, "agent", "PROFILE", CFGT_STR, "core", 0, 0, 0,                                      \
      "Профили сущностей и моделей через запятую (имя поставляемого или путь к .json)")            \
    X(LOG_LEVEL, "agent", "LOG_LEVEL", CFGT_ENUM, "info", 0, 0, 0,                                 \
      "error|warning|info|debug: уровень журнала")                                                 \
    X(LOG_FILE, "agent", "LOG_FILE", CFGT_STR, "", 0, 0, CFG_PATH,                                 \
      "Файл журнала в дополнение к stderr; пусто = только stderr")                                 \
    X(SOURCE_TYPE, "source", "TYPE", CFGT_ENUM, "csv", 0, 0, 0,                                    \
      "csv|postgres: выгрузки CSV (флешка) или PostgreSQL")                                        \
    X(DUMP_DIR, "source", "DUMP_DIR", CFGT_STR, "inbox", 0, 0, CFG_PATH,                           \
      "Входящий каталог для выгрузок CSV и пакетов с флешки")                                      \
    X(INBOX_SETTLE_SECONDS, "source", "INBOX_SETTLE_SECONDS", CFGT_INT, "60", 0, 86400, 0,         \
      "Выгрузка или пакет берётся из DUMP_DIR, если не менялись столько секунд")                   \
    X(ENCODING, "source", "ENCODING", CFGT_ENUM, "utf-8", 0, 0, 0,                                 \
      "utf-8|cp1251: кодировка CSV-выгрузок")                                                      \
    X(DELIMITER, "source", "DELIMITER", CFGT_ENUM, ";", 0, 0, 0,                                   \
      ";|,: разделитель полей CSV-выгрузок")                                                       \
    X(DSN, "source", "DSN", CFGT_STR, "", 0, 0, CFG_MASK_DSN,                                      \
      "Строка подключения libpq; пусто = переменные окружения PG*; по умолчанию "                  \
      "connect_timeout=30 и keepalives_idle=60 (строка их переопределяет)")                        \
    X(FULL_SNAPSHOT_DAYS, "source", "FULL_SNAPSHOT_DAYS", CFGT_INT, "7", 0, 3650, 0,               \
      "Раз в столько дней модель с журналом изменений сверяется полным снимком (0 = никогда)")     \
    X(AUDIT_OVERLAP_SECONDS, "source", "AUDIT_OVERLAP_SECONDS", CFGT_INT, "300", 0, 86400, 0,      \
      "Журнал изменений перечитывается с таким запасом назад (поздние фиксации)")

#endif
