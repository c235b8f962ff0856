/* manifest.c - see manifest.h. */
#include "manifest.h"

#include <cJSON.h>
#include <string.h>

int manifest_safe_name(const char *s)
{
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) >= MANIFEST_NAME_MAX)
        return 0;
    for (const char *q = s; *q; q++)
        if (*q == '/' || *q == '\\' || *q == ':' || (unsigned char)*q < 0x20)
            return 0;
    return 1;
}

/* 64 hex digits, lower-cased into out (65 bytes); 0 if not that. */
static int hex64(const char *s, char *out)
{
    if (strlen(s) != 64)
        return 0;
    for (int k = 0; k < 64; k++) {
        char c = s[k];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        out[k] = c;
    }
    out[64] = '\0';
    return 1;
}

rdm_rc manifest_parse(const char *text, size_t len, const char *what, manifest_fn fn, void *ud,
                      rdm_err *err)
{
    cJSON *doc = cJSON_ParseWithLength(text, len);
    const cJSON *files =
        cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "files") : NULL;
    rdm_rc rc = RDM_OK;
    if (!cJSON_IsArray(files)) {
        cJSON_Delete(doc);
        return rdm_fail(err, RDM_ERR_PARSE,
                        "%s: not a manifest (expected {\"files\": [{\"name\": ..., \"sha256\": "
                        "...}]})",
                        what);
    }
    int i = 0;
    for (const cJSON *f = files->child; f && !rc; f = f->next, i++) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(f, "sha256");
        const cJSON *partial = cJSON_GetObjectItemCaseSensitive(f, "partial");
        char hex[65];
        if (!cJSON_IsString(name) || !cJSON_IsString(sha) || !hex64(sha->valuestring, hex))
            rc =
                rdm_fail(err, RDM_ERR_PARSE,
                         "%s: files[%d] needs \"name\" and a \"sha256\" of 64 hex digits", what, i);
        else if (partial && !cJSON_IsBool(partial))
            rc = rdm_fail(err, RDM_ERR_PARSE, "%s: files[%d]: \"partial\" is true or false", what,
                          i);
        else if (!manifest_safe_name(name->valuestring))
            rc = rdm_fail(err, RDM_ERR_PARSE,
                          "%s: files[%d]: '%s' leaves the bundle (only plain names, no folders, "
                          "no ..); refused",
                          what, i, name->valuestring);
        else
            rc = fn(ud, i, name->valuestring, hex, cJSON_IsTrue(partial), err);
    }
    cJSON_Delete(doc);
    return rc;
}
