/*
 * inbox.h - the [source] DUMP_DIR inbox: dumps and bundles dropped there
 * (from a stick, a share, a script) are imported once complete and moved
 * to DUMP_DIR/done/, or to DUMP_DIR/rejected/ beside a NAME.reason.txt
 * saying why. Complete means: nothing in it changed for
 * INBOX_SETTLE_SECONDS (a bundle's manifest.json too). Entries are taken
 * in name order (byte order of their names): of two full dumps of one
 * model, the one whose name sorts last is applied last. An entry that fails for a
 * reason other than its data (the store is busy, the disk is full) stays
 * where it is for the next run.
 *
 * Interface (prefix inbox_): inbox_run()
 */
#ifndef RDM_INBOX_H
#define RDM_INBOX_H

#include "import.h"

typedef struct inbox_stats {
    int imported, rejected, waiting, kept;
} inbox_stats;

/* Processes every entry of the inbox once. */
rdm_rc inbox_run(store *st, const profile *p, const rdm_config *cfg, inbox_stats *s,
                 import_stats *is, rdm_err *err);

#endif
