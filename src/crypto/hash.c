/* Digests and small helpers over OpenSSL 3 (include/veritee/crypto.h). */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "veritee/crypto.h"

size_t vt_hash_len(vt_hash_alg alg)
{
    switch (alg) {
    case VT_SHA256: return 32;
    case VT_SHA384: return 48;
    case VT_SHA512: return 64;
    }
    return 0;
}

const char *vt_hash_name(vt_hash_alg alg)
{
    switch (alg) {
    case VT_SHA256: return "sha-256";
    case VT_SHA384: return "sha-384";
    case VT_SHA512: return "sha-512";
    }
    return "unknown";
}

vt_err vt_hash2(vt_hash_alg alg, const void *a, size_t an, const void *b, size_t bn, uint8_t *out,
                vt_error *err)
{
    /* Short inputs (a quote's binding: attestation key and QE authentication data) through the
     * one-shot digest: EVP_DigestInit_ex with EVP_sha256() fetches the algorithm on every call
     * (~120k instructions, the digest itself ~3k). The copy is wiped: callers may hash secrets. */
    uint8_t buf[512];
    if (an + bn <= sizeof buf && an <= sizeof buf && vt_hash_len(alg) != 0) {
        if (an) memcpy(buf, a, an);
        if (bn) memcpy(buf + an, b, bn);
        vt_err rc = vt_hash(alg, buf, an + bn, out, err);
        OPENSSL_cleanse(buf, an + bn);
        return rc;
    }
    /* The one-shot SHA*_Init family is deprecated in OpenSSL 3; EVP costs a context. */
    const EVP_MD *md = alg == VT_SHA256 ? EVP_sha256() : alg == VT_SHA384 ? EVP_sha384()
                       : alg == VT_SHA512 ? EVP_sha512() : NULL;
    if (md == NULL) return vt_error_set(err, VT_E_UNSUPPORTED, "hash", "unsupported hash algorithm");
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = c != NULL && EVP_DigestInit_ex(c, md, NULL) == 1 &&
             (an == 0 || EVP_DigestUpdate(c, a, an) == 1) &&
             (bn == 0 || EVP_DigestUpdate(c, b, bn) == 1) && EVP_DigestFinal_ex(c, out, &len) == 1;
    EVP_MD_CTX_free(c);
    if (!ok) return vt_error_set(err, VT_E_INTERNAL, "hash", "digest computation failed");
    return VT_OK;
}

vt_err vt_hash(vt_hash_alg alg, const void *p, size_t n, uint8_t *out, vt_error *err)
{
    if (alg == VT_SHA256) { /* hot path: the one-shot avoids a context allocation */
        SHA256(p, n, out);
        return VT_OK;
    }
    if (alg == VT_SHA384) {
        SHA384(p, n, out);
        return VT_OK;
    }
    if (alg == VT_SHA512) {
        SHA512(p, n, out);
        return VT_OK;
    }
    return vt_hash2(alg, p, n, NULL, 0, out, err);
}

bool vt_ct_eq(const void *a, const void *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

void vt_wipe(void *p, size_t n)
{
    if (p != NULL) OPENSSL_cleanse(p, n);
}

/* A process that told OpenSSL not to load its reason strings (the CLI's offline verify of TDX,
 * SGX, SNP and CCA evidence, cli_openssl_setup) gets "error:<code>:lib(N)::reason(M)" here. */
const char *vt_openssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0) {
        snprintf(buf, cap, "%s", "");
    } else {
        ERR_error_string_n(e, buf, cap);
    }
    ERR_clear_error();
    return buf;
}
