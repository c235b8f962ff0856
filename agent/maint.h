/*
 * maint.h - upkeep of the store and the data directory: suspended stages
 * (../shared/spec/STATES.md) and cleanup of what the datamart has accepted.
 *
 * Interface (prefix maint_):
 *   maint_check_suspended()   stages without progress past STAGE_TIMEOUT -> FAILED
 *   maint_cleanup()           delete sent files and old journal rows, vacuum
 */
#ifndef RDM_MAINT_H
#define RDM_MAINT_H

#include "../storage/store.h"
#include "config.h"

/* Marks FAILED (with ended_at and a reason) every collect and export stage
 * in CREATED or IN_PROGRESS whose newest sub-stage started more than
 * STAGE_TIMEOUT minutes ago (or that has none and started that long ago),
 * with its open sub-stages. A stage whose task lock a live process holds is
 * left alone (it is being worked on); otherwise the lock is taken while
 * marking. *n gets how many stages were marked. Their work is picked up by
 * the next collect or export, which resume from saved positions. */
rdm_rc maint_check_suspended(store *st, const rdm_config *cfg, int *n, rdm_err *err);

typedef struct cleanup_stats {
    int files;                           /* files deleted */
    long long file_bytes;                /* their size */
    int dirs;                            /* empty folders removed */
    long long journal_rows;              /* journal rows deleted */
    int vacuumed;                        /* the store was vacuumed */
    long long store_before, store_after; /* store file size, bytes */
} cleanup_stats;

/* Under the task lock "cleanup": deletes the files of FINISHED sub-stages
 * ended more than FINISHED_DAYS ago whose every file the datamart accepted
 * (status FINISHED in the current send round), and of FAILED sub-stages
 * ended more than FAILED_DAYS ago; never a file of a sub-stage that is
 * ready, in PROCESS_ERROR, or with an upload not finally answered. The
 * attachment rows stay (removed_at is set). Deletes journal rows older than
 * JOURNAL_DAYS, and vacuums the store when a quarter of it is free pages. */
rdm_rc maint_cleanup(store *st, const rdm_config *cfg, cleanup_stats *s, rdm_err *err);

#endif
