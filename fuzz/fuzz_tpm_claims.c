/* libFuzzer target: the evidence-kind scan of JSON forms (vt_evidence_detect), and the TPM
 * kinds' claims JSON into normalized claims (vt_claims_add_tpm: PCR keys, hex values, runtime
 * claims, event-log records), then the claims back as JSON. */
#include <stdint.h>
#include <string.h>

#include "veritee/claims.h"
#include "veritee/json.h"
#include "veritee/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = NULL;
    vt_error e;
    static vt_claims c;
    (void)vt_evidence_detect(data, size); /* the top-level key scan of the JSON forms */
    if (vt_json_parse((const char *)data, size, &j, &e) != VT_OK) return 0;
    const vt_tee kinds[] = {VT_TEE_AZ_SNP_VTPM, VT_TEE_AZ_TDX_VTPM, VT_TEE_TPM};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        memset(&c, 0, sizeof c);
        if (vt_claims_add_tpm(kinds[i], j, &c, &e) == VT_OK) {
            uint8_t d[32] = {0};
            (void)vt_claims_init_data_binds(&c, d, sizeof d);
            json_decref(vt_claims_json(&c));
        }
    }
    json_decref(j);
    return 0;
}
