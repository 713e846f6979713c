/* PCS v4 collateral: TCB Info (version 3, id SGX or TDX) and Enclave Identity (version 2),
 * in PCS response form {"tcbInfo"|"enclaveIdentity": {...}, "signature": "<hex r||s>"}.
 * The signature covers the exact bytes of the inner object, so the span is taken from the
 * text, never re-serialised. */
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/json.h"
#include "veritee/tdx.h"

static size_t skip_ws(const char *t, size_t i, size_t n)
{
    while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) i++;
    return i;
}

/* i at an opening quote; returns the index after the closing quote, or n on error. */
static size_t skip_string(const char *t, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (t[i] == '\\') {
            i++;
        } else if (t[i] == '"') {
            return i + 1;
        }
    }
    return n + 1;
}

/* Span of one JSON value starting at i (no validation beyond nesting: jansson validates). */
static size_t skip_value(const char *t, size_t i, size_t n)
{
    if (i >= n) return n + 1;
    if (t[i] == '"') return skip_string(t, i, n);
    if (t[i] != '{' && t[i] != '[') {
        while (i < n && t[i] != ',' && t[i] != '}' && t[i] != ']') i++;
        return i;
    }
    size_t depth = 0;
    for (; i < n; i++) {
        if (t[i] == '"') {
            i = skip_string(t, i, n);
            if (i > n) return n + 1;
            i--;
        } else if (t[i] == '{' || t[i] == '[') {
            depth++;
        } else if (t[i] == '}' || t[i] == ']') {
            if (--depth == 0) return i + 1;
        }
    }
    return n + 1;
}

/* Find the raw text of the value of top-level `key` in a JSON object text. */
static vt_err raw_member(const char *t, size_t n, const char *key, vt_bytes *out, vt_error *err)
{
    size_t kl = strlen(key);
    size_t i = skip_ws(t, 0, n);
    if (i >= n || t[i] != '{') goto bad;
    i = skip_ws(t, i + 1, n);
    while (i < n && t[i] == '"') {
        size_t ks = i + 1, ke = skip_string(t, i, n);
        if (ke > n) goto bad;
        i = skip_ws(t, ke, n);
        if (i >= n || t[i] != ':') goto bad;
        i = skip_ws(t, i + 1, n);
        size_t vs = i, ve = skip_value(t, i, n);
        if (ve > n) goto bad;
        if (ke - 1 - ks == kl && memcmp(t + ks, key, kl) == 0) {
            *out = (vt_bytes){(const uint8_t *)t + vs, ve - vs};
            return VT_OK;
        }
        i = skip_ws(t, ve, n);
        if (i < n && t[i] == ',') i = skip_ws(t, i + 1, n);
    }
bad:
    return vt_error_set(err, VT_E_INVALID, "collateral", "cannot locate \"%s\" in the collateral JSON", key);
}

vt_err vt_tcb_status_parse(const char *s, vt_tcb_status *out, vt_error *err)
{
    static const char *names[] = {"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                                  "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                  "OutOfDateConfigurationNeeded", "Revoked"};
    for (int i = 0; i < 7; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (vt_tcb_status)i;
            return VT_OK;
        }
    return vt_error_set(err, VT_E_INVALID, "collateral", "unknown TCB status \"%.40s\"", s);
}

const char *vt_tcb_status_name(vt_tcb_status s)
{
    static const char *names[] = {"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                                  "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                  "OutOfDateConfigurationNeeded", "Revoked"};
    return (unsigned)s < 7 ? names[s] : "Unknown";
}

static vt_err level_common(const json_t *lv, const char *path, vt_tcb_status *st, vt_time *date,
                           const json_t **adv, vt_error *err)
{
    const char *s;
    VT_GUARD(vt_json_str(lv, "tcbStatus", path, &s, err));
    VT_GUARD(vt_tcb_status_parse(s, st, err));
    VT_GUARD(vt_json_time(lv, "tcbDate", path, date, err));
    json_t *a = json_object_get(lv, "advisoryIDs");
    if (a != NULL) {
        if (!json_is_array(a) || json_array_size(a) > VT_TDX_MAX_ADVISORIES)
            return vt_error_set(err, VT_E_INVALID, "collateral", "%s.advisoryIDs: expected an array", path);
        size_t i;
        json_t *x;
        json_array_foreach(a, i, x) if (!json_is_string(x)) return vt_error_set(
            err, VT_E_INVALID, "collateral", "%s.advisoryIDs[%zu]: expected a string", path, i);
    }
    *adv = a;
    return VT_OK;
}

static vt_err isv_levels(const json_t *o, const char *path, vt_isv_level *lv, size_t *n, vt_error *err)
{
    json_t *arr;
    VT_GUARD(vt_json_arr(o, "tcbLevels", path, &arr, err));
    if (json_array_size(arr) == 0 || json_array_size(arr) > VT_TDX_MAX_LEVELS)
        return vt_error_set(err, VT_E_INVALID, "collateral", "%s.tcbLevels: %zu levels", path,
                            json_array_size(arr));
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        char p[96];
        snprintf(p, sizeof p, "%s.tcbLevels[%zu]", path, i);
        json_t *tcb;
        int64_t svn;
        VT_GUARD(vt_json_obj(x, "tcb", p, &tcb, err));
        VT_GUARD(vt_json_int(tcb, "isvsvn", p, 0, 65535, &svn, err));
        lv[i].isv_svn = (uint16_t)svn;
        VT_GUARD(level_common(x, p, &lv[i].status, &lv[i].tcb_date, &lv[i].advisory_ids, err));
    }
    *n = json_array_size(arr);
    return VT_OK;
}

static vt_err components(const json_t *tcb, const char *key, const char *path, uint8_t out[16], vt_error *err)
{
    json_t *arr;
    VT_GUARD(vt_json_arr(tcb, key, path, &arr, err));
    if (json_array_size(arr) != 16)
        return vt_error_set(err, VT_E_INVALID, "collateral", "%s.%s: %zu components, expected 16", path, key,
                            json_array_size(arr));
    for (size_t i = 0; i < 16; i++) {
        int64_t svn;
        VT_GUARD(vt_json_int(json_array_get(arr, i), "svn", path, 0, 255, &svn, err));
        out[i] = (uint8_t)svn;
    }
    return VT_OK;
}

static vt_err signature_of(const json_t *root, uint8_t sig[64], vt_error *err)
{
    return vt_json_hex(root, "signature", "collateral", sig, 64, err);
}

static vt_err tcb_module(const json_t *ti, vt_tcb_info *t, vt_error *err)
{
    json_t *m = json_object_get(ti, "tdxModule");
    if (m != NULL) {
        VT_GUARD(vt_json_hex(m, "mrsigner", "tcbInfo.tdxModule", t->tdx_module_mr_signer, 48, err));
        VT_GUARD(vt_json_hex(m, "attributes", "tcbInfo.tdxModule", t->tdx_module_attributes, 8, err));
        VT_GUARD(vt_json_hex(m, "attributesMask", "tcbInfo.tdxModule", t->tdx_module_attributes_mask, 8, err));
        t->has_tdx_module = true;
    }
    json_t *ids = json_object_get(ti, "tdxModuleIdentities");
    if (ids == NULL) return VT_OK;
    if (!json_is_array(ids) || json_array_size(ids) > VT_TDX_MAX_MODULES)
        return vt_error_set(err, VT_E_INVALID, "collateral", "tcbInfo.tdxModuleIdentities: expected at most %d entries",
                            VT_TDX_MAX_MODULES);
    size_t i;
    json_t *x;
    json_array_foreach(ids, i, x)
    {
        vt_tdx_module_identity *mi = &t->modules[i];
        char p[64];
        snprintf(p, sizeof p, "tcbInfo.tdxModuleIdentities[%zu]", i);
        const char *id;
        VT_GUARD(vt_json_str(x, "id", p, &id, err));
        if (strlen(id) >= sizeof mi->id)
            return vt_error_set(err, VT_E_INVALID, "collateral", "%s.id too long", p);
        strcpy(mi->id, id);
        VT_GUARD(vt_json_hex(x, "mrsigner", p, mi->mr_signer, 48, err));
        VT_GUARD(vt_json_hex(x, "attributes", p, mi->attributes, 8, err));
        VT_GUARD(vt_json_hex(x, "attributesMask", p, mi->attributes_mask, 8, err));
        VT_GUARD(isv_levels(x, p, mi->levels, &mi->n_levels, err));
    }
    t->n_modules = json_array_size(ids);
    return VT_OK;
}

static vt_err tcb_levels(const json_t *ti, vt_tcb_info *t, bool tdx, vt_error *err)
{
    json_t *arr;
    VT_GUARD(vt_json_arr(ti, "tcbLevels", "tcbInfo", &arr, err));
    if (json_array_size(arr) == 0 || json_array_size(arr) > VT_TDX_MAX_LEVELS)
        return vt_error_set(err, VT_E_INVALID, "collateral", "tcbInfo.tcbLevels: %zu levels", json_array_size(arr));
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        char p[64];
        snprintf(p, sizeof p, "tcbInfo.tcbLevels[%zu]", i);
        vt_tcb_level *lv = &t->levels[i];
        json_t *tcb;
        int64_t pcesvn;
        VT_GUARD(vt_json_obj(x, "tcb", p, &tcb, err));
        VT_GUARD(components(tcb, "sgxtcbcomponents", p, lv->sgx_comp, err));
        VT_GUARD(vt_json_int(tcb, "pcesvn", p, 0, 65535, &pcesvn, err));
        lv->pce_svn = (uint16_t)pcesvn;
        if (tdx) VT_GUARD(components(tcb, "tdxtcbcomponents", p, lv->tdx_comp, err));
        VT_GUARD(level_common(x, p, &lv->status, &lv->tcb_date, &lv->advisory_ids, err));
    }
    t->n_levels = json_array_size(arr);
    return VT_OK;
}

vt_err vt_tcb_info_parse(const char *text, size_t len, vt_tcb_info *t, vt_error *err)
{
    memset(t, 0, sizeof *t);
    vt_err rc = VT_OK;
    VT_GUARD_GOTO(vt_json_parse(text, len, &t->root, err));
    VT_GUARD_GOTO(raw_member(text, len, "tcbInfo", &t->signed_body, err));
    VT_GUARD_GOTO(signature_of(t->root, t->signature, err));
    json_t *ti;
    const char *s;
    int64_t v;
    VT_GUARD_GOTO(vt_json_obj(t->root, "tcbInfo", "collateral", &ti, err));
    VT_GUARD_GOTO(vt_json_str(ti, "id", "tcbInfo", &s, err));
    if (strcmp(s, "TDX") != 0 && strcmp(s, "SGX") != 0) {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "collateral", "TCB Info id \"%.16s\" is neither SGX nor TDX", s);
        goto out;
    }
    strcpy(t->id, s);
    VT_GUARD_GOTO(vt_json_int(ti, "version", "tcbInfo", 0, 100, &v, err));
    if (v != 3) {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "collateral", "TCB Info version %lld is not supported (3)",
                          (long long)v);
        goto out;
    }
    t->version = (int)v;
    VT_GUARD_GOTO(vt_json_time(ti, "issueDate", "tcbInfo", &t->issue_date, err));
    VT_GUARD_GOTO(vt_json_time(ti, "nextUpdate", "tcbInfo", &t->next_update, err));
    VT_GUARD_GOTO(vt_json_hex(ti, "fmspc", "tcbInfo", t->fmspc, 6, err));
    VT_GUARD_GOTO(vt_json_hex(ti, "pceId", "tcbInfo", t->pce_id, 2, err));
    VT_GUARD_GOTO(vt_json_int(ti, "tcbType", "tcbInfo", 0, 0, &t->tcb_type, err));
    VT_GUARD_GOTO(vt_json_int(ti, "tcbEvaluationDataNumber", "tcbInfo", 0, UINT32_MAX, &t->tcb_eval_num, err));
    bool tdx = strcmp(t->id, "TDX") == 0;
    if (tdx) VT_GUARD_GOTO(tcb_module(ti, t, err));
    VT_GUARD_GOTO(tcb_levels(ti, t, tdx, err));
out:
    if (rc != VT_OK) vt_tcb_info_clear(t);
    return rc;
}

void vt_tcb_info_clear(vt_tcb_info *t)
{
    if (t == NULL) return;
    json_decref(t->root);
    memset(t, 0, sizeof *t);
}

static vt_err hex_u32(const json_t *o, const char *key, uint32_t *out, vt_error *err)
{
    uint8_t b[4];
    VT_GUARD(vt_json_hex(o, key, "enclaveIdentity", b, 4, err));
    *out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return VT_OK;
}

vt_err vt_qe_identity_parse(const char *text, size_t len, vt_qe_identity *q, vt_error *err)
{
    memset(q, 0, sizeof *q);
    vt_err rc = VT_OK;
    VT_GUARD_GOTO(vt_json_parse(text, len, &q->root, err));
    VT_GUARD_GOTO(raw_member(text, len, "enclaveIdentity", &q->signed_body, err));
    VT_GUARD_GOTO(signature_of(q->root, q->signature, err));
    json_t *ei;
    const char *s;
    int64_t v;
    VT_GUARD_GOTO(vt_json_obj(q->root, "enclaveIdentity", "collateral", &ei, err));
    VT_GUARD_GOTO(vt_json_str(ei, "id", "enclaveIdentity", &s, err));
    if (strcmp(s, "QE") != 0 && strcmp(s, "TD_QE") != 0 && strcmp(s, "QVE") != 0) {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "collateral", "enclave identity id \"%.16s\" is not QE, TD_QE or QVE", s);
        goto out;
    }
    strcpy(q->id, s);
    VT_GUARD_GOTO(vt_json_int(ei, "version", "enclaveIdentity", 0, 100, &v, err));
    if (v != 2) {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "collateral", "enclave identity version %lld is not supported (2)",
                          (long long)v);
        goto out;
    }
    q->version = 2;
    VT_GUARD_GOTO(vt_json_time(ei, "issueDate", "enclaveIdentity", &q->issue_date, err));
    VT_GUARD_GOTO(vt_json_time(ei, "nextUpdate", "enclaveIdentity", &q->next_update, err));
    VT_GUARD_GOTO(vt_json_int(ei, "tcbEvaluationDataNumber", "enclaveIdentity", 0, UINT32_MAX, &q->tcb_eval_num, err));
    VT_GUARD_GOTO(hex_u32(ei, "miscselect", &q->misc_select, err));
    VT_GUARD_GOTO(hex_u32(ei, "miscselectMask", &q->misc_select_mask, err));
    VT_GUARD_GOTO(vt_json_hex(ei, "attributes", "enclaveIdentity", q->attributes, 16, err));
    VT_GUARD_GOTO(vt_json_hex(ei, "attributesMask", "enclaveIdentity", q->attributes_mask, 16, err));
    VT_GUARD_GOTO(vt_json_hex(ei, "mrsigner", "enclaveIdentity", q->mr_signer, 32, err));
    VT_GUARD_GOTO(vt_json_int(ei, "isvprodid", "enclaveIdentity", 0, 65535, &v, err));
    q->isv_prod_id = (uint16_t)v;
    VT_GUARD_GOTO(isv_levels(ei, "enclaveIdentity", q->levels, &q->n_levels, err));
out:
    if (rc != VT_OK) vt_qe_identity_clear(q);
    return rc;
}

void vt_qe_identity_clear(vt_qe_identity *q)
{
    if (q == NULL) return;
    json_decref(q->root);
    memset(q, 0, sizeof *q);
}
