/* log.c - see log.h. Lines look like
 *   2026-11-28 03:12:45 rdm-agent[4242] warning: message
 * in local time, the way the product's own logs read. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "log.h"
#include "plat.h"
#include "text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static log_level g_level = LOG_INFO;
static FILE *g_file;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_set_level(log_level lv)
{
    g_level = lv;
}

log_level log_get_level(void)
{
    return g_level;
}

int log_level_parse(const char *s)
{
    if (text_ieq(s, "warn"))
        return LOG_WARN;
    for (int i = 0; i < 4; i++)
        if (text_ieq(s, level_names[i]))
            return i;
    return -1;
}

rdm_rc log_open_file(const char *path, rdm_err *err)
{
    FILE *f = fopen(path, "a");
    if (!f)
        return rdm_fail(err, RDM_ERR_IO, "cannot open log file %s: %s", path, strerror(errno));
    log_close();
    g_file = f;
    return RDM_OK;
}

void log_close(void)
{
    if (g_file)
        fclose(g_file);
    g_file = NULL;
}

void log_msg(log_level lv, const char *fmt, ...)
{
    char stamp[32], line[2048];
    time_t now = time(NULL);
    struct tm tm;
    va_list ap;

    if (lv > g_level)
        return;
    if (!plat_localtime(now, &tm) || !strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(stamp, sizeof stamp, "%lld", (long long)now);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s rdm-agent[%lld] %s: %s\n", stamp, plat_pid(), level_names[lv], line);
    if (g_file) {
        fprintf(g_file, "%s rdm-agent[%lld] %s: %s\n", stamp, plat_pid(), level_names[lv], line);
        fflush(g_file);
    }
}
