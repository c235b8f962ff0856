/*
 * collect.h - turning what was landed (dumps, PostgreSQL pulls) into staged
 * changes, as collect stages and sub-stages (../shared/spec/STATES.md): one
 * sub-stage per COLLECT_CHUNK_SIZE rows, each one transaction committing the
 * staged rows, the sub-stage and the source position together, so that a
 * run killed at any instant and run again leaves the same staged result as
 * an uninterrupted one.
 *
 * Interface (prefix collect_): collect_run()
 */
#ifndef RDM_COLLECT_H
#define RDM_COLLECT_H

#include "../storage/store.h"
#include "config.h"
#include "profile.h"

typedef struct collect_stats {
    long long stage_id;
    int sources;
    int pulls; /* PostgreSQL pulls landed first ([source] TYPE = postgres) */
    int substages;
    long long rows, created, updated, deleted;
} collect_stats;

/* With [source] TYPE = postgres, first pulls every model's PostgreSQL
 * source (pgsource.h). Then collects every landed source not collected
 * yet, oldest first, under the task lock "collect". Stages left IN_PROGRESS by a killed run are
 * marked FAILED first; their work resumes here from its saved position. */
rdm_rc collect_run(store *st, const profile *p, const rdm_config *cfg, collect_stats *s,
                   rdm_err *err);

#endif
