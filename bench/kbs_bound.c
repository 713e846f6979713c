/* The cryptography of one full RCAR round (bench/kbs_load.c), measured in this run with OpenSSL
 * on one thread, in thread CPU time (other processes on the machine do not inflate it):
 * the server verifies two P-256 ECDSA signatures (the quote and its QE report), signs one
 * ES256 EAR and does one ephemeral ECDH (the JWE: key generation and derivation); the emulated
 * client signs twice (QE report and quote) and derives one ECDH secret (opening the JWE).
 * bound = online cores / that CPU time: the rounds per second the cryptography alone allows. */
#include <openssl/evp.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef int (*op_fn)(EVP_PKEY *k, EVP_PKEY *peer, const uint8_t *sig, size_t slen);

static const uint8_t DG[32] = {1, 2, 3};

static int op_sign(EVP_PKEY *k, EVP_PKEY *peer, const uint8_t *sig, size_t slen)
{
    (void)peer, (void)sig, (void)slen;
    uint8_t out[80];
    size_t n = sizeof out;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    int ok = c != NULL && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
             EVP_PKEY_sign(c, out, &n, DG, sizeof DG) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

static int op_verify(EVP_PKEY *k, EVP_PKEY *peer, const uint8_t *sig, size_t slen)
{
    (void)peer;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    int ok = c != NULL && EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
             EVP_PKEY_verify(c, sig, slen, DG, sizeof DG) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

static int derive(EVP_PKEY *k, EVP_PKEY *peer)
{
    uint8_t z[32];
    size_t n = sizeof z;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    int ok = c != NULL && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
             EVP_PKEY_derive(c, z, &n) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

static int op_derive(EVP_PKEY *k, EVP_PKEY *peer, const uint8_t *sig, size_t slen)
{
    (void)sig, (void)slen;
    return derive(k, peer);
}

/* JWE ECDH-ES: a fresh ephemeral key, then the derivation with the TEE key */
static int op_ephemeral(EVP_PKEY *k, EVP_PKEY *peer, const uint8_t *sig, size_t slen)
{
    (void)k, (void)sig, (void)slen;
    EVP_PKEY *e = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    int ok = e != NULL && derive(e, peer);
    EVP_PKEY_free(e);
    return ok;
}

/* CPU seconds of one op, over about `secs` of CPU time. */
static double cost(op_fn f, EVP_PKEY *k, EVP_PKEY *peer, const uint8_t *sig, size_t slen, double secs)
{
    double t0 = cpu_now();
    long n = 0;
    for (;;) {
        if (!f(k, peer, sig, slen)) return 0;
        n++;
        if ((n & 15) == 0 && cpu_now() - t0 >= secs) break;
    }
    return (cpu_now() - t0) / (double)n;
}

double bench_kbs_round_bound(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t sig[80];
    size_t slen = sizeof sig;
    EVP_PKEY_CTX *c = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
    int ok = c != NULL && peer != NULL && EVP_PKEY_sign_init(c) == 1 &&
             EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 && EVP_PKEY_sign(c, sig, &slen, DG, sizeof DG) == 1;
    EVP_PKEY_CTX_free(c);
    double secs = bench_seconds() / 8, bound = 0;
    if (ok) {
        double v = cost(op_verify, k, peer, sig, slen, secs), s = cost(op_sign, k, peer, sig, slen, secs);
        double e = cost(op_ephemeral, k, peer, sig, slen, secs), d = cost(op_derive, k, peer, sig, slen, secs);
        double server = 2 * v + s + e, client = 2 * s + d;
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        if (v > 0 && s > 0 && e > 0 && d > 0 && cores > 0) {
            bound = (double)cores / (server + client);
            printf("kbs_round_crypto_server_us %.1f us\n", server * 1e6);
            printf("kbs_round_crypto_client_us %.1f us\n", client * 1e6);
            printf("kbs_round_crypto_bound_per_sec %.1f rounds/s\n", bound);
        }
    }
    EVP_PKEY_free(k);
    EVP_PKEY_free(peer);
    return bound;
}
