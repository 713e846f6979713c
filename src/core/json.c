/* Typed JSON accessors with precise errors (include/veritee/json.h). */
#include <stdlib.h>

#include "veritee/json.h"

vt_err vt_json_parse(const char *text, size_t len, json_t **out, vt_error *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return vt_error_set(err, VT_E_INVALID, "parse", "JSON error at line %d column %d: %s",
                            je.line, je.column, je.text);
    *out = j;
    return VT_OK;
}

static vt_err get(const json_t *o, const char *key, const char *path, json_t **v, vt_error *err)
{
    if (!json_is_object(o))
        return vt_error_set(err, VT_E_INVALID, "parse", "%s: expected an object", path);
    *v = json_object_get(o, key);
    if (*v == NULL)
        return vt_error_set(err, VT_E_INVALID, "parse", "%s.%s: missing", path, key);
    return VT_OK;
}

static vt_err type_err(const char *path, const char *key, const char *want, vt_error *err)
{
    return vt_error_set(err, VT_E_INVALID, "parse", "%s.%s: expected %s", path, key, want);
}

vt_err vt_json_obj(const json_t *o, const char *key, const char *path, json_t **out, vt_error *err)
{
    VT_GUARD(get(o, key, path, out, err));
    return json_is_object(*out) ? VT_OK : type_err(path, key, "an object", err);
}

vt_err vt_json_arr(const json_t *o, const char *key, const char *path, json_t **out, vt_error *err)
{
    VT_GUARD(get(o, key, path, out, err));
    return json_is_array(*out) ? VT_OK : type_err(path, key, "an array", err);
}

vt_err vt_json_str(const json_t *o, const char *key, const char *path, const char **out,
                   vt_error *err)
{
    json_t *v;
    VT_GUARD(get(o, key, path, &v, err));
    if (!json_is_string(v)) return type_err(path, key, "a string", err);
    *out = json_string_value(v);
    return VT_OK;
}

vt_err vt_json_int(const json_t *o, const char *key, const char *path, int64_t min, int64_t max,
                   int64_t *out, vt_error *err)
{
    json_t *v;
    VT_GUARD(get(o, key, path, &v, err));
    if (!json_is_integer(v)) return type_err(path, key, "an integer", err);
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return vt_error_set(err, VT_E_INVALID, "parse", "%s.%s: %lld outside [%lld, %lld]", path,
                            key, (long long)i, (long long)min, (long long)max);
    *out = i;
    return VT_OK;
}

vt_err vt_json_time(const json_t *o, const char *key, const char *path, vt_time *out,
                    vt_error *err)
{
    const char *s;
    VT_GUARD(vt_json_str(o, key, path, &s, err));
    vt_err rc = vt_time_parse_rfc3339(s, out, err);
    if (rc != VT_OK) vt_error_wrap(err, "%s.%s", path, key);
    return rc;
}

#include "veritee/codec.h"

vt_err vt_json_hex(const json_t *o, const char *key, const char *path, uint8_t *out, size_t n,
                   vt_error *err)
{
    const char *s;
    VT_GUARD(vt_json_str(o, key, path, &s, err));
    vt_err rc = vt_hex_decode_fixed(s, out, n, err);
    if (rc != VT_OK) vt_error_wrap(err, "%s.%s", path, key);
    return rc;
}

json_t *vt_json_hex_string(const uint8_t *p, size_t n)
{
    char *h = vt_hex_dup(p, n);
    json_t *j = h ? json_string(h) : NULL;
    free(h);
    return j;
}

json_t *vt_json_time_string(vt_time t)
{
    char b[21];
    vt_time_format(t, b);
    return json_string(b);
}
