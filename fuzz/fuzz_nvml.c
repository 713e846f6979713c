/* libFuzzer target: what NVML hands back for one GPU (src/evidence/nvml.c, nvml_device_entry):
 * the architecture, the UUID buffer, the report and chain sizes and bytes. Input: arch (1 byte),
 * attestationReportSize and attestationCertChainSize (u32 LE each), the 96-byte UUID buffer, then
 * the report bytes up to the first "-----BEGIN" (the chain after it). The nonce is the report's
 * own request nonce when it has one, so valid reports reach the end. Seeds: seed-nvml.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/nvml_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t head = 1 + 4 + 4 + NVML_DEVICE_UUID_V2_BUFFER_SIZE;
    if (size < head) return 0;
    nvmlConfComputeGpuAttestationReport_t *rep = calloc(1, sizeof *rep);
    nvmlConfComputeGpuCertificate_t *cert = calloc(1, sizeof *cert);
    json_t *list = json_array();
    if (rep == NULL || cert == NULL || list == NULL) goto out;
    unsigned arch = data[0] & 1 ? NVML_DEVICE_ARCH_HOPPER : data[0] & 2 ? NVML_DEVICE_ARCH_BLACKWELL : data[0];
    rep->attestationReportSize = u32le(data + 1);
    cert->attestationCertChainSize = u32le(data + 5);
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    memcpy(uuid, data + 9, sizeof uuid);
    const uint8_t *body = data + head;
    size_t n = size - head, split = n;
    for (size_t i = 0; i + 10 <= n; i++)
        if (memcmp(body + i, "-----BEGIN", 10) == 0) {
            split = i;
            break;
        }
    memcpy(rep->attestationReport, body, split < sizeof rep->attestationReport ? split : sizeof rep->attestationReport);
    size_t cn = n - split;
    memcpy(cert->attestationCertChain, body + split,
           cn < sizeof cert->attestationCertChain ? cn : sizeof cert->attestationCertChain);
    uint8_t nonce[32] = {0};
    if (split >= 36) memcpy(nonce, body + 4, 32);
    vt_error e;
    vt_error_clear(&e);
    vt_err rc = nvml_device_entry(0, arch, uuid, rep, cert, nonce, list, &e);
    if (rc == VT_OK && (json_array_size(list) != 1 || rep->attestationReportSize > sizeof rep->attestationReport ||
                        cert->attestationCertChainSize > sizeof cert->attestationCertChain))
        __builtin_trap();
    if (rc != VT_OK && json_array_size(list) != 0) __builtin_trap();
out:
    json_decref(list);
    free(rep);
    free(cert);
    return 0;
}
