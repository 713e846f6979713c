/* libFuzzer: the SGX PCK certificate extension (DER) parser. */
#include "veritee/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_sgx_pck_ext ext;
    vt_error e;
    (void)vt_sgx_pck_ext_parse_der(data, size, &ext, &e);
    return 0;
}
