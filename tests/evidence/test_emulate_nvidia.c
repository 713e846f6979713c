/* Emulated NVIDIA GPUs: the emulator's GPU evidence (Trustee's device_evidence_list, Hopper
 * format) verifies with the NVIDIA verifier against the emulator's device root, carries the
 * configured versions and the nonce, is flagged emulated; the built-in NVIDIA pin refuses it;
 * a platform without an "nvidia" section has no GPUs. */
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
    assert_int_equal(vt_emu_init(dir, "{\"nvidia\":{\"arch\":\"BLACKWELL\"}}", T0, &e), VT_E_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_emulated_gpus),
        cmocka_unit_test(t_no_gpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
