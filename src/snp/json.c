/* SEV-SNP report and claims as JSON (snake_case keys, hex byte strings), shared by the CLI
 * (`veritee verify --json`, `veritee snp show`) and the server. */
#include "veritee/json.h"
#include "veritee/codec.h"
#include "veritee/snp.h"

static json_t *u64hex(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "0x%016llx", (unsigned long long)v);
    return json_string(buf);
}

static json_t *tcb_json(uint64_t raw, vt_snp_product p)
{
    json_t *o = json_object();
    if (o == NULL) return NULL;
    json_object_set_new(o, "raw", u64hex(raw));
    if (p == VT_SNP_PRODUCT_UNKNOWN) return o;
    vt_snp_tcb t;
    vt_snp_tcb_decode(raw, p, &t);
    if (t.has_fmc) json_object_set_new(o, "fmc", json_integer(t.fmc));
    json_object_set_new(o, "boot_loader", json_integer(t.boot_loader));
    json_object_set_new(o, "tee", json_integer(t.tee));
    json_object_set_new(o, "snp", json_integer(t.snp));
    json_object_set_new(o, "microcode", json_integer(t.microcode));
    return o;
}

static json_t *policy_json(const vt_snp_policy *p)
{
    return json_pack("{s:o, s:i, s:i, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b}", "raw",
                     u64hex(p->raw), "abi_major", p->abi_major, "abi_minor", p->abi_minor, "smt",
                     p->smt, "migrate_ma", p->migrate_ma, "debug", p->debug, "single_socket",
                     p->single_socket, "cxl_allow", p->cxl_allow, "mem_aes_256_xts",
                     p->mem_aes_256_xts, "rapl_dis", p->rapl_dis, "ciphertext_hiding",
                     p->ciphertext_hiding, "page_swap_disable", p->page_swap_disable);
}

static json_t *platform_json(const vt_snp_platform_info *p)
{
    return json_pack("{s:o, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:o}", "raw", u64hex(p->raw),
                     "smt_en", p->smt_en, "tsme_en", p->tsme_en, "ecc_en", p->ecc_en, "rapl_dis",
                     p->rapl_dis, "ciphertext_hiding_en", p->ciphertext_hiding_en,
                     "alias_check_complete", p->alias_check_complete, "tio_en", p->tio_en,
                     "other_bits", u64hex(p->other_bits));
}

static json_t *version_json(const vt_snp_fw_version *v)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%u.%u.%u", v->major, v->minor, v->build);
    return json_string(buf);
}

static void set(json_t *o, const char *k, json_t *v) { json_object_set_new(o, k, v); }

json_t *vt_snp_report_json(const vt_snp_report *r, vt_snp_product p)
{
    json_t *o = json_object();
    if (o == NULL) return NULL;
    set(o, "version", json_integer(r->version));
    set(o, "guest_svn", json_integer(r->guest_svn));
    set(o, "policy", policy_json(&r->policy));
    set(o, "family_id", vt_json_hex_string(r->family_id, 16));
    set(o, "image_id", vt_json_hex_string(r->image_id, 16));
    set(o, "vmpl", json_integer(r->vmpl));
    set(o, "signature_algo", json_integer(r->signature_algo));
    set(o, "current_tcb", tcb_json(r->current_tcb, p));
    set(o, "platform_info", platform_json(&r->platform_info));
    set(o, "author_key_en", json_boolean(r->author_key_en));
    set(o, "mask_chip_key", json_boolean(r->mask_chip_key));
    set(o, "signing_key", json_string(vt_snp_signing_key_name(r->signing_key)));
    set(o, "report_data", vt_json_hex_string(r->report_data, 64));
    set(o, "measurement", vt_json_hex_string(r->measurement, 48));
    set(o, "host_data", vt_json_hex_string(r->host_data, 32));
    set(o, "id_key_digest", vt_json_hex_string(r->id_key_digest, 48));
    set(o, "author_key_digest", vt_json_hex_string(r->author_key_digest, 48));
    set(o, "report_id", vt_json_hex_string(r->report_id, 32));
    set(o, "report_id_ma", vt_json_hex_string(r->report_id_ma, 32));
    set(o, "reported_tcb", tcb_json(r->reported_tcb, p));
    if (r->has_cpuid) {
        set(o, "cpuid_fam_id", json_integer(r->cpuid_fam_id));
        set(o, "cpuid_mod_id", json_integer(r->cpuid_mod_id));
        set(o, "cpuid_step", json_integer(r->cpuid_step));
    }
    set(o, "chip_id", vt_json_hex_string(r->chip_id, 64));
    set(o, "committed_tcb", tcb_json(r->committed_tcb, p));
    set(o, "current_version", version_json(&r->current_version));
    set(o, "committed_version", version_json(&r->committed_version));
    set(o, "launch_tcb", tcb_json(r->launch_tcb, p));
    if (r->has_mit_vectors) {
        set(o, "launch_mit_vector", u64hex(r->launch_mit_vector));
        set(o, "current_mit_vector", u64hex(r->current_mit_vector));
    }
    json_t *sig = json_object();
    if (sig != NULL) {
        set(sig, "r", vt_json_hex_string(r->sig_r, 48));
        set(sig, "s", vt_json_hex_string(r->sig_s, 48));
    }
    set(o, "signature", sig);
    return o;
}

json_t *vt_snp_claims_json(const vt_snp_claims *c)
{
    json_t *o = vt_snp_report_json(&c->report, c->product);
    if (o == NULL) return NULL;
    char t1[21], t2[21];
    vt_time_format(c->chain_not_before, t1);
    vt_time_format(c->chain_not_after, t2);
    set(o, "product", json_string(vt_snp_product_name(c->product)));
    set(o, "signer", json_string(vt_snp_signing_key_name(c->signer)));
    json_t *cert = json_object();
    if (cert != NULL) {
        set(cert, "product_name", json_string(c->leaf_ext.product_name));
        if (c->leaf_ext.hwid_len > 0) set(cert, "hwid", vt_json_hex_string(c->leaf_ext.hwid, c->leaf_ext.hwid_len));
        if (c->leaf_ext.csp_id[0]) set(cert, "csp_id", json_string(c->leaf_ext.csp_id));
        set(cert, "ark_sha256", vt_json_hex_string(c->ark_sha256, 32));
        set(cert, "chain_not_before", json_string(t1));
        set(cert, "chain_not_after", json_string(t2));
    }
    set(o, "certificate", cert);
    set(o, "emulated", json_boolean(c->emulated));
    return o;
}
