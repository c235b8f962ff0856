/* fuzz_manifest.c - libFuzzer: a bundle's manifest.json as manifest_parse
 * reads it. Every name it hands out must be one that cannot leave the
 * bundle, and every digest 64 lower-case hex digits. */
#include <stddef.h>
#include <stdint.h>
#include "agent/manifest.h"

#include <stdlib.h>
#include <string.h>

static rdm_rc check(void *ud, int index, const char *name, const char *sha256, int partial,
                    rdm_err *err)
{
    (void)ud, (void)err;
    if (index < 0 || (partial != 0 && partial != 1) || !manifest_safe_name(name) ||
        strchr(name, '/') || strchr(name, '\\') || strcmp(name, "..") == 0 ||
        strspn(sha256, "0123456789abcdef") != 64 || sha256[64])
        abort();
    return RDM_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rdm_err err;
    manifest_parse((const char *)data, size, "manifest.json", check, NULL, &err);
    return 0;
}
