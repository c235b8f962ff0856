/*
 * log.h - the agent's log: levels, timestamps, stderr (journald reads it)
 * and an optional file. Never pass a secret to it: configuration values go
 * through config's masking first.
 *
 * Interface (prefix log_):
 *   log_set_level(), log_level_parse(), log_open_file(), log_close()
 *   log_msg(level, fmt, ...)   and the log_error/warn/info/debug shorthands
 */
#ifndef RDM_LOG_H
#define RDM_LOG_H

#include "rc.h"

typedef enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;

void log_set_level(log_level lv);
log_level log_get_level(void);

/* Parses "error", "warning"/"warn", "info", "debug" (any case); -1 if none. */
int log_level_parse(const char *s);

/* Appends to path as well as stderr; the file stays open until log_close(). */
rdm_rc log_open_file(const char *path, rdm_err *err);
void log_close(void);

void log_msg(log_level lv, const char *fmt, ...) RDM_PRINTF(2, 3);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
