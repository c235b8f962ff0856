/* fuzz_flc.c - libFuzzer: the ФЛК checker on any file, fed in pieces whose
 * sizes come from the input, for an entity of the test profile; and the
 * record splitter on each line. */
#include <stddef.h>
#include <stdint.h>
#include "agent/flc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static profile prof;
static int ready;

static void ignore(void *ud, long line, const char *field, const char *msg)
{
    (void)ud, (void)line, (void)field, (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rdm_err err;
    if (!ready) {
        if (profile_load(&prof, RDM_TEST_DATA "/profiles/test.json", ".", "", &err)) {
            fprintf(stderr, "%s\n", err.msg);
            abort();
        }
        ready = 1;
    }
    if (size < 2)
        return 0;
    const prof_entity *e = &prof.entities[data[0] % prof.nentities];
    size_t piece = (size_t)data[1] % 64 + 1;
    data += 2, size -= 2;
    flc c;
    flc_begin(&c, e, "ESH", ignore, NULL);
    c.deletes = (piece & 1) != 0;
    for (size_t at = 0; at < size; at += piece)
        flc_feed(&c, (const char *)data + at, size - at < piece ? size - at : piece);
    flc_end(&c);
    rdm_buf out;
    buf_init(&out, 1 << 20);
    size_t starts[64], lens[64];
    int quoted[64];
    char why[128];
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        buf_reset(&out);
        flc_split(p, n, &out, starts, lens, quoted, 64, why, sizeof why);
        p += n + 1;
    }
    buf_free(&out);
    return 0;
}
