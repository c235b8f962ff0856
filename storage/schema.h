/*
 * schema.h - the store's embedded migrations (schema.c).
 *   schema_latest()        newest version this binary knows
 *   schema_migration(v)    SQL taking version v-1 to v, NULL if none
 */
#ifndef RDM_SCHEMA_H
#define RDM_SCHEMA_H

int schema_latest(void);
const char *schema_migration(int version);

#endif
