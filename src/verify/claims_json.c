/* Normalized claims as JSON: the annotated evidence an EAR appraisal carries (ear.md §3,
 * Trustee shapes the same facts under the TEE name). Bytes as lower-case hex. */
#include <stdlib.h>
#include <string.h>

#include "veritee/json.h"
#include "veritee/claims.h"
#include "veritee/codec.h"
#include "veritee/tpm.h"

static void put(json_t *o, const char *k, json_t *v)
{
    if (o != NULL && v != NULL) json_object_set_new(o, k, v);
    else json_decref(v);
}

static json_t *hex_u64(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%016llx", (unsigned long long)v);
    return json_string(b);
}

static json_t *time_json(vt_time t)
{
    char b[21];
    vt_time_format(t, b);
    return json_string(b);
}

static json_t *snp_tcb(const vt_snp_tcb *t)
{
    json_t *o = json_pack("{s:i, s:i, s:i, s:i}", "bootloader", t->boot_loader, "tee", t->tee,
                          "snp", t->snp, "microcode", t->microcode);
    if (t->has_fmc) put(o, "fmc", json_integer(t->fmc));
    put(o, "raw", hex_u64(t->raw));
    return o;
}

static json_t *tdx_json(const vt_claims_tdx *x)
{
    json_t *o = json_object();
    put(o, "td_attributes", hex_u64(x->td_attributes));
    put(o, "xfam", hex_u64(x->xfam));
    put(o, "seam_attributes", hex_u64(x->seam_attributes));
    put(o, "tee_tcb_svn", vt_json_hex_string(x->tee_tcb_svn, 16));
    if (x->tdx15) put(o, "tee_tcb_svn2", vt_json_hex_string(x->tee_tcb_svn2, 16));
    put(o, "fmspc", vt_json_hex_string(x->fmspc, 6));
    put(o, "qe_svn", json_integer(x->qe_svn));
    put(o, "pce_svn", json_integer(x->pce_svn));
    put(o, "platform_tcb_status", json_string(vt_tcb_status_name(x->platform_status)));
    put(o, "qe_tcb_status", json_string(vt_tcb_status_name(x->qe_status)));
    if (x->has_module_status)
        put(o, "module_tcb_status", json_string(vt_tcb_status_name(x->module_status)));
    return o;
}

static json_t *sgx_json(const vt_claims_sgx *x)
{
    json_t *o = json_object();
    put(o, "attributes", vt_json_hex_string(x->attributes, 16));
    put(o, "misc_select", json_integer(x->misc_select));
    put(o, "isv_prod_id", json_integer(x->isv_prod_id));
    put(o, "isv_svn", json_integer(x->isv_svn));
    put(o, "config_svn", json_integer(x->config_svn));
    put(o, "fmspc", vt_json_hex_string(x->fmspc, 6));
    return o;
}

static json_t *snp_json(const vt_claims_snp *x)
{
    char fw[16];
    json_t *o = json_object();
    put(o, "product", json_string(vt_snp_product_name(x->product)));
    put(o, "signing_key", json_string(vt_snp_signing_key_name(x->signer)));
    put(o, "policy", hex_u64(x->policy));
    put(o, "vmpl", json_integer(x->vmpl));
    put(o, "guest_svn", json_integer(x->guest_svn));
    put(o, "platform_info", hex_u64(x->platform_info));
    put(o, "reported_tcb", snp_tcb(&x->reported_tcb));
    put(o, "committed_tcb", snp_tcb(&x->committed_tcb));
    put(o, "current_tcb", snp_tcb(&x->current_tcb));
    put(o, "launch_tcb", snp_tcb(&x->launch_tcb));
    snprintf(fw, sizeof fw, "%u.%u.%u", x->current_version.major, x->current_version.minor,
             x->current_version.build);
    put(o, "firmware", json_string(fw));
    snprintf(fw, sizeof fw, "%u.%u.%u", x->committed_version.major, x->committed_version.minor,
             x->committed_version.build);
    put(o, "committed_firmware", json_string(fw));
    put(o, "chip_id", vt_json_hex_string(x->chip_id, 64));
    return o;
}

static json_t *cca_json(const vt_claims_cca *x)
{
    json_t *o = json_object();
    put(o, "profile", json_string(vt_cca_profile_name(x->profile)));
    put(o, "lifecycle", json_integer((json_int_t)x->lifecycle));
    put(o, "lifecycle_name", json_string(vt_cca_lifecycle_name(x->lifecycle)));
    put(o, "implementation_id", vt_json_hex_string(x->implementation_id, x->implementation_id_len));
    put(o, "instance_id", vt_json_hex_string(x->instance_id, x->instance_id_len));
    if (x->platform_config_len) put(o, "platform_config", vt_json_hex_string(x->platform_config, x->platform_config_len));
    put(o, "platform_config_sha256", vt_json_hex_string(x->platform_config_sha256, 32));
    put(o, "realm_hash_algorithm", json_string(x->realm_hash_alg));
    put(o, "platform_hash_algorithm", json_string(x->platform_hash_alg));
    json_t *sw = json_array();
    for (size_t i = 0; sw != NULL && i < x->n_sw; i++) {
        const vt_claims_cca_sw *s = &x->sw[i];
        json_t *c = json_object();
        if (s->type[0]) put(c, "component_type", json_string(s->type));
        put(c, "measurement_value", vt_json_hex_string(s->measurement, s->measurement_len));
        if (s->version[0]) put(c, "version", json_string(s->version));
        put(c, "signer_id", vt_json_hex_string(s->signer_id, s->signer_id_len));
        if (c != NULL) json_array_append_new(sw, c);
    }
    put(o, "software_components", sw);
    return o;
}

static json_t *gpu_json(const vt_claims_gpu *x)
{
    json_t *o = json_object();
    put(o, "arch", json_string(x->arch));
    put(o, "ueid", json_string(x->ueid));
    put(o, "uuid", x->uuid[0] ? json_string(x->uuid) : json_null());
    put(o, "driver_version", json_string(x->driver_version));
    put(o, "vbios_version", json_string(x->vbios_version));
    put(o, "feature_flag", x->feature[0] ? json_string(x->feature) : json_null());
    put(o, "cc_mode", json_string(x->cc_mode ? "on" : "not_shown"));
    put(o, "ppcie", json_boolean(x->ppcie));
    put(o, "nvdec0", json_string(x->nvdec0_enabled ? "enabled" : "disabled"));
    put(o, "rim", json_string(x->rim == VT_GPU_RIM_MATCHED ? "matched" : "not_checked"));
    if (x->rim == VT_GPU_RIM_MATCHED) put(o, "rim_matched", json_integer((json_int_t)x->rim_matched));
    json_t *m = json_object();
    for (size_t i = 0; m != NULL && i < x->n_meas; i++) {
        char k[24];
        snprintf(k, sizeof k, "%zu", i + 1);
        put(m, k, vt_json_hex_string(x->meas[i], 48));
    }
    put(o, "measurements", m);
    if (x->has_switch_pdi) { /* each as the little-endian 64-bit value, as NVIDIA's tools print it */
        json_t *sw = json_array();
        for (size_t i = 0; sw != NULL && i < x->n_switch_pdi; i++) {
            uint8_t le[8];
            for (int j = 0; j < 8; j++) le[j] = x->switch_pdi[i][7 - j];
            json_array_append_new(sw, vt_json_hex_string(le, 8));
        }
        put(o, "switch_pdis", sw);
    }
    return o;
}

static json_t *tpm_json(const vt_claims *c)
{
    const vt_claims_tpm *t = &c->tpm;
    json_t *o = json_object(), *banks = json_object();
    for (size_t i = 0; banks != NULL && i < t->n_pcrs; i++) {
        const vt_claims_pcr *p = &t->pcrs[i];
        char bank[16], idx[8];
        snprintf(bank, sizeof bank, "%s", vt_tpm_alg_name(p->bank));
        snprintf(idx, sizeof idx, "%u", p->index);
        json_t *b = json_object_get(banks, bank);
        if (b == NULL) {
            b = json_object();
            put(banks, bank, b);
        }
        put(b, idx, vt_json_hex_string(p->value, p->len));
    }
    put(o, "pcrs", banks);
    if (t->has_ak_sha256) put(o, "ak_public_sha256", vt_json_hex_string(t->ak_sha256, 32));
    if (t->has_runtime_claims) {
        json_t *rt = json_object(), *vm = json_object();
        const struct { const char *k; int v; } b[] = {
            {"secure-boot", t->secure_boot}, {"tpm-enabled", t->tpm_enabled}, {"console-enabled", t->console_enabled}};
        for (size_t i = 0; i < 3; i++)
            if (b[i].v >= 0) put(vm, b[i].k, json_boolean(b[i].v));
        if (t->vm_unique_id[0]) put(vm, "vmUniqueId", json_string(t->vm_unique_id));
        put(rt, "vm-configuration", vm);
        if (t->user_data_len) put(rt, "user-data", vt_json_hex_string(t->user_data, t->user_data_len));
        put(o, "runtime_claims", rt);
    }
    if (t->has_event_log) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < t->n_events; i++) {
            const vt_claims_event *e = &t->events[i];
            json_t *x = json_pack("{s:I, s:I, s:I}", "index", (json_int_t)e->index, "pcr", (json_int_t)e->pcr,
                                  "type", (json_int_t)e->type);
            if (e->digest_len)
                put(x, "digest", json_pack("{s:o}", vt_tpm_alg_name(e->digest_alg), vt_json_hex_string(e->digest, e->digest_len)));
            if (e->aael)
                put(x, "aael", json_pack("{s:s, s:s, s:s}", "domain", e->domain, "operation", e->operation, "content",
                                         e->content));
            if (x != NULL) json_array_append_new(a, x);
        }
        put(o, "event_log", a);
        if (t->events_truncated) put(o, "event_log_truncated", json_true());
    }
    return o;
}

json_t *vt_claims_json(const vt_claims *c)
{
    json_t *o = json_object();
    if (o == NULL) return NULL;
    put(o, "tee", json_string(vt_tee_name(c->tee)));
    put(o, "emulated", json_boolean(c->emulated));
    if (c->has_tcb_status) {
        put(o, "tcb_status", json_string(vt_tcb_status_name(c->tcb_status)));
        if (c->tcb_date) put(o, "tcb_date", time_json(c->tcb_date));
        json_t *adv = json_array();
        for (size_t i = 0; adv != NULL && i < c->n_advisories; i++)
            json_array_append_new(adv, json_string(c->advisories[i]));
        put(o, "advisory_ids", adv);
    }
    put(o, "debug", json_boolean(c->debug));
    json_t *m = json_object();
    for (size_t i = 0; m != NULL && i < c->n_meas; i++)
        put(m, c->meas[i].name, vt_json_hex_string(c->meas[i].value, c->meas[i].len));
    put(o, "measurements", m);
    put(o, "report_data", vt_json_hex_string(c->report_data, c->report_data_len));
    if (c->init_data_name[0])
        put(o, "init_data", json_pack("{s:o}", c->init_data_name, vt_json_hex_string(c->init_data, c->init_data_len)));
    if (c->has_collateral_expiry) put(o, "collateral_expiry", time_json(c->collateral_expiry));
    if (c->has_collateral_issued) put(o, "collateral_issued", time_json(c->collateral_issued));
    if (c->tpm.present) put(o, "tpm", tpm_json(c));
    switch (vt_tee_hw(c->tee)) {
    case VT_TEE_TDX: put(o, "tee_claims", tdx_json(&c->u.tdx)); break;
    case VT_TEE_SGX: put(o, "tee_claims", sgx_json(&c->u.sgx)); break;
    case VT_TEE_SNP: put(o, "tee_claims", snp_json(&c->u.snp)); break;
    case VT_TEE_CCA: put(o, "tee_claims", cca_json(&c->u.cca)); break;
    case VT_TEE_NVIDIA: put(o, "tee_claims", gpu_json(&c->u.gpu)); break;
    default: break;
    }
    return o;
}
