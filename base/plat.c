/* plat.c - POSIX and Windows implementations of plat.h. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "plat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _WIN32
#ifndef S_ISDIR
#define S_ISDIR(m) (((m)&S_IFMT) == S_IFDIR)
#endif
#include <direct.h>
#include <io.h>
#include <windows.h>
#else
#include <dirent.h>
#include <signal.h>
#include <unistd.h>
#endif

rdm_rc plat_read_file(const char *path, size_t max, char **out, size_t *len, rdm_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    *out = NULL;
    *len = 0;
    if (!f)
        return rdm_fail(err, errno == ENOENT ? RDM_ERR_NOT_FOUND : RDM_ERR_IO, "cannot open %s: %s",
                        path, strerror(errno));
    for (;;) {
        if (n + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return rdm_fail(err, RDM_ERR_NOMEM, "out of memory reading %s", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max) {
            free(buf);
            fclose(f);
            return rdm_fail(err, RDM_ERR_RANGE, "%s is larger than %zu bytes", path, max);
        }
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                fclose(f);
                return rdm_fail(err, RDM_ERR_IO, "cannot read %s: %s", path, strerror(e));
            }
            break;
        }
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return RDM_OK;
}

static int is_sep(char c)
{
#ifdef _WIN32
    return c == '/' || c == '\\';
#else
    return c == '/';
#endif
}

static int make_dir(const char *p)
{
#ifdef _WIN32
    return _mkdir(p);
#else
    return mkdir(p, 0750);
#endif
}

rdm_rc plat_mkdirs(const char *path, rdm_err *err)
{
    char buf[4096];
    size_t n = strlen(path);
    struct stat st;

    if (n == 0 || n >= sizeof buf)
        return rdm_fail(err, RDM_ERR_IO, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && !is_sep(buf[i]))
            continue;
        char saved = buf[i];
        buf[i] = '\0';
#ifdef _WIN32
        int drive_only = (i == 2 && buf[1] == ':');
#else
        int drive_only = 0;
#endif
        if (!drive_only && stat(buf, &st) != 0) {
            if (make_dir(buf) != 0 && errno != EEXIST)
                return rdm_fail(err, RDM_ERR_IO, "cannot create directory %s: %s", buf,
                                strerror(errno));
        } else if (!drive_only && !S_ISDIR(st.st_mode)) {
            return rdm_fail(err, RDM_ERR_IO, "%s exists and is not a directory", buf);
        }
        buf[i] = saved;
    }
    return RDM_OK;
}

int plat_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int plat_is_abs(const char *path)
{
#ifdef _WIN32
    if (path[0] && path[1] == ':' && is_sep(path[2]))
        return 1;
    return is_sep(path[0]) && is_sep(path[1]);
#else
    return path[0] == '/';
#endif
}

int plat_dirname(const char *path, char *buf, size_t n)
{
    size_t len = strlen(path);
    while (len > 0 && !is_sep(path[len - 1]))
        len--;
    while (len > 1 && is_sep(path[len - 1]))
        len--;
    if (len == 0) {
        if (n < 2)
            return -1;
        strcpy(buf, ".");
        return 0;
    }
    if (len + 1 > n)
        return -1;
    memcpy(buf, path, len);
    buf[len] = '\0';
    return 0;
}

int plat_join(const char *dir, const char *name, char *buf, size_t n)
{
    int w;
    if (plat_is_abs(name) || !dir || !*dir)
        w = snprintf(buf, n, "%s", name);
    else if (is_sep(dir[strlen(dir) - 1]))
        w = snprintf(buf, n, "%s%s", dir, name);
    else
        w = snprintf(buf, n, "%s%c%s", dir, PLAT_SEP, name);
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

long long plat_pid(void)
{
#ifdef _WIN32
    return (long long)GetCurrentProcessId();
#else
    return (long long)getpid();
#endif
}

int plat_pid_alive(long long pid)
{
    if (pid <= 0)
        return 0;
#ifdef _WIN32
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h)
        return GetLastError() == ERROR_ACCESS_DENIED;
    DWORD code = 0;
    int alive = GetExitCodeProcess(h, &code) && code == STILL_ACTIVE;
    CloseHandle(h);
    return alive;
#else
    if (kill((pid_t)pid, 0) == 0)
        return 1;
    return errno != ESRCH;
#endif
}

void plat_hostname(char *buf, size_t n)
{
#ifdef _WIN32
    DWORD sz = (DWORD)n;
    if (!GetComputerNameA(buf, &sz))
        snprintf(buf, n, "unknown");
#else
    if (gethostname(buf, n) != 0)
        snprintf(buf, n, "unknown");
    buf[n - 1] = '\0';
#endif
}

int plat_system_config(char *buf, size_t n)
{
    int w;
#ifdef _WIN32
    const char *pd = getenv("ProgramData");
    w = snprintf(buf, n, "%s\\rdm-agent\\rdm-agent.ini", pd && *pd ? pd : "C:\\ProgramData");
#else
    w = snprintf(buf, n, "/etc/rdm-agent/rdm-agent.ini");
#endif
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

int plat_isatty_stderr(void)
{
#ifdef _WIN32
    return _isatty(_fileno(stderr));
#else
    return isatty(STDERR_FILENO);
#endif
}

plat_kind_t plat_kind(const char *path, long long *size)
{
#ifdef _WIN32
    DWORD a = GetFileAttributesA(path);
    WIN32_FILE_ATTRIBUTE_DATA d;
    if (a == INVALID_FILE_ATTRIBUTES)
        return PLAT_NONE;
    if (a & FILE_ATTRIBUTE_REPARSE_POINT)
        return PLAT_LINK;
    if (a & FILE_ATTRIBUTE_DIRECTORY)
        return PLAT_DIR;
    if (size && GetFileAttributesExA(path, GetFileExInfoStandard, &d))
        *size = ((long long)d.nFileSizeHigh << 32) | d.nFileSizeLow;
    return PLAT_FILE;
#else
    struct stat st;
    if (lstat(path, &st) != 0)
        return PLAT_NONE;
    if (S_ISLNK(st.st_mode))
        return PLAT_LINK;
    if (S_ISDIR(st.st_mode))
        return PLAT_DIR;
    if (!S_ISREG(st.st_mode))
        return PLAT_OTHER;
    if (size)
        *size = (long long)st.st_size;
    return PLAT_FILE;
#endif
}

rdm_rc plat_listdir(const char *dir, rdm_rc (*fn)(void *ud, const char *name, rdm_err *err),
                    void *ud, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
#ifdef _WIN32
    char pat[4096];
    WIN32_FIND_DATAA fd;
    snprintf(pat, sizeof pat, "%s\\*", dir);
    HANDLE h = FindFirstFileA(pat, &fd);
    if (h == INVALID_HANDLE_VALUE)
        return rdm_fail(err, RDM_ERR_IO, "cannot list %s", dir);
    do {
        if (strcmp(fd.cFileName, ".") && strcmp(fd.cFileName, ".."))
            rc = fn(ud, fd.cFileName, err);
    } while (!rc && FindNextFileA(h, &fd));
    FindClose(h);
#else
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return rdm_fail(err, RDM_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
    while (!rc && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rc = fn(ud, e->d_name, err);
    closedir(d);
#endif
    return rc;
}

long long plat_mtime(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (long long)st.st_mtime;
}

rdm_rc plat_rename(const char *from, const char *to, rdm_err *err)
{
    if (plat_exists(to))
        return rdm_fail(err, RDM_ERR_IO, "cannot move %s to %s: the target exists", from, to);
#ifdef _WIN32
    if (!MoveFileExA(from, to, MOVEFILE_WRITE_THROUGH))
        return rdm_fail(err, RDM_ERR_IO, "cannot move %s to %s (error %lu)", from, to,
                        (unsigned long)GetLastError());
#else
    if (rename(from, to) != 0)
        return rdm_fail(err, RDM_ERR_IO, "cannot move %s to %s: %s", from, to, strerror(errno));
#endif
    return RDM_OK;
}

int plat_localtime(time_t t, struct tm *out)
{
#ifdef _WIN32
    return localtime_s(out, &t) == 0;
#else
    return localtime_r(&t, out) != NULL;
#endif
}

int plat_gmtime(time_t t, struct tm *out)
{
#ifdef _WIN32
    return gmtime_s(out, &t) == 0;
#else
    return gmtime_r(&t, out) != NULL;
#endif
}
