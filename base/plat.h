/*
 * plat.h - the platform layer: everything that differs between POSIX and
 * Windows lives behind these functions (files, directories, processes,
 * host name, well-known paths). Nothing else in rdm-agent includes
 * <unistd.h> or <windows.h>.
 *
 * Interface (prefix plat_):
 *   plat_read_file()      whole small file into a malloc'd, NUL-terminated buffer
 *   plat_mkdirs()         mkdir -p
 *   plat_exists()         does a path exist
 *   plat_is_abs()         is a path absolute
 *   plat_dirname()        directory part of a path, into a caller's buffer
 *   plat_join()           dir + "/" + name, into a caller's buffer
 *   plat_pid()            this process's id
 *   plat_pid_alive()      is a process with that id running on this host
 *   plat_hostname()       this host's name
 *   plat_system_config()  the system-wide configuration path
 *   plat_isatty_stderr()  is stderr a terminal
 *   plat_localtime(), plat_gmtime()  broken-down time, thread-safe
 *   plat_kind()           regular file, directory, symbolic link, other
 *   plat_listdir()        the names in a directory
 *   plat_wopen() / plat_write() / plat_wcommit() / plat_wabort()
 *                         a file written durably: a temporary name, fsync,
 *                         rename, fsync of the directory
 *   plat_fsync_dir()      make a directory's entries durable
 *   plat_remove()         delete a file (missing is not an error)
 *   plat_free_space()     bytes free for this user on a path's file system
 *   plat_sqlite_temp_dir() where SQLite puts its temporary files
 *   plat_file_size_limit() the largest file this process may write
 *   plat_init()           process set-up (write errors instead of signals)
 *   plat_fault_point()    test hook: kill this process at the Nth point
 *   plat_thread_start() / plat_thread_join() / plat_thread_detach()
 *                         a worker thread
 *   plat_chan_*()         a bounded queue of pointers between two threads
 */
#ifndef RDM_PLAT_H
#define RDM_PLAT_H

#include "rc.h"

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#ifdef _WIN32
#define PLAT_SEP      '\\'
#define PLAT_LIST_SEP ';' /* between folders in a search path */
#else
#define PLAT_SEP      '/'
#define PLAT_LIST_SEP ':'
#endif

/* Reads the whole file at path (at most max bytes, else RDM_ERR_RANGE) into
 * *out, which the caller frees; *len gets the size. The buffer is
 * NUL-terminated. Errors name the path and the system's reason. */
rdm_rc plat_read_file(const char *path, size_t max, char **out, size_t *len, rdm_err *err);

/* Creates path and its missing parents (mode 0750 on POSIX). An existing
 * directory is success; an existing non-directory is RDM_ERR_IO. */
rdm_rc plat_mkdirs(const char *path, rdm_err *err);

/* 1 if path exists (any type), else 0. */
int plat_exists(const char *path);

/* 1 if path is absolute (POSIX "/..."; Windows "C:\...", "\\server\..."). */
int plat_is_abs(const char *path);

/* Writes the directory part of path into buf ("." when there is none).
 * Returns 0, or -1 if buf is too small. */
int plat_dirname(const char *path, char *buf, size_t n);

/* Writes dir + separator + name into buf; name alone when it is absolute or
 * dir is empty. Returns 0, or -1 if buf is too small. */
int plat_join(const char *dir, const char *name, char *buf, size_t n);

long long plat_pid(void);

/* 1 if a process with this id exists on this host, 0 if not. When it cannot
 * be told (permission), answers 1: the caller must not steal a live lock. */
int plat_pid_alive(long long pid);

/* Host name into buf (truncated), "unknown" if it cannot be read. */
void plat_hostname(char *buf, size_t n);

/* Writes the system-wide configuration path into buf:
 * /etc/rdm-agent/rdm-agent.ini, or %ProgramData%\rdm-agent\rdm-agent.ini. */
int plat_system_config(char *buf, size_t n);

int plat_isatty_stderr(void);

/* Sets (value not NULL) or removes an environment variable of this
 * process. 0, or -1. */
int plat_setenv(const char *name, const char *value);

/* The folder of the running executable (no trailing separator). 0, or -1. */
int plat_exe_dir(char *buf, size_t n);
/* path made absolute against the current folder (not resolving links),
 * into buf. 0, or -1 when it does not fit or the folder is unknown. */
int plat_abspath(const char *path, char *buf, size_t n);

/* Thread-safe localtime/gmtime; return 1, or 0 if t cannot be converted. */
int plat_localtime(time_t t, struct tm *out);
/* Reads the system's time zone again (tzset()): a zone changed since the
 * start is then used by plat_localtime(). */
void plat_tz_reload(void);
int plat_gmtime(time_t t, struct tm *out);

typedef enum plat_kind_t { PLAT_NONE, PLAT_FILE, PLAT_DIR, PLAT_LINK, PLAT_OTHER } plat_kind_t;

/* What path is, without following a final symbolic link (Windows: a
 * reparse point counts as a link). *size gets a regular file's size. */
plat_kind_t plat_kind(const char *path, long long *size);

/* Opens path for reading ("rb") only when it is a plain file, checked on
 * the opened file itself: a symbolic link (a reparse point on Windows), a
 * folder, a FIFO or a device put there after an earlier check is refused
 * (RDM_ERR_PARSE, naming path). *out is the caller's, to fclose. */
rdm_rc plat_open_plain(const char *path, FILE **out, rdm_err *err);

/* Modification time (seconds since the epoch) of path, or -1. */
long long plat_mtime(const char *path);

/* Renames a file or folder within one file system; the target must not
 * exist. Errors name both paths. */
rdm_rc plat_rename(const char *from, const char *to, rdm_err *err);

/* Calls fn for each entry of dir except "." and "..", in no particular
 * order; stops at the first non-zero return and returns it. */
rdm_rc plat_listdir(const char *dir, rdm_rc (*fn)(void *ud, const char *name, rdm_err *err),
                    void *ud, rdm_err *err);

/* A file being written durably (see plat_wopen). */
typedef struct plat_wfile plat_wfile;

/* Creates (or truncates) the temporary file "<path>.tmp" for writing.
 * Nothing appears at path until plat_wcommit(). On success the caller
 * owns *out and ends it with plat_wcommit() or plat_wabort(). */
rdm_rc plat_wopen(const char *path, plat_wfile **out, rdm_err *err);

/* Appends n bytes (buffered). A full disk or a file-size limit is
 * RDM_ERR_DISK_FULL naming the path, the bytes written so far and the
 * space left. */
rdm_rc plat_write(plat_wfile *f, const void *data, size_t n, rdm_err *err);

/* Writes out what is buffered (no fsync). Errors as plat_write's. */
rdm_rc plat_wflush(plat_wfile *f, rdm_err *err);

/* Bytes appended so far. */
unsigned long long plat_wsize(const plat_wfile *f);

/* Flushes, fsyncs and closes the temporary file, renames it to its final
 * path (replacing nothing: the target must not exist) and frees f, even on
 * failure (then the temporary file is removed). The caller fsyncs the
 * directory (plat_fsync_dir) once for all the files it commits there. */
rdm_rc plat_wcommit(plat_wfile *f, rdm_err *err);

/* Closes and removes the temporary file; frees f. NULL is allowed. */
void plat_wabort(plat_wfile *f);

/* fsyncs a directory so that renames and creations in it survive a power
 * cut (Windows: nothing to do, MoveFileEx is write-through). */
rdm_rc plat_fsync_dir(const char *dir, rdm_err *err);

/* Deletes a file; a missing one is not an error. */
rdm_rc plat_remove(const char *path, rdm_err *err);

/* Deletes an empty directory; returns 0 on success. */
int plat_rmdir(const char *path);

/* Bytes available to this user on the file system holding path, or -1. */
long long plat_free_space(const char *path);

/* Writes into buf the folder SQLite's own VFS puts temporary files in
 * (statement journals that outgrow memory, large sorts), found the way it
 * does: on POSIX the first writable folder of $SQLITE_TMPDIR, $TMPDIR,
 * /var/tmp, /usr/tmp, /tmp and "."; on Windows GetTempPath() (TMP, TEMP,
 * the user's profile). Returns the environment variable that moves it
 * (SQLITE_TMPDIR; TMP on Windows). */
const char *plat_sqlite_temp_dir(char *buf, size_t n);

/* The largest file this process may write (RLIMIT_FSIZE), or -1 when
 * there is no such limit (always on Windows). */
long long plat_file_size_limit(void);

/* Process set-up, once at start: a file-size limit makes writes fail with
 * an error instead of killing the process (SIGXFSZ), and a closed pipe
 * too (SIGPIPE). */
void plat_init(void);
/* 1 when file names pass as UTF-8 to the system: always on Linux; on
 * Windows when the manifest's UTF-8 code page took effect (Windows 10
 * 1903 and later), else names outside ASCII are misread. */
int plat_utf8_paths(void);

/* Fault injection for crash tests: when the environment variable
 * RDM_FAULT_KILL_AT is N, the Nth call in this process (any thread) kills it at once
 * (SIGKILL; TerminateProcess on Windows), as a power cut would, after
 * printing what to stderr when RDM_FAULT_VERBOSE is set. Otherwise a
 * counter increment. */
void plat_fault_point(const char *what);

/* A worker thread running fn(arg). */
typedef struct plat_thread plat_thread;
rdm_rc plat_thread_start(plat_thread **out, void *(*fn)(void *), void *arg, rdm_err *err);
/* Waits for the thread to return and frees it. */
void plat_thread_join(plat_thread *t);
/* Lets the thread run on alone (it is never joined) and frees t. */
void plat_thread_detach(plat_thread *t);

/* A bounded FIFO of pointers: put blocks while it holds cap items, get
 * blocks while it is empty. Safe between any number of threads. */
typedef struct plat_chan plat_chan;
rdm_rc plat_chan_new(int cap, plat_chan **out, rdm_err *err);
void plat_chan_put(plat_chan *c, void *item);
void *plat_chan_get(plat_chan *c);
void plat_chan_free(plat_chan *c);

/* Milliseconds of a monotonic clock (not wall time: immune to clock
 * changes), for timeouts and backoff. */
long long plat_mono_ms(void);

/* Sleeps about ms milliseconds. */
void plat_sleep_ms(long ms);

/* A seed that differs between processes and runs (time, pid, clock). */
unsigned long long plat_seed(void);

/* Signals for a long-running process: SIGTERM and SIGINT (a console
 * Ctrl+C or close on Windows; the service stop calls plat_request_stop)
 * ask it to stop, SIGHUP to re-read its configuration. Installs the
 * handlers; afterwards plat_wait_ms() wakes at once on either. */
rdm_rc plat_signals_init(rdm_err *err);

/* 1 once a stop was asked (by a signal or plat_request_stop). Long work
 * checks it between chunks and ends cleanly with RDM_ERR_STOPPED. */
int plat_stop_requested(void);
void plat_request_stop(void);

/* 1 when a re-read was asked since the last call (and clears it). */
int plat_take_reload(void);

/* Sleeps up to ms, waking early when a stop or re-read is asked; no busy
 * loop. */
void plat_wait_ms(long long ms);

/* Waits up to ms for the socket sock (a descriptor; a SOCKET on Windows)
 * to have something to read (to take a write, with for_write): 1 it has,
 * 0 not yet (the time passed, or a signal came: check
 * plat_stop_requested()), -1 an error. */
int plat_sock_wait(long long sock, int for_write, int ms);

#endif
