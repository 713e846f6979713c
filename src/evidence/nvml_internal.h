/* GPU evidence through NVML: the checks on what the library hands back, apart from the loading
 * so unit tests drive them with crafted structs. Not a public header. */
#ifndef VT_EVIDENCE_NVML_INTERNAL_H
#define VT_EVIDENCE_NVML_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "nvml_abi.h"
#include "veritee/err.h"

/* A size NVML reported for an array of cap bytes: 1..cap, else VT_E_INVALID naming GPU index,
 * the call and the field. */
vt_err nvml_size_check(unsigned int size, size_t cap, unsigned index, const char *call, const char *field,
                       vt_error *err);

/* One GPU's entry {"arch","uuid","evidence","certificate"} from what NVML returned, appended to
 * list: the sizes bounded by their arrays, the UUID NUL-terminated printable text, the report
 * parsed (SPDM 1.1) and carrying nonce, the chain PEM text without NUL bytes (trailing NULs
 * dropped). */
vt_err nvml_device_entry(unsigned index, unsigned int arch, const char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE],
                         const nvmlConfComputeGpuAttestationReport_t *rep, const nvmlConfComputeGpuCertificate_t *cert,
                         const uint8_t nonce[32], json_t *list, vt_error *err);

#endif
