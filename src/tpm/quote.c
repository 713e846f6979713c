/* TPM 2.0 quote verification: signature over TPMS_ATTEST by the AK (TPM 2.0 Part 1, 18.4 and
 * Part 3 TPM2_Quote), nonce in extraData, pcrDigest over the PCR values in selection order.
 * OpenSSL does every signature; this file decides what is compared with what. */
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/tpm.h"

static vt_err rsa_pkey(const vt_tpmt_public *pub, EVP_PKEY **out, vt_error *err)
{
    uint8_t e[4];
    uint32_t ex = pub->exponent == 0 ? 65537u : pub->exponent;
    e[0] = (uint8_t)(ex >> 24), e[1] = (uint8_t)(ex >> 16), e[2] = (uint8_t)(ex >> 8), e[3] = (uint8_t)ex;
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_bin2bn(pub->modulus.ptr, (int)pub->modulus.len, NULL), *eb = BN_bin2bn(e, 4, NULL);
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    vt_err rc = VT_OK;
    if (b == NULL || n == NULL || eb == NULL || c == NULL || !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, eb) || (params = OSSL_PARAM_BLD_to_param(b)) == NULL ||
        EVP_PKEY_fromdata_init(c) != 1 || EVP_PKEY_fromdata(c, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
        rc = vt_error_set(err, VT_E_INVALID, "tpm_public", "RSA public key does not build");
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(n);
    BN_free(eb);
    EVP_PKEY_CTX_free(c);
    return rc;
}

/* Two big-endian integers (x, y or r, s), each left-padded to the field length fl, as one
 * 2*fl-byte string; false when either is longer than the field. */
static bool pad_pair(const vt_bytes *a, const vt_bytes *b, size_t fl, uint8_t out[132])
{
    if (a->len > fl || b->len > fl || 2 * fl > 132) return false;
    memset(out, 0, 2 * fl);
    memcpy(out + fl - a->len, a->ptr, a->len);
    memcpy(out + 2 * fl - b->len, b->ptr, b->len);
    return true;
}

vt_err vt_tpmt_public_to_pkey(const vt_tpmt_public *pub, EVP_PKEY **out, vt_error *err)
{
    *out = NULL;
    if (pub->type == VT_TPM_ALG_RSA) return rsa_pkey(pub, out, err);
    vt_curve cv;
    switch (pub->curve_id) {
    case VT_TPM_ECC_NIST_P256: cv = VT_P256; break;
    case VT_TPM_ECC_NIST_P384: cv = VT_P384; break;
    case VT_TPM_ECC_NIST_P521: cv = VT_P521; break;
    default:
        return vt_error_set(err, VT_E_UNSUPPORTED, "tpm_public", "ECC curve 0x%04x", pub->curve_id);
    }
    size_t fl = vt_curve_len(cv);
    uint8_t xy[132];
    if (!pad_pair(&pub->x, &pub->y, fl, xy))
        return vt_error_set(err, VT_E_INVALID, "tpm_public", "ECC point coordinate longer than the field");
    return vt_ec_pub_from_xy(cv, xy, 2 * fl, out, err);
}

static const char *md_for(uint16_t alg)
{
    switch (alg) {
    case VT_TPM_ALG_SHA256: return "SHA256";
    case VT_TPM_ALG_SHA384: return "SHA384";
    case VT_TPM_ALG_SHA512: return "SHA512";
    default: return NULL;
    }
}

/* RSASSA-PKCS1-v1_5 or RSASSA-PSS (salt = digest length, the TPM's convention) over msg. */
static vt_err rsa_verify(EVP_PKEY *ak, bool pss, uint16_t hash, const vt_bytes *msg, const vt_bytes *sig,
                         vt_error *err)
{
    if (EVP_PKEY_get_base_id(ak) != EVP_PKEY_RSA)
        return vt_error_set(err, VT_E_VERIFY, "tpm_quote_signature", "RSA signature but the AK is not an RSA key");
    if ((size_t)EVP_PKEY_get_size(ak) != sig->len)
        return vt_error_set(err, VT_E_VERIFY, "tpm_quote_signature",
                            "RSA signature of %zu bytes for a %d-byte AK modulus", sig->len, EVP_PKEY_get_size(ak));
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = c != NULL && EVP_DigestVerifyInit_ex(c, &pc, md_for(hash), NULL, NULL, ak, NULL) == 1;
    if (ok && pss)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, (int)vt_tpm_alg_digest_len(hash)) == 1;
    int v = ok ? EVP_DigestVerify(c, sig->ptr, sig->len, msg->ptr, msg->len) : -1;
    EVP_MD_CTX_free(c);
    if (v == 1) return VT_OK;
    char why[120];
    return vt_error_set(err, VT_E_VERIFY, "tpm_quote_signature", "quote signature (%s) does not verify with the AK%s%s",
                        pss ? "RSASSA-PSS" : "RSASSA-PKCS1-v1_5", ok ? "" : ": ", ok ? "" : vt_openssl_reason(why, sizeof why));
}

static vt_err ecdsa_verify(EVP_PKEY *ak, uint16_t hash, const vt_bytes *msg, const vt_tpmt_signature *s, vt_error *err)
{
    vt_curve cv;
    if (vt_ec_curve_of(ak, &cv, err) != VT_OK)
        return vt_error_set(err, VT_E_VERIFY, "tpm_quote_signature", "ECDSA signature but the AK is not an EC key");
    size_t fl = vt_curve_len(cv);
    uint8_t rs[132];
    if (!pad_pair(&s->ecc_r, &s->ecc_s, fl, rs))
        return vt_error_set(err, VT_E_VERIFY, "tpm_quote_signature", "ECDSA r or s longer than the AK's field");
    uint8_t d[64];
    VT_GUARD(vt_tpm_hash2(hash, msg->ptr, msg->len, NULL, 0, d, err));
    vt_err rc = vt_ecdsa_verify_digest_raw(ak, d, vt_tpm_alg_digest_len(hash), rs, 2 * fl, "quote signature", err);
    if (rc != VT_OK) vt_error_set(err, rc, "tpm_quote_signature", "quote signature (ECDSA) does not verify with the AK");
    return rc;
}

static vt_err check_signature(EVP_PKEY *ak, const vt_tpm_quote *q, uint16_t want_hash, char *d, size_t dn,
                              vt_error *err)
{
    if (q->signature_raw) {
        snprintf(d, dn, "RSASSA-PKCS1-v1_5/SHA-256 over the %zu-byte TPMS_ATTEST verifies with the AK",
                 q->message.len);
        return rsa_verify(ak, false, VT_TPM_ALG_SHA256, &q->message, &q->signature, err);
    }
    vt_tpmt_signature s;
    VT_GUARD(vt_tpmt_signature_parse(q->signature.ptr, q->signature.len, &s, err));
    if (s.hash_alg != want_hash)
        return vt_error_set(err, VT_E_UNSUPPORTED, "tpm_quote_signature", "signature hash 0x%04x, expected %s",
                            s.hash_alg, vt_tpm_alg_name(want_hash));
    const char *scheme = s.sig_alg == VT_TPM_ALG_RSASSA ? "RSASSA-PKCS1-v1_5" : s.sig_alg == VT_TPM_ALG_RSAPSS ? "RSASSA-PSS" : "ECDSA";
    snprintf(d, dn, "%s/%s over the %zu-byte TPMS_ATTEST verifies with the AK", scheme, vt_tpm_alg_name(s.hash_alg),
             q->message.len);
    if (s.sig_alg == VT_TPM_ALG_ECDSA) return ecdsa_verify(ak, s.hash_alg, &q->message, &s, err);
    return rsa_verify(ak, s.sig_alg == VT_TPM_ALG_RSAPSS, s.hash_alg, &q->message, &s.rsa, err);
}

static bool nonce_matches(const vt_bytes *ed, const vt_tpm_quote_opts *o, bool *padded, bool *truncated)
{
    *padded = *truncated = false;
    if (ed->len == o->nonce_len && vt_ct_eq(ed->ptr, o->nonce, o->nonce_len)) return true;
    if (o->nonce_rule != VT_TPM_NONCE_ZERO_PADDED) return false;
    /* CoCo's TpmAttester since Aug 2025 keeps the first 32 bytes of a longer report data: still
     * 256 bits of the binding digest; nothing shorter is accepted */
    if (ed->len == 32 && o->nonce_len > 32) {
        *truncated = vt_ct_eq(ed->ptr, o->nonce, 32);
        return *truncated;
    }
    if ((ed->len != 32 && ed->len != 64) || o->nonce_len >= ed->len) return false;
    if (!vt_ct_eq(ed->ptr, o->nonce, o->nonce_len) || !vt_bytes_is_zero(ed->ptr + o->nonce_len, ed->len - o->nonce_len))
        return false;
    *padded = true;
    return true;
}

/* pcrDigest = H(PCR values concatenated in selection order), H = the signing scheme's hash. */
static vt_err check_pcrs(const vt_tpm_quote *q, uint16_t dalg, vt_tpm_quote_result *res, char *d, size_t dn,
                         vt_error *err)
{
    const vt_tpml_pcr_selection *sel = &res->attest.pcr_select;
    size_t want = vt_tpml_pcr_selection_count(sel);
    if (want != q->n_pcrs)
        return vt_error_set(err, VT_E_VERIFY, "tpm_pcr_digest", "the quote selects %zu PCRs, the evidence gives %zu values",
                            want, q->n_pcrs);
    static const size_t cap = VT_TPM_PCRS_MAX * 64;
    uint8_t *cat = OPENSSL_malloc(cap);
    if (cat == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    size_t k = 0, off = 0;
    vt_err rc = VT_OK;
    for (uint32_t b = 0; b < sel->count && rc == VT_OK; b++) {
        size_t dl = vt_tpm_alg_digest_len(sel->sel[b].hash_alg);
        if (dl == 0) {
            rc = vt_error_set(err, VT_E_UNSUPPORTED, "tpm_pcr_digest", "PCR bank 0x%04x", sel->sel[b].hash_alg);
            break;
        }
        for (unsigned i = 0; i < 8u * sel->sel[b].size_of_select && rc == VT_OK; i++) {
            if (!(sel->sel[b].pcr_select[i / 8] & (1u << (i % 8)))) continue;
            const vt_bytes *v = &q->pcrs[k];
            if (v->len != dl) {
                rc = vt_error_set(err, VT_E_VERIFY, "tpm_pcr_digest", "PCR value %zu is %zu bytes, its %s bank needs %zu",
                                  k, v->len, vt_tpm_alg_name(sel->sel[b].hash_alg), dl);
                break;
            }
            vt_tpm_pcr *p = &res->pcrs[res->n_pcrs++];
            p->bank = sel->sel[b].hash_alg;
            p->index = (uint8_t)i;
            p->len = dl;
            memcpy(p->value, v->ptr, dl);
            memcpy(cat + off, v->ptr, dl);
            off += dl;
            k++;
        }
    }
    uint8_t md[64];
    size_t mdl = vt_tpm_alg_digest_len(dalg);
    if (rc == VT_OK) rc = vt_tpm_hash2(dalg, cat, off, NULL, 0, md, err);
    OPENSSL_free(cat);
    if (rc != VT_OK) return rc;
    const vt_bytes *pd = &res->attest.pcr_digest;
    if (pd->len != mdl || !vt_ct_eq(pd->ptr, md, mdl)) {
        char hx[129];
        vt_hex_encode(md, mdl, hx);
        return vt_error_set(err, VT_E_VERIFY, "tpm_pcr_digest",
                            "pcrDigest in the quote differs from %s of the %zu reported PCR values (%s)",
                            vt_tpm_alg_name(dalg), q->n_pcrs, hx);
    }
    snprintf(d, dn, "pcrDigest = %s of the %zu reported PCR values in selection order", vt_tpm_alg_name(dalg), q->n_pcrs);
    return VT_OK;
}

vt_err vt_tpm_quote_verify(EVP_PKEY *ak, const vt_tpm_quote *q, const vt_tpm_quote_opts *opts,
                           vt_tpm_quote_result *res, vt_checks *checks, vt_error *err)
{
    vt_tpm_quote_opts none = {0};
    if (opts == NULL) opts = &none;
    memset(res, 0, sizeof *res);
    if (ak == NULL || q == NULL || (q->n_pcrs > 0 && q->pcrs == NULL))
        return vt_error_set(err, VT_E_ARG, "tpm_quote", "no AK or no quote");
    if (q->n_pcrs > VT_TPM_PCRS_MAX)
        return vt_check_fail(checks, err, "tpm_pcr_digest", VT_E_INVALID, "%zu PCR values (at most %d)", q->n_pcrs,
                             VT_TPM_PCRS_MAX);
    uint16_t want_hash = opts->hash_alg != 0 ? opts->hash_alg : VT_TPM_ALG_SHA256;
    char d[200] = "";
    vt_err src = check_signature(ak, q, want_hash, d, sizeof d, err);
    VT_GUARD(vt_check_step(checks, err, "tpm_quote_signature", src, "%s", d));
    VT_GUARD(vt_check_step(checks, err, "tpm_quote_parse",
                           vt_tpms_attest_parse(q->message.ptr, q->message.len, &res->attest, err),
                           "TPMS_ATTEST: TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE, lengths in bounds"));
    if (opts->nonce == NULL) {
        vt_check_skip(checks, "tpm_quote_nonce", "no expected nonce given: freshness not checked");
    } else {
        bool padded, truncated;
        vt_err rc = VT_OK;
        if (!nonce_matches(&res->attest.extra_data, opts, &padded, &truncated)) {
            char got[129], want[129];
            vt_hex_encode(res->attest.extra_data.ptr, res->attest.extra_data.len, got);
            vt_hex_encode(opts->nonce, opts->nonce_len > 64 ? 64 : opts->nonce_len, want);
            rc = vt_error_set(err, VT_E_VERIFY, "tpm_quote_nonce", "quote extraData %s differs from the expected nonce %s",
                              got, want);
        }
        snprintf(d, sizeof d, "extraData equals the %zu-byte expected nonce%s", opts->nonce_len,
                 rc == VT_OK && padded      ? " (zero-padded by the attester)"
                 : rc == VT_OK && truncated ? " (its first 32 bytes: truncated by the attester)"
                                            : "");
        VT_GUARD(vt_check_step(checks, err, "tpm_quote_nonce", rc, "%s", d));
        res->nonce_checked = true;
        res->nonce_padded = padded;
        res->nonce_truncated = truncated;
    }
    vt_err prc = check_pcrs(q, q->signature_raw ? VT_TPM_ALG_SHA256 : want_hash, res, d, sizeof d, err);
    return vt_check_step(checks, err, "tpm_pcr_digest", prc, "%s", d);
}

const vt_tpm_pcr *vt_tpm_quote_pcr(const vt_tpm_quote_result *res, uint16_t bank, unsigned index)
{
    for (size_t i = 0; i < res->n_pcrs; i++)
        if (res->pcrs[i].bank == bank && res->pcrs[i].index == index) return &res->pcrs[i];
    return NULL;
}

vt_err vt_tpm_check_init_data(const vt_tpm_quote_result *res, const uint8_t init_data_hash[32], vt_checks *checks,
                              vt_error *err)
{
    const vt_tpm_pcr *p8 = vt_tpm_quote_pcr(res, VT_TPM_ALG_SHA256, 8);
    uint8_t zero[32] = {0}, want[32];
    vt_err rc;
    if (p8 == NULL) rc = vt_error_set(err, VT_E_VERIFY, "init_data", "PCR8 (SHA-256 bank) is not in the quote");
    else if ((rc = vt_hash2(VT_SHA256, zero, 32, init_data_hash, 32, want, err)) == VT_OK && !vt_ct_eq(want, p8->value, 32))
        rc = vt_error_set(err, VT_E_VERIFY, "init_data", "PCR8 is not SHA-256(0^32 || init-data hash): init-data not bound");
    return vt_check_step(checks, err, "init_data", rc, "PCR8 = SHA-256(32 zero bytes || init-data hash)");
}

json_t *vt_tpm_pcrs_json(const vt_tpm_quote_result *res)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < res->n_pcrs; i++) {
        const vt_tpm_pcr *p = &res->pcrs[i];
        char key[32];
        if (p->bank == VT_TPM_ALG_SHA256) snprintf(key, sizeof key, "pcr%02u", p->index);
        else snprintf(key, sizeof key, "%s.pcr%02u", vt_tpm_alg_name(p->bank), p->index);
        json_object_set_new(o, key, vt_json_hex_string(p->value, p->len));
    }
    return o;
}
