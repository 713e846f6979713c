/* TDX/SGX verification result as JSON: snake_case claims and the checks (docs/tdx.md). */
#include <stdio.h>

#include "veritee/json.h"
#include "veritee/codec.h"
#include "veritee/tdx.h"

static int set_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
    return json_object_set_new(o, k, vt_json_hex_string(p, n));
}

static int set_time(json_t *o, const char *k, vt_time t)
{
    return json_object_set_new(o, k, vt_json_time_string(t));
}

static void td_claims(json_t *o, const vt_td_report *t)
{
    set_hex(o, "mr_td", t->mr_td, 48);
    set_hex(o, "mr_config_id", t->mr_config_id, 48);
    set_hex(o, "mr_owner", t->mr_owner, 48);
    set_hex(o, "mr_owner_config", t->mr_owner_config, 48);
    json_t *rt = json_array();
    for (int i = 0; i < 4; i++) {
        char buf[97];
        vt_hex_encode(t->rtmr[i], 48, buf);
        json_array_append_new(rt, json_string(buf));
    }
    json_object_set_new(o, "rtmr", rt);
    set_hex(o, "report_data", t->report_data, 64);
    set_hex(o, "td_attributes", t->td_attributes, 8);
    /* TDATTRIBUTES bit 0 DEBUG, bit 28 SEPT_VE_DISABLE, 29 PKS, 30 KL, 63 PERFMON */
    json_object_set_new(o, "debug", json_boolean(t->td_attributes[0] & 1));
    json_object_set_new(o, "sept_ve_disable", json_boolean(t->td_attributes[3] & 0x10));
    json_object_set_new(o, "pks", json_boolean(t->td_attributes[3] & 0x20));
    json_object_set_new(o, "key_locker", json_boolean(t->td_attributes[3] & 0x40));
    json_object_set_new(o, "perfmon", json_boolean(t->td_attributes[7] & 0x80));
    set_hex(o, "xfam", t->xfam, 8);
    set_hex(o, "tee_tcb_svn", t->tee_tcb_svn, 16);
    set_hex(o, "mr_seam", t->mr_seam, 48);
    set_hex(o, "mr_signer_seam", t->mr_signer_seam, 48);
    set_hex(o, "seam_attributes", t->seam_attributes, 8);
    if (t->tdx15) {
        set_hex(o, "tee_tcb_svn2", t->tee_tcb_svn2, 16);
        set_hex(o, "mr_service_td", t->mr_service_td, 48);
    }
}

static void sgx_claims(json_t *o, const vt_sgx_report *s)
{
    set_hex(o, "mr_enclave", s->mr_enclave, 32);
    set_hex(o, "mr_signer", s->mr_signer, 32);
    json_object_set_new(o, "isv_prod_id", json_integer(s->isv_prod_id));
    json_object_set_new(o, "isv_svn", json_integer(s->isv_svn));
    set_hex(o, "attributes", s->attributes, 16);
    json_object_set_new(o, "debug", json_boolean(s->attributes[0] & 0x02)); /* ATTRIBUTES.DEBUG */
    set_hex(o, "cpu_svn", s->cpu_svn, 16);
    json_object_set_new(o, "misc_select", json_integer(s->misc_select));
    set_hex(o, "config_id", s->config_id, 64);
    json_object_set_new(o, "config_svn", json_integer(s->config_svn));
    set_hex(o, "isv_ext_prod_id", s->isv_ext_prod_id, 16);
    set_hex(o, "isv_family_id", s->isv_family_id, 16);
    set_hex(o, "report_data", s->report_data, 64);
}

json_t *vt_tdx_result_json(const vt_tdx_result *r)
{
    const vt_tdx_quote *q = &r->quote;
    json_t *o = json_object();
    if (o == NULL) return NULL;
    json_object_set_new(o, "tee", json_string(vt_tdx_quote_is_td(q) ? "tdx" : "sgx"));
    json_object_set_new(o, "verified", json_true());
    json_object_set_new(o, "emulated", json_boolean(r->emulated));
    json_object_set_new(o, "quote_version", json_integer(q->version));
    if (q->version == 5) json_object_set_new(o, "body_type", json_integer(q->body_type));
    json_object_set_new(o, "tcb_status", json_string(vt_tcb_status_name(r->tcb_status)));
    json_t *adv = json_array();
    for (size_t i = 0; i < r->n_advisory_ids; i++) json_array_append_new(adv, json_string(r->advisory_ids[i]));
    json_object_set_new(o, "advisory_ids", adv);
    json_object_set_new(o, "platform_tcb_status", json_string(vt_tcb_status_name(r->platform_status)));
    json_object_set_new(o, "qe_tcb_status", json_string(vt_tcb_status_name(r->qe_status)));
    if (r->has_module_status)
        json_object_set_new(o, "tdx_module_tcb_status", json_string(vt_tcb_status_name(r->module_status)));
    set_time(o, "tcb_date", r->tcb_date);
    set_time(o, "collateral_expiry", r->collateral_expiry);
    json_object_set_new(o, "revocation_checked", json_boolean(r->revocation_checked));
    if (vt_tdx_quote_is_td(q)) td_claims(o, &q->td);
    else sgx_claims(o, &q->enclave);
    set_hex(o, "fmspc", r->pck.fmspc, 6);
    set_hex(o, "pce_id", r->pck.pce_id, 2);
    json_object_set_new(o, "pce_svn", json_integer(r->pck.pce_svn));
    set_hex(o, "sgx_tcb_components", r->pck.comp_svn, 16);
    json_object_set_new(o, "sgx_type", json_integer(r->pck.sgx_type));
    if (r->pck.has_platform_instance_id) set_hex(o, "platform_instance_id", r->pck.platform_instance_id, 16);
    json_object_set_new(o, "pck_issuer", json_string(r->pck_issuer));
    set_hex(o, "qe_mr_signer", q->qe_report.mr_signer, 32);
    json_object_set_new(o, "qe_isv_svn", json_integer(q->qe_report.isv_svn));
    set_hex(o, "header_user_data", q->user_data, 20);
    json_object_set_new(o, "checks", vt_checks_json(&r->checks));
    return o;
}
