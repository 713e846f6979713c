/* NVIDIA RIMs: the sample VBIOS RIM and nvtrust's driver test RIM verify against the pinned RIM
 * root at 2024-06-01 and fail after their signers expired; tampering breaks the XML signature;
 * the VBIOS RIM matches the coco report except the known index 9 (reported, not hidden); the
 * RIM ids and the golden-set rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/nvidia.h"

#define H "nvidia_hopper/"
#define VBIOS_RIM H "rim/1010_0200_882_960074001A_PROD.swidtag"
#define DRIVER_RIM H "rim/Driver_RIM_test_no_gpu.swidtag"
#define AT_2024 1717200000  /* 2024-06-01 */
#define AT_2026 1767225600  /* 2026-01-01 */
#define VBIOS_SIGNER_END 1757061322 /* 2025-09-05T08:35:22Z */

static vt_nvidia_rim_verifier *rim_verifier(const char *root)
{
    vt_buf pem = {0};
    vt_error e;
    vt_nvidia_rim_verifier *v = NULL;
    vt_test_load(root, &pem);
    if (vt_nvidia_rim_verifier_new(pem.ptr, pem.len, &v, &e) != VT_OK) fail_msg("%s", e.msg);
    vt_buf_free(&pem);
    return v;
}

static vt_err verify_rim(vt_nvidia_rim_verifier *v, const uint8_t *p, size_t n, vt_time at, vt_nvidia_rim *rim,
                         vt_checks *c, vt_error *e)
{
    memset(c, 0, sizeof *c);
    vt_error_clear(e);
    return vt_nvidia_rim_verify(v, p, n, at, rim, c, e);
}

static void load_report(const char *rel, vt_buf *bytes, vt_nvidia_report *r)
{
    vt_buf t = {0};
    vt_error e;
    vt_test_load(rel, &t);
    size_t n = t.len;
    while (n > 0 && (t.ptr[n - 1] == '\n' || t.ptr[n - 1] == ' ')) n--;
    if (vt_hex_decode((const char *)t.ptr, n, bytes, &e) != VT_OK) fail_msg("%s", e.msg);
    if (vt_nvidia_report_parse(bytes->ptr, bytes->len, r, &e) != VT_OK) fail_msg("%s", e.msg);
    vt_buf_free(&t);
}

static void t_rim_verify(void **state)
{
    vt_nvidia_rim_verifier *v = rim_verifier(H "anchors/verifier_RIM_root.pem");
    vt_nvidia_rim *rim = malloc(sizeof *rim);
    vt_buf x = {0};
    vt_checks c;
    vt_error e;
    vt_test_load(VBIOS_RIM, &x);
    vt_err rc = verify_rim(v, x.ptr, x.len, AT_2024, rim, &c, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_string_equal(rim->version, "96.00.74.00.1A");
    assert_string_equal(rim->name, "GH100");
    assert_string_equal(rim->signer, "HCC RIM L4 Signer");
    assert_int_equal(rim->signer_not_after, VBIOS_SIGNER_END);
    assert_int_equal(rim->n, 64);
    size_t active = 0;
    for (size_t i = 0; i < rim->n; i++) {
        assert_int_equal(rim->entries[i].index, i);
        if (!rim->entries[i].active) continue;
        active++;
        assert_true(i <= 12 && i != 7);
    }
    assert_int_equal(active, 12);
    assert_int_equal(vt_checks_find(&c, "rim_signature")->status, VT_CHECK_PASS);
    /* at the signer's notAfter (inclusive, vt_valid_at), and one second later */
    assert_int_equal(verify_rim(v, x.ptr, x.len, VBIOS_SIGNER_END, rim, &c, &e), VT_OK);
    rc = verify_rim(v, x.ptr, x.len, VBIOS_SIGNER_END + 1, rim, &c, &e);
    assert_int_equal(rc, VT_E_EXPIRED);
    assert_string_equal(e.check, "rim_chain");
    rc = verify_rim(v, x.ptr, x.len, AT_2026, rim, &c, &e);
    assert_int_equal(rc, VT_E_EXPIRED);
    assert_int_equal(rim->n, 0); /* nothing returned from an unverified RIM */
    vt_buf_free(&x);
    /* the driver test RIM: 545.00, active 7 and 21..40, signer until 2025-06-26 */
    vt_test_load(DRIVER_RIM, &x);
    rc = verify_rim(v, x.ptr, x.len, AT_2024, rim, &c, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_string_equal(rim->version, "545.00");
    active = 0;
    for (size_t i = 0; i < rim->n; i++)
        if (rim->entries[i].active) {
            active++;
            assert_true(rim->entries[i].index == 7 || (rim->entries[i].index >= 21 && rim->entries[i].index <= 40));
        }
    assert_int_equal(active, 21);
    assert_int_equal(verify_rim(v, x.ptr, x.len, AT_2026, rim, &c, &e), VT_E_EXPIRED);
    vt_buf_free(&x);
    free(rim);
    vt_nvidia_rim_verifier_free(v);
}

/* A copy with the first occurrence of `from` replaced by `to`; *n receives the new length. */
static uint8_t *patched(const vt_buf *x, const char *from, const char *to, size_t *n)
{
    size_t fl = strlen(from), tl = strlen(to);
    size_t at = x->len;
    for (size_t i = 0; at == x->len && i + fl <= x->len; i++)
        if (memcmp(x->ptr + i, from, fl) == 0) at = i;
    if (at == x->len) fail_msg("'%s' not in the RIM", from);
    uint8_t *p = malloc(x->len - fl + tl);
    memcpy(p, x->ptr, at);
    memcpy(p + at, to, tl);
    memcpy(p + at + tl, x->ptr + at + fl, x->len - at - fl);
    *n = x->len - fl + tl;
    return p;
}

static void t_rim_tamper(void **state)
{
    vt_nvidia_rim_verifier *v = rim_verifier(H "anchors/verifier_RIM_root.pem");
    vt_nvidia_rim *rim = malloc(sizeof *rim);
    vt_buf x = {0};
    vt_checks c;
    vt_error e;
    vt_test_load(VBIOS_RIM, &x);
    static const struct {
        const char *from, *to, *check;
    } T[] = {
        {"colloquialVersion=\"96.00.74.00.1A\"", "colloquialVersion=\"96.00.74.00.1B\"", "rim_signature"},
        {"Hash0=\"b558fdac", "Hash0=\"b558fdad", "rim_signature"},
        {"active=\"False\"", "active=\"True\"", "rim_signature"},
        {"<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/></ds:Transforms>",
         "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/></ds:Transforms>",
         "rim_signature"}, /* an XSLT transform is never run */
        {"<ds:Reference URI=\"\">", "<ds:Reference URI=\"#x\">", "rim_signature"},
        {"xmldsig-more#ecdsa-sha384", "xmldsig-more#ecdsa-sha256", "rim_signature"},
        {"<ds:SignatureValue>xWqf", "<ds:SignatureValue>xWqg", "rim_signature"},
        {"index=\"1\"", "index=\"0\"", "rim_format"},
        {"alternatives=\"1\"", "alternatives=\"9\"", "rim_format"},
        {"<SoftwareIdentity", "<SoftwareIdentitx", "rim_format"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        size_t n;
        uint8_t *p = patched(&x, T[i].from, T[i].to, &n);
        vt_err rc = verify_rim(v, p, n, AT_2024, rim, &c, &e);
        if (rc == VT_OK) fail_msg("tamper %zu accepted", i);
        if (strcmp(e.check, T[i].check) != 0) fail_msg("tamper %zu: %s (%s), want %s", i, e.check, e.msg, T[i].check);
        free(p);
    }
    /* a document type declaration (entity tricks) is refused */
    const char *dtd = "<!DOCTYPE x [<!ENTITY a \"b\">]>";
    uint8_t *p = malloc(x.len + strlen(dtd));
    memcpy(p, dtd, strlen(dtd));
    memcpy(p + strlen(dtd), x.ptr, x.len);
    assert_int_not_equal(verify_rim(v, p, x.len + strlen(dtd), AT_2024, rim, &c, &e), VT_OK);
    assert_string_equal(e.check, "rim_format");
    free(p);
    /* truncated XML */
    assert_int_equal(verify_rim(v, x.ptr, x.len / 2, AT_2024, rim, &c, &e), VT_E_INVALID);
    assert_int_equal(verify_rim(v, (const uint8_t *)"", 0, AT_2024, rim, &c, &e), VT_E_INVALID);
    vt_nvidia_rim_verifier_free(v);
    /* pinned to the device root instead: the signer chain does not reach it */
    v = rim_verifier(H "anchors/nvidia_device_root.pem");
    assert_int_equal(verify_rim(v, x.ptr, x.len, AT_2024, rim, &c, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "rim_chain");
    vt_nvidia_rim_verifier_free(v);
    vt_buf_free(&x);
    free(rim);
}

static void t_rim_ids(void **state)
{
    vt_nvidia_report *r = malloc(sizeof *r);
    vt_buf b = {0};
    vt_error e;
    char d[128], vb[128];
    load_report(H "hopper_coco_report1.txt", &b, r);
    assert_int_equal(vt_nvidia_rim_ids(r, VT_NVIDIA_HOPPER, d, sizeof d, vb, sizeof vb, &e), VT_OK);
    assert_string_equal(d, "NV_GPU_DRIVER_GH100_580.95.05");
    assert_string_equal(vb, "NV_GPU_VBIOS_1010_0200_882_960074001A");
    vt_buf_free(&b);
    load_report(H "hopperAttestationReport.txt", &b, r);
    assert_int_equal(vt_nvidia_rim_ids(r, VT_NVIDIA_HOPPER, d, sizeof d, vb, sizeof vb, &e), VT_OK);
    assert_string_equal(d, "NV_GPU_DRIVER_GH100_550.90.07");
    assert_string_equal(vb, "NV_GPU_VBIOS_1010_0200_882_96009F0001");
    vt_buf_free(&b);
    load_report("nvidia_blackwell/blackwellAttestationReport.txt", &b, r);
    assert_int_equal(vt_nvidia_rim_ids(r, VT_NVIDIA_BLACKWELL, d, sizeof d, vb, sizeof vb, &e), VT_OK);
    assert_string_equal(d, "NV_GPU_CC_DRIVER_GB202_595.58.03");
    assert_string_equal(vb, "NV_GPU_VBIOS_G153_0210_895_9802810001");
    vt_buf_free(&b);
    free(r);
}

static void t_rim_match(void **state)
{
    vt_nvidia_rim_verifier *v = rim_verifier(H "anchors/verifier_RIM_root.pem");
    vt_nvidia_rim *vbios = malloc(sizeof *vbios), *drv = malloc(sizeof *drv), *syn = malloc(sizeof *syn);
    vt_nvidia_report *r = malloc(sizeof *r);
    vt_buf x = {0}, b = {0};
    vt_checks c;
    vt_error e;
    json_t *res = NULL;
    vt_test_load(VBIOS_RIM, &x);
    assert_int_equal(verify_rim(v, x.ptr, x.len, AT_2024, vbios, &c, &e), VT_OK);
    vt_buf_free(&x);
    vt_test_load(DRIVER_RIM, &x);
    assert_int_equal(verify_rim(v, x.ptr, x.len, AT_2024, drv, &c, &e), VT_OK);
    vt_buf_free(&x);
    load_report(H "hopper_coco_report1.txt", &b, r);
    /* VBIOS RIM vs the coco report: 11 match, 0-based index 9 does not */
    memset(&c, 0, sizeof c);
    vt_err rc = vt_nvidia_rim_match(r, NULL, vbios, &res, &c, &e);
    assert_int_equal(rc, VT_E_VERIFY);
    assert_string_equal(e.check, "rim_measurements");
    assert_non_null(strstr(e.msg, "1 of 12"));
    assert_int_equal(json_array_size(json_object_get(res, "matched")), 11);
    json_t *mm = json_object_get(res, "mismatched");
    assert_int_equal(json_array_size(mm), 1);
    json_t *m0 = json_array_get(mm, 0);
    assert_int_equal(json_integer_value(json_object_get(m0, "index")), 9);
    assert_string_equal(json_string_value(json_object_get(m0, "rim")), "vbios");
    assert_true(strncmp(json_string_value(json_object_get(m0, "runtime")), "059b32e7", 8) == 0);
    assert_true(strncmp(json_string_value(json_array_get(json_object_get(m0, "golden"), 0)), "7f3e9382", 8) == 0);
    /* the driver range is what the VBIOS RIM leaves uncovered: 7 and indices in 21..41 */
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(res, "not_covered"), i, u) {
        json_int_t k = json_integer_value(u);
        assert_true(k == 7 || (k >= 21 && k <= 41));
    }
    assert_int_equal(vt_checks_find(&c, "rim_coverage")->status, VT_CHECK_FAIL);
    json_decref(res);
    /* the driver test RIM is for 545.00, not 580.95.05 */
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_nvidia_rim_match(r, drv, vbios, &res, &c, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "rim_version");
    assert_null(res);
    /* synthetic: index 9 given the runtime value as second alternative -> all 12 match; with a
     * driver RIM of the report's version taking the rest, the result is complete */
    *syn = *vbios;
    for (size_t k = 0; k < syn->n; k++)
        if (syn->entries[k].index == 9) {
            syn->entries[k].n_alt = 2;
            memcpy(syn->entries[k].hash[1], r->blocks[9].value.ptr, 48);
        }
    *drv = *vbios;
    snprintf(drv->version, sizeof drv->version, "580.95.05");
    for (size_t k = 0; k < drv->n; k++) {
        vt_nvidia_rim_entry *en = &drv->entries[k];
        en->active = en->index == 7 || (en->index >= 21 && en->index <= 41);
        en->n_alt = 1;
        memcpy(en->hash[0], r->blocks[en->index].value.ptr, 48);
        if (en->index == 35) en->hash[0][0] ^= 1; /* skipped: NVDEC0 is disabled */
    }
    memset(&c, 0, sizeof c);
    rc = vt_nvidia_rim_match(r, drv, syn, &res, &c, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_int_equal(json_array_size(json_object_get(res, "mismatched")), 0);
    assert_int_equal(json_array_size(json_object_get(res, "skipped")), 1);
    assert_int_equal(json_array_size(json_object_get(res, "not_covered")), 0);
    assert_int_equal(json_array_size(json_object_get(res, "matched")), 12 + 22 - 1);
    json_decref(res);
    /* with NVDEC0 enabled index 35 is compared, and fails */
    r->nvdec0 = VT_NV_NVDEC0_ENABLED;
    assert_int_equal(vt_nvidia_rim_match(r, drv, syn, NULL, &c, &e), VT_E_VERIFY);
    r->nvdec0 = VT_NV_NVDEC0_DISABLED;
    /* an index active in both RIMs is an error */
    drv->entries[3].active = true;
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_nvidia_rim_match(r, drv, syn, NULL, &c, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "rim_golden");
    vt_buf_free(&b);
    free(r);
    free(vbios);
    free(drv);
    free(syn);
    vt_nvidia_rim_verifier_free(v);
}

/* RIM appraisal inside the device verification (opts.rims): the coco report with the real VBIOS
 * RIM lacks a driver RIM (missing), with a driver RIM of its version fails at index 9, and with
 * index 9 given its runtime value as an alternative passes, the claims carrying the result. */
static void t_verify_with_rims(void **state)
{
    vt_nvidia_rim_verifier *rv = rim_verifier(H "anchors/verifier_RIM_root.pem");
    vt_nvidia_rim *vbios = malloc(sizeof *vbios), *drv = malloc(sizeof *drv), *syn = malloc(sizeof *syn);
    vt_nvidia_report *r = malloc(sizeof *r);
    vt_buf x = {0}, b = {0}, chain = {0};
    vt_checks c = {0};
    vt_error e;
    vt_test_load(VBIOS_RIM, &x);
    assert_int_equal(verify_rim(rv, x.ptr, x.len, AT_2024, vbios, &c, &e), VT_OK);
    load_report(H "hopper_coco_report1.txt", &b, r);
    vt_test_load(H "hopper_coco_certs1.txt", &chain);
    *drv = *vbios;
    snprintf(drv->version, sizeof drv->version, "580.95.05");
    for (size_t k = 0; k < drv->n; k++) {
        vt_nvidia_rim_entry *en = &drv->entries[k];
        en->active = en->index == 7 || (en->index >= 21 && en->index <= 41);
        en->n_alt = 1;
        memcpy(en->hash[0], r->blocks[en->index].value.ptr, 48);
    }
    *syn = *vbios;
    for (size_t k = 0; k < syn->n; k++)
        if (syn->entries[k].index == 9) {
            syn->entries[k].n_alt = 2;
            memcpy(syn->entries[k].hash[1], r->blocks[9].value.ptr, 48);
        }
    vt_nvidia_verifier *v = NULL;
    assert_int_equal(vt_nvidia_verifier_new(NULL, &v, &e), VT_OK);
    const vt_nvidia_rim *only_vbios[] = {vbios}, *real[] = {vbios, drv}, *fixed[] = {syn, drv};
    vt_nvidia_verify_opts o = {.at = AT_2024, .rims = only_vbios, .n_rims = 1};
    json_t *claims = NULL;
    memset(&c, 0, sizeof c);
    vt_err rc = vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, b.ptr, b.len, chain.ptr, chain.len, &o, &claims, &c, &e);
    assert_int_equal(rc, VT_E_MISSING);
    assert_string_equal(e.check, "rim_coverage");
    assert_null(claims);
    o.rims = real, o.n_rims = 2;
    memset(&c, 0, sizeof c);
    rc = vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, b.ptr, b.len, chain.ptr, chain.len, &o, &claims, &c, &e);
    assert_int_equal(rc, VT_E_VERIFY);
    assert_string_equal(e.check, "rim_measurements");
    assert_non_null(strstr(e.msg, "index 9"));
    o.rims = fixed;
    memset(&c, 0, sizeof c);
    rc = vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, b.ptr, b.len, chain.ptr, chain.len, &o, &claims, &c, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    json_t *rim = json_object_get(claims, "rim");
    assert_int_equal(json_array_size(json_object_get(rim, "matched")), 12 + 22 - 1); /* 35 skipped */
    assert_int_equal(json_array_size(json_object_get(rim, "skipped")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rim, "driver_rim"), "version")), "580.95.05");
    json_decref(claims);
    vt_nvidia_verifier_free(v);
    vt_buf_free(&x), vt_buf_free(&b), vt_buf_free(&chain);
    free(vbios), free(drv), free(syn), free(r);
    vt_nvidia_rim_verifier_free(rv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_rim_verify), cmocka_unit_test(t_rim_tamper),
        cmocka_unit_test(t_rim_ids), cmocka_unit_test(t_rim_match), cmocka_unit_test(t_verify_with_rims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
