/* plat.c - POSIX and Windows implementations of plat.h. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "plat.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _WIN32
#ifndef S_ISDIR
#define S_ISDIR(m) (((m)&S_IFMT) == S_IFDIR)
#endif
#include <direct.h>
#include <fcntl.h>
#include <io.h>
#include <stdint.h>
#include <winsock2.h> /* before windows.h */
#include <windows.h>
#else
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
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
    /* \\server\share, and \dir or /dir (rooted on the current drive): never
     * joined onto another folder */
    return is_sep(path[0]);
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

int plat_setenv(const char *name, const char *value)
{
#ifdef _WIN32
    if (value)
        return _putenv_s(name, value) == 0 ? 0 : -1;
    /* "NAME=" removes it from the C library's copy of the environment */
    char buf[512];
    snprintf(buf, sizeof buf, "%s=", name);
    SetEnvironmentVariableA(name, NULL);
    return _putenv(buf) == 0 ? 0 : -1;
#else
    return value ? setenv(name, value, 1) : unsetenv(name);
#endif
}

int plat_exe_dir(char *buf, size_t n)
{
    char path[4096];
#ifdef _WIN32
    DWORD len = GetModuleFileNameA(NULL, path, sizeof path);
    if (len == 0 || len >= sizeof path)
        return -1;
#else
    ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
    if (len <= 0)
        return -1;
    path[len] = 0;
#endif
    return plat_dirname(path, buf, n);
}

int plat_abspath(const char *path, char *buf, size_t n)
{
#ifdef _WIN32
    DWORD len = GetFullPathNameA(path, (DWORD)n, buf, NULL);
    return len == 0 || len >= n ? -1 : 0;
#else
    char cwd[4096];
    if (path[0] == '/')
        return snprintf(buf, n, "%s", path) < (int)n ? 0 : -1;
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    return snprintf(buf, n, "%s/%s", cwd, path) < (int)n ? 0 : -1;
#endif
}

int plat_isatty_stderr(void)
{
#ifdef _WIN32
    return _isatty(_fileno(stderr));
#else
    return isatty(STDERR_FILENO);
#endif
}

rdm_rc plat_open_plain(const char *path, FILE **out, rdm_err *err)
{
    *out = NULL;
#ifdef _WIN32
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                           FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_SEQUENTIAL_SCAN, NULL);
    BY_HANDLE_FILE_INFORMATION fi;
    if (h == INVALID_HANDLE_VALUE)
        return rdm_fail(err, RDM_ERR_IO, "cannot open %s (error %lu)", path,
                        (unsigned long)GetLastError());
    if (GetFileType(h) != FILE_TYPE_DISK || !GetFileInformationByHandle(h, &fi) ||
        (fi.dwFileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY))) {
        CloseHandle(h);
        return rdm_fail(err, RDM_ERR_PARSE, "%s: not a plain file (a link or a device; refused)",
                        path);
    }
    int fd = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY);
    if (fd < 0) {
        CloseHandle(h);
        return rdm_fail(err, RDM_ERR_IO, "cannot open %s", path);
    }
    if (!(*out = _fdopen(fd, "rb"))) {
        _close(fd);
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
#else
    /* O_NONBLOCK: a FIFO put there must not hang the open (it has no effect
     * on the reads of a plain file) */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), e = errno;
    struct stat st;
    if (fd < 0)
        return rdm_fail(
            err, e == ELOOP ? RDM_ERR_PARSE : RDM_ERR_IO, "cannot open %s: %s%s", path, strerror(e),
            e == ELOOP ? " (a symbolic link: a bundle holds plain files only; refused)" : "");
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return rdm_fail(err, RDM_ERR_PARSE, "%s: not a plain file (refused)", path);
    }
    if (!(*out = fdopen(fd, "rb"))) {
        close(fd);
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
#endif
    return RDM_OK;
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

void plat_tz_reload(void)
{
#ifdef _WIN32
    _tzset();
#else
    tzset();
#endif
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

/* ---- durable writes ---- */

#define WBUF (64 * 1024)

struct plat_wfile {
    char *path; /* final path; the temporary is path + ".tmp" */
    char *tmp;
#ifdef _WIN32
    HANDLE h;
#else
    int fd;
#endif
    unsigned long long size; /* bytes appended */
    size_t n;                /* bytes in buf */
    char buf[WBUF];
};

static char *dup_cat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 1);
    if (p) {
        memcpy(p, a, la);
        memcpy(p + la, b, lb + 1);
    }
    return p;
}

rdm_rc plat_wopen(const char *path, plat_wfile **out, rdm_err *err)
{
    plat_wfile *f = calloc(1, sizeof *f);
    *out = NULL;
    if (!f || !(f->path = dup_cat(path, "")) || !(f->tmp = dup_cat(path, ".tmp"))) {
        if (f) {
            free(f->path);
            free(f);
        }
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    }
    plat_fault_point("create");
#ifdef _WIN32
    /* others may read it while it is written (a land file's second pass) */
    f->h = CreateFileA(f->tmp, GENERIC_WRITE, FILE_SHARE_READ, NULL, CREATE_ALWAYS,
                       FILE_ATTRIBUTE_NORMAL, NULL);
    if (f->h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        free(f->tmp);
        free(f->path);
        free(f);
        return rdm_fail(err, e == ERROR_DISK_FULL ? RDM_ERR_DISK_FULL : RDM_ERR_IO,
                        "cannot create %s (error %lu)", path, (unsigned long)e);
    }
#else
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (f->fd < 0) {
        int e = errno;
        free(f->tmp);
        free(f->path);
        free(f);
        return rdm_fail(err, e == ENOSPC || e == EDQUOT ? RDM_ERR_DISK_FULL : RDM_ERR_IO,
                        "cannot create %s: %s", path, strerror(e));
    }
#endif
    *out = f;
    return RDM_OK;
}

/* Writes the buffer out. */
static rdm_rc wflush(plat_wfile *f, rdm_err *err)
{
    size_t off = 0;
    while (off < f->n) {
        plat_fault_point("write");
#ifdef _WIN32
        DWORD w = 0;
        if (!WriteFile(f->h, f->buf + off, (DWORD)(f->n - off), &w, NULL)) {
            DWORD e = GetLastError();
            if (e == ERROR_DISK_FULL || e == ERROR_HANDLE_DISK_FULL)
                goto full;
            return rdm_fail(err, RDM_ERR_IO, "cannot write %s (error %lu)", f->path,
                            (unsigned long)e);
        }
#else
        ssize_t w = write(f->fd, f->buf + off, f->n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)
                goto full;
            return rdm_fail(err, RDM_ERR_IO, "cannot write %s: %s", f->path, strerror(errno));
        }
#endif
        off += (size_t)w;
    }
    f->n = 0;
    return RDM_OK;
full:;
    char dir[4096];
    long long fr = -1;
    if (!plat_dirname(f->path, dir, sizeof dir))
        fr = plat_free_space(dir);
    unsigned long long done = f->size - (f->n - off);
    return rdm_fail(err, RDM_ERR_DISK_FULL,
                    "no space left for %s: %llu bytes written, at least %llu more needed, %lld "
                    "bytes free on its file system (or a file-size limit was reached); free some "
                    "space and run again: nothing was registered for this file",
                    f->path, done, (unsigned long long)(f->n - off), fr);
}

rdm_rc plat_write(plat_wfile *f, const void *data, size_t n, rdm_err *err)
{
    const char *p = data;
    f->size += n;
    while (n) {
        size_t k = WBUF - f->n < n ? WBUF - f->n : n;
        memcpy(f->buf + f->n, p, k);
        f->n += k;
        p += k;
        n -= k;
        if (f->n == WBUF) {
            rdm_rc rc = wflush(f, err);
            if (rc)
                return rc;
        }
    }
    return RDM_OK;
}

rdm_rc plat_wflush(plat_wfile *f, rdm_err *err)
{
    return wflush(f, err);
}

unsigned long long plat_wsize(const plat_wfile *f)
{
    return f->size;
}

static void wfree(plat_wfile *f)
{
    free(f->path);
    free(f->tmp);
    free(f);
}

void plat_wabort(plat_wfile *f)
{
    if (!f)
        return;
#ifdef _WIN32
    CloseHandle(f->h);
#else
    close(f->fd);
#endif
    remove(f->tmp);
    wfree(f);
}

rdm_rc plat_wcommit(plat_wfile *f, rdm_err *err)
{
    rdm_rc rc = wflush(f, err);
    if (rc) {
        plat_wabort(f);
        return rc;
    }
    plat_fault_point("fsync");
#ifdef _WIN32
    if (!FlushFileBuffers(f->h)) {
        rc = rdm_fail(err, RDM_ERR_IO, "cannot flush %s to disk (error %lu)", f->path,
                      (unsigned long)GetLastError());
        plat_wabort(f);
        return rc;
    }
    CloseHandle(f->h);
    f->h = INVALID_HANDLE_VALUE;
#else
    if (fsync(f->fd) != 0) {
        int e = errno;
        rc = rdm_fail(err, e == ENOSPC || e == EDQUOT ? RDM_ERR_DISK_FULL : RDM_ERR_IO,
                      "cannot flush %s to disk: %s", f->path, strerror(e));
        plat_wabort(f);
        return rc;
    }
    if (close(f->fd) != 0) {
        f->fd = -1;
        rc = rdm_fail(err, RDM_ERR_IO, "cannot close %s: %s", f->path, strerror(errno));
        remove(f->tmp);
        wfree(f);
        return rc;
    }
#endif
    plat_fault_point("rename");
    rc = plat_rename(f->tmp, f->path, err);
    if (rc)
        remove(f->tmp);
    wfree(f);
    return rc;
}

rdm_rc plat_fsync_dir(const char *dir, rdm_err *err)
{
    plat_fault_point("fsync-dir");
#ifdef _WIN32
    (void)dir;
    (void)err;
    return RDM_OK;
#else
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rdm_fail(err, RDM_ERR_IO, "cannot open directory %s: %s", dir, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r != 0)
        return rdm_fail(err, RDM_ERR_IO, "cannot flush directory %s to disk: %s", dir, strerror(e));
    return RDM_OK;
#endif
}

rdm_rc plat_remove(const char *path, rdm_err *err)
{
    if (remove(path) != 0 && errno != ENOENT)
        return rdm_fail(err, RDM_ERR_IO, "cannot delete %s: %s", path, strerror(errno));
    return RDM_OK;
}

int plat_rmdir(const char *path)
{
#ifdef _WIN32
    return _rmdir(path);
#else
    return rmdir(path);
#endif
}

long long plat_free_space(const char *path)
{
#ifdef _WIN32
    ULARGE_INTEGER avail;
    if (!GetDiskFreeSpaceExA(path, &avail, NULL, NULL))
        return -1;
    return (long long)avail.QuadPart;
#else
    struct statvfs v;
    if (statvfs(path, &v) != 0)
        return -1;
    return (long long)v.f_bavail * (long long)v.f_frsize;
#endif
}

const char *plat_sqlite_temp_dir(char *buf, size_t n)
{
#ifdef _WIN32
    DWORD k = GetTempPathA((DWORD)n, buf);
    if (k == 0 || k >= n)
        snprintf(buf, n, "%s", "the folder in TMP or TEMP");
    return "TMP";
#else
    /* os_unix.c, unixTempFileDir() */
    const char *dirs[] = {
        getenv("SQLITE_TMPDIR"), getenv("TMPDIR"), "/var/tmp", "/usr/tmp", "/tmp", "."};
    snprintf(buf, n, "%s", ".");
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        struct stat st;
        if (dirs[i] && stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode) &&
            access(dirs[i], W_OK | X_OK) == 0) {
            snprintf(buf, n, "%s", dirs[i]);
            break;
        }
    }
    return "SQLITE_TMPDIR";
#endif
}

long long plat_file_size_limit(void)
{
#ifdef _WIN32
    return -1;
#else
    struct rlimit r;
    if (getrlimit(RLIMIT_FSIZE, &r) != 0 || r.rlim_cur == RLIM_INFINITY)
        return -1;
    return (long long)r.rlim_cur;
#endif
}

void plat_init(void)
{
#ifndef _WIN32
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
#else
    /* messages are UTF-8 (the manifest makes it the process's code page
     * too: packaging/windows/utf8.manifest); a console shows them so */
    SetConsoleOutputCP(CP_UTF8);
    SetConsoleCP(CP_UTF8);
#endif
}

int plat_utf8_paths(void)
{
#ifdef _WIN32
    return GetACP() == CP_UTF8;
#else
    return 1;
#endif
}

static long long fault_at = -2;
static _Atomic long long fault_n; /* points are passed by several threads */
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void fault_init(void)
{
    const char *e = getenv("RDM_FAULT_KILL_AT");
    fault_at = e && *e ? atoll(e) : -1;
}

void plat_fault_point(const char *what)
{
    pthread_once(&fault_once, fault_init);
    if (fault_at < 0)
        return;
    long long n = ++fault_n;
    if (n != fault_at)
        return;
    if (getenv("RDM_FAULT_VERBOSE"))
        fprintf(stderr, "rdm-agent: fault point %lld (%s): killed\n", n, what);
#ifdef _WIN32
    TerminateProcess(GetCurrentProcess(), 137);
#else
    kill(getpid(), SIGKILL);
#endif
}

/* ---- threads (POSIX threads; mingw-w64 provides them as winpthreads) ---- */

struct plat_thread {
    pthread_t t;
};

rdm_rc plat_thread_start(plat_thread **out, void *(*fn)(void *), void *arg, rdm_err *err)
{
    plat_thread *t = malloc(sizeof *t);
    *out = NULL;
    if (!t)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    int e = pthread_create(&t->t, NULL, fn, arg);
    if (e) {
        free(t);
        return rdm_fail(err, RDM_ERR_IO, "cannot start a thread: %s", strerror(e));
    }
    *out = t;
    return RDM_OK;
}

void plat_thread_join(plat_thread *t)
{
    if (!t)
        return;
    pthread_join(t->t, NULL);
    free(t);
}

void plat_thread_detach(plat_thread *t)
{
    if (!t)
        return;
    pthread_detach(t->t);
    free(t);
}

struct plat_chan {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    int cap, head, n;
    void *items[];
};

rdm_rc plat_chan_new(int cap, plat_chan **out, rdm_err *err)
{
    plat_chan *c = calloc(1, sizeof *c + (size_t)cap * sizeof(void *));
    *out = NULL;
    if (!c)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    c->cap = cap;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->not_empty, NULL);
    pthread_cond_init(&c->not_full, NULL);
    *out = c;
    return RDM_OK;
}

void plat_chan_put(plat_chan *c, void *item)
{
    pthread_mutex_lock(&c->mu);
    while (c->n == c->cap)
        pthread_cond_wait(&c->not_full, &c->mu);
    c->items[(c->head + c->n) % c->cap] = item;
    c->n++;
    pthread_cond_signal(&c->not_empty);
    pthread_mutex_unlock(&c->mu);
}

void *plat_chan_get(plat_chan *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->n == 0)
        pthread_cond_wait(&c->not_empty, &c->mu);
    void *item = c->items[c->head];
    c->head = (c->head + 1) % c->cap;
    c->n--;
    pthread_cond_signal(&c->not_full);
    pthread_mutex_unlock(&c->mu);
    return item;
}

void plat_chan_free(plat_chan *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->not_empty);
    pthread_cond_destroy(&c->not_full);
    free(c);
}

long long plat_mono_ms(void)
{
#ifdef _WIN32
    return (long long)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

void plat_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
#ifdef _WIN32
    Sleep((DWORD)ms);
#else
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
#endif
}

unsigned long long plat_seed(void)
{
    unsigned long long s = (unsigned long long)time(NULL) * 6364136223846793005ULL;
    s ^= (unsigned long long)plat_pid() << 17;
    s ^= (unsigned long long)plat_mono_ms() * 1442695040888963407ULL;
    return s ? s : 1;
}

/* ---- signals ---- */

static volatile sig_atomic_t stop_flag, reload_flag;
#ifdef _WIN32
static HANDLE wake_event;

static BOOL WINAPI on_console(DWORD type)
{
    /* a user logging off (at the console or a remote desktop) is no reason
     * to stop: Windows sends it to services too, and a service stopped so
     * reports no failure and stays down until the next boot */
    if (type == CTRL_LOGOFF_EVENT)
        return TRUE;
    plat_request_stop();
    return TRUE;
}

rdm_rc plat_signals_init(rdm_err *err)
{
    if (!wake_event && !(wake_event = CreateEventA(NULL, FALSE, FALSE, NULL)))
        return rdm_fail(err, RDM_ERR_INTERNAL, "cannot create an event");
    SetConsoleCtrlHandler(on_console, TRUE);
    return RDM_OK;
}

static void wake(void)
{
    if (wake_event)
        SetEvent(wake_event);
}

void plat_wait_ms(long long ms)
{
    if (stop_flag || reload_flag || ms <= 0)
        return;
    if (wake_event)
        WaitForSingleObject(wake_event, ms > 0x7ffffffe ? 0x7ffffffe : (DWORD)ms);
    else
        Sleep((DWORD)ms);
}

int plat_sock_wait(long long sock, int for_write, int ms)
{
    /* a stop wakes no select(): it is seen when the time has passed; a
     * failed connect shows in the exceptions */
    fd_set s, x;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (sock < 0)
        return -1;
    FD_ZERO(&s);
    FD_ZERO(&x);
    FD_SET((SOCKET)sock, &s);
    FD_SET((SOCKET)sock, &x);
    int n = select(0, for_write ? NULL : &s, for_write ? &s : NULL, &x, &tv);
    return n == SOCKET_ERROR ? -1 : n > 0;
}
#else
#include <poll.h>
static int wake_pipe[2] = {-1, -1};

static void wake(void)
{
    if (wake_pipe[1] >= 0) {
        int e = errno;
        ssize_t w = write(wake_pipe[1], "x", 1);
        (void)w;
        errno = e;
    }
}

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_flag = 1;
    else
        stop_flag = 1;
    wake();
}

rdm_rc plat_signals_init(rdm_err *err)
{
    if (wake_pipe[0] < 0) {
        if (pipe(wake_pipe) != 0)
            return rdm_fail(err, RDM_ERR_IO, "cannot create a pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL) | O_NONBLOCK);
            fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return RDM_OK;
}

void plat_wait_ms(long long ms)
{
    if (stop_flag || reload_flag || ms <= 0)
        return;
    if (wake_pipe[0] < 0) {
        plat_sleep_ms((long)(ms > 0x7fffffff ? 0x7fffffff : ms));
        return;
    }
    struct pollfd p = {wake_pipe[0], POLLIN, 0};
    if (poll(&p, 1, ms > 0x7fffffff ? 0x7fffffff : (int)ms) > 0) {
        char buf[64];
        while (read(wake_pipe[0], buf, sizeof buf) > 0)
            ;
    }
}

int plat_sock_wait(long long sock, int for_write, int ms)
{
    /* the wake pipe too: a stop ends the wait at once (emptied here, or a
     * re-read asked would wake every wait after it; the flags say what
     * was asked) */
    struct pollfd p[2] = {{(int)sock, for_write ? POLLOUT : POLLIN, 0}, {wake_pipe[0], POLLIN, 0}};
    if (sock < 0)
        return -1;
    int n = poll(p, wake_pipe[0] >= 0 ? 2 : 1, ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    if (wake_pipe[0] >= 0 && (p[1].revents & POLLIN)) {
        char buf[64];
        while (read(wake_pipe[0], buf, sizeof buf) > 0)
            ;
    }
    return (p[0].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)) != 0;
}
#endif

int plat_stop_requested(void)
{
    return stop_flag != 0;
}

void plat_request_stop(void)
{
    stop_flag = 1;
    wake();
}

int plat_take_reload(void)
{
    if (!reload_flag)
        return 0;
    reload_flag = 0;
    return 1;
}
