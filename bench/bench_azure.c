/* vTPM quote and Azure CVM verification throughput on one thread, next to their signature
 * bounds measured in the same run: a TPM quote costs one RSA-2048 PKCS#1 v1.5 verification
 * (tpm_evidence.json, the AK trusted); an az-snp-vtpm evidence (evidence-v1.json) costs that plus
 * one ECDSA P-384 (the SNP report; the VCEK chain cached in the SNP verifier) plus parsing the
 * evidence JSON, the HCL runtime claims and the JWK. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "veritee/azure.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/tpm.h"

#define AT_2026 ((vt_time)1767225600)

/* This thread's CPU seconds: the figures below are per CPU-second, so that a loaded machine (the
 * shared 2-core builder) compares the verifier and its bound on the same footing. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double sig_rate(EVP_PKEY *k)
{
    const char *md = EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA ? "SHA256" : "SHA384";
    uint8_t msg[161] = {1}, sig[512];
    size_t sl = sizeof sig;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL || EVP_DigestSignInit_ex(c, NULL, md, NULL, NULL, k, NULL) != 1 ||
        EVP_DigestSign(c, sig, &sl, msg, sizeof msg) != 1) {
        EVP_MD_CTX_free(c);
        return 0;
    }
    EVP_MD_CTX_free(c);
    double t0 = cpu_now(), lim = bench_seconds();
    long n = 0;
    for (;;) {
        EVP_MD_CTX *v = EVP_MD_CTX_new();
        int ok = v != NULL && EVP_DigestVerifyInit_ex(v, NULL, md, NULL, NULL, k, NULL) == 1 &&
                 EVP_DigestVerify(v, sig, sl, msg, sizeof msg) == 1;
        EVP_MD_CTX_free(v);
        if (!ok) break;
        n++;
        if ((n & 63) == 0 && cpu_now() - t0 >= lim) break;
    }
    return (double)n / (cpu_now() - t0);
}

static double bound_rate(int rsa)
{
    EVP_PKEY *k = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048) : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    double r = k != NULL ? sig_rate(k) : 0;
    EVP_PKEY_free(k);
    return r;
}

static double tpm_rate(const char *vectors)
{
    char p[1024];
    vt_buf ev = {0};
    vt_error e;
    snprintf(p, sizeof p, "%s/tpm/tpm_evidence.json", vectors);
    if (vt_file_read(p, 1u << 20, &ev, &e) != VT_OK) return -1;
    json_t *root = json_loadb((const char *)ev.ptr, ev.len, 0, NULL);
    const char *ak64 = json_string_value(json_object_get(root, "ak_public"));
    vt_buf der = {0};
    vt_tpm_verifier *v = NULL;
    double rate = 0;
    if (ak64 != NULL && vt_b64_decode(ak64, strlen(ak64), &der, &e) == VT_OK &&
        vt_tpm_verifier_new(NULL, 0, &v, &e) == VT_OK) {
        const unsigned char *d = der.ptr;
        EVP_PKEY *k = d2i_PUBKEY(NULL, &d, (long)der.len);
        if (k != NULL && vt_tpm_verifier_add_ak(v, k, &e) == VT_OK) {
            double t0 = cpu_now(), lim = bench_seconds();
            long n = 0;
            for (;;) {
                if (vt_tpm_verify(v, ev.ptr, ev.len, NULL, NULL, NULL, &e) != VT_OK) {
                    fprintf(stderr, "bench_azure: tpm: %s\n", e.msg);
                    n = 0;
                    break;
                }
                n++;
                if ((n & 15) == 0 && cpu_now() - t0 >= lim) break;
            }
            rate = (double)n / (cpu_now() - t0);
        }
        EVP_PKEY_free(k);
    }
    vt_tpm_verifier_free(v);
    vt_buf_free(&der);
    json_decref(root);
    vt_buf_free(&ev);
    return rate;
}

static double az_snp_rate(const char *vectors)
{
    char p[1024];
    vt_buf ev = {0}, anchors = {0};
    vt_error e;
    vt_snp_verifier *snp = NULL;
    vt_azure_verifier *az = NULL;
    double rate = 0;
    snprintf(p, sizeof p, "%s/az_snp_vtpm/evidence-v1.json", vectors);
    if (vt_file_read(p, 1u << 20, &ev, &e) != VT_OK) return -1;
    snprintf(p, sizeof p, "%s/az_snp_vtpm/anchors/milan_ask_ark_asvk.pem", vectors);
    if (vt_file_read(p, 1u << 20, &anchors, &e) == VT_OK && vt_snp_verifier_new(&snp, &e) == VT_OK &&
        vt_snp_verifier_add_trust_pem(snp, anchors.ptr, anchors.len, &e) == VT_OK &&
        vt_azure_verifier_new(&(vt_azure_trust){.snp = snp}, &az, &e) == VT_OK) {
        vt_azure_verify_opts o = {.at = AT_2026, .nonce = (const uint8_t *)"challenge", .nonce_len = 9};
        double t0 = cpu_now(), lim = bench_seconds();
        long n = 0;
        for (;;) {
            if (vt_az_snp_vtpm_verify(az, ev.ptr, ev.len, &o, NULL, NULL, &e) != VT_OK) {
                fprintf(stderr, "bench_azure: az-snp-vtpm: %s: %s\n", e.check, e.msg);
                n = 0;
                break;
            }
            n++;
            if ((n & 15) == 0 && cpu_now() - t0 >= lim) break;
        }
        rate = (double)n / (cpu_now() - t0);
    }
    vt_azure_verifier_free(az);
    vt_snp_verifier_free(snp);
    vt_buf_free(&anchors);
    vt_buf_free(&ev);
    return rate;
}

void bench_azure(const char *vectors, const bench_bounds *b)
{
    (void)b; /* the shared bounds are wall-clock; these are measured here per CPU-second */
    double rsa = bound_rate(1), p384 = bound_rate(0);
    printf("openssl_rsa2048_verify_per_cpu_sec %.1f 1/s\n", rsa);
    printf("openssl_p384_verify_per_cpu_sec %.1f 1/s\n", p384);
    double t = tpm_rate(vectors);
    if (t >= 0) {
        printf("tpm_quote_verify_per_cpu_sec %.1f 1/s\n", t);
        if (rsa > 0) printf("tpm_quote_vs_rsa2048_bound %.2f ratio\n", t / rsa);
    }
    double a = az_snp_rate(vectors);
    if (a >= 0) {
        /* bound: one RSA-2048 and one P-384 verification per evidence */
        double bound = rsa > 0 && p384 > 0 ? 1.0 / (1.0 / rsa + 1.0 / p384) : 0;
        printf("az_snp_vtpm_verify_per_cpu_sec %.1f 1/s\n", a);
        if (bound > 0) {
            printf("az_snp_vtpm_signature_bound_per_cpu_sec %.1f 1/s\n", bound);
            printf("az_snp_vtpm_vs_bound %.2f ratio\n", a / bound);
        }
    }
    fflush(stdout);
}
