/* Policy parsing and validation (docs/policy.md): every key checked, unknown keys refused,
 * bounded size and depth; errors name the key path ("policy.snp.min_tcb.microcode: ..."). */
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/writer.h"

vt_err pol_fail(pctx *c, const char *path, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vt_error_set(c->err, VT_E_INVALID, "policy", "policy%s%s: %s", path[0] ? "." : "", path, msg);
}

void pol_path(char *out, size_t cap, const char *base, const char *key)
{
    snprintf(out, cap, "%s%s%s", base, base[0] ? "." : "", key);
}

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

/* The policy reads its JSON with the core getters (veritee/json.h); these adapters only turn
 * a policy path ("snp.min_tcb") into the JSON path the messages name ("policy.snp.min_tcb"). */
static void in_at(pctx *c, const json_t *o, const char *path, vt_json_in *in)
{
    char p[VT_JSON_PATH_MAX];
    snprintf(p, sizeof p, "policy%s%s", path[0] ? "." : "", path);
    in->obj = o; /* callers have checked o is an object (pol_keys) or use member lookups only */
    snprintf(in->path, sizeof in->path, "%s", p);
    in->check = "policy";
    in->err = c->err;
}

vt_err pol_keys(pctx *c, const json_t *o, const char *path, const char *const *allowed)
{
    vt_json_in in;
    char p[VT_JSON_PATH_MAX];
    snprintf(p, sizeof p, "policy%s%s", path[0] ? "." : "", path);
    VT_GUARD(vt_json_in_init(&in, o, p, "policy", c->err));
    return vt_json_keys(&in, allowed);
}

vt_err pol_bool(pctx *c, const json_t *o, const char *key, const char *path, bool *out)
{
    vt_json_in in;
    in_at(c, o, path, &in);
    return vt_json_get_bool(&in, key, VT_JSON_OPTIONAL, out, NULL);
}

vt_err pol_int(pctx *c, const json_t *o, const char *key, const char *path, int64_t min,
               int64_t max, int64_t *out)
{
    vt_json_in in;
    in_at(c, o, path, &in);
    return vt_json_get_int(&in, key, VT_JSON_OPTIONAL, min, max, out, NULL);
}

static const char *full(char *out, size_t cap, const char *path)
{
    snprintf(out, cap, "policy%s%s", path[0] ? "." : "", path);
    return out;
}

vt_err pol_hex(pctx *c, const json_t *j, const char *path, size_t exact, vt_policy_bytes *out)
{
    char p[VT_JSON_PATH_MAX + 16];
    size_t lo = exact ? exact : 1, hi = exact ? exact : VT_CLAIMS_VALUE_MAX;
    return vt_json_hex_value(j, full(p, sizeof p, path), out->v, lo, hi, &out->len, "policy", c->err);
}

/* ["hex", ...] or {"values": ["hex"...], "refs": ["name"...]} */
vt_err pol_set(pctx *c, const json_t *j, const char *path, vt_policy_set *out)
{
    const json_t *vals = j, *refs = NULL;
    if (json_is_object(j)) {
        static const char *const keys[] = {"values", "refs", NULL};
        VT_GUARD(pol_keys(c, j, path, keys));
        vals = json_object_get(j, "values");
        refs = json_object_get(j, "refs");
        if (vals == NULL && refs == NULL) return pol_fail(c, path, "needs values or refs");
    } else if (!json_is_array(j)) {
        return pol_fail(c, path, "expected an array of hex values or {\"values\", \"refs\"}");
    }
    char p[160];
    if (vals != NULL) {
        pol_path(p, sizeof p, path, json_is_object(j) ? "values" : "");
        if (!json_is_object(j)) snprintf(p, sizeof p, "%s", path);
        if (!json_is_array(vals) || json_array_size(vals) == 0)
            return pol_fail(c, p, "expected a non-empty array of hex values");
        out->values = calloc(json_array_size(vals), sizeof *out->values);
        if (out->values == NULL) return vt_error_set(c->err, VT_E_NOMEM, "policy", "out of memory");
        size_t i;
        const json_t *x;
        json_array_foreach(vals, i, x) {
            char q[192];
            snprintf(q, sizeof q, "%s[%zu]", p, i);
            VT_GUARD(pol_hex(c, x, q, 0, &out->values[i]));
            out->n++;
        }
    }
    if (refs != NULL) {
        pol_path(p, sizeof p, path, "refs");
        if (!json_is_array(refs) || json_array_size(refs) == 0 || json_array_size(refs) > VT_POLICY_MAX_REFS)
            return pol_fail(c, p, "expected an array of 1..%d reference names", VT_POLICY_MAX_REFS);
        size_t i;
        const json_t *x;
        json_array_foreach(refs, i, x) {
            const char *s = json_string_value(x);
            if (s == NULL || s[0] == '\0' || strlen(s) >= VT_CLAIMS_NAME_MAX) {
                char q[192];
                snprintf(q, sizeof q, "%s[%zu]", p, i);
                return pol_fail(c, q, "expected a reference name of 1..%d characters", VT_CLAIMS_NAME_MAX - 1);
            }
            snprintf(out->refs[out->n_refs++], VT_CLAIMS_NAME_MAX, "%s", s);
        }
    }
    out->present = true;
    return VT_OK;
}

/* An unsigned 64-bit value in the core forms (integer, "0x" hex, decimal string). */
vt_err pol_u64(pctx *c, const json_t *j, const char *path, uint64_t *out)
{
    char p[VT_JSON_PATH_MAX + 16];
    return vt_json_u64_value(j, full(p, sizeof p, path), UINT64_MAX, out, "policy", c->err);
}

/* {"mask": X, "value": X}; value must lie inside mask. len 8: u64 forms; 16: hex bytes. */
vt_err pol_mask(pctx *c, const json_t *o, const char *key, const char *path, size_t len,
                vt_policy_mask *out)
{
    const json_t *j = json_object_get(o, key);
    if (j == NULL) return VT_OK;
    char p[160], q[176];
    pol_path(p, sizeof p, path, key);
    static const char *const keys[] = {"mask", "value", NULL};
    VT_GUARD(pol_keys(c, j, p, keys));
    const json_t *m = json_object_get(j, "mask"), *v = json_object_get(j, "value");
    if (m == NULL || v == NULL) return pol_fail(c, p, "needs mask and value");
    out->len = len;
    if (len == 8) {
        uint64_t mm, vv;
        pol_path(q, sizeof q, p, "mask");
        VT_GUARD(pol_u64(c, m, q, &mm));
        pol_path(q, sizeof q, p, "value");
        VT_GUARD(pol_u64(c, v, q, &vv));
        vt_put_le(out->mask, mm, 8);
        vt_put_le(out->value, vv, 8);
    } else {
        vt_policy_bytes b;
        pol_path(q, sizeof q, p, "mask");
        VT_GUARD(pol_hex(c, m, q, len, &b));
        memcpy(out->mask, b.v, len);
        pol_path(q, sizeof q, p, "value");
        VT_GUARD(pol_hex(c, v, q, len, &b));
        memcpy(out->value, b.v, len);
    }
    for (size_t i = 0; i < len; i++)
        if (out->value[i] & ~out->mask[i]) return pol_fail(c, p, "value has bits outside mask");
    out->present = true;
    return VT_OK;
}

/* A string array mapped through `lookup` into a bit mask. */
vt_err pol_names(pctx *c, const json_t *o, const char *key, const char *path,
                 int (*lookup)(const char *), unsigned *out)
{
    const json_t *j = json_object_get(o, key);
    if (j == NULL) return VT_OK;
    char p[160];
    pol_path(p, sizeof p, path, key);
    if (!json_is_array(j) || json_array_size(j) == 0) return pol_fail(c, p, "expected a non-empty array of names");
    size_t i;
    const json_t *x;
    unsigned m = 0;
    json_array_foreach(j, i, x) {
        int b = json_is_string(x) ? lookup(json_string_value(x)) : -1;
        if (b < 0 || b > 30) {
            char q[192];
            snprintf(q, sizeof q, "%s[%zu]", p, i);
            return pol_fail(c, q, "unknown value %s%.40s%s", json_is_string(x) ? "'" : "",
                            json_is_string(x) ? json_string_value(x) : "(not a string)", json_is_string(x) ? "'" : "");
        }
        m |= 1u << b;
    }
    *out = m;
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
                                       "init_data", "measurements", "tdx", "sgx", "snp", "cca", NULL};
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
    memset(p, 0, sizeof *p);
}
