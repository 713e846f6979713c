/* libFuzzer: the `tpm` evidence JSON through the verifier (no trusted AK: parse paths only, and
 * with one fixed AK so the quote paths run up to the signature). */
#include <openssl/evp.h>

#include "veritee/tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_tpm_verifier *v = NULL;
    if (vt_tpm_verifier_new(NULL, 0, &v, &e) != VT_OK) return 0;
    vt_checks ck = {0};
    json_t *c = NULL;
    vt_tpm_verify_opts o = {.nonce = (const uint8_t *)"n", .nonce_len = 1};
    (void)vt_tpm_verify(v, data, size, &o, &c, &ck, &e);
    json_decref(c);
    vt_tpm_verifier_free(v);
    return 0;
}
