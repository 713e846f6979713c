/* vTPM quote and Azure CVM verification throughput on one thread, next to their signature
 * bounds measured in the same run: a TPM quote costs one RSA-2048 PKCS#1 v1.5 verification
 * (tpm_evidence.json, the AK trusted); an az-snp-vtpm evidence (evidence-v1.json) costs that plus
 * one ECDSA P-384 (the SNP report; the VCEK chain cached in the SNP verifier) plus parsing the
 * evidence JSON, the HCL runtime claims and the JWK. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "veritee/azure.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/tpm.h"
#include "veritee/verify.h"
#include <openssl/pem.h>
#include <stdlib.h>
#include <unistd.h>

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

/* The same evidence through the one verification entry (vt_verify: tee detected from the JSON,
 * normalized claims built): what `veritee serve` and `veritee verify` pay. */
static double verify_rate(vt_verifier *v, const char *path, const uint8_t *nonce, size_t nl, const char *what)
{
    vt_buf ev = {0};
    vt_error e;
    if (vt_file_read(path, 1u << 20, &ev, &e) != VT_OK) return -1;
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_verify_opts o = {.at = AT_2026, .nonce = nonce, .nonce_len = nl};
    double t0 = cpu_now(), lim = bench_seconds();
    long n = 0;
    for (; r != NULL;) {
        vt_err rc = vt_verify(v, ev.ptr, ev.len, &o, r, &e);
        vt_verify_result_clear(r);
        if (rc != VT_OK) {
            fprintf(stderr, "bench_azure: vt_verify %s: %s: %s\n", what, e.check, e.msg);
            n = 0;
            break;
        }
        n++;
        if ((n & 15) == 0 && cpu_now() - t0 >= lim) break;
    }
    double rate = (double)n / (cpu_now() - t0);
    free(r);
    vt_buf_free(&ev);
    return rate;
}

/* Several threads verifying through one verifier, as `veritee serve`'s do: evidence per
 * wall-clock second (a verification that held the verifier's lock would not scale). */
typedef struct par_arg {
    vt_verifier *v;
    const vt_buf *ev;
    const uint8_t *nonce;
    size_t nl;
    double until;
    long n;
    bool failed;
} par_arg;

static void *par_main(void *p)
{
    par_arg *a = p;
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_verify_opts o = {.at = AT_2026, .nonce = a->nonce, .nonce_len = a->nl};
    vt_error e;
    while (r != NULL && !a->failed && bench_now() < a->until) {
        a->failed = vt_verify(a->v, a->ev->ptr, a->ev->len, &o, r, &e) != VT_OK;
        vt_verify_result_clear(r);
        a->n++;
    }
    a->failed = a->failed || r == NULL;
    free(r);
    return NULL;
}

static double par_rate(vt_verifier *v, const char *path, const uint8_t *nonce, size_t nl, int threads)
{
    vt_buf ev = {0};
    vt_error e;
    if (threads > 8 || vt_file_read(path, 1u << 20, &ev, &e) != VT_OK) return -1;
    par_arg a[8];
    pthread_t th[8];
    double t0 = bench_now(), secs = bench_seconds() / 2;
    int started = 0;
    for (int i = 0; i < threads; i++) {
        a[i] = (par_arg){.v = v, .ev = &ev, .nonce = nonce, .nl = nl, .until = t0 + secs};
        if (pthread_create(&th[i], NULL, par_main, &a[i]) != 0) break;
        started++;
    }
    long n = 0;
    bool failed = started < threads;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        n += a[i].n;
        failed = failed || a[i].failed;
    }
    double wall = bench_now() - t0;
    vt_buf_free(&ev);
    return failed || wall <= 0 ? -1 : (double)n / wall;
}

/* The tpm vector's AK as a PEM file in a fresh directory (the verifier's tpm_aks source). */
static int ak_dir(const char *vectors, char *dir, size_t cap)
{
    char p[1024];
    vt_buf ev = {0}, der = {0};
    vt_error e;
    snprintf(p, sizeof p, "%s/tpm/tpm_evidence.json", vectors);
    if (vt_file_read(p, 1u << 20, &ev, &e) != VT_OK) return -1;
    json_t *root = json_loadb((const char *)ev.ptr, ev.len, 0, NULL);
    const char *ak64 = json_string_value(json_object_get(root, "ak_public"));
    int ok = -1;
    snprintf(dir, cap, "/tmp/vt-bench-ak-XXXXXX");
    if (ak64 != NULL && vt_b64_decode(ak64, strlen(ak64), &der, &e) == VT_OK && mkdtemp(dir) != NULL) {
        const unsigned char *d = der.ptr;
        EVP_PKEY *k = d2i_PUBKEY(NULL, &d, (long)der.len);
        snprintf(p, sizeof p, "%s/ak.pem", dir);
        FILE *f = k != NULL ? fopen(p, "w") : NULL;
        if (f != NULL && PEM_write_PUBKEY(f, k) == 1) ok = 0;
        if (f != NULL) fclose(f);
        EVP_PKEY_free(k);
    }
    vt_buf_free(&der);
    json_decref(root);
    vt_buf_free(&ev);
    return ok;
}

static void verify_entry(const char *vectors, double rsa, double bound)
{
    char anchors[1024], ev[1024], aks[64], pem[128];
    snprintf(anchors, sizeof anchors, "%s/az_snp_vtpm/anchors", vectors);
    snprintf(ev, sizeof ev, "%s/az_snp_vtpm/evidence-v1.json", vectors);
    vt_verifier *v = NULL;
    vt_error e;
    if (vt_verifier_new(&(vt_verify_sources){.trust_dir = anchors}, &v, &e) == VT_OK) {
        double a = verify_rate(v, ev, (const uint8_t *)"challenge", 9, "az-snp-vtpm");
        if (a > 0) {
            printf("verify_az_snp_vtpm_per_cpu_sec %.1f 1/s\n", a);
            if (bound > 0) printf("verify_az_snp_vtpm_vs_bound %.2f ratio\n", a / bound);
            long cores = sysconf(_SC_NPROCESSORS_ONLN);
            int n = cores > 8 ? 8 : (int)cores; /* par_rate's most */
            double one = par_rate(v, ev, (const uint8_t *)"challenge", 9, 1);
            double all = n > 1 ? par_rate(v, ev, (const uint8_t *)"challenge", 9, n) : -1;
            if (one > 0 && all > 0) {
                printf("verify_az_snp_vtpm_per_sec_1thread %.1f 1/s\n", one);
                printf("verify_az_snp_vtpm_per_sec_%dthreads %.1f 1/s\n", n, all);
                printf("verify_az_snp_vtpm_thread_scaling %.2f ratio  (of %d cores)\n", all / one, n);
            }
        }
    }
    vt_verifier_free(v);
    v = NULL;
    if (ak_dir(vectors, aks, sizeof aks) != 0) return;
    snprintf(ev, sizeof ev, "%s/tpm/tpm_evidence.json", vectors);
    static const uint8_t nt[48] = {0xa0, 0x41, 0x82, 0xb5, 0x06, 0x87, 0x8d, 0x4f, 0x29, 0xb9, 0x1e, 0xe6,
                                   0x06, 0xa7, 0x1a, 0x0d, 0x33, 0x61, 0xcc, 0xf1, 0xb2, 0x2d, 0xb2, 0x0c,
                                   0x98, 0xad, 0xca, 0xa5, 0x37, 0xbe, 0xa3, 0x93, 0xef, 0x0e, 0x41, 0xa1,
                                   0x8b, 0x35, 0x69, 0xab, 0x67, 0x8f, 0x14, 0x97, 0xfb, 0xc5, 0xc1, 0x20};
    if (vt_verifier_new(&(vt_verify_sources){.tpm_aks = aks}, &v, &e) == VT_OK) {
        double t = verify_rate(v, ev, nt, sizeof nt, "tpm");
        if (t > 0) {
            printf("verify_tpm_per_cpu_sec %.1f 1/s\n", t);
            if (rsa > 0) printf("verify_tpm_vs_rsa2048_bound %.2f ratio\n", t / rsa);
        }
    }
    vt_verifier_free(v);
    snprintf(pem, sizeof pem, "%s/ak.pem", aks);
    unlink(pem);
    rmdir(aks);
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
        verify_entry(vectors, rsa, bound);
    }
    fflush(stdout);
}
