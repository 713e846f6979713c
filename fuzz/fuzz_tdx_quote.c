/* libFuzzer: DCAP quote parser (SGX v3, TDX v4/v5), and the PEM chain it carries: decoded, and
 * decoded again with the first decode as the known set (vt_pem_certs_known: the verifier passes
 * its roots so a block equal to one is not decoded twice); both must give the same chain. */
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
        STACK_OF(X509) *again = NULL;
        if (vt_pem_certs_known(q.pck_chain.ptr, q.pck_chain.len, chain, &again, &e) != VT_OK) __builtin_trap();
        if (sk_X509_num(again) != sk_X509_num(chain)) __builtin_trap();
        for (int i = 0; i < sk_X509_num(chain); i++)
            if (X509_cmp(sk_X509_value(again, i), sk_X509_value(chain, i)) != 0) __builtin_trap();
        sk_X509_pop_free(again, X509_free);
        sk_X509_pop_free(chain, X509_free);
    }
    return 0;
}
