/* cli.c - see cli.h. */
#include "cli.h"
#include "../base/log.h"
#include "../base/plat.h"
#include "profile.h"
#include "version.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>

#define STORE_FILE "rdm-agent.db"
#define BUSY_MS    5000

typedef struct command {
    const char *name;
    const char *args;
    const char *summary;
    const char *help;                          /* more detail, may be NULL */
    rdm_rc (*run)(cli_ctx *ctx, rdm_err *err); /* NULL = not built yet */
} command;

static const command commands[] = {
    {"init", "", "create or upgrade the store under [agent] DATA_DIR and check it",
     "Creates DATA_DIR and the SQLite store in it (rdm-agent.db), applies the schema\n"
     "migrations this version carries, and checks the store's integrity. Safe to run\n"
     "again. Refuses a store written by a newer rdm-agent, without modifying it.\n"
     "Refuses (exit 3) while another process holds a task lock on the store.",
     cmd_init},
    {"config", "check | defaults", "check the configuration, or print a documented template",
     "config check     load the configuration as the agent would, print every key\n"
     "                 with its effective value and where it came from (default,\n"
     "                 file:line, environment); secrets are masked. Warnings and\n"
     "                 errors go to stderr; exit 2 on any error.\n"
     "config defaults  print an INI file documenting every key with its default.",
     cmd_config},
    {"import", "PATH... [--skip-bad-rows] [--partial] | --inbox",
     "land CSV dumps or a USB bundle in the store",
     "Each PATH is a dump file (named as a model's csv file in the profile, e.g.\n"
     "address.csv) or a bundle folder (files as copied from a stick, with an optional\n"
     "manifest.json: {\"files\": [{\"name\": \"address.csv\", \"sha256\": \"...\"}]}).\n"
     "Every file is checked whole (encoding, quoting, header, types, keys) and landed\n"
     "in one transaction: when the command returns, the stick can be pulled. A bad\n"
     "row refuses its file (a bundle: all its files) naming file, line and column;\n"
     "--skip-bad-rows instead quarantines bad rows and lands the rest. A file\n"
     "imported before is recognised by its SHA-256 and skipped. A dump is a full\n"
     "snapshot (keys it lacks are deleted) unless --partial, the manifest's\n"
     "\"partial\": true or the profile's csv.partial says it holds changes only.\n"
     "--inbox imports what waits in [source] DUMP_DIR once: bundles with a manifest,\n"
     "and files still for INBOX_SETTLE_SECONDS; each goes to DUMP_DIR/done/, or to\n"
     "DUMP_DIR/rejected/ beside NAME.reason.txt.\n"
     "Run `rdm-agent collect` to turn what was landed into staged changes.",
     cmd_import},
    {"collect", "", "turn landed dumps into staged changes (CREATE, UPDATE, DELETE)",
     "Applies every landed source, oldest first, to the staged models: new keys are\n"
     "CREATE, changed content UPDATE, keys missing from a full snapshot DELETE,\n"
     "unchanged rows untouched. One sub-stage per COLLECT_CHUNK_SIZE rows, each\n"
     "one transaction with its position: killed at any moment, a rerun resumes\n"
     "and ends with the same result.",
     cmd_collect},
    {"export", "[--entities A,B]", "write staged changes into export files",
     "Writes each selected entity's changes since its last export into ЕФТТ files\n"
     "under DATA_DIR/export/DATE/ENTITY/: one sub-stage per EXPORT_CHUNK_SIZE\n"
     "changed rows, up to three files each (create, update, delete), never an\n"
     "empty one. Without --entities: [rdm_transfer_task] ENTITIES, or all.\n"
     "Files are durable before they are registered: killed at any moment, a rerun\n"
     "deletes what was not registered and exports those changes again.",
     cmd_export},
    {"upload", "[--force]", "send ready export files to the datamart",
     "Sends the files of READY_FOR_EXPORT sub-stages, oldest first, one at a time\n"
     "per entity, up to MAX_CONNECTIONS at once, within UPLOAD_QUEUE_MAX_SIZE bytes\n"
     "in flight; checks each file's SHA-256 as it is sent, asks each status once.\n"
     "When the datamart is unreachable nothing is marked failed: the next attempt\n"
     "waits (exponential backoff) unless --force. Emulation sends nothing.",
     cmd_upload},
    {"check-status", "[--force]", "ask the datamart the status of uploads in progress",
     "Asks the status of uploads still in progress, each not more often than\n"
     "STATUS_RECHECK_MINUTES (--force: all now). An error answer (4, 5, 7) makes\n"
     "the sub-stage PROCESS_ERROR; an upload unresolved after STATUS_GIVE_UP_DAYS\n"
     "is no longer polled and is reported. Emulated uploads are skipped.",
     cmd_check_status},
    {"check-suspended", "", "mark stages that hang past STAGE_TIMEOUT as failed",
     "Marks FAILED every collect or export stage (and its open sub-stages) with no\n"
     "new sub-stage for STAGE_TIMEOUT minutes, unless a live process holds its task\n"
     "lock. The next collect or export picks the work up from where it stood.",
     cmd_check_suspended},
    {"transfer", "[--entities A,B]", "collect, export, upload and check once",
     "One pass of the whole job, for sites that schedule it themselves (cron, the\n"
     "Windows Task Scheduler): the DUMP_DIR inbox, collect, export, upload (unless\n"
     "the datamart is in its offline backoff), one status check. Every step runs;\n"
     "the exit code is that of the first that failed (3: another run holds a lock).",
     cmd_transfer},
    {"run", "", "run as a service with the configured schedules",
     "The service: [rdm_transfer_task] (transfer), [rdm_upload_status_task]\n"
     "(check-status), [rdm_check_suspend_task] (check-suspended) and\n"
     "[rdm_cleanup_task] (cleanup) at their cron times, and an upload whenever\n"
     "files wait and the datamart is due. Sleeps in between. SIGTERM/SIGINT: ends\n"
     "the current chunk and exits; SIGHUP: re-reads the configuration (a broken one\n"
     "is refused, the old one kept). RDM_SCHEDULE_SECONDS=N (tests, demos) runs\n"
     "every task every N seconds instead.",
     cmd_run},
    {"stages", "[--collect|--export] [--since T] [--limit N] [--json]",
     "list stages and sub-stages",
     "The registry the product's screens show: each stage with its status title,\n"
     "times, sub-stage counts (finished, ready, datamart error, failed) and first\n"
     "error. --json: a stable document for monitoring (docs/OPERATOR.md).",
     cmd_stages},
    {"status", "", "one screen: what was done, what waits, what needs a person",
     "Last collect, export, upload and status answer; what waits and what is in\n"
     "flight; quarantined rows; whether the datamart answered. Exit 1 when\n"
     "something needs a person (each listed with what to do), for monitoring.",
     cmd_status},
    {"report", "--html FILE", "write a self-contained HTML report",
     "The status facts, per-entity tables and charts of records sent per day and\n"
     "of the bytes waiting, in one HTML file with no external assets.",
     cmd_report},
    {"resend", "ID|--all", "put sub-stages the datamart rejected back in the queue",
     "Puts export sub-stage ID (or all) in PROCESS_ERROR - or FAILED because the\n"
     "datamart refused a file - back to READY_FOR_EXPORT, as the product's screen\n"
     "does; the next upload sends all its files again as a new round.",
     cmd_resend},
    {"cleanup", "", "delete sent files and old journal rows",
     "Deletes export files the datamart accepted ([rdm_cleanup_task] FINISHED_DAYS\n"
     "after their sub-stage finished) and those of failed sub-stages (FAILED_DAYS),\n"
     "never a file not yet accepted; journal rows older than JOURNAL_DAYS; vacuums\n"
     "the store when a quarter of it is free. Reports what was freed.",
     cmd_cleanup},
    {"journal", "[--since T] [--failed] [--limit N]", "show the journal of HTTP requests",
     "One line per HTTP exchange with the datamart: time, method, URL, status,\n"
     "size and SHA-256 of the body sent, error or answer. Passwords and tokens are\n"
     "never stored. T: YYYY-MM-DD[ HH:MM[:SS]] (local) or 30m, 2h, 7d ago;\n"
     "N: the newest N rows (default 100, 0 = all).",
     cmd_journal},
    {"validate", "FILE --entity KEY [--profile P] [--prefix P]",
     "check an export file (format and logic, ФЛК)",
     "Checks FILE as the datamart's format-and-logic control would for entity KEY:\n"
     "header, field count, quoting, required fields, types (int, bool, date,\n"
     "datetime, decimal), key prefix (EXPORT_ENTITY_ID_PREFIX, or --prefix),\n"
     "hashes, control characters, UTF-8, LF line ends and no newline after the\n"
     "last line. Prints each problem with its line and field; exit 1 if any.\n"
     "The profile is [agent] PROFILE unless --profile names another.",
     cmd_validate},
    {"service", "install|uninstall|start|stop|status", "manage the Windows service",
     "Windows: registers (install) the service \"rdm-agent\", which runs\n"
     "`rdm-agent --config FILE run` at boot and restarts it after a failure;\n"
     "start, stop (a clean stop within seconds), status, uninstall (configuration\n"
     "and data stay). Run as an administrator. On Linux the package's systemd unit\n"
     "does this: the command says so and exits 2.",
     cmd_service},
    {"version", "", "print the version, git revision and library versions", NULL, cmd_version},
    {"help", "[COMMAND]", "print this help, or a command's", NULL, NULL},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: rdm-agent [--config FILE] [--portable] [-q|--quiet] [-v|--verbose] "
                 "COMMAND [options]\n"
                 "\ncommands (`rdm-agent help COMMAND` for one):\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fprintf(out, "  %-16s %s%s\n", commands[i].name, commands[i].summary,
                commands[i].run || strcmp(commands[i].name, "help") == 0 ? "" : " (not built yet)");
    }
    fprintf(out, "\nconfiguration: --config FILE, else $RDM_AGENT_CONFIG, else ./rdm-agent.ini,\n"
                 "else the system file; every key can be overridden by RDM_<SECTION>_<KEY>.\n"
                 "exit codes: 0 success, 1 runtime failure, 2 usage or configuration error\n"
                 "(and commands not built yet), 3 store busy.\n");
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void command_help(const command *c, FILE *out)
{
    fprintf(out, "usage: rdm-agent %s %s\n\n%s.\n", c->name, c->args, c->summary);
    if (c->help)
        fprintf(out, "\n%s\n", c->help);
    if (!c->run && strcmp(c->name, "help") != 0)
        fprintf(out, "\nThis command is not built yet in rdm-agent %s: it exits with code 2.\n",
                RDM_VERSION);
}

static void print_diag(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level == 0)
        log_error("%s", msg);
    else
        log_warn("%s", msg);
}

/* Portable mode (--portable, or a file "rdm-agent.portable" beside the
 * binary: a USB stick): the configuration is rdm-agent.ini beside the
 * binary, and with it (relative paths) the profiles, the data and the log. */
static rdm_rc portable_config(cli_ctx *ctx, rdm_err *err)
{
    static char path[4096];
    char dir[4096], marker[4096];
    if (ctx->config_opt || plat_exe_dir(dir, sizeof dir))
        return RDM_OK;
    if (!ctx->portable &&
        (plat_join(dir, "rdm-agent.portable", marker, sizeof marker) || !plat_exists(marker)))
        return RDM_OK;
    if (plat_join(dir, "rdm-agent.ini", path, sizeof path))
        return rdm_fail(err, RDM_ERR_CONFIG, "portable: the folder %s has too long a name", dir);
    if (!plat_exists(path))
        return rdm_fail(err, RDM_ERR_CONFIG,
                        "portable mode: %s not found; put the configuration beside the binary "
                        "(rdm-agent config defaults > rdm-agent.ini makes one)",
                        path);
    ctx->config_opt = path;
    return RDM_OK;
}

rdm_rc cli_load_config(cli_ctx *ctx, rdm_err *err)
{
    char path[4096];
    rdm_rc rc;

    if (ctx->cfg_loaded)
        return RDM_OK;
    if ((rc = portable_config(ctx, err)) ||
        (rc = cfg_find_path(ctx->config_opt, path, sizeof path, err)))
        return rc;
    rc = cfg_load(&ctx->cfg, path, print_diag, NULL, err);
    ctx->cfg_loaded = 1;
    if (rc == RDM_ERR_CONFIG && ctx->cfg.errors > 0)
        return rdm_fail(err, rc, "%s: %d error(s) in the configuration (above); nothing was done",
                        *path ? path : "built-in defaults and environment", ctx->cfg.errors);
    if (rc)
        return rc;
    if (!ctx->quiet && !ctx->verbose)
        log_set_level((log_level)log_level_parse(cfg_str(&ctx->cfg, CFG_LOG_LEVEL)));
    if (*cfg_str(&ctx->cfg, CFG_LOG_FILE) &&
        (rc = log_open_file(cfg_str(&ctx->cfg, CFG_LOG_FILE), err)))
        return rc;
    if (!plat_utf8_paths()) {
        const char *names[] = {path, cfg_str(&ctx->cfg, CFG_DATA_DIR),
                               cfg_str(&ctx->cfg, CFG_DUMP_DIR)};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            for (const unsigned char *c = (const unsigned char *)names[i]; *c; c++)
                if (*c >= 0x80) {
                    log_warn("this Windows does not run programs in UTF-8 (it is older than "
                             "Windows 10 version 1903): a folder name with letters outside "
                             "English ones, as in %s, is misread; use a folder with an English "
                             "name",
                             names[i]);
                    return RDM_OK;
                }
    }
    return RDM_OK;
}

rdm_rc cli_reload(cli_ctx *ctx, profile *p, rdm_err *err)
{
    char path[4096];
    rdm_config nc;
    profile np = {0};
    rdm_rc rc;
    memset(&nc, 0, sizeof nc);
    if ((rc = cfg_find_path(ctx->config_opt, path, sizeof path, err)))
        return rc;
    rc = cfg_load(&nc, path, print_diag, NULL, err);
    if (rc == RDM_ERR_CONFIG && nc.errors > 0)
        rdm_fail(err, rc, "%s: %d error(s) in the new configuration (above)", path, nc.errors);
    if (!rc) {
        /* the new profile, read with the new configuration */
        rdm_config old = ctx->cfg;
        ctx->cfg = nc;
        rc = cli_load_profile(ctx, NULL, &np, err);
        ctx->cfg = old;
    }
    if (rc) {
        cfg_free(&nc);
        return rc;
    }
    if (strcmp(cfg_str(&nc, CFG_DATA_DIR), cfg_str(&ctx->cfg, CFG_DATA_DIR)) != 0)
        log_warn("[agent] DATA_DIR changed to %s: the running service keeps %s until it is "
                 "restarted",
                 cfg_str(&nc, CFG_DATA_DIR), cfg_str(&ctx->cfg, CFG_DATA_DIR));
    cfg_free(&ctx->cfg);
    ctx->cfg = nc;
    profile_free(p);
    *p = np;
    if (!ctx->quiet && !ctx->verbose)
        log_set_level((log_level)log_level_parse(cfg_str(&ctx->cfg, CFG_LOG_LEVEL)));
    return RDM_OK;
}

rdm_rc cli_open_store(cli_ctx *ctx, store **st, int *from_version, rdm_err *err)
{
    const char *dir = cfg_str(&ctx->cfg, CFG_DATA_DIR);
    char path[4096];
    rdm_rc rc;

    if ((rc = plat_mkdirs(dir, err)))
        return rc;
    if (plat_join(dir, STORE_FILE, path, sizeof path))
        return rdm_fail(err, RDM_ERR_CONFIG, "[agent] DATA_DIR is too long");
    return store_open(path, STORE_CREATE | STORE_MIGRATE, BUSY_MS, st, from_version, err);
}

rdm_rc cli_load_profile(cli_ctx *ctx, const char *spec, profile *p, rdm_err *err)
{
    char dirs[16384];
    const char *env = getenv("RDM_PROFILE_PATH");
    char own[4096];
    if (plat_join(ctx->cfg.base_dir, "profiles", own, sizeof own))
        own[0] = '\0';
    /* $RDM_PROFILE_PATH, then profiles/ beside the configuration, then the
     * installed share folder, then the source tree this binary was built
     * from (for running from a build directory) */
    char exe[2048], rel[4096] = "";
    /* and share/rdm-agent/profiles beside the binary's folder (an installed
     * Windows build, wherever it was installed) */
    if (plat_exe_dir(exe, sizeof exe) == 0)
        snprintf(rel, sizeof rel, "%s%c..%cshare%crdm-agent%cprofiles", exe, PLAT_SEP, PLAT_SEP,
                 PLAT_SEP, PLAT_SEP);
    int w = snprintf(dirs, sizeof dirs, "%s%s%s%c%s%c%s%c%s", env && *env ? env : "",
                     env && *env ? (PLAT_LIST_SEP == ';' ? ";" : ":") : "", own, PLAT_LIST_SEP,
                     RDM_SHARE_PROFILES, PLAT_LIST_SEP, rel, PLAT_LIST_SEP, RDM_SOURCE_PROFILES);
    if (w < 0 || (size_t)w >= sizeof dirs)
        return rdm_fail(err, RDM_ERR_CONFIG,
                        "RDM_PROFILE_PATH and the profile folders are too long");
    rdm_rc rc = profile_load(p, spec ? spec : cfg_str(&ctx->cfg, CFG_PROFILE), ctx->cfg.base_dir,
                             dirs, err);
    /* a broken profile is a configuration error (exit 2), not bad data */
    return rc == RDM_ERR_PARSE ? RDM_ERR_CONFIG : rc;
}

int cli_main(int argc, char **argv)
{
    cli_ctx ctx;
    char *rest[256];
    int nrest = 0;
    rdm_err err;
    rdm_rc rc;

    memset(&ctx, 0, sizeof ctx);
    rdm_err_clear(&err);
    /* global options may stand anywhere before "--" */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "rdm-agent: %s needs a file name\n", a);
                return 2;
            }
            ctx.config_opt = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            ctx.config_opt = a + 9;
        } else if (strcmp(a, "--portable") == 0) {
            ctx.portable = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            ctx.quiet = 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            ctx.verbose = 1;
        } else if (nrest < (int)(sizeof rest / sizeof rest[0]) - 1) {
            rest[nrest++] = argv[i];
        } else {
            fprintf(stderr, "rdm-agent: too many arguments\n");
            return 2;
        }
    }
    rest[nrest] = NULL;
    if (ctx.quiet)
        log_set_level(LOG_ERROR);
    if (ctx.verbose)
        log_set_level(LOG_DEBUG);
    if (nrest == 0) {
        usage(stderr);
        return 2;
    }
    if (strcmp(rest[0], "help") == 0 || strcmp(rest[0], "--help") == 0 ||
        strcmp(rest[0], "-h") == 0) {
        if (nrest > 1) {
            const command *c = find_command(rest[1]);
            if (!c) {
                fprintf(stderr, "rdm-agent: unknown command '%s'; see `rdm-agent help`\n", rest[1]);
                return 2;
            }
            command_help(c, stdout);
            return 0;
        }
        usage(stdout);
        return 0;
    }
    if (strcmp(rest[0], "--version") == 0)
        rest[0] = "version";
    const command *c = find_command(rest[0]);
    if (!c) {
        fprintf(stderr, "rdm-agent: unknown %s '%s'; see `rdm-agent help`\n",
                rest[0][0] == '-' ? "option" : "command", rest[0]);
        return 2;
    }
    for (int i = 1; i < nrest; i++)
        if (strcmp(rest[i], "--help") == 0 || strcmp(rest[i], "-h") == 0) {
            command_help(c, stdout);
            return 0;
        }
    if (!c->run) {
        fprintf(stderr, "rdm-agent: '%s' is not built yet in rdm-agent %s; nothing was done.\n",
                c->name, RDM_VERSION);
        return rdm_rc_exit(RDM_ERR_NOT_BUILT);
    }
    ctx.argc = nrest;
    ctx.argv = rest;
    rc = c->run(&ctx, &err);
    if (rc && err.msg[0])
        log_error("%s", err.msg);
    if (ctx.cfg_loaded)
        cfg_free(&ctx.cfg);
    log_close();
    return rdm_rc_exit(rc);
}
