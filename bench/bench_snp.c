/* SEV-SNP verification throughput on one thread: reports verified per second with the chain
 * cached in the verifier (bound: one ECDSA P-384 verification per report) and with a cold
 * cache (three RSA-4096 PSS verifications more), next to the OpenSSL P-384 bound of this run. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "veritee/fileio.h"
#include "veritee/snp.h"
#include "veritee/x509.h"

/* 2025-12-08T00:00:00Z, inside every certificate window of shared/vectors/snp. */
#define REF_TIME ((vt_time)1765152000)

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
out:
    vt_snp_verifier_free(v);
    sk_X509_pop_free(chain, X509_free);
    vt_buf_free(&r);
    vt_buf_free(&pem);
}
