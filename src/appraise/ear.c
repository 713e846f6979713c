/* EAR claims set (specs/ear.md §2-4): AR4SI tiers and status derivation, submods with the
 * trustworthiness vector, policy id and annotated evidence, in the dotted (Veraison/Trustee)
 * or draft-03 naming. */
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/ear.h"
#include "veritee/policy.h"

static const char *const AR4SI_NAMES[VT_AR4SI_COUNT] = {
    "instance-identity", "configuration", "executables", "file-system",
    "hardware", "runtime-opaque", "storage-opaque", "sourced-data"};

const char *vt_ar4si_name(vt_ar4si_claim c)
{
    return (unsigned)c < VT_AR4SI_COUNT ? AR4SI_NAMES[c] : "unknown";
}

const char *vt_ear_status_name(vt_ear_status s)
{
    switch (s) {
    case VT_EAR_AFFIRMING: return "affirming";
    case VT_EAR_WARNING: return "warning";
    case VT_EAR_CONTRAINDICATED: return "contraindicated";
    default: return "none";
    }
}

vt_err vt_ear_status_parse(const char *s, vt_ear_status *out, vt_error *err)
{
    static const vt_ear_status all[] = {VT_EAR_NONE, VT_EAR_AFFIRMING, VT_EAR_WARNING, VT_EAR_CONTRAINDICATED};
    for (size_t i = 0; s != NULL && i < 4; i++)
        if (strcmp(s, vt_ear_status_name(all[i])) == 0) {
            *out = all[i];
            return VT_OK;
        }
    return vt_error_set(err, VT_E_INVALID, "ear_status", "unknown EAR status '%.32s'", s ? s : "");
}

int vt_ear_status_rank(vt_ear_status s)
{
    switch (s) {
    case VT_EAR_AFFIRMING: return 1;
    case VT_EAR_WARNING: return 2;
    case VT_EAR_CONTRAINDICATED: return 3;
    default: return 0;
    }
}

vt_ear_status vt_ar4si_tier(int v)
{
    if (v >= -1 && v <= 1) return VT_EAR_NONE;
    if ((v >= 2 && v <= 31) || (v >= -32 && v <= -2)) return VT_EAR_AFFIRMING;
    if ((v >= 32 && v <= 95) || (v >= -96 && v <= -33)) return VT_EAR_WARNING;
    return VT_EAR_CONTRAINDICATED;
}

vt_ear_status vt_ar4si_status(const vt_ar4si_vector *v)
{
    vt_ear_status s = VT_EAR_NONE;
    for (int i = 0; i < VT_AR4SI_COUNT; i++) {
        vt_ear_status t = vt_ar4si_tier(v->v[i]);
        if (vt_ear_status_rank(t) > vt_ear_status_rank(s)) s = t;
    }
    return s;
}

json_t *vt_appraisal_vector_json(const vt_appraisal *a)
{
    json_t *o = json_object();
    for (int i = 0; o != NULL && i < VT_AR4SI_COUNT; i++)
        json_object_set_new(o, AR4SI_NAMES[i], json_integer(a->vector.v[i]));
    return o;
}

/* The checks as JSON; not_passed: only those that warn or fail (what an EAR carries with
 * include_failed_checks), the others not even built. */
static json_t *checks_json(const vt_appraisal *a, bool not_passed)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < a->n_checks; i++) {
        const vt_appraisal_check *k = &a->checks[i];
        const char *st = k->status == VT_CHECK_SKIP ? "skip"
                       : vt_ar4si_tier(k->value) == VT_EAR_WARNING ? "warn"
                       : k->status == VT_CHECK_PASS ? "pass" : "fail";
        if (not_passed && (st[0] == 'p' || st[0] == 's')) continue;
        /* keys, status and claim names are this file's ASCII literals (no format string to
         * parse, no UTF-8 check); the name and detail are checked as any text */
        json_t *name = json_string(k->name), *o = name != NULL ? json_object() : NULL;
        if (o == NULL || json_object_set_new_nocheck(o, "name", name) != 0) { /* as json_pack: left out */
            json_decref(o);
            if (o == NULL) json_decref(name);
            continue;
        }
        json_object_set_new_nocheck(o, "status", json_string_nocheck(st));
        if (k->claim >= 0) {
            json_object_set_new_nocheck(o, "claim", json_string_nocheck(vt_ar4si_name((vt_ar4si_claim)k->claim)));
            json_object_set_new_nocheck(o, "value", json_integer(k->value));
        }
        json_object_set_new_nocheck(o, "detail", json_string(k->detail));
        json_array_append_new(arr, o);
    }
    return arr;
}

json_t *vt_appraisal_checks_json(const vt_appraisal *a) { return checks_json(a, false); }

/* Names of one generation: [0] dotted, [1] draft -03. */
enum { K_VERIFIER, K_STATUS, K_VECTOR, K_POLICY, K_ANNOTATED, K_CHECKS, K_N };
static const char *const KEYS[K_N][2] = {
    {"ear.verifier-id", "ear_verifier_id"},
    {"ear.status", "ear_status"},
    {"ear.trustworthiness-vector", "ear_trustworthiness_vector"},
    {"ear.appraisal-policy-id", "ear_appraisal_policy_ids"},
    {"ear.veraison.annotated-evidence", "ear_veraison_annotated_evidence"},
    {"ear.veritee.appraisal-checks", "ear_veritee_appraisal_checks"},
};

static json_t *annotated(const vt_ear_submod *s)
{
    json_t *o = json_object();
    if (o == NULL || s->claims == NULL) return o;
    const vt_claims *c = s->claims;
    json_object_set_new(o, vt_tee_name(c->tee), vt_claims_json(c));
    char *h = vt_hex_dup(c->report_data, c->report_data_len);
    if (h) json_object_set_new(o, "report_data", json_string(h));
    free(h);
    if (c->init_data_len) {
        h = vt_hex_dup(c->init_data, c->init_data_len);
        if (h) json_object_set_new(o, "init_data", json_string(h));
        free(h);
    }
    json_object_set_new(o, "emulated", json_boolean(c->emulated));
    if (s->runtime_data_claims != NULL)
        json_object_set_new(o, "runtime_data_claims", json_deep_copy(s->runtime_data_claims));
    return o;
}

static json_t *submod(const vt_ear_submod *s, const vt_ear_opts *o)
{
    int g = o->naming == VT_EAR_NAMING_DRAFT03;
    const vt_appraisal *a = s->appraisal;
    json_t *m = json_object();
    if (m == NULL) return NULL;
    json_object_set_new(m, KEYS[K_STATUS][g], json_string(vt_ear_status_name(a->status)));
    json_object_set_new(m, KEYS[K_VECTOR][g], vt_appraisal_vector_json(a));
    if (g) json_object_set_new(m, KEYS[K_POLICY][g], json_pack("[s]", a->policy_id));
    else json_object_set_new(m, KEYS[K_POLICY][g], json_string(a->policy_id));
    json_object_set_new(m, KEYS[K_ANNOTATED][g], annotated(s));
    if (o->include_checks || o->include_failed_checks) {
        json_object_set_new(m, KEYS[K_CHECKS][g], checks_json(a, !o->include_checks));
    }
    return m;
}

vt_err vt_ear_build(const vt_ear_submod *subs, size_t n, const vt_ear_opts *opts, json_t **out,
                    vt_error *err)
{
    if (subs == NULL || n == 0 || opts == NULL)
        return vt_error_set(err, VT_E_ARG, "ear", "an EAR needs at least one appraisal");
    if (opts->nonce != NULL && (opts->nonce_len < 8 || opts->nonce_len > 64))
        return vt_error_set(err, VT_E_ARG, "ear", "eat_nonce must be 8..64 bytes, got %zu", opts->nonce_len);
    int g = opts->naming == VT_EAR_NAMING_DRAFT03;
    const char *profile = opts->profile ? opts->profile : g ? VT_EAR_PROFILE_DRAFT03 : VT_EAR_PROFILE_TRUSTEE;
    json_t *c = json_pack("{s:s, s:I, s:{s:s, s:s}}", "eat_profile", profile, "iat", (json_int_t)opts->iat,
                          KEYS[K_VERIFIER][g], "developer",
                          opts->developer ? opts->developer : VT_EAR_DEVELOPER, "build",
                          opts->build ? opts->build : "veritee 0.1.0");
    json_t *sm = json_object();
    if (c == NULL || sm == NULL) goto nomem;
    vt_ear_status worst = VT_EAR_NONE;
    for (size_t i = 0; i < n; i++) {
        if (subs[i].label == NULL || subs[i].appraisal == NULL || json_object_get(sm, subs[i].label)) {
            json_decref(c);
            json_decref(sm);
            return vt_error_set(err, VT_E_ARG, "ear", "submod %zu needs a unique label and an appraisal", i);
        }
        json_t *m = submod(&subs[i], opts);
        if (m == NULL || json_object_set_new(sm, subs[i].label, m) != 0) goto nomem;
        if (vt_ear_status_rank(subs[i].appraisal->status) > vt_ear_status_rank(worst))
            worst = subs[i].appraisal->status;
    }
    json_object_set_new(c, "submods", sm);
    sm = NULL;
    /* Draft -03 allows a top-level status no better than the worst submod. */
    if (g) json_object_set_new(c, "ear_status", json_string(vt_ear_status_name(worst)));
    if (opts->nonce != NULL) {
        char *b = vt_b64_encode(opts->nonce, opts->nonce_len, true);
        if (b == NULL) goto nomem;
        json_object_set_new(c, "eat_nonce", json_string(b));
        free(b);
    }
    if (opts->ttl > 0) json_object_set_new(c, "exp", json_integer((json_int_t)(opts->iat + opts->ttl)));
    if (opts->issuer) json_object_set_new(c, "iss", json_string(opts->issuer));
    *out = c;
    return VT_OK;
nomem:
    json_decref(c);
    json_decref(sm);
    return vt_error_set(err, VT_E_NOMEM, "ear", "out of memory");
}
