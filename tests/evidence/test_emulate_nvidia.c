/* Emulated NVIDIA GPUs: the emulator's GPU evidence (Trustee's device_evidence_list, Hopper
 * format) verifies with the NVIDIA verifier against the emulator's device root, carries the
 * configured versions and the nonce, is flagged emulated; the built-in NVIDIA pin refuses it;
 * a platform without an "nvidia" section has no GPUs. Blackwell: a mixed set verifies, the
 * Blackwell device with NVIDIA's five-certificate chain shape and the DiceTcbInfo FWID rule,
 * and is refused when claimed as Hopper. PPCIe: every GPU names the same switch PDIs, except
 * one listed in other_switch; nvidia.switches sets their number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"
#include "veritee/nvidia.h"

#define T0 1780315200 /* 2026-06-01T12:00:00Z */

static void make_emu(char *dir, size_t cap, const char *platform)
{
    vt_error e;
    vt_test_tmpdir(dir, cap);
    vt_err rc = vt_emu_init(dir, platform, T0, &e);
    if (rc != VT_OK) fail_msg("emu init: %s", e.msg);
}

static void t_emulated_gpus(void **state)
{
    char dir[256], root_path[512];
    vt_error e;
    make_emu(dir, sizeof dir,
             "{\"nvidia\":{\"gpus\":2,\"driver_version\":\"580.95.05\",\"vbios_version\":\"96.00.74.00.1a\"}}");
    vt_emu *emu = NULL;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    uint8_t nonce[32];
    for (int i = 0; i < 32; i++) nonce[i] = (uint8_t)(0x30 + i);
    vt_buf ev = {0}, root = {0};
    if (vt_emu_nvidia_evidence(emu, nonce, &ev, &e) != VT_OK) fail_msg("%s", e.msg);
    snprintf(root_path, sizeof root_path, "%s/trust/nvidia/nvidia_device_root.pem", dir);
    assert_int_equal(vt_file_read(root_path, 65536, &root, &e), VT_OK);
    vt_nvidia_trust t = {.device_roots_pem = root.ptr, .device_roots_len = root.len};
    vt_nvidia_verifier *v = NULL;
    assert_int_equal(vt_nvidia_verifier_new(&t, &v, &e), VT_OK);
    vt_nvidia_verify_opts o = {.at = T0 + 3600, .nonce = nonce, .nonce_len = 32};
    vt_checks c = {0};
    json_t *claims = NULL;
    vt_err rc = vt_nvidia_verify(v, ev.ptr, ev.len, &o, &claims, &c, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    json_t *devs = json_object_get(claims, "devices");
    assert_int_equal(json_array_size(devs), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *d = json_array_get(devs, i), *cfg = json_object_get(d, "config");
        assert_true(json_is_true(json_object_get(d, "emulated")));
        assert_string_equal(json_string_value(json_object_get(cfg, "driver_version")), "580.95.05");
        assert_string_equal(json_string_value(json_object_get(cfg, "vbios_version")), "96.00.74.00.1a");
        assert_string_equal(json_string_value(json_object_get(cfg, "nvdec0_status")), "disabled");
        assert_int_equal(json_object_size(json_object_get(d, "measurements")), 64);
    }
    json_decref(claims);
    /* a nonce the emulator was not asked for */
    nonce[0] ^= 1;
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_nvidia_verify(v, ev.ptr, ev.len, &o, &claims, &c, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "nonce");
    nonce[0] ^= 1;
    /* before the emulated certificates' validity */
    o.at = T0 - 2 * 86400;
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_nvidia_verify(v, ev.ptr, ev.len, &o, &claims, &c, &e), VT_E_EXPIRED);
    vt_nvidia_verifier_free(v);
    /* the built-in NVIDIA pin does not take the emulated root */
    assert_int_equal(vt_nvidia_verifier_new(NULL, &v, &e), VT_OK);
    o.at = T0 + 3600;
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_nvidia_verify(v, ev.ptr, ev.len, &o, &claims, &c, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "root_pinned");
    vt_nvidia_verifier_free(v);
    vt_buf_free(&ev), vt_buf_free(&root);
    vt_emu_free(emu);
}

static void t_no_gpus(void **state)
{
    char dir[256];
    vt_error e;
    make_emu(dir, sizeof dir, "{\"cca\":{}}");
    vt_emu *emu = NULL;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    uint8_t nonce[32] = {0};
    vt_buf ev = {0};
    assert_int_equal(vt_emu_nvidia_evidence(emu, nonce, &ev, &e), VT_E_MISSING);
    vt_emu_free(emu);
    /* out-of-range GPU count, unsupported architecture */
    vt_test_tmpdir(dir, sizeof dir);
    assert_int_equal(vt_emu_init(dir, "{\"nvidia\":{\"gpus\":9}}", T0, &e), VT_E_INVALID);
    vt_test_tmpdir(dir, sizeof dir);
    assert_int_equal(vt_emu_init(dir, "{\"nvidia\":{\"arch\":\"AMPERE\"}}", T0, &e), VT_E_INVALID);
    vt_test_tmpdir(dir, sizeof dir);
    assert_int_equal(vt_emu_init(dir, "{\"nvidia\":{\"gpus\":2,\"arch\":[\"BLACKWELL\"]}}", T0, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "one per GPU"));
}

/* The emulator's evidence for `platform`, verified against its root; the claims (NULL on a
 * failure, whose code is returned and check copied). */
static vt_err emu_verify(const char *platform, void (*edit)(json_t *), json_t **claims, char *check)
{
    char dir[256], root_path[512];
    vt_error e;
    make_emu(dir, sizeof dir, platform);
    vt_emu *emu = NULL;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    uint8_t nonce[32];
    for (int i = 0; i < 32; i++) nonce[i] = (uint8_t)(0x61 + i);
    vt_buf ev = {0}, root = {0};
    if (vt_emu_nvidia_evidence(emu, nonce, &ev, &e) != VT_OK) fail_msg("%s", e.msg);
    if (edit != NULL) {
        json_t *j = json_loadb((const char *)ev.ptr, ev.len, 0, NULL);
        assert_non_null(j);
        edit(j);
        char *s = json_dumps(j, JSON_COMPACT);
        vt_buf_free(&ev);
        assert_int_equal(vt_buf_set(&ev, s, strlen(s), &e), VT_OK);
        free(s);
        json_decref(j);
    }
    snprintf(root_path, sizeof root_path, "%s/trust/nvidia/nvidia_device_root.pem", dir);
    assert_int_equal(vt_file_read(root_path, 65536, &root, &e), VT_OK);
    vt_nvidia_trust t = {.device_roots_pem = root.ptr, .device_roots_len = root.len};
    vt_nvidia_verifier *v = NULL;
    assert_int_equal(vt_nvidia_verifier_new(&t, &v, &e), VT_OK);
    vt_nvidia_verify_opts o = {.at = T0 + 3600, .nonce = nonce, .nonce_len = 32};
    vt_checks c = {0};
    vt_err rc = vt_nvidia_verify(v, ev.ptr, ev.len, &o, claims, &c, &e);
    snprintf(check, 40, "%.39s", e.check);
    vt_nvidia_verifier_free(v);
    vt_buf_free(&ev), vt_buf_free(&root);
    vt_emu_free(emu);
    return rc;
}

static const char *cfg_str(json_t *claims, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(claims, "devices"), i), "config"), key));
}

static void blackwell_as_hopper(json_t *j)
{
    json_object_set_new(json_array_get(json_object_get(j, "device_evidence_list"), 0), "arch", json_string("HOPPER"));
}

static void t_blackwell(void **state)
{
    (void)state;
    json_t *claims = NULL;
    char check[40];
    vt_err rc = emu_verify("{\"nvidia\":{\"gpus\":2,\"arch\":[\"BLACKWELL\",\"HOPPER\"]}}", NULL, &claims, check);
    if (rc != VT_OK) fail_msg("mixed set: %s", check);
    json_t *devs = json_object_get(claims, "devices"), *bw = json_array_get(devs, 0), *hop = json_array_get(devs, 1);
    assert_string_equal(json_string_value(json_object_get(bw, "arch")), "BLACKWELL");
    assert_string_equal(json_string_value(json_object_get(hop, "arch")), "HOPPER");
    json_t *chain = json_object_get(bw, "certificate_chain");
    assert_int_equal(json_array_size(chain), 5);
    assert_string_equal(json_string_value(json_array_get(chain, 0)), "Emulated GB20X A01 GSP FMC LF");
    assert_string_equal(json_string_value(json_array_get(chain, 1)), "Emulated GB20X A01 GSP BROM");
    assert_string_equal(json_string_value(json_array_get(chain, 3)), "Emulated NVIDIA GB20X Identity");
    assert_int_equal(json_array_size(json_object_get(hop, "certificate_chain")), 3);
    /* the GB202 report's fields: chip_info (its RIM ids use it), sys_enable_status, no PPCIe status */
    assert_string_equal(cfg_str(claims, 0, "chip_info"), "GB202");
    assert_string_equal(cfg_str(claims, 0, "project"), "G153");
    assert_string_equal(cfg_str(claims, 0, "driver_version"), "595.58.03");
    assert_string_equal(cfg_str(claims, 0, "vbios_version"), "98.02.81.00.01");
    assert_non_null(cfg_str(claims, 0, "sys_enable_status"));
    assert_null(cfg_str(claims, 0, "protected_pcie_status"));
    assert_null(cfg_str(claims, 1, "chip_info"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(bw, "rim_ids"), "driver")),
                        "NV_GPU_CC_DRIVER_GB202_595.58.03");
    json_decref(claims);
    /* the Blackwell device claimed as Hopper: the Hopper FWID extension is absent */
    claims = NULL;
    assert_int_equal(emu_verify("{\"nvidia\":{\"arch\":\"BLACKWELL\"}}", blackwell_as_hopper, &claims, check),
                     VT_E_VERIFY);
    assert_string_equal(check, "fwid");
    assert_null(claims);
}

static void t_ppcie(void **state)
{
    (void)state;
    json_t *claims = NULL;
    char check[40];
    vt_err rc = emu_verify("{\"nvidia\":{\"gpus\":3,\"arch\":[\"HOPPER\",\"BLACKWELL\",\"HOPPER\"],"
                           "\"feature\":\"PPCIE\",\"other_switch\":[2]}}",
                           NULL, &claims, check);
    if (rc != VT_OK) fail_msg("ppcie: %s", check);
    json_t *devs = json_object_get(claims, "devices");
    json_t *s0 = json_object_get(json_object_get(json_array_get(devs, 0), "config"), "switch_pdi");
    json_t *s1 = json_object_get(json_object_get(json_array_get(devs, 1), "config"), "switch_pdi");
    json_t *s2 = json_object_get(json_object_get(json_array_get(devs, 2), "config"), "switch_pdi");
    assert_int_equal(json_array_size(s0), 4);
    assert_true(json_equal(s0, s1)); /* Hopper and Blackwell in one system: the same switches */
    assert_int_equal(json_array_size(s2), 4);
    assert_false(json_equal(s0, s2));
    assert_string_equal(json_string_value(json_array_get(s0, 0)), json_string_value(json_array_get(s2, 0)));
    assert_string_equal(cfg_str(claims, 1, "feature_flag"), "PPCIE");
    json_decref(claims);
    claims = NULL;
    assert_int_equal(emu_verify("{\"nvidia\":{\"feature\":\"PPCIE\",\"switches\":3}}", NULL, &claims, check), VT_OK);
    assert_int_equal(json_array_size(json_object_get(json_object_get(json_array_get(json_object_get(claims, "devices"), 0),
                                                                     "config"), "switch_pdi")), 3);
    json_decref(claims);
    /* not in PPCIe mode: no switch_pdi */
    claims = NULL;
    assert_int_equal(emu_verify("{\"nvidia\":{\"feature\":\"MPT\",\"switches\":3}}", NULL, &claims, check), VT_OK);
    assert_null(json_object_get(json_object_get(json_array_get(json_object_get(claims, "devices"), 0), "config"),
                                "switch_pdi"));
    json_decref(claims);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_emulated_gpus),
        cmocka_unit_test(t_no_gpus),
        cmocka_unit_test(t_blackwell),
        cmocka_unit_test(t_ppcie),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
