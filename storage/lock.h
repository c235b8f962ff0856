/*
 * lock.h - task locks kept in the store, so that two agents (or a manual
 * command during a scheduled one) never do the same exclusive work at once.
 *
 * A lock is a row (task, pid, host, acquired_at, expires_at). It is free
 * when absent, expired, or held by a process of this host that no longer
 * runs (kill -9), or that had this process's id before it (a container's
 * pid 1 after a restart); such a lock is taken over and the takeover
 * logged. A lock is renewed by the holding store's commits (store_commit()
 * moves expires_at to expire_s from now, at most every minute), so only
 * a holder that stopped committing for its whole life loses it. The
 * task "*" is store-wide: it conflicts with every other lock (init,
 * migrations), and every lock conflicts with it.
 *
 * Interface (prefix store_lock_):
 *   store_lock_acquire()   take a lock or say exactly who holds it
 *   store_lock_release()   give back a lock this process holds
 */
#ifndef RDM_LOCK_H
#define RDM_LOCK_H

#include "store.h"

#define STORE_LOCK_ALL "*"

/* Takes the lock named task for expire_s seconds. Returns RDM_ERR_BUSY with
 * "store is busy (pid N on HOST, task T, since ...; the lock expires at ...)"
 * when a live holder has it, or when SQLite itself stays locked past the
 * busy timeout. */
rdm_rc store_lock_acquire(store *st, const char *task, long long expire_s, rdm_err *err);

/* Deletes the lock if this process (pid and host) holds it. */
rdm_rc store_lock_release(store *st, const char *task, rdm_err *err);

#endif
