/* config.c - see config.h. */
#include "config.h"
#include "../base/plat.h"
#include "../base/text.h"
#include "cron.h"
#include "ini.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_MAX_FILE (1024 * 1024)

typedef struct key_def {
    const char *section, *key;
    cfg_type type;
    const char *def;
    long long min, max;
    int flags;
    const char *doc;
} key_def;

static const key_def defs[CFG_COUNT] = {
#define X(id, sec, key, type, def, mn, mx, fl, doc) {sec, key, type, def, mn, mx, fl, doc},
    RDM_CONFIG_KEYS(X)
#undef X
};

/* Spellings accepted for enum values, mapped to the canonical one. */
static const struct {
    cfg_id id;
    const char *alias, *canon;
} enum_aliases[] = {
    {CFG_ENCODING, "utf8", "utf-8"},
    {CFG_ENCODING, "cp-1251", "cp1251"},
    {CFG_ENCODING, "windows-1251", "cp1251"},
    {CFG_DELIMITER, "semicolon", ";"},
    {CFG_DELIMITER, "comma", ","},
    {CFG_LOG_LEVEL, "warn", "warning"},
};

const char *cfg_section(cfg_id id)
{
    return defs[id].section;
}

const char *cfg_key(cfg_id id)
{
    return defs[id].key;
}

const char *cfg_str(const rdm_config *cfg, cfg_id id)
{
    return cfg->v[id].text ? cfg->v[id].text : "";
}

long long cfg_int(const rdm_config *cfg, cfg_id id)
{
    return cfg->v[id].num;
}

int cfg_bool(const rdm_config *cfg, cfg_id id)
{
    return cfg->v[id].num != 0;
}

uint64_t cfg_bits(const rdm_config *cfg, cfg_id id)
{
    return cfg->v[id].bits;
}

/* ---- value parsing (pure) ---- */

/* Python int() with PEP 515 underscores: [+-]digits with single '_'
 * between digits. */
static int parse_int(const char *s, long long *out)
{
    int neg = 0, digits = 0;
    unsigned long long v = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    for (; *s; s++) {
        if (*s == '_') {
            if (!digits || !isdigit((unsigned char)s[1]))
                return -1;
            continue;
        }
        if (!isdigit((unsigned char)*s))
            return -1;
        if (v > (unsigned long long)(9223372036854775807LL - 9) / 10)
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
        digits++;
    }
    if (!digits)
        return -1;
    *out = neg ? -(long long)v : (long long)v;
    return 0;
}

static int parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};
    for (int i = 0; i < 4; i++) {
        if (text_ieq(s, yes[i]))
            return 1;
        if (text_ieq(s, no[i]))
            return 0;
    }
    return -1;
}

static int is_quoted(const char *s)
{
    size_t n = strlen(s);
    return n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0];
}

static const char *quote_hint(const char *s)
{
    return is_quoted(s) ? " (remove the quotes: INI values are taken literally)" : "";
}

/* Parses raw for key id into *val (text replaced). Fills err with the
 * reason (without location) on failure. */
static rdm_rc parse_value(cfg_id id, const char *raw, const char *base_dir, cfg_value *val,
                          rdm_err *err)
{
    const key_def *d = &defs[id];
    char buf[4096];
    const char *text = raw;
    long long n = 0;

    switch (d->type) {
    case CFGT_STR:
        if (d->flags & CFG_PATH && *raw && base_dir && !plat_is_abs(raw)) {
            if (plat_join(base_dir, raw, buf, sizeof buf))
                return rdm_fail(err, RDM_ERR_CONFIG, "path too long");
            text = buf;
        }
        break;
    case CFGT_INT:
        if (parse_int(raw, &n))
            return rdm_fail(err, RDM_ERR_CONFIG, "'%s' is not an integer%s", raw, quote_hint(raw));
        if (n < d->min || n > d->max)
            return rdm_fail(err, RDM_ERR_CONFIG, "%lld is out of range (allowed %lld..%lld)", n,
                            d->min, d->max);
        snprintf(buf, sizeof buf, "%lld", n);
        text = buf;
        break;
    case CFGT_BOOL: {
        int b = parse_bool(raw);
        if (b < 0)
            return rdm_fail(err, RDM_ERR_CONFIG,
                            "'%s' is not a boolean (use True/False, yes/no, on/off, 1/0)%s", raw,
                            quote_hint(raw));
        n = b;
        text = b ? "True" : "False";
        break;
    }
    case CFGT_CRON_MIN:
    case CFGT_CRON_HOUR:
    case CFGT_CRON_DOW: {
        cron_field f = d->type == CFGT_CRON_MIN    ? CRON_MINUTE
                       : d->type == CFGT_CRON_HOUR ? CRON_HOUR
                                                   : CRON_DAY_OF_WEEK;
        uint64_t bits = 0;
        rdm_rc rc = cron_parse_field(f, raw, &bits, err);
        if (rc)
            return rc;
        val->bits = bits;
        break;
    }
    case CFGT_ENUM: {
        const char *list = d->doc, *end = strstr(d->doc, ": ");
        size_t nalias = sizeof enum_aliases / sizeof enum_aliases[0];
        text = NULL;
        for (size_t i = 0; i < nalias && !text; i++)
            if (enum_aliases[i].id == id && text_ieq(raw, enum_aliases[i].alias))
                text = enum_aliases[i].canon;
        while (!text && list < end) {
            const char *bar = memchr(list, '|', (size_t)(end - list));
            size_t len = (size_t)((bar ? bar : end) - list);
            if (len < sizeof buf && strlen(raw) == len) {
                memcpy(buf, list, len);
                buf[len] = '\0';
                if (text_ieq(buf, raw))
                    text = buf;
            }
            list += len + 1;
        }
        if (!text)
            return rdm_fail(err, RDM_ERR_CONFIG, "'%s' is not one of %.*s%s", raw,
                            (int)(end - d->doc), d->doc, quote_hint(raw));
        break;
    }
    case CFGT_LIST:
    case CFGT_INTLIST: {
        size_t o = 0;
        const char *p = raw;
        buf[0] = '\0';
        if (!*raw)
            break;
        for (;;) {
            const char *comma = strchr(p, ',');
            const char *s = p, *e = comma ? comma : p + strlen(p);
            char item[128];
            while (s < e && isspace((unsigned char)*s))
                s++;
            while (e > s && isspace((unsigned char)e[-1]))
                e--;
            if (s == e)
                return rdm_fail(err, RDM_ERR_CONFIG, "empty item in the list '%s'", raw);
            if ((size_t)(e - s) >= sizeof item)
                return rdm_fail(err, RDM_ERR_CONFIG, "item too long in '%s'", raw);
            memcpy(item, s, (size_t)(e - s));
            item[e - s] = '\0';
            if (d->type == CFGT_LIST) {
                for (const char *c = item; *c; c++)
                    if (!isalnum((unsigned char)*c) && *c != '_')
                        return rdm_fail(err, RDM_ERR_CONFIG,
                                        "'%s' is not a name (letters, digits, _)%s", item,
                                        quote_hint(raw));
            } else {
                if (parse_int(item, &n) || n < d->min || n > d->max)
                    return rdm_fail(err, RDM_ERR_CONFIG, "'%s' is not an HTTP code (%lld..%lld)",
                                    item, d->min, d->max);
            }
            int w = snprintf(buf + o, sizeof buf - o, "%s%s", o ? "," : "", item);
            if (w < 0 || (size_t)w >= sizeof buf - o)
                return rdm_fail(err, RDM_ERR_CONFIG, "list too long");
            o += (size_t)w;
            if (!comma)
                break;
            p = comma + 1;
        }
        text = buf;
        break;
    }
    case CFGT_URL: {
        const char *rest = NULL;
        if (strncmp(raw, "http://", 7) == 0 || strncmp(raw, "HTTP://", 7) == 0)
            rest = raw + 7;
        else if (strncmp(raw, "https://", 8) == 0 || strncmp(raw, "HTTPS://", 8) == 0)
            rest = raw + 8;
        if (!rest || !*rest || *rest == '/' || strpbrk(raw, " \t\n"))
            return rdm_fail(err, RDM_ERR_CONFIG,
                            "'%s' is not an address like http://host:port or https://host%s", raw,
                            quote_hint(raw));
        break;
    }
    }
    char *copy = text_dup(text);
    if (!copy)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    free(val->text);
    val->text = copy;
    val->num = n;
    return RDM_OK;
}

/* ---- loading ---- */

typedef struct seen_section {
    char name[64];
    int line;
} seen_section;

typedef struct load_state {
    rdm_config *cfg;
    const char *name; /* file name for messages */
    cfg_diag_fn diag;
    void *ud;
    rdm_err first;         /* first error */
    const char *section;   /* canonical current section, NULL = ignored */
    char raw_section[64];  /* as written */
    seen_section seen[32]; /* for duplicate section detection */
    int nseen;
    /* [DEFAULT]'s keys: configparser gives them to every section of the
     * file that does not set them (applied once the file is read) */
    int in_default;
    struct {
        char *key, *value;
        int line;
    } defaults[64];
    int ndefaults;
} load_state;

static void report(load_state *ls, int level, const char *fmt, ...) RDM_PRINTF(3, 4);

static void report(load_state *ls, int level, const char *fmt, ...)
{
    char msg[RDM_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (level == 0) {
        if (!ls->cfg->errors++)
            snprintf(ls->first.msg, sizeof ls->first.msg, "%s", msg);
    } else {
        ls->cfg->warnings++;
    }
    if (ls->diag)
        ls->diag(ls->ud, level, msg);
}

static const char *canonical_section(const char *name)
{
    for (int i = 0; i < CFG_COUNT; i++)
        if (strcmp(defs[i].section, name) == 0)
            return defs[i].section;
    return NULL;
}

static int find_key(const char *section, const char *key)
{
    for (int i = 0; i < CFG_COUNT; i++)
        if (strcmp(defs[i].section, section) == 0 && text_ieq(defs[i].key, key))
            return i;
    /* the product's settings.py reads STAGE_TIMEOUT under the name TIMEDELTA */
    if (strcmp(section, "rdm_check_suspend_task") == 0 && text_ieq(key, "TIMEDELTA"))
        return CFG_SUSPEND_STAGE_TIMEOUT;
    return -1;
}

static rdm_rc on_entry(void *ud, const ini_entry *e, rdm_err *err)
{
    load_state *ls = ud;
    rdm_config *cfg = ls->cfg;
    (void)err;

    if (!e->key) {
        snprintf(ls->raw_section, sizeof ls->raw_section, "%s", e->section);
        for (int i = 0; i < ls->nseen; i++)
            if (strcmp(ls->seen[i].name, e->section) == 0) {
                report(ls, 0, "%s:%d: section [%s] appears twice (first at line %d); merge them",
                       ls->name, e->line, e->section, ls->seen[i].line);
                ls->section = NULL;
                return RDM_OK;
            }
        if (ls->nseen < (int)(sizeof ls->seen / sizeof ls->seen[0])) {
            snprintf(ls->seen[ls->nseen].name, sizeof ls->seen[0].name, "%s", e->section);
            ls->seen[ls->nseen++].line = e->line;
        }
        ls->in_default = strcmp(e->section, "DEFAULT") == 0;
        if (ls->in_default) {
            ls->section = NULL;
        } else if (strcmp(e->section, "rmd_general") == 0) {
            report(ls, 1,
                   "%s:%d: section [rmd_general] is the product sample's misspelling of "
                   "[rdm_general]; accepted as [rdm_general]",
                   ls->name, e->line);
            ls->section = "rdm_general";
        } else if ((ls->section = canonical_section(e->section)) == NULL) {
            report(ls, 1, "%s:%d: unknown section [%s]; its keys are ignored", ls->name, e->line,
                   e->section);
        }
        return RDM_OK;
    }
    if (ls->in_default) {
        /* a key of no section here (a name for %(...)s) is no mistake */
        if (ls->ndefaults < (int)(sizeof ls->defaults / sizeof ls->defaults[0])) {
            int k = ls->ndefaults;
            ls->defaults[k].key = text_dup(e->key);
            ls->defaults[k].value = text_dup(e->value);
            ls->defaults[k].line = e->line;
            if (!ls->defaults[k].key || !ls->defaults[k].value)
                return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
            ls->ndefaults++;
        }
        return RDM_OK;
    }
    if (!ls->section)
        return RDM_OK;
    int id = find_key(ls->section, e->key);
    if (id < 0) {
        report(ls, 1, "%s:%d: [%s] unknown key %s; ignored", ls->name, e->line, ls->raw_section,
               e->key);
        return RDM_OK;
    }
    cfg_value *v = &cfg->v[id];
    if (v->origin == CFG_FROM_FILE) {
        /* the product reads the check-suspend timeout as TIMEDELTA: with
         * both spellings, that one counts, as it does for the product */
        int td = text_ieq(e->key, "TIMEDELTA");
        if (id == CFG_SUSPEND_STAGE_TIMEOUT && td && !v->timedelta) {
            report(ls, 1,
                   "%s:%d: [%s] TIMEDELTA and STAGE_TIMEOUT (line %d) are both set; "
                   "TIMEDELTA counts, as for the product",
                   ls->name, e->line, ls->raw_section, v->line);
        } else if (id == CFG_SUSPEND_STAGE_TIMEOUT && !td && v->timedelta) {
            report(ls, 1,
                   "%s:%d: [%s] STAGE_TIMEOUT and TIMEDELTA (line %d) are both set; "
                   "TIMEDELTA counts, as for the product",
                   ls->name, e->line, ls->raw_section, v->line);
            return RDM_OK;
        } else {
            report(ls, 0, "%s:%d: [%s] %s is already set at line %d; keep one", ls->name, e->line,
                   ls->raw_section, e->key, v->line);
            return RDM_OK;
        }
    }
    if (!*e->value && defs[id].type != CFGT_STR && defs[id].type != CFGT_LIST &&
        defs[id].type != CFGT_INTLIST) {
        report(ls, 1, "%s:%d: [%s] %s is empty; the default %s applies", ls->name, e->line,
               ls->raw_section, e->key, defs[id].def);
        return RDM_OK;
    }
    rdm_err why;
    rdm_rc rc = parse_value((cfg_id)id, e->value, cfg->base_dir, v, &why);
    if (rc == RDM_ERR_NOMEM)
        return rdm_fail(err, rc, "out of memory");
    if (rc) {
        report(ls, 0, "%s:%d: [%s] %s: %s", ls->name, e->line, ls->raw_section, e->key, why.msg);
        return RDM_OK;
    }
    if (is_quoted(e->value) && defs[id].type == CFGT_STR)
        report(ls, 1, "%s:%d: [%s] %s: the quotes are part of the value, as in the product",
               ls->name, e->line, ls->raw_section, e->key);
    v->origin = CFG_FROM_FILE;
    v->line = e->line;
    v->timedelta = id == CFG_SUSPEND_STAGE_TIMEOUT && text_ieq(e->key, "TIMEDELTA");
    return RDM_OK;
}

/* [DEFAULT]'s keys, to the file's sections that did not set them. */
static rdm_rc apply_defaults(load_state *ls, rdm_err *err)
{
    rdm_rc rc = RDM_OK;
    for (int d = 0; d < ls->ndefaults && !rc; d++)
        for (int i = 0; i < ls->nseen && !rc; i++) {
            const char *raw = ls->seen[i].name;
            const char *sec =
                strcmp(raw, "rmd_general") == 0 ? "rdm_general" : canonical_section(raw);
            int id = sec ? find_key(sec, ls->defaults[d].key) : -1;
            if (id < 0 || ls->cfg->v[id].origin == CFG_FROM_FILE)
                continue;
            ini_entry e = {ls->defaults[d].line, raw, ls->defaults[d].key, ls->defaults[d].value};
            ls->section = sec;
            ls->in_default = 0;
            snprintf(ls->raw_section, sizeof ls->raw_section, "DEFAULT] for [%.48s", raw);
            rc = on_entry(ls, &e, err);
        }
    return rc;
}

static void env_name(cfg_id id, int shortform, char *buf, size_t n)
{
    const char *sec = defs[id].section;
    size_t o;
    if (shortform) {
        if (strncmp(sec, "rdm_", 4) != 0) {
            buf[0] = '\0';
            return;
        }
        sec += 4;
    }
    snprintf(buf, n, "RDM_%s_%s", sec, defs[id].key);
    for (o = 0; buf[o]; o++)
        buf[o] = (char)toupper((unsigned char)buf[o]);
}

static rdm_rc apply_env(load_state *ls)
{
    rdm_config *cfg = ls->cfg;
    for (int id = 0; id < CFG_COUNT; id++) {
        char name[96];
        const char *val = NULL;
        for (int sf = 0; sf < 2 && !val; sf++) {
            env_name((cfg_id)id, sf, name, sizeof name);
            if (name[0])
                val = getenv(name);
        }
        if (!val)
            continue;
        if (!*val && defs[id].type != CFGT_STR && defs[id].type != CFGT_LIST &&
            defs[id].type != CFGT_INTLIST) {
            report(ls, 1, "environment %s is empty; ignored", name);
            continue;
        }
        rdm_err why;
        cfg_value *v = &cfg->v[id];
        /* environment paths are relative to the working directory */
        rdm_rc rc = parse_value((cfg_id)id, val, ".", v, &why);
        if (rc == RDM_ERR_NOMEM)
            return rc;
        if (rc) {
            report(ls, 0, "environment %s ([%s] %s): %s", name, defs[id].section, defs[id].key,
                   why.msg);
            continue;
        }
        v->origin = CFG_FROM_ENV;
        snprintf(v->env, sizeof v->env, "%s", name);
    }
    return RDM_OK;
}

static void post_checks(load_state *ls)
{
    rdm_config *cfg = ls->cfg;
    if (!*cfg_str(cfg, CFG_EXPORT_ENTITY_ID_PREFIX))
        report(ls, 1,
               "[rdm_general] EXPORT_ENTITY_ID_PREFIX is empty: record keys will carry no "
               "installation prefix; set it to the value of the product's settings.py");
    /* secrets over plain HTTP: the proxy API's password and token, or a
     * password in the URL itself, readable on the way */
    const char *url = cfg_str(cfg, CFG_URL);
    if (strncmp(url, "http://", 7) == 0 && !cfg_bool(cfg, CFG_ENABLE_REQUEST_EMULATION)) {
        const char *host = url + 7, *at = strchr(host, '@');
        if (cfg_bool(cfg, CFG_USE_PROXY_API) || (at && memchr(host, ':', (size_t)(at - host))))
            report(ls, 1,
                   "[uploader_client] URL is http://: the %s go%s over the network unencrypted; "
                   "use https://",
                   cfg_bool(cfg, CFG_USE_PROXY_API) ? "proxy API's password and token"
                                                    : "password in the URL",
                   cfg_bool(cfg, CFG_USE_PROXY_API) ? "" : "es");
    }
    if (!cfg_bool(cfg, CFG_VERIFY_TLS))
        report(ls, 1,
               "[uploader_client] VERIFY_TLS is False: the datamart's certificate is NOT "
               "checked; anyone on the network path can read and alter what is sent");
    if (cfg_bool(cfg, CFG_USE_PROXY_API)) {
        static const cfg_id need[] = {CFG_USERNAME, CFG_PASSWORD, CFG_ORGANIZATION_OGRN,
                                      CFG_INSTALLATION_NAME, CFG_INSTALLATION_ID};
        for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
            if (!*cfg_str(cfg, need[i]))
                report(ls, cfg_bool(cfg, CFG_ENABLE_REQUEST_EMULATION) ? 1 : 0,
                       "[uploader_client] USE_PROXY_API is True but %s is empty",
                       defs[need[i]].key);
    }
    if (*cfg_str(cfg, CFG_CLIENT_KEY) && !*cfg_str(cfg, CFG_CLIENT_CERT))
        report(ls, 0, "[uploader_client] CLIENT_KEY is set but CLIENT_CERT is not");
}

static rdm_rc load(rdm_config *cfg, const char *name, const char *text, size_t len,
                   cfg_diag_fn diag, void *ud, rdm_err *err)
{
    load_state ls = {0};
    char dir[4096];
    rdm_rc rc;
    int syntax = 0;

    memset(cfg, 0, sizeof *cfg);
    ls.cfg = cfg;
    ls.name = name ? name : "(defaults)";
    ls.diag = diag;
    ls.ud = ud;
    if (name && plat_dirname(name, dir, sizeof dir) == 0)
        cfg->base_dir = text_dup(dir);
    else
        cfg->base_dir = text_dup(".");
    if (name && !(cfg->path = text_dup(name)))
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    if (!cfg->base_dir)
        return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
    for (int id = 0; id < CFG_COUNT; id++) {
        rdm_err why;
        rc = parse_value((cfg_id)id, defs[id].def, cfg->base_dir, &cfg->v[id], &why);
        if (rc)
            return rdm_fail(err, rc == RDM_ERR_NOMEM ? rc : RDM_ERR_INTERNAL,
                            "built-in default of %s: %s", defs[id].key, why.msg);
    }
    if (text) {
        rdm_err perr;
        rdm_err_clear(&perr);
        rc = ini_parse(text, len, on_entry, &ls, &perr);
        if (!rc)
            rc = apply_defaults(&ls, &perr);
        for (int d = 0; d < ls.ndefaults; d++) {
            free(ls.defaults[d].key);
            free(ls.defaults[d].value);
        }
        if (rc == RDM_ERR_NOMEM)
            return rdm_fail(err, rc, "out of memory reading %s", ls.name);
        if (rc)
            report(&ls, 0, "%s: %s", ls.name, perr.msg);
        /* the file was read only up to a syntax error: what the checks
         * across keys would find missing may be set further down */
        syntax = rc != RDM_OK;
    }
    if ((rc = apply_env(&ls)))
        return rdm_fail(err, rc, "out of memory");
    if (!syntax)
        post_checks(&ls);
    if (cfg->errors)
        return rdm_fail(err, RDM_ERR_CONFIG, "%s", ls.first.msg);
    return RDM_OK;
}

rdm_rc cfg_load_buffer(rdm_config *cfg, const char *name, const char *text, size_t len,
                       cfg_diag_fn diag, void *ud, rdm_err *err)
{
    return load(cfg, name, text, len, diag, ud, err);
}

rdm_rc cfg_load(rdm_config *cfg, const char *path, cfg_diag_fn diag, void *ud, rdm_err *err)
{
    char *text = NULL;
    size_t len = 0;
    rdm_rc rc;

    if (!path || !*path)
        return load(cfg, NULL, NULL, 0, diag, ud, err);
    memset(cfg, 0, sizeof *cfg);
    rc = plat_read_file(path, CFG_MAX_FILE, &text, &len, err);
    if (rc)
        return rc == RDM_ERR_NOMEM ? rc : RDM_ERR_CONFIG;
    rc = load(cfg, path, text, len, diag, ud, err);
    free(text);
    return rc;
}

void cfg_free(rdm_config *cfg)
{
    for (int id = 0; id < CFG_COUNT; id++)
        free(cfg->v[id].text);
    free(cfg->path);
    free(cfg->base_dir);
    memset(cfg, 0, sizeof *cfg);
}

rdm_rc cfg_find_path(const char *explicit_path, char *buf, size_t n, rdm_err *err)
{
    const char *env = getenv("RDM_AGENT_CONFIG");
    buf[0] = '\0';
    if (explicit_path) {
        if (!plat_exists(explicit_path))
            return rdm_fail(err, RDM_ERR_CONFIG, "configuration file %s (from --config) not found",
                            explicit_path);
        snprintf(buf, n, "%s", explicit_path);
    } else if (env && *env) {
        if (!plat_exists(env))
            return rdm_fail(err, RDM_ERR_CONFIG,
                            "configuration file %s (from RDM_AGENT_CONFIG) not found", env);
        snprintf(buf, n, "%s", env);
    } else if (plat_exists("rdm-agent.ini")) {
        snprintf(buf, n, "rdm-agent.ini");
    } else {
        char sys[1024];
        if (plat_system_config(sys, sizeof sys) == 0 && plat_exists(sys))
            snprintf(buf, n, "%s", sys);
    }
    return RDM_OK;
}

/* ---- display ---- */

/* Masks the password of a libpq DSN: after "password=" in the key=value
 * form, and in a URI both in its user part (scheme://user:password@host)
 * and in its query (?password=... or &password=...). */
static void mask_dsn(const char *in, char *out, size_t n)
{
    size_t o = 0;
    const char *p = in;
    const char *at = strchr(in, '@'), *sch = strstr(in, "://");
    int uri = sch != NULL;
    out[0] = '\0';
    if (sch && at && at > sch) {
        const char *colon = memchr(sch + 3, ':', (size_t)(at - sch - 3));
        if (colon) {
            int w = snprintf(out, n, "%.*s:********", (int)(colon - in), in);
            if (w < 0 || (size_t)w >= n)
                return;
            o = (size_t)w;
            p = at;
        }
    }
    while (*p && o + 1 < n) {
        int start =
            p == in || isspace((unsigned char)p[-1]) || (uri && (p[-1] == '?' || p[-1] == '&'));
        if (start && strncmp(p, "password", 8) == 0) {
            const char *q = p + 8;
            while (*q == ' ')
                q++;
            if (*q == '=') {
                q++;
                while (*q == ' ')
                    q++;
                if (uri) {
                    while (*q && *q != '&' && *q != '#')
                        q++;
                } else if (*q == '\'') {
                    for (q++; *q && *q != '\''; q++)
                        if (*q == '\\' && q[1])
                            q++;
                    if (*q)
                        q++;
                } else {
                    while (*q && !isspace((unsigned char)*q))
                        q++;
                }
                int w = snprintf(out + o, n - o, "password=********");
                if (w < 0 || (size_t)w >= n - o)
                    break;
                o += (size_t)w;
                p = q;
                continue;
            }
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}

void cfg_display(const rdm_config *cfg, cfg_id id, char *buf, size_t n)
{
    const char *t = cfg_str(cfg, id);
    if (defs[id].flags & CFG_SECRET)
        snprintf(buf, n, "%s", *t ? "********" : "");
    else if (defs[id].flags & CFG_MASK_DSN || defs[id].type == CFGT_URL)
        mask_dsn(t, buf, n);
    else
        snprintf(buf, n, "%s", t);
}

void cfg_print(const rdm_config *cfg, FILE *out)
{
    const char *sec = NULL;
    if (cfg->path)
        fprintf(out, "# configuration file: %s\n", cfg->path);
    else
        fprintf(out, "# no configuration file found: built-in defaults and environment\n");
    for (int id = 0; id < CFG_COUNT; id++) {
        char val[1024], origin[160];
        const cfg_value *v = &cfg->v[id];
        if (!sec || strcmp(sec, defs[id].section) != 0) {
            sec = defs[id].section;
            fprintf(out, "\n[%s]\n", sec);
        }
        cfg_display(cfg, (cfg_id)id, val, sizeof val);
        if (v->origin == CFG_FROM_FILE)
            snprintf(origin, sizeof origin, "%s:%d", cfg->path, v->line);
        else if (v->origin == CFG_FROM_ENV)
            snprintf(origin, sizeof origin, "environment %s", v->env);
        else
            snprintf(origin, sizeof origin, "default");
        fprintf(out, "%-31s = %-34s # %s\n", defs[id].key, val, origin);
    }
}

void cfg_print_defaults(FILE *out)
{
    const char *sec = NULL;
    fprintf(out, "# rdm-agent: файл настроек / configuration file.\n"
                 "# Every key is shown commented out with its built-in default; uncomment to "
                 "change.\n"
                 "# The product's sections can be copied here unchanged. Each key can be\n"
                 "# overridden by the environment variable RDM_<SECTION>_<KEY>.\n"
                 "# Generated by `rdm-agent config defaults`.\n");
    for (int id = 0; id < CFG_COUNT; id++) {
        if (!sec || strcmp(sec, defs[id].section) != 0) {
            sec = defs[id].section;
            fprintf(out, "\n[%s]\n", sec);
        }
        const char *doc = defs[id].doc;
        if (defs[id].type == CFGT_ENUM)
            fprintf(out, "# %s (%.*s)\n", strstr(doc, ": ") + 2, (int)(strstr(doc, ": ") - doc),
                    doc);
        else
            fprintf(out, "# %s\n", doc);
        fprintf(out, "# %s =%s%s\n", defs[id].key, *defs[id].def ? " " : "", defs[id].def);
    }
}
