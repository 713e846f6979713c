/* Policy sections (docs/policy.md): tcb, collateral, report_data, init_data, measurements and
 * the per-TEE tdx, sgx, snp and cca objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

static const char *const MEAS_NAMES[] = {
    "mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mr_config_id", "mr_owner", "mr_owner_config",
    "mr_seam", "mr_signer_seam", "mr_service_td",                         /* TDX */
    "mr_enclave", "mr_signer", "isv_family_id", "isv_ext_prod_id",        /* SGX */
    "measurement", "host_data", "id_key_digest", "author_key_digest", "family_id", "image_id", /* SNP */
    "rim", "rem0", "rem1", "rem2", "rem3", "personalization_value",       /* CCA */
    NULL};

bool pol_known_measurement(const char *name)
{
    for (size_t i = 0; MEAS_NAMES[i]; i++)
        if (strcmp(MEAS_NAMES[i], name) == 0) return true;
    return false;
}

bool pol_config_measurement(const char *name)
{
    return strcmp(name, "mr_config_id") == 0 || strcmp(name, "mr_owner") == 0 ||
           strcmp(name, "mr_owner_config") == 0 || strcmp(name, "host_data") == 0 ||
           strcmp(name, "personalization_value") == 0;
}

static int tcb_bit(const char *s)
{
    vt_tcb_status t;
    return vt_tcb_status_parse(s, &t, NULL) == VT_OK ? (int)t : -1;
}

vt_err pol_parse_tcb(pctx *c, const json_t *root, vt_policy *p)
{
    const json_t *t = json_object_get(root, "tcb");
    if (t != NULL) {
        static const char *const keys[] = {"allowed_statuses", "warn_statuses", "allowed_advisories",
                                           "min_tcb_date", NULL};
        VT_GUARD(pol_keys(c, t, "tcb", keys));
        VT_GUARD(pol_names(c, t, "allowed_statuses", "tcb", tcb_bit, &p->tcb_allowed));
        VT_GUARD(pol_names(c, t, "warn_statuses", "tcb", tcb_bit, &p->tcb_warn));
        if (p->tcb_allowed & p->tcb_warn)
            return pol_fail(c, "tcb.warn_statuses", "a status cannot be both allowed and a warning");
        const json_t *a = json_object_get(t, "allowed_advisories");
        if (json_is_string(a) && strcmp(json_string_value(a), "*") == 0) {
            /* "*" alone is the same as ["*"]: every advisory allowed */
            p->advisories = calloc(1, sizeof *p->advisories);
            if (p->advisories == NULL) return vt_error_set(c->err, VT_E_NOMEM, "policy", "out of memory");
            snprintf(p->advisories[p->n_advisories++], 32, "*");
            p->advisories_restricted = true;
        } else if (a != NULL) {
            if (!json_is_array(a))
                return pol_fail(c, "tcb.allowed_advisories", "expected an array of advisory ids, or \"*\"");
            p->advisories = calloc(json_array_size(a) + 1, sizeof *p->advisories);
            if (p->advisories == NULL) return vt_error_set(c->err, VT_E_NOMEM, "policy", "out of memory");
            size_t i;
            const json_t *x;
            json_array_foreach(a, i, x) {
                const char *s = json_string_value(x);
                if (s == NULL || s[0] == '\0' || strlen(s) >= 32) {
                    char q[64];
                    snprintf(q, sizeof q, "tcb.allowed_advisories[%zu]", i);
                    return pol_fail(c, q, "expected an advisory id (\"INTEL-SA-00615\") or \"*\"");
                }
                snprintf(p->advisories[p->n_advisories++], 32, "%s", s);
            }
            p->advisories_restricted = true;
        }
        const json_t *d = json_object_get(t, "min_tcb_date");
        if (d != NULL) {
            if (!json_is_string(d) || vt_time_parse_rfc3339(json_string_value(d), &p->min_tcb_date, NULL) != VT_OK)
                return pol_fail(c, "tcb.min_tcb_date", "expected an RFC 3339 date-time");
            p->has_min_tcb_date = true;
        }
    }
    const json_t *col = json_object_get(root, "collateral");
    if (col != NULL) {
        static const char *const keys[] = {"max_age_seconds", "min_remaining_seconds",
                                           "require_revocation_check", NULL};
        VT_GUARD(pol_keys(c, col, "collateral", keys));
        VT_GUARD(pol_int(c, col, "max_age_seconds", "collateral", 1, 10LL * 366 * 86400, &p->max_collateral_age));
        VT_GUARD(pol_int(c, col, "min_remaining_seconds", "collateral", 0, 10LL * 366 * 86400,
                         &p->min_collateral_remaining));
        VT_GUARD(pol_bool(c, col, "require_revocation_check", "collateral", &p->require_revocation));
    }
    return VT_OK;
}

vt_err pol_parse_binding(pctx *c, const json_t *root, vt_policy *p)
{
    const json_t *r = json_object_get(root, "report_data");
    if (r != NULL) {
        static const char *const keys[] = {"required", "match", "values", NULL};
        VT_GUARD(pol_keys(c, r, "report_data", keys));
        VT_GUARD(pol_bool(c, r, "required", "report_data", &p->report_data_required));
        const json_t *m = json_object_get(r, "match");
        if (m != NULL) {
            const char *s = json_string_value(m);
            if (s == NULL || (strcmp(s, "prefix") != 0 && strcmp(s, "exact") != 0))
                return pol_fail(c, "report_data.match", "expected \"prefix\" or \"exact\"");
            p->report_data_exact = strcmp(s, "exact") == 0;
        }
        const json_t *v = json_object_get(r, "values");
        if (v != NULL) VT_GUARD(pol_set(c, v, "report_data.values", &p->report_data));
    }
    const json_t *i = json_object_get(root, "init_data");
    if (i != NULL) {
        static const char *const keys[] = {"required", "values", "refs", NULL};
        VT_GUARD(pol_keys(c, i, "init_data", keys));
        VT_GUARD(pol_bool(c, i, "required", "init_data", &p->init_data_required));
        if (json_object_get(i, "values") != NULL || json_object_get(i, "refs") != NULL) {
            json_t *sub = json_object();
            if (sub == NULL) return vt_error_set(c->err, VT_E_NOMEM, "policy", "out of memory");
            if (json_object_get(i, "values")) json_object_set(sub, "values", json_object_get(i, "values"));
            if (json_object_get(i, "refs")) json_object_set(sub, "refs", json_object_get(i, "refs"));
            vt_err rc = pol_set(c, sub, "init_data", &p->init_data);
            json_decref(sub);
            VT_GUARD(rc);
        }
    }
    return VT_OK;
}

static vt_err add_rule(pctx *c, vt_policy *p, const char *name, const json_t *j, const char *path)
{
    for (size_t i = 0; i < p->n_rules; i++)
        if (strcmp(p->rules[i].name, name) == 0) return pol_fail(c, path, "measurement '%s' given twice", name);
    if (p->n_rules >= VT_POLICY_MAX_RULES) return pol_fail(c, path, "more than %d measurement rules", VT_POLICY_MAX_RULES);
    vt_policy_rule *r = &p->rules[p->n_rules++];
    snprintf(r->name, sizeof r->name, "%s", name);
    return pol_set(c, j, path, &r->set);
}

vt_err pol_parse_measurements(pctx *c, const json_t *root, vt_policy *p)
{
    const json_t *m = json_object_get(root, "measurements");
    if (m == NULL) return VT_OK;
    if (!json_is_object(m)) return pol_fail(c, "measurements", "expected an object of name: allowed values");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)m, k, v) {
        char path[128];
        pol_path(path, sizeof path, "measurements", k);
        if (!pol_known_measurement(k)) return pol_fail(c, path, "unknown measurement name (see docs/policy.md)");
        VT_GUARD(add_rule(c, p, k, v, path));
    }
    return VT_OK;
}

vt_err pol_parse_tdx_sgx(pctx *c, const json_t *root, vt_policy *p)
{
    const json_t *t = json_object_get(root, "tdx");
    if (t != NULL) {
        static const char *const keys[] = {"td_attributes", "xfam", "mr_seam", "min_tee_tcb_svn", NULL};
        VT_GUARD(pol_keys(c, t, "tdx", keys));
        VT_GUARD(pol_mask(c, t, "td_attributes", "tdx", 8, &p->td_attributes));
        VT_GUARD(pol_mask(c, t, "xfam", "tdx", 8, &p->xfam));
        if (json_object_get(t, "mr_seam") != NULL)
            VT_GUARD(add_rule(c, p, "mr_seam", json_object_get(t, "mr_seam"), "tdx.mr_seam"));
        const json_t *s = json_object_get(t, "min_tee_tcb_svn");
        if (s != NULL) {
            vt_policy_bytes b;
            VT_GUARD(pol_hex(c, s, "tdx.min_tee_tcb_svn", 16, &b));
            memcpy(p->min_tee_tcb_svn, b.v, 16);
            p->has_min_tee_tcb_svn = true;
        }
    }
    const json_t *g = json_object_get(root, "sgx");
    if (g != NULL) {
        static const char *const keys[] = {"attributes", "misc_select", "isv_prod_ids", "min_isv_svn",
                                           "mr_signer", "mr_enclave", NULL};
        VT_GUARD(pol_keys(c, g, "sgx", keys));
        VT_GUARD(pol_mask(c, g, "attributes", "sgx", 16, &p->sgx_attributes));
        VT_GUARD(pol_mask(c, g, "misc_select", "sgx", 8, &p->misc_select));
        VT_GUARD(pol_int(c, g, "min_isv_svn", "sgx", 0, 65535, &p->min_isv_svn));
        const json_t *ids = json_object_get(g, "isv_prod_ids");
        if (ids != NULL) {
            if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > 16)
                return pol_fail(c, "sgx.isv_prod_ids", "expected an array of 1..16 integers");
            size_t i;
            const json_t *x;
            json_array_foreach(ids, i, x) {
                if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 65535) {
                    char q[48];
                    snprintf(q, sizeof q, "sgx.isv_prod_ids[%zu]", i);
                    return pol_fail(c, q, "expected an integer 0..65535");
                }
                p->sgx_isv_prod_ids[p->n_sgx_isv_prod_ids++] = json_integer_value(x);
            }
        }
        if (json_object_get(g, "mr_signer") != NULL)
            VT_GUARD(add_rule(c, p, "mr_signer", json_object_get(g, "mr_signer"), "sgx.mr_signer"));
        if (json_object_get(g, "mr_enclave") != NULL)
            VT_GUARD(add_rule(c, p, "mr_enclave", json_object_get(g, "mr_enclave"), "sgx.mr_enclave"));
    }
    return VT_OK;
}

static vt_err snp_tcb(pctx *c, const json_t *o, const char *key, vt_policy_snp_tcb *out)
{
    const json_t *t = json_object_get(o, key);
    if (t == NULL) return VT_OK;
    char path[48];
    pol_path(path, sizeof path, "snp", key);
    static const char *const keys[] = {"fmc", "bootloader", "tee", "snp", "microcode", NULL};
    VT_GUARD(pol_keys(c, t, path, keys));
    int64_t v[5] = {-1, -1, -1, -1, -1};
    for (int i = 0; i < 5; i++) VT_GUARD(pol_int(c, t, keys[i], path, 0, 255, &v[i]));
    *out = (vt_policy_snp_tcb){true, (int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4]};
    return VT_OK;
}

static int key_bit(const char *s)
{
    return strcmp(s, "vcek") == 0 ? VT_SNP_KEY_VCEK : strcmp(s, "vlek") == 0 ? VT_SNP_KEY_VLEK : -1;
}

static int product_bit(const char *s)
{
    vt_snp_product p;
    return vt_snp_product_parse(s, &p, NULL) == VT_OK ? (int)p : -1;
}

vt_err pol_parse_snp(pctx *c, const json_t *root, vt_policy *p)
{
    const json_t *s = json_object_get(root, "snp");
    if (s == NULL) return VT_OK;
    static const char *const keys[] = {"policy", "platform_info", "max_vmpl", "min_tcb",
                                       "min_committed_tcb", "min_firmware", "signing_keys",
                                       "min_guest_svn", "products", NULL};
    VT_GUARD(pol_keys(c, s, "snp", keys));
    VT_GUARD(pol_mask(c, s, "policy", "snp", 8, &p->snp_policy));
    VT_GUARD(pol_mask(c, s, "platform_info", "snp", 8, &p->snp_platform_info));
    VT_GUARD(pol_int(c, s, "max_vmpl", "snp", 0, 3, &p->snp_max_vmpl));
    VT_GUARD(snp_tcb(c, s, "min_tcb", &p->snp_min_tcb));
    VT_GUARD(snp_tcb(c, s, "min_committed_tcb", &p->snp_min_committed_tcb));
    VT_GUARD(pol_int(c, s, "min_guest_svn", "snp", 0, UINT32_MAX, &p->snp_min_guest_svn));
    VT_GUARD(pol_names(c, s, "signing_keys", "snp", key_bit, &p->snp_signing_keys));
    VT_GUARD(pol_names(c, s, "products", "snp", product_bit, &p->snp_products));
    const json_t *fw = json_object_get(s, "min_firmware");
    if (fw != NULL) {
        unsigned a, b, d;
        char tail;
        const char *t = json_string_value(fw);
        if (t == NULL || sscanf(t, "%u.%u.%u%c", &a, &b, &d, &tail) != 3 || a > 255 || b > 255 || d > 255)
            return pol_fail(c, "snp.min_firmware", "expected \"major.minor.build\" (e.g. \"1.55.49\")");
        p->snp_min_firmware = (vt_snp_fw_version){(uint8_t)a, (uint8_t)b, (uint8_t)d};
        p->has_snp_min_firmware = true;
    }
    return VT_OK;
}

static int lifecycle_bit(const char *s)
{
    static const char *const names[] = {"unknown", "assembly_and_test", "cca_platform_rot_provisioning",
                                        "secured", "non_cca_platform_debug",
                                        "recoverable_cca_platform_debug", "decommissioned", NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

static int profile_bit(const char *s)
{
    return strcmp(s, "cca-ssd") == 0 ? VT_CCA_PROFILE_SSD : strcmp(s, "1.0") == 0 ? VT_CCA_PROFILE_1_0
         : strcmp(s, "2.0") == 0 ? VT_CCA_PROFILE_2_0 : -1;
}

static vt_err cca_sw(pctx *c, const json_t *arr, vt_policy *p)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > VT_POLICY_SW_MAX)
        return pol_fail(c, "cca.software_components", "expected an array of 1..%d components", VT_POLICY_SW_MAX);
    p->cca_sw = calloc(json_array_size(arr), sizeof *p->cca_sw);
    if (p->cca_sw == NULL) return vt_error_set(c->err, VT_E_NOMEM, "policy", "out of memory");
    size_t i;
    const json_t *x;
    json_array_foreach(arr, i, x) {
        char path[64], q[96];
        snprintf(path, sizeof path, "cca.software_components[%zu]", i);
        static const char *const keys[] = {"component_type", "measurement_value", "signer_id", "version", NULL};
        VT_GUARD(pol_keys(c, x, path, keys));
        vt_policy_sw *s = &p->cca_sw[p->n_cca_sw++];
        pol_path(q, sizeof q, path, "measurement_value");
        VT_GUARD(pol_hex(c, json_object_get(x, "measurement_value"), q, 0, &s->measurement));
        if (json_object_get(x, "signer_id") != NULL) {
            pol_path(q, sizeof q, path, "signer_id");
            VT_GUARD(pol_hex(c, json_object_get(x, "signer_id"), q, 0, &s->signer_id));
        }
        const char *const tk[2] = {"component_type", "version"};
        char *dst[2] = {s->type, s->version};
        for (int k = 0; k < 2; k++) {
            const json_t *t = json_object_get(x, tk[k]);
            if (t == NULL) continue;
            pol_path(q, sizeof q, path, tk[k]);
            if (!json_is_string(t) || json_string_length(t) >= VT_CLAIMS_NAME_MAX)
                return pol_fail(c, q, "expected a string under %d characters", VT_CLAIMS_NAME_MAX);
            snprintf(dst[k], VT_CLAIMS_NAME_MAX, "%s", json_string_value(t));
        }
    }
    return VT_OK;
}

vt_err pol_parse_cca(pctx *c, const json_t *root, vt_policy *p)
{
    const json_t *s = json_object_get(root, "cca");
    if (s == NULL) return VT_OK;
    static const char *const keys[] = {"lifecycles", "profiles", "platform_refs", "realm_refs",
                                       "implementation_ids", "software_components", NULL};
    VT_GUARD(pol_keys(c, s, "cca", keys));
    VT_GUARD(pol_names(c, s, "lifecycles", "cca", lifecycle_bit, &p->cca_lifecycle_classes));
    VT_GUARD(pol_names(c, s, "profiles", "cca", profile_bit, &p->cca_profiles));
    VT_GUARD(pol_bool(c, s, "platform_refs", "cca", &p->cca_platform_refs));
    VT_GUARD(pol_bool(c, s, "realm_refs", "cca", &p->cca_realm_refs));
    if (json_object_get(s, "implementation_ids") != NULL)
        VT_GUARD(pol_set(c, json_object_get(s, "implementation_ids"), "cca.implementation_ids",
                         &p->cca_implementation_ids));
    if (json_object_get(s, "software_components") != NULL)
        VT_GUARD(cca_sw(c, json_object_get(s, "software_components"), p));
    return VT_OK;
}
