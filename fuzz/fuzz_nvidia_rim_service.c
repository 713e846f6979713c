/* libFuzzer target: the RIM service's JSON answer (vt_nvidia_rim_service_parse): JSON types,
 * the id, base64 of the RIM, the sha256 field. Seeds: fuzz/seed-nvidia_rim_service.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "veritee/nvidia.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_buf xml = {0};
    vt_error_clear(&e);
    vt_err rc = vt_nvidia_rim_service_parse(data, size, "NV_GPU_VBIOS_1010_0200_882_960074001A", &xml, &e);
    if (rc == VT_OK && xml.ptr == NULL && xml.len != 0) abort();
    if (rc != VT_OK && (xml.ptr != NULL || e.check[0] == 0)) abort();
    vt_buf_free(&xml);
    return 0;
}
