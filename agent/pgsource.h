/*
 * pgsource.h - pulling models from the product's PostgreSQL database into
 * landed sources (then collected like dumps). Rows stream one at a time
 * (libpq's single-row mode): memory does not grow with the table.
 *
 * Modes (the profile's "postgres" source):
 *   snapshot     the query returns the whole model; absent keys are deletions
 *   incremental  the query takes :since and :until, bound as parameters
 *                (never pasted into SQL), over [end of the last pull, now) in
 *                pieces of [rdm_transfer_task] TIMEDELTA seconds; a column
 *                names the operation (3 = delete)
 *   audit_log    the product's change log (audit_log_auditlog) for one
 *                table, read by (time, id) from the saved position minus an
 *                overlap window, skipping entries already applied, so that a
 *                transaction that commits late is not lost; a full snapshot
 *                (the model's query) every [source] FULL_SNAPSHOT_DAYS
 *                reconciles what the log missed
 * Each pull is one SQLite transaction holding its rows and the new position.
 *
 * Interface (prefix pgsrc_): pgsrc_pull()
 */
#ifndef RDM_PGSOURCE_H
#define RDM_PGSOURCE_H

#include "../storage/store.h"
#include "config.h"
#include "profile.h"

typedef struct pgsrc_stats {
    int pulls;
    long long rows;
} pgsrc_stats;

/* Pulls every model with a PostgreSQL source. On failure err names the
 * model, the mode and the server's message, and *failed_model the model
 * (for the sub-stage); what was pulled before stays landed. Without
 * PostgreSQL support in the build: RDM_ERR_NOT_BUILT. */
rdm_rc pgsrc_pull(store *st, const profile *p, const rdm_config *cfg, pgsrc_stats *s,
                  const char **failed_model, rdm_err *err);

#endif
