/* libFuzzer: Azure HCL report, its runtime claims, and the az-*-vtpm evidence JSON forms. */
#include "veritee/azure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_hcl_report h;
    if (vt_hcl_report_parse(data, size, &h, &e) == VT_OK) {
        vt_hcl_runtime_claims c;
        if (vt_hcl_runtime_claims_parse(&h.var_data, &c, &e) == VT_OK) vt_hcl_runtime_claims_clear(&c);
    }
    vt_bytes v = {data, size};
    vt_hcl_runtime_claims c;
    if (vt_hcl_runtime_claims_parse(&v, &c, &e) == VT_OK) vt_hcl_runtime_claims_clear(&c);
    vt_az_evidence ev;
    for (int k = VT_AZ_SNP; k <= VT_AZ_TDX; k++)
        if (vt_az_evidence_parse(data, size, (vt_az_kind)k, &ev, &e) == VT_OK) vt_az_evidence_free(&ev);
    (void)vt_az_evidence_detect(data, size);
    return 0;
}
