/* fuzz_csv.c - libFuzzer: the dump reader (libcsv underneath, UTF-8 and
 * CP1251, ';' and ','), fed in pieces whose size comes from the input. */
#include <stddef.h>
#include <stdint.h>
#include "agent/csvread.h"

static rdm_rc on_row(void *ud, long line, int nfields, const char *const *vals, const size_t *lens,
                     rdm_err *err)
{
    (void)line, (void)err;
    size_t *total = ud;
    for (int i = 0; i < nfields; i++)
        if (lens[i]) /* every byte of every value is readable */
            *total += lens[i] + (unsigned char)vals[i][lens[i] - 1];
    return RDM_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    csvr *r;
    rdm_err err;
    size_t total = 0, piece = (size_t)(data[0] >> 2) + 1;
    if (csvr_open(&r, "fuzz.csv", data[0] & 1 ? CSVR_CP1251 : CSVR_UTF8, data[0] & 2 ? ',' : ';',
                  on_row, &total, &err))
        return 0;
    data++, size--;
    rdm_rc rc = RDM_OK;
    for (size_t at = 0; at < size && !rc; at += piece)
        rc = csvr_feed(r, (const char *)data + at, size - at < piece ? size - at : piece, &err);
    if (!rc)
        csvr_finish(r, &err);
    csvr_free(r);
    return 0;
}
