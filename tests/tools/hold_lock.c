/*
 * hold_lock - test helper: opens the store at argv[1], takes the task lock
 * argv[2] for argv[3] seconds, prints "locked PID" and holds it until its
 * standard input closes (or it is killed), then releases it.
 * With argv[2] = "-write" it instead holds an open write transaction.
 */
#include "storage/lock.h"
#include "base/plat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    store *st = NULL;
    rdm_err err;
    rdm_rc rc;
    if (argc != 4) {
        fprintf(stderr, "usage: hold_lock STORE TASK|-write SECONDS\n");
        return 2;
    }
    rc = store_open(argv[1], STORE_CREATE | STORE_MIGRATE, 2000, &st, NULL, &err);
    if (!rc) {
        if (strcmp(argv[2], "-write") == 0)
            rc = store_begin(st, &err);
        else
            rc = store_lock_acquire(st, argv[2], atoll(argv[3]), &err);
    }
    if (rc) {
        fprintf(stderr, "hold_lock: %s\n", err.msg);
        store_close(st);
        return 1;
    }
    printf("locked %lld\n", plat_pid());
    fflush(stdout);
    while (getchar() != EOF)
        ;
    if (strcmp(argv[2], "-write") == 0)
        store_rollback(st);
    else
        store_lock_release(st, argv[2], &err);
    store_close(st);
    return 0;
}
