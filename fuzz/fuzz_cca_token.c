/* libFuzzer: CCA token parse (collection, COSE_Sign1, claims), JSON output, verification
 * with an empty trust store (realm signature and binding still run on hostile keys), and the
 * CPAK trust-store loader on the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "veritee/cca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vt_cca_token t; /* large; not shared between inputs (reset by the parser) */
    vt_error e;
    vt_checks c = {0};
    if (vt_cca_token_parse(data, size, &t, &e) == VT_OK) {
        json_t *j = vt_cca_claims_json(&t);
        json_decref(j);
        uint8_t nonce[64] = {0};
        vt_cca_verify_opts o = {.nonce = nonce, .nonce_len = sizeof nonce};
        (void)vt_cca_verify(&t, &o, &c, NULL, &e);
    }
    vt_cca_trust trust;
    vt_cca_trust_init(&trust);
    (void)vt_cca_trust_load_mem(&trust, data, size, "fuzz", &e);
    vt_cca_trust_free(&trust);
    return 0;
}
