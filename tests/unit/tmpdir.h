/* tmpdir.h - a fresh temporary folder for a unit test, and its removal,
 * on POSIX and on Windows (under wine too). Header-only: tests include it. */
#ifndef RDM_TEST_TMPDIR_H
#define RDM_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#ifdef _WIN32
#include <direct.h>
#include <io.h>
#else
#include <unistd.h>
#endif

/* Makes a new folder named after prefix in the temporary folder; 0 or -1. */
static inline int test_mkdtemp(char *dir, size_t n, const char *prefix)
{
#ifdef _WIN32
    const char *tmp = getenv("TEMP");
    for (int i = 0; i < 100; i++) {
        snprintf(dir, n, "%s\\%s-%d-%d", tmp && *tmp ? tmp : "C:\\Windows\\Temp", prefix, rand(),
                 i);
        if (_mkdir(dir) == 0)
            return 0;
    }
    return -1;
#else
    snprintf(dir, n, "/tmp/%s-XXXXXX", prefix);
    return mkdtemp(dir) ? 0 : -1;
#endif
}

/* Removes the folder and everything in it; 0 or the shell's status. */
static inline int test_rmtree(const char *dir)
{
    char cmd[600];
#ifdef _WIN32
    snprintf(cmd, sizeof cmd, "rmdir /s /q \"%s\"", dir);
#else
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
#endif
    return system(cmd);
}

#endif
