/*
 * config.h - the agent's configuration: the product's INI block read as the
 * product reads it (../shared/spec/CONFIG.md), the agent's own sections, and
 * environment overrides RDM_<SECTION>_<KEY>.
 *
 * Interface (prefix cfg_):
 *   cfg_find_path()  which file to read: --config, RDM_AGENT_CONFIG,
 *                    ./rdm-agent.ini, the system location
 *   cfg_load()       defaults <- file <- environment, all checked; every
 *                    warning and error goes to the diagnostics callback
 *                    with file:line, section and key
 *   cfg_str(), cfg_int(), cfg_bool(), cfg_bits()  typed reads by key id
 *   cfg_print()      the effective configuration with each value's origin,
 *                    secrets masked (`rdm-agent config check`)
 *   cfg_print_defaults()  a commented INI with every key (conf/rdm-agent.ini)
 *   cfg_free()
 */
#ifndef RDM_CONFIG_H
#define RDM_CONFIG_H

#include "../base/rc.h"
#include "config_keys.h"

#include <stdint.h>
#include <stdio.h>

typedef enum cfg_type {
    CFGT_STR,
    CFGT_INT,
    CFGT_BOOL,
    CFGT_CRON_MIN,
    CFGT_CRON_HOUR,
    CFGT_CRON_DOW,
    CFGT_ENUM,
    CFGT_LIST,
    CFGT_INTLIST,
    CFGT_URL
} cfg_type;

enum { CFG_SECRET = 1, CFG_MASK_DSN = 2, CFG_PATH = 4 };

typedef enum cfg_id {
#define X(id, sec, key, type, def, mn, mx, fl, doc) CFG_##id,
    RDM_CONFIG_KEYS(X)
#undef X
        CFG_COUNT
} cfg_id;

typedef enum cfg_origin { CFG_FROM_DEFAULT, CFG_FROM_FILE, CFG_FROM_ENV } cfg_origin;

typedef struct cfg_value {
    char *text;    /* normalised text (owned); for CFG_PATH, resolved */
    long long num; /* CFGT_INT, CFGT_BOOL */
    uint64_t bits; /* cron fields: allowed values */
    cfg_origin origin;
    int line;      /* CFG_FROM_FILE */
    int timedelta; /* STAGE_TIMEOUT: written as TIMEDELTA */
    char env[96];  /* CFG_FROM_ENV: the variable's name */
} cfg_value;

typedef struct rdm_config {
    char *path;     /* the file read, NULL when none was found */
    char *base_dir; /* relative paths are resolved against it */
    cfg_value v[CFG_COUNT];
    int warnings, errors;
} rdm_config;

/* level: 0 error, 1 warning. msg is complete ("file:line: [sec] KEY: ..."). */
typedef void (*cfg_diag_fn)(void *ud, int level, const char *msg);

/* Chooses the configuration file. explicit_path (from --config) wins and
 * must exist; then $RDM_AGENT_CONFIG (must exist); then ./rdm-agent.ini;
 * then the system location. Writes the path into buf, or "" when no file
 * exists (the built-in defaults apply). Returns RDM_ERR_CONFIG when an
 * explicitly named file is missing. */
rdm_rc cfg_find_path(const char *explicit_path, char *buf, size_t n, rdm_err *err);

/* Fills cfg (caller-owned struct, released with cfg_free) from defaults,
 * the file at path (NULL or "" = none) and the environment. Reports every
 * problem through diag (may be NULL). Returns RDM_OK when there were no
 * errors (warnings allowed), RDM_ERR_CONFIG with the first error in err
 * otherwise, RDM_ERR_NOMEM. cfg is always safe to cfg_free afterwards. */
rdm_rc cfg_load(rdm_config *cfg, const char *path, cfg_diag_fn diag, void *ud, rdm_err *err);

/* Same as cfg_load, from a buffer; name is used in messages and for
 * resolving relative paths (its folder). */
rdm_rc cfg_load_buffer(rdm_config *cfg, const char *name, const char *text, size_t len,
                       cfg_diag_fn diag, void *ud, rdm_err *err);

void cfg_free(rdm_config *cfg);

const char *cfg_str(const rdm_config *cfg, cfg_id id);
long long cfg_int(const rdm_config *cfg, cfg_id id);
int cfg_bool(const rdm_config *cfg, cfg_id id);
uint64_t cfg_bits(const rdm_config *cfg, cfg_id id);

/* Names of a key, for messages: "[section] KEY". Static storage. */
const char *cfg_section(cfg_id id);
const char *cfg_key(cfg_id id);

/* Writes the value as it may be shown: secrets as ********, passwords in a
 * DSN or a URL masked. */
void cfg_display(const rdm_config *cfg, cfg_id id, char *buf, size_t n);

/* Prints every key with its effective value and origin. */
void cfg_print(const rdm_config *cfg, FILE *out);

/* Prints an INI file that documents every key with its default, each
 * commented out. */
void cfg_print_defaults(FILE *out);

#endif
