/* fuzz_config.c - libFuzzer: the INI reader and the configuration on top of
 * it (cfg_load_buffer), with any bytes. */
#include "agent/config.h"

#include <stddef.h>
#include <stdint.h>

static void quiet(void *ud, int level, const char *msg)
{
    (void)ud, (void)level, (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rdm_config cfg = {0};
    rdm_err err;
    cfg_load_buffer(&cfg, "fuzz.ini", (const char *)data, size, quiet, NULL, &err);
    cfg_free(&cfg);
    return 0;
}
