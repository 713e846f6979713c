/* GPU evidence through NVML (src/evidence/nvml.c): what the library hands back is checked before
 * use. The sizes are bounded by their arrays (0, one past, UINT_MAX refused; a full array
 * accepted, its trailing bytes left to the verifier), the UUID must end within its buffer, the report must parse
 * and carry the nonce, the chain must be PEM text (trailing NULs dropped), the architecture must
 * be Hopper or Blackwell. Then the whole collector over the stand-in library
 * ($VERITEE_FAKE_NVML, tests/fixtures/fake_nvml.c): its evidence verifies against the emulated
 * root; a missing library is VT_E_MISSING. Reports come from the emulated GPUs. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/nvml_internal.h"
#include "testutil.h"
#include "veritee/emulate.h"
#include "veritee/evidence.h"
#include "veritee/fileio.h"
#include "veritee/nvidia.h"

#define T0 1780315200 /* 2026-06-01T12:00:00Z */

typedef struct fx {
    char dir[256];
    uint8_t nonce[32];
    nvmlConfComputeGpuAttestationReport_t rep;
    nvmlConfComputeGpuCertificate_t cert;
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    json_t *list;
} fx;

/* GPU 0 of an emulated Hopper pair, as NVML would hand it over. */
static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    vt_error e;
    vt_test_tmpdir(f->dir, sizeof f->dir);
    if (vt_emu_init(f->dir, "{\"nvidia\":{\"gpus\":2}}", T0, &e) != VT_OK) fail_msg("emu init: %s", e.msg);
    for (int i = 0; i < 32; i++) f->nonce[i] = (uint8_t)(0xA0 + i);
    vt_emu *emu = NULL;
    vt_buf ev = {0}, rep = {0}, chain = {0};
    assert_int_equal(vt_emu_open(f->dir, &emu, &e), VT_OK);
    assert_int_equal(vt_emu_nvidia_evidence(emu, f->nonce, &ev, &e), VT_OK);
    vt_emu_free(emu);
    json_t *doc = json_loadb((const char *)ev.ptr, ev.len, 0, NULL), *d0;
    assert_non_null(doc);
    d0 = json_array_get(json_object_get(doc, "device_evidence_list"), 0);
    const char *hex = json_string_value(json_object_get(d0, "evidence")),
               *b64 = json_string_value(json_object_get(d0, "certificate"));
    assert_int_equal(vt_hex_decode(hex, strlen(hex), &rep, &e), VT_OK);
    assert_int_equal(vt_b64_decode(b64, strlen(b64), &chain, &e), VT_OK);
    assert_true(rep.len <= sizeof f->rep.attestationReport && chain.len < sizeof f->cert.attestationCertChain);
    memcpy(f->rep.attestationReport, rep.ptr, rep.len);
    f->rep.attestationReportSize = (unsigned int)rep.len;
    memcpy(f->cert.attestationCertChain, chain.ptr, chain.len);
    f->cert.attestationCertChainSize = (unsigned int)chain.len;
    snprintf(f->uuid, sizeof f->uuid, "GPU-11111111-2222-3333-4444-555555555555");
    f->list = json_array();
    json_decref(doc);
    vt_buf_free(&ev), vt_buf_free(&rep), vt_buf_free(&chain);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    json_decref(f->list);
    free(f);
    return 0;
}

static vt_err entry(fx *f, unsigned arch, vt_error *e)
{
    return nvml_device_entry(0, arch, f->uuid, &f->rep, &f->cert, f->nonce, f->list, e);
}

static void t_size_bounds(void **state)
{
    (void)state;
    vt_error e;
    assert_int_equal(nvml_size_check(1, 8192, 0, "call", "field", &e), VT_OK);
    assert_int_equal(nvml_size_check(8192, 8192, 0, "call", "field", &e), VT_OK);
    assert_int_equal(nvml_size_check(0, 8192, 3, "call", "field", &e), VT_E_INVALID);
    assert_int_equal(nvml_size_check(8193, 8192, 3, "nvmlX", "attestationReportSize", &e), VT_E_INVALID);
    assert_string_equal(e.msg, "GPU 3: nvmlX: attestationReportSize 8193 is outside 1..8192 (the buffer's size)");
    assert_string_equal(e.check, "nvml");
    assert_int_equal(nvml_size_check(UINT_MAX, 8192, 0, "call", "field", &e), VT_E_INVALID);
}

static void t_entry_ok(void **state)
{
    fx *f = *state;
    vt_error e;
    /* NVML counts a NUL after the PEM text: dropped, not sent */
    f->cert.attestationCertChainSize += 2;
    if (entry(f, NVML_DEVICE_ARCH_HOPPER, &e) != VT_OK) fail_msg("%s", e.msg);
    json_t *d = json_array_get(f->list, 0);
    assert_string_equal(json_string_value(json_object_get(d, "arch")), "HOPPER");
    assert_string_equal(json_string_value(json_object_get(d, "uuid")), f->uuid);
    const char *b64 = json_string_value(json_object_get(d, "certificate"));
    vt_buf pem = {0};
    assert_int_equal(vt_b64_decode(b64, strlen(b64), &pem, &e), VT_OK);
    assert_int_equal(pem.len, f->cert.attestationCertChainSize - 2);
    assert_null(memchr(pem.ptr, 0, pem.len));
    vt_buf_free(&pem);
    /* the hex evidence is the report's bytes */
    const char *hex = json_string_value(json_object_get(d, "evidence"));
    assert_int_equal(strlen(hex), 2u * f->rep.attestationReportSize);
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_BLACKWELL, &e), VT_OK);
    assert_string_equal(json_string_value(json_object_get(json_array_get(f->list, 1), "arch")), "BLACKWELL");
}

static void t_entry_sizes(void **state)
{
    fx *f = *state;
    vt_error e;
    unsigned int good = f->rep.attestationReportSize;
    f->rep.attestationReportSize = sizeof f->rep.attestationReport + 1;
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "attestationReportSize 8193 is outside 1..8192"));
    f->rep.attestationReportSize = UINT_MAX;
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_INVALID);
    f->rep.attestationReportSize = 0;
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_INVALID);
    /* the whole array: within bounds; the bytes after the signature are sent as NVML gave them
     * (the verifier's trailing-byte rule judges them, check report_length) */
    f->rep.attestationReportSize = sizeof f->rep.attestationReport;
    memset(f->rep.attestationReport + good, 0xEE, sizeof f->rep.attestationReport - good);
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_OK);
    const char *hex = json_string_value(json_object_get(json_array_get(f->list, 0), "evidence"));
    assert_int_equal(strlen(hex), 2u * sizeof f->rep.attestationReport);
    json_array_clear(f->list);
    /* cut short: refused by the parser */
    f->rep.attestationReportSize = good - 1;
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_INVALID);
    f->rep.attestationReportSize = good;
    f->cert.attestationCertChainSize = sizeof f->cert.attestationCertChain + 1;
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "attestationCertChainSize 5121 is outside 1..5120"));
    assert_int_equal(json_array_size(f->list), 0);
}

static void t_entry_refusals(void **state)
{
    fx *f = *state;
    vt_error e;
    assert_int_equal(entry(f, 7 /* Ampere */, &e), VT_E_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "architecture 7"));
    /* the nonce not echoed: the report was made over another one */
    f->nonce[31] ^= 1;
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "NVML did not echo it"));
    f->nonce[31] ^= 1;
    /* UUID without its NUL, empty, not printable */
    memset(f->uuid, 'A', sizeof f->uuid);
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "no NUL within the 96-byte buffer"));
    f->uuid[0] = 0;
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_INVALID);
    snprintf(f->uuid, sizeof f->uuid, "GPU-\"x\n");
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_INVALID);
    snprintf(f->uuid, sizeof f->uuid, "GPU-1");
    /* a NUL inside the chain, a chain that is not PEM */
    f->cert.attestationCertChain[100] = 0;
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "not PEM text"));
    memset(f->cert.attestationCertChain, 0, sizeof f->cert.attestationCertChain);
    assert_int_equal(entry(f, NVML_DEVICE_ARCH_HOPPER, &e), VT_E_INVALID);
    assert_int_equal(json_array_size(f->list), 0);
}

static void t_collect(void **state)
{
    fx *f = *state;
    vt_error e;
    vt_buf out = {0};
    vt_nvml_opts none = {.library = "/nonexistent/libnvidia-ml.so.1", .nonce = f->nonce};
    assert_int_equal(vt_nvml_gpu_evidence(&none, &out, &e), VT_E_MISSING);
    vt_nvml_opts no_nonce = {.library = "/nonexistent/libnvidia-ml.so.1"};
    assert_int_equal(vt_nvml_gpu_evidence(&no_nonce, &out, &e), VT_E_ARG);
    const char *lib = getenv("VERITEE_FAKE_NVML");
    if (lib == NULL || *lib == '\0') {
        print_message("skipped: VERITEE_FAKE_NVML not set, the collector is not run over the stand-in library\n");
        skip(); /* reported skipped, not passed */
    }
    setenv("VT_FAKE_NVML_EMU", f->dir, 1);
    unsetenv("VT_FAKE_NVML_FAULT");
    vt_nvml_opts o = {.library = lib, .nonce = f->nonce};
    if (vt_nvml_gpu_evidence(&o, &out, &e) != VT_OK) fail_msg("%s", e.msg);
    char root_path[512];
    vt_buf root = {0};
    snprintf(root_path, sizeof root_path, "%s/trust/nvidia/nvidia_device_root.pem", f->dir);
    assert_int_equal(vt_file_read(root_path, 65536, &root, &e), VT_OK);
    vt_nvidia_trust t = {.device_roots_pem = root.ptr, .device_roots_len = root.len};
    vt_nvidia_verifier *v = NULL;
    assert_int_equal(vt_nvidia_verifier_new(&t, &v, &e), VT_OK);
    vt_nvidia_verify_opts vo = {.at = T0 + 3600, .nonce = f->nonce, .nonce_len = 32};
    vt_checks c = {0};
    json_t *claims = NULL;
    if (vt_nvidia_verify(v, out.ptr, out.len, &vo, &claims, &c, &e) != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_int_equal(json_array_size(json_object_get(claims, "devices")), 2);
    json_decref(claims);
    vt_nvidia_verifier_free(v);
    vt_buf_free(&root);
    vt_buf_free(&out);
    setenv("VT_FAKE_NVML_FAULT", "report_size", 1);
    assert_int_equal(vt_nvml_gpu_evidence(&o, &out, &e), VT_E_INVALID);
    assert_null(out.ptr);
    setenv("VT_FAKE_NVML_FAULT", "cc_off", 1);
    assert_int_equal(vt_nvml_gpu_evidence(&o, &out, &e), VT_E_UNSUPPORTED);
    unsetenv("VT_FAKE_NVML_FAULT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_size_bounds),
        cmocka_unit_test_setup_teardown(t_entry_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(t_entry_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(t_entry_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(t_collect, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
