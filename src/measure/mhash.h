/* Internal to src/measure: a streaming digest over OpenSSL EVP (the one-shot vt_hash covers
 * single buffers; MRTD and the SEV-ES digest are long streams). */
#ifndef VT_MEASURE_MHASH_H
#define VT_MEASURE_MHASH_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/crypto.h"
#include "veritee/err.h"

typedef struct vt_mhash {
    EVP_MD_CTX *ctx;
    vt_hash_alg alg;
} vt_mhash;

vt_err vt_mhash_init(vt_mhash *h, vt_hash_alg alg, vt_error *err);
vt_err vt_mhash_update(vt_mhash *h, const void *p, size_t n, vt_error *err);
/* Writes vt_hash_len(alg) bytes and releases the context. */
vt_err vt_mhash_final(vt_mhash *h, uint8_t *out, vt_error *err);
/* Releases the context (safe after final, and on a zeroed struct). */
void vt_mhash_free(vt_mhash *h);

/* Little-endian stores into a structure being built. */
static inline void vt_put_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void vt_put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void vt_put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#endif
