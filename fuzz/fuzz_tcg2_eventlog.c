/* libFuzzer: TCG2 crypto-agile event log walk, SHA-256 (TPM seed) and SHA-384 replays, claims. */
#include <jansson.h>

#include "veritee/tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vt_tcg2_replay r;
    vt_error e;
    (void)vt_tcg2_replay_log(data, size, VT_TPM_ALG_SHA256, VT_TCG2_SEED_TPM, &r, &e);
    (void)vt_tcg2_replay_log(data, size, VT_TPM_ALG_SHA384, VT_TCG2_SEED_ZERO, &r, &e);
    json_decref(vt_tcg2_log_json(data, size, &e));
    return 0;
}
