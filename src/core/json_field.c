/* Members of an object from untrusted JSON: required/optional getters with one meaning and
 * errors naming the JSON path (include/veritee/json.h). */
#include <stdio.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/json.h"

static const char *check_of(const vt_json_in *in) { return in->check ? in->check : "parse"; }

const char *vt_json_path(char *out, size_t cap, const char *path, const char *key)
{
    if (path == NULL || path[0] == '\0') snprintf(out, cap, "%s", key ? key : "");
    else if (key == NULL) snprintf(out, cap, "%s", path);
    else snprintf(out, cap, "%s.%s", path, key);
    return out;
}

vt_err vt_json_fail(const vt_json_in *in, const char *key, const char *fmt, ...)
{
    char p[VT_JSON_PATH_MAX + 64], msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vt_json_path(p, sizeof p, in->path, key);
    return vt_error_set(in->err, VT_E_INVALID, check_of(in), "%s: %s", p[0] ? p : "document", msg);
}

static void setup(vt_json_in *in, const json_t *obj, const char *path, const char *check, vt_error *err)
{
    size_t n = path ? strnlen(path, sizeof in->path - 1) : 0;
    in->obj = obj;
    if (n) memcpy(in->path, path, n);
    in->path[n] = '\0'; /* a longer path is cut: it only names things in messages */
    in->check = check;
    in->err = err;
}

vt_err vt_json_in_init(vt_json_in *in, const json_t *obj, const char *path, const char *check,
                       vt_error *err)
{
    setup(in, obj, path, check, err);
    if (!json_is_object(obj)) return vt_json_fail(in, NULL, "expected an object");
    return VT_OK;
}

/* The member, or NULL when absent under OPTIONAL/NULLABLE (then VT_OK, *given false). */
static vt_err member(const vt_json_in *in, const char *key, vt_json_need need, const json_t **v,
                     bool *given)
{
    *v = json_object_get(in->obj, key);
    if (*v != NULL && json_is_null(*v) && need == VT_JSON_NULLABLE) *v = NULL;
    if (given) *given = *v != NULL;
    if (*v == NULL && need == VT_JSON_REQUIRED) return vt_json_fail(in, key, "missing");
    return VT_OK;
}

vt_err vt_json_get_obj(const vt_json_in *in, const char *key, vt_json_need need, vt_json_in *child,
                       bool *given)
{
    const json_t *v;
    char p[VT_JSON_PATH_MAX + 72];
    VT_GUARD(member(in, key, need, &v, given));
    vt_json_path(p, sizeof p, in->path, key);
    if (v == NULL) { /* optional and absent: child->obj NULL, nothing to read */
        setup(child, NULL, p, in->check, in->err);
        return VT_OK;
    }
    return vt_json_in_init(child, v, p, in->check, in->err);
}

vt_err vt_json_elem_obj(const vt_json_in *in, const char *key, const json_t *arr, size_t i,
                        vt_json_in *child)
{
    char p[VT_JSON_PATH_MAX + 72], q[VT_JSON_PATH_MAX + 96];
    snprintf(q, sizeof q, "%s[%zu]", vt_json_path(p, sizeof p, in->path, key), i);
    return vt_json_in_init(child, json_array_get(arr, i), q, in->check, in->err);
}

vt_err vt_json_get_arr(const vt_json_in *in, const char *key, vt_json_need need, size_t min,
                       size_t max, const json_t **out, bool *given)
{
    const json_t *v;
    VT_GUARD(member(in, key, need, &v, given));
    if (v == NULL) return VT_OK;
    if (!json_is_array(v)) return vt_json_fail(in, key, "expected an array");
    size_t n = json_array_size(v);
    if (n < min || n > max) {
        if (max == (size_t)-1) return vt_json_fail(in, key, "expected an array of at least %zu entries", min);
        return vt_json_fail(in, key, "expected an array of %zu..%zu entries, got %zu", min, max, n);
    }
    *out = v;
    return VT_OK;
}

vt_err vt_json_get_str(const vt_json_in *in, const char *key, vt_json_need need, const char **out,
                       bool *given)
{
    const json_t *v;
    VT_GUARD(member(in, key, need, &v, given));
    if (v == NULL) return VT_OK;
    if (!json_is_string(v)) return vt_json_fail(in, key, "expected a string");
    *out = json_string_value(v);
    return VT_OK;
}

vt_err vt_json_get_text(const vt_json_in *in, const char *key, vt_json_need need, char *out,
                        size_t cap, bool *given)
{
    const json_t *v;
    VT_GUARD(member(in, key, need, &v, given));
    if (v == NULL) return VT_OK;
    if (!json_is_string(v)) return vt_json_fail(in, key, "expected a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n >= cap) return vt_json_fail(in, key, "%zu bytes, at most %zu", n, cap ? cap - 1 : 0);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return vt_json_fail(in, key, "control character 0x%02x at %zu",
                                (unsigned)(unsigned char)s[i], i);
    memcpy(out, s, n + 1);
    return VT_OK;
}

vt_err vt_json_get_bool(const vt_json_in *in, const char *key, vt_json_need need, bool *out,
                        bool *given)
{
    const json_t *v;
    VT_GUARD(member(in, key, need, &v, given));
    if (v == NULL) return VT_OK;
    if (!json_is_boolean(v)) return vt_json_fail(in, key, "expected true or false");
    *out = json_is_true(v);
    return VT_OK;
}

vt_err vt_json_get_int(const vt_json_in *in, const char *key, vt_json_need need, int64_t min,
                       int64_t max, int64_t *out, bool *given)
{
    const json_t *v;
    VT_GUARD(member(in, key, need, &v, given));
    if (v == NULL) return VT_OK;
    if (!json_is_integer(v))
        return vt_json_fail(in, key, "expected an integer %lld..%lld", (long long)min, (long long)max);
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return vt_json_fail(in, key, "expected an integer %lld..%lld, got %lld", (long long)min,
                            (long long)max, (long long)i);
    *out = i;
    return VT_OK;
}

vt_err vt_json_u64_text(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t x = 0;
    size_t n = s ? strlen(s) : 0;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (n > 18) return VT_E_INVALID;
        for (size_t i = 2; i < n; i++) {
            char c = s[i];
            unsigned d;
            if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
            else return VT_E_INVALID;
            x = x << 4 | d;
        }
    } else {
        if (n == 0 || n > 20) return VT_E_INVALID;
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9') return VT_E_INVALID;
            unsigned d = (unsigned)(s[i] - '0');
            if (x > (UINT64_MAX - d) / 10) return VT_E_INVALID;
            x = x * 10 + d;
        }
    }
    if (x > max) return VT_E_INVALID;
    *out = x;
    return VT_OK;
}

static vt_err u64_of(const json_t *v, uint64_t max, uint64_t *out, char *why, size_t cap)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i >= 0 && (uint64_t)i <= max) {
            *out = (uint64_t)i;
            return VT_OK;
        }
    } else if (json_is_string(v) && vt_json_u64_text(json_string_value(v), max, out) == VT_OK) {
        return VT_OK;
    }
    snprintf(why, cap, "expected an integer 0..%llu (JSON integer, \"0x\" hex or decimal string)",
             (unsigned long long)max);
    return VT_E_INVALID;
}

vt_err vt_json_get_u64(const vt_json_in *in, const char *key, vt_json_need need, uint64_t max,
                       uint64_t *out, bool *given)
{
    const json_t *v;
    char why[128];
    VT_GUARD(member(in, key, need, &v, given));
    if (v == NULL) return VT_OK;
    if (u64_of(v, max, out, why, sizeof why) != VT_OK) return vt_json_fail(in, key, "%s", why);
    return VT_OK;
}

vt_err vt_json_u64_value(const json_t *v, const char *path, uint64_t max, uint64_t *out,
                         const char *check, vt_error *err)
{
    char why[128];
    if (u64_of(v, max, out, why, sizeof why) == VT_OK) return VT_OK;
    return vt_error_set(err, VT_E_INVALID, check ? check : "parse", "%s: %s", path, why);
}

static vt_err hexn_of(const json_t *v, uint8_t *out, size_t min, size_t max, size_t *len, char *why,
                      size_t cap)
{
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (!json_is_string(v) || n % 2 || n / 2 < min || n / 2 > max) {
        if (min == max) snprintf(why, cap, "expected a hex string of %zu bytes (%zu hex digits)", min, 2 * min);
        else snprintf(why, cap, "expected a hex string of %zu..%zu bytes", min, max);
        return VT_E_INVALID;
    }
    if (vt_hex_decode_fixed(json_string_value(v), out, n / 2, NULL) != VT_OK) {
        snprintf(why, cap, "not hex");
        return VT_E_INVALID;
    }
    if (len) *len = n / 2;
    return VT_OK;
}

vt_err vt_json_hex_value(const json_t *v, const char *path, uint8_t *out, size_t min, size_t max,
                         size_t *len, const char *check, vt_error *err)
{
    char why[96];
    if (hexn_of(v, out, min, max, len, why, sizeof why) == VT_OK) return VT_OK;
    return vt_error_set(err, VT_E_INVALID, check ? check : "parse", "%s: %s", path, why);
}

vt_err vt_json_get_hexn(const vt_json_in *in, const char *key, vt_json_need need, uint8_t *out,
                        size_t min, size_t max, size_t *len, bool *given)
{
    const json_t *v;
    char why[96];
    VT_GUARD(member(in, key, need, &v, given));
    if (v == NULL) return VT_OK;
    if (hexn_of(v, out, min, max, len, why, sizeof why) != VT_OK) return vt_json_fail(in, key, "%s", why);
    return VT_OK;
}

vt_err vt_json_get_hex(const vt_json_in *in, const char *key, vt_json_need need, uint8_t *out,
                       size_t n, bool *given)
{
    return vt_json_get_hexn(in, key, need, out, n, n, NULL, given);
}

vt_err vt_json_get_b64(const vt_json_in *in, const char *key, vt_json_need need, uint8_t *out,
                       size_t n, bool *given)
{
    const json_t *v;
    VT_GUARD(member(in, key, need, &v, given));
    if (v == NULL) return VT_OK;
    if (!json_is_string(v) || json_string_length(v) > 4 * (n / 3 + 2))
        return vt_json_fail(in, key, "expected base64 of %zu bytes", n);
    vt_buf b = {0};
    vt_error e2;
    vt_err rc = vt_b64_decode(json_string_value(v), json_string_length(v), &b, &e2);
    size_t got = rc == VT_OK ? b.len : 0;
    if (rc == VT_OK && got == n) memcpy(out, b.ptr, n);
    vt_buf_free(&b);
    if (rc != VT_OK || got != n)
        return vt_json_fail(in, key, "expected base64 of %zu bytes (got %s%zu)", n,
                            got ? "" : "invalid or ", got);
    return VT_OK;
}

vt_err vt_json_keys(const vt_json_in *in, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in->obj, key, v) {
        bool found = false;
        for (size_t i = 0; allowed[i] != NULL && !found; i++) found = strcmp(key, allowed[i]) == 0;
        if (!found) {
            char k[72];
            snprintf(k, sizeof k, "%.64s", key);
            return vt_json_fail(in, k, "unknown key");
        }
    }
    return VT_OK;
}
