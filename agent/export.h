/*
 * export.h - staged changes into ЕФТТ files, as export stages and
 * sub-stages (../shared/spec/STATES.md), exactly once across crashes.
 *
 * What changed is read from the staged rows' change numbers ("rdm:chg",
 * written by collect), never from clocks. For each entity and each of its
 * models, a cursor (export_cursor) says how far the model's changes were
 * exported; a sub-stage takes the next EXPORT_CHUNK_SIZE changed rows of
 * one model and runs the entity's select over them (the model read
 * through a window on its changed rows, the other models whole), so the
 * cost follows the changes. Each record is compared with what was last
 * exported ("rdm:row:<KEY>" by staged row for the generated select keyed
 * like its model, else "rdm:ent:<KEY>" by record key; either holds a hash
 * of the values): new key CREATE, other values UPDATE, same values
 * nothing; records selected from
 * deleted rows whose key was exported and is not selected live any more
 * are DELETE. An entity with its own select is then reconciled: exported
 * keys its select no longer yields from live rows are DELETE too.
 *
 * Durable order per sub-stage: files written under temporary names,
 * fsynced, renamed, the directory fsynced; then one transaction commits
 * the attachments, the sub-stage, the cursor and the exported-record state
 * (of up to 8 sub-stages at once, all of whose files are durable: a
 * pipeline of three threads reads, writes and fsyncs). A crash before that
 * commit leaves files nobody registered; the next run deletes them and
 * exports the same changes again.
 *
 * Interface (prefix export_): export_run(), export_entities()
 */
#ifndef RDM_EXPORT_H
#define RDM_EXPORT_H

#include "../storage/store.h"
#include "config.h"
#include "profile.h"

typedef struct export_stats {
    long long stage_id;
    int entities, substages, files, failed;
    long long created, updated, deleted; /* records written, by operation */
    long long rows;                      /* records the selects returned */
    long long fullscan_steps;            /* full-scan steps SQLite made in the selects */
    long long autoindex_rows;            /* rows SQLite put in automatic indexes for them */
    long long orphans;                   /* unregistered files of a crashed run removed */
    unsigned long long bytes;
} export_stats;

/* Resolves a comma-separated list of entity keys (blanks ignored) into
 * indexes of p's entities, in the profile's order: sel[i] = 1 when entity
 * i is selected. An empty list selects all. An unknown key is
 * RDM_ERR_USAGE listing the known ones; what names the list's origin for
 * the message ("--entities", "[rdm_transfer_task] ENTITIES"). sel has
 * p->nentities entries. */
rdm_rc export_entities(const profile *p, const char *list, const char *what, unsigned char *sel,
                       rdm_err *err);

/* Exports the selected entities' changes (sel as export_entities) under
 * the task lock "export", writing files under data_dir/export. Sub-stages
 * left open by a killed run are marked FAILED and their unregistered files
 * deleted first; their changes are exported again. A sub-stage that fails
 * (a full disk, a value that does not convert) is FAILED with the reason,
 * its entity stops there and is retried from the same changes on the next
 * run; the other entities go on, and the result is the first error. */
rdm_rc export_run(store *st, const profile *p, const rdm_config *cfg, const char *data_dir,
                  const unsigned char *sel, export_stats *out, rdm_err *err);

#endif
