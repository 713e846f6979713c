/* Resource policies (docs/kbs.md): which verified attestation results may read a resource, in
 * the JSON style of the appraisal policies (docs/policy.md), evaluated on the EAR claims. Every
 * submod (the CPU's and each GPU's) must pass; min_gpus counts the GPUs. The
 * default releases only to results whose every submod is affirming (stricter than Trustee's
 * default, kbs-protocol.md §11.1) and never to the test-only `sample` TEE. */
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "veritee/json.h"
#include "veritee/kbs.h"

static const char *const KEYS[] = {"id", "version", "description", "allowed_statuses", "tee_types", "emulated",
                                   "allow_debug", "measurements", "init_data", "allow_sample", "deny", "min_gpus",
                                   NULL};
static const char *const TEE_NAMES[] = {"tdx", "sgx", "snp", "cca", "az-snp-vtpm", "az-tdx-vtpm", "tpm", "sample",
                                        "nvidia"};
#define OPT VT_JSON_OPTIONAL

/* An optional array of at most 256 strings. */
static vt_err str_array(const vt_json_in *p, const char *key, const json_t **out)
{
    char path[VT_JSON_PATH_MAX + 72];
    *out = NULL;
    VT_GUARD(vt_json_get_arr(p, key, OPT, 0, 256, out, NULL));
    vt_json_path(path, sizeof path, p->path, key);
    for (size_t i = 0; *out != NULL && i < json_array_size(*out); i++)
        if (!json_is_string(json_array_get(*out, i)))
            return vt_error_set(p->err, VT_E_INVALID, p->check, "%s[%zu]: expected a string", path, i);
    return VT_OK;
}

static bool in_array(const json_t *a, const char *s, bool nocase)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *v = json_string_value(json_array_get(a, i));
        if (v && (nocase ? strcasecmp(v, s) == 0 : strcmp(v, s) == 0)) return true;
    }
    return false;
}

static vt_err validate(const json_t *pj, vt_error *err)
{
    vt_json_in p, m;
    const json_t *st, *tt, *id;
    const char *str = "";
    bool b, given;
    int64_t version;
    VT_GUARD(vt_json_in_init(&p, pj, "policy", "resource_policy", err));
    VT_GUARD(vt_json_keys(&p, KEYS));
    VT_GUARD(str_array(&p, "allowed_statuses", &st));
    VT_GUARD(str_array(&p, "tee_types", &tt));
    VT_GUARD(str_array(&p, "init_data", &id));
    VT_GUARD(vt_json_get_bool(&p, "allow_debug", OPT, &b, NULL));
    VT_GUARD(vt_json_get_bool(&p, "allow_sample", OPT, &b, NULL));
    VT_GUARD(vt_json_get_bool(&p, "deny", OPT, &b, NULL));
    VT_GUARD(vt_json_get_str(&p, "id", OPT, &str, NULL));
    VT_GUARD(vt_json_get_str(&p, "description", OPT, &str, NULL));
    VT_GUARD(vt_json_get_int(&p, "version", OPT, 1, 1, &version, NULL));
    VT_GUARD(vt_json_get_int(&p, "min_gpus", OPT, 0, 16, &version, NULL));
    VT_GUARD(vt_json_get_str(&p, "emulated", OPT, &str, &given));
    if (given && strcmp(str, "accept") != 0 && strcmp(str, "reject") != 0)
        return vt_json_fail(&p, "emulated", "expected \"accept\" or \"reject\"");
    VT_GUARD(vt_json_get_obj(&p, "measurements", OPT, &m, &given));
    const char *mk;
    json_t *mv;
    if (given) json_object_foreach((json_t *)m.obj, mk, mv) {
        const json_t *list;
        VT_GUARD(str_array(&m, mk, &list));
        if (list == NULL) return vt_json_fail(&m, mk, "expected an array");
    }
    for (size_t i = 0; i < json_array_size(st); i++) {
        vt_ear_status s;
        if (vt_ear_status_parse(json_string_value(json_array_get(st, i)), &s, err) != VT_OK)
            return vt_error_set(err, VT_E_INVALID, "resource_policy", "policy.allowed_statuses[%zu]: unknown status", i);
    }
    for (size_t i = 0; i < json_array_size(tt); i++) {
        bool ok = false;
        for (size_t j = 0; j < sizeof TEE_NAMES / sizeof TEE_NAMES[0]; j++)
            ok |= strcmp(json_string_value(json_array_get(tt, i)), TEE_NAMES[j]) == 0;
        if (!ok) return vt_error_set(err, VT_E_INVALID, "resource_policy", "policy.tee_types[%zu]: unknown TEE", i);
    }
    return VT_OK;
}

vt_err vt_kbs_rpolicy_check(const char *policy, size_t len, vt_error *err)
{
    json_t *p = NULL;
    VT_GUARD(vt_json_parse(policy, len, &p, err));
    vt_err rc = validate(p, err);
    json_decref(p);
    return rc;
}

static vt_err deny(vt_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static vt_err deny(vt_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_err rc = vt_error_vset(err, VT_E_VERIFY, "resource_policy", fmt, ap);
    va_end(ap);
    return rc;
}

/* One submod against the policy. */
static vt_err eval_submod(const json_t *p, const char *label, const json_t *sm, vt_error *err)
{
    const char *st = json_string_value(json_object_get(sm, "ear.status"));
    if (st == NULL) st = json_string_value(json_object_get(sm, "ear_status"));
    if (st == NULL) return deny(err, "submod %s has no status", label);
    json_t *allowed = json_object_get(p, "allowed_statuses");
    if (allowed ? !in_array(allowed, st, false) : strcmp(st, "affirming") != 0)
        return deny(err, "attestation status '%s' is not allowed for this resource", st);
    json_t *ae = json_object_get(sm, "ear.veraison.annotated-evidence");
    if (ae == NULL) ae = json_object_get(sm, "ear_veraison_annotated_evidence");
    const char *tee = NULL;
    for (size_t j = 0; j < sizeof TEE_NAMES / sizeof TEE_NAMES[0] && tee == NULL; j++)
        if (json_object_get(ae, TEE_NAMES[j]) != NULL) tee = TEE_NAMES[j];
    if (tee == NULL) return deny(err, "submod %s carries no known TEE evidence", label);
    if (strcmp(tee, "sample") == 0 && !json_is_true(json_object_get(p, "allow_sample")))
        return deny(err, "the '%s' TEE is never released to without allow_sample", tee);
    json_t *tt = json_object_get(p, "tee_types");
    if (tt && !in_array(tt, tee, false)) return deny(err, "TEE '%s' is not allowed for this resource", tee);
    json_t *claims = json_object_get(ae, tee);
    const char *em = json_string_value(json_object_get(p, "emulated"));
    if (em && strcmp(em, "reject") == 0 && json_is_true(json_object_get(ae, "emulated")))
        return deny(err, "emulated %s evidence is not allowed for this resource", tee);
    json_t *dbg = json_object_get(p, "allow_debug");
    if (dbg && json_is_false(dbg) && json_is_true(json_object_get(claims, "debug")))
        return deny(err, "a debug %s guest is not allowed for this resource", tee);
    if (strcmp(tee, "nvidia") == 0) return VT_OK; /* measurements and init-data name the CPU's */
    json_t *meas = json_object_get(p, "measurements");
    const char *name;
    json_t *vals;
    json_object_foreach(meas, name, vals) {
        const char *have = json_string_value(json_object_get(json_object_get(claims, "measurements"), name));
        if (have == NULL || !in_array(vals, have, true))
            return deny(err, "measurement %s is not one of the allowed values", name);
    }
    json_t *init = json_object_get(p, "init_data");
    if (init != NULL) {
        const char *have = json_string_value(json_object_get(ae, "init_data"));
        if (have == NULL || !in_array(init, have, true)) return deny(err, "init-data %s is not allowed", "digest");
    }
    return VT_OK;
}

vt_err vt_kbs_rpolicy_eval(const char *policy, const json_t *ear, const char *path, vt_error *err)
{
    json_t *p = NULL;
    vt_err rc;
    if (policy == NULL) p = json_object();
    else VT_GUARD(vt_json_parse(policy, strlen(policy), &p, err));
    VT_GUARD_GOTO(validate(p, err));
    if (json_is_true(json_object_get(p, "deny"))) {
        rc = deny(err, "resource %s: policy denies every request", path);
        goto out;
    }
    json_t *subs = json_object_get(ear, "submods");
    if (!json_is_object(subs) || json_object_size(subs) == 0) {
        rc = deny(err, "%s: the token has no submods", path);
        goto out;
    }
    const char *label;
    json_t *sm;
    json_object_foreach(subs, label, sm) VT_GUARD_GOTO(eval_submod(p, label, sm, err));
    /* every submod passed: the GPUs among them are counted (an NVIDIA GPU's annotated evidence) */
    json_int_t want = json_integer_value(json_object_get(p, "min_gpus")), gpus = 0;
    json_object_foreach(subs, label, sm) {
        json_t *ae = json_object_get(sm, "ear.veraison.annotated-evidence");
        if (ae == NULL) ae = json_object_get(sm, "ear_veraison_annotated_evidence");
        if (json_object_get(ae, "nvidia") != NULL) gpus++;
    }
    if (gpus < want) {
        rc = deny(err, "%s: %lld attested GPU%s, the resource wants at least %lld", path, (long long)gpus,
                  gpus == 1 ? "" : "s", (long long)want);
        goto out;
    }
    rc = VT_OK;
out:
    json_decref(p);
    return rc;
}
