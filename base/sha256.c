/* sha256.c - see sha256.h. mbedTLS 2.x names its calls *_ret; 3.x drops it. */
#include "sha256.h"

#include <errno.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <string.h>

#if MBEDTLS_VERSION_MAJOR >= 3
#define SHA_STARTS mbedtls_sha256_starts
#define SHA_UPDATE mbedtls_sha256_update
#define SHA_FINISH mbedtls_sha256_finish
#else
#define SHA_STARTS mbedtls_sha256_starts_ret
#define SHA_UPDATE mbedtls_sha256_update_ret
#define SHA_FINISH mbedtls_sha256_finish_ret
#endif

void sha256_init(sha256_ctx *c)
{
    mbedtls_sha256_init(&c->c);
    SHA_STARTS(&c->c, 0);
}

void sha256_update(sha256_ctx *c, const void *data, size_t n)
{
    SHA_UPDATE(&c->c, data, n);
}

void sha256_hex(sha256_ctx *c, char out[SHA256_HEX])
{
    unsigned char d[32];
    static const char hx[] = "0123456789abcdef";
    SHA_FINISH(&c->c, d);
    mbedtls_sha256_free(&c->c);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[64] = '\0';
}

rdm_rc sha256_file(const char *path, char out[SHA256_HEX], long long *size, rdm_err *err)
{
    FILE *f = fopen(path, "rb");
    char buf[65536];
    size_t n;
    sha256_ctx c;
    long long total = 0;
    if (!f)
        return rdm_fail(err, RDM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    sha256_init(&c);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        sha256_update(&c, buf, n);
        total += (long long)n;
    }
    int bad = ferror(f);
    fclose(f);
    sha256_hex(&c, out);
    if (bad)
        return rdm_fail(err, RDM_ERR_IO, "cannot read %s", path);
    if (size)
        *size = total;
    return RDM_OK;
}
