/* libFuzzer: PCS collateral JSON (TCB Info v3 and Enclave Identity v2), signed-span locator. */
#include <stdlib.h>
#include <string.h>

#include "veritee/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    vt_error e;
    vt_tcb_info t;
    if (vt_tcb_info_parse(text, size, &t, &e) == VT_OK) vt_tcb_info_clear(&t);
    vt_qe_identity q;
    if (vt_qe_identity_parse(text, size, &q, &e) == VT_OK) vt_qe_identity_clear(&q);
    free(text);
    return 0;
}
