/* libFuzzer target: the extended-report certificate table (GHCB MSG_REPORT_REQ) and, for each
 * entry, the certificate and its AMD VCEK/VLEK extensions. Seeds: fuzz/corpus/snp_certtable/. */
#include <stddef.h>
#include <stdint.h>

#include "veritee/snp.h"
#include "veritee/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_snp_certtable ct;
    vt_error_clear(&e);
    if (vt_snp_certtable_parse(data, size, &ct, &e) != VT_OK) return 0;
    for (size_t i = 0; i < ct.n; i++) {
        const vt_bytes *b = &ct.entries[i].data;
        if (b->ptr < data || b->ptr + b->len > data + size) __builtin_trap();
        X509 *c = NULL;
        if (vt_cert_parse(b->ptr, b->len, &c, &e) != VT_OK) continue;
        vt_snp_cert_ext x;
        (void)vt_snp_cert_ext_parse(c, &x, &e);
        X509_free(c);
    }
    return 0;
}
