/*
 * upload.h - export sub-stages to the datamart and their statuses back
 * (../shared/spec/STATES.md, PROTOCOL.md), every step in the store.
 *
 * Sending: READY_FOR_EXPORT sub-stages oldest first, one file at a time per
 * entity (so the datamart receives an entity's changes in order), up to
 * MAX_CONNECTIONS entities at once, within UPLOAD_QUEUE_MAX_SIZE bytes in
 * flight (summed from the store: uploads with a request id, not emulated,
 * still IN_PROGRESS and not given up; a single file larger than the budget
 * goes when nothing else is in flight). Before a file is sent, its
 * upload_log row is committed without a request id; after, the id (or the
 * error) is. A file whose bytes are not the recorded ones is never sent:
 * its sub-stage is FAILED and marked for re-export. When the datamart
 * cannot be reached (or answers 5xx/429 through every retry), nothing is
 * FAILED: the run stops, dm_reach records it, and later runs wait for
 * next_try (exponential, capped) unless forced.
 *
 * Interface (prefix upload_):
 *   upload_run()          send what is ready
 *   upload_check_status() poll uploads still in progress
 *   upload_resend()       PROCESS_ERROR (or FAILED at sending) back to READY_FOR_EXPORT
 */
#ifndef RDM_UPLOAD_H
#define RDM_UPLOAD_H

#include "../storage/store.h"
#include "config.h"

typedef struct upload_stats {
    int files_sent, files_failed; /* uploads that got an id / were refused */
    long long bytes_sent;
    int finished, process_error; /* sub-stages this run ended */
    int failed;                  /* sub-stages FAILED (refused, or file not intact) */
    int waiting;                 /* sub-stages still READY_FOR_EXPORT at the end */
    int budget_full;             /* stopped by UPLOAD_QUEUE_MAX_SIZE */
    long long in_flight;         /* bytes in flight at the end */
    int unreachable;             /* the datamart could not be reached */
    int not_due;                 /* waiting for next_try; nothing tried */
    long long next_try;          /* when unreachable / not_due */
    int interrupted;             /* sends of a killed run found at start */
    char reason[600];            /* why unreachable */
} upload_stats;

typedef struct status_stats {
    int asked, finished, errors, unknown, still, gave_up;
    int unreachable;    /* the datamart could not be reached */
    int not_due;        /* waiting for next_try (dm_reach); nothing asked */
    long long next_try; /* when not_due */
    char reason[600];
} status_stats;

/* Sends the ready sub-stages' files under the task lock "upload". force:
 * try even when dm_reach says to wait. Returns RDM_OK when everything that
 * could go went (an unreachable datamart is not an error of the run: see
 * s->unreachable), the first error otherwise (a refused file, TLS). */
rdm_rc upload_run(store *st, const rdm_config *cfg, int force, upload_stats *s, rdm_err *err);

/* Asks the status of uploads still IN_PROGRESS whose last answer is older
 * than STATUS_RECHECK_MINUTES (all of them with force), under the task lock
 * "upload_status"; uploads older than STATUS_GIVE_UP_DAYS with no final
 * status stop being polled and are reported. Emulated uploads are skipped. */
rdm_rc upload_check_status(store *st, const rdm_config *cfg, int force, status_stats *s,
                           rdm_err *err);

/* SQL true for an export_substage row (named export_substage) that
 * upload_resend() can send again: PROCESS_ERROR, or FAILED because the
 * datamart refused a file (not waiting for re-export, not interrupted).
 * Cleanup keeps such a sub-stage's files. */
#define UPLOAD_SENDABLE_SQL                                                                        \
    "(status = 'PROCESS_ERROR' OR (status = 'FAILED' AND reexport = 0 AND EXISTS (SELECT 1 "       \
    "FROM upload_log l WHERE l.substage_id = export_substage.id AND l.round = "                    \
    "export_substage.send_round AND l.error IS NOT NULL AND l.error NOT LIKE "                     \
    "'interrupted:%')))"

/* Puts sub-stage id (0 = all) back to READY_FOR_EXPORT for a new send
 * round: PROCESS_ERROR ones, and FAILED ones whose files were registered
 * and refused by the datamart (not those waiting for re-export). *n gets
 * how many. An id that is neither is RDM_ERR_NOT_FOUND / RDM_ERR_RANGE
 * with its status. */
rdm_rc upload_resend(store *st, long long id, int *n, rdm_err *err);

#endif
