/* libFuzzer: DCAP quote parser (SGX v3, TDX v4/v5), and the PEM chain it carries. */
#include <stddef.h>
#include <stdint.h>

#include "veritee/tdx.h"
#include "veritee/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_tdx_quote q;
    vt_error e;
    if (vt_tdx_quote_parse(data, size, &q, &e) != VT_OK) return 0;
    STACK_OF(X509) *chain = NULL;
    if (vt_pem_certs(q.pck_chain.ptr, q.pck_chain.len, &chain, &e) == VT_OK) {
        vt_sgx_pck_ext ext;
        (void)vt_sgx_pck_ext_parse(sk_X509_value(chain, 0), &ext, &e);
        sk_X509_pop_free(chain, X509_free);
    }
    return 0;
}
