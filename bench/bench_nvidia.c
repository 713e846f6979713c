/* Benchmark: NVIDIA GPU reports verified per second on one thread, beside the OpenSSL P-384
 * verify bound measured in the same run; also through the one verification entry (vt_verify:
 * the same evidence JSON plus normalized claims per device, as the broker verifies each GPU). Warm: the verifier has the device chain cached, one
 * P-384 verification per report (the bound). Cold: a new verifier per report, so the chain
 * (4 P-384 certificate signatures) is verified too. Evidence: Trustee's JSON (hex + base64
 * decoding) on the warm path. RIM: the VBIOS RIM's XML signature and chain via libxmlsec1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/nvidia.h"
#include "veritee/verify.h"

#define AT_2024 1717200000

static int load(const char *vectors, const char *rel, vt_buf *out, bool hex)
{
    char p[1024];
    vt_error e;
    vt_buf t = {0};
    snprintf(p, sizeof p, "%s/%s", vectors, rel);
    if (vt_file_read(p, VT_FILE_MAX, &t, &e) != VT_OK) {
        fprintf(stderr, "bench_nvidia: skipped: %s\n", e.msg);
        return -1;
    }
    if (!hex) {
        *out = t;
        return 0;
    }
    size_t n = t.len;
    while (n > 0 && (t.ptr[n - 1] == '\n' || t.ptr[n - 1] == ' ')) n--;
    int rc = vt_hex_decode((const char *)t.ptr, n, out, &e) == VT_OK ? 0 : -1;
    vt_buf_free(&t);
    return rc;
}

typedef int (*one_fn)(void *ctx);

static double rate(one_fn f, void *ctx)
{
    double secs = bench_seconds(), t0 = bench_now(), now;
    long n = 0;
    do {
        if (f(ctx) != 0) return -1;
        n++;
        now = bench_now();
    } while (now - t0 < secs);
    return (double)n / (now - t0);
}

typedef struct nv_ctx {
    vt_nvidia_verifier *v;
    vt_verifier *one;       /* the one verification entry (verify.h) */
    vt_verify_result *res;
    vt_buf report, chain, evidence, rim, rim_root;
    vt_nvidia_rim_verifier *rv;
    vt_nvidia_rim *rim_out;
} nv_ctx;

static int warm(void *p)
{
    nv_ctx *c = p;
    vt_checks ck = {0};
    vt_error e;
    vt_nvidia_verify_opts o = {.at = AT_2024};
    return vt_nvidia_verify_device(c->v, VT_NVIDIA_HOPPER, c->report.ptr, c->report.len, c->chain.ptr,
                                   c->chain.len, &o, NULL, &ck, &e) == VT_OK ? 0 : -1;
}

static int cold(void *p)
{
    nv_ctx *c = p;
    vt_nvidia_verifier *v = NULL;
    vt_error e;
    if (vt_nvidia_verifier_new(NULL, &v, &e) != VT_OK) return -1;
    vt_nvidia_verifier *keep = c->v;
    c->v = v;
    int rc = warm(c);
    c->v = keep;
    vt_nvidia_verifier_free(v);
    return rc;
}

static int evidence(void *p)
{
    nv_ctx *c = p;
    vt_checks ck = {0};
    vt_error e;
    json_t *claims = NULL;
    vt_nvidia_verify_opts o = {.at = AT_2024};
    vt_err rc = vt_nvidia_verify(c->v, c->evidence.ptr, c->evidence.len, &o, &claims, &ck, &e);
    json_decref(claims);
    return rc == VT_OK ? 0 : -1;
}

/* The same evidence through vt_verify (what veritee verify, appraise and the broker call):
 * the nvidia layer plus normalized claims per device. */
static int entry(void *p)
{
    nv_ctx *c = p;
    vt_error e;
    vt_verify_opts o = {.tee = "nvidia", .at = AT_2024};
    vt_verify_result_clear(c->res);
    return vt_verify(c->one, c->evidence.ptr, c->evidence.len, &o, c->res, &e) == VT_OK ? 0 : -1;
}

static int rim(void *p)
{
    nv_ctx *c = p;
    vt_checks ck = {0};
    vt_error e;
    return vt_nvidia_rim_verify(c->rv, c->rim.ptr, c->rim.len, AT_2024, c->rim_out, &ck, &e) == VT_OK ? 0 : -1;
}

void bench_nvidia(const char *vectors, const bench_bounds *b)
{
    nv_ctx c = {0};
    vt_error e;
    if (load(vectors, "nvidia_hopper/hopperAttestationReport.txt", &c.report, true) != 0 ||
        load(vectors, "nvidia_hopper/hopper_cert_chain_case1.txt", &c.chain, false) != 0 ||
        load(vectors, "nvidia_hopper/rim/1010_0200_882_960074001A_PROD.swidtag", &c.rim, false) != 0 ||
        load(vectors, "nvidia_hopper/anchors/verifier_RIM_root.pem", &c.rim_root, false) != 0 ||
        vt_nvidia_verifier_new(NULL, &c.v, &e) != VT_OK)
        goto out;
    char *hex = vt_hex_dup(c.report.ptr, c.report.len), *b64 = vt_b64_encode(c.chain.ptr, c.chain.len, false);
    json_t *j = json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "device_evidence_list", "arch", "HOPPER", "uuid", "GPU-0",
                          "evidence", hex, "certificate", b64);
    char *s = json_dumps(j, 0);
    if (vt_buf_set(&c.evidence, s, strlen(s), &e) != VT_OK) fprintf(stderr, "bench nvidia: %s\n", e.msg);
    free(s);
    json_decref(j);
    free(hex);
    free(b64);
    vt_verify_sources src = {0};
    c.res = calloc(1, sizeof *c.res);
    if (c.res == NULL || vt_verifier_new(&src, &c.one, &e) != VT_OK) goto out;
    double w = rate(warm, &c), k = rate(cold, &c), ev = rate(evidence, &c), en = rate(entry, &c);
    if (w < 0 || k < 0 || ev < 0 || en < 0) {
        fprintf(stderr, "bench_nvidia: the Hopper sample does not verify\n");
        goto out;
    }
    printf("nvidia_verify_warm_per_sec %.1f 1/s\n", w);
    printf("nvidia_verify_cold_per_sec %.1f 1/s\n", k);
    printf("nvidia_evidence_json_per_sec %.1f 1/s\n", ev);
    printf("nvidia_vt_verify_per_sec %.1f 1/s\n", en);
    if (b != NULL && b->p384_verify_per_sec > 0) {
        printf("nvidia_warm_ratio_to_bound %.3f ratio\n", w / b->p384_verify_per_sec);
        printf("nvidia_vt_verify_ratio_to_bound %.3f ratio\n", en / b->p384_verify_per_sec);
        printf("nvidia_cold_ratio_to_bound %.3f ratio\n", k / (b->p384_verify_per_sec / 5.0));
    }
    c.rim_out = malloc(sizeof *c.rim_out);
    if (c.rim_out != NULL && vt_nvidia_rim_verifier_new(c.rim_root.ptr, c.rim_root.len, &c.rv, &e) == VT_OK) {
        double r = rate(rim, &c);
        if (r > 0) printf("nvidia_rim_verify_per_sec %.1f 1/s\n", r);
        else fprintf(stderr, "bench_nvidia: the VBIOS RIM does not verify\n");
    } else {
        fprintf(stderr, "bench_nvidia: RIM skipped: %s\n", e.msg);
    }
out:
    fflush(stdout);
    vt_verify_result_clear(c.res);
    free(c.res);
    vt_verifier_free(c.one);
    vt_nvidia_rim_verifier_free(c.rv);
    free(c.rim_out);
    vt_nvidia_verifier_free(c.v);
    vt_buf_free(&c.report);
    vt_buf_free(&c.chain);
    vt_buf_free(&c.evidence);
    vt_buf_free(&c.rim);
    vt_buf_free(&c.rim_root);
}
