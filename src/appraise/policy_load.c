/* Policy parsing and validation (docs/policy.md): every key checked, unknown keys refused,
 * bounded size and depth; errors name the key path ("policy.snp.min_tcb.microcode: ..."). */
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/writer.h"

/* Generic bounds on the whole document before any typed walk. */
static vt_err bounds(pctx *c, const json_t *j, int depth, const char *path)
{
    if (depth > VT_POLICY_MAX_DEPTH)
        return pol_fail(c, path, "nested deeper than %d levels", VT_POLICY_MAX_DEPTH);
    if (json_is_array(j)) {
        if (json_array_size(j) > VT_POLICY_MAX_LIST)
            return pol_fail(c, path, "array of %zu entries (max %d)", json_array_size(j), VT_POLICY_MAX_LIST);
        size_t i;
        const json_t *x;
        json_array_foreach(j, i, x) VT_GUARD(bounds(c, x, depth + 1, path));
    } else if (json_is_object(j)) {
        if (json_object_size(j) > VT_POLICY_MAX_LIST)
            return pol_fail(c, path, "object of %zu members (max %d)", json_object_size(j), VT_POLICY_MAX_LIST);
        const char *k;
        const json_t *x;
        json_object_foreach((json_t *)j, k, x) {
            char p[160];
            pol_path(p, sizeof p, path, k);
            if (strlen(k) > 64) return pol_fail(c, path, "key longer than 64 characters");
            VT_GUARD(bounds(c, x, depth + 1, p));
        }
    } else if (json_is_string(j) && json_string_length(j) > 1024) {
        return pol_fail(c, path, "string longer than 1024 characters");
    }
    return VT_OK;
}

static int tee_bit(const char *s)
{
    vt_tee t;
    return vt_tee_parse(s, &t, NULL) == VT_OK ? (int)t : -1;
}

static vt_err parse_root(pctx *c, const json_t *root, vt_policy *p)
{
    static const char *const keys[] = {"id", "version", "description", "tee_types", "emulated",
                                       "allow_debug", "tcb", "collateral", "report_data",
                                       "init_data", "measurements", "tdx", "sgx", "snp", "cca", "tpm", "nvidia",
                                       NULL};
    VT_GUARD(pol_keys(c, root, "", keys));
    const json_t *id = json_object_get(root, "id");
    const char *ids = json_string_value(id);
    if (id == NULL) return pol_fail(c, "id", "missing (a policy names itself: \"id\": \"default\")");
    if (ids == NULL || ids[0] == '\0' || strlen(ids) >= sizeof p->id) return pol_fail(c, "id", "expected a string of 1..63 characters");
    for (const char *q = ids; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '-' || *q == '_' || *q == '.'))
            return pol_fail(c, "id", "only letters, digits, '-', '_' and '.' are allowed");
    snprintf(p->id, sizeof p->id, "%s", ids);
    int64_t ver = 1;
    VT_GUARD(pol_int(c, root, "version", "", 1, 1, &ver));
    const json_t *d = json_object_get(root, "description");
    if (d != NULL && !json_is_string(d)) return pol_fail(c, "description", "expected a string");
    VT_GUARD(pol_names(c, root, "tee_types", "", tee_bit, &p->tee_mask));
    const json_t *em = json_object_get(root, "emulated");
    if (em != NULL) {
        const char *s = json_string_value(em);
        if (s != NULL && strcmp(s, "reject") == 0) p->emulated = VT_POLICY_EMULATED_REJECT;
        else if (s != NULL && strcmp(s, "warn") == 0) p->emulated = VT_POLICY_EMULATED_WARN;
        else if (s != NULL && strcmp(s, "accept") == 0) p->emulated = VT_POLICY_EMULATED_ACCEPT;
        else return pol_fail(c, "emulated", "expected \"reject\", \"warn\" or \"accept\"");
    }
    VT_GUARD(pol_bool(c, root, "allow_debug", "", &p->allow_debug));
    VT_GUARD(pol_parse_tcb(c, root, p));
    VT_GUARD(pol_parse_binding(c, root, p));
    VT_GUARD(pol_parse_measurements(c, root, p));
    VT_GUARD(pol_parse_tdx_sgx(c, root, p));
    VT_GUARD(pol_parse_snp(c, root, p));
    VT_GUARD(pol_parse_tpm(c, root, p));
    VT_GUARD(pol_parse_nvidia(c, root, p));
    return pol_parse_cca(c, root, p);
}

vt_err vt_policy_parse(const char *text, size_t len, vt_policy *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    if (len > VT_POLICY_MAX_BYTES)
        return vt_error_set(err, VT_E_INVALID, "policy", "policy of %zu bytes (max %u)", len,
                            VT_POLICY_MAX_BYTES);
    json_t *root = NULL;
    if (vt_json_parse(text, len, &root, err) != VT_OK) return vt_error_wrap(err, "policy");
    pctx c = {err};
    out->tcb_allowed = 1u << VT_TCB_UP_TO_DATE;
    out->min_isv_svn = out->snp_max_vmpl = out->snp_min_guest_svn = -1;
    vt_err rc = bounds(&c, root, 1, "");
    if (rc == VT_OK) rc = parse_root(&c, root, out);
    json_decref(root);
    if (rc != VT_OK) vt_policy_free(out);
    return rc;
}

vt_err vt_policy_load_file(const char *path, vt_policy *out, vt_error *err)
{
    vt_buf b = {0};
    memset(out, 0, sizeof *out);
    VT_GUARD(vt_file_read(path, VT_POLICY_MAX_BYTES + 1, &b, err));
    vt_err rc = vt_policy_parse((const char *)b.ptr, b.len, out, err);
    vt_buf_free(&b);
    if (rc != VT_OK) vt_error_wrap(err, "%s", path);
    return rc;
}

static void set_free(vt_policy_set *s)
{
    free(s->values);
    s->values = NULL;
    s->n = 0;
}

void vt_policy_free(vt_policy *p)
{
    if (p == NULL) return;
    for (size_t i = 0; i < p->n_rules; i++) set_free(&p->rules[i].set);
    set_free(&p->report_data);
    set_free(&p->init_data);
    set_free(&p->cca_implementation_ids);
    free(p->advisories);
    free(p->cca_sw);
    pol_free_tpm(p);
    memset(p, 0, sizeof *p);
}
