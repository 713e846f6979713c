/* Normalized claims (include/veritee/claims.h): builders from the TDX/SGX, SNP, CCA and NVIDIA
 * GPU verifiers' results. Field names follow the vendors' specs (TDX module ABI TDREPORT, SNP ABI
 * ATTESTATION_REPORT, RMM A7.2 realm/platform claims, NVIDIA's opaque-data field names). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/claims.h"
#include "veritee/codec.h"
#include "veritee/reader.h"
#include "verify_internal.h"

const char *vt_tee_name(vt_tee t)
{
    switch (t) {
    case VT_TEE_SGX: return "sgx";
    case VT_TEE_TDX: return "tdx";
    case VT_TEE_SNP: return "snp";
    case VT_TEE_CCA: return "cca";
    case VT_TEE_AZ_SNP_VTPM: return "az-snp-vtpm";
    case VT_TEE_AZ_TDX_VTPM: return "az-tdx-vtpm";
    case VT_TEE_TPM: return "tpm";
    case VT_TEE_NVIDIA: return "nvidia";
    default: return "unknown";
    }
}

vt_err vt_tee_parse(const char *s, vt_tee *out, vt_error *err)
{
    static const vt_tee all[] = {VT_TEE_SGX, VT_TEE_TDX, VT_TEE_SNP, VT_TEE_CCA, VT_TEE_AZ_SNP_VTPM, VT_TEE_AZ_TDX_VTPM,
                                 VT_TEE_TPM, VT_TEE_NVIDIA};
    for (size_t i = 0; s != NULL && i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, vt_tee_name(all[i])) == 0) {
            *out = all[i];
            return VT_OK;
        }
    }
    return vt_error_set(err, VT_E_ARG, "tee", "unknown TEE '%.32s' (sgx, tdx, snp, cca, az-snp-vtpm, az-tdx-vtpm, tpm, nvidia)",
                        s ? s : "");
}

/* The members of the per-TEE union that claims_reset zeroes; CCA and GPU claims (13 KiB, 3 KiB)
 * are zeroed by their own builders. */
typedef union {
    vt_claims_tdx tdx;
    vt_claims_sgx sgx;
    vt_claims_snp snp;
} small_tee_claims;

#define ZERO_SPAN(base, from, to) memset((char *)(base) + (from), 0, (size_t)((to) - (from)))

/* Only the entry arrays are left out: no member may sit between them and their counts. */
_Static_assert(offsetof(vt_claims, tpm.n_pcrs) - offsetof(vt_claims, tpm.pcrs) -
                       sizeof(((vt_claims *)0)->tpm.pcrs) < _Alignof(size_t),
               "a member between tpm.pcrs and tpm.n_pcrs would not be reset");
_Static_assert(offsetof(vt_claims, tpm.n_events) - offsetof(vt_claims, tpm.events) -
                       sizeof(((vt_claims *)0)->tpm.events) < _Alignof(size_t),
               "a member between tpm.events and tpm.n_events would not be reset");
_Static_assert(offsetof(vt_claims, u) + sizeof(((vt_claims *)0)->u) == sizeof(vt_claims),
               "the per-TEE union must be the last member of vt_claims");

void claims_reset(vt_claims *c)
{
    ZERO_SPAN(c, 0, offsetof(vt_claims, tpm.pcrs));
    ZERO_SPAN(c, offsetof(vt_claims, tpm.n_pcrs), offsetof(vt_claims, tpm.events));
    ZERO_SPAN(c, offsetof(vt_claims, tpm.n_events), offsetof(vt_claims, u));
    memset(&c->u, 0, sizeof(small_tee_claims));
}

vt_err vt_claims_set_meas(vt_claims *c, const char *name, const uint8_t *v, size_t len,
                          vt_error *err)
{
    if (strlen(name) >= VT_CLAIMS_NAME_MAX || len > VT_CLAIMS_VALUE_MAX)
        return vt_error_set(err, VT_E_ARG, "measurement", "measurement '%.40s' too long", name);
    vt_measurement *m = (vt_measurement *)vt_claims_meas(c, name);
    if (m == NULL) {
        if (c->n_meas >= VT_CLAIMS_MAX_MEAS)
            return vt_error_set(err, VT_E_ARG, "measurement", "more than %d measurements",
                                VT_CLAIMS_MAX_MEAS);
        m = &c->meas[c->n_meas++];
        snprintf(m->name, sizeof m->name, "%s", name);
    }
    memcpy(m->value, v, len);
    m->len = len;
    return VT_OK;
}

const vt_measurement *vt_claims_meas(const vt_claims *c, const char *name)
{
    for (size_t i = 0; i < c->n_meas; i++)
        if (strcmp(c->meas[i].name, name) == 0) return &c->meas[i];
    return NULL;
}

static void set_init(vt_claims *c, const char *name, const uint8_t *v, size_t len)
{
    snprintf(c->init_data_name, sizeof c->init_data_name, "%s", name);
    memcpy(c->init_data, v, len);
    c->init_data_len = len;
}

static vt_err tdx_td(const vt_tdx_result *r, vt_claims *out, vt_error *err)
{
    const vt_td_report *td = &r->quote.td;
    vt_claims_tdx *x = &out->u.tdx;
    out->tee = VT_TEE_TDX;
    x->td_attributes = vt_get_le(td->td_attributes, 8);
    x->xfam = vt_get_le(td->xfam, 8);
    x->seam_attributes = vt_get_le(td->seam_attributes, 8);
    memcpy(x->tee_tcb_svn, td->tee_tcb_svn, 16);
    x->tdx15 = td->tdx15;
    if (td->tdx15) memcpy(x->tee_tcb_svn2, td->tee_tcb_svn2, 16);
    memcpy(x->fmspc, r->pck.fmspc, 6);
    x->qe_svn = r->quote.qe_svn;
    x->pce_svn = r->quote.pce_svn;
    x->platform_status = r->platform_status;
    x->qe_status = r->qe_status;
    x->has_module_status = r->has_module_status;
    x->module_status = r->module_status;
    out->debug = (td->td_attributes[0] & 1) != 0;
    VT_GUARD(vt_claims_set_meas(out, "mr_td", td->mr_td, 48, err));
    for (int i = 0; i < 4; i++) {
        char n[8];
        snprintf(n, sizeof n, "rtmr%d", i);
        VT_GUARD(vt_claims_set_meas(out, n, td->rtmr[i], 48, err));
    }
    VT_GUARD(vt_claims_set_meas(out, "mr_config_id", td->mr_config_id, 48, err));
    VT_GUARD(vt_claims_set_meas(out, "mr_owner", td->mr_owner, 48, err));
    VT_GUARD(vt_claims_set_meas(out, "mr_owner_config", td->mr_owner_config, 48, err));
    VT_GUARD(vt_claims_set_meas(out, "mr_seam", td->mr_seam, 48, err));
    VT_GUARD(vt_claims_set_meas(out, "mr_signer_seam", td->mr_signer_seam, 48, err));
    if (td->tdx15) VT_GUARD(vt_claims_set_meas(out, "mr_service_td", td->mr_service_td, 48, err));
    memcpy(out->report_data, td->report_data, 64);
    out->report_data_len = 64;
    set_init(out, "mr_config_id", td->mr_config_id, 48);
    return VT_OK;
}

static vt_err tdx_sgx(const vt_tdx_result *r, vt_claims *out, vt_error *err)
{
    const vt_sgx_report *e = &r->quote.enclave;
    vt_claims_sgx *x = &out->u.sgx;
    out->tee = VT_TEE_SGX;
    memcpy(x->attributes, e->attributes, 16);
    x->misc_select = e->misc_select;
    x->isv_prod_id = e->isv_prod_id;
    x->isv_svn = e->isv_svn;
    x->config_svn = e->config_svn;
    memcpy(x->fmspc, r->pck.fmspc, 6);
    out->debug = (e->attributes[0] & 2) != 0;
    VT_GUARD(vt_claims_set_meas(out, "mr_enclave", e->mr_enclave, 32, err));
    VT_GUARD(vt_claims_set_meas(out, "mr_signer", e->mr_signer, 32, err));
    VT_GUARD(vt_claims_set_meas(out, "isv_family_id", e->isv_family_id, 16, err));
    VT_GUARD(vt_claims_set_meas(out, "isv_ext_prod_id", e->isv_ext_prod_id, 16, err));
    memcpy(out->report_data, e->report_data, 64);
    out->report_data_len = 64;
    set_init(out, "config_id", e->config_id, 64);
    return VT_OK;
}

vt_err vt_claims_from_tdx(const vt_tdx_result *r, vt_claims *out, vt_error *err)
{
    claims_reset(out);
    out->verified = true;
    out->emulated = r->emulated;
    out->has_tcb_status = true;
    out->tcb_status = r->tcb_status;
    out->tcb_date = r->tcb_date;
    for (size_t i = 0; i < r->n_advisory_ids && i < VT_CLAIMS_MAX_ADVISORIES; i++)
        snprintf(out->advisories[out->n_advisories++], 32, "%s", r->advisory_ids[i]);
    out->has_collateral_expiry = true;
    out->collateral_expiry = r->collateral_expiry;
    out->revocation_checked = r->revocation_checked;
    return vt_tdx_quote_is_td(&r->quote) ? tdx_td(r, out, err) : tdx_sgx(r, out, err);
}

vt_err vt_claims_from_snp(const vt_snp_claims *c, vt_claims *out, vt_error *err)
{
    const vt_snp_report *r = &c->report;
    vt_claims_snp *x = &out->u.snp;
    claims_reset(out);
    out->tee = VT_TEE_SNP;
    out->verified = true;
    out->emulated = c->emulated;
    x->product = c->product;
    x->signer = c->signer;
    x->policy = r->policy.raw;
    x->vmpl = r->vmpl;
    x->guest_svn = r->guest_svn;
    x->platform_info = r->platform_info.raw;
    x->reported_tcb = c->reported_tcb;
    x->committed_tcb = c->committed_tcb;
    x->current_tcb = c->current_tcb;
    x->launch_tcb = c->launch_tcb;
    x->current_version = r->current_version;
    x->committed_version = r->committed_version;
    memcpy(x->chip_id, r->chip_id, 64);
    x->has_cpuid = r->has_cpuid;
    x->cpuid_fam_id = r->cpuid_fam_id;
    x->cpuid_mod_id = r->cpuid_mod_id;
    x->cpuid_step = r->cpuid_step;
    out->debug = r->policy.debug;
    VT_GUARD(vt_claims_set_meas(out, "measurement", r->measurement, 48, err));
    VT_GUARD(vt_claims_set_meas(out, "host_data", r->host_data, 32, err));
    VT_GUARD(vt_claims_set_meas(out, "id_key_digest", r->id_key_digest, 48, err));
    VT_GUARD(vt_claims_set_meas(out, "author_key_digest", r->author_key_digest, 48, err));
    VT_GUARD(vt_claims_set_meas(out, "family_id", r->family_id, 16, err));
    VT_GUARD(vt_claims_set_meas(out, "image_id", r->image_id, 16, err));
    memcpy(out->report_data, r->report_data, 64);
    out->report_data_len = 64;
    set_init(out, "host_data", r->host_data, 32);
    /* The chain's validity is the only expiring collateral of an SNP verification. */
    out->has_collateral_expiry = c->chain_not_after != 0;
    out->collateral_expiry = c->chain_not_after;
    return VT_OK;
}

static void copy_text(char *dst, size_t cap, vt_bytes b)
{
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = b.ptr[i];
        dst[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    dst[n] = '\0';
}

static size_t copy_bytes(uint8_t *dst, size_t cap, vt_bytes b)
{
    size_t n = b.len < cap ? b.len : cap;
    if (n) memcpy(dst, b.ptr, n);
    return n;
}

static vt_err cca_sw(const vt_cca_platform_claims *p, vt_claims_cca *x, vt_error *err)
{
    if (p->n_sw > VT_CLAIMS_CCA_SW_MAX)
        return vt_error_set(err, VT_E_INVALID, "claims", "%zu software components (max %d)",
                            p->n_sw, VT_CLAIMS_CCA_SW_MAX);
    for (size_t i = 0; i < p->n_sw; i++) {
        const vt_cca_sw_component *s = &p->sw[i];
        vt_claims_cca_sw *d = &x->sw[i];
        if (s->measurement.len > VT_CLAIMS_VALUE_MAX || s->signer_id.len > VT_CLAIMS_VALUE_MAX)
            return vt_error_set(err, VT_E_INVALID, "claims",
                                "software component %zu: measurement or signer id over 64 bytes", i);
        if (s->has_type) copy_text(d->type, sizeof d->type, s->type);
        if (s->has_version) copy_text(d->version, sizeof d->version, s->version);
        d->measurement_len = copy_bytes(d->measurement, sizeof d->measurement, s->measurement);
        d->signer_id_len = copy_bytes(d->signer_id, sizeof d->signer_id, s->signer_id);
    }
    x->n_sw = p->n_sw;
    return VT_OK;
}

vt_err vt_claims_from_cca(const vt_cca_token *t, const vt_cca_cpak *cpak, vt_claims *out,
                          vt_error *err)
{
    const vt_cca_realm_claims *r = &t->realm;
    const vt_cca_platform_claims *p = &t->platform;
    vt_claims_cca *x = &out->u.cca;
    claims_reset(out);
    memset(x, 0, sizeof *x);
    out->tee = VT_TEE_CCA;
    out->verified = true;
    out->emulated = cpak != NULL && cpak->emulated;
    x->profile = p->profile_id;
    x->lifecycle = p->lifecycle;
    if (p->implementation_id.len > 64 || p->instance_id.len > 64 || r->challenge.len > 64 ||
        r->personalization.len > 64 || r->rim.len > 64)
        return vt_error_set(err, VT_E_INVALID, "claims", "CCA claim longer than 64 bytes");
    x->implementation_id_len = copy_bytes(x->implementation_id, 64, p->implementation_id);
    x->instance_id_len = copy_bytes(x->instance_id, 64, p->instance_id);
    if (p->config.len <= 64) x->platform_config_len = copy_bytes(x->platform_config, 64, p->config);
    VT_GUARD(vt_hash(VT_SHA256, p->config.ptr, p->config.len, x->platform_config_sha256, err));
    copy_text(x->realm_hash_alg, sizeof x->realm_hash_alg, r->hash_alg_id);
    copy_text(x->platform_hash_alg, sizeof x->platform_hash_alg, p->hash_alg_id);
    VT_GUARD(cca_sw(p, x, err));
    /* Only a "secured" platform keeps realm memory from its debuggers. */
    out->debug = !vt_cca_lifecycle_secured(p->lifecycle);
    VT_GUARD(vt_claims_set_meas(out, "rim", r->rim.ptr, r->rim.len, err));
    for (int i = 0; i < 4; i++) {
        char n[8];
        snprintf(n, sizeof n, "rem%d", i);
        if (r->rem[i].len > 64)
            return vt_error_set(err, VT_E_INVALID, "claims", "REM%d longer than 64 bytes", i);
        VT_GUARD(vt_claims_set_meas(out, n, r->rem[i].ptr, r->rem[i].len, err));
    }
    VT_GUARD(vt_claims_set_meas(out, "personalization_value", r->personalization.ptr,
                                r->personalization.len, err));
    out->report_data_len = copy_bytes(out->report_data, 64, r->challenge);
    set_init(out, "personalization_value", r->personalization.ptr, r->personalization.len);
    return VT_OK;
}

/* ---- NVIDIA GPUs: from the nvidia layer's device object (docs/nvidia.md, "Claims") ---- */

static vt_err gpu_text(const json_t *o, const char *key, bool required, char *dst, size_t cap, vt_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v)) {
        if (!required) return VT_OK;
        return vt_error_set(err, VT_E_INVALID, "claims", "GPU claims lack %s", key);
    }
    if (!json_is_string(v) || json_string_length(v) >= cap)
        return vt_error_set(err, VT_E_INVALID, "claims", "GPU claim %s: expected a string under %zu bytes", key, cap);
    snprintf(dst, cap, "%s", json_string_value(v));
    return VT_OK;
}

static vt_err gpu_measurements(const json_t *m, vt_claims_gpu *x, vt_error *err)
{
    const char *k;
    json_t *v;
    if (!json_is_object(m)) return vt_error_set(err, VT_E_INVALID, "claims", "GPU claims lack measurements");
    json_object_foreach((json_t *)m, k, v) {
        char *end = NULL;
        unsigned long i = strtoul(k, &end, 10);
        vt_buf b = {0};
        if (end == k || *end != '\0' || i == 0 || i > VT_CLAIMS_GPU_MEAS)
            return vt_error_set(err, VT_E_UNSUPPORTED, "claims", "GPU measurement index %.8s (1..%d kept)", k,
                                VT_CLAIMS_GPU_MEAS);
        if (!json_is_string(v) || vt_hex_decode(json_string_value(v), json_string_length(v), &b, err) != VT_OK ||
            b.len != 48) {
            vt_buf_free(&b);
            return vt_error_set(err, VT_E_INVALID, "claims", "GPU measurement %lu is not 48 bytes of hex", i);
        }
        memcpy(x->meas[i - 1], b.ptr, 48);
        vt_buf_free(&b);
        if (i > x->n_meas) x->n_meas = i;
    }
    return VT_OK;
}

/* config.switch_pdi: hex strings of 8 bytes each (report order); kept: the distinct non-zero ones. */
static vt_err gpu_switch_pdis(const json_t *l, vt_claims_gpu *x, vt_error *err)
{
    if (l == NULL) return VT_OK;
    if (!json_is_array(l)) return vt_error_set(err, VT_E_INVALID, "claims", "GPU claim switch_pdi: expected a list");
    x->has_switch_pdi = true;
    for (size_t i = 0; i < json_array_size(l); i++) {
        const json_t *v = json_array_get(l, i);
        vt_buf b = {0};
        if (!json_is_string(v) || json_string_length(v) != 16 ||
            vt_hex_decode(json_string_value(v), 16, &b, err) != VT_OK || b.len != 8) {
            vt_buf_free(&b);
            return vt_error_set(err, VT_E_INVALID, "claims", "GPU claim switch_pdi[%zu] is not 8 bytes of hex", i);
        }
        bool seen = vt_bytes_is_zero(b.ptr, 8);
        for (size_t j = 0; j < x->n_switch_pdi && !seen; j++) seen = memcmp(x->switch_pdi[j], b.ptr, 8) == 0;
        if (!seen && x->n_switch_pdi >= VT_CLAIMS_GPU_SWITCHES) {
            vt_buf_free(&b);
            return vt_error_set(err, VT_E_UNSUPPORTED, "claims", "GPU attached to more than %d distinct switches",
                                VT_CLAIMS_GPU_SWITCHES);
        }
        if (!seen) memcpy(x->switch_pdi[x->n_switch_pdi++], b.ptr, 8);
        vt_buf_free(&b);
    }
    return VT_OK;
}

vt_err vt_claims_from_gpu(const json_t *d, bool revocation_checked, vt_claims *out, vt_error *err)
{
    vt_claims_gpu *x = &out->u.gpu;
    claims_reset(out);
    memset(x, 0, sizeof *x);
    out->tee = VT_TEE_NVIDIA;
    out->verified = true;
    out->revocation_checked = revocation_checked;
    if (!json_is_object(d)) return vt_error_set(err, VT_E_ARG, "claims", "a GPU device object is required");
    out->emulated = json_is_true(json_object_get(d, "emulated"));
    const json_t *cfg = json_object_get(d, "config");
    VT_GUARD(gpu_text(d, "arch", true, x->arch, sizeof x->arch, err));
    VT_GUARD(gpu_text(d, "uuid", false, x->uuid, sizeof x->uuid, err));
    VT_GUARD(gpu_text(d, "ueid", true, x->ueid, sizeof x->ueid, err));
    VT_GUARD(gpu_text(cfg, "driver_version", true, x->driver_version, sizeof x->driver_version, err));
    VT_GUARD(gpu_text(cfg, "vbios_version", true, x->vbios_version, sizeof x->vbios_version, err));
    VT_GUARD(gpu_text(cfg, "feature_flag", false, x->feature, sizeof x->feature, err));
    x->cc_mode = x->feature[0] != '\0';
    x->ppcie = strcmp(x->feature, "PPCIE") == 0;
    const char *nvdec = json_string_value(json_object_get(cfg, "nvdec0_status"));
    x->nvdec0_enabled = nvdec != NULL && strcmp(nvdec, "enabled") == 0;
    const json_t *rim = json_object_get(d, "rim");
    if (rim != NULL) {
        /* the nvidia layer attaches a result only when the match passed */
        x->rim = VT_GPU_RIM_MATCHED;
        x->rim_matched = json_array_size(json_object_get(rim, "matched"));
    }
    VT_GUARD(gpu_measurements(json_object_get(d, "measurements"), x, err));
    VT_GUARD(gpu_switch_pdis(json_object_get(cfg, "switch_pdi"), x, err));
    const char *nonce = json_string_value(json_object_get(d, "nonce"));
    vt_buf n = {0};
    if (nonce == NULL || vt_hex_decode(nonce, strlen(nonce), &n, err) != VT_OK || n.len != 32) {
        vt_buf_free(&n);
        return vt_error_set(err, VT_E_INVALID, "claims", "GPU claims lack the 32-byte request nonce");
    }
    memcpy(out->report_data, n.ptr, 32);
    out->report_data_len = 32;
    vt_buf_free(&n);
    return VT_OK;
}
