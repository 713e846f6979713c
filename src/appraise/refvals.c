/* Reference-value store (include/veritee/refvals.h): loaders for veritee's measure output and
 * list format, the rust-ccatoken store (src/store/data-model.cddl; Trustee rvstore.json) and
 * the Islet realm file, and lookups for policies. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/refvals.h"

void vt_refvals_init(vt_refvals *s) { memset(s, 0, sizeof *s); }

void vt_refvals_free(vt_refvals *s)
{
    if (s == NULL) return;
    free(s->items);
    memset(s, 0, sizeof *s);
}

typedef struct ld {
    vt_refvals *s;
    const char *label;
    vt_error *err;
} ld;

static vt_err push(ld *l, const vt_refval *v)
{
    vt_refvals *s = l->s;
    if (s->n >= VT_REFVALS_MAX)
        return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: more than %d reference values",
                            l->label, VT_REFVALS_MAX);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        vt_refval *p = realloc(s->items, cap * sizeof *p);
        if (p == NULL) return vt_error_set(l->err, VT_E_NOMEM, "refvals", "out of memory");
        s->items = p;
        s->cap = cap;
    }
    s->items[s->n++] = *v;
    return VT_OK;
}

/* Values are read with the core JSON getters; messages are "<file>: <path>: ...". */
static vt_err hex_value(ld *l, const json_t *j, const char *path, uint8_t *out, size_t *len)
{
    char p[192];
    snprintf(p, sizeof p, "%s: %s", l->label, path);
    return vt_json_hex_value(j, p, out, 1, VT_CLAIMS_VALUE_MAX, len, "refvals", l->err);
}

static void in_at(ld *l, const json_t *o, const char *path, vt_json_in *in)
{
    in->obj = o;
    snprintf(in->path, sizeof in->path, "%s: %s", l->label, path);
    in->check = "refvals";
    in->err = l->err;
}

/* An optional string member of at most cap-1 characters, no control characters. */
static vt_err text_field(ld *l, const json_t *o, const char *key, const char *path, char *out,
                         size_t cap)
{
    vt_json_in in;
    in_at(l, o, path, &in);
    return vt_json_get_text(&in, key, VT_JSON_OPTIONAL, out, cap, NULL);
}

static void base(const ld *l, vt_refval *v, const char *where, const char *group)
{
    memset(v, 0, sizeof *v);
    snprintf(v->source, sizeof v->source, "%s%s%s", l->label, where[0] ? "#" : "", where);
    if (group) snprintf(v->group, sizeof v->group, "%s#%s", l->label, group);
}

/* veritee measure output / veritee list entry. */
static vt_err load_entry(ld *l, const json_t *e, const char *path)
{
    vt_refval v;
    base(l, &v, path, NULL);
    if (!json_is_object(e))
        return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s: expected an object", l->label, path);
    const char *tee = NULL;
    vt_json_in in;
    in_at(l, e, path, &in);
    VT_GUARD(vt_json_get_str(&in, "tee", VT_JSON_OPTIONAL, &tee, NULL));
    /* measure's "sev"/"sev-es" values have no TEE we verify: keep them, unbound. */
    if (tee != NULL && vt_tee_parse(tee, &v.tee, NULL) != VT_OK) v.tee = VT_TEE_UNKNOWN;
    VT_GUARD(text_field(l, e, "name", path, v.name, sizeof v.name));
    if (v.name[0] == '\0')
        return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s.name: missing", l->label, path);
    VT_GUARD(text_field(l, e, "alg", path, v.alg, sizeof v.alg));
    VT_GUARD(text_field(l, e, "origin", path, v.origin, sizeof v.origin));
    const json_t *prov = json_object_get(e, "provenance");
    if (prov != NULL) {
        if (!json_is_object(prov))
            return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s.provenance: expected an object", l->label, path);
        VT_GUARD(text_field(l, prov, "tool", path, v.origin, sizeof v.origin));
    }
    const json_t *one = json_object_get(e, "value"), *many = json_object_get(e, "values");
    if ((one == NULL) == (many == NULL))
        return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s: exactly one of value, values", l->label, path);
    if (one != NULL) {
        char p[128];
        snprintf(p, sizeof p, "%s.value", path);
        VT_GUARD(hex_value(l, one, p, v.value, &v.len));
        return push(l, &v);
    }
    if (!json_is_array(many) || json_array_size(many) == 0)
        return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s.values: expected a non-empty array", l->label, path);
    size_t i;
    const json_t *x;
    json_array_foreach(many, i, x) {
        char p[128];
        snprintf(p, sizeof p, "%s.values[%zu]", path, i);
        VT_GUARD(hex_value(l, x, p, v.value, &v.len));
        VT_GUARD(push(l, &v));
    }
    return VT_OK;
}

static vt_err load_list(ld *l, const json_t *arr, const char *path)
{
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) {
        char p[96];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        VT_GUARD(load_entry(l, e, p));
    }
    return VT_OK;
}

static vt_err named(ld *l, const json_t *o, const char *key, const char *name, const char *path,
                    const char *group, bool required)
{
    const json_t *j = json_object_get(o, key);
    if (j == NULL) {
        if (!required) return VT_OK;
        return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s.%s: missing", l->label, path, key);
    }
    vt_refval v;
    char p[128];
    snprintf(p, sizeof p, "%s.%s", path, key);
    base(l, &v, path, group);
    v.tee = VT_TEE_CCA;
    snprintf(v.name, sizeof v.name, "%s", name);
    VT_GUARD(hex_value(l, j, p, v.value, &v.len));
    return push(l, &v);
}

static vt_err rems(ld *l, const json_t *arr, const char *path, const char *group)
{
    if (!json_is_array(arr) || json_array_size(arr) != 4)
        return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s: expected an array of 4 REMs", l->label, path);
    for (size_t i = 0; i < 4; i++) {
        vt_refval v;
        char p[128];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        base(l, &v, p, group);
        v.tee = VT_TEE_CCA;
        snprintf(v.name, sizeof v.name, "rem%zu", i);
        VT_GUARD(hex_value(l, json_array_get(arr, i), p, v.value, &v.len));
        VT_GUARD(push(l, &v));
    }
    return VT_OK;
}

/* rust-ccatoken store: {"platform": [{implementation-id, platform-configuration?, sw-components}],
 * "realm": [{initial-measurement, extensible-measurements, personalization-value?, ...}]}. */
static vt_err load_cca_store(ld *l, const json_t *root)
{
    const json_t *plat = json_object_get(root, "platform"), *realm = json_object_get(root, "realm");
    if ((plat && !json_is_array(plat)) || (realm && !json_is_array(realm)))
        return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: platform/realm: expected arrays", l->label);
    size_t i, k;
    const json_t *e, *c;
    json_array_foreach(plat, i, e) {
        char path[64], group[32];
        snprintf(path, sizeof path, "platform[%zu]", i);
        snprintf(group, sizeof group, "platform[%zu]", i);
        if (!json_is_object(e))
            return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s: expected an object", l->label, path);
        VT_GUARD(named(l, e, "implementation-id", "implementation_id", path, group, true));
        VT_GUARD(named(l, e, "platform-configuration", "platform_config", path, group, false));
        const json_t *sw = json_object_get(e, "sw-components");
        if (!json_is_array(sw))
            return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s.sw-components: expected an array", l->label, path);
        json_array_foreach(sw, k, c) {
            vt_refval v;
            char p[112];
            snprintf(p, sizeof p, "%s.sw-components[%zu]", path, k);
            base(l, &v, p, group);
            v.tee = VT_TEE_CCA;
            snprintf(v.name, sizeof v.name, "sw_component");
            if (!json_is_object(c))
                return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s: expected an object", l->label, p);
            char mp[144];
            snprintf(mp, sizeof mp, "%s.measurement-value", p);
            VT_GUARD(hex_value(l, json_object_get(c, "measurement-value"), mp, v.value, &v.len));
            snprintf(mp, sizeof mp, "%s.signer-id", p);
            VT_GUARD(hex_value(l, json_object_get(c, "signer-id"), mp, v.signer_id, &v.signer_id_len));
            VT_GUARD(text_field(l, c, "component-type", p, v.component_type, sizeof v.component_type));
            VT_GUARD(text_field(l, c, "version", p, v.version, sizeof v.version));
            VT_GUARD(push(l, &v));
        }
    }
    json_array_foreach(realm, i, e) {
        char path[64];
        snprintf(path, sizeof path, "realm[%zu]", i);
        if (!json_is_object(e))
            return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: %s: expected an object", l->label, path);
        VT_GUARD(named(l, e, "initial-measurement", "rim", path, path, true));
        VT_GUARD(named(l, e, "personalization-value", "personalization_value", path, path, false));
        char p[96];
        snprintf(p, sizeof p, "%s.extensible-measurements", path);
        VT_GUARD(rems(l, json_object_get(e, "extensible-measurements"), p, path));
    }
    return VT_OK;
}

/* Islet: {"issuer": {"name"}, "realm": {"reference-values": {"rim", "rems": [[4 hex]...]}}}:
 * each REM set is one realm group sharing the RIM. */
static vt_err load_islet(ld *l, const json_t *root)
{
    const json_t *rv = json_object_get(json_object_get(root, "realm"), "reference-values");
    const json_t *sets = json_object_get(rv, "rems");
    const char *issuer = json_string_value(json_object_get(json_object_get(root, "issuer"), "name"));
    if (!json_is_object(rv) || !json_is_array(sets) || json_array_size(sets) == 0)
        return vt_error_set(l->err, VT_E_INVALID, "refvals",
                            "%s: realm.reference-values: expected {rim, rems: [[...]]}", l->label);
    size_t before = l->s->n, i;
    const json_t *set;
    json_array_foreach(sets, i, set) {
        char group[48], p[96];
        snprintf(group, sizeof group, "realm.rems[%zu]", i);
        VT_GUARD(named(l, rv, "rim", "rim", "realm.reference-values", group, true));
        snprintf(p, sizeof p, "realm.reference-values.rems[%zu]", i);
        VT_GUARD(rems(l, set, p, group));
    }
    for (size_t k = before; issuer != NULL && k < l->s->n; k++)
        snprintf(l->s->items[k].origin, sizeof l->s->items[k].origin, "%s", issuer);
    return VT_OK;
}

static vt_err load_json(ld *l, const json_t *root)
{
    if (json_is_array(root)) return load_list(l, root, "");
    if (!json_is_object(root))
        return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: expected a JSON object or array", l->label);
    const json_t *list = json_object_get(root, "reference_values");
    if (list != NULL) {
        if (!json_is_array(list))
            return vt_error_set(l->err, VT_E_INVALID, "refvals", "%s: reference_values: expected an array", l->label);
        return load_list(l, list, "reference_values");
    }
    if (json_object_get(root, "name") != NULL) return load_entry(l, root, "");
    const json_t *realm = json_object_get(root, "realm");
    if (json_is_object(realm) && json_object_get(realm, "reference-values") != NULL)
        return load_islet(l, root);
    if (json_object_get(root, "platform") != NULL || json_is_array(realm)) return load_cca_store(l, root);
    return vt_error_set(l->err, VT_E_INVALID, "refvals",
                        "%s: not a reference-value file (measure output, reference_values list, "
                        "CCA store or Islet realm)", l->label);
}

vt_err vt_refvals_load_mem(vt_refvals *s, const char *text, size_t len, const char *label,
                           vt_error *err)
{
    json_t *root = NULL;
    if (len > VT_REFVALS_FILE_MAX)
        return vt_error_set(err, VT_E_INVALID, "refvals", "%s: larger than %u bytes", label,
                            VT_REFVALS_FILE_MAX);
    if (vt_json_parse(text, len, &root, err) != VT_OK) return vt_error_wrap(err, "%s", label);
    size_t before = s->n;
    ld l = {s, label, err};
    vt_err rc = load_json(&l, root);
    json_decref(root);
    if (rc != VT_OK) s->n = before;
    return rc;
}

vt_err vt_refvals_load_file(vt_refvals *s, const char *path, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_file_read(path, VT_REFVALS_FILE_MAX, &b, err));
    const char *base_name = strrchr(path, '/');
    vt_err rc = vt_refvals_load_mem(s, (const char *)b.ptr, b.len, base_name ? base_name + 1 : path, err);
    vt_buf_free(&b);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

vt_err vt_refvals_load_path(vt_refvals *s, const char *path, vt_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return vt_error_set(err, VT_E_MISSING, "refvals", "%s: no such file or directory", path);
    if (!S_ISDIR(st.st_mode)) return vt_refvals_load_file(s, path, err);
    DIR *d = opendir(path);
    if (d == NULL) return vt_error_set(err, VT_E_IO, "refvals", "%s: cannot open directory", path);
    char *names[VT_REFVALS_DIR_MAX];
    size_t n = 0;
    vt_err rc = VT_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 6 || de->d_name[0] == '.' || strcmp(de->d_name + l - 5, ".json") != 0) continue;
        if (n == VT_REFVALS_DIR_MAX) {
            rc = vt_error_set(err, VT_E_INVALID, "refvals", "%s: more than %d .json files", path,
                              VT_REFVALS_DIR_MAX);
            break;
        }
        if ((names[n] = strdup(de->d_name)) == NULL) {
            rc = vt_error_set(err, VT_E_NOMEM, "refvals", "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == VT_OK) qsort(names, n, sizeof names[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        char p[4096];
        if (rc == VT_OK && (rc = vt_path_join(p, sizeof p, path, names[i], err)) == VT_OK)
            rc = vt_refvals_load_file(s, p, err);
        free(names[i]);
    }
    return rc;
}

static bool tee_ok(const vt_refval *v, vt_tee tee) { return v->tee == VT_TEE_UNKNOWN || v->tee == tee; }

bool vt_refvals_match(const vt_refvals *s, vt_tee tee, const char *name, const uint8_t *value,
                      size_t len, const vt_refval **which)
{
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        const vt_refval *v = &s->items[i];
        if (tee_ok(v, tee) && strcmp(v->name, name) == 0 && v->len == len &&
            memcmp(v->value, value, len) == 0) {
            if (which) *which = v;
            return true;
        }
    }
    return false;
}

size_t vt_refvals_count(const vt_refvals *s, vt_tee tee, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; s != NULL && i < s->n; i++)
        n += tee_ok(&s->items[i], tee) && strcmp(s->items[i].name, name) == 0;
    return n;
}
