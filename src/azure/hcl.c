/* The Azure HCL report ("HCLA" envelope written by the paravisor into vTPM NV index 0x01400001)
 * and its runtime claims (azure-cvm-tooling az-cvm-vtpm/src/hcl; layout re-checked against the
 * vectors, see docs/azure.md). Little-endian. */
#include <stdio.h>
#include <string.h>

#include "veritee/azure.h"
#include "veritee/codec.h"
#include "veritee/jose.h"
#include "veritee/json.h"

static vt_err parse_hcl(const uint8_t *p, size_t len, vt_hcl_report *out, vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, p, len, "HCL report", err);
    memset(out, 0, sizeof *out);
    uint32_t sig;
    VT_GUARD(vt_read_u32le(&r, "signature", &sig));
    if (sig != VT_HCL_SIGNATURE)
        return vt_error_set(err, VT_E_INVALID, "hcl_report", "HCL report signature 0x%08x is not \"HCLA\"", sig);
    VT_GUARD(vt_read_u32le(&r, "version", &out->header_version));
    if (out->header_version != 1 && out->header_version != 2)
        return vt_error_set(err, VT_E_UNSUPPORTED, "hcl_report", "HCL header version %u (1 or 2 expected)",
                            out->header_version);
    VT_GUARD(vt_read_u32le(&r, "report_size", &out->report_size));
    VT_GUARD(vt_read_u32le(&r, "request_type", &out->request_type));
    VT_GUARD(vt_read_u32le(&r, "status", &out->status));
    VT_GUARD(vt_read_skip(&r, "reserved", 12));
    VT_GUARD(vt_read_view(&r, "hardware report", VT_HCL_HW_REPORT_SIZE, &out->hw_report));
    VT_GUARD(vt_read_u32le(&r, "igvm data_size", &out->igvm_data_size));
    VT_GUARD(vt_read_u32le(&r, "igvm version", &out->igvm_version));
    VT_GUARD(vt_read_u32le(&r, "igvm report_type", &out->report_type));
    VT_GUARD(vt_read_u32le(&r, "igvm report_data_hash_type", &out->hash_type));
    VT_GUARD(vt_read_u32le(&r, "igvm variable_data_size", &out->var_size));
    if (out->report_type != VT_HCL_REPORT_TYPE_SNP && out->report_type != VT_HCL_REPORT_TYPE_TDX)
        return vt_error_set(err, VT_E_UNSUPPORTED, "hcl_report", "HCL report type %u (2 SEV-SNP or 4 TDX expected)",
                            out->report_type);
    if (out->hash_type != VT_HCL_HASH_SHA256)
        return vt_error_set(err, VT_E_UNSUPPORTED, "hcl_report", "HCL report data hash type %u (1 = SHA-256 expected)",
                            out->hash_type);
    /* Bound by what the buffer holds, never by report_size. */
    VT_GUARD(vt_read_view(&r, "variable data", out->var_size, &out->var_data));
    if (out->igvm_data_size != 20u + (uint64_t)out->var_size)
        return vt_error_set(err, VT_E_INVALID, "hcl_report", "igvm data_size %u is not 20 + variable data size %u",
                            out->igvm_data_size, out->var_size);
    return VT_OK;
}

vt_err vt_hcl_report_parse(const uint8_t *p, size_t len, vt_hcl_report *out, vt_error *err)
{
    vt_err rc = parse_hcl(p, len, out, err);
    if (rc != VT_OK && err != NULL) vt_error_name(err, "hcl_report");
    return rc;
}

void vt_hcl_runtime_claims_clear(vt_hcl_runtime_claims *c)
{
    if (c == NULL) return;
    json_decref(c->root);
    EVP_PKEY_free(c->ak);
    memset(c, 0, sizeof *c);
}

static vt_err find_ak(const json_t *root, EVP_PKEY **ak, vt_error *err)
{
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_array(keys))
        return vt_error_set(err, VT_E_INVALID, "hcl_ak", "runtime claims lack the \"keys\" array");
    const json_t *found = NULL;
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *k = json_array_get(keys, i);
        const char *kid = json_string_value(json_object_get(k, "kid"));
        if (kid == NULL || strcmp(kid, "HCLAkPub") != 0) continue;
        if (found != NULL) return vt_error_set(err, VT_E_INVALID, "hcl_ak", "runtime claims carry two HCLAkPub keys");
        found = k;
    }
    if (found == NULL) return vt_error_set(err, VT_E_INVALID, "hcl_ak", "runtime claims carry no HCLAkPub key");
    const char *kty = json_string_value(json_object_get(found, "kty"));
    if (kty == NULL || strcmp(kty, "RSA") != 0)
        return vt_error_set(err, VT_E_INVALID, "hcl_ak", "HCLAkPub is not an RSA JWK");
    vt_err rc = vt_jwk_to_pkey(found, false, ak, err);
    if (rc != VT_OK) vt_error_set(err, rc, "hcl_ak", "HCLAkPub: %s", err->msg);
    return rc;
}

vt_err vt_hcl_runtime_claims_parse(const vt_bytes *var, vt_hcl_runtime_claims *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    vt_err rc = vt_json_parse((const char *)var->ptr, var->len, &out->root, err);
    if (rc != VT_OK) return vt_error_set(err, rc, "hcl_ak", "runtime claims are not JSON: %s", err->msg);
    if (!json_is_object(out->root)) {
        vt_hcl_runtime_claims_clear(out);
        return vt_error_set(err, VT_E_INVALID, "hcl_ak", "runtime claims are not a JSON object");
    }
    rc = find_ak(out->root, &out->ak, err);
    const json_t *ud = json_object_get(out->root, "user-data");
    if (rc == VT_OK && ud != NULL) {
        const char *h = json_string_value(ud);
        size_t hl = h != NULL ? strlen(h) : 0;
        if (h == NULL || hl == 0 || hl > 128 || hl % 2 != 0 ||
            vt_hex_decode_fixed(h, out->user_data, hl / 2, err) != VT_OK)
            rc = vt_error_set(err, VT_E_INVALID, "hcl_user_data", "runtime claims \"user-data\" is not 1..64 bytes of hex");
        out->has_user_data = rc == VT_OK;
        out->user_data_len = hl / 2;
    }
    if (rc != VT_OK) vt_hcl_runtime_claims_clear(out);
    return rc;
}
