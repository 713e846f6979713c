/* NVIDIA GPU evidence through the one verification entry (vt_verify, tee "nvidia"): the real
 * Hopper captures verify at their README instants into per-device normalized claims (arch, UEID,
 * versions, CC mode, measurements, nonce); options that cannot apply are refused both ways; the
 * emulated GPUs' CC-off, PPCIE and replay knobs show in the claims or fail with the named check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"
#include "veritee/verify.h"

#define T0 1780315200 /* 2026-06-01T12:00:00Z */

static vt_time at(const char *s)
{
    vt_time t = 0;
    assert_int_equal(vt_time_parse_rfc3339(s, &t, NULL), VT_OK);
    return t;
}

/* Trustee's evidence JSON around one vector report (hex text) and chain (PEM text). */
static char *vector_evidence(const char *report, const char *chain)
{
    vt_buf r = {0}, c = {0};
    vt_test_load(report, &r);
    vt_test_load(chain, &c);
    size_t n = r.len;
    while (n > 0 && (r.ptr[n - 1] == '\n' || r.ptr[n - 1] == '\r')) n--;
    char *b64 = vt_b64_encode(c.ptr, c.len, false);
    json_t *j = json_pack("{s:[{s:s, s:s, s:s%, s:s}]}", "device_evidence_list", "arch", "HOPPER", "uuid", "GPU-x",
                          "evidence", (const char *)r.ptr, n, "certificate", b64);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(b64);
    vt_buf_free(&r);
    vt_buf_free(&c);
    assert_non_null(s);
    return s;
}

/* vt_verify resets the result: the previous one is released first */
static vt_err run(vt_verifier *v, const void *ev, size_t len, const vt_verify_opts *o, vt_verify_result *r, vt_error *e)
{
    vt_verify_result_clear(r);
    vt_error_clear(e);
    return vt_verify(v, ev, len, o, r, e);
}

static vt_verifier *builtin_verifier(void)
{
    vt_verify_sources src = {0};
    vt_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
    return v;
}

static void test_real_hopper_claims(void **state)
{
    (void)state;
    char *sample = vector_evidence("nvidia_hopper/hopperAttestationReport.txt", "nvidia_hopper/hopper_cert_chain_case1.txt");
    char *coco = vector_evidence("nvidia_hopper/hopper_coco_report1.txt", "nvidia_hopper/hopper_coco_certs1.txt");
    vt_verifier *v = builtin_verifier();
    vt_verify_result r;
    memset(&r, 0, sizeof r);
    vt_error e;
    vt_verify_opts o = {.tee = "nvidia", .at = at("2022-03-01T00:00:00Z")};
    vt_err rc = run(v, sample, strlen(sample), &o, &r, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_int_equal(r.tee, VT_TEE_NVIDIA);
    assert_int_equal(r.n_gpus, 1);
    const vt_claims_gpu *g = &r.gpus[0].u.gpu;
    assert_true(r.claims.verified);
    assert_false(r.claims.emulated);
    assert_string_equal(g->arch, "HOPPER");
    assert_string_equal(g->ueid, "478176379286082186618948445787393647364802107249");
    assert_string_equal(g->driver_version, "550.90.07");
    assert_string_equal(g->vbios_version, "96.00.9f.00.01");
    assert_false(g->cc_mode); /* this driver's report carries no feature_flag */
    assert_int_equal(g->n_meas, 64);
    uint8_t zero[48] = {0}, nonce[32];
    assert_memory_equal(g->meas[0], zero, 48); /* blocks 1 and 64 are zero in the Hopper captures */
    vt_buf hn = {0};
    assert_int_equal(vt_hex_decode("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb", 64, &hn, &e), VT_OK);
    memcpy(nonce, hn.ptr, 32);
    vt_buf_free(&hn);
    assert_memory_equal(r.claims.report_data, nonce, 32);
    json_t *cj = vt_claims_json(&r.claims);
    assert_string_equal(json_string_value(json_object_get(cj, "tee")), "nvidia");
    assert_string_equal(json_string_value(json_object_get(json_object_get(cj, "tee_claims"), "cc_mode")), "not_shown");
    json_decref(cj);
    /* the expected nonce is enforced (first 32 bytes) */
    o.nonce = nonce;
    o.nonce_len = 32;
    assert_int_equal(run(v, sample, strlen(sample), &o, &r, &e), VT_OK);
    nonce[5] ^= 1;
    assert_int_equal(run(v, sample, strlen(sample), &o, &r, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "nonce");
    /* one second before the chain's earliest instant */
    o.nonce = NULL;
    o.at = at("2022-02-28T23:59:59Z");
    assert_int_not_equal(run(v, sample, strlen(sample), &o, &r, &e), VT_OK);
    /* the CoCo capture (driver 580) states its CC mode: SPT */
    o.at = at("2024-06-01T00:00:00Z");
    rc = run(v, coco, strlen(coco), &o, &r, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_true(r.gpus[0].u.gpu.cc_mode);
    assert_string_equal(r.gpus[0].u.gpu.feature, "SPT");
    assert_false(r.gpus[0].u.gpu.ppcie);
    assert_string_equal(r.gpus[0].u.gpu.driver_version, "580.95.05");
    vt_verify_result_clear(&r);
    vt_verifier_free(v);
    free(sample);
    free(coco);
}

static void test_options_refused(void **state)
{
    (void)state;
    char *sample = vector_evidence("nvidia_hopper/hopperAttestationReport.txt", "nvidia_hopper/hopper_cert_chain_case1.txt");
    vt_verifier *v = builtin_verifier();
    vt_verify_result r;
    memset(&r, 0, sizeof r);
    vt_error e;
    vt_verify_opts o = {.tee = "nvidia", .at = at("2024-06-01T00:00:00Z"), .product = "milan"};
    assert_int_equal(run(v, sample, strlen(sample), &o, &r, &e), VT_E_ARG);
    o.product = NULL;
    o.crl_required = true;
    assert_int_equal(run(v, sample, strlen(sample), &o, &r, &e), VT_E_ARG);
    /* OCSP responses do not apply to a TDX quote */
    uint8_t q[64] = {4, 0, 2, 0, 0x81};
    vt_bytes resp = {q, 4};
    vt_verify_opts t = {.tee = "tdx", .at = o.at, .ocsp = &resp, .n_ocsp = 1};
    assert_int_equal(run(v, q, sizeof q, &t, &r, &e), VT_E_ARG);
    /* GPU evidence is never guessed */
    vt_verify_opts a = {.at = o.at};
    assert_int_equal(run(v, sample, strlen(sample), &a, &r, &e), VT_E_ARG);
    vt_verify_result_clear(&r);
    vt_verifier_free(v);
    /* a named trust anchor that is not there: missing (exit 3), not the built-in pin */
    vt_verify_sources src = {.trust_dir = "/nonexistent/nvidia_device_root.pem"};
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
    assert_int_equal(run(v, sample, strlen(sample), &o, &r, &e), VT_E_ARG);
    o.crl_required = false;
    assert_int_equal(run(v, sample, strlen(sample), &o, &r, &e), VT_E_MISSING);
    vt_verify_result_clear(&r);
    vt_verifier_free(v);
    free(sample);
}

static void emu_gpus(const char *platform, char *dir, size_t cap, vt_buf *ev, const uint8_t nonce[32])
{
    vt_error e;
    vt_test_tmpdir(dir, cap);
    if (vt_emu_init(dir, platform, T0, &e) != VT_OK) fail_msg("emu init: %s", e.msg);
    vt_emu *emu = NULL;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    if (vt_emu_nvidia_evidence(emu, nonce, ev, &e) != VT_OK) fail_msg("%s", e.msg);
    vt_emu_free(emu);
}

static void test_emulated_modes(void **state)
{
    (void)state;
    char dir[256], trust[300];
    uint8_t nonce[32];
    for (int i = 0; i < 32; i++) nonce[i] = (uint8_t)(0x40 + i);
    vt_buf ev = {0};
    emu_gpus("{\"nvidia\":{\"gpus\":2,\"feature\":\"PPCIE\",\"cc_off\":[1]}}", dir, sizeof dir, &ev, nonce);
    snprintf(trust, sizeof trust, "%s/trust", dir); /* the emulator's trust dir: its nvidia/ root */
    vt_verify_sources src = {.trust_dir = trust};
    vt_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
    vt_verify_result r;
    memset(&r, 0, sizeof r);
    vt_verify_opts o = {.tee = "nvidia", .at = T0 + 60, .nonce = nonce, .nonce_len = 32};
    vt_err rc = run(v, ev.ptr, ev.len, &o, &r, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_int_equal(r.n_gpus, 2);
    assert_true(r.gpus[0].emulated);
    assert_true(r.gpus[0].u.gpu.cc_mode);
    assert_true(r.gpus[0].u.gpu.ppcie);
    assert_false(r.gpus[1].u.gpu.cc_mode); /* listed in cc_off */
    assert_false(r.gpus[1].u.gpu.ppcie);
    assert_string_not_equal(r.gpus[0].u.gpu.ueid, r.gpus[1].u.gpu.ueid);
    assert_false(r.gpus[0].revocation_checked);
    vt_verify_result_clear(&r);
    vt_verifier_free(v);
    vt_buf_free(&ev);
    /* a replayed report: the same UEID twice */
    emu_gpus("{\"nvidia\":{\"gpus\":1,\"replay\":true}}", dir, sizeof dir, &ev, nonce);
    snprintf(trust, sizeof trust, "%s/trust", dir);
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
    assert_int_equal(run(v, ev.ptr, ev.len, &o, &r, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "ueid_unique");
    vt_verify_result_clear(&r);
    vt_verifier_free(v);
    vt_buf_free(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_hopper_claims),
        cmocka_unit_test(test_options_refused),
        cmocka_unit_test(test_emulated_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
