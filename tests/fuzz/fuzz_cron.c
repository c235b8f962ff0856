/* fuzz_cron.c - libFuzzer: cron fields. The first byte picks the field; a
 * field that parses is formatted, parsed back (the same bits) and its next
 * fire time computed. */
#include <stddef.h>
#include <stdint.h>
#include "agent/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 512)
        return 0;
    char text[512];
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    cron_field f = (cron_field)(data[0] % 3);
    uint64_t bits = 0;
    rdm_err err;
    if (cron_parse_field(f, text, &bits, &err) != RDM_OK)
        return 0;
    cron_spec c = {~0ULL >> 4, 0xFFFFFF, 0x7F};
    if (f == CRON_MINUTE)
        c.minutes = bits;
    else if (f == CRON_HOUR)
        c.hours = (uint32_t)bits;
    else
        c.dows = (uint8_t)bits;
    char fmt[600];
    if (cron_format(&c, fmt, sizeof fmt) == 0 && bits) {
        cron_spec back;
        char m[200], h[200], d[200];
        if (sscanf(fmt, "%199s %199s %199s", m, h, d) != 3 || cron_parse(&back, m, h, d, &err) ||
            back.minutes != c.minutes || back.hours != c.hours || back.dows != c.dows)
            abort(); /* the normalised form must read back to the same spec */
    }
    if (bits)
        cron_next(&c, (time_t)1790000000);
    return 0;
}
