/* SEV-SNP verification throughput on one thread: reports verified per second with the chain
 * cached in the verifier (bound: one ECDSA P-384 verification per report) and with a cold
 * cache (three RSA-4096 PSS verifications more), next to the OpenSSL P-384 bound of this run;
 * and the same on the peer samples (shared/vectors/peer_samples) that bench/peers runs
 * @tinfoilsh/verifier and the Lit package on, once more "from bytes": VCEK DER and ASK/ARK PEM
 * parsed and the chain verified anew for every report, as those peers do. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "veritee/fileio.h"
#include "veritee/snp.h"
#include "veritee/x509.h"

/* 2025-12-08T00:00:00Z, inside every certificate window of shared/vectors/snp. */
#define REF_TIME ((vt_time)1765152000)
/* 2026-06-01T00:00:00Z, inside the windows of both peer samples' VCEKs. */
#define PEER_TIME ((vt_time)1780272000)

/* Reports per second when every verification starts from the bytes of the VCEK and chain. */
static double rate_from_bytes(vt_snp_verifier *v, const vt_buf *r, const vt_buf *vcek, const vt_buf *chain)
{
    vt_snp_verify_opts o = {.at = PEER_TIME};
    vt_snp_claims cl;
    vt_error e;
    double t0 = bench_now(), lim = bench_seconds();
    long n = 0;
    for (;;) {
        X509 *leaf = NULL;
        STACK_OF(X509) *sk = NULL;
        vt_snp_verifier_flush(v);
        vt_err rc = vt_cert_parse(vcek->ptr, vcek->len, &leaf, &e);
        if (rc == VT_OK) rc = vt_pem_certs(chain->ptr, chain->len, &sk, &e);
        vt_snp_collateral c = {.leaf = leaf, .certs = sk};
        if (rc == VT_OK) rc = vt_snp_verify(v, r->ptr, r->len, &c, &o, &cl, NULL, &e);
        X509_free(leaf);
        sk_X509_pop_free(sk, X509_free);
        if (rc != VT_OK) {
            fprintf(stderr, "bench_snp: %s: %s\n", e.check, e.msg);
            return 0;
        }
        n++;
        if ((n & 15) == 0 && bench_now() - t0 >= lim) break;
    }
    return (double)n / (bench_now() - t0);
}

static double rate_cached(vt_snp_verifier *v, const vt_buf *r, const vt_buf *vcek, const vt_buf *chain);

/* One peer sample: <vectors>/peer_samples/<name>/{report.bin,vcek.der,cert_chain.pem}. */
static void bench_peer_sample(const char *vectors, const char *name)
{
    char p[3][1024];
    static const char *const files[3] = {"report.bin", "vcek.der", "cert_chain.pem"};
    vt_buf b[3] = {{0}};
    vt_error e;
    vt_snp_verifier *v = NULL;
    for (int i = 0; i < 3; i++) {
        snprintf(p[i], sizeof p[i], "%s/peer_samples/%s/%s", vectors, name, files[i]);
        if (vt_file_read(p[i], 1u << 20, &b[i], &e) != VT_OK) {
            fprintf(stderr, "bench_snp: %s skipped: %s\n", name, e.msg);
            goto out;
        }
    }
    if (vt_snp_verifier_new(&v, &e) != VT_OK) goto out;
    double hot = rate_cached(v, &b[0], &b[1], &b[2]);
    double cold = rate_from_bytes(v, &b[0], &b[1], &b[2]);
    const char *label = strncmp(name, "snp_", 4) == 0 ? name + 4 : name;
    printf("snp_peer_%s_verify_per_sec %.1f 1/s\n", label, hot);
    printf("snp_peer_%s_from_bytes_per_sec %.1f 1/s\n", label, cold);
    fflush(stdout);
out:
    vt_snp_verifier_free(v);
    for (int i = 0; i < 3; i++) vt_buf_free(&b[i]);
}

static double rate(vt_snp_verifier *v, const vt_buf *r, const vt_snp_collateral *c, bool cold)
{
    vt_snp_verify_opts o = {.at = REF_TIME};
    vt_snp_claims cl;
    vt_error e;
    double t0 = bench_now(), lim = bench_seconds();
    long n = 0;
    for (;;) {
        if (cold) vt_snp_verifier_flush(v);
        if (vt_snp_verify(v, r->ptr, r->len, c, &o, &cl, NULL, &e) != VT_OK) {
            fprintf(stderr, "bench_snp: %s: %s\n", e.check, e.msg);
            return 0;
        }
        n++;
        if ((n & 15) == 0 && bench_now() - t0 >= lim) break;
    }
    return (double)n / (bench_now() - t0);
}

/* Chain cached: certificates parsed once, the verifier keeps the verified chain. */
static double rate_cached(vt_snp_verifier *v, const vt_buf *r, const vt_buf *vcek, const vt_buf *chain)
{
    X509 *leaf = NULL;
    STACK_OF(X509) *sk = NULL;
    vt_error e;
    double hz = 0;
    if (vt_cert_parse(vcek->ptr, vcek->len, &leaf, &e) == VT_OK && vt_pem_certs(chain->ptr, chain->len, &sk, &e) == VT_OK) {
        vt_snp_collateral c = {.leaf = leaf, .certs = sk};
        vt_snp_verify_opts o = {.at = PEER_TIME};
        vt_snp_claims cl;
        double t0 = bench_now(), lim = bench_seconds();
        long n = 0;
        for (;;) {
            if (vt_snp_verify(v, r->ptr, r->len, &c, &o, &cl, NULL, &e) != VT_OK) {
                fprintf(stderr, "bench_snp: %s: %s\n", e.check, e.msg);
                break;
            }
            n++;
            if ((n & 15) == 0 && bench_now() - t0 >= lim) {
                hz = (double)n / (bench_now() - t0);
                break;
            }
        }
    } else {
        fprintf(stderr, "bench_snp: %s\n", e.msg);
    }
    X509_free(leaf);
    sk_X509_pop_free(sk, X509_free);
    return hz;
}

void bench_snp(const char *vectors, const bench_bounds *b)
{
    char rp[1024], cp[1024];
    snprintf(rp, sizeof rp, "%s/snp/genoa_v5_routex/report.bin", vectors);
    snprintf(cp, sizeof cp, "%s/snp/genoa_v5_routex/vcek_chain.pem", vectors);
    vt_buf r = {0}, pem = {0};
    vt_error e;
    STACK_OF(X509) *chain = NULL;
    vt_snp_verifier *v = NULL;
    if (vt_file_read(rp, 1u << 20, &r, &e) != VT_OK || vt_file_read(cp, 1u << 20, &pem, &e) != VT_OK ||
        vt_pem_certs(pem.ptr, pem.len, &chain, &e) != VT_OK || vt_snp_verifier_new(&v, &e) != VT_OK) {
        fprintf(stderr, "bench_snp: skipped: %s\n", e.msg);
        goto out;
    }
    vt_snp_collateral c = {.certs = chain};
    double hot = rate(v, &r, &c, false);
    double cold = rate(v, &r, &c, true);
    printf("snp_verify_per_sec %.1f 1/s\n", hot);
    printf("snp_verify_cold_chain_per_sec %.1f 1/s\n", cold);
    if (b->p384_verify_per_sec > 0)
        printf("snp_ratio_to_p384_bound %.2f ratio\n", hot / b->p384_verify_per_sec);
    fflush(stdout);
    bench_peer_sample(vectors, "snp_genoa_tinfoil");
    bench_peer_sample(vectors, "snp_milan_virtee");
out:
    vt_snp_verifier_free(v);
    sk_X509_pop_free(chain, X509_free);
    vt_buf_free(&r);
    vt_buf_free(&pem);
}
