/* Typed JSON accessors with precise errors (include/veritee/json.h). */
#include <stdlib.h>

#include "veritee/json.h"

/* The required getters keyed by (object, key, path): the same family as vt_json_get_*. */
static vt_err in_of(const json_t *o, const char *path, vt_json_in *in, vt_error *err)
{
    return vt_json_in_init(in, o, path, NULL, err);
}

vt_err vt_json_obj(const json_t *o, const char *key, const char *path, json_t **out, vt_error *err)
{
    vt_json_in in, child;
    VT_GUARD(in_of(o, path, &in, err));
    VT_GUARD(vt_json_get_obj(&in, key, VT_JSON_REQUIRED, &child, NULL));
    *out = (json_t *)child.obj;
    return VT_OK;
}

vt_err vt_json_arr(const json_t *o, const char *key, const char *path, json_t **out, vt_error *err)
{
    vt_json_in in;
    const json_t *a;
    VT_GUARD(in_of(o, path, &in, err));
    VT_GUARD(vt_json_get_arr(&in, key, VT_JSON_REQUIRED, 0, (size_t)-1, &a, NULL));
    *out = (json_t *)a;
    return VT_OK;
}

vt_err vt_json_str(const json_t *o, const char *key, const char *path, const char **out,
                   vt_error *err)
{
    vt_json_in in;
    VT_GUARD(in_of(o, path, &in, err));
    return vt_json_get_str(&in, key, VT_JSON_REQUIRED, out, NULL);
}

vt_err vt_json_int(const json_t *o, const char *key, const char *path, int64_t min, int64_t max,
                   int64_t *out, vt_error *err)
{
    vt_json_in in;
    VT_GUARD(in_of(o, path, &in, err));
    return vt_json_get_int(&in, key, VT_JSON_REQUIRED, min, max, out, NULL);
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
    vt_json_in in;
    VT_GUARD(in_of(o, path, &in, err));
    return vt_json_get_hex(&in, key, VT_JSON_REQUIRED, out, n, NULL);
}

json_t *vt_json_hex_string(const uint8_t *p, size_t n)
{
    char *h = vt_hex_dup(p, n);
    /* hex digits are ASCII: jansson's UTF-8 check of them is not needed */
    json_t *j = h ? json_stringn_nocheck(h, 2 * n) : NULL;
    free(h);
    return j;
}

json_t *vt_json_time_string(vt_time t)
{
    char b[21];
    vt_time_format(t, b);
    return json_string(b);
}
