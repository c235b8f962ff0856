/* fuzz_landfile.c - libFuzzer: a land file record as collect decodes it
 * (land_decode). A payload either is refused or decodes to pointers inside
 * it that account for every byte; then encoding what was decoded gives
 * the same bytes back. The first byte picks the column count. */
#include <stddef.h>
#include <stdint.h>
#include "storage/landfile.h"

#include <stdlib.h>
#include <string.h>

static land_row row;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int ncols = data[0] % 8;
    const unsigned char *p = data + 1;
    size_t n = size - 1;
    if (land_decode(p, n, ncols, &row))
        return 0;
    const char *end = (const char *)p + n;
    if (row.key < (const char *)p || row.key + row.klen > end)
        abort();
    for (int i = 0; i < ncols; i++)
        if (row.vals[i] && (row.vals[i] < (const char *)p || row.vals[i] + row.lens[i] > end))
            abort();
    rdm_buf b;
    buf_init(&b, 1 << 24);
    if (land_encode(&b, row.line, row.op, row.hash, row.key, row.klen, ncols, row.vals, row.lens) ||
        b.len != n + 4 || memcmp(b.p + 4, p, n) != 0)
        abort();
    buf_free(&b);
    return 0;
}
