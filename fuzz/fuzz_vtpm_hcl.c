/* libFuzzer: the guest's check of the HCL report bytes read from the vTPM's NV index. */
#include "veritee/vtpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    (void)vt_vtpm_hcl_check(data, size, VT_VTPM_AZ_SNP, &e);
    (void)vt_vtpm_hcl_check(data, size, VT_VTPM_AZ_TDX, &e);
    return 0;
}
