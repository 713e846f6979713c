/* The OpenSSL bounds every verifier figure is compared against, measured in the same run:
 * ECDSA P-256 / P-384 and RSA-4096 signature verifications per second on one thread. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static EVP_PKEY *keygen(const char *alg, const char *arg)
{
    if (strcmp(alg, "EC") == 0) return EVP_PKEY_Q_keygen(NULL, NULL, "EC", arg);
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
}

static double verify_rate(EVP_PKEY *k, const EVP_MD *md)
{
    uint8_t dg[64] = {1, 2, 3};
    size_t dlen = (size_t)EVP_MD_get_size(md);
    uint8_t sig[1024];
    size_t slen = sizeof sig;
    EVP_PKEY_CTX *s = EVP_PKEY_CTX_new(k, NULL);
    if (s == NULL || EVP_PKEY_sign_init(s) != 1 || EVP_PKEY_CTX_set_signature_md(s, md) != 1 ||
        EVP_PKEY_sign(s, sig, &slen, dg, dlen) != 1) {
        EVP_PKEY_CTX_free(s);
        return 0;
    }
    EVP_PKEY_CTX_free(s);
    double t0 = bench_now(), lim = bench_seconds();
    long n = 0;
    for (;;) {
        /* one context per verification, as a verifier does for each signature */
        EVP_PKEY_CTX *v = EVP_PKEY_CTX_new(k, NULL);
        int ok = v != NULL && EVP_PKEY_verify_init(v) == 1 &&
                 EVP_PKEY_CTX_set_signature_md(v, md) == 1 &&
                 EVP_PKEY_verify(v, sig, slen, dg, dlen) == 1;
        EVP_PKEY_CTX_free(v);
        if (!ok) return 0;
        n++;
        if ((n & 63) == 0 && bench_now() - t0 >= lim) break;
    }
    return (double)n / (bench_now() - t0);
}

void bench_openssl(bench_bounds *b)
{
    EVP_PKEY *p256 = keygen("EC", "P-256"), *p384 = keygen("EC", "P-384"), *rsa = keygen("RSA", 0);
    b->p256_verify_per_sec = p256 ? verify_rate(p256, EVP_sha256()) : 0;
    b->p384_verify_per_sec = p384 ? verify_rate(p384, EVP_sha384()) : 0;
    b->rsa4096_verify_per_sec = rsa ? verify_rate(rsa, EVP_sha384()) : 0;
    printf("openssl_p256_verify_per_sec %.1f 1/s\n", b->p256_verify_per_sec);
    printf("openssl_p384_verify_per_sec %.1f 1/s\n", b->p384_verify_per_sec);
    printf("openssl_rsa4096_verify_per_sec %.1f 1/s\n", b->rsa4096_verify_per_sec);
    fflush(stdout);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa);
}
