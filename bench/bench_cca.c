/* Benchmark: CCA tokens parsed and verified per second on one thread (two P-384 ECDSA
 * verifies each), beside the OpenSSL P-384 verify bound measured in the same run. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "veritee/cca.h"
#include "veritee/fileio.h"

void bench_cca(const char *vectors, const bench_bounds *b)
{
    char tok_path[1024], key_path[1024];
    vt_buf tok = {0};
    vt_error e;
    vt_cca_trust trust;
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_cca_trust_init(&trust);
    snprintf(tok_path, sizeof tok_path, "%s/cca/tokens/tfrmm_ssd_399.cbor", vectors);
    snprintf(key_path, sizeof key_path, "%s/cca/keys/tfa_test_cpak_p384.pem", vectors);
    if (t == NULL || vt_file_read(tok_path, VT_FILE_MAX, &tok, &e) != VT_OK ||
        vt_cca_trust_load_file(&trust, key_path, &e) != VT_OK) {
        fprintf(stderr, "bench_cca: skipped: %s\n", t ? e.msg : "out of memory");
        goto out;
    }
    vt_cca_verify_opts o = {.trust = &trust};
    double secs = bench_seconds(), t0 = bench_now(), now;
    long n = 0;
    do {
        vt_checks c = {0};
        if (vt_cca_token_parse(tok.ptr, tok.len, t, &e) != VT_OK ||
            vt_cca_verify(t, &o, &c, NULL, &e) != VT_OK) {
            fprintf(stderr, "bench_cca: token does not verify: %s\n", e.msg);
            goto out;
        }
        n++;
        now = bench_now();
    } while (now - t0 < secs);
    double rate = (double)n / (now - t0);
    printf("cca_verify_per_sec %.1f 1/s\n", rate);
    if (b != NULL && b->p384_verify_per_sec > 0)
        printf("cca_ratio_to_bound %.3f ratio\n", rate / (b->p384_verify_per_sec / 2.0));
out:
    vt_cca_trust_free(&trust);
    vt_buf_free(&tok);
    free(t);
}
