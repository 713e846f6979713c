/* TPM 2.0 structure parsers (TPM 2.0 Library Part 2: TPMS_ATTEST 10.12.12, TPMS_QUOTE_INFO
 * 10.12.1, TPML_PCR_SELECTION 10.9.7, TPMT_SIGNATURE 11.3.4, TPMT_PUBLIC 12.2.4). Big-endian. */
#include <stdio.h>
#include <string.h>

#include "veritee/tpm.h"

size_t vt_tpm_alg_digest_len(uint16_t alg)
{
    switch (alg) {
    case VT_TPM_ALG_SHA1: return 20;
    case VT_TPM_ALG_SHA256: return 32;
    case VT_TPM_ALG_SHA384: return 48;
    case VT_TPM_ALG_SHA512: return 64;
    case VT_TPM_ALG_SM3_256: return 32;
    default: return 0;
    }
}

const char *vt_tpm_alg_name(uint16_t alg)
{
    switch (alg) {
    case VT_TPM_ALG_SHA1: return "sha1";
    case VT_TPM_ALG_SHA256: return "sha256";
    case VT_TPM_ALG_SHA384: return "sha384";
    case VT_TPM_ALG_SHA512: return "sha512";
    case VT_TPM_ALG_SM3_256: return "sm3_256";
    default: return "unknown";
    }
}

static const char *md_name(uint16_t alg)
{
    switch (alg) {
    case VT_TPM_ALG_SHA1: return "SHA1";
    case VT_TPM_ALG_SHA256: return "SHA256";
    case VT_TPM_ALG_SHA384: return "SHA384";
    case VT_TPM_ALG_SHA512: return "SHA512";
    case VT_TPM_ALG_SM3_256: return "SM3";
    default: return NULL;
    }
}

vt_err vt_tpm_hash2(uint16_t alg, const void *a, size_t an, const void *b, size_t bn, uint8_t *out,
                    vt_error *err)
{
    const char *name = md_name(alg);
    EVP_MD *md = name != NULL ? EVP_MD_fetch(NULL, name, NULL) : NULL;
    if (md == NULL)
        return vt_error_set(err, VT_E_UNSUPPORTED, "hash", "hash algorithm 0x%04x not available", alg);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = c != NULL && EVP_DigestInit_ex(c, md, NULL) == 1 && (an == 0 || EVP_DigestUpdate(c, a, an) == 1) &&
             (bn == 0 || EVP_DigestUpdate(c, b, bn) == 1) && EVP_DigestFinal_ex(c, out, &n) == 1;
    EVP_MD_CTX_free(c);
    EVP_MD_free(md);
    if (!ok || n != vt_tpm_alg_digest_len(alg))
        return vt_error_set(err, VT_E_INTERNAL, "hash", "digest computation failed");
    return VT_OK;
}

static vt_err read_u64be(vt_reader *r, const char *field, uint64_t *out)
{
    uint32_t hi, lo;
    VT_GUARD(vt_read_u32be(r, field, &hi));
    VT_GUARD(vt_read_u32be(r, field, &lo));
    *out = (uint64_t)hi << 32 | lo;
    return VT_OK;
}

/* A TPM2B: u16 size then that many bytes (bounded by what remains; max optional). */
static vt_err read_tpm2b(vt_reader *r, const char *field, size_t max, vt_bytes *out)
{
    uint16_t n;
    VT_GUARD(vt_read_u16be(r, field, &n));
    if (max != 0 && n > max)
        return vt_error_set(r->err, VT_E_INVALID, "tpm_structure", "%s: %s is %u bytes, at most %zu allowed",
                            r->what, field, n, max);
    return vt_read_view(r, field, n, out);
}

vt_err vt_tpml_pcr_selection_read(vt_reader *r, vt_tpml_pcr_selection *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    VT_GUARD(vt_read_u32be(r, "pcrSelect.count", &out->count));
    if (out->count > VT_TPM_BANKS_MAX)
        return vt_error_set(err, VT_E_INVALID, "tpm_pcr_selection", "PCR selection lists %u banks (at most %d)",
                            out->count, VT_TPM_BANKS_MAX);
    for (uint32_t i = 0; i < out->count; i++) {
        vt_tpms_pcr_selection *s = &out->sel[i];
        VT_GUARD(vt_read_u16be(r, "pcrSelections.hash", &s->hash_alg));
        VT_GUARD(vt_read_u8(r, "pcrSelections.sizeofSelect", &s->size_of_select));
        if (s->size_of_select == 0 || s->size_of_select > VT_TPM_PCR_SELECT_MAX)
            return vt_error_set(err, VT_E_INVALID, "tpm_pcr_selection", "sizeofSelect %u (1..%d)",
                                s->size_of_select, VT_TPM_PCR_SELECT_MAX);
        VT_GUARD(vt_read_copy(r, "pcrSelections.pcrSelect", s->pcr_select, s->size_of_select));
        for (uint32_t j = 0; j < i; j++)
            if (out->sel[j].hash_alg == s->hash_alg)
                return vt_error_set(err, VT_E_INVALID, "tpm_pcr_selection", "bank 0x%04x selected twice",
                                    s->hash_alg);
    }
    return VT_OK;
}

size_t vt_tpml_pcr_selection_count(const vt_tpml_pcr_selection *s)
{
    size_t n = 0;
    for (uint32_t i = 0; i < s->count && i < VT_TPM_BANKS_MAX; i++)
        for (unsigned j = 0; j < s->sel[i].size_of_select && j < VT_TPM_PCR_SELECT_MAX; j++)
            n += (size_t)__builtin_popcount(s->sel[i].pcr_select[j]);
    return n;
}

static vt_err parse_attest(const uint8_t *p, size_t len, vt_tpms_attest *out, vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, p, len, "TPMS_ATTEST", err);
    memset(out, 0, sizeof *out);
    VT_GUARD(vt_read_u32be(&r, "magic", &out->magic));
    if (out->magic != VT_TPM_GENERATED_VALUE)
        return vt_error_set(err, VT_E_INVALID, "tpm_quote_parse",
                            "TPMS_ATTEST magic 0x%08x is not TPM_GENERATED_VALUE", out->magic);
    VT_GUARD(vt_read_u16be(&r, "type", &out->type));
    if (out->type != VT_TPM_ST_ATTEST_QUOTE)
        return vt_error_set(err, VT_E_INVALID, "tpm_quote_parse",
                            "TPMS_ATTEST type 0x%04x is not TPM_ST_ATTEST_QUOTE", out->type);
    VT_GUARD(read_tpm2b(&r, "qualifiedSigner", 2 + 64, &out->qualified_signer));
    VT_GUARD(read_tpm2b(&r, "extraData", 64, &out->extra_data));
    VT_GUARD(read_u64be(&r, "clockInfo.clock", &out->clock));
    VT_GUARD(vt_read_u32be(&r, "clockInfo.resetCount", &out->reset_count));
    VT_GUARD(vt_read_u32be(&r, "clockInfo.restartCount", &out->restart_count));
    VT_GUARD(vt_read_u8(&r, "clockInfo.safe", &out->safe));
    if (out->safe > 1)
        return vt_error_set(err, VT_E_INVALID, "tpm_quote_parse", "clockInfo.safe is %u (TPMI_YES_NO)", out->safe);
    VT_GUARD(read_u64be(&r, "firmwareVersion", &out->firmware_version));
    VT_GUARD(vt_tpml_pcr_selection_read(&r, &out->pcr_select, err));
    VT_GUARD(read_tpm2b(&r, "pcrDigest", 64, &out->pcr_digest));
    if (vt_reader_remaining(&r) != 0)
        return vt_error_set(err, VT_E_INVALID, "tpm_quote_parse", "%zu bytes after TPMS_ATTEST.pcrDigest",
                            vt_reader_remaining(&r));
    return VT_OK;
}

static vt_err parse_signature(const uint8_t *p, size_t len, vt_tpmt_signature *out, vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, p, len, "TPMT_SIGNATURE", err);
    memset(out, 0, sizeof *out);
    VT_GUARD(vt_read_u16be(&r, "sigAlg", &out->sig_alg));
    VT_GUARD(vt_read_u16be(&r, "hash", &out->hash_alg));
    switch (out->sig_alg) {
    case VT_TPM_ALG_RSASSA:
    case VT_TPM_ALG_RSAPSS: VT_GUARD(read_tpm2b(&r, "signature.sig", 512, &out->rsa)); break;
    case VT_TPM_ALG_ECDSA:
        VT_GUARD(read_tpm2b(&r, "signatureR", 66, &out->ecc_r));
        VT_GUARD(read_tpm2b(&r, "signatureS", 66, &out->ecc_s));
        break;
    default:
        return vt_error_set(err, VT_E_UNSUPPORTED, "tpm_signature",
                            "TPMT_SIGNATURE sigAlg 0x%04x (RSASSA, RSAPSS or ECDSA expected)", out->sig_alg);
    }
    if (vt_reader_remaining(&r) != 0)
        return vt_error_set(err, VT_E_INVALID, "tpm_signature", "%zu bytes after TPMT_SIGNATURE",
                            vt_reader_remaining(&r));
    return VT_OK;
}

static vt_err read_public(vt_reader *r, vt_tpmt_public *out, vt_error *err)
{
    VT_GUARD(vt_read_u16be(r, "type", &out->type));
    VT_GUARD(vt_read_u16be(r, "nameAlg", &out->name_alg));
    VT_GUARD(vt_read_u32be(r, "objectAttributes", &out->object_attributes));
    VT_GUARD(read_tpm2b(r, "authPolicy", 64, &out->auth_policy));
    if (out->type != VT_TPM_ALG_RSA && out->type != VT_TPM_ALG_ECC)
        return vt_error_set(err, VT_E_UNSUPPORTED, "tpm_public", "TPMT_PUBLIC type 0x%04x (RSA or ECC expected)",
                            out->type);
    VT_GUARD(vt_read_u16be(r, "parameters.symmetric", &out->symmetric));
    if (out->symmetric != VT_TPM_ALG_NULL)
        return vt_error_set(err, VT_E_UNSUPPORTED, "tpm_public",
                            "key has symmetric parameters 0x%04x (a storage key, not a signing key)", out->symmetric);
    VT_GUARD(vt_read_u16be(r, "parameters.scheme", &out->scheme));
    if (out->scheme != VT_TPM_ALG_NULL) VT_GUARD(vt_read_u16be(r, "parameters.scheme.hashAlg", &out->scheme_hash));
    if (out->type == VT_TPM_ALG_RSA) {
        VT_GUARD(vt_read_u16be(r, "parameters.keyBits", &out->key_bits));
        VT_GUARD(vt_read_u32be(r, "parameters.exponent", &out->exponent));
        VT_GUARD(read_tpm2b(r, "unique.rsa", 512, &out->modulus));
        if (out->modulus.len == 0 || out->modulus.len * 8 != out->key_bits)
            return vt_error_set(err, VT_E_INVALID, "tpm_public", "RSA modulus of %zu bytes for keyBits %u",
                                out->modulus.len, out->key_bits);
    } else {
        uint16_t kdf;
        VT_GUARD(vt_read_u16be(r, "parameters.curveID", &out->curve_id));
        VT_GUARD(vt_read_u16be(r, "parameters.kdf", &kdf));
        if (kdf != VT_TPM_ALG_NULL) {
            uint16_t kdf_hash;
            VT_GUARD(vt_read_u16be(r, "parameters.kdf.hashAlg", &kdf_hash));
        }
        VT_GUARD(read_tpm2b(r, "unique.ecc.x", 66, &out->x));
        VT_GUARD(read_tpm2b(r, "unique.ecc.y", 66, &out->y));
    }
    return VT_OK;
}

static vt_err parse_public(const uint8_t *p, size_t len, bool sized, vt_tpmt_public *out, vt_error *err)
{
    vt_reader r, body;
    vt_reader_init(&r, p, len, sized ? "TPM2B_PUBLIC" : "TPMT_PUBLIC", err);
    memset(out, 0, sizeof *out);
    if (sized) {
        uint16_t n;
        VT_GUARD(vt_read_u16be(&r, "size", &n));
        VT_GUARD(vt_read_sub(&r, "publicArea", n, &body));
    } else {
        body = r;
        r.off = r.len;
    }
    VT_GUARD(read_public(&body, out, err));
    if (vt_reader_remaining(&body) != 0 || vt_reader_remaining(&r) != 0)
        return vt_error_set(err, VT_E_INVALID, "tpm_public", "bytes after TPMT_PUBLIC");
    return VT_OK;
}

vt_err vt_tpms_attest_parse(const uint8_t *p, size_t len, vt_tpms_attest *out, vt_error *err)
{
    vt_err rc = parse_attest(p, len, out, err);
    if (rc != VT_OK && err != NULL && rc != VT_E_NOMEM) vt_error_name(err, "tpm_quote_parse");
    return rc;
}

vt_err vt_tpmt_signature_parse(const uint8_t *p, size_t len, vt_tpmt_signature *out, vt_error *err)
{
    vt_err rc = parse_signature(p, len, out, err);
    if (rc != VT_OK && err != NULL && rc != VT_E_NOMEM) vt_error_name(err, "tpm_signature");
    return rc;
}

vt_err vt_tpmt_public_parse(const uint8_t *p, size_t len, bool sized, vt_tpmt_public *out, vt_error *err)
{
    vt_err rc = parse_public(p, len, sized, out, err);
    if (rc != VT_OK && err != NULL && rc != VT_E_NOMEM) vt_error_name(err, "tpm_public");
    return rc;
}
