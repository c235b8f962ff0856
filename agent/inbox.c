/* inbox.c - see inbox.h. */
#include "inbox.h"
#include "../base/log.h"
#include "../base/plat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct entry_list {
    char (*names)[256];
    int n, cap;
} entry_list;

static rdm_rc collect_name(void *ud, const char *name, rdm_err *err)
{
    entry_list *l = ud;
    if (strcmp(name, "done") == 0 || strcmp(name, "rejected") == 0 || name[0] == '.' ||
        strlen(name) >= 256)
        return RDM_OK;
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 32;
        void *nn = realloc(l->names, (size_t)nc * sizeof *l->names);
        if (!nn)
            return rdm_fail(err, RDM_ERR_NOMEM, "out of memory");
        l->names = nn;
        l->cap = nc;
    }
    snprintf(l->names[l->n++], 256, "%s", name);
    return RDM_OK;
}

typedef struct settle {
    const char *dir;
    long long newest;
} settle;

static rdm_rc newest_in(void *ud, const char *name, rdm_err *err)
{
    settle *s = ud;
    char path[4096];
    (void)err;
    if (plat_join(s->dir, name, path, sizeof path) == 0) {
        long long m = plat_mtime(path);
        if (m > s->newest)
            s->newest = m;
    }
    return RDM_OK;
}

/* Moves path into DUMP_DIR/sub/, under a new name if that one is taken. */
static rdm_rc move_to(const char *inbox, const char *sub, const char *name, char *dst, size_t n,
                      rdm_err *err)
{
    char dir[4096], src[4096];
    rdm_rc rc;
    if (plat_join(inbox, sub, dir, sizeof dir) || plat_join(inbox, name, src, sizeof src))
        return rdm_fail(err, RDM_ERR_IO, "path too long in %s", inbox);
    if ((rc = plat_mkdirs(dir, err)))
        return rc;
    for (int i = 0; i < 1000; i++) {
        char alt[300];
        if (i)
            snprintf(alt, sizeof alt, "%s.%d", name, i);
        else
            snprintf(alt, sizeof alt, "%s", name);
        if (plat_join(dir, alt, dst, n))
            return rdm_fail(err, RDM_ERR_IO, "path too long in %s", dir);
        if (!plat_exists(dst))
            return plat_rename(src, dst, err);
    }
    return rdm_fail(err, RDM_ERR_IO, "%s: too many copies of %s", dir, name);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

rdm_rc inbox_run(store *st, const profile *p, const rdm_config *cfg, inbox_stats *s,
                 import_stats *is, rdm_err *err)
{
    const char *inbox = cfg_str(cfg, CFG_DUMP_DIR);
    long long wait = cfg_int(cfg, CFG_INBOX_SETTLE_SECONDS), now = (long long)time(NULL);
    entry_list l = {0};
    rdm_rc rc = RDM_OK;

    memset(s, 0, sizeof *s);
    if (plat_kind(inbox, NULL) != PLAT_DIR)
        return rdm_fail(err, RDM_ERR_CONFIG,
                        "[source] DUMP_DIR %s is not a folder; create it or set DUMP_DIR", inbox);
    if ((rc = plat_listdir(inbox, collect_name, &l, err)))
        goto out;
    /* in name order, not the directory's: sources are applied in the
     * order they land, so of two full dumps the later landed wins */
    if (l.n > 1)
        qsort(l.names, (size_t)l.n, sizeof *l.names, by_name);
    for (int i = 0; i < l.n && !rc; i++) {
        const char *name = l.names[i];
        char path[4096], dst[4096];
        plat_join(inbox, name, path, sizeof path);
        plat_kind_t k = plat_kind(path, NULL);
        if (k != PLAT_DIR && k != PLAT_FILE) {
            log_warn("%s: neither a file nor a folder; left alone", path);
            continue;
        }
        /* imported before, and not moved away then (its rights, a full
         * disk): never again, since a later dump would be undone by it */
        char mark[4096], mname[300];
        snprintf(mname, sizeof mname, ".%s.imported", name);
        if (plat_join(inbox, mname, mark, sizeof mark)) {
            rc = rdm_fail(err, RDM_ERR_IO, "path too long in %s", inbox);
            break;
        }
        if (plat_exists(mark)) {
            log_warn("%s: imported before, but it could not be moved to done/ then (%s says "
                     "why); it is left alone: move it away yourself and delete %s",
                     path, mark, mark);
            s->kept++;
            continue;
        }
        /* complete? Nothing in it changed for the settle time: a folder
         * is copied in no set order, so a manifest that is there may
         * have come first (a bundle taken then would be refused for a
         * file still missing, and moved away under the copy) */
        settle se = {path, plat_mtime(path)};
        if (k == PLAT_DIR)
            plat_listdir(path, newest_in, &se, NULL);
        if (now - se.newest < wait) {
            log_info("%s: changed %llds ago; waiting until it has been still for %llds", path,
                     now - se.newest, wait);
            s->waiting++;
            continue;
        }
        static const import_opts o = {0, 0};
        rdm_err e;
        rdm_err_clear(&e);
        rdm_rc r = import_path(st, p, cfg, path, &o, is, &e);
        if (r == RDM_OK) {
            s->imported++;
            if ((rc = move_to(inbox, "done", name, dst, sizeof dst, err))) {
                /* landed, but still here (a folder copied in by root is
                 * not the service's to move): marked, so that the entries
                 * after it go on and it is never imported again */
                plat_wfile *w = NULL;
                char why[RDM_ERR_MAX + 64];
                int n = snprintf(why, sizeof why, "imported; not moved to done/: %s\n", err->msg);
                if (plat_wopen(mark, &w, &e) || plat_write(w, why, (size_t)n, &e)) {
                    plat_wabort(w);
                    break; /* neither: nothing after it goes (as before) */
                }
                if (plat_wcommit(w, &e))
                    break;
                log_error("%s: imported, but not moved to done/ (%s); it stays, marked by %s, "
                          "and is not imported again. Give the service's user the right to move "
                          "what is put in the inbox (e.g. chown -R rdm-agent:rdm-agent on it), "
                          "then move it away and delete the mark",
                          path, err->msg, mark);
                rdm_err_clear(err);
                rc = RDM_OK;
                continue;
            }
            log_info("%s: imported, moved to %s", path, dst);
        } else if (r == RDM_ERR_PARSE || r == RDM_ERR_CONFIG) {
            char reason[4200];
            log_error("%s", e.msg);
            if ((rc = move_to(inbox, "rejected", name, dst, sizeof dst, err))) {
                /* it landed nothing: refused again next time, and the
                 * entries after it need not wait */
                log_error("%s: refused, and not moved to rejected/: %s", path, err->msg);
                rdm_err_clear(err);
                rc = RDM_OK;
                s->rejected++;
                continue;
            }
            FILE *f = NULL;
            if (snprintf(reason, sizeof reason, "%s.reason.txt", dst) < (int)sizeof reason)
                f = fopen(reason, "w");
            if (f) {
                fprintf(f, "%s\n", e.msg);
                fclose(f);
            }
            log_warn("%s: refused, moved to %s (the reason is in %s)", path, dst, reason);
            s->rejected++;
        } else {
            /* not the data's fault: keep it for the next run */
            log_error("%s: %s; left in the inbox for the next run", path, e.msg);
            s->kept++;
            if (r == RDM_ERR_BUSY || r == RDM_ERR_NOMEM) {
                rc = r;
                *err = e;
            }
        }
    }
out:
    free(l.names);
    return rc;
}
