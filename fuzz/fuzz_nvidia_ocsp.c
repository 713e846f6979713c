/* libFuzzer target: hostile OCSP responses and CRLs given to the NVIDIA revocation check
 * (vt_nvidia_revocation_check): DER parsing, the response status, CertID lookup, responder
 * authorisation and the time window, over a small P-384 chain generated once (root -> CA ->
 * leaf). Byte 0 chooses the kind: even = OCSP response, odd = CRL. Seeds:
 * fuzz/seed-nvidia_ocsp.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/nvidia.h"
#include "veritee/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vt_buf chain; /* the fuzzer's one chain (PEM, leaf first), built on first use */

static void add(X509 *c)
{
    vt_error e;
    vt_buf p = {0};
    if (vt_pki_cert_pem(c, &p, &e) != VT_OK) abort();
    uint8_t *n = realloc(chain.ptr, chain.len + p.len);
    if (n == NULL) abort();
    memcpy(n + chain.len, p.ptr, p.len);
    chain.ptr = n;
    chain.len += p.len;
    vt_buf_free(&p);
}

static void build_chain(void)
{
    if (chain.ptr != NULL) return;
    vt_error e;
    EVP_PKEY *rk = NULL, *ik = NULL, *lk = NULL;
    X509 *root = NULL, *ica = NULL, *leaf = NULL;
    vt_pki_cert_spec rs = {.subject_cn = "fuzz root", .not_before = 0, .not_after = 4102444800, .ca = true, .path_len = -1};
    vt_pki_cert_spec is = rs, ls = rs;
    is.subject_cn = "fuzz ICA";
    ls.subject_cn = "fuzz leaf";
    ls.ca = false;
    if (vt_pki_ec_key(VT_P384, &rk, &e) != VT_OK || vt_pki_ec_key(VT_P384, &ik, &e) != VT_OK ||
        vt_pki_ec_key(VT_P384, &lk, &e) != VT_OK || vt_pki_cert(&rs, rk, NULL, rk, &root, &e) != VT_OK ||
        vt_pki_cert(&is, ik, root, rk, &ica, &e) != VT_OK || vt_pki_cert(&ls, lk, ica, ik, &leaf, &e) != VT_OK)
        abort();
    add(leaf), add(ica), add(root);
    X509_free(root), X509_free(ica), X509_free(leaf);
    EVP_PKEY_free(rk), EVP_PKEY_free(ik), EVP_PKEY_free(lk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    build_chain();
    vt_bytes item = {data + 1, size - 1};
    vt_nvidia_revocation rev = {.allow_unknown = (data[0] & 2) != 0};
    if (data[0] & 1) rev.crls = &item, rev.n_crls = 1;
    else rev.responses = &item, rev.n_responses = 1;
    vt_error e;
    vt_checks c = {0};
    vt_error_clear(&e);
    vt_err rc = vt_nvidia_revocation_check(&rev, chain.ptr, chain.len, 1717200000, "revocation", &c, &e);
    /* a hostile item never verifies: nothing here can sign for the generated chain */
    if (rc == VT_OK && !rev.allow_unknown) abort();
    return 0;
}
