/* Typed readers of policy JSON (policy_int.h) over the core's JSON getters, shared by the
 * root (policy_load.c) and the section parsers (policy_sections.c): every error names the key
 * path ("policy.snp.min_tcb.microcode: ..."). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "veritee/json.h"

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
