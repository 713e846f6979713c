/* libFuzzer: TPM 2.0 structures (TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC / TPM2B_PUBLIC). */
#include <openssl/evp.h>

#include "veritee/tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_tpms_attest a;
    vt_tpmt_signature s;
    vt_tpmt_public p;
    (void)vt_tpms_attest_parse(data, size, &a, &e);
    (void)vt_tpmt_signature_parse(data, size, &s, &e);
    for (int sized = 0; sized < 2; sized++) {
        if (vt_tpmt_public_parse(data, size, sized, &p, &e) == VT_OK) {
            EVP_PKEY *k = NULL;
            if (vt_tpmt_public_to_pkey(&p, &k, &e) == VT_OK) EVP_PKEY_free(k);
        }
    }
    return 0;
}
