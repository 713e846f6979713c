/* libFuzzer target: a VCEK/VLEK certificate (DER) through the AMD extension parser (hwID raw or
 * OCTET STRING, SPL INTEGERs, productName, cspId). Seeds: fuzz/seed-snp_vcek.sh. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "veritee/snp.h"
#include "veritee/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_error_clear(&e);
    X509 *c = NULL;
    if (vt_cert_parse(data, size, &c, &e) != VT_OK) return 0;
    vt_snp_cert_ext x;
    if (vt_snp_cert_ext_parse(c, &x, &e) == VT_OK) {
        if (x.hwid_len != 0 && x.hwid_len != 8 && x.hwid_len != 64) __builtin_trap();
        if (strlen(x.product_name) >= sizeof x.product_name) __builtin_trap();
    }
    X509_free(c);
    return 0;
}
