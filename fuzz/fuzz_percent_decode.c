/* libFuzzer target: RFC 3986 percent-decoding of untrusted header values (vt_percent_decode:
 * the issuer chains Intel PCS/PCCS send) and the PEM parse that follows it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL;
    vt_error e;
    if (vt_percent_decode((const char *)data, size, &out, &e) == VT_OK) {
        if (strlen(out) > size) abort(); /* decoding never grows the text */
        STACK_OF(X509) *chain = NULL;
        if (vt_pem_certs(out, strlen(out), &chain, &e) == VT_OK) sk_X509_pop_free(chain, X509_free);
        free(out);
    } else if (out != NULL) {
        abort(); /* an error leaves no output */
    }
    return 0;
}
