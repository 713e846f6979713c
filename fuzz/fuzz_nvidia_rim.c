/* libFuzzer target: NVIDIA RIMs (SWID XML, enveloped XML-DSig) through vt_nvidia_rim_verify —
 * libxml2 parsing, our tree walk and entry parsing, the signer chain and xmlsec — at a fixed
 * instant, pinned to the RIM root of $VERITEE_VECTORS (or ../shared/vectors) when present so
 * that seeds reach the signature stage, else to a generated root. Seeds:
 * fuzz/seed-nvidia_rim.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "veritee/fileio.h"
#include "veritee/nvidia.h"
#include "veritee/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vt_nvidia_rim_verifier *rim_verifier(void)
{
    static vt_nvidia_rim_verifier *v; /* the fuzzer's one verifier, built on first use */
    if (v != NULL) return v;
    vt_error e;
    vt_buf pem = {0};
    const char *vec = getenv("VERITEE_VECTORS");
    char path[1024];
    snprintf(path, sizeof path, "%s/nvidia_hopper/anchors/verifier_RIM_root.pem",
             vec && *vec ? vec : "../shared/vectors");
    if (vt_file_read(path, 65536, &pem, &e) != VT_OK) {
        EVP_PKEY *k = NULL;
        X509 *c = NULL;
        vt_pki_cert_spec s = {.subject_cn = "fuzz RIM root", .not_after = 4102444800, .ca = true, .path_len = -1};
        if (vt_pki_ec_key(VT_P384, &k, &e) != VT_OK || vt_pki_cert(&s, k, NULL, k, &c, &e) != VT_OK ||
            vt_pki_cert_pem(c, &pem, &e) != VT_OK)
            abort();
        X509_free(c);
        EVP_PKEY_free(k);
    }
    if (vt_nvidia_rim_verifier_new(pem.ptr, pem.len, &v, &e) != VT_OK) abort();
    vt_buf_free(&pem);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_nvidia_rim *rim = malloc(sizeof *rim);
    if (rim == NULL) return 0;
    vt_error e;
    vt_checks c = {0};
    vt_error_clear(&e);
    if (vt_nvidia_rim_verify(rim_verifier(), data, size, 1717200000, rim, &c, &e) == VT_OK &&
        (rim->n == 0 || rim->signer[0] == 0))
        __builtin_trap();
    free(rim);
    return 0;
}
