/* Streaming digests for the measurement code (src/measure/mhash.h), OpenSSL EVP only. */
#include "mhash.h"

static const EVP_MD *md_of(vt_hash_alg alg)
{
    switch (alg) {
    case VT_SHA256: return EVP_sha256();
    case VT_SHA384: return EVP_sha384();
    case VT_SHA512: return EVP_sha512();
    }
    return NULL;
}

vt_err vt_mhash_init(vt_mhash *h, vt_hash_alg alg, vt_error *err)
{
    h->alg = alg;
    h->ctx = NULL;
    const EVP_MD *md = md_of(alg);
    if (md == NULL) return vt_error_set(err, VT_E_UNSUPPORTED, "hash", "unsupported hash algorithm");
    h->ctx = EVP_MD_CTX_new();
    if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
        vt_mhash_free(h);
        return vt_error_set(err, VT_E_INTERNAL, "hash", "digest initialisation failed");
    }
    return VT_OK;
}

vt_err vt_mhash_update(vt_mhash *h, const void *p, size_t n, vt_error *err)
{
    if (n == 0) return VT_OK;
    if (h->ctx == NULL || EVP_DigestUpdate(h->ctx, p, n) != 1)
        return vt_error_set(err, VT_E_INTERNAL, "hash", "digest update failed");
    return VT_OK;
}

vt_err vt_mhash_final(vt_mhash *h, uint8_t *out, vt_error *err)
{
    unsigned int len = 0;
    int ok = h->ctx != NULL && EVP_DigestFinal_ex(h->ctx, out, &len) == 1;
    vt_mhash_free(h);
    if (!ok) return vt_error_set(err, VT_E_INTERNAL, "hash", "digest finalisation failed");
    return VT_OK;
}

void vt_mhash_free(vt_mhash *h)
{
    if (h == NULL) return;
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}
