/*
 * cli.h - the command line: global options, the command table, help, and
 * the shared steps of every command (load the configuration, open the
 * store).
 *
 * Interface (prefix cli_):
 *   cli_main()          parse, dispatch, map the result to an exit code
 *   cli_ctx             what a command gets: options and configuration
 *   cli_load_config()   find and load the configuration, report problems
 *   cli_open_store()    create the data directory, open and migrate
 */
#ifndef RDM_CLI_H
#define RDM_CLI_H

#include "../base/rc.h"
#include "../storage/store.h"
#include "config.h"

#include <time.h>

typedef struct cli_ctx {
    const char *config_opt; /* --config FILE, or NULL */
    int quiet, verbose;
    int portable; /* --portable, or a file rdm-agent.portable beside the binary */
    int argc;     /* the command's own arguments (argv[0] = command) */
    char **argv;
    rdm_config cfg;
    int cfg_loaded;
} cli_ctx;

/* Returns the process exit code (see rdm_rc_exit). */
int cli_main(int argc, char **argv);

/* Loads the configuration into ctx->cfg, printing warnings and errors to
 * stderr as it goes, and applies LOG_LEVEL / LOG_FILE. */
rdm_rc cli_load_config(cli_ctx *ctx, rdm_err *err);

/* Opens (creating and migrating) the store under DATA_DIR; *from_version
 * gets the version found (0 = new). Caller closes the store. */
rdm_rc cli_open_store(cli_ctx *ctx, store **st, int *from_version, rdm_err *err);

/* Commands (cmd_*.c). Each returns a result; the message is in err. */
rdm_rc cmd_init(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_config(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_version(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_validate(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_import(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_collect(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_export(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_upload(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_check_status(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_resend(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_journal(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_transfer(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_run(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_check_suspended(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_cleanup(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_stages(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_status(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_report(cli_ctx *ctx, rdm_err *err);
rdm_rc cmd_service(cli_ctx *ctx, rdm_err *err);

struct profile;

/* What a step printed for its command, shared with `transfer` (each may
 * turn rc into a summary message). */
struct collect_stats;
struct export_stats;
struct upload_stats;
struct status_stats;
void cli_print_collect(const struct collect_stats *s);
rdm_rc cli_print_export(const struct export_stats *s, rdm_rc rc, rdm_err *err);
rdm_rc cli_print_upload(const rdm_config *cfg, const struct upload_stats *s, rdm_rc rc,
                        rdm_err *err);
rdm_rc cli_print_status(const struct status_stats *s, rdm_rc rc, rdm_err *err);

/* Parses a command's --entities A,B (its only option) into sel[i] = 1 for
 * each selected entity of p (else [rdm_transfer_task] ENTITIES, else all);
 * the caller frees *sel. */
rdm_rc cli_option_entities(cli_ctx *ctx, const struct profile *p, unsigned char **sel,
                           rdm_err *err);

/* A time for --since: "YYYY-MM-DD[ HH:MM[:SS]]" (local; the whole text, a
 * real date) or N followed by m, h or d (that long ago). 0, or -1 when it
 * is neither. */
int cli_parse_since(const char *t, time_t *out);

/* Takes argv[*i] when it is --since T or --limit N (N >= 0) with a valid
 * value: sets *since or *limit, steps *i past the value, returns 1; else 0. */
int cli_option_since_limit(cli_ctx *ctx, int *i, time_t *since, int *limit);
/* The value given after --since or --limit at argv[i] (for a message),
 * or NULL. */
const char *cli_option_value(const cli_ctx *ctx, int i);

/* Re-reads the configuration file and the profiles (SIGHUP): on any error
 * both stay as they were, the problems are printed and RDM_ERR_CONFIG
 * returned; on success ctx->cfg and *p are replaced. */
rdm_rc cli_reload(cli_ctx *ctx, struct profile *p, rdm_err *err);

struct profile;
/* Loads the profiles named by spec (NULL: [agent] PROFILE), looking for
 * bare names in $RDM_PROFILE_PATH, profiles/ beside the configuration file,
 * the installed share folder and the source tree. */
rdm_rc cli_load_profile(cli_ctx *ctx, const char *spec, struct profile *p, rdm_err *err);

#endif
