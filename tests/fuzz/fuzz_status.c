/* fuzz_status.c - libFuzzer: the datamart's answers as the client reads
 * them: a status body (dm_status_code) and an upload's request id
 * (dm_request_id). */
#include <stddef.h>
#include <stdint.h>
#include "net/dm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int code = 99;
    char why[200], id[128];
    if (dm_status_code((const char *)data, size, &code, why, sizeof why) == 0 &&
        (code < -2147483647 || dm_file_status(code) < 0))
        abort();
    if (dm_request_id((const char *)data, size, id, sizeof id) == 0 &&
        (!id[0] || strchr(id, '/') || strchr(id, ' ')))
        abort(); /* an id is never empty and never leaves its path segment */
    return 0;
}
