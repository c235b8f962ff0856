/* fuzz_profile.c - libFuzzer: the profile loader (JSON entities and
 * models, with their SQL checks) on any text. */
#include <stddef.h>
#include <stdint.h>
#include "agent/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    profile p = {0};
    rdm_err err;
    profile_load_buffer(&p, "fuzz.json", (const char *)data, size, &err);
    profile_free(&p);
    return 0;
}
