/*
 * registry.h - what the operator sees: the registry of stages (as the
 * product's screens show it), the one-screen status, and the HTML report.
 * Reads the store only.
 *
 * Interface (prefix reg_):
 *   reg_stages()   stages with sub-stage counts, text or JSON (docs/OPERATOR.md)
 *   reg_status()   the facts of one screen and whether a person is needed
 *   reg_report()   a self-contained HTML page of the same facts
 */
#ifndef RDM_REGISTRY_H
#define RDM_REGISTRY_H

#include "../storage/store.h"

#include <stdio.h>
#include <time.h>

enum { REG_COLLECT = 1, REG_EXPORT = 2 };

/* Prints collect and/or export stages (kinds: REG_COLLECT | REG_EXPORT)
 * started at or after since (0 = all), newest first, at most limit (0 =
 * all). json: one JSON document (stable fields, docs/OPERATOR.md). */
rdm_rc reg_stages(store *st, int kinds, time_t since, int limit, int json, FILE *out, rdm_err *err);

/* Prints the status screen; *needs_person gets the number of things that
 * need a person (each printed with what to do). */
rdm_rc reg_status(store *st, FILE *out, int *needs_person, rdm_err *err);

/* Writes the HTML report to path (temporary file, then rename). */
rdm_rc reg_report(store *st, const char *path, rdm_err *err);

#endif
