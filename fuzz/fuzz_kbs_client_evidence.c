/* Fuzz the KBS guest client's evidence shaping (kbs-protocol.md §8): an SNP report (first 1184
 * bytes) and a certificate table (the rest) into the serde JSON form, plus the TDX and CCA
 * shapes, with the server's decoder run on every SNP result (must rebuild the same report). */
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/kbs.h"
#include "veritee/kbs_client.h"
#include "veritee/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    json_t *o = NULL;
    size_t rl = size < VT_SNP_REPORT_SIZE ? size : VT_SNP_REPORT_SIZE;
    if (vt_rcar_snp_evidence_json(data, rl, data + rl, size - rl, &o, &e) == VT_OK) {
        uint8_t back[VT_SNP_REPORT_SIZE];
        STACK_OF(X509) *certs = sk_X509_new_null();
        if (vt_rcar_snp_from_json(o, back, certs, &e) == VT_OK && memcmp(back, data, VT_SNP_REPORT_SIZE) != 0)
            abort(); /* encoder and decoder disagree */
        sk_X509_pop_free(certs, X509_free);
        json_decref(o);
    }
    if (vt_rcar_tdx_evidence_json(data, size, data, size / 2, &o, &e) == VT_OK) json_decref(o);
    if (vt_rcar_cca_evidence_json(data, size, &o, &e) == VT_OK) json_decref(o);
    return 0;
}
