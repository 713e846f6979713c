/* The `tpm` evidence of CoCo's TpmAttester (trustee deps/verifier/src/tpm): an AK as SPKI, a
 * quote (TPMS_ATTEST + marshalled TPMT_SIGNATURE) and the PCR values, verified with an AK the
 * caller trusts (the evidence's own AK is only a name for it). */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/tpm.h"

#define MAX_AKS 16

struct vt_tpm_verifier {
    EVP_PKEY *aks[MAX_AKS];
    unsigned char *der[MAX_AKS]; /* SubjectPublicKeyInfo DER of each, the fast match */
    int der_len[MAX_AKS];
    size_t n;
};

vt_err vt_tpm_verifier_add_ak(vt_tpm_verifier *v, EVP_PKEY *ak, vt_error *err)
{
    if (v->n == MAX_AKS) return vt_error_set(err, VT_E_ARG, "tpm_trust", "at most %d trusted AKs", MAX_AKS);
    unsigned char *der = NULL;
    int dl = i2d_PUBKEY(ak, &der);
    if (dl <= 0) return vt_error_set(err, VT_E_INVALID, "tpm_trust", "the AK does not encode as SubjectPublicKeyInfo");
    if (EVP_PKEY_up_ref(ak) != 1) {
        OPENSSL_free(der);
        return vt_error_set(err, VT_E_INTERNAL, "tpm_trust", "EVP_PKEY_up_ref");
    }
    v->der[v->n] = der;
    v->der_len[v->n] = dl;
    v->aks[v->n++] = ak;
    return VT_OK;
}

vt_err vt_tpm_verifier_add_pem(vt_tpm_verifier *v, const void *pem, size_t len, vt_error *err)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    vt_err rc = VT_OK;
    char *name = NULL, *hdr = NULL;
    unsigned char *data = NULL;
    long dl = 0;
    size_t before = v->n;
    while (rc == VT_OK && PEM_read_bio(b, &name, &hdr, &data, &dl) == 1) {
        const unsigned char *q = data;
        EVP_PKEY *k = NULL;
        if (strcmp(name, "PUBLIC KEY") == 0) k = d2i_PUBKEY(NULL, &q, dl);
        else if (strcmp(name, "CERTIFICATE") == 0) {
            X509 *x = d2i_X509(NULL, &q, dl);
            k = x != NULL ? X509_get_pubkey(x) : NULL;
            X509_free(x);
        } else {
            rc = vt_error_set(err, VT_E_INVALID, "tpm_trust", "PEM block \"%s\" is not a public key or certificate", name);
        }
        if (rc == VT_OK && k == NULL) rc = vt_error_set(err, VT_E_INVALID, "tpm_trust", "PEM %s does not decode", name);
        if (rc == VT_OK) rc = vt_tpm_verifier_add_ak(v, k, err);
        EVP_PKEY_free(k);
        OPENSSL_free(name);
        OPENSSL_free(hdr);
        OPENSSL_free(data);
        name = hdr = NULL;
        data = NULL;
    }
    ERR_clear_error(); /* PEM_read_bio's end-of-input */
    BIO_free(b);
    if (rc == VT_OK && v->n == before) rc = vt_error_set(err, VT_E_INVALID, "tpm_trust", "no public key in the PEM text");
    return rc;
}

vt_err vt_tpm_verifier_new(const void *pem, size_t len, vt_tpm_verifier **out, vt_error *err)
{
    vt_tpm_verifier *v = calloc(1, sizeof *v);
    if (v == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    if (pem != NULL && len > 0) {
        vt_err rc = vt_tpm_verifier_add_pem(v, pem, len, err);
        if (rc != VT_OK) {
            vt_tpm_verifier_free(v);
            return rc;
        }
    }
    *out = v;
    return VT_OK;
}

void vt_tpm_verifier_free(vt_tpm_verifier *v)
{
    if (v == NULL) return;
    for (size_t i = 0; i < v->n; i++) {
        EVP_PKEY_free(v->aks[i]);
        OPENSSL_free(v->der[i]);
    }
    free(v);
}

typedef struct tpm_evidence {
    json_t *root;
    vt_buf ak_der, message, signature;
    vt_buf pcr_bufs[VT_TPM_PCRS_MAX];
    vt_bytes pcrs[VT_TPM_PCRS_MAX];
    size_t n_pcrs;
} tpm_evidence;

static void evidence_free(tpm_evidence *e)
{
    json_decref(e->root);
    vt_buf_free(&e->ak_der);
    vt_buf_free(&e->message);
    vt_buf_free(&e->signature);
    for (size_t i = 0; i < e->n_pcrs; i++) vt_buf_free(&e->pcr_bufs[i]);
}

static vt_err b64_field(const json_t *o, const char *key, const char *path, vt_buf *out, vt_error *err)
{
    const char *s;
    VT_GUARD(vt_json_str(o, key, path, &s, err));
    vt_err rc = vt_b64_decode(s, strlen(s), out, err);
    if (rc != VT_OK) vt_error_wrap(err, "%s", path);
    return rc;
}

static vt_err parse_evidence(const uint8_t *p, size_t len, tpm_evidence *e, vt_error *err)
{
    VT_GUARD(vt_json_parse((const char *)p, len, &e->root, err));
    json_t *q, *pcrs;
    VT_GUARD(b64_field(e->root, "ak_public", "ak_public", &e->ak_der, err));
    VT_GUARD(vt_json_obj(e->root, "tpm_quote", "tpm_quote", &q, err));
    VT_GUARD(b64_field(q, "message", "tpm_quote.message", &e->message, err));
    VT_GUARD(b64_field(q, "signature", "tpm_quote.signature", &e->signature, err));
    VT_GUARD(vt_json_arr(q, "pcrs", "tpm_quote.pcrs", &pcrs, err));
    if (json_array_size(pcrs) > VT_TPM_PCRS_MAX)
        return vt_error_set(err, VT_E_INVALID, "evidence", "tpm_quote.pcrs: %zu values (at most %d)",
                            json_array_size(pcrs), VT_TPM_PCRS_MAX);
    for (size_t i = 0; i < json_array_size(pcrs); i++) {
        const char *h = json_string_value(json_array_get(pcrs, i));
        if (h == NULL) return vt_error_set(err, VT_E_INVALID, "evidence", "tpm_quote.pcrs[%zu]: expected a hex string", i);
        VT_GUARD(vt_hex_decode(h, strlen(h), &e->pcr_bufs[i], err));
        e->n_pcrs = i + 1;
        e->pcrs[i] = (vt_bytes){e->pcr_bufs[i].ptr, e->pcr_bufs[i].len};
    }
    return VT_OK;
}

/* The trusted AK the evidence names. The SPKI bytes are compared first (decoding a key costs more
 * than the quote's RSA verification under OpenSSL 3); another encoding of a trusted key is still
 * found by decoding and comparing the keys. */
static vt_err find_ak(vt_tpm_verifier *v, const vt_buf *der, EVP_PKEY **out, uint8_t fp[32], vt_checks *ck,
                      vt_error *err)
{
    size_t i = 0;
    while (i < v->n && !((size_t)v->der_len[i] == der->len && memcmp(v->der[i], der->ptr, der->len) == 0)) i++;
    vt_err rc = VT_OK;
    if (i == v->n) {
        const unsigned char *q = der->ptr;
        EVP_PKEY *k = d2i_PUBKEY(NULL, &q, (long)der->len);
        if (k == NULL || q != der->ptr + der->len)
            rc = vt_error_set(err, VT_E_INVALID, "ak_trusted", "ak_public is not a DER SubjectPublicKeyInfo");
        i = 0;
        while (rc == VT_OK && i < v->n && EVP_PKEY_eq(v->aks[i], k) != 1) i++;
        EVP_PKEY_free(k);
    }
    if (rc == VT_OK) rc = vt_hash(VT_SHA256, der->ptr, der->len, fp, err);
    if (rc == VT_OK && v->n == 0)
        rc = vt_error_set(err, VT_E_MISSING, "ak_trusted", "no trusted attestation key given");
    else if (rc == VT_OK && i == v->n)
        rc = vt_error_set(err, VT_E_VERIFY, "ak_trusted", "the evidence's AK is none of the %zu trusted AKs", v->n);
    if (rc != VT_OK) return vt_check_step(ck, err, "ak_trusted", rc, "%s", "");
    char hx[65];
    vt_hex_encode(fp, 32, hx);
    vt_check_pass(ck, "ak_trusted", "AK (SPKI SHA-256 %s) is a trusted key", hx);
    *out = v->aks[i];
    return VT_OK;
}

vt_err vt_tpm_verify(vt_tpm_verifier *v, const uint8_t *evidence, size_t len, const vt_tpm_verify_opts *opts,
                     json_t **claims, vt_checks *checks, vt_error *err)
{
    vt_tpm_verify_opts none = {0};
    if (opts == NULL) opts = &none;
    if (claims != NULL) *claims = NULL;
    tpm_evidence e = {0};
    vt_tpm_quote_result *res = calloc(1, sizeof *res);
    EVP_PKEY *ak = NULL;
    uint8_t fp[32];
    vt_err rc;
    if (res == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    rc = parse_evidence(evidence, len, &e, err);
    if (rc != VT_OK) {
        vt_check_step(checks, err, "evidence", rc, "%s", "");
        goto out;
    }
    VT_GUARD_GOTO(find_ak(v, &e.ak_der, &ak, fp, checks, err));
    vt_tpm_quote q = {.message = {e.message.ptr, e.message.len}, .signature = {e.signature.ptr, e.signature.len},
                      .pcrs = e.pcrs, .n_pcrs = e.n_pcrs};
    vt_tpm_quote_opts qo = {.nonce = opts->nonce, .nonce_len = opts->nonce_len, .nonce_rule = VT_TPM_NONCE_ZERO_PADDED};
    VT_GUARD_GOTO(vt_tpm_quote_verify(ak, &q, &qo, res, checks, err));
    if (opts->init_data_hash != NULL) VT_GUARD_GOTO(vt_tpm_check_init_data(res, opts->init_data_hash, checks, err));
    if (claims != NULL) {
        const vt_tpm_pcr *p8 = vt_tpm_quote_pcr(res, VT_TPM_ALG_SHA256, 8);
        json_t *c = json_pack("{s:s, s:o, s:o, s:o, s:I, s:b}", "tee", "tpm", "ak_public_sha256",
                              vt_json_hex_string(fp, 32), "report_data",
                              vt_json_hex_string(res->attest.extra_data.ptr, res->attest.extra_data.len), "pcrs",
                              vt_tpm_pcrs_json(res), "clock", (json_int_t)res->attest.clock, "safe",
                              res->attest.safe != 0);
        if (c != NULL && p8 != NULL) json_object_set_new(c, "init_data", vt_json_hex_string(p8->value, p8->len));
        if (c == NULL) {
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            goto out;
        }
        *claims = c;
    }
out:
    evidence_free(&e);
    free(res);
    return rc;
}
