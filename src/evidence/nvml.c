/* NVIDIA GPU evidence from NVML (libnvidia-ml.so.1, loaded with dlopen() when used: it comes with
 * the NVIDIA driver, so building and the relying side need none), per GPU what guest-components'
 * NVIDIA attester sends: the CC attestation report over the caller's nonce and the attestation
 * certificate chain (docs/nvidia.md, "Collecting GPU evidence"). The library's answers are
 * hostile input: every size is bounded by its array and the report is parsed before it is used. */
#include <dlfcn.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nvml_internal.h"
#include "veritee/codec.h"
#include "veritee/evidence.h"
#include "veritee/nvidia.h"

#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_LIBRARY_NOT_FOUND 12

typedef struct nvml_api {
    nvmlInit_v2_fn init;
    nvmlShutdown_fn shutdown;
    nvmlErrorString_fn error_string; /* optional */
    nvmlDeviceGetCount_v2_fn count;
    nvmlDeviceGetHandleByIndex_v2_fn handle;
    nvmlDeviceGetArchitecture_fn arch;
    nvmlDeviceGetUUID_fn uuid;
    nvmlSystemGetConfComputeState_fn cc_state;
    nvmlDeviceGetConfComputeGpuAttestationReport_fn report;
    nvmlDeviceGetConfComputeGpuCertificate_fn cert;
} nvml_api;

static vt_err load(const char *path, nvml_api *a, vt_error *err)
{
    /* NODELETE: the driver library starts threads of its own; it stays for the process. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (h == NULL) {
        const char *why = dlerror();
        return vt_error_set(err, VT_E_MISSING, "nvml", "%s not available (the NVIDIA driver installs it): %.200s", path,
                            why != NULL ? why : "dlopen failed");
    }
    struct { void **fn; const char *name; } t[] = {
        {(void **)&a->init, "nvmlInit_v2"},
        {(void **)&a->shutdown, "nvmlShutdown"},
        {(void **)&a->count, "nvmlDeviceGetCount_v2"},
        {(void **)&a->handle, "nvmlDeviceGetHandleByIndex_v2"},
        {(void **)&a->arch, "nvmlDeviceGetArchitecture"},
        {(void **)&a->uuid, "nvmlDeviceGetUUID"},
        {(void **)&a->cc_state, "nvmlSystemGetConfComputeState"},
        {(void **)&a->report, "nvmlDeviceGetConfComputeGpuAttestationReport"},
        {(void **)&a->cert, "nvmlDeviceGetConfComputeGpuCertificate"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if ((*t[i].fn = dlsym(h, t[i].name)) == NULL)
            return vt_error_set(err, VT_E_UNSUPPORTED, "nvml", "%s lacks %s (a driver without confidential computing "
                                "support: r535 or later is needed)", path, t[i].name);
    *(void **)&a->error_string = dlsym(h, "nvmlErrorString");
    return VT_OK;
}

/* An NVML return code as an error naming the call (and the GPU, index >= 0). */
static vt_err nvml_fail(const nvml_api *a, nvmlReturn_t r, const char *call, int index, vt_error *err)
{
    const char *s = a->error_string != NULL ? a->error_string(r) : NULL;
    int code = r == NVML_ERROR_DRIVER_NOT_LOADED || r == NVML_ERROR_LIBRARY_NOT_FOUND || r == NVML_ERROR_NOT_FOUND
                   ? VT_E_MISSING
               : r == NVML_ERROR_NOT_SUPPORTED ? VT_E_UNSUPPORTED
                                               : VT_E_IO;
    char gpu[24] = "";
    if (index >= 0) snprintf(gpu, sizeof gpu, "GPU %d: ", index);
    return vt_error_set(err, code, "nvml", "%s%s returned %d (%.80s)", gpu, call, (int)r, s != NULL ? s : "no text");
}

vt_err nvml_size_check(unsigned int size, size_t cap, unsigned index, const char *call, const char *field,
                       vt_error *err)
{
    if (size == 0 || size > cap)
        return vt_error_set(err, VT_E_INVALID, "nvml", "GPU %u: %s: %s %u is outside 1..%zu (the buffer's size)", index,
                            call, field, size, cap);
    return VT_OK;
}

static const char *arch_name(unsigned int arch)
{
    return arch == NVML_DEVICE_ARCH_HOPPER ? "HOPPER" : arch == NVML_DEVICE_ARCH_BLACKWELL ? "BLACKWELL" : NULL;
}

static vt_err check_uuid(unsigned index, const char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE], vt_error *err)
{
    const char *end = memchr(uuid, 0, NVML_DEVICE_UUID_V2_BUFFER_SIZE);
    if (end == NULL || end == uuid)
        return vt_error_set(err, VT_E_INVALID, "nvml", "GPU %u: nvmlDeviceGetUUID: %s", index,
                            end == NULL ? "no NUL within the 96-byte buffer" : "empty UUID");
    for (const char *p = uuid; p < end; p++)
        if (*p < 0x21 || *p > 0x7e)
            return vt_error_set(err, VT_E_INVALID, "nvml", "GPU %u: nvmlDeviceGetUUID: byte 0x%02x at %td is not printable",
                                index, (unsigned char)*p, p - uuid);
    return VT_OK;
}

/* The report: an SPDM 1.1 GET_MEASUREMENTS request + MEASUREMENTS response whose request nonce
 * is ours (a library or GPU answering over another nonce is refused here, not at the verifier). */
static vt_err check_report(unsigned index, const uint8_t *p, size_t n, const uint8_t nonce[32], vt_error *err)
{
    vt_nvidia_report *r = calloc(1, sizeof *r);
    if (r == NULL) return vt_error_set(err, VT_E_NOMEM, "nvml", "out of memory");
    vt_error pe;
    vt_err rc = vt_nvidia_report_parse(p, n, r, &pe);
    if (rc != VT_OK)
        rc = vt_error_set(err, VT_E_INVALID, "nvml", "GPU %u: the attestation report NVML returned is malformed: %s", index,
                          pe.msg);
    else if (CRYPTO_memcmp(r->request_nonce, nonce, 32) != 0)
        rc = vt_error_set(err, VT_E_VERIFY, "nvml", "GPU %u: the attestation report does not carry the nonce asked for "
                          "(NVML did not echo it)", index);
    free(r);
    return rc;
}

/* The attestation chain: PEM text, trailing NULs dropped, no NUL inside. */
static vt_err check_chain(unsigned index, const uint8_t *p, size_t *n, vt_error *err)
{
    while (*n > 0 && p[*n - 1] == 0) (*n)--;
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    if (*n == 0 || memchr(p, 0, *n) != NULL || *n < sizeof begin - 1 || memcmp(p, begin, sizeof begin - 1) != 0)
        return vt_error_set(err, VT_E_INVALID, "nvml", "GPU %u: nvmlDeviceGetConfComputeGpuCertificate: the attestation "
                            "chain is not PEM text", index);
    return VT_OK;
}

vt_err nvml_device_entry(unsigned index, unsigned int arch, const char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE],
                         const nvmlConfComputeGpuAttestationReport_t *rep, const nvmlConfComputeGpuCertificate_t *cert,
                         const uint8_t nonce[32], json_t *list, vt_error *err)
{
    static const char rcall[] = "nvmlDeviceGetConfComputeGpuAttestationReport",
                      ccall[] = "nvmlDeviceGetConfComputeGpuCertificate";
    const char *an = arch_name(arch);
    if (an == NULL)
        return vt_error_set(err, VT_E_UNSUPPORTED, "nvml", "GPU %u: nvmlDeviceGetArchitecture: architecture %u is neither "
                            "Hopper (%d) nor Blackwell (%d), the GPUs with CC attestation veritee verifies", index, arch,
                            NVML_DEVICE_ARCH_HOPPER, NVML_DEVICE_ARCH_BLACKWELL);
    VT_GUARD(check_uuid(index, uuid, err));
    VT_GUARD(nvml_size_check(rep->attestationReportSize, sizeof rep->attestationReport, index, rcall,
                             "attestationReportSize", err));
    VT_GUARD(nvml_size_check(cert->attestationCertChainSize, sizeof cert->attestationCertChain, index, ccall,
                             "attestationCertChainSize", err));
    size_t rn = rep->attestationReportSize, cn = cert->attestationCertChainSize;
    VT_GUARD(check_report(index, rep->attestationReport, rn, nonce, err));
    VT_GUARD(check_chain(index, cert->attestationCertChain, &cn, err));
    char *hex = vt_hex_dup(rep->attestationReport, rn);
    char *b64 = vt_b64_encode(cert->attestationCertChain, cn, false);
    json_t *e = hex != NULL && b64 != NULL
                    ? json_pack("{s:s, s:s, s:s, s:s}", "arch", an, "uuid", uuid, "evidence", hex, "certificate", b64)
                    : NULL;
    free(hex);
    free(b64);
    if (e == NULL || json_array_append_new(list, e) != 0) return vt_error_set(err, VT_E_NOMEM, "nvml", "out of memory");
    return VT_OK;
}

/* The system's CC state: feature on, devtools off (a devtools GPU lets a debugger in). */
static vt_err check_cc(const nvml_api *a, vt_error *err)
{
    nvmlConfComputeSystemState_t st;
    memset(&st, 0, sizeof st);
    nvmlReturn_t r = a->cc_state(&st);
    if (r != NVML_SUCCESS) return nvml_fail(a, r, "nvmlSystemGetConfComputeState", -1, err);
    if (st.ccFeature != NVML_CC_SYSTEM_FEATURE_ENABLED)
        return vt_error_set(err, VT_E_UNSUPPORTED, "nvml", "nvmlSystemGetConfComputeState: confidential computing is off "
                            "(ccFeature %u): the GPUs' evidence would not attest a CC GPU", st.ccFeature);
    if (st.devToolsMode != NVML_CC_SYSTEM_DEVTOOLS_MODE_OFF)
        return vt_error_set(err, VT_E_UNSUPPORTED, "nvml", "nvmlSystemGetConfComputeState: devtools mode is on "
                            "(devToolsMode %u): not a production CC configuration", st.devToolsMode);
    return VT_OK;
}

static vt_err one_gpu(const nvml_api *a, unsigned i, const uint8_t nonce[32], json_t *list, vt_error *err)
{
    nvmlDevice_t d = NULL;
    nvmlReturn_t r = a->handle(i, &d);
    if (r != NVML_SUCCESS) return nvml_fail(a, r, "nvmlDeviceGetHandleByIndex_v2", (int)i, err);
    unsigned int arch = 0;
    if ((r = a->arch(d, &arch)) != NVML_SUCCESS) return nvml_fail(a, r, "nvmlDeviceGetArchitecture", (int)i, err);
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    memset(uuid, 0, sizeof uuid);
    if ((r = a->uuid(d, uuid, sizeof uuid)) != NVML_SUCCESS) return nvml_fail(a, r, "nvmlDeviceGetUUID", (int)i, err);
    nvmlConfComputeGpuAttestationReport_t *rep = calloc(1, sizeof *rep);
    nvmlConfComputeGpuCertificate_t *cert = calloc(1, sizeof *cert);
    vt_err rc = VT_OK;
    if (rep == NULL || cert == NULL) rc = vt_error_set(err, VT_E_NOMEM, "nvml", "out of memory");
    if (rc == VT_OK) {
        memcpy(rep->nonce, nonce, sizeof rep->nonce);
        if ((r = a->report(d, rep)) != NVML_SUCCESS)
            rc = nvml_fail(a, r, "nvmlDeviceGetConfComputeGpuAttestationReport", (int)i, err);
    }
    if (rc == VT_OK && (r = a->cert(d, cert)) != NVML_SUCCESS)
        rc = nvml_fail(a, r, "nvmlDeviceGetConfComputeGpuCertificate", (int)i, err);
    if (rc == VT_OK) rc = nvml_device_entry(i, arch, uuid, rep, cert, nonce, list, err);
    free(rep);
    free(cert);
    return rc;
}

vt_err vt_nvml_gpu_evidence(const vt_nvml_opts *o, vt_buf *out, vt_error *err)
{
    if (o == NULL || o->nonce == NULL) return vt_error_set(err, VT_E_ARG, "nvml", "a 32-byte nonce is required");
    nvml_api a;
    memset(&a, 0, sizeof a);
    VT_GUARD(load(o->library != NULL && *o->library ? o->library : VT_NVML_LIBRARY_DEFAULT, &a, err));
    nvmlReturn_t r = a.init();
    if (r != NVML_SUCCESS) return nvml_fail(&a, r, "nvmlInit_v2", -1, err);
    vt_err rc = check_cc(&a, err);
    unsigned int n = 0;
    if (rc == VT_OK && (r = a.count(&n)) != NVML_SUCCESS) rc = nvml_fail(&a, r, "nvmlDeviceGetCount_v2", -1, err);
    if (rc == VT_OK && n == 0) rc = vt_error_set(err, VT_E_MISSING, "nvml", "nvmlDeviceGetCount_v2: no GPU");
    if (rc == VT_OK && n > VT_NVML_GPUS_MAX)
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "nvml", "nvmlDeviceGetCount_v2: %u GPUs, at most %u", n, VT_NVML_GPUS_MAX);
    json_t *list = rc == VT_OK ? json_array() : NULL;
    if (rc == VT_OK && list == NULL) rc = vt_error_set(err, VT_E_NOMEM, "nvml", "out of memory");
    for (unsigned i = 0; rc == VT_OK && i < n; i++) rc = one_gpu(&a, i, o->nonce, list, err);
    a.shutdown();
    json_t *doc = rc == VT_OK ? json_pack("{s:o}", "device_evidence_list", list) : NULL;
    if (rc != VT_OK) json_decref(list);
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (rc == VT_OK) rc = text != NULL ? vt_buf_set(out, text, strlen(text), err) : vt_error_set(err, VT_E_NOMEM, "nvml", "out of memory");
    free(text);
    json_decref(doc);
    return rc;
}
